//! Stop rules, validation, progress printing and cancellation for
//! [`TrainingSet::train`](super::TrainingSet::train).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::TrainingSet;
use super::history::GenerationRecord;
use crate::datasets::Split;

/// A flag another thread (a GUI's stop button, a Ctrl-C handler) sets to stop training after
/// the current generation. Clones share the flag.
///
/// ```
/// use bitsmnist_core::genetic::CancelToken;
/// let t = CancelToken::new();
/// let u = t.clone();
/// std::thread::spawn(move || u.cancel()).join().unwrap();
/// assert!(t.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks training to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called (and not [`reset`](Self::reset)).
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Clears the flag, to train again.
    pub fn reset(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// How a run of [`TrainingSet::train`](super::TrainingSet::train) is watched and stopped.
///
/// Training stops at the first rule that fires, checked after each generation. With no rule at
/// all it runs until the callback breaks. All defaults are off.
///
/// ```
/// use std::time::Duration;
/// use bitsmnist_core::genetic::TrainOptions;
/// let opts = TrainOptions::new()
///     .generations(1000)
///     .target_fitness(0.999)
///     .patience(100)
///     .time_limit(Duration::from_secs(30))
///     .print_every(50);
/// assert_eq!(opts.generations, Some(1000));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TrainOptions {
    /// Breeding steps to run in this call (the first call also evaluates the initial
    /// population first, as generation 0).
    pub generations: Option<u64>,
    /// Stop once this absolute generation number is reached.
    pub until_generation: Option<u64>,
    /// Stop once the best fitness is at least this.
    pub target_fitness: Option<f64>,
    /// Stop after this many generations without a new best fitness.
    pub patience: Option<u64>,
    /// Stop after this much wall-clock time in this call.
    pub time_limit: Option<Duration>,
    /// Stop when this token is cancelled.
    pub cancel: Option<CancelToken>,
    /// Measure the best candidate's accuracy on a split every so many generations.
    pub validation: Option<Validation>,
    /// Print a progress line to standard output every so many generations (`None`: quiet).
    pub print_every: Option<u64>,
}

/// Validation settings: the split, and how often (in generations) to measure.
#[derive(Clone, Debug)]
pub struct Validation {
    /// The examples.
    pub split: Arc<Split>,
    /// Measure when `generation % every == 0`.
    pub every: u64,
}

impl TrainOptions {
    /// No stop rule, no validation, quiet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`generations`](Self::generations).
    pub fn generations(mut self, n: u64) -> Self {
        self.generations = Some(n);
        self
    }

    /// Sets [`until_generation`](Self::until_generation).
    pub fn until_generation(mut self, g: u64) -> Self {
        self.until_generation = Some(g);
        self
    }

    /// Sets [`target_fitness`](Self::target_fitness).
    pub fn target_fitness(mut self, f: f64) -> Self {
        self.target_fitness = Some(f);
        self
    }

    /// Sets [`patience`](Self::patience).
    pub fn patience(mut self, n: u64) -> Self {
        self.patience = Some(n);
        self
    }

    /// Sets [`time_limit`](Self::time_limit).
    pub fn time_limit(mut self, d: Duration) -> Self {
        self.time_limit = Some(d);
        self
    }

    /// Sets [`cancel`](Self::cancel).
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Measures accuracy on `split` (copied) every `every` generations (at least 1).
    pub fn validate_on(mut self, split: &Split, every: u64) -> Self {
        self.validation = Some(Validation {
            split: Arc::new(split.clone()),
            every: every.max(1),
        });
        self
    }

    /// Prints a progress line every `n` generations (0 means quiet).
    pub fn print_every(mut self, n: u64) -> Self {
        self.print_every = (n > 0).then_some(n);
        self
    }

    /// No progress lines.
    pub fn quiet(mut self) -> Self {
        self.print_every = None;
        self
    }
}

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StopReason {
    /// [`TrainOptions::generations`] or [`TrainOptions::until_generation`] reached.
    Generations,
    /// [`TrainOptions::target_fitness`] reached.
    TargetFitness,
    /// No improvement for [`TrainOptions::patience`] generations.
    NoImprovement,
    /// [`TrainOptions::time_limit`] reached.
    TimeLimit,
    /// The callback returned `ControlFlow::Break`.
    Callback,
    /// The [`CancelToken`] was cancelled.
    Cancelled,
}

/// The result of [`TrainingSet::train`](super::TrainingSet::train).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Why it stopped.
    pub reason: StopReason,
    /// Breeding steps run in this call.
    pub steps: u64,
    /// The generation number reached.
    pub generation: u64,
    /// Fitness of the best candidate (now copied into the chain).
    pub best_fitness: f64,
    /// Wall-clock time of this call.
    pub elapsed: Duration,
}

/// What the callback of [`TrainingSet::train`](super::TrainingSet::train) sees after each
/// generation.
pub struct Progress<'a> {
    /// The training state (population, fitness, history, ...). Clone or save it to
    /// checkpoint; [`TrainingSet::best_chain`] gives the current best model.
    pub set: &'a TrainingSet,
    /// This generation's record (also the last entry of the history).
    pub record: &'a GenerationRecord,
}
