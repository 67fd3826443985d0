//! Incremental (delta) evaluation of single-bit changes to a bit network.
//!
//! Bit-flip search tries millions of candidates that each differ from the current model by one
//! bit. Scoring each by a full forward pass over a batch costs `hidden x inputs x examples`
//! bit operations; almost all of that work repeats the parent's. [`DeltaEval`] keeps the
//! parent's intermediate results for a fixed batch of examples and updates only what a flip
//! changes:
//!
//! * the Hamming distance of every hidden neuron to every example (`u16`, hidden-major);
//! * for each hidden neuron, the examples sitting exactly on its firing threshold (one below,
//!   one above), as bit masks over the examples: a weight flip moves each example's distance by
//!   one, so only these examples can change the neuron's output bit;
//! * each example's output distances (one per class) and its contribution to the objective.
//!
//! Scoring a hidden-weight flip is then a few word operations over the batch plus work in
//! proportion to the examples whose hidden bit toggles (a few per cent of the batch), instead of
//! a forward pass. Output-layer flips touch every example (but only one class of each).
//!
//! Memory for `n` inputs, `h` hidden neurons, `c` classes and `b` examples is about
//! `2hb + (2n + 3h) b/8 + 4cb + 8b` bytes ([`DeltaEval::memory_bytes`]): 2.2 MB for 784-800-10
//! on 1,000 examples.
//!
//! The result is exact: [`DeltaEval::correct`] always equals the number of examples the full
//! forward pass ([`Chain::predict`]) gets right, ties and float output rules included (scores
//! come from the layer's own rule, tabulated per distance).

use serde::{Deserialize, Serialize};

use crate::bits::{BitMatrix, words_for};
use crate::layers::{BitDense, BitOutput, Chain};

/// One single-bit change to a one- or two-layer bit network (see [`DeltaEval`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Flip {
    /// Weight `input` of hidden neuron `neuron` (first layer of a two-layer chain).
    HiddenWeight {
        /// Hidden neuron.
        neuron: usize,
        /// Input bit.
        input: usize,
    },
    /// Bias bit of hidden neuron `neuron`.
    HiddenBias {
        /// Hidden neuron.
        neuron: usize,
    },
    /// Weight `input` of output neuron `class` (the last layer).
    OutputWeight {
        /// Output neuron.
        class: usize,
        /// Its input (a hidden neuron, or an image bit in a one-layer chain).
        input: usize,
    },
    /// Bias bit of output neuron `class`.
    OutputBias {
        /// Output neuron.
        class: usize,
    },
}

/// What bit-flip search maximises, summed over the examples of the batch.
///
/// Each example contributes `correct_weight` if the model classifies it correctly, plus its
/// popcount margin clamped to `[-margin_cap, margin_cap]`. The margin is how much closer (in
/// Hamming distance) the output neuron of the right class is than the nearest other one; for
/// output layers with per-neuron scales it is the score difference times the layer's width. The
/// margin gives a graded signal where accuracy alone is flat: a flip that moves examples towards
/// the right answer without yet changing any prediction still counts. With `margin_cap = 0` the
/// objective is plain accuracy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// Weight of a correct prediction.
    pub correct_weight: u32,
    /// Largest margin counted, in popcount units (0: accuracy only).
    pub margin_cap: u32,
}

impl Default for Objective {
    /// `correct_weight` 16, `margin_cap` 64: the best of the settings measured on the 10
    /// digits with 800 hidden neurons (one minute of climbing each: cap 4 gives 79.7% test
    /// accuracy, 32 gives 88.6%, 64 gives 89.9%, 128 gives 88.6%). A wide margin is what lets
    /// single flips generalise.
    fn default() -> Self {
        Self {
            correct_weight: 16,
            margin_cap: 64,
        }
    }
}

impl std::fmt::Display for Objective {
    /// As people read it: `correct ×16 + margin up to 64`, or `correct ×1` without a margin.
    ///
    /// ```
    /// use bitsmnist_core::search::Objective;
    /// assert_eq!(Objective::default().to_string(), "correct ×16 + margin up to 64");
    /// assert_eq!(Objective::accuracy().to_string(), "correct ×1 (accuracy only)");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "correct ×{}", self.correct_weight)?;
        if self.margin_cap > 0 {
            write!(f, " + margin up to {}", self.margin_cap)
        } else {
            f.write_str(" (accuracy only)")
        }
    }
}

