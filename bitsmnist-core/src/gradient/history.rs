//! What happened in each epoch.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Statistics of one epoch of gradient training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epochs completed, this one included (1 after the first).
    pub epoch: u32,
    /// Epochs of the whole run.
    pub epochs: u32,
    /// Mean cross-entropy over the epoch's mini-batches (training mode, augmented).
    pub loss: f64,
    /// Accuracy over the epoch's mini-batches (training mode, augmented, weights changing).
    pub train_accuracy: f64,
    /// Accuracy of the exported bit model on the test split, if one was given.
    pub test_accuracy: Option<f64>,
    /// Learning rate of the epoch's last step.
    pub learning_rate: f32,
    /// Training examples per second in this epoch (evaluation excluded).
    pub examples_per_sec: f64,
    /// Seconds of training so far (summed over calls).
    pub elapsed_secs: f64,
}

impl fmt::Display for EpochRecord {
    /// `epoch  3/30  loss 0.2345  train 93.12%  test 95.01%  lr 4.80e-3  5210 ex/s  12.3 s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.epochs.to_string().len();
        write!(
            f,
            "epoch {:>w$}/{}  loss {:.4}  train {:.2}%",
            self.epoch,
            self.epochs,
            self.loss,
            self.train_accuracy * 100.0
        )?;
        if let Some(t) = self.test_accuracy {
            write!(f, "  test {:.2}%", t * 100.0)?;
        }
        write!(
            f,
            "  lr {:.2e}  {:.0} ex/s  {:.1} s",
            self.learning_rate, self.examples_per_sec, self.elapsed_secs
        )
    }
}

/// Every epoch's record, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The records.
    pub records: Vec<EpochRecord>,
}

impl History {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The latest record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.records.last()
    }

    /// Loss of each epoch.
    pub fn loss(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.loss).collect()
    }

    /// Training accuracy of each epoch.
    pub fn train_accuracy(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.train_accuracy).collect()
    }

    /// `(epoch, accuracy)` of every test measurement.
    pub fn test_accuracy(&self) -> Vec<(u32, f64)> {
        self.records
            .iter()
            .filter_map(|r| r.test_accuracy.map(|t| (r.epoch, t)))
            .collect()
    }

    /// The records as CSV with a header line (empty test cells where not measured).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "epoch,loss,train_accuracy,test_accuracy,learning_rate,examples_per_sec,elapsed_secs\n",
        );
        for r in &self.records {
            s.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                r.epoch,
                r.loss,
                r.train_accuracy,
                r.test_accuracy.map_or(String::new(), |v| v.to_string()),
                r.learning_rate,
                r.examples_per_sec,
                r.elapsed_secs
            ));
        }
        s
    }

    /// The learning parts of the records (epoch, loss, train and test accuracy, rate),
    /// without timings: equal for two runs with the same seed.
    pub fn trace(&self) -> Vec<(u32, f64, f64, Option<f64>, f32)> {
        self.records
            .iter()
            .map(|r| {
                (
                    r.epoch,
                    r.loss,
                    r.train_accuracy,
                    r.test_accuracy,
                    r.learning_rate,
                )
            })
            .collect()
    }
}
