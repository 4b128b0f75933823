//! Reports: the verdicts of one run, their summary and exit code, and the renderers.
//!
//! Renderers only format; readiness and the exit code are decided here, once.

pub mod diagnosis;
pub mod fleet;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod table;

use crate::checks::{Outcome, Status, Verdict};
use crate::exit::Exit;
use crate::target::TargetRecord;

pub struct Report {
    pub target: TargetRecord,
    pub verdicts: Vec<Verdict>,
    pub fail_on: FailOn,
}

/// What, besides a `fail`, makes a run not ready (`--fail-on warn`, `--fail-on skip`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailOn {
    pub warn: bool,
    /// Only skips for lack of input ([`crate::checks::Skip::MissingInput`]) count: a check
    /// that does not apply is no forgotten flag.
    pub skip: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
}

impl Summary {
    /// The count of each status among `verdicts`.
    pub fn of(verdicts: &[Verdict]) -> Summary {
        let mut s = Summary::default();
        for v in verdicts {
            match v.outcome.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
                Status::Error => s.error += 1,
            }
        }
        s
    }
}

impl Report {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.verdicts)
    }

    /// Whether this outcome alone makes the run not ready: a fail, a warn with
    /// `--fail-on warn`, a skip for lack of input with `--fail-on skip`.
    pub fn fails_run(&self, outcome: &Outcome) -> bool {
        match outcome.status {
            Status::Fail => true,
            Status::Warn => self.fail_on.warn,
            Status::Skip => self.fail_on.skip && !outcome.missing_flags().is_empty(),
            Status::Pass | Status::Error => false,
        }
    }

    /// The flags that would turn this run's skips into checks, each once, in catalog order.
    pub fn missing_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        for flag in self.verdicts.iter().flat_map(|v| v.outcome.missing_flags()) {
            if !flags.contains(flag) {
                flags.push(*flag);
            }
        }
        flags
    }

    /// Not ready when some outcome fails the run ([`Report::fails_run`]), else incomplete
    /// on an error, else ready. A report never ends as [`Exit::CouldNotRun`].
    pub fn exit(&self) -> Exit {
        let s = self.summary();
        if self.verdicts.iter().any(|v| self.fails_run(&v.outcome)) {
            Exit::NotReady
        } else if s.error > 0 {
            Exit::Incomplete
        } else {
            Exit::Ready
        }
    }

    pub fn ready(&self) -> bool {
        self.exit() == Exit::Ready
    }
}

/// The summary line's tail naming the flags that would turn skips into checks (empty when
/// no check was skipped for lack of input).
fn missing_flags_note(report: &Report) -> String {
    let flags = report.missing_flags();
    if flags.is_empty() {
        return String::new();
    }
    let skipped = report
        .verdicts
        .iter()
        .filter(|v| !v.outcome.missing_flags().is_empty())
        .count();
    format!(
        " ({skipped} skipped for lack of input: give {} to check them)",
        flags.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::REGISTRY;

    fn report_of(outcomes: Vec<Outcome>, fail_on: FailOn) -> Report {
        let verdicts = outcomes
            .into_iter()
            .zip(REGISTRY)
            .map(|(outcome, check)| Verdict { check, outcome })
            .collect();
        Report {
            target: TargetRecord::default(),
            verdicts,
            fail_on,
        }
    }

    fn outcome(status: Status) -> Outcome {
        match status {
            Status::Pass => Outcome::pass(""),
            Status::Warn => Outcome::warn(""),
            Status::Fail => Outcome::fail(""),
            Status::Skip => Outcome::skip(""),
            Status::Error => Outcome::new_error(""),
        }
    }

    fn report(statuses: &[Status], fail_on_warn: bool) -> Report {
        let fail_on = FailOn {
            warn: fail_on_warn,
            skip: false,
        };
        report_of(statuses.iter().map(|s| outcome(*s)).collect(), fail_on)
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        use Status::*;
        assert_eq!(report(&[Pass, Skip, Warn], false).exit(), Exit::Ready);
        assert_eq!(report(&[Pass, Warn], true).exit(), Exit::NotReady);
        assert_eq!(report(&[Pass, Fail, Error], false).exit(), Exit::NotReady);
        assert_eq!(report(&[Pass, Error], false).exit(), Exit::Incomplete);
        assert_eq!(report(&[Warn, Error], true).exit(), Exit::NotReady);
        assert!(!report(&[Error], false).ready());
    }

    #[test]
    fn fail_on_skip_counts_only_skips_for_lack_of_input() {
        let on_skip = FailOn {
            warn: false,
            skip: true,
        };
        let missing = || Outcome::missing_input(&["--vault"], "no vault");
        let not_applicable = || Outcome::skip("no proxy in use");
        assert_eq!(
            report_of(vec![Outcome::pass(""), missing()], FailOn::default()).exit(),
            Exit::Ready
        );
        assert_eq!(
            report_of(vec![Outcome::pass(""), missing()], on_skip).exit(),
            Exit::NotReady
        );
        assert_eq!(
            report_of(vec![Outcome::pass(""), not_applicable()], on_skip).exit(),
            Exit::Ready
        );
        assert_eq!(
            report_of(vec![Outcome::new_error(""), missing()], on_skip).exit(),
            Exit::NotReady
        );
        assert_eq!(
            report_of(vec![Outcome::warn(""), missing()], on_skip).exit(),
            Exit::NotReady
        );
    }

    #[test]
    fn missing_flags_are_named_once_in_order() {
        let r = report_of(
            vec![
                Outcome::missing_input(&["--vault"], ""),
                Outcome::skip("not applicable"),
                Outcome::missing_input(&["--staging-resource-group", "--vault"], ""),
            ],
            FailOn::default(),
        );
        assert_eq!(r.missing_flags(), ["--vault", "--staging-resource-group"]);
    }
}
