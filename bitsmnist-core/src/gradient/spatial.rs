//! The training-time convolution and pool: float im2col and its adjoint, max-pooling with its
//! routes, and the layout changes between feature maps and dense layers.
//!
//! A feature map of a batch is stored channel-major, `channels x (batch * height * width)`
//! (row-major, each channel's values example by example, pixels in reading order), so that a
//! convolution is one `filters x (k * k * channels)` by `(k * k * channels) x (batch * pixels)`
//! product and each channel's batch statistics are one contiguous row, as a dense layer's are.
//! Dense layers read `(pixels * channels) x batch` with feature `(y * width + x) * channels + c`:
//! the `HWC` order of the exported [`crate::layers::BitConv2d`] maps.
//!
//! Every loop is parallel over rows whose results do not depend on each other and sums in a
//! fixed order, so results are the same on any number of threads.

use rayon::prelude::*;

use super::simd;
use crate::layers::Shape;

/// Where a convolution sits: its input and output maps, window, and the pool after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    pub input: Shape,
    pub window: usize,
    pub stride: usize,
    pub padding: usize,
    /// The convolution's output (before the pool): one channel per filter.
    pub out: Shape,
    pub pool: Option<PoolGeom>,
}

/// A max-pool after a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolGeom {
    pub size: usize,
    pub stride: usize,
    pub out: Shape,
}

impl ConvGeom {
    /// Output pixels of the convolution.
    pub fn pixels(&self) -> usize {
        self.out.height * self.out.width
    }

    /// The map the next layer reads (after the pool, if any).
    pub fn after(&self) -> Shape {
        self.pool.map_or(self.out, |p| p.out)
    }

    /// The window's values of a batch of maps `a` (`c x (batch * h * w)`), one row per window
    /// position `(ky * k + kx) * c + ch` and one column per output pixel of each example;
    /// padded pixels are +1 (the exported 0-bits).
    #[cfg(test)]
    pub fn im2col(&self, a: &[f32], batch: usize) -> Vec<f32> {
        let mut out = Vec::new();
        self.im2col_into(a, batch, &mut out);
        out
    }

