//! One run, the same for every front end: a checked [`RunPlan`] becomes a [`Session`] on a
//! data set, which owns the training state, the stop rules kept over pauses ([`Budget`]), the
//! cancel and pause tokens and the metadata; it runs, checkpoints, and ends in a
//! [`RunReport`]. The command line, the app and notebooks only show what it does.
//!
//! ```
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::session::{RunPlan, Session};
//!
//! let plan = RunPlan::for_task(Task::zero_one()).generations(20);
//! let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
//! let outcome = session.run(|_| std::ops::ControlFlow::Continue(())).unwrap();
//! assert_eq!(outcome.reason, StopReason::Steps);
//! let report = session.report();
//! assert_eq!(report.method, "population");
//! assert!(report.test.accuracy > 0.9);
//! // The checkpoint holds the state: it resumes anywhere.
//! let file = session.checkpoint();
//! let again = RunPlan::resume(file).unwrap().generations(5);
//! let mut resumed = Session::start(again, &Dataset::embedded()).unwrap();
//! assert_eq!(resumed.progress().step, 20);
//! ```

mod plan;
mod report;
mod sweep;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use plan::{DEFAULT_SEED, PlanError, RunPlan, Start};
pub use report::{MethodStats, RunReport, SplitReport};
pub use sweep::{PointOutcome, SweepRun, run_sweep};

use crate::datasets::{Augment, Dataset, Split, Task, TaskError};
use crate::io::{Metadata, ModelFile, ModelFileError, RunInfo};
use crate::layers::{Architecture, Chain, FeatureError, Shape};
use crate::memory::{self, MemoryError};
use crate::run::{Budget, CancelToken, Record, StopReason, TrainOutcome};
use crate::runs::{Recorder, RunId, RunResult, RunState, RunStore, RunStoreError, RunSummary};
use crate::search::ClimbEnsemble;
use crate::search::imprint::{ImprintError, imprint_until};
use crate::training::{StateProgress, StateRef, TrainConfig, TrainingError, TrainingState};

/// Why a session could not start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The plan cannot run.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The task's classes are not in the data set.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The feature layers do not fit the images.
    #[error("architecture: {0}")]
    Features(#[from] FeatureError),
    /// Imprinting the feature layers failed.
    #[error("architecture: {0}")]
    Imprint(#[from] ImprintError),
    /// The run would need more memory than the limit.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// The method refused.
    #[error(transparent)]
    Training(#[from] TrainingError),
    /// The run could not be recorded in its runs folder.
    #[error("recording the run: {0}")]
    Record(RunStoreError),
    /// The model does not fit the data set and task.
    #[error(
        "the model takes {inputs} inputs and gives {outputs} outputs; {dataset} with task {task} needs {needs_inputs} and {needs_outputs}"
    )]
    Shape {
        /// The model's input width.
        inputs: usize,
        /// The model's classes.
        outputs: usize,
        /// The data set.
        dataset: String,
        /// The task.
        task: Task,
        /// The data's input width.
        needs_inputs: usize,
        /// The task's classes.
        needs_outputs: usize,
    },
    /// The task leaves a split without examples (a training run needs both: its report
    /// measures the test split).
    #[error("{dataset} has no {split} examples of task {task}")]
    NoExamples {
        /// The data set.
        dataset: String,
        /// The task.
        task: Task,
        /// `training` or `test`.
        split: &'static str,
    },
    /// The plan asks for a binarisation the data cannot give: they have no grey levels.
    #[error("{dataset} has no grey levels to binarise with {binarization}")]
    Binarization {
        /// The data set.
        dataset: String,
        /// The plan's binarisation.
        binarization: crate::datasets::Binarization,
    },
    /// The plan's augmentation does not fit the images.
    #[error(transparent)]
    Augment(#[from] crate::datasets::AugmentError),
    /// The cancel token or the time limit of the plan's stop rules ended the run while it
    /// was being made, before its first step (the data set's task selected, the features
    /// of a fresh run being imprinted): there is no state to keep or save.
    #[error("{reason} while making the run, before its first step; nothing trained")]
    Stopped {
        /// [`StopReason::Cancelled`] or [`StopReason::TimeLimit`].
        reason: StopReason,
    },
    /// Writing a checkpoint failed (the run stopped at it).
    #[error("writing the checkpoint {}: {error}", path.display())]
    Checkpoint {
        /// Where.
        path: PathBuf,
        /// Why.
        error: ModelFileError,
    },
}

impl SessionError {
    /// Whether the error refuses what was asked (settings, shapes, a model that does not fit
    /// the data, more memory than there is) rather than reports work that failed (a
    /// checkpoint that could not be written).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Checkpoint { .. } | Self::Stopped { .. })
    }

    /// The memory refusal inside this error, if it is one.
    pub fn memory(&self) -> Option<&MemoryError> {
        match self {
            Self::Memory(m) => Some(m),
            Self::Training(t) => t.memory(),
            _ => None,
        }
    }
}

