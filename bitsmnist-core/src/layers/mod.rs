//! Layers and chains: [`BitDense`] (1-bit weights, bias and inputs), float [`Dense`], the bit
//! convolution [`BitConv2d`] and pool [`BitMaxPool`], and [`Chain`] which applies them in
//! order, one example or a whole data set at a time.

mod architecture;
mod conv;

pub use architecture::{
    Architecture, ArchitectureError, Feature, FeatureError, architecture_string, feature_layers,
    feature_shapes, parse_architecture,
};
pub use conv::{BitConv2d, BitMaxPool, ConvError, Shape};

use std::fmt;
use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bits::{BitMatrix, Interleaved, Kernel, words_for};
use crate::datasets::Split;

/// Activation applied to a float output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Activation {
    /// `x`
    #[default]
    Identity,
    /// `1 / (1 + e^-x)`
    Sigmoid,
    /// `tanh(x)`
    Tanh,
    /// `max(0, x)`
    Relu,
}

impl Activation {
    /// Applies the activation to one value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
        }
    }

    /// Lower-case name, as shown in model summaries (`identity`, `sigmoid`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }

    /// Every activation, for menus.
    pub fn all() -> [Activation; 4] {
        [
            Activation::Identity,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
        ]
    }
}

impl std::str::FromStr for Activation {
    type Err = crate::util::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Activation::all()
            .into_iter()
            .find(|a| a.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                crate::util::ParseError::new("activation", s, "use identity, sigmoid, tanh or relu")
            })
    }
}

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

/// A fully connected `f32` layer: `activation(W x + b)`.
///
/// Takes float inputs, or bit inputs read as ±1 (bit 0 is +1, bit 1 is -1), so it can be mixed
/// with [`BitDense`] layers in a [`Chain`] and compared with them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    inputs: usize,
    outputs: usize,
    /// Row-major, one row of `inputs` weights per neuron.
    weights: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

impl Dense {
    /// A layer with Glorot-uniform weights from `seed` and zero bias.
    pub fn new(inputs: usize, outputs: usize, activation: Activation, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let limit = (6.0 / (inputs + outputs).max(1) as f32).sqrt();
        let weights = (0..inputs * outputs)
            .map(|_| rng.random_range(-limit..=limit))
            .collect();
        Self {
            inputs,
            outputs,
            weights,
            bias: vec![0.0; outputs],
            activation,
        }
    }

    /// Builds a layer from row-major weights and a bias; `None` on a shape mismatch.
    pub fn from_parts(
        inputs: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    ) -> Option<Self> {
        let outputs = bias.len();
        (weights.len() == inputs.checked_mul(outputs)?).then_some(Self {
            inputs,
            outputs,
            weights,
            bias,
            activation,
        })
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Checks the invariants of a deserialized layer.
    pub(crate) fn validate(&self) -> Result<(), String> {
        use crate::bits::MAX_DIM;
        if self.inputs > MAX_DIM || self.outputs > MAX_DIM {
            return Err(format!("{self}: too large"));
        }
        // No constructor makes an empty layer, and a forward pass cannot tell the rows of
        // zero-width input apart.
        if self.inputs == 0 || self.outputs == 0 {
            return Err(format!(
                "{self}: a layer needs at least one input and one output"
            ));
        }
        if Some(self.weights.len()) != self.inputs.checked_mul(self.outputs)
            || self.bias.len() != self.outputs
        {
            return Err(format!(
                "{self}: {} weights and {} biases do not match the shape",
                self.weights.len(),
                self.bias.len()
            ));
        }
        Ok(())
    }

    /// Number of neurons.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Row-major weights.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Bias.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.weights.len() + self.bias.len()
    }

    /// Bytes of the `f32` parameters.
    pub fn bytes(&self) -> usize {
        self.parameters() * std::mem::size_of::<f32>()
    }

