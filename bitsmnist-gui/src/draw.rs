//! The Draw panel: a 28x28 canvas drawn with the mouse (left button draws, right button
//! erases), binarised like the data, and the model's prediction and scores, updated live.

use bitsmnist_core::bits::BitMatrix;
use bitsmnist_core::datasets::Binarization;
use bitsmnist_core::export::GreyRule;
use bitsmnist_core::layers::{BitOutput, Chain, Input, Layer, argmax};
use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2};
use serde::{Deserialize, Serialize};

use crate::command::Command;

/// Canvas width and height in pixels.
pub const SIDE: usize = 28;

/// How the score bars are scaled: fixed for the model, never stretched between the scores
/// shown (a score of 0.81 of a model whose scores reach 1 fills four fifths of its bar).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScoreScale {
    /// The output's known range: bits (0 to 1), or the fixed float rule
    /// `activation(1 - (d + b) / n)`, whose argument runs from `-1/n` to 1.
    Range {
        /// The lowest score the output can give (an empty bar).
        lo: f32,
        /// The highest (a full bar).
        hi: f32,
    },
    /// Outputs with no fixed range, the scales and offsets of a gradient-trained layer or a
    /// float layer: they are the logits of the softmax the model was trained with, so the
    /// bars show its probabilities, 0 to 100%.
    Softmax,
}

impl ScoreScale {
    /// The scale of `model`'s output, read off its last layer.
    pub fn of(model: &Chain) -> Self {
        match model.layers().last() {
            Some(Layer::Bit(layer)) => match (layer.output(), layer.affine()) {
                (BitOutput::Bits, _) => ScoreScale::Range { lo: 0.0, hi: 1.0 },
                (BitOutput::Float(activation), None) => {
                    // The activations are non-decreasing: the range's ends map to its ends.
                    let n = layer.inputs().max(1) as f32;
                    ScoreScale::Range {
                        lo: activation.apply(-1.0 / n),
                        hi: activation.apply(1.0),
                    }
                }
                (BitOutput::Float(_), Some(_)) => ScoreScale::Softmax,
            },
            // A vote adds its networks' scores: the sum of their ranges, or logits when any
            // network's are.
            Some(Layer::Vote(vote)) => {
                let (mut lo, mut hi) = (0.0, 0.0);
                for member in vote.members() {
                    match Self::of(member) {
                        ScoreScale::Range { lo: a, hi: b } => (lo, hi) = (lo + a, hi + b),
                        ScoreScale::Softmax => return ScoreScale::Softmax,
                    }
                }
                ScoreScale::Range { lo, hi }
            }
            _ => ScoreScale::Softmax,
        }
    }

    /// How full each score's bar is, 0 to 1.
    pub fn fractions(&self, scores: &[f32]) -> Vec<f32> {
        match *self {
            ScoreScale::Range { lo, hi } => {
                let span = (hi - lo).max(f32::EPSILON);
                scores
                    .iter()
                    .map(|s| ((s - lo) / span).clamp(0.0, 1.0))
                    .collect()
            }
            ScoreScale::Softmax => {
                // Shifted by the largest score: the same probabilities, no overflow.
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f32 = e.iter().sum();
                e.iter().map(|v| v / sum).collect()
            }
        }
    }

    /// What the bars show, above them.
    pub fn describe(&self) -> String {
        match *self {
            ScoreScale::Range { lo, hi } => {
                format!("Scores on the output's full range, {lo:.3} (empty) to {hi:.3} (full)")
            }
            ScoreScale::Softmax => "Softmax probability of the scores, 0 to 100%".into(),
        }
    }

