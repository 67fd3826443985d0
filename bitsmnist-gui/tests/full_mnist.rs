//! "Full MNIST" reads the cache folder (here filled by hand, so nothing is downloaded). Its own
//! test binary: it sets an environment variable for the whole process.

mod common;

use common::{harness, ready, run_until};
use egui_kittest::kittest::Queryable;

#[test]
fn full_mnist_loads_from_the_cache_folder_without_downloading() {
    let cache = tempfile::tempdir().unwrap();
    let data =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitsmnist-core/data/mnist");
    for f in std::fs::read_dir(&data).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "gz") {
            std::fs::copy(&f, cache.path().join(f.file_name().unwrap())).unwrap();
        }
    }
    // SAFETY: this test binary has a single test, and no other thread reads the environment
    // while it is set (the harness has not started any job yet).
    unsafe { std::env::set_var("BITSMNIST_DATA_DIR", cache.path()) };
    let mut h = harness(Default::default(), None);
    ready(&mut h);
    h.get_by_label("Full MNIST").click();
    h.run_ok();
    h.get_by_label_contains("press \"Reload data\"");
    h.get_by_label("Reload data").click();
    run_until(&mut h, "MNIST from the cache", |a| {
        a.data.loading.is_none() && a.data.full.as_ref().is_some_and(|d| d.name == "MNIST")
    });
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().data.full.as_ref().unwrap().train.len(), 10_000);
}
