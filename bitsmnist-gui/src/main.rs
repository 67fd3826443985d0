//! `bitsmnist-gui`: the desktop app. This file only sets the window up; everything else is in
//! the library (`bitsmnist_gui`).

use bitsmnist_gui::BitsApp;
use bitsmnist_gui::app::Measure;
use eframe::egui;

fn main() -> eframe::Result {
    let started = std::time::Instant::now();
    // `--measure`: print start-up time and frame times to stderr, train at once, repaint
    // continuously (see README "Desktop app").
    let measure = std::env::args().any(|a| a == "--measure");
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
            if measure {
                app.measure = Some(Measure::new(started));
            }
            Ok(Box::new(app))
        }),
    )
}
