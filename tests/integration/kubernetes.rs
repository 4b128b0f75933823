//! The in-cluster checks against a fake Kubernetes API server (wiremock on 127.0.0.1)
//! serving `kubectl get -o json` shapes, reached through a kubeconfig the test writes:
//! bearer token, exec plugin, 403, paging through `continue`, a context for another
//! cluster, the bundle round trip, and the PV disks' SKUs from the fake ARM's disk list.

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KUBE_TOKEN: &str = "planted-kube-token-kZ93xQ";
const EXEC_TOKEN: &str = "planted-exec-token-pL27wE";

fn list(kind: &str, items: Vec<Value>, next: Option<&str>) -> Value {
    let mut metadata = json!({"resourceVersion": "48213"});
    if let Some(token) = next {
        metadata["continue"] = json!(token);
    }
    json!({"kind": kind, "apiVersion": "v1", "metadata": metadata, "items": items})
}

fn workload(kind: &str, namespace: &str, name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "uid": "0c0e5a52-1f8b-4c4f-9a59-6f1a6f0d7a11",
                     "labels": {"app": name}, "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": image,
                                                       "env": [{"name": "AZURE_CLIENT_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}}},
        "status": {"observedGeneration": 1}
    })
}

fn pod(name: &str, ready: bool, waiting: Option<&str>) -> Value {
    let state = match waiting {
        Some(reason) => {
            json!({"waiting": {"reason": reason, "message": "back-off 5m0s restarting failed container"}})
        }
        None => json!({"running": {"startedAt": "2026-11-20T08:00:00Z"}}),
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "dataprotection-microsoft"},
        "spec": {"containers": [{"name": "manager", "image": "mcr.microsoft.com/azures/dataprotection:1.0"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.12",
                   "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2026-11-20T08:01:00Z"}],
                   "containerStatuses": [{"name": "manager", "ready": ready, "restartCount": 7, "image": "mcr.microsoft.com/azures/dataprotection:1.0", "state": state}]}
    })
}

