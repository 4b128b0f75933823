//! Discovery of the inputs a run was not given: the vault from the cluster's trusted access
//! binding, the snapshot resource group from the vault's backup instance of the cluster.
//! Each case runs the ready fixture's cluster without `--vault` and
//! `--snapshot-resource-group` against the fake ARM.

use crate::common::*;
use serde_json::{json, Value};

const SNAPSHOT_RG: &str =
    "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-snapshots";

fn bindings_path() -> String {
    format!("{CLUSTER}/trustedAccessRoleBindings")
}

/// The vault's backup instance of the cluster, in the shape of Microsoft's
/// `PutBackupInstance_KubernetesClusterBackupDatasourceParameters` example.
fn aks_backup_instance() -> Value {
    json!({
        "id": format!("{VAULT}/backupInstances/aks-prod-bi"),
        "name": "aks-prod-bi",
        "type": "Microsoft.DataProtection/backupVaults/backupInstances",
        "properties": {
            "friendlyName": "aks-prod-bi",
            "dataSourceInfo": {
                "resourceID": CLUSTER.to_lowercase(), "resourceUri": CLUSTER,
                "datasourceType": "Microsoft.ContainerService/managedclusters",
                "resourceName": "aks-prod", "resourceType": "Microsoft.ContainerService/managedclusters",
                "resourceLocation": "eastus", "objectType": "Datasource"
            },
            "policyInfo": {
                "policyId": format!("{VAULT}/backupPolicies/aks-policy"),
                "policyParameters": {
                    "dataStoreParametersList": [{
                        "resourceGroupId": SNAPSHOT_RG,
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore"
                    }],
                    "backupDatasourceParametersList": [{
                        "objectType": "KubernetesClusterBackupDatasourceParameters",
                        "includedNamespaces": [], "excludedNamespaces": ["kube-system"],
                        "snapshotVolumes": true, "includeClusterScopeResources": true
                    }]
                }
            },
            "protectionStatus": {"status": "ProtectionConfigured"},
            "provisioningState": "Succeeded",
            "objectType": "BackupInstance"
        }
    })
}

/// The ready fixture, whose vault also holds a backup instance of the cluster.
async fn fake_with_instance() -> FakeArm {
    let fake = FakeArm::serving("ready").await;
    let path = format!("{VAULT}/backupInstances");
    fake.answer(&path, 200, json!({"value": [aks_backup_instance()]}))
        .await;
    fake
}

fn cluster_only(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["check", "--cluster", CLUSTER, "-o", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

async fn check_cluster_only(fake: &FakeArm, extra: &[&str]) -> (Option<i32>, Value) {
    let args = cluster_only(extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(fake.command(&refs)).await;
    (output.status.code(), json_of(&output))
}

fn evidence_text(report: &Value, id: &str) -> String {
    check_of(report, id)["evidence"].to_string()
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].to_string(), c["status"].to_string()))
        .collect()
}

