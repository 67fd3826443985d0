//! Data sets on the embedded real digits: loading, binarisation, sampling, tasks, IDX folders.

use bitsmnist_core::datasets::{
    Binarization, DataError, Dataset, FILE_STEMS, Idx, NOISE_LABEL, Noise, Source, Task, TaskError,
    find_files,
};
use bitsmnist_core::layers::Shape;

#[test]
fn embedded_set_has_the_documented_counts() {
    let d = Dataset::embedded();
    assert_eq!(d.source, Source::Embedded);
    assert_eq!((d.train.len(), d.test.len()), (10_000, 10_000));
    assert_eq!(d.shape, (28, 28));
    assert_eq!(
        d.train.class_counts(10),
        vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    );
    // The official test set's well-known class counts.
    assert_eq!(
        d.test.class_counts(10),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(d.class_names[3], "3");
    // The first official test digit is a 7.
    assert_eq!(d.test.labels()[0], 7);
}

#[test]
fn default_binarisation_is_the_original_rule_per_split() {
    let d = Dataset::embedded();
    for split in [&d.train, &d.test] {
        let t = split.threshold();
        assert!(t > 100.0 && t < 200.0, "threshold {t}");
        // Recompute from grey levels: bit = pixel > mean of non-zero pixels.
        let (mut sum, mut nz) = (0u64, 0u64);
        for i in 0..split.len() {
            for &p in split.grey(i).unwrap() {
                sum += u64::from(p);
                nz += u64::from(p > 0);
            }
        }
        assert!((t - sum as f64 / nz as f64).abs() < 1e-9);
        for i in (0..split.len()).step_by(997) {
            let grey = split.grey(i).unwrap();
            for (j, bit) in split.images().row_bits(i).iter().enumerate() {
                assert_eq!(*bit, u64::from(grey[j]) * nz > sum);
            }
        }
        let f = split.ones_fraction();
        assert!(f > 0.05 && f < 0.25, "ones fraction {f}");
    }
    let fixed = Dataset::embedded_with(Binarization::Threshold(0));
    assert!(fixed.train.ones_fraction() > d.train.ones_fraction());
}

#[test]
fn zero_one_sample_is_balanced_like_the_original() {
    let d = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    assert_eq!(d.train.len(), 1001 + 1127);
    assert_eq!(d.test.len(), 2115);
    assert_eq!(d.class_names, vec!["0", "1"]);
    // ceil(0.3 * 2128) = 639: the first class to fill gets 320.
    let s = d.train.sample(0.3, 2);
    assert_eq!(s.len(), 639);
    let c = s.class_counts(2);
    assert!(c == vec![320, 319] || c == vec![319, 320], "{c:?}");
    let shuffled = d.train.sample_shuffled(0.3, 2, 1);
    assert_eq!(shuffled.len(), 639);
    assert_ne!(shuffled.labels(), s.labels());
}

#[test]
fn any_class_subset_is_relabelled_in_task_order() {
    let full = Dataset::embedded();
    let d = full.for_task(&"3,8".parse().unwrap()).unwrap();
    assert_eq!(d.train.class_counts(2), vec![1032, 944]);
    assert_eq!(d.class_names, vec!["3", "8"]);
    let digits = full.for_task(&Task::digits()).unwrap();
    assert_eq!(digits.train.len(), 10_000);
}

#[test]
fn noisy_set_flips_at_the_requested_rate_with_noise_labels() {
    let d = Dataset::embedded();
    let small = d.train.select(&(0..500).collect::<Vec<_>>());
    let noisy = small.noisy(
        Noise {
            flip_probability: 0.3,
        },
        11,
    );
    assert!(noisy.labels().iter().all(|&l| l == NOISE_LABEL));
    let mut flipped = 0u64;
    for i in 0..small.len() {
        for (a, b) in small.images().row(i).iter().zip(noisy.images().row(i)) {
            flipped += u64::from((a ^ b).count_ones());
        }
    }
    let rate = flipped as f64 / (500.0 * 784.0);
    assert!((rate - 0.3).abs() < 0.01, "rate {rate}");
    assert_eq!(
        noisy,
        small.noisy(
            Noise {
                flip_probability: 0.3
            },
            11
        )
    );
    assert_eq!(Noise::default().flip_probability, 0.7);
    let whole = d.noisy(Noise::default(), 1);
    assert_eq!(whole.test.len(), 10_000);
}

/// Writes the embedded set into a folder as IDX files (gzip or plain).
fn write_idx_folder(dir: &std::path::Path, gzip: bool) {
    let d = Dataset::embedded();
    for (stem, split, images) in [
        (FILE_STEMS[0], &d.train, true),
        (FILE_STEMS[1], &d.train, false),
        (FILE_STEMS[2], &d.test, true),
        (FILE_STEMS[3], &d.test, false),
    ] {
        let idx = if images {
            let data: Vec<u8> = (0..split.len())
                .flat_map(|i| split.grey(i).unwrap().to_vec())
                .collect();
            Idx {
                dims: vec![split.len(), 28, 28],
                data,
            }
        } else {
            Idx {
                dims: vec![split.len()],
                data: split.labels().to_vec(),
            }
        };
        let name = if gzip {
            format!("{stem}.gz")
        } else {
            stem.to_string()
        };
        idx.save(&dir.join(name)).unwrap();
    }
}

#[test]
fn a_folder_of_idx_files_loads_the_same_plain_or_gzip() {
    let embedded = Dataset::embedded();
    for gzip in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join(if gzip { "fashion-like" } else { "digits" });
        write_idx_folder(&dir, gzip);
        let d = Dataset::from_dir(&dir, Binarization::default()).unwrap();
        assert_eq!(d.train.images(), embedded.train.images());
        assert_eq!(d.test.labels(), embedded.test.labels());
        assert_eq!(d.source, Source::Dir(dir.clone()));
        if gzip {
            // A folder named like Fashion-MNIST gets its class names.
            assert_eq!(d.class_names[9], "Ankle boot");
        } else {
            assert_eq!(d.class_names[9], "9");
        }
    }
}

