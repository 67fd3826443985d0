//! Bit convolutions and bit max-pooling over feature maps.
//!
//! A feature map of [`Shape`] `h x w x c` is one packed bit row of `h * w * c` bits, pixel by
//! pixel in reading order with each pixel's `c` channels adjacent (`HWC`, channel fastest). The
//! input image is such a map with one channel, and a [`BitDense`] after a convolution reads the
//! map's bits as they are (flattening is free).
//!
//! [`BitConv2d`] applies one [`BitDense`] (its *filters*, one neuron per output channel, each
//! `k * k * c` bits wide) to every `k x k` window: the window's bits, row by row, form the
//! filter input (a bit *im2col*), so a convolution runs on the same run-time selected XOR +
//! popcount kernels as a dense layer. Padded positions are 0-bits, the value +1: in a binarised
//! digit that is the background, so a zero-padded window at the border sees blank paper.
//!
//! [`BitMaxPool`] takes the maximum of the ±1 values over each window. With bit 1 for -1, the
//! maximum is +1 (bit 0) as soon as one bit is 0: the pooled bit is the AND of the window's bits.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{BitDense, BitOutput};
use crate::bits::{BitMatrix, Kernel, words_for};

/// Height, width and channels of a bit feature map (stored `HWC`: pixel by pixel in reading order, each pixel's channels adjacent).
///
/// ```
/// use bitsmnist_core::layers::Shape;
/// let image = Shape::new(28, 28, 1);
/// assert_eq!(image.bits(), 784);
/// assert_eq!(image.to_string(), "28x28x1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    /// Rows of pixels.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
    /// Bits per pixel.
    pub channels: usize,
}

impl Shape {
    /// A map of `height x width` pixels of `channels` bits.
    pub const fn new(height: usize, width: usize, channels: usize) -> Self {
        Self {
            height,
            width,
            channels,
        }
    }

    /// The 28 x 28 one-channel digit image.
    pub const MNIST: Shape = Shape::new(28, 28, 1);

    /// Bits in the whole map (saturating: [`BitConv2d::new`] refuses what overflows).
    pub fn bits(&self) -> usize {
        self.height
            .saturating_mul(self.width)
            .saturating_mul(self.channels)
    }

    /// The bit offset of pixel `(y, x)`'s first channel.
    #[inline]
    fn offset(&self, y: usize, x: usize) -> usize {
        (y * self.width + x) * self.channels
    }

    /// A square map of one channel holding `bits` bits, if `bits` is a square number: how a
    /// flat input (such as 784 pixels) is read by the first convolution.
    pub fn square(bits: usize) -> Option<Shape> {
        Self::square_of(bits, 1)
    }

    /// A square map of `channels` bits a pixel holding `bits` bits, if `bits / channels` is a
    /// whole square number.
    ///
    /// ```
    /// use bitsmnist_core::layers::Shape;
    /// assert_eq!(Shape::square_of(4 * 784, 4), Some(Shape::new(28, 28, 4)));
    /// assert_eq!(Shape::square_of(4 * 784, 3), None);
    /// ```
    pub fn square_of(bits: usize, channels: usize) -> Option<Shape> {
        if channels == 0 || !bits.is_multiple_of(channels) {
            return None;
        }
        let pixels = bits / channels;
        let side = (pixels as f64).sqrt().round() as usize;
        (side > 0 && side * side == pixels).then_some(Shape::new(side, side, channels))
    }

    /// `bits` inputs as a flat vector (one row of one channel): what a dense model reads when
    /// no image shape is known; a convolution is refused on it.
    pub const fn flat(bits: usize) -> Self {
        Shape::new(1, bits, 1)
    }

