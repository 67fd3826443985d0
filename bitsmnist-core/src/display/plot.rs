//! Line plots as SVG, drawn with `plotters` (SVG backend only: no fonts or system libraries;
//! text is left to the browser).

use std::fmt;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PALETTE, SVG, emit, escape_html};

/// How a [`Series`] is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Style {
    /// A line, with a marker on every point when the series is sparse (at most
    /// [`SPARSE_POINTS`] points): a few samples joined by straight ramps would read as
    /// measured in between.
    #[default]
    Auto,
    /// A line only.
    Line,
    /// Markers only, no line.
    Points,
    /// A line and a marker on every point.
    LineAndPoints,
}

/// Most points a [`Style::Auto`] series may have to get markers: validation every 500 of
/// 5,000 generations (11 points) or 30 epochs get them; a sweep of 50 values reads as a curve,
/// and one value per generation is one.
pub const SPARSE_POINTS: usize = 40;

/// One named series: `(x, y)` points in order. Points with a non-finite coordinate are
/// skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text (no legend entry when empty).
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: Style,
}

impl Series {
    /// Whether each point gets a marker, and whether the points are joined by a line.
    fn marks(&self) -> (bool, bool) {
        match self.style {
            Style::Auto => (self.points.len() <= SPARSE_POINTS, true),
            Style::Line => (false, true),
            Style::Points => (true, false),
            Style::LineAndPoints => (true, true),
        }
    }
}

/// A labelled rule across the plotting area: a dashed line at one x (vertical) or one y of
/// the left axis (horizontal), such as a default setting or a target.
#[derive(Clone, Debug, PartialEq)]
struct Rule {
    vertical: bool,
    at: f64,
    label: String,
}

