//! What a run will do, before any data is loaded: [`RunPlan`].

use std::time::Duration;

use super::SessionError;
use crate::datasets::{Augment, AugmentError, Binarization, Task};
use crate::io::{Metadata, ModelFile};
use crate::layers::{Architecture, ArchitectureError, BitOutput, Chain, Input, Shape};
use crate::run::TrainOptions;
use crate::runs::{RunId, RunStore};
use crate::search::imprint::{self, ImprintParams};
use crate::training::{Membership, MethodKind, Recipe, TrainConfig, TrainingState};

/// The seed of a plan that names none: the command line's, the app's and a notebook's.
pub const DEFAULT_SEED: u64 = 1;

/// How a run starts.
// One plan per run, moved once into its session: boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Start {
    /// A fresh network of `architecture` (its feature layers imprinted from the training
    /// images for a gradient-free search; learnt by gradient training), seeded by the plan's
    /// seed.
    Fresh {
        /// The method and its settings.
        config: TrainConfig,
        /// Feature layers and dense hidden widths.
        architecture: Architecture,
        /// The last layer's output rule (gradient training has its own).
        output: BitOutput,
        /// How the feature layers of a gradient-free search are imprinted (their seed is the
        /// plan's).
        imprint: ImprintParams,
    },
    /// A trained model, fine-tuned by `config` (a population or a single climb).
    FineTune {
        /// The method and its settings.
        config: TrainConfig,
        /// The model.
        model: Chain,
    },
    /// A saved run, continued with its own settings where it stopped.
    Resume {
        /// The saved state.
        state: TrainingState,
        /// The file's metadata (data set, task, seed, membership).
        meta: Metadata,
    },
}

/// Why a plan cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The training sample is not a fraction in (0, 1].
    #[error("the training sample must be a fraction in (0, 1], got {0:?}")]
    Sample(f64),
    /// The architecture does not fit.
    #[error("architecture: {0}")]
    Architecture(#[from] ArchitectureError),
    /// Climbing trains one dense hidden layer.
    #[error("climbing trains exactly one hidden layer, not {0}")]
    ClimbDepth(usize),
    /// The population does not start after fixed feature layers.
    #[error(
        "a population trains dense layers only; convolutions need climbing or gradient training"
    )]
    PopulationFeatures,
    /// A member run trains one network: a climb, or a gradient run.
    #[error(
        "a member of an ensemble is trained as one climb or one gradient run, not as a {0} run"
    )]
    MemberMethod(MethodKind),
    /// The file holds a model but nothing to resume.
    #[error("the file holds a model but no training state to resume")]
    NoState,
    /// Fine-tuning a model that reads grey levels.
    #[error("the model reads grey levels; gradient-free training feeds it bits")]
    GreyFineTune,
    /// A method's settings are out of range.
    #[error("{0}")]
    Settings(String),
    /// The augmentation is out of range.
    #[error("augmentation: {0}")]
    Augment(#[from] AugmentError),
    /// Augmented copies are bits; a network that reads grey levels cannot train on them.
    #[error(
        "augmented copies are bits: a network that reads grey levels trains on the examples as they are"
    )]
    GreyAugment,
    /// A time limit that is no duration.
    #[error("a time limit must be 0 to 1e9 seconds, got {0:?}")]
    TimeLimit(f64),
}

