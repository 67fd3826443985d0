//! Gradient training on the ten digits, then genetic fine-tuning of the exported bit model
//! for a fixed time ([`Population::starting_from`]); prints the test accuracy before and after
//! as one JSON line.
//!
//! ```text
//! cargo run --release -p bitsmnist-core --example fine_tune
//! cargo run --release -p bitsmnist-core --example fine_tune -- hidden=256 epochs=20 seconds=60 pop=24 elite=4 k=4 seed=1
//! ```
//!
//! The fitness is the accuracy on the whole training split (no mini-batches), so with an elite
//! the training accuracy can only go up; whether the test accuracy follows is what this
//! measures.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use bitsmnist_core::gradient::{GradientParams, Trainer};
use bitsmnist_core::prelude::*;
use bitsmnist_core::search::{Crossover, Mutation};

fn main() {
    let (mut hidden, mut epochs, mut seconds) = (256usize, 20u32, 60.0f64);
    let (mut pop, mut elite, mut k, mut seed) = (24usize, 4usize, 4usize, 1u64);
    for arg in std::env::args().skip(1) {
        let (key, v) = arg
            .split_once('=')
            .unwrap_or_else(|| panic!("expected key=value, got {arg}"));
        match key {
            "hidden" => hidden = parse(key, v),
            "epochs" => epochs = parse(key, v),
            "seconds" => seconds = parse(key, v),
            "pop" => pop = parse(key, v),
            "elite" => elite = parse(key, v),
            "k" => k = parse(key, v),
            "seed" => seed = parse(key, v),
            _ => panic!("unknown option {key} (hidden, epochs, seconds, pop, elite, k, seed)"),
        }
    }
    let data = Dataset::embedded();

    let start = Instant::now();
    let params = GradientParams::default()
        .hidden(vec![hidden])
        .epochs(epochs)
        .seed(seed);
    let mut trainer = Trainer::new(params, data.pixels(), data.classes()).expect("parameters");
    trainer
        .train(
            &data.train,
            &bitsmnist_core::run::TrainOptions::new().print_every(5),
            |_| ControlFlow::Continue(()),
        )
        .expect("trains");
    let gradient_secs = start.elapsed().as_secs_f64();
    let model = trainer.export();
    let test_before = statistics::accuracy(&model, &data.test);
    let train_before = statistics::accuracy(&model, &data.train);
    println!(
        "{model} after {gradient_secs:.1} s: train {:.2}%, test {:.2}%",
        100.0 * train_before,
        100.0 * test_before
    );

    let start = Instant::now();
    // Small moves around a good model: a few bit flips, crossover between near copies.
    let ga = PopulationParams::default()
        .population(pop)
        .elitism(elite)
        .crossover(Crossover::Uniform)
        .mutation(Mutation::FlipK { k })
        .seed(seed);
    let layers: Vec<usize> = (0..model.layers().len()).collect();
    let mut set = Population::starting_from(model, &layers, ga).expect("bit layers");
    let outcome = set
        .run(
            &Fitness::accuracy(&data.train),
            &TrainOptions::new()
                .time_limit(Duration::from_secs_f64(seconds))
                .quiet(),
        )
        .expect("trains");
    let genetic_secs = start.elapsed().as_secs_f64();
    let test_after = statistics::accuracy(set.chain(), &data.test);
    let train_after = statistics::accuracy(set.chain(), &data.train);
    println!(
        "fine-tuned {} generations in {genetic_secs:.1} s: train {:.2}%, test {:.2}%",
        outcome.step,
        100.0 * train_after,
        100.0 * test_after
    );
    println!(
        "{{\"hidden\":{hidden},\"epochs\":{epochs},\"gradient_secs\":{gradient_secs:.1},\
         \"train_accuracy_before\":{train_before},\"test_accuracy_before\":{test_before},\
         \"generations\":{},\"genetic_secs\":{genetic_secs:.1},\
         \"train_accuracy_after\":{train_after},\"test_accuracy_after\":{test_after}}}",
        outcome.step
    );
}

fn parse<T: std::str::FromStr>(key: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| panic!("{key}: not a number: {v}"))
}
