//! The Evaluation panel: error, accuracy and MCC on the task's test split, recall per class,
//! the confusion matrix, and examples of mistakes. Clicking an off-diagonal cell of the matrix
//! shows only the mistakes of that (true, predicted) pair.

use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::layers::{Chain, Input};
use bitsmnist_core::statistics::{self, ConfusionMatrix};
use eframe::egui::{self, Color32, RichText};

use crate::command::Command;
use crate::digits::{self, Gallery};

/// Most mistakes shown at once.
pub const MAX_MISTAKES: usize = 40;

/// Results of one evaluation.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Counts of (true, predicted) classes.
    pub confusion: ConfusionMatrix,
    /// (index in the test split, true class, predicted class) of every mistake, in test-split
    /// order (the gallery shows the first [`MAX_MISTAKES`] of those its filter lets through).
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
    /// The (true, predicted) pair whose mistakes the gallery shows (`None`: every pair).
    pub filter: Option<(usize, usize)>,
}

impl EvalState {
    /// Whether the result is for this model and data.
    pub fn is_current(&self, key: (u64, u64)) -> bool {
        self.result.as_ref().is_some_and(|(_, k)| *k == key)
    }

    /// The mistakes the gallery shows: at most [`MAX_MISTAKES`] of those of the filter's pair
    /// (every pair when there is no filter).
    pub fn shown_mistakes(&self) -> Vec<(usize, usize, usize)> {
        let Some((eval, _)) = &self.result else {
            return Vec::new();
        };
        eval.mistakes
            .iter()
            .copied()
            .filter(|&(_, t, p)| self.filter.is_none_or(|f| f == (t, p)))
            .take(MAX_MISTAKES)
            .collect()
    }

    /// The captions of the thumbnails drawn in the last frame ("3 as 5": true class as
    /// predicted class).
    pub fn captions(&self) -> Vec<&str> {
        self.gallery.captions()
    }
}

/// The accessible label of a confusion-matrix cell (what a screen reader says, and what tests
/// click).
pub fn cell_label(truth: usize, predicted: usize) -> String {
    format!("true {truth}, predicted {predicted}")
}

/// WCAG 2 relative luminance of an opaque colour (0 black to 1 white).
pub fn luminance(c: Color32) -> f64 {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
}

