//! Gradient training of bit models with the straight-through estimator.
//!
//! The training-time network keeps real-valued *latent* weights, clipped to `[-1, 1]`; the
//! forward pass uses their signs, the activations between layers are signs too, and the
//! backward pass lets gradients straight through each sign where its input is in `[-1, 1]`
//! (the BinaryConnect / BinaryNet recipe, surveyed in Qin et al., *Binary neural networks: a
//! survey*, 2020; XNOR-Net is Rastegari et al., 2016). Batch normalisation after every layer
//! makes such networks train well; Adam updates the latent weights and the batch-norm
//! parameters, over seeded mini-batches, with a learning-rate [`Schedule`].
//!
//! [`Trainer::export`] folds the batch normalisation into the same packed bit model every
//! other part of the project uses ([`Chain`] of [`BitDense`], saved and evaluated alike):
//!
//! - a hidden neuron fires a 1-bit (-1) when its batch-norm output is negative. For bit inputs
//!   the pre-activation is `n - 2d` (`d` the Hamming distance), so this is `d > t` for an
//!   integer threshold `t` ([`BitDense::with_thresholds`]). A negative batch-norm scale flips
//!   the comparison: the neuron's weight row is inverted instead (`d' = n - d`), so inference
//!   is still one `popcount(x XOR w) > t` per neuron;
//! - the output layer gives the logits `scale * d + offset` per neuron
//!   ([`BitDense::with_affine`]): the same order, so the same argmax.
//!
//! The thresholds are found by evaluating the training network's own `f32` expression, so the
//! hidden bits of the export equal the training network's (evaluation mode) exactly; only the
//! output logits are computed by a different `f32` expression, which can only change a
//! prediction when two logits are within rounding of each other.
//!
//! Training is reproducible from [`GradientParams::seed`] whatever the number of threads: the
//! example order comes from an RNG derived from (seed, epoch), each batch's augmentation from
//! (seed, epoch, batch), and every parallel loop works on blocks fixed by the shapes with
//! sums in a fixed order.
//!
//! ```
//! use std::ops::ControlFlow;
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::gradient::{GradientParams, Trainer};
//! use bitsmnist_core::run::TrainOptions;
//!
//! let data = Dataset::embedded();
//! let train = data.train.sample(0.05, 10); // 500 digits
//! let params = GradientParams::default().hidden(vec![64]).epochs(2).seed(3);
//! let mut trainer = Trainer::new(params, 784, 10).unwrap();
//! let outcome = trainer
//!     .train(&train, &TrainOptions::new(), |p| {
//!         assert!(p.record.loss().is_some_and(f64::is_finite));
//!         ControlFlow::Continue(())
//!     })
//!     .unwrap();
//! assert_eq!((outcome.reason, outcome.step), (StopReason::Finished, 2));
//! let model: Chain = trainer.export(); // pure bit layers: XOR + popcount + compare
//! assert_eq!(model.to_string(), "Chain(BitDense(784, 64, thresholds), BitDense(64, 10, float, scaled))");
//! assert!(statistics::accuracy(&model, &train) > 0.5);
//! ```

mod distort;
mod net;
mod params;
mod simd;
mod spatial;

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use params::{GradientParams, GradientParamsError, MAX_ROTATE, MAX_WINDOW, MAX_ZOOM, Schedule};

use crate::bits::BitMatrix;
use crate::datasets::Split;
use crate::layers::{
    Activation, BitConv2d, BitDense, BitMaxPool, BitOutput, Chain, ConvError, Dense, Feature,
    Input, Layer, Shape,
};
use crate::run::{Detail, History, Interrupt, Log, Method, Step, Summary, TrainOptions};
use net::{AdamStep, Net, Path, bn_eval};

/// The widest layer [`GradientParams::hidden`] accepts.
pub const MAX_WIDTH: usize = 1 << 16;

