//! XOR + popcount kernels, selected at run time by CPU feature.
//!
//! All block kernels read the weight rows in an interleaved layout ([`Interleaved`]): rows are
//! grouped by [`LANES`], and word `k` of the 8 rows of a group sit next to each other. One input
//! word is then broadcast against 8 rows at once, so the SIMD paths need no horizontal sums and
//! the scalar paths reuse each input word 8 times from a register.

use std::sync::OnceLock;

use super::BitMatrix;

/// Rows per interleaved group.
pub const LANES: usize = 8;

/// CPU features relevant to the kernels, as detected at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuFeatures {
    /// The `popcnt` instruction.
    pub popcnt: bool,
    /// AVX2 (256-bit integer SIMD).
    pub avx2: bool,
    /// AVX-512F with the VPOPCNTDQ extension (512-bit popcount).
    pub avx512_vpopcntdq: bool,
}

impl CpuFeatures {
    /// Detects the features of the running CPU (cached after the first call).
    pub fn detect() -> Self {
        static CACHE: OnceLock<CpuFeatures> = OnceLock::new();
        *CACHE.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                CpuFeatures {
                    popcnt: std::arch::is_x86_feature_detected!("popcnt"),
                    avx2: std::arch::is_x86_feature_detected!("avx2"),
                    avx512_vpopcntdq: std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512vpopcntdq"),
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                CpuFeatures {
                    popcnt: false,
                    avx2: false,
                    avx512_vpopcntdq: false,
                }
            }
        })
    }

    /// Names of the detected features, e.g. `["popcnt", "avx2"]`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.popcnt {
            v.push("popcnt");
        }
        if self.avx2 {
            v.push("avx2");
        }
        if self.avx512_vpopcntdq {
            v.push("avx512vpopcntdq");
        }
        v
    }
}

/// One implementation of the popcount kernels.
///
/// [`Kernel::detect`] picks the fastest one the CPU supports; the others stay selectable so that
/// tests can check each against a bit-by-bit reference and benchmarks can compare them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kernel {
    /// Plain Rust `count_ones`, compiled for the build target (no `popcnt` on generic x86-64).
    Portable,
    /// Scalar `popcnt` instruction.
    Popcnt,
    /// AVX2 nibble-table popcount (Mula's method) with byte accumulators.
    Avx2,
    /// AVX-512 `vpopcntq`.
    Avx512,
}

impl std::fmt::Display for Kernel {
    /// The instruction set as people write it (`portable`, `popcnt`, `AVX2`, `AVX-512`); the
    /// lower-case [`name`](Kernel::name) is what `BITSMNIST_KERNEL` takes.
    ///
    /// ```
    /// use bitsmnist_core::bits::Kernel;
    /// assert_eq!(Kernel::Avx2.to_string(), "AVX2");
    /// assert_eq!(Kernel::Avx512.to_string(), "AVX-512");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kernel::Portable => "portable",
            Kernel::Popcnt => "popcnt",
            Kernel::Avx2 => "AVX2",
            Kernel::Avx512 => "AVX-512",
        })
    }
}

/// The environment variable that forces a kernel ([`Kernel::from_env`]).
pub const KERNEL_VAR: &str = "BITSMNIST_KERNEL";

/// Why the kernel `BITSMNIST_KERNEL` names cannot be used ([`Kernel::choose`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelChoiceError {
    /// No kernel has that name.
    #[error(
        "BITSMNIST_KERNEL={value:?} names no kernel: the kernels are portable, popcnt, avx2 and avx512 (this CPU runs {})",
        names(supported)
    )]
    Unknown {
        /// The value given.
        value: String,
        /// The kernels this CPU runs, slowest first.
        supported: Vec<Kernel>,
    },
    /// A kernel this CPU cannot run.
    #[error(
        "BITSMNIST_KERNEL={}: this CPU cannot run it (it runs {})",
        kernel.name(),
        names(supported)
    )]
    Unsupported {
        /// The kernel named.
        kernel: Kernel,
        /// The kernels this CPU runs, slowest first.
        supported: Vec<Kernel>,
    },
}

