//! Bit-flip hill climbing on the 10 digits, printing test accuracy as it goes.
//!
//! `cargo run --release -p bitsmnist-core --example climb -- [key=value ...]` with keys
//! `hidden` (800), `batch` (2000; 0 = all), `rebatch` (10), `trials` (20000), `share` (0.05),
//! `weight` (4), `cap` (4), `seconds` (60), `seed` (1), `ties` (1).

use std::time::Duration;

use bitsmnist_core::prelude::*;
use bitsmnist_core::run::TrainOptions;
use bitsmnist_core::search::{ClimbParams, Climber, Objective};

fn main() {
    let arg = |k: &str, d: f64| -> f64 {
        std::env::args()
            .skip(1)
            .find_map(|a| a.strip_prefix(&format!("{k}=")).map(|v| v.parse().unwrap()))
            .unwrap_or(d)
    };
    let hidden = arg("hidden", 800.0) as usize;
    let batch = arg("batch", 2000.0) as usize;
    let seed = arg("seed", 1.0) as u64;
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let model = Chain::new(vec![
        BitDense::new(784, hidden).with_seed(seed).into(),
        BitDense::new(hidden, 10)
            .with_seed(seed + 1)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    let params = ClimbParams::default()
        .seed(seed)
        .batch_size((batch > 0).then_some(batch))
        .rebatch_every(arg("rebatch", 10.0) as u64)
        .trials_per_generation(arg("trials", 20000.0) as u64)
        .output_share(arg("share", 0.05))
        .accept_ties(arg("ties", 1.0) > 0.0)
        .objective(Objective {
            correct_weight: arg("weight", 4.0) as u32,
            margin_cap: arg("cap", 4.0) as u32,
        });
    let mut climber = Climber::new(model, params).unwrap();
    let every = arg("every", 10.0) as u64;
    let options = TrainOptions::new()
        .time_limit(Duration::from_secs_f64(arg("seconds", 60.0)))
        .validate_on(&data.test, every)
        .print_every(every);
    let outcome = climber.run(&data.train, &options).unwrap();
    let test = statistics::accuracy(climber.chain(), &data.test);
    let train = statistics::accuracy(climber.chain(), &data.train);
    println!(
        "{{\"test_accuracy\": {test}, \"train_accuracy\": {train}, \"trials\": {}, \"kept\": {}, \"seconds\": {:.1}, \"flips_per_sec\": {:.0}, \"memory_bytes\": {}}}",
        climber.trials(),
        climber.accepted(),
        outcome.elapsed.as_secs_f64(),
        climber.trials() as f64 / outcome.elapsed.as_secs_f64(),
        climber.memory_bytes()
    );
}
