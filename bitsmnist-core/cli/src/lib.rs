//! `bitsmnist`: the command line of bitsmnist-core.
//!
//! A thin layer: it parses options, calls the library and prints. Standard output has one of
//! two forms, never both: text for people (the default), or with the global `--json` switch
//! JSON objects only, one per line, each with a `"type"` naming what it is (as cargo's
//! `--message-format json` and ripgrep's `--json` do). Progress, notes, warnings and errors
//! go to stderr in both. `completions`, `man` and `eval --history --format csv` print what
//! another program reads as it is. The binary is [`run`]; [`check_train`] is the option
//! checking alone, for the fuzzer.

/// `println!` of text for people: ends the program quietly when stdout is closed
/// (`bitsmnist data | head`) instead of panicking, and prints nothing under `--json`, whose
/// stdout holds JSON objects only ([`emit`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::print_text(format_args!($($arg)*))
    };
}

mod bench;
mod completions;
mod data;
pub mod errors;
mod eval;
mod export;
mod man;
mod merge;
mod openblas;
mod runs;
mod sweep;
mod train;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Bit neural networks on handwritten digits.
#[derive(Parser)]
#[command(name = "bitsmnist", version, about)]
struct Cli {
    /// Print JSON objects on stdout, one per line and nothing else, instead of the text for
    /// people; each has a "type" (docs/command-line.md lists them). Progress, notes and
    /// errors stay on stderr.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// What `bitsmnist --help` ends with: the exit statuses and the environment variables, as the
/// manual pages give them.
fn after_help() -> String {
    let mut text = String::from("Exit status:\n");
    for (code, what) in man::EXIT_STATUS {
        text.push_str(&format!("  {code:<14} {what}\n"));
    }
    text.push_str("\nEnvironment:\n");
    for (name, what) in man::ENVIRONMENT {
        text.push_str(&format!("  {name}\n      {what}\n"));
    }
    text
}

/// The examples `bitsmnist train --help` ends with (and the man page's EXAMPLES).
pub const TRAIN_EXAMPLES: &str = "\
Examples:
  bitsmnist train --task zero-one --out zero-one.bin
      zeros against ones with the measured defaults (5,000 generations, about 3 s)
  bitsmnist train --task digits --arch conv32x5,pool4,800 --generations 400 --out conv.bin
      ten digits: climbing after imprinted bit convolutions, no gradients
  bitsmnist train --method gradient --task digits --hidden 2048,2048 --out digits.bin
      ten digits by gradient descent (straight-through estimator)
  bitsmnist train --method gradient --task digits --binarize thermometer:4 --arch conv16x3,pool2,conv32x3,pool2,256
      grey levels kept as 4 bits a pixel (a thermometer code), read as 4 input channels
  bitsmnist train --resume conv.bin --out conv.bin --generations 100
      go on with a saved run, with its own task, data and seed
  bitsmnist train --task digits --member 0 --of 8 --out m0.bin
      one member of an 8-network ensemble, to `bitsmnist merge` with the others";

/// The examples `bitsmnist data --help` ends with (and its man page's EXAMPLES).
pub const DATA_EXAMPLES: &str = "\
Examples:
  bitsmnist data
      the embedded digits: images per split and class, threshold, fraction of 1-bits
  bitsmnist data --binarize 128
      the same digits binarised at grey level 128 instead of the mean
  bitsmnist data --binarize thermometer:4
      4 bits a pixel (grey levels above 51, 102, 153, 204), 3,136 bits an image
  bitsmnist data --dataset mnist
      full MNIST, downloaded once into the cache folder
  bitsmnist data --json | jq '.train.per_class'
      the figures as one JSON object, for other tools";

/// The examples `bitsmnist bench --help` ends with (and its man page's EXAMPLES).
pub const BENCH_EXAMPLES: &str = "\
Examples:
  bitsmnist bench
      every measurement, 0.4 s each (a few seconds in all)
  bitsmnist bench --images 1000 --seconds 0.1
      a quicker, rougher run
  bitsmnist bench --json | jq '.speedup_vs_f32'
      the figures as one JSON object";

/// The examples `bitsmnist merge --help` ends with (and its man page's EXAMPLES).
pub const MERGE_EXAMPLES: &str = "\
Examples:
  for k in 0 1 2; do bitsmnist train --task digits --seed 7 --generations 20 --member $k --of 3 --out m$k.bin; done
      train the three members of an ensemble as separate runs (on one machine or many)
  bitsmnist merge m0.bin m1.bin m2.bin --out ensemble.bin
      the model `train --task digits --seed 7 --generations 20 --ensemble 3` trains, bit for bit
  bitsmnist merge m0.bin m1.bin --out partial.bin --allow-missing
      merge the members there are, when one is missing";

/// The examples `bitsmnist runs --help` ends with (and its man page's EXAMPLES).
pub const RUNS_EXAMPLES: &str = "\
Examples:
  bitsmnist train --task zero-one --label baseline --tag first
      a run, recorded in the runs folder as it goes (every train is, unless --no-record)
  bitsmnist runs
      the recorded runs: method, model, seed, steps, time, accuracy, size, status
  bitsmnist runs --tag first --status finished
      only some of them
  bitsmnist runs compare 20261204-225347-3fa1 20261204-231002-0b7c
      the settings in which two runs differ, beside their figures
  bitsmnist train --continue 20261204-225347-3fa1
      continue an interrupted run to the step it planned, in the same record
  bitsmnist runs --json | jq -r 'select(.status == \"finished\") | .id'
      the ids of the finished runs, for a script";

/// The examples `bitsmnist sweep --help` ends with (and its man page's EXAMPLES).
pub const SWEEP_EXAMPLES: &str = "\
Examples:
  bitsmnist sweep --grid hidden=64,256 --grid method=climb,gradient --seeds 1..5 --task digits --time-limit 60
      20 recorded runs one after another, then each setting's mean ± sd over its 5 seeds
  bitsmnist sweep --grid lr=0.002,0.005,0.01 --seeds 1..3 --jobs 2 --method gradient --task digits --epochs 5
      two points at a time, each on its share of the cores
  bitsmnist sweep --grid hidden=64,256 --seeds 1..5 --task digits --time-limit 60
      the same command again, after a kill or on another machine sharing --runs: only what is left runs";

/// The examples `bitsmnist eval --help` ends with (and its man page's EXAMPLES).
pub const EVAL_EXAMPLES: &str = "\
Examples:
  bitsmnist eval zero-one.bin
      error, accuracy, MCC and confusion matrix on the data the model was trained on
  bitsmnist eval zero-one.bin --history
      and a summary of its training history (--history=all: every record)
  bitsmnist eval zero-one.bin --history --format csv > history.csv
      the whole history as CSV, nothing else on stdout
  bitsmnist eval zero-one.bin --predictions predictions.csv
      also each test example's label and prediction
  bitsmnist eval zero-one.bin --json | jq 'select(.type == \"report\") | .test.accuracy'
      the report as JSON, read by another tool";

/// The examples `bitsmnist export --help` ends with (and its man page's EXAMPLES).
pub const EXPORT_EXAMPLES: &str = "\
Examples:
  bitsmnist export zero-one.bin --out model
      model/zero_one.h and model/zero_one.c, C99 with the weights as const arrays
  bitsmnist export zero-one.bin --format rust --name digit --out src
      src/digit.rs, one no_std module
  bitsmnist export zero-one.bin --format json --out model
      model/zero_one.json, for any other language";

/// The examples `bitsmnist completions --help` ends with (and its man page's EXAMPLES).
pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  bitsmnist completions bash > ~/.local/share/bash-completion/completions/bitsmnist
      complete commands and flags in bash (new shells)
  bitsmnist completions zsh > ~/.zfunc/_bitsmnist
      in zsh, with fpath+=(~/.zfunc) before compinit
  bitsmnist completions fish > ~/.config/fish/completions/bitsmnist.fish
      in fish";

/// The examples `bitsmnist man --help` ends with (and its man page's EXAMPLES).
pub const MAN_EXAMPLES: &str = "\
Examples:
  bitsmnist man | man -l -
      read the manual without installing it
  bitsmnist man --out ~/.local/share/man/man1
      install bitsmnist.1 and a page per command (bitsmnist-train.1, ...)";

#[derive(Subcommand)]
enum Command {
    /// Print counts per split and class, the binarisation threshold and the fraction of 1-bits.
    #[command(after_help = DATA_EXAMPLES)]
    Data(data::Args),
    /// Compare the bit kernels with an f32 sgemm on this machine (a few seconds).
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(bench::Args),
    /// Train a bit model (the population algorithm for two classes and climbing for more by
    /// default, or `--method population|climb|gradient`) with per-task defaults, and report its
    /// error on the test split.
    #[command(after_help = TRAIN_EXAMPLES)]
    Train(Box<train::Args>),
    /// Merge the networks of a climbing ensemble trained as separate runs (`train --member K
    /// --of N`) into the one model `train --ensemble N` trains in one process, bit for bit.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(merge::Args),
    /// Evaluate a saved model (`.bin`): error, accuracy, MCC and the confusion matrix, and
    /// its training history (`--history`; `--history --format csv`: the history alone as CSV).
    #[command(after_help = EVAL_EXAMPLES)]
    Eval(eval::Args),
    /// List, show, compare, relabel or delete the runs `train` records in the runs folder.
    #[command(after_help = RUNS_EXAMPLES)]
    Runs(runs::Args),
    /// Train every point of a grid of settings times a list of seeds, each a recorded run, N
    /// at a time; then each setting's mean ± standard deviation over its seeds. Started
    /// again, it runs only what is left.
    #[command(after_help = SWEEP_EXAMPLES)]
    Sweep(sweep::Args),
    /// Export a saved model as code that runs without this program: C99 (a header and a
    /// source file), a no_std Rust module or JSON, weights as const arrays, no allocation.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(export::Args),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell (to be
    /// saved where the shell looks for completions).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(completions::Args),
    /// Print the manual page (roff) of `bitsmnist`, or write the pages of all commands into
    /// a folder with `--out`.
    #[command(after_help = MAN_EXAMPLES)]
    Man(man::Args),
}

/// Refuses an output that is one of the command's inputs (the same file under any name):
/// writing it would destroy what the command reads.
fn refuse_input_as_output(
    flag: &str,
    out: &std::path::Path,
    inputs: &[std::path::PathBuf],
) -> anyhow::Result<()> {
    if let Some(input) = inputs
        .iter()
        .find(|i| bitsmnist_core::files::same_file(out, i))
    {
        errors::usage!(
            "{flag} {}: is {}, which this command reads; write to another file",
            out.display(),
            input.display()
        );
    }
    Ok(())
}

/// Takes the lock on writing `out` for the rest of the command ([`bitsmnist_core::files::
/// lock_output`]), refusing (status 2) when another process writes it now: two runs writing
/// one file would both succeed and the last would silently win.
fn lock_output(
    flag: &str,
    out: &std::path::Path,
) -> anyhow::Result<bitsmnist_core::files::OutputLock> {
    match bitsmnist_core::files::lock_output(out) {
        Ok(lock) => Ok(lock),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            errors::usage!("{flag} {}: {e}", out.display())
        }
        Err(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("{flag} {}: cannot be locked", out.display())))
        }
    }
}