/// `portable, popcnt, avx2`.
fn names(kernels: &[Kernel]) -> String {
    kernels
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Kernel {
    /// The fastest kernel this CPU supports, or the one `BITSMNIST_KERNEL` forces (cached).
    /// A value that names no kernel, or one this CPU cannot run, is ignored here (a library
    /// does not fail or print because of its environment): front ends call
    /// [`from_env`](Self::from_env) first to refuse it with its reason, as `bitsmnist` does.
    pub fn detect() -> Self {
        static CACHE: OnceLock<Kernel> = OnceLock::new();
        *CACHE.get_or_init(|| {
            if let Ok(Some(k)) = Kernel::from_env() {
                return k;
            }
            Kernel::supported()
                .last()
                .copied()
                .unwrap_or(Kernel::Portable)
        })
    }

    /// The kernel `BITSMNIST_KERNEL` forces: `Ok(None)` when it is unset or empty, the kernel
    /// when it names one this CPU runs, else why not ([`choose`](Self::choose)).
    pub fn from_env() -> Result<Option<Kernel>, KernelChoiceError> {
        match std::env::var_os(KERNEL_VAR) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => Self::choose(&v.to_string_lossy()).map(Some),
        }
    }

    /// The kernel named `value` ([`name`](Self::name)) if this CPU runs it.
    ///
    /// ```
    /// use bitsmnist_core::bits::{Kernel, KernelChoiceError};
    /// assert_eq!(Kernel::choose("portable"), Ok(Kernel::Portable));
    /// let e = Kernel::choose("avx9").unwrap_err();
    /// assert!(matches!(e, KernelChoiceError::Unknown { .. }));
    /// assert!(e.to_string().contains("portable, popcnt, avx2 and avx512"));
    /// ```
    pub fn choose(value: &str) -> Result<Kernel, KernelChoiceError> {
        let Some(kernel) = Kernel::all().into_iter().find(|k| k.name() == value) else {
            return Err(KernelChoiceError::Unknown {
                value: value.to_string(),
                supported: Kernel::supported(),
            });
        };
        if kernel.is_supported() {
            Ok(kernel)
        } else {
            Err(KernelChoiceError::Unsupported {
                kernel,
                supported: Kernel::supported(),
            })
        }
    }

    /// Every kernel, slowest first.
    pub fn all() -> [Kernel; 4] {
        [
            Kernel::Portable,
            Kernel::Popcnt,
            Kernel::Avx2,
            Kernel::Avx512,
        ]
    }

    /// The kernels this CPU can run, slowest first.
    pub fn supported() -> Vec<Kernel> {
        Self::all()
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        let f = CpuFeatures::detect();
        match self {
            Kernel::Portable => true,
            Kernel::Popcnt => f.popcnt,
            Kernel::Avx2 => f.avx2 && f.popcnt,
            Kernel::Avx512 => f.avx512_vpopcntdq && f.popcnt,
        }
    }

    /// Short name (`portable`, `popcnt`, `avx2`, `avx512`); `BITSMNIST_KERNEL` takes these to
    /// force a kernel.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Popcnt => "popcnt",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// Hamming distance of two equally long packed vectors.
    ///
    /// # Panics
    /// When the slices differ in length, or when the kernel is not supported by this CPU.
    pub fn hamming(self, a: &[u64], b: &[u64]) -> u32 {
        assert_eq!(a.len(), b.len(), "hamming: length mismatch");
        assert!(self.is_supported(), "kernel {} not supported", self.name());
        match self {
            Kernel::Portable => hamming_portable(a, b),
            // SAFETY: support for popcnt was checked above; the wide kernels only add value on
            // blocks, so single pairs use the scalar instruction.
            #[cfg(target_arch = "x86_64")]
            _ => unsafe { x86::hamming_popcnt(a, b) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => hamming_portable(a, b),
        }
    }

    /// Distances from each input row to each weight row:
    /// `out[i * w.rows() + j] = popcount(x_i XOR w_j)`.
    ///
    /// `x` holds whole rows of `w.words_per_row()` words.
    ///
    /// # Panics
    /// When the shapes disagree, or when the kernel is not supported by this CPU.
    pub fn distances(self, x: &[u64], w: &Interleaved, out: &mut [u32]) {
        if w.words_per_row == 0 {
            // Zero-width rows: every distance is 0, however many inputs `out` is sized for.
            assert!(
                w.rows == 0 || out.len().is_multiple_of(w.rows),
                "distances: output size"
            );
            out.fill(0);
            return;
        }
        let n = self.check(x, w);
        assert_eq!(out.len(), n * w.rows, "distances: output size");
        self.run(x, w, &mut Sink::Distances(out));
    }

    /// Bit outputs `popcount(x_i XOR w_j) > thresholds[j]`, packed LSB first into `out`
    /// (`words_for(w.rows())` words per input row). Fusing the comparison into the kernel
    /// keeps the distances in registers.
    ///
    /// # Panics
    /// When the shapes disagree, or when the kernel is not supported by this CPU.
    pub fn threshold_bits(self, x: &[u64], w: &Interleaved, thresholds: &[i64], out: &mut [u64]) {
        assert_eq!(thresholds.len(), w.rows, "threshold_bits: thresholds");
        let owpr = super::words_for(w.rows);
        if w.words_per_row == 0 {
            // Zero-width rows: every distance is 0.
            out.fill(0);
            if owpr > 0 {
                for row in out.chunks_exact_mut(owpr) {
                    for (j, &t) in thresholds.iter().enumerate() {
                        row[j / 64] |= u64::from(0 > t) << (j % 64);
                    }
                }
            }
            return;
        }
        let n = self.check(x, w);
        assert_eq!(out.len(), n * owpr, "threshold_bits: output size");
        // Padding rows get an unreachable threshold so that their bits stay zero.
        let mut thr = vec![i64::MAX; w.groups() * LANES];
        thr[..w.rows].copy_from_slice(thresholds);
        out.fill(0);
        self.run(
            x,
            w,
            &mut Sink::Bits {
                thr: &thr,
                out,
                owpr,
            },
        );
    }

    fn check(self, x: &[u64], w: &Interleaved) -> usize {
        assert!(self.is_supported(), "kernel {} not supported", self.name());
        let wpr = w.words_per_row;
        if wpr == 0 {
            0
        } else {
            assert_eq!(x.len() % wpr, 0, "ragged input");
            x.len() / wpr
        }
    }

    fn run(self, x: &[u64], w: &Interleaved, sink: &mut Sink<'_>) {
        if w.rows == 0 || w.words_per_row == 0 || x.is_empty() {
            return;
        }
        match self {
            Kernel::Portable => distances_scalar(x, w, sink),
            // SAFETY: each arm runs only when `is_supported` (checked in `check`) said the CPU
            // has its features.
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => unsafe { x86::distances_popcnt(x, w, sink) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::distances_avx2(x, w, sink) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::distances_avx512(x, w, sink) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => distances_scalar(x, w, sink),
        }
    }
}

/// Where a block kernel puts the 8 results of one input row against one weight group.
enum Sink<'a> {
    /// Raw distances, `rows` per input row.
    Distances(&'a mut [u32]),
    /// One bit per row: distance above the row's threshold.
    Bits {
        /// Thresholds padded to whole groups.
        thr: &'a [i64],
        /// Output words, zeroed by the caller.
        out: &'a mut [u64],
        /// Output words per input row.
        owpr: usize,
    },
}

impl Sink<'_> {
    /// Stores the distances of input `i` to the rows of group `g` (lanes past the last real
    /// row are ignored).
    #[inline(always)]
    fn put(&mut self, i: usize, g: usize, rows: usize, d: &[u32; LANES]) {
        match self {
            Sink::Distances(out) => {
                let base = g * LANES;
                let take = LANES.min(rows - base);
                out[i * rows + base..i * rows + base + take].copy_from_slice(&d[..take]);
            }
            Sink::Bits { thr, out, owpr } => {
                let t = &thr[g * LANES..(g + 1) * LANES];
                let mut m = 0u64;
                for l in 0..LANES {
                    m |= u64::from(i64::from(d[l]) > t[l]) << l;
                }
                Self::put_mask(out, *owpr, i, g, m);
            }
        }
    }

    #[inline(always)]
    fn put_mask(out: &mut [u64], owpr: usize, i: usize, g: usize, m: u64) {
        out[i * owpr + g / 8] |= m << ((g % 8) * 8);
    }
}

/// Weight rows in the kernels' interleaved layout: groups of [`LANES`] rows, word-major within
/// a group, zero rows padding the last group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interleaved {
    rows: usize,
    words_per_row: usize,
    words: Vec<u64>,
}

