//! The command line against bad options, hostile files and signals, as an adversarial user
//! would try them: every case ends with a one-line error (for a value clap's parser refuses,
//! followed by clap's pointer to `--help`) and the right exit status (2: the
//! command line is refused, 1: the work failed), within a memory bound set with `ulimit -v`
//! and a time bound far below what the unchecked request would take, or, for signals, with
//! the run saved.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bitsmnist-tmp"))
        .collect()
}

#[test]
fn numbers_that_are_not_durations_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["inf", "1e300", "-1", "NaN"] {
        let out = run_in(dir.path(), &["train", "--time-limit", value, "--quiet"]);
        assert_error(&out, 2, "--time-limit", value);
        let out = run_in(dir.path(), &["bench", "--seconds", value]);
        assert_error(&out, 2, "--seconds", value);
        // The check comes before the method is chosen: the same for climbing and gradient.
        for method in [&["--method", "climb"][..], &["--method", "gradient"]] {
            let args = [&["train"][..], method, &["--time-limit", value, "--quiet"]].concat();
            let out = run_in(dir.path(), &args);
            assert_error(&out, 2, "--time-limit", &args.join(" "));
        }
    }
    let out = run_in(dir.path(), &["train", "--target", "NaN"]);
    assert_error(&out, 2, "--target", "target NaN");
}

#[test]
fn settings_out_of_range_or_not_applying_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path(), "m.bin");
    let m = m.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--threads", "0"], "--threads"),
        (
            &["train", "--checkpoint-every", "0", "--out", "x.bin"],
            "--checkpoint-every",
        ),
        (&["train", "--checkpoint-every", "5"], "give --out too"),
        (&["train", "--patience", "0"], "--patience"),
        (
            &["train", "--task", "digits", "--ensemble", "100000"],
            "--ensemble",
        ),
        (
            &["train", "--method", "gradient", "--shift", "200"],
            "max_shift",
        ),
        (&["train", "--output", "swish"], "--output"),
        (&["train", "--memory-limit", "lots"], "--memory-limit"),
        (
            &["train", "--init", m, "--hidden", "64"],
            "--init keeps the model's own",
        ),
        (&["train", "--resume", m, "--seed", "5"], "--seed"),
        (
            &["train", "--resume", m, "--population", "50"],
            "--population",
        ),
        (
            &["train", "--resume", m, "--task", "digits"],
            "trains task zero-one",
        ),
        (
            &["train", "--resume", m, "--binarize", "100"],
            "binarises with",
        ),
        (
            &["train", "--method", "gradient", "--resume", m],
            "cannot continue as gradient",
        ),
        (
            &["train", "--method", "gradient", "--init", m],
            "cannot fine-tune",
        ),
        (
            &["train", "--method", "gradient", "--batch", "50"],
            "takes --batch-size",
        ),
        (&["train", "--cache-dir", "cache"], "--cache-dir"),
        (&["eval", m, "--cache-dir", "cache"], "--cache-dir"),
        (&["train", "--task", "3,42"], "class 42 is not in"),
        (&["eval", m, "--task", "11,12"], "class 11 is not in"),
        (
            &[
                "train", "--task", "digits", "--method", "climb", "--hidden", "64,64",
            ],
            "one hidden layer",
        ),
    ];
    for (args, needle) in cases {
        let out = run_in(dir.path(), args);
        assert_error(&out, 2, needle, &args.join(" "));
        assert!(
            out.stdout.is_empty(),
            "{}: no work reported",
            args.join(" ")
        );
    }
}

