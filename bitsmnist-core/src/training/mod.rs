//! One configuration ([`TrainConfig`]) and one saved state ([`TrainingState`]) for every
//! training method, so that a front end starts, runs, saves and resumes any of them the same
//! way.
//!
//! ```
//! use std::ops::ControlFlow;
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::search::ClimbParams;
//! use bitsmnist_core::training::{TrainConfig, TrainingState};
//!
//! let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
//! let train = data.train.select(&(0..1000).collect::<Vec<_>>());
//! let config = TrainConfig::Climb {
//!     params: ClimbParams::default().batch_size(Some(500)).trials_per_generation(500),
//!     members: 2,
//! };
//! let mut state = config.fresh(784, &[32], 10, BitOutput::Float(Activation::Identity), 1).unwrap();
//! let outcome = state
//!     .train(&train, &TrainOptions::new().generations(2), |p| {
//!         assert_eq!(p.state.model().outputs(), 10);
//!         ControlFlow::Continue(())
//!     })
//!     .unwrap();
//! assert_eq!(outcome.step, 2);
//! // The whole state goes into a model file and comes back.
//! let file = ModelFile::from_state(&state, &train);
//! let back = ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
//! assert_eq!(back.state.unwrap().step_number(), 2);
//! ```

use std::fmt;
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::datasets::Split;
use crate::fitness::{Fitness, Metric};
use crate::gradient::{GradientError, GradientParams, Trainer};
use crate::layers::{BitOutput, Chain, Layer, Shape, ShapeError};
use crate::memory::{self, MemoryError};
use crate::run::{History, Method, Record, TrainOptions, TrainOutcome};
use crate::search::{
    ClimbEnsemble, ClimbError, ClimbParams, Climber, EnsembleError, Population, PopulationError,
    PopulationParams,
};

mod recipe;

pub use recipe::Recipe;

/// How to train: the method and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TrainConfig {
    /// The population genetic algorithm, maximising `metric`.
    Population {
        /// Hyper-parameters.
        params: PopulationParams,
        /// What the fitness measures on the training split.
        metric: Metric,
    },
    /// Bit-flip hill climbing: `members` networks side by side (1: a single climb), merged
    /// into one model that votes.
    Climb {
        /// The climber's parameters (each member's seed is derived from theirs).
        params: ClimbParams,
        /// Networks in the ensemble.
        members: usize,
    },
    /// Gradient training with the straight-through estimator.
    Gradient(GradientParams),
}

/// Which kind of run a state holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MethodKind {
    /// [`TrainingState::Population`].
    Population,
    /// [`TrainingState::Climb`].
    Climb,
    /// [`TrainingState::Ensemble`].
    Ensemble,
    /// [`TrainingState::Gradient`].
    Gradient,
}

impl MethodKind {
    /// The method's name as the front ends offer it: `population`, `climb` (one network or
    /// an ensemble) or `gradient`.
    pub fn method_name(self) -> &'static str {
        match self {
            Self::Population => "population",
            Self::Climb | Self::Ensemble => "climb",
            Self::Gradient => "gradient",
        }
    }
}

/// Which network of a climbing ensemble a run trains alone: member `index` of `of`. Its
/// starting network and its climb are seeded by [`ClimbEnsemble::member_seed`] of the run's
/// seed, so members trained apart (on several machines) merge into the ensemble one run of
/// `of` members trains.
///
/// ```
/// use bitsmnist_core::training::Membership;
/// let m = Membership::new(2, 8).unwrap();
/// assert_eq!((m.index(), m.of()), (2, 8));
/// assert!(Membership::new(8, 8).is_none());
/// assert!(Membership::new(0, MAX_MEMBERS + 1).is_none());
/// # use bitsmnist_core::training::MAX_MEMBERS;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    index: usize,
    of: usize,
}

/// The most networks one ensemble has ([`Membership::of`]). A count read from a file sizes
/// the merge's tables, so a file claiming more (a damaged or hostile one: `ensemble_members=
/// 18446744073709551615`) is refused before anything is allocated for it; no machine trains
/// more members than this side by side or as separate runs.
pub const MAX_MEMBERS: usize = 1024;

// Every ensemble can be merged into a vote.
const _: () = assert!(MAX_MEMBERS <= crate::layers::MAX_VOTERS);

