//! NSG checks end to end, from the ready fixture with one NSG changed.

use crate::common::*;
use serde_json::{json, Value};

const SUBNET_NSG: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-aks-nodes";

fn rule(name: &str, priority: u32, access: &str, source: &str, ports: Value) -> Value {
    let mut properties = json!({
        "protocol": "Tcp", "sourcePortRange": "*", "sourceAddressPrefix": source, "destinationAddressPrefix": "*",
        "access": access, "priority": priority, "direction": "Inbound",
        "sourcePortRanges": [], "destinationPortRanges": [], "sourceAddressPrefixes": [], "destinationAddressPrefixes": []
    });
    match ports {
        Value::Array(_) => properties["destinationPortRanges"] = ports,
        single => properties["destinationPortRange"] = single,
    }
    json!({"name": name, "id": format!("{SUBNET_NSG}/securityRules/{name}"), "properties": properties})
}

/// The fixture's service-tag allows, kept in cases about the PXB ports.
fn tag_allows() -> Vec<Value> {
    vec![
        rule(
            "AllowAzureBackupInbound",
            200,
            "Allow",
            "AzureBackup",
            json!("*"),
        ),
        rule(
            "AllowAzureCloudInbound",
            210,
            "Allow",
            "AzureCloud",
            json!("*"),
        ),
    ]
}

fn with_tag_allows(mut rules: Vec<Value>) -> Vec<Value> {
    rules.extend(tag_allows());
    rules
}

async fn with_subnet_rules(rules: Vec<Value>) -> (FakeArm, Value) {
    let mut body = FakeArm::body("ready", SUBNET_NSG);
    body["properties"]["securityRules"] = Value::Array(rules);
    let fake = FakeArm::serving("ready").await;
    fake.answer(SUBNET_NSG, 200, body).await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    (fake, json_of(&output))
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_on_10001_ahead_of_an_allow_fails_with_the_deciding_rule() {
    let (_, report) = with_subnet_rules(with_tag_allows(vec![
        rule("DenyPxbRest", 150, "Deny", "*", json!("10001")),
        rule(
            "AllowPxb",
            220,
            "Allow",
            "VirtualNetwork",
            json!(["10001", "10002"]),
        ),
    ]))
    .await;
    let check = check_of(&report, "pxb-nsg-ports");
    assert_eq!(check["status"], "fail", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("port 10001: nsg-aks-nodes rule DenyPxbRest (priority 150) denies"),
        "{message}"
    );
    assert!(
        !message.contains("port 10002"),
        "10002 is allowed: {message}"
    );
    let fix = check["remediation"].as_str().unwrap();
    assert!(
        fix.contains("--nsg-name nsg-aks-nodes")
            && fix.contains("--priority 149")
            && fix.contains("--destination-port-ranges 10001 10002"),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_ahead_of_the_deny_passes() {
    let (_, report) = with_subnet_rules(with_tag_allows(vec![
        rule(
            "AllowPxb",
            120,
            "Allow",
            "VirtualNetwork",
            json!("10001-10002"),
        ),
        rule("DenyPxbRest", 150, "Deny", "*", json!("10001")),
    ]))
    .await;
    assert_eq!(status_of(&report, "pxb-nsg-ports"), "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_service_tag_rules_warn_naming_the_default_deny() {
    let (_, report) = with_subnet_rules(vec![rule(
        "AllowPxb",
        220,
        "Allow",
        "VirtualNetwork",
        json!(["10001", "10002"]),
    )])
    .await;
    let check = check_of(&report, "nsg-backup-service-tags");
    assert_eq!(check["status"], "warn", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("AzureBackup: nsg-aks-nodes rule DenyAllInBound (priority 65500) denies"),
        "{message}"
    );
    assert!(
        message.contains("AzureCloud: nsg-aks-nodes rule DenyAllInBound"),
        "{message}"
    );
    assert!(
        !message.contains("aks-agentpool"),
        "the node resource group's NSG allows both: {message}"
    );
    assert!(check["remediation"]
        .as_str()
        .unwrap()
        .contains("--source-address-prefixes AzureBackup"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_nsg_is_an_error() {
    let fake = FakeArm::serving("ready").await;
    fake.answer(
        SUBNET_NSG,
        403,
        authorization_failed("Microsoft.Network/networkSecurityGroups/read", SUBNET_NSG),
    )
    .await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    assert_eq!(output.status.code(), Some(3));
    let report = json_of(&output);
    for id in ["pxb-nsg-ports", "nsg-backup-service-tags"] {
        let check = check_of(&report, id);
        assert_eq!(check["status"], "error", "{check}");
        assert!(check["message"]
            .as_str()
            .unwrap()
            .contains("Microsoft.Network/networkSecurityGroups/read"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_source_and_ports_can_be_overridden() {
    let (fake, _) = with_subnet_rules(with_tag_allows(vec![
        rule("DenyCorp", 100, "Deny", "52.10.0.0/16", json!("*")),
        rule("AllowPxbAlt", 220, "Allow", "*", json!(["11001", "11002"])),
    ]))
    .await;
    let report = json_of(
        &run(fake.check(
            "ready",
            &[
                "-o",
                "json",
                "--pxb-client-source",
                "52.10.4.0/24",
                "--pxb-rest-port",
                "11001",
                "--pxb-grpc-port",
                "11002",
            ],
        ))
        .await,
    );
    let check = check_of(&report, "pxb-nsg-ports");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(check["message"]
        .as_str()
        .unwrap()
        .contains("port 11001: nsg-aks-nodes rule DenyCorp"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_resource_group_nsg_as_aks_keeps_it_does_not_warn() {
    let list_path = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/MC_rg-aks-prod_aks-prod_eastus/providers/Microsoft.Network/networkSecurityGroups";
    let mut list = FakeArm::body("ready", list_path);
    let node_nsg = &mut list["value"][0];
    let name = node_nsg["name"].as_str().unwrap().to_string();
    let mut lb_rule = rule(
        "k8s-azure-lb_allow_IPv4_92e32eb871d227fe67cd8bfdbf0d2b05",
        500,
        "Allow",
        "Internet",
        json!(["80", "443"]),
    );
    lb_rule["properties"]["destinationAddressPrefix"] = json!("20.81.111.4");
    node_nsg["properties"]["securityRules"] = json!([lb_rule]);
    let fake = FakeArm::serving("ready").await;
    fake.answer(list_path, 200, list).await;
    let output = run(fake.check("ready", &["-o", "json"])).await;
    let check = check_of(&json_of(&output), "nsg-backup-service-tags").clone();
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{name} holds only default and AKS-managed rules")),
        "{check}"
    );
}
