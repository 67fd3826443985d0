//! The Data panel: where the digits come from, which classes, how much of the training split
//! the fitness uses, how pixels become bits, and a preview of the digits.

use std::path::PathBuf;
use std::sync::Arc;

use bitsmnist_core::datasets::{Binarization, Dataset, Source, Split, Task};
use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::digits::{self, Gallery};

/// Where the data come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    /// The digits compiled into the library (10,000 train, 10,000 test).
    #[default]
    Embedded,
    /// Full MNIST (60,000 + 10,000), downloaded once into the cache.
    Mnist,
    /// A folder holding the four IDX files.
    Folder,
}

/// Which classes to tell apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Zeros against ones, as the original.
    #[default]
    ZeroOne,
    /// All ten digits.
    Digits,
    /// A list of classes typed by the user.
    Classes,
}

/// How pixels become bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinKind {
    /// `pixel > mean of the non-zero pixels of the split` (the original rule).
    #[default]
    Mean,
    /// `pixel > threshold`.
    Threshold,
    /// A thermometer code: grey levels kept as several bits a pixel.
    Thermometer,
}

/// The persisted data options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSettings {
    /// Where the data come from.
    pub source: SourceKind,
    /// The folder, for [`SourceKind::Folder`].
    pub folder: String,
    /// Which classes.
    pub task: TaskKind,
    /// The classes for [`TaskKind::Classes`], e.g. `3, 8`.
    pub classes: String,
    /// Fraction of the task's training split used for fitness (class-balanced sample).
    pub fraction: f64,
    /// Binarisation rule.
    pub binarization: BinKind,
    /// Threshold for [`BinKind::Threshold`].
    pub threshold: u8,
    /// Bits a pixel for [`BinKind::Thermometer`].
    pub levels: u8,
    /// Show the preview binarised rather than in grey.
    pub preview_bits: bool,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            source: SourceKind::Embedded,
            folder: String::new(),
            task: TaskKind::ZeroOne,
            classes: "3, 8".into(),
            // Every training example, as the command line and notebooks train by default.
            fraction: 1.0,
            binarization: BinKind::Mean,
            threshold: 127,
            levels: 4,
            preview_bits: false,
        }
    }
}

impl DataSettings {
    /// The data source these settings name.
    pub fn source(&self) -> Source {
        match self.source {
            SourceKind::Embedded => Source::Embedded,
            SourceKind::Mnist => Source::Mnist,
            SourceKind::Folder => Source::Dir(PathBuf::from(self.folder.trim())),
        }
    }

    /// The binarisation rule.
    pub fn binarization(&self) -> Binarization {
        match self.binarization {
            BinKind::Mean => Binarization::MeanOfNonZero,
            BinKind::Threshold => Binarization::Threshold(self.threshold),
            BinKind::Thermometer => Binarization::Thermometer {
                levels: self
                    .levels
                    .clamp(Binarization::MIN_LEVELS, Binarization::MAX_LEVELS),
            },
        }
    }

    /// The task, or why the class list is not one.
    pub fn task(&self) -> Result<Task, String> {
        match self.task {
            TaskKind::ZeroOne => Ok(Task::zero_one()),
            TaskKind::Digits => Ok(Task::digits()),
            TaskKind::Classes => self
                .classes
                .parse()
                .map_err(|e: bitsmnist_core::util::ParseError| e.to_string()),
        }
    }
}

/// The class names as one line: a run of three or more consecutive numbers as `first–last`
/// ("0–9" for the ten digits), else the names separated by commas ("0, 1", "3, 8").
pub fn class_list(names: &[String]) -> String {
    let numbers: Option<Vec<u64>> = names.iter().map(|n| n.parse().ok()).collect();
    if let Some(n) = numbers
        && n.len() >= 3
        && n.windows(2).all(|w| w[1] == w[0] + 1)
    {
        return format!("{}–{}", n[0], n[n.len() - 1]);
    }
    names.join(", ")
}

/// Download or load in progress.
#[derive(Clone, Debug, Default)]
pub struct Loading {
    /// What is loading.
    pub what: String,
    /// The file being downloaded, bytes done and expected.
    pub download: Option<(String, u64, Option<u64>)>,
}

/// The loaded data (not persisted).
#[derive(Default)]
pub struct DataState {
    /// The whole data set as loaded.
    pub full: Option<Arc<Dataset>>,
    /// What `full` was loaded from.
    pub loaded_from: Option<(Source, Binarization)>,
    /// `full` restricted to the task (train and test).
    pub task_data: Option<Arc<Dataset>>,
    /// The task applied.
    pub task: Option<Task>,
    /// The class-balanced sample of the task's training split that the fitness uses.
    pub sample: Option<Arc<Split>>,
    /// Counts up each time the task data change.
    pub version: u64,
    /// A load running in the background.
    pub loading: Option<Loading>,
    /// Whether the first automatic load was started.
    pub started: bool,
    /// Why the task settings cannot be applied.
    pub task_error: Option<String>,
    /// The preview thumbnails.
    pub preview: Gallery,
}

