//! The Runs panel: the runs folder's runs (the core's [`RunStore`]) in a sortable table,
//! re-read every [`REREAD_EVERY`] so that runs of other processes (a terminal's
//! `bitsmnist train`) appear and progress; the curves of the runs ticked, overlaid; the
//! settings that differ between two runs; sweeps ([`crate::sweep`]); and Open, Continue, Export, Relabel and Delete on
//! one run, which the app carries out ([`Command`]s).
//!
//! The panel keeps nothing of the runs but what it last read of the folder and, so that the
//! plot does not read checkpoints every frame, each plotted run's history keyed by the time its
//! summary was written.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitsmnist_core::export::Format;
use bitsmnist_core::run::History;
use bitsmnist_core::runs::{RunId, RunListing, RunStatus, RunStore, RunSummary, settings_diff};
use eframe::egui;
use egui_plot::{Line, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::sweep::{SweepSettings, SweepState};

/// How often the panel re-reads the folder's summaries while it is shown.
pub const REREAD_EVERY: Duration = Duration::from_secs(2);

/// The environment variable naming the runs folder, as the command line reads it.
pub const RUNS_DIR_VAR: &str = RunStore::DIR_VAR;

/// The persisted options of recording and of the Runs panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunsSettings {
    /// Whether every run the app starts is recorded in the runs folder.
    pub record: bool,
    /// The runs folder; empty: `$BITSMNIST_RUNS_DIR`, else the user's data folder (where the
    /// command line records its runs).
    pub folder: String,
    /// What the plot of the runs ticked shows.
    pub curve: Curve,
    /// What the plot's x axis counts.
    pub x_axis: RunsXAxis,
    /// The Sweep section's fields.
    pub sweep: SweepSettings,
}

impl Default for RunsSettings {
    fn default() -> Self {
        Self {
            record: true,
            folder: String::new(),
            curve: Curve::default(),
            x_axis: RunsXAxis::default(),
            sweep: SweepSettings::default(),
        }
    }
}

impl RunsSettings {
    /// The runs folder in use: the one named, else `$BITSMNIST_RUNS_DIR`, else the user's
    /// data folder's ([`RunStore::default_dir`]); `None` with none of them.
    pub fn dir(&self) -> Option<PathBuf> {
        let named = self.folder.trim();
        RunStore::resolve_dir((!named.is_empty()).then(|| PathBuf::from(named)))
    }

    /// The runs folder, opened (made if missing).
    pub fn store(&self) -> Result<RunStore, String> {
        let dir = self.dir().ok_or(
            "no runs folder: there is no home folder to keep one in; name one on the Runs tab",
        )?;
        RunStore::open(&dir).map_err(|e| e.to_string())
    }
}

/// The y axis of the plot of the runs ticked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Curve {
    /// The best fitness (the objective) at every step.
    #[default]
    Best,
    /// The test accuracy, at the steps that measured it.
    TestAccuracy,
}

/// The x axis of the plot of the runs ticked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunsXAxis {
    /// The step (generation or epoch).
    #[default]
    Step,
    /// The training time at each step (its record's `elapsed_secs`): runs of different
    /// speeds compared at equal cost.
    Time,
}

/// A column of the table, by which it can be sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// The user's label (the id when there is none).
    Label,
    /// population, climb or gradient.
    Method,
    /// The model's shape.
    Architecture,
    /// The seed.
    Seed,
    /// The step reached.
    Steps,
    /// Training time.
    Time,
    /// Training accuracy of a finished run.
    Train,
    /// Test accuracy (a finished run's, else the last measured).
    Test,
    /// The model's size.
    Size,
    /// Running, finished, ...
    Status,
}

impl Column {
    /// Every column, in order.
    pub const ALL: [Column; 10] = [
        Column::Label,
        Column::Method,
        Column::Architecture,
        Column::Seed,
        Column::Steps,
        Column::Time,
        Column::Train,
        Column::Test,
        Column::Size,
        Column::Status,
    ];

