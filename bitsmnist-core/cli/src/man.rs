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
        let name = clap_mangen::Man::new(cmd.clone()).get_filename();
        let page = render(cmd)?;
        if crate::json_output() {
            crate::emit(
                "man_page",
                &serde_json::json!({"name": name, "roff": String::from_utf8_lossy(&page)}),
            )?;
        } else {
            crate::print_bytes(&page);
        }
        return Ok(());
    };
    let mut pages = Vec::new();
    collect(cmd, &mut pages);
    for cmd in pages {
        let name = clap_mangen::Man::new(cmd.clone()).get_filename();
        let path = dir.join(&name);
        // Atomic: a reader (`man`, mandb) never sees half a page, and a failed run leaves
        // the pages installed before it intact.
        bitsmnist_core::files::write_atomic(&path, &render(cmd)?)
            .with_context(|| path.display().to_string())?;
        out!("{}", path.display());
        crate::emit(
            "man_page",
            &serde_json::json!({"name": name, "path": path.display().to_string()}),
        )?;
    }
    Ok(())
}

/// The page of `cmd` and, recursively, of each of its visible commands.
fn collect(cmd: clap::Command, pages: &mut Vec<clap::Command>) {
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    pages.push(cmd);
    for sub in subs {
        collect(sub, pages);
    }
}

/// What every command exits with (also in `bitsmnist --help`).
pub const EXIT_STATUS: [(&str, &str); 4] = [
    ("0", "success"),
    (
        "1",
        "the work failed: a file missing, damaged or unwritable, invalid data",
    ),
    (
        "2",
        "the command line was refused before any work: bad or conflicting options, a request \
         larger than memory, an output another process is writing, no room for it, a task with \
         no test examples",
    ),
    (
        "130, 143, 129",
        "interrupted by SIGINT, SIGTERM or SIGHUP; a run is saved first when it has --out",
    ),
];

/// The environment variables the program reads (also in `bitsmnist --help`).
pub const ENVIRONMENT: [(&str, &str); 6] = [
    (
        "BITSMNIST_DATA_DIR",
        "the cache folder of full MNIST (--dataset mnist); else $XDG_CACHE_HOME/bitsmnist or \
         ~/.cache/bitsmnist",
    ),
    (
        "BITSMNIST_RUNS_DIR",
        "the runs folder train records into and runs lists, when --runs is not given; else \
         $XDG_DATA_HOME/bitsmnist/runs or ~/.local/share/bitsmnist/runs",
    ),
    (
        "BITSMNIST_KERNEL",
        "portable, popcnt, avx2 or avx512: the bit kernel to use instead of the fastest this CPU \
         runs; another value, or a kernel this CPU cannot run, is refused with status 2",
    ),
    (
        "RAYON_NUM_THREADS",
        "threads when --threads is not given (1 to 1024; default: the cores)",
    ),
    (
        "XDG_CACHE_HOME",
        "where the user cache is, when BITSMNIST_DATA_DIR is not set",
    ),
    (
        "XDG_DATA_HOME",
        "where the user's data folder is, when BITSMNIST_RUNS_DIR is not set",
    ),
];

/// The page of one command: clap's sections, then EXAMPLES (from the command's after-help
/// text), EXIT STATUS and ENVIRONMENT, which clap has no place for. Markdown's backticks in
/// the doc comments are dropped: roff shows them as they are.
fn render(cmd: clap::Command) -> Result<Vec<u8>> {
    // As clap_mangen's whole page: an OPTIONS or COMMANDS section only when there is one.
    let options = cmd.get_arguments().any(|a| !a.is_hide_set());
    let commands = cmd.get_subcommands().any(|c| !c.is_hide_set());
    // Taken before clap_mangen owns the command: the examples are its after-help text.
    let examples = cmd.get_after_help().map(|h| h.to_string());
    let man = clap_mangen::Man::new(cmd);
    type Section = fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>;
    let sections: [(Section, bool); 6] = [
        (clap_mangen::Man::render_title, true),
        (clap_mangen::Man::render_name_section, true),
        (clap_mangen::Man::render_synopsis_section, true),
        (clap_mangen::Man::render_description_section, true),
        (clap_mangen::Man::render_options_section, options),
        (clap_mangen::Man::render_subcommands_section, commands),
    ];
    let mut text = String::new();
    for (i, (section, wanted)) in sections.into_iter().enumerate() {
        if !wanted {
            continue;
        }
        let mut roff = Vec::new();
        section(&man, &mut roff).context("rendering the manual page")?;
        let roff = String::from_utf8_lossy(&roff);
        // Each part starts with roff's apostrophe preamble; the page needs it once.
        let body = roff
            .lines()
            .skip_while(|l| i > 0 && (l.starts_with(".ie ") || l.starts_with(".el ")));
        for line in body {
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some(examples) = examples.as_deref().and_then(man_examples) {
        text.push_str(".SH EXAMPLES\n");
        text.push_str(&examples);
    }
    text.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_STATUS {
        text.push_str(&format!(".TP\n{}\n{}\n", escape(code), escape(what)));
    }
    text.push_str(".SH ENVIRONMENT\n");
    for (name, what) in ENVIRONMENT {
        text.push_str(&format!(".TP\n\\fB{name}\\fR\n{}\n", escape(what)));
    }
    Ok(text.replace('`', "").into_bytes())
}

/// The EXAMPLES section of a command's page, from the examples its `--help` ends with
/// (`Examples:`, then a command and an indented line saying what it does, in turn); `None`
/// for an after-help text that is not examples (the top page's exit statuses, which the page
/// has as sections of their own).
fn man_examples(after_help: &str) -> Option<String> {
    let mut lines = after_help.lines();
    if lines.next()? != "Examples:" {
        return None;
    }
    let mut out = String::new();
    while let Some(command) = lines.next() {
        let what = lines.next().unwrap_or_default();
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(command.trim()),
            escape(what.trim())
        ));
    }
    Some(out)
}

/// `s` as roff text: backslashes and hyphens escaped, no line starting with a control
/// character.
fn escape(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    match s.chars().next() {
        Some('.' | '\'') => format!("\\&{s}"),
        _ => s,
    }
}
