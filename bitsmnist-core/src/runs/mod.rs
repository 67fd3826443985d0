//! The runs folder: every run recorded as it goes, whichever front end started it, so that
//! runs can be listed, compared and continued later.
//!
//! A [`RunStore`] is a folder with one sub-folder per run, named by its [`RunId`]
//! (`20261204-225347-3fa1`: its start time in UTC and four hex digits). Each holds
//! `run.bin`, the run's checkpoint (a [`ModelFile`] with the state, the history and the
//! metadata), and `summary.bin`, what a listing shows without reading the checkpoint: the
//! label, tags, settings, progress and, once the run ended, its result ([`RunSummary`]). Both
//! are written atomically. A [`Session`](crate::session::Session) records itself with
//! [`Session::record`](crate::session::Session::record).
//!
//! Several processes may write into one folder at once: each run is written only by the
//! process that holds its lock (the lock of its `run.bin`, [`files::lock_output`]), and a run
//! whose summary says it is running but whose lock nobody holds was interrupted
//! ([`RunStatus::Interrupted`]). A sub-folder whose summary is missing or damaged is listed as
//! [`RunStatus::Damaged`], never an error for the whole listing.
//!
//! ```
//! use std::ops::ControlFlow;
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::runs::{RunStatus, RunStore};
//! use bitsmnist_core::session::{RunPlan, Session};
//!
//! let dir = std::env::temp_dir().join(format!("bitsmnist-runs-doc-{}", std::process::id()));
//! let store = RunStore::open(&dir).unwrap();
//! let plan = RunPlan::for_task(Task::zero_one()).generations(10);
//! let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
//! let id = session.record(&store, "first try", &["demo".into()]).unwrap();
//! session.run(|_| ControlFlow::Continue(())).unwrap();
//! drop(session); // ends the recording: the run's lock is released
//!
//! let runs = store.list().unwrap();
//! assert_eq!(runs.len(), 1);
//! assert_eq!(runs[0].id, id);
//! assert_eq!(runs[0].status, RunStatus::Finished);
//! let summary = runs[0].summary.as_ref().unwrap();
//! assert_eq!(summary.label, "first try");
//! assert!(summary.result.as_ref().unwrap().test_accuracy > 0.5); // after 10 generations
//! let file = store.load(&id).unwrap(); // the model, its state and history
//! assert_eq!(file.history.unwrap().records.len(), 11);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod sweep;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::files::{self, OutputLock};
use crate::io::{ModelFile, ModelFileError};

/// The checkpoint's name in a run's folder.
const CHECKPOINT: &str = "run.bin";
/// The summary's name in a run's folder.
const SUMMARY: &str = "summary.bin";
/// The summary file's first bytes: what it is and its layout's version.
const MAGIC: &[u8; 8] = b"BMRUNS1\0";
/// A summary larger than this is damaged (a real one is a few KB): reading never allocates
/// what a corrupt file claims.
const MAX_SUMMARY_BYTES: u64 = 1 << 20;

/// How often a recorded run's checkpoint is rewritten while it trains: wall-clock time,
/// which decides only when files are written, never what the run computes.
pub const RECORD_EVERY: Duration = Duration::from_secs(30);

/// Why the runs folder or one of its runs could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunStoreError {
    /// The folder could not be made or read.
    #[error("runs folder {path}: {error}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The cause.
        error: io::Error,
    },
    /// No run has this id.
    #[error("no run {0} in the runs folder")]
    NoSuchRun(RunId),
    /// A run's file could not be written or read.
    #[error("run {id}: {error}")]
    Io {
        /// The run.
        id: RunId,
        /// The cause.
        error: io::Error,
    },
    /// A run's summary is damaged.
    #[error("run {id}: damaged summary: {reason}")]
    Damaged {
        /// The run.
        id: RunId,
        /// What is wrong with it.
        reason: String,
    },
    /// A run's checkpoint could not be read or written.
    #[error("run {id}: {error}")]
    Checkpoint {
        /// The run.
        id: RunId,
        /// The cause.
        error: ModelFileError,
    },
    /// Another process is writing the run (deleting or continuing it is refused).
    #[error("run {0} is being written by another process")]
    Busy(RunId),
}

/// A run's name in the folder: its start time in UTC and four hex digits that tell apart
/// runs started in the same second, in the order they started (`20261204-225347-3fa1`). Only
/// such names are ids, so an id never names a path outside the folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunId(String);

