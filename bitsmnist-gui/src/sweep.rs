//! The Runs tab's sweeps: a grid of the app's settings times a list of seeds, each point a
//! run recorded in the runs folder, run on a background thread by the core's
//! [`run_sweep`] `jobs` at a time, with the core's summary per setting at its end.
//!
//! A point is the run Start would begin afresh from the panels' settings with the point's
//! settings changed ([`apply_setting`], then [`crate::training::plan`]) and the point's seed.
//! The core finds the sweep's runs again by their tags, so a sweep started again under the
//! same name runs only what is left.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::run::CancelToken;
use bitsmnist_core::runs::RunStore;
use bitsmnist_core::runs::sweep::{self, Axis, Point, Seeds, SettingSummary, Sweep};
use bitsmnist_core::session::{PointOutcome, RunPlan, SweepRun, run_sweep};
use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::model::ModelSettings;
use crate::training::{self, Base, Method, TrainingSettings};
use crate::worker::Outbox;

/// The settings a sweep's axis may name: `bitsmnist train`'s options without their dashes,
/// each mapped onto the app's Training or Model settings.
pub const SETTINGS: [(&str, &str); 10] = [
    (
        "hidden",
        "hidden layer widths, layers joined by + (64, 32+16)",
    ),
    ("method", "population (or genetic), climb or gradient"),
    ("generations", "the generation (or epoch) limit"),
    ("time-limit", "the time limit, in seconds"),
    ("population", "candidates per generation (genetic)"),
    ("elitism", "best candidates kept (genetic)"),
    ("trials", "flip trials per generation (climb)"),
    ("ensemble", "networks merged (climb)"),
    ("epochs", "epochs (gradient)"),
    ("lr", "learning rate (gradient)"),
];

/// The persisted fields of the Sweep section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SweepSettings {
    /// The grid: one `NAME=V1,V2` axis a line.
    pub axes: String,
    /// The seeds: `1..3` or `1,2,7`.
    pub seeds: String,
    /// Points run at once.
    pub jobs: usize,
    /// The sweep's name; empty: one made from the grid, the seeds and the base settings.
    pub name: String,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            axes: "hidden=16,64".into(),
            seeds: "1..3".into(),
            jobs: 1,
            name: String::new(),
        }
    }
}

