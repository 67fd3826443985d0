//! `bitsmnist eval FILE.bin`: how well a saved model does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::Task;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::statistics::ConfusionMatrix;

use crate::data::DataOptions;

/// Arguments of `bitsmnist eval`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file (`.bin`, from the command line, a notebook or the desktop app).
    file: PathBuf,
    #[command(flatten)]
    data: DataOptions,
    /// Task (default: the one stored in the file, else all classes of the data set).
    #[arg(long)]
    task: Option<Task>,
    /// Also print the stored history: generation, seconds, fitness and, where it was
    /// measured, validation accuracy (accuracy against training time).
    #[arg(long)]
    history: bool,
    /// Also write each test example's prediction to this CSV file (`index,label,predicted`:
    /// the example's position among the test examples of the task's classes, in the data
    /// set's order, its label and the predicted label, both as the data set's labels).
    #[arg(long, value_name = "FILE.csv")]
    predictions: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let file = ModelFile::load(&args.file).with_context(|| args.file.display().to_string())?;
    let mut data_options = args.data.clone();
    // Evaluated as it was trained, unless told otherwise.
    data_options.binarize = data_options.binarize.or(file.meta.binarization);
    let full = data_options.load()?;
    let task = match args.task.clone().or_else(|| file.meta.task.clone()) {
        Some(t) => t,
        None => Task::new((0..full.classes() as u8).collect())?,
    };
    let data = full.for_task(&task)?;
    let model = &file.model;
    if model.inputs() != data.pixels() || model.outputs() != task.len() {
        crate::errors::usage!(
            "{}: the model takes {} inputs and gives {} outputs; {} with task {task} needs {} and {}",
            args.file.display(),
            model.inputs(),
            model.outputs(),
            data.name,
            data.pixels(),
            task.len()
        );
    }
    // The model says how it reads an example (bits, or grey levels).
    let predictions = model
        .predict_split(&data.test)
        .with_context(|| args.file.display().to_string())?;
    let cm = ConfusionMatrix::from_predictions(task.len(), data.test.labels(), &predictions);
    if let Some(path) = &args.predictions {
        let mut csv = String::from("index,label,predicted\n");
        let label = |k: usize| task.classes()[k];
        for (i, (&y, &p)) in data.test.labels().iter().zip(&predictions).enumerate() {
            csv.push_str(&format!("{i},{},{}\n", label(y as usize), label(p)));
        }
        bitsmnist_core::files::write_atomic(path, csv.as_bytes())
            .with_context(|| path.display().to_string())?;
    }
    out!("{model} on {} ({}), task {task}", data.name, data.source);
    out!(
        "test: {} examples, error {:.4}%, accuracy {:.4}%, MCC {:.4}",
        cm.total(),
        cm.error() * 100.0,
        cm.accuracy() * 100.0,
        cm.mcc()
    );
    out!("confusion matrix (rows: true class, columns: predicted):\n{cm}");
    if args.history {
        match &file.history {
            Some(h) => {
                out!("      step  seconds  fitness  validation");
                for r in &h.records {
                    out!(
                        "{:>10} {:>8.1} {:>8.4} {:>11}",
                        r.step,
                        r.elapsed_secs,
                        r.best,
                        r.validation_accuracy
                            .map_or(String::from("-"), |a| format!("{:.2}%", a * 100.0))
                    );
                }
            }
            None => out!("no history stored"),
        }
    }
    let (generations, seconds) = match &file.state {
        Some(s) => (
            Some(s.step_number()),
            s.history().last().map(|r| r.elapsed_secs),
        ),
        None => (None, None),
    };
    let json = serde_json::json!({
        "test_error": cm.error(),
        "test_accuracy": cm.accuracy(),
        "mcc": cm.mcc(),
        "examples": cm.total(),
        "generations": generations,
        "seconds": seconds,
    });
    out!("{json}");
    Ok(())
}
