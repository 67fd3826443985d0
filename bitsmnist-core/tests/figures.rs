//! Every figure has one home, `docs/figures.md`: pages quote a figure as a link to its row,
//! the quote must be the row's value, and a row's accuracy appears on no other page without
//! that link. The shipped models of `models/` score their rows' figures exactly.

#[path = "support/figures.rs"]
mod figures;

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::io::{ModelFile, fingerprint};
use bitsmnist_core::statistics;
use figures::{root, row, rows};

/// The pages that quote figures: the README, the docs, the notebooks' and models' READMEs.
fn pages() -> Vec<(String, String)> {
    let mut paths = vec![
        root().join("README.md"),
        root().join("notebooks/README.md"),
        root().join("models/README.md"),
    ];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("figures.md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            (p.strip_prefix(root()).unwrap().display().to_string(), text)
        })
        .collect()
}

/// Every link into the figures table in `text`: (link text, anchor).
fn links(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("figures.md#") {
        let before = &rest[..at];
        let after = &rest[at + "figures.md#".len()..];
        let id = after[..after.find(')').expect("a closed link")].to_string();
        let open = before
            .rfind("](")
            .expect("a link's text before figures.md#");
        let start = before[..open].rfind('[').expect("a link's opening bracket");
        found.push((before[start + 1..open].to_string(), id));
        rest = after;
    }
    found
}

#[test]
fn pages_quote_each_figure_as_its_row_says_and_only_by_a_link() {
    let rows = rows();
    assert!(rows.len() >= 10, "the figures table has its rows");
    for (i, r) in rows.iter().enumerate() {
        assert!(
            rows[..i].iter().all(|o| o.id != r.id),
            "two rows are named {:?}",
            r.id
        );
        assert!(!r.result.is_empty(), "row {:?} has a result", r.id);
    }
    let mut problems = Vec::new();
    for (page, text) in pages() {
        for (quote, id) in links(&text) {
            match rows.iter().find(|r| r.id == id) {
                None => problems.push(format!("{page}: a link to figures.md#{id}, no such row")),
                Some(r) if r.result != quote => problems.push(format!(
                    "{page}: quotes figures.md#{id} as {quote:?}, the row says {:?}",
                    r.result
                )),
                Some(_) => {}
            }
        }
        // What is left once the links to each row are taken out must not state the row's
        // accuracy again: a second statement of it could drift from the first.
        for r in &rows {
            let mut unlinked = text.clone();
            for (quote, id) in links(&text) {
                if id == r.id {
                    unlinked = unlinked.replace(&format!("[{quote}]("), "[](");
                }
            }
            for token in r.result.split([' ', '(', ')', ';', ',']) {
                let is_accuracy = token.ends_with('%') && token.contains('.');
                // Another run that happens to score the same says so where it stands.
                let unlinked = unlinked.replace(&format!("{token}{ANOTHER}"), "");
                if is_accuracy && unlinked.contains(token) {
                    problems.push(format!(
                        "{page}: states {token} (figures.md#{}) without linking to its row",
                        r.id
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Written right after an accuracy on a page, it says that the figure is another run's that
/// happens to equal a row's (pages keep their own detail tables): not a second statement of
/// the row.
const ANOTHER: &str = "<!-- another run -->";

/// The shipped models and the rows they reproduce.
const MODELS: [(&str, &str); 3] = [
    ("models/zero-one.bin", "zero-one"),
    ("models/digits-conv-climb.bin", "digits-conv-climb"),
    ("models/digits-conv-gradient.bin", "digits-gradient-conv"),
];

#[test]
fn each_shipped_model_scores_its_row_and_records_the_rows_command() {
    let embedded = Dataset::embedded();
    for (path, id) in MODELS {
        let file = ModelFile::load(&root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let row = row(id);
        assert!(
            row.figure
                .contains(&format!("fingerprint `{}`", fingerprint(&file.model))),
            "{path}: fingerprint {} is not the one figures.md#{id} names",
            fingerprint(&file.model)
        );
        // Shipped to look at and deploy, not to resume: no training state.
        assert!(file.state.is_none(), "{path} carries a training state");
        assert_eq!(file.meta.dataset.as_deref(), Some("MNIST (embedded)"));
        // Evaluated as the command line's `eval` does: on the digits binarised as recorded.
        let binarization = file.meta.binarization.expect("a recorded binarisation");
        let task: Task = file.meta.task.clone().expect("a recorded task");
        let data = embedded
            .rebinarized(binarization)
            .expect("grey levels")
            .for_task(&task)
            .unwrap();
        let accuracy = format!(
            "{:.2}%",
            100.0 * statistics::accuracy(&file.model, &data.test)
        );
        assert_eq!(accuracy, row.result, "{path} against figures.md#{id}");
        // The command recorded in the file is the row's, with where it saved and how it
        // printed (`scripts/models.sh` adds `--json`).
        let recorded = file.meta.extra.get("command").expect("a recorded command");
        let mut words = recorded.split(' ');
        let mut run = Vec::new();
        let mut out = None;
        while let Some(w) = words.next() {
            match w {
                "--quiet" | "--json" | "--model-only" => {}
                "--out" => out = words.next(),
                _ => run.push(w),
            }
        }
        assert_eq!(out, Some(path), "{path}: recorded {recorded:?}");
        assert_eq!(
            Some(run.join(" ")),
            row.command,
            "{path}: the command that made it"
        );
    }
}
