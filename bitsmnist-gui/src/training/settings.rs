//! The persisted options of the Training panel: the method, the genetic trainer's
//! hyper-parameters (mirrored by small enums that serde can store), and the stop rules, with
//! their mapping to the library's [`PopulationParams`], [`TrainConfig`] and [`TrainOptions`]
//! (the whole run plan is made by [`super::plan`]).

use std::time::Duration;

use bitsmnist_core::fitness::Metric;
use bitsmnist_core::run::TrainOptions;
use bitsmnist_core::search::{Adaptation, Crossover, Mutation, PopulationParams, Selection};
use bitsmnist_core::training::{Recipe, TrainConfig};
use serde::{Deserialize, Serialize};

use super::climb::ClimbSettings;
use super::gradient::GradientSettings;

/// How the model is trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// Evolve a population of bit weights (the original method).
    #[default]
    Genetic,
    /// Back-propagation with the straight-through estimator, exported to a bit model.
    Gradient,
    /// Single-bit hill climbing with incremental evaluation (the ten-digit default of the
    /// command line).
    Climb,
}

impl Method {
    /// The name shown in the method menu.
    pub fn name(self) -> &'static str {
        match self {
            Method::Genetic => "Genetic",
            Method::Gradient => "Gradient",
            Method::Climb => "Bit-flip climbing",
        }
    }
}

/// Parent selection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectionKind {
    /// Parents uniformly from the elite (the original).
    #[default]
    Elite,
    /// Tournaments over the whole population.
    Tournament,
}

/// Crossover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrossoverKind {
    /// First words of each neuron from the father, the rest from the mother (the original).
    Split,
    /// Each bit from either parent.
    #[default]
    Uniform,
    /// Each neuron from either parent.
    Neuron,
    /// Copy the father (mutation only).
    None,
}

/// Mutation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MutationKind {
    /// Each bit replaced by a random bit with a probability (the original).
    Replace,
    /// Each bit flipped with a probability.
    Flip,
    /// Exactly k bits flipped.
    #[default]
    FlipK,
}

/// Adaptive mutation strength.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdaptationKind {
    /// Fixed strength.
    #[default]
    None,
    /// Rechenberg's 1/5 success rule.
    OneFifth,
    /// Shrink when the best fitness stagnates.
    Stagnation,
}

/// The time limits, in seconds, that the Training panel's field allows.
pub(crate) const TIME_LIMIT_SECS: std::ops::RangeInclusive<f64> = 0.1..=86_400.0;

/// `secs` clamped into [`TIME_LIMIT_SECS`]; NaN, which has no place in it, is the default 25 s.
fn time_limit(secs: f64) -> f64 {
    if secs.is_nan() {
        25.0
    } else {
        secs.clamp(*TIME_LIMIT_SECS.start(), *TIME_LIMIT_SECS.end())
    }
}

fn time_limit_on_load<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    f64::deserialize(d).map(time_limit)
}

/// The persisted trainer options: the method, the genetic hyper-parameters, fitness and stop
/// rules, and the gradient options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingSettings {
    /// Which trainer Start runs.
    pub method: Method,
    /// Options of the gradient method.
    pub gradient: GradientSettings,
    /// Options of bit-flip climbing.
    pub climb: ClimbSettings,
    /// Candidates per generation.
    pub population: usize,
    /// Best candidates kept unchanged.
    pub elitism: usize,
    /// Parent selection.
    pub selection: SelectionKind,
    /// Tournament size.
    pub tournament: usize,
    /// Crossover.
    pub crossover: CrossoverKind,
    /// Divisor of the split crossover.
    pub divisor: usize,
    /// Mutation.
    pub mutation: MutationKind,
    /// Mutation probability (replace, flip).
    pub rate: f64,
    /// Bits flipped (flip-k).
    pub k: usize,
    /// Adaptive mutation strength.
    pub adaptation: AdaptationKind,
    /// Growth factor of the 1/5 rule.
    pub factor: f64,
    /// Smallest mutation scale.
    pub min_scale: f64,
    /// Largest mutation scale (1/5 rule).
    pub max_scale: f64,
    /// Generations without improvement before shrinking (stagnation).
    pub shrink_patience: u64,
    /// Shrink factor (stagnation).
    pub shrink: f64,
    /// Evaluations averaged per candidate.
    pub evals: usize,
    /// Use a fresh mini-batch of the sample each generation.
    pub use_batch: bool,
    /// Mini-batch size.
    pub batch: usize,
    /// Fitness metric.
    pub metric: Metric,
    /// Seed of every random choice of the trainer.
    pub seed: u64,
    /// Stop after this many generations (when `use_generations`).
    pub generations: u64,
    /// Whether the generation limit applies.
    pub use_generations: bool,
    /// Stop after this many seconds of training (when `use_time`), 0.1 s to 24 h. A stored
    /// value outside that range (infinite, NaN or negative, from an edited or damaged settings
    /// file) is brought into it on load: `Duration::from_secs_f64` would panic on it.
    #[serde(deserialize_with = "time_limit_on_load")]
    pub seconds: f64,
    /// Whether the time limit applies.
    pub use_time: bool,
    /// Stop once the best fitness reaches this (when `use_target`).
    pub target: f64,
    /// Whether the target applies.
    pub use_target: bool,
    /// Stop after this many generations without a new best (when `use_patience`).
    pub patience: u64,
    /// Whether patience applies.
    pub use_patience: bool,
    /// Measure test accuracy every so many generations (0: never).
    pub validate_every: u64,
    /// How the generation plots' x axis shows the run.
    pub x_axis: XAxis,
    /// The generations [`XAxis::Recent`] shows.
    pub recent: u64,
}

