//! Trained models as code that runs without this library: C99 ([`to_c`]) or one `no_std`
//! Rust module ([`to_rust`]), with no allocation, the weights as `const` arrays (so that they
//! stay in flash on a microcontroller), integer XOR + popcount + compare for the bit layers;
//! or as JSON (`to_json`, with the `json` feature, which the command line and the app turn
//! on; notebooks that want it add `features = ["json"]` to their `:dep`) for any other
//! language. [`files`] gives the files of any
//! [`Format`], as the command line (`bitsmnist export`) and the app (File → Export…) write them.
//!
//! Every model of bit layers exports: hidden layers with bit outputs (the original's
//! threshold or per-neuron thresholds folded from batch normalisation), an output layer with
//! float scores (the original's `1 - d / n`, or per-neuron scales and offsets from gradient
//! training, under any activation) or with bit outputs, and merged ensembles (widened
//! climbs, or a [`Vote`](crate::layers::Vote) of whole networks: each member exported as it
//! is, their scores added in member order); and bit
//! convolution models: any sequence of [`BitConv2d`] and [`BitMaxPool`] layers before the dense
//! layers (a convolution or pool after a dense layer is refused, [`ExportError::MapAfterDense`]).
//! The exported code keeps the feature maps in two buffers as large as the largest map:
//! `static` in C (microcontroller stacks are small; the header states the RAM), the caller's
//! or the stack in Rust (which has no unguarded mutable static). A model whose first layer
//! reads grey levels as floats (`--input grey`) is refused ([`ExportError::FloatLayer`]): it
//! is not a bit network.
//!
//! Predictions equal [`Chain::predict`]'s: the same integer rules, the same `f32` operations in
//! the same order where scores are floats (compile with `-ffp-contract=off`, as C99 allows
//! contraction otherwise), and argmax ties resolved to the first class.
//!
//! ```
//! use bitsmnist_core::export::{self, GreyRule};
//! use bitsmnist_core::prelude::*;
//! let model = Chain::mlp(784, &[32], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
//! let c = export::to_c(&model, "zero_one", GreyRule::above(128)).unwrap();
//! assert!(c.header.contains("int zero_one_predict_bits(const uint32_t bits[ZERO_ONE_INPUT_WORDS], float *scores);"));
//! assert!(c.source.contains("static const uint32_t zero_one_w0[]"));
//! ```

use std::fmt::Write as _;

use crate::datasets::{Binarization, Split};
use crate::io::Metadata;
use crate::layers::{BitConv2d, BitDense, BitMaxPool, BitOutput, Chain, Layer};

mod c;
#[cfg(feature = "json")]
mod json;
mod rust;

pub use c::{CFiles, to_c};
#[cfg(feature = "json")]
pub use json::to_json;
pub use rust::to_rust;

/// Why a model cannot be exported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A float layer: the model reads grey levels (`--input grey`) or mixes float layers in.
    #[error(
        "layer {0} is a float layer (a model trained with --input grey): only bit networks export; train with --input bits"
    )]
    FloatLayer(usize),
    /// A hidden layer with float outputs: the next layer would read floats.
    #[error("layer {0} gives float scores to the next layer: only the last layer may")]
    FloatHidden(usize),
    /// A convolution or pool after a dense layer: the exported code runs a model's feature
    /// maps first, then its dense layers.
    #[error(
        "layer {0} is a convolution or pool after a dense layer: only models whose convolutions and pools all come before their dense layers export"
    )]
    MapAfterDense(usize),
    /// A convolution or pool as the last layer: the exported code needs a dense layer for the
    /// class scores.
    #[error(
        "layer {0}, the last, is a convolution or pool: an exported model ends with a dense bit layer"
    )]
    MapLast(usize),
    /// A vote among other layers: a vote exports as a whole model, the chain's only layer (as
    /// `bitsmnist merge` makes it).
    #[error("layer {0} is a vote among other layers: a vote exports only as the model's one layer")]
    VoteInside(usize),
    /// A feature map of 2^31 bits or more, beyond the exported code's 32-bit bit indices.
    #[error("layer {0} has a feature map of 2^31 bits or more, too large to export")]
    MapTooLarge(usize),
    /// A name that is not a C identifier.
    #[error("`{0}` is not a name for C (letters, digits and _, starting with a letter)")]
    Name(String),
    /// A grey rule whose bits a pixel do not divide the model's inputs (a thermometer code of
    /// another model), or a thermometer code of levels outside 2 to 8.
    #[error(
        "the binarisation gives {levels} bits a pixel, which does not fit the model's {inputs} inputs"
    )]
    GreyLevels {
        /// Bits a pixel of the rule.
        levels: u8,
        /// The model's inputs.
        inputs: usize,
    },
}

