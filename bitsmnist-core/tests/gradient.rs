//! Gradient training on the real embedded digits: export folding, reproducibility, accuracy.

use std::ops::ControlFlow;

use bitsmnist_core::gradient::{self, GradientError, GradientParams, GradientParamsError, Trainer};
use bitsmnist_core::layers::Input;
use bitsmnist_core::prelude::*;

fn quiet(_: &gradient::Progress<'_>) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// `f` on a pool of `threads` threads.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn train(params: GradientParams, train: &Split) -> Trainer {
    let mut t = Trainer::new(params, 784, 10).unwrap();
    t.train(train, &TrainOptions::new(), quiet).unwrap();
    t
}

/// The exported model predicts as the training network on at least 99.9% of the examples:
/// hidden bits fold exactly, while the output logits use another f32 expression, so only
/// near-ties may differ.
fn agree_but_for_near_ties(exported: &[usize], network: &[usize]) {
    assert_eq!(exported.len(), network.len());
    let agree = exported.iter().zip(network).filter(|(a, b)| a == b).count();
    assert!(
        agree * 1000 >= 999 * exported.len(),
        "{agree} of {}",
        exported.len()
    );
}

#[test]
fn short_run_reaches_ninety_percent_on_the_official_test_set() {
    let data = Dataset::embedded();
    let params = GradientParams::default()
        .hidden(vec![256])
        .epochs(3)
        .seed(5);
    let mut t = Trainer::new(params, 784, 10).unwrap();
    let mut lines = Vec::new();
    let out = t
        .train(
            &data.train,
            &TrainOptions::new().validate_on(&data.test, 1),
            |p| {
                lines.push(p.record.to_string());
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(out.reason, StopReason::Finished);
    assert_eq!((out.step, t.history().len(), lines.len()), (3, 3, 3));
    assert!(lines[0].starts_with("epoch 1/3  loss "), "{}", lines[0]);
    let loss = t.history().loss();
    assert!(loss[2] < loss[0], "loss should fall: {loss:?}");
    let model = t.export();
    let acc = statistics::accuracy(&model, &data.test);
    assert!(acc > 0.90, "test accuracy {acc}");
    assert_eq!(out.validation_accuracy, Some(acc));
}

#[test]
fn exported_bit_model_predicts_as_the_training_network() {
    let data = Dataset::embedded();
    let sample = data.train.sample_shuffled(0.2, 10, 3);
    let t = train(
        GradientParams::default()
            .hidden(vec![96, 64])
            .epochs(2)
            .seed(11),
        &sample,
    );
    let model = t.export();
    assert!(model.layers().iter().all(|l| l.as_bit().is_some()));
    let exported = model.predict(data.test.images());
    let network = t.predict_network(&data.test).unwrap();
    agree_but_for_near_ties(&exported, &network);
    // The single-example path agrees with the batch path.
    for (i, &e) in exported.iter().enumerate().take(20) {
        let s = model.scores_one(data.test.images().row(i));
        assert_eq!(layers_argmax(&s), e);
    }
}

fn layers_argmax(v: &[f32]) -> usize {
    bitsmnist_core::layers::argmax(v)
}

#[test]
fn grey_input_exports_a_float_first_layer_that_agrees() {
    let data = Dataset::embedded();
    let sample = data.train.sample_shuffled(0.1, 10, 4);
    let t = train(
        GradientParams::default()
            .hidden(vec![64])
            .epochs(2)
            .input(Input::Grey)
            .seed(2),
        &sample,
    );
    let model = t.export();
    assert!(model.layers()[0].as_bit().is_none());
    let test = data.test.sample(0.2, 10);
    assert_eq!(model.input(), Input::Grey);
    let exported = model.predict_split(&test).unwrap();
    let network = t.predict_network(&test).unwrap();
    agree_but_for_near_ties(&exported, &network);
    let accuracy = statistics::accuracy(&model, &test);
    assert!(accuracy > 0.6);
    // The true accuracy, not the bits read as ±1 that every path fed such a model before it
    // carried its input.
    let right = network
        .iter()
        .zip(test.labels())
        .filter(|(p, l)| **p == **l as usize)
        .count();
    assert!((accuracy - right as f64 / test.len() as f64).abs() <= 0.002);
    assert_eq!(Evaluation::new(&model, &test).accuracy(), accuracy);
    let as_bits = model.clone().with_input(Input::Bits);
    assert!(statistics::accuracy(&as_bits, &test) < accuracy - 0.3);
    // The input survives a save and a load.
    let back = ModelFile::from_bytes(&ModelFile::new(model.clone()).to_bytes().unwrap()).unwrap();
    assert_eq!(back.model.input(), Input::Grey);
    assert_eq!(back.model, model);
    assert_eq!(statistics::accuracy(&back.model, &test), accuracy);
}

#[test]
fn same_result_with_one_and_two_threads() {
    let data = Dataset::embedded();
    let sample = data.train.sample_shuffled(0.08, 10, 9);
    let params = GradientParams::default()
        .hidden(vec![130])
        .epochs(2)
        .batch_size(64)
        .seed(21);
    let run = |threads: usize| {
        on_threads(threads, || {
            let mut t = Trainer::new(params.clone(), 784, 10).unwrap();
            t.train(&sample, &TrainOptions::new().validate_on(&sample, 1), quiet)
                .unwrap();
            (t.export(), t.history().trace())
        })
    };
    let (m1, h1) = run(1);
    let (m2, h2) = run(2);
    assert_eq!(h1, h2);
    assert!(m1 == m2, "exported models differ");
    // A different seed gives a different model.
    let mut other = Trainer::new(params.clone().seed(22), 784, 10).unwrap();
    other.train(&sample, &TrainOptions::new(), quiet).unwrap();
    assert!(other.export() != m1);
}

/// Rotations and zooms (with sub-pixel shifts) are drawn from the seed alone: the same model
/// on 1 and 2 threads, another than the whole-pixel shifts give, and the training images seen
/// differ from the originals (the training accuracy is not the plain run's).
#[test]
fn rotations_and_zooms_are_reproducible_and_change_what_is_seen() {
    let data = Dataset::embedded();
    let sample = data.train.sample_shuffled(0.08, 10, 9);
    let plain = GradientParams::default().hidden(vec![64]).epochs(2).seed(4);
    let warped = plain.clone().rotate(12.0).zoom(0.1).max_shift(2);
    let run = |params: &GradientParams, threads: usize| {
        on_threads(threads, || {
            let mut t = Trainer::new(params.clone(), 784, 10).unwrap();
            t.train(&sample, &TrainOptions::new(), quiet).unwrap();
            (t.export(), t.history().trace())
        })
    };
    let (w1, h1) = run(&warped, 1);
    let (w2, h2) = run(&warped, 2);
    assert_eq!(h1, h2);
    assert!(w1 == w2, "exported models differ");
    let (p, _) = run(&plain.clone().max_shift(2), 2);
    assert!(p != w1);
    // Still a digit model: the warps keep digits readable (800 examples, 2 epochs: about
    // 65% right, where ten classes give 10% by chance).
    let acc = statistics::accuracy(&w1, &data.test);
    assert!(acc > 0.5, "{acc}");
    // Out of range.
    for (params, name) in [
        (plain.clone().rotate(46.0), "rotate"),
        (plain.clone().rotate(f32::NAN), "rotate"),
        (plain.clone().zoom(-0.1), "zoom"),
        (plain.clone().zoom(0.6), "zoom"),
    ] {
        assert_eq!(params.check().unwrap_err().name(), name);
    }
    // A flat input cannot be turned.
    assert!(matches!(
        Trainer::new(plain.rotate(5.0).max_shift(0), 10, 2),
        Err(GradientError::NotSquare(10))
    ));
}

#[test]
fn resumed_training_equals_uninterrupted_and_cancel_stops() {
    let data = Dataset::embedded();
    let sample = data.train.sample_shuffled(0.05, 10, 1);
    let params = GradientParams::default().hidden(vec![40]).epochs(3).seed(8);
    let whole = train(params.clone(), &sample);
    let mut parts = Trainer::new(params.clone(), 784, 10).unwrap();
    let first = parts
        .train(&sample, &TrainOptions::new().epochs(1), quiet)
        .unwrap();
    assert_eq!((first.reason, first.step), (StopReason::Steps, 1));
    parts.train(&sample, &TrainOptions::new(), quiet).unwrap();
    assert!(parts.export() == whole.export());
    assert_eq!(parts.history().trace(), whole.history().trace());

    let token = CancelToken::new();
    token.cancel();
    let mut t = Trainer::new(params.clone(), 784, 10).unwrap();
    let out = t
        .train(&sample, &TrainOptions::new().cancel(token), quiet)
        .unwrap();
    assert_eq!((out.reason, out.step), (StopReason::Cancelled, 0));
    let mut t = Trainer::new(params, 784, 10).unwrap();
    let out = t
        .train(&sample, &TrainOptions::new(), |_| ControlFlow::Break(()))
        .unwrap();
    assert_eq!((out.reason, out.step), (StopReason::Callback, 1));
}

#[test]
fn typed_errors() {
    let p = GradientParams::default;
    assert!(matches!(
        Trainer::new(p().hidden(vec![]), 784, 10),
        Err(GradientError::Params(GradientParamsError::Hidden))
    ));
    assert!(matches!(
        Trainer::new(p().learning_rate(-1.0), 784, 10),
        Err(GradientError::Params(GradientParamsError::NotPositive {
            name: "learning_rate",
            ..
        }))
    ));
    assert!(matches!(
        Trainer::new(p(), 783, 10),
        Err(GradientError::NotSquare(783))
    ));
    assert!(Trainer::new(p().max_shift(0), 783, 10).is_ok());
    assert!(matches!(
        Trainer::new(p(), 784, 1),
        Err(GradientError::Shape { .. })
    ));
    let data = Dataset::embedded();
    let mut t = Trainer::new(p().hidden(vec![8]).epochs(1), 784, 2).unwrap();
    let err = t
        .train(&data.test.sample(0.01, 10), &TrainOptions::new(), quiet)
        .unwrap_err();
    assert!(
        matches!(err, GradientError::Label { classes: 2, .. }),
        "{err}"
    );
    let noisy = data.test.sample(0.01, 2).noisy(Default::default(), 1);
    let mut t = Trainer::new(p().hidden(vec![8]).input(Input::Grey), 784, 2).unwrap();
    assert!(matches!(
        t.train(&noisy, &TrainOptions::new(), quiet),
        Err(GradientError::Label { .. })
    ));
    let empty = data.test.select(&[]);
    assert_eq!(
        t.train(&empty, &TrainOptions::new(), quiet),
        Err(GradientError::EmptyData)
    );
}

#[test]
fn conv_model_exports_bit_convolutions_that_predict_as_the_training_network() {
    let data = Dataset::embedded();
    let sample = data.train.sample_shuffled(0.2, 10, 3);
    let (features, hidden) =
        bitsmnist_core::layers::parse_architecture("conv6x3,pool2,conv8x3s2p1,48").unwrap();
    let params = GradientParams::default()
        .features(features)
        .hidden(hidden)
        .epochs(4)
        .seed(4);
    let mut t = Trainer::new(params, 784, 10).unwrap();
    t.train(&sample, &TrainOptions::new(), quiet).unwrap();
    let model = t.export();
    assert_eq!(
        model.to_string(),
        "Chain(BitConv2d(28x28x1 → 28x28x6, 3x3, padding 1, thresholds), \
         BitMaxPool(28x28x6 → 14x14x6, 2x2), \
         BitConv2d(14x14x6 → 7x7x8, 3x3, stride 2, padding 1, thresholds), \
         BitDense(392, 48, thresholds), BitDense(48, 10, float, scaled))"
    );
    let exported = model.predict_split(&data.test).unwrap();
    let network = t.predict_network(&data.test).unwrap();
    agree_but_for_near_ties(&exported, &network);
    let acc = statistics::accuracy(&model, &data.test);
    assert!(acc > 0.7, "accuracy {acc}");
    // The saved state resumes: it reloads with its geometry and exports the same model.
    let file = ModelFile::from_state(
        &bitsmnist_core::training::TrainingState::Gradient(t.clone()),
        &sample,
    );
    let back = ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    assert_eq!(back.model, model);
    assert_eq!(back.state.unwrap().current_model(), model);
}
