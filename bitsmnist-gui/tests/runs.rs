//! The runs folder: the app records its runs there, and the Runs tab lists them with the
//! runs other programs recorded, plots and compares the runs ticked, opens and deletes them.

mod common;

use std::ops::ControlFlow;

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::layers::Architecture;
use bitsmnist_core::runs::{RunStatus, RunStore};
use bitsmnist_core::session::{RunPlan, Session};
use bitsmnist_core::training::MethodKind;
use bitsmnist_gui::Settings;
use bitsmnist_gui::egui::accesskit::Role;
use common::*;
use egui_kittest::kittest::Queryable;

/// The quick settings, recording into `dir`, for runs of 5 generations.
fn recording_into(dir: &std::path::Path) -> Settings {
    let mut s = quick_settings();
    s.runs.folder = dir.display().to_string();
    let t = &mut s.training;
    t.use_time = false;
    t.use_generations = true;
    t.generations = 5;
    s
}

/// Records a 5-generation run of zeros against ones as a notebook or the command line would,
/// through the library, with `label` and `seed`.
fn record_by_the_library(store: &RunStore, label: &str, seed: u64) {
    let plan = RunPlan::for_method(Task::zero_one(), MethodKind::Population)
        .architecture(Architecture::dense(vec![8]))
        .seed(seed)
        .generations(5)
        .validate_every(1);
    let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
    session.record(store, label, &[]).unwrap();
    session.run(|_| ControlFlow::Continue(())).unwrap();
}

/// Ticks or unticks the run named `label` in the table (the legend and the diff name it too).
fn tick(h: &mut egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>, label: &str) {
    h.get_by_role_and_label(Role::CheckBox, label).click();
    h.run_ok();
}

#[test]
fn runs_of_the_app_and_of_the_library_are_listed_plotted_compared_opened_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let mut h = harness(recording_into(dir.path()), None);
    ready(&mut h);

    // The app's own run, under the label typed in the Training panel.
    click(&mut h, "Training");
    let field = h.get_by_role_and_label(Role::TextInput, "Run label");
    field.focus();
    field.type_text("from the app");
    h.run_ok();
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    no_errors(h.state());
    let runs = store.list().unwrap();
    assert_eq!(runs.len(), 1);
    let app_run = runs[0].summary.clone().unwrap();
    assert_eq!(app_run.label, "from the app");
    assert_eq!(app_run.program, "bitsmnist-gui");
    assert_eq!(runs[0].status, RunStatus::Finished);
    assert_eq!(app_run.step, 5);
    assert_eq!(h.state().training.recording.as_ref(), Some(&runs[0].id));

    // Another program's run, recorded in the same folder.
    record_by_the_library(&store, "from the library", 7);

    click(&mut h, "Runs");
    for label in ["from the app", "from the library"] {
        assert!(h.query_by_label(label).is_some(), "{label} is listed");
    }
    tick(&mut h, "from the app");
    tick(&mut h, "from the library");
    assert_eq!(h.state().runs.selected.len(), 2);
    // Both curves, named in the legend above the plot: each name is its tick box in the
    // table, its legend entry and its column of the settings diff.
    assert_eq!(
        h.state().runs.plotted,
        vec!["from the app".to_string(), "from the library".to_string()]
    );
    for label in ["from the app", "from the library"] {
        assert_eq!(
            h.query_all_by_label(label).count(),
            3,
            "{label} in the legend"
        );
    }
    // The two runs' settings that differ: the seed and the hidden widths among them.
    assert!(h.query_by_label("Settings that differ").is_some());
    assert!(h.query_by_label("seed").is_some());
    assert!(h.query_by_label("architecture").is_some());

    // Open the app's run: its model and history become the app's.
    tick(&mut h, "from the library");
    click(&mut h, "Open");
    no_errors(h.state());
    let opened = store.load(&runs[0].id).unwrap();
    assert_eq!(h.state().model.chain.as_ref(), Some(&opened.model));
    assert_eq!(h.state().training.history.len(), 6);
    assert!(h.state().current_file.is_none(), "Save asks where to write");

    // Delete the library's run, after the confirmation.
    tick(&mut h, "from the app");
    tick(&mut h, "from the library");
    click(&mut h, "Delete");
    assert_eq!(
        store.list().unwrap().len(),
        2,
        "not before the confirmation"
    );
    click(&mut h, "Yes, delete");
    no_errors(h.state());
    assert!(h.query_by_label("from the library").is_none());
    let left = store.list().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, runs[0].id);

    // Relabel the app's own run (its session, kept for Continue, lets go of it first).
    tick(&mut h, "from the app");
    let field = h.get_by_role_and_label(Role::TextInput, "Label");
    field.focus();
    field.type_text(" again");
    h.run_ok();
    click(&mut h, "Relabel");
    no_errors(h.state());
    assert_eq!(
        store.summary(&runs[0].id).unwrap().label,
        "from the app again"
    );
}