    /// Forward of a batch of float rows (`rows * inputs()` values) into `out`
    /// (`rows * outputs()`), as one sgemm (`matrixmultiply`) plus bias and activation.
    pub fn forward_into(&self, x: &[f32], out: &mut [f32]) {
        let (k, m) = (self.inputs, self.outputs);
        let rows = x.len().checked_div(k).unwrap_or(0);
        assert_eq!(x.len(), rows * k, "Dense: input width");
        assert_eq!(out.len(), rows * m, "Dense: output size");
        if rows == 0 || m == 0 {
            return;
        }
        for o in out.chunks_exact_mut(m) {
            o.copy_from_slice(&self.bias);
        }
        if k > 0 {
            // SAFETY: x is rows x k (row stride k), the weights are m x k read as their
            // transpose k x m (row stride 1, column stride k), out is rows x m (stride m); the
            // asserts above checked every length.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    k,
                    m,
                    1.0,
                    x.as_ptr(),
                    k as isize,
                    1,
                    self.weights.as_ptr(),
                    1,
                    k as isize,
                    1.0,
                    out.as_mut_ptr(),
                    m as isize,
                    1,
                );
            }
        }
        if self.activation != Activation::Identity {
            for o in out.iter_mut() {
                *o = self.activation.apply(*o);
            }
        }
    }
}

