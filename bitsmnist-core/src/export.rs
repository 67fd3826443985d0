//! Trained models as code that runs without this library: C99 ([`to_c`]) or one `no_std`
//! Rust module ([`to_rust`]), with no allocation, the weights as `const` arrays (so that they
//! stay in flash on a microcontroller), integer XOR + popcount + compare for the bit layers.
//!
//! Every model of bit layers exports: hidden layers with bit outputs (the original's
//! threshold or per-neuron thresholds folded from batch normalisation), an output layer with
//! float scores (the original's `1 - d / n`, or per-neuron scales and offsets from gradient
//! training, under any activation) or with bit outputs, and merged ensembles. A model whose
//! first layer reads grey levels as floats (`--input grey`) is refused
//! ([`ExportError::FloatLayer`]): it is not a bit network.
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

use crate::layers::{Activation, BitDense, BitOutput, Chain, Layer};

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
    /// An activation `core` cannot compute (the `no_std` Rust module has no `exp`).
    #[error("a {0} output needs libm, which a no_std module has not: export it as C")]
    NeedsLibm(&'static str),
    /// A name that is not a C identifier.
    #[error("`{0}` is not a C identifier (letters, digits and _, not starting with a digit)")]
    Name(String),
}

/// How the exported code turns grey levels (0-255) into input bits: `bit = pixel * den > num`,
/// exact in integers. The original's rule (pixel above the mean of the non-zero pixels of the
/// training split) is [`GreyRule::mean_of`]; a fixed threshold `t` is [`GreyRule::above`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreyRule {
    /// Numerator of the threshold.
    pub num: u64,
    /// Denominator of the threshold (at least 1).
    pub den: u64,
}

impl GreyRule {
    /// `pixel > t`.
    pub fn above(t: u8) -> Self {
        Self {
            num: u64::from(t),
            den: 1,
        }
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
        }
    }

    /// Whether a pixel is a 1-bit.
    pub fn is_on(self, pixel: u8) -> bool {
        u64::from(pixel) * self.den > self.num
    }
}

/// The exported C: `NAME.h` and `NAME.c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CFiles {
    /// The header: sizes and the three entry points.
    pub header: String,
    /// The weights and the inference code.
    pub source: String,
}

/// A bit layer as the exporter sees it.
struct Bits<'a> {
    layer: &'a BitDense,
    index: usize,
}

fn bit_layers(model: &Chain) -> Result<Vec<Bits<'_>>, ExportError> {
    let n = model.layers().len();
    model
        .layers()
        .iter()
        .enumerate()
        .map(|(i, l)| match l {
            Layer::Bit(b) => {
                if i + 1 < n && b.output() != BitOutput::Bits {
                    Err(ExportError::FloatHidden(i))
                } else {
                    Ok(Bits { layer: b, index: i })
                }
            }
            _ => Err(ExportError::FloatLayer(i)),
        })
        .collect()
}