/// A thermometer code keeps grey levels as bits: `levels` bits a pixel, adjacent, bit `c`
/// being `pixel > 255 (c + 1) / (levels + 1)`, so a pixel's bits are a run of ones then zeros;
/// the grey levels, tasks and samples keep their pixels. A folder loads the same, and a
/// code of too many levels is refused with a typed error, not a panic.
#[test]
fn a_thermometer_code_keeps_grey_levels_as_adjacent_bits() {
    let one = Dataset::embedded();
    for levels in Binarization::MIN_LEVELS..=Binarization::MAX_LEVELS {
        let b = Binarization::Thermometer { levels };
        let d = Dataset::embedded_with(b);
        let k = usize::from(levels);
        assert_eq!((d.pixels(), d.inputs()), (784, 784 * k));
        assert_eq!(Shape::input_of(&d), Shape::new(28, 28, k));
        assert_eq!(d.train.channels(), k);
        let t = b.thresholds();
        assert_eq!(t.len(), k);
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        for (split, plain) in [(&d.train, &one.train), (&d.test, &one.test)] {
            for i in (0..split.len()).step_by(1999) {
                let grey = split.grey(i).unwrap();
                assert_eq!(grey, plain.grey(i).unwrap());
                let bits = split.images().row_bits(i);
                for (p, &g) in grey.iter().enumerate() {
                    for c in 0..k {
                        assert_eq!(bits[p * k + c], g > t[c], "image {i} pixel {p} bit {c}");
                    }
                }
            }
        }
        let task = d.for_task(&Task::zero_one()).unwrap();
        assert_eq!(task.train.channels(), k);
        assert_eq!(task.train.grey(0).unwrap().len(), 784);
        let sample = task.train.sample(0.1, 2);
        assert_eq!(sample.pixels(), 784);
    }
    assert_eq!(
        Binarization::Thermometer { levels: 4 }.thresholds(),
        [51, 102, 153, 204]
    );
    assert_eq!(
        Binarization::Thermometer { levels: 4 }.to_string(),
        "thermometer:4 (pixel > 51, 102, 153, 204)"
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("digits");
    write_idx_folder(&dir, false);
    let b = Binarization::Thermometer { levels: 3 };
    let d = Dataset::from_dir(&dir, b).unwrap();
    assert_eq!(d.train.images(), Dataset::embedded_with(b).train.images());
    for bad in [0, 1, 9, 255] {
        let b = Binarization::Thermometer { levels: bad };
        let err = Dataset::from_dir(&dir, b).unwrap_err();
        assert!(matches!(err, DataError::Binarization(_)), "{err:?}");
        assert!(err.to_string().contains("use 2 to 8"), "{err}");
        let err = Dataset::load(&Source::Embedded, b).unwrap_err();
        assert!(matches!(err, DataError::Binarization(_)), "{err:?}");
    }
}

#[test]
fn binarisations_parse_with_typed_errors() {
    for (text, b) in [
        ("mean", Binarization::MeanOfNonZero),
        ("100", Binarization::Threshold(100)),
        ("thermometer:2", Binarization::Thermometer { levels: 2 }),
        ("thermo:8", Binarization::Thermometer { levels: 8 }),
    ] {
        assert_eq!(text.parse::<Binarization>(), Ok(b), "{text}");
    }
    for (text, says) in [
        ("thermometer:9", "use 2 to 8"),
        ("thermometer:1", "use 2 to 8"),
        ("thermometer:x", "`x` is not a number of levels"),
        ("thermometer", "thermometer:K"),
        ("256", "thermometer:K"),
    ] {
        let e = text.parse::<Binarization>().unwrap_err();
        assert_eq!(e.what, "binarisation");
        assert!(e.to_string().contains(says), "{text}: {e}");
    }
}

#[test]
fn missing_and_corrupt_files_give_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    match Dataset::from_dir(tmp.path(), Binarization::default()) {
        Err(DataError::MissingFiles { missing, .. }) => assert_eq!(missing.len(), 4),
        other => panic!("expected MissingFiles, got {other:?}"),
    }
    write_idx_folder(tmp.path(), true);
    let files = find_files(tmp.path()).unwrap();
    // Truncate the test labels.
    let bytes = std::fs::read(&files[3]).unwrap();
    std::fs::write(&files[3], &bytes[..bytes.len() / 2]).unwrap();
    let err = Dataset::from_dir(tmp.path(), Binarization::default()).unwrap_err();
    assert!(matches!(err, DataError::File { .. }), "{err}");
    // Labels that disagree with the image count.
    Idx {
        dims: vec![3],
        data: vec![1, 2, 3],
    }
    .save(&files[3])
    .unwrap();
    let err = Dataset::from_dir(tmp.path(), Binarization::default()).unwrap_err();
    assert!(matches!(err, DataError::Shape { .. }), "{err}");
    assert!(err.to_string().contains("10000 images but 3 labels"));
}

