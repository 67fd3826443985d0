//! Hyper-parameters of gradient training, with documented defaults.

use serde::{Deserialize, Serialize};

use crate::layers::Feature;
use crate::layers::Input;

/// Learning-rate schedule over the whole run (`epochs` epochs), evaluated at every step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Cosine decay from the base rate to `base * floor` at the last step.
    Cosine {
        /// Final rate as a fraction of the base rate.
        floor: f32,
    },
    /// The rate times `factor` every `every` epochs.
    Step {
        /// Epochs between decays (at least 1).
        every: u32,
        /// Multiplier at each decay.
        factor: f32,
    },
}

impl Default for Schedule {
    /// Cosine decay to 1% of the base rate.
    fn default() -> Self {
        Schedule::Cosine { floor: 0.01 }
    }
}

impl Schedule {
    /// The rate at `progress` (fraction of the run done, 0 to 1) in epoch `epoch`.
    pub fn rate(self, base: f32, progress: f64, epoch: u32) -> f32 {
        match self {
            Schedule::Constant => base,
            Schedule::Cosine { floor } => {
                let c = 0.5 * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos());
                base * (f64::from(floor) + (1.0 - f64::from(floor)) * c) as f32
            }
            Schedule::Step { every, factor } => base * factor.powi((epoch / every.max(1)) as i32),
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = crate::util::ParseError;
    /// `constant`, `cosine`, `cosine:FLOOR`, or `step:EVERY:FACTOR`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || {
            crate::util::ParseError::new(
                "schedule",
                s,
                "use constant, cosine[:floor] or step:every:factor",
            )
        };
        match parts.as_slice() {
            ["constant"] => Ok(Schedule::Constant),
            ["cosine"] => Ok(Schedule::default()),
            ["cosine", f] => Ok(Schedule::Cosine {
                floor: f.parse().map_err(|_| bad())?,
            }),
            ["step", e, f] => Ok(Schedule::Step {
                every: e.parse().map_err(|_| bad())?,
                factor: f.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

/// As the command line's `--schedule` takes it: `constant`, `cosine:0.01`, `step:10:0.5`.
///
/// ```
/// use bitsmnist_core::gradient::Schedule;
/// for text in ["constant", "cosine:0.01", "step:10:0.5"] {
///     let s: Schedule = text.parse().unwrap();
///     assert_eq!(s.to_string(), text);
/// }
/// ```
impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Constant => f.write_str("constant"),
            Schedule::Cosine { floor } => write!(f, "cosine:{floor}"),
            Schedule::Step { every, factor } => write!(f, "step:{every}:{factor}"),
        }
    }
}

/// Hyper-parameters of [`Trainer`](super::Trainer). Build with [`GradientParams::default`]
/// and the setters; [`GradientParams::check`] says what is out of range.
///
/// ```
/// use bitsmnist_core::gradient::{GradientParams, Schedule};
/// use bitsmnist_core::layers::Input;
/// let p = GradientParams::default()
///     .hidden(vec![1024])
///     .epochs(10)
///     .learning_rate(5e-3)
///     .schedule(Schedule::Constant)
///     .input(Input::Bits)
///     .seed(7);
/// assert!(p.check().is_ok());
/// assert_eq!(p.batch_size, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GradientParams {
    /// Widths of the hidden bit layers (default `[2048]`; at least one layer).
    pub hidden: Vec<usize>,
    /// Convolutions and pools before the hidden layers (default none: a dense network); they
    /// need square one-channel images and bit input. See [`crate::layers::Architecture`].
    #[serde(default)]
    pub features: Vec<Feature>,
    /// Epochs of the whole run; the schedule spans them (default 30).
    pub epochs: u32,
    /// Examples per mini-batch (default 100).
    pub batch_size: usize,
    /// Base learning rate of Adam (default 0.005).
    pub learning_rate: f32,
    /// Learning-rate schedule (default cosine to 1%).
    pub schedule: Schedule,
    /// Adam's first-moment decay (default 0.9).
    pub beta1: f32,
    /// Adam's second-moment decay (default 0.999).
    pub beta2: f32,
    /// Adam's epsilon (default 1e-8).
    pub adam_eps: f32,
    /// Latent weights are clipped to `[-clip, clip]`, and the straight-through gradient of
    /// the weights passes where `|w| <= clip` (default 1).
    pub clip: f32,
    /// Half-width of the uniform initial latent weights, as a multiple of the Glorot limit
    /// `sqrt(6 / (inputs + outputs))` (default 1).
    pub init_scale: f32,
    /// Batch-norm epsilon (default 1e-4).
    pub bn_eps: f32,
    /// Batch-norm running-statistics momentum (default 0.1).
    pub bn_momentum: f32,
    /// Data augmentation: each training image is shifted by a random whole number of pixels
    /// in `-max_shift..=max_shift` on each axis, per epoch (default 1; 0 turns it off). Needs
    /// square images.
    pub max_shift: u8,
    /// Data augmentation: each training image is also turned by a random angle in
    /// `-rotate..=rotate` degrees, per epoch (default 0, none; at most [`MAX_ROTATE`]). With
    /// a rotation or a zoom the image is resampled (bilinear, then each bit is the nearer of
    /// its two values), and the shift in `-max_shift..=max_shift` is by any fraction of a
    /// pixel. Needs square images (format version 8 and later).
    pub rotate: f32,
    /// Data augmentation: each training image is also scaled by a random factor in
    /// `1 - zoom..=1 + zoom`, per epoch (default 0, none; at most [`MAX_ZOOM`]); see
    /// [`rotate`](Self::rotate) (format version 8 and later).
    pub zoom: f32,
    /// What the first layer sees (default [`Input::Bits`]).
    pub input: Input,
    /// After the last epoch, replace the batch-norm running statistics by the exact ones of
    /// the whole training split without augmentation, before export (default on).
    pub recalibrate: bool,
    /// Seed of the initial weights, the example order and the augmentation (default 1).
    pub seed: u64,
}

