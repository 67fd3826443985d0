//! The app's model files: Open, Save, Save as, Export (through the [`FilePicker`]) and the
//! recent files; and the exports of what the app shows ([`DataExport`]): the history and the
//! confusion matrix as CSV, the fitness plot as SVG or PNG. A file holds the model, the training state and history behind it, and the data
//! and task it was trained on (read with [`ModelFile`], as the command line and notebooks do).

use std::path::{Path, PathBuf};

use bitsmnist_core::export::{self, Format, GreyRule};
use bitsmnist_core::io::{Metadata, ModelFile};

use eframe::egui;

use crate::app::BitsApp;
pub use crate::command::DataExport;
use crate::data::TaskKind;

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

/// Opens the model file at `path` (`None`: ask with the file picker).
pub fn open(app: &mut BitsApp, path: Option<PathBuf>) {
    match path.or_else(|| (app.file_picker)(FileDialog::Open)) {
        Some(p) => open_file(app, &p),
        None => app.status = NO_FILE_CHOSEN.into(),
    }
}

/// Saves the model to `path` (`None`: ask with the file picker).
pub fn save(app: &mut BitsApp, path: Option<PathBuf>) {
    if app.model.chain.is_none() {
        app.error("no model to save");
        return;
    }
    let path = path.or_else(|| {
        (app.file_picker)(FileDialog::Save {
            suggested: "model.bin".into(),
        })
    });
    match path {
        Some(p) => save_file(app, &p),
        None => app.status = NO_FILE_CHOSEN.into(),
    }
}

/// Exports the model in `format` into the folder `dir` (`None`: ask with the file picker),
/// as `bitsmnist export` does: files named after the model file, grey levels binarised as the
/// loaded training split was.
pub fn export(app: &mut BitsApp, format: Format, dir: Option<PathBuf>) {
    let Some(model) = app.model.chain.clone() else {
        app.error("no model to export");
        return;
    };
    let Some(full) = app.data.full.clone() else {
        app.error("load the data before exporting: the binarisation comes from its training split");
        return;
    };
    let Some(dir) = dir.or_else(|| (app.file_picker)(FileDialog::Export(format))) else {
        app.status = NO_FILE_CHOSEN.into();
        return;
    };
    let name = app
        .current_file
        .as_deref()
        .map_or_else(|| "model".into(), export::name_for);
    let rule = GreyRule::for_binarization(full.binarization, &full.train);
    let files = match export::files(&model, &metadata(app), format, &name, rule) {
        Ok(f) => f,
        Err(e) => {
            app.error(format!("cannot export: {e}"));
            return;
        }
    };
    let mut names = Vec::new();
    for (file, text) in &files {
        let path = dir.join(file);
        if let Err(e) = bitsmnist_core::files::write_atomic(&path, text.as_bytes()) {
            app.error(format!("{}: {e}", path.display()));
            return;
        }
        names.push(format!(
            "{file} ({})",
            bitsmnist_core::memory::format_bytes(text.len() as u64)
        ));
    }
    app.status = format!(
        "exported {} to {}: {} of weights",
        names.join(", "),
        dir.display(),
        bitsmnist_core::memory::format_bytes(model.bytes() as u64)
    );
}