/// Why gradient training could not start or go on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GradientError {
    /// A hyper-parameter out of range.
    // The parameter's error is in the text and not also a `source()` (see `From` below).
    #[error("gradient parameter `{}`: {}", .0.name(), .0)]
    Params(GradientParamsError),
    /// Training would need more memory than the limit ([`crate::memory`]).
    #[error(transparent)]
    Memory(#[from] crate::memory::MemoryError),
    /// Fewer than two classes, or an input width of zero.
    #[error("the model needs at least 1 input and 2 classes (got {inputs} and {classes})")]
    Shape {
        /// Input width.
        inputs: usize,
        /// Classes.
        classes: usize,
    },
    /// Shift, rotation or zoom augmentation on images that are not square.
    #[error(
        "shift, rotation and zoom augmentation need square images, and {0} pixels is not a square"
    )]
    NotSquare(usize),
    /// Grey input ([`Input::Grey`]) on images of several bits a pixel (a thermometer code):
    /// a grey model reads one level a pixel.
    #[error(
        "grey input reads one grey level a pixel, and these images have {0} bits a pixel (a thermometer code); train on bits, or binarise with one threshold"
    )]
    GreyChannels(usize),
    /// No examples to train on.
    #[error("no training examples")]
    EmptyData,
    /// Examples of the wrong width.
    #[error("the examples are {data} pixels wide but the model takes {model}")]
    InputWidth {
        /// Width of the examples.
        data: usize,
        /// Input width of the model.
        model: usize,
    },
    /// A label past the last class (noise labels included).
    #[error("label {label} is not one of the {classes} classes")]
    Label {
        /// The label.
        label: u8,
        /// Number of classes.
        classes: usize,
    },
    /// An interrupted epoch saved for a larger training split than the one given to resume it.
    #[error(
        "the interrupted epoch does not fit this training split (a different split than the run's)"
    )]
    Resume,
    /// Grey input asked for a split that kept no grey levels.
    #[error("grey input needs the grey levels, and this split has none")]
    NoGreyLevels,
    /// A stoppable step ([`Trainer::recalibrate_until`]) was asked to stop and did, leaving
    /// the state as it was.
    #[error("stopped before the end")]
    Stopped,
    /// A convolution or pool that does not fit the map it reads.
    #[error("{feature}: {error}")]
    Feature {
        /// The layer, as written in an architecture.
        feature: Feature,
        /// Why it does not fit.
        error: ConvError,
    },
}

/// The convolutions' geometry for `features` on the input map `image`.
fn geometry(features: &[Feature], image: Shape) -> Result<Vec<spatial::ConvGeom>, GradientError> {
    if features.is_empty() {
        return Ok(Vec::new());
    }
    if image.height <= 1 && image.width > 1 {
        return Err(GradientError::NotSquare(image.bits()));
    }
    let mut shape = image;
    let mut out: Vec<spatial::ConvGeom> = Vec::new();
    for &feature in features {
        let err = |error| GradientError::Feature { feature, error };
        match feature {
            Feature::Conv {
                filters,
                window,
                stride,
                padding,
            } => {
                let c = BitConv2d::new(shape, window, stride, padding, filters).map_err(err)?;
                out.push(spatial::ConvGeom {
                    input: shape,
                    window,
                    stride,
                    padding,
                    out: c.output_shape(),
                    pool: None,
                });
                shape = c.output_shape();
            }
            Feature::Pool { size, stride } => {
                let p = BitMaxPool::new(shape, size, stride).map_err(err)?;
                let g = out
                    .last_mut()
                    .expect("checked: a pool follows a convolution");
                g.pool = Some(spatial::PoolGeom {
                    size,
                    stride,
                    out: p.output_shape(),
                });
                shape = p.output_shape();
            }
        }
    }
    Ok(out)
}

impl From<GradientParamsError> for GradientError {
    fn from(e: GradientParamsError) -> Self {
        Self::Params(e)
    }
}

impl From<crate::layers::InputError> for GradientError {
    fn from(e: crate::layers::InputError) -> Self {
        match e {
            crate::layers::InputError::Width { data, model } => {
                GradientError::InputWidth { data, model }
            }
            _ => GradientError::NoGreyLevels,
        }
    }
}

/// What the callback of a trainer's [`train`](Method::train) sees after each epoch: the trainer
/// ([`Trainer::export`] gives the current model) and the epoch's record.
pub type Progress<'a> = crate::run::Progress<'a, Trainer>;

/// An epoch stopped between two mini-batches (by a time limit, cancellation or pause), kept
/// in the state so that the next call finishes it exactly as an uninterrupted run would.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PartialEpoch {
    next_batch: usize,
    loss_sum: f64,
    correct: usize,
    seen: usize,
    learning_rate: f32,
    train_secs: f64,
}

/// What a training step writes, kept from one mini-batch to the next so that steps do not
/// allocate (and fault in) their activations and gradients afresh.
#[derive(Default)]
struct Workspace {
    cache: net::Cache,
    grads: net::Grads,
    dlogits: Vec<f32>,
}

/// Random streams, so that no two uses of the seed share numbers.
const STREAM_INIT: u64 = 1;
const STREAM_ORDER: u64 = 2;
const STREAM_SHIFT: u64 = 3;
const STREAM_WARP: u64 = 4;