/// [`GradientParams`] as model-file format versions 5 to 7 stored them (before `rotate` and
/// `zoom`); see `io::legacy`. Frozen: never change this layout.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(crate) struct GradientParamsV7 {
    hidden: Vec<usize>,
    features: Vec<Feature>,
    epochs: u32,
    batch_size: usize,
    learning_rate: f32,
    schedule: Schedule,
    beta1: f32,
    beta2: f32,
    adam_eps: f32,
    clip: f32,
    init_scale: f32,
    bn_eps: f32,
    bn_momentum: f32,
    max_shift: u8,
    input: Input,
    recalibrate: bool,
    seed: u64,
}

impl From<GradientParamsV7> for GradientParams {
    fn from(p: GradientParamsV7) -> Self {
        Self {
            hidden: p.hidden,
            features: p.features,
            epochs: p.epochs,
            batch_size: p.batch_size,
            learning_rate: p.learning_rate,
            schedule: p.schedule,
            beta1: p.beta1,
            beta2: p.beta2,
            adam_eps: p.adam_eps,
            clip: p.clip,
            init_scale: p.init_scale,
            bn_eps: p.bn_eps,
            bn_momentum: p.bn_momentum,
            max_shift: p.max_shift,
            rotate: 0.0,
            zoom: 0.0,
            input: p.input,
            recalibrate: p.recalibrate,
            seed: p.seed,
        }
    }
}

/// Version 7's copy of today's parameters without rotations and zooms, to write version-7
/// payloads in tests.
#[cfg(test)]
impl From<GradientParams> for GradientParamsV7 {
    fn from(p: GradientParams) -> Self {
        Self {
            hidden: p.hidden,
            features: p.features,
            epochs: p.epochs,
            batch_size: p.batch_size,
            learning_rate: p.learning_rate,
            schedule: p.schedule,
            beta1: p.beta1,
            beta2: p.beta2,
            adam_eps: p.adam_eps,
            clip: p.clip,
            init_scale: p.init_scale,
            bn_eps: p.bn_eps,
            bn_momentum: p.bn_momentum,
            max_shift: p.max_shift,
            input: p.input,
            recalibrate: p.recalibrate,
            seed: p.seed,
        }
    }
}

