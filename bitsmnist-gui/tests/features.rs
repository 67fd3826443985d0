//! The app's keyboard shortcuts, Help menu, themes, progress toward the stop rule, exports, and
//! the confusion matrix's filter of the mistakes, driven headlessly through the real UI.

mod common;

use bitsmnist_gui::app::ThemeChoice;
use bitsmnist_gui::command::{DataExport, shortcuts};
use bitsmnist_gui::evaluation::{cell_colors, cell_label, contrast_ratio};
use bitsmnist_gui::files;
use bitsmnist_gui::training::Method;
use bitsmnist_gui::training::plots;
use bitsmnist_gui::{Command, Settings, Tab, egui};
use common::*;
use egui_kittest::kittest::Queryable;

/// Presses a keyboard shortcut and lets the UI settle.
fn press(h: &mut egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>, s: egui::KeyboardShortcut) {
    h.key_press_modifiers(s.modifiers, s.logical_key);
    h.run_ok();
}

/// Evaluates the model on the test split from the Evaluation tab.
fn evaluate(h: &mut egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>) {
    click(h, "Evaluation");
    click(h, "Evaluate on test split");
    assert!(
        h.state().evaluation.result.is_some(),
        "{:?}",
        h.state().errors
    );
}

#[test]
fn ctrl_s_saves_ctrl_shift_s_saves_as_and_ctrl_o_opens() {
    let (_dir, path, mut h) = ready_with_file(quick_settings(), "model.bin");
    assert!(!path.exists());
    press(&mut h, shortcuts::SAVE);
    no_errors(h.state());
    assert!(path.exists(), "Ctrl+S saved nothing: {}", h.state().status);
    assert_eq!(h.state().current_file.as_deref(), Some(path.as_path()));
    std::fs::remove_file(&path).unwrap();
    // Save as asks again (the picker answers the same path).
    press(&mut h, shortcuts::SAVE_AS);
    assert!(path.exists());
    // A new model, then Ctrl+O brings the saved one back.
    new_random_model(&mut h);
    assert_eq!(h.state().current_file, None);
    press(&mut h, shortcuts::OPEN);
    no_errors(h.state());
    assert_eq!(h.state().current_file.as_deref(), Some(path.as_path()));
    assert!(
        h.state().status.starts_with("opened"),
        "{}",
        h.state().status
    );
}

#[test]
fn ctrl_enter_starts_pauses_and_resumes_training() {
    let mut h = harness(quick_settings(), None);
    ready(&mut h);
    click(&mut h, "Training");
    press(&mut h, shortcuts::START_PAUSE);
    assert!(h.state().training.is_running(), "{:?}", h.state().errors);
    generations(&mut h, 1);
    press(&mut h, shortcuts::START_PAUSE);
    run_until(&mut h, "the pause", |a| {
        a.training.run.as_ref().is_some_and(|r| r.paused)
    });
    press(&mut h, shortcuts::START_PAUSE);
    assert!(h.state().training.run.as_ref().is_some_and(|r| !r.paused));
    stop(&mut h);
    no_errors(h.state());
}

#[test]
fn the_menus_show_the_shortcuts_and_help_opens_about_with_the_version() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    h.get_by_label("File").click();
    h.run_ok();
    // The shortcut text is drawn inside the menu entry (part of its label).
    let open = h.ctx.format_shortcut(&shortcuts::OPEN);
    h.get_by_label(&format!("Open model… {open}"));
    let save = h.ctx.format_shortcut(&shortcuts::SAVE);
    h.get_by_label(&format!("Save model {save}"));
    let save_as = h.ctx.format_shortcut(&shortcuts::SAVE_AS);
    h.get_by_label(&format!("Save model as… {save_as}"));
    h.key_press(egui::Key::Escape);
    h.run_ok();
    let start = h.ctx.format_shortcut(&shortcuts::START_PAUSE);
    h.get_by_label("Run").click();
    h.run_ok();
    h.get_by_label(&format!("Start training {start}"));
    h.key_press(egui::Key::Escape);
    h.run_ok();
    h.get_by_label("Help").click();
    h.run_ok();
    h.get_by_label("About BitsMNIST").click();
    h.run_ok();
    assert!(h.state().show_about);
    h.get_by_label_contains(&format!("BitsMNIST {}", env!("CARGO_PKG_VERSION")));
    h.get_by_label_contains("Install the app");
    // F1 lists the shortcuts.
    press(&mut h, shortcuts::HELP);
    assert!(h.state().show_shortcuts);
    h.get_by_label_contains("Start training; pause or resume it");
}

