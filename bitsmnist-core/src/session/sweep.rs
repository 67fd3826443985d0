//! A sweep run in this process, for the app and notebooks (the command line runs each point
//! as a `bitsmnist train` of its own): the points of a [`Sweep`] not yet done in the runs
//! folder, each a recorded [`Session`], `jobs` at a time.

use std::ops::ControlFlow;
use std::sync::Mutex;

use super::{RunPlan, Session, SessionError};
use crate::datasets::Dataset;
use crate::run::CancelToken;
use crate::runs::sweep::{self, Point, PointState, Sweep};
use crate::runs::{RunId, RunStore};

/// Which sweep to run, where, and how: see [`run_sweep`].
#[derive(Clone, Copy, Debug)]
pub struct SweepRun<'a> {
    /// The runs folder its points are recorded in.
    pub store: &'a RunStore,
    /// The sweep's name (its runs' tag `sweep:NAME`).
    pub name: &'a str,
    /// The grid and seeds.
    pub sweep: &'a Sweep,
    /// Points run at once.
    pub jobs: usize,
    /// Setting it stops every point at its next stop point.
    pub cancel: &'a CancelToken,
    /// The program its runs name as their writer (`bitsmnist-gui`; empty: none).
    pub program: &'a str,
}

/// What became of a point.
#[derive(Debug)]
#[non_exhaustive]
pub enum PointOutcome {
    /// Its run finished (now or before).
    Done(RunId),
    /// Another process runs it now: left to it.
    Elsewhere(RunId),
    /// Cancelled before its end: recorded as stopped, continued by the next run of the sweep.
    Stopped(RunId),
    /// Its plan could not be made or its run failed.
    Failed(String),
}

/// Runs every point of the sweep that its runs folder does not hold finished: a point
/// that is new starts from `plan_of(point)` with the point's seed, one interrupted or stopped
/// continues from its checkpoint, one another process runs is left to it. Each is recorded
/// with the tags `sweep:NAME` and `point:KEY` and the label `NAME: KEY`, `jobs` at a time on
/// threads of this process; setting the sweep's cancel token stops them all at their next stop
/// point (each saves itself as stopped). `on_point` hears of each point as it ends.
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::run::CancelToken;
/// use bitsmnist_core::runs::RunStore;
/// use bitsmnist_core::runs::sweep::{self, Sweep};
/// use bitsmnist_core::session::{RunPlan, SweepRun, run_sweep};
///
/// let dir = std::env::temp_dir().join(format!("bitsmnist-sweep-doc-{}", std::process::id()));
/// let store = RunStore::open(&dir).unwrap();
/// let grid = Sweep::new(vec!["generations=4,8".parse().unwrap()], vec![1, 2]).unwrap();
/// let plan_of = |p: &sweep::Point| {
///     let n: u64 = p.settings[0].1.parse().map_err(|_| "a number".to_string())?;
///     Ok(RunPlan::for_task(Task::zero_one()).generations(n))
/// };
/// let data = Dataset::embedded();
/// let cancel = CancelToken::new();
/// let run = SweepRun { store: &store, name: "doc", sweep: &grid, jobs: 2, cancel: &cancel, program: "" };
/// let outcomes = run_sweep(&run, &data, plan_of, |_, _| {});
/// assert_eq!(outcomes.unwrap().len(), 4);
/// let table = sweep::summary(&store, "doc", &grid).unwrap();
/// assert_eq!((table[0].setting.as_str(), table[0].finished), ("generations=4", 2));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn run_sweep<F, G>(
    sweep: &SweepRun<'_>,
    data: &Dataset,
    plan_of: F,
    on_point: G,
) -> Result<Vec<(Point, PointOutcome)>, crate::runs::RunStoreError>
where
    F: Fn(&Point) -> Result<RunPlan, String> + Sync,
    G: Fn(&Point, &PointOutcome) + Sync,
{
    let SweepRun {
        store,
        name,
        sweep,
        jobs,
        cancel,
        program,
    } = *sweep;
    let queue = Mutex::new(sweep::plan(store, name, sweep)?.into_iter());
    let done = Mutex::new(Vec::new());
    let one = |point: &Point, state: PointState| -> PointOutcome {
        let started = match state {
            PointState::Done(id) => return PointOutcome::Done(id),
            PointState::Running(id) => return PointOutcome::Elsewhere(id),
            PointState::Continue(id) => RunPlan::continue_recorded(store, &id)
                .map_err(|e| e.to_string())
                .and_then(|plan| start(plan, data, cancel, program))
                .and_then(|mut s| {
                    s.record_continuing(store, &id).map_err(|e| e.to_string())?;
                    Ok(s)
                }),
            _ => plan_of(point)
                .map(|plan| plan.seed(point.seed))
                .and_then(|plan| start(plan, data, cancel, program))
                .and_then(|mut s| {
                    let tags = [sweep::sweep_tag(name), point.tag()];
                    s.record(store, &format!("{name}: {}", point.key()), &tags)
                        .map_err(|e| e.to_string())?;
                    Ok(s)
                }),
        };
        let mut session = match started {
            Ok(s) => s,
            Err(e) => return PointOutcome::Failed(e),
        };
        let id = session.recording().cloned().expect("recorded above");
        match session.run(|_| ControlFlow::Continue(())) {
            Err(e) => PointOutcome::Failed(e.to_string()),
            Ok(_) if session.is_finished() && !cancel.is_cancelled() => PointOutcome::Done(id),
            Ok(_) => PointOutcome::Stopped(id),
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    if cancel.is_cancelled() {
                        break;
                    }
                    let Some((point, state)) =
                        queue.lock().unwrap_or_else(|e| e.into_inner()).next()
                    else {
                        break;
                    };
                    let outcome = one(&point, state);
                    on_point(&point, &outcome);
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((point, outcome));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    // In the grid's order, whatever order the threads ended them in.
    let order: Vec<String> = sweep.points().iter().map(Point::key).collect();
    done.sort_by_key(|(p, _)| order.iter().position(|k| *k == p.key()));
    Ok(done)
}

/// Starts a point's session, stoppable by the sweep's token, written by `program`.
fn start(
    mut plan: RunPlan,
    data: &Dataset,
    cancel: &CancelToken,
    program: &str,
) -> Result<Session, String> {
    plan.stop.cancel = Some(cancel.clone());
    let mut session = Session::start(plan, data).map_err(|e: SessionError| e.to_string())?;
    if !program.is_empty() {
        session.annotate(|m| m.with_program(program));
    }
    Ok(session)
}
