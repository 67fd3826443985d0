//! An ensemble trained wider than one process: each member by its own `bitsmnist train
//! --member K --of N`, then `bitsmnist merge`, equal bit for bit to `bitsmnist train
//! --ensemble N` in one process with the same seed and settings.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::training::Membership;
use common::*;

/// A few seconds of climbing in a debug build; the re-scoring makes each member keep the
/// better of its current and best re-scored network, as the in-process ensemble does.
const SMALL: [&str; 17] = [
    "train",
    "--task",
    "digits",
    "--hidden",
    "16",
    "--trials",
    "2000",
    "--batch",
    "300",
    "--rescore-every",
    "2",
    "--generations",
    "3",
    "--seed",
    "5",
    "--quiet",
    "--json",
];

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// Fails with status 2 and a one-line error that mentions `words`.
fn refused(out: &Output, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for w in words {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
}

#[test]
fn three_member_runs_merged_equal_the_ensemble_trained_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let member = |k: usize| dir.path().join(format!("m{k}.bin"));
    // Three separate processes, side by side.
    let runs: Vec<_> = (0..3)
        .map(|k| {
            let out = member(k);
            let k = k.to_string();
            let mut args = SMALL.to_vec();
            args.extend(["--member", &k, "--of", "3", "--out", path(&out)]);
            Command::new(bin())
                .env("BITSMNIST_RUNS_DIR", common::RUNS)
                .args(&args)
                .env("BITSMNIST_DATA_DIR", NO_CACHE)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starts")
        })
        .collect();
    for (k, run) in runs.into_iter().enumerate() {
        let out = run.wait_with_output().expect("ends");
        succeeded(&out, "member run");
        let j = report(&out);
        assert_eq!(
            (j["member"]["index"].as_u64(), j["member"]["of"].as_u64()),
            (Some(k as u64), Some(3))
        );
        assert_eq!(j["members"], 1);
        assert_eq!(j["step"], 3);
        assert_eq!(j["stats"]["flips"], 3 * 2000);
    }
    // Each member's file is a plain model file that says which member it is.
    for k in 0..3 {
        let file = ModelFile::load(&member(k)).unwrap();
        let run = file.meta.run.as_ref().expect("the run is recorded");
        let recorded = run.member.expect("a member records which it is");
        assert_eq!((recorded.index(), recorded.of()), (k, 3));
        assert_eq!(run.seed, Some(5));
        succeeded(&bitsmnist(&["eval", path(&member(k))]), "eval of a member");
    }
    // Given out of order: the members merge in the order of their index.
    let merged = dir.path().join("merged.bin");
    let out = bitsmnist(&[
        "merge",
        path(&member(2)),
        path(&member(0)),
        path(&member(1)),
        "--out",
        path(&merged),
        "--json",
    ]);
    succeeded(&out, "merge");
    assert_eq!(json_object(&out, "merge")["networks"], 3);
    let whole = dir.path().join("whole.bin");
    let mut args = SMALL.to_vec();
    args.extend(["--ensemble", "3", "--out", path(&whole)]);
    let out = bitsmnist(&args);
    succeeded(&out, "ensemble run");
    assert_eq!(report(&out)["members"], 3);

    let (apart, together) = (
        ModelFile::load(&merged).unwrap(),
        ModelFile::load(&whole).unwrap(),
    );
    assert_eq!(apart.model, together.model);
    assert_eq!(apart.model.layers()[0].outputs(), 3 * (16 + 1));
    assert_eq!(apart.meta.task, together.meta.task);
    assert_eq!(apart.meta.binarization, together.meta.binarization);
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let predicted = apart.model.predict_split(&data.test).unwrap();
    assert_eq!(predicted, together.model.predict_split(&data.test).unwrap());
    assert_eq!(predicted.len(), data.test.len());
    // `eval` agrees on the two files.
    let (a, b) = (
        bitsmnist(&["eval", path(&merged), "--json"]),
        bitsmnist(&["eval", path(&whole), "--json"]),
    );
    succeeded(&a, "eval of the merged file");
    succeeded(&b, "eval of the ensemble");
    assert_eq!(
        report(&a)["test"]["accuracy"],
        report(&b)["test"]["accuracy"]
    );

    // A member twice, or one missing, is refused unless asked for.
    let twice = dir.path().join("twice.bin");
    let out = bitsmnist(&[
        "merge",
        path(&member(0)),
        path(&member(1)),
        path(&member(1)),
        "--out",
        path(&twice),
    ]);
    refused(&out, &["m1.bin", "member 1"]);
    let out = bitsmnist(&[
        "merge",
        path(&member(0)),
        path(&member(2)),
        "--out",
        path(&twice),
    ]);
    refused(&out, &["member 1", "missing"]);
    assert!(!twice.exists());
    let out = bitsmnist(&[
        "merge",
        path(&member(0)),
        path(&member(2)),
        "--allow-missing",
        "--out",
        path(&twice),
    ]);
    succeeded(&out, "merge --allow-missing");
    assert_eq!(
        ModelFile::load(&twice).unwrap().model.layers()[0].outputs(),
        2 * (16 + 1)
    );
}

