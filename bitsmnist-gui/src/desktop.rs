//! The app as a desktop knows it: its icon (also the window's), its desktop entry, and the
//! file type of model files, installed for one user under the XDG data folder
//! (`bitsmnist-gui --install-desktop`) and removed again (`--uninstall-desktop`). A Debian
//! package installs the same files system-wide (`cargo deb -p bitsmnist-gui`, see the
//! package metadata in `Cargo.toml`).
//!
//! Model files are typed by their first bytes alone (`BITSMNST`, the model file's magic): a
//! `*.bin` glob, even with a low weight, would make every unrelated `.bin` file a model.

use std::io;
use std::path::{Path, PathBuf};

/// The application id: desktop entry, icon and window class names.
pub const APP_ID: &str = "bitsmnist-gui";

/// The MIME type of model files.
pub const MIME_TYPE: &str = "application/x-bitsmnist-model";

/// The desktop entry as packaged (`Exec=bitsmnist-gui %f`, the binary on the `PATH`).
pub const DESKTOP_ENTRY: &str = include_str!("../desktop/bitsmnist-gui.desktop");

/// The shared-mime-info description of model files.
pub const MIME_XML: &str = include_str!("../desktop/bitsmnist-model.xml");

/// The icon's source: the digit 1 drawn in bits.
pub const ICON_SVG: &str = include_str!("../desktop/bitsmnist-gui.svg");

/// The icon rendered at the sizes desktops use (`rsvg-convert -w N -h N`), smallest first.
pub const ICON_PNGS: [(u32, &[u8]); 7] = [
    (16, include_bytes!("../desktop/icons/16.png")),
    (32, include_bytes!("../desktop/icons/32.png")),
    (48, include_bytes!("../desktop/icons/48.png")),
    (64, include_bytes!("../desktop/icons/64.png")),
    (128, include_bytes!("../desktop/icons/128.png")),
    (256, include_bytes!("../desktop/icons/256.png")),
    (512, include_bytes!("../desktop/icons/512.png")),
];

/// Where the list of what [`install`] wrote is kept, under the data folder.
const MANIFEST: &str = "bitsmnist-gui/installed";

/// The caches the refresh tools write, under the data folder.
const CACHES: [&str; 2] = [
    "applications/mimeinfo.cache",
    "icons/hicolor/icon-theme.cache",
];

/// The window icon (the 256-pixel rendering).
pub fn window_icon() -> eframe::egui::IconData {
    eframe::icon_data::from_png_bytes(ICON_PNGS[5].1).expect("the bundled icon is a valid PNG")
}

/// The user's XDG data folder: `$XDG_DATA_HOME`, else `~/.local/share`.
pub fn data_home() -> Option<PathBuf> {
    match std::env::var_os("XDG_DATA_HOME") {
        Some(d) if !d.is_empty() && Path::new(&d).is_absolute() => Some(d.into()),
        _ => std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")),
    }
}