/// Refuses (status 2) to write about `needed` bytes to `out` when its file system has less
/// free, before the work that fills it ([`bitsmnist_core::files::check_room`]).
fn check_room(flag: &str, out: &std::path::Path, needed: u64) -> anyhow::Result<()> {
    match bitsmnist_core::files::check_room(out, needed) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
            errors::usage!("{flag} {}: {e}", out.display())
        }
        // Not knowing the free space is no reason to refuse: the atomic save keeps the old
        // file if the disk turns out full.
        Err(_) => Ok(()),
    }
}

/// Set once the reader of standard output has gone (a closed pipe): nothing more is written
/// there, and the command goes on to its end, so that `train ... | head -1` still saves.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set by `--json` before the command runs: stdout then holds JSON objects only.
static JSON_OUTPUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the command prints JSON objects (`--json`) rather than text for people.
fn json_output() -> bool {
    JSON_OUTPUT.load(std::sync::atomic::Ordering::Relaxed)
}

/// One line of text for people (what `out!` prints); nothing under `--json`.
fn print_text(args: std::fmt::Arguments<'_>) {
    if !json_output() {
        print_line(args);
    }
}

/// An object of [`emit`]: the `"type"` first, then `value`'s own keys in their order.
#[derive(serde::Serialize)]
struct Typed<'a, T: serde::Serialize> {
    r#type: &'a str,
    #[serde(flatten)]
    value: &'a T,
}

