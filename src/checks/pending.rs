//! Catalog checks whose implementation has not landed yet.
//!
//! They are registered so that every report lists the whole profile (checks.md §3); each
//! reports `skip` with "not yet implemented" until its issue replaces the entry here with
//! a real module.

use super::{Check, Outcome, AZURE_BACKUP, PXB};
use crate::facts::Facts;

fn not_yet_implemented(_: &Facts) -> Outcome {
    Outcome::skip("not yet implemented")
}

macro_rules! pending {
    ($name:ident, $id:literal, $profiles:expr, $title:literal, $explain:literal) => {
        pub const $name: Check = Check {
            id: $id,
            title: $title,
            profiles: $profiles,
            explain: concat!(
                $explain,
                "\nStatus: not yet implemented; this check reports skip."
            ),
            run: not_yet_implemented,
        };
    };
}

pending!(ROLE_VAULT_READER_ON_CLUSTER, "role-vault-reader-on-cluster", AZURE_BACKUP,
    "Backup vault has Reader on the cluster",
    "Verifies that the vault's managed identity has the Reader role (or every Reader operation) on the cluster.");
pending!(
    ROLE_VAULT_READER_ON_SNAPSHOT_RG,
    "role-vault-reader-on-snapshot-rg",
    AZURE_BACKUP,
    "Backup vault has Reader on the snapshot resource group",
    "Verifies that the vault's managed identity has Reader on the snapshot resource group."
);
pending!(ROLE_CLUSTER_CONTRIBUTOR_ON_SNAPSHOT_RG, "role-cluster-contributor-on-snapshot-rg", AZURE_BACKUP,
    "Cluster identity has Contributor on the snapshot resource group",
    "Verifies that the cluster's control-plane identity (not the kubelet identity) has Contributor on the snapshot resource group.");
pending!(ROLE_EXTENSION_BLOB_CONTRIBUTOR, "role-extension-blob-contributor", AZURE_BACKUP,
    "Extension identity has Storage Blob Data Contributor on the storage account",
    "Verifies that the backup extension's identity (aksAssignedIdentity.principalId) has Storage Blob Data Contributor on the storage account; Owner and Contributor grant no data actions.");
pending!(ROLE_VAULT_DISK_SNAPSHOT_CONTRIBUTOR, "role-vault-disk-snapshot-contributor", AZURE_BACKUP,
    "Backup vault has Disk Snapshot Contributor on the snapshot resource group",
    "Verifies that the vault's identity has Disk Snapshot Contributor on the snapshot resource group.");
pending!(ROLE_VAULT_DISK_DATA_OPERATOR, "role-vault-disk-data-operator", AZURE_BACKUP,
    "Backup vault has Data Operator for Managed Disks on the snapshot resource group",
    "Verifies that the vault's identity has Data Operator for Managed Disks on the snapshot resource group.");
pending!(ROLE_VAULT_BLOB_READER, "role-vault-blob-reader", AZURE_BACKUP,
    "Backup vault has Storage Blob Data Reader on the storage account",
    "Verifies that the vault's identity has Storage Blob Data Reader on the backup storage account.");
pending!(ROLE_VAULT_STAGING, "role-vault-staging", AZURE_BACKUP,
    "Backup vault has the vault-tier staging roles",
    "With staging inputs: the vault has Contributor on the staging resource group, Storage Account Contributor and Storage Blob Data Owner on the staging account.");
pending!(CALLER_ROLES, "caller-roles", AZURE_BACKUP,
    "The identity running the tool can configure backup",
    "Verifies, through the permissions API, that the caller can write role assignments on the cluster, snapshot resource group and storage account, and holds Backup Contributor's actions on the vault's resource group.");
pending!(AZURE_POLICY_EXCLUSION, "azure-policy-exclusion", AZURE_BACKUP,
    "Azure Policy leaves the dataprotection-microsoft namespace alone",
    "Verifies that no Kubernetes Azure Policy assignment on the cluster acts on namespace dataprotection-microsoft.");