/// The model as C99: `NAME.h` declares `NAME_predict_bits` (packed input bits, 32 to a
/// word, bit `i` of the image in word `i / 32` at bit `i % 32`, bit 1 for a dark pixel),
/// `NAME_predict_grey` (grey levels, binarised by `grey`) and `NAME_binarize`; each returns
/// the class and, when `scores` is not `NULL`, writes the per-class scores the Rust model
/// gives. `NAME.c` holds the weights as `const` arrays and needs no allocation; `<math.h>`
/// only for sigmoid or tanh outputs.
pub fn to_c(model: &Chain, name: &str, grey: GreyRule) -> Result<CFiles, ExportError> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(ExportError::Name(name.into()));
    }
    let layers = bit_layers(model)?;
    let upper = name.to_ascii_uppercase();
    let inputs = model.inputs();
    let classes = model.outputs();
    let words = |bits: usize| bits.div_ceil(32);
    let last = layers.last().expect("a chain has a layer").layer;
    let needs_math = matches!(
        last.output(),
        BitOutput::Float(Activation::Sigmoid | Activation::Tanh)
    );

    let mut h = String::new();
    let _ = write!(
        h,
        "/* {name}: a bit neural network exported by BitsMNIST-rs {version} ({model}). */\n\
         #ifndef {upper}_H\n#define {upper}_H\n\n#include <stdint.h>\n\n\
         #define {upper}_INPUTS {inputs}\n#define {upper}_CLASSES {classes}\n\
         #define {upper}_INPUT_WORDS {iw}\n\n\
         /* The class of one image given as packed bits (bit i in word i / 32 at bit i % 32; 1 is\n   \
         a dark pixel). When scores is not NULL it receives the {classes} class scores. */\n\
         int {name}_predict_bits(const uint32_t bits[{upper}_INPUT_WORDS], float *scores);\n\n\
         /* The class of one image of {inputs} grey levels (0-255, row by row), binarised as in\n   \
         training: a pixel is 1 when pixel * {den} > {num}. */\n\
         int {name}_predict_grey(const uint8_t grey[{upper}_INPUTS], float *scores);\n\n\
         /* The binarisation of {name}_predict_grey. */\n\
         void {name}_binarize(const uint8_t grey[{upper}_INPUTS], uint32_t bits[{upper}_INPUT_WORDS]);\n\n\
         #endif\n",
        version = env!("CARGO_PKG_VERSION"),
        iw = words(inputs),
        num = grey.num,
        den = grey.den,
    );

    let mut c = String::new();
    let _ = write!(
        c,
        "/* {name}: weights and inference (C99, no allocation). Generated by BitsMNIST-rs. */\n\
         #include \"{name}.h\"\n#include <stddef.h>\n{math}\n\
         static uint32_t {name}_popcount(uint32_t x) {{\n\
         #if defined(__GNUC__) || defined(__clang__)\n    return (uint32_t)__builtin_popcount(x);\n\
         #else\n    x = x - ((x >> 1) & 0x55555555u);\n    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);\n    \
         x = (x + (x >> 4)) & 0x0f0f0f0fu;\n    return (x * 0x01010101u) >> 24;\n#endif\n}}\n\n\
         /* Hamming distance between input x and weight row w, both `words` words long. */\n\
         static uint32_t {name}_distance(const uint32_t *x, const uint32_t *w, int words) {{\n    \
         uint32_t d = 0;\n    int k;\n    for (k = 0; k < words; k++) d += {name}_popcount(x[k] ^ w[k]);\n    return d;\n}}\n\n",
        math = if needs_math {
            "#include <math.h>\n"
        } else {
            ""
        },
    );

    // The arrays of each layer.
    let mut widest = 0;
    for l in &layers {
        let (i, b) = (l.index, l.layer);
        widest = widest.max(b.outputs());
        let _ = writeln!(
            c,
            "/* layer {i}: {b}, {} x {} bits */",
            b.outputs(),
            b.inputs()
        );
        Lang::C.layer_arrays(&mut c, &|l| format!("{name}_{l}{i}"), b);
        c.push('\n');
    }

    // Binarisation.
    let _ = write!(
        c,
        "void {name}_binarize(const uint8_t grey[{upper}_INPUTS], uint32_t bits[{upper}_INPUT_WORDS]) {{\n    \
         int i;\n    for (i = 0; i < {upper}_INPUT_WORDS; i++) bits[i] = 0;\n    \
         for (i = 0; i < {upper}_INPUTS; i++)\n        \
         if ((uint64_t)grey[i] * {den}u > {num}u) bits[i / 32] |= (uint32_t)1 << (i % 32);\n}}\n\n",
        num = grey.num,
        den = grey.den,
    );

    // Inference: hidden layers into two buffers, the last into scores.
    let buf = words(widest).max(1);
    let _ = write!(
        c,
        "int {name}_predict_bits(const uint32_t bits[{upper}_INPUT_WORDS], float *scores) {{\n    \
         uint32_t a[{buf}], b[{buf}];\n    const uint32_t *x = bits;\n    uint32_t *y = a;\n    \
         int j, best = 0, found = 0;\n    (void)b;\n    (void)found;\n"
    );
    for (k, l) in layers.iter().enumerate() {
        let (i, lay) = (l.index, l.layer);
        let wpr = words(lay.inputs());
        let m = lay.outputs();
        let is_last = k + 1 == layers.len();
        if !is_last {
            let _ = write!(
                c,
                "    /* layer {i}: bit outputs, 1 when d + b > t */\n    \
                 for (j = 0; j < {ow}; j++) y[j] = 0;\n    \
                 for (j = 0; j < {m}; j++) {{\n        \
                 int32_t d = (int32_t){name}_distance(x, {name}_w{i} + (size_t)j * {wpr}, {wpr}) + {name}_b{i}[j];\n        \
                 if (d > {name}_t{i}[j]) y[j / 32] |= (uint32_t)1 << (j % 32);\n    }}\n    \
                 x = y;\n    y = (y == a) ? b : a;\n",
                ow = words(m),
            );
            continue;
        }
        match lay.output() {
            BitOutput::Bits => {
                // Scores are the output bits as 0 or 1; the first 1 wins, else class 0.
                let _ = write!(
                    c,
                    "    /* layer {i}: bit outputs as scores 0 or 1 */\n    \
                     for (j = 0; j < {m}; j++) {{\n        \
                     int32_t d = (int32_t){name}_distance(x, {name}_w{i} + (size_t)j * {wpr}, {wpr}) + {name}_b{i}[j];\n        \
                     int on = d > {name}_t{i}[j];\n        \
                     if (scores != NULL) scores[j] = on ? 1.0f : 0.0f;\n        \
                     if (on && !found) {{ best = j; found = 1; }}\n    }}\n"
                );
            }
            BitOutput::Float(act) => {
                let f = match act {
                    Activation::Identity => "v",
                    Activation::Sigmoid => "1.0f / (1.0f + expf(-v))",
                    Activation::Tanh => "tanhf(v)",
                    Activation::Relu => "(v > 0.0f ? v : 0.0f)",
                };
                let pre = match lay.affine() {
                    Some(_) => format!("{name}_s{i}[j] * db + {name}_o{i}[j]"),
                    None => format!("1.0f - db / {}.0f", lay.inputs()),
                };
                let integer = act == Activation::Identity && lay.affine().is_none();
                if integer {
                    // 1 - (d + b) / n is largest where d + b is smallest: the class in
                    // integers, the scores in floats only when asked for.
                    let _ = write!(
                        c,
                        "    /* layer {i}: float scores {pre}; the class is the smallest d + b */\n    \
                         {{\n        uint32_t least = 0xffffffffu;\n        \
                         for (j = 0; j < {m}; j++) {{\n            \
                         uint32_t d = {name}_distance(x, {name}_w{i} + (size_t)j * {wpr}, {wpr}) + {name}_b{i}[j];\n            \
                         if (d < least) {{ least = d; best = j; }}\n            \
                         if (scores != NULL) {{ float db = (float)d; scores[j] = {pre}; }}\n        }}\n    }}\n"
                    );
                } else {
                    let _ = write!(
                        c,
                        "    /* layer {i}: float scores {f} of v = {pre}; the first largest wins */\n    \
                         {{\n        float top = 0.0f;\n        \
                         for (j = 0; j < {m}; j++) {{\n            \
                         float db = (float)({name}_distance(x, {name}_w{i} + (size_t)j * {wpr}, {wpr}) + {name}_b{i}[j]);\n            \
                         float v = {pre};\n            float s = {f};\n            \
                         if (scores != NULL) scores[j] = s;\n            \
                         if (j == 0 || s > top) {{ top = s; best = j; }}\n        }}\n    }}\n"
                    );
                }
            }
        }
    }
    let _ = write!(
        c,
        "    return best;\n}}\n\n\
         int {name}_predict_grey(const uint8_t grey[{upper}_INPUTS], float *scores) {{\n    \
         uint32_t bits[{upper}_INPUT_WORDS];\n    {name}_binarize(grey, bits);\n    \
         return {name}_predict_bits(bits, scores);\n}}\n"
    );
    Ok(CFiles {
        header: h,
        source: c,
    })
}

