//! BitsMNIST desktop app: pick data and a bit network, train it with the genetic, bit-flip climbing or
//! gradient trainer of `bitsmnist-core` on a worker thread while live plots update, evaluate
//! it, and draw digits for it to read.
//!
//! The app is a library so that tests drive the very same UI headlessly with egui_kittest:
//! [`BitsApp::ui_root`] draws one frame into any [`egui::Ui`].
//!
//! Layout, after eframe_template and egui's demo app:
//! - [`app`]: the persisted [`Settings`], the run-time state, the [`Command`]s panels emit;
//! - one module per panel: [`data`], [`model`], [`training`] (with [`gradient`] and
//!   [`climb`] for the gradient and bit-flip climbing methods), [`evaluation`], [`draw`];
//! - [`worker`]: threads for loading data and training, talking to the UI over channels;
//! - [`digits`]: digit images as textures.

#![warn(missing_docs)]

pub mod app;
pub mod climb;
pub mod data;
pub mod digits;
pub mod draw;
pub mod evaluation;
pub mod gradient;
pub mod model;
pub mod training;
pub mod worker;

pub use app::{BitsApp, Command, FilePicker, Settings, Tab};
pub use eframe::egui;
