//! The Training panel: the options on the left, Start / Pause / Resume / Stop with the live
//! figures, and the plots.

use bitsmnist_core::run::Detail;
use eframe::egui;

use super::settings::{Method, TrainingSettings};
use super::{TrainingState, options, plots};
use crate::command::Command;

/// Draws the Training panel. `can_start`: a model and data exist; `hidden`: the Model panel's
/// hidden widths (the gradient method's network); `gradient_trained`: the model is
/// gradient-trained (what fine-tuning it keeps); `record`: whether runs are recorded in the
/// runs folder (the Runs tab's setting, also here beside the label they are recorded under).
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut TrainingSettings,
    state: &mut TrainingState,
    can_start: bool,
    hidden: &Result<Vec<usize>, String>,
    gradient_trained: bool,
    record: &mut bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let progress = state.run.as_ref().and_then(|_| state.progress(settings));
    let method = settings.method;
    let continues = state.continues(method);
    // Start fine-tunes a trained model when there is no run of this method to continue.
    let fine_tune = state.fine_tune && !continues && method != Method::Gradient;
    options::side_panel(
        ui,
        settings,
        state.is_running(),
        hidden,
        fine_tune.then_some(gradient_trained),
    );
    let TrainingState {
        run,
        history,
        last_outcome,
        params_error,
        run_label,
        ..
    } = state;
    *params_error = match method {
        Method::Genetic => settings.params().check().err().map(|e| e.to_string()),
        Method::Gradient => settings.gradient.check(hidden).err(),
        Method::Climb => settings.climb.check().err(),
    };
    // The plots of the history shown: the run's own method's, else the chosen one's.
    let plotted = match history.last().map(|r| &r.detail) {
        Some(Detail::Gradient { .. }) => Method::Gradient,
        Some(Detail::Climb { .. }) => Method::Climb,
        Some(_) => Method::Genetic,
        None => method,
    };

    // Ctrl+Enter does what the first button does (Start, Pause or Resume): its tooltip says so.
    let key = ui
        .ctx()
        .format_shortcut(&crate::command::shortcuts::START_PAUSE);
    ui.horizontal(|ui| {
        match run {
            None => {
                let (label, tip) = match method {
                    _ if continues => ("Continue", "Continue the run that gave this model where it stopped, with its own options, on a worker thread"),
                    Method::Genetic if fine_tune => ("Start", "Fine-tune the current model: the population starts from its weights, on a worker thread"),
                    Method::Genetic => ("Start", "Evolve a new network of the Model panel's architecture on a worker thread"),
                    Method::Gradient => ("Start", "Train a new network by gradient descent on a worker thread; its bit model replaces the current model"),
                    Method::Climb => ("Start", "Climb a new network of the Model panel's architecture (or fine-tune a trained model) on a worker thread"),
                };
                if ui
                    .add_enabled(can_start && params_error.is_none(), egui::Button::new(label))
                    .on_hover_text(format!("{tip} ({key})"))
                    .clicked()
                {
                    commands.push(Command::StartTraining);
                }
            }
            Some(r) => {
                if r.paused {
                    if ui.button("Resume").on_hover_text(format!("Go on training ({key})")).clicked() {
                        commands.push(Command::ResumeTraining);
                    }
                } else if ui
                    .button("Pause")
                    .on_hover_text(format!("Pause after this generation or mini-batch; Resume goes on exactly where it stopped ({key})"))
                    .clicked()
                {
                    commands.push(Command::PauseTraining);
                }
                let tip = match r.method {
                    Method::Genetic => "Stop after this generation and keep the best model",
                    Method::Gradient => "Stop after this mini-batch and keep the model trained so far",
                    Method::Climb => "Stop after this generation and keep the more accurate of the current and the best re-scored model",
                };
                if ui.button("Stop").on_hover_text(tip).clicked() {
                    commands.push(Command::StopTraining);
                }
            }
        }
        let running = run.as_ref().is_some_and(|r| !r.paused);
        match plotted {
            Method::Gradient => plots::epoch_figures(ui, history, running),
            _ => plots::generation_figures(ui, history, plotted, running),
        }
    });
    ui.horizontal(|ui| {
        ui.add_enabled_ui(run.is_none(), |ui| {
            ui.checkbox(record, "Record runs")
                .on_hover_text("Record the run in the runs folder as it goes (see the Runs tab)");
            let label = ui.label("Run label");
            ui.add_enabled(
                *record,
                egui::TextEdit::singleline(run_label)
                    .hint_text("optional")
                    .desired_width(240.0),
            )
            .labelled_by(label.id)
            .on_hover_text("The name the next run is recorded under, on the Runs tab");
        });
    });
    if let Some(p) = progress {
        ui.add(egui::ProgressBar::new(p.fraction as f32).text(format!(
            "{:.0}% toward the stop rule: {}",
            100.0 * p.fraction,
            p.text
        )));
    }
    if let Some(e) = params_error {
        let what = match method {
            Method::Genetic => "Trainer options",
            Method::Gradient => "Gradient options",
            Method::Climb => "Climbing options",
        };
        ui.colored_label(ui.visuals().error_fg_color, format!("{what}: {e}"));
    }
    if let Some(o) = last_outcome {
        ui.label(o.as_str());
    }
    match plotted {
        Method::Gradient => plots::epochs(ui, history),
        _ => plots::generations(
            ui,
            history,
            plotted,
            &mut settings.x_axis,
            &mut settings.recent,
        ),
    }
    commands
}
