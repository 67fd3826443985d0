//! One plan, one model: a run set up by `bitsmnist train` and the same run set up through the
//! library as a notebook does (`RunPlan` -> `Session`) give models equal bit for bit, for the
//! population, a climbing ensemble and gradient training; and the JSON line is the
//! `RunReport`, with the same keys for every method.

use std::ops::ControlFlow;
use std::process::Command;

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::gradient::GradientParams;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::layers::Architecture;
use bitsmnist_core::search::ClimbParams;
use bitsmnist_core::session::{RunPlan, Session};
use bitsmnist_core::training::{MethodKind, TrainConfig};

/// Trains with the command line into a temporary file; returns the file and the JSON line,
/// after checking that `bitsmnist eval` of the file reports with the same keys and figures.
fn cli(args: &[&str]) -> (ModelFile, serde_json::Value) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("m.bin");
    let o = Command::new(env!("CARGO_BIN_EXE_bitsmnist"))
        .env(
            "BITSMNIST_RUNS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/runs"),
        )
        .args(args)
        .args(["--quiet", "--json", "--out", out.to_str().expect("UTF-8")])
        .env("BITSMNIST_DATA_DIR", "/nonexistent/bitsmnist-test-cache")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim_end()).expect("one JSON line");
    let e = Command::new(env!("CARGO_BIN_EXE_bitsmnist"))
        .env(
            "BITSMNIST_RUNS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/runs"),
        )
        .args(["eval", out.to_str().expect("UTF-8"), "--json"])
        .output()
        .expect("runs");
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let stdout = String::from_utf8_lossy(&e.stdout);
    // The report comes first; the confusion matrix follows it.
    let eval: serde_json::Value =
        serde_json::from_str(stdout.lines().next().expect("output")).expect("JSON line");
    assert_eq!(eval["type"], "report");
    // Train's report adds the id of the run's record in the runs folder.
    assert!(json["run"].is_string(), "{json}");
    let mut train_keys = keys(&json);
    train_keys.retain(|k| k != "run");
    assert_eq!(keys(&eval), train_keys, "eval reports as train does");
    assert_eq!(eval["origin"], "file");
    for k in [
        "method",
        "architecture",
        "task",
        "seed",
        "step",
        "train",
        "test",
        "bytes",
        "fingerprint",
    ] {
        assert_eq!(eval[k], json[k], "{k}");
    }
    (ModelFile::load(&out).expect("the saved run loads"), json)
}

/// The same run through the library.
fn library(plan: RunPlan) -> ModelFile {
    let mut session = Session::start(plan, &Dataset::embedded()).expect("starts");
    session.run(|_| ControlFlow::Continue(())).expect("runs");
    session.checkpoint()
}

fn same(cli: &ModelFile, lib: &ModelFile) {
    assert_eq!(cli.model, lib.model, "the kept models differ");
    let (a, b) = (cli.state.as_ref().unwrap(), lib.state.as_ref().unwrap());
    assert_eq!(a.step_number(), b.step_number());
    assert_eq!(a.current_model(), b.current_model());
    assert_eq!(cli.meta.task, lib.meta.task);
    assert_eq!(cli.meta.run, lib.meta.run);
    assert_eq!(cli.meta.program.as_deref(), Some("bitsmnist"));
}

fn keys(json: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = json.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn the_command_line_and_the_library_train_the_same_models_from_one_plan() {
    let (pop, pop_json) = cli(&[
        "train",
        "--task",
        "zero-one",
        "--generations",
        "6",
        "--seed",
        "3",
    ]);
    let plan = RunPlan::for_task(Task::zero_one()).seed(3).generations(6);
    same(&pop, &library(plan));
    assert_eq!(pop_json["method"], "population");
    assert_eq!(pop_json["step"], 6);

    let (ens, ens_json) = cli(&[
        "train",
        "--task",
        "digits",
        "--hidden",
        "16",
        "--trials",
        "2000",
        "--batch",
        "300",
        "--ensemble",
        "2",
        "--generations",
        "3",
        "--seed",
        "5",
    ]);
    let plan = RunPlan::for_method(Task::digits(), MethodKind::Ensemble)
        .config(TrainConfig::Climb {
            params: ClimbParams::default()
                .trials_per_generation(2000)
                .batch_size(Some(300)),
            members: 2,
        })
        .architecture(Architecture::dense(vec![16]))
        .seed(5)
        .generations(3);
    same(&ens, &library(plan));
    assert_eq!(ens_json["method"], "climb");
    assert_eq!(ens_json["members"], 2);
    assert!(ens_json["stats"]["flips_per_sec"].as_f64().unwrap() > 0.0);

    let (grad, grad_json) = cli(&[
        "train", "--method", "gradient", "--hidden", "32", "--epochs", "1", "--sample", "0.2",
        "--seed", "2",
    ]);
    let plan = RunPlan::for_method(Task::zero_one(), MethodKind::Gradient)
        .config(TrainConfig::Gradient(
            GradientParams::default().hidden(vec![32]).epochs(1),
        ))
        .sample(0.2)
        .seed(2);
    same(&grad, &library(plan));
    assert_eq!(grad_json["method"], "gradient");
    assert_eq!(grad_json["step"], 1);

    // One report, the same keys whatever the method.
    assert_eq!(keys(&pop_json), keys(&ens_json));
    assert_eq!(keys(&pop_json), keys(&grad_json));
    assert_eq!(keys(&pop_json["stats"]), keys(&grad_json["stats"]));
    for j in [&pop_json, &ens_json, &grad_json] {
        let test = &j["test"];
        assert!(test["accuracy"].as_f64().unwrap() > 0.2, "{j}");
        assert_eq!(
            test["correct"].as_u64().unwrap()
                + (test["error"].as_f64().unwrap() * test["total"].as_f64().unwrap()).round()
                    as u64,
            test["total"].as_u64().unwrap()
        );
    }
}
