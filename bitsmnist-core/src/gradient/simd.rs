//! The element-wise loops of a training step, compiled twice: for the generic x86-64 target
//! (SSE2, what `cargo build` and evcxr produce) and with AVX2 enabled, picked at run time.
//!
//! Each function's body is written once, as plain scalar Rust; the AVX2 copy is the same
//! code that the compiler vectorises eight lanes wide. Rust never fuses a multiply and an add
//! nor reorders a float sum on its own, and `sqrt`, division, comparisons and selects are
//! exact in every width, so both copies give the same bits: which one runs changes the speed,
//! never the model. Sums over a row stay in the scalar functions' order (sequential), as in
//! the loops they replace.

use super::net::{AdamStep, sign};

/// Defines `pub(crate) fn $name` that runs `$body` compiled with AVX2 when the processor has
/// it, and as generic code otherwise.
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[inline]
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $body
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: `avx2` only needs AVX2, which the processor was just found to
                    // have; its body is safe code.
                    return unsafe { avx2($($arg),*) };
                }
            }
            fn generic($($arg: $ty),*) $body
            generic($($arg),*)
        }
    };
}

multiversion! {
    /// `out[i] = sign(x[i])` (+1 for `x >= 0`, -1 otherwise).
    fn signs(x: &[f32], out: &mut [f32]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = sign(v);
        }
    }
}

multiversion! {
    /// Batch norm of one row in training: `z` becomes `x-hat = (z - mu) * inv` in place and
    /// `y = g * x-hat + b`.
    fn normalise(z: &mut [f32], y: &mut [f32], mu: f32, inv: f32, g: f32, b: f32) {
        for (zv, yv) in z.iter_mut().zip(y.iter_mut()) {
            *zv = (*zv - mu) * inv;
            *yv = g * *zv + b;
        }
    }
}

multiversion! {
    /// The batch norm's backward pass over one row: `dy` becomes
    /// `inv * (g * dy - mean_dx - x-hat * mean_dxx)`.
    fn bn_backward(dy: &mut [f32], xhat: &[f32], inv: f32, g: f32, mean_dx: f32, mean_dxx: f32) {
        for (dv, &xv) in dy.iter_mut().zip(xhat) {
            *dv = inv * (g * *dv - mean_dx - xv * mean_dxx);
        }
    }
}

multiversion! {
    /// The straight-through sign: the gradient `d` is zeroed where `|y| > 1`.
    fn pass_through(d: &mut [f32], y: &[f32]) {
        for (d, &y) in d.iter_mut().zip(y) {
            if y.abs() > 1.0 {
                *d = 0.0;
            }
        }
    }
}

multiversion! {
    /// One Adam step on latent weights `w` with gradients `g` and moments `m`, `v`: the
    /// gradient passes where `|w| <= clip`, and the weights stay within `[-clip, clip]`.
    fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], step: AdamStep, clip: f32) {
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = if w.abs() <= clip { g } else { 0.0 };
            *w = (*w - step.delta(g, m, v)).clamp(-clip, clip);
        }
    }
}

multiversion! {
    /// Adds the values of `z` and their squares, in order, to `sum` and `sq` (`f64`).
    fn add_moments(z: &[f32], sum: &mut f64, sq: &mut f64) {
        for &v in z {
            *sum += f64::from(v);
            *sq += f64::from(v) * f64::from(v);
        }
    }
}

