//! The Training panel: the method (genetic, gradient in [`crate::gradient`], or bit-flip
//! climbing in [`crate::climb`]), every option
//! of the genetic trainer (defaults from [`Recipe::for_task`], tooltips from the trainer's
//! docs), Start / Pause / Resume / Stop, and live plots of the best, mean and worst fitness per
//! generation and of the test accuracy.
//!
//! The run happens on a worker thread in [`TrainingSet::train`], the library's one training
//! loop: its callback sends each generation's record (and now and then the best model) over
//! the channel; Pause and Stop cancel it through its [`CancelToken`] after the current
//! generation. Resuming calls `train` again, which continues exactly where it stopped.
//!
//! A model trained by the gradient method (per-neuron thresholds, scaled outputs) is
//! fine-tuned by the genetic method: its population starts from the model's own weights
//! ([`TrainingSet::starting_from`]) rather than from random bits.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::Split;
use bitsmnist_core::fitness::{Fitness, Metric};
use bitsmnist_core::genetic::{
    Adaptation, CancelToken, Crossover, GenerationRecord, History, Mutation, Recipe, Selection,
    StopReason, TrainOptions, TrainOutcome, TrainerParams, TrainingSet,
};
use bitsmnist_core::gradient::{self as grad, EpochRecord, Input};
use bitsmnist_core::io::{Metadata, ModelFile};
use bitsmnist_core::layers::{Chain, Layer};
use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use crate::app::{BitsApp, Command};
use crate::climb::{self, ClimbSettings, ClimbState};
use crate::data::TaskKind;
use crate::gradient::{self, GradientSettings};
use crate::worker::{Outbox, Reply, spawn_with};

/// Most points drawn per plot line (longer histories are thinned evenly).
const MAX_PLOT_POINTS: usize = 500;

/// How often the worker sends the best model so far (for the Draw panel).
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

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
    /// Stop after this many seconds of training (when `use_time`).
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
    /// Settings from a recipe (time limit included), other options at their defaults.
    pub fn from_recipe(r: &Recipe) -> Self {
        let mut s = Self::from_params(&r.params);
        s.metric = r.metric;
        s.seconds = r.time_limit.as_secs_f64();
        s
    }

    /// Settings holding `p`, stop rules at their defaults (25 s).
    pub fn from_params(p: &TrainerParams) -> Self {
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
            seed: p.seed,
            generations: 1000,
            use_generations: false,
            seconds: 25.0,
            use_time: true,
            target: 1.0,
            use_target: false,
            patience: 500,
            use_patience: false,
            validate_every: 10,
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
    pub fn params(&self) -> TrainerParams {
        TrainerParams::default()
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

    /// Stop rules for one call of `train` in a run that started at generation `first` and has
    /// trained for `spent` so far; `None` when the time budget is used up.
    pub(crate) fn options(
        &self,
        first: u64,
        spent: Duration,
        cancel: CancelToken,
        test: Option<&Split>,
    ) -> Option<TrainOptions> {
        let mut o = TrainOptions::new().cancel(cancel).quiet();
        if self.use_generations {
            o = o.until_generation(first + self.generations);
        }
        if self.use_time {
            let left = Duration::from_secs_f64(self.seconds.max(0.0)).checked_sub(spent)?;
            o = o.time_limit(left);
        }
        if self.use_target {
            o = o.target_fitness(self.target);
        }
        if self.use_patience {
            o = o.patience(self.patience);
        }
        if let Some(t) = test.filter(|_| self.validate_every > 0) {
            o = o.validate_on(t, self.validate_every);
        }
        Some(o)
    }
}

/// News from a training run.
#[derive(Debug)]
pub enum TrainReply {
    /// A generation finished.
    Generation(GenerationRecord),
    /// The best model so far.
    Snapshot(Chain),
    /// The run paused after a generation.
    Paused,
    /// The run ended; the training state comes back.
    Finished {
        /// The state after the run.
        set: Box<TrainingSet>,
        /// How it ended, or why it failed.
        outcome: Result<TrainOutcome, String>,
    },
    /// The run panicked; the training state is lost, the model before the run is kept.
    Crashed(String),
    /// A gradient epoch finished: its record and the model exported after it.
    Epoch {
        /// The epoch's record.
        record: EpochRecord,
        /// The exported bit model.
        model: Chain,
        /// What the model's first layer reads.
        input: Input,
    },
    /// A climb ended.
    ClimbFinished {
        /// The climb's networks and the model to keep, to continue it.
        climb: Box<ClimbState>,
        /// How it ended, or why it failed.
        outcome: Result<TrainOutcome, String>,
    },
    /// A gradient run ended.
    GradientFinished {
        /// The exported model (`None` when the run could not start).
        model: Option<Chain>,
        /// Every completed epoch.
        history: grad::History,
        /// What the model's first layer reads.
        input: Input,
        /// How it ended, or why it failed.
        outcome: Result<grad::TrainOutcome, String>,
    },
}

impl TrainReply {
    /// Whether this is routine progress (shown within 1/30 s) rather than a result.
    pub fn is_progress(&self) -> bool {
        matches!(
            self,
            TrainReply::Generation(_) | TrainReply::Snapshot(_) | TrainReply::Epoch { .. }
        )
    }
}

/// Handles of a run in progress.
pub struct Run {
    pub(crate) cancel: CancelToken,
    pub(crate) pause: Arc<AtomicBool>,
    pub(crate) stop: Arc<AtomicBool>,
    /// Whether the run is paused.
    pub paused: bool,
    /// Which trainer runs.
    pub method: Method,
}

impl Run {
    pub(crate) fn new(method: Method) -> Self {
        Self {
            cancel: CancelToken::new(),
            pause: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
            paused: false,
            method,
        }
    }
}

/// A run in progress and the history (not persisted).
#[derive(Default)]
pub struct TrainingState {
    /// The run in progress.
    pub run: Option<Run>,
    /// The training state between runs (from the last run or an opened file): Start continues
    /// from it.
    pub set: Option<TrainingSet>,
    /// Every generation so far.
    pub history: History,
    /// Every epoch of the last gradient run.
    pub gradient_history: grad::History,
    /// The climb between runs (from the last run or an opened file): Start continues it.
    pub climb: Option<ClimbState>,
    /// How the last run ended.
    pub last_outcome: Option<String>,
    /// Why the settings are invalid.
    pub params_error: Option<String>,
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
        self.gradient_history = grad::History::default();
        self.climb = None;
        self.last_outcome = None;
    }

    /// Generations per second of the last generation of the running run (0 when idle).
    pub fn generations_per_sec(&self) -> f64 {
        match (&self.run, self.history.last()) {
            (Some(r), Some(rec)) if !r.paused && r.method != Method::Gradient => {
                rec.generations_per_sec
            }
            _ => 0.0,
        }
    }
}