    /// The text on a bar: the score, and the probability for [`ScoreScale::Softmax`].
    pub fn bar_text(&self, score: f32, fraction: f32) -> String {
        match self {
            ScoreScale::Range { .. } => format!("{score:.4}"),
            ScoreScale::Softmax => format!("{:.1}%  (score {score:.3})", 100.0 * fraction),
        }
    }
}

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
    /// How the model's score bars are scaled.
    pub scale: Option<ScoreScale>,
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
            scale: None,
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
            self.scale = None;
            return;
        };
        let key = (self.version, model_version);
        if self.predicted_for == Some(key) {
            return;
        }
        self.predicted_for = Some(key);
        self.scale = Some(ScoreScale::of(chain));
        // A model of k bits a pixel was trained on a thermometer code, whose fixed thresholds
        // the canvas gets too (its width says which: the canvas is one image).
        let k = chain.inputs() / (SIDE * SIDE);
        let bits = if chain.inputs() == SIDE * SIDE {
            self.bits(threshold)
        } else if chain.inputs() % (SIDE * SIDE) == 0
            && (Binarization::MIN_LEVELS..=Binarization::MAX_LEVELS)
                .contains(&u8::try_from(k).unwrap_or(0))
        {
            GreyRule::thermometer(k as u8).bits(&self.grey)
        } else {
            self.scores.clear();
            self.prediction = None;
            return;
        };
        let bits = BitMatrix::from_bools(chain.inputs(), &[bits]).expect("the model's width");
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

    // The canvas takes the height left (a caption's line below it) and at most two fifths of
    // the width; the bits beside it are half its size.
    let caption = ui.text_style_height(&egui::TextStyle::Body) + 2.0 * ui.spacing().item_spacing.y;
    let side = (ui.available_height() - caption).min(0.4 * ui.available_width());
    let cell = (side / SIDE as f32).floor().clamp(8.0, 24.0);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            canvas(ui, state, *brush, cell);
            ui.weak("canvas (28x28)");
        });
        if *show_bits {
            ui.vertical(|ui| {
                bits_view(ui, state, threshold, (cell / 2.0).floor());
                ui.weak(format!("bits the model sees (> {threshold:.0})"));
            });
        }
        ui.vertical(|ui| {
            state.predict(model, threshold);
            match state.prediction {
                Some(p) => {
                    let name = classes.get(p).cloned().unwrap_or_else(|| p.to_string());
                    ui.heading(format!("Prediction: {name}"));
                    let scale = state.scale.unwrap_or(ScoreScale::Softmax);
                    ui.label(scale.describe());
                    let fractions = scale.fractions(&state.scores);
                    let width = (ui.available_width() - 40.0).clamp(200.0, 560.0);
                    // Taller bars for fewer classes, so that two classes fill the column too.
                    let height = (ui.available_height() / (state.scores.len() as f32 + 2.0))
                        .clamp(ui.spacing().interact_size.y, 48.0);
                    egui::Grid::new("scores")
                        .num_columns(2)
                        .spacing([8.0, 6.0])
                        .show(ui, |ui| {
                            for (k, (s, f)) in state.scores.iter().zip(&fractions).enumerate() {
                                let name = classes.get(k).cloned().unwrap_or_else(|| k.to_string());
                                if k == p {
                                    ui.strong(name);
                                } else {
                                    ui.label(name);
                                }
                                let bar = egui::ProgressBar::new(*f)
                                    .desired_width(width)
                                    .desired_height(height)
                                    .text(scale.bar_text(*s, *f));
                                ui.add(bar);
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

/// The binarised canvas, `cell` points per pixel.
fn bits_view(ui: &mut egui::Ui, state: &DrawState, threshold: f64, cell: f32) {
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

/// The drawing canvas: 28x28 cells of `cell` points.
fn canvas(ui: &mut egui::Ui, state: &mut DrawState, brush: f32, cell: f32) {
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
    fn a_votes_bars_span_its_networks_ranges_added() {
        use bitsmnist_core::layers::{Activation, Vote};
        let out = BitOutput::Float(Activation::Identity);
        let a = Chain::mlp(784, &[16], 10, out, 1).unwrap();
        let b = Chain::mlp(784, &[32], 10, out, 2).unwrap();
        let vote = |members| Chain::new(vec![Layer::Vote(Vote::new(members).unwrap())]).unwrap();
        let (ScoreScale::Range { lo: la, hi: ha }, ScoreScale::Range { lo: lb, hi: hb }) =
            (ScoreScale::of(&a), ScoreScale::of(&b))
        else {
            panic!("popcount scores have a range");
        };
        assert_eq!(
            ScoreScale::of(&vote(vec![a.clone(), b])),
            ScoreScale::Range {
                lo: la + lb,
                hi: ha + hb
            }
        );
        // A network with scaled outputs gives logits, and so does the vote.
        let mut layers = a.layers().to_vec();
        let Some(Layer::Bit(last)) = layers.pop() else {
            panic!("a dense output layer");
        };
        layers.push(
            last.with_affine(vec![1.0; 10], vec![0.0; 10])
                .unwrap()
                .into(),
        );
        let scaled = Chain::new(layers).unwrap();
        assert_eq!(ScoreScale::of(&scaled), ScoreScale::Softmax);
        assert_eq!(ScoreScale::of(&vote(vec![a, scaled])), ScoreScale::Softmax);
    }

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

    /// A model of a thermometer code (4 bits a pixel) reads the canvas by the code's fixed
    /// thresholds, as the library reads a digit; a width no code gives has no prediction.
    #[test]
    fn a_thermometer_model_classifies_the_canvas_by_its_code() {
        use bitsmnist_core::layers::Activation;
        let mut s = DrawState::default();
        s.stroke(Pos2::new(14.0, 4.0), Pos2::new(14.0, 24.0), 1.6, false);
        let out = BitOutput::Float(Activation::Identity);
        let model = Chain::mlp(4 * 784, &[16], 10, out, 3).unwrap();
        s.predict(Some((&model, 1, Input::Bits)), 127.0);
        let bits =
            BitMatrix::from_bools(4 * 784, &[GreyRule::thermometer(4).bits(&s.grey)]).unwrap();
        assert_eq!(s.scores, model.scores_image(bits.row(0), None).unwrap());
        assert!(s.prediction.is_some());
        let odd = Chain::mlp(3 * 784 + 1, &[16], 10, out, 3).unwrap();
        s.predict(Some((&odd, 2, Input::Bits)), 127.0);
        assert_eq!(s.prediction, None);
    }

    #[test]
    fn score_bars_have_a_fixed_scale_not_the_scores_min_to_max() {
        use bitsmnist_core::layers::Activation;
        let float = Chain::mlp(784, &[16], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
        let scale = ScoreScale::of(&float);
        assert_eq!(
            scale,
            ScoreScale::Range {
                lo: -1.0 / 16.0,
                hi: 1.0
            }
        );
        // Two close scores fill their bars alike; stretched min-to-max they would read 1 and 0.
        let f = scale.fractions(&[0.81, 0.80]);
        assert!(
            (f[0] - 0.8212).abs() < 1e-3 && (f[1] - 0.8118).abs() < 1e-3,
            "{f:?}"
        );
        // The same score fills the same part of its bar whatever the others are.
        assert_eq!(scale.fractions(&[0.81, 0.1])[0], f[0]);
        assert_eq!(scale.fractions(&[2.0, -3.0]), [1.0, 0.0]);

        let bits = Chain::mlp(784, &[16], 10, BitOutput::Bits, 1).unwrap();
        assert_eq!(
            ScoreScale::of(&bits),
            ScoreScale::Range { lo: 0.0, hi: 1.0 }
        );
        let sigmoid = Chain::mlp(784, &[16], 2, BitOutput::Float(Activation::Sigmoid), 1).unwrap();
        let ScoreScale::Range { lo, hi } = ScoreScale::of(&sigmoid) else {
            panic!("a sigmoid output has a range");
        };
        assert!((lo - 0.4844).abs() < 1e-3 && (hi - 0.7311).abs() < 1e-3);

        let p = ScoreScale::Softmax.fractions(&[3.0, 1.0, 1.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - 0.7870).abs() < 1e-3, "{p:?}");
        // No overflow on large logits.
        let big = ScoreScale::Softmax.fractions(&[1000.0, 999.0]);
        assert!(big.iter().all(|v| v.is_finite()));
        assert!(ScoreScale::Softmax.describe().contains("0 to 100%"));
    }
}