    /// The map a model reads from `data`: its images' height and width, and the bits of each
    /// pixel ([`Binarization::channels`](crate::datasets::Binarization::channels)) as channels.
    ///
    /// ```
    /// use bitsmnist_core::datasets::{Binarization, Dataset};
    /// use bitsmnist_core::layers::Shape;
    /// assert_eq!(Shape::input_of(&Dataset::embedded()), Shape::MNIST);
    /// let thermo = Dataset::embedded_with(Binarization::Thermometer { levels: 3 });
    /// assert_eq!(Shape::input_of(&thermo), Shape::new(28, 28, 3));
    /// ```
    pub fn input_of(data: &crate::datasets::Dataset) -> Self {
        Shape::new(data.shape.1, data.shape.0, data.binarization.channels())
    }

    /// The map a model reads from `split`, whose images are square (MNIST-like; a split does
    /// not know its images' sides): its bits per pixel as channels; a flat vector when the
    /// pixels are not a square number.
    pub fn of_split(split: &crate::datasets::Split) -> Self {
        Self::square_of(split.images().cols(), split.channels())
            .unwrap_or(Shape::flat(split.images().cols()))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

/// Why a convolution or pool cannot be built on a shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvError {
    /// A size that must be at least 1 is 0.
    #[error("{what} must be at least 1")]
    Zero {
        /// The size.
        what: &'static str,
    },
    /// The window does not fit the (padded) input.
    #[error("a {window}x{window} window does not fit a {input} input with padding {padding}")]
    WindowTooLarge {
        /// Window side.
        window: usize,
        /// Input shape.
        input: Shape,
        /// Padding on each side.
        padding: usize,
    },
    /// Padding of a whole window or more gives windows that see only padding.
    #[error("padding {padding} must be smaller than the {window}x{window} window")]
    PaddingTooLarge {
        /// Padding on each side.
        padding: usize,
        /// Window side.
        window: usize,
    },
    /// The shapes are too large to count in memory.
    #[error("a {0} feature map is too large")]
    TooLarge(Shape),
    /// The filters do not match the window.
    #[error("filters read {found} bits but a {window}x{window}x{channels} window has {expected}")]
    Filters {
        /// Bits each filter reads.
        found: usize,
        /// Bits in a window.
        expected: usize,
        /// Window side.
        window: usize,
        /// Input channels.
        channels: usize,
    },
    /// Convolution filters emit bits; a float output has no place inside a feature map.
    #[error("convolution filters must emit bits")]
    FloatFilters,
}

/// Output side of a window sliding over `input` pixels.
fn out_side(input: usize, window: usize, stride: usize, padding: usize) -> usize {
    (input + 2 * padding - window) / stride + 1
}

pub(crate) fn check_window(
    input: Shape,
    window: usize,
    stride: usize,
    padding: usize,
) -> Result<Shape, ConvError> {
    for (what, v) in [
        ("the input height", input.height),
        ("the input width", input.width),
        ("the input channels", input.channels),
        ("the window", window),
        ("the stride", stride),
    ] {
        if v == 0 {
            return Err(ConvError::Zero { what });
        }
    }
    if padding >= window {
        return Err(ConvError::PaddingTooLarge { padding, window });
    }
    // Shapes come from files and command lines: keep every product countable.
    const LIMIT: usize = 1 << 40;
    if input
        .height
        .checked_mul(input.width)
        .and_then(|p| p.checked_mul(input.channels))
        .is_none_or(|b| b > LIMIT)
        || window.checked_mul(window).is_none_or(|w| w > LIMIT)
    {
        return Err(ConvError::TooLarge(input));
    }
    if input.height + 2 * padding < window || input.width + 2 * padding < window {
        return Err(ConvError::WindowTooLarge {
            window,
            input,
            padding,
        });
    }
    Ok(Shape::new(
        out_side(input.height, window, stride, padding),
        out_side(input.width, window, stride, padding),
        input.channels,
    ))
}

/// `n <= 64` bits of `src` from bit `off`, in the low bits of the result.
#[inline]
fn read_bits(src: &[u64], off: usize, n: usize) -> u64 {
    debug_assert!((1..=64).contains(&n));
    let (w, b) = (off / 64, off % 64);
    let mut v = src[w] >> b;
    if b != 0 && b + n > 64 {
        v |= src[w + 1] << (64 - b);
    }
    if n < 64 { v & ((1u64 << n) - 1) } else { v }
}

/// ORs the low `n <= 64` bits of `v` (no higher bits set) into `dst` from bit `off`.
#[inline]
fn or_bits(dst: &mut [u64], off: usize, n: usize, v: u64) {
    let (w, b) = (off / 64, off % 64);
    dst[w] |= v << b;
    if b != 0 && b + n > 64 {
        dst[w + 1] |= v >> (64 - b);
    }
}

/// ORs `len` bits of `src` from `src_off` into `dst` from `dst_off`.
#[inline]
fn or_copy(src: &[u64], src_off: usize, dst: &mut [u64], dst_off: usize, len: usize) {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(64);
        or_bits(dst, dst_off + done, n, read_bits(src, src_off + done, n));
        done += n;
    }
}