/// The model as one `no_std` Rust module without `alloc`: `INPUTS`, `CLASSES`,
/// `INPUT_WORDS`, `predict_bits(&[u32; INPUT_WORDS], Option<&mut [f32; CLASSES]>) -> usize`,
/// `predict_grey` and `binarize`, with the same words, rules and ties as [`to_c`]. `core` has
/// no `exp` or `tanh`, so sigmoid and tanh outputs are refused
/// ([`ExportError::NeedsLibm`]); every model the project trains has identity outputs.
pub fn to_rust(model: &Chain, grey: GreyRule) -> Result<String, ExportError> {
    let layers = bit_layers(model)?;
    let last = layers.last().expect("a chain has a layer").layer;
    if let BitOutput::Float(a @ (Activation::Sigmoid | Activation::Tanh)) = last.output() {
        return Err(ExportError::NeedsLibm(a.name()));
    }
    let inputs = model.inputs();
    let classes = model.outputs();
    let words = |bits: usize| bits.div_ceil(32);
    let mut r = String::new();
    let _ = write!(
        r,
        "//! A bit neural network exported by BitsMNIST-rs {version} ({model}): `no_std`, no\n\
         //! allocation. Include it as a module (`mod model;`) of any crate, `#![no_std]` or not.\n\n\
         #![allow(unused, clippy::all)]\n\n\
         /// Pixels per image.\npub const INPUTS: usize = {inputs};\n\
         /// Classes.\npub const CLASSES: usize = {classes};\n\
         /// 32-bit words of a packed image (bit `i` in word `i / 32` at bit `i % 32`; 1 is a dark pixel).\n\
         pub const INPUT_WORDS: usize = {iw};\n\n\
         fn distance(x: &[u32], w: &[u32]) -> u32 {{\n    \
         x.iter().zip(w).map(|(a, b)| (a ^ b).count_ones()).sum()\n}}\n\n",
        version = env!("CARGO_PKG_VERSION"),
        iw = words(inputs),
    );
    let mut widest = 0;
    for l in &layers {
        let (i, b) = (l.index, l.layer);
        widest = widest.max(b.outputs());
        let _ = writeln!(r, "// layer {i}: {b}");
        Lang::Rust.layer_arrays(&mut r, &|l| format!("{}{i}", l.to_ascii_uppercase()), b);
        r.push('\n');
    }
    let _ = write!(
        r,
        "/// Grey levels (0-255, row by row) to packed bits: a pixel is 1 when pixel * {den} > {num}.\n\
         pub fn binarize(grey: &[u8; INPUTS], bits: &mut [u32; INPUT_WORDS]) {{\n    \
         *bits = [0; INPUT_WORDS];\n    \
         for (i, &p) in grey.iter().enumerate() {{\n        \
         if u64::from(p) * {den} > {num} {{\n            bits[i / 32] |= 1 << (i % 32);\n        }}\n    }}\n}}\n\n\
         /// The class of an image of grey levels; `scores` receives the class scores.\n\
         pub fn predict_grey(grey: &[u8; INPUTS], scores: Option<&mut [f32; CLASSES]>) -> usize {{\n    \
         let mut bits = [0; INPUT_WORDS];\n    binarize(grey, &mut bits);\n    predict_bits(&bits, scores)\n}}\n\n\
         /// The class of a packed image; `scores` receives the class scores.\n\
         pub fn predict_bits(bits: &[u32; INPUT_WORDS], mut scores: Option<&mut [f32; CLASSES]>) -> usize {{\n    \
         let mut a = [0u32; {buf}];\n    let mut b = [0u32; {buf}];\n    let mut x: &[u32] = bits;\n    \
         let mut best = 0;\n",
        num = grey.num,
        den = grey.den,
        buf = words(widest).max(1),
    );
    for (k, l) in layers.iter().enumerate() {
        let (i, lay) = (l.index, l.layer);
        let wpr = words(lay.inputs());
        let m = lay.outputs();
        let row = format!("&W{i}[j * {wpr}..(j + 1) * {wpr}]");
        if k + 1 < layers.len() {
            // Even layers write `a`, odd ones `b`, so that `x` borrows the other one.
            let y = if k % 2 == 0 { "a" } else { "b" };
            let _ = write!(
                r,
                "    // layer {i}: bit outputs, 1 when d + b > t\n    \
                 {y}[..{ow}].fill(0);\n    \
                 for j in 0..{m} {{\n        \
                 let d = i64::from(distance(x, {row}) + B{i}[j]);\n        \
                 if d > T{i}[j] {{\n            {y}[j / 32] |= 1 << (j % 32);\n        }}\n    }}\n    \
                 x = &{y}[..{ow}];\n",
                ow = words(m),
            );
            continue;
        }
        match lay.output() {
            BitOutput::Bits => {
                let _ = write!(
                    r,
                    "    // layer {i}: bit outputs as scores 0 or 1; the first 1 wins\n    \
                     let mut found = false;\n    \
                     for j in 0..{m} {{\n        \
                     let on = i64::from(distance(x, {row}) + B{i}[j]) > T{i}[j];\n        \
                     if let Some(s) = scores.as_deref_mut() {{\n            s[j] = if on {{ 1.0 }} else {{ 0.0 }};\n        }}\n        \
                     if on && !found {{\n            best = j;\n            found = true;\n        }}\n    }}\n"
                );
            }
            BitOutput::Float(act) => {
                let pre = match lay.affine() {
                    Some(_) => format!("S{i}[j] * db + O{i}[j]"),
                    None => format!("1.0 - db / {}.0", lay.inputs()),
                };
                let f = match act {
                    Activation::Relu => "v.max(0.0)",
                    _ => "v",
                };
                let _ = write!(
                    r,
                    "    // layer {i}: float scores of v = {pre}; the first largest wins\n    \
                     let mut top = 0.0f32;\n    \
                     for j in 0..{m} {{\n        \
                     let db = (distance(x, {row}) + B{i}[j]) as f32;\n        \
                     let v: f32 = {pre};\n        let s = {f};\n        \
                     if let Some(out) = scores.as_deref_mut() {{\n            out[j] = s;\n        }}\n        \
                     if j == 0 || s > top {{\n            top = s;\n            best = j;\n        }}\n    }}\n"
                );
            }
        }
    }
    r.push_str("    best\n}\n");
    Ok(r)
}

/// A packed row of the library's 64-bit words as the exported code reads it: `bits` bits in
/// 32-bit words, each 64-bit word split low half first. Pack images this way for
/// `predict_bits` (a [`Split`](crate::datasets::Split)'s rows are such 64-bit words).
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

/// The language an array is written in.
#[derive(Clone, Copy)]
enum Lang {
    C,
    Rust,
}

impl Lang {
    /// `static const T name[] = {...};` or `static NAME: [T; n] = [...];`, eight values a line.
    fn array<T>(
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
    fn layer_arrays(self, out: &mut String, name: &dyn Fn(char) -> String, b: &BitDense) {
        let c = matches!(self, Lang::C);
        let ty = |c_type, rust_type| if c { c_type } else { rust_type };
        let w = b.weights();
        let weights: Vec<u32> = w
            .as_words()
            .chunks(w.words_per_row().max(1))
            .take(b.outputs())
            .flat_map(|row| words32(row, b.inputs()))
            .collect();
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
