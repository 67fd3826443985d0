//! The Training panel: the method (genetic, gradient, or bit-flip climbing), its options,
//! Start / Pause / Resume / Stop, and live plots. The panel owns its state
//! ([`TrainingState`]); what it needs of the rest of the app comes in ([`StartWith`]) and
//! what it asks of it goes out as [`Effect`]s, which the app carries out.
//!
//! - [`settings`]: the persisted options and their mapping to the library's parameters;
//! - [`worker`]: the reply protocol, the run handle, and the worker's pausable loop;
//! - [`genetic`], [`climb`], [`gradient`]: each method's run (and climbing's and the gradient
//!   method's options);
//! - [`plots`]: the live plots and how they are set up;
//! - `panel`, `options`, `stop_rules`: the panel and its widgets.
//!
//! Every run goes the same way: Start checks the data, the model and the options and makes the
//! method's job (`prepare`), which one skeleton spawns ([`TrainingState::start`]); its end
//! comes back as one [`worker::Finished`], which one path takes in
//! ([`TrainingState::on_reply`]): the model, the method's state (the others' is dropped: it
//! describes a model the run replaced), the status line, and an evaluation.

pub mod climb;
pub mod genetic;
pub mod gradient;
mod options;
mod panel;
pub mod plots;
pub mod settings;
mod stop_rules;
pub mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::{Dataset, Split};
use bitsmnist_core::gradient::Input;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::layers::Chain;
use bitsmnist_core::run::{Detail, History};
use bitsmnist_core::search::Population;
use bitsmnist_core::training::TrainingState as SavedState;

use crate::worker::{Outbox, Reply, spawn_with};
use climb::ClimbState;
pub use genetic::is_gradient_trained;
pub use panel::ui;
pub use settings::{
    AdaptationKind, CrossoverKind, Method, MutationKind, SelectionKind, TrainingSettings,
};
use worker::{After, Control, Finished, Progress, Run, TrainReply};

/// What the panel asks of the app, in order.
#[must_use]
#[derive(Debug)]
pub enum Effect {
    /// Show this on the status line.
    Status(String),
    /// Show this error until dismissed.
    Error(String),
    /// Make this the app's model.
    SetModel {
        /// The model.
        chain: Chain,
        /// Where it came from.
        origin: String,
        /// What its first layer reads.
        input: Input,
    },
    /// Evaluate the model on the test split.
    Evaluate,
}

/// What Start needs from the rest of the app.
pub struct StartWith<'a> {
    /// The current model.
    pub model: Option<&'a Chain>,
    /// What the current model reads.
    pub input: Input,
    /// The task's data.
    pub data: Option<&'a Arc<Dataset>>,
    /// The sample the genetic fitness is measured on.
    pub sample: Option<&'a Arc<Split>>,
    /// The options.
    pub settings: &'a TrainingSettings,
    /// The Model panel's hidden widths (the gradient method's network).
    pub hidden: Result<Vec<usize>, String>,
}

/// How a run starts, which the status line tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// From the current model (or, for the gradient method, from the seed).
    Fresh,
    /// The genetic population starts from a gradient-trained model's weights.
    FineTune,
    /// The kept state goes on; `changed`: with its own options, not the panel's.
    Continue {
        /// Whether the panel's options differ from those the run started with.
        changed: bool,
    },
}

impl Start {
    fn status(self, method: Method) -> &'static str {
        match (method, self) {
            (Method::Genetic, Start::Continue { changed: true }) => {
                "continuing with the options the run started with"
            }
            (Method::Genetic, Start::FineTune) => {
                "fine-tuning: the population starts from the model's weights…"
            }
            (Method::Genetic, _) => "training…",
            (Method::Climb, Start::Continue { changed: true }) => {
                "continuing with the options the climb started with"
            }
            (Method::Climb, _) => "climbing…",
            (Method::Gradient, _) => "gradient training…",
        }
    }
}

