// Sigmoid and tanh for the exported `no_std` Rust module, which has no `exp`: `export::to_rust`
// copies this file's text into the module, and the exporter compiles the same text to check
// the module's scores against the model's on every input the module can meet. Only `+`, `-`,
// `*`, `/`, comparisons and bit casts of `f64`, which Rust computes alike on every target (it
// never fuses a multiply and an add), so the module's scores are the same everywhere. Each
// result is e^x or tanh x to within a few units of the last place of an `f64`, rounded once to
// an `f32`: the correctly rounded `f32` but for inputs within about 2^-50 of a rounding tie.

/// 1 / k! for k = 0 to 15 (each division rounded once, at compile time).
const INVERSE_FACTORIALS: [f64; 16] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
    1.0 / 87178291200.0,
    1.0 / 1307674368000.0,
];

/// e^x in `f64`, to a few units of the last place, for `-110 <= x <= 100`; 0 below (where
/// `expf` is 0) and infinity above (where it is infinite); NaN for NaN.
fn exp64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -110.0 {
        return 0.0;
    }
    if x > 100.0 {
        return f64::INFINITY;
    }
    // x = k ln 2 + r with |r| <= ln 2 / 2: adding 1.5 * 2^52 rounds to an integer, and ln 2
    // in two parts keeps k times the high part exact (it ends in 21 zero bits).
    const SHIFT: f64 = 6755399441055744.0;
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    let kd = (x * core::f64::consts::LOG2_E + SHIFT) - SHIFT;
    let r = (x - kd * LN2_HI) - kd * LN2_LO;
    // e^r by its Taylor series to r^13: the rest is below 2^-56 for |r| <= 0.35.
    let mut p = INVERSE_FACTORIALS[13];
    for c in INVERSE_FACTORIALS[..13].iter().rev() {
        p = p * r + c;
    }
    // 2^k as the bits of a normal f64 (|k| <= 159 here).
    p * f64::from_bits(((kd as i64 + 1023) as u64) << 52)
}

/// e^x - 1 in `f64`, without the cancellation of `exp64(x) - 1` near 0.
fn expm1_64(x: f64) -> f64 {
    if x > -0.35 && x < 0.35 {
        // x (1 + x / 2! + ... + x^14 / 15!): the rest is below 2^-60 of the result.
        let mut p = INVERSE_FACTORIALS[15];
        for c in INVERSE_FACTORIALS[1..15].iter().rev() {
            p = p * x + c;
        }
        return p * x;
    }
    exp64(x) - 1.0
}

/// e^x in `f32`.
fn expf(x: f32) -> f32 {
    exp64(x as f64) as f32
}

/// The sigmoid as the library computes it, `1 / (1 + e^-x)` in `f32`.
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + expf(-x))
}

/// tanh x in `f32`: `(e^2|x| - 1) / (e^2|x| + 1)` in `f64` with the sign of x; 1 beyond
/// |x| = 10 (tanh 10 rounds to 1 in `f32`).
fn tanh(x: f32) -> f32 {
    if x.is_nan() || x == 0.0 {
        return x;
    }
    let a = if x < 0.0 { -(x as f64) } else { x as f64 };
    let y = if a > 10.0 {
        1.0
    } else {
        let t = expm1_64(2.0 * a);
        t / (t + 2.0)
    };
    let y = y as f32;
    if x < 0.0 { -y } else { y }
}