#[test]
fn requests_larger_than_memory_are_refused_with_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["train", "--hidden", "100000000", "--generations", "1"],
        &["train", "--population", "100000000", "--generations", "1"],
        &[
            "train",
            "--method",
            "climb",
            "--hidden",
            "100000000",
            "--generations",
            "1",
        ],
        &[
            "train",
            "--task",
            "digits",
            "--ensemble",
            "1000",
            "--generations",
            "1",
        ],
        &[
            "train",
            "--method",
            "gradient",
            "--hidden",
            "60000,60000,60000",
        ],
    ];
    for args in cases {
        let out = run_in(dir.path(), args);
        assert_error(&out, 2, "the run needs about", &args.join(" "));
        assert!(stderr(&out).contains("GB available") || stderr(&out).contains("MB available"));
    }
    // Full MNIST: refused from the set's known sizes before it is loaded or downloaded. The
    // cache holds four damaged files, so that loading them would fail (status 1) and a
    // download is never tried (files in the cache are trusted).
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    for stem in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(cache.join(format!("{stem}.gz")), b"not an IDX file").unwrap();
    }
    for args in [
        &["--hidden", "100000000", "--generations", "1"][..],
        &[
            "--task",
            "digits",
            "--ensemble",
            "1000",
            "--generations",
            "1",
        ],
        // Imprinted features, counted from their shapes before any filter is drawn.
        &[
            "--method",
            "climb",
            "--arch",
            "conv50000x5,800",
            "--generations",
            "1",
        ],
    ] {
        let args = [
            &["train", "--dataset", "mnist", "--cache-dir", "cache"][..],
            args,
        ]
        .concat();
        let out = run_in(dir.path(), &args);
        assert_error(&out, 2, "the run needs about", &args.join(" "));
    }
    let small = [
        "train",
        "--dataset",
        "mnist",
        "--cache-dir",
        "cache",
        "--generations",
        "1",
    ];
    let out = run_in(dir.path(), &small);
    assert_error(
        &out,
        1,
        "magic bytes",
        "a request that fits goes on to load the data",
    );
    // A limit of one's own, below what the machine has: refused with that figure; above the
    // estimate: the run goes.
    let ensemble = [
        "train",
        "--task",
        "digits",
        "--ensemble",
        "8",
        "--generations",
        "1",
    ];
    let out = run_in(
        dir.path(),
        &[&ensemble[..], &["--memory-limit", "50M"]].concat(),
    );
    assert_error(
        &out,
        2,
        "more than the 50.0 MB available",
        "--memory-limit 50M",
    );
    let out = run_in(
        dir.path(),
        &[
            &ensemble[..],
            &["--sample", "0.1", "--memory-limit", "1G", "--quiet"],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The four IDX files of a data set whose images are `count x rows x cols`.
fn idx_folder(dir: &Path, count: u32, rows: u32, cols: u32) -> PathBuf {
    let folder = dir.join(format!("idx-{count}-{rows}-{cols}"));
    std::fs::create_dir_all(&folder).unwrap();
    for split in ["train", "t10k"] {
        let mut images = vec![0, 0, 8, 3];
        for d in [count, rows, cols] {
            images.extend_from_slice(&d.to_be_bytes());
        }
        images.resize(images.len() + (count * rows * cols) as usize, 7);
        let mut labels = vec![0, 0, 8, 1];
        labels.extend_from_slice(&count.to_be_bytes());
        labels.extend((0..count).map(|i| (i % 2) as u8));
        std::fs::write(folder.join(format!("{split}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(folder.join(format!("{split}-labels-idx1-ubyte")), labels).unwrap();
    }
    folder
}

#[test]
fn idx_headers_that_declare_huge_or_empty_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // 48 bytes in all declaring 0 images of 20000x20000 pixels: once a 3.2 GB model.
    let empty_huge = idx_folder(dir.path(), 0, 20_000, 20_000);
    let tiny = idx_folder(dir.path(), 4, 2000, 2000);
    for (folder, needle) in [
        (&empty_huge, "holds no images"),
        (&tiny, "each side must be 1 to 1024"),
    ] {
        for cmd in ["data", "train"] {
            let out = run_in(dir.path(), &[cmd, "--dataset", folder.to_str().unwrap()]);
            assert_error(&out, 1, needle, &format!("{cmd} {}", folder.display()));
        }
    }
}

#[test]
fn reading_what_is_not_a_regular_file_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.bin");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let f = fifo.to_str().unwrap();
    for args in [
        &["eval", f][..],
        &["train", "--resume", f],
        &["train", "--init", f],
    ] {
        let out = run_in(dir.path(), args);
        assert_error(&out, 1, "not a regular file", &args.join(" "));
    }
    // A data set whose image file is a FIFO.
    let folder = idx_folder(dir.path(), 2, 28, 28);
    let images = folder.join("train-images-idx3-ubyte");
    std::fs::remove_file(&images).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&images)
            .status()
            .unwrap()
            .success()
    );
    let out = run_in(dir.path(), &["data", "--dataset", folder.to_str().unwrap()]);
    assert_error(&out, 1, "not a regular file", "a FIFO among the IDX files");
}

#[test]
fn a_run_of_a_billion_trials_keeps_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let climb = [
        "train",
        "--method",
        "climb",
        "--trials",
        "1000000000",
        "--quiet",
        "--json",
        "--out",
        "t.bin",
    ];
    // Fresh, then resumed from the file that carries the same settings.
    for args in [
        &[&climb[..], &["--time-limit", "2"]].concat(),
        &[
            "train",
            "--resume",
            "t.bin",
            "--time-limit",
            "2",
            "--quiet",
            "--json",
            "--out",
            "t.bin",
        ][..],
    ] {
        let out = run_in(dir.path(), args);
        assert!(out.status.success(), "{}", stderr(&out));
        let json = report(&out);
        // The generation asked for is ~10 hours of trials; the run stops at its limit (the
        // margin only absorbs a loaded machine).
        let secs = json["seconds"].as_f64().unwrap();
        assert!(
            secs < 10.0,
            "{}: ran {secs} s with a 2 s limit",
            args.join(" ")
        );
        assert_eq!(json["stop"], "time limit reached", "{json}");
    }
}

