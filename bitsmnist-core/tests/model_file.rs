//! The `.bin` model file: round trips, and a typed error (never a panic) for every kind of
//! damage.

use bitsmnist_core::io::{FORMAT_VERSION, HEADER_LEN, MAX_PAYLOAD, ModelFileError};
use bitsmnist_core::prelude::*;
use bitsmnist_core::run::{History, TrainOptions};
use bitsmnist_core::search::{Population, PopulationParams};
use serde::Serialize;

fn model_784_800_2() -> Chain {
    Chain::new(vec![
        BitDense::new(784, 800).with_seed(10).into(),
        BitDense::new(800, 2)
            .with_seed(11)
            .with_output(BitOutput::Float(Activation::Sigmoid))
            .into(),
    ])
    .unwrap()
}

fn small() -> Chain {
    Chain::new(vec![
        BitDense::new(10, 3).with_seed(1).into(),
        BitDense::new(3, 2)
            .with_seed(2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap()
}

#[test]
fn save_load_round_trip_gives_identical_outputs() {
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let model = model_784_800_2();
    let meta = Metadata::now()
        .with_dataset(&data)
        .with_task(&Task::zero_one())
        .with_extra("fitness", "score");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    ModelFile::new(model.clone())
        .with_meta(meta.clone())
        .save(&path)
        .unwrap();
    let back = ModelFile::load(&path).unwrap();
    assert_eq!(back.model, model);
    assert_eq!(back.meta, meta);
    assert_eq!(back.meta.tool_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(back.meta.class_names, vec!["0", "1"]);
    assert!(back.state.is_none() && back.history.is_none());
    let x = data.test.images();
    assert_eq!(back.model.scores(x), model.scores(x));
}

#[test]
fn training_state_and_history_round_trip() {
    let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    let split = data.train.sample_shuffled(0.05, 2, 1);
    let params = PopulationParams::default().population(6).elitism(2).seed(4);
    let mut set = Population::new(small_for(784), &[0, 1], params).unwrap();
    set.run(&Fitness::score(&split), &TrainOptions::new().generations(3))
        .unwrap();
    let file = ModelFile::from_state(&TrainingState::from(set.clone()), &split);
    // What a save will take on disk, counted without the bytes (the free-space check).
    assert_eq!(
        file.encoded_len().unwrap(),
        file.to_bytes().unwrap().len() as u64
    );
    let back = ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    let Some(TrainingState::Population { set: t, .. }) = &back.state else {
        panic!("population state")
    };
    assert_eq!(t.population(), set.population());
    assert_eq!(t.fitness(), set.fitness());
    assert_eq!(t.params(), set.params());
    assert_eq!(back.history.as_ref(), Some(set.history()));
    assert_eq!(back.model, *set.chain());
}

fn small_for(inputs: usize) -> Chain {
    Chain::new(vec![
        BitDense::new(inputs, 8).into(),
        BitDense::new(8, 2)
            .with_output(BitOutput::Float(Activation::Identity))
            .into(),
    ])
    .unwrap()
}

fn small_file() -> Vec<u8> {
    ModelFile::new(small()).to_bytes().unwrap()
}

/// A header around `payload` with a correct checksum.
fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut v = b"BITSMNST".to_vec();
    v.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    v.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    v.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

#[test]
fn header_layout_is_as_documented() {
    let b = small_file();
    assert_eq!(&b[..8], b"BITSMNST");
    assert_eq!(
        u32::from_le_bytes(b[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    let len = u64::from_le_bytes(b[12..20].try_into().unwrap());
    assert_eq!(len as usize, b.len() - HEADER_LEN);
    let crc = u32::from_le_bytes(b[20..24].try_into().unwrap());
    assert_eq!(crc, crc32fast::hash(&b[HEADER_LEN..]));
    assert_eq!(wrap(&b[HEADER_LEN..]), b);
}

#[test]
fn bad_magic() {
    let mut b = small_file();
    b[0] = b'X';
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::BadMagic)
    ));
    assert!(matches!(
        ModelFile::from_bytes(b"PK\x03\x04 not a model at all"),
        Err(ModelFileError::BadMagic)
    ));
}

#[test]
fn newer_and_unknown_versions() {
    let mut b = small_file();
    b[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::NewerVersion { found, supported })
            if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION
    ));
    b[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::UnknownVersion(0))
    ));
}

#[test]
fn bad_checksum() {
    let mut b = small_file();
    let last = b.len() - 1;
    b[last] ^= 0x40;
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::Checksum { .. })
    ));
    let mut b = small_file();
    b[20] ^= 1;
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::Checksum { .. })
    ));
}

#[test]
fn truncation_at_every_length() {
    let b = small_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.bin");
    for n in 0..b.len() {
        let err = ModelFile::from_bytes(&b[..n]).unwrap_err();
        assert!(
            matches!(err, ModelFileError::Truncated { .. }),
            "length {n}: {err:?}"
        );
        std::fs::write(&path, &b[..n]).unwrap();
        let err = ModelFile::load(&path).unwrap_err();
        assert!(
            matches!(err, ModelFileError::Truncated { .. }),
            "file of length {n}: {err:?}"
        );
    }
    assert!(ModelFile::from_bytes(&b).is_ok());
}

#[test]
fn trailing_bytes() {
    let mut b = small_file();
    b.push(0);
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::TrailingBytes { extra: 1 })
    ));
    // Inside the payload, after the value, with a correct checksum.
    let mut payload = small_file()[HEADER_LEN..].to_vec();
    payload.extend_from_slice(&[1, 2, 3]);
    assert!(matches!(
        ModelFile::from_bytes(&wrap(&payload)),
        Err(ModelFileError::TrailingBytes { extra: 3 })
    ));
}

