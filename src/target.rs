//! What one run checks: the cluster and the inputs the user gave.
//!
//! Built from the command line (validated before any request) or read back from a
//! bundle's manifest, so a bundle replays with exactly the inputs it was collected with.

use crate::ids::ResourceId;
use serde::{Deserialize, Serialize};

pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
pub const VAULT_TYPE: &str = "Microsoft.DataProtection/backupVaults";
pub const STORAGE_ACCOUNT_TYPE: &str = "Microsoft.Storage/storageAccounts";

#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: ResourceId,
    pub vault: Option<ResourceId>,
    /// Validated now so a typo stops the run early; read by the role checks (issue #3).
    #[allow(dead_code)]
    pub snapshot_resource_group: Option<ResourceId>,
    pub storage_account: Option<ResourceId>,
    pub blob_container: Option<String>,
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
}

impl Target {
    pub fn from_record(record: &TargetRecord) -> Result<Self, String> {
        let cluster = ResourceId::parse_typed(&record.cluster, CLUSTER_TYPE)?;
        let vault = record
            .vault
            .as_deref()
            .map(|v| ResourceId::parse_typed(v, VAULT_TYPE))
            .transpose()?;
        let snapshot_resource_group = record
            .snapshot_resource_group
            .as_deref()
            .map(|g| ResourceId::parse_resource_group(g, cluster.subscription()))
            .transpose()?;
        let storage_account = record
            .storage_account
            .as_deref()
            .map(|a| ResourceId::parse_typed(a, STORAGE_ACCOUNT_TYPE))
            .transpose()?;
        let blob_container = record
            .blob_container
            .as_deref()
            .map(str::trim)
            .map(str::to_string);
        if let Some(name) = &blob_container {
            validate_container_name(name)?;
        }
        Ok(Target {
            cluster,
            vault,
            snapshot_resource_group,
            storage_account,
            blob_container,
        })
    }
}

/// Blob container names: 3–63 characters of lower-case letters, digits and single hyphens.
fn validate_container_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let valid = (3..=63).contains(&name.len())
        && valid_chars
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid blob container name (3-63 lower-case letters, digits and single hyphens)"
        ))
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
