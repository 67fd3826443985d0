//! Hyper-parameters of the genetic trainer and their validation.

use serde::{Deserialize, Serialize};

/// How parents are drawn for each child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Selection {
    /// The original: father and mother uniformly, with replacement, from the elite (the
    /// `elitism` best candidates).
    Elite,
    /// Tournament: draw `size` candidates uniformly (with replacement) from the whole
    /// population and keep the fittest (the first drawn wins ties). Larger tournaments select
    /// harder.
    Tournament {
        /// Candidates per tournament (at least 1, at most the population).
        size: usize,
    },
}

/// How a child's weights are made from its father's and mother's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Crossover {
    /// The original: for each bit layer and each neuron, the first
    /// `floor(words / divisor)` weight words come from the father, the rest from the mother;
    /// the whole bias comes from the father.
    Split {
        /// The original's `crossoverDivisor` (at least 1; 1 copies the father).
        divisor: usize,
    },
    /// Each weight and bias bit from the father or the mother with probability 1/2.
    Uniform,
    /// Each neuron (its weight row and bias bit) from the father or the mother with
    /// probability 1/2.
    Neuron,
    /// No crossover: the child is a copy of its father (mutation only).
    None,
}

/// How children are mutated (elites never are).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Mutation {
    /// The original: each weight and bias bit, with probability `rate`, is replaced by a random
    /// bit (so it flips with probability `rate / 2`).
    Replace {
        /// Probability, in `[0, 1]`.
        rate: f64,
    },
    /// Each weight and bias bit flips with probability `rate`.
    Flip {
        /// Probability, in `[0, 1]`.
        rate: f64,
    },
    /// Exactly `k` distinct bits, chosen uniformly among all trainable weight and bias bits,
    /// flip (all of them if there are fewer).
    FlipK {
        /// Number of bits (at least 1).
        k: usize,
    },
}

/// Whether and how the mutation strength adapts during training.
///
/// The trainer keeps a *mutation scale* `s` (starting at 1): rates are multiplied by `s`
/// (capped at 1) and `k` becomes `max(1, round(k * s))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Adaptation {
    /// Fixed mutation strength.
    None,
    /// Rechenberg's 1/5 success rule: after each generation, if more than a fifth of the
    /// children beat their father's fitness, `s *= factor`, if fewer, `s /= factor`; kept in
    /// `[min_scale, max_scale]`.
    OneFifth {
        /// Growth factor (> 1), e.g. 1.2.
        factor: f64,
        /// Smallest scale (> 0).
        min_scale: f64,
        /// Largest scale (>= `min_scale`).
        max_scale: f64,
    },
    /// Shrink on stagnation: when the best fitness has not improved for `patience`
    /// generations (since the last improvement or the last shrink), `s = max(s * factor,
    /// min_scale)`.
    Stagnation {
        /// Generations without improvement before shrinking (at least 1).
        patience: u64,
        /// Shrink factor, in `(0, 1)`.
        factor: f64,
        /// Smallest scale (> 0).
        min_scale: f64,
    },
}

/// Hyper-parameters of [`Population`](super::Population).
///
/// Defaults are the original TinyML ones:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `population` | 100 | candidates per generation |
/// | `elitism` | 10 | best candidates kept unchanged each generation |
/// | `selection` | [`Selection::Elite`] | parents uniformly from the elite |
/// | `crossover` | [`Crossover::Split`] `{ divisor: 2 }` | first half of each neuron's words from the father |
/// | `mutation` | [`Mutation::Replace`] `{ rate: 0.1 }` | each bit replaced by a random bit with probability 0.1 |
/// | `adaptation` | [`Adaptation::None`] | fixed mutation strength |
/// | `evals_per_candidate` | 1 | fitness is the mean of this many evaluations |
/// | `batch_size` | `None` | all fitness examples every generation; `Some(n)`: a fresh seeded mini-batch of `n` each generation |
/// | `seed` | 0 | every random choice derives from it |
///
/// Set fields directly or with the builder methods of the same names; [`PopulationParams::check`]
/// (called by [`Population::new`](super::Population::new)) validates them.
///
/// ```
/// use bitsmnist_core::search::{Mutation, ParamsError, PopulationParams};
/// let p = PopulationParams::default()
///     .population(50)
///     .elitism(5)
///     .mutation(Mutation::FlipK { k: 8 })
///     .seed(7);
/// assert!(p.check().is_ok());
/// assert_eq!(
///     PopulationParams::default().elitism(100).check(),
///     Err(ParamsError::ElitismTooLarge { elitism: 100, population: 100 })
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PopulationParams {
    /// Candidates per generation (default 100).
    pub population: usize,
    /// Candidates kept unchanged each generation (default 10).
    pub elitism: usize,
    /// Parent selection (default [`Selection::Elite`]).
    pub selection: Selection,
    /// Crossover (default [`Crossover::Split`] with divisor 2).
    pub crossover: Crossover,
    /// Mutation of children (default [`Mutation::Replace`] with rate 0.1).
    pub mutation: Mutation,
    /// Adaptive mutation strength (default [`Adaptation::None`]).
    pub adaptation: Adaptation,
    /// Evaluations averaged per candidate (default 1).
    pub evals_per_candidate: usize,
    /// Mini-batch size for metric fitness (default `None`: all examples).
    pub batch_size: Option<usize>,
    /// Seed of every random choice (default 0).
    pub seed: u64,
}

