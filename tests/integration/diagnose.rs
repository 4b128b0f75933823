//! `diagnose` against the fake ARM (the vault's job list in pages, each failed job's own
//! read, the restore target cluster's reads) and a fake Kubernetes API serving Stork's
//! records, both built from the `failed-restore` fixture: a restore onto a cluster without
//! the backup extension, a backup that completed with a warning no check covers, and a PXB
//! backup whose volume snapshot found no snapshot class. Then the same offline, from the
//! collected bundle and from the fixture itself.

use crate::common::*;
use crate::kubernetes::kubeconfig;
use serde_json::{json, Value};
use wiremock::matchers::{method, path as at_path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIXTURE: &str = "failed-restore";
const VAULT: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-aks-prod";
const DR: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-dr/providers/Microsoft.ContainerService/managedClusters/aks-dr";
const RESTORE_JOB: &str = "7d3c1e58-2b9f-4a61-8e0d-5c4b3a291f86";
const WARNED_JOB: &str = "a41f0c92-6e8d-4b37-9a25-1c7e5d3b0f48";
const DONE_JOB: &str = "2c6e9f41-8d3a-4b57-a0e2-6f1d8c3b9a75";
const OTHER_CLUSTERS_JOB: &str = "c9d8e7f6-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
/// Far enough back that every job of the fixture is in the window, whenever the test runs.
const ALL_OF_IT: &str = "36500d";

/// A fake API server answering the fixture's recorded Kubernetes lists (any token).
async fn fake_kubernetes_of(fixture: &str) -> MockServer {
    let server = MockServer::start().await;
    for read in fixture_reads(fixture)
        .into_iter()
        .filter(|r| r["source"] == "kubernetes")
    {
        let recorded = read["path"].as_str().unwrap();
        let (path, selector) = match recorded.split_once("?labelSelector=") {
            Some((path, selector)) => (path, Some(selector.replace("%3D", "="))),
            None => (recorded, None),
        };
        let mut mock = Mock::given(method("GET")).and(at_path(path));
        if let Some(selector) = &selector {
            mock = mock.and(query_param("labelSelector", selector.as_str()));
        }
        let mut body = read["body"].clone();
        body["metadata"] = json!({"resourceVersion": "48213"});
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

fn diagnose(fake: &FakeArm, extra: &[&str]) -> assert_cmd::Command {
    let mut args = vec!["diagnose".to_string()];
    args.extend(target_args(FIXTURE));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    fake.command(&refs)
}

fn failure<'a>(diagnosis: &'a Value, id_part: &str) -> &'a Value {
    diagnosis["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"].as_str().unwrap().contains(id_part))
        .unwrap_or_else(|| panic!("no failure {id_part} in {diagnosis:#}"))
}

fn has_failure(diagnosis: &Value, id_part: &str) -> bool {
    diagnosis["failures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"].as_str().unwrap().contains(id_part))
}

fn check_run<'a>(failure: &'a Value, cluster_part: &str, id: &str) -> &'a Value {
    failure["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id && c["cluster"].as_str().unwrap().contains(cluster_part))
        .unwrap_or_else(|| panic!("no {id} on {cluster_part} in {failure:#}"))
}