impl Membership {
    /// Member `index` (from 0) of an ensemble of `of` networks; `None` unless `index < of` and
    /// `of` is at most [`MAX_MEMBERS`].
    pub fn new(index: usize, of: usize) -> Option<Self> {
        (index < of && of <= MAX_MEMBERS).then_some(Self { index, of })
    }

    /// The member's index, 0 to `of - 1`.
    pub fn index(self) -> usize {
        self.index
    }

    /// Networks in the whole ensemble.
    pub fn of(self) -> usize {
        self.of
    }

    /// The seed of the member's network and climb in a run seeded `seed`.
    pub fn seed(self, seed: u64) -> u64 {
        ClimbEnsemble::member_seed(seed, self.index as u64)
    }

    /// Checks what deserialising skipped: the bounds [`new`](Self::new) keeps.
    pub(crate) fn validate(self) -> Result<(), String> {
        if self.of > MAX_MEMBERS {
            Err(format!(
                "an ensemble of {} members (at most {MAX_MEMBERS})",
                self.of
            ))
        } else if self.index < self.of {
            Ok(())
        } else {
            Err(format!("member {} of {}", self.index, self.of))
        }
    }
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member {} of {}", self.index, self.of)
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Population => "population",
            Self::Climb => "climb",
            Self::Ensemble => "climb ensemble",
            Self::Gradient => "gradient",
        })
    }
}

