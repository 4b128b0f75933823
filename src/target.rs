//! What one run checks: the cluster and the inputs the user gave.
//!
//! Built from the command line (validated before any request) or read back from a
//! bundle's manifest, so a bundle replays with exactly the inputs it was collected with.

use crate::ids::ResourceId;
use crate::{helm, redact};
use serde_json::Value;

/// An input that does not name what it must: the run stops before any request.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A resource ID that does not parse, or names the wrong type of resource.
    #[error(transparent)]
    ResourceId(#[from] crate::ids::IdError),
    #[error("--pxb-endpoint '{0}' must be a host name or address (ports go in --pxb-rest-port and --pxb-grpc-port)")]
    PxbEndpoint(String),
    #[error("'{0}' is not an object ID (a GUID such as 00000000-0000-0000-0000-000000000000)")]
    ObjectId(String),
    #[error("'{0}' is not a valid blob container name (3-63 lower-case letters, digits and single hyphens)")]
    ContainerName(String),
    #[error("--vault-identity '{0}' must be SystemAssigned or a user-assigned identity's resource ID (/subscriptions/.../providers/{USER_ASSIGNED_IDENTITY_TYPE}/NAME)")]
    VaultIdentity(String),
}

pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
pub const VAULT_TYPE: &str = "Microsoft.DataProtection/backupVaults";
pub const STORAGE_ACCOUNT_TYPE: &str = "Microsoft.Storage/storageAccounts";
pub const USER_ASSIGNED_IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
/// How `--vault-identity` names the system-assigned identity (compared case-insensitively).
pub const SYSTEM_ASSIGNED: &str = "SystemAssigned";

#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: ResourceId,
    pub vault: Option<ResourceId>,
    /// `--vault-identity`: which of the vault's managed identities the role checks evaluate.
    pub vault_identity: Option<VaultIdentityChoice>,
    pub snapshot_resource_group: Option<ResourceId>,
    pub storage_account: Option<ResourceId>,
    pub blob_container: Option<String>,
    pub staging_resource_group: Option<ResourceId>,
    pub staging_storage_account: Option<ResourceId>,
    /// `--pxb-principal`: the object ID whose permissions PXB uses.
    pub pxb_principal: Option<String>,
    pub restore_source_cluster: Option<ResourceId>,
    /// `--restore-role-file`: the custom role the user created for cross-RG restores.
    pub restore_role: Option<RestoreRole>,
    /// Whether a storage account key was given to verify (the key itself is never kept).
    pub storage_account_key_provided: bool,
    pub pxb: PxbEndpoint,
    pub helm: Option<HelmInputs>,
    /// The Kubernetes API server the kubeconfig's context points at, when there is one.
    pub kubernetes: Option<KubeAccess>,
}

/// Which Kubernetes API server the in-cluster reads go to: enough to replay a bundle (whether
/// the server is the checked cluster's), never the kubeconfig's contents or credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeAccess {
    /// The context's server URL, any URL password masked.
    pub server: String,
    pub context: String,
    /// Given with `--kubeconfig` or `--context`: used as it is. Otherwise it is the current
    /// context of `KUBECONFIG` or `~/.kube/config`, used only when it is the checked cluster's.
    pub chosen: bool,
}

/// One of a Backup vault's managed identities, as `--vault-identity` names it.
#[derive(Clone, Debug, PartialEq)]
pub enum VaultIdentityChoice {
    SystemAssigned,
    UserAssigned(ResourceId),
}

impl VaultIdentityChoice {
    /// `SystemAssigned`, or the user-assigned identity's resource ID.
    pub fn name(&self) -> &str {
        match self {
            VaultIdentityChoice::SystemAssigned => SYSTEM_ASSIGNED,
            VaultIdentityChoice::UserAssigned(id) => id.as_str(),
        }
    }
}

