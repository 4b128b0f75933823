//! The exit-code contract (shared/checks.md §1): how a run ends, and the one place that
//! turns it into a process exit code. Nothing else in the tool spells 0, 1, 2 or 3.

use std::process::ExitCode;

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every selected check passed (or only warned); also the success of commands that
    /// judge nothing (`collect`, `checks`, `explain`, ...).
    Ready,
    /// A check failed, or warned under `--fail-on warn`.
    NotReady,
    /// The run stopped before a report: bad input, no credential, no readable cluster.
    CouldNotRun,
    /// No check failed but some could not be evaluated.
    Incomplete,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ready => 0,
            Exit::NotReady => 1,
            Exit::CouldNotRun => 2,
            Exit::Incomplete => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
