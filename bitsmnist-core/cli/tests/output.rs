//! What each command prints, for people and for tools: text by default and no JSON at all;
//! with `--json` JSON objects alone on stdout, one per line; progress on stderr either way;
//! the history's summary and its every record; and the examples each `--help` ends with,
//! run as they are written.

mod common;

use std::path::Path;

use common::*;

/// A zero-one model of 40 generations (41 history records) in `dir`, named as the examples
/// name it.
fn zero_one(dir: &Path) -> String {
    let out = run_in(
        dir,
        &[
            "train",
            "--task",
            "zero-one",
            "--generations",
            "40",
            "--quiet",
            "--out",
            "zero-one.bin",
        ],
    );
    succeeded(&out, "train");
    "zero-one.bin".into()
}

#[test]
fn data_json_is_one_object_per_line_and_nothing_else() {
    let out = bitsmnist(&["data", "--json"]);
    succeeded(&out, "data --json");
    let objects = json_lines(&out);
    assert_eq!(objects.len(), 1, "{}", stdout(&out));
    assert_eq!(objects[0]["type"], "dataset");
    assert_eq!(objects[0]["classes"], 10);
    let text = bitsmnist(&["data"]);
    assert!(!any_json_object(&text), "{}", stdout(&text));
}

#[test]
fn train_prints_json_only_when_asked_and_progress_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--task",
        "zero-one",
        "--generations",
        "20",
        "--progress",
        "5",
    ];
    let json = run_in(dir.path(), &[&args[..], &["--json"]].concat());
    succeeded(&json, "train --json");
    let objects = json_lines(&json);
    assert_eq!(objects.len(), 1, "{}", stdout(&json));
    assert_eq!(objects[0]["type"], "report");
    assert_eq!(objects[0]["step"], 20);
    assert_eq!(objects[0]["dataset"], "MNIST (embedded)");

    let text = run_in(dir.path(), &args);
    succeeded(&text, "train");
    let out = stdout(&text);
    assert!(!any_json_object(&text), "JSON without --json: {out}");
    assert!(out.contains("test error"), "{out}");
    for run in [&json, &text] {
        let (out, err) = (stdout(run), stderr(run));
        // The periodic progress lines: generations 0, 5, ..., 20.
        assert!(err.lines().any(|l| l.starts_with("gen 5 ")), "{err}");
        assert!(err.lines().any(|l| l.starts_with("gen 20 ")), "{err}");
        assert!(!out.lines().any(|l| l.starts_with("gen ")), "{out}");
    }
}

#[test]
fn eval_names_the_data_once_and_summarises_the_history_unless_asked_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let model = zero_one(dir.path());
    let out = run_in(dir.path(), &["eval", &model]);
    succeeded(&out, "eval");
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.contains("on MNIST (embedded), task zero-one"),
        "{first}"
    );
    assert!(!text.contains("(embedded) (embedded)"), "{text}");
    assert!(!text.contains(" ,") && !text.contains(" %"), "{text}");
    assert!(!any_json_object(&out), "{text}");

    // The summary: the count, then the first, the best, the last and a few between.
    let summary = run_in(dir.path(), &["eval", &model, "--history"]);
    succeeded(&summary, "eval --history");
    let text = stdout(&summary);
    assert!(
        text.contains("history: 41 records, steps 0 to 40"),
        "{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("step  seconds"))
        .skip(1)
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!((8..=9).contains(&rows.len()), "{text}");
    assert!(rows[0].trim_start().starts_with("0 ") && rows[0].ends_with("first"));
    assert!(rows.last().unwrap().contains("last"), "{text}");
    assert_eq!(rows.iter().filter(|r| r.contains("best")).count(), 1);
    assert!(
        text.contains(&format!("({} of 41 records; --history=all", rows.len())),
        "{text}"
    );
    // Every record with `--history=all`, given after the file or before it.
    for args in [
        ["eval", model.as_str(), "--history=all"],
        ["eval", "--history=all", model.as_str()],
    ] {
        let every = run_in(dir.path(), &args);
        succeeded(&every, "eval --history=all");
        let text = stdout(&every);
        let rows = text
            .lines()
            .skip_while(|l| !l.contains("step  seconds"))
            .skip(1)
            .count();
        assert_eq!(rows, 41, "{text}");
        assert!(!text.contains("--history=all prints"), "{text}");
    }
    // Without a value, the flag takes none from the file's name that follows it.
    let before = run_in(dir.path(), &["eval", "--history", &model]);
    succeeded(&before, "eval --history FILE");
    assert!(stdout(&before).contains("history: 41 records"));

    // As JSON: the report, the confusion matrix, the summary, then one object per record shown.
    for (rows, shown) in [("summary", None), ("all", Some(41))] {
        let history = format!("--history={rows}");
        let out = run_in(dir.path(), &["eval", &model, "--json", &history]);
        succeeded(&out, "eval --json --history");
        let objects = json_lines(&out);
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds[..3],
            ["report", "confusion", "history_summary"],
            "{rows}"
        );
        let summary = &objects[2];
        assert_eq!(summary["records"], 41);
        assert_eq!(summary["first"]["step"], 0);
        assert_eq!(summary["last"]["step"], 40);
        assert!(summary["best"]["best"].as_f64().is_some());
        let history = objects[3..]
            .iter()
            .filter(|o| o["type"] == "history")
            .count();
        assert_eq!(history, objects.len() - 3, "{rows}");
        assert_eq!(summary["shown"], history);
        assert_eq!(shown.unwrap_or(history), history, "{rows}");
        assert!(history < 41 || rows == "all");
    }
    // The CSV is for tools already; asking for JSON as well is refused in one line.
    let both = run_in(
        dir.path(),
        &["eval", &model, "--history", "--format", "csv", "--json"],
    );
    assert_error(&both, 2, "--json", "--format csv --json");
}

