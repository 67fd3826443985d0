//! The stop-rule widgets, shared by every method (a gradient run also ends after its epochs).

use eframe::egui;

use super::settings::TrainingSettings;
use crate::widgets::{drag, toggled_row};

/// The stop rules: time limit, generations, target fitness, patience, and how often the test
/// accuracy is measured.
pub(super) fn stop_rules_ui(ui: &mut egui::Ui, s: &mut TrainingSettings) {
    let TrainingSettings {
        method: _,
        gradient: _,
        climb: _,
        population: _,
        elitism: _,
        selection: _,
        tournament: _,
        crossover: _,
        divisor: _,
        mutation: _,
        rate: _,
        k: _,
        adaptation: _,
        factor: _,
        min_scale: _,
        max_scale: _,
        shrink_patience: _,
        shrink: _,
        evals: _,
        use_batch: _,
        batch: _,
        metric: _,
        seed: _,
        generations,
        use_generations,
        seconds,
        use_time,
        target,
        use_target,
        patience,
        use_patience,
        validate_every,
        x_axis: _,
        recent: _,
    } = s;
    ui.heading("Stop rules");
    egui::Grid::new("stop-grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            toggled_row(
                ui,
                use_time,
                "Time limit",
                egui::DragValue::new(seconds)
                    .range(super::settings::TIME_LIMIT_SECS)
                    .suffix(" s"),
                "Seconds of training (pauses excluded)",
            );
            toggled_row(
                ui,
                use_generations,
                "Generations",
                egui::DragValue::new(generations).range(1..=10_000_000),
                "Generations (or epochs) to run from the start of this run",
            );
            toggled_row(
                ui,
                use_target,
                "Target fitness",
                egui::DragValue::new(target).speed(0.001),
                "Stop once the best fitness reaches this",
            );
            toggled_row(
                ui,
                use_patience,
                "Patience",
                egui::DragValue::new(patience)
                    .range(1..=10_000_000)
                    .suffix(" gen"),
                "Stop after this many generations (or epochs) without a new best fitness",
            );
            drag(
                ui,
                "Test every",
                validate_every,
                0..=100_000,
                "Measure the model's test accuracy every so many generations (0: never; a gradient run follows its own \"Test every epoch\")",
            );
        });
}
