//! The live plots and figures of the Training panel: fitness (or the climb's objective) and
//! test accuracy per generation, and loss and accuracies per epoch of a gradient run.

use bitsmnist_core::run::{Detail, History, Record};
use eframe::egui;
use egui_plot::{GridInput, GridMark, Line, Plot, PlotPoints};

use super::settings::{Method, XAxis};

/// Most points drawn per plot line (longer histories are thinned evenly).
const MAX_PLOT_POINTS: usize = 500;

/// How one plot is set up: the same for every plot of a kind, so that tests can check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlotSpec {
    /// The plot's id (egui memory: zoom and pan survive frames).
    pub id: &'static str,
    /// The x axis' name, with its unit.
    pub x_label: &'static str,
    /// The y axis' name, with its unit.
    pub y_label: &'static str,
    /// The x axis counts (generations, epochs): its ticks are whole numbers.
    pub integer_x: bool,
}

/// The fitness plot of a genetic run.
pub const FITNESS: PlotSpec = PlotSpec {
    id: "fitness",
    x_label: "generation",
    y_label: "fitness",
    integer_x: true,
};

/// The objective plot of a climb.
pub const OBJECTIVE: PlotSpec = PlotSpec {
    id: "fitness",
    x_label: "generation",
    y_label: "objective (fraction of its maximum)",
    integer_x: true,
};

/// The test-accuracy plot of a generation-based run.
pub const TEST_ACCURACY: PlotSpec = PlotSpec {
    id: "test-accuracy",
    x_label: "generation",
    y_label: "accuracy (%)",
    integer_x: true,
};

/// The loss plot of a gradient run.
pub const LOSS: PlotSpec = PlotSpec {
    id: "gradient-loss",
    x_label: "epoch",
    y_label: "loss (cross-entropy)",
    integer_x: true,
};

/// The accuracy plot of a gradient run.
pub const EPOCH_ACCURACY: PlotSpec = PlotSpec {
    id: "gradient-accuracy",
    x_label: "epoch",
    y_label: "accuracy (%)",
    integer_x: true,
};

/// The plots the Training panel shows for `method`, top to bottom.
pub fn specs(method: Method) -> [PlotSpec; 2] {
    match method {
        Method::Genetic => [FITNESS, TEST_ACCURACY],
        Method::Climb => [OBJECTIVE, TEST_ACCURACY],
        Method::Gradient => [LOSS, EPOCH_ACCURACY],
    }
}

/// Intervals between labelled ticks the axes aim at: enough to read values off, few enough
/// for their labels to fit a plot 120 points high.
const TICK_INTERVALS: f64 = 5.0;

/// Tick marks for an axis showing `bounds`: labelled ones at a round step (1, 2 or 5 times a
/// power of ten) giving about five intervals, and faint ones at a fifth of it;
/// on an `integer` axis the labelled step is a whole number (at least 1) and the faint marks
/// are whole numbers too.
pub fn ticks(bounds: (f64, f64), integer: bool) -> Vec<GridMark> {
    let (lo, hi) = (bounds.0.min(bounds.1), bounds.0.max(bounds.1));
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return Vec::new();
    }
    let raw = span / TICK_INTERVALS;
    let power = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    if integer {
        step = step.max(1.0).round();
    }
    let minor = step / 5.0;
    let mut marks = Vec::new();
    // `skip`: every so many marks fall on a labelled one, which is left out; two labels at
    // one place are drawn over each other, slightly apart, and read as neither.
    let mut add = |step: f64, skip: i64| {
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        for i in (first..=last).filter(|i| skip == 0 || i % skip != 0) {
            marks.push(GridMark {
                value: i as f64 * step,
                step_size: step,
            });
        }
    };
    add(step, 0);
    if !integer || minor >= 1.0 {
        add(minor, 5);
    }
    marks
}

/// The label of a tick at `value` among ticks `step` apart: as many decimals as the step
/// has. egui_plot's own rounds the decimals of `log10(step)`, which gives none for a step of
/// 0.5 and labels 0.5 as "0".
pub fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step > 0.0 && step.is_finite() {
        (-(step.log10() + 1e-9).floor()).max(0.0) as usize
    } else {
        0
    };
    format!("{value:.decimals$}")
}

