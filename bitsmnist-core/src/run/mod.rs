//! One training run for every method: the loop, its stop rules, pause and resume, progress.
//!
//! The population algorithm ([`crate::search::Population`]), bit-flip climbing
//! ([`crate::search::Climber`], [`crate::search::ClimbEnsemble`]) and gradient training
//! ([`crate::gradient::Trainer`]) each implement [`Method`]: one *step* is a generation or an
//! epoch. Their `train` functions all run the same loop, so they share
//!
//! - the stop rules of [`TrainOptions`] (steps, until a step, wall-clock time, target
//!   objective, patience, cancellation, pause), checked after every step and, for the time
//!   limit, cancellation and pause, also inside long steps (between mini-batches);
//! - one [`StopReason`] and one [`TrainOutcome`];
//! - one [`Record`] per step in one [`History`] (CSV, SVG plot, notebook display);
//! - progress through a callback (an observer) that sees the state and the record, and can
//!   stop the run; [`TrainOptions::print_every`] adds the printing observer notebooks and
//!   the command line use.
//!
//! A [`Budget`] keeps a run's limits over several calls, so a run that is paused (or saved and
//! opened again) and resumed stops where the uninterrupted run would have.
//!
//! ```
//! use std::ops::ControlFlow;
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::search::{ClimbParams, Climber};
//! use bitsmnist_core::run::{Budget, StopReason, TrainOptions};
//!
//! let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
//! let train = data.train.select(&(0..1000).collect::<Vec<_>>());
//! let model = Chain::new(vec![
//!     BitDense::new(784, 32).with_seed(1).into(),
//!     BitDense::new(32, 10).with_seed(2).with_output(BitOutput::Float(Activation::Identity)).into(),
//! ]).unwrap();
//! let params = ClimbParams::default().batch_size(Some(500)).trials_per_generation(500).seed(3);
//! let mut climber = Climber::new(model, params).unwrap();
//!
//! // Six generations in all, paused after the third and resumed: the budget counts both calls.
//! let mut budget = Budget::new(TrainOptions::new().generations(6));
//! let pause = budget.pause_token();
//! let first = budget
//!     .train(|o| {
//!         climber.train(&train, o, |p| {
//!             if p.record.step == 3 {
//!                 pause.cancel();
//!             }
//!             ControlFlow::Continue(())
//!         })
//!     })
//!     .unwrap();
//! assert_eq!((first.reason, first.step), (StopReason::Paused, 3));
//! let second = budget.train(|o| climber.run(&train, o)).unwrap();
//! assert_eq!((second.reason, second.step), (StopReason::Steps, 6));
//! assert!(budget.is_spent());
//! ```

mod history;

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use history::{Detail, History, Record};

use crate::datasets::Split;
use crate::layers::Chain;

/// A flag another thread (a GUI's stop button, a Ctrl-C handler) sets to stop training at the
/// next safe point. Clones share the flag.
///
/// ```
/// use bitsmnist_core::run::CancelToken;
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
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called (and not [`reset`](Self::reset)).
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears the flag, to train again.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// The flag itself, for code that can only store into an atomic: a signal handler
    /// (`signal_hook::flag::register(SIGINT, token.flag())` cancels the run on Ctrl-C).
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// How a call of a method's `train` is watched and stopped.
///
/// Training stops at the first rule that fires. The step-count rules and the target and
/// patience are checked after each step; the time limit, cancellation and pause also inside
/// long steps. With no rule at all it runs until the callback breaks (or, for gradient
/// training, until its epochs are done). All defaults are off.
///
/// ```
/// use std::time::Duration;
/// use bitsmnist_core::run::TrainOptions;
/// let opts = TrainOptions::new()
///     .generations(1000)
///     .target(0.999)
///     .patience(100)
///     .time_limit(Duration::from_secs(30))
///     .print_every(50);
/// assert_eq!(opts.steps, Some(1000));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TrainOptions {
    /// Steps (generations or epochs) to run in this call. The population's and the climb's
    /// first call also records the starting state first, as generation 0.
    pub steps: Option<u64>,
    /// Stop once this absolute step number (generation or epoch) is reached.
    pub until_step: Option<u64>,
    /// Stop once the objective ([`Record::best`]) is at least this.
    pub target: Option<f64>,
    /// Stop after this many steps without a new best objective.
    pub patience: Option<u64>,
    /// Stop after this much wall-clock time in this call.
    pub time_limit: Option<Duration>,
    /// Stop when this token is cancelled ([`StopReason::Cancelled`]).
    pub cancel: Option<CancelToken>,
    /// Stop when this token is set, to go on later ([`StopReason::Paused`]; see [`Budget`]).
    pub pause: Option<CancelToken>,
    /// Measure the current model's accuracy on a split every so many steps.
    pub validation: Option<Validation>,
    /// Print each step's record to standard output every so many steps (`None`: quiet).
    pub print_every: Option<u64>,
}

