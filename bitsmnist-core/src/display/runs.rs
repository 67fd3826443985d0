//! The runs folder in a notebook: a [`RunStore`] as the table `bitsmnist runs` prints, and a
//! [`Comparison`] as the settings in which its runs differ, their figures, and their curves
//! overlaid.

use std::fmt::Write as _;

use super::{CELL_STYLE, HEAD_STYLE, HTML, LinePlot, TABLE_STYLE, base64, emit, escape_html};
use crate::runs::{Comparison, RunListing, RunStore, RunSummary};

fn percent(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.2}%", 100.0 * x))
}

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    let mut s = format!("<table style=\"{TABLE_STYLE}\"><tr>");
    for h in head {
        let _ = write!(s, "<th style=\"{HEAD_STYLE}\">{}</th>", escape_html(h));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let align = if i == 0 { ";text-align:left" } else { "" };
            let _ = write!(
                s,
                "<td style=\"{CELL_STYLE}{align}\">{}</td>",
                escape_html(c)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

fn name(s: &RunSummary) -> String {
    if s.label.is_empty() {
        s.id.to_string()
    } else {
        s.label.clone()
    }
}

/// How many runs a runs folder's display plots: its newest.
pub const PLOTTED_RUNS: usize = 10;

/// A plot as an `<img>` of an SVG `data:` URI (a stored notebook keeps images; it strips
/// inline SVG).
fn img(plot: LinePlot) -> String {
    let plot = plot.size(640, 300);
    format!(
        "<div><img src=\"data:image/svg+xml;base64,{}\" width=\"640\" height=\"300\" alt=\"{}\"/></div>",
        base64(plot.to_svg().as_bytes()),
        escape_html(&plot.to_string())
    )
}

impl RunStore {
    /// HTML: every run of the folder, oldest first, with its label, method, model, seed,
    /// steps, time, accuracy, size and status; then the curves of the newest
    /// [`PLOTTED_RUNS`] readable runs overlaid ([`RunStore::compare`] for others).
    pub fn to_html(&self) -> String {
        let runs = match self.list() {
            Ok(r) => r,
            Err(e) => return format!("<div>{}</div>", escape_html(&e.to_string())),
        };
        let head = RunListing::COLUMNS.map(String::from);
        let rows: Vec<Vec<String>> = runs.iter().map(|r| r.cells().to_vec()).collect();
        let newest: Vec<_> = runs
            .iter()
            .rev()
            .filter(|r| r.summary.is_some())
            .take(PLOTTED_RUNS)
            .map(|r| r.id.clone())
            .collect();
        let plot = match self.compare(&newest.into_iter().rev().collect::<Vec<_>>()) {
            Ok(c) if c.runs.iter().any(|(_, h)| h.is_some()) => {
                img(c.plot().title(format!("The newest {} runs", c.runs.len())))
            }
            _ => String::new(),
        };
        format!(
            "<div style=\"font-family:sans-serif\"><div style=\"font-weight:bold;margin:4px 0\">{} runs in {}</div>{}{plot}</div>",
            runs.len(),
            escape_html(&self.dir().display().to_string()),
            table(&head, &rows)
        )
    }

    /// Shows [`to_html`](Self::to_html) in a notebook.
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl Comparison {
    /// The runs' objective (best fitness; gradient: training accuracy) against the step,
    /// one line per run named by its label.
    pub fn plot(&self) -> LinePlot {
        let mut plot = LinePlot::new("Runs compared")
            .x_label("step (generation or epoch)")
            .y_label("objective");
        for (s, h) in &self.runs {
            if let Some(h) = h {
                let points: Vec<(f64, f64)> =
                    h.records.iter().map(|r| (r.step as f64, r.best)).collect();
                plot = plot.line(name(s), &points);
            }
        }
        plot
    }

    /// The runs' test accuracy at each validation against the step, in percent (`None` when
    /// no run was validated while it trained).
    pub fn accuracy_plot(&self) -> Option<LinePlot> {
        let mut plot = LinePlot::new("Test accuracy during training")
            .x_label("step (generation or epoch)")
            .y_label("test accuracy")
            .y_percent();
        let mut any = false;
        for (s, h) in &self.runs {
            let points: Vec<(f64, f64)> = h
                .iter()
                .flat_map(|h| &h.records)
                .filter_map(|r| Some((r.step as f64, r.validation_accuracy?)))
                .collect();
            if !points.is_empty() {
                any = true;
                plot = plot.line(name(s), &points);
            }
        }
        any.then_some(plot)
    }

    /// HTML: the settings in which the runs differ and their figures, side by side, then the
    /// plots.
    pub fn to_html(&self) -> String {
        let mut head = vec![String::new()];
        head.extend(self.runs.iter().map(|(s, _)| name(s)));
        let mut rows: Vec<Vec<String>> = vec![
            std::iter::once("run".to_string())
                .chain(self.runs.iter().map(|(s, _)| s.id.to_string()))
                .collect(),
        ];
        for (setting, values) in self.differing() {
            rows.push(std::iter::once(setting).chain(values).collect());
        }
        let figure = |label: &str, f: &dyn Fn(&RunSummary) -> String| {
            std::iter::once(label.to_string())
                .chain(self.runs.iter().map(|(s, _)| f(s)))
                .collect::<Vec<_>>()
        };
        rows.push(figure("step", &|s| s.step.to_string()));
        rows.push(figure("time", &|s| format!("{:.1} s", s.seconds)));
        rows.push(figure("train accuracy", &|s| {
            percent(s.result.as_ref().map(|r| r.train_accuracy))
        }));
        rows.push(figure("test accuracy", &|s| {
            percent(
                s.result
                    .as_ref()
                    .map(|r| r.test_accuracy)
                    .or(s.last_test_accuracy),
            )
        }));
        let mut s = format!(
            "<div style=\"font-family:sans-serif\"><div style=\"font-weight:bold;margin:4px 0\">{} runs compared: the settings in which they differ, and their figures</div>{}",
            self.runs.len(),
            table(&head, &rows)
        );
        for plot in std::iter::once(self.plot()).chain(self.accuracy_plot()) {
            s.push_str(&img(plot));
        }
        s.push_str("</div>");
        s
    }

    /// Shows [`to_html`](Self::to_html) in a notebook.
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use crate::datasets::{Dataset, Task};
    use crate::runs::RunStore;
    use crate::session::{RunPlan, Session};

    #[test]
    fn a_runs_folder_and_a_comparison_show_as_tables_and_plots() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let data = Dataset::embedded();
        let mut ids = Vec::new();
        for seed in [1, 2] {
            let plan = RunPlan::for_task(Task::zero_one())
                .generations(6)
                .validate_every(2)
                .seed(seed);
            let mut session = Session::start(plan, &data).unwrap();
            ids.push(
                session
                    .record(&store, &format!("seed {seed}"), &[])
                    .unwrap(),
            );
            session.run(|_| ControlFlow::Continue(())).unwrap();
        }
        let html = store.to_html();
        assert!(
            html.contains("2 runs in") && html.contains("seed 2"),
            "{html}"
        );
        assert!(html.contains("finished"));
        let c = store.compare(&ids).unwrap();
        assert_eq!(
            c.differing(),
            vec![("seed".to_string(), vec!["1".to_string(), "2".to_string()])]
        );
        let plot = c.plot();
        let names: Vec<&str> = plot.lines().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["seed 1", "seed 2"]);
        assert!(c.accuracy_plot().unwrap().percent_axes().0);
        let html = c.to_html();
        assert!(html.contains("test accuracy") && html.contains("data:image/svg+xml"));
        super::super::training::tests::assert_human(&html);
    }
}