/// Where the generation plots put a generation on their x axis, as [`XAxis`] says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct XView {
    /// The axis chosen.
    pub axis: XAxis,
    /// The first generation shown (0: all).
    pub first: u64,
}

impl XView {
    /// The view of a history whose last generation is `last`: [`XAxis::Recent`] shows the
    /// `recent` generations up to it.
    pub fn new(axis: XAxis, recent: u64, last: u64) -> Self {
        let first = match axis {
            XAxis::Recent => (last + 1).saturating_sub(recent.max(1)),
            XAxis::Log | XAxis::Linear => 0,
        };
        Self { axis, first }
    }

    /// Whether generation `step` is shown.
    pub fn shows(&self, step: u64) -> bool {
        step >= self.first
    }

    /// The x coordinate of generation `step`: `log10(step + 1)` on the log axis (generation
    /// 0 at 0), else the step itself.
    pub fn x(&self, step: u64) -> f64 {
        match self.axis {
            XAxis::Log => (step as f64 + 1.0).log10(),
            XAxis::Linear | XAxis::Recent => step as f64,
        }
    }

    /// The generation at x coordinate `x` (the inverse of [`XView::x`]).
    pub fn step(&self, x: f64) -> f64 {
        match self.axis {
            XAxis::Log => 10f64.powf(x) - 1.0,
            XAxis::Linear | XAxis::Recent => x,
        }
    }
}

/// Tick marks of the log axis showing x `bounds` (`log10(generation + 1)`): labelled ones at
/// generation 0 and each power of ten, faint ones at 2 and 5 times a power of ten.
pub fn log_ticks(bounds: (f64, f64)) -> Vec<GridMark> {
    let (lo, hi) = (bounds.0.min(bounds.1), bounds.0.max(bounds.1));
    if !(hi - lo).is_finite() || hi <= lo {
        return Vec::new();
    }
    let mut marks = Vec::new();
    let mut add = |generation: f64, step_size: f64| {
        let x = (generation + 1.0).log10();
        if (lo..=hi).contains(&x) {
            marks.push(GridMark {
                value: x,
                step_size,
            });
        }
    };
    add(0.0, 1.0);
    let last_power = hi.ceil().max(0.0) as i32;
    for power in 0..=last_power {
        let p = 10f64.powi(power);
        add(p, 1.0);
        add(2.0 * p, 0.3);
        add(5.0 * p, 0.3);
    }
    marks
}

/// The height of each of the panel's two plots: half of what is left once the two title
/// rows (with their legends) are drawn.
fn plot_height(ui: &egui::Ui) -> f32 {
    let row = ui.spacing().interact_size.y + 2.0 * ui.spacing().item_spacing.y;
    ((ui.available_height() - 2.0 * row - 8.0) / 2.0).max(120.0)
}

/// A generation plot set up by `spec`, `height` points high, its x axis as `view` says.
fn generation_plot(spec: PlotSpec, height: f32, view: XView) -> Plot<'static> {
    let p = plot(spec, height);
    match view.axis {
        XAxis::Log => p
            .x_grid_spacer(|g: GridInput| log_ticks(g.bounds))
            .x_axis_formatter(move |m, _| format!("{}", view.step(m.value).round() as i64))
            .x_axis_label(format!("{} (log scale)", spec.x_label))
            .label_formatter(move |pos| {
                let (name, p) = match pos {
                    egui_plot::HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => (format!("{plot_name}\n"), position),
                    egui_plot::HoverPosition::Elsewhere { position } => (String::new(), position),
                };
                Some(format!(
                    "{name}{} = {:.0}\ny = {:.3}",
                    spec.x_label,
                    view.step(p.x),
                    p.y
                ))
            }),
        XAxis::Recent => p.x_axis_label(format!("{} (from {} on)", spec.x_label, view.first)),
        XAxis::Linear => p,
    }
}

