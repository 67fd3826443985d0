//! Metrics as HTML: the confusion matrix as a heat map, and [`Evaluation`] reports.

use std::fmt::Write as _;

use super::{CELL_STYLE, Gallery, HEAD_STYLE, HTML, TABLE_STYLE, emit, escape_html, thousands};
use crate::datasets::Split;
use crate::statistics::{ConfusionMatrix, Evaluation};

fn class_name<S: AsRef<str>>(names: &[S], c: usize) -> String {
    names
        .get(c)
        .map_or_else(|| c.to_string(), |s| s.as_ref().to_string())
}

/// Background of a heat-map cell: the diagonal blue, mistakes red, stronger for a larger share
/// of the true class (mistakes on a square-root scale so that rare ones still show).
fn heat(share: f64, diagonal: bool) -> (String, &'static str) {
    let (alpha, rgb) = if diagonal {
        (share, "31,119,180")
    } else {
        (share.sqrt(), "214,39,40")
    };
    let text = if alpha > 0.55 { "#fff" } else { "#000" };
    (format!("rgba({rgb},{alpha:.3})"), text)
}

impl ConfusionMatrix {
    /// The matrix as an HTML heat map (rows: true class, columns: predicted class, shaded by
    /// the share of the row), with the examples and recall of each class and the precision of
    /// each prediction. `names` label the classes where given (`&[] as &[&str]` for numbers).
    pub fn to_html_named<S: AsRef<str>>(&self, names: &[S]) -> String {
        let k = self.classes();
        let rows: Vec<u64> = (0..k)
            .map(|t| (0..k).map(|p| self.count(t, p)).sum())
            .collect();
        let cols: Vec<u64> = (0..k)
            .map(|p| (0..k).map(|t| self.count(t, p)).sum())
            .collect();
        let mut s = format!(
            "<table style=\"{TABLE_STYLE}\"><tr><th style=\"{HEAD_STYLE}\">true \\ predicted</th>"
        );
        for p in 0..k {
            let _ = write!(
                s,
                "<th style=\"{HEAD_STYLE}\">{}</th>",
                escape_html(&class_name(names, p))
            );
        }
        let _ = write!(
            s,
            "<th style=\"{HEAD_STYLE}\">examples</th><th style=\"{HEAD_STYLE}\">recall</th></tr>"
        );
        let recall = self.recall();
        for t in 0..k {
            let tn = escape_html(&class_name(names, t));
            let _ = write!(s, "<tr><th style=\"{HEAD_STYLE}\">{tn}</th>");
            for p in 0..k {
                let c = self.count(t, p);
                let share = if rows[t] > 0 {
                    c as f64 / rows[t] as f64
                } else {
                    0.0
                };
                let (bg, fg) = heat(share, t == p);
                let _ = write!(
                    s,
                    "<td style=\"{CELL_STYLE};background:{bg};color:{fg}\" title=\"true {tn}, predicted {}: {} ({:.1}% of {tn})\">{}</td>",
                    escape_html(&class_name(names, p)),
                    c,
                    100.0 * share,
                    thousands(c as usize)
                );
            }
            let r = recall[t].map_or_else(|| "–".into(), |r| format!("{:.1}%", 100.0 * r));
            let _ = write!(
                s,
                "<td style=\"{CELL_STYLE}\">{}</td><td style=\"{CELL_STYLE}\"><b>{r}</b></td></tr>",
                thousands(rows[t] as usize)
            );
        }
        let _ = write!(s, "<tr><th style=\"{HEAD_STYLE}\">precision</th>");
        for (p, &col) in cols.iter().enumerate() {
            let v = if col > 0 {
                format!("{:.1}%", 100.0 * self.count(p, p) as f64 / col as f64)
            } else {
                "–".into()
            };
            let _ = write!(s, "<td style=\"{CELL_STYLE}\">{v}</td>");
        }
        let _ = write!(
            s,
            "<td style=\"{CELL_STYLE}\"><b>{}</b></td><td style=\"{CELL_STYLE}\"></td></tr></table>",
            thousands(self.total() as usize)
        );
        s
    }

    /// The matrix as an HTML heat map with numbered classes (see
    /// [`ConfusionMatrix::to_html_named`]).
    pub fn to_html(&self) -> String {
        self.to_html_named(&[] as &[&str])
    }