    /// The header (also its label for tests).
    pub fn title(self) -> &'static str {
        match self {
            Column::Label => "Label",
            Column::Method => "Method",
            Column::Architecture => "Architecture",
            Column::Seed => "Seed",
            Column::Steps => "Steps",
            Column::Time => "Time",
            Column::Train => "Train %",
            Column::Test => "Test %",
            Column::Size => "Size",
            Column::Status => "Status",
        }
    }
}

/// What the panel last read of the folder, and its selection (not persisted).
#[derive(Default)]
pub struct RunsState {
    /// The folder's runs, as last read, in the table's order.
    pub listing: Vec<RunListing>,
    /// When and which folder was last read.
    read: Option<(Instant, Option<PathBuf>)>,
    /// The folder last read, when it exists.
    store: Option<RunStore>,
    /// Why the folder could not be read.
    pub error: Option<String>,
    /// The runs ticked.
    pub selected: BTreeSet<RunId>,
    /// The column the table is sorted by, and whether downwards; `None`: oldest first.
    pub sort: Option<(Column, bool)>,
    /// Histories of the runs plotted, with the summary time they were read at.
    histories: HashMap<RunId, (u64, Result<History, String>)>,
    /// The names of the series the plot drew last (its legend).
    pub plotted: Vec<String>,
    /// The points of those series, [x, y], in the same order.
    pub plotted_points: Vec<Vec<[f64; 2]>>,
    /// The Sweep section's sweep.
    pub sweep: SweepState,
    /// The run whose deletion waits for confirmation.
    confirm_delete: Option<RunId>,
    /// The Relabel field's text, and the run it was filled from.
    relabel: (String, Option<RunId>),
}

impl RunsState {
    /// Makes the next frame re-read the folder (after a change the app made).
    pub fn reread(&mut self) {
        self.read = None;
    }

    /// Re-reads the folder's summaries when [`REREAD_EVERY`] has passed or the folder changed.
    pub fn refresh(&mut self, settings: &RunsSettings) {
        let dir = settings.dir();
        let fresh = self
            .read
            .as_ref()
            .is_some_and(|(at, d)| at.elapsed() < REREAD_EVERY && *d == dir);
        if fresh {
            return;
        }
        self.read = Some((Instant::now(), dir.clone()));
        // Reading makes no folder (a name half typed in the field would leave one behind);
        // the first run recorded makes it.
        let read = match &dir {
            None => Err(
                "no runs folder: there is no home folder to keep one in; name one here".to_string(),
            ),
            Some(d) if !d.exists() => Ok(None),
            Some(d) => RunStore::open(d)
                .and_then(|s| s.list().map(|l| Some((s, l))))
                .map_err(|e| e.to_string()),
        };
        match read {
            Ok(Some((store, listing))) => {
                self.error = None;
                self.store = Some(store);
                self.listing = listing;
                self.sort_listing();
            }
            Ok(None) => {
                self.error = None;
                self.store = None;
                self.listing.clear();
            }
            Err(e) => {
                self.error = Some(e);
                self.store = None;
                self.listing.clear();
            }
        }
        let ids: BTreeSet<&RunId> = self.listing.iter().map(|r| &r.id).collect();
        self.selected.retain(|id| ids.contains(id));
        self.histories.retain(|id, _| ids.contains(id));
    }

    fn sort_listing(&mut self) {
        match self.sort {
            None => self.listing.sort_by(|a, b| a.id.cmp(&b.id)),
            Some((column, down)) => self.listing.sort_by(|a, b| {
                let o = compare(column, a, b).then_with(|| a.id.cmp(&b.id));
                if down { o.reverse() } else { o }
            }),
        }
    }

    /// The summary of run `id`, as last read.
    pub fn summary(&self, id: &RunId) -> Option<&RunSummary> {
        self.listing
            .iter()
            .find(|r| &r.id == id)
            .and_then(|r| r.summary.as_ref())
    }

    /// The history of run `id` from its checkpoint, read again only when its summary was
    /// rewritten.
    fn history(&mut self, store: &RunStore, id: &RunId, updated: u64) -> &Result<History, String> {
        let stale = self.histories.get(id).is_none_or(|(at, _)| *at != updated);
        if stale {
            let history = store
                .load(id)
                .map(|f| {
                    f.history
                        .or_else(|| f.state.map(|s| s.history().clone()))
                        .unwrap_or_default()
                })
                .map_err(|e| e.to_string());
            self.histories.insert(id.clone(), (updated, history));
        }
        &self.histories[id].1
    }
}

