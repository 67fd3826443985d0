//! Decoding of model files of format versions 1 to 7.
//!
//! Bincode is not self-describing: a payload decodes only into types with exactly the field
//! lists it was written from. This module keeps frozen copies of the payload types as the old
//! versions wrote them, decodes into them, and converts the result into today's types. Only
//! leaves whose layout has not changed since version 2 are borrowed from the live code:
//! [`BitDense`] (versions 2 and 3), [`Dense`], [`PopulationParams`] and [`ClimbParams`]
//! (and, for version 5, today's model, state and history). Everything else here must never change: a change to a live type's layout
//! needs a new format version, not an edit of these mirrors.
//!
//! | version | payload |
//! |---|---|
//! | 1 | as 2, with bit layers of weights, bias and output only ([`BitDenseV1`]) |
//! | 2 | model, training state, history, metadata ([`ModelFileV2`]) |
//! | 3 | as 2, then the climb state ([`ModelFileV3`]) |
//! | 4 | version 5's but for the gradient parameters, which had no `features` ([`ModelFileV4`]) |
//! | 5 | version 6's but for the metadata, which had no `run` and `program` ([`ModelFileV5`], [`MetadataV5`]) |
//! | 6 | version 7's but for the run's record, which had no `augment` ([`ModelFileV6`], [`RunInfoV6`]) |
//! | 7 | today's layout but for the gradient parameters, which had no `rotate` and `zoom` ([`ModelFileV7`], [`TrainingStateV7`]), the run's record, which had no `own_features` ([`MetadataV7`]), and no [`Layer::Vote`] |
//!
//! In all three, a [`Chain`] is its layers alone and reads bits ([`Input::Bits`]): grey-input
//! models were marked only by the metadata note `extra["input"] = "grey"`, which the
//! conversion turns into [`Chain::input`] (the note stays in the metadata).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Metadata, RunInfo};
use crate::bits::BitMatrix;
use crate::layers::{BitDense, BitOutput, Chain, Dense, Input, Layer};
use crate::run::{Detail, History, Log, Record};
use crate::search::{ClimbParams, Climber, Population, PopulationParams};
use crate::training::TrainingState;

/// A bit layer as format version 1 wrote it: no per-neuron thresholds or scales.
#[derive(Deserialize)]
pub(super) struct BitDenseV1 {
    weights: BitMatrix,
    bias: BitMatrix,
    output: BitOutput,
}

/// A bit layer of an old payload, turned into today's.
pub(super) trait OldBit: DeserializeOwned {
    /// Today's layer.
    fn into_bit(self) -> BitDense;
}

impl OldBit for BitDenseV1 {
    fn into_bit(self) -> BitDense {
        BitDense::from_raw(self.weights, self.bias, self.output, None, None)
    }
}

/// Versions 2 and 3 wrote bit layers as today's [`BitDense`] does.
impl OldBit for BitDense {
    fn into_bit(self) -> BitDense {
        self
    }
}

/// A layer of versions 1 to 3 (`Layer`: bit or float).
#[derive(Deserialize)]
#[serde(bound = "B: OldBit")]
enum LayerV3<B> {
    Bit(B),
    Float(Dense),
}

impl<B: OldBit> LayerV3<B> {
    fn convert(self) -> Layer {
        match self {
            LayerV3::Bit(b) => Layer::Bit(b.into_bit()),
            LayerV3::Float(d) => Layer::Float(d),
        }
    }
}

/// A chain of versions 1 to 3: the layers, no input encoding.
#[derive(Deserialize)]
#[serde(bound = "B: OldBit")]
struct ChainV3<B> {
    layers: Vec<LayerV3<B>>,
}

impl<B: OldBit> ChainV3<B> {
    /// Today's chain reading `input`, or why the widths do not line up.
    fn convert(self, input: Input) -> Result<Chain, String> {
        Chain::new(self.layers.into_iter().map(LayerV3::convert).collect())
            .map(|c| c.with_input(input))
            .map_err(|e| format!("model: {e}"))
    }
}

/// A generation's record of versions 1 to 3.
#[derive(Deserialize)]
struct GenerationRecordV3 {
    generation: u64,
    best: f64,
    mean: f64,
    worst: f64,
    validation_accuracy: Option<f64>,
    elapsed_secs: f64,
    generations_per_sec: f64,
    mutation_scale: f64,
}

