//! Training, files and drag-and-drop, driven through the UI's labels.

mod common;

use std::path::Path;

use bitsmnist_core::genetic::{TrainOptions, TrainingSet};
use bitsmnist_core::io::{Metadata, ModelFile};
use bitsmnist_core::prelude::*;
use bitsmnist_gui::egui;
use bitsmnist_gui::{BitsApp, Settings, Tab};
use common::{harness, ready, run_until};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// Small and quick: a 784 → 16 → 2 model, 12 candidates, mini-batches of 64.
fn quick_settings() -> Settings {
    let mut s = Settings::default();
    s.model.hidden = "16".into();
    let t = &mut s.training;
    t.population = 12;
    t.elitism = 3;
    t.use_batch = true;
    t.batch = 64;
    t.use_time = true;
    t.seconds = 120.0;
    t.validate_every = 1;
    s
}

/// A file dropped on the window, as the native integration reports it.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn click_menu(h: &mut Harness<'_, BitsApp>, item: &str) {
    h.get_by_label("File").click();
    h.run_ok();
    h.get_by_label(item).click();
    h.run_ok();
}

fn train_a_little(h: &mut Harness<'_, BitsApp>) {
    h.get_by_label("Training").click();
    h.run_ok();
    h.get_by_label("Start").click();
    run_until(h, "three generations", |a| a.training.history.len() >= 3);
}

#[test]
fn a_short_run_plots_points_pauses_resumes_stops_saves_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gui-model.bin");
    let mut h = harness(quick_settings(), Some(path.clone()));
    ready(&mut h);
    train_a_little(&mut h);
    assert!(h.state().training.is_running());
    // The plots and the live figures are there.
    h.get_by_label("Fitness per generation");
    h.get_by_label_contains("generations/s");
    let recs = &h.state().training.history.records;
    assert!(recs.iter().all(|r| r.best >= r.mean && r.mean >= r.worst));
    assert!(recs.iter().any(|r| r.validation_accuracy.is_some()));

    h.get_by_label("Pause").click();
    run_until(&mut h, "the pause", |a| {
        a.training.run.as_ref().is_some_and(|r| r.paused)
    });
    let at_pause = h.state().training.history.len();
    h.get_by_label("Resume").click();
    run_until(&mut h, "more generations", |a| {
        a.training.history.len() >= at_pause + 2
    });
    h.get_by_label("Stop").click();
    run_until(&mut h, "the stop", |a| !a.training.is_running());
    let app = h.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    assert!(
        app.model.origin.starts_with("trained"),
        "{}",
        app.model.origin
    );
    let trained = app.model.chain.clone().unwrap();
    let generations = app.training.history.len();
    assert!(app.training.set.is_some());
    // Stopping evaluates the model.
    assert!(app.evaluation.result.is_some());

    click_menu(&mut h, "Save model as…");
    assert!(path.exists(), "saved");
    assert_eq!(h.state().settings.recent[0], path);
    // What notebooks and `bitsmnist eval` read: the library's loader.
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(file.model, trained);
    assert_eq!(file.history.as_ref().unwrap().len(), generations);
    assert!(file.training.is_some());
    assert_eq!(file.meta.task, Some(Task::zero_one()));

    // A new model replaces the trained one; opening the file brings it back, state included.
    h.get_by_label("Model").click();
    h.run_ok();
    h.get_by_label("New random model").click();
    h.run_ok();
    assert_ne!(h.state().model.chain.as_ref(), Some(&trained));
    click_menu(&mut h, "Open model…");
    let app = h.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    assert_eq!(app.model.chain.as_ref(), Some(&trained));
    assert_eq!(app.training.history.len(), generations);
    assert!(app.training.set.is_some());
    // Training continues from the saved state.
    h.get_by_label("Training").click();
    h.run_ok();
    h.get_by_label("Continue").click();
    run_until(&mut h, "generations after the saved ones", |a| {
        a.training.history.len() >= generations + 2
    });
    h.get_by_label("Stop").click();
    run_until(&mut h, "the stop", |a| !a.training.is_running());

    // And the trained model reads a drawing.
    h.get_by_label("Draw").click();
    h.run_ok();
    h.get_by_label("Random test digit").click();
    h.run_ok();
    assert!(h.state().draw.prediction.is_some());
    assert_eq!(h.state().settings.tab, Tab::Draw);
}

