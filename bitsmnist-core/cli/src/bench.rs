//! `bitsmnist bench`: bit kernels against an f32 sgemm, measured in one run on this machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Result;
use bitsmnist_core::bits::{BitMatrix, CpuFeatures, Kernel, words_for};
use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::fitness::Fitness;
use bitsmnist_core::layers::{Activation, Activations, BitDense, BitOutput, Chain, Dense, Layer};
use bitsmnist_core::run::Method;
use bitsmnist_core::run::TrainOptions;
use bitsmnist_core::search::{
    Crossover, DeltaEval, Flip, Mutation, Objective, Population, PopulationParams,
};
use rayon::prelude::*;

use crate::openblas::{self, OpenBlas};

/// Arguments of `bitsmnist bench`.
#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Images pushed through each layer.
    #[arg(long, default_value_t = 10_000)]
    images: usize,
    /// Time spent on each measurement (the best repetition counts).
    #[arg(long, default_value_t = 0.4)]
    seconds: f64,
}

/// Best time of repeated runs of `f` within `budget` (at least 3 runs).
fn best_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut best = Duration::MAX;
    let mut runs = 0;
    while runs < 3 || start.elapsed() < budget {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
        runs += 1;
    }
    best
}

struct Case {
    name: String,
    macs: f64,
    bit_1: Duration,
    bit_n: Duration,
    f32_1: Duration,
    f32_n: Duration,
    /// OpenBLAS's sgemm on the same layer, on one thread and on as many as rayon has, when
    /// the system has OpenBLAS.
    blas: Option<(Duration, Duration)>,
}

impl Case {
    fn gmacs(&self, d: Duration) -> f64 {
        self.macs / d.as_secs_f64() / 1e9
    }
}

fn measure(
    name: &str,
    bits: &BitMatrix,
    outputs: usize,
    budget: Duration,
    blas: Option<&OpenBlas>,
) -> Result<Case> {
    let inputs = bits.cols();
    let chain = Chain::new(vec![BitDense::new(inputs, outputs).with_seed(1).into()])?;
    let dense = Dense::new(inputs, outputs, Activation::Identity, 1);
    let floats = Activations::Bits(bits.clone()).into_signed_floats();
    let x = floats.as_slice();
    let n = bits.rows();
    let mut out = vec![0f32; n * outputs];
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let bit_1 = one.install(|| best_time(budget, || drop(black_box(chain.forward_par(bits)))));
    let bit_n = best_time(budget, || drop(black_box(chain.forward_par(bits))));
    let f32_1 = best_time(budget, || dense.forward_into(x, &mut out));
    const ROWS: usize = 256;
    let f32_n = best_time(budget, || {
        x.par_chunks(ROWS * inputs)
            .zip(out.par_chunks_mut(ROWS * outputs))
            .for_each(|(xi, oi)| dense.forward_into(xi, oi));
    });
    let blas = blas.map(|blas| {
        let w: Vec<f32> = (0..outputs * inputs)
            .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let mut time = |threads| {
            blas.set_threads(threads);
            best_time(budget, || {
                black_box(blas.layer(x, &w, n, inputs, outputs, &mut out));
            })
        };
        let times = (time(1), time(rayon::current_num_threads()));
        // Its idle threads spin for a while after work: keep them out of later measurements.
        blas.set_threads(1);
        times
    });
    Ok(Case {
        name: name.into(),
        macs: (n * inputs * outputs) as f64,
        bit_1,
        bit_n,
        f32_1,
        f32_n,
        blas,
    })
}

/// Nanoseconds per call of `f`, averaged over as many calls as fit in `budget`.
fn ns_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut calls = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..1000 {
            f();
        }
        calls += 1000;
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