/// A plot set up by `spec`, `height` points high.
fn plot(spec: PlotSpec, height: f32) -> Plot<'static> {
    let integer = spec.integer_x;
    let p = Plot::new(spec.id)
        .height(height)
        .x_axis_label(spec.x_label)
        .y_axis_label(spec.y_label)
        .x_grid_spacer(move |g: GridInput| ticks(g.bounds, integer))
        .y_grid_spacer(|g: GridInput| ticks(g.bounds, false))
        .y_axis_formatter(|m, _| tick_label(m.value, m.step_size));
    if integer {
        p.x_axis_formatter(|m, _| format!("{}", m.value.round() as i64))
    } else {
        p
    }
}

/// The colours of a panel's series, in order: matplotlib's "tab10", as the notebooks' history
/// plots (`History::plot`) colour the same series, legible on light and dark panels.
pub const COLORS: [egui::Color32; 4] = [
    egui::Color32::from_rgb(31, 119, 180),
    egui::Color32::from_rgb(255, 127, 14),
    egui::Color32::from_rgb(44, 160, 44),
    egui::Color32::from_rgb(214, 39, 40),
];

/// The plot's title and, on the same line, its legend: a stroke of each series' colour and
/// its name. The legend sits above the plot, so it never covers a curve, wherever the curves
/// go; the colours of `series` are [`COLORS`] from `first` on.
fn title_and_legend(ui: &mut egui::Ui, title: &str, series: &[&str], first: usize) {
    ui.horizontal(|ui| {
        ui.label(title);
        ui.add_space(16.0);
        for (i, name) in series.iter().enumerate() {
            let color = COLORS[(first + i) % COLORS.len()];
            let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 10.0), egui::Sense::hover());
            ui.painter().hline(
                rect.x_range(),
                rect.center().y,
                egui::Stroke::new(2.5, color),
            );
            ui.label(*name);
            ui.add_space(8.0);
        }
    });
}

/// Where the last frame drew the Training panel's top plot (fitness, objective or loss), for
/// File > Export fitness plot as PNG.
pub fn fitness_plot_rect(ctx: &egui::Context) -> Option<egui::Rect> {
    drawn_rect(ctx, TOP)
}

/// Where the last frame drew the plot with this [`PlotSpec::id`] (`None`: not drawn in the
/// last frame).
pub fn drawn_rect(ctx: &egui::Context, id: &str) -> Option<egui::Rect> {
    let frame = ctx.cumulative_pass_nr();
    ctx.data(|d| d.get_temp::<(u64, egui::Rect)>(rect_id(id)))
        .filter(|(drawn, _)| frame.saturating_sub(*drawn) <= 1)
        .map(|(_, r)| r)
}

/// The key [`fitness_plot_rect`] remembers the top plot under, whichever it is.
const TOP: &str = "training-top-plot";

fn rect_id(id: &str) -> egui::Id {
    egui::Id::unique(("training-plot-rect", id))
}

fn remember_rect(ctx: &egui::Context, id: &str, rect: egui::Rect) {
    let frame = ctx.cumulative_pass_nr();
    ctx.data_mut(|d| d.insert_temp(rect_id(id), (frame, rect)));
}

/// At most about [`MAX_PLOT_POINTS`] of `points`, evenly spaced along x (as drawn: on the
/// log axis the first generations are far apart and all kept, the later ones thinned), and
/// the last.
fn thin(points: impl IntoIterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    let points: Vec<[f64; 2]> = points.into_iter().collect();
    let (Some(first), Some(last)) = (points.first().copied(), points.last().copied()) else {
        return points;
    };
    let gap = (last[0] - first[0]) / MAX_PLOT_POINTS as f64;
    let mut kept: Vec<[f64; 2]> = Vec::with_capacity(points.len().min(MAX_PLOT_POINTS + 2));
    for p in points {
        if kept.last().is_none_or(|k| p[0] - k[0] >= gap) {
            kept.push(p);
        }
    }
    if kept.last() != Some(&last) {
        kept.push(last);
    }
    kept
}

