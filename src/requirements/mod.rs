//! Requirement data: what each product needs, as versioned data rather than literals in
//! check code. `pxb-2.8.json` holds the PXB operation lists (install, application
//! cluster, cross-resource-group restore); `azure-backup.json` holds the Azure Backup role
//! matrix (who needs which built-in role where) and the built-in role GUIDs. Reports and
//! `explain` name the versions applied.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
pub struct Pxb {
    pub version: String,
    pub source: String,
    pub install: OperationList,
    pub app_cluster: OperationList,
    pub restore: OperationList,
    /// List IV: the px-central chart's micro-services.
    pub services: Vec<String>,
    /// What `proxy.httpProxy.noProxy` must hold besides the cluster's own entries.
    pub no_proxy: Vec<String>,
    pub no_proxy_note: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct OperationList {
    pub role_name: String,
    pub description: String,
    pub operations: Vec<String>,
    pub note: String,
}

#[derive(Debug, Deserialize)]
pub struct AzureBackup {
    pub version: String,
    pub source: String,
    /// Built-in role name → role definition GUID (the same in every cloud).
    pub roles: BTreeMap<String, String>,
    pub matrix: Vec<RoleNeed>,
    pub caller: Caller,
    /// The FQDNs the prerequisites page asks a cluster firewall to allow.
    pub egress_fqdns: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RoleNeed {
    pub check: String,
    pub principal: PrincipalKind,
    pub role: String,
    pub scope: ScopeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    Vault,
    Cluster,
    Extension,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeKind {
    Cluster,
    SnapshotResourceGroup,
    StorageAccount,
    StagingResourceGroup,
    StagingStorageAccount,
}

#[derive(Debug, Deserialize)]
pub struct Caller {
    pub role_assignment_write: String,
    pub write_scopes: Vec<ScopeKind>,
    pub vault_resource_group_role: String,
    /// What installing the extension and enabling Trusted Access need on the cluster.
    pub cluster_operations: Vec<String>,
}

pub fn pxb() -> &'static Pxb {
    static DATA: OnceLock<Pxb> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(include_str!("pxb-2.8.json")).expect("bundled PXB requirements parse")
    })
}

pub fn azure_backup() -> &'static AzureBackup {
    static DATA: OnceLock<AzureBackup> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(include_str!("azure-backup.json"))
            .expect("bundled Azure Backup requirements parse")
    })
}

impl OperationList {
    /// The custom role in the shape `az role definition create --role-definition` takes.
    pub fn role_definition(&self, assignable_scope: &str) -> serde_json::Value {
        serde_json::json!({
            "Name": self.role_name,
            "IsCustom": true,
            "Description": self.description,
            "Actions": self.operations,
            "NotActions": [],
            "DataActions": [],
            "NotDataActions": [],
            "AssignableScopes": [assignable_scope],
        })
    }
}

impl AzureBackup {
    pub fn role_guid(&self, role: &str) -> &str {
        self.roles
            .get(role)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("role {role} is not in azure-backup.json"))
    }

    pub fn needs_of(&self, check: &str) -> Vec<&RoleNeed> {
        self.matrix.iter().filter(|n| n.check == check).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_parses_and_is_consistent() {
        let pxb = pxb();
        assert_eq!(pxb.install.operations.len(), 21);
        assert_eq!(pxb.app_cluster.operations.len(), 11);
        let ab = azure_backup();
        for need in &ab.matrix {
            assert_eq!(ab.role_guid(&need.role).len(), 36, "{}", need.role);
        }
        ab.role_guid(&ab.caller.vault_resource_group_role);
        // The GUIDs are those of the real built-in definitions.
        let builtins: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../fixtures/builtin-roles.json")).unwrap();
        for (name, guid) in &ab.roles {
            let found = builtins
                .iter()
                .find(|r| r["properties"]["roleName"] == name.as_str())
                .unwrap();
            assert_eq!(found["name"], guid.as_str(), "{name}");
        }
    }
}
