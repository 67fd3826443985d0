//! [`Evaluation`]: a model's predictions on a split and every metric derived from them.

use std::fmt;

use super::ConfusionMatrix;
use crate::datasets::Split;
use crate::layers::{Chain, InputError};

/// A model evaluated on a split: predictions, accuracy, error, MCC, per-class recall and the
/// confusion matrix, computed from one forward pass.
///
/// Accuracy and error count every example, as [`super::accuracy`] and [`super::error`] do (an
/// example whose label is not a class of the model, such as the noise label, is always
/// wrong); the confusion matrix, recall and MCC count only labels and predictions within the
/// model's classes. Shows in a notebook as a metrics table and a confusion heat map; `Display`
/// prints the same as text.
///
/// ```
/// use bitsmnist_core::prelude::*;
/// let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
/// let model = Chain::new(vec![
///     BitDense::new(784, 64).with_seed(1).into(),
///     BitDense::new(64, 2).with_seed(2).with_output(BitOutput::Float(Activation::Sigmoid)).into(),
/// ]).unwrap();
/// let eval = Evaluation::new(&model, &data.test).with_class_names(&data.class_names);
/// assert_eq!(eval.examples(), data.test.len());
/// assert!((eval.error() - statistics::error(&model, &data.test)).abs() < 1e-12);
/// println!("{eval}");
/// ```
#[derive(Clone, PartialEq)]
pub struct Evaluation {
    confusion: ConfusionMatrix,
    labels: Vec<u8>,
    predictions: Vec<usize>,
    class_names: Option<Vec<String>>,
    title: Option<String>,
}

impl Evaluation {
    /// Evaluates `model` on `split` (one parallel forward pass, the examples fed as the model
    /// reads them: [`Chain::predict_split`]), with as many classes as the model has outputs.
    ///
    /// # Panics
    /// When the split does not suit the model (see [`Chain::check_split`]);
    /// [`Evaluation::try_new`] returns the error instead.
    pub fn new(model: &Chain, split: &Split) -> Self {
        Self::try_new(model, split).unwrap_or_else(|e| panic!("Evaluation::new: {e}"))
    }

    /// [`Evaluation::new`], or why the split does not suit the model.
    pub fn try_new(model: &Chain, split: &Split) -> Result<Self, InputError> {
        let predictions = model.predict_split(split)?;
        Ok(Self::from_predictions(
            model.outputs(),
            split.labels(),
            &predictions,
        ))
    }

    /// An evaluation of given predictions against labels, with `classes` classes.
    ///
    /// # Panics
    /// When the slices differ in length.
    pub fn from_predictions(classes: usize, labels: &[u8], predictions: &[usize]) -> Self {
        assert_eq!(
            labels.len(),
            predictions.len(),
            "Evaluation: {} labels but {} predictions",
            labels.len(),
            predictions.len()
        );
        Self {
            confusion: ConfusionMatrix::from_predictions(classes, labels, predictions),
            labels: labels.to_vec(),
            predictions: predictions.to_vec(),
            class_names: None,
            title: None,
        }
    }

    /// Names the classes (for example `&data.class_names`) in tables and galleries.
    pub fn with_class_names<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.class_names = Some(names.iter().map(|s| s.as_ref().to_string()).collect());
        self
    }

    /// A heading for the report (for example `"test set, generation 40"`).
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The heading, if one was set.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The class names, if set.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// Number of examples evaluated.
    pub fn examples(&self) -> usize {
        self.labels.len()
    }

    /// Number of examples predicted correctly.
    pub fn correct(&self) -> usize {
        self.labels
            .iter()
            .zip(&self.predictions)
            .filter(|(l, p)| **l as usize == **p)
            .count()
    }

    /// Fraction predicted correctly (0 when there are no examples).
    pub fn accuracy(&self) -> f64 {
        if self.labels.is_empty() {
            0.0
        } else {
            self.correct() as f64 / self.labels.len() as f64
        }
    }

    /// `1 - accuracy`, the original's error.
    pub fn error(&self) -> f64 {
        1.0 - self.accuracy()
    }

    /// Matthews correlation coefficient (see [`ConfusionMatrix::mcc`]).
    pub fn mcc(&self) -> f64 {
        self.confusion.mcc()
    }

    /// Recall of each class (see [`ConfusionMatrix::recall`]).
    pub fn recall(&self) -> Vec<Option<f64>> {
        self.confusion.recall()
    }

    /// The confusion matrix.
    pub fn confusion(&self) -> &ConfusionMatrix {
        &self.confusion
    }

    /// The labels, in split order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The predicted class of every example, in split order.
    pub fn predictions(&self) -> &[usize] {
        &self.predictions
    }

    /// Positions of the wrongly predicted examples, in split order.
    pub fn mistakes(&self) -> Vec<usize> {
        (0..self.labels.len())
            .filter(|&i| self.labels[i] as usize != self.predictions[i])
            .collect()
    }
}

