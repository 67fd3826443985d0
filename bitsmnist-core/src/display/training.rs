//! Training in progress and saved as HTML: a [`Population`] (the original's training set), a
//! [`Climber`], a [`ClimbEnsemble`] and a loaded [`ModelFile`], each with its history plot.

use std::fmt::Write as _;

use super::{CELL_STYLE, HEAD_STYLE, HTML, TABLE_STYLE, base64, emit, escape_html, thousands};
use crate::io::ModelFile;
use crate::layers::Chain;
use crate::run::History;
use crate::search::{ClimbEnsemble, Climber, Population};
use crate::training::TrainingState;

/// Widths through the model: `784 → 800 → 2`.
pub(crate) fn shape(model: &Chain) -> String {
    let mut s = model.inputs().to_string();
    for l in model.layers() {
        let _ = write!(s, " → {}", l.outputs());
    }
    s
}

/// A two-column table of facts, the values escaped.
fn facts(rows: &[(&str, String)]) -> String {
    let mut s = format!("<table style=\"{TABLE_STYLE}\">");
    for (k, v) in rows {
        let _ = write!(
            s,
            "<tr><th style=\"{HEAD_STYLE};text-align:left\">{}</th><td style=\"{CELL_STYLE};text-align:left\">{}</td></tr>",
            escape_html(k),
            escape_html(v)
        );
    }
    s.push_str("</table>");
    s
}

/// The history plot as an `<img>` of an SVG `data:` URI (Jupyter strips inline `<svg>` from
/// the HTML of a stored notebook, not images); nothing for an empty history.
fn history_img(history: &History) -> String {
    if history.is_empty() {
        return String::new();
    }
    let plot = history.plot().size(640, 300);
    format!(
        "<div><img src=\"data:image/svg+xml;base64,{}\" width=\"640\" height=\"300\" alt=\"{}\"/></div>",
        base64(plot.to_svg().as_bytes()),
        escape_html(&plot.to_string())
    )
}

/// The last record's objective, or a dash before the first step.
fn last_objective(history: &History) -> String {
    history
        .last()
        .map_or_else(|| "–".into(), |r| format!("{:.6}", r.best))
}

fn card(title: &str, rows: &[(&str, String)], history: &History) -> String {
    format!(
        "<div style=\"font-family:sans-serif\"><div style=\"font-weight:bold;margin:4px 0\">{}</div>{}{}</div>",
        escape_html(title),
        facts(rows),
        history_img(history)
    )
}

/// The trained layers by their positions in the chain: `all (0, 1)`, or `1 of 0-2`.
fn trained_layers(set: &Population) -> String {
    let list = set
        .trainable_layers()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let n = set.chain().layers().len();
    if set.trainable_layers().len() == n {
        format!("all ({list})")
    } else {
        format!("{list} of 0–{}", n.saturating_sub(1))
    }
}

impl Population {
    /// The one-line summary of the original's `TrainingSet(popSize=100)`, with the generation.
    pub fn display_summary(&self) -> String {
        format!(
            "TrainingSet(popSize={}) at generation {}",
            self.params().population,
            self.generation()
        )
    }

    /// HTML: the summary, the model's shape, the parameters, the state of the run and the
    /// history plot.
    pub fn to_html(&self) -> String {
        let p = self.params();
        let best = self
            .fitness()
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let rows = [
            (
                "model",
                format!("{} ({})", shape(self.chain()), self.chain()),
            ),
            ("trained layers", trained_layers(self)),
            ("population size", p.population.to_string()),
            ("elitism", p.elitism.to_string()),
            ("selection", p.selection.to_string()),
            ("crossover", p.crossover.to_string()),
            ("mutation", p.mutation.to_string()),
            ("adaptation", p.adaptation.to_string()),
            (
                "evaluations per candidate",
                p.evals_per_candidate.to_string(),
            ),
            (
                "batch size",
                p.batch_size.map_or_else(|| "whole split".into(), thousands),
            ),
            ("seed", p.seed.to_string()),
            ("generation", thousands(self.generation() as usize)),
            (
                "best fitness",
                if best.is_finite() {
                    format!("{best:.6}")
                } else {
                    "not evaluated yet".into()
                },
            ),
            ("mutation scale", format!("{:.3}", self.mutation_scale())),
            ("training time", format!("{:.1} s", self.elapsed_secs())),
        ];
        card(&self.display_summary(), &rows, self.history())
    }

