//! The end of a run, as people and programs read it: [`RunReport`].

use std::fmt;

use serde::Serialize;

use super::{Origin, Session, trials};
use crate::datasets::{Dataset, Split};
use crate::io::ModelFile;
use crate::layers::Chain;
use crate::statistics::{ConfusionMatrix, accuracy};
use crate::training::{Membership, TrainingState};

/// A model's accuracy on one split.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SplitReport {
    /// Share of examples classified right, 0 to 1.
    pub accuracy: f64,
    /// `1 - accuracy`.
    pub error: f64,
    /// Examples classified right.
    pub correct: u64,
    /// Examples.
    pub total: u64,
    /// Matthews correlation coefficient (the multi-class form for more than two classes).
    pub mcc: f64,
}

impl SplitReport {
    /// `model` measured on `split`.
    pub fn measure(model: &Chain, split: &Split) -> Self {
        Self::from_confusion(&ConfusionMatrix::evaluate(model, split))
    }

    /// The accuracy a confusion matrix records.
    pub fn from_confusion(m: &ConfusionMatrix) -> Self {
        let total = m.total();
        let correct = (m.accuracy() * total as f64).round() as u64;
        Self {
            accuracy: m.accuracy(),
            error: m.error(),
            correct,
            total,
            mcc: m.mcc(),
        }
    }
}

/// What only some methods measure. Every field is present for every method (`null` where
/// it does not apply), so the JSON of any run has the same keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MethodStats {
    /// Flips tried in this session (climbing).
    pub flips: Option<u64>,
    /// Flips tried per second (climbing).
    pub flips_per_sec: Option<f64>,
    /// Bytes of each network's incremental state (climbing).
    pub state_bytes_per_network: Option<u64>,
    /// Share of the population's first-layer outputs taken from a parent instead of
    /// computed (population).
    pub reused_neuron_share: Option<f64>,
    /// Test accuracy of each ensemble member on its own (an ensemble of several).
    pub member_test_accuracy: Option<Vec<f64>>,
    /// Epochs the gradient run is set to (gradient training).
    pub epochs_planned: Option<u32>,
    /// What the gradient run's first layer reads (`bits` or `grey`).
    pub input: Option<String>,
}

/// The end of a run: the same fields for every method. It is the command line's `--json`
/// report (`Serialize`), its and the app's closing text (`Display`) and a notebook's summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// `population`, `climb` or `gradient`.
    pub method: &'static str,
    /// Networks trained side by side (an ensemble's members; 1 otherwise).
    pub members: usize,
    /// The member of an ensemble this run trains alone.
    pub member: Option<Membership>,
    /// The model's architecture (`conv32x5,pool4,800`).
    pub architecture: String,
    /// The model, in words.
    pub model: String,
    /// The classes told apart.
    pub task: String,
    /// The data set's name.
    pub dataset: String,
    /// Training and test examples.
    pub examples: [usize; 2],
    /// The run's seed (`None`: a resumed run whose file did not record it).
    pub seed: Option<u64>,
    /// How the run began.
    pub origin: Origin,
    /// The step the run began this session at (0 but for a resumed run).
    pub start_step: u64,
    /// Why it stopped (words).
    pub stop: String,
    /// The step reached: generation, or epochs completed.
    pub step: u64,
    /// Steps run in this session.
    pub steps: u64,
    /// Seconds trained in this session.
    pub seconds: f64,
    /// Steps per second.
    pub steps_per_sec: f64,
    /// The last objective (best fitness, or the gradient run's training accuracy).
    pub objective: Option<f64>,
    /// The kept model on the training split.
    pub train: SplitReport,
    /// The kept model on the test split.
    pub test: SplitReport,
    /// The model's parameters.
    pub parameters: usize,
    /// The model's packed size in bytes.
    pub bytes: usize,
    /// The network's [`fingerprint`](crate::io::fingerprint): equal for two runs that made
    /// the same network, on any machine.
    pub fingerprint: String,
    /// The method's own figures.
    pub stats: MethodStats,
}

