//! The app driven headlessly through its labels, as a user would: without the trainer.

mod common;

use bitsmnist_gui::egui;
use bitsmnist_gui::{Settings, Tab};
use common::{harness, ready, run_until};
use egui_kittest::kittest::Queryable;

#[test]
fn starts_on_the_embedded_zero_one_task_with_a_random_model() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    let app = h.state();
    assert_eq!(app.data.task_data.as_ref().unwrap().class_names, ["0", "1"]);
    let model = app.model.chain.as_ref().unwrap();
    assert_eq!((model.inputs(), model.outputs()), (784, 2));
    assert!(app.errors.is_empty());
}

#[test]
fn data_preview_shows_the_task_digits_and_follows_the_task() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    assert!(h.state().data.preview.len() >= 40);
    assert!(
        h.state()
            .data
            .preview
            .captions()
            .iter()
            .all(|c| *c == "0" || *c == "1")
    );
    h.get_by_label("10 digits").click();
    h.run_ok();
    let app = h.state();
    assert_eq!(app.data.task_data.as_ref().unwrap().classes(), 10);
    // The model follows the number of classes.
    assert_eq!(app.model.chain.as_ref().unwrap().outputs(), 10);
    let captions = app.data.preview.captions();
    assert!(captions.contains(&"7"), "{captions:?}");
    h.get_by_label("Show bits").click();
    h.run_ok();
    assert!(h.state().settings.data.preview_bits);
}

#[test]
fn model_panel_shows_parameter_count_and_memory_bits_against_f32() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("Model").click();
    h.run_ok();
    // 784x64 + 64 + 64x2 + 2 = 50,370 parameters; bits: 64 rows of 13 words + 1 bias word,
    // then 2 rows of 1 word + 1 word: 6,688 bytes; f32: 4 bytes each, 201,480 bytes.
    h.get_by_label_contains(
        "New model: 50,370 parameters: 6.5 KiB as bits, 196.8 KiB as f32 (30.1x smaller)",
    );
    let hidden = h.get_by_label("Hidden layers");
    hidden.focus();
    hidden.type_text(", 32");
    h.run_ok();
    assert_eq!(h.state().settings.model.hidden, "64, 32");
    h.get_by_label_contains("Chain(BitDense(784, 64), BitDense(64, 32), BitDense(32, 2, float))");
    h.get_by_label("New random model").click();
    h.run_ok();
    assert_eq!(h.state().model.chain.as_ref().unwrap().layers().len(), 3);
    // The summary of a sigmoid output uses a Greek letter: the fonts must have it.
    h.state_mut().settings.model.activation = bitsmnist_core::layers::Activation::Sigmoid;
    h.run_ok();
    h.get_by_label_contains("BitDense(32, 2, σ=sigmoid))");
}

#[test]
fn drawing_on_the_canvas_gives_a_live_prediction_from_a_seeded_random_model() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("Draw").click();
    h.run_ok();
    assert_eq!(h.state().settings.tab, Tab::Draw);
    let rect = h.get_by_label("Drawing canvas").rect();
    // A vertical stroke: a "1".
    let top = rect.center_top() + egui::vec2(0.0, 40.0);
    h.hover_at(top);
    h.drag_at(top);
    h.step();
    for k in 1..=20 {
        h.hover_at(top + egui::vec2(0.0, 10.0 * k as f32));
        h.step();
    }
    h.drop_at(top + egui::vec2(0.0, 200.0));
    h.run_ok();
    let app = h.state();
    let inked = app.draw.grey.iter().filter(|&&g| g > 0).count();
    assert!(inked > 40, "{inked} pixels inked");
    assert_eq!(app.draw.scores.len(), 2);
    let p = app.draw.prediction.expect("a prediction");
    h.get_by_label(&format!("Prediction: {p}"));
    // The same model and drawing give the same scores (seeded model, deterministic forward).
    let scores = app.draw.scores.clone();
    h.get_by_label("Clear canvas").click();
    h.run_ok();
    assert!(h.state().draw.grey.iter().all(|&g| g == 0));
    h.get_by_label("Random test digit").click();
    h.run_ok();
    assert!(h.state().draw.grey.iter().any(|&g| g > 0));
    assert_ne!(h.state().draw.scores, Vec::<f32>::new());
    let _ = scores;
}

