//! What the tool reads from ARM, and the raw answers it got.
//!
//! An [`ArmRead`] names one logical read (a resource GET, or a whole paged list) with its
//! path, api-version and the permission it needs. A [`RawRead`] is what came back: the
//! status and JSON body, or the failure. The collector produces raw reads, bundles store
//! them, facts are derived from them. Nothing here does I/O or interprets a body.

use crate::ids::ResourceId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const API_CONTAINER_SERVICE: &str = "2025-10-01";
pub const API_KUBERNETES_CONFIGURATION: &str = "2024-11-01";
pub const API_RESOURCES: &str = "2025-04-01";
pub const API_DATA_PROTECTION: &str = "2025-07-01";
/// The storage reads go through `azure_mgmt_storage`, whose package pins this version.
pub const API_STORAGE: &str = "2023-05-01";
/// Microsoft.Authorization: role assignments, definitions, deny assignments, permissions.
pub const API_AUTHORIZATION: &str = "2022-04-01";
pub const API_NETWORK: &str = "2024-05-01";
pub const API_POLICY: &str = "2023-04-01";

/// One logical ARM read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArmRead {
    Cluster(ResourceId),
    Provider {
        subscription: String,
        namespace: String,
    },
    Extensions(ResourceId),
    TrustedAccessBindings(ResourceId),
    Vault(ResourceId),
    StorageAccount(ResourceId),
    BlobContainer {
        account: ResourceId,
        container: String,
    },
    /// Every role assignment in a subscription (at, above and below it) that applies to the
    /// principal directly or through its groups: `$filter=assignedTo('{principal}')`.
    RoleAssignments {
        subscription: String,
        principal: String,
    },
    /// Every deny assignment at, above and below a subscription.
    DenyAssignments {
        subscription: String,
    },
    RoleDefinition {
        subscription: String,
        guid: String,
    },
    /// The caller's own effective permission blocks at a resource group or resource.
    Permissions(ResourceId),
    /// POST listKeys, made only to verify a key the user gave; only whether it matched is kept.
    ListKeys(ResourceId),
    Subnet(ResourceId),
    NetworkSecurityGroup(ResourceId),
    /// The NSGs of a resource group (the cluster's node resource group).
    NetworkSecurityGroups(ResourceId),
    /// Policy assignments at or above the cluster: `$filter=atScope()`.
    PolicyAssignments(ResourceId),
    /// A policy definition or policy set definition, by its full ID (built-ins have no
    /// subscription in their ID, so this is a path, not a `ResourceId`).
    PolicyDefinition(String),
    /// Not an ARM call: a TCP probe of the PXB server that the collector makes itself.
    Probe {
        host: String,
        port: u16,
        protocol: crate::probe::Protocol,
    },
}

impl ArmRead {
    pub fn path(&self) -> String {
        match self {
            ArmRead::Cluster(id) | ArmRead::Vault(id) | ArmRead::StorageAccount(id) => {
                id.to_string()
            }
            ArmRead::Provider {
                subscription,
                namespace,
            } => {
                format!("/subscriptions/{subscription}/providers/{namespace}")
            }
            ArmRead::Extensions(cluster) => {
                format!("{cluster}/providers/Microsoft.KubernetesConfiguration/extensions")
            }
            ArmRead::TrustedAccessBindings(cluster) => {
                format!("{cluster}/trustedAccessRoleBindings")
            }
            ArmRead::BlobContainer { account, container } => {
                format!("{account}/blobServices/default/containers/{container}")
            }
            ArmRead::RoleAssignments { subscription, .. } => {
                format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments")
            }
            ArmRead::DenyAssignments { subscription } => {
                format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/denyAssignments")
            }
            ArmRead::RoleDefinition { subscription, guid } => {
                format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
            }
            ArmRead::Permissions(scope) => {
                format!("{scope}/providers/Microsoft.Authorization/permissions")
            }
            ArmRead::ListKeys(account) => format!("{account}/listKeys"),
            ArmRead::Subnet(id) | ArmRead::NetworkSecurityGroup(id) => id.to_string(),
            ArmRead::NetworkSecurityGroups(group) => {
                format!("{group}/providers/Microsoft.Network/networkSecurityGroups")
            }
            ArmRead::PolicyAssignments(scope) => {
                format!("{scope}/providers/Microsoft.Authorization/policyAssignments")
            }
            ArmRead::PolicyDefinition(id) => id.clone(),
            ArmRead::Probe {
                host,
                port,
                protocol,
            } => format!("{}://{host}:{port}", protocol.name()),
        }
    }

