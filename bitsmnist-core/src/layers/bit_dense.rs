//! The fully connected bit layer ([`BitDense`]) and what it emits ([`BitOutput`]).

use std::fmt;
use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Activation, Activations, Floats};
use crate::bits::{BitMatrix, Interleaved, Kernel, words_for};

/// What a [`BitDense`] layer emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BitOutput {
    /// One bit per neuron: the sign of the ±1 dot product plus bias (1 means negative; a tie
    /// gives 0).
    Bits,
    /// `activation(1 - (d + b) / n)` as `f32`, where `d` is the Hamming distance between input
    /// and weights, `b` the bias bit and `n` the input width.
    Float(Activation),
}

/// A fully connected layer with 1-bit weights, 1-bit bias and 1-bit inputs.
///
/// Bit 0 stands for +1 and bit 1 for -1, so the ±1 dot product of input `x` with weight row `w`
/// is `n - 2 * popcount(x XOR w)`. The output rule is exactly the original TinyML one (see
/// [`BitOutput`]).
///
/// ```
/// use bitsmnist_core::layers::{BitDense, BitOutput, Activation};
/// let layer = BitDense::new(784, 800).with_seed(1);
/// assert_eq!(layer.to_string(), "BitDense(784, 800)");
/// let out = BitDense::new(800, 2).with_output(BitOutput::Float(Activation::Sigmoid));
/// assert_eq!(out.to_string(), "BitDense(800, 2, σ=sigmoid)");
/// ```
/// Layers exported by gradient training ([`crate::gradient`]) replace the original fixed rules
/// with per-neuron parameters folded from batch normalisation, so that inference stays XOR +
/// popcount + compare: integer thresholds ([`BitDense::with_thresholds`]) for bit outputs, and
/// a scale and offset ([`BitDense::with_affine`]) for float outputs.
///
/// Serialized (model-file format 2 and later) as weights, bias, output, thresholds and
/// scales, in that order; `io::legacy` reads the version-1 layout.
#[derive(Clone, Serialize, Deserialize)]
pub struct BitDense {
    weights: BitMatrix,
    bias: BitMatrix,
    output: BitOutput,
    /// Per-neuron thresholds `t_j` of the bit rule `d + b_j > t_j`; `None`: `(n + 1) / 2`.
    thresholds: Option<Vec<i64>>,
    /// Per-neuron `(scale, offset)` of the float rule `σ(scale (d + b_j) + offset)`; `None`:
    /// `σ(1 - (d + b_j) / n)`.
    affine: Option<Vec<(f32, f32)>>,
    /// The weights re-laid for the block kernels, built on first use and dropped on any edit.
    #[serde(skip)]
    packed: OnceLock<Arc<Packed>>,
}

/// A [`BitDense`] prepared for the kernels: weights interleaved, bit-rule thresholds (bias
/// included).
#[derive(Debug)]
struct Packed {
    weights: Interleaved,
    /// Neuron `j` fires when `d > thresholds[j] = t_j - b_j` ([`BitDense::threshold`]).
    thresholds: Vec<i64>,
}

impl PartialEq for BitDense {
    fn eq(&self, other: &Self) -> bool {
        self.weights == other.weights
            && self.bias == other.bias
            && self.output == other.output
            && self.thresholds == other.thresholds
            && self.affine == other.affine
    }
}

impl BitDense {
    /// A layer from `inputs` bits to `outputs` bits, weights and bias all zero. Chain
    /// [`BitDense::with_seed`] for random bits and [`BitDense::with_output`] for float outputs.
    pub fn new(inputs: usize, outputs: usize) -> Self {
        Self {
            weights: BitMatrix::zeros(outputs, inputs),
            bias: BitMatrix::zeros(1, outputs),
            output: BitOutput::Bits,
            thresholds: None,
            affine: None,
            packed: OnceLock::new(),
        }
    }

