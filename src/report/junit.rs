//! The JUnit XML report: one `<testcase>` per check (classname = its profiles), `fail` →
//! `<failure>`, `error` → `<error>`, `skip` → `<skipped>`, the message and fix in the body;
//! what GitHub Actions, GitLab and Azure Pipelines read. A `warn` is a failure only with
//! `--fail-on warn`, a skip for lack of input only with `--fail-on skip`, as for the exit code. Built with quick-junit, never by string concatenation.

use super::Report;
use crate::checks::Status;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

pub fn render(report: &Report) -> String {
    let mut junit = quick_junit::Report::new(format!("pxb-preflight {}", report.target.cluster));
    junit.add_test_suite(test_suite("pxb-preflight", report));
    junit.to_string().expect("a JUnit report always serializes")
}

/// The report's checks as one testsuite named `name`.
pub(super) fn test_suite(name: &str, report: &Report) -> TestSuite {
    let mut suite = TestSuite::new(name);
    for verdict in &report.verdicts {
        let outcome = &verdict.outcome;
        // Failures as the exit code counts them (`Report::fails_run`).
        let mut status = match outcome.status {
            Status::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
            _ if report.fails_run(outcome) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Status::Skip => TestCaseStatus::skipped(),
            _ => TestCaseStatus::success(),
        };
        if outcome.status != Status::Pass {
            status.set_message(format!("{}: {}", outcome.status.name(), outcome.message));
            let fix = outcome
                .remediation
                .as_deref()
                .map(|r| format!("\n\nHow to fix:\n{r}"))
                .unwrap_or_default();
            status.set_description(format!("{}{fix}", outcome.message));
        }
        let mut case = TestCase::new(verdict.check.id, status);
        let profiles: Vec<_> = verdict.check.profiles.iter().map(|p| p.name()).collect();
        case.set_classname(profiles.join(","));
        if outcome.status == Status::Warn && !report.fail_on.warn {
            case.set_system_out(format!("warn: {}", outcome.message));
        }
        suite.add_test_case(case);
    }
    suite
}