/// Why a run could not be set up or go on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainingError {
    /// The population algorithm refused.
    #[error(transparent)]
    Population(#[from] PopulationError),
    /// The climb refused.
    #[error(transparent)]
    Climb(#[from] ClimbError),
    /// The ensemble refused.
    #[error(transparent)]
    Ensemble(#[from] EnsembleError),
    /// Gradient training refused.
    #[error(transparent)]
    Gradient(#[from] GradientError),
    /// The model's layers do not line up.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The run would need more memory than the limit ([`crate::memory`]).
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// An ensemble of zero networks.
    #[error("an ensemble needs at least one network")]
    NoMembers,
    /// Climbing trains one hidden layer.
    #[error("climbing trains exactly one hidden layer, not {0}")]
    ClimbDepth(usize),
    /// Gradient training starts from its own random network.
    #[error("gradient training starts from its own random network; it cannot fine-tune a model")]
    GradientFineTune,
    /// Several networks cannot start from one model.
    #[error("an ensemble starts from random networks; fine-tune one network at a time")]
    EnsembleFineTune,
    /// Gradient training learns its own feature layers ([`GradientParams::features`]).
    #[error("gradient training learns its own convolutions; it cannot start after fixed ones")]
    GradientFeatures,
    /// [`TrainConfig::fresh_after`] needs feature layers (convolutions and pools), at least one.
    #[error("the layers before the dense ones must be convolutions and pools (found {0})")]
    NotFeatures(String),
    /// [`TrainConfig::fresh_after_each`] needs a climbing run and one front per network, all
    /// of one width.
    #[error(
        "feature layers of each network's own need a climbing run, one set per network, all of one width"
    )]
    OwnFeatures,
}

impl TrainingError {
    /// The memory refusal inside this error, if it is one (from `fresh` or from any
    /// method's training).
    pub fn memory(&self) -> Option<&MemoryError> {
        match self {
            Self::Memory(m)
            | Self::Population(PopulationError::Memory(m))
            | Self::Climb(ClimbError::Memory(m))
            | Self::Gradient(GradientError::Memory(m)) => Some(m),
            _ => None,
        }
    }
}

impl TrainConfig {
    /// Which kind of run this configuration makes (an ensemble of one is a single climb).
    pub fn kind(&self) -> MethodKind {
        match self {
            Self::Population { .. } => MethodKind::Population,
            Self::Climb { members: 1, .. } => MethodKind::Climb,
            Self::Climb { .. } => MethodKind::Ensemble,
            Self::Gradient(_) => MethodKind::Gradient,
        }
    }

    /// The configuration with its method's seed set to `seed` (each ensemble member's is
    /// derived from it).
    pub fn with_seed(self, seed: u64) -> Self {
        match self {
            Self::Population { params, metric } => Self::Population {
                params: params.seed(seed),
                metric,
            },
            Self::Climb { params, members } => Self::Climb {
                params: params.seed(seed),
                members,
            },
            Self::Gradient(params) => Self::Gradient(params.seed(seed)),
        }
    }

    /// A fresh run on `inputs -> hidden... -> classes`, the last layer with `output` (gradient
    /// training: the widths of its parameters and their own output layer), the starting
    /// network seeded from `seed` by [`Chain::mlp`]'s rule. Ensemble member `m` starts from
    /// seed `seed + 1000 m` and climbs with the parameters' seed plus the same offset.
    pub fn fresh(
        &self,
        inputs: usize,
        hidden: &[usize],
        classes: usize,
        output: BitOutput,
        seed: u64,
    ) -> Result<TrainingState, TrainingError> {
        let input = Shape::square(inputs).unwrap_or(Shape::flat(inputs));
        self.fresh_on(input, hidden, classes, output, seed)
    }

    /// [`fresh`](Self::fresh) on the input map `input` ([`Shape::input_of`] a data set):
    /// gradient training's convolutions read its channels (a thermometer code's bits a
    /// pixel); the other methods read its bits as a flat vector.
    pub fn fresh_on(
        &self,
        input: Shape,
        hidden: &[usize],
        classes: usize,
        output: BitOutput,
        seed: u64,
    ) -> Result<TrainingState, TrainingError> {
        self.start(&[&[]], input, hidden, classes, output, seed)
    }

    /// A fresh run of dense layers `hidden... -> classes` after the fixed feature layers
    /// `front` (convolutions and pools, such as [`crate::search::imprint`] draws): the dense
    /// layers are seeded as by [`fresh`](Self::fresh) on the features' width, and every
    /// network of the run (each ensemble member, each candidate of a population) shares
    /// `front`, which the search leaves as it is. Gradient training learns its own features
    /// instead ([`TrainingError::GradientFeatures`]).
    ///
    /// ```
    /// use bitsmnist_core::prelude::*;
    /// use bitsmnist_core::layers::parse_architecture;
    /// use bitsmnist_core::search::{ClimbParams, imprint::{ImprintParams, imprint}};
    /// use bitsmnist_core::training::TrainConfig;
    ///
    /// let data = Dataset::embedded();
    /// let (features, hidden) = parse_architecture("conv8x5,pool4,64").unwrap();
    /// let front = imprint(&data.train, &features, &ImprintParams::default()).unwrap();
    /// let config = TrainConfig::Climb { params: ClimbParams::default(), members: 2 };
    /// let out = BitOutput::Float(Activation::Identity);
    /// let state = config.fresh_after(&front, &hidden, 10, out, 1).unwrap();
    /// assert_eq!(state.current_model().layers().len(), 4);
    /// ```
    pub fn fresh_after(
        &self,
        front: &[Layer],
        hidden: &[usize],
        classes: usize,
        output: BitOutput,
        seed: u64,
    ) -> Result<TrainingState, TrainingError> {
        if let Some(l) = front.iter().find(|l| !l.is_spatial()) {
            return Err(TrainingError::NotFeatures(l.to_string()));
        }
        if matches!(self, Self::Gradient(_)) && !front.is_empty() {
            return Err(TrainingError::GradientFeatures);
        }
        let inputs = front
            .last()
            .map(Layer::outputs)
            .ok_or_else(|| TrainingError::NotFeatures("no layer".into()))?;
        self.start(&[front], Shape::flat(inputs), hidden, classes, output, seed)
    }

    /// [`fresh_after`](Self::fresh_after) where each network of a climbing run has feature
    /// layers of its own: network `m` (seeded as there) starts after `fronts[m]`. The fronts
    /// must have the same width, one per network of the run.
    ///
    /// ```
    /// use bitsmnist_core::prelude::*;
    /// use bitsmnist_core::layers::parse_architecture;
    /// use bitsmnist_core::search::{ClimbParams, imprint::{ImprintParams, imprint}};
    /// use bitsmnist_core::training::TrainConfig;
    ///
    /// let data = Dataset::embedded();
    /// let (features, hidden) = parse_architecture("conv8x5,pool4,64").unwrap();
    /// let fronts: Vec<_> = (0..2)
    ///     .map(|m| imprint(&data.train, &features, &ImprintParams::default().seed(m)).unwrap())
    ///     .collect();
    /// let config = TrainConfig::Climb { params: ClimbParams::default(), members: 2 };
    /// let out = BitOutput::Float(Activation::Identity);
    /// let state = config.fresh_after_each(&fronts, &hidden, 10, out, 1).unwrap();
    /// // The networks vote: their layers differ.
    /// assert!(matches!(state.current_model().layers(), [Layer::Vote(_)]));
    /// ```
    pub fn fresh_after_each(
        &self,
        fronts: &[Vec<Layer>],
        hidden: &[usize],
        classes: usize,
        output: BitOutput,
        seed: u64,
    ) -> Result<TrainingState, TrainingError> {
        let Self::Climb { members, .. } = self else {
            return Err(TrainingError::OwnFeatures);
        };
        if fronts.len() != *members {
            return Err(TrainingError::OwnFeatures);
        }
        let mut width = None;
        for front in fronts {
            if let Some(l) = front.iter().find(|l| !l.is_spatial()) {
                return Err(TrainingError::NotFeatures(l.to_string()));
            }
            let w = front
                .last()
                .map(Layer::outputs)
                .ok_or_else(|| TrainingError::NotFeatures("no layer".into()))?;
            if *width.get_or_insert(w) != w {
                return Err(TrainingError::OwnFeatures);
            }
        }
        let fronts: Vec<&[Layer]> = fronts.iter().map(Vec::as_slice).collect();
        let inputs = width.ok_or(TrainingError::NoMembers)?;
        self.start(&fronts, Shape::flat(inputs), hidden, classes, output, seed)
    }

    /// [`fresh_after`](Self::fresh_after) with the dense part reading `input`'s bits (a
    /// gradient run's convolutions its map); network `m` starts after `fronts[m]`, or after
    /// the one front all share.
    fn start(
        &self,
        fronts: &[&[Layer]],
        input: Shape,
        hidden: &[usize],
        classes: usize,
        output: BitOutput,
        seed: u64,
    ) -> Result<TrainingState, TrainingError> {
        let inputs = input.bits();
        // The networks themselves, before any is allocated; what grows with the examples is
        // checked when training starts.
        memory::check_current(self.memory_estimate(inputs, hidden, classes, 0))?;
        let mlp = |m: usize, seed| -> Result<Chain, ShapeError> {
            let dense = Chain::mlp(inputs, hidden, classes, output, seed)?;
            let front = fronts
                .get(m)
                .or(fronts.first())
                .copied()
                .unwrap_or_default();
            if front.is_empty() {
                return Ok(dense);
            }
            Chain::new(front.iter().chain(dense.layers()).cloned().collect())
        };
        Ok(match self {
            Self::Population { params, metric } => TrainingState::Population {
                set: Population::for_all_bit_layers(mlp(0, seed)?, params.clone())?,
                metric: *metric,
            },
            Self::Climb { params, members } => {
                if hidden.len() != 1 {
                    return Err(TrainingError::ClimbDepth(hidden.len()));
                }
                let climbers = (0..*members as u64)
                    .map(|m| {
                        let offset = m.wrapping_mul(1000);
                        let chain = mlp(m as usize, seed.wrapping_add(offset))?;
                        let p = params.clone().seed(params.seed.wrapping_add(offset));
                        Ok(Climber::new(chain, p)?)
                    })
                    .collect::<Result<Vec<_>, TrainingError>>()?;
                match climbers.len() {
                    0 => return Err(TrainingError::NoMembers),
                    1 => TrainingState::Climb(climbers.into_iter().next().expect("one")),
                    _ => TrainingState::Ensemble(ClimbEnsemble::new(climbers)?),
                }
            }
            Self::Gradient(params) => TrainingState::Gradient(Trainer::for_image(
                params.clone().hidden(hidden.to_vec()),
                input,
                classes,
            )?),
        })
    }

    /// The bytes a fresh run `inputs -> hidden... -> classes` of this configuration will
    /// need on `examples` training examples, generously estimated ([`crate::memory`]): the
    /// networks (a population's parents and children, every ensemble member), the state kept
    /// per example (cached outputs, incremental sums) and the batches in flight. The data set
    /// itself is not counted.
    ///
    /// ```
    /// use bitsmnist_core::search::ClimbParams;
    /// use bitsmnist_core::training::TrainConfig;
    /// let one = TrainConfig::Climb { params: ClimbParams::default(), members: 1 };
    /// let four = TrainConfig::Climb { params: ClimbParams::default(), members: 4 };
    /// let bytes = one.memory_estimate(784, &[1024], 10, 10_000);
    /// assert!(bytes > 10_000 * 1024); // sums kept per example and neuron
    /// assert!(four.memory_estimate(784, &[1024], 10, 10_000) > 4 * bytes);
    /// ```
    pub fn memory_estimate(
        &self,
        inputs: usize,
        hidden: &[usize],
        classes: usize,
        examples: usize,
    ) -> u64 {
        match self {
            Self::Population { params, .. } => {
                params.memory_estimate(inputs, hidden, classes, examples)
            }
            Self::Climb { params, members } => {
                params.memory_estimate(*members, inputs, hidden, classes, examples)
            }
            Self::Gradient(p) => p
                .clone()
                .hidden(hidden.to_vec())
                .memory_estimate(inputs, classes, examples),
        }
    }

    /// A run that starts from a trained `model` (fine-tuning): the population from the
    /// model's own weights ([`Population::starting_from`]), or a single climb from it.
    pub fn fine_tune(&self, model: Chain) -> Result<TrainingState, TrainingError> {
        Ok(match self {
            Self::Population { params, metric } => {
                let layers: Vec<usize> = (0..model.layers().len())
                    .filter(|&i| model.layers()[i].as_bit().is_some())
                    .collect();
                TrainingState::Population {
                    set: Population::starting_from(model, &layers, params.clone())?,
                    metric: *metric,
                }
            }
            Self::Climb { params, members: 1 } => {
                TrainingState::Climb(Climber::new(model, params.clone())?)
            }
            Self::Climb { .. } => return Err(TrainingError::EnsembleFineTune),
            Self::Gradient(_) => return Err(TrainingError::GradientFineTune),
        })
    }
}

/// The whole state of a run of any method: what a model file stores to resume it.
// One state per run, built once and moved rarely: boxing the variants would only add
// indirection to every access.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TrainingState {
    /// The population algorithm and the metric its fitness measures.
    Population {
        /// The population.
        set: Population,
        /// What the fitness measures on the training split.
        metric: Metric,
    },
    /// A single bit-flip climb.
    Climb(Climber),
    /// Several climbs side by side.
    Ensemble(ClimbEnsemble),
    /// Gradient training.
    Gradient(Trainer),
}

