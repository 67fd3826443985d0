//! How a model's layers are written down: the feature layers before the dense ones, as the
//! command line's `--arch`, the app and the model-file settings of every method name them.

use serde::{Deserialize, Serialize};

use super::conv::check_window;
use super::{BitConv2d, BitMaxPool, ConvError, Shape};

/// A feature-extraction layer before the dense ones: a bit convolution ([`BitConv2d`]) or a
/// max-pool ([`BitMaxPool`]) of the map before it. Gradient training learns the convolutions
/// (their batch normalisation folded into integer thresholds at export); climbing imprints
/// them from training patches ([`crate::search::imprint`]). Written as `conv<F>x<K>` (`F` filters of `K x K`, stride 1, padding `K / 2` so
/// that odd windows keep the map's size), with optional `s<S>` (stride) and `p<P>` (padding),
/// and `pool<K>` (`K x K` windows every `K` pixels), with optional `s<S>`.
///
/// ```
/// use bitsmnist_core::layers::Feature;
/// let c: Feature = "conv32x3".parse().unwrap();
/// assert_eq!(c, Feature::Conv { filters: 32, window: 3, stride: 1, padding: 1 });
/// assert_eq!("conv8x5s2p0".parse::<Feature>().unwrap().to_string(), "conv8x5s2p0");
/// assert_eq!("pool2".parse::<Feature>().unwrap(), Feature::Pool { size: 2, stride: 2 });
/// assert!("conv0x3".parse::<Feature>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Feature {
    /// A bit convolution ([`BitConv2d`]).
    Conv {
        /// Output channels.
        filters: usize,
        /// Window side.
        window: usize,
        /// Pixels between windows.
        stride: usize,
        /// 0-bit (+1) pixels added on each side.
        padding: usize,
    },
    /// A max-pool ([`BitMaxPool`]) of the map before it.
    Pool {
        /// Window side.
        size: usize,
        /// Pixels between windows.
        stride: usize,
    },
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Feature::Conv {
                filters,
                window,
                stride,
                padding,
            } => {
                write!(f, "conv{filters}x{window}")?;
                if stride != 1 || padding != window / 2 {
                    write!(f, "s{stride}p{padding}")?;
                }
                Ok(())
            }
            Feature::Pool { size, stride } => {
                write!(f, "pool{size}")?;
                if stride != size {
                    write!(f, "s{stride}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::str::FromStr for Feature {
    type Err = crate::util::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            crate::util::ParseError::new(
                "layer",
                s,
                "use conv<filters>x<window>[s<stride>][p<padding>], pool<size>[s<stride>] or a dense width",
            )
        };
        // "<number>" then optional "s<number>" / "p<number>" suffixes.
        fn split_num(t: &str) -> Option<(usize, &str)> {
            let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let n = t[..end].parse().ok()?;
            Some((n, &t[end..]))
        }
        // An optional `<letter><number>` suffix: its number (or `default`) and what follows;
        // `None` if the letter is there without a number.
        fn suffix(t: &str, letter: char, default: usize) -> Option<(usize, &str)> {
            match t.strip_prefix(letter) {
                Some(r) => split_num(r),
                None => Some((default, t)),
            }
        }
        let t = s.trim().to_ascii_lowercase();
        let positive = |n: usize| (n > 0).then_some(n);
        if let Some(rest) = t.strip_prefix("conv") {
            let (filters, rest) = split_num(rest).ok_or_else(bad)?;
            let rest = rest.strip_prefix('x').ok_or_else(bad)?;
            let (window, rest) = split_num(rest).ok_or_else(bad)?;
            let (stride, rest) = suffix(rest, 's', 1).ok_or_else(bad)?;
            let (padding, rest) = suffix(rest, 'p', window / 2).ok_or_else(bad)?;
            if !rest.is_empty() {
                return Err(bad());
            }
            Ok(Feature::Conv {
                filters: positive(filters).ok_or_else(bad)?,
                window: positive(window).ok_or_else(bad)?,
                stride: positive(stride).ok_or_else(bad)?,
                padding,
            })
        } else if let Some(rest) = t.strip_prefix("pool") {
            let (size, rest) = split_num(rest).ok_or_else(bad)?;
            let (stride, rest) = suffix(rest, 's', size).ok_or_else(bad)?;
            if !rest.is_empty() {
                return Err(bad());
            }
            Ok(Feature::Pool {
                size: positive(size).ok_or_else(bad)?,
                stride: positive(stride).ok_or_else(bad)?,
            })
        } else {
            Err(bad())
        }
    }
}

