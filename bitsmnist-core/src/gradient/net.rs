//! The training-time network: latent real weights, sign binarisation, batch normalisation,
//! straight-through gradients and Adam, written on `matrixmultiply::sgemm`.
//!
//! Activations are stored feature-major (`features x batch`, row-major) so that each neuron's
//! batch statistics are contiguous. Every parallel loop splits its work into blocks whose
//! boundaries depend only on the shapes, never on the number of threads, and every sum runs
//! in a fixed order: results are bit-for-bit the same on any number of threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::simd;
use super::spatial::{self, ConvGeom};

/// Output rows per parallel sgemm task.
const GEMM_BLOCK: usize = 64;
/// Most row blocks of one product: enough to share among a few threads (a block per thread
/// and a few over, as some threads may be slowed by other work); the number depends only on
/// the shapes, so results do not depend on the threads.
const GEMM_TASKS: usize = 8;
/// Elements per parallel task of element-wise updates.
const ELEM_BLOCK: usize = 1 << 14;

/// Columns of `c` per parallel sgemm task when `c` has few rows (a convolution's products:
/// a few dozen filters by every pixel of the batch).
const GEMM_COLS: usize = 512;

/// Multiply-adds between two stop points of [`Net::recalibrate`]: 2^28, a few hundredths of
/// a second on one core of the 2-core development machine, so that a stop is honoured well
/// within the fraction of a second the documentation promises.
pub(crate) const RECALIBRATION_WORK: u64 = 1 << 28;

/// `c (m x n) = a (m x k) * b (k x n)`, `c` row-major and contiguous, `a` and `b` given by
/// strides; parallel over fixed blocks of at least `GEMM_BLOCK` rows of `c`, or of `GEMM_COLS` columns
/// when there are too few rows to share out. The blocks depend only on the shapes, and each
/// element is one sgemm's sum over `k` either way.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    c: &mut [f32],
) {
    assert_eq!(c.len(), m * n, "gemm: output size");
    if m == 0 || n == 0 {
        return;
    }
    if k > 0 {
        assert!((m - 1) * rsa + (k - 1) * csa < a.len(), "gemm: a too short");
        assert!((k - 1) * rsb + (n - 1) * csb < b.len(), "gemm: b too short");
    }
    if m < 4 * GEMM_BLOCK && n >= 2 * GEMM_COLS {
        /// The output, shared by tasks that write disjoint columns.
        struct Out(*mut f32);
        // SAFETY: every task writes only its own columns of `c` (see below).
        unsafe impl Sync for Out {}
        let out = Out(c.as_mut_ptr());
        let out = &out;
        (0..n.div_ceil(GEMM_COLS)).into_par_iter().for_each(|blk| {
            let c0 = blk * GEMM_COLS;
            let cols = GEMM_COLS.min(n - c0);
            // SAFETY: the asserts above keep every element read in bounds (columns c0..c0 +
            // cols of `b`, all rows of `a`); this task writes rows 0..m, columns c0..c0 + cols
            // of `c` (row stride n), which no other task touches. With beta = 0, `c` is only
            // written.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    cols,
                    1.0,
                    a.as_ptr(),
                    rsa as isize,
                    csa as isize,
                    b.as_ptr().add(c0 * csb),
                    rsb as isize,
                    csb as isize,
                    0.0,
                    out.0.add(c0),
                    n as isize,
                    1,
                );
            }
        });
        return;
    }
    // At most GEMM_TASKS blocks of rows: each block's sgemm packs all of `b` again, so
    // fewer, larger blocks pack it fewer times (a 2048-row product: 8 times, not 32).
    let rows_per_block = GEMM_BLOCK.max(m.div_ceil(GEMM_TASKS).next_multiple_of(16));
    c.par_chunks_mut(rows_per_block * n)
        .enumerate()
        .for_each(|(blk, cb)| {
            let r0 = blk * rows_per_block;
            let rows = cb.len() / n;
            // SAFETY: the asserts above keep every element read, rows r0..r0 + rows of `a` and
            // all of `b`, in bounds; `cb` is exactly `rows x n` contiguous values. With beta = 0,
            // `c` is only written.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    k,
                    n,
                    1.0,
                    a.as_ptr().add(r0 * rsa),
                    rsa as isize,
                    csa as isize,
                    b.as_ptr(),
                    rsb as isize,
                    csb as isize,
                    0.0,
                    cb.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
        });
}

/// How the forward pass treats weights and activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Sign of the latent weights and sign activations (the bit network).
    Binary,
    /// The latent weights themselves and `hardtanh` activations: the smooth function whose
    /// exact gradient is the straight-through estimate of the binary path (for checking).
    #[cfg_attr(not(test), allow(dead_code))]
    Latent,
}

/// Adam moments of one parameter tensor.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Moments {
    fn new(len: usize) -> Self {
        Self {
            m: vec![0.0; len],
            v: vec![0.0; len],
        }
    }
}

/// Adam step constants for one update.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator epsilon.
    pub eps: f32,
    /// Bias corrections `1 - beta1^t`, `1 - beta2^t`.
    pub c1: f32,
    /// See `c1`.
    pub c2: f32,
}

impl AdamStep {
    #[inline]
    pub(crate) fn delta(&self, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        *m = self.beta1 * *m + (1.0 - self.beta1) * g;
        *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
        let mh = *m / self.c1;
        let vh = *v / self.c2;
        self.lr * mh / (vh.sqrt() + self.eps)
    }
}

