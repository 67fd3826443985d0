//! Small tools the other modules share, at the bottom of the layering: seed mixing and the
//! seeded generators derived from it, and option-text errors.

/// Why a text does not name an option (an activation, a task, a schedule, ...): what was
/// parsed, the text, and what to write instead.
///
/// ```
/// use bitsmnist_core::layers::Activation;
/// let e = "swish".parse::<Activation>().unwrap_err();
/// assert_eq!(e.what, "activation");
/// assert_eq!(e.to_string(), "activation `swish`: use identity, sigmoid, tanh or relu");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{text}`: {hint}")]
#[non_exhaustive]
pub struct ParseError {
    /// What was parsed.
    pub what: &'static str,
    /// The text.
    pub text: String,
    /// What is accepted, or what is wrong.
    pub hint: String,
}

impl ParseError {
    /// The error for `text`, which is not a `what`.
    pub fn new(what: &'static str, text: &str, hint: impl Into<String>) -> Self {
        Self {
            what,
            text: text.to_string(),
            hint: hint.into(),
        }
    }
}

/// Builder methods that each set one field: inside an `impl`, `setters! { field: Type, ... }`
/// writes `pub fn field(mut self, value: Type) -> Self` for each field, and
/// `setters! { Some => field: Type, ... }` the same for `Option` fields set to `Some(value)`.
macro_rules! setters {
    (Some => $($field:ident: $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
            pub fn $field(mut self, value: $ty) -> Self {
                self.$field = Some(value);
                self
            }
        )*
    };
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
            pub fn $field(mut self, value: $ty) -> Self {
                self.$field = value;
                self
            }
        )*
    };
}
pub(crate) use setters;

/// SplitMix64's output function: a bijective mix of a `u64`, the base of every derived seed.
///
/// ```
/// use bitsmnist_core::util::splitmix64;
/// assert_ne!(splitmix64(1), splitmix64(2));
/// ```
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A generator that depends only on (seed, stream, a, b), where `stream` names the use and
/// `a`, `b` the place in it (a generation and a slot, a batch): the gradient-free search
/// derives every generator this way, so that none is shared between threads and a run is the
/// same on any number of them. (Gradient training keeps the mix it had before this one.)
pub(crate) fn derive_rng(seed: u64, stream: u64, a: u64, b: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    let k0 = splitmix64(seed);
    let k1 = splitmix64(k0 ^ stream);
    let k2 = splitmix64(k1 ^ a);
    let k3 = splitmix64(k2 ^ b);
    let mut key = [0u8; 32];
    for (i, k) in [k0, k1, k2, k3].into_iter().enumerate() {
        key[i * 8..(i + 1) * 8].copy_from_slice(&k.to_le_bytes());
    }
    rand_chacha::ChaCha8Rng::from_seed(key)
}

/// A Unix time as its UTC calendar date and time: (year, month, day, hour, minute, second).
/// (Howard Hinnant's days-to-civil algorithm: no date crate for one conversion.)
///
/// ```
/// use bitsmnist_core::util::utc;
/// assert_eq!(utc(0), (1970, 1, 1, 0, 0, 0));
/// assert_eq!(utc(951_782_400), (2000, 2, 29, 0, 0, 0));
/// assert_eq!(utc(1_796_172_981), (2026, 12, 2, 0, 56, 21));
/// ```
pub fn utc(unix: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (unix / 86_400) as i64;
    let secs = (unix % 86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3_600, secs / 60 % 60, secs % 60)
}
