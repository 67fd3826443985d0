//! Reuse of hidden-layer outputs between generations of the population algorithm.
//!
//! When every generation is scored on the same examples (no mini-batches), a candidate's first
//! hidden layer gives the same output bits as its parent's wherever its neurons (weight row and
//! bias bit) are the parent's. Neuron crossover takes whole neurons from one parent or the
//! other, elites are unchanged, and a flip-k mutation touches at most k neurons: such a
//! child's hidden outputs are assembled from its parents' with word masks, and only the
//! neurons that match neither parent go through the kernels. The layers after the first are
//! cheap and run in full. The result is the same bits as a full forward pass (tested), so
//! fitness, runs and seeds are unchanged; only time is saved.
//!
//! The outputs are kept for the current and, while breeding, the previous population:
//! `population x examples x hidden / 8` bytes each ([`MAX_BYTES`] at most, else the trainer
//! evaluates in full). Nothing of it is saved in a model file; after loading, the first
//! generation is computed in full.

use std::sync::Arc;

use crate::bits::{BitMatrix, words_for};
use crate::fitness::Batch;
use crate::layers::{BitDense, BitOutput, Chain};

use super::Genome;

/// Largest memory the outputs of one population may take.
pub(crate) const MAX_BYTES: usize = 256 << 20;

/// Hidden outputs of one candidate: one bit matrix (examples x hidden) per chunk of the batch.
pub(crate) type Outputs = Arc<Vec<BitMatrix>>;

/// Where a candidate of the current population came from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lineage {
    /// Unknown (the first generation, or after loading).
    New,
    /// An elite: candidate `.0` of the previous population, unchanged.
    Elite(usize),
    /// A child of candidates `father` and `mother` of the previous population.
    Child { father: usize, mother: usize },
}

/// The cache (see the [module documentation](self)).
#[derive(Clone, Debug, Default)]
pub(crate) struct RowCache {
    /// Turned off by the user (for comparisons).
    pub(crate) off: bool,
    /// Which examples the outputs are for: their number and [`fingerprint`].
    key: Option<(usize, u64)>,
    /// Outputs of the current population, by candidate.
    outputs: Vec<Option<Outputs>>,
    /// The previous population and its outputs, while its children are being evaluated.
    previous: Vec<(Genome, Option<Outputs>)>,
    /// How each current candidate came about.
    lineage: Vec<Lineage>,
    /// Neurons computed by the kernels and neurons reused, over the run (for reports).
    pub(crate) computed: u64,
    pub(crate) reused: u64,
}

impl RowCache {
    /// Records a new generation: the old population (with its outputs) and each new
    /// candidate's lineage.
    ///
    /// The old population is kept (without outputs when there is nothing to reuse) until
    /// the new one is evaluated, so that an interrupted generation can be undone
    /// ([`take_previous`](Self::take_previous)).
    pub(crate) fn bred(&mut self, old: Vec<Genome>, lineage: Vec<Lineage>) {
        let mut outputs = std::mem::take(&mut self.outputs);
        if self.key.is_none() || self.off {
            outputs.clear();
            self.lineage.clear();
        } else {
            self.lineage = lineage;
        }
        self.previous = old
            .into_iter()
            .zip(outputs.into_iter().chain(std::iter::repeat(None)))
            .collect();
    }

    /// The population before the last [`bred`](Self::bred), while the new one has not been
    /// evaluated; the cache is then cleared.
    pub(crate) fn take_previous(&mut self) -> Vec<Genome> {
        let previous = std::mem::take(&mut self.previous);
        self.clear();
        previous.into_iter().map(|(g, _)| g).collect()
    }

    /// Bytes the outputs of the current population take.
    pub(crate) fn bytes(&self) -> usize {
        self.outputs
            .iter()
            .flatten()
            .map(|o| o.iter().map(BitMatrix::bytes).sum::<usize>())
            .sum()
    }

    /// Whether this chain, population and data can use the cache: the first layer is a
    /// trained bit layer with bit outputs followed by more layers, and the outputs fit.
    pub(crate) fn applies(
        &self,
        chain: &Chain,
        slot_of: &[Option<usize>],
        population: usize,
        examples: usize,
    ) -> bool {
        let first = chain.layers().first().and_then(|l| l.as_bit());
        !self.off
            && chain.layers().len() > 1
            && slot_of.first().copied().flatten().is_some()
            && first.is_some_and(|l| {
                l.output() == BitOutput::Bits
                    && population
                        .saturating_mul(examples)
                        .saturating_mul(words_for(l.outputs()) * 8)
                        <= MAX_BYTES
            })
    }

