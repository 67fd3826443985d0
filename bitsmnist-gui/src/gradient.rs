//! The gradient method of the Training panel: options of [`bitsmnist_core::gradient`] (defaults
//! those of `bitsmnist train --method gradient`), the run on a worker thread, and plots of
//! the loss and accuracies per epoch.
//!
//! The run trains a fresh network from the seed on the task's whole training split; after
//! each epoch the worker sends the epoch's record with the exported bit model, which becomes
//! the app's model at once (Draw follows the run). Stop cancels through the shared
//! [`CancelToken`] after the current mini-batch; whatever was trained is exported and kept.
//! There is no Pause: a cancelled epoch restarts from its first batch when training resumes,
//! so pausing mid-epoch could not continue exactly.

use std::ops::ControlFlow;
use std::sync::Arc;

use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::gradient::{
    self, CancelToken, EpochRecord, GradientParams, History, Input, Schedule, StopReason,
    TrainOutcome, Trainer,
};
use bitsmnist_core::layers::Chain;
use eframe::egui;
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use crate::app::BitsApp;
use crate::training::{Method, Run, TrainReply};
use crate::worker::{Outbox, Reply, spawn_with};

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
    /// What the first layer sees.
    pub input: Input,
    /// Seed of the initial weights, the example order and the augmentation.
    pub seed: u64,
    /// Measure the exported model's test accuracy after every epoch.
    pub test_every_epoch: bool,
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
            input: p.input,
            seed: 1,
            test_every_epoch: true,
        }
    }
}

impl GradientSettings {
    /// The trainer's hyper-parameters for these hidden widths.
    pub fn params(&self, hidden: Vec<usize>) -> GradientParams {
        GradientParams::default()
            .hidden(hidden)
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
            .input(self.input)
            .seed(self.seed)
    }

    /// Why a run cannot start with these settings and the Model panel's `hidden` widths.
    pub fn check(&self, hidden: &Result<Vec<usize>, String>) -> Result<GradientParams, String> {
        let hidden = hidden.clone().map_err(|e| format!("hidden layers: {e}"))?;
        let params = self.params(hidden);
        params.check().map_err(|e| e.to_string())?;
        Ok(params)
    }
}

/// Starts a gradient run on the task's training split (called by the Training panel's Start).
pub(crate) fn start(app: &mut BitsApp) {
    let Some(data) = app.data.task_data.clone() else {
        app.error("load data before training");
        return;
    };
    let settings = app.settings.training.gradient.clone();
    let params = match settings.check(&app.settings.model.hidden_sizes()) {
        Ok(p) => p,
        Err(e) => {
            app.error(format!("gradient options: {e}"));
            return;
        }
    };
    let run = Run::new(Method::Gradient);
    let job = Job {
        params,
        data,
        test_every_epoch: settings.test_every_epoch,
        cancel: run.cancel.clone(),
        out: app.worker.outbox(),
    };
    app.training.run = Some(run);
    app.training.gradient_history = History::default();
    app.training.last_outcome = None;
    app.status = "gradient training…".into();
    let out = app.worker.outbox();
    spawn_with(
        "bitsmnist-gradient",
        move || job.run(),
        move |msg| out.send(Reply::Train(TrainReply::Crashed(msg))),
    );
}

/// A gradient run on the worker thread.
struct Job {
    params: GradientParams,
    data: Arc<Dataset>,
    test_every_epoch: bool,
    cancel: CancelToken,
    out: Outbox,
}

