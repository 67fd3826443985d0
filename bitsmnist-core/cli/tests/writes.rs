//! The write path and the results it reports, as a clumsy or hostile user would try them
//! (issue 23): two processes writing one output, a merge fed member records no ensemble has
//! or asked to replace one of its members, `eval` and `--resume` on the data a model was
//! trained on, `BITSMNIST_KERNEL` values, and every class of `export --name` compiled by the
//! host's C compiler. Each case runs the real binary under a memory and a time bound.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bitsmnist_core::io::ModelFile;
use common::*;

/// Starts a run writing `--out out` that goes on until signalled, and returns it once it has
/// begun training (its lock taken).
fn long_run(dir: &Path, out: &str) -> Child {
    let mut child = command(dir, &["train", "--time-limit", "100", "--out", out], &[])
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut first)
        .expect("reads");
    assert!(first.contains("training"), "{first}");
    child
}

/// `sh -c 'ulimit ...; exec bitsmnist'` keeps its process id: the binary's own.
#[test]
fn a_second_writer_of_one_output_is_refused_at_its_start_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let first = long_run(dir.path(), "same.bin");
    let start = Instant::now();
    let second = run_in(
        dir.path(),
        &[
            "train",
            "--generations",
            "2",
            "--quiet",
            "--out",
            "same.bin",
        ],
    );
    assert_error(
        &second,
        2,
        "--out same.bin: another process",
        "second writer",
    );
    let err = stderr(&second);
    assert!(err.contains(&format!("process {}", first.id())), "{err}");
    assert!(
        err.contains("wait for it to end or write elsewhere"),
        "{err}"
    );
    // Refused before any work: no data loaded, nothing trained.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // Through a symlink, and by merge, export and eval --predictions, the same.
    std::os::unix::fs::symlink("same.bin", dir.path().join("link.bin")).unwrap();
    let m = model(dir.path(), "m.bin");
    let m = m.to_str().unwrap();
    for args in [
        vec![
            "train",
            "--generations",
            "2",
            "--quiet",
            "--out",
            "link.bin",
        ],
        vec!["merge", m, "--out", "same.bin"],
        vec!["eval", m, "--predictions", "same.bin"],
    ] {
        let out = run_in(dir.path(), &args);
        assert_error(&out, 2, "another process", &args.join(" "));
    }
    // The first one is not disturbed: it saves when asked to stop.
    signal(&first, "INT");
    let first = finish(first, "train --out same.bin");
    assert_eq!(first.status.code(), Some(130), "{}", stderr(&first));
    ModelFile::load(&dir.path().join("same.bin")).expect("the first run's file");
    // Its lock is gone with it: the next writer goes ahead.
    let again = run_in(
        dir.path(),
        &[
            "train",
            "--generations",
            "2",
            "--quiet",
            "--out",
            "same.bin",
        ],
    );
    succeeded(&again, "after the first");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bitsmnist-lock"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_killed_writer_leaves_no_lock_that_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = long_run(dir.path(), "k.bin");
    first.kill().unwrap();
    first.wait().unwrap();
    // Its lock file may stay behind; the kernel released the lock with the process.
    let out = run_in(
        dir.path(),
        &["train", "--generations", "2", "--quiet", "--out", "k.bin"],
    );
    succeeded(&out, "after a SIGKILL");
    ModelFile::load(&dir.path().join("k.bin")).unwrap();
}

#[test]
fn merge_never_replaces_a_member_and_refuses_member_counts_no_ensemble_has() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path(), "m.bin");
    let before = std::fs::read(&m).unwrap();
    let out = run_in(dir.path(), &["merge", "m.bin", "--out", "./m.bin"]);
    assert_error(
        &out,
        2,
        "--out ./m.bin: is m.bin, which this command reads",
        "merge",
    );
    assert_eq!(std::fs::read(&m).unwrap(), before);

    // A CRC-valid member whose record claims 2^64 - 1 or 10^12 members: once a panic and an
    // abort allocating 16 TB, now a one-line error before anything is sized by it.
    for of in ["18446744073709551615", "1000000000000"] {
        let mut file = ModelFile::load(&m).unwrap();
        let member: bitsmnist_core::training::Membership =
            serde_json::from_str(&format!("{{\"index\":0,\"of\":{of}}}")).unwrap();
        file.meta.run = Some(
            bitsmnist_core::io::RunInfo::new(bitsmnist_core::training::MethodKind::Climb, Some(1))
                .with_member(Some(member)),
        );
        let bytes = file.to_bytes().unwrap();
        let name = format!("huge-{of}.bin");
        std::fs::write(dir.path().join(&name), bytes).unwrap();
        let out = run_in(dir.path(), &["merge", &name, "--out", "merged.bin"]);
        assert_error(&out, 1, "at most 1024", &name);
        assert!(!dir.path().join("merged.bin").exists());
    }
}

