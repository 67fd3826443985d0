//! The activation of float outputs ([`Activation`]).

use serde::{Deserialize, Serialize};

/// Activation applied to a float output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Activation {
    /// `x`
    #[default]
    Identity,
    /// `1 / (1 + e^-x)`
    Sigmoid,
    /// `tanh(x)`
    Tanh,
    /// `max(0, x)`
    Relu,
}

impl Activation {
    /// Applies the activation to one value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
        }
    }

    /// Lower-case name, as shown in model summaries (`identity`, `sigmoid`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }

    /// Every activation, for menus.
    pub fn all() -> [Activation; 4] {
        [
            Activation::Identity,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
        ]
    }
}

impl std::str::FromStr for Activation {
    type Err = crate::util::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Activation::all()
            .into_iter()
            .find(|a| a.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                crate::util::ParseError::new("activation", s, "use identity, sigmoid, tanh or relu")
            })
    }
}