#[test]
fn a_checkpoint_saved_by_the_library_opens_by_drag_and_drop_and_continues() {
    // Written the way the command line and notebooks write it.
    let data = Dataset::embedded().for_task(&Task::zero_one());
    let sample = data.train.sample(0.05, 2);
    let model = Chain::new(vec![
        BitDense::new(784, 8).into(),
        BitDense::new(8, 2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    let params = bitsmnist_core::genetic::TrainerParams::default()
        .population(8)
        .elitism(2)
        .seed(3);
    let mut set = TrainingSet::for_all_bit_layers(model, params).unwrap();
    set.run(
        &bitsmnist_core::fitness::Fitness::score(&sample),
        &TrainOptions::new().generations(3).quiet(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.bin");
    ModelFile::from_training(&set)
        .with_meta(
            Metadata::now()
                .with_dataset(&data)
                .with_task(&Task::zero_one()),
        )
        .save(&path)
        .unwrap();

    let mut h = harness(quick_settings(), None);
    ready(&mut h);
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.clone())));
    h.run_ok();
    let app = h.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    assert_eq!(app.model.chain.as_ref(), Some(set.chain()));
    assert_eq!(app.training.history.len(), 4);
    assert_eq!(app.current_file.as_deref(), Some(Path::new(&path)));
    h.get_by_label("Training").click();
    h.run_ok();
    h.get_by_label("Continue").click();
    run_until(&mut h, "a generation past the checkpoint", |a| {
        a.training.history.last().is_some_and(|r| r.generation >= 5)
    });
    h.get_by_label("Stop").click();
    run_until(&mut h, "the stop", |a| !a.training.is_running());
    assert!(h.state().errors.is_empty());
}

#[test]
fn bad_trainer_options_or_a_broken_file_show_an_error_and_the_app_stays_usable() {
    let mut s = quick_settings();
    s.training.elitism = 12; // not smaller than the population
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.bin");
    std::fs::write(&broken, b"BITSMNST garbage").unwrap();
    let mut h = harness(s, Some(broken.clone()));
    ready(&mut h);
    h.get_by_label("Training").click();
    h.run_ok();
    h.get_by_label_contains("Trainer options: elitism 12");
    // Forcing a start anyway reports the error instead of starting.
    h.state_mut().apply(bitsmnist_gui::Command::StartTraining);
    h.run_ok();
    assert!(!h.state().training.is_running());
    assert_eq!(h.state().errors.len(), 1);
    click_menu(&mut h, "Open model…");
    assert_eq!(h.state().errors.len(), 2);
    assert!(h.state().errors[1].contains("broken.bin"));
    // Fix the option: training works.
    h.state_mut().settings.training.elitism = 3;
    h.run_ok();
    h.get_by_label("Start").click();
    run_until(&mut h, "a generation", |a| !a.training.history.is_empty());
    h.get_by_label("Stop").click();
    run_until(&mut h, "the stop", |a| !a.training.is_running());
}

/// Runs the real command line (`bitsmnist ...`) from the workspace root.
fn bitsmnist_cli(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--bin", "bitsmnist", "--"])
        .args(args)
        .current_dir(root)
        .output()
        .expect("cargo runs")
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
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(cli_file.clone())));
    h.run_ok();
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().model.chain.as_ref(), Some(&saved_by_cli.model));
    h.get_by_label("Training").click();
    h.run_ok();
    h.get_by_label("Continue").click();
    run_until(&mut h, "generations past the command line's", |a| {
        a.training.history.last().is_some_and(|r| r.generation >= 6)
    });
    h.get_by_label("Stop").click();
    run_until(&mut h, "the stop", |a| !a.training.is_running());
    // The app saves; `bitsmnist eval` reads it and agrees with the app's own evaluation.
    click_menu(&mut h, "Save model as…");
    assert!(gui_file.exists());
    let saved_by_gui = ModelFile::load(&gui_file).unwrap();
    assert!(saved_by_gui.training.as_ref().unwrap().generation() >= 6);
    let out = bitsmnist_cli(&["eval", gui_file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let data = Dataset::embedded().for_task(&Task::zero_one());
    let accuracy = statistics::accuracy(&saved_by_gui.model, &data.test);
    assert_eq!(json["test_accuracy"].as_f64().unwrap(), accuracy);
    assert_eq!(
        json["generations"].as_u64().unwrap(),
        saved_by_gui.training.unwrap().generation()
    );
}