#[test]
fn a_folder_without_data_shows_an_error_and_the_app_stays_usable() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    let empty = tempfile::tempdir().unwrap();
    h.get_by_label("IDX folder").click();
    h.run_ok();
    let folder = h.get_by_label("Folder");
    folder.focus();
    folder.type_text(&empty.path().display().to_string());
    h.run_ok();
    h.get_by_label("Reload data").click();
    run_until(&mut h, "the load to fail", |a| !a.errors.is_empty());
    assert!(
        h.state().errors[0].contains("missing"),
        "{:?}",
        h.state().errors
    );
    h.get_by_label_contains("Error: ");
    // The loaded data and model are still there and usable.
    assert!(h.state().data_ready());
    h.get_by_label("Dismiss").click();
    h.run_ok();
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    h.get_by_label("Embedded digits").click();
    h.run_ok();
    h.get_by_label("Reload data").click();
    run_until(&mut h, "the reload", |a| {
        a.data_ready() && a.data.loading.is_none()
    });
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
}

#[test]
fn an_invalid_class_list_is_reported_in_place() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("Other classes:").click();
    h.run_ok();
    // Default list "3, 8" is applied at once.
    assert_eq!(
        h.state().data.task_data.as_ref().unwrap().class_names,
        ["3", "8"]
    );
    h.state_mut().settings.data.classes = "3, 3".into();
    h.state_mut().apply(bitsmnist_gui::Command::ApplyTask);
    h.run_ok();
    assert!(h.state().data.task_error.is_some());
    h.get_by_label_contains("listed twice");
}

#[test]
fn evaluation_shows_accuracy_confusion_matrix_and_mistakes() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("Evaluation").click();
    h.run_ok();
    h.get_by_label("Evaluate on test split").click();
    h.run_ok();
    let (eval, _) = h.state().evaluation.result.as_ref().expect("evaluated");
    assert_eq!(eval.confusion.total(), 2115); // 980 zeros and 1135 ones in the MNIST test set
    assert!(!eval.mistakes.is_empty()); // a random model makes mistakes
    h.get_by_label_contains("Test accuracy");
    h.get_by_label_contains("Confusion matrix");
}

#[test]
fn settings_survive_a_restart_and_old_settings_get_defaults() {
    let mut s = Settings {
        tab: Tab::Draw,
        ..Default::default()
    };
    s.data.fraction = 0.05;
    s.model.hidden = "128".into();
    let text = ron::to_string(&s).unwrap();
    let back: Settings = ron::from_str(&text).unwrap();
    assert_eq!(back, s);
    // Settings saved by an older version, with fields missing, still load.
    let old: Settings = ron::from_str("(tab: Model, data: (fraction: 0.5))").unwrap();
    assert_eq!(old.tab, Tab::Model);
    assert_eq!(old.data.fraction, 0.5);
    assert_eq!(old.model, Default::default());
}

