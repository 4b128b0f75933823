//! Resource Graph rows turned into the reads `check` would have made: a cluster's row is its
//! `GET`, the extension rows under a cluster are its extension list, and likewise vaults,
//! storage accounts, NSGs (one by one, and listed per resource group), subnets (from their
//! virtual network's row), backup instances (listed per vault) and resource groups. The
//! plan then asks ARM only for what is not here, and the facts and checks read these as
//! they read ARM's own answers, so a fleet's verdicts are `check`'s.
//!
//! Pure: the Resource Graph answers in, reads out. A query that failed expands to nothing,
//! so its resources are read over ARM instead. Nothing is invented for what Resource Graph
//! does not hold: an empty list is made only for a parent it returned (a cluster with no
//! extension, a resource group with no NSG, a vault with no backup instance).

use super::queries::Queries;
use crate::ids::ResourceId;
use crate::reads::{ArmRead, RawRead, RawReads};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Columns Resource Graph adds to a resource's own body.
const GRAPH_COLUMNS: [&str; 3] = ["resourceGroup", "subscriptionId", "apiVersion"];

/// The answered queries' rows, as `expand` gets them: borrowed from answers that are kept
/// (a bundle is written, or they were read from one), or taken from answers let go once
/// expanded, so each query's rows are freed as soon as they are expanded: a fleet's rows
/// are its largest data.
pub enum Answered<'a> {
    Kept(&'a RawReads),
    Taken(RawReads),
}

impl<'a> Answered<'a> {
    /// The rows of a query that was answered; `None` when it failed or was not made.
    fn rows(&mut self, query: &ArmRead) -> Option<Cow<'a, [Value]>> {
        match self {
            Answered::Kept(raws) => rows(raws, query).map(Cow::Borrowed),
            Answered::Taken(raws) => match raws.take(query)? {
                RawRead {
                    error: None,
                    body: Some(Value::Object(mut body)),
                    ..
                } => match body.remove("data") {
                    Some(Value::Array(rows)) => Some(Cow::Owned(rows)),
                    _ => None,
                },
                _ => None,
            },
        }
    }
}

/// The reads the answered queries stand for.
pub fn expand(queries: &Queries, answered: &mut Answered) -> RawReads {
    let mut out = RawReads::default();
    let clusters = answered.rows(&queries.clusters);
    for row in clusters.iter().flat_map(|rows| rows.iter()) {
        if let Some(id) = id_of(row) {
            out.insert(RawRead::ok(&ArmRead::Cluster(id), body_of(row)));
        }
    }
    if let (Some(clusters), Some(extensions)) = (clusters, answered.rows(&queries.extensions)) {
        let by_cluster = group(extensions.iter(), |id| {
            parent_before(
                id,
                "/providers/microsoft.kubernetesconfiguration/extensions/",
            )
        });
        for cluster in clusters.iter().filter_map(id_of) {
            let items = by_cluster
                .get(&cluster.as_str().to_ascii_lowercase())
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|row| extension_body(row))
                .collect();
            out.insert(list(&ArmRead::Extensions(cluster), items));
        }
    }
    let resources = answered.rows(&queries.resources);
    let groups = answered.rows(&queries.resource_groups);
    for row in groups.iter().flat_map(|rows| rows.iter()) {
        if let Some(id) = id_of(row) {
            out.insert(RawRead::ok(&ArmRead::ResourceGroup(id), body_of(row)));
        }
    }
    if let (Some(groups), Some(resources)) = (groups, &resources) {
        let nsgs = resources
            .iter()
            .filter(|r| type_of(r) == "microsoft.network/networksecuritygroups");
        let by_group = group(nsgs, resource_group_of);
        for group_id in groups.iter().filter_map(id_of) {
            let items = by_group
                .get(&group_id.as_str().to_ascii_lowercase())
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|row| body_of(row))
                .collect();
            out.insert(list(&ArmRead::NetworkSecurityGroups(group_id), items));
        }
    }
    if let (Some(resources), Some(instances)) =
        (&resources, answered.rows(&queries.backup_instances))
    {
        let by_vault = group(instances.iter(), |id| {
            parent_before(id, "/backupinstances/")
        });
        for vault in resources
            .iter()
            .filter(|r| type_of(r) == "microsoft.dataprotection/backupvaults")
            .filter_map(id_of)
        {
            let items = by_vault
                .get(&vault.as_str().to_ascii_lowercase())
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|row| body_of(row))
                .collect();
            out.insert(list(&ArmRead::BackupInstances(vault), items));
        }
    }
    // Last, so that rows taken are moved into their reads rather than copied.
    for row in resources.into_iter().flat_map(each_row) {
        let Some(id) = id_of(&row) else { continue };
        let read = match type_of(&row).as_str() {
            "microsoft.dataprotection/backupvaults" => ArmRead::Vault(id),
            "microsoft.storage/storageaccounts" => ArmRead::StorageAccount(id),
            "microsoft.network/networksecuritygroups" => ArmRead::NetworkSecurityGroup(id),
            "microsoft.network/virtualnetworks" => {
                for subnet in row["properties"]["subnets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let Some(subnet_id) = id_of(subnet) {
                        out.insert(RawRead::ok(&ArmRead::Subnet(subnet_id), subnet.clone()));
                    }
                }
                continue;
            }
            _ => continue,
        };
        out.insert(RawRead::ok(&read, into_body(row)));
    }
    out
}