/// The px-central Helm inputs, reduced to what the proxy checks read, as Helm sees them
/// (values files merged in order, then `--set` expressions in order; see `crate::helm`).
/// Nothing else of the chart's values is kept (a values file also holds passwords, such as
/// OIDC client secrets), and every URL password in what is kept is masked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HelmInputs {
    /// `proxy.azureProxyEnabled` is `true`.
    pub azure_proxy_enabled: bool,
    /// The entries of `proxy.httpProxy.noProxy` (a comma-separated string, or a list).
    pub no_proxy: Vec<String>,
    /// `proxy.includeNoProxyList`, each item as written (a non-string item as JSON).
    pub include_no_proxy_list: Vec<String>,
    /// `proxy.excludeAzureProxyList`, likewise.
    pub exclude_azure_proxy_list: Vec<String>,
    /// `proxy.httpProxy.HTTP_PROXY` when set, its password masked.
    pub http_proxy: Option<String>,
    /// `proxy.httpProxy.HTTPS_PROXY` when set, its password masked.
    pub https_proxy: Option<String>,
    /// The `--set` expressions that assign only proxy settings and that Helm would split at
    /// an unescaped comma, as given but for masked passwords.
    pub split_sets: Vec<String>,
}

impl HelmInputs {
    /// The record of parsed values files and `--set` expressions, each in the order given.
    pub fn from_helm(files: &[Value], sets: &[String]) -> Self {
        let mut values = Value::Object(serde_json::Map::new());
        for file in files {
            helm::merge(&mut values, file);
        }
        let mut split_sets = Vec::new();
        for expression in sets {
            // Masked before parsing, so nothing derived from it can hold the password.
            let expression = redact::url_passwords(expression);
            let parsed = helm::parse_set(&expression);
            helm::apply(&mut values, &parsed);
            let keys = parsed.keys();
            let only_proxy = !keys.is_empty() && keys.iter().all(|k| is_proxy_key(k));
            if only_proxy && !parsed.problems.is_empty() {
                split_sets.push(expression.into_owned());
            }
        }
        let proxy = &values["proxy"];
        let url = |name: &str| {
            proxy["httpProxy"][name]
                .as_str()
                .filter(|u| !u.trim().is_empty())
                .map(masked)
        };
        HelmInputs {
            azure_proxy_enabled: proxy["azureProxyEnabled"] == Value::Bool(true),
            no_proxy: no_proxy_entries(&proxy["httpProxy"]["noProxy"]),
            include_no_proxy_list: list_items(&proxy["includeNoProxyList"]),
            exclude_azure_proxy_list: list_items(&proxy["excludeAzureProxyList"]),
            http_proxy: url("HTTP_PROXY"),
            https_proxy: url("HTTPS_PROXY"),
            split_sets,
        }
    }
}

fn is_proxy_key(key: &str) -> bool {
    key == "proxy" || key.starts_with("proxy.") || key.starts_with("proxy[")
}

fn masked(text: &str) -> String {
    redact::url_passwords(text).into_owned()
}

fn no_proxy_entries(value: &Value) -> Vec<String> {
    let raw = match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    };
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(masked)
        .collect()
}

fn list_items(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().map_or_else(|| masked(&v.to_string()), masked))
        .collect()
}

/// Where PXB's server listens and where its clients come from.
#[derive(Clone, Debug, PartialEq)]
pub struct PxbEndpoint {
    pub host: Option<String>,
    pub rest_port: u16,
    pub grpc_port: u16,
    /// Source of the PXB clients' traffic for `pxb-nsg-ports`: a CIDR or a service tag.
    pub client_source: String,
}

impl Default for PxbEndpoint {
    fn default() -> Self {
        PxbEndpoint {
            host: None,
            rest_port: 10001,
            grpc_port: 10002,
            client_source: "VirtualNetwork".into(),
        }
    }
}

/// The actions of the restore role a user created (`az role definition create` JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct RestoreRole {
    pub name: String,
    pub actions: Vec<String>,
}

/// The target as the user gave it: plain strings, before validation. Its wire forms are the
/// bundle manifest's (`bundle::wire`) and the JSON report's (`report::json`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetRecord {
    pub cluster: String,
    pub vault: Option<String>,
    pub vault_identity: Option<String>,
    pub snapshot_resource_group: Option<String>,
    pub storage_account: Option<String>,
    pub blob_container: Option<String>,
    pub staging_resource_group: Option<String>,
    pub staging_storage_account: Option<String>,
    pub pxb_principal: Option<String>,
    pub restore_source_cluster: Option<String>,
    pub restore_role: Option<RestoreRole>,
    pub storage_account_key_provided: bool,
    pub pxb: PxbEndpoint,
    pub helm: Option<HelmInputs>,
    /// The Kubernetes API server the kubeconfig's context points at, when there is one.
    pub kubernetes: Option<KubeAccess>,
}

