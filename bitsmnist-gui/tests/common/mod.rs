//! Helpers shared by the UI tests: a headless harness around the real app, waiting for
//! background jobs, and the clicks every training test makes. The command line's tests of
//! files crossing between the two front ends include this file too
//! (`bitsmnist-core/cli/tests/app.rs`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bitsmnist_gui::{BitsApp, Settings, egui};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The app with `settings`, a file picker that answers `picked`, in a 1280x900 window. Its
/// runs are recorded in a temporary folder of its own (removed with the harness) unless
/// `settings` names one: a test never writes into the user's runs folder.
pub fn harness(mut settings: Settings, picked: Option<PathBuf>) -> Harness<'static, BitsApp> {
    let runs = settings
        .runs
        .folder
        .trim()
        .is_empty()
        .then(|| tempfile::tempdir().unwrap());
    if let Some(dir) = &runs {
        settings.runs.folder = dir.path().display().to_string();
    }
    let app = BitsApp::with_settings(settings, Box::new(move |_| picked.clone()));
    Harness::builder()
        .with_size([1280.0, 900.0])
        .build_ui_state(
            move |ui, app: &mut BitsApp| {
                // The folder lives as long as the harness that draws the app.
                let _ = &runs;
                app.ui_root(ui)
            },
            app,
        )
}

/// Steps frames until `done` holds (jobs run on threads), then lets the UI settle.
pub fn run_until(h: &mut Harness<'_, BitsApp>, what: &str, done: impl Fn(&BitsApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "timed out waiting for {what}; errors: {:?}",
            h.state().errors
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_ok();
}

/// Waits until the embedded data are loaded and a random model exists.
pub fn ready(h: &mut Harness<'_, BitsApp>) {
    run_until(h, "data and model", |a| {
        a.data_ready() && a.model.chain.is_some()
    });
}

/// The app with `settings`, its data loaded; its file picker answers `file` (in a fresh
/// temporary folder, kept alive by the returned guard).
pub fn ready_with_file(
    settings: Settings,
    file: &str,
) -> (tempfile::TempDir, PathBuf, Harness<'static, BitsApp>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    let mut h = harness(settings, Some(path.clone()));
    ready(&mut h);
    (dir, path, h)
}

/// Small and quick: a 784 → 16 → 2 model, 12 candidates, mini-batches of 64.
pub fn quick_settings() -> Settings {
    let mut s = Settings::default();
    s.model.hidden = "16".into();
    let t = &mut s.training;
    t.population = 12;
    t.elitism = 3;
    t.use_batch = true;
    t.batch = 64;
    t.use_generations = false;
    t.use_time = true;
    t.seconds = 120.0;
    t.validate_every = 1;
    s
}

/// The quick settings with a one-epoch gradient run (784 → 16 → 2 on the embedded digits).
pub fn one_epoch_settings() -> Settings {
    let mut s = quick_settings();
    s.training.gradient.epochs = 1;
    s
}

/// The quick settings with short climbing generations (784 → 16 → 2 on the embedded digits).
pub fn quick_climb_settings() -> Settings {
    let mut s = quick_settings();
    s.training.climb.trials = 2000;
    s.training.climb.batch = 500;
    s.training.climb.rescore_every = 2;
    s
}

/// A file dropped on the window, as the native integration reports it.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops `path` onto the window.
pub fn drop_file(h: &mut Harness<'_, BitsApp>, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.to_path_buf())));
    h.run_ok();
}

/// Clicks the widget labelled `label` (a tab, a button) and lets the UI settle.
pub fn click(h: &mut Harness<'_, BitsApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_ok();
}

/// Clicks `item` in the File menu. An entry with a keyboard shortcut is labelled with it
/// ("Save model Ctrl+S"): `item` names it without.
pub fn click_menu(h: &mut Harness<'_, BitsApp>, item: &str) {
    use egui_kittest::kittest::NodeT;

    h.get_by_label("File").click();
    h.run_ok();
    if h.query_by_label(item).is_some() {
        h.get_by_label(item).click();
    } else {
        let with_shortcut = h
            .query_all_by_label_contains(item)
            .filter_map(|n| n.accesskit_node().label())
            .find(|l| {
                l.strip_prefix(item)
                    .and_then(|rest| rest.strip_prefix(' '))
                    .is_some_and(|shortcut| !shortcut.is_empty() && !shortcut.contains(' '))
            })
            .unwrap_or_else(|| panic!("no File menu entry {item:?}"));
        h.get_by_label(&with_shortcut).click();
    }
    h.run_ok();
}

/// Replaces the model with a random one from the Model panel.
pub fn new_random_model(h: &mut Harness<'_, BitsApp>) {
    click(h, "Model");
    click(h, "New random model");
}

/// Picks a method in the Training panel's "Method" menu.
pub fn pick_method(h: &mut Harness<'_, BitsApp>, name: &str) {
    click(h, "Training");
    h.get_by_label("Method").click();
    h.run_ok();
    h.get_by_label(name).click();
    h.run_ok();
}

/// Clicks `button` (Start or Continue) and checks that the run goes on in the background
/// after the frame that started it.
pub fn start(h: &mut Harness<'_, BitsApp>, button: &str) {
    h.get_by_label(button).click();
    h.step();
    assert!(h.state().training.is_running(), "{:?}", h.state().errors);
}

/// Clicks Stop and waits for the run's end.
pub fn stop(h: &mut Harness<'_, BitsApp>) {
    h.get_by_label("Stop").click();
    run_until(h, "the stop", |a| !a.training.is_running());
}

/// Waits until the generation-based run has at least `n` generations.
pub fn generations(h: &mut Harness<'_, BitsApp>, n: usize) {
    run_until(h, &format!("{n} generations"), |a| {
        a.training.history.len() >= n
    });
}

/// Pauses a running run, resumes it, lets it go two more generations and stops it; returns
/// the generations recorded at the pause.
pub fn pause_resume_stop(h: &mut Harness<'_, BitsApp>) -> usize {
    h.get_by_label("Pause").click();
    run_until(h, "the pause", |a| {
        a.training.run.as_ref().is_some_and(|r| r.paused)
    });
    let at_pause = h.state().training.history.len();
    h.get_by_label("Resume").click();
    generations(h, at_pause + 2);
    stop(h);
    at_pause
}

/// Pauses a running gradient run, resumes it, lets it finish another epoch and stops it;
/// returns the epochs recorded at the pause.
pub fn pause_resume_stop_epochs(h: &mut Harness<'_, BitsApp>) -> usize {
    h.get_by_label("Pause").click();
    run_until(h, "the pause", |a| {
        a.training.run.as_ref().is_some_and(|r| r.paused)
    });
    let at_pause = h.state().training.history.len();
    h.get_by_label("Resume").click();
    run_until(h, "an epoch after the pause", |a| {
        a.training.history.len() > at_pause
    });
    stop(h);
    at_pause
}

/// The kind of the training state the app keeps between runs (the last run's, or an opened
/// file's): what Start continues and Save writes.
pub fn kept(app: &BitsApp) -> Option<bitsmnist_core::training::MethodKind> {
    app.training.saved_state().map(|s| s.kind())
}

/// Asserts that the app shows no error.
pub fn no_errors(app: &BitsApp) {
    assert!(app.errors.is_empty(), "{:?}", app.errors);
}
