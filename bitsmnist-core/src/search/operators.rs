//! Selection, crossover and mutation on genomes (the trainable bit layers of one candidate).
//!
//! Every operator takes its randomness from the RNG it is given, so that the trainer can derive
//! one RNG per (seed, generation, slot) and stay reproducible whatever the thread count.

use rand::Rng;

use super::params::{Crossover, Mutation, Selection};
use crate::layers::BitDense;

/// The trainable layers of one candidate, in the order of
/// [`Population::trainable_layers`](super::Population::trainable_layers).
pub type Genome = Vec<BitDense>;

/// Random streams (the second input of [`derive_rng`]).
pub(crate) const STREAM_INIT: u64 = 1;
pub(crate) const STREAM_BREED: u64 = 2;
pub(crate) const STREAM_BATCH: u64 = 3;

pub(crate) use crate::util::{derive_rng, splitmix64};

/// Picks one parent (an index into the population).
///
/// `order` ranks the population by fitness, best first; `fitness` is indexed by population.
pub(crate) fn select<R: Rng + ?Sized>(
    selection: Selection,
    order: &[usize],
    fitness: &[f64],
    elitism: usize,
    rng: &mut R,
) -> usize {
    match selection {
        Selection::Elite => order[rng.random_range(0..elitism.clamp(1, order.len()))],
        Selection::Tournament { size } => {
            let n = fitness.len();
            let mut best = rng.random_range(0..n);
            for _ in 1..size {
                let c = rng.random_range(0..n);
                if rank_key(fitness[c]) > rank_key(fitness[best]) {
                    best = c;
                }
            }
            best
        }
    }
}

/// Fitness for ranking: NaN counts as the worst.
pub(crate) fn rank_key(f: f64) -> f64 {
    if f.is_nan() { f64::NEG_INFINITY } else { f }
}

/// A child of `father` and `mother` (layer shapes must match).
pub(crate) fn crossover<R: Rng + ?Sized>(
    crossover: Crossover,
    father: &[BitDense],
    mother: &[BitDense],
    rng: &mut R,
) -> Genome {
    father
        .iter()
        .zip(mother)
        .map(|(f, m)| crossover_layer(crossover, f, m, rng))
        .collect()
}

fn crossover_layer<R: Rng + ?Sized>(
    crossover: Crossover,
    father: &BitDense,
    mother: &BitDense,
    rng: &mut R,
) -> BitDense {
    match crossover {
        Crossover::None => father.clone(),
        Crossover::Split { divisor } => {
            let mut child = mother.clone();
            let (w, b) = child.params_mut();
            let k = w.words_per_row() / divisor.max(1);
            if k > 0 {
                for i in 0..w.rows() {
                    w.row_mut(i)[..k].copy_from_slice(&father.weights().row(i)[..k]);
                }
            }
            *b = father.bias().clone();
            child
        }
        Crossover::Uniform => {
            let mut child = father.clone();
            let (w, b) = child.params_mut();
            for (c, m) in w
                .words_mut()
                .iter_mut()
                .zip(mother.weights().as_words())
                .chain(b.words_mut().iter_mut().zip(mother.bias().as_words()))
            {
                let mask: u64 = rng.next_u64();
                // Padding is zero in both parents, so it stays zero.
                *c = (*c & mask) | (m & !mask);
            }
            child
        }
        Crossover::Neuron => {
            let mut child = father.clone();
            let (w, b) = child.params_mut();
            for j in 0..w.rows() {
                if rng.random::<bool>() {
                    w.row_mut(j).copy_from_slice(mother.weights().row(j));
                    b.set(0, j, mother.bias().get(0, j));
                }
            }
            child
        }
    }
}

/// Number of trainable bits (weights and biases) of a genome.
pub(crate) fn genome_bits(genome: &[BitDense]) -> usize {
    genome.iter().map(BitDense::parameters).sum()
}

/// The distinct bit positions a mutation flips, ascending, in the genome's bit numbering: per
/// layer, the weights row by row, then the bias bits.
pub(crate) fn mutation_positions<R: Rng + ?Sized>(
    mutation: Mutation,
    scale: f64,
    total: usize,
    rng: &mut R,
) -> Vec<usize> {
    match mutation {
        Mutation::Replace { rate } => {
            geometric_positions(total, (rate * scale).min(1.0) / 2.0, rng)
        }
        Mutation::Flip { rate } => geometric_positions(total, (rate * scale).min(1.0), rng),
        Mutation::FlipK { k } => {
            let k = effective_k(k, scale).min(total);
            let mut v = rand::seq::index::sample(rng, total, k).into_vec();
            v.sort_unstable();
            v
        }
    }
}

/// `max(1, round(k * scale))`.
pub(crate) fn effective_k(k: usize, scale: f64) -> usize {
    let x = (k as f64 * scale).round();
    if x.is_nan() || x < 1.0 {
        1
    } else if x >= usize::MAX as f64 {
        usize::MAX
    } else {
        x as usize
    }
}

