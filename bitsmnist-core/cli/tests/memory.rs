//! The memory estimate holds for real runs: random settings and shapes, each trained by the
//! `bitsmnist` binary in a child process, whose peak resident memory (`ru_maxrss` from
//! `wait4`, the child's own) must stay within the estimate plus [`MARGIN`].
//!
//! The estimate of a run is what `train` checks before it starts: the run's
//! (`RunPlan::memory_estimate`, returned by [`bitsmnist_cli::check_train`]) plus the data set
//! held [`DATA_COPIES`] times. The cases are small (a sample of the embedded digits, one or two
//! steps) so that the debug binary runs each in a second or two.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};

use bitsmnist_core::memory::{DATA_COPIES, dataset_bytes};
use proptest::prelude::*;

/// What the binary holds whatever the run: its code and libraries (about 10 MB of the debug
/// build mapped in), the embedded digits' compressed files and their decoding buffers, the
/// allocator's free lists and the threads' stacks. Measured: the smallest run (784→8→2,
/// one generation on 5% of the zero-one digits) peaks at 46 MB with an estimate of
/// 54 MB, most of it the data set's copies; the margin covers what is not counted, with
/// room for allocators that keep freed memory.
const MARGIN: u64 = 64 << 20;

/// Runs `bitsmnist train ARGS` and returns its peak resident memory in bytes.
// The child is reaped by wait4, which `Child::wait` cannot replace: it returns the child's
// own resource usage.
#[allow(clippy::zombie_processes)]
fn peak_rss(args: &[String]) -> u64 {
    let child = Command::new(env!("CARGO_BIN_EXE_bitsmnist"))
        .env(
            "BITSMNIST_RUNS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/runs"),
        )
        .arg("train")
        .args(args)
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be filled in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (`child` is never waited: wait4
    // reaps it here, with its own resource usage rather than every child's).
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "bitsmnist train {args:?} failed: status {status:#x}"
    );
    // Linux reports kilobytes.
    (usage.ru_maxrss as u64) * 1024
}

/// The estimate `train` checks for `args` on the embedded digits (10,000 + 10,000 images).
fn estimate(args: &[String]) -> u64 {
    let run = bitsmnist_cli::check_train(args.iter().cloned())
        .unwrap_or_else(|(code, e)| panic!("refused ({code}): {e}"))
        .expect("a fresh run has an estimate");
    run + DATA_COPIES * dataset_bytes(20_000, 784)
}

fn check(args: Vec<String>) -> Result<(), TestCaseError> {
    let estimate = estimate(&args);
    let peak = peak_rss(&args);
    prop_assert!(
        peak <= estimate + MARGIN,
        "bitsmnist train {}: peak {} MB, estimate {} MB + margin {} MB",
        args.join(" "),
        peak >> 20,
        estimate >> 20,
        MARGIN >> 20
    );
    Ok(())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A climb (or an ensemble of climbs), sometimes after imprinted convolutions.
fn climb() -> impl Strategy<Value = Vec<String>> {
    (
        1usize..=3,
        prop_oneof![Just(8usize), Just(64), Just(300)],
        prop_oneof![
            Just(None),
            Just(Some("conv4x5,pool4")),
            Just(Some("conv2x9p8,pool8"))
        ],
        prop_oneof![Just("0.05"), Just("0.2")],
        1u32..=2,
    )
        .prop_map(|(members, hidden, conv, sample, generations)| {
            let mut a = strings(&["--task", "digits", "--method", "climb", "--trials", "200"]);
            a.extend(strings(&["--ensemble", &members.to_string()]));
            a.extend(strings(&["--sample", sample]));
            a.extend(strings(&["--generations", &generations.to_string()]));
            match conv {
                Some(c) => a.extend(strings(&["--arch", &format!("{c},{hidden}")])),
                None => a.extend(strings(&["--hidden", &hidden.to_string()])),
            }
            a
        })
}

/// A population, with mini-batches evaluated many times.
fn population() -> impl Strategy<Value = Vec<String>> {
    (
        2usize..=12,
        prop_oneof![Just(8usize), Just(64)],
        prop_oneof![Just("16"), Just("200"), Just("full")],
        1usize..=50,
    )
        .prop_map(|(size, hidden, batch, evals)| {
            let mut a = strings(&["--task", "zero-one", "--method", "population"]);
            a.extend(strings(&[
                "--population",
                &size.to_string(),
                "--elitism",
                "1",
            ]));
            a.extend(strings(&[
                "--hidden",
                &hidden.to_string(),
                "--batch",
                batch,
            ]));
            a.extend(strings(&[
                "--evals",
                &evals.to_string(),
                "--generations",
                "2",
            ]));
            a.extend(strings(&["--sample", "0.1"]));
            a
        })
}

/// Gradient training, dense or with a small convolution.
fn gradient() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![
            Just("--hidden 32"),
            Just("--hidden 128,64"),
            Just("--arch conv4x3,pool4,32")
        ],
        prop_oneof![Just("16"), Just("128")],
    )
        .prop_map(|(shape, batch)| {
            let mut a = strings(&[
                "--task", "zero-one", "--method", "gradient", "--epochs", "1",
            ]);
            a.extend(shape.split(' ').map(String::from));
            a.extend(strings(&["--batch-size", batch, "--sample", "0.05"]));
            a
        })
}

