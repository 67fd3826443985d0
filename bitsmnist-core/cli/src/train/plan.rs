//! What `bitsmnist train` will do, checked from its flags before any data is loaded: the
//! method and its configuration, how the run starts (fresh, resumed, fine-tuned), its stop
//! rules and outputs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::Task;
use bitsmnist_core::gradient::GradientParams;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::layers::{Activation, Architecture, BitOutput};
use bitsmnist_core::memory::Limit;
use bitsmnist_core::run::TrainOptions;
use bitsmnist_core::runs::{RunId, RunStore};
use bitsmnist_core::search::imprint::ImprintParams;
use bitsmnist_core::session::{DEFAULT_SEED, RunPlan};
use bitsmnist_core::training::{Membership, MethodKind, Recipe, TrainConfig};

use super::args::{Args, MethodArg, StrategyArg};
use crate::data::DataOptions;
use crate::errors::usage;

/// What a resumed or fine-tuned run continues, for the first line.
pub enum Origin {
    /// A fresh network.
    Fresh,
    /// The state in this file.
    Resume(PathBuf, Option<String>),
    /// The model in this file.
    FineTune(PathBuf),
}

/// A checked `bitsmnist train`: the core's run plan and what the command line does around it.
pub struct Plan {
    pub data: DataOptions,
    pub run: RunPlan,
    /// What the run continues, for the first line.
    pub origin: Origin,
    pub checkpoint_every: Option<u64>,
    pub out: Option<PathBuf>,
    /// Whether a finished run's file leaves out the training state (`--model-only`).
    pub model_only: bool,
    /// Where the run is recorded, if it is.
    pub record: Option<Recording>,
    pub quiet: bool,
    pub progress: u64,
    pub threads: Option<usize>,
    /// What the run's memory estimate is checked against.
    pub memory_limit: Limit,
}

/// The seed when none is given: the core's, for every front end.
const SEED: u64 = DEFAULT_SEED;

/// More threads than this is a typing mistake, not a machine.
pub(crate) const MAX_THREADS: usize = 1024;

/// Ensemble members trained side by side on one machine, or as separate runs: the core's
/// bound, which a merged file's member records are held to.
const MAX_MEMBERS: usize = bitsmnist_core::training::MAX_MEMBERS;