impl fmt::Display for Dense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dense({}, {}", self.inputs, self.outputs)?;
        if self.activation != Activation::Identity {
            write!(f, ", σ={}", self.activation.name())?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for Dense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A batch of float rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Floats {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Floats {
    /// Wraps row-major data.
    ///
    /// # Panics
    /// When `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * cols, "Floats: shape");
        Self { rows, cols, data }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row after row.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Index of the largest value in each row (the first one wins ties).
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.rows).map(|i| argmax(self.row(i))).collect()
    }
}

/// Index of the largest value (the first one wins ties, as Julia's `argmax`); 0 for an empty
/// slice.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Values flowing between layers: packed bits or floats, one row per example.
#[derive(Clone, Debug, PartialEq)]
pub enum Activations {
    /// Packed bits.
    Bits(BitMatrix),
    /// Floats.
    Floats(Floats),
}

impl Activations {
    /// Number of examples.
    pub fn rows(&self) -> usize {
        match self {
            Activations::Bits(b) => b.rows(),
            Activations::Floats(f) => f.rows(),
        }
    }

    /// Width of each row.
    pub fn cols(&self) -> usize {
        match self {
            Activations::Bits(b) => b.cols(),
            Activations::Floats(f) => f.cols(),
        }
    }

    /// Joins batches row-wise; `bits` says which kind an empty list stands for.
    fn concat(parts: Vec<Activations>, cols: usize, bits: bool) -> Activations {
        if bits {
            let rows = parts.iter().map(Activations::rows).sum();
            let mut words = Vec::with_capacity(rows * words_for(cols));
            for p in parts {
                words.extend_from_slice(p.into_bits().as_words());
            }
            Activations::Bits(BitMatrix::from_words(rows, cols, words).expect("same widths"))
        } else {
            let rows = parts.iter().map(Activations::rows).sum();
            let mut data = Vec::with_capacity(rows * cols);
            for p in parts {
                data.extend_from_slice(p.into_scores().as_slice());
            }
            Activations::Floats(Floats::new(rows, cols, data))
        }
    }

    /// As bits: floats become their sign bit (negative, including -0.0, gives 1), as in the
    /// original.
    pub fn into_bits(self) -> BitMatrix {
        match self {
            Activations::Bits(b) => b,
            Activations::Floats(f) => {
                let mut m = BitMatrix::zeros(f.rows, f.cols);
                for i in 0..f.rows {
                    for (j, &v) in f.row(i).iter().enumerate() {
                        if v.is_sign_negative() {
                            m.set(i, j, true);
                        }
                    }
                }
                m
            }
        }
    }

    /// As floats for a float layer: bits read as ±1 (bit 0 is +1).
    pub fn into_signed_floats(self) -> Floats {
        match self {
            Activations::Floats(f) => f,
            Activations::Bits(b) => {
                let data = (0..b.rows())
                    .flat_map(|i| b.row_bits(i).iter().map(|x| if *x { -1.0 } else { 1.0 }))
                    .collect();
                Floats::new(b.rows(), b.cols(), data)
            }
        }
    }

    /// As output scores: bits are the values 0 and 1 (so that `argmax` and the score fitness
    /// behave as in the original), floats as they are.
    pub fn into_scores(self) -> Floats {
        match self {
            Activations::Floats(f) => f,
            Activations::Bits(b) => {
                let data = (0..b.rows())
                    .flat_map(|i| b.row_bits(i).iter().map(|x| if *x { 1.0 } else { 0.0 }))
                    .collect();
                Floats::new(b.rows(), b.cols(), data)
            }
        }
    }
}

/// One layer of a [`Chain`].
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Layer {
    /// A bit layer.
    Bit(BitDense),
    /// A float layer.
    Float(Dense),
    /// A bit convolution (bit outputs; format version 5 and later).
    Conv(BitConv2d),
    /// A bit max-pool (format version 5 and later).
    Pool(BitMaxPool),
}

impl Layer {
    /// Input width.
    pub fn inputs(&self) -> usize {
        match self {
            Layer::Bit(l) => l.inputs(),
            Layer::Float(l) => l.inputs(),
            Layer::Conv(l) => l.inputs(),
            Layer::Pool(l) => l.inputs(),
        }
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        match self {
            Layer::Bit(l) => l.outputs(),
            Layer::Float(l) => l.outputs(),
            Layer::Conv(l) => l.outputs(),
            Layer::Pool(l) => l.outputs(),
        }
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        match self {
            Layer::Bit(l) => l.parameters(),
            Layer::Float(l) => l.parameters(),
            Layer::Conv(l) => l.filters().parameters(),
            Layer::Pool(_) => 0,
        }
    }

    /// Bytes of the stored parameters.
    pub fn bytes(&self) -> usize {
        match self {
            Layer::Bit(l) => l.bytes(),
            Layer::Float(l) => l.bytes(),
            Layer::Conv(l) => l.filters().bytes(),
            Layer::Pool(_) => 0,
        }
    }

    /// Checks the invariants of a deserialized layer.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            Layer::Bit(l) => l.validate(),
            Layer::Float(l) => l.validate(),
            Layer::Conv(l) => l.validate(),
            Layer::Pool(l) => l.validate(),
        }
    }

    /// The bit layer, if this is one.
    pub fn as_bit(&self) -> Option<&BitDense> {
        match self {
            Layer::Bit(l) => Some(l),
            _ => None,
        }
    }

    /// The bit layer, mutably, if this is one.
    pub fn as_bit_mut(&mut self) -> Option<&mut BitDense> {
        match self {
            Layer::Bit(l) => Some(l),
            _ => None,
        }
    }

    /// Whether the layer emits bits (rather than floats).
    pub fn emits_bits(&self) -> bool {
        match self {
            Layer::Bit(l) => l.output() == BitOutput::Bits,
            Layer::Float(_) => false,
            Layer::Conv(_) | Layer::Pool(_) => true,
        }
    }

    /// Whether the layer reads a feature map ([`Layer::Conv`] or [`Layer::Pool`]): the models
    /// only gradient training builds and the dense-only searches (climbing, the population)
    /// do not train.
    pub fn is_spatial(&self) -> bool {
        matches!(self, Layer::Conv(_) | Layer::Pool(_))
    }

    /// Applies the layer to a batch.
    pub fn forward(&self, x: Activations) -> Activations {
        match self {
            Layer::Bit(l) => l.forward_bits_rows(&x.into_bits()),
            Layer::Float(l) => {
                let xf = x.into_signed_floats();
                let mut out = vec![0.0; xf.rows() * l.outputs()];
                l.forward_into(xf.as_slice(), &mut out);
                Activations::Floats(Floats::new(xf.rows(), l.outputs(), out))
            }
            Layer::Conv(l) => Activations::Bits(l.forward(&x.into_bits())),
            Layer::Pool(l) => Activations::Bits(l.forward(&x.into_bits())),
        }
    }
}

impl From<BitConv2d> for Layer {
    fn from(l: BitConv2d) -> Self {
        Layer::Conv(l)
    }
}

impl From<BitMaxPool> for Layer {
    fn from(l: BitMaxPool) -> Self {
        Layer::Pool(l)
    }
}

impl From<BitDense> for Layer {
    fn from(l: BitDense) -> Self {
        Layer::Bit(l)
    }
}

