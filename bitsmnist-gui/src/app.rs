//! The app: persisted [`Settings`], run-time state, and the [`Command`]s that panels emit and
//! [`BitsApp::apply`] carries out after the frame.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitsmnist_core::export::Format;
use bitsmnist_core::layers::Shape;
use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::command::{Command, DataExport, shortcuts};
use crate::data::{self, DataSettings, DataState, Loading};
use crate::draw::{self, DrawSettings, DrawState};
use crate::evaluation::{self, EvalState, Evaluation};
use crate::example_models::{self, ExampleModel};
use crate::files::{self, FilePicker};
use crate::help::README_SECTIONS;
use crate::measure::Measure;
use crate::model::{self, ModelSettings, ModelState};
use crate::runs::{self, RunsSettings, RunsState};
use crate::training::{self, Effect, StartWith, TrainingSettings, TrainingState};
use crate::worker::{Reply, Worker};

/// The panels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// Data source, task, sample and preview.
    #[default]
    Data,
    /// Layer sizes and memory.
    Model,
    /// Trainer options and live plots.
    Training,
    /// Test metrics, confusion matrix and mistakes.
    Evaluation,
    /// Draw a digit and see the prediction.
    Draw,
    /// The runs folder: recorded runs listed, plotted and compared.
    Runs,
}

impl Tab {
    /// Every tab, in display order.
    pub const ALL: [Tab; 6] = [
        Tab::Data,
        Tab::Model,
        Tab::Training,
        Tab::Evaluation,
        Tab::Draw,
        Tab::Runs,
    ];

    /// The tab's title (also its label for tests).
    pub fn title(self) -> &'static str {
        match self {
            Tab::Data => "Data",
            Tab::Model => "Model",
            Tab::Training => "Training",
            Tab::Evaluation => "Evaluation",
            Tab::Draw => "Draw",
            Tab::Runs => "Runs",
        }
    }
}

/// The colour theme chosen in View > Theme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the desktop's light or dark setting.
    #[default]
    System,
    /// Dark text on light panels.
    Light,
    /// Light text on dark panels.
    Dark,
}

impl ThemeChoice {
    /// Every choice, in menu order.
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];

    /// The menu entry (also its label for tests).
    pub fn title(self) -> &'static str {
        match self {
            ThemeChoice::System => "System",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }

    /// What egui is told.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// Everything remembered between runs (eframe storage). New fields get their defaults when
/// older settings are loaded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The panel shown.
    pub tab: Tab,
    /// Data options.
    pub data: DataSettings,
    /// Model options.
    pub model: ModelSettings,
    /// Trainer options.
    pub training: TrainingSettings,
    /// Drawing options.
    pub draw: DrawSettings,
    /// Recently opened or saved model files, newest first.
    pub recent: Vec<PathBuf>,
    /// The colour theme.
    pub theme: ThemeChoice,
    /// Recording runs, and the Runs panel's options.
    pub runs: RunsSettings,
}

/// The app: persisted settings plus everything that lives only while it runs.
pub struct BitsApp {
    /// Remembered between runs.
    pub settings: Settings,
    /// The loaded data.
    pub data: DataState,
    /// The current model.
    pub model: ModelState,
    /// Training run and history.
    pub training: TrainingState,
    /// Last evaluation.
    pub evaluation: EvalState,
    /// The drawing canvas and prediction.
    pub draw: DrawState,
    /// The runs folder as last read, and the runs ticked.
    pub runs: RunsState,
    /// Error messages shown until dismissed.
    pub errors: Vec<String>,
    /// One-line status (last thing done).
    pub status: String,
    /// The model file last opened or saved (the window title names it).
    pub current_file: Option<PathBuf>,
    /// The shipped model opened from File > Open example, until the model is saved or
    /// replaced: it has no file (Save asks for one), and the window title names it.
    pub example: Option<&'static ExampleModel>,
    /// The window title last sent to the window.
    window_title: String,
    /// How file paths are asked for.
    pub file_picker: FilePicker,
    /// Frame-time measurement (`--measure`).
    pub measure: Option<Measure>,
    /// A model file to open once the data are loaded (`bitsmnist-gui FILE.bin`, as a file
    /// manager's "Open with" passes it).
    pub open_at_start: Option<std::path::PathBuf>,
    /// Background jobs.
    pub worker: Worker,
    /// Whether the About window is open.
    pub show_about: bool,
    /// Whether the Keyboard shortcuts window is open.
    pub show_shortcuts: bool,
    /// How Help > About opens the README (the desktop's opener; tests record the path).
    pub opener: crate::help::Opener,
    /// A PNG export of the fitness plot waiting for the plot to be drawn: the file, and the
    /// frames waited.
    pub pending_png: Option<(PathBuf, u8)>,
    /// What the screenshot callback reports (it runs outside the frame).
    png_result: std::sync::Arc<std::sync::Mutex<Option<Result<String, String>>>>,
}

/// What the app does, for the About window.
pub const ABOUT: &str = "BitsMNIST trains bit neural networks (1-bit weights, biases and activations) on handwritten digits, by genetic search, bit-flip climbing or gradient descent, with live plots. It evaluates them on the MNIST test set, reads digits you draw, and saves and exports the models as files, C or Rust.";

