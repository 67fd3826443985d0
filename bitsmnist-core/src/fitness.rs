//! Fitness functions for the genetic trainer ([`crate::search`]): how good a candidate model is,
//! larger is better.
//!
//! - [`Metric::Score`]: the original TinyML score. For each example, `pred = argmax(out)` (the
//!   first index wins ties); if `pred == y`, `out[y]` is added. With bit outputs that counts
//!   correct predictions; with float outputs it also rewards confident ones. Works for any number
//!   of classes. The value is a sum over the examples, so it grows with their number.
//! - [`Metric::Accuracy`]: fraction of examples predicted correctly.
//! - [`Metric::Mcc`]: Matthews correlation (Gorodkin's multi-class R_K, via
//!   [`ConfusionMatrix::mcc`]), which cannot be gamed by predicting the majority class.
//! - [`Fitness::custom`]: any `Fn(&Chain) -> f64 + Send + Sync` closure.
//!
//! ```
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::fitness::{Fitness, Metric};
//!
//! let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
//! let sample = data.train.sample(0.05, 2);
//! let model = Chain::new(vec![BitDense::new(784, 2).with_seed(1).into()]).unwrap();
//! let acc = Fitness::accuracy(&sample).evaluate(&model);
//! assert!((0.0..=1.0).contains(&acc));
//! let n_ones = Fitness::custom(|m: &Chain| m.parameters() as f64).evaluate(&model);
//! assert_eq!(n_ones, 1570.0);
//! ```

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bits::BitMatrix;
use crate::datasets::Split;
use crate::layers::{Activations, Chain, Floats, argmax};
use crate::statistics::ConfusionMatrix;

/// Rows forwarded together when a candidate is evaluated on one thread.
pub(crate) const CHUNK_ROWS: usize = 256;

/// A fitness computed from a model's outputs on labelled examples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Metric {
    /// The original score: sum over examples of `out[y]` when `argmax(out) == y`.
    #[default]
    Score,
    /// Fraction of examples predicted correctly.
    Accuracy,
    /// Matthews correlation coefficient (Gorodkin's R_K), in `[-1, 1]`; 0 when undefined.
    Mcc,
}

impl Metric {
    /// Every metric, for menus.
    pub fn all() -> [Metric; 3] {
        [Metric::Score, Metric::Accuracy, Metric::Mcc]
    }

    /// Lower-case name (`score`, `accuracy`, `mcc`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Score => "score",
            Metric::Accuracy => "accuracy",
            Metric::Mcc => "mcc",
        }
    }

    /// The metric of output scores (one row per example) against labels. Labels outside
    /// `0..scores.cols()` are never predicted correctly (and are skipped by MCC).
    ///
    /// ```
    /// use bitsmnist_core::fitness::Metric;
    /// use bitsmnist_core::layers::Floats;
    /// // Example 0: predicts 1 (0.75), right. Example 1: tie, first index (0) wins, wrong.
    /// let out = Floats::new(2, 2, vec![0.25, 0.75, 0.5, 0.5]);
    /// assert_eq!(Metric::Score.compute(&out, &[1, 1]), 0.75);
    /// assert_eq!(Metric::Accuracy.compute(&out, &[1, 1]), 0.5);
    /// ```
    pub fn compute(self, scores: &Floats, labels: &[u8]) -> f64 {
        let mut t = Tally::new(self, scores.cols());
        t.add(scores, labels);
        t.finish()
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = crate::util::ParseError;
    /// `score`, `accuracy` (or `acc`), `mcc`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "score" => Ok(Metric::Score),
            "accuracy" | "acc" => Ok(Metric::Accuracy),
            "mcc" => Ok(Metric::Mcc),
            _ => Err(crate::util::ParseError::new(
                "fitness",
                s,
                "use score, accuracy or mcc",
            )),
        }
    }
}

