//! `no_std` Rust export: one module.

use std::fmt::Write as _;

use super::{ExportError, GreyRule, Lang, bit_layers};
use crate::layers::{Activation, BitOutput, Chain};

/// The model as one `no_std` Rust module without `alloc`: `INPUTS`, `CLASSES`,
/// `INPUT_WORDS`, `predict_bits(&[u32; INPUT_WORDS], Option<&mut [f32; CLASSES]>) -> usize`,
/// `predict_grey` and `binarize`, with the same words, rules and ties as [`to_c`](super::to_c). `core` has
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
