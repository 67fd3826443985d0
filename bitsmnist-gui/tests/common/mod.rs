//! Helpers shared by the UI tests: a headless harness around the real app, and waiting for
//! background jobs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitsmnist_gui::{BitsApp, Settings};
use egui_kittest::Harness;

/// The app with `settings`, a file picker that answers `picked`, in a 1280x900 window.
pub fn harness(settings: Settings, picked: Option<PathBuf>) -> Harness<'static, BitsApp> {
    let app = BitsApp::with_settings(settings, Box::new(move |_| picked.clone()));
    Harness::builder()
        .with_size([1280.0, 900.0])
        .build_ui_state(|ui, app: &mut BitsApp| app.ui_root(ui), app)
}

/// Steps frames until `done` holds (jobs run on threads), then lets the UI settle.
pub fn run_until(h: &mut Harness<'_, BitsApp>, what: &str, done: impl Fn(&BitsApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "timed out waiting for {what}; errors: {:?}",
            h.state().errors
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_ok();
}

/// Waits until the embedded data are loaded and a random model exists.
pub fn ready(h: &mut Harness<'_, BitsApp>) {
    run_until(h, "data and model", |a| {
        a.data_ready() && a.model.chain.is_some()
    });
}
