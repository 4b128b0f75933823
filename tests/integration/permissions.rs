//! Permission checks end to end: the real binary, the fake ARM, RBAC data in ARM's shapes.
//! Each case edits the ready fixture's role assignments, definitions or denies.

use crate::common::*;
use serde_json::{json, Value};

const VAULT_P: &str = "c009b9a0-0024-417c-83cd-025d3776045d";
const CLUSTER_P: &str = "3c6a0b7e-5f2d-4a1b-9c8e-1d2f3a4b5c6d";
const EXT_P: &str = "7d6c5b4a-4444-4555-8666-c77788899900";
const GROUP_P: &str = "5e4d3c2b-6666-4777-8888-d99900011122";
const NODE_RG: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/MC_rg-aks-prod_aks-prod_eastus";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const BLOB_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

fn assignments_path() -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments")
}

fn filter(principal: &str) -> String {
    format!("assignedTo('{principal}')")
}

fn assignment(principal: &str, principal_type: &str, role: &str, scope: &str, name: &str) -> Value {
    json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
        "name": name, "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": principal, "principalType": principal_type, "scope": scope,
            "condition": null, "conditionVersion": null, "createdOn": "2026-10-02T09:20:11.5128307Z"
        }
    })
}

/// The recorded assignment list of a principal in the ready fixture.
fn recorded_assignments(principal: &str) -> Vec<Value> {
    fixture_reads("ready")
        .into_iter()
        .find(|r| r["filter"].as_str() == Some(&filter(principal)))
        .map(|r| r["body"]["value"].as_array().unwrap().clone())
        .unwrap()
}

async fn with_assignments(principal: &str, list: Vec<Value>) -> FakeArm {
    let fake = FakeArm::serving("ready").await;
    fake.answer_filtered(
        &assignments_path(),
        &filter(principal),
        200,
        json!({"value": list}),
    )
    .await;
    fake
}

async fn report_of(fake: &FakeArm, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["-o", "json"];
    args.extend_from_slice(extra);
    let output = run(fake.check("ready", &args)).await;
    (output.status.code(), json_of(&output))
}

/// The vault's assignments with Reader-on-cluster replaced by `replacement`.
fn vault_list_with(replacement: Option<Value>) -> Vec<Value> {
    let mut list: Vec<Value> = recorded_assignments(VAULT_P)
        .into_iter()
        .filter(|a| {
            !(a["properties"]["scope"].as_str() == Some(CLUSTER)
                && a["properties"]["roleDefinitionId"]
                    .as_str()
                    .unwrap()
                    .ends_with(READER))
        })
        .collect();
    list.extend(replacement);
    list
}