#[test]
fn every_command_takes_json() {
    let dir = tempfile::tempdir().unwrap();
    let model = zero_one(dir.path());
    for (args, kind) in [
        (vec!["completions", "bash", "--json"], "completions"),
        (vec!["man", "--json"], "man_page"),
        (vec!["--json", "export", &model, "--out", "c"], "export"),
        (
            vec!["bench", "--images", "200", "--seconds", "0.01", "--json"],
            "bench",
        ),
    ] {
        let out = run_in(dir.path(), &args);
        succeeded(&out, &args.join(" "));
        let objects = json_lines(&out);
        assert_eq!(objects.len(), 1, "{args:?}");
        assert_eq!(objects[0]["type"], kind, "{args:?}");
    }
    let pages = run_in(dir.path(), &["man", "--out", "man1", "--json"]);
    succeeded(&pages, "man --out --json");
    let objects = json_lines(&pages);
    assert!(objects.len() > 5);
    assert!(objects.iter().all(|o| o["type"] == "man_page"));
    assert!(objects.iter().any(|o| o["name"] == "bitsmnist-eval.1"));
}

/// The commands whose `--help` ends with examples: every one.
const COMMANDS: [&str; 8] = [
    "train",
    "eval",
    "export",
    "merge",
    "data",
    "bench",
    "completions",
    "man",
];

/// The example commands of `bitsmnist COMMAND --help`: the lines after `Examples:` indented
/// by two spaces (the lines saying what each does are indented by six).
fn examples(command: &str) -> Vec<String> {
    let help = stdout(&bitsmnist(&[command, "--help"]));
    help.lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn every_command_help_ends_with_examples_of_itself() {
    for command in COMMANDS {
        let found = examples(command);
        assert!(found.len() >= 2, "{command}: {found:?}");
        // Shell loops and pipes around it are fine; each runs the command itself at least once.
        let own = found
            .iter()
            .filter(|e| e.contains(&format!("bitsmnist {command}")))
            .count();
        assert!(own >= 2, "{command}: {found:?}");
    }
}

/// The quick examples, run as written in a folder that holds the `zero-one.bin` they name,
/// with this build first on PATH: those that download full MNIST, write into the home
/// folder, train for minutes or open a pager are left out.
#[test]
fn the_quick_examples_work_as_written() {
    let dir = tempfile::tempdir().unwrap();
    zero_one(dir.path());
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let jq = std::process::Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut ran = 0;
    for command in ["data", "eval", "export", "completions", "man"] {
        for example in examples(command) {
            let slow_or_outside = ["--dataset mnist", "~", "man -l", "--member", "train"]
                .iter()
                .any(|w| example.contains(w));
            if slow_or_outside || (example.contains("jq") && !jq) {
                continue;
            }
            let out = std::process::Command::new("bash")
                .args(["-o", "pipefail", "-c", &example])
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("BITSMNIST_DATA_DIR", NO_CACHE)
                .output()
                .expect("bash");
            succeeded(&out, &example);
            ran += 1;
        }
    }
    assert!(ran >= 6, "{ran} examples ran");
}