/// The name a run goes by: its label, else its id.
pub fn name_of(listing: &RunListing) -> String {
    listing
        .summary
        .as_ref()
        .map(|s| s.label.trim())
        .filter(|l| !l.is_empty())
        .map_or_else(|| listing.id.to_string(), str::to_string)
}

/// Orders two runs by `column` (damaged runs last).
fn compare(column: Column, a: &RunListing, b: &RunListing) -> Ordering {
    let (Some(x), Some(y)) = (&a.summary, &b.summary) else {
        return a.summary.is_none().cmp(&b.summary.is_none());
    };
    let num = |f: fn(&RunSummary) -> Option<f64>| {
        f(x).unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&f(y).unwrap_or(f64::NEG_INFINITY))
    };
    match column {
        Column::Label => name_of(a).to_lowercase().cmp(&name_of(b).to_lowercase()),
        Column::Method => x.method.cmp(&y.method),
        Column::Architecture => x.architecture.cmp(&y.architecture),
        Column::Seed => x.seed.cmp(&y.seed),
        Column::Steps => x.step.cmp(&y.step),
        Column::Time => x.seconds.total_cmp(&y.seconds),
        Column::Train => num(|s| s.result.as_ref().map(|r| r.train_accuracy)),
        Column::Test => num(test_accuracy),
        Column::Size => num(|s| s.result.as_ref().map(|r| r.model_bytes as f64)),
        Column::Status => a.status.to_string().cmp(&b.status.to_string()),
    }
}

/// A finished run's test accuracy, else the last one measured.
fn test_accuracy(s: &RunSummary) -> Option<f64> {
    s.result
        .as_ref()
        .map(|r| r.test_accuracy)
        .or(s.last_test_accuracy)
}

/// A cell's text.
fn cell(column: Column, run: &RunListing) -> String {
    let Some(s) = &run.summary else {
        return match column {
            Column::Status => run.status.to_string(),
            _ => String::new(),
        };
    };
    let percent = |a: Option<f64>| a.map_or("–".into(), |a| format!("{:.2}", 100.0 * a));
    match column {
        Column::Label => name_of(run),
        Column::Method => s.method.clone(),
        Column::Architecture => s.architecture.clone(),
        Column::Seed => s.seed.map_or("–".into(), |s| s.to_string()),
        Column::Steps => match s.planned_steps {
            Some(p) => format!("{}/{p}", s.step),
            None => s.step.to_string(),
        },
        Column::Time => duration(s.seconds),
        Column::Train => percent(s.result.as_ref().map(|r| r.train_accuracy)),
        Column::Test => percent(test_accuracy(s)),
        Column::Size => s
            .result
            .as_ref()
            .map_or("–".into(), |r| bytes(r.model_bytes)),
        Column::Status => run.status.to_string(),
    }
}

fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{} min {:02} s", (secs / 60.0) as u64, secs as u64 % 60)
    } else {
        format!(
            "{} h {:02} min",
            (secs / 3600.0) as u64,
            (secs as u64 / 60) % 60
        )
    }
}

fn bytes(n: usize) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else if n < 10 * 1024 * 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{} MiB", n / (1024 * 1024))
    }
}

/// Whether a run of this status can be continued (its checkpoint has more to do).
fn continuable(status: &RunStatus) -> bool {
    matches!(status, RunStatus::Interrupted | RunStatus::Stopped)
}

/// The colours of the runs' curves: matplotlib's "tab10", as the Training panel's plots and
/// the notebooks use, legible on light and dark panels.
const COLORS: [egui::Color32; 10] = [
    egui::Color32::from_rgb(31, 119, 180),
    egui::Color32::from_rgb(255, 127, 14),
    egui::Color32::from_rgb(44, 160, 44),
    egui::Color32::from_rgb(214, 39, 40),
    egui::Color32::from_rgb(148, 103, 189),
    egui::Color32::from_rgb(140, 86, 75),
    egui::Color32::from_rgb(227, 119, 194),
    egui::Color32::from_rgb(127, 127, 127),
    egui::Color32::from_rgb(188, 189, 34),
    egui::Color32::from_rgb(23, 190, 207),
];