/// Reacts to news from the run.
pub fn on_reply(app: &mut BitsApp, reply: TrainReply) {
    match reply {
        TrainReply::Generation(rec) => {
            let climbing = app
                .training
                .run
                .as_ref()
                .is_some_and(|r| r.method == Method::Climb);
            app.status = if climbing {
                format!(
                    "gen {}  objective {:.6}  {:.1} gen/s  {:.1} s",
                    rec.generation, rec.best, rec.generations_per_sec, rec.elapsed_secs
                )
            } else {
                format!("{rec}")
            };
            app.training.history.records.push(rec);
        }
        TrainReply::Snapshot(chain) => {
            let g = app.training.history.last().map_or(0, |r| r.generation);
            app.model.set(chain, format!("training, generation {g}"));
        }
        TrainReply::Paused => {
            if let Some(r) = &mut app.training.run {
                r.paused = true;
            }
            app.status = "paused".into();
        }
        TrainReply::Finished { set, outcome } => {
            app.training.run = None;
            let g = set.generation();
            app.model
                .set(set.chain().clone(), format!("trained, generation {g}"));
            app.training.history = set.history().clone();
            app.training.set = Some(*set);
            match outcome {
                Ok(o) => {
                    let msg = format!(
                        "stopped ({}) at generation {}, best fitness {:.4}, {:.1} s",
                        reason(o.reason),
                        o.generation,
                        o.best_fitness,
                        o.elapsed.as_secs_f64()
                    );
                    app.status = msg.clone();
                    app.training.last_outcome = Some(msg);
                    app.apply(Command::Evaluate);
                }
                Err(e) => app.error(format!("training failed: {e}")),
            }
        }
        TrainReply::Crashed(e) => {
            app.training.run = None;
            app.error(format!("training crashed: {e}"));
        }
        TrainReply::Epoch {
            record,
            model,
            input,
        } => gradient::on_epoch(app, record, model, input),
        TrainReply::GradientFinished {
            model,
            history,
            input,
            outcome,
        } => gradient::on_finished(app, model, history, input, outcome),
        TrainReply::ClimbFinished { climb, outcome } => climb::on_finished(app, *climb, outcome),
    }
}

fn reason(r: StopReason) -> &'static str {
    match r {
        StopReason::Generations => "generation limit",
        StopReason::TargetFitness => "target fitness reached",
        StopReason::NoImprovement => "no improvement",
        StopReason::TimeLimit => "time limit",
        StopReason::Callback => "stopped",
        StopReason::Cancelled => "stopped by the user",
        _ => "stopped",
    }
}