/// A whole architecture, as the command line's `--arch` writes it: comma-separated
/// [`Feature`]s, then the dense hidden widths. Returns the features and the widths.
///
/// ```
/// use bitsmnist_core::layers::{parse_architecture, Feature};
/// let (features, hidden) = parse_architecture("conv32x3,pool2,conv64x3,pool2,512").unwrap();
/// assert_eq!(features.len(), 4);
/// assert_eq!(hidden, [512]);
/// assert_eq!(parse_architecture("2048,2048").unwrap(), (vec![], vec![2048, 2048]));
/// assert!(parse_architecture("512,conv8x3").is_err()); // features come first
/// ```
pub fn parse_architecture(s: &str) -> Result<(Vec<Feature>, Vec<usize>), crate::util::ParseError> {
    let (mut features, mut hidden) = (Vec::new(), Vec::new());
    for item in s.split(',') {
        let item = item.trim();
        if let Ok(width) = item.parse::<usize>() {
            hidden.push(width);
        } else if hidden.is_empty() {
            features.push(item.parse::<Feature>()?);
        } else {
            return Err(crate::util::ParseError::new(
                "architecture",
                s,
                "convolutions and pools come before the dense widths",
            ));
        }
    }
    Ok((features, hidden))
}

/// Writes an architecture back as [`parse_architecture`] reads it.
pub fn architecture_string(features: &[Feature], hidden: &[usize]) -> String {
    features
        .iter()
        .map(Feature::to_string)
        .chain(hidden.iter().map(usize::to_string))
        .collect::<Vec<_>>()
        .join(",")
}

/// The map after each of `features` on the input map `image` (a data set's is
/// [`Shape::input_of`]: its images, with a thermometer code's bits as channels), checked as
/// [`BitConv2d::new`] and [`BitMaxPool::new`] check them, without building any layer (so
/// that estimates of absurd requests allocate nothing). The error names the first feature
/// that does not fit.
///
/// ```
/// use bitsmnist_core::layers::{Shape, feature_shapes, parse_architecture};
/// let (features, _) = parse_architecture("conv32x5,pool4").unwrap();
/// let shapes = feature_shapes(&features, Shape::MNIST).unwrap();
/// assert_eq!(shapes, [Shape::new(28, 28, 32), Shape::new(7, 7, 32)]);
/// // Four bits a pixel: the same maps, the filters read four channels.
/// assert_eq!(feature_shapes(&features, Shape::new(28, 28, 4)).unwrap(), shapes);
/// assert!(feature_shapes(&features, Shape::flat(700)).is_err()); // not an image
/// assert!(feature_shapes(&[], Shape::flat(700)).unwrap().is_empty()); // a dense model reads any width
/// ```
pub fn feature_shapes(features: &[Feature], image: Shape) -> Result<Vec<Shape>, FeatureError> {
    if features.is_empty() {
        return Ok(Vec::new());
    }
    if image.height <= 1 && image.width > 1 {
        return Err(FeatureError::NotSquare(image.bits()));
    }
    let mut shape = image;
    let mut shapes = Vec::with_capacity(features.len());
    for &feature in features {
        let err = |error| FeatureError::Shape { feature, error };
        shape = match feature {
            Feature::Conv {
                filters,
                window,
                stride,
                padding,
            } => {
                if filters == 0 {
                    return Err(err(ConvError::Zero {
                        what: "the filter count",
                    }));
                }
                let side = check_window(shape, window, stride, padding).map_err(err)?;
                let out = Shape::new(side.height, side.width, filters);
                if out.bits() > 1 << 40 {
                    return Err(err(ConvError::TooLarge(out)));
                }
                out
            }
            Feature::Pool { size, stride } => check_window(shape, size, stride, 0).map_err(err)?,
        };
        shapes.push(shape);
    }
    Ok(shapes)
}

