//! Measured per-task defaults: model shape, fitness and hyper-parameters that train well.

use serde::{Deserialize, Serialize};

use super::{MethodKind, TrainConfig, TrainingError, TrainingState};
use crate::datasets::{Augment, Binarization, Split, Task};
use crate::fitness::{Fitness, Metric};
use crate::gradient::GradientParams;
use crate::layers::{Activation, BitOutput, Chain, Feature, parse_architecture};
use crate::run::TrainOptions;
use crate::search::{
    ClimbParams, Crossover, Mutation, Population, PopulationError, PopulationParams, Selection,
};

/// A complete training configuration for a task: a `inputs -> hidden -> classes` bit model,
/// the method with its hyper-parameters ([`TrainConfig`]) and a length counted in steps. The
/// command line and the apps start from [`Recipe::for_task`] (the default method) or
/// [`Recipe::for_method`].
///
/// A recipe's run stops after a number of generations, never on the wall clock, so the same
/// recipe and seed give the same model, bit for bit, on every machine and thread count; the
/// counts are calibrated to the time the documentation gives on the 2-core reference machine
/// (a faster machine finishes sooner with the same model).
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::training::Recipe;
/// use bitsmnist_core::training::MethodKind;
/// let r = Recipe::for_task(&Task::zero_one());
/// assert_eq!(r.config.kind(), MethodKind::Population);
/// let model = r.model(784, 2, 1);
/// assert_eq!((model.inputs(), model.outputs()), (784, 2));
/// let digits = Recipe::for_task(&Task::digits());
/// assert_eq!(digits.config.kind(), MethodKind::Ensemble);
/// // The dense part after the recipe's 32 filters pooled to 7x7.
/// assert_eq!(digits.features.len(), 2);
/// let state = digits.state(7 * 7 * 32, 10, 1).unwrap();
/// assert_eq!(state.kind(), MethodKind::Ensemble);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recipe {
    /// Feature layers before the dense ones (imprinted for a gradient-free search; a gradient
    /// recipe keeps its own in its parameters).
    pub features: Vec<Feature>,
    /// Width of the hidden bit layer.
    pub hidden: usize,
    /// The binarisation the recipe was measured on, when it is not the data's own
    /// ([`RunPlan::binarization`](crate::session::RunPlan::binarization)).
    pub binarization: Option<Binarization>,
    /// Copies of the training examples trained on as well.
    pub augment: Augment,
    /// Output kind of the last layer.
    pub output: BitOutput,
    /// Length of a run in generations (`None`: the method's own end, e.g. its epochs).
    pub steps: Option<u64>,
    /// The method and its hyper-parameters.
    pub config: TrainConfig,
    /// Each climbing network imprints feature layers of its own
    /// ([`RunPlan::own_features`](crate::session::RunPlan::own_features)).
    #[serde(default)]
    pub own_features: bool,
}

impl Recipe {
    /// The measured defaults for `task`: the population algorithm for two classes, an
    /// ensemble of bit-flip climbs for more (see [`Recipe::for_method`]).
    pub fn for_task(task: &Task) -> Self {
        if task.len() <= 2 {
            Self::for_method(task, MethodKind::Population)
        } else {
            Self::for_method(task, MethodKind::Ensemble)
        }
    }