impl Default for PopulationParams {
    fn default() -> Self {
        Self {
            population: 100,
            elitism: 10,
            selection: Selection::Elite,
            crossover: Crossover::Split { divisor: 2 },
            mutation: Mutation::Replace { rate: 0.1 },
            adaptation: Adaptation::None,
            evals_per_candidate: 1,
            batch_size: None,
            seed: 0,
        }
    }
}

/// Why hyper-parameters were rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// Fewer than 2 candidates.
    #[error("population must be at least 2, got {0}")]
    PopulationTooSmall(usize),
    /// No room for children.
    #[error("elitism {elitism} must be smaller than the population {population}")]
    ElitismTooLarge {
        /// The elitism.
        elitism: usize,
        /// The population.
        population: usize,
    },
    /// Elite selection with an empty elite.
    #[error("elite selection needs elitism of at least 1")]
    NoElite,
    /// Tournament size 0 or larger than the population.
    #[error("tournament size must be in 1..={population}, got {size}")]
    TournamentSize {
        /// The size.
        size: usize,
        /// The population.
        population: usize,
    },
    /// Crossover divisor 0.
    #[error("crossover divisor must be at least 1")]
    CrossoverDivisor,
    /// Mutation rate outside `[0, 1]` or NaN.
    #[error("mutation rate must be in [0, 1], got {0}")]
    MutationRate(f64),
    /// Flip-k with k = 0.
    #[error("flip-k mutation needs k of at least 1")]
    MutationK,
    /// Bad adaptation settings.
    #[error("adaptation: {0}")]
    Adaptation(&'static str),
    /// Zero evaluations per candidate.
    #[error("evaluations per candidate must be at least 1")]
    Evaluations,
    /// Mini-batch of size 0.
    #[error("batch size must be at least 1")]
    BatchSize,
}

impl PopulationParams {
    /// The bytes a population of `inputs -> hidden... -> classes` networks with these
    /// parameters needs on `examples` fitness examples, generously estimated
    /// ([`crate::memory`]): parents and children (and the best and a spare), the first
    /// layer's outputs cached per candidate over two generations (capped), and each thread's
    /// scores of one candidate and mini-batch (one at a time, whatever
    /// [`evals_per_candidate`](Self::evals_per_candidate) is).
    pub fn memory_estimate(
        &self,
        inputs: usize,
        hidden: &[usize],
        classes: usize,
        examples: usize,
    ) -> u64 {
        use crate::memory::{add, mul};
        let net = crate::memory::network_bytes(inputs, hidden, classes);
        let first = hidden.first().copied().unwrap_or(classes) as u64;
        let (classes, examples) = (classes as u64, examples as u64);
        let e = self.batch_size.map_or(examples, |b| examples.min(b as u64));
        let population = self.population as u64;
        let threads = rayon::current_num_threads() as u64;
        let networks = mul(&[population.saturating_mul(2).saturating_add(2), net]);
        let cache =
            mul(&[population, e, first.div_ceil(8)]).min(crate::search::rows::MAX_BYTES as u64);
        let scratch = mul(&[threads, e, add(&[first.div_ceil(8), classes * 8])]);
        // A mini-batch is drawn where it is evaluated, one per thread whatever `evals` is:
        // its packed rows, labels and indices (the whole split is referenced, not copied).
        let batch = match self.batch_size {
            Some(b) if (b as u64) < examples => mul(&[
                threads,
                b as u64,
                add(&[(inputs as u64).div_ceil(64) * 8, 1, 8]),
            ]),
            _ => 0,
        };
        add(&[networks, mul(&[2, cache]), scratch, batch])
    }