    /// Builds a layer from its parts; `None` if the bias width differs from the weight rows or
    /// the bias matrix has more than one row.
    pub fn from_parts(weights: BitMatrix, bias: BitMatrix, output: BitOutput) -> Option<Self> {
        (bias.rows() == 1 && bias.cols() == weights.rows()).then(|| Self {
            weights,
            bias,
            output,
            thresholds: None,
            affine: None,
            packed: OnceLock::new(),
        })
    }

    /// A layer from every stored field, unchecked (a decoded model file is checked after
    /// decoding, see [`crate::io::ModelFile::from_bytes`]).
    pub(crate) fn from_raw(
        weights: BitMatrix,
        bias: BitMatrix,
        output: BitOutput,
        thresholds: Option<Vec<i64>>,
        affine: Option<Vec<(f32, f32)>>,
    ) -> Self {
        Self {
            weights,
            bias,
            output,
            thresholds,
            affine,
            packed: OnceLock::new(),
        }
    }

    /// Replaces the bit rule's fixed threshold with one per neuron: neuron `j` fires a 1-bit
    /// when `d + b_j > thresholds[j]` (the original rule is `thresholds[j] = (n + 1) / 2`).
    /// `None` if there is not exactly one threshold per neuron.
    ///
    /// ```
    /// use bitsmnist_core::layers::BitDense;
    /// let l = BitDense::new(10, 2).with_thresholds(vec![3, -1]).unwrap();
    /// assert!(l.bit_rule(0, 4) && !l.bit_rule(0, 3)); // d = 4 > 3; d = 3 is not
    /// assert!(l.bit_rule(1, 0)); // a threshold of -1 always fires
    /// ```
    pub fn with_thresholds(mut self, thresholds: Vec<i64>) -> Option<Self> {
        (thresholds.len() == self.outputs()).then(|| {
            self.thresholds = Some(thresholds);
            self.packed = OnceLock::new();
            self
        })
    }

    /// Replaces the float rule with a per-neuron scale and offset: neuron `j` outputs
    /// `σ(scale[j] (d + b_j) + offset[j])`. `None` unless both have one value per neuron.
    ///
    /// ```
    /// use bitsmnist_core::layers::{Activation, BitDense};
    /// let l = BitDense::new(10, 1).with_affine(vec![-0.5], vec![2.0]).unwrap();
    /// assert_eq!(l.float_rule(0, 6, Activation::Identity), -1.0);
    /// ```
    pub fn with_affine(mut self, scale: Vec<f32>, offset: Vec<f32>) -> Option<Self> {
        (scale.len() == self.outputs() && offset.len() == self.outputs()).then(|| {
            self.affine = Some(scale.into_iter().zip(offset).collect());
            self
        })
    }

    /// The per-neuron thresholds of the bit rule, if set ([`BitDense::with_thresholds`]).
    pub fn thresholds(&self) -> Option<&[i64]> {
        self.thresholds.as_deref()
    }

    /// The per-neuron `(scale, offset)` of the float rule, if set ([`BitDense::with_affine`]).
    pub fn affine(&self) -> Option<&[(f32, f32)]> {
        self.affine.as_deref()
    }

    /// Threshold of neuron `j`'s bit rule `d + b_j > t_j`, per neuron or the original
    /// `(n + 1) / 2`.
    #[inline]
    pub fn threshold(&self, j: usize) -> i64 {
        match &self.thresholds {
            Some(t) => t[j],
            None => (self.inputs() as i64 + 1) / 2,
        }
    }

