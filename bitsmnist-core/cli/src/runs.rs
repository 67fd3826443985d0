//! `bitsmnist runs`: the runs folder ([`bitsmnist_core::runs::RunStore`]) that `train`
//! records every run into: a table of the runs, one run's settings and result, the settings
//! that differ between runs beside their figures, a new label, a deletion.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitsmnist_core::runs::{RunId, RunListing, RunStatus, RunStore, RunSummary, settings_diff};

/// Arguments of `bitsmnist runs`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    #[command(flatten)]
    filter: ListArgs,
    /// The runs folder (default: $BITSMNIST_RUNS_DIR, else the user's data folder, e.g.
    /// ~/.local/share/bitsmnist/runs).
    #[arg(long, global = true, value_name = "DIR")]
    runs: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum RunsCommand {
    /// The runs as a table, oldest first (the default).
    List,
    /// One run: its status, settings, progress and result.
    Show {
        /// The run's id (`bitsmnist runs` lists them).
        id: String,
    },
    /// Runs side by side: the settings in which they differ, and their figures.
    Compare {
        /// Two or more run ids.
        #[arg(num_args = 2.., required = true)]
        ids: Vec<String>,
    },
    /// Give a run a new label (and tags, replacing its own).
    Label {
        /// The run's id.
        id: String,
        /// The new label.
        label: String,
        /// The run's tags, comma-separated (replacing its own; none when not given).
        #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
        tags: Vec<String>,
    },
    /// Delete a run and its files (refused while it is being written).
    Delete {
        /// The run's id.
        id: String,
    },
}

#[derive(clap::Args, Default)]
struct ListArgs {
    /// List only runs whose label contains this text.
    #[arg(long, global = true)]
    label: Option<String>,
    /// List only runs with this tag.
    #[arg(long, global = true)]
    tag: Option<String>,
    /// List only runs in this status: running, paused, interrupted, stopped, finished or
    /// damaged.
    #[arg(long, global = true)]
    status: Option<String>,
}

/// The runs folder: `--runs`, else `$BITSMNIST_RUNS_DIR`, else the user's data folder.
pub(crate) fn runs_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    RunStore::resolve_dir(given).context("no runs folder: give --runs DIR")
}

/// Runs `bitsmnist runs`.
pub fn run(args: Args) -> Result<()> {
    let dir = runs_dir(args.runs)?;
    let store = RunStore::open(&dir)?;
    match args.command.unwrap_or(RunsCommand::List) {
        RunsCommand::List => list(&store, &args.filter),
        RunsCommand::Show { id } => show(&store, &parse(&id)?),
        RunsCommand::Compare { ids } => {
            let ids = ids.iter().map(|i| parse(i)).collect::<Result<Vec<_>>>()?;
            compare(&store, &ids)
        }
        RunsCommand::Label { id, label, tags } => {
            let id = parse(&id)?;
            store.relabel(&id, &label, &tags)?;
            out!("run {id} is now labelled {label:?}");
            crate::emit("run", &row(&store.listing(id)))
        }
        RunsCommand::Delete { id } => {
            let id = parse(&id)?;
            store.delete(&id)?;
            out!("deleted run {id}");
            #[derive(serde::Serialize)]
            struct Deleted {
                id: String,
            }
            crate::emit("deleted", &Deleted { id: id.to_string() })
        }
    }
}

fn parse(id: &str) -> Result<RunId> {
    id.parse()
        .map_err(|e| anyhow::Error::new(crate::errors::Usage(format!("{e}"))))
}

/// A run as the table and the JSON objects show it.
#[derive(serde::Serialize)]
struct Row {
    id: String,
    status: String,
    #[serde(flatten)]
    summary: Option<RunSummary>,
}

fn row(listing: &RunListing) -> Row {
    Row {
        id: listing.id.to_string(),
        status: listing.status.to_string(),
        summary: listing.summary.clone(),
    }
}

fn list(store: &RunStore, filter: &ListArgs) -> Result<()> {
    if let Some(s) = &filter.status {
        const STATUSES: [&str; 6] = [
            "running",
            "paused",
            "interrupted",
            "stopped",
            "finished",
            "damaged",
        ];
        if !STATUSES.contains(&s.as_str()) {
            crate::errors::usage!("--status {s}: use one of {}", STATUSES.join(", "));
        }
    }
    let runs: Vec<RunListing> = store
        .list()?
        .into_iter()
        .filter(|r| {
            let s = r.summary.as_ref();
            filter
                .label
                .as_ref()
                .is_none_or(|l| s.is_some_and(|s| s.label.contains(l.as_str())))
                && filter
                    .tag
                    .as_ref()
                    .is_none_or(|t| s.is_some_and(|s| s.tags.contains(t)))
                && filter.status.as_ref().is_none_or(|want| {
                    let status = r.status.to_string();
                    status == *want || status.starts_with(&format!("{want} "))
                })
        })
        .collect();
    let mut table = vec![RunListing::COLUMNS.map(String::from).to_vec()];
    table.extend(runs.iter().map(|r| r.cells().to_vec()));
    if runs.is_empty() {
        out!("no runs in {}", store.dir().display());
    } else {
        print_table(&table);
        out!(
            "{} runs in {}; `bitsmnist runs show ID` for one, `bitsmnist runs compare ID ID` to diff",
            runs.len(),
            store.dir().display()
        );
    }
    for r in &runs {
        crate::emit("run", &row(r))?;
    }
    Ok(())
}

