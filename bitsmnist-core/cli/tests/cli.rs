//! The command line as a user runs it.

use std::process::Command;

fn bitsmnist(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bitsmnist"))
        .args(args)
        .env("BITSMNIST_DATA_DIR", "/nonexistent/bitsmnist-test-cache")
        .output()
        .expect("runs")
}

fn last_json(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("output")).expect("last line is JSON")
}

#[test]
fn data_prints_counts_threshold_and_ones_fraction() {
    let out = bitsmnist(&["data"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("train: 10000 images"), "{text}");
    let j = last_json(&out);
    assert_eq!(j["test"]["images"], 10_000);
    assert_eq!(j["train"]["per_class"][1], 1127);
    let t = j["train"]["threshold"].as_f64().unwrap();
    assert!(t > 100.0 && t < 200.0);
    let f = j["test"]["ones_fraction"].as_f64().unwrap();
    assert!(f > 0.05 && f < 0.25);
}

#[test]
fn bench_prints_the_json_fields() {
    let out = bitsmnist(&["bench", "--images", "300", "--seconds", "0.01"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = last_json(&out);
    for key in [
        "bit_gmacs",
        "f32_gflops",
        "speedup_vs_f32",
        "bytes_bit",
        "bytes_f32",
        "cpu_features",
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
    for heavy in ["clap", "indicatif", "ureq", "serde_json", "anyhow"] {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{heavy} "))),
            "{heavy} in bitsmnist-core's tree"
        );
    }
}

#[test]
fn train_gradient_prints_epochs_and_json() {
    let out = bitsmnist(&[
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
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("epoch 1/2  loss "), "{text}");
    assert!(text.contains("BitDense(784, 64, thresholds)"), "{text}");
    let j = last_json(&out);
    assert_eq!(j["method"], "gradient");
    assert_eq!(j["epochs"], 2);
    assert!(j["test_accuracy"].as_f64().unwrap() > 0.7, "{j}");
}

#[test]
fn train_rejects_bad_gradient_parameters_in_one_line() {
    let out = bitsmnist(&["train", "--hidden", "0", "--epochs", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("hidden"), "{err}");
}
