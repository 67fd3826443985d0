//! Files: the `.bin` model format ([`ModelFile`]), written atomically
//! ([`files::write_atomic`](crate::files::write_atomic)), and model files merged into one
//! voting ensemble with the checks every front end shares ([`merge_files`]).
//!
//! A model file is a fixed header followed by a checked payload (all integers little-endian;
//! the full description is in `docs/model-format.md`):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic bytes `BITSMNST` |
//! | 8 | 4 | format version (`u32`, currently [`FORMAT_VERSION`]) |
//! | 12 | 8 | payload length in bytes (`u64`, at most [`MAX_PAYLOAD`]) |
//! | 20 | 4 | CRC-32 (IEEE) of the payload (`u32`) |
//! | 24 | n | payload: [`ModelFile`] encoded by bincode 2 (serde, standard configuration) |
//!
//! Loading checks every field and the decoded model's invariants, and returns a
//! [`ModelFileError`] (never panics) on a damaged or hostile file.
//!
//! ```
//! use bitsmnist_core::prelude::*;
//! let model = Chain::new(vec![BitDense::new(784, 2).with_seed(1).into()]).unwrap();
//! let file = ModelFile::new(model.clone()).with_meta(Metadata::now().with_task(&Task::zero_one()));
//! let bytes = file.to_bytes().unwrap();
//! let back = ModelFile::from_bytes(&bytes).unwrap();
//! assert_eq!(back.model, model);
//! assert_eq!(back.meta.task, Some(Task::zero_one()));
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::datasets::Split;
use crate::datasets::{Augment, Binarization, Dataset, Source, Task};
use crate::layers::Chain;
use crate::run::History;
use crate::training::{Membership, MethodKind, TrainingState};

mod legacy;
mod merge;

pub use merge::{MemberRecord, MergeError, Merged, merge_files, merge_files_until};

/// The first eight bytes of every model file.
pub const MAGIC: [u8; 8] = *b"BITSMNST";

/// The format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 8;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;

/// The largest payload accepted (1 GiB); also the bincode decoding limit, so no allocation is
/// sized from unchecked input beyond it.
pub const MAX_PAYLOAD: u64 = 1 << 30;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ MAX_PAYLOAD as usize }>()
}

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelFileError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file does not start with [`MAGIC`].
    #[error("not a BitsMNIST model file (bad magic bytes)")]
    BadMagic,
    /// Written by a newer program.
    #[error(
        "model file format version {found} is newer than this program reads ({supported}); update BitsMNIST"
    )]
    NewerVersion {
        /// The file's version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Version 0, which no program writes.
    #[error("model file format version {0} does not exist")]
    UnknownVersion(u32),
    /// The file ends early.
    #[error("model file truncated: expected {expected} bytes, found {found}")]
    Truncated {
        /// Bytes the header (or the minimum header) calls for.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The header declares a payload larger than [`MAX_PAYLOAD`].
    #[error("model file declares a payload of {declared} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Declared payload length.
        declared: u64,
        /// The limit.
        limit: u64,
    },
    /// The payload's CRC-32 differs from the header's.
    #[error("model file damaged: checksum {computed:08x} does not match the stored {stored:08x}")]
    Checksum {
        /// Stored in the header.
        stored: u32,
        /// Computed from the payload.
        computed: u32,
    },
    /// Bytes after the declared payload, or after the decoded value inside it.
    #[error("model file has {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The payload does not decode.
    #[error("model file payload does not decode: {0}")]
    Decode(String),
    /// The payload decodes to a model that breaks an invariant.
    #[error("invalid model file: {0}")]
    Invalid(String),
    /// The model could not be encoded.
    #[error("cannot encode the model: {0}")]
    Encode(String),
}

/// Facts about a model: the data it was trained on, the task, when and by what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// Data set name (`MNIST (embedded)`, ...).
    pub dataset: Option<String>,
    /// Where the data came from.
    pub source: Option<Source>,
    /// How the images were binarised.
    pub binarization: Option<Binarization>,
    /// The classes of the outputs, in order.
    pub task: Option<Task>,
    /// Name of each output class.
    pub class_names: Vec<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created_unix: u64,
    /// Version of the library that wrote the file (`CARGO_PKG_VERSION`).
    pub tool_version: String,
    /// How the run that made the model was set up (format version 6; `None` for a model
    /// made outside a run, or read from an older file that did not say).
    pub run: Option<RunInfo>,
    /// The program that wrote the file (`bitsmnist`, `bitsmnist-gui`, a notebook's own name).
    pub program: Option<String>,
    /// Free-form key/value notes (command line used, fitness, ...).
    pub extra: BTreeMap<String, String>,
}