/// Each of `total` positions independently with probability `p`, by geometric skips (cost
/// proportional to the number chosen, not to `total`).
pub(crate) fn geometric_positions<R: Rng + ?Sized>(
    total: usize,
    p: f64,
    rng: &mut R,
) -> Vec<usize> {
    if p.is_nan() || p <= 0.0 || total == 0 {
        return Vec::new();
    }
    if p >= 1.0 {
        return (0..total).collect();
    }
    let ln_q = (-p).ln_1p();
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < total {
        let u = 1.0 - rng.random::<f64>(); // (0, 1]
        let gap = (u.ln() / ln_q).floor();
        // Also stops on NaN or infinity.
        if gap.is_nan() || gap >= (total - pos) as f64 {
            break;
        }
        pos += gap as usize;
        out.push(pos);
        pos += 1;
    }
    out
}

/// Flips the bits at `positions` (ascending, in the numbering of [`mutation_positions`]).
pub(crate) fn apply_flips(genome: &mut [BitDense], positions: &[usize]) {
    let mut p = positions.iter().copied().peekable();
    let mut base = 0usize;
    for layer in genome.iter_mut() {
        let (rows, cols) = (layer.outputs(), layer.inputs());
        let end = base + rows * cols + rows;
        if p.peek().is_some_and(|&x| x < end) {
            let (w, b) = layer.params_mut();
            while let Some(&x) = p.peek() {
                if x >= end {
                    break;
                }
                let off = x - base;
                if off < rows * cols {
                    w.flip(off / cols, off % cols);
                } else {
                    b.flip(0, off - rows * cols);
                }
                p.next();
            }
        }
        base = end;
    }
}

