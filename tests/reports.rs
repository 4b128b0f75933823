//! Report formats for CI and tickets: JUnit, Markdown, and several destinations in one run.

mod common;

use assert_cmd::Command;
use common::fixture;
use quick_junit::{NonSuccessKind, Report, TestCaseStatus};

fn check(fixture_name: &str, outputs: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("pxb-preflight").unwrap();
    cmd.env_clear()
        .args(["check", "--bundle", fixture(fixture_name).to_str().unwrap()]);
    for output in outputs {
        cmd.args(["-o", output]);
    }
    cmd.output().unwrap()
}

fn junit(fixture_name: &str, extra: &[&str]) -> Report {
    let mut outputs = vec!["junit"];
    outputs.extend_from_slice(extra);
    let out = check(fixture_name, &outputs);
    Report::deserialize_from_str(&String::from_utf8(out.stdout).unwrap())
        .expect("well-formed JUnit XML")
}

#[test]
fn junit_has_one_testcase_per_check_with_the_matching_status() {
    for name in [
        "ready",
        "sp-cluster-csi-disabled",
        "backup-not-configured",
        "proxy-cluster",
    ] {
        let report = junit(name, &[]);
        let json: serde_json::Value =
            serde_json::from_slice(&check(name, &["json"]).stdout).unwrap();
        let cases = &report.test_suites[0].test_cases;
        assert_eq!(cases.len(), 36, "{name}: every catalog check once");
        for (case, check) in cases.iter().zip(json["checks"].as_array().unwrap()) {
            assert_eq!(case.name.as_str(), check["id"].as_str().unwrap());
            let profiles: Vec<&str> = check["profiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(
                case.classname.as_ref().map(|c| c.as_str()),
                Some(profiles.join(",").as_str())
            );
            let expected = match check["status"].as_str().unwrap() {
                "fail" => "failure",
                "error" => "error",
                "skip" => "skipped",
                _ => "success",
            };
            let got = match &case.status {
                TestCaseStatus::Success { .. } => "success",
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    ..
                } => "failure",
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Error,
                    ..
                } => "error",
                TestCaseStatus::Skipped { .. } => "skipped",
            };
            assert_eq!(got, expected, "{name}: {}", check["id"]);
        }
    }
}

#[test]
fn junit_failures_carry_the_message_and_the_fix() {
    let report = junit("sp-cluster-csi-disabled", &[]);
    let case = report.test_suites[0]
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "csi-disk-driver")
        .unwrap();
    match &case.status {
        TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => {
            assert!(message
                .as_ref()
                .unwrap()
                .as_str()
                .starts_with("fail: the Azure Disk CSI driver is disabled"));
            assert!(description
                .as_ref()
                .unwrap()
                .as_str()
                .contains("az aks update -g rg-aks-prod -n aks-prod --enable-disk-driver"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn warnings_fail_the_junit_case_only_with_fail_on_warn() {
    let status_of = |report: &Report| {
        report.test_suites[0]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "azure-policy-exclusion")
            .unwrap()
            .status
            .clone()
    };
    assert!(matches!(
        status_of(&junit("backup-not-configured", &[])),
        TestCaseStatus::Success { .. }
    ));
    let mut cmd = Command::cargo_bin("pxb-preflight").unwrap();
    let out = cmd
        .env_clear()
        .args([
            "check",
            "--bundle",
            fixture("backup-not-configured").to_str().unwrap(),
            "-o",
            "junit",
            "--fail-on",
            "warn",
        ])
        .output()
        .unwrap();
    let strict = Report::deserialize_from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert!(matches!(
        status_of(&strict),
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            ..
        }
    ));
}

#[test]
fn one_run_prints_a_table_and_writes_json_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("report.json");
    let junit_path = dir.path().join("report.xml");
    let out = check(
        "sp-cluster-csi-disabled",
        &[
            "table",
            &format!("json={}", json_path.display()),
            &format!("junit={}", junit_path.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("NOT READY"),
        "the table went to stdout"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["schema"], "pxb-preflight/v1");
    Report::deserialize_from_str(&std::fs::read_to_string(&junit_path).unwrap()).unwrap();

    let two_to_stdout = check("ready", &["table", "json"]);
    assert_eq!(two_to_stdout.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&two_to_stdout.stderr)
        .contains("only one -o format can go to stdout"));
    let unknown = check("ready", &["yaml"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn markdown_has_a_summary_a_table_and_fixes_in_code_blocks() {
    let out = check("sp-cluster-csi-disabled", &["markdown"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("**pxb-preflight: NOT READY** for `/subscriptions/"),
        "{text}"
    );
    assert!(text.contains("| `csi-disk-driver` | fail | the Azure Disk CSI driver is disabled"));
    assert!(
        text.contains("```sh\naz aks update -g rg-aks-prod -n aks-prod --enable-disk-driver\n```")
    );
    insta::assert_snapshot!("markdown-sp-cluster-csi-disabled", text);
}
