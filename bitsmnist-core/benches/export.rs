//! One image at a time through the exported C against the library's single-input path
//! (`Chain::predict_image`), for the shapes the project deploys: the zero-one default
//! (784-64-2), the default ten-digit run's merged ensemble (784-1602-10: two 784-800-10 climbs,
//! per-neuron thresholds), the ten-network ensemble of the Cortex-M4 figures (784-8010-10) and
//! the best gradient model's (784-2048-2048-10, per-neuron thresholds and scaled outputs, so
//! the C takes its float path). The weights, thresholds and scales are random: the time
//! depends on the shapes and the rules, not on the values. The C is compiled twice with the
//! system's `cc`: `-O2` for the generic target (as the library itself is built; the exported
//! C then picks its POPCNT copy at run time, as the library picks its kernels) and
//! `-O2 -march=native`.
//!
//! The C program times its own loop (`clock_gettime`) and criterion reads that time through
//! `iter_custom`, so both sides are criterion measurements of the same run:
//! `cargo bench -p bitsmnist-core --bench export`.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bitsmnist_core::export::{self, GreyRule};
use bitsmnist_core::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Classifies `iters` images cycling through the packed images of a file; prints the
/// nanoseconds spent and a checksum of the classes (so that the work cannot be dropped).
const DRIVER: &str = r#"
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "model.h"
int main(int argc, char **argv) {
    static uint32_t images[1000][MODEL_INPUT_WORDS];
    FILE *f = fopen(argv[1], "rb");
    long iters = atol(argv[2]), i, sum = 0;
    size_t n = fread(images, 4 * MODEL_INPUT_WORDS, 1000, f);
    struct timespec a, b;
    fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < iters; i++) sum += model_predict_bits(images[i % n], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld %ld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), sum);
    return 0;
}
"#;

fn compile(dir: &Path, model: &Chain, native: bool) -> std::path::PathBuf {
    let c = export::to_c(model, "model", GreyRule::above(128)).unwrap();
    std::fs::write(dir.join("model.h"), c.header).unwrap();
    std::fs::write(dir.join("model.c"), c.source).unwrap();
    std::fs::write(dir.join("main.c"), DRIVER).unwrap();
    let prog = dir.join(if native { "native" } else { "generic" });
    let mut cc = Command::new("cc");
    cc.args(["-std=c99", "-O2", "-ffp-contract=off"]);
    if native {
        cc.arg("-march=native");
    }
    let out = cc
        .arg("-o")
        .arg(&prog)
        .args(["main.c", "model.c"])
        .current_dir(dir)
        .output()
        .expect("a C compiler `cc`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    prog
}

const ID: BitOutput = BitOutput::Float(Activation::Identity);

/// Random thresholds around half of `n` inputs, as trained ones are.
fn thresholds(rng: &mut impl Rng, n: usize, outputs: usize) -> Vec<i64> {
    let spread = (n as f64).sqrt() as i64;
    (0..outputs)
        .map(|_| n as i64 / 2 + rng.random_range(-spread..=spread))
        .collect()
}

/// A merged climbing ensemble's shape: one hidden layer of `hidden` bits with per-neuron
/// thresholds, ten scores of the original's rule.
fn ensemble(hidden: usize, seed: u64) -> Chain {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = thresholds(&mut rng, 784, hidden);
    Chain::new(vec![
        BitDense::new(784, hidden)
            .with_seed(seed)
            .with_thresholds(t)
            .unwrap()
            .into(),
        BitDense::new(hidden, 10)
            .with_seed(seed + 1)
            .with_output(ID)
            .into(),
    ])
    .unwrap()
}

/// The best gradient model's shape and rules: two hidden layers of 2048 with per-neuron
/// thresholds, ten scaled scores.
fn gradient() -> Chain {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut layers: Vec<Layer> = Vec::new();
    let mut n = 784;
    for seed in [5, 6] {
        let t = thresholds(&mut rng, n, 2048);
        layers.push(
            BitDense::new(n, 2048)
                .with_seed(seed)
                .with_thresholds(t)
                .unwrap()
                .into(),
        );
        n = 2048;
    }
    let scale: Vec<f32> = (0..10).map(|_| rng.random_range(-1.0..1.0)).collect();
    let offset: Vec<f32> = scale.iter().map(|s| -s * 1024.0).collect();
    layers.push(
        BitDense::new(n, 10)
            .with_seed(7)
            .with_output(ID)
            .with_affine(scale, offset)
            .unwrap()
            .into(),
    );
    Chain::new(layers).unwrap()
}

fn single_image(c: &mut Criterion) {
    let data = Dataset::embedded();
    let images = data.test.images();
    let rows: Vec<&[u64]> = images
        .as_words()
        .chunks(images.words_per_row())
        .take(1000)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let packed: Vec<u8> = rows
        .iter()
        .flat_map(|r| export::words32(r, images.cols()))
        .flat_map(u32::to_le_bytes)
        .collect();
    let input = dir.path().join("images.bin");
    std::fs::write(&input, packed).unwrap();

    let models = [
        ("784-64-2", Chain::mlp(784, &[64], 2, ID, 1).unwrap()),
        ("784-1602-10", ensemble(1602, 2)),
        ("784-8010-10", ensemble(8010, 3)),
        ("784-2048-2048-10", gradient()),
    ];
    for (name, model) in models {
        let mut g = c.benchmark_group(format!("one_image_{name}"));
        g.measurement_time(Duration::from_secs(3));
        let mut i = 0;
        g.bench_function("rust_predict_image", |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                black_box(model.predict_image(black_box(rows[i]), None).unwrap())
            })
        });
        for native in [false, true] {
            let prog = compile(dir.path(), &model, native);
            let label = if native {
                "c_march_native"
            } else {
                "c_generic"
            };
            g.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    let out = Command::new(&prog)
                        .arg(&input)
                        .arg(iters.to_string())
                        .output()
                        .unwrap();
                    let text = String::from_utf8_lossy(&out.stdout);
                    let ns: u64 = text.split_whitespace().next().unwrap().parse().unwrap();
                    Duration::from_nanos(ns)
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, single_image);
criterion_main!(benches);