/// Clicks the Run menu's entry that reads `label` followed by Ctrl+Enter's text.
fn run_menu(h: &mut egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>, label: &str) {
    let key = h.ctx.format_shortcut(&shortcuts::START_PAUSE);
    h.get_by_label("Run").click();
    h.run_ok();
    h.get_by_label(&format!("{label} {key}")).click();
    h.step();
}

#[test]
fn the_run_menu_names_ctrl_enter_and_starts_pauses_and_resumes() {
    let mut h = harness(quick_settings(), None);
    ready(&mut h);
    click(&mut h, "Training");
    run_menu(&mut h, "Start training");
    assert!(h.state().training.is_running(), "{:?}", h.state().errors);
    generations(&mut h, 1);
    run_menu(&mut h, "Pause training");
    run_until(&mut h, "the pause", |a| {
        a.training.run.as_ref().is_some_and(|r| r.paused)
    });
    run_menu(&mut h, "Resume training");
    assert!(h.state().training.run.as_ref().is_some_and(|r| !r.paused));
    h.get_by_label("Run").click();
    h.run_ok();
    h.get_by_label("Stop training").click();
    run_until(&mut h, "the stop", |a| !a.training.is_running());
    no_errors(h.state());
}

#[test]
fn the_about_window_opens_the_readme_at_the_sections_it_names() {
    let opened = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut h = harness(Settings::default(), None);
    let record = opened.clone();
    h.state_mut().opener = Box::new(move |p| {
        record.lock().unwrap().push(p.to_path_buf());
        Ok(())
    });
    ready(&mut h);
    h.state_mut().apply(Command::ToggleAbout);
    h.run_ok();
    let readme = bitsmnist_gui::help::readme().expect("the source tree's README");
    h.get_by_label(&readme.display().to_string());
    click(&mut h, "Install the app");
    assert_eq!(*opened.lock().unwrap(), vec![readme.clone()]);
    assert_eq!(h.state().status, format!("opened {}", readme.display()));
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(text.contains("\n## Install the app\n"));
    // The docs folder opens too.
    click(&mut h, "The docs folder");
    let docs = opened.lock().unwrap()[1].clone();
    assert!(docs.join("desktop-app.md").is_file(), "{}", docs.display());
    // An opener that fails is an error shown in the window, not a panic.
    h.state_mut().opener = Box::new(|_| Err("no viewer".into()));
    click(&mut h, "Examples");
    assert_eq!(h.state().errors.len(), 1);
    assert!(
        h.state().errors[0].ends_with("no viewer"),
        "{:?}",
        h.state().errors
    );
}

/// The screen rect of the widget labelled exactly `label`.
fn rect_of(h: &egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>, label: &str) -> egui::Rect {
    h.get_by_label(label).rect()
}