#[test]
fn an_interrupted_run_continues_in_the_app_to_its_planned_step_in_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    // A run planned for 12 generations whose program went away after 3 (paused, then gone
    // without a word: as when a terminal's `bitsmnist train` is killed).
    let plan = RunPlan::for_method(Task::zero_one(), MethodKind::Population)
        .architecture(Architecture::dense(vec![8]))
        .generations(12);
    let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
    let id = session.record(&store, "stopped early", &[]).unwrap();
    let pause = session.pause_token();
    session
        .run(|step| {
            if step.record().step >= 3 {
                pause.cancel();
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    drop(session);
    assert_eq!(store.listing(id.clone()).status, RunStatus::Interrupted);

    let mut h = harness(recording_into(dir.path()), None);
    ready(&mut h);
    click(&mut h, "Runs");
    tick(&mut h, "stopped early");
    click(&mut h, "Continue");
    assert!(h.state().training.is_running(), "{:?}", h.state().errors);
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    no_errors(h.state());
    let runs = store.list().unwrap();
    assert_eq!(runs.len(), 1, "the same record");
    let s = runs[0].summary.as_ref().unwrap();
    assert_eq!((runs[0].status.clone(), s.step), (RunStatus::Finished, 12));
    assert_eq!(s.label, "stopped early");
    assert_eq!(h.state().training.history.last().map(|r| r.step), Some(12));

    // Continue on the Training tab goes on in the same record, for the panel's 5 generations.
    click(&mut h, "Training");
    start(&mut h, "Continue");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    no_errors(h.state());
    let runs = store.list().unwrap();
    assert_eq!(runs.len(), 1, "the same record");
    assert_eq!(runs[0].summary.as_ref().unwrap().step, 17);
}

#[test]
fn with_record_runs_off_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = recording_into(dir.path());
    s.runs.record = false;
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    no_errors(h.state());
    assert!(
        RunStore::open(dir.path())
            .unwrap()
            .list()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_runs_folder_that_cannot_be_made_is_an_error_and_the_app_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let mut h = harness(recording_into(&file.join("runs")), None);
    ready(&mut h);
    click(&mut h, "Training");
    h.get_by_label("Start").click();
    h.run_ok();
    assert!(!h.state().training.is_running());
    let errors = &h.state().errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("cannot record the run"), "{errors:?}");
    // The Runs tab says what is wrong with the folder too.
    click(&mut h, "Runs");
    // Unticking Record runs trains without recording.
    h.get_by_label("Record runs").click();
    h.run_ok();
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    assert!(h.state().training.history.len() > 1);
}

#[test]
fn the_runs_settings_are_remembered() {
    let mut s = Settings::default();
    s.runs.record = false;
    s.runs.folder = "/somewhere/runs".into();
    let back: Settings = ron::from_str(&ron::to_string(&s).unwrap()).unwrap();
    assert_eq!(back.runs, s.runs);
    // Settings of an older version record, into the default folder.
    let old: Settings = ron::from_str("(tab: Model)").unwrap();
    assert!(old.runs.record);
    assert!(old.runs.folder.is_empty());
}

#[test]
fn the_runs_tab_makes_no_folder_and_the_first_run_recorded_does() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("not yet");
    let mut h = harness(recording_into(&runs), None);
    ready(&mut h);
    click(&mut h, "Runs");
    assert!(!runs.exists());
    assert!(h.query_by_label_contains("No runs recorded yet").is_some());
    no_errors(h.state());
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    assert_eq!(RunStore::open(&runs).unwrap().list().unwrap().len(), 1);
}

