//! `bitsmnist data`: what a data set holds.

use std::path::PathBuf;

use anyhow::Result;
use bitsmnist_core::datasets::{self, Binarization, Dataset, Source, Split};

/// Options shared by every command that loads data.
#[derive(clap::Args, Clone, Debug)]
pub struct DataOptions {
    /// `embedded` (built in, no network), `mnist` (full set, downloaded once into the cache)
    /// or a folder holding the four IDX files (default: the one a model file given to `eval`
    /// or `--resume` was trained on, else embedded).
    #[arg(help_heading = "Data", long)]
    pub dataset: Option<Source>,
    /// Binarisation: `mean` (the original: pixel > mean of non-zero pixels), a threshold
    /// 0-255, or `thermometer:K` (K bits a pixel, K 2-8, thresholds 255*(c+1)/(K+1): grey
    /// levels kept as bits) (default: the one a model file given to `eval`, `--resume` or
    /// `--init` was trained with, else mean).
    #[arg(help_heading = "Data", long)]
    pub binarize: Option<Binarization>,
    /// Cache folder for full MNIST (default: $BITSMNIST_DATA_DIR, else the user cache).
    #[arg(help_heading = "Data", long)]
    pub cache_dir: Option<PathBuf>,
}

impl DataOptions {
    /// The data set to load: `--dataset`, else the embedded digits.
    pub fn source(&self) -> Source {
        self.dataset.clone().unwrap_or(Source::Embedded)
    }

    /// Refuses options that would be ignored.
    pub fn check(&self) -> Result<()> {
        if self.cache_dir.is_some() && self.source() != Source::Mnist {
            crate::errors::usage!(
                "--cache-dir is where `--dataset mnist` is kept; it does not apply to {}",
                self.source()
            );
        }
        Ok(())
    }

    /// The files the data set is read from (none for the embedded digits): an output must
    /// never replace one of them.
    pub fn input_files(&self) -> Vec<PathBuf> {
        let dir = match &self.source() {
            Source::Mnist => datasets::cache_dir(self.cache_dir.as_deref()),
            Source::Dir(d) => d.clone(),
            _ => return Vec::new(),
        };
        datasets::FILE_STEMS
            .iter()
            .flat_map(|stem| [dir.join(format!("{stem}.gz")), dir.join(stem)])
            .filter(|p| p.exists())
            .collect()
    }

    /// Loads the data set, showing download progress on stderr.
    pub fn load(&self) -> Result<Dataset> {
        self.load_until(&|| false)
    }

    /// [`load`](Self::load), reading and decoding the files with stop points that ask `stop`
    /// (`DataError::Stopped` when it says so; a download has none).
    pub fn load_until(&self, stop: &(dyn Fn() -> bool + Sync)) -> Result<Dataset> {
        self.check()?;
        Ok(match &self.source() {
            Source::Mnist => {
                let dir = datasets::cache_dir(self.cache_dir.as_deref());
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes}",
                    )
                    .expect("valid template"),
                );
                datasets::download::Mirrors::default().fetch(&dir, &mut |p| {
                    bar.set_message(p.file.clone());
                    bar.set_length(p.total.unwrap_or(p.done));
                    bar.set_position(p.done);
                })?;
                bar.finish_and_clear();
                Dataset::mnist_in_until(&dir, self.binarize.unwrap_or_default(), stop)?
            }
            s => Dataset::load_until(s, self.binarize.unwrap_or_default(), stop)?,
        })
    }
}

/// Whether two sources are the same data: equal, or folders that resolve to the same path
/// (`./mnist` and its absolute path).
pub fn same_source(a: &Source, b: &Source) -> bool {
    match (a, b) {
        (Source::Dir(x), Source::Dir(y)) => {
            x == y || matches!((x.canonicalize(), y.canonicalize()), (Ok(x), Ok(y)) if x == y)
        }
        _ => a == b,
    }
}

/// Arguments of `bitsmnist data`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataOptions,
}

/// How the human output names a data set: its name, and the folder it was read from when
/// the name does not say it. The embedded set's name ("MNIST (embedded)") already says
/// where it is from, and full MNIST's cache folder is no part of what the data is, so both
/// are their names alone; the source is never appended to a name that holds it.
pub fn describe(d: &Dataset) -> String {
    match &d.source {
        Source::Dir(p) if p.display().to_string() != d.name => {
            format!("{} from {}", d.name, p.display())
        }
        _ => d.name.clone(),
    }
}

pub fn run(args: Args) -> Result<()> {
    let d = args.data.load()?;
    out!(
        "{}: {}x{} images, {} classes, binarisation: {}",
        describe(&d),
        d.shape.0,
        d.shape.1,
        d.classes(),
        d.binarization
    );
    for (name, split) in [("train", &d.train), ("test", &d.test)] {
        print_split(name, split, &d.class_names);
    }
    let split = |s: &Split| {
        serde_json::json!({
            "images": s.len(),
            "per_class": s.class_counts(d.classes()),
            "threshold": s.threshold(),
            "ones_fraction": s.ones_fraction(),
        })
    };
    crate::emit(
        "dataset",
        &serde_json::json!({
            "name": d.name,
            "source": d.source.to_string(),
            "shape": [d.shape.0, d.shape.1],
            "classes": d.classes(),
            "class_names": d.class_names,
            "binarization": binarize_value(d.binarization),
            "train": split(&d.train),
            "test": split(&d.test),
        }),
    )
}

/// A binarisation as `--binarize` spells it, for the JSON objects: `"mean"`, the threshold
/// as a number or `"thermometer:K"` (a rule without a spelling, in its words).
pub fn binarize_value(b: Binarization) -> serde_json::Value {
    match b {
        Binarization::MeanOfNonZero => "mean".into(),
        Binarization::Threshold(t) => t.into(),
        Binarization::Thermometer { levels } => format!("thermometer:{levels}").into(),
        other => other.to_string().into(),
    }
}

fn print_split(name: &str, s: &Split, class_names: &[String]) {
    // A thermometer code has a threshold per bit, named in the binarisation line above.
    let threshold = match s.threshold() {
        t if t.is_finite() => format!(", threshold {t:.3}"),
        _ => format!(", {} bits a pixel", s.channels()),
    };
    out!(
        "{name}: {} images{threshold}, fraction of 1-bits {:.4}",
        s.len(),
        s.ones_fraction()
    );
    let counts = s.class_counts(class_names.len());
    for (c, n) in class_names.iter().zip(counts) {
        out!("  {c:>12}: {n}");
    }
}
