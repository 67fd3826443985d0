//! The command line as a user runs it.

mod common;

use std::process::Command;

use common::*;

/// Runs the binary with `args` and `--json`, for the tests that read its objects.
fn bitsmnist_json(args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.push("--json");
    bitsmnist(&all)
}

/// Writes `main` as `dir/main.c`, compiles it with the exported `source` (C99, every
/// warning an error) and runs the program, which must succeed.
fn compile_and_run_c(dir: &std::path::Path, main: &str, source: &str) {
    std::fs::write(dir.join("main.c"), main).unwrap();
    let cc = Command::new("cc")
        .args([
            "-std=c99", "-Wall", "-Werror", "-o", "prog", "main.c", source,
        ])
        .current_dir(dir)
        .output()
        .expect("a C compiler `cc`");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    assert!(Command::new(dir.join("prog")).status().unwrap().success());
}

#[test]
fn data_prints_counts_threshold_and_ones_fraction() {
    let out = bitsmnist(&["data"]);
    succeeded(&out, "data");
    let text = stdout(&out);
    assert!(text.contains("train: 10000 images"), "{text}");
    // The embedded set's name says where it is from, once.
    assert!(text.starts_with("MNIST (embedded): 28x28"), "{text}");
    assert!(!any_json_object(&out), "JSON without --json: {text}");
    let out = bitsmnist(&["data", "--json"]);
    succeeded(&out, "data --json");
    let j = json_object(&out, "dataset");
    assert_eq!(json_lines(&out).len(), 1);
    assert_eq!(j["name"], "MNIST (embedded)");
    assert_eq!(j["source"], "embedded");
    assert_eq!(j["binarization"], "mean");
    assert_eq!(j["test"]["images"], 10_000);
    assert_eq!(j["train"]["per_class"][1], 1127);
    let t = j["train"]["threshold"].as_f64().unwrap();
    assert!(t > 100.0 && t < 200.0);
    let f = j["test"]["ones_fraction"].as_f64().unwrap();
    assert!(f > 0.05 && f < 0.25);
}

