//! JSON export: the model's numbers for any language, documented in `docs/export-json.md`.

use serde::Serialize;

use super::{ExportError, GreyRule, Map, Plan, plan, voters, weight_rows};
use crate::io::Metadata;
use crate::layers::{BitDense, BitOutput, Chain, Shape};

/// The file's `format` field.
pub(crate) const FORMAT: &str = "bitsmnist-model";
/// The file's `version` field: changes when a reader written for an older file would misread.
/// Files of dense models are version 1, which readers of the first format read as ever.
pub(crate) const VERSION: u32 = 1;
/// The version of files with convolutions or pools (`kind` `conv` and `pool`), which a reader
/// of version 1 would misread as dense layers.
pub(crate) const VERSION_MAPS: u32 = 2;
/// The version of files of a vote (`kind` `vote`, whose `members` hold each network's
/// layers), which a reader of version 2 would misread.
pub(crate) const VERSION_VOTE: u32 = 3;

#[derive(Serialize)]
struct File<'a> {
    format: &'static str,
    version: u32,
    generator: String,
    model: String,
    inputs: usize,
    classes: usize,
    /// The data set label of each output (`[0, 1]` for the zero-one task), when known.
    class_labels: Option<&'a [u8]>,
    class_names: &'a [String],
    binarization: Binarization,
    word_bits: u32,
    layers: Vec<LayerJson>,
}

/// A feature map's shape as `[height, width, channels]`.
fn shape(s: Shape) -> [usize; 3] {
    [s.height, s.width, s.channels]
}

#[derive(Serialize)]
struct Binarization {
    rule: String,
    num: u64,
    den: u64,
    /// A thermometer code's thresholds, one per bit of a pixel (input `pixel * levels + c`
    /// is `grey > thresholds[c]`); absent for one threshold `num / den`.
    #[serde(skip_serializing_if = "Option::is_none")]
    thresholds: Option<Vec<u8>>,
}

#[derive(Serialize, Default)]
struct LayerJson {
    /// `dense`, `conv` or `pool`.
    kind: &'static str,
    /// Convolutions and pools: the input and output maps' `[height, width, channels]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    input_shape: Option<[usize; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_shape: Option<[usize; 3]>,
    /// Convolutions: window side, stride and padding.
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<usize>,
    /// Pools: window side.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stride: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    padding: Option<usize>,
    inputs: usize,
    outputs: usize,
    /// `bits`, or the activation of float scores (`identity`, `relu`, `sigmoid`, `tanh`).
    output: &'static str,
    /// One row of `ceil(inputs / 32)` words per output (convolutions: per filter, of
    /// `ceil(window * window * channels / 32)` words).
    #[serde(skip_serializing_if = "Option::is_none")]
    weights: Option<Vec<Vec<u32>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bias: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thresholds: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scales: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offsets: Option<Vec<f64>>,
    /// Votes: each member network's layers; the vote's scores are their scores added in
    /// member order.
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<Vec<LayerJson>>>,
}

impl LayerJson {
    fn new(b: &BitDense) -> Self {
        let weights = weight_rows(b).collect();
        let (output, thresholds) = match b.output() {
            BitOutput::Bits => (
                "bits",
                Some((0..b.outputs()).map(|j| b.threshold(j)).collect()),
            ),
            BitOutput::Float(a) => (a.name(), None),
        };
        // Each f32 as the f64 it equals: its shortest decimal reads back as exactly that
        // f64 (in any JSON reader), which converts to the same f32 without a second rounding.
        let (scales, offsets) = match (b.output(), b.affine()) {
            (BitOutput::Float(_), Some(a)) => {
                let (s, o) = a.iter().map(|&(s, o)| (f64::from(s), f64::from(o))).unzip();
                (Some(s), Some(o))
            }
            _ => (None, None),
        };
        Self {
            kind: "dense",
            inputs: b.inputs(),
            outputs: b.outputs(),
            output,
            weights: Some(weights),
            bias: Some((0..b.outputs()).map(|j| b.bias_bit(j)).collect()),
            thresholds,
            scales,
            offsets,
            ..Self::default()
        }
    }