/// Carries out Start, Pause, Resume and Stop.
pub fn apply(app: &mut BitsApp, command: Command) {
    match command {
        Command::StartTraining if app.training.is_running() => {}
        Command::StartTraining => match app.settings.training.method {
            Method::Genetic => start(app),
            Method::Gradient => gradient::start(app),
            Method::Climb => climb::start(app),
        },
        Command::PauseTraining => {
            // A gradient epoch cannot stop and resume exactly: no pause (see `gradient`).
            if let Some(r) = app
                .training
                .run
                .as_ref()
                .filter(|r| r.method != Method::Gradient)
            {
                r.pause.store(true, Ordering::SeqCst);
                r.cancel.cancel();
                app.status = "pausing after this generation…".into();
            }
        }
        Command::ResumeTraining => {
            if let Some(r) = &mut app.training.run {
                r.cancel.reset();
                r.pause.store(false, Ordering::SeqCst);
                r.paused = false;
                app.status = "resumed".into();
            }
        }
        Command::StopTraining => {
            if let Some(r) = &app.training.run {
                r.stop.store(true, Ordering::SeqCst);
                r.pause.store(false, Ordering::SeqCst);
                r.cancel.cancel();
                app.status = "stopping after this generation…".into();
            }
        }
        _ => {}
    }
}