#[test]
fn bench_prints_the_json_fields() {
    let out = bitsmnist_json(&["bench", "--images", "300", "--seconds", "0.01"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_object(&out, "bench");
    for key in [
        "bit_gmacs",
        "f32_gflops",
        "speedup_vs_f32",
        "bytes_bit",
        "bytes_f32",
        "cpu_features",
        "single_flip_evals_per_sec",
        "single_flip_speedup",
        "delta_state_bytes",
        "k_flip_speedups",
        "population_reuse_speedup",
    ] {
        assert!(!j[key].is_null(), "missing {key}: {j}");
    }
    assert!(j["bit_gmacs"].as_f64().unwrap() > 0.0);
    // 784 x 800 weights + 800 biases: packed bits against f32.
    assert_eq!(j["bytes_f32"], (784 * 800 + 800) * 4);
    assert_eq!(j["bytes_bit"], (800 * 13 + 13) * 8);
}

#[test]
fn bad_dataset_folder_is_a_one_line_error() {
    let out = bitsmnist(&["data", "--dataset", "/nonexistent/folder"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn library_does_not_compile_the_command_line_dependencies() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "bitsmnist-core",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .expect("cargo tree");
    assert!(out.status.success());
    let tree = String::from_utf8_lossy(&out.stdout);
    // bincode_derive (bincode's own derive macros, unused: the model format goes through
    // serde) would be one more proc-macro crate in every notebook's first build.
    for heavy in [
        "clap",
        "indicatif",
        "ureq",
        "serde_json",
        "anyhow",
        "bincode_derive",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{heavy} "))),
            "{heavy} in bitsmnist-core's tree"
        );
    }
}

#[test]
fn train_gradient_prints_epochs_and_json() {
    let out = bitsmnist_json(&[
        "train",
        "--method",
        "gradient",
        "--hidden",
        "64",
        "--epochs",
        "2",
        "--test-every-epoch",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Progress is on stderr, stdout holds the report alone.
    let err = stderr(&out);
    assert!(err.contains("epoch 1/2  loss "), "{err}");
    let j = report(&out);
    assert_eq!(json_lines(&out).len(), 1, "{}", stdout(&out));
    assert!(
        j["model"]
            .as_str()
            .unwrap()
            .contains("BitDense(784, 64, thresholds)"),
        "{j}"
    );
    assert_eq!(j["method"], "gradient");
    assert_eq!(j["step"], 2);
    assert!(j["test"]["accuracy"].as_f64().unwrap() > 0.7, "{j}");
}

#[test]
fn train_rejects_bad_gradient_parameters_in_one_line() {
    let out = bitsmnist(&[
        "train", "--method", "gradient", "--hidden", "0", "--epochs", "1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("hidden"), "{err}");
}

#[test]
fn genetic_train_saves_resumes_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.bin");
    let o = out.to_str().unwrap();
    let run = bitsmnist_json(&[
        "train",
        "--task",
        "zero-one",
        "--generations",
        "5",
        "--population",
        "12",
        "--elitism",
        "3",
        "--mutation",
        "flip-k:8",
        "--batch",
        "200",
        "--quiet",
        "--seed",
        "4",
        "--out",
        o,
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let j = report(&run);
    assert_eq!(j["step"], 5);
    for key in ["seconds", "steps_per_sec", "parameters"] {
        assert!(j[key].is_number(), "{key}: {j}");
    }
    for key in ["accuracy", "error", "correct", "total"] {
        assert!(
            j["test"][key].is_number() && j["train"][key].is_number(),
            "{key}: {j}"
        );
    }
    let first_error = j["test"]["error"].as_f64().unwrap();
    let eval = bitsmnist_json(&["eval", o]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let e = report(&eval);
    assert_eq!(e["test"]["error"].as_f64().unwrap(), first_error);
    assert_eq!(e["test"]["total"], 2115);
    let confusion = json_object(&eval, "confusion");
    assert_eq!(confusion["classes"], serde_json::json!(["0", "1"]));
    let counted: u64 = confusion["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 2115);
    let text = stdout(&bitsmnist(&["eval", o]));
    assert!(text.contains("confusion matrix"), "{text}");
    // Resume the saved state for 3 more generations.
    let more = bitsmnist_json(&[
        "train",
        "--resume",
        o,
        "--generations",
        "3",
        "--quiet",
        "--out",
        o,
    ]);
    assert!(
        more.status.success(),
        "{}",
        String::from_utf8_lossy(&more.stderr)
    );
    assert_eq!(report(&more)["step"], 8);
}

#[test]
fn bad_model_files_and_options_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a model").unwrap();
    for args in [
        vec!["eval", junk.to_str().unwrap()],
        vec!["eval", "/nonexistent/model.bin"],
        vec!["train", "--mutation", "flip-k:x", "--generations", "1"],
        vec![
            "train",
            "--population",
            "5",
            "--elitism",
            "9",
            "--generations",
            "1",
        ],
        vec!["train", "--task", "3,3"],
    ] {
        let out = bitsmnist(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // A value clap's parser refuses keeps clap's pointer to `--help` after the line.
        let err = err
            .trim()
            .strip_suffix("\n\nFor more information, try '--help'.")
            .unwrap_or(err.trim());
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}

#[test]
fn digits_climb_by_default_as_a_merged_ensemble_and_a_single_climb_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pair.bin");
    let small = [
        "train", "--task", "digits", "--hidden", "24", "--trials", "5000", "--batch", "400",
        "--quiet",
    ];
    let args: Vec<&str> = small
        .iter()
        .copied()
        .chain(["--generations", "4", "--out", f.to_str().unwrap()])
        .collect();
    let out = bitsmnist_json(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = report(&out);
    assert_eq!(j["method"], "climb");
    // The recipe's eight networks (without convolutions, nothing of their own to imprint).
    assert_eq!(j["members"], 8);
    assert_eq!(j["stats"]["flips"], 8 * 4 * 5000);
    assert!(j["stats"]["flips_per_sec"].as_f64().unwrap() > 0.0);
    assert!(j["test"]["accuracy"].as_f64().unwrap() > 0.3, "{j}");
    // The eight networks are one model: 8 x (24 + 1) hidden neurons.
    let e = bitsmnist_json(&["eval", f.to_str().unwrap()]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    assert_eq!(report(&e)["test"]["accuracy"], j["test"]["accuracy"]);
    assert!(
        report(&e)["model"]
            .as_str()
            .unwrap()
            .contains("BitDense(784, 200")
    );
    // The default ten-digit run (eight networks) resumes: every member goes on.
    let out = bitsmnist_json(&[
        "train",
        "--resume",
        f.to_str().unwrap(),
        "--generations",
        "1",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = report(&out);
    assert_eq!(
        (j["step"].as_u64(), j["members"].as_u64()),
        (Some(5), Some(8))
    );
    assert_eq!(j["stats"]["flips"], 8 * 5000);
    // A resumed run keeps its task and settings: other ones are refused, not ignored.
    for bad in [
        vec!["--task", "zero-one"],
        vec!["--trials", "100"],
        vec!["--method", "population"],
        vec!["--method", "gradient"],
    ] {
        let mut args = vec![
            "train",
            "--resume",
            f.to_str().unwrap(),
            "--generations",
            "1",
        ];
        args.extend(bad.iter().copied());
        let out = bitsmnist(&args);
        assert!(!out.status.success(), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{bad:?}: {err}");
    }
    // A single climb saves its state and continues it.
    let one = dir.path().join("one.bin");
    let args: Vec<&str> = small
        .iter()
        .copied()
        .chain([
            "--ensemble",
            "1",
            "--generations",
            "2",
            "--out",
            one.to_str().unwrap(),
        ])
        .collect();
    assert!(bitsmnist(&args).status.success());
    let out = bitsmnist_json(&[
        "train",
        "--task",
        "digits",
        "--resume",
        one.to_str().unwrap(),
        "--generations",
        "2",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = report(&out);
    assert_eq!(j["step"], 4);
    assert_eq!(j["stats"]["flips"], 2 * 5000);
    // Bad climb options are one-line errors.
    for bad in [
        vec!["train", "--task", "digits", "--ensemble", "0"],
        vec!["train", "--task", "digits", "--output-share", "2"],
        vec![
            "train", "--task", "digits", "--hidden", "8,8", "--method", "climb",
        ],
        vec!["train", "--task", "digits", "--output", "bits"],
    ] {
        let out = bitsmnist(&bad);
        assert!(!out.status.success(), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{bad:?}: {err}");
    }
}

#[test]
fn a_gradient_run_saves_its_state_and_resumes_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, part) = (dir.path().join("whole.bin"), dir.path().join("part.bin"));
    let common = [
        "train",
        "--method",
        "gradient",
        "--task",
        "digits",
        "--sample",
        "0.2",
        "--hidden",
        "32",
        "--epochs",
        "3",
        "--progress",
        "0",
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = common.to_vec();
        args.extend(extra);
        let out = bitsmnist_json(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        report(&out)
    };
    let j = run(&["--out", whole.to_str().unwrap()]);
    assert_eq!(j["step"], 3);
    run(&["--generations", "1", "--out", part.to_str().unwrap()]);
    let out = bitsmnist_json(&[
        "train",
        "--resume",
        part.to_str().unwrap(),
        "--sample",
        "0.2",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = report(&out);
    assert_eq!(resumed["step"], 3);
    assert_eq!(resumed["test"]["accuracy"], j["test"]["accuracy"]);
}

#[test]
fn a_gradient_model_is_fine_tuned_by_either_search_with_init() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("gradient.bin");
    let out = bitsmnist_json(&[
        "train",
        "--method",
        "gradient",
        "--task",
        "digits",
        "--hidden",
        "32",
        "--epochs",
        "1",
        "--out",
        g.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = report(&out)["test"]["accuracy"].as_f64().unwrap();
    for (strategy, options) in [
        ("climb", ["--trials", "500"]),
        ("population", ["--population", "6"]),
    ] {
        let mut args = vec![
            "train",
            "--task",
            "digits",
            "--method",
            strategy,
            "--init",
            g.to_str().unwrap(),
            "--generations",
            "2",
            "--batch",
            "300",
            "--quiet",
        ];
        args.extend(options);
        if strategy == "population" {
            args.extend(["--elitism", "2"]);
        }
        let out = bitsmnist_json(&args);
        assert!(
            out.status.success(),
            "{strategy}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = report(&out)["test"]["accuracy"].as_f64().unwrap();
        // A few generations from the trained model, not from random bits.
        assert!(
            (after - before).abs() < 0.05,
            "{strategy}: {before} -> {after}"
        );
    }
    let out = bitsmnist(&["train", "--task", "digits", "--init", "/nonexistent.bin"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
}

#[test]
fn the_seed_gives_the_library_starting_network() {
    use bitsmnist_core::layers::{Activation, BitOutput, Chain};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("start.bin");
    let out = bitsmnist(&[
        "train",
        "--task",
        "digits",
        "--method",
        "climb",
        "--ensemble",
        "1",
        "--hidden",
        "24",
        "--output",
        "float",
        "--generations",
        "0",
        "--seed",
        "5",
        "--quiet",
        "--out",
        f.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = bitsmnist_core::io::ModelFile::load(&f).unwrap();
    let want = Chain::mlp(784, &[24], 10, BitOutput::Float(Activation::Identity), 5).unwrap();
    assert_eq!(file.model, want);
    let Some(bitsmnist_core::training::TrainingState::Climb(climber)) = &file.state else {
        panic!("climb state")
    };
    assert_eq!(climber.chain(), &want);
}

#[test]
fn classes_the_data_lack_are_one_line_errors() {
    use bitsmnist_core::layers::{BitOutput, Chain};
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.bin");
    bitsmnist_core::io::ModelFile::new(Chain::mlp(784, &[8], 2, BitOutput::Bits, 1).unwrap())
        .save(&m)
        .unwrap();
    for args in [
        vec!["train", "--task", "3,42", "--generations", "1"],
        vec!["eval", m.to_str().unwrap(), "--task", "11,12"],
    ] {
        let out = bitsmnist(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("is not in"), "{args:?}: {err}");
    }
}

#[test]
fn bench_refuses_durations_that_are_not_a_number_of_seconds() {
    for seconds in ["NaN", "inf", "-1", "0", "1e300"] {
        let out = bitsmnist(&["bench", &format!("--seconds={seconds}")]);
        assert!(!out.status.success(), "{seconds}");
        assert_ne!(out.status.code(), Some(101), "{seconds}: a panic");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{seconds}: {err}");
        assert!(err.contains("--seconds"), "{seconds}: {err}");
    }
}

#[test]
fn export_writes_c_that_compiles_and_refuses_grey_input_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let bits = format!("{d}/zero-one.bin");
    let grey = format!("{d}/grey.bin");
    let out = bitsmnist(&["train", "--generations", "3", "--quiet", "--out", &bits]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bitsmnist_json(&["export", &bits, "--out", &format!("{d}/c")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_object(&out, "export");
    assert_eq!(j["name"], "zero_one");
    let main = "#include \"zero_one.h\"\nint main(void) { uint8_t g[ZERO_ONE_INPUTS] = {0}; \
                return zero_one_predict_grey(g, 0) < 0; }\n";
    compile_and_run_c(&dir.path().join("c"), main, "zero_one.c");
    // A float first layer is not a bit network: refused, in one line.
    let out = bitsmnist(&[
        "train", "--method", "gradient", "--input", "grey", "--hidden", "16", "--epochs", "1",
        "--quiet", "--out", &grey,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bitsmnist(&["export", &grey, "--out", &format!("{d}/g")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("float layer") && err.lines().count() == 1,
        "{err}"
    );
    // JSON, and a format that does not exist.
    let out = bitsmnist(&[
        "export",
        &bits,
        "--format",
        "json",
        "--out",
        &format!("{d}/j"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("j/zero_one.json")).unwrap())
            .unwrap();
    assert_eq!(json["class_labels"], serde_json::json!([0, 1]));
    assert_eq!(json["layers"][0]["inputs"], 784);
    let out = bitsmnist(&["export", &bits, "--format", "xml", "--out", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use c, rust, json"));
}

/// A folder of IDX files holding the first `n` embedded training digits and test digits, each
/// grey level halved: real digits whose binarisation threshold (the mean of the non-zero grey
/// levels) is not the embedded set's.
fn dimmed_digits(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let data = bitsmnist_core::datasets::Dataset::embedded();
    let folder = dir.join("dimmed");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, split) in [("train", &data.train), ("t10k", &data.test)] {
        let mut images = vec![0, 0, 8, 3];
        for d in [n as u32, 28, 28] {
            images.extend_from_slice(&d.to_be_bytes());
        }
        for i in 0..n {
            images.extend(split.grey(i).unwrap().iter().map(|p| p / 2));
        }
        let mut labels = vec![0, 0, 8, 1];
        labels.extend_from_slice(&(n as u32).to_be_bytes());
        labels.extend_from_slice(&split.labels()[..n]);
        std::fs::write(folder.join(format!("{name}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(folder.join(format!("{name}-labels-idx1-ubyte")), labels).unwrap();
    }
    folder
}

#[test]
fn export_takes_the_threshold_of_the_models_training_data_and_writes_the_rust_module() {
    use bitsmnist_core::datasets::{Binarization, Dataset};
    use bitsmnist_core::export::{self, GreyRule};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let folder = dimmed_digits(dir.path(), 3000);
    let model = format!("{d}/dim.bin");
    let out = bitsmnist(&[
        "train",
        "--dataset",
        folder.to_str().unwrap(),
        "--generations",
        "2",
        "--quiet",
        "--out",
        &model,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dimmed = Dataset::from_dir(&folder, Binarization::MeanOfNonZero).unwrap();
    let rule = GreyRule::for_binarization(Binarization::MeanOfNonZero, &dimmed.train);
    let embedded =
        GreyRule::for_binarization(Binarization::MeanOfNonZero, &Dataset::embedded().train);
    assert_ne!(rule, embedded);
    let grey_rule = |out: &std::process::Output| {
        let j = json_object(out, "export");
        GreyRule {
            num: j["grey_rule"]["num"].as_u64().unwrap(),
            den: j["grey_rule"]["den"].as_u64().unwrap(),
            levels: j["grey_rule"]["levels"].as_u64().unwrap() as u8,
        }
    };

    // Without --dataset: the training data the model file records, quietly.
    let out = bitsmnist_json(&[
        "export",
        &model,
        "--format",
        "rust",
        "--out",
        &format!("{d}/r"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(grey_rule(&out), rule);
    // The file is the library's module for that rule, and builds as a no_std library.
    let written = std::fs::read_to_string(dir.path().join("r/dim.rs")).unwrap();
    let file = bitsmnist_core::io::ModelFile::load(std::path::Path::new(&model)).unwrap();
    assert_eq!(written, export::to_rust(&file.model, rule).unwrap());
    std::fs::write(
        dir.path().join("r/lib.rs"),
        "#![no_std]\nmod dim;\npub use dim::predict_grey;\n",
    )
    .unwrap();
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args([
            "--edition",
            "2021",
            "-D",
            "warnings",
            "--crate-type",
            "rlib",
            "lib.rs",
        ])
        .current_dir(dir.path().join("r"))
        .output()
        .expect("rustc");
    assert!(
        rustc.status.success(),
        "{}",
        String::from_utf8_lossy(&rustc.stderr)
    );

    // Another data set: its threshold, with a warning that it is not the model's.
    let out = bitsmnist_json(&[
        "export",
        &model,
        "--dataset",
        "embedded",
        "--out",
        &format!("{d}/e"),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("warning: ") && err.contains("was trained on") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(grey_rule(&out), embedded);

    // A model of a fixed threshold has no use for a data set.
    let fixed = format!("{d}/fixed.bin");
    let out = bitsmnist(&[
        "train",
        "--binarize",
        "128",
        "--generations",
        "1",
        "--quiet",
        "--out",
        &fixed,
    ]);
    assert!(out.status.success());
    let out = bitsmnist_json(&["export", &fixed, "--out", &format!("{d}/f")]);
    assert!(out.status.success());
    assert_eq!(grey_rule(&out), GreyRule::above(128));
    let out = bitsmnist(&[
        "export",
        &fixed,
        "--dataset",
        "embedded",
        "--out",
        &format!("{d}/f"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--dataset") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn eval_writes_each_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    let csv = dir.path().join("p.csv");
    let m = model.to_str().unwrap();
    let out = bitsmnist(&["train", "--generations", "2", "--quiet", "--out", m]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bitsmnist(&["eval", m, "--predictions", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("index,label,predicted"));
    let rows: Vec<Vec<u32>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    // The zero-one task's test digits: 980 zeros and 1,135 ones.
    assert_eq!(rows.len(), 2115);
    assert!(
        rows.iter()
            .enumerate()
            .all(|(i, r)| r[0] == i as u32 && r[1] <= 1 && r[2] <= 1)
    );
    let right = rows.iter().filter(|r| r[1] == r[2]).count();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    let accuracy = format!("accuracy {:.4}%", right as f64 / 2115.0 * 100.0);
    assert!(report.contains(&accuracy), "{accuracy} not in {report}");
}

#[test]
fn model_only_saves_a_finished_model_without_its_state_and_records_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("z.bin");
    let out_arg = out.to_str().unwrap();
    let args = [
        "train",
        "--task",
        "zero-one",
        "--generations",
        "20",
        "--out",
        out_arg,
        "--model-only",
        "--quiet",
    ];
    let run = bitsmnist(&args);
    assert!(run.status.success(), "{run:?}");
    let file = bitsmnist_core::io::ModelFile::load(&out).unwrap();
    assert!(file.state.is_none());
    // The history stays: generation 0 and each of the 20.
    assert_eq!(file.history.as_ref().map(|h| h.records.len()), Some(21));
    assert_eq!(
        file.meta.extra.get("command").map(String::as_str),
        Some(format!("bitsmnist {}", args.join(" ")).as_str())
    );
    // Such a file evaluates, but does not resume.
    assert!(bitsmnist(&["eval", out_arg]).status.success());
    let resume = bitsmnist(&["train", "--task", "zero-one", "--resume", out_arg]);
    assert_eq!(resume.status.code(), Some(2));
    let err = String::from_utf8_lossy(&resume.stderr);
    assert!(err.contains("no training state"), "{err}");
    // Nothing to save it into, or checkpoints that would keep the state: refused.
    for extra in [
        &["--model-only"][..],
        &["--model-only", "--out", out_arg, "--checkpoint-every", "5"],
    ] {
        let mut a = vec!["train", "--task", "zero-one", "--generations", "5"];
        a.extend_from_slice(extra);
        assert_eq!(bitsmnist(&a).status.code(), Some(2), "{a:?}");
    }
}

/// `--binarize thermometer:K` trains on grey levels kept as K bits a pixel: the file records
/// it, `eval` reads the data by it, `export` writes a `binarize` of K bits a pixel that
/// compiles, and a code of levels outside 2 to 8 is refused as a usage error in one line.
#[test]
fn a_thermometer_code_trains_evaluates_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let model = format!("{d}/thermo.bin");
    let out = bitsmnist(&[
        "train",
        "--method",
        "gradient",
        "--task",
        "digits",
        "--binarize",
        "thermometer:2",
        "--arch",
        "conv4x3,pool2,16",
        "--epochs",
        "1",
        "--sample",
        "0.05",
        "--quiet",
        "--no-record",
        "--out",
        &model,
    ]);
    succeeded(&out, "train");
    let file = bitsmnist_core::io::ModelFile::load(std::path::Path::new(&model)).unwrap();
    assert_eq!(
        file.meta.binarization,
        Some(bitsmnist_core::datasets::Binarization::Thermometer { levels: 2 })
    );
    assert_eq!(file.model.inputs(), 2 * 784);

    let out = bitsmnist_json(&["eval", &model]);
    succeeded(&out, "eval");
    // Above chance (10%) after one epoch on 500 digits.
    let accuracy = report(&out)["test"]["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.15, "accuracy {accuracy}");

    let out = bitsmnist_json(&["export", &model, "--out", &format!("{d}/c")]);
    succeeded(&out, "export");
    let j = json_object(&out, "export");
    assert_eq!(j["grey_rule"]["levels"], 2);
    assert_eq!(j["grey_rule"]["thresholds"], serde_json::json!([85, 170]));
    let main = "#include \"thermo.h\"\n\
                int main(void) { uint8_t g[THERMO_PIXELS] = {0}; \
                return THERMO_PIXELS * THERMO_LEVELS != THERMO_INPUTS \
                || thermo_predict_grey(g, 0) < 0; }\n";
    compile_and_run_c(&dir.path().join("c"), main, "thermo.c");

    for bad in ["thermometer:9", "thermometer:x", "thermo"] {
        let out = bitsmnist(&["data", "--binarize", bad]);
        assert_error(&out, 2, "binarisation", bad);
    }
}