/// Writes `what` to `path` (`None`: ask with the file picker). The PNG is taken from the next
/// frame's screenshot (see [`crop`]), so it is written after this returns.
pub fn export_data(app: &mut BitsApp, what: DataExport, path: Option<PathBuf>) {
    let history = &app.training.history;
    let text = match what {
        DataExport::HistoryCsv | DataExport::PlotSvg | DataExport::PlotPng
            if history.is_empty() =>
        {
            app.error("no training history yet: train first");
            return;
        }
        DataExport::HistoryCsv => Some(history.to_csv()),
        DataExport::PlotSvg => Some(history.plot().to_svg()),
        DataExport::PlotPng => None,
        DataExport::ConfusionCsv => match &app.evaluation.result {
            Some((eval, _)) => Some(eval.confusion.to_csv()),
            None => {
                app.error("no confusion matrix yet: evaluate first");
                return;
            }
        },
    };
    let Some(path) = path.or_else(|| (app.file_picker)(FileDialog::ExportData(what))) else {
        app.status = NO_FILE_CHOSEN.into();
        return;
    };
    match text {
        Some(text) => match bitsmnist_core::files::write_atomic(&path, text.as_bytes()) {
            Ok(()) => {
                app.status = format!(
                    "exported {} to {}",
                    what.menu_label()
                        .trim_start_matches("Export ")
                        .trim_end_matches('…'),
                    path.display()
                )
            }
            Err(e) => app.error(format!("{}: {e}", path.display())),
        },
        None => app.pending_png = Some((path, 0)),
    }
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
fn metadata(app: &BitsApp) -> Metadata {
    let mut meta = Metadata::now().with_program(crate::training::PROGRAM);
    if let Some(d) = &app.data.task_data {
        meta = meta.with_dataset(d);
    }
    if let Some(t) = &app.data.task {
        meta = meta.with_task(t);
    }
    meta
}

/// Opens a model file: the model, its training state and history, and its task.
fn open_file(app: &mut BitsApp, path: &Path) {
    if app.training.is_running() {
        app.error("stop training before opening a model");
        return;
    }
    let file = match ModelFile::load(path) {
        Ok(f) => f,
        Err(e) => {
            app.error(format!("{}: {e}", path.display()));
            return;
        }
    };
    if let Some(task) = &file.meta.task {
        let d = &mut app.settings.data;
        let (kind, classes) = if task.classes() == [0, 1] {
            (TaskKind::ZeroOne, d.classes.clone())
        } else if task.is_all_digits() {
            (TaskKind::Digits, d.classes.clone())
        } else {
            (TaskKind::Classes, task.to_string())
        };
        if (kind, &classes) != (d.task, &d.classes) {
            d.task = kind;
            d.classes = classes;
            if let Err(e) = app.data.apply_task(d) {
                app.error(e);
            }
        }
    }
    if let Some(method) = app.training.opened(&file) {
        // Start goes on with the run that made the file, as `bitsmnist train --resume`.
        app.settings.training.method = method;
    }
    // The model says which input it reads (`Chain::input`); `set` takes it from there.
    app.model.set(file.model, path.display().to_string());
    if let Some((inputs, classes)) = app.task_shape() {
        let m = app.model.chain.as_ref().expect("just set");
        if (m.inputs(), m.outputs()) != (inputs, classes) {
            app.error(format!(
                "the model takes {} inputs to {} classes, the data have {inputs} and {classes}",
                m.inputs(),
                m.outputs()
            ));
        }
    }
    remember(app, path);
    app.status = format!("opened {}", path.display());
    app.evaluation.result = None;
}

/// Saves the model: the run's checkpoint (asked of the worker while a run goes on; the last
/// run's, or the opened file's, when the model is its), with the training state, history and
/// the run's metadata; else the model, the history and the data description.
fn save_file(app: &mut BitsApp, path: &Path) {
    let Some(model) = app.model.chain.clone() else {
        app.error("no model to save");
        return;
    };
    // A run going on writes its own checkpoint, state included.
    if app.training.save_running(path) {
        app.status = format!("saving the run's checkpoint to {}…", path.display());
        return;
    }
    let file = app.training.checkpoint(&model).unwrap_or_else(|| {
        let mut file = ModelFile::new(model).with_meta(metadata(app));
        if !app.training.history.is_empty() {
            file = file.with_history(app.training.history.clone());
        }
        file
    });
    match file.save(path) {
        Ok(()) => {
            remember(app, path);
            app.status = format!("saved {}", path.display());
        }
        Err(e) => app.error(format!("{}: {e}", path.display())),
    }
}

/// Puts `path` first in the recent files.
pub(crate) fn remember(app: &mut BitsApp, path: &Path) {
    let recent = &mut app.settings.recent;
    recent.retain(|p| p != path);
    recent.insert(0, path.to_path_buf());
    recent.truncate(MAX_RECENT);
    app.current_file = Some(path.to_path_buf());
}
