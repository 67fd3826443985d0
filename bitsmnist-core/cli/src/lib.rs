//! `bitsmnist`: the command line of bitsmnist-core.
//!
//! A thin layer: it parses options, calls the library and prints. Every command prints a
//! human summary first and, where it measures something, one JSON line last; the exceptions
//! print only what another program reads (`completions`, `man`, `eval --history --format
//! csv|json`). The binary is [`run`]; [`check_train`] is the option checking alone, for the
//! fuzzer.

/// `println!` that ends the program quietly when stdout is closed (`bitsmnist data | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
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
mod train;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Bit neural networks on handwritten digits.
#[derive(Parser)]
#[command(name = "bitsmnist", version, about)]
struct Cli {
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
  bitsmnist train --resume conv.bin --out conv.bin --generations 100
      go on with a saved run, with its own task, data and seed
  bitsmnist train --task digits --member 0 --of 8 --out m0.bin
      one member of an 8-network ensemble, to `bitsmnist merge` with the others";

#[derive(Subcommand)]
enum Command {
    /// Print counts per split and class, the binarisation threshold and the fraction of 1-bits.
    Data(data::Args),
    /// Compare the bit kernels with an f32 sgemm on this machine (a few seconds).
    Bench(bench::Args),
    /// Train a bit model (the population algorithm for two classes and climbing for more by
    /// default, or `--method population|climb|gradient`) with per-task defaults, and report its
    /// error on the test split.
    #[command(after_help = TRAIN_EXAMPLES)]
    Train(Box<train::Args>),
    /// Merge the networks of a climbing ensemble trained as separate runs (`train --member K
    /// --of N`) into the one model `train --ensemble N` trains in one process, bit for bit.
    Merge(merge::Args),
    /// Evaluate a saved model (`.bin`): error, accuracy, MCC and the confusion matrix, or
    /// print its training history as CSV or JSON (`--history --format csv|json`).
    Eval(eval::Args),
    /// Export a saved model as code that runs without this program: C99 (a header and a
    /// source file) or a no_std Rust module, weights as const arrays, no allocation.
    Export(export::Args),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell (to be
    /// saved where the shell looks for completions).
    Completions(completions::Args),
    /// Print the manual page (roff) of `bitsmnist`, or write the pages of all commands into
    /// a folder with `--out`.
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
    let result = check_thread_variable().and_then(|()| match cli.command {
        Command::Data(a) => data::run(a).map(|()| ExitCode::SUCCESS),
        Command::Bench(a) => bench::run(a).map(|()| ExitCode::SUCCESS),
        Command::Train(a) => train::run(*a),
        Command::Merge(a) => merge::run(a),
        Command::Eval(a) => eval::run(a).map(|()| ExitCode::SUCCESS),
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
    Ok(plan.run.memory_estimate(784, plan.run.task.len(), 10_000))
}
