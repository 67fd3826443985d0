//! Bit neural networks (1-bit weights, biases and activations) on handwritten digits.
//!
//! A Rust re-creation and extension of BitsMNIST.jl and the bit layers of TinyML.jl:
//!
//! - [`datasets`]: MNIST-like IDX data, binarised and packed 784 bits per image; the real
//!   digits are embedded so nothing needs downloading.
//! - [`bits`]: packed bit matrices and XOR + popcount kernels chosen at run time.
//! - [`layers`]: [`layers::BitDense`], float [`layers::Dense`], [`layers::Chain`].
//! - [`statistics`]: error, accuracy, confusion matrix, recall, MCC, [`statistics::Evaluation`].
//! - [`fitness`]: what genetic training maximises (score, accuracy, MCC, closures).
//! - [`run`]: the one training loop every method runs: stop rules, pause and budget,
//!   records and history.
//! - [`search`]: gradient-free search: the population algorithm, bit-flip climbing,
//!   ensembles, incremental evaluation, measured recipes.
//! - [`training`]: one configuration and one saved state for every method.
//! - [`io`]: the versioned, checked `.bin` model file ([`io::ModelFile`]).
//! - [`files`]: reads of regular files only, atomic writes, writability checks.
//! - [`memory`]: what a run will need, estimated from its shapes, and what the machine gives.
//! - [`util`]: seed mixing and option-text errors, shared at the bottom.
//! - [`display`]: rich output in Jupyter notebooks (evcxr): digits, galleries, model tables,
//!   confusion heat maps, weight images, line plots.
//! - [`gradient`]: gradient training (straight-through estimator) exported to bit layers.
//!
//! ```
//! use bitsmnist_core::prelude::*;
//!
//! let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
//! // 639 of the 2,128 training zeros and ones, about the original's 600 (0.01 of its 60,000).
//! let sample = data.train.sample(0.3, 2);
//! assert_eq!(sample.len(), 639);
//! let model = Chain::new(vec![
//!     BitDense::new(784, 800).with_seed(1).into(),
//!     BitDense::new(800, 2).with_seed(2).with_output(BitOutput::Float(Activation::Sigmoid)).into(),
//! ]).unwrap();
//! let err = statistics::error(&model, &sample);
//! assert!((0.0..=1.0).contains(&err));
//! ```

#![warn(missing_docs)]

pub mod bits;
pub mod datasets;
pub mod display;
pub mod export;
pub mod files;
pub mod fitness;
pub mod gradient;
pub mod io;
pub mod layers;
pub mod memory;
pub mod run;
pub mod runs;
pub mod search;
pub mod session;
pub mod statistics;
pub mod training;
pub mod util;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The examples of the documentation pages, compiled (and, unless marked `no_run`, run) as doc
/// tests, so that the pages stay true.
#[cfg(doctest)]
pub mod docs_doctests {
    /// `docs/library.md`.
    #[doc = include_str!("../../docs/library.md")]
    pub struct Library;
    /// `docs/climbing.md`.
    #[doc = include_str!("../../docs/climbing.md")]
    pub struct Climbing;
    /// `docs/gradient.md`.
    #[doc = include_str!("../../docs/gradient.md")]
    pub struct Gradient;
}

/// The names most programs need.
pub mod prelude {
    pub use crate::bits::{BitMatrix, Kernel};
    pub use crate::datasets::{Binarization, Dataset, Noise, Source, Split, Task, TaskError};
    pub use crate::display::{Gallery, Image, LinePlot, WeightImages};
    pub use crate::fitness::{Fitness, Metric};
    pub use crate::io::{Metadata, ModelFile};
    pub use crate::layers::{
        Activation, BitConv2d, BitDense, BitMaxPool, BitOutput, Chain, Dense, Input, Layer, Shape,
    };
    pub use crate::run::{CancelToken, History, Method, Record, StopReason, TrainOptions};
    pub use crate::search::{Population, PopulationParams};
    pub use crate::statistics::{self, ConfusionMatrix, Evaluation};
    pub use crate::training::{Recipe, TrainConfig, TrainingState};
}