/// A history of versions 1 to 3.
#[derive(Deserialize)]
struct HistoryV3 {
    records: Vec<GenerationRecordV3>,
}

impl HistoryV3 {
    /// Today's history; `detail` gives each record's method part from the old record.
    fn convert(self, detail: impl Fn(&GenerationRecordV3) -> Detail) -> History {
        History {
            records: self
                .records
                .into_iter()
                .map(|r| Record {
                    step: r.generation,
                    best: r.best,
                    mean: r.mean,
                    worst: r.worst,
                    validation_accuracy: r.validation_accuracy,
                    elapsed_secs: r.elapsed_secs,
                    steps_per_sec: r.generations_per_sec,
                    detail: detail(&r),
                })
                .collect(),
        }
    }

    /// A population's history.
    fn population(self) -> History {
        self.convert(|r| Detail::Population {
            mutation_scale: r.mutation_scale,
        })
    }
}

/// A genetic training state of versions 1 to 3.
#[derive(Deserialize)]
#[serde(bound = "B: OldBit")]
struct TrainingSetV3<B> {
    chain: ChainV3<B>,
    layers: Vec<usize>,
    params: PopulationParams,
    population: Vec<Vec<B>>,
    fitness: Vec<f64>,
    generation: u64,
    scale: f64,
    best_so_far: f64,
    last_improvement: u64,
    last_shrink: u64,
    elapsed_secs: f64,
    history: HistoryV3,
}

impl<B: OldBit> TrainingSetV3<B> {
    fn convert(self, input: Input) -> Result<Population, String> {
        Ok(Population::from_parts(
            self.chain.convert(input)?,
            self.layers,
            self.params,
            self.population
                .into_iter()
                .map(|g| g.into_iter().map(OldBit::into_bit).collect())
                .collect(),
            self.fitness,
            (self.generation, self.scale, self.best_so_far),
            (self.last_improvement, self.last_shrink),
            Log {
                history: self.history.population(),
                elapsed_secs: self.elapsed_secs,
            },
        ))
    }
}

/// A hill-climb state of version 3.
#[derive(Deserialize)]
struct ClimberV3 {
    chain: ChainV3<BitDense>,
    params: ClimbParams,
    trial: u64,
    accepted: u64,
    generation: u64,
    elapsed_secs: f64,
    // Patience is counted from the history now.
    _best_so_far: f64,
    _last_improvement: u64,
    history: HistoryV3,
    best_full: Option<(f64, ChainV3<BitDense>)>,
}

impl ClimberV3 {
    fn convert(self, input: Input) -> Result<Climber, String> {
        let best_full = match self.best_full {
            Some((a, c)) => Some((a, c.convert(input)?)),
            None => None,
        };
        // The old records knew the trials per generation, not the flips kept.
        let per_generation = self.params.trials_per_generation;
        let history = self.history.convert(|r| Detail::Climb {
            trials: r.generation.saturating_mul(per_generation),
            kept: 0,
            flips_per_sec: r.generations_per_sec * per_generation as f64,
        });
        Ok(Climber::from_parts(
            self.chain.convert(input)?,
            self.params,
            (self.trial, self.accepted, self.generation),
            Log {
                history,
                elapsed_secs: self.elapsed_secs,
            },
            best_full,
        ))
    }
}

/// The payload of versions 1 (with `B` = [`BitDenseV1`]) and 2 (`B` = [`BitDense`]).
#[derive(Deserialize)]
#[serde(bound = "B: OldBit")]
pub(super) struct ModelFileV2<B> {
    model: ChainV3<B>,
    training: Option<TrainingSetV3<B>>,
    history: Option<HistoryV3>,
    meta: MetadataV5,
}

/// The payload of version 3: version 2's, then the climb state.
#[derive(Deserialize)]
pub(super) struct ModelFileV3 {
    model: ChainV3<BitDense>,
    training: Option<TrainingSetV3<BitDense>>,
    history: Option<HistoryV3>,
    meta: MetadataV5,
    climb: Option<ClimberV3>,
}

/// The input encoding an old file recorded in its metadata note `extra["input"]` (absent:
/// bits).
fn input_of(meta: &MetadataV5) -> Result<Input, String> {
    meta.extra
        .get("input")
        .map_or(Ok(Input::Bits), |s| s.parse())
        .map_err(|e| format!("metadata: {e}"))
}

