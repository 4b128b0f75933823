//! The fleet as JUnit XML: a testsuite per cluster (named by its ID) holding the testcases
//! `check -o junit` writes for it, and a testsuite per cluster not checked with one errored
//! testcase. Built with quick-junit, never by string concatenation.

use super::Fleet;
use crate::report::junit::test_suite;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

/// The testcase of a cluster that could not be checked.
const NOT_CHECKED_CASE: &str = "cluster-checked";

pub(super) fn render(fleet: &Fleet) -> String {
    let mut junit = quick_junit::Report::new("pxb-preflight fleet");
    for report in &fleet.clusters {
        junit.add_test_suite(test_suite(&report.target.cluster, report));
    }
    for unchecked in &fleet.could_not_check {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(format!("could not check: {}", unchecked.message));
        status.set_description(unchecked.message.as_str());
        let mut case = TestCase::new(NOT_CHECKED_CASE, status);
        case.set_classname("pxb-preflight");
        let mut suite = TestSuite::new(unchecked.cluster.as_str());
        suite.add_test_case(case);
        junit.add_test_suite(suite);
    }
    junit.to_string().expect("a JUnit report always serializes")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{mixed, AKS1, AKS2, AKS3, AKS9};
    use super::*;
    use crate::checks::REGISTRY;
    use quick_xml::events::Event;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Each testsuite's name and its testcases' outcomes (`failure`, `error`, `skipped`,
    /// or `pass`), read back from the XML.
    fn suites(xml: &str) -> Vec<(String, Vec<String>)> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut suites: Vec<(String, Vec<String>)> = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                    b"testsuite" => {
                        let name = e
                            .try_get_attribute("name")
                            .unwrap()
                            .expect("a suite name")
                            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .unwrap()
                            .into_owned();
                        suites.push((name, Vec::new()));
                    }
                    b"testcase" => suites.last_mut().unwrap().1.push("pass".into()),
                    kind @ (b"failure" | b"error" | b"skipped") => {
                        let case = suites.last_mut().unwrap().1.last_mut().unwrap();
                        *case = String::from_utf8_lossy(kind).into_owned();
                    }
                    _ => {}
                },
                Event::Eof => return suites,
                _ => {}
            }
        }
    }

    #[test]
    fn a_suite_per_cluster_and_per_cluster_not_checked() {
        let xml = render(&mixed());
        let suites = suites(&xml);
        let names: Vec<_> = suites.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [AKS1, AKS2, AKS3, AKS9]);
        for (_, cases) in &suites[..3] {
            assert_eq!(cases.len(), REGISTRY.len());
        }
        assert!(suites[0].1.iter().all(|c| c == "pass"));
        // aks2: a warning (not a failure without --fail-on warn), then four failures.
        assert_eq!(
            suites[1].1[..5],
            ["pass", "failure", "failure", "failure", "failure"]
        );
        assert_eq!(suites[2].1[0], "error");
        assert_eq!(suites[3].1, ["error"]);
    }

    /// Validates against tests/schemas/junit.xsd with xmllint, as the integration tests do.
    #[test]
    fn validates_against_the_junit_schema() {
        let schema =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit.xsd");
        let mut child = Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(&schema)
            .arg("-")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("xmllint runs (apt-get install libxml2-utils; .ci/run does this)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(render(&mixed()).as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