impl DataState {
    /// Restricts the loaded data to the task of `settings` and takes the sample. Returns an
    /// error message when the class list is invalid or names classes the data lack.
    pub fn apply_task(&mut self, settings: &DataSettings) -> Result<(), String> {
        let Some(full) = &self.full else {
            return Ok(());
        };
        let task = settings.task()?;
        // The library checks the classes against the data (`TaskError`).
        let task_data = full.for_task(&task).map_err(|e| e.to_string())?;
        let sample = task_data.train.sample(settings.fraction, task.len());
        self.sample = Some(Arc::new(sample));
        self.task_data = Some(Arc::new(task_data));
        self.task = Some(task);
        self.version += 1;
        Ok(())
    }

    /// Whether the settings name other data than the loaded ones.
    pub fn needs_reload(&self, settings: &DataSettings) -> bool {
        self.loaded_from.as_ref() != Some(&(settings.source(), settings.binarization()))
    }
}

/// Draws the Data panel. While `training`, the options are read-only (the run uses the data
/// it started with).
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut DataSettings,
    state: &mut DataState,
    training: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let before = settings.clone();
    let stale = state.full.is_some() && state.needs_reload(settings) && state.loading.is_none();
    let DataSettings {
        source,
        folder,
        task,
        classes,
        fraction,
        binarization,
        threshold,
        levels,
        preview_bits,
    } = settings;

    ui.heading("Data set");
    ui.add_enabled_ui(!training, |ui| {
    egui::Grid::new("data-grid")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            ui.label("Source");
            ui.horizontal(|ui| {
                ui.radio_value(source, SourceKind::Embedded, "Embedded digits")
                    .on_hover_text("10,000 real MNIST training digits and the 10,000 test digits, compiled in: no file, no network");
                ui.radio_value(source, SourceKind::Mnist, "Full MNIST")
                    .on_hover_text("60,000 + 10,000 digits, downloaded once into the cache (~11 MB)");
                ui.radio_value(source, SourceKind::Folder, "IDX folder")
                    .on_hover_text("Any folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (plain or .gz)");
            });
            ui.end_row();

            if *source == SourceKind::Folder {
                let l = ui.label("Folder");
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(folder).hint_text("/path/to/idx/files").desired_width(320.0))
                        .labelled_by(l.id);
                });
                ui.end_row();
            }

            ui.label("Binarisation");
            ui.horizontal(|ui| {
                ui.radio_value(binarization, BinKind::Mean, "Mean of non-zero pixels")
                    .on_hover_text("The original rule: a pixel is 1 when it is above the mean of the split's non-zero pixels");
                ui.radio_value(binarization, BinKind::Threshold, "Fixed threshold");
                if *binarization == BinKind::Threshold {
                    ui.add(egui::Slider::new(threshold, 0..=254).text("threshold"))
                        .on_hover_text("A pixel is 1 when it is above this grey level");
                }
                ui.radio_value(binarization, BinKind::Thermometer, "Thermometer code")
                    .on_hover_text("Grey levels kept as several bits a pixel: bit c is 1 when the pixel is above 255 (c + 1) / (levels + 1); convolutions read them as input channels");
                if *binarization == BinKind::Thermometer {
                    ui.add(egui::Slider::new(levels, Binarization::MIN_LEVELS..=Binarization::MAX_LEVELS).text("levels"))
                        .on_hover_text("Bits a pixel (2 to 8): the model reads this many times the pixels");
                }
            });
            ui.end_row();

            ui.label("");
            ui.horizontal(|ui| {
                let label = if state.full.is_some() { "Reload data" } else { "Load data" };
                let busy = state.loading.is_some();
                if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
                    commands.push(Command::LoadData);
                }
                if let Some(l) = &state.loading {
                    ui.spinner();
                    match &l.download {
                        Some((file, done, Some(total))) if *total > 0 => {
                            ui.add(
                                egui::ProgressBar::new(*done as f32 / *total as f32)
                                    .desired_width(200.0)
                                    .text(format!("{file}: {:.1} of {:.1} MB", *done as f64 / 1e6, *total as f64 / 1e6)),
                            );
                        }
                        Some((file, done, _)) => {
                            ui.label(format!("{file}: {:.1} MB", *done as f64 / 1e6));
                        }
                        None => {
                            ui.label(format!("loading {}…", l.what));
                        }
                    }
                }
            });
            ui.end_row();

            ui.label("Task");
            ui.horizontal(|ui| {
                ui.radio_value(task, TaskKind::ZeroOne, "0 vs 1")
                    .on_hover_text("Zeros against ones, as the original BitsMNIST");
                ui.radio_value(task, TaskKind::Digits, "10 digits");
                ui.radio_value(task, TaskKind::Classes, "Other classes:")
                    .on_hover_text("Any list of at least two distinct classes, in the order of the model's outputs");
                // Always shown, so that the row never ends in an empty label; editable once
                // chosen.
                ui.add_enabled(
                    *task == TaskKind::Classes,
                    egui::TextEdit::singleline(classes).desired_width(120.0).hint_text("3, 8"),
                )
                .on_hover_text("Class numbers separated by commas");
            });
            ui.end_row();

            ui.label("Classes");
            match &state.task_data {
                Some(d) => ui.label(class_list(&d.class_names)),
                None => ui.weak("(once the data are loaded)"),
            }
            .on_hover_text("The classes of the task applied, in the order of the model's outputs");
            ui.end_row();

            ui.label("Training sample");
            ui.add(
                egui::Slider::new(fraction, 0.001..=1.0)
                    .logarithmic(true)
                    .fixed_decimals(3)
                    .text("fraction of the training split"),
            )
            .on_hover_text("Class-balanced sample of the task's training split that the fitness is computed on (the original used 0.01 of 60,000). Smaller is faster per generation.");
            ui.end_row();
        });

    });
    if training {
        ui.weak("Training is running: stop it to change the data.");
    }
    if let Some(e) = &state.task_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }

    if stale {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "Source or binarisation changed: press \"Reload data\" to use them.",
        );
    }

    ui.separator();
    match (&state.full, &state.task_data, &state.sample) {
        (Some(full), Some(task_data), Some(sample)) => {
            ui.label(format!(
                "{}: {} training and {} test images of {}x{} pixels. Task {}: {} training, {} test; fitness sample {} ({}).",
                full.name,
                full.train.len(),
                full.test.len(),
                full.shape.0,
                full.shape.1,
                task_data.class_names.join(" / "),
                task_data.train.len(),
                task_data.test.len(),
                sample.len(),
                sample
                    .class_counts(task_data.classes())
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" + "),
            ));
            // A thermometer code's thresholds are in its name; the others' one is measured.
            let threshold = match full.binarization {
                Binarization::Thermometer { .. } => String::new(),
                _ => format!(", threshold {:.1}", sample.threshold()),
            };
            ui.label(format!(
                "Binarisation: {}{threshold}; {:.1}% of the bits are 1.",
                full.binarization,
                100.0 * sample.ones_fraction()
            ));
            ui.horizontal(|ui| {
                ui.strong("Preview of the training sample");
                ui.checkbox(preview_bits, "Show bits").on_hover_text(
                    "Show the binarised images the model sees instead of the grey levels",
                );
            });
            let key = state.version * 2 + u64::from(*preview_bits);
            let shape = full.shape;
            let names = task_data.class_names.clone();
            let bits = *preview_bits;
            let shown = sample.len().min(60);
            let size = digits::thumbnail_size(
                shown,
                ui.available_size(),
                ui.text_style_height(&egui::TextStyle::Body),
                ui.spacing().item_spacing.x,
                48.0..=112.0,
            );
            egui::ScrollArea::vertical().show(ui, |ui| {
                state.preview.show(ui, key, size, || {
                    (0..shown)
                        .map(|i| {
                            let label = sample.labels()[i] as usize;
                            let name = names
                                .get(label)
                                .cloned()
                                .unwrap_or_else(|| label.to_string());
                            (digits::split_image(sample, i, shape, bits), name)
                        })
                        .collect()
                });
            });
        }
        _ if state.loading.is_some() => {
            ui.label("Loading…");
        }
        _ => {
            ui.label("No data loaded.");
        }
    }
    if settings.task != before.task
        || settings.classes != before.classes
        || settings.fraction != before.fraction
    {
        commands.push(Command::ApplyTask);
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_lists_read_as_a_range_or_a_list() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(class_list(&names(&["0", "1"])), "0, 1");
        let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        assert_eq!(class_list(&digits), "0–9");
        assert_eq!(class_list(&names(&["3", "8"])), "3, 8");
        assert_eq!(class_list(&names(&["2", "3", "4"])), "2–4");
        assert_eq!(class_list(&names(&["7", "1", "2"])), "7, 1, 2");
    }

    /// The thermometer choice gives the code of its levels, and levels a settings file holds
    /// outside 2 to 8 (edited by hand) are brought into range rather than refused on loading.
    #[test]
    fn a_thermometer_choice_gives_a_code_of_its_levels() {
        let mut s = DataSettings {
            binarization: BinKind::Thermometer,
            ..DataSettings::default()
        };
        assert_eq!(s.binarization(), Binarization::Thermometer { levels: 4 });
        s.levels = 40;
        assert_eq!(s.binarization(), Binarization::Thermometer { levels: 8 });
        s.levels = 0;
        assert_eq!(s.binarization(), Binarization::Thermometer { levels: 2 });
        assert!(s.binarization().check().is_ok());
    }
}