impl<B: OldBit> ModelFileV2<B> {
    /// Today's file (without climb state), or why the old one breaks an invariant.
    pub(super) fn convert(self) -> Result<super::ModelFile, String> {
        let input = input_of(&self.meta)?;
        Ok(super::ModelFile {
            model: self.model.convert(input)?,
            state: self
                .training
                .map(|t| t.convert(input).map(TrainingState::from))
                .transpose()?,
            history: self.history.map(HistoryV3::population),
            meta: self.meta.into(),
        })
    }
}

impl ModelFileV3 {
    /// Today's file, or why the old one breaks an invariant.
    pub(super) fn convert(self) -> Result<super::ModelFile, String> {
        // Today's file holds one state: the population's if the old one had both (the
        // desktop app could save a population and a climb side by side).
        let input = input_of(&self.meta)?;
        let state = match (self.training, self.climb) {
            (Some(t), _) => Some(TrainingState::from(t.convert(input)?)),
            (None, Some(c)) => Some(TrainingState::from(c.convert(input)?)),
            (None, None) => None,
        };
        let history = match &state {
            Some(s) => Some(s.history().clone()),
            None => self.history.map(HistoryV3::population),
        };
        Ok(super::ModelFile {
            model: self.model.convert(input)?,
            state,
            history,
            meta: self.meta.into(),
        })
    }
}

/// The metadata of versions 1 to 5: today's without the typed `run` and `program`, which
/// the notes `ensemble_member`, `ensemble_members`, `ensemble_seed` and `saved_by` stood for.
#[derive(Serialize, Deserialize)]
pub(super) struct MetadataV5 {
    dataset: Option<String>,
    source: Option<crate::datasets::Source>,
    binarization: Option<crate::datasets::Binarization>,
    task: Option<crate::datasets::Task>,
    class_names: Vec<String>,
    created_unix: u64,
    tool_version: String,
    extra: std::collections::BTreeMap<String, String>,
}

impl From<MetadataV5> for Metadata {
    /// The notes that have typed fields now move into them; a note that does not read as its
    /// field's type stays a note.
    fn from(old: MetadataV5) -> Self {
        let mut extra = old.extra;
        let number = |extra: &std::collections::BTreeMap<String, String>, key: &str| {
            extra.get(key).and_then(|v| v.parse::<u64>().ok())
        };
        let member = match (
            number(&extra, "ensemble_member"),
            number(&extra, "ensemble_members"),
            number(&extra, "ensemble_seed"),
        ) {
            // `try_from`, not `as`: on a 32-bit target a count of 2^32 + 3 must not become 3.
            // `Membership::new` bounds the count, so that a note claiming 2^64 - 1 members
            // stays a note instead of sizing the merge's tables.
            (Some(index), Some(of), Some(seed)) => usize::try_from(index)
                .ok()
                .zip(usize::try_from(of).ok())
                .and_then(|(index, of)| crate::training::Membership::new(index, of))
                .map(|m| {
                    for k in ["ensemble_member", "ensemble_members", "ensemble_seed"] {
                        extra.remove(k);
                    }
                    (m, seed)
                }),
            _ => None,
        };
        let program = extra.remove("saved_by");
        Metadata {
            dataset: old.dataset,
            source: old.source,
            binarization: old.binarization,
            task: old.task,
            class_names: old.class_names,
            created_unix: old.created_unix,
            tool_version: old.tool_version,
            run: member.map(|(m, seed)| {
                RunInfo::new(crate::training::MethodKind::Climb, Some(seed)).with_member(Some(m))
            }),
            program,
            extra,
        }
    }
}

#[cfg(test)]
impl From<Metadata> for MetadataV5 {
    fn from(m: Metadata) -> Self {
        Self {
            dataset: m.dataset,
            source: m.source,
            binarization: m.binarization,
            task: m.task,
            class_names: m.class_names,
            created_unix: m.created_unix,
            tool_version: m.tool_version,
            extra: m.extra,
        }
    }
}

/// The run's record of version 6: today's without `augment` (no copies were trained on).
#[derive(Serialize, Deserialize)]
pub(super) struct RunInfoV6 {
    method: crate::training::MethodKind,
    seed: Option<u64>,
    member: Option<crate::training::Membership>,
    sample: Option<f64>,
}

