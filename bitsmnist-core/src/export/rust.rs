//! `no_std` Rust export: one module.

use std::fmt::Write as _;

use super::{ExportError, GreyRule, Lang, Map, plan, voters};
use crate::layers::{Activation, BitDense, BitOutput, Chain};

/// The model as one `no_std` Rust module without `alloc`: `INPUTS`, `CLASSES`,
/// `INPUT_WORDS`, `PIXELS` and `LEVELS` (grey levels an image, bits a pixel), `predict_bits(&[u32; INPUT_WORDS], Option<&mut [f32; CLASSES]>) -> usize`,
/// `predict_grey` and `binarize`, with the same words, rules and ties as [`to_c`](super::to_c).
/// `core` has no `exp` or `tanh`, so for sigmoid and tanh outputs the module carries its own,
/// in `f64` arithmetic that every target computes alike; where the library's scores (the
/// platform's `expf` and `tanhf`, on the machine that exports) round differently, on any of
/// the finitely many distances the layer can meet, the module holds the library's score in a
/// sorted table, so that its scores and classes equal the library's bit for bit. A model
/// with convolutions or pools also gets `MAP_WORDS`, `Buffers` (its two feature maps) and
/// `predict_bits_in(&[u32; INPUT_WORDS], &mut Buffers, scores)`, for a caller that keeps the
/// buffers off the stack; its `predict_bits` puts them on the stack.
///
/// A [`Vote`](crate::layers::Vote) exports each member as a module `m0`, `m1`, ... of the
/// above, and `predict_bits` adds their scores in member order.
pub fn to_rust(model: &Chain, grey: GreyRule) -> Result<String, ExportError> {
    if let Some(members) = voters(model) {
        return vote_to_rust(model, members, grey);
    }
    let plan = plan(model)?;
    let layers = &plan.dense;
    // `plan` refuses a model without a dense layer at the end.
    let last = layers.last().expect("a dense output layer").layer;
    let needs_math = matches!(
        last.output(),
        BitOutput::Float(Activation::Sigmoid | Activation::Tanh)
    );
    let inputs = model.inputs();
    grey.check(inputs)?;
    let pixels = inputs / grey.channels();
    let classes = model.outputs();
    let words = |bits: usize| bits.div_ceil(32);
    let mut r = String::new();
    let _ = write!(
        r,
        "//! A bit neural network exported by BitsMNIST-rs {version} ({model}): `no_std`, no\n\
         //! allocation. Include it as a module (`mod model;`) of any crate, `#![no_std]` or not.\n\n\
         #![allow(unused, clippy::all)]\n\n\
         /// Input bits per image.\npub const INPUTS: usize = {inputs};\n\
         /// Classes.\npub const CLASSES: usize = {classes};\n\
         /// 32-bit words of a packed image (bit `i` in word `i / 32` at bit `i % 32`; 1 is a dark pixel).\n\
         pub const INPUT_WORDS: usize = {iw};\n\
         /// Grey levels per image (row by row).\npub const PIXELS: usize = {pixels};\n\
         /// Input bits per pixel (a thermometer code's levels, else 1): pixel `i`'s bit `c` is input `i * LEVELS + c`.\n\
         pub const LEVELS: usize = {levels};\n\n\
         fn distance(x: &[u32], w: &[u32]) -> u32 {{\n    \
         x.iter().zip(w).map(|(a, b)| (a ^ b).count_ones()).sum()\n}}\n\n",
        version = env!("CARGO_PKG_VERSION"),
        iw = words(inputs),
        levels = grey.channels(),
    );
    if needs_math {
        r.push_str(include_str!("libm.rs"));
        r.push('\n');
    }
    if !plan.maps.is_empty() {
        r.push_str(MAP_BITS);
    }
    if plan.maps.iter().any(|(_, m)| matches!(m, Map::Conv(_))) {
        r.push_str(MAP_CONV);
    }
    if plan.maps.iter().any(|(_, m)| matches!(m, Map::Pool(_))) {
        r.push_str(MAP_POOL);
    }
    for &(i, m) in &plan.maps {
        match m {
            Map::Conv(conv) => {
                let _ = writeln!(r, "// layer {i}: {conv}");
                Lang::Rust.layer_arrays(
                    &mut r,
                    &|l| format!("{}{i}", l.to_ascii_uppercase()),
                    conv.filters(),
                );
                r.push('\n');
            }
            Map::Pool(pool) => {
                let _ = writeln!(r, "// layer {i}: {pool}, no parameters\n");
            }
        }
    }
    let mut widest = 0;
    for l in layers {
        let (i, b) = (l.index, l.layer);
        widest = widest.max(b.outputs());
        let _ = writeln!(r, "// layer {i}: {b}");
        Lang::Rust.layer_arrays(&mut r, &|l| format!("{}{i}", l.to_ascii_uppercase()), b);
        r.push('\n');
    }
    let thresholds = grey.thresholds();
    if thresholds.is_empty() {
        let _ = write!(
            r,
            "/// Grey levels (0-255, row by row) to packed bits: a pixel is 1 when pixel * {den} > {num}.\n\
             pub fn binarize(grey: &[u8; PIXELS], bits: &mut [u32; INPUT_WORDS]) {{\n    \
             *bits = [0; INPUT_WORDS];\n    \
             for (i, &p) in grey.iter().enumerate() {{\n        \
             if u64::from(p) * {den} > {num} {{\n            bits[i / 32] |= 1 << (i % 32);\n        }}\n    }}\n}}\n\n",
            num = grey.num,
            den = grey.den,
        );
    } else {
        let list: Vec<String> = thresholds.iter().map(u8::to_string).collect();
        let _ = write!(
            r,
            "/// The thermometer code's thresholds: bit `c` of a pixel is `pixel > THRESHOLDS[c]`.\n\
             pub const THRESHOLDS: [u8; LEVELS] = [{list}];\n\n\
             /// Grey levels (0-255, row by row) to packed bits by the thermometer code: pixel `i`'s bit `c`,\n\
             /// input `i * LEVELS + c`, is 1 when `pixel > THRESHOLDS[c]`.\n\
             pub fn binarize(grey: &[u8; PIXELS], bits: &mut [u32; INPUT_WORDS]) {{\n    \
             *bits = [0; INPUT_WORDS];\n    \
             for (i, &p) in grey.iter().enumerate() {{\n        \
             for (c, &t) in THRESHOLDS.iter().enumerate() {{\n            \
             if p > t {{\n                let j = i * LEVELS + c;\n                bits[j / 32] |= 1 << (j % 32);\n            }}\n        }}\n    }}\n}}\n\n",
            list = list.join(", "),
        );
    }
    let _ = write!(
        r,
        "/// The class of an image of grey levels; `scores` receives the class scores.\n\
         pub fn predict_grey(grey: &[u8; PIXELS], scores: Option<&mut [f32; CLASSES]>) -> usize {{\n    \
         let mut bits = [0; INPUT_WORDS];\n    binarize(grey, &mut bits);\n    predict_bits(&bits, scores)\n}}\n\n\
         {predict}",
        predict = predict_head(&plan, words(widest).max(1)),
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
                "    // layer {i}: bit outputs, 1 when d + b > t (ORed in without a branch, which half\n    \
                 // the neurons would mispredict)\n    \
                 {y}[..{ow}].fill(0);\n    \
                 for j in 0..{m} {{\n        \
                 let d = i64::from(distance(x, {row}) + B{i}[j]);\n        \
                 {y}[j / 32] |= u32::from(d > T{i}[j]) << (j % 32);\n    }}\n    \
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
                    Activation::Sigmoid => "sigmoid(v)",
                    Activation::Tanh => "tanh(v)",
                    _ => "v",
                };
                let fixes = differences(lay, act);
                if !fixes.is_empty() {
                    let _ = writeln!(
                        r,
                        "    // The library's {name} where this module's rounds differently ({n} of the\n    \
                         // {all} scores this layer can give): (class, d + b, score), sorted.",
                        name = act.name(),
                        n = fixes.len(),
                        all = m * (lay.inputs() + 1),
                    );
                    let mut table = String::new();
                    Lang::Rust.array(
                        &mut table,
                        "(u32, u32, f32)",
                        &format!("FIX{i}"),
                        &fixes,
                        |&(j, db, s)| format!("({j}, {db}, {s:e})"),
                    );
                    for line in table.lines() {
                        let _ = writeln!(r, "    {line}");
                    }
                }
                let fix = if fixes.is_empty() {
                    String::new()
                } else {
                    format!(
                        "        let s = match FIX{i}.binary_search_by(|e| (e.0, e.1).cmp(&(j as u32, dbi))) {{\n            \
                         Ok(k) => FIX{i}[k].2,\n            Err(_) => s,\n        }};\n"
                    )
                };
                let _ = write!(
                    r,
                    "    // layer {i}: float scores of v = {pre}; the first largest wins\n    \
                     let mut top = 0.0f32;\n    \
                     for j in 0..{m} {{\n        \
                     let dbi = distance(x, {row}) + B{i}[j];\n        \
                     let db = dbi as f32;\n        \
                     let v: f32 = {pre};\n        let s = {f};\n{fix}        \
                     if let Some(out) = scores.as_deref_mut() {{\n            out[j] = s;\n        }}\n        \
                     if j == 0 || s > top {{\n            top = s;\n            best = j;\n        }}\n    }}\n"
                );
            }
        }
    }
    r.push_str("    best\n}\n");
    Ok(r)
}

