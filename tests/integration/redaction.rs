//! Credentials never leave the machine: passwords planted in the cluster's proxy URLs, in an
//! ARM error message and in the Helm inputs reach no stdout, stderr (with the `-v` call
//! log), report file of any format, and no byte of a directory or `.tar.gz` bundle.

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const CLUSTER_HTTP_PW: &str = "PlantedClusterPw-http";
const CLUSTER_HTTPS_PW: &str = "PlantedClusterPw-https";
const ERROR_PW: &str = "PlantedErrorPw";
const HELM_PW: &str = "PlantedHelmPw";
const OIDC_SECRET: &str = "PlantedOidcSecret2";
const SET_PW: &str = "PlantedSetPw";
const SET_SECRET: &str = "PlantedSetSecret";
const PLANTED: [&str; 7] = [
    CLUSTER_HTTP_PW,
    CLUSTER_HTTPS_PW,
    ERROR_PW,
    HELM_PW,
    OIDC_SECRET,
    SET_PW,
    SET_SECRET,
];

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The decompressed bytes of every file in a `.tar.gz`.
fn archive_members(path: &Path) -> Vec<Vec<u8>> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry.unwrap(), &mut bytes).unwrap();
            bytes
        })
        .collect()
}

fn assert_nothing_planted(texts: &[Vec<u8>]) {
    for bytes in texts {
        let text = String::from_utf8_lossy(bytes);
        for planted in PLANTED {
            assert!(!text.contains(planted), "{planted} leaked into: {text}");
        }
    }
}

/// Runs `check` with every report format (stdout and `-o FORMAT=PATH` files) and the call
/// log, `collect` to a directory and to a `.tar.gz`, and replays and inspects the archive;
/// returns every byte produced, the JSON report and the directory bundle.
async fn every_output(fake: &FakeArm, extra: &[&str], scratch: &Path) -> (Vec<Vec<u8>>, Value) {
    let mut outputs = Vec::new();
    let files: Vec<String> = ["json", "junit", "markdown", "table"]
        .iter()
        .map(|f| format!("{f}={}", scratch.join(format!("report.{f}")).display()))
        .collect();
    let mut args = vec!["-v", "-o", "table"];
    for file in &files {
        args.extend(["-o", file.as_str()]);
    }
    args.extend(extra);
    let checked = run(fake.check("proxy-cluster", &args)).await;
    outputs.extend([checked.stdout, checked.stderr]);
    let mut json_args = vec!["-o", "json"];
    json_args.extend(extra);
    let json = run(fake.check("proxy-cluster", &json_args)).await;
    let report = json_of(&json);
    outputs.extend([json.stdout, json.stderr]);
    for f in ["json", "junit", "markdown", "table"] {
        outputs.push(std::fs::read(scratch.join(format!("report.{f}"))).unwrap());
    }
    let directory = scratch.join("bundle");
    let archive = scratch.join("bundle.tar.gz");
    for out in [&directory, &archive] {
        let mut collect_args = vec!["-v"];
        collect_args.extend(extra);
        let collected = run(fake.collect("proxy-cluster", out, &collect_args)).await;
        assert_eq!(
            collected.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&collected.stderr)
        );
        outputs.extend([collected.stdout, collected.stderr]);
    }
    outputs.extend(walk(&directory).iter().map(|f| std::fs::read(f).unwrap()));
    outputs.extend(archive_members(&archive));
    outputs.push(std::fs::read(&archive).unwrap());
    for command in [
        vec!["check", "--bundle", archive.to_str().unwrap(), "-o", "json"],
        vec!["bundle", "inspect", archive.to_str().unwrap()],
    ] {
        let out = assert_cmd::Command::cargo_bin("pxb-preflight")
            .unwrap()
            .env_clear()
            .args(command)
            .output()
            .unwrap();
        outputs.extend([out.stdout, out.stderr]);
    }
    (outputs, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_proxy_passwords_reach_no_output_and_no_bundle() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let mut cluster = FakeArm::body("proxy-cluster", CLUSTER);
    let proxy = &mut cluster["properties"]["httpProxyConfig"];
    proxy["httpProxy"] = json!(format!(
        "http://proxyuser:{CLUSTER_HTTP_PW}@proxy.contoso.internal:3128/"
    ));
    proxy["httpsProxy"] = json!(format!(
        "https://proxyuser:{CLUSTER_HTTPS_PW}@proxy.contoso.internal:3128/"
    ));
    fake.answer(CLUSTER, 200, cluster).await;
    let message = format!(
        "The proxy https://proxyuser:{ERROR_PW}@proxy.contoso.internal:3128 refused the call."
    );
    fake.answer(
        &format!("{CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions"),
        400,
        arm_error("BadRequest", &message),
    )
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let (outputs, report) = every_output(&fake, &[], scratch.path()).await;
    assert_nothing_planted(&outputs);
    // The error still reaches the report, its password masked.
    let checks = report["checks"].to_string();
    assert!(
        checks.contains("https://proxyuser:***@proxy.contoso.internal:3128 refused"),
        "{checks}"
    );
    // The stored cluster read keeps the proxy's user, so support can tell proxies apart.
    let stored = walk(&scratch.path().join("bundle"))
        .into_iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .find(|text| text.contains("httpProxyConfig"))
        .expect("the cluster read is in the bundle");
    assert!(
        stored.contains("http://proxyuser:***@proxy.contoso.internal:3128/"),
        "{stored}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_passwords_and_other_values_reach_no_output_and_no_bundle() {
    let fake = FakeArm::serving("proxy-cluster").await;
    let scratch = tempfile::tempdir().unwrap();
    let values = scratch.path().join("values.yaml");
    std::fs::write(
        &values,
        format!(
            "oidc:\n  clientSecret: {OIDC_SECRET}\nproxy:\n  azureProxyEnabled: true\n  httpProxy:\n    HTTP_PROXY: http://u:{HELM_PW}@proxy.contoso.internal:3128\n    noProxy: localhost\n"
        ),
    )
    .unwrap();
    let split_set =
        format!("proxy.httpProxy.HTTPS_PROXY=http://u:{SET_PW}@proxy.contoso.internal:3128,x");
    let secret_set = format!("oidc.clientSecret={SET_SECRET}");
    let extra = [
        "--helm-values",
        values.to_str().unwrap(),
        "--set",
        &split_set,
        "--set",
        &secret_set,
    ];
    let (outputs, report) = every_output(&fake, &extra, scratch.path()).await;
    assert_nothing_planted(&outputs);
    let helm = &report["target"]["helm"];
    assert_eq!(
        helm["http_proxy"], "http://u:***@proxy.contoso.internal:3128",
        "{helm}"
    );
    assert_eq!(
        helm["https_proxy"], "http://u:***@proxy.contoso.internal:3128",
        "{helm}"
    );
    // The split --set is still a finding, quoted with its password masked.
    let lists = check_of(&report, "pxb-proxy-service-lists");
    assert_eq!(lists["status"], "fail");
    assert!(
        lists["message"]
            .as_str()
            .unwrap()
            .contains("HTTPS_PROXY=http://u:***@proxy.contoso.internal:3128,x"),
        "{lists}"
    );
    assert_eq!(status_of(&report, "pxb-proxy-no-proxy"), "fail");
}

/// A current bundle written before the Helm record was typed (`values` and `set` in the
/// manifest) judges as the fixture does, and a password in its values never shows.
#[test]
fn a_manifest_with_the_old_helm_shape_judges_the_same() {
    let scratch = tempfile::tempdir().unwrap();
    let old = scratch.path().join("old");
    copy_dir(&fixture("proxy-cluster"), &old);
    let manifest_path = old.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let typed = manifest["target"]["helm"].clone();
    let no_proxy: Vec<&str> = typed["no_proxy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    manifest["target"]["helm"] = json!({
        "values": [{"proxy": {
            "azureProxyEnabled": typed["azure_proxy_enabled"],
            "includeNoProxyList": typed["include_no_proxy_list"],
            "excludeAzureProxyList": typed["exclude_azure_proxy_list"],
            "httpProxy": {
                "noProxy": no_proxy.join(","),
                "HTTP_PROXY": format!("http://u:{HELM_PW}@proxy.contoso.internal:3128")
            }
        }}],
        "set": []
    });
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let judge = |bundle: &Path| {
        assert_cmd::Command::cargo_bin("pxb-preflight")
            .unwrap()
            .env_clear()
            .args(["check", "--bundle", bundle.to_str().unwrap(), "-o", "json"])
            .output()
            .unwrap()
    };
    let (from_old, from_fixture) = (judge(&old), judge(&fixture("proxy-cluster")));
    assert_eq!(from_old.status.code(), from_fixture.status.code());
    assert_nothing_planted(&[from_old.stdout.clone(), from_old.stderr.clone()]);
    let (old_report, fixture_report) = (json_of(&from_old), json_of(&from_fixture));
    assert_eq!(old_report["checks"], fixture_report["checks"]);
    assert_eq!(
        old_report["target"]["helm"]["http_proxy"],
        "http://u:***@proxy.contoso.internal:3128"
    );
}

