//! The Draw panel: a 28x28 canvas drawn with the mouse (left button draws, right button
//! erases), binarised like the data, and the model's prediction and scores, updated live.

use bitsmnist_core::bits::BitMatrix;
use bitsmnist_core::layers::{Chain, Input, argmax};
use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2};
use serde::{Deserialize, Serialize};

use crate::command::Command;

/// Canvas width and height in pixels.
pub const SIDE: usize = 28;

/// The persisted drawing options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrawSettings {
    /// Brush radius in canvas pixels.
    pub brush: f32,
    /// Show the bits the model sees next to the canvas.
    pub show_bits: bool,
}

impl Default for DrawSettings {
    fn default() -> Self {
        Self {
            brush: 2.2,
            show_bits: true,
        }
    }
}

/// The canvas and the last prediction (not persisted).
pub struct DrawState {
    /// Grey levels, row-major, 0 is background.
    pub grey: Vec<u8>,
    /// Last pointer position in canvas pixels while drawing, to join strokes.
    last: Option<Pos2>,
    /// Counts up on every change of the canvas.
    pub version: u64,
    /// (canvas version, model version) the prediction was made for.
    predicted_for: Option<(u64, u64)>,
    /// The model's scores for the canvas.
    pub scores: Vec<f32>,
    /// The predicted class (argmax of the scores).
    pub prediction: Option<usize>,
}

impl Default for DrawState {
    fn default() -> Self {
        Self {
            grey: vec![0; SIDE * SIDE],
            last: None,
            version: 0,
            predicted_for: None,
            scores: Vec::new(),
            prediction: None,
        }
    }
}

impl DrawState {
    /// Clears the canvas.
    pub fn clear(&mut self) {
        self.grey.fill(0);
        self.version += 1;
    }

    /// Replaces the canvas with grey levels (e.g. a test digit).
    pub fn set(&mut self, grey: &[u8]) {
        if grey.len() == self.grey.len() {
            self.grey.copy_from_slice(grey);
            self.version += 1;
        }
    }

    /// Paints (or erases) a round brush of `radius` pixels centred on `p` (canvas pixels).
    pub fn paint(&mut self, p: Pos2, radius: f32, erase: bool) {
        let r = radius.max(0.5);
        let (x0, x1) = ((p.x - r).floor() as i32, (p.x + r).ceil() as i32);
        let (y0, y1) = ((p.y - r).floor() as i32, (p.y + r).ceil() as i32);
        for y in y0.max(0)..=y1.min(SIDE as i32 - 1) {
            for x in x0.max(0)..=x1.min(SIDE as i32 - 1) {
                let d = Vec2::new(x as f32 + 0.5 - p.x, y as f32 + 0.5 - p.y).length();
                if d >= r {
                    continue;
                }
                let cell = &mut self.grey[y as usize * SIDE + x as usize];
                let v = (255.0 * (1.0 - (d / r).powi(2)).sqrt()) as u8;
                *cell = if erase {
                    cell.saturating_sub(v)
                } else {
                    (*cell).max(v)
                };
            }
        }
        self.version += 1;
    }

    /// Paints a stroke from `a` to `b` (canvas pixels).
    pub fn stroke(&mut self, a: Pos2, b: Pos2, radius: f32, erase: bool) {
        let steps = ((b - a).length() * 3.0).ceil().max(1.0) as usize;
        for i in 0..=steps {
            self.paint(a + (b - a) * (i as f32 / steps as f32), radius, erase);
        }
    }

    /// The canvas as bits: a pixel is 1 when its grey level is above `threshold`.
    pub fn bits(&self, threshold: f64) -> Vec<bool> {
        self.grey
            .iter()
            .map(|&g| f64::from(g) > threshold)
            .collect()
    }

    /// Recomputes the prediction if the canvas or the model changed. `model` is the model
    /// and its version (the third value, what the app thinks it reads, is not used: the
    /// model's [`Chain::input`] decides between the bits by `threshold` and the grey levels
    /// themselves).
    pub fn predict(&mut self, model: Option<(&Chain, u64, Input)>, threshold: f64) {
        let Some((chain, model_version, _)) = model else {
            self.scores.clear();
            self.prediction = None;
            self.predicted_for = None;
            return;
        };
        let key = (self.version, model_version);
        if self.predicted_for == Some(key) {
            return;
        }
        self.predicted_for = Some(key);
        if chain.inputs() != SIDE * SIDE {
            self.scores.clear();
            self.prediction = None;
            return;
        }
        let bits = BitMatrix::from_bools(SIDE * SIDE, &[self.bits(threshold)]).expect("784 bits");
        self.scores = chain
            .scores_image(bits.row(0), Some(&self.grey))
            .unwrap_or_default();
        self.prediction = (!self.scores.is_empty()).then(|| argmax(&self.scores));
    }
}