    fn map(m: Map<'_>) -> Self {
        match m {
            Map::Conv(c) => Self {
                kind: "conv",
                input_shape: Some(shape(c.input_shape())),
                output_shape: Some(shape(c.output_shape())),
                window: Some(c.window()),
                stride: Some(c.stride()),
                padding: Some(c.padding()),
                inputs: c.inputs(),
                outputs: c.outputs(),
                ..Self::new(c.filters())
            },
            Map::Pool(p) => Self {
                kind: "pool",
                input_shape: Some(shape(p.input_shape())),
                output_shape: Some(shape(p.output_shape())),
                size: Some(p.size()),
                stride: Some(p.stride()),
                inputs: p.inputs(),
                outputs: p.outputs(),
                output: "bits",
                ..Self::default()
            },
        }
    }

    /// The layers of an exportable model's plan.
    fn of_plan(plan: &Plan<'_>) -> Vec<Self> {
        plan.maps
            .iter()
            .map(|&(_, m)| Self::map(m))
            .chain(plan.dense.iter().map(|l| Self::new(l.layer)))
            .collect()
    }

    /// A vote of `members`, reading `inputs` and giving `classes` scores.
    fn vote(members: &[Chain], inputs: usize, classes: usize) -> Result<Self, ExportError> {
        Ok(Self {
            kind: "vote",
            inputs,
            outputs: classes,
            output: "identity",
            members: Some(
                members
                    .iter()
                    .map(|m| Ok(Self::of_plan(&plan(m)?)))
                    .collect::<Result<_, ExportError>>()?,
            ),
            ..Self::default()
        })
    }
}

/// The model as JSON (`docs/export-json.md` describes every field and has a NumPy reader that
/// reproduces [`Chain::predict`]): the shapes, each layer's kind (`dense`, or `conv` and
/// `pool` with their map shapes, windows, strides and padding, or `vote` with its members'
/// layers), weight rows as 32-bit words (as
/// [`words32`](super::words32) packs them), bias bits, thresholds or scales and offsets, the task's class
/// labels and names from `meta`, and the binarisation `pixel * den > num` (or a thermometer
/// code's `thresholds`).
///
/// ```
/// use bitsmnist_core::export::{self, GreyRule};
/// use bitsmnist_core::io::Metadata;
/// use bitsmnist_core::prelude::*;
/// let model = Chain::mlp(784, &[32], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
/// let text = export::to_json(&model, &Metadata::now(), GreyRule::above(128)).unwrap();
/// assert!(text.starts_with(r#"{"format":"bitsmnist-model","version":1,"#));
/// assert!(text.contains(r#""binarization":{"rule":"pixel > 128","num":128,"den":1}"#));
/// ```
pub fn to_json(model: &Chain, meta: &Metadata, grey: GreyRule) -> Result<String, ExportError> {
    let (version, layers) = match voters(model) {
        Some(members) => (
            VERSION_VOTE,
            vec![LayerJson::vote(members, model.inputs(), model.outputs())?],
        ),
        None => {
            let plan = plan(model)?;
            let version = if plan.maps.is_empty() {
                VERSION
            } else {
                VERSION_MAPS
            };
            (version, LayerJson::of_plan(&plan))
        }
    };
    grey.check(model.inputs())?;
    let thresholds = grey.thresholds();
    let file = File {
        format: FORMAT,
        version,
        generator: format!("BitsMNIST-rs {}", env!("CARGO_PKG_VERSION")),
        model: model.to_string(),
        inputs: model.inputs(),
        classes: model.outputs(),
        class_labels: meta
            .task
            .as_ref()
            .map(|t| t.classes())
            .filter(|c| c.len() == model.outputs()),
        class_names: if meta.class_names.len() == model.outputs() {
            &meta.class_names
        } else {
            &[]
        },
        binarization: Binarization {
            rule: grey.to_string(),
            num: grey.num,
            den: grey.den,
            thresholds: (!thresholds.is_empty()).then_some(thresholds),
        },
        word_bits: 32,
        layers,
    };
    Ok(serde_json::to_string(&file).expect("plain numbers and strings serialise"))
}