    /// Shows the population in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

fn climber_rows(c: &Climber) -> Vec<(&'static str, String)> {
    let p = c.params();
    vec![
        ("model", format!("{} ({})", shape(c.chain()), c.chain())),
        ("seed", p.seed.to_string()),
        (
            "batch size",
            p.batch_size.map_or_else(|| "whole split".into(), thousands),
        ),
        (
            "trials per generation",
            thousands(p.trials_per_generation as usize),
        ),
        ("objective", p.objective.to_string()),
        ("output layer share of flips", format!("{}", p.output_share)),
        ("accept ties", p.accept_ties.to_string()),
        ("generation", thousands(c.generation() as usize)),
        (
            "flips kept / tried",
            format!(
                "{} / {}",
                thousands(c.accepted() as usize),
                thousands(c.trials() as usize)
            ),
        ),
        ("objective now", last_objective(c.history())),
        (
            "best training accuracy",
            c.best_train_accuracy()
                .map_or_else(|| "–".into(), |a| format!("{:.2}%", 100.0 * a)),
        ),
        ("training time", format!("{:.1} s", c.elapsed_secs())),
    ]
}

impl Climber {
    /// HTML: the model's shape, the parameters, the flips tried and kept, and the history plot.
    pub fn to_html(&self) -> String {
        card(
            &format!("Climber at generation {}", self.generation()),
            &climber_rows(self),
            self.history(),
        )
    }

    /// Shows the climb in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl ClimbEnsemble {
    /// HTML: the members, the first member's parameters, the flips of all members and the
    /// history plot.
    pub fn to_html(&self) -> String {
        let mut rows = vec![("members", self.members().len().to_string())];
        if let Some(first) = self.members().first() {
            rows.extend(climber_rows(first).into_iter().filter(|(k, _)| {
                !matches!(*k, "generation" | "flips kept / tried" | "objective now")
            }));
        }
        rows.push(("generation", thousands(self.generation() as usize)));
        rows.push((
            "flips kept / tried (all members)",
            format!(
                "{} / {}",
                thousands(self.accepted() as usize),
                thousands(self.trials() as usize)
            ),
        ));
        card(
            &format!(
                "ClimbEnsemble of {} networks at generation {}",
                self.members().len(),
                self.generation()
            ),
            &rows,
            self.history(),
        )
    }

    /// Shows the ensemble in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

/// What a file's training state is: `yes (population of 100, generation 40)`, or `no`.
fn state_text(state: Option<&TrainingState>) -> String {
    match state {
        None => "no".into(),
        Some(TrainingState::Population { set, metric }) => format!(
            "yes: population of {}, generation {}, fitness {metric}",
            set.params().population,
            set.generation()
        ),
        Some(TrainingState::Climb(c)) => format!("yes: climb, generation {}", c.generation()),
        Some(TrainingState::Ensemble(e)) => format!(
            "yes: {} climbing networks, generation {}",
            e.members().len(),
            e.generation()
        ),
        Some(TrainingState::Gradient(t)) => {
            format!("yes: gradient training, epoch {}", t.epoch())
        }
    }
}

impl TrainingState {
    /// HTML of the state inside: the population, climb or ensemble display; for gradient
    /// training the epoch and the learning curve.
    pub fn to_html(&self) -> String {
        match self {
            Self::Population { set, .. } => set.to_html(),
            Self::Climb(c) => c.to_html(),
            Self::Ensemble(e) => e.to_html(),
            Self::Gradient(t) => card(
                &format!("Gradient training at epoch {}", t.epoch()),
                &[("training time", format!("{:.1} s", t.elapsed_secs()))],
                t.history(),
            ),
        }
    }

    /// Shows the state in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl ModelFile {
    /// HTML: the model (its shape and layer table), task, data set and other metadata, whether
    /// the file holds training state to continue from, and the history plot.
    pub fn to_html(&self) -> String {
        let m = &self.meta;
        let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
        let mut rows = vec![
            ("model", format!("{} ({})", shape(&self.model), self.model)),
            ("task", opt(m.task.as_ref().map(ToString::to_string))),
            ("data set", opt(m.dataset.clone())),
            ("source", opt(m.source.as_ref().map(ToString::to_string))),
            (
                "binarisation",
                opt(m.binarization.as_ref().map(ToString::to_string)),
            ),
            ("classes", m.class_names.join(", ")),
            ("training state", state_text(self.state.as_ref())),
            (
                "history",
                self.history.as_ref().map_or_else(
                    || "none".into(),
                    |h| format!("{} records", thousands(h.len())),
                ),
            ),
            (
                "written by",
                // The project's programs share the library's version; another program (a
                // notebook's own name) says which library wrote its file.
                match m.program.as_deref() {
                    None => format!("bitsmnist {}", m.tool_version),
                    Some(p) if p.starts_with("bitsmnist") => format!("{p} {}", m.tool_version),
                    Some(p) => format!("{p} (bitsmnist-core {})", m.tool_version),
                },
            ),
            ("created", super::utc_date_time(m.created_unix)),
        ];
        if let Some(run) = &m.run {
            let mut text = run.method.to_string();
            if let Some(seed) = run.seed {
                let _ = write!(text, ", seed {seed}");
            }
            if let Some(member) = run.member {
                let _ = write!(text, ", {member}");
            }
            if let Some(sample) = run.sample.filter(|&s| s < 1.0) {
                let _ = write!(text, ", {:.0}% of the training examples", sample * 100.0);
            }
            rows.insert(1, ("run", text));
        }
        for (k, v) in &m.extra {
            rows.push((k.as_str(), v.clone()));
        }
        let mut s = format!(
            "<div style=\"font-family:sans-serif\"><div style=\"font-weight:bold;margin:4px 0\">ModelFile: {}</div>{}{}",
            escape_html(&shape(&self.model)),
            facts(&rows),
            self.model.to_html()
        );
        if let Some(h) = &self.history {
            s.push_str(&history_img(h));
        }
        s.push_str("</div>");
        s
    }