/// One binary dense layer followed by batch normalisation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Layer {
    pub n: usize,
    pub m: usize,
    /// Latent weights, `m x n` row-major, kept in `[-clip, clip]`.
    pub w: Vec<f32>,
    /// The weights the forward pass uses: `sign(w)` (+1 for `w >= 0`), or `w` on the latent
    /// path. Derived from `w` (not stored: rebuilt when a state is loaded).
    #[serde(skip)]
    pub wb: Vec<f32>,
    /// Batch-norm scale and shift.
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    /// Running batch statistics for evaluation.
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    mw: Moments,
    mg: Moments,
    mb: Moments,
}

impl Layer {
    pub fn new(n: usize, m: usize, w: Vec<f32>) -> Self {
        let mut l = Self {
            n,
            m,
            w,
            wb: Vec::new(),
            gamma: vec![1.0; m],
            beta: vec![0.0; m],
            mean: vec![0.0; m],
            var: vec![1.0; m],
            mw: Moments::new(m * n),
            mg: Moments::new(m),
            mb: Moments::new(m),
        };
        l.binarize(Path::Binary);
        l
    }

    /// Recomputes `wb` from `w`.
    pub fn binarize(&mut self, path: Path) {
        self.wb.resize(self.w.len(), 0.0);
        self.wb
            .par_chunks_mut(ELEM_BLOCK)
            .zip(self.w.par_chunks(ELEM_BLOCK))
            .for_each(|(b, w)| match path {
                Path::Binary => simd::signs(w, b),
                Path::Latent => b.copy_from_slice(w),
            });
    }

    /// Whether every vector has the length the shape calls for (a state read from a file).
    pub fn is_consistent(&self) -> bool {
        let (n, m) = (self.n, self.m);
        n.checked_mul(m).is_some_and(|nm| {
            self.w.len() == nm
                && self.mw.m.len() == nm
                && self.mw.v.len() == nm
                && [&self.gamma, &self.beta, &self.mean, &self.var]
                    .iter()
                    .all(|v| v.len() == m)
                && [&self.mg, &self.mb]
                    .iter()
                    .all(|mo| mo.m.len() == m && mo.v.len() == m)
        })
    }

    /// `1 / sqrt(var + eps)` per neuron, from the running statistics.
    pub fn eval_inv_std(&self, eps: f32) -> Vec<f32> {
        self.var.iter().map(|&v| 1.0 / (v + eps).sqrt()).collect()
    }
}

/// +1 for `x >= 0`, -1 otherwise: bit 0 and bit 1 of the exported model.
#[inline]
pub(crate) fn sign(x: f32) -> f32 {
    if x >= 0.0 { 1.0 } else { -1.0 }
}

/// The evaluation-mode batch norm of one pre-activation. Export folds exactly this expression
/// into integer thresholds, so keep the two in step.
#[inline]
pub(crate) fn bn_eval(z: f32, mean: f32, inv_std: f32, gamma: f32, beta: f32) -> f32 {
    gamma * ((z - mean) * inv_std) + beta
}

/// The network: binary dense + batch-norm layers, sign activations between them, softmax
/// cross-entropy on the last one's outputs. The first `convs.len()` layers are convolutions:
/// their weights are the filters (`filters x (k * k * channels)`), applied to every window
/// (see [`spatial`]), their batch statistics per channel over all pixels, and a max-pool, if
/// any, takes the batch-norm outputs before the sign (`sign(max y) = max sign(y)`, which the
/// exported bit pool computes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Net {
    pub layers: Vec<Layer>,
    pub eps: f32,
    pub momentum: f32,
    pub clip: f32,
    /// The convolutions' geometry, derived from the parameters (not stored: rebuilt when a
    /// state is loaded).
    #[serde(skip)]
    pub convs: Vec<ConvGeom>,
}

/// What the backward pass needs from the forward pass of one batch. Its buffers live from
/// step to step ([`Net::forward_train_into`] overwrites them): a convolutional net's
/// activations are tens of megabytes a step, and fresh pages for them every step made page
/// faults about a third of a run's time.
#[derive(Default)]
pub(crate) struct Cache {
    batch: usize,
    /// Input of each layer, `n x batch` (a convolution's: its windows, `n x (batch * pixels)`).
    inputs: Vec<Vec<f32>>,
    /// For a convolution: the values whose signs the next layer reads, in its input layout
    /// (after the pool and the change to dense features); empty for a dense layer (`y`).
    pre: Vec<Vec<f32>>,
    /// For a pooled convolution: where each pooled value came from.
    routes: Vec<Vec<u32>>,
    /// Normalised pre-activations of each layer, `m x batch`.
    xhat: Vec<Vec<f32>>,
    /// `1 / sqrt(var + eps)` of each layer's batch statistics.
    inv_std: Vec<Vec<f32>>,
    /// Batch-norm outputs of each layer, `m x batch` (the last is the logits).
    y: Vec<Vec<f32>>,
    /// Scratch: a convolution's input map before its windows are read, or a pool's output
    /// before the change to dense features.
    map: Vec<f32>,
}

impl Cache {
    /// Logits, `classes x batch`.
    pub fn logits(&self) -> &[f32] {
        self.y.last().expect("at least one layer")
    }
}

