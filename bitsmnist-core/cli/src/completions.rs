//! `bitsmnist completions SHELL`: the shell's completion script for every command and flag.

use anyhow::Result;
use clap_complete::Shell;

/// Arguments of `bitsmnist completions`.
#[derive(clap::Args)]
pub struct Args {
    /// The shell to write the script for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the script for `cmd` (the whole command line) on stdout, or under `--json` one
/// `completions` object holding it.
pub fn run(args: Args, mut cmd: clap::Command) -> Result<()> {
    // Rendered in memory first: clap_complete panics on a failed write, and a closed pipe
    // should end the program quietly as every other command does.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "bitsmnist", &mut script);
    if crate::json_output() {
        return crate::emit(
            "completions",
            &serde_json::json!({
                "shell": args.shell.to_string(),
                "script": String::from_utf8_lossy(&script),
            }),
        );
    }
    crate::print_bytes(&script);
    Ok(())
}
