//! Whole networks that vote ([`Vote`]): a merged ensemble whose members keep their own
//! layers, convolutions included.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Activations, Chain, Floats, Layer};

/// Most members a vote holds: as many as an ensemble may have (`training::MAX_MEMBERS`), so
/// that a hostile file cannot make one of more.
pub const MAX_VOTERS: usize = 1024;

/// Why networks cannot vote together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VoteError {
    /// No member, or more than [`MAX_VOTERS`].
    #[error("a vote needs 1 to {MAX_VOTERS} members, not {0}")]
    Members(usize),
    /// A member with no layers.
    #[error("member {0} has no layers")]
    Empty(usize),
    /// A member that reads other inputs or gives other classes than the first.
    #[error(
        "member {member} maps {inputs} inputs to {outputs} scores, but member 0 maps {first_inputs} to {first_outputs}"
    )]
    Shape {
        /// The member.
        member: usize,
        /// Its inputs.
        inputs: usize,
        /// Its outputs.
        outputs: usize,
        /// The first member's inputs.
        first_inputs: usize,
        /// The first member's outputs.
        first_outputs: usize,
    },
    /// A member that reads its examples otherwise than the first ([`Chain::input`]).
    #[error("member {0} reads its examples otherwise than member 0")]
    Input(usize),
    /// A member whose last layer gives bits: votes add scores.
    #[error("member {0} ends in bit outputs: members of a vote give float scores")]
    BitScores(usize),
    /// A member holding a vote itself.
    #[error("member {0} holds a vote itself: votes do not nest")]
    Nested(usize),
}

/// Networks that each see the same input and whose class scores add up: the model that
/// members with their own layers (their own convolutions, from gradient training or their
/// own imprinted filters) merge into. Its scores are member 0's, then member 1's added, and
/// so on in order, in `f32`; the class is the first largest.
///
/// ```
/// use bitsmnist_core::layers::{Activation, BitOutput, Chain, Layer, Vote};
/// use bitsmnist_core::bits::BitMatrix;
/// let out = BitOutput::Float(Activation::Identity);
/// let a = Chain::mlp(16, &[8], 3, out, 1).unwrap();
/// let b = Chain::mlp(16, &[4], 3, out, 2).unwrap();
/// let vote = Vote::new(vec![a.clone(), b.clone()]).unwrap();
/// let model = Chain::new(vec![Layer::Vote(vote)]).unwrap();
/// let x = BitMatrix::zeros(1, 16);
/// let (sa, sb, s) = (a.scores(&x), b.scores(&x), model.scores(&x));
/// for k in 0..3 {
///     assert_eq!(s.row(0)[k], sa.row(0)[k] + sb.row(0)[k]);
/// }
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    members: Vec<Chain>,
}

impl Vote {
    /// The vote of `members` (see [`VoteError`] for what they must share).
    pub fn new(members: Vec<Chain>) -> Result<Self, VoteError> {
        let vote = Self { members };
        vote.check()?;
        Ok(vote)
    }

    fn check(&self) -> Result<(), VoteError> {
        let n = self.members.len();
        if n == 0 || n > MAX_VOTERS {
            return Err(VoteError::Members(n));
        }
        let first = &self.members[0];
        for (k, m) in self.members.iter().enumerate() {
            let Some(last) = m.layers().last() else {
                return Err(VoteError::Empty(k));
            };
            if m.layers().iter().any(|l| matches!(l, Layer::Vote(_))) {
                return Err(VoteError::Nested(k));
            }
            if last.emits_bits() {
                return Err(VoteError::BitScores(k));
            }
            if (m.inputs(), m.outputs()) != (first.inputs(), first.outputs()) {
                return Err(VoteError::Shape {
                    member: k,
                    inputs: m.inputs(),
                    outputs: m.outputs(),
                    first_inputs: first.inputs(),
                    first_outputs: first.outputs(),
                });
            }
            if m.input() != first.input() {
                return Err(VoteError::Input(k));
            }
        }
        Ok(())
    }

    /// The members, in voting order.
    pub fn members(&self) -> &[Chain] {
        &self.members
    }

    /// Input width (every member's).
    pub fn inputs(&self) -> usize {
        self.members.first().map_or(0, Chain::inputs)
    }

    /// Classes (every member's outputs).
    pub fn outputs(&self) -> usize {
        self.members.first().map_or(0, Chain::outputs)
    }

    /// Parameters of all members.
    pub fn parameters(&self) -> usize {
        self.members.iter().map(Chain::parameters).sum()
    }

    /// Stored bytes of all members.
    pub fn bytes(&self) -> usize {
        self.members.iter().map(Chain::bytes).sum()
    }

    /// Checks the invariants of a deserialized vote: each member's, then [`Vote::new`]'s.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (k, m) in self.members.iter().enumerate() {
            m.validate().map_err(|e| format!("member {k}: {e}"))?;
        }
        self.check().map_err(|e| e.to_string())
    }

    /// The summed scores of a batch.
    pub fn forward(&self, x: Activations) -> Activations {
        let mut sum: Option<Floats> = None;
        for m in &self.members {
            let s = m.forward(x.clone()).into_scores();
            sum = Some(match sum {
                None => s,
                Some(acc) => {
                    let (rows, cols) = (acc.rows(), acc.cols());
                    let data = acc
                        .as_slice()
                        .iter()
                        .zip(s.as_slice())
                        .map(|(a, b)| a + b)
                        .collect();
                    Floats::new(rows, cols, data)
                }
            });
        }
        Activations::Floats(sum.unwrap_or_else(|| Floats::new(x.rows(), 0, Vec::new())))
    }
}

/// `Vote(3 × Chain(...))` for members of one shape, else `Vote(Chain(...) + Chain(...))`.
impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.members.iter().map(ToString::to_string).collect();
        if let [first, rest @ ..] = texts.as_slice()
            && !rest.is_empty()
            && rest.iter().all(|t| t == first)
        {
            return write!(f, "Vote({} × {first})", texts.len());
        }
        write!(f, "Vote(")?;
        for (k, m) in self.members.iter().enumerate() {
            if k > 0 {
                write!(f, " + ")?;
            }
            write!(f, "{m}")?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Activation, BitDense, BitOutput};

    #[test]
    fn members_must_agree() {
        let out = BitOutput::Float(Activation::Identity);
        let a = Chain::mlp(16, &[8], 3, out, 1).unwrap();
        let wide = Chain::mlp(20, &[8], 3, out, 1).unwrap();
        let bits = Chain::new(vec![BitDense::new(16, 3).into()]).unwrap();
        assert_eq!(Vote::new(vec![]).unwrap_err(), VoteError::Members(0));
        assert!(matches!(
            Vote::new(vec![a.clone(), wide]),
            Err(VoteError::Shape { member: 1, .. })
        ));
        assert_eq!(
            Vote::new(vec![a.clone(), bits]).unwrap_err(),
            VoteError::BitScores(1)
        );
        let vote = Vote::new(vec![a.clone()]).unwrap();
        let nested = Chain::new(vec![Layer::Vote(vote)]).unwrap();
        // A vote's architecture is its members'.
        assert_eq!(
            crate::layers::Architecture::of(&nested),
            crate::layers::Architecture::of(&a)
        );
        assert_eq!(
            Vote::new(vec![a, nested]).unwrap_err(),
            VoteError::Nested(1)
        );
    }
}