/// A method's run, ready to spawn.
struct Prepared {
    /// The worker thread's name.
    thread: &'static str,
    /// What the run's models read.
    input: Input,
    /// How it starts.
    start: Start,
    /// The work, given the worker's side of the run.
    job: Box<dyn FnOnce(Control) + Send>,
}

/// A run in progress, the methods' states between runs, and the history (not persisted).
#[derive(Default)]
pub struct TrainingState {
    /// The run in progress.
    pub run: Option<Run>,
    /// The genetic population between runs (from the last run or an opened file): Start
    /// continues from it.
    pub set: Option<Population>,
    /// Every generation so far.
    pub history: History,
    /// Every epoch of the last gradient run.
    pub gradient_history: History,
    /// The climb between runs (from the last run or an opened file): Start continues it.
    pub climb: Option<ClimbState>,
    /// How the last run ended.
    pub last_outcome: Option<String>,
    /// Why the settings are invalid.
    pub params_error: Option<String>,
    /// Where the last generation-based run started and how long it has trained, for the
    /// progress toward its stop rule (kept after its end, so that it reads 1 then).
    pub clock: Option<RunClock>,
}

/// The start and the training time of a generation-based run (pauses excluded, as the time
/// limit counts).
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    /// Generations in the history when the run started.
    pub start_len: usize,
    /// Time trained before `since`.
    active: Duration,
    /// When the run last started or resumed (`None`: paused or ended).
    since: Option<Instant>,
}

impl RunClock {
    fn started(start_len: usize) -> Self {
        Self {
            start_len,
            active: Duration::ZERO,
            since: Some(Instant::now()),
        }
    }

    /// Time trained so far.
    pub fn elapsed(&self) -> Duration {
        self.active + self.since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    fn halt(&mut self) {
        self.active = self.elapsed();
        self.since = None;
    }
}

/// How far a run has come toward its stop rule.
#[derive(Clone, Debug, PartialEq)]
pub struct StopProgress {
    /// 0 at the start, 1 when the rule is met.
    pub fraction: f64,
    /// What it counts ("generation 12 of 20").
    pub text: String,
}

impl TrainingState {
    /// Whether a run is going (paused included).
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Forgets the training state and history (a new model was made).
    pub fn forget(&mut self) {
        self.set = None;
        self.history = History::default();
        self.gradient_history = History::default();
        self.climb = None;
        self.last_outcome = None;
    }

    /// Progress of the last run toward its end: for a generation-based run, the nearest of the
    /// stop rules `settings` turns on (time limit, generations, target fitness); for a
    /// gradient run, its epochs done of its epoch count (its only stop rule). `None` before
    /// any run, or with no rule on that can be foreseen (patience cannot).
    pub fn progress(&self, settings: &TrainingSettings) -> Option<StopProgress> {
        let Some(clock) = self.clock.as_ref() else {
            return self.epoch_progress(settings);
        };
        let mut best: Option<StopProgress> = None;
        let mut offer = |fraction: f64, text: String| {
            let fraction = if fraction.is_finite() {
                fraction.clamp(0.0, 1.0)
            } else {
                0.0
            };
            if best.as_ref().is_none_or(|b| fraction > b.fraction) {
                best = Some(StopProgress { fraction, text });
            }
        };
        if settings.use_generations {
            let done = self.history.len().saturating_sub(clock.start_len);
            let total = settings.generations.max(1);
            offer(
                done as f64 / total as f64,
                format!("generation {} of {total}", (done as u64).min(total)),
            );
        }
        if settings.use_time {
            let secs = clock.elapsed().as_secs_f64();
            let limit = settings.seconds.max(0.1);
            offer(
                secs / limit,
                format!("{:.0} s of {limit:.0} s", secs.min(limit)),
            );
        }
        if settings.use_target
            && settings.target > 0.0
            && let Some(r) = self.history.last()
        {
            offer(
                r.best / settings.target,
                format!("fitness {:.4} of {:.4}", r.best, settings.target),
            );
        }
        best
    }

