//! What the command line's tests share: running the real binary (plainly, or under a memory
//! and a time bound), reading its output, its JSON objects and its one-line errors, and the
//! small model file many tests start from.
//!
//! Each test file is its own crate and uses only some of these, hence `dead_code` allowed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Address space a command may use under [`command`] (the binary with its thread pools needs
/// a few hundred MB of it; the requests refused by the tests would need tens of GB to TB).
pub const ULIMIT_KB: u64 = 2_000_000;

/// The process is killed, and the test fails, after this long.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// The cache folder the tests give full MNIST: one that does not exist, so that no test
/// downloads anything or reads a user's cache.
pub const NO_CACHE: &str = "/nonexistent/bitsmnist-test-cache";

/// The runs folder every command of the tests records into (`BITSMNIST_RUNS_DIR`): inside
/// the build folder, never the user's own.
pub const RUNS: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/runs");

/// The binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bitsmnist")
}

/// Runs the binary with `args` as a user does, in the current folder, to its end.
pub fn bitsmnist(args: &[&str]) -> Output {
    bitsmnist_in(Path::new("."), args)
}

/// [`bitsmnist`] in the folder `dir`.
pub fn bitsmnist_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("BITSMNIST_DATA_DIR", NO_CACHE)
        .env("BITSMNIST_RUNS_DIR", RUNS)
        .output()
        .expect("runs")
}

/// The binary with `args` in `dir`, under `ulimit -v ULIMIT_KB`, with the environment `env`
/// (and without an inherited `BITSMNIST_KERNEL`). `sh -c 'ulimit ...; exec bitsmnist'` keeps
/// the binary's process id, so that a signal sent to the child reaches it.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {ULIMIT_KB} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env("BITSMNIST_DATA_DIR", NO_CACHE)
        .env("BITSMNIST_RUNS_DIR", RUNS)
        .env_remove("BITSMNIST_KERNEL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child`, killing it and failing after [`DEADLINE`].
pub fn finish(mut child: Child, what: &str) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waits").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "`bitsmnist {what}` still running after {DEADLINE:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary with `args` in `dir` to its end, bounded as [`command`] says.
pub fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let child = command(dir, args, env).spawn().expect("runs");
    finish(child, &args.join(" "))
}

/// [`run_env`] with the tests' environment alone.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    run_env(dir, args, &[])
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that the command succeeded, showing its stderr when not.
pub fn succeeded(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: status {:?}, stderr {}",
        out.status.code(),
        stderr(out)
    );
}

/// Asserts exit status `code` and a single `error:` line on stderr containing `needle`; for a
/// value that clap's parser refuses (status 2), followed by clap's pointer to `--help` and
/// nothing else. No panic and no debug formatting of an error.
pub fn assert_error(out: &Output, code: i32, needle: &str, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: stderr {err}");
    let mut lines: Vec<&str> = err.lines().collect();
    if code == 2 && lines.len() == 3 {
        assert_eq!(
            lines[1..],
            ["", "For more information, try '--help'."],
            "{what}: one line and clap's hint, got {err}"
        );
        lines.truncate(1);
    }
    assert_eq!(lines.len(), 1, "{what}: one line, got {err}");
    assert!(lines[0].starts_with("error: "), "{what}: {err}");
    assert!(lines[0].contains(needle), "{what}: `{needle}` not in {err}");
    for debug in ["panicked", "OtherString(", "Custom {", "kind: ", "Os {"] {
        assert!(!err.contains(debug), "{what}: debug text in {err}");
    }
}

/// A small zero-one model file with its training state, in `dir`.
pub fn model(dir: &Path, name: &str) -> PathBuf {
    let out = run_in(
        dir,
        &["train", "--generations", "2", "--quiet", "--out", name],
    );
    succeeded(&out, "train");
    dir.join(name)
}

/// Sends the signal `name` (`INT`, `TERM`, ...) to `child`.
pub fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// Every line of a `--json` command's stdout, each of which must be one JSON object with a
/// `"type"`: nothing else may be there.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            assert!(
                value.is_object() && value["type"].is_string(),
                "not an object with a type: {line}"
            );
            value
        })
        .collect()
}

/// The one object of type `kind` among a `--json` command's stdout lines.
pub fn json_object(out: &Output, kind: &str) -> serde_json::Value {
    let mut found: Vec<serde_json::Value> = json_lines(out)
        .into_iter()
        .filter(|v| v["type"] == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one `{kind}` object expected in: {}",
        stdout(out)
    );
    found.remove(0)
}

/// The `report` object of `train --json` or `eval --json` (see docs/command-line.md).
pub fn report(out: &Output) -> serde_json::Value {
    json_object(out, "report")
}

/// Whether any stdout line parses as a JSON object: text for people never has one.
pub fn any_json_object(out: &Output) -> bool {
    stdout(out)
        .lines()
        .any(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object()))
}
