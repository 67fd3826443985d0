//! The command line's edges a user meets first: clap's own error messages, `--version`, the
//! shell completion scripts, the manual pages and the history as CSV or JSON.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn a_misspelt_flag_keeps_clap_tip_and_help_hint() {
    let out = bitsmnist(&["train", "--generatons", "3"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", stdout(&out));
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("--generatons"),
        "{err}"
    );
    assert!(
        err.contains("tip: a similar argument exists: '--generations'"),
        "{err}"
    );
    assert!(err.contains("Usage: bitsmnist train"), "{err}");
    assert_eq!(
        err.trim_end().lines().last(),
        Some("For more information, try '--help'."),
        "{err}"
    );
}

#[test]
fn an_unknown_command_is_refused_with_a_suggestion() {
    let out = bitsmnist(&["evl"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let tip = err.lines().find(|l| l.trim_start().starts_with("tip: "));
    assert!(tip.is_some_and(|t| t.contains("'eval'")), "{err}");
    assert!(err.contains("For more information, try '--help'."), "{err}");
}

#[test]
fn version_and_help_print_on_stdout_and_succeed() {
    let out = bitsmnist(&["--version"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("bitsmnist {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let out = bitsmnist(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let help = stdout(&out);
    for command in ["train", "eval", "completions", "man"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} not listed in {help}"
        );
    }
    let out = bitsmnist(&["eval", "--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let help = stdout(&out);
    assert!(help.contains("--format <FORMAT>"), "{help}");
    assert!(help.contains("csv") && help.contains("json"), "{help}");
}

#[test]
fn the_programs_own_refusals_stay_one_line() {
    // Parsed by clap, refused by the command's own check: the short form.
    let out = bitsmnist(&["train", "--threads", "0"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("--threads"),
        "{err}"
    );
}

#[test]
fn bash_completions_name_commands_and_flags_and_parse() {
    let out = bitsmnist(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    assert!(script.contains("train"), "no train in the script");
    assert!(
        script.contains("--generations"),
        "no --generations in the script"
    );
    assert!(script.contains("completions") && script.contains("man"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bitsmnist.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "bash -n refuses the script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn every_shell_gets_its_script() {
    let out = bitsmnist(&["completions", "fish"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fish = stdout(&out);
    assert!(fish.contains("complete -c bitsmnist"), "{fish}");
    assert!(fish.contains("export"), "no export in {fish}");
    for (shell, marker) in [
        ("zsh", "#compdef bitsmnist"),
        ("elvish", "edit:completion:arg-completer[bitsmnist]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = bitsmnist(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: no {marker}");
        assert!(script.contains("generations"), "{shell}: no --generations");
    }
    let out = bitsmnist(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

/// Asserts that `page` is a roff page whose first request is `.TH name 1`: before it only the
/// two lines that define the `\*(Aq` string (an apostrophe groff does not turn into a
/// quote), which roff output for clap starts with.
fn assert_title(page: &str, name: &str) {
    let mut lines = page
        .lines()
        .skip_while(|l| l.starts_with(".ie ") || l.starts_with(".el "));
    let title = lines.next().unwrap_or_default();
    assert!(
        title.starts_with(&format!(".TH {name} 1 ")),
        "{name}: title line {title:?} in {page}"
    );
    assert_eq!(
        page.lines().take_while(|l| !l.starts_with(".TH")).count(),
        2,
        "{name}: {page}"
    );
    assert!(page.contains(".SH NAME\n"), "{name}: {page}");
}

/// Renders `page` with `man -l` when `man` is installed: `Some(warnings)` on stderr, `None`
/// when there is no `man`.
fn render_with_man(page: &Path) -> Option<String> {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("man -l: {e}"),
    };
    assert!(
        out.status.success(),
        "man -l {} failed: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bitsmnist"), "{text}");
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_man_page_names_the_commands_and_renders() {
    let out = bitsmnist(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert_title(&page, "bitsmnist");
    for command in [
        "data",
        "bench",
        "train",
        "eval",
        "export",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("bitsmnist\\-{command}(1)")),
            "{command} not named in the page"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bitsmnist.1");
    std::fs::write(&path, &page).unwrap();
    match render_with_man(&path) {
        Some(warnings) => assert!(warnings.trim().is_empty(), "man warns: {warnings}"),
        None => eprintln!("`man` is not installed: the page's rendering is not checked"),
    }
}

#[test]
fn man_out_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = bitsmnist_in(dir.path(), &["man", "--out", "man1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bitsmnist-bench.1",
            "bitsmnist-completions.1",
            "bitsmnist-data.1",
            "bitsmnist-eval.1",
            "bitsmnist-export.1",
            "bitsmnist-man.1",
            "bitsmnist-merge.1",
            "bitsmnist-runs-compare.1",
            "bitsmnist-runs-delete.1",
            "bitsmnist-runs-label.1",
            "bitsmnist-runs-list.1",
            "bitsmnist-runs-show.1",
            "bitsmnist-runs.1",
            "bitsmnist-sweep.1",
            "bitsmnist-train.1",
            "bitsmnist.1",
        ],
        "no temporaries left, no page for clap's `help`"
    );
    // stdout lists what was written, one path a line.
    assert_eq!(
        stdout(&out).lines().count(),
        names.len(),
        "{}",
        stdout(&out)
    );
    let train = std::fs::read_to_string(pages.join("bitsmnist-train.1")).unwrap();
    assert_title(&train, "bitsmnist-train");
    assert!(train.contains("generations"), "{train}");
    let top = std::fs::read_to_string(pages.join("bitsmnist.1")).unwrap();
    assert_eq!(top, stdout(&bitsmnist(&["man"])), "the same page both ways");
    let mut rendered = false;
    for name in &names {
        if let Some(warnings) = render_with_man(&pages.join(name)) {
            assert!(warnings.trim().is_empty(), "{name}: man warns: {warnings}");
            rendered = true;
        }
    }
    if !rendered {
        eprintln!("`man` is not installed: the pages' rendering is not checked");
    }
}

/// Trains a zero-one model with `args` (besides `--quiet --out`) into `dir/name`.
fn trained(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let mut all = vec!["train", "--quiet", "--out", name];
    all.extend_from_slice(args);
    let out = bitsmnist_in(dir, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join(name)
}

#[test]
fn history_as_csv_and_json_prints_only_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path(), "m.bin", &["--generations", "5"]);
    let model = model.to_str().unwrap();

    let out = bitsmnist(&["eval", model, "--history", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    assert_eq!(
        header[..7],
        [
            "step",
            "best",
            "mean",
            "worst",
            "validation_accuracy",
            "elapsed_secs",
            "steps_per_sec"
        ],
        "{csv}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Generation 0, the starting population, is recorded too.
    assert_eq!(rows.len(), 6, "5 generations and the start: {csv}");
    let mut steps = Vec::new();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{csv}");
        steps.push(row[0].parse::<u64>().expect("step is an integer"));
        for (cell, column) in row.iter().zip(&header).skip(1) {
            if !cell.is_empty() {
                let v: f64 = cell.parse().unwrap_or_else(|_| panic!("{column}: {cell}"));
                assert!(v.is_finite(), "{column}: {cell}");
            }
        }
        let best: f64 = row[1].parse().unwrap();
        let worst: f64 = row[3].parse().unwrap();
        assert!(worst <= best, "{csv}");
    }
    assert!(
        steps.windows(2).all(|w| w[1] == w[0] + 1),
        "steps {steps:?}"
    );
    let seconds: Vec<f64> = rows.iter().map(|r| r[5].parse().unwrap()).collect();
    assert!(seconds.windows(2).all(|w| w[1] >= w[0]), "{seconds:?}");

    let out = bitsmnist(&["eval", model, "--history", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("stdout is one JSON document");
    let records = json.as_array().expect("an array");
    assert_eq!(records.len(), 6, "{json}");
    for (record, row) in records.iter().zip(&rows) {
        // The same fields as the CSV's columns, the same values.
        let object = record.as_object().expect("a record is an object");
        assert_eq!(object.len(), header.len(), "{record}");
        for (column, cell) in header.iter().zip(row) {
            let value = &record[*column];
            if cell.is_empty() {
                assert!(value.is_null(), "{column}: {record}");
            } else {
                assert_eq!(
                    value.as_f64(),
                    Some(cell.parse::<f64>().unwrap()),
                    "{column}: {record}"
                );
            }
        }
    }

    // The table is the default and comes after the evaluation, as before.
    let out = bitsmnist(&["eval", model, "--history"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("confusion matrix"), "{table}");
    assert!(
        table.contains("step  seconds  objective  validation"),
        "{table}"
    );
    // Six records are few enough to be shown whole, without the note that some are not.
    assert!(
        table.contains("history: 6 records, steps 0 to 5"),
        "{table}"
    );
    assert!(!table.contains("--history=all prints"), "{table}");
    let explicit = bitsmnist(&["eval", model, "--history", "--format", "table"]);
    assert_eq!(stdout(&explicit), table);
}

#[test]
fn format_without_history_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["csv", "json"] {
        // Refused before the file is read: this one does not exist.
        let out = bitsmnist_in(dir.path(), &["eval", "none.bin", "--format", format]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{format}: {err}");
        assert_eq!(err.lines().count(), 1, "{format}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains("--history"),
            "{format}: {err}"
        );
        assert!(out.stdout.is_empty(), "{format}");
    }
}

#[test]
fn gradient_history_as_csv_and_json_carries_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(
        dir.path(),
        "g.bin",
        &[
            "--method",
            "gradient",
            "--hidden",
            "32",
            "--epochs",
            "5",
            "--test-every-epoch",
        ],
    );
    let model = model.to_str().unwrap();
    let out = bitsmnist(&["eval", model, "--history", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column: {csv}"))
    };
    let (step, loss, validation) = (
        column("step"),
        column("loss"),
        column("validation_accuracy"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Epochs are counted from 1: five epochs, five records.
    assert_eq!(rows.len(), 5, "{csv}");
    let steps: Vec<u64> = rows.iter().map(|r| r[step].parse().unwrap()).collect();
    assert_eq!(steps, [1, 2, 3, 4, 5], "{csv}");
    for row in &rows {
        let l: f64 = row[loss].parse().expect("a loss every epoch");
        assert!(l.is_finite() && l > 0.0, "{csv}");
        let v: f64 = row[validation].parse().expect("measured every epoch");
        assert!((0.0..=1.0).contains(&v), "{csv}");
    }
    let out = bitsmnist(&["eval", model, "--history", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    let records = json.as_array().expect("an array");
    assert_eq!(records.len(), 5, "{json}");
    for (record, row) in records.iter().zip(&rows) {
        assert_eq!(record["step"].as_u64(), Some(row[step].parse().unwrap()));
        assert_eq!(record["loss"].as_f64(), Some(row[loss].parse().unwrap()));
        assert_eq!(record.as_object().unwrap().len(), header.len(), "{record}");
    }
}

#[test]
fn help_and_man_pages_have_headings_examples_exit_status_and_environment() {
    let help = stdout(&bitsmnist(&["train", "--help"]));
    for heading in [
        "Data:",
        "Model:",
        "Method:",
        "Stop rules:",
        "Files and output:",
        "Examples:",
    ] {
        assert!(
            help.lines().any(|l| l == heading),
            "{heading} in train --help"
        );
    }
    let top = stdout(&bitsmnist(&["--help"]));
    assert!(
        top.contains("Exit status:") && top.contains("BITSMNIST_KERNEL"),
        "{top}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = bitsmnist_in(dir.path(), &["man", "--out", "man1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for page in ["bitsmnist.1", "bitsmnist-train.1", "bitsmnist-eval.1"] {
        let text = std::fs::read_to_string(dir.path().join("man1").join(page)).unwrap();
        for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT"] {
            assert!(text.contains(section), "{section} in {page}");
        }
        assert!(!text.contains('`'), "Markdown backticks in {page}");
        assert_eq!(
            text.matches(".ie \\n(.g").count(),
            1,
            "one roff preamble in {page}"
        );
        // Every command's page has its examples; the top page has the commands instead.
        assert_eq!(
            text.contains(".SH EXAMPLES"),
            page != "bitsmnist.1",
            "{page}"
        );
    }
}
