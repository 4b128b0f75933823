//! Azure Policy and egress checks end to end.

use crate::common::*;
use serde_json::{json, Value};

fn assignments_path() -> String {
    format!("{CLUSTER}/providers/Microsoft.Authorization/policyAssignments")
}

fn recorded_assignments() -> Value {
    fixture_reads("ready")
        .into_iter()
        .find(|r| r["filter"] == "atScope()")
        .unwrap()["body"]
        .clone()
}

async fn report_with_assignments(body: Value) -> Value {
    let fake = FakeArm::serving("ready").await;
    fake.answer_filtered(&assignments_path(), "atScope()", 200, body)
        .await;
    json_of(&run(fake.check("ready", &["-o", "json"])).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn initiative_members_take_the_assignments_excluded_namespaces() {
    let fake = FakeArm::serving("ready").await;
    let report = json_of(&run(fake.check("ready", &["-o", "json"])).await);
    let check = check_of(&report, "azure-policy-exclusion");
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("all 2 Kubernetes policies"),
        "two members of the initiative; the Indexed policy is not Kubernetes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_exclusion_the_initiative_warns_unless_not_enforced_or_audit() {
    let mut body = recorded_assignments();
    body["value"][0]["properties"]["parameters"]["excludedNamespaces"] =
        json!({"value": ["kube-system"]});
    let report = report_with_assignments(body.clone()).await;
    let check = check_of(&report, "azure-policy-exclusion");
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("should not allow privileged containers"),
        "{check}"
    );
    assert!(check["remediation"]
        .as_str()
        .unwrap()
        .contains("dataprotection-microsoft"));

    let mut not_enforced = body.clone();
    not_enforced["value"][0]["properties"]["enforcementMode"] = json!("DoNotEnforce");
    assert_eq!(
        status_of(
            &report_with_assignments(not_enforced).await,
            "azure-policy-exclusion"
        ),
        "pass"
    );

    let mut audit = body.clone();
    audit["value"][0]["properties"]["parameters"]["effect"] = json!({"value": "Audit"});
    assert_eq!(
        status_of(
            &report_with_assignments(audit).await,
            "azure-policy-exclusion"
        ),
        "pass"
    );

    let mut not_scoped = body;
    not_scoped["value"][0]["properties"]["notScopes"] =
        json!([format!("/subscriptions/{SUB}/resourceGroups/RG-AKS-PROD")]);
    assert_eq!(
        status_of(
            &report_with_assignments(not_scoped).await,
            "azure-policy-exclusion"
        ),
        "pass",
        "notScopes cover the cluster"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn omitted_parameter_falls_back_to_the_initiative_default() {
    let mut body = recorded_assignments();
    body["value"][0]["properties"]["parameters"] = json!({"effect": {"value": "Deny"}});
    let report = report_with_assignments(body).await;
    assert_eq!(
        status_of(&report, "azure-policy-exclusion"),
        "warn",
        "the default exclusions lack dataprotection-microsoft"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_policy_data_is_an_error() {
    let fake = FakeArm::serving("ready").await;
    fake.answer_filtered(
        &assignments_path(),
        "atScope()",
        403,
        authorization_failed("Microsoft.Authorization/policyAssignments/read", CLUSTER),
    )
    .await;
    let report = json_of(&run(fake.check("ready", &["-o", "json"])).await);
    assert_eq!(status_of(&report, "azure-policy-exclusion"), "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn restricted_egress_warns_with_the_fqdn_list() {
    for (outbound, private, expected) in [
        ("loadBalancer", false, "pass"),
        ("managedNATGateway", false, "pass"),
        ("userDefinedRouting", false, "warn"),
        ("loadBalancer", true, "warn"),
    ] {
        let mut cluster = FakeArm::body("ready", CLUSTER);
        cluster["properties"]["networkProfile"]["outboundType"] = json!(outbound);
        cluster["properties"]["apiServerAccessProfile"]["enablePrivateCluster"] = json!(private);
        let fake = FakeArm::serving("ready").await;
        fake.answer(CLUSTER, 200, cluster).await;
        let report = json_of(&run(fake.check("ready", &["-o", "json"])).await);
        let check = check_of(&report, "egress-fqdns");
        assert_eq!(check["status"], expected, "{outbound} private={private}");
        if expected == "warn" {
            let fix = check["remediation"].as_str().unwrap();
            assert!(
                fix.contains("mcr.microsoft.com")
                    && fix.contains("*.dp.kubernetesconfiguration.azure.com"),
                "{fix}"
            );
        }
    }
}
