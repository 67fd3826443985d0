//! Training, files and drag-and-drop, driven through the UI's labels. (Files crossing between
//! the app and the command line are tested with the command line, whose binary those tests
//! run: `bitsmnist-core/cli/tests/app.rs`.)

mod common;

use std::path::Path;

use bitsmnist_core::io::{Metadata, ModelFile};
use bitsmnist_core::prelude::*;
use bitsmnist_core::run::Method as _;
use bitsmnist_core::run::TrainOptions;
use bitsmnist_core::search::Population;
use bitsmnist_core::training::{MethodKind, TrainingState};
use bitsmnist_gui::Tab;
use bitsmnist_gui::training::Method;
use common::*;
use egui_kittest::kittest::Queryable;

#[test]
fn a_short_run_plots_points_pauses_resumes_stops_saves_and_loads_back() {
    let (_dir, path, mut h) = ready_with_file(quick_settings(), "gui-model.bin");
    click(&mut h, "Training");
    start(&mut h, "Start");
    generations(&mut h, 3);
    assert!(h.state().training.is_running());
    // The plots and the live figures are there.
    h.get_by_label("Fitness per generation");
    h.get_by_label_contains("generations/s");
    let recs = &h.state().training.history.records;
    assert!(recs.iter().all(|r| r.best >= r.mean && r.mean >= r.worst));
    assert!(recs.iter().any(|r| r.validation_accuracy.is_some()));

    pause_resume_stop(&mut h);
    let app = h.state();
    no_errors(app);
    assert!(
        app.model.origin.starts_with("trained"),
        "{}",
        app.model.origin
    );
    let trained = app.model.chain.clone().unwrap();
    let generations = app.training.history.len();
    assert_eq!(kept(app), Some(MethodKind::Population));
    // Stopping evaluates the model.
    assert!(app.evaluation.result.is_some());

    click_menu(&mut h, "Save model as…");
    assert!(path.exists(), "saved");
    assert_eq!(h.state().settings.recent[0], path);
    // What notebooks and `bitsmnist eval` read: the library's loader.
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(file.model, trained);
    assert_eq!(file.history.as_ref().unwrap().len(), generations);
    assert!(population(&file).is_some());
    assert_eq!(file.meta.task, Some(Task::zero_one()));

    // A new model replaces the trained one; opening the file brings it back, state included.
    new_random_model(&mut h);
    assert_ne!(h.state().model.chain.as_ref(), Some(&trained));
    click_menu(&mut h, "Open model…");
    let app = h.state();
    no_errors(app);
    assert_eq!(app.model.chain.as_ref(), Some(&trained));
    assert_eq!(app.training.history.len(), generations);
    assert_eq!(kept(app), Some(MethodKind::Population));
    // Training continues from the saved state.
    click(&mut h, "Training");
    h.get_by_label("Continue").click();
    run_until(&mut h, "generations after the saved ones", |a| {
        a.training.history.len() >= generations + 2
    });
    stop(&mut h);

    // And the trained model reads a drawing.
    click(&mut h, "Draw");
    click(&mut h, "Random test digit");
    assert!(h.state().draw.prediction.is_some());
    assert_eq!(h.state().settings.tab, Tab::Draw);
}

