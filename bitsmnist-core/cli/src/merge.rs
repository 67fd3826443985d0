//! `bitsmnist merge MEMBER.bin... --out ENSEMBLE.bin`: the networks of a climbing ensemble,
//! trained as separate runs (`bitsmnist train --member K --of N`, on one machine or many),
//! made into the one model that votes, equal bit for bit to the model `bitsmnist train
//! --ensemble N` trains in one process with the same seed and settings.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::io::{Metadata, ModelFile, RunInfo};
use bitsmnist_core::layers::Chain;
use bitsmnist_core::training::MethodKind;

/// Arguments of `bitsmnist merge`.
#[derive(clap::Args)]
pub struct Args {
    /// The members' model files. Files from `bitsmnist train --member K --of N` are merged in
    /// the order of K, whatever the order given, and must be the N members of one ensemble
    /// (the same N and seed, each K once); models without a member record are merged in the
    /// order given. All must share task, binarisation, input encoding and layer shapes.
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

/// Why member files cannot be merged: each names the first file that differs from the first
/// one given (or from the one it clashes with) and how.
#[derive(Debug)]
pub enum MergeError {
    /// Trained for other classes.
    Task {
        /// The file that differs.
        path: PathBuf,
        /// Its task.
        found: String,
        /// The first file.
        first: PathBuf,
        /// The first file's task.
        expected: String,
    },
    /// Binarised its images otherwise.
    Binarization {
        /// The file that differs.
        path: PathBuf,
        /// Its binarisation.
        found: String,
        /// The first file.
        first: PathBuf,
        /// The first file's binarisation.
        expected: String,
    },
    /// Reads its examples otherwise (`Chain::input`).
    Input {
        /// The file that differs.
        path: PathBuf,
        /// Its input encoding.
        found: String,
        /// The first file.
        first: PathBuf,
        /// The first file's input encoding.
        expected: String,
    },
    /// Other layers (widths, outputs, output rules).
    Shape {
        /// The file that differs.
        path: PathBuf,
        /// Its layers.
        found: String,
        /// The first file.
        first: PathBuf,
        /// The first file's layers.
        expected: String,
    },
    /// A model the merge cannot take: not two bit layers with bit hidden outputs and a plain
    /// score output (a gradient-trained model, a population model with bit outputs).
    NotMergeable {
        /// The file.
        path: PathBuf,
        /// Its layers.
        layers: String,
    },
    /// One file records a member, another does not.
    Mixed {
        /// The file without a record.
        path: PathBuf,
        /// The first file with one.
        first: PathBuf,
    },
    /// Members of different ensembles (another N or seed).
    OtherEnsemble {
        /// The file that differs.
        path: PathBuf,
        /// Its member record.
        found: Record,
        /// The first file.
        first: PathBuf,
        /// The first file's member record.
        expected: Record,
    },
    /// The same member twice.
    Duplicate {
        /// The second file with the member.
        path: PathBuf,
        /// The first file with it.
        first: PathBuf,
        /// The member's index.
        index: usize,
    },
    /// Members of the ensemble not given (without `--allow-missing`).
    Missing {
        /// Their indices.
        missing: Vec<usize>,
        /// The ensemble's networks.
        of: usize,
    },
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |p: &PathBuf| p.display().to_string();
        match self {
            Self::Task {
                path,
                found,
                first,
                expected,
            } => write!(
                f,
                "{}: trained for task {found}, but {} for task {expected}",
                d(path),
                d(first)
            ),
            Self::Binarization {
                path,
                found,
                first,
                expected,
            } => write!(
                f,
                "{}: binarised with {found}, but {} with {expected}",
                d(path),
                d(first)
            ),
            Self::Input {
                path,
                found,
                first,
                expected,
            } => write!(
                f,
                "{}: reads {found} input, but {} reads {expected} input",
                d(path),
                d(first)
            ),
            Self::Shape {
                path,
                found,
                first,
                expected,
            } => write!(
                f,
                "{}: has layers {found}, but {} has {expected}",
                d(path),
                d(first)
            ),
            Self::NotMergeable { path, layers } => write!(
                f,
                "{}: {layers} is not two bit layers with bit hidden outputs and a plain score output, as an ensemble member is",
                d(path)
            ),
            Self::Mixed { path, first } => write!(
                f,
                "{}: records no ensemble member, but {} does (from train --member); merge the members of one ensemble, or models without a member record only",
                d(path),
                d(first)
            ),
            Self::OtherEnsemble {
                path,
                found,
                first,
                expected,
            } => write!(
                f,
                "{}: is {found}, but {} is {expected}: members of different ensembles",
                d(path),
                d(first)
            ),
            Self::Duplicate { path, first, index } => {
                write!(f, "{}: is member {index}, and so is {}", d(path), d(first))
            }
            Self::Missing { missing, of } => write!(
                f,
                "member{} {} of the {of} missing (--allow-missing merges the others)",
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl std::error::Error for MergeError {}

/// What a member's file records of its ensemble (`bitsmnist train --member K --of N --seed S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// K.
    pub index: usize,
    /// N.
    pub of: usize,
    /// S, the ensemble's seed.
    pub seed: u64,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "member {} of {} (ensemble seed {})",
            self.index, self.of, self.seed
        )
    }
}

/// The member record in `meta`, if it has one.
fn record(meta: &Metadata) -> Option<Record> {
    let run = meta.run.as_ref()?;
    let m = run.member?;
    Some(Record {
        index: m.index(),
        of: m.of(),
        seed: run.seed?,
    })
}

/// The layers of `model`, as the model prints them.
fn layers(model: &Chain) -> String {
    model
        .layers()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `files` (path and contents) checked against the first, in the order they merge: by
/// member index when they record one, else as given.
fn order(
    files: Vec<(PathBuf, ModelFile)>,
    allow_missing: bool,
) -> Result<Vec<(PathBuf, ModelFile)>, MergeError> {
    let (first_path, first) = &files[0];
    let shown = |o: Option<String>| o.unwrap_or_else(|| "none recorded".into());
    for (path, file) in &files[1..] {
        let mismatch =
            |found: String, expected: String| (path.clone(), found, first_path.clone(), expected);
        if file.meta.task != first.meta.task {
            let (path, found, first, expected) = mismatch(
                shown(file.meta.task.as_ref().map(ToString::to_string)),
                shown(first.meta.task.as_ref().map(ToString::to_string)),
            );
            return Err(MergeError::Task {
                path,
                found,
                first,
                expected,
            });
        }
        if file.meta.binarization != first.meta.binarization {
            let (path, found, first, expected) = mismatch(
                shown(file.meta.binarization.map(|b| b.to_string())),
                shown(first.meta.binarization.map(|b| b.to_string())),
            );
            return Err(MergeError::Binarization {
                path,
                found,
                first,
                expected,
            });
        }
        if file.model.input() != first.model.input() {
            let (path, found, first, expected) = mismatch(
                file.model.input().to_string(),
                first.model.input().to_string(),
            );
            return Err(MergeError::Input {
                path,
                found,
                first,
                expected,
            });
        }
        let (found, expected) = (layers(&file.model), layers(&first.model));
        if found != expected {
            let (path, found, first, expected) = mismatch(found, expected);
            return Err(MergeError::Shape {
                path,
                found,
                first,
                expected,
            });
        }
    }
    let records = files
        .iter()
        .map(|(_, file)| record(&file.meta))
        .collect::<Vec<_>>();
    let Some(with) = records.iter().position(Option::is_some) else {
        return Ok(files);
    };
    if let Some(without) = records.iter().position(Option::is_none) {
        return Err(MergeError::Mixed {
            path: files[without].0.clone(),
            first: files[with].0.clone(),
        });
    }
    let records: Vec<Record> = records.into_iter().flatten().collect();
    let expected = records[0];
    let mut seen: Vec<Option<usize>> = vec![None; expected.of];
    for (at, r) in records.iter().enumerate() {
        if (r.of, r.seed) != (expected.of, expected.seed) || r.index >= r.of {
            return Err(MergeError::OtherEnsemble {
                path: files[at].0.clone(),
                found: *r,
                first: files[0].0.clone(),
                expected,
            });
        }
        if let Some(before) = seen[r.index] {
            return Err(MergeError::Duplicate {
                path: files[at].0.clone(),
                first: files[before].0.clone(),
                index: r.index,
            });
        }
        seen[r.index] = Some(at);
    }
    let missing: Vec<usize> = (0..expected.of).filter(|&k| seen[k].is_none()).collect();
    if !missing.is_empty() && !allow_missing {
        return Err(MergeError::Missing {
            missing,
            of: expected.of,
        });
    }
    let mut files: Vec<(Record, (PathBuf, ModelFile))> = records.into_iter().zip(files).collect();
    files.sort_by_key(|(r, _)| r.index);
    Ok(files.into_iter().map(|(_, f)| f).collect())
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
    let files = order(files, args.allow_missing)?;
    let chains: Vec<Chain> = files.iter().map(|(_, f)| f.model.clone()).collect();
    // The rule of the in-process ensemble (`ClimbEnsemble::model`): one network is kept as
    // it is, several are merged in member order.
    let merged = bitsmnist_core::search::merge(&chains).map_err(|e| {
        let at = match e {
            bitsmnist_core::search::EnsembleError::Shape(m)
            | bitsmnist_core::search::EnsembleError::Mismatch(m) => m,
            _ => 0,
        };
        let (path, file) = &files[at.min(files.len() - 1)];
        MergeError::NotMergeable {
            path: path.clone(),
            layers: layers(&file.model),
        }
    })?;
    let model = match chains.as_slice() {
        [one] => one.clone(),
        _ => merged,
    };
    let first = &files[0].1.meta;
    let mut meta = Metadata::now();
    meta.dataset = first.dataset.clone();
    meta.source = first.source.clone();
    meta.binarization = first.binarization;
    meta.task = first.task.clone();
    meta.class_names = first.class_names.clone();
    let record = record(first);
    if let Some(r) = record {
        meta = meta.with_run(RunInfo::new(MethodKind::Ensemble, Some(r.seed)));
    }
    meta = meta.with_extra("merged_networks", files.len().to_string());
    let mut file = ModelFile::new(model);
    file.meta = meta;
    file.save(&args.out)
        .with_context(|| args.out.display().to_string())?;
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    out!(
        "merged {} network{}{} in this order: {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        record
            .map(|r| format!(" of the {}-member ensemble seeded {}", r.of, r.seed))
            .unwrap_or_default(),
        names.join(", ")
    );
    out!("{}", file.model);
    out!("saved {}", args.out.display());
    out!(
        "{}",
        serde_json::json!({
            "networks": files.len(),
            "files": names,
            "out": args.out.display().to_string(),
            "parameters": file.model.parameters(),
            "bytes": file.model.bytes(),
        })
    );
    Ok(())
}
