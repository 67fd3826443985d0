//! Model files merged into one voting ensemble: the checks that decide which files can be
//! merged (the same data set, task, binarisation, input encoding, layers and step, the members
//! of one ensemble each once) and the merged [`ModelFile`], for every front end (`bitsmnist
//! merge`, the desktop app, notebooks).
//!
//! The networks of a climbing ensemble trained as separate runs (`bitsmnist train --member K
//! --of N`, on one machine or many) merge into the model `bitsmnist train --ensemble N` trains
//! in one process with the same seed and settings, bit for bit. Networks with their own
//! layers beyond a climb's (gradient-trained, with their own convolutions: `bitsmnist train
//! --method gradient --member K --of N`) merge into one [`Vote`](crate::layers::Vote) of them.
//!
//! ```
//! use std::path::PathBuf;
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::io::{merge_files, RunInfo};
//! use bitsmnist_core::training::{Membership, MethodKind};
//!
//! let member = |k: usize| {
//!     let out = BitOutput::Float(Activation::Identity);
//!     let model = Chain::mlp(784, &[8], 10, out, 40 + k as u64).unwrap();
//!     let run = RunInfo::new(MethodKind::Ensemble, Some(4)).with_member(Membership::new(k, 2));
//!     let file = ModelFile::new(model).with_meta(Metadata::now().with_run(run));
//!     (PathBuf::from(format!("m{k}.bin")), file)
//! };
//! // Given in any order, the members merge in the order of their index.
//! let merged = merge_files(vec![member(1), member(0)], false).unwrap();
//! assert_eq!(merged.order, [PathBuf::from("m0.bin"), PathBuf::from("m1.bin")]);
//! assert_eq!(merged.file.model.layers()[0].outputs(), 2 * (8 + 1));
//! // A member missing is refused unless asked for.
//! assert!(merge_files(vec![member(1)], false).is_err());
//! assert!(merge_files(vec![member(1)], true).is_ok());
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Metadata, ModelFile, RunInfo};
use crate::layers::Chain;
use crate::run::CancelToken;
use crate::search::EnsembleError;
use crate::training::{MAX_MEMBERS, MethodKind};