pub fn run(args: Args) -> Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        crate::errors::usage!(
            "--seconds must be a number of seconds above 0 and at most 3600, got {:?}",
            args.seconds
        );
    }
    let budget = Duration::from_secs_f64(args.seconds);
    let kernel = Kernel::detect();
    let features = CpuFeatures::detect();
    let threads = rayon::current_num_threads();
    out!(
        "kernel {} (cpu features: {}), {} threads, {} images",
        kernel.name(),
        features.names().join(" "),
        threads,
        args.images
    );
    let data = Dataset::embedded();
    let n = args.images.min(data.train.len()).max(1);
    let idx: Vec<usize> = (0..n).collect();
    let x784 = data.train.images().select_rows(&idx);
    let hidden = Chain::new(vec![BitDense::new(784, 800).with_seed(7).into()])?;
    let x800 = match hidden.forward_par(&x784) {
        Activations::Bits(b) => b,
        Activations::Floats(_) => unreachable!("bit layer"),
    };
    let blas = OpenBlas::load();
    let cases = [
        measure("784x800", &x784, 800, budget, blas.as_ref())?,
        measure("800x10", &x800, 10, budget, blas.as_ref())?,
    ];
    out!(
        "{:>8} {:>12} {:>12} {:>12} {:>12} {:>9} {:>9}",
        "layer",
        "bit 1 thr",
        "f32 1 thr",
        "bit all",
        "f32 all",
        "x (1 thr)",
        "x (all)"
    );
    for c in &cases {
        out!(
            "{:>8} {:>7.1} GMAC {:>7.1} GMAC {:>7.1} GMAC {:>7.1} GMAC {:>8.1}x {:>8.1}x",
            c.name,
            c.gmacs(c.bit_1),
            c.gmacs(c.f32_1),
            c.gmacs(c.bit_n),
            c.gmacs(c.f32_n),
            c.f32_1.as_secs_f64() / c.bit_1.as_secs_f64(),
            c.f32_n.as_secs_f64() / c.bit_n.as_secs_f64(),
        );
    }
    // The own f32 baseline is a portable sgemm: a tuned BLAS beside it, when there is one.
    match &blas {
        Some(b) => {
            for c in &cases {
                if let Some((one, all)) = c.blas {
                    out!(
                        "{:>8} OpenBLAS f32 ({}): {:.1} GMAC 1 thr, {:.1} GMAC all; bit is {:.1}x (1 thr), {:.1}x (all) faster",
                        c.name,
                        b.name,
                        c.gmacs(one),
                        c.gmacs(all),
                        one.as_secs_f64() / c.bit_1.as_secs_f64(),
                        all.as_secs_f64() / c.bit_n.as_secs_f64(),
                    );
                }
            }
        }
        None => out!(
            "OpenBLAS not found ({}): the f32 figures above are matrixmultiply's only (Debian: apt-get install libopenblas0)",
            openblas::NAMES.join(", ")
        ),
    }

    // The original's own benchmark: one input through a 640 -> 64 layer.
    let layer = BitDense::new(640, 64).with_seed(3);
    let input = BitMatrix::zeros(1, 640);
    let mut out = vec![0u64; words_for(64)];
    let single_bit = ns_per_call(budget, || {
        layer.forward_one_bits(black_box(input.row(0)), &mut out);
        black_box(&out);
    });
    let dense = Dense::new(640, 64, Activation::Identity, 3);
    let xf = vec![1f32; 640];
    let mut of = vec![0f32; 64];
    let single_f32 = ns_per_call(budget, || {
        dense.forward_into(black_box(&xf), &mut of);
        black_box(&of);
    });
    out!(
        "one input through 640x64: bit {single_bit:.0} ns, f32 {single_f32:.0} ns ({:.1}x); TinyML.jl: 842 ns vs 9,660 ns",
        single_f32 / single_bit
    );
    let flips = flip_candidates(&data, budget)?;
    out!(
        "bit-flip candidates, 784x800x10 on {} examples, 1 thread: full forward {:.0} us ({:.0}/s); incremental {}",
        flips.examples,
        flips.full_ns / 1e3,
        1e9 / flips.full_ns,
        flips
            .incremental
            .iter()
            .map(|(k, ns)| format!(
                "{k} flip{}: {:.2} us ({:.0}/s, {:.0}x)",
                if *k == 1 { "" } else { "s" },
                ns / 1e3,
                1e9 / ns,
                flips.full_ns / ns
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (full_gen, reuse_gen) = population_generation(&data, budget)?;
    out!(
        "population generation, 784x800x10, 20 candidates, neuron crossover + 16 flips, 1000 fixed examples, 1 thread: full {:.1} ms, reusing first-layer outputs {:.1} ms ({:.1}x)",
        full_gen * 1e3,
        reuse_gen * 1e3,
        full_gen / reuse_gen
    );
    let conv = conv_layer(&x784, budget)?;
    out!(
        "bit convolution {}: {:.1} GMAC 1 thread, {:.1} GMAC all threads (bit im2col on the {} kernel)",
        conv.name,
        conv.gmacs(conv.one),
        conv.gmacs(conv.all),
        kernel.name()
    );
    let big = Layer::Bit(BitDense::new(784, 800));
    let big_f32 = Layer::Float(Dense::new(784, 800, Activation::Identity, 0));
    let c = &cases[0];
    let json = serde_json::json!({
        "kernel": kernel.name(),
        "cpu_features": features.names(),
        "threads": threads,
        "images": n,
        "bit_gmacs": c.gmacs(c.bit_1),
        "f32_gmacs": c.gmacs(c.f32_1),
        "f32_gflops": 2.0 * c.gmacs(c.f32_1),
        "speedup_vs_f32": c.f32_1.as_secs_f64() / c.bit_1.as_secs_f64(),
        "bit_gmacs_all_threads": c.gmacs(c.bit_n),
        "f32_gmacs_all_threads": c.gmacs(c.f32_n),
        "speedup_vs_f32_all_threads": c.f32_n.as_secs_f64() / c.bit_n.as_secs_f64(),
        "openblas_gmacs": c.blas.map(|(one, _)| c.gmacs(one)),
        "openblas_gmacs_all_threads": c.blas.map(|(_, all)| c.gmacs(all)),
        "speedup_vs_openblas": c.blas.map(|(one, _)| one.as_secs_f64() / c.bit_1.as_secs_f64()),
        "speedup_vs_openblas_all_threads": c
            .blas
            .map(|(_, all)| all.as_secs_f64() / c.bit_n.as_secs_f64()),
        "bit_gmacs_800x10": cases[1].gmacs(cases[1].bit_1),
        "speedup_vs_f32_800x10": cases[1].f32_1.as_secs_f64() / cases[1].bit_1.as_secs_f64(),
        "bytes_bit": big.bytes(),
        "bytes_f32": big_f32.bytes(),
        "single_640x64_bit_ns": single_bit,
        "single_640x64_f32_ns": single_f32,
        "flip_examples": flips.examples,
        "full_eval_per_sec": 1e9 / flips.full_ns,
        "single_flip_evals_per_sec": 1e9 / flips.incremental[0].1,
        "single_flip_speedup": flips.full_ns / flips.incremental[0].1,
        "k_flip_speedups": flips
            .incremental
            .iter()
            .map(|(k, ns)| (k.to_string(), flips.full_ns / ns))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "delta_state_bytes": flips.memory,
        "population_generation_ms": full_gen * 1e3,
        "population_generation_reuse_ms": reuse_gen * 1e3,
        "population_reuse_speedup": full_gen / reuse_gen,
        "conv_layer": conv.name,
        "conv_bit_gmacs": conv.gmacs(conv.one),
        "conv_bit_gmacs_all_threads": conv.gmacs(conv.all),
    });
    crate::emit("bench", &json)
}

/// A bit convolution's timings: one thread and all threads.
struct Conv {
    name: String,
    macs: f64,
    one: Duration,
    all: Duration,
}

impl Conv {
    fn gmacs(&self, d: Duration) -> f64 {
        self.macs / d.as_secs_f64() / 1e9
    }
}

/// The second convolution of a small digit network, 14x14x16 -> 14x14x32 with 3x3 windows
/// (binary MACs: output pixels x filters x window bits), on the first convolution's outputs
/// of the benchmark images.
fn conv_layer(images: &BitMatrix, budget: Duration) -> Result<Conv> {
    use bitsmnist_core::layers::{BitConv2d, BitMaxPool, Shape};
    let first = BitConv2d::new(Shape::MNIST, 3, 1, 1, 16)?.with_seed(5);
    let pool = BitMaxPool::new(first.output_shape(), 2, 2)?;
    let maps = pool.forward(&first.forward(images));
    let conv = BitConv2d::new(pool.output_shape(), 3, 1, 1, 32)?.with_seed(6);
    let chain = Chain::new(vec![conv.clone().into()])?;
    let one = best_time(budget, || {
        black_box(conv.forward(black_box(&maps)));
    });
    let all = best_time(budget, || {
        black_box(chain.forward_par(black_box(&maps)));
    });
    Ok(Conv {
        name: conv.to_string(),
        macs: conv.macs() as f64 * maps.rows() as f64,
        one,
        all,
    })
}

struct Flips {
    examples: usize,
    /// Nanoseconds to score one candidate by a full forward pass.
    full_ns: f64,
    /// (flips per candidate, nanoseconds to score it incrementally).
    incremental: Vec<(usize, f64)>,
    memory: usize,
}

/// Scoring candidates that differ from their parent by `k` random bit flips (5% of them in the
/// output layer, as the climber draws them): a full forward pass against incremental
/// evaluation ([`DeltaEval`]), on one thread.
fn flip_candidates(data: &Dataset, budget: Duration) -> Result<Flips> {
    let examples = 1000.min(data.train.len());
    let idx: Vec<usize> = (0..examples).collect();
    let batch = data.train.select(&idx);
    let chain = model_784_800_10(11)?;
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let labels = batch.labels();
    let full = one.install(|| {
        best_time(budget, || {
            let p = chain.predict(black_box(batch.images()));
            black_box(
                p.iter()
                    .zip(labels)
                    .filter(|(a, b)| **a == usize::from(**b))
                    .count(),
            );
        })
    });
    let mut eval = DeltaEval::new(&chain, batch.images(), labels, Objective::default())?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((u128::from(state) * n as u128) >> 64) as usize
    };
    let mut draw = || {
        if next(20) == 0 {
            Flip::OutputWeight {
                class: next(10),
                input: next(800),
            }
        } else {
            Flip::HiddenWeight {
                neuron: next(800),
                input: next(784),
            }
        }
    };
    let single: Vec<Flip> = (0..4096).map(|_| draw()).collect();
    let mut i = 0;
    let one_flip = ns_per_call(budget, || {
        black_box(eval.delta(single[i % single.len()]));
        i += 1;
    });
    let mut incremental = vec![(1, one_flip)];
    for k in [4usize, 16, 64] {
        let sets: Vec<Vec<Flip>> = (0..256)
            .map(|_| {
                let mut v: Vec<Flip> = Vec::with_capacity(k);
                while v.len() < k {
                    let f = draw();
                    if !v.contains(&f) {
                        v.push(f);
                    }
                }
                v
            })
            .collect();
        let mut i = 0;
        let ns = ns_per_call(budget, || {
            black_box(eval.objective_with(&sets[i % sets.len()]));
            i += 1;
        });
        incremental.push((k, ns));
    }
    Ok(Flips {
        examples,
        full_ns: full.as_nanos() as f64,
        incremental,
        memory: eval.memory_bytes(),
    })
}

/// Seconds per generation of the population algorithm with neuron crossover and flip-k
/// mutation on fixed examples, without and with the reuse of first-layer outputs, on one
/// thread.
fn population_generation(data: &Dataset, budget: Duration) -> Result<(f64, f64)> {
    let examples = 1000.min(data.train.len());
    let idx: Vec<usize> = (0..examples).collect();
    let batch = data.train.select(&idx);
    let fitness = Fitness::accuracy(&batch);
    let chain = model_784_800_10(11)?;
    let params = PopulationParams::default()
        .population(20)
        .elitism(4)
        .crossover(Crossover::Neuron)
        .mutation(Mutation::FlipK { k: 16 })
        .seed(1);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let time = |reuse: bool| -> Result<f64> {
        one.install(|| {
            let mut set = Population::new(chain.clone(), &[0, 1], params.clone())?;
            set.set_reuse_outputs(reuse);
            // Generation 0 and one bred generation first, so that parents' outputs exist.
            set.run(&fitness, &TrainOptions::new().generations(1).quiet())?;
            let start = Instant::now();
            let mut gens = 0u64;
            while gens < 3 || start.elapsed() < budget {
                set.run(&fitness, &TrainOptions::new().generations(1).quiet())?;
                gens += 1;
            }
            Ok(start.elapsed().as_secs_f64() / gens as f64)
        })
    };
    let full = time(false)?;
    let reuse = time(true)?;
    Ok((full, reuse))
}

/// A random 784-800-10 bit network with float scores, weights from `seed` and `seed + 1`.
fn model_784_800_10(seed: u64) -> Result<Chain> {
    Ok(Chain::new(vec![
        BitDense::new(784, 800).with_seed(seed).into(),
        BitDense::new(800, 10)
            .with_seed(seed + 1)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])?)
}