impl Objective {
    /// Plain accuracy (no margin term).
    pub fn accuracy() -> Self {
        Self {
            correct_weight: 1,
            margin_cap: 0,
        }
    }

    /// The largest contribution one example can make.
    pub fn per_example_max(&self) -> i64 {
        i64::from(self.correct_weight) + i64::from(self.margin_cap)
    }
}

/// Why a chain cannot be evaluated incrementally.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// Only chains of one or two bit layers are supported.
    #[error("incremental evaluation needs one or two bit layers (this chain: {0})")]
    Shape(String),
    /// The last layer must output scores, not bits.
    #[error("the output layer must give scores (a float output), not bits")]
    BitOutput,
    /// The first of two layers must output bits.
    #[error("the hidden layer must output bits")]
    HiddenFloat,
    /// Distances must fit the `u16` counters.
    #[error("layers wider than 65,535 inputs are not supported")]
    TooWide,
    /// More classes than one 64-bit word of output weights per input.
    #[error("at most 64 output neurons are supported (this chain has {0})")]
    TooManyOutputs(usize),
    /// The examples do not fit the model.
    #[error("the examples are {data} bits wide but the model takes {model}")]
    InputWidth {
        /// Example width.
        data: usize,
        /// Model input width.
        model: usize,
    },
    /// A label is not an output neuron.
    #[error("label {label} has no output neuron (the model has {outputs})")]
    Label {
        /// The label.
        label: u8,
        /// Output neurons.
        outputs: usize,
    },
    /// No examples.
    #[error("no examples")]
    Empty,
}

/// The parent's state for incremental evaluation of one- or two-layer bit networks on a fixed
/// batch (see the [module documentation](self)).
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::search::{DeltaEval, Flip, Objective};
///
/// let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
/// let batch = data.train.select(&(0..500).collect::<Vec<_>>());
/// let chain = Chain::new(vec![
///     BitDense::new(784, 64).with_seed(1).into(),
///     BitDense::new(64, 10).with_seed(2).with_output(BitOutput::Float(Activation::Identity)).into(),
/// ]).unwrap();
/// let mut eval = DeltaEval::new(&chain, batch.images(), batch.labels(), Objective::default()).unwrap();
/// let flip = Flip::HiddenWeight { neuron: 3, input: 400 };
/// let predicted = eval.objective() + eval.delta(flip);
/// eval.apply(flip);
/// assert_eq!(eval.objective(), predicted);
/// // Always what the full forward pass says.
/// assert_eq!(eval.correct(), (statistics::accuracy(&eval.chain(), &batch) * 500.0).round() as usize);
/// ```
#[derive(Clone, Debug)]
pub struct DeltaEval {
    /// The model being changed; its weights are kept current by [`DeltaEval::apply`].
    chain: Chain,
    two_layers: bool,
    objective: Objective,
    examples: usize,
    /// Words per column of example bits.
    ew: usize,
    /// Mask of the valid bits in a column's last word.
    tail: u64,
    labels: Vec<u8>,
    /// Image bits by input: `inputs x ew` words (bit `b` of column `i` is example `b`'s bit `i`).
    xcol: Vec<u64>,
    /// The images by example, for recomputing one neuron's distances when its row is replaced.
    images: BitMatrix,
    /// Hidden distances, `hidden x examples` (empty for one layer).
    d1: Vec<u16>,
    /// Hidden neuron `j` fires when `d1 > limit[j]` (its threshold minus its bias bit).
    limit: Vec<i64>,
    /// Examples with `d1 == limit` (a distance step up makes the neuron fire): `hidden x ew`.
    at_low: Vec<u64>,
    /// Examples with `d1 == limit + 1` (a step down silences the neuron): `hidden x ew`.
    at_high: Vec<u64>,
    /// Output-layer input bits by input (hidden outputs, or the images for one layer).
    hcol: Vec<u64>,
    /// Output weights by input: bit `k` of `wcol[j]` is class `k`'s weight on input `j`.
    wcol: Vec<u64>,
    /// Output bias bits by class.
    bias2: Vec<u32>,
    classes: usize,
    /// Output distances, `examples x classes`.
    d2: Vec<u32>,
    /// Score of class `k` at distance-plus-bias `e`: `table[k * (width + 2) + e]`, the output
    /// layer's own float rule, so that predictions match the forward pass bit for bit.
    table: Vec<f32>,
    /// Output layer width (its inputs).
    width: usize,
    /// Whether the output rule is one shared decreasing function of distance (no per-neuron
    /// scales): the margin is then counted in distances.
    by_distance: bool,
    contrib: Vec<i32>,
    correct_flags: Vec<bool>,
    total: i64,
    correct: usize,
}