/// A run-stopping error that quotes an input URL masks its password.
#[test]
fn an_error_quoting_a_url_masks_its_password() {
    let output = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .args(["check", "--cluster", CLUSTER, "--arm-endpoint"])
        .arg(format!("http://u:{ERROR_PW}@arm.example.com/"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'http://u:***@arm.example.com/'"),
        "{stderr}"
    );
    assert_nothing_planted(&[output.stdout, output.stderr]);
}

/// A bundle written before URL passwords were masked replays and upgrades without them.
#[test]
fn an_older_bundle_with_a_password_replays_and_upgrades_without_it() {
    let scratch = tempfile::tempdir().unwrap();
    let old = scratch.path().join("old");
    copy_dir(&fixture("proxy-cluster"), &old);
    let cluster_read = walk(&old.join("reads"))
        .into_iter()
        .find(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("httpProxyConfig")
        })
        .unwrap();
    let text = std::fs::read_to_string(&cluster_read).unwrap().replace(
        "http://proxy.contoso.internal:3128/",
        &format!("http://proxyuser:{CLUSTER_HTTP_PW}@proxy.contoso.internal:3128/"),
    );
    assert!(text.contains(CLUSTER_HTTP_PW));
    std::fs::write(&cluster_read, text).unwrap();
    let bin = || {
        let mut cmd = assert_cmd::Command::cargo_bin("pxb-preflight").unwrap();
        cmd.env_clear();
        cmd
    };
    let mut outputs = Vec::new();
    let replayed = bin()
        .args(["check", "--bundle", old.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    let upgraded = scratch.path().join("upgraded.tar.gz");
    let upgrade = bin()
        .args(["bundle", "upgrade", old.to_str().unwrap()])
        .arg(&upgraded)
        .output()
        .unwrap();
    assert_eq!(upgrade.status.code(), Some(0));
    outputs.extend([
        replayed.stdout,
        replayed.stderr,
        upgrade.stdout,
        upgrade.stderr,
    ]);
    outputs.extend(archive_members(&upgraded));
    assert_nothing_planted(&outputs);
}