/// How the exported code turns grey levels (0-255) into input bits: `bit = pixel * den > num`,
/// exact in integers, one bit a pixel; or a thermometer code of `levels` bits a pixel. The
/// original's rule (pixel above the mean of the non-zero pixels of the training split) is
/// [`GreyRule::mean_of`]; a fixed threshold `t` is [`GreyRule::above`]; a thermometer code
/// ([`Binarization::Thermometer`]) is [`GreyRule::thermometer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreyRule {
    /// Numerator of the threshold (one bit a pixel).
    pub num: u64,
    /// Denominator of the threshold (at least 1).
    pub den: u64,
    /// Bits a pixel: 1 for the threshold `num / den`; 2 to 8 for a thermometer code, whose
    /// bit `c` of each pixel is `pixel > t_c` with [`Binarization::thresholds`]'s `t_c`, at
    /// input `pixel * levels + c` (`num` and `den` unused).
    pub levels: u8,
}

impl GreyRule {
    /// `pixel > t`.
    pub fn above(t: u8) -> Self {
        Self {
            num: u64::from(t),
            den: 1,
            levels: 1,
        }
    }

    /// The thermometer code of `levels` bits a pixel
    /// ([`Binarization::Thermometer`], whose thresholds it applies).
    ///
    /// ```
    /// use bitsmnist_core::export::GreyRule;
    /// let rule = GreyRule::thermometer(4);
    /// assert_eq!(rule.bits(&[0, 60, 255]), [
    ///     false, false, false, false, // 0: below every threshold
    ///     true, false, false, false,  // 60: above 51 only
    ///     true, true, true, true,     // 255
    /// ]);
    /// ```
    pub fn thermometer(levels: u8) -> Self {
        Self {
            num: 0,
            den: 1,
            levels,
        }
    }

    /// Bits a pixel.
    pub fn channels(self) -> usize {
        usize::from(self.levels.max(1))
    }

    /// A thermometer code's thresholds, one per bit of a pixel; empty for one threshold.
    pub fn thresholds(self) -> Vec<u8> {
        match self.levels {
            0 | 1 => Vec::new(),
            levels => Binarization::Thermometer { levels }.thresholds(),
        }
    }

    /// The input bits of the grey levels `grey`, in the library's order (each pixel's bits
    /// adjacent): what the exported `binarize` makes, unpacked.
    pub fn bits(self, grey: &[u8]) -> Vec<bool> {
        let t = self.thresholds();
        if t.is_empty() {
            return grey.iter().map(|&p| self.is_on(p)).collect();
        }
        grey.iter()
            .flat_map(|&p| t.iter().map(move |&t| p > t))
            .collect()
    }

    /// `pixel > sum / count` over the non-zero pixels of `grey` (the training split's grey
    /// levels): the rule [`Binarization::MeanOfNonZero`](crate::datasets::Binarization) applies.
    pub fn mean_of(grey: &[u8]) -> Self {
        let (sum, count) = grey.iter().fold((0u64, 0u64), |(s, c), &p| {
            (s + u64::from(p), c + u64::from(p > 0))
        });
        Self {
            num: sum,
            den: count.max(1),
            levels: 1,
        }
    }

    /// Whether a pixel is a 1-bit, by the one threshold `num / den` (a thermometer code's
    /// bits: [`GreyRule::bits`]).
    pub fn is_on(self, pixel: u8) -> bool {
        u64::from(pixel) * self.den > self.num
    }

    /// Checks that the rule fits a model of `inputs` inputs: its levels are 1 or 2 to 8 and
    /// divide them.
    pub fn check(self, inputs: usize) -> Result<(), ExportError> {
        let levels_ok = self.levels == 1
            || Binarization::Thermometer {
                levels: self.levels,
            }
            .check()
            .is_ok();
        if !levels_ok || !inputs.is_multiple_of(self.channels()) {
            return Err(ExportError::GreyLevels {
                levels: self.levels,
                inputs,
            });
        }
        Ok(())
    }