/// The desktop entry for a binary at `exe`: the packaged entry with its `Exec` line pointing
/// at `exe` (quoted as the desktop entry specification asks).
pub fn desktop_entry_for(exe: &Path) -> String {
    let path = exe.to_string_lossy();
    let quoted = if path
        .chars()
        .any(|c| c.is_whitespace() || "\"'\\><~|&;$*?#()`".contains(c))
    {
        let escaped: String = path
            .chars()
            .flat_map(|c| match c {
                '"' | '`' | '$' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        // In a desktop file a backslash itself is escaped once more.
        format!("\"{}\"", escaped.replace('\\', "\\\\"))
    } else {
        path.into_owned()
    };
    DESKTOP_ENTRY
        .lines()
        .map(|l| {
            if l.starts_with("Exec=") {
                format!("Exec={quoted} %f")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// What [`install`] or [`uninstall`] did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files written or removed.
    pub files: Vec<PathBuf>,
    /// Cache tools run (`update-mime-database`, ...), with their outcome.
    pub refreshed: Vec<String>,
}

/// The files the desktop integration consists of, relative to the data folder.
fn payload(exe: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![
        (
            PathBuf::from(format!("applications/{APP_ID}.desktop")),
            desktop_entry_for(exe).into_bytes(),
        ),
        (
            PathBuf::from("mime/packages/bitsmnist-model.xml"),
            MIME_XML.as_bytes().to_vec(),
        ),
        (
            PathBuf::from(format!("icons/hicolor/scalable/apps/{APP_ID}.svg")),
            ICON_SVG.as_bytes().to_vec(),
        ),
    ];
    for (size, png) in ICON_PNGS {
        files.push((
            PathBuf::from(format!("icons/hicolor/{size}x{size}/apps/{APP_ID}.png")),
            png.to_vec(),
        ));
    }
    files
}

/// Installs the desktop entry (running `exe`), the icons and the model file type under
/// `data_home`, then refreshes the desktop, MIME and icon caches where those tools exist.
/// Records every file and folder it makes, so that [`uninstall`] removes exactly those.
pub fn install(data_home: &Path, exe: &Path) -> io::Result<Report> {
    let mut report = Report::default();
    let mut created_dirs = Vec::new();
    let mut files = Vec::new();
    for (rel, bytes) in payload(exe) {
        let path = data_home.join(&rel);
        make_dirs(path.parent().expect("has a folder"), &mut created_dirs)?;
        bitsmnist_core::files::write_atomic(&path, &bytes)?;
        files.push(path);
    }
    let manifest = data_home.join(MANIFEST);
    make_dirs(manifest.parent().expect("has a folder"), &mut created_dirs)?;
    // A second install keeps what the first one made in the lists.
    let old = read_manifest(data_home).unwrap_or_default();
    for d in old.dirs {
        if !created_dirs.contains(&d) {
            created_dirs.push(d);
        }
    }
    // Caches the refresh tools are about to make where there were none belong to the
    // install too.
    let mut caches: Vec<PathBuf> = CACHES
        .iter()
        .map(|c| data_home.join(c))
        .filter(|c| !c.exists())
        .collect();
    for c in old.caches {
        if !caches.contains(&c) {
            caches.push(c);
        }
    }
    let mut text = String::new();
    for f in files.iter().chain(std::iter::once(&manifest)) {
        text.push_str(&format!("file {}\n", f.display()));
    }
    for c in &caches {
        text.push_str(&format!("cache {}\n", c.display()));
    }
    for d in &created_dirs {
        text.push_str(&format!("dir {}\n", d.display()));
    }
    bitsmnist_core::files::write_atomic(&manifest, text.as_bytes())?;
    files.push(manifest);
    report.files = files;
    report.refreshed = refresh_caches(data_home);
    Ok(report)
}

/// Removes what [`install`] wrote under `data_home` (nothing else), the caches the refresh
/// tools made in folders it created, and the folders it created once empty; then refreshes
/// the caches that remain.
pub fn uninstall(data_home: &Path) -> io::Result<Report> {
    let manifest = read_manifest(data_home).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "nothing to uninstall: {} not readable ({e})",
                data_home.join(MANIFEST).display()
            ),
        )
    })?;
    let mut report = Report::default();
    for f in &manifest.files {
        match std::fs::remove_file(f) {
            Ok(()) => report.files.push(f.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", f.display()))),
        }
    }
    report.refreshed = refresh_caches(data_home);
    // After the refresh, which writes them again.
    for c in &manifest.caches {
        let _ = std::fs::remove_file(c);
    }
    // Deepest first, so that a folder is empty when its parent's turn comes. A MIME database
    // the install created goes whole once no package is left in it.
    let mut dirs = manifest.dirs;
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        if d == data_home.join("mime") && !has_entries(&d.join("packages")) {
            let _ = std::fs::remove_dir_all(&d);
        } else {
            let _ = std::fs::remove_dir(&d); // only if empty
        }
    }
    Ok(report)
}

fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut r| r.next().is_some())
}

/// Makes `dir` and its missing parents, noting each one made.
fn make_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir)?;
    for m in missing.into_iter().rev() {
        if !created.contains(&m) {
            created.push(m);
        }
    }
    Ok(())
}

