//! Programs and notebooks written against the former names (`genetic`, `TrainingSet`,
//! `TrainerParams`, `genetic::delta`) still compile and train, with a deprecation warning.
#![allow(deprecated)]

use std::ops::ControlFlow;

use bitsmnist_core::genetic::delta::DeltaEval;
use bitsmnist_core::genetic::{Progress, TrainOptions, TrainerParams, TrainingSet};
use bitsmnist_core::prelude::*;

#[test]
fn the_former_names_still_train() {
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let sample = data.train.sample_shuffled(0.05, 2, 1);
    let model = Chain::mlp(784, &[16], 2, BitOutput::Float(Activation::Identity), 1).unwrap();
    let mut set: TrainingSet = TrainingSet::for_all_bit_layers(
        model.clone(),
        TrainerParams::default().population(6).elitism(2),
    )
    .unwrap();
    let outcome = set
        .train(
            &Fitness::score(&sample),
            &TrainOptions::new().generations(2),
            |p: &Progress<'_>| {
                assert!(p.record.best >= p.record.worst);
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(outcome.step, 2);
    let eval =
        DeltaEval::new(&model, sample.images(), sample.labels(), Default::default()).unwrap();
    assert_eq!(eval.chain(), model);
}