/// Each legend entry sits above its own plot (between the plot's title and its frame) and
/// overlaps no plot of the panel: it covers no curve, wherever the data go.
fn assert_legends_above(
    h: &egui_kittest::Harness<'_, bitsmnist_gui::BitsApp>,
    plots_and_legends: &[(&str, &[&str])],
) {
    let drawn: Vec<egui::Rect> = plots_and_legends
        .iter()
        .map(|(id, _)| {
            plots::drawn_rect(&h.ctx, id).unwrap_or_else(|| panic!("plot {id} not drawn"))
        })
        .collect();
    for ((id, legend), plot) in plots_and_legends.iter().zip(&drawn) {
        assert!(plot.height() >= 100.0, "{id}: {plot:?}");
        for name in *legend {
            let entry = rect_of(h, name);
            for other in &drawn {
                assert!(
                    !entry.intersects(*other),
                    "legend {name:?} at {entry:?} overlaps a plot at {other:?}"
                );
            }
            assert!(
                entry.bottom() <= plot.top() && plot.top() - entry.bottom() < 40.0,
                "legend {name:?} at {entry:?} is not just above its plot {id} at {plot:?}"
            );
            assert!(entry.left() >= plot.left() - 1.0 && entry.right() <= plot.right());
        }
    }
}

#[test]
fn legends_sit_above_their_plots_never_over_a_curve() {
    let mut s = quick_settings();
    s.training.use_time = false;
    s.training.use_generations = true;
    s.training.generations = 3;
    s.training.gradient.epochs = 1;
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    assert_legends_above(
        &h,
        &[
            (plots::FITNESS.id, &["best", "mean", "worst"]),
            (plots::TEST_ACCURACY.id, &["test accuracy"]),
        ],
    );

    pick_method(&mut h, Method::Gradient.name());
    start(&mut h, "Start");
    run_until(&mut h, "the epoch", |a| !a.training.is_running());
    no_errors(h.state());
    assert_legends_above(
        &h,
        &[
            (plots::LOSS.id, &["loss"]),
            (
                plots::EPOCH_ACCURACY.id,
                &["train (augmented mini-batches)", "test (exported model)"],
            ),
        ],
    );
}

#[test]
fn the_progress_bar_goes_from_zero_to_one_over_a_generation_limit() {
    let mut s = quick_settings();
    s.training.use_time = false;
    s.training.use_generations = true;
    s.training.generations = 6;
    let settings = s.training.clone();
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    start(&mut h, "Start");
    let mut seen = Vec::new();
    while h.state().training.is_running() {
        if let Some(p) = h.state().training.progress(&settings) {
            seen.push(p.fraction);
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.run_ok();
    no_errors(h.state());
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)), "{seen:?}");
    assert!(seen[0] < 1.0, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let end = h
        .state()
        .training
        .progress(&settings)
        .expect("a run happened");
    assert_eq!(end.fraction, 1.0, "{end:?}");
    assert_eq!(end.text, "generation 6 of 6");
}

#[test]
fn the_progress_bar_reaches_one_at_a_time_limit_and_at_a_target_fitness() {
    // A 1 s time limit: the bar counts seconds and reads 1 when the run ends by it.
    let mut s = quick_settings();
    s.training.seconds = 1.0;
    let settings = s.training.clone();
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    start(&mut h, "Start");
    let first = h.state().training.progress(&settings).expect("a run");
    assert!(
        first.fraction < 1.0 && first.text.ends_with("of 1 s"),
        "{first:?}"
    );
    run_until(&mut h, "the time limit", |a| !a.training.is_running());
    no_errors(h.state());
    let end = h.state().training.progress(&settings).unwrap();
    assert_eq!((end.fraction, end.text.as_str()), (1.0, "1 s of 1 s"));

    // A target fitness the first generations reach (20, on batches of 64 examples): the run
    // stops there, the bar reads 1.
    let mut s = quick_settings();
    s.training.use_time = false;
    s.training.use_target = true;
    s.training.target = 20.0;
    let settings = s.training.clone();
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the target", |a| !a.training.is_running());
    no_errors(h.state());
    let best = h.state().training.history.last().unwrap().best;
    assert!(best >= 20.0, "{best}");
    let end = h.state().training.progress(&settings).unwrap();
    assert_eq!(end.fraction, 1.0, "{end:?}");
    assert_eq!(end.text, format!("fitness {best:.4} of 20.0000"));
}

