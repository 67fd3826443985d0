//! One image at a time through the exported C against the library's single-input path
//! (`Chain::predict_image`), for the shapes the project deploys: the zero-one default
//! (784-64-2), a wide one-hidden-layer model (784-1280-10, the size of a merged ten-network
//! ensemble) and the best gradient model's (784-2048-2048-10, per-neuron thresholds and scaled
//! outputs). The C is compiled twice with the system's `cc`: `-O2` for the generic target
//! (as the library itself is built: no popcount instruction) and `-O2 -march=native`.
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

    let id = BitOutput::Float(Activation::Identity);
    let models = [
        ("784-64-2", Chain::mlp(784, &[64], 2, id, 1).unwrap()),
        ("784-1280-10", Chain::mlp(784, &[1280], 10, id, 2).unwrap()),
        (
            "784-2048-2048-10",
            Chain::mlp(784, &[2048, 2048], 10, id, 3).unwrap(),
        ),
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
