//! `backup-container-empty` against a fake blob endpoint: the storage account's
//! `primaryEndpoints.blob` points at the fake (`common`), which answers the container
//! listing with `EnumerationResults` XML as the storage service does.

use crate::common::*;
use serde_json::{json, Value};

const STORAGE_ACCOUNT_NAME: &str = "staksbackupprod";

/// The container the `ready` fixture's backup extension names.
fn container() -> String {
    let extensions = FakeArm::body(
        "ready",
        &format!("{CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions"),
    );
    extensions["value"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| {
            e["properties"]["configurationSettings"]["configuration.backupStorageLocation.bucket"]
                .as_str()
        })
        .unwrap()
        .to_string()
}

async fn verdict(fake: &FakeArm) -> Value {
    let output = run(fake.check("ready", &["-o", "json"])).await;
    check_of(&json_of(&output), "backup-container-empty").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_container_passes_and_only_gets_with_a_storage_token_reach_it() {
    let fake = FakeArm::serving("ready").await;
    let check = verdict(&fake).await;
    assert_eq!(check["status"], "pass", "{check}");
    let blob = fake.blob_requests().await;
    assert_eq!(blob.len(), 1, "one listing page");
    for request in &blob {
        assert_eq!(request.method.as_str(), "GET");
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        for pair in [
            ("restype", "container"),
            ("comp", "list"),
            ("maxresults", "50"),
        ] {
            assert!(query.contains(&(pair.0.into(), pair.1.into())), "{query:?}");
        }
        assert_eq!(request.headers.get("x-ms-version").unwrap(), "2023-11-03");
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {ACCESS_TOKEN}")
        );
        assert!(request.url.path().ends_with(&format!("/{}", container())));
    }
    let token_requests = fake.token_request_bodies().await;
    assert!(
        token_requests
            .iter()
            .any(|body| body.contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default")),
        "{token_requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_outside_the_layout_warn_after_paging_through_next_marker() {
    let fake = FakeArm::serving("ready").await;
    let container = container();
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container,
        None,
        blob_listing(
            &["backups/nightly/velero-backup.json"],
            Some("2!96!MDAwMDQ2"),
        ),
    )
    .await;
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container,
        Some("2!96!MDAwMDQ2"),
        blob_listing(
            &["kopia/app/kopia.repository", "exports/customers.csv"],
            None,
        ),
    )
    .await;
    let check = verdict(&fake).await;
    assert_eq!(fake.blob_requests().await.len(), 2, "both pages");
    let message = check["message"].as_str().unwrap();
    // The ready fixture has the extension and a backup instance of the cluster: only the
    // blob outside the extension's layout is named.
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        message.contains("1 blobs unrelated to backup (exports/customers.csv)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn layout_blobs_after_a_backup_pass() {
    let fake = FakeArm::serving("ready").await;
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container(),
        None,
        blob_listing(
            &["backups/nightly/velero-backup.json", "metadata/revision"],
            None,
        ),
    )
    .await;
    let check = verdict(&fake).await;
    assert_eq!(check["status"], "pass", "{check}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_listing_is_an_error_naming_the_data_action() {
    let fake = FakeArm::serving("ready").await;
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container(),
        None,
        blob_permission_mismatch(),
    )
    .await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    let check = check_of(&json_of(&output), "backup-container-empty").clone();
    assert_eq!(check["status"], "error", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"),
        "{message}"
    );
    assert!(
        message.contains("AuthorizationPermissionMismatch"),
        "{message}"
    );
    assert_eq!(output.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collected_listing_replays_offline_with_the_same_verdict() {
    let fake = FakeArm::serving("ready").await;
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container(),
        None,
        blob_listing(&["exports/customers.csv"], None),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let collected = run(fake.collect("ready", &out, &[])).await;
    assert!(
        collected.status.success(),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let blob_files: Vec<String> = std::fs::read_dir(out.join("reads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("blob-"))
        .collect();
    assert_eq!(blob_files.len(), 1, "{blob_files:?}");
    let record = std::fs::read_to_string(out.join("reads").join(&blob_files[0])).unwrap();
    assert!(record.contains("exports/customers.csv"), "{record}");
    assert!(
        !record.contains("Etag") && !record.contains("BlockBlob"),
        "only names, sizes, times: {record}"
    );
    assert!(!record.contains(ACCESS_TOKEN), "{record}");
    let live = verdict(&fake).await;
    let offline =
        run(fake.command(&["check", "--bundle", out.to_str().unwrap(), "-o", "json"])).await;
    let offline = check_of(&json_of(&offline), "backup-container-empty").clone();
    assert_eq!(offline["status"], "warn", "{offline}");
    assert_eq!(offline["status"], live["status"]);
    assert_eq!(offline["message"], live["message"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_listing_stops_after_three_pages_and_counts_at_least() {
    let fake = FakeArm::serving("ready").await;
    let container = container();
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container,
        None,
        blob_listing(&["exports/a.csv"], Some("2!96!MQ")),
    )
    .await;
    // Every later page says more follow.
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container,
        Some("2!96!MQ"),
        blob_listing(&["exports/b.csv"], Some("2!96!MQ")),
    )
    .await;
    let check = verdict(&fake).await;
    assert_eq!(fake.blob_requests().await.len(), 3, "at most 3 pages");
    let message = check["message"].as_str().unwrap();
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        message.contains("at least 3 blobs unrelated to backup"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_before_any_backup_of_the_cluster_warn_naming_them() {
    let fake = FakeArm::serving("ready").await;
    // Without --snapshot-resource-group the vault's backup instances are read: none of them
    // protects this cluster, so no backup can have written to the container yet.
    fake.answer(
        &format!("{VAULT}/backupInstances"),
        200,
        json!({"value": []}),
    )
    .await;
    fake.answer_blobs(
        STORAGE_ACCOUNT_NAME,
        &container(),
        None,
        blob_listing(
            &["backups/old/velero-backup.json", "exports/customers.csv"],
            None,
        ),
    )
    .await;
    let output = run(fake.command(&[
        "check",
        "--cluster",
        CLUSTER,
        "--vault",
        VAULT,
        "-o",
        "json",
    ]))
    .await;
    let check = check_of(&json_of(&output), "backup-container-empty").clone();
    let message = check["message"].as_str().unwrap();
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        message.contains(
            "2 blobs unrelated to backup (backups/old/velero-backup.json, exports/customers.csv)"
        ),
        "{message}"
    );
    assert!(
        message.contains("no backup instance of this cluster"),
        "{message}"
    );
}
