//! Report formats for CI and tickets: JUnit, Markdown, and several destinations in one run.

use crate::common::{catalog_ids, copy_dir, fixture, fixture_bundles};
use assert_cmd::Command;
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
    let mut catalog = catalog_ids("all");
    catalog.sort();
    for name in fixture_bundles() {
        let name = name.as_str();
        let report = junit(name, &[]);
        let json: serde_json::Value =
            serde_json::from_slice(&check(name, &["json"]).stdout).unwrap();
        let cases = &report.test_suites[0].test_cases;
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        assert_eq!(names, catalog, "{name}: every catalog check once");
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
    // The whole report is the `markdown@sp-cluster-csi-disabled` snapshot of `snapshots`.
}

/// Validates XML with `xmllint` against our JUnit schema (tests/schemas/junit.xsd);
/// `.ci/run` installs xmllint (Debian's libxml2-utils) where it is missing.
fn schema_problems(xml: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).unwrap();
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit.xsd");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .args([&schema, &file])
        .output()
        .expect("xmllint runs (apt-get install libxml2-utils; .ci/run does this)");
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The ready fixture with its role-assignment reads answered 403, so checks report `error`.
fn bundle_with_forbidden_reads() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("ready"), dir.path());
    for entry in std::fs::read_dir(dir.path().join("reads")).unwrap() {
        let path = entry.unwrap().path();
        let mut read: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if read["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/roleAssignments"))
        {
            read["status"] = 403.into();
            read.as_object_mut().unwrap().remove("body");
            read["error"] = serde_json::json!({"kind": "http", "code": "AuthorizationFailed", "message": "no access"});
            std::fs::write(&path, read.to_string()).unwrap();
        }
    }
    dir
}

#[test]
fn junit_reports_validate_against_the_junit_schema() {
    let forbidden = bundle_with_forbidden_reads();
    let checks = catalog_ids("all").len();
    let mut runs: Vec<(String, Vec<&str>)> = fixture_bundles()
        .iter()
        .map(|name| (fixture(name).to_str().unwrap().to_string(), vec![]))
        .collect();
    runs.push((
        fixture("backup-not-configured").to_str().unwrap().into(),
        vec!["--fail-on", "warn"],
    ));
    runs.push((forbidden.path().to_str().unwrap().into(), vec![]));
    let mut elements = std::collections::BTreeSet::new();
    for (bundle, extra) in &runs {
        let out = Command::cargo_bin("pxb-preflight")
            .unwrap()
            .env_clear()
            .args(["check", "--bundle", bundle, "-o", "junit"])
            .args(extra)
            .output()
            .unwrap();
        let xml = String::from_utf8(out.stdout).unwrap();
        assert_eq!(schema_problems(xml.as_bytes()), None, "{bundle} {extra:?}");
        let report = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(report.test_suites[0].test_cases.len(), checks, "{bundle}");
        for element in ["<failure", "<error", "<skipped", "<system-out"] {
            if xml.contains(element) {
                elements.insert(element);
            }
        }
    }
    // Every outcome element the renderer can write was validated at least once.
    assert_eq!(elements.len(), 4, "{elements:?}");
}

#[test]
fn the_junit_schema_rejects_what_ci_readers_would_misread() {
    let valid = check("sp-cluster-csi-disabled", &["junit"]).stdout;
    let valid = String::from_utf8(valid).unwrap();
    assert_eq!(schema_problems(valid.as_bytes()), None);
    let count = format!(r#"tests="{}""#, catalog_ids("all").len());
    let broken = [
        // a case without a name
        valid.replacen(r#"<testcase name="cluster-state" "#, "<testcase ", 1),
        // the same check twice in a suite
        valid.replacen(r#"name="kubernetes-version""#, r#"name="cluster-state""#, 1),
        // a count that is not a number
        valid.replacen(&count, r#"tests="many""#, 1),
        // two outcomes for one case
        valid.replacen("</failure>", "</failure><error message=\"x\"/>", 1),
    ];
    for xml in broken {
        assert_ne!(xml, valid, "the mutation applies");
        assert!(schema_problems(xml.as_bytes()).is_some(), "{xml}");
    }
}

/// `--fail-on skip`: a check skipped because a flag is missing fails the run and its JUnit
/// case; a check that does not apply stays skipped. The summary names the missing flags.
#[test]
fn fail_on_skip_fails_skips_for_lack_of_input() {
    let case = |report: &Report, id: &str| {
        report.test_suites[0]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == id)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(check("ready", &["junit"]).status.code(), Some(0));
    let forms: [&[&str]; 3] = [
        &["--fail-on", "skip"],
        &["--fail-on", "warn", "--fail-on", "skip"],
        &["--fail-on", "warn,skip"],
    ];
    for fail_on in forms {
        let mut cmd = Command::cargo_bin("pxb-preflight").unwrap();
        let out = cmd
            .env_clear()
            .args(["check", "--bundle", fixture("ready").to_str().unwrap()])
            .args(["-o", "junit"])
            .args(fail_on)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{fail_on:?}");
        let report = Report::deserialize_from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
        assert!(matches!(
            case(&report, "pxb-ports"),
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                ..
            }
        ));
        assert!(matches!(
            case(&report, "pxb-proxy-no-proxy"),
            TestCaseStatus::Skipped { .. }
        ));
    }
    let table = String::from_utf8(check("ready", &["table"]).stdout).unwrap();
    let summary = table.lines().last().unwrap();
    assert!(
        summary.contains("skipped for lack of input: give")
            && summary.contains("--pxb-endpoint")
            && summary.contains("--staging-resource-group")
            && !summary.contains("--vault"),
        "{summary}"
    );
}
