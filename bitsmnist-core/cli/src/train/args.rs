//! The flags of `bitsmnist train`, as typed: [`Args::plan`] turns them into a checked
//! [`Plan`](super::plan::Plan) before any data is loaded.

use std::path::PathBuf;

use bitsmnist_core::datasets::{Augment, Task};
use bitsmnist_core::fitness::Metric;
use bitsmnist_core::gradient::Schedule;
use bitsmnist_core::layers::Input;
use bitsmnist_core::search::{Adaptation, Crossover, Mutation, Selection};

use crate::data::DataOptions;

/// Training method.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodArg {
    /// The population genetic algorithm (the original's, and more).
    Population,
    /// Bit-flip hill climbing with incremental evaluation (`--ensemble N` networks merged).
    Climb,
    /// Back-propagation with the straight-through estimator, folded into bit layers.
    Gradient,
    /// The old spelling of a gradient-free run: the task's default, or `--strategy`'s.
    #[value(hide = true)]
    Genetic,
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
// `--time-limit -1` is refused by its own check, not taken for a flag named `-1`.
#[command(allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub data: DataOptions,
    /// Training method (default: population for two classes, climb for more; a resumed run
    /// keeps its own).
    #[arg(help_heading = "Method", long, value_enum)]
    pub method: Option<MethodArg>,
    /// Task: `zero-one`, `digits`, or a class list such as `3,8` (default: zero-one; a
    /// resumed run keeps its own).
    #[arg(help_heading = "Data", long)]
    pub task: Option<Task>,
    /// Fraction of the training split to use (class-balanced scan as the original's sample).
    #[arg(help_heading = "Data", long, default_value_t = 1.0)]
    pub sample: f64,
    /// Train on copies of the training examples as well: `none`, or `shifts:R` for every
    /// example moved by up to R pixels (R = 1: four copies, one pixel left, right, up and
    /// down). Default: the recipe's (`shifts:1` for climbing more than two classes, else
    /// none); a resumed run keeps its own.
    #[arg(help_heading = "Data", long)]
    pub augment: Option<Augment>,
    /// Hidden layer widths, comma-separated (default: per task for genetic, 2048 for gradient).
    #[arg(help_heading = "Model", long, value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Architecture: convolutions and pools, then the dense hidden widths, comma-separated,
    /// e.g. `conv32x3,pool2,conv64x3,pool2,512` (`conv<filters>x<window>[s<stride>][p<padding>]`,
    /// padding `window/2` unless given; `pool<size>[s<stride>]`). Instead of --hidden. Gradient
    /// training learns the convolutions; climbing imprints them from training patches and
    /// climbs the one dense hidden layer after them (e.g. `conv32x5,pool4,800`).
    #[arg(help_heading = "Model", long, conflicts_with = "hidden")]
    pub arch: Option<String>,
    /// Largest Hamming distance, as a fraction of a window's bits, at which an imprinted
    /// filter still matches (climb with convolutions in --arch; default 0.2).
    #[arg(help_heading = "Model", long)]
    pub imprint_distance: Option<f64>,
    /// Each climbing network imprints its own filters (from its member seed, on its own half
    /// of the training examples): networks disagree more and vote side by side (climb with
    /// convolutions; the default of the ten-digit ensemble and its --member runs).
    #[arg(help_heading = "Model", long)]
    pub own_filters: bool,
    /// Every climbing network starts after one set of filters imprinted from the run's seed
    /// on every training example, merged into one wider network (climb with convolutions).
    #[arg(help_heading = "Model", long, conflicts_with = "own_filters")]
    pub shared_filters: bool,
    /// Output layer: `float` (popcount score), `bits` (the original's bit output) or an
    /// activation name (`sigmoid`, ...) (genetic).
    #[arg(help_heading = "Model", long)]
    pub output: Option<String>,
    /// The old spelling of `--method population|climb`, with `--method genetic`.
    #[arg(help_heading = "Method", long, value_enum, hide = true)]
    pub strategy: Option<StrategyArg>,
    /// Networks trained side by side and merged into one model that votes (climb; default 8
    /// for more than two classes, 2 for two).
    #[arg(help_heading = "Method", long)]
    pub ensemble: Option<usize>,
    /// Train only member K (0 to N-1) of the `--of N` climbing ensemble that `--ensemble N`
    /// with the same seed and settings trains: the same starting network and seeds, data and
    /// generations, so `bitsmnist merge` of the N member files equals that ensemble bit for bit.
    /// With `--method gradient`, member K is the gradient run of the member's own seed, and
    /// `bitsmnist merge` makes the N networks vote. A time limit is the member's own, so timed
    /// runs differ.
    #[arg(help_heading = "Method", long, value_name = "K", requires = "of")]
    pub member: Option<usize>,
    /// Members of the ensemble `--member` trains one of.
    #[arg(help_heading = "Method", long, value_name = "N", requires = "member")]
    pub of: Option<usize>,
    /// Flip trials per generation (climb).
    #[arg(help_heading = "Climbing", long)]
    pub trials: Option<u64>,
    /// Draw a fresh batch every so many generations, 0 for never (climb).
    #[arg(help_heading = "Climbing", long)]
    pub rebatch_every: Option<u64>,
    /// Largest popcount margin the objective counts, 0 for accuracy only (climb).
    #[arg(help_heading = "Climbing", long)]
    pub margin: Option<u32>,
    /// Weight of a correct prediction in the objective (climb).
    #[arg(help_heading = "Climbing", long)]
    pub correct_weight: Option<u32>,
    /// Fraction of trials that flip an output-layer bit (climb).
    #[arg(help_heading = "Climbing", long)]
    pub output_share: Option<f64>,
    /// Keep flips that leave the objective unchanged (climb).
    #[arg(help_heading = "Climbing", long)]
    pub accept_ties: bool,
    /// Score the model on all training examples every so many generations and keep the
    /// most accurate, 0 for never (climb).
    #[arg(help_heading = "Climbing", long)]
    pub rescore_every: Option<u64>,
    /// Candidates per generation (population; default per task).
    #[arg(help_heading = "Population", long)]
    pub population: Option<usize>,
    /// Best candidates kept unchanged (population; default per task).
    #[arg(help_heading = "Population", long)]
    pub elitism: Option<usize>,
    /// Parent selection: `elite` or `tournament:SIZE` (population).
    #[arg(help_heading = "Population", long)]
    pub selection: Option<Selection>,
    /// Crossover: `split:DIVISOR` (the original), `uniform`, `neuron` or `none` (population).
    #[arg(help_heading = "Population", long)]
    pub crossover: Option<Crossover>,
    /// Mutation: `replace:RATE` (the original), `flip:RATE` or `flip-k:K` (population).
    #[arg(help_heading = "Population", long)]
    pub mutation: Option<Mutation>,
    /// Adaptive mutation strength: `none`, `one-fifth` or `stagnation:PATIENCE` (population).
    #[arg(help_heading = "Population", long)]
    pub adapt: Option<Adaptation>,
    /// Fitness evaluations averaged per candidate (population).
    #[arg(help_heading = "Population", long)]
    pub evals: Option<usize>,
    /// Fitness on a fresh seeded mini-batch of this size, or `full` (population; for climb the
    /// batch is redrawn every `--rebatch-every` generations).
    #[arg(help_heading = "Population", long)]
    pub batch: Option<String>,
    /// Fitness: `score` (the original), `accuracy` or `mcc` (population).
    #[arg(help_heading = "Population", long)]
    pub fitness: Option<Metric>,
    /// Stop after this many generations (epochs for gradient training) in this run.
    #[arg(help_heading = "Stop rules", long)]
    pub generations: Option<u64>,
    /// Stop when the objective (best fitness; gradient: training accuracy) reaches this.
    #[arg(help_heading = "Stop rules", long)]
    pub target: Option<f64>,
    /// Stop after this many generations (epochs) without improvement.
    #[arg(help_heading = "Stop rules", long)]
    pub patience: Option<u64>,
    /// Record test accuracy every so many generations (epochs), 0 for never.
    #[arg(help_heading = "Files and output", long)]
    pub validate_every: Option<u64>,
    /// Save a checkpoint into `--out` every so many generations (epochs).
    #[arg(help_heading = "Files and output", long)]
    pub checkpoint_every: Option<u64>,
    /// Continue the training state saved in this `.bin` (any method).
    #[arg(help_heading = "Files and output", long)]
    pub resume: Option<PathBuf>,
    /// Start from the model in this `.bin` instead of random bits: fine-tune it (genetic;
    /// e.g. a model from `--method gradient`).
    #[arg(help_heading = "Files and output", long, conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// Write the model and its whole training state to this `.bin` file.
    #[arg(help_heading = "Files and output", long)]
    pub out: Option<PathBuf>,
    /// Save a finished run's model, history and metadata without the training state: a file
    /// a fraction of the size, to share or ship, that evaluates, exports and opens anywhere
    /// but that `--resume` cannot continue (a run stopped by a signal keeps its state).
    #[arg(
        help_heading = "Files and output",
        long,
        requires = "out",
        conflicts_with = "checkpoint_every"
    )]
    pub model_only: bool,
    /// The runs folder this run is recorded in as it goes, listed by `bitsmnist runs`
    /// (default: $BITSMNIST_RUNS_DIR, else the user's data folder, e.g.
    /// ~/.local/share/bitsmnist/runs).
    #[arg(help_heading = "Files and output", long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Do not record this run in the runs folder.
    #[arg(help_heading = "Files and output", long, conflicts_with_all = ["runs", "label", "tags", "continue_run"])]
    pub no_record: bool,
    /// A name for this run in the runs folder.
    #[arg(help_heading = "Files and output", long)]
    pub label: Option<String>,
    /// A tag for this run in the runs folder (repeat for more).
    #[arg(help_heading = "Files and output", long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Continue the recorded run ID (`bitsmnist runs` lists them) from its last checkpoint to
    /// the step it planned, recorded into the same run.
    #[arg(
        help_heading = "Files and output",
        long = "continue",
        value_name = "ID",
        conflicts_with_all = ["resume", "init", "label", "tags"]
    )]
    pub continue_run: Option<String>,
    /// Epochs (gradient; default 30).
    #[arg(help_heading = "Gradient", long)]
    pub epochs: Option<u32>,
    /// Mini-batch size (gradient; default 100).
    #[arg(help_heading = "Gradient", long)]
    pub batch_size: Option<usize>,
    /// Base learning rate of Adam (gradient; default 0.005).
    #[arg(help_heading = "Gradient", long)]
    pub lr: Option<f32>,
    /// Learning-rate schedule: constant, cosine[:floor] or step:every:factor (gradient;
    /// default cosine).
    #[arg(help_heading = "Gradient", long)]
    pub schedule: Option<Schedule>,
    /// Largest random shift in pixels for augmentation, 0 for none (gradient; default 1).
    #[arg(help_heading = "Gradient", long)]
    pub shift: Option<u8>,
    /// Largest random rotation in degrees for augmentation, 0 for none; with it (or
    /// `--zoom`) shifts are by fractions of a pixel too (gradient; default 0).
    #[arg(help_heading = "Gradient", long)]
    pub rotate: Option<f32>,
    /// Largest random change of size for augmentation, as a fraction (0.1: 90% to 110%), 0
    /// for none (gradient; default 0).
    #[arg(help_heading = "Gradient", long)]
    pub zoom: Option<f32>,
    /// First-layer input: `bits` (pure bit model) or `grey` (float first layer) (gradient).
    #[arg(help_heading = "Gradient", long)]
    pub input: Option<Input>,
    /// Random seed (the starting network and the method's own random choices; default 1).
    #[arg(help_heading = "Method", long)]
    pub seed: Option<u64>,
    /// Print a progress line every so many steps (default: every epoch for gradient
    /// training, none for the others; 0: only the summary).
    #[arg(help_heading = "Files and output", long)]
    pub progress: Option<u64>,
    /// No progress bar.
    #[arg(help_heading = "Files and output", long)]
    pub quiet: bool,
    /// Stop after this many seconds (the model trained so far is kept).
    #[arg(help_heading = "Stop rules", long)]
    pub time_limit: Option<f64>,
    /// Measure test accuracy after every epoch (the same as `--validate-every 1`).
    #[arg(help_heading = "Files and output", long)]
    pub test_every_epoch: bool,
    /// Rayon threads (default: all cores).
    #[arg(help_heading = "Resources", long)]
    pub threads: Option<usize>,
    /// Memory the run may use, checked against its estimate before it starts: a size such as
    /// `8G` or `512M`, `machine` (what the system has available; the default) or `none`.
    #[arg(help_heading = "Resources", long)]
    pub memory_limit: Option<MemoryLimit>,
}

/// The value of `--memory-limit`.
#[derive(Clone, Copy, Debug)]
pub struct MemoryLimit(pub bitsmnist_core::memory::Limit);

impl std::str::FromStr for MemoryLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        use bitsmnist_core::memory::Limit;
        let t = s.trim().to_ascii_lowercase();
        let limit = match t.as_str() {
            "machine" => Limit::Machine,
            "none" => Limit::None,
            _ => {
                let (digits, scale) = match t.trim_end_matches('b').char_indices().last() {
                    Some((i, 'k')) => (&t[..i], 1e3),
                    Some((i, 'm')) => (&t[..i], 1e6),
                    Some((i, 'g')) => (&t[..i], 1e9),
                    Some((i, 't')) => (&t[..i], 1e12),
                    _ => (t.trim_end_matches('b'), 1.0),
                };
                match digits.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() && v > 0.0 && v * scale <= 1e18 => {
                        Limit::Bytes((v * scale).round().max(1.0) as u64)
                    }
                    _ => {
                        return Err(format!(
                            "`{s}`: a size such as 8G, 512M or 100000 (bytes), `machine` or `none`"
                        ));
                    }
                }
            }
        };
        Ok(Self(limit))
    }
}