    /// Epochs done of the gradient run going on, or of the last one (`clock` is `None` once a
    /// gradient run has started). The total is the run's own: that of its last record, or
    /// before the first epoch ends the settings', which are locked while it runs.
    fn epoch_progress(&self, settings: &TrainingSettings) -> Option<StopProgress> {
        let running = self
            .run
            .as_ref()
            .is_some_and(|r| r.method == Method::Gradient);
        let last = self.gradient_history.last();
        let (done, total) = match last.map(|r| (r.step, &r.detail)) {
            Some((step, Detail::Gradient { epochs, .. })) => (step, *epochs),
            _ if running => (0, u64::from(settings.gradient.epochs)),
            _ => return None,
        };
        let total = total.max(1);
        Some(StopProgress {
            fraction: (done as f64 / total as f64).clamp(0.0, 1.0),
            text: format!("epoch {} of {total}", done.min(total)),
        })
    }

    /// Generations per second of the last generation of the running run (0 when idle).
    pub fn generations_per_sec(&self) -> f64 {
        match (&self.run, self.history.last()) {
            (Some(r), Some(rec)) if !r.paused && r.method != Method::Gradient => rec.steps_per_sec,
            _ => 0.0,
        }
    }

    /// Starts (or continues) a run of `with.settings.method` on a worker thread that reports
    /// to `out`.
    pub fn start(&mut self, with: StartWith<'_>, out: Outbox) -> Vec<Effect> {
        if self.is_running() {
            return Vec::new();
        }
        let method = with.settings.method;
        let prepared = match method {
            Method::Genetic => genetic::prepare(self, &with),
            Method::Climb => climb::prepare(self, &with),
            Method::Gradient => gradient::prepare(self, &with),
        };
        let Prepared {
            thread,
            input,
            start,
            job,
        } = match prepared {
            Ok(p) => p,
            Err(e) => return vec![Effect::Error(e)],
        };
        let run = Run::new(method, input);
        let control = Control::of(&run, out.clone());
        self.run = Some(run);
        self.clock = (method != Method::Gradient).then(|| RunClock::started(self.history.len()));
        self.last_outcome = None;
        spawn_with(
            thread,
            move || job(control),
            move |msg| out.send(Reply::Train(TrainReply::Crashed(msg))),
        );
        vec![Effect::Status(start.status(method).into())]
    }

    /// Pauses the run after the current generation (the gradient method has no pause: a
    /// cancelled epoch cannot resume exactly).
    pub fn pause(&mut self) -> Vec<Effect> {
        match self.run.as_ref().filter(|r| r.method != Method::Gradient) {
            Some(r) => {
                r.pause();
                vec![Effect::Status("pausing after this generation…".into())]
            }
            None => Vec::new(),
        }
    }

    /// Resumes a paused run.
    pub fn resume(&mut self) -> Vec<Effect> {
        match &mut self.run {
            Some(r) => {
                r.resume();
                if let Some(c) = &mut self.clock {
                    c.since = Some(Instant::now());
                }
                vec![Effect::Status("resumed".into())]
            }
            None => Vec::new(),
        }
    }

    /// Stops the run; the model so far is kept.
    pub fn stop(&mut self) -> Vec<Effect> {
        match &self.run {
            Some(r) => {
                r.stop();
                vec![Effect::Status("stopping after this generation…".into())]
            }
            None => Vec::new(),
        }
    }

