//! The option checking of `bitsmnist train` (parsing and `plan`, everything that happens
//! before data is loaded) must end in a plan or a one-line error with exit status 1 or 2:
//! never a panic, whatever the flags and values. The input picks flags and values from the
//! command's own flags, values that broke it before (non-finite and huge numbers, sizes, lists
//! with unknown classes), and raw text; paths are names in a scratch folder holding a model,
//! a FIFO, a folder and a damaged file. (Raw text, its slashes replaced, names at most a file
//! in the working folder: `plan` only reads files and probes `--out` with a temporary file it
//! removes.)
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const FLAGS: &[&str] = &[
    "--method", "--task", "--sample", "--hidden", "--output", "--strategy", "--ensemble",
    "--trials", "--rebatch-every", "--margin", "--correct-weight", "--output-share",
    "--accept-ties", "--rescore-every", "--population", "--elitism", "--selection",
    "--crossover", "--mutation", "--adapt", "--evals", "--batch", "--fitness", "--generations",
    "--target", "--patience", "--validate-every", "--checkpoint-every", "--resume", "--init",
    "--out", "--epochs", "--batch-size", "--lr", "--schedule", "--shift", "--input", "--seed",
    "--progress", "--quiet", "--time-limit", "--test-every-epoch", "--threads",
    "--memory-limit", "--dataset", "--binarize", "--cache-dir",
];

const VALUES: &[&str] = &[
    "", "0", "1", "2", "7", "-1", "NaN", "inf", "-inf", "1e300", "0.5", "1e-300", "-0",
    "18446744073709551615", "18446744073709551616", "100000000", "65536", "3,42", "3,8",
    "digits", "zero-one", "0,1,2", "genetic", "gradient", "climb", "population", "full",
    "bits", "grey", "float", "sigmoid", "tournament:3", "tournament:0", "split:0", "split:2",
    "uniform", "neuron", "none", "flip:0.5", "flip-k:100000000", "replace:2", "one-fifth",
    "stagnation:0", "cosine", "cosine:2", "step:0:0.5", "constant", "mean", "255", "256",
    "8G", "1k", "machine", "1,1", ",", "64,64", "embedded", "score", "mcc", "accuracy",
];

/// Names in the scratch folder, given as absolute paths.
const PATHS: &[&str] = &[
    "model.bin", "fifo", "missing.bin", "folder", "folder/out.bin", "damaged.bin",
    "model.bin/x.bin", "",
];

fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        use bitsmnist_core::prelude::*;
        let dir =
            std::env::temp_dir().join(format!("bitsmnist-fuzz-cli-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("folder")).unwrap();
        let task = Task::zero_one();
        let data = Dataset::embedded().for_task(&task).unwrap();
        let state = bitsmnist_core::training::Recipe::for_task(&task)
            .config
            .fresh(784, &[8], 2, BitOutput::Float(Activation::Identity), 1)
            .unwrap();
        let file = ModelFile::from_state(&state, &data.train).with_meta(
            bitsmnist_core::io::Metadata::now()
                .with_dataset(&data)
                .with_task(&task),
        );
        file.save(&dir.join("model.bin")).unwrap();
        let mut bytes = file.to_bytes().unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        std::fs::write(dir.join("damaged.bin"), bytes).unwrap();
        let _ = std::process::Command::new("mkfifo").arg(dir.join("fifo")).status();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let mut args: Vec<String> = Vec::new();
    let mut i = 0;
    while i < data.len() && args.len() < 24 {
        let b = data[i] as usize;
        i += 1;
        if b < 2 * FLAGS.len() {
            args.push(FLAGS[b % FLAGS.len()].to_string());
        } else if b < 2 * FLAGS.len() + VALUES.len() {
            args.push(VALUES[b - 2 * FLAGS.len()].to_string());
        } else if b < 2 * FLAGS.len() + VALUES.len() + PATHS.len() {
            let name = PATHS[b - 2 * FLAGS.len() - VALUES.len()];
            args.push(dir.join(name).to_string_lossy().into_owned());
        } else {
            // Raw text up to the next zero byte.
            let end = data[i..].iter().position(|&c| c == 0).map_or(data.len(), |p| i + p);
            // Without separators, a raw path names a file in the working folder at most: the
            // `--out` probe never makes folders elsewhere.
            let text = String::from_utf8_lossy(&data[i..end]).replace(['/', '\\'], "_");
            args.push(text);
            i = end + 1;
        }
    }
    match bitsmnist_cli::check_train(&args) {
        Ok(_) => {}
        Err((status, line)) => {
            assert!(status == 1 || status == 2, "{args:?}: status {status}");
            assert!(!line.is_empty());
        }
    }
});
