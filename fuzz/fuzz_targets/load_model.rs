//! `ModelFile::from_bytes` must return an error, never panic or abort, on any input; what it
//! accepts must be usable. Each input is tried as it is, and again with a valid header (magic,
//! version, length, CRC) put in front of its payload part, so that the fuzzer reaches the
//! decoder and the invariant checks past the checksum.
#![no_main]

use bitsmnist_core::io::{FORMAT_VERSION, HEADER_LEN, MAGIC, ModelFile};
use bitsmnist_core::training::TrainingState;
use libfuzzer_sys::fuzz_target;

fn exercise(bytes: &[u8]) {
    if let Ok(file) = ModelFile::from_bytes(bytes) {
        let m = &file.model;
        if m.inputs() <= 4096 && m.parameters() <= 1 << 20 {
            let x = vec![0u64; m.inputs().div_ceil(64)];
            let _ = m.scores_one(&x);
        }
        match &file.state {
            Some(TrainingState::Population { set, .. }) => {
                let _ = set.best_chain();
            }
            Some(TrainingState::Climb(c)) => {
                let _ = c.best_chain();
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    let payload = data.get(HEADER_LEN..).unwrap_or(data);
    let mut fixed = Vec::with_capacity(HEADER_LEN + payload.len());
    fixed.extend_from_slice(&MAGIC);
    fixed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    fixed.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    fixed.extend_from_slice(&crc32fast_hash(payload).to_le_bytes());
    fixed.extend_from_slice(payload);
    exercise(&fixed);
});

/// CRC-32 (IEEE), bitwise: the fuzz crate does not depend on crc32fast.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
