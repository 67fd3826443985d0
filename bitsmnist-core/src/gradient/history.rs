//! The history of a gradient run is the shared one of [`crate::run`].

pub use crate::run::{History, Record};

/// The record of one epoch: the shared [`Record`].
#[deprecated(note = "use bitsmnist_core::run::Record, the record every method shares")]
pub type EpochRecord = Record;
