//! The option widgets of the Training panel: the method menu and the genetic trainer's
//! options (tooltips from the trainer's docs). Climbing's and the gradient method's are in
//! [`super::climb`] and [`super::gradient`]; the stop rules, which every method's run
//! follows, in [`super::stop_rules`].

use bitsmnist_core::fitness::Metric;
use eframe::egui;

use super::climb::{self, ClimbSettings};
use super::gradient::{self, GradientSettings};
use super::settings::{
    AdaptationKind, CrossoverKind, Method, MutationKind, SelectionKind, TrainingSettings,
};
use super::stop_rules::stop_rules_ui;
use crate::widgets::{drag, dragf, enum_combo, row, toggled_row};

/// The left side panel: the method menu and the chosen method's options, locked while a run
/// goes on. `hidden`: the Model panel's hidden widths; `fine_tune`: Start fine-tunes the
/// current model, which is gradient-trained or not.
pub(super) fn side_panel(
    ui: &mut egui::Ui,
    settings: &mut TrainingSettings,
    running: bool,
    hidden: &Result<Vec<usize>, String>,
    fine_tune: Option<bool>,
) {
    egui::Panel::left("trainer-options")
        .resizable(true)
        .default_size(330.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_enabled_ui(!running, |ui| {
                    method_ui(ui, &mut settings.method);
                    ui.separator();
                    match settings.method {
                        Method::Genetic => {
                            match fine_tune {
                                Some(true) => {
                                    ui.label("The current model is gradient-trained: Start fine-tunes it (the population starts from its weights).");
                                }
                                Some(false) => {
                                    ui.label("Start fine-tunes the current model (the population starts from its weights).");
                                }
                                None => {}
                            }
                            if options_ui(ui, settings) {
                                // Only this method's options: the choice and the other's stay.
                                *settings = TrainingSettings {
                                    method: settings.method,
                                    gradient: settings.gradient.clone(),
                                    climb: settings.climb.clone(),
                                    // How the plots look is not a trainer option.
                                    x_axis: settings.x_axis,
                                    recent: settings.recent,
                                    ..TrainingSettings::default()
                                };
                            }
                        }
                        Method::Gradient => {
                            if gradient::options_ui(ui, &mut settings.gradient, hidden) {
                                settings.gradient = GradientSettings::default();
                            }
                            ui.separator();
                            stop_rules_ui(ui, settings);
                        }
                        Method::Climb => {
                            if fine_tune.is_some() {
                                ui.label("Start fine-tunes the current model by a single climb.");
                            }
                            if climb::options_ui(ui, &mut settings.climb) {
                                settings.climb = ClimbSettings::default();
                            }
                            ui.separator();
                            stop_rules_ui(ui, settings);
                        }
                    }
                });
            });
        });
}

/// The method menu.
fn method_ui(ui: &mut egui::Ui, method: &mut Method) {
    ui.horizontal(|ui| {
        enum_combo(ui, "Method", method, &[
            (Method::Genetic, Method::Genetic.name(), "Evolve a population of bit weights: selection, crossover, mutation (the original)"),
            (Method::Gradient, Method::Gradient.name(), "Back-propagation with the straight-through estimator over latent float weights, exported to a bit model with per-neuron thresholds"),
            (Method::Climb, Method::Climb.name(), "Flip one bit at a time and keep it unless a margin objective drops, scored incrementally: the best gradient-free method on ten digits (about 97% after the digits recipe's imprinted filters, thick strokes and shifted copies)"),
        ])
        .on_hover_text("How Start trains: genetic (the original), gradient descent (the most accurate on ten digits) or bit-flip climbing");
    });
}

