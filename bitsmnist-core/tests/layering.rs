//! The core's layering, as docs/architecture.md draws it: each module uses only the modules
//! of the rows below its own. Every `crate::module` path in the code (comments aside) is an
//! edge; one that goes up the table, or sideways within a row, fails this test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Module name -> row (0 at the bottom), from the table between the layer markers.
fn rows() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md"),
    )
    .expect("docs/architecture.md");
    let table = doc
        .split("<!-- layers: top to bottom -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- end layers -->").next())
        .expect("the layer table between its markers");
    let lines: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with('|') && !l.contains("---") && !l.contains("| layer |"))
        .collect();
    let mut rows = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let modules = line.split('|').nth(2).expect("a modules column");
        for m in modules.split(',') {
            let m = m.trim().trim_matches('`');
            assert!(!m.is_empty(), "an empty module name in: {line}");
            rows.insert(m.to_string(), lines.len() - 1 - i);
        }
    }
    rows
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a source file belongs to: its first path component under src/.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The modules `code` names as `crate::x`, comments stripped.
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            out.push(name);
            rest = &rest[at + 7..];
        }
    }
    out
}

#[test]
fn no_module_uses_one_above_or_beside_it() {
    let rows = rows();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in &files {
        let module = module_of(&src, file);
        // The crate root and the prelude re-export every layer for users.
        if module == "lib" {
            continue;
        }
        let Some(&row) = rows.get(&module) else {
            panic!(
                "{module} ({}) is not in docs/architecture.md's layer table",
                file.display()
            );
        };
        let code = std::fs::read_to_string(file).expect("readable");
        for used in uses(&code) {
            if used == module || used == "prelude" || used.is_empty() {
                continue;
            }
            seen += 1;
            match rows.get(&used) {
                Some(&r) if r < row => {}
                Some(&r) => wrong.push(format!(
                    "{module} (row {row}) uses {used} (row {r}) in {}",
                    file.strip_prefix(&src).unwrap().display()
                )),
                None => wrong.push(format!(
                    "{module} uses {used}, which is not in the table ({})",
                    file.strip_prefix(&src).unwrap().display()
                )),
            }
        }
    }
    assert!(seen > 50, "only {seen} edges found: is the reader broken?");
    assert!(
        wrong.is_empty(),
        "edges against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_table_names_every_module_once() {
    let rows = rows();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut modules: Vec<String> = files.iter().map(|f| module_of(&src, f)).collect();
    modules.sort();
    modules.dedup();
    modules.retain(|m| m != "lib");
    let mut tabled: Vec<String> = rows.keys().cloned().collect();
    tabled.sort();
    assert_eq!(modules, tabled);
}
