//! `Dataset::from_dir` on a folder of four fuzzed IDX files (what `--dataset DIR` reads) must
//! return a data set that keeps its invariants or a typed error: never panic, abort or
//! allocate beyond the IDX limits, whatever the files declare together (counts that differ
//! between images and labels, sizes that differ between splits, empty or huge images).
//!
//! Input layout: four little-endian `u16` lengths, then the four files' bytes in the order
//! train images, train labels, test images, test labels (the last takes the rest).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use bitsmnist_core::datasets::{Binarization, Dataset, MAX_SIDE, Task};
use libfuzzer_sys::fuzz_target;

const STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("bitsmnist-fuzz-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, mut rest) = data.split_at(8);
    let dir = folder();
    for (i, stem) in STEMS.iter().enumerate() {
        let len = if i == 3 {
            rest.len()
        } else {
            (u16::from_le_bytes([head[2 * i], head[2 * i + 1]]) as usize).min(rest.len())
        };
        let (file, tail) = rest.split_at(len);
        rest = tail;
        std::fs::write(dir.join(stem), file).unwrap();
    }
    match Dataset::from_dir(dir, Binarization::default()) {
        Ok(d) => {
            assert!(!d.train.is_empty() && !d.test.is_empty());
            assert!(d.shape.0 <= MAX_SIDE && d.shape.1 <= MAX_SIDE);
            assert_eq!(d.train.images().cols(), d.pixels());
            assert!(d.train.labels().iter().all(|&l| (l as usize) < d.classes()));
            let _ = d.for_task(&Task::zero_one());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