/// Concatenates `rows` packed rows of `bits` bits each (`words_for(bits)` words apart in `src`)
/// into one packed row `dst` (zeroed, `rows * bits` bits).
fn concat_rows(src: &[u64], rows: usize, bits: usize, dst: &mut [u64]) {
    let wpr = words_for(bits);
    if bits.is_multiple_of(64) {
        dst[..rows * wpr].copy_from_slice(&src[..rows * wpr]);
        return;
    }
    for r in 0..rows {
        or_copy(&src[r * wpr..], 0, dst, r * bits, bits);
    }
}

/// A 2-D convolution with 1-bit weights over a bit feature map: square `k x k` windows moved by
/// `stride` over the input padded with `padding` 0-bits on each side (the value +1: blank
/// paper around a binarised digit); each of the filters (one [`BitDense`] neuron per output channel) reads the
/// window's `k * k * c` bits row by row and emits one bit with the dense layer's rule (its
/// threshold, or per-neuron thresholds from gradient training).
///
/// ```
/// use bitsmnist_core::layers::{BitConv2d, Shape};
/// let conv = BitConv2d::new(Shape::MNIST, 3, 1, 1, 16).unwrap().with_seed(7);
/// assert_eq!(conv.output_shape(), Shape::new(28, 28, 16));
/// assert_eq!(conv.to_string(), "BitConv2d(28x28x1 → 28x28x16, 3x3, padding 1)");
/// assert_eq!(conv.filters().inputs(), 9);
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct BitConv2d {
    input: Shape,
    window: usize,
    stride: usize,
    padding: usize,
    filters: BitDense,
}

impl BitConv2d {
    /// A convolution of `filters` all-zero `window x window` filters on `input` (see
    /// [`with_seed`](Self::with_seed) for random ones).
    pub fn new(
        input: Shape,
        window: usize,
        stride: usize,
        padding: usize,
        filters: usize,
    ) -> Result<Self, ConvError> {
        if filters == 0 {
            return Err(ConvError::Zero {
                what: "the filter count",
            });
        }
        Self::from_filters(
            input,
            window,
            stride,
            padding,
            BitDense::new(window * window * input.channels, filters),
        )
    }

    /// A convolution with the given filters (`window * window * input.channels` inputs, bit
    /// outputs).
    pub fn from_filters(
        input: Shape,
        window: usize,
        stride: usize,
        padding: usize,
        filters: BitDense,
    ) -> Result<Self, ConvError> {
        check_window(input, window, stride, padding)?;
        let expected = window * window * input.channels;
        if filters.inputs() != expected {
            return Err(ConvError::Filters {
                found: filters.inputs(),
                expected,
                window,
                channels: input.channels,
            });
        }
        if filters.output() != BitOutput::Bits {
            return Err(ConvError::FloatFilters);
        }
        if filters.outputs() == 0 {
            return Err(ConvError::Zero {
                what: "the filter count",
            });
        }
        let out = Self {
            input,
            window,
            stride,
            padding,
            filters,
        };
        if out.output_shape().bits() > 1 << 40 {
            return Err(ConvError::TooLarge(out.output_shape()));
        }
        Ok(out)
    }