#[test]
fn a_click_on_a_column_header_sorts_the_runs_and_another_reverses_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    for seed in [3, 1, 2] {
        record_by_the_library(&store, &format!("seed {seed}"), seed);
    }
    let mut h = harness(recording_into(dir.path()), None);
    ready(&mut h);
    click(&mut h, "Runs");
    let seeds = |h: &egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>| {
        h.state()
            .runs
            .listing
            .iter()
            .map(|r| r.summary.as_ref().unwrap().seed.unwrap())
            .collect::<Vec<_>>()
    };
    // Oldest first.
    assert_eq!(seeds(&h), [3, 1, 2]);
    click(&mut h, "Seed");
    assert_eq!(seeds(&h), [1, 2, 3]);
    click(&mut h, "Seed");
    assert_eq!(seeds(&h), [3, 2, 1]);
}

/// The quick 5-generation settings recording into `dir`, with a sweep of `axes` over seeds 1
/// and 2 under `name`.
fn sweeping(dir: &std::path::Path, axes: &str, name: &str) -> Settings {
    let mut s = recording_into(dir);
    s.runs.sweep.axes = axes.into();
    s.runs.sweep.seeds = "1..2".into();
    s.runs.sweep.jobs = 2;
    s.runs.sweep.name = name.into();
    s
}

/// Opens the Runs tab's Sweep section, clicks Start sweep and waits for the sweep's end.
fn sweep_to_the_end(h: &mut egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>) {
    click(h, "Runs");
    if h.query_by_label("Start sweep").is_none() {
        click(h, "Sweep");
    }
    h.get_by_label("Start sweep").click();
    h.step();
    run_until(h, "the sweep's end", |a| !a.runs.sweep.is_running());
    no_errors(h.state());
}

/// The `point:` tags of the folder's runs, each finished, sorted.
fn finished_points(store: &RunStore) -> Vec<String> {
    let mut points: Vec<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|r| {
            assert_eq!(r.status, RunStatus::Finished, "{:?}", r.id);
            let s = r.summary.unwrap();
            s.tags
                .into_iter()
                .find(|t| t.starts_with("point:"))
                .unwrap()
        })
        .collect();
    points.sort();
    points
}

#[test]
fn a_sweep_from_the_runs_tab_records_every_point_and_sums_up_each_setting() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let mut h = harness(sweeping(dir.path(), "hidden=8,16", "widths"), None);
    ready(&mut h);
    sweep_to_the_end(&mut h);
    assert_eq!(
        finished_points(&store),
        [
            "point:hidden=16 seed=1",
            "point:hidden=16 seed=2",
            "point:hidden=8 seed=1",
            "point:hidden=8 seed=2"
        ]
    );
    // Each point is the run Start would make with its width: the Model panel's otherwise.
    let arch: std::collections::BTreeSet<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|r| r.summary.unwrap().architecture)
        .collect();
    assert_eq!(arch.len(), 2, "{arch:?}");
    assert_eq!(h.state().runs.sweep.done(), Some((4, 4)));
    // Listed in the table, and summed up per setting, each with its 2 seeds finished.
    h.state_mut().runs.reread();
    h.run_ok();
    assert_eq!(h.state().runs.listing.len(), 4);
    assert!(h.query_by_label("widths: hidden=8 seed=1").is_some());
    for setting in ["hidden=8", "hidden=16"] {
        assert!(h.query_by_label(setting).is_some(), "{setting} summed up");
    }
    assert_eq!(h.query_all_by_label("2/2").count(), 2);
    assert!(h.query_all_by_label_contains("4 of 4 done").count() > 0);

    // Started again under the same name, there is nothing left to run.
    sweep_to_the_end(&mut h);
    assert_eq!(store.list().unwrap().len(), 4);
}

