//! The live plots and figures of the Training panel: fitness (or the climb's objective) and
//! test accuracy per generation, and loss and accuracies per epoch of a gradient run.

use bitsmnist_core::run::{Detail, History, Record};
use eframe::egui;
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints};

use super::settings::Method;

/// Most points drawn per plot line (longer histories are thinned evenly).
const MAX_PLOT_POINTS: usize = 500;

/// Every `n / MAX_PLOT_POINTS`-th point, and the last.
fn thin(points: impl ExactSizeIterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    let n = points.len();
    let step = n.div_ceil(MAX_PLOT_POINTS).max(1);
    let mut v: Vec<[f64; 2]> = Vec::with_capacity(n / step + 2);
    let mut last = None;
    for (i, p) in points.enumerate() {
        if i % step == 0 {
            v.push(p);
        }
        last = Some(p);
    }
    if let (Some(l), Some(e)) = (last, v.last())
        && l != *e
    {
        v.push(l);
    }
    v
}

/// The live figures of the last generation; `running`: the run goes on (not paused).
pub(super) fn generation_figures(
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

/// The fitness and test-accuracy plots of a generation-based run. A climb has one model, so
/// its records' best, mean and worst are one value: its objective.
pub(super) fn generations(ui: &mut egui::Ui, history: &History, method: Method) {
    let recs = &history.records;
    let line = |name: &str, f: fn(&Record) -> f64| {
        Line::new(
            name.to_string(),
            PlotPoints::from(thin(recs.iter().map(|r| [r.step as f64, f(r)]))),
        )
    };
    let height = ((ui.available_height() - 30.0) / 2.0).max(120.0);
    let link = ui.make_persistent_id("training-plots");
    let climb = method == Method::Climb;
    ui.label(if climb {
        "Objective per generation (fraction of its maximum, on the current batch)"
    } else {
        "Fitness per generation"
    });
    Plot::new("fitness")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("generation")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            if climb {
                p.line(line("objective", |r| r.best));
            } else {
                p.line(line("best", |r| r.best));
                p.line(line("mean", |r| r.mean));
                p.line(line("worst", |r| r.worst));
            }
        });
    ui.label(if climb {
        "Test accuracy (%) of the model"
    } else {
        "Test accuracy (%) of the best candidate"
    });
    let acc: Vec<[f64; 2]> = recs
        .iter()
        .filter_map(|r| r.validation_accuracy.map(|a| [r.step as f64, 100.0 * a]))
        .collect();
    let n = acc.len();
    Plot::new("test-accuracy")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("generation")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new(
                "test accuracy",
                PlotPoints::from(thin(acc.into_iter().take(n))),
            ));
        });
}

/// The live figures of the last epoch.
pub(super) fn epoch_figures(ui: &mut egui::Ui, history: &History, running: bool) {
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

/// Loss, and train and test accuracy, per epoch.
pub(super) fn epochs(ui: &mut egui::Ui, history: &History) {
    let recs = &history.records;
    let points = |f: &dyn Fn(&Record) -> Option<f64>| -> PlotPoints {
        recs.iter()
            .filter_map(|r| f(r).map(|v| [r.step as f64, v]))
            .collect::<Vec<_>>()
            .into()
    };
    let height = ((ui.available_height() - 30.0) / 2.0).max(120.0);
    let link = ui.make_persistent_id("gradient-plots");
    ui.label("Loss per epoch");
    Plot::new("gradient-loss")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("epoch")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new("loss", points(&Record::loss)));
        });
    ui.label("Accuracy per epoch (%)");
    Plot::new("gradient-accuracy")
        .height(height)
        // Accuracy climbs: the lower right corner stays clear of the lines.
        .legend(Legend::default().position(Corner::RightBottom))
        .x_axis_label("epoch")
        .link_axis(link, [true, false])
        .show(ui, |p| {
            p.line(Line::new(
                "train (augmented mini-batches)",
                points(&|r| Some(100.0 * r.best)),
            ));
            p.line(Line::new(
                "test (exported model)",
                points(&|r| r.validation_accuracy.map(|a| 100.0 * a)),
            ));
        });
}
