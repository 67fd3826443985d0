//! The Training panel: the method (genetic, gradient, or bit-flip climbing), its options,
//! Start / Pause / Resume / Stop, and live plots. The panel owns its state
//! ([`TrainingState`]); what it needs of the rest of the app comes in ([`StartWith`]) and
//! what it asks of it goes out as [`Effect`]s, which the app carries out.
//!
//! - [`settings`]: the persisted options and their mapping to the library's parameters;
//! - [`worker`]: the run handle, and the worker that runs the session (its replies are
//!   [`TrainReply`]s, of the app's [`crate::worker`]);
//! - [`climb`], [`gradient`]: climbing's and the gradient method's options;
//! - [`plots`]: the live plots and how they are set up;
//! - `panel`, `options`, `stop_rules`: the panel and its widgets.
//!
//! Every run of every method is one core [`Session`]: Start makes a [`RunPlan`] from the
//! panels' settings ([`plan`]) — a fresh network, a trained model fine-tuned, or a saved run
//! continued ([`Base`]) — and the worker starts and runs the session, sending each step's
//! record and now and then the model. Pause, Resume and Stop are the session's pause and
//! cancel tokens; its end hands the session back ([`Finished`]): its model becomes the
//! app's, its report the closing text, and its checkpoint what Save writes.

pub mod climb;
pub mod gradient;
mod options;
mod panel;
pub mod plots;
pub mod settings;
mod stop_rules;
pub mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::{Binarization, Dataset, Task};
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::layers::{Architecture, Chain, Layer};
use bitsmnist_core::run::{Detail, History};
use bitsmnist_core::runs::{RunId, RunStore};
use bitsmnist_core::session::{RunPlan, Session};
use bitsmnist_core::training::{MethodKind, TrainingState as SavedState};

use crate::model::ModelSettings;
use crate::worker::{Finished, Outbox, TrainReply};
pub use panel::ui;
pub use settings::{
    AdaptationKind, CrossoverKind, Method, MutationKind, SelectionKind, TrainingSettings,
};
use worker::{Recording, Run};

/// The program name the app's files carry in their metadata.
pub const PROGRAM: &str = "bitsmnist-gui";

/// What the panel asks of the app, in order.
#[must_use]
#[derive(Debug)]
pub enum Effect {
    /// Show this on the status line.
    Status(String),
    /// Show this error until dismissed.
    Error(String),
    /// Make this the app's model (what its first layer reads comes with it).
    SetModel {
        /// The model.
        chain: Chain,
        /// Where it came from.
        origin: String,
        /// The binarisation it was trained on.
        binarization: Option<Binarization>,
    },
    /// Evaluate the model on the test split.
    Evaluate,
    /// The run's checkpoint was written to this file.
    Saved(std::path::PathBuf),
}

/// What Start needs from the rest of the app.
pub struct StartWith<'a> {
    /// The current model.
    pub model: Option<&'a Chain>,
    /// The whole loaded data set (the session takes the task and the sample).
    pub data: Option<&'a Arc<Dataset>>,
    /// The task.
    pub task: Option<&'a Task>,
    /// The Data panel's sample fraction (the genetic fitness's).
    pub fraction: f64,
    /// The Training panel's options.
    pub settings: &'a TrainingSettings,
    /// The Model panel's options: the architecture and output of a fresh network.
    pub model_settings: &'a ModelSettings,
    /// The runs folder to record the run in (`None`: Record runs is off).
    pub record: Option<RunStore>,
}

/// Where a run starts from.
#[derive(Clone, Debug)]
pub enum Base {
    /// A fresh network of the Model panel's architecture, from the method's seed.
    Fresh,
    /// A trained or opened model, fine-tuned (a population or a single climb).
    FineTune(Chain),
    /// A saved run (the last run's checkpoint, or an opened file), continued with its own
    /// options where it stopped.
    Resume(Box<ModelFile>),
}