/// [`GradientParams`] as model-file format version 4 stored them (before `features`); see
/// `io::legacy`. Frozen: never change this layout.
#[derive(Deserialize)]
pub(crate) struct GradientParamsV4 {
    hidden: Vec<usize>,
    epochs: u32,
    batch_size: usize,
    learning_rate: f32,
    schedule: Schedule,
    beta1: f32,
    beta2: f32,
    adam_eps: f32,
    clip: f32,
    init_scale: f32,
    bn_eps: f32,
    bn_momentum: f32,
    max_shift: u8,
    input: Input,
    recalibrate: bool,
    seed: u64,
}

impl From<GradientParamsV4> for GradientParams {
    fn from(p: GradientParamsV4) -> Self {
        Self {
            hidden: p.hidden,
            features: Vec::new(),
            epochs: p.epochs,
            batch_size: p.batch_size,
            learning_rate: p.learning_rate,
            schedule: p.schedule,
            beta1: p.beta1,
            beta2: p.beta2,
            adam_eps: p.adam_eps,
            clip: p.clip,
            init_scale: p.init_scale,
            bn_eps: p.bn_eps,
            bn_momentum: p.bn_momentum,
            max_shift: p.max_shift,
            rotate: 0.0,
            zoom: 0.0,
            input: p.input,
            recalibrate: p.recalibrate,
            seed: p.seed,
        }
    }
}

impl Default for GradientParams {
    fn default() -> Self {
        Self {
            hidden: vec![2048],
            features: Vec::new(),
            epochs: 30,
            batch_size: 100,
            learning_rate: 5e-3,
            schedule: Schedule::default(),
            beta1: 0.9,
            beta2: 0.999,
            adam_eps: 1e-8,
            clip: 1.0,
            init_scale: 1.0,
            bn_eps: 1e-4,
            bn_momentum: 0.1,
            max_shift: 1,
            rotate: 0.0,
            zoom: 0.0,
            input: Input::Bits,
            recalibrate: true,
            seed: 1,
        }
    }
}

impl GradientParams {
    crate::util::setters! {
        hidden: Vec<usize>,
        features: Vec<Feature>,
        epochs: u32,
        batch_size: usize,
        learning_rate: f32,
        schedule: Schedule,
        clip: f32,
        init_scale: f32,
        max_shift: u8,
        rotate: f32,
        zoom: f32,
        input: Input,
        recalibrate: bool,
        seed: u64,
    }

    /// Whether training images are resampled (a rotation or a zoom), not only shifted.
    pub fn warps(&self) -> bool {
        self.rotate > 0.0 || self.zoom > 0.0
    }

