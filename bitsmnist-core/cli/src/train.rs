//! `bitsmnist train`: train a bit model and report its accuracy.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::fitness::{Fitness, Metric};
use bitsmnist_core::genetic::{
    self as ga, Adaptation, ClimbEnsemble, ClimbParams, Climber, Crossover, Mutation, Objective,
    Recipe, Selection, Strategy, TrainingSet,
};
use bitsmnist_core::gradient::{GradientParams, Input, Schedule, TrainOptions, Trainer};
use bitsmnist_core::io::{Metadata, ModelFile};
use bitsmnist_core::layers::{Activation, BitOutput, Chain};
use bitsmnist_core::statistics::{self, ConfusionMatrix};

use crate::data::DataOptions;

/// Training method.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Gradient-free search over the bits (the original's genetic algorithm, and more).
    Genetic,
    /// Back-propagation with the straight-through estimator, folded into bit layers.
    Gradient,
}

/// Gradient-free search strategy.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyArg {
    /// The population genetic algorithm (the original's, and more).
    Population,
    /// Bit-flip hill climbing with incremental evaluation.
    Climb,
}

/// Arguments of `bitsmnist train`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataOptions,
    /// Training method.
    #[arg(long, value_enum, default_value = "genetic")]
    method: Method,
    /// Task: `zero-one`, `digits`, or a class list such as `3,8`.
    #[arg(long, default_value = "zero-one")]
    task: Task,
    /// Fraction of the training split to use (class-balanced scan as the original's sample).
    #[arg(long, default_value_t = 1.0)]
    sample: f64,
    /// Hidden layer widths, comma-separated (default: per task for genetic, 2048 for gradient).
    #[arg(long, value_delimiter = ',')]
    hidden: Vec<usize>,
    /// Output layer: `float` (popcount score), `bits` (the original's bit output) or an
    /// activation name (`sigmoid`, ...) (genetic).
    #[arg(long)]
    output: Option<String>,
    /// Search strategy (genetic; default per task: population for two classes, climb for
    /// more).
    #[arg(long, value_enum)]
    strategy: Option<StrategyArg>,
    /// Networks trained side by side and merged into one model that votes (climb).
    #[arg(long)]
    ensemble: Option<usize>,
    /// Flip trials per generation (climb).
    #[arg(long)]
    trials: Option<u64>,
    /// Draw a fresh batch every so many generations, 0 for never (climb).
    #[arg(long)]
    rebatch_every: Option<u64>,
    /// Largest popcount margin the objective counts, 0 for accuracy only (climb).
    #[arg(long)]
    margin: Option<u32>,
    /// Weight of a correct prediction in the objective (climb).
    #[arg(long)]
    correct_weight: Option<u32>,
    /// Fraction of trials that flip an output-layer bit (climb).
    #[arg(long)]
    output_share: Option<f64>,
    /// Keep flips that leave the objective unchanged (climb).
    #[arg(long)]
    accept_ties: bool,
    /// Score the model on all training examples every so many generations and keep the
    /// most accurate, 0 for never (climb).
    #[arg(long)]
    rescore_every: Option<u64>,
    /// Candidates per generation (genetic; default per task).
    #[arg(long)]
    population: Option<usize>,
    /// Best candidates kept unchanged (genetic; default per task).
    #[arg(long)]
    elitism: Option<usize>,
    /// Parent selection: `elite` or `tournament:SIZE` (genetic).
    #[arg(long)]
    selection: Option<String>,
    /// Crossover: `split:DIVISOR` (the original), `uniform`, `neuron` or `none` (genetic).
    #[arg(long)]
    crossover: Option<String>,
    /// Mutation: `replace:RATE` (the original), `flip:RATE` or `flip-k:K` (genetic).
    #[arg(long)]
    mutation: Option<String>,
    /// Adaptive mutation strength: `none`, `one-fifth` or `stagnation:PATIENCE` (genetic).
    #[arg(long)]
    adapt: Option<String>,
    /// Fitness evaluations averaged per candidate (genetic).
    #[arg(long)]
    evals: Option<usize>,
    /// Fitness on a fresh seeded mini-batch of this size, or `full` (genetic; for climb the
    /// batch is redrawn every `--rebatch-every` generations).
    #[arg(long)]
    batch: Option<String>,
    /// Fitness: `score` (the original), `accuracy` or `mcc` (genetic).
    #[arg(long)]
    fitness: Option<Metric>,
    /// Stop after this many generations (genetic).
    #[arg(long)]
    generations: Option<u64>,
    /// Stop when the best fitness reaches this value (genetic).
    #[arg(long)]
    target: Option<f64>,
    /// Stop after this many generations without improvement (genetic).
    #[arg(long)]
    patience: Option<u64>,
    /// Record test accuracy every so many generations (genetic; 0: never).
    #[arg(long, default_value_t = 0)]
    validate_every: u64,
    /// Save a checkpoint into `--out` every so many generations (genetic).
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// Continue the training state saved in this `.bin` (genetic).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Start from the model in this `.bin` instead of random bits: fine-tune it (genetic;
    /// e.g. a model from `--method gradient`).
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Write the model (and, for genetic, the training state) to this `.bin` file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Epochs (gradient).
    #[arg(long, default_value_t = 30)]
    epochs: u32,
    /// Mini-batch size (gradient).
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Base learning rate of Adam (gradient).
    #[arg(long, default_value_t = 5e-3)]
    lr: f32,
    /// Learning-rate schedule: constant, cosine[:floor] or step:every:factor (gradient).
    #[arg(long, default_value = "cosine")]
    schedule: Schedule,
    /// Largest random shift in pixels for augmentation, 0 for none (gradient).
    #[arg(long, default_value_t = 1)]
    shift: u8,
    /// First-layer input: `bits` (pure bit model) or `grey` (float first layer) (gradient).
    #[arg(long, default_value = "bits")]
    input: Input,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print a progress line every so many epochs (gradient; 0: only the summary).
    #[arg(long, default_value_t = 1)]
    progress: u32,
    /// No progress bar (genetic).
    #[arg(long)]
    quiet: bool,
    /// Stop after this many seconds (the model trained so far is kept).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Measure test accuracy after every epoch, not just at the end.
    #[arg(long)]
    test_every_epoch: bool,
    /// Rayon threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the thread count")?;
    }
    let full = args.data.load()?;
    let mut data = full.for_task(&args.task)?;
    if !(args.sample > 0.0 && args.sample <= 1.0) {
        bail!("--sample must be in (0, 1], got {}", args.sample);
    }
    if args.sample < 1.0 {
        data.train = data.train.sample(args.sample, data.classes());
    }
    match args.method {
        Method::Genetic => {
            // Read once: the file says which strategy it continues.
            let resumed = match &args.resume {
                Some(path) => Some((
                    path,
                    ModelFile::load(path).with_context(|| format!("{}", path.display()))?,
                )),
                None => None,
            };
            let recipe = Recipe::for_task(&args.task);
            let climb = match (args.strategy, &resumed) {
                (Some(s), _) => s == StrategyArg::Climb,
                (None, Some((_, file))) => file.climb.is_some(),
                (None, None) => matches!(recipe.strategy, Strategy::Climb { .. }),
            };
            match (climb, resumed) {
                (true, Some((path, file))) => {
                    let c = file
                        .climb
                        .with_context(|| format!("{}: holds no climbing state", path.display()))?;
                    climb_run(&args, &data, &recipe, Some(c))
                }
                (true, None) => climb_run(&args, &data, &recipe, None),
                (false, Some((path, file))) => {
                    let set = file
                        .training
                        .with_context(|| format!("{}: holds no training state", path.display()))?;
                    genetic_run(&args, &data, Some(set))
                }
                (false, None) => genetic_run(&args, &data, None),
            }
        }
        Method::Gradient => gradient_run(&args, &data),
    }
}

