//! The history of a gradient run is the shared one of [`crate::run`].

pub use crate::run::{History, Record};