    /// The measured settings of one method for `task`, each run's length calibrated to the
    /// time given here on the 2-core reference machine (see [`Recipe`] and
    /// [`Recipe::steps`]).
    ///
    /// - Population, two classes: `784 -> 64 -> 2` (float identity output), score fitness on
    ///   mini-batches of 256, population 50, elitism 5, uniform crossover, flip exactly 16
    ///   bits, [`ZERO_ONE_GENERATIONS`](Self::ZERO_ONE_GENERATIONS) generations (about 3 s).
    ///   Zeros against ones on the embedded training digits (2,128): test error 0.05-0.19% on
    ///   the 2,115 test zeros and ones (seeds 1-3; `cargo run --release -p bitsmnist-core
    ///   --example zero_one`).
    /// - Population, more classes: `784 -> 800 -> k`, mini-batches of 512, flip exactly 32
    ///   bits, 60,000 generations (about 600 s); measured with 256 hidden neurons: 62.0% test accuracy on the 10
    ///   digits after 600 s (`--example digits`).
    /// - Climb and ensemble, two classes: [`ClimbParams::default`], one network or two,
    ///   `784 -> 64 -> 2`, 1,500 generations alone or 1,000 as a pair (about 25 s).
    /// - Climb and ensemble, more classes: 32 imprinted 5x5 filters pooled 4x4
    ///   ([`digits_features`](Self::digits_features)), then `1568 -> 800 -> k`; pixels are
    ///   ink above grey level [`DIGITS_THRESHOLD`](Self::DIGITS_THRESHOLD), and the climb
    ///   trains on every example and its four one-pixel shifts (`Augment::Shifts { radius: 1
    ///   }`); 400 generations. The ensemble is [`DIGITS_NETWORKS`](Self::DIGITS_NETWORKS)
    ///   networks, each after filters imprinted from its own seed on its own half of the
    ///   examples ([`own_features`](Self::own_features)), voting side by side; a single climb
    ///   imprints one set. Measured on the ten digits (see `docs/climbing.md`): the filters
    ///   take a pixel climb's 92% to 96.5%, the threshold and the copies add about half a
    ///   point more; a climb levels off by 400 generations, so more of them gain more than
    ///   longer ones: two networks sharing their filters reach 97.14%, eight with their own
    ///   97.63%.
    /// - Gradient: [`GradientParams::default`] (one hidden layer of 2048, 30 epochs).
    pub fn for_method(task: &Task, method: MethodKind) -> Self {
        let two = task.len() <= 2;
        let hidden = if two { 64 } else { 800 };
        let output = BitOutput::Float(Activation::Identity);
        let config = match method {
            MethodKind::Population if two => TrainConfig::Population {
                params: PopulationParams::default()
                    .population(50)
                    .elitism(5)
                    .selection(Selection::Elite)
                    .crossover(Crossover::Uniform)
                    .mutation(Mutation::FlipK { k: 16 })
                    .batch_size(Some(256)),
                metric: Metric::Score,
            },
            MethodKind::Population => TrainConfig::Population {
                params: PopulationParams::default()
                    .population(50)
                    .elitism(5)
                    .crossover(Crossover::Uniform)
                    .mutation(Mutation::FlipK { k: 32 })
                    .batch_size(Some(512)),
                metric: Metric::Score,
            },
            MethodKind::Climb => TrainConfig::Climb {
                params: ClimbParams::default(),
                members: 1,
            },
            MethodKind::Ensemble => TrainConfig::Climb {
                params: ClimbParams::default(),
                members: if two { 2 } else { Self::DIGITS_NETWORKS },
            },
            MethodKind::Gradient => {
                let params = GradientParams::default();
                return Self {
                    features: Vec::new(),
                    hidden: params.hidden[0],
                    binarization: None,
                    augment: Augment::None,
                    output,
                    steps: None,
                    config: TrainConfig::Gradient(params),
                    own_features: false,
                };
            }
        };
        // More classes climb after imprinted filters, on thicker strokes and shifted copies.
        let climbs_features = !two && matches!(method, MethodKind::Climb | MethodKind::Ensemble);
        Self {
            features: if climbs_features {
                Self::digits_features()
            } else {
                Vec::new()
            },
            hidden,
            binarization: climbs_features
                .then_some(Binarization::Threshold(Self::DIGITS_THRESHOLD)),
            augment: if climbs_features {
                Augment::Shifts { radius: 1 }
            } else {
                Augment::None
            },
            output,
            steps: Self::generations(method, two),
            config,
            own_features: climbs_features && method == MethodKind::Ensemble,
        }
    }

    /// Networks of the gradient-free ensemble of more than two classes, each with its own
    /// imprinted filters: the vote gains with every doubling up to the 8 measured, and 8
    /// climbs of 400 generations fit about 10 minutes on 2 cores (see `docs/climbing.md`).
    pub const DIGITS_NETWORKS: usize = 8;

    /// The grey level above which a pixel is ink for the gradient-free recipes of more than
    /// two classes: thicker strokes than the mean rule's make patches that match more
    /// writers (measured on the ten digits: see `docs/climbing.md`).
    pub const DIGITS_THRESHOLD: u8 = 75;