/// The live figures of the last generation; `running`: the run goes on (not paused).
pub(crate) fn generation_figures(
    ui: &mut egui::Ui,
    history: &History,
    method: Method,
    running: bool,
) {
    let Some(rec) = history.last() else {
        return;
    };
    ui.separator();
    ui.label(if method == Method::Climb {
        format!("generation {}   objective {:.4}", rec.step, rec.best)
    } else {
        format!(
            "generation {}   best {:.4}   mean {:.4}   worst {:.4}",
            rec.step, rec.best, rec.mean, rec.worst
        )
    });
    if running {
        ui.strong(format!("{:.1} generations/s", rec.steps_per_sec));
    }
    ui.label(format!("{:.1} s", rec.elapsed_secs));
}

/// A plotted series: its name (in the legend and the hover text) and its value in a record.
type Series = (&'static str, fn(&Record) -> f64);

/// The choice of the generation plots' x axis (see [`XAxis`]), above them; true when it
/// changed.
fn x_axis_choice(ui: &mut egui::Ui, axis: &mut XAxis, recent: &mut u64) -> bool {
    let before = (*axis, *recent);
    ui.horizontal(|ui| {
        ui.label("Generations shown:");
        for choice in XAxis::ALL {
            ui.selectable_value(axis, choice, choice.title())
                .on_hover_text(match choice {
                    XAxis::Log => "Every generation on a logarithmic axis: the first generations, where the fitness climbs, get as much room as the long tail",
                    XAxis::Linear => "Every generation on a linear axis",
                    XAxis::Recent => "Only the last generations, on a linear axis: what the run does now",
                });
        }
        let l = ui.label("generations");
        ui.add_enabled(
            *axis == XAxis::Recent,
            egui::DragValue::new(recent).range(10..=1_000_000).speed(10),
        )
        .labelled_by(l.id)
        .on_hover_text("How many of the last generations \"last\" shows");
    });
    (*axis, *recent) != before
}

/// The fitness and test-accuracy plots of a generation-based run, their x axis as `axis` says
/// (chosen above them; `recent` is the generations [`XAxis::Recent`] shows). A climb has one
/// model, so its records' best, mean and worst are one value: its objective.
pub(crate) fn generations(
    ui: &mut egui::Ui,
    history: &History,
    method: Method,
    axis: &mut XAxis,
    recent: &mut u64,
) {
    let changed = x_axis_choice(ui, axis, recent);
    let recs = &history.records;
    let view = XView::new(*axis, *recent, recs.last().map_or(0, |r| r.step));
    let height = plot_height(ui);
    let link = ui.make_persistent_id("training-plots");
    let climb = method == Method::Climb;
    let top_series: &[Series] = if climb {
        &[("objective", |r| r.best)]
    } else {
        &[
            ("best", |r| r.best),
            ("mean", |r| r.mean),
            ("worst", |r| r.worst),
        ]
    };
    let names: Vec<&str> = top_series.iter().map(|(n, _)| *n).collect();
    title_and_legend(
        ui,
        if climb {
            "Objective per generation (fraction of its maximum, on the current batch)"
        } else {
            "Fitness per generation"
        },
        &names,
        0,
    );
    let [top, bottom] = specs(method);
    let shown_recs: Vec<&Record> = recs.iter().filter(|r| view.shows(r.step)).collect();
    // A new axis starts from the bounds of its data, not the old axis' zoom.
    let reset = |p: Plot<'static>| if changed { p.reset() } else { p };
    let shown = reset(generation_plot(top, height, view))
        .link_axis(link, [true, false])
        .show(ui, |p| {
            for (i, (name, f)) in top_series.iter().enumerate() {
                let points = thin(shown_recs.iter().map(|r| [view.x(r.step), f(r)]));
                p.line(Line::new(*name, PlotPoints::from(points)).color(COLORS[i]));
            }
        });
    remember_rect(ui.ctx(), TOP, shown.response.rect);
    remember_rect(ui.ctx(), top.id, shown.response.rect);
    title_and_legend(
        ui,
        if climb {
            "Test accuracy (%) of the model"
        } else {
            "Test accuracy (%) of the best candidate"
        },
        &["test accuracy"],
        top_series.len(),
    );
    let acc: Vec<[f64; 2]> = shown_recs
        .iter()
        .filter_map(|r| r.validation_accuracy.map(|a| [view.x(r.step), 100.0 * a]))
        .collect();
    let color = COLORS[top_series.len() % COLORS.len()];
    let shown = reset(generation_plot(bottom, height, view))
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new("test accuracy", PlotPoints::from(thin(acc))).color(color));
        });
    remember_rect(ui.ctx(), bottom.id, shown.response.rect);
}