    /// Shows the file's contents in a notebook (HTML).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_util::assert_balanced;
    use super::*;
    use crate::prelude::*;
    use crate::search::ClimbParams;

    fn zero_one() -> Dataset {
        Dataset::embedded().for_task(&Task::zero_one()).unwrap()
    }

    /// The text of `html` reads as people write, not as Rust's `Debug`: no `Some(...)`,
    /// `None`, `Struct { field: ... }` or bracketed lists.
    pub(crate) fn assert_human(html: &str) {
        for debug in ["Some(", "None", " { ", ": [", ">[", "Unix"] {
            assert!(!html.contains(debug), "{debug:?} in {html}");
        }
    }

    #[test]
    fn population_and_model_file_show_their_key_facts() {
        let data = zero_one();
        let sample = data.train.sample(0.05, 2);
        let model = Chain::new(vec![
            BitDense::new(784, 16).with_seed(1).into(),
            BitDense::new(16, 2)
                .with_seed(2)
                .with_output(BitOutput::Float(Activation::Sigmoid))
                .into(),
        ])
        .unwrap();
        let mut set = Population::for_all_bit_layers(
            model,
            PopulationParams::default()
                .population(20)
                .elitism(2)
                .seed(3),
        )
        .unwrap();
        let html = set.to_html();
        assert!(html.contains("TrainingSet(popSize=20) at generation 0"));
        assert!(html.contains(">784 → 16 → 2 (Chain("));
        assert!(html.contains(">not evaluated yet</td>"));
        assert!(!html.contains("<img")); // no history yet
        set.run(
            &Fitness::score(&sample),
            &TrainOptions::new().generations(3).quiet(),
        )
        .unwrap();
        let html = set.to_html();
        assert!(html.contains("TrainingSet(popSize=20) at generation 3"));
        assert!(html.contains(">population size</th><td"));
        assert!(html.contains(">all (0, 1)</td>"), "the trained layers");
        assert_human(&html);
        assert!(html.contains("data:image/svg+xml;base64,"));
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);

        let mut meta = Metadata::now()
            .with_dataset(&data)
            .with_task(&Task::zero_one())
            .with_run(crate::io::RunInfo::new(
                crate::training::MethodKind::Population,
                Some(3),
            ));
        meta.created_unix = 1_796_172_981;
        let file =
            ModelFile::from_state(&TrainingState::from(set.clone()), &sample).with_meta(meta);
        let html = ModelFile::from_bytes(&file.to_bytes().unwrap())
            .unwrap()
            .to_html();
        assert_human(&html);
        assert!(html.contains(">2026-12-02 00:56:21 UTC</td>"), "{html}");
        assert!(html.contains(">population, seed 3</td>"));
        assert!(html.contains(&format!(">{}</td>", escape_html(&data.name))));
        assert!(html.contains("ModelFile: 784 → 16 → 2"));
        assert!(html.contains(">training state</th>"));
        assert!(html.contains("yes: population of 20, generation 3"));
        assert!(html.contains(">4 records</td>")); // generation 0 and three more
        assert!(html.contains(">BitDense(784, 16)</td>")); // the layer table
        assert!(html.contains("data:image/svg+xml;base64,"));
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
        let bare = ModelFile::new(set.chain().clone()).to_html();
        assert!(bare.contains(">training state</th><td style=\"border:1px solid #ccc;padding:2px 6px;text-align:right;text-align:left\">no</td>"));
        assert!(!bare.contains("data:image/svg+xml"));
    }

    #[test]
    fn climber_shows_flips_and_one_objective() {
        let data = zero_one();
        let model = Chain::new(vec![
            BitDense::new(784, 16).with_seed(1).into(),
            BitDense::new(16, 2)
                .with_seed(2)
                .with_output(BitOutput::Float(Activation::Identity))
                .into(),
        ])
        .unwrap();
        let mut c = Climber::new(
            model,
            ClimbParams::default()
                .seed(4)
                .trials_per_generation(200)
                .batch_size(Some(200)),
        )
        .unwrap();
        c.train(
            &data.train,
            &TrainOptions::new().generations(3).quiet(),
            |_| std::ops::ControlFlow::Continue(()),
        )
        .unwrap();
        let html = c.to_html();
        assert!(html.contains("Climber at generation 3"));
        assert!(html.contains(">correct ×16 + margin up to 64</td>"));
        assert_human(&html);
        assert!(html.contains(">784 → 16 → 2 (Chain("));
        assert!(html.contains(&format!(" / {}</td>", thousands(c.trials() as usize))));
        assert!(html.contains(">200</td>")); // trials per generation
        assert!(html.contains("data:image/svg+xml;base64,"));
        assert_eq!(c.history().plot().lines().len(), 1);
        let state = TrainingState::Climb(c.clone());
        assert_eq!(state.to_html(), html);
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
    }
}
