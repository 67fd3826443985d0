//! `bitsmnist export FILE.bin --format c|rust|json --out DIR`: a trained model as code or
//! data that runs without this program.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::export::{self, Format, GreyRule};
use bitsmnist_core::io::ModelFile;

use crate::data::DataOptions;

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
    /// binarisation (default: embedded).
    #[command(flatten)]
    data: DataOptions,
}

pub fn run(args: Args) -> Result<()> {
    let file = ModelFile::load(&args.file).with_context(|| args.file.display().to_string())?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => export::name_for(&args.file),
    };
    let binarization = args
        .data
        .binarize
        .or(file.meta.binarization)
        .unwrap_or_default();
    let rule = match binarization {
        // A fixed threshold needs no data.
        bitsmnist_core::datasets::Binarization::Threshold(t) => GreyRule::above(t),
        mean => {
            let mut options = args.data.clone();
            options.binarize = Some(mean);
            GreyRule::for_binarization(mean, &options.load()?.train)
        }
    };
    let files = export::files(&file.model, &file.meta, args.format, &name, rule).map_err(|e| {
        anyhow::Error::new(crate::errors::Usage(format!(
            "{}: {e}",
            args.file.display()
        )))
    })?;
    let mut written = Vec::new();
    for (file_name, text) in &files {
        let path = args.out.join(file_name);
        bitsmnist_core::files::write_atomic(&path, text.as_bytes())
            .with_context(|| path.display().to_string())?;
        out!("wrote {} ({} bytes)", path.display(), text.len());
        written.push(path);
    }
    out!(
        "{}: {} weight bytes; grey levels become bits where {rule}",
        file.model,
        file.model.bytes(),
    );
    out!(
        "{}",
        serde_json::json!({
            "format": args.format.name(),
            "name": name,
            "files": written,
            "model_bytes": file.model.bytes(),
            "grey_rule": {"num": rule.num, "den": rule.den},
        })
    );
    Ok(())
}