/// The live figures of the last epoch.
pub(crate) fn epoch_figures(ui: &mut egui::Ui, history: &History, running: bool) {
    let Some(r) = history.last() else {
        return;
    };
    let Detail::Gradient {
        epochs,
        loss,
        examples_per_sec,
        ..
    } = r.detail
    else {
        return;
    };
    ui.separator();
    ui.label(format!(
        "epoch {}/{epochs}   loss {loss:.4}   train {:.2}%",
        r.step,
        100.0 * r.best
    ));
    if let Some(t) = r.validation_accuracy {
        ui.label(format!("test {:.2}%", 100.0 * t));
    }
    if running {
        ui.strong(format!("{examples_per_sec:.0} examples/s"));
    }
    ui.label(format!("{:.1} s", r.elapsed_secs));
}

/// The names of the gradient plots' series: the loss (top), then train and test accuracy.
const EPOCH_SERIES: [&str; 3] = [
    "loss",
    "train (augmented mini-batches)",
    "test (exported model)",
];

/// Loss, and train and test accuracy, per epoch.
pub(crate) fn epochs(ui: &mut egui::Ui, history: &History) {
    let recs = &history.records;
    let points = |f: &dyn Fn(&Record) -> Option<f64>| -> PlotPoints {
        recs.iter()
            .filter_map(|r| f(r).map(|v| [r.step as f64, v]))
            .collect::<Vec<_>>()
            .into()
    };
    let height = plot_height(ui);
    let link = ui.make_persistent_id("gradient-plots");
    let [loss, train, test] = EPOCH_SERIES;
    title_and_legend(ui, "Loss per epoch", &[loss], 0);
    let [top, bottom] = specs(Method::Gradient);
    let shown = plot(top, height)
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new(loss, points(&Record::loss)).color(COLORS[0]));
        });
    remember_rect(ui.ctx(), TOP, shown.response.rect);
    remember_rect(ui.ctx(), top.id, shown.response.rect);
    title_and_legend(ui, "Accuracy per epoch (%)", &[train, test], 1);
    let shown = plot(bottom, height)
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new(train, points(&|r| Some(100.0 * r.best))).color(COLORS[1]));
            p.line(
                Line::new(test, points(&|r| r.validation_accuracy.map(|a| 100.0 * a)))
                    .color(COLORS[2]),
            );
        });
    remember_rect(ui.ctx(), bottom.id, shown.response.rect);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(marks: &[GridMark], step: f64) -> Vec<f64> {
        marks
            .iter()
            .filter(|m| m.step_size == step)
            .map(|m| m.value)
            .collect()
    }

    #[test]
    fn a_hundred_generations_get_several_whole_ticks() {
        let marks = ticks((0.0, 100.0), true);
        assert_eq!(
            values(&marks, 20.0),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert!(marks.iter().all(|m| m.value.fract() == 0.0));
    }

    #[test]
    fn a_few_generations_tick_every_generation_never_between() {
        let marks = ticks((-0.2, 3.4), true);
        assert_eq!(values(&marks, 1.0), vec![0.0, 1.0, 2.0, 3.0]);
        assert!(marks.iter().all(|m| m.value.fract() == 0.0));
    }

    #[test]
    fn tick_labels_have_the_decimals_of_their_step() {
        assert_eq!(tick_label(0.5, 0.5), "0.5");
        assert_eq!(tick_label(0.3, 0.1), "0.3");
        assert_eq!(tick_label(0.52, 0.02), "0.52");
        assert_eq!(tick_label(240.0, 20.0), "240");
        assert_eq!(tick_label(100.0, 100.0), "100");
        assert_eq!(tick_label(1.0, 1.0), "1");
        assert_eq!(tick_label(-0.2, 0.1), "-0.2");
    }

    #[test]
    fn faint_marks_never_fall_on_labelled_ones() {
        for (bounds, integer) in [
            ((-0.3, 0.8), false),
            ((0.0, 1000.0), true),
            ((20.0, 260.0), false),
        ] {
            let marks = ticks(bounds, integer);
            for (i, a) in marks.iter().enumerate() {
                for b in &marks[i + 1..] {
                    assert!(
                        (a.value - b.value).abs() > 1e-9,
                        "{bounds:?}: two marks at {}",
                        a.value
                    );
                }
            }
        }
    }

    #[test]
    fn a_narrow_fitness_range_still_gets_four_or_more_labelled_ticks() {
        for bounds in [(0.51, 0.53), (0.0, 1.0), (97.0, 100.0), (1e-4, 3e-4)] {
            let marks = ticks(bounds, false);
            let major = marks.iter().map(|m| m.step_size).fold(0.0, f64::max);
            let n = values(&marks, major).len();
            assert!((4..=11).contains(&n), "{bounds:?}: {n} ticks");
        }
    }

    #[test]
    fn the_log_axis_places_generations_by_their_logarithm_and_back() {
        let log = XView::new(XAxis::Log, 500, 5000);
        assert_eq!(log.first, 0);
        assert_eq!(log.x(0), 0.0);
        assert!((log.x(999) - 3.0).abs() < 1e-12);
        for step in [0, 1, 7, 123, 5000] {
            assert!((log.step(log.x(step)) - step as f64).abs() < 1e-6);
        }
        // The first tenth of the generations takes most of the axis' length.
        assert!(log.x(500) / log.x(5000) > 0.7);
        let marks = log_ticks((0.0, log.x(5000)));
        let labelled: Vec<i64> = marks
            .iter()
            .filter(|m| m.step_size == 1.0)
            .map(|m| log.step(m.value).round() as i64)
            .collect();
        assert_eq!(labelled, vec![0, 1, 10, 100, 1000]);
        assert!(marks.iter().all(|m| (0.0..=log.x(5000)).contains(&m.value)));
    }

    #[test]
    fn thinning_keeps_the_early_generations_of_a_log_axis_and_the_last_point() {
        let log = XView::new(XAxis::Log, 500, 5000);
        let kept = thin((0..=5000).map(|g| [log.x(g), g as f64]));
        assert!(kept.len() <= MAX_PLOT_POINTS + 2, "{}", kept.len());
        let generations: Vec<f64> = kept.iter().map(|p| p[1]).collect();
        for g in 0..=20 {
            assert!(generations.contains(&(g as f64)), "generation {g} dropped");
        }
        assert_eq!(generations.last(), Some(&5000.0));
        // On a linear axis, every tenth of 5,000 generations.
        let linear = thin((0..=5000).map(|g| [g as f64, 0.0]));
        assert_eq!(linear.len(), 501);
    }

    #[test]
    fn the_recent_window_shows_the_last_generations_on_a_linear_axis() {
        let recent = XView::new(XAxis::Recent, 500, 5000);
        assert_eq!(recent.first, 4501);
        assert!(!recent.shows(4500) && recent.shows(4501) && recent.shows(5000));
        assert_eq!(recent.x(4700), 4700.0);
        // A run shorter than the window shows all of it.
        assert_eq!(XView::new(XAxis::Recent, 500, 40).first, 0);
        let all = XView::new(XAxis::Linear, 500, 5000);
        assert!(all.shows(0) && all.x(10) == 10.0);
    }

    #[test]
    fn every_plot_names_both_axes_with_whole_steps() {
        for method in [Method::Genetic, Method::Climb, Method::Gradient] {
            for spec in specs(method) {
                assert!(!spec.x_label.is_empty() && !spec.y_label.is_empty());
                assert!(spec.integer_x);
            }
        }
        assert!(TEST_ACCURACY.y_label.contains('%'));
        assert!(EPOCH_ACCURACY.y_label.contains('%'));
    }
}