/// Gradients of one batch, shaped as the parameters, and the backward pass's working
/// buffers, kept from step to step as the [`Cache`]'s are.
#[derive(Default)]
pub(crate) struct Grads {
    w: Vec<Vec<f32>>,
    gamma: Vec<Vec<f32>>,
    beta: Vec<Vec<f32>>,
    dy: Vec<f32>,
    da: Vec<f32>,
    tmp: Vec<f32>,
}

/// The signs of `src` (or on the latent path its `hardtanh`) into `dst`: a layer's input
/// from the previous layer's output.
fn activate(src: &[f32], dst: &mut Vec<f32>, path: Path) {
    // Every element is written below.
    dst.resize(src.len(), 0.0);
    dst.par_chunks_mut(ELEM_BLOCK)
        .zip(src.par_chunks(ELEM_BLOCK))
        .for_each(|(d, s)| match path {
            Path::Binary => simd::signs(s, d),
            Path::Latent => {
                for (d, &v) in d.iter_mut().zip(s) {
                    *d = v.clamp(-1.0, 1.0);
                }
            }
        });
}

/// A layer's ±1 input values for a chunk of examples, packed: bit `i` is set where value `i`
/// is -1. Recalibration keeps every example's input to the layer it estimates this way, 32
/// times smaller than as floats, instead of running the layers before it again.
struct PackedSigns {
    bits: Vec<u64>,
    len: usize,
}

impl PackedSigns {
    fn pack(v: &[f32]) -> Self {
        let mut bits = vec![0u64; v.len().div_ceil(64)];
        bits.par_chunks_mut(ELEM_BLOCK / 64)
            .zip(v.par_chunks(ELEM_BLOCK))
            .for_each(|(b, v)| {
                for (w, v) in b.iter_mut().zip(v.chunks(64)) {
                    *w = v
                        .iter()
                        .enumerate()
                        .fold(0u64, |w, (i, &x)| w | (u64::from(x < 0.0) << i));
                }
            });
        Self { bits, len: v.len() }
    }

    fn unpack(&self) -> Vec<f32> {
        let mut v = vec![0.0f32; self.len];
        v.par_chunks_mut(ELEM_BLOCK)
            .zip(self.bits.par_chunks(ELEM_BLOCK / 64))
            .for_each(|(v, b)| {
                for (v, &w) in v.chunks_mut(64).zip(b) {
                    for (i, x) in v.iter_mut().enumerate() {
                        *x = if w >> i & 1 == 1 { -1.0 } else { 1.0 };
                    }
                }
            });
        v
    }
}