impl Interleaved {
    /// Re-lays the rows of `m` for the block kernels.
    pub fn new(m: &BitMatrix) -> Self {
        let wpr = m.words_per_row();
        let groups = m.rows().div_ceil(LANES);
        let mut words = vec![0u64; groups * wpr * LANES];
        for r in 0..m.rows() {
            let (g, lane) = (r / LANES, r % LANES);
            for (k, &v) in m.row(r).iter().enumerate() {
                words[(g * wpr + k) * LANES + lane] = v;
            }
        }
        Self {
            rows: m.rows(),
            words_per_row: wpr,
            words,
        }
    }

    /// Number of (real) rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Words per row.
    pub fn words_per_row(&self) -> usize {
        self.words_per_row
    }

    /// Overwrites row `r` with `row` (used to keep a cached layout in step with small edits).
    pub fn set_row(&mut self, r: usize, row: &[u64]) {
        assert_eq!(row.len(), self.words_per_row);
        assert!(r < self.rows);
        let (g, lane) = (r / LANES, r % LANES);
        for (k, &v) in row.iter().enumerate() {
            self.words[(g * self.words_per_row + k) * LANES + lane] = v;
        }
    }

    fn group(&self, g: usize) -> &[u64] {
        let len = self.words_per_row * LANES;
        &self.words[g * len..(g + 1) * len]
    }

