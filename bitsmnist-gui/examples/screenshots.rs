//! The docs' screenshots of the app, taken from its real window: every tab in the light and
//! the dark theme after a genetic run on zeros against ones, then a gradient run and a
//! bit-flip climb on the ten digits, each shot while it trains (live plots, progress bar);
//! the Runs tab first, with five short runs recorded by the library into a runs folder of its
//! own (every run of the script is recorded there too, never in the user's) and a sweep of
//! four started from the tab, its summary shown;
//! then, outside the docs, the Runs tab with one run ticked (its buttons), and the shipped
//! ten-digit example (File > Open example) on the Model, Evaluation and Draw tabs.
//!
//! Run it on a desktop or under Xvfb (`scripts/screenshots.sh` does, into target/screenshots;
//! `scripts/test-all.d/20-gui.sh` checks that it works):
//!
//! ```sh
//! cargo run --release -p bitsmnist-gui --example screenshots -- target/screenshots
//! ```
//!
//! The window is 1280x800 points; the PNGs are its pixels as the renderer drew them (egui's
//! own screenshot of the frame, so no window manager decoration and no pointer).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::layers::Architecture;
use bitsmnist_core::runs::RunStore;
use bitsmnist_core::session::{RunPlan, Session};
use bitsmnist_core::training::MethodKind;
use bitsmnist_gui::data::TaskKind;
use bitsmnist_gui::training::Method;
use bitsmnist_gui::training::climb::ClimbSettings;
use bitsmnist_gui::{BitsApp, Command, Settings, Tab, ThemeChoice, egui};

/// Longest wait for one condition (data, a run's progress) before giving up.
const PATIENCE: Duration = Duration::from_secs(900);

/// Frames drawn after a tab or theme change before the shot: the plots' bounds, the theme's
/// colours and the digit textures settle in a frame or two.
const SETTLE_FRAMES: u32 = 6;