/// How the session's run began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Origin {
    /// A fresh network.
    Fresh,
    /// A trained model, fine-tuned.
    FineTuned,
    /// A saved run, continued.
    Resumed,
    /// A saved run, only evaluated ([`RunReport::of_file`]).
    File,
}

/// Where a session stands.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SessionProgress {
    /// The step reached (generation, or epochs completed), over every session of the run.
    pub step: u64,
    /// Steps run in this session.
    pub steps: u64,
    /// Time trained in this session.
    pub spent: Duration,
    /// How much of the stop rule's budget is used, 0 to 1 (the larger of the step and time
    /// shares; `None` with neither limit).
    pub fraction: Option<f64>,
    /// Why the last call stopped (`None` before the first).
    pub reason: Option<StopReason>,
}

/// What the observer of [`Session::run`] sees after each step.
pub struct SessionStep<'a> {
    /// The state and this step's record.
    pub progress: &'a StateProgress<'a>,
    meta: &'a Metadata,
    train: &'a Split,
}

impl SessionStep<'_> {
    /// The step's record.
    pub fn record(&self) -> &Record {
        self.progress.record
    }

    /// The state as it is now.
    pub fn state(&self) -> StateRef<'_> {
        self.progress.state
    }

    /// The whole run as it is now, as a model file (what [`Session::checkpoint`] gives).
    pub fn checkpoint(&self) -> ModelFile {
        ModelFile::from_state(&self.progress.state.to_state(), self.train)
            .with_meta(self.meta.clone())
    }
}

/// One run: the state of any method on its data, the stop rules kept over pauses, the tokens
/// that pause and cancel it, and the metadata every saved file carries. Made by
/// [`start`](Self::start) from a [`RunPlan`]; [`run`](Self::run) may be called again after a
/// pause.
pub struct Session {
    state: TrainingState,
    data: Arc<Dataset>,
    /// The plan's augmented copies of the training split with it, when it has some: what the
    /// method trains on instead of the data's own split ([`train`](Self::train)).
    augmented: Option<Arc<Split>>,
    budget: Budget,
    cancel: CancelToken,
    meta: Metadata,
    origin: Origin,
    start_step: u64,
    seed: Option<u64>,
    trials_at_start: u64,
    checkpoints: Option<(PathBuf, u64)>,
    last: Option<TrainOutcome>,
    /// The runs folder this run records itself into ([`record`](Self::record)).
    recorder: Option<Recorder>,
    /// Why the recording ended early.
    record_error: Option<RunStoreError>,
    /// The last report and the step it describes: recording a finished run and its front end
    /// both ask for it, and it evaluates every example.
    report: std::sync::Mutex<Option<(u64, RunReport)>>,
}