/// A view of a [`TrainingState`] while it trains (see [`TrainingState::train`]).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum StateRef<'a> {
    /// The population.
    Population {
        /// The population.
        set: &'a Population,
        /// Its fitness metric.
        metric: Metric,
    },
    /// A single climb.
    Climb(&'a Climber),
    /// An ensemble.
    Ensemble(&'a ClimbEnsemble),
    /// Gradient training.
    Gradient(&'a Trainer),
}

impl StateRef<'_> {
    /// The current model: the best candidate, the climbed network, the members merged, the
    /// exported gradient network.
    pub fn model(&self) -> Chain {
        match self {
            Self::Population { set, .. } => set.current_model(),
            Self::Climb(c) => c.current_model(),
            Self::Ensemble(e) => e.current_model(),
            Self::Gradient(t) => t.current_model(),
        }
    }

    /// A copy of the whole state, to save a checkpoint.
    pub fn to_state(&self) -> TrainingState {
        match *self {
            Self::Population { set, metric } => TrainingState::Population {
                set: set.clone(),
                metric,
            },
            Self::Climb(c) => TrainingState::Climb(c.clone()),
            Self::Ensemble(e) => TrainingState::Ensemble(e.clone()),
            Self::Gradient(t) => TrainingState::Gradient(t.clone()),
        }
    }
}

/// What the callback of [`TrainingState::train`] sees after each step.
pub struct StateProgress<'a> {
    /// The state.
    pub state: StateRef<'a>,
    /// This step's record (also the last entry of the history).
    pub record: &'a Record,
}

