//! The app's model files: Open, Save, Save as, Export (through the [`FilePicker`]) and the
//! recent files; and the exports of what the app shows ([`DataExport`]): the history and the
//! confusion matrix as CSV, the fitness plot as SVG or PNG. A file holds the model, the
//! training state and history behind it, and the data and task it was trained on (read with
//! [`ModelFile`], as the command line and notebooks do).
//!
//! The commands read the app ([`Current`]) and change nothing in it: they return [`Effect`]s,
//! which the app applies.

use std::path::{Path, PathBuf};

use bitsmnist_core::datasets::Task;
use bitsmnist_core::export::{self, Format, GreyRule};
use bitsmnist_core::io::{Metadata, ModelFile};
use bitsmnist_core::layers::Chain;

use eframe::egui;

use crate::command::DataExport;
use crate::data::{DataState, TaskKind};
use crate::evaluation::EvalState;
use crate::example_models::ExampleModel;
use crate::training::TrainingState;

/// Status after a file dialog returned nothing.
const NO_FILE_CHOSEN: &str = "no file chosen (no dialog? the desktop portal is missing: drop the .bin file onto the window instead)";

/// Most recent files remembered.
pub const MAX_RECENT: usize = 8;

/// What a file dialog is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileDialog {
    /// Choose a model file to open.
    Open,
    /// Choose where to save a model, suggesting a file name.
    Save {
        /// Suggested file name.
        suggested: String,
    },
    /// Choose the folder an export in this format goes to.
    Export(Format),
    /// Choose the file a [`DataExport`] goes to.
    ExportData(DataExport),
}

/// Asks the user for a path: native dialogs in the app, a fixed path in tests.
pub type FilePicker = Box<dyn FnMut(FileDialog) -> Option<PathBuf>>;

/// The native file dialogs (rfd through the XDG desktop portal). Without a portal they return
/// `None` at once.
pub fn native_file_picker() -> FilePicker {
    Box::new(|what| {
        let dialog = rfd::FileDialog::new().add_filter("BitsMNIST model", &["bin"]);
        match what {
            FileDialog::Open => dialog.set_title("Open model").pick_file(),
            FileDialog::Save { suggested } => dialog
                .set_title("Save model")
                .set_file_name(suggested)
                .save_file(),
            FileDialog::ExportData(what) => rfd::FileDialog::new()
                .add_filter(what.extension().to_uppercase(), &[what.extension()])
                .set_title(what.menu_label().trim_end_matches('…'))
                .set_file_name(what.suggested())
                .save_file(),
            FileDialog::Export(format) => rfd::FileDialog::new()
                .set_title(format!(
                    "Export model: {} into the folder",
                    format.description()
                ))
                .pick_folder(),
        }
    })
}

/// What a file command reads of the app. The commands change nothing in it: they return the
/// [`Effect`]s the app then applies.
pub struct Current<'a> {
    /// The model (`None`: none yet).
    pub model: Option<&'a Chain>,
    /// The training state and history, and the run going on.
    pub training: &'a TrainingState,
    /// The loaded data and task.
    pub data: &'a DataState,
    /// The last evaluation.
    pub evaluation: &'a EvalState,
    /// The model file last opened or saved.
    pub file: Option<&'a Path>,
}