/// The metadata of version 6: today's with [`RunInfoV6`].
#[derive(Serialize, Deserialize)]
pub(super) struct MetadataV6 {
    dataset: Option<String>,
    source: Option<crate::datasets::Source>,
    binarization: Option<crate::datasets::Binarization>,
    task: Option<crate::datasets::Task>,
    class_names: Vec<String>,
    created_unix: u64,
    tool_version: String,
    run: Option<RunInfoV6>,
    program: Option<String>,
    extra: std::collections::BTreeMap<String, String>,
}

impl From<MetadataV6> for Metadata {
    fn from(old: MetadataV6) -> Self {
        Metadata {
            dataset: old.dataset,
            source: old.source,
            binarization: old.binarization,
            task: old.task,
            class_names: old.class_names,
            created_unix: old.created_unix,
            tool_version: old.tool_version,
            run: old.run.map(|r| {
                let mut run = RunInfo::new(r.method, r.seed).with_member(r.member);
                run.sample = r.sample;
                run
            }),
            program: old.program,
            extra: old.extra,
        }
    }
}

#[cfg(test)]
impl From<Metadata> for MetadataV6 {
    fn from(m: Metadata) -> Self {
        Self {
            dataset: m.dataset,
            source: m.source,
            binarization: m.binarization,
            task: m.task,
            class_names: m.class_names,
            created_unix: m.created_unix,
            tool_version: m.tool_version,
            run: m.run.map(|r| RunInfoV6 {
                method: r.method,
                seed: r.seed,
                member: r.member,
                sample: r.sample,
            }),
            program: m.program,
            extra: m.extra,
        }
    }
}

/// A training state of versions 5 to 7: as today's, with the gradient trainer of those
/// versions (no rotations or zooms).
// Decoded once and converted at once, as today's `TrainingState`.
#[allow(clippy::large_enum_variant)]
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(super) enum TrainingStateV7 {
    Population {
        set: Population,
        metric: crate::fitness::Metric,
    },
    Climb(Climber),
    Ensemble(crate::search::ClimbEnsemble),
    Gradient(crate::gradient::TrainerV7),
}

impl From<TrainingStateV7> for TrainingState {
    fn from(s: TrainingStateV7) -> Self {
        match s {
            TrainingStateV7::Population { set, metric } => {
                TrainingState::Population { set, metric }
            }
            TrainingStateV7::Climb(c) => TrainingState::Climb(c),
            TrainingStateV7::Ensemble(e) => TrainingState::Ensemble(e),
            TrainingStateV7::Gradient(t) => TrainingState::Gradient(t.into()),
        }
    }
}

/// `model`, or why a file of `version` cannot hold it: votes came with version 8.
fn without_votes(model: Chain, version: u32) -> Result<Chain, String> {
    match model
        .layers()
        .iter()
        .position(|l| matches!(l, Layer::Vote(_)))
    {
        Some(i) => Err(format!(
            "model: layer {i} is a vote, which format version {version} does not have"
        )),
        None => Ok(model),
    }
}

/// The run's record of version 7: today's without `own_features` (no member imprinted its
/// own).
#[derive(Serialize, Deserialize)]
pub(super) struct RunInfoV7 {
    method: crate::training::MethodKind,
    seed: Option<u64>,
    member: Option<crate::training::Membership>,
    sample: Option<f64>,
    augment: crate::datasets::Augment,
}

/// The metadata of version 7: today's with [`RunInfoV7`].
#[derive(Serialize, Deserialize)]
pub(super) struct MetadataV7 {
    dataset: Option<String>,
    source: Option<crate::datasets::Source>,
    binarization: Option<crate::datasets::Binarization>,
    task: Option<crate::datasets::Task>,
    class_names: Vec<String>,
    created_unix: u64,
    tool_version: String,
    run: Option<RunInfoV7>,
    program: Option<String>,
    extra: std::collections::BTreeMap<String, String>,
}