/// How the generation plots' x axis shows the run: a long run's fitness climbs in its first
/// minute and then creeps, so on a linear axis of every generation it is mostly a flat line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum XAxis {
    /// Every generation, on a logarithmic axis: the early climb and the long tail both get
    /// room (the default).
    #[default]
    Log,
    /// Every generation, on a linear axis.
    Linear,
    /// The last [`TrainingSettings::recent`] generations, on a linear axis.
    Recent,
}

impl XAxis {
    /// Every choice, in the order shown.
    pub const ALL: [XAxis; 3] = [XAxis::Log, XAxis::Linear, XAxis::Recent];

    /// The choice's label above the plot (also its label for tests).
    pub fn title(self) -> &'static str {
        match self {
            XAxis::Log => "all, log scale",
            XAxis::Linear => "all, linear",
            XAxis::Recent => "last",
        }
    }
}

impl Default for TrainingSettings {
    /// The measured recipe for two classes ([`Recipe::for_task`]).
    fn default() -> Self {
        Self::from_recipe(&Recipe::for_task(
            &bitsmnist_core::datasets::Task::zero_one(),
        ))
    }
}

impl TrainingSettings {
    /// Settings from a recipe (its length included), other options at their defaults.
    pub fn from_recipe(r: &Recipe) -> Self {
        let mut s = match &r.config {
            TrainConfig::Population { params, metric } => {
                let mut s = Self::from_params(params);
                s.metric = *metric;
                s
            }
            _ => Self::from_params(&PopulationParams::default()),
        };
        // The recipe's length counts steps, so Start gives the same model on every machine; the
        // time limit stays one click away.
        if let Some(n) = r.steps {
            s.generations = n;
            s.use_generations = true;
            s.use_time = false;
        }
        s
    }

    /// Settings holding `p`, stop rules at their defaults (1,000 generations; a 25 s time
    /// limit when switched on).
    pub fn from_params(p: &PopulationParams) -> Self {
        let mut s = Self {
            method: Method::Genetic,
            gradient: GradientSettings::default(),
            climb: ClimbSettings::default(),
            population: p.population,
            elitism: p.elitism,
            selection: SelectionKind::Elite,
            tournament: 3,
            crossover: CrossoverKind::Uniform,
            divisor: 2,
            mutation: MutationKind::FlipK,
            rate: 0.01,
            k: 16,
            adaptation: AdaptationKind::None,
            factor: 1.2,
            min_scale: 0.01,
            max_scale: 10.0,
            shrink_patience: 100,
            shrink: 0.5,
            evals: p.evals_per_candidate,
            use_batch: p.batch_size.is_some(),
            batch: p.batch_size.unwrap_or(256),
            metric: Metric::Score,
            // The one default seed of every front end (the command line's, a notebook's).
            seed: bitsmnist_core::session::DEFAULT_SEED,
            generations: 1000,
            use_generations: true,
            seconds: 25.0,
            use_time: false,
            target: 1.0,
            use_target: false,
            patience: 500,
            use_patience: false,
            validate_every: 10,
            x_axis: XAxis::default(),
            recent: 500,
        };
        match p.selection {
            Selection::Tournament { size } => {
                s.selection = SelectionKind::Tournament;
                s.tournament = size;
            }
            _ => s.selection = SelectionKind::Elite,
        }
        s.crossover = match p.crossover {
            Crossover::Split { divisor } => {
                s.divisor = divisor;
                CrossoverKind::Split
            }
            Crossover::Neuron => CrossoverKind::Neuron,
            Crossover::None => CrossoverKind::None,
            _ => CrossoverKind::Uniform,
        };
        s.mutation = match p.mutation {
            Mutation::Replace { rate } => {
                s.rate = rate;
                MutationKind::Replace
            }
            Mutation::Flip { rate } => {
                s.rate = rate;
                MutationKind::Flip
            }
            Mutation::FlipK { k } => {
                s.k = k;
                MutationKind::FlipK
            }
            _ => MutationKind::FlipK,
        };
        s.adaptation = match p.adaptation {
            Adaptation::OneFifth {
                factor,
                min_scale,
                max_scale,
            } => {
                (s.factor, s.min_scale, s.max_scale) = (factor, min_scale, max_scale);
                AdaptationKind::OneFifth
            }
            Adaptation::Stagnation {
                patience,
                factor,
                min_scale,
            } => {
                (s.shrink_patience, s.shrink, s.min_scale) = (patience, factor, min_scale);
                AdaptationKind::Stagnation
            }
            _ => AdaptationKind::None,
        };
        s
    }

