//! A Backup vault whose identities are user-assigned, end to end: which identity the role
//! checks evaluate, `--vault-identity`, and a bundle of such a vault replaying the same.
//! Each case edits the ready fixture's vault body (the `withMSI` shape plus ARM's
//! `userAssignedIdentities` map) and serves the identities' role assignments.

use crate::common::*;
use serde_json::{json, Value};

const SYSTEM_P: &str = "c009b9a0-0024-417c-83cd-025d3776045d";
const UAI_A: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bv-identity-a";
const UAI_A_P: &str = "a1a1a1a1-1111-4111-8111-a1a1a1a1a1a1";
const UAI_B: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bv-identity-b";
const UAI_B_P: &str = "b2b2b2b2-2222-4222-8222-b2b2b2b2b2b2";

/// The vault's role checks that the ready fixture's target can evaluate.
const VAULT_ROLE_CHECKS: &[&str] = &[
    "role-vault-reader-on-cluster",
    "role-vault-reader-on-snapshot-rg",
    "role-vault-disk-snapshot-contributor",
    "role-vault-disk-data-operator",
    "role-vault-blob-reader",
];

fn assignments_path() -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments")
}

fn filter(principal: &str) -> String {
    format!("assignedTo('{principal}')")
}

/// The ready vault's own role assignments, as if made to `principal`.
fn vault_roles_for(principal: &str) -> Value {
    let recorded = fixture_reads("ready")
        .into_iter()
        .find(|r| r["filter"].as_str() == Some(&filter(SYSTEM_P)))
        .unwrap();
    let text = recorded["body"].to_string().replace(SYSTEM_P, principal);
    serde_json::from_str(&text).unwrap()
}

/// The ready vault with `identity` in place of its system-assigned one.
fn vault_body(identity: Value) -> Value {
    let mut body = FakeArm::body("ready", VAULT);
    body["identity"] = identity;
    body
}

fn user_assigned(kind: &str, identities: &[(&str, &str)]) -> Value {
    let map: serde_json::Map<String, Value> = identities
        .iter()
        .map(|(id, principal)| {
            (
                id.to_string(),
                json!({"principalId": principal, "clientId": "0c0c0c0c-0000-4000-8000-0c0c0c0c0c0c"}),
            )
        })
        .collect();
    let mut identity = json!({"type": kind, "userAssignedIdentities": map});
    if kind.starts_with("SystemAssigned") {
        identity["principalId"] = json!(SYSTEM_P);
        identity["tenantId"] = json!(TENANT);
    }
    identity
}

/// The ready fixture with the vault's identity replaced and each principal's assignments:
/// `holding` has the vault's roles, every other listed principal none.
async fn fake_with(identity: Value, holding: Option<&str>, others: &[&str]) -> FakeArm {
    let fake = FakeArm::serving("ready").await;
    fake.answer(VAULT, 200, vault_body(identity)).await;
    if let Some(principal) = holding {
        fake.answer_filtered(
            &assignments_path(),
            &filter(principal),
            200,
            vault_roles_for(principal),
        )
        .await;
    }
    for principal in others {
        fake.answer_filtered(
            &assignments_path(),
            &filter(principal),
            200,
            json!({"value": []}),
        )
        .await;
    }
    fake
}

async fn report_of(fake: &FakeArm, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["-o", "json"];
    args.extend_from_slice(extra);
    let output = run(fake.check("ready", &args)).await;
    (output.status.code(), json_of(&output))
}