    /// The feature layers of the gradient-free recipes of more than two classes: 32 imprinted
    /// 5x5 filters pooled 4x4 (`conv32x5,pool4`).
    pub fn digits_features() -> Vec<Feature> {
        parse_architecture("conv32x5,pool4")
            .expect("a valid architecture")
            .0
    }

    /// Generations of the default two-class run, the population algorithm: about 3 s on the
    /// 2-core reference machine (1,600 generations/s); the test error stops falling after
    /// about 3,000 (`bitsmnist train --task zero-one --validate-every 500` shows the curve).
    pub const ZERO_ONE_GENERATIONS: u64 = 5_000;

    /// Generations of `method`'s recipe for two classes (`two`) or more (`None` for gradient
    /// training, whose length is its epochs): about 25 s (two classes) or 600 s (more) on the
    /// 2-core reference machine, from the rates `bitsmnist train ... --generations N` reports
    /// there: the population 98 generations/s on ten digits; of 64 hidden neurons, 60/s
    /// alone and 38/s as a pair. The climbs of more classes stop where their accuracy levels
    /// off instead (400 generations, see [`for_method`](Self::for_method)).
    fn generations(method: MethodKind, two: bool) -> Option<u64> {
        Some(match (method, two) {
            (MethodKind::Population, true) => Self::ZERO_ONE_GENERATIONS,
            (MethodKind::Population, false) => 60_000,
            (MethodKind::Climb, true) => 1_500,
            (MethodKind::Ensemble, true) => 1_000,
            (MethodKind::Climb, false) => 400,
            (MethodKind::Ensemble, false) => 400,
            (MethodKind::Gradient, _) => return None,
        })
    }

    /// A random `inputs -> hidden -> classes` model from `seed` by the library's seed rule
    /// (the dense part: a recipe with [`features`](Self::features) reads their output bits;
    /// a session imprints them, [`RunPlan::for_task`](crate::session::RunPlan::for_task))
    /// ([`Chain::mlp`]; the genetic trainer replaces the weights with its own random
    /// population anyway).
    pub fn model(&self, inputs: usize, classes: usize, seed: u64) -> Chain {
        Chain::mlp(inputs, &[self.hidden], classes, self.output, seed).expect("widths match")
    }

    /// A fresh run of this recipe's dense part on `inputs -> hidden -> classes` (see
    /// [`model`](Self::model)): the network from `seed`, and the method's own seed set to
    /// `seed` too.
    pub fn state(
        &self,
        inputs: usize,
        classes: usize,
        seed: u64,
    ) -> Result<TrainingState, TrainingError> {
        self.config.clone().with_seed(seed).fresh(
            inputs,
            &[self.hidden],
            classes,
            self.output,
            seed,
        )
    }

    /// The fitness on `split` (the population's metric; the score for other methods).
    pub fn fitness(&self, split: &Split) -> Fitness {
        match &self.config {
            TrainConfig::Population { metric, .. } => Fitness::new(*metric, split),
            _ => Fitness::score(split),
        }
    }

    /// Options with the recipe's length as the stop rule.
    pub fn options(&self) -> TrainOptions {
        match self.steps {
            Some(n) => TrainOptions::new().generations(n),
            None => TrainOptions::new(),
        }
    }

    /// A population for a fresh model, training both layers, with `seed` (the population
    /// settings of this task when the recipe is for another method).
    pub fn training_set(
        &self,
        inputs: usize,
        classes: usize,
        seed: u64,
    ) -> Result<Population, PopulationError> {
        let params = match &self.config {
            TrainConfig::Population { params, .. } => params.clone(),
            _ => PopulationParams::default(),
        };
        Population::new(
            self.model(inputs, classes, seed),
            &[0, 1],
            params.seed(seed),
        )
    }
}

impl PopulationParams {
    /// The hyper-parameters of [`Recipe::for_task`].
    pub fn for_task(task: &Task) -> Self {
        match Recipe::for_method(task, MethodKind::Population).config {
            TrainConfig::Population { params, .. } => params,
            _ => unreachable!("the population recipe"),
        }
    }
}
