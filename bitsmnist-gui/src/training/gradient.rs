//! The gradient method of the Training panel: options of [`bitsmnist_core::gradient`] (defaults
//! those of `bitsmnist train --method gradient`).
//!
//! The run is the core's session like every method's ([`super::plan`]): a fresh network from
//! the seed on the task's whole training split, or a saved gradient run continued. After each
//! epoch the worker sends the epoch's record with the exported bit model, which becomes the
//! app's model at once (Draw follows the run). Pause and Stop take effect after the current
//! mini-batch; a paused run resumes mid-epoch exactly as if it had not stopped, and a stopped
//! one keeps what it learnt.

use bitsmnist_core::gradient::{GradientParams, Schedule};
use bitsmnist_core::layers::Input;
use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::widgets::{drag, enum_combo, row};

/// Learning-rate schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleKind {
    /// The base rate throughout.
    Constant,
    /// Cosine decay to a fraction of the base rate.
    #[default]
    Cosine,
    /// The rate times a factor every so many epochs.
    Step,
}

/// The persisted options of gradient training (hidden widths come from the Model panel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradientSettings {
    /// Epochs of the whole run.
    pub epochs: u32,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Base learning rate of Adam.
    pub learning_rate: f32,
    /// Learning-rate schedule.
    pub schedule: ScheduleKind,
    /// Final rate as a fraction of the base rate (cosine).
    pub floor: f32,
    /// Epochs between decays (step).
    pub step_every: u32,
    /// Multiplier at each decay (step).
    pub step_factor: f32,
    /// Largest random shift in pixels for augmentation (0: none).
    pub shift: u8,
    /// Largest random rotation in degrees for augmentation (0: none).
    pub rotate: f32,
    /// Largest random change of size for augmentation, as a fraction (0: none).
    pub zoom: f32,
    /// What the first layer sees.
    pub input: Input,
    /// Seed of the initial weights, the example order and the augmentation.
    pub seed: u64,
    /// Measure the exported model's test accuracy after every epoch.
    pub test_every_epoch: bool,
    /// Convolutions and pools before the hidden layers, as the command line's `--arch`
    /// writes them (`conv16x3,pool2,conv32x3,pool2`); empty: a dense network.
    pub features: String,
}

impl Default for GradientSettings {
    /// The library's (and the command line's) defaults; test accuracy every epoch, which the
    /// command line leaves off, because the plot is the point of watching a run here.
    fn default() -> Self {
        let p = GradientParams::default();
        let (floor, step_every, step_factor) = match p.schedule {
            Schedule::Cosine { floor } => (floor, 10, 0.5),
            Schedule::Step { every, factor } => (0.01, every, factor),
            _ => (0.01, 10, 0.5),
        };
        Self {
            epochs: p.epochs,
            batch_size: p.batch_size,
            learning_rate: p.learning_rate,
            schedule: ScheduleKind::Cosine,
            floor,
            step_every,
            step_factor,
            shift: p.max_shift,
            rotate: p.rotate,
            zoom: p.zoom,
            input: p.input,
            seed: bitsmnist_core::session::DEFAULT_SEED,
            test_every_epoch: true,
            features: String::new(),
        }
    }
}

impl GradientSettings {
    /// The convolutions and pools of [`GradientSettings::features`], or why they do not parse.
    pub fn feature_layers(&self) -> Result<Vec<bitsmnist_core::layers::Feature>, String> {
        let text = self.features.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        match bitsmnist_core::layers::parse_architecture(text) {
            Ok((f, h)) if h.is_empty() => Ok(f),
            Ok(_) => Err("convolutions: dense widths go in the Model panel's hidden layers".into()),
            Err(e) => Err(format!("convolutions: {e}")),
        }
    }