impl RunId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of a run started at `unix` seconds, told apart by `salt`.
    fn new(unix: u64, salt: u16) -> Self {
        let (y, mo, d, h, mi, s) = crate::util::utc(unix);
        Self(format!(
            "{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}-{salt:04x}"
        ))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RunId {
    type Err = crate::util::ParseError;

    /// ```
    /// use bitsmnist_core::runs::RunId;
    /// assert!("20261204-225347-3fa1".parse::<RunId>().is_ok());
    /// assert!("../etc".parse::<RunId>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shape: Vec<usize> = s.split('-').map(str::len).collect();
        let digits = |part: &str, hex: bool| {
            part.bytes()
                .all(|b| b.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&b)))
        };
        let parts: Vec<&str> = s.split('-').collect();
        if shape == [8, 6, 4]
            && digits(parts[0], false)
            && digits(parts[1], false)
            && digits(parts[2], true)
        {
            Ok(Self(s.to_string()))
        } else {
            Err(crate::util::ParseError::new(
                "run id",
                s,
                "a run id is a date, a time and four hex digits: 20261204-225347-3fa1",
            ))
        }
    }
}

/// What the process writing a run last said of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RunState {
    /// Training.
    Running,
    /// Paused by its front end; the same process may go on.
    Paused,
    /// Stopped before its stop rules were met (cancelled, a signal); continuable.
    Stopped,
    /// Ended by its stop rules; [`RunSummary::result`] holds its figures.
    Finished,
}

/// The figures of a finished run (from its [`RunReport`](crate::session::RunReport)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunResult {
    /// Why it stopped (`step limit reached`, ...).
    pub stop: String,
    /// Accuracy on the training split, 0 to 1.
    pub train_accuracy: f64,
    /// Accuracy on the test split, 0 to 1.
    pub test_accuracy: f64,
    /// The model's size in bytes of bits and thresholds.
    pub model_bytes: usize,
    /// The network's fingerprint ([`io::fingerprint`](crate::io::fingerprint)).
    pub fingerprint: String,
}

/// What a listing shows of a run without reading its checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run's id.
    pub id: RunId,
    /// The user's name for it (may be empty).
    pub label: String,
    /// The user's tags.
    pub tags: Vec<String>,
    /// The program that recorded it (`bitsmnist`, `bitsmnist-gui`, a notebook's name).
    pub program: String,
    /// When it started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// When this summary was written, seconds since the Unix epoch.
    pub updated_unix: u64,
    /// What its writer last said.
    pub state: RunState,
    /// `population`, `climb` or `gradient`.
    pub method: String,
    /// The model's shape as `--arch` writes it.
    pub architecture: String,
    /// The task (`zero-one`, `digits`, `3,8`).
    pub task: String,
    /// The data set's name.
    pub dataset: String,
    /// The seed.
    pub seed: Option<u64>,
    /// Every setting of the method, as (name, value) pairs in a fixed order, for a diff of
    /// two runs.
    pub settings: Vec<(String, String)>,
    /// The step reached (generation or epoch).
    pub step: u64,
    /// The step its stop rules end at, when they count steps.
    pub planned_steps: Option<u64>,
    /// Training time so far, seconds.
    pub seconds: f64,
    /// The objective at the last step (best fitness; gradient: training accuracy).
    pub objective: Option<f64>,
    /// Test accuracy at the last validation, 0 to 1, while running.
    pub last_test_accuracy: Option<f64>,
    /// The figures of the finished run.
    pub result: Option<RunResult>,
}

/// A run's status in a listing: its writer's word checked against its lock.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunStatus {
    /// Being written by a live process.
    Running,
    /// Paused in a live process.
    Paused,
    /// Its process ended while it ran (killed, crashed, a machine that went down): its last
    /// checkpoint continues it.
    Interrupted,
    /// Stopped before its stop rules were met; its checkpoint continues it.
    Stopped,
    /// Ended by its stop rules.
    Finished,
    /// Its summary is missing or unreadable (the reason); the rest of the folder is unharmed.
    Damaged(String),
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunStatus::Running => f.write_str("running"),
            RunStatus::Paused => f.write_str("paused"),
            RunStatus::Interrupted => f.write_str("interrupted"),
            RunStatus::Stopped => f.write_str("stopped"),
            RunStatus::Finished => f.write_str("finished"),
            RunStatus::Damaged(why) => write!(f, "damaged ({why})"),
        }
    }
}