#[test]
fn the_training_method_and_gradient_options_persist_and_older_settings_get_defaults() {
    use bitsmnist_gui::training::Method;
    use bitsmnist_gui::training::gradient::{GradientSettings, ScheduleKind};

    let mut s = Settings::default();
    s.training.method = Method::Gradient;
    s.training.gradient.epochs = 7;
    s.training.gradient.schedule = ScheduleKind::Step;
    s.training.gradient.input = bitsmnist_core::layers::Input::Grey;
    let back: Settings = ron::from_str(&ron::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    // Saved before the gradient method existed: the genetic method, gradient defaults.
    let old: Settings = ron::from_str("(training: (population: 20, elitism: 4))").unwrap();
    assert_eq!(old.training.population, 20);
    assert_eq!(old.training.method, Method::Genetic);
    assert_eq!(old.training.gradient, GradientSettings::default());
    // And with only some gradient options.
    let partial: Settings =
        ron::from_str("(training: (method: Gradient, gradient: (epochs: 3)))").unwrap();
    assert_eq!(partial.training.gradient.epochs, 3);
    assert_eq!(partial.training.gradient.batch_size, 100);
}

#[test]
fn a_new_random_model_is_the_library_network_for_the_seed() {
    use bitsmnist_core::layers::{Activation, BitOutput, Chain};
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("10 digits").click();
    h.run_ok();
    h.get_by_label("Model").click();
    h.run_ok();
    // The panel took the ten digits' recipe; a dense network of one's own replaces it.
    assert_eq!(h.state().settings.model.features, "conv32x5,pool4");
    assert_eq!(h.state().settings.model.hidden, "800");
    h.state_mut().settings.model.features = String::new();
    h.state_mut().settings.model.hidden = "24".into();
    h.state_mut().settings.model.seed = 5;
    h.run_ok();
    h.get_by_label("New random model").click();
    h.run_ok();
    // The same network as `Chain::mlp` and `bitsmnist train --seed 5 --hidden 24`.
    let want = Chain::mlp(784, &[24], 10, BitOutput::Float(Activation::Identity), 5).unwrap();
    assert_eq!(h.state().model.chain.as_ref().unwrap(), &want);
}

#[test]
fn several_files_from_a_file_manager_are_one_clear_error_and_the_app_stays_usable() {
    let mut h = harness(Settings::default(), None);
    h.state_mut()
        .open_files(vec!["a.bin".into(), "b.bin".into()]);
    ready(&mut h);
    let app = h.state();
    assert_eq!(app.errors.len(), 1, "{:?}", app.errors);
    assert!(app.errors[0].contains("one model at a time; got 2 files (a.bin, b.bin)"));
    assert!(app.open_at_start.is_none());
    assert_eq!(app.title(), "BitsMNIST");
    // Still usable: the tabs answer.
    h.get_by_label("Model").click();
    h.run();
    assert_eq!(h.state().settings.tab, Tab::Model);
}

#[test]
fn file_menu_exports_the_model_as_c_rust_and_json_into_the_chosen_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(Settings::default(), Some(dir.path().to_path_buf()));
    ready(&mut h);
    for (item, files) in [
        ("Export as C…", &["model.h", "model.c"][..]),
        ("Export as Rust…", &["model.rs"]),
        ("Export as JSON…", &["model.json"]),
    ] {
        common::click_menu(&mut h, item);
        assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
        for f in files {
            assert!(dir.path().join(f).is_file(), "{item}: no {f}");
        }
        let status = &h.state().status;
        assert!(
            status.starts_with("exported ") && status.contains(files[0]),
            "{status}"
        );
    }
    // What the exports hold is the app's model: its shape, and the data's binarisation.
    let header = std::fs::read_to_string(dir.path().join("model.h")).unwrap();
    assert!(header.contains("#define MODEL_CLASSES 2"), "{header}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("model.json")).unwrap())
            .unwrap();
    assert_eq!(json["class_labels"], serde_json::json!([0, 1]));
    assert_eq!(json["layers"][0]["outputs"], 64);
    let rows = json["layers"][0]["weights"].as_array().unwrap();
    // 64 rows of 784 bits in 25 words.
    assert_eq!((rows.len(), rows[0].as_array().unwrap().len()), (64, 25));
}

#[test]
fn file_open_example_opens_the_shipped_zero_one_model_and_save_asks_for_a_new_path() {
    use bitsmnist_gui::example_models;
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("mine.bin");
    let mut h = harness(Settings::default(), Some(saved.clone()));
    ready(&mut h);
    h.get_by_label("File").click();
    h.run_ok();
    h.get_by_label("Open example").click();
    h.run_ok();
    h.get_by_label("0 vs 1 (genetic search)").click();
    h.run_ok();
    common::no_errors(h.state());
    let shipped = example_models::ExampleModel::named("zero-one.bin")
        .unwrap()
        .read()
        .unwrap();
    let app = h.state();
    assert_eq!(app.model.chain.as_ref(), Some(&shipped.model));
    // No file behind it: the title names the example, Save must ask for a path.
    assert_eq!(app.current_file, None);
    assert_eq!(app.title(), "zero-one.bin (example) — BitsMNIST");
    h.get_by_label("Model").click();
    h.run_ok();
    h.get_by_label("From: example zero-one.bin (shipped with the app)");
    // Under "Current model" (and under "Network" too when the settings describe the same).
    let summary = shipped.model.to_string();
    assert!(h.query_all_by_label(&summary).next().is_some(), "{summary}");
    // Its first layer's weights are shown as images.
    assert_eq!(h.state().model.weights.len(), 64);

    common::click_menu(&mut h, "Save model");
    common::no_errors(h.state());
    assert!(saved.is_file(), "Save asked the picker for a path");
    let app = h.state();
    assert_eq!(app.current_file.as_deref(), Some(saved.as_path()));
    assert_eq!(app.title(), "mine.bin — BitsMNIST");
    let back = bitsmnist_core::io::ModelFile::load(&saved).unwrap();
    assert_eq!(back.model, shipped.model);
}

#[test]
fn every_shipped_example_is_a_model_of_its_task() {
    use bitsmnist_gui::example_models::ALL;
    for example in &ALL {
        let file = example.read().unwrap();
        let classes = if example.file.starts_with("zero-one") {
            2
        } else {
            10
        };
        assert_eq!(
            (file.model.inputs(), file.model.outputs()),
            (784, classes),
            "{}",
            example.file
        );
        // The Draw tab's bars: the fixed rules' range, the gradient export's softmax.
        let scale = bitsmnist_gui::draw::ScoreScale::of(&file.model);
        if example.file.contains("gradient") {
            assert_eq!(scale, bitsmnist_gui::draw::ScoreScale::Softmax);
        } else {
            assert!(
                matches!(scale, bitsmnist_gui::draw::ScoreScale::Range { .. }),
                "{scale:?}"
            );
        }
    }
}

#[test]
fn the_data_tab_names_the_tasks_classes() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("Classes");
    h.get_by_label("0, 1");
    h.get_by_label("10 digits").click();
    h.run_ok();
    h.get_by_label("0–9");
    h.get_by_label("Other classes:").click();
    h.run_ok();
    h.get_by_label("3, 8");
}