/// An IDX folder of `count` 28x28 images per split whose labels alternate 0 and 1, the
/// images of class 1 brighter on their left half (so that a model can learn something).
fn idx_folder(dir: &Path, count: u32) -> PathBuf {
    let folder = dir.join("idx");
    std::fs::create_dir_all(&folder).unwrap();
    for split in ["train", "t10k"] {
        let mut images = vec![0, 0, 8, 3];
        for d in [count, 28, 28] {
            images.extend_from_slice(&d.to_be_bytes());
        }
        for i in 0..count {
            for p in 0..784u32 {
                let left = p % 28 < 14;
                images.push(if (i % 2 == 1) == left { 200 } else { 10 });
            }
        }
        let mut labels = vec![0, 0, 8, 1];
        labels.extend_from_slice(&count.to_be_bytes());
        labels.extend((0..count).map(|i| (i % 2) as u8));
        std::fs::write(folder.join(format!("{split}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(folder.join(format!("{split}-labels-idx1-ubyte")), labels).unwrap();
    }
    folder
}

#[test]
fn eval_and_resume_use_the_data_set_the_model_was_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let folder = idx_folder(dir.path(), 200);
    let folder = folder.to_str().unwrap();
    let train = run_in(
        dir.path(),
        &[
            "train",
            "--dataset",
            folder,
            "--binarize",
            "100",
            "--generations",
            "3",
            "--quiet",
            "--out",
            "f.bin",
        ],
    );
    succeeded(&train, "train on a folder");

    // Without --dataset: the folder and binarisation it records, named in the summary.
    let eval = run_in(dir.path(), &["eval", "f.bin"]);
    succeeded(&eval, "eval");
    let text = stdout(&eval);
    let first = text.lines().next().unwrap();
    assert!(first.contains(folder), "{first}");
    assert!(text.contains("test: 200 examples"), "{text}");
    assert!(stderr(&eval).is_empty(), "{}", stderr(&eval));

    // Another data set or binarisation is evaluated, and said.
    let other = run_in(
        dir.path(),
        &[
            "eval",
            "f.bin",
            "--dataset",
            "embedded",
            "--binarize",
            "mean",
        ],
    );
    succeeded(&other, "eval on other data");
    let err = stderr(&other);
    assert!(
        err.contains(&format!("was trained on {folder}; evaluating on embedded")),
        "{err}"
    );
    assert!(
        err.contains("binarised by > 100; evaluating with mean") || err.contains("evaluating with"),
        "{err}"
    );
    assert!(stdout(&other).lines().next().unwrap().contains("embedded"));

    // --resume goes on on the folder; another data set is refused.
    let resumed = run_in(
        dir.path(),
        &[
            "train",
            "--resume",
            "f.bin",
            "--generations",
            "5",
            "--quiet",
            "--out",
            "f.bin",
        ],
    );
    succeeded(&resumed, "resume without --dataset");
    let file = ModelFile::load(&dir.path().join("f.bin")).unwrap();
    assert_eq!(
        file.meta.source,
        Some(bitsmnist_core::datasets::Source::Dir(folder.into()))
    );
    let refused = run_in(
        dir.path(),
        &[
            "train",
            "--resume",
            "f.bin",
            "--dataset",
            "embedded",
            "--generations",
            "6",
        ],
    );
    assert_error(
        &refused,
        2,
        "--dataset embedded: f.bin trained on",
        "resume elsewhere",
    );
    // Nor may the resumed run's output be one of the recorded data set's files.
    let labels = format!("{folder}/train-labels-idx1-ubyte");
    let refused = run_in(
        dir.path(),
        &[
            "train",
            "--resume",
            "f.bin",
            "--generations",
            "6",
            "--out",
            &labels,
        ],
    );
    assert_error(
        &refused,
        2,
        "which this command reads",
        "resume onto the data",
    );
    // A recorded folder that has moved: said where the path came from.
    std::fs::rename(folder, dir.path().join("moved")).unwrap();
    let moved = run_in(dir.path(), &["eval", "f.bin"]);
    assert_error(
        &moved,
        1,
        &format!("f.bin: trained on {folder} (--dataset evaluates on other data)"),
        "moved folder",
    );
}

#[test]
fn bitsmnist_kernel_names_a_kernel_this_cpu_runs_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["avx9", "AVX2", "portable "] {
        let out = run_env(dir.path(), &["data"], &[("BITSMNIST_KERNEL", value)]);
        assert_error(&out, 2, "names no kernel", value);
        let err = stderr(&out);
        assert!(err.contains("portable, popcnt, avx2 and avx512"), "{err}");
        assert!(err.contains("(this CPU runs portable"), "{err}");
    }
    for kernel in bitsmnist_core::bits::Kernel::all() {
        let out = run_env(
            dir.path(),
            &["data"],
            &[("BITSMNIST_KERNEL", kernel.name())],
        );
        if kernel.is_supported() {
            succeeded(&out, kernel.name());
        } else {
            assert_error(&out, 2, "this CPU cannot run it", kernel.name());
        }
    }
    // Empty is unset.
    succeeded(
        &run_env(dir.path(), &["data"], &[("BITSMNIST_KERNEL", "")]),
        "empty",
    );
    let help = run_in(dir.path(), &["--help"]);
    assert!(
        stdout(&help).contains("BITSMNIST_KERNEL"),
        "{}",
        stdout(&help)
    );
}

/// `cc -std=c99 -Wall -Werror -pedantic -c NAME.c` in `dir`.
fn compile(dir: &Path, name: &str) {
    let out = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Werror", "-pedantic", "-c"])
        .arg(format!("{name}.c"))
        .current_dir(dir)
        .output()
        .expect("a C compiler `cc`");
    assert!(
        out.status.success(),
        "{}: cc failed:\n{}",
        name.chars().take(40).collect::<String>(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_class_of_export_name_compiles_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path(), "m.bin");
    let long = format!("m{}", "x".repeat(249));
    // C keywords, "name" in any case, upper case, digits after the start, 250 characters:
    // each a prefix of every symbol, so each compiles.
    for name in [
        "int",
        "return",
        "static",
        "void",
        "name",
        "NAME",
        "Name",
        "tournament",
        "unnamed_model",
        "renamed_NAME_name",
        "x1",
        "m_",
        long.as_str(),
    ] {
        let sub = dir.path().join(format!("c{}", name.len()));
        let sub = sub.join(&name[..name.len().min(20)]);
        std::fs::create_dir_all(&sub).unwrap();
        let out = run_in(
            dir.path(),
            &[
                "export",
                "m.bin",
                "--out",
                sub.to_str().unwrap(),
                "--name",
                name,
            ],
        );
        succeeded(&out, name);
        compile(&sub, name);
    }
    // Not a C identifier, or reserved: refused before anything is written.
    for name in [
        "_", "_model", "7up", "2", "", "zéro", "имя", "a-b", "a b", "a.b", "a/b",
    ] {
        let sub = dir.path().join("refused");
        std::fs::create_dir_all(&sub).unwrap();
        let out = run_in(
            dir.path(),
            &[
                "export",
                "m.bin",
                "--out",
                sub.to_str().unwrap(),
                "--name",
                name,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{name:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{name:?}");
        assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0, "{name:?}");
    }
    // A default name from any file name is a valid one.
    for file in ["7.bin", "unnamed model.bin", "int.bin", "zéro.bin"] {
        std::fs::copy(dir.path().join("m.bin"), dir.path().join(file)).unwrap();
        let sub = dir.path().join(format!("from-{}", file.len()));
        std::fs::create_dir_all(&sub).unwrap();
        let out = run_in(
            dir.path(),
            &["export", file, "--out", sub.to_str().unwrap(), "--json"],
        );
        succeeded(&out, file);
        let name = json_object(&out, "export")["name"]
            .as_str()
            .unwrap()
            .to_string();
        compile(&sub, &name);
    }
}

/// SIGINT, SIGTERM and SIGHUP stop a merge between members, promptly, with nothing written.
#[test]
fn a_signalled_merge_stops_between_members_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path(), "m.bin");
    // 1,200 members of 370 KB take seconds to load: long enough to be signalled in the middle.
    let mut args = vec!["merge"];
    args.extend(std::iter::repeat_n("m.bin", 1200));
    args.extend(["--out", "merged.bin"]);
    for (signal_name, status) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let child = command(dir.path(), &args, &[]).spawn().expect("runs");
        std::thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        signal(&child, signal_name);
        let out = finish(child, "merge");
        let took = sent.elapsed();
        if out.status.success() {
            // This machine merged everything within 300 ms: nothing to interrupt.
            eprintln!("merge finished before SIG{signal_name}: not measured");
            std::fs::remove_file(dir.path().join("merged.bin")).unwrap();
            continue;
        }
        assert_eq!(out.status.code(), Some(status), "{}", stderr(&out));
        assert_eq!(stderr(&out).trim(), "merge interrupted: nothing written");
        assert!(took < Duration::from_secs(1), "SIG{signal_name}: {took:?}");
        eprintln!("SIG{signal_name}: merge ended {took:?} after the signal");
        assert!(!dir.path().join("merged.bin").exists());
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "m.bin")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
