//! The stop rules, progress and outcome of the shared run loop ([`crate::run`]), under the
//! names the genetic trainers have always used.

pub use crate::run::{CancelToken, StopReason, TrainOptions, TrainOutcome, Validation};

/// What the callback of the population's [`train`](crate::run::Method::train) sees after each
/// generation: the population ([`Progress::state`](crate::run::Progress::state)) and the
/// generation's record.
pub type Progress<'a> = crate::run::Progress<'a, super::TrainingSet>;
