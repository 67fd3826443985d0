//! `bitsmnist train`: train a bit model by any method and report its accuracy. One path for
//! every method: the flags become a checked [`plan::Plan`] (the core's `RunPlan`) before any
//! data is loaded, the core's `Session` runs it, and its `RunReport` is the closing text (or,
//! under `--json`, the one `report` object); this module adds the progress, on stderr, and the
//! signals.

mod args;
pub(crate) mod plan;

use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::{Binarization, DataError};
use bitsmnist_core::layers::Shape;
use bitsmnist_core::run::{CancelToken, StopReason, TrainOptions};
use bitsmnist_core::runs::RunStore;
use bitsmnist_core::session::{RunPlan, Session, SessionError, Start};
use bitsmnist_core::training::TrainingState;

pub use args::Args;
use plan::{Origin, Recording};

/// SIGINT, SIGTERM and SIGHUP seen, each also cancelling the run.
struct Signals {
    interrupt: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
    hang_up: Arc<AtomicBool>,
}

impl Signals {
    /// Routes SIGINT, SIGTERM and SIGHUP (a closed terminal or dropped ssh session) into
    /// `cancel`: the run stops at its next stop point and is saved. A second signal while it
    /// winds down ends the program at once.
    fn register(cancel: &CancelToken) -> Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let signals = Self {
            interrupt: Arc::default(),
            terminate: Arc::default(),
            hang_up: Arc::default(),
        };
        for (signal, seen) in [
            (SIGINT, &signals.interrupt),
            (SIGTERM, &signals.terminate),
            (SIGHUP, &signals.hang_up),
        ] {
            // Registered first, so that it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, cancel.flag())?;
            signal_hook::flag::register(signal, cancel.flag())?;
            signal_hook::flag::register(signal, Arc::clone(seen))?;
        }
        Ok(signals)
    }

    /// The exit status the signals seen call for, if any.
    fn exit_status(&self) -> Option<u8> {
        if self.terminate.load(Ordering::SeqCst) {
            Some(crate::errors::TERMINATED)
        } else if self.hang_up.load(Ordering::SeqCst) {
            Some(crate::errors::HUNG_UP)
        } else if self.interrupt.load(Ordering::SeqCst) {
            Some(crate::errors::INTERRUPTED)
        } else {
            None
        }
    }
}

/// Bytes beyond the state's size that a save at the end of a run may need: the history's
/// records (tens of bytes each: some thousands of steps) and the metadata. Small, because a
/// run refused here cannot be forced: a save that still finds the disk full keeps the old
/// file (`files::write_atomic`).
const SAVE_MARGIN: u64 = 256 << 10;