pending!(NSG_BACKUP_SERVICE_TAGS, "nsg-backup-service-tags", AZURE_BACKUP,
    "NSGs allow inbound from AzureBackup and AzureCloud",
    "Verifies that every NSG on the node subnets and NICs, evaluated by priority, allows inbound traffic from the AzureBackup and AzureCloud service tags.");
pending!(EGRESS_FQDNS, "egress-fqdns", AZURE_BACKUP,
    "Cluster egress reaches the backup FQDNs",
    "Verifies the outbound type; warns for userDefinedRouting or private clusters, listing the FQDNs the firewall must allow.");
pending!(
    VELERO_ABSENT,
    "velero-absent",
    AZURE_BACKUP,
    "No other Velero installation in the cluster",
    "With --kubeconfig: no Velero installation outside dataprotection-microsoft."
);
pending!(
    VOLUME_TYPES,
    "volume-types",
    AZURE_BACKUP,
    "Persistent volumes are CSI Azure Disk volumes",
    "With --kubeconfig: every PV to protect is a CSI Azure Disk volume."
);
pending!(
    BACKUP_CONTAINER_EMPTY,
    "backup-container-empty",
    AZURE_BACKUP,
    "Backup blob container holds only backup data",
    "The extension's blob container holds nothing but backup data (data-plane listing)."
);
pending!(PXB_STORAGE_ACCOUNT, "pxb-storage-account", PXB,
    "PXB backup storage account is usable",
    "Verifies that the --storage-account exists, is StorageV2 or BlobStorage, Succeeded, and allows shared key access.");
pending!(PXB_STORAGE_ACCOUNT_KEY, "pxb-storage-account-key", PXB,
    "Storage account key given to PXB is valid",
    "Verifies that the key given to PXB equals one of the account's keys (constant-time compare, never printed).");
pending!(PXB_INSTALL_PERMISSIONS, "pxb-install-permissions", PXB,
    "PXB principal has the install permissions on the node resource group",
    "Verifies that the PXB principal has every operation of the PXB install list at the node resource group.");
pending!(PXB_APP_CLUSTER_PERMISSIONS, "pxb-app-cluster-permissions", PXB,
    "PXB principal has the application-cluster permissions on the node resource group",
    "Verifies that the PXB principal has every operation of the PXB application-cluster list at the node resource group.");
pending!(PXB_RESTORE_PERMISSIONS, "pxb-restore-permissions", PXB,
    "Cluster identity can restore from the source cluster's node resource group",
    "With --restore-source-cluster: the checked cluster's identity has the cross-resource-group restore operations at the source's node resource group.");
pending!(PXB_ROLE_PROPAGATION, "pxb-role-propagation", PXB,
    "PXB custom roles have had time to propagate",
    "Warns when a custom role granting the PXB permissions was created or updated less than 20 minutes ago.");
pending!(PXB_PORTS, "pxb-ports", PXB,
    "PXB server answers on its REST and gRPC ports",
    "With --pxb-endpoint: TCP 10001 (HTTP) and 10002 (HTTP/2) accept connections and answer their protocols.");
pending!(
    PXB_NSG_PORTS,
    "pxb-nsg-ports",
    PXB,
    "NSGs do not block PXB ports 10001/10002",
    "No NSG on the node subnets or NICs denies inbound TCP 10001 or 10002 ahead of an allow."
);
pending!(PXB_PROXY_NO_PROXY, "pxb-proxy-no-proxy", PXB,
    "Proxy noProxy list covers every PXB service",
    "When a proxy is in use, the effective proxy.httpProxy.noProxy contains every PXB service, the cluster's noProxy entries, the service CIDR and the cluster domains.");
pending!(PXB_PROXY_SERVICE_LISTS, "pxb-proxy-service-lists", PXB,
    "Proxy service lists name real PXB services",
    "Every name in proxy.includeNoProxyList and proxy.excludeAzureProxyList is a PXB micro-service; --set values escape their commas.");