/// The app's name, the window title with no model file open.
pub const TITLE: &str = "BitsMNIST";

impl BitsApp {
    /// The app as eframe starts it: settings restored from storage, native file dialogs.
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        let mut app = Self::with_settings(settings, files::native_file_picker());
        app.worker.set_context(&cc.egui_ctx);
        app
    }

    /// The app with the given settings and file picker (tests use this). Data start loading
    /// on the first frame.
    pub fn with_settings(settings: Settings, file_picker: FilePicker) -> Self {
        Self {
            settings,
            data: DataState::default(),
            model: ModelState::default(),
            training: TrainingState::default(),
            evaluation: EvalState::default(),
            draw: DrawState::default(),
            runs: RunsState::default(),
            errors: Vec::new(),
            status: String::new(),
            current_file: None,
            example: None,
            window_title: TITLE.to_string(),
            file_picker,
            measure: None,
            open_at_start: None,
            worker: Worker::default(),
            show_about: false,
            show_shortcuts: false,
            opener: crate::help::system_opener(),
            pending_png: None,
            png_result: Default::default(),
        }
    }

    /// The window title: the app's name and the model file in use, as desktops show it in
    /// the task bar (and as the desktop test finds the window after a double-click).
    pub fn title(&self) -> String {
        match (
            self.current_file.as_ref().and_then(|p| p.file_name()),
            self.example,
        ) {
            (Some(name), _) => format!("{} — {TITLE}", name.to_string_lossy()),
            (None, Some(example)) => format!("{} (example) — {TITLE}", example.file),
            (None, None) => TITLE.to_string(),
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let title = self.title();
        if title != self.window_title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.window_title = title;
        }
    }

    /// The files given on the command line, as a file manager passes them on a double-click:
    /// one is opened once the data are loaded; several are an error shown in the window (the
    /// app holds one model at a time).
    pub fn open_files(&mut self, files: Vec<PathBuf>) {
        match files.as_slice() {
            [] => {}
            [one] => self.open_at_start = Some(one.clone()),
            several => self.error(format!(
                "the app opens one model at a time; got {} files ({}): open one with File > Open",
                several.len(),
                several
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Shows an error until the user dismisses it, and writes it to standard error.
    pub fn error(&mut self, message: impl Into<String>) {
        let m = message.into();
        // An app started from a file manager has no terminal: the desktop session's log keeps
        // its standard error (and the desktop test reads it there).
        eprintln!("bitsmnist-gui: error: {m}");
        self.status = format!("error: {m}");
        self.errors.push(m);
    }

    /// Whether data are loaded and the task applied.
    pub fn data_ready(&self) -> bool {
        self.data.task_data.is_some() && self.data.loading.is_none()
    }

    /// (the map a model reads, classes) of the loaded task.
    pub fn task_shape(&self) -> Option<(Shape, usize)> {
        self.data
            .task_data
            .as_ref()
            .map(|d| (Shape::input_of(d), d.classes()))
    }

    /// The binarisation threshold of the test split (for the canvas).
    pub fn threshold(&self) -> f64 {
        self.data
            .task_data
            .as_ref()
            .map(|d| d.test.threshold())
            .filter(|t| t.is_finite())
            .unwrap_or(127.0)
    }

    /// Draws one frame into `ui` (the whole window) and applies the commands it produced.
    pub fn ui_root(&mut self, ui: &mut egui::Ui) {
        let pass_start = Instant::now();
        let ctx = ui.ctx().clone();
        self.worker.set_context(&ctx);
        self.poll(&ctx);
        let mut commands = Vec::new();
        if !self.data.started {
            self.data.started = true;
            crate::widgets::readable_text(&ctx);
            commands.push(Command::LoadData);
        }
        commands.extend(self.dropped_files(&ctx));
        commands.extend(self.shortcut_commands(&ctx));
        let preference = self.settings.theme.preference();
        if ctx.options(|o| o.theme_preference) != preference {
            ctx.set_theme(preference);
        }
        if let Some(result) = self.png_result.lock().ok().and_then(|mut r| r.take()) {
            match result {
                Ok(status) => self.status = status,
                Err(e) => self.error(e),
            }
        }

        egui::Panel::top("menu").show(ui, |ui| {
            commands.extend(self.menu_bar(ui));
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            self.status_bar(ui);
        });
        egui::CentralPanel::default().show(ui, |ui| {
            for (i, e) in self.errors.iter().enumerate() {
                egui::Frame::new()
                    .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
                    .inner_margin(6)
                    .corner_radius(4)
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            if ui.button("Dismiss").clicked() {
                                commands.push(Command::DismissError(i));
                            }
                            ui.add(
                                egui::Label::new(
                                    egui::RichText::new(format!("Error: {e}"))
                                        .color(ui.visuals().error_fg_color),
                                )
                                .wrap(),
                            );
                        });
                    });
            }
            ui.horizontal(|ui| {
                for tab in Tab::ALL {
                    ui.selectable_value(&mut self.settings.tab, tab, tab.title());
                }
            });
            ui.separator();
            commands.extend(self.panel(ui));
        });

        if self.data_ready()
            && let Some(p) = self.open_at_start.take()
        {
            // Opened by a double-click: show the model that came with it.
            self.settings.tab = Tab::Model;
            commands.push(Command::Open(Some(p)));
        }
        commands.extend(self.help_windows(&ctx));
        for c in commands {
            self.apply(c);
        }
        if let Some((path, waited)) = self.pending_png.take() {
            self.request_plot_png(&ctx, path, waited);
        }
        self.update_title(&ctx);
        if self.measure.is_some() {
            let ready =
                self.data_ready() && self.model.chain.is_some() && self.open_at_start.is_none();
            if let Some(m) = self
                .measure
                .as_mut()
                .filter(|m| !m.training_started && ready)
            {
                m.training_started = true;
                self.settings.tab = Tab::Training;
                self.apply(Command::StartTraining);
            }
            let gps = self.training.generations_per_sec();
            let running = self.training.is_running();
            if let Some(m) = &mut self.measure {
                m.frame(&ctx, pass_start.elapsed(), running, gps);
            }
        }
    }

    fn panel(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let shape = self.task_shape();
        let running = self.training.is_running();
        let Self {
            settings,
            data,
            model,
            training,
            evaluation,
            draw,
            runs,
            // Not drawn by a panel: the menu and status bars show these.
            errors: _,
            status: _,
            current_file: _,
            example: _,
            window_title: _,
            // Resources, not state.
            file_picker: _,
            measure: _,
            open_at_start: _,
            worker: _,
            show_about: _,
            show_shortcuts: _,
            opener: _,
            pending_png: _,
            png_result: _,
        } = self;
        match settings.tab {
            Tab::Data => data::ui(ui, &mut settings.data, data, running),
            Tab::Model => model::ui(ui, &mut settings.model, model, shape, running),
            Tab::Training => training::ui(
                ui,
                &mut settings.training,
                training,
                model.chain.is_some() && data.task_data.is_some(),
                &settings.model.hidden_sizes(),
                model
                    .chain
                    .as_ref()
                    .is_some_and(training::is_gradient_trained),
                &mut settings.runs.record,
            ),
            Tab::Runs => runs::ui(ui, &mut settings.runs, runs, running),
            Tab::Evaluation => {
                let key = (model.version, data.version);
                evaluation::ui(
                    ui,
                    evaluation,
                    data.task_data.as_deref(),
                    key,
                    model.chain.is_some(),
                )
            }
            Tab::Draw => {
                let threshold = data
                    .task_data
                    .as_ref()
                    .map(|d| d.test.threshold())
                    .filter(|t| t.is_finite())
                    .unwrap_or(127.0);
                let names = data
                    .task_data
                    .as_ref()
                    .map(|d| d.class_names.clone())
                    .unwrap_or_default();
                draw::ui(
                    ui,
                    &mut settings.draw,
                    draw,
                    model
                        .chain
                        .as_ref()
                        .map(|c| (c, model.version, model.input)),
                    threshold,
                    &names,
                )
            }
        }
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                let ctx = ui.ctx().clone();
                let key = |s: &egui::KeyboardShortcut| ctx.format_shortcut(s);
                if ui
                    .add(egui::Button::new("Open model…").shortcut_text(key(&shortcuts::OPEN)))
                    .clicked()
                {
                    commands.push(Command::Open(None));
                }
                ui.menu_button("Open example", |ui| {
                    for example in &example_models::ALL {
                        if ui
                            .button(example.caption)
                            .on_hover_text(format!(
                                "{}. Shipped with the app ({}): Save asks for a new file.",
                                example.about, example.file
                            ))
                            .clicked()
                        {
                            commands.push(Command::OpenExample(example.file));
                        }
                    }
                });
                let have = self.model.chain.is_some();
                if ui
                    .add_enabled(
                        have,
                        egui::Button::new("Save model").shortcut_text(key(&shortcuts::SAVE)),
                    )
                    .clicked()
                {
                    commands.push(Command::Save(self.current_file.clone()));
                }
                if ui
                    .add_enabled(
                        have,
                        egui::Button::new("Save model as…").shortcut_text(key(&shortcuts::SAVE_AS)),
                    )
                    .clicked()
                {
                    commands.push(Command::Save(None));
                }
                ui.separator();
                for &format in Format::ALL {
                    let label = crate::files::export_label(format);
                    if ui
                        .add_enabled(have, egui::Button::new(label))
                        .on_hover_text(format!(
                            "{} into a folder, as `bitsmnist export --format {format}`",
                            format.description()
                        ))
                        .clicked()
                    {
                        commands.push(Command::Export(format));
                    }
                }
                ui.separator();
                let history = !self.training.history.is_empty();
                let evaluated = self.evaluation.result.is_some();
                for (what, enabled) in [
                    (DataExport::HistoryCsv, history),
                    (DataExport::PlotSvg, history),
                    (DataExport::PlotPng, history),
                    (DataExport::ConfusionCsv, evaluated),
                ] {
                    if ui
                        .add_enabled(enabled, egui::Button::new(what.menu_label()))
                        .on_hover_text(what.tip())
                        .clicked()
                    {
                        commands.push(Command::ExportData(what, None));
                    }
                }
                ui.separator();
                ui.menu_button("Recent files", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.weak("none");
                    }
                    for p in &self.settings.recent {
                        if ui.button(p.display().to_string()).clicked() {
                            commands.push(Command::Open(Some(p.clone())));
                        }
                    }
                    if !self.settings.recent.is_empty() {
                        ui.separator();
                        if ui.button("Clear recent files").clicked() {
                            commands.push(Command::ClearRecent);
                        }
                    }
                });
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Run", |ui| {
                commands.extend(self.run_menu(ui));
            });
            ui.menu_button("View", |ui| {
                ui.label("Theme");
                for choice in ThemeChoice::ALL {
                    if ui
                        .radio_value(&mut self.settings.theme, choice, choice.title())
                        .clicked()
                    {
                        ui.close();
                    }
                }
            });
            ui.menu_button("Help", |ui| {
                let ctx = ui.ctx().clone();
                if ui
                    .add(
                        egui::Button::new("Keyboard shortcuts")
                            .shortcut_text(ctx.format_shortcut(&shortcuts::HELP)),
                    )
                    .clicked()
                {
                    commands.push(Command::ToggleShortcuts);
                }
                if ui.button("About BitsMNIST").clicked() {
                    commands.push(Command::ToggleAbout);
                }
            });
            ui.separator();
            ui.weak("Drop a .bin model file onto the window to open it.");
        });
        commands
    }

    /// The Run menu: start, pause or resume (the entry Ctrl+Enter does, named for what it
    /// would do now), and stop.
    fn run_menu(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        let (label, enabled) = match &self.training.run {
            None => (
                "Start training",
                self.data_ready() && self.model.chain.is_some(),
            ),
            Some(r) if r.paused => ("Resume training", true),
            Some(_) => ("Pause training", true),
        };
        let key = ui.ctx().format_shortcut(&shortcuts::START_PAUSE);
        if ui
            .add_enabled(enabled, egui::Button::new(label).shortcut_text(key))
            .clicked()
        {
            commands.push(Command::StartOrPause);
        }
        if ui
            .add_enabled(
                self.training.is_running(),
                egui::Button::new("Stop training"),
            )
            .on_hover_text("Stop after this generation or mini-batch and keep the model")
            .clicked()
        {
            commands.push(Command::StopTraining);
        }
        commands
    }

    /// The commands of the keyboard shortcuts pressed this frame (consumed, so that no widget
    /// also takes them). Ctrl+Shift+S goes first: Ctrl+S would match it too.
    fn shortcut_commands(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        ctx.input_mut(|i| {
            if i.consume_shortcut(&shortcuts::SAVE_AS) {
                commands.push(Command::Save(None));
            }
            if i.consume_shortcut(&shortcuts::SAVE) {
                commands.push(Command::Save(self.current_file.clone()));
            }
            if i.consume_shortcut(&shortcuts::OPEN) {
                commands.push(Command::Open(None));
            }
            if i.consume_shortcut(&shortcuts::START_PAUSE) {
                commands.push(Command::StartOrPause);
            }
            if i.consume_shortcut(&shortcuts::HELP) {
                commands.push(Command::ToggleShortcuts);
            }
        });
        commands
    }

    /// The About and Keyboard shortcuts windows, when open. About names the README's sections;
    /// each opens the README on this machine with the desktop's viewer (a file has no anchors
    /// to jump to: the section's heading is the pointer), and the paths are shown to copy.
    fn help_windows(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::Window::new("About BitsMNIST")
            .open(&mut self.show_about)
            .resizable(false)
            .collapsible(false)
            .show(ctx, |ui| {
                ui.heading(format!("BitsMNIST {}", env!("CARGO_PKG_VERSION")));
                ui.label(ABOUT);
                ui.add_space(6.0);
                let readme = crate::help::readme();
                match &readme {
                    Some(p) => {
                        ui.label("In the README (click a section to open the file):");
                        ui.monospace(p.display().to_string());
                    }
                    None => {
                        ui.label("In the README (README.md, in the project's sources):");
                    }
                }
                for (section, what) in README_SECTIONS {
                    ui.horizontal(|ui| {
                        ui.label("•");
                        match &readme {
                            Some(p) => {
                                if ui
                                    .link(section)
                                    .on_hover_text(format!("Open {}", p.display()))
                                    .clicked()
                                {
                                    commands.push(Command::OpenDocument(p.clone()));
                                }
                            }
                            None => {
                                ui.label(section);
                            }
                        }
                        ui.label(format!("— {what}"));
                    });
                }
                if let Some(docs) = crate::help::docs_folder() {
                    ui.horizontal(|ui| {
                        if ui.link("The docs folder").clicked() {
                            commands.push(Command::OpenDocument(docs.clone()));
                        }
                        ui.monospace(docs.display().to_string());
                    });
                }
                ui.add_space(6.0);
                ui.weak("Licensed under MIT or Apache-2.0.");
            });
        egui::Window::new("Keyboard shortcuts")
            .open(&mut self.show_shortcuts)
            .resizable(false)
            .collapsible(false)
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        for (s, what) in shortcuts::ALL {
                            ui.monospace(ctx.format_shortcut(&s));
                            ui.label(what);
                            ui.end_row();
                        }
                    });
            });
        commands
    }

    /// Asks the window for a screenshot of the next frame and saves the fitness plot's part
    /// of it to `path` (the callback runs outside the frame: it reports through `png_result`).
    fn request_plot_png(&mut self, ctx: &egui::Context, path: PathBuf, waited: u8) {
        let Some(rect) = crate::training::plots::fitness_plot_rect(ctx) else {
            // Another tab is shown: show the plot, and take it once drawn.
            if waited < 3 {
                self.settings.tab = Tab::Training;
                self.pending_png = Some((path, waited + 1));
                ctx.request_repaint();
            } else {
                self.error("the fitness plot is not drawn: nothing to export as PNG");
            }
            return;
        };
        let result = self.png_result.clone();
        let repaint = ctx.clone();
        let ppp = ctx.pixels_per_point();
        ctx.request_screenshot(move |image| {
            let outcome = files::write_png(&files::crop(&image, rect, ppp), &path)
                .map(|()| format!("exported the fitness plot to {}", path.display()))
                .map_err(|e| format!("{}: {e}", path.display()));
            if let Ok(mut slot) = result.lock() {
                *slot = Some(outcome);
            }
            repaint.request_repaint();
        });
        self.status = "exporting the fitness plot…".into();
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(&self.status);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if let Some(d) = &self.data.full {
                    ui.weak(format!("{} | {}", d.name, d.binarization));
                }
                match (&self.current_file, self.example) {
                    (Some(p), _) => {
                        ui.weak(p.display().to_string());
                    }
                    (None, Some(example)) => {
                        ui.weak(format!("example {} (shipped with the app)", example.file));
                    }
                    (None, None) => {}
                }
            });
        });
    }

    /// `.bin` files dropped on the window become open commands.
    fn dropped_files(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        let mut commands = Vec::new();
        for p in dropped {
            if p.extension().is_some_and(|e| e == "bin") {
                commands.push(Command::Open(Some(p)));
            } else {
                self.error(format!("{}: not a .bin model file", p.display()));
            }
        }
        commands
    }

    /// Takes in what the background jobs reported.
    fn poll(&mut self, ctx: &egui::Context) {
        while let Some(reply) = self.worker.try_recv() {
            match reply {
                Reply::Download { file, done, total } => {
                    if let Some(l) = &mut self.data.loading {
                        l.download = Some((file, done, total));
                    }
                }
                Reply::Data(result) => {
                    self.data.loading = None;
                    match result {
                        Ok(d) => {
                            let d = *d;
                            self.data.loaded_from = Some((d.source.clone(), d.binarization));
                            self.status = format!(
                                "loaded {}: {} + {} images",
                                d.name,
                                d.train.len(),
                                d.test.len()
                            );
                            self.data.full = Some(std::sync::Arc::new(d));
                            self.apply(Command::ApplyTask);
                        }
                        Err(e) => self.error(e),
                    }
                }
                Reply::Train(t) => {
                    let effects = self.training.on_reply(t);
                    self.take(effects);
                }
            }
        }
        if let Some(ended) = self.runs.sweep.poll() {
            match ended {
                Ok(line) => self.status = line,
                Err(e) => self.error(e),
            }
            self.runs.reread();
        }
        if self.data.loading.is_some() || self.training.is_running() {
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    /// Carries out a command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::LoadData => {
                let source = self.settings.data.source();
                if let bitsmnist_core::datasets::Source::Dir(p) = &source
                    && p.as_os_str().is_empty()
                {
                    self.error("choose a folder holding the four IDX files first");
                    return;
                }
                self.data.loading = Some(Loading {
                    what: source.to_string(),
                    download: None,
                });
                self.status = format!("loading {source}…");
                self.worker
                    .load_data(source, self.settings.data.binarization());
            }
            Command::ApplyTask => match self.data.apply_task(&self.settings.data) {
                Ok(()) => {
                    self.data.task_error = None;
                    if let Some(task) = &self.data.task
                        && !self.training.is_running()
                    {
                        self.training.task_changed(task);
                        self.settings.training.climb.task_changed(task);
                        // The Model panel follows the task's recipe unless it was edited.
                        let recipes = [
                            ModelSettings::default(),
                            ModelSettings::for_task(&bitsmnist_core::datasets::Task::digits()),
                        ];
                        if recipes.iter().any(|r| self.settings.model.same_shape(r)) {
                            let seed = self.settings.model.seed;
                            self.settings.model = ModelSettings::for_task(task);
                            self.settings.model.seed = seed;
                        }
                    }
                    let fits = self.model.chain.as_ref().is_some_and(|c| {
                        let shape = self.task_shape().map(|(s, k)| (s.bits(), k));
                        Some((c.inputs(), c.outputs())) == shape
                    });
                    if !fits && !self.training.is_running() {
                        self.apply(Command::NewModel);
                    }
                }
                Err(e) => self.data.task_error = Some(e),
            },
            Command::NewModel => {
                let Some((input, classes)) = self.task_shape() else {
                    self.error("load data first");
                    return;
                };
                let s = &self.settings.model;
                let made = match &self.data.task_data {
                    Some(data) => s.build_on(&data.train, classes, s.seed),
                    None => s.build(input, classes, Some(s.seed)),
                };
                match made {
                    Ok(chain) => {
                        let origin = format!("random, seed {}", s.seed);
                        self.status = crate::widgets::displayable(&format!("new model {chain}"));
                        self.model.set(chain, origin);
                        self.training.forget();
                        self.current_file = None;
                        self.example = None;
                    }
                    Err(e) => self.error(e),
                }
            }
            Command::StartTraining => {
                let record = match self
                    .settings
                    .runs
                    .record
                    .then(|| self.settings.runs.store())
                {
                    None => None,
                    Some(Ok(store)) => Some(store),
                    Some(Err(e)) => {
                        self.error(format!(
                            "cannot record the run: {e} (turn off Record runs to train without recording)"
                        ));
                        return;
                    }
                };
                let with = StartWith {
                    record,
                    model: self.model.chain.as_ref(),
                    data: self.data.full.as_ref().filter(|_| self.data_ready()),
                    task: self.data.task.as_ref(),
                    fraction: self.settings.data.fraction,
                    settings: &self.settings.training,
                    model_settings: &self.settings.model,
                };
                let effects = self.training.start(with, self.worker.outbox());
                self.take(effects);
            }
            Command::PauseTraining => {
                let effects = self.training.pause();
                self.take(effects);
            }
            Command::ResumeTraining => {
                let effects = self.training.resume();
                self.take(effects);
            }
            Command::StopTraining => {
                let effects = self.training.stop();
                self.take(effects);
            }
            Command::Evaluate => {
                if let (Some(chain), Some(loaded)) = (&self.model.chain, &self.data.task_data) {
                    // The test digits binarised as the model was trained, when the Data
                    // panel loaded them otherwise (and they have grey levels to do it from).
                    let rebinarized = self
                        .model
                        .binarization
                        .filter(|b| *b != loaded.binarization)
                        .and_then(|b| loaded.rebinarized(b));
                    let data = rebinarized.as_ref().unwrap_or(loaded);
                    match Evaluation::run(chain, data, self.model.input) {
                        Ok(eval) => {
                            let how = if rebinarized.is_some() {
                                format!(
                                    " (digits binarised {}, as the model was trained)",
                                    data.binarization
                                )
                            } else {
                                String::new()
                            };
                            self.status = format!(
                                "test accuracy {:.2}%{how}",
                                100.0 * eval.confusion.accuracy()
                            );
                            self.evaluation.result =
                                Some((eval, (self.model.version, self.data.version)));
                            // The pair picked in the last matrix may not exist in this one.
                            self.evaluation.filter = None;
                        }
                        Err(e) => self.error(format!("evaluation: {e}")),
                    }
                }
            }
            Command::RandomTestDigit => {
                if let Some(d) = &self.data.task_data
                    && !d.test.is_empty()
                {
                    let i = (self.draw.version as usize * 7919 + 13) % d.test.len();
                    match d.test.grey(i) {
                        Some(g) => self.draw.set(g),
                        None => {
                            let bits: Vec<u8> = d
                                .test
                                .images()
                                .row_bits(i)
                                .iter()
                                .map(|b| if *b { 255 } else { 0 })
                                .collect();
                            self.draw.set(&bits);
                        }
                    }
                }
            }
            Command::Open(path) => {
                let running = self.training.is_running();
                let effects = files::open(&mut self.file_picker, path, running);
                self.take_files(effects);
            }
            Command::OpenExample(file) => {
                let effects = files::open_example(file, self.training.is_running());
                self.take_files(effects);
            }
            Command::Save(path) => {
                let (picker, now) = self.for_files();
                let effects = files::save(picker, &now, path);
                self.take_files(effects);
            }
            Command::Export(format) => {
                let (picker, now) = self.for_files();
                let effects = files::export(picker, &now, format, None);
                self.take_files(effects);
            }
            Command::ExportData(what, path) => {
                let (picker, now) = self.for_files();
                let effects = files::export_data(picker, &now, what, path);
                self.take_files(effects);
            }
            Command::StartOrPause => match &self.training.run {
                None => self.apply(Command::StartTraining),
                Some(r) if r.paused => self.apply(Command::ResumeTraining),
                Some(_) => self.apply(Command::PauseTraining),
            },
            Command::ToggleAbout => self.show_about = !self.show_about,
            Command::ToggleShortcuts => self.show_shortcuts = !self.show_shortcuts,
            Command::OpenDocument(path) => match (self.opener)(&path) {
                Ok(()) => self.status = format!("opened {}", path.display()),
                Err(e) => self.error(format!("{}: {e}", path.display())),
            },
            Command::ClearRecent => self.settings.recent.clear(),
            Command::OpenRun(id) => {
                if self.training.is_running() {
                    self.error("stop the run going on before opening another");
                    return;
                }
                match self
                    .run_store()
                    .and_then(|s| s.load(&id).map_err(|e| e.to_string()))
                {
                    Ok(file) => {
                        self.take_opened(Opened::Run(&id), file);
                        // Start on the Training tab continues it in the same record.
                        self.training.recording = Some(id);
                    }
                    Err(e) => self.error(e),
                }
            }
            Command::ContinueRun(id) => self.continue_run(id),
            Command::ExportRun(id, format) => {
                let file = match self
                    .run_store()
                    .and_then(|s| s.load(&id).map_err(|e| e.to_string()))
                {
                    Ok(f) => f,
                    Err(e) => return self.error(e),
                };
                let now = files::Current {
                    model: Some(&file.model),
                    training: &self.training,
                    data: &self.data,
                    evaluation: &self.evaluation,
                    file: None,
                };
                let effects = files::export(&mut self.file_picker, &now, format, None);
                self.take_files(effects);
            }
            Command::RelabelRun(id, label) => {
                // The app's own last run is locked by its session until let go.
                self.training.release_recorded(&id);
                match self.run_store().and_then(|s| {
                    let tags = s.summary(&id).map(|r| r.tags).unwrap_or_default();
                    s.relabel(&id, &label, &tags).map_err(|e| e.to_string())
                }) {
                    Ok(()) => self.status = format!("run {id} relabelled {label:?}"),
                    Err(e) => self.error(e),
                }
                self.runs.reread();
            }
            Command::DeleteRun(id) => {
                self.training.release_recorded(&id);
                match self
                    .run_store()
                    .and_then(|s| s.delete(&id).map_err(|e| e.to_string()))
                {
                    Ok(()) => {
                        self.status = format!("deleted run {id}");
                        self.runs.selected.remove(&id);
                        // Continue then starts a new record: this one is gone.
                        if self.training.recording.as_ref() == Some(&id) {
                            self.training.recording = None;
                        }
                    }
                    Err(e) => self.error(e),
                }
                self.runs.reread();
            }
            Command::StartSweep => self.start_sweep(),
            Command::StopSweep => {
                self.runs.sweep.stop();
                self.status = "stopping the sweep…".into();
            }
            Command::DismissError(i) => {
                if i < self.errors.len() {
                    self.errors.remove(i);
                }
            }
        }
    }
}