#[test]
fn the_output_is_checked_before_training() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain"), b"a file").unwrap();
    for (out_path, needle) in [("plain/m.bin", "cannot be written"), (".", "is a folder")] {
        let out = run_in(
            dir.path(),
            &["train", "--time-limit", "60", "--out", out_path],
        );
        assert_error(&out, 1, needle, out_path);
        assert!(out.stdout.is_empty(), "{out_path}: nothing trained");
    }
    // A folder without write permission. Root writes into it all the same, so a probe
    // decides: for root the case is skipped (run the tests as another user to cover it).
    use std::os::unix::fs::PermissionsExt;
    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = read_only.join("probe");
    if std::fs::write(&probe, b"").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        eprintln!("read-only --out folder not tested: this user writes into a folder of mode 555");
    } else {
        let out = run_in(
            dir.path(),
            &["train", "--time-limit", "60", "--out", "read-only/m.bin"],
        );
        assert_error(&out, 1, "cannot be written", "a read-only folder");
        assert!(out.stdout.is_empty(), "read-only folder: nothing trained");
    }
}

#[test]
fn outputs_never_replace_inputs_folders_or_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path(), "m.bin");
    let before = std::fs::read(&m).unwrap();
    // The model being evaluated, under its own name and through a symlink.
    std::os::unix::fs::symlink("m.bin", dir.path().join("link.bin")).unwrap();
    for target in ["m.bin", "link.bin", "./m.bin"] {
        let out = run_in(dir.path(), &["eval", "m.bin", "--predictions", target]);
        assert_error(&out, 2, "which this command reads", target);
    }
    // A fine-tuned model and the data set's own files.
    let data = idx_folder(dir.path(), 40, 28, 28);
    let labels = data.join("train-labels-idx1-ubyte");
    let labels_before = std::fs::read(&labels).unwrap();
    let d = data.to_str().unwrap();
    for args in [
        vec![
            "train",
            "--init",
            "m.bin",
            "--generations",
            "1",
            "--out",
            "m.bin",
        ],
        vec![
            "train",
            "--dataset",
            d,
            "--generations",
            "1",
            "--out",
            labels.to_str().unwrap(),
        ],
        vec![
            "eval",
            "m.bin",
            "--dataset",
            d,
            "--predictions",
            labels.to_str().unwrap(),
        ],
    ] {
        let out = run_in(dir.path(), &args);
        assert_error(&out, 2, "which this command reads", &args.join(" "));
        assert!(out.stdout.is_empty(), "{}: nothing done", args.join(" "));
    }
    assert_eq!(std::fs::read(&m).unwrap(), before, "the model was changed");
    assert_eq!(
        std::fs::read(&labels).unwrap(),
        labels_before,
        "the labels were changed"
    );
    // A FIFO, a name ending in a slash, a folder that is not there: refused before any work,
    // nothing made in their place.
    assert!(
        Command::new("mkfifo")
            .arg(dir.path().join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    for (target, needle) in [
        ("fifo", "not a regular file"),
        ("newdir/", "is a folder"),
        ("m.bin/", "is a folder"),
        ("nowhere/m.bin", "does not exist"),
    ] {
        let out = run_in(
            dir.path(),
            &["train", "--generations", "1", "--out", target],
        );
        assert_error(&out, 1, needle, target);
        assert!(out.stdout.is_empty(), "{target}: nothing trained");
        let out = run_in(dir.path(), &["eval", "m.bin", "--predictions", target]);
        assert_error(&out, 1, needle, target);
    }
    let fifo = std::fs::symlink_metadata(dir.path().join("fifo")).unwrap();
    assert!(!fifo.is_file(), "the FIFO was replaced");
    assert!(!dir.path().join("nowhere").exists() && !dir.path().join("newdir").exists());
}

#[test]
fn a_task_without_test_examples_is_refused_and_a_full_stderr_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = idx_folder(dir.path(), 40, 28, 28);
    // Every test label a 5: zeros against ones have no test examples.
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&40u32.to_be_bytes());
    labels.extend([5u8; 40]);
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    let d = data.to_str().unwrap();
    let out = run_in(dir.path(), &["train", "--dataset", d, "--generations", "1"]);
    assert_error(&out, 2, "has no test examples of task zero-one", "train");
    let m = model(dir.path(), "m.bin");
    let out = run_in(dir.path(), &["eval", m.to_str().unwrap(), "--dataset", d]);
    assert_error(&out, 2, "has no test examples of task zero-one", "eval");
    // An error that cannot be written still ends with its status, not a panic's.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    if let Ok(full) = full {
        let status = Command::new(bin())
            .env("BITSMNIST_RUNS_DIR", common::RUNS)
            .args(["eval", "missing.bin"])
            .current_dir(dir.path())
            .stderr(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1));
    }
}