#[test]
fn the_progress_bar_counts_a_gradient_runs_epochs() {
    let mut s = quick_settings();
    s.training.method = Method::Gradient;
    s.training.gradient.epochs = 3;
    let settings = s.training.clone();
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    assert_eq!(h.state().training.progress(&settings), None);
    start(&mut h, "Start");
    let mut seen = Vec::new();
    let mut drawn = false;
    while h.state().training.is_running() {
        if let Some(p) = h.state().training.progress(&settings) {
            seen.push(p.fraction);
        }
        drawn |= h
            .query_by_label_contains("toward the stop rule: epoch")
            .is_some();
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.run_ok();
    no_errors(h.state());
    assert!(drawn, "no progress bar was drawn during the run");
    assert_eq!(seen.first(), Some(&0.0), "{seen:?}");
    assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let end = h
        .state()
        .training
        .progress(&settings)
        .expect("a run happened");
    assert_eq!(end.fraction, 1.0, "{end:?}");
    assert_eq!(end.text, "epoch 3 of 3");
}

#[test]
fn the_progress_bar_is_drawn_while_training() {
    let mut s = quick_settings();
    s.training.use_time = false;
    s.training.use_generations = true;
    s.training.generations = 1_000_000;
    let mut h = harness(s, None);
    ready(&mut h);
    click(&mut h, "Training");
    start(&mut h, "Start");
    generations(&mut h, 2);
    h.get_by_label_contains("toward the stop rule: generation");
    stop(&mut h);
}

#[test]
fn exports_write_the_history_the_plot_and_the_confusion_matrix() {
    let mut s = quick_settings();
    s.training.use_time = false;
    s.training.use_generations = true;
    s.training.generations = 4;
    let (dir, csv, mut h) = ready_with_file(s, "history.csv");
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    let records = h.state().training.history.len();
    assert!(records >= 4);

    // History as CSV, from the File menu (the picker answers history.csv).
    click_menu(&mut h, DataExport::HistoryCsv.menu_label());
    no_errors(h.state());
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), records + 1, "{text}");
    assert!(lines[0].starts_with("step,best,mean,worst"));
    let last = &h.state().training.history.records[records - 1];
    assert!(lines[records].starts_with(&format!("{},{}", last.step, last.best)));

    // Fitness plot as SVG: XML with an <svg> root naming the series.
    let svg = dir.path().join("fitness.svg");
    h.state_mut()
        .apply(Command::ExportData(DataExport::PlotSvg, Some(svg.clone())));
    no_errors(h.state());
    let text = std::fs::read_to_string(&svg).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut root = None;
    let mut texts = String::new();
    loop {
        match reader.read_event().expect("the SVG is well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if root.is_none() =>
            {
                root = Some(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
            }
            quick_xml::events::Event::Text(t) => {
                texts.push_str(&String::from_utf8_lossy(t.as_ref()));
                texts.push('\n');
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    for series in ["best", "mean", "worst"] {
        assert!(texts.contains(series), "no {series} in the SVG's text");
    }

    // Confusion matrix as CSV: a header and one line per class.
    evaluate(&mut h);
    let confusion = dir.path().join("confusion.csv");
    h.state_mut().apply(Command::ExportData(
        DataExport::ConfusionCsv,
        Some(confusion.clone()),
    ));
    no_errors(h.state());
    let text = std::fs::read_to_string(&confusion).unwrap();
    let (eval, _) = h.state().evaluation.result.as_ref().unwrap();
    let k = eval.confusion.classes();
    assert_eq!(text.lines().count(), k + 1, "{text}");
    let total: u64 = text
        .lines()
        .skip(1)
        .flat_map(|l| l.split(',').skip(1).map(|c| c.parse::<u64>().unwrap()))
        .sum();
    assert_eq!(total, eval.confusion.total());
}

#[test]
fn the_png_export_from_the_menu_writes_the_plot_at_its_size() {
    let mut s = quick_settings();
    s.training.use_time = false;
    s.training.use_generations = true;
    s.training.generations = 3;
    let (_dir, png_path, mut h) = ready_with_file(s, "fitness.png");
    click(&mut h, "Training");
    start(&mut h, "Start");
    run_until(&mut h, "the run's end", |a| !a.training.is_running());
    // Another tab is shown: the export brings the plot back to take it.
    click(&mut h, "Data");

    h.get_by_label("File").click();
    h.run_ok();
    h.get_by_label(DataExport::PlotPng.menu_label()).click();
    // The window's renderer answers the app's screenshot request: here the test does, with a
    // picture whose every pixel tells where it is (x in red, y in green).
    let ppp = h.ctx.pixels_per_point();
    let mut answered = None;
    for _ in 0..10 {
        h.step();
        let request = h.output().viewport_output.values().find_map(|v| {
            v.commands.iter().find_map(|c| match c {
                egui::ViewportCommand::Screenshot(cb) => Some(cb.clone()),
                _ => None,
            })
        });
        if let Some(callback) = request {
            let screen = h.ctx.content_rect();
            let (w, hgt) = (
                (screen.width() * ppp).round() as usize,
                (screen.height() * ppp).round() as usize,
            );
            let pixels = (0..w * hgt)
                .map(|i| egui::Color32::from_rgb((i % w % 256) as u8, (i / w % 256) as u8, 7))
                .collect();
            callback.complete(std::sync::Arc::new(egui::ColorImage::new([w, hgt], pixels)));
            answered = Some(plots::fitness_plot_rect(&h.ctx).expect("the plot is drawn"));
            break;
        }
    }
    let plot = answered.expect("the export asked for no screenshot");
    assert_eq!(h.state().settings.tab, Tab::Training);
    run_until(&mut h, "the PNG", |a| a.status.starts_with("exported"));
    no_errors(h.state());
    assert!(
        h.state().status.contains("fitness.png"),
        "{}",
        h.state().status
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).expect("the PNG is written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (x0, y0) = (
        (plot.left() * ppp).round() as usize,
        (plot.top() * ppp).round() as usize,
    );
    let want_w = (plot.right() * ppp).round() as usize - x0;
    let want_h = (plot.bottom() * ppp).round() as usize - y0;
    assert_eq!(
        (info.width as usize, info.height as usize),
        (want_w, want_h)
    );
    assert!(want_w >= 200 && want_h >= 100, "{want_w}x{want_h}");
    // Its first pixel is the plot's top left corner, its last the bottom right.
    assert_eq!(&buf[..4], &[(x0 % 256) as u8, (y0 % 256) as u8, 7, 255]);
    let last = buf.len() - 4;
    assert_eq!(
        &buf[last..],
        &[
            ((x0 + want_w - 1) % 256) as u8,
            ((y0 + want_h - 1) % 256) as u8,
            7,
            255
        ]
    );
}

#[test]
fn the_png_export_crops_the_plot_out_of_the_screenshot() {
    // A 40x30-pixel "screenshot" at 2 pixels per point, red inside the plot's rect.
    let (w, h) = (40, 30);
    let plot = egui::Rect::from_min_max(egui::pos2(5.0, 4.0), egui::pos2(15.0, 10.0));
    let pixels = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 / 2.0, (i / w) as f32 / 2.0);
            if plot.contains(egui::pos2(x, y)) && x < 15.0 && y < 10.0 {
                egui::Color32::RED
            } else {
                egui::Color32::BLUE
            }
        })
        .collect();
    let shot = egui::ColorImage::new([w, h], pixels);
    let cropped = files::crop(&shot, plot, 2.0);
    assert_eq!(cropped.size, [20, 12]);
    assert!(cropped.pixels.iter().all(|&c| c == egui::Color32::RED));
    // A rect past the image's edge is clamped to it.
    let wide = files::crop(
        &shot,
        egui::Rect::from_min_size(egui::pos2(10.0, 10.0), egui::vec2(100.0, 100.0)),
        2.0,
    );
    assert_eq!(wide.size, [20, 10]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plot.png");
    files::write_png(&cropped, &path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (20, 12));
    assert_eq!(info.color_type, png::ColorType::Rgba);
    assert_eq!(&buf[..4], &[255, 0, 0, 255]);
}

#[test]
fn clicking_a_confusion_cell_shows_only_that_pairs_mistakes() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    evaluate(&mut h);
    let (eval, _) = h.state().evaluation.result.as_ref().unwrap();
    let names = h
        .state()
        .data
        .task_data
        .as_ref()
        .unwrap()
        .class_names
        .clone();
    // The off-diagonal pair with the most mistakes (a random model makes some).
    let (t, p) = [(0, 1), (1, 0)]
        .into_iter()
        .max_by_key(|&(t, p)| eval.confusion.count(t, p))
        .unwrap();
    let count = eval.confusion.count(t, p) as usize;
    assert!(count > 0);
    let all = h.state().evaluation.captions().len();

    click(&mut h, &cell_label(t, p));
    assert_eq!(h.state().evaluation.filter, Some((t, p)));
    let shown = h.state().evaluation.shown_mistakes();
    assert_eq!(
        shown.len(),
        count.min(bitsmnist_gui::evaluation::MAX_MISTAKES)
    );
    assert!(shown.iter().all(|&(_, st, sp)| (st, sp) == (t, p)));
    let want = format!("{} as {}", names[t], names[p]);
    let captions = h.state().evaluation.captions();
    assert_eq!(captions.len(), shown.len());
    assert!(captions.iter().all(|c| *c == want), "{captions:?}");

    click(&mut h, "Show all mistakes");
    assert_eq!(h.state().evaluation.filter, None);
    assert_eq!(h.state().evaluation.captions().len(), all);
}