/// The module's own sigmoid and tanh ([`libm.rs`](libm.rs)'s text, compiled here too).
mod libm {
    use crate::layers::Activation;

    include!("libm.rs");

    /// `activation` of `v` as the exported module computes it.
    pub(super) fn apply(activation: Activation, v: f32) -> f32 {
        match activation {
            Activation::Sigmoid => sigmoid(v),
            Activation::Tanh => tanh(v),
            other => other.apply(v),
        }
    }
}

/// Where the module's `activation` of output layer `b` differs from the library's: `(class,
/// d + b, the library's score)` for every class and every distance `d` from 0 to the layer's
/// inputs, in that order (sorted, for the module's binary search). Bits are compared, so that
/// the module's scores are the library's exactly, signs of zero and all.
fn differences(b: &BitDense, activation: Activation) -> Vec<(u32, u32, f32)> {
    if !matches!(activation, Activation::Sigmoid | Activation::Tanh) {
        return Vec::new();
    }
    let n = b.inputs();
    let mut out = Vec::new();
    for j in 0..b.outputs() {
        let bias = b.bias_bit(j);
        for d in 0..=n as u32 {
            let library = b.float_rule(j, d, activation);
            // The module's `v`, operation for operation.
            let db = (d + bias) as f32;
            let v = match b.affine() {
                Some(a) => a[j].0 * db + a[j].1,
                None => 1.0 - db / n as f32,
            };
            let module = libm::apply(activation, v);
            if module.to_bits() != library.to_bits() && !(module.is_nan() && library.is_nan()) {
                out.push((j as u32, d + bias, library));
            }
        }
    }
    out
}