impl Net {
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.m)
    }

    pub fn inputs(&self) -> usize {
        match self.convs.first() {
            Some(g) => g.input.bits(),
            None => self.layers.first().map_or(0, |l| l.n),
        }
    }

    /// Columns of layer `li`'s products for a batch: one per example, or per output pixel of
    /// each example for a convolution.
    fn columns(&self, li: usize, batch: usize) -> usize {
        self.convs.get(li).map_or(batch, |g| batch * g.pixels())
    }

    /// What convolution `li` hands on from its batch-norm output `y` into `pre`: pooled (the
    /// routes into `routes`), and laid out for a dense layer if one follows; `scratch` holds
    /// the pooled map on the way.
    fn hand_on_into(
        &self,
        li: usize,
        y: &[f32],
        batch: usize,
        scratch: &mut Vec<f32>,
        pre: &mut Vec<f32>,
        routes: &mut Vec<u32>,
    ) {
        let g = &self.convs[li];
        match (g.pool.is_some(), li + 1 == self.convs.len()) {
            (true, true) => {
                g.pool_forward_into(y, batch, scratch, routes);
                spatial::map_to_dense_into(scratch, g.after(), batch, pre);
            }
            (true, false) => g.pool_forward_into(y, batch, pre, routes),
            (false, true) => {
                routes.clear();
                spatial::map_to_dense_into(y, g.after(), batch, pre);
            }
            (false, false) => {
                routes.clear();
                pre.clear();
                pre.extend_from_slice(y);
            }
        }
    }

    /// Training-mode forward of `x` (`inputs x batch`): batch statistics, and (on the binary
    /// path) running statistics updated.
    #[cfg(test)]
    pub fn forward_train(&mut self, x: Vec<f32>, batch: usize, path: Path) -> Cache {
        let mut cache = Cache::default();
        self.forward_train_into(&x, batch, path, &mut cache);
        cache
    }

    /// [`forward_train`](Self::forward_train) into `cache`, whose buffers are reused.
    pub fn forward_train_into(&mut self, x: &[f32], batch: usize, path: Path, cache: &mut Cache) {
        let nl = self.layers.len();
        cache.batch = batch;
        for v in [
            &mut cache.inputs,
            &mut cache.pre,
            &mut cache.xhat,
            &mut cache.inv_std,
            &mut cache.y,
        ] {
            v.resize_with(nl, Vec::new);
        }
        cache.routes.resize_with(nl, Vec::new);
        for li in 0..nl {
            let cols = self.columns(li, batch);
            // The product input: the batch, or the signs of the previous layer's output.
            {
                let Cache {
                    inputs,
                    pre,
                    y,
                    map,
                    ..
                } = &mut *cache;
                let conv = self.convs.get(li);
                if li == 0 {
                    match conv {
                        None => {
                            inputs[0].clear();
                            inputs[0].extend_from_slice(x);
                        }
                        Some(g) => {
                            spatial::images_to_map_into(x, g.input, batch, map);
                            g.im2col_into(map, batch, &mut inputs[0]);
                        }
                    }
                } else {
                    let src: &[f32] = if pre[li - 1].is_empty() {
                        &y[li - 1]
                    } else {
                        &pre[li - 1]
                    };
                    match conv {
                        None => activate(src, &mut inputs[li], path),
                        Some(g) => {
                            activate(src, map, path);
                            g.im2col_into(map, batch, &mut inputs[li]);
                        }
                    }
                }
            }
            let l = &mut self.layers[li];
            let input = &cache.inputs[li];
            assert_eq!(input.len(), l.n * cols, "forward: input size");
            // z becomes x-hat in place; gemm, the loop below and the pool write every element.
            let z = &mut cache.xhat[li];
            z.resize(l.m * cols, 0.0);
            gemm(l.m, l.n, cols, &l.wb, l.n, 1, input, cols, 1, z);
            let inv = &mut cache.inv_std[li];
            inv.resize(l.m, 0.0);
            let y = &mut cache.y[li];
            y.resize(l.m * cols, 0.0);
            let (eps, mom) = (self.eps, self.momentum);
            let update_running = path == Path::Binary;
            z.par_chunks_mut(cols)
                .zip(y.par_chunks_mut(cols))
                .zip(inv.par_iter_mut())
                .zip(l.gamma.par_iter().zip(l.beta.par_iter()))
                .zip(l.mean.par_iter_mut().zip(l.var.par_iter_mut()))
                .for_each(|((((zr, yr), inv), (&g, &b)), (rm, rv))| {
                    let bf = cols as f32;
                    let mu = zr.iter().sum::<f32>() / bf;
                    let var = zr.iter().map(|&v| (v - mu) * (v - mu)).sum::<f32>() / bf;
                    *inv = 1.0 / (var + eps).sqrt();
                    simd::normalise(zr, yr, mu, *inv, g, b);
                    if update_running {
                        let unbiased = if cols > 1 { var * bf / (bf - 1.0) } else { var };
                        *rm = (1.0 - mom) * *rm + mom * mu;
                        *rv = (1.0 - mom) * *rv + mom * unbiased;
                    }
                });
            if li < self.convs.len() {
                let Cache {
                    y,
                    map,
                    pre,
                    routes,
                    ..
                } = &mut *cache;
                self.hand_on_into(li, &y[li], batch, map, &mut pre[li], &mut routes[li]);
            } else {
                cache.pre[li].clear();
                cache.routes[li].clear();
            }
        }
    }

    /// Layer `li`'s pre-activations (`m x columns`) for its input `a` (as
    /// [`forward_eval`](Self::forward_eval) hands it on); `map` and `windows` are scratch.
    fn pre_activations(
        &self,
        li: usize,
        a: &[f32],
        batch: usize,
        map: &mut Vec<f32>,
        windows: &mut Vec<f32>,
    ) -> Vec<f32> {
        let l = &self.layers[li];
        let cols = self.columns(li, batch);
        let input: &[f32] = match self.convs.get(li) {
            None => a,
            Some(g) if li == 0 => {
                spatial::images_to_map_into(a, g.input, batch, map);
                g.im2col_into(map, batch, windows);
                windows
            }
            Some(g) => {
                g.im2col_into(a, batch, windows);
                windows
            }
        };
        let mut z = vec![0.0f32; l.m * cols];
        gemm(l.m, l.n, cols, &l.wb, l.n, 1, input, cols, 1, &mut z);
        z
    }

    /// What layer `li` hands on in evaluation mode from its pre-activations `z`: the batch
    /// norm of the running statistics, a convolution's pool and layout, and (before the last
    /// layer) the signs.
    fn eval_output(
        &self,
        li: usize,
        mut z: Vec<f32>,
        batch: usize,
        map: &mut Vec<f32>,
    ) -> Vec<f32> {
        let l = &self.layers[li];
        let cols = self.columns(li, batch);
        let inv = l.eval_inv_std(self.eps);
        z.par_chunks_mut(cols).enumerate().for_each(|(j, zr)| {
            for v in zr.iter_mut() {
                *v = bn_eval(*v, l.mean[j], inv[j], l.gamma[j], l.beta[j]);
            }
        });
        if li < self.convs.len() {
            let (mut pre, mut routes) = (Vec::new(), Vec::new());
            self.hand_on_into(li, &z, batch, map, &mut pre, &mut routes);
            z = pre;
        }
        if li + 1 < self.layers.len() {
            z.par_chunks_mut(ELEM_BLOCK).for_each(|c| {
                for v in c {
                    *v = sign(*v);
                }
            });
        }
        z
    }

    /// Evaluation-mode forward (running statistics, binary path) of `x` (`inputs x batch`)
    /// through layers `0..upto`, then the pre-activations of layer `upto` (`m x columns`, see
    /// [`Net::columns`]); with `upto` the number of layers, the logits.
    pub fn forward_eval(&self, x: &[f32], batch: usize, upto: usize) -> Vec<f32> {
        let (mut map, mut windows) = (Vec::new(), Vec::new());
        let mut a = x.to_vec();
        for li in 0..self.layers.len().min(upto + 1) {
            let z = self.pre_activations(li, &a, batch, &mut map, &mut windows);
            if li == upto {
                return z;
            }
            a = self.eval_output(li, z, batch, &mut map);
        }
        a
    }

    /// Replaces the running statistics with the exact population statistics of `examples`
    /// examples (`input` gives the columns of the examples it is passed, `inputs x batch`),
    /// layer after layer, each layer seeing the recalibrated ones before it. `stop` is asked
    /// before every chunk of examples ([`recalibration_chunk`](Self::recalibration_chunk)
    /// of them, a bounded amount of work); when it says so, every layer gets its statistics
    /// back as they were and `false` is returned: all or nothing, so that the model is
    /// always either the one training made or the recalibrated one, never a mixture whose
    /// layers were normalised for inputs they no longer see.
    pub fn recalibrate(
        &mut self,
        examples: usize,
        input: &dyn Fn(&[usize]) -> Vec<f32>,
        stop: &dyn Fn() -> bool,
    ) -> bool {
        self.recalibrate_in_chunks(examples, input, stop, RECALIBRATION_WORK)
    }

    /// [`recalibrate`](Self::recalibrate) with chunks of at most `work` multiply-adds.
    ///
    /// One pass over the layers: each layer's product runs twice per example (its
    /// statistics, then, with them, the signs it hands on, kept packed for the next layer),
    /// rather than every layer before it running again for each layer.
    pub(crate) fn recalibrate_in_chunks(
        &mut self,
        examples: usize,
        input: &dyn Fn(&[usize]) -> Vec<f32>,
        stop: &dyn Fn() -> bool,
        work: u64,
    ) -> bool {
        let before: Vec<(Vec<f32>, Vec<f32>)> = self
            .layers
            .iter()
            .map(|l| (l.mean.clone(), l.var.clone()))
            .collect();
        let restore = |layers: &mut [Layer]| {
            for (l, (mean, var)) in layers.iter_mut().zip(before) {
                (l.mean, l.var) = (mean, var);
            }
        };
        let idx: Vec<usize> = (0..examples).collect();
        let size = self.recalibration_chunk(work);
        // The input of the layer being estimated, chunk by chunk (the first layer's comes
        // from `input`).
        let mut signs: Vec<PackedSigns> = Vec::new();
        let (mut map, mut windows) = (Vec::new(), Vec::new());
        for li in 0..self.layers.len() {
            let chunk_input = |ci: usize, chunk: &[usize]| match signs.get(ci) {
                Some(s) if li > 0 => s.unpack(),
                _ => input(chunk),
            };
            let m = self.layers[li].m;
            let (mut sum, mut sq, mut count) = (vec![0.0f64; m], vec![0.0f64; m], 0usize);
            // The sums run over the examples in order whatever the chunk size (each value is
            // added to its row's sum one after the other), so the statistics do not depend
            // on it.
            for (ci, chunk) in idx.chunks(size).enumerate() {
                if stop() {
                    restore(&mut self.layers);
                    return false;
                }
                let b = chunk.len();
                let a = chunk_input(ci, chunk);
                let z = self.pre_activations(li, &a, b, &mut map, &mut windows);
                let cols = self.columns(li, b);
                sum.par_iter_mut()
                    .zip(sq.par_iter_mut())
                    .zip(z.par_chunks(cols))
                    .for_each(|((s, q), zr)| simd::add_moments(zr, s, q));
                count += cols;
            }
            if count < 2 {
                return true;
            }
            let n = count as f64;
            let l = &mut self.layers[li];
            for j in 0..m {
                let mean = sum[j] / n;
                let var = ((sq[j] / n - mean * mean) * n / (n - 1.0)).max(0.0);
                l.mean[j] = mean as f32;
                l.var[j] = var as f32;
            }
            if li + 1 == self.layers.len() {
                break;
            }
            let mut next = Vec::with_capacity(examples.div_ceil(size));
            for (ci, chunk) in idx.chunks(size).enumerate() {
                if stop() {
                    restore(&mut self.layers);
                    return false;
                }
                let b = chunk.len();
                let a = chunk_input(ci, chunk);
                let z = self.pre_activations(li, &a, b, &mut map, &mut windows);
                next.push(PackedSigns::pack(&self.eval_output(li, z, b, &mut map)));
            }
            signs = next;
        }
        true
    }

    /// The examples one stop point of [`recalibrate`](Self::recalibrate) covers: as many as
    /// `work` multiply-adds through the costliest layer allow, 1 to 1,000. A fixed number of
    /// examples would leave a stop waiting for seconds on a deep or wide model (1,000
    /// examples through a 7x7 convolution of 64 maps are over 10^11).
    pub fn recalibration_chunk(&self, work: u64) -> usize {
        let per_example: u64 = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| (l.m as u64) * (l.n as u64) * self.columns(i, 1) as u64)
            .max()
            .unwrap_or(0)
            .max(1);
        (work / per_example).clamp(1, 1000) as usize
    }

    /// Mean softmax cross-entropy of the logits against `labels`, the gradient of that mean
    /// with respect to the logits (`classes x batch`), and the number of correct argmaxes.
    #[cfg(test)]
    pub fn loss(&self, cache: &Cache, labels: &[u8]) -> (f32, Vec<f32>, usize) {
        let mut grad = Vec::new();
        let (loss, correct) = self.loss_into(cache, labels, &mut grad);
        (loss, grad, correct)
    }

    /// [`loss`](Self::loss) with the gradient into `grad` (its allocation reused).
    pub fn loss_into(&self, cache: &Cache, labels: &[u8], grad: &mut Vec<f32>) -> (f32, usize) {
        let c = self.classes();
        let b = cache.batch;
        let logits = cache.logits();
        grad.clear();
        grad.resize(c * b, 0.0);
        let mut loss = 0.0f64;
        let mut correct = 0;
        let mut p = vec![0.0f32; c];
        for (i, &label) in labels.iter().enumerate().take(b) {
            let col = |k: usize| logits[k * b + i];
            let mx = (0..c).map(col).fold(f32::NEG_INFINITY, f32::max);
            let mut s = 0.0f32;
            for (k, pk) in p.iter_mut().enumerate() {
                *pk = (col(k) - mx).exp();
                s += *pk;
            }
            let label = label as usize;
            loss += f64::from(s.ln() - (col(label) - mx));
            let best = (0..c).fold(0, |best, k| if col(k) > col(best) { k } else { best });
            correct += usize::from(best == label);
            for (k, &pk) in p.iter().enumerate() {
                let t = if k == label { 1.0 } else { 0.0 };
                grad[k * b + i] = (pk / s - t) / b as f32;
            }
        }
        ((loss / b as f64) as f32, correct)
    }

    /// Straight-through backward pass from the gradient of the logits.
    #[cfg(test)]
    pub fn backward(&self, cache: &Cache, dlogits: Vec<f32>) -> Grads {
        let mut grads = Grads::default();
        self.backward_into(cache, &dlogits, &mut grads);
        grads
    }

    /// [`backward`](Self::backward) into `grads`, whose buffers are reused.
    pub fn backward_into(&self, cache: &Cache, dlogits: &[f32], grads: &mut Grads) {
        let batch = cache.batch;
        let nl = self.layers.len();
        let Grads {
            w: gw,
            gamma: gg,
            beta: gb,
            dy,
            da,
            tmp,
        } = grads;
        for v in [&mut *gw, &mut *gg, &mut *gb] {
            v.resize_with(nl, Vec::new);
        }
        dy.clear();
        dy.extend_from_slice(dlogits);
        for li in (0..nl).rev() {
            let l = &self.layers[li];
            let b = self.columns(li, batch);
            let xhat = &cache.xhat[li];
            let inv = &cache.inv_std[li];
            // Every element of the gradients is written below.
            let dgamma = &mut gg[li];
            dgamma.resize(l.m, 0.0);
            let dbeta = &mut gb[li];
            dbeta.resize(l.m, 0.0);
            // dy becomes dz in place.
            dy.par_chunks_mut(b)
                .zip(xhat.par_chunks(b))
                .zip(dgamma.par_iter_mut().zip(dbeta.par_iter_mut()))
                .enumerate()
                .for_each(|(j, ((d, xh), (dg, db)))| {
                    let mut sdy = 0.0f32;
                    let mut sdyx = 0.0f32;
                    for (&dv, &xv) in d.iter().zip(xh) {
                        sdy += dv;
                        sdyx += dv * xv;
                    }
                    *dg = sdyx;
                    *db = sdy;
                    let g = l.gamma[j];
                    let bf = b as f32;
                    // dz = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g dy
                    let mean_dx = g * sdy / bf;
                    let mean_dxx = g * sdyx / bf;
                    simd::bn_backward(d, xh, inv[j], g, mean_dx, mean_dxx);
                });
            let a = &cache.inputs[li];
            let dw = &mut gw[li];
            dw.resize(l.m * l.n, 0.0);
            // dW (m x n) = dz (m x b) * a^T (b x n), a stored n x b.
            gemm(l.m, b, l.n, dy, b, 1, a, 1, b, dw);
            if li > 0 {
                // da (n x b) = wb^T (n x m) * dz (m x b).
                da.resize(l.n * b, 0.0);
                gemm(l.n, l.m, b, &l.wb, 1, l.n, dy, b, 1, da);
                if let Some(g) = self.convs.get(li) {
                    g.col2im_into(da, batch, tmp);
                    std::mem::swap(da, tmp);
                }
                // Straight-through sign: pass the gradient where |y| <= 1.
                let pre = &cache.pre[li - 1];
                let yp = if pre.is_empty() {
                    &cache.y[li - 1]
                } else {
                    pre
                };
                da.par_chunks_mut(ELEM_BLOCK)
                    .zip(yp.par_chunks(ELEM_BLOCK))
                    .for_each(|(d, y)| simd::pass_through(d, y));
                // Back to the previous layer's output layout: before the change to dense
                // features and the pool.
                if let Some(g) = self.convs.get(li - 1) {
                    if li == self.convs.len() {
                        spatial::dense_to_map_into(da, g.after(), batch, tmp);
                        std::mem::swap(da, tmp);
                    }
                    if g.pool.is_some() {
                        g.pool_backward_into(da, &cache.routes[li - 1], batch, tmp);
                        std::mem::swap(da, tmp);
                    }
                }
                std::mem::swap(dy, da);
            }
        }
    }

    /// One Adam step on every parameter; latent weights are clipped to `[-clip, clip]` and
    /// their gradient is passed straight through where `|w| <= clip`.
    pub fn update(&mut self, grads: &Grads, step: AdamStep, path: Path) {
        let clip = self.clip;
        for (li, l) in self.layers.iter_mut().enumerate() {
            // The signs the next forward pass uses are written in the same pass over the
            // weights: a dense layer's weights are tens of megabytes, read once, not twice.
            l.wb.resize(l.w.len(), 0.0);
            l.w.par_chunks_mut(ELEM_BLOCK)
                .zip(grads.w[li].par_chunks(ELEM_BLOCK))
                .zip(
                    l.mw.m
                        .par_chunks_mut(ELEM_BLOCK)
                        .zip(l.mw.v.par_chunks_mut(ELEM_BLOCK)),
                )
                .zip(l.wb.par_chunks_mut(ELEM_BLOCK))
                .for_each(|(((w, g), (m, v)), wb)| {
                    simd::adam(w, g, m, v, step, clip);
                    match path {
                        Path::Binary => simd::signs(w, wb),
                        Path::Latent => wb.copy_from_slice(w),
                    }
                });
            for (p, g, mo) in [
                (&mut l.gamma, &grads.gamma[li], &mut l.mg),
                (&mut l.beta, &grads.beta[li], &mut l.mb),
            ] {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(&mut mo.m).zip(&mut mo.v) {
                    *p -= step.delta(g, m, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn tiny_net(seed: u64) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layer = |n: usize, m: usize| {
            let w = (0..n * m).map(|_| rng.random_range(-0.5..0.5)).collect();
            let mut l = Layer::new(n, m, w);
            for j in 0..m {
                l.gamma[j] = rng.random_range(0.5..1.5);
                l.beta[j] = rng.random_range(-0.3..0.3);
            }
            l
        };
        let layers = vec![layer(12, 7), layer(7, 5), layer(5, 3)];
        Net {
            layers,
            eps: 1e-3,
            momentum: 0.1,
            clip: 1.0,
            convs: Vec::new(),
        }
    }

    #[test]
    fn gemm_matches_naive_with_strides() {
        // Row blocks, and column blocks (few rows, many columns, a last partial block).
        for (m, k, n) in [(70, 9, 5), (5, 9, 1500)] {
            gemm_case(m, k, n);
        }
    }

    fn gemm_case(m: usize, k: usize, n: usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
        // b given transposed: stored n x k.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut c = vec![0.0; m * n];
        gemm(m, k, n, &a, k, 1, &bt, 1, k, &mut c);
        for i in 0..m {
            for j in 0..n {
                let s: f32 = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
                assert!((c[i * n + j] - s).abs() < 1e-5);
            }
        }
    }

    /// Compares the backward pass with central differences of the loss for every third
    /// weight and every batch-norm parameter: (values checked, worst relative error).
    fn numerical_check(net: &Net, x: &[f32], batch: usize, labels: &[u8]) -> (usize, f64) {
        let x = x.to_vec();
        let loss_of = |net: &Net| {
            let mut n = net.clone();
            let c = n.forward_train(x.clone(), batch, Path::Latent);
            n.loss(&c, labels).0 as f64
        };
        let mut n0 = net.clone();
        let cache = n0.forward_train(x.clone(), batch, Path::Latent);
        let (_, dl, _) = n0.loss(&cache, labels);
        let grads = n0.backward(&cache, dl);
        let h = 1e-3f32;
        let mut checked = 0;
        let mut worst = 0.0f64;
        for li in 0..net.layers.len() {
            let count = net.layers[li].w.len();
            for k in (0..count).step_by(3) {
                let mut plus = net.clone();
                plus.layers[li].w[k] += h;
                plus.layers[li].binarize(Path::Latent);
                let mut minus = net.clone();
                minus.layers[li].w[k] -= h;
                minus.layers[li].binarize(Path::Latent);
                let num = (loss_of(&plus) - loss_of(&minus)) / (2.0 * h as f64);
                let ana = grads.w[li][k] as f64;
                if (num - ana).abs() / (1e-3 + ana.abs()) > 0.05 {
                    eprintln!("w l{li} k{k} num {num} ana {ana}");
                }
                worst = worst.max((num - ana).abs() / (1e-3 + ana.abs()));
                checked += 1;
            }
            for j in 0..net.layers[li].m {
                for (which, g) in [(0, &grads.gamma[li]), (1, &grads.beta[li])] {
                    let mut plus = net.clone();
                    let mut minus = net.clone();
                    if which == 0 {
                        plus.layers[li].gamma[j] += h;
                        minus.layers[li].gamma[j] -= h;
                    } else {
                        plus.layers[li].beta[j] += h;
                        minus.layers[li].beta[j] -= h;
                    }
                    let num = (loss_of(&plus) - loss_of(&minus)) / (2.0 * h as f64);
                    let ana = g[j] as f64;
                    if (num - ana).abs() / (1e-3 + ana.abs()) > 0.05 {
                        eprintln!("gb{which} l{li} j{j} num {num} ana {ana}");
                    }
                    worst = worst.max((num - ana).abs() / (1e-3 + ana.abs()));
                    checked += 1;
                }
            }
        }
        (checked, worst)
    }

    /// The straight-through backward pass is the exact gradient of the latent path (latent
    /// weights, hardtanh activations); check it against central differences.
    #[test]
    fn backward_matches_numerical_gradient_on_latent_path() {
        // Pick a net and batch with no hidden output near the kinks of hardtanh (±1), so that
        // central differences do not straddle one, but with some units saturated (gradient
        // blocked) so that the straight-through mask is exercised.
        let batch = 6;
        let labels: Vec<u8> = (0..batch).map(|i| (i % 3) as u8).collect();
        let (net, x) = (1..100)
            .find_map(|seed| {
                let mut net = tiny_net(seed);
                for l in &mut net.layers {
                    l.binarize(Path::Latent);
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
                let x: Vec<f32> = (0..12 * batch)
                    .map(|_| if rng.random() { 1.0 } else { -1.0 })
                    .collect();
                let c = net.clone().forward_train(x.clone(), batch, Path::Latent);
                let hidden = || c.y[..2].iter().flatten();
                let margin = hidden().map(|y| (y.abs() - 1.0).abs()).fold(1.0, f32::min);
                let saturated = hidden().filter(|y| y.abs() > 1.0).count();
                (margin > 0.03 && saturated >= 5).then_some((net, x))
            })
            .expect("some seed has margin");
        let (checked, worst) = numerical_check(&net, &x, batch, &labels);
        assert!(checked > 50);
        assert!(worst < 0.05, "worst relative error {worst}");
    }

    /// 6 x 6 images → conv 3 filters 3x3 (padding 1) → pool 2 → conv 4 filters 2x2 → dense
    /// 16 → 5 → 3 classes.
    fn tiny_conv_net(seed: u64) -> Net {
        use crate::layers::Shape;
        use spatial::PoolGeom;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layer = |n: usize, m: usize| {
            let w = (0..n * m).map(|_| rng.random_range(-0.5..0.5)).collect();
            let mut l = Layer::new(n, m, w);
            for j in 0..m {
                l.gamma[j] = rng.random_range(0.5..1.5) * if j % 3 == 2 { -1.0 } else { 1.0 };
                l.beta[j] = rng.random_range(-0.3..0.3);
            }
            l
        };
        let layers = vec![layer(9, 3), layer(12, 4), layer(16, 5), layer(5, 3)];
        let convs = vec![
            ConvGeom {
                input: Shape::new(6, 6, 1),
                window: 3,
                stride: 1,
                padding: 1,
                out: Shape::new(6, 6, 3),
                pool: Some(PoolGeom {
                    size: 2,
                    stride: 2,
                    out: Shape::new(3, 3, 3),
                }),
            },
            ConvGeom {
                input: Shape::new(3, 3, 3),
                window: 2,
                stride: 1,
                padding: 0,
                out: Shape::new(2, 2, 4),
                pool: None,
            },
        ];
        Net {
            layers,
            eps: 1e-3,
            momentum: 0.1,
            clip: 1.0,
            convs,
        }
    }

    #[test]
    fn conv_backward_matches_numerical_gradient_on_latent_path() {
        let batch = 4;
        let labels: Vec<u8> = (0..batch).map(|i| (i % 3) as u8).collect();
        let (net, x) = (1..200)
            .find_map(|seed| {
                let mut net = tiny_conv_net(seed);
                for l in &mut net.layers {
                    l.binarize(Path::Latent);
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
                let x: Vec<f32> = (0..36 * batch)
                    .map(|_| if rng.random() { 1.0 } else { -1.0 })
                    .collect();
                let c = net.clone().forward_train(x.clone(), batch, Path::Latent);
                // Away from the kinks of hardtanh and of the pool's maximum.
                let signed = c.pre[..2].iter().flatten().chain(&c.y[2]);
                let margin = signed
                    .clone()
                    .map(|y| (y.abs() - 1.0).abs())
                    .fold(1.0, f32::min);
                let saturated = signed.filter(|y| y.abs() > 1.0).count();
                let g = net.convs[0];
                let (oh, ow) = (g.out.height, g.out.width);
                let cols = batch * oh * ow;
                let mut gap = f32::INFINITY;
                for ch in 0..3 {
                    let y = &c.y[0][ch * cols..(ch + 1) * cols];
                    for b in 0..batch {
                        for py in 0..3 {
                            for px in 0..3 {
                                let mut v: Vec<f32> = (0..4)
                                    .map(|k| y[(b * oh + 2 * py + k / 2) * ow + 2 * px + k % 2])
                                    .collect();
                                v.sort_by(|a, b| b.total_cmp(a));
                                gap = gap.min(v[0] - v[1]);
                            }
                        }
                    }
                }
                (margin > 0.005 && gap > 0.005 && saturated >= 3).then_some((net, x))
            })
            .expect("some seed has margins");
        let (checked, worst) = numerical_check(&net, &x, batch, &labels);
        assert!(checked > 40);
        assert!(worst < 0.05, "worst relative error {worst}");
    }

    #[test]
    fn straight_through_blocks_saturated_units() {
        // With a huge gamma (and a shift of 2 for units at the batch mean) every output of
        // layer 1 is beyond ±1: no gradient passes its sign to layers 1 and 0.
        let mut net = tiny_net(4);
        for g in &mut net.layers[1].gamma {
            *g = 1e4;
        }
        for b in &mut net.layers[1].beta {
            *b = 2.0;
        }
        let batch = 4;
        let x: Vec<f32> = (0..12 * batch)
            .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
            .collect();
        let cache = net.forward_train(x, batch, Path::Binary);
        let (_, dl, _) = net.loss(&cache, &[0, 1, 2, 0]);
        let g = net.backward(&cache, dl);
        assert!(g.w[2].iter().any(|&v| v != 0.0));
        assert!(g.w[1].iter().all(|&v| v == 0.0));
        assert!(g.w[0].iter().all(|&v| v == 0.0));
    }
}
