//! Incremental evaluation against the full forward pass.

use bitsmnist_core::bits::BitMatrix;
use bitsmnist_core::datasets::Split;
use bitsmnist_core::prelude::*;
use bitsmnist_core::search::{DeltaError, DeltaEval, Flip, Objective};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_bits(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> BitMatrix {
    let mut m = BitMatrix::zeros(rows, cols);
    m.randomize(rng);
    m
}

#[derive(Debug)]
struct Shape {
    inputs: usize,
    hidden: usize,
    classes: usize,
    thresholds: bool,
    affine: bool,
    activation: Activation,
}

fn chain(s: &Shape, rng: &mut ChaCha8Rng) -> Chain {
    let width = if s.hidden > 0 { s.hidden } else { s.inputs };
    let mut out = BitDense::new(width, s.classes)
        .with_seed(rng.random())
        .with_output(BitOutput::Float(s.activation));
    if s.affine {
        let scale = (0..s.classes)
            .map(|_| rng.random_range(-0.2..0.2))
            .collect();
        let offset = (0..s.classes)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        out = out.with_affine(scale, offset).unwrap();
    }
    let mut layers = Vec::new();
    if s.hidden > 0 {
        let mut h = BitDense::new(s.inputs, s.hidden).with_seed(rng.random());
        if s.thresholds {
            let t = (0..s.hidden)
                .map(|_| rng.random_range(-1..=s.inputs as i64 + 1))
                .collect();
            h = h.with_thresholds(t).unwrap();
        }
        layers.push(h.into());
    }
    layers.push(out.into());
    Chain::new(layers).unwrap()
}

/// Shapes (one or two layers, plain or per-neuron rules, every activation), batch sizes,
/// margin caps and seeds for the property tests.
fn cases() -> impl Strategy<Value = (Shape, usize, u32, u64)> {
    (
        (1usize..150, 0usize..40, 1usize..12),
        1usize..150,
        (any::<bool>(), any::<bool>(), 0usize..4),
        0u32..6,
        any::<u64>(),
    )
        .prop_map(
            |((inputs, hidden, classes), examples, (thresholds, affine, a), cap, seed)| {
                let shape = Shape {
                    inputs,
                    hidden,
                    classes,
                    thresholds,
                    affine,
                    activation: Activation::all()[a],
                };
                (shape, examples, cap, seed)
            },
        )
}

/// A random model of `shape`, `examples` random examples with labels, a random objective with
/// margin cap `cap`, and the generator for what follows.
fn case(
    shape: &Shape,
    examples: usize,
    cap: u32,
    seed: u64,
) -> (Chain, Split, Objective, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let chain = chain(shape, &mut rng);
    let images = random_bits(examples, shape.inputs, &mut rng);
    let labels: Vec<u8> = (0..examples)
        .map(|_| rng.random_range(0..shape.classes as u8))
        .collect();
    let split = Split::new(images, labels, None).unwrap();
    let objective = Objective {
        correct_weight: rng.random_range(0..5),
        margin_cap: cap,
    };
    (chain, split, objective, rng)
}

fn random_flip(e: &DeltaEval, rng: &mut ChaCha8Rng) -> Flip {
    let two = e.hidden() > 0;
    match rng.random_range(0..if two { 4 } else { 2 }) {
        0 => Flip::OutputWeight {
            class: rng.random_range(0..e.classes()),
            input: rng.random_range(0..e.output_inputs()),
        },
        1 => Flip::OutputBias {
            class: rng.random_range(0..e.classes()),
        },
        2 => Flip::HiddenBias {
            neuron: rng.random_range(0..e.hidden()),
        },
        _ => Flip::HiddenWeight {
            neuron: rng.random_range(0..e.hidden()),
            input: rng.random_range(0..e.inputs()),
        },
    }
}

fn correct_by_forward(chain: &Chain, split: &Split) -> usize {
    chain
        .predict(split.images())
        .iter()
        .zip(split.labels())
        .filter(|(p, l)| **p == usize::from(**l))
        .count()
}

/// Applies random flips; after each one, the incremental state must agree with a state built
/// from scratch and with the forward pass.
fn check_walk(eval: &mut DeltaEval, split: &Split, objective: Objective, steps: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..steps {
        let flip = random_flip(eval, &mut rng);
        let predicted = eval.objective() + eval.delta(flip);
        eval.apply(flip);
        assert_eq!(eval.objective(), predicted, "{flip:?}");
        let fresh =
            DeltaEval::new(&eval.chain(), split.images(), split.labels(), objective).unwrap();
        assert_eq!(fresh.objective(), eval.objective(), "{flip:?}");
        assert_eq!(
            eval.correct(),
            correct_by_forward(&eval.chain(), split),
            "{flip:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn incremental_evaluation_equals_the_full_forward_pass(
        (shape, examples, cap, seed) in cases(),
    ) {
        let (chain, split, objective, mut rng) = case(&shape, examples, cap, seed);
        let mut eval = DeltaEval::new(&chain, split.images(), split.labels(), objective).unwrap();
        prop_assert_eq!(eval.correct(), correct_by_forward(&chain, &split));
        check_walk(&mut eval, &split, objective, 30, seed);
        // Flips are their own inverse.
        let before = eval.chain();
        let total = eval.objective();
        let flip = random_flip(&eval, &mut rng);
        eval.apply(flip);
        eval.apply(flip);
        prop_assert_eq!(eval.chain(), before);
        prop_assert_eq!(eval.objective(), total);
    }
}

/// Replaces random whole rows (hidden and output neurons, as crossover does) with rows of a
/// donor network or random rows; after each one, the state must agree with a state built from
/// scratch and with the forward pass, and undoing must restore the model exactly.
#[test]
fn real_digits_through_a_784_128_10_model() {
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let split = data.train.select(&(0..700).collect::<Vec<_>>());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let shape = Shape {
        inputs: 784,
        hidden: 128,
        classes: 10,
        thresholds: false,
        affine: false,
        activation: Activation::Identity,
    };
    let chain = chain(&shape, &mut rng);
    let objective = Objective::default();
    let mut eval = DeltaEval::new(&chain, split.images(), split.labels(), objective).unwrap();
    check_walk(&mut eval, &split, objective, 60, 3);
    let several = [
        Flip::HiddenWeight {
            neuron: 1,
            input: 300,
        },
        Flip::HiddenWeight {
            neuron: 1,
            input: 301,
        },
        Flip::OutputWeight { class: 4, input: 9 },
    ];
    let before = eval.objective();
    let with = eval.objective_with(&several);
    assert_eq!(eval.objective(), before);
    for f in several {
        eval.apply(f);
    }
    assert_eq!(eval.objective(), with);
    assert!(eval.memory_bytes() > 0);
}

#[test]
fn unsupported_models_and_examples_are_typed_errors() {
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let split = data.train.select(&[0, 1, 2]);
    let o = Objective::default();
    let bits_out = Chain::new(vec![BitDense::new(784, 10).into()]).unwrap();
    assert_eq!(
        DeltaEval::new(&bits_out, split.images(), split.labels(), o).unwrap_err(),
        DeltaError::BitOutput
    );
    let three = Chain::new(vec![
        BitDense::new(784, 8).into(),
        BitDense::new(8, 8).into(),
        BitDense::new(8, 10)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    assert!(matches!(
        DeltaEval::new(&three, split.images(), split.labels(), o),
        Err(DeltaError::Shape(_))
    ));
    let two_classes = Chain::new(vec![
        BitDense::new(784, 2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    assert!(matches!(
        DeltaEval::new(&two_classes, split.images(), split.labels(), o),
        Err(DeltaError::Label { .. })
    ));
    let narrow = Chain::new(vec![
        BitDense::new(100, 10)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    assert!(matches!(
        DeltaEval::new(&narrow, split.images(), split.labels(), o),
        Err(DeltaError::InputWidth { .. })
    ));
}
