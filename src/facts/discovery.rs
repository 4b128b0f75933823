//! Discovery of the inputs a run was not given (shared/checks.md §2): the Backup vault from
//! the cluster's trusted access binding, the snapshot resource group from that vault's backup
//! instance of the cluster. (The backup storage account and container come from the
//! extension's settings: [`super::plan_backup_location`].)
//!
//! A flag always wins: nothing here replaces a given input, and nothing is guessed (several
//! candidates are a gap, named). Pure: it reads answers already collected and decides no
//! reads (`crate::plan` does).

use super::{eq_ci, observe, same_resource, List, Observed, TrustedAccessBinding};
use crate::ids::{same_id, ResourceId};
use crate::reads::{ArmRead, FailureKind, RawReads};
use crate::target::{Target, TargetRecord, VAULT_TYPE};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The trusted access role Azure Backup binds its vault to the cluster with.
pub const BACKUP_OPERATOR_ROLE: &str = "Microsoft.DataProtection/backupVaults/backup-operator";
const OPERATIONAL_STORE_PARAMETERS: &str = "AzureOperationalStoreParameters";

/// An input found in Azure rather than given, and where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovered {
    pub id: ResourceId,
    /// Where it was found, as evidence words it: "trusted access binding backup-vault1".
    pub source: String,
}

/// What discovery found for the inputs that were not given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Discovery {
    pub vault: Option<Discovered>,
    pub snapshot_resource_group: Option<Discovered>,
    /// Why the vault was not discovered, when there is more to say than "not given".
    pub vault_gap: Option<String>,
    /// Why the snapshot resource group was not discovered, likewise.
    pub snapshot_resource_group_gap: Option<String>,
    /// Whether the vault's backup instances include one of this cluster; `None` when they
    /// were not read (no vault known, or the snapshot resource group was given).
    pub cluster_protected: Option<bool>,
}

/// One discovery: found, nothing to find (`Ok(None)`), or a gap to name (`Err`).
type Found = Result<Option<Discovered>, String>;

impl Discovery {
    pub fn derive(target: &Target, raws: &RawReads) -> Discovery {
        let mut discovery = Discovery::default();
        if target.vault.is_none() {
            (discovery.vault, discovery.vault_gap) = split(vault_of(target, raws));
        }
        let vault = target
            .vault
            .as_ref()
            .or(discovery.vault.as_ref().map(|v| &v.id));
        if let (None, Some(vault)) = (&target.snapshot_resource_group, vault) {
            (
                discovery.snapshot_resource_group,
                discovery.snapshot_resource_group_gap,
            ) = split(snapshot_resource_group_of(target, vault, raws));
        }
        if let Some(vault) = vault {
            let read = ArmRead::BackupInstances(vault.clone());
            discovery.cluster_protected = list_of::<BackupInstance>(raws, &read)
                .ok()
                .flatten()
                .map(|instances| {
                    instances
                        .iter()
                        .any(|i| same_resource(i.data_source(), &target.cluster))
                });
        }
        discovery
    }

    /// The target with the discovered inputs filled in; a given input is never replaced.
    pub fn complete(&self, mut target: Target) -> Target {
        if let Some(vault) = &self.vault {
            target.vault.get_or_insert(vault.id.clone());
        }
        if let Some(group) = &self.snapshot_resource_group {
            target
                .snapshot_resource_group
                .get_or_insert(group.id.clone());
        }
        target
    }

    /// The record as a report shows it: discovered inputs appear like given ones.
    pub fn complete_record(&self, record: &TargetRecord) -> TargetRecord {
        let mut record = record.clone();
        if let Some(vault) = &self.vault {
            record.vault.get_or_insert(vault.id.to_string());
        }
        if let Some(group) = &self.snapshot_resource_group {
            record
                .snapshot_resource_group
                .get_or_insert(group.id.to_string());
        }
        record
    }
}

fn split(found: Found) -> (Option<Discovered>, Option<String>) {
    match found {
        Ok(found) => (found, None),
        Err(gap) => (None, Some(gap)),
    }
}

/// A list to discover from; not collected yet (an earlier planning round, an older bundle)
/// is nothing to say, a failed read is a gap.
fn list_of<T: DeserializeOwned + Default>(
    raws: &RawReads,
    read: &ArmRead,
) -> Result<Option<Vec<T>>, String> {
    let observed: Observed<List<T>> = observe(raws, read);
    match observed {
        Ok(list) => Ok(Some(list.value)),
        Err(e) if e.kind == FailureKind::NotCollected => Ok(None),
        Err(e) => Err(format!("not discovered: {}", e.describe())),
    }
}

