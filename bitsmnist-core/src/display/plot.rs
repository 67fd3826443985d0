//! Line plots as SVG, drawn with `plotters` (SVG backend only: no fonts or system libraries;
//! text is left to the browser).

use std::fmt;

use plotters::prelude::*;

use super::{PALETTE, SVG, emit, escape_html};

/// One named line: `(x, y)` points in order. Points with a non-finite coordinate are skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text (no legend entry when empty).
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// A line plot with a left axis and an optional right (secondary) axis, rendered to SVG.
///
/// Used for training histories (fitness on the left, validation accuracy on the right: see
/// [`fitness_plot_svg`]) and for any sweep in a notebook. Shows in a notebook as
/// `image/svg+xml`.
///
/// ```
/// use bitsmnist_core::display::LinePlot;
/// let svg = LinePlot::new("squares")
///     .x_label("x")
///     .line("x²", &[(0.0, 0.0), (1.0, 1.0), (2.0, 4.0)])
///     .to_svg();
/// assert!(svg.starts_with("<svg") && svg.contains("squares"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinePlot {
    title: String,
    x_label: String,
    y_label: String,
    y2_label: String,
    size: (u32, u32),
    series: Vec<Series>,
    secondary: Vec<Series>,
    y_range: Option<(f64, f64)>,
    y2_range: Option<(f64, f64)>,
}

