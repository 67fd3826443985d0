//! One layer of a chain, of any kind ([`Layer`]).

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::Chain;
use super::{Activations, BitConv2d, BitDense, BitMaxPool, BitOutput, Dense, Floats, Vote};

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
    /// Whole networks whose scores add up: a merged ensemble whose members keep their own
    /// layers (format version 8 and later).
    Vote(Vote),
}

impl Layer {
    /// Input width.
    pub fn inputs(&self) -> usize {
        match self {
            Layer::Bit(l) => l.inputs(),
            Layer::Float(l) => l.inputs(),
            Layer::Conv(l) => l.inputs(),
            Layer::Pool(l) => l.inputs(),
            Layer::Vote(l) => l.inputs(),
        }
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        match self {
            Layer::Bit(l) => l.outputs(),
            Layer::Float(l) => l.outputs(),
            Layer::Conv(l) => l.outputs(),
            Layer::Pool(l) => l.outputs(),
            Layer::Vote(l) => l.outputs(),
        }
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        match self {
            Layer::Bit(l) => l.parameters(),
            Layer::Float(l) => l.parameters(),
            Layer::Conv(l) => l.filters().parameters(),
            Layer::Pool(_) => 0,
            Layer::Vote(l) => l.parameters(),
        }
    }

    /// Bytes of the stored parameters.
    pub fn bytes(&self) -> usize {
        match self {
            Layer::Bit(l) => l.bytes(),
            Layer::Float(l) => l.bytes(),
            Layer::Conv(l) => l.filters().bytes(),
            Layer::Pool(_) => 0,
            Layer::Vote(l) => l.bytes(),
        }
    }

    /// Checks the invariants of a deserialized layer.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            Layer::Bit(l) => l.validate(),
            Layer::Float(l) => l.validate(),
            Layer::Conv(l) => l.validate(),
            Layer::Pool(l) => l.validate(),
            Layer::Vote(l) => l.validate(),
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
            Layer::Float(_) | Layer::Vote(_) => false,
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
            Layer::Vote(l) => l.forward(x),
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

impl From<Vote> for Layer {
    fn from(l: Vote) -> Self {
        Layer::Vote(l)
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
            Layer::Vote(l) => fmt::Display::fmt(l, f),
        }
    }
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