    /// Fills weights and bias with uniform random bits from `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.randomize(&mut ChaCha8Rng::seed_from_u64(seed));
        self
    }

    /// Sets the output kind.
    pub fn with_output(mut self, output: BitOutput) -> Self {
        self.output = output;
        self
    }

    /// Fills weights and bias with uniform random bits.
    pub fn randomize<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.weights.randomize(rng);
        self.bias.randomize(rng);
        self.packed = OnceLock::new();
    }

    /// Input width in bits.
    pub fn inputs(&self) -> usize {
        self.weights.cols()
    }

    /// Number of neurons.
    pub fn outputs(&self) -> usize {
        self.weights.rows()
    }

    /// Output kind.
    pub fn output(&self) -> BitOutput {
        self.output
    }

    /// The weights: one row of `inputs()` bits per neuron.
    pub fn weights(&self) -> &BitMatrix {
        &self.weights
    }

    /// The bias bits (one row of `outputs()` bits).
    pub fn bias(&self) -> &BitMatrix {
        &self.bias
    }

    /// Mutable weights and bias; drops the kernel layout cache.
    pub fn params_mut(&mut self) -> (&mut BitMatrix, &mut BitMatrix) {
        self.packed = OnceLock::new();
        (&mut self.weights, &mut self.bias)
    }

    /// Bias bit of neuron `j` as 0 or 1.
    #[inline]
    pub fn bias_bit(&self, j: usize) -> u32 {
        ((self.bias.as_words()[j / 64] >> (j % 64)) & 1) as u32
    }

    /// Number of parameters (weights + biases).
    pub fn parameters(&self) -> usize {
        self.inputs() * self.outputs() + self.outputs()
    }

    /// Bytes of the packed weights and bias, and of the per-neuron thresholds or scales if set.
    pub fn bytes(&self) -> usize {
        self.weights.bytes()
            + self.bias.bytes()
            + self.thresholds.as_ref().map_or(0, |t| t.len() * 8)
            + self.affine.as_ref().map_or(0, |a| a.len() * 8)
    }

    /// Checks the invariants of a deserialized layer.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.weights.validate()?;
        self.bias.validate()?;
        if self.weights.rows() == 0 || self.weights.cols() == 0 {
            return Err(format!(
                "{self}: a layer needs at least one input and one output"
            ));
        }
        if self.bias.rows() != 1 || self.bias.cols() != self.weights.rows() {
            return Err(format!(
                "{self}: bias is {} x {} bits, expected 1 x {}",
                self.bias.rows(),
                self.bias.cols(),
                self.weights.rows()
            ));
        }
        if self
            .thresholds
            .as_ref()
            .is_some_and(|t| t.len() != self.outputs())
        {
            return Err(format!("{self}: thresholds do not match the neuron count"));
        }
        if self
            .affine
            .as_ref()
            .is_some_and(|a| a.len() != self.outputs())
        {
            return Err(format!("{self}: scales do not match the neuron count"));
        }
        Ok(())
    }

    fn packed(&self) -> &Packed {
        self.packed.get_or_init(|| {
            Arc::new(Packed {
                weights: Interleaved::new(&self.weights),
                thresholds: (0..self.outputs())
                    .map(|j| self.threshold(j) - i64::from(self.bias_bit(j)))
                    .collect(),
            })
        })
    }

    /// The weights in the kernels' interleaved layout (built once, until the next edit).
    pub fn interleaved(&self) -> &Interleaved {
        &self.packed().weights
    }

    /// Bit outputs of the packed input rows `x` into `out` (`words_for(outputs())` words per
    /// row), with the comparison fused into the kernel.
    pub fn bits_into(&self, x: &[u64], out: &mut [u64]) {
        self.bits_into_with(Kernel::detect(), x, out);
    }

    /// [`bits_into`](Self::bits_into) on a given kernel (for tests and benchmarks that compare
    /// kernels).
    ///
    /// # Panics
    /// When the shapes disagree, or when `kernel` is not supported by this CPU.
    pub fn bits_into_with(&self, kernel: Kernel, x: &[u64], out: &mut [u64]) {
        let p = self.packed();
        kernel.threshold_bits(x, &p.weights, &p.thresholds, out);
    }

    /// Whether neuron `j` fires a 1-bit for Hamming distance `d`: `d + b > t_j` (the original
    /// rule `2 (d + b) > n + 1` unless per-neuron thresholds are set).
    #[inline]
    pub fn bit_rule(&self, j: usize, d: u32) -> bool {
        i64::from(d) + i64::from(self.bias_bit(j)) > self.threshold(j)
    }

    /// Float output of neuron `j` for Hamming distance `d`: `σ(1 - (d + b) / n)`, or
    /// `σ(scale (d + b) + offset)` with per-neuron scales.
    #[inline]
    pub fn float_rule(&self, j: usize, d: u32, activation: Activation) -> f32 {
        let db = (d + self.bias_bit(j)) as f32;
        match &self.affine {
            Some(a) => activation.apply(a[j].0 * db + a[j].1),
            None => activation.apply(1.0 - db / self.inputs() as f32),
        }
    }

    /// Hamming distances from each input row (packed, `words_for(inputs())` words each) to each
    /// neuron's weights, into `out` (`rows * outputs()` values).
    pub fn distances_into(&self, x: &[u64], out: &mut [u32]) {
        Kernel::detect().distances(x, &self.packed().weights, out);
    }

    /// Bit output of one packed input into `out` (`words_for(outputs())` words): the
    /// allocation-free path for single examples. Applies the bit rule whatever
    /// [`BitDense::output`] says.
    pub fn forward_one_bits(&self, x: &[u64], out: &mut [u64]) {
        assert_eq!(x.len(), words_for(self.inputs()), "BitDense: input words");
        self.bits_into(x, out);
    }

    /// The layer restricted to the neurons `idx` (in that order) with bit outputs: their
    /// rows, bias bits and thresholds. The genetic trainer recomputes only these when a
    /// candidate shares its other neurons with a parent.
    pub(crate) fn neurons(&self, idx: &[usize]) -> BitDense {
        let mut bias = BitMatrix::zeros(1, idx.len());
        for (k, &j) in idx.iter().enumerate() {
            bias.set(0, k, self.bias_bit(j) == 1);
        }
        BitDense {
            weights: self.weights.select_rows(idx),
            bias,
            output: BitOutput::Bits,
            thresholds: self
                .thresholds
                .as_ref()
                .map(|t| idx.iter().map(|&j| t[j]).collect()),
            affine: None,
            packed: OnceLock::new(),
        }
    }

    pub(crate) fn forward_bits_rows(&self, x: &BitMatrix) -> Activations {
        assert_eq!(x.cols(), self.inputs(), "BitDense: input width");
        let rows = x.rows();
        let m = self.outputs();
        match self.output {
            BitOutput::Bits => {
                let mut out = BitMatrix::zeros(rows, m);
                self.bits_into(x.as_words(), out.words_mut());
                Activations::Bits(out)
            }
            BitOutput::Float(a) => {
                let mut d = vec![0u32; rows * m];
                self.distances_into(x.as_words(), &mut d);
                let data = d
                    .iter()
                    .enumerate()
                    .map(|(k, &dk)| self.float_rule(k % m, dk, a))
                    .collect();
                Activations::Floats(Floats::new(rows, m, data))
            }
        }
    }
}