    /// [`im2col`](Self::im2col) into `out`, whose allocation is reused: a training step
    /// writes megabytes of windows, and fresh pages for them every step cost more than the
    /// copy.
    pub fn im2col_into(&self, a: &[f32], batch: usize, out: &mut Vec<f32>) {
        let (h, w, c) = (self.input.height, self.input.width, self.input.channels);
        let (k, s, p) = (self.window, self.stride, self.padding);
        let (oh, ow) = (self.out.height, self.out.width);
        let cols = batch * oh * ow;
        assert_eq!(a.len(), c * batch * h * w, "im2col: input size");
        // Every element is written below.
        out.resize(k * k * c * cols, 0.0);
        out.par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
            let (ky, kx, ch) = (r / c / k, (r / c) % k, r % c);
            let src = &a[ch * batch * h * w..(ch + 1) * batch * h * w];
            for b in 0..batch {
                let img = &src[b * h * w..(b + 1) * h * w];
                for oy in 0..oh {
                    let iy = (oy * s + ky) as isize - p as isize;
                    let dst = &mut row[(b * oh + oy) * ow..(b * oh + oy + 1) * ow];
                    if iy < 0 || iy >= h as isize {
                        dst.fill(1.0);
                        continue;
                    }
                    let line = &img[iy as usize * w..(iy as usize + 1) * w];
                    if s == 1 {
                        // A run of the line, padding on either side: copies, not a branch
                        // per pixel. Output x reads input x + kx - p.
                        let lo = p.saturating_sub(kx).min(ow);
                        let hi = (w + p).saturating_sub(kx).clamp(lo, ow);
                        dst[..lo].fill(1.0);
                        dst[lo..hi].copy_from_slice(&line[lo + kx - p..hi + kx - p]);
                        dst[hi..].fill(1.0);
                        continue;
                    }
                    for (ox, d) in dst.iter_mut().enumerate() {
                        let ix = (ox * s + kx) as isize - p as isize;
                        *d = if ix < 0 || ix >= w as isize {
                            1.0
                        } else {
                            line[ix as usize]
                        };
                    }
                }
            }
        });
    }

    /// The adjoint of [`im2col`](Self::im2col): window gradients summed back onto the input
    /// pixels they came from (padding drops out).
    #[cfg(test)]
    pub fn col2im(&self, d: &[f32], batch: usize) -> Vec<f32> {
        let mut out = Vec::new();
        self.col2im_into(d, batch, &mut out);
        out
    }

    /// [`col2im`](Self::col2im) into `out` (its allocation reused).
    pub fn col2im_into(&self, d: &[f32], batch: usize, out: &mut Vec<f32>) {
        let (h, w, c) = (self.input.height, self.input.width, self.input.channels);
        let (k, s, p) = (self.window, self.stride, self.padding);
        let (oh, ow) = (self.out.height, self.out.width);
        let cols = batch * oh * ow;
        assert_eq!(d.len(), k * k * c * cols, "col2im: gradient size");
        out.clear();
        out.resize(c * batch * h * w, 0.0);
        out.par_chunks_mut(batch * h * w)
            .enumerate()
            .for_each(|(ch, dst)| {
                for ky in 0..k {
                    for kx in 0..k {
                        let row = &d[((ky * k + kx) * c + ch) * cols..][..cols];
                        for b in 0..batch {
                            let img = &mut dst[b * h * w..(b + 1) * h * w];
                            for oy in 0..oh {
                                let iy = (oy * s + ky) as isize - p as isize;
                                if iy < 0 || iy >= h as isize {
                                    continue;
                                }
                                let src = &row[(b * oh + oy) * ow..(b * oh + oy + 1) * ow];
                                for (ox, &v) in src.iter().enumerate() {
                                    let ix = (ox * s + kx) as isize - p as isize;
                                    if ix >= 0 && ix < w as isize {
                                        img[iy as usize * w + ix as usize] += v;
                                    }
                                }
                            }
                        }
                    }
                }
            });
    }

    /// Max-pool of the convolution's output `y` (`f x (batch * pixels)`): the pooled values
    /// and, for each, the column of `y` it came from (the first maximum).
    #[cfg(test)]
    pub fn pool_forward(&self, y: &[f32], batch: usize) -> (Vec<f32>, Vec<u32>) {
        let (mut val, mut arg) = (Vec::new(), Vec::new());
        self.pool_forward_into(y, batch, &mut val, &mut arg);
        (val, arg)
    }

    /// [`pool_forward`](Self::pool_forward) into `val` and `arg` (their allocations reused).
    pub fn pool_forward_into(
        &self,
        y: &[f32],
        batch: usize,
        val: &mut Vec<f32>,
        arg: &mut Vec<u32>,
    ) {
        let pg = self.pool.expect("a pool");
        let (oh, ow) = (self.out.height, self.out.width);
        let (ph, pw) = (pg.out.height, pg.out.width);
        let (cols, pcols) = (batch * oh * ow, batch * ph * pw);
        let f = self.out.channels;
        assert_eq!(y.len(), f * cols, "pool: input size");
        // Every element is written below.
        val.resize(f * pcols, 0.0);
        arg.resize(f * pcols, 0);
        val.par_chunks_mut(pcols)
            .zip(arg.par_chunks_mut(pcols))
            .enumerate()
            .for_each(|(ch, (vr, ar))| {
                let src = &y[ch * cols..(ch + 1) * cols];
                if (pg.size, pg.stride) == (2, 2) {
                    // The common pool, without the general loop's index arithmetic.
                    for b in 0..batch {
                        for py in 0..ph {
                            let at = (b * oh + 2 * py) * ow;
                            let o = (b * ph + py) * pw;
                            simd::pool2(
                                &src[at..at + ow],
                                &src[at + ow..at + 2 * ow],
                                at as u32,
                                ow as u32,
                                &mut vr[o..o + pw],
                                &mut ar[o..o + pw],
                            );
                        }
                    }
                    return;
                }
                for b in 0..batch {
                    for py in 0..ph {
                        for px in 0..pw {
                            let mut best = usize::MAX;
                            let mut bv = f32::NEG_INFINITY;
                            for ky in 0..pg.size {
                                for kx in 0..pg.size {
                                    let at =
                                        (b * oh + py * pg.stride + ky) * ow + px * pg.stride + kx;
                                    if best == usize::MAX || src[at] > bv {
                                        best = at;
                                        bv = src[at];
                                    }
                                }
                            }
                            let o = (b * ph + py) * pw + px;
                            vr[o] = bv;
                            ar[o] = best as u32;
                        }
                    }
                }
            });
    }

    /// The adjoint of [`pool_forward`](Self::pool_forward): each pooled gradient goes to the
    /// value it came from.
    #[cfg(test)]
    pub fn pool_backward(&self, d: &[f32], arg: &[u32], batch: usize) -> Vec<f32> {
        let mut out = Vec::new();
        self.pool_backward_into(d, arg, batch, &mut out);
        out
    }

    /// [`pool_backward`](Self::pool_backward) into `out` (its allocation reused).
    pub fn pool_backward_into(&self, d: &[f32], arg: &[u32], batch: usize, out: &mut Vec<f32>) {
        let pg = self.pool.expect("a pool");
        let cols = batch * self.pixels();
        let pcols = batch * pg.out.height * pg.out.width;
        out.clear();
        out.resize(self.out.channels * cols, 0.0);
        out.par_chunks_mut(cols).enumerate().for_each(|(ch, dst)| {
            let (dr, ar) = (&d[ch * pcols..][..pcols], &arg[ch * pcols..][..pcols]);
            for (&g, &a) in dr.iter().zip(ar) {
                dst[a as usize] += g;
            }
        });
    }
}

