//! Exported C compiled with the system's C compiler (`cc -std=c99 -Wall -Werror`), and the
//! exported `no_std` Rust module compiled with `rustc`, classify all 10,000 official test
//! digits exactly as the library's model does, from packed bits and from grey levels, for
//! every kind of model the project trains, and for bit convolution models (convolutions and
//! pools, then dense layers).

use std::path::Path;
use std::process::Command;

#[path = "common/models.rs"]
mod models;

use bitsmnist_core::bits::BitMatrix;
use bitsmnist_core::export::{self, ExportError, GreyRule};
use bitsmnist_core::layers::Dense;
use bitsmnist_core::prelude::*;
use bitsmnist_core::search::ClimbParams;

/// Reads images from stdin (packed words, or grey bytes with `grey`), prints one class byte
/// each (or with `scores` the class scores, `f32` in the machine's byte order), and checks
/// that the scores it is given agree with the class.
const MAIN: &str = r#"
#include <stdio.h>
#include <string.h>
#include "model.h"
int main(int argc, char **argv) {
    int grey = argc > 1 && strcmp(argv[1], "grey") == 0;
    int print_scores = argc > 1 && strcmp(argv[1], "scores") == 0;
    uint32_t bits[MODEL_INPUT_WORDS];
    uint8_t pixels[MODEL_PIXELS];
    float scores[MODEL_CLASSES];
    for (;;) {
        int c, k, best = 0;
        if (grey) {
            if (fread(pixels, 1, MODEL_PIXELS, stdin) != MODEL_PIXELS) break;
            c = model_predict_grey(pixels, scores);
            model_binarize(pixels, bits);
        } else {
            if (fread(bits, 4, MODEL_INPUT_WORDS, stdin) != MODEL_INPUT_WORDS) break;
            c = model_predict_bits(bits, scores);
        }
        for (k = 1; k < MODEL_CLASSES; k++) if (scores[k] > scores[best]) best = k;
        if (best != c || model_predict_bits(bits, NULL) != c) {
            fprintf(stderr, "the scores or the bits disagree with the class\n");
            return 1;
        }
        if (print_scores) fwrite(scores, sizeof scores[0], MODEL_CLASSES, stdout);
        else putchar(c);
    }
    return 0;
}
"#;

/// Compiles `model` with the test driver; returns the program.
fn build(dir: &Path, model: &Chain, rule: GreyRule) -> std::path::PathBuf {
    let c = export::to_c(model, "model", rule).unwrap();
    std::fs::write(dir.join("model.h"), &c.header).unwrap();
    std::fs::write(dir.join("model.c"), &c.source).unwrap();
    std::fs::write(dir.join("main.c"), MAIN).unwrap();
    let prog = dir.join("prog");
    let out = Command::new("cc")
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O2",
        ])
        .arg("-ffp-contract=off")
        .args(["-o", prog.to_str().unwrap(), "main.c", "model.c", "-lm"])
        .current_dir(dir)
        .output()
        .expect("a C compiler `cc`");
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    prog
}

/// A std program around the exported module: the same input and output as [`MAIN`].
const RUST_MAIN: &str = r#"
mod model;
use std::io::{Read, Write};
fn main() {
    let mode = std::env::args().nth(1);
    let grey = mode.as_deref() == Some("grey");
    let print_scores = mode.as_deref() == Some("scores");
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let mut out = Vec::new();
    if grey {
        for chunk in input.chunks_exact(model::PIXELS) {
            let g: &[u8; model::PIXELS] = chunk.try_into().unwrap();
            let mut s = [0f32; model::CLASSES];
            out.push(model::predict_grey(g, Some(&mut s)) as u8);
        }
    } else {
        for chunk in input.chunks_exact(4 * model::INPUT_WORDS) {
            let mut bits = [0u32; model::INPUT_WORDS];
            for (k, w) in chunk.chunks_exact(4).enumerate() {
                bits[k] = u32::from_le_bytes(w.try_into().unwrap());
            }
            let mut s = [0f32; model::CLASSES];
            let c = model::predict_bits(&bits, Some(&mut s));
            assert_eq!(c, model::predict_bits(&bits, None));
            if print_scores {
                out.extend(s.iter().flat_map(|v| v.to_ne_bytes()));
            } else {
                out.push(c as u8);
            }
        }
    }
    std::io::stdout().write_all(&out).unwrap();
}
"#;

