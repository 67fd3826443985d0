//! Packed bit storage and the XOR + popcount kernels every bit layer runs on.
//!
//! Bits are packed LSB first into `u64` words: bit `j` of a vector lives in word `j / 64`, bit
//! `j % 64`. Padding bits past the logical length are always zero, so a Hamming distance over
//! whole words never counts them.
//!
//! The kernels are chosen at run time ([`Kernel::detect`]): builds for the generic x86-64 target
//! (plain `cargo build`, evcxr) still get the `popcnt`, AVX2 and AVX-512 paths on CPUs that have
//! them.

mod kernels;

pub use kernels::{CpuFeatures, Interleaved, KERNEL_VAR, Kernel, KernelChoiceError, LANES};

use bitvec::prelude::{BitSlice, Lsb0};
use serde::{Deserialize, Serialize};

/// Number of bits in one storage word.
pub const WORD_BITS: usize = 64;

/// Number of `u64` words needed to hold `bits` bits.
///
/// ```
/// assert_eq!(bitsmnist_core::bits::words_for(784), 13);
/// assert_eq!(bitsmnist_core::bits::words_for(64), 1);
/// ```
pub const fn words_for(bits: usize) -> usize {
    bits.div_ceil(WORD_BITS)
}

/// Mask of the valid bits in the last word of a `bits`-long vector.
pub(crate) const fn last_word_mask(bits: usize) -> u64 {
    match bits % WORD_BITS {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

/// A row-major matrix of bit vectors, each row packed into `words_per_row` words.
///
/// Used for layer weights (one row per output neuron) and for batches of inputs (one row per
/// example). The invariant that padding bits are zero is kept by every constructor and setter.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BitMatrix {
    rows: usize,
    cols: usize,
    words: Vec<u64>,
}

impl BitMatrix {
    /// An all-zero matrix of `rows` rows of `cols` bits.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            words: vec![0; rows * words_for(cols)],
        }
    }

    /// Builds a matrix from packed words, clearing any padding bits.
    ///
    /// Returns `None` when `words.len() != rows * words_for(cols)`.
    pub fn from_words(rows: usize, cols: usize, mut words: Vec<u64>) -> Option<Self> {
        let wpr = words_for(cols);
        if words.len() != rows.checked_mul(wpr)? {
            return None;
        }
        let mask = last_word_mask(cols);
        if wpr > 0 {
            for row in words.chunks_exact_mut(wpr) {
                row[wpr - 1] &= mask;
            }
        }
        Some(Self { rows, cols, words })
    }

    /// Builds a matrix from rows of booleans (`true` is a 1-bit). All rows must have `cols`
    /// entries; returns `None` otherwise.
    pub fn from_bools<R: AsRef<[bool]>>(cols: usize, rows: &[R]) -> Option<Self> {
        let mut m = Self::zeros(rows.len(), cols);
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != cols {
                return None;
            }
            for (j, &b) in r.iter().enumerate() {
                m.set(i, j, b);
            }
        }
        Some(m)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of bits per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of `u64` words per row.
    pub fn words_per_row(&self) -> usize {
        words_for(self.cols)
    }

    /// All words, row after row.
    pub fn as_words(&self) -> &[u64] {
        &self.words
    }

    /// The packed words of row `i`.
    ///
    /// # Panics
    /// When `i >= self.rows()`.
    pub fn row(&self, i: usize) -> &[u64] {
        let w = self.words_per_row();
        &self.words[i * w..(i + 1) * w]
    }

    /// Row `i` as a bit slice (exactly `cols` bits long).
    pub fn row_bits(&self, i: usize) -> &BitSlice<u64, Lsb0> {
        &BitSlice::from_slice(self.row(i))[..self.cols]
    }

    /// Mutable words of row `i`. Callers must keep the padding bits zero; use
    /// [`BitMatrix::set`] or [`BitMatrix::flip`] unless whole words are copied from another row of
    /// the same width.
    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [u64] {
        let w = self.words_per_row();
        &mut self.words[i * w..(i + 1) * w]
    }

    /// Mutable access to all words (crate-internal: padding must stay zero).
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// Bit `j` of row `i`.
    pub fn get(&self, i: usize, j: usize) -> bool {
        assert!(j < self.cols, "column {j} out of range {}", self.cols);
        (self.row(i)[j / WORD_BITS] >> (j % WORD_BITS)) & 1 == 1
    }

    /// Sets bit `j` of row `i`.
    pub fn set(&mut self, i: usize, j: usize, value: bool) {
        assert!(j < self.cols, "column {j} out of range {}", self.cols);
        let word = &mut self.row_mut(i)[j / WORD_BITS];
        let m = 1u64 << (j % WORD_BITS);
        if value {
            *word |= m;
        } else {
            *word &= !m;
        }
    }

    /// Flips bit `j` of row `i`.
    pub fn flip(&mut self, i: usize, j: usize) {
        assert!(j < self.cols, "column {j} out of range {}", self.cols);
        self.row_mut(i)[j / WORD_BITS] ^= 1u64 << (j % WORD_BITS);
    }

    /// Total number of 1-bits.
    pub fn count_ones(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Fills the matrix with uniform random bits, keeping padding zero.
    pub fn randomize<R: rand::Rng + ?Sized>(&mut self, rng: &mut R) {
        for w in &mut self.words {
            *w = rng.next_u64();
        }
        self.clear_padding();
    }

    pub(crate) fn clear_padding(&mut self) {
        let wpr = self.words_per_row();
        if wpr == 0 {
            return;
        }
        let mask = last_word_mask(self.cols);
        for row in self.words.chunks_exact_mut(wpr) {
            row[wpr - 1] &= mask;
        }
    }

    /// Copies of rows `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let mut words = Vec::with_capacity(indices.len() * self.words_per_row());
        for &i in indices {
            words.extend_from_slice(self.row(i));
        }
        Self {
            rows: indices.len(),
            cols: self.cols,
            words,
        }
    }

    /// Bytes used by the packed words.
    pub fn bytes(&self) -> usize {
        self.words.len() * std::mem::size_of::<u64>()
    }

    /// Checks the invariants of a matrix that did not come from a constructor (for example one
    /// deserialized from a file): sane sizes, `rows * words_for(cols)` words, zero padding.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.rows > MAX_DIM || self.cols > MAX_DIM {
            return Err(format!(
                "bit matrix of {} x {} bits is larger than the limit {MAX_DIM}",
                self.rows, self.cols
            ));
        }
        let want = self
            .rows
            .checked_mul(words_for(self.cols))
            .ok_or("bit matrix size overflows")?;
        if self.words.len() != want {
            return Err(format!(
                "bit matrix of {} x {} bits holds {} words, expected {want}",
                self.rows,
                self.cols,
                self.words.len()
            ));
        }
        let wpr = words_for(self.cols);
        if wpr > 0 {
            let mask = last_word_mask(self.cols);
            if self
                .words
                .chunks_exact(wpr)
                .any(|row| row[wpr - 1] & !mask != 0)
            {
                return Err("bit matrix has non-zero padding bits".into());
            }
        }
        Ok(())
    }
}

/// The largest number of rows or columns accepted from untrusted data (files).
pub(crate) const MAX_DIM: usize = 1 << 31;

impl std::fmt::Debug for BitMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BitMatrix({} x {} bits)", self.rows, self.cols)
    }
}

/// Hamming distance between two packed bit vectors of equal length, using the fastest kernel
/// this CPU offers.
///
/// ```
/// use bitsmnist_core::bits::hamming;
/// assert_eq!(hamming(&[0b1011], &[0b0001]), 2);
/// ```
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    Kernel::detect().hamming(a, b)
}
