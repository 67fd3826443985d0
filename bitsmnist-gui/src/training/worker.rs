//! The worker side of a training run: the window's [`Run`] handle (Pause, Resume, Stop), and
//! the job that runs the core's [`Session`] on the worker thread, telling the window what
//! happens with [`TrainReply`]s.
//!
//! The session is moved to the worker for the run and handed back when it stops. Pause sets
//! the session's pause token: its `run` returns at the next safe point (between mini-batches
//! of a gradient epoch, after a generation otherwise), the worker waits, and Resume calls
//! `run` again, which goes on exactly where it stopped with what is left of the stop rules.
//! Save while a run goes on asks the worker for the session's checkpoint.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bitsmnist_core::datasets::Dataset;
use bitsmnist_core::io::ModelFile;
use bitsmnist_core::run::{CancelToken, StopReason};
use bitsmnist_core::runs::{RunId, RunStore};
use bitsmnist_core::session::{RunPlan, Session};

use super::settings::Method;
use crate::worker::{Finished, Outbox, Reply, TrainReply};

/// How often the worker sends the model so far (for the Draw panel); a gradient run sends
/// every epoch's.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// What the window asks of the worker, and the session's tokens once it has started.
#[derive(Default)]
struct Wants {
    pause: bool,
    stop: bool,
    /// Write the run's checkpoint here at the next step (at once when paused).
    save: Option<PathBuf>,
    /// The session's pause and cancel tokens (`None` until it has started).
    tokens: Option<(CancelToken, CancelToken)>,
}

type Shared = Arc<Mutex<Wants>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Wants> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a run records itself in the runs folder.
#[derive(Clone, Debug)]
pub enum Recording {
    /// A new run of the folder, with the user's label.
    New {
        /// The runs folder.
        store: RunStore,
        /// The label (may be empty).
        label: String,
    },
    /// The folder's run `id`, which this run continues (its label and start are kept).
    Continue {
        /// The runs folder.
        store: RunStore,
        /// The run continued.
        id: RunId,
    },
}

/// The window's handle of a run in progress.
pub struct Run {
    shared: Shared,
    /// Whether the run is paused.
    pub paused: bool,
    /// Which method runs.
    pub method: Method,
}

impl Run {
    /// Whether Pause was asked for and not yet undone by Resume.
    fn pause_wanted(&self) -> bool {
        lock(&self.shared).pause
    }

    /// Asks the worker to pause at the run's next safe point.
    pub(crate) fn pause(&self) {
        let mut w = lock(&self.shared);
        w.pause = true;
        if let Some((pause, _)) = &w.tokens {
            pause.cancel();
        }
    }

    /// Lets a paused worker go on.
    pub(crate) fn resume(&mut self) {
        lock(&self.shared).pause = false;
        self.paused = false;
    }

    /// Asks the worker to stop at the run's next safe point, paused or not.
    pub(crate) fn stop(&self) {
        let mut w = lock(&self.shared);
        w.stop = true;
        w.pause = false;
        if let Some((_, cancel)) = &w.tokens {
            cancel.cancel();
        }
    }

    /// Asks the worker to write the run's checkpoint to `path`: after the step under way, at
    /// once when paused, at the end at the latest ([`TrainReply::Saved`] tells).
    pub(crate) fn save(&self, path: PathBuf) {
        lock(&self.shared).save = Some(path);
    }

    /// Takes in a Paused reply: the run is paused unless Resume came first.
    pub(crate) fn on_paused(&mut self) {
        self.paused = self.pause_wanted();
    }
}

/// Spawns the worker that starts a session from `plan` on `data` (the whole data set) and runs
/// it, recording it as `record` says, reporting to `out`; returns the window's handle of the
/// run of `method`.
pub(crate) fn spawn(
    method: Method,
    plan: RunPlan,
    data: Arc<Dataset>,
    record: Option<Recording>,
    out: Outbox,
) -> Run {
    let shared = Shared::default();
    let worker = Worker {
        shared: shared.clone(),
        out: out.clone(),
        gradient: method == Method::Gradient,
    };
    crate::worker::spawn_with(
        "bitsmnist-train",
        move || worker.run(plan, data, record),
        move |msg| out.send(Reply::Train(TrainReply::Crashed(msg))),
    );
    Run {
        shared,
        paused: false,
        method,
    }
}

/// The worker thread's side.
struct Worker {
    shared: Shared,
    out: Outbox,
    gradient: bool,
}

impl Worker {
    fn send(&self, reply: TrainReply) {
        self.out.send(Reply::Train(reply));
    }

    fn finish(&self, finished: Finished) {
        self.send(TrainReply::Finished(Box::new(finished)));
    }

    fn run(self, plan: RunPlan, data: Arc<Dataset>, record: Option<Recording>) {
        // Started here, not on the UI thread: imprinting and wide layers take a moment.
        let mut session = match Session::start(plan, &data) {
            Ok(s) => s,
            Err(e) => {
                return self.finish(Finished {
                    session: None,
                    result: None,
                    error: Some(e.to_string()),
                });
            }
        };
        drop(data);
        // Before recording: the summary names the program that recorded the run.
        session.annotate(|m| m.with_program(super::PROGRAM));
        if let Some(record) = record {
            let recorded = match &record {
                Recording::New { store, label } => session.record(store, label, &[]),
                Recording::Continue { store, id } => session.record_continuing(store, id),
            };
            self.send(TrainReply::Recorded(recorded.map_err(|e| e.to_string())));
        }
        {
            let mut w = lock(&self.shared);
            let (pause, cancel) = (session.pause_token(), session.cancel_token());
            if w.pause {
                pause.cancel();
            }
            if w.stop {
                cancel.cancel();
            }
            w.tokens = Some((pause, cancel));
        }
        let mut last_snapshot = Instant::now();
        let error = loop {
            let outcome = session.run(|step| {
                self.send(TrainReply::Progress(step.record().clone()));
                self.save_if_asked(|| step.checkpoint());
                if self.gradient || last_snapshot.elapsed() >= SNAPSHOT_EVERY {
                    last_snapshot = Instant::now();
                    self.send(TrainReply::Snapshot(step.state().model()));
                }
                ControlFlow::Continue(())
            });
            match outcome {
                Ok(o) if o.reason == StopReason::Paused => {
                    self.send(TrainReply::Paused);
                    self.wait_while_paused(&session);
                    // Resumed or stopped: a stop makes the next call return at once.
                }
                Ok(_) => break None,
                Err(e) => break Some(e.to_string()),
            }
        };
        self.save_if_asked(|| session.checkpoint());
        let result = Some((session.model(), session.report()));
        self.finish(Finished {
            session: Some(Box::new(session)),
            result,
            error,
        });
    }

    fn wait_while_paused(&self, session: &Session) {
        loop {
            {
                let w = lock(&self.shared);
                if !w.pause || w.stop {
                    return;
                }
            }
            self.save_if_asked(|| session.checkpoint());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes the checkpoint `file` gives where the window asked for one, if it did.
    fn save_if_asked(&self, file: impl FnOnce() -> ModelFile) {
        let Some(path) = lock(&self.shared).save.take() else {
            return;
        };
        let file = file();
        let meta = file.meta.clone().with_program(super::PROGRAM);
        let saved = file
            .with_meta(meta)
            .save(&path)
            .map(|()| path.clone())
            .map_err(|e| format!("{}: {e}", path.display()));
        self.send(TrainReply::Saved(saved));
    }
}