/// What the manifest lists.
#[derive(Default)]
struct Manifest {
    files: Vec<PathBuf>,
    caches: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn read_manifest(data_home: &Path) -> io::Result<Manifest> {
    let text = std::fs::read_to_string(data_home.join(MANIFEST))?;
    let mut m = Manifest::default();
    for line in text.lines() {
        let Some((kind, p)) = line.split_once(' ') else {
            continue;
        };
        let p = PathBuf::from(p);
        // Only what lies under the data folder is ever removed.
        if !p.starts_with(data_home) {
            continue;
        }
        match kind {
            "file" => m.files.push(p),
            "cache" => m.caches.push(p),
            "dir" => m.dirs.push(p),
            _ => {}
        }
    }
    Ok(m)
}

/// Runs the cache tools that exist on this machine; a missing tool is noted, not an error.
fn refresh_caches(data_home: &Path) -> Vec<String> {
    let runs: [(&str, Vec<PathBuf>); 3] = [
        ("update-mime-database", vec![data_home.join("mime")]),
        (
            "update-desktop-database",
            vec![data_home.join("applications")],
        ),
        (
            "gtk-update-icon-cache",
            vec![
                PathBuf::from("-f"),
                PathBuf::from("-t"),
                data_home.join("icons/hicolor"),
            ],
        ),
    ];
    runs.into_iter()
        .filter(|(_, args)| args.last().is_some_and(|d| d.is_dir()))
        .map(|(tool, args)| {
            let outcome = match std::process::Command::new(tool)
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
            {
                Ok(s) if s.success() => "ok".to_string(),
                Ok(s) => format!("failed ({s})"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => "not installed".to_string(),
                Err(e) => format!("failed ({e})"),
            };
            format!("{tool}: {outcome}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p.clone());
                }
                out.push(p);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_icons_are_pngs_of_their_size_and_the_window_icon_loads() {
        for (size, png) in ICON_PNGS {
            assert_eq!(&png[1..4], b"PNG");
            let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
            let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
            assert_eq!((w, h), (size, size));
        }
        let icon = window_icon();
        assert_eq!((icon.width, icon.height), (256, 256));
        assert!(MIME_XML.contains("BITSMNST"));
        assert_eq!(&bitsmnist_core::io::MAGIC, b"BITSMNST");
        assert!(!MIME_XML.contains("<glob"), "typed by magic only");
    }

    #[test]
    fn exec_lines_point_at_the_binary_quoted_where_needed() {
        let plain = desktop_entry_for(Path::new("/usr/local/bin/bitsmnist-gui"));
        assert!(
            plain.contains("\nExec=/usr/local/bin/bitsmnist-gui %f\n"),
            "{plain}"
        );
        let spaced = desktop_entry_for(Path::new("/home/a b/bin/bitsmnist-gui"));
        assert!(
            spaced.contains("\nExec=\"/home/a b/bin/bitsmnist-gui\" %f\n"),
            "{spaced}"
        );
        assert_eq!(plain.matches("Exec=").count(), 1);
    }

    #[test]
    fn uninstall_removes_exactly_what_install_wrote() {
        let home = tempfile::tempdir().unwrap();
        // Something of the user's own in the same folders stays.
        let own = home.path().join("applications/other.desktop");
        std::fs::create_dir_all(own.parent().unwrap()).unwrap();
        std::fs::write(&own, "[Desktop Entry]\n").unwrap();
        let before = tree(home.path());
        let exe = Path::new("/opt/bitsmnist/bitsmnist-gui");
        let installed = install(home.path(), exe).unwrap();
        assert!(installed.files.len() >= 11, "{installed:?}");
        let entry = home.path().join("applications/bitsmnist-gui.desktop");
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(text.contains("Exec=/opt/bitsmnist/bitsmnist-gui %f"));
        assert!(
            home.path()
                .join("icons/hicolor/48x48/apps/bitsmnist-gui.png")
                .is_file()
        );
        // Installing twice is the same as once.
        install(home.path(), exe).unwrap();
        let removed = uninstall(home.path()).unwrap();
        assert_eq!(removed.files.len(), installed.files.len());
        assert_eq!(tree(home.path()), before);
        assert!(own.is_file());
        assert!(uninstall(home.path()).is_err(), "nothing left to remove");
    }
}
