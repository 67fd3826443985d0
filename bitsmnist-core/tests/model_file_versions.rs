//! Model files written by earlier format versions still load.

use bitsmnist_core::io::ModelFile;
use bitsmnist_core::prelude::*;
use bitsmnist_core::search::{Climber, Population};
use bitsmnist_core::training::MethodKind;

/// A 0-vs-1 model trained for 20 generations (seed 3) and saved, with its training state, by
/// format version 1, before bit layers gained per-neuron thresholds and scales.
const V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zero-one-v1.bin");

#[test]
fn a_version_1_file_loads_with_its_training_state() {
    let bytes = std::fs::read(V1).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    // The accuracy it had when it was written: 0.9678486997635933 on the 2,115 test digits.
    let acc = statistics::accuracy(&file.model, &data.test);
    assert_eq!((acc * 2115.0).round() as u32, 2047);
    let mut set = population(&file).expect("training state").clone();
    assert_eq!(set.generation(), 20);
    // It keeps training, and saves as the current version.
    set.run(
        &Fitness::score(&data.train),
        &TrainOptions::new().generations(2).quiet(),
    )
    .unwrap();
    let again = ModelFile::from_state(&TrainingState::from(set.clone()), &data.train)
        .to_bytes()
        .unwrap();
    assert_eq!(
        u32::from_le_bytes(again[8..12].try_into().unwrap()),
        bitsmnist_core::io::FORMAT_VERSION
    );
    assert_eq!(
        ModelFile::from_bytes(&again).unwrap().model,
        set.chain().clone()
    );
}

/// Written by format version 2 (before the climb state was appended) by `bitsmnist train
/// --task zero-one --hidden 8 --population 6 --elitism 2 --generations 3 --out ...`.
const V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zero-one-v2.bin");

#[test]
fn a_version_2_file_loads_with_its_training_state_and_no_climb() {
    let bytes = std::fs::read(V2).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    assert!(climber(&file).is_none());
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    // Its test accuracy when written: 0.5593380614657211 of 2,115.
    let acc = statistics::accuracy(&file.model, &data.test);
    assert_eq!((acc * 2115.0).round() as u32, 1183);
    assert_eq!(population(&file).expect("training state").generation(), 3);
    assert_eq!(file.history.expect("history").len(), 4);
}

/// Written by format version 3 (before the model carried its input encoding): a 784-8-2
/// 0-vs-1 model (hidden seed 11, output seed 12, identity scores) trained for 3 generations
/// (population 6, elitism 2, seed 3), with its training state, and a climb of the same
/// starting model for 4 generations (seed 4, batches of 300, 200 trials per generation,
/// re-scored every 2), with its climb state.
const V3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zero-one-v3.bin");

#[test]
fn a_version_3_file_loads_with_its_training_state() {
    let bytes = std::fs::read(V3).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    // Test accuracies when written: 1,604 and 1,963 of 2,115.
    let correct = |m: &Chain| (statistics::accuracy(m, &data.test) * 2115.0).round() as u32;
    assert_eq!(correct(&file.model), 1604);
    assert_eq!(file.meta.task, Some(Task::zero_one()));
    assert_eq!(file.meta.extra["note"], "v3 fixture");
    let set = population(&file).expect("training state");
    assert_eq!(set.generation(), 3);
    assert_eq!(set.population().len(), 6);
    assert_eq!(
        set.fitness(),
        [929.25, 808.25, 569.5, 988.625, 865.875, 1184.5]
    );
    assert_eq!(set.history().len(), 4);
    assert_eq!(set.history().records[3].mutation_scale(), Some(1.0));
    assert_eq!(file.history.as_ref().expect("history").len(), 4);
    // A file of today holds one state: of the population and the climb the old file held
    // side by side, the population's (its model is the file's).
    assert!(climber(&file).is_none());
    assert_eq!(*set.chain(), file.model);
}

/// Written by format version 4 (before convolutions) by `bitsmnist train --method gradient
/// --task zero-one --hidden 16 --epochs 2 --seed 5 --out ...`: a gradient model with its
/// whole training state.
const V4: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/zero-one-gradient-v4.bin"
);