/// The genetic trainer's option widgets and the stop rules; true when "Recommended options"
/// was clicked.
fn options_ui(ui: &mut egui::Ui, s: &mut TrainingSettings) -> bool {
    let TrainingSettings {
        method: _,
        gradient: _,
        climb: _,
        population,
        elitism,
        selection,
        tournament,
        crossover,
        divisor,
        mutation,
        rate,
        k,
        adaptation,
        factor,
        min_scale,
        max_scale,
        shrink_patience,
        shrink,
        evals,
        use_batch,
        batch,
        metric,
        seed,
        // The stop rules, drawn below.
        generations: _,
        use_generations: _,
        seconds: _,
        use_time: _,
        target: _,
        use_target: _,
        patience: _,
        use_patience: _,
        validate_every: _,
        // The plots' view, above the plots.
        x_axis: _,
        recent: _,
    } = s;
    ui.heading("Trainer");
    egui::Grid::new("trainer-grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        drag(ui, "Population", population, 2..=10_000, "Candidates per generation");
        drag(ui, "Elitism", elitism, 0..=9_999, "Best candidates kept unchanged each generation (must be smaller than the population)");
        enum_combo(ui, "Selection", selection, &[
            (SelectionKind::Elite, "elite", "Both parents uniformly from the elite (the original)"),
            (SelectionKind::Tournament, "tournament", "Each parent is the fittest of a few drawn from the whole population"),
        ]);
        ui.end_row();
        if *selection == SelectionKind::Tournament {
            drag(ui, "Tournament size", tournament, 1..=10_000, "Candidates per tournament; larger selects harder");
        }
        enum_combo(ui, "Crossover", crossover, &[
            (CrossoverKind::Split, "split", "The original: first words/divisor of each neuron's weights from the father, the rest from the mother, bias from the father"),
            (CrossoverKind::Uniform, "uniform", "Each bit from either parent"),
            (CrossoverKind::Neuron, "neuron", "Each neuron (weights and bias) from either parent"),
            (CrossoverKind::None, "none", "The child copies its father: mutation only"),
        ]);
        ui.end_row();
        if *crossover == CrossoverKind::Split {
            drag(ui, "Divisor", divisor, 1..=64, "The original's crossoverDivisor: 2 takes half the words from each parent; 1 copies the father");
        }
        enum_combo(ui, "Mutation", mutation, &[
            (MutationKind::Replace, "replace", "The original: each bit replaced by a random bit with probability rate"),
            (MutationKind::Flip, "flip", "Each bit flips with probability rate"),
            (MutationKind::FlipK, "flip k bits", "Exactly k bits flip"),
        ]);
        ui.end_row();
        if *mutation == MutationKind::FlipK {
            drag(ui, "Bits to flip", k, 1..=100_000, "Bits flipped in each child");
        } else {
            row(ui, "Rate", egui::DragValue::new(rate).range(0.0..=1.0).speed(0.0005).max_decimals(5), "Probability per weight and bias bit");
        }
        enum_combo(ui, "Adaptation", adaptation, &[
            (AdaptationKind::None, "none", ""),
            (AdaptationKind::OneFifth, "1/5 rule", "Rechenberg: more than a fifth of children beat their father: stronger mutation; fewer: weaker"),
            (AdaptationKind::Stagnation, "shrink on stagnation", "Weaker mutation when the best fitness stops improving"),
        ]);
        ui.end_row();
        match adaptation {
            AdaptationKind::None => {}
            AdaptationKind::OneFifth => {
                dragf(ui, "Growth factor", factor, 1.0..=4.0, "Mutation scale multiplied or divided by this each generation (> 1)");
                dragf(ui, "Min scale", min_scale, 0.0001..=1.0, "Smallest mutation scale");
                dragf(ui, "Max scale", max_scale, 1.0..=1000.0, "Largest mutation scale");
            }
            AdaptationKind::Stagnation => {
                drag(ui, "Stagnation patience", shrink_patience, 1..=100_000, "Generations without a new best before the mutation shrinks");
                dragf(ui, "Shrink factor", shrink, 0.01..=0.99, "Mutation scale multiplied by this on stagnation");
                dragf(ui, "Min scale", min_scale, 0.0001..=1.0, "Smallest mutation scale");
            }
        }
        drag(ui, "Evaluations", evals, 1..=100, "Fitness is the mean of this many evaluations per candidate");
        let metrics: Vec<_> = Metric::all().into_iter().map(|m| (m, m.name(), "")).collect();
        enum_combo(ui, "Fitness", metric, &metrics)
            .on_hover_text("score: the original (sum of the right class's output when predicted right); accuracy; mcc: Matthews correlation");
        ui.end_row();
        toggled_row(ui, use_batch, "Mini-batches", egui::DragValue::new(batch).range(1..=1_000_000).suffix(" examples"), "Mini-batch size")
            .on_hover_text("Each generation evaluates on a fresh seeded mini-batch of the sample instead of all of it");
        drag(ui, "Trainer seed", seed, 0..=u32::MAX as u64, "The run's one seed: the starting network and every random choice of the trainer derive from it: same seed, same run");
    });
    ui.separator();
    stop_rules_ui(ui, s);
    ui.button("Recommended options")
        .on_hover_text("The library's measured recipe for two classes")
        .clicked()
}