/// What a file command asks the app to change, in order.
#[must_use]
#[derive(Debug)]
pub enum Effect {
    /// Show this on the status line.
    Status(String),
    /// Show this error until dismissed.
    Error(String),
    /// This model file was read from this path: take its model, its training state and
    /// history, and its task.
    Opened(PathBuf, Box<ModelFile>),
    /// This model shipped with the app was read: take it as [`Effect::Opened`] does, but with
    /// no file behind it (Save asks for a path; the shipped model is never written over).
    OpenedExample(&'static ExampleModel, Box<ModelFile>),
    /// The model file is now this one: put it first in the recent files.
    Remember(PathBuf),
    /// Ask the run going on to write its checkpoint to this path.
    SaveRunning(PathBuf),
    /// Write the fitness plot to this path as PNG, from the next frame's screenshot.
    PlotPng(PathBuf),
}

/// Opens the model file at `path` (`None`: ask with the file picker); `running`: whether a
/// training run goes on, which refuses it.
pub fn open(picker: &mut FilePicker, path: Option<PathBuf>, running: bool) -> Vec<Effect> {
    match path.or_else(|| picker(FileDialog::Open)) {
        Some(p) => vec![open_file(&p, running)],
        None => vec![Effect::Status(NO_FILE_CHOSEN.into())],
    }
}

/// Opens the shipped model named `file` (an [`ExampleModel::file`]); `running`: whether a
/// training run goes on, which refuses it, as for a file.
pub fn open_example(file: &str, running: bool) -> Vec<Effect> {
    if running {
        return vec![Effect::Error("stop training before opening a model".into())];
    }
    let Some(example) = ExampleModel::named(file) else {
        return vec![Effect::Error(format!("no example model {file}"))];
    };
    match example.read() {
        Ok(f) => vec![Effect::OpenedExample(example, Box::new(f))],
        Err(e) => vec![Effect::Error(e)],
    }
}

/// Saves the model to `path` (`None`: ask with the file picker).
pub fn save(picker: &mut FilePicker, now: &Current<'_>, path: Option<PathBuf>) -> Vec<Effect> {
    if now.model.is_none() {
        return vec![Effect::Error("no model to save".into())];
    }
    let path = path.or_else(|| {
        picker(FileDialog::Save {
            suggested: "model.bin".into(),
        })
    });
    match path {
        Some(p) => save_file(now, &p),
        None => vec![Effect::Status(NO_FILE_CHOSEN.into())],
    }
}

/// Exports the model in `format` into the folder `dir` (`None`: ask with the file picker),
/// as `bitsmnist export` does: files named after the model file, grey levels binarised as the
/// loaded training split was.
pub fn export(
    picker: &mut FilePicker,
    now: &Current<'_>,
    format: Format,
    dir: Option<PathBuf>,
) -> Vec<Effect> {
    let error = |e: String| vec![Effect::Error(e)];
    let Some(model) = now.model else {
        return error("no model to export".into());
    };
    let Some(full) = now.data.full.clone() else {
        return error(
            "load the data before exporting: the binarisation comes from its training split".into(),
        );
    };
    let Some(dir) = dir.or_else(|| picker(FileDialog::Export(format))) else {
        return vec![Effect::Status(NO_FILE_CHOSEN.into())];
    };
    let name = now.file.map_or_else(|| "model".into(), export::name_for);
    let rule = GreyRule::for_binarization(full.binarization, &full.train);
    let files = match export::files(model, &metadata(now.data), format, &name, rule) {
        Ok(f) => f,
        Err(e) => return error(format!("cannot export: {e}")),
    };
    let mut names = Vec::new();
    for (file, text) in &files {
        let path = dir.join(file);
        if let Err(e) = bitsmnist_core::files::write_atomic(&path, text.as_bytes()) {
            return error(format!("{}: {e}", path.display()));
        }
        names.push(format!(
            "{file} ({})",
            bitsmnist_core::memory::format_bytes(text.len() as u64)
        ));
    }
    vec![Effect::Status(format!(
        "exported {} to {}: {} of weights",
        names.join(", "),
        dir.display(),
        bitsmnist_core::memory::format_bytes(model.bytes() as u64)
    ))]
}

/// Writes `what` to `path` (`None`: ask with the file picker). The PNG is taken from the next
/// frame's screenshot (see [`crop`]), so it is written after this returns.
pub fn export_data(
    picker: &mut FilePicker,
    now: &Current<'_>,
    what: DataExport,
    path: Option<PathBuf>,
) -> Vec<Effect> {
    let history = &now.training.history;
    let text = match what {
        DataExport::HistoryCsv | DataExport::PlotSvg | DataExport::PlotPng
            if history.is_empty() =>
        {
            return vec![Effect::Error("no training history yet: train first".into())];
        }
        DataExport::HistoryCsv => Some(history.to_csv()),
        DataExport::PlotSvg => Some(history.plot().to_svg()),
        DataExport::PlotPng => None,
        DataExport::ConfusionCsv => match &now.evaluation.result {
            Some((eval, _)) => Some(eval.confusion.to_csv()),
            None => {
                return vec![Effect::Error(
                    "no confusion matrix yet: evaluate first".into(),
                )];
            }
        },
    };
    let Some(path) = path.or_else(|| picker(FileDialog::ExportData(what))) else {
        return vec![Effect::Status(NO_FILE_CHOSEN.into())];
    };
    let effect = match text {
        Some(text) => match bitsmnist_core::files::write_atomic(&path, text.as_bytes()) {
            Ok(()) => Effect::Status(format!(
                "exported {} to {}",
                what.menu_label()
                    .trim_start_matches("Export ")
                    .trim_end_matches('…'),
                path.display()
            )),
            Err(e) => Effect::Error(format!("{}: {e}", path.display())),
        },
        None => Effect::PlotPng(path),
    };
    vec![effect]
}

/// The part of a screenshot under `rect` (in points; the image is in pixels, `ppp` pixels per
/// point), clamped to the image.
pub fn crop(image: &egui::ColorImage, rect: egui::Rect, ppp: f32) -> egui::ColorImage {
    let [w, h] = image.size;
    let px = |v: f32, max: usize| ((v * ppp).round().max(0.0) as usize).min(max);
    let (x0, x1) = (px(rect.min.x, w), px(rect.max.x, w));
    let (y0, y1) = (px(rect.min.y, h), px(rect.max.y, h));
    let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        pixels.extend_from_slice(&image.pixels[y * w + x0..y * w + x1]);
    }
    egui::ColorImage::new([x1 - x0, y1 - y0], pixels)
}