impl fmt::Display for Evaluation {
    /// A summary line, then the confusion matrix as text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.title {
            writeln!(f, "{t}")?;
        }
        writeln!(
            f,
            "accuracy {:.2}% (error {:.2}%), MCC {:.4}, {} examples",
            100.0 * self.accuracy(),
            100.0 * self.error(),
            self.mcc(),
            self.examples()
        )?;
        self.confusion
            .write_text(f, self.class_names.as_deref().unwrap_or(&[]))
    }
}

impl fmt::Debug for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Evaluation(accuracy {:.4}, error {:.4}, mcc {:.4}, {} examples, {} classes)",
            self.accuracy(),
            self.error(),
            self.mcc(),
            self.examples(),
            self.confusion.classes()
        )
    }
}

impl ConfusionMatrix {
    /// Writes the matrix as a text table (rows: true class, columns: predicted class) with a
    /// recall column; `names` label the classes where given.
    pub(crate) fn write_text<S: AsRef<str>>(
        &self,
        f: &mut impl fmt::Write,
        names: &[S],
    ) -> fmt::Result {
        let k = self.classes();
        let name = |c: usize| {
            names
                .get(c)
                .map_or_else(|| c.to_string(), |s| s.as_ref().to_string())
        };
        let width = (0..k)
            .map(|c| name(c).chars().count())
            .chain(
                (0..k)
                    .flat_map(|t| (0..k).map(move |p| (t, p)))
                    .map(|(t, p)| self.count(t, p).to_string().len()),
            )
            .max()
            .unwrap_or(1)
            .max(5);
        let head = "true\\pred";
        write!(f, "{head:>9}")?;
        for c in 0..k {
            write!(f, " {:>width$}", name(c))?;
        }
        writeln!(f, "  recall")?;
        for (t, r) in self.recall().into_iter().enumerate() {
            write!(f, "{:>9}", name(t))?;
            for p in 0..k {
                write!(f, " {:>width$}", self.count(t, p))?;
            }
            match r {
                Some(r) => writeln!(f, "  {:>5.1}%", 100.0 * r)?,
                None => writeln!(f, "      -")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A text table: rows are true classes, columns predicted classes, then recall.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f, &[] as &[&str])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_mistakes() {
        let e = Evaluation::from_predictions(2, &[0, 1, 1, 0, 255], &[0, 1, 0, 0, 1])
            .with_class_names(&["zero", "one"])
            .with_title("t");
        assert_eq!(e.examples(), 5);
        assert_eq!(e.correct(), 3);
        assert!((e.accuracy() - 0.6).abs() < 1e-12);
        assert_eq!(e.mistakes(), vec![2, 4]);
        assert_eq!(e.confusion().total(), 4); // the noise label is not counted
        let text = e.to_string();
        assert!(text.starts_with("t\naccuracy 60.00% (error 40.00%)"));
        assert!(text.contains("     zero     2     0  100.0%"), "{text}");
        assert!(text.contains("      one     1     1   50.0%"), "{text}");
    }

    #[test]
    fn confusion_display_is_a_text_table() {
        let cm = ConfusionMatrix::from_predictions(3, &[0, 1, 2, 2], &[0, 1, 1, 2]);
        let text = cm.to_string();
        assert_eq!(text.lines().count(), 4);
        assert!(text.lines().next().unwrap().ends_with("recall"));
        assert!(
            text.contains("        2     0     1     1   50.0%"),
            "{text}"
        );
        let empty_class = ConfusionMatrix::from_predictions(2, &[0], &[0]);
        assert!(
            empty_class
                .to_string()
                .lines()
                .nth(2)
                .unwrap()
                .ends_with('-')
        );
    }
}