fn start(app: &mut BitsApp) {
    if app.training.is_running() {
        return;
    }
    let (Some(chain), Some(data), Some(sample)) = (
        app.model.chain.clone(),
        app.data.task_data.clone(),
        app.data.sample.clone(),
    ) else {
        app.error("load data and make a model before training");
        return;
    };
    if app.model.input != Input::Bits {
        app.error(format!(
            "the genetic trainer feeds the model bits, and this model reads {} input: train it with the gradient method or make a new model",
            app.model.input
        ));
        return;
    }
    let settings = app.settings.training.clone();
    let params = settings.params();
    if let Err(e) = params.check() {
        app.error(format!("trainer options: {e}"));
        return;
    }
    let mut status = "training…";
    // Continue the saved state when it trains this very model; else start afresh.
    let set = match app.training.set.take() {
        Some(set) if set.chain() == &chain => {
            if set.params() != &params {
                // New options apply from here on: a fresh population from the current model
                // would lose the run, so keep the state but tell the user.
                app.status = "continuing with the options the run started with".into();
            }
            set
        }
        _ => {
            app.training.history = History::default();
            let made = if is_gradient_trained(&chain) {
                let bits: Vec<usize> = (0..chain.layers().len())
                    .filter(|&i| chain.layers()[i].as_bit().is_some())
                    .collect();
                status = "fine-tuning: the population starts from the model's weights…";
                TrainingSet::starting_from(chain, &bits, params)
            } else {
                TrainingSet::for_all_bit_layers(chain, params)
            };
            match made {
                Ok(s) => s,
                Err(e) => {
                    app.error(format!("cannot train this model: {e}"));
                    return;
                }
            }
        }
    };
    let fitness = Fitness::new(settings.metric, &sample);
    let test = Arc::new(data.test.clone());
    let run = Run::new(Method::Genetic);
    let job = Job {
        set,
        fitness,
        settings,
        test,
        control: Control::of(&run, app.worker.outbox()),
    };
    app.training.run = Some(run);
    app.training.last_outcome = None;
    if app.status != "continuing with the options the run started with" {
        app.status = status.into();
    }
    let out = app.worker.outbox();
    spawn_with(
        "bitsmnist-train",
        move || job.run(),
        move |msg| out.send(Reply::Train(TrainReply::Crashed(msg))),
    );
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

/// What a worker shares with its [`Run`] and the window: cancellation, the Pause and Stop
/// flags, and the channel.
pub(crate) struct Control {
    cancel: CancelToken,
    pause: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    out: Outbox,
    last_snapshot: std::sync::Mutex<Instant>,
}

impl Control {
    /// The worker's side of `run`.
    pub(crate) fn of(run: &Run, out: Outbox) -> Self {
        Self {
            cancel: run.cancel.clone(),
            pause: run.pause.clone(),
            stop: run.stop.clone(),
            out,
            last_snapshot: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// The run loop of the generation-based methods (genetic, climbing): calls `step` — one
    /// call of the trainer's own loop under `settings`' stop rules, for a run that started at
    /// generation `first` — until a rule or Stop ends it. Pause cancels the call after the
    /// current generation; the worker then waits, and Resume calls `step` again, which goes
    /// on exactly where it stopped. `best` is the best fitness before the run, reported if
    /// the time limit is used up before the first call.
    pub(crate) fn run_pausable(
        &self,
        settings: &TrainingSettings,
        first: u64,
        best: f64,
        test: &Split,
        mut step: impl FnMut(&TrainOptions) -> Result<TrainOutcome, String>,
    ) -> Result<TrainOutcome, String> {
        let mut spent = Duration::ZERO;
        let mut last = TrainOutcome {
            reason: StopReason::TimeLimit,
            steps: 0,
            generation: first,
            best_fitness: best,
            elapsed: Duration::ZERO,
        };
        loop {
            let Some(options) = settings.options(first, spent, self.cancel.clone(), Some(test))
            else {
                return Ok(TrainOutcome {
                    reason: StopReason::TimeLimit,
                    ..last
                });
            };
            let t0 = Instant::now();
            let result = step(&options);
            spent += t0.elapsed();
            match result {
                Ok(o) if o.reason == StopReason::Cancelled && self.pause.load(Ordering::SeqCst) => {
                    self.out.send(Reply::Train(TrainReply::Paused));
                    while self.pause.load(Ordering::SeqCst) && !self.stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    if self.stop.load(Ordering::SeqCst) {
                        return Ok(o);
                    }
                    self.cancel.reset();
                    last = o;
                }
                other => return other,
            }
        }
    }

    /// Sends a generation's record and, at most every [`SNAPSHOT_EVERY`], the model `model`
    /// gives (for the Draw panel).
    pub(crate) fn progress(&self, record: &GenerationRecord, model: impl FnOnce() -> Chain) {
        self.out
            .send(Reply::Train(TrainReply::Generation(record.clone())));
        let mut last = self
            .last_snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.elapsed() >= SNAPSHOT_EVERY {
            *last = Instant::now();
            self.out.send(Reply::Train(TrainReply::Snapshot(model())));
        }
    }

    /// Sends the run's end.
    pub(crate) fn send(&self, reply: TrainReply) {
        self.out.send(Reply::Train(reply));
    }
}

/// A run on the worker thread.
struct Job {
    set: TrainingSet,
    fitness: Fitness,
    settings: TrainingSettings,
    test: Arc<Split>,
    control: Control,
}

impl Job {
    fn run(mut self) {
        let first = self.set.generation();
        let best = self.set.best().map_or(f64::NAN, |b| b.1);
        let Job {
            set,
            fitness,
            settings,
            test,
            control,
        } = &mut self;
        let outcome = control.run_pausable(settings, first, best, test, |options| {
            set.train(fitness, options, |p| {
                control.progress(p.record, || p.set.best_chain());
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())
        });
        self.finish(outcome)
    }

    fn finish(self, outcome: Result<TrainOutcome, String>) {
        self.control.send(TrainReply::Finished {
            set: Box::new(self.set),
            outcome,
        });
    }
}

/// Opens a model file: the model, its training state and history, and its task.
pub fn open(app: &mut BitsApp, path: &Path) {
    if app.training.is_running() {
        app.error("stop training before opening a model");
        return;
    }
    let file = match ModelFile::load(path) {
        Ok(f) => f,
        Err(e) => {
            app.error(format!("{}: {e}", path.display()));
            return;
        }
    };
    if let Some(task) = &file.meta.task {
        let d = &mut app.settings.data;
        let (kind, classes) = if task.classes() == [0, 1] {
            (TaskKind::ZeroOne, d.classes.clone())
        } else if task.is_all_digits() {
            (TaskKind::Digits, d.classes.clone())
        } else {
            (TaskKind::Classes, task.to_string())
        };
        if (kind, &classes) != (d.task, &d.classes) {
            d.task = kind;
            d.classes = classes;
            app.training.set = None;
            if let Err(e) = app.data.apply_task(d) {
                app.error(e);
            }
        }
    }
    let input = match file.meta.extra.get("input").map(|s| s.parse::<Input>()) {
        Some(Err(e)) => {
            app.error(format!("{}: {e}", path.display()));
            return;
        }
        Some(Ok(i)) => i,
        None => Input::Bits,
    };
    let ModelFile {
        model,
        training,
        history,
        climb,
        ..
    } = file;
    app.training.history = history
        .or_else(|| training.as_ref().map(|t| t.history().clone()))
        .or_else(|| climb.as_ref().map(|c| c.history().clone()))
        .unwrap_or_default();
    app.training.set = training;
    if climb.is_some() {
        // Start goes on with the climb that made the file, as `bitsmnist train --resume`.
        app.settings.training.method = Method::Climb;
    }
    app.training.climb = climb.map(|c| ClimbState::single(c, model.clone()));
    app.training.gradient_history = grad::History::default();
    app.training.last_outcome = None;
    app.model.set(model, path.display().to_string());
    app.model.input = input;
    if let Some((inputs, classes)) = app.task_shape() {
        let m = app.model.chain.as_ref().expect("just set");
        if (m.inputs(), m.outputs()) != (inputs, classes) {
            app.error(format!(
                "the model takes {} inputs to {} classes, the data have {inputs} and {classes}",
                m.inputs(),
                m.outputs()
            ));
        }
    }
    app.remember(path);
    app.status = format!("opened {}", path.display());
    app.evaluation.result = None;
}

/// Saves the model with its training state, history and data description.
pub fn save(app: &mut BitsApp, path: &Path) {
    let Some(model) = app.model.chain.clone() else {
        app.error("no model to save");
        return;
    };
    let mut file = ModelFile::new(model.clone());
    if let Some(set) = app.training.set.as_ref().filter(|s| s.chain() == &model) {
        file = file.with_training(set.clone());
    }
    if !app.training.history.is_empty() {
        file = file.with_history(app.training.history.clone());
    }
    // A model file holds one network's climb; an ensemble saves its merged model.
    if let Some(c) = app
        .training
        .climb
        .as_ref()
        .filter(|c| c.is_state_of(&model))
        .and_then(ClimbState::single_member)
    {
        file.climb = Some(c.clone());
    }
    // `bitsmnist eval` and the app read "input" to feed a grey-input model grey levels.
    let mut meta = Metadata::now()
        .with_extra("saved_by", "bitsmnist-gui")
        .with_extra("input", app.model.input.to_string());
    if let Some(d) = &app.data.task_data {
        meta = meta.with_dataset(d);
    }
    if let Some(t) = &app.data.task {
        meta = meta.with_task(t);
    }
    file = file.with_meta(meta);
    match file.save(path) {
        Ok(()) => {
            app.remember(path);
            app.status = format!("saved {}", path.display());
        }
        Err(e) => app.error(format!("{}: {e}", path.display())),
    }
}

/// Draws the Training panel. `can_start`: a model and data exist; `hidden`: the Model panel's
/// hidden widths (the gradient method's network); `fine_tune`: the model is gradient-trained,
/// so the genetic method starts from its weights.
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut TrainingSettings,
    state: &mut TrainingState,
    can_start: bool,
    hidden: &Result<Vec<usize>, String>,
    fine_tune: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let running = state.is_running();
    egui::Panel::left("trainer-options")
        .resizable(true)
        .default_size(330.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_enabled_ui(!running, |ui| {
                    method_ui(ui, &mut settings.method);
                    ui.separator();
                    match settings.method {
                        Method::Genetic => {
                            if fine_tune {
                                ui.label("The current model is gradient-trained: Start fine-tunes it (the population starts from its weights).");
                            }
                            if options_ui(ui, settings) {
                                // Only this method's options: the choice and the other's stay.
                                *settings = TrainingSettings {
                                    method: settings.method,
                                    gradient: settings.gradient.clone(),
                                    climb: settings.climb.clone(),
                                    ..TrainingSettings::default()
                                };
                            }
                        }
                        Method::Gradient => {
                            if gradient::options_ui(ui, &mut settings.gradient, hidden) {
                                settings.gradient = GradientSettings::default();
                            }
                        }
                        Method::Climb => {
                            if climb::options_ui(ui, &mut settings.climb) {
                                settings.climb = ClimbSettings::default();
                            }
                            ui.separator();
                            stop_rules_ui(ui, settings);
                        }
                    }
                });
            });
        });
    let TrainingState {
        run,
        set,
        history,
        gradient_history,
        climb: climb_state,
        last_outcome,
        params_error,
    } = state;
    let method = settings.method;
    *params_error = match method {
        Method::Genetic => settings.params().check().err().map(|e| e.to_string()),
        Method::Gradient => settings.gradient.check(hidden).err(),
        Method::Climb => settings.climb.check().err(),
    };

    ui.horizontal(|ui| {
        match run {
            None => {
                let (label, tip) = match method {
                    Method::Genetic if set.is_some() => ("Continue", "Resume the saved training state on a worker thread"),
                    Method::Genetic => ("Start", "Train the current model on a worker thread"),
                    Method::Gradient => ("Start", "Train a new network by gradient descent on a worker thread; its bit model replaces the current model"),
                    Method::Climb if climb_state.is_some() => ("Continue", "Continue the climb that gave this model on a worker thread"),
                    Method::Climb => ("Start", "Climb from the current model on a worker thread"),
                };
                if ui
                    .add_enabled(can_start && params_error.is_none(), egui::Button::new(label))
                    .on_hover_text(tip)
                    .clicked()
                {
                    commands.push(Command::StartTraining);
                }
            }
            Some(r) => {
                if r.method != Method::Gradient {
                    if r.paused {
                        if ui.button("Resume").clicked() {
                            commands.push(Command::ResumeTraining);
                        }
                    } else if ui.button("Pause").clicked() {
                        commands.push(Command::PauseTraining);
                    }
                }
                let tip = match r.method {
                    Method::Genetic => "Stop after this generation and keep the best model",
                    Method::Gradient => "Stop after this mini-batch and keep the model trained so far",
                    Method::Climb => "Stop after this generation and keep the more accurate of the current and the best re-scored model",
                };
                if ui.button("Stop").on_hover_text(tip).clicked() {
                    commands.push(Command::StopTraining);
                }
            }
        }
        if method == Method::Gradient {
            gradient::figures(ui, gradient_history, run.is_some());
        } else if let Some(rec) = history.last() {
            ui.separator();
            ui.label(if method == Method::Climb {
                format!("generation {}   objective {:.4}", rec.generation, rec.best)
            } else {
                format!(
                    "generation {}   best {:.4}   mean {:.4}   worst {:.4}",
                    rec.generation, rec.best, rec.mean, rec.worst
                )
            });
            if run.as_ref().is_some_and(|r| !r.paused) {
                ui.strong(format!("{:.1} generations/s", rec.generations_per_sec));
            }
            ui.label(format!("{:.1} s", rec.elapsed_secs));
        }
    });
    if let Some(e) = params_error {
        let what = match method {
            Method::Genetic => "Trainer options",
            Method::Gradient => "Gradient options",
            Method::Climb => "Climbing options",
        };
        ui.colored_label(ui.visuals().error_fg_color, format!("{what}: {e}"));
    }
    if let Some(o) = last_outcome {
        ui.label(o.as_str());
    }
    match method {
        Method::Genetic => plots(ui, history, method),
        Method::Gradient => gradient::plots(ui, gradient_history),
        Method::Climb => plots(ui, history, method),
    }
    commands
}

