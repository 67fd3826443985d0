//! `ModelFile::from_bytes` must return an error, never panic or abort, on any input; what it
//! accepts must be usable (forward of one input must not panic).
#![no_main]

use bitsmnist_core::io::ModelFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = ModelFile::from_bytes(data) {
        let m = &file.model;
        if m.inputs() <= 4096 && m.parameters() <= 1 << 20 {
            let x = vec![0u64; m.inputs().div_ceil(64)];
            let _ = m.scores_one(&x);
        }
        if let Some(t) = &file.training {
            let _ = t.best_chain();
        }
    }
});