impl BitsApp {
    /// The runs folder of the settings, opened.
    fn run_store(&self) -> Result<bitsmnist_core::runs::RunStore, String> {
        self.settings.runs.store()
    }

    /// Starts the Runs tab's sweep on a thread of its own, its points made from the panels'
    /// settings and the Data panel's task.
    fn start_sweep(&mut self) {
        let (Some(data), Some(task)) = (
            self.data.full.clone().filter(|_| self.data_ready()),
            self.data.task.clone(),
        ) else {
            return self.error("load data before starting a sweep");
        };
        let store = match self.run_store() {
            Ok(s) => s,
            Err(e) => return self.error(format!("cannot start the sweep: {e}")),
        };
        let with = crate::sweep::SweepStart {
            store,
            data,
            base: crate::sweep::SweepBase {
                training: self.settings.training.clone(),
                model: self.settings.model.clone(),
                task,
                fraction: self.settings.data.fraction,
            },
            out: self.worker.outbox(),
        };
        match self.runs.sweep.start(&self.settings.runs.sweep, with) {
            Ok(status) => self.status = status,
            Err(e) => self.error(e),
        }
        self.runs.reread();
    }

    /// Continues recorded run `id` on the worker, as Start continues a run, recording into
    /// the same run; the Training tab shows it.
    fn continue_run(&mut self, id: bitsmnist_core::runs::RunId) {
        use bitsmnist_core::session::RunPlan;

        let Some(data) = self.data.full.clone().filter(|_| self.data_ready()) else {
            return self.error("load data before continuing a run");
        };
        let store = match self.run_store() {
            Ok(s) => s,
            Err(e) => return self.error(e),
        };
        self.training.release_recorded(&id);
        let plan = match RunPlan::continue_recorded(&store, &id) {
            // Tested as often as the Training panel tests a run of the run's own method.
            Ok(p) => {
                let method = training::method_of(p.kind());
                let every = self.settings.training.validate_every(method);
                p.validate_every(every)
            }
            Err(e) => return self.error(format!("cannot continue run {id}: {e}")),
        };
        // The run goes on on its own task: the Evaluation and Draw tabs read the same.
        self.adopt_task(&plan.task);
        let effects = self
            .training
            .continue_recorded(plan, &data, store, id, self.worker.outbox());
        self.take(effects);
        if self.training.is_running() {
            self.settings.tab = Tab::Training;
        }
    }

