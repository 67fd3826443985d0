//! The Training panel: the options on the left, Start / Pause / Resume / Stop with the live
//! figures, and the plots.

use eframe::egui;

use super::settings::{Method, TrainingSettings};
use super::{TrainingState, options, plots};
use crate::app::Command;

/// Draws the Training panel. `can_start`: a model and data exist; `hidden`: the Model panel's
/// hidden widths (the gradient method's network); `fine_tune`: the model is gradient-trained,
/// so the genetic method starts from its weights.
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut TrainingSettings,
    state: &mut TrainingState,
    can_start: bool,
    hidden: &Result<Vec<usize>, String>,
    fine_tune: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let progress = state.run.as_ref().and_then(|_| state.progress(settings));
    options::side_panel(ui, settings, state.is_running(), hidden, fine_tune);
    let TrainingState {
        run,
        set,
        history,
        gradient_history,
        climb: climb_state,
        last_outcome,
        params_error,
        clock: _,
    } = state;
    let method = settings.method;
    *params_error = match method {
        Method::Genetic => settings.params().check().err().map(|e| e.to_string()),
        Method::Gradient => settings.gradient.check(hidden).err(),
        Method::Climb => settings.climb.check().err(),
    };

    // Ctrl+Enter does what the first button does (Start, Pause or Resume): its tooltip says so.
    let key = ui
        .ctx()
        .format_shortcut(&crate::app::shortcuts::START_PAUSE);
    ui.horizontal(|ui| {
        match run {
            None => {
                let (label, tip) = match method {
                    Method::Genetic if set.is_some() => ("Continue", "Resume the saved training state on a worker thread"),
                    Method::Genetic => ("Start", "Train the current model on a worker thread"),
                    Method::Gradient => ("Start", "Train a new network by gradient descent on a worker thread; its bit model replaces the current model"),
                    Method::Climb if climb_state.is_some() => ("Continue", "Continue the climb that gave this model on a worker thread"),
                    Method::Climb => ("Start", "Climb from the current model on a worker thread"),
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
                if r.method != Method::Gradient {
                    if r.paused {
                        if ui.button("Resume").on_hover_text(format!("Go on training ({key})")).clicked() {
                            commands.push(Command::ResumeTraining);
                        }
                    } else if ui
                        .button("Pause")
                        .on_hover_text(format!("Pause after this generation ({key})"))
                        .clicked()
                    {
                        commands.push(Command::PauseTraining);
                    }
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
        match method {
            Method::Gradient => plots::epoch_figures(ui, gradient_history, run.is_some()),
            _ => plots::generation_figures(ui, history, method, running),
        }
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
    match method {
        Method::Gradient => plots::epochs(ui, gradient_history),
        _ => plots::generations(ui, history, method),
    }
    commands
}