impl From<Dense> for Layer {
    fn from(l: Dense) -> Self {
        Layer::Float(l)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Bit(l) => fmt::Display::fmt(l, f),
            Layer::Float(l) => fmt::Display::fmt(l, f),
            Layer::Conv(l) => fmt::Display::fmt(l, f),
            Layer::Pool(l) => fmt::Display::fmt(l, f),
        }
    }
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error building a chain whose layer widths do not line up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("layer {index} takes {inputs} inputs but the previous layer gives {previous}")]
pub struct ShapeError {
    /// Position of the offending layer.
    pub index: usize,
    /// Its input width.
    pub inputs: usize,
    /// The previous layer's output width.
    pub previous: usize,
}

/// How a model reads an example: what its first layer sees. A [`Chain`] carries it
/// ([`Chain::input`]), and every prediction from a [`Split`] ([`Chain::predict_split`],
/// [`crate::statistics`]) encodes the examples accordingly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Input {
    /// The packed bits (a float first layer reads them as ±1, bit 0 is +1): a model of
    /// [`BitDense`] layers only is pure XOR + popcount + compare.
    #[default]
    Bits,
    /// Grey levels / 255 as floats (needs [`Split::grey`]); the first layer is a float
    /// [`Dense`] (gradient training with grey input exports one).
    Grey,
}

impl Input {
    /// The value a float first layer sees for a grey level: `grey / 255`.
    #[inline]
    pub fn grey_value(grey: u8) -> f32 {
        f32::from(grey) / 255.0
    }

    /// The value a float first layer sees for a bit: -1 for a 1-bit, +1 for a 0-bit.
    #[inline]
    pub fn bit_value(bit: bool) -> f32 {
        if bit { -1.0 } else { 1.0 }
    }

    /// Example `i` of `split` as floats, one per pixel, as a float first layer reading this
    /// input sees it: [`Input::bit_value`] of each bit, or [`Input::grey_value`] of each grey
    /// level.
    ///
    /// # Panics
    /// For [`Input::Grey`] when the split has no grey levels (see [`Chain::check_split`]).
    pub fn example_floats(self, split: &Split, i: usize) -> Vec<f32> {
        match self {
            Input::Bits => split
                .images()
                .row_bits(i)
                .iter()
                .map(|b| Input::bit_value(*b))
                .collect(),
            Input::Grey => split
                .grey(i)
                .expect("grey levels present")
                .iter()
                .map(|&g| Input::grey_value(g))
                .collect(),
        }
    }

    /// The examples `rows` of `split` as the first layer reading this input takes them: the
    /// packed bits, or one row of [`Input::grey_value`]s per example.
    pub fn encode(self, split: &Split, rows: &[usize]) -> Result<Activations, InputError> {
        match self {
            Input::Bits => Ok(Activations::Bits(split.select(rows).images().clone())),
            Input::Grey => {
                let mut data = Vec::with_capacity(rows.len() * split.images().cols());
                for &i in rows {
                    let g = split.grey(i).ok_or(InputError::NoGreyLevels)?;
                    data.extend(g.iter().map(|&g| Input::grey_value(g)));
                }
                Ok(Activations::Floats(Floats::new(
                    rows.len(),
                    split.images().cols(),
                    data,
                )))
            }
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Input::Bits => "bits",
            Input::Grey => "grey",
        })
    }
}

impl std::str::FromStr for Input {
    type Err = crate::util::ParseError;
    /// `bits` (also `pm1`, `±1`) or `grey` (also `gray`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bits" | "bit" | "pm1" | "±1" => Ok(Input::Bits),
            "grey" | "gray" => Ok(Input::Grey),
            _ => Err(crate::util::ParseError::new(
                "input",
                s,
                "use `bits` or `grey`",
            )),
        }
    }
}

/// Why examples cannot be fed to a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The examples have another width than the model's input.
    #[error("the examples are {data} pixels wide but the model takes {model}")]
    Width {
        /// Width of the examples.
        data: usize,
        /// Input width of the model.
        model: usize,
    },
    /// The model reads grey levels and the examples kept none.
    #[error("the model reads grey levels, and these examples have none")]
    NoGreyLevels,
}

/// Rows per parallel task in batch forward: large enough to amortise the kernel's setup, small
/// enough to spread 10,000 examples over many threads.
const CHUNK_ROWS: usize = 256;

fn check_widths(layers: &[Layer]) -> Result<(), ShapeError> {
    for (index, pair) in layers.windows(2).enumerate() {
        if pair[1].inputs() != pair[0].outputs() {
            return Err(ShapeError {
                index: index + 1,
                inputs: pair[1].inputs(),
                previous: pair[0].outputs(),
            });
        }
    }
    Ok(())
}