    /// The trainer's hyper-parameters for these hidden widths (convolutions that do not parse
    /// are left out; [`GradientSettings::check`] reports them).
    pub fn params(&self, hidden: Vec<usize>) -> GradientParams {
        GradientParams::default()
            .hidden(hidden)
            .features(self.feature_layers().unwrap_or_default())
            .epochs(self.epochs)
            .batch_size(self.batch_size)
            .learning_rate(self.learning_rate)
            .schedule(match self.schedule {
                ScheduleKind::Constant => Schedule::Constant,
                ScheduleKind::Cosine => Schedule::Cosine { floor: self.floor },
                ScheduleKind::Step => Schedule::Step {
                    every: self.step_every,
                    factor: self.step_factor,
                },
            })
            .max_shift(self.shift)
            .rotate(self.rotate)
            .zoom(self.zoom)
            .input(self.input)
            .seed(self.seed)
    }

    /// Why a run cannot start with these settings and the Model panel's `hidden` widths.
    pub fn check(&self, hidden: &Result<Vec<usize>, String>) -> Result<GradientParams, String> {
        let hidden = hidden.clone().map_err(|e| format!("hidden layers: {e}"))?;
        self.feature_layers()?;
        let params = self.params(hidden);
        params
            .check()
            .map_err(|e| bitsmnist_core::gradient::GradientError::from(e).to_string())?;
        Ok(params)
    }
}