    /// The original TinyML defaults (same as `default()`).
    pub fn new() -> Self {
        Self::default()
    }

    crate::util::setters! {
        population: usize,
        elitism: usize,
        selection: Selection,
        crossover: Crossover,
        mutation: Mutation,
        adaptation: Adaptation,
        evals_per_candidate: usize,
        batch_size: Option<usize>,
        seed: u64,
    }

    /// Original-style shortcut: [`Crossover::Split`] with this divisor.
    pub fn crossover_divisor(self, divisor: usize) -> Self {
        self.crossover(Crossover::Split { divisor })
    }

    /// Original-style shortcut: [`Mutation::Replace`] with this rate.
    pub fn mutation_rate(self, rate: f64) -> Self {
        self.mutation(Mutation::Replace { rate })
    }

    /// Checks every field; the first problem found is returned.
    pub fn check(&self) -> Result<(), ParamsError> {
        if self.population < 2 {
            return Err(ParamsError::PopulationTooSmall(self.population));
        }
        if self.elitism >= self.population {
            return Err(ParamsError::ElitismTooLarge {
                elitism: self.elitism,
                population: self.population,
            });
        }
        match self.selection {
            Selection::Elite if self.elitism == 0 => return Err(ParamsError::NoElite),
            Selection::Tournament { size } if size == 0 || size > self.population => {
                return Err(ParamsError::TournamentSize {
                    size,
                    population: self.population,
                });
            }
            _ => {}
        }
        if let Crossover::Split { divisor: 0 } = self.crossover {
            return Err(ParamsError::CrossoverDivisor);
        }
        match self.mutation {
            Mutation::Replace { rate } | Mutation::Flip { rate }
                if !(0.0..=1.0).contains(&rate) =>
            {
                return Err(ParamsError::MutationRate(rate));
            }
            Mutation::FlipK { k: 0 } => return Err(ParamsError::MutationK),
            _ => {}
        }
        match self.adaptation {
            Adaptation::None => {}
            Adaptation::OneFifth {
                factor,
                min_scale,
                max_scale,
            } => {
                if !(factor > 1.0 && factor.is_finite()) {
                    return Err(ParamsError::Adaptation("1/5 rule factor must be > 1"));
                }
                if !(min_scale > 0.0 && min_scale <= max_scale && max_scale.is_finite()) {
                    return Err(ParamsError::Adaptation(
                        "scales must satisfy 0 < min_scale <= max_scale < infinity",
                    ));
                }
            }
            Adaptation::Stagnation {
                patience,
                factor,
                min_scale,
            } => {
                if patience == 0 {
                    return Err(ParamsError::Adaptation("patience must be at least 1"));
                }
                if !(factor > 0.0 && factor < 1.0) {
                    return Err(ParamsError::Adaptation(
                        "stagnation factor must be in (0, 1)",
                    ));
                }
                if !(min_scale > 0.0 && min_scale.is_finite()) {
                    return Err(ParamsError::Adaptation("min_scale must be > 0"));
                }
            }
        }
        if self.evals_per_candidate == 0 {
            return Err(ParamsError::Evaluations);
        }
        if self.batch_size == Some(0) {
            return Err(ParamsError::BatchSize);
        }
        Ok(())
    }

