//! The figures table, `docs/figures.md`: the one home of the project's measured figures. Each
//! row starts with an anchor (`<a id="zero-one"></a>`) that other pages link to.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One row of the table.
#[derive(Debug)]
pub struct Row {
    /// The anchor.
    pub id: String,
    /// The first cell, after the anchor: what was measured.
    pub figure: String,
    /// The second cell: the figure itself, as pages quote it.
    pub result: String,
    /// The cell that holds a backticked `bitsmnist ...` command, if any.
    pub command: Option<String>,
}

/// Every row of `docs/figures.md`.
pub fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(root().join("docs/figures.md")).expect("docs/figures.md");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("| <a id=\"")?;
            let (id, rest) = rest.split_once("\"></a>")?;
            let cells: Vec<&str> = rest.split(" | ").map(str::trim).collect();
            let command = cells.iter().find_map(|c| {
                let c = c.strip_prefix("`bitsmnist ")?;
                Some(format!("bitsmnist {}", &c[..c.find('`')?]))
            });
            Some(Row {
                id: id.to_string(),
                figure: cells[0].to_string(),
                result: cells.get(1).expect("a result cell").to_string(),
                command,
            })
        })
        .collect()
}

/// The row with this anchor.
pub fn row(id: &str) -> Row {
    rows()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no row {id:?} in docs/figures.md"))
}
