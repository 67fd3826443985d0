//! `bitsmnist merge MEMBER.bin... --out ENSEMBLE.bin`: the networks of a climbing ensemble,
//! trained as separate runs (`bitsmnist train --member K --of N`, on one machine or many),
//! made into the one model that votes, equal bit for bit to the model `bitsmnist train
//! --ensemble N` trains in one process with the same seed and settings; gradient members
//! (`--method gradient --member K --of N`) become one vote of their networks.
//!
//! Which files can be merged, and the merged file, are decided by the library
//! ([`bitsmnist_core::io::merge_files`]); this command loads, saves and prints.

use std::path::PathBuf;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use bitsmnist_core::io::{MergeError, ModelFile, merge_files_until};
use bitsmnist_core::run::CancelToken;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Arguments of `bitsmnist merge`.
#[derive(clap::Args)]
pub struct Args {
    /// The members' model files. Files from `bitsmnist train --member K --of N` are merged in
    /// the order of K, whatever the order given, and must be the N members of one ensemble
    /// (the same N and seed, each K once); models without a member record are merged in the
    /// order given. All must share data set, task, binarisation, training sample, input
    /// encoding and layer shapes, and those that hold a training state must have stopped at
    /// the same step (a member killed early is refused); a record of more than 1024 members
    /// is refused. Ctrl-C stops the merge between members with nothing written.
    #[arg(required = true, value_name = "MEMBER.bin")]
    members: Vec<PathBuf>,
    /// The merged model's file (written atomically: a reader never sees half a file). Not one
    /// of the members; refused while another process writes it, or when its file system has
    /// not the room for it.
    #[arg(long, value_name = "FILE.bin")]
    out: PathBuf,
    /// Merge the members given even when some of the N are missing (the model is then not
    /// the N-network ensemble).
    #[arg(long)]
    allow_missing: bool,
}

/// Loads, checks, merges and saves. SIGINT, SIGTERM and SIGHUP stop it between members
/// (loading each, then the merge's own stop points) with nothing written, and exit with 130,
/// 143 or 129; a second signal ends it at once.
pub fn run(args: Args) -> Result<ExitCode> {
    // The target is checked before any work, as `train --out` is: never one of the members,
    // which the merge would replace with another model.
    crate::refuse_input_as_output("--out", &args.out, &args.members)?;
    bitsmnist_core::files::check_writable(&args.out)
        .with_context(|| format!("--out {}: cannot be written", args.out.display()))?;
    let _lock = crate::lock_output("--out", &args.out)?;
    let cancel = CancelToken::new();
    let seen = Arc::new(AtomicUsize::new(0));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, cancel.flag())
            .context("listening for signals")?;
        signal_hook::flag::register_usize(signal, Arc::clone(&seen), signal as usize)
            .context("listening for signals")?;
        signal_hook::flag::register(signal, cancel.flag()).context("listening for signals")?;
    }
    let interrupted = || {
        let signal = seen.load(Ordering::SeqCst);
        (signal != 0).then(|| {
            eprintln!("merge interrupted: nothing written");
            ExitCode::from(128 + signal as u8)
        })
    };
    let mut files = Vec::with_capacity(args.members.len());
    for path in &args.members {
        if let Some(code) = interrupted() {
            return Ok(code);
        }
        let file = ModelFile::load(path).with_context(|| path.display().to_string())?;
        files.push((path.clone(), file));
    }
    let merged = match merge_files_until(files, args.allow_missing, &cancel) {
        Err(MergeError::Cancelled) => return Ok(interrupted().unwrap_or(ExitCode::FAILURE)),
        other => other?,
    };
    if let Some(code) = interrupted() {
        return Ok(code);
    }
    crate::check_room(
        "--out",
        &args.out,
        merged
            .file
            .encoded_len()
            .context("sizing the merged file")?,
    )?;
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
    crate::emit(
        "merge",
        &serde_json::json!({
            "networks": networks,
            "files": names,
            "out": args.out.display().to_string(),
            "model": file.model.to_string(),
            "parameters": file.model.parameters(),
            "bytes": file.model.bytes(),
            "ensemble": merged.ensemble.map(|r| serde_json::json!({"of": r.of, "seed": r.seed})),
        }),
    )?;
    Ok(ExitCode::SUCCESS)
}
