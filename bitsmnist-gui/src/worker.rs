//! Work that must not freeze the window: loading (and downloading) data, and training. Each job
//! runs on its own thread and reports back over a channel that the UI drains once per frame;
//! every message also asks egui for a repaint. A panic in a job becomes an error message, so a
//! failed run leaves the app usable.
//!
//! The messages are this module's: [`Reply`], and [`TrainReply`] for a training run, whose
//! worker (`training::worker`) uses this plumbing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};

use bitsmnist_core::datasets::{self, Binarization, Dataset, Source};
use bitsmnist_core::layers::Chain;
use bitsmnist_core::run::Record;
use bitsmnist_core::session::{RunReport, Session};
use eframe::egui;

/// Longest wait before the UI shows progress.
pub const PROGRESS_REPAINT: std::time::Duration = std::time::Duration::from_millis(33);

/// A message from a job to the UI.
#[derive(Debug)]
pub enum Reply {
    /// Bytes of a file downloaded so far.
    Download {
        /// The file being fetched.
        file: String,
        /// Bytes received.
        done: u64,
        /// Size announced by the server.
        total: Option<u64>,
    },
    /// A data set finished loading (or failed, with a message).
    Data(Result<Box<Dataset>, String>),
    /// News from a training run.
    Train(TrainReply),
}

/// News from a training run.
#[derive(Debug)]
pub enum TrainReply {
    /// A step (generation or epoch) finished: its record.
    Progress(Record),
    /// The model so far (the best candidate, the climbing network, the members merged, or an
    /// epoch's export).
    Snapshot(Chain),
    /// The run paused.
    Paused,
    /// The run is recorded in the runs folder under this id (or why it could not be: it
    /// goes on unrecorded).
    Recorded(Result<bitsmnist_core::runs::RunId, String>),
    /// A checkpoint asked for while the run goes on was written (or why not).
    Saved(Result<PathBuf, String>),
    /// The run ended.
    Finished(Box<Finished>),
    /// The run panicked; its state is lost, the model before the run is kept.
    Crashed(String),
}

impl TrainReply {
    /// Whether this is routine progress (shown within 1/30 s) rather than a result.
    pub fn is_progress(&self) -> bool {
        matches!(self, TrainReply::Progress(_) | TrainReply::Snapshot(_))
    }
}

/// The end of a run: the session handed back, with what it gives.
pub struct Finished {
    /// The session (`None`: it could not start, and the model before it stays).
    pub session: Option<Box<Session>>,
    /// The model the session keeps ([`Session::model`]) and its report.
    pub result: Option<(Chain, RunReport)>,
    /// Why the run could not start or failed.
    pub error: Option<String>,
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("session", &self.session.is_some())
            .field("report", &self.result.as_ref().map(|(_, r)| r))
            .field("error", &self.error)
            .finish()
    }
}

/// Sending half given to job threads: sends and asks for a repaint.
#[derive(Clone)]
pub struct Outbox {
    tx: Sender<Reply>,
    ctx: Option<egui::Context>,
}

impl Outbox {
    /// Sends `reply` to the UI and wakes it up: at once for results, within 1/30 s for
    /// progress (hundreds of generations per second need not cost hundreds of frames). A closed
    /// channel (the app quit) is ignored.
    pub fn send(&self, reply: Reply) {
        let progress = match &reply {
            Reply::Download { .. } => true,
            Reply::Train(t) => t.is_progress(),
            Reply::Data(_) => false,
        };
        let _ = self.tx.send(reply);
        if let Some(ctx) = &self.ctx {
            if progress {
                ctx.request_repaint_after(PROGRESS_REPAINT);
            } else {
                ctx.request_repaint();
            }
        }
    }
}

impl Outbox {
    /// Wakes the UI without a message: a job that reports through state of its own (a
    /// sweep's progress) has news.
    pub fn wake(&self) {
        if let Some(ctx) = &self.ctx {
            ctx.request_repaint();
        }
    }
}

/// Starts jobs and collects their replies.
pub struct Worker {
    tx: Sender<Reply>,
    rx: Receiver<Reply>,
    ctx: Option<egui::Context>,
}

impl Default for Worker {
    fn default() -> Self {
        let (tx, rx) = channel();
        Self { tx, rx, ctx: None }
    }
}

impl Worker {
    /// Sets the context that job threads wake up when they report.
    pub fn set_context(&mut self, ctx: &egui::Context) {
        if self.ctx.is_none() {
            self.ctx = Some(ctx.clone());
        }
    }

    /// A sender for a new job.
    pub fn outbox(&self) -> Outbox {
        Outbox {
            tx: self.tx.clone(),
            ctx: self.ctx.clone(),
        }
    }

    /// The next reply, if any is waiting.
    pub fn try_recv(&self) -> Option<Reply> {
        self.rx.try_recv().ok()
    }

    /// Loads `source` on a new thread; full MNIST is downloaded first when it is not cached,
    /// reporting progress.
    pub fn load_data(&self, source: Source, binarization: Binarization) {
        let out = self.outbox();
        spawn("bitsmnist-data", out.clone(), move || {
            let result = load(&source, binarization, &out).map(Box::new);
            out.send(Reply::Data(result));
        });
    }
}

fn load(source: &Source, binarization: Binarization, out: &Outbox) -> Result<Dataset, String> {
    match source {
        Source::Mnist => {
            let dir = datasets::cache_dir(None);
            datasets::download::Mirrors::default()
                .fetch(&dir, &mut |p| {
                    out.send(Reply::Download {
                        file: p.file,
                        done: p.done,
                        total: p.total,
                    })
                })
                .map_err(|e| e.to_string())?;
            Dataset::mnist_in(&dir, binarization).map_err(|e| e.to_string())
        }
        other => Dataset::load(other, binarization).map_err(|e| e.to_string()),
    }
}

/// Spawns a named thread running `job`; a panic inside it is reported as an error reply (data
/// jobs) or a failed run (training jobs) through `on_panic`.
pub(crate) fn spawn_with(
    name: &str,
    job: impl FnOnce() + Send + 'static,
    on_panic: impl FnOnce(String) + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
                on_panic(panic_message(payload.as_ref()));
            }
        });
    if let Err(e) = spawned {
        eprintln!("bitsmnist-gui: cannot start a thread: {e}");
    }
}

fn spawn(name: &str, out: Outbox, job: impl FnOnce() + Send + 'static) {
    spawn_with(name, job, move |msg| {
        out.send(Reply::Data(Err(format!("loading failed: {msg}"))))
    });
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_is_reported_not_lost() {
        let (tx, rx) = channel();
        spawn_with(
            "test-job",
            || panic!("boom in a job"),
            move |msg| tx.send(msg).unwrap(),
        );
        let msg = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(msg, "boom in a job");
    }

    #[test]
    fn a_failed_load_becomes_an_error_reply() {
        let w = Worker::default();
        w.load_data(
            Source::Dir("/nonexistent/bitsmnist".into()),
            Binarization::default(),
        );
        let start = std::time::Instant::now();
        loop {
            if let Some(Reply::Data(r)) = w.try_recv() {
                assert!(r.unwrap_err().contains("missing"));
                break;
            }
            assert!(start.elapsed().as_secs() < 30);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