/// Why model files cannot be merged: each names the first file that differs from the first
/// one given (or from the one it clashes with) and how.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No file given.
    #[error("no model file to merge")]
    Empty,
    /// Trained for other classes.
    #[error("{}: trained for task {found}, but {} for task {expected}", path.display(), first.display())]
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
    #[error("{}: binarised with {found}, but {} with {expected}", path.display(), first.display())]
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
    /// Trained on another data set (`Metadata::dataset`).
    #[error(
        "{}: trained on data set {found}, but {} on data set {expected}: members of one ensemble train on one data set",
        path.display(),
        first.display()
    )]
    Dataset {
        /// The file that differs.
        path: PathBuf,
        /// Its data set.
        found: String,
        /// The first file.
        first: PathBuf,
        /// The first file's data set.
        expected: String,
    },
    /// Trained on another share of the training examples (`--sample`).
    #[error(
        "{}: trained on a sample of {found} of the training examples, but {} on {expected}: members of one ensemble train on the same examples",
        path.display(),
        first.display()
    )]
    Sample {
        /// The file that differs.
        path: PathBuf,
        /// Its sample.
        found: f64,
        /// The first file.
        first: PathBuf,
        /// The first file's sample.
        expected: f64,
    },
    /// Trained on other copies of its examples (`--augment`).
    #[error(
        "{}: trained with augmentation {found}, but {} with {expected}: members of one ensemble train on the same examples",
        path.display(),
        first.display()
    )]
    Augment {
        /// The file that differs.
        path: PathBuf,
        /// Its augmentation.
        found: String,
        /// The first file.
        first: PathBuf,
        /// The first file's augmentation.
        expected: String,
    },
    /// Reads its examples otherwise (`Chain::input`).
    #[error("{}: reads {found} input, but {} reads {expected} input", path.display(), first.display())]
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
    #[error("{}: has layers {found}, but {} has {expected}", path.display(), first.display())]
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
    /// Stopped at another step (generation or epoch) than the first file that holds a
    /// training state: the members of one ensemble are all at the same step.
    #[error(
        "{}: stopped at step {found}, but {} at step {expected}: members of one ensemble stop at the same step",
        path.display(),
        first.display()
    )]
    Step {
        /// The file that differs.
        path: PathBuf,
        /// Its step.
        found: u64,
        /// The first file with a training state.
        first: PathBuf,
        /// That file's step.
        expected: u64,
    },
    /// A model the merge cannot take: neither two bit layers with bit hidden outputs and a
    /// plain score output (a climb) nor a network giving float scores that can vote (a
    /// population model with bit outputs, a merged model).
    #[error(
        "{}: {layers} is neither a climb (two bit layers with bit hidden outputs and a plain score output) nor a network with float scores that can vote",
        path.display()
    )]
    NotMergeable {
        /// The file.
        path: PathBuf,
        /// Its layers.
        layers: String,
    },
    /// One file records a member, another does not.
    #[error(
        "{}: records no ensemble member, but {} does (from train --member); merge the members of one ensemble, or models without a member record only",
        path.display(),
        first.display()
    )]
    Mixed {
        /// The file without a record.
        path: PathBuf,
        /// The first file with one.
        first: PathBuf,
    },
    /// Members of different ensembles (another N or seed).
    #[error(
        "{}: is {found}, but {} is {expected}: members of different ensembles",
        path.display(),
        first.display()
    )]
    OtherEnsemble {
        /// The file that differs.
        path: PathBuf,
        /// Its member record.
        found: MemberRecord,
        /// The first file.
        first: PathBuf,
        /// The first file's member record.
        expected: MemberRecord,
    },
    /// The same member twice.
    #[error("{}: is member {index}, and so is {}", path.display(), first.display())]
    Duplicate {
        /// The second file with the member.
        path: PathBuf,
        /// The first file with it.
        first: PathBuf,
        /// The member's index.
        index: usize,
    },
    /// A member record claiming an ensemble larger than any ([`MAX_MEMBERS`]): a damaged or
    /// hostile file, refused before its count sizes anything.
    #[error(
        "{}: records an ensemble of {of} members, more than the {MAX_MEMBERS} an ensemble may have",
        path.display()
    )]
    TooManyMembers {
        /// The file.
        path: PathBuf,
        /// The count it records.
        of: usize,
    },
    /// [`merge_files_until`]'s token was cancelled (Ctrl-C) before the merge was done: nothing
    /// was merged.
    #[error("merge cancelled before it was done")]
    Cancelled,
    /// Members of the ensemble not given (and missing ones not allowed).
    #[error(
        "member{} {} of the {of} missing (--allow-missing merges the others)",
        if missing.len() == 1 { "" } else { "s" },
        list(missing)
    )]
    Missing {
        /// Their indices.
        missing: Vec<usize>,
        /// The ensemble's networks.
        of: usize,
    },
}

/// `1, 3, 4`.
fn list(indices: &[usize]) -> String {
    indices
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a member's file records of its ensemble (`bitsmnist train --member K --of N --seed
/// S`, in [`Metadata::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// K.
    pub index: usize,
    /// N.
    pub of: usize,
    /// S, the ensemble's seed.
    pub seed: u64,
}

impl MemberRecord {
    /// The member record in `meta`, if it has one (a member and the run's seed).
    pub fn of_meta(meta: &Metadata) -> Option<Self> {
        let run = meta.run.as_ref()?;
        let m = run.member?;
        Some(Self {
            index: m.index(),
            of: m.of(),
            seed: run.seed?,
        })
    }
}

impl fmt::Display for MemberRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "member {} of {} (ensemble seed {})",
            self.index, self.of, self.seed
        )
    }
}

/// Model files merged by [`merge_files`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Merged {
    /// The merged model with its metadata: the first file's data set, source, binarisation,
    /// task and class names, the run (an ensemble with the members' seed) when the members
    /// record one, and the note `merged_networks`. It holds no training state or history.
    pub file: ModelFile,
    /// The files in the order their networks were merged.
    pub order: Vec<PathBuf>,
    /// The ensemble's record (the first member's) when the files record one.
    pub ensemble: Option<MemberRecord>,
}