/// Everything a run is, checked before any data is loaded: the task, the training sample,
/// how it starts (fresh, fine-tuned, resumed), the method's settings, the stop rules, the
/// validation rhythm and the one seed every random stream of the run derives from. The
/// command line, the app and notebooks all build one and hand it to
/// [`Session::start`](super::Session::start); the defaults are the measured [`Recipe`]'s.
///
/// The seed rule: the starting network, the method and the imprinted filters of a fresh run
/// are all seeded by [`seed`](Self::seed); ensemble member `m` starts and climbs from
/// [`Membership::seed`] of it (a member trained alone, [`member`](Self::member), gets the
/// same), while the members share the imprinted filters unless each imprints its own
/// ([`own_features`](Self::own_features)).
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::session::RunPlan;
/// use bitsmnist_core::training::MethodKind;
/// let plan = RunPlan::for_task(Task::zero_one()).seed(3).generations(50);
/// assert_eq!(plan.kind(), MethodKind::Population);
/// assert_eq!(plan.stop.steps, Some(50));
/// plan.check().unwrap();
/// assert!(RunPlan::for_task(Task::zero_one()).sample(0.0).check().is_err());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunPlan {
    /// The classes to tell apart (a resumed run's own).
    pub task: Task,
    /// The fraction of the task's training examples trained on, taken in order, the same
    /// share of each class ([`Split::sample`](crate::datasets::Split::sample)).
    pub sample: f64,
    /// How the run starts.
    pub start: Start,
    /// The stop rules: steps, target, patience, time limit (from the start of the session,
    /// imprinting included), and the cancel token, if one is set, that stops the session
    /// from its start on (else the session makes its own); the pause token is the
    /// session's own.
    pub stop: TrainOptions,
    /// Measure test accuracy every so many steps (0: never).
    pub validate_every: u64,
    /// The seed of every random stream of a fresh run (a resumed run keeps its own).
    pub seed: u64,
    /// The ensemble member this run trains alone.
    pub member: Option<Membership>,
    /// The binarisation the run trains and is tested on, made from the data's grey levels
    /// when the data given are binarised otherwise (`None`: the data's own). The recipes
    /// that were measured on another binarisation than the default name it.
    pub binarization: Option<Binarization>,
    /// Copies of the training examples the run trains on as well (a resumed run keeps its
    /// own).
    pub augment: Augment,
    /// Each climbing network imprints feature layers of its own: network `m` of an ensemble
    /// (or member `m` trained alone, [`member`](Self::member)) from its member's seed
    /// ([`Membership::seed`]), on a half of the training examples that seed draws, instead of
    /// one set from the run's seed on all of them. Such networks disagree more, and make a
    /// [`Vote`](crate::layers::Vote) of their networks rather than one wider network. A run
    /// that imprints nothing (no convolutions, gradient training, the population) has no
    /// filters to share and ignores it. The recipe of more than two classes sets it
    /// ([`Recipe::own_features`]).
    pub own_features: bool,
}

impl RunPlan {
    /// The measured recipe for `task` ([`Recipe::for_task`]): its method, architecture,
    /// settings and stop rule, seed [`DEFAULT_SEED`], every training example.
    pub fn for_task(task: Task) -> Self {
        let kind = Recipe::for_task(&task).config.kind();
        Self::for_method(task, kind)
    }

    /// The measured recipe of one method for `task` ([`Recipe::for_method`]).
    pub fn for_method(task: Task, method: MethodKind) -> Self {
        let recipe = Recipe::for_method(&task, method);
        let architecture = match &recipe.config {
            TrainConfig::Gradient(p) => Architecture {
                features: p.features.clone(),
                hidden: p.hidden.clone(),
            },
            _ => Architecture {
                features: recipe.features.clone(),
                hidden: vec![recipe.hidden],
            },
        };
        Self {
            stop: recipe.options(),
            binarization: recipe.binarization,
            augment: recipe.augment,
            start: Start::Fresh {
                config: recipe.config,
                architecture,
                output: recipe.output,
                imprint: ImprintParams::default(),
            },
            task,
            sample: 1.0,
            validate_every: 0,
            seed: DEFAULT_SEED,
            member: None,
            own_features: recipe.own_features,
        }
    }

    /// Fine-tunes `model` on `task` with `method`'s measured settings (a population or a
    /// single climb).
    pub fn fine_tune(task: Task, method: MethodKind, model: Chain) -> Self {
        let recipe = Recipe::for_method(&task, method);
        Self {
            stop: recipe.options(),
            start: Start::FineTune {
                config: recipe.config,
                model,
            },
            task,
            sample: 1.0,
            validate_every: 0,
            seed: DEFAULT_SEED,
            member: None,
            binarization: None,
            augment: Augment::None,
            own_features: false,
        }
    }

