//! How a model reads an example ([`Input`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Activations, Floats};
#[cfg(doc)]
use super::{BitDense, Chain, Dense};
use crate::datasets::Split;

/// How a model reads an example: what its first layer sees. A [`Chain`] carries it
/// ([`Chain::input`]), and every prediction from a [`Split`] ([`Chain::predict_split`],
/// [`crate::statistics`]) encodes the examples accordingly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Input {
    /// The packed bits (a float first layer reads them as ±1, bit 0 is +1): a model of
    /// [`BitDense`] layers only is pure XOR + popcount + compare.
    #[default]
    Bits,
    /// Grey levels / 255 as floats (needs [`Split::grey`]); the first layer is a float
    /// [`Dense`] (gradient training with grey input exports one).
    Grey,
}

impl Input {
    /// The value a float first layer sees for a grey level: `grey / 255`.
    #[inline]
    pub fn grey_value(grey: u8) -> f32 {
        f32::from(grey) / 255.0
    }

    /// The value a float first layer sees for a bit: -1 for a 1-bit, +1 for a 0-bit.
    #[inline]
    pub fn bit_value(bit: bool) -> f32 {
        if bit { -1.0 } else { 1.0 }
    }

    /// Example `i` of `split` as floats, one per pixel, as a float first layer reading this
    /// input sees it: [`Input::bit_value`] of each bit, or [`Input::grey_value`] of each grey
    /// level.
    ///
    /// # Panics
    /// For [`Input::Grey`] when the split has no grey levels (see [`Chain::check_split`]).
    pub fn example_floats(self, split: &Split, i: usize) -> Vec<f32> {
        match self {
            Input::Bits => split
                .images()
                .row_bits(i)
                .iter()
                .map(|b| Input::bit_value(*b))
                .collect(),
            Input::Grey => split
                .grey(i)
                .expect("grey levels present")
                .iter()
                .map(|&g| Input::grey_value(g))
                .collect(),
        }
    }

    /// The examples `rows` of `split` as the first layer reading this input takes them: the
    /// packed bits, or one row of [`Input::grey_value`]s per example.
    pub fn encode(self, split: &Split, rows: &[usize]) -> Result<Activations, InputError> {
        match self {
            Input::Bits => Ok(Activations::Bits(split.select(rows).images().clone())),
            Input::Grey => {
                let mut data = Vec::with_capacity(rows.len() * split.pixels());
                for &i in rows {
                    let g = split.grey(i).ok_or(InputError::NoGreyLevels)?;
                    data.extend(g.iter().map(|&g| Input::grey_value(g)));
                }
                Ok(Activations::Floats(Floats::new(
                    rows.len(),
                    split.pixels(),
                    data,
                )))
            }
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Input::Bits => "bits",
            Input::Grey => "grey",
        })
    }
}

impl std::str::FromStr for Input {
    type Err = crate::util::ParseError;
    /// `bits` (also `pm1`, `±1`) or `grey` (also `gray`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bits" | "bit" | "pm1" | "±1" => Ok(Input::Bits),
            "grey" | "gray" => Ok(Input::Grey),
            _ => Err(crate::util::ParseError::new(
                "input",
                s,
                "use `bits` or `grey`",
            )),
        }
    }
}

/// Why examples cannot be fed to a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The examples have another width than the model's input.
    #[error("the examples are {data} pixels wide but the model takes {model}")]
    Width {
        /// Width of the examples.
        data: usize,
        /// Input width of the model.
        model: usize,
    },
    /// The model reads grey levels and the examples kept none.
    #[error("the model reads grey levels, and these examples have none")]
    NoGreyLevels,
}