/// How the run that made a model was set up: its method, its seed and, for one network of an
/// ensemble trained alone, which member it is ([`Membership`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// The kind of run.
    pub method: MethodKind,
    /// The seed every random stream of the run derives from (`None`: not recorded).
    pub seed: Option<u64>,
    /// The ensemble member this run trains alone, if it is one.
    pub member: Option<Membership>,
    /// The fraction of the task's training examples the run trains on, taken as
    /// [`Split::sample`] takes them (`None`: not recorded, every example).
    pub sample: Option<f64>,
    /// The copies of those examples the run trained on as well (format version 7; older
    /// files: [`Augment::None`]).
    pub augment: Augment,
    /// A member run that imprinted its own feature layers ([`RunPlan::own_features`](crate::session::RunPlan::own_features);
    /// format version 8; older files: `false`).
    pub own_features: bool,
}

impl RunInfo {
    /// A run of `method` from `seed`.
    pub fn new(method: MethodKind, seed: Option<u64>) -> Self {
        Self {
            method,
            seed,
            member: None,
            sample: None,
            augment: Augment::None,
            own_features: false,
        }
    }

    /// Sets [`own_features`](Self::own_features).
    pub fn with_own_features(mut self, own: bool) -> Self {
        self.own_features = own;
        self
    }

    /// Sets [`augment`](Self::augment).
    pub fn with_augment(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self
    }

    /// Sets [`sample`](Self::sample).
    pub fn with_sample(mut self, fraction: f64) -> Self {
        self.sample = Some(fraction);
        self
    }

    /// Sets [`member`](Self::member).
    pub fn with_member(mut self, member: Option<Membership>) -> Self {
        self.member = member;
        self
    }
}

impl Metadata {
    /// Empty metadata stamped with the current time and this library's version.
    pub fn now() -> Self {
        Self {
            dataset: None,
            source: None,
            binarization: None,
            task: None,
            class_names: Vec::new(),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            run: None,
            program: None,
            extra: BTreeMap::new(),
        }
    }

    /// Records how the run was set up.
    pub fn with_run(mut self, run: RunInfo) -> Self {
        self.run = Some(run);
        self
    }

    /// Records the program that writes the file.
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Records the data set's name, source, binarisation and class names.
    pub fn with_dataset(mut self, data: &Dataset) -> Self {
        self.dataset = Some(data.name.clone());
        self.source = Some(data.source.clone());
        self.binarization = Some(data.binarization);
        self.class_names = data.class_names.clone();
        self
    }

    /// Records the task.
    pub fn with_task(mut self, task: &Task) -> Self {
        self.task = Some(task.clone());
        self
    }

    /// Adds a note.
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.task {
            Task::new(t.classes().to_vec()).map_err(|e| format!("task: {e}"))?;
        }
        if let Some(m) = self.run.as_ref().and_then(|r| r.member) {
            m.validate().map_err(|e| format!("run: {e}"))?;
        }
        if let Some(f) = self.run.as_ref().and_then(|r| r.sample)
            && !(f > 0.0 && f <= 1.0)
        {
            return Err(format!("run: a training sample of {f}"));
        }
        if let Some(r) = &self.run {
            r.augment.check().map_err(|e| format!("run: {e}"))?;
        }
        if let Some(b) = self.binarization {
            b.check().map_err(|e| format!("binarization: {e}"))?;
        }
        Ok(())
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Self::now()
    }
}

/// The contents of a `.bin` model file: the model, optionally the whole training state of
/// any method (to resume) and the history, and metadata.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelFile {
    /// The model.
    pub model: Chain,
    /// The training state, to resume training (any method; format version 4).
    pub state: Option<TrainingState>,
    /// Every step's statistics.
    pub history: Option<History>,
    /// Where the model came from.
    pub meta: Metadata,
}
// Format version 4: every method's training state in one typed field, and the models carry
// their input encoding (`Chain::input`). Version 5: the layer kinds `Conv` and `Pool`, appended
// to `Layer`, and the gradient parameters' `features`. Version 6: the metadata's typed `run`
// and `program`, which replace the notes `ensemble_member`, `ensemble_members`,
// `ensemble_seed` and `saved_by`. Version 7: the run's `augment` (version 6 decodes into
// `legacy`'s frozen metadata), and the binarisation `Thermometer`, appended to
// `Binarization` (a version-7 file is refused by older builds as newer rather than as
// undecodable). Version 8: the gradient parameters' `rotate` and `zoom`, and the layer kind
// `Vote`, appended to `Layer`, and the run's `own_features`. Any change to the layout of these fields, or of the
// types inside them, needs a new version and a frozen copy of the old types in `legacy`.

