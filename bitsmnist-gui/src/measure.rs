//! Frame-time measurement for `bitsmnist-gui --measure`: start-up time and frame statistics on
//! stderr.

use std::time::{Duration, Instant};

use eframe::egui;

/// Frame-time measurement for `--measure`.
pub struct Measure {
    started: Instant,
    first_frame: Option<Duration>,
    last: Option<Instant>,
    intervals: Vec<f64>,
    /// Seconds spent in the app's own frame code (`ui_root`), without rendering.
    passes: Vec<f64>,
    window_start: Option<Instant>,
    /// Whether `--measure` has started training (once data and a model are there).
    pub(crate) training_started: bool,
}

impl Measure {
    /// Starts measuring from the process start.
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            first_frame: None,
            last: None,
            intervals: Vec::new(),
            passes: Vec::new(),
            window_start: None,
            training_started: false,
        }
    }

    /// Records a frame; prints start-up time once and frame statistics every 5 s.
    pub(crate) fn frame(
        &mut self,
        ctx: &egui::Context,
        pass: Duration,
        training: bool,
        generations_per_sec: f64,
    ) {
        let now = Instant::now();
        self.passes.push(pass.as_secs_f64());
        if self.first_frame.is_none() {
            let t = now - self.started;
            self.first_frame = Some(t);
            eprintln!(
                "measure: first frame {:.0} ms after start",
                t.as_secs_f64() * 1e3
            );
        }
        if let Some(last) = self.last {
            self.intervals.push((now - last).as_secs_f64());
        }
        self.last = Some(now);
        let window = *self.window_start.get_or_insert(now);
        if now - window >= Duration::from_secs(5) && !self.intervals.is_empty() {
            let mut v = std::mem::take(&mut self.intervals);
            v.sort_by(f64::total_cmp);
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let p95 = v[(v.len() * 95 / 100).min(v.len() - 1)];
            let max = v[v.len() - 1];
            let passes = std::mem::take(&mut self.passes);
            let pass = passes.iter().sum::<f64>() / passes.len().max(1) as f64;
            eprintln!(
                "measure: {} frames in {:.1} s: {:.1} fps, frame interval mean {:.1} ms, p95 {:.1} ms, max {:.1} ms; app's own frame code mean {:.2} ms; training {}, {:.1} generations/s",
                v.len(),
                (now - window).as_secs_f64(),
                v.len() as f64 / (now - window).as_secs_f64(),
                mean * 1e3,
                p95 * 1e3,
                max * 1e3,
                pass * 1e3,
                training,
                generations_per_sec
            );
            self.window_start = Some(now);
        }
        ctx.request_repaint();
    }
}