    /// The rule of `binarization` for images outside the data set: a fixed threshold or a
    /// thermometer code as it is, the mean rule with the mean of `train`'s non-zero grey
    /// levels (the split the model learnt from, so new images are read as its training images
    /// were).
    pub fn for_binarization(binarization: Binarization, train: &Split) -> Self {
        match binarization {
            Binarization::Threshold(t) => Self::above(t),
            Binarization::Thermometer { levels } => Self::thermometer(levels),
            Binarization::MeanOfNonZero => {
                let grey: Vec<u8> = (0..train.len())
                    .filter_map(|i| train.grey(i))
                    .flatten()
                    .copied()
                    .collect();
                Self::mean_of(&grey)
            }
        }
    }
}

impl std::fmt::Display for GreyRule {
    /// `pixel > 128`, or for a mean `pixel > 174.51 (pixel * 1502215 > 262146600)`, or
    /// `thermometer:4 (pixel > 51, 102, 153, 204)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.levels > 1 {
            return write!(
                f,
                "{}",
                Binarization::Thermometer {
                    levels: self.levels
                }
            );
        }
        match self.den {
            1 => write!(f, "pixel > {}", self.num),
            d => write!(
                f,
                "pixel > {:.2} (pixel * {d} > {})",
                self.num as f64 / d as f64,
                self.num
            ),
        }
    }
}

/// What [`files`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// C99: `NAME.h` and `NAME.c` ([`to_c`]).
    #[default]
    C,
    /// One `no_std` Rust module: `NAME.rs` ([`to_rust`]).
    Rust,
    /// The numbers for any language: `NAME.json` ([`to_json`]; the `json` feature).
    #[cfg(feature = "json")]
    Json,
}

impl Format {
    /// Every format, in menu order.
    #[cfg(feature = "json")]
    pub const ALL: &[Format] = &[Format::C, Format::Rust, Format::Json];
    /// Every format, in menu order.
    #[cfg(not(feature = "json"))]
    pub const ALL: &[Format] = &[Format::C, Format::Rust];

    /// `c`, `rust` or `json`, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Format::C => "c",
            Format::Rust => "rust",
            #[cfg(feature = "json")]
            Format::Json => "json",
        }
    }

    /// What the format is, in a few words (for menus).
    pub fn description(self) -> &'static str {
        match self {
            Format::C => "C99 header and source",
            Format::Rust => "no_std Rust module",
            #[cfg(feature = "json")]
            Format::Json => "JSON (any language; a NumPy reader in docs/export-json.md)",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = crate::util::ParseError;
    /// `c`, `rust` or `json`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                crate::util::ParseError::new(
                    "export format",
                    s,
                    format!("use {}", names.join(", ")),
                )
            })
    }
}

/// The files of an export of `model` in `format`: names (`NAME.h` and `NAME.c`, `NAME.rs`
/// or `NAME.json`) and contents, for the caller to write where it wants (the command line
/// and the app write them atomically with [`files::write_atomic`](crate::files::write_atomic)).
///
/// ```
/// use bitsmnist_core::export::{self, Format, GreyRule};
/// use bitsmnist_core::io::Metadata;
/// use bitsmnist_core::prelude::*;
/// let model = Chain::mlp(784, &[32], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
/// let files = export::files(&model, &Metadata::now(), Format::C, "zero_one", GreyRule::above(128)).unwrap();
/// let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["zero_one.h", "zero_one.c"]);
/// ```
pub fn files(
    model: &Chain,
    meta: &Metadata,
    format: Format,
    name: &str,
    grey: GreyRule,
) -> Result<Vec<(String, String)>, ExportError> {
    check_name(name)?;
    #[cfg(not(feature = "json"))]
    let _ = meta;
    Ok(match format {
        Format::C => {
            let c = to_c(model, name, grey)?;
            vec![
                (format!("{name}.h"), c.header),
                (format!("{name}.c"), c.source),
            ]
        }
        Format::Rust => vec![(format!("{name}.rs"), to_rust(model, grey)?)],
        #[cfg(feature = "json")]
        Format::Json => vec![(format!("{name}.json"), to_json(model, meta, grey)?)],
    })
}