#[tokio::test]
async fn the_vault_and_snapshot_group_are_discovered_and_judged_as_if_given() {
    let fake = fake_with_instance().await;
    let (given_code, given) = {
        let output = run(fake.check("ready", &["-o", "json"])).await;
        (output.status.code(), json_of(&output))
    };
    let (code, report) = check_cluster_only(&fake, &[]).await;
    assert_eq!(code, given_code);
    assert_eq!(
        statuses(&report),
        statuses(&given),
        "same verdicts as with the flags"
    );

    let target = &report["target"];
    assert!(target["vault"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(VAULT));
    assert_eq!(target["snapshot_resource_group"], SNAPSHOT_RG);
    for id in [
        "trusted-access",
        "vault-identity",
        "role-vault-reader-on-cluster",
    ] {
        let evidence = evidence_text(&report, id);
        assert!(
            evidence.contains("discovered from trusted access binding backup-bv-aks-prod"),
            "{id}: {evidence}"
        );
    }
    for id in [
        "role-vault-reader-on-snapshot-rg",
        "role-cluster-contributor-on-snapshot-rg",
    ] {
        let evidence = evidence_text(&report, id);
        assert!(
            evidence.contains("discovered from backup instance aks-prod-bi of vault bv-aks-prod"),
            "{id}: {evidence}"
        );
    }
    // Given inputs carry no discovery note.
    assert!(!evidence_text(&given, "trusted-access").contains("discovered"));

    // Read once, by the run that had no --snapshot-resource-group, at the DataProtection
    // api-version.
    let instance_reads: Vec<_> = fake
        .arm_requests()
        .await
        .into_iter()
        .filter(|r| {
            r.url
                .path()
                .to_ascii_lowercase()
                .ends_with("/backupinstances")
        })
        .collect();
    assert_eq!(instance_reads.len(), 1);
    assert_eq!(
        instance_reads[0].url.query(),
        Some("api-version=2025-07-01")
    );
}

#[tokio::test]
async fn several_backup_operator_bindings_are_named_not_guessed() {
    let fake = fake_with_instance().await;
    let mut bindings = FakeArm::body("ready", &bindings_path());
    let second_vault = VAULT.replace("bv-aks-prod", "bv-aks-dr");
    bindings["value"].as_array_mut().unwrap().push(json!({
        "id": format!("{CLUSTER}/trustedAccessRoleBindings/backup-bv-aks-dr"),
        "type": "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings",
        "name": "backup-bv-aks-dr",
        "properties": {
            "sourceResourceId": second_vault,
            "roles": ["Microsoft.DataProtection/backupVaults/backup-operator"],
            "provisioningState": "Succeeded"
        }
    }));
    fake.answer(&bindings_path(), 200, bindings).await;

    let (code, report) = check_cluster_only(&fake, &[]).await;
    assert_eq!(code, Some(0), "skips alone keep a run ready");
    assert_eq!(report["target"].get("vault"), None);
    let trusted = check_of(&report, "trusted-access");
    assert_eq!(trusted["status"], "skip");
    let message = trusted["message"].as_str().unwrap();
    assert!(
        message.contains("backup-bv-aks-prod")
            && message.contains("backup-bv-aks-dr")
            && message.contains("--vault"),
        "{message}"
    );
    let (strict, _) = check_cluster_only(&fake, &["--fail-on", "skip"]).await;
    assert_eq!(
        strict,
        Some(1),
        "--fail-on skip: a forgotten --vault is not ready"
    );
}

#[tokio::test]
async fn a_vault_without_a_backup_instance_names_the_missing_snapshot_group() {
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        &format!("{VAULT}/backupInstances"),
        200,
        json!({"value": []}),
    )
    .await;
    let (_, report) = check_cluster_only(&fake, &[]).await;
    assert!(report["target"]["vault"].is_string());
    let check = check_of(&report, "role-vault-reader-on-snapshot-rg");
    assert_eq!(check["status"], "skip");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("--snapshot-resource-group")
            && message.contains("no backup instance of vault bv-aks-prod"),
        "{message}"
    );
}

#[tokio::test]
async fn bundles_replay_discovery_offline() {
    let fake = fake_with_instance().await;
    let (_, live) = check_cluster_only(&fake, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let collect = fake.command(&[
        "collect",
        "--out",
        out.to_str().unwrap(),
        "--cluster",
        CLUSTER,
    ]);
    assert!(run(collect).await.status.success());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["target"].get("vault"),
        None,
        "the manifest keeps what was given"
    );
    let replay = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .args(["check", "--bundle", out.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    let replayed = json_of(&replay);
    assert_eq!(replayed["target"]["snapshot_resource_group"], SNAPSHOT_RG);
    assert!(evidence_text(&replayed, "trusted-access").contains("discovered from"));
    assert_eq!(replayed["checks"], live["checks"]);
    assert_eq!(replayed["target"], live["target"]);
}