#[test]
fn merge_refuses_members_that_differ_and_files_that_are_no_models() {
    let dir = tempfile::tempdir().unwrap();
    let train = |name: &str, k: &str, hidden: &str| {
        let out = dir.path().join(name);
        let mut args = SMALL.to_vec();
        args[4] = hidden;
        // One generation is enough to have a model file.
        args[12] = "1";
        args.extend(["--member", k, "--of", "2", "--out", path(&out)]);
        succeeded(&bitsmnist(&args), "train");
        out
    };
    let m0 = train("m0.bin", "0", "16");
    let narrower = train("narrower.bin", "1", "12");
    let zero_one = dir.path().join("zero-one.bin");
    let mut args = SMALL.to_vec();
    args[2] = "zero-one";
    args[12] = "1";
    args.extend(["--member", "1", "--of", "2", "--out", path(&zero_one)]);
    succeeded(&bitsmnist(&args), "train");
    let out_path = dir.path().join("merged.bin");
    let out = path(&out_path);

    let r = bitsmnist(&["merge", path(&m0), path(&narrower), "--out", out]);
    refused(
        &r,
        &["narrower.bin", "BitDense(784, 12)", "BitDense(784, 16)"],
    );
    let r = bitsmnist(&["merge", path(&m0), path(&zero_one), "--out", out]);
    refused(&r, &["zero-one.bin", "task"]);
    // Member 1 of the same ensemble, but trained on another data set.
    let other_data = dir.path().join("other-data.bin");
    let mut file = ModelFile::load(&m0).unwrap();
    file.meta.dataset = Some("Fashion-MNIST".into());
    file.meta.run.as_mut().expect("a member's run").member = Membership::new(1, 2);
    file.save(&other_data).unwrap();
    let r = bitsmnist(&["merge", path(&m0), path(&other_data), "--out", out]);
    refused(&r, &["other-data.bin", "m0.bin", "data set Fashion-MNIST"]);
    assert!(!out_path.exists());

    // Not a model file: the work fails (status 1), naming the file and why.
    let junk = dir.path().join("notes.bin");
    std::fs::write(&junk, "not a model\n").unwrap();
    let r = bitsmnist(&["merge", path(&m0), path(&junk), "--out", out]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("notes.bin"), "{err}");
    assert!(err.contains("not a BitsMNIST model file"), "{err}");
    let missing = dir.path().join("absent.bin");
    let r = bitsmnist(&["merge", path(&m0), path(&missing), "--out", out]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("absent.bin"));
    assert!(!out_path.exists());
}

