//! What a run will need in memory, estimated from its shapes and settings before anything is
//! allocated, and what the machine can give; runs that would not fit are refused with both
//! figures instead of aborting or swapping half-way.
//!
//! The estimates count what grows with the settings (networks, populations, ensembles,
//! per-example state, batches, convolution buffers of each thread) and the decoded data set
//! ([`dataset_bytes`], [`DATA_COPIES`] times), generously rounded up; a data folder is sized
//! from its files' headers before it is decoded. The limit is the smallest of the memory the system reports available, the
//! process's address-space limit (`ulimit -v`) and its cgroup's limit, where those can be
//! read (Linux); a front end may set another one with [`set_limit`].
//!
//! ```
//! use bitsmnist_core::memory::{self, MemoryError};
//! assert!(memory::check(1 << 20, Some(1 << 30)).is_ok());
//! let e: MemoryError = memory::check(3 << 30, Some(1 << 30)).unwrap_err();
//! assert_eq!(e.to_string(), "the run needs about 3.2 GB of memory, more than the 1.1 GB available");
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

/// A run refused because its estimate exceeds the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the run needs about {} of memory, more than the {} available",
    format_bytes(*.needed),
    format_bytes(*.available)
)]
#[non_exhaustive]
pub struct MemoryError {
    /// The estimate, in bytes.
    pub needed: u64,
    /// The limit it was checked against, in bytes.
    pub available: u64,
}

/// Which limit [`check`] and the training calls use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Limit {
    /// What the machine reports ([`machine_available`]); no check where nothing is reported.
    #[default]
    Machine,
    /// A fixed number of bytes.
    Bytes(u64),
    /// No check at all.
    None,
}

// 0: the machine's, u64::MAX: none, else a number of bytes.
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Sets the limit for the whole process (a front end's `--memory-limit`).
pub fn set_limit(limit: Limit) {
    let v = match limit {
        Limit::Machine => 0,
        Limit::Bytes(b) => b.clamp(1, u64::MAX - 1),
        Limit::None => u64::MAX,
    };
    LIMIT.store(v, Ordering::Relaxed);
}

/// The limit set with [`set_limit`] (the machine's by default).
pub fn limit() -> Limit {
    match LIMIT.load(Ordering::Relaxed) {
        0 => Limit::Machine,
        u64::MAX => Limit::None,
        b => Limit::Bytes(b),
    }
}

/// The bytes the current limit allows, `None` for no check.
pub fn available() -> Option<u64> {
    match limit() {
        Limit::Machine => machine_available(),
        Limit::Bytes(b) => Some(b),
        Limit::None => None,
    }
}

/// Refuses `needed` bytes above `available` (`None`: accepts anything).
pub fn check(needed: u64, available: Option<u64>) -> Result<(), MemoryError> {
    match available {
        Some(available) if needed > available => Err(MemoryError { needed, available }),
        _ => Ok(()),
    }
}

/// [`check`] against the current limit ([`available`]).
pub fn check_current(needed: u64) -> Result<(), MemoryError> {
    check(needed, available())
}

/// The memory this process can still allocate, as far as the system says: the smallest of
/// `MemAvailable`, what is left of the address-space limit and what is left of the cgroup's
/// limit. `None` where none of them can be read.
pub fn machine_available() -> Option<u64> {
    [mem_available(), address_space_left(), cgroup_left()]
        .into_iter()
        .flatten()
        .min()
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A `Key:   123 kB` line of a `/proc` file, in bytes.
fn proc_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb.saturating_mul(1024))
}

fn mem_available() -> Option<u64> {
    proc_kb(&read("/proc/meminfo")?, "MemAvailable:")
}

