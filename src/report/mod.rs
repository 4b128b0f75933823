//! Reports: the verdicts of one run, their summary and exit code, and the renderers.
//!
//! Renderers only format; readiness and the exit code are decided here, once.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod table;

use crate::checks::{Status, Verdict};
use crate::exit::Exit;
use crate::target::TargetRecord;

pub struct Report {
    pub target: TargetRecord,
    pub verdicts: Vec<Verdict>,
    pub fail_on_warn: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for v in &self.verdicts {
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

    /// Not ready on a fail (or a warn with `--fail-on warn`), else incomplete on an error,
    /// else ready. A report never ends as [`Exit::CouldNotRun`].
    pub fn exit(&self) -> Exit {
        let s = self.summary();
        if s.fail > 0 || (self.fail_on_warn && s.warn > 0) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Outcome, REGISTRY};

    fn report(statuses: &[Status], fail_on_warn: bool) -> Report {
        let verdicts = statuses
            .iter()
            .zip(REGISTRY)
            .map(|(status, check)| Verdict {
                check,
                outcome: Outcome {
                    status: *status,
                    message: String::new(),
                    evidence: vec![],
                    remediation: None,
                },
            })
            .collect();
        Report {
            target: TargetRecord::default(),
            verdicts,
            fail_on_warn,
        }
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
}
