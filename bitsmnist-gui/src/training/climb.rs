//! The bit-flip climbing method of the Training panel: options of
//! [`bitsmnist_core::search::Climber`] (defaults those of `bitsmnist train --task digits`).
//!
//! The run is the core's session like every method's ([`super::plan`]): a fresh climb of the
//! Model panel's architecture (several networks side by side and merged), a fine-tuning climb
//! of a trained model, or a saved climb continued, on the task's whole training split.

use bitsmnist_core::datasets::Task;
use bitsmnist_core::search::{ClimbParams, Objective};
use bitsmnist_core::training::{Recipe, TrainConfig};
use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::widgets::{drag, row, toggled_row};

/// The persisted options of bit-flip climbing (stop rules are the genetic method's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClimbSettings {
    /// Flip trials per generation.
    pub trials: u64,
    /// Climb on batches of the training split rather than all of it.
    pub use_batch: bool,
    /// Examples per batch.
    pub batch: usize,
    /// Generations between fresh batches.
    pub rebatch_every: u64,
    /// Objective: weight of a correct classification.
    pub correct_weight: u32,
    /// Objective: cap of the popcount margin.
    pub margin_cap: u32,
    /// Share of trials that flip an output-layer bit.
    pub output_share: f64,
    /// Generations between re-scorings on the whole training split.
    pub rescore_every: u64,
    /// Keep flips that leave the objective unchanged.
    pub accept_ties: bool,
    /// Seed of the flips and batches.
    pub seed: u64,
    /// Networks climbed side by side and merged (1: the current model).
    pub members: usize,
    /// Each network imprints the Model panel's convolutions on its own (from its seed, on its
    /// own half of the examples), and the networks vote side by side.
    pub own_features: bool,
}

impl Default for ClimbSettings {
    /// The library's defaults, which the command line uses for ten digits.
    fn default() -> Self {
        Self::from_params(&ClimbParams::default().seed(bitsmnist_core::session::DEFAULT_SEED))
    }
}

impl ClimbSettings {
    /// The settings that give `p`.
    pub fn from_params(p: &ClimbParams) -> Self {
        Self {
            trials: p.trials_per_generation,
            use_batch: p.batch_size.is_some(),
            batch: p.batch_size.unwrap_or(5000),
            rebatch_every: p.rebatch_every,
            correct_weight: p.objective.correct_weight,
            margin_cap: p.objective.margin_cap,
            output_share: p.output_share,
            rescore_every: p.rescore_every,
            accept_ties: p.accept_ties,
            seed: p.seed,
            members: 1,
            own_features: false,
        }
    }

    /// The networks of `task`'s recipe and whether each imprints its own filters: for more
    /// than two classes the ensemble `bitsmnist train --task digits` trains (8 networks with
    /// their own filters), else one network.
    pub fn networks_for(task: &Task) -> (usize, bool) {
        let recipe = Recipe::for_task(task);
        match recipe.config {
            TrainConfig::Climb { members, .. } if task.len() > 2 => (members, recipe.own_features),
            _ => (1, false),
        }
    }

    /// Follows a new task's recipe for the networks unless they were set by hand (they hold
    /// neither task's recipe).
    pub fn task_changed(&mut self, task: &Task) {
        let recipes = [Task::zero_one(), Task::digits()].map(|t| Self::networks_for(&t));
        if recipes.contains(&(self.members, self.own_features)) {
            (self.members, self.own_features) = Self::networks_for(task);
        }
    }

    /// The climber's hyper-parameters.
    pub fn params(&self) -> ClimbParams {
        ClimbParams::default()
            .trials_per_generation(self.trials)
            .batch_size(self.use_batch.then_some(self.batch))
            .rebatch_every(self.rebatch_every)
            .objective(Objective {
                correct_weight: self.correct_weight,
                margin_cap: self.margin_cap,
            })
            .output_share(self.output_share)
            .rescore_every(self.rescore_every)
            .accept_ties(self.accept_ties)
            .seed(self.seed)
    }