fn address_space_left() -> Option<u64> {
    let limits = read("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    // "Max address space   <soft>   <hard>   bytes"
    let soft = line["Max address space".len()..]
        .split_whitespace()
        .next()?;
    let soft: u64 = soft.parse().ok()?; // "unlimited" does not parse: no limit
    let used = proc_kb(&read("/proc/self/status")?, "VmSize:").unwrap_or(0);
    Some(soft.saturating_sub(used))
}

fn cgroup_left() -> Option<u64> {
    let max: u64 = read("/sys/fs/cgroup/memory.max")?.trim().parse().ok()?;
    let current: u64 = read("/sys/fs/cgroup/memory.current")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    Some(max.saturating_sub(current))
}

/// Bytes for people: `512 B`, `3.2 MB`, `1.1 GB`, `4.0 TB` (powers of 1000).
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        1_000_000_000..1_000_000_000_000 => format!("{:.1} GB", b / 1e9),
        _ => format!("{:.1} TB", b / 1e12),
    }
}

/// The threads a run's parallel steps use (rayon's pool, which this call builds with its
/// defaults if nothing built it yet): per-thread buffers are counted this many times.
pub fn threads() -> u64 {
    rayon::current_num_threads().max(1) as u64
}

/// Copies of the data set a run holds at its peak, counted by [`dataset_bytes`]'s users: the
/// set as loaded, the task's selection a [`Session`](crate::session::Session) makes, and the
/// transient or method's copy (a sample, a population's fitness split). Measured on a
/// 684,000-image folder: 2.8 copies at the peak, whatever the method.
pub const DATA_COPIES: u64 = 3;

/// Bytes of one decoded copy of `examples` images of `pixels` pixels as a
/// [`Split`](crate::datasets::Split) holds them: the grey levels (a byte a pixel), the packed
/// bits and the labels.
///
/// ```
/// // Full MNIST's 60,000 training images: 47 MB of grey levels and 6 MB of bits.
/// let b = bitsmnist_core::memory::dataset_bytes(60_000, 784);
/// assert!((53_000_000..54_000_000).contains(&b), "{b}");
/// ```
pub fn dataset_bytes(examples: usize, pixels: usize) -> u64 {
    let per_image = add(&[pixels as u64, (pixels as u64).div_ceil(64) * 8, 1]);
    mul(&[examples as u64, per_image])
}

/// Bytes of a bit layer `inputs -> outputs`: packed rows of 64-bit words, plus a word of
/// bias and threshold per neuron.
pub(crate) fn bit_layer_bytes(inputs: usize, outputs: usize) -> u64 {
    let words = (inputs as u64).div_ceil(64);
    (outputs as u64).saturating_mul(words.saturating_add(2).saturating_mul(8))
}

/// Bytes of a bit network `inputs -> hidden... -> classes`.
pub(crate) fn network_bytes(inputs: usize, hidden: &[usize], classes: usize) -> u64 {
    let mut widths = Vec::with_capacity(hidden.len() + 2);
    widths.push(inputs);
    widths.extend_from_slice(hidden);
    widths.push(classes);
    widths
        .windows(2)
        .map(|w| bit_layer_bytes(w[0], w[1]))
        .fold(0u64, u64::saturating_add)
}

/// Multiplies sizes without overflow.
pub(crate) fn mul(parts: &[u64]) -> u64 {
    parts.iter().fold(1u64, |a, &b| a.saturating_mul(b))
}

/// Adds sizes without overflow.
pub(crate) fn add(parts: &[u64]) -> u64 {
    parts.iter().fold(0u64, |a, &b| a.saturating_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(372_922), "372.9 kB");
        assert_eq!(format_bytes(9_800_000_000), "9.8 GB");
        assert_eq!(format_bytes(u64::MAX), "18446744.1 TB");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_reports_what_is_available() {
        let a = machine_available().expect("MemAvailable is read on Linux");
        assert!(a > 1 << 20, "{a}");
    }

    #[test]
    fn a_network_of_784_800_2_bits_is_about_100_kb() {
        let b = network_bytes(784, &[800], 2);
        assert!((90_000..110_000).contains(&b), "{b}");
        assert_eq!(network_bytes(usize::MAX, &[usize::MAX], 2), u64::MAX);
    }
}