pub fn run(args: Args) -> Result<ExitCode> {
    let mut plan = args.plan()?;
    // Held to the end of the run: a second run writing the same file is refused at its start
    // instead of both finishing and the last one silently winning.
    let _lock = match &plan.out {
        Some(out) => Some(crate::lock_output("--out", out)?),
        None => None,
    };
    bitsmnist_core::memory::set_limit(plan.memory_limit);
    if let Some(n) = plan.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the thread count")?;
    }
    let binarization = plan.data.binarize.unwrap_or_default();
    match plan.data.source() {
        bitsmnist_core::datasets::Source::Mnist => {
            check_memory_before_mnist(&plan.run, binarization)?
        }
        bitsmnist_core::datasets::Source::Dir(dir) => {
            check_memory_before_dir(&plan.run, &dir, binarization)?
        }
        _ => {}
    }
    // Listening from before the data is loaded: loading and imprinting are long steps too,
    // and stop at their stop points like the training steps.
    let cancel = CancelToken::new();
    let signals = Signals::register(&cancel).context("listening for SIGINT and SIGTERM")?;
    plan.run.stop.cancel = Some(cancel.clone());
    let measure = BarMeasure::of(&plan.run.stop);
    let full = match plan.data.load_until(&|| cancel.is_cancelled()) {
        Err(e) if matches!(e.downcast_ref(), Some(DataError::Stopped)) => {
            return Ok(stopped_before_training(&signals, "loading the data set"));
        }
        loaded => loaded?,
    };
    let mut session = match Session::start(plan.run, &full) {
        Err(SessionError::Stopped {
            reason: StopReason::Cancelled,
        }) => return Ok(stopped_before_training(&signals, "making the run")),
        started => started?,
    };
    session.annotate(|m| {
        m.with_program("bitsmnist")
            .with_extra("command", command_line())
    });
    let recorded = match &plan.record {
        Some(Recording::New { dir, label, tags }) => {
            Some(RunStore::open(dir).and_then(|store| session.record(&store, label, tags)))
        }
        Some(Recording::Continue { store, id }) => Some(session.record_continuing(store, id)),
        None => None,
    };
    let recorded = recorded
        .transpose()
        .context("recording the run (--no-record trains without recording)")?;
    if let Some(out) = &plan.out {
        // The state's size is fixed from the start for every method; the history grows by a
        // record per step, which the margin covers for runs of some thousands of steps.
        let needed = session
            .checkpoint()
            .encoded_len()
            .context("sizing the file --out will hold")?
            .saturating_add(SAVE_MARGIN);
        crate::check_room("--out", out, needed)?;
    }
    if let (Some(every), Some(path)) = (plan.checkpoint_every, &plan.out) {
        session.checkpoint_every(path, every);
    }
    out!("{}", header(&session, &plan.origin));
    let bar = progress_bar(plan.quiet, measure);
    let started = Instant::now();
    let first_step = session.start_step();
    let progress = plan.progress;
    let outcome = session.run(|step| {
        let r = step.record();
        bar.set_position(match measure {
            BarMeasure::Steps(_) => r.step.saturating_sub(first_step),
            _ => started.elapsed().as_secs(),
        });
        bar.set_message(r.to_string());
        // On stderr with the bar, in both output modes: stdout holds the results alone, so
        // that `train --json | jq` reads one object and `train > run.txt` the summary.
        if progress > 0 && r.step.is_multiple_of(progress) {
            bar.suspend(|| {
                use std::io::Write as _;
                // A closed terminal (SIGHUP) must not end the run in a panic.
                let _ = writeln!(std::io::stderr(), "{r}");
            });
        }
        ControlFlow::Continue(())
    });
    bar.finish_and_clear();
    let outcome = outcome?;
    // Saved before anything else, so that a second signal or a failing report loses nothing.
    if let Some(path) = &plan.out {
        let mut file = session.checkpoint();
        // A run stopped by a signal keeps its state whatever was asked, so that nothing of
        // it is lost: `--resume` continues it.
        if plan.model_only && signals.exit_status().is_none() {
            file.state = None;
        }
        file.save(path)
            .with_context(|| path.display().to_string())?;
    }
    if let Some(status) = signals.exit_status() {
        // Asked to stop: the run is saved; the report (an evaluation of every example) is
        // left to `bitsmnist eval`.
        // The terminal may be gone (SIGHUP): a failed write must not turn a saved run into
        // a panic.
        use std::io::Write as _;
        // Said, so that a user knows why the model may differ from a finished run's.
        let during = match session.state() {
            TrainingState::Gradient(t) if t.awaits_recalibration(&session.data().train) => {
                " while re-estimating the batch statistics (the model keeps training's; --resume re-estimates them)"
            }
            _ => "",
        };
        let _ = writeln!(
            std::io::stderr(),
            "interrupted by a signal at step {}{during} after {:.1} s{}",
            outcome.step,
            session.progress().spent.as_secs_f64(),
            plan.out
                .as_ref()
                .map(|p| format!("; saved {} (--resume continues it)", p.display()))
                .unwrap_or_else(|| "; nothing saved (no --out)".into())
        );
        return Ok(ExitCode::from(status));
    }
    let report = session.report();
    out!("{report}");
    if let Some(path) = &plan.out {
        out!("saved {}", path.display());
    }
    if let Some(id) = session.recording() {
        out!("recorded as run {id} (bitsmnist runs show {id})");
    }
    if let Some(e) = session.record_error() {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "warning: the run's record ended early: {e}"
        );
    }
    /// The report and the id of the run's record, one object.
    #[derive(serde::Serialize)]
    struct Recorded<'a> {
        #[serde(flatten)]
        report: &'a bitsmnist_core::session::RunReport,
        /// The id in the runs folder (`null` when not recorded).
        run: Option<String>,
    }
    crate::emit(
        "report",
        &Recorded {
            report: &report,
            run: recorded.map(|id| id.to_string()),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Ends a run a signal stopped before its first step (while the data set was loaded or the
/// features imprinted): there is nothing to save, and the exit status is the signal's.
fn stopped_before_training(signals: &Signals, during: &str) -> ExitCode {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "interrupted by a signal while {during}, before any training; nothing saved"
    );
    ExitCode::from(signals.exit_status().unwrap_or(crate::errors::INTERRUPTED))
}

/// The first line: data, task, model, method, what the run continues, seed, threads.
fn header(session: &Session, origin: &Origin) -> String {
    let data = session.data();
    let state = session.state();
    let run = session.meta().run.as_ref();
    let seed = match (origin, run.and_then(|r| r.member), run.and_then(|r| r.seed)) {
        (Origin::Fresh, Some(m), Some(seed)) => {
            let own = if run.is_some_and(|r| r.own_features) {
                ", with its own imprinted filters"
            } else {
                ""
            };
            format!(
                "{m} of the ensemble seeded {seed} (seed {}{own})",
                m.seed(seed)
            )
        }
        (Origin::Fresh | Origin::FineTune(_), _, Some(seed)) => format!("seed {seed}"),
        _ => "the seeds it started with".into(),
    };
    let continues = match origin {
        Origin::Fresh => String::new(),
        Origin::Resume(path, Some(d)) if *d != data.name => format!(
            ", resumed from {} (trained so far on {d}) at step {}",
            path.display(),
            session.start_step()
        ),
        Origin::Resume(path, _) => format!(
            ", resumed from {} at step {}",
            path.display(),
            session.start_step()
        ),
        Origin::FineTune(path) => format!(
            ", fine-tuning the model in {} at step {}",
            path.display(),
            session.start_step()
        ),
    };
    let augment = session
        .meta()
        .run
        .as_ref()
        .map(|r| r.augment)
        .unwrap_or_default();
    let copies = match augment.copies() {
        1 => String::new(),
        n => format!(" (and {} copies, {augment})", data.train.len() * (n - 1)),
    };
    format!(
        "{} (pixel bits: {}): task {}, {} training{copies} and {} test examples; {}; {}{continues}; {seed}; {} threads",
        crate::data::describe(data),
        data.binarization,
        session
            .meta()
            .task
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        data.train.len(),
        data.test.len(),
        state.current_model(),
        describe(state),
        rayon::current_num_threads()
    )
}

/// What the progress bar fills up with: the run's steps when it stops after a step count
/// (the defaults), its seconds when only a time limit ends it.
#[derive(Clone, Copy)]
enum BarMeasure {
    Steps(u64),
    Seconds(u64),
    Open,
}

impl BarMeasure {
    fn of(stop: &TrainOptions) -> Self {
        match (stop.steps, stop.time_limit) {
            (Some(n), _) => Self::Steps(n),
            (None, Some(t)) => Self::Seconds(t.as_secs()),
            (None, None) => Self::Open,
        }
    }
}

fn progress_bar(quiet: bool, measure: BarMeasure) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let b = match measure {
        BarMeasure::Steps(n) | BarMeasure::Seconds(n) => indicatif::ProgressBar::new(n),
        BarMeasure::Open => indicatif::ProgressBar::new_spinner(),
    };
    b.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
            .expect("valid template"),
    );
    b
}

