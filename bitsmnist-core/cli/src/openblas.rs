//! OpenBLAS's `cblas_sgemm`, loaded at run time when the system has it: `bitsmnist bench`'s
//! second `f32` baseline. The own baseline (`matrixmultiply`) is a portable sgemm; a tuned
//! BLAS is faster on the same machine, and a bit kernel's margin is honest only against both.
//! Loading it at run time keeps the build and the tests free of system packages (Debian:
//! `libopenblas0`).

use std::os::raw::c_int;

use libloading::Library;

/// `CblasRowMajor`, `CblasNoTrans`, `CblasTrans` (cblas.h).
const ROW_MAJOR: c_int = 101;
const NO_TRANS: c_int = 111;
const TRANS: c_int = 112;

/// `cblas_sgemm`'s signature (cblas.h).
type Sgemm = unsafe extern "C" fn(
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
    f32,
    *const f32,
    c_int,
    *const f32,
    c_int,
    f32,
    *mut f32,
    c_int,
);
/// `openblas_set_num_threads`.
type SetThreads = unsafe extern "C" fn(c_int);

/// The names tried, in order.
pub const NAMES: [&str; 2] = ["libopenblas.so.0", "libopenblas.so"];

/// A loaded OpenBLAS.
pub struct OpenBlas {
    sgemm: Sgemm,
    set_threads: Option<SetThreads>,
    /// The file it was loaded from.
    pub name: &'static str,
    // Keeps the functions above loaded; dropped last.
    _lib: Library,
}

impl OpenBlas {
    /// OpenBLAS if the system has it, `None` otherwise.
    pub fn load() -> Option<Self> {
        NAMES.iter().find_map(|&name| {
            // SAFETY: loading runs the library's initialisers; OpenBLAS is a system library
            // meant to be loaded into any process, and its initialisers only set up its
            // thread pool and CPU detection.
            let lib = unsafe { Library::new(name) }.ok()?;
            // SAFETY: the symbols have the C signatures of cblas.h and openblas_config.h,
            // which the types above copy; the pointers are kept with the library.
            let (sgemm, set_threads) = unsafe {
                let sgemm = *lib.get::<Sgemm>(b"cblas_sgemm\0").ok()?;
                let set = lib
                    .get::<SetThreads>(b"openblas_set_num_threads\0")
                    .ok()
                    .map(|s| *s);
                (sgemm, set)
            };
            Some(Self {
                sgemm,
                set_threads,
                name,
                _lib: lib,
            })
        })
    }

    /// Makes OpenBLAS use `threads` threads (its own, not rayon's).
    pub fn set_threads(&self, threads: usize) {
        if let Some(f) = self.set_threads {
            // SAFETY: a plain setter of cblas' thread count, any positive value allowed.
            unsafe { f(threads.clamp(1, c_int::MAX as usize) as c_int) }
        }
    }

    /// `out (rows x outputs) = x (rows x inputs) * w^T`, with `w` `outputs x inputs`, all
    /// row-major: a dense layer's forward pass. `None` when the slices do not have those
    /// sizes or a size does not fit a C `int`.
    pub fn layer(
        &self,
        x: &[f32],
        w: &[f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
        out: &mut [f32],
    ) -> Option<()> {
        let int = |v: usize| c_int::try_from(v).ok();
        let (m, k, n) = (int(rows)?, int(inputs)?, int(outputs)?);
        if x.len() != rows.checked_mul(inputs)?
            || w.len() != outputs.checked_mul(inputs)?
            || out.len() != rows.checked_mul(outputs)?
        {
            return None;
        }
        // SAFETY: row-major x is m x k with leading dimension k, w (transposed) is n x k with
        // leading dimension k, out is m x n with leading dimension n: the lengths checked
        // above cover every element cblas_sgemm reads or writes.
        unsafe {
            (self.sgemm)(
                ROW_MAJOR,
                NO_TRANS,
                TRANS,
                m,
                n,
                k,
                1.0,
                x.as_ptr(),
                k,
                w.as_ptr(),
                k,
                0.0,
                out.as_mut_ptr(),
                n,
            );
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the system has OpenBLAS, its product is the naive one (skipped without it).
    #[test]
    fn layer_matches_the_naive_product() {
        let Some(blas) = OpenBlas::load() else {
            eprintln!("OpenBLAS not found: skipped");
            return;
        };
        let (rows, inputs, outputs) = (5, 7, 3);
        let x: Vec<f32> = (0..rows * inputs).map(|i| (i % 5) as f32 - 2.0).collect();
        let w: Vec<f32> = (0..outputs * inputs)
            .map(|i| (i % 3) as f32 - 1.0)
            .collect();
        let mut out = vec![0.0; rows * outputs];
        blas.set_threads(1);
        blas.layer(&x, &w, rows, inputs, outputs, &mut out).unwrap();
        for r in 0..rows {
            for o in 0..outputs {
                let want: f32 = (0..inputs)
                    .map(|i| x[r * inputs + i] * w[o * inputs + i])
                    .sum();
                assert_eq!(out[r * outputs + o], want);
            }
        }
        assert!(
            blas.layer(&x, &w, rows, inputs, outputs, &mut out[1..])
                .is_none()
        );
    }
}