/// The method of the Training panel that trains a state of `kind`.
pub fn method_of(kind: MethodKind) -> Method {
    match kind {
        MethodKind::Population => Method::Genetic,
        MethodKind::Gradient => Method::Gradient,
        _ => Method::Climb,
    }
}

/// The run Start makes from the panels' settings, from `base`: the method and its options,
/// the Model panel's architecture and output (a fresh run of a gradient-free method; the
/// gradient method has its own convolutions and the Model panel's hidden widths), the
/// method's seed, the sample (`fraction` of the training split for the genetic fitness; the
/// whole split for the others), the stop rules and how often to test. A resumed run keeps its
/// own method, options, task and seed; the stop rules and the test rhythm are the panel's.
pub fn plan(
    settings: &TrainingSettings,
    model: &ModelSettings,
    task: &Task,
    fraction: f64,
    base: Base,
) -> Result<RunPlan, String> {
    let hidden = model.hidden_sizes();
    let plan = match base {
        Base::Resume(file) => RunPlan::resume(*file).map_err(|e| e.to_string())?,
        Base::FineTune(chain) => {
            let config = settings.config(settings.method, &hidden)?;
            RunPlan::fine_tune(task.clone(), config.kind(), chain)
                .config(config)
                .seed(settings.seed_of(settings.method))
        }
        Base::Fresh => {
            let method = settings.method;
            let config = settings.config(method, &hidden)?;
            let mut plan = RunPlan::for_method(task.clone(), config.kind()).config(config);
            if method != Method::Gradient {
                let architecture = Architecture {
                    features: model.feature_list()?,
                    hidden: hidden.map_err(|e| format!("hidden layers: {e}"))?,
                };
                plan = plan.architecture(architecture).output(model.bit_output());
            }
            if method == Method::Climb {
                plan = plan.own_features(settings.climb.own_features);
            }
            plan.seed(settings.seed_of(method))
        }
    };
    let method = method_of(plan.kind());
    let sample = if method == Method::Genetic {
        fraction
    } else {
        1.0
    };
    Ok(plan
        .sample(sample)
        .stop(settings.stop_rules())
        .validate_every(settings.validate_every(method)))
}

/// Whether `chain` has what only gradient training gives a bit layer: per-neuron thresholds or
/// output scales. Such a model is worth fine-tuning; a random population would discard it.
pub fn is_gradient_trained(chain: &Chain) -> bool {
    chain
        .layers()
        .iter()
        .filter_map(Layer::as_bit)
        .any(|l| l.thresholds().is_some() || l.affine().is_some())
}

/// A run in progress, the last run's session, an opened run, and the history shown (not
/// persisted).
#[derive(Default)]
pub struct TrainingState {
    /// The run in progress (its session is on the worker).
    pub run: Option<Run>,
    /// The last run's session, handed back when it stopped: its model is the app's, Save
    /// writes its checkpoint, and Start continues it (with the same method).
    pub session: Option<Box<Session>>,
    /// A model file with a training state, opened: Start continues it (with its method).
    pub opened: Option<Box<ModelFile>>,
    /// Every step so far of the run shown (generations, or epochs of a gradient run).
    pub history: History,
    /// How the last run ended: its report.
    pub last_outcome: Option<String>,
    /// Why the settings are invalid.
    pub params_error: Option<String>,
    /// Where the last generation-based run started and how long it has trained, for the
    /// progress toward its stop rule (kept after its end, so that it reads 1 then).
    pub clock: Option<RunClock>,
    /// The app's model is a trained or opened one rather than the Model panel's random one:
    /// Start fine-tunes it when there is no run of the method to continue.
    pub fine_tune: bool,
    /// The label the next run is recorded under (the Run label field).
    pub run_label: String,
    /// The runs folder's run that the run going on (or the last one, or the one opened from
    /// the Runs tab) records into: Start continues it in the same record.
    pub recording: Option<RunId>,
    /// The binarisation the run going on (or the last one) trains on.
    pub trained_on: Option<Binarization>,
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