#[test]
fn a_run_whose_reader_closes_the_pipe_still_trains_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    // `bitsmnist train ... | head -1`: the reader goes after the first progress line.
    let mut child = Command::new(bin())
        .env("BITSMNIST_RUNS_DIR", common::RUNS)
        .args([
            "train",
            "--method",
            "gradient",
            "--hidden",
            "32",
            "--epochs",
            "3",
            "--sample",
            "0.2",
            "--progress",
            "1",
            "--out",
            "g.bin",
        ])
        .current_dir(dir.path())
        .env("BITSMNIST_DATA_DIR", "/nonexistent/bitsmnist-test-cache")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is dropped here: the pipe is closed.
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = bitsmnist_core::io::ModelFile::load(&dir.path().join("g.bin")).unwrap();
    assert_eq!(file.state.unwrap().step_number(), 3);
}

#[test]
fn a_resumed_or_fine_tuned_run_says_what_it_continues_and_must_fit_the_data() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path(), "m.bin"); // zero-one, 784 inputs, 2 outputs, 2 generations
    let first_line = |out: &Output| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().next().unwrap_or_default().to_owned()
    };
    for (start, said) in [
        ("--resume", "resumed from m.bin at step 2"),
        ("--init", "fine-tuning the model in m.bin at step 0"),
    ] {
        let out = run_in(
            dir.path(),
            &["train", start, "m.bin", "--generations", "1", "--quiet"],
        );
        assert!(out.status.success(), "{start}: {}", stderr(&out));
        assert!(
            first_line(&out).contains(said),
            "{start}: {}",
            first_line(&out)
        );
    }
    // Images of 14x14 pixels for a model of 784 inputs, ten classes for a model of two: refused
    // before any training, nothing written.
    let small = idx_folder(dir.path(), 20, 14, 14);
    let small = small.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        // A resumed run goes on on the data set it trained on (cli/tests/writes.rs).
        (
            &["train", "--resume", "m.bin", "--dataset", small],
            "m.bin trained on embedded; resume it without --dataset or with the same",
        ),
        (
            &["train", "--init", "m.bin", "--dataset", small],
            "the model takes 784 inputs and gives 2 outputs; idx-20-14-14 with task zero-one needs 196 and 2",
        ),
        (
            &[
                "train",
                "--init",
                "m.bin",
                "--task",
                "digits",
                "--method",
                "population",
            ],
            "gives 2 outputs; MNIST (embedded) with task digits needs 784 and 10",
        ),
    ];
    for (args, needle) in cases {
        let args = [
            args,
            &["--generations", "1", "--quiet", "--out", "n.bin"][..],
        ]
        .concat();
        let out = run_in(dir.path(), &args);
        assert_error(&out, 2, needle, &args.join(" "));
        assert!(out.stdout.is_empty(), "{}: nothing trained", args.join(" "));
        assert!(!dir.path().join("n.bin").exists(), "{}", args.join(" "));
    }
}

