//! Bit-flip hill climbing and ensembles on the embedded digits.

use bitsmnist_core::io::ModelFile;
use bitsmnist_core::layers::Activations;
use bitsmnist_core::prelude::*;
use bitsmnist_core::run::TrainOptions;
use bitsmnist_core::search::{
    ClimbEnsemble, ClimbError, ClimbParams, ClimbParamsError, Climber, DeltaError, EnsembleError,
    Objective, merge,
};

fn digits() -> Dataset {
    Dataset::embedded().for_task(&Task::digits()).unwrap()
}

fn model(hidden: usize, seed: u64) -> Chain {
    Chain::new(vec![
        BitDense::new(784, hidden).with_seed(seed).into(),
        BitDense::new(hidden, 10)
            .with_seed(seed + 1)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap()
}

fn params() -> ClimbParams {
    ClimbParams::default()
        .batch_size(Some(600))
        .rebatch_every(2)
        .trials_per_generation(3000)
        .objective(Objective {
            correct_weight: 4,
            margin_cap: 16,
        })
        .seed(5)
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn climbing_learns_the_digits_and_reports_flips_per_generation() {
    let data = digits();
    let train = data.train.select(&(0..3000).collect::<Vec<_>>());
    let mut c = Climber::new(model(48, 1), params()).unwrap();
    let before = statistics::accuracy(c.chain(), &data.test);
    let out = c
        .run(
            &train,
            &TrainOptions::new()
                .generations(12)
                .validate_on(&data.test, 6),
        )
        .unwrap();
    assert_eq!(out.step, 12);
    assert_eq!(c.trials(), 12 * 3000);
    assert!(c.accepted() > 0 && c.accepted() < c.trials());
    let after = statistics::accuracy(c.chain(), &data.test);
    assert!(before < 0.2, "{before}");
    assert!(after > 0.45, "{after}");
    let h = c.history();
    assert_eq!(h.len(), 13);
    assert!(h.last().unwrap().steps_per_sec > 0.0);
    assert_eq!(h.validation().len(), 3);
    assert!(c.memory_bytes() > 0);
    // Re-scored on all training examples every 10 generations: generations 0 and 10.
    let best = c.best_train_accuracy().unwrap();
    assert_eq!(statistics::accuracy(c.best_chain(), &train), best);
    let chosen = statistics::accuracy(c.choose(&train), &train);
    assert!(chosen >= best && chosen >= statistics::accuracy(c.chain(), &train));
}

#[test]
fn same_result_with_one_or_two_threads_and_when_stopped_and_resumed_through_a_file() {
    let data = digits();
    let train = data.train.select(&(0..2000).collect::<Vec<_>>());
    // Few kept flips late in a run make the climber score trials in parallel blocks.
    let p = params().accept_ties(false);
    let whole = |threads| {
        in_pool(threads, || {
            let mut c = Climber::new(model(32, 2), p.clone()).unwrap();
            c.run(&train, &TrainOptions::new().generations(8)).unwrap();
            c
        })
    };
    let (one, two) = (whole(1), whole(2));
    assert_eq!(one.chain(), two.chain());
    assert_eq!(one.accepted(), two.accepted());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("climb.bin");
    let resumed = in_pool(2, || {
        let mut c = Climber::new(model(32, 2), p.clone()).unwrap();
        c.run(&train, &TrainOptions::new().generations(3)).unwrap();
        ModelFile::new(c.chain().clone())
            .with_state(c.clone())
            .with_history(c.history().clone())
            .save(&path)
            .unwrap();
        let file = ModelFile::load(&path).unwrap();
        assert_eq!(&file.model, c.chain());
        assert_eq!(file.history.as_ref().unwrap().len(), 4);
        let mut c = climber(&file).unwrap().clone();
        c.run(&train, &TrainOptions::new().until_generation(8))
            .unwrap();
        c
    });
    assert_eq!(resumed.chain(), one.chain());
    assert_eq!(resumed.history().len(), one.history().len());
    for (a, b) in resumed.history().records.iter().zip(&one.history().records) {
        assert_eq!((a.step, a.best), (b.step, b.best));
    }
}

#[test]
fn unsuitable_models_and_parameters_are_refused() {
    let bits_out = Chain::new(vec![BitDense::new(784, 10).into()]).unwrap();
    assert_eq!(
        Climber::new(bits_out, ClimbParams::default()).unwrap_err(),
        ClimbError::Model(DeltaError::BitOutput)
    );
    assert!(matches!(
        Climber::new(model(8, 1), ClimbParams::default().trials_per_generation(0)),
        Err(ClimbError::Params(ClimbParamsError::Trials))
    ));
    assert!(matches!(
        Climber::new(model(8, 1), ClimbParams::default().output_share(1.5)),
        Err(ClimbError::Params(ClimbParamsError::OutputShare(1.5)))
    ));
}

#[test]
fn a_merged_ensemble_predicts_the_summed_distance_vote() {
    let data = digits();
    let test = data.test.select(&(0..1500).collect::<Vec<_>>());
    let mut members = vec![model(40, 1), model(24, 7), model(56, 11)];
    // Different output bias bits and hidden thresholds, so the fold is exercised.
    if let Some(l) = members[1].layer_mut(1).as_bit_mut() {
        l.params_mut().1.set(0, 3, true);
        l.params_mut().1.set(0, 8, true);
    }
    let t: Vec<i64> = (0..56).map(|j| 380 + (j % 30)).collect();
    let l = members[2].layer_mut(0).as_bit_mut().unwrap();
    *l = l.clone().with_thresholds(t).unwrap();
    let merged = merge(&members).unwrap();
    // The vote, by hand: the smallest summed distance plus bias, first on ties.
    let mut sums = vec![0i64; test.len() * 10];
    for m in &members {
        let hidden = m.layers()[0].forward(Activations::Bits(test.images().clone()));
        let out = m.layers()[1].as_bit().unwrap();
        let mut d = vec![0u32; test.len() * 10];
        out.distances_into(hidden.into_bits().as_words(), &mut d);
        for (i, s) in sums.iter_mut().enumerate() {
            *s += i64::from(d[i] + out.bias_bit(i % 10));
        }
    }
    let vote: Vec<usize> = sums
        .chunks(10)
        .map(|r| (0..10).fold(0, |b, k| if r[k] < r[b] { k } else { b }))
        .collect();
    assert_eq!(merged.predict(test.images()), vote);
    // One member: the same model.
    let single = merge(&members[..1]).unwrap();
    assert_eq!(
        single.predict(test.images()),
        members[0].predict(test.images())
    );
    // It is an ordinary model: it saves and loads.
    let back = ModelFile::from_bytes(&ModelFile::new(merged.clone()).to_bytes().unwrap())
        .unwrap()
        .model;
    assert_eq!(back, merged);
    assert_eq!(merge(&[]).unwrap_err(), EnsembleError::Empty);
    let other = Chain::new(vec![
        BitDense::new(784, 8).into(),
        BitDense::new(8, 2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    assert_eq!(
        merge(&[members[0].clone(), other]).unwrap_err(),
        EnsembleError::Mismatch(1)
    );
}

#[test]
fn an_ensemble_climbs_its_members_side_by_side_alike_on_any_thread_count() {
    let data = digits();
    let out = BitOutput::Float(Activation::Identity);
    let run = |threads: usize| {
        in_pool(threads, || {
            let mut e = ClimbEnsemble::random(784, 24, 10, out, &params(), 3, 5).unwrap();
            let mut seen = Vec::new();
            let outcome = e
                .train(&data.train, &TrainOptions::new().generations(4), |p| {
                    seen.push((p.record.step, p.record.best >= p.record.worst));
                    std::ops::ControlFlow::Continue(())
                })
                .unwrap();
            (e, outcome, seen)
        })
    };
    let (one, outcome, seen) = run(1);
    let (two, _, _) = run(2);
    assert_eq!(outcome.step, 4);
    // The ensemble reports generations 0 to 4, and so does each member's own history.
    let expected: Vec<(u64, bool)> = (0..5).map(|g| (g, true)).collect();
    assert_eq!(seen, expected);
    for m in one.members() {
        let steps: Vec<u64> = m.history().records.iter().map(|r| r.step).collect();
        assert_eq!(steps, (0..5).collect::<Vec<_>>());
    }
    // Members differ, and each is the same whatever the thread count.
    let chains: Vec<&Chain> = one.members().iter().map(|c| c.chain()).collect();
    assert_ne!(chains[0], chains[1]);
    for (a, b) in one.members().iter().zip(two.members()) {
        assert_eq!(a.chain(), b.chain());
    }
    assert_eq!(one.trials(), 3 * 4 * params().trials_per_generation);
    // The model is the members' chosen networks merged.
    let chosen: Vec<Chain> = one
        .members()
        .iter()
        .map(|c| c.choose(&data.train).clone())
        .collect();
    let model = one.model(&data.train).unwrap();
    assert_eq!(model, merge(&chosen).unwrap());
    assert_eq!(model, two.model(&data.train).unwrap());
    // A single member is kept as it is.
    let single = ClimbEnsemble::new(vec![one.members()[0].clone()]).unwrap();
    assert_eq!(single.model(&data.train).unwrap(), chosen[0]);
    assert!(matches!(
        ClimbEnsemble::new(Vec::new()),
        Err(EnsembleError::Empty)
    ));
}

#[test]
fn the_memory_estimate_covers_what_a_climb_holds_and_refuses_what_no_machine_has() {
    use bitsmnist_core::training::{TrainConfig, TrainingError};
    let data = digits();
    let config = TrainConfig::Climb {
        params: params().batch_size(Some(2000)),
        members: 1,
    };
    let output = BitOutput::Float(Activation::Identity);
    let mut state = config.fresh(784, &[256], 10, output, 1).unwrap();
    state
        .train(&data.train, &TrainOptions::new().generations(1), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let held = match &state {
        bitsmnist_core::training::TrainingState::Climb(c) => c.memory_bytes() as u64,
        _ => unreachable!("one member"),
    };
    let estimate = config.memory_estimate(784, &[256], 10, data.train.len());
    assert!(
        held <= estimate && estimate <= 3 * held,
        "estimate {estimate} for {held} bytes held"
    );
    // Nothing is left to allocate for this split; another generation needs no more.
    assert!(state.memory_to_train(data.train.len()) < estimate / 2);
    // A billion hidden neurons: refused before a single network is allocated.
    let err = config
        .fresh(784, &[1_000_000_000], 10, output, 1)
        .unwrap_err();
    assert!(matches!(err, TrainingError::Memory(_)), "{err}");
    assert!(err.to_string().contains("GB of memory, more than"), "{err}");
}

/// Imprinted 5x5 filters pooled 4x4 ([`imprint`]) on the digits, seeded.
fn imprinted(train: &Split, filters: usize) -> Vec<bitsmnist_core::layers::Layer> {
    use bitsmnist_core::layers::parse_architecture;
    use bitsmnist_core::search::imprint::{ImprintParams, imprint};
    let (features, _) = parse_architecture(&format!("conv{filters}x5,pool4")).unwrap();
    imprint(train, &features, &ImprintParams::default().seed(9)).unwrap()
}

#[test]
fn a_climb_after_imprinted_filters_keeps_them_and_climbs_the_dense_layers() {
    use bitsmnist_core::training::{TrainConfig, TrainingState};
    let data = digits();
    let train = data.train.select(&(0..2000).collect::<Vec<_>>());
    let front = imprinted(&train, 16);
    let config = TrainConfig::Climb {
        params: params(),
        members: 1,
    };
    let out = BitOutput::Float(Activation::Identity);
    let fresh = || match config.fresh_after(&front, &[64], 10, out, 3).unwrap() {
        TrainingState::Climb(c) => c,
        _ => panic!("one network climbs alone"),
    };
    let start = fresh();
    let whole = |threads| {
        in_pool(threads, || {
            let mut c = fresh();
            c.run(&train, &TrainOptions::new().generations(6)).unwrap();
            c
        })
    };
    let (one, two) = (whole(1), whole(2));
    assert_eq!(one.chain(), two.chain(), "the thread count changes nothing");
    // The feature layers are the imprinted ones, untouched; the dense ones learned.
    assert!(one.chain().layers()[..2] == front[..]);
    assert!(one.chain().layers()[2..] != start.chain().layers()[2..]);
    let before = statistics::accuracy(start.chain(), &data.test);
    let after = statistics::accuracy(one.chain(), &data.test);
    assert!(after > before + 0.3, "{before} -> {after}");
    // Stopped, saved, loaded and resumed: the same run.
    let resumed = in_pool(2, || {
        let mut c = fresh();
        c.run(&train, &TrainOptions::new().generations(2)).unwrap();
        let bytes = ModelFile::new(c.chain().clone())
            .with_state(c.clone())
            .with_history(c.history().clone())
            .to_bytes()
            .unwrap();
        let mut c = climber(&ModelFile::from_bytes(&bytes).unwrap())
            .unwrap()
            .clone();
        c.run(&train, &TrainOptions::new().until_generation(6))
            .unwrap();
        c
    });
    assert_eq!(resumed.chain(), one.chain());
}

#[test]
fn an_ensemble_after_imprinted_filters_merges_into_one_model_that_begins_with_them() {
    use bitsmnist_core::training::{TrainConfig, TrainingState};
    let data = digits();
    let train = data.train.select(&(0..1500).collect::<Vec<_>>());
    let front = imprinted(&train, 8);
    let config = TrainConfig::Climb {
        params: params(),
        members: 3,
    };
    let out = BitOutput::Float(Activation::Identity);
    let TrainingState::Ensemble(mut ensemble) =
        config.fresh_after(&front, &[24], 10, out, 4).unwrap()
    else {
        panic!("three networks")
    };
    ensemble
        .run(&train, &TrainOptions::new().generations(3))
        .unwrap();
    let merged = ensemble.chain();
    assert!(merged.layers()[..2] == front[..]);
    // The merged model votes as the members' dense layers merged on the features do.
    let members: Vec<Chain> = ensemble
        .members()
        .iter()
        .map(|c| Chain::new(c.chain().layers()[2..].to_vec()).unwrap())
        .collect();
    let heads = merge(&members).unwrap();
    let features = Chain::new(front.clone())
        .unwrap()
        .forward(Activations::Bits(data.test.images().clone()))
        .into_bits();
    assert_eq!(merged.predict(data.test.images()), heads.predict(&features));
    // Members whose feature layers differ do not merge.
    let other = imprinted(&train, 8 + 1);
    let mut stranger = other.clone();
    stranger.extend(members[0].layers().iter().cloned().map(|l| match l {
        bitsmnist_core::layers::Layer::Bit(b) if b.inputs() == 7 * 7 * 8 => {
            BitDense::new(7 * 7 * 9, b.outputs()).into()
        }
        l => l,
    }));
    let stranger = Chain::new(stranger).unwrap();
    let first = ensemble.members()[0].chain().clone();
    assert_eq!(
        merge(&[first, stranger]).unwrap_err(),
        EnsembleError::Mismatch(1)
    );
}

/// The single climb a model file holds, if any.
fn climber(file: &ModelFile) -> Option<&Climber> {
    match &file.state {
        Some(TrainingState::Climb(c)) => Some(c),
        _ => None,
    }
}