    /// Forgets the training state and history (a new random model was made).
    pub fn forget(&mut self) {
        self.session = None;
        self.opened = None;
        self.history = History::default();
        self.last_outcome = None;
        self.fine_tune = false;
        self.recording = None;
    }

    /// The Data panel now trains on `task`: a kept run of another task is dropped (it would
    /// continue on its own task's data); its model stays, to fine-tune.
    pub fn task_changed(&mut self, task: &Task) {
        let other = |t: Option<&Task>| t.is_some_and(|t| t != task);
        if self
            .session
            .as_ref()
            .is_some_and(|s| other(s.meta().task.as_ref()))
        {
            self.session = None;
        }
        if self
            .opened
            .as_ref()
            .is_some_and(|f| other(f.meta.task.as_ref()))
        {
            self.opened = None;
        }
    }

    /// The training state behind the app's model between runs: the last run's, or an opened
    /// file's.
    pub fn saved_state(&self) -> Option<&SavedState> {
        match (&self.session, &self.opened) {
            (Some(s), _) => Some(s.state()),
            (None, Some(f)) => f.state.as_ref(),
            (None, None) => None,
        }
    }

    /// Whether Start with `method` continues a run (the last one, or an opened file's) rather
    /// than starting one: a state of that method that has something left to do.
    pub fn continues(&self, method: Method) -> bool {
        self.saved_state()
            .is_some_and(|s| method_of(s.kind()) == method && !is_done(s))
    }

    /// Where Start with `with` begins: the run to continue, else the trained model to
    /// fine-tune (not for the gradient method, which trains a fresh network), else a fresh
    /// network.
    pub fn base(&self, with: &StartWith<'_>) -> Base {
        let method = with.settings.method;
        if self.continues(method) {
            let file = match (&self.session, &self.opened) {
                (Some(s), _) => s.checkpoint(),
                (None, Some(f)) => (**f).clone(),
                (None, None) => unreachable!("a state to continue"),
            };
            return Base::Resume(Box::new(file));
        }
        match with.model {
            Some(m) if self.fine_tune && method != Method::Gradient => Base::FineTune(m.clone()),
            _ => Base::Fresh,
        }
    }