/// The bytes one thread needs to run `features` on one chunk of examples of map `image`
/// ([`super::Chain::forward_par`] runs one chunk per thread; imprinting runs them on one
/// thread): the chunk's maps before and after the widest layer, and the widest
/// convolution's buffers of one example ([`BitConv2d::forward`] lays every window of the
/// example out as a row of bits, then the filters' bits at every pixel). The windows grow as
/// pixels x window² x channels, so a wide padded window needs far more than its maps:
/// `conv1x1000p999` on a 28x28 digit is 131 GB for one example. `None` when the features
/// do not fit the input.
///
/// ```
/// use bitsmnist_core::layers::{feature_scratch_bytes, parse_architecture};
/// use bitsmnist_core::layers::Shape;
/// let (small, _) = parse_architecture("conv32x5,pool4").unwrap();
/// assert!(feature_scratch_bytes(&small, Shape::MNIST).unwrap() < 10 << 20);
/// let (wide, _) = parse_architecture("conv1x1000p999,pool1000").unwrap();
/// assert!(feature_scratch_bytes(&wide, Shape::MNIST).unwrap() > 130_000_000_000);
/// ```
pub fn feature_scratch_bytes(features: &[Feature], image: Shape) -> Option<u64> {
    let shapes = feature_shapes(features, image).ok()?;
    let words = |bits: u64| bits.div_ceil(64).saturating_mul(8);
    let mut channels = image.channels as u64;
    let mut widest = image.bits() as u64;
    let mut conv = 0u64;
    for (feature, out) in features.iter().zip(&shapes) {
        widest = widest.max(out.bits() as u64);
        if let Feature::Conv { window, .. } = *feature {
            let window_bits = (window as u64)
                .saturating_mul(window as u64)
                .saturating_mul(channels);
            let pixels = (out.height as u64).saturating_mul(out.width as u64);
            let per_pixel = words(window_bits).saturating_add(words(out.channels as u64));
            conv = conv.max(pixels.saturating_mul(per_pixel));
        }
        channels = out.channels as u64;
    }
    let maps = (super::chain::CHUNK_ROWS as u64).saturating_mul(words(widest).saturating_mul(2));
    Some(maps.saturating_add(conv))
}

/// The layers `features` describe on the input map `image`, with all-zero filters: their
/// shapes, checked ([`feature_shapes`]), for the counts of a model before any filter exists.
///
/// ```
/// use bitsmnist_core::layers::{Shape, feature_layers, parse_architecture};
/// let (features, _) = parse_architecture("conv32x5,pool4").unwrap();
/// let layers = feature_layers(&features, Shape::MNIST).unwrap();
/// assert_eq!(layers.last().unwrap().outputs(), 7 * 7 * 32);
/// ```
pub fn feature_layers(
    features: &[Feature],
    image: Shape,
) -> Result<Vec<super::Layer>, FeatureError> {
    let shapes = feature_shapes(features, image)?;
    if features.is_empty() {
        return Ok(Vec::new());
    }
    // Each layer reads the map the one before it makes (the first, the image), all checked.
    let reads = std::iter::once(image).chain(shapes.iter().copied());
    let layers = features.iter().zip(reads).map(|(&feature, shape)| {
        let err = |error| FeatureError::Shape { feature, error };
        Ok(match feature {
            Feature::Conv {
                filters,
                window,
                stride,
                padding,
            } => BitConv2d::new(shape, window, stride, padding, filters)
                .map_err(err)?
                .into(),
            Feature::Pool { size, stride } => {
                BitMaxPool::new(shape, size, stride).map_err(err)?.into()
            }
        })
    });
    layers.collect()
}

