//! `bitsmnist export FILE.bin --format c|rust|json --out DIR`: a trained model as code or
//! data that runs without this program.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::{Binarization, Source};
use bitsmnist_core::export::{self, Format, GreyRule};
use bitsmnist_core::io::ModelFile;

use crate::data::{DataOptions, same_source};

/// Arguments of `bitsmnist export`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file (`.bin`).
    file: PathBuf,
    /// Output format: `c` (NAME.h and NAME.c, C99, weights as const arrays, no allocation),
    /// `rust` (NAME.rs, one no_std module) or `json` (NAME.json, see docs/export-json.md).
    #[arg(long, default_value = "c")]
    format: Format,
    /// Folder to write into (made if missing).
    #[arg(long)]
    out: PathBuf,
    /// Name of the files and prefix of the functions (default: the model file's name).
    #[arg(long)]
    name: Option<String>,
    /// The data set whose training split sets the grey-level threshold of the `mean`
    /// binarisation: `embedded`, `mnist` or a folder of IDX files (default: the one the model
    /// file says it was trained on, else embedded). Another than the model's is a warning:
    /// `NAME_predict_grey` then binarises differently from training.
    #[arg(long)]
    dataset: Option<Source>,
    /// Binarisation of `NAME_predict_grey`: `mean` or a threshold 0-255 (default: the model
    /// file's, else mean). Another than the model's is a warning.
    #[arg(long)]
    binarize: Option<Binarization>,
    /// Cache folder for full MNIST (default: $BITSMNIST_DATA_DIR, else the user cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

/// The grey-level rule of `file`'s export, and where its threshold comes from: the
/// binarisation and the training data the model file records, unless the options say
/// otherwise (a warning on stderr, since the exported `predict_grey` then reads images
/// differently from the model's training images).
fn grey_rule(args: &Args, file: &ModelFile) -> Result<(GreyRule, String)> {
    let what = args.file.display();
    let trained = file.meta.binarization;
    let binarization = args.binarize.or(trained).unwrap_or_default();
    if let (Some(given), Some(trained)) = (args.binarize, trained)
        && given != trained
    {
        eprintln!(
            "warning: {what} was trained on images binarised by {trained}; the export binarises by {binarization}"
        );
    }
    match binarization {
        Binarization::Threshold(t) => {
            if let Some(d) = &args.dataset {
                crate::errors::usage!(
                    "--dataset sets the threshold of the mean binarisation; {what} binarises by a fixed one (pixel > {t}), so {d} would be ignored"
                );
            }
            if args.cache_dir.is_some() {
                crate::errors::usage!(
                    "--cache-dir is where `--dataset mnist` is kept; {what} binarises by a fixed threshold (pixel > {t}) and reads no data"
                );
            }
            Ok((GreyRule::above(t), "a fixed threshold".into()))
        }
        Binarization::Thermometer { levels } => {
            if args.dataset.is_some() || args.cache_dir.is_some() {
                crate::errors::usage!(
                    "--dataset and --cache-dir set the threshold of the mean binarisation; {what} binarises by a thermometer code of fixed thresholds and reads no data"
                );
            }
            Ok((
                GreyRule::thermometer(levels),
                "a thermometer code of fixed thresholds".into(),
            ))
        }
        mean => {
            let recorded = file.meta.source.clone();
            let source = args
                .dataset
                .clone()
                .or_else(|| recorded.clone())
                .unwrap_or(Source::Embedded);
            if let (Some(given), Some(recorded)) = (&args.dataset, &recorded)
                && !same_source(given, recorded)
            {
                eprintln!(
                    "warning: {what} was trained on {recorded}; the grey-level threshold comes from the training split of {given} instead"
                );
            }
            let options = DataOptions {
                dataset: Some(source.clone()),
                binarize: Some(mean),
                cache_dir: args.cache_dir.clone(),
            };
            let data = options.load().with_context(|| {
                format!("{what}: the data set whose training split sets the grey-level threshold")
            })?;
            Ok((
                GreyRule::for_binarization(mean, &data.train),
                format!("the mean of the non-zero grey levels of the {source} training split"),
            ))
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let file = ModelFile::load(&args.file).with_context(|| args.file.display().to_string())?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => export::name_for(&args.file),
    };
    let (rule, from) = grey_rule(&args, &file)?;
    let files = export::files(&file.model, &file.meta, args.format, &name, rule).map_err(|e| {
        anyhow::Error::new(crate::errors::Usage(format!(
            "{}: {e}",
            args.file.display()
        )))
    })?;
    // All the files or none: a header without its source would not build.
    let contents: Vec<(std::path::PathBuf, Vec<u8>)> = files
        .iter()
        .map(|(file_name, text)| (args.out.join(file_name), text.as_bytes().to_vec()))
        .collect();
    for (path, _) in &contents {
        crate::refuse_input_as_output("--out", path, std::slice::from_ref(&args.file))?;
    }
    // Each file locked, so that two exports into one folder do not mix their files. The lock
    // files sit in the folder, which the write would make anyway.
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("--out {}: cannot be made", args.out.display()))?;
    let _locks = contents
        .iter()
        .map(|(path, _)| crate::lock_output("--out", path))
        .collect::<Result<Vec<_>>>()?;
    for (path, bytes) in &contents {
        crate::check_room("--out", path, bytes.len() as u64)?;
    }
    bitsmnist_core::files::write_atomic_all(&contents)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    let mut written = Vec::new();
    for (path, bytes) in contents {
        out!("wrote {} ({} bytes)", path.display(), bytes.len());
        written.push(path);
    }
    out!(
        "{}: {} weight bytes; grey levels become bits where {rule} ({from})",
        file.model,
        file.model.bytes(),
    );
    crate::emit(
        "export",
        &serde_json::json!({
            "format": args.format.name(),
            "name": name,
            "files": written,
            "model_bytes": file.model.bytes(),
            "grey_rule": {
                "num": rule.num,
                "den": rule.den,
                "levels": rule.levels,
                "thresholds": rule.thresholds(),
                "from": from,
            },
        }),
    )
}