/// Puts the point's `value` of setting `name` into the app's settings, as the Training and
/// Model panels would hold it.
pub fn apply_setting(
    name: &str,
    value: &str,
    training: &mut TrainingSettings,
    model: &mut ModelSettings,
) -> Result<(), String> {
    fn num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
        value
            .parse()
            .map_err(|_| format!("{name}={value}: not a number"))
    }
    match name {
        "hidden" => {
            model.hidden = value.replace('+', ",");
            model
                .hidden_sizes()
                .map_err(|e| format!("hidden={value}: {e}"))?;
        }
        "method" => {
            training.method = match value {
                "population" | "genetic" => Method::Genetic,
                "climb" => Method::Climb,
                "gradient" => Method::Gradient,
                _ => {
                    return Err(format!("method={value}: use population, climb or gradient"));
                }
            }
        }
        "generations" => {
            training.generations = num(name, value)?;
            training.use_generations = true;
        }
        "time-limit" => {
            let secs: f64 = num(name, value)?;
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(format!("time-limit={value}: a positive number of seconds"));
            }
            training.seconds = secs;
            training.use_time = true;
        }
        "population" => training.population = num(name, value)?,
        "elitism" => training.elitism = num(name, value)?,
        "trials" => training.climb.trials = num(name, value)?,
        "ensemble" => training.climb.members = num(name, value)?,
        "epochs" => training.gradient.epochs = num(name, value)?,
        "lr" => training.gradient.learning_rate = num(name, value)?,
        _ => {
            let known: Vec<&str> = SETTINGS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown setting {name:?}: a sweep here can vary {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// What a sweep's points share: the panels' settings, the task and the sample.
#[derive(Clone, Debug)]
pub struct SweepBase {
    /// The Training panel's settings.
    pub training: TrainingSettings,
    /// The Model panel's settings.
    pub model: ModelSettings,
    /// The Data panel's task.
    pub task: Task,
    /// The Data panel's sample fraction.
    pub fraction: f64,
}

impl SweepBase {
    /// The plan of `point`: the fresh run Start makes from these settings with the point's
    /// settings changed (its seed is the sweep's to set).
    pub fn plan_of(&self, point: &Point) -> Result<RunPlan, String> {
        let (mut training, mut model) = (self.training.clone(), self.model.clone());
        for (name, value) in &point.settings {
            apply_setting(name, value, &mut training, &mut model)?;
        }
        training::plan(&training, &model, &self.task, self.fraction, Base::Fresh)
            .and_then(|p| p.check().map(|()| p).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", point.setting_key()))
    }

    /// The text the default name is made from: every setting the points share (the plots'
    /// view options aside, which change no run).
    fn key(&self) -> String {
        let mut t = self.training.clone();
        let view = TrainingSettings::default();
        (t.x_axis, t.recent) = (view.x_axis, view.recent);
        format!("{t:?} {:?} {} {}", self.model, self.task, self.fraction)
    }
}

/// The sweep the fields describe, with its name: refused with a message when an axis, the
/// seeds or a point's settings are wrong, before anything runs.
pub fn parse(settings: &SweepSettings, base: &SweepBase) -> Result<(Sweep, String), String> {
    let axes = settings
        .axes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.parse::<Axis>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if axes.is_empty() {
        return Err("the grid is empty: write one NAME=V1,V2 axis a line".into());
    }
    let seeds: Seeds = settings.seeds.trim().parse().map_err(|e| format!("{e}"))?;
    let sweep = Sweep::new(axes, seeds.0).map_err(|e| e.to_string())?;
    // Every point's plan, made now: a wrong name or value stops the sweep before its first run.
    for point in sweep.points() {
        base.plan_of(&point)?;
    }
    let name = match settings.name.trim() {
        "" => sweep.default_name(&base.key()),
        named => named.to_string(),
    };
    Ok((sweep, name))
}

/// What the sweep's thread tells the window.
#[derive(Default)]
struct Progress {
    /// Points done (their runs finished, now or before).
    done: usize,
    /// Points stopped (continued by the next start).
    stopped: usize,
    /// Points another process runs.
    elsewhere: usize,
    /// Points that failed, with why.
    failed: Vec<String>,
    /// The summary, read again after each point.
    summary: Vec<SettingSummary>,
    /// The sweep's end (or why it could not read the folder).
    ended: Option<Result<(), String>>,
}

fn lock(p: &Mutex<Progress>) -> MutexGuard<'_, Progress> {
    p.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A sweep of the app: the one going on or the last one (not persisted).
#[derive(Default)]
pub struct SweepState {
    /// The sweep's name and its number of points.
    pub current: Option<(String, usize)>,
    progress: Arc<Mutex<Progress>>,
    cancel: Option<CancelToken>,
}

/// What starting a sweep needs of the app.
pub struct SweepStart {
    /// The runs folder.
    pub store: RunStore,
    /// The whole loaded data set.
    pub data: Arc<Dataset>,
    /// What the points share.
    pub base: SweepBase,
    /// Wakes the window when a point ends.
    pub out: Outbox,
}

impl SweepState {
    /// Whether a sweep runs.
    pub fn is_running(&self) -> bool {
        self.cancel.is_some() && lock(&self.progress).ended.is_none()
    }

    /// Points done so far of the current sweep, and its points.
    pub fn done(&self) -> Option<(usize, usize)> {
        let (_, total) = self.current.as_ref()?;
        Some((lock(&self.progress).done, *total))
    }

    /// The summary of the current sweep as last read.
    pub fn summary(&self) -> Vec<SettingSummary> {
        lock(&self.progress).summary.clone()
    }

    /// Why points failed.
    pub fn failures(&self) -> Vec<String> {
        lock(&self.progress).failed.clone()
    }

    /// Starts the sweep the fields describe on a background thread; the message refuses it.
    pub fn start(&mut self, settings: &SweepSettings, with: SweepStart) -> Result<String, String> {
        if self.is_running() {
            return Err("a sweep runs already: stop it first".into());
        }
        let (grid, name) =
            parse(settings, &with.base).map_err(|e| format!("cannot start the sweep: {e}"))?;
        let total = grid.points().len();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let cancel = CancelToken::new();
        self.current = Some((name.clone(), total));
        self.progress = progress.clone();
        self.cancel = Some(cancel.clone());
        let jobs = settings.jobs.clamp(1, max_jobs());
        let SweepStart {
            store,
            data,
            base,
            out,
        } = with;
        let on_panic = {
            let progress = progress.clone();
            let out = out.clone();
            move |msg: String| {
                lock(&progress).ended = Some(Err(format!("the sweep crashed: {msg}")));
                out.wake();
            }
        };
        crate::worker::spawn_with(
            "bitsmnist-sweep",
            move || {
                let run = SweepRun {
                    store: &store,
                    name: &name,
                    sweep: &grid,
                    jobs,
                    cancel: &cancel,
                    program: "bitsmnist-gui",
                };
                let on_point = |point: &Point, outcome: &PointOutcome| {
                    let summary = sweep::summary(&store, &name, &grid).ok();
                    let mut p = lock(&progress);
                    match outcome {
                        PointOutcome::Done(_) => p.done += 1,
                        PointOutcome::Stopped(_) => p.stopped += 1,
                        PointOutcome::Elsewhere(_) => p.elsewhere += 1,
                        PointOutcome::Failed(e) => p.failed.push(format!("{}: {e}", point.key())),
                        _ => {}
                    }
                    if let Some(s) = summary {
                        p.summary = s;
                    }
                    drop(p);
                    out.wake();
                };
                let ran = run_sweep(&run, &data, |p| base.plan_of(p), on_point);
                let summary = sweep::summary(&store, &name, &grid);
                let mut p = lock(&progress);
                if let Ok(s) = summary {
                    p.summary = s;
                }
                p.ended = Some(ran.map(drop).map_err(|e| e.to_string()));
                drop(p);
                out.wake();
            },
            on_panic,
        );
        Ok(format!("sweep {} started: {total} points", self.name()))
    }

    /// The current sweep's name.
    pub fn name(&self) -> &str {
        self.current.as_ref().map_or("", |(n, _)| n.as_str())
    }

    /// Stops every point at its next stop point (each is recorded as stopped).
    pub fn stop(&mut self) {
        if let Some(c) = &self.cancel {
            c.cancel();
        }
    }

    /// Takes in the sweep's end: its message when it ended since the last call.
    pub fn poll(&mut self) -> Option<Result<String, String>> {
        let ended = lock(&self.progress).ended.clone()?;
        self.cancel.take()?;
        Some(ended.map(|()| self.line()))
    }

    /// "3 of 6 done", with what else became of the points.
    pub fn line(&self) -> String {
        let Some((name, total)) = &self.current else {
            return String::new();
        };
        let p = lock(&self.progress);
        let mut line = format!("sweep {name}: {} of {total} done", p.done);
        if p.stopped > 0 {
            line += &format!(", {} stopped (Start sweep continues them)", p.stopped);
        }
        if p.elsewhere > 0 {
            line += &format!(", {} run by another program", p.elsewhere);
        }
        if !p.failed.is_empty() {
            line += &format!(", {} failed", p.failed.len());
        }
        line
    }
}

/// Points a sweep may run at once: one a core.
pub fn max_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The Sweep section of the Runs tab: the grid, the seeds, the jobs, the name, Start and Stop,
/// the progress and the summary table.
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut SweepSettings,
    state: &SweepState,
    commands: &mut Vec<Command>,
) {
    let running = state.is_running();
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            let label = ui.label("Axes");
            ui.add(
                egui::TextEdit::multiline(&mut settings.axes)
                    .desired_rows(3)
                    .desired_width(260.0)
                    .hint_text("hidden=16,64\nmethod=population,climb"),
            )
            .labelled_by(label.id)
            .on_hover_text(format!(
                "One NAME=V1,V2 axis a line; every combination of the values is run with every seed. Settings: {}",
                SETTINGS
                    .iter()
                    .map(|(n, what)| format!("{n} ({what})"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        });
        egui::Grid::new("sweep_fields")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Seeds");
                ui.add(egui::TextEdit::singleline(&mut settings.seeds).desired_width(120.0))
                    .labelled_by(label.id)
                    .on_hover_text("FIRST..LAST (both included) or a list: 1,2,7");
                ui.end_row();
                let label = ui.label("Jobs");
                ui.add(egui::DragValue::new(&mut settings.jobs).range(1..=max_jobs()))
                    .labelled_by(label.id)
                    .on_hover_text("Points run at once, each on its own thread");
                ui.end_row();
                let label = ui.label("Sweep name");
                ui.add(
                    egui::TextEdit::singleline(&mut settings.name)
                        .desired_width(180.0)
                        .hint_text("from the grid and settings"),
                )
                .labelled_by(label.id)
                .on_hover_text("Its runs are tagged sweep:NAME; started again under the same name, a sweep runs only what is left");
                ui.end_row();
            });
        ui.vertical(|ui| {
            if running {
                if ui.button("Stop sweep").clicked() {
                    commands.push(Command::StopSweep);
                }
            } else if ui
                .button("Start sweep")
                .on_hover_text("Run every point not yet done, from the Training and Model panels' settings with the point's changed")
                .clicked()
            {
                commands.push(Command::StartSweep);
            }
            if running {
                ui.spinner();
            }
        });
    });
    if state.current.is_none() {
        return;
    }
    ui.label(state.line());
    for f in state.failures() {
        ui.colored_label(ui.visuals().error_fg_color, f);
    }
    summary_table(ui, &state.summary());
}