/// The image as an RGBA PNG file.
pub fn png_bytes(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let [w, h] = image.size;
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        let data: Vec<u8> = image
            .pixels
            .iter()
            .flat_map(|c| c.to_srgba_unmultiplied())
            .collect();
        writer.write_image_data(&data).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Writes the image to `path` as PNG.
pub fn write_png(image: &egui::ColorImage, path: &Path) -> Result<(), String> {
    let bytes = png_bytes(image)?;
    bitsmnist_core::files::write_atomic(path, &bytes).map_err(|e| e.to_string())
}

/// What a saved or exported file says about the model: its data and task.
fn metadata(data: &DataState) -> Metadata {
    let mut meta = Metadata::now().with_program(crate::training::PROGRAM);
    if let Some(d) = &data.task_data {
        meta = meta.with_dataset(d);
    }
    if let Some(t) = &data.task {
        meta = meta.with_task(t);
    }
    meta
}

/// Reads a model file: the model, its training state and history, and its task.
fn open_file(path: &Path, running: bool) -> Effect {
    if running {
        return Effect::Error("stop training before opening a model".into());
    }
    match ModelFile::load(path) {
        Ok(f) => Effect::Opened(path.to_path_buf(), Box::new(f)),
        Err(e) => Effect::Error(format!("{}: {e}", path.display())),
    }
}

/// Saves the model: the run's checkpoint (asked of the worker while a run goes on; the last
/// run's, or the opened file's, when the model is its), with the training state, history and
/// the run's metadata; else the model, the history and the data description.
fn save_file(now: &Current<'_>, path: &Path) -> Vec<Effect> {
    let Some(model) = now.model.cloned() else {
        return vec![Effect::Error("no model to save".into())];
    };
    // A run going on writes its own checkpoint, state included.
    if now.training.is_running() {
        return vec![
            Effect::SaveRunning(path.to_path_buf()),
            Effect::Status(format!(
                "saving the run's checkpoint to {}…",
                path.display()
            )),
        ];
    }
    let file = now.training.checkpoint(&model).unwrap_or_else(|| {
        let mut file = ModelFile::new(model).with_meta(metadata(now.data));
        if !now.training.history.is_empty() {
            file = file.with_history(now.training.history.clone());
        }
        file
    });
    match file.save(path) {
        Ok(()) => vec![
            Effect::Remember(path.to_path_buf()),
            Effect::Status(format!("saved {}", path.display())),
        ],
        Err(e) => vec![Effect::Error(format!("{}: {e}", path.display()))],
    }
}

/// The settings of the Data panel's task that give `task`: the kind, and the classes field
/// (`classes`, the field as it is, unless the task names other classes).
pub fn task_settings(task: &Task, classes: &str) -> (TaskKind, String) {
    if task.classes() == [0, 1] {
        (TaskKind::ZeroOne, classes.to_string())
    } else if task.is_all_digits() {
        (TaskKind::Digits, classes.to_string())
    } else {
        (TaskKind::Classes, task.to_string())
    }
}

/// Puts `path` first in the `recent` files.
pub fn remember(recent: &mut Vec<PathBuf>, path: &Path) {
    recent.retain(|p| p != path);
    recent.insert(0, path.to_path_buf());
    recent.truncate(MAX_RECENT);
}
/// The menu entry that exports a model in `format`, in File and on the Runs tab alike.
pub(crate) fn export_label(format: Format) -> &'static str {
    match format {
        Format::C => "Export as C…",
        Format::Rust => "Export as Rust…",
        _ => "Export as JSON…",
    }
}
