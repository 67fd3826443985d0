//! Runs recorded into a runs folder as they go: listed with their settings and results, an
//! interrupted run continued into the same record to the model an uninterrupted run makes,
//! and several writers at once beside a damaged record.

use std::ops::ControlFlow;
use std::time::Duration;

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::runs::{RunState, RunStatus, RunStore, settings_diff};
use bitsmnist_core::session::{RunPlan, Session};

fn plan(generations: u64) -> RunPlan {
    RunPlan::for_task(Task::zero_one()).generations(generations)
}

#[test]
fn a_recorded_run_lists_with_its_settings_and_result() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    let data = Dataset::embedded();
    let mut session = Session::start(plan(15), &data).unwrap();
    let id = session
        .record(&store, "baseline", &["zero-one".into(), "defaults".into()])
        .unwrap();
    assert_eq!(session.recording(), Some(&id));
    // Written at once, before any training: a listing shows it running.
    assert_eq!(store.listing(id.clone()).status, RunStatus::Running);
    session.run(|_| ControlFlow::Continue(())).unwrap();
    let report = session.report();
    drop(session);

    let runs = store.list().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Finished);
    let s = runs[0].summary.clone().unwrap();
    assert_eq!((s.label.as_str(), s.tags.len()), ("baseline", 2));
    assert_eq!(
        (s.method.as_str(), s.task.as_str()),
        ("population", "zero-one")
    );
    assert_eq!((s.step, s.planned_steps), (15, Some(15)));
    let result = s.result.clone().unwrap();
    assert_eq!(result.fingerprint, report.fingerprint);
    assert_eq!(result.test_accuracy, report.test.accuracy);
    assert!(
        s.settings
            .iter()
            .any(|(k, v)| k == "population" && v == "50")
    );
    // Nothing of the settings is Debug text.
    for (k, v) in s.all_settings() {
        assert!(!v.contains('{') && !v.contains("Some("), "{k}: {v}");
    }
    let file = store.load(&id).unwrap();
    assert_eq!(
        bitsmnist_core::io::fingerprint(&file.model),
        report.fingerprint
    );
    assert!(file.state.is_some(), "a recorded run keeps its state");

    // A second run with another seed differs in the seed only.
    let mut other = Session::start(plan(15).seed(2), &data).unwrap();
    other.record(&store, "seed 2", &[]).unwrap();
    other.run(|_| ControlFlow::Continue(())).unwrap();
    let id2 = other.recording().unwrap().clone();
    drop(other);
    let diff = settings_diff(
        &s.all_settings(),
        &store.summary(&id2).unwrap().all_settings(),
    );
    assert_eq!(
        diff,
        vec![("seed".into(), Some("1".into()), Some("2".into()))]
    );
}

#[test]
fn an_interrupted_run_continues_in_its_record_to_the_uninterrupted_model() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let data = Dataset::embedded();

    // The same run without interruption, not recorded.
    let mut whole = Session::start(plan(30), &data).unwrap();
    whole.run(|_| ControlFlow::Continue(())).unwrap();
    let expected = whole.report().fingerprint;

    // A crash at step 12: the session is dropped while unwinding, without its last write.
    let id = std::panic::catch_unwind(|| {
        let mut session = Session::start(plan(30), &data).unwrap();
        let id = session.record(&store, "crashes", &[]).unwrap();
        session.record_every(Duration::ZERO);
        let _ = session.run(|step| {
            if step.record().step == 12 {
                std::panic::resume_unwind(Box::new(id.clone()));
            }
            ControlFlow::Continue(())
        });
        unreachable!("the run crashes");
    })
    .unwrap_err()
    .downcast::<bitsmnist_core::runs::RunId>()
    .map(|b| *b)
    .unwrap();
    let listing = store.listing(id.clone());
    assert_eq!(listing.status, RunStatus::Interrupted);
    let summary = listing.summary.unwrap();
    assert_eq!(summary.state, RunState::Running);
    // The checkpoint of step 12 was written before the front end saw the step.
    assert_eq!(summary.step, 12, "the last checkpoint");

    let again = RunPlan::continue_recorded(&store, &id).unwrap();
    let mut resumed = Session::start(again, &data).unwrap();
    assert_eq!(resumed.record_continuing(&store, &id).unwrap(), id);
    // Continued, it is running again, and nobody else may write it meanwhile.
    assert_eq!(store.listing(id.clone()).status, RunStatus::Running);
    assert!(store.delete(&id).is_err());
    resumed.run(|_| ControlFlow::Continue(())).unwrap();
    drop(resumed);
    let done = store.summary(&id).unwrap();
    assert_eq!(done.state, RunState::Finished);
    assert_eq!(done.label, "crashes");
    assert_eq!(done.step, 30);
    assert_eq!(done.result.unwrap().fingerprint, expected);
    assert_eq!(
        store.list().unwrap().len(),
        1,
        "continued, not a second run"
    );
}