/// A line plot with a left axis and an optional right (secondary) axis, rendered to SVG.
///
/// Used for training histories (fitness on the left, validation accuracy in percent on the
/// right: see [`fitness_plot_svg`]) and for any sweep in a notebook. Shows in a notebook as
/// `image/svg+xml`. Made to be printed: the legend sits below the chart, off the data;
/// sparse series get markers ([`Style::Auto`]); an axis of fractions can read in percent
/// ([`y_percent`](Self::y_percent)); a setting is marked by a labelled dashed rule
/// ([`vline`](Self::vline)), not by a line on a made-up second axis.
///
/// ```
/// use bitsmnist_core::display::LinePlot;
/// let svg = LinePlot::new("squares")
///     .x_label("x")
///     .line("x²", &[(0.0, 0.0), (1.0, 1.0), (2.0, 4.0)])
///     .vline(1.5, "halfway")
///     .to_svg();
/// assert!(svg.starts_with("<svg") && svg.contains("squares") && svg.contains("halfway"));
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
    y_percent: bool,
    y2_percent: bool,
    rules: Vec<Rule>,
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
            y_percent: false,
            y2_percent: false,
            rules: Vec::new(),
        }
    }

    /// Retitles the plot.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
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

    /// Size in pixels, the legend below the chart included.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width.max(64), height.max(64));
        self
    }

    /// Fixes the left axis range (default: fitted to the data), in the data's units (fractions
    /// for a [percent](Self::y_percent) axis).
    pub fn y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    /// Fixes the right axis range (default: fitted to the data), in the data's units.
    pub fn y2_range(mut self, low: f64, high: f64) -> Self {
        self.y2_range = Some((low, high));
        self
    }

    /// The left axis's values are fractions, labelled as percentages (0.95 reads `95%`), as
    /// every accuracy in the project's text is.
    ///
    /// ```
    /// use bitsmnist_core::display::LinePlot;
    /// let svg = LinePlot::new("accuracy")
    ///     .line("test", &[(1.0, 0.90), (2.0, 0.95), (3.0, 0.97)])
    ///     .y_percent()
    ///     .to_svg();
    /// assert!(svg.contains("95%"));
    /// ```
    pub fn y_percent(mut self) -> Self {
        self.y_percent = true;
        self
    }

    /// The right axis's values are fractions, labelled as percentages.
    pub fn y2_percent(mut self) -> Self {
        self.y2_percent = true;
        self
    }

    /// Adds a series on the left axis: a line, with markers when it is sparse
    /// ([`Style::Auto`]).
    pub fn line(self, name: impl Into<String>, points: &[(f64, f64)]) -> Self {
        self.add(false, name, points, Style::Auto)
    }

    /// Adds markers without a line on the left axis, for samples that are not a curve.
    pub fn points(self, name: impl Into<String>, points: &[(f64, f64)]) -> Self {
        self.add(false, name, points, Style::Points)
    }

    /// Adds a dashed series on the right axis (markers when sparse, as [`line`](Self::line)).
    pub fn secondary_line(self, name: impl Into<String>, points: &[(f64, f64)]) -> Self {
        self.add(true, name, points, Style::Auto)
    }

    /// Adds a series drawn as `style`, on the right axis when `secondary`.
    pub fn series(
        self,
        secondary: bool,
        name: impl Into<String>,
        points: &[(f64, f64)],
        style: Style,
    ) -> Self {
        self.add(secondary, name, points, style)
    }

    fn add(
        mut self,
        secondary: bool,
        name: impl Into<String>,
        points: &[(f64, f64)],
        style: Style,
    ) -> Self {
        let s = Series {
            name: name.into(),
            points: points.to_vec(),
            style,
        };
        if secondary {
            self.secondary.push(s);
        } else {
            self.series.push(s);
        }
        self
    }

    /// Marks `x` with a dashed vertical rule across the plotting area, `label` written beside
    /// its top end (the x range grows to include it).
    ///
    /// ```
    /// use bitsmnist_core::display::LinePlot;
    /// let p = LinePlot::new("share of 1-bits")
    ///     .line("1-bits", &[(0.0, 0.2), (100.0, 0.1), (200.0, 0.02)])
    ///     .vline(93.5, "default threshold 93.5");
    /// assert!(p.to_svg().contains("default threshold 93.5"));
    /// ```
    pub fn vline(mut self, x: f64, label: impl Into<String>) -> Self {
        self.rules.push(Rule {
            vertical: true,
            at: x,
            label: label.into(),
        });
        self
    }

    /// Marks `y` of the left axis (in its data units) with a dashed horizontal rule, `label`
    /// written above its right end (the y range grows to include it).
    pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.rules.push(Rule {
            vertical: false,
            at: y,
            label: label.into(),
        });
        self
    }

    /// The series on the left axis.
    pub fn lines(&self) -> &[Series] {
        &self.series
    }

    /// The series on the right axis.
    pub fn secondary_lines(&self) -> &[Series] {
        &self.secondary
    }

    /// Whether the left and right axes are labelled in percent.
    pub fn percent_axes(&self) -> (bool, bool) {
        (self.y_percent, self.y2_percent)
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

    /// The legend's entries: `(name, colour index, secondary)` of every named series.
    fn legend_entries(&self) -> Vec<(&Series, usize, bool)> {
        let left = self.series.iter().enumerate().map(|(i, s)| (s, i, false));
        let right = self
            .secondary
            .iter()
            .enumerate()
            .map(|(i, s)| (s, self.series.len() + i, true));
        left.chain(right)
            .filter(|(s, _, _)| !s.name.is_empty())
            .collect()
    }

    fn draw(&self, out: &mut String) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
        // Percent axes draw their data times 100, so that ticks fall on round percentages.
        let scale = |percent: bool| if percent { 100.0 } else { 1.0 };
        let (ys, zs) = (scale(self.y_percent), scale(self.y2_percent));
        let left =
            |s: &Series| -> Vec<(f64, f64)> { finite(s).map(|(x, y)| (x, y * ys)).collect() };
        let right =
            |s: &Series| -> Vec<(f64, f64)> { finite(s).map(|(x, y)| (x, y * zs)).collect() };
        let vrules = self.rules.iter().filter(|r| r.vertical && r.at.is_finite());
        let hrules = self
            .rules
            .iter()
            .filter(|r| !r.vertical && r.at.is_finite());
        let all = || self.series.iter().chain(&self.secondary);
        // Integer data (steps, generations, counts) gets integer tick labels.
        let integral =
            |mut vals: Box<dyn Iterator<Item = f64> + '_>| vals.all(|v| v.fract() == 0.0);
        let x_int = integral(Box::new(
            all()
                .flat_map(|s| finite(s).map(|p| p.0))
                .chain(vrules.clone().map(|r| r.at)),
        ));
        let y_int = !self.y_percent
            && integral(Box::new(
                self.series.iter().flat_map(|s| finite(s).map(|p| p.1)),
            ));
        let z_int = !self.y2_percent
            && integral(Box::new(
                self.secondary.iter().flat_map(|s| finite(s).map(|p| p.1)),
            ));
        let (x0, x1) = span(
            all()
                .flat_map(|s| finite(s).map(|p| p.0))
                .chain(vrules.clone().map(|r| r.at)),
        );
        let (y0, y1) = self.y_range.map_or_else(
            || {
                span(
                    self.series
                        .iter()
                        .flat_map(|s| finite(s).map(|p| p.1 * ys))
                        .chain(hrules.clone().map(|r| r.at * ys)),
                )
            },
            |(a, b)| (a * ys, b * ys),
        );
        let (z0, z1) = self.y2_range.map_or_else(
            || {
                span(
                    self.secondary
                        .iter()
                        .flat_map(|s| finite(s).map(|p| p.1 * zs)),
                )
            },
            |(a, b)| (a * zs, b * zs),
        );

        // The legend gets its own strip below the chart, so that it never hides data.
        let entries = self.legend_entries();
        let rows = legend_rows(&entries, self.size.0);
        let legend_height = if rows.is_empty() {
            0
        } else {
            rows.len() as u32 * LEGEND_ROW + 6
        };
        let root = SVGBackend::with_string(out, self.size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (upper, lower) = root.split_vertically(self.size.1.saturating_sub(legend_height));
        let mut builder = ChartBuilder::on(&upper);
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
        let x_fmt = tick_formatter(x0, x1, x_int, false);
        let y_fmt = tick_formatter(y0, y1, y_int, self.y_percent);
        let z_fmt = tick_formatter(z0, z1, z_int, self.y2_percent);
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_labels(LABELS)
            .y_labels(LABELS)
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
                .y_labels(LABELS)
                .y_label_formatter(&z_fmt)
                .draw()
                .map_err(err)?;
        }

        // Rules first, under the data.
        let rule_style = RGBColor(110, 110, 110).stroke_width(1);
        let label_font = ("sans-serif", 13).into_font().color(&RGBColor(60, 60, 60));
        for r in vrules {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(r.at, y0), (r.at, y1)],
                    5,
                    4,
                    rule_style,
                ))
                .map_err(err)?;
            // The label reads away from the plot's nearer edge, inside the plotting area.
            let right_half = r.at > x0 + 0.6 * (x1 - x0);
            let (dx, anchor) = if right_half {
                (-5, HPos::Right)
            } else {
                (5, HPos::Left)
            };
            let style = label_font.clone().pos(Pos::new(anchor, VPos::Top));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((r.at, y1)) + Text::new(r.label.clone(), (dx, 4), style),
                ))
                .map_err(err)?;
        }
        for r in hrules {
            let y = r.at * ys;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, y), (x1, y)],
                    5,
                    4,
                    rule_style,
                ))
                .map_err(err)?;
            let style = label_font.clone().pos(Pos::new(HPos::Right, VPos::Bottom));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x1, y)) + Text::new(r.label.clone(), (-5, -3), style),
                ))
                .map_err(err)?;
        }

        for (i, s) in self.series.iter().enumerate() {
            let style = color(i).stroke_width(2);
            let (markers, line) = s.marks();
            let pts = thin(left(s));
            if line {
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(err)?;
            }
            if markers {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&p| Circle::new(p, MARKER, color(i).filled())),
                    )
                    .map_err(err)?;
            }
        }
        for (i, s) in self.secondary.iter().enumerate() {
            let c = color(self.series.len() + i);
            let (markers, line) = s.marks();
            let pts = thin(right(s));
            if line {
                chart
                    .draw_secondary_series(DashedLineSeries::new(
                        pts.clone(),
                        6,
                        4,
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
            if markers {
                chart
                    .draw_secondary_series(pts.iter().map(|&p| Circle::new(p, MARKER, c.filled())))
                    .map_err(err)?;
            }
        }
        draw_legend(&lower, &rows).map_err(err)?;
        root.present().map_err(err)?;
        Ok(())
    }
}

/// Radius of a point marker, in pixels.
const MARKER: u32 = 3;
/// Height of one legend row, in pixels.
const LEGEND_ROW: u32 = 20;
/// Width of a legend entry's sample (line and marker), in pixels.
const LEGEND_SAMPLE: i32 = 26;

/// Colour `i` of the palette.
fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// A legend entry as laid out: its series' name, colour, line and marker, and its width.
struct Entry {
    name: String,
    color: RGBColor,
    dashed: bool,
    line: bool,
    marker: bool,
    width: i32,
}

/// The legend entries in rows that fit `width` pixels, in order. Text widths are estimated
/// (SVG text is measured by the browser, not here): 7 pixels a character at 13 pixels,
/// generous for sans-serif.
fn legend_rows(entries: &[(&Series, usize, bool)], width: u32) -> Vec<Vec<Entry>> {
    let room = width as i32 - 24;
    let mut rows: Vec<Vec<Entry>> = Vec::new();
    let mut used = 0;
    for &(s, i, secondary) in entries {
        let (marker, line) = s.marks();
        let w = LEGEND_SAMPLE + 2 + 7 * s.name.chars().count() as i32 + 18;
        if rows.is_empty() || used + w > room {
            rows.push(Vec::new());
            used = 0;
        }
        used += w;
        rows.last_mut().expect("a row was pushed").push(Entry {
            name: s.name.clone(),
            color: color(i),
            dashed: secondary,
            line,
            marker,
            width: w,
        });
    }
    rows
}

/// Draws the legend rows centred in `area`.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    rows: &[Vec<Entry>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let width = area.dim_in_pixel().0 as i32;
    let font = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|e| e.width).sum();
        let mut x = (width - total).max(0) / 2;
        let y = r as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        for e in row {
            let style = e.color.stroke_width(2);
            if e.line && e.dashed {
                for (a, b) in [(0, 8), (13, 21)] {
                    area.draw(&PathElement::new(vec![(x + a, y), (x + b, y)], style))?;
                }
            } else if e.line {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + LEGEND_SAMPLE - 4, y)],
                    style,
                ))?;
            }
            if e.marker {
                area.draw(&Circle::new(
                    (x + (LEGEND_SAMPLE - 4) / 2, y),
                    MARKER,
                    e.color.filled(),
                ))?;
            }
            area.draw(&Text::new(
                e.name.clone(),
                (x + LEGEND_SAMPLE + 2, y),
                font.clone(),
            ))?;
            x += e.width;
        }
    }
    Ok(())
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

