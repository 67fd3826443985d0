//! `bitsmnist-gui`: the desktop app. This file only sets the window up; everything else is in
//! the library (`bitsmnist_gui`).

use bitsmnist_gui::BitsApp;
use bitsmnist_gui::measure::Measure;
use eframe::egui;

fn main() -> eframe::Result {
    let started = std::time::Instant::now();
    // `bitsmnist-gui [--measure] [FILE.bin]`. `--measure`: print start-up time and frame
    // times to stderr, train at once, repaint continuously (see README "Desktop app").
    let measure = std::env::args().any(|a| a == "--measure");
    // A model file to open, as a file manager's "Open with" passes it.
    let file = std::env::args_os()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with("--"))
        .map(std::path::PathBuf::from);
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
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "BitsMNIST",
        options,
        Box::new(move |cc| {
            let mut app = BitsApp::new(cc);
            app.open_at_start = file;
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