multiversion! {
    /// 2x2 max-pool with stride 2 of the rows `r0` and `r1` of one map (`width` wide, at
    /// column `at` of the channel's row): `val[px]` is the first maximum of the window in
    /// reading order, `arg[px]` its column.
    fn pool2(r0: &[f32], r1: &[f32], at: u32, width: u32, val: &mut [f32], arg: &mut [u32]) {
        for (px, (v, a)) in val.iter_mut().zip(arg.iter_mut()).enumerate() {
            let i = 2 * px;
            let c = at + i as u32;
            let (mut bv, mut bi) = (r0[i], c);
            if r0[i + 1] > bv {
                (bv, bi) = (r0[i + 1], c + 1);
            }
            if r1[i] > bv {
                (bv, bi) = (r1[i], c + width);
            }
            if r1[i + 1] > bv {
                (bv, bi) = (r1[i + 1], c + width + 1);
            }
            *v = bv;
            *a = bi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Values with ties, zeros, both signs, and some beyond ±1 and the clip.
    fn values(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| match i % 7 {
                0 => 0.0,
                1 => -0.0,
                2 => 1.0,
                _ => rng.random_range(-1.5f32..1.5),
            })
            .collect()
    }

    /// Each multiversioned loop against the same scalar expressions, on lengths that are and
    /// are not multiples of the vector width: the chosen copy (AVX2 on this machine when it has
    /// it) must give the same bits.
    #[test]
    fn vector_copies_match_the_scalar_expressions() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n in [0, 1, 7, 8, 9, 31, 64, 1000] {
            let x = values(&mut rng, n);
            let mut out = vec![0.0; n];
            signs(&x, &mut out);
            assert!(out.iter().zip(&x).all(|(o, &v)| *o == sign(v)));

            let (mu, inv, g, b) = (0.3, 1.7, -0.8, 0.2);
            let (mut z, mut y) = (x.clone(), vec![0.0; n]);
            normalise(&mut z, &mut y, mu, inv, g, b);
            for i in 0..n {
                let want = (x[i] - mu) * inv;
                assert_eq!(z[i].to_bits(), want.to_bits());
                assert_eq!(y[i].to_bits(), (g * want + b).to_bits());
            }

            let xh = values(&mut rng, n);
            let mut d = x.clone();
            bn_backward(&mut d, &xh, inv, g, 0.01, -0.02);
            for i in 0..n {
                let want = inv * (g * x[i] - 0.01 - xh[i] * -0.02);
                assert_eq!(d[i].to_bits(), want.to_bits());
            }

            let mut d = x.clone();
            pass_through(&mut d, &xh);
            for i in 0..n {
                assert_eq!(d[i], if xh[i].abs() > 1.0 { 0.0 } else { x[i] });
            }

            let step = AdamStep {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                c1: 0.1,
                c2: 0.001,
            };
            let grad = values(&mut rng, n);
            let (mut w, mut m, mut v) = (x.clone(), xh.clone(), vec![0.5; n]);
            adam(&mut w, &grad, &mut m, &mut v, step, 1.0);
            for i in 0..n {
                let (mut mi, mut vi) = (xh[i], 0.5);
                let g = if x[i].abs() <= 1.0 { grad[i] } else { 0.0 };
                let want = (x[i] - step.delta(g, &mut mi, &mut vi)).clamp(-1.0, 1.0);
                assert_eq!(w[i].to_bits(), want.to_bits());
                assert_eq!(
                    (m[i].to_bits(), v[i].to_bits()),
                    (mi.to_bits(), vi.to_bits())
                );
            }

            let (mut s, mut q) = (0.25, 0.5);
            add_moments(&x, &mut s, &mut q);
            let (mut ws, mut wq) = (0.25f64, 0.5f64);
            for &v in &x {
                ws += f64::from(v);
                wq += f64::from(v) * f64::from(v);
            }
            assert_eq!((s.to_bits(), q.to_bits()), (ws.to_bits(), wq.to_bits()));
        }
    }

    #[test]
    fn pool2_takes_the_first_maximum_in_reading_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for half in [1, 3, 8, 13] {
            let w = 2 * half;
            // Few distinct values, so that windows have ties.
            let mut r: Vec<f32> = (0..2 * w).map(|_| rng.random_range(0..3) as f32).collect();
            r[0] = f32::NAN;
            let (mut val, mut arg) = (vec![0.0; half], vec![0; half]);
            pool2(&r[..w], &r[w..], 100, w as u32, &mut val, &mut arg);
            for px in 0..half {
                let mut best = usize::MAX;
                let mut bv = f32::NEG_INFINITY;
                for at in [2 * px, 2 * px + 1, w + 2 * px, w + 2 * px + 1] {
                    if best == usize::MAX || r[at] > bv {
                        (best, bv) = (at, r[at]);
                    }
                }
                assert_eq!(val[px].to_bits(), bv.to_bits());
                assert_eq!(arg[px] as usize, 100 + best);
            }
        }
    }
}