/// Draws the Runs panel. `running`: a run of the app goes on (Open and Continue wait).
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut RunsSettings,
    state: &mut RunsState,
    running: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    state.refresh(settings);
    // Re-read even when nothing else repaints: runs of other processes progress.
    ui.ctx().request_repaint_after(REREAD_EVERY);

    ui.horizontal(|ui| {
        ui.checkbox(&mut settings.record, "Record runs").on_hover_text(
            "Record every run the app starts in the runs folder (its checkpoint and summary, as it goes), as `bitsmnist train` does",
        );
        ui.add_space(12.0);
        let label = ui.label("Runs folder");
        let hint = settings
            .dir()
            .map_or_else(String::new, |d| d.display().to_string());
        ui.add(
            egui::TextEdit::singleline(&mut settings.folder)
                .hint_text(hint)
                .desired_width(420.0),
        )
        .labelled_by(label.id)
        .on_hover_text(format!(
            "Empty: ${RUNS_DIR_VAR}, else the user's data folder, where the command line records its runs"
        ));
        ui.weak(format!("{} runs", state.listing.len()));
    });
    if let Some(e) = &state.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    egui::CollapsingHeader::new("Sweep")
        .id_salt("runs_sweep")
        .default_open(state.sweep.current.is_some())
        .show(ui, |ui| {
            crate::sweep::ui(ui, &mut settings.sweep, &state.sweep, &mut commands);
        });
    ui.separator();

    let table_height = (ui.available_height() * 0.38).max(120.0);
    egui::ScrollArea::vertical()
        .id_salt("runs_table")
        .max_height(table_height)
        .auto_shrink([false, true])
        .show(ui, |ui| table(ui, state));
    ui.separator();

    let selected: Vec<RunId> = state.selected.iter().cloned().collect();
    actions(ui, state, &selected, running, &mut commands);

    let store = state.store.clone();
    let two = match selected.as_slice() {
        [a, b] => state
            .summary(a)
            .zip(state.summary(b))
            .map(|(x, y)| settings_diff(&x.all_settings(), &y.all_settings())),
        _ => None,
    };
    ui.horizontal_top(|ui| {
        let diff_width = if two.is_some() { 380.0 } else { 0.0 };
        let plot_width = (ui.available_width() - diff_width - 12.0).max(200.0);
        ui.vertical(|ui| {
            ui.set_width(plot_width);
            plot(ui, settings, state, store.as_ref(), &selected);
        });
        if let Some(diff) = &two {
            ui.vertical(|ui| diff_table(ui, state, &selected, diff));
        }
    });
    commands
}

/// The table: a header of sort buttons, a row per run with a tick box named after it.
fn table(ui: &mut egui::Ui, state: &mut RunsState) {
    let mut resort = false;
    egui::Grid::new("runs_grid")
        .striped(true)
        .num_columns(Column::ALL.len())
        .spacing([14.0, 4.0])
        .show(ui, |ui| {
            for column in Column::ALL {
                let sorted = state
                    .sort
                    .filter(|(c, _)| *c == column)
                    .map(|(_, down)| down);
                let header = egui::RichText::new(column.title()).strong();
                ui.horizontal(|ui| {
                    if ui
                        .add(egui::Button::new(header).frame(false))
                        .on_hover_text("Sort by this column; again to reverse")
                        .clicked()
                    {
                        state.sort = match sorted {
                            Some(down) => Some((column, !down)),
                            None => Some((column, false)),
                        };
                        resort = true;
                    }
                    if let Some(down) = sorted {
                        sort_arrow(ui, down);
                    }
                });
            }
            ui.end_row();
            for run in &state.listing {
                let mut ticked = state.selected.contains(&run.id);
                if ui
                    .checkbox(&mut ticked, cell(Column::Label, run))
                    .on_hover_text(format!("Run {}", run.id))
                    .changed()
                {
                    if ticked {
                        state.selected.insert(run.id.clone());
                    } else {
                        state.selected.remove(&run.id);
                    }
                }
                for column in &Column::ALL[1..] {
                    ui.label(cell(*column, run));
                }
                ui.end_row();
            }
        });
    if state.listing.is_empty() {
        ui.weak("No runs recorded yet: Start on the Training tab, or `bitsmnist train` in a terminal, records one here.");
    }
    if resort {
        state.sort_listing();
    }
}