    /// Shows the heat map in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl Evaluation {
    /// HTML report: a metrics table (examples, correct, accuracy, error, MCC) and the
    /// confusion heat map.
    pub fn to_html(&self) -> String {
        let mut s = String::from("<div style=\"font-family:sans-serif\">");
        if let Some(t) = self.title() {
            let _ = write!(
                s,
                "<div style=\"font-weight:bold;margin:4px 0\">{}</div>",
                escape_html(t)
            );
        }
        let _ = write!(s, "<table style=\"{TABLE_STYLE}\"><tr>");
        for h in ["examples", "correct", "accuracy", "error", "MCC"] {
            let _ = write!(s, "<th style=\"{HEAD_STYLE}\">{h}</th>");
        }
        let _ = write!(
            s,
            "</tr><tr><td style=\"{CELL_STYLE}\">{}</td><td style=\"{CELL_STYLE}\">{}</td>\
             <td style=\"{CELL_STYLE}\"><b>{:.2}%</b></td><td style=\"{CELL_STYLE}\">{:.2}%</td>\
             <td style=\"{CELL_STYLE}\">{:.4}</td></tr></table>",
            thousands(self.examples()),
            thousands(self.correct()),
            100.0 * self.accuracy(),
            100.0 * self.error(),
            self.mcc()
        );
        s.push_str(
            &self
                .confusion()
                .to_html_named(self.class_names().unwrap_or(&[])),
        );
        s.push_str("</div>");
        s
    }

    /// Shows the report in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }

    /// The first `n` wrongly predicted examples of `split` (the split this evaluation was made
    /// on), labelled `truth→prediction`.
    pub fn mistakes_gallery(&self, split: &Split, n: usize) -> Gallery {
        let mut g = split
            .gallery(self.mistakes().into_iter().take(n))
            .with_predictions(self.predictions())
            .with_title(format!(
                "first {} of {} mistakes",
                n.min(self.examples() - self.correct()),
                thousands(self.examples() - self.correct())
            ));
        if let Some(names) = self.class_names() {
            g = g.with_class_names(names);
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{assert_balanced, decode_png, pngs_in};
    use super::*;
    use crate::bits::BitMatrix;

    #[test]
    fn heat_map_has_counts_recall_and_precision() {
        let cm = ConfusionMatrix::from_predictions(3, &[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0]);
        let html = cm.to_html_named(&["a", "b", "c"]);
        assert!(html.contains(">true \\ predicted</th>"));
        assert!(html.contains("title=\"true a, predicted b: 1 (50.0% of a)\">1</td>"));
        assert!(html.contains("<b>50.0%</b>")); // recall of a
        assert!(html.contains("<b>66.7%</b>")); // recall of c
        assert!(html.contains(">precision</th>"));
        assert!(html.contains(">50.0%</td>")); // precision of a: 1 of 2
        assert!(html.contains("<b>6</b>"));
        // 1 header + 3 classes + precision.
        assert_eq!(html.matches("<tr>").count(), 5);
        assert_eq!(html.matches("background:rgba(").count(), 9);
        assert_balanced(&html, &["table", "tr", "th", "td"]);
        assert!(cm.to_html().contains(">2</th>"));
        // An empty class shows a dash.
        let html = ConfusionMatrix::from_predictions(2, &[0], &[0]).to_html();
        assert!(html.contains("<b>–</b>"));
    }

    #[test]
    fn evaluation_report_and_mistakes_gallery() {
        let images = BitMatrix::zeros(4, 16);
        let split = Split::new(images, vec![0, 1, 1, 0], None).unwrap();
        let e = Evaluation::from_predictions(2, split.labels(), &[0, 0, 1, 1])
            .with_class_names(&["zero", "one"])
            .with_title("test");
        let html = e.to_html();
        assert!(html.contains("<b>50.00%</b>"));
        assert!(html.contains(">zero</th>") && html.contains(">test</div>"));
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
        let g = e.mistakes_gallery(&split, 10);
        assert_eq!(g.indices(), &[1, 3]);
        let html = g.to_html();
        assert!(html.contains(">one→zero</div>") && html.contains(">zero→one</div>"));
        assert!(html.contains("first 2 of 2 mistakes"));
        assert_eq!(pngs_in(&html).len(), 2);
        assert_eq!(decode_png(&pngs_in(&html)[0]).2, png::ColorType::Grayscale);
    }
}