/// One run of a listing.
#[derive(Clone, Debug)]
pub struct RunListing {
    /// The run's id.
    pub id: RunId,
    /// Its status.
    pub status: RunStatus,
    /// Its summary; `None` when damaged.
    pub summary: Option<RunSummary>,
}

impl RunListing {
    /// The columns of a runs table, as the command line, the app and notebooks show them.
    pub const COLUMNS: [&'static str; 11] = [
        "id", "label", "method", "model", "seed", "step", "time", "train", "test", "size", "status",
    ];

    /// The run's cells under [`COLUMNS`](Self::COLUMNS): steps as `step/planned`, time in
    /// seconds, accuracies in percent (the last validation's while it runs), the model's size
    /// in KiB; a dash where there is nothing (a damaged run shows its id and status only).
    ///
    /// ```
    /// # use bitsmnist_core::runs::RunListing;
    /// assert_eq!(RunListing::COLUMNS[8], "test");
    /// ```
    pub fn cells(&self) -> [String; 11] {
        let dash = || "–".to_string();
        let percent = |x: Option<f64>| x.map_or_else(dash, |x| format!("{:.2}%", 100.0 * x));
        let Some(s) = &self.summary else {
            let mut cells: [String; 11] = std::array::from_fn(|_| dash());
            cells[0] = self.id.to_string();
            cells[10] = self.status.to_string();
            return cells;
        };
        let result = s.result.as_ref();
        [
            self.id.to_string(),
            s.label.clone(),
            s.method.clone(),
            s.architecture.clone(),
            s.seed.map_or_else(dash, |x| x.to_string()),
            match s.planned_steps {
                Some(p) => format!("{}/{p}", s.step),
                None => s.step.to_string(),
            },
            if s.seconds < 10.0 {
                format!("{:.1} s", s.seconds)
            } else {
                format!("{:.0} s", s.seconds)
            },
            percent(result.map(|r| r.train_accuracy)),
            percent(result.map(|r| r.test_accuracy).or(s.last_test_accuracy)),
            result.map_or_else(dash, |r| {
                format!("{:.1} KiB", r.model_bytes as f64 / 1024.0)
            }),
            self.status.to_string(),
        ]
    }
}

/// A folder of recorded runs. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct RunStore {
    dir: PathBuf,
}

