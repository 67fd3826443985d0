//! Layers and chains: [`BitDense`] (1-bit weights, bias and inputs), float [`Dense`], the bit
//! convolution [`BitConv2d`] and pool [`BitMaxPool`], and [`Chain`] which applies them in
//! order, one example or a whole data set at a time.
//!
//! One type family per file: [`Activation`] (`activation`), [`BitDense`] and [`BitOutput`]
//! (`bit_dense`), [`Dense`] (`dense`), the values between layers [`Activations`], [`Floats`]
//! and [`argmax`] (`values`), whole networks that vote together [`Vote`] (`vote`), the [`Layer`] enum (`layer`), how a model reads an example
//! [`Input`] (`input`), [`Chain`] (`chain`), the convolution and pool (`conv`) and how
//! architectures are written down (`architecture`). Every type is used as
//! `bitsmnist_core::layers::X`.

mod activation;
mod architecture;
mod bit_dense;
mod chain;
mod conv;
mod dense;
mod input;
mod layer;
mod values;
mod vote;

pub use activation::Activation;
pub use architecture::{
    Architecture, ArchitectureError, Feature, FeatureError, MAX_FILTER_BITS, architecture_string,
    feature_layers, feature_scratch_bytes, feature_shapes, parse_architecture,
};
pub use bit_dense::{BitDense, BitOutput};
pub use chain::{Chain, ShapeError, layer_seed};
pub use conv::{BitConv2d, BitMaxPool, ConvError, Shape};
pub use dense::Dense;
pub use input::{Input, InputError};
pub use layer::Layer;
pub use values::{Activations, Floats, argmax};
pub use vote::{MAX_VOTERS, Vote, VoteError};
