//! `bitsmnist merge MEMBER.bin... --out ENSEMBLE.bin`: the networks of a climbing ensemble,
//! trained as separate runs (`bitsmnist train --member K --of N`, on one machine or many),
//! made into the one model that votes, equal bit for bit to the model `bitsmnist train
//! --ensemble N` trains in one process with the same seed and settings.
//!
//! Which files can be merged, and the merged file, are decided by the library
//! ([`bitsmnist_core::io::merge_files`]); this command loads, saves and prints.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::io::{ModelFile, merge_files};

/// Arguments of `bitsmnist merge`.
#[derive(clap::Args)]
pub struct Args {
    /// The members' model files. Files from `bitsmnist train --member K --of N` are merged in
    /// the order of K, whatever the order given, and must be the N members of one ensemble
    /// (the same N and seed, each K once); models without a member record are merged in the
    /// order given. All must share data set, task, binarisation, input encoding and layer
    /// shapes, and those that hold a training state must have stopped at the same step.
    #[arg(required = true, value_name = "MEMBER.bin")]
    members: Vec<PathBuf>,
    /// The merged model's file (written atomically: a reader never sees half a file).
    #[arg(long, value_name = "FILE.bin")]
    out: PathBuf,
    /// Merge the members given even when some of the N are missing (the model is then not
    /// the N-network ensemble).
    #[arg(long)]
    allow_missing: bool,
}

/// Loads, checks, merges and saves.
pub fn run(args: Args) -> Result<()> {
    // The target is checked before any work, as `train --out` is.
    bitsmnist_core::files::check_writable(&args.out)
        .with_context(|| format!("--out {}: cannot be written", args.out.display()))?;
    let files = args
        .members
        .iter()
        .map(|path| {
            ModelFile::load(path)
                .with_context(|| path.display().to_string())
                .map(|file| (path.clone(), file))
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = merge_files(files, args.allow_missing)?;
    let file = &merged.file;
    file.save(&args.out)
        .with_context(|| args.out.display().to_string())?;
    let networks = merged.order.len();
    let names: Vec<String> = merged
        .order
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    out!(
        "merged {} network{}{} in this order: {}",
        networks,
        if networks == 1 { "" } else { "s" },
        merged
            .ensemble
            .map(|r| format!(" of the {}-member ensemble seeded {}", r.of, r.seed))
            .unwrap_or_default(),
        names.join(", ")
    );
    out!("{}", file.model);
    out!("saved {}", args.out.display());
    out!(
        "{}",
        serde_json::json!({
            "networks": networks,
            "files": names,
            "out": args.out.display().to_string(),
            "parameters": file.model.parameters(),
            "bytes": file.model.bytes(),
        })
    );
    Ok(())
}