/// Dense input `(pixels * c) x batch` of an image batch of map `s` as a map
/// `c x (batch * pixels)`.
#[cfg(test)]
pub(crate) fn images_to_map(x: &[f32], s: Shape, batch: usize) -> Vec<f32> {
    let mut out = Vec::new();
    images_to_map_into(x, s, batch, &mut out);
    out
}

/// [`images_to_map`] into `out` (its allocation reused): [`dense_to_map_into`], parallel over
/// the images when there is one channel (the common case, whose one channel would leave it
/// on one thread).
pub(crate) fn images_to_map_into(x: &[f32], s: Shape, batch: usize, out: &mut Vec<f32>) {
    if s.channels > 1 {
        return dense_to_map_into(x, s, batch, out);
    }
    let pixels = x.len() / batch.max(1);
    // Every element is written below.
    out.resize(x.len(), 0.0);
    out.par_chunks_mut(pixels).enumerate().for_each(|(b, img)| {
        for (p, v) in img.iter_mut().enumerate() {
            *v = x[p * batch + b];
        }
    });
}

/// A map `c x (batch * pixels)` as dense input `(pixels * c) x batch` (`HWC` features).
#[cfg(test)]
pub(crate) fn map_to_dense(m: &[f32], s: Shape, batch: usize) -> Vec<f32> {
    let mut out = Vec::new();
    map_to_dense_into(m, s, batch, &mut out);
    out
}

/// [`map_to_dense`] into `out` (its allocation reused).
pub(crate) fn map_to_dense_into(m: &[f32], s: Shape, batch: usize, out: &mut Vec<f32>) {
    let (px, c) = (s.height * s.width, s.channels);
    // Every element is written below.
    out.resize(m.len(), 0.0);
    out.par_chunks_mut(batch).enumerate().for_each(|(j, row)| {
        let (p, ch) = (j / c, j % c);
        for (b, v) in row.iter_mut().enumerate() {
            *v = m[ch * batch * px + b * px + p];
        }
    });
}

/// The adjoint (and inverse) of [`map_to_dense`].
#[cfg(test)]
pub(crate) fn dense_to_map(d: &[f32], s: Shape, batch: usize) -> Vec<f32> {
    let mut out = Vec::new();
    dense_to_map_into(d, s, batch, &mut out);
    out
}