#[test]
fn a_version_4_gradient_file_loads_with_its_training_state() {
    let bytes = std::fs::read(V4).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 4);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    // Its test accuracy when written: 20 of the 2,115 test digits wrong.
    let correct = (statistics::accuracy(&file.model, &data.test) * 2115.0).round() as u32;
    assert_eq!(correct, 2095);
    let state = file.state.clone().expect("training state");
    assert_eq!(state.kind(), MethodKind::Gradient);
    assert_eq!(state.step_number(), 2);
    assert_eq!(state.current_model(), file.model);
    // The run had finished its 2 epochs: another call trains no further.
    let mut state = state;
    state
        .train(&data.train, &TrainOptions::new().quiet(), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(state.step_number(), 2);
    assert_eq!(state.current_model(), file.model);
    let again = ModelFile::from_state(&state, &data.train)
        .to_bytes()
        .unwrap();
    assert_eq!(
        u32::from_le_bytes(again[8..12].try_into().unwrap()),
        bitsmnist_core::io::FORMAT_VERSION
    );
    assert_eq!(ModelFile::from_bytes(&again).unwrap().model, file.model);
}

#[test]
fn a_version_4_file_cannot_hold_a_convolution() {
    // A current file with a convolution, relabelled as version 4 (the CRC covers the payload
    // only), is refused rather than read as a layer kind version 4 did not have.
    let conv = BitConv2d::new(Shape::new(28, 28, 1), 3, 1, 1, 4).unwrap();
    let pool = BitMaxPool::new(conv.output_shape(), 2, 2).unwrap();
    let dense =
        BitDense::new(pool.outputs(), 10).with_output(BitOutput::Float(Activation::Identity));
    let model = Chain::new(vec![conv.into(), pool.into(), dense.into()]).unwrap();
    let mut bytes = ModelFile::new(model.clone()).to_bytes().unwrap();
    assert_eq!(ModelFile::from_bytes(&bytes).unwrap().model, model);
    bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
    let err = ModelFile::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("format version 4"), "{err}");
}

#[test]
fn a_version_7_file_cannot_hold_a_vote() {
    // A current file with a vote, relabelled as version 7, is refused rather than read as a
    // layer kind version 7 did not have.
    let out = BitOutput::Float(Activation::Identity);
    let members = vec![
        Chain::mlp(784, &[8], 10, out, 1).unwrap(),
        Chain::mlp(784, &[6], 10, out, 2).unwrap(),
    ];
    let vote = bitsmnist_core::layers::Vote::new(members).unwrap();
    let model = Chain::new(vec![vote.into()]).unwrap();
    let mut bytes = ModelFile::new(model.clone()).to_bytes().unwrap();
    assert_eq!(ModelFile::from_bytes(&bytes).unwrap().model, model);
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    let err = ModelFile::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("format version 7"), "{err}");
}

/// Written by format version 6 (before rotations and zooms): the gradient model of
/// `docs/figures.md#digits-conv-gradient`, kept without its training state.
const V6_GRADIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/digits-conv-gradient.bin"
);

#[test]
fn a_version_6_gradient_model_loads_as_it_was_written() {
    let bytes = std::fs::read(V6_GRADIENT).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 6);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    assert_eq!(bitsmnist_core::io::fingerprint(&file.model), "4e3d9c29");
    assert!(file.state.is_none());
    assert_eq!(
        file.meta.run.as_ref().map(|r| r.method),
        Some(MethodKind::Gradient)
    );
    let again = file.to_bytes().unwrap();
    assert_eq!(
        u32::from_le_bytes(again[8..12].try_into().unwrap()),
        bitsmnist_core::io::FORMAT_VERSION
    );
    assert_eq!(ModelFile::from_bytes(&again).unwrap().model, file.model);
}

/// The population a model file holds, if any.
fn population(file: &ModelFile) -> Option<&Population> {
    match &file.state {
        Some(TrainingState::Population { set, .. }) => Some(set),
        _ => None,
    }
}

/// The single climb a model file holds, if any.
fn climber(file: &ModelFile) -> Option<&Climber> {
    match &file.state {
        Some(TrainingState::Climb(c)) => Some(c),
        _ => None,
    }
}
