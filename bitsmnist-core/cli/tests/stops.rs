//! SIGINT at the start of each long step outside the training steps proper: loading a large
//! data folder, imprinting the filters of a big convolution architecture, re-estimating the
//! batch statistics of a deep gradient model. Each run stops at the step's next stop point,
//! saves what there is to save and exits with 130. What shows the step was cut short is
//! deterministic (what the program says it was doing, what it saved); the time from the
//! signal to the exit is printed, not asserted (speed is measured, in docs/command-line.md,
//! not tested), and [`DEADLINE`] only guards against a hang.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::{Dataset, Idx};
use common::*;

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(bin())
        .env("BITSMNIST_RUNS_DIR", common::RUNS)
        .args(args)
        .current_dir(dir)
        .env("BITSMNIST_DATA_DIR", NO_CACHE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGINT to `child`, waits for it to end (failing after [`DEADLINE`]) and prints how
/// long that took.
fn interrupt(mut child: Child, what: &str) -> Output {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: still running after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "{what}: exit {:.3} s after SIGINT",
        start.elapsed().as_secs_f64()
    );
    child.wait_with_output().unwrap()
}

#[test]
fn sigint_while_loading_a_large_folder_stops_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("big");
    std::fs::create_dir(&data).unwrap();
    // 500 images of 1024x1024 pixels (an embedded digit in a corner of each), gzipped: a
    // small file that takes seconds to decode and binarise, read before the other three.
    let digits = Dataset::embedded();
    let (n, side) = (500, 1024);
    let mut pixels = vec![0u8; n * side * side];
    for i in 0..n {
        let digit = digits.train.grey(i).unwrap();
        for y in 0..28 {
            let at = i * side * side + y * side;
            pixels[at..at + 28].copy_from_slice(&digit[y * 28..y * 28 + 28]);
        }
    }
    let labels = digits.train.labels()[..n].to_vec();
    Idx {
        dims: vec![n, side, side],
        data: pixels,
    }
    .save(&data.join("train-images-idx3-ubyte.gz"))
    .unwrap();
    Idx {
        dims: vec![n],
        data: labels.clone(),
    }
    .save(&data.join("train-labels-idx1-ubyte"))
    .unwrap();
    Idx {
        dims: vec![1, side, side],
        data: vec![0; side * side],
    }
    .save(&data.join("t10k-images-idx3-ubyte"))
    .unwrap();
    Idx {
        dims: vec![1],
        data: labels[..1].to_vec(),
    }
    .save(&data.join("t10k-labels-idx1-ubyte"))
    .unwrap();
    let child = spawn(
        dir.path(),
        &["train", "--dataset", "big", "--quiet", "--out", "m.bin"],
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = interrupt(child, "loading 500 images of 1024x1024");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("while loading the data set"), "{err}");
    assert!(out.stdout.is_empty(), "nothing trained: {:?}", out.stdout);
    assert!(!dir.path().join("m.bin").exists());
}

// Imprinting these filters and then the climb's first generation, which computes the features
// of every training digit (once per member), take about half a minute on two cores; both stop
// at their stop points. Where the signal lands depends on the machine's speed, so either end
// is accepted, but no generation may have run.
#[test]
fn sigint_while_imprinting_or_computing_the_first_features_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(
        dir.path(),
        &[
            "train",
            "--task",
            "digits",
            "--arch",
            "conv64x7,conv64x7,pool4,800",
            "--quiet",
            "--out",
            "m.bin",
        ],
    );
    std::thread::sleep(Duration::from_millis(2000));
    let out = interrupt(child, "imprinting conv64x7,conv64x7 or its first features");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let saved = dir.path().join("m.bin");
    if err.contains("while making the run") {
        // Stopped before the header line, which follows the imprinting.
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!saved.exists());
    } else {
        assert!(err.contains("interrupted by a signal at step 0"), "{err}");
        let file = bitsmnist_core::io::ModelFile::load(&saved).expect("the run is saved");
        let state = file.state.expect("with its state");
        assert_eq!(state.step_number(), 0, "no generation ran");
    }
}

#[test]
fn sigint_while_re_estimating_batch_statistics_saves_the_trained_model() {
    let dir = tempfile::tempdir().unwrap();
    // 100 hidden layers: one epoch is one mini-batch (1,000 digits, three passes through
    // the layers), the re-estimation after it 5,050 layer passes, so the signal lands in it.
    let hidden = vec!["128"; 100].join(",");
    let mut child = spawn(
        dir.path(),
        &[
            "train",
            "--method",
            "gradient",
            "--task",
            "digits",
            "--sample",
            "0.1",
            "--hidden",
            &hidden,
            "--epochs",
            "1",
            "--batch-size",
            "1000",
            "--quiet",
            "--out",
            "g.bin",
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut header = String::new();
    stdout.read_line(&mut header).unwrap();
    assert!(header.contains("gradient training"), "{header}");
    std::thread::sleep(Duration::from_millis(300));
    let out = interrupt(child, "re-estimating the statistics of 100 layers");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("while re-estimating the batch statistics"),
        "{err}"
    );
    assert!(err.contains("saved g.bin"), "{err}");
    // The saved model is whole: it evaluates.
    let eval = Command::new(bin())
        .env("BITSMNIST_RUNS_DIR", common::RUNS)
        .args(["eval", "g.bin"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(eval.status.success(), "{}", stderr(&eval));
}