/// [`dense_to_map`] into `out` (its allocation reused).
pub(crate) fn dense_to_map_into(d: &[f32], s: Shape, batch: usize, out: &mut Vec<f32>) {
    let (px, c) = (s.height * s.width, s.channels);
    // Every element is written below.
    out.resize(d.len(), 0.0);
    out.par_chunks_mut(batch * px)
        .enumerate()
        .for_each(|(ch, row)| {
            for b in 0..batch {
                for p in 0..px {
                    row[b * px + p] = d[(p * c + ch) * batch + b];
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn geom(
        input: Shape,
        k: usize,
        s: usize,
        p: usize,
        f: usize,
        pool: Option<(usize, usize)>,
    ) -> ConvGeom {
        let side = |n: usize| (n + 2 * p - k) / s + 1;
        let out = Shape::new(side(input.height), side(input.width), f);
        ConvGeom {
            input,
            window: k,
            stride: s,
            padding: p,
            out,
            pool: pool.map(|(size, stride)| PoolGeom {
                size,
                stride,
                out: Shape::new(
                    (out.height - size) / stride + 1,
                    (out.width - size) / stride + 1,
                    f,
                ),
            }),
        }
    }

    fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    }

    #[test]
    fn im2col_reads_windows_and_col2im_is_its_adjoint() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (input, k, s, p) in [
            (Shape::new(5, 4, 1), 3, 1, 1),
            (Shape::new(7, 6, 3), 3, 2, 1),
            (Shape::new(6, 6, 2), 2, 2, 0),
        ] {
            let g = geom(input, k, s, p, 4, None);
            let batch = 3;
            let a = random(&mut rng, input.bits() * batch);
            let cols = g.im2col(&a, batch);
            let n = batch * g.pixels();
            // Entry by entry from the definition.
            for ky in 0..k {
                for kx in 0..k {
                    for ch in 0..input.channels {
                        for b in 0..batch {
                            for oy in 0..g.out.height {
                                for ox in 0..g.out.width {
                                    let iy = (oy * s + ky) as isize - p as isize;
                                    let ix = (ox * s + kx) as isize - p as isize;
                                    let want = if iy < 0
                                        || ix < 0
                                        || iy >= input.height as isize
                                        || ix >= input.width as isize
                                    {
                                        1.0
                                    } else {
                                        a[ch * batch * input.height * input.width
                                            + b * input.height * input.width
                                            + iy as usize * input.width
                                            + ix as usize]
                                    };
                                    let r = (ky * k + kx) * input.channels + ch;
                                    let col = (b * g.out.height + oy) * g.out.width + ox;
                                    assert_eq!(cols[r * n + col], want);
                                }
                            }
                        }
                    }
                }
            }
            // <im2col(a) - padding, d> = <a, col2im(d)>: padding ones do not depend on a.
            let ones = g.im2col(&vec![0.0; a.len()], batch);
            let lin: Vec<f32> = cols.iter().zip(&ones).map(|(c, o)| c - o).collect();
            let d = random(&mut rng, cols.len());
            let back = g.col2im(&d, batch);
            assert!((dot(&lin, &d) - dot(&a, &back)).abs() < 1e-3);
        }
    }

    #[test]
    fn pool_takes_the_first_maximum_and_routes_gradients_back() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let g = geom(Shape::new(6, 7, 1), 3, 1, 1, 2, Some((2, 2)));
        let batch = 2;
        let y = random(&mut rng, 2 * batch * g.pixels());
        let (val, arg) = g.pool_forward(&y, batch);
        let po = g.pool.unwrap().out;
        assert_eq!((po.height, po.width), (3, 3));
        for (i, (&v, &a)) in val.iter().zip(&arg).enumerate() {
            let ch = i / (batch * 9);
            assert_eq!(v, y[ch * batch * g.pixels() + a as usize]);
        }
        let d = random(&mut rng, val.len());
        let back = g.pool_backward(&d, &arg, batch);
        assert!((dot(&d, &val) - dot(&back, &y)).abs() < 1e-4);
    }

    #[test]
    fn map_and_dense_layouts_are_inverse_and_hwc() {
        let s = Shape::new(2, 3, 4);
        let batch = 5;
        let m: Vec<f32> = (0..s.bits() * batch).map(|i| i as f32).collect();
        let d = map_to_dense(&m, s, batch);
        assert_eq!(dense_to_map(&d, s, batch), m);
        // Feature (y * w + x) * c + ch of example b is channel ch, pixel y * w + x.
        let (y, x, ch, b) = (1, 2, 3, 4);
        let px = s.height * s.width;
        assert_eq!(
            d[((y * s.width + x) * s.channels + ch) * batch + b],
            m[ch * batch * px + b * px + y * s.width + x]
        );
        let x: Vec<f32> = (0..6 * batch).map(|i| i as f32).collect();
        let img = images_to_map(&x, Shape::new(2, 3, 1), batch);
        assert_eq!(img[2 * 6 + 4], x[4 * batch + 2]);
        assert_eq!(dense_to_map(&x, Shape::new(2, 3, 1), batch), img);
        // Several channels: the same layout as the maps after a convolution.
        assert_eq!(images_to_map(&d, s, batch), m);
    }
}
