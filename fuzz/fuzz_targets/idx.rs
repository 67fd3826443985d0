//! `Idx::from_bytes` must return an error, never panic or abort, on any input.
#![no_main]

use bitsmnist_core::datasets::Idx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(idx) = Idx::from_bytes(data) {
        let n: usize = idx.dims.iter().product();
        assert_eq!(n, idx.data.len());
    }
});