/// A C identifier made from a file name, for [`files`]' `name`: `zero-one.bin` gives
/// `zero_one`, `7.bin` gives `model_7` (C reserves names that start with `_` at file scope).
///
/// ```
/// use std::path::Path;
/// assert_eq!(bitsmnist_core::export::name_for(Path::new("runs/zero-one.bin")), "zero_one");
/// assert_eq!(bitsmnist_core::export::name_for(Path::new("7.bin")), "model_7");
/// assert_eq!(bitsmnist_core::export::name_for(Path::new("_x.bin")), "model__x");
/// ```
pub fn name_for(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "model_");
    }
    name
}

/// Refuses a name that is not a C identifier (it names files and functions), or that starts
/// with `_`: C reserves such names at file scope, and `_` alone would make `__`-names that
/// clash with the compiler's own (`<immintrin.h>`).
pub(crate) fn check_name(name: &str) -> Result<(), ExportError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ExportError::Name(name.into()))
    }
}

/// A bit layer as the exporter sees it.
pub(crate) struct Bits<'a> {
    pub(crate) layer: &'a BitDense,
    pub(crate) index: usize,
}

/// A convolution or pool at the start of a model, as the exporter sees it.
#[derive(Clone, Copy)]
pub(crate) enum Map<'a> {
    /// A bit convolution.
    Conv(&'a BitConv2d),
    /// A bit max-pool.
    Pool(&'a BitMaxPool),
}

impl Map<'_> {
    /// Output bits.
    pub(crate) fn outputs(self) -> usize {
        match self {
            Map::Conv(c) => c.outputs(),
            Map::Pool(p) => p.outputs(),
        }
    }

    /// Words of one window of a convolution (0 for a pool).
    pub(crate) fn patch_words(self) -> usize {
        match self {
            Map::Conv(c) => c.filters().inputs().div_ceil(32),
            Map::Pool(_) => 0,
        }
    }
}

/// The layers of an exportable model: its convolutions and pools (each with its index in the
/// chain), then its dense bit layers.
pub(crate) struct Plan<'a> {
    pub(crate) maps: Vec<(usize, Map<'a>)>,
    pub(crate) dense: Vec<Bits<'a>>,
}

/// Bits that the exported code may count in a 32-bit index.
const MAP_LIMIT: usize = 1 << 31;

impl Plan<'_> {
    /// 32-bit words of the largest feature map (0 without convolutions or pools).
    pub(crate) fn map_words(&self) -> usize {
        self.maps
            .iter()
            .map(|(_, m)| m.outputs().div_ceil(32))
            .max()
            .unwrap_or(0)
    }

    /// 32-bit words of the largest convolution window.
    pub(crate) fn patch_words(&self) -> usize {
        self.maps
            .iter()
            .map(|(_, m)| m.patch_words())
            .max()
            .unwrap_or(0)
    }
}

/// The members of a model that is one vote (a merged ensemble with own layers); each member
/// is then exported as a model of its own, which checks it.
pub(crate) fn voters(model: &Chain) -> Option<&[Chain]> {
    match model.layers() {
        [Layer::Vote(v)] => Some(v.members()),
        _ => None,
    }
}

pub(crate) fn plan(model: &Chain) -> Result<Plan<'_>, ExportError> {
    let n = model.layers().len();
    let mut plan = Plan {
        maps: Vec::new(),
        dense: Vec::new(),
    };
    for (i, l) in model.layers().iter().enumerate() {
        let map = match l {
            Layer::Bit(b) => {
                if i + 1 < n && b.output() != BitOutput::Bits {
                    return Err(ExportError::FloatHidden(i));
                }
                plan.dense.push(Bits { layer: b, index: i });
                continue;
            }
            Layer::Conv(c) => Map::Conv(c),
            Layer::Pool(p) => Map::Pool(p),
            Layer::Vote(_) => return Err(ExportError::VoteInside(i)),
            _ => return Err(ExportError::FloatLayer(i)),
        };
        if !plan.dense.is_empty() {
            return Err(ExportError::MapAfterDense(i));
        }
        if i + 1 == n {
            return Err(ExportError::MapLast(i));
        }
        if l.inputs().max(map.outputs()) >= MAP_LIMIT {
            return Err(ExportError::MapTooLarge(i));
        }
        plan.maps.push((i, map));
    }
    Ok(plan)
}