/// A network's fingerprint: the CRC-32 of its encoding in a model file, as 8 hex digits.
///
/// Two runs that made the same network, bit for bit, give the same fingerprint, whatever the
/// machine, thread count or speed; their files still differ in what records time (the
/// creation time, each step's seconds). [`RunReport`](crate::session::RunReport) carries it.
///
/// ```
/// use bitsmnist_core::io::fingerprint;
/// use bitsmnist_core::layers::{BitOutput, Chain};
/// let a = Chain::mlp(784, &[16], 2, BitOutput::Bits, 1).unwrap();
/// let b = Chain::mlp(784, &[16], 2, BitOutput::Bits, 1).unwrap();
/// let c = Chain::mlp(784, &[16], 2, BitOutput::Bits, 2).unwrap();
/// assert_eq!(fingerprint(&a), fingerprint(&b));
/// assert_ne!(fingerprint(&a), fingerprint(&c));
/// assert_eq!(fingerprint(&a).len(), 8);
/// ```
pub fn fingerprint(model: &Chain) -> String {
    let mut hasher = crc32fast::Hasher::new();
    // Encoding into the hasher rather than a buffer: no copy of a large model.
    struct Sink<'a>(&'a mut crc32fast::Hasher);
    impl bincode::enc::write::Writer for Sink<'_> {
        fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
            self.0.update(bytes);
            Ok(())
        }
    }
    // A network that fits in memory encodes (the limit is the file's, far above any model).
    let _ = bincode::serde::encode_into_writer(model, Sink(&mut hasher), bincode_config());
    format!("{:08x}", hasher.finalize())
}

impl ModelFile {
    /// A file holding just `model`, with [`Metadata::now`].
    pub fn new(model: Chain) -> Self {
        Self {
            model,
            state: None,
            history: None,
            meta: Metadata::now(),
        }
    }

    /// A checkpoint of any run: the model to keep ([`TrainingState::model`], `train` being
    /// the training split), the whole state and its history.
    pub fn from_state(state: &TrainingState, train: &Split) -> Self {
        Self {
            model: state.model(train),
            state: Some(state.clone()),
            history: Some(state.history().clone()),
            meta: Metadata::now(),
        }
    }

