//! The worker side of a training run and what it tells the window: the [`TrainReply`]
//! protocol, the window's [`Run`] handle (Pause, Resume, Stop), and `Control`, the worker's
//! side, with the pausable run loop of the generation-based methods.
//!
//! This is the one place that knows how Pause and the time budget work across calls of a
//! trainer's own loop; the methods' jobs only call `Control`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::Split;
use bitsmnist_core::gradient::Input;
use bitsmnist_core::layers::Chain;
use bitsmnist_core::run::{
    Budget, CancelToken, History, Record, StopReason, TrainOptions, TrainOutcome,
};
use bitsmnist_core::search::Population;

use super::climb::ClimbState;
use super::settings::{Method, TrainingSettings};
use crate::worker::{Outbox, Reply};

/// How often the worker sends the best model so far (for the Draw panel).
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// News from a training run.
#[derive(Debug)]
pub enum TrainReply {
    /// A generation or an epoch finished.
    Progress(Progress),
    /// The model so far (the best candidate, the climbing network, or an epoch's export).
    Snapshot(Chain),
    /// The run paused after a generation.
    Paused,
    /// The run ended.
    Finished(Box<Finished>),
    /// The run panicked; its state is lost, the model before the run is kept.
    Crashed(String),
}

impl TrainReply {
    /// Whether this is routine progress (shown within 1/30 s) rather than a result.
    pub fn is_progress(&self) -> bool {
        matches!(self, TrainReply::Progress(_) | TrainReply::Snapshot(_))
    }
}

/// The record of one step of a run.
#[derive(Debug)]
pub enum Progress {
    /// A generation of the genetic method or of bit-flip climbing.
    Generation(Record),
    /// An epoch of the gradient method.
    Epoch(Record),
}

/// The end of a run: what it leaves the app.
#[derive(Debug)]
pub struct Finished {
    /// The model the run gives, with where it came from (`None`: the run could not start, and
    /// the model before it stays).
    pub model: Option<(Chain, String)>,
    /// The method's state after the run.
    pub state: After,
    /// The status line for a completed run, or the message of a failed one.
    pub outcome: Result<String, String>,
}

/// A method's state after its run.
#[derive(Debug)]
pub enum After {
    /// The genetic population: Start continues it.
    Genetic(Box<Population>),
    /// The climbing networks and the model they gave: Start continues them.
    Climb(Box<ClimbState>),
    /// Every epoch of the gradient run (it cannot be continued).
    Gradient(History),
}

/// The window's handle of a run in progress.
pub struct Run {
    cancel: CancelToken,
    /// The run's budget pauses at its next safe point when this is set.
    pause_token: CancelToken,
    pause: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    /// Whether the run is paused.
    pub paused: bool,
    /// Which trainer runs.
    pub method: Method,
    /// What the models of the run read.
    pub input: Input,
}

impl Run {
    /// A run of `method` whose models read `input`.
    pub(crate) fn new(method: Method, input: Input) -> Self {
        Self {
            cancel: CancelToken::new(),
            pause_token: CancelToken::new(),
            pause: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
            paused: false,
            method,
            input,
        }
    }

    /// Asks the worker to pause after the current generation.
    pub(crate) fn pause(&self) {
        self.pause.store(true, Ordering::SeqCst);
        self.pause_token.cancel();
    }

    /// Lets a paused worker go on.
    pub(crate) fn resume(&mut self) {
        self.pause.store(false, Ordering::SeqCst);
        self.paused = false;
    }

    /// Asks the worker to stop after the current generation (or mini-batch), paused or not.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.pause.store(false, Ordering::SeqCst);
        self.cancel.cancel();
    }
}

/// What a worker shares with its [`Run`] and the window: cancellation, the Pause and Stop
/// flags, and the channel.
pub(crate) struct Control {
    cancel: CancelToken,
    pause_token: CancelToken,
    pause: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    out: Outbox,
    last_snapshot: Mutex<Instant>,
}

impl Control {
    /// The worker's side of `run`.
    pub(crate) fn of(run: &Run, out: Outbox) -> Self {
        Self {
            cancel: run.cancel.clone(),
            pause_token: run.pause_token.clone(),
            pause: run.pause.clone(),
            stop: run.stop.clone(),
            out,
            last_snapshot: Mutex::new(Instant::now()),
        }
    }

    /// The token that Pause and Stop cancel.
    pub(crate) fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// The run loop of the generation-based methods (genetic, climbing): calls `step` — one
    /// call of the method's `train` under `settings`' stop rules, for a run that started at
    /// generation `first` — within one [`Budget`] of the library, so the time limit survives
    /// Pause. Pause stops the call at its next safe point; the worker then waits, and Resume
    /// calls `step` again, which goes on exactly where it stopped.
    pub(crate) fn run_pausable(
        &self,
        settings: &TrainingSettings,
        first: u64,
        test: &Split,
        mut step: impl FnMut(&TrainOptions) -> Result<TrainOutcome, String>,
    ) -> Result<TrainOutcome, String> {
        let options = settings
            .options(first, self.cancel.clone(), Some(test))
            .pause(self.pause_token.clone());
        let mut budget = Budget::new(options);
        loop {
            let o = budget.train(&mut step)?;
            if o.reason != StopReason::Paused {
                return Ok(o);
            }
            self.send(TrainReply::Paused);
            while self.pause.load(Ordering::SeqCst) && !self.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(TrainOutcome {
                    reason: StopReason::Cancelled,
                    ..o
                });
            }
        }
    }

    /// Sends a generation's record and, at most every [`SNAPSHOT_EVERY`], the model `model`
    /// gives (for the Draw panel).
    pub(crate) fn generation(&self, record: &Record, model: impl FnOnce() -> Chain) {
        self.send(TrainReply::Progress(Progress::Generation(record.clone())));
        let mut last = self
            .last_snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() >= SNAPSHOT_EVERY {
            *last = Instant::now();
            self.send(TrainReply::Snapshot(model()));
        }
    }

    /// Sends an epoch's record and the model exported after it.
    pub(crate) fn epoch(&self, record: &Record, model: Chain) {
        self.send(TrainReply::Progress(Progress::Epoch(record.clone())));
        self.send(TrainReply::Snapshot(model));
    }

    /// Sends the run's end.
    pub(crate) fn finish(&self, finished: Finished) {
        self.send(TrainReply::Finished(Box::new(finished)));
    }

    fn send(&self, reply: TrainReply) {
        self.out.send(Reply::Train(reply));
    }
}
