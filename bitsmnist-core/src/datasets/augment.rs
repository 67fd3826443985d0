//! Training data augmented by whole-pixel shifts ([`Augment`]).
//!
//! A gradient-free search sees its training examples as they are: a climb on 10,000 digits
//! fits them (99.4% train accuracy) well before it has learnt what tells the digits apart.
//! Copies of every example moved by a pixel or two are digits a writer could have written,
//! and a climb on them generalises further; measured on the ten digits after 32 imprinted
//! filters, see `docs/climbing.md`.

use serde::{Deserialize, Serialize};

use super::Split;
use crate::bits::BitMatrix;

/// Extra training examples made from the training split itself.
///
/// ```
/// use bitsmnist_core::datasets::Augment;
/// let a: Augment = "shifts:1".parse().unwrap();
/// assert_eq!(a, Augment::Shifts { radius: 1 });
/// assert_eq!(a.copies(), 5); // the example, and one pixel left, right, up and down
/// assert_eq!(a.to_string(), "shifts:1");
/// assert_eq!(Augment::Shifts { radius: 2 }.copies(), 13);
/// assert_eq!("none".parse::<Augment>().unwrap().copies(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Augment {
    /// The examples as they are.
    #[default]
    None,
    /// Every example, and a copy of it moved by each shift `(dx, dy)` of whole pixels with
    /// `|dx| + |dy| <= radius` (pixels moved in from outside are paper): `1 + 2r(r + 1)`
    /// examples for each one.
    Shifts {
        /// The largest shift, in pixels summed over both axes (1 to [`Augment::MAX_RADIUS`]).
        radius: u8,
    },
}

/// Why an augmentation cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AugmentError {
    /// Shifts need square images of whole pixels.
    #[error("shifted copies need square images of one or more bit planes, not {0} bits")]
    NotSquare(usize),
    /// A radius outside `1..=MAX_RADIUS`.
    #[error("the shift radius must be 1 to 4, not {0}")]
    Radius(u8),
}

// The error text above names the largest radius.
const _: () = assert!(Augment::MAX_RADIUS == 4);

impl Augment {
    /// The largest shift radius: 4 pixels makes 41 copies of every example.
    pub const MAX_RADIUS: u8 = 4;

    /// Examples made of each one, itself included.
    pub fn copies(self) -> usize {
        match self {
            Augment::None => 1,
            Augment::Shifts { radius } => {
                let r = usize::from(radius);
                1 + 2 * r * (r + 1)
            }
        }
    }

    /// The shifts `(dx, dy)` of the copies, `(0, 0)` first, then by distance, then row by
    /// row: the order of the copies in [`apply`](Self::apply).
    pub fn shifts(self) -> Vec<(i32, i32)> {
        let r = match self {
            Augment::None => 0,
            Augment::Shifts { radius } => i32::from(radius),
        };
        let mut all: Vec<(i32, i32)> = (-r..=r)
            .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
            .filter(|(dx, dy)| dx.abs() + dy.abs() <= r)
            .collect();
        all.sort_by_key(|&(dx, dy)| (dx.abs() + dy.abs(), dy, dx));
        all
    }

    /// Checks the radius.
    pub fn check(self) -> Result<(), AugmentError> {
        match self {
            Augment::Shifts { radius } if !(1..=Self::MAX_RADIUS).contains(&radius) => {
                Err(AugmentError::Radius(radius))
            }
            _ => Ok(()),
        }
    }

    /// `split` with its copies: every example in its order, then the whole split moved by
    /// the second shift, and so on ([`shifts`](Self::shifts)). The images are square, of
    /// the split's [`channels`](Split::channels) bits a pixel (a pixel's bits side by side),
    /// which move together; the copies carry no grey levels (a search on bits does not read
    /// them), so the result of [`Augment::None`] is `split` itself, grey levels and all.
    pub fn apply(self, split: &Split) -> Result<Split, AugmentError> {
        self.check()?;
        if self == Augment::None {
            return Ok(split.clone());
        }
        let cols = split.images().cols();
        let channels = split.channels();
        let side = (cols / channels).isqrt();
        if side * side * channels != cols || cols == 0 {
            return Err(AugmentError::NotSquare(cols));
        }
        let n = split.len();
        let shifts = self.shifts();
        let mut images = BitMatrix::zeros(n * shifts.len(), cols);
        let s = side as i32;
        for (k, &(dx, dy)) in shifts.iter().enumerate() {
            for i in 0..n {
                let row = k * n + i;
                for y in 0..s {
                    let sy = y - dy;
                    if !(0..s).contains(&sy) {
                        continue;
                    }
                    for x in 0..s {
                        let sx = x - dx;
                        if !(0..s).contains(&sx) {
                            continue;
                        }
                        let (to, from) = (
                            (y * s + x) as usize * channels,
                            (sy * s + sx) as usize * channels,
                        );
                        for c in 0..channels {
                            if split.images().get(i, from + c) {
                                images.set(row, to + c, true);
                            }
                        }
                    }
                }
            }
        }
        Ok(Split {
            images,
            labels: split.labels().repeat(shifts.len()),
            grey: None,
            threshold: split.threshold,
            channels,
        })
    }
}