fn method_ui(ui: &mut egui::Ui, method: &mut Method) {
    ui.horizontal(|ui| {
        let l = ui.label("Method");
        egui::ComboBox::from_id_salt("method")
            .selected_text(method.name())
            .show_ui(ui, |ui| {
                ui.selectable_value(method, Method::Genetic, Method::Genetic.name())
                    .on_hover_text("Evolve a population of bit weights: selection, crossover, mutation (the original)");
                ui.selectable_value(method, Method::Gradient, Method::Gradient.name())
                    .on_hover_text("Back-propagation with the straight-through estimator over latent float weights, exported to a bit model with per-neuron thresholds");
                ui.selectable_value(method, Method::Climb, Method::Climb.name())
                    .on_hover_text("Flip one bit at a time and keep it unless a margin objective drops, scored incrementally: the best gradient-free method on ten digits (about 92% in ten minutes)");
            })
            .response
            .labelled_by(l.id)
            .on_hover_text("How Start trains: genetic (the original), gradient descent (the most accurate on ten digits) or bit-flip climbing");
    });
}

fn thin(points: impl ExactSizeIterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    let n = points.len();
    let step = n.div_ceil(MAX_PLOT_POINTS).max(1);
    let mut v: Vec<[f64; 2]> = Vec::with_capacity(n / step + 2);
    let mut last = None;
    for (i, p) in points.enumerate() {
        if i % step == 0 {
            v.push(p);
        }
        last = Some(p);
    }
    if let (Some(l), Some(e)) = (last, v.last())
        && l != *e
    {
        v.push(l);
    }
    v
}