/// A packed row of the library's 64-bit words as the exported code reads it: `bits` bits in
/// 32-bit words, each 64-bit word split low half first. Pack images this way for
/// `predict_bits` (a [`Split`]'s rows are such 64-bit words).
///
/// ```
/// assert_eq!(bitsmnist_core::export::words32(&[0x0000_0002_0000_0001], 40), [1, 2]);
/// assert_eq!(bitsmnist_core::export::words32(&[u64::MAX], 20), [u32::MAX]);
/// ```
pub fn words32(row: &[u64], bits: usize) -> Vec<u32> {
    let mut out: Vec<u32> = row
        .iter()
        .flat_map(|&x| [x as u32, (x >> 32) as u32])
        .collect();
    out.truncate(bits.div_ceil(32));
    out
}

/// A layer's weight rows as the exported code reads them, one [`words32`] row per neuron.
pub(crate) fn weight_rows(b: &BitDense) -> impl Iterator<Item = Vec<u32>> + '_ {
    let w = b.weights();
    w.as_words()
        .chunks(w.words_per_row().max(1))
        .take(b.outputs())
        .map(|row| words32(row, b.inputs()))
}

/// The language an array is written in.
#[derive(Clone, Copy)]
pub(crate) enum Lang {
    C,
    Rust,
}

impl Lang {
    /// `static const T name[] = {...};` or `static NAME: [T; n] = [...];`, eight values a line.
    pub(crate) fn array<T>(
        self,
        out: &mut String,
        ty: &str,
        name: &str,
        values: &[T],
        fmt: impl Fn(&T) -> String,
    ) {
        let close = match self {
            Lang::C => {
                let _ = write!(out, "static const {ty} {name}[] = {{");
                "};"
            }
            Lang::Rust => {
                let _ = write!(out, "static {name}: [{ty}; {}] = [", values.len());
                "];"
            }
        };
        for (k, v) in values.iter().enumerate() {
            if k % 8 == 0 {
                out.push_str("\n    ");
            }
            out.push_str(&fmt(v));
            out.push(',');
        }
        let _ = writeln!(out, "\n{close}");
    }

    /// A layer's arrays, named by `name` from a letter: `w` the weight rows ([`words32`]),
    /// `b` the bias bits, then `t` the thresholds (bit outputs) or `s` and `o` the scales and
    /// offsets (scaled float outputs).
    pub(crate) fn layer_arrays(
        self,
        out: &mut String,
        name: &dyn Fn(char) -> String,
        b: &BitDense,
    ) {
        let c = matches!(self, Lang::C);
        let ty = |c_type, rust_type| if c { c_type } else { rust_type };
        let weights: Vec<u32> = weight_rows(b).flatten().collect();
        let hex = |v: &u32| {
            if c {
                format!("0x{v:08x}u")
            } else {
                format!("0x{v:08x}")
            }
        };
        self.array(out, ty("uint32_t", "u32"), &name('w'), &weights, hex);
        let bias: Vec<u32> = (0..b.outputs()).map(|j| b.bias_bit(j)).collect();
        self.array(out, ty("uint8_t", "u32"), &name('b'), &bias, u32::to_string);
        // `{:e}` is the shortest decimal that reads back as the same `f32`; both languages
        // parse it exactly.
        let float = |v: &f32| {
            if c {
                format!("{v:e}f")
            } else {
                format!("{v:e}")
            }
        };
        if b.output() == BitOutput::Bits {
            let t: Vec<i64> = (0..b.outputs()).map(|j| b.threshold(j)).collect();
            self.array(out, ty("int32_t", "i64"), &name('t'), &t, i64::to_string);
        } else if let Some(a) = b.affine() {
            let (s, o): (Vec<f32>, Vec<f32>) = a.iter().copied().unzip();
            self.array(out, ty("float", "f32"), &name('s'), &s, float);
            self.array(out, ty("float", "f32"), &name('o'), &o, float);
        }
    }
}
