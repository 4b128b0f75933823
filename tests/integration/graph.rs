//! Deny assignments that name a group, end to end: the real binary, the fake ARM serving the
//! ready fixture, and the fake Microsoft Graph on the same server answering
//! `transitiveMemberOf` (paged through `@odata.nextLink`, or refused with a 403).

use crate::common::*;
use serde_json::{json, Value};

const CLUSTER_P: &str = "3c6a0b7e-5f2d-4a1b-9c8e-1d2f3a4b5c6d";
/// A group with no role assignment anywhere: only Graph can tell who is in it.
const PLATFORM_GROUP: &str = "2b1a0f9e-8d7c-4b6a-9584-736251403f2e";
const NODE_RG: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/MC_rg-aks-prod_aks-prod_eastus";
const DENY_NAME: &str = "Deny node resource group writes to the platform group";

fn denies_path() -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/denyAssignments")
}

/// The ready fixture's denies plus one on the node resource group naming `principal`.
fn denies_with(principal: &str) -> Value {
    let mut denies = FakeArm::body("ready", &denies_path());
    denies["value"].as_array_mut().unwrap().push(json!({
        "id": format!("{NODE_RG}/providers/Microsoft.Authorization/denyAssignments/e1e1"),
        "name": "e1e1", "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            "denyAssignmentName": DENY_NAME,
            "description": "Blocks writes by members of the platform group",
            "permissions": [{"actions": ["*"], "notActions": ["*/read"], "dataActions": [], "notDataActions": []}],
            "scope": NODE_RG.to_lowercase(), "doNotApplyToChildScopes": false,
            "principals": [{"id": principal, "type": "Group"}],
            "excludePrincipals": [], "isSystemProtected": false
        }
    }));
    denies
}

async fn fake_with_group_deny() -> FakeArm {
    let fake = FakeArm::serving("ready").await;
    fake.answer(&denies_path(), 200, denies_with(PLATFORM_GROUP))
        .await;
    fake
}

async fn report_of(fake: &FakeArm) -> (Option<i32>, Value) {
    let output = run(fake.check("ready", &["-o", "json"])).await;
    (output.status.code(), json_of(&output))
}

/// Graph's 403 when the caller may not read group memberships.
fn graph_forbidden() -> Value {
    json!({"error": {
        "code": "Authorization_RequestDenied",
        "message": "Insufficient privileges to complete the operation.",
        "innerError": {"date": "2026-11-29T10:00:00", "request-id": "7d1f0c2e-1111-4222-8333-944455566677", "client-request-id": "7d1f0c2e-1111-4222-8333-944455566677"}
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deny_on_a_group_graph_says_the_principal_is_in_fails_the_check() {
    let fake = fake_with_group_deny().await;
    fake.answer_groups(CLUSTER_P, 200, graph_groups(&[PLATFORM_GROUP], None))
        .await;
    let (code, report) = report_of(&fake).await;
    assert_eq!(code, Some(1));
    let check = check_of(&report, "pxb-install-permissions");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains(DENY_NAME),
        "{check}"
    );
    // Graph was read with a token for the Graph audience, never the ARM one.
    let token_requests = fake.token_request_bodies().await;
    assert!(
        token_requests
            .iter()
            .any(|body| body.contains("graph.microsoft.com%2F.default")),
        "{token_requests:?}"
    );
    for request in fake.graph_requests().await {
        assert_eq!(request.method.as_str(), "GET");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deny_on_a_group_the_principal_is_not_in_passes() {
    let fake = fake_with_group_deny().await;
    fake.answer_groups(CLUSTER_P, 200, graph_groups(&[], None))
        .await;
    let (_, report) = report_of(&fake).await;
    assert_eq!(
        status_of(&report, "pxb-install-permissions"),
        "pass",
        "{}",
        check_of(&report, "pxb-install-permissions")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_memberships_warn_naming_the_deny_and_the_group() {
    let fake = fake_with_group_deny().await;
    fake.answer_groups(CLUSTER_P, 403, graph_forbidden()).await;
    let (code, report) = report_of(&fake).await;
    assert_eq!(code, Some(0), "a warning alone leaves the cluster ready");
    let check = check_of(&report, "pxb-install-permissions");
    assert_eq!(check["status"], "warn", "{check}");
    let message = check["message"].as_str().unwrap();
    for expected in [
        DENY_NAME,
        PLATFORM_GROUP,
        "HTTP 403",
        "GroupMember.Read.All",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // The deny is on the node resource group only: the vault's roles elsewhere still pass.
    assert_eq!(status_of(&report, "role-vault-reader-on-cluster"), "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_deny_naming_another_principal_means_no_graph_request() {
    let fake = FakeArm::serving("ready").await;
    let (code, _) = report_of(&fake).await;
    assert_eq!(code, Some(0));
    // A deny on all principals (the AKS lockdown) needs no membership either.
    fake.answer(
        &denies_path(),
        200,
        denies_with("00000000-0000-0000-0000-000000000000"),
    )
    .await;
    report_of(&fake).await;
    assert!(fake.graph_requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn memberships_are_followed_through_every_page() {
    let fake = fake_with_group_deny().await;
    let next = format!(
        "{}{}?$select=id&$skiptoken=RFNwdAIAAQAAAB",
        fake.server.uri(),
        graph_groups_path(CLUSTER_P)
    );
    let unrelated = "0c0c0c0c-1111-4222-8333-944455566677";
    fake.answer_groups(CLUSTER_P, 200, graph_groups(&[unrelated], Some(next)))
        .await;
    fake.answer_groups_page(
        CLUSTER_P,
        "RFNwdAIAAQAAAB",
        graph_groups(&[PLATFORM_GROUP], None),
    )
    .await;
    let (_, report) = report_of(&fake).await;
    let check = check_of(&report, "pxb-install-permissions");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains(DENY_NAME),
        "{check}"
    );
    let pages = fake
        .graph_requests()
        .await
        .into_iter()
        .filter(|r| r.url.path().contains(CLUSTER_P))
        .count();
    assert_eq!(pages, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_with_graph_reads_replays_the_same_verdicts() {
    let fake = fake_with_group_deny().await;
    fake.answer_groups(CLUSTER_P, 200, graph_groups(&[PLATFORM_GROUP], None))
        .await;
    let (live_code, live) = report_of(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let collected = run(fake.collect("ready", &bundle, &[])).await;
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let graph_files: Vec<String> = std::fs::read_dir(bundle.join("reads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("graph-"))
        .collect();
    assert!(!graph_files.is_empty());
    let replay = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .args(["check", "--bundle", bundle.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), live_code);
    let replayed = json_of(&replay);
    for check in live["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        assert_eq!(
            status_of(&replayed, id),
            check["status"].as_str().unwrap(),
            "{id}"
        );
    }
    assert_eq!(
        check_of(&replayed, "pxb-install-permissions")["message"],
        check_of(&live, "pxb-install-permissions")["message"]
    );
}