fn show(store: &RunStore, id: &RunId) -> Result<()> {
    let listing = store.listing(id.clone());
    let Some(s) = &listing.summary else {
        if let RunStatus::Damaged(why) = &listing.status
            && !store.dir().join(id.as_str()).is_dir()
        {
            anyhow::bail!("no run {id} in {} ({why})", store.dir().display());
        }
        out!("run {id}: {}", listing.status);
        return crate::emit("run", &row(&listing));
    };
    out!("run {id}: {}", listing.status);
    if !s.label.is_empty() {
        out!("label: {}", s.label);
    }
    if !s.tags.is_empty() {
        out!("tags: {}", s.tags.join(", "));
    }
    out!(
        "started {} by {}; last written {}",
        date(s.started_unix),
        if s.program.is_empty() {
            "?"
        } else {
            &s.program
        },
        date(s.updated_unix)
    );
    out!(
        "step {}{}, {:.1} s of training",
        s.step,
        s.planned_steps
            .map_or(String::new(), |p| format!(" of {p}")),
        s.seconds
    );
    if let Some(r) = &s.result {
        out!(
            "result: train {}, test {}, {} ({}), fingerprint {}",
            percent(Some(r.train_accuracy)),
            percent(Some(r.test_accuracy)),
            kib(r.model_bytes),
            r.stop,
            r.fingerprint
        );
    } else if let Some(t) = s.last_test_accuracy {
        out!("last test accuracy {}", percent(Some(t)));
    }
    let mut table = vec![vec!["setting".to_string(), "value".to_string()]];
    table.extend(s.all_settings().into_iter().map(|(k, v)| vec![k, v]));
    print_table(&table);
    out!("checkpoint: {}", store.checkpoint_path(id).display());
    if matches!(listing.status, RunStatus::Interrupted | RunStatus::Stopped) {
        out!("continue it: bitsmnist train --continue {id}");
    }
    crate::emit("run", &row(&listing))
}

fn compare(store: &RunStore, ids: &[RunId]) -> Result<()> {
    let summaries = ids
        .iter()
        .map(|id| store.summary(id))
        .collect::<Result<Vec<_>, _>>()?;
    let settings: Vec<_> = summaries.iter().map(RunSummary::all_settings).collect();
    // A setting is shown when any run differs from the first in it.
    let mut names: Vec<String> = Vec::new();
    for other in &settings[1..] {
        for (name, _, _) in settings_diff(&settings[0], other) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let value = |s: &[(String, String)], name: &str| {
        s.iter()
            .find(|(n, _)| n == name)
            .map_or("-".to_string(), |(_, v)| v.clone())
    };
    let mut table = vec![
        std::iter::once("".to_string())
            .chain(ids.iter().map(ToString::to_string))
            .collect::<Vec<_>>(),
    ];
    table.push(
        std::iter::once("label".to_string())
            .chain(summaries.iter().map(|s| s.label.clone()))
            .collect(),
    );
    for name in &names {
        table.push(
            std::iter::once(name.clone())
                .chain(settings.iter().map(|s| value(s, name)))
                .collect(),
        );
    }
    let figure = |f: &dyn Fn(&RunSummary) -> String, name: &str| {
        std::iter::once(name.to_string())
            .chain(summaries.iter().map(f))
            .collect::<Vec<_>>()
    };
    table.push(figure(&|s| s.step.to_string(), "step"));
    table.push(figure(&|s| format!("{:.1} s", s.seconds), "time"));
    table.push(figure(
        &|s| percent(s.result.as_ref().map(|r| r.train_accuracy)),
        "train accuracy",
    ));
    table.push(figure(
        &|s| {
            percent(
                s.result
                    .as_ref()
                    .map(|r| r.test_accuracy)
                    .or(s.last_test_accuracy),
            )
        },
        "test accuracy",
    ));
    print_table(&table);
    if names.is_empty() {
        out!("the runs' settings are the same");
    }
    /// Runs compared: the settings that differ, per run, and each run's summary.
    #[derive(serde::Serialize)]
    struct Comparison<'a> {
        ids: Vec<String>,
        differing: Vec<(String, Vec<String>)>,
        runs: &'a [RunSummary],
    }
    crate::emit(
        "comparison",
        &Comparison {
            ids: ids.iter().map(ToString::to_string).collect(),
            differing: names
                .iter()
                .map(|n| (n.clone(), settings.iter().map(|s| value(s, n)).collect()))
                .collect(),
            runs: &summaries,
        },
    )
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.2}%", 100.0 * x))
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn date(unix: u64) -> String {
    bitsmnist_core::display::utc_date_time(unix)
}

/// Columns padded to their widest cell, the first row the header.
pub(crate) fn print_table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let line = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        out!("{}", line.trim_end());
    }
}