/// How many role-assignment lists were requested for `principal`.
async fn assignment_reads_of(fake: &FakeArm, principal: &str) -> usize {
    fake.arm_requests()
        .await
        .iter()
        .filter(|r| {
            r.url
                .query_pairs()
                .any(|(k, v)| k == "$filter" && v == filter(principal))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_assigned_only_vault_is_evaluated_through_its_identity() {
    let fake = fake_with(
        user_assigned("UserAssigned", &[(UAI_A, UAI_A_P)]),
        Some(UAI_A_P),
        &[],
    )
    .await;
    let (code, report) = report_of(&fake, &[]).await;
    let identity = check_of(&report, "vault-identity");
    assert_eq!(identity["status"], "pass", "{identity}");
    assert!(
        identity["message"]
            .as_str()
            .unwrap()
            .contains(&format!("bv-identity-a (principal {UAI_A_P})")),
        "{identity}"
    );
    assert!(
        identity["evidence"].to_string().contains(UAI_A),
        "{identity}"
    );
    for id in VAULT_ROLE_CHECKS {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "pass", "{id}: {check}");
        let evidence = check["evidence"].to_string();
        assert!(
            evidence.contains(UAI_A) && evidence.contains(UAI_A_P),
            "{id}: {evidence}"
        );
    }
    assert_eq!(code, Some(0));
    assert_eq!(assignment_reads_of(&fake, UAI_A_P).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_several_identities_the_one_holding_every_role_passes() {
    let identity = user_assigned("UserAssigned", &[(UAI_A, UAI_A_P), (UAI_B, UAI_B_P)]);
    let fake = fake_with(identity, Some(UAI_B_P), &[UAI_A_P]).await;
    let (code, report) = report_of(&fake, &[]).await;
    for id in VAULT_ROLE_CHECKS {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "pass", "{id}: {check}");
        let evidence = check["evidence"].to_string();
        assert!(
            evidence.contains(UAI_B) && evidence.contains(UAI_B_P),
            "{id}: {evidence}"
        );
        assert!(!evidence.contains(UAI_A_P), "{id}: {evidence}");
    }
    assert_eq!(code, Some(0));
    // Each identity's assignments are read once, however many checks need them.
    assert_eq!(assignment_reads_of(&fake, UAI_A_P).await, 1);
    assert_eq!(assignment_reads_of(&fake, UAI_B_P).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_no_identity_holds_the_roles_each_is_named() {
    let identity = user_assigned("UserAssigned", &[(UAI_A, UAI_A_P), (UAI_B, UAI_B_P)]);
    let fake = fake_with(identity, None, &[UAI_A_P, UAI_B_P]).await;
    let (code, report) = report_of(&fake, &[]).await;
    assert_eq!(code, Some(1));
    let check = check_of(&report, "role-vault-reader-on-cluster");
    assert_eq!(check["status"], "fail", "{check}");
    let message = check["message"].as_str().unwrap();
    for named in ["bv-identity-a", UAI_A_P, "bv-identity-b", UAI_B_P] {
        assert!(message.contains(named), "{named} is not named: {message}");
    }
    let evidence = check["evidence"].to_string();
    for named in [UAI_A, UAI_B] {
        assert!(evidence.contains(named), "{named} is not named: {evidence}");
    }
    assert!(message.contains("missing */read"), "{message}");
    let fix = check["remediation"].as_str().unwrap();
    assert!(
        fix.starts_with("az role assignment create --assignee-object-id "),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn vault_identity_picks_one_of_the_vault_identities() {
    let both = || user_assigned("SystemAssigned, UserAssigned", &[(UAI_A, UAI_A_P)]);
    // The system-assigned identity is the default; --vault-identity picks the user-assigned
    // one (in any casing), and only its assignments are read.
    let fake = fake_with(both(), Some(UAI_A_P), &[SYSTEM_P]).await;
    let (code, report) = report_of(&fake, &[]).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        status_of(&report, "role-vault-reader-on-cluster"),
        "fail",
        "the system-assigned identity holds no role here"
    );
    let fake = fake_with(both(), Some(UAI_A_P), &[SYSTEM_P]).await;
    let (code, report) = report_of(&fake, &["--vault-identity", &UAI_A.to_uppercase()]).await;
    assert_eq!(code, Some(0), "{report}");
    let check = check_of(&report, "role-vault-reader-on-cluster");
    assert!(check["evidence"].to_string().contains(UAI_A_P), "{check}");
    assert_eq!(assignment_reads_of(&fake, SYSTEM_P).await, 0);
    assert_eq!(
        report["target"]["vault_identity"].as_str(),
        Some(UAI_A.to_uppercase().as_str())
    );
    // `SystemAssigned` picks the system-assigned one.
    let fake = fake_with(both(), Some(SYSTEM_P), &[UAI_A_P]).await;
    let (code, _) = report_of(&fake, &["--vault-identity", "SystemAssigned"]).await;
    assert_eq!(code, Some(0));
    assert_eq!(assignment_reads_of(&fake, UAI_A_P).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_the_vault_does_not_have_fails_vault_identity() {
    let fake = fake_with(
        user_assigned("UserAssigned", &[(UAI_A, UAI_A_P)]),
        Some(UAI_A_P),
        &[],
    )
    .await;
    let (code, report) = report_of(&fake, &["--vault-identity", UAI_B]).await;
    assert_eq!(code, Some(1));
    let check = check_of(&report, "vault-identity");
    assert_eq!(check["status"], "fail", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains(UAI_B) && message.contains(UAI_A),
        "{message}"
    );
    let reader = check_of(&report, "role-vault-reader-on-cluster");
    assert_eq!(reader["status"], "skip", "{reader}");
    assert!(
        reader["message"]
            .as_str()
            .unwrap()
            .contains("see vault-identity"),
        "{reader}"
    );
    // SystemAssigned on a vault without one fails the same way.
    let (_, report) = report_of(&fake, &["--vault-identity", "systemassigned"]).await;
    assert_eq!(status_of(&report, "vault-identity"), "fail");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_identity_that_is_no_identity_id_is_exit_2_before_any_request() {
    let fake = FakeArm::serving("ready").await;
    for bad in [
        "system",
        "not-an-id",
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
    ] {
        let output = run(fake.check("ready", &["--vault-identity", bad])).await;
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{bad}: {stderr}");
        assert!(stderr.contains("--vault-identity"), "{bad}: {stderr}");
    }
    assert!(fake.arm_requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_of_a_user_assigned_vault_replays_the_same() {
    for extra in [vec![], vec!["--vault-identity", UAI_B]] {
        let identity = user_assigned("UserAssigned", &[(UAI_A, UAI_A_P), (UAI_B, UAI_B_P)]);
        let fake = fake_with(identity, Some(UAI_B_P), &[UAI_A_P]).await;
        let (code, live) = report_of(&fake, &extra).await;
        assert_eq!(code, Some(0), "{live}");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let collected = run(fake.collect("ready", &out, &extra)).await;
        assert_eq!(collected.status.code(), Some(0));
        let replay = assert_cmd::Command::cargo_bin("pxb-preflight")
            .unwrap()
            .env_clear()
            .args(["check", "--bundle", out.to_str().unwrap(), "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(replay.status.code(), code);
        assert_eq!(json_of(&replay), live);
    }
}