/// Merges the networks of `files` (a path, for messages, and its contents) into one voting
/// model, as [`crate::search::merge`] does, after checking they can be merged: the same task,
/// binarisation, data set, input encoding and layers, and the same step where they hold a
/// training state. Files that record an ensemble member (`bitsmnist train --member K --of N`)
/// must all record one, of the same ensemble (N and seed), each member once, and merge in the
/// order of K whatever the order given; unless `allow_missing`, all N must be given. Files
/// without a member record merge in the order given. One file is kept as it is.
pub fn merge_files(
    files: Vec<(PathBuf, ModelFile)>,
    allow_missing: bool,
) -> Result<Merged, MergeError> {
    merge_files_until(files, allow_missing, &CancelToken::new())
}

/// [`merge_files`] with a stop point before each member's checks and copy and before the
/// merge itself: when `cancel` is cancelled (a front end's Ctrl-C), it returns
/// [`MergeError::Cancelled`] at the next one and merges nothing, so that an interrupted merge
/// ends promptly and a front end writes no partial file.
pub fn merge_files_until(
    files: Vec<(PathBuf, ModelFile)>,
    allow_missing: bool,
    cancel: &CancelToken,
) -> Result<Merged, MergeError> {
    let files = order(files, allow_missing, cancel)?;
    let mut chains: Vec<Chain> = Vec::with_capacity(files.len());
    for (_, f) in &files {
        stop_point(cancel)?;
        chains.push(f.model.clone());
    }
    stop_point(cancel)?;
    // The rule of the in-process ensemble (`ClimbEnsemble::model`), so that members trained
    // apart make the model one process trains.
    let model = crate::search::ensemble_model(chains).map_err(|e| {
        let at = match e {
            EnsembleError::Shape(m) | EnsembleError::Mismatch(m) => m,
            _ => 0,
        };
        let (path, file) = &files[at.min(files.len() - 1)];
        MergeError::NotMergeable {
            path: path.clone(),
            layers: layer_list(&file.model),
        }
    })?;
    let first = &files[0].1.meta;
    let mut meta = Metadata::now();
    meta.dataset = first.dataset.clone();
    meta.source = first.source.clone();
    meta.binarization = first.binarization;
    meta.task = first.task.clone();
    meta.class_names = first.class_names.clone();
    let ensemble = MemberRecord::of_meta(first);
    if let Some(r) = ensemble {
        // Merged climbs are a climbing ensemble; merged gradient runs, gradient-trained.
        let method = match first.run.as_ref().map(|run| run.method) {
            Some(MethodKind::Gradient) => MethodKind::Gradient,
            _ => MethodKind::Ensemble,
        };
        meta = meta.with_run(RunInfo::new(method, Some(r.seed)));
    }
    meta = meta.with_extra("merged_networks", files.len().to_string());
    Ok(Merged {
        file: ModelFile::new(model).with_meta(meta),
        order: files.into_iter().map(|(p, _)| p).collect(),
        ensemble,
    })
}

/// [`MergeError::Cancelled`] once `cancel` is.
fn stop_point(cancel: &CancelToken) -> Result<(), MergeError> {
    if cancel.is_cancelled() {
        Err(MergeError::Cancelled)
    } else {
        Ok(())
    }
}

