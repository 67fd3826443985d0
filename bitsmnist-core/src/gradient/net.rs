//! The training-time network: latent real weights, sign binarisation, batch normalisation,
//! straight-through gradients and Adam, written on `matrixmultiply::sgemm`.
//!
//! Activations are stored feature-major (`features x batch`, row-major) so that each neuron's
//! batch statistics are contiguous. Every parallel loop splits its work into blocks whose
//! boundaries depend only on the shapes, never on the number of threads, and every sum runs
//! in a fixed order: results are bit-for-bit the same on any number of threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::spatial::{self, ConvGeom};

/// Output rows per parallel sgemm task.
const GEMM_BLOCK: usize = 64;
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
/// strides; parallel over fixed blocks of `GEMM_BLOCK` rows of `c`, or of `GEMM_COLS` columns
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
    c.par_chunks_mut(GEMM_BLOCK * n)
        .enumerate()
        .for_each(|(blk, cb)| {
            let r0 = blk * GEMM_BLOCK;
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
    fn delta(&self, g: f32, m: &mut f32, v: &mut f32) -> f32 {
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
            .for_each(|(b, w)| {
                for (b, &w) in b.iter_mut().zip(w) {
                    *b = match path {
                        Path::Binary => sign(w),
                        Path::Latent => w,
                    };
                }
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

/// What the backward pass needs from the forward pass of one batch.
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
}

impl Cache {
    /// Logits, `classes x batch`.
    pub fn logits(&self) -> &[f32] {
        self.y.last().expect("at least one layer")
    }
}

/// Gradients of one batch, shaped as the parameters.
pub(crate) struct Grads {
    w: Vec<Vec<f32>>,
    gamma: Vec<Vec<f32>>,
    beta: Vec<Vec<f32>>,
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

    /// Layer `li`'s product input from its input `a`: `a` itself, or a convolution's windows
    /// (the first convolution's input arrives as dense pixels).
    fn product_input(&self, li: usize, a: Vec<f32>, batch: usize) -> Vec<f32> {
        match self.convs.get(li) {
            None => a,
            Some(g) if li == 0 => g.im2col(&spatial::images_to_map(&a, g.input, batch), batch),
            Some(g) => g.im2col(&a, batch),
        }
    }

    /// What a convolution hands on from its batch-norm output `y`: pooled, and laid out for a
    /// dense layer if one follows; with the pool's routes.
    fn hand_on(&self, li: usize, y: &[f32], batch: usize) -> (Vec<f32>, Vec<u32>) {
        let g = &self.convs[li];
        let (v, routes) = match g.pool {
            Some(_) => g.pool_forward(y, batch),
            None => (y.to_vec(), Vec::new()),
        };
        if li + 1 == self.convs.len() {
            (spatial::map_to_dense(&v, g.after(), batch), routes)
        } else {
            (v, routes)
        }
    }

    /// Training-mode forward of `x` (`inputs x batch`): batch statistics, and (on the binary
    /// path) running statistics updated.
    pub fn forward_train(&mut self, x: Vec<f32>, batch: usize, path: Path) -> Cache {
        let last = self.layers.len() - 1;
        let mut cache = Cache {
            batch,
            inputs: Vec::with_capacity(self.layers.len()),
            pre: Vec::with_capacity(self.layers.len()),
            routes: Vec::with_capacity(self.layers.len()),
            xhat: Vec::new(),
            inv_std: Vec::new(),
            y: Vec::new(),
        };
        let mut a = x;
        for li in 0..self.layers.len() {
            let cols = self.columns(li, batch);
            let input = self.product_input(li, std::mem::take(&mut a), batch);
            let l = &mut self.layers[li];
            assert_eq!(input.len(), l.n * cols, "forward: input size");
            let mut z = vec![0.0f32; l.m * cols];
            gemm(l.m, l.n, cols, &l.wb, l.n, 1, &input, cols, 1, &mut z);
            let mut inv = vec![0.0f32; l.m];
            let mut y = vec![0.0f32; l.m * cols];
            let (eps, mom) = (self.eps, self.momentum);
            let update_running = path == Path::Binary;
            // z becomes x-hat in place.
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
                    for (zv, yv) in zr.iter_mut().zip(yr.iter_mut()) {
                        *zv = (*zv - mu) * *inv;
                        *yv = g * *zv + b;
                    }
                    if update_running {
                        let unbiased = if cols > 1 { var * bf / (bf - 1.0) } else { var };
                        *rm = (1.0 - mom) * *rm + mom * mu;
                        *rv = (1.0 - mom) * *rv + mom * unbiased;
                    }
                });
            let (pre, routes) = if li < self.convs.len() {
                self.hand_on(li, &y, batch)
            } else {
                (Vec::new(), Vec::new())
            };
            let next = if li < last {
                let src = if pre.is_empty() { &y } else { &pre };
                src.par_chunks(ELEM_BLOCK)
                    .flat_map_iter(|c| {
                        c.iter().map(move |&v| match path {
                            Path::Binary => sign(v),
                            Path::Latent => v.clamp(-1.0, 1.0),
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            a = next;
            cache.inputs.push(input);
            cache.pre.push(pre);
            cache.routes.push(routes);
            cache.xhat.push(z);
            cache.inv_std.push(inv);
            cache.y.push(y);
        }
        cache
    }

    /// Evaluation-mode forward (running statistics, binary path) of `x` (`inputs x batch`)
    /// through layers `0..upto`, then the pre-activations of layer `upto` (`m x columns`, see
    /// [`Net::columns`]); with `upto` the number of layers, the logits.
    pub fn forward_eval(&self, x: &[f32], batch: usize, upto: usize) -> Vec<f32> {
        let last = self.layers.len() - 1;
        let mut a = x.to_vec();
        for (li, l) in self.layers.iter().enumerate().take(upto + 1) {
            let cols = self.columns(li, batch);
            let input = self.product_input(li, std::mem::take(&mut a), batch);
            let mut z = vec![0.0f32; l.m * cols];
            gemm(l.m, l.n, cols, &l.wb, l.n, 1, &input, cols, 1, &mut z);
            if li == upto {
                return z;
            }
            let inv = l.eval_inv_std(self.eps);
            z.par_chunks_mut(cols).enumerate().for_each(|(j, zr)| {
                for v in zr.iter_mut() {
                    *v = bn_eval(*v, l.mean[j], inv[j], l.gamma[j], l.beta[j]);
                }
            });
            if li < self.convs.len() {
                z = self.hand_on(li, &z, batch).0;
            }
            if li < last {
                z.par_chunks_mut(ELEM_BLOCK).for_each(|c| {
                    for v in c {
                        *v = sign(*v);
                    }
                });
            }
            a = z;
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
        let idx: Vec<usize> = (0..examples).collect();
        for li in 0..self.layers.len() {
            let m = self.layers[li].m;
            let (mut sum, mut sq, mut count) = (vec![0.0f64; m], vec![0.0f64; m], 0usize);
            // The sums run over the examples in order whatever the chunk size (each value is
            // added to its row's sum one after the other), so the statistics do not depend
            // on it.
            for chunk in idx.chunks(self.recalibration_chunk(li, work)) {
                if stop() {
                    for (l, (mean, var)) in self.layers.iter_mut().zip(before) {
                        (l.mean, l.var) = (mean, var);
                    }
                    return false;
                }
                let b = chunk.len();
                let z = self.forward_eval(&input(chunk), b, li);
                let cols = self.columns(li, b);
                sum.par_iter_mut()
                    .zip(sq.par_iter_mut())
                    .zip(z.par_chunks(cols))
                    .for_each(|((s, q), zr)| {
                        for &v in zr {
                            *s += f64::from(v);
                            *q += f64::from(v) * f64::from(v);
                        }
                    });
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
        }
        true
    }

    /// The examples one stop point of [`recalibrate`](Self::recalibrate) covers for layer
    /// `li`: as many as `work` multiply-adds through layers `0..=li` allow, 1 to 1,000. A
    /// fixed number of examples would leave a stop waiting for seconds on a deep or wide
    /// model (1,000 examples through a 7x7 convolution of 64 maps are over 10^11).
    pub fn recalibration_chunk(&self, li: usize, work: u64) -> usize {
        let per_example: u64 = self.layers[..=li]
            .iter()
            .enumerate()
            .map(|(i, l)| (l.m as u64) * (l.n as u64) * self.columns(i, 1) as u64)
            .fold(0u64, u64::saturating_add)
            .max(1);
        (work / per_example).clamp(1, 1000) as usize
    }

    /// Mean softmax cross-entropy of the logits against `labels`, the gradient of that mean
    /// with respect to the logits (`classes x batch`), and the number of correct argmaxes.
    pub fn loss(&self, cache: &Cache, labels: &[u8]) -> (f32, Vec<f32>, usize) {
        let c = self.classes();
        let b = cache.batch;
        let logits = cache.logits();
        let mut grad = vec![0.0f32; c * b];
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
        ((loss / b as f64) as f32, grad, correct)
    }

    /// Straight-through backward pass from the gradient of the logits.
    pub fn backward(&self, cache: &Cache, dlogits: Vec<f32>) -> Grads {
        let batch = cache.batch;
        let nl = self.layers.len();
        let mut grads = Grads {
            w: vec![Vec::new(); nl],
            gamma: vec![Vec::new(); nl],
            beta: vec![Vec::new(); nl],
        };
        let mut dy = dlogits;
        for li in (0..nl).rev() {
            let l = &self.layers[li];
            let b = self.columns(li, batch);
            let xhat = &cache.xhat[li];
            let inv = &cache.inv_std[li];
            let mut dgamma = vec![0.0f32; l.m];
            let mut dbeta = vec![0.0f32; l.m];
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
                    for (dv, &xv) in d.iter_mut().zip(xh) {
                        *dv = inv[j] * (g * *dv - mean_dx - xv * mean_dxx);
                    }
                });
            let a = &cache.inputs[li];
            let mut dw = vec![0.0f32; l.m * l.n];
            // dW (m x n) = dz (m x b) * a^T (b x n), a stored n x b.
            gemm(l.m, b, l.n, &dy, b, 1, a, 1, b, &mut dw);
            if li > 0 {
                // da (n x b) = wb^T (n x m) * dz (m x b).
                let mut da = vec![0.0f32; l.n * b];
                gemm(l.n, l.m, b, &l.wb, 1, l.n, &dy, b, 1, &mut da);
                if let Some(g) = self.convs.get(li) {
                    da = g.col2im(&da, batch);
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
                    .for_each(|(d, y)| {
                        for (d, &y) in d.iter_mut().zip(y) {
                            if y.abs() > 1.0 {
                                *d = 0.0;
                            }
                        }
                    });
                // Back to the previous layer's output layout: before the change to dense
                // features and the pool.
                if let Some(g) = self.convs.get(li - 1) {
                    if li == self.convs.len() {
                        da = spatial::dense_to_map(&da, g.after(), batch);
                    }
                    if g.pool.is_some() {
                        da = g.pool_backward(&da, &cache.routes[li - 1], batch);
                    }
                }
                dy = da;
            }
            grads.w[li] = dw;
            grads.gamma[li] = dgamma;
            grads.beta[li] = dbeta;
        }
        grads
    }

    /// One Adam step on every parameter; latent weights are clipped to `[-clip, clip]` and
    /// their gradient is passed straight through where `|w| <= clip`.
    pub fn update(&mut self, grads: &Grads, step: AdamStep, path: Path) {
        let clip = self.clip;
        for (li, l) in self.layers.iter_mut().enumerate() {
            l.w.par_chunks_mut(ELEM_BLOCK)
                .zip(grads.w[li].par_chunks(ELEM_BLOCK))
                .zip(
                    l.mw.m
                        .par_chunks_mut(ELEM_BLOCK)
                        .zip(l.mw.v.par_chunks_mut(ELEM_BLOCK)),
                )
                .for_each(|((w, g), (m, v))| {
                    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                        let g = if w.abs() <= clip { g } else { 0.0 };
                        *w = (*w - step.delta(g, m, v)).clamp(-clip, clip);
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
            l.binarize(path);
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
