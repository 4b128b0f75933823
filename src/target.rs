//! What one run checks: the cluster and the inputs the user gave.
//!
//! Built from the command line (validated before any request) or read back from a
//! bundle's manifest, so a bundle replays with exactly the inputs it was collected with.

use crate::ids::ResourceId;
use serde::{Deserialize, Serialize};

/// An input that does not name what it must: the run stops before any request.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A resource ID that does not parse, or names the wrong type of resource.
    #[error("{0}")]
    ResourceId(String),
    #[error("--pxb-endpoint '{0}' must be a host name or address (ports go in --pxb-rest-port and --pxb-grpc-port)")]
    PxbEndpoint(String),
    #[error("'{0}' is not an object ID (a GUID such as 00000000-0000-0000-0000-000000000000)")]
    ObjectId(String),
    #[error("'{0}' is not a valid blob container name (3-63 lower-case letters, digits and single hyphens)")]
    ContainerName(String),
}

pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
pub const VAULT_TYPE: &str = "Microsoft.DataProtection/backupVaults";
pub const STORAGE_ACCOUNT_TYPE: &str = "Microsoft.Storage/storageAccounts";

#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: ResourceId,
    pub vault: Option<ResourceId>,
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
}

/// The px-central Helm inputs, reduced to what the proxy checks read: each values file's
/// `proxy` subtree and the `--set` expressions that assign `proxy.*` (other chart values
/// can hold passwords and are never kept).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HelmInputs {
    #[serde(default)]
    pub values: Vec<serde_json::Value>,
    #[serde(default)]
    pub set: Vec<String>,
}

/// Where PXB's server listens and where its clients come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PxbEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default = "default_rest_port")]
    pub rest_port: u16,
    #[serde(default = "default_grpc_port")]
    pub grpc_port: u16,
    /// Source of the PXB clients' traffic for `pxb-nsg-ports`: a CIDR or a service tag.
    #[serde(default = "default_client_source")]
    pub client_source: String,
}

fn default_rest_port() -> u16 {
    10001
}
fn default_grpc_port() -> u16 {
    10002
}
fn default_client_source() -> String {
    "VirtualNetwork".into()
}

impl Default for PxbEndpoint {
    fn default() -> Self {
        PxbEndpoint {
            host: None,
            rest_port: default_rest_port(),
            grpc_port: default_grpc_port(),
            client_source: default_client_source(),
        }
    }
}

/// The actions of the restore role a user created (`az role definition create` JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreRole {
    pub name: String,
    pub actions: Vec<String>,
}

/// The manifest form of a [`Target`]: plain strings a person can read and edit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_storage_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pxb_principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_source_cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_role: Option<RestoreRole>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub storage_account_key_provided: bool,
    #[serde(default, skip_serializing_if = "is_default_endpoint")]
    pub pxb: PxbEndpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmInputs>,
}

fn is_default_endpoint(endpoint: &PxbEndpoint) -> bool {
    *endpoint == PxbEndpoint::default()
}

impl Target {
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
    fn record_fields_are_parsed() {
        let r = TargetRecord { vault: Some("/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v".into()), blob_container: Some("backups".into()), ..record() };
        let t = Target::from_record(&r).unwrap();
        assert_eq!(
            (t.vault.unwrap().name(), t.blob_container.as_deref()),
            ("v", Some("backups"))
        );
    }
}