impl fmt::Display for BitDense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BitDense({}, {}", self.inputs(), self.outputs())?;
        match self.output {
            BitOutput::Bits if self.thresholds.is_some() => write!(f, ", thresholds")?,
            BitOutput::Bits => {}
            BitOutput::Float(Activation::Identity) => write!(f, ", float")?,
            BitOutput::Float(a) => write!(f, ", σ={}", a.name())?,
        }
        if self.affine.is_some() && self.output != BitOutput::Bits {
            write!(f, ", scaled")?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for BitDense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Chain;

    fn naive_bit_forward(l: &BitDense, x: &[bool]) -> Vec<f32> {
        let n = l.inputs();
        (0..l.outputs())
            .map(|j| {
                let d = (0..n).filter(|&c| l.weights().get(j, c) != x[c]).count() as u32;
                let b = l.bias().get(0, j) as u32;
                match l.output() {
                    BitOutput::Bits => f32::from(u8::from(2 * (d + b) > n as u32 + 1)),
                    BitOutput::Float(a) => a.apply(1.0 - (d + b) as f32 / n as f32),
                }
            })
            .collect()
    }

    #[test]
    fn forward_matches_original_rule_bit_by_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (inp, out, o) in [
            (70, 9, BitOutput::Bits),
            (128, 17, BitOutput::Float(Activation::Sigmoid)),
            (5, 3, BitOutput::Float(Activation::Identity)),
        ] {
            let l = BitDense::new(inp, out)
                .with_seed(rng.random())
                .with_output(o);
            let xs: Vec<Vec<bool>> = (0..20)
                .map(|_| (0..inp).map(|_| rng.random()).collect())
                .collect();
            let x = BitMatrix::from_bools(inp, &xs).unwrap();
            let got = Chain::new(vec![l.clone().into()]).unwrap().scores(&x);
            for (i, xi) in xs.iter().enumerate() {
                assert_eq!(got.row(i), naive_bit_forward(&l, xi).as_slice());
            }
        }
    }

    #[test]
    fn per_neuron_thresholds_and_scales_match_their_rules() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (inp, out) = (150, 21);
        let base = BitDense::new(inp, out).with_seed(4);
        let t: Vec<i64> = (0..out)
            .map(|_| rng.random_range(-2..=inp as i64 + 1))
            .collect();
        let bits = base.clone().with_thresholds(t.clone()).unwrap();
        let scale: Vec<f32> = (0..out).map(|_| rng.random_range(-1.0..1.0)).collect();
        let offset: Vec<f32> = (0..out).map(|_| rng.random_range(-5.0..5.0)).collect();
        let float = base
            .clone()
            .with_output(BitOutput::Float(Activation::Identity))
            .with_affine(scale.clone(), offset.clone())
            .unwrap();
        assert!(base.clone().with_thresholds(vec![0; out - 1]).is_none());
        assert_ne!(bits, base);
        let xs: Vec<Vec<bool>> = (0..40)
            .map(|_| (0..inp).map(|_| rng.random()).collect())
            .collect();
        let x = BitMatrix::from_bools(inp, &xs).unwrap();
        let got_bits = Chain::new(vec![bits.clone().into()]).unwrap().scores(&x);
        let got_float = Chain::new(vec![float.clone().into()]).unwrap().scores(&x);
        for (i, xi) in xs.iter().enumerate() {
            for j in 0..out {
                let d = (0..inp)
                    .filter(|&c| base.weights().get(j, c) != xi[c])
                    .count() as i64;
                let b = i64::from(base.bias_bit(j));
                assert_eq!(got_bits.row(i)[j], f32::from(u8::from(d + b > t[j])));
                assert_eq!(got_float.row(i)[j], scale[j] * (d + b) as f32 + offset[j]);
            }
        }
        assert_eq!(bits.to_string(), "BitDense(150, 21, thresholds)");
        assert_eq!(float.to_string(), "BitDense(150, 21, float, scaled)");
    }

    #[test]
    fn bit_dense_round_trips() {
        let cfg = bincode::config::standard();
        let l = BitDense::new(70, 5)
            .with_seed(3)
            .with_thresholds(vec![1, 2, 3, 4, 5])
            .unwrap();
        let bytes = bincode::serde::encode_to_vec(&l, cfg).unwrap();
        let (back, _): (BitDense, usize) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn tie_gives_zero_bit() {
        // n = 3, d + b = 2: 2 * 2 > 4 is false, so the bit is 0.
        let mut l = BitDense::new(3, 1);
        l.params_mut().0.set(0, 0, true);
        l.params_mut().0.set(0, 1, true);
        let x = BitMatrix::zeros(1, 3);
        let c = Chain::new(vec![l.into()]).unwrap();
        assert_eq!(c.scores(&x).row(0), &[0.0]);
    }
}
