//! Measured per-task defaults: model shape, fitness and hyper-parameters that train well.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::climb::ClimbParams;
use super::params::{Crossover, Mutation, Selection, TrainerParams};
use super::{TrainError, TrainOptions, TrainingSet};
use crate::datasets::{Split, Task};
use crate::fitness::{Fitness, Metric};
use crate::layers::{Activation, BitOutput, Chain};

/// A complete training configuration for a task: a `inputs -> hidden -> classes` bit model,
/// the fitness metric, the trainer's hyper-parameters and a time budget. The command line and
/// the apps start from [`Recipe::for_task`].
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::genetic::Recipe;
/// let r = Recipe::for_task(&Task::zero_one());
/// let model = r.model(784, 2, 1);
/// assert_eq!(model.inputs(), 784);
/// assert_eq!(model.outputs(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recipe {
    /// Width of the hidden bit layer.
    pub hidden: usize,
    /// Output kind of the last layer.
    pub output: BitOutput,
    /// Fitness metric.
    pub metric: Metric,
    /// Trainer hyper-parameters (with mini-batch size).
    pub params: TrainerParams,
    /// Wall-clock budget of a training run.
    pub time_limit: Duration,
    /// How the bits are searched.
    pub strategy: Strategy,
}

/// A gradient-free search strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Strategy {
    /// The population genetic algorithm ([`TrainingSet`]) with [`Recipe::params`].
    Population,
    /// Bit-flip hill climbing ([`Climber`](super::Climber)); `members` networks trained side
    /// by side (different seeds) and [`merge`](super::merge)d into one model.
    Climb {
        /// The climber's parameters.
        params: ClimbParams,
        /// Networks in the ensemble (1: a single network).
        members: usize,
    },
}

impl Recipe {
    /// The measured defaults for `task`.
    ///
    /// - Two classes: `784 -> 64 -> 2` (float identity output), score fitness on mini-batches
    ///   of 256, population 50, elitism 5, uniform crossover, flip exactly 16 bits, 25 s.
    ///   Zeros against ones on the embedded training digits (2,128): ~7,500 generations in
    ///   25 s on 2 cores, test error 0.05-0.19% on the 2,115 test zeros and ones (seeds 1-3;
    ///   `cargo run --release -p bitsmnist-core --example zero_one`).
    /// - More classes: `784 -> 800 -> k` trained by bit-flip hill climbing
    ///   ([`Strategy::Climb`] with [`ClimbParams::default`]), 600 s. The population settings
    ///   kept in `params` (mini-batches of 512, flip exactly 32 bits) were measured with 256
    ///   hidden neurons: 62.0% test accuracy on the 10 digits after 600 s (`--example digits`).
    pub fn for_task(task: &Task) -> Self {
        let classes = task.len();
        if classes <= 2 {
            Self {
                hidden: 64,
                output: BitOutput::Float(Activation::Identity),
                metric: Metric::Score,
                params: TrainerParams::default()
                    .population(50)
                    .elitism(5)
                    .selection(Selection::Elite)
                    .crossover(Crossover::Uniform)
                    .mutation(Mutation::FlipK { k: 16 })
                    .batch_size(Some(256)),
                time_limit: Duration::from_secs(25),
                strategy: Strategy::Population,
            }
        } else {
            Self {
                hidden: 800,
                output: BitOutput::Float(Activation::Identity),
                metric: Metric::Score,
                params: TrainerParams::default()
                    .population(50)
                    .elitism(5)
                    .crossover(Crossover::Uniform)
                    .mutation(Mutation::FlipK { k: 32 })
                    .batch_size(Some(512)),
                time_limit: Duration::from_secs(600),
                // Two networks, one per core of the 2-core machine measured on: a single
                // climb is sequential (91.47% after 120 s), the pair merged gives 91.81%.
                strategy: Strategy::Climb {
                    params: ClimbParams::default(),
                    members: 2,
                },
            }
        }
    }

    /// A random `inputs -> hidden -> classes` model from `seed` by the library's seed rule
    /// ([`Chain::mlp`]; the genetic trainer replaces the weights with its own random
    /// population anyway).
    pub fn model(&self, inputs: usize, classes: usize, seed: u64) -> Chain {
        Chain::mlp(inputs, &[self.hidden], classes, self.output, seed).expect("widths match")
    }

    /// The fitness on `split`.
    pub fn fitness(&self, split: &Split) -> Fitness {
        Fitness::new(self.metric, split)
    }

    /// Options with the time budget as the stop rule.
    pub fn options(&self) -> TrainOptions {
        TrainOptions::new().time_limit(self.time_limit)
    }

    /// A training set for a fresh model, training both layers, with `seed`.
    pub fn training_set(
        &self,
        inputs: usize,
        classes: usize,
        seed: u64,
    ) -> Result<TrainingSet, TrainError> {
        TrainingSet::new(
            self.model(inputs, classes, seed),
            &[0, 1],
            self.params.clone().seed(seed),
        )
    }
}

impl TrainerParams {
    /// The hyper-parameters of [`Recipe::for_task`].
    pub fn for_task(task: &Task) -> Self {
        Recipe::for_task(task).params
    }
}