/// The option widgets; true when "Recommended options" was clicked. `hidden` is the Model
/// panel's hidden widths (or why they do not parse).
pub(crate) fn options_ui(
    ui: &mut egui::Ui,
    s: &mut GradientSettings,
    hidden: &Result<Vec<usize>, String>,
) -> bool {
    let GradientSettings {
        epochs,
        batch_size,
        learning_rate,
        schedule,
        floor,
        step_every,
        step_factor,
        shift,
        rotate,
        zoom,
        input,
        seed,
        test_every_epoch,
        features,
    } = s;
    ui.heading("Gradient training");
    ui.label(match hidden {
        Ok(h) if !h.is_empty() => format!(
            "Hidden layers {} (Model panel); the export replaces the current model.",
            h.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "Set the hidden layers in the Model panel (at least one).".into(),
    });
    ui.weak("Trains on the task's whole training split (the Data panel's sample fraction is the genetic fitness's); the stop rules below may end it before its epochs.");
    egui::Grid::new("gradient-grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        ui.label("Convolutions")
            .on_hover_text("Bit convolutions and max-pools before the hidden layers, e.g. conv16x3,pool2,conv32x3,pool2 (conv<filters>x<window>, pool<size>); empty for a dense network");
        ui.add(egui::TextEdit::singleline(features).hint_text("none (dense)").desired_width(220.0));
        ui.end_row();
        drag(ui, "Epochs", epochs, 1..=10_000, "Passes over the training split; the learning-rate schedule spans them all");
        drag(ui, "Batch size", batch_size, 2..=100_000, "Examples per mini-batch (batch normalisation needs at least 2; the last partial batch of an epoch is skipped)");
        row(ui, "Learning rate", egui::DragValue::new(learning_rate).range(1e-6..=1.0).speed(0.0001).max_decimals(6),
            "Base learning rate of Adam on the latent weights");
        enum_combo(ui, "Schedule", schedule, &[
            (ScheduleKind::Cosine, "cosine", "Cosine decay from the base rate to a fraction of it at the last step"),
            (ScheduleKind::Constant, "constant", "The base rate throughout"),
            (ScheduleKind::Step, "step", "The rate times a factor every so many epochs"),
        ])
        .on_hover_text("How the learning rate changes over the run");
        ui.end_row();
        match schedule {
            ScheduleKind::Constant => {}
            ScheduleKind::Cosine => {
                row(ui, "Final fraction", egui::DragValue::new(floor).range(0.0..=1.0).speed(0.001).max_decimals(4),
                    "The rate at the last step, as a fraction of the base rate");
            }
            ScheduleKind::Step => {
                drag(ui, "Decay every", step_every, 1..=10_000, "Epochs between decays");
                row(ui, "Decay factor", egui::DragValue::new(step_factor).range(0.001..=10.0).speed(0.01).max_decimals(3),
                    "The rate is multiplied by this at each decay");
            }
        }
        drag(ui, "Shift", shift, 0..=4, "Augmentation: each training image moves by up to this many pixels each way, anew every epoch (0: none)");
        row(ui, "Rotate (degrees)", egui::DragValue::new(rotate).range(0.0..=bitsmnist_core::gradient::MAX_ROTATE).speed(0.5).max_decimals(1),
            "Augmentation: each training image turns by up to this many degrees either way, anew every epoch; with a rotation or a zoom, shifts are by fractions of a pixel too (0: none; 12 in the measured vote)");
        row(ui, "Zoom", egui::DragValue::new(zoom).range(0.0..=bitsmnist_core::gradient::MAX_ZOOM).speed(0.01).max_decimals(2),
            "Augmentation: each training image is scaled by up to this fraction larger or smaller, anew every epoch (0: none; 0.1 in the measured vote)");
        enum_combo(ui, "Input", input, &[
            (Input::Bits, "bits", "The binarised pixels: every layer is a bit layer (XOR + popcount)"),
            (Input::Grey, "grey", "Grey levels / 255: the first layer is a float layer with ±1 weights and needs grey levels to run; the others stay bit layers"),
        ])
        .on_hover_text("What the first layer sees");
        ui.end_row();
        drag(ui, "Gradient seed", seed, 0..=u32::MAX as u64, "Seed of the initial weights, the example order and the shifts: same seed, same run");
        ui.label("");
        ui.checkbox(test_every_epoch, "Test every epoch")
            .on_hover_text("Measure the exported model's test accuracy after each epoch (for the plot)");
        ui.end_row();
    });
    ui.button("Recommended options")
        .on_hover_text("The command line's defaults (bitsmnist train --method gradient)")
        .clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convolutions_parse_into_the_parameters() {
        let mut s = GradientSettings {
            features: "conv16x3, pool2".into(),
            ..Default::default()
        };
        let p = s.check(&Ok(vec![256])).unwrap();
        assert_eq!(
            bitsmnist_core::layers::architecture_string(&p.features, &p.hidden),
            "conv16x3,pool2,256"
        );
        s.features = "conv16x3,256".into();
        assert!(s.check(&Ok(vec![256])).unwrap_err().contains("Model panel"));
        s.features = "pool2".into();
        assert!(s.check(&Ok(vec![256])).unwrap_err().contains("pool"));
        s.features = "convolution".into();
        assert!(
            s.check(&Ok(vec![256]))
                .unwrap_err()
                .contains("convolutions")
        );
    }

    #[test]
    fn rotations_and_zooms_reach_the_parameters() {
        let mut s = GradientSettings {
            rotate: 12.0,
            zoom: 0.1,
            ..Default::default()
        };
        let p = s.check(&Ok(vec![64])).unwrap();
        assert_eq!((p.rotate, p.zoom), (12.0, 0.1));
        assert!(p.warps());
        s.rotate = 90.0;
        assert!(s.check(&Ok(vec![64])).unwrap_err().contains("rotate"));
    }

    #[test]
    fn defaults_are_the_command_line_s() {
        let s = GradientSettings::default();
        let p = s.params(vec![2048]);
        assert_eq!(p, GradientParams::default().hidden(vec![2048]).seed(1));
        assert!(s.check(&Ok(vec![64])).is_ok());
        assert!(s.check(&Ok(vec![])).unwrap_err().contains("hidden"));
        assert!(s.check(&Err("bad".into())).unwrap_err().contains("bad"));
        let step = GradientSettings {
            schedule: ScheduleKind::Step,
            step_every: 0,
            ..s
        };
        assert!(step.check(&Ok(vec![8])).unwrap_err().contains("schedule"));
    }
}
