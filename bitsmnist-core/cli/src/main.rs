//! `bitsmnist`: the command line of bitsmnist-core.
//!
//! A thin layer: it parses options, calls the library and prints. Every command prints a
//! human summary first and, where it measures something, one JSON line last.

mod bench;
mod data;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(a) => data::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, no backtrace: the chain of causes joined.
            let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", msg.join(": "));
            ExitCode::FAILURE
        }
    }
}