/// Flags that configure each method, with their names (to refuse them where they do not
/// apply).
fn given(args: &Args) -> [(&'static str, MethodKind, bool); 26] {
    // (--arch applies to gradient training and climbing: checked in `plan`.)
    use MethodKind::{Climb, Gradient, Population};
    [
        ("--population", Population, args.population.is_some()),
        ("--elitism", Population, args.elitism.is_some()),
        ("--selection", Population, args.selection.is_some()),
        ("--crossover", Population, args.crossover.is_some()),
        ("--mutation", Population, args.mutation.is_some()),
        ("--adapt", Population, args.adapt.is_some()),
        ("--evals", Population, args.evals.is_some()),
        ("--fitness", Population, args.fitness.is_some()),
        ("--trials", Climb, args.trials.is_some()),
        ("--rebatch-every", Climb, args.rebatch_every.is_some()),
        ("--margin", Climb, args.margin.is_some()),
        ("--correct-weight", Climb, args.correct_weight.is_some()),
        ("--output-share", Climb, args.output_share.is_some()),
        ("--accept-ties", Climb, args.accept_ties),
        ("--rescore-every", Climb, args.rescore_every.is_some()),
        ("--imprint-distance", Climb, args.imprint_distance.is_some()),
        ("--own-filters", Climb, args.own_filters),
        ("--shared-filters", Climb, args.shared_filters),
        ("--epochs", Gradient, args.epochs.is_some()),
        ("--batch-size", Gradient, args.batch_size.is_some()),
        ("--lr", Gradient, args.lr.is_some()),
        ("--schedule", Gradient, args.schedule.is_some()),
        ("--shift", Gradient, args.shift.is_some()),
        ("--rotate", Gradient, args.rotate.is_some()),
        ("--zoom", Gradient, args.zoom.is_some()),
        ("--input", Gradient, args.input.is_some()),
    ]
}

fn same_family(flag: MethodKind, run: MethodKind) -> bool {
    let family = |k| match k {
        MethodKind::Ensemble => MethodKind::Climb,
        k => k,
    };
    family(flag) == family(run)
}

/// The method the flags ask for, if they say.
fn asked_kind(args: &Args, task: &Task) -> Result<Option<MethodKind>> {
    Ok(match (args.method, args.strategy) {
        (Some(MethodArg::Gradient | MethodArg::Population | MethodArg::Climb), Some(_)) => {
            usage!(
                "--strategy is the old spelling of --method population|climb; give only --method"
            )
        }
        (Some(MethodArg::Population), None) => {
            if args.ensemble.is_some() {
                usage!("--ensemble applies to climbing, not to --method population");
            }
            Some(MethodKind::Population)
        }
        (Some(MethodArg::Climb), None) => Some(climb_kind(args.ensemble, 1)?),
        (Some(MethodArg::Gradient), None) => {
            if args.ensemble.is_some() {
                usage!("--ensemble applies to climbing, not to --method gradient");
            }
            Some(MethodKind::Gradient)
        }
        (_, Some(StrategyArg::Population)) => {
            if args.ensemble.is_some() {
                usage!("--ensemble applies to climbing, not to --method population");
            }
            Some(MethodKind::Population)
        }
        (_, Some(StrategyArg::Climb)) => Some(climb_kind(args.ensemble, 1)?),
        (_, None) if args.ensemble.is_some() => Some(climb_kind(args.ensemble, 1)?),
        (Some(MethodArg::Genetic), None) | (None, None) => {
            if args.resume.is_some() {
                None
            } else {
                Some(Recipe::for_task(task).config.kind())
            }
        }
    })
}

fn climb_kind(ensemble: Option<usize>, default: usize) -> Result<MethodKind> {
    Ok(match ensemble.unwrap_or(default) {
        0 => usage!("--ensemble needs at least one member"),
        1 => MethodKind::Climb,
        _ => MethodKind::Ensemble,
    })
}

fn output_kind(s: &str) -> Result<BitOutput> {
    Ok(match s {
        "bits" => BitOutput::Bits,
        "float" => BitOutput::Float(Activation::Identity),
        a => match a.parse::<Activation>() {
            Ok(a) => BitOutput::Float(a),
            Err(e) => usage!("--output: {e} (or bits, float)"),
        },
    })
}

fn batch(s: &str) -> Result<Option<usize>> {
    Ok(match s {
        "full" => None,
        n => match n.parse() {
            Ok(b) if b > 0 => Some(b),
            _ => usage!("--batch `{n}`: a positive number or `full`"),
        },
    })
}

/// The recipe's configuration for `kind` with the flags' settings over it, checked.
fn configure(args: &Args, task: &Task, kind: MethodKind) -> Result<(TrainConfig, Recipe)> {
    let recipe = Recipe::for_method(task, kind);
    let config = match recipe.config.clone().with_seed(args.seed.unwrap_or(SEED)) {
        TrainConfig::Population {
            mut params,
            mut metric,
        } => {
            let p = &mut params;
            p.population = args.population.unwrap_or(p.population);
            p.elitism = args.elitism.unwrap_or(p.elitism);
            p.selection = args.selection.unwrap_or(p.selection);
            p.crossover = args.crossover.unwrap_or(p.crossover);
            p.mutation = args.mutation.unwrap_or(p.mutation);
            p.adaptation = args.adapt.unwrap_or(p.adaptation);
            p.evals_per_candidate = args.evals.unwrap_or(p.evals_per_candidate);
            if let Some(b) = &args.batch {
                p.batch_size = batch(b)?;
            }
            metric = args.fitness.unwrap_or(metric);
            params.check()?;
            TrainConfig::Population { params, metric }
        }
        TrainConfig::Climb {
            mut params,
            members,
        } => {
            let p = &mut params;
            if let Some(b) = &args.batch {
                p.batch_size = batch(b)?;
            }
            p.rebatch_every = args.rebatch_every.unwrap_or(p.rebatch_every);
            p.trials_per_generation = args.trials.unwrap_or(p.trials_per_generation);
            p.objective.margin_cap = args.margin.unwrap_or(p.objective.margin_cap);
            p.objective.correct_weight = args.correct_weight.unwrap_or(p.objective.correct_weight);
            p.output_share = args.output_share.unwrap_or(p.output_share);
            p.accept_ties |= args.accept_ties;
            p.rescore_every = args.rescore_every.unwrap_or(p.rescore_every);
            params.check()?;
            TrainConfig::Climb {
                params,
                members: args.ensemble.unwrap_or(members),
            }
        }
        TrainConfig::Gradient(p) => {
            let d = GradientParams::default();
            let (features, hidden) = match &args.arch {
                Some(a) => match a.parse::<Architecture>().map(|x| (x.features, x.hidden)) {
                    Ok((f, h)) => (f, if h.is_empty() { d.hidden.clone() } else { h }),
                    Err(e) => usage!("--arch: {e}"),
                },
                None if args.hidden.is_empty() => (Vec::new(), d.hidden.clone()),
                None => (Vec::new(), args.hidden.clone()),
            };
            let p = p
                .hidden(hidden)
                .features(features)
                .epochs(args.epochs.unwrap_or(d.epochs))
                .batch_size(args.batch_size.unwrap_or(d.batch_size))
                .learning_rate(args.lr.unwrap_or(d.learning_rate))
                .schedule(args.schedule.unwrap_or(d.schedule))
                .max_shift(args.shift.unwrap_or(d.max_shift))
                .rotate(args.rotate.unwrap_or(d.rotate))
                .zoom(args.zoom.unwrap_or(d.zoom))
                .input(args.input.unwrap_or(d.input));
            p.check()?;
            TrainConfig::Gradient(p)
        }
        other => other,
    };
    Ok((config, recipe))
}

impl Args {
    /// Checks every flag and what they say together, and reads the files they name.
    pub fn plan(mut self) -> Result<Plan> {
        self.data.check()?;
        let record = self.recording()?;
        // A recorded run continued is its checkpoint resumed, to the step it planned.
        let mut continue_to = None;
        if let Some(Recording::Continue { store, id }) = &record {
            let summary = store.summary(id)?;
            self.resume = Some(store.checkpoint_path(id));
            continue_to = summary.planned_steps;
        }
        if !(self.sample > 0.0 && self.sample <= 1.0) {
            usage!("--sample must be in (0, 1], got {:?}", self.sample);
        }
        let time_limit = match self.time_limit {
            Some(s) if (0.0..=1e9).contains(&s) => Some(Duration::from_secs_f64(s)),
            Some(s) => usage!("--time-limit must be a number of seconds from 0 to 1e9, got {s:?}"),
            None => None,
        };
        if let Some(t) = self.target
            && !t.is_finite()
        {
            usage!("--target must be a finite number, got {t:?}");
        }
        if self.hidden.contains(&0) {
            usage!("--hidden: every hidden layer needs at least one neuron");
        }
        if self.checkpoint_every.is_some() && self.out.is_none() {
            usage!("--checkpoint-every saves into --out: give --out too");
        }
        for (flag, value) in [
            ("--checkpoint-every", self.checkpoint_every),
            ("--patience", self.patience),
        ] {
            if value == Some(0) {
                usage!("{flag} must be at least 1");
            }
        }
        if let Some(n) = self.threads
            && !(1..=MAX_THREADS).contains(&n)
        {
            usage!("--threads must be 1 to {MAX_THREADS}, got {n}");
        }
        if let Some(n) = self.ensemble
            && n > MAX_MEMBERS
        {
            usage!("--ensemble must be at most {MAX_MEMBERS} networks, got {n}");
        }
        if self.init.is_some()
            && (!self.hidden.is_empty() || self.output.is_some() || self.arch.is_some())
        {
            usage!(
                "--hidden, --arch and --output shape a fresh network; --init keeps the model's own"
            );
        }
        let member = self.member_run()?;
        if self.resume.is_some() && self.seed.is_some() {
            usage!("--seed: a resumed run continues with the seeds it started with");
        }
        // The target is written before any work: a folder, a read-only place or a missing
        // permission fails now, not after the run.
        if let Some(out) = &self.out {
            // The run's own file may be continued in place (`--resume r.bin --out r.bin`);
            // the data and a model to fine-tune are never overwritten.
            let inputs: Vec<PathBuf> = self
                .data
                .input_files()
                .into_iter()
                .chain(self.init.clone())
                .collect();
            crate::refuse_input_as_output("--out", out, &inputs)?;
            bitsmnist_core::files::check_writable(out)
                .with_context(|| format!("--out {}: cannot be written", out.display()))?;
        }
        let resumed = match &self.resume {
            Some(path) => {
                let file = ModelFile::load(path).with_context(|| path.display().to_string())?;
                if file.state.is_none() {
                    usage!(
                        "{}: holds a model but no training state to resume (use --init to fine-tune it)",
                        path.display()
                    );
                }
                Some((path.clone(), Box::new(file)))
            }
            None => None,
        };
        let resumed_step = resumed
            .as_ref()
            .and_then(|(_, f)| f.state.as_ref().map(|s| s.step_number()));
        if let Some((path, file)) = &resumed
            && let (Some(asked), Some(saved)) = (self.data.binarize, file.meta.binarization)
            && asked != saved
        {
            usage!(
                "{}: the run binarises with {saved}, not {asked}; resume it without --binarize or with the same",
                path.display()
            );
        }
        let task = match (&self.task, &resumed) {
            (Some(t), Some((path, file))) => {
                if let Some(saved) = &file.meta.task
                    && saved != t
                {
                    usage!(
                        "{}: the run trains task {saved}, not {t}; resume it without --task or with the same task",
                        path.display()
                    );
                }
                t.clone()
            }
            (Some(t), None) => t.clone(),
            (None, Some((_, file))) => file.meta.task.clone().unwrap_or_else(Task::zero_one),
            (None, None) => Task::zero_one(),
        };
        let kind = match (asked_kind(&self, &task)?, &resumed) {
            (Some(k), Some((path, file))) => {
                let saved = file.state.as_ref().expect("checked").kind();
                if k != saved {
                    usage!(
                        "{}: holds a {saved} run; it cannot continue as {k}",
                        path.display()
                    );
                }
                k
            }
            (Some(k), None) => k,
            (None, Some((_, file))) => file.state.as_ref().expect("checked").kind(),
            (None, None) => unreachable!("a fresh run has a method"),
        };
        // A climbing member is configured as the whole ensemble is (its recipe, its flags),
        // then trained as the single climb it is inside the ensemble; a gradient member is a
        // gradient run of its own seed.
        let kind = match &member {
            Some(m) if kind != MethodKind::Gradient => climb_kind(Some(m.of()), 1)?,
            _ => kind,
        };
        for (flag, family, on) in given(&self) {
            if !on {
                continue;
            }
            if !same_family(family, kind) {
                usage!("{flag} does not apply to a {kind} run");
            }
            if resumed.is_some() {
                usage!("{flag}: a resumed run continues with the settings it started with");
            }
        }
        if self.arch.is_some() && kind == MethodKind::Population {
            usage!("--arch applies to gradient training and climbing, not to a population run");
        }
        if resumed.is_some()
            && (!self.hidden.is_empty()
                || self.arch.is_some()
                || self.output.is_some()
                || self.batch.is_some())
        {
            usage!("--hidden, --arch, --output and --batch cannot change a resumed run");
        }
        if kind == MethodKind::Gradient && self.batch.is_some() {
            usage!(
                "--batch sizes the gradient-free search's batches; gradient training takes --batch-size"
            );
        }
        let (config, recipe) = configure(&self, &task, kind)?;
        let output = match &self.output {
            Some(_) if kind == MethodKind::Gradient => {
                usage!("--output does not apply to gradient training")
            }
            Some(o) => output_kind(o)?,
            None => recipe.output,
        };
        // A gradient-free run's --arch: imprinted feature layers, then its dense widths;
        // --hidden: a dense network; neither: the recipe's.
        let architecture = match (&config, &self.arch) {
            (TrainConfig::Gradient(_), _) => Architecture::default(),
            (_, None) => Architecture {
                features: if self.hidden.is_empty() {
                    recipe.features.clone()
                } else {
                    Vec::new()
                },
                hidden: Vec::new(),
            },
            (_, Some(a)) => match a.parse::<Architecture>() {
                Ok(parsed) => parsed,
                Err(e) => usage!("--arch: {e}"),
            },
        };
        let imprint = ImprintParams::default().distance(
            self.imprint_distance
                .unwrap_or(ImprintParams::default().distance),
        );
        if !(0.0..1.0).contains(&imprint.distance) {
            usage!(
                "--imprint-distance must be a fraction of a window's bits in [0, 1), got {:?}",
                imprint.distance
            );
        }
        if self.imprint_distance.is_some() && architecture.features.is_empty() {
            usage!(
                "--imprint-distance applies to imprinted convolutions (--arch, or a recipe that has them)"
            );
        }
        let hidden = if !architecture.hidden.is_empty() {
            architecture.hidden.clone()
        } else if self.hidden.is_empty() {
            vec![recipe.hidden]
        } else {
            self.hidden.clone()
        };
        let mut data = self.data.clone();
        let (run, origin) = match (resumed, &self.init) {
            (Some((path, file)), _) => {
                data.binarize = data.binarize.or(file.meta.binarization);
                // A resumed run goes on on the data it trained on: another would make the
                // file's record of its data set false, and the run no longer one run.
                match (&data.dataset, &file.meta.source) {
                    (Some(given), Some(recorded)) if !crate::data::same_source(given, recorded) => {
                        usage!(
                            "--dataset {given}: {} trained on {recorded}; resume it without --dataset or with the same",
                            path.display()
                        );
                    }
                    (_, Some(recorded)) => data.dataset = Some(recorded.clone()),
                    _ => {}
                }
                if let Some(out) = &self.out {
                    // The recorded data set's files are inputs too, now that they are known.
                    crate::refuse_input_as_output("--out", out, &data.input_files())?;
                }
                let trained_on = file.meta.dataset.clone();
                (
                    RunPlan::resume(*file).with_context(|| path.display().to_string())?,
                    Origin::Resume(path, trained_on),
                )
            }
            (None, Some(path)) => {
                let file = ModelFile::load(path).with_context(|| path.display().to_string())?;
                data.binarize = data.binarize.or(file.meta.binarization);
                (
                    RunPlan::fine_tune(task.clone(), kind, file.model).config(config),
                    Origin::FineTune(path.clone()),
                )
            }
            (None, None) => {
                let plan = RunPlan::for_method(task.clone(), kind).config(config);
                let plan = match kind {
                    MethodKind::Gradient => plan,
                    _ => plan
                        .architecture(Architecture {
                            features: architecture.features,
                            hidden,
                        })
                        .output(output)
                        .imprint(imprint),
                };
                (plan, Origin::Fresh)
            }
        };
        let run = match member {
            Some(m) => run.member(m),
            None => run,
        };
        // Without either flag, the recipe's choice (own filters for the ensemble of more
        // than two classes, and so for its members).
        let run = match (self.own_filters, self.shared_filters) {
            (true, _) => run.own_features(true),
            (_, true) => run.own_features(false),
            _ => run,
        };
        if (self.own_filters || self.shared_filters)
            && !run.clone().own_features(true).imprints_own_features()
        {
            let flag = if self.own_filters {
                "--own-filters"
            } else {
                "--shared-filters"
            };
            usage!(
                "{flag} applies to a climb whose architecture starts with convolutions (--arch conv...)"
            );
        }
        let run = match self.seed {
            Some(seed) => run.seed(seed),
            None => run,
        };
        let explicit = self.generations.is_some()
            || self.target.is_some()
            || time_limit.is_some()
            || self.patience.is_some();
        // Without a stop rule, the recipe's step count: the same model on every machine (a
        // recorded run continued: what is left of its own).
        let generations = match (self.generations, continue_to) {
            (None, Some(to)) if !explicit => Some(to.saturating_sub(resumed_step.unwrap_or(0))),
            (None, None) if !explicit => recipe.steps,
            (n, _) => n,
        };
        let mut options = TrainOptions::new();
        if let Some(n) = generations {
            options = options.generations(n);
        }
        if let Some(t) = self.target {
            options = options.target(t);
        }
        if let Some(n) = self.patience {
            options = options.patience(n);
        }
        if let Some(t) = time_limit {
            options = options.time_limit(t);
        }
        let validate_every = match (self.validate_every, self.test_every_epoch) {
            (Some(n), _) => n,
            (None, true) => 1,
            (None, false) => 0,
        };
        let progress = self
            .progress
            .unwrap_or(if kind == MethodKind::Gradient { 1 } else { 0 });
        let run = run.stop(options).validate_every(validate_every);
        // The data's binarisation and copies: the flags', else a resumed run's own, else the
        // recipe's (loaded as such, so that the session need not binarise them again).
        let run = match (&origin, self.augment) {
            (Origin::Resume(path, _), Some(a)) if a != run.augment => usage!(
                "{}: the run trains with augmentation {}, not {a}; resume it without --augment",
                path.display(),
                run.augment
            ),
            (_, Some(a)) => run.augment(a),
            (_, None) => run,
        };
        let run = match data.binarize {
            Some(b) => run.binarize(b),
            None => run,
        };
        data.binarize = run.binarization;
        // A resumed run goes on on the examples it trained on; --sample may only repeat them.
        let run = match &origin {
            Origin::Resume(path, _) => {
                if self.sample != 1.0 && self.sample != run.sample {
                    usage!(
                        "{}: the run trains on a sample of {}, not {}; resume it without --sample",
                        path.display(),
                        run.sample,
                        self.sample
                    );
                }
                run
            }
            _ => run.sample(self.sample),
        };
        run.check()
            .map_err(|e| anyhow::Error::new(crate::errors::Usage(e.to_string())))?;
        Ok(Plan {
            data,
            run,
            origin,
            checkpoint_every: self.checkpoint_every.filter(|&n| n > 0),
            out: self.out,
            model_only: self.model_only,
            record,
            quiet: self.quiet,
            progress,
            threads: self.threads,
            memory_limit: self.memory_limit.map_or(Limit::Machine, |m| m.0),
        })
    }

    /// The member `--member K --of N` asks for, checked against the flags that cannot go
    /// with it.
    fn member_run(&self) -> Result<Option<Membership>> {
        let (index, of) = match (self.member, self.of) {
            (Some(index), Some(of)) => (index, of),
            (None, None) => return Ok(None),
            (Some(_), None) => usage!("--member K needs --of N, the networks of the ensemble"),
            (None, Some(_)) => usage!("--of N needs --member K, the member to train"),
        };
        if of == 0 {
            usage!("--of needs at least one member");
        }
        if of > MAX_MEMBERS {
            usage!("--of must be at most {MAX_MEMBERS} networks, got {of}");
        }
        if index >= of {
            usage!(
                "--member {index} --of {of}: the members are numbered 0 to {}",
                of - 1
            );
        }
        if self.ensemble.is_some() {
            usage!(
                "--ensemble trains every member in one run; --member trains one of them: give one or the other"
            );
        }
        if self.strategy == Some(StrategyArg::Population)
            || self.method == Some(MethodArg::Population)
        {
            usage!(
                "--member trains one network of a climbing or gradient ensemble, not --method population"
            );
        }
        if self.resume.is_some() {
            usage!(
                "--member: a resumed run continues as the member it started as; give --resume without --member and --of"
            );
        }
        if self.init.is_some() {
            usage!(
                "--member: an ensemble's members start from their seeded random networks, not from --init"
            );
        }
        for (flag, on) in [
            ("--target", self.target.is_some()),
            ("--patience", self.patience.is_some()),
        ] {
            if on {
                usage!(
                    "{flag} stops an ensemble on all its members' records, which a member run alone cannot follow; give --generations (or --time-limit)"
                );
            }
        }
        Ok(Membership::new(index, of))
    }
}

/// Where `train` records its run.
pub enum Recording {
    /// A new run in the runs folder `dir` (made when the run starts, not when the options
    /// are checked: checking has no effect on disk).
    New {
        dir: PathBuf,
        label: String,
        tags: Vec<String>,
    },
    /// The recorded run `id` continued (`--continue`).
    Continue { store: RunStore, id: RunId },
}

impl Args {
    /// The runs folder (`--runs`, else `$BITSMNIST_RUNS_DIR`, else the user's data folder)
    /// and what to record there; `None` with `--no-record`, or with no folder to use.
    fn recording(&self) -> Result<Option<Recording>> {
        if self.no_record {
            return Ok(None);
        }
        let Ok(dir) = crate::runs::runs_dir(self.runs.clone()) else {
            if self.continue_run.is_some() || !self.tags.is_empty() || self.label.is_some() {
                usage!("no runs folder: give --runs DIR (there is no home folder to keep one in)");
            }
            return Ok(None);
        };
        Ok(Some(match &self.continue_run {
            Some(id) => {
                let id: RunId = id.parse().map_err(|e| {
                    anyhow::Error::new(crate::errors::Usage(format!("--continue: {e}")))
                })?;
                if !dir.is_dir() {
                    anyhow::bail!("--continue {id}: no runs folder {}", dir.display());
                }
                let store = RunStore::open(&dir)?;
                store.summary(&id)?;
                Recording::Continue { store, id }
            }
            None => Recording::New {
                dir,
                label: self.label.clone().unwrap_or_default(),
                tags: self.tags.clone(),
            },
        }))
    }
}