    /// Progress of the last run toward its end: for a generation-based run, the nearest of the
    /// stop rules `settings` turns on (time limit, generations, target fitness); for a
    /// gradient run, its epochs done of its epoch count (the stop rules may end it sooner,
    /// but only the epochs can be foreseen from its start). `None` before
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
        let last = self.history.last();
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
        let (Some(data), Some(task)) = (with.data, with.task) else {
            return vec![Effect::Error("load data before training".into())];
        };
        let method = with.settings.method;
        let base = self.base(&with);
        let continuing = matches!(base, Base::Resume(_));
        let (status, history) = match &base {
            Base::Fresh => ("training a new network…".to_string(), History::default()),
            Base::FineTune(_) => ("fine-tuning the model…".to_string(), History::default()),
            Base::Resume(f) => {
                let state = f.state.as_ref().expect("a state to continue");
                (
                    format!(
                        "continuing the run from step {} with its own options…",
                        state.step_number()
                    ),
                    state.history().clone(),
                )
            }
        };
        let plan = plan(
            with.settings,
            with.model_settings,
            task,
            with.fraction,
            base,
        )
        .and_then(|p| p.check().map(|()| p).map_err(|e| e.to_string()));
        let plan = match plan {
            Ok(p) => p,
            Err(e) => return vec![Effect::Error(format!("cannot start: {e}"))],
        };
        // Continuing a recorded run (the last run's, or one opened from the Runs tab) goes on
        // in the same record. A kept session holds that run's lock, so it goes before the new
        // one takes it.
        let record = with.record.map(
            |store| match self.recording.clone().filter(|_| continuing) {
                Some(id) => {
                    self.release_recorded(&id);
                    Recording::Continue { store, id }
                }
                None => Recording::New {
                    store,
                    label: self.run_label.trim().to_string(),
                },
            },
        );
        self.launch(method, plan, history, data, record, out);
        vec![Effect::Status(status)]
    }

    /// Continues the recorded run `plan` was made from ([`RunPlan::continue_recorded`]) on a
    /// worker thread, recording it into the same run `id` of `store`.
    pub fn continue_recorded(
        &mut self,
        plan: RunPlan,
        data: &Arc<Dataset>,
        store: RunStore,
        id: RunId,
        out: Outbox,
    ) -> Vec<Effect> {
        if self.is_running() {
            return Vec::new();
        }
        let method = method_of(plan.kind());
        let history = match &plan.start {
            bitsmnist_core::session::Start::Resume { state, .. } => state.history().clone(),
            _ => History::default(),
        };
        if let Err(e) = plan.check() {
            return vec![Effect::Error(format!("cannot continue run {id}: {e}"))];
        }
        let record = Recording::Continue {
            store,
            id: id.clone(),
        };
        self.launch(method, plan, history, data, Some(record), out);
        vec![Effect::Status(format!("continuing run {id}…"))]
    }

    fn launch(
        &mut self,
        method: Method,
        plan: RunPlan,
        history: History,
        data: &Arc<Dataset>,
        record: Option<Recording>,
        out: Outbox,
    ) {
        self.history = history;
        self.recording = None;
        // A plan that names a binarisation trains on it, else on the data as loaded.
        self.trained_on = Some(plan.binarization.unwrap_or(data.binarization));
        self.run = Some(worker::spawn(method, plan, data.clone(), record, out));
        self.clock = (method != Method::Gradient).then(|| RunClock::started(self.history.len()));
        self.last_outcome = None;
    }

    /// Lets go of the kept session if it records run `id` (it holds the run's lock, which
    /// relabelling or deleting the run needs): its checkpoint stays, as an opened file would,
    /// for Save and Continue.
    pub fn release_recorded(&mut self, id: &RunId) {
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.recording() == Some(id))
            && let Some(s) = self.session.take()
        {
            self.opened = Some(Box::new(s.checkpoint()));
        }
    }

    /// Pauses the run at its next safe point (after a generation, or a gradient epoch's
    /// mini-batch).
    pub fn pause(&mut self) -> Vec<Effect> {
        match &self.run {
            Some(r) => {
                r.pause();
                vec![Effect::Status("pausing…".into())]
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
                vec![Effect::Status("stopping…".into())]
            }
            None => Vec::new(),
        }
    }

    /// Takes in news from the run.
    pub fn on_reply(&mut self, reply: TrainReply) -> Vec<Effect> {
        match reply {
            TrainReply::Progress(rec) => {
                let status = format!("{rec}");
                self.history.records.push(rec);
                vec![Effect::Status(status)]
            }
            TrainReply::Snapshot(chain) => {
                if self.run.is_none() {
                    return Vec::new();
                }
                let origin = match self.history.last() {
                    Some(r) if matches!(r.detail, Detail::Gradient { .. }) => {
                        format!("gradient training, epoch {}", r.step)
                    }
                    r => format!("training, generation {}", r.map_or(0, |r| r.step)),
                };
                vec![Effect::SetModel {
                    chain,
                    origin,
                    binarization: self.trained_on,
                }]
            }
            TrainReply::Paused => {
                let Some(r) = &mut self.run else {
                    return Vec::new();
                };
                r.on_paused();
                if !r.paused {
                    return Vec::new();
                }
                if let Some(c) = &mut self.clock {
                    c.halt();
                }
                vec![Effect::Status("paused".into())]
            }
            TrainReply::Recorded(Ok(id)) => {
                self.recording = Some(id);
                Vec::new()
            }
            TrainReply::Recorded(Err(e)) => vec![Effect::Error(format!(
                "the run goes on unrecorded: {e} (turn off Record runs on the Runs tab to train without recording)"
            ))],
            TrainReply::Saved(Ok(path)) => vec![Effect::Saved(path)],
            TrainReply::Saved(Err(e)) => vec![Effect::Error(e)],
            TrainReply::Finished(f) => self.finish(*f),
            TrainReply::Crashed(e) => {
                self.run = None;
                if let Some(c) = &mut self.clock {
                    c.halt();
                }
                vec![Effect::Error(format!("training crashed: {e}"))]
            }
        }
    }

    /// The end of a run, whichever the method: the session is kept (Save writes it, Start
    /// continues it), its model becomes the app's, its report is shown, and the model is
    /// evaluated. A run that could not start leaves everything as it was.
    fn finish(&mut self, finished: Finished) -> Vec<Effect> {
        self.run = None;
        if let Some(c) = &mut self.clock {
            c.halt();
        }
        let Finished {
            session,
            result,
            error,
        } = finished;
        let Some(session) = session else {
            let e = error.unwrap_or_default();
            return vec![Effect::Error(format!("cannot start the run: {e}"))];
        };
        // The run's own clock decides: the app's started before the worker's session did and
        // stopped when the news arrived, so it may read a hair under a time limit the run met.
        if let Some(c) = &mut self.clock {
            c.active = c.active.max(session.progress().spent);
        }
        let mut effects = Vec::new();
        self.history = session.state().history().clone();
        let origin = origin(session.state());
        let binarization = session.meta().binarization;
        self.session = Some(session);
        self.opened = None;
        self.fine_tune = true;
        if let Some((chain, report)) = result {
            effects.push(Effect::SetModel {
                chain,
                origin,
                binarization,
            });
            let text = crate::widgets::displayable(&report.to_string());
            let first = text.lines().next().unwrap_or_default().to_string();
            self.last_outcome = Some(text);
            effects.push(Effect::Status(first));
        }
        match error {
            None => effects.push(Effect::Evaluate),
            Some(e) => effects.push(Effect::Error(format!("training failed: {e}"))),
        }
        effects
    }

    /// Takes in the training parts of an opened model file: its history, and its state, which
    /// Start then continues (as `bitsmnist train --resume`). Returns the method of the state.
    pub fn opened(&mut self, file: &ModelFile) -> Option<Method> {
        self.history = file
            .history
            .clone()
            .or_else(|| file.state.as_ref().map(|s| s.history().clone()))
            .unwrap_or_default();
        self.session = None;
        self.fine_tune = true;
        self.last_outcome = None;
        // A file's run is not the runs folder's (the Runs tab's Open says which it is).
        self.recording = None;
        self.opened = file.state.is_some().then(|| Box::new(file.clone()));
        file.state.as_ref().map(|s| method_of(s.kind()))
    }

    /// Asks the run going on to write its checkpoint to `path` (after the step under way, at
    /// once when paused); false when no run goes on.
    pub fn save_running(&self, path: &std::path::Path) -> bool {
        match &self.run {
            Some(r) => {
                r.save(path.to_path_buf());
                true
            }
            None => false,
        }
    }

    /// What Save writes for the app's `model` between runs: the last run's checkpoint (the
    /// model, the state, the history and the run's metadata: data set, task, binarisation,
    /// method, seed), or the opened file it came from; `None` when the model has no state
    /// behind it (or a run is going).
    pub fn checkpoint(&self, model: &Chain) -> Option<ModelFile> {
        if self.is_running() {
            return None;
        }
        let file = match (&self.session, &self.opened) {
            (Some(s), _) => s.checkpoint(),
            (None, Some(f)) => (**f).clone(),
            (None, None) => return None,
        };
        (file.model == *model).then(|| {
            let meta = file.meta.clone().with_program(PROGRAM);
            file.with_meta(meta)
        })
    }
}