    /// The same convolution with random filters from `seed` (see [`BitDense::with_seed`]).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.filters = self.filters.with_seed(seed);
        self
    }

    /// The input map's shape.
    pub fn input_shape(&self) -> Shape {
        self.input
    }

    /// The output map's shape: one channel per filter.
    pub fn output_shape(&self) -> Shape {
        let s = check_window(self.input, self.window, self.stride, self.padding)
            .expect("checked on construction");
        Shape::new(s.height, s.width, self.filters.outputs())
    }

    /// Window side `k`.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Pixels between neighbouring windows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// 0-bit pixels added on each side.
    pub fn padding(&self) -> usize {
        self.padding
    }

    /// The filters: neuron `f` is output channel `f`, its input bit `(ky * k + kx) * c + ch` the
    /// window's pixel `(ky, kx)`, channel `ch`.
    pub fn filters(&self) -> &BitDense {
        &self.filters
    }

    /// The filters, mutably (their shape cannot change through this).
    pub fn filters_mut(&mut self) -> &mut BitDense {
        &mut self.filters
    }

    /// Input bits.
    pub fn inputs(&self) -> usize {
        self.input.bits()
    }

    /// Output bits.
    pub fn outputs(&self) -> usize {
        self.output_shape().bits()
    }

    /// Binary multiply-accumulates per example: output pixels × filters × window bits.
    pub fn macs(&self) -> u64 {
        let o = self.output_shape();
        (o.height * o.width) as u64 * (self.filters.inputs() * self.filters.outputs()) as u64
    }

    /// Checks the invariants of a deserialized layer.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.filters.validate()?;
        Self::from_filters(
            self.input,
            self.window,
            self.stride,
            self.padding,
            self.filters.clone(),
        )
        .map(|_| ())
        .map_err(|e| format!("{self}: {e}"))
    }

    /// The windows of one example `x` (one packed map) as rows of `words_for(k * k * c)` words
    /// into `out` (zeroed, one row per output pixel, in reading order).
    fn im2col(&self, x: &[u64], out: &mut [u64]) {
        let (k, s, p, c) = (self.window, self.stride, self.padding, self.input.channels);
        let o = self.output_shape();
        let wpr = words_for(k * k * c);
        for oy in 0..o.height {
            for ox in 0..o.width {
                let row = &mut out[(oy * o.width + ox) * wpr..][..wpr];
                // Columns of the window that fall inside the input (the rest is padding).
                let x0 = (ox * s) as isize - p as isize;
                let lo = (-x0).max(0) as usize;
                let hi = (self.input.width as isize - x0).clamp(0, k as isize) as usize;
                if lo >= hi {
                    continue;
                }
                for ky in 0..k {
                    let iy = (oy * s + ky) as isize - p as isize;
                    if iy < 0 || iy >= self.input.height as isize {
                        continue;
                    }
                    let src = self.input.offset(iy as usize, (x0 + lo as isize) as usize);
                    or_copy(x, src, row, (ky * k + lo) * c, (hi - lo) * c);
                }
            }
        }
    }

    /// Output maps of the packed input rows `x` (one map per row) with kernel `kernel`.
    ///
    /// # Panics
    /// When `x` is not [`inputs`](Self::inputs) wide, or `kernel` is not supported here.
    pub fn forward_with(&self, kernel: Kernel, x: &BitMatrix) -> BitMatrix {
        assert_eq!(x.cols(), self.inputs(), "BitConv2d: input width");
        let o = self.output_shape();
        let pixels = o.height * o.width;
        let f = self.filters.outputs();
        let patch_words = words_for(self.filters.inputs());
        let mut patches = vec![0u64; pixels * patch_words];
        let mut bits = vec![0u64; pixels * words_for(f)];
        let mut out = BitMatrix::zeros(x.rows(), o.bits());
        for i in 0..x.rows() {
            patches.fill(0);
            self.im2col(x.row(i), &mut patches);
            self.filters.bits_into_with(kernel, &patches, &mut bits);
            concat_rows(&bits, pixels, f, out.row_mut(i));
        }
        out
    }

    /// Output maps of the packed input rows `x` on the kernel picked for this CPU.
    pub fn forward(&self, x: &BitMatrix) -> BitMatrix {
        self.forward_with(Kernel::detect(), x)
    }
}