/// Draws the Draw panel. `model` is the current model, its version and input, `threshold` the
/// binarisation threshold of the data, `classes` the class names.
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut DrawSettings,
    state: &mut DrawState,
    model: Option<(&Chain, u64, Input)>,
    threshold: f64,
    classes: &[String],
) -> Vec<Command> {
    let mut commands = Vec::new();
    let DrawSettings { brush, show_bits } = settings;
    ui.horizontal(|ui| {
        if ui.button("Clear canvas").clicked() {
            state.clear();
        }
        if ui
            .button("Random test digit")
            .on_hover_text("Copy a random digit of the task's test split onto the canvas")
            .clicked()
        {
            commands.push(Command::RandomTestDigit);
        }
        ui.add(egui::Slider::new(brush, 0.8..=3.0).text("brush radius"));
        ui.checkbox(show_bits, "Show bits");
    });
    ui.label("Draw with the left mouse button, erase with the right one.");

    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            canvas(ui, state, *brush);
            ui.weak("canvas (28x28)");
        });
        if *show_bits {
            ui.vertical(|ui| {
                bits_view(ui, state, threshold);
                ui.weak(format!("bits the model sees (> {threshold:.0})"));
            });
        }
        ui.vertical(|ui| {
            state.predict(model, threshold);
            match state.prediction {
                Some(p) => {
                    let name = classes.get(p).cloned().unwrap_or_else(|| p.to_string());
                    ui.heading(format!("Prediction: {name}"));
                    let (lo, hi) = state
                        .scores
                        .iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &s| {
                            (a.min(s), b.max(s))
                        });
                    let span = (hi - lo).max(1e-6);
                    egui::Grid::new("scores").num_columns(2).show(ui, |ui| {
                        for (k, s) in state.scores.iter().enumerate() {
                            let name = classes.get(k).cloned().unwrap_or_else(|| k.to_string());
                            if k == p {
                                ui.strong(name);
                            } else {
                                ui.label(name);
                            }
                            ui.add(
                                egui::ProgressBar::new((s - lo) / span)
                                    .desired_width(200.0)
                                    .text(format!("{s:.4}")),
                            );
                            ui.end_row();
                        }
                    });
                }
                None if model.is_none() => {
                    ui.label("No model: build or open one first.");
                }
                None => {
                    ui.label("This model does not take 28x28 images.");
                }
            }
        });
    });
    commands
}

/// The binarised canvas, 5 points per pixel.
fn bits_view(ui: &mut egui::Ui, state: &DrawState, threshold: f64) {
    let cell = 5.0;
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(cell * SIDE as f32), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    for (i, b) in state.bits(threshold).into_iter().enumerate() {
        if b {
            let min = rect.min + Vec2::new((i % SIDE) as f32, (i / SIDE) as f32) * cell;
            painter.rect_filled(
                Rect::from_min_size(min, Vec2::splat(cell)),
                0.0,
                Color32::WHITE,
            );
        }
    }
}

/// The drawing canvas: 28x28 cells of 12 points.
fn canvas(ui: &mut egui::Ui, state: &mut DrawState, brush: f32) {
    let cell = 12.0;
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(cell * SIDE as f32), Sense::drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Drawing canvas"));
    let to_canvas = |p: Pos2| ((p - rect.min) / cell).to_pos2();
    let (primary, secondary) = ui.input(|i| (i.pointer.primary_down(), i.pointer.secondary_down()));
    match response.interact_pointer_pos() {
        Some(pos) if response.dragged() || response.drag_started() || primary || secondary => {
            let p = to_canvas(pos);
            let erase = secondary && !primary;
            match state.last {
                Some(last) => state.stroke(last, p, brush, erase),
                None => state.paint(p, brush, erase),
            }
            state.last = Some(p);
        }
        _ => state.last = None,
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    for (i, &g) in state.grey.iter().enumerate() {
        if g > 0 {
            let min = rect.min + Vec2::new((i % SIDE) as f32, (i / SIDE) as f32) * cell;
            painter.rect_filled(
                Rect::from_min_size(min, Vec2::splat(cell)),
                0.0,
                Color32::from_gray(g),
            );
        }
    }
    painter.rect_stroke(
        rect,
        0.0,
        Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color),
        StrokeKind::Outside,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painting_marks_pixels_and_erasing_clears_them() {
        let mut s = DrawState::default();
        s.stroke(Pos2::new(14.0, 4.0), Pos2::new(14.0, 24.0), 1.6, false);
        assert!(s.grey[10 * SIDE + 13] > 200);
        assert_eq!(s.grey[0], 0);
        s.paint(Pos2::new(14.0, 10.5), 3.0, true);
        assert!(s.grey[10 * SIDE + 13] < 100);
        s.clear();
        assert!(s.grey.iter().all(|&g| g == 0));
    }
}
