//! Model files written by earlier format versions still load.

use bitsmnist_core::prelude::*;

/// A 0-vs-1 model trained for 20 generations (seed 3) and saved, with its training state, by
/// format version 1, before bit layers gained per-neuron thresholds and scales.
const V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zero-one-v1.bin");

#[test]
fn a_version_1_file_loads_with_its_training_state() {
    let bytes = std::fs::read(V1).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let data = Dataset::embedded().for_task(&Task::zero_one());
    // The accuracy it had when it was written: 0.9678486997635933 on the 2,115 test digits.
    let acc = statistics::accuracy(&file.model, &data.test);
    assert_eq!((acc * 2115.0).round() as u32, 2047);
    let mut set = file.training_set().expect("training state").clone();
    assert_eq!(set.generation(), 20);
    // It keeps training, and saves as the current version.
    set.run(
        &Fitness::score(&data.train),
        &TrainOptions::new().generations(2).quiet(),
    )
    .unwrap();
    let again = ModelFile::from_training(&set).to_bytes().unwrap();
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
    assert!(file.climber().is_none());
    let data = Dataset::embedded().for_task(&Task::zero_one());
    // Its test accuracy when written: 0.5593380614657211 of 2,115.
    let acc = statistics::accuracy(&file.model, &data.test);
    assert_eq!((acc * 2115.0).round() as u32, 1183);
    assert_eq!(file.training_set().expect("training state").generation(), 3);
    assert_eq!(file.history.expect("history").len(), 4);
}