/// The fitness and test-accuracy plots of a generation-based run. A climb has one model, so
/// its records' best, mean and worst are one value: its objective.
fn plots(ui: &mut egui::Ui, history: &History, method: Method) {
    let recs = &history.records;
    let line = |name: &str, f: fn(&GenerationRecord) -> f64| {
        Line::new(
            name.to_string(),
            PlotPoints::from(thin(recs.iter().map(|r| [r.generation as f64, f(r)]))),
        )
    };
    let height = ((ui.available_height() - 30.0) / 2.0).max(120.0);
    let link = ui.make_persistent_id("training-plots");
    let climb = method == Method::Climb;
    ui.label(if climb {
        "Objective per generation (fraction of its maximum, on the current batch)"
    } else {
        "Fitness per generation"
    });
    Plot::new("fitness")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("generation")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            if climb {
                p.line(line("objective", |r| r.best));
            } else {
                p.line(line("best", |r| r.best));
                p.line(line("mean", |r| r.mean));
                p.line(line("worst", |r| r.worst));
            }
        });
    ui.label(if climb {
        "Test accuracy (%) of the model"
    } else {
        "Test accuracy (%) of the best candidate"
    });
    let acc: Vec<[f64; 2]> = recs
        .iter()
        .filter_map(|r| {
            r.validation_accuracy
                .map(|a| [r.generation as f64, 100.0 * a])
        })
        .collect();
    let n = acc.len();
    Plot::new("test-accuracy")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("generation")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new(
                "test accuracy",
                PlotPoints::from(thin(acc.into_iter().take(n))),
            ));
        });
}