impl DeltaEval {
    /// The state of `chain` on the examples `images` with class `labels`.
    pub fn new(
        chain: &Chain,
        images: &BitMatrix,
        labels: &[u8],
        objective: Objective,
    ) -> Result<Self, DeltaError> {
        check_chain(chain)?;
        let bits: Vec<&BitDense> = chain.layers().iter().filter_map(|l| l.as_bit()).collect();
        let two_layers = bits.len() == 2;
        let out = *bits.last().expect("one or two");
        let BitOutput::Float(activation) = out.output() else {
            unreachable!("checked")
        };
        let classes = out.outputs();
        if images.cols() != chain.inputs() {
            return Err(DeltaError::InputWidth {
                data: images.cols(),
                model: chain.inputs(),
            });
        }
        let examples = images.rows();
        if examples == 0 || labels.len() != examples {
            return Err(DeltaError::Empty);
        }
        if let Some(&label) = labels.iter().find(|&&l| usize::from(l) >= classes) {
            return Err(DeltaError::Label {
                label,
                outputs: classes,
            });
        }
        let ew = words_for(examples);
        let tail = if examples.is_multiple_of(64) {
            u64::MAX
        } else {
            (1u64 << (examples % 64)) - 1
        };
        let xcol = columns(images, ew);
        let width = out.inputs();
        let mut s = Self {
            chain: chain.clone(),
            two_layers,
            objective,
            examples,
            ew,
            tail,
            labels: labels.to_vec(),
            xcol,
            images: images.clone(),
            d1: Vec::new(),
            limit: Vec::new(),
            at_low: Vec::new(),
            at_high: Vec::new(),
            hcol: Vec::new(),
            wcol: vec![0; width],
            bias2: (0..classes).map(|k| out.bias_bit(k)).collect(),
            classes,
            d2: vec![0; examples * classes],
            table: Vec::with_capacity(classes * (width + 2)),
            width,
            by_distance: out.affine().is_none(),
            contrib: vec![0; examples],
            correct_flags: vec![false; examples],
            total: 0,
            correct: 0,
        };
        // The layer's own rule at bias 0, so that the table is indexed by distance + bias.
        let mut unbiased = out.clone();
        *unbiased.params_mut().1 = BitMatrix::zeros(1, classes);
        for k in 0..classes {
            for e in 0..width + 2 {
                s.table.push(unbiased.float_rule(k, e as u32, activation));
            }
        }
        for k in 0..classes {
            let row = out.weights().row(k);
            for (j, w) in s.wcol.iter_mut().enumerate() {
                *w |= ((row[j / 64] >> (j % 64)) & 1) << k;
            }
        }
        if two_layers {
            let hidden = bits[0];
            let h = hidden.outputs();
            let mut d = vec![0u32; examples * h];
            hidden.distances_into(images.as_words(), &mut d);
            s.d1 = vec![0; h * examples];
            for b in 0..examples {
                for j in 0..h {
                    s.d1[j * examples + b] = d[b * h + j] as u16;
                }
            }
            s.limit = (0..h)
                .map(|j| hidden.threshold(j) - i64::from(hidden.bias_bit(j)))
                .collect();
            s.at_low = vec![0; h * ew];
            s.at_high = vec![0; h * ew];
            s.hcol = vec![0; h * ew];
            for j in 0..h {
                s.refresh_neuron(j);
            }
            let mut hidden_rows = BitMatrix::zeros(examples, h);
            hidden.bits_into(images.as_words(), hidden_rows.words_mut());
            out.distances_into(hidden_rows.as_words(), &mut s.d2);
        } else {
            s.hcol = s.xcol.clone();
            out.distances_into(images.as_words(), &mut s.d2);
        }
        s.rejudge_all();
        Ok(s)
    }