/// The vault of the cluster's one trusted access binding with the backup-operator role.
fn vault_of(target: &Target, raws: &RawReads) -> Found {
    let read = ArmRead::TrustedAccessBindings(target.cluster.clone());
    let Some(bindings) = list_of::<TrustedAccessBinding>(raws, &read)? else {
        return Ok(None);
    };
    let mut found: Vec<(ResourceId, String)> = Vec::new();
    for binding in &bindings {
        let operator = binding
            .properties
            .roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(BACKUP_OPERATOR_ROLE));
        let vault = binding
            .properties
            .source_resource_id
            .as_deref()
            .and_then(|id| ResourceId::parse_typed(id, VAULT_TYPE).ok());
        if let (true, Some(vault)) = (operator, vault) {
            let name = binding.name.clone().unwrap_or_else(|| "(unnamed)".into());
            push_once(&mut found, vault, name);
        }
    }
    one_of(
        found,
        |name| format!("trusted access binding {name}"),
        |several| {
            format!("not discovered: several trusted access bindings grant {BACKUP_OPERATOR_ROLE}: {several}; pass --vault to choose one")
        },
    )
}

/// The snapshot resource group of the vault's backup instance that protects the cluster.
fn snapshot_resource_group_of(target: &Target, vault: &ResourceId, raws: &RawReads) -> Found {
    let read = ArmRead::BackupInstances(vault.clone());
    let Some(instances) = list_of::<BackupInstance>(raws, &read)? else {
        return Ok(None);
    };
    let mut found: Vec<(ResourceId, String)> = Vec::new();
    let of_cluster = instances
        .iter()
        .filter(|i| same_resource(i.data_source(), &target.cluster));
    for instance in of_cluster {
        let name = instance.name.clone().unwrap_or_else(|| "(unnamed)".into());
        for group in instance.operational_store_groups() {
            if let Ok(group) =
                ResourceId::parse_resource_group(group, target.cluster.subscription())
            {
                push_once(&mut found, group, name.clone());
            }
        }
    }
    let vault_name = vault.name().to_string();
    if found.is_empty() {
        return Err(format!(
            "not discovered: no backup instance of vault {vault_name} protects this cluster yet"
        ));
    }
    one_of(
        found,
        |name| format!("backup instance {name} of vault {vault_name}"),
        |several| {
            format!("not discovered: the backup instances of this cluster name several snapshot resource groups: {several}; pass --snapshot-resource-group to choose one")
        },
    )
}

/// Each candidate once (IDs compare case-insensitively), with the name of where it was found.
fn push_once(found: &mut Vec<(ResourceId, String)>, id: ResourceId, name: String) {
    if !found.iter().any(|(f, _)| same_id(f.as_str(), id.as_str())) {
        found.push((id, name));
    }
}

/// One candidate is discovered; several are a gap that names each (never a guess).
fn one_of(
    mut found: Vec<(ResourceId, String)>,
    source: impl Fn(&str) -> String,
    several: impl Fn(String) -> String,
) -> Found {
    match found.len() {
        0 => Ok(None),
        1 => {
            let (id, name) = found.remove(0);
            Ok(Some(Discovered {
                source: source(&name),
                id,
            }))
        }
        _ => {
            let names: Vec<String> = found
                .iter()
                .map(|(id, name)| format!("{name} for {id}"))
                .collect();
            Err(several(names.join(", ")))
        }
    }
}

