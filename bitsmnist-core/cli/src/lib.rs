//! `bitsmnist`: the command line of bitsmnist-core.
//!
//! A thin layer: it parses options, calls the library and prints. Every command prints a
//! human summary first and, where it measures something, one JSON line last. The binary is
//! [`run`]; [`check_train`] is the option checking alone, for the fuzzer.

/// `println!` that ends the program quietly when stdout is closed (`bitsmnist data | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}

mod bench;
mod data;
pub mod errors;
mod eval;
mod export;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Bit neural networks on handwritten digits.
#[derive(Parser)]
#[command(name = "bitsmnist", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print counts per split and class, the binarisation threshold and the fraction of 1-bits.
    Data(data::Args),
    /// Compare the bit kernels with an f32 sgemm on this machine (a few seconds).
    Bench(bench::Args),
    /// Train a bit model (genetic search by default, or `--method gradient`) with per-task
    /// defaults, and report its error on the test split.
    Train(Box<train::Args>),
    /// Evaluate a saved model (`.bin`): error, accuracy, MCC and the confusion matrix.
    Eval(eval::Args),
    /// Export a saved model as code that runs without this program: C99 (a header and a
    /// source file) or a no_std Rust module, weights as const arrays, no allocation.
    Export(export::Args),
}

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// The program: parses `std::env::args`, runs the command, reports an error in one line and
/// returns the exit status ([`errors`]).
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap adds a usage hint; keep the one line that says what is wrong.
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(errors::USAGE);
        }
    };
    let result = match cli.command {
        Command::Data(a) => data::run(a).map(|()| ExitCode::SUCCESS),
        Command::Bench(a) => bench::run(a).map(|()| ExitCode::SUCCESS),
        Command::Train(a) => train::run(*a),
        Command::Eval(a) => eval::run(a).map(|()| ExitCode::SUCCESS),
        Command::Export(a) => export::run(a).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| errors::report(&e))
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
    Ok(plan.fresh_estimate(784, plan.task.len(), 10_000))
}