/// Why feature layers do not fit their input ([`feature_layers`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// A feature layer does not fit the map before it.
    #[error("{feature}: {error}")]
    Shape {
        /// The feature layer, as written.
        feature: Feature,
        /// What does not fit.
        error: ConvError,
    },
    /// The input is a flat vector ([`Shape::flat`]), not an image.
    #[error("convolutions read an image; {0} inputs are not one")]
    NotSquare(usize),
}

/// A model's shape as the command line's `--arch` and the app write it: the feature layers
/// ([`Feature`]: convolutions and pools), then the widths of the dense hidden layers. The
/// input and class count come from the data, so the same architecture fits any task.
///
/// ```
/// use bitsmnist_core::layers::{Architecture, Chain, BitOutput, Activation, Shape};
/// let a: Architecture = "conv32x5,pool4,800".parse().unwrap();
/// assert_eq!(a.to_string(), "conv32x5,pool4,800");
/// assert_eq!(a.hidden, [800]);
/// assert_eq!(a.dense_inputs(Shape::MNIST).unwrap(), 7 * 7 * 32);
/// let mlp = Chain::mlp(784, &[64], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
/// assert_eq!(Architecture::of(&mlp), Architecture::dense(vec![64]));
/// assert!("512,conv8x3".parse::<Architecture>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Architecture {
    /// Feature layers before the dense ones, in order.
    pub features: Vec<Feature>,
    /// Widths of the dense hidden layers, in order (the output layer is the task's).
    pub hidden: Vec<usize>,
}

impl Architecture {
    /// Dense hidden layers of `hidden` widths, no feature layers.
    pub fn dense(hidden: Vec<usize>) -> Self {
        Self {
            features: Vec::new(),
            hidden,
        }
    }

    /// The architecture of a built model: its leading convolutions and pools, then the
    /// widths of its dense layers but the last; for a model that is one vote, its first
    /// member's (the networks a merge makes one vote share their shape).
    pub fn of(chain: &super::Chain) -> Self {
        use super::Layer;
        if let [Layer::Vote(vote)] = chain.layers()
            && let Some(first) = vote.members().first()
        {
            return Self::of(first);
        }
        let layers = chain.layers();
        let features = layers
            .iter()
            .map_while(|l| match l {
                Layer::Conv(c) => Some(Feature::Conv {
                    filters: c.output_shape().channels,
                    window: c.window(),
                    stride: c.stride(),
                    padding: c.padding(),
                }),
                Layer::Pool(p) => Some(Feature::Pool {
                    size: p.size(),
                    stride: p.stride(),
                }),
                _ => None,
            })
            .collect::<Vec<_>>();
        let dense = &layers[features.len()..];
        let hidden = dense
            .iter()
            .take(dense.len().saturating_sub(1))
            .map(Layer::outputs)
            .collect();
        Self { features, hidden }
    }

    /// The map after each feature layer on the input map `input` ([`feature_shapes`]).
    pub fn shapes(&self, input: Shape) -> Result<Vec<Shape>, FeatureError> {
        feature_shapes(&self.features, input)
    }

    /// The width the first dense layer reads: the last feature map's bits, or the input's.
    pub fn dense_inputs(&self, input: Shape) -> Result<usize, FeatureError> {
        Ok(self
            .shapes(input)?
            .last()
            .map_or(input.bits(), |s| s.bits()))
    }

    /// Bits of all convolution filters on the input map `input`, counted from the shapes
    /// alone (nothing is allocated), so that a typing mistake is refused before it costs
    /// memory.
    pub fn filter_bits(&self, input: Shape) -> Result<u64, FeatureError> {
        let shapes = self.shapes(input)?;
        let (mut channels, mut bits) = (input.channels as u64, 0u64);
        for (f, out) in self.features.iter().zip(&shapes) {
            if let Feature::Conv { window, .. } = *f {
                let w = window as u64;
                bits = bits.saturating_add(
                    w.saturating_mul(w)
                        .saturating_mul(channels)
                        .saturating_mul(out.channels as u64),
                );
            }
            channels = out.channels as u64;
        }
        Ok(bits)
    }

