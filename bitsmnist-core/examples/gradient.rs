//! Gradient training of a bit model, printing one line per epoch.
//!
//! ```text
//! cargo run --release -p bitsmnist-core --example gradient -- [DATA] [HIDDEN] [EPOCHS] [LR] [SHIFT] [INPUT] [BATCH] [SEED]
//! cargo run --release -p bitsmnist-core --example gradient -- embedded 4096 40 0.005 1 bits 100 1
//! cargo run --release -p bitsmnist-core --example gradient -- /usr/share/datasets/fashion-mnist 784 20
//! ```
//!
//! `DATA` is `embedded` or a folder of IDX files; `HIDDEN` is an architecture as `--arch`
//! writes it: comma-separated widths, after convolutions and pools if any
//! (`conv32x3,pool2,conv64x3,pool2,512`).

use std::time::Instant;

use bitsmnist_core::gradient::{GradientParams, Trainer};
use bitsmnist_core::prelude::*;
use bitsmnist_core::run::TrainOptions;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let source: Source = arg(0, "embedded").parse().unwrap();
    let data = Dataset::load(&source, Binarization::default()).expect("data");
    let (features, hidden) = bitsmnist_core::layers::parse_architecture(&arg(1, "2048")).unwrap();
    let d = GradientParams::default();
    let params = GradientParams::default()
        .hidden(hidden)
        .features(features)
        .epochs(arg(2, &d.epochs.to_string()).parse().unwrap())
        .learning_rate(arg(3, &d.learning_rate.to_string()).parse().unwrap())
        .max_shift(arg(4, &d.max_shift.to_string()).parse().unwrap())
        .input(arg(5, "bits").parse().unwrap())
        .batch_size(arg(6, &d.batch_size.to_string()).parse().unwrap())
        .seed(arg(7, "1").parse().unwrap());
    println!(
        "{}: {} train, {} test; {params:?}; {} threads",
        data.name,
        data.train.len(),
        data.test.len(),
        rayon::current_num_threads()
    );
    let mut t = Trainer::new(params.clone(), data.pixels(), data.classes()).unwrap();
    let start = Instant::now();
    let out = t
        .run(
            &data.train,
            &TrainOptions::new()
                .validate_on(&data.test, 1)
                .print_every(1),
        )
        .unwrap();
    let model = t.export();
    // The model reads the trainer's input (bits or grey levels) by itself.
    let t_eval = Instant::now();
    let exported = statistics::accuracy(&model, &data.test);
    println!(
        "the exported bit model classifies the {} test digits in {:.2} s",
        data.test.len(),
        t_eval.elapsed().as_secs_f64()
    );
    let net = t.predict_network(&data.test).unwrap();
    let exp = model.predict_split(&data.test).unwrap();
    let agree = net.iter().zip(&exp).filter(|(a, b)| a == b).count();
    println!(
        "{model}: test accuracy {:.2}% after {:.1} s ({:?}); export agrees with the network on {agree}/{}",
        exported * 100.0,
        start.elapsed().as_secs_f64(),
        out.reason,
        net.len()
    );
}