impl fmt::Display for BitConv2d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A convolution read from a damaged file is shown in its error: no output shape then.
        let out = check_window(self.input, self.window, self.stride, self.padding).map_or_else(
            |_| "?".to_string(),
            |s| Shape::new(s.height, s.width, self.filters.outputs()).to_string(),
        );
        write!(
            f,
            "BitConv2d({} → {out}, {k}x{k}",
            self.input,
            k = self.window
        )?;
        if self.stride != 1 {
            write!(f, ", stride {}", self.stride)?;
        }
        if self.padding != 0 {
            write!(f, ", padding {}", self.padding)?;
        }
        if self.filters.thresholds().is_some() {
            write!(f, ", thresholds")?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for BitConv2d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Max-pooling of a bit feature map: each channel's maximum of the ±1 values over `size x size`
/// windows moved by `stride` (no padding; windows that would cross the border are dropped). The
/// maximum is +1 (bit 0) when any bit is 0, so the pooled bit is the AND of the window's bits.
///
/// ```
/// use bitsmnist_core::layers::{BitMaxPool, Shape};
/// let pool = BitMaxPool::new(Shape::new(28, 28, 16), 2, 2).unwrap();
/// assert_eq!(pool.output_shape(), Shape::new(14, 14, 16));
/// assert_eq!(pool.to_string(), "BitMaxPool(28x28x16 → 14x14x16, 2x2)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BitMaxPool {
    input: Shape,
    size: usize,
    stride: usize,
}

impl BitMaxPool {
    /// A pool of `size x size` windows every `stride` pixels over `input`.
    pub fn new(input: Shape, size: usize, stride: usize) -> Result<Self, ConvError> {
        check_window(input, size, stride, 0)?;
        Ok(Self {
            input,
            size,
            stride,
        })
    }

    /// The input map's shape.
    pub fn input_shape(&self) -> Shape {
        self.input
    }

    /// The output map's shape (same channels).
    pub fn output_shape(&self) -> Shape {
        check_window(self.input, self.size, self.stride, 0).expect("checked on construction")
    }

    /// Window side.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Pixels between neighbouring windows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Input bits.
    pub fn inputs(&self) -> usize {
        self.input.bits()
    }

    /// Output bits.
    pub fn outputs(&self) -> usize {
        self.output_shape().bits()
    }

    /// Checks the invariants of a deserialized layer.
    pub(crate) fn validate(&self) -> Result<(), String> {
        Self::new(self.input, self.size, self.stride)
            .map(|_| ())
            .map_err(|e| format!("{self}: {e}"))
    }