fn parse_kv(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    }
}

fn num<T: std::str::FromStr>(what: &str, v: Option<&str>) -> Result<T> {
    let v = v.with_context(|| format!("{what} needs a value after `:`"))?;
    v.parse()
        .map_err(|_| anyhow::anyhow!("{what}: `{v}` is not a valid number"))
}

/// Applies the command line's trainer options over the task's defaults.
fn trainer_params(args: &Args, mut p: ga::TrainerParams) -> Result<ga::TrainerParams> {
    if let Some(n) = args.population {
        p.population = n;
    }
    if let Some(n) = args.elitism {
        p.elitism = n;
    }
    if let Some(s) = &args.selection {
        p.selection = match parse_kv(s) {
            ("elite", None) => Selection::Elite,
            ("tournament", v) => Selection::Tournament {
                size: num("tournament", v.or(Some("3")))?,
            },
            _ => bail!("--selection `{s}`: use elite or tournament:SIZE"),
        };
    }
    if let Some(s) = &args.crossover {
        p.crossover = match parse_kv(s) {
            ("split", v) => Crossover::Split {
                divisor: num("split", v.or(Some("2")))?,
            },
            ("uniform", None) => Crossover::Uniform,
            ("neuron", None) => Crossover::Neuron,
            ("none", None) => Crossover::None,
            _ => bail!("--crossover `{s}`: use split:DIVISOR, uniform, neuron or none"),
        };
    }
    if let Some(s) = &args.mutation {
        p.mutation = match parse_kv(s) {
            ("replace", v) => Mutation::Replace {
                rate: num("replace", v)?,
            },
            ("flip", v) => Mutation::Flip {
                rate: num("flip", v)?,
            },
            ("flip-k", v) => Mutation::FlipK {
                k: num("flip-k", v)?,
            },
            _ => bail!("--mutation `{s}`: use replace:RATE, flip:RATE or flip-k:K"),
        };
    }
    if let Some(s) = &args.adapt {
        p.adaptation = match parse_kv(s) {
            ("none", None) => Adaptation::None,
            ("one-fifth", None) => Adaptation::OneFifth {
                factor: 1.2,
                min_scale: 0.01,
                max_scale: 10.0,
            },
            ("stagnation", v) => Adaptation::Stagnation {
                patience: num("stagnation", v.or(Some("50")))?,
                factor: 0.5,
                min_scale: 0.01,
            },
            _ => bail!("--adapt `{s}`: use none, one-fifth or stagnation:PATIENCE"),
        };
    }
    if let Some(n) = args.evals {
        p.evals_per_candidate = n;
    }
    if let Some(b) = &args.batch {
        p.batch_size = match b.as_str() {
            "full" => None,
            n => Some(num("--batch", Some(n))?),
        };
    }
    p.seed = args.seed;
    p.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(p)
}