impl RunStore {
    /// Opens the runs folder `dir`, making it if it does not exist.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, RunStoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|error| RunStoreError::Folder {
            path: dir.clone(),
            error,
        })?;
        if !dir.is_dir() {
            return Err(RunStoreError::Folder {
                path: dir,
                error: io::Error::new(io::ErrorKind::NotADirectory, "not a folder"),
            });
        }
        Ok(Self { dir })
    }

    /// The default runs folder: `$XDG_DATA_HOME/bitsmnist/runs`, else
    /// `~/.local/share/bitsmnist/runs` (on Windows `%APPDATA%\bitsmnist\runs`, on macOS
    /// `~/Library/Application Support/bitsmnist/runs`); `None` without a home folder.
    pub fn default_dir() -> Option<PathBuf> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = if cfg!(windows) {
            env("APPDATA")?
        } else if cfg!(target_os = "macos") {
            env("HOME")?.join("Library/Application Support")
        } else {
            env("XDG_DATA_HOME")
                .filter(|p| p.is_absolute())
                .or_else(|| env("HOME").map(|h| h.join(".local/share")))?
        };
        Some(base.join("bitsmnist").join("runs"))
    }

    /// The environment variable naming the runs folder when a front end is given none.
    pub const DIR_VAR: &'static str = "BITSMNIST_RUNS_DIR";

    /// The runs folder every front end uses: `given` (the command line's `--runs`, the app's
    /// setting), else `$BITSMNIST_RUNS_DIR`, else [`default_dir`](Self::default_dir); `None`
    /// with none of them.
    pub fn resolve_dir(given: Option<PathBuf>) -> Option<PathBuf> {
        given
            .or_else(|| {
                std::env::var_os(Self::DIR_VAR)
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(Self::default_dir)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The checkpoint of run `id` (`run.bin` in its folder).
    pub fn checkpoint_path(&self, id: &RunId) -> PathBuf {
        self.dir.join(id.as_str()).join(CHECKPOINT)
    }

    /// Every run in the folder, oldest first. Entries that are not runs (other files, folders
    /// not named as a run) are left out; a run whose summary is damaged is listed as such.
    pub fn list(&self) -> Result<Vec<RunListing>, RunStoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|error| RunStoreError::Folder {
            path: self.dir.clone(),
            error,
        })?;
        let mut runs: Vec<RunListing> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str()?.parse::<RunId>().ok())
            .map(|id| self.listing(id))
            .collect();
        runs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(runs)
    }

    /// The listing of run `id`.
    pub fn listing(&self, id: RunId) -> RunListing {
        match self.summary(&id) {
            Ok(summary) => RunListing {
                status: self.status_of(&id, &summary.state),
                summary: Some(summary),
                id,
            },
            Err(e) => RunListing {
                status: RunStatus::Damaged(match e {
                    RunStoreError::Damaged { reason, .. } => reason,
                    other => other.to_string(),
                }),
                summary: None,
                id,
            },
        }
    }

    /// The summary of run `id`.
    pub fn summary(&self, id: &RunId) -> Result<RunSummary, RunStoreError> {
        let folder = self.dir.join(id.as_str());
        if !folder.is_dir() {
            return Err(RunStoreError::NoSuchRun(id.clone()));
        }
        let damaged = |reason: String| RunStoreError::Damaged {
            id: id.clone(),
            reason,
        };
        let path = folder.join(SUMMARY);
        let file = files::open_regular(&path).map_err(|e| damaged(e.to_string()))?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(file, MAX_SUMMARY_BYTES + 1), &mut bytes)
            .map_err(|e| damaged(e.to_string()))?;
        let summary = decode_summary(&bytes).map_err(damaged)?;
        if &summary.id != id {
            return Err(damaged(format!("it names run {}", summary.id)));
        }
        Ok(summary)
    }

    /// The checkpoint of run `id`: its model, state, history and metadata.
    pub fn load(&self, id: &RunId) -> Result<ModelFile, RunStoreError> {
        if !self.dir.join(id.as_str()).is_dir() {
            return Err(RunStoreError::NoSuchRun(id.clone()));
        }
        ModelFile::load(&self.checkpoint_path(id)).map_err(|error| RunStoreError::Checkpoint {
            id: id.clone(),
            error,
        })
    }

    /// Gives run `id` a new label and tags.
    pub fn relabel(&self, id: &RunId, label: &str, tags: &[String]) -> Result<(), RunStoreError> {
        // A live writer rewrites its summary: it would undo the change.
        let _lock = self.lock(id)?;
        let mut summary = self.summary(id)?;
        summary.label = label.to_string();
        summary.tags = tags.to_vec();
        self.write_summary(&summary)
    }

    /// Deletes run `id` and its files; refused while another process writes it.
    pub fn delete(&self, id: &RunId) -> Result<(), RunStoreError> {
        let folder = self.dir.join(id.as_str());
        if !folder.is_dir() {
            return Err(RunStoreError::NoSuchRun(id.clone()));
        }
        let lock = self.lock(id)?;
        drop(lock);
        std::fs::remove_dir_all(&folder).map_err(|error| RunStoreError::Io {
            id: id.clone(),
            error,
        })
    }

    /// Takes run `id`'s lock, or says another process holds it.
    fn lock(&self, id: &RunId) -> Result<OutputLock, RunStoreError> {
        files::lock_output(&self.checkpoint_path(id)).map_err(|error| {
            if error.kind() == io::ErrorKind::WouldBlock {
                RunStoreError::Busy(id.clone())
            } else {
                RunStoreError::Io {
                    id: id.clone(),
                    error,
                }
            }
        })
    }

    fn status_of(&self, id: &RunId, state: &RunState) -> RunStatus {
        match state {
            RunState::Finished => RunStatus::Finished,
            RunState::Stopped => RunStatus::Stopped,
            // A probe, not the lock itself: a listing that took the lock to find out would,
            // for that moment, look like a writer to another listing or a sweep planning
            // which points to continue.
            RunState::Running | RunState::Paused => {
                match files::output_locked(&self.checkpoint_path(id)) {
                    Ok(true) if *state == RunState::Paused => RunStatus::Paused,
                    Ok(true) => RunStatus::Running,
                    // Nobody holds it: the writer is gone.
                    _ => RunStatus::Interrupted,
                }
            }
        }
    }

    fn write_summary(&self, summary: &RunSummary) -> Result<(), RunStoreError> {
        let path = self.dir.join(summary.id.as_str()).join(SUMMARY);
        files::write_atomic(&path, &encode_summary(summary)).map_err(|error| RunStoreError::Io {
            id: summary.id.clone(),
            error,
        })
    }

    /// Makes a new run's folder under a fresh id, hidden from listings (`.new-ID`) until
    /// [`publish`](Self::publish) renames it into place with its first files, and takes its
    /// lock: a listing never sees a run without its summary.
    fn create_pending(&self) -> Result<(RunId, PathBuf, OutputLock), RunStoreError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // Runs that start in the same second sort by their millisecond, and differ by their
        // process too (a clash takes the next free value).
        let mut salt = ((now.subsec_millis() << 6) | (std::process::id() & 63)) as u16;
        loop {
            let id = RunId::new(now.as_secs(), salt);
            salt = salt.wrapping_add(1);
            if self.dir.join(id.as_str()).exists() {
                continue;
            }
            let pending = self.dir.join(format!(".new-{id}"));
            match std::fs::create_dir(&pending) {
                Ok(()) => {
                    let lock = files::lock_output(&pending.join(CHECKPOINT)).map_err(|error| {
                        RunStoreError::Io {
                            id: id.clone(),
                            error,
                        }
                    })?;
                    return Ok((id, pending, lock));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => {
                    return Err(RunStoreError::Folder {
                        path: self.dir.clone(),
                        error,
                    });
                }
            }
        }
    }

    /// Renames the pending folder of run `id` into place.
    fn publish(&self, pending: &Path, id: &RunId) -> Result<PathBuf, RunStoreError> {
        let folder = self.dir.join(id.as_str());
        std::fs::rename(pending, &folder).map_err(|error| RunStoreError::Io {
            id: id.clone(),
            error,
        })?;
        Ok(folder)
    }
}