impl std::fmt::Display for Augment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Augment::None => write!(f, "none"),
            Augment::Shifts { radius } => write!(f, "shifts:{radius}"),
        }
    }
}

impl std::str::FromStr for Augment {
    type Err = crate::util::ParseError;
    /// `none` or `shifts:R` (R from 1 to [`Augment::MAX_RADIUS`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            crate::util::ParseError::new(
                "augmentation",
                s,
                "use `none` or `shifts:R` with R from 1 to 4",
            )
        };
        match s {
            "none" => Ok(Augment::None),
            _ => {
                let r: u8 = s
                    .strip_prefix("shifts:")
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                let a = Augment::Shifts { radius: r };
                a.check().map_err(|_| bad())?;
                Ok(a)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{Binarization, Dataset};

    #[test]
    fn a_shifted_copy_is_the_shifted_grey_image_binarised() {
        let data = Dataset::embedded_with(Binarization::Threshold(75));
        let train = data.train.sample(0.01, 10);
        let a = Augment::Shifts { radius: 1 };
        let out = a.apply(&train).unwrap();
        assert_eq!(out.len(), train.len() * 5);
        assert_eq!(
            out.images()
                .select_rows(&(0..train.len()).collect::<Vec<_>>()),
            *train.images()
        );
        for (k, &(dx, dy)) in a.shifts().iter().enumerate() {
            for i in 0..train.len() {
                let grey = train.grey(i).unwrap();
                let mut moved = vec![0u8; 784];
                for y in 0..28i32 {
                    for x in 0..28i32 {
                        let (sx, sy) = (x - dx, y - dy);
                        if (0..28).contains(&sx) && (0..28).contains(&sy) {
                            moved[(y * 28 + x) as usize] = grey[(sy * 28 + sx) as usize];
                        }
                    }
                }
                let expect = Split::binarize(moved, 784, vec![0], Binarization::Threshold(75));
                let row = k * train.len() + i;
                assert_eq!(
                    out.images().select_rows(&[row]),
                    *expect.images(),
                    "shift {dx},{dy}"
                );
                assert_eq!(out.labels()[row], train.labels()[i]);
            }
        }
    }

    #[test]
    fn planes_move_together_and_bad_shapes_are_refused() {
        let images = BitMatrix::from_bools(
            8,
            &[vec![true, false, false, false, false, false, false, true]],
        )
        .unwrap();
        // 2x2 pixels of 2 bits each.
        let split = Split {
            channels: 2,
            ..Split::new(images.clone(), vec![3], None).unwrap()
        };
        // One pixel right: pixel (0,0) moves to (1,0), both its bits.
        let out = Augment::Shifts { radius: 1 }.apply(&split).unwrap();
        assert_eq!(out.channels(), 2);
        // Copy 3 is the shift (1, 0): (0, 0) first, then (0, -1), (-1, 0), (1, 0), (0, 1).
        assert_eq!(Augment::Shifts { radius: 1 }.shifts()[3], (1, 0));
        let right = a_row(&out, 3);
        assert_eq!(
            right,
            [false, false, true, false, false, false, false, false]
        );
        // Read as 8 pixels of one bit, the image is no square.
        let flat = Split::new(images, vec![3], None).unwrap();
        assert_eq!(
            Augment::Shifts { radius: 1 }.apply(&flat).map(|s| s.len()),
            Err(AugmentError::NotSquare(8))
        );
        assert_eq!(
            Augment::Shifts { radius: 9 }.apply(&split).map(|s| s.len()),
            Err(AugmentError::Radius(9))
        );
        assert!("shifts:0".parse::<Augment>().is_err());
        assert!("shifts".parse::<Augment>().is_err());
        let same = Augment::None.apply(&split).unwrap();
        assert_eq!(
            (same.images(), same.labels()),
            (split.images(), split.labels())
        );
    }

    fn a_row(s: &Split, i: usize) -> Vec<bool> {
        s.images().row_bits(i).iter().map(|b| *b).collect()
    }
}
