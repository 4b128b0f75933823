//! The real binary against the in-process fake ARM: healthy and failing clusters, ARM's
//! failure modes (403, 404, 429 with Retry-After, pagination, malformed bodies), and
//! the read-only promise.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

fn bundle_json(fixture_name: &str) -> Value {
    let mut cmd = assert_cmd::Command::cargo_bin("pxb-preflight").unwrap();
    cmd.args([
        "check",
        "--bundle",
        fixture(fixture_name).to_str().unwrap(),
        "-o",
        "json",
    ]);
    json_of(&cmd.output().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_cluster_live_matches_its_bundle_and_reads_each_resource_once() {
    let fake = FakeArm::serving("ready").await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let live = json_of(&output);
    assert_eq!(live, bundle_json("ready"));
    assert_eq!(live["ready"], true);
    assert_eq!(live["summary"]["fail"], 0);
    assert_eq!(status_of(&live, "trusted-access"), "pass");

    // A read is its path (case-insensitive) and its $filter: role assignments per principal.
    let requests = fake.arm_requests().await;
    let mut reads: Vec<String> = requests
        .iter()
        .map(|r| {
            let filter = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "$filter")
                .map(|(_, v)| v.into_owned());
            format!(
                "{} {}",
                r.url.path().to_ascii_lowercase(),
                filter.unwrap_or_default()
            )
        })
        .collect();
    let total = reads.len();
    reads.sort();
    reads.dedup();
    assert_eq!(total, reads.len(), "a resource was read twice: {reads:?}");
    let per_principal = reads.iter().filter(|r| r.contains("assignedTo(")).count();
    let recorded_principals = fixture_reads("ready")
        .iter()
        .filter(|r| r["filter"].as_str().unwrap_or("").contains("assignedTo("))
        .count();
    assert_eq!(
        per_principal, recorded_principals,
        "one assignment list per principal"
    );
    assert!(requests
        .iter()
        .all(|r| r.url.query().unwrap_or("").contains("api-version=")));

    // What a live check reads is what its bundle records, read for read (but for the job
    // list and backup instances, which `collect` adds for `diagnose`)...
    let mut recorded: Vec<String> = fixture_reads("ready")
        .iter()
        .filter(|r| is_http_read(r))
        .filter(|r| {
            let path = r["path"].as_str().unwrap_or_default().to_ascii_lowercase();
            !path.ends_with("/backupjobs") && !path.ends_with("/backupinstances")
        })
        .map(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            let filter = r["filter"].as_str().unwrap_or_default();
            format!("{} {filter}", path.to_ascii_lowercase())
        })
        .collect();
    recorded.sort();
    assert_eq!(reads, recorded, "the live reads are the bundle's reads");
    // ...and the list itself is a snapshot: a new read is a reviewed change, not a count.
    let mut listed: Vec<String> = requests.iter().map(describe_read).collect();
    listed.sort();
    insta::assert_snapshot!("ready-reads", listed.join("\n"));
}

/// `METHOD path api-version=… [$filter=…]`, the filter decoded.
fn describe_read(request: &wiremock::Request) -> String {
    let query = |key: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let filter = query("$filter")
        .map(|f| format!(" $filter={f}"))
        .unwrap_or_default();
    format!(
        "{} {} api-version={}{filter}",
        request.method,
        request.url.path(),
        query("api-version").unwrap_or_default()
    )
}

/// A recorded read is served only at its recorded api-version: the fake answers another
/// one as ARM would (400), so a read whose api-version drifted cannot pass unnoticed.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_at_another_api_version_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("ready"), dir.path());
    let (file, mut read) = read_files(dir.path())
        .into_iter()
        .find(|(_, read)| {
            read["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/trustedAccessRoleBindings"))
        })
        .expect("the ready fixture records the trusted access bindings");
    read["api_version"] = json!("2019-01-01");
    std::fs::write(&file, read.to_string()).unwrap();
    let bundle = dir.path().to_str().unwrap();

    let fake = FakeArm::serving(bundle).await;
    let report = json_of(&run(fake.check(bundle, &["-o", "json"])).await);
    assert_eq!(status_of(&report, "trusted-access"), "error", "{report:#}");
    let message = check_of(&report, "trusted-access").to_string();
    assert!(message.contains("InvalidApiVersionParameter"), "{message}");
    assert_eq!(status_of(&report, "cluster-state"), "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_get_requests_reach_arm() {
    let fake = FakeArm::serving("ready").await;
    run(fake.check("ready", &["-o", "json"])).await;
    let collect_dir = tempfile::tempdir().unwrap();
    let out = collect_dir.path().join("b");
    assert_eq!(
        run(fake.collect("ready", &out, &[])).await.status.code(),
        Some(0)
    );
    for request in fake.requests().await {
        let token_call = request.url.path().ends_with("/oauth2/v2.0/token");
        assert!(
            request.method.as_str() == "GET" || (token_call && request.method.as_str() == "POST"),
            "{} {} must not be sent",
            request.method,
            request.url
        );
    }
}

