//! The Training panel (stub until the genetic trainer lands on main).

use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::app::Command;

/// News from a training run.
#[derive(Debug)]
pub enum TrainReply {}

impl TrainReply {
    /// Whether this is routine progress (shown within 1/30 s) rather than a result.
    pub fn is_progress(&self) -> bool {
        match *self {}
    }
}

/// The persisted trainer options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingSettings {}

/// A run in progress and its history (not persisted).
#[derive(Default)]
pub struct TrainingState {}

impl TrainingState {
    /// Whether a run is going (paused included).
    pub fn is_running(&self) -> bool {
        false
    }
}

/// Draws the Training panel.
pub fn ui(
    ui: &mut egui::Ui,
    _settings: &mut TrainingSettings,
    _state: &mut TrainingState,
    _can_start: bool,
) -> Vec<Command> {
    ui.label("The genetic trainer is not available yet.");
    Vec::new()
}

impl TrainingState {
    /// Forgets the run and history (a new model was made).
    pub fn forget(&mut self) {}

    /// Generations per second of the running run.
    pub fn generations_per_sec(&self) -> f64 {
        0.0
    }
}

/// Reacts to news from the run.
pub fn on_reply(_app: &mut crate::BitsApp, reply: TrainReply) {
    match reply {}
}

/// Carries out a training command.
pub fn apply(app: &mut crate::BitsApp, _command: Command) {
    app.error("the genetic trainer is not available yet");
}

/// Opens a model file.
pub fn open(app: &mut crate::BitsApp, path: &std::path::Path) {
    app.error(format!(
        "{}: model files are not available yet",
        path.display()
    ));
}

/// Saves the model.
pub fn save(app: &mut crate::BitsApp, path: &std::path::Path) {
    app.error(format!(
        "{}: model files are not available yet",
        path.display()
    ));
}