/// Running totals of a [`Metric`] over chunks of examples.
pub(crate) struct Tally {
    metric: Metric,
    classes: usize,
    score: f64,
    right: u64,
    n: u64,
    labels: Vec<u8>,
    preds: Vec<usize>,
}

impl Tally {
    pub(crate) fn new(metric: Metric, classes: usize) -> Self {
        Self {
            metric,
            classes,
            score: 0.0,
            right: 0,
            n: 0,
            labels: Vec::new(),
            preds: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, scores: &Floats, labels: &[u8]) {
        debug_assert_eq!(scores.rows(), labels.len());
        for (i, &y) in labels.iter().enumerate() {
            let row = scores.row(i);
            let pred = argmax(row);
            self.n += 1;
            if pred == y as usize && pred < row.len() {
                self.right += 1;
                self.score += f64::from(row[pred]);
            }
            if self.metric == Metric::Mcc {
                self.labels.push(y);
                self.preds.push(pred);
            }
        }
    }

    pub(crate) fn finish(&self) -> f64 {
        match self.metric {
            Metric::Score => self.score,
            Metric::Accuracy => {
                if self.n == 0 {
                    0.0
                } else {
                    self.right as f64 / self.n as f64
                }
            }
            Metric::Mcc => {
                ConfusionMatrix::from_predictions(self.classes, &self.labels, &self.preds).mcc()
            }
        }
    }
}

/// Examples prepared for repeated evaluation: packed rows in chunks, and their labels.
pub(crate) struct Batch {
    chunks: Vec<BitMatrix>,
    labels: Vec<u8>,
}

impl Batch {
    /// The examples of `split` at `indices` (all of them when `None`).
    pub(crate) fn new(split: &Split, indices: Option<&[usize]>) -> Self {
        let all: Vec<usize>;
        let idx = match indices {
            Some(i) => i,
            None => {
                all = (0..split.len()).collect();
                &all
            }
        };
        let chunks = idx
            .chunks(CHUNK_ROWS)
            .map(|c| split.images().select_rows(c))
            .collect();
        let labels = idx.iter().map(|&i| split.labels()[i]).collect();
        Self { chunks, labels }
    }

    /// The chunks of examples, in order.
    pub(crate) fn chunks(&self) -> &[BitMatrix] {
        &self.chunks
    }

    /// The metric of the model whose forward pass (bits in, scores out) is `forward`, called
    /// with each chunk's index and examples.
    pub(crate) fn evaluate(
        &self,
        metric: Metric,
        classes: usize,
        mut forward: impl FnMut(usize, &BitMatrix) -> Floats,
    ) -> f64 {
        let mut t = Tally::new(metric, classes);
        let mut start = 0;
        for (k, c) in self.chunks.iter().enumerate() {
            let out = forward(k, c);
            t.add(&out, &self.labels[start..start + c.rows()]);
            start += c.rows();
        }
        t.finish()
    }
}

type CustomFn = dyn Fn(&Chain) -> f64 + Send + Sync;

#[derive(Clone)]
pub(crate) enum Kind {
    Metric { metric: Metric, data: Arc<Split> },
    Custom(Arc<CustomFn>),
}

/// What the genetic trainer maximises: a [`Metric`] on labelled examples, or a closure.
///
/// With a metric, the trainer evaluates candidates on all the examples given here, or on a
/// fresh seeded mini-batch each generation when
/// [`PopulationParams::batch_size`](crate::search::PopulationParams::batch_size) is set. A closure is
/// called with each candidate's whole model and must be deterministic for runs to be
/// reproducible.
#[derive(Clone)]
pub struct Fitness {
    pub(crate) kind: Kind,
}

impl Fitness {
    /// `metric` on the examples of `split` (copied).
    pub fn new(metric: Metric, split: &Split) -> Self {
        Self {
            kind: Kind::Metric {
                metric,
                data: Arc::new(split.clone()),
            },
        }
    }