    /// The `$filter` of the read, when it has one.
    pub fn filter(&self) -> Option<String> {
        match self {
            ArmRead::RoleAssignments { principal, .. } => {
                Some(format!("assignedTo('{principal}')"))
            }
            ArmRead::PolicyAssignments(_) => Some("atScope()".to_string()),
            _ => None,
        }
    }

    pub fn api_version(&self) -> &'static str {
        match self {
            ArmRead::Cluster(_) | ArmRead::TrustedAccessBindings(_) => API_CONTAINER_SERVICE,
            ArmRead::Provider { .. } => API_RESOURCES,
            ArmRead::Extensions(_) => API_KUBERNETES_CONFIGURATION,
            ArmRead::Vault(_) => API_DATA_PROTECTION,
            ArmRead::StorageAccount(_) | ArmRead::BlobContainer { .. } | ArmRead::ListKeys(_) => {
                API_STORAGE
            }
            ArmRead::RoleAssignments { .. }
            | ArmRead::DenyAssignments { .. }
            | ArmRead::RoleDefinition { .. }
            | ArmRead::Permissions(_) => API_AUTHORIZATION,
            ArmRead::Subnet(_)
            | ArmRead::NetworkSecurityGroup(_)
            | ArmRead::NetworkSecurityGroups(_) => API_NETWORK,
            ArmRead::PolicyAssignments(_) | ArmRead::PolicyDefinition(_) => API_POLICY,
            ArmRead::Probe { .. } => "",
        }
    }

    /// Lists are followed through every `nextLink` and stored as one merged `value` array.
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            ArmRead::Extensions(_)
                | ArmRead::TrustedAccessBindings(_)
                | ArmRead::RoleAssignments { .. }
                | ArmRead::DenyAssignments { .. }
                | ArmRead::Permissions(_)
                | ArmRead::NetworkSecurityGroups(_)
                | ArmRead::PolicyAssignments(_)
        )
    }

    /// The Azure operation the caller needs for this read; named when ARM answers 403.
    pub fn permission(&self) -> &'static str {
        match self {
            ArmRead::Cluster(_) => "Microsoft.ContainerService/managedClusters/read",
            ArmRead::Provider { .. } => "Microsoft.Resources/subscriptions/providers/read",
            ArmRead::Extensions(_) => "Microsoft.KubernetesConfiguration/extensions/read",
            ArmRead::TrustedAccessBindings(_) => {
                "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/read"
            }
            ArmRead::Vault(_) => "Microsoft.DataProtection/backupVaults/read",
            ArmRead::StorageAccount(_) => "Microsoft.Storage/storageAccounts/read",
            ArmRead::BlobContainer { .. } => {
                "Microsoft.Storage/storageAccounts/blobServices/containers/read"
            }
            ArmRead::RoleAssignments { .. } => "Microsoft.Authorization/roleAssignments/read",
            ArmRead::DenyAssignments { .. } => "Microsoft.Authorization/denyAssignments/read",
            ArmRead::RoleDefinition { .. } => "Microsoft.Authorization/roleDefinitions/read",
            ArmRead::Permissions(_) => "Microsoft.Authorization/permissions/read",
            ArmRead::ListKeys(_) => "Microsoft.Storage/storageAccounts/listKeys/action",
            ArmRead::Subnet(_) => "Microsoft.Network/virtualNetworks/subnets/read",
            ArmRead::NetworkSecurityGroup(_) | ArmRead::NetworkSecurityGroups(_) => {
                "Microsoft.Network/networkSecurityGroups/read"
            }
            ArmRead::PolicyAssignments(_) => "Microsoft.Authorization/policyAssignments/read",
            ArmRead::PolicyDefinition(id)
                if id.to_ascii_lowercase().contains("/policysetdefinitions/") =>
            {
                "Microsoft.Authorization/policySetDefinitions/read"
            }
            ArmRead::PolicyDefinition(_) => "Microsoft.Authorization/policyDefinitions/read",
            ArmRead::Probe { .. } => "a network path to the PXB server",
        }
    }

    /// Every read is a GET but `listKeys`, which the transport guard allows as a POST.
    pub fn method(&self) -> &'static str {
        match self {
            ArmRead::ListKeys(_) => "POST",
            ArmRead::Probe { .. } => "TCP",
            _ => "GET",
        }
    }

    /// The identity of a read: ARM paths are case-insensitive, so two spellings are one read.
    pub fn key(&self) -> String {
        read_key(&self.path(), self.filter().as_deref())
    }

    /// `GET /path?api-version=…[&$filter=…]` (POST for listKeys), as shown in messages.
    pub fn describe(&self) -> String {
        if let ArmRead::Probe { .. } = self {
            return format!("TCP probe of {}", self.path());
        }
        let filter = self
            .filter()
            .map(|f| format!("&$filter={f}"))
            .unwrap_or_default();
        format!(
            "{} {}?api-version={}{filter}",
            self.method(),
            self.path(),
            self.api_version()
        )
    }
}