    /// The bytes training `inputs -> hidden... -> classes` with these parameters needs on
    /// `examples` examples, generously estimated ([`crate::memory`]): float weights with
    /// their gradients, Adam's two moments and an export copy, a batch's activations kept
    /// for the backward pass, the epoch's shuffled inputs as floats, every example's signs
    /// between two layers for the end-of-run re-estimation of the batch statistics, and the
    /// bit network.
    ///
    /// ```
    /// use bitsmnist_core::gradient::GradientParams;
    /// let p = GradientParams::default().hidden(vec![2048, 2048]);
    /// let bytes = p.memory_estimate(784, 10, 10_000);
    /// assert!(bytes > 20 * (784 * 2048 + 2048 * 2048)); // five f32 copies of each weight
    /// ```
    pub fn memory_estimate(&self, inputs: usize, classes: usize, examples: usize) -> u64 {
        use crate::memory::{add, mul};
        let net = crate::memory::network_bytes(inputs, &self.hidden, classes);
        let (inputs, classes, examples) = (inputs as u64, classes as u64, examples as u64);
        let b = examples.min(self.batch_size as u64);
        // Convolutions: per output pixel of a batch, the windows, the pre-activations and
        // their copies (normalised, batch-norm output, pooled, gradients), and the filters.
        // (Features that do not fit are refused by `check`; they count as none here.)
        // A thermometer code's channels are not known from the width alone: its first window
        // is counted as one channel's (the later layers, which cost more, are exact).
        let image = crate::layers::Shape::square(inputs as usize)
            .unwrap_or(crate::layers::Shape::flat(inputs as usize));
        let shapes = crate::layers::feature_shapes(&self.features, image).unwrap_or_default();
        let mut maps = 0u64;
        let mut channels = 1u64;
        for (feature, out) in self.features.iter().zip(&shapes) {
            if let Feature::Conv { window, .. } = *feature {
                let window_bits = mul(&[window as u64, window as u64, channels]);
                let f = out.channels as u64;
                maps = add(&[
                    maps,
                    mul(&[
                        b,
                        (out.height * out.width) as u64,
                        add(&[mul(&[window_bits, 2]), mul(&[f, 8])]),
                        4,
                    ]),
                    mul(&[window_bits, f, 5 * 4]),
                ]);
            }
            channels = out.channels as u64;
        }
        let first = shapes.last().map_or(inputs, |s| s.bits() as u64);
        let mut widths = vec![first];
        widths.extend(self.hidden.iter().map(|&h| h as u64));
        widths.push(classes);
        let weights = widths
            .windows(2)
            .map(|w| mul(&[w[0], w[1]]))
            .fold(0u64, u64::saturating_add);
        let units = add(&widths);
        // The batch-norm re-estimation keeps every example's input to one layer and to the
        // next as packed signs: at most twice the widest layer output, in bits.
        let widest = shapes
            .iter()
            .map(|s| s.bits() as u64)
            .chain(widths.iter().copied())
            .max()
            .unwrap_or(0);
        add(&[
            mul(&[weights, 5 * 4]),
            mul(&[b, units, 8 * 4]),
            mul(&[examples, inputs, 4]),
            mul(&[examples, widest.div_ceil(64), 2 * 8]),
            maps,
            net,
        ])
    }

    /// Checks every value; the error names the first one out of range.
    pub fn check(&self) -> Result<(), GradientParamsError> {
        use GradientParamsError as E;
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(E::Hidden);
        }
        if self.hidden.iter().any(|&h| h > crate::gradient::MAX_WIDTH) {
            return Err(E::TooWide {
                limit: crate::gradient::MAX_WIDTH,
            });
        }
        let mut after_conv = false;
        for &feature in &self.features {
            let bad = |reason| Err(E::Feature { feature, reason });
            match feature {
                Feature::Conv {
                    filters,
                    window,
                    stride,
                    padding,
                } => {
                    if filters == 0 || filters > crate::gradient::MAX_WIDTH {
                        return bad("filters: 1 to 65536");
                    }
                    if window == 0 || window > MAX_WINDOW {
                        return bad("the window side is 1 to 15");
                    }
                    if stride == 0 {
                        return bad("the stride is at least 1");
                    }
                    if padding >= window {
                        return bad("the padding must be smaller than the window");
                    }
                    after_conv = true;
                }
                Feature::Pool { size, stride } => {
                    if !after_conv {
                        return bad("a pool follows a convolution");
                    }
                    if size == 0 || size > MAX_WINDOW || stride == 0 {
                        return bad("the pool side is 1 to 15, its stride at least 1");
                    }
                    after_conv = false;
                }
            }
        }
        if !self.features.is_empty() && self.input == Input::Grey {
            return Err(E::GreyFeatures);
        }
        if self.epochs == 0 {
            return Err(E::Epochs);
        }
        if self.max_shift > MAX_SHIFT {
            return Err(E::Shift(self.max_shift));
        }
        if !(0.0..=MAX_ROTATE).contains(&self.rotate) {
            return Err(E::Rotate(self.rotate));
        }
        if !(0.0..=MAX_ZOOM).contains(&self.zoom) {
            return Err(E::Zoom(self.zoom));
        }
        if self.batch_size < 2 {
            return Err(E::BatchSize(self.batch_size));
        }
        let positive = [
            ("learning_rate", self.learning_rate),
            ("adam_eps", self.adam_eps),
            ("clip", self.clip),
            ("init_scale", self.init_scale),
            ("bn_eps", self.bn_eps),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(E::NotPositive { name, value });
            }
        }
        for (name, value) in [
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("bn_momentum", self.bn_momentum),
        ] {
            if !(0.0..1.0).contains(&value) || (name == "bn_momentum" && value == 0.0) {
                return Err(E::Decay { name, value });
            }
        }
        match self.schedule {
            Schedule::Cosine { floor } if !(0.0..=1.0).contains(&floor) => Err(E::Schedule),
            Schedule::Step { every, factor }
                if every == 0 || !(factor.is_finite() && factor > 0.0) =>
            {
                Err(E::Schedule)
            }
            _ => Ok(()),
        }
    }
}