    /// Prepares for evaluating the current population on data identified by `key`; returns
    /// each candidate's lineage (everything [`Lineage::New`] when the data changed).
    pub(crate) fn begin(&mut self, key: (usize, u64), population: usize) -> Vec<Lineage> {
        if self.key != Some(key) {
            // Other examples: nothing to reuse.
            self.forget_outputs();
            self.key = Some(key);
        }
        let mut l = std::mem::take(&mut self.lineage);
        l.resize(population, Lineage::New);
        l
    }

    /// Stores the current population's outputs and drops the previous population's.
    pub(crate) fn finish(&mut self, outputs: Vec<Option<Outputs>>, computed: u64, reused: u64) {
        self.outputs = outputs;
        self.previous.clear();
        self.computed += computed;
        self.reused += reused;
    }

    /// Forgets the outputs and lineage (other examples, or an evaluation without the cache),
    /// keeping the previous population's genomes for an undo.
    pub(crate) fn forget_outputs(&mut self) {
        self.key = None;
        self.outputs.clear();
        self.lineage.clear();
        for (_, o) in &mut self.previous {
            *o = None;
        }
    }

    /// Forgets everything (the data or the population changed outside breeding).
    pub(crate) fn clear(&mut self) {
        let off = self.off;
        *self = Self {
            off,
            ..Self::default()
        };
    }

    /// The first layer's outputs of a candidate whose first layer is `layer`, on `batch`,
    /// reusing its parents' where its neurons are theirs. Returns the outputs and the numbers
    /// of neurons computed and reused.
    pub(crate) fn outputs_for(
        &self,
        layer: &BitDense,
        slot: usize,
        lineage: Lineage,
        batch: &Batch,
    ) -> (Outputs, u64, u64) {
        let h = layer.outputs() as u64;
        let parent = |i: usize| {
            self.previous
                .get(i)
                .and_then(|(g, o)| o.as_ref().map(|o| (&g[slot], o)))
                .filter(|(l, _)| l.thresholds() == layer.thresholds())
        };
        let (a, b) = match lineage {
            Lineage::Elite(i) => match parent(i) {
                Some((l, o)) if l == layer => return (Arc::clone(o), 0, h),
                p => (p, None),
            },
            Lineage::Child { father, mother } => (parent(father), parent(mother)),
            Lineage::New => (None, None),
        };
        let n = layer.outputs();
        let hw = words_for(n);
        // Neurons equal to the first parent's, else to the second's; the rest are computed.
        let mut from_a = vec![0u64; hw];
        let mut from_b = vec![0u64; hw];
        let mut fresh = Vec::new();
        for j in 0..n {
            let same = |p: Option<(&BitDense, &Outputs)>| {
                p.is_some_and(|(l, _)| {
                    l.weights().row(j) == layer.weights().row(j)
                        && l.bias_bit(j) == layer.bias_bit(j)
                })
            };
            if same(a) {
                from_a[j / 64] |= 1 << (j % 64);
            } else if same(b) {
                from_b[j / 64] |= 1 << (j % 64);
            } else {
                fresh.push(j);
            }
        }
        // Past half the neurons, masking costs more than it saves.
        if fresh.len() * 2 > n {
            let all = batch
                .chunks()
                .iter()
                .map(|x| layer.forward_bits_rows(x).into_bits())
                .collect();
            return (Arc::new(all), h, 0);
        }
        let sub = (!fresh.is_empty()).then(|| layer.neurons(&fresh));
        let out = batch
            .chunks()
            .iter()
            .enumerate()
            .map(|(k, x)| {
                let mut out = BitMatrix::zeros(x.rows(), n);
                let words = out.words_mut();
                for (src, mask) in [(a, &from_a), (b, &from_b)] {
                    let Some((_, o)) = src else { continue };
                    // Row-major, `hw` words per example: the mask applies to every row.
                    for (row, prow) in words.chunks_mut(hw).zip(o[k].as_words().chunks(hw)) {
                        for ((w, &v), &m) in row.iter_mut().zip(prow).zip(mask.iter()) {
                            *w |= v & m;
                        }
                    }
                }
                if let Some(sub) = &sub {
                    let sw = words_for(fresh.len());
                    let mut bits = vec![0u64; x.rows() * sw];
                    sub.bits_into(x.as_words(), &mut bits);
                    for (row, brow) in words.chunks_mut(hw).zip(bits.chunks(sw)) {
                        for (k, &j) in fresh.iter().enumerate() {
                            row[j / 64] |= ((brow[k / 64] >> (k % 64)) & 1) << (j % 64);
                        }
                    }
                }
                out
            })
            .collect();
        let computed = fresh.len() as u64;
        (Arc::new(out), computed, h - computed)
    }
}

/// A hash of the examples' bits, so that outputs are only reused on the very same examples.
pub(crate) fn fingerprint(data: &crate::datasets::Split) -> u64 {
    data.images()
        .as_words()
        .iter()
        .fold(0x9e37_79b9_7f4a_7c15u64, |h, &w| {
            (h ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29)
        })
}
