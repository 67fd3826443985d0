//! The README's main job (`bitsmnist train --task zero-one`) as its library call: the default
//! run counts steps, so it makes the same network, bit for bit, on one thread and on two (the
//! whole file is the same but for what records time), and its test accuracy is the README's
//! figure exactly.

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

/// The percentage the README's results table gives for the main job.
fn readme_figure() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let row = readme
        .lines()
        .find(|l| l.starts_with('|') && l.contains("`bitsmnist train --task zero-one`"))
        .expect("the main job's row in the README's results table");
    let cell = row.split('|').nth(3).expect("a result column").trim();
    cell.split('%')
        .next()
        .and_then(|n| n.split_whitespace().last())
        .unwrap_or_else(|| panic!("a percentage in {cell:?}"))
        .to_string()
}

#[test]
fn the_main_job_makes_one_network_on_one_or_two_threads_and_scores_the_readme_figure() {
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
    assert_eq!(
        format!("{:.2}", one.test.accuracy * 100.0),
        readme_figure(),
        "the README's figure for `bitsmnist train --task zero-one`"
    );
}