#[test]
fn a_sweep_continues_its_interrupted_point_in_the_same_record() {
    use bitsmnist_core::runs::sweep::{Point, sweep_tag};

    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    // Point hidden=8 seed=1 of sweep "resumed", recorded by the library and gone after 3 of
    // its 12 generations, as a killed process leaves it.
    let point = Point {
        settings: vec![("hidden".into(), "8".into())],
        seed: 1,
    };
    let plan = RunPlan::for_method(Task::zero_one(), MethodKind::Population)
        .architecture(Architecture::dense(vec![8]))
        .seed(1)
        .generations(12);
    let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
    let id = session
        .record(&store, "interrupted", &[sweep_tag("resumed"), point.tag()])
        .unwrap();
    let pause = session.pause_token();
    session
        .run(|step| {
            if step.record().step >= 3 {
                pause.cancel();
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    drop(session);
    assert_eq!(store.listing(id.clone()).status, RunStatus::Interrupted);

    let mut h = harness(sweeping(dir.path(), "hidden=8,16", "resumed"), None);
    ready(&mut h);
    sweep_to_the_end(&mut h);
    assert_eq!(finished_points(&store).len(), 4);
    let continued = store.summary(&id).unwrap();
    assert_eq!(
        (continued.step, continued.label.as_str()),
        (12, "interrupted")
    );
    assert_eq!(h.query_all_by_label("2/2").count(), 2);
}

#[test]
fn a_sweep_stopped_and_started_again_runs_each_point_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    // One point at a time: the two short points, then the long ones, the first of which
    // Stop catches under way (long enough, seconds, for a click on a loaded machine to land).
    let mut s = sweeping(dir.path(), "generations=5,20000", "stopped");
    s.runs.sweep.jobs = 1;
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Runs");
    click(&mut h, "Sweep");
    h.get_by_label("Start sweep").click();
    run_until(&mut h, "the short points", |a| {
        a.runs.sweep.done().is_some_and(|(done, _)| done >= 2)
    });
    h.get_by_label("Stop sweep").click();
    run_until(&mut h, "the sweep's stop", |a| !a.runs.sweep.is_running());
    no_errors(h.state());
    let runs = store.list().unwrap();
    let statuses: Vec<RunStatus> = runs.iter().map(|r| r.status.clone()).collect();
    assert_eq!(
        statuses,
        [RunStatus::Finished, RunStatus::Finished, RunStatus::Stopped]
    );
    assert!(h.query_all_by_label_contains("1 stopped").count() > 0);

    sweep_to_the_end(&mut h);
    assert_eq!(
        finished_points(&store),
        [
            "point:generations=20000 seed=1",
            "point:generations=20000 seed=2",
            "point:generations=5 seed=1",
            "point:generations=5 seed=2",
        ]
    );
    // The stopped point went on in its own record, to its planned 20,000 generations.
    assert_eq!(store.summary(&runs[2].id).unwrap().step, 20000);
    assert_eq!(h.query_all_by_label("2/2").count(), 2);
}

#[test]
fn a_sweep_naming_a_setting_the_app_cannot_vary_is_refused_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(sweeping(dir.path(), "hidden=8\nwidth=1,2", ""), None);
    ready(&mut h);
    click(&mut h, "Runs");
    click(&mut h, "Sweep");
    click(&mut h, "Start sweep");
    assert!(!h.state().runs.sweep.is_running());
    let errors = &h.state().errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("unknown setting \"width\""),
        "{errors:?}"
    );
    assert!(
        RunStore::open(dir.path())
            .unwrap()
            .list()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_overlay_plots_against_the_step_or_the_training_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    record_by_the_library(&store, "timed", 1);
    let history = store
        .load(&store.list().unwrap()[0].id)
        .unwrap()
        .history
        .unwrap();
    let mut h = harness(recording_into(dir.path()), None);
    ready(&mut h);
    click(&mut h, "Runs");
    tick(&mut h, "timed");
    let xs = |h: &egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>| -> Vec<f64> {
        h.state().runs.plotted_points[0]
            .iter()
            .map(|p| p[0])
            .collect()
    };
    let steps: Vec<f64> = history.records.iter().map(|r| r.step as f64).collect();
    let times: Vec<f64> = history.records.iter().map(|r| r.elapsed_secs).collect();
    assert_eq!(xs(&h), steps);
    click(&mut h, "Training time");
    assert_eq!(xs(&h), times);
    assert_ne!(times, steps);
    click(&mut h, "Step");
    assert_eq!(xs(&h), steps);
}
