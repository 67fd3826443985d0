//! What panels and menus ask of the app: the [`Command`]s they emit, which the app carries
//! out after the frame, the [`DataExport`]s a command names, and the keyboard [`shortcuts`]
//! that emit commands. Panels use this module, not the app.

use std::path::PathBuf;

use bitsmnist_core::export::Format;
use bitsmnist_core::runs::RunId;

/// An action asked for by a panel, carried out after the frame by the app (`BitsApp::apply`).
#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// (Re)load the data named by the settings.
    LoadData,
    /// Apply the task and sample fraction to the loaded data.
    ApplyTask,
    /// Replace the model with a random one from the model settings.
    NewModel,
    /// Start training the current model.
    StartTraining,
    /// Pause the run after the current generation.
    PauseTraining,
    /// Resume a paused run.
    ResumeTraining,
    /// Stop the run; the best model so far is kept.
    StopTraining,
    /// Evaluate the model on the test split.
    Evaluate,
    /// Put a random test digit on the canvas.
    RandomTestDigit,
    /// Open a model file (`None`: ask with the file picker).
    Open(Option<PathBuf>),
    /// Open the model shipped with the app under this file name
    /// (`crate::example_models::ALL`); it has no path, so Save asks for one.
    OpenExample(&'static str),
    /// Save the model (`None`: ask with the file picker).
    Save(Option<PathBuf>),
    /// Export the model as code or data, into a folder the file picker asks for.
    Export(Format),
    /// Export the history, the fitness plot or the confusion matrix (`None`: ask with the
    /// file picker).
    ExportData(DataExport, Option<PathBuf>),
    /// Start training when idle, pause a running run, resume a paused one.
    StartOrPause,
    /// Show or hide the About window.
    ToggleAbout,
    /// Show or hide the Keyboard shortcuts window.
    ToggleShortcuts,
    /// Open a document (the README, the docs folder) with the desktop's viewer.
    OpenDocument(PathBuf),
    /// Forget the recent files.
    ClearRecent,
    /// Load the recorded run's checkpoint into the app, as Open does a file.
    OpenRun(RunId),
    /// Continue the recorded run (interrupted or stopped) into the same record.
    ContinueRun(RunId),
    /// Export the recorded run's model as code or data, into a folder the file picker asks
    /// for.
    ExportRun(RunId, Format),
    /// Give the recorded run this label.
    RelabelRun(RunId, String),
    /// Delete the recorded run (the panel asked for a confirmation).
    DeleteRun(RunId),
    /// Start the sweep the Runs tab's Sweep section describes (the points not yet done).
    StartSweep,
    /// Stop the sweep going on (its points are recorded as stopped, continued by the next
    /// start).
    StopSweep,
    /// Hide the error message at this index.
    DismissError(usize),
}

/// What File > Export writes besides the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataExport {
    /// The training history (the generations, or the epochs of a gradient run), as CSV.
    HistoryCsv,
    /// The fitness plot (with the test accuracy), as SVG drawn by the core library.
    PlotSvg,
    /// The fitness plot as the window shows it, as PNG (a screenshot of the plot's area).
    PlotPng,
    /// The last confusion matrix, as CSV.
    ConfusionCsv,
}

impl DataExport {
    /// The File menu entry (also its label for tests).
    pub fn menu_label(self) -> &'static str {
        match self {
            DataExport::HistoryCsv => "Export history as CSV…",
            DataExport::PlotSvg => "Export fitness plot as SVG…",
            DataExport::PlotPng => "Export fitness plot as PNG…",
            DataExport::ConfusionCsv => "Export confusion matrix as CSV…",
        }
    }

    /// The menu entry's hover text.
    pub fn tip(self) -> &'static str {
        match self {
            DataExport::HistoryCsv => {
                "Every generation (or epoch) of the training history, one line each"
            }
            DataExport::PlotSvg => {
                "The fitness and test accuracy per generation, as a vector image"
            }
            DataExport::PlotPng => "The Training tab's top plot, as the window shows it",
            DataExport::ConfusionCsv => {
                "Counts of (true, predicted) classes of the last evaluation"
            }
        }
    }

    /// The file name suggested.
    pub fn suggested(self) -> &'static str {
        match self {
            DataExport::HistoryCsv => "history.csv",
            DataExport::PlotSvg => "fitness.svg",
            DataExport::PlotPng => "fitness.png",
            DataExport::ConfusionCsv => "confusion.csv",
        }
    }

    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            DataExport::HistoryCsv | DataExport::ConfusionCsv => "csv",
            DataExport::PlotSvg => "svg",
            DataExport::PlotPng => "png",
        }
    }
}

/// The keyboard shortcuts, shown in the menus and handled before the panels draw. None is a
/// plain key: text fields keep Space and letters.
pub mod shortcuts {
    use eframe::egui::{Key, KeyboardShortcut, Modifiers};

    /// File > Open model.
    pub const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
    /// File > Save model (asks for a path when the model has no file yet).
    pub const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
    /// File > Save model as.
    pub const SAVE_AS: KeyboardShortcut =
        KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
    /// Start training, or pause and resume it.
    pub const START_PAUSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
    /// Help > Keyboard shortcuts.
    pub const HELP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);

    /// (shortcut, what it does), for the Keyboard shortcuts window.
    pub const ALL: [(KeyboardShortcut, &str); 5] = [
        (OPEN, "Open a model file"),
        (SAVE, "Save the model"),
        (SAVE_AS, "Save the model under a new name"),
        (START_PAUSE, "Start training; pause or resume it"),
        (HELP, "Show the keyboard shortcuts"),
    ];
}
