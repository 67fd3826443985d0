//! `bitsmnist eval FILE.bin`: how well a saved model does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::run::History;
use bitsmnist_core::session::RunReport;
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
    /// measured, validation accuracy (accuracy against training time); `--format` chooses
    /// between a table and CSV or JSON.
    #[arg(long)]
    history: bool,
    /// How `--history` prints: `table` (after the evaluation, for reading), or `csv` or
    /// `json` (every field of every record, and nothing else on stdout, to pipe into other
    /// tools; the model is then not evaluated unless `--predictions` asks for it).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write each test example's prediction to this CSV file (`index,label,predicted`:
    /// the example's position among the test examples of the task's classes, in the data
    /// set's order, its label and the predicted label, both as the data set's labels).
    #[arg(long, value_name = "FILE.csv")]
    predictions: Option<PathBuf>,
}

/// How `--history` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Columns for reading, after the evaluation's summary.
    Table,
    /// A header line, then one line per record (`History::to_csv`).
    Csv,
    /// One JSON array with one object per record.
    Json,
}

pub fn run(args: Args) -> Result<()> {
    if args.format != Format::Table && !args.history {
        crate::errors::usage!(
            "--format {} prints the history: give --history too",
            if args.format == Format::Csv {
                "csv"
            } else {
                "json"
            }
        );
    }
    if let Some(out) = &args.predictions {
        let inputs: Vec<PathBuf> = std::iter::once(args.file.clone())
            .chain(args.data.input_files())
            .collect();
        crate::refuse_input_as_output("--predictions", out, &inputs)?;
        bitsmnist_core::files::check_writable(out)
            .with_context(|| format!("--predictions {}: cannot be written", out.display()))?;
    }
    // Held to the end of the command: a second writer of the same file is refused.
    let _lock = match &args.predictions {
        Some(out) => Some(crate::lock_output("--predictions", out)?),
        None => None,
    };
    let file = ModelFile::load(&args.file).with_context(|| args.file.display().to_string())?;
    if args.format != Format::Table {
        let Some(history) = &file.history else {
            anyhow::bail!("{}: no history stored", args.file.display());
        };
        // Checked before any output, so that a failure leaves stdout empty.
        let text = match args.format {
            Format::Csv => history.to_csv(),
            _ => format!("{}\n", history_json(history)?),
        };
        if args.predictions.is_some() {
            evaluate(&args, &file)?;
        }
        crate::print_bytes(text.as_bytes());
        return Ok(());
    }
    let (model_line, cm, data) = evaluate(&args, &file)?;
    out!("{model_line}");
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
    // The same report, with the same keys, as `train` prints at the end of a run.
    let report = RunReport::of_file(&file, &data);
    out!(
        "{}",
        serde_json::to_string(&report).context("writing the report")?
    );
    Ok(())
}

/// Evaluates the model of `file` on the test split as `args` ask and writes `--predictions`:
/// the summary line naming model, data and task, and the confusion matrix.
fn evaluate(args: &Args, file: &ModelFile) -> Result<(String, ConfusionMatrix, Dataset)> {
    let mut data_options = args.data.clone();
    // Evaluated on the data and binarisation it was trained with, unless told otherwise; then
    // said, so that a figure on other data is not read as the model's own.
    data_options.binarize = data_options.binarize.or(file.meta.binarization);
    // Said once the evaluation is sure to go on, so that a refusal stays one line.
    let mut notes = Vec::new();
    if let (Some(given), Some(recorded)) = (&args.data.binarize, &file.meta.binarization)
        && given != recorded
    {
        notes.push(format!(
            "note: {} was trained on images binarised by {recorded}; evaluating with {given}",
            args.file.display()
        ));
    }
    match (&args.data.dataset, &file.meta.source) {
        (Some(given), Some(recorded)) if !crate::data::same_source(given, recorded) => {
            notes.push(format!(
                "note: {} was trained on {recorded}; evaluating on {given}",
                args.file.display()
            ));
        }
        (None, Some(recorded)) => data_options.dataset = Some(recorded.clone()),
        _ => {}
    }
    if let Some(out) = &args.predictions {
        // The recorded data set's files are inputs too, now that they are known.
        crate::refuse_input_as_output("--predictions", out, &data_options.input_files())?;
    }
    let full = match (&args.data.dataset, &file.meta.source) {
        // A recorded folder may have moved since: say where the path came from.
        (None, Some(recorded)) => data_options.load().with_context(|| {
            format!(
                "{}: trained on {recorded} (--dataset evaluates on other data)",
                args.file.display()
            )
        })?,
        _ => data_options.load()?,
    };
    let task = match args.task.clone().or_else(|| file.meta.task.clone()) {
        Some(t) => t,
        None => Task::new((0..full.classes() as u8).collect())?,
    };
    let mut data = full.for_task(&task)?;
    // The training examples the run trained on, as the report of `train` measured them.
    if let Some(f) = file.meta.run.as_ref().and_then(|r| r.sample)
        && f < 1.0
    {
        data.train = data.train.sample(f, data.classes());
    }
    if data.test.is_empty() {
        crate::errors::usage!(
            "{} has no test examples of task {task}: nothing to evaluate",
            data.name
        );
    }
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
    for note in notes {
        eprintln!("{note}");
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
    Ok((
        format!("{model} on {} ({}), task {task}", data.name, data.source),
        cm,
        data,
    ))
}

/// The history as one JSON array: per record the columns of [`History::to_csv`], `null`
/// where a value was not measured.
fn history_json(history: &History) -> Result<serde_json::Value> {
    let records = history
        .records
        .iter()
        .map(|r| {
            let mut object = match serde_json::to_value(r)? {
                serde_json::Value::Object(o) => o,
                other => anyhow::bail!("a history record as JSON is not an object: {other}"),
            };
            // The method's own fields sit beside the common ones, as in the CSV, rather than
            // under the method's name.
            if let Some(serde_json::Value::Object(detail)) = object.remove("detail") {
                for (_method, fields) in detail {
                    if let serde_json::Value::Object(fields) = fields {
                        object.extend(fields);
                    }
                }
            }
            Ok(serde_json::Value::Object(object))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::Value::Array(records))
}