/// Whether a state has nothing left to do (a gradient run that trained all its epochs).
fn is_done(state: &SavedState) -> bool {
    matches!(state, SavedState::Gradient(t) if t.is_finished())
}

/// Where the model of a run that ended came from, for the Model panel.
fn origin(state: &SavedState) -> String {
    let step = state.step_number();
    match state {
        SavedState::Population { .. } => format!("trained, generation {step}"),
        SavedState::Ensemble(e) => format!(
            "climbed, generation {step}, {} networks merged",
            e.members().len()
        ),
        SavedState::Gradient(_) => format!("gradient training, {step} epochs"),
        _ => format!("climbed, generation {step}"),
    }
}

#[cfg(test)]
mod tests {
    use bitsmnist_core::session::Start;

    use super::*;

    fn architecture(plan: &RunPlan) -> Architecture {
        match &plan.start {
            Start::Fresh { architecture, .. } => architecture.clone(),
            other => panic!("a fresh run, not {other:?}"),
        }
    }

    #[test]
    fn the_plan_takes_the_method_its_seed_the_architecture_the_sample_and_the_stop_rules() {
        let model = ModelSettings {
            hidden: "32".into(),
            ..ModelSettings::default()
        };
        let task = Task::zero_one();
        let mut s = TrainingSettings {
            method: Method::Climb,
            use_generations: true,
            generations: 9,
            use_time: false,
            validate_every: 4,
            ..TrainingSettings::default()
        };
        s.climb.seed = 7;
        s.climb.members = 3;
        let p = plan(&s, &model, &task, 0.3, Base::Fresh).unwrap();
        assert_eq!(p.kind(), MethodKind::Ensemble);
        assert_eq!((p.seed, p.sample, p.validate_every), (7, 1.0, 4));
        assert_eq!((p.stop.steps, p.stop.time_limit), (Some(9), None));
        assert_eq!(architecture(&p), Architecture::dense(vec![32]));

        // The genetic fitness is measured on the Data panel's sample.
        s.method = Method::Genetic;
        s.seed = 5;
        let p = plan(&s, &model, &task, 0.3, Base::Fresh).unwrap();
        assert_eq!(p.kind(), MethodKind::Population);
        assert_eq!((p.seed, p.sample), (5, 0.3));

        // The gradient method: its own convolutions, the Model panel's widths, its test rhythm.
        s.method = Method::Gradient;
        s.gradient.features = "conv8x3,pool2".into();
        s.gradient.seed = 11;
        let p = plan(&s, &model, &task, 0.3, Base::Fresh).unwrap();
        assert_eq!(p.kind(), MethodKind::Gradient);
        assert_eq!((p.seed, p.validate_every), (11, 1));
        assert_eq!(architecture(&p).to_string(), "conv8x3,pool2,32");

        // Settings out of range are refused before anything runs.
        s.method = Method::Genetic;
        s.elitism = s.population;
        let e = plan(&s, &model, &task, 0.3, Base::Fresh).unwrap_err();
        assert!(e.starts_with("trainer options"), "{e}");
    }

    #[test]
    fn a_kept_run_of_another_task_is_dropped_when_the_task_changes() {
        use bitsmnist_core::io::Metadata;

        let chain = Chain::mlp(784, &[8], 2, bitsmnist_core::layers::BitOutput::Bits, 1).unwrap();
        let file = ModelFile::new(chain).with_meta(Metadata::now().with_task(&Task::zero_one()));
        let mut state = TrainingState {
            opened: Some(Box::new(file)),
            ..TrainingState::default()
        };
        state.task_changed(&Task::zero_one());
        assert!(state.opened.is_some());
        state.task_changed(&Task::digits());
        assert!(state.opened.is_none());
    }
}
