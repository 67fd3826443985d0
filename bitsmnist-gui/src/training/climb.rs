//! The bit-flip climbing method of the Training panel: options of
//! [`bitsmnist_core::search::Climber`] (defaults those of `bitsmnist train --task digits`),
//! the run on a worker thread, and its state kept between runs so that Start continues it.
//!
//! The climber trains the current model (from the Model panel, a file, or a gradient run, which
//! it then fine-tunes) on the task's whole training split, on fresh batches, and reports each
//! generation's record through the same [`History`] and plots as the genetic method. Pause,
//! Resume and Stop work as for the genetic method: between generations, exactly resumable.

use std::ops::ControlFlow;
use std::sync::Arc;

use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::gradient::Input;
use bitsmnist_core::layers::Chain;
use bitsmnist_core::run::Method;
use bitsmnist_core::run::{History, TrainOutcome};
use bitsmnist_core::search::{ClimbEnsemble, ClimbParams, Climber, Objective, climbed_part};
use bitsmnist_core::training::TrainConfig;
use eframe::egui;
use serde::{Deserialize, Serialize};

use super::settings::TrainingSettings;
use super::worker::{After, Control, Finished};
use super::{Prepared, Start, StartWith, TrainingState};
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
}

impl Default for ClimbSettings {
    /// The library's defaults, which the command line uses for ten digits.
    fn default() -> Self {
        Self::from_params(&ClimbParams::default().seed(1))
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

/// A climb between runs: the networks and the model they gave.
#[derive(Clone, Debug)]
pub struct ClimbState {
    /// The networks (one, or several climbed side by side and merged).
    pub ensemble: ClimbEnsemble,
    /// The model the climb gave the app (a single network's chosen one, or the merged one).
    pub model: Chain,
}

impl ClimbState {
    /// The state of one climbing network that gave `model`.
    pub fn single(climber: Climber, model: Chain) -> Self {
        Self {
            ensemble: ClimbEnsemble::new(vec![climber]).expect("one member"),
            model,
        }
    }

    /// Whether this climb is the state behind `model` (for one network, also its current or
    /// its best re-scored network).
    pub fn is_state_of(&self, model: &Chain) -> bool {
        self.model == *model
            || matches!(self.ensemble.members(), [c] if c.chain() == model || c.best_chain() == model)
    }

    /// The single network, when there is one (what a model file can hold).
    pub fn single_member(&self) -> Option<&Climber> {
        match self.ensemble.members() {
            [c] => Some(c),
            _ => None,
        }
    }
}

/// Makes the run that Start begins: it continues the kept climb when that gave this very
/// model, and else climbs afresh from it.
pub(super) fn prepare(state: &mut TrainingState, with: &StartWith<'_>) -> Result<Prepared, String> {
    let (Some(chain), Some(data)) = (with.model, with.data) else {
        return Err("load data and make a model before training".into());
    };
    if with.input != Input::Bits {
        return Err(format!(
            "bit-flip climbing feeds the model bits, and this model reads {} input: make a new model",
            with.input
        ));
    }
    let settings = with.settings.clone();
    let params = settings
        .climb
        .check()
        .map_err(|e| format!("climbing options: {e}"))?;
    let (ensemble, start) = match state.climb.take() {
        Some(c) if c.is_state_of(chain) => {
            // The first network climbs with the settings' parameters and seed as they are.
            let changed = c.ensemble.members()[0].params() != &params
                || c.ensemble.members().len() != settings.climb.members.max(1);
            // The kept model may be an earlier one than the networks' current: go on from
            // the current, as the command line's --resume does.
            (c.ensemble, Start::Continue { changed })
        }
        _ => {
            let e = new_ensemble(chain.clone(), &params, settings.climb.members)
                .map_err(|e| format!("cannot climb with this model: {e}"))?;
            state.history = History::default();
            (e, Start::Fresh)
        }
    };
    let job = Job {
        ensemble,
        data: data.clone(),
        settings,
    };
    Ok(Prepared {
        thread: "bitsmnist-climb",
        input: Input::Bits,
        start,
        job: Box::new(move |control| job.run(&control)),
    })
}

/// One network: the current model. Several: fresh random networks of the current model's
/// shape, side by side (as `bitsmnist train --ensemble N`), after the current model's
/// feature layers (imprinted convolutions and pools, which every member shares).
fn new_ensemble(
    chain: Chain,
    params: &ClimbParams,
    members: usize,
) -> Result<ClimbEnsemble, String> {
    if members <= 1 {
        let c = Climber::new(chain, params.clone()).map_err(|e| e.to_string())?;
        return Ok(ClimbEnsemble::new(vec![c]).expect("one member"));
    }
    let (front, head) = climbed_part(&chain).map_err(|e| e.to_string())?;
    let out = head
        .layers()
        .last()
        .and_then(|l| l.as_bit())
        .expect("checked");
    let hidden = match head.layers() {
        [h, _] => h.outputs(),
        _ => return Err("an ensemble climbs networks with one hidden layer".into()),
    };
    let config = TrainConfig::Climb {
        params: params.clone(),
        members,
    };
    let state = if front == 0 {
        config.fresh(
            head.inputs(),
            &[hidden],
            head.outputs(),
            out.output(),
            params.seed,
        )
    } else {
        let front = &chain.layers()[..front];
        config.fresh_after(front, &[hidden], head.outputs(), out.output(), params.seed)
    };
    match state.map_err(|e| e.to_string())? {
        bitsmnist_core::training::TrainingState::Ensemble(e) => Ok(e),
        _ => unreachable!("several members make an ensemble"),
    }
}

/// A climb on the worker thread.
struct Job {
    ensemble: ClimbEnsemble,
    data: Arc<Dataset>,
    settings: TrainingSettings,
}

impl Job {
    fn run(self, control: &Control) {
        let Job {
            mut ensemble,
            data,
            settings,
        } = self;
        let first = ensemble.generation();
        let outcome = control.run_pausable(&settings, first, &data.test, |options| {
            ensemble
                .train(&data.train, options, |p| {
                    control.generation(p.record, || p.state.chain());
                    ControlFlow::Continue(())
                })
                .map_err(|e| e.to_string())
        });
        // Each network as the more accurate on the training split of its current and its best
        // re-scored one; several merged.
        let (model, outcome) = match ensemble.model(&data.train) {
            Ok(m) => (m, outcome),
            Err(e) => (ensemble.members()[0].chain().clone(), Err(e.to_string())),
        };
        control.finish(finished(ClimbState { ensemble, model }, outcome));
    }
}

fn finished(climb: ClimbState, outcome: Result<TrainOutcome, String>) -> Finished {
    let g = climb.ensemble.members()[0].generation();
    let n = climb.ensemble.members().len();
    let origin = if n == 1 {
        format!("climbed, generation {g}")
    } else {
        format!("climbed, generation {g}, {n} networks merged")
    };
    let (trials, kept) = (climb.ensemble.trials(), climb.ensemble.accepted());
    Finished {
        model: Some((climb.model.clone(), origin)),
        outcome: match outcome {
            Ok(o) => Ok(format!(
                "climb stopped ({}) at generation {}, objective {:.4}, {trials} flips tried, {kept} kept, {:.1} s",
                o.reason,
                o.step,
                o.best_fitness,
                o.elapsed.as_secs_f64()
            )),
            Err(e) => Err(format!("climbing failed: {e}")),
        },
        state: After::Climb(Box::new(climb)),
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
    } = s;
    ui.heading("Bit-flip climbing");
    ui.weak("Flips one random weight or bias bit at a time and keeps it unless the objective drops; flips are scored incrementally. Trains the current model on the task's whole training split (a gradient-trained model is fine-tuned).");
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
        drag(ui, "Networks", members, 1..=64, "1 climbs the current model. More climb that many fresh random networks of its shape side by side (one per core) and merge them into one model that votes, as `bitsmnist train --ensemble N`; only a single network's climb is saved in a model file");
        drag(ui, "Climb seed", seed, 0..=u32::MAX as u64, "Every flip and batch derives from it: same seed, same run, whatever the number of threads");
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
        assert_eq!(s.params(), ClimbParams::default().seed(1));
        assert_eq!(ClimbSettings::from_params(&s.params()), s);
        let bad = ClimbSettings { trials: 0, ..s };
        assert!(bad.check().is_err());
    }
}
