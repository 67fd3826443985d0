//! Inputs found by fuzzing (`fuzz/`), kept as regression tests: each must be refused with an
//! error, never a panic. Files named `model-*` are model files, `idx-*` IDX files. The
//! `model-member-count-*` files are CRC-valid model files whose member record claims 2^64 - 1
//! and 10^12 members (issue 23: `merge` panicked, or aborted allocating 16 TB).

use std::path::Path;

use bitsmnist_core::datasets::Idx;
use bitsmnist_core::io::ModelFile;

#[test]
fn fuzz_regressions_are_errors_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("model-") {
            assert!(ModelFile::from_bytes(&bytes).is_err(), "{name} loaded");
            seen += 1;
        } else if name.starts_with("idx-") {
            assert!(Idx::from_bytes(&bytes).is_err(), "{name} parsed");
            seen += 1;
        }
    }
    assert!(seen > 0, "no regression inputs in {}", dir.display());
}