/// A fake API server: every list the tool reads, answered only with the bearer `token`
/// (or to anyone, when the caller authenticates otherwise, as by client certificate).
/// Deployments come in two pages; the other Velero is on the second.
pub(crate) async fn fake_kubernetes(token: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let authorized = |mock: wiremock::MockBuilder| match token {
        Some(token) => mock.and(header("authorization", format!("Bearer {token}").as_str())),
        None => mock,
    };
    let answers = [
        (
            "/api/v1/persistentvolumes",
            list(
                "PersistentVolumeList",
                vec![json!({"apiVersion": "v1", "kind": "PersistentVolume",
                       "metadata": {"name": "pvc-5d1f0c1e-2b7a-4d8e-9f3c-1a2b3c4d5e6f", "annotations": {"pv.kubernetes.io/provisioned-by": "file.csi.azure.com"}},
                       "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteMany"],
                                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop", "name": "uploads"},
                                "csi": {"driver": "file.csi.azure.com", "volumeHandle": "rg#acct#uploads",
                                        "nodeStageSecretRef": {"name": "azure-storage-account-acct-secret", "namespace": "shop"}},
                                "storageClassName": "azurefile-csi"},
                       "status": {"phase": "Bound"}})],
                None,
            ),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            list(
                "StorageClassList",
                vec![
                    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "azurefile-csi"}, "provisioner": "file.csi.azure.com", "parameters": {"skuName": "Standard_LRS"}}),
                ],
                None,
            ),
        ),
        (
            "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses",
            list(
                "VolumeSnapshotClassList",
                vec![
                    json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": "csi-azuredisk-vsc"}, "driver": "disk.csi.azure.com", "deletionPolicy": "Delete", "parameters": {"incremental": "true"}}),
                ],
                None,
            ),
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            list(
                "CustomResourceDefinitionList",
                vec![
                    json!({"metadata": {"name": "certificates.cert-manager.io"}, "spec": {"group": "cert-manager.io"}}),
                    json!({"metadata": {"name": "backups.velero.io", "labels": {"app.kubernetes.io/part-of": "dataprotection-microsoft"}}, "spec": {"group": "velero.io"}}),
                ],
                None,
            ),
        ),
        (
            "/apis/apps/v1/daemonsets",
            list(
                "DaemonSetList",
                vec![workload(
                    "DaemonSet",
                    "kube-system",
                    "csi-azuredisk-node",
                    "mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi:v1.30.3",
                )],
                None,
            ),
        ),
        (
            "/api/v1/namespaces/dataprotection-microsoft/pods",
            list(
                "PodList",
                vec![
                    pod(
                        "dataprotection-microsoft-kubernetes-agent-5c9d",
                        false,
                        Some("CrashLoopBackOff"),
                    ),
                    pod("dataprotection-microsoft-geneva-service-7f8b", true, None),
                ],
                None,
            ),
        ),
    ];
    for (at, body) in answers {
        authorized(Mock::given(method("GET")).and(path(at)))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    authorized(
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/deployments"))
            .and(query_param("continue", "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(list(
        "DeploymentList",
        vec![workload(
            "Deployment",
            "backup-tools",
            "velero",
            "velero/velero:v1.13.2",
        )],
        None,
    )))
    .with_priority(1)
    .mount(&server)
    .await;
    authorized(
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/deployments"))
            .and(query_param("limit", "500")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(list(
        "DeploymentList",
        vec![workload(
            "Deployment",
            "kube-system",
            "coredns",
            "mcr.microsoft.com/oss/kubernetes/coredns:v1.11.3",
        )],
        Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"),
    )))
    .mount(&server)
    .await;
    server
}

/// A kubeconfig with one context `aks-prod` at `server`, authenticating as `user` (YAML).
pub(crate) fn kubeconfig(dir: &Path, server: &str, user: &str) -> PathBuf {
    let file = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: aks-prod\n  cluster:\n    server: {server}\ncontexts:\n- name: aks-prod\n  context:\n    cluster: aks-prod\n    user: admin\ncurrent-context: aks-prod\nusers:\n- name: admin\n  user:\n{user}"
    );
    std::fs::write(&file, text).unwrap();
    file
}

fn token_user() -> String {
    format!("    token: {KUBE_TOKEN}\n")
}