#[test]
fn long_names_symlinks_and_stale_temporaries_are_saved_right() {
    let dir = tempfile::tempdir().unwrap();
    // 254 bytes: legal on every common file system, and the temporary name must be too.
    let long = format!("{}.bin", "m".repeat(250));
    model(dir.path(), &long);
    assert!(dir.path().join(&long).is_file());
    // A symlink to a model elsewhere: the target is updated, the link stays.
    std::fs::create_dir(dir.path().join("runs")).unwrap();
    model(&dir.path().join("runs"), "real.bin");
    std::os::unix::fs::symlink("runs/real.bin", dir.path().join("latest.bin")).unwrap();
    // A crashed save's temporary beside it (a pid above Linux's maximum is never running).
    let stale = dir.path().join("runs/.real.bin.4999999.0.bitsmnist-tmp");
    std::fs::write(&stale, b"half a model").unwrap();
    let out = run_in(
        dir.path(),
        &[
            "train",
            "--resume",
            "latest.bin",
            "--generations",
            "1",
            "--quiet",
            "--out",
            "latest.bin",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let link = std::fs::symlink_metadata(dir.path().join("latest.bin")).unwrap();
    assert!(link.file_type().is_symlink(), "--out replaced the symlink");
    let eval = run_in(dir.path(), &["eval", "runs/real.bin", "--json"]);
    assert_eq!(report(&eval)["step"], 3, "target not updated");
    assert!(!stale.exists(), "stale temporary left");
    assert!(temporaries(&dir.path().join("runs")).is_empty());
}

/// Starts a timed run saving to `out` in `dir`, waits for its first line, then sends
/// `signal`; returns its output.
fn signalled_run(dir: &Path, args: &[&str], signal: &str) -> Output {
    let mut child = Command::new(bin())
        .env("BITSMNIST_RUNS_DIR", common::RUNS)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("training"), "{first}");
    // Some generations in, then the signal.
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < DEADLINE,
            "still running after SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn sigint_sigterm_and_sighup_save_the_run_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    for (signal, code, args) in [
        (
            "INT",
            130,
            &["train", "--task", "digits", "--ensemble", "2"][..],
        ),
        (
            "TERM",
            143,
            &["train", "--method", "gradient", "--hidden", "256"][..],
        ),
        // A terminal or ssh session that goes away.
        ("HUP", 129, &["train", "--task", "zero-one"][..]),
    ] {
        let name = format!("{signal}.bin");
        let args = [args, &["--time-limit", "600", "--quiet", "--out", &name]].concat();
        let out = signalled_run(dir.path(), &args, signal);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {err}");
        assert!(err.contains("interrupted by a signal"), "{err}");
        assert!(err.contains(&format!("saved {name}")), "{err}");
        // The saved run resumes.
        let resumed = run_in(
            dir.path(),
            &["train", "--resume", &name, "--generations", "1", "--quiet"],
        );
        assert!(resumed.status.success(), "{}", stderr(&resumed));
        assert!(temporaries(dir.path()).is_empty());
    }
}

#[test]
fn checkpoints_of_an_ensemble_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .env("BITSMNIST_RUNS_DIR", common::RUNS)
        .args([
            "train",
            "--task",
            "digits",
            "--ensemble",
            "2",
            "--time-limit",
            "600",
            "--checkpoint-every",
            "1",
            "--quiet",
            "--out",
            "e.bin",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = dir.path().join("e.bin");
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < DEADLINE, "no checkpoint written");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let out = run_in(dir.path(), &["eval", "e.bin"]);
    assert!(
        out.status.success(),
        "checkpoint unreadable: {}",
        stderr(&out)
    );
    // Whatever the kill left is removed by the next save to the same file.
    let out = run_in(
        dir.path(),
        &[
            "train",
            "--resume",
            "e.bin",
            "--generations",
            "1",
            "--quiet",
            "--out",
            "e.bin",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(temporaries(dir.path()).is_empty());
}

#[test]
fn errors_say_their_cause_once_and_damaged_payloads_read_as_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["eval", "/nonexistent.bin"]);
    assert_error(&out, 1, "No such file", "missing file");
    assert_eq!(
        stderr(&out).matches("No such file").count(),
        1,
        "{}",
        stderr(&out)
    );
    // Payload bytes changed and the checksum made right again: the decoder, not the CRC,
    // meets them.
    let bytes = std::fs::read(model(dir.path(), "m.bin")).unwrap();
    let mut refused = 0;
    for i in 0..64usize {
        let mut b = bytes.clone();
        let at = 24 + (i * 7919) % (b.len() - 24);
        b[at] ^= 0x5a;
        let crc = crc32fast::hash(&b[24..]);
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(dir.path().join("bad.bin"), &b).unwrap();
        let out = run_in(dir.path(), &["eval", "bad.bin"]);
        if !out.status.success() {
            refused += 1;
            assert_error(&out, 1, "bad.bin: ", &format!("byte {at}"));
        }
    }
    assert!(refused > 0);
}