/// Validation settings: the split, and how often (in steps) to measure.
#[derive(Clone, Debug)]
pub struct Validation {
    /// The examples.
    pub split: Arc<Split>,
    /// Measure when `step % every == 0`.
    pub every: u64,
}

impl TrainOptions {
    /// No stop rule, no validation, quiet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`steps`](Self::steps): generations to run in this call.
    pub fn generations(mut self, n: u64) -> Self {
        self.steps = Some(n);
        self
    }

    /// Sets [`steps`](Self::steps): epochs to run in this call.
    pub fn epochs(self, n: u64) -> Self {
        self.generations(n)
    }

    crate::util::setters! { Some =>
        target: f64,
        patience: u64,
        time_limit: Duration,
        cancel: CancelToken,
        pause: CancelToken,
    }

    /// Sets [`until_step`](Self::until_step).
    pub fn until_generation(mut self, step: u64) -> Self {
        self.until_step = Some(step);
        self
    }

    /// Sets [`target`](Self::target) (the name the population's fitness has).
    pub fn target_fitness(self, fitness: f64) -> Self {
        self.target(fitness)
    }

    /// Measures accuracy on `split` every `every` steps (at least 1). The split is copied
    /// once; use [`validate_on_shared`](Self::validate_on_shared) to share one.
    pub fn validate_on(self, split: &Split, every: u64) -> Self {
        self.validate_on_shared(Arc::new(split.clone()), every)
    }

    /// Measures accuracy on `split` every `every` steps (at least 1), without copying it.
    pub fn validate_on_shared(mut self, split: Arc<Split>, every: u64) -> Self {
        self.validation = Some(Validation {
            split,
            every: every.max(1),
        });
        self
    }

    /// Prints a progress line every `n` steps (0 means quiet).
    pub fn print_every(mut self, n: u64) -> Self {
        self.print_every = (n > 0).then_some(n);
        self
    }

    /// No progress lines.
    pub fn quiet(mut self) -> Self {
        self.print_every = None;
        self
    }

    fn interrupted(&self, start: Instant) -> Option<StopReason> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            Some(StopReason::Cancelled)
        } else if self.pause.as_ref().is_some_and(CancelToken::is_cancelled) {
            Some(StopReason::Paused)
        } else if self.time_limit.is_some_and(|t| start.elapsed() >= t) {
            Some(StopReason::TimeLimit)
        } else {
            None
        }
    }
}

/// Why a call of `train` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StopReason {
    /// [`TrainOptions::steps`] or [`TrainOptions::until_step`] reached.
    Steps,
    /// The method has nothing left to do (gradient training: all its epochs are done).
    Finished,
    /// [`TrainOptions::target`] reached.
    Target,
    /// No new best objective for [`TrainOptions::patience`] steps.
    NoImprovement,
    /// [`TrainOptions::time_limit`] reached.
    TimeLimit,
    /// The callback returned `ControlFlow::Break`.
    Callback,
    /// The [`TrainOptions::cancel`] token was cancelled.
    Cancelled,
    /// The [`TrainOptions::pause`] token was set: calling `train` again goes on.
    Paused,
}