/// Full MNIST's training images of each digit, 0 to 9: 60,000 of 28x28 pixels in all.
const MNIST_TRAIN_PER_DIGIT: [u64; 10] =
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

/// The memory check of a fresh run ([`Start::state`]) made from full MNIST's known sizes
/// before the set is loaded, so that a request too large for the machine is refused before
/// the set is downloaded the first time.
fn check_memory_before_mnist(plan: &RunPlan, binarization: Binarization) -> Result<()> {
    let all: u64 = plan
        .task
        .classes()
        .iter()
        .map(|&c| {
            MNIST_TRAIN_PER_DIGIT
                .get(usize::from(c))
                .copied()
                .unwrap_or(0)
        })
        .sum();
    let image = Shape::new(28, 28, binarization.channels());
    check_memory_before_loading(plan, image, all, 70_000)
}

/// The memory check of a fresh run on the data folder `dir`, from the sizes its files'
/// headers declare, before any of it is decoded (every training image counts as one of the
/// task's: the labels are not read yet).
fn check_memory_before_dir(
    plan: &RunPlan,
    dir: &std::path::Path,
    binarization: Binarization,
) -> Result<()> {
    let size = bitsmnist_core::datasets::DeclaredSize::of_dir(dir)?;
    let channels = binarization.channels();
    // The headers give the pixels of an image, not its sides: square as MNIST's, else flat.
    let image = Shape::square_of(size.pixels * channels, channels)
        .unwrap_or(Shape::flat(size.pixels * channels));
    check_memory_before_loading(plan, image, size.train as u64, size.images())
}