/// An RNG for (seed, stream, a, b), by SplitMix64 mixing. Gradient training keeps this mix
/// rather than [`crate::util`]'s shared derivation, which came later: changing it would change
/// every gradient run of a given seed, and the figures measured with them.
fn derive_rng(seed: u64, stream: u64, a: u64, b: u64) -> ChaCha8Rng {
    let mut x = seed;
    for v in [stream, a, b] {
        x = splitmix(x ^ splitmix(v.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    }
    ChaCha8Rng::seed_from_u64(x)
}

use crate::util::splitmix64 as splitmix;

/// The state of a gradient training run: hyper-parameters, the training-time network (latent
/// weights, batch norm, Adam moments), the epoch reached (and where inside it) and the
/// history. Serializable: a saved trainer resumes exactly where it stopped.
#[derive(Clone, Serialize, Deserialize)]
pub struct Trainer {
    params: GradientParams,
    net: Net,
    side: usize,
    epoch: u32,
    step: u64,
    log: Log,
    partial: Option<PartialEpoch>,
}

/// A [`Trainer`] as model-file format version 4 stored it (parameters without `features`);
/// see `io::legacy`. Frozen: never change this layout.
#[derive(Deserialize)]
pub(crate) struct TrainerV4 {
    params: params::GradientParamsV4,
    net: Net,
    side: usize,
    epoch: u32,
    step: u64,
    log: Log,
    partial: Option<PartialEpoch>,
}

/// A [`Trainer`] as model-file format versions 5 to 7 stored it (parameters without `rotate`
/// and `zoom`); see `io::legacy`. Frozen: never change this layout.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(crate) struct TrainerV7 {
    params: params::GradientParamsV7,
    net: Net,
    side: usize,
    epoch: u32,
    step: u64,
    log: Log,
    partial: Option<PartialEpoch>,
}

impl From<TrainerV7> for Trainer {
    fn from(t: TrainerV7) -> Self {
        Self {
            params: t.params.into(),
            net: t.net,
            side: t.side,
            epoch: t.epoch,
            step: t.step,
            log: t.log,
            partial: t.partial,
        }
    }
}

/// Version 7's copy of a trainer without rotations and zooms, to write version-7 payloads in
/// tests.
#[cfg(test)]
impl From<Trainer> for TrainerV7 {
    fn from(t: Trainer) -> Self {
        Self {
            params: t.params.into(),
            net: t.net,
            side: t.side,
            epoch: t.epoch,
            step: t.step,
            log: t.log,
            partial: t.partial,
        }
    }
}

impl From<TrainerV4> for Trainer {
    fn from(t: TrainerV4) -> Self {
        Self {
            params: t.params.into(),
            net: t.net,
            side: t.side,
            epoch: t.epoch,
            step: t.step,
            log: t.log,
            partial: t.partial,
        }
    }
}

impl Trainer {
    /// A fresh network from `inputs` pixels through [`GradientParams::hidden`] to `classes`
    /// outputs, latent weights drawn from the seed. Convolutions and shifts read the inputs as
    /// a square image of one channel; [`Trainer::for_image`] takes any map.
    pub fn new(
        params: GradientParams,
        inputs: usize,
        classes: usize,
    ) -> Result<Self, GradientError> {
        let image = Shape::square(inputs).unwrap_or(Shape::flat(inputs));
        Self::for_image(params, image, classes)
    }

    /// A fresh network reading the map `image` ([`Shape::input_of`] a data set: a
    /// thermometer code's bits are its channels) through [`GradientParams::hidden`] to
    /// `classes` outputs, latent weights drawn from the seed. Shift augmentation moves whole
    /// pixels, all their channels (rotations and zooms resample each channel), and needs a
    /// square image.
    ///
    /// ```
    /// use bitsmnist_core::gradient::{GradientParams, Trainer};
    /// use bitsmnist_core::layers::{Shape, parse_architecture};
    /// let (features, hidden) = parse_architecture("conv4x3,pool2,16").unwrap();
    /// let params = GradientParams::default().features(features).hidden(hidden);
    /// let t = Trainer::for_image(params, Shape::new(28, 28, 4), 10).unwrap();
    /// assert_eq!(t.inputs(), 4 * 784);
    /// ```
    pub fn for_image(
        params: GradientParams,
        image: Shape,
        classes: usize,
    ) -> Result<Self, GradientError> {
        params.check()?;
        let inputs = image.bits();
        if inputs == 0 || classes < 2 || inputs > MAX_WIDTH || classes > MAX_WIDTH {
            return Err(GradientError::Shape { inputs, classes });
        }
        if params.input == Input::Grey && image.channels > 1 {
            return Err(GradientError::GreyChannels(image.channels));
        }
        let square = image.height == image.width;
        // A flat input's side only matters with shifts, which refuse it.
        let side = if square {
            image.width
        } else {
            (inputs as f64).sqrt().round() as usize
        };
        if (params.max_shift > 0 || params.warps()) && !square {
            return Err(GradientError::NotSquare(inputs));
        }
        let convs = geometry(&params.features, image)?;
        // (inputs, outputs) of each layer's product: a convolution's are its window's bits
        // and its filters.
        let mut shapes: Vec<(usize, usize)> = convs
            .iter()
            .map(|g| (g.window * g.window * g.input.channels, g.out.channels))
            .collect();
        let mut widths = vec![convs.last().map_or(inputs, |g| g.after().bits())];
        if widths[0] > MAX_WIDTH * 4 {
            return Err(GradientError::Params(GradientParamsError::TooWide {
                limit: MAX_WIDTH * 4,
            }));
        }
        widths.extend(&params.hidden);
        widths.push(classes);
        shapes.extend(widths.windows(2).map(|w| (w[0], w[1])));
        let layers = shapes
            .into_iter()
            .enumerate()
            .map(|(li, (n, m))| {
                let limit = (params.init_scale * (6.0 / (n + m) as f32).sqrt()).min(params.clip);
                let mut rng = derive_rng(params.seed, STREAM_INIT, li as u64, 0);
                let weights = (0..n * m)
                    .map(|_| rng.random_range(-limit..=limit))
                    .collect();
                net::Layer::new(n, m, weights)
            })
            .collect();
        let net = Net {
            layers,
            eps: params.bn_eps,
            momentum: params.bn_momentum,
            clip: params.clip,
            convs,
        };
        Ok(Self {
            params,
            net,
            side,
            epoch: 0,
            step: 0,
            log: Log::default(),
            partial: None,
        })
    }

    /// The hyper-parameters.
    pub fn params(&self) -> &GradientParams {
        &self.params
    }

    /// Epochs completed.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Every completed epoch's record.
    pub fn history(&self) -> &History {
        &self.log.history
    }

    /// Seconds spent training, over all calls.
    pub fn elapsed_secs(&self) -> f64 {
        self.log.elapsed_secs
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.net.inputs()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.net.classes()
    }

    /// Whether the last epoch's mini-batches on `train` (the run's training split) are all
    /// done and only its re-estimation of the batch statistics is left: a stop came during
    /// it, and the next call of [`train`](Method::train) re-estimates them (until then the
    /// model keeps the running statistics training made).
    pub fn awaits_recalibration(&self, train: &Split) -> bool {
        let batches = train.len() / self.params.batch_size.min(train.len()).max(1);
        self.params.recalibrate
            && self.epoch + 1 == self.params.epochs
            && self
                .partial
                .as_ref()
                .is_some_and(|p| p.next_batch == batches)
    }

    /// Whether every epoch of [`GradientParams::epochs`] is done.
    pub fn is_finished(&self) -> bool {
        self.epoch >= self.params.epochs
    }

    fn check_split(&self, split: &Split) -> Result<(), GradientError> {
        if split.is_empty() {
            return Err(GradientError::EmptyData);
        }
        if split.images().cols() != self.inputs() {
            return Err(GradientError::InputWidth {
                data: split.images().cols(),
                model: self.inputs(),
            });
        }
        if let Some(&label) = split
            .labels()
            .iter()
            .find(|&&l| l as usize >= self.classes())
        {
            return Err(GradientError::Label {
                label,
                classes: self.classes(),
            });
        }
        if self.params.input == Input::Grey && split.grey(0).is_none() {
            return Err(GradientError::NoGreyLevels);
        }
        Ok(())
    }

    /// One epoch (or the rest of an interrupted one), stopping between mini-batches and
    /// between the chunks of the last epoch's recalibration when `interrupt` fires.
    fn epoch_step(&mut self, train: &Split, interrupt: &Interrupt<'_>) -> Step {
        let t0 = Instant::now();
        let n = train.len();
        let bs = self.params.batch_size.min(n);
        let batches = n / bs; // drop the last partial batch: batch norm wants full ones
        let total_steps = (batches as u64 * u64::from(self.params.epochs)).max(1);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut derive_rng(
            self.params.seed,
            STREAM_ORDER,
            u64::from(self.epoch),
            0,
        ));
        let mut p = self.partial.take().unwrap_or(PartialEpoch {
            next_batch: 0,
            loss_sum: 0.0,
            correct: 0,
            seen: 0,
            learning_rate: self.params.learning_rate,
            train_secs: 0.0,
        });
        let runs_batches = p.next_batch < batches;
        // One epoch's buffers, reused by every mini-batch and freed with the epoch.
        let mut work = Workspace::default();
        for k in p.next_batch..batches {
            let idx = &order[k * bs..(k + 1) * bs];
            let (input, side) = (self.params.input, self.side);
            let x = if self.params.warps() {
                let warps = self.warps(bs, k);
                let snap = input == Input::Bits;
                batch_input(train, idx, input, |j, img| {
                    let ch = img.len() / (side * side).max(1);
                    warps[j].apply(&img, side, ch, background(input), snap)
                })
            } else {
                let shifts = self.shifts(bs, k);
                batch_input(train, idx, input, |j, img| {
                    shifted(img, shifts[j], side, background(input))
                })
            };
            let labels: Vec<u8> = idx.iter().map(|&i| train.labels()[i]).collect();
            let progress = self.step as f64 / total_steps as f64;
            let lr = self
                .params
                .schedule
                .rate(self.params.learning_rate, progress, self.epoch);
            let t = self.step + 1;
            let step = AdamStep {
                lr,
                beta1: self.params.beta1,
                beta2: self.params.beta2,
                eps: self.params.adam_eps,
                c1: (1.0 - f64::from(self.params.beta1).powf(t as f64)) as f32,
                c2: (1.0 - f64::from(self.params.beta2).powf(t as f64)) as f32,
            };
            let Workspace {
                cache,
                grads,
                dlogits,
            } = &mut work;
            self.net.forward_train_into(&x, bs, Path::Binary, cache);
            let (loss, right) = self.net.loss_into(cache, &labels, dlogits);
            self.net.backward_into(cache, dlogits, grads);
            self.net.update(grads, step, Path::Binary);
            self.step = t;
            p.next_batch = k + 1;
            p.loss_sum += f64::from(loss) * bs as f64;
            p.correct += right;
            p.seen += bs;
            p.learning_rate = lr;
            if k + 1 < batches && interrupt.fired() {
                p.train_secs += t0.elapsed().as_secs_f64();
                self.partial = Some(p);
                return Step::Interrupted;
            }
        }
        // The re-estimation below has buffers of its own.
        drop(work);
        // The last epoch ends with the re-estimated batch statistics. Stopped, the epoch stays
        // open with all its batches done: the state keeps the statistics training made (a
        // whole model, saved and evaluated as it is), and the next call (a resumed run)
        // re-estimates them from the start, as the uninterrupted run would have. A call that
        // has only the re-estimation left makes it whatever its time limit and pauses (only a
        // cancel, the run's end, stops it), as every call makes at least one mini-batch:
        // otherwise pauses or time limits shorter than the re-estimation would never let the
        // run end.
        let stop = || {
            if runs_batches {
                interrupt.fired()
            } else {
                interrupt.cancelled()
            }
        };
        if self.epoch + 1 >= self.params.epochs
            && self.params.recalibrate
            && let Err(GradientError::Stopped) = self.recalibrate_until(train, &stop)
        {
            p.train_secs += t0.elapsed().as_secs_f64();
            self.partial = Some(p);
            return Step::Interrupted;
        }
        p.train_secs += t0.elapsed().as_secs_f64();
        self.epoch += 1;
        let seen = p.seen.max(1) as f64;
        Step::Done(Summary::single(
            p.correct as f64 / seen,
            Detail::Gradient {
                epochs: u64::from(self.params.epochs),
                loss: p.loss_sum / seen,
                learning_rate: p.learning_rate,
                examples_per_sec: p.seen as f64 / p.train_secs.max(1e-9),
            },
        ))
    }

    /// Checks what serde cannot (for a state read from a file) and rebuilds what is not
    /// stored (the signs of the latent weights).
    pub(crate) fn restore(&mut self) -> Result<(), String> {
        self.params.check().map_err(|e| e.to_string())?;
        let first = self.net.layers.first().ok_or("no layers")?.n;
        // The image's channels are not stored: the first convolution's windows hold them.
        let image = match self.params.features.first() {
            None => Shape::flat(first),
            Some(&Feature::Conv { window, .. }) => {
                Shape::new(self.side, self.side, first / (window * window).max(1))
            }
            Some(_) => return Err("a pool before any convolution".into()),
        };
        self.net.convs = geometry(&self.params.features, image).map_err(|e| e.to_string())?;
        let nc = self.net.convs.len();
        let widths: Vec<usize> = self.net.layers.iter().map(|l| l.m).collect();
        if widths.len() != nc + self.params.hidden.len() + 1
            || widths[nc..widths.len() - 1] != self.params.hidden[..]
        {
            return Err(format!(
                "layer widths {widths:?} are not the parameters' {:?}",
                self.params.hidden
            ));
        }
        let mut inputs = self.net.convs.last().map_or(first, |g| g.after().bits());
        for (i, l) in self.net.layers.iter().enumerate() {
            let want = match self.net.convs.get(i) {
                Some(g) => (g.window * g.window * g.input.channels, g.out.channels),
                None => (inputs, l.m),
            };
            if (l.n, l.m) != want || !l.is_consistent() {
                return Err(format!("layer {i} has inconsistent shapes"));
            }
            if i >= nc {
                inputs = l.m;
            }
        }
        let pixels = self.side.saturating_mul(self.side);
        if (self.params.max_shift > 0 || self.params.warps())
            && (pixels == 0 || !self.inputs().is_multiple_of(pixels))
        {
            return Err("shift augmentation on images that are not square".into());
        }
        if self.epoch > self.params.epochs {
            return Err(format!("epoch {} of {}", self.epoch, self.params.epochs));
        }
        for l in &mut self.net.layers {
            l.binarize(Path::Binary);
        }
        Ok(())
    }

    /// Shifts of the examples of batch `k` of the current epoch.
    fn shifts(&self, bs: usize, k: usize) -> Vec<(i32, i32)> {
        let s = i32::from(self.params.max_shift);
        if s == 0 {
            return vec![(0, 0); bs];
        }
        let mut rng = derive_rng(
            self.params.seed,
            STREAM_SHIFT,
            u64::from(self.epoch),
            k as u64,
        );
        (0..bs)
            .map(|_| (rng.random_range(-s..=s), rng.random_range(-s..=s)))
            .collect()
    }

    /// Rotations, zooms and shifts of the examples of batch `k` of the current epoch.
    fn warps(&self, bs: usize, k: usize) -> Vec<distort::Warp> {
        let mut rng = derive_rng(
            self.params.seed,
            STREAM_WARP,
            u64::from(self.epoch),
            k as u64,
        );
        (0..bs)
            .map(|_| distort::Warp::draw(&self.params, &mut rng))
            .collect()
    }

    /// Predictions of the training-time network in evaluation mode (running batch statistics,
    /// `f32` arithmetic), for comparison with [`Trainer::export`].
    pub fn predict_network(&self, split: &Split) -> Result<Vec<usize>, GradientError> {
        self.check_split_input(split)?;
        let c = self.classes();
        let mut out = Vec::with_capacity(split.len());
        let idx: Vec<usize> = (0..split.len()).collect();
        for chunk in idx.chunks(1000) {
            let b = chunk.len();
            let x = batch_input(split, chunk, self.params.input, |_, img| img);
            let logits = self.net.forward_eval(&x, b, self.net.layers.len());
            out.extend((0..b).map(|i| {
                (0..c).fold(0, |best, k| {
                    if logits[k * b + i] > logits[best * b + i] {
                        k
                    } else {
                        best
                    }
                })
            }));
        }
        Ok(out)
    }

    /// Replaces the batch-norm running statistics with the exact statistics of `split`
    /// (without augmentation), layer after layer. Training ([`Method::train`]) does this after
    /// the last epoch when [`GradientParams::recalibrate`] is on, stopping at its stop points
    /// as [`recalibrate_until`](Self::recalibrate_until) does.
    pub fn recalibrate(&mut self, split: &Split) -> Result<(), GradientError> {
        self.recalibrate_until(split, &|| false)
    }

    /// [`recalibrate`](Self::recalibrate), asking `stop` before every chunk of examples (a
    /// bounded amount of work, a few hundredths of a second). When `stop` says so it returns
    /// [`GradientError::Stopped`] with every statistic as it was before the call: the model
    /// is then the one training made, not a mixture of re-estimated layers and layers
    /// normalised for the inputs they saw before.
    ///
    /// ```
    /// use bitsmnist_core::prelude::*;
    /// use bitsmnist_core::gradient::{GradientError, GradientParams, Trainer};
    /// let train = Dataset::embedded().train.sample(0.02, 10);
    /// let mut trainer = Trainer::new(GradientParams::default().hidden(vec![32]), 784, 10).unwrap();
    /// let before = trainer.export();
    /// assert_eq!(trainer.recalibrate_until(&train, &|| true), Err(GradientError::Stopped));
    /// assert!(trainer.export() == before);
    /// ```
    pub fn recalibrate_until(
        &mut self,
        split: &Split,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), GradientError> {
        self.check_split_input(split)?;
        let input = self.params.input;
        let batch = |chunk: &[usize]| batch_input(split, chunk, input, |_, img| img);
        if self.net.recalibrate(split.len(), &batch, stop) {
            Ok(())
        } else {
            Err(GradientError::Stopped)
        }
    }

    fn check_split_input(&self, split: &Split) -> Result<(), GradientError> {
        if split.images().cols() != self.inputs() {
            return Err(GradientError::InputWidth {
                data: split.images().cols(),
                model: self.inputs(),
            });
        }
        if self.params.input == Input::Grey && !split.is_empty() && split.grey(0).is_none() {
            return Err(GradientError::NoGreyLevels);
        }
        Ok(())
    }

    /// The packed model: batch normalisation folded into per-neuron thresholds (hidden
    /// layers, weight rows inverted where the scale is negative) and a per-neuron scale and
    /// offset (output layer, identity activation), so that the argmax is the training
    /// network's. The chain reads the trainer's input ([`Chain::input`]): with
    /// [`Input::Grey`] the first layer is a float [`Dense`] with ±1 weights fed grey levels /
    /// 255 ([`Chain::predict_split`] does).
    pub fn export(&self) -> Chain {
        let last = self.net.layers.len() - 1;
        let mut layers = Vec::with_capacity(self.net.layers.len() + self.net.convs.len());
        for (li, l) in self.net.layers.iter().enumerate() {
            let inv = l.eval_inv_std(self.net.eps);
            if let Some(g) = self.net.convs.get(li) {
                let Layer::Bit(filters) = export_hidden(l, &inv) else {
                    unreachable!("hidden layers export as bit layers")
                };
                layers.push(
                    BitConv2d::from_filters(g.input, g.window, g.stride, g.padding, filters)
                        .expect("checked geometry")
                        .into(),
                );
                if let Some(p) = g.pool {
                    layers.push(
                        BitMaxPool::new(g.out, p.size, p.stride)
                            .expect("checked geometry")
                            .into(),
                    );
                }
            } else if li == last {
                layers.push(export_output(l, &inv));
            } else if li == 0 && self.params.input == Input::Grey {
                layers.push(export_dense(l, &inv));
            } else {
                layers.push(export_hidden(l, &inv));
            }
        }
        Chain::new(layers)
            .expect("widths line up")
            .with_input(self.params.input)
    }
}