    /// The current model (the parent with every applied flip).
    pub fn chain(&self) -> Chain {
        self.chain.clone()
    }

    /// Consumes the state, giving the current model.
    pub fn into_chain(self) -> Chain {
        self.chain
    }

    /// The current objective, summed over the batch.
    pub fn objective(&self) -> i64 {
        self.total
    }

    /// The objective as a fraction of its maximum (1 = every example right with full margin).
    pub fn fitness(&self) -> f64 {
        self.total as f64 / (self.examples as i64 * self.objective.per_example_max()).max(1) as f64
    }

    /// Examples the current model classifies correctly.
    pub fn correct(&self) -> usize {
        self.correct
    }

    /// Examples in the batch.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// Bytes held by the incremental state (not counting the model itself).
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        self.labels.len()
            + (self.xcol.len() + self.at_low.len() + self.at_high.len() + self.hcol.len()) * 8
            + self.images.bytes()
            + self.wcol.len() * 8
            + self.d1.len() * size_of::<u16>()
            + self.limit.len() * 8
            + (self.d2.len() + self.bias2.len()) * 4
            + self.table.len() * 4
            + self.contrib.len() * 4
            + self.correct_flags.len()
    }

    /// Hidden neurons (0 for a one-layer chain).
    pub fn hidden(&self) -> usize {
        if self.two_layers { self.limit.len() } else { 0 }
    }

    /// Input bits of the model.
    pub fn inputs(&self) -> usize {
        self.chain.inputs()
    }

    /// Output neurons.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Inputs of the output layer.
    pub fn output_inputs(&self) -> usize {
        self.width
    }

    /// How much [`objective`](Self::objective) would change if `flip` were applied. Reads
    /// only; safe to call from several threads at once.
    ///
    /// # Panics
    /// If the flip names a neuron or input the model does not have, or a hidden flip on a
    /// one-layer chain.
    pub fn delta(&self, flip: Flip) -> i64 {
        match flip {
            Flip::HiddenWeight { neuron, input } => {
                let up = self.up_mask_weight(neuron, input);
                self.hidden_delta(neuron, Some(up), None)
            }
            Flip::HiddenBias { neuron } => {
                let rising = self.hidden_layer().bias_bit(neuron) == 0;
                self.hidden_delta(neuron, None, Some(rising))
            }
            Flip::OutputWeight { class, input } => {
                let w = (self.wcol[input] >> class) & 1;
                let col = &self.hcol[input * self.ew..(input + 1) * self.ew];
                let mut delta = 0i64;
                let mut row = [0u32; 64];
                for b in 0..self.examples {
                    let x = (col[b / 64] >> (b % 64)) & 1;
                    let r = &self.d2[b * self.classes..(b + 1) * self.classes];
                    row[..self.classes].copy_from_slice(r);
                    // Equal bits now means a disagreement after the flip: one step farther.
                    row[class] = if x == w {
                        row[class] + 1
                    } else {
                        row[class] - 1
                    };
                    let (c, _) = self.judge(&row[..self.classes], &self.bias2, self.labels[b]);
                    delta += i64::from(c - self.contrib[b]);
                }
                delta
            }
            Flip::OutputBias { class } => {
                let mut bias = [0u32; 64];
                bias[..self.classes].copy_from_slice(&self.bias2);
                bias[class] ^= 1;
                let mut delta = 0i64;
                for b in 0..self.examples {
                    let r = &self.d2[b * self.classes..(b + 1) * self.classes];
                    let (c, _) = self.judge(r, &bias[..self.classes], self.labels[b]);
                    delta += i64::from(c - self.contrib[b]);
                }
                delta
            }
        }
    }

    /// Applies `flip` to the model and updates the state. Flips are their own inverse: applying
    /// the same flip again restores the previous state exactly.
    pub fn apply(&mut self, flip: Flip) {
        match flip {
            Flip::HiddenWeight { neuron, input } => {
                let up = self.up_mask_weight(neuron, input);
                self.hidden_apply(neuron, Some(up), None);
                self.hidden_layer_mut().params_mut().0.flip(neuron, input);
            }
            Flip::HiddenBias { neuron } => {
                let rising = self.hidden_layer().bias_bit(neuron) == 0;
                self.hidden_apply(neuron, None, Some(rising));
                self.hidden_layer_mut().params_mut().1.flip(0, neuron);
                self.limit[neuron] += if rising { -1 } else { 1 };
                self.refresh_masks(neuron);
            }
            Flip::OutputWeight { class, input } => {
                let w = (self.wcol[input] >> class) & 1;
                for b in 0..self.examples {
                    let x = (self.hcol[input * self.ew + b / 64] >> (b % 64)) & 1;
                    let d = &mut self.d2[b * self.classes + class];
                    *d = if x == w { *d + 1 } else { *d - 1 };
                }
                self.wcol[input] ^= 1 << class;
                self.output_layer_mut().params_mut().0.flip(class, input);
                self.rejudge_all();
            }
            Flip::OutputBias { class } => {
                self.bias2[class] ^= 1;
                self.output_layer_mut().params_mut().1.flip(0, class);
                self.rejudge_all();
            }
        }
    }

    /// Applies the flips, reads the objective and undoes them: the objective of the candidate
    /// that differs from the current model by all of `flips` (which must be distinct).
    pub fn objective_with(&mut self, flips: &[Flip]) -> i64 {
        for &f in flips {
            self.apply(f);
        }
        let total = self.total;
        for &f in flips.iter().rev() {
            self.apply(f);
        }
        total
    }

    fn hidden_layer(&self) -> &BitDense {
        assert!(self.two_layers, "a hidden flip on a one-layer chain");
        self.chain.layers()[0].as_bit().expect("checked in new")
    }

    fn hidden_layer_mut(&mut self) -> &mut BitDense {
        self.chain
            .layer_mut(0)
            .as_bit_mut()
            .expect("checked in new")
    }

    fn output_layer_mut(&mut self) -> &mut BitDense {
        let last = self.chain.layers().len() - 1;
        self.chain
            .layer_mut(last)
            .as_bit_mut()
            .expect("checked in new")
    }

    /// Examples whose distance to hidden neuron `j` grows when weight `i` flips: those whose
    /// input bit equals the weight now (they disagree after the flip).
    fn up_mask_weight(&self, j: usize, i: usize) -> Word {
        let w = self.hidden_layer().weights().get(j, i);
        Word {
            column: i,
            invert: !w,
        }
    }

    /// Bit `word` of the examples whose distance grows (see [`Word`]).
    #[inline]
    fn up_word(&self, up: Option<Word>, rising: Option<bool>, word: usize) -> u64 {
        match (up, rising) {
            (Some(u), _) => {
                let x = self.xcol[u.column * self.ew + word];
                if u.invert { !x } else { x }
            }
            (None, Some(true)) => u64::MAX,
            _ => 0,
        }
    }

    /// Objective change when hidden neuron `j`'s distances move up by one on the examples of
    /// `up` and down on the others (a weight flip), or its limit moves (a bias flip, `rising`
    /// when the bias bit goes 0 -> 1, which lowers the limit like a step up of every distance).
    fn hidden_delta(&self, j: usize, up: Option<Word>, rising: Option<bool>) -> i64 {
        let ew = self.ew;
        (0..ew)
            .map(|word| {
                let u = self.up_word(up, rising, word);
                let mask = if word + 1 == ew { self.tail } else { u64::MAX };
                let toggled =
                    ((self.at_low[j * ew + word] & u) | (self.at_high[j * ew + word] & !u)) & mask;
                self.toggles_delta(j, word, toggled)
            })
            .sum()
    }

    /// Objective change when hidden neuron `j`'s output bit toggles on the examples of
    /// `toggled` (bit `t` = example `64 * word + t`).
    #[inline]
    fn toggles_delta(&self, j: usize, word: usize, mut toggled: u64) -> i64 {
        let wj = self.wcol[j];
        let mut row = [0u32; 64];
        let mut delta = 0i64;
        while toggled != 0 {
            let b = word * 64 + toggled.trailing_zeros() as usize;
            toggled &= toggled - 1;
            // The bit after the toggle.
            let now = (self.hcol[j * self.ew + word] >> (b % 64)) & 1 == 0;
            let row = &mut row[..self.classes];
            row.copy_from_slice(&self.d2[b * self.classes..(b + 1) * self.classes]);
            follow_hidden_bit(row, wj, now);
            let (c, _) = self.judge(row, &self.bias2, self.labels[b]);
            delta += i64::from(c - self.contrib[b]);
        }
        delta
    }

    /// Toggles hidden neuron `j`'s output bit on the examples of `toggled` and updates their
    /// output distances and contributions.
    fn apply_toggles(&mut self, j: usize, word: usize, mut toggled: u64) {
        let wj = self.wcol[j];
        self.hcol[j * self.ew + word] ^= toggled;
        while toggled != 0 {
            let b = word * 64 + toggled.trailing_zeros() as usize;
            toggled &= toggled - 1;
            let now = (self.hcol[j * self.ew + word] >> (b % 64)) & 1 == 1;
            follow_hidden_bit(
                &mut self.d2[b * self.classes..(b + 1) * self.classes],
                wj,
                now,
            );
            self.rejudge(b);
        }
    }

    fn hidden_apply(&mut self, j: usize, up: Option<Word>, rising: Option<bool>) {
        let ew = self.ew;
        let n = self.examples;
        for word in 0..ew {
            let u = self.up_word(up, rising, word);
            let mask = if word + 1 == ew { self.tail } else { u64::MAX };
            let toggled =
                ((self.at_low[j * ew + word] & u) | (self.at_high[j * ew + word] & !u)) & mask;
            self.apply_toggles(j, word, toggled);
            if up.is_some() {
                let d = &mut self.d1[j * n + word * 64..(j * n + (word * 64 + 64).min(n))];
                for (t, v) in d.iter_mut().enumerate() {
                    if (u >> t) & 1 == 1 {
                        *v += 1;
                    } else {
                        *v -= 1;
                    }
                }
            }
        }
        if up.is_some() {
            self.refresh_masks(j);
        }
    }
    /// Rebuilds neuron `j`'s threshold masks and output column from its distances.
    fn refresh_neuron(&mut self, j: usize) {
        self.refresh_masks(j);
        let (n, ew) = (self.examples, self.ew);
        let lim = self.limit[j];
        for word in 0..ew {
            let mut fire = 0u64;
            for (t, &d) in self.d1[j * n + word * 64..j * n + (word * 64 + 64).min(n)]
                .iter()
                .enumerate()
            {
                fire |= u64::from(i64::from(d) > lim) << t;
            }
            self.hcol[j * ew + word] = fire;
        }
    }

    fn refresh_masks(&mut self, j: usize) {
        let (n, ew) = (self.examples, self.ew);
        let lim = self.limit[j];
        for word in 0..ew {
            let (mut low, mut high) = (0u64, 0u64);
            for (t, &d) in self.d1[j * n + word * 64..j * n + (word * 64 + 64).min(n)]
                .iter()
                .enumerate()
            {
                let d = i64::from(d);
                low |= u64::from(d == lim) << t;
                high |= u64::from(d == lim + 1) << t;
            }
            self.at_low[j * ew + word] = low;
            self.at_high[j * ew + word] = high;
        }
    }

    fn rejudge_all(&mut self) {
        self.total = 0;
        self.correct = 0;
        for b in 0..self.examples {
            let r = &self.d2[b * self.classes..(b + 1) * self.classes];
            let (c, ok) = self.judge(r, &self.bias2, self.labels[b]);
            self.contrib[b] = c;
            self.correct_flags[b] = ok;
            self.total += i64::from(c);
            self.correct += usize::from(ok);
        }
    }

    fn rejudge(&mut self, b: usize) {
        let r = &self.d2[b * self.classes..(b + 1) * self.classes];
        let (c, ok) = self.judge(r, &self.bias2, self.labels[b]);
        self.total += i64::from(c - self.contrib[b]);
        self.contrib[b] = c;
        if ok != self.correct_flags[b] {
            self.correct_flags[b] = ok;
            if ok {
                self.correct += 1;
            } else {
                self.correct -= 1;
            }
        }
    }

    /// An example's contribution to the objective and whether it is classified correctly,
    /// from its output distances `d` and the output bias bits.
    #[inline]
    fn judge(&self, d: &[u32], bias: &[u32], label: u8) -> (i32, bool) {
        let stride = self.width + 2;
        let y = usize::from(label);
        // First index of the highest score, as `layers::argmax`.
        let mut best = 0usize;
        let mut best_score = f32::NEG_INFINITY;
        let mut other_score = f32::NEG_INFINITY;
        let mut other_e = u32::MAX;
        for k in 0..d.len() {
            let e = d[k] + bias[k];
            let s = self.table[k * stride + e as usize];
            if k == 0 || s > best_score {
                best = k;
                best_score = s;
            }
            if k != y {
                other_score = other_score.max(s);
                other_e = other_e.min(e);
            }
        }
        let ok = best == y;
        let ey = d[y] + bias[y];
        let margin = if self.by_distance {
            i64::from(other_e) - i64::from(ey)
        } else {
            let sy = self.table[y * stride + ey as usize];
            (f64::from(sy - other_score) * self.width as f64).round() as i64
        };
        let cap = i64::from(self.objective.margin_cap);
        let c = margin.clamp(-cap, cap)
            + if ok {
                i64::from(self.objective.correct_weight)
            } else {
                0
            };
        (c as i32, ok)
    }
}

