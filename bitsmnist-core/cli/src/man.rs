//! `bitsmnist man [--out DIR]`: the manual pages, rendered from the same definitions as
//! `--help`, so that they never disagree with the program.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Arguments of `bitsmnist man`.
#[derive(clap::Args)]
pub struct Args {
    /// Write `bitsmnist.1` and one page per command (`bitsmnist-train.1`, ...) into this
    /// folder (created if missing) instead of printing `bitsmnist.1` on stdout.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Prints the page of `cmd` (the whole command line), or writes all pages into `--out`.
pub fn run(args: Args, cmd: clap::Command) -> Result<()> {
    // `help` is a command of clap's, documented by every page's options already.
    let mut cmd = cmd.disable_help_subcommand(true);
    // Built first so that every command knows its full name (`bitsmnist-train`), which the
    // pages' titles, file names and cross references use.
    cmd.build();
    let Some(dir) = args.out else {
        crate::print_bytes(&render(clap_mangen::Man::new(cmd))?);
        return Ok(());
    };
    let mut pages = Vec::new();
    collect(cmd, &mut pages);
    for man in pages {
        let path = dir.join(man.get_filename());
        // Atomic: a reader (`man`, mandb) never sees half a page, and a failed run leaves
        // the pages installed before it intact.
        bitsmnist_core::files::write_atomic(&path, &render(man)?)
            .with_context(|| path.display().to_string())?;
        out!("{}", path.display());
    }
    Ok(())
}

/// The page of `cmd` and, recursively, of each of its visible commands.
fn collect(cmd: clap::Command, pages: &mut Vec<clap_mangen::Man>) {
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    pages.push(clap_mangen::Man::new(cmd));
    for sub in subs {
        collect(sub, pages);
    }
}

fn render(man: clap_mangen::Man) -> Result<Vec<u8>> {
    let mut roff = Vec::new();
    man.render(&mut roff).context("rendering the manual page")?;
    Ok(roff)
}