#[test]
fn a_checkpoint_saved_by_the_library_opens_by_drag_and_drop_and_continues() {
    // Written the way the command line and notebooks write it.
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let sample = data.train.sample(0.05, 2);
    let model = Chain::new(vec![
        BitDense::new(784, 8).into(),
        BitDense::new(8, 2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    let params = bitsmnist_core::search::PopulationParams::default()
        .population(8)
        .elitism(2)
        .seed(3);
    let mut set = Population::for_all_bit_layers(model, params).unwrap();
    set.run(
        &bitsmnist_core::fitness::Fitness::score(&sample),
        &TrainOptions::new().generations(3).quiet(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.bin");
    ModelFile::from_state(&TrainingState::from(set.clone()), &sample)
        .with_meta(
            Metadata::now()
                .with_dataset(&data)
                .with_task(&Task::zero_one()),
        )
        .save(&path)
        .unwrap();

    let mut h = harness(quick_settings(), None);
    ready(&mut h);
    drop_file(&mut h, &path);
    let app = h.state();
    no_errors(app);
    assert_eq!(app.model.chain.as_ref(), Some(set.chain()));
    assert_eq!(app.training.history.len(), 4);
    assert_eq!(app.current_file.as_deref(), Some(Path::new(&path)));
    click(&mut h, "Training");
    h.get_by_label("Continue").click();
    run_until(&mut h, "a generation past the checkpoint", |a| {
        a.training.history.last().is_some_and(|r| r.step >= 5)
    });
    stop(&mut h);
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
    click(&mut h, "Training");
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
    stop(&mut h);
}

#[test]
fn the_gradient_method_trains_plots_evaluates_draws_saves_and_fine_tunes() {
    let (_dir, path, mut h) = ready_with_file(one_epoch_settings(), "gradient.bin");
    pick_method(&mut h, "Gradient");
    assert_eq!(h.state().settings.training.method, Method::Gradient);
    h.get_by_label("Gradient training");
    h.get_by_label_contains("Hidden layers 16 (Model panel)");

    // The frame that started the run returned while the run goes on in the background.
    start(&mut h, "Start");
    run_until(&mut h, "an epoch", |a| !a.training.history.is_empty());
    run_until(&mut h, "the end of the run", |a| !a.training.is_running());
    let app = h.state();
    no_errors(app);
    // The plots and the epoch's figures.
    h.get_by_label("Loss per epoch");
    h.get_by_label("Accuracy per epoch (%)");
    h.get_by_label_contains("epoch 1/1");
    // The session's report closes the run.
    h.get_by_label_contains("stopped: finished at epoch 1");
    let rec = app.training.history.last().unwrap();
    assert!(rec.loss().is_some_and(f64::is_finite) && rec.validation_accuracy.is_some());
    // The exported bit model is the app's model, and it was evaluated.
    assert!(
        app.model.origin.starts_with("gradient training"),
        "{}",
        app.model.origin
    );
    let trained = app.model.chain.clone().unwrap();
    assert_eq!(
        trained.to_string(),
        "Chain(BitDense(784, 16, thresholds), BitDense(16, 2, float, scaled))"
    );
    let (eval, _) = app.evaluation.result.as_ref().expect("evaluated");
    assert_eq!(eval.confusion.total(), 2115);
    // Chance is 50%; one epoch of 2,000-odd zeros and ones gives well over 90%.
    assert!(
        eval.confusion.accuracy() > 0.9,
        "{}",
        eval.confusion.accuracy()
    );
    assert_eq!(Some(eval.confusion.accuracy()), rec.validation_accuracy);

    // It reads a drawing.
    click(&mut h, "Draw");
    click(&mut h, "Random test digit");
    assert!(h.state().draw.prediction.is_some());

    // Saved, it loads in the library (and so in notebooks and `bitsmnist eval`).
    click_menu(&mut h, "Save model as…");
    no_errors(h.state());
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(file.model, trained);
    assert!(population(&file).is_none());
    assert!(matches!(
        file.state,
        Some(bitsmnist_core::training::TrainingState::Gradient(_))
    ));
    assert_eq!(file.meta.task, Some(Task::zero_one()));
    assert_eq!(file.meta.program.as_deref(), Some("bitsmnist-gui"));
    assert_eq!(file.model.input(), Input::Bits);

    // The genetic method now fine-tunes the trained model rather than starting from random
    // bits: the thresholds stay, and so does the accuracy.
    pick_method(&mut h, "Genetic");
    h.get_by_label_contains("The current model is gradient-trained");
    h.get_by_label("Start").click();
    generations(&mut h, 3);
    stop(&mut h);
    let app = h.state();
    no_errors(app);
    let tuned = app.model.chain.as_ref().unwrap();
    assert!(bitsmnist_gui::training::is_gradient_trained(tuned));
    let (eval, _) = app.evaluation.result.as_ref().expect("evaluated");
    assert!(
        eval.confusion.accuracy() > 0.9,
        "{}",
        eval.confusion.accuracy()
    );
}

#[test]
fn a_gradient_run_pauses_resumes_and_stops_on_request_keeping_its_model() {
    let mut s = quick_settings();
    s.training.method = Method::Gradient;
    s.training.gradient.epochs = 500;
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    h.get_by_label("Start").click();
    run_until(&mut h, "an epoch", |a| !a.training.history.is_empty());
    assert!(h.state().training.is_running());
    // Each epoch's model is the app's model while the run goes on.
    assert!(h.state().model.origin.contains("epoch"));
    // A gradient run pauses (mid-epoch) and goes on like any other.
    let at_pause = pause_resume_stop_epochs(&mut h);
    let app = h.state();
    no_errors(app);
    assert!(app.training.history.len() > at_pause);
    assert!(app.training.history.len() < 500);
    assert!(app.model.origin.starts_with("gradient training"));
    h.get_by_label_contains("stopped by the user");
    assert!(app.evaluation.result.is_some());
}

#[test]
fn gradient_options_errors_show_in_place_and_the_app_stays_usable() {
    let mut s = one_epoch_settings();
    s.training.method = Method::Gradient;
    s.model.hidden = String::new(); // gradient training needs a hidden layer
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    h.get_by_label_contains("Gradient options: gradient parameter `hidden`");
    h.state_mut().apply(bitsmnist_gui::Command::StartTraining);
    h.run_ok();
    assert!(!h.state().training.is_running());
    assert_eq!(h.state().errors.len(), 1);
    h.state_mut().settings.model.hidden = "8".into();
    // Out-of-range numbers cannot be entered: the fields hold them to the trainer's ranges.
    h.state_mut().settings.training.gradient.batch_size = 1;
    h.run_ok();
    assert_eq!(h.state().settings.training.gradient.batch_size, 2);
    assert!(h.state().training.params_error.is_none());
    h.state_mut().settings.training.gradient.batch_size = 100;
    h.run_ok();
    h.get_by_label("Start").click();
    run_until(&mut h, "the end of the run", |a| {
        !a.training.is_running() && !a.training.history.is_empty()
    });
    assert_eq!(h.state().errors.len(), 1);
}

#[test]
fn bit_flip_climbing_trains_pauses_stops_saves_opens_and_continues() {
    let (_dir, path, mut h) = ready_with_file(quick_climb_settings(), "climb.bin");
    pick_method(&mut h, "Bit-flip climbing");
    assert_eq!(h.state().settings.training.method, Method::Climb);
    h.get_by_label("Bit-flip climbing");
    h.get_by_label("Trials per generation");
    h.get_by_label("Margin cap");
    h.get_by_label("Stop rules");

    start(&mut h, "Start");
    generations(&mut h, 3);
    h.get_by_label_contains("Objective per generation");
    h.get_by_label("Test accuracy (%) of the model");
    h.get_by_label_contains("generations/s");
    let at_pause = pause_resume_stop(&mut h);
    let app = h.state();
    no_errors(app);
    assert!(
        app.model.origin.starts_with("climbed"),
        "{}",
        app.model.origin
    );
    h.get_by_label_contains("stopped: stopped by the user at generation");
    let climbed = app.model.chain.clone().unwrap();
    let Some(TrainingState::Climb(climb)) = app.training.saved_state() else {
        panic!("the climb state is kept");
    };
    assert!(climb.accepted() > 0 && climb.trials() >= 2000 * at_pause as u64);
    let generations = app.training.history.len();
    // A random 784-16-2 model is at chance; a few thousand flips on 0 vs 1 are far above it.
    let (eval, _) = app.evaluation.result.as_ref().expect("evaluated");
    assert_eq!(eval.confusion.total(), 2115);
    assert!(
        eval.confusion.accuracy() > 0.9,
        "{}",
        eval.confusion.accuracy()
    );

    // Saved with its climb state, in the library's format (notebooks, `bitsmnist train --resume`).
    click_menu(&mut h, "Save model as…");
    no_errors(h.state());
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(file.model, climbed);
    let saved = climber(&file).expect("climb state saved");
    assert_eq!(saved.history().len(), generations);
    assert_eq!(file.history.as_ref().unwrap().len(), generations);

    // Another model and method, then the file: it comes back with its climb, ready to go on.
    pick_method(&mut h, "Genetic");
    new_random_model(&mut h);
    assert!(kept(h.state()).is_none());
    click_menu(&mut h, "Open model…");
    let app = h.state();
    no_errors(app);
    assert_eq!(app.model.chain.as_ref(), Some(&climbed));
    assert_eq!(app.settings.training.method, Method::Climb);
    assert_eq!(kept(app), Some(MethodKind::Climb));
    assert_eq!(app.training.history.len(), generations);
    click(&mut h, "Training");
    h.get_by_label("Continue").click();
    run_until(&mut h, "generations after the saved ones", |a| {
        a.training.history.len() >= generations + 2
    });
    stop(&mut h);
    let app = h.state();
    no_errors(app);
    let step = app.training.saved_state().unwrap().step_number();
    assert!(step > saved.generation());
}

#[test]
fn climbing_a_model_with_bit_outputs_is_an_error_and_the_app_stays_usable() {
    let mut s = quick_climb_settings();
    // Bit outputs have no scores to take a margin from.
    s.model.output = bitsmnist_gui::model::OutputKind::Bits;
    let mut h = harness(s, None);
    ready(&mut h);
    pick_method(&mut h, "Bit-flip climbing");
    // The session starts on the worker, which refuses.
    start(&mut h, "Start");
    run_until(&mut h, "the refusal", |a| !a.training.is_running());
    let app = h.state();
    assert!(
        app.errors[0].contains("cannot start the run")
            && app.errors[0].contains("must give scores"),
        "{:?}",
        app.errors
    );
    // A model it can climb: the app goes on.
    h.state_mut().settings.model.output = bitsmnist_gui::model::OutputKind::Float;
    new_random_model(&mut h);
    click(&mut h, "Training");
    h.get_by_label("Start").click();
    run_until(&mut h, "a generation", |a| !a.training.history.is_empty());
    stop(&mut h);
    assert_eq!(h.state().errors.len(), 1);
    assert_eq!(kept(h.state()), Some(MethodKind::Climb));
}

#[test]
fn a_file_given_at_start_opens_once_the_data_are_loaded() {
    // A ten-digit climb made by the library, as `bitsmnist train --task digits` saves it.
    let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
    let chain = Chain::new(vec![
        BitDense::new(784, 32).with_seed(1).into(),
        BitDense::new(32, 10)
            .with_seed(2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap();
    let params = bitsmnist_core::search::ClimbParams::default()
        .trials_per_generation(500)
        .batch_size(Some(300))
        .seed(3);
    let mut climber = bitsmnist_core::search::Climber::new(chain, params).unwrap();
    climber
        .run(&data.train, &TrainOptions::new().generations(2))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("climb-from-library.bin");
    ModelFile::new(climber.chain().clone())
        .with_state(climber.clone())
        .with_history(climber.history().clone())
        .with_meta(Metadata::now().with_task(&Task::digits()))
        .save(&path)
        .unwrap();

    let mut h = harness(quick_settings(), None);
    h.state_mut().open_at_start = Some(path.clone());
    ready(&mut h);
    run_until(&mut h, "the file", |a| a.open_at_start.is_none());
    let app = h.state();
    no_errors(app);
    assert_eq!(app.model.chain.as_ref(), Some(climber.chain()));
    assert_eq!(app.data.task, Some(Task::digits()));
    assert_eq!(app.settings.training.method, Method::Climb);
    // As after a double-click in a file manager: the title names the file, the model shows.
    assert_eq!(app.title(), "climb-from-library.bin — BitsMNIST");
    assert_eq!(app.settings.tab, bitsmnist_gui::Tab::Model);
    assert_eq!(app.training.history.len(), 3);
    assert_eq!(
        app.training.saved_state().unwrap().step_number(),
        climber.generation()
    );
}

#[test]
fn a_damaged_file_given_at_start_is_an_error_naming_it_and_the_app_stays_usable() {
    // What a file manager passes on a double-click of a truncated model: the right magic
    // bytes (so the file type claims it), the rest cut short.
    let dir = tempfile::tempdir().unwrap();
    let model = Chain::new(vec![
        BitDense::new(784, 16).with_seed(1).into(),
        BitDense::new(16, 2).with_seed(2).into(),
    ])
    .unwrap();
    let bytes = ModelFile::new(model).to_bytes().unwrap();
    let broken = dir.path().join("broken.bin");
    std::fs::write(&broken, &bytes[..200]).unwrap();

    let mut h = harness(quick_settings(), None);
    h.state_mut().open_files(vec![broken.clone()]);
    ready(&mut h);
    run_until(&mut h, "the file", |a| a.open_at_start.is_none());
    let app = h.state();
    assert_eq!(app.errors.len(), 1, "{:?}", app.errors);
    let error = app.errors[0].clone();
    assert!(
        error.starts_with(&format!("{}: ", broken.display())),
        "{error}"
    );
    assert_eq!(app.status, format!("error: {error}"));
    // Nothing was opened: the title names no file and the app's own model stays.
    assert_eq!(app.title(), "BitsMNIST");
    assert!(app.current_file.is_none());
    assert_eq!(app.model.chain.as_ref().unwrap().outputs(), 2);
    assert_eq!(app.settings.tab, Tab::Model);
    // The window shows it, and the app stays usable: dismissed, then a run trains.
    h.get_by_label(&format!("Error: {error}"));
    h.get_by_label("Dismiss").click();
    h.run_ok();
    no_errors(h.state());
    click(&mut h, "Training");
    h.get_by_label("Start").click();
    run_until(&mut h, "a generation", |a| !a.training.history.is_empty());
    stop(&mut h);
}

#[test]
fn several_networks_climb_side_by_side_merge_save_and_continue() {
    let mut s = quick_climb_settings();
    s.training.climb.members = 2;
    let (_dir, path, mut h) = ready_with_file(s, "ensemble.bin");
    pick_method(&mut h, "Bit-flip climbing");
    h.get_by_label("Networks");
    h.get_by_label("Start").click();
    generations(&mut h, 3);
    stop(&mut h);
    let app = h.state();
    no_errors(app);
    assert!(
        app.model.origin.ends_with("2 networks merged"),
        "{}",
        app.model.origin
    );
    // Two 784-16-2 networks and one always-on neuron each, voting as one bit model.
    let merged = app.model.chain.clone().unwrap();
    assert_eq!(merged.layers()[0].outputs(), 2 * 16 + 2);
    let Some(TrainingState::Ensemble(climb)) = app.training.saved_state() else {
        panic!("the ensemble's state is kept");
    };
    assert_eq!(climb.members().len(), 2);
    assert_ne!(climb.members()[0].chain(), climb.members()[1].chain());
    let (eval, _) = app.evaluation.result.as_ref().expect("evaluated");
    assert!(
        eval.confusion.accuracy() > 0.9,
        "{}",
        eval.confusion.accuracy()
    );
    let generations = app.training.history.len();
    let app_generation = climb.generation();

    // The file holds the merged model and both networks' climbs, to continue anywhere.
    click_menu(&mut h, "Save model as…");
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(file.model, merged);
    match &file.state {
        Some(bitsmnist_core::training::TrainingState::Ensemble(e)) => {
            assert_eq!(e.members().len(), 2);
            assert_eq!(e.generation(), app_generation);
        }
        other => panic!("an ensemble's state, not {other:?}"),
    }

    // In the app, the networks go on.
    click(&mut h, "Training");
    h.get_by_label("Continue").click();
    run_until(&mut h, "generations after the first run", |a| {
        a.training.history.len() >= generations + 2
    });
    stop(&mut h);
    no_errors(h.state());
}

/// The population a model file holds, if any.
fn population(file: &ModelFile) -> Option<&Population> {
    match &file.state {
        Some(TrainingState::Population { set, .. }) => Some(set),
        _ => None,
    }
}

/// The single climb a model file holds, if any.
fn climber(file: &ModelFile) -> Option<&bitsmnist_core::search::Climber> {
    match &file.state {
        Some(TrainingState::Climb(c)) => Some(c),
        _ => None,
    }
}

#[test]
fn a_gradient_run_paused_and_resumed_gives_the_model_of_an_uninterrupted_run() {
    use bitsmnist_core::session::Session;
    use bitsmnist_gui::training::{Base, plan};

    let mut s = quick_settings();
    s.training.method = Method::Gradient;
    // Epochs enough that the Pause clicked after the first lands before the last, however
    // slowly a loaded machine draws the frames between them.
    s.training.gradient.epochs = 12;
    // No time limit: the run ends after its epochs, whatever the machine's speed.
    s.training.use_time = false;
    let settings = s.clone();
    let (_dir, path, mut h) = ready_with_file(s, "paused.bin");
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "an epoch", |a| !a.training.history.is_empty());
    // Paused while the next epoch is under way, it trains no further until Resume.
    h.get_by_label("Pause").click();
    run_until(&mut h, "the pause", |a| {
        a.training.run.as_ref().is_some_and(|r| r.paused)
    });
    let at_pause = h.state().training.history.len();
    assert!(at_pause < 12, "{at_pause}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.run_ok();
    assert_eq!(h.state().training.history.len(), at_pause);
    assert!(h.state().training.is_running());
    // Saved while paused: the session's checkpoint, mid-epoch state included.
    click_menu(&mut h, "Save model as…");
    run_until(&mut h, "the checkpoint", |a| a.status.starts_with("saved"));
    no_errors(h.state());
    let paused = ModelFile::load(&path).unwrap();
    assert_eq!(
        paused.state.as_ref().map(|s| s.step_number()),
        Some(at_pause as u64)
    );
    assert_eq!(paused.meta.program.as_deref(), Some("bitsmnist-gui"));
    assert_eq!(paused.meta.task, Some(Task::zero_one()));
    h.get_by_label("Resume").click();
    run_until(&mut h, "the end of the run", |a| !a.training.is_running());
    let app = h.state();
    no_errors(app);
    assert_eq!(app.training.history.last().map(|r| r.step), Some(12));
    let resumed = app.model.chain.clone().unwrap();

    // The same plan run without a pause, on the same data, gives the same network.
    let data = app.data.full.clone().unwrap();
    let plan = plan(
        &settings.training,
        &settings.model,
        &Task::zero_one(),
        settings.data.fraction,
        Base::Fresh,
    )
    .unwrap();
    let mut session = Session::start(plan, &data).unwrap();
    session
        .run(|_| std::ops::ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(session.model(), resumed);
    let saved = app
        .training
        .checkpoint(&resumed)
        .expect("the run's checkpoint");
    assert_eq!(saved.model, session.checkpoint().model);
    assert_eq!(
        saved.state.as_ref().map(|s| s.step_number()),
        Some(session.state().step_number())
    );
    // The checkpoint saved while paused goes on to the same network anywhere.
    let plan = bitsmnist_core::session::RunPlan::resume(paused)
        .unwrap()
        .stop(settings.training.stop_rules());
    let mut resumed_elsewhere = Session::start(plan, &data).unwrap();
    resumed_elsewhere
        .run(|_| std::ops::ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(resumed_elsewhere.model(), resumed);
}

#[test]
fn a_gradient_or_ensemble_file_opened_in_the_app_continues_its_run() {
    use bitsmnist_core::gradient::GradientParams;
    use bitsmnist_core::layers::Architecture;
    use bitsmnist_core::search::ClimbParams;
    use bitsmnist_core::session::{RunPlan, Session};
    use bitsmnist_core::training::TrainConfig;

    let data = Dataset::embedded();
    let dir = tempfile::tempdir().unwrap();
    let gradient = TrainConfig::Gradient(GradientParams::default().hidden(vec![16]).epochs(3));
    let ensemble = TrainConfig::Climb {
        params: ClimbParams::default()
            .trials_per_generation(2000)
            .batch_size(Some(500)),
        members: 2,
    };
    for (name, config, steps, method, kind) in [
        (
            "gradient.bin",
            gradient,
            1,
            Method::Gradient,
            MethodKind::Gradient,
        ),
        (
            "ensemble.bin",
            ensemble,
            2,
            Method::Climb,
            MethodKind::Ensemble,
        ),
    ] {
        // Saved by the library, as the command line and notebooks save a run.
        let plan = RunPlan::for_method(Task::zero_one(), config.kind())
            .config(config)
            .architecture(Architecture::dense(vec![16]))
            .generations(steps);
        let mut session = Session::start(plan, &data).unwrap();
        session
            .run(|_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        let saved_step = session.progress().step;
        assert_eq!(saved_step, steps, "{name}");
        let path = dir.path().join(name);
        session.save(&path).unwrap();

        // The app opens it with the method of its state, and Start continues it.
        let mut s = quick_settings();
        s.training.use_time = false;
        s.training.use_generations = true;
        s.training.generations = 2;
        let mut h = harness(s, Some(path.clone()));
        ready(&mut h);
        click_menu(&mut h, "Open model…");
        let app = h.state();
        no_errors(app);
        assert_eq!(app.settings.training.method, method, "{name}");
        assert_eq!(kept(app), Some(kind), "{name}");
        assert_eq!(app.training.history.len(), session.state().history().len());
        click(&mut h, "Training");
        start(&mut h, "Continue");
        run_until(&mut h, "the end of the continued run", |a| {
            !a.training.is_running()
        });
        let app = h.state();
        no_errors(app);
        // Its steps go on from the saved one: the gradient run to its last epoch, the
        // ensemble two generations further.
        let step = app.training.saved_state().unwrap().step_number();
        assert_eq!(step, saved_step + 2, "{name}");
        assert_eq!(kept(app), Some(kind), "{name}");
        let last = app.training.history.last().unwrap();
        assert_eq!(last.step, step, "{name}");
        assert!(
            app.training.history.records[..]
                .windows(2)
                .all(|w| w[0].step < w[1].step),
            "{name}"
        );
    }
}