    /// `self` if [`check`](Self::check) passes.
    pub fn checked(self) -> Result<Self, ParamsError> {
        self.check().map(|()| self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_originals_and_valid() {
        let p = PopulationParams::default();
        assert_eq!(
            (p.population, p.elitism, p.evals_per_candidate),
            (100, 10, 1)
        );
        assert_eq!(p.crossover, Crossover::Split { divisor: 2 });
        assert_eq!(p.mutation, Mutation::Replace { rate: 0.1 });
        assert!(p.check().is_ok());
    }

    #[test]
    fn each_bad_field_has_its_error() {
        let d = PopulationParams::default;
        assert_eq!(
            d().population(1).elitism(0).check(),
            Err(ParamsError::PopulationTooSmall(1))
        );
        assert_eq!(d().elitism(0).check(), Err(ParamsError::NoElite));
        assert!(
            d().elitism(0)
                .selection(Selection::Tournament { size: 3 })
                .check()
                .is_ok()
        );
        assert_eq!(
            d().selection(Selection::Tournament { size: 101 }).check(),
            Err(ParamsError::TournamentSize {
                size: 101,
                population: 100
            })
        );
        assert_eq!(
            d().crossover_divisor(0).check(),
            Err(ParamsError::CrossoverDivisor)
        );
        assert_eq!(
            d().mutation_rate(1.5).check(),
            Err(ParamsError::MutationRate(1.5))
        );
        assert!(matches!(
            d().mutation(Mutation::Flip { rate: f64::NAN }).check(),
            Err(ParamsError::MutationRate(_))
        ));
        assert_eq!(
            d().mutation(Mutation::FlipK { k: 0 }).check(),
            Err(ParamsError::MutationK)
        );
        assert!(matches!(
            d().adaptation(Adaptation::OneFifth {
                factor: 0.9,
                min_scale: 0.1,
                max_scale: 10.0
            })
            .check(),
            Err(ParamsError::Adaptation(_))
        ));
        assert!(matches!(
            d().adaptation(Adaptation::Stagnation {
                patience: 0,
                factor: 0.5,
                min_scale: 0.1
            })
            .check(),
            Err(ParamsError::Adaptation(_))
        ));
        assert_eq!(
            d().evals_per_candidate(0).check(),
            Err(ParamsError::Evaluations)
        );
        assert_eq!(d().batch_size(Some(0)).check(), Err(ParamsError::BatchSize));
    }
}

/// Why an operator's text (`tournament:3`, `flip-k:16`, ...) does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a {what}: use {expected}")]
pub struct ParseOperatorError {
    /// What was parsed (`selection`, `crossover`, `mutation`, `adaptation`).
    pub what: &'static str,
    /// The text.
    pub text: String,
    /// The accepted forms.
    pub expected: &'static str,
}

/// Splits `name:value`; `parse` reads the value (`default` when there is none).
fn operator<T>(
    what: &'static str,
    expected: &'static str,
    s: &str,
    parse: impl FnOnce(&str, Option<&str>) -> Option<T>,
) -> Result<T, ParseOperatorError> {
    let (name, value) = match s.trim().split_once(':') {
        Some((k, v)) => (k, Some(v)),
        None => (s.trim(), None),
    };
    parse(&name.to_ascii_lowercase(), value).ok_or_else(|| ParseOperatorError {
        what,
        text: s.to_string(),
        expected,
    })
}

/// A value, or `default` when there is none; `None` when it does not parse.
fn value<T: std::str::FromStr>(v: Option<&str>, default: Option<T>) -> Option<T> {
    match v {
        Some(v) => v.trim().parse().ok(),
        None => default,
    }
}

impl std::str::FromStr for Selection {
    type Err = ParseOperatorError;

    /// `elite` or `tournament[:SIZE]` (size 3 by default).
    ///
    /// ```
    /// use bitsmnist_core::search::Selection;
    /// assert_eq!("tournament:5".parse(), Ok(Selection::Tournament { size: 5 }));
    /// assert_eq!(Selection::Tournament { size: 5 }.to_string(), "tournament:5");
    /// assert!("best".parse::<Selection>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        operator("selection", "elite or tournament:SIZE", s, |n, v| match n {
            "elite" if v.is_none() => Some(Self::Elite),
            "tournament" => value(v, Some(3)).map(|size| Self::Tournament { size }),
            _ => None,
        })
    }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Elite => f.write_str("elite"),
            Self::Tournament { size } => write!(f, "tournament:{size}"),
        }
    }
}

impl std::str::FromStr for Crossover {
    type Err = ParseOperatorError;