/// Checks that `chain` suits incremental evaluation: one or two bit layers, the hidden one
/// giving bits and the last one giving scores, at most 64 outputs.
pub fn check_chain(chain: &Chain) -> Result<(), DeltaError> {
    let layers = chain.layers();
    let shape = || {
        layers
            .iter()
            .map(|l| format!("{l}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let bits: Vec<&BitDense> = layers.iter().filter_map(|l| l.as_bit()).collect();
    if bits.len() != layers.len() || !(1..=2).contains(&bits.len()) {
        return Err(DeltaError::Shape(shape()));
    }
    let two_layers = bits.len() == 2;
    let out = *bits.last().expect("one or two");
    if out.output() == BitOutput::Bits {
        return Err(DeltaError::BitOutput);
    }
    if two_layers && bits[0].output() != BitOutput::Bits {
        return Err(DeltaError::HiddenFloat);
    }
    if bits.iter().any(|l| l.inputs() > usize::from(u16::MAX) - 1) {
        return Err(DeltaError::TooWide);
    }
    if out.outputs() > 64 {
        return Err(DeltaError::TooManyOutputs(out.outputs()));
    }
    Ok(())
}

/// Moves an example's output distances `d` (one per class) for a hidden neuron whose output
/// bit changed to `bit`: class `k` (weight bit `k` of `wj`) is one step farther where it now
/// disagrees, one step nearer where it now agrees.
#[inline]
fn follow_hidden_bit(d: &mut [u32], wj: u64, bit: bool) {
    for (k, v) in d.iter_mut().enumerate() {
        let disagree = ((wj >> k) & 1 == 1) != bit;
        *v = if disagree { *v + 1 } else { *v - 1 };
    }
}

/// Which examples' distances grow under a hidden weight flip: image column `column`, inverted
/// when the weight is 0 (examples whose bit is 0 agree now and disagree after).
#[derive(Clone, Copy, Debug)]
struct Word {
    column: usize,
    invert: bool,
}

/// Image bits transposed into columns of `ew` words, one per input bit.
fn columns(images: &BitMatrix, ew: usize) -> Vec<u64> {
    let n = images.cols();
    let mut cols = vec![0u64; n * ew];
    for b in 0..images.rows() {
        let row = images.row(b);
        for i in 0..n {
            if (row[i / 64] >> (i % 64)) & 1 == 1 {
                cols[i * ew + b / 64] |= 1 << (b % 64);
            }
        }
    }
    cols
}