fn rustc(dir: &Path, args: &[&str]) {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--edition", "2021", "-O", "-D", "warnings"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("rustc");
    assert!(
        out.status.success(),
        "rustc {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the exported `no_std` module twice: into a `#![no_std]` library (it needs nothing
/// else) and into the std test driver; returns the driver.
fn build_rust(dir: &Path, model: &Chain, rule: GreyRule) -> std::path::PathBuf {
    std::fs::write(dir.join("model.rs"), export::to_rust(model, rule).unwrap()).unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "#![no_std]\nmod model;\npub use model::predict_bits;\n",
    )
    .unwrap();
    rustc(dir, &["--crate-type", "rlib", "lib.rs"]);
    std::fs::write(dir.join("main.rs"), RUST_MAIN).unwrap();
    rustc(dir, &["-o", "prog-rs", "main.rs"]);
    dir.join("prog-rs")
}

fn run(prog: &Path, input: &[u8], grey: bool) -> Vec<usize> {
    let out = run_mode(prog, input, if grey { "grey" } else { "bits" });
    out.iter().map(|&b| b as usize).collect()
}

/// The class scores the program gives for packed images, as the library's [`Floats`] rows.
fn run_scores(prog: &Path, input: &[u8]) -> Vec<f32> {
    run_mode(prog, input, "scores")
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes(b.try_into().unwrap()))
        .collect()
}

/// Runs the program in `mode` (`bits`, `grey` or `scores`) on `input`; its output.
fn run_mode(prog: &Path, input: &[u8], mode: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(prog)
        .arg(mode)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Written from another thread: the scores outgrow a pipe's buffer before the input ends.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.join().unwrap().unwrap();
    out.stdout
}

/// Checks that `got` holds the library's scores of every test digit (`==`, NaN equal to NaN),
/// so that every score, not just the largest, is the library's.
fn assert_same_scores(got: &[f32], expected: &bitsmnist_core::layers::Floats, what: &str) {
    assert_eq!(got.len(), expected.as_slice().len(), "{what}: scores");
    let differ = got
        .iter()
        .zip(expected.as_slice())
        .filter(|&(a, b)| !(a == b || a.is_nan() && b.is_nan()))
        .count();
    assert_eq!(differ, 0, "{what}: {differ} of {} scores differ", got.len());
}

/// The split's packed bits as the exported entry points read them: 32-bit words,
/// little-endian.
fn packed32(images: &BitMatrix) -> Vec<u8> {
    let row_words = images.words_per_row();
    images
        .as_words()
        .chunks(row_words)
        .flat_map(|row| export::words32(row, images.cols()))
        .flat_map(u32::to_le_bytes)
        .collect()
}

