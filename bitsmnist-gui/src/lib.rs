//! BitsMNIST desktop app: pick data and a bit network, train it with the genetic, bit-flip climbing or
//! gradient trainer of `bitsmnist-core` on a worker thread while live plots update, evaluate
//! it, and draw digits for it to read.
//!
//! The app is a library so that tests drive the very same UI headlessly with egui_kittest:
//! [`BitsApp::ui_root`] draws one frame into any [`egui::Ui`].
//!
//! Layout, after eframe_template and egui's demo app:
//! - [`app`]: the persisted [`Settings`], the run-time state, and carrying out commands;
//! - [`command`]: the [`Command`]s panels and menus emit, and the keyboard shortcuts;
//! - [`files`]: Open, Save, Save as, the exports and the recent files;
//! - [`example_models`]: the trained models embedded in the app (File > Open example);
//! - one module per panel: [`data`], [`model`], [`training`] (every method's run is one core
//!   session, started from a plan made of the panels' settings), [`evaluation`], [`draw`],
//!   [`runs`] (the runs folder: every run recorded, listed, plotted and compared), and
//!   [`sweep`] (its Sweep section: a grid of settings times seeds, run in the background);
//! - [`worker`]: threads for loading data and for jobs, talking to the UI over channels;
//! - [`widgets`]: the drop-down list and grid rows the panels share;
//! - [`help`]: where the README is on this machine, and opening it;
//! - [`digits`]: digit images as textures; [`measure`]: frame times for `--measure`;
//! - [`desktop`]: the icon, desktop entry and model file type, installed for a user.

#![warn(missing_docs)]

pub mod app;
pub mod command;
pub mod data;
pub mod desktop;
pub mod digits;
pub mod draw;
pub mod evaluation;
pub mod example_models;
pub mod files;
pub mod help;
pub mod measure;
pub mod model;
pub mod runs;
pub mod sweep;
pub mod training;
pub mod widgets;
pub mod worker;

pub use app::{BitsApp, Settings, Tab, ThemeChoice};
pub use command::Command;
pub use eframe::egui;
pub use files::FilePicker;