impl fmt::Display for StopReason {
    /// Words for a status line: `stopped: time limit reached`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Steps => "step limit reached",
            Self::Finished => "finished",
            Self::Target => "target reached",
            Self::NoImprovement => "no improvement within the patience",
            Self::TimeLimit => "time limit reached",
            Self::Callback => "stopped by the caller",
            Self::Cancelled => "stopped by the user",
            Self::Paused => "paused",
        })
    }
}

/// What a call of `train` did.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Why it stopped.
    pub reason: StopReason,
    /// Steps (generations or epochs) completed in this call.
    pub steps: u64,
    /// The step number reached (generation, or epochs completed).
    pub step: u64,
    /// The objective of the last record ([`Record::best`]; `NaN` before the first).
    pub best_fitness: f64,
    /// The last validation accuracy measured, over all calls.
    pub validation_accuracy: Option<f64>,
    /// Wall-clock time of this call.
    pub elapsed: Duration,
}

/// What the callback of a method's `train` sees after each step.
pub struct Progress<'a, S: ?Sized> {
    /// The training state: save or clone it to checkpoint; its model accessors give the
    /// current model.
    pub state: &'a S,
    /// This step's record (also the last entry of the history).
    pub record: &'a Record,
}

/// What one step did (see [`Method::step`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The step is complete; its objective and details.
    Done(Summary),
    /// A cancel point inside the step fired. The state either keeps the partial step and the
    /// next call goes on with it (an epoch's mini-batches) or is as it was before the step
    /// (a generation's trials, undone).
    Interrupted,
}

/// A step that ran to its end (`Some`) or was interrupted (`None`).
impl From<Option<Summary>> for Step {
    fn from(summary: Option<Summary>) -> Self {
        summary.map_or(Step::Interrupted, Step::Done)
    }
}

/// The method's part of a [`Record`]: the objective over the current candidates (all three
/// equal for a single model) and the method's details.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Best objective.
    pub best: f64,
    /// Mean objective.
    pub mean: f64,
    /// Worst objective.
    pub worst: f64,
    /// Method-specific figures.
    pub detail: Detail,
}

impl Summary {
    /// The summary of one model.
    pub fn single(objective: f64, detail: Detail) -> Self {
        Self {
            best: objective,
            mean: objective,
            worst: objective,
            detail,
        }
    }
}

/// Tells a long step whether to stop at its next cancel point.
pub struct Interrupt<'a> {
    options: &'a TrainOptions,
    start: Instant,
}

impl Interrupt<'_> {
    /// Whether the step should stop now (cancelled, paused or out of time).
    pub fn fired(&self) -> bool {
        self.options.interrupted(self.start).is_some()
    }

    /// Whether the run was cancelled (its end), pauses and the time limit aside: what stops
    /// a step that must make progress in every call, however short the call.
    pub fn cancelled(&self) -> bool {
        self.options.interrupted(self.start) == Some(StopReason::Cancelled)
    }
}

/// What every method keeps of its run: the records and the time trained.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Log {
    /// Every step's record.
    pub history: History,
    /// Seconds trained so far, over all calls.
    pub elapsed_secs: f64,
}

/// A training method the shared loop drives: one step is a generation or an epoch.
///
/// [`train`](Self::train) (the loop, [`train`](fn@train)) calls [`prepare`](Self::prepare),
/// then [`start`](Self::start) once if the method has not [`started`](Self::started), then
/// [`step`](Self::step) until a rule stops it, appending a [`Record`] to the method's
/// [`Log`] after each, and [`end`](Self::end) when it returns. The population algorithm
/// trains on a [`Fitness`](crate::fitness::Fitness), the others on a [`Split`].
pub trait Method {
    /// What the method trains on.
    type Data: ?Sized;
    /// Why it can fail.
    type Error;