/// Checks the exported `model` against the Rust model on every test digit of `data` (the
/// 10,000 official ones), both entry points, classes and every class score; the grey entry
/// point binarises by the data set's rule (the mean rule: the training split's mean).
fn assert_same_predictions(model: &Chain, data: &Dataset, what: &str) {
    assert_eq!(data.test.len(), 10_000, "{what}: the official test digits");
    let dir = tempfile::tempdir().unwrap();
    let rule = GreyRule::for_binarization(data.binarization, &data.train);
    if data.binarization == Binarization::MeanOfNonZero {
        let greys: Vec<u8> = (0..data.train.len())
            .flat_map(|i| data.train.grey(i).unwrap().to_vec())
            .collect();
        assert_eq!(rule, GreyRule::mean_of(&greys));
    }
    let prog = build(dir.path(), model, rule);
    // Packed bits: the test split as the library binarised it.
    let expected = model.predict_split(&data.test).unwrap();
    let input = packed32(data.test.images());
    let got = run(&prog, &input, false);
    assert_eq!(got.len(), data.test.len(), "{what}");
    let wrong = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(
        wrong,
        0,
        "{what}: {wrong} of {} predictions differ",
        got.len()
    );
    let scores = model.scores_split(&data.test).unwrap();
    assert_same_scores(&run_scores(&prog, &input), &scores, &format!("{what}, C"));
    // Grey levels: binarised by the exported rule, in C and here.
    let n = data.test.len();
    let mut bits = BitMatrix::zeros(n, model.inputs());
    let mut grey = Vec::with_capacity(n * data.pixels());
    for i in 0..n {
        let g = data.test.grey(i).unwrap();
        for (j, b) in rule.bits(g).into_iter().enumerate() {
            bits.set(i, j, b);
        }
        grey.extend_from_slice(g);
    }
    if let Binarization::Thermometer { .. } = data.binarization {
        // Fixed thresholds: the exported rule makes the library's bits, in its order.
        assert!(&bits == data.test.images(), "{what}: the grey rule's bits");
    }
    let expected_grey = model.predict(&bits);
    let got = run(&prog, &grey, true);
    assert_eq!(got, expected_grey, "{what}: grey entry point");
    // The no_std Rust module.
    let prog = build_rust(dir.path(), model, rule);
    assert_eq!(run(&prog, &input, false), expected, "{what}: Rust");
    assert_same_scores(
        &run_scores(&prog, &input),
        &scores,
        &format!("{what}, Rust"),
    );
    assert_eq!(run(&prog, &grey, true), expected_grey, "{what}: Rust, grey");
}

#[test]
fn the_zero_one_model_and_the_original_output_rules_export_exactly() {
    // A zero-one model gives one of its two classes for any image: checked on all 10,000
    // test digits, binarised as its training split was (the full split's mean, before the
    // task kept the zeros and ones).
    let (_, model) = models::zero_one_default();
    let data = Dataset::embedded();
    let predicted = model.predict_split(&data.test).unwrap();
    assert!(predicted.contains(&0) && predicted.contains(&1));
    assert_same_predictions(&model, &data, "zero-one default");
    // The original's sigmoid output, tanh, ReLU, and bit outputs as scores, on random
    // networks.
    for output in [
        BitOutput::Float(Activation::Sigmoid),
        BitOutput::Float(Activation::Tanh),
        BitOutput::Float(Activation::Relu),
        BitOutput::Bits,
    ] {
        let m = Chain::mlp(784, &[100, 37], 2, output, 3).unwrap();
        assert_same_predictions(&m, &data, &format!("random, {output:?}"));
    }
}