/// `diagnose --bundle BUNDLE EXTRA…`, with no Azure at all.
fn offline(bundle: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["diagnose", "--bundle", bundle.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

fn exit_of(output: &std::process::Output) -> Option<i32> {
    output.status.code()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_restore_is_explained_on_the_target_cluster_and_the_bundle_replays_it() {
    let fake = FakeArm::serving(FIXTURE).await;
    let kube = fake_kubernetes_of(FIXTURE).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), "    token: diagnose-token\n");
    let flags = [
        "--kubeconfig",
        config.to_str().unwrap(),
        "--since",
        ALL_OF_IT,
    ];

    let live = run(diagnose(&fake, &[&flags[..], &["-o", "json"]].concat())).await;
    assert_eq!(
        exit_of(&live),
        Some(1),
        "explained failures exit 1: {}",
        String::from_utf8_lossy(&live.stderr)
    );
    let diagnosis = json_of(&live);
    assert_eq!(diagnosis["schema"], "pxb-preflight-diagnosis/v1");

    // The restore: its target is named only by the job's own read, and the extension
    // missing there explains it.
    let restore = failure(&diagnosis, RESTORE_JOB);
    assert_eq!(restore["product"], "azure-backup");
    assert_eq!(restore["operation"], "restore");
    assert!(restore["target_cluster"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(DR));
    assert_eq!(
        restore["reasons"][0]["code"],
        "UserErrorKubernetesBackupExtensionNotFoundError"
    );
    assert!(restore["explained_by"]
        .as_array()
        .unwrap()
        .contains(&json!("backup-extension")));
    assert_eq!(
        check_run(restore, "aks-dr", "backup-extension")["status"],
        "fail"
    );
    assert_eq!(restore["explained"], true);

    // A warning no prerequisite check covers stays unexplained, its code as recorded.
    let warned = failure(&diagnosis, WARNED_JOB);
    assert_eq!(warned["status"], "CompletedWithWarnings");
    assert_eq!(
        warned["reasons"][0]["code"],
        "UserErrorPVSnapshotLimitReached"
    );
    assert_eq!(warned["reasons"][0]["subject"], "shop/data-mysql-0");
    assert_eq!(warned["explained"], false);

    // Portworx Backup: Stork's record of the backup, explained by the missing snapshot class.
    let pxb = failure(&diagnosis, "shop/nightly-shop-4f1c2a9");
    assert_eq!(pxb["product"], "pxb");
    assert_eq!(pxb["record"], "application-backup");
    assert_eq!(
        check_run(pxb, "aks-prod", "volume-snapshot-class")["status"],
        "fail"
    );

    // Not this cluster's, and not failures: never shown.
    assert!(!has_failure(&diagnosis, OTHER_CLUSTERS_JOB));
    assert!(!has_failure(&diagnosis, DONE_JOB));
    let roles: Vec<&str> = diagnosis["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["checked", "restore-target"]);

    // Read-only, and each failed job of this cluster read once, in detail; no other job.
    let requests = fake.arm_requests().await;
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
    let job_reads: Vec<String> = requests
        .iter()
        .map(|r| r.url.path().to_ascii_lowercase())
        .filter(|p| p.contains("/backupjobs/"))
        .collect();
    assert!(job_reads.iter().any(|p| p.ends_with(RESTORE_JOB)));
    assert!(job_reads.iter().any(|p| p.ends_with(WARNED_JOB)));
    assert!(!job_reads.iter().any(|p| p.ends_with(DONE_JOB)));
    assert!(!job_reads.iter().any(|p| p.ends_with(OTHER_CLUSTERS_JOB)));
    let mut sorted = job_reads.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), job_reads.len(), "a job was read twice");
    let kube_requests = kube.received_requests().await.unwrap();
    assert!(kube_requests.iter().all(|r| r.method.as_str() == "GET"));
    assert!(kube_requests
        .iter()
        .all(|r| !r.url.path().contains("secrets")));

    // The support bundle carries all of it: offline, the same diagnosis.
    let bundle = dir.path().join("bundle");
    let mut collect = fake.collect(FIXTURE, &bundle, &flags);
    collect.args(["-q"]);
    let collected = run(collect).await;
    assert_eq!(
        exit_of(&collected),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let replay = run(fake.command(&[
        "diagnose",
        "--bundle",
        bundle.to_str().unwrap(),
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(exit_of(&replay), exit_of(&live));
    let mut offline = json_of(&replay);
    let mut online = diagnosis.clone();
    // The window's start is counted from each run's own "now".
    offline["target"]["since"] = Value::Null;
    online["target"]["since"] = Value::Null;
    assert_eq!(offline, online);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forbidden_job_list_is_named_with_its_permission_and_never_reads_as_no_failure() {
    let fake = FakeArm::serving(FIXTURE).await;
    fake.answer(
        &format!("{VAULT}/backupJobs"),
        403,
        authorization_failed(
            "Microsoft.DataProtection/backupVaults/backupJobs/read",
            VAULT,
        ),
    )
    .await;
    let out = run(diagnose(&fake, &["--since", ALL_OF_IT, "-o", "json"])).await;
    assert_eq!(
        exit_of(&out),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diagnosis = json_of(&out);
    assert_eq!(diagnosis["summary"]["failures"], 0);
    let unread = diagnosis["unread"].as_array().unwrap();
    assert!(
        unread.iter().any(|u| u["permission"]
            == "Microsoft.DataProtection/backupVaults/backupJobs/read"
            && u["call"].as_str().unwrap().contains("backupJobs")),
        "{unread:?}"
    );
    // Without Kubernetes access the PXB side is said to be unread, not empty.
    let notes = diagnosis["notes"].to_string();
    assert!(notes.contains("--kubeconfig"), "{notes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_of_the_job_list_is_read_and_an_unknown_code_is_shown_as_recorded() {
    let fake = FakeArm::serving(FIXTURE).await;
    let jobs_path = format!("{VAULT}/backupJobs");
    let mut all = FakeArm::body(FIXTURE, &jobs_path);
    let jobs = all["value"].as_array_mut().unwrap();
    let second_page: Vec<Value> = jobs.split_off(2);
    let first_page = json!({
        "value": jobs,
        "nextLink": format!("{}{jobs_path}?api-version=2025-07-01&$skiptoken=page2", fake.server.uri()),
    });
    Mock::given(method("GET"))
        .and(PathIgnoringCase(jobs_path.clone()))
        .and(query_param("$skiptoken", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": second_page})))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    fake.answer_first(
        &jobs_path,
        1,
        ResponseTemplate::new(200).set_body_json(first_page),
    )
    .await;
    // The warned backup's own read now records a code no documentation lists.
    let warned_path = format!(
        "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup/providers/Microsoft.DataProtection/Backupvaults/bv-aks-prod/backupJobs/{WARNED_JOB}"
    );
    let mut warned = FakeArm::body(FIXTURE, &warned_path);
    warned["properties"]["extendedInfo"]["warningDetails"][0]["warning"]["code"] =
        json!("UserErrorSomethingNobodyDocumented");
    fake.answer(&warned_path, 200, warned).await;

    let out = run(diagnose(&fake, &["--since", ALL_OF_IT, "-o", "json"])).await;
    let diagnosis = json_of(&out);
    // The restore is on page one, the warned backup on page two.
    assert!(has_failure(&diagnosis, RESTORE_JOB), "{diagnosis:#}");
    let warned = failure(&diagnosis, WARNED_JOB);
    assert_eq!(
        warned["reasons"][0]["code"],
        "UserErrorSomethingNobodyDocumented"
    );
    assert_eq!(warned["explained_by"], json!([]));
    assert_eq!(warned["explained"], false);
}

#[test]
fn the_demo_bundle_names_the_failing_checks_of_each_failure() {
    let bundle = fixture(FIXTURE);
    let out = offline(&bundle, &["-o", "json"]);
    assert_eq!(
        exit_of(&out),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diagnosis = json_of(&out);
    // The bundle's own window (7 days before collection) leaves the older failure out.
    assert_eq!(diagnosis["target"]["since"], "2026-11-13T10:12:31Z");
    assert_eq!(diagnosis["summary"]["failures"], 3);
    assert_eq!(diagnosis["summary"]["explained"], 2);
    insta::assert_json_snapshot!("diagnose-failed-restore", diagnosis);
    let table = bin()
        .args([
            "diagnose",
            "--bundle",
            bundle.to_str().unwrap(),
            "--color",
            "never",
        ])
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    insta::assert_snapshot!(
        "diagnose-failed-restore-table",
        String::from_utf8_lossy(&table.stdout)
    );
}

#[test]
fn one_job_can_be_diagnosed_alone() {
    let bundle = fixture(FIXTURE);
    let out = offline(
        &bundle,
        &["--job", &RESTORE_JOB.to_ascii_uppercase(), "-o", "json"],
    );
    let diagnosis = json_of(&out);
    let ids: Vec<&str> = diagnosis["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(ids[0].ends_with(RESTORE_JOB));
}

#[test]
fn a_bundle_with_nothing_recorded_exits_zero() {
    let bundle = fixture("ready");
    let out = offline(&bundle, &["-o", "json"]);
    assert_eq!(
        exit_of(&out),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out)["summary"]["failures"], 0);
}

/// A backup instance in a protection error and a partly successful PXB restore onto the
/// cluster, as the vault and Stork record them.
#[tokio::test(flavor = "multi_thread")]
async fn a_protection_error_and_a_partial_restore_are_failures_too() {
    let fake = FakeArm::serving(FIXTURE).await;
    let instances_path = format!("{VAULT}/backupInstances");
    let mut instances = FakeArm::body(FIXTURE, &instances_path);
    let error = json!({
        "code": "UserErrorExtensionMSIMissingPermissionsOnBackupStorageLocation",
        "message": "The backup extension identity does not have the required permissions on the storage account.",
        "recommendedAction": ["Assign the Storage Blob Data Contributor role to the extension identity on the storage account."],
        "details": null, "innerError": null, "isRetryable": false, "isUserError": true,
        "properties": {"ActivityId": "0e684b2f-cf83-47d4-8b67-c5c1397ef0a5-Ibz"}, "target": ""
    });
    let properties = &mut instances["value"][0]["properties"];
    properties["currentProtectionState"] = json!("ProtectionError");
    properties["protectionStatus"] = json!({"status": "ProtectionError", "errorDetails": error});
    properties["protectionErrorDetails"] = error;
    fake.answer(&instances_path, 200, instances).await;

    let kube = fake_kubernetes_of(FIXTURE).await;
    let restore = json!({
        "apiVersion": "stork.libopenstorage.org/v1alpha1", "kind": "ApplicationRestore",
        "metadata": {"name": "restore-shop-8b2e4d1", "namespace": "shop", "creationTimestamp": "2026-11-19T12:00:01Z",
                     "annotations": {"portworx.io/created-by": "px-backup", "portworx.io/restore-name": "restore-shop",
                                     "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"backupName": "nightly-shop-4f1c2a9", "backupLocation": "azure-blob-4f1c2a9", "replacePolicy": "Retain"},
        "status": {"status": "PartialSuccess", "stage": "Final",
                   "reason": "Volumes were restored successfully. Some existing resources were not replaced",
                   "lastUpdateTimestamp": "2026-11-19T12:04:40Z", "finishTimestamp": "2026-11-19T12:04:40Z",
                   "volumes": [{"persistentVolumeClaim": "data-mysql-0", "sourceNamespace": "shop", "sourceVolume": "pvc-8a2c4e6f",
                                "restoreVolume": "pvc-1f3e5a7c", "driverName": "csi", "status": "Successful",
                                "reason": "Volume restore successful", "options": {"token": "planted-volume-option-secret"}}],
                   "resources": [{"name": "mysql", "namespace": "shop", "kind": "Service", "group": "core", "version": "v1",
                                  "status": "Retained", "reason": "Resource restore skipped as it was already present and ReplacePolicy is set to Retain"},
                                 {"name": "shop-ingress", "namespace": "shop", "kind": "Ingress", "group": "networking.k8s.io", "version": "v1",
                                  "status": "Failed", "reason": "Error applying resource: admission webhook \"validate.nginx.ingress.kubernetes.io\" denied the request"}]}
    });
    Mock::given(method("GET"))
        .and(at_path(
            "/apis/stork.libopenstorage.org/v1alpha1/applicationrestores",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "apiVersion": "stork.libopenstorage.org/v1alpha1", "kind": "ApplicationRestoreList",
            "metadata": {"resourceVersion": "48213"}, "items": [restore]
        })))
        .with_priority(1)
        .mount(&kube)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), "    token: diagnose-token\n");
    let flags = [
        "--kubeconfig",
        config.to_str().unwrap(),
        "--since",
        ALL_OF_IT,
    ];
    let out = run(diagnose(&fake, &[&flags[..], &["-o", "json"]].concat())).await;
    let diagnosis = json_of(&out);

    let instance = failure(&diagnosis, "/backupInstances/");
    assert_eq!(instance["record"], "backup-instance");
    assert_eq!(instance["status"], "ProtectionError");
    assert_eq!(
        instance["reasons"].as_array().unwrap().len(),
        1,
        "the same error in both places is one reason"
    );
    assert_eq!(
        instance["explained_by"],
        json!(["role-extension-blob-contributor"])
    );

    let partial = failure(&diagnosis, "shop/restore-shop-8b2e4d1");
    assert_eq!(partial["record"], "application-restore");
    assert_eq!(partial["operation"], "restore");
    assert_eq!(partial["status"], "PartialSuccess");
    let reasons = partial["reasons"].to_string();
    assert!(reasons.contains("Ingress shop/shop-ingress"), "{reasons}");
    assert!(partial["target_cluster"]
        .as_str()
        .unwrap()
        .ends_with("/managedClusters/aks-prod"));

    // What a bundle keeps of Stork's objects: never a volume's options.
    let bundle = dir.path().join("bundle");
    let collected = run(fake.collect(FIXTURE, &bundle, &flags)).await;
    assert_eq!(exit_of(&collected), Some(0));
    let everything = crate::kubernetes::written(&bundle, &[]);
    assert!(everything.contains("restore-shop-8b2e4d1"));
    assert!(!everything.contains("planted-volume-option-secret"));
    assert!(!everything.contains("last-applied-configuration"));
}
