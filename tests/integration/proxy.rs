//! The proxy checks with real Helm inputs: a values file in the PXB docs' shape, `--set`.

use crate::common::*;

fn values_file() -> String {
    fixture("proxy-values")
        .join("px-central-values.yaml")
        .to_str()
        .unwrap()
        .to_string()
}

fn bundle_report(name: &str) -> serde_json::Value {
    let out = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .args([
            "check",
            "--bundle",
            fixture(name).to_str().unwrap(),
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    json_of(&out)
}

#[tokio::test(flavor = "multi_thread")]
async fn values_file_gives_the_same_verdicts_live_and_from_the_bundle() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let output = run(fake.check(
        "proxy-cluster",
        &["--helm-values", &values_file(), "-o", "json"],
    ))
    .await;
    assert_eq!(output.status.code(), Some(1));
    let live = json_of(&output);
    assert_eq!(live, bundle_report("proxy-cluster"));
    let check = check_of(&live, "pxb-proxy-no-proxy");
    assert_eq!(check["status"], "fail");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("<service-cidr-ip>")
            && message.contains("contoso.internal")
            && message.contains("10.0.0.0/16"),
        "{message}"
    );
    // Only the proxy settings of the values file reach the report's target (no other chart values).
    assert!(
        !live["target"].to_string().contains("persistentStorage"),
        "{}",
        live["target"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn corrected_set_string_from_the_report_fixes_the_install() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let report = json_of(
        &run(fake.check(
            "proxy-cluster",
            &["--helm-values", &values_file(), "-o", "json"],
        ))
        .await,
    );
    let fix = check_of(&report, "pxb-proxy-no-proxy")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    let set = fix
        .lines()
        .last()
        .unwrap()
        .trim_start_matches("--set ")
        .to_string();
    let output = run(fake.check(
        "proxy-cluster",
        &["--helm-values", &values_file(), "--set", &set, "-o", "json"],
    ))
    .await;
    let report = json_of(&output);
    assert_eq!(status_of(&report, "pxb-proxy-no-proxy"), "pass");
    assert_eq!(status_of(&report, "pxb-proxy-service-lists"), "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn unescaped_comma_in_set_is_a_finding_not_a_usage_error() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let output = run(fake.check(
        "proxy-cluster",
        &[
            "--helm-values",
            &values_file(),
            "--set",
            "proxy.httpProxy.noProxy=localhost,.svc",
            "-o",
            "json",
        ],
    ))
    .await;
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let check = check_of(&report, "pxb-proxy-service-lists");
    assert_eq!(check["status"], "fail");
    assert!(check["message"]
        .as_str()
        .unwrap()
        .contains("key \".svc\" has no value"));
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_without_values_warns_and_a_broken_values_file_stops_the_run() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let report = json_of(&run(fake.check("proxy-cluster", &["-o", "json"])).await);
    assert_eq!(status_of(&report, "pxb-proxy-no-proxy"), "warn");
    assert_eq!(status_of(&report, "pxb-proxy-service-lists"), "skip");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("values.yaml");
    std::fs::write(&broken, "proxy: [unclosed").unwrap();
    let output = run(fake.check(
        "proxy-cluster",
        &["--helm-values", broken.to_str().unwrap()],
    ))
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not valid YAML values"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_cluster_proxy_is_not_in_use() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let mut cluster = FakeArm::body("proxy-cluster", CLUSTER);
    cluster["properties"]["httpProxyConfig"]["enabled"] = serde_json::json!(false);
    fake.answer(CLUSTER, 200, cluster).await;
    let report = json_of(&run(fake.check("proxy-cluster", &["-o", "json"])).await);
    let check = check_of(&report, "pxb-proxy-no-proxy");
    assert_eq!(check["status"], "skip", "{check}");
}