    /// Continues the run saved in `file` with its own settings, task, training sample, seed and
    /// membership,
    /// with the stop rule of its method's recipe (set [`stop`](Self::stop) to change it).
    pub fn resume(file: ModelFile) -> Result<Self, PlanError> {
        let state = file.state.ok_or(PlanError::NoState)?;
        let meta = file.meta;
        let task = meta.task.clone().unwrap_or_else(Task::zero_one);
        let recipe = Recipe::for_method(&task, state.kind());
        let meta_own_features = meta.run.as_ref().is_some_and(|r| r.own_features);
        let (seed, member, sample) = meta.run.as_ref().map_or((DEFAULT_SEED, None, 1.0), |r| {
            (
                r.seed.unwrap_or(DEFAULT_SEED),
                r.member,
                r.sample.unwrap_or(1.0),
            )
        });
        Ok(Self {
            stop: recipe.options(),
            // A resumed run goes on on the data it trained on.
            binarization: meta.binarization,
            augment: meta.run.as_ref().map(|r| r.augment).unwrap_or_default(),
            start: Start::Resume { state, meta },
            task,
            // A resumed run goes on on the examples it trained on.
            sample,
            validate_every: 0,
            seed,
            member,
            own_features: meta_own_features,
        })
    }

    /// Sets [`seed`](Self::seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`binarization`](Self::binarization).
    pub fn binarize(mut self, binarization: Binarization) -> Self {
        self.binarization = Some(binarization);
        self
    }

    /// Sets [`own_features`](Self::own_features).
    pub fn own_features(mut self, own: bool) -> Self {
        self.own_features = own;
        self
    }

    /// Sets [`augment`](Self::augment).
    pub fn augment(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self
    }

    /// Sets [`sample`](Self::sample).
    pub fn sample(mut self, fraction: f64) -> Self {
        self.sample = fraction;
        self
    }

    /// Sets the stop rules.
    pub fn stop(mut self, stop: TrainOptions) -> Self {
        self.stop = stop;
        self
    }

    /// The plan that continues the recorded run `id` of `store` ([`Session::record`]) from
    /// its last checkpoint to the step its stop rules planned; then
    /// [`Session::record_continuing`] records it into the same run.
    ///
    /// [`Session::record`]: super::Session::record
    /// [`Session::record_continuing`]: super::Session::record_continuing
    pub fn continue_recorded(store: &RunStore, id: &RunId) -> Result<Self, SessionError> {
        let summary = store.summary(id).map_err(SessionError::Record)?;
        let file = store.load(id).map_err(SessionError::Record)?;
        // The checkpoint's own step: the summary is written after it, so it may lag.
        let step = file.state.as_ref().map(|s| s.step_number());
        let plan = Self::resume(file)?;
        Ok(match (summary.planned_steps, step) {
            (Some(planned), Some(step)) => plan.generations(planned.saturating_sub(step)),
            _ => plan,
        })
    }

    /// Stop rule: this many steps (generations or epochs) and no time limit.
    pub fn generations(mut self, n: u64) -> Self {
        self.stop = TrainOptions::new().generations(n);
        self
    }