/// The module's `predict_bits` up to its dense layers: its stack arrays (`buf` words for each of
/// two dense outputs), and for a model with convolutions or pools the feature-map buffers
/// (`MAP_WORDS`, `Buffers`, `predict_bits_in`) and the calls of its map layers.
fn predict_head(plan: &super::Plan<'_>, buf: usize) -> String {
    let dense = format!(
        "    let mut a = [0u32; {buf}];\n    let mut b = [0u32; {buf}];\n    \
         let mut x: &[u32] = bits;\n    let mut best = 0;\n"
    );
    if plan.maps.is_empty() {
        return format!(
            "/// The class of a packed image; `scores` receives the class scores. RAM: two dense\n\
             /// layer outputs of {buf} words on the stack ({} bytes).\n\
             pub fn predict_bits(bits: &[u32; INPUT_WORDS], mut scores: Option<&mut [f32; CLASSES]>) -> usize {{\n\
             {dense}",
            8 * buf
        );
    }
    let (mw, pw) = (plan.map_words(), plan.patch_words());
    let mut r = format!(
        "/// 32-bit words of the largest feature map.\n\
         pub const MAP_WORDS: usize = {mw};\n\n\
         /// The two feature-map buffers of one inference ({bytes} bytes), which the layers take\n\
         /// turns to write. [`predict_bits`] puts them on the stack; on a microcontroller, whose\n\
         /// stack is small, keep one `Buffers` elsewhere (a `static` behind the application's own\n\
         /// lock, or a long-lived task's state) and call [`predict_bits_in`]: safe Rust has no\n\
         /// unguarded mutable static that this module could keep them in.\n\
         pub struct Buffers {{\n    a: [u32; MAP_WORDS],\n    b: [u32; MAP_WORDS],\n}}\n\n\
         impl Buffers {{\n    /// Zeroed buffers (a `const fn`, for a `static`).\n    \
         pub const fn new() -> Self {{\n        Self {{ a: [0; MAP_WORDS], b: [0; MAP_WORDS] }}\n    }}\n}}\n\n\
         /// The class of a packed image; `scores` receives the class scores. RAM on the stack:\n\
         /// the [`Buffers`] ({bytes} bytes) and what [`predict_bits_in`] takes.\n\
         pub fn predict_bits(bits: &[u32; INPUT_WORDS], scores: Option<&mut [f32; CLASSES]>) -> usize {{\n    \
         predict_bits_in(bits, &mut Buffers::new(), scores)\n}}\n\n\
         /// The class of a packed image with the feature maps in `buffers`; `scores` receives the\n\
         /// class scores. RAM on the stack: one convolution window of {pw} words and two dense\n\
         /// layer outputs of {buf} words ({stack} bytes).\n\
         pub fn predict_bits_in(\n    bits: &[u32; INPUT_WORDS],\n    buffers: &mut Buffers,\n    \
         mut scores: Option<&mut [f32; CLASSES]>,\n) -> usize {{\n    \
         let Buffers {{ a: map_a, b: map_b }} = buffers;\n",
        bytes = 8 * mw,
        stack = 4 * pw + 8 * buf,
    );
    if pw > 0 {
        let _ = writeln!(r, "    let mut patch = [0u32; {pw}];");
    }
    let mut last = String::new();
    for (k, &(i, m)) in plan.maps.iter().enumerate() {
        let x = match k {
            0 => "bits".to_string(),
            _ => format!("&map_{}[..]", if k % 2 == 1 { 'a' } else { 'b' }),
        };
        let y = if k % 2 == 0 { "map_a" } else { "map_b" };
        match m {
            Map::Conv(conv) => {
                let (s, o) = (conv.input_shape(), conv.output_shape());
                let _ = writeln!(
                    r,
                    "    // layer {i}: {conv}\n    \
                     conv({x}, &mut {y}[..], ({}, {}, {}), ({}, {}, {}), ({}, {}, {}), &W{i}, &B{i}, &T{i}, &mut patch[..{}]);",
                    s.height,
                    s.width,
                    s.channels,
                    conv.window(),
                    conv.stride(),
                    conv.padding(),
                    o.height,
                    o.width,
                    o.channels,
                    m.patch_words(),
                );
            }
            Map::Pool(pool) => {
                let (s, o) = (pool.input_shape(), pool.output_shape());
                let _ = writeln!(
                    r,
                    "    // layer {i}: {pool}\n    \
                     pool({x}, &mut {y}[..], ({}, {}), ({}, {}), ({}, {}));",
                    s.width,
                    s.channels,
                    pool.size(),
                    pool.stride(),
                    o.height,
                    o.width,
                );
            }
        }
        last = format!("&{y}[..{}]", m.outputs().div_ceil(32));
    }
    r.push_str(&dense);
    let _ = writeln!(r, "    x = {last};");
    r
}