/// Mutates a genome; returns the number of bits flipped.
pub(crate) fn mutate<R: Rng + ?Sized>(
    mutation: Mutation,
    scale: f64,
    genome: &mut [BitDense],
    rng: &mut R,
) -> usize {
    let positions = mutation_positions(mutation, scale, genome_bits(genome), rng);
    apply_flips(genome, &positions);
    positions.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::BitMatrix;
    use rand::RngCore;

    fn layer(inputs: usize, outputs: usize, seed: u64) -> BitDense {
        BitDense::new(inputs, outputs).with_seed(seed)
    }

    fn diff_bits(a: &[BitDense], b: &[BitDense]) -> u64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                let w: u64 = x
                    .weights()
                    .as_words()
                    .iter()
                    .zip(y.weights().as_words())
                    .map(|(p, q)| u64::from((p ^ q).count_ones()))
                    .sum();
                let bb: u64 = x
                    .bias()
                    .as_words()
                    .iter()
                    .zip(y.bias().as_words())
                    .map(|(p, q)| u64::from((p ^ q).count_ones()))
                    .sum();
                w + bb
            })
            .sum()
    }

    fn padding_is_zero(m: &BitMatrix) -> bool {
        m.validate().is_ok()
    }

    #[test]
    fn split_crossover_takes_first_words_from_father_rest_and_bias_from_mother_father() {
        // 200 inputs = 4 words per neuron; divisor 2 gives 2 words from the father.
        let f = vec![layer(200, 5, 1), layer(5, 3, 2)];
        let m = vec![layer(200, 5, 3), layer(5, 3, 4)];
        let mut rng = derive_rng(0, 0, 0, 0);
        for divisor in [1, 2, 3, 4, 5] {
            let c = crossover(Crossover::Split { divisor }, &f, &m, &mut rng);
            for l in 0..2 {
                let wpr = f[l].weights().words_per_row();
                let k = wpr / divisor;
                for i in 0..f[l].outputs() {
                    let row = c[l].weights().row(i);
                    assert_eq!(&row[..k], &f[l].weights().row(i)[..k]);
                    assert_eq!(&row[k..], &m[l].weights().row(i)[k..]);
                }
                assert_eq!(c[l].bias(), f[l].bias());
            }
        }
    }

    #[test]
    fn uniform_crossover_takes_each_bit_from_a_parent_about_half_each() {
        let f = vec![layer(300, 40, 1)];
        let m = vec![layer(300, 40, 2)];
        let c = crossover(Crossover::Uniform, &f, &m, &mut derive_rng(1, 0, 0, 0));
        let (mut from_f, mut from_m) = (0, 0);
        for i in 0..40 {
            for j in 0..300 {
                let (x, a, b) = (
                    c[0].weights().get(i, j),
                    f[0].weights().get(i, j),
                    m[0].weights().get(i, j),
                );
                assert!(x == a || x == b);
                if a != b {
                    if x == a { from_f += 1 } else { from_m += 1 }
                }
            }
        }
        let share = from_f as f64 / (from_f + from_m) as f64;
        assert!((0.45..0.55).contains(&share), "{share}");
        assert!(padding_is_zero(c[0].weights()) && padding_is_zero(c[0].bias()));
    }

    #[test]
    fn neuron_crossover_copies_whole_neurons() {
        let f = vec![layer(100, 64, 1)];
        let m = vec![layer(100, 64, 2)];
        let c = crossover(Crossover::Neuron, &f, &m, &mut derive_rng(2, 0, 0, 0));
        let mut from_m = 0;
        for j in 0..64 {
            let row = c[0].weights().row(j);
            let bit = c[0].bias().get(0, j);
            if row == f[0].weights().row(j) && bit == f[0].bias().get(0, j) {
                continue;
            }
            assert_eq!(row, m[0].weights().row(j));
            assert_eq!(bit, m[0].bias().get(0, j));
            from_m += 1;
        }
        assert!((16..48).contains(&from_m), "{from_m}");
        assert_eq!(
            crossover(Crossover::None, &f, &m, &mut derive_rng(0, 0, 0, 0)),
            f
        );
    }

    #[test]
    fn flip_k_flips_exactly_k_bits_and_keeps_padding_zero() {
        let g = vec![layer(70, 9, 1), layer(9, 2, 2)];
        let total = genome_bits(&g);
        assert_eq!(total, 70 * 9 + 9 + 9 * 2 + 2);
        for k in [1, 2, 17, 100, total, total + 5] {
            let mut c = g.clone();
            let n = mutate(
                Mutation::FlipK { k },
                1.0,
                &mut c,
                &mut derive_rng(k as u64, 0, 0, 0),
            );
            assert_eq!(n, k.min(total));
            assert_eq!(diff_bits(&g, &c), k.min(total) as u64);
            for l in &c {
                assert!(padding_is_zero(l.weights()) && padding_is_zero(l.bias()));
            }
        }
        // The scale multiplies k, at least one bit.
        let mut c = g.clone();
        mutate(
            Mutation::FlipK { k: 10 },
            0.5,
            &mut c,
            &mut derive_rng(0, 0, 0, 0),
        );
        assert_eq!(diff_bits(&g, &c), 5);
        assert_eq!(effective_k(10, 0.01), 1);
    }

    #[test]
    fn rate_mutations_flip_the_expected_share() {
        let g = vec![layer(784, 64, 1)];
        let total = genome_bits(&g) as f64;
        for (m, want) in [
            (Mutation::Flip { rate: 0.1 }, 0.1),
            (Mutation::Replace { rate: 0.1 }, 0.05),
            (Mutation::Flip { rate: 0.001 }, 0.001),
        ] {
            let mut c = g.clone();
            mutate(m, 1.0, &mut c, &mut derive_rng(9, 0, 0, 0));
            let got = diff_bits(&g, &c) as f64 / total;
            assert!((got - want).abs() < want * 0.1 + 1e-4, "{m:?}: {got}");
            assert!(padding_is_zero(c[0].weights()));
        }
        let mut c = g.clone();
        assert_eq!(
            mutate(
                Mutation::Flip { rate: 0.0 },
                1.0,
                &mut c,
                &mut derive_rng(0, 0, 0, 0)
            ),
            0
        );
        assert_eq!(
            mutate(
                Mutation::Flip { rate: 1.0 },
                1.0,
                &mut c,
                &mut derive_rng(0, 0, 0, 0)
            ),
            total as usize
        );
        assert_eq!(diff_bits(&g, &c), total as u64);
    }

    #[test]
    fn elite_selection_only_picks_the_elite_uniformly() {
        let fitness: Vec<f64> = (0..20).map(f64::from).collect();
        let order: Vec<usize> = (0..20).rev().collect();
        let mut counts = [0usize; 20];
        let mut rng = derive_rng(3, 0, 0, 0);
        for _ in 0..4000 {
            counts[select(Selection::Elite, &order, &fitness, 4, &mut rng)] += 1;
        }
        assert!(counts[..16].iter().all(|&c| c == 0));
        assert!(
            counts[16..].iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn tournament_picks_the_best_more_often() {
        let fitness: Vec<f64> = (0..10).map(f64::from).collect();
        let order: Vec<usize> = (0..10).rev().collect();
        let mut rng = derive_rng(4, 0, 0, 0);
        let mut counts = [0usize; 10];
        for _ in 0..10_000 {
            counts[select(
                Selection::Tournament { size: 3 },
                &order,
                &fitness,
                0,
                &mut rng,
            )] += 1;
        }
        // P(pick i) = ((i+1)^3 - i^3) / 1000: increasing with fitness.
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
        // Size 1 is uniform.
        let mut counts = [0usize; 10];
        for _ in 0..10_000 {
            counts[select(
                Selection::Tournament { size: 1 },
                &order,
                &fitness,
                0,
                &mut rng,
            )] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
        // NaN fitness loses.
        let f = [f64::NAN, 0.0];
        for _ in 0..100 {
            let s = select(Selection::Tournament { size: 2 }, &[1, 0], &f, 0, &mut rng);
            let _ = s; // either may be drawn twice; when both drawn, 1 wins
        }
        assert!(rank_key(f64::NAN) < rank_key(-1e300));
    }

    #[test]
    fn derived_rngs_differ_by_every_input() {
        let a = derive_rng(1, 2, 3, 4).next_u64();
        assert_eq!(a, derive_rng(1, 2, 3, 4).next_u64());
        for b in [
            derive_rng(0, 2, 3, 4),
            derive_rng(1, 0, 3, 4),
            derive_rng(1, 2, 0, 4),
            derive_rng(1, 2, 3, 0),
        ] {
            assert_ne!(a, b.clone().next_u64());
        }
    }
}