impl LinePlot {
    /// An empty plot with a title, 720 x 360 pixels.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            y2_label: String::new(),
            size: (720, 360),
            series: Vec::new(),
            secondary: Vec::new(),
            y_range: None,
            y2_range: None,
        }
    }

    /// Names the x axis.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// Names the left y axis.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// Names the right y axis (drawn only when a secondary line exists).
    pub fn y2_label(mut self, label: impl Into<String>) -> Self {
        self.y2_label = label.into();
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width.max(64), height.max(64));
        self
    }

    /// Fixes the left axis range (default: fitted to the data).
    pub fn y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    /// Fixes the right axis range (default: fitted to the data).
    pub fn y2_range(mut self, low: f64, high: f64) -> Self {
        self.y2_range = Some((low, high));
        self
    }

    /// Adds a line on the left axis.
    pub fn line(mut self, name: impl Into<String>, points: &[(f64, f64)]) -> Self {
        self.series.push(Series {
            name: name.into(),
            points: points.to_vec(),
        });
        self
    }

    /// Adds a dashed line on the right axis.
    pub fn secondary_line(mut self, name: impl Into<String>, points: &[(f64, f64)]) -> Self {
        self.secondary.push(Series {
            name: name.into(),
            points: points.to_vec(),
        });
        self
    }

    /// The lines on the left axis.
    pub fn lines(&self) -> &[Series] {
        &self.series
    }

    /// The lines on the right axis.
    pub fn secondary_lines(&self) -> &[Series] {
        &self.secondary
    }

    /// The plot as an SVG document. Never fails: should drawing fail, the SVG shows the
    /// error text instead.
    pub fn to_svg(&self) -> String {
        let mut out = String::new();
        match self.draw(&mut out) {
            Ok(()) => out,
            Err(e) => format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"><text x=\"10\" y=\"20\">plot failed: {}</text></svg>",
                self.size.0,
                self.size.1,
                escape_html(&e)
            ),
        }
    }

    /// Shows the plot in a notebook (SVG).
    pub fn evcxr_display(&self) {
        emit(&[(SVG, &self.to_svg())]);
    }

    fn draw(&self, out: &mut String) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
        let all = || self.series.iter().chain(&self.secondary);
        // Integer data (steps, generations, counts) gets integer tick labels.
        let integral =
            |mut vals: Box<dyn Iterator<Item = f64> + '_>| vals.all(|v| v.fract() == 0.0);
        let x_int = integral(Box::new(all().flat_map(|s| finite(s).map(|p| p.0))));
        let y_int = integral(Box::new(
            self.series.iter().flat_map(|s| finite(s).map(|p| p.1)),
        ));
        let z_int = integral(Box::new(
            self.secondary.iter().flat_map(|s| finite(s).map(|p| p.1)),
        ));
        let (x0, x1) = span(all().flat_map(|s| finite(s).map(|p| p.0)));
        let (y0, y1) = self
            .y_range
            .unwrap_or_else(|| span(self.series.iter().flat_map(|s| finite(s).map(|p| p.1))));
        let (z0, z1) = self
            .y2_range
            .unwrap_or_else(|| span(self.secondary.iter().flat_map(|s| finite(s).map(|p| p.1))));
        let root = SVGBackend::with_string(out, self.size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(&self.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60);
        if !self.secondary.is_empty() {
            builder.right_y_label_area_size(60);
        }
        let mut chart = builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?
            .set_secondary_coord(x0..x1, z0..z1);
        let x_fmt = tick_formatter(x1 - x0, x_int);
        let y_fmt = tick_formatter(y1 - y0, y_int);
        let z_fmt = tick_formatter(z1 - z0, z_int);
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .light_line_style(RGBColor(238, 238, 238))
            .max_light_lines(2)
            .draw()
            .map_err(err)?;
        if !self.secondary.is_empty() {
            chart
                .configure_secondary_axes()
                .y_desc(self.y2_label.as_str())
                .y_label_formatter(&z_fmt)
                .draw()
                .map_err(err)?;
        }
        let color = |i: usize| {
            let (r, g, b) = PALETTE[i % PALETTE.len()];
            RGBColor(r, g, b)
        };
        let mut legend = false;
        for (i, s) in self.series.iter().enumerate() {
            let style = color(i).stroke_width(2);
            let drawn = chart
                .draw_series(LineSeries::new(thin(finite(s).collect()), style))
                .map_err(err)?;
            if !s.name.is_empty() {
                legend = true;
                drawn
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
        for (i, s) in self.secondary.iter().enumerate() {
            let style = color(self.series.len() + i).stroke_width(2);
            let drawn = chart
                .draw_secondary_series(DashedLineSeries::new(
                    thin(finite(s).collect()),
                    6,
                    4,
                    style,
                ))
                .map_err(err)?;
            if !s.name.is_empty() {
                legend = true;
                drawn
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
        if legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

impl fmt::Display for LinePlot {
    /// A one-line summary: title, and each line's name and number of points.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinePlot \"{}\":", self.title)?;
        for s in self.series.iter().chain(&self.secondary) {
            write!(f, " {} ({} points);", s.name, s.points.len())?;
        }
        Ok(())
    }
}

fn finite(s: &Series) -> impl Iterator<Item = (f64, f64)> + Clone + '_ {
    s.points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Most points drawn per line: a plot is some 650 pixels wide, so more only grows the SVG (a
/// 100,000-generation climb would otherwise be a quarter of a megabyte).
pub(crate) const MAX_POINTS: usize = 2000;

/// At most [`MAX_POINTS`] of `points`, in order: per bucket of consecutive points its first,
/// lowest and highest, and the very last point, so that the line keeps its ends and extremes.
pub(crate) fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let n = points.len();
    if n <= MAX_POINTS {
        return points;
    }
    let buckets = (MAX_POINTS - 1) / 3;
    let mut out = Vec::with_capacity(MAX_POINTS);
    for b in 0..buckets {
        let (lo, hi) = (b * n / buckets, ((b + 1) * n / buckets).min(n - 1));
        if lo >= hi {
            continue;
        }
        let chunk = &points[lo..hi];
        let by_y = |a: &&(f64, f64), b: &&(f64, f64)| a.1.total_cmp(&b.1);
        let min = chunk
            .iter()
            .enumerate()
            .min_by(|a, b| by_y(&a.1, &b.1))
            .map_or(0, |m| m.0);
        let max = chunk
            .iter()
            .enumerate()
            .max_by(|a, b| by_y(&a.1, &b.1))
            .map_or(0, |m| m.0);
        let mut keep = [0, min, max];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(chunk[k]);
                last = k;
            }
        }
    }
    out.push(points[n - 1]);
    out
}

/// Tick labels for an axis spanning `range`: integers for integer data (no label between
/// them), else as many decimals as the tick spacing needs; never `-0`.
fn tick_formatter(range: f64, integral: bool) -> impl Fn(&f64) -> String {
    let decimals = if range > 0.0 && range.is_finite() {
        (-(range / 10.0).log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        1
    };
    move |v: &f64| {
        let text = if integral {
            if (v - v.round()).abs() > 1e-9 {
                return String::new();
            }
            format!("{:.0}", v.round())
        } else {
            format!("{v:.decimals$}")
        };
        // `-0`, `-0.00`: a rounding of a tiny negative number, not a sign worth showing.
        if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
            text[1..].to_string()
        } else {
            text
        }
    }
}

/// The range of `values`, widened by 5% (or by 0.5 when all are equal); `0..1` when empty.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    }
}

/// An SVG plot of a training history: `fitness` lines (such as best, mean and worst fitness per
/// generation, as `(generation, fitness)` points) on the left axis, and `validation` lines
/// (such as validation accuracy, `(generation, accuracy)`) dashed on the right axis.
///
/// A run's [`History`](crate::run::History) plots with this; it works on any series.
///
/// ```
/// use bitsmnist_core::display::fitness_plot_svg;
/// let best = [(0.0, 0.5), (1.0, 0.7), (2.0, 0.8)];
/// let mean = [(0.0, 0.3), (1.0, 0.4), (2.0, 0.6)];
/// let acc = [(0.0, 0.55), (2.0, 0.9)];
/// let svg = fitness_plot_svg(&[("best", &best), ("mean", &mean)], &[("validation accuracy", &acc)]);
/// assert!(svg.contains("<svg") && svg.contains("best") && svg.contains("validation accuracy"));
/// ```
pub fn fitness_plot_svg(
    fitness: &[(&str, &[(f64, f64)])],
    validation: &[(&str, &[(f64, f64)])],
) -> String {
    fitness_plot(fitness, validation).to_svg()
}

/// The [`LinePlot`] behind [`fitness_plot_svg`], to adjust before rendering (size, ranges).
pub fn fitness_plot(
    fitness: &[(&str, &[(f64, f64)])],
    validation: &[(&str, &[(f64, f64)])],
) -> LinePlot {
    let mut p = LinePlot::new("Training history")
        .x_label("generation")
        .y_label("fitness")
        .y2_label("validation accuracy");
    for (name, pts) in fitness {
        p = p.line(*name, pts);
    }
    for (name, pts) in validation {
        p = p.secondary_line(*name, pts);
    }
    p
}

impl crate::run::History {
    /// The [`LinePlot`] of the run: per step the objective (best, mean and worst where they
    /// differ, as for a population; one line where they do not, and for a climb, which has one
    /// objective however many networks climb, as the desktop app draws it), the validation
    /// accuracy dashed on the right axis; for gradient training (the learning curve) the loss,
    /// with the training and test accuracy on the right axis.
    pub fn plot(&self) -> LinePlot {
        use crate::run::Detail;
        let pts = |f: fn(&crate::run::Record) -> f64| -> Vec<(f64, f64)> {
            self.records.iter().map(|r| (r.step as f64, f(r))).collect()
        };
        let gradient = matches!(
            self.records.first().map(|r| &r.detail),
            Some(Detail::Gradient { .. })
        );
        let climb = matches!(
            self.records.first().map(|r| &r.detail),
            Some(Detail::Climb { .. })
        );
        let spread = self
            .records
            .iter()
            .any(|r| r.best != r.worst || r.mean != r.best);
        let validation: Vec<(f64, f64)> = self
            .validation()
            .into_iter()
            .map(|(g, a)| (g as f64, a))
            .collect();
        let (best, mean, worst) = (pts(|r| r.best), pts(|r| r.mean), pts(|r| r.worst));
        let mut p = if gradient {
            let loss: Vec<(f64, f64)> = self
                .records
                .iter()
                .filter_map(|r| r.loss().map(|l| (r.step as f64, l)))
                .collect();
            fitness_plot(&[("loss", &loss)], &[("train accuracy", &best)])
                .x_label("epoch")
                .y_label("loss")
                .y2_label("accuracy")
        } else if climb {
            fitness_plot(&[("objective", &best)], &[])
                .y_label("objective (fraction of its maximum)")
        } else if spread {
            fitness_plot(&[("best", &best), ("mean", &mean), ("worst", &worst)], &[])
        } else {
            fitness_plot(&[("fitness", &best)], &[])
        };
        if !validation.is_empty() {
            let name = if gradient {
                "test accuracy"
            } else {
                "validation accuracy"
            };
            p = p.secondary_line(name, &validation);
        }
        p
    }

    /// The plot of [`plot`](Self::plot) as SVG.
    pub fn to_svg(&self) -> String {
        self.plot().to_svg()
    }

    /// Rich display in evcxr notebooks: the plot as SVG.
    pub fn evcxr_display(&self) {
        super::emit_svg(&self.to_svg());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts a tag, checks the document is one `<svg>` element with balanced tags.
    fn check_svg(svg: &str) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        // Every opening tag is closed by a `</...>` or closes itself with `/>`.
        let ends = svg.matches("</").count();
        let decl = svg.matches("<?").count() + svg.matches("<!").count();
        let opens = svg.matches('<').count() - ends - decl;
        assert_eq!(opens, ends + svg.matches("/>").count(), "unbalanced SVG");
    }

    #[test]
    fn fitness_plot_has_lines_legend_and_both_axes() {
        let best: Vec<(f64, f64)> = (0..50)
            .map(|g| (g as f64, 1.0 - 0.5 / (g as f64 + 1.0)))
            .collect();
        let mean: Vec<(f64, f64)> = best.iter().map(|&(g, f)| (g, f - 0.1)).collect();
        let worst: Vec<(f64, f64)> = best.iter().map(|&(g, f)| (g, f - 0.3)).collect();
        let acc = [(0.0, 0.5), (10.0, 0.7), (20.0, f64::NAN), (49.0, 0.95)];
        let svg = fitness_plot_svg(
            &[("best", &best), ("mean", &mean), ("worst", &worst)],
            &[("validation accuracy", &acc)],
        );
        check_svg(&svg);
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        for text in [
            "best",
            "mean",
            "worst",
            "validation accuracy",
            "generation",
            "fitness",
            "Training history",
        ] {
            assert!(
                svg.contains(&format!(">{text}<")) || svg.contains(&format!(">\n{text}\n<")),
                "missing {text}"
            );
        }
        // Three solid polylines, plus legend samples.
        assert!(svg.matches("<polyline").count() >= 3);
    }

    fn record(
        step: u64,
        best: f64,
        mean: f64,
        worst: f64,
        detail: crate::run::Detail,
    ) -> crate::run::Record {
        crate::run::Record {
            step,
            best,
            mean,
            worst,
            validation_accuracy: step.is_multiple_of(10).then_some(0.5),
            elapsed_secs: step as f64,
            steps_per_sec: 1.0,
            detail,
        }
    }

    fn climb(step: u64, spread: f64) -> crate::run::Record {
        let f = 0.5 + 0.4 * (step as f64 / (step as f64 + 50.0));
        let detail = crate::run::Detail::Climb {
            trials: step * 100,
            kept: step,
            flips_per_sec: 1000.0,
        };
        record(step, f, f - spread / 2.0, f - spread, detail)
    }

    #[test]
    fn climb_history_draws_one_objective_line() {
        // An ensemble's members differ, but the climb still has one objective.
        let history = crate::run::History {
            records: (0..=40).map(|g| climb(g, 0.01)).collect(),
        };
        let p = history.plot();
        assert_eq!(p.lines().len(), 1);
        assert_eq!(p.lines()[0].name, "objective");
        let svg = history.to_svg();
        check_svg(&svg);
        // One solid line and its legend sample; the dashed validation line is a path.
        assert!(!svg.contains(">best<") && !svg.contains(">worst<"));
        assert!(svg.contains(">objective<") || svg.contains(">\nobjective\n<"));
        // A population whose candidates all agree also gets one line.
        let pop = |g: u64, spread: f64| {
            record(
                g,
                0.8,
                0.8 - spread,
                0.8 - spread,
                crate::run::Detail::Population {
                    mutation_scale: 1.0,
                },
            )
        };
        let same = crate::run::History {
            records: (0..5).map(|g| pop(g, 0.0)).collect(),
        };
        assert_eq!(same.plot().lines().len(), 1);
        let spread = crate::run::History {
            records: (0..5).map(|g| pop(g, 0.1)).collect(),
        };
        assert_eq!(spread.plot().lines().len(), 3);
    }

    /// The text of every `<text>` element.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    #[test]
    fn integer_axes_have_integer_ticks() {
        let pts: Vec<(f64, f64)> = (0..=10_000)
            .step_by(100)
            .map(|g| (g as f64, (g / 100) as f64 - 50.0))
            .collect();
        let svg = LinePlot::new("t").line("a", &pts).to_svg();
        let ticks: Vec<String> = texts(&svg)
            .into_iter()
            .filter(|t| {
                t.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '-')
            })
            .collect();
        assert!(ticks.iter().any(|t| t == "10000"), "{ticks:?}");
        assert!(ticks.iter().any(|t| t == "0"), "{ticks:?}");
        for t in &ticks {
            assert!(!t.contains('.'), "{t} in {ticks:?}");
            assert!(t != "-0", "{ticks:?}");
        }
        let f = tick_formatter(1.1, false);
        assert_eq!(f(&-0.0001), "0.0");
        assert_eq!(f(&0.5), "0.5");
        assert_eq!(tick_formatter(20.0, true)(&-0.0), "0");
        assert_eq!(tick_formatter(20.0, true)(&2.5), "");
    }

    #[test]
    fn long_histories_are_thinned_keeping_ends_and_extremes() {
        let mut records: Vec<crate::run::Record> = (0..100_000).map(|g| climb(g, 0.0)).collect();
        records[54_321].best = 0.01; // one dip
        let history = crate::run::History { records };
        let svg = history.to_svg();
        check_svg(&svg);
        assert!(svg.len() < 60_000, "{} bytes", svg.len());
        let pts: Vec<(f64, f64)> = history
            .records
            .iter()
            .map(|r| (r.step as f64, r.best))
            .collect();
        let thinned = thin(pts.clone());
        assert!(thinned.len() <= MAX_POINTS);
        assert_eq!(thinned.first(), pts.first());
        assert_eq!(thinned.last(), pts.last());
        assert!(thinned.contains(&(54_321.0, 0.01)));
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(thin(pts[..10].to_vec()), pts[..10].to_vec());
    }

    #[test]
    fn gradient_history_is_a_learning_curve() {
        let history = crate::run::History {
            records: (1..=5)
                .map(|e| {
                    let detail = crate::run::Detail::Gradient {
                        epochs: 5,
                        loss: 1.0 / e as f64,
                        learning_rate: 1e-3,
                        examples_per_sec: 1000.0,
                    };
                    let mut r = record(e, 0.8 + 0.02 * e as f64, 0.0, 0.0, detail);
                    r.validation_accuracy = Some(0.85 + 0.01 * e as f64);
                    r
                })
                .collect(),
        };
        let p = history.plot();
        assert_eq!(p.lines()[0].name, "loss");
        let right: Vec<&str> = p
            .secondary_lines()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(right, ["train accuracy", "test accuracy"]);
        let svg = history.to_svg();
        check_svg(&svg);
        for t in ["loss", "epoch", "test accuracy"] {
            assert!(texts(&svg).iter().any(|x| x == t), "missing {t}");
        }
        // Epochs are integers.
        assert!(texts(&svg).iter().any(|x| x == "3"));
        assert!(!texts(&svg).iter().any(|x| x == "3.0"));
    }

    #[test]
    fn empty_and_flat_plots_still_render() {
        let svg = LinePlot::new("nothing").to_svg();
        check_svg(&svg);
        let svg = LinePlot::new("flat")
            .line("", &[(1.0, 2.0), (1.0, 2.0)])
            .size(300, 200)
            .to_svg();
        check_svg(&svg);
        assert!(svg.contains("width=\"300\""));
        assert_eq!(span([3.0, 3.0].into_iter()), (2.5, 3.5));
        assert_eq!(span(std::iter::empty()), (0.0, 1.0));
        let p = LinePlot::new("t").line("a", &[(0.0, 1.0)]);
        assert_eq!(p.to_string(), "LinePlot \"t\": a (1 points);");
    }
}
