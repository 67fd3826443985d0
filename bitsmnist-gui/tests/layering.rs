//! The app's layering, as docs/desktop-app.md ("Module layering") draws it: no two modules
//! use each other, and no module uses `app`, the top (panels ask it for things with
//! `command::Command`, other modules return effects it applies).
//!
//! Every module is a source file under src/ (`training/climb.rs` is `training::climb`), and
//! every `crate::` or `super::` path in its code (comments aside) is an edge to the deepest
//! module the path names. As in bitsmnist-core/tests/layering.rs, the code is read as text.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A module's path below the crate root, e.g. `["training", "climb"]`.
type Module = Vec<String>;

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

/// The module a source file is: its path under src/, `mod.rs` naming its folder; the crate
/// roots (lib.rs, main.rs) are the empty path.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Module = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths `code` names after `crate::` or `super::`, comments stripped: (`"crate"` or
/// `"super"`, the names that follow). `a::{b, c::d}` gives `a::b` and `a::c::d`.
fn paths(code: &str) -> Vec<(&'static str, Vec<String>)> {
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = Vec::new();
    for root in ["crate", "super"] {
        let start = format!("{root}::");
        let mut rest = code.as_str();
        while let Some(at) = rest.find(&start) {
            // `crate::` inside a longer name (`bitsmnist_crate::`) is not the crate.
            let whole = rest[..at]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            rest = &rest[at + start.len()..];
            if whole {
                for names in expand(rest) {
                    out.push((root, names));
                }
            }
        }
    }
    out
}

/// The path at the start of `text` (after a `::`): its names, and one path per item of a
/// `{...}` list that follows (one level deep is all the app's code needs).
fn expand(text: &str) -> Vec<Vec<String>> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    let mut names = Vec::new();
    let mut rest = text;
    loop {
        let name: String = rest.chars().take_while(|&c| is_name(c)).collect();
        if name.is_empty() {
            break;
        }
        rest = &rest[name.len()..];
        names.push(name);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return vec![names],
        }
    }
    match rest.strip_prefix('{') {
        Some(list) => {
            let list = list.split('}').next().unwrap_or("");
            list.split(',')
                .map(|item| {
                    let mut path = names.clone();
                    path.extend(expand(item.trim()).into_iter().next().unwrap_or_default());
                    path
                })
                .collect()
        }
        None => vec![names],
    }
}

/// The edges of the app: (module, module it uses, file), each module's edges to itself and
/// to the modules it sits in or that sit in it left out (a parent holds its children).
fn edges() -> Vec<(Module, Module, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut out = Vec::new();
    for file in &files {
        let from = module_of(&src, file);
        let code = std::fs::read_to_string(file).expect("readable");
        for (root, names) in paths(&code) {
            let mut path = match root {
                "crate" => Vec::new(),
                _ => from[..from.len().saturating_sub(1)].to_vec(),
            };
            path.extend(names);
            // The deepest module the path names (the rest are items in it).
            while !modules.contains(&path) {
                path.pop();
            }
            if !path.starts_with(&from) && !from.starts_with(&path) {
                let name = file.strip_prefix(&src).unwrap().display().to_string();
                out.push((from.clone(), path, name));
            }
        }
    }
    out
}

/// Two modules use each other when, below the module they share, the branch of one uses the
/// branch of the other and back: `worker` and `training::worker` are `worker` and `training`.
#[test]
fn no_two_modules_use_each_other() {
    let edges = edges();
    assert!(
        edges.len() > 30,
        "only {} edges found: is the reader broken?",
        edges.len()
    );
    let branches = |from: &Module, to: &Module| {
        let shared = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        (from[..=shared].join("::"), to[..=shared].join("::"))
    };
    let pairs: BTreeSet<(String, String)> = edges.iter().map(|(f, t, _)| branches(f, t)).collect();
    let mut wrong = BTreeSet::new();
    for (from, to, file) in &edges {
        let (a, b) = branches(from, to);
        if pairs.contains(&(b.clone(), a.clone())) {
            wrong.insert(format!(
                "{a} and {b} use each other: {} uses {} in {file}",
                from.join("::"),
                to.join("::")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "modules that use each other:\n{}",
        Vec::from_iter(wrong).join("\n")
    );
}

#[test]
fn no_module_uses_the_app() {
    let wrong: Vec<String> = edges()
        .iter()
        .filter(|(_, to, _)| to.first().is_some_and(|m| m == "app"))
        .map(|(from, _, file)| format!("{} uses app in {file}", from.join("::")))
        .collect();
    assert!(
        wrong.is_empty(),
        "panels emit command::Command and other modules return effects; only the app uses \
         itself:\n{}",
        wrong.join("\n")
    );
}

/// The reader finds what the code says: braces, `super::` and nested modules.
#[test]
fn the_reader_finds_known_edges() {
    let found: BTreeSet<(String, String)> = edges()
        .into_iter()
        .map(|(f, t, _)| (f.join("::"), t.join("::")))
        .collect();
    for (from, to) in [
        ("app", "files"),
        ("data", "command"),
        ("training::options", "training::climb"),
        ("training::panel", "training::plots"),
        ("training::worker", "worker"),
    ] {
        assert!(
            found.contains(&(from.to_string(), to.to_string())),
            "{from} -> {to} not found"
        );
    }
}