/// Layers applied in order.
///
/// ```
/// use bitsmnist_core::layers::{Activation, BitDense, BitOutput, Chain};
/// let model = Chain::new(vec![
///     BitDense::new(784, 800).with_seed(1).into(),
///     BitDense::new(800, 2).with_seed(2).with_output(BitOutput::Float(Activation::Sigmoid)).into(),
/// ]).unwrap();
/// assert_eq!(model.to_string(), "Chain(BitDense(784, 800), BitDense(800, 2, σ=sigmoid))");
/// assert_eq!(model.parameters(), 784 * 800 + 800 + 800 * 2 + 2);
/// ```
///
/// A chain also says how it reads an example ([`Chain::input`]: bits unless set with
/// [`Chain::with_input`]); [`Chain::predict_split`] and the [`crate::statistics`] functions
/// feed it a split's examples that way.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    layers: Vec<Layer>,
    input: Input,
}

/// The seed [`Chain::mlp`] gives layer `index` of a model seeded with `seed`: SplitMix64
/// of `seed` mixed with SplitMix64 of `index + 1`, so that neighbouring seeds do not share
/// layers.
///
/// ```
/// use bitsmnist_core::layers::layer_seed;
/// assert_ne!(layer_seed(5, 1), layer_seed(6, 0));
/// assert_eq!(layer_seed(5, 1), layer_seed(5, 1));
/// ```
pub fn layer_seed(seed: u64, index: usize) -> u64 {
    use crate::util::splitmix64 as splitmix;
    splitmix(seed ^ splitmix(index as u64 + 1))
}

impl Chain {
    /// A chain of `layers`, checking that each layer's input width is the previous one's output.
    /// It reads bits ([`Input::Bits`]); see [`Chain::with_input`].
    pub fn new(layers: Vec<Layer>) -> Result<Self, ShapeError> {
        check_widths(&layers)?;
        Ok(Self {
            layers,
            input: Input::Bits,
        })
    }