#[test]
fn member_runs_refuse_options_that_do_not_go_with_them() {
    let base = ["train", "--task", "digits", "--generations", "1"];
    for (extra, words) in [
        (
            &["--member", "3", "--of", "3"][..],
            &["numbered 0 to 2"][..],
        ),
        (&["--member", "0", "--of", "0"], &["at least one"]),
        (
            &["--member", "0", "--of", "2", "--ensemble", "2"],
            &["--ensemble"],
        ),
        // A gradient member stops where its ensemble does: after its epochs.
        (
            &[
                "--member", "0", "--of", "2", "--method", "gradient", "--target", "0.5",
            ],
            &["--target"],
        ),
        (
            &["--member", "0", "--of", "2", "--method", "population"],
            &["--method population"],
        ),
        (
            &["--member", "0", "--of", "2", "--target", "0.5"],
            &["--target"],
        ),
        (
            &["--member", "0", "--of", "2", "--population", "10"],
            &["--population"],
        ),
        // clap's own refusal: the pair goes together.
        (&["--member", "0"], &["--of"]),
        (&["--of", "2"], &["--member"]),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = bitsmnist(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        for w in words {
            assert!(err.contains(w), "{args:?}: `{w}` not in: {err}");
        }
    }
    // merge needs at least one file and --out.
    assert_eq!(
        bitsmnist(&["merge", "--out", "x.bin"]).status.code(),
        Some(2)
    );
    assert_eq!(bitsmnist(&["merge", "a.bin"]).status.code(), Some(2));
}

#[test]
fn merge_and_member_are_in_the_help_the_completions_and_the_man_pages() {
    let help = bitsmnist(&["--help"]);
    succeeded(&help, "--help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("merge")),
        "{text}"
    );
    let train = bitsmnist(&["train", "--help"]);
    let text = String::from_utf8_lossy(&train.stdout);
    assert!(
        text.contains("--member <K>") && text.contains("--of <N>"),
        "{text}"
    );
    let bash = bitsmnist(&["completions", "bash"]);
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(
        script.contains("merge")
            && script.contains("--member")
            && script.contains("--allow-missing")
    );
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    succeeded(&bitsmnist(&["man", "--out", path(&pages)]), "man --out");
    let page = std::fs::read_to_string(pages.join("bitsmnist-merge.1")).unwrap();
    assert!(page.contains("allow\\-missing"), "{page}");
    let top = bitsmnist(&["man"]);
    assert!(String::from_utf8_lossy(&top.stdout).contains("bitsmnist\\-merge(1)"));
}

#[test]
fn members_after_imprinted_convolutions_merge_into_the_ensemble_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let conv = |extra: &[&str], out: &Path| {
        let mut args = SMALL.to_vec();
        // The same run with imprinted filters before the dense layer instead of --hidden.
        args.retain(|a| *a != "--hidden" && *a != "16");
        args.extend(["--arch", "conv8x5,pool4,16", "--out", path(out)]);
        args.extend(extra);
        let out = bitsmnist(&args);
        succeeded(&out, "convolution run");
        out
    };
    // Each network imprints its own filters (the ten digits' default), or all share one set.
    for sharing in [&[][..], &["--shared-filters"]] {
        let members: Vec<_> = (0..2)
            .map(|k| dir.path().join(format!("c{k}.bin")))
            .collect();
        for (k, m) in members.iter().enumerate() {
            let mut extra = vec!["--member", if k == 0 { "0" } else { "1" }, "--of", "2"];
            extra.extend(sharing);
            conv(&extra, m);
        }
        let merged = dir.path().join("merged.bin");
        succeeded(
            &bitsmnist(&[
                "merge",
                path(&members[0]),
                path(&members[1]),
                "--out",
                path(&merged),
            ]),
            "merge",
        );
        let whole = dir.path().join("whole.bin");
        let mut extra = vec!["--ensemble", "2"];
        extra.extend(sharing);
        let out = conv(&extra, &whole);
        let (apart, together) = (
            ModelFile::load(&merged).unwrap(),
            ModelFile::load(&whole).unwrap(),
        );
        assert_eq!(apart.model, together.model);
        let own = sharing.is_empty();
        assert_eq!(together.meta.run.as_ref().unwrap().own_features, own);
        let shown: Vec<String> = apart.model.layers().iter().map(|l| l.to_string()).collect();
        if own {
            // Networks with their own filters vote side by side.
            assert!(
                shown[0].starts_with(
                    "Vote(2 × Chain(BitConv2d(28x28x1 → 28x28x8, 5x5, padding 2, thresholds), BitMaxPool(28x28x8 → 7x7x8"
                ),
                "{shown:?}"
            );
        } else {
            assert!(
                shown[0].starts_with("BitConv2d(28x28x1 → 28x28x8, 5x5"),
                "{shown:?}"
            );
            assert!(
                shown[1].starts_with("BitMaxPool(28x28x8 → 7x7x8"),
                "{shown:?}"
            );
            assert_eq!(apart.model.layers()[2].outputs(), 2 * (16 + 1));
        }
        // What the run reports is the saved model's accuracy, on the digits binarised as it
        // records.
        let binarization = together.meta.binarization.expect("recorded");
        let data = Dataset::embedded()
            .rebinarized(binarization)
            .unwrap()
            .for_task(&Task::digits())
            .unwrap();
        let predicted = together.model.predict_split(&data.test).unwrap();
        let right = predicted
            .iter()
            .zip(data.test.labels())
            .filter(|(p, l)| **p == usize::from(**l))
            .count();
        assert_eq!(
            report(&out)["test"]["accuracy"].as_f64(),
            Some(right as f64 / data.test.len() as f64)
        );
    }
}

#[test]
fn convolutions_for_a_climb_are_refused_where_they_do_not_apply() {
    let mut args = SMALL.to_vec();
    args.retain(|a| *a != "--hidden" && *a != "16");
    let with = |extra: &[&str]| {
        let mut a = args.clone();
        a.extend(extra);
        bitsmnist(&a)
    };
    refused(
        &bitsmnist(&[
            "train",
            "--task",
            "digits",
            "--method",
            "population",
            "--arch",
            "conv8x5,pool4,16",
        ]),
        &["--arch", "population"],
    );
    refused(
        &with(&["--hidden", "16", "--imprint-distance", "0.2"]),
        &["--imprint-distance", "convolutions"],
    );
    refused(
        &with(&["--arch", "conv8x5,pool4,16", "--imprint-distance", "1.5"]),
        &["--imprint-distance", "[0, 1)"],
    );
    refused(
        &with(&["--arch", "conv8x5,pool4,16,16"]),
        &["one hidden layer"],
    );
    refused(&with(&["--arch", "conv8x40p0,16"]), &["conv8x40"]);
}