#[test]
fn captions_are_at_least_the_body_texts_size() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    let mut body = 0.0;
    for theme in [egui::Theme::Light, egui::Theme::Dark] {
        let style = h.ctx.style_of(theme);
        body = style.text_styles[&egui::TextStyle::Body].size;
        assert!(style.text_styles[&egui::TextStyle::Small].size >= body);
    }
    h.get_by_label("Evaluation").click();
    h.run_ok();
    h.get_by_label("Evaluate on test split").click();
    h.run_ok();
    let caption = h.state().evaluation.captions()[0].to_string();
    assert!(caption.contains(" as "), "{caption}");
    for node in h.query_all_by_label(&caption) {
        let height = node.rect().height();
        assert!(height >= body, "caption {caption:?} {height} points high");
    }
    // Per-class bars on the fixed 0–100% scale.
    h.get_by_label("Per class, 0–100%");
}

#[test]
fn the_draw_tab_scales_the_scores_on_the_outputs_range() {
    use bitsmnist_gui::draw::ScoreScale;
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("Draw").click();
    h.run_ok();
    h.get_by_label("Random test digit").click();
    h.run_ok();
    // The default 784 → 64 → 2 float output: activation(1 - (d + b) / 64), from -1/64 to 1.
    assert_eq!(
        h.state().draw.scale,
        Some(ScoreScale::Range {
            lo: -1.0 / 64.0,
            hi: 1.0
        })
    );
    h.get_by_label_contains("Scores on the output's full range");
    // The canvas grows with the window (it was a fixed 336 points).
    let canvas = h.get_by_label("Drawing canvas").rect();
    assert!(canvas.height() > 420.0, "{canvas:?}");
}

#[test]
fn the_fitness_plots_x_axis_switches_between_log_linear_and_recent() {
    use bitsmnist_gui::training::settings::XAxis;
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    assert_eq!(h.state().settings.training.x_axis, XAxis::Log);
    h.get_by_label("Training").click();
    h.run_ok();
    h.get_by_label("all, linear").click();
    h.run_ok();
    assert_eq!(h.state().settings.training.x_axis, XAxis::Linear);
    h.get_by_label("last").click();
    h.run_ok();
    assert_eq!(h.state().settings.training.x_axis, XAxis::Recent);
    assert_eq!(h.state().settings.training.recent, 500);
    // Remembered between runs, and kept by "Recommended options" (not a trainer option).
    let s = h.state().settings.clone();
    let back: Settings = ron::from_str(&ron::to_string(&s).unwrap()).unwrap();
    assert_eq!(back.training.x_axis, XAxis::Recent);
    h.get_by_label("Recommended options").click();
    h.run_ok();
    assert_eq!(h.state().settings.training.x_axis, XAxis::Recent);
    h.get_by_label("all, log scale").click();
    h.run_ok();
    assert_eq!(h.state().settings.training.x_axis, XAxis::Log);
}

#[test]
fn the_ten_digit_convolution_example_shows_on_every_tab() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("File").click();
    h.run_ok();
    h.get_by_label("Open example").click();
    h.run_ok();
    h.get_by_label("Ten digits (convolutions, bit-flip climbing)")
        .click();
    h.run_ok();
    common::no_errors(h.state());
    // The file's task comes with it.
    assert_eq!(h.state().data.task_data.as_ref().unwrap().classes(), 10);
    assert_eq!(
        h.state().title(),
        "digits-conv-climb.bin (example) — BitsMNIST"
    );
    // Every tab draws it (the core's descriptions of convolutions hold arrows, which the
    // built-in fonts lack: the harness fails on a missing glyph).
    for tab in ["Model", "Evaluation", "Draw", "Training", "Data"] {
        h.get_by_label(tab).click();
        h.run_ok();
    }
    h.get_by_label("Model").click();
    h.run_ok();
    h.get_by_label_contains("32 of 32 filters, 5x5 bits each");
    h.get_by_label("Draw").click();
    h.run_ok();
    h.get_by_label("Random test digit").click();
    h.run_ok();
    assert_eq!(h.state().draw.scores.len(), 10);
}
