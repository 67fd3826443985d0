//! Convolution filters without gradients: each filter is a patch of a training image
//! (imprinted), firing where the map matches it within a Hamming distance.
//!
//! A filter imprinted from a `K x K` patch `p` outputs a 0-bit (the value +1) at every position
//! whose window differs from `p` in at most `t` bits, and a 1-bit elsewhere; a max-pool after
//! it (the AND of bits, see [`BitMaxPool`](crate::layers::BitMaxPool)) then says whether the pattern occurs anywhere in
//! each pooling window. Stroke fragments found anywhere near a place are what tells digits
//! apart, and a pool over them forgives the shifts that a dense layer on raw pixels cannot;
//! measured on the embedded digits, a climb on 32 imprinted 5x5 filters pooled 4x4 reaches
//! over 95% test accuracy where the same climb on pixels stays near 92% (see
//! `docs/climbing.md`).
//!
//! The filters are fixed once drawn: the climb ([`Climber`](super::Climber)) then searches the
//! dense layers after them. Patches are drawn, seeded, from the map the filter reads (the
//! image, or the previous pool's output), skipping patches that are almost uniform (blank
//! paper matches everything blank and tells nothing).
//!
//! ```
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::layers::parse_architecture;
//! use bitsmnist_core::search::imprint::{ImprintParams, imprint};
//!
//! let data = Dataset::embedded();
//! let (features, _) = parse_architecture("conv8x5,pool4,100").unwrap();
//! let front = imprint(&data.train, &features, &ImprintParams::default().seed(1)).unwrap();
//! assert_eq!(front.len(), 2);
//! assert_eq!(front[1].outputs(), 7 * 7 * 8);
//! ```

use rand::Rng;

use crate::bits::BitMatrix;
use crate::datasets::Split;
use crate::layers::{
    Activations, BitConv2d, BitDense, BitOutput, Feature, FeatureError, Layer, Shape,
    feature_layers,
};

/// How filters are imprinted ([`imprint`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ImprintParams {
    /// The largest Hamming distance, as a fraction of the window's bits, at which a filter
    /// still matches (0.2: 5 of a 5x5 window's 25 bits).
    pub distance: f64,
    /// Patches with fewer than this fraction of 1-bits, or of 0-bits, are skipped.
    pub min_ink: f64,
    /// Images the patches are drawn from (the first this many of the split).
    pub sample: usize,
    /// Seed of the patch draws.
    pub seed: u64,
}

impl Default for ImprintParams {
    /// Distance 0.2, patches with at least 20% ink and 20% paper, drawn from 2,000 images,
    /// seed 0: the best of the distances measured with 32 filters of 5x5 pooled 4x4 (90 s of
    /// climbing each: 3 of 25 bits gives 93.7% test accuracy, 4 gives 95.1%, 5 gives 95.7%).
    fn default() -> Self {
        Self {
            distance: 0.2,
            min_ink: 0.2,
            sample: 2000,
            seed: 0,
        }
    }
}

impl ImprintParams {
    crate::util::setters! {
        distance: f64,
        min_ink: f64,
        sample: usize,
        seed: u64,
    }
}