impl Job {
    fn run(self) {
        let input = self.params.input;
        let data = &self.data;
        // Built here, not on the UI thread: wide layers take a moment to initialise.
        let mut trainer = match Trainer::new(self.params, data.pixels(), data.classes()) {
            Ok(t) => t,
            Err(e) => {
                return self.out.send(Reply::Train(TrainReply::GradientFinished {
                    model: None,
                    history: History::default(),
                    input,
                    outcome: Err(e.to_string()),
                }));
            }
        };
        let opts = gradient::TrainOptions::new().cancel(self.cancel.clone());
        let test = self.test_every_epoch.then_some(&data.test);
        let out = &self.out;
        let outcome = trainer
            .train(&data.train, test, &opts, |p| {
                out.send(Reply::Train(TrainReply::Epoch {
                    record: p.record.clone(),
                    model: p.trainer.export(),
                    input,
                }));
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string());
        // A stopped run keeps what it learnt, mid-epoch steps included.
        let model = outcome.is_ok().then(|| trainer.export());
        self.out.send(Reply::Train(TrainReply::GradientFinished {
            model,
            history: trainer.history().clone(),
            input,
            outcome,
        }));
    }
}

/// Takes in an epoch's record and model.
pub(crate) fn on_epoch(app: &mut BitsApp, record: EpochRecord, model: Chain, input: Input) {
    app.status = format!("{record}");
    app.model.set(
        model,
        format!(
            "gradient training, epoch {}/{}",
            record.epoch, record.epochs
        ),
    );
    app.model.input = input;
    app.training.gradient_history.records.push(record);
}

/// Takes in the end of a run: the exported model becomes the app's model and is evaluated.
pub(crate) fn on_finished(
    app: &mut BitsApp,
    model: Option<Chain>,
    history: History,
    input: Input,
    outcome: Result<TrainOutcome, String>,
) {
    app.training.run = None;
    app.training.gradient_history = history;
    if let Some(m) = model {
        let epochs = app.training.gradient_history.len();
        app.model
            .set(m, format!("gradient training, {epochs} epochs"));
        app.model.input = input;
        // The genetic state and history describe the model this run replaced.
        app.training.set = None;
        app.training.history = Default::default();
    }
    match outcome {
        Ok(o) => {
            let why = match o.reason {
                StopReason::Finished => "finished",
                StopReason::Cancelled => "stopped by the user",
                StopReason::TimeLimit => "time limit",
                _ => "stopped",
            };
            let test = o
                .test_accuracy
                .map(|a| format!(", test accuracy {:.2}%", 100.0 * a))
                .unwrap_or_default();
            let msg = format!(
                "gradient training {why} after {} epochs in {:.1} s{test}",
                o.epoch,
                o.elapsed.as_secs_f64()
            );
            app.status = msg.clone();
            app.training.last_outcome = Some(msg);
            app.apply(crate::Command::Evaluate);
        }
        Err(e) => app.error(format!("gradient training failed: {e}")),
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
        input,
        seed,
        test_every_epoch,
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
    ui.weak("Trains on the task's whole training split; the Data panel's sample fraction is for the genetic fitness.");
    egui::Grid::new("gradient-grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        num(ui, "Epochs", epochs, 1..=10_000, "Passes over the training split; the learning-rate schedule spans them all");
        num(ui, "Batch size", batch_size, 2..=100_000, "Examples per mini-batch (batch normalisation needs at least 2; the last partial batch of an epoch is skipped)");
        let l = ui.label("Learning rate");
        ui.add(egui::DragValue::new(learning_rate).range(1e-6..=1.0).speed(0.0001).max_decimals(6))
            .labelled_by(l.id)
            .on_hover_text("Base learning rate of Adam on the latent weights");
        ui.end_row();
        let l = ui.label("Schedule");
        egui::ComboBox::from_id_salt("gradient-schedule")
            .selected_text(match schedule {
                ScheduleKind::Constant => "constant",
                ScheduleKind::Cosine => "cosine",
                ScheduleKind::Step => "step",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(schedule, ScheduleKind::Cosine, "cosine")
                    .on_hover_text("Cosine decay from the base rate to a fraction of it at the last step");
                ui.selectable_value(schedule, ScheduleKind::Constant, "constant")
                    .on_hover_text("The base rate throughout");
                ui.selectable_value(schedule, ScheduleKind::Step, "step")
                    .on_hover_text("The rate times a factor every so many epochs");
            })
            .response
            .labelled_by(l.id)
            .on_hover_text("How the learning rate changes over the run");
        ui.end_row();
        match schedule {
            ScheduleKind::Constant => {}
            ScheduleKind::Cosine => {
                let l = ui.label("Final fraction");
                ui.add(egui::DragValue::new(floor).range(0.0..=1.0).speed(0.001).max_decimals(4))
                    .labelled_by(l.id)
                    .on_hover_text("The rate at the last step, as a fraction of the base rate");
                ui.end_row();
            }
            ScheduleKind::Step => {
                num(ui, "Decay every", step_every, 1..=10_000, "Epochs between decays");
                let l = ui.label("Decay factor");
                ui.add(egui::DragValue::new(step_factor).range(0.001..=10.0).speed(0.01).max_decimals(3))
                    .labelled_by(l.id)
                    .on_hover_text("The rate is multiplied by this at each decay");
                ui.end_row();
            }
        }
        num(ui, "Shift", shift, 0..=4, "Augmentation: each training image moves by up to this many pixels each way, anew every epoch (0: none)");
        let l = ui.label("Input");
        egui::ComboBox::from_id_salt("gradient-input")
            .selected_text(input.to_string())
            .show_ui(ui, |ui| {
                ui.selectable_value(input, Input::Bits, "bits")
                    .on_hover_text("The binarised pixels: every layer is a bit layer (XOR + popcount)");
                ui.selectable_value(input, Input::Grey, "grey")
                    .on_hover_text("Grey levels / 255: the first layer is a float layer with ±1 weights and needs grey levels to run; the others stay bit layers");
            })
            .response
            .labelled_by(l.id)
            .on_hover_text("What the first layer sees");
        ui.end_row();
        num(ui, "Gradient seed", seed, 0..=u32::MAX as u64, "Seed of the initial weights, the example order and the shifts: same seed, same run");
        ui.label("");
        ui.checkbox(test_every_epoch, "Test every epoch")
            .on_hover_text("Measure the exported model's test accuracy after each epoch (for the plot)");
        ui.end_row();
    });
    ui.button("Recommended options")
        .on_hover_text("The command line's defaults (bitsmnist train --method gradient)")
        .clicked()
}

fn num<T: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    label: &str,
    v: &mut T,
    range: std::ops::RangeInclusive<T>,
    tip: &str,
) {
    let l = ui.label(label);
    ui.add(egui::DragValue::new(v).range(range))
        .labelled_by(l.id)
        .on_hover_text(tip);
    ui.end_row();
}

