//! The README's main job (`bitsmnist train --task zero-one`) as its library call: the default
//! run counts steps, so it makes the same network, bit for bit, on one thread and on two (the
//! whole file is the same but for what records time), and its test accuracy is the figure of
//! its row in `docs/figures.md` (which the README quotes) exactly.

#[path = "support/figures.rs"]
mod figures;

use std::ops::ControlFlow;

use bitsmnist_core::datasets::{Dataset, Task};
use bitsmnist_core::io::{ModelFile, fingerprint};
use bitsmnist_core::session::{RunPlan, RunReport, Session};

/// Runs the main job in a pool of `threads` threads: its report and its checkpoint.
fn main_job(threads: usize) -> (RunReport, ModelFile) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let plan = RunPlan::for_task(Task::zero_one());
        let mut session = Session::start(plan, &Dataset::embedded()).unwrap();
        session.run(|_| ControlFlow::Continue(())).unwrap();
        (session.report(), session.checkpoint())
    })
}

/// The file's whole content (model, state, histories, metadata) as JSON without what records
/// time: the creation time and each step's seconds and rate.
fn timeless(file: &ModelFile) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for key in ["created_unix", "elapsed_secs", "steps_per_sec"] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(file).unwrap();
    strip(&mut v);
    v.to_string()
}

#[test]
fn the_main_job_makes_one_network_on_one_or_two_threads_and_scores_its_figure() {
    // Side by side: each run has its own pool.
    let ((one, one_file), (two, two_file)) = std::thread::scope(|s| {
        let one = s.spawn(|| main_job(1));
        let two = main_job(2);
        (one.join().unwrap(), two)
    });
    assert_eq!(one.stop, "step limit reached");
    assert_eq!(one.steps, two.steps);
    assert_eq!(one.fingerprint, two.fingerprint);
    assert_eq!(fingerprint(&one_file.model), one.fingerprint);
    let (a, b) = (timeless(&one_file), timeless(&two_file));
    // The first difference, not two dumps of a whole file.
    if let Some(i) = a.bytes().zip(b.bytes()).position(|(x, y)| x != y) {
        let around = |s: &str| s[i.saturating_sub(120)..(i + 40).min(s.len())].to_string();
        panic!(
            "the files differ in more than their time fields:\n{}\n{}",
            around(&a),
            around(&b)
        );
    }
    assert_eq!(a.len(), b.len());
    let row = figures::row("zero-one");
    assert_eq!(
        row.command.as_deref(),
        Some("bitsmnist train --task zero-one")
    );
    assert_eq!(
        format!("{:.2}%", one.test.accuracy * 100.0),
        row.result,
        "figures.md#zero-one, `bitsmnist train --task zero-one`"
    );
    assert!(
        row.figure
            .contains(&format!("fingerprint `{}`", one.fingerprint)),
        "figures.md#zero-one names the fingerprint {}",
        one.fingerprint
    );
}
