//! Model files crossing between the desktop app and the command line, both ways: the app
//! (driven headlessly through its labels with egui_kittest, as in `bitsmnist-gui/tests`) and
//! this package's real `bitsmnist` binary.

// The app's test helpers: the harness, waiting for jobs, the clicks.
#[path = "../../../bitsmnist-gui/tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};

use bitsmnist_core::io::ModelFile;
use bitsmnist_core::prelude::*;
use bitsmnist_gui::training::Method;
use common::*;
use egui_kittest::kittest::Queryable;

/// Runs the command line as a user does.
fn bitsmnist_cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bitsmnist"))
        .env(
            "BITSMNIST_RUNS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/runs"),
        )
        .args(args)
        .output()
        .expect("runs")
}

/// The `report` object among the lines of `eval --json`.
fn report(out: &Output) -> serde_json::Value {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .find(|v| v["type"] == "report")
        .expect("a report object")
}

#[test]
fn models_cross_between_the_app_and_the_command_line_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    // The command line trains and saves; the app opens the file and continues its training.
    let cli_file = dir.path().join("cli.bin");
    let out = bitsmnist_cli(&[
        "train",
        "--task",
        "zero-one",
        "--hidden",
        "16",
        "--population",
        "12",
        "--elitism",
        "3",
        "--generations",
        "4",
        "--quiet",
        "--out",
        cli_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved_by_cli = ModelFile::load(&cli_file).unwrap();
    let gui_file = dir.path().join("gui.bin");
    let mut h = harness(quick_settings(), Some(gui_file.clone()));
    ready(&mut h);
    drop_file(&mut h, &cli_file);
    no_errors(h.state());
    assert_eq!(h.state().model.chain.as_ref(), Some(&saved_by_cli.model));
    click(&mut h, "Training");
    h.get_by_label("Continue").click();
    run_until(&mut h, "generations past the command line's", |a| {
        a.training.history.last().is_some_and(|r| r.step >= 6)
    });
    stop(&mut h);
    // The app saves; `bitsmnist eval` reads it and agrees with the app's own evaluation.
    click_menu(&mut h, "Save model as…");
    assert!(gui_file.exists());
    let saved_by_gui = ModelFile::load(&gui_file).unwrap();
    assert!(population(&saved_by_gui).unwrap().generation() >= 6);
    let out = bitsmnist_cli(&["eval", gui_file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = report(&out);
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let accuracy = statistics::accuracy(&saved_by_gui.model, &data.test);
    assert_eq!(json["test"]["accuracy"].as_f64().unwrap(), accuracy);
    assert_eq!(
        json["step"].as_u64().unwrap(),
        population(&saved_by_gui).unwrap().generation()
    );
}

#[test]
fn a_grey_input_model_is_fed_grey_levels_everywhere_and_the_command_line_agrees() {
    let mut s = one_epoch_settings();
    s.training.method = Method::Gradient;
    s.training.gradient.input = bitsmnist_core::layers::Input::Grey;
    let (_dir, path, mut h) = ready_with_file(s, "grey.bin");
    click(&mut h, "Training");
    h.get_by_label("Start").click();
    run_until(&mut h, "the end of the run", |a| {
        !a.training.is_running() && !a.training.history.is_empty()
    });
    let app = h.state();
    no_errors(app);
    let model = app.model.chain.clone().unwrap();
    assert!(
        model.to_string().starts_with("Chain(Dense(784, 16"),
        "{model}"
    );
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let grey = bitsmnist_core::layers::Input::Grey;
    assert_eq!(model.input(), grey);
    let want = bitsmnist_core::statistics::try_accuracy(&model, &data.test).unwrap();
    let (eval, _) = app.evaluation.result.as_ref().expect("evaluated");
    assert_eq!(eval.confusion.accuracy(), want);
    assert!(want > 0.9, "{want}");
    click(&mut h, "Draw");
    click(&mut h, "Random test digit");
    assert!(h.state().draw.prediction.is_some());
    // The genetic trainer feeds bits: it refuses instead of training on the wrong input.
    h.state_mut().settings.training.method = Method::Genetic;
    h.state_mut().apply(bitsmnist_gui::Command::StartTraining);
    h.run_ok();
    assert!(!h.state().training.is_running());
    assert!(
        h.state().errors[0].contains("grey"),
        "{:?}",
        h.state().errors
    );

    click_menu(&mut h, "Save model as…");
    let out = bitsmnist_cli(&["eval", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = report(&out);
    assert_eq!(json["test"]["accuracy"].as_f64().unwrap(), want);
    // Opened again, it still reads grey levels.
    new_random_model(&mut h);
    click_menu(&mut h, "Open model…");
    assert_eq!(h.state().model.input, grey);
    h.get_by_label_contains("Reads grey levels");
}

/// The population a model file holds, if any.
fn population(file: &ModelFile) -> Option<&Population> {
    match &file.state {
        Some(TrainingState::Population { set, .. }) => Some(set),
        _ => None,
    }
}

/// One plan, three front ends: the app's Start (its worker), `bitsmnist train` and the library
/// as a notebook calls it train the same model bit for bit, for the population, a climbing
/// ensemble and gradient training, from the app's default settings and the command line's
/// defaults with the same few settings changed.
#[test]
fn the_app_the_command_line_and_the_library_train_the_same_model_from_one_plan() {
    use bitsmnist_core::session::{RunPlan, Session};
    use bitsmnist_gui::data::TaskKind;
    use bitsmnist_gui::training::{Base, plan};

    let dir = tempfile::tempdir().unwrap();
    let base = || {
        let mut s = bitsmnist_gui::app::Settings::default();
        s.training.use_time = false;
        s.training.use_generations = true;
        s
    };
    let mut population = base();
    population.training.generations = 5;
    let mut ensemble = base();
    ensemble.data.task = TaskKind::Digits;
    ensemble.model.hidden = "16".into();
    ensemble.training.method = Method::Climb;
    ensemble.training.climb.members = 2;
    ensemble.training.climb.trials = 2000;
    ensemble.training.climb.batch = 500;
    ensemble.training.generations = 3;
    let mut gradient = base();
    gradient.model.hidden = "16".into();
    gradient.training.method = Method::Gradient;
    gradient.training.gradient.epochs = 1;
    gradient.training.use_generations = false;
    let cases: [(&str, _, Task, &[&str]); 3] = [
        (
            "population",
            population,
            Task::zero_one(),
            &["--task", "zero-one", "--generations", "5"],
        ),
        (
            "ensemble",
            ensemble,
            Task::digits(),
            &[
                "--task",
                "digits",
                "--hidden",
                "16",
                "--ensemble",
                "2",
                "--trials",
                "2000",
                "--batch",
                "500",
                "--generations",
                "3",
            ],
        ),
        (
            "gradient",
            gradient,
            Task::zero_one(),
            &["--method", "gradient", "--hidden", "16", "--epochs", "1"],
        ),
    ];
    for (name, settings, task, flags) in cases {
        // The app: Start, wait for the end, Save.
        let app_path = dir.path().join(format!("{name}-app.bin"));
        let mut h = harness(settings.clone(), Some(app_path.clone()));
        ready(&mut h);
        click(&mut h, "Training");
        start(&mut h, "Start");
        run_until(&mut h, "the end of the run", |a| !a.training.is_running());
        no_errors(h.state());
        click_menu(&mut h, "Save model as…");
        run_until(&mut h, "the file", |a| a.status.starts_with("saved"));
        let app = ModelFile::load(&app_path).unwrap();

        // The command line, with the same settings as flags.
        let cli_path = dir.path().join(format!("{name}-cli.bin"));
        let args: Vec<&str> = ["train"]
            .iter()
            .chain(flags)
            .chain(&["--quiet", "--out", cli_path.to_str().unwrap()])
            .copied()
            .collect();
        let out = bitsmnist_cli(&args);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli = ModelFile::load(&cli_path).unwrap();

        // The library, from the plan the app made of its settings.
        let plan: RunPlan = plan(
            &settings.training,
            &settings.model,
            &task,
            settings.data.fraction,
            Base::Fresh,
        )
        .unwrap();
        let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
        session
            .run(|_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        let lib = session.checkpoint();

        assert_eq!(app.model, lib.model, "{name}: the app's model differs");
        assert_eq!(
            cli.model, lib.model,
            "{name}: the command line's model differs"
        );
        for f in [&app, &cli] {
            let state = f.state.as_ref().unwrap();
            assert_eq!(
                state.step_number(),
                lib.state.as_ref().unwrap().step_number()
            );
            assert_eq!(
                state.current_model(),
                lib.state.as_ref().unwrap().current_model()
            );
            assert_eq!(f.meta.run, lib.meta.run, "{name}");
            assert_eq!(f.meta.task.as_ref(), Some(&task), "{name}");
        }
    }
}

#[test]
fn runs_of_the_command_line_the_app_and_the_library_meet_in_one_folder_and_list_alike() {
    use bitsmnist_core::runs::{RunStatus, RunStore};
    use bitsmnist_core::session::{RunPlan, Session};

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let r = runs.to_str().unwrap();
    // The command line's run.
    let out = bitsmnist_cli(&[
        "train",
        "--task",
        "zero-one",
        "--generations",
        "5",
        "--label",
        "from the command line",
        "--runs",
        r,
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The app's run, from its worker.
    let mut settings = quick_settings();
    settings.runs.folder = r.to_string();
    settings.training.use_time = false;
    settings.training.use_generations = true;
    settings.training.generations = 5;
    let mut h = harness(settings, None);
    ready(&mut h);
    click(&mut h, "Training");
    let field =
        h.get_by_role_and_label(bitsmnist_gui::egui::accesskit::Role::TextInput, "Run label");
    field.focus();
    field.type_text("from the app");
    h.run_ok();
    start(&mut h, "Start");
    run_until(&mut h, "the app's run", |a| !a.training.is_running());
    no_errors(h.state());
    // The library's run, as a notebook records one.
    let store = RunStore::open(&runs).unwrap();
    let plan = RunPlan::for_task(Task::zero_one()).generations(5);
    let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
    session.record(&store, "from the library", &[]).unwrap();
    session
        .run(|_| std::ops::ControlFlow::Continue(()))
        .unwrap();
    drop(session);

    let labels = ["from the command line", "from the app", "from the library"];
    // The library lists all three, each finished with its program, settings and result.
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 3);
    for (run, label) in listed.iter().zip(labels) {
        assert_eq!(run.status, RunStatus::Finished, "{label}");
        let s = run.summary.as_ref().unwrap();
        assert_eq!(s.label, label);
        assert_eq!(
            (s.method.as_str(), s.task.as_str(), s.step),
            ("population", "zero-one", 5)
        );
        assert!(s.result.is_some() && !s.settings.is_empty(), "{label}");
    }
    let programs: Vec<&str> = listed
        .iter()
        .map(|r| r.summary.as_ref().unwrap().program.as_str())
        .collect();
    assert_eq!(programs, ["bitsmnist", "bitsmnist-gui", ""]);
    // The command line lists the same three with the same fields.
    let out = bitsmnist_cli(&["runs", "--runs", r, "--json"]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for (row, label) in rows.iter().zip(labels) {
        assert_eq!(row["label"], label);
        assert_eq!(row["status"], "finished");
        assert_eq!(keys(row), keys(&rows[0]));
    }
    // And so does the app's Runs tab.
    click(&mut h, "Runs");
    h.run_ok();
    for label in labels {
        assert!(h.query_by_label(label).is_some(), "{label} in the Runs tab");
    }
}