    /// Pooled maps of the packed input rows `x`.
    ///
    /// # Panics
    /// When `x` is not [`inputs`](Self::inputs) wide.
    pub fn forward(&self, x: &BitMatrix) -> BitMatrix {
        assert_eq!(x.cols(), self.inputs(), "BitMaxPool: input width");
        let o = self.output_shape();
        let c = self.input.channels;
        let mut out = BitMatrix::zeros(x.rows(), o.bits());
        for i in 0..x.rows() {
            let src = x.row(i);
            let dst = out.row_mut(i);
            for oy in 0..o.height {
                for ox in 0..o.width {
                    let to = o.offset(oy, ox);
                    // Channels 64 at a time: AND of each window pixel's channel bits.
                    let mut ch = 0;
                    while ch < c {
                        let n = (c - ch).min(64);
                        let mut v = u64::MAX;
                        for ky in 0..self.size {
                            for kx in 0..self.size {
                                let at = self
                                    .input
                                    .offset(oy * self.stride + ky, ox * self.stride + kx);
                                v &= read_bits(src, at + ch, n);
                            }
                        }
                        or_bits(dst, to + ch, n, v);
                        ch += n;
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for BitMaxPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A pool read from a damaged file is shown in its error: no output shape then.
        let out = check_window(self.input, self.size, self.stride, 0)
            .map_or_else(|_| "?".to_string(), |s| s.to_string());
        write!(
            f,
            "BitMaxPool({} → {out}, {k}x{k}",
            self.input,
            k = self.size
        )?;
        if self.stride != self.size {
            write!(f, ", stride {}", self.stride)?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Value (±1) of map `x` at pixel (y, x), channel ch, with out-of-range pixels +1 (padding).
    fn value(x: &[bool], s: Shape, y: isize, xx: isize, ch: usize) -> i64 {
        if y < 0 || xx < 0 || y >= s.height as isize || xx >= s.width as isize {
            return 1;
        }
        if x[(y as usize * s.width + xx as usize) * s.channels + ch] {
            -1
        } else {
            1
        }
    }

    /// The convolution written from its definition: ±1 dot products over each padded window,
    /// bit 1 where the dense layer's rule fires.
    fn naive_conv(conv: &BitConv2d, x: &[bool]) -> Vec<bool> {
        let (s, k, st, p) = (conv.input, conv.window, conv.stride, conv.padding);
        let o = conv.output_shape();
        let f = conv.filters();
        let n = f.inputs();
        let mut out = vec![false; o.bits()];
        for oy in 0..o.height {
            for ox in 0..o.width {
                for j in 0..f.outputs() {
                    let mut dot = 0i64;
                    for ky in 0..k {
                        for kx in 0..k {
                            for ch in 0..s.channels {
                                let xv = value(
                                    x,
                                    s,
                                    (oy * st + ky) as isize - p as isize,
                                    (ox * st + kx) as isize - p as isize,
                                    ch,
                                );
                                let wv = if f.weights().get(j, (ky * k + kx) * s.channels + ch) {
                                    -1
                                } else {
                                    1
                                };
                                dot += xv * wv;
                            }
                        }
                    }
                    // dot = n - 2 d.
                    let d = ((n as i64 - dot) / 2) as u32;
                    out[(oy * o.width + ox) * o.channels + j] = f.bit_rule(j, d);
                }
            }
        }
        out
    }

    fn naive_pool(pool: &BitMaxPool, x: &[bool]) -> Vec<bool> {
        let s = pool.input;
        let o = pool.output_shape();
        let mut out = vec![false; o.bits()];
        for oy in 0..o.height {
            for ox in 0..o.width {
                for ch in 0..s.channels {
                    let mut m = -1;
                    for ky in 0..pool.size {
                        for kx in 0..pool.size {
                            m = m.max(value(
                                x,
                                s,
                                (oy * pool.stride + ky) as isize,
                                (ox * pool.stride + kx) as isize,
                                ch,
                            ));
                        }
                    }
                    out[(oy * o.width + ox) * s.channels + ch] = m == -1;
                }
            }
        }
        out
    }

    fn random_maps(rng: &mut ChaCha8Rng, rows: usize, bits: usize) -> Vec<Vec<bool>> {
        (0..rows)
            .map(|_| (0..bits).map(|_| rng.random_bool(0.4)).collect())
            .collect()
    }

    fn rows_of(m: &BitMatrix) -> Vec<Vec<bool>> {
        (0..m.rows())
            .map(|i| m.row_bits(i).iter().map(|b| *b).collect())
            .collect()
    }

    #[test]
    fn conv_matches_the_naive_definition_on_every_kernel() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // Odd sizes, channel counts across word boundaries, padding and strides.
        let cases = [
            (Shape::new(7, 5, 1), 3, 1, 0, 5),
            (Shape::new(7, 5, 1), 3, 1, 1, 5),
            (Shape::new(9, 11, 3), 3, 2, 1, 7),
            (Shape::new(6, 6, 65), 2, 2, 0, 3),
            (Shape::new(13, 13, 17), 5, 3, 2, 70),
            (Shape::new(4, 9, 64), 3, 1, 2, 64),
            (Shape::new(1, 1, 130), 1, 1, 0, 9),
            (Shape::new(28, 28, 1), 3, 1, 1, 32),
        ];
        for (input, k, stride, padding, filters) in cases {
            let mut conv = BitConv2d::new(input, k, stride, padding, filters)
                .unwrap()
                .with_seed(rng.random());
            // Per-neuron thresholds too, as gradient training leaves them.
            let t: Vec<i64> = (0..filters)
                .map(|_| rng.random_range(0..=(k * k * input.channels) as i64))
                .collect();
            let f = conv.filters().clone().with_thresholds(t).unwrap();
            *conv.filters_mut() = f;
            let xs = random_maps(&mut rng, 3, input.bits());
            let x = BitMatrix::from_bools(input.bits(), &xs).unwrap();
            let want: Vec<Vec<bool>> = xs.iter().map(|xi| naive_conv(&conv, xi)).collect();
            for kernel in Kernel::supported() {
                let got = conv.forward_with(kernel, &x);
                assert_eq!(got.cols(), conv.outputs());
                assert_eq!(rows_of(&got), want, "{conv} on {}", kernel.name());
            }
        }
    }

    #[test]
    fn pool_is_the_max_of_the_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (input, size, stride) in [
            (Shape::new(28, 28, 16), 2, 2),
            (Shape::new(7, 9, 3), 2, 2),
            (Shape::new(7, 9, 70), 3, 2),
            (Shape::new(5, 5, 129), 3, 1),
            (Shape::new(3, 3, 1), 3, 3),
        ] {
            let pool = BitMaxPool::new(input, size, stride).unwrap();
            let xs = random_maps(&mut rng, 4, input.bits());
            let x = BitMatrix::from_bools(input.bits(), &xs).unwrap();
            let want: Vec<Vec<bool>> = xs.iter().map(|xi| naive_pool(&pool, xi)).collect();
            assert_eq!(rows_of(&pool.forward(&x)), want, "{pool}");
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused() {
        let s = Shape::new(5, 5, 2);
        assert!(matches!(
            BitConv2d::new(s, 7, 1, 0, 4),
            Err(ConvError::WindowTooLarge { .. })
        ));
        assert!(BitConv2d::new(s, 7, 1, 1, 4).is_ok());
        assert!(matches!(
            BitConv2d::new(s, 3, 1, 3, 4),
            Err(ConvError::PaddingTooLarge { .. })
        ));
        assert!(matches!(
            BitConv2d::new(s, 3, 0, 0, 4),
            Err(ConvError::Zero { .. })
        ));
        assert!(matches!(
            BitConv2d::new(s, 3, 1, 0, 0),
            Err(ConvError::Zero { .. })
        ));
        assert!(matches!(
            BitConv2d::new(Shape::new(1 << 30, 1 << 30, 1 << 30), 3, 1, 0, 1),
            Err(ConvError::TooLarge(_))
        ));
        let wrong = BitDense::new(10, 3);
        assert!(matches!(
            BitConv2d::from_filters(s, 3, 1, 0, wrong),
            Err(ConvError::Filters { .. })
        ));
        assert!(BitMaxPool::new(s, 6, 1).is_err());
        assert!(BitMaxPool::new(s, 2, 0).is_err());
        // Stride 2 over 5 pixels drops the last column: (5 - 2) / 2 + 1 = 2.
        assert_eq!(
            BitMaxPool::new(s, 2, 2).unwrap().output_shape(),
            Shape::new(2, 2, 2)
        );
        assert_eq!(Shape::square(784), Some(Shape::MNIST));
        assert_eq!(Shape::square(783), None);
    }
}