/// One step of the script.
enum Step {
    /// Change the app (settings, commands) at once.
    Do(fn(&mut BitsApp)),
    /// Wait until this holds; the text names it for the timeout's message.
    Until(&'static str, fn(&BitsApp) -> bool),
    /// Show this tab in this theme.
    Show(Tab, ThemeChoice),
    /// Write the next frame to this file.
    Shot(&'static str),
}

/// The script: the steps in order.
fn script() -> Vec<Step> {
    use Step::*;
    let mut steps = vec![
        Until("the data and a model", |a| {
            a.data_ready() && a.model.chain.is_some()
        }),
        // The five runs recorded before the window opened, the first of each hidden width
        // ticked: their curves overlaid and their settings compared.
        Do(|a| {
            a.runs.refresh(&a.settings.runs);
            let ids: Vec<_> = a.runs.listing.iter().map(|r| r.id.clone()).collect();
            a.runs.selected.extend([ids[0].clone(), ids[1].clone()]);
        }),
        // A sweep of the two widths over two seeds, started from the Runs tab: its runs join
        // the table and its summary shows above it.
        Do(|a| {
            let s = &mut a.settings.runs.sweep;
            s.axes = "hidden=16,32\ngenerations=200".into();
            s.seeds = "1..2".into();
            s.jobs = 2;
            s.name = "widths".into();
            a.apply(Command::StartSweep);
        }),
        Until("the sweep's end", |a| {
            a.runs.sweep.current.is_some() && !a.runs.sweep.is_running()
        }),
        Show(Tab::Runs, ThemeChoice::Light),
        Shot("screenshot-runs-light.png"),
        Show(Tab::Runs, ThemeChoice::Dark),
        Shot("screenshot-runs-dark.png"),
        // One run ticked: its buttons (not in the docs).
        Do(|a| {
            let last = a.runs.selected.iter().next_back().cloned();
            a.runs.selected.retain(|id| Some(id) != last.as_ref());
        }),
        Show(Tab::Runs, ThemeChoice::Light),
        Shot("runs-one-ticked.png"),
        // Zeros against ones with the app's defaults (the recipe's generations), shot at
        // three fifths of the run: counted in generations, so the same picture on any machine.
        Do(|a| a.apply(Command::StartTraining)),
        Until("three fifths of the run", |a| {
            a.training
                .progress(&a.settings.training)
                .is_some_and(|p| p.fraction >= 0.6)
        }),
        Show(Tab::Training, ThemeChoice::Light),
        Shot("screenshot-training-light.png"),
        Show(Tab::Training, ThemeChoice::Dark),
        Shot("screenshot-training-dark.png"),
        Until("the run's end and its evaluation", |a| {
            !a.training.is_running() && a.evaluation.result.is_some()
        }),
        Do(|a| a.apply(Command::RandomTestDigit)),
    ];
    for theme in [ThemeChoice::Light, ThemeChoice::Dark] {
        for (tab, light, dark) in [
            (
                Tab::Data,
                "screenshot-data-light.png",
                "screenshot-data-dark.png",
            ),
            (
                Tab::Model,
                "screenshot-model-light.png",
                "screenshot-model-dark.png",
            ),
            (
                Tab::Evaluation,
                "screenshot-evaluation-light.png",
                "screenshot-evaluation-dark.png",
            ),
            (
                Tab::Draw,
                "screenshot-draw-light.png",
                "screenshot-draw-dark.png",
            ),
        ] {
            steps.push(Show(tab, theme));
            steps.push(Shot(if theme == ThemeChoice::Light {
                light
            } else {
                dark
            }));
        }
    }
    steps.extend([
        // Gradient training of 784 -> 512 -> 10 on the ten digits, shot at epoch 8 of 12.
        Do(|a| {
            a.settings.data.task = TaskKind::Digits;
            a.apply(Command::ApplyTask);
            a.settings.model.hidden = "512".into();
            a.apply(Command::NewModel);
            let t = &mut a.settings.training;
            t.method = Method::Gradient;
            t.gradient.epochs = 12;
            a.apply(Command::StartTraining);
        }),
        Until("8 epochs", |a| a.training.history.len() >= 8),
        Show(Tab::Training, ThemeChoice::Light),
        Shot("screenshot-gradient.png"),
        Do(|a| a.apply(Command::StopTraining)),
        Until("the gradient run's end", |a| !a.training.is_running()),
        // Bit-flip climbing of a fresh 784 -> 800 -> 10 (the command line's ten-digit
        // network) for 30 s, its test accuracy every generation, shot after 24 s.
        Do(|a| {
            a.settings.model.hidden = "800".into();
            a.apply(Command::NewModel);
            let t = &mut a.settings.training;
            t.method = Method::Climb;
            t.climb = ClimbSettings::default();
            t.use_generations = false;
            t.use_time = true;
            t.seconds = 30.0;
            t.validate_every = 1;
            a.apply(Command::StartTraining);
        }),
        Until("24 s of climbing", |a| {
            a.training.history.len() >= 2
                && a.training
                    .clock
                    .is_some_and(|c| c.elapsed() >= Duration::from_secs(24))
        }),
        Show(Tab::Training, ThemeChoice::Light),
        Shot("screenshot-climb.png"),
        Until("the climb's end", |a| !a.training.is_running()),
        // The shipped ten-digit model of File > Open example (convolutions, bit-flip
        // climbing), for a look at a ten-class model on the other tabs; not in the docs.
        Do(|a| {
            a.apply(Command::OpenExample("digits-conv-climb.bin"));
            a.apply(Command::Evaluate);
            a.apply(Command::RandomTestDigit);
        }),
        Show(Tab::Model, ThemeChoice::Light),
        Shot("example-model.png"),
        Show(Tab::Evaluation, ThemeChoice::Light),
        Shot("example-evaluation.png"),
        Show(Tab::Draw, ThemeChoice::Dark),
        Shot("example-draw.png"),
    ]);
    steps
}

/// The app, driven by the script.
struct Shooter {
    app: BitsApp,
    out: PathBuf,
    steps: std::vec::IntoIter<Step>,
    current: Option<Step>,
    since: Instant,
    settle: u32,
    /// What the screenshot callback reports: the file written, or why not.
    shot: Arc<Mutex<Option<Result<PathBuf, String>>>>,
    shooting: bool,
    /// Why the script failed, for the exit status (until it ends: the window closed early).
    failure: Arc<Mutex<Option<String>>>,
}

impl Shooter {
    fn next(&mut self) {
        self.current = self.steps.next();
        self.since = Instant::now();
    }

    /// Carries the script on; false when it is done (or failed).
    fn advance(&mut self, ctx: &egui::Context) -> bool {
        loop {
            let Some(step) = &self.current else {
                *self.failure.lock().unwrap() = None;
                return false;
            };
            match step {
                Step::Do(f) => {
                    f(&mut self.app);
                    if let Some(e) = self.app.errors.first() {
                        return self.fail(format!("the app reported an error: {e}"));
                    }
                    self.next();
                }
                Step::Until(what, done) => {
                    if done(&self.app) {
                        self.next();
                    } else if self.since.elapsed() > PATIENCE {
                        return self.fail(format!("timed out waiting for {what}"));
                    } else {
                        return true;
                    }
                }
                Step::Show(tab, theme) => {
                    self.app.settings.tab = *tab;
                    self.app.settings.theme = *theme;
                    self.settle = SETTLE_FRAMES;
                    self.next();
                    return true;
                }
                Step::Shot(name) => {
                    if self.settle > 0 {
                        self.settle -= 1;
                        return true;
                    }
                    if !self.shooting {
                        self.shooting = true;
                        let path = self.out.join(name);
                        let report = self.shot.clone();
                        ctx.request_screenshot(move |image| {
                            let outcome = bitsmnist_gui::files::write_png(&image, &path)
                                .map(|()| path.clone())
                                .map_err(|e| format!("{}: {e}", path.display()));
                            *report.lock().unwrap() = Some(outcome);
                        });
                        return true;
                    }
                    let written = self.shot.lock().unwrap().take();
                    match written {
                        None => return true,
                        Some(Ok(path)) => println!("wrote {}", path.display()),
                        Some(Err(e)) => return self.fail(e),
                    }
                    self.shooting = false;
                    self.next();
                }
            }
        }
    }

    fn fail(&mut self, why: String) -> bool {
        *self.failure.lock().unwrap() = Some(why);
        self.current = None;
        false
    }
}

impl eframe::App for Shooter {
    /// No pointer: where the X server's pointer happens to be, plots would draw their
    /// crosshair and widgets their hover look.
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        raw_input.events.retain(|e| {
            !matches!(
                e,
                egui::Event::PointerMoved(_)
                    | egui::Event::MouseMoved(_)
                    | egui::Event::PointerButton { .. }
                    | egui::Event::MouseWheel { .. }
            )
        });
        raw_input.events.push(egui::Event::PointerGone);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.app.ui_root(ui);
        if self.advance(&ctx) {
            ctx.request_repaint();
        } else {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Records five runs of zeros against ones into `dir` as a notebook or the command line
/// would: the genetic method for 200 generations, seeds 1 to 5, hidden widths 16 and 32 in
/// turn, the test accuracy every 10 generations.
fn record_runs(dir: &Path) -> Result<(), String> {
    let store = RunStore::open(dir).map_err(|e| e.to_string())?;
    let data = Dataset::embedded();
    for seed in 1..=5u64 {
        let hidden = if seed % 2 == 1 { 16 } else { 32 };
        let plan = RunPlan::for_method(Task::zero_one(), MethodKind::Population)
            .architecture(Architecture::dense(vec![hidden]))
            .seed(seed)
            .generations(200)
            .validate_every(10);
        let mut session = Session::start(plan, &data).map_err(|e| e.to_string())?;
        session.annotate(|m| m.with_program("bitsmnist-gui screenshots"));
        session
            .record(&store, &format!("hidden {hidden}, seed {seed}"), &[])
            .map_err(|e| e.to_string())?;
        session
            .run(|_| std::ops::ControlFlow::Continue(()))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: screenshots OUT_DIR");
        return std::process::ExitCode::from(2);
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("screenshots: {}: {e}", out.display());
        return std::process::ExitCode::FAILURE;
    }
    // A runs folder of the shots' own, made afresh.
    let runs = out.join("runs");
    let _ = std::fs::remove_dir_all(&runs);
    if let Err(e) = record_runs(&runs) {
        eprintln!("screenshots: recording the runs: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let failure = Arc::new(Mutex::new(Some(
        "the window closed before the last shot".to_string(),
    )));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("BitsMNIST")
            .with_inner_size([1280.0, 800.0])
            .with_resizable(false),
        // The shots start from the app's defaults and leave the user's settings alone.
        persist_window: false,
        persistence_path: Some(Path::new(&out).join(".storage.ron")),
        ..Default::default()
    };
    let failed = failure.clone();
    let result = eframe::run_native(
        "bitsmnist-gui-screenshots",
        options,
        Box::new(move |cc| {
            let settings = Settings {
                runs: bitsmnist_gui::runs::RunsSettings {
                    folder: runs.display().to_string(),
                    ..Default::default()
                },
                ..Settings::default()
            };
            let app = BitsApp::with_settings(settings, Box::new(|_| None));
            cc.egui_ctx.request_repaint();
            let mut steps = script().into_iter();
            let current = steps.next();
            Ok(Box::new(Shooter {
                app,
                out,
                steps,
                current,
                since: Instant::now(),
                settle: 0,
                shot: Default::default(),
                shooting: false,
                failure: failed,
            }))
        }),
    );
    if let Err(e) = result {
        eprintln!("screenshots: the window: {e}");
        return std::process::ExitCode::FAILURE;
    }
    match failure.lock().unwrap().take() {
        Some(why) => {
            eprintln!("screenshots: {why}");
            std::process::ExitCode::FAILURE
        }
        None => std::process::ExitCode::SUCCESS,
    }
}