/// The bit ranges of the module's feature-map layers: at most 32 bits read and ORed at any
/// bit offset.
const MAP_BITS: &str = r#"/// Bits `off..off + n` of `x` (`1 <= n <= 32`) in the low bits.
fn get_bits(x: &[u32], off: usize, n: usize) -> u32 {
    let (w, b) = (off / 32, off % 32);
    let mut v = x[w] >> b;
    if b != 0 && b + n > 32 {
        v |= x[w + 1] << (32 - b);
    }
    if n < 32 { v & ((1 << n) - 1) } else { v }
}

/// ORs the low `n` bits of `v` (`1 <= n <= 32`, no higher bits set) into `y` from bit `off`.
fn or_bits(y: &mut [u32], off: usize, n: usize, v: u32) {
    let (w, b) = (off / 32, off % 32);
    y[w] |= v << b;
    if b != 0 && b + n > 32 {
        y[w + 1] |= v >> (32 - b);
    }
}

"#;

/// The module's convolution (with [`MAP_BITS`]).
const MAP_CONV: &str = r#"/// A bit convolution. Maps are stored pixel by pixel in reading order, each pixel's channels
/// adjacent. Input `x`: `h x w x c`; output `y`: `oh x ow x f`. Each `k x k` window, every `s`
/// pixels over the input padded with `p` 0-bits, is copied row by row into `patch`; filter `j`
/// (row `j` of `wt`, bias bit `bb[j]`) sets output channel `j` when `d + bb[j] > t[j]`.
fn conv(
    x: &[u32],
    y: &mut [u32],
    (h, w, c): (usize, usize, usize),
    (k, s, p): (usize, usize, usize),
    (oh, ow, f): (usize, usize, usize),
    wt: &[u32],
    bb: &[u32],
    t: &[i64],
    patch: &mut [u32],
) {
    let pw = patch.len();
    y[..(oh * ow * f).div_ceil(32)].fill(0);
    for oy in 0..oh {
        for ox in 0..ow {
            // Columns `lo..hi` of the window fall inside the input, the rest is padding.
            let x0 = (ox * s) as isize - p as isize;
            let lo = (-x0).max(0) as usize;
            let hi = (w as isize - x0).clamp(0, k as isize) as usize;
            let out = (oy * ow + ox) * f;
            patch.fill(0);
            for ky in 0..k {
                let iy = (oy * s + ky) as isize - p as isize;
                if lo >= hi || iy < 0 || iy >= h as isize {
                    continue;
                }
                let src = (iy as usize * w + (x0 + lo as isize) as usize) * c;
                let (dst, len) = ((ky * k + lo) * c, (hi - lo) * c);
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(32);
                    or_bits(patch, dst + done, n, get_bits(x, src + done, n));
                    done += n;
                }
            }
            for j in 0..f {
                let on = i64::from(distance(patch, &wt[j * pw..(j + 1) * pw]) + bb[j]) > t[j];
                y[(out + j) / 32] |= u32::from(on) << ((out + j) % 32);
            }
        }
    }
}