impl From<MetadataV7> for Metadata {
    fn from(old: MetadataV7) -> Self {
        Metadata {
            dataset: old.dataset,
            source: old.source,
            binarization: old.binarization,
            task: old.task,
            class_names: old.class_names,
            created_unix: old.created_unix,
            tool_version: old.tool_version,
            run: old.run.map(|r| {
                let mut run = RunInfo::new(r.method, r.seed)
                    .with_member(r.member)
                    .with_augment(r.augment);
                run.sample = r.sample;
                run
            }),
            program: old.program,
            extra: old.extra,
        }
    }
}

#[cfg(test)]
impl From<Metadata> for MetadataV7 {
    fn from(m: Metadata) -> Self {
        Self {
            dataset: m.dataset,
            source: m.source,
            binarization: m.binarization,
            task: m.task,
            class_names: m.class_names,
            created_unix: m.created_unix,
            tool_version: m.tool_version,
            run: m.run.map(|r| RunInfoV7 {
                method: r.method,
                seed: r.seed,
                member: r.member,
                sample: r.sample,
                augment: r.augment,
            }),
            program: m.program,
            extra: m.extra,
        }
    }
}

/// The payload of version 7: today's but for the training state ([`TrainingStateV7`]) and
/// the run's record ([`MetadataV7`]).
#[derive(Deserialize)]
pub(super) struct ModelFileV7 {
    model: Chain,
    state: Option<TrainingStateV7>,
    history: Option<History>,
    meta: MetadataV7,
}

impl ModelFileV7 {
    /// Today's file, or why the old one breaks an invariant.
    pub(super) fn convert(self) -> Result<super::ModelFile, String> {
        Ok(super::ModelFile {
            model: without_votes(self.model, 7)?,
            state: self.state.map(TrainingState::from),
            history: self.history,
            meta: self.meta.into(),
        })
    }
}

/// The payload of version 6: version 7's but for the run's record ([`MetadataV6`]).
#[derive(Deserialize)]
pub(super) struct ModelFileV6 {
    model: Chain,
    state: Option<TrainingStateV7>,
    history: Option<History>,
    meta: MetadataV6,
}

impl ModelFileV6 {
    /// Today's file, or why the old one breaks an invariant.
    pub(super) fn convert(self) -> Result<super::ModelFile, String> {
        Ok(super::ModelFile {
            model: without_votes(self.model, 6)?,
            state: self.state.map(TrainingState::from),
            history: self.history,
            meta: self.meta.into(),
        })
    }
}

/// The payload of version 5: version 6's but for the metadata ([`MetadataV5`]).
#[derive(Deserialize)]
pub(super) struct ModelFileV5 {
    model: Chain,
    state: Option<TrainingStateV7>,
    history: Option<History>,
    meta: MetadataV5,
}