impl Session {
    /// Starts the run `plan` describes on `data` (the whole data set: the session selects
    /// the plan's task and sample): checks the plan, the memory the run needs and that the
    /// model fits the data, then makes the state (imprinting the feature layers of a fresh
    /// gradient-free run).
    ///
    /// The run's clock starts here: the time imprinting takes counts against the plan's
    /// time limit and is part of the reported time. A cancel token in the plan's stop rules
    /// (`plan.stop.cancel`) becomes the session's ([`cancel_token`](Self::cancel_token)), so
    /// that a front end can stop the start too; imprinting stops at its stop points when it
    /// is cancelled or the time limit runs out ([`SessionError::Stopped`]).
    pub fn start(plan: RunPlan, data: &Dataset) -> Result<Self, SessionError> {
        let started = Instant::now();
        plan.check()?;
        let cancel = plan.stop.cancel.clone().unwrap_or_default();
        let deadline = plan.stop.time_limit.and_then(|t| started.checked_add(t));
        let should_stop = || cancel.is_cancelled() || deadline.is_some_and(|d| Instant::now() >= d);
        let stopped = || SessionError::Stopped {
            reason: if cancel.is_cancelled() {
                StopReason::Cancelled
            } else {
                StopReason::TimeLimit
            },
        };
        // The whole set's sizes: the caller's copy stays alive beside the task's selection.
        let images = data.train.len().saturating_add(data.test.len());
        let mut data = data.for_task(&plan.task)?;
        if let Some(b) = plan.binarization
            && b != data.binarization
        {
            data = data
                .rebinarized(b)
                .ok_or_else(|| SessionError::Binarization {
                    dataset: data.name.clone(),
                    binarization: b,
                })?;
        }
        if plan.sample < 1.0 {
            data.train = data.train.sample(plan.sample, data.classes());
        }
        for (split, empty) in [
            ("training", data.train.is_empty()),
            ("test", data.test.is_empty()),
        ] {
            if empty {
                return Err(SessionError::NoExamples {
                    dataset: data.name.clone(),
                    task: plan.task.clone(),
                    split,
                });
            }
        }
        let (input, classes) = (Shape::input_of(&data), data.classes());
        let inputs = input.bits();
        // The whole estimate of a fresh run (imprinting, networks, per-example state) in one
        // figure, before any of it is made; imprinted features that do not fit are refused
        // first, by name.
        if let Start::Fresh {
            config,
            architecture,
            ..
        } = &plan.start
            && !matches!(config, TrainConfig::Gradient(_))
        {
            architecture.shapes(input)?;
        }
        // The data set counts for every run, resumed and fine-tuned ones too.
        let bytes = plan.memory_with_data(input, classes, data.train.len(), images);
        memory::check_current(bytes)?;
        // Without copies the method trains on the data's own split, not a copy of it.
        let augmented = match plan.augment {
            Augment::None => None,
            a => Some(Arc::new(a.apply(&data.train)?)),
        };
        let kind = plan.kind();
        let network_seed = plan.network_seed();
        let config = plan.seeded_config();
        let own_features = plan.imprints_own_features();
        let RunPlan {
            task,
            start,
            mut stop,
            validate_every,
            seed,
            member,
            sample,
            augment,
            ..
        } = plan;
        let (state, origin, run_seed, meta) = match start {
            Start::Fresh {
                architecture,
                output,
                imprint: how,
                ..
            } => {
                let config = config.expect("a fresh run has a configuration");
                let features = if own_features {
                    Features::Own
                } else {
                    Features::Shared { run_seed: seed }
                };
                let state = fresh(
                    &config,
                    &architecture,
                    output,
                    how,
                    features,
                    input,
                    &data.train,
                    classes,
                    network_seed,
                    &should_stop,
                )
                .map_err(|e| match e {
                    SessionError::Imprint(ImprintError::Stopped) => stopped(),
                    e => e,
                })?;
                (state, Origin::Fresh, Some(seed), None)
            }
            Start::FineTune { model, .. } => {
                let config = config.expect("a fine-tuning run has a configuration");
                (
                    config.fine_tune(model)?,
                    Origin::FineTuned,
                    Some(seed),
                    None,
                )
            }
            Start::Resume { state, meta } => {
                let seed = meta.run.as_ref().and_then(|r| r.seed);
                (state, Origin::Resumed, seed, Some(meta))
            }
        };
        let (model_inputs, outputs) = state.shape();
        if (model_inputs, outputs) != (inputs, classes) {
            return Err(SessionError::Shape {
                inputs: model_inputs,
                outputs,
                dataset: data.name.clone(),
                task,
                needs_inputs: inputs,
                needs_outputs: classes,
            });
        }
        stop = stop.cancel(cancel.clone());
        stop.pause = None;
        if validate_every > 0 {
            stop = stop.validate_on_shared(Arc::new(data.test.clone()), validate_every);
        }
        let member = member.or(meta.as_ref().and_then(|m| m.run.as_ref()?.member));
        let meta = Metadata::now()
            .with_dataset(&data)
            .with_task(&task)
            .with_run(
                RunInfo::new(kind, run_seed)
                    .with_member(member)
                    .with_sample(sample)
                    .with_augment(augment)
                    .with_own_features(own_features),
            );
        let trials_at_start = trials(&state.as_ref());
        let mut budget = Budget::new(stop);
        budget.spend_time(started.elapsed());
        Ok(Self {
            start_step: state.step_number(),
            state,
            data: Arc::new(data),
            augmented,
            budget,
            cancel,
            meta,
            origin,
            seed: run_seed,
            trials_at_start,
            checkpoints: None,
            last: None,
            recorder: None,
            record_error: None,
            report: Default::default(),
        })
    }

