//! How a failed command ends: one line on stderr with each cause once, and an exit status that
//! tells a refused command line (2) from work that failed (1). Command lines that clap itself
//! refuses (an unknown flag, a value that does not parse) keep clap's message, hints
//! included, with the same status 2 ([`crate::run`]).

use std::error::Error;
use std::process::ExitCode;

use bitsmnist_core::datasets::{DataError, TaskError};
use bitsmnist_core::gradient::{GradientError, GradientParamsError};
use bitsmnist_core::io::MergeError;
use bitsmnist_core::layers::ShapeError;
use bitsmnist_core::memory::MemoryError;
use bitsmnist_core::search::{
    ClimbError, ClimbParamsError, EnsembleError, ParamsError, ParseOperatorError, PopulationError,
};
use bitsmnist_core::session::SessionError;
use bitsmnist_core::training::TrainingError;
use bitsmnist_core::util::ParseError;

/// Exit status of work that failed (a file unreadable or damaged, a save that failed).
pub const FAILED: u8 = 1;
/// Exit status of a command line refused before any work (as clap's own errors).
pub const USAGE: u8 = 2;
/// Exit status after SIGINT (128 + 2), the run saved first.
pub const INTERRUPTED: u8 = 130;
/// Exit status after SIGTERM (128 + 15), the run saved first.
pub const TERMINATED: u8 = 143;
/// Exit status after SIGHUP (128 + 1: the terminal or ssh session went away), the run saved
/// first.
pub const HUNG_UP: u8 = 129;

/// An option, or options together, that the command refuses.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Usage {}

/// Returns early with a [`Usage`] error, formatted as `format!`.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::errors::Usage(format!($($arg)*))))
    };
}
pub(crate) use usage;

/// Whether `e` says the request was wrong rather than that the work failed.
fn is_usage(e: &(dyn Error + 'static)) -> bool {
    if e.is::<Usage>()
        || e.is::<ParseError>()
        || e.is::<ParamsError>()
        || e.is::<ParseOperatorError>()
        || e.is::<ClimbParamsError>()
        || e.is::<GradientParamsError>()
        || e.is::<TaskError>()
        || e.is::<MemoryError>()
        || e.downcast_ref::<DataError>()
            .is_some_and(|d| matches!(d, DataError::Memory { .. }))
        || e.is::<MergeError>()
        || e.downcast_ref::<SessionError>()
            .is_some_and(SessionError::is_refusal)
    {
        return true;
    }
    // Setting up a run fails on what was asked (settings, shapes, a model that does not fit
    // the method), not on the machine.
    e.is::<TrainingError>()
        || e.is::<ClimbError>()
        || e.is::<PopulationError>()
        || e.is::<EnsembleError>()
        || e.is::<bitsmnist_core::search::imprint::ImprintError>()
        || e.is::<bitsmnist_core::layers::FeatureError>()
        || e.is::<ShapeError>()
        || e.downcast_ref::<GradientError>()
            .is_some_and(|g| matches!(g, GradientError::Params(_)))
}

/// Prints `e` as one line, `error: what: cause: cause`, and gives the exit status.
pub fn report(e: &anyhow::Error) -> ExitCode {
    let (status, line) = describe(e);
    // Standard error may be closed or full (`2>/dev/full`): the status still tells.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "error: {line}");
    ExitCode::from(status)
}

/// The exit status for `e` and its line (without `error: `).
pub fn describe(e: &anyhow::Error) -> (u8, String) {
    // A cause whose text the line already ends with is not repeated (foreign errors may
    // both show and return their source).
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    let usage = e.chain().any(is_usage);
    let memory = |c: &(dyn Error + 'static)| {
        c.is::<MemoryError>()
            || c.downcast_ref::<SessionError>()
                .is_some_and(|s| s.memory().is_some())
            || matches!(
                c.downcast_ref::<TrainingError>(),
                Some(TrainingError::Memory(_))
            )
    };
    if e.chain().any(memory) {
        line.push_str(" (--memory-limit sets another limit)");
    }
    (if usage { USAGE } else { FAILED }, line)
}