proptest! {
    // Each case is a training run of the debug binary (about a second): a handful keeps the
    // test under half a minute, and the cases are drawn afresh on every run of the suite.
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_climb_stays_within_its_estimate(args in climb()) {
        check(args)?;
    }

    #[test]
    fn a_population_stays_within_its_estimate(args in population()) {
        check(args)?;
    }

    #[test]
    fn gradient_training_stays_within_its_estimate(args in gradient()) {
        check(args)?;
    }
}

/// The cases: each refused before it allocates, with the estimate naming more than
/// the limit (exit status 2).
#[test]
fn what_would_not_fit_is_refused_before_it_is_allocated() {
    let refused = |args: &[&str], env: Option<(&str, &str)>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bitsmnist"));
        c.env(
            "BITSMNIST_RUNS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/runs"),
        );
        c.arg("train").args(args).arg("--quiet");
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let out = c.output().expect("the binary starts");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        stderr
    };
    // The convolution's windows of one example: 131 GB per thread.
    let e = refused(
        &["--task", "digits", "--arch", "conv1x1000p999,pool1000,16"],
        None,
    );
    assert!(e.contains("GB of memory"), "{e}");
    let e = refused(
        &[
            "--task",
            "digits",
            "--arch",
            "conv1x400p399,16",
            "--memory-limit",
            "1G",
        ],
        None,
    );
    assert!(e.contains("GB of memory"), "{e}");
    // A thread count from the environment is capped as --threads is.
    let e = refused(
        &["--generations", "1"],
        Some(("RAYON_NUM_THREADS", "100000")),
    );
    assert!(e.contains("RAYON_NUM_THREADS must be 1 to 1024"), "{e}");
}

/// `--evals` no longer holds every mini-batch at once: 300,000 evaluations of 512 examples
/// (7.5 GB when they were drawn up front) fit a 200 MB limit and stop at the time limit.
#[test]
fn many_evaluations_hold_one_batch_per_thread() {
    let args = strings(&[
        "--task",
        "digits",
        "--method",
        "population",
        "--evals",
        "300000",
        "--time-limit",
        "1",
        "--memory-limit",
        "200M",
    ]);
    let started = std::time::Instant::now();
    let peak = peak_rss(&args);
    assert!(peak < 200 << 20, "peak {} MB", peak >> 20);
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "{:?}",
        started.elapsed()
    );
}

/// A data folder of a few MB of gzip declaring half a gigabyte of pixels is refused from its
/// headers, before it is decoded: by `train` with the whole run's estimate, and by `data`
/// against the limit of one decoded copy.
#[test]
fn a_data_folder_is_sized_from_its_headers() {
    use bitsmnist_core::datasets::idx::Idx;
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000; // 78 MB of pixels, 0.1 MB of gzip
    for (name, dims) in [
        ("train-images-idx3-ubyte.gz", vec![n, 28, 28]),
        ("train-labels-idx1-ubyte.gz", vec![n]),
        ("t10k-images-idx3-ubyte.gz", vec![10, 28, 28]),
        ("t10k-labels-idx1-ubyte.gz", vec![10]),
    ] {
        let len = dims.iter().product();
        Idx {
            dims,
            data: vec![0; len],
        }
        .save(&dir.path().join(name))
        .unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bitsmnist"))
        .env(
            "BITSMNIST_RUNS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/runs"),
        )
        .args(["train", "--dataset", d, "--memory-limit", "150M", "--quiet"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("more than the 150.0 MB available"), "{e}");
    // The library refuses to decode it at all under a limit below one copy.
    bitsmnist_core::memory::set_limit(bitsmnist_core::memory::Limit::Bytes(50 << 20));
    let err =
        bitsmnist_core::datasets::Dataset::from_dir(dir.path(), Default::default()).unwrap_err();
    bitsmnist_core::memory::set_limit(bitsmnist_core::memory::Limit::Machine);
    assert!(
        matches!(err, bitsmnist_core::datasets::DataError::Memory { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("decodes to about 88.9 MB"),
        "{err}"
    );
}