    /// Saves the run to `path` every `every` steps while it runs (a failed write stops the
    /// run with [`SessionError::Checkpoint`]).
    pub fn checkpoint_every(&mut self, path: impl Into<PathBuf>, every: u64) {
        self.checkpoints = Some((path.into(), every.max(1)));
    }

    /// Trains until a stop rule, the cancel token, the pause token or `observer` stops it;
    /// called again after a pause, it goes on with what is left of the stop rules.
    pub fn run<F>(&mut self, mut observer: F) -> Result<TrainOutcome, SessionError>
    where
        F: FnMut(&SessionStep<'_>) -> ControlFlow<()>,
    {
        let Self {
            state,
            data,
            augmented,
            budget,
            meta,
            checkpoints,
            recorder,
            ..
        } = self;
        if let Some(r) = recorder.as_mut() {
            r.summary.state = RunState::Running;
        }
        let mut failed = None;
        let mut record_failed = None;
        let train = augmented.as_deref().unwrap_or(&data.train);
        let outcome = budget.train(|options| {
            state.train(train, options, |p| {
                let step = SessionStep {
                    progress: p,
                    meta,
                    train,
                };
                if let Some((path, every)) = checkpoints.as_ref()
                    && p.record.step.is_multiple_of(*every)
                    && let Err(error) = step.checkpoint().save(path)
                {
                    failed = Some(SessionError::Checkpoint {
                        path: path.clone(),
                        error,
                    });
                    return ControlFlow::Break(());
                }
                if let Some(r) = recorder.as_mut() {
                    r.summary.step = p.record.step;
                    r.summary.seconds = p.record.elapsed_secs;
                    r.summary.objective = Some(p.record.best);
                    if let Some(v) = p.record.validation_accuracy {
                        r.summary.last_test_accuracy = Some(v);
                    }
                    if record_failed.is_none()
                        && r.due()
                        && let Err(e) = r.write(&step.checkpoint().with_meta(meta.clone()))
                    {
                        record_failed = Some(e);
                    }
                }
                observer(&step)
            })
        });
        // The recording ends in the state the run is in, even when training failed. A
        // recording that fails (a full disk, its folder removed) ends, not the run.
        if let Ok(o) = &outcome {
            self.last = Some(o.clone());
        }
        let recorded = match record_failed {
            Some(e) => Err(e),
            None => self.write_record(outcome.as_ref().ok()),
        };
        if let Err(e) = recorded {
            self.recorder = None;
            self.record_error = Some(e);
        }
        let outcome = outcome?;
        if let Some(e) = failed {
            return Err(e);
        }
        self.last = Some(outcome.clone());
        Ok(outcome)
    }

    /// Why the recording of this run ended before the run did, if it did: writing its
    /// checkpoint or summary failed (the run went on unrecorded).
    pub fn record_error(&self) -> Option<&RunStoreError> {
        self.record_error.as_ref()
    }

    /// Records this run into the runs folder `store` as it goes, under a new id, with the
    /// user's `label` and `tags`: its checkpoint and summary are written now, every
    /// [`RECORD_EVERY`](crate::runs::RECORD_EVERY) of training and when [`run`](Self::run) returns (see
    /// [`runs`](crate::runs)). The run's folder stays locked while the session lives.
    pub fn record(
        &mut self,
        store: &RunStore,
        label: &str,
        tags: &[String],
    ) -> Result<RunId, RunStoreError> {
        let model = self.state.current_model();
        let now = crate::runs::unix_now();
        let recorder = Recorder::begin(store, |id| RunSummary {
            id,
            label: label.to_string(),
            tags: tags.to_vec(),
            program: self.meta.program.clone().unwrap_or_default(),
            started_unix: now,
            updated_unix: now,
            state: RunState::Running,
            method: self.state.kind().method_name().to_string(),
            architecture: crate::layers::Architecture::of(&model).to_string(),
            task: self
                .meta
                .task
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            dataset: self.data.name.clone(),
            seed: self.seed,
            settings: settings_of(&self.state, &self.budget),
            step: self.state.step_number(),
            planned_steps: self.budget.limits().steps.map(|n| self.start_step + n),
            seconds: self.budget.spent().as_secs_f64(),
            objective: None,
            last_test_accuracy: None,
            result: None,
        })?;
        self.start_recording(recorder)
    }

    /// Records this run into the existing run `id` of `store`: the run this session
    /// continues (started from [`RunStore::load`]`(id)`), its label, tags and start time kept.
    /// Refused while another process writes that run.
    pub fn record_continuing(
        &mut self,
        store: &RunStore,
        id: &RunId,
    ) -> Result<RunId, RunStoreError> {
        let mut recorder = Recorder::resume(store, id)?;
        recorder.summary.state = RunState::Running;
        recorder.summary.result = None;
        recorder.summary.planned_steps = self.budget.limits().steps.map(|n| self.start_step + n);
        self.start_recording(recorder)
    }

    /// Rewrites the recorded checkpoint after every step once `every` has passed since the
    /// last write, instead of [`RECORD_EVERY`](crate::runs::RECORD_EVERY) (`Duration::ZERO`:
    /// after every step).
    pub fn record_every(&mut self, every: Duration) {
        if let Some(r) = self.recorder.as_mut() {
            r.every = every;
        }
    }

    /// Ends the recording: the run's record stays as last written (continuable when it was
    /// not finished), and its lock is released, so that the record may be relabelled,
    /// deleted or continued elsewhere while this session lives.
    pub fn stop_recording(&mut self) {
        self.recorder = None;
    }

    /// The id of the run this session records, if it records itself.
    pub fn recording(&self) -> Option<&RunId> {
        self.recorder.as_ref().map(Recorder::id)
    }

    fn start_recording(&mut self, mut recorder: Recorder) -> Result<RunId, RunStoreError> {
        recorder.write(&self.checkpoint())?;
        let id = recorder.id().clone();
        self.recorder = Some(recorder);
        Ok(id)
    }

    /// Writes the recording's checkpoint and summary as the run stands after `outcome`.
    fn write_record(&mut self, outcome: Option<&TrainOutcome>) -> Result<(), RunStoreError> {
        if self.recorder.is_none() {
            return Ok(());
        }
        // Met stop rules only: a run cancelled or stopped by its front end may be continued.
        let stopped_early = matches!(
            outcome.map(|o| o.reason),
            Some(StopReason::Cancelled | StopReason::Callback | StopReason::Paused)
        );
        let finished = self.is_finished() && !stopped_early;
        let result = finished.then(|| {
            let report = self.report();
            RunResult {
                stop: report.stop,
                train_accuracy: report.train.accuracy,
                test_accuracy: report.test.accuracy,
                model_bytes: report.bytes,
                fingerprint: report.fingerprint,
            }
        });
        let file = self.checkpoint();
        let progress = self.progress();
        let r = self.recorder.as_mut().expect("checked above");
        r.summary.state = match outcome.map(|o| o.reason) {
            _ if finished => RunState::Finished,
            Some(StopReason::Paused) => RunState::Paused,
            _ => RunState::Stopped,
        };
        r.summary.result = result;
        r.summary.step = progress.step;
        r.summary.seconds = progress.spent.as_secs_f64();
        r.write(&file)
    }

    /// Setting this token pauses the run at its next stop point ([`StopReason::Paused`]);
    /// [`run`](Self::run) goes on.
    pub fn pause_token(&self) -> CancelToken {
        self.budget.pause_token()
    }

    /// Setting this token ends the run at its next stop point ([`StopReason::Cancelled`]).
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Where the run stands.
    pub fn progress(&self) -> SessionProgress {
        let options = self.budget.limits();
        let steps = options
            .steps
            .map(|n| self.budget.steps() as f64 / n.max(1) as f64);
        let time = options
            .time_limit
            .map(|t| self.budget.spent().as_secs_f64() / t.as_secs_f64().max(1e-9));
        let fraction = match (steps, time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
        .map(|f| f.clamp(0.0, 1.0));
        SessionProgress {
            step: self.state.step_number(),
            steps: self.budget.steps(),
            spent: self.budget.spent(),
            fraction,
            reason: self.last.as_ref().map(|o| o.reason),
        }
    }

    /// Whether the run is over (not paused, and no budget left).
    pub fn is_finished(&self) -> bool {
        self.budget.is_spent()
    }

    /// The state.
    pub fn state(&self) -> &TrainingState {
        &self.state
    }

    /// The training split the method trains on: the data's, or the plan's augmented copies
    /// of it with it.
    pub fn train(&self) -> &Split {
        self.augmented.as_deref().unwrap_or(&self.data.train)
    }

    /// The data the run trains and is tested on (the task's, sampled).
    pub fn data(&self) -> &Arc<Dataset> {
        &self.data
    }

    /// The metadata every file of this run carries.
    pub fn meta(&self) -> &Metadata {
        &self.meta
    }

    /// Names the program that runs this session and adds notes (the command line records
    /// its command): every file and record of the run carries them from then on. The run's
    /// own fields (data set, task, method, seed) are kept whatever `f` does to them.
    pub fn annotate(&mut self, f: impl FnOnce(Metadata) -> Metadata) {
        let own = self.meta.clone();
        let mut meta = f(self.meta.clone());
        meta.dataset = own.dataset;
        meta.source = own.source;
        meta.binarization = own.binarization;
        meta.task = own.task;
        meta.class_names = own.class_names;
        meta.run = own.run;
        self.meta = meta;
    }

    /// How the run began.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The step the run began this session at (0 but for a resumed run).
    pub fn start_step(&self) -> u64 {
        self.start_step
    }

    /// The model to keep ([`TrainingState::model`]).
    pub fn model(&self) -> Chain {
        self.state.model(self.train())
    }

    /// The whole run as a model file: the model to keep, the state, the history and the
    /// metadata (data set, task, binarisation, method, seed, membership).
    pub fn checkpoint(&self) -> ModelFile {
        ModelFile::from_state(&self.state, self.train()).with_meta(self.meta.clone())
    }

    /// Writes [`checkpoint`](Self::checkpoint) to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        self.checkpoint().save(path)
    }

    /// The run's report: method, architecture, stop reason, steps, time, rates, the model's
    /// accuracy on the training and test splits, and the method's own figures.
    pub fn report(&self) -> RunReport {
        let step = self.state.step_number();
        let mut cached = self.report.lock().unwrap_or_else(|e| e.into_inner());
        match cached.as_ref() {
            Some((at, r)) if *at == step => r.clone(),
            _ => {
                let r = report::build(self);
                *cached = Some((step, r.clone()));
                r
            }
        }
    }

    /// The architecture of the model being trained ([`Architecture::of`] its current model).
    pub fn architecture(&self) -> Architecture {
        Architecture::of(&self.state.current_model())
    }
}

/// A fresh state (its memory already checked by [`Session::start`]): the imprinted features
/// of a gradient-free run (stopped when `stop` says so), then the networks.
#[allow(clippy::too_many_arguments)]
fn fresh(
    config: &TrainConfig,
    architecture: &Architecture,
    output: crate::layers::BitOutput,
    imprint_params: crate::search::imprint::ImprintParams,
    features: Features,
    input: Shape,
    train: &Split,
    classes: usize,
    seed: u64,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<TrainingState, SessionError> {
    if matches!(config, TrainConfig::Gradient(_)) || architecture.features.is_empty() {
        return Ok(config.fresh_on(input, &architecture.hidden, classes, output, seed)?);
    }
    let hidden = &architecture.hidden;
    if let Features::Shared { run_seed } = features {
        let how = imprint_params.seed(run_seed);
        let front = imprint_until(train, &architecture.features, &how, stop)?;
        return Ok(config.fresh_after(&front, hidden, classes, output, seed)?);
    }
    // Network `m` imprints from its own seed on its own half of the examples, as member `m`
    // trained alone does, so that the two make the same network. Only climbs have networks
    // of their own to give filters to (`RunPlan::imprints_own_features`).
    let TrainConfig::Climb { members, .. } = config else {
        return Err(TrainingError::OwnFeatures.into());
    };
    let fronts = (0..*members as u64)
        .map(|m| {
            let seed = ClimbEnsemble::member_seed(seed, m);
            let half = train.sample_shuffled(0.5, classes, seed);
            let how = imprint_params.seed(seed);
            imprint_until(&half, &architecture.features, &how, stop)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(config.fresh_after_each(&fronts, hidden, classes, output, seed)?)
}

/// Whose seed a fresh run's imprinted feature layers come from.
#[derive(Clone, Copy, Debug)]
enum Features {
    /// One set for every network, from the run's seed (members trained apart share it).
    Shared { run_seed: u64 },
    /// A set of each climbing network's own, from its network seed, on its own half of the
    /// examples ([`RunPlan::own_features`]).
    Own,
}

/// Flip trials so far (0 for the methods that do not climb).
fn trials(state: &StateRef<'_>) -> u64 {
    match state {
        StateRef::Climb(c) => c.trials(),
        StateRef::Ensemble(e) => e.trials(),
        _ => 0,
    }
}

/// The method's settings and the stop rules as (name, value) pairs, in a fixed order: what a
/// comparison of two recorded runs diffs ([`crate::runs::settings_diff`]).
fn settings_of(state: &TrainingState, budget: &Budget) -> Vec<(String, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    match state {
        TrainingState::Population { set, metric } => {
            let p = set.params();
            out.extend([
                ("population", p.population.to_string()),
                ("elitism", p.elitism.to_string()),
                ("selection", p.selection.to_string()),
                ("crossover", p.crossover.to_string()),
                ("mutation", p.mutation.to_string()),
                ("adaptation", p.adaptation.to_string()),
                (
                    "evaluations per candidate",
                    p.evals_per_candidate.to_string(),
                ),
                (
                    "batch",
                    p.batch_size.map_or("full".into(), |b| b.to_string()),
                ),
                ("fitness", metric.name().to_string()),
            ]);
        }
        TrainingState::Climb(_) | TrainingState::Ensemble(_) => {
            let (p, members) = match state {
                TrainingState::Climb(c) => (c.params(), 1),
                TrainingState::Ensemble(e) => (e.members()[0].params(), e.members().len()),
                _ => unreachable!("matched above"),
            };
            out.extend([
                ("networks", members.to_string()),
                (
                    "batch",
                    p.batch_size.map_or("all".into(), |b| b.to_string()),
                ),
                ("new batch every", p.rebatch_every.to_string()),
                ("trials per generation", p.trials_per_generation.to_string()),
                (
                    "objective: correct weight",
                    p.objective.correct_weight.to_string(),
                ),
                ("objective: margin cap", p.objective.margin_cap.to_string()),
                ("output share", p.output_share.to_string()),
                ("accept ties", p.accept_ties.to_string()),
                ("rescore every", p.rescore_every.to_string()),
            ]);
        }
        TrainingState::Gradient(t) => {
            let p = t.params();
            out.extend([
                ("epochs", p.epochs.to_string()),
                ("batch", p.batch_size.to_string()),
                ("learning rate", p.learning_rate.to_string()),
                ("schedule", p.schedule.to_string()),
                ("shift", p.max_shift.to_string()),
                ("rotate", p.rotate.to_string()),
                ("zoom", p.zoom.to_string()),
                ("input", p.input.to_string()),
            ]);
        }
    }
    let limits = budget.limits();
    out.push((
        "steps",
        limits.steps.map_or("no limit".into(), |n| n.to_string()),
    ));
    out.push((
        "time limit",
        limits
            .time_limit
            .map_or("none".into(), |t| format!("{} s", t.as_secs_f64())),
    ));
    out.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