/// Each setting's runs finished of its points, and its figures as mean ± sd over the seeds.
fn summary_table(ui: &mut egui::Ui, rows: &[SettingSummary]) {
    if rows.is_empty() {
        return;
    }
    let or_dash = |m: Option<sweep::MeanSd>, f: &dyn Fn(sweep::MeanSd) -> String| {
        m.map_or_else(|| "–".to_string(), f)
    };
    egui::Grid::new("sweep_summary")
        .striped(true)
        .num_columns(5)
        .spacing([14.0, 4.0])
        .show(ui, |ui| {
            for title in [
                "Setting",
                "Finished",
                "Test accuracy",
                "Train accuracy",
                "Time",
            ] {
                ui.strong(title);
            }
            ui.end_row();
            for r in rows {
                ui.label(&r.setting);
                ui.label(format!("{}/{}", r.finished, r.points));
                ui.label(or_dash(r.test, &|m| m.to_string()));
                ui.label(or_dash(r.train, &|m| m.to_string()));
                ui.label(or_dash(r.seconds, &|m| {
                    format!("{:.1} s ± {:.1}", m.mean, m.sd)
                }));
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use bitsmnist_core::training::MethodKind;

    use super::*;

    fn base() -> SweepBase {
        SweepBase {
            training: TrainingSettings::default(),
            model: ModelSettings::default(),
            task: Task::zero_one(),
            fraction: 1.0,
        }
    }

    #[test]
    fn every_setting_listed_is_one_a_point_can_change() {
        let values = [
            ("hidden", "32+16"),
            ("method", "climb"),
            ("generations", "7"),
            ("time-limit", "2.5"),
            ("population", "20"),
            ("elitism", "4"),
            ("trials", "100"),
            ("ensemble", "2"),
            ("epochs", "3"),
            ("lr", "0.01"),
        ];
        assert_eq!(values.map(|(n, _)| n), SETTINGS.map(|(n, _)| n));
        let (mut t, mut m) = (TrainingSettings::default(), ModelSettings::default());
        for (name, value) in values {
            apply_setting(name, value, &mut t, &mut m).unwrap();
        }
        assert_eq!(m.hidden, "32,16");
        assert_eq!(
            (t.method, t.generations, t.use_generations),
            (Method::Climb, 7, true)
        );
        assert_eq!((t.seconds, t.use_time), (2.5, true));
        assert_eq!((t.population, t.elitism), (20, 4));
        assert_eq!((t.climb.trials, t.climb.members), (100, 2));
        assert_eq!((t.gradient.epochs, t.gradient.learning_rate), (3, 0.01));
    }

    #[test]
    fn a_point_is_the_run_start_makes_with_its_settings_changed() {
        let point = Point {
            settings: vec![("method".into(), "gradient".into())],
            seed: 9,
        };
        assert_eq!(base().plan_of(&point).unwrap().kind(), MethodKind::Gradient);
        let settings = SweepSettings {
            axes: "hidden=8,16\nmethod=population,turbo".into(),
            ..SweepSettings::default()
        };
        let e = parse(&settings, &base()).unwrap_err();
        assert!(e.contains("method=turbo"), "{e}");
        // The same grid and settings give the same default name; other settings another.
        let settings = SweepSettings::default();
        let (sweep, name) = parse(&settings, &base()).unwrap();
        assert_eq!(sweep.points().len(), 2 * 3);
        assert_eq!(parse(&settings, &base()).unwrap().1, name);
        let mut other = base();
        other.training.population += 1;
        assert_ne!(parse(&settings, &other).unwrap().1, name);
    }
}