    /// A random multi-layer perceptron of bit layers: `inputs` → each of `hidden` (bit
    /// outputs) → `classes` with output rule `output`, reading bits. Layer `i` (0 is the first)
    /// gets random weights and bias from [`layer_seed`]`(seed, i)`: the one seed rule of the
    /// library, the command line and the desktop app. The result is [`Chain::new`]'s (the
    /// widths line up by construction; a zero width gives an empty layer, as in
    /// [`BitDense::new`]).
    ///
    /// ```
    /// use bitsmnist_core::layers::{layer_seed, Activation, BitDense, BitOutput, Chain};
    /// let out = BitOutput::Float(Activation::Identity);
    /// let model = Chain::mlp(784, &[64], 10, out, 5).unwrap();
    /// assert_eq!(model.to_string(), "Chain(BitDense(784, 64), BitDense(64, 10, float))");
    /// let by_hand = Chain::new(vec![
    ///     BitDense::new(784, 64).with_seed(layer_seed(5, 0)).into(),
    ///     BitDense::new(64, 10).with_seed(layer_seed(5, 1)).with_output(out).into(),
    /// ]).unwrap();
    /// assert_eq!(model, by_hand);
    /// ```
    pub fn mlp(
        inputs: usize,
        hidden: &[usize],
        classes: usize,
        output: BitOutput,
        seed: u64,
    ) -> Result<Self, ShapeError> {
        let mut widths = Vec::with_capacity(hidden.len() + 2);
        widths.push(inputs);
        widths.extend_from_slice(hidden);
        widths.push(classes);
        let last = widths.len() - 2;
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let l = BitDense::new(w[0], w[1]).with_seed(layer_seed(seed, i));
                if i == last {
                    l.with_output(output).into()
                } else {
                    l.into()
                }
            })
            .collect();
        Self::new(layers)
    }

    /// The same chain reading `input`.
    pub fn with_input(mut self, input: Input) -> Self {
        self.input = input;
        self
    }

    /// How the chain reads an example.
    pub fn input(&self) -> Input {
        self.input
    }

    /// Checks that `split`'s examples can be fed to the chain: the width matches its input,
    /// and the grey levels are there if it reads them.
    pub fn check_split(&self, split: &Split) -> Result<(), InputError> {
        if split.images().cols() != self.inputs() {
            return Err(InputError::Width {
                data: split.images().cols(),
                model: self.inputs(),
            });
        }
        if self.input == Input::Grey && !split.is_empty() && split.grey(0).is_none() {
            return Err(InputError::NoGreyLevels);
        }
        Ok(())
    }

    /// Output scores for every example of `split`, encoded as [`Chain::input`] says (the
    /// packed bits, or grey levels / 255), in parallel over chunks of examples. The result
    /// does not depend on the number of threads.
    pub fn scores_split(&self, split: &Split) -> Result<Floats, InputError> {
        self.check_split(split)?;
        match self.input {
            Input::Bits => Ok(self.scores(split.images())),
            Input::Grey => {
                let idx: Vec<usize> = (0..split.len()).collect();
                let parts = idx
                    .par_chunks(CHUNK_ROWS)
                    .map(|chunk| Ok(self.forward(self.input.encode(split, chunk)?)))
                    .collect::<Result<Vec<_>, InputError>>()?;
                Ok(Activations::concat(parts, self.outputs(), false).into_scores())
            }
        }
    }

    /// Predicted class of every example of `split` (argmax of [`Chain::scores_split`], first
    /// index wins ties): the one prediction path of the library from a split.
    ///
    /// ```
    /// use bitsmnist_core::prelude::*;
    /// let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    /// let out = BitOutput::Float(Activation::Identity);
    /// let model = Chain::mlp(784, &[16], 2, out, 1).unwrap();
    /// assert_eq!(model.predict_split(&data.test).unwrap().len(), data.test.len());
    /// // A model that reads grey levels needs them.
    /// let grey = model.with_input(Input::Grey);
    /// let no_grey = Split::new(data.test.images().clone(), data.test.labels().to_vec(), None).unwrap();
    /// assert!(grey.predict_split(&no_grey).is_err());
    /// assert_eq!(grey.to_string(), "Chain(BitDense(784, 16), BitDense(16, 2, float); grey input)");
    /// ```
    pub fn predict_split(&self, split: &Split) -> Result<Vec<usize>, InputError> {
        Ok(self.scores_split(split)?.argmax())
    }

    /// Scores of one image given both ways (packed bits, `words_for(inputs)` words, and
    /// optionally its grey levels), fed as [`Chain::input`] says: the drawn canvas of the
    /// desktop app.
    pub fn scores_image(&self, bits: &[u64], grey: Option<&[u8]>) -> Result<Vec<f32>, InputError> {
        let x = match self.input {
            Input::Bits => {
                if bits.len() != words_for(self.inputs()) {
                    return Err(InputError::Width {
                        data: bits.len() * 64,
                        model: self.inputs(),
                    });
                }
                Activations::Bits(
                    BitMatrix::from_words(1, self.inputs(), bits.to_vec()).ok_or(
                        InputError::Width {
                            data: bits.len() * 64,
                            model: self.inputs(),
                        },
                    )?,
                )
            }
            Input::Grey => {
                let g = grey.ok_or(InputError::NoGreyLevels)?;
                if g.len() != self.inputs() {
                    return Err(InputError::Width {
                        data: g.len(),
                        model: self.inputs(),
                    });
                }
                let x = g.iter().map(|&v| Input::grey_value(v)).collect();
                Activations::Floats(Floats::new(1, g.len(), x))
            }
        };
        Ok(self.forward(x).into_scores().as_slice().to_vec())
    }

    /// Predicted class of one image (see [`Chain::scores_image`]).
    pub fn predict_image(&self, bits: &[u64], grey: Option<&[u8]>) -> Result<usize, InputError> {
        Ok(argmax(&self.scores_image(bits, grey)?))
    }

    /// Checks the invariants of a deserialized chain: every layer, and matching widths.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (i, l) in self.layers.iter().enumerate() {
            l.validate().map_err(|e| format!("layer {i}: {e}"))?;
        }
        check_widths(&self.layers).map_err(|e| e.to_string())
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layers, mutably (widths cannot change through this).
    pub fn layer_mut(&mut self, i: usize) -> &mut Layer {
        &mut self.layers[i]
    }

    /// Input width (0 for an empty chain).
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, Layer::inputs)
    }

    /// Output width (0 for an empty chain).
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, Layer::outputs)
    }

    /// Total parameters.
    pub fn parameters(&self) -> usize {
        self.layers.iter().map(Layer::parameters).sum()
    }

    /// Total bytes of stored parameters.
    pub fn bytes(&self) -> usize {
        self.layers.iter().map(Layer::bytes).sum()
    }

    /// Bytes the same parameters would take as `f32`.
    pub fn bytes_as_f32(&self) -> usize {
        self.parameters() * 4
    }

    /// Forward of one batch on the current thread.
    pub fn forward(&self, x: Activations) -> Activations {
        self.layers.iter().fold(x, |a, l| l.forward(a))
    }

    /// Forward of every row of `x` (bits, `inputs()` wide), in parallel over chunks of rows.
    /// The result does not depend on the number of threads. The bits are fed as they are,
    /// whatever [`Chain::input`] says; [`Chain::scores_split`] encodes a split as the chain
    /// reads it.
    pub fn forward_par(&self, x: &BitMatrix) -> Activations {
        assert_eq!(x.cols(), self.inputs(), "Chain: input width");
        let wpr = x.words_per_row();
        let n = x.rows();
        let parts: Vec<Activations> = (0..n.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|c| {
                let rows = CHUNK_ROWS.min(n - c * CHUNK_ROWS);
                let start = c * CHUNK_ROWS * wpr;
                let words = x.as_words()[start..start + rows * wpr].to_vec();
                let part = BitMatrix::from_words(rows, x.cols(), words).expect("whole rows");
                self.forward(Activations::Bits(part))
            })
            .collect();
        Activations::concat(
            parts,
            self.outputs(),
            self.layers.last().is_some_and(Layer::emits_bits),
        )
    }

    /// Output scores for every row of `x`, in parallel (see [`Chain::forward_par`]).
    pub fn scores(&self, x: &BitMatrix) -> Floats {
        self.forward_par(x).into_scores()
    }

    /// Predicted class of every row of `x` (argmax of the scores, first index wins ties).
    pub fn predict(&self, x: &BitMatrix) -> Vec<usize> {
        self.scores(x).argmax()
    }

    /// Scores of a single packed input.
    pub fn scores_one(&self, x: &[u64]) -> Vec<f32> {
        let m = BitMatrix::from_words(1, self.inputs(), x.to_vec()).expect("input width");
        self.forward(Activations::Bits(m))
            .into_scores()
            .as_slice()
            .to_vec()
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chain(")?;
        for (i, l) in self.layers.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{l}")?;
        }
        if self.input != Input::Bits {
            write!(f, "; {} input", self.input)?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn dense_sgemm_matches_naive_loop() {
        let d = Dense::new(37, 5, Activation::Sigmoid, 9);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x: Vec<f32> = (0..3 * 37).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut out = vec![0.0; 15];
        d.forward_into(&x, &mut out);
        for i in 0..3 {
            for j in 0..5 {
                let s: f32 = (0..37)
                    .map(|c| d.weights()[j * 37 + c] * x[i * 37 + c])
                    .sum();
                assert!((out[i * 5 + j] - Activation::Sigmoid.apply(s + d.bias()[j])).abs() < 1e-5);
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

    #[test]
    fn float_input_to_bit_layer_uses_sign_bit() {
        let f = Activations::Floats(Floats::new(1, 3, vec![-1.0, 0.5, -0.0]));
        let b = f.into_bits();
        assert!(b.get(0, 0) && !b.get(0, 1) && b.get(0, 2));
    }

    #[test]
    fn chain_rejects_mismatched_widths() {
        let err = Chain::new(vec![
            BitDense::new(10, 5).into(),
            BitDense::new(6, 2).into(),
        ])
        .unwrap_err();
        assert_eq!(err.index, 1);
    }

    #[test]
    fn mixed_chain_runs_and_argmax_takes_first_tie() {
        let c = Chain::new(vec![
            BitDense::new(20, 8).with_seed(3).into(),
            Dense::new(8, 4, Activation::Relu, 4).into(),
        ])
        .unwrap();
        let x = BitMatrix::zeros(3, 20);
        assert_eq!(c.scores(&x).rows(), 3);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(c.to_string(), "Chain(BitDense(20, 8), Dense(8, 4, σ=relu))");
    }
}