    /// Carries out what the Training panel asked for, in order.
    fn take(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Status(s) => self.status = s,
                Effect::Error(e) => self.error(e),
                Effect::SetModel {
                    chain,
                    origin,
                    binarization,
                } => self.model.set_trained(chain, origin, binarization),
                Effect::Evaluate => self.apply(Command::Evaluate),
                Effect::Saved(path) => {
                    self.remember(&path);
                    self.status = format!("saved {} (the run's checkpoint)", path.display());
                }
            }
        }
    }
}

impl BitsApp {
    /// The file picker, and what the file commands read of the app.
    fn for_files(&mut self) -> (&mut FilePicker, files::Current<'_>) {
        let now = files::Current {
            model: self.model.chain.as_ref(),
            training: &self.training,
            data: &self.data,
            evaluation: &self.evaluation,
            file: self.current_file.as_deref(),
        };
        (&mut self.file_picker, now)
    }

    /// Carries out what a file command asked for, in order.
    fn take_files(&mut self, effects: Vec<files::Effect>) {
        for effect in effects {
            match effect {
                files::Effect::Status(s) => self.status = s,
                files::Effect::Error(e) => self.error(e),
                files::Effect::Opened(path, file) => {
                    self.take_opened(Opened::File(&path), *file);
                }
                files::Effect::OpenedExample(example, file) => {
                    self.take_opened(Opened::Example(example), *file);
                }
                files::Effect::Remember(path) => self.remember(&path),
                files::Effect::SaveRunning(path) => {
                    // Only asked for while a run goes on.
                    let _ = self.training.save_running(&path);
                }
                files::Effect::PlotPng(path) => self.pending_png = Some((path, 0)),
            }
        }
    }

