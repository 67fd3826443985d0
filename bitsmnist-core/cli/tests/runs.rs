//! The runs folder from the command line: every `train` recorded, listed, shown, compared,
//! relabelled and deleted; a run killed with SIGKILL listed as interrupted and continued to
//! the model an uninterrupted run makes; a damaged record beside the others.

mod common;

use std::path::Path;

use common::*;

/// `bitsmnist ARGS --runs DIR` in `dir`, to its end.
fn in_runs(dir: &Path, runs: &Path, args: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--runs", runs.to_str().unwrap()]);
    run_in(dir, &all)
}

fn runs_json(dir: &Path, runs: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["runs", "--json"];
    args.extend_from_slice(extra);
    let out = in_runs(dir, runs, &args);
    succeeded(&out, "runs --json");
    json_lines(&out)
}

#[test]
fn every_train_is_recorded_and_listed_shown_compared_relabelled_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let mut ids = Vec::new();
    for (seed, label) in [("1", "baseline"), ("2", "other seed")] {
        let out = in_runs(
            dir.path(),
            &runs,
            &[
                "train",
                "--task",
                "zero-one",
                "--generations",
                "30",
                "--seed",
                seed,
                "--label",
                label,
                "--tag",
                "sweep",
                "--json",
            ],
        );
        succeeded(&out, "train");
        let id = report(&out)["run"]
            .as_str()
            .expect("the run's id")
            .to_string();
        ids.push(id);
    }
    // Not recorded: --no-record.
    let out = run_in(
        dir.path(),
        &[
            "train",
            "--task",
            "zero-one",
            "--generations",
            "5",
            "--no-record",
            "--json",
        ],
    );
    assert_eq!(report(&out)["run"], serde_json::Value::Null);

    let listed = runs_json(dir.path(), &runs, &[]);
    assert_eq!(listed.len(), 2);
    for (row, id) in listed.iter().zip(&ids) {
        assert_eq!(row["type"], "run");
        assert_eq!(row["id"], id.as_str());
        assert_eq!(row["status"], "finished");
        assert_eq!(row["method"], "population");
        assert_eq!(row["step"], 30);
        assert_eq!(row["program"], "bitsmnist");
        assert!(row["result"]["test_accuracy"].as_f64().unwrap() > 0.5);
    }
    assert_eq!(listed[0]["label"], "baseline");
    assert_eq!(
        runs_json(dir.path(), &runs, &["--label", "other"]).len(),
        1,
        "a filter on the label"
    );
    assert_eq!(runs_json(dir.path(), &runs, &["--tag", "sweep"]).len(), 2);
    assert_eq!(
        runs_json(dir.path(), &runs, &["--status", "interrupted"]).len(),
        0
    );

    // The table for people, and one run in full.
    let table = in_runs(dir.path(), &runs, &["runs"]);
    succeeded(&table, "runs");
    let text = stdout(&table);
    assert!(text.starts_with("id "), "{text}");
    assert!(
        text.contains("baseline") && text.contains("other seed"),
        "{text}"
    );
    assert!(!any_json_object(&table));
    let show = in_runs(dir.path(), &runs, &["runs", "show", &ids[0]]);
    let text = stdout(&show);
    assert!(
        text.contains("finished") && text.contains("mutation"),
        "{text}"
    );

    // Compared: the seed is what differs.
    let out = in_runs(
        dir.path(),
        &runs,
        &["runs", "compare", &ids[0], &ids[1], "--json"],
    );
    let comparison = json_object(&out, "comparison");
    assert_eq!(
        comparison["differing"],
        serde_json::json!([["seed", ["1", "2"]]])
    );
    assert_eq!(comparison["runs"].as_array().unwrap().len(), 2);

    // Relabelled, then deleted.
    let out = in_runs(
        dir.path(),
        &runs,
        &["runs", "label", &ids[1], "seed two", "--tags", "kept"],
    );
    succeeded(&out, "runs label");
    let listed = runs_json(dir.path(), &runs, &["--tag", "kept"]);
    assert_eq!(listed[0]["label"], "seed two");
    succeeded(
        &in_runs(dir.path(), &runs, &["runs", "delete", &ids[0]]),
        "runs delete",
    );
    assert_eq!(runs_json(dir.path(), &runs, &[]).len(), 1);
    // Ids that name no run, or no run id at all, are refused.
    let out = in_runs(dir.path(), &runs, &["runs", "show", "../../etc"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = in_runs(dir.path(), &runs, &["runs", "show", &ids[0]]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_run_killed_mid_way_is_interrupted_and_continues_to_the_uninterrupted_model() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let r = runs.to_str().unwrap();
    let args = ["train", "--task", "zero-one", "--generations", "600"];
    let whole = run_in(
        dir.path(),
        &[&args[..], &["--no-record", "--json"]].concat(),
    );
    let expected = report(&whole)["fingerprint"].clone();

    let child = command(
        dir.path(),
        &[&args[..], &["--runs", r, "--label", "killed", "--quiet"]].concat(),
        &[],
    )
    .spawn()
    .unwrap();
    // Killed once its record exists (written before the first generation).
    let start = std::time::Instant::now();
    while runs_json(dir.path(), &runs, &[]).is_empty() {
        assert!(start.elapsed() < DEADLINE, "no record appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(&child, "KILL");
    finish(child, "train (killed)");
    let listed = runs_json(dir.path(), &runs, &[]);
    assert_eq!(listed[0]["status"], "interrupted");
    let id = listed[0]["id"].as_str().unwrap().to_string();

    let out = run_in(
        dir.path(),
        &["train", "--continue", &id, "--runs", r, "--json"],
    );
    succeeded(&out, "train --continue");
    let continued = report(&out);
    assert_eq!(continued["run"], id.as_str());
    assert_eq!(continued["step"], 600);
    assert_eq!(continued["fingerprint"], expected);
    let listed = runs_json(dir.path(), &runs, &[]);
    assert_eq!(listed.len(), 1, "continued in its own record");
    assert_eq!(listed[0]["status"], "finished");
    assert_eq!(listed[0]["label"], "killed");
}

#[test]
fn a_damaged_record_is_listed_as_such_beside_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    for seed in ["1", "2"] {
        let out = in_runs(
            dir.path(),
            &runs,
            &[
                "train",
                "--task",
                "zero-one",
                "--generations",
                "5",
                "--seed",
                seed,
            ],
        );
        succeeded(&out, "train");
    }
    let listed = runs_json(dir.path(), &runs, &[]);
    let damaged = listed[0]["id"].as_str().unwrap();
    let summary = runs.join(damaged).join("summary.bin");
    let bytes = std::fs::read(&summary).unwrap();
    std::fs::write(&summary, &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(runs.join("stray.txt"), "not a run").unwrap();
    let listed = runs_json(dir.path(), &runs, &[]);
    assert_eq!(listed.len(), 2);
    assert!(
        listed[0]["status"].as_str().unwrap().starts_with("damaged"),
        "{:?}",
        listed[0]
    );
    assert_eq!(listed[1]["status"], "finished");
    let table = in_runs(dir.path(), &runs, &["runs"]);
    succeeded(&table, "runs with a damaged record");
    assert!(stdout(&table).contains("damaged"));
}

#[test]
fn a_sweep_killed_mid_way_and_started_again_finishes_each_point_once() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let r = runs.to_str().unwrap();
    let sweep = [
        "sweep",
        "--grid",
        "hidden=16,32",
        "--seeds",
        "1..3",
        "--runs",
        r,
        "--task",
        "zero-one",
        "--generations",
        "1500",
    ];
    let child = command(dir.path(), &sweep, &[]).spawn().unwrap();
    // Killed once a point has finished and the next has begun.
    let start = std::time::Instant::now();
    loop {
        let listed = runs_json(dir.path(), &runs, &[]);
        if listed.iter().any(|r| r["status"] == "finished") && listed.len() >= 2 {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the sweep made no progress");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(&child, "KILL");
    finish(child, "sweep (killed)");
    // Its running point got SIGTERM from the kernel as its parent died, and saved.
    let start = std::time::Instant::now();
    while !runs_json(dir.path(), &runs, &["--status", "running"]).is_empty() {
        assert!(start.elapsed() < DEADLINE, "a point outlived its sweep");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = runs_json(dir.path(), &runs, &[]);
    assert!(before.len() < 6, "killed mid-way: {} runs", before.len());

    let again = run_in(dir.path(), &sweep);
    succeeded(&again, "the sweep started again");
    let listed = runs_json(dir.path(), &runs, &[]);
    assert_eq!(listed.len(), 6, "six runs, none twice");
    let mut points: Vec<String> = listed
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "finished", "{r}");
            let tags = r["tags"].as_array().unwrap();
            tags.iter()
                .find_map(|t| t.as_str().filter(|t| t.starts_with("point:")))
                .unwrap()
                .to_string()
        })
        .collect();
    points.sort();
    points.dedup();
    assert_eq!(points.len(), 6);
    let table = stdout(&again);
    assert!(table.contains("mean ± standard deviation"), "{table}");
    for setting in ["hidden=16", "hidden=32"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(setting))
            .unwrap_or_else(|| panic!("{setting} in {table}"));
        assert!(row.contains("3/3") && row.contains('±'), "{row}");
    }

    // Started a third time, it has nothing left to run.
    let third = run_in(dir.path(), &[&sweep[..], &["--json"]].concat());
    succeeded(&third, "the sweep a third time");
    let settings: Vec<_> = json_lines(&third)
        .into_iter()
        .filter(|v| v["type"] == "sweep_setting")
        .collect();
    assert_eq!(settings.len(), 2);
    assert!(
        json_lines(&third)
            .iter()
            .all(|v| v["type"] != "sweep_point")
    );
    assert_eq!(runs_json(dir.path(), &runs, &[]).len(), 6);
}

#[test]
fn a_sweep_refuses_grids_that_are_no_train_options() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let r = runs.to_str().unwrap();
    for (args, needle) in [
        (&["--grid", "seed=1,2"][..], "--seeds"),
        (&["--grid", "hiden=1,2"], "not an option of bitsmnist train"),
        (&["--grid", "hidden=1,2", "--hidden", "4"], "also an axis"),
        (
            &["--grid", "hidden=1,2", "--out", "x.bin"],
            "sets it for each point",
        ),
        (&["--grid", "method=climb,nonsense"], "would be refused"),
        (&["--grid", "hidden"], "NAME=V1,V2"),
    ] {
        let out = run_in(
            dir.path(),
            &[&["sweep", "--runs", r][..], args, &["--task", "zero-one"]].concat(),
        );
        assert_error(&out, 2, needle, &format!("{args:?}"));
    }
    assert!(runs_json(dir.path(), &runs, &[]).is_empty(), "nothing ran");
}

#[test]
fn two_processes_recording_at_once_beside_a_truncated_run_leave_every_run_listed_and_loadable() {
    use bitsmnist_core::runs::{RunStatus, RunStore};

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let r = runs.to_str().unwrap();
    // A run whose files a crash cut short, already in the folder.
    let out = in_runs(
        dir.path(),
        &runs,
        &[
            "train",
            "--task",
            "zero-one",
            "--generations",
            "5",
            "--label",
            "cut",
        ],
    );
    succeeded(&out, "train");
    let cut = runs_json(dir.path(), &runs, &[])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["run.bin", "summary.bin"] {
        let path = runs.join(&cut).join(name);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    // Two writers at once, each recording as it goes.
    let children: Vec<_> = ["1", "2"]
        .iter()
        .map(|seed| {
            command(
                dir.path(),
                &[
                    "train",
                    "--task",
                    "zero-one",
                    "--generations",
                    "400",
                    "--seed",
                    seed,
                    "--label",
                    seed,
                    "--runs",
                    r,
                    "--quiet",
                ],
                &[],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        succeeded(&finish(child, "train"), "a writer");
    }
    let store = RunStore::open(&runs).unwrap();
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 3);
    for run in &listed {
        if run.id.as_str() == cut {
            assert!(
                matches!(run.status, RunStatus::Damaged(_)),
                "{:?}",
                run.status
            );
            assert!(store.load(&run.id).is_err());
        } else {
            assert_eq!(run.status, RunStatus::Finished);
            let file = store.load(&run.id).unwrap();
            assert_eq!(file.state.unwrap().step_number(), 400);
        }
    }
}