    /// `split[:DIVISOR]` (the original's, divisor 2 by default), `uniform`, `neuron` or
    /// `none`.
    ///
    /// ```
    /// use bitsmnist_core::search::Crossover;
    /// assert_eq!("split".parse(), Ok(Crossover::Split { divisor: 2 }));
    /// assert_eq!("neuron".parse::<Crossover>().unwrap().to_string(), "neuron");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        operator(
            "crossover",
            "split:DIVISOR, uniform, neuron or none",
            s,
            |n, v| match (n, v) {
                ("split", v) => value(v, Some(2)).map(|divisor| Self::Split { divisor }),
                ("uniform", None) => Some(Self::Uniform),
                ("neuron", None) => Some(Self::Neuron),
                ("none", None) => Some(Self::None),
                _ => None,
            },
        )
    }
}

impl std::fmt::Display for Crossover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Split { divisor } => write!(f, "split:{divisor}"),
            Self::Uniform => f.write_str("uniform"),
            Self::Neuron => f.write_str("neuron"),
            Self::None => f.write_str("none"),
        }
    }
}

impl std::str::FromStr for Mutation {
    type Err = ParseOperatorError;

    /// `replace:RATE` (the original's), `flip:RATE` or `flip-k:K`.
    ///
    /// ```
    /// use bitsmnist_core::search::Mutation;
    /// assert_eq!("flip-k:16".parse(), Ok(Mutation::FlipK { k: 16 }));
    /// assert_eq!("replace:0.05".parse::<Mutation>().unwrap().to_string(), "replace:0.05");
    /// assert!("flip".parse::<Mutation>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        operator(
            "mutation",
            "replace:RATE, flip:RATE or flip-k:K",
            s,
            |n, v| match n {
                "replace" => value(v, None).map(|rate| Self::Replace { rate }),
                "flip" => value(v, None).map(|rate| Self::Flip { rate }),
                "flip-k" => value(v, None).map(|k| Self::FlipK { k }),
                _ => None,
            },
        )
    }
}

impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Replace { rate } => write!(f, "replace:{rate}"),
            Self::Flip { rate } => write!(f, "flip:{rate}"),
            Self::FlipK { k } => write!(f, "flip-k:{k}"),
        }
    }
}

impl Adaptation {
    /// The 1/5 success rule with the measured constants: factor 1.2, scale in `[0.01, 10]`.
    pub const ONE_FIFTH: Self = Self::OneFifth {
        factor: 1.2,
        min_scale: 0.01,
        max_scale: 10.0,
    };

    /// Shrink by half after `patience` generations without improvement, down to 0.01.
    pub fn stagnation(patience: u64) -> Self {
        Self::Stagnation {
            patience,
            factor: 0.5,
            min_scale: 0.01,
        }
    }
}

impl std::str::FromStr for Adaptation {
    type Err = ParseOperatorError;

    /// `none`, `one-fifth` ([`Adaptation::ONE_FIFTH`]) or `stagnation[:PATIENCE]`
    /// ([`Adaptation::stagnation`], patience 50 by default).
    ///
    /// ```
    /// use bitsmnist_core::search::Adaptation;
    /// assert_eq!("stagnation:20".parse(), Ok(Adaptation::stagnation(20)));
    /// assert_eq!(Adaptation::ONE_FIFTH.to_string(), "one-fifth");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        operator(
            "adaptation",
            "none, one-fifth or stagnation:PATIENCE",
            s,
            |n, v| match (n, v) {
                ("none", None) => Some(Self::None),
                ("one-fifth", None) => Some(Self::ONE_FIFTH),
                ("stagnation", v) => value(v, Some(50)).map(Self::stagnation),
                _ => None,
            },
        )
    }
}

impl std::fmt::Display for Adaptation {
    /// The text [`FromStr`](std::str::FromStr) reads back; constants other than the measured
    /// ones are written out (`one-fifth(factor 1.5, scale 0.1..5)`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::None => f.write_str("none"),
            a if a == Self::ONE_FIFTH => f.write_str("one-fifth"),
            Self::OneFifth {
                factor,
                min_scale,
                max_scale,
            } => write!(
                f,
                "one-fifth(factor {factor}, scale {min_scale}..{max_scale})"
            ),
            Self::Stagnation { patience, .. } if *self == Self::stagnation(patience) => {
                write!(f, "stagnation:{patience}")
            }
            Self::Stagnation {
                patience,
                factor,
                min_scale,
            } => write!(f, "stagnation:{patience}(factor {factor}, min {min_scale})"),
        }
    }
}
