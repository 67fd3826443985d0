//! `bitsmnist-gui`: the desktop app. This file only sets the window up; everything else is in
//! the library (`bitsmnist_gui`).

use bitsmnist_gui::BitsApp;
use bitsmnist_gui::measure::Measure;
use eframe::egui;

const USAGE: &str = "usage: bitsmnist-gui [--measure] [FILE.bin]
       bitsmnist-gui --install-desktop     desktop entry, icons and model file type for this user
       bitsmnist-gui --uninstall-desktop   remove exactly what --install-desktop wrote";

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    if flag("--help") || flag("-h") {
        println!("{USAGE}");
        return std::process::ExitCode::SUCCESS;
    }
    if flag("--version") || flag("-V") {
        println!("bitsmnist-gui {}", env!("CARGO_PKG_VERSION"));
        return std::process::ExitCode::SUCCESS;
    }
    if flag("--install-desktop") || flag("--uninstall-desktop") {
        return desktop(flag("--install-desktop"));
    }
    if let Some(unknown) = args
        .iter()
        .map(|a| a.to_string_lossy())
        .find(|a| a.starts_with("--") && *a != "--measure")
    {
        eprintln!("bitsmnist-gui: unknown option {unknown}\n{USAGE}");
        return std::process::ExitCode::from(2);
    }
    match window(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bitsmnist-gui: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--install-desktop` / `--uninstall-desktop` under the user's XDG data folder.
fn desktop(install: bool) -> std::process::ExitCode {
    use bitsmnist_gui::desktop;
    let Some(home) = desktop::data_home() else {
        eprintln!("bitsmnist-gui: neither XDG_DATA_HOME nor HOME is set");
        return std::process::ExitCode::FAILURE;
    };
    let result = if install {
        std::env::current_exe().and_then(|exe| desktop::install(&home, &exe))
    } else {
        desktop::uninstall(&home)
    };
    match result {
        Ok(report) => {
            let verb = if install { "wrote" } else { "removed" };
            for f in &report.files {
                println!("{verb} {}", f.display());
            }
            for r in &report.refreshed {
                println!("{r}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bitsmnist-gui: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The app's window, opening the model file among `args` if there is one.
fn window(args: &[std::ffi::OsString]) -> eframe::Result {
    let started = std::time::Instant::now();
    // `--measure`: print start-up time and frame times to stderr, train at once, repaint
    // continuously (see README "Desktop app").
    let measure = args.iter().any(|a| a == "--measure");
    // Model files to open, as a file manager passes them on a double-click (`%f`: one).
    let files: Vec<std::path::PathBuf> = args
        .iter()
        .filter(|a| !a.to_string_lossy().starts_with("--"))
        .map(std::path::PathBuf::from)
        .collect();
    // Training keeps every core busy; its threads yield to the window's so that frames are
    // drawn on time, and still take all the idle time.
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| lower_priority())
        .build_global()
    {
        eprintln!("bitsmnist-gui: training threads at normal priority: {e}");
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("BitsMNIST")
            .with_app_id("bitsmnist-gui")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true)
            .with_icon(bitsmnist_gui::desktop::window_icon()),
        ..Default::default()
    };
    eframe::run_native(
        "BitsMNIST",
        options,
        Box::new(move |cc| {
            let mut app = BitsApp::new(cc);
            app.open_files(files);
            if measure {
                app.measure = Some(Measure::new(started));
            }
            Ok(Box::new(app))
        }),
    )
}

/// Lowers the calling thread's scheduling priority (nice 10). On Linux the nice value is per
/// thread, so this leaves the UI thread as it is.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
