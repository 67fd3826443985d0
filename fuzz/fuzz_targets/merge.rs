//! `io::merge_files` must return a merged model or an error, never panic or allocate without
//! bound, whatever member files and member metadata it is given. The input is a list of up to
//! six members, each either raw bytes read as a model file (with a valid header put in front,
//! as `load_model` does, so that the decoder and its checks are reached) or a small network
//! built from the input with metadata drawn from it: task, data set, binarisation, sample,
//! seed and a member record (index and count up to `u64::MAX`, the counts that once panicked
//! or asked for 16 TB), some files holding a training state at a drawn step.
#![no_main]

use std::path::PathBuf;

use bitsmnist_core::datasets::{Binarization, Task};
use bitsmnist_core::io::{FORMAT_VERSION, MAGIC, Metadata, ModelFile, RunInfo, merge_files};
use bitsmnist_core::layers::{Activation, BitOutput, Chain};
use bitsmnist_core::training::{Membership, MethodKind};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// A member from raw bytes: a model file with a fixed header, if it loads.
fn raw(u: &mut Unstructured<'_>) -> Result<Option<ModelFile>> {
    let len = u.int_in_range(0..=4096usize)?;
    let payload = u.bytes(len.min(u.len()))?;
    let mut file = Vec::with_capacity(24 + payload.len());
    file.extend_from_slice(&MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&crc32(payload).to_le_bytes());
    file.extend_from_slice(payload);
    Ok(ModelFile::from_bytes(&file).ok())
}

/// A member built from drawn settings and metadata.
fn built(u: &mut Unstructured<'_>) -> Result<Option<ModelFile>> {
    let hidden = u.int_in_range(1..=12usize)?;
    let classes = u.int_in_range(2..=3usize)?;
    let output = match u.int_in_range(0..=2u8)? {
        0 => BitOutput::Float(Activation::Identity),
        1 => BitOutput::Bits,
        _ => BitOutput::Float(Activation::Sigmoid),
    };
    let layers: Vec<usize> = (0..u.int_in_range(1..=2usize)?).map(|_| hidden).collect();
    let Ok(model) = Chain::mlp(16, &layers, classes, output, u.arbitrary::<u64>()? % 4) else {
        return Ok(None);
    };
    let mut meta = Metadata::now();
    if u.arbitrary()? {
        let shift = u.int_in_range(0..=1u8)?;
        if let Ok(task) = Task::new((shift..shift + classes as u8).collect()) {
            meta = meta.with_task(&task);
        }
    }
    meta.dataset = match u.int_in_range(0..=2u8)? {
        0 => None,
        1 => Some("digits".into()),
        _ => Some("fashion".into()),
    };
    meta.binarization = match u.int_in_range(0..=2u8)? {
        0 => None,
        1 => Some(Binarization::MeanOfNonZero),
        _ => Some(Binarization::Threshold(u.arbitrary()?)),
    };
    if u.arbitrary()? {
        let method = *u.choose(&[MethodKind::Climb, MethodKind::Ensemble, MethodKind::Population])?;
        let mut run = RunInfo::new(method, u.arbitrary()?);
        let index = u.arbitrary::<u64>()? % 8;
        let of = match u.int_in_range(0..=3u8)? {
            0 => u64::MAX,
            1 => 1_000_000_000_000,
            2 => 1025,
            _ => u.int_in_range(0..=8u64)?,
        };
        run = run.with_member(Membership::new(index as usize, of as usize));
        if u.arbitrary()? {
            run = run.with_sample(*u.choose(&[1.0, 0.5, 0.25])?);
        }
        meta = meta.with_run(run);
    }
    Ok(Some(ModelFile::new(model).with_meta(meta)))
}

fn members(u: &mut Unstructured<'_>) -> Result<(Vec<(PathBuf, ModelFile)>, bool)> {
    let allow_missing = u.arbitrary()?;
    let mut files = Vec::new();
    for k in 0..u.int_in_range(0..=6usize)? {
        let file = if u.ratio(1, 4)? { raw(u)? } else { built(u)? };
        if let Some(file) = file {
            files.push((PathBuf::from(format!("m{k}.bin")), file));
        }
    }
    Ok((files, allow_missing))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((files, allow_missing)) = members(&mut u) else {
        return;
    };
    let given = files.len();
    if let Ok(merged) = merge_files(files, allow_missing) {
        // What a merge accepts is a usable model of the networks given.
        assert!(merged.order.len() <= given && !merged.order.is_empty());
        let m = &merged.file.model;
        if m.inputs() <= 4096 && m.parameters() <= 1 << 22 {
            let _ = m.scores_one(&vec![0u64; m.inputs().div_ceil(64)]);
        }
        let _ = merged.file.to_bytes();
    }
});

/// CRC-32 (IEEE), bitwise: the fuzz crate does not depend on crc32fast.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