/// Runs side by side ([`RunStore::compare`]): each run's summary and its history, for a table
/// of the settings in which they differ and their curves on one plot (a notebook displays it).
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Each run's summary and, when its checkpoint could be read, its history.
    pub runs: Vec<(RunSummary, Option<crate::run::History>)>,
}

impl Comparison {
    /// The settings in which any run differs from the first: (name, each run's value).
    pub fn differing(&self) -> Vec<(String, Vec<String>)> {
        let settings: Vec<_> = self.runs.iter().map(|(s, _)| s.all_settings()).collect();
        let mut names: Vec<String> = Vec::new();
        for other in settings.iter().skip(1) {
            for (name, _, _) in settings_diff(&settings[0], other) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
            .into_iter()
            .map(|n| {
                let values = settings
                    .iter()
                    .map(|s| {
                        s.iter()
                            .find(|(k, _)| *k == n)
                            .map_or("–".to_string(), |(_, v)| v.clone())
                    })
                    .collect();
                (n, values)
            })
            .collect()
    }
}

impl RunStore {
    /// Runs `ids` side by side: their summaries and histories (a run whose checkpoint cannot
    /// be read is compared without its curve).
    pub fn compare(&self, ids: &[RunId]) -> Result<Comparison, RunStoreError> {
        let runs = ids
            .iter()
            .map(|id| {
                let summary = self.summary(id)?;
                let history = self.load(id).ok().and_then(|f| f.history);
                Ok((summary, history))
            })
            .collect::<Result<_, RunStoreError>>()?;
        Ok(Comparison { runs })
    }
}

/// The summary's bytes: the magic, the CRC-32 of the payload, the payload (bincode).
fn encode_summary(summary: &RunSummary) -> Vec<u8> {
    let payload = bincode::serde::encode_to_vec(summary, bincode::config::standard())
        .expect("a summary encodes");
    let mut bytes = Vec::with_capacity(12 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

fn decode_summary(bytes: &[u8]) -> Result<RunSummary, String> {
    if bytes.len() as u64 > MAX_SUMMARY_BYTES {
        return Err("larger than any summary".into());
    }
    let payload = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a run summary (or a newer layout)")?;
    let (crc, payload) = payload.split_at_checked(4).ok_or("truncated")?;
    if crc32fast::hash(payload).to_le_bytes() != crc {
        return Err("checksum mismatch (truncated or corrupt)".into());
    }
    let config = bincode::config::standard().with_limit::<{ MAX_SUMMARY_BYTES as usize }>();
    bincode::serde::decode_from_slice(payload, config)
        .map(|(s, _)| s)
        .map_err(|e| format!("cannot be decoded: {e}"))
}

/// A run being recorded: its folder's lock and the summary its writer keeps up to date. Held
/// by the [`Session`](crate::session::Session) that records itself; dropping it releases
/// the run.
#[derive(Debug)]
pub(crate) struct Recorder {
    store: RunStore,
    pub(crate) summary: RunSummary,
    lock: OutputLock,
    last_write: Instant,
    pub(crate) every: Duration,
    /// Where the run's files go: its pending folder until the first write publishes it.
    folder: PathBuf,
    published: bool,
}

impl Recorder {
    /// Records a new run in `store`; `fill` completes its summary (id and times are set).
    pub(crate) fn begin(
        store: &RunStore,
        fill: impl FnOnce(RunId) -> RunSummary,
    ) -> Result<Self, RunStoreError> {
        let (id, folder, lock) = store.create_pending()?;
        Ok(Self {
            store: store.clone(),
            summary: fill(id),
            lock,
            last_write: Instant::now(),
            every: RECORD_EVERY,
            folder,
            published: false,
        })
    }

    /// Records again into the existing run `id` (a run continued): its label, tags and start
    /// time stay.
    pub(crate) fn resume(store: &RunStore, id: &RunId) -> Result<Self, RunStoreError> {
        let lock = store.lock(id)?;
        let summary = store.summary(id)?;
        Ok(Self {
            store: store.clone(),
            summary,
            lock,
            last_write: Instant::now(),
            every: RECORD_EVERY,
            folder: store.dir.join(id.as_str()),
            published: true,
        })
    }

    /// The run's id.
    pub(crate) fn id(&self) -> &RunId {
        &self.summary.id
    }

    /// Whether the checkpoint is due again.
    pub(crate) fn due(&self) -> bool {
        self.last_write.elapsed() >= self.every
    }

    /// Writes the checkpoint `file`, then the summary (so that a summary never describes a
    /// checkpoint that is not there).
    pub(crate) fn write(&mut self, file: &ModelFile) -> Result<(), RunStoreError> {
        let id = self.summary.id.clone();
        file.save(&self.folder.join(CHECKPOINT))
            .map_err(|error| RunStoreError::Checkpoint {
                id: id.clone(),
                error,
            })?;
        self.summary.updated_unix = unix_now();
        files::write_atomic(&self.folder.join(SUMMARY), &encode_summary(&self.summary)).map_err(
            |error| RunStoreError::Io {
                id: id.clone(),
                error,
            },
        )?;
        if !self.published {
            self.folder = self.store.publish(&self.folder, &id)?;
            self.lock.moved_into(&self.folder);
            self.published = true;
        }
        self.last_write = Instant::now();
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The differences between two runs' settings: (name, first's value, second's value) for each
/// setting that differs or that only one has, the run's own fields (method, architecture,
/// task, data set, seed) first.
///
/// ```
/// # use bitsmnist_core::runs::settings_diff;
/// let a = vec![("epochs".to_string(), "30".to_string()), ("batch".into(), "100".into())];
/// let b = vec![("epochs".to_string(), "12".to_string()), ("batch".into(), "100".into())];
/// assert_eq!(settings_diff(&a, &b), vec![("epochs".to_string(), Some("30".to_string()), Some("12".to_string()))]);
/// ```
pub fn settings_diff(
    a: &[(String, String)],
    b: &[(String, String)],
) -> Vec<(String, Option<String>, Option<String>)> {
    let get =
        |s: &[(String, String)], k: &str| s.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut names: Vec<&String> = a.iter().map(|(n, _)| n).collect();
    names.extend(
        b.iter()
            .map(|(n, _)| n)
            .filter(|n| a.iter().all(|(m, _)| m != *n)),
    );
    names
        .into_iter()
        .filter_map(|n| {
            let (x, y) = (get(a, n), get(b, n));
            (x != y).then(|| (n.clone(), x, y))
        })
        .collect()
}

impl RunSummary {
    /// The run's own fields and its method's settings as (name, value) pairs, for
    /// [`settings_diff`].
    pub fn all_settings(&self) -> Vec<(String, String)> {
        let mut all = vec![
            ("method".to_string(), self.method.clone()),
            ("architecture".to_string(), self.architecture.clone()),
            ("task".to_string(), self.task.clone()),
            ("data set".to_string(), self.dataset.clone()),
            (
                "seed".to_string(),
                self.seed.map_or("none".into(), |s| s.to_string()),
            ),
        ];
        all.extend(self.settings.iter().cloned());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: RunId) -> RunSummary {
        RunSummary {
            id,
            label: "l".into(),
            tags: vec!["t".into()],
            program: "test".into(),
            started_unix: 0,
            updated_unix: 0,
            state: RunState::Running,
            method: "climb".into(),
            architecture: "800".into(),
            task: "digits".into(),
            dataset: "MNIST (embedded)".into(),
            seed: Some(1),
            settings: vec![("batch".into(), "5000".into())],
            step: 3,
            planned_steps: Some(10),
            seconds: 1.5,
            objective: None,
            last_test_accuracy: None,
            result: None,
        }
    }

    #[test]
    fn ids_are_times_and_only_such_names_are_ids() {
        assert_eq!(RunId::new(0, 0x3fa1).as_str(), "19700101-000000-3fa1");
        assert_eq!(
            RunId::new(1_796_172_981, 1).as_str(),
            "20261202-005621-0001"
        );
        for bad in [
            "",
            "..",
            "a/b",
            "20261204-225347",
            "20261204-225347-3FA1",
            "2026120x-225347-3fa1",
        ] {
            assert!(bad.parse::<RunId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn summaries_round_trip_and_damage_is_named() {
        let s = summary(RunId::new(5, 5));
        let bytes = encode_summary(&s);
        assert_eq!(decode_summary(&bytes).unwrap(), s);
        for cut in [0, 4, 8, 11, bytes.len() - 1] {
            assert!(decode_summary(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(decode_summary(&flipped).unwrap_err().contains("checksum"));
    }

    /// A run in `store` with a summary, and its lock.
    fn create(store: &RunStore) -> (RunId, OutputLock) {
        let (id, pending, mut lock) = store.create_pending().unwrap();
        // Hidden from listings until it is published.
        assert!(store.list().unwrap().iter().all(|r| r.id != id));
        files::write_atomic(
            &pending.join(SUMMARY),
            &encode_summary(&summary(id.clone())),
        )
        .unwrap();
        let folder = store.publish(&pending, &id).unwrap();
        lock.moved_into(&folder);
        (id, lock)
    }

    #[test]
    fn a_damaged_or_stray_entry_leaves_the_rest_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let (good, lock) = create(&store);
        let (bad, _) = create(&store);
        std::fs::write(store.dir().join(bad.as_str()).join(SUMMARY), b"BMRUNS1\0xx").unwrap();
        std::fs::write(store.dir().join("notes.txt"), b"not a run").unwrap();
        std::fs::create_dir(store.dir().join("not-a-run")).unwrap();
        let runs = store.list().unwrap();
        assert_eq!(runs.len(), 2);
        let by = |id: &RunId| runs.iter().find(|r| &r.id == id).unwrap();
        assert_eq!(by(&good).status, RunStatus::Running);
        assert!(matches!(by(&bad).status, RunStatus::Damaged(_)));
        // Its writer gone, a running run is interrupted.
        drop(lock);
        assert_eq!(store.listing(good.clone()).status, RunStatus::Interrupted);
        assert!(matches!(
            store.load(&good),
            Err(RunStoreError::Checkpoint { .. })
        ));
        store.relabel(&good, "new", &[]).unwrap();
        assert_eq!(store.summary(&good).unwrap().label, "new");
        store.delete(&bad).unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
    }

    #[test]
    fn diffs_name_what_differs_and_what_one_lacks() {
        let a = summary(RunId::new(1, 1)).all_settings();
        let mut other = summary(RunId::new(2, 2));
        other.seed = Some(2);
        other.settings.push(("shift".into(), "2".into()));
        let d = settings_diff(&a, &other.all_settings());
        assert_eq!(
            d,
            vec![
                ("seed".to_string(), Some("1".into()), Some("2".into())),
                ("shift".to_string(), None, Some("2".into())),
            ]
        );
    }
}
