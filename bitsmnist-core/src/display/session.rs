//! A run's report and session in a notebook.

use std::fmt::Write as _;

use super::{emit_html, escape_html};
use crate::session::{RunReport, Session};

impl RunReport {
    /// HTML: the method, architecture and stop reason, then one row per figure, as people
    /// read them (percentages, thousands, seconds).
    pub fn to_html(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            (
                "method".into(),
                if self.members > 1 {
                    format!("{} ({} networks merged)", self.method, self.members)
                } else {
                    self.method.to_string()
                },
            ),
            ("architecture".into(), self.architecture.clone()),
            (
                "data".into(),
                format!("{}, task {}", self.dataset, self.task),
            ),
            (
                "stopped".into(),
                format!(
                    "{} at step {} after {:.1} s",
                    self.stop, self.step, self.seconds
                ),
            ),
            (
                "test accuracy".into(),
                format!(
                    "{:.2}% ({} of {})",
                    self.test.accuracy * 100.0,
                    self.test.correct,
                    self.test.total
                ),
            ),
            (
                "train accuracy".into(),
                format!(
                    "{:.2}% ({} of {})",
                    self.train.accuracy * 100.0,
                    self.train.correct,
                    self.train.total
                ),
            ),
            (
                "size".into(),
                format!("{} parameters, {} bytes", self.parameters, self.bytes),
            ),
            ("fingerprint".into(), self.fingerprint.clone()),
        ];
        if let Some(seed) = self.seed {
            rows.push(("seed".into(), seed.to_string()));
        }
        if let Some(per_sec) = self.stats.flips_per_sec {
            rows.push(("flips tried per second".into(), format!("{per_sec:.0}")));
        }
        let mut s =
            String::from("<table style=\"font-family:sans-serif;border-collapse:collapse\">");
        for (k, v) in rows {
            let _ = write!(
                s,
                "<tr><th style=\"text-align:left;padding:2px 12px 2px 0\">{}</th><td>{}</td></tr>",
                escape_html(&k),
                escape_html(&v)
            );
        }
        s.push_str("</table>");
        s
    }

    /// Shows the report in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit_html(&self.to_html());
    }
}

impl Session {
    /// Shows where the run stands and, once it has run, its report (an evaluation of every
    /// example) in a notebook.
    pub fn evcxr_display(&self) {
        let p = self.progress();
        let mut html = format!(
            "<div style=\"font-family:sans-serif\">{} run at step {}{}</div>",
            escape_html(self.state().kind().method_name()),
            p.step,
            p.reason
                .map(|r| format!(", {}", escape_html(&r.to_string())))
                .unwrap_or_default()
        );
        if p.reason.is_some() {
            html.push_str(&self.report().to_html());
        }
        emit_html(&html);
    }
}
