//! The app's keyboard shortcuts, Help menu, themes, progress toward the stop rule, exports, and
//! the confusion matrix's filter of the mistakes, driven headlessly through the real UI.

mod common;

use bitsmnist_gui::app::{ThemeChoice, shortcuts};
use bitsmnist_gui::evaluation::{cell_colors, cell_label, contrast_ratio};
use bitsmnist_gui::files::{self, DataExport};
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
    let save = h.ctx.format_shortcut(&shortcuts::SAVE);
    h.get_by_label(&format!("Save model {save}"));
    let save_as = h.ctx.format_shortcut(&shortcuts::SAVE_AS);
    h.get_by_label(&format!("Save model as… {save_as}"));
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