#[test]
fn writers_side_by_side_and_a_truncated_record_leave_every_other_run_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let data = Dataset::embedded();
    let ids: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|k| {
                let (store, data) = (&store, &data);
                s.spawn(move || {
                    let mut session = Session::start(plan(8).seed(k + 1), data).unwrap();
                    let id = session.record(store, &format!("writer {k}"), &[]).unwrap();
                    session.record_every(Duration::ZERO);
                    session.run(|_| ControlFlow::Continue(())).unwrap();
                    id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "each run its own id");
    // One record's files cut short, as a full disk or a crash of the file system would.
    for name in ["summary.bin", "run.bin"] {
        let path = dir.path().join(ids[0].as_str()).join(name);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let runs = store.list().unwrap();
    assert_eq!(runs.len(), 3);
    for run in &runs {
        if run.id == ids[0] {
            assert!(
                matches!(run.status, RunStatus::Damaged(_)),
                "{:?}",
                run.status
            );
            assert!(store.load(&run.id).is_err());
        } else {
            assert_eq!(run.status, RunStatus::Finished);
            store.load(&run.id).unwrap();
        }
    }
}

#[test]
fn a_run_cancelled_by_its_front_end_is_stopped_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let data = Dataset::embedded();
    let mut session = Session::start(plan(20), &data).unwrap();
    let id = session.record(&store, "stopped", &[]).unwrap();
    let cancel = session.cancel_token();
    session
        .run(|step| {
            if step.record().step == 5 {
                cancel.cancel();
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    // Stopped, not finished: no result, and continuable.
    let s = store.summary(&id).unwrap();
    assert_eq!(s.state, RunState::Stopped);
    assert!(s.result.is_none());
    // The session lives on, but its record is free once the recording ends.
    assert!(store.relabel(&id, "renamed", &[]).is_err());
    session.stop_recording();
    store.relabel(&id, "renamed", &[]).unwrap();
    assert_eq!(store.listing(id.clone()).status, RunStatus::Stopped);
    let again = RunPlan::continue_recorded(&store, &id).unwrap();
    let mut resumed = Session::start(again, &data).unwrap();
    resumed.record_continuing(&store, &id).unwrap();
    resumed.run(|_| ControlFlow::Continue(())).unwrap();
    drop(resumed);
    let s = store.summary(&id).unwrap();
    assert_eq!(
        (s.state, s.step, s.label.as_str()),
        (RunState::Finished, 20, "renamed")
    );
}

#[test]
fn a_sweep_cancelled_mid_way_runs_only_what_is_left_the_next_time() {
    use bitsmnist_core::run::CancelToken;
    use bitsmnist_core::runs::sweep::{self, Sweep};
    use bitsmnist_core::session::{PointOutcome, SweepRun, run_sweep};

    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let data = Dataset::embedded();
    let grid = Sweep::new(vec!["generations=30,40".parse().unwrap()], vec![1, 2, 3]).unwrap();
    let plan_of = |p: &sweep::Point| {
        let n: u64 = p.settings[0]
            .1
            .parse()
            .map_err(|_| "a number".to_string())?;
        Ok(RunPlan::for_task(Task::zero_one()).generations(n))
    };
    // Cancelled as the second point ends: the rest wait for the next run of the sweep.
    let cancel = CancelToken::new();
    let run = SweepRun {
        store: &store,
        name: "s",
        sweep: &grid,
        jobs: 1,
        cancel: &cancel,
        program: "a test",
    };
    let ended = std::sync::atomic::AtomicUsize::new(0);
    let first = run_sweep(&run, &data, plan_of, |_, _| {
        if ended.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            cancel.cancel();
        }
    })
    .unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|(_, o)| matches!(o, PointOutcome::Done(_)))
    );

    let cancel = CancelToken::new();
    let run = SweepRun {
        cancel: &cancel,
        jobs: 2,
        ..run
    };
    let second = run_sweep(&run, &data, plan_of, |_, _| {}).unwrap();
    assert_eq!(second.len(), 6);
    assert!(
        second
            .iter()
            .all(|(_, o)| matches!(o, PointOutcome::Done(_)))
    );
    assert_eq!(store.list().unwrap().len(), 6, "no point twice");
    assert!(
        store
            .list()
            .unwrap()
            .iter()
            .all(|r| r.summary.as_ref().unwrap().program == "a test")
    );
    let table = sweep::summary(&store, "s", &grid).unwrap();
    assert_eq!(table.len(), 2);
    assert!(table.iter().all(|s| s.finished == 3 && s.test.is_some()));
}
