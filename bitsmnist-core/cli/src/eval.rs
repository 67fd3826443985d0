//! `bitsmnist eval FILE.bin`: how well a saved model does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::run::{History, Record};
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
    /// Also print the stored history: step, seconds, objective and, where it was measured,
    /// validation accuracy. `--history` (or `--history=summary`) prints how many records
    /// there are, the first, the last, the best and a few evenly spaced between;
    /// `--history=all` prints every record. With `--json`, the records are JSON objects.
    // The value only after `=`: `eval --history model.bin` keeps reading the file's name as
    // the file, as it did before the flag took a value.
    #[arg(
        long,
        value_enum,
        value_name = "ROWS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "summary"
    )]
    history: Option<Rows>,
    /// How `--history` prints: `table` (after the evaluation, for reading) or `csv` (every
    /// field of every record and nothing else on stdout, to pipe into other tools; the model
    /// is then not evaluated unless `--predictions` asks for it).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write each test example's prediction to this CSV file (`index,label,predicted`:
    /// the example's position among the test examples of the task's classes, in the data
    /// set's order, its label and the predicted label, both as the data set's labels).
    #[arg(long, value_name = "FILE.csv")]
    predictions: Option<PathBuf>,
}

/// Which records `--history` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// The number of records, the first, the last, the best and a few evenly spaced between.
    Summary,
    /// Every record.
    All,
}

/// How `--history` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Columns for reading, after the evaluation's summary.
    Table,
    /// A header line, then one line per record (`History::to_csv`).
    Csv,
    /// One JSON array with one object per record: the older spelling of `--history=all
    /// --json`, kept for the scripts that use it.
    #[value(hide = true)]
    Json,
}

/// Records a history summary shows evenly spaced, the first and the last among them (the best
/// is added where it falls between).
const SUMMARY_ROWS: usize = 8;

pub fn run(args: Args) -> Result<()> {
    if args.format != Format::Table && args.history.is_none() {
        crate::errors::usage!(
            "--format {} prints the history: give --history too",
            format_name(args.format)
        );
    }
    if args.format != Format::Table && crate::json_output() {
        crate::errors::usage!(
            "--format {} prints the history alone; --json prints it as JSON objects: give one of them",
            format_name(args.format)
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
            _ => format!(
                "{}\n",
                serde_json::Value::Array(
                    history
                        .records
                        .iter()
                        .map(record_json)
                        .collect::<Result<_>>()?
                )
            ),
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
    out!(
        "confusion matrix (rows: true class, columns: predicted):\n{}",
        cm.to_string().trim_end()
    );
    // The same report, with the same keys, as `train` prints at the end of a run.
    crate::emit("report", &RunReport::of_file(&file, &data))?;
    crate::emit(
        "confusion",
        &serde_json::json!({
            "classes": data.class_names,
            "matrix": (0..cm.classes())
                .map(|t| (0..cm.classes()).map(|p| cm.count(t, p)).collect())
                .collect::<Vec<Vec<u64>>>(),
        }),
    )?;
    if let Some(rows) = args.history {
        match &file.history {
            Some(h) => print_history(h, rows)?,
            None => {
                out!("no history stored");
                crate::emit("history_summary", &summary_json(&History::default(), 0)?)?;
            }
        }
    }
    Ok(())
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Csv => "csv",
        Format::Json => "json",
    }
}

/// The positions of the records a summary of `n` records shows, in order: [`SUMMARY_ROWS`]
/// evenly spaced from the first to the last, and `best`; every record when there are not many
/// more than that.
fn summary_rows(n: usize, best: Option<usize>) -> Vec<usize> {
    if n <= SUMMARY_ROWS + 2 {
        return (0..n).collect();
    }
    let mut rows: Vec<usize> = (0..SUMMARY_ROWS)
        .map(|i| i * (n - 1) / (SUMMARY_ROWS - 1))
        .chain(best)
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The record with the highest objective (the first of equals): the objective is what every
/// method maximises, so the best step of the run.
fn best_record(history: &History) -> Option<usize> {
    history
        .records
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, r)| match best {
            Some((_, b)) if r.best <= b => best,
            _ => Some((i, r.best)),
        })
        .map(|(i, _)| i)
}