    /// Takes in news from the run.
    pub fn on_reply(&mut self, reply: TrainReply) -> Vec<Effect> {
        match reply {
            TrainReply::Progress(Progress::Generation(rec)) => {
                let status = format!("{rec}");
                self.history.records.push(rec);
                vec![Effect::Status(status)]
            }
            TrainReply::Progress(Progress::Epoch(rec)) => {
                let status = format!("{rec}");
                self.gradient_history.records.push(rec);
                vec![Effect::Status(status)]
            }
            TrainReply::Snapshot(chain) => {
                let Some(run) = &self.run else {
                    return Vec::new();
                };
                let origin = match (run.method, self.gradient_history.last()) {
                    (Method::Gradient, Some(r)) => {
                        format!("gradient training, epoch {}", r.step)
                    }
                    _ => {
                        let g = self.history.last().map_or(0, |r| r.step);
                        format!("training, generation {g}")
                    }
                };
                vec![Effect::SetModel {
                    chain,
                    origin,
                    input: run.input,
                }]
            }
            TrainReply::Paused => {
                if let Some(r) = &mut self.run {
                    r.paused = true;
                }
                if let Some(c) = &mut self.clock {
                    c.halt();
                }
                vec![Effect::Status("paused".into())]
            }
            TrainReply::Finished(f) => self.finish(*f),
            TrainReply::Crashed(e) => {
                self.run = None;
                vec![Effect::Error(format!("training crashed: {e}"))]
            }
        }
    }

    /// The end of a run, whichever the method: its model becomes the app's, its state replaces
    /// the others' (they describe the model it replaced), and the model is evaluated.
    fn finish(&mut self, finished: Finished) -> Vec<Effect> {
        let input = self.run.take().map_or(Input::Bits, |r| r.input);
        if let Some(c) = &mut self.clock {
            c.halt();
        }
        let Finished {
            model,
            state,
            outcome,
        } = finished;
        let mut effects = Vec::new();
        if let Some((chain, origin)) = model {
            self.set = None;
            self.climb = None;
            self.history = History::default();
            effects.push(Effect::SetModel {
                chain,
                origin,
                input,
            });
        }
        match state {
            After::Genetic(set) => {
                self.history = set.history().clone();
                self.set = Some(*set);
            }
            After::Climb(climb) => {
                self.history = climb.ensemble.members()[0].history().clone();
                self.climb = Some(*climb);
            }
            After::Gradient(history) => self.gradient_history = history,
        }
        match outcome {
            Ok(msg) => {
                self.last_outcome = Some(msg.clone());
                effects.push(Effect::Status(msg));
                effects.push(Effect::Evaluate);
            }
            Err(e) => effects.push(Effect::Error(e)),
        }
        effects
    }

    /// Takes in the training parts of an opened model file that holds `model`; true when it
    /// holds a climb, which Start then goes on with (as `bitsmnist train --resume`).
    pub fn opened(&mut self, file: &mut ModelFile) -> bool {
        let (state, history) = (file.state.take(), file.history.take());
        self.history = history
            .or_else(|| state.as_ref().map(|s| s.history().clone()))
            .unwrap_or_default();
        self.set = None;
        self.climb = None;
        self.gradient_history = History::default();
        match state {
            Some(SavedState::Population { set, .. }) => self.set = Some(set),
            Some(SavedState::Climb(c)) => {
                self.climb = Some(ClimbState::single(c, file.model.clone()));
            }
            Some(SavedState::Ensemble(e)) => {
                self.climb = Some(ClimbState {
                    ensemble: e,
                    model: file.model.clone(),
                });
            }
            Some(SavedState::Gradient(_)) => {
                // The app trains gradient runs from the start: their history is plotted.
                self.gradient_history = std::mem::take(&mut self.history);
            }
            _ => {}
        }
        self.last_outcome = None;
        self.climb.is_some()
    }

    /// `file` with the training state behind its model: the genetic population, the history,
    /// and a single network's climb (an ensemble's file holds its merged model only).
    pub fn attach(&self, mut file: ModelFile) -> ModelFile {
        let model = &file.model;
        let set = self.set.as_ref().filter(|s| s.chain() == model).cloned();
        let climb = self.climb.as_ref().filter(|c| c.is_state_of(model));
        let state: Option<SavedState> = match (set, climb) {
            (Some(set), _) => Some(set.into()),
            (None, Some(c)) => Some(match ClimbState::single_member(c) {
                Some(one) => one.clone().into(),
                None => c.ensemble.clone().into(),
            }),
            (None, None) => None,
        };
        if let Some(state) = state {
            file = file.with_state(state);
        }
        if !self.history.is_empty() {
            file = file.with_history(self.history.clone());
        }
        file
    }
}