/// WCAG 2 contrast ratio of two opaque colours, 1 (none) to 21 (black on white); body text
/// needs 4.5.
pub fn contrast_ratio(a: Color32, b: Color32) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Black or white, whichever reads better on `fill`.
pub fn text_on(fill: Color32) -> Color32 {
    if contrast_ratio(Color32::BLACK, fill) >= contrast_ratio(Color32::WHITE, fill) {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

/// The (fill, text) colours of a confusion-matrix cell holding `count` of at most `max`, on the
/// diagonal (right) or off it (mistakes), under `visuals`. The fill is opaque: the cell's
/// hue mixed into the panel's background by the count's strength, so that the text colour
/// can be picked by its luminance in either theme (white on a faded hue is unreadable on a
/// light panel).
pub fn cell_colors(
    count: u64,
    max: u64,
    diagonal: bool,
    visuals: &egui::Visuals,
) -> (Color32, Color32) {
    let background = visuals.panel_fill;
    let fill = if count == 0 {
        background
    } else {
        let strength = (count as f32 / max.max(1) as f32).sqrt();
        let base = if diagonal {
            Color32::from_rgb(40, 140, 70)
        } else {
            Color32::from_rgb(180, 60, 50)
        };
        lerp_colour(background, base, 0.25 + 0.75 * strength)
    };
    (fill, text_on(fill))
}

fn lerp_colour(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
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
    let EvalState {
        result,
        gallery,
        filter,
    } = state;
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
    // The matrix takes up to half the width, its cells as wide as fit (the ten digits' too);
    // the per-class bars take the rest.
    let half = ui.available_width() / 2.0;
    let k = cm.classes().max(1) as f32;
    let cell = ((half - 40.0) / k - 4.0).clamp(38.0, 96.0);
    // Rows as tall as a few classes leave room for; the bars beside them match.
    let row = (cell * 0.5).clamp(ui.spacing().interact_size.y, 40.0);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half - 16.0);
            ui.strong("Confusion matrix (rows: true class, columns: predicted)");
            if let Some(pair) = confusion_grid(ui, cm, &data.class_names, [cell, row]) {
                // A second click on the same cell shows every mistake again.
                *filter = (*filter != Some(pair)).then_some(pair);
            }
        });
        ui.add_space(16.0);
        ui.vertical(|ui| {
            ui.strong("Per class, 0–100%").on_hover_text(
                "Recall: of the class's test images, the share predicted as it. Precision: of the images predicted as the class, the share that are.",
            );
            per_class_bars(ui, cm, &data.class_names, row);
        });
    });
    ui.add_space(6.0);
    let names = data.class_names.clone();
    let mistakes: Vec<(usize, usize, usize)> = eval
        .mistakes
        .iter()
        .copied()
        .filter(|&(_, t, p)| filter.is_none_or(|f| f == (t, p)))
        .collect();
    ui.horizontal(|ui| {
        match *filter {
            None => ui.strong(format!(
                "Mistakes (first {} of {}; click a cell of the matrix to see one pair's)",
                mistakes.len().min(MAX_MISTAKES),
                mistakes.len()
            )),
            Some((t, p)) => ui.strong(format!(
                "Mistakes: true {} predicted as {} (first {} of {})",
                class_name(&names, t),
                class_name(&names, p),
                mistakes.len().min(MAX_MISTAKES),
                mistakes.len()
            )),
        };
        if filter.is_some() && ui.button("Show all mistakes").clicked() {
            *filter = None;
        }
    });
    let mistakes: Vec<_> = mistakes.into_iter().take(MAX_MISTAKES).collect();
    let filter_key = filter.map_or(u64::MAX, |(t, p)| (t * 1000 + p) as u64);
    let gallery_key = key.0.wrapping_mul(1_000_003)
        ^ key.1
        ^ (eval.seconds.to_bits())
        ^ filter_key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let size = digits::thumbnail_size(
        mistakes.len(),
        ui.available_size(),
        ui.text_style_height(&egui::TextStyle::Body),
        ui.spacing().item_spacing.x,
        48.0..=128.0,
    );
    egui::ScrollArea::vertical()
        .id_salt("mistakes")
        .show(ui, |ui| {
            gallery.show(ui, gallery_key, size, || {
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

/// Recall and precision of each class of `cm`, as fractions (`None`: no example of the
/// class, or no prediction of it). Precision is the diagonal count over its column's total.
pub fn recall_and_precision(cm: &ConfusionMatrix) -> Vec<(Option<f64>, Option<f64>)> {
    let k = cm.classes();
    cm.recall()
        .into_iter()
        .enumerate()
        .map(|(c, recall)| {
            let predicted: u64 = (0..k).map(|t| cm.count(t, c)).sum();
            let precision = (predicted > 0).then(|| cm.count(c, c) as f64 / predicted as f64);
            (recall, precision)
        })
        .collect()
}

/// A bar per class and figure, on the fixed 0–100% scale: a class at 81% reads as four
/// fifths full whatever the other classes score.
fn per_class_bars(ui: &mut egui::Ui, cm: &ConfusionMatrix, names: &[String], height: f32) {
    let width = ((ui.available_width() - 60.0) / 2.0).max(120.0);
    egui::Grid::new("per-class")
        .striped(true)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            ui.label("class");
            ui.label("recall");
            ui.label("precision");
            ui.end_row();
            for (c, (recall, precision)) in recall_and_precision(cm).into_iter().enumerate() {
                ui.label(class_name(names, c));
                for v in [recall, precision] {
                    let bar = match v {
                        Some(v) => {
                            egui::ProgressBar::new(v as f32).text(format!("{:.2}%", 100.0 * v))
                        }
                        None => egui::ProgressBar::new(0.0).text("-"),
                    };
                    ui.add(bar.desired_width(width).desired_height(height));
                }
                ui.end_row();
            }
        });
}

/// Draws the matrix, its cells `[width, height]` points; returns the (true, predicted) pair of
/// an off-diagonal cell clicked.
fn confusion_grid(
    ui: &mut egui::Ui,
    cm: &ConfusionMatrix,
    names: &[String],
    [cell, row]: [f32; 2],
) -> Option<(usize, usize)> {
    let k = cm.classes();
    let max = (0..k)
        .flat_map(|t| (0..k).map(move |p| (t, p)))
        .map(|(t, p)| cm.count(t, p))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut clicked = None;
    egui::Grid::new("confusion")
        .spacing([2.0, 2.0])
        .min_col_width(cell)
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
                    let (fill, text) = cell_colors(c, max, t == p, ui.visuals());
                    let cell = egui::Frame::new()
                        .fill(fill)
                        .inner_margin(egui::Margin::symmetric(4, 2))
                        .show(ui, |ui| {
                            ui.set_min_size(egui::vec2(cell - 8.0, row - 4.0));
                            // Centred on the row's height.
                            ui.horizontal_centered(|ui| {
                                ui.label(RichText::new(c.to_string()).monospace().color(text));
                            });
                        });
                    if t == p {
                        continue;
                    }
                    let response = ui
                        .interact(
                            cell.response.rect,
                            ui.scope_id().with(("confusion-cell", t, p)),
                            egui::Sense::click(),
                        )
                        .on_hover_text(format!(
                            "Show the mistakes of true {} predicted as {}",
                            class_name(names, t),
                            class_name(names, p)
                        ))
                        .on_hover_cursor(egui::CursorIcon::PointingHand);
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, cell_label(t, p))
                    });
                    if response.clicked() {
                        clicked = Some((t, p));
                    }
                }
                ui.end_row();
            }
        });
    clicked
}
