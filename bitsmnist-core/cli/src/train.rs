//! `bitsmnist train`: train a bit model and report its accuracy.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bitsmnist_core::gradient::{self, GradientParams, Input, Schedule, TrainOptions, Trainer};

use crate::data::DataOptions;

/// Training method.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Back-propagation with the straight-through estimator, folded into bit layers.
    Gradient,
}

/// Arguments of `bitsmnist train`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataOptions,
    /// Training method.
    #[arg(long, value_enum, default_value = "gradient")]
    method: Method,
    /// Hidden layer widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2048")]
    hidden: Vec<usize>,
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
    /// Print a progress line every so many epochs (0: only the summary).
    #[arg(long, default_value_t = 1)]
    progress: u32,
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
    let data = args.data.load()?;
    match args.method {
        Method::Gradient => gradient_run(&args, &data),
    }
}

fn gradient_run(args: &Args, data: &bitsmnist_core::datasets::Dataset) -> Result<()> {
    let params = GradientParams::default()
        .hidden(args.hidden.clone())
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
        args.hidden
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
    let test_accuracy = gradient::accuracy(&model, &data.test, args.input)?;
    let train_accuracy = gradient::accuracy(&model, &data.train, args.input)?;
    out!("{model}");
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
        "hidden": args.hidden,
        "input": args.input.to_string(),
        "epochs": outcome.epoch,
        "train_secs": secs,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
        "parameters": model.parameters(),
        "bytes": model.bytes(),
        "model": serde_json::Value::Null,
    });
    out!("{json}");
    Ok(())
}