/// The option widgets; true when "Recommended options" was clicked.
fn options_ui(ui: &mut egui::Ui, s: &mut TrainingSettings) -> bool {
    let TrainingSettings {
        population,
        elitism,
        selection,
        tournament,
        crossover,
        divisor,
        mutation,
        rate,
        k,
        adaptation,
        factor,
        min_scale,
        max_scale,
        shrink_patience,
        shrink,
        evals,
        use_batch,
        batch,
        metric,
        seed,
        ..
    } = s;
    ui.heading("Trainer");
    egui::Grid::new("trainer-grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        drag(ui, "Population", population, 2..=10_000, "Candidates per generation");
        drag(ui, "Elitism", elitism, 0..=9_999, "Best candidates kept unchanged each generation (must be smaller than the population)");
        let l = ui.label("Selection");
        egui::ComboBox::from_id_salt("selection")
            .selected_text(match selection {
                SelectionKind::Elite => "elite",
                SelectionKind::Tournament => "tournament",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(selection, SelectionKind::Elite, "elite")
                    .on_hover_text("Both parents uniformly from the elite (the original)");
                ui.selectable_value(selection, SelectionKind::Tournament, "tournament")
                    .on_hover_text("Each parent is the fittest of a few drawn from the whole population");
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
        if *selection == SelectionKind::Tournament {
            drag(ui, "Tournament size", tournament, 1..=10_000, "Candidates per tournament; larger selects harder");
        }
        let l = ui.label("Crossover");
        egui::ComboBox::from_id_salt("crossover")
            .selected_text(match crossover {
                CrossoverKind::Split => "split",
                CrossoverKind::Uniform => "uniform",
                CrossoverKind::Neuron => "neuron",
                CrossoverKind::None => "none",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(crossover, CrossoverKind::Split, "split")
                    .on_hover_text("The original: first words/divisor of each neuron's weights from the father, the rest from the mother, bias from the father");
                ui.selectable_value(crossover, CrossoverKind::Uniform, "uniform")
                    .on_hover_text("Each bit from either parent");
                ui.selectable_value(crossover, CrossoverKind::Neuron, "neuron")
                    .on_hover_text("Each neuron (weights and bias) from either parent");
                ui.selectable_value(crossover, CrossoverKind::None, "none")
                    .on_hover_text("The child copies its father: mutation only");
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
        if *crossover == CrossoverKind::Split {
            drag(ui, "Divisor", divisor, 1..=64, "The original's crossoverDivisor: 2 takes half the words from each parent; 1 copies the father");
        }
        let l = ui.label("Mutation");
        egui::ComboBox::from_id_salt("mutation")
            .selected_text(match mutation {
                MutationKind::Replace => "replace",
                MutationKind::Flip => "flip",
                MutationKind::FlipK => "flip k bits",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(mutation, MutationKind::Replace, "replace")
                    .on_hover_text("The original: each bit replaced by a random bit with probability rate");
                ui.selectable_value(mutation, MutationKind::Flip, "flip")
                    .on_hover_text("Each bit flips with probability rate");
                ui.selectable_value(mutation, MutationKind::FlipK, "flip k bits")
                    .on_hover_text("Exactly k bits flip");
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
        if *mutation == MutationKind::FlipK {
            drag(ui, "Bits to flip", k, 1..=100_000, "Bits flipped in each child");
        } else {
            let l = ui.label("Rate");
            ui.add(egui::DragValue::new(rate).range(0.0..=1.0).speed(0.0005).max_decimals(5))
                .labelled_by(l.id)
                .on_hover_text("Probability per weight and bias bit");
            ui.end_row();
        }
        let l = ui.label("Adaptation");
        egui::ComboBox::from_id_salt("adaptation")
            .selected_text(match adaptation {
                AdaptationKind::None => "none",
                AdaptationKind::OneFifth => "1/5 rule",
                AdaptationKind::Stagnation => "shrink on stagnation",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(adaptation, AdaptationKind::None, "none");
                ui.selectable_value(adaptation, AdaptationKind::OneFifth, "1/5 rule")
                    .on_hover_text("Rechenberg: more than a fifth of children beat their father: stronger mutation; fewer: weaker");
                ui.selectable_value(adaptation, AdaptationKind::Stagnation, "shrink on stagnation")
                    .on_hover_text("Weaker mutation when the best fitness stops improving");
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
        match adaptation {
            AdaptationKind::None => {}
            AdaptationKind::OneFifth => {
                dragf(ui, "Growth factor", factor, 1.0..=4.0, "Mutation scale multiplied or divided by this each generation (> 1)");
                dragf(ui, "Min scale", min_scale, 0.0001..=1.0, "Smallest mutation scale");
                dragf(ui, "Max scale", max_scale, 1.0..=1000.0, "Largest mutation scale");
            }
            AdaptationKind::Stagnation => {
                drag(ui, "Stagnation patience", shrink_patience, 1..=100_000, "Generations without a new best before the mutation shrinks");
                dragf(ui, "Shrink factor", shrink, 0.01..=0.99, "Mutation scale multiplied by this on stagnation");
                dragf(ui, "Min scale", min_scale, 0.0001..=1.0, "Smallest mutation scale");
            }
        }
        drag(ui, "Evaluations", evals, 1..=100, "Fitness is the mean of this many evaluations per candidate");
        let l = ui.label("Fitness");
        egui::ComboBox::from_id_salt("metric")
            .selected_text(metric.name())
            .show_ui(ui, |ui| {
                for m in Metric::all() {
                    ui.selectable_value(metric, m, m.name());
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text("score: the original (sum of the right class's output when predicted right); accuracy; mcc: Matthews correlation");
        ui.end_row();
        ui.checkbox(use_batch, "Mini-batches")
            .on_hover_text("Each generation evaluates on a fresh seeded mini-batch of the sample instead of all of it");
        ui.add_enabled(*use_batch, egui::DragValue::new(batch).range(1..=1_000_000).suffix(" examples"))
            .on_hover_text("Mini-batch size");
        ui.end_row();
        drag(ui, "Trainer seed", seed, 0..=u32::MAX as u64, "Every random choice of the trainer derives from it: same seed, same run");
    });
    ui.separator();
    stop_rules_ui(ui, s);
    ui.button("Recommended options")
        .on_hover_text("The library's measured recipe for two classes")
        .clicked()
}

/// The stop rules, shared by the genetic method and bit-flip climbing.
fn stop_rules_ui(ui: &mut egui::Ui, s: &mut TrainingSettings) {
    let TrainingSettings {
        generations,
        use_generations,
        seconds,
        use_time,
        target,
        use_target,
        patience,
        use_patience,
        validate_every,
        ..
    } = s;
    ui.heading("Stop rules");
    egui::Grid::new("stop-grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            ui.checkbox(use_time, "Time limit");
            ui.add_enabled(
                *use_time,
                egui::DragValue::new(seconds)
                    .range(0.1..=86_400.0)
                    .suffix(" s"),
            )
            .on_hover_text("Seconds of training (pauses excluded)");
            ui.end_row();
            ui.checkbox(use_generations, "Generations");
            ui.add_enabled(
                *use_generations,
                egui::DragValue::new(generations).range(1..=10_000_000),
            )
            .on_hover_text("Generations to run from the start of this run");
            ui.end_row();
            ui.checkbox(use_target, "Target fitness");
            ui.add_enabled(*use_target, egui::DragValue::new(target).speed(0.001))
                .on_hover_text("Stop once the best fitness reaches this");
            ui.end_row();
            ui.checkbox(use_patience, "Patience");
            ui.add_enabled(
                *use_patience,
                egui::DragValue::new(patience)
                    .range(1..=10_000_000)
                    .suffix(" gen"),
            )
            .on_hover_text("Stop after this many generations without a new best fitness");
            ui.end_row();
            drag(
                ui,
                "Test every",
                validate_every,
                0..=100_000,
                "Measure the best candidate's test accuracy every so many generations (0: never)",
            );
        });
}

/// A labelled number in a two-column grid.
pub(crate) fn drag<T: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    label: &str,
    v: &mut T,
    range: std::ops::RangeInclusive<T>,
    tip: &str,
) {
    let l = ui.label(label);
    ui.add(egui::DragValue::new(v).range(range))
        .labelled_by(l.id)
        .on_hover_text(tip);
    ui.end_row();
}

fn dragf(
    ui: &mut egui::Ui,
    label: &str,
    v: &mut f64,
    range: std::ops::RangeInclusive<f64>,
    tip: &str,
) {
    let l = ui.label(label);
    ui.add(
        egui::DragValue::new(v)
            .range(range)
            .speed(0.01)
            .max_decimals(4),
    )
    .labelled_by(l.id)
    .on_hover_text(tip);
    ui.end_row();
}
