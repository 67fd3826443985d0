//! The genetic method: a run of the population's `train`, the library's one training loop, on a
//! worker thread. Its callback sends each generation's record (and now and then the best
//! model); Pause and Stop cancel it after the current generation, and resuming calls `train`
//! again, which continues exactly where it stopped.
//!
//! A model trained by the gradient method (per-neuron thresholds, scaled outputs) is
//! fine-tuned: its population starts from the model's own weights
//! ([`Population::starting_from`]) rather than from random bits.

use std::ops::ControlFlow;
use std::sync::Arc;

use bitsmnist_core::datasets::Split;
use bitsmnist_core::fitness::Fitness;
use bitsmnist_core::gradient::Input;
use bitsmnist_core::layers::{Chain, Layer};
use bitsmnist_core::run::Method;
use bitsmnist_core::run::{History, TrainOutcome};
use bitsmnist_core::search::Population;

use super::settings::TrainingSettings;
use super::worker::{After, Control, Finished};
use super::{Prepared, Start, StartWith, TrainingState};

/// Makes the run that Start begins: it continues the kept population when that trains this
/// very model, and else starts afresh (fine-tuning a gradient-trained model).
pub(super) fn prepare(state: &mut TrainingState, with: &StartWith<'_>) -> Result<Prepared, String> {
    let (Some(chain), Some(data), Some(sample)) = (with.model, with.data, with.sample) else {
        return Err("load data and make a model before training".into());
    };
    if with.input != Input::Bits {
        return Err(format!(
            "the genetic trainer feeds the model bits, and this model reads {} input: train it with the gradient method or make a new model",
            with.input
        ));
    }
    let settings = with.settings.clone();
    let params = settings.params();
    params
        .check()
        .map_err(|e| format!("trainer options: {e}"))?;
    let (set, start) = match state.set.take() {
        // New options would need a fresh population, which would lose the run: the state
        // goes on with its own, and the status line says so.
        Some(set) if set.chain() == chain => {
            let changed = set.params() != &params;
            (set, Start::Continue { changed })
        }
        _ => {
            state.history = History::default();
            let chain = chain.clone();
            let (made, start) = if is_gradient_trained(&chain) {
                let bits: Vec<usize> = (0..chain.layers().len())
                    .filter(|&i| chain.layers()[i].as_bit().is_some())
                    .collect();
                (
                    Population::starting_from(chain, &bits, params),
                    Start::FineTune,
                )
            } else {
                (Population::for_all_bit_layers(chain, params), Start::Fresh)
            };
            (
                made.map_err(|e| format!("cannot train this model: {e}"))?,
                start,
            )
        }
    };
    let job = Job {
        set,
        fitness: Fitness::new(settings.metric, sample),
        settings,
        test: Arc::new(data.test.clone()),
    };
    Ok(Prepared {
        thread: "bitsmnist-train",
        input: Input::Bits,
        start,
        job: Box::new(move |control| job.run(&control)),
    })
}

/// Whether `chain` has what only gradient training gives a bit layer: per-neuron thresholds or
/// output scales. Such a model is worth fine-tuning; a random population would discard it.
pub fn is_gradient_trained(chain: &Chain) -> bool {
    chain
        .layers()
        .iter()
        .filter_map(Layer::as_bit)
        .any(|l| l.thresholds().is_some() || l.affine().is_some())
}

/// A run on the worker thread.
struct Job {
    set: Population,
    fitness: Fitness,
    settings: TrainingSettings,
    test: Arc<Split>,
}

impl Job {
    fn run(self, control: &Control) {
        let Job {
            mut set,
            fitness,
            settings,
            test,
        } = self;
        let first = set.generation();
        let outcome = control.run_pausable(&settings, first, &test, |options| {
            set.train(&fitness, options, |p| {
                control.generation(p.record, || p.state.best_chain());
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())
        });
        control.finish(finished(set, outcome));
    }
}

fn finished(set: Population, outcome: Result<TrainOutcome, String>) -> Finished {
    let origin = format!("trained, generation {}", set.generation());
    Finished {
        model: Some((set.chain().clone(), origin)),
        outcome: match outcome {
            Ok(o) => Ok(format!(
                "stopped ({}) at generation {}, best fitness {:.4}, {:.1} s",
                o.reason,
                o.step,
                o.best_fitness,
                o.elapsed.as_secs_f64()
            )),
            Err(e) => Err(format!("training failed: {e}")),
        },
        state: After::Genetic(Box::new(set)),
    }
}