    /// The step number reached: the generation (0 is the starting state) or epochs completed.
    fn step_number(&self) -> u64;

    /// Checks `data` (and the validation split of `options`) and readies what a call needs,
    /// before the loop.
    fn prepare(&mut self, data: &Self::Data, options: &TrainOptions) -> Result<(), Self::Error> {
        let _ = (data, options);
        Ok(())
    }

    /// Whether the starting state has been evaluated (or needs no evaluation).
    fn started(&self) -> bool {
        true
    }

    /// Evaluates the starting state (generation 0), when [`started`](Self::started) is false.
    /// A long evaluation looks at `interrupt` as a step does; interrupted, it leaves the
    /// method not started, as it was.
    fn start(&mut self, data: &Self::Data, interrupt: &Interrupt<'_>) -> Result<Step, Self::Error> {
        let _ = (data, interrupt);
        unreachable!("a method that is always started is never started again")
    }

    /// Runs one step; long steps look at `interrupt` between their parts.
    fn step(&mut self, data: &Self::Data, interrupt: &Interrupt<'_>) -> Result<Step, Self::Error>;

    /// Whether there is nothing left to do.
    fn is_finished(&self) -> bool {
        false
    }

    /// The current model (the best candidate, the climbed network, the members merged, the
    /// exported network): what validation measures and a snapshot shows.
    fn current_model(&self) -> Chain;

    /// The records and time so far, to append to.
    fn log(&mut self) -> &mut Log;

    /// Called once when a call of the loop returns (e.g. to keep the best candidate).
    fn end(&mut self) {}

    /// The shared loop ([`train`](fn@train)): steps on `data` until a rule of `options` stops
    /// it or `callback` returns [`ControlFlow::Break`]; each step's record goes to the
    /// history and to `callback` with the state. Calling it again goes on where it stopped
    /// (also after the state was saved and loaded), exactly as if it had not stopped.
    fn train<F>(
        &mut self,
        data: &Self::Data,
        options: &TrainOptions,
        callback: F,
    ) -> Result<TrainOutcome, Self::Error>
    where
        Self: Sized,
        F: FnMut(&Progress<'_, Self>) -> ControlFlow<()>,
    {
        train(self, data, options, callback)
    }

    /// [`train`](Self::train) without a callback.
    fn run(
        &mut self,
        data: &Self::Data,
        options: &TrainOptions,
    ) -> Result<TrainOutcome, Self::Error>
    where
        Self: Sized,
    {
        train(self, data, options, |_| ControlFlow::Continue(()))
    }
}

/// A comparable objective: `NaN` ranks lowest.
fn rank(f: f64) -> f64 {
    if f.is_nan() { f64::NEG_INFINITY } else { f }
}

/// Prints every `every`-th record (and the last of a finished run) to standard output: the
/// progress lines of [`TrainOptions::print_every`].
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    every: u64,
}

impl Printer {
    /// Prints every `every` steps (at least 1).
    pub fn every(every: u64) -> Self {
        Self {
            every: every.max(1),
        }
    }