impl TrainingState {
    /// Which kind of run this is.
    pub fn kind(&self) -> MethodKind {
        match self {
            Self::Population { .. } => MethodKind::Population,
            Self::Climb(_) => MethodKind::Climb,
            Self::Ensemble(_) => MethodKind::Ensemble,
            Self::Gradient(_) => MethodKind::Gradient,
        }
    }

    /// A view of the state.
    pub fn as_ref(&self) -> StateRef<'_> {
        match self {
            Self::Population { set, metric } => StateRef::Population {
                set,
                metric: *metric,
            },
            Self::Climb(c) => StateRef::Climb(c),
            Self::Ensemble(e) => StateRef::Ensemble(e),
            Self::Gradient(t) => StateRef::Gradient(t),
        }
    }

    /// The shared loop ([`crate::run::train`]) for this method on the training split `train`
    /// (the population's fitness is its metric on `train`); calling it again goes on where it
    /// stopped, also after the state was saved and loaded.
    pub fn train<F>(
        &mut self,
        train: &Split,
        options: &TrainOptions,
        mut callback: F,
    ) -> Result<TrainOutcome, TrainingError>
    where
        F: FnMut(&StateProgress<'_>) -> ControlFlow<()>,
    {
        Ok(match self {
            Self::Population { set, metric } => {
                let metric = *metric;
                set.train(&Fitness::new(metric, train), options, |p| {
                    callback(&StateProgress {
                        state: StateRef::Population {
                            set: p.state,
                            metric,
                        },
                        record: p.record,
                    })
                })?
            }
            Self::Climb(c) => c.train(train, options, |p| {
                callback(&StateProgress {
                    state: StateRef::Climb(p.state),
                    record: p.record,
                })
            })?,
            Self::Ensemble(e) => e.train(train, options, |p| {
                callback(&StateProgress {
                    state: StateRef::Ensemble(p.state),
                    record: p.record,
                })
            })?,
            Self::Gradient(t) => t.train(train, options, |p| {
                callback(&StateProgress {
                    state: StateRef::Gradient(p.state),
                    record: p.record,
                })
            })?,
        })
    }

    /// The model to keep, `train` being the training split: the best candidate, each climbed
    /// network as the more accurate on `train` of its current and best re-scored one
    /// ([`Climber::choose`]; members merged), the exported gradient network.
    pub fn model(&self, train: &Split) -> Chain {
        match self {
            Self::Population { set, .. } => set.chain().clone(),
            Self::Climb(c) => c.choose(train).clone(),
            Self::Ensemble(e) => e.model(train).expect("members of one shape"),
            Self::Gradient(t) => t.export(),
        }
    }

    /// The current model, without choosing (see [`StateRef::model`]).
    pub fn current_model(&self) -> Chain {
        self.as_ref().model()
    }

    /// Every step's record.
    pub fn history(&self) -> &History {
        match self {
            Self::Population { set, .. } => set.history(),
            Self::Climb(c) => c.history(),
            Self::Ensemble(e) => e.history(),
            Self::Gradient(t) => t.history(),
        }
    }

    /// The step reached: generation, or epochs completed.
    pub fn step_number(&self) -> u64 {
        match self {
            Self::Population { set, .. } => set.generation(),
            Self::Climb(c) => c.generation(),
            Self::Ensemble(e) => e.generation(),
            Self::Gradient(t) => u64::from(t.epoch()),
        }
    }

    /// The bytes training on `examples` examples still needs beyond what the state already
    /// holds (each method's `memory_to_train`); training refuses to start when it is over
    /// [`memory::available`].
    pub fn memory_to_train(&self, examples: usize) -> u64 {
        match self {
            Self::Population { set, .. } => set.memory_to_train(examples),
            Self::Climb(c) => c.memory_to_train(examples),
            Self::Ensemble(e) => e.memory_to_train(examples),
            Self::Gradient(t) => t.memory_to_train(examples),
        }
    }

    /// Input width and class count of the model being trained.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Self::Population { set, .. } => (set.chain().inputs(), set.chain().outputs()),
            Self::Climb(c) => (c.chain().inputs(), c.chain().outputs()),
            Self::Ensemble(e) => {
                let c = e.members()[0].chain();
                (c.inputs(), c.outputs())
            }
            Self::Gradient(t) => (t.inputs(), t.classes()),
        }
    }

    /// Checks what serde cannot (a state read from a file), rebuilding what is not stored.
    pub(crate) fn validate(&mut self) -> Result<(), String> {
        match self {
            Self::Population { set, .. } => set.validate().map_err(|e| e.to_string()),
            Self::Climb(c) => c.validate(),
            Self::Ensemble(e) => e.validate(),
            Self::Gradient(t) => t.restore(),
        }
    }
}

impl From<Population> for TrainingState {
    /// The population, with the score metric (the original's fitness).
    fn from(set: Population) -> Self {
        Self::Population {
            set,
            metric: Metric::Score,
        }
    }
}

impl From<Climber> for TrainingState {
    fn from(c: Climber) -> Self {
        Self::Climb(c)
    }
}

impl From<ClimbEnsemble> for TrainingState {
    fn from(e: ClimbEnsemble) -> Self {
        Self::Ensemble(e)
    }
}

impl From<Trainer> for TrainingState {
    fn from(t: Trainer) -> Self {
        Self::Gradient(t)
    }
}