/// A small triangle beside the sorted column's header, pointing up for ascending and down for
/// descending (painted: the app's font has no arrow glyphs).
fn sort_arrow(ui: &mut egui::Ui, down: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    let c = rect.center();
    let (tip, base) = if down { (4.0, -4.0) } else { (-4.0, 4.0) };
    let points = vec![
        c + egui::vec2(-4.5, base),
        c + egui::vec2(4.5, base),
        c + egui::vec2(0.0, tip),
    ];
    let color = ui.visuals().strong_text_color();
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        color,
        egui::Stroke::NONE,
    ));
}

/// Open, Continue, Export, Relabel and Delete, on the one run ticked.
fn actions(
    ui: &mut egui::Ui,
    state: &mut RunsState,
    selected: &[RunId],
    running: bool,
    commands: &mut Vec<Command>,
) {
    let one = match selected {
        [id] => state.listing.iter().find(|r| &r.id == id),
        _ => None,
    };
    let Some(run) = one else {
        ui.weak(match selected.len() {
            0 => "Tick runs to plot them; tick one to open, continue, export, relabel or delete it, two to compare their settings.",
            _ => "Tick one run to open, continue, export, relabel or delete it.",
        });
        return;
    };
    let id = run.id.clone();
    let status = run.status.clone();
    let has_checkpoint = run.summary.is_some();
    // Its writer holds the run's lock: the store refuses to change it until the run ends.
    let written = matches!(status, RunStatus::Running | RunStatus::Paused);
    let written_tip = "Its program is writing it: stop the run first";
    if state.relabel.1.as_ref() != Some(&id) {
        state.relabel = (
            run.summary
                .as_ref()
                .map(|s| s.label.clone())
                .unwrap_or_default(),
            Some(id.clone()),
        );
    }
    ui.horizontal(|ui| {
        ui.label(format!("Run {id}:"));
        if ui
            .add_enabled(has_checkpoint && !running, egui::Button::new("Open"))
            .on_hover_text("Load the run's model, state and history into the app, as File > Open does for a file")
            .clicked()
        {
            commands.push(Command::OpenRun(id.clone()));
        }
        if ui
            .add_enabled(
                continuable(&status) && !running,
                egui::Button::new("Continue"),
            )
            .on_hover_text("Continue the interrupted or stopped run to the step it planned, recording into the same run")
            .clicked()
        {
            commands.push(Command::ContinueRun(id.clone()));
        }
        ui.add_enabled_ui(has_checkpoint, |ui| {
            ui.menu_button("Export", |ui| {
                for &format in Format::ALL {
                    let label = crate::files::export_label(format);
                    if ui
                        .button(label)
                        .on_hover_text(format!("{} of the run's model, into a folder", format.description()))
                        .clicked()
                    {
                        commands.push(Command::ExportRun(id.clone(), format));
                    }
                }
            });
        });
        ui.separator();
        let label = ui.label("Label");
        ui.add(egui::TextEdit::singleline(&mut state.relabel.0).desired_width(180.0))
            .labelled_by(label.id);
        if ui
            .add_enabled(!written, egui::Button::new("Relabel"))
            .on_hover_text("Give the run this label")
            .on_disabled_hover_text(written_tip)
            .clicked()
        {
            commands.push(Command::RelabelRun(id.clone(), state.relabel.0.trim().to_string()));
        }
        ui.separator();
        if state.confirm_delete.as_ref() == Some(&id) {
            ui.colored_label(ui.visuals().warn_fg_color, "Delete its files?");
            if ui.button("Yes, delete").clicked() {
                commands.push(Command::DeleteRun(id.clone()));
                state.confirm_delete = None;
            }
            if ui.button("Cancel").clicked() {
                state.confirm_delete = None;
            }
        } else if ui
            .add_enabled(!written, egui::Button::new("Delete"))
            .on_disabled_hover_text(written_tip)
            .on_hover_text("Delete the run's folder (its checkpoint and summary), after a confirmation")
            .clicked()
        {
            state.confirm_delete = Some(id.clone());
        }
    });
}