    fn groups(&self) -> usize {
        self.rows.div_ceil(LANES)
    }
}

fn hamming_portable(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Scalar block kernel; `#[inline(always)]` so that the `popcnt` wrapper recompiles it with the
/// instruction enabled.
#[inline(always)]
fn distances_scalar(x: &[u64], w: &Interleaved, sink: &mut Sink<'_>) {
    let wpr = w.words_per_row;
    for (i, xi) in x.chunks_exact(wpr).enumerate() {
        for g in 0..w.groups() {
            let grp = w.group(g);
            let mut acc = [0u32; LANES];
            for (k, &xv) in xi.iter().enumerate() {
                let wk: &[u64; LANES] = grp[k * LANES..(k + 1) * LANES].try_into().unwrap();
                for l in 0..LANES {
                    acc[l] += (xv ^ wk[l]).count_ones();
                }
            }
            sink.put(i, g, w.rows, &acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Interleaved, LANES, Sink, distances_scalar, hamming_portable};
    use std::arch::x86_64::*;

    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn hamming_popcnt(a: &[u64], b: &[u64]) -> u32 {
        hamming_portable(a, b)
    }

    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn distances_popcnt(x: &[u64], w: &Interleaved, sink: &mut Sink<'_>) {
        distances_scalar(x, w, sink)
    }

    /// Runs `block::<N>` over the inputs in blocks of `N` rows, then the remainder one by one.
    /// A constant block size lets the accumulators live in registers.
    macro_rules! blocked {
        ($x:expr, $w:expr, $sink:expr, $n:literal, $block:ident) => {{
            let wpr = $w.words_per_row;
            let n = $x.len() / wpr;
            let mut i = 0;
            while i + $n <= n {
                // SAFETY: the caller's target features are the block's.
                unsafe { $block::<$n>($x, $w, $sink, i) };
                i += $n;
            }
            while i < n {
                // SAFETY: as above.
                unsafe { $block::<1>($x, $w, $sink, i) };
                i += 1;
            }
        }};
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(super) unsafe fn distances_avx512(x: &[u64], w: &Interleaved, sink: &mut Sink<'_>) {
        blocked!(x, w, sink, 8, block_avx512)
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    unsafe fn block_avx512<const N: usize>(
        x: &[u64],
        w: &Interleaved,
        sink: &mut Sink<'_>,
        i: usize,
    ) {
        let wpr = w.words_per_row;
        let xs = &x[i * wpr..(i + N) * wpr];
        for g in 0..w.groups() {
            let grp = w.group(g);
            let mut acc = [_mm512_setzero_si512(); N];
            for k in 0..wpr {
                // SAFETY: `grp` holds `wpr * LANES` words and `k < wpr`.
                let wv = unsafe { _mm512_loadu_si512(grp.as_ptr().add(k * LANES).cast()) };
                for (b, a) in acc.iter_mut().enumerate() {
                    let xv = _mm512_set1_epi64(xs[b * wpr + k] as i64);
                    *a = _mm512_add_epi64(*a, _mm512_popcnt_epi64(_mm512_xor_si512(wv, xv)));
                }
            }
            for (b, a) in acc.iter().enumerate() {
                match sink {
                    Sink::Bits { thr, out, owpr } => {
                        // SAFETY: `thr` is padded to whole groups of 8.
                        let t = unsafe { _mm512_loadu_si512(thr.as_ptr().add(g * LANES).cast()) };
                        let m = _mm512_cmpgt_epi64_mask(*a, t);
                        Sink::put_mask(out, *owpr, i + b, g, u64::from(m));
                    }
                    _ => {
                        let mut d = [0u32; LANES];
                        // SAFETY: `d` holds exactly 8 u32.
                        unsafe {
                            _mm256_storeu_si256(d.as_mut_ptr().cast(), _mm512_cvtepi64_epi32(*a))
                        };
                        sink.put(i + b, g, w.rows, &d);
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) unsafe fn distances_avx2(x: &[u64], w: &Interleaved, sink: &mut Sink<'_>) {
        blocked!(x, w, sink, 2, block_avx2)
    }

    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn block_avx2<const N: usize>(
        x: &[u64],
        w: &Interleaved,
        sink: &mut Sink<'_>,
        i: usize,
    ) {
        let wpr = w.words_per_row;
        let xs = &x[i * wpr..(i + N) * wpr];
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        let count = |v: __m256i| {
            let lo = _mm256_and_si256(v, low);
            let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
        };
        for g in 0..w.groups() {
            let grp = w.group(g).as_ptr();
            // Per input: two halves of 4 lanes, as u64 sums.
            let mut acc64 = [[zero; 2]; N];
            let mut k0 = 0;
            while k0 < wpr {
                // A byte counts at most 8 per word: 31 words keep it below 256.
                let k1 = (k0 + 31).min(wpr);
                let mut acc8 = [[zero; 2]; N];
                for k in k0..k1 {
                    // SAFETY: `grp` holds `wpr * LANES` words and `k < wpr`.
                    let (w0, w1) = unsafe {
                        (
                            _mm256_loadu_si256(grp.add(k * LANES).cast()),
                            _mm256_loadu_si256(grp.add(k * LANES + 4).cast()),
                        )
                    };
                    for (b, a) in acc8.iter_mut().enumerate() {
                        let xv = _mm256_set1_epi64x(xs[b * wpr + k] as i64);
                        a[0] = _mm256_add_epi8(a[0], count(_mm256_xor_si256(w0, xv)));
                        a[1] = _mm256_add_epi8(a[1], count(_mm256_xor_si256(w1, xv)));
                    }
                }
                for b in 0..N {
                    for h in 0..2 {
                        acc64[b][h] =
                            _mm256_add_epi64(acc64[b][h], _mm256_sad_epu8(acc8[b][h], zero));
                    }
                }
                k0 = k1;
            }
            for (b, a) in acc64.iter().enumerate() {
                match sink {
                    Sink::Bits { thr, out, owpr } => {
                        // SAFETY: `thr` is padded to whole groups of 8.
                        let (t0, t1) = unsafe {
                            let p = thr.as_ptr().add(g * LANES);
                            (
                                _mm256_loadu_si256(p.cast()),
                                _mm256_loadu_si256(p.add(4).cast()),
                            )
                        };
                        let m0 =
                            _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(a[0], t0)));
                        let m1 =
                            _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(a[1], t1)));
                        Sink::put_mask(out, *owpr, i + b, g, (m0 | (m1 << 4)) as u64);
                    }
                    _ => {
                        let mut tmp = [0u64; LANES];
                        // SAFETY: `tmp` holds 8 u64, two 256-bit stores.
                        unsafe {
                            _mm256_storeu_si256(tmp.as_mut_ptr().cast(), a[0]);
                            _mm256_storeu_si256(tmp.as_mut_ptr().add(4).cast(), a[1]);
                        }
                        let d = tmp.map(|v| v as u32);
                        sink.put(i + b, g, w.rows, &d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::words_for;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn naive(a: &BitMatrix, i: usize, b: &BitMatrix, j: usize) -> u32 {
        (0..a.cols())
            .filter(|&c| a.get(i, c) != b.get(j, c))
            .count() as u32
    }

    fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> BitMatrix {
        let mut m = BitMatrix::zeros(rows, cols);
        m.randomize(rng);
        m
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_kernel_matches_bit_by_bit_reference(
            n in 0usize..11, rows in 0usize..27, cols in 0usize..300, seed in any::<u64>()
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let x = random(n, cols, &mut rng);
            let w = random(rows, cols, &mut rng);
            let il = Interleaved::new(&w);
            let mut want = vec![0u32; n * rows];
            for i in 0..n {
                for j in 0..rows {
                    want[i * rows + j] = naive(&x, i, &w, j);
                }
            }
            for k in Kernel::supported() {
                let mut got = vec![u32::MAX; n * rows];
                k.distances(x.as_words(), &il, &mut got);
                prop_assert_eq!(&got, &want, "kernel {}", k.name());
                for i in 0..n {
                    for j in 0..rows {
                        prop_assert_eq!(k.hamming(x.row(i), w.row(j)), want[i * rows + j]);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn every_kernel_thresholds_like_the_reference(
            n in 0usize..19, rows in 1usize..150, cols in 1usize..200, seed in any::<u64>()
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let x = random(n, cols, &mut rng);
            let w = random(rows, cols, &mut rng);
            let il = Interleaved::new(&w);
            let thr: Vec<i64> = (0..rows).map(|_| rng.random_range(-1..=cols as i64)).collect();
            let mut want = BitMatrix::zeros(n, rows);
            for i in 0..n {
                for (j, &t) in thr.iter().enumerate() {
                    want.set(i, j, i64::from(naive(&x, i, &w, j)) > t);
                }
            }
            for k in Kernel::supported() {
                let mut got = vec![u64::MAX; want.as_words().len()];
                k.threshold_bits(x.as_words(), &il, &thr, &mut got);
                prop_assert_eq!(got.as_slice(), want.as_words(), "kernel {}", k.name());
            }
        }
    }

    #[test]
    fn long_rows_overflow_no_byte_accumulator() {
        // 40 words of all-ones against zeros: 2,560 differing bits, past the AVX2 flush point.
        let cols = 40 * 64;
        let mut x = BitMatrix::zeros(3, cols);
        for c in 0..cols {
            x.set(0, c, true);
        }
        let w = BitMatrix::zeros(9, cols);
        let il = Interleaved::new(&w);
        for k in Kernel::supported() {
            let mut out = vec![0; 27];
            k.distances(x.as_words(), &il, &mut out);
            assert_eq!(&out[..9], &[2560; 9], "kernel {}", k.name());
            assert_eq!(&out[9..], &[0; 18], "kernel {}", k.name());
        }
    }

    #[test]
    fn set_row_keeps_layout_in_step() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut w = random(13, 100, &mut rng);
        let mut il = Interleaved::new(&w);
        let j = rng.random_range(0..100);
        w.flip(11, j);
        il.set_row(11, w.row(11));
        assert_eq!(il, Interleaved::new(&w));
        assert_eq!(words_for(100), il.words_per_row());
    }
}