    /// Sets the training state.
    pub fn with_state(mut self, state: impl Into<TrainingState>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the history.
    pub fn with_history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// Sets the metadata.
    pub fn with_meta(mut self, meta: Metadata) -> Self {
        self.meta = meta;
        self
    }

    /// The file's bytes: header and payload.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelFileError> {
        let payload = bincode::serde::encode_to_vec(self, bincode_config())
            .map_err(|e| ModelFileError::Encode(e.to_string()))?;
        if payload.len() as u64 > MAX_PAYLOAD {
            return Err(ModelFileError::Encode(format!(
                "payload of {} bytes exceeds the limit of {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// The length of [`to_bytes`](Self::to_bytes), counted without making the bytes: what a
    /// save will need on disk, to check before a long run that fills it
    /// ([`check_room`](crate::files::check_room)).
    pub fn encoded_len(&self) -> Result<u64, ModelFileError> {
        let mut size = bincode::enc::write::SizeWriter::default();
        bincode::serde::encode_into_writer(self, &mut size, bincode_config())
            .map_err(|e| ModelFileError::Encode(e.to_string()))?;
        Ok((HEADER_LEN + size.bytes_written) as u64)
    }

    /// Writes the file atomically (see [`write_atomic`](crate::files::write_atomic)).
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        let bytes = self.to_bytes()?;
        crate::files::write_atomic(path, &bytes)?;
        Ok(())
    }

    /// Parses and checks a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelFileError> {
        let header = parse_header(bytes)?;
        check_total_length(header.payload_len, bytes.len() as u64)?;
        Self::from_payload(&header, &bytes[HEADER_LEN..])
    }

    /// Reads and checks a model file. The header is checked against the file's length before
    /// the payload is read.
    pub fn load(path: &Path) -> Result<Self, ModelFileError> {
        // A FIFO or a device would block the read forever.
        let mut f = crate::files::open_regular(path)?;
        let file_len = f.metadata()?.len();
        let mut head = Vec::with_capacity(HEADER_LEN);
        (&mut f).take(HEADER_LEN as u64).read_to_end(&mut head)?;
        let header = parse_header(&head)?;
        check_total_length(header.payload_len, file_len)?;
        let mut payload = Vec::with_capacity(header.payload_len as usize);
        f.take(header.payload_len + 1).read_to_end(&mut payload)?;
        // The file may have changed since its length was read.
        check_total_length(header.payload_len, HEADER_LEN as u64 + payload.len() as u64)?;
        Self::from_payload(&header, &payload)
    }

    fn from_payload(header: &Header, payload: &[u8]) -> Result<Self, ModelFileError> {
        let computed = crc32fast::hash(payload);
        if computed != header.crc {
            return Err(ModelFileError::Checksum {
                stored: header.crc,
                computed,
            });
        }
        fn decode<T: serde::de::DeserializeOwned>(
            payload: &[u8],
        ) -> Result<(T, usize), ModelFileError> {
            bincode::serde::decode_from_slice(payload, bincode_config())
                .map_err(|e| ModelFileError::Decode(decode_text(e)))
        }
        // Older versions decode into frozen copies of their payload types (see `legacy`).
        let converted = |r: Result<Self, String>| r.map_err(ModelFileError::Invalid);
        let (mut file, read) = match header.version {
            1 => {
                let (f, n) = decode::<legacy::ModelFileV2<legacy::BitDenseV1>>(payload)?;
                (converted(f.convert())?, n)
            }
            2 => {
                let (f, n) = decode::<legacy::ModelFileV2<crate::layers::BitDense>>(payload)?;
                (converted(f.convert())?, n)
            }
            3 => {
                let (f, n) = decode::<legacy::ModelFileV3>(payload)?;
                (converted(f.convert())?, n)
            }
            4 => {
                let (f, n) = decode::<legacy::ModelFileV4>(payload)?;
                (converted(f.convert())?, n)
            }
            5 => {
                let (f, n) = decode::<legacy::ModelFileV5>(payload)?;
                (converted(f.convert())?, n)
            }
            6 => {
                let (f, n) = decode::<legacy::ModelFileV6>(payload)?;
                (converted(f.convert())?, n)
            }
            7 => {
                let (f, n) = decode::<legacy::ModelFileV7>(payload)?;
                (converted(f.convert())?, n)
            }
            _ => decode::<Self>(payload)?,
        };
        if read != payload.len() {
            return Err(ModelFileError::TrailingBytes {
                extra: (payload.len() - read) as u64,
            });
        }
        file.validate()?;
        Ok(file)
    }

    /// Checks the invariants serde cannot: shapes, padding bits, training state.
    fn validate(&mut self) -> Result<(), ModelFileError> {
        let invalid = ModelFileError::Invalid;
        self.model
            .validate()
            .map_err(|e| invalid(format!("model: {e}")))?;
        if let Some(t) = &mut self.state {
            t.validate()
                .map_err(|e| invalid(format!("{} training state: {e}", t.kind())))?;
        }
        self.meta
            .validate()
            .map_err(|e| invalid(format!("metadata: {e}")))?;
        Ok(())
    }
}

/// A decode error as a sentence: bincode's own text shows serde's messages in debug form
/// (`OtherString("...")`).
fn decode_text(e: bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as D;
    match e {
        D::OtherString(s) => s,
        D::Other(s) => s.to_string(),
        D::UnexpectedEnd { additional } => format!("the payload ends {additional} bytes early"),
        D::LimitExceeded => "a length in the payload exceeds the size limit".into(),
        D::InvalidIntegerType { .. } | D::OutsideUsizeRange(_) => {
            "an integer in the payload has the wrong size".into()
        }
        D::NonZeroTypeIsZero { .. } => "a number that must not be zero is zero".into(),
        D::UnexpectedVariant {
            type_name, found, ..
        } => format!("{type_name} has no variant {found}"),
        D::EmptyEnum { type_name } => format!("{type_name} has no variants"),
        D::Utf8 { .. } | D::InvalidCharEncoding(_) => "text that is not UTF-8".into(),
        D::InvalidBooleanValue(v) => format!("{v} where a boolean (0 or 1) belongs"),
        D::ArrayLengthMismatch { required, found } => {
            format!("an array of {found} elements where {required} belong")
        }
        D::InvalidDuration { .. } | D::InvalidSystemTime { .. } => "an invalid time".into(),
        D::Io { inner, .. } => inner.to_string(),
        _ => "a value that does not decode".into(),
    }
}

struct Header {
    version: u32,
    payload_len: u64,
    crc: u32,
}

fn parse_header(bytes: &[u8]) -> Result<Header, ModelFileError> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(ModelFileError::BadMagic);
    }
    if bytes.len() < HEADER_LEN {
        return Err(ModelFileError::Truncated {
            expected: HEADER_LEN as u64,
            found: bytes.len() as u64,
        });
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version == 0 {
        return Err(ModelFileError::UnknownVersion(version));
    }
    if version > FORMAT_VERSION {
        return Err(ModelFileError::NewerVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let payload_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    if payload_len > MAX_PAYLOAD {
        return Err(ModelFileError::TooLarge {
            declared: payload_len,
            limit: MAX_PAYLOAD,
        });
    }
    let crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    Ok(Header {
        version,
        payload_len,
        crc,
    })
}

fn check_total_length(payload_len: u64, total: u64) -> Result<(), ModelFileError> {
    let expected = HEADER_LEN as u64 + payload_len;
    if total < expected {
        Err(ModelFileError::Truncated {
            expected,
            found: total,
        })
    } else if total > expected {
        Err(ModelFileError::TrailingBytes {
            extra: total - expected,
        })
    } else {
        Ok(())
    }
}