/// The layers of `model`, as the model prints them.
fn layer_list(model: &Chain) -> String {
    model
        .layers()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `files` checked against the first, in the order they merge: by member index when they
/// record one, else as given.
fn order(
    files: Vec<(PathBuf, ModelFile)>,
    allow_missing: bool,
    cancel: &CancelToken,
) -> Result<Vec<(PathBuf, ModelFile)>, MergeError> {
    let Some((first_path, first)) = files.first() else {
        return Err(MergeError::Empty);
    };
    let shown = |o: Option<String>| o.unwrap_or_else(|| "none recorded".into());
    for (path, file) in &files[1..] {
        stop_point(cancel)?;
        let (path, first_path) = (path.clone(), first_path.clone());
        if file.meta.task != first.meta.task {
            return Err(MergeError::Task {
                path,
                found: shown(file.meta.task.as_ref().map(ToString::to_string)),
                first: first_path,
                expected: shown(first.meta.task.as_ref().map(ToString::to_string)),
            });
        }
        if file.meta.binarization != first.meta.binarization {
            return Err(MergeError::Binarization {
                path,
                found: shown(file.meta.binarization.map(|b| b.to_string())),
                first: first_path,
                expected: shown(first.meta.binarization.map(|b| b.to_string())),
            });
        }
        if file.meta.dataset != first.meta.dataset {
            return Err(MergeError::Dataset {
                path,
                found: shown(file.meta.dataset.clone()),
                first: first_path,
                expected: shown(first.meta.dataset.clone()),
            });
        }
        let sample = |f: &ModelFile| f.meta.run.as_ref().and_then(|r| r.sample).unwrap_or(1.0);
        if sample(file) != sample(first) {
            return Err(MergeError::Sample {
                path,
                found: sample(file),
                first: first_path,
                expected: sample(first),
            });
        }
        let augment = |f: &ModelFile| f.meta.run.as_ref().map(|r| r.augment).unwrap_or_default();
        if augment(file) != augment(first) {
            return Err(MergeError::Augment {
                path,
                found: augment(file).to_string(),
                first: first_path,
                expected: augment(first).to_string(),
            });
        }
        if file.model.input() != first.model.input() {
            return Err(MergeError::Input {
                path,
                found: file.model.input().to_string(),
                first: first_path,
                expected: first.model.input().to_string(),
            });
        }
        let (found, expected) = (layer_list(&file.model), layer_list(&first.model));
        if found != expected {
            return Err(MergeError::Shape {
                path,
                found,
                first: first_path,
                expected,
            });
        }
    }
    check_steps(&files)?;
    let records = files
        .iter()
        .map(|(_, file)| MemberRecord::of_meta(&file.meta))
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
    let records: Vec<MemberRecord> = records.into_iter().flatten().collect();
    // Every count is bounded before one sizes a table below: a file's member record may have
    // been built without `Membership::new`'s bound (deserialised, not loaded).
    if let Some(at) = records.iter().position(|r| r.of > MAX_MEMBERS) {
        return Err(MergeError::TooManyMembers {
            path: files[at].0.clone(),
            of: records[at].of,
        });
    }
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
    let mut files: Vec<(MemberRecord, (PathBuf, ModelFile))> =
        records.into_iter().zip(files).collect();
    files.sort_by_key(|(r, _)| r.index);
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

/// Every file that holds a training state at the step of the first one that does.
fn check_steps(files: &[(PathBuf, ModelFile)]) -> Result<(), MergeError> {
    let mut steps = files
        .iter()
        .filter_map(|(p, f)| Some((p.as_path(), f.state.as_ref()?.step_number())));
    let Some((first, expected)) = steps.next() else {
        return Ok(());
    };
    match steps.find(|&(_, found)| found != expected) {
        Some((path, found)) => Err(MergeError::Step {
            path: path.to_path_buf(),
            found,
            first: Path::to_path_buf(first),
            expected,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{Binarization, Dataset, Task};
    use crate::layers::{Activation, BitOutput, Input};
    use crate::run::{Method, TrainOptions};
    use crate::search::{ClimbEnsemble, ClimbParams};
    use crate::training::{Membership, TrainingState};

    const SCORES: BitOutput = BitOutput::Float(Activation::Identity);

    /// A `784 -> hidden -> 10` network seeded `seed`.
    fn net(hidden: usize, seed: u64) -> Chain {
        Chain::mlp(784, &[hidden], 10, SCORES, seed).unwrap()
    }

    /// `name` holding `model`, trained on a data set `digits` for the ten digits.
    fn file(name: &str, model: Chain) -> (PathBuf, ModelFile) {
        let mut meta = Metadata::now().with_task(&Task::digits());
        meta.dataset = Some("digits".into());
        meta.binarization = Some(Binarization::MeanOfNonZero);
        (PathBuf::from(name), ModelFile::new(model).with_meta(meta))
    }

    /// `name`, member `k` of `of` of the ensemble seeded `seed`.
    fn member(name: &str, k: usize, of: usize, seed: u64) -> (PathBuf, ModelFile) {
        let (path, mut f) = file(name, net(8, ClimbEnsemble::member_seed(seed, k as u64)));
        f.meta.run = Some(
            RunInfo::new(MethodKind::Ensemble, Some(seed)).with_member(Membership::new(k, of)),
        );
        (path, f)
    }

    fn refused(files: Vec<(PathBuf, ModelFile)>) -> (MergeError, String) {
        let e = merge_files(files, false).expect_err("refused");
        let text = e.to_string();
        (e, text)
    }

    #[test]
    fn members_merge_in_index_order_into_the_ensemble_model() {
        let files = vec![
            member("m2.bin", 2, 3, 5),
            member("m0.bin", 0, 3, 5),
            member("m1.bin", 1, 3, 5),
        ];
        let chains: Vec<Chain> = (0..3)
            .map(|k| net(8, ClimbEnsemble::member_seed(5, k)))
            .collect();
        let merged = merge_files(files, false).unwrap();
        assert_eq!(
            merged.order,
            ["m0.bin", "m1.bin", "m2.bin"].map(PathBuf::from)
        );
        assert_eq!(merged.file.model, crate::search::merge(&chains).unwrap());
        assert_eq!(
            merged.ensemble,
            Some(MemberRecord {
                index: 0,
                of: 3,
                seed: 5
            })
        );
        let meta = &merged.file.meta;
        assert_eq!(meta.task, Some(Task::digits()));
        assert_eq!(meta.dataset.as_deref(), Some("digits"));
        assert_eq!(meta.binarization, Some(Binarization::MeanOfNonZero));
        assert_eq!(meta.run, Some(RunInfo::new(MethodKind::Ensemble, Some(5))));
        assert_eq!(meta.extra["merged_networks"], "3");
        assert!(merged.file.state.is_none());
    }

    #[test]
    fn files_without_member_records_merge_as_given_and_one_is_kept_as_it_is() {
        let merged = merge_files(
            vec![file("b.bin", net(8, 2)), file("a.bin", net(8, 1))],
            false,
        )
        .unwrap();
        assert_eq!(merged.order, ["b.bin", "a.bin"].map(PathBuf::from));
        assert_eq!(
            merged.file.model,
            crate::search::merge(&[net(8, 2), net(8, 1)]).unwrap()
        );
        assert_eq!(merged.ensemble, None);
        assert_eq!(merged.file.meta.run, None);
        let one = merge_files(vec![file("a.bin", net(8, 1))], false).unwrap();
        assert_eq!(one.file.model, net(8, 1));
        assert_eq!(one.file.meta.extra["merged_networks"], "1");
    }

    #[test]
    fn no_file_is_refused() {
        assert_eq!(refused(vec![]).0, MergeError::Empty);
    }

    #[test]
    fn another_task_binarisation_or_data_set_is_refused_naming_both_files() {
        let (a, mut b) = (member("a.bin", 0, 2, 5), member("b.bin", 1, 2, 5));
        b.1.meta.task = Some(Task::zero_one());
        let (e, text) = refused(vec![a.clone(), b]);
        assert!(matches!(e, MergeError::Task { .. }), "{e:?}");
        assert!(text.starts_with("b.bin: trained for task"), "{text}");
        assert!(text.contains("but a.bin for task"), "{text}");

        let mut b = member("b.bin", 1, 2, 5);
        b.1.meta.binarization = Some(Binarization::Threshold(200));
        let (e, text) = refused(vec![a.clone(), b]);
        assert!(matches!(e, MergeError::Binarization { .. }), "{e:?}");
        assert!(
            text.starts_with("b.bin: binarised with") && text.contains("but a.bin with"),
            "{text}"
        );

        let mut b = member("b.bin", 1, 2, 5);
        b.1.meta.dataset = Some("fashion".into());
        let (e, text) = refused(vec![a.clone(), b]);
        assert_eq!(
            e,
            MergeError::Dataset {
                path: "b.bin".into(),
                found: "fashion".into(),
                first: "a.bin".into(),
                expected: "digits".into(),
            }
        );
        assert!(
            text.starts_with("b.bin: trained on data set fashion, but a.bin on data set"),
            "{text}"
        );
        // Another share of the training examples.
        let a2 = member("a.bin", 0, 2, 5);
        let mut b2 = member("b.bin", 1, 2, 5);
        if let Some(run) = b2.1.meta.run.as_mut() {
            run.sample = Some(0.5);
        }
        let (e, text) = refused(vec![a2, b2]);
        assert!(
            matches!(
                e,
                MergeError::Sample {
                    found: 0.5,
                    expected: 1.0,
                    ..
                }
            ),
            "{e}"
        );
        assert!(text.contains("sample of 0.5"), "{text}");
        // Other copies of them.
        let a3 = member("a.bin", 0, 2, 5);
        let mut b3 = member("b.bin", 1, 2, 5);
        if let Some(run) = b3.1.meta.run.as_mut() {
            run.augment = crate::datasets::Augment::Shifts { radius: 1 };
        }
        let (e, text) = refused(vec![a3, b3]);
        assert!(matches!(e, MergeError::Augment { .. }), "{e}");
        assert!(
            text.contains("augmentation shifts:1") && text.contains("with none"),
            "{text}"
        );
        let mut b = member("b.bin", 1, 2, 5);
        b.1.meta.dataset = None;
        let (_, text) = refused(vec![a, b]);
        assert!(text.contains("data set none recorded"), "{text}");
    }

    #[test]
    fn another_input_or_other_layers_are_refused() {
        let a = member("a.bin", 0, 2, 5);
        let mut b = member("b.bin", 1, 2, 5);
        b.1.model = b.1.model.clone().with_input(Input::Grey);
        let (e, text) = refused(vec![a.clone(), b]);
        assert!(matches!(e, MergeError::Input { .. }), "{e:?}");
        assert!(text.starts_with("b.bin: reads"), "{text}");

        let mut b = member("b.bin", 1, 2, 5);
        b.1.model = net(12, 3);
        let (e, text) = refused(vec![a, b]);
        assert!(matches!(e, MergeError::Shape { .. }), "{e:?}");
        assert!(
            text.contains("BitDense(784, 12)") && text.contains("BitDense(784, 8)"),
            "{text}"
        );
    }

    #[test]
    fn networks_beyond_a_climb_vote_and_bit_scores_are_refused() {
        // Bit outputs cannot be added up.
        let bits = Chain::mlp(784, &[8], 10, BitOutput::Bits, 1).unwrap();
        let (e, text) = refused(vec![file("a.bin", bits.clone()), file("b.bin", bits)]);
        assert!(matches!(e, MergeError::NotMergeable { .. }), "{e:?}");
        assert!(text.starts_with("a.bin: "), "{text}");
        // Deeper networks with float scores vote; one is kept as it is.
        let deep = |seed| Chain::mlp(784, &[8, 8], 10, SCORES, seed).unwrap();
        let one = merge_files(vec![file("a.bin", deep(1))], false).unwrap();
        assert_eq!(one.file.model, deep(1));
        let two = merge_files(vec![file("a.bin", deep(1)), file("b.bin", deep(2))], false).unwrap();
        let vote = crate::layers::Vote::new(vec![deep(1), deep(2)]).unwrap();
        assert_eq!(two.file.model, Chain::new(vec![vote.into()]).unwrap());
    }

    #[test]
    fn members_stopped_at_different_steps_are_refused() {
        let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
        let train = data.train.sample_shuffled(0.02, 10, 1);
        let params = ClimbParams::default()
            .trials_per_generation(50)
            .batch_size(Some(50));
        let start = ClimbEnsemble::random(784, 8, 10, SCORES, &params, 1, 5).unwrap();
        let mut on = start.clone();
        on.train(&train, &TrainOptions::new().generations(1), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        let with = |name: &str, e: &ClimbEnsemble| {
            let (p, f) = file(name, e.chain());
            (p, f.with_state(TrainingState::from(e.clone())))
        };
        // A file without a state is not compared.
        let files = vec![
            file("plain.bin", start.chain()),
            with("a.bin", &start),
            with("b.bin", &on),
        ];
        let (e, text) = refused(files);
        assert_eq!(
            e,
            MergeError::Step {
                path: "b.bin".into(),
                found: 1,
                first: "a.bin".into(),
                expected: 0,
            }
        );
        assert!(
            text.starts_with("b.bin: stopped at step 1, but a.bin at step 0"),
            "{text}"
        );
        let files = vec![with("a.bin", &on), file("plain.bin", start.chain())];
        assert!(merge_files(files, false).is_ok());
    }

    /// A member record as a file could carry it past `Membership::new`: deserialised.
    fn raw_membership(index: usize, of: usize) -> Membership {
        let bytes = bincode::serde::encode_to_vec((index, of), bincode::config::standard())
            .expect("encodes");
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
            .expect("decodes")
            .0
    }

    #[test]
    fn member_counts_no_ensemble_has_are_refused_before_they_size_anything() {
        // Once a panic ("capacity overflow") and an abort allocating 16 TB.
        for of in [usize::MAX, 1_000_000_000_000, MAX_MEMBERS + 1] {
            let mut a = member("a.bin", 0, 2, 5);
            let mut b = member("b.bin", 1, 2, 5);
            for f in [&mut a.1, &mut b.1] {
                let run = f.meta.run.as_mut().unwrap();
                run.member = Some(raw_membership(run.member.unwrap().index(), of));
            }
            let (e, text) = refused(vec![a, b]);
            assert_eq!(
                e,
                MergeError::TooManyMembers {
                    path: "a.bin".into(),
                    of
                },
                "{of}"
            );
            assert!(text.contains("more than the 1024"), "{text}");
        }
        // Loading refuses such a file too (`Membership::validate`).
        let mut a = member("a.bin", 0, 2, 5).1;
        a.meta.run.as_mut().unwrap().member = Some(raw_membership(0, usize::MAX));
        let bytes = a.to_bytes().unwrap();
        let e = ModelFile::from_bytes(&bytes).expect_err("refused");
        assert!(e.to_string().contains("at most 1024"), "{e}");
    }

    #[test]
    fn a_cancelled_merge_merges_nothing() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let files = vec![member("a.bin", 0, 2, 5), member("b.bin", 1, 2, 5)];
        let e = merge_files_until(files.clone(), false, &cancel).expect_err("cancelled");
        assert_eq!(e, MergeError::Cancelled);
        cancel.reset();
        assert!(merge_files_until(files, false, &cancel).is_ok());
    }

    #[test]
    fn mixed_records_other_ensembles_duplicates_and_missing_members_are_refused() {
        let (e, text) = refused(vec![member("a.bin", 0, 2, 5), file("b.bin", net(8, 1))]);
        assert_eq!(
            e,
            MergeError::Mixed {
                path: "b.bin".into(),
                first: "a.bin".into()
            }
        );
        assert!(text.contains("records no ensemble member"), "{text}");

        let (e, text) = refused(vec![member("a.bin", 0, 2, 5), member("b.bin", 1, 2, 6)]);
        assert!(matches!(e, MergeError::OtherEnsemble { .. }), "{e:?}");
        assert_eq!(
            text,
            "b.bin: is member 1 of 2 (ensemble seed 6), but a.bin is member 0 of 2 \
             (ensemble seed 5): members of different ensembles"
        );
        let (e, _) = refused(vec![member("a.bin", 0, 2, 5), member("b.bin", 1, 3, 5)]);
        assert!(matches!(e, MergeError::OtherEnsemble { .. }), "{e:?}");

        let (e, text) = refused(vec![
            member("a.bin", 0, 3, 5),
            member("b.bin", 1, 3, 5),
            member("c.bin", 1, 3, 5),
        ]);
        assert_eq!(
            e,
            MergeError::Duplicate {
                path: "c.bin".into(),
                first: "b.bin".into(),
                index: 1
            }
        );
        assert_eq!(text, "c.bin: is member 1, and so is b.bin");

        let files = vec![member("a.bin", 0, 4, 5), member("c.bin", 2, 4, 5)];
        let (e, text) = refused(files.clone());
        assert_eq!(
            e,
            MergeError::Missing {
                missing: vec![1, 3],
                of: 4
            }
        );
        assert_eq!(
            text,
            "members 1, 3 of the 4 missing (--allow-missing merges the others)"
        );
        let (_, text) = refused(vec![member("a.bin", 0, 2, 5)]);
        assert_eq!(
            text,
            "member 1 of the 2 missing (--allow-missing merges the others)"
        );
        let merged = merge_files(files, true).unwrap();
        assert_eq!(merged.order, ["a.bin", "c.bin"].map(PathBuf::from));
        assert_eq!(merged.file.model.layers()[0].outputs(), 2 * (8 + 1));
    }
}
