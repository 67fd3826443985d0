//! Values flowing between layers ([`Activations`]): packed bits or [`Floats`].

use crate::bits::{BitMatrix, words_for};

/// A batch of float rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Floats {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Floats {
    /// Wraps row-major data.
    ///
    /// # Panics
    /// When `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * cols, "Floats: shape");
        Self { rows, cols, data }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row after row.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Index of the largest value in each row (the first one wins ties).
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.rows).map(|i| argmax(self.row(i))).collect()
    }
}

/// Index of the largest value (the first one wins ties, as Julia's `argmax`); 0 for an empty
/// slice.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Values flowing between layers: packed bits or floats, one row per example.
#[derive(Clone, Debug, PartialEq)]
pub enum Activations {
    /// Packed bits.
    Bits(BitMatrix),
    /// Floats.
    Floats(Floats),
}

impl Activations {
    /// Number of examples.
    pub fn rows(&self) -> usize {
        match self {
            Activations::Bits(b) => b.rows(),
            Activations::Floats(f) => f.rows(),
        }
    }

    /// Width of each row.
    pub fn cols(&self) -> usize {
        match self {
            Activations::Bits(b) => b.cols(),
            Activations::Floats(f) => f.cols(),
        }
    }

    /// Joins batches row-wise; `bits` says which kind an empty list stands for.
    pub(super) fn concat(parts: Vec<Activations>, cols: usize, bits: bool) -> Activations {
        if bits {
            let rows = parts.iter().map(Activations::rows).sum();
            let mut words = Vec::with_capacity(rows * words_for(cols));
            for p in parts {
                words.extend_from_slice(p.into_bits().as_words());
            }
            Activations::Bits(BitMatrix::from_words(rows, cols, words).expect("same widths"))
        } else {
            let rows = parts.iter().map(Activations::rows).sum();
            let mut data = Vec::with_capacity(rows * cols);
            for p in parts {
                data.extend_from_slice(p.into_scores().as_slice());
            }
            Activations::Floats(Floats::new(rows, cols, data))
        }
    }

    /// As bits: floats become their sign bit (negative, including -0.0, gives 1), as in the
    /// original.
    pub fn into_bits(self) -> BitMatrix {
        match self {
            Activations::Bits(b) => b,
            Activations::Floats(f) => {
                let mut m = BitMatrix::zeros(f.rows, f.cols);
                for i in 0..f.rows {
                    for (j, &v) in f.row(i).iter().enumerate() {
                        if v.is_sign_negative() {
                            m.set(i, j, true);
                        }
                    }
                }
                m
            }
        }
    }

    /// As floats for a float layer: bits read as ±1 (bit 0 is +1).
    pub fn into_signed_floats(self) -> Floats {
        match self {
            Activations::Floats(f) => f,
            Activations::Bits(b) => {
                let data = (0..b.rows())
                    .flat_map(|i| b.row_bits(i).iter().map(|x| if *x { -1.0 } else { 1.0 }))
                    .collect();
                Floats::new(b.rows(), b.cols(), data)
            }
        }
    }

    /// As output scores: bits are the values 0 and 1 (so that `argmax` and the score fitness
    /// behave as in the original), floats as they are.
    pub fn into_scores(self) -> Floats {
        match self {
            Activations::Floats(f) => f,
            Activations::Bits(b) => {
                let data = (0..b.rows())
                    .flat_map(|i| b.row_bits(i).iter().map(|x| if *x { 1.0 } else { 0.0 }))
                    .collect();
                Floats::new(b.rows(), b.cols(), data)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_input_to_bit_layer_uses_sign_bit() {
        let f = Activations::Floats(Floats::new(1, 3, vec![-1.0, 0.5, -0.0]));
        let b = f.into_bits();
        assert!(b.get(0, 0) && !b.get(0, 1) && b.get(0, 2));
    }
}