    /// Prints `record` if it is due.
    pub fn observe(&self, record: &Record, finished: bool) {
        if record.step.is_multiple_of(self.every) || finished {
            println!("{record}");
        }
    }
}

/// The loop every method's [`Method::train`] runs (see the [module documentation](self)).
/// `observer` is called after each step with the state and the step's record; breaking stops
/// the run ([`StopReason::Callback`]).
pub fn train<M, F>(
    method: &mut M,
    data: &M::Data,
    options: &TrainOptions,
    mut observer: F,
) -> Result<TrainOutcome, M::Error>
where
    M: Method,
    F: FnMut(&Progress<'_, M>) -> ControlFlow<()>,
{
    // The clock starts before `prepare`, which may be long (a climb computes its features
    // there): the time limit and the reported time are the call's wall time.
    let start = Instant::now();
    method.prepare(data, options)?;
    let base_secs = method.log().elapsed_secs;
    // Patience counts from the step that first reached the best objective so far, over the
    // whole history (a resumed run remembers).
    let (mut best_so_far, mut last_improvement) = (f64::NEG_INFINITY, 0);
    for r in &method.log().history.records {
        if rank(r.best) > best_so_far {
            best_so_far = rank(r.best);
            last_improvement = r.step;
        }
    }
    let printer = options.print_every.map(Printer::every);
    let mut steps = 0u64;
    let interrupt = Interrupt { options, start };
    let reason = loop {
        if let Some(r @ (StopReason::Cancelled | StopReason::Paused)) = options.interrupted(start) {
            break r;
        }
        let summary = if method.started() {
            if method.is_finished() {
                break StopReason::Finished;
            }
            if options.steps.is_some_and(|n| steps >= n)
                || options
                    .until_step
                    .is_some_and(|s| method.step_number() >= s)
            {
                break StopReason::Steps;
            }
            match method.step(data, &interrupt)? {
                Step::Done(s) => {
                    steps += 1;
                    s
                }
                Step::Interrupted => {
                    break options.interrupted(start).unwrap_or(StopReason::Cancelled);
                }
            }
        } else {
            match method.start(data, &interrupt)? {
                Step::Done(s) => s,
                Step::Interrupted => {
                    break options.interrupted(start).unwrap_or(StopReason::Cancelled);
                }
            }
        };
        let step = method.step_number();
        let validation_accuracy = options
            .validation
            .as_ref()
            .filter(|v| step.is_multiple_of(v.every) || method.is_finished())
            .map(|v| crate::statistics::accuracy(&method.current_model(), &v.split));
        let run_secs = start.elapsed().as_secs_f64();
        let record = Record {
            step,
            best: summary.best,
            mean: summary.mean,
            worst: summary.worst,
            validation_accuracy,
            elapsed_secs: base_secs + run_secs,
            steps_per_sec: if run_secs > 0.0 {
                steps as f64 / run_secs
            } else {
                0.0
            },
            detail: summary.detail,
        };
        if rank(record.best) > best_so_far {
            best_so_far = rank(record.best);
            last_improvement = step;
        }
        if let Some(p) = printer {
            p.observe(&record, method.is_finished());
        }
        let log = method.log();
        log.elapsed_secs = base_secs + run_secs;
        log.history.records.push(record.clone());
        let flow = observer(&Progress {
            state: method,
            record: &record,
        });
        if options.target.is_some_and(|t| record.best >= t) {
            break StopReason::Target;
        }
        if options
            .patience
            .is_some_and(|n| step.saturating_sub(last_improvement) >= n)
        {
            break StopReason::NoImprovement;
        }
        if options.time_limit.is_some_and(|t| start.elapsed() >= t) {
            break StopReason::TimeLimit;
        }
        if flow.is_break() {
            break StopReason::Callback;
        }
    };
    method.end();
    method.log().elapsed_secs = base_secs + start.elapsed().as_secs_f64();
    let step = method.step_number();
    let history = &method.log().history;
    Ok(TrainOutcome {
        reason,
        steps,
        step,
        best_fitness: history.last().map_or(f64::NAN, |r| r.best),
        validation_accuracy: history
            .records
            .iter()
            .rev()
            .find_map(|r| r.validation_accuracy),
        elapsed: start.elapsed(),
    })
}

/// A run's stop rules kept over several calls of `train`: the steps and time of every call
/// count against the limits, so pausing (or saving and resuming in another process, with a
/// budget made from what is left) costs nothing. The token [`pause_token`](Self::pause_token)
/// pauses the call in progress at its next safe point.
///
/// ```
/// use std::time::Duration;
/// use bitsmnist_core::run::{Budget, StopReason, TrainOptions, TrainOutcome};
/// let mut b = Budget::new(TrainOptions::new().generations(10).time_limit(Duration::from_secs(60)));
/// let o = b.options().unwrap();
/// assert_eq!(o.steps, Some(10));
/// b.spend(&TrainOutcome {
///     reason: StopReason::Paused, steps: 4, step: 4, best_fitness: 0.5,
///     validation_accuracy: None, elapsed: Duration::from_secs(20),
/// });
/// let o = b.options().unwrap();
/// assert_eq!(o.steps, Some(6));
/// assert_eq!(o.time_limit, Some(Duration::from_secs(40)));
/// ```
#[derive(Clone, Debug)]
pub struct Budget {
    options: TrainOptions,
    pause: CancelToken,
    steps: u64,
    spent: Duration,
    done: bool,
}

impl Budget {
    /// A budget of `options`' step and time limits; its other rules apply to every call.
    /// Its pause token is `options`' own, if they have one.
    pub fn new(options: TrainOptions) -> Self {
        Self {
            pause: options.pause.clone().unwrap_or_default(),
            options,
            steps: 0,
            spent: Duration::ZERO,
            done: false,
        }
    }

    /// Setting this token pauses the call in progress ([`StopReason::Paused`]); the next
    /// call through [`train`](Self::train) clears it and goes on.
    pub fn pause_token(&self) -> CancelToken {
        self.pause.clone()
    }

    /// The options the budget was made with: its whole step and time limits.
    pub fn limits(&self) -> &TrainOptions {
        &self.options
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Time trained so far.
    pub fn spent(&self) -> Duration {
        self.spent
    }

    /// The options for the next call: what is left of the limits (`None` once nothing is).
    pub fn options(&self) -> Option<TrainOptions> {
        if self.is_spent() {
            return None;
        }
        let mut o = self.options.clone();
        o.steps = o.steps.map(|n| n - self.steps);
        o.time_limit = o.time_limit.map(|t| t - self.spent);
        o.pause = Some(self.pause.clone());
        Some(o)
    }

    /// Counts time the run spent outside the calls of `train` against the time limit (a
    /// fresh run's imprinted features, made before its first call): the limit is the run's,
    /// not only its training steps'.
    pub fn spend_time(&mut self, time: Duration) {
        self.spent += time;
    }

    /// Counts a call's steps and time.
    pub fn spend(&mut self, outcome: &TrainOutcome) {
        self.steps += outcome.steps;
        self.spent += outcome.elapsed;
        self.done |= outcome.reason != StopReason::Paused;
    }

    /// Whether the run is over: a call ended for any reason but a pause, or a limit is used
    /// up.
    pub fn is_spent(&self) -> bool {
        self.done
            || self.options.steps.is_some_and(|n| self.steps >= n)
            || self.options.time_limit.is_some_and(|t| self.spent >= t)
    }

    /// One call: `f` trains with [`options`](Self::options), and its outcome is counted. A
    /// budget already spent returns an outcome with [`StopReason::TimeLimit`] or
    /// [`StopReason::Steps`] without calling `f`.
    pub fn train<E>(
        &mut self,
        f: impl FnOnce(&TrainOptions) -> Result<TrainOutcome, E>,
    ) -> Result<TrainOutcome, E> {
        let Some(options) = self.options() else {
            let reason = if self.options.time_limit.is_some_and(|t| self.spent >= t) {
                StopReason::TimeLimit
            } else {
                StopReason::Steps
            };
            return Ok(TrainOutcome {
                reason,
                steps: 0,
                step: 0,
                best_fitness: f64::NAN,
                validation_accuracy: None,
                elapsed: Duration::ZERO,
            });
        };
        self.pause.reset();
        let t0 = Instant::now();
        let mut outcome = f(&options)?;
        // The call's whole wall time, whatever `f` did around the training loop.
        outcome.elapsed = outcome.elapsed.max(t0.elapsed());
        self.spend(&outcome);
        Ok(outcome)
    }
}