impl Target {
    /// Another cluster a recorded restore involves, checked against the same vault (and
    /// vault identity); every other input is this cluster's own and stays to discovery.
    pub fn related(&self, cluster: ResourceId) -> Target {
        Target {
            cluster,
            vault: self.vault.clone(),
            vault_identity: self.vault_identity.clone(),
            snapshot_resource_group: None,
            storage_account: None,
            blob_container: None,
            staging_resource_group: None,
            staging_storage_account: None,
            pxb_principal: None,
            restore_source_cluster: None,
            restore_role: None,
            storage_account_key_provided: false,
            pxb: PxbEndpoint::default(),
            helm: None,
            kubernetes: None,
        }
    }

    pub fn from_record(record: &TargetRecord) -> Result<Self, TargetError> {
        let cluster = ResourceId::parse_typed(&record.cluster, CLUSTER_TYPE)
            .map_err(TargetError::ResourceId)?;
        let typed = |value: &Option<String>, kind: &str| {
            value
                .as_deref()
                .map(|v| ResourceId::parse_typed(v, kind))
                .transpose()
                .map_err(TargetError::ResourceId)
        };
        let group = |value: &Option<String>| {
            value
                .as_deref()
                .map(|g| ResourceId::parse_resource_group(g, cluster.subscription()))
                .transpose()
                .map_err(TargetError::ResourceId)
        };
        let blob_container = record
            .blob_container
            .as_deref()
            .map(|c| validate_container_name(c.trim()))
            .transpose()?;
        Ok(Target {
            vault: typed(&record.vault, VAULT_TYPE)?,
            vault_identity: record
                .vault_identity
                .as_deref()
                .map(parse_vault_identity)
                .transpose()?,
            snapshot_resource_group: group(&record.snapshot_resource_group)?,
            storage_account: typed(&record.storage_account, STORAGE_ACCOUNT_TYPE)?,
            blob_container,
            staging_resource_group: group(&record.staging_resource_group)?,
            staging_storage_account: typed(&record.staging_storage_account, STORAGE_ACCOUNT_TYPE)?,
            pxb_principal: record
                .pxb_principal
                .as_deref()
                .map(validate_object_id)
                .transpose()?,
            restore_source_cluster: typed(&record.restore_source_cluster, CLUSTER_TYPE)?,
            restore_role: record.restore_role.clone(),
            storage_account_key_provided: record.storage_account_key_provided,
            pxb: validate_endpoint(&record.pxb)?,
            helm: record.helm.clone(),
            kubernetes: record.kubernetes.clone(),
            cluster,
        })
    }
}

/// `--pxb-endpoint` is a host name or address, without scheme, port or path.
fn validate_endpoint(endpoint: &PxbEndpoint) -> Result<PxbEndpoint, TargetError> {
    if let Some(host) = &endpoint.host {
        let bad = host.trim().is_empty()
            || host.contains("://")
            || host.contains('/')
            || host.chars().any(char::is_whitespace);
        if bad {
            return Err(TargetError::PxbEndpoint(host.clone()));
        }
    }
    Ok(endpoint.clone())
}

/// `SystemAssigned`, or the resource ID of a user-assigned identity (any casing).
fn parse_vault_identity(text: &str) -> Result<VaultIdentityChoice, TargetError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case(SYSTEM_ASSIGNED) {
        return Ok(VaultIdentityChoice::SystemAssigned);
    }
    ResourceId::parse_typed(text, USER_ASSIGNED_IDENTITY_TYPE)
        .map(VaultIdentityChoice::UserAssigned)
        .map_err(|_| TargetError::VaultIdentity(text.to_string()))
}

/// Entra object IDs are GUIDs; anything else would make a request filter invalid.
fn validate_object_id(id: &str) -> Result<String, TargetError> {
    let id = id.trim();
    let groups: Vec<&str> = id.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let valid = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if valid {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(TargetError::ObjectId(id.to_string()))
    }
}