    /// The original score fitness on `split` (see [`Metric::Score`]).
    pub fn score(split: &Split) -> Self {
        Self::new(Metric::Score, split)
    }

    /// Accuracy on `split`.
    pub fn accuracy(split: &Split) -> Self {
        Self::new(Metric::Accuracy, split)
    }

    /// Matthews correlation on `split`.
    pub fn mcc(split: &Split) -> Self {
        Self::new(Metric::Mcc, split)
    }

    /// Any function of the model; larger is better.
    pub fn custom(f: impl Fn(&Chain) -> f64 + Send + Sync + 'static) -> Self {
        Self {
            kind: Kind::Custom(Arc::new(f)),
        }
    }

    /// The metric, unless this is a closure.
    pub fn metric(&self) -> Option<Metric> {
        match &self.kind {
            Kind::Metric { metric, .. } => Some(*metric),
            Kind::Custom(_) => None,
        }
    }

    /// The examples, unless this is a closure.
    pub fn data(&self) -> Option<&Split> {
        match &self.kind {
            Kind::Metric { data, .. } => Some(data),
            Kind::Custom(_) => None,
        }
    }

    /// The fitness of `model` on all the examples, computed on the current thread.
    ///
    /// # Panics
    /// When the examples' width differs from the model's input width.
    pub fn evaluate(&self, model: &Chain) -> f64 {
        match &self.kind {
            Kind::Metric { metric, data } => {
                assert_eq!(data.images().cols(), model.inputs(), "fitness: input width");
                Batch::new(data, None).evaluate(*metric, model.outputs(), |_, x| {
                    model.forward(Activations::Bits(x.clone())).into_scores()
                })
            }
            Kind::Custom(f) => f(model),
        }
    }
}

impl fmt::Debug for Fitness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Metric { metric, data } => write!(f, "Fitness({metric} on {data:?})"),
            Kind::Custom(_) => write!(f, "Fitness(custom)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::BitDense;

    #[test]
    fn score_adds_output_of_true_class_when_right_any_class_count() {
        let out = Floats::new(
            3,
            3,
            vec![
                0.1, 0.7, 0.2, // pred 1
                0.3, 0.3, 0.3, // tie: pred 0
                0.5, 0.1, 0.9, // pred 2
            ],
        );
        let s = Metric::Score.compute(&out, &[1, 0, 1]);
        assert!((s - (0.7 + 0.3)).abs() < 1e-6);
        assert!((Metric::Accuracy.compute(&out, &[1, 0, 1]) - 2.0 / 3.0).abs() < 1e-12);
        // A label outside the classes is never right.
        assert_eq!(Metric::Accuracy.compute(&out, &[9, 9, 9]), 0.0);
    }

    #[test]
    fn mcc_matches_confusion_matrix() {
        let out = Floats::new(4, 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0]);
        let labels = [0, 1, 1, 0];
        let cm = ConfusionMatrix::from_predictions(2, &labels, &[0, 1, 0, 0]);
        assert_eq!(Metric::Mcc.compute(&out, &labels), cm.mcc());
    }

    #[test]
    fn chunked_evaluation_equals_whole() {
        let data = crate::datasets::Dataset::embedded()
            .for_task(&crate::datasets::Task::zero_one())
            .unwrap();
        let split = data.train.select(&(0..700).collect::<Vec<_>>());
        let model = Chain::new(vec![
            BitDense::new(784, 2)
                .with_seed(3)
                .with_output(crate::layers::BitOutput::Float(
                    crate::layers::Activation::Identity,
                ))
                .into(),
        ])
        .unwrap();
        for m in Metric::all() {
            let whole = m.compute(&model.scores(split.images()), split.labels());
            let f = Fitness::new(m, &split).evaluate(&model);
            assert!((whole - f).abs() < 1e-9, "{m}: {whole} vs {f}");
        }
        assert_eq!("MCC".parse::<Metric>().unwrap(), Metric::Mcc);
    }
}