/// Prints the history as `rows` asks: the summary's line and the records as a table, or under
/// `--json` a `history_summary` object and one `history` object per record shown.
fn print_history(history: &History, rows: Rows) -> Result<()> {
    let records = &history.records;
    let best = best_record(history);
    let shown = match rows {
        Rows::All => (0..records.len()).collect(),
        Rows::Summary => summary_rows(records.len(), best),
    };
    crate::emit("history_summary", &summary_json(history, shown.len())?)?;
    if let (Some(first), Some(last), Some(b)) = (records.first(), records.last(), best) {
        let b = &records[b];
        out!(
            "history: {} records, steps {} to {} over {:.1} s; best objective {:.4} at step {}",
            records.len(),
            first.step,
            last.step,
            last.elapsed_secs,
            b.best,
            b.step
        );
    } else {
        out!("history: no records");
    }
    if shown.is_empty() {
        return Ok(());
    }
    out!("      step  seconds  objective  validation");
    for &i in &shown {
        let r = &records[i];
        crate::emit("history", &record_json(r)?)?;
        let mut notes = Vec::new();
        if i == 0 {
            notes.push("first");
        }
        if Some(i) == best {
            notes.push("best");
        }
        if i + 1 == records.len() {
            notes.push("last");
        }
        let line = format!(
            "{:>10} {:>8.1} {:>10.4} {:>11}  {}",
            r.step,
            r.elapsed_secs,
            r.best,
            r.validation_accuracy
                .map_or(String::from("-"), |a| format!("{:.2}%", a * 100.0)),
            notes.join(", ")
        );
        out!("{}", line.trim_end());
    }
    if shown.len() < records.len() {
        out!(
            "({} of {} records; --history=all prints every one)",
            shown.len(),
            records.len()
        );
    }
    Ok(())
}

/// The `history_summary` object: how many records there are and how many `history` objects
/// follow it, and the first, last and best record (`null` without records).
fn summary_json(history: &History, shown: usize) -> Result<serde_json::Value> {
    let record = |r: Option<&Record>| r.map(record_json).transpose();
    Ok(serde_json::json!({
        "records": history.records.len(),
        "shown": shown,
        "first": record(history.records.first())?,
        "last": record(history.records.last())?,
        "best": record(best_record(history).map(|i| &history.records[i]))?,
    }))
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
    // A grey model reads a level a pixel; a bit model every bit of a pixel's code.
    let inputs = match model.input() {
        bitsmnist_core::layers::Input::Grey => data.pixels(),
        _ => data.inputs(),
    };
    if model.inputs() != inputs || model.outputs() != task.len() {
        crate::errors::usage!(
            "{}: the model takes {} inputs and gives {} outputs; {} with task {task} needs {} and {}",
            args.file.display(),
            model.inputs(),
            model.outputs(),
            data.name,
            inputs,
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
        format!("{model} on {}, task {task}", crate::data::describe(&data)),
        cm,
        data,
    ))
}

/// One history record as a JSON object: the columns of [`History::to_csv`], `null` where a
/// value was not measured.
fn record_json(r: &Record) -> Result<serde_json::Value> {
    let mut object = match serde_json::to_value(r)? {
        serde_json::Value::Object(o) => o,
        other => anyhow::bail!("a history record as JSON is not an object: {other}"),
    };
    // The method's own fields sit beside the common ones, as in the CSV, rather than under the
    // method's name.
    if let Some(serde_json::Value::Object(detail)) = object.remove("detail") {
        for (_method, fields) in detail {
            if let serde_json::Value::Object(fields) = fields {
                object.extend(fields);
            }
        }
    }
    Ok(serde_json::Value::Object(object))
}
