//! What happened in each step of a run, for every method.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One step of a run: a generation of the population or of a climb, or an epoch of gradient
/// training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Step number: for the population and the climb the generation (0 is the starting
    /// state), for gradient training the epochs completed (1 after the first).
    pub step: u64,
    /// The objective the run maximises, best over the current candidates: the population's
    /// fitness, the climb's objective as a fraction of its maximum (the best member of an
    /// ensemble), gradient training's accuracy on its mini-batches.
    pub best: f64,
    /// Mean objective over the candidates (the population, the ensemble's members).
    pub mean: f64,
    /// Worst objective over the candidates.
    pub worst: f64,
    /// Accuracy of the current model on the validation split, on the steps it was measured.
    pub validation_accuracy: Option<f64>,
    /// Seconds of training so far (summed over resumed runs).
    pub elapsed_secs: f64,
    /// Steps per second in the current call.
    pub steps_per_sec: f64,
    /// What only this method reports.
    pub detail: Detail,
}

/// The method-specific part of a [`Record`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Detail {
    /// The population algorithm.
    Population {
        /// Mutation scale (see [`Adaptation`](crate::search::Adaptation)) used to breed this
        /// generation.
        mutation_scale: f64,
    },
    /// Bit-flip climbing (one network or an ensemble).
    Climb {
        /// Flip trials so far (all members).
        trials: u64,
        /// Flips kept so far (all members).
        kept: u64,
        /// Flip trials per second in this step.
        flips_per_sec: f64,
    },
    /// Gradient training.
    Gradient {
        /// Epochs of the whole run.
        epochs: u64,
        /// Mean cross-entropy over the epoch's mini-batches (training mode, augmented).
        loss: f64,
        /// Learning rate of the epoch's last step.
        learning_rate: f32,
        /// Training examples per second in this epoch (evaluation excluded).
        examples_per_sec: f64,
    },
}

impl Record {
    /// The record without its timings (elapsed time and speeds zeroed): equal for two runs
    /// with the same seed.
    pub fn without_timings(&self) -> Self {
        let detail = match self.detail {
            Detail::Climb { trials, kept, .. } => Detail::Climb {
                trials,
                kept,
                flips_per_sec: 0.0,
            },
            Detail::Gradient {
                epochs,
                loss,
                learning_rate,
                ..
            } => Detail::Gradient {
                epochs,
                loss,
                learning_rate,
                examples_per_sec: 0.0,
            },
            ref d => d.clone(),
        };
        Self {
            elapsed_secs: 0.0,
            steps_per_sec: 0.0,
            detail,
            ..self.clone()
        }
    }

    /// The mutation scale, for a population record.
    pub fn mutation_scale(&self) -> Option<f64> {
        match self.detail {
            Detail::Population { mutation_scale } => Some(mutation_scale),
            _ => None,
        }
    }

    /// The loss, for a gradient record.
    pub fn loss(&self) -> Option<f64> {
        match self.detail {
            Detail::Gradient { loss, .. } => Some(loss),
            _ => None,
        }
    }
}

impl fmt::Display for Record {
    /// One progress line, by method:
    ///
    /// - `gen 10  best 0.987600  mean 0.900000  worst 0.500000  val 98.50%  12.3 gen/s  4.1 s`
    /// - `gen 10  fitness 0.912345  val 90.10%  59000 flips/s  kept 1234  1.2 gen/s  8.1 s`
    /// - `epoch  3/30  loss 0.2345  train 93.12%  test 95.01%  lr 4.80e-3  5210 ex/s  12.3 s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let val = |f: &mut fmt::Formatter<'_>, name: &str| match self.validation_accuracy {
            Some(v) => write!(f, "  {name} {:.2}%", v * 100.0),
            None => Ok(()),
        };
        match self.detail {
            Detail::Population { mutation_scale } => {
                write!(
                    f,
                    "gen {}  best {:.6}  mean {:.6}  worst {:.6}",
                    self.step, self.best, self.mean, self.worst
                )?;
                val(f, "val")?;
                if mutation_scale != 1.0 {
                    write!(f, "  mut x{mutation_scale:.3}")?;
                }
                write!(
                    f,
                    "  {:.1} gen/s  {:.1} s",
                    self.steps_per_sec, self.elapsed_secs
                )
            }
            Detail::Climb {
                kept,
                flips_per_sec,
                ..
            } => {
                if self.best == self.worst {
                    write!(f, "gen {}  fitness {:.6}", self.step, self.best)?;
                } else {
                    write!(
                        f,
                        "gen {}  best {:.6}  mean {:.6}  worst {:.6}",
                        self.step, self.best, self.mean, self.worst
                    )?;
                }
                val(f, "val")?;
                write!(
                    f,
                    "  {flips_per_sec:.0} flips/s  kept {kept}  {:.1} gen/s  {:.1} s",
                    self.steps_per_sec, self.elapsed_secs
                )
            }
            Detail::Gradient {
                epochs,
                loss,
                learning_rate,
                examples_per_sec,
            } => {
                let w = epochs.to_string().len();
                write!(
                    f,
                    "epoch {:>w$}/{epochs}  loss {loss:.4}  train {:.2}%",
                    self.step,
                    self.best * 100.0
                )?;
                val(f, "test")?;
                write!(
                    f,
                    "  lr {learning_rate:.2e}  {examples_per_sec:.0} ex/s  {:.1} s",
                    self.elapsed_secs
                )
            }
        }
    }
}