/// Prints `value` (which serialises as an object) as one JSON line with `"type": kind` first,
/// under `--json` only: without it, stdout is text for people and holds no JSON at all.
fn emit<T: serde::Serialize>(kind: &str, value: &T) -> anyhow::Result<()> {
    if json_output() {
        let line = serde_json::to_string(&Typed {
            r#type: kind,
            value,
        })
        .map_err(|e| anyhow::anyhow!("writing the {kind} object as JSON: {e}"))?;
        print_line(format_args!("{line}"));
    }
    Ok(())
}

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"));
    stdout_failed(written);
}

/// Writes `bytes` to stdout as they are, ending the program as [`print_line`] does when it
/// cannot.
fn print_bytes(bytes: &[u8]) {
    use std::io::Write;
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(bytes).and_then(|()| stdout.flush());
    stdout_failed(written);
}

/// Handles a failed write to stdout: when the reader closed the pipe, stdout is left alone
/// from then on and the command finishes its work (a training run still saves its file);
/// any other failure ends the program with the exit status of failed work.
fn stdout_failed(written: std::io::Result<()>) {
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// The program: parses `std::env::args`, runs the command, reports its own errors in one line
/// and returns the exit status ([`errors`]). A command line clap refuses is reported as clap
/// words it (the error, a suggestion such as a similar flag's name, the pointer to
/// `--help`), with exit status [`errors::USAGE`]; `--help` and `--version` print on stdout
/// and exit 0.
pub fn run() -> ExitCode {
    let parsed = Cli::command()
        .after_help(after_help())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // clap's whole message: its tips are what tell a typo from a missing feature.
            // Help and version go to stdout, errors to stderr; a closed pipe is no error.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(errors::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Checked before any work: a misspelt or unsupported kernel would otherwise be ignored
    // without a word, and a benchmark or timing would measure another kernel than asked.
    if let Err(e) = bitsmnist_core::bits::Kernel::from_env() {
        eprintln!("error: {e}");
        return ExitCode::from(errors::USAGE);
    }
    JSON_OUTPUT.store(cli.json, std::sync::atomic::Ordering::Relaxed);
    let result = check_thread_variable().and_then(|()| match cli.command {
        Command::Data(a) => data::run(a).map(|()| ExitCode::SUCCESS),
        Command::Bench(a) => bench::run(a).map(|()| ExitCode::SUCCESS),
        Command::Train(a) => train::run(*a),
        Command::Merge(a) => merge::run(a),
        Command::Eval(a) => eval::run(a).map(|()| ExitCode::SUCCESS),
        Command::Runs(a) => runs::run(a).map(|()| ExitCode::SUCCESS),
        Command::Sweep(a) => sweep::run(a),
        Command::Export(a) => export::run(a).map(|()| ExitCode::SUCCESS),
        Command::Completions(a) => completions::run(a, Cli::command()).map(|()| ExitCode::SUCCESS),
        Command::Man(a) => man::run(a, Cli::command()).map(|()| ExitCode::SUCCESS),
    });
    result.unwrap_or_else(|e| errors::report(&e))
}

/// Refuses a thread count in the environment above `--threads`' cap, before anything builds
/// rayon's pool from it: `RAYON_NUM_THREADS=100000` would start a hundred thousand threads
/// (about 200 a second, deaf to signals meanwhile) and make every per-thread buffer count
/// that many times. Rayon reads `RAYON_NUM_THREADS`, and the older `RAYON_RS_NUM_CPUS`; 0
/// and text it does not read as a number mean its default (the cores), and so pass.
fn check_thread_variable() -> anyhow::Result<()> {
    use train::plan::MAX_THREADS;
    for name in ["RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS"] {
        let Some(value) = std::env::var_os(name) else {
            continue;
        };
        let value = value.to_string_lossy();
        if let Ok(n) = value.parse::<u128>()
            && n > MAX_THREADS as u128
        {
            errors::usage!("{name} must be 1 to {MAX_THREADS} (as --threads), got {value}");
        }
    }
    Ok(())
}

/// Parses `args` (without the program name) as `bitsmnist train ...` would and checks them
/// as the command does before loading any data: `Ok` with the run's memory estimate on the
/// embedded digits (for a fresh run), or the exit status and error line the command would
/// end with. Reads the files `--resume` and `--init` name and probes `--out` (see
/// [`bitsmnist_core::files::check_writable`]), nothing else.
pub fn check_train<I, T>(args: I) -> Result<Option<u64>, (u8, String)>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv = std::iter::once("bitsmnist".into())
        .chain(std::iter::once("train".into()))
        .chain(args.into_iter().map(Into::into));
    let cli = Cli::try_parse_from(argv).map_err(|e| (errors::USAGE, e.to_string()))?;
    let Command::Train(args) = cli.command else {
        unreachable!("parsed as train")
    };
    let plan = args.plan().map_err(|e| errors::describe(&e))?;
    Ok(plan.run.memory_estimate(
        bitsmnist_core::layers::Shape::MNIST,
        plan.run.task.len(),
        10_000,
    ))
}