#[test]
fn an_idx_name_that_is_not_a_regular_file_is_reported_as_such_not_as_missing() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_folder(tmp.path(), false);
    let images = tmp.path().join(FILE_STEMS[0]);
    // A FIFO would block a read forever; a folder cannot be read as a file.
    std::fs::remove_file(&images).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&images)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = Dataset::from_dir(tmp.path(), Binarization::default()).unwrap_err();
    std::fs::remove_file(&images).unwrap();
    std::fs::create_dir(&images).unwrap();
    let folder = Dataset::from_dir(tmp.path(), Binarization::default()).unwrap_err();
    for (err, what) in [(fifo, "a FIFO, socket or device"), (folder, "a folder")] {
        assert!(
            matches!(&err, DataError::File { path, .. } if *path == images),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("not a regular file ({what})")),
            "{err}"
        );
    }
    // A regular file beside it is taken first: the gzip name is preferred only when it is
    // one.
    let gz = tmp.path().join(format!("{}.gz", FILE_STEMS[1]));
    std::fs::create_dir(&gz).unwrap();
    assert_eq!(
        find_files(tmp.path()).unwrap()[1],
        tmp.path().join(FILE_STEMS[1])
    );
}

#[cfg(not(feature = "download"))]
#[test]
fn without_download_feature_an_empty_cache_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Dataset::mnist_in(tmp.path(), Binarization::default()).unwrap_err();
    assert!(matches!(err, DataError::NotCached(_)));
    assert!(err.to_string().contains("embedded"));
}

#[test]
fn a_task_is_checked_against_the_data() {
    let full = Dataset::embedded();
    let err = full.for_task(&"3,42".parse().unwrap()).unwrap_err();
    assert_eq!(
        err,
        TaskError::NotInDataset {
            class: 42,
            dataset: full.name.clone(),
            classes: 10
        }
    );
    assert!(err.to_string().contains("classes 0 to 9"), "{err}");
    // A class the data set names but has no training example of.
    let mut without_7 = full.clone();
    let keep: Vec<usize> = (0..full.train.len())
        .filter(|&i| full.train.labels()[i] != 7)
        .collect();
    without_7.train = full.train.select(&keep);
    assert!(matches!(
        without_7.for_task(&"1,7".parse().unwrap()),
        Err(TaskError::NoExamples { class: 7, .. })
    ));
    assert_eq!(Task::new(vec![3]), Err(TaskError::TooFewClasses));
    assert_eq!(Task::new(vec![3, 3]), Err(TaskError::Duplicate(3)));
}