/// Bold ticks (labelled) per axis, set on the mesh so that [`tick_formatter`] knows them.
const LABELS: usize = 11;

/// Tick labels for an axis from `lo` to `hi`: integers for integer data (no label between
/// them), else as many decimals as the ticks plotters places there need (the same key points
/// the mesh draws, so neighbouring labels never round to the same text); a `%` after each for
/// a percent axis; never `-0`.
fn tick_formatter(lo: f64, hi: f64, integral: bool, percent: bool) -> impl Fn(&f64) -> String {
    use plotters::coord::ranged1d::{BoldPoints, Ranged};
    use plotters::coord::types::RangedCoordf64;
    let decimals = if lo.is_finite() && hi.is_finite() && hi > lo {
        let ticks = RangedCoordf64::from(lo..hi).key_points(BoldPoints(LABELS));
        (0..6)
            .find(|&d| {
                let f = 10f64.powi(d);
                ticks
                    .iter()
                    .all(|t| ((t * f).round() - t * f).abs() < 1e-6 * f.max(1.0))
            })
            .unwrap_or(6) as usize
    } else {
        1
    };
    let unit = if percent { "%" } else { "" };
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
        let text = if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
            text[1..].to_string()
        } else {
            text
        };
        format!("{text}{unit}")
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
/// (such as validation accuracy, `(generation, accuracy)` with the accuracy a fraction) dashed
/// on the right axis, which reads in percent. Sparse lines (validation every few hundred
/// generations) get a marker on each point; the legend sits below the chart.
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
        .y2_label("validation accuracy")
        .y2_percent();
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
    /// with the training and test accuracy on the right axis. Accuracies read in percent.
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
        let f = tick_formatter(0.0, 1.1, false, false);
        assert_eq!(f(&-0.0001), "0.0");
        assert_eq!(f(&0.5), "0.5");
        assert_eq!(tick_formatter(0.0, 20.0, true, false)(&-0.0), "0");
        assert_eq!(tick_formatter(0.0, 20.0, true, false)(&2.5), "");
        assert_eq!(tick_formatter(80.0, 100.0, false, true)(&95.0), "95%");
        assert_eq!(tick_formatter(0.0, 2.0, false, true)(&-0.001), "0.0%");
        // Ticks every 0.05 need two decimals (0.85 is not 0.8).
        assert_eq!(tick_formatter(0.385, 0.94, false, false)(&0.85), "0.85");
    }

    #[test]
    fn neighbouring_tick_labels_differ() {
        use plotters::coord::ranged1d::{BoldPoints, Ranged};
        use plotters::coord::types::RangedCoordf64;
        for (lo, hi) in [
            (0.385, 0.94),
            (88.5, 97.9),
            (0.0, 1.0),
            (12.31, 12.93),
            (-0.2, 0.85),
            (0.99, 1.0),
            (1e-4, 3e-4),
        ] {
            let f = tick_formatter(lo, hi, false, false);
            let ticks = RangedCoordf64::from(lo..hi).key_points(BoldPoints(LABELS));
            let labels: Vec<String> = ticks.iter().map(&f).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "{lo}..{hi}");
            // And no more decimals than needed: some label ends in a non-zero digit.
            assert!(
                labels.iter().any(|l| !l.contains('.') || !l.ends_with('0')),
                "{labels:?}"
            );
        }
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

    /// The `<text>` elements as `(x, y, text)`.
    fn placed_texts(svg: &str) -> Vec<(f64, f64, String)> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let head = &t[..t.find('>')?];
                let attr = |name: &str| -> Option<f64> {
                    let at = head.find(&format!(" {name}=\""))? + name.len() + 3;
                    head[at..].split('"').next()?.parse().ok()
                };
                let body = &t[t.find('>')? + 1..];
                Some((
                    attr("x")?,
                    attr("y")?,
                    body[..body.find("</text>")?].trim().to_string(),
                ))
            })
            .collect()
    }

    #[test]
    fn legend_sits_below_the_plotting_area() {
        // A curve that ends low on the right, where a corner legend used to cover it.
        let loss: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 2.0 / e as f64)).collect();
        let svg = LinePlot::new("t")
            .x_label("epoch")
            .line("loss", &loss)
            .secondary_line("test accuracy", &[(1.0, 0.8), (30.0, 0.95)])
            .y2_percent()
            .size(640, 300)
            .to_svg();
        check_svg(&svg);
        let texts = placed_texts(&svg);
        let y_of = |t: &str| texts.iter().find(|x| x.2 == t).map(|x| x.1);
        let axis = y_of("epoch").expect("x axis label");
        for name in ["loss", "test accuracy"] {
            let y = y_of(name).unwrap_or_else(|| panic!("no legend entry {name}: {texts:?}"));
            assert!(
                y > axis,
                "legend entry {name} at y {y}, above the x axis label at {axis}"
            );
            assert!(y < 300.0);
        }
        // No legend box on the chart any more.
        assert!(!svg.contains("opacity=\"0.85\""));
    }

    #[test]
    fn percent_axes_label_fractions_as_percentages() {
        let p = LinePlot::new("t")
            .line("accuracy", &[(0.0, 0.5), (1.0, 0.75), (2.0, 1.0)])
            .y_percent();
        assert_eq!(p.percent_axes(), (true, false));
        let ticks: Vec<String> = texts(&p.to_svg())
            .into_iter()
            .filter(|t| t.ends_with('%'))
            .collect();
        assert!(
            ticks.iter().any(|t| t == "60%" || t == "60.0%"),
            "{ticks:?}"
        );
        assert!(!ticks.iter().any(|t| t.starts_with("0.")), "{ticks:?}");
        // Histories: accuracies in percent on the right axis.
        let history = crate::run::History {
            records: (0..=40).map(|g| climb(g, 0.0)).collect(),
        };
        assert_eq!(history.plot().percent_axes(), (false, true));
        assert!(
            texts(&history.to_svg())
                .iter()
                .any(|t| t == "50%" || t == "50.0%")
        );
    }

    #[test]
    fn sparse_series_get_markers_dense_ones_lines() {
        let dense: Vec<(f64, f64)> = (0..=5000).map(|g| (g as f64, g as f64)).collect();
        let sparse: Vec<(f64, f64)> = (0..=10).map(|k| (500.0 * k as f64, 0.9)).collect();
        let circles = |p: LinePlot| p.to_svg().matches("<circle").count();
        assert_eq!(circles(LinePlot::new("t").line("d", &dense)), 0);
        // One marker per point, and one in the legend.
        assert_eq!(
            circles(
                LinePlot::new("t")
                    .line("d", &dense)
                    .secondary_line("s", &sparse)
            ),
            11 + 1
        );
        let pts = LinePlot::new("t").points("p", &sparse[..3]);
        assert_eq!(pts.lines()[0].style, Style::Points);
        let svg = pts.to_svg();
        assert_eq!(svg.matches("<circle").count(), 3 + 1);
        // No line in the series' colour (the axes are polylines too).
        let blue = "stroke=\"#1F77B4\"";
        assert!(
            !svg.split("<polyline")
                .skip(1)
                .any(|t| t[..t.find('>').unwrap()].contains(blue)),
            "points only: no line"
        );
        assert!(
            LinePlot::new("t")
                .line("l", &sparse)
                .to_svg()
                .split("<polyline")
                .skip(1)
                .any(|t| t[..t.find('>').unwrap()].contains(blue))
        );
        let forced = LinePlot::new("t").series(false, "", &sparse, Style::Line);
        assert_eq!(circles(forced), 0);
        // Validation every 500 of 5,000 generations.
        let mut records: Vec<crate::run::Record> = (0..=5000).map(|g| climb(g, 0.0)).collect();
        for r in &mut records {
            r.validation_accuracy = r.step.is_multiple_of(500).then_some(0.9);
        }
        let svg = crate::run::History { records }.to_svg();
        assert_eq!(svg.matches("<circle").count(), 11 + 1);
    }

    #[test]
    fn vertical_marker_is_a_labelled_rule_without_a_second_axis() {
        let sweep: Vec<(f64, f64)> = (0..=255)
            .step_by(5)
            .map(|t| (t as f64, 1.0 - t as f64 / 255.0))
            .collect();
        let p = LinePlot::new("t")
            .y_label("share")
            .line("", &sweep)
            .vline(93.5, "default 93.5")
            .hline(0.5, "half");
        let svg = p.to_svg();
        check_svg(&svg);
        let placed = placed_texts(&svg);
        assert!(placed.iter().any(|t| t.2 == "default 93.5"), "{placed:?}");
        assert!(placed.iter().any(|t| t.2 == "half"), "{placed:?}");
        // A dashed rule is a run of short segments at one x; no right axis appears (its ticks
        // would stand right of the plotting area).
        assert!(p.secondary_lines().is_empty());
        let right_ticks = placed
            .iter()
            .filter(|t| t.0 > 680.0 && t.2.chars().all(|c| c.is_ascii_digit()))
            .count();
        assert_eq!(right_ticks, 0, "{placed:?}");
        // The x range includes a rule outside the data.
        let svg = LinePlot::new("t")
            .line("", &[(0.0, 0.0), (1.0, 1.0)])
            .vline(3.0, "far")
            .to_svg();
        assert!(texts(&svg).iter().any(|t| t == "3"));
    }
}