// ---- The backup instance, reduced to what discovery uses. ---------------------------

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct BackupInstance {
    name: Option<String>,
    properties: BackupInstanceProperties,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BackupInstanceProperties {
    data_source_info: Option<DataSourceInfo>,
    policy_info: Option<PolicyInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct DataSourceInfo {
    #[serde(rename = "resourceID")]
    resource_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PolicyInfo {
    policy_parameters: Option<PolicyParameters>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PolicyParameters {
    data_store_parameters_list: Vec<DataStoreParameters>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DataStoreParameters {
    object_type: Option<String>,
    resource_group_id: Option<String>,
}

impl BackupInstance {
    fn data_source(&self) -> Option<&str> {
        self.properties
            .data_source_info
            .as_ref()?
            .resource_id
            .as_deref()
    }

    /// The resource groups of the operational store: where the snapshots are kept.
    fn operational_store_groups(&self) -> impl Iterator<Item = &str> {
        let parameters = self
            .properties
            .policy_info
            .as_ref()
            .and_then(|p| p.policy_parameters.as_ref());
        parameters
            .into_iter()
            .flat_map(|p| &p.data_store_parameters_list)
            .filter(|p| eq_ci(p.object_type.as_deref(), OPERATIONAL_STORE_PARAMETERS))
            .filter_map(|p| p.resource_group_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::tests::target;
    use crate::reads::RawRead;
    use serde_json::{json, Value};

    const VAULT: &str = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/vault1";
    const OTHER_VAULT: &str = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.DataProtection/BackupVaults/vault2";

    fn binding(name: &str, vault: &str, role: &str) -> Value {
        json!({"name": name, "properties": {"sourceResourceId": vault, "roles": [role], "provisioningState": "Succeeded"}})
    }

    /// An AKS backup instance in the shape of `backupInstances_put_aksCluster_200.json`.
    fn instance(name: &str, cluster: &str, group: &str) -> Value {
        json!({"name": name, "properties": {
            "dataSourceInfo": {"resourceID": cluster, "datasourceType": "Microsoft.ContainerService/managedclusters", "objectType": "Datasource"},
            "policyInfo": {"policyParameters": {"dataStoreParametersList": [
                {"resourceGroupId": group, "objectType": "AzureOperationalStoreParameters", "dataStoreType": "OperationalStore"}
            ]}},
            "objectType": "BackupInstance"
        }})
    }

    fn raws(bindings: Vec<Value>, instances: Option<Vec<Value>>) -> RawReads {
        let t = target();
        let mut raws = RawReads::default();
        let read = ArmRead::TrustedAccessBindings(t.cluster.clone());
        raws.insert(RawRead::ok(&read, json!({ "value": bindings })));
        if let Some(instances) = instances {
            let vault = ResourceId::parse(VAULT).unwrap();
            let read = ArmRead::BackupInstances(vault);
            raws.insert(RawRead::ok(&read, json!({ "value": instances })));
        }
        raws
    }

    #[test]
    fn one_backup_operator_binding_names_the_vault() {
        let bindings = vec![
            binding("ml", "/subscriptions/sub1/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/w", "Microsoft.MachineLearningServices/workspaces/mlworkspace"),
            binding("backup-vault1", VAULT, "microsoft.dataprotection/backupvaults/BACKUP-OPERATOR"),
        ];
        let d = Discovery::derive(&target(), &raws(bindings, None));
        let vault = d.vault.unwrap();
        assert_eq!(vault.id.as_str(), VAULT);
        assert_eq!(vault.source, "trusted access binding backup-vault1");
        assert_eq!(d.vault_gap, None);
        // Backup instances not read yet: nothing to say about the snapshot resource group.
        assert_eq!(
            (d.snapshot_resource_group, d.snapshot_resource_group_gap),
            (None, None)
        );
    }

    #[test]
    fn several_backup_operator_bindings_are_not_guessed() {
        let bindings = vec![
            binding("b1", VAULT, BACKUP_OPERATOR_ROLE),
            binding("b2", OTHER_VAULT, BACKUP_OPERATOR_ROLE),
        ];
        let d = Discovery::derive(&target(), &raws(bindings, None));
        assert_eq!(d.vault, None);
        let gap = d.vault_gap.unwrap();
        assert!(
            gap.contains("b1") && gap.contains("vault2") && gap.contains("--vault"),
            "{gap}"
        );
    }

    #[test]
    fn flags_win_over_discovery() {
        let mut t = target();
        t.vault = Some(ResourceId::parse(OTHER_VAULT).unwrap());
        let d = Discovery::derive(
            &t,
            &raws(vec![binding("b1", VAULT, BACKUP_OPERATOR_ROLE)], None),
        );
        assert_eq!(d.vault, None);
        assert_eq!(d.complete(t).vault.unwrap().as_str(), OTHER_VAULT);
    }

    #[test]
    fn the_backup_instance_of_the_cluster_names_the_snapshot_group() {
        let t = target();
        let cluster = t.cluster.as_str().to_uppercase();
        let instances = vec![
            instance("other", "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks2", "/subscriptions/sub1/resourceGroups/wrong"),
            instance("aks1-bi", &cluster, "/subscriptions/sub1/resourceGroups/rg-snaps"),
        ];
        let bindings = vec![binding("b1", VAULT, BACKUP_OPERATOR_ROLE)];
        let d = Discovery::derive(&t, &raws(bindings, Some(instances)));
        let group = d.snapshot_resource_group.clone().unwrap();
        assert_eq!(
            group.id.as_str(),
            "/subscriptions/sub1/resourceGroups/rg-snaps"
        );
        assert_eq!(group.source, "backup instance aks1-bi of vault vault1");
        let completed = d.complete(t);
        assert_eq!(
            completed.snapshot_resource_group.unwrap().as_str(),
            "/subscriptions/sub1/resourceGroups/rg-snaps"
        );
    }

    #[test]
    fn instances_naming_several_snapshot_groups_are_not_guessed() {
        let t = target();
        let cluster = t.cluster.to_string();
        let instances = vec![
            instance(
                "bi-1",
                &cluster,
                "/subscriptions/sub1/resourceGroups/snaps-a",
            ),
            instance(
                "bi-2",
                &cluster,
                "/subscriptions/sub1/resourceGroups/snaps-b",
            ),
        ];
        let bindings = vec![binding("b1", VAULT, BACKUP_OPERATOR_ROLE)];
        let d = Discovery::derive(&t, &raws(bindings, Some(instances)));
        assert_eq!(d.snapshot_resource_group, None);
        let gap = d.snapshot_resource_group_gap.unwrap();
        assert!(gap.contains("bi-1 for") && gap.contains("snaps-b"), "{gap}");
    }

    #[test]
    fn a_vault_without_an_instance_of_the_cluster_is_a_named_gap() {
        let bindings = vec![binding("b1", VAULT, BACKUP_OPERATOR_ROLE)];
        let d = Discovery::derive(&target(), &raws(bindings, Some(vec![])));
        assert!(d.vault.is_some());
        let gap = d.snapshot_resource_group_gap.unwrap();
        assert!(gap.contains("no backup instance of vault vault1"), "{gap}");
    }
}
