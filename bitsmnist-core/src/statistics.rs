//! Metrics: error (as the original), accuracy, confusion matrix, per-class recall and
//! multi-class MCC (Gorodkin's R_K).

use serde::{Deserialize, Serialize};

use crate::datasets::Split;
use crate::layers::{Chain, InputError};

mod evaluation;
pub use evaluation::Evaluation;

/// Fraction of examples whose prediction (argmax of the model's output, first index wins
/// ties) differs from the label: the original `Statistics.error`. The examples are fed as the
/// model reads them ([`Chain::predict_split`]).
///
/// # Panics
/// When the split does not suit the model (see [`Chain::check_split`]).
pub fn error(model: &Chain, split: &Split) -> f64 {
    1.0 - accuracy(model, split)
}

/// Fraction of examples predicted correctly (0 for an empty split), the examples fed as the
/// model reads them ([`Chain::predict_split`]).
///
/// # Panics
/// When the split does not suit the model (see [`Chain::check_split`]); [`try_accuracy`]
/// returns the error instead.
pub fn accuracy(model: &Chain, split: &Split) -> f64 {
    try_accuracy(model, split).unwrap_or_else(|e| panic!("accuracy: {e}"))
}

/// [`accuracy`], or why the split does not suit the model.
pub fn try_accuracy(model: &Chain, split: &Split) -> Result<f64, InputError> {
    if split.is_empty() {
        return Ok(0.0);
    }
    let pred = model.predict_split(split)?;
    let right = pred
        .iter()
        .zip(split.labels())
        .filter(|(p, l)| **p == **l as usize)
        .count();
    Ok(right as f64 / split.len() as f64)
}

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use bitsmnist_core::statistics::ConfusionMatrix;
/// let cm = ConfusionMatrix::from_predictions(2, &[0, 1, 1, 0], &[0, 1, 0, 0]);
/// assert_eq!(cm.count(1, 0), 1); // one true 1 predicted as 0
/// assert!((cm.accuracy() - 0.75).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major: `counts[truth * classes + predicted]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Builds the matrix from labels and predictions; pairs with a label or prediction outside
    /// `0..classes` (such as the noise label) are skipped.
    pub fn from_predictions(classes: usize, labels: &[u8], predictions: &[usize]) -> Self {
        let mut counts = vec![0u64; classes * classes];
        for (&l, &p) in labels.iter().zip(predictions) {
            let l = l as usize;
            if l < classes && p < classes {
                counts[l * classes + p] += 1;
            }
        }
        Self { classes, counts }
    }

    /// Evaluates `model` on `split` (fed as the model reads it, [`Chain::predict_split`]),
    /// with as many classes as the model has outputs.
    ///
    /// # Panics
    /// When the split does not suit the model (see [`Chain::check_split`]).
    pub fn evaluate(model: &Chain, split: &Split) -> Self {
        let pred = model
            .predict_split(split)
            .unwrap_or_else(|e| panic!("ConfusionMatrix::evaluate: {e}"));
        Self::from_predictions(model.outputs(), split.labels(), &pred)
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Examples of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.classes + predicted]
    }

    /// Total examples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Fraction on the diagonal (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let t = self.total();
        if t == 0 {
            return 0.0;
        }
        (0..self.classes).map(|k| self.count(k, k)).sum::<u64>() as f64 / t as f64
    }

    /// `1 - accuracy`.
    pub fn error(&self) -> f64 {
        1.0 - self.accuracy()
    }

    /// Recall of each class (correct / examples of that class); `None` for a class with no
    /// examples.
    pub fn recall(&self) -> Vec<Option<f64>> {
        (0..self.classes)
            .map(|k| {
                let row: u64 = (0..self.classes).map(|p| self.count(k, p)).sum();
                (row > 0).then(|| self.count(k, k) as f64 / row as f64)
            })
            .collect()
    }

    /// The matrix as CSV: a header line `truth\predicted,0,1,…` naming the predicted classes,
    /// then one line per true class with its counts, for a spreadsheet (classes + 1 lines).
    ///
    /// ```
    /// use bitsmnist_core::statistics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::from_predictions(2, &[0, 1, 1], &[0, 1, 0]);
    /// assert_eq!(cm.to_csv(), "truth\\predicted,0,1\n0,1,0\n1,1,1\n");
    /// ```
    pub fn to_csv(&self) -> String {
        let k = self.classes;
        let mut s = String::from("truth\\predicted");
        for p in 0..k {
            s.push_str(&format!(",{p}"));
        }
        s.push('\n');
        for t in 0..k {
            s.push_str(&t.to_string());
            for p in 0..k {
                s.push_str(&format!(",{}", self.count(t, p)));
            }
            s.push('\n');
        }
        s
    }

    /// Matthews correlation coefficient, Gorodkin's multi-class R_K; 0 when undefined (for
    /// example when every prediction is one class). For two classes it equals the usual
    /// `(TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))`.
    pub fn mcc(&self) -> f64 {
        let k = self.classes;
        let n = self.total() as f64;
        let t: Vec<f64> = (0..k)
            .map(|i| (0..k).map(|j| self.count(i, j)).sum::<u64>() as f64)
            .collect();
        let p: Vec<f64> = (0..k)
            .map(|j| (0..k).map(|i| self.count(i, j)).sum::<u64>() as f64)
            .collect();
        let c: f64 = (0..k).map(|i| self.count(i, i) as f64).sum();
        // Equivalent closed form of sum_klm (C_kk C_lm - C_kl C_mk): c n - sum_k t_k p_k.
        let num = c * n - t.iter().zip(&p).map(|(a, b)| a * b).sum::<f64>();
        let den_t = n * n - t.iter().map(|x| x * x).sum::<f64>();
        let den_p = n * n - p.iter().map(|x| x * x).sum::<f64>();
        let den = den_t.sqrt() * den_p.sqrt();
        if den == 0.0 || !den.is_finite() {
            0.0
        } else {
            num / den
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gorodkin's definition written out term by term.
    fn mcc_by_definition(cm: &ConfusionMatrix) -> f64 {
        let k = cm.classes();
        let c = |a: usize, b: usize| cm.count(a, b) as f64;
        let mut num = 0.0;
        for kk in 0..k {
            for l in 0..k {
                for m in 0..k {
                    num += c(kk, kk) * c(l, m) - c(kk, l) * c(m, kk);
                }
            }
        }
        let n = cm.total() as f64;
        let r: Vec<f64> = (0..k).map(|i| (0..k).map(|j| c(i, j)).sum()).collect();
        let s: Vec<f64> = (0..k).map(|j| (0..k).map(|i| c(i, j)).sum()).collect();
        let den = r.iter().map(|x| x * (n - x)).sum::<f64>().sqrt()
            * s.iter().map(|x| x * (n - x)).sum::<f64>().sqrt();
        if den == 0.0 { 0.0 } else { num / den }
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_true_class() {
        let labels = [0, 1, 2, 2, 1, 0, 2, 1, 0, 0];
        let preds = [0, 2, 2, 1, 1, 0, 2, 0, 0, 1];
        let cm = ConfusionMatrix::from_predictions(3, &labels, &preds);
        let csv = cm.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "truth\\predicted,0,1,2");
        for (t, line) in lines[1..].iter().enumerate() {
            let cells: Vec<u64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            assert_eq!(cells[0], t as u64);
            let counts: Vec<u64> = (0..3).map(|p| cm.count(t, p)).collect();
            assert_eq!(&cells[1..], counts.as_slice());
        }
    }

    #[test]
    fn two_class_mcc_is_the_usual_formula() {
        // TP=5 (1->1), TN=3 (0->0), FP=2 (0->1), FN=1 (1->0).
        let labels = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
        let preds = [1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1];
        let cm = ConfusionMatrix::from_predictions(2, &labels, &preds);
        let (tp, tn, fp, fneg) = (5.0f64, 3.0, 2.0, 1.0);
        let want =
            (tp * tn - fp * fneg) / ((tp + fp) * (tp + fneg) * (tn + fp) * (tn + fneg)).sqrt();
        assert!((cm.mcc() - want).abs() < 1e-12);
    }

    #[test]
    fn multiclass_mcc_matches_definition_and_is_zero_when_undefined() {
        let labels = [0, 1, 2, 2, 1, 0, 2, 1, 0, 0];
        let preds = [0, 2, 2, 1, 1, 0, 2, 0, 0, 1];
        let cm = ConfusionMatrix::from_predictions(3, &labels, &preds);
        assert!((cm.mcc() - mcc_by_definition(&cm)).abs() < 1e-12);
        let all_one = ConfusionMatrix::from_predictions(3, &labels, &[1; 10]);
        assert_eq!(all_one.mcc(), 0.0);
        let perfect = ConfusionMatrix::from_predictions(3, &labels, &labels.map(usize::from));
        assert!((perfect.mcc() - 1.0).abs() < 1e-12);
        assert_eq!(perfect.recall(), vec![Some(1.0); 3]);
    }
}