    /// Why a run cannot start with these settings.
    pub fn check(&self) -> Result<ClimbParams, String> {
        let p = self.params();
        p.check().map_err(|e| e.to_string())?;
        Ok(p)
    }
}

/// The option widgets; true when "Recommended options" was clicked.
pub(crate) fn options_ui(ui: &mut egui::Ui, s: &mut ClimbSettings) -> bool {
    let ClimbSettings {
        trials,
        use_batch,
        batch,
        rebatch_every,
        correct_weight,
        margin_cap,
        output_share,
        rescore_every,
        accept_ties,
        seed,
        members,
        own_features,
    } = s;
    ui.heading("Bit-flip climbing");
    ui.weak("Flips one random weight or bias bit at a time and keeps it unless the objective drops; flips are scored incrementally. Climbs fresh networks of the Model panel's architecture on the task's whole training split; a trained or opened model is fine-tuned, a saved climb goes on.");
    egui::Grid::new("climb-grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        drag(ui, "Trials per generation", trials, 1..=100_000_000, "Flip trials between two records (and two checks of the stop rules)");
        toggled_row(ui, use_batch, "Climb on batches", egui::DragValue::new(batch).range(1..=1_000_000).suffix(" examples"),
            "Examples per batch: larger batches generalise better, smaller ones climb faster")
            .on_hover_text("Score flips on a seeded random batch of the training split instead of all of it");
        drag(ui, "New batch every", rebatch_every, 1..=1_000_000, "Generations between fresh batches");
        drag(ui, "Correct weight", correct_weight, 0..=1_000, "Objective: what a correctly classified example adds");
        drag(ui, "Margin cap", margin_cap, 0..=10_000, "Objective: each example also adds its popcount margin (how much closer the right class is than the nearest other), clamped to this; 0 gives plain accuracy");
        row(ui, "Output share", egui::DragValue::new(output_share).range(0.0..=1.0).speed(0.005).max_decimals(3),
            "Fraction of trials that flip an output-layer bit");
        drag(ui, "Re-score every", rescore_every, 0..=1_000_000, "Generations between accuracy checks on the whole training split; the most accurate model is kept (0: never)");
        ui.checkbox(accept_ties, "Accept ties")
            .on_hover_text("Keep flips that leave the objective unchanged (a random walk on plateaus)");
        ui.end_row();
        drag(ui, "Networks", members, 1..=64, "Networks climbed side by side (one per core) from the Model panel's architecture and merged into one model that votes, as `bitsmnist train --ensemble N`; the model file keeps every network's climb. A trained model is fine-tuned by a single climb");
        ui.checkbox(own_features, "Own filters per network")
            .on_hover_text("Each network imprints the Model panel's convolutions itself (from its own seed, on its own half of the training examples), and the networks vote side by side: they disagree more, so the vote gains more from each network, as `bitsmnist train --own-filters`. Off: one set of filters for all, merged into one wider network. Without convolutions there is nothing to imprint");
        ui.end_row();
        drag(ui, "Climb seed", seed, 0..=u32::MAX as u64, "The run's one seed: the starting networks, every flip and batch derive from it: same seed, same run, whatever the number of threads");
    });
    ui.button("Recommended options")
        .on_hover_text("The library's defaults, as `bitsmnist train --task digits` climbs")
        .clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_library_defaults_and_round_trip() {
        let s = ClimbSettings::default();
        assert_eq!(
            s.params(),
            ClimbParams::default().seed(bitsmnist_core::session::DEFAULT_SEED)
        );
        assert_eq!(ClimbSettings::from_params(&s.params()), s);
        let bad = ClimbSettings { trials: 0, ..s };
        assert!(bad.check().is_err());
    }

    #[test]
    fn the_networks_follow_the_task_until_set_by_hand() {
        let mut s = ClimbSettings::default();
        s.task_changed(&Task::digits());
        assert_eq!((s.members, s.own_features), (Recipe::DIGITS_NETWORKS, true));
        s.task_changed(&Task::zero_one());
        assert_eq!((s.members, s.own_features), (1, false));
        s.members = 3;
        s.task_changed(&Task::digits());
        assert_eq!((s.members, s.own_features), (3, false));
    }
}