/// Why filters could not be imprinted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ImprintError {
    /// The feature layers do not fit the images.
    #[error(transparent)]
    Shape(#[from] FeatureError),
    /// No examples to draw patches from.
    #[error("no examples to draw patches from")]
    NoExamples,
    /// A parameter outside its range.
    #[error("the imprint {what} must be in [0, 1), not {value}")]
    Range {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// [`imprint_until`] was asked to stop, and did before the filters were all drawn and
    /// applied (half-imprinted filters are no model: nothing is returned).
    #[error("stopped before the filters were imprinted")]
    Stopped,
}

/// The feature layers `features` on `train`'s images, convolutions imprinted from patches of
/// the map each reads (see the [module documentation](self)); pools as written.
pub fn imprint(
    train: &Split,
    features: &[Feature],
    params: &ImprintParams,
) -> Result<Vec<Layer>, ImprintError> {
    imprint_until(train, features, params, &|| false)
}

/// [`imprint`], asking `stop` at its stop points: between chunks of patch draws and between
/// chunks of images as each layer's map is computed, every [`IMPRINT_WORK`] bit comparisons
/// or so (a few hundredths of a second). When `stop` says so it returns
/// [`ImprintError::Stopped`]. The filters drawn do not depend on where the stop points are.
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::layers::parse_architecture;
/// use bitsmnist_core::search::imprint::{ImprintError, ImprintParams, imprint_until};
/// let data = Dataset::embedded();
/// let (features, _) = parse_architecture("conv8x5,pool4").unwrap();
/// let stopped = imprint_until(&data.train, &features, &ImprintParams::default(), &|| true);
/// assert_eq!(stopped, Err(ImprintError::Stopped));
/// ```
pub fn imprint_until(
    train: &Split,
    features: &[Feature],
    params: &ImprintParams,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<Layer>, ImprintError> {
    for (what, value) in [("distance", params.distance), ("ink", params.min_ink)] {
        if !(0.0..1.0).contains(&value) {
            return Err(ImprintError::Range { what, value });
        }
    }
    let mut layers = feature_layers(features, Shape::of_split(train))?;
    if train.is_empty() || params.sample == 0 {
        return Err(ImprintError::NoExamples);
    }
    let rows: Vec<usize> = (0..train.len().min(params.sample)).collect();
    let mut map = train.images().select_rows(&rows);
    let mut rng = crate::util::derive_rng(params.seed, STREAM_IMPRINT, 0, 0);
    for layer in &mut layers {
        if let Layer::Conv(conv) = layer {
            let (shape, window, padding) = (conv.input_shape(), conv.window(), conv.padding());
            let filters = conv.filters().outputs();
            let patches = draw_patches(
                &map, shape, window, padding, filters, params, &mut rng, stop,
            )?;
            let bits = window * window * shape.channels;
            let weights = BitMatrix::from_bools(bits, &patches).expect("one row per filter");
            let t = (params.distance * bits as f64).floor() as i64;
            let dense =
                BitDense::from_parts(weights, BitMatrix::zeros(1, filters), BitOutput::Bits)
                    .expect("one bias per filter")
                    .with_thresholds(vec![t; filters])
                    .expect("one threshold per filter");
            *conv = BitConv2d::from_filters(shape, window, conv.stride(), padding, dense)
                .expect("the shape was checked with these sizes");
        }
        map = forward_until(layer, &map, stop)?;
    }
    Ok(layers)
}

/// Bit comparisons between two stop points of [`imprint_until`]: 2^32, a few hundredths of a
/// second of XOR + popcount on the 2-core development machine.
pub const IMPRINT_WORK: u64 = 1 << 32;

/// `layer` on every row of `map`, in chunks of rows of about [`IMPRINT_WORK`] bit
/// comparisons, asking `stop` before each (a layer's output row depends only on its input
/// row, so the chunks change nothing but where a stop can land).
fn forward_until(
    layer: &Layer,
    map: &BitMatrix,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<BitMatrix, ImprintError> {
    let per_row = match layer {
        Layer::Conv(c) => (c.filters().inputs() as u64).saturating_mul(c.outputs() as u64),
        other => (other.inputs() + other.outputs()) as u64,
    }
    .max(1);
    let chunk = (IMPRINT_WORK / per_row).clamp(1, map.rows().max(1) as u64) as usize;
    let mut words = Vec::new();
    let mut cols = layer.outputs();
    let all: Vec<usize> = (0..map.rows()).collect();
    for rows in all.chunks(chunk) {
        if stop() {
            return Err(ImprintError::Stopped);
        }
        let out = match layer.forward(Activations::Bits(map.select_rows(rows))) {
            Activations::Bits(b) => b,
            Activations::Floats(_) => unreachable!("feature layers emit bits"),
        };
        cols = out.cols();
        words.extend_from_slice(out.as_words());
    }
    Ok(BitMatrix::from_words(map.rows(), cols, words).expect("rows of one layer's width"))
}

/// The bytes imprinting `features` on `examples` images of the map `image` and computing
/// their features once (as a climb after them does) needs at most, generously: two maps of
/// every example at the widest layer (its input and output), and the filters. `None` when
/// the features do not fit the images.
///
/// ```
/// use bitsmnist_core::layers::{Shape, parse_architecture};
/// use bitsmnist_core::search::imprint::memory_estimate;
/// let (features, _) = parse_architecture("conv32x5,pool4").unwrap();
/// let bytes = memory_estimate(&features, Shape::MNIST, 10_000).unwrap();
/// assert!(bytes >= 10_000 * 28 * 28 * 32 / 8);
/// ```
pub fn memory_estimate(features: &[Feature], image: Shape, examples: usize) -> Option<u64> {
    use crate::memory::{add, mul};
    let shapes = crate::layers::feature_shapes(features, image).ok()?;
    let widest = shapes
        .iter()
        .map(|s| s.bits())
        .max()
        .unwrap_or(0)
        .max(image.bits()) as u64;
    let mut channels = image.channels as u64;
    let mut filters = 0u64;
    for (feature, out) in features.iter().zip(&shapes) {
        if let Feature::Conv { window, .. } = *feature {
            let bits = mul(&[window as u64, window as u64, channels]);
            filters = add(&[filters, mul(&[bits.div_ceil(8), out.channels as u64]), 64]);
        }
        channels = out.channels as u64;
    }
    Some(add(&[
        mul(&[examples as u64, widest.div_ceil(8), 2]),
        filters,
    ]))
}

/// `filters` patches of `window x window` pixels (all channels) from random images and window
/// positions of `map` (padded with 0-bits as the convolution pads it), each with enough
/// 1-bits and 0-bits; after many draws without one, any patch is taken (a map that is nearly
/// uniform everywhere still gets its filters). Stopped by `stop`, [`ImprintError::Stopped`].
#[allow(clippy::too_many_arguments)]
fn draw_patches(
    map: &BitMatrix,
    shape: Shape,
    window: usize,
    padding: usize,
    filters: usize,
    params: &ImprintParams,
    rng: &mut impl Rng,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<Vec<bool>>, ImprintError> {
    let bits = window * window * shape.channels;
    let least = (params.min_ink * bits as f64).ceil() as usize;
    let mut patches = Vec::with_capacity(filters);
    let mut misses = 0usize;
    // A stop point every 2^20 bits copied (a few milliseconds): a nearly uniform map can
    // take a thousand draws per filter.
    let every = ((1u64 << 20) / bits.max(1) as u64).max(1);
    let mut draws = 0u64;
    while patches.len() < filters {
        draws += 1;
        if draws.is_multiple_of(every) && stop() {
            return Err(ImprintError::Stopped);
        }
        let image = rng.random_range(0..map.rows());
        // Window corners in padded coordinates (the convolution checked that one fits).
        let y = rng.random_range(0..=shape.height + 2 * padding - window);
        let x = rng.random_range(0..=shape.width + 2 * padding - window);
        let row = map.row_bits(image);
        let mut patch = Vec::with_capacity(bits);
        for ky in 0..window {
            for kx in 0..window {
                let (py, px) = (
                    (y + ky).wrapping_sub(padding),
                    (x + kx).wrapping_sub(padding),
                );
                if py < shape.height && px < shape.width {
                    let start = (py * shape.width + px) * shape.channels;
                    patch.extend(row[start..start + shape.channels].iter().map(|b| *b));
                } else {
                    patch.extend(std::iter::repeat_n(false, shape.channels));
                }
            }
        }
        let ink = patch.iter().filter(|b| **b).count();
        if (least..=bits - least).contains(&ink) || misses > 1000 * filters {
            patches.push(patch);
        } else {
            misses += 1;
        }
    }
    Ok(patches)
}

/// Stream of the patch draws ([`crate::util::derive_rng`]).
const STREAM_IMPRINT: u64 = 0x0069_6d70_7269_6e74;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::Dataset;
    use crate::layers::parse_architecture;

    #[test]
    fn filters_are_patches_of_the_images_and_match_them() {
        let data = Dataset::embedded();
        let (features, _) = parse_architecture("conv16x5,pool4").unwrap();
        let params = ImprintParams::default().seed(3);
        let front = imprint(&data.train, &features, &params).unwrap();
        let Layer::Conv(conv) = &front[0] else {
            panic!("a convolution first")
        };
        for j in 0..16 {
            // Each filter has ink and paper, and matches the patch it came from (distance 0
            // is within the threshold) while a filter's complement does not.
            let ones = (0..25)
                .filter(|&i| conv.filters().weights().get(j, i))
                .count();
            assert!((5..=20).contains(&ones), "filter {j}: {ones} ink bits");
            assert!(conv.filters().bit_rule(j, 25) && !conv.filters().bit_rule(j, 0));
            assert_eq!(conv.filters().threshold(j), 5);
        }
        assert_eq!(front[1].outputs(), 7 * 7 * 16);
        // The same seed draws the same filters; another seed others.
        assert!(imprint(&data.train, &features, &params).unwrap() == front);
        assert!(imprint(&data.train, &features, &params.seed(4)).unwrap() != front);
    }

    #[test]
    fn a_second_convolution_reads_the_pooled_map() {
        let data = Dataset::embedded();
        let (features, _) = parse_architecture("conv8x3,pool2,conv16x3,pool2").unwrap();
        let front = imprint(&data.train, &features, &ImprintParams::default()).unwrap();
        let Layer::Conv(second) = &front[2] else {
            panic!("a convolution third")
        };
        assert_eq!(second.input_shape(), Shape::new(14, 14, 8));
        assert_eq!(second.filters().inputs(), 3 * 3 * 8);
        assert_eq!(front[3].outputs(), 7 * 7 * 16);
    }

    #[test]
    fn shapes_and_parameters_that_do_not_fit_are_refused() {
        let data = Dataset::embedded();
        let (too_big, _) = parse_architecture("conv8x31p0").unwrap();
        assert!(matches!(
            imprint(&data.train, &too_big, &ImprintParams::default()),
            Err(ImprintError::Shape { .. })
        ));
        let (ok, _) = parse_architecture("conv8x3").unwrap();
        assert!(matches!(
            imprint(&data.train, &ok, &ImprintParams::default().distance(1.5)),
            Err(ImprintError::Range { .. })
        ));
        let empty = data.train.select(&[]);
        assert_eq!(
            imprint(&empty, &ok, &ImprintParams::default()),
            Err(ImprintError::NoExamples)
        );
    }
}