"#;

/// The module's pool (with [`MAP_BITS`]).
const MAP_POOL: &str = r#"/// A bit max-pool: output pixel `(oy, ox)` of `y` (`oh x ow x c`) is the AND of the
/// `size x size` input pixels from `(oy * s, ox * s)` of `x` (`w` pixels a row), 32 channels at
/// a time.
fn pool(
    x: &[u32],
    y: &mut [u32],
    (w, c): (usize, usize),
    (size, s): (usize, usize),
    (oh, ow): (usize, usize),
) {
    y[..(oh * ow * c).div_ceil(32)].fill(0);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut ch = 0;
            while ch < c {
                let n = (c - ch).min(32);
                let mut v = u32::MAX;
                for ky in 0..size {
                    for kx in 0..size {
                        v &= get_bits(x, ((oy * s + ky) * w + ox * s + kx) * c + ch, n);
                    }
                }
                or_bits(y, (oy * ow + ox) * c + ch, n, v);
                ch += n;
            }
        }
    }
}

"#;

/// A vote as one module: each member's module as `mK`, and the entry points adding their
/// scores in member order, as [`Vote`](crate::layers::Vote) does, the first largest winning.
fn vote_to_rust(model: &Chain, members: &[Chain], grey: GreyRule) -> Result<String, ExportError> {
    let inputs = model.inputs();
    grey.check(inputs)?;
    let n = members.len();
    let mut r = format!(
        "//! {n} bit neural networks that vote, exported by BitsMNIST-rs {version} ({model}):\n\
         //! `no_std`, no allocation. Include it as a module (`mod model;`) of any crate.\n\n\
         #![allow(unused, clippy::all)]\n\n\
         /// Input bits per image.\npub const INPUTS: usize = {inputs};\n\
         /// Classes.\npub const CLASSES: usize = {classes};\n\
         /// 32-bit words of a packed image (bit `i` in word `i / 32` at bit `i % 32`; 1 is a dark pixel).\n\
         pub const INPUT_WORDS: usize = {iw};\n\
         /// Grey levels per image (row by row).\npub const PIXELS: usize = {pixels};\n\
         /// Input bits per pixel (a thermometer code's levels, else 1): pixel `i`'s bit `c` is input `i * LEVELS + c`.\n\
         pub const LEVELS: usize = {levels};\n\n",
        version = env!("CARGO_PKG_VERSION"),
        classes = model.outputs(),
        iw = inputs.div_ceil(32),
        pixels = inputs / grey.channels(),
        levels = grey.channels(),
    );
    for (k, m) in members.iter().enumerate() {
        let _ = write!(r, "/// Member {k} of the vote: {m}.\npub mod m{k} {{\n");
        for line in to_rust(m, grey)?.lines() {
            if line.is_empty() {
                r.push('\n');
            } else {
                let _ = writeln!(r, "    {line}");
            }
        }
        r.push_str("}\n\n");
    }
    let mut sum = String::new();
    for k in 1..n {
        let _ = write!(
            sum,
            "    m{k}::predict_bits(bits, Some(&mut s));\n    \
             for j in 0..CLASSES {{\n        total[j] = total[j] + s[j];\n    }}\n"
        );
    }
    let _ = write!(
        r,
        "/// Grey levels (0-255, row by row) to packed bits, as in training.\n\
         pub fn binarize(grey: &[u8; PIXELS], bits: &mut [u32; INPUT_WORDS]) {{\n    \
         m0::binarize(grey, bits)\n}}\n\n\
         /// The class of an image of grey levels; `scores` receives the summed class scores.\n\
         pub fn predict_grey(grey: &[u8; PIXELS], scores: Option<&mut [f32; CLASSES]>) -> usize {{\n    \
         let mut bits = [0; INPUT_WORDS];\n    binarize(grey, &mut bits);\n    predict_bits(&bits, scores)\n}}\n\n\
         /// The class of a packed image: the first largest of the members' scores added in member\n\
         /// order; `scores` receives the sums.\n\
         pub fn predict_bits(bits: &[u32; INPUT_WORDS], scores: Option<&mut [f32; CLASSES]>) -> usize {{\n    \
         let mut total = [0.0f32; CLASSES];\n    let mut s = [0.0f32; CLASSES];\n    \
         m0::predict_bits(bits, Some(&mut total));\n\
         {sum}    \
         let mut best = 0;\n    \
         for j in 1..CLASSES {{\n        if total[j] > total[best] {{\n            best = j;\n        }}\n    }}\n    \
         if let Some(out) = scores {{\n        *out = total;\n    }}\n    \
         best\n}}\n"
    );
    Ok(r)
}