    /// Stop rule: this much time and no step limit.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.stop = TrainOptions::new().time_limit(limit);
        self
    }

    /// Sets [`validate_every`](Self::validate_every).
    pub fn validate_every(mut self, every: u64) -> Self {
        self.validate_every = every;
        self
    }

    /// Trains member `member` of the ensemble alone (a single climb).
    pub fn member(mut self, member: Membership) -> Self {
        self.member = Some(member);
        if let Start::Fresh { config, .. } | Start::FineTune { config, .. } = &mut self.start
            && let TrainConfig::Climb { members, .. } = config
        {
            *members = 1;
        }
        self
    }

    /// Replaces the method and its settings of a fresh or fine-tuning run (a gradient
    /// configuration brings its own architecture).
    pub fn config(mut self, new: TrainConfig) -> Self {
        match &mut self.start {
            Start::Fresh {
                config,
                architecture,
                ..
            } => {
                if let TrainConfig::Gradient(p) = &new {
                    *architecture = Architecture {
                        features: p.features.clone(),
                        hidden: p.hidden.clone(),
                    };
                }
                *config = new;
            }
            Start::FineTune { config, .. } => *config = new,
            Start::Resume { .. } => {}
        }
        self
    }

    /// Replaces the architecture of a fresh run (for gradient training, its parameters'
    /// features and hidden widths too).
    pub fn architecture(mut self, new: Architecture) -> Self {
        if let Start::Fresh {
            config,
            architecture,
            ..
        } = &mut self.start
        {
            if let TrainConfig::Gradient(p) = config {
                *p = p
                    .clone()
                    .features(new.features.clone())
                    .hidden(new.hidden.clone());
            }
            *architecture = new;
        }
        self
    }

    /// Replaces the last layer's output rule of a fresh run.
    pub fn output(mut self, new: BitOutput) -> Self {
        if let Start::Fresh { output, .. } = &mut self.start {
            *output = new;
        }
        self
    }

    /// Replaces how a fresh run's feature layers are imprinted.
    pub fn imprint(mut self, new: ImprintParams) -> Self {
        if let Start::Fresh { imprint, .. } = &mut self.start {
            *imprint = new;
        }
        self
    }

    /// The kind of run the plan makes.
    pub fn kind(&self) -> MethodKind {
        match &self.start {
            Start::Fresh { config, .. } | Start::FineTune { config, .. } => config.kind(),
            Start::Resume { state, .. } => state.kind(),
        }
    }

    /// The method's configuration with the plan's seed rule applied (`None` for a resumed
    /// run, which keeps its own).
    pub fn seeded_config(&self) -> Option<TrainConfig> {
        match &self.start {
            Start::Fresh { config, .. } | Start::FineTune { config, .. } => {
                Some(config.clone().with_seed(self.network_seed()))
            }
            Start::Resume { .. } => None,
        }
    }

    /// Whether the run's networks imprint feature layers of their own: a fresh climbing run
    /// with convolutions and [`own_features`](Self::own_features) (a resumed run: what its
    /// file records).
    pub fn imprints_own_features(&self) -> bool {
        self.own_features
            && match &self.start {
                Start::Fresh {
                    config: TrainConfig::Climb { .. },
                    architecture,
                    ..
                } => !architecture.features.is_empty(),
                Start::Fresh { .. } | Start::FineTune { .. } => false,
                Start::Resume { .. } => true,
            }
    }

    /// The seed of the starting network (and of the method): the plan's, or a member's own.
    pub fn network_seed(&self) -> u64 {
        self.member.map_or(self.seed, |m| m.seed(self.seed))
    }

    /// Checks everything that does not need the data: the sample, the method's settings,
    /// the architecture's widths, what a member run and a population can train.
    pub fn check(&self) -> Result<(), PlanError> {
        if !(self.sample > 0.0 && self.sample <= 1.0) {
            return Err(PlanError::Sample(self.sample));
        }
        if let Some(t) = self.stop.time_limit
            && t > Duration::from_secs(1_000_000_000)
        {
            return Err(PlanError::TimeLimit(t.as_secs_f64()));
        }
        self.augment.check()?;
        if self.augment != Augment::None
            && let Start::Fresh {
                config: TrainConfig::Gradient(p),
                ..
            } = &self.start
            && p.input == Input::Grey
        {
            return Err(PlanError::GreyAugment);
        }
        if self.member.is_some() && !matches!(self.kind(), MethodKind::Climb | MethodKind::Gradient)
        {
            return Err(PlanError::MemberMethod(self.kind()));
        }
        match &self.start {
            Start::Fresh {
                config,
                architecture,
                ..
            } => {
                check_config(config)?;
                if architecture.hidden.contains(&0) {
                    return Err(ArchitectureError::EmptyLayer.into());
                }
                match config {
                    TrainConfig::Climb { .. } if architecture.hidden.len() != 1 => {
                        return Err(PlanError::ClimbDepth(architecture.hidden.len()));
                    }
                    TrainConfig::Population { .. } if !architecture.features.is_empty() => {
                        return Err(PlanError::PopulationFeatures);
                    }
                    _ => {}
                }
            }
            Start::FineTune { config, model } => {
                check_config(config)?;
                if model.input() != Input::Bits {
                    return Err(PlanError::GreyFineTune);
                }
            }
            Start::Resume { .. } => {}
        }
        Ok(())
    }

    /// The bytes a fresh run will need on `examples` training examples of the map `input`
    /// ([`Shape::input_of`] a data set; [`Shape::MNIST`] for digits binarised to one bit) and
    /// `classes` classes: imprinting, the networks and the per-example state
    /// ([`TrainConfig::memory_estimate`]), and each thread's buffers for running the
    /// convolutions ([`feature_scratch_bytes`](crate::layers::feature_scratch_bytes)). The
    /// data set is not counted here ([`memory_with_data`](Self::memory_with_data) adds it).
    /// `None` for a resumed or fine-tuned run, and for imprinted feature layers that do not
    /// fit `input`.
    pub fn memory_estimate(&self, input: Shape, classes: usize, examples: usize) -> Option<u64> {
        let Start::Fresh {
            config,
            architecture,
            ..
        } = &self.start
        else {
            return None;
        };
        // Gradient training learns its features inside its own estimate.
        let (front, dense_inputs) = match config {
            TrainConfig::Gradient(_) => (0, input.bits()),
            _ => (
                imprint::memory_estimate(&architecture.features, input, examples).unwrap_or(0),
                architecture.dense_inputs(input).ok()?,
            ),
        };
        // Imprinting, the climb's features and every evaluation run the convolutions one
        // chunk of examples per thread, each with its own buffers.
        let scratch = crate::layers::feature_scratch_bytes(&architecture.features, input)
            .unwrap_or(0)
            .saturating_mul(crate::memory::threads());
        Some(
            config
                .memory_estimate(dense_inputs, &architecture.hidden, classes, examples)
                .saturating_add(front)
                .saturating_add(scratch),
        )
    }

    /// The bytes the whole run needs: [`memory_estimate`](Self::memory_estimate) on
    /// `examples` training examples and their [`augment`](Self::augment)ed copies (0 for a
    /// resumed or fine-tuned run), the copies themselves, and the data set as loaded,
    /// `images` images of the map `input` in both splits (a byte a pixel and its bits:
    /// [`memory::dataset_bytes`](crate::memory::dataset_bytes)), held
    /// [`DATA_COPIES`](crate::memory::DATA_COPIES) times.
    /// [`Session::start`](super::Session::start) checks this figure; a front end can check it
    /// before loading the data, from the sizes in the files' headers.
    ///
    /// ```
    /// use bitsmnist_core::prelude::*;
    /// use bitsmnist_core::session::RunPlan;
    /// use bitsmnist_core::layers::Shape;
    /// let plan = RunPlan::for_task(Task::zero_one());
    /// let run = plan.memory_estimate(Shape::MNIST, 2, 10_000).unwrap();
    /// assert!(plan.memory_with_data(Shape::MNIST, 2, 10_000, 20_000) > run + 3 * 20_000 * 784);
    /// ```
    pub fn memory_with_data(
        &self,
        input: Shape,
        classes: usize,
        examples: usize,
        images: usize,
    ) -> u64 {
        use crate::memory::{DATA_COPIES, add, dataset_bytes, mul};
        let pixels = input.height.saturating_mul(input.width);
        // A thermometer code's further bits a pixel, beyond the one `dataset_bytes` counts.
        let more_bits = (input.bits().saturating_sub(pixels) as u64).div_ceil(64) * 8;
        let copies = self.augment.copies();
        let trained = examples.saturating_mul(copies);
        let augmented = if copies > 1 {
            (trained as u64)
                .saturating_mul(input.bits() as u64)
                .div_ceil(8)
        } else {
            0
        };
        add(&[
            self.memory_estimate(input, classes, trained).unwrap_or(0),
            augmented,
            mul(&[
                DATA_COPIES,
                add(&[
                    dataset_bytes(images, pixels),
                    mul(&[images as u64, more_bits]),
                ]),
            ]),
        ])
    }
}

fn check_config(config: &TrainConfig) -> Result<(), PlanError> {
    let settings = |e: &dyn std::fmt::Display| PlanError::Settings(e.to_string());
    match config {
        TrainConfig::Population { params, .. } => params.check().map_err(|e| settings(&e)),
        TrainConfig::Climb { params, members } => {
            if *members == 0 {
                return Err(PlanError::Settings(
                    "an ensemble needs at least one network".into(),
                ));
            }
            params.check().map_err(|e| settings(&e))
        }
        TrainConfig::Gradient(p) => p.check().map_err(|e| settings(&e)),
    }
}