fn output_kind(s: &str) -> Result<BitOutput> {
    Ok(match s {
        "bits" => BitOutput::Bits,
        "float" => BitOutput::Float(Activation::Identity),
        a => BitOutput::Float(
            a.parse::<Activation>()
                .map_err(|e| anyhow::anyhow!("--output: {e}"))?,
        ),
    })
}

fn genetic_run(args: &Args, data: &Dataset, resumed: Option<TrainingSet>) -> Result<()> {
    let recipe = Recipe::for_task(&args.task);
    let classes = data.classes();
    let mut set = match resumed {
        Some(set) => set,
        None => {
            let hidden = if args.hidden.is_empty() {
                vec![recipe.hidden]
            } else {
                args.hidden.clone()
            };
            if hidden.contains(&0) {
                bail!("--hidden: every hidden layer needs at least one neuron");
            }
            let output = match &args.output {
                Some(o) => output_kind(o)?,
                None => recipe.output,
            };
            // The library's seed rule, shared with notebooks and the app.
            let model = Chain::mlp(data.pixels(), &hidden, classes, output, args.seed)?;
            let params = trainer_params(args, recipe.params.clone())?;
            match initial_model(args)? {
                Some(chain) => {
                    let layers: Vec<usize> = (0..chain.layers().len())
                        .filter(|&i| chain.layers()[i].as_bit().is_some())
                        .collect();
                    TrainingSet::starting_from(chain, &layers, params)?
                }
                None => TrainingSet::for_all_bit_layers(model, params)?,
            }
        }
    };
    if set.chain().inputs() != data.pixels() || set.chain().outputs() != classes {
        bail!(
            "the model takes {} inputs and gives {} outputs; this data set and task need {} and {}",
            set.chain().inputs(),
            set.chain().outputs(),
            data.pixels(),
            classes
        );
    }
    let metric = args.fitness.unwrap_or(recipe.metric);
    let fitness = Fitness::new(metric, &data.train);
    let mut opts = ga::TrainOptions::new().quiet();
    let explicit_stop =
        args.generations.is_some() || args.target.is_some() || args.time_limit.is_some();
    if let Some(n) = args.generations {
        opts = opts.generations(n);
    }
    if let Some(t) = args.target {
        opts = opts.target_fitness(t);
    }
    if let Some(n) = args.patience {
        opts = opts.patience(n);
    }
    let limit = match args.time_limit {
        Some(s) => Some(Duration::from_secs_f64(s.max(0.0))),
        None if !explicit_stop && args.patience.is_none() => Some(recipe.time_limit),
        None => None,
    };
    if let Some(l) = limit {
        opts = opts.time_limit(l);
    }
    if args.validate_every > 0 {
        opts = opts.validate_on(&data.test, args.validate_every);
    }
    let meta = Metadata::now()
        .with_dataset(data)
        .with_task(&args.task)
        .with_extra("method", "genetic");
    out!(
        "{}: task {}, {} training and {} test examples; {} ; fitness {}; seed {}; {} threads",
        data.name,
        args.task,
        data.train.len(),
        data.test.len(),
        set.chain(),
        metric.name(),
        args.seed,
        rayon::current_num_threads()
    );
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = match limit {
            Some(l) => indicatif::ProgressBar::new(l.as_secs()),
            None => indicatif::ProgressBar::new_spinner(),
        };
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
                .expect("valid template"),
        );
        b
    };
    let start = Instant::now();
    let mut checkpoint_error = None;
    let outcome = set.train(&fitness, &opts, |p| {
        let r = p.record;
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(format!(
            "gen {} best {:.4} mean {:.4} ({:.0} gen/s){}",
            r.generation,
            r.best,
            r.mean,
            r.generations_per_sec,
            r.validation_accuracy
                .map(|a| format!(" test acc {:.2}%", a * 100.0))
                .unwrap_or_default()
        ));
        if let (Some(every), Some(path)) = (args.checkpoint_every, &args.out)
            && every > 0
            && r.generation.is_multiple_of(every)
            && let Err(e) = ModelFile::from_training(p.set)
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
    let secs = start.elapsed().as_secs_f64();
    let model = set.chain();
    let train = ConfusionMatrix::evaluate(model, &data.train);
    let test = ConfusionMatrix::evaluate(model, &data.test);
    let gps = outcome.steps as f64 / secs.max(1e-9);
    out!(
        "stopped: {:?} at generation {} after {secs:.1} s ({gps:.1} generations/s); best fitness {:.4}",
        outcome.reason,
        outcome.generation,
        outcome.best_fitness
    );
    out!(
        "train error {:.4}% , test error {:.4}% ({} of {} test examples wrong)",
        train.error() * 100.0,
        test.error() * 100.0,
        test.total() - (test.accuracy() * test.total() as f64).round() as u64,
        test.total()
    );
    let reuse = set.output_reuse();
    let reused_share = reuse.reused as f64 / (reuse.reused + reuse.computed).max(1) as f64;
    if reuse.reused > 0 {
        out!(
            "first-layer outputs reused for {:.1}% of the neurons scored ({:.1} MB held)",
            100.0 * reused_share,
            reuse.bytes as f64 / 1e6
        );
    }
    if let Some(path) = &args.out {
        ModelFile::from_training(&set)
            .with_meta(meta)
            .save(path)
            .with_context(|| format!("{}", path.display()))?;
        out!("saved {}", path.display());
    }
    let json = serde_json::json!({
        "method": "genetic",
        "task": args.task.to_string(),
        "test_error": test.error(),
        "test_accuracy": test.accuracy(),
        "train_error": train.error(),
        "generations": outcome.generation,
        "seconds": secs,
        "generations_per_sec": gps,
        "strategy": "population",
        "reused_neuron_share": reused_share,
    });
    out!("{json}");
    Ok(())
}

/// The model of `--init`, if given.
fn initial_model(args: &Args) -> Result<Option<Chain>> {
    let Some(path) = &args.init else {
        return Ok(None);
    };
    let file = ModelFile::load(path).with_context(|| format!("{}", path.display()))?;
    if file.model.input() != Input::Bits {
        bail!(
            "{}: the model reads grey levels; genetic training feeds it bits",
            path.display()
        );
    }
    Ok(Some(file.model))
}

/// The climber's parameters: the recipe's (or the defaults), with the command line's options.
fn climb_params(args: &Args, recipe: &Recipe) -> Result<(ClimbParams, usize)> {
    let (mut p, mut members) = match &recipe.strategy {
        Strategy::Climb { params, members } => (params.clone(), *members),
        _ => (ClimbParams::default(), 1),
    };
    if let Some(b) = &args.batch {
        p.batch_size = match b.as_str() {
            "full" => None,
            n => Some(num("--batch", Some(n))?),
        };
    }
    if let Some(n) = args.rebatch_every {
        p.rebatch_every = n;
    }
    if let Some(n) = args.trials {
        p.trials_per_generation = n;
    }
    let mut o: Objective = p.objective;
    if let Some(m) = args.margin {
        o.margin_cap = m;
    }
    if let Some(w) = args.correct_weight {
        o.correct_weight = w;
    }
    p.objective = o;
    if let Some(s) = args.output_share {
        p.output_share = s;
    }
    if args.accept_ties {
        p.accept_ties = true;
    }
    if let Some(n) = args.rescore_every {
        p.rescore_every = n;
    }
    if let Some(m) = args.ensemble {
        if m == 0 {
            bail!("--ensemble needs at least one member");
        }
        members = m;
    }
    Ok((p.seed(args.seed), members))
}

/// Bit-flip hill climbing: one network, or an ensemble trained side by side and merged.
fn climb_run(args: &Args, data: &Dataset, recipe: &Recipe, resumed: Option<Climber>) -> Result<()> {
    let (params, mut members) = climb_params(args, recipe)?;
    let classes = data.classes();
    let climbers = match resumed {
        Some(c) => {
            if args.ensemble.is_some_and(|m| m > 1) {
                bail!("--resume continues one network; --ensemble cannot be combined with it");
            }
            members = 1;
            vec![c]
        }
        None if args.init.is_some() => {
            if args.ensemble.is_some_and(|m| m > 1) {
                bail!("--init fine-tunes one network; --ensemble cannot be combined with it");
            }
            members = 1;
            let chain = initial_model(args)?.expect("checked");
            vec![Climber::new(chain, params.clone())?]
        }
        None => {
            let hidden = match args.hidden.as_slice() {
                [] => recipe.hidden,
                [h] if *h > 0 => *h,
                _ => bail!(
                    "--hidden: climbing trains exactly one hidden layer of at least one neuron"
                ),
            };
            let output = match &args.output {
                Some(o) => output_kind(o)?,
                None => recipe.output,
            };
            // Members differ in their starting weights, flips and batches: member `m` uses
            // the seed `seed + 1000 m` for its network (the library's seed rule,
            // `Chain::mlp`, as notebooks and the app) and for its climb.
            (0..members.max(1) as u64)
                .map(|m| {
                    let seed = args.seed.wrapping_add(m * 1000);
                    let chain = Chain::mlp(data.pixels(), &[hidden], classes, output, seed)?;
                    Ok(Climber::new(chain, params.clone().seed(seed))?)
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    let mut ensemble = ClimbEnsemble::new(climbers)?;
    let climbers = ensemble.members();
    let first = climbers[0].chain();
    if first.inputs() != data.pixels() || first.outputs() != classes {
        bail!(
            "the model takes {} inputs and gives {} outputs; this data set and task need {} and {}",
            first.inputs(),
            first.outputs(),
            data.pixels(),
            classes
        );
    }
    let mut opts = ga::TrainOptions::new().quiet();
    let explicit_stop =
        args.generations.is_some() || args.target.is_some() || args.time_limit.is_some();
    if let Some(n) = args.generations {
        opts = opts.generations(n);
    }
    if let Some(t) = args.target {
        opts = opts.target_fitness(t);
    }
    if let Some(n) = args.patience {
        opts = opts.patience(n);
    }
    let limit = match args.time_limit {
        Some(s) => Some(Duration::from_secs_f64(s.max(0.0))),
        None if !explicit_stop && args.patience.is_none() => Some(recipe.time_limit),
        None => None,
    };
    // Members beyond the thread count train in turns; the budget is for the whole run.
    if let Some(l) = limit {
        opts = opts.time_limit(l);
    }
    if args.validate_every > 0 {
        opts = opts.validate_on(&data.test, args.validate_every);
    }
    let p = climbers[0].params();
    let meta = Metadata::now()
        .with_dataset(data)
        .with_task(&args.task)
        .with_extra("method", "genetic")
        .with_extra("strategy", "climb")
        .with_extra("members", members.to_string());
    out!(
        "{}: task {}, {} training and {} test examples; {}{}; bit-flip climbing: batch {}, objective correct x{} + margin up to {}; seed {}; {} threads",
        data.name,
        args.task,
        data.train.len(),
        data.test.len(),
        first,
        if members > 1 {
            format!(" x {members} merged")
        } else {
            String::new()
        },
        p.batch_size.map_or("all".to_string(), |b| b.to_string()),
        p.objective.correct_weight,
        p.objective.margin_cap,
        args.seed,
        rayon::current_num_threads()
    );
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = match limit {
            Some(l) => indicatif::ProgressBar::new(l.as_secs()),
            None => indicatif::ProgressBar::new_spinner(),
        };
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
                .expect("valid template"),
        );
        b
    };
    let start = Instant::now();
    let checkpoint_error = std::sync::Mutex::new(None);
    let trials = p.trials_per_generation;
    let outcomes = ensemble.train(&data.train, &opts, |m, p| {
        if m > 0 {
            return ControlFlow::Continue(());
        }
        let r = p.record;
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(format!(
            "gen {} fitness {:.4} ({:.0} flips/s, {} kept){}",
            r.generation,
            r.best,
            r.generations_per_sec * trials as f64,
            p.climber.accepted(),
            r.validation_accuracy
                .map(|a| format!(" test acc {:.2}%", a * 100.0))
                .unwrap_or_default()
        ));
        if let (Some(every), Some(path), 1) = (args.checkpoint_every, &args.out, members)
            && every > 0
            && r.generation.is_multiple_of(every)
            && let Err(e) = ModelFile::from_climber(p.climber)
                .with_meta(meta.clone())
                .save(path)
        {
            *checkpoint_error.lock().expect("not poisoned") = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    let climbers = ensemble.members();
    bar.finish_and_clear();
    if let Some(e) = checkpoint_error.into_inner().expect("not poisoned") {
        return Err(e).context("writing a checkpoint");
    }
    let secs = start.elapsed().as_secs_f64();
    // Each network as the more accurate on the training digits of its last state and its
    // best re-scored one, merged.
    let model = ensemble.model(&data.train)?;
    let train = ConfusionMatrix::evaluate(&model, &data.train);
    let test = ConfusionMatrix::evaluate(&model, &data.test);
    let flips: u64 = outcomes.iter().map(|o| o.steps).sum::<u64>() * trials;
    let generation = outcomes[0].generation;
    out!(
        "stopped: {:?} at generation {generation} after {secs:.1} s; {flips} flips tried ({:.0}/s), {} kept; batch fitness {:.4}; incremental state {:.1} MB per network",
        outcomes[0].reason,
        flips as f64 / secs.max(1e-9),
        climbers.iter().map(Climber::accepted).sum::<u64>(),
        outcomes[0].best_fitness,
        climbers[0].memory_bytes() as f64 / 1e6
    );
    if members > 1 {
        for (m, c) in climbers.iter().enumerate() {
            out!(
                "member {m}: test accuracy {:.2}%",
                statistics::accuracy(c.choose(&data.train), &data.test) * 100.0
            );
        }
    }
    out!(
        "train error {:.4}% , test error {:.4}% ({} of {} test examples wrong)",
        train.error() * 100.0,
        test.error() * 100.0,
        test.total() - (test.accuracy() * test.total() as f64).round() as u64,
        test.total()
    );
    if let Some(path) = &args.out {
        let file = if members == 1 {
            // The state continues the climb; the model is the one chosen above.
            let mut f = ModelFile::from_climber(&climbers[0]);
            f.model = model.clone();
            f
        } else {
            ModelFile::new(model.clone()).with_history(climbers[0].history().clone())
        };
        file.with_meta(meta)
            .save(path)
            .with_context(|| format!("{}", path.display()))?;
        out!("saved {}", path.display());
    }
    let json = serde_json::json!({
        "method": "genetic",
        "strategy": "climb",
        "task": args.task.to_string(),
        "members": members,
        "test_error": test.error(),
        "test_accuracy": test.accuracy(),
        "train_error": train.error(),
        "generations": generation,
        "flips": flips,
        "flips_per_sec": flips as f64 / secs.max(1e-9),
        "seconds": secs,
        "generations_per_sec": outcomes[0].steps as f64 / secs.max(1e-9),
        "state_bytes_per_network": climbers[0].memory_bytes(),
    });
    out!("{json}");
    Ok(())
}

fn gradient_run(args: &Args, data: &Dataset) -> Result<()> {
    let hidden = if args.hidden.is_empty() {
        vec![2048]
    } else {
        args.hidden.clone()
    };
    let params = GradientParams::default()
        .hidden(hidden.clone())
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .learning_rate(args.lr)
        .schedule(args.schedule)
        .max_shift(args.shift)
        .input(args.input)
        .seed(args.seed);
    let mut trainer = Trainer::new(params, data.pixels(), data.classes())?;
    out!(
        "{}: {} training and {} test examples, {} classes; gradient training {} -> {} -> {}, {} epochs, input {}, {} threads",
        data.name,
        data.train.len(),
        data.test.len(),
        data.classes(),
        data.pixels(),
        hidden
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" -> "),
        data.classes(),
        args.epochs,
        args.input,
        rayon::current_num_threads()
    );
    let mut opts = TrainOptions::new().print_every(args.progress);
    if let Some(s) = args.time_limit {
        opts = opts.time_limit(Duration::from_secs_f64(s.max(0.0)));
    }
    let test = args.test_every_epoch.then_some(&data.test);
    let start = Instant::now();
    let outcome = trainer.train(&data.train, test, &opts, |_| ControlFlow::Continue(()))?;
    let secs = start.elapsed().as_secs_f64();
    let model = trainer.export();
    // The exported model reads the trainer's input (`Chain::input`).
    let test_accuracy = statistics::try_accuracy(&model, &data.test)?;
    let train_accuracy = statistics::try_accuracy(&model, &data.train)?;
    out!("{model}");
    if let Some(path) = &args.out {
        ModelFile::new(model.clone())
            .with_meta(
                Metadata::now()
                    .with_dataset(data)
                    .with_task(&args.task)
                    .with_extra("method", "gradient"),
            )
            .save(path)
            .with_context(|| format!("{}", path.display()))?;
        out!("saved {}", path.display());
    }
    out!(
        "stopped: {:?} after {} epochs, {secs:.1} s; exported model: train accuracy {:.2}%, test accuracy {:.2}%",
        outcome.reason,
        outcome.epoch,
        train_accuracy * 100.0,
        test_accuracy * 100.0
    );
    let json = serde_json::json!({
        "method": "gradient",
        "dataset": data.name,
        "hidden": hidden,
        "input": args.input.to_string(),
        "epochs": outcome.epoch,
        "generations": 0,
        "train_secs": secs,
        "seconds": secs,
        "test_error": 1.0 - test_accuracy,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
        "parameters": model.parameters(),
        "bytes": model.bytes(),
    });
    out!("{json}");
    Ok(())
}
