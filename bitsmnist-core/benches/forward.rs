//! Forward of 784x800 and 800x10 layers over the embedded images: every bit kernel, the whole
//! bit layer, and an f32 layer done with a real sgemm (`matrixmultiply`), on one thread and on
//! all threads. Throughput is reported in multiply-accumulates per second (criterion's
//! "elements").

use std::hint::black_box;

use bitsmnist_core::bits::{BitMatrix, Interleaved, Kernel};
use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::layers::{Activation, Activations, BitDense, BitOutput, Chain, Dense};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

fn images(n: usize) -> BitMatrix {
    let d = Dataset::embedded();
    d.train.images().select_rows(&(0..n).collect::<Vec<_>>())
}

fn kernels(c: &mut Criterion) {
    let x = images(1000);
    let w = BitDense::new(784, 800).with_seed(1);
    let il = Interleaved::new(w.weights());
    let mut out = vec![0u32; x.rows() * 800];
    let mut g = c.benchmark_group("kernel_784x800_1000_images");
    g.throughput(Throughput::Elements((x.rows() * 784 * 800) as u64));
    for k in Kernel::supported() {
        g.bench_function(k.name(), |b| {
            b.iter(|| k.distances(black_box(x.as_words()), &il, &mut out))
        });
    }
    g.finish();
}

fn layers(c: &mut Criterion) {
    let x784 = images(10_000);
    let hidden = Chain::new(vec![BitDense::new(784, 800).with_seed(7).into()]).unwrap();
    let x800 = hidden.forward_par(&x784).into_bits();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for (name, x, outputs) in [("784x800", &x784, 800), ("800x10", &x800, 10)] {
        let inputs = x.cols();
        let chain = Chain::new(vec![BitDense::new(inputs, outputs).with_seed(1).into()]).unwrap();
        let dense = Dense::new(inputs, outputs, Activation::Identity, 1);
        let xf = Activations::Bits(x.clone()).into_signed_floats();
        let mut out = vec![0f32; x.rows() * outputs];
        let mut g = c.benchmark_group(format!("layer_{name}_10000_images"));
        g.sample_size(10);
        g.throughput(Throughput::Elements((x.rows() * inputs * outputs) as u64));
        g.bench_function("bit_1_thread", |b| {
            one.install(|| b.iter(|| black_box(chain.forward_par(x))))
        });
        g.bench_function("bit_all_threads", |b| {
            b.iter(|| black_box(chain.forward_par(x)))
        });
        g.bench_function("f32_sgemm_1_thread", |b| {
            b.iter(|| dense.forward_into(black_box(xf.as_slice()), &mut out))
        });
        g.bench_function("f32_sgemm_all_threads", |b| {
            b.iter(|| {
                xf.as_slice()
                    .par_chunks(256 * inputs)
                    .zip(out.par_chunks_mut(256 * outputs))
                    .for_each(|(xi, oi)| dense.forward_into(xi, oi))
            })
        });
        g.finish();
    }
}

fn single(c: &mut Criterion) {
    // The original's benchmark: one input through BitDense(640, 64) (842 ns in TinyML.jl).
    let layer = BitDense::new(640, 64).with_seed(3);
    let x = BitMatrix::zeros(1, 640);
    let mut out = vec![0u64; 1];
    c.bench_function("single_input_bitdense_640x64", |b| {
        b.iter(|| layer.forward_one_bits(black_box(x.row(0)), &mut out))
    });
    let dense = Dense::new(640, 64, Activation::Identity, 3);
    let xf = vec![1f32; 640];
    let mut of = vec![0f32; 64];
    c.bench_function("single_input_dense_f32_640x64", |b| {
        b.iter(|| dense.forward_into(black_box(&xf), &mut of))
    });
}

/// Scoring a candidate one bit flip away from its parent on 1,000 examples: a full forward pass
/// of the 784-800-10 model against incremental evaluation.
fn flips(c: &mut Criterion) {
    use bitsmnist_core::search::{DeltaEval, Flip, Objective};
    let data = Dataset::embedded();
    let batch = data.train.select(&(0..1000).collect::<Vec<_>>());
    let chain = model_784_800_10(11);
    let mut g = c.benchmark_group("flip_candidate_784x800x10_1000_examples");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("full_forward", |b| {
        b.iter(|| pool.install(|| black_box(chain.predict(batch.images()))))
    });
    let eval =
        DeltaEval::new(&chain, batch.images(), batch.labels(), Objective::default()).unwrap();
    let mut t = 0usize;
    g.bench_function("incremental_hidden_flip", |b| {
        b.iter(|| {
            t = t.wrapping_add(7919);
            black_box(eval.delta(Flip::HiddenWeight {
                neuron: t % 800,
                input: (t / 800) % 784,
            }))
        })
    });
    g.bench_function("incremental_output_flip", |b| {
        b.iter(|| {
            t = t.wrapping_add(7919);
            black_box(eval.delta(Flip::OutputWeight {
                class: t % 10,
                input: (t / 10) % 800,
            }))
        })
    });
    g.finish();
}

/// A random 784-800-10 bit network with float scores, weights from `seed` and `seed + 1`.
fn model_784_800_10(seed: u64) -> Chain {
    Chain::new(vec![
        BitDense::new(784, 800).with_seed(seed).into(),
        BitDense::new(800, 10)
            .with_seed(seed + 1)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap()
}

criterion_group!(benches, kernels, layers, single, flips);
criterion_main!(benches);