/// The largest augmentation shift, in pixels: a quarter of an MNIST digit's side; more
/// moves strokes out of the image.
pub const MAX_SHIFT: u8 = 7;

/// The largest augmentation rotation, in degrees: a 6 turned further reads as a 9.
pub const MAX_ROTATE: f32 = 45.0;

/// The largest augmentation zoom, as a fraction of the size.
pub const MAX_ZOOM: f32 = 0.5;

/// The largest convolution or pool window side.
pub const MAX_WINDOW: usize = 15;

/// A gradient hyper-parameter out of range ([`GradientParams::check`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GradientParamsError {
    /// No hidden layer, or one of width 0.
    #[error("give at least one hidden layer, each at least 1 wide")]
    Hidden,
    /// A hidden layer wider than the limit.
    #[error("hidden layer widths are limited to {limit}")]
    TooWide {
        /// The widest layer accepted.
        limit: usize,
    },
    /// Zero epochs.
    #[error("epochs: at least 1")]
    Epochs,
    /// A convolution or pool out of range, or a pool that does not follow a convolution.
    #[error("{feature}: {reason}")]
    Feature {
        /// The layer.
        feature: Feature,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Convolutions on grey levels (they read bits).
    #[error("convolutions read bits: use bit input with them")]
    GreyFeatures,
    /// A shift that moves digits out of their image.
    #[error("max_shift: {0} pixels; at most {MAX_SHIFT}")]
    Shift(u8),
    /// A rotation outside 0 to [`MAX_ROTATE`] degrees (or not a number).
    #[error("rotate: {0} degrees; 0 to {MAX_ROTATE}")]
    Rotate(f32),
    /// A zoom outside 0 to [`MAX_ZOOM`] (or not a number).
    #[error("zoom: {0}; 0 to {MAX_ZOOM}")]
    Zoom(f32),
    /// A batch too small for batch statistics.
    #[error("batch size {0}: at least 2 (batch statistics)")]
    BatchSize(usize),
    /// A value that must be positive and finite.
    #[error("{name}: {value} must be positive and finite")]
    NotPositive {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f32,
    },
    /// A decay rate outside `[0, 1)` (momentum: `(0, 1)`).
    #[error("{name}: {value} must be in [0, 1) (momentum in (0, 1))")]
    Decay {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f32,
    },
    /// A cosine floor outside `[0, 1]`, or a step schedule without a positive period and
    /// factor.
    #[error("schedule: a cosine floor in [0, 1], or a step every >= 1 with a positive factor")]
    Schedule,
}

impl GradientParamsError {
    /// The name of the parameter at fault.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hidden | Self::TooWide { .. } => "hidden",
            Self::Epochs => "epochs",
            Self::Feature { .. } | Self::GreyFeatures => "features",
            Self::Shift(_) => "max_shift",
            Self::Rotate(_) => "rotate",
            Self::Zoom(_) => "zoom",
            Self::BatchSize(_) => "batch_size",
            Self::NotPositive { name, .. } | Self::Decay { name, .. } => name,
            Self::Schedule => "schedule",
        }
    }
}