/// Blob container names: 3–63 characters of lower-case letters, digits and single hyphens.
fn validate_container_name(name: &str) -> Result<String, TargetError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let valid = (3..=63).contains(&name.len())
        && valid_chars
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid {
        Ok(name.to_string())
    } else {
        Err(TargetError::ContainerName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TargetRecord {
        TargetRecord {
            cluster: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c".into(),
            ..Default::default()
        }
    }

    #[test]
    fn bare_snapshot_group_is_in_the_cluster_subscription() {
        let t = Target::from_record(&TargetRecord {
            snapshot_resource_group: Some("snaps".into()),
            ..record()
        })
        .unwrap();
        assert_eq!(
            t.snapshot_resource_group.unwrap().as_str(),
            "/subscriptions/s/resourceGroups/snaps"
        );
    }

    #[test]
    fn object_ids_must_be_guids() {
        assert!(validate_object_id("3C6A0B7E-5F2D-4A1B-9C8E-1D2F3A4B5C6D").is_ok());
        for bad in [
            "",
            "abc",
            "3c6a0b7e-5f2d-4a1b-9c8e-1d2f3a4b5c6",
            "x') or true or ('",
        ] {
            assert!(validate_object_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrong_types_and_names_are_rejected() {
        let vault_is_cluster = TargetRecord {
            vault: Some(record().cluster),
            ..record()
        };
        assert!(Target::from_record(&vault_is_cluster).is_err());
        for bad in ["A", "ab", "has_underscore", "-lead", "double--hyphen"] {
            let r = TargetRecord {
                blob_container: Some(bad.into()),
                ..record()
            };
            assert!(Target::from_record(&r).is_err(), "{bad}");
        }
    }

    #[test]
    fn vault_identity_is_system_assigned_or_a_user_assigned_identity_id() {
        let uai = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
        assert_eq!(
            parse_vault_identity(" systemassigned ").unwrap(),
            VaultIdentityChoice::SystemAssigned
        );
        let VaultIdentityChoice::UserAssigned(id) = parse_vault_identity(uai).unwrap() else {
            panic!("not a user-assigned identity");
        };
        assert_eq!(id.name(), "id1");
        for bad in ["", "system", "id1", &record().cluster] {
            let error = parse_vault_identity(bad).unwrap_err().to_string();
            assert!(error.starts_with("--vault-identity"), "{error}");
        }
    }

    #[test]
    fn helm_inputs_keep_only_the_proxy_settings_with_passwords_masked() {
        let file = helm::parse_values(
            "oidc:\n  clientSecret: planted2\nproxy:\n  azureProxyEnabled: true\n  includeNoProxyList: [px-backup, 7]\n  httpProxy:\n    HTTP_PROXY: http://u:planted@proxy:3128\n    noProxy: localhost, .svc\n",
        )
        .unwrap();
        let later =
            helm::parse_values("proxy:\n  httpProxy:\n    HTTPS_PROXY: https://u@proxy:3128\n")
                .unwrap();
        let sets = [
            r"proxy.httpProxy.HTTP_PROXY=http://u:planted3@proxy:3128,x".to_string(),
            "oidc.clientSecret=planted4,y".to_string(),
            r"proxy.excludeAzureProxyList={px-backup}".to_string(),
        ];
        let inputs = HelmInputs::from_helm(&[file, later], &sets);
        assert_eq!(
            inputs,
            HelmInputs {
                azure_proxy_enabled: true,
                no_proxy: vec!["localhost".into(), ".svc".into()],
                include_no_proxy_list: vec!["px-backup".into(), "7".into()],
                exclude_azure_proxy_list: vec!["px-backup".into()],
                http_proxy: Some("http://u:***@proxy:3128".into()),
                https_proxy: Some("https://u@proxy:3128".into()),
                split_sets: vec!["proxy.httpProxy.HTTP_PROXY=http://u:***@proxy:3128,x".into()],
            }
        );
        assert!(!format!("{inputs:?}").contains("planted"));
    }

    #[test]
    fn record_fields_are_parsed() {
        let r = TargetRecord { vault: Some("/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v".into()), blob_container: Some("backups".into()), ..record() };
        let t = Target::from_record(&r).unwrap();
        assert_eq!(
            (t.vault.unwrap().name(), t.blob_container.as_deref()),
            ("v", Some("backups"))
        );
    }
}