    /// The model on the input map `input` (a dense model: its bits, any shape) and `classes`
    /// classes: the feature layers with all-zero
    /// filters (imprinting or training fills them; their shapes and counts are right), then
    /// the dense layers, the last with `output`, seeded by [`Chain::mlp`](super::Chain::mlp)'s
    /// rule, or all zero with no seed (cheap, for counting). More than
    /// [`MAX_FILTER_BITS`] filter bits are refused before any is made.
    ///
    /// ```
    /// use bitsmnist_core::layers::{Architecture, BitOutput, Activation, Chain, Shape};
    /// let out = BitOutput::Float(Activation::Identity);
    /// let a: Architecture = "conv8x5,pool4,64".parse().unwrap();
    /// let m = a.build(Shape::MNIST, 10, out, Some(1)).unwrap();
    /// assert_eq!(Architecture::of(&m), a);
    /// let dense = Architecture::dense(vec![32]);
    /// assert_eq!(dense.build(Shape::MNIST, 2, out, Some(3)).unwrap(), Chain::mlp(784, &[32], 2, out, 3).unwrap());
    /// let huge = "conv5000x9,conv5000x9,16".parse::<Architecture>().unwrap();
    /// assert!(huge.build(Shape::MNIST, 2, out, None).is_err());
    /// ```
    pub fn build(
        &self,
        input: Shape,
        classes: usize,
        output: super::BitOutput,
        seed: Option<u64>,
    ) -> Result<super::Chain, ArchitectureError> {
        let inputs = input.bits();
        let bits = self.filter_bits(input)?;
        if bits > MAX_FILTER_BITS {
            return Err(ArchitectureError::TooManyFilterBits(bits));
        }
        if self.hidden.contains(&0) {
            return Err(ArchitectureError::EmptyLayer);
        }
        let front = feature_layers(&self.features, input)?;
        let dense_inputs = front.last().map_or(inputs, super::Layer::outputs);
        let dense = match seed {
            Some(s) => super::Chain::mlp(dense_inputs, &self.hidden, classes, output, s)?,
            None => {
                let widths: Vec<usize> = std::iter::once(dense_inputs)
                    .chain(self.hidden.iter().copied())
                    .chain(std::iter::once(classes))
                    .collect();
                let last = widths.len() - 2;
                let layers = widths.windows(2).enumerate().map(|(i, w)| {
                    let l = super::BitDense::new(w[0], w[1]);
                    if i == last { l.with_output(output) } else { l }.into()
                });
                super::Chain::new(layers.collect())?
            }
        };
        Ok(super::Chain::new(
            front
                .into_iter()
                .chain(dense.layers().iter().cloned())
                .collect(),
        )?)
    }

    /// Checks what parsing cannot: every hidden layer has a neuron, and the features fit
    /// the input map `input`.
    pub fn check(&self, input: Shape) -> Result<(), ArchitectureError> {
        if self.hidden.contains(&0) {
            return Err(ArchitectureError::EmptyLayer);
        }
        self.shapes(input)?;
        Ok(())
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&architecture_string(&self.features, &self.hidden))
    }
}

impl std::str::FromStr for Architecture {
    type Err = crate::util::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (features, hidden) = parse_architecture(s)?;
        Ok(Self { features, hidden })
    }
}

/// Why an [`Architecture`] does not fit its input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ArchitectureError {
    /// A hidden layer of width 0.
    #[error("every hidden layer needs at least one neuron")]
    EmptyLayer,
    /// A feature layer does not fit.
    #[error(transparent)]
    Feature(#[from] FeatureError),
    /// More filter bits than [`MAX_FILTER_BITS`].
    #[error("convolutions: {0} filter bits is more than the {MAX_FILTER_BITS} a model may hold")]
    TooManyFilterBits(u64),
    /// The layers do not line up.
    #[error(transparent)]
    Shape(#[from] super::ShapeError),
}

/// The most filter bits [`Architecture::build`] makes (2^28: 32 MiB of them): far above any
/// convolution that trains on this kind of data, far below what would exhaust a machine.
pub const MAX_FILTER_BITS: u64 = 1 << 28;
