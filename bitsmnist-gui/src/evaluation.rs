//! The Evaluation panel: error, accuracy and MCC on the task's test split, recall per class,
//! the confusion matrix, and examples of mistakes.

use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::layers::{Chain, Input};
use bitsmnist_core::statistics::{self, ConfusionMatrix};
use eframe::egui::{self, Color32, RichText};

use crate::app::Command;
use crate::digits::{self, Gallery};

/// Most mistakes kept for display.
pub const MAX_MISTAKES: usize = 40;

/// Results of one evaluation.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Counts of (true, predicted) classes.
    pub confusion: ConfusionMatrix,
    /// (index in the test split, true class, predicted class) of the first mistakes.
    pub mistakes: Vec<(usize, usize, usize)>,
    /// Seconds the evaluation took.
    pub seconds: f64,
}

impl Evaluation {
    /// Evaluates `model` on the test split of `data` by the library's
    /// [`statistics::Evaluation`], feeding the examples as the model reads them
    /// ([`Chain::input`]; the `input` argument, what the app thinks it reads, is not used);
    /// fails when the model reads grey levels and the data have none.
    pub fn run(model: &Chain, data: &Dataset, _input: Input) -> Result<Self, String> {
        let start = std::time::Instant::now();
        let eval = statistics::Evaluation::try_new(model, &data.test).map_err(|e| e.to_string())?;
        let mistakes = eval
            .mistakes()
            .into_iter()
            .take(MAX_MISTAKES)
            .map(|i| (i, eval.labels()[i] as usize, eval.predictions()[i]))
            .collect();
        Ok(Self {
            confusion: eval.confusion().clone(),
            mistakes,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// The last evaluation (not persisted).
#[derive(Default)]
pub struct EvalState {
    /// The results, with the (model version, data version) they are for.
    pub result: Option<(Evaluation, (u64, u64))>,
    /// Thumbnails of mistakes.
    gallery: Gallery,
}

impl EvalState {
    /// Whether the result is for this model and data.
    pub fn is_current(&self, key: (u64, u64)) -> bool {
        self.result.as_ref().is_some_and(|(_, k)| *k == key)
    }
}

/// Draws the Evaluation panel. `key` is (model version, data version) of what is loaded.
pub fn ui(
    ui: &mut egui::Ui,
    state: &mut EvalState,
    data: Option<&Dataset>,
    key: (u64, u64),
    have_model: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let EvalState { result, gallery } = state;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                have_model && data.is_some(),
                egui::Button::new("Evaluate on test split"),
            )
            .clicked()
        {
            commands.push(Command::Evaluate);
        }
        if result.as_ref().is_some_and(|(_, k)| *k != key) {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The model or data changed since.",
            );
        }
    });
    let (Some((eval, _)), Some(data)) = (result.as_ref(), data) else {
        ui.label(if have_model {
            "Not evaluated yet."
        } else {
            "No model yet."
        });
        return commands;
    };
    let cm = &eval.confusion;
    ui.label(
        RichText::new(format!(
            "Test accuracy {:.2}%   error {:.2}%   MCC {:.4}",
            100.0 * cm.accuracy(),
            100.0 * cm.error(),
            cm.mcc()
        ))
        .heading(),
    );
    ui.label(format!(
        "{} test images of {}, evaluated in {:.0} ms.",
        cm.total(),
        data.class_names.join(" / "),
        eval.seconds * 1000.0
    ));
    ui.add_space(6.0);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.strong("Confusion matrix (rows: true class, columns: predicted)");
            confusion_grid(ui, cm, &data.class_names);
        });
        ui.add_space(16.0);
        ui.vertical(|ui| {
            ui.strong("Recall per class");
            egui::Grid::new("recall").striped(true).show(ui, |ui| {
                for (k, r) in cm.recall().iter().enumerate() {
                    ui.label(class_name(&data.class_names, k));
                    ui.label(r.map_or("-".into(), |r| format!("{:.2}%", 100.0 * r)));
                    ui.end_row();
                }
            });
        });
    });
    ui.add_space(6.0);
    ui.strong(format!(
        "Mistakes (first {} of {})",
        eval.mistakes.len(),
        cm.total() - (cm.accuracy() * cm.total() as f64).round() as u64
    ));
    let mistakes = eval.mistakes.clone();
    let names = data.class_names.clone();
    let gallery_key = key.0.wrapping_mul(1_000_003) ^ key.1 ^ (eval.seconds.to_bits());
    egui::ScrollArea::vertical()
        .id_salt("mistakes")
        .show(ui, |ui| {
            gallery.show(ui, gallery_key, 48.0, || {
                mistakes
                    .iter()
                    .map(|&(i, t, p)| {
                        (
                            digits::split_image(&data.test, i, data.shape, false),
                            format!("{} as {}", class_name(&names, t), class_name(&names, p)),
                        )
                    })
                    .collect()
            });
        });
    commands
}

fn class_name(names: &[String], k: usize) -> String {
    names.get(k).cloned().unwrap_or_else(|| k.to_string())
}

fn confusion_grid(ui: &mut egui::Ui, cm: &ConfusionMatrix, names: &[String]) {
    let k = cm.classes();
    let max = (0..k)
        .flat_map(|t| (0..k).map(move |p| (t, p)))
        .map(|(t, p)| cm.count(t, p))
        .max()
        .unwrap_or(1)
        .max(1);
    egui::Grid::new("confusion")
        .spacing([2.0, 2.0])
        .min_col_width(38.0)
        .show(ui, |ui| {
            ui.label("");
            for p in 0..k {
                ui.strong(class_name(names, p));
            }
            ui.end_row();
            for t in 0..k {
                ui.strong(class_name(names, t));
                for p in 0..k {
                    let c = cm.count(t, p);
                    let strength = (c as f32 / max as f32).sqrt();
                    let base = if t == p {
                        Color32::from_rgb(40, 140, 70)
                    } else {
                        Color32::from_rgb(180, 60, 50)
                    };
                    let fill = if c == 0 {
                        ui.visuals().faint_bg_color
                    } else {
                        base.gamma_multiply(0.25 + 0.75 * strength)
                    };
                    egui::Frame::new()
                        .fill(fill)
                        .inner_margin(egui::Margin::symmetric(4, 2))
                        .show(ui, |ui| {
                            ui.set_min_width(34.0);
                            ui.label(RichText::new(c.to_string()).monospace().color(if c == 0 {
                                ui.visuals().weak_text_color()
                            } else {
                                Color32::WHITE
                            }));
                        });
                }
                ui.end_row();
            }
        });
}
