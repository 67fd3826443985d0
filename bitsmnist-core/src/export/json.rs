//! JSON export: the model's numbers for any language, documented in `docs/export-json.md`.

use serde::Serialize;

use super::{ExportError, GreyRule, bit_layers, weight_rows};
use crate::io::Metadata;
use crate::layers::{BitDense, BitOutput, Chain};

/// The file's `format` field.
pub(crate) const FORMAT: &str = "bitsmnist-model";
/// The file's `version` field: changes when a reader written for an older file would misread.
pub(crate) const VERSION: u32 = 1;

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

#[derive(Serialize)]
struct Binarization {
    rule: String,
    num: u64,
    den: u64,
}

#[derive(Serialize)]
struct LayerJson {
    inputs: usize,
    outputs: usize,
    /// `bits`, or the activation of float scores (`identity`, `relu`, `sigmoid`, `tanh`).
    output: &'static str,
    /// One row of `ceil(inputs / 32)` words per output.
    weights: Vec<Vec<u32>>,
    bias: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thresholds: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scales: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offsets: Option<Vec<f64>>,
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
            inputs: b.inputs(),
            outputs: b.outputs(),
            output,
            weights,
            bias: (0..b.outputs()).map(|j| b.bias_bit(j)).collect(),
            thresholds,
            scales,
            offsets,
        }
    }
}

/// The model as JSON (`docs/export-json.md` describes every field and has a NumPy reader that
/// reproduces [`Chain::predict`]): the shapes, each layer's weight rows as 32-bit words (as
/// [`words32`](super::words32) packs them), bias bits, thresholds or scales and offsets, the task's class
/// labels and names from `meta`, and the binarisation `pixel * den > num`.
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
    let layers = bit_layers(model)?;
    let file = File {
        format: FORMAT,
        version: VERSION,
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
        },
        word_bits: 32,
        layers: layers.iter().map(|l| LayerJson::new(l.layer)).collect(),
    };
    Ok(serde_json::to_string(&file).expect("plain numbers and strings serialise"))
}