pub(super) fn build(session: &Session) -> RunReport {
    let data = &session.data;
    let state = &session.state;
    let model = session.model();
    let progress = session.progress();
    let secs = progress.spent.as_secs_f64();
    let rate = |n: f64| n / secs.max(1e-9);
    let networks = match state {
        TrainingState::Ensemble(e) => e.members().len(),
        _ => 1,
    };
    let mut stats = MethodStats::default();
    match state {
        TrainingState::Population { set, .. } => {
            let reuse = set.output_reuse();
            stats.reused_neuron_share =
                Some(reuse.reused as f64 / (reuse.reused + reuse.computed).max(1) as f64);
        }
        TrainingState::Climb(_) | TrainingState::Ensemble(_) => {
            let flips = trials(&state.as_ref()).saturating_sub(session.trials_at_start);
            let bytes = match state {
                TrainingState::Climb(c) => c.memory_bytes(),
                TrainingState::Ensemble(e) => e.memory_bytes(),
                _ => 0,
            };
            stats.flips = Some(flips);
            stats.flips_per_sec = Some(rate(flips as f64));
            stats.state_bytes_per_network = Some((bytes / networks) as u64);
            if let TrainingState::Ensemble(e) = state {
                stats.member_test_accuracy = Some(
                    e.members()
                        .iter()
                        .map(|c| accuracy(c.choose(session.train()), &data.test))
                        .collect(),
                );
            }
        }
        TrainingState::Gradient(t) => {
            stats.epochs_planned = Some(t.params().epochs);
            stats.input = Some(t.params().input.to_string());
        }
    }
    RunReport {
        method: state.kind().method_name(),
        members: networks,
        member: session.meta.run.as_ref().and_then(|r| r.member),
        architecture: crate::layers::Architecture::of(&model).to_string(),
        model: model.to_string(),
        task: session
            .meta
            .task
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        dataset: data.name.clone(),
        examples: [data.train.len(), data.test.len()],
        seed: session.seed,
        origin: session.origin,
        start_step: session.start_step,
        stop: progress
            .reason
            .map_or_else(|| "not run".to_string(), |r| r.to_string()),
        step: progress.step,
        steps: progress.steps,
        seconds: secs,
        steps_per_sec: rate(progress.steps as f64),
        objective: session
            .last
            .as_ref()
            .map(|o| o.best_fitness)
            .filter(|f| f.is_finite()),
        train: SplitReport::measure(&model, &data.train),
        test: SplitReport::measure(&model, &data.test),
        parameters: model.parameters(),
        bytes: model.bytes(),
        fingerprint: crate::io::fingerprint(&model),
        stats,
    }
}

impl RunReport {
    /// The report of the run saved in `file`, measured on `data` (the task's data): what
    /// `bitsmnist eval` prints, with the same keys as a run's own report. Nothing runs here:
    /// `origin` is `file`, `steps` 0, and `step`, `seconds` and `objective` are where the
    /// saved run stopped.
    pub fn of_file(file: &ModelFile, data: &Dataset) -> Self {
        let model = &file.model;
        let state = file.state.as_ref();
        let run = file.meta.run.as_ref();
        let last = file.history.as_ref().and_then(|h| h.last());
        RunReport {
            method: state
                .map(|s| s.kind())
                .or(run.map(|r| r.method))
                .map_or("model", |k| k.method_name()),
            members: match state {
                Some(TrainingState::Ensemble(e)) => e.members().len(),
                _ => 1,
            },
            member: run.and_then(|r| r.member),
            architecture: crate::layers::Architecture::of(model).to_string(),
            model: model.to_string(),
            task: file
                .meta
                .task
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            dataset: data.name.clone(),
            examples: [data.train.len(), data.test.len()],
            seed: run.and_then(|r| r.seed),
            origin: Origin::File,
            start_step: state.map_or(0, TrainingState::step_number),
            stop: "saved".into(),
            step: state.map_or(0, TrainingState::step_number),
            steps: 0,
            seconds: last.map_or(0.0, |r| r.elapsed_secs),
            steps_per_sec: 0.0,
            objective: last.map(|r| r.best).filter(|f| f.is_finite()),
            train: SplitReport::measure(model, &data.train),
            test: SplitReport::measure(model, &data.test),
            parameters: model.parameters(),
            bytes: model.bytes(),
            fingerprint: crate::io::fingerprint(model),
            stats: MethodStats::default(),
        }
    }

    fn step_name(&self) -> &'static str {
        if self.method == "gradient" {
            "epoch"
        } else {
            "generation"
        }
    }
}

impl fmt::Display for RunReport {
    /// The closing text: how the run stopped, the method's figures, the model and its errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = self.step_name();
        write!(
            f,
            "stopped: {} at {step} {} after {:.1} s ({:.1} {step}s/s)",
            self.stop, self.step, self.seconds, self.steps_per_sec
        )?;
        if let Some(o) = self.objective {
            write!(f, "; objective {o:.4}")?;
        }
        writeln!(f)?;
        let s = &self.stats;
        if let Some(share) = s.reused_neuron_share
            && share > 0.0
        {
            writeln!(
                f,
                "first-layer outputs reused for {:.1}% of the neurons scored",
                share * 100.0
            )?;
        }
        if let (Some(flips), Some(per_sec), Some(bytes)) =
            (s.flips, s.flips_per_sec, s.state_bytes_per_network)
        {
            writeln!(
                f,
                "{flips} flips tried ({per_sec:.0}/s); incremental state {:.1} MB per network",
                bytes as f64 / 1e6
            )?;
        }
        for (m, a) in s.member_test_accuracy.iter().flatten().enumerate() {
            writeln!(f, "member {m}: test accuracy {:.2}%", a * 100.0)?;
        }
        writeln!(f, "{} (fingerprint {})", self.model, self.fingerprint)?;
        write!(
            f,
            "train error {:.4}%, test error {:.4}% ({} of {} test examples wrong)",
            self.train.error * 100.0,
            self.test.error * 100.0,
            self.test.total - self.test.correct,
            self.test.total
        )
    }
}