    /// Takes in a model file read from a file or shipped with the app: the model, its
    /// training state and history, and its task.
    fn take_opened(&mut self, from: Opened<'_>, file: bitsmnist_core::io::ModelFile) {
        if let Some(task) = &file.meta.task {
            self.adopt_task(task);
        }
        if let Some(method) = self.training.opened(&file) {
            // Start goes on with the run that made the file, as `bitsmnist train --resume`.
            self.settings.training.method = method;
        }
        // The model says which input it reads (`Chain::input`); `set` takes it from there.
        let origin = match from {
            Opened::File(path) => path.display().to_string(),
            Opened::Example(example) => format!("example {} (shipped with the app)", example.file),
            Opened::Run(id) => format!("run {id} of the runs folder"),
        };
        self.model
            .set_trained(file.model, origin, file.meta.binarization);
        if let Some((input, classes)) = self.task_shape() {
            let inputs = input.bits();
            let m = self.model.chain.as_ref().expect("just set");
            if (m.inputs(), m.outputs()) != (inputs, classes) {
                self.error(format!(
                    "the model takes {} inputs to {} classes, the data have {inputs} and {classes}",
                    m.inputs(),
                    m.outputs()
                ));
            }
        }
        match from {
            Opened::File(path) => {
                self.remember(path);
                self.status = format!("opened {}", path.display());
            }
            Opened::Run(id) => {
                // Its checkpoint belongs to the record: Save asks where to write.
                self.current_file = None;
                self.example = None;
                self.status = format!("opened run {id}: Save asks where to write it");
            }
            Opened::Example(example) => {
                // No file behind it: Save asks for a path, never the shipped model's.
                self.current_file = None;
                self.example = Some(example);
                self.status = format!(
                    "opened the example {}: Save asks where to write it",
                    example.file
                );
            }
        }
        self.evaluation.result = None;
    }