pub(crate) fn run_json(output: &std::process::Output) -> Value {
    assert!(
        output.status.code().is_some_and(|c| c != 2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_of(output)
}

pub(crate) fn message_of<'a>(report: &'a Value, id: &str) -> &'a str {
    check_of(report, id)["message"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kubeconfig_token_reads_every_page_and_the_bundle_replays_it_without_the_token() {
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &token_user());
    let flags = ["--kubeconfig", config.to_str().unwrap()];

    let live = run(fake.check("ready", &[&flags[..], &["-o", "json"]].concat())).await;
    let report = run_json(&live);
    assert_eq!(
        status_of(&report, "volume-snapshot-class"),
        "pass",
        "{}",
        message_of(&report, "volume-snapshot-class")
    );
    assert_eq!(status_of(&report, "velero-absent"), "fail");
    assert!(message_of(&report, "velero-absent").contains("deployment backup-tools/velero"));
    assert_eq!(status_of(&report, "volume-types"), "warn");
    assert!(message_of(&report, "volume-types").contains("shop/uploads"));
    assert_eq!(status_of(&report, "backup-extension-pods"), "fail");
    assert!(message_of(&report, "backup-extension-pods").contains(
        "dataprotection-microsoft-kubernetes-agent-5c9d (Running; manager: CrashLoopBackOff)"
    ));
    let requests = kube.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
    assert!(requests
        .iter()
        .all(|r| !r.url.path().contains("secrets") && !r.url.path().contains("configmaps")));
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/apis/apps/v1/deployments")
            .count(),
        2,
        "both pages of deployments"
    );

    let bundle = dir.path().join("bundle");
    let collected = run(fake.collect("ready", &bundle, &flags)).await;
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let replay =
        run(fake.command(&["check", "--bundle", bundle.to_str().unwrap(), "-o", "json"])).await;
    assert_eq!(replay.status.code(), live.status.code());
    assert_eq!(json_of(&replay), report);

    let names: Vec<String> = std::fs::read_dir(bundle.join("reads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("kubernetes-"))
            .count(),
        // The checks' seven lists, and the four `diagnose` adds (Stork's records and pods).
        11,
        "{names:?}"
    );
    let everything = written(&bundle, &[&live, &replay, &collected]);
    assert!(!everything.contains(KUBE_TOKEN));
    // Only the kept fields: no pod IP, no container env.
    for dropped in ["10.244.0.12", "secretKeyRef", "nodeStageSecretRef"] {
        assert!(!everything.contains(dropped), "{dropped}");
    }
}

/// Standard base64, as kubeconfigs carry `*-data` fields (no crate needed for PEM text).
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Everything a run wrote: every byte of the bundle under `dir` and the outputs' stdout
/// and stderr, as text (for what must never appear in any of it).
pub(crate) fn written(dir: &Path, outputs: &[&std::process::Output]) -> String {
    let mut everything = String::new();
    for file in walk_if_any(dir) {
        everything.push_str(&String::from_utf8_lossy(&std::fs::read(file).unwrap()));
    }
    for output in outputs {
        everything.push_str(&String::from_utf8_lossy(&output.stdout));
        everything.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    everything
}

/// Every file under `dir`, or none when it was never written.
fn walk_if_any(dir: &Path) -> Vec<PathBuf> {
    if dir.exists() {
        walk(dir)
    } else {
        Vec::new()
    }
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
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

#[tokio::test(flavor = "multi_thread")]
async fn an_exec_plugin_authenticates_as_kubectl_would() {
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(EXEC_TOKEN)).await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("credential.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{EXEC_TOKEN}\"}}}}'\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let user = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n      interactiveMode: Never\n",
        script.display()
    );
    let config = kubeconfig(dir.path(), &kube.uri(), &user);
    let out = run(fake.check(
        "ready",
        &["--kubeconfig", config.to_str().unwrap(), "-o", "json"],
    ))
    .await;
    let report = run_json(&out);
    assert_eq!(
        status_of(&report, "volume-snapshot-class"),
        "pass",
        "{}",
        message_of(&report, "volume-snapshot-class")
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(EXEC_TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forbidden_list_is_an_error_naming_the_rbac_rule() {
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    Mock::given(method("GET"))
        .and(path("/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "customresourcedefinitions.apiextensions.k8s.io is forbidden: User \"preflight\" cannot list resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at the cluster scope",
            "reason": "Forbidden", "details": {"group": "apiextensions.k8s.io", "kind": "customresourcedefinitions"}, "code": 403
        })))
        .with_priority(1)
        .mount(&kube)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &token_user());
    let out = run(fake.check(
        "ready",
        &[
            "--kubeconfig",
            config.to_str().unwrap(),
            "-o",
            "json",
            "--profile",
            "pxb",
        ],
    ))
    .await;
    let report = run_json(&out);
    assert_eq!(status_of(&report, "volume-snapshot-class"), "pass");
    let out = run(fake.check(
        "ready",
        &["--kubeconfig", config.to_str().unwrap(), "-o", "json"],
    ))
    .await;
    let report = run_json(&out);
    assert_eq!(status_of(&report, "velero-absent"), "error");
    assert!(message_of(&report, "velero-absent")
        .contains("list customresourcedefinitions (apiGroup apiextensions.k8s.io)"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a fail elsewhere wins over incomplete"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_kubeconfig_is_used_only_for_this_cluster() {
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &token_user());

    // The current context is 127.0.0.1, not the cluster's FQDN: skipped, saying so.
    let mut cmd = fake.check("ready", &["-o", "json"]);
    cmd.env("KUBECONFIG", &config);
    let report = run_json(&run(cmd).await);
    assert_eq!(status_of(&report, "velero-absent"), "skip");
    assert!(message_of(&report, "velero-absent")
        .contains("context 'aks-prod' points at http://127.0.0.1"));
    assert!(kube.received_requests().await.unwrap().is_empty());

    // The cluster's API server name is the context's host: read.
    let mut cluster = FakeArm::body("ready", CLUSTER);
    cluster["properties"]["fqdn"] = json!("127.0.0.1");
    fake.answer(CLUSTER, 200, cluster).await;
    let mut cmd = fake.check("ready", &["-o", "json"]);
    cmd.env("KUBECONFIG", &config);
    let report = run_json(&run(cmd).await);
    assert_eq!(status_of(&report, "volume-snapshot-class"), "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_or_failing_page_is_retried_as_arm_reads_are() {
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    for status in [429, 503] {
        Mock::given(method("GET"))
            .and(path("/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "the server is currently unable to handle the request", "reason": "ServiceUnavailable", "code": status
            })))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&kube)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &token_user());
    let out = run(fake.check(
        "ready",
        &["--kubeconfig", config.to_str().unwrap(), "-o", "json"],
    ))
    .await;
    let report = run_json(&out);
    assert_eq!(
        status_of(&report, "volume-snapshot-class"),
        "pass",
        "{}",
        message_of(&report, "volume-snapshot-class")
    );
    let snapshot_class_requests = kube
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/volumesnapshotclasses"))
        .count();
    assert_eq!(snapshot_class_requests, 3);
}

/// The PV disks' SKUs come from ARM: one disk list for the node resource group holding
/// them (however its IDs spell it), and the disk's SKU outranks its StorageClass's.
#[tokio::test(flavor = "multi_thread")]
async fn a_pv_disks_sku_is_read_from_one_disk_list_per_resource_group() {
    const NODE_GROUP: &str =
        "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/MC_rg-aks-prod_aks-prod_eastus";
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    let disk_pv = |name: &str, group: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolume",
               "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": "disk.csi.azure.com"}},
               "spec": {"capacity": {"storage": "64Gi"}, "accessModes": ["ReadWriteOnce"],
                        "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop", "name": format!("data-{name}")},
                        "csi": {"driver": "disk.csi.azure.com", "fsType": "ext4",
                                "volumeHandle": format!("{group}/providers/Microsoft.Compute/disks/{name}")},
                        "storageClassName": "managed-csi-premium"},
               "status": {"phase": "Bound"}})
    };
    let answers = [
        (
            "/api/v1/persistentvolumes",
            list(
                "PersistentVolumeList",
                vec![
                    disk_pv("pvc-a", NODE_GROUP),
                    disk_pv("pvc-b", &NODE_GROUP.to_ascii_lowercase()),
                ],
                None,
            ),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            list(
                "StorageClassList",
                vec![
                    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "managed-csi-premium"}, "provisioner": "disk.csi.azure.com", "parameters": {"skuname": "Premium_LRS"}}),
                ],
                None,
            ),
        ),
    ];
    for (at, body) in answers {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(1)
            .mount(&kube)
            .await;
    }
    let disks_path = format!("{NODE_GROUP}/providers/Microsoft.Compute/disks");
    let disk = |name: &str, sku: &str| {
        json!({"name": name, "id": format!("{NODE_GROUP}/providers/Microsoft.Compute/disks/{name}"),
               "type": "Microsoft.Compute/disks", "location": "eastus", "sku": {"name": sku},
               "properties": {"diskSizeGB": 64, "provisioningState": "Succeeded", "diskState": "Attached"}})
    };
    fake.answer(
        &disks_path,
        200,
        json!({"value": [disk("pvc-a", "PremiumV2_LRS"), disk("pvc-b", "Premium_LRS")]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &token_user());

    let report = run_json(
        &run(fake.check(
            "ready",
            &["--kubeconfig", config.to_str().unwrap(), "-o", "json"],
        ))
        .await,
    );
    assert_eq!(status_of(&report, "volume-types"), "warn");
    let message = message_of(&report, "volume-types");
    assert!(
        message.contains(
            "1 of 2 bound persistent volume(s) will not be backed up: shop/data-pvc-a (PV pvc-a): Premium SSD v2 disk (PremiumV2_LRS, from the disk's SKU in ARM)"
        ),
        "{message}"
    );
    let disk_lists: Vec<_> = fake
        .arm_requests()
        .await
        .into_iter()
        .filter(|r| r.url.path().eq_ignore_ascii_case(&disks_path))
        .collect();
    assert_eq!(disk_lists.len(), 1);
    assert!(disk_lists[0]
        .url
        .query()
        .unwrap()
        .contains("api-version=2024-03-02"));
}

/// A throttled page waits as long as the API server's `Retry-After` asks (2 s here, where
/// the backoff alone would wait 0.5 s), and every attempt is a line of the `-v` call log.
#[tokio::test]
async fn a_throttled_page_waits_for_retry_after_and_each_attempt_is_logged() {
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    Mock::given(method("GET"))
        .and(path("/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "2")
                .set_body_json(json!({
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": "Too many requests, please try again later.", "reason": "TooManyRequests", "code": 429
                })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&kube)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &token_user());
    let started = std::time::Instant::now();
    let out = run(fake.check(
        "ready",
        &["--kubeconfig", config.to_str().unwrap(), "-o", "json", "-v"],
    ))
    .await;
    let elapsed = started.elapsed();
    let report = run_json(&out);
    assert_eq!(status_of(&report, "volume-snapshot-class"), "pass");
    assert!(
        elapsed >= std::time::Duration::from_secs(2),
        "the retry came after {elapsed:?}, before the 2 s Retry-After"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    let attempts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("volumesnapshotclasses") && l.contains("Kubernetes API"))
        .collect();
    assert_eq!(attempts.len(), 2, "{log}");
    assert!(attempts[0].contains("-> 429"), "{log}");
    assert!(attempts[1].contains("-> 200"), "{log}");
    assert!(!log.contains(KUBE_TOKEN), "the token reached the log");
}

/// A kubeconfig whose user authenticates with a client certificate and key (the key
/// planted): neither the key's text nor its base64 form reaches any output, report or
/// bundle byte.
#[tokio::test]
async fn a_client_certificate_and_key_never_leave_the_kubeconfig() {
    const KEY_MARK: &str = "plantedClientKeyMaterialQ7v";
    let pem =
        |kind: &str, body: &str| format!("-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n");
    let key_data = base64(pem("PRIVATE KEY", KEY_MARK).as_bytes());
    let cert_data = base64(pem("CERTIFICATE", "plantedClientCertificateQ7v").as_bytes());
    let user =
        format!("    client-certificate-data: {cert_data}\n    client-key-data: {key_data}\n");
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(Some(KUBE_TOKEN)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &kube.uri(), &user);
    let flags = ["--kubeconfig", config.to_str().unwrap()];
    let report = dir.path().join("report.json");
    let check = run(fake.check(
        "ready",
        &[
            flags[0],
            flags[1],
            "-v",
            "-o",
            &format!("json={}", report.display()),
        ],
    ))
    .await;
    let bundle = dir.path().join("bundle");
    let collect = run(fake.collect("ready", &bundle, &flags)).await;
    let mut texts = vec![
        String::from_utf8_lossy(&check.stdout).into_owned(),
        String::from_utf8_lossy(&check.stderr).into_owned(),
        String::from_utf8_lossy(&collect.stdout).into_owned(),
        String::from_utf8_lossy(&collect.stderr).into_owned(),
    ];
    texts.extend(std::fs::read_to_string(&report).ok());
    // This key is no key: the run stops before any read (exit 2, one line), and writes no
    // bundle; a usable one is read like the token above. Either way nothing may leak.
    assert_eq!(check.status.code(), Some(2), "{}", texts[1]);
    assert!(texts[1].contains("Kubernetes client"), "{}", texts[1]);
    assert_eq!(collect.status.code(), Some(2), "{}", texts[3]);
    texts.extend(
        walk_if_any(&bundle)
            .iter()
            .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned()),
    );
    for text in &texts {
        for secret in [
            KEY_MARK,
            key_data.as_str(),
            "plantedClientCertificateQ7v",
            cert_data.as_str(),
        ] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