    /// The trainer's hyper-parameters.
    pub fn params(&self) -> PopulationParams {
        PopulationParams::default()
            .population(self.population)
            .elitism(self.elitism)
            .selection(match self.selection {
                SelectionKind::Elite => Selection::Elite,
                SelectionKind::Tournament => Selection::Tournament {
                    size: self.tournament,
                },
            })
            .crossover(match self.crossover {
                CrossoverKind::Split => Crossover::Split {
                    divisor: self.divisor,
                },
                CrossoverKind::Uniform => Crossover::Uniform,
                CrossoverKind::Neuron => Crossover::Neuron,
                CrossoverKind::None => Crossover::None,
            })
            .mutation(match self.mutation {
                MutationKind::Replace => Mutation::Replace { rate: self.rate },
                MutationKind::Flip => Mutation::Flip { rate: self.rate },
                MutationKind::FlipK => Mutation::FlipK { k: self.k },
            })
            .adaptation(match self.adaptation {
                AdaptationKind::None => Adaptation::None,
                AdaptationKind::OneFifth => Adaptation::OneFifth {
                    factor: self.factor,
                    min_scale: self.min_scale,
                    max_scale: self.max_scale,
                },
                AdaptationKind::Stagnation => Adaptation::Stagnation {
                    patience: self.shrink_patience,
                    factor: self.shrink,
                    min_scale: self.min_scale,
                },
            })
            .evals_per_candidate(self.evals)
            .batch_size(self.use_batch.then_some(self.batch))
            .seed(self.seed)
    }

    /// The stop rules of the Stop rules panel, the same for every method: steps (generations
    /// or epochs) from the start of this run, time limit (pauses excluded), target, patience.
    pub fn stop_rules(&self) -> TrainOptions {
        let mut o = TrainOptions::new().quiet();
        if self.use_generations {
            o = o.generations(self.generations);
        }
        if self.use_time {
            o = o.time_limit(Duration::from_secs_f64(time_limit(self.seconds)));
        }
        if self.use_target {
            o = o.target(self.target);
        }
        if self.use_patience {
            o = o.patience(self.patience);
        }
        o
    }

    /// The configuration of `method` from its options; `hidden` is the Model panel's hidden
    /// widths (the gradient method's network).
    pub fn config(
        &self,
        method: Method,
        hidden: &Result<Vec<usize>, String>,
    ) -> Result<TrainConfig, String> {
        Ok(match method {
            Method::Genetic => {
                let params = self.params();
                params
                    .check()
                    .map_err(|e| format!("trainer options: {e}"))?;
                TrainConfig::Population {
                    params,
                    metric: self.metric,
                }
            }
            Method::Climb => TrainConfig::Climb {
                params: self
                    .climb
                    .check()
                    .map_err(|e| format!("climbing options: {e}"))?,
                members: self.climb.members.max(1),
            },
            Method::Gradient => TrainConfig::Gradient(
                self.gradient
                    .check(hidden)
                    .map_err(|e| format!("gradient options: {e}"))?,
            ),
        })
    }

    /// The seed of a fresh run of `method`: that method's seed field (the run's one seed: the
    /// starting network, the method and the imprinted filters all derive from it).
    pub fn seed_of(&self, method: Method) -> u64 {
        match method {
            Method::Genetic => self.seed,
            Method::Climb => self.climb.seed,
            Method::Gradient => self.gradient.seed,
        }
    }

    /// Measure test accuracy every so many steps of a run of `method` (0: never): the stop
    /// rules' "Test every", or every epoch of a gradient run when "Test every epoch" is on.
    pub fn validate_every(&self, method: Method) -> u64 {
        match method {
            Method::Gradient => u64::from(self.gradient.test_every_epoch),
            _ => self.validate_every,
        }
    }
}
