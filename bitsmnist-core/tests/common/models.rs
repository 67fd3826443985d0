//! The models the export tests check (host C and Rust in `tests/export.rs`, the Cortex-M4 in
//! `tests/mcu.rs`): three kinds of trained model, trained quickly on the embedded data, and two
//! bit convolution models built by hand from random filters and thresholds. Each returns its
//! task's data and the model.

use std::ops::ControlFlow;

use bitsmnist_core::gradient::GradientParams;
use bitsmnist_core::prelude::*;
use bitsmnist_core::search::ClimbParams;
use bitsmnist_core::training::Recipe;
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

/// Random thresholds around half of `n` inputs, `n / 2 ± sqrt(n)`: mixed bits, neither all 0
/// nor all 1.
fn thresholds(rng: &mut rand_chacha::ChaCha8Rng, n: usize, outputs: usize) -> Vec<i64> {
    use rand::Rng;
    let spread = (n as f64).sqrt().ceil() as i64;
    (0..outputs)
        .map(|_| n as i64 / 2 + rng.random_range(-spread..=spread))
        .collect()
}

/// A convolution of random filters from `seed` with random per-neuron thresholds.
fn conv(
    rng: &mut rand_chacha::ChaCha8Rng,
    input: Shape,
    (window, stride, padding): (usize, usize, usize),
    filters: usize,
) -> Layer {
    use rand::Rng;
    let mut c = BitConv2d::new(input, window, stride, padding, filters)
        .unwrap()
        .with_seed(rng.random());
    let n = c.filters().inputs();
    let f = c
        .filters()
        .clone()
        .with_thresholds(thresholds(rng, n, filters))
        .unwrap();
    *c.filters_mut() = f;
    c.into()
}

/// Dense layers on `inputs` bits: random hidden layers with thresholds, then 10 float scores
/// with random scales and offsets around the middle distance.
fn dense_top(rng: &mut rand_chacha::ChaCha8Rng, inputs: usize, hidden: &[usize]) -> Vec<Layer> {
    use rand::Rng;
    let mut layers = Vec::new();
    let mut n = inputs;
    for &h in hidden {
        let t = thresholds(rng, n, h);
        layers.push(
            BitDense::new(n, h)
                .with_seed(rng.random())
                .with_thresholds(t)
                .unwrap()
                .into(),
        );
        n = h;
    }
    // Scores `scale (d - n / 2)` and a little noise: each class wins on some images.
    let scale: Vec<f32> = (0..10).map(|_| rng.random_range(-1.0..1.0)).collect();
    let offset: Vec<f32> = scale
        .iter()
        .map(|s| -s * (n / 2) as f32 + rng.random_range(-0.5..0.5))
        .collect();
    layers.push(
        BitDense::new(n, 10)
            .with_seed(rng.random())
            .with_output(BitOutput::Float(Activation::Identity))
            .with_affine(scale, offset)
            .unwrap()
            .into(),
    );
    layers
}

/// The typical bit convolution model, built by hand from random filters with per-neuron
/// thresholds: Conv(28x28x1 → 28x28x16, 3x3, padding 1) → Pool(2x2) → Conv(14x14x16 →
/// 14x14x32, 3x3, padding 1) → Pool(2x2) → BitDense(1568 → 256, thresholds) → BitDense(256 →
/// 10, scaled float scores); the ten-digit data.
pub fn conv_typical() -> (Dataset, Chain) {
    use rand::SeedableRng;
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut layers = vec![
        conv(&mut rng, Shape::MNIST, (3, 1, 1), 16),
        BitMaxPool::new(Shape::new(28, 28, 16), 2, 2)
            .unwrap()
            .into(),
        conv(&mut rng, Shape::new(14, 14, 16), (3, 1, 1), 32),
        BitMaxPool::new(Shape::new(14, 14, 32), 2, 2)
            .unwrap()
            .into(),
    ];
    layers.extend(dense_top(&mut rng, 7 * 7 * 32, &[256]));
    (data, Chain::new(layers).unwrap())
}

/// A convolution model of odd shapes: stride 2 with padding 1 on the image into 12 channels,
/// a 2x2 convolution with padding 1 into 20 channels (a map that grows to 15x15, channel
/// counts no multiple of 32), an overlapping 3x3 pool every 2 pixels, a 5x5 convolution
/// without padding, then 45 hidden neurons and scaled float scores.
pub fn conv_odd() -> (Dataset, Chain) {
    use rand::SeedableRng;
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut layers = vec![
        // (28 + 2 - 3) / 2 + 1 = 14.
        conv(&mut rng, Shape::MNIST, (3, 2, 1), 12),
        // (14 + 2 - 2) / 1 + 1 = 15.
        conv(&mut rng, Shape::new(14, 14, 12), (2, 1, 1), 20),
        // (15 - 3) / 2 + 1 = 7.
        BitMaxPool::new(Shape::new(15, 15, 20), 3, 2)
            .unwrap()
            .into(),
        // 7 - 5 + 1 = 3.
        conv(&mut rng, Shape::new(7, 7, 20), (5, 1, 0), 7),
    ];
    layers.extend(dense_top(&mut rng, 3 * 3 * 7, &[45]));
    (data, Chain::new(layers).unwrap())
}