    /// Makes `task` the Data panel's (the task of a model opened or a run continued).
    fn adopt_task(&mut self, task: &bitsmnist_core::datasets::Task) {
        let d = &mut self.settings.data;
        let (kind, classes) = files::task_settings(task, &d.classes);
        if (kind, &classes) != (d.task, &d.classes) {
            d.task = kind;
            d.classes = classes;
            if let Err(e) = self.data.apply_task(d) {
                self.error(e);
            }
        }
    }

    /// Makes `path` the model file in use, first in the recent files.
    fn remember(&mut self, path: &std::path::Path) {
        files::remember(&mut self.settings.recent, path);
        self.current_file = Some(path.to_path_buf());
        self.example = None;
    }
}

/// Where an opened model came from.
#[derive(Clone, Copy)]
enum Opened<'a> {
    /// A file on disk.
    File(&'a std::path::Path),
    /// A model shipped with the app.
    Example(&'static ExampleModel),
    /// A run of the runs folder.
    Run(&'a bitsmnist_core::runs::RunId),
}

impl eframe::App for BitsApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.ui_root(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_time_limit_that_is_no_duration_is_brought_into_range_on_load() {
        for (stored, loaded) in [
            ("inf", 86_400.0),
            ("-inf", 0.1),
            ("NaN", 25.0),
            ("-1.0", 0.1),
            ("1e300", 86_400.0),
            ("42.5", 42.5),
        ] {
            // As eframe restores the app's settings from its storage.
            let app: Settings =
                ron::from_str(&format!("(training: (seconds: {stored}, use_time: true))")).unwrap();
            let s = app.training;
            assert_eq!(s.seconds, loaded, "{stored}");
            let o = s.stop_rules();
            assert_eq!(
                o.time_limit,
                Some(Duration::from_secs_f64(loaded)),
                "{stored}"
            );
        }
        // Set in code rather than loaded, it is clamped where it becomes a time limit.
        let s = TrainingSettings {
            seconds: f64::INFINITY,
            use_time: true,
            ..TrainingSettings::default()
        };
        let o = s.stop_rules();
        assert_eq!(o.time_limit, Some(Duration::from_secs(86_400)));
    }
}