/// A ten-digit 784-128-10 network climbed for two generations with `activation` on its
/// scores (`bitsmnist train --task digits --method climb --output sigmoid`).
fn climbed(activation: Activation) -> Chain {
    let data = Dataset::embedded();
    let config = TrainConfig::Climb {
        params: ClimbParams::default()
            .batch_size(Some(1000))
            .trials_per_generation(2000),
        members: 1,
    };
    let mut state = config
        .fresh(784, &[128], 10, BitOutput::Float(activation), 4)
        .unwrap();
    state
        .train(&data.train, &TrainOptions::new().generations(2), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    state.model(&data.train)
}

/// Sigmoid and tanh scores: the C's come from `<math.h>`, the `no_std` Rust module's from its
/// own `f64` arithmetic with the library's score wherever that rounds differently. Both must
/// give the library's scores, every one of them, and so its classes: for trained models, and
/// for scales so steep that most scores round to 1, where only exact scores keep the
/// library's ties (the first class of equal scores wins, however far apart their inputs).
#[test]
fn sigmoid_and_tanh_models_export_exactly_in_c_and_rust() {
    let data = Dataset::embedded();
    for activation in [Activation::Sigmoid, Activation::Tanh] {
        let model = climbed(activation);
        let accuracy = ConfusionMatrix::evaluate(&model, &data.test).accuracy();
        // Well above chance (10%) after two generations.
        assert!(accuracy > 0.2, "{activation:?}: accuracy {accuracy}");
        assert_same_predictions(&model, &data, &format!("climbed, {activation:?}"));

        // Scores s (d + b) + o from about -5 to 40: saturated for most images.
        let hidden = BitDense::new(784, 64).with_seed(6);
        let scale: Vec<f32> = (0..10).map(|j| 0.4 + 0.07 * j as f32).collect();
        let offset: Vec<f32> = scale.iter().map(|s| -s * 20.0 + 7.3).collect();
        let out = BitDense::new(64, 10)
            .with_seed(7)
            .with_output(BitOutput::Float(activation))
            .with_affine(scale, offset)
            .unwrap();
        let steep = Chain::new(vec![hidden.into(), out.into()]).unwrap();
        let scores = steep.scores_split(&data.test).unwrap();
        let ties = (0..scores.rows())
            .filter(|&i| {
                let row = scores.row(i);
                let top = row[bitsmnist_core::layers::argmax(row)];
                row.iter().filter(|&&v| v == top).count() > 1
            })
            .count();
        assert!(
            ties > 1000,
            "{activation:?}: {ties} images with tied scores"
        );
        assert_same_predictions(&steep, &data, &format!("steep, {activation:?}"));
    }
}

/// Exactly tied scores: a class whose weights and bias are another's never wins, as in the
/// library (the first of equal scores wins), under each output rule: the original's score
/// (the C finds the smallest distance in integers), scaled scores, and bit outputs (the first
/// 1, else class 0).
#[test]
fn tied_scores_go_to_the_first_class_as_in_the_library() {
    let data = Dataset::embedded();
    let hidden = BitDense::new(784, 40).with_seed(8);
    for output in [
        BitOutput::Float(Activation::Identity),
        BitOutput::Float(Activation::Sigmoid),
        BitOutput::Bits,
    ] {
        // Class 2 is a copy of class 1; class 3 of class 0.
        let mut out = BitDense::new(40, 4).with_seed(9).with_output(output);
        if output == BitOutput::Float(Activation::Sigmoid) {
            out = out
                .with_affine(vec![0.3, -0.2, -0.2, 0.3], vec![-6.0, 4.0, 4.0, -6.0])
                .unwrap();
        }
        let (w, b) = out.params_mut();
        for (copy, of) in [(2, 1), (3, 0)] {
            for k in 0..40 {
                let v = w.get(of, k);
                w.set(copy, k, v);
            }
            let v = b.get(0, of);
            b.set(0, copy, v);
        }
        let model = Chain::new(vec![hidden.clone().into(), out.into()]).unwrap();
        let predicted = model.predict_split(&data.test).unwrap();
        let count = |c: usize| predicted.iter().filter(|&&p| p == c).count();
        assert!(count(0) > 0 && count(1) > 0, "{output:?}: {predicted:?}");
        assert_eq!((count(2), count(3)), (0, 0), "{output:?}");
        assert_same_predictions(&model, &data, &format!("tied, {output:?}"));
    }
}

#[test]
fn a_climbed_ten_digit_ensemble_exports_exactly() {
    let (data, merged) = models::climbed_ensemble();
    assert_same_predictions(&merged, &data, "climbed ensemble");
}

#[test]
fn a_gradient_model_with_thresholds_and_scales_exports_exactly() {
    let (data, model) = models::gradient_scaled();
    assert_same_predictions(&model, &data, "gradient");
    #[cfg(feature = "json")]
    assert_json_holds(&model);
}

/// A model trained on grey levels kept as bits (`--binarize thermometer:4`): four input
/// channels to its first convolution. The exported `binarize` makes the library's bits from
/// the grey levels, in its order, and the C and Rust give its classes and scores on every
/// test digit; a dense model on the same 3,136 bits and a vote of the two too. A rule of
/// another model's width is refused.
#[test]
fn a_thermometer_model_exports_exactly_in_c_and_rust() {
    use bitsmnist_core::gradient::{GradientParams, Trainer};
    use bitsmnist_core::layers::parse_architecture;
    let data = Dataset::embedded_with(Binarization::Thermometer { levels: 4 });
    assert_eq!(data.train.images().cols(), 4 * 784);
    let (features, hidden) = parse_architecture("conv8x3,pool2,conv8x3,pool2,32").unwrap();
    let params = GradientParams::default()
        .features(features)
        .hidden(hidden)
        .epochs(1)
        .seed(5);
    let mut trainer = Trainer::for_image(params, Shape::input_of(&data), 10).unwrap();
    let sample = data.train.sample_shuffled(0.2, 10, 3);
    trainer
        .train(&sample, &TrainOptions::new(), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let model = trainer.export();
    assert_eq!(model.inputs(), 4 * 784);
    let accuracy = ConfusionMatrix::evaluate(&model, &data.test).accuracy();
    // Well above chance (10%) after one epoch on a fifth of the digits.
    assert!(accuracy > 0.4, "accuracy {accuracy}");
    assert_same_predictions(&model, &data, "thermometer:4, convolutions");
    let dense = Chain::mlp(
        4 * 784,
        &[64],
        10,
        BitOutput::Float(Activation::Identity),
        2,
    )
    .unwrap();
    assert_same_predictions(&dense, &data, "thermometer:4, dense");
    // The two as one vote, by the rule `bitsmnist merge` makes its models by.
    let vote = bitsmnist_core::search::ensemble_model(vec![model.clone(), dense]).unwrap();
    assert!(matches!(vote.layers(), [Layer::Vote(_)]));
    assert_same_predictions(&vote, &data, "thermometer:4, a vote");
    #[cfg(feature = "json")]
    {
        let rule = GreyRule::thermometer(4);
        let text = export::to_json(&model, &bitsmnist_core::io::Metadata::now(), rule).unwrap();
        assert!(
            text.contains(r#""thresholds":[51,102,153,204]"#),
            "{text:.300}"
        );
    }
    // Three levels do not divide 3,136 inputs; nine are not a thermometer code.
    for levels in [3, 9] {
        assert_eq!(
            export::to_c(&model, "m", GreyRule::thermometer(levels)).unwrap_err(),
            ExportError::GreyLevels {
                levels,
                inputs: 3136
            }
        );
    }
}

#[cfg(feature = "json")]
/// The JSON export holds the model's numbers exactly: shapes, weight words, bias bits,
/// thresholds, and scales and offsets that read back as the same `f32`. (Its predictions are
/// checked by the NumPy reader of docs/export-json.md, in tests/test_export_json.py.)
fn assert_json_holds(model: &Chain) {
    let mut meta = bitsmnist_core::io::Metadata::now();
    meta.task = Some(Task::digits());
    let text = export::to_json(model, &meta, GreyRule::above(100)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format"], "bitsmnist-model");
    assert_eq!(json["inputs"], model.inputs());
    assert_eq!(json["classes"], model.outputs());
    assert_eq!(
        json["class_labels"],
        serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    );
    assert_eq!(json["binarization"]["num"], 100);
    let layers = json["layers"].as_array().unwrap();
    assert_eq!(layers.len(), model.layers().len());
    let spatial = model.layers().iter().any(Layer::is_spatial);
    assert_eq!(json["version"], if spatial { 2 } else { 1 });
    let shape = |s: Shape| serde_json::json!([s.height, s.width, s.channels]);
    for (l, layer) in model.layers().iter().zip(layers) {
        assert_eq!(layer["inputs"], l.inputs());
        assert_eq!(layer["outputs"], l.outputs());
        let b = match l {
            Layer::Bit(b) => {
                assert_eq!(layer["kind"], "dense");
                b
            }
            Layer::Conv(c) => {
                assert_eq!(layer["kind"], "conv");
                assert_eq!(layer["input_shape"], shape(c.input_shape()));
                assert_eq!(layer["output_shape"], shape(c.output_shape()));
                assert_eq!(layer["window"], c.window());
                assert_eq!(layer["stride"], c.stride());
                assert_eq!(layer["padding"], c.padding());
                assert_eq!(layer["output"], "bits");
                c.filters()
            }
            Layer::Pool(p) => {
                assert_eq!(layer["kind"], "pool");
                assert_eq!(layer["input_shape"], shape(p.input_shape()));
                assert_eq!(layer["output_shape"], shape(p.output_shape()));
                assert_eq!(layer["size"], p.size());
                assert_eq!(layer["stride"], p.stride());
                assert!(layer.get("weights").is_none());
                continue;
            }
            _ => panic!("a bit model"),
        };
        let rows = layer["weights"].as_array().unwrap();
        assert_eq!(rows.len(), b.outputs());
        let w = b.weights();
        for (j, row) in rows.iter().enumerate() {
            let words: Vec<u32> = serde_json::from_value(row.clone()).unwrap();
            let expected = &w.as_words()[j * w.words_per_row()..(j + 1) * w.words_per_row()];
            assert_eq!(words, export::words32(expected, b.inputs()));
        }
        for j in 0..b.outputs() {
            assert_eq!(layer["bias"][j], b.bias_bit(j));
            match b.output() {
                BitOutput::Bits => assert_eq!(layer["thresholds"][j], b.threshold(j)),
                BitOutput::Float(_) => {
                    let (s, o) = b.affine().unwrap()[j];
                    assert_eq!(layer["scales"][j].as_f64().unwrap() as f32, s);
                    assert_eq!(layer["offsets"][j].as_f64().unwrap() as f32, o);
                }
            }
        }
    }
}

/// Where [`bit_convolution_models_export_exactly`] also saves its models as model files
/// (`conv_typical.bin`, `conv_odd.bin`, read with a fixed binarisation of grey levels above
/// 128), when set: tests/test_export_json.py runs the NumPy reader on them.
const MODEL_DIR: &str = "BITSMNIST_EXPORT_CONV_MODELS";

#[test]
fn bit_convolution_models_export_exactly() {
    for (name, (data, model)) in [
        ("conv_typical", models::conv_typical()),
        ("conv_odd", models::conv_odd()),
    ] {
        // The random model tells digits apart enough for equal predictions to mean something.
        let predicted = model.predict_split(&data.test).unwrap();
        let mut seen = [0usize; 10];
        for &p in &predicted {
            seen[p] += 1;
        }
        let classes = seen.iter().filter(|&&n| n > 0).count();
        assert!(
            classes >= 3,
            "{name}: predicts only {classes} classes: {seen:?}"
        );
        let c = export::to_c(&model, "model", GreyRule::above(128)).unwrap();
        assert!(c.header.contains("#define MODEL_MAP_WORDS"), "{name}");
        assert!(
            c.header.contains("/* RAM: two static feature-map buffers"),
            "{name}"
        );
        assert!(
            c.source
                .contains("static uint32_t model_map_a[MODEL_MAP_WORDS]"),
            "{name}"
        );
        assert_same_predictions(&model, &data, name);
        #[cfg(feature = "json")]
        assert_json_holds(&model);
        if let Some(dir) = std::env::var_os(MODEL_DIR) {
            let mut meta = bitsmnist_core::io::Metadata::now().with_task(&Task::digits());
            meta.binarization = Some(Binarization::Threshold(128));
            ModelFile::new(model)
                .with_meta(meta)
                .save(&Path::new(&dir).join(format!("{name}.bin")))
                .unwrap();
        }
    }
}

/// Networks with their own layers merged into one vote (`bitsmnist merge` of gradient
/// members): two convolution models and a dense gradient model. The C and Rust add the
/// members' scores as the library does, on every test digit; the JSON holds each member.
#[test]
fn a_vote_of_networks_with_their_own_layers_exports_exactly() {
    use bitsmnist_core::layers::Vote;
    let (data, a) = models::conv_typical();
    let (_, b) = models::conv_odd();
    let (_, c) = models::gradient_scaled();
    let members = vec![a, b, c];
    let vote = Chain::new(vec![Vote::new(members.clone()).unwrap().into()]).unwrap();
    // The vote is not any one member: its classes differ from each member's somewhere.
    let predicted = vote.predict_split(&data.test).unwrap();
    for m in &members {
        assert_ne!(m.predict_split(&data.test).unwrap(), predicted);
    }
    assert_same_predictions(&vote, &data, "vote");
    #[cfg(feature = "json")]
    {
        let text = export::to_json(
            &vote,
            &bitsmnist_core::io::Metadata::now(),
            GreyRule::above(100),
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 3);
        let layer = &json["layers"][0];
        assert_eq!(layer["kind"], "vote");
        let got = layer["members"].as_array().unwrap();
        assert_eq!(got.len(), 3);
        for (m, layers) in members.iter().zip(got) {
            assert_eq!(layers.as_array().unwrap().len(), m.layers().len());
        }
    }
    // A vote among other layers does not export.
    let vote_layer = vote.layers()[0].clone();
    let after = Chain::new(vec![
        vote_layer,
        Dense::new(10, 10, Activation::Identity, 1).into(),
    ])
    .unwrap();
    assert_eq!(
        export::to_c(&after, "m", GreyRule::above(100)).unwrap_err(),
        ExportError::VoteInside(0)
    );
}

#[test]
fn convolutions_after_dense_layers_and_at_the_end_are_refused() {
    let conv = || -> Layer {
        BitConv2d::new(Shape::new(4, 4, 1), 3, 1, 1, 2)
            .unwrap()
            .into()
    };
    let out = BitOutput::Float(Activation::Identity);
    let after = Chain::new(vec![
        BitDense::new(784, 16).into(),
        conv(),
        BitDense::new(32, 2).with_output(out).into(),
    ])
    .unwrap();
    let last = Chain::new(vec![
        BitMaxPool::new(Shape::MNIST, 7, 7).unwrap().into(),
        BitDense::new(16, 16).into(),
    ])
    .unwrap();
    let only = Chain::new(vec![BitMaxPool::new(Shape::MNIST, 7, 7).unwrap().into()]).unwrap();
    let meta = bitsmnist_core::io::Metadata::now();
    for &format in export::Format::ALL {
        let refuse = |m: &Chain| export::files(m, &meta, format, "m", GreyRule::above(1));
        assert_eq!(refuse(&after).unwrap_err(), ExportError::MapAfterDense(1));
        assert_eq!(refuse(&only).unwrap_err(), ExportError::MapLast(0));
        // A pool before a dense layer with bit outputs exports.
        assert!(refuse(&last).is_ok(), "{format}");
    }
}

#[test]
fn float_layers_and_bad_names_are_refused() {
    let grey = Chain::new(vec![
        Dense::new(784, 16, Activation::Relu, 1).into(),
        BitDense::new(16, 2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    assert_eq!(
        export::to_c(&grey, "m", GreyRule::above(128)).unwrap_err(),
        ExportError::FloatLayer(0)
    );
    let meta = bitsmnist_core::io::Metadata::now();
    for &format in export::Format::ALL {
        assert_eq!(
            export::files(&grey, &meta, format, "m", GreyRule::above(128)).unwrap_err(),
            ExportError::FloatLayer(0),
            "{format}"
        );
    }
    let m = Chain::mlp(784, &[8], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
    for bad in ["", "1model", "my-model", "model.h", "_", "_model", "__x"] {
        assert!(matches!(
            export::to_c(&m, bad, GreyRule::above(1)),
            Err(ExportError::Name(_))
        ));
        assert!(matches!(
            export::files(&m, &meta, export::Format::Rust, bad, GreyRule::above(1)),
            Err(ExportError::Name(_))
        ));
    }
}

#[test]
fn names_that_contain_the_templates_words_still_compile() {
    // `tournament` upper-cased contains `NAME`; `unnamed_model` contains `name`; a
    // convolution brings the feature-map code that the templates fill in.
    let mut layers = bitsmnist_core::layers::feature_layers(
        &bitsmnist_core::layers::parse_architecture("conv4x3,pool2")
            .unwrap()
            .0,
        Shape::MNIST,
    )
    .unwrap();
    let width = layers.last().unwrap().outputs();
    layers.extend(
        Chain::mlp(width, &[8], 2, BitOutput::Float(Activation::Identity), 1)
            .unwrap()
            .layers()
            .iter()
            .cloned(),
    );
    let model = Chain::new(layers).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in ["tournament", "unnamed_model", "NAME", "UPPER_x"] {
        let c = export::to_c(&model, name, GreyRule::above(128)).unwrap();
        std::fs::write(dir.path().join(format!("{name}.h")), &c.header).unwrap();
        std::fs::write(dir.path().join(format!("{name}.c")), &c.source).unwrap();
        let out = Command::new("cc")
            .args(["-std=c99", "-Wall", "-Werror", "-pedantic", "-c"])
            .arg(format!("{name}.c"))
            .current_dir(dir.path())
            .output()
            .expect("a C compiler `cc`");
        assert!(
            out.status.success(),
            "{name}: cc failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
