//! Layers applied in order ([`Chain`]).

use std::fmt;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Activations, BitDense, BitOutput, Floats, Input, InputError, Layer, argmax};
use crate::bits::{BitMatrix, words_for};
use crate::datasets::Split;

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

/// Rows per parallel task in batch forward: large enough to amortise the kernel's setup, small
/// enough to spread 10,000 examples over many threads.
pub(crate) const CHUNK_ROWS: usize = 256;

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
    use crate::layers::{Activation, Dense};

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
