//! What happened in each generation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Statistics of one generation, all of the current population on the current fitness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Generation number: 0 is the first evaluation of the random population, then one per
    /// breeding step.
    pub generation: u64,
    /// Best fitness.
    pub best: f64,
    /// Mean fitness.
    pub mean: f64,
    /// Worst fitness.
    pub worst: f64,
    /// Accuracy of the best candidate on the validation split, on the generations it was
    /// measured.
    pub validation_accuracy: Option<f64>,
    /// Seconds of training so far (summed over resumed runs).
    pub elapsed_secs: f64,
    /// Generations per second in the current run.
    pub generations_per_sec: f64,
    /// Mutation scale (see [`Adaptation`](super::Adaptation)) used to breed this generation.
    pub mutation_scale: f64,
}

impl fmt::Display for GenerationRecord {
    /// `gen 10  best 0.9876  mean 0.9  worst 0.5  val 98.50%  12.3 gen/s  4.1 s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gen {}  best {:.6}  mean {:.6}  worst {:.6}",
            self.generation, self.best, self.mean, self.worst
        )?;
        if let Some(v) = self.validation_accuracy {
            write!(f, "  val {:.2}%", v * 100.0)?;
        }
        if self.mutation_scale != 1.0 {
            write!(f, "  mut x{:.3}", self.mutation_scale)?;
        }
        write!(
            f,
            "  {:.1} gen/s  {:.1} s",
            self.generations_per_sec, self.elapsed_secs
        )
    }
}

/// Every generation's record, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The records, oldest first.
    pub records: Vec<GenerationRecord>,
}

impl History {
    /// An SVG plot of best, mean and worst fitness per generation, with the validation
    /// accuracy (if recorded) on a second axis.
    pub fn to_svg(&self) -> String {
        let pts = |f: fn(&GenerationRecord) -> f64| -> Vec<(f64, f64)> {
            self.records
                .iter()
                .map(|r| (r.generation as f64, f(r)))
                .collect()
        };
        let (best, mean, worst) = (pts(|r| r.best), pts(|r| r.mean), pts(|r| r.worst));
        let validation: Vec<(f64, f64)> = self
            .validation()
            .into_iter()
            .map(|(g, a)| (g as f64, a))
            .collect();
        let v: Vec<(&str, &[(f64, f64)])> = if validation.is_empty() {
            Vec::new()
        } else {
            vec![("validation accuracy", &validation)]
        };
        crate::display::fitness_plot_svg(&[("best", &best), ("mean", &mean), ("worst", &worst)], &v)
    }

    /// Rich display in evcxr notebooks: the fitness plot as SVG.
    pub fn evcxr_display(&self) {
        crate::display::emit_svg(&self.to_svg());
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The latest record.
    pub fn last(&self) -> Option<&GenerationRecord> {
        self.records.last()
    }

    /// Best fitness of each generation.
    pub fn best(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.best).collect()
    }

    /// Mean fitness of each generation.
    pub fn mean(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.mean).collect()
    }

    /// Worst fitness of each generation.
    pub fn worst(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.worst).collect()
    }

    /// `(generation, accuracy)` of every validation measurement.
    pub fn validation(&self) -> Vec<(u64, f64)> {
        self.records
            .iter()
            .filter_map(|r| r.validation_accuracy.map(|v| (r.generation, v)))
            .collect()
    }

    /// The records as CSV with a header line (empty validation cells where not measured).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "generation,best,mean,worst,validation_accuracy,elapsed_secs,generations_per_sec,mutation_scale\n",
        );
        for r in &self.records {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                r.generation,
                r.best,
                r.mean,
                r.worst,
                r.validation_accuracy
                    .map_or(String::new(), |v| v.to_string()),
                r.elapsed_secs,
                r.generations_per_sec,
                r.mutation_scale
            ));
        }
        s
    }

    /// The fitness parts of the records (generation, best, mean, worst, validation, mutation
    /// scale), without timings: equal for two runs with the same seed.
    pub fn fitness_trace(&self) -> Vec<(u64, f64, f64, f64, Option<f64>, f64)> {
        self.records
            .iter()
            .map(|r| {
                (
                    r.generation,
                    r.best,
                    r.mean,
                    r.worst,
                    r.validation_accuracy,
                    r.mutation_scale,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod svg_tests {
    use super::*;

    #[test]
    fn plot_has_every_series() {
        let mut h = History::default();
        for g in 0..5u64 {
            h.records.push(GenerationRecord {
                generation: g,
                best: g as f64,
                mean: g as f64 / 2.0,
                worst: 0.0,
                validation_accuracy: (g % 2 == 0).then_some(0.5),
                elapsed_secs: 0.0,
                generations_per_sec: 0.0,
                mutation_scale: 1.0,
            });
        }
        let svg = h.to_svg();
        for name in ["best", "mean", "worst", "validation accuracy", "<svg"] {
            assert!(svg.contains(name), "{name}");
        }
    }
}
