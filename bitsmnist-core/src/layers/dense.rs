//! The fully connected float layer ([`Dense`]).

use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Activation;
#[cfg(doc)]
use super::{BitDense, Chain};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