/// The curves of the runs ticked, overlaid, with their legend above the plot.
fn plot(
    ui: &mut egui::Ui,
    settings: &mut RunsSettings,
    state: &mut RunsState,
    store: Option<&RunStore>,
    selected: &[RunId],
) {
    let mut series: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    let mut problems = Vec::new();
    for id in selected {
        let (Some(store), Some(run)) = (store, state.listing.iter().find(|r| &r.id == id)) else {
            continue;
        };
        let Some(updated) = run.summary.as_ref().map(|s| s.updated_unix) else {
            continue;
        };
        let name = name_of(run);
        let curve = settings.curve;
        let x_axis = settings.x_axis;
        match state.history(store, id, updated) {
            Ok(h) => series.push((
                name,
                h.records
                    .iter()
                    .filter_map(|r| {
                        let y = match curve {
                            Curve::Best => Some(r.best),
                            Curve::TestAccuracy => r.validation_accuracy.map(|a| 100.0 * a),
                        }?;
                        let x = match x_axis {
                            RunsXAxis::Step => r.step as f64,
                            RunsXAxis::Time => r.elapsed_secs,
                        };
                        Some([x, y])
                    })
                    .collect(),
            )),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Curves of the runs ticked:");
        ui.selectable_value(&mut settings.curve, Curve::Best, "Best fitness");
        ui.selectable_value(&mut settings.curve, Curve::TestAccuracy, "Test accuracy");
        ui.label("against");
        ui.selectable_value(&mut settings.x_axis, RunsXAxis::Step, "Step");
        ui.selectable_value(&mut settings.x_axis, RunsXAxis::Time, "Training time");
        ui.add_space(16.0);
        // The legend sits above the plot, as on the Training tab: it never covers a curve.
        for (i, (name, _)) in series.iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 10.0), egui::Sense::hover());
            ui.painter().hline(
                rect.x_range(),
                rect.center().y,
                egui::Stroke::new(2.5, COLORS[i % COLORS.len()]),
            );
            ui.label(name);
            ui.add_space(8.0);
        }
    });
    for p in &problems {
        ui.colored_label(ui.visuals().error_fg_color, p);
    }
    state.plotted = series.iter().map(|(n, _)| n.clone()).collect();
    state.plotted_points = series.iter().map(|(_, p)| p.clone()).collect();
    let x_label = match settings.x_axis {
        RunsXAxis::Step => "step (generation or epoch)",
        RunsXAxis::Time => "training time (s)",
    };
    let y_label = match settings.curve {
        Curve::Best => "best fitness",
        Curve::TestAccuracy => "test accuracy (%)",
    };
    Plot::new("runs_plot")
        .height(ui.available_height().max(160.0))
        .x_axis_label(x_label)
        .y_axis_label(y_label)
        .show(ui, |p| {
            for (i, (name, points)) in series.into_iter().enumerate() {
                p.line(Line::new(name, PlotPoints::from(points)).color(COLORS[i % COLORS.len()]));
            }
        });
}

/// The settings that differ between the two runs ticked.
fn diff_table(
    ui: &mut egui::Ui,
    state: &RunsState,
    selected: &[RunId],
    diff: &[(String, Option<String>, Option<String>)],
) {
    let name = |id: &RunId| {
        state
            .listing
            .iter()
            .find(|r| &r.id == id)
            .map_or_else(|| id.to_string(), name_of)
    };
    ui.strong("Settings that differ");
    if diff.is_empty() {
        ui.weak("none: the two runs have the same settings");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("runs_diff")
        .show(ui, |ui| {
            egui::Grid::new("runs_diff_grid")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    ui.strong("setting");
                    ui.strong(name(&selected[0]));
                    ui.strong(name(&selected[1]));
                    ui.end_row();
                    for (setting, a, b) in diff {
                        ui.label(setting);
                        ui.label(a.as_deref().unwrap_or("–"));
                        ui.label(b.as_deref().unwrap_or("–"));
                        ui.end_row();
                    }
                });
        });
}