#[test]
fn absurd_sizes() {
    let mut b = small_file();
    b[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::TooLarge { declared: u64::MAX, limit }) if limit == MAX_PAYLOAD
    ));
    // Declared size within the limit but larger than the file.
    b[12..20].copy_from_slice(&MAX_PAYLOAD.to_le_bytes());
    assert!(matches!(
        ModelFile::from_bytes(&b),
        Err(ModelFileError::Truncated { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &b).unwrap();
    assert!(matches!(
        ModelFile::load(&path),
        Err(ModelFileError::Truncated { .. })
    ));
    // A vector length of 2^60 words inside a well-formed payload: refused by the decoding
    // limit, not allocated. Layers: 1, variant Bit, rows 1, cols 64, then the length.
    let mut payload = vec![1u8, 0, 1, 64, 0xfd];
    payload.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(matches!(
        ModelFile::from_bytes(&wrap(&payload)),
        Err(ModelFileError::Decode(_))
    ));
    // Garbage payload.
    assert!(matches!(
        ModelFile::from_bytes(&wrap(&[0xff; 40])),
        Err(ModelFileError::Decode(_))
    ));
}

// Serde mirrors of the stored types, to write payloads that decode but break invariants.
#[derive(Serialize)]
struct M {
    rows: usize,
    cols: usize,
    words: Vec<u64>,
}
#[derive(Serialize)]
struct Bd {
    weights: M,
    bias: M,
    output: BitOutput,
    thresholds: Option<Vec<i64>>,
    affine: Option<Vec<(f32, f32)>>,
}
#[derive(Serialize)]
enum L {
    Bit(Bd),
}
#[derive(Serialize)]
struct C {
    layers: Vec<L>,
    input: Input,
}
#[derive(Serialize)]
struct F {
    model: C,
    state: Option<()>,
    history: Option<History>,
    meta: Metadata,
}

fn file_with(layers: Vec<L>, meta: Metadata) -> Vec<u8> {
    let f = F {
        model: C {
            layers,
            input: Input::Bits,
        },
        state: None,
        history: None,
        meta,
    };
    wrap(&bincode::serde::encode_to_vec(&f, bincode::config::standard()).unwrap())
}

fn bd(rows: usize, cols: usize, words: Vec<u64>, bias: M) -> L {
    L::Bit(Bd {
        weights: M { rows, cols, words },
        bias,
        output: BitOutput::Bits,
        thresholds: None,
        affine: None,
    })
}

fn bias(n: usize) -> M {
    M {
        rows: 1,
        cols: n,
        words: vec![0; n.div_ceil(64)],
    }
}

#[test]
fn decoded_invariants_are_checked() {
    let meta = Metadata::now;
    // The mirror is faithful: a valid layer loads.
    let ok = file_with(vec![bd(2, 70, vec![1, 2, 3, 4], bias(2))], meta());
    let m = ModelFile::from_bytes(&ok).unwrap();
    assert_eq!(m.model.to_string(), "Chain(BitDense(70, 2))");
    assert_eq!(m.model.input(), Input::Bits);
    let L::Bit(mut b) = bd(2, 70, vec![1, 2, 3, 4], bias(2));
    b.thresholds = Some(vec![3]);
    let wrong_thresholds = L::Bit(b);
    let cases = [
        // One threshold for two neurons.
        file_with(vec![wrong_thresholds], meta()),
        // Padding bit 70 set.
        file_with(vec![bd(2, 70, vec![1, 1 << 6, 3, 4], bias(2))], meta()),
        // Too few words.
        file_with(vec![bd(2, 70, vec![1, 2, 3], bias(2))], meta()),
        // Bias width differs from the neuron count.
        file_with(vec![bd(2, 70, vec![1, 2, 3, 4], bias(3))], meta()),
        // Bias with two rows.
        file_with(
            vec![bd(
                2,
                70,
                vec![1, 2, 3, 4],
                M {
                    rows: 2,
                    cols: 2,
                    words: vec![0, 0],
                },
            )],
            meta(),
        ),
        // Widths that do not chain.
        file_with(
            vec![bd(2, 70, vec![0; 4], bias(2)), bd(1, 3, vec![0], bias(1))],
            meta(),
        ),
        // Overflowing sizes.
        file_with(vec![bd(usize::MAX, usize::MAX, vec![], bias(0))], meta()),
        // A task listing a class twice.
        file_with(
            vec![bd(2, 70, vec![0; 4], bias(2))],
            meta().with_task(&Task::zero_one()),
        ),
    ];
    for (i, c) in cases[..7].iter().enumerate() {
        let err = ModelFile::from_bytes(c).unwrap_err();
        assert!(
            matches!(err, ModelFileError::Invalid(_)),
            "case {i}: {err:?}"
        );
    }
    assert!(ModelFile::from_bytes(&cases[7]).is_ok());
    let bad_task: Task = serde_task(&[3, 3]);
    let err = ModelFile::from_bytes(&file_with(
        vec![bd(2, 70, vec![0; 4], bias(2))],
        meta().with_task(&bad_task),
    ))
    .unwrap_err();
    assert!(matches!(err, ModelFileError::Invalid(_)), "{err:?}");
}

/// A `Task` that `Task::new` would refuse, built through serde as a file could hold it.
fn serde_task(classes: &[u8]) -> Task {
    #[derive(Serialize)]
    struct T {
        classes: Vec<u8>,
    }
    let bytes = bincode::serde::encode_to_vec(
        T {
            classes: classes.to_vec(),
        },
        bincode::config::standard(),
    )
    .unwrap();
    bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
        .unwrap()
        .0
}

#[test]
fn loading_a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        ModelFile::load(&dir.path().join("nope.bin")),
        Err(ModelFileError::Io(_))
    ));
}
