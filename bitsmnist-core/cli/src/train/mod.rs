//! `bitsmnist train`: train a bit model by any method and report its accuracy. One path for
//! every method: the flags become a checked [`plan::Plan`] before any data is loaded, the core's
//! [`TrainingState`] runs, one progress bar, checkpoint and report.

mod args;
mod plan;

use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use bitsmnist_core::io::{Metadata, ModelFile};
use bitsmnist_core::run::CancelToken;
use bitsmnist_core::statistics::ConfusionMatrix;
use bitsmnist_core::training::{MethodKind, StateRef, TrainingState};

pub use args::Args;
pub(crate) use plan::member_keys;
use plan::{Member, Plan, Start};

/// SIGINT and SIGTERM seen, each also cancelling the run.
struct Signals {
    interrupt: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
}

impl Signals {
    /// Routes SIGINT and SIGTERM into `cancel`: the run stops at its next stop point and is
    /// saved. A second signal while it winds down ends the program at once.
    fn register(cancel: &CancelToken) -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let signals = Self {
            interrupt: Arc::default(),
            terminate: Arc::default(),
        };
        for (signal, seen) in [(SIGINT, &signals.interrupt), (SIGTERM, &signals.terminate)] {
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
        } else if self.interrupt.load(Ordering::SeqCst) {
            Some(crate::errors::INTERRUPTED)
        } else {
            None
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let plan = args.plan()?;
    bitsmnist_core::memory::set_limit(plan.memory_limit);
    let cancel = CancelToken::new();
    let signals = Signals::register(&cancel).context("listening for SIGINT and SIGTERM")?;
    if let Some(n) = plan.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the thread count")?;
    }
    if let Start::FineTune { path, file, .. } = &plan.start
        && file.model.input() != bitsmnist_core::layers::Input::Bits
    {
        crate::errors::usage!(
            "{}: the model reads grey levels; genetic training feeds it bits",
            path.display()
        );
    }
    if plan.data.dataset == bitsmnist_core::datasets::Source::Mnist {
        check_memory_before_mnist(&plan)?;
    }
    let full = plan.data.load()?;
    let mut data = full.for_task(&plan.task)?;
    if plan.sample < 1.0 {
        data.train = data.train.sample(plan.sample, data.classes());
    }
    let kind = plan.kind();
    let Plan {
        task,
        start,
        mut options,
        time_limit,
        validate_every,
        checkpoint_every,
        out,
        quiet,
        progress,
        member,
        ..
    } = plan;
    // What a resumed or fine-tuned run continues, said in the first line (the step is
    // known once the state is made).
    let origin = match &start {
        Start::Resume { path, file } => Some(match &file.meta.dataset {
            Some(d) if *d != data.name => {
                format!("resumed from {} (trained so far on {d})", path.display())
            }
            _ => format!("resumed from {}", path.display()),
        }),
        Start::FineTune { path, .. } => {
            Some(format!("fine-tuning the model in {}", path.display()))
        }
        Start::Fresh { .. } => None,
    };
    // A member's file says which member of which ensemble it is; a resumed member's run
    // keeps saying it.
    let membership: Vec<(String, String)> = match (&member, &start) {
        (Some(m), _) => vec![
            (member_keys::INDEX.into(), m.index.to_string()),
            (member_keys::OF.into(), m.of.to_string()),
            (member_keys::SEED.into(), m.seed.to_string()),
        ],
        (None, Start::Resume { file, .. }) => {
            [member_keys::INDEX, member_keys::OF, member_keys::SEED]
                .iter()
                .filter_map(|&k| file.meta.extra.get(k).map(|v| (k.to_string(), v.clone())))
                .collect()
        }
        _ => Vec::new(),
    };
    let seed = match (&start, &member) {
        (
            Start::Fresh { seed, .. },
            Some(Member {
                index,
                of,
                seed: ensemble,
                ..
            }),
        ) => {
            format!("member {index} of {of} of the ensemble seeded {ensemble} (seed {seed})")
        }
        (Start::Fresh { seed, .. }, None) => format!("seed {seed}"),
        (Start::Resume { .. }, _) => "the seeds it started with".into(),
        (Start::FineTune { .. }, _) => "seed from --seed".into(),
    };
    options = options.cancel(cancel);
    let mut state = start.state(&data.train, data.classes())?;
    let (inputs, classes) = state.shape();
    if (inputs, classes) != (data.pixels(), data.classes()) {
        crate::errors::usage!(
            "the model takes {inputs} inputs and gives {classes} outputs; this data set and task need {} and {}",
            data.pixels(),
            data.classes()
        );
    }
    if validate_every > 0 {
        options = options.validate_on(&data.test, validate_every);
    }
    let meta = membership.into_iter().fold(
        Metadata::now().with_dataset(&data).with_task(&task),
        |m, (k, v)| m.with_extra(k, v),
    );
    out!(
        "{}: task {task}, {} training and {} test examples; {}; {}{}; {seed}; {} threads",
        data.name,
        data.train.len(),
        data.test.len(),
        state.current_model(),
        describe(&state),
        origin
            .map(|o| format!(", {o} at step {}", state.step_number()))
            .unwrap_or_default(),
        rayon::current_num_threads()
    );
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = match time_limit {
            Some(l) => indicatif::ProgressBar::new(l.as_secs()),
            None => indicatif::ProgressBar::new_spinner(),
        };
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
                .expect("valid template"),
        );
        b
    };
    let trials_before = trials(&state.as_ref());
    let start = Instant::now();
    let mut checkpoint_error = None;
    let outcome = state.train(&data.train, &options, |p| {
        let r = p.record;
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(r.to_string());
        if progress > 0 && r.step.is_multiple_of(progress) {
            bar.suspend(|| out!("{r}"));
        }
        if let (Some(every), Some(path)) = (checkpoint_every, &out)
            && r.step.is_multiple_of(every)
            && let Err(e) = ModelFile::from_state(&p.state.to_state(), &data.train)
                .with_meta(meta.clone())
                .save(path)
        {
            checkpoint_error = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    if let Some(e) = checkpoint_error {
        return Err(e).context("writing a checkpoint");
    }
    // Saved before anything else, so that a second signal or a failing report loses nothing.
    if let Some(path) = &out {
        let mut file = ModelFile::from_state(&state, &data.train).with_meta(meta);
        if let TrainingState::Gradient(t) = &state {
            file.meta = file.meta.with_extra("input", t.params().input.to_string());
        }
        file.save(path)
            .with_context(|| path.display().to_string())?;
    }
    let secs = start.elapsed().as_secs_f64();
    let step_name = if kind == MethodKind::Gradient {
        "epoch"
    } else {
        "generation"
    };
    if let Some(status) = signals.exit_status() {
        // Asked to stop: the run is saved; the report (an evaluation of every example) is
        // left to `bitsmnist eval`.
        eprintln!(
            "interrupted by a signal at {step_name} {} after {secs:.1} s{}",
            outcome.step,
            out.as_ref()
                .map(|p| format!("; saved {} (--resume continues it)", p.display()))
                .unwrap_or_else(|| "; nothing saved (no --out)".into())
        );
        return Ok(ExitCode::from(status));
    }
    let model = state.model(&data.train);
    let train = ConfusionMatrix::evaluate(&model, &data.train);
    let test = ConfusionMatrix::evaluate(&model, &data.test);
    out!(
        "stopped: {} at {step_name} {} after {secs:.1} s ({:.1} {step_name}s/s); objective {:.4}",
        outcome.reason,
        outcome.step,
        outcome.steps as f64 / secs.max(1e-9),
        outcome.best_fitness
    );
    let flips = trials(&state.as_ref()) - trials_before;
    match &state {
        TrainingState::Population { set, .. } => {
            let reuse = set.output_reuse();
            if reuse.reused > 0 {
                out!(
                    "first-layer outputs reused for {:.1}% of the neurons scored ({:.1} MB held)",
                    100.0 * reuse.reused as f64 / (reuse.reused + reuse.computed) as f64,
                    reuse.bytes as f64 / 1e6
                );
            }
        }
        TrainingState::Climb(_) | TrainingState::Ensemble(_) => out!(
            "{flips} flips tried ({:.0}/s); incremental state {:.1} MB",
            flips as f64 / secs.max(1e-9),
            memory(&state) as f64 / 1e6
        ),
        _ => {}
    }
    if let TrainingState::Ensemble(e) = &state {
        for (m, c) in e.members().iter().enumerate() {
            out!(
                "member {m}: test accuracy {:.2}%",
                bitsmnist_core::statistics::accuracy(c.choose(&data.train), &data.test) * 100.0
            );
        }
    }
    out!("{model}");
    out!(
        "train error {:.4}% , test error {:.4}% ({} of {} test examples wrong)",
        train.error() * 100.0,
        test.error() * 100.0,
        test.total() - (test.accuracy() * test.total() as f64).round() as u64,
        test.total()
    );
    if let Some(path) = &out {
        out!("saved {}", path.display());
    }
    let mut json = serde_json::json!({
        "method": if kind == MethodKind::Gradient { "gradient" } else { "genetic" },
        "task": task.to_string(),
        "dataset": data.name,
        "test_error": test.error(),
        "test_accuracy": test.accuracy(),
        "train_error": train.error(),
        "train_accuracy": train.accuracy(),
        "stop": outcome.reason.to_string(),
        "generations": if kind == MethodKind::Gradient { 0 } else { outcome.step },
        "seconds": secs,
        "generations_per_sec": outcome.steps as f64 / secs.max(1e-9),
        "parameters": model.parameters(),
        "bytes": model.bytes(),
    });
    let extra = match &state {
        TrainingState::Population { set, .. } => {
            let reuse = set.output_reuse();
            serde_json::json!({
                "strategy": "population",
                "reused_neuron_share":
                    reuse.reused as f64 / (reuse.reused + reuse.computed).max(1) as f64,
            })
        }
        TrainingState::Climb(_) | TrainingState::Ensemble(_) => serde_json::json!({
            "strategy": "climb",
            "members": networks(&state),
            "flips": flips,
            "flips_per_sec": flips as f64 / secs.max(1e-9),
            "state_bytes_per_network": memory(&state) / networks(&state),
        }),
        TrainingState::Gradient(t) => serde_json::json!({
            "hidden": t.params().hidden,
            "arch": bitsmnist_core::gradient::architecture_string(
                &t.params().features,
                &t.params().hidden
            ),
            "input": t.params().input.to_string(),
            "epochs": outcome.step,
            "train_secs": secs,
        }),
        _ => serde_json::json!({}),
    };
    if let (Some(j), serde_json::Value::Object(e)) = (json.as_object_mut(), extra) {
        j.extend(e);
    }
    if let (Some(j), Some(m)) = (json.as_object_mut(), &member) {
        j.insert("member".into(), m.index.into());
        j.insert("of".into(), m.of.into());
    }
    out!("{json}");
    Ok(ExitCode::SUCCESS)
}

/// Full MNIST's training images of each digit, 0 to 9: 60,000 of 28x28 pixels in all.
const MNIST_TRAIN_PER_DIGIT: [u64; 10] =
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

/// The memory check of a fresh run ([`Start::state`]) made from full MNIST's known sizes
/// before the set is loaded, so that a request too large for the machine is refused before
/// the set is downloaded the first time.
fn check_memory_before_mnist(plan: &Plan) -> Result<()> {
    let Start::Fresh {
        config,
        features,
        hidden,
        ..
    } = &plan.start
    else {
        return Ok(());
    };
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
    // As `Split::sample` takes them: at most the fraction, rounded up.
    let examples = ((plan.sample.clamp(0.0, 1.0) * all as f64).ceil() as u64).min(all) as usize;
    // Counted as `Start::state` counts them: imprinted features, then the dense layers.
    let inputs = 28 * 28;
    let shapes = bitsmnist_core::layers::feature_shapes(features, inputs).context("--arch")?;
    let front =
        bitsmnist_core::search::imprint::memory_estimate(features, inputs, examples).unwrap_or(0);
    let dense_inputs = shapes.last().map_or(inputs, |s| s.bits());
    bitsmnist_core::memory::check_current(
        config
            .memory_estimate(dense_inputs, hidden, plan.task.len(), examples)
            .saturating_add(front),
    )?;
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
        TrainingState::Climb(c) => climb_words(c.params(), 1),
        TrainingState::Ensemble(e) => climb_words(e.members()[0].params(), e.members().len()),
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

fn climb_words(p: &bitsmnist_core::search::ClimbParams, members: usize) -> String {
    format!(
        "bit-flip climbing{}: batch {}, objective correct x{} + margin up to {}",
        if members > 1 {
            format!(" of {members} networks merged")
        } else {
            String::new()
        },
        p.batch_size.map_or("all".to_string(), |b| b.to_string()),
        p.objective.correct_weight,
        p.objective.margin_cap
    )
}

/// Flip trials so far (0 for the methods that do not climb).
fn trials(state: &StateRef<'_>) -> u64 {
    match state {
        StateRef::Climb(c) => c.trials(),
        StateRef::Ensemble(e) => e.trials(),
        _ => 0,
    }
}

/// Networks climbed side by side (1 but for an ensemble).
fn networks(state: &TrainingState) -> usize {
    match state {
        TrainingState::Ensemble(e) => e.members().len(),
        _ => 1,
    }
}

/// Bytes of the climbs' incremental states.
fn memory(state: &TrainingState) -> usize {
    match state {
        TrainingState::Climb(c) => c.memory_bytes(),
        TrainingState::Ensemble(e) => e.memory_bytes(),
        _ => 0,
    }
}