#[test]
fn the_light_themes_confusion_cells_have_legible_text() {
    let s = Settings {
        theme: ThemeChoice::Light,
        ..Default::default()
    };
    let mut h = harness(s, None);
    ready(&mut h);
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
    evaluate(&mut h);
    let visuals = h.ctx.global_style().visuals.clone();
    assert!(!visuals.dark_mode);
    let cm = &h.state().evaluation.result.as_ref().unwrap().0.confusion;
    let k = cm.classes();
    let max = (0..k * k).map(|i| cm.count(i / k, i % k)).max().unwrap();
    // Every count the matrix could show, on and off the diagonal, in both themes.
    for visuals in [visuals, egui::Visuals::dark()] {
        for count in (0..=max).step_by((max as usize / 200).max(1)).chain([max]) {
            for diagonal in [true, false] {
                let (fill, text) = cell_colors(count, max, diagonal, &visuals);
                let ratio = contrast_ratio(fill, text);
                assert!(
                    ratio >= 4.5,
                    "count {count} (diagonal {diagonal}, dark {}): {fill:?} on {text:?} has contrast {ratio:.2}",
                    visuals.dark_mode
                );
            }
        }
    }
}

#[test]
fn the_theme_switch_applies_and_persists() {
    let mut h = harness(Settings::default(), None);
    ready(&mut h);
    for (choice, theme) in [
        (ThemeChoice::Dark, egui::Theme::Dark),
        (ThemeChoice::Light, egui::Theme::Light),
    ] {
        h.get_by_label("View").click();
        h.run_ok();
        h.get_by_label(choice.title()).click();
        h.run_ok();
        assert_eq!(h.state().settings.theme, choice);
        assert_eq!(h.ctx.theme(), theme);
    }
    let text = ron::to_string(&h.state().settings).unwrap();
    let back: Settings = ron::from_str(&text).unwrap();
    assert_eq!(back.theme, ThemeChoice::Light);
    // Older settings, without the field, follow the system.
    let old: Settings = ron::from_str("(tab: Model)").unwrap();
    assert_eq!(old.theme, ThemeChoice::System);
    assert_eq!(old.tab, Tab::Model);
}