impl std::fmt::Debug for Trainer {
    /// A summary, not the millions of weights.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let widths: Vec<usize> = std::iter::once(self.inputs())
            .chain(self.net.layers.iter().map(|l| l.m))
            .collect();
        f.debug_struct("Trainer")
            .field("widths", &widths)
            .field("epoch", &self.epoch)
            .field("step", &self.step)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// A trainer trains on a training split through the shared loop: `trainer.train(&split,
/// &options, callback)` ([`Method::train`]) runs epochs until [`GradientParams::epochs`] are
/// done or a rule of `options` stops it; each record holds the mean loss and accuracy over the
/// epoch's (augmented) mini-batches, and the exported model's accuracy on the validation split
/// of `options`, if any. A time limit, cancellation or pause stops it after the current
/// mini-batch; calling it again resumes where it stopped, mid-epoch included, exactly as an
/// uninterrupted run.
impl Trainer {
    /// The bytes an epoch on `examples` examples needs beyond the weights the trainer holds
    /// ([`GradientParams::memory_estimate`]).
    pub fn memory_to_train(&self, examples: usize) -> u64 {
        let p = &self.params;
        let all = p.memory_estimate(self.inputs(), self.classes(), examples);
        all.saturating_sub(p.memory_estimate(self.inputs(), self.classes(), 0))
    }
}

impl Method for Trainer {
    type Data = Split;
    type Error = GradientError;