#[tokio::test(flavor = "multi_thread")]
async fn role_requirements_pass_through_direct_inherited_and_group_assignments() {
    let sub_scope = format!("/subscriptions/{SUB}");
    let cases = [
        (
            "direct",
            assignment(VAULT_P, "ServicePrincipal", READER, CLUSTER, "a1"),
        ),
        (
            "inherited from the subscription",
            assignment(VAULT_P, "ServicePrincipal", READER, &sub_scope, "a2"),
        ),
        (
            "inherited in other casing",
            assignment(
                VAULT_P,
                "ServicePrincipal",
                READER,
                &CLUSTER
                    .to_lowercase()
                    .replace("resourcegroups", "RESOURCEGROUPS"),
                "a3",
            ),
        ),
        (
            "group-derived",
            assignment(
                GROUP_P,
                "Group",
                READER,
                "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-prod",
                "a4",
            ),
        ),
        (
            "superset role",
            assignment(VAULT_P, "ServicePrincipal", CONTRIBUTOR, CLUSTER, "a5"),
        ),
    ];
    for (name, grant) in cases {
        let fake = with_assignments(VAULT_P, vault_list_with(Some(grant))).await;
        let (code, report) = report_of(&fake, &[]).await;
        let check = check_of(&report, "role-vault-reader-on-cluster");
        assert_eq!(check["status"], "pass", "{name}: {check}");
        assert_eq!(code, Some(0), "{name}");
        let evidence = check["evidence"].to_string();
        assert!(
            evidence.contains("roleAssignments/a"),
            "{name}: the deciding assignment is named: {evidence}"
        );
        if name == "group-derived" {
            assert!(
                evidence.contains(&format!("via group {GROUP_P}")),
                "{evidence}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_sibling_scope_role_fails_with_a_pasteable_fix() {
    let sibling = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod2";
    for (name, replacement) in [
        ("missing", None),
        (
            "sibling",
            Some(assignment(
                VAULT_P,
                "ServicePrincipal",
                READER,
                sibling,
                "s1",
            )),
        ),
    ] {
        let fake = with_assignments(VAULT_P, vault_list_with(replacement)).await;
        let (code, report) = report_of(&fake, &[]).await;
        assert_eq!(code, Some(1), "{name}");
        let check = check_of(&report, "role-vault-reader-on-cluster");
        assert_eq!(check["status"], "fail", "{name}: {check}");
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("missing */read"),
            "{check}"
        );
        let fix = check["remediation"].as_str().unwrap();
        assert!(fix.starts_with(&format!(
            "az role assignment create --assignee-object-id {VAULT_P} --assignee-principal-type ServicePrincipal --role \"Reader\" --scope {CLUSTER}"
        )), "{fix}");
        assert!(fix.contains("Owner or User Access Administrator"), "{fix}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_grants_no_blob_data_to_the_extension_identity() {
    let account = ACCOUNT;
    let fake = with_assignments(
        EXT_P,
        vec![assignment(EXT_P, "ServicePrincipal", OWNER, account, "o1")],
    )
    .await;
    let (_, report) = report_of(&fake, &[]).await;
    let check = check_of(&report, "role-extension-blob-contributor");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains("blobs/read"),
        "{check}"
    );
    // Storage Blob Data Contributor itself, assigned at the resource group above, passes.
    let fake = with_assignments(
        EXT_P,
        vec![assignment(
            EXT_P,
            "ServicePrincipal",
            BLOB_CONTRIBUTOR,
            "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup",
            "b1",
        )],
    )
    .await;
    let (_, report) = report_of(&fake, &[]).await;
    assert_eq!(
        status_of(&report, "role-extension-blob-contributor"),
        "pass"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_actions_trimmed_custom_role_fails_naming_the_operation() {
    let install_guid = "4b1f0d6e-8a2c-4e5f-9b7d-1c2e3f4a5b6c";
    let path = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{install_guid}"
    );
    let mut role = FakeArm::body("ready", &path);
    role["properties"]["permissions"][0]["notActions"] =
        json!(["Microsoft.Network/networkSecurityGroups/write"]);
    let fake = FakeArm::serving("ready").await;
    fake.answer(&path, 200, role).await;
    let (code, report) = report_of(&fake, &[]).await;
    assert_eq!(code, Some(1));
    let check = check_of(&report, "pxb-install-permissions");
    assert_eq!(check["status"], "fail");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.ends_with("missing Microsoft.Network/networkSecurityGroups/write"),
        "{message}"
    );
    let fix = check["remediation"].as_str().unwrap();
    assert!(
        fix.starts_with(
            "pxb-preflight role-definition --for pxb-install --assignable-scope /subscriptions/"
        ),
        "{fix}"
    );
    assert!(
        fix.contains(&format!(
            "--role \"Portworx Backup install\" --scope {NODE_RG}"
        )),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn node_resource_group_deny_fails_pxb_permissions() {
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/denyAssignments");
    let mut denies = FakeArm::body("ready", &path);
    denies["value"].as_array_mut().unwrap().push(json!({
        "id": format!("{NODE_RG}/providers/Microsoft.Authorization/denyAssignments/d0d0"),
        "name": "d0d0", "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            "denyAssignmentName": "AKS node resource group lockdown",
            "permissions": [{"actions": ["*"], "notActions": ["*/read"], "dataActions": [], "notDataActions": []}],
            "scope": NODE_RG.to_lowercase(), "doNotApplyToChildScopes": false,
            "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
            "excludePrincipals": [], "isSystemProtected": true
        }
    }));
    let fake = FakeArm::serving("ready").await;
    fake.answer(&path, 200, denies).await;
    let (code, report) = report_of(&fake, &[]).await;
    assert_eq!(code, Some(1));
    for id in ["pxb-install-permissions", "pxb-app-cluster-permissions"] {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "fail", "{check}");
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("AKS node resource group lockdown"),
            "{check}"
        );
    }
    // The deny is on the node resource group only: the vault's roles elsewhere still pass.
    assert_eq!(status_of(&report, "role-vault-reader-on-cluster"), "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_role_assignments_are_errors_not_verdicts() {
    let fake = FakeArm::serving("ready").await;
    fake.answer_filtered(
        &assignments_path(),
        &filter(VAULT_P),
        403,
        authorization_failed(
            "Microsoft.Authorization/roleAssignments/read",
            &format!("/subscriptions/{SUB}"),
        ),
    )
    .await;
    let (code, report) = report_of(&fake, &[]).await;
    assert_eq!(code, Some(3));
    for id in [
        "role-vault-reader-on-cluster",
        "role-vault-reader-on-snapshot-rg",
        "role-vault-blob-reader",
    ] {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "error", "{check}");
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("Microsoft.Authorization/roleAssignments/read"),
            "{check}"
        );
    }
    assert_eq!(
        status_of(&report, "role-cluster-contributor-on-snapshot-rg"),
        "pass",
        "other principals are unaffected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_grant_warns_naming_the_condition() {
    let mut list = recorded_assignments(VAULT_P);
    let reader = list
        .iter_mut()
        .find(|a| a["properties"]["scope"].as_str() == Some(CLUSTER))
        .unwrap();
    reader["properties"]["condition"] =
        json!("@Resource[Microsoft.ContainerService/managedClusters:name] StringEquals 'aks-prod'");
    reader["properties"]["conditionVersion"] = json!("2.0");
    let fake = with_assignments(VAULT_P, list).await;
    let (code, report) = report_of(&fake, &[]).await;
    let check = check_of(&report, "role-vault-reader-on-cluster");
    assert_eq!(check["status"], "warn", "{check}");
    assert!(check["message"]
        .as_str()
        .unwrap()
        .contains("StringEquals 'aks-prod'"));
    assert_eq!(code, Some(0), "warnings alone are ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_custom_role_warns_about_propagation() {
    let guid = "6d3e2f1a-0b9c-4d8e-a7f6-5e4d3c2b1a09";
    let path =
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
    let mut role = FakeArm::body("ready", &path);
    let five_minutes_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    role["properties"]["updatedOn"] = json!(five_minutes_ago
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap());
    let fake = FakeArm::serving("ready").await;
    fake.answer(&path, 200, role).await;
    let (_, report) = report_of(&fake, &[]).await;
    let check = check_of(&report, "pxb-role-propagation");
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["evidence"]
            .to_string()
            .contains("Portworx Backup application cluster changed"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_resource_group_restore_uses_the_role_file() {
    const SOURCE: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-dr/providers/Microsoft.ContainerService/managedClusters/aks-dr";
    const SOURCE_NODE_RG: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/MC_rg-aks-dr_aks-dr_eastus";
    let fake = FakeArm::serving("ready").await;
    let mut source = FakeArm::body("ready", CLUSTER);
    source["id"] = json!(SOURCE);
    source["identity"]["principalId"] = json!("0e0e0e0e-1111-4222-8333-444455556666");
    source["properties"]["nodeResourceGroup"] = json!("MC_rg-aks-dr_aks-dr_eastus");
    fake.answer(SOURCE, 200, source).await;
    let dir = tempfile::tempdir().unwrap();
    let role_file = dir.path().join("restore-role.json");
    std::fs::write(&role_file, json!({
        "Name": "PXB restore (custom)", "IsCustom": true, "Description": "made from the PXB docs",
        "Actions": ["Microsoft.Compute/snapshots/read", "Microsoft.Compute/disks/write"],
        "NotActions": [], "AssignableScopes": [format!("/subscriptions/{SUB}")]
    }).to_string()).unwrap();
    let role_file = role_file.to_str().unwrap().to_string();

    // Without a grant at the source node RG: fail, naming the role file's actions.
    let (code, report) = report_of(
        &fake,
        &[
            "--restore-source-cluster",
            SOURCE,
            "--restore-role-file",
            &role_file,
        ],
    )
    .await;
    assert_eq!(code, Some(1));
    let check = check_of(&report, "pxb-restore-permissions");
    assert_eq!(check["status"], "fail", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("--restore-role-file 'PXB restore (custom)'")
            && message.contains(SOURCE_NODE_RG),
        "{message}"
    );
    assert!(
        message
            .ends_with("missing Microsoft.Compute/snapshots/read, Microsoft.Compute/disks/write"),
        "{message}"
    );

    // Contributor on the source node RG covers it.
    let mut list = recorded_assignments(CLUSTER_P);
    list.push(assignment(
        CLUSTER_P,
        "ServicePrincipal",
        CONTRIBUTOR,
        SOURCE_NODE_RG,
        "r1",
    ));
    fake.answer_filtered(
        &assignments_path(),
        &filter(CLUSTER_P),
        200,
        json!({"value": list}),
    )
    .await;
    let (_, report) = report_of(
        &fake,
        &[
            "--restore-source-cluster",
            SOURCE,
            "--restore-role-file",
            &role_file,
        ],
    )
    .await;
    assert_eq!(status_of(&report, "pxb-restore-permissions"), "pass");

    // Same resource group as the checked cluster: not needed, skipped.
    let same_rg = CLUSTER
        .replace("aks-prod", "aks-prod-b")
        .replace("rg-aks-prod-b", "rg-aks-prod");
    let mut twin = FakeArm::body("ready", CLUSTER);
    twin["identity"]["principalId"] = json!("0e0e0e0e-1111-4222-8333-444455556666");
    fake.answer(&same_rg, 200, twin).await;
    let (_, report) = report_of(&fake, &["--restore-source-cluster", &same_rg]).await;
    let check = check_of(&report, "pxb-restore-permissions");
    assert_eq!(check["status"], "skip", "{check}");
    assert!(check["message"]
        .as_str()
        .unwrap()
        .contains("same resource group"));
}

#[test]
fn role_definition_prints_what_az_role_definition_create_accepts() {
    let scope = format!("/subscriptions/{SUB}");
    for (kind, count) in [
        ("pxb-install", 21),
        ("pxb-app-cluster", 11),
        ("pxb-restore", 4),
    ] {
        let output = assert_cmd::Command::cargo_bin("pxb-preflight")
            .unwrap()
            .args([
                "role-definition",
                "--for",
                kind,
                "--assignable-scope",
                &scope,
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        let role: Value = serde_json::from_slice(&output.stdout).unwrap();
        for field in [
            "Name",
            "Description",
            "Actions",
            "NotActions",
            "DataActions",
            "NotDataActions",
            "AssignableScopes",
        ] {
            assert!(role.get(field).is_some(), "{kind} lacks {field}");
        }
        assert_eq!(role["Actions"].as_array().unwrap().len(), count, "{kind}");
        assert_eq!(role["AssignableScopes"], json!([scope]));
    }
    let bad = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .args([
            "role-definition",
            "--for",
            "pxb-install",
            "--assignable-scope",
            CLUSTER,
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_without_role_assignment_write_gets_a_warning() {
    // Contributor's blocks, as the permissions API returns them: no Microsoft.Authorization writes.
    let contributor = json!({"value": [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"], "dataActions": [], "notDataActions": []}]});
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        &format!("{CLUSTER}/providers/Microsoft.Authorization/permissions"),
        200,
        contributor,
    )
    .await;
    let (code, report) = report_of(&fake, &[]).await;
    let check = check_of(&report, "caller-roles");
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("cannot assign roles on aks-prod"),
        "{check}"
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        run(fake.check("ready", &["--fail-on", "warn"]))
            .await
            .status
            .code(),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_without_trusted_access_write_on_the_cluster_warns_naming_it() {
    let lacking = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/write";
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        &format!("{CLUSTER}/providers/Microsoft.Authorization/permissions"),
        200,
        json!({"value": [{"actions": ["*"], "notActions": [lacking], "dataActions": [], "notDataActions": []}]}),
    )
    .await;
    let (_, report) = report_of(&fake, &[]).await;
    let check = check_of(&report, "caller-roles");
    assert_eq!(check["status"], "warn", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("lacks {lacking} on aks-prod")),
        "{message}"
    );
    assert!(
        !message.contains("extensions/write"),
        "only the missing operation is named: {message}"
    );
}

const SNAPSHOT_RG: &str =
    "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-snapshots";
const SNAPSHOT_RG_CHECKS: [&str; 4] = [
    "role-vault-reader-on-snapshot-rg",
    "role-cluster-contributor-on-snapshot-rg",
    "role-vault-disk-snapshot-contributor",
    "role-vault-disk-data-operator",
];

#[tokio::test(flavor = "multi_thread")]
async fn roles_on_a_snapshot_resource_group_that_does_not_exist_skip() {
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        SNAPSHOT_RG,
        404,
        arm_error(
            "ResourceGroupNotFound",
            "Resource group 'rg-aks-snapshots' could not be found.",
        ),
    )
    .await;
    let (_, report) = report_of(&fake, &[]).await;
    for id in SNAPSHOT_RG_CHECKS {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "skip", "{check}");
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("the snapshot resource group rg-aks-snapshots does not exist"),
            "{check}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_snapshot_resource_group_is_still_evaluated() {
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        SNAPSHOT_RG,
        403,
        authorization_failed(
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            SNAPSHOT_RG,
        ),
    )
    .await;
    let (_, report) = report_of(&fake, &[]).await;
    for id in SNAPSHOT_RG_CHECKS {
        assert_eq!(status_of(&report, id), "pass", "{id}");
    }
}
