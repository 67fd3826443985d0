//! `bitsmnist export FILE.bin --format c --out DIR`: a trained model as code that runs
//! without this program.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::Binarization;
use bitsmnist_core::export::{self, GreyRule};
use bitsmnist_core::io::ModelFile;

use crate::data::DataOptions;

/// What to write.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// C99: `NAME.h` and `NAME.c`, weights as `const` arrays, no allocation.
    C,
    /// One `no_std` Rust module without `alloc`: `NAME.rs`.
    Rust,
}

/// Arguments of `bitsmnist export`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file (`.bin`).
    file: PathBuf,
    /// Output format (`c` or `rust`).
    #[arg(long, value_enum, default_value = "c")]
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
        None => c_name(&args.file),
    };
    let binarization = args
        .data
        .binarize
        .or(file.meta.binarization)
        .unwrap_or_default();
    let rule = match binarization {
        Binarization::Threshold(t) => GreyRule::above(t),
        _ => {
            // The original's rule: above the mean of the training split's non-zero pixels.
            let mut options = args.data.clone();
            options.binarize = Some(binarization);
            let data = options.load()?;
            let grey: Vec<u8> = (0..data.train.len())
                .filter_map(|i| data.train.grey(i))
                .flatten()
                .copied()
                .collect();
            GreyRule::mean_of(&grey)
        }
    };
    let refused = |e: export::ExportError| {
        anyhow::Error::new(crate::errors::Usage(format!(
            "{}: {e}",
            args.file.display()
        )))
    };
    let files = match args.format {
        Format::C => {
            let c = export::to_c(&file.model, &name, rule).map_err(refused)?;
            vec![
                (format!("{name}.h"), c.header),
                (format!("{name}.c"), c.source),
            ]
        }
        Format::Rust => vec![(
            format!("{name}.rs"),
            export::to_rust(&file.model, rule).map_err(refused)?,
        )],
    };
    let mut written = Vec::new();
    for (file_name, text) in &files {
        let path = args.out.join(file_name);
        bitsmnist_core::files::write_atomic(&path, text.as_bytes())
            .with_context(|| path.display().to_string())?;
        out!("wrote {} ({} bytes)", path.display(), text.len());
        written.push(path);
    }
    out!(
        "{}: {} weight bytes; grey levels become bits where pixel * {} > {}",
        file.model,
        file.model.bytes(),
        rule.den,
        rule.num
    );
    out!(
        "{}",
        serde_json::json!({
            "format": format!("{:?}", args.format).to_lowercase(),
            "name": name,
            "files": written,
            "model_bytes": file.model.bytes(),
            "grey_rule": {"num": rule.num, "den": rule.den},
        })
    );
    Ok(())
}

/// A C identifier from a file name: `zero-one.bin` gives `zero_one`.
fn c_name(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    name
}