/// Every step's record, oldest first. Its plot and notebook display are in
/// [`crate::display`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The records, oldest first.
    pub records: Vec<Record>,
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
    pub fn last(&self) -> Option<&Record> {
        self.records.last()
    }

    /// Best objective of each step.
    pub fn best(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.best).collect()
    }

    /// Mean objective of each step.
    pub fn mean(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.mean).collect()
    }

    /// Worst objective of each step.
    pub fn worst(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.worst).collect()
    }

    /// Loss of each gradient epoch (empty for the other methods).
    pub fn loss(&self) -> Vec<f64> {
        self.records.iter().filter_map(Record::loss).collect()
    }

    /// `(step, accuracy)` of every validation measurement.
    pub fn validation(&self) -> Vec<(u64, f64)> {
        self.records
            .iter()
            .filter_map(|r| r.validation_accuracy.map(|v| (r.step, v)))
            .collect()
    }

    /// The records without timings ([`Record::without_timings`]): equal for two runs with the
    /// same seed.
    pub fn trace(&self) -> Vec<Record> {
        self.records.iter().map(Record::without_timings).collect()
    }

    /// The records as CSV with a header line: the common columns, then the method's own
    /// (taken from the first record); empty cells where a value was not measured.
    ///
    /// ```
    /// use bitsmnist_core::run::{Detail, History, Record};
    /// let r = Record {
    ///     step: 0, best: 0.5, mean: 0.4, worst: 0.3, validation_accuracy: None,
    ///     elapsed_secs: 0.1, steps_per_sec: 0.0,
    ///     detail: Detail::Population { mutation_scale: 1.0 },
    /// };
    /// let csv = History { records: vec![r] }.to_csv();
    /// assert_eq!(csv.lines().next(), Some("step,best,mean,worst,validation_accuracy,elapsed_secs,steps_per_sec,mutation_scale"));
    /// assert_eq!(csv.lines().nth(1), Some("0,0.5,0.4,0.3,,0.1,0,1"));
    /// ```
    pub fn to_csv(&self) -> String {
        let mut s =
            String::from("step,best,mean,worst,validation_accuracy,elapsed_secs,steps_per_sec");
        s.push_str(match self.records.first().map(|r| &r.detail) {
            None | Some(Detail::Population { .. }) => ",mutation_scale\n",
            Some(Detail::Climb { .. }) => ",trials,kept,flips_per_sec\n",
            Some(Detail::Gradient { .. }) => ",epochs,loss,learning_rate,examples_per_sec\n",
        });
        for r in &self.records {
            s.push_str(&format!(
                "{},{},{},{},{},{},{}",
                r.step,
                r.best,
                r.mean,
                r.worst,
                r.validation_accuracy
                    .map_or(String::new(), |v| v.to_string()),
                r.elapsed_secs,
                r.steps_per_sec,
            ));
            match &r.detail {
                Detail::Population { mutation_scale } => s.push_str(&format!(",{mutation_scale}")),
                Detail::Climb {
                    trials,
                    kept,
                    flips_per_sec,
                } => s.push_str(&format!(",{trials},{kept},{flips_per_sec}")),
                Detail::Gradient {
                    epochs,
                    loss,
                    learning_rate,
                    examples_per_sec,
                } => s.push_str(&format!(
                    ",{epochs},{loss},{learning_rate},{examples_per_sec}"
                )),
            }
            s.push('\n');
        }
        s
    }
}