    fn step_number(&self) -> u64 {
        u64::from(self.epoch)
    }

    fn prepare(&mut self, train: &Split, options: &TrainOptions) -> Result<(), GradientError> {
        self.check_split(train)?;
        crate::memory::check_current(self.memory_to_train(train.len()))?;
        if let Some(v) = &options.validation {
            self.check_split(&v.split)?;
        }
        if let Some(p) = &self.partial {
            let bs = self.params.batch_size.min(train.len());
            if p.next_batch > train.len() / bs {
                return Err(GradientError::Resume);
            }
        }
        Ok(())
    }

    fn step(&mut self, train: &Split, interrupt: &Interrupt<'_>) -> Result<Step, GradientError> {
        Ok(self.epoch_step(train, interrupt))
    }

    fn is_finished(&self) -> bool {
        Trainer::is_finished(self)
    }

    fn current_model(&self) -> Chain {
        self.export()
    }

    fn log(&mut self) -> &mut Log {
        &mut self.log
    }
}

/// Weight row of neuron `j` as bits (1 where the latent weight is negative), inverted if `flip`.
fn row_bits(l: &net::Layer, j: usize, flip: bool) -> impl Iterator<Item = bool> + '_ {
    l.w[j * l.n..(j + 1) * l.n]
        .iter()
        .map(move |&w| (w < 0.0) != flip)
}