impl ModelFileV5 {
    /// Today's file.
    pub(super) fn convert(self) -> Result<super::ModelFile, String> {
        Ok(super::ModelFile {
            model: without_votes(self.model, 5)?,
            state: self.state.map(TrainingState::from),
            history: self.history,
            meta: self.meta.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[test]
    fn a_version_3_grey_note_becomes_the_model_input() {
        use crate::layers::Activation;
        #[derive(Serialize)]
        struct Chain3 {
            layers: Vec<Layer>,
        }
        #[derive(Serialize)]
        struct File3 {
            model: Chain3,
            training: Option<()>,
            history: Option<()>,
            meta: MetadataV5,
            climb: Option<()>,
        }
        let dense = Dense::new(784, 2, Activation::Identity, 1);
        let payload = |note: Option<&str>| {
            let mut meta = MetadataV5::from(Metadata::now());
            if let Some(n) = note {
                meta.extra.insert("input".into(), n.into());
            }
            let file = File3 {
                model: Chain3 {
                    layers: vec![dense.clone().into()],
                },
                training: None,
                history: None,
                meta,
                climb: None,
            };
            let p = bincode::serde::encode_to_vec(&file, bincode::config::standard()).unwrap();
            let mut out = super::super::MAGIC.to_vec();
            out.extend_from_slice(&3u32.to_le_bytes());
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
            out.extend_from_slice(&p);
            out
        };
        let load = |note| super::super::ModelFile::from_bytes(&payload(note));
        assert_eq!(load(Some("grey")).unwrap().model.input(), Input::Grey);
        assert_eq!(load(None).unwrap().model.input(), Input::Bits);
        assert!(matches!(
            load(Some("purple")),
            Err(super::super::ModelFileError::Invalid(_))
        ));
    }

    #[test]
    fn version_5_member_and_program_notes_become_the_typed_fields() {
        use crate::training::{Membership, MethodKind};
        #[derive(Serialize)]
        struct File5 {
            model: Chain,
            state: Option<TrainingState>,
            history: Option<History>,
            meta: MetadataV5,
        }
        let model = Chain::new(vec![BitDense::new(784, 2).with_seed(1).into()]).unwrap();
        let file = |notes: &[(&str, &str)]| {
            let mut meta = MetadataV5::from(Metadata::now());
            for (k, v) in notes {
                meta.extra.insert(k.to_string(), v.to_string());
            }
            let f = File5 {
                model: model.clone(),
                state: None,
                history: None,
                meta,
            };
            let p = bincode::serde::encode_to_vec(&f, bincode::config::standard()).unwrap();
            let mut out = super::super::MAGIC.to_vec();
            out.extend_from_slice(&5u32.to_le_bytes());
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
            out.extend_from_slice(&p);
            super::super::ModelFile::from_bytes(&out).unwrap()
        };
        let member = file(&[
            ("ensemble_member", "1"),
            ("ensemble_members", "3"),
            ("ensemble_seed", "5"),
            ("saved_by", "bitsmnist-gui"),
            ("merged_networks", "3"),
        ]);
        assert_eq!(member.model, model);
        assert_eq!(
            member.meta.run,
            Some(RunInfo::new(MethodKind::Climb, Some(5)).with_member(Membership::new(1, 3)))
        );
        assert_eq!(member.meta.program.as_deref(), Some("bitsmnist-gui"));
        assert_eq!(
            member.meta.extra.keys().collect::<Vec<_>>(),
            ["merged_networks"]
        );
        // A record that names no member of its ensemble stays a note.
        let odd = file(&[
            ("ensemble_member", "4"),
            ("ensemble_members", "3"),
            ("ensemble_seed", "5"),
        ]);
        assert_eq!(odd.meta.run, None);
        assert_eq!(odd.meta.extra.len(), 3);
        // Counts no ensemble has (they once sized the merge's tables: a panic at 2^64 - 1,
        // 16 TB asked for at 10^12) stay notes, and the file still loads.
        for of in ["18446744073709551615", "1000000000000", "1025"] {
            let huge = file(&[
                ("ensemble_member", "0"),
                ("ensemble_members", of),
                ("ensemble_seed", "5"),
            ]);
            assert_eq!(huge.meta.run, None, "{of}");
            assert_eq!(huge.meta.extra["ensemble_members"], of);
        }
    }

    #[test]
    fn version_6_runs_trained_on_their_examples_as_they_are() {
        use crate::datasets::Augment;
        use crate::training::{Membership, MethodKind};
        #[derive(Serialize)]
        struct File6 {
            model: Chain,
            state: Option<TrainingState>,
            history: Option<History>,
            meta: MetadataV6,
        }
        let model = Chain::new(vec![BitDense::new(784, 2).with_seed(1).into()]).unwrap();
        let run = RunInfo::new(MethodKind::Ensemble, Some(9))
            .with_member(Membership::new(1, 4))
            .with_sample(0.5);
        let f = File6 {
            model: model.clone(),
            state: None,
            history: None,
            meta: MetadataV6::from(Metadata::now().with_run(run.clone()).with_program("p")),
        };
        let p = bincode::serde::encode_to_vec(&f, bincode::config::standard()).unwrap();
        let mut out = super::super::MAGIC.to_vec();
        out.extend_from_slice(&6u32.to_le_bytes());
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
        out.extend_from_slice(&p);
        let file = super::super::ModelFile::from_bytes(&out).unwrap();
        assert_eq!(file.model, model);
        assert_eq!(file.meta.run, Some(run));
        assert_eq!(file.meta.run.unwrap().augment, Augment::None);
        assert_eq!(file.meta.program.as_deref(), Some("p"));
    }

    #[test]
    fn a_version_7_gradient_state_resumes_without_rotations_or_zooms() {
        use crate::datasets::Dataset;
        use crate::gradient::{GradientParams, Trainer};
        use crate::run::{Method, TrainOptions};
        #[derive(Serialize)]
        struct File7 {
            model: Chain,
            state: Option<TrainingStateV7>,
            history: Option<History>,
            meta: MetadataV7,
        }
        let data = Dataset::embedded();
        let train = data.train.sample_shuffled(0.05, 10, 3);
        let params = GradientParams::default().hidden(vec![16]).epochs(2).seed(5);
        let mut t = Trainer::new(params.clone(), 784, 10).unwrap();
        let opts = TrainOptions::new().generations(1).quiet();
        t.train(&train, &opts, |_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        let model = t.export();
        let f = File7 {
            model: model.clone(),
            state: Some(TrainingStateV7::Gradient(t.clone().into())),
            history: None,
            meta: MetadataV7::from(
                Metadata::now().with_run(
                    RunInfo::new(crate::training::MethodKind::Gradient, Some(5))
                        .with_augment(crate::datasets::Augment::Shifts { radius: 1 }),
                ),
            ),
        };
        let p = bincode::serde::encode_to_vec(&f, bincode::config::standard()).unwrap();
        let mut out = super::super::MAGIC.to_vec();
        out.extend_from_slice(&7u32.to_le_bytes());
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
        out.extend_from_slice(&p);
        let file = super::super::ModelFile::from_bytes(&out).unwrap();
        assert_eq!(file.model, model);
        let run = file.meta.run.clone().unwrap();
        assert_eq!(run.augment, crate::datasets::Augment::Shifts { radius: 1 });
        assert!(!run.own_features);
        let Some(TrainingState::Gradient(mut back)) = file.state else {
            panic!("a gradient state")
        };
        assert_eq!(back.params(), &params);
        assert_eq!((back.params().rotate, back.params().zoom), (0.0, 0.0));
        // It resumes as the run it was: its second epoch is the uninterrupted run's.
        back.train(&train, &opts, |_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        t.train(&train, &opts, |_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        assert!(back.export() == t.export());
    }

    #[test]
    fn reads_the_version_1_bit_layer_layout() {
        let cfg = bincode::config::standard();
        // Version 1 wrote weights, bias and output only.
        #[derive(Serialize)]
        struct V1<'a>(&'a BitMatrix, &'a BitMatrix, BitOutput);
        let old = BitDense::new(70, 5).with_seed(4);
        let v1 = bincode::serde::encode_to_vec(V1(old.weights(), old.bias(), old.output()), cfg)
            .unwrap();
        let (back, read): (BitDenseV1, usize) =
            bincode::serde::decode_from_slice(&v1, cfg).unwrap();
        assert_eq!((back.into_bit(), read), (old, v1.len()));
        assert!(bincode::serde::decode_from_slice::<BitDense, _>(&v1, cfg).is_err());
    }
}

/// A version-4 training state: as today's, with the gradient trainer of version 4.
// Decoded once and converted at once, as today's `TrainingState`.
#[allow(clippy::large_enum_variant)]
#[derive(Deserialize)]
enum TrainingStateV4 {
    Population {
        set: Population,
        metric: crate::fitness::Metric,
    },
    Climb(Climber),
    Ensemble(crate::search::ClimbEnsemble),
    Gradient(crate::gradient::TrainerV4),
}

/// The payload of format version 4.
#[derive(Deserialize)]
pub(super) struct ModelFileV4 {
    model: Chain,
    state: Option<TrainingStateV4>,
    history: Option<History>,
    meta: MetadataV5,
}

impl ModelFileV4 {
    /// Today's file, or why the old one breaks an invariant: version 4 had no convolutions.
    pub(super) fn convert(self) -> Result<super::ModelFile, String> {
        let model = without_votes(self.model, 4)?;
        if let Some(i) = model.layers().iter().position(Layer::is_spatial) {
            return Err(format!(
                "model: layer {i} is a convolution or pool, which format version 4 does not have"
            ));
        }
        Ok(super::ModelFile {
            model,
            state: self.state.map(|s| match s {
                TrainingStateV4::Population { set, metric } => {
                    TrainingState::Population { set, metric }
                }
                TrainingStateV4::Climb(c) => TrainingState::Climb(c),
                TrainingStateV4::Ensemble(e) => TrainingState::Ensemble(e),
                TrainingStateV4::Gradient(t) => TrainingState::Gradient(t.into()),
            }),
            history: self.history,
            meta: self.meta.into(),
        })
    }
}