/// Why a read produced no usable body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadError {
    /// ARM's `error.code`, or one of ours: `Transport`, `MalformedBody`, `Refused`.
    pub code: String,
    pub message: String,
}

/// The answer to one [`ArmRead`], exactly as a bundle stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RawRead {
    pub method: String,
    pub path: String,
    pub api_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The final HTTP status; absent when no HTTP answer arrived (timeout, connection error).
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReadError>,
}

impl RawRead {
    pub fn ok(read: &ArmRead, body: Value) -> Self {
        Self::new(read, Some(200), Some(body), None)
    }

    pub fn failed(
        read: &ArmRead,
        status: Option<u16>,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        let error = ReadError {
            code: code.to_string(),
            message: message.into(),
        };
        Self::new(read, status, None, Some(error))
    }

    fn new(
        read: &ArmRead,
        status: Option<u16>,
        body: Option<Value>,
        error: Option<ReadError>,
    ) -> Self {
        RawRead {
            method: read.method().to_string(),
            path: read.path(),
            api_version: read.api_version().to_string(),
            filter: read.filter(),
            status,
            body,
            error,
        }
    }

    pub fn key(&self) -> String {
        read_key(&self.path, self.filter.as_deref())
    }
}

fn read_key(path: &str, filter: Option<&str>) -> String {
    match filter {
        Some(f) => format!("{}?$filter={f}", path.to_ascii_lowercase()),
        None => path.to_ascii_lowercase(),
    }
}

/// Every raw read of one run, keyed by [`ArmRead::key`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawReads(BTreeMap<String, RawRead>);

impl RawReads {
    pub fn insert(&mut self, raw: RawRead) {
        self.0.insert(raw.key(), raw);
    }
    pub fn get(&self, read: &ArmRead) -> Option<&RawRead> {
        self.0.get(&read.key())
    }
    pub fn contains(&self, read: &ArmRead) -> bool {
        self.0.contains_key(&read.key())
    }
    pub fn iter(&self) -> impl Iterator<Item = &RawRead> {
        self.0.values()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}
