//! The three kinds of trained model the export tests check (host C and Rust in
//! `tests/export.rs`, the Cortex-M4 in `tests/mcu.rs`), trained quickly on the embedded data:
//! each returns its task's data and the model.

use std::ops::ControlFlow;

use bitsmnist_core::gradient::GradientParams;
use bitsmnist_core::prelude::*;
use bitsmnist_core::search::{ClimbParams, Recipe};
use bitsmnist_core::training::{StateProgress, TrainConfig};

fn continue_() -> impl FnMut(&StateProgress<'_>) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

/// The zero-one task's default model after 30 generations.
pub fn zero_one_default() -> (Dataset, Chain) {
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let recipe = Recipe::for_task(&Task::zero_one());
    let mut state = recipe
        .config
        .fresh(784, &[recipe.hidden], 2, recipe.output, 1)
        .unwrap();
    state
        .train(
            &data.train,
            &TrainOptions::new().generations(30),
            continue_(),
        )
        .unwrap();
    let model = state.model(&data.train);
    (data, model)
}

/// Two climbed ten-digit networks merged: per-neuron thresholds.
pub fn climbed_ensemble() -> (Dataset, Chain) {
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let config = TrainConfig::Climb {
        params: ClimbParams::default()
            .batch_size(Some(1000))
            .trials_per_generation(2000),
        members: 2,
    };
    let mut state = config
        .fresh(784, &[128], 10, BitOutput::Float(Activation::Identity), 1)
        .unwrap();
    state
        .train(
            &data.train,
            &TrainOptions::new().generations(3),
            continue_(),
        )
        .unwrap();
    let merged = state.model(&data.train);
    assert!(merged.to_string().contains("thresholds"), "{merged}");
    (data, merged)
}

/// A gradient-trained 784-96-64-10 model: thresholds, and scaled float outputs.
pub fn gradient_scaled() -> (Dataset, Chain) {
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let config = TrainConfig::Gradient(GradientParams::default().epochs(1).seed(2));
    let mut state = config
        .fresh(
            784,
            &[96, 64],
            10,
            BitOutput::Float(Activation::Identity),
            2,
        )
        .unwrap();
    state
        .train(&data.train, &TrainOptions::new(), continue_())
        .unwrap();
    let model = state.model(&data.train);
    assert!(model.to_string().contains("scaled"), "{model}");
    (data, model)
}