/// The live figures of the last epoch.
pub(crate) fn figures(ui: &mut egui::Ui, history: &History, running: bool) {
    let Some(r) = history.last() else {
        return;
    };
    ui.separator();
    ui.label(format!(
        "epoch {}/{}   loss {:.4}   train {:.2}%",
        r.epoch,
        r.epochs,
        r.loss,
        100.0 * r.train_accuracy
    ));
    if let Some(t) = r.test_accuracy {
        ui.label(format!("test {:.2}%", 100.0 * t));
    }
    if running {
        ui.strong(format!("{:.0} examples/s", r.examples_per_sec));
    }
    ui.label(format!("{:.1} s", r.elapsed_secs));
}

/// Loss, and train and test accuracy, per epoch.
pub(crate) fn plots(ui: &mut egui::Ui, history: &History) {
    let recs = &history.records;
    let points = |f: &dyn Fn(&EpochRecord) -> Option<f64>| -> PlotPoints {
        recs.iter()
            .filter_map(|r| f(r).map(|v| [f64::from(r.epoch), v]))
            .collect::<Vec<_>>()
            .into()
    };
    let height = ((ui.available_height() - 30.0) / 2.0).max(120.0);
    let link = ui.make_persistent_id("gradient-plots");
    ui.label("Loss per epoch");
    Plot::new("gradient-loss")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("epoch")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new("loss", points(&|r| Some(r.loss))));
        });
    ui.label("Accuracy per epoch (%)");
    Plot::new("gradient-accuracy")
        .height(height)
        // Accuracy climbs: the lower right corner stays clear of the lines.
        .legend(Legend::default().position(Corner::RightBottom))
        .x_axis_label("epoch")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new(
                "train (augmented mini-batches)",
                points(&|r| Some(100.0 * r.train_accuracy)),
            ));
            p.line(Line::new(
                "test (exported model)",
                points(&|r| r.test_accuracy.map(|a| 100.0 * a)),
            ));
        });
}

#[cfg(test)]
mod tests {
    use super::*;

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