/// [`RunPlan::memory_with_data`] checked before loading: `all` training examples of the
/// task, `images` images of the map `image` in the data set.
fn check_memory_before_loading(
    plan: &RunPlan,
    image: Shape,
    all: u64,
    images: usize,
) -> Result<()> {
    // As `Split::sample` takes them: at most the fraction, rounded up.
    let examples = ((plan.sample.clamp(0.0, 1.0) * all as f64).ceil() as u64).min(all) as usize;
    if let Start::Fresh { architecture, .. } = &plan.start {
        architecture.shapes(image).context("--arch")?;
    }
    let bytes = plan.memory_with_data(image, plan.task.len(), examples, images);
    bitsmnist_core::memory::check_current(bytes)?;
    Ok(())
}

/// The method and its main settings, for the header line.
fn describe(state: &TrainingState) -> String {
    match state {
        TrainingState::Population { set, metric } => {
            let p = set.params();
            format!(
                "population {} (elitism {}), {} selection, {} crossover, {} mutation, fitness {}",
                p.population,
                p.elitism,
                p.selection,
                p.crossover,
                p.mutation,
                metric.name()
            )
        }
        TrainingState::Climb(c) => climb_words(c.params(), ""),
        TrainingState::Ensemble(e) => {
            let n = e.members().len();
            // Networks with their own imprinted filters vote side by side; others widen into one.
            let joined = match e.chain().layers() {
                [bitsmnist_core::layers::Layer::Vote(_)] => {
                    format!(" of {n} networks, each with its own imprinted filters, voting")
                }
                _ => format!(" of {n} networks merged"),
            };
            climb_words(e.members()[0].params(), &joined)
        }
        TrainingState::Gradient(t) => {
            let p = t.params();
            format!(
                "gradient training, {} epochs, batch {}, input {}",
                p.epochs, p.batch_size, p.input
            )
        }
        _ => state.kind().to_string(),
    }
}

fn climb_words(p: &bitsmnist_core::search::ClimbParams, members: &str) -> String {
    format!(
        "bit-flip climbing{members}: batch {}, objective correct x{} + margin up to {}",
        p.batch_size.map_or("all".to_string(), |b| b.to_string()),
        p.objective.correct_weight,
        p.objective.margin_cap
    )
}

/// The command as a user would type it again (`bitsmnist train --task zero-one ...`), recorded
/// in the saved file so that a model says how it was made; arguments with spaces or quotes
/// are single-quoted for a POSIX shell.
fn command_line() -> String {
    std::iter::once("bitsmnist".to_string())
        .chain(std::env::args_os().skip(1).map(|a| {
            let a = a.to_string_lossy().into_owned();
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./,=:+%@".contains(&b))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}