/// Each failing condition of the core checks, from the ready fixture with one read changed.
#[tokio::test(flavor = "multi_thread")]
async fn each_failing_condition_fails_its_check_with_a_fix() {
    let cluster = |edit: fn(&mut Value)| {
        let mut body = FakeArm::body("ready", CLUSTER);
        edit(&mut body);
        (CLUSTER.to_string(), body)
    };
    let extensions_path =
        format!("{CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions");
    let provider_path = format!("/subscriptions/{SUB}/providers/Microsoft.KubernetesConfiguration");
    let cases: Vec<(&str, (String, Value), &str)> = vec![
        (
            "stopped",
            cluster(|c| c["properties"]["powerState"]["code"] = json!("Stopped")),
            "cluster-state",
        ),
        (
            "old",
            cluster(|c| c["properties"]["currentKubernetesVersion"] = json!("1.20.9")),
            "kubernetes-version",
        ),
        (
            "service principal",
            cluster(|c| {
                c.as_object_mut().unwrap().remove("identity");
                c["properties"]["servicePrincipalProfile"]["clientId"] =
                    json!("5b7e2c1a-8d4f-4e3b-9a6c-0f1e2d3c4b5a");
            }),
            "cluster-identity",
        ),
        (
            "csi off",
            cluster(|c| {
                c["properties"]["storageProfile"]["diskCSIDriver"]["enabled"] = json!(false)
            }),
            "csi-disk-driver",
        ),
        (
            "snapshots off",
            cluster(|c| {
                c["properties"]["storageProfile"]["snapshotController"]["enabled"] = json!(false)
            }),
            "snapshot-controller",
        ),
        (
            "provider",
            (
                provider_path.clone(),
                json!({"namespace": "Microsoft.KubernetesConfiguration", "registrationState": "NotRegistered"}),
            ),
            "provider-registered",
        ),
        (
            "extension failed",
            {
                let mut body = FakeArm::body("ready", &extensions_path);
                body["value"][1]["properties"]["provisioningState"] = json!("Failed");
                (extensions_path.clone(), body)
            },
            "backup-extension",
        ),
        (
            "account elsewhere",
            {
                let mut body = FakeArm::body("ready", ACCOUNT);
                body["location"] = json!("westeurope");
                (ACCOUNT.to_string(), body)
            },
            "backup-storage-location",
        ),
        (
            "firewall",
            {
                let mut body = FakeArm::body("ready", ACCOUNT);
                body["properties"]["networkAcls"] =
                    json!({"defaultAction": "Deny", "bypass": "None", "resourceAccessRules": []});
                (ACCOUNT.to_string(), body)
            },
            "storage-network-access",
        ),
        (
            "no binding",
            (
                format!("{CLUSTER}/trustedAccessRoleBindings"),
                json!({"value": []}),
            ),
            "trusted-access",
        ),
        (
            "vault identity",
            {
                let mut body = FakeArm::body("ready", VAULT);
                body["identity"] = json!({"type": "None"});
                (VAULT.to_string(), body)
            },
            "vault-identity",
        ),
    ];
    for (name, (path, body), failing) in cases {
        let fake = FakeArm::serving("ready").await;
        fake.answer(&path, 200, body).await;
        let output = run(fake.check("ready", &["-o", "json"])).await;
        assert_eq!(output.status.code(), Some(1), "{name}");
        let report = json_of(&output);
        let check = check_of(&report, failing);
        assert_eq!(check["status"], "fail", "{name}: {check}");
        assert!(
            check["remediation"]
                .as_str()
                .is_some_and(|r| r.starts_with("az ")),
            "{name}: {check}"
        );
        let failed: Vec<_> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["id"].clone())
            .collect();
        assert_eq!(
            failed,
            vec![json!(failing)],
            "{name}: only its own check fails"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_read_is_an_error_naming_the_permission_and_exits_3() {
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        VAULT,
        403,
        authorization_failed("Microsoft.DataProtection/backupVaults/read", VAULT),
    )
    .await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    assert_eq!(output.status.code(), Some(3));
    let report = json_of(&output);
    let check = check_of(&report, "vault-identity");
    assert_eq!(check["status"], "error");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 403")
            && message.contains("Microsoft.DataProtection/backupVaults/read"),
        "{message}"
    );
    assert!(
        message.contains(&format!("GET {VAULT}?api-version=")),
        "{message}"
    );
    assert_eq!(report["ready"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_cluster_exits_2_with_one_line() {
    let fake = FakeArm::serving("ready").await;
    fake.answer(CLUSTER, 404, arm_error("ResourceNotFound", "The Resource 'Microsoft.ContainerService/managedClusters/aks-prod' under resource group 'rg-aks-prod' was not found.")).await;
    let output = run(fake.check("ready", &[])).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("was not found"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_read_is_retried_after_retry_after_with_the_same_verdicts() {
    let fake = FakeArm::serving("ready").await;
    let throttled = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_json(arm_error("SubscriptionRequestsThrottled", "Number of 'read' requests for subscription exceeded. Please try again after '1' seconds."));
    fake.answer_first(CLUSTER, 1, throttled.clone()).await;
    fake.answer_first(ACCOUNT, 2, throttled).await;
    let started = std::time::Instant::now();
    let output = run(fake.check("ready", &["-o", "json"])).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(json_of(&output), bundle_json("ready"));
    let cluster_gets = fake
        .arm_requests()
        .await
        .iter()
        .filter(|r| r.url.path().eq_ignore_ascii_case(CLUSTER))
        .count();
    assert_eq!(cluster_gets, 2, "one throttled attempt, one retry");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_are_followed_through_next_link() {
    let fake = FakeArm::serving("ready").await;
    let path = format!("{CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions");
    let all = FakeArm::body("ready", &path);
    // Page 2 lives at a path of its own (as ARM's skip-token links do), in other casing.
    let page2_path = format!("{}/page2", path.to_uppercase());
    let next = format!(
        "{}{page2_path}?api-version=2024-11-01&$skipToken=abc%3D%3D",
        fake.server.uri()
    );
    fake.answer(
        &path,
        200,
        json!({"value": [all["value"][0]], "nextLink": next}),
    )
    .await;
    fake.answer(
        &page2_path,
        200,
        json!({"value": [all["value"][1]], "nextLink": null}),
    )
    .await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    let report = json_of(&output);
    assert_eq!(
        status_of(&report, "backup-extension"),
        "pass",
        "the extension is on page 2"
    );
    let page2 = fake
        .arm_requests()
        .await
        .into_iter()
        .find(|r| r.url.path().eq_ignore_ascii_case(&page2_path))
        .expect("page 2 read");
    assert_eq!(
        page2.url.query(),
        Some("api-version=2024-11-01&$skipToken=abc%3D%3D"),
        "nextLink is followed as given"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_errors_not_passes() {
    let fake = FakeArm::serving("ready").await;
    let bindings = format!("{CLUSTER}/trustedAccessRoleBindings");
    fake.answer_raw(
        &bindings,
        ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
    )
    .await;
    fake.answer(VAULT, 200, json!({"identity": "SystemAssigned"}))
        .await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    assert_eq!(output.status.code(), Some(3));
    let report = json_of(&output);
    for id in ["trusted-access", "vault-identity"] {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "error", "{check}");
        assert!(
            check["message"].as_str().unwrap().contains("MalformedBody"),
            "{check}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_then_check_bundle_gives_identical_json() {
    let fake = FakeArm::serving("backup-not-configured").await;
    let live = run(fake.check("backup-not-configured", &["-o", "json"])).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let collected = run(fake.collect("backup-not-configured", &out, &[])).await;
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let mut offline = assert_cmd::Command::cargo_bin("pxb-preflight").unwrap();
    offline
        .env_clear()
        .args(["check", "--bundle", out.to_str().unwrap(), "-o", "json"]);
    let replayed = offline.output().unwrap();
    assert_eq!(replayed.status.code(), live.status.code());
    assert_eq!(json_of(&replayed), json_of(&live));
    assert_eq!(
        json_of(&live)["summary"]["fail"],
        2,
        "extension and trusted access are missing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_reach_no_output_and_no_bundle() {
    const SP_SECRET: &str = "planted-sp-secret-4Kq";
    const STORAGE_KEY: &str =
        "planted-storage-key-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6==";
    let fake = FakeArm::serving("ready").await;
    let mut cluster = FakeArm::body("ready", CLUSTER);
    cluster["properties"]["servicePrincipalProfile"]["secret"] = json!(SP_SECRET);
    fake.answer(CLUSTER, 200, cluster).await;
    let extensions = format!("{CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions");
    let mut list = FakeArm::body("ready", &extensions);
    list["value"][1]["properties"]["configurationProtectedSettings"] =
        json!({"storageAccountKey": STORAGE_KEY});
    fake.answer(&extensions, 200, list).await;

    let mut outputs = Vec::new();
    for format in ["table", "json"] {
        let o = run(fake.check("ready", &["-o", format])).await;
        outputs.push(o.stdout);
        outputs.push(o.stderr);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let collected = run(fake.collect("ready", &out, &[])).await;
    outputs.push(collected.stdout);
    outputs.push(collected.stderr);
    for entry in walk(&out) {
        outputs.push(std::fs::read(entry).unwrap());
    }
    for bytes in &outputs {
        let text = String::from_utf8_lossy(bytes);
        for secret in [CLIENT_SECRET, ACCESS_TOKEN, SP_SECRET, STORAGE_KEY] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
    assert!(outputs.len() > 6, "the bundle has files");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
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

/// Every read record file of a bundle directory (any JSON file but the manifest), parsed.
fn read_files(bundle: &std::path::Path) -> Vec<(std::path::PathBuf, Value)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(bundle).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(read_files(&path));
        } else if path.extension().is_some_and(|e| e == "json") && !path.ends_with("manifest.json")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            found.push((path, serde_json::from_str(&text).unwrap()));
        }
    }
    found
}
