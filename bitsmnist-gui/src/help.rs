//! Where the app's documentation is on this machine, for Help > About, and opening it with the
//! desktop's own viewer.
//!
//! The project has no web address to link to: the README travels with the sources (and the
//! Debian package installs a copy), so About names the sections and opens the local file.

use std::path::{Path, PathBuf};

/// Opens a file or folder with the desktop's default application for it (tests record the
/// path instead).
pub type Opener = Box<dyn Fn(&Path) -> Result<(), String>>;

/// The README of the source tree the app was built from, then the Debian package's copy.
fn readme_candidates() -> [PathBuf; 2] {
    [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
        PathBuf::from("/usr/share/doc/bitsmnist/README.md"),
    ]
}

/// The README on this machine (the source tree's, or the Debian package's copy), or `None`
/// when neither is there (an app copied on its own).
pub fn readme() -> Option<PathBuf> {
    readme_candidates()
        .into_iter()
        .find(|p| p.is_file())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// The `docs` folder of the source tree the app was built from, when it is still there.
pub fn docs_folder() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    p.is_dir().then(|| std::fs::canonicalize(&p).unwrap_or(p))
}

/// The desktop's opener: `xdg-open` (Linux and the BSDs), `open` (macOS), `start` (Windows).
/// It runs in the background; a thread reaps it. An opener that cannot start is an error
/// (the About window shows the path anyway).
pub fn system_opener() -> Opener {
    Box::new(|path: &Path| {
        let mut command = if cfg!(target_os = "macos") {
            std::process::Command::new("open")
        } else if cfg!(windows) {
            let mut c = std::process::Command::new("cmd");
            c.args(["/C", "start", ""]);
            c
        } else {
            std::process::Command::new("xdg-open")
        };
        let program = format!("{:?}", command.get_program());
        let mut child = command
            .arg(path)
            .stdin(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        std::thread::spawn(move || child.wait());
        Ok(())
    })
}

/// The README sections the About window points to: (heading, what it holds).
pub const README_SECTIONS: [(&str, &str); 4] = [
    (
        "Install the app",
        "packages, the desktop entry and the model file type",
    ),
    (
        "Examples",
        "training from the app, the command line and notebooks",
    ),
    ("What it reaches", "accuracies and times measured"),
    ("Documentation", "architecture, formats and deployment"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_found_holds_every_section_the_about_window_names() {
        let readme = readme().expect("the source tree's README");
        assert!(readme.ends_with("README.md") && readme.is_absolute());
        let text = std::fs::read_to_string(&readme).unwrap();
        for (section, _) in README_SECTIONS {
            assert!(
                text.lines().any(|l| l == format!("## {section}")),
                "README.md has no section {section:?}"
            );
        }
        let docs = docs_folder().expect("the source tree's docs");
        assert!(docs.join("desktop-app.md").is_file());
    }
}