/// Each row, owned: moved out of rows taken, copied from rows borrowed.
fn each_row(rows: Cow<'_, [Value]>) -> Box<dyn Iterator<Item = Value> + '_> {
    match rows {
        Cow::Borrowed(rows) => Box::new(rows.iter().cloned()),
        Cow::Owned(rows) => Box::new(rows.into_iter()),
    }
}

/// The rows of a query that was answered; `None` when it failed or was not made.
pub fn rows<'a>(raws: &'a RawReads, query: &ArmRead) -> Option<&'a [Value]> {
    let raw = raws.get(query)?;
    if raw.error.is_some() {
        return None;
    }
    raw.body.as_ref()?["data"].as_array().map(Vec::as_slice)
}

pub fn id_of(row: &Value) -> Option<ResourceId> {
    row["id"].as_str().and_then(|id| ResourceId::parse(id).ok())
}

fn type_of(row: &Value) -> String {
    row["type"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The resource as ARM's `GET` returns it: the row without Resource Graph's own columns.
fn body_of(row: &Value) -> Value {
    into_body(row.clone())
}

fn into_body(mut row: Value) -> Value {
    if let Value::Object(map) = &mut row {
        for column in GRAPH_COLUMNS {
            map.remove(column);
        }
    }
    row
}

/// An extension row as ARM lists it. Resource Graph has been seen to spell this table's
/// property names in PascalCase (`ExtensionType`), where ARM uses camelCase.
fn extension_body(row: &Value) -> Value {
    let mut body = body_of(row);
    if let Some(Value::Object(properties)) = body.get_mut("properties") {
        *properties = camel_case_keys(std::mem::take(properties));
        if let Some(Value::Object(identity)) = properties.get_mut("aksAssignedIdentity") {
            *identity = camel_case_keys(std::mem::take(identity));
        }
    }
    body
}

/// Keys with their first letter lowered; a key already present in camelCase wins.
fn camel_case_keys(map: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut pascal = Vec::new();
    for (key, value) in map {
        let mut chars = key.chars();
        match chars.next() {
            Some(first) if first.is_ascii_uppercase() => {
                pascal.push((
                    format!("{}{}", first.to_ascii_lowercase(), chars.as_str()),
                    value,
                ));
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    for (key, value) in pascal {
        out.entry(key).or_insert(value);
    }
    out
}

fn list(read: &ArmRead, items: Vec<Value>) -> RawRead {
    RawRead::ok(read, serde_json::json!({ "value": items }))
}

/// Rows grouped by a parent ID derived from each row's ID (lower case).
fn group<'a>(
    rows: impl IntoIterator<Item = &'a Value>,
    parent: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, Vec<&'a Value>> {
    let mut groups: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for row in rows {
        if let Some(key) = row["id"].as_str().and_then(&parent) {
            groups.entry(key).or_default().push(row);
        }
    }
    groups
}

/// The part of `id` before `marker` (compared case-insensitively), lower-cased.
fn parent_before(id: &str, marker: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    lower.find(marker).map(|at| lower[..at].to_string())
}

/// `/subscriptions/{s}/resourcegroups/{rg}` of a resource, lower-cased.
fn resource_group_of(id: &str) -> Option<String> {
    let parsed = ResourceId::parse(id).ok()?;
    let group = parsed.resource_group()?;
    Some(
        format!(
            "/subscriptions/{}/resourcegroups/{group}",
            parsed.subscription()
        )
        .to_ascii_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::queries::GraphScope;
    use crate::reads::{FailureKind, ReadError};
    use serde_json::json;

    const SUB: &str = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";

    fn answered(read: &ArmRead, rows: Vec<Value>) -> RawRead {
        RawRead::ok(read, json!({"data": rows, "totalRecords": 0}))
    }

    fn cluster_id(name: &str) -> String {
        format!("/subscriptions/{SUB}/resourceGroups/rg-{name}/providers/Microsoft.ContainerService/managedClusters/{name}")
    }

    fn world() -> (Queries, RawReads) {
        let queries = Queries::new(&GraphScope::default(), None);
        let mut raws = RawReads::default();
        raws.insert(answered(&queries.clusters, vec![
            json!({"id": cluster_id("aks1"), "name": "aks1", "type": "microsoft.containerservice/managedclusters", "location": "eastus",
                   "resourceGroup": "rg-aks1", "subscriptionId": SUB, "identity": {"type": "SystemAssigned"}, "properties": {"provisioningState": "Succeeded"}}),
            json!({"id": cluster_id("aks2"), "name": "aks2", "type": "microsoft.containerservice/managedclusters", "resourceGroup": "rg-aks2", "subscriptionId": SUB, "properties": {}}),
        ]));
        raws.insert(answered(&queries.extensions, vec![json!({
            "id": format!("{}/providers/Microsoft.KubernetesConfiguration/extensions/azure-aks-backup", cluster_id("aks1").to_ascii_lowercase()),
            "name": "azure-aks-backup", "type": "microsoft.kubernetesconfiguration/extensions",
            "properties": {"ExtensionType": "microsoft.dataprotection.kubernetes", "ProvisioningState": "Succeeded",
                           "AksAssignedIdentity": {"PrincipalId": "e1"}, "configurationSettings": {"storageAccount": "st1"}}
        })]));
        raws.insert(answered(&queries.resources, vec![
            json!({"id": format!("/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1"), "type": "microsoft.dataprotection/backupvaults", "resourceGroup": "rg-backup", "subscriptionId": SUB, "properties": {}}),
            json!({"id": format!("/subscriptions/{SUB}/resourceGroups/MC_rg-aks1_aks1_eastus/providers/Microsoft.Network/networkSecurityGroups/nsg1"), "type": "microsoft.network/networksecuritygroups", "properties": {"securityRules": []}}),
            json!({"id": format!("/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet1"), "type": "microsoft.network/virtualnetworks",
                   "properties": {"subnets": [{"id": format!("/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/nodes"), "name": "nodes", "properties": {"addressPrefix": "10.0.0.0/16"}}]}}),
        ]));
        raws.insert(answered(&queries.resource_groups, vec![
            json!({"id": format!("/subscriptions/{SUB}/resourceGroups/MC_rg-aks1_aks1_eastus"), "name": "MC_rg-aks1_aks1_eastus", "subscriptionId": SUB}),
            json!({"id": format!("/subscriptions/{SUB}/resourceGroups/MC_rg-aks2_aks2_eastus"), "name": "MC_rg-aks2_aks2_eastus", "subscriptionId": SUB}),
        ]));
        raws.insert(answered(&queries.backup_instances, vec![json!({
            "id": format!("/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/BackupVaults/bv1/backupInstances/aks1-bi"),
            "name": "aks1-bi", "properties": {"dataSourceInfo": {"resourceID": cluster_id("aks1")}}
        })]));
        (queries, raws)
    }

    fn body(reads: &RawReads, read: &ArmRead) -> Value {
        reads
            .get(read)
            .and_then(|r| r.body.clone())
            .unwrap_or_else(|| panic!("no {}", read.describe()))
    }

    fn id(text: &str) -> ResourceId {
        ResourceId::parse(text).unwrap()
    }

    #[test]
    fn a_cluster_row_is_its_get_without_graph_columns() {
        let (queries, raws) = world();
        let reads = expand(&queries, &mut Answered::Kept(&raws));
        let cluster = body(&reads, &ArmRead::Cluster(id(&cluster_id("aks1"))));
        assert_eq!(cluster["identity"]["type"], "SystemAssigned");
        assert!(cluster.get("resourceGroup").is_none() && cluster.get("subscriptionId").is_none());
    }

    #[test]
    fn extensions_are_listed_per_cluster_in_arms_casing_and_empty_for_a_cluster_without() {
        let (queries, raws) = world();
        let reads = expand(&queries, &mut Answered::Kept(&raws));
        let listed = body(&reads, &ArmRead::Extensions(id(&cluster_id("aks1"))));
        let extension = &listed["value"][0]["properties"];
        assert_eq!(
            extension["extensionType"],
            "microsoft.dataprotection.kubernetes"
        );
        assert_eq!(extension["provisioningState"], "Succeeded");
        assert_eq!(extension["aksAssignedIdentity"]["principalId"], "e1");
        assert_eq!(extension["configurationSettings"]["storageAccount"], "st1");
        assert_eq!(
            body(&reads, &ArmRead::Extensions(id(&cluster_id("aks2")))),
            json!({"value": []})
        );
    }

    #[test]
    fn nsgs_are_listed_per_resource_group_subnets_come_from_their_vnet_and_instances_per_vault() {
        let (queries, raws) = world();
        let reads = expand(&queries, &mut Answered::Kept(&raws));
        let aks1_nodes = id(&format!(
            "/subscriptions/{SUB}/resourceGroups/MC_rg-aks1_aks1_eastus"
        ));
        let aks2_nodes = id(&format!(
            "/subscriptions/{SUB}/resourceGroups/MC_rg-aks2_aks2_eastus"
        ));
        assert_eq!(
            body(&reads, &ArmRead::NetworkSecurityGroups(aks1_nodes))["value"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            body(&reads, &ArmRead::NetworkSecurityGroups(aks2_nodes)),
            json!({"value": []})
        );
        let subnet = id(&format!("/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/nodes"));
        assert_eq!(
            body(&reads, &ArmRead::Subnet(subnet))["properties"]["addressPrefix"],
            "10.0.0.0/16"
        );
        let vault = id(&format!("/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1"));
        assert_eq!(
            body(&reads, &ArmRead::BackupInstances(vault))["value"][0]["name"],
            "aks1-bi"
        );
    }

    #[test]
    fn answers_taken_expand_to_the_same_reads_as_answers_kept_and_none_is_left() {
        let (queries, mut raws) = world();
        let failed = RawRead::failure(
            &queries.backup_instances,
            Some(403),
            ReadError {
                kind: FailureKind::Http,
                arm_code: Some("AuthorizationFailed".into()),
                message: "no".into(),
            },
        );
        raws.insert(failed);
        let kept = expand(&queries, &mut Answered::Kept(&raws));
        let mut taken = Answered::Taken(raws);
        assert_eq!(expand(&queries, &mut taken), kept);
        let Answered::Taken(rest) = taken else {
            panic!("answers taken stay taken")
        };
        assert_eq!(rest.len(), 0, "a failed query's answer is let go too");
    }

    #[test]
    fn a_failed_query_expands_to_nothing_so_arm_reads_it() {
        let (queries, mut raws) = world();
        raws.insert(RawRead::failure(
            &queries.extensions,
            Some(403),
            ReadError {
                kind: FailureKind::Http,
                arm_code: Some("AuthorizationFailed".into()),
                message: "no".into(),
            },
        ));
        let reads = expand(&queries, &mut Answered::Kept(&raws));
        assert!(!reads.contains(&ArmRead::Extensions(id(&cluster_id("aks1")))));
        assert!(reads.contains(&ArmRead::Cluster(id(&cluster_id("aks1")))));
    }
}