fn export_hidden(l: &net::Layer, inv: &[f32]) -> Layer {
    let n = l.n;
    let mut weights = BitMatrix::zeros(l.m, n);
    let mut thresholds = Vec::with_capacity(l.m);
    for (j, &inv) in inv.iter().enumerate() {
        let flip = l.gamma[j] < 0.0;
        for (c, bit) in row_bits(l, j, flip).enumerate() {
            if bit {
                weights.set(j, c, true);
            }
        }
        // The bit is 1 (-1) where the batch-norm output is negative. As a function of the
        // distance to the (possibly inverted) row this is monotone: false, then true. The
        // threshold is the last distance where it is false (-1 if none).
        let fires = |d: usize| {
            let z = if flip {
                2.0 * d as f32 - n as f32
            } else {
                n as f32 - 2.0 * d as f32
            };
            bn_eval(z, l.mean[j], inv, l.gamma[j], l.beta[j]) < 0.0
        };
        let (mut lo, mut hi) = (0, n + 1); // the first firing distance is in lo..=hi
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if fires(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        thresholds.push(lo as i64 - 1);
    }
    let bias = BitMatrix::zeros(1, l.m);
    BitDense::from_parts(weights, bias, BitOutput::Bits)
        .and_then(|b| b.with_thresholds(thresholds))
        .expect("shapes")
        .into()
}

fn export_output(l: &net::Layer, inv: &[f32]) -> Layer {
    let mut weights = BitMatrix::zeros(l.m, l.n);
    let (mut scale, mut offset) = (Vec::with_capacity(l.m), Vec::with_capacity(l.m));
    for (j, &inv) in inv.iter().enumerate() {
        for (c, bit) in row_bits(l, j, false).enumerate() {
            if bit {
                weights.set(j, c, true);
            }
        }
        // gamma ((n - 2d) - mean) inv + beta = scale d + offset
        let (g, i) = (f64::from(l.gamma[j]), f64::from(inv));
        scale.push((-2.0 * g * i) as f32);
        offset.push((g * i * (l.n as f64 - f64::from(l.mean[j])) + f64::from(l.beta[j])) as f32);
    }
    let bias = BitMatrix::zeros(1, l.m);
    BitDense::from_parts(weights, bias, BitOutput::Float(Activation::Identity))
        .and_then(|b| b.with_affine(scale, offset))
        .expect("shapes")
        .into()
}

/// A float first layer: `±(z - tau)` with `z` the ±1-weighted sum, negative exactly where
/// the batch-norm output is (up to `f32` rounding).
fn export_dense(l: &net::Layer, inv: &[f32]) -> Layer {
    let mut weights = Vec::with_capacity(l.m * l.n);
    let mut bias = Vec::with_capacity(l.m);
    for (j, &inv) in inv.iter().enumerate() {
        let (g, i, mu, b) = (
            f64::from(l.gamma[j]),
            f64::from(inv),
            f64::from(l.mean[j]),
            f64::from(l.beta[j]),
        );
        let row = &l.w[j * l.n..(j + 1) * l.n];
        if g == 0.0 {
            weights.extend(std::iter::repeat_n(0.0, l.n));
            bias.push(if b < 0.0 { -1.0 } else { 1.0 });
            continue;
        }
        // y < 0  <=>  z < tau (g > 0)  or  z > tau (g < 0), tau = mu - b / (g i)
        let tau = mu - b / (g * i);
        let s: f32 = if g > 0.0 { 1.0 } else { -1.0 };
        weights.extend(row.iter().map(|&w| s * net::sign(w)));
        bias.push((-f64::from(s) * tau) as f32);
    }
    Dense::from_parts(l.n, weights, bias, Activation::Identity)
        .expect("shapes")
        .into()
}

/// The value of a pixel moved in from outside the image: background, as the input reads it.
fn background(input: Input) -> f32 {
    match input {
        Input::Bits => Input::bit_value(false),
        Input::Grey => Input::grey_value(0),
    }
}

/// `img` (`side x side` pixels, all of a pixel's channels adjacent) moved by `(dx, dy)` whole
/// pixels with all its channels; pixels moved in from outside are `bg`.
fn shifted(img: Vec<f32>, (dx, dy): (i32, i32), side: usize, bg: f32) -> Vec<f32> {
    if (dx, dy) == (0, 0) {
        return img;
    }
    let s = side as i32;
    let ch = img.len() / (side * side).max(1);
    let mut out = vec![bg; img.len()];
    for r in 0..s {
        for c in 0..s {
            let (sr, sc) = (r - dy, c - dx);
            if (0..s).contains(&sr) && (0..s).contains(&sc) {
                let (to, from) = ((r * s + c) as usize * ch, (sr * s + sc) as usize * ch);
                out[to..to + ch].copy_from_slice(&img[from..from + ch]);
            }
        }
    }
    out
}

/// The first layer's input for the examples `idx`, feature-major (`inputs x idx.len()`):
/// example `idx[j]` as `input` reads it, passed through `view(j, image)` (a shift or a warp
/// of the training batch, or the image as it is).
fn batch_input(
    split: &Split,
    idx: &[usize],
    input: Input,
    view: impl Fn(usize, Vec<f32>) -> Vec<f32> + Sync,
) -> Vec<f32> {
    let p = split.images().cols();
    let b = idx.len();
    let cols: Vec<Vec<f32>> = idx
        .par_iter()
        .enumerate()
        .map(|(j, &i)| view(j, input.example_floats(split, i)))
        .collect();
    let mut x = vec![0.0f32; p * b];
    for (k, col) in cols.iter().enumerate() {
        for (j, &v) in col.iter().enumerate() {
            x[j * b + k] = v;
        }
    }
    x
}

#[cfg(test)]
mod recalibration_tests {
    use super::*;
    use crate::datasets::Dataset;

    #[test]
    fn the_statistics_do_not_depend_on_the_chunk_size() {
        let train = Dataset::embedded().train.sample(0.05, 10);
        let params = GradientParams::default()
            .features(
                crate::layers::parse_architecture("conv4x3,pool2")
                    .unwrap()
                    .0,
            )
            .hidden(vec![16])
            .seed(2);
        let mut a = Trainer::new(params, 784, 10).unwrap();
        let mut b = a.clone();
        let input = a.params.input;
        let batch = |chunk: &[usize]| batch_input(&train, chunk, input, |_, img| img);
        // One example per chunk against the largest chunks.
        assert!(
            a.net
                .recalibrate_in_chunks(train.len(), &batch, &|| false, 1)
        );
        assert!(
            b.net
                .recalibrate_in_chunks(train.len(), &batch, &|| false, u64::MAX)
        );
        assert!(a.export() == b.export());
    }
}
