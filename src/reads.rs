//! What the tool reads, and the raw answers it got.
//!
//! An [`ArmRead`] names one logical read (a resource GET, a whole paged list, a Resource
//! Graph query, a Microsoft Graph list, or a TCP probe of the PXB server) with its path,
//! api-version and the permission it needs. A
//! [`RawRead`] is what came back: which [`Source`] was read, the status and JSON body, or
//! the typed [`ReadError`]. The collector produces raw reads, bundles store them (in their
//! own wire form, see `crate::bundle`), facts are derived from them. Nothing here does I/O
//! or interprets a body.

use crate::ids::ResourceId;
use crate::probe::Protocol;
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
/// Microsoft.Compute managed disks.
pub const API_COMPUTE: &str = "2024-03-02";
/// The blob service version sent as `x-ms-version` with the container listing.
pub const BLOB_SERVICE_VERSION: &str = "2023-11-03";
/// Blobs asked for per page of a container listing: the check names a few and a count.
pub const BLOB_PAGE_SIZE: u32 = 50;
/// Azure Resource Graph's query API (fleet mode).
pub const API_RESOURCE_GRAPH: &str = "2022-10-01";
/// Resource Graph's query endpoint: a tenant-level POST, the only POST besides listKeys.
pub const RESOURCE_GRAPH_PATH: &str = "/providers/Microsoft.ResourceGraph/resources";

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
    /// A resource group, read only to learn whether it exists.
    ResourceGroup(ResourceId),
    /// The backup instances of a vault (to discover the snapshot resource group).
    BackupInstances(ResourceId),
    /// Every backup job of a vault (`diagnose`; the list has no `$filter`, and omits each
    /// job's `extendedInfo`).
    BackupJobs(ResourceId),
    /// One backup job, by its ID, with `extendedInfo` (warnings, the restore's destination).
    BackupJob(ResourceId),
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
    /// `fleet`: every role assignment of a subscription, at, above and below it,
    /// unfiltered: each principal's `assignedTo` list is derived from it.
    SubscriptionRoleAssignments(String),
    /// `fleet`: every policy assignment of a subscription (inherited from management groups,
    /// at it and below it), unfiltered: each cluster's `atScope()` list is derived from it.
    SubscriptionPolicyAssignments(String),
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
    /// The managed disks of a resource group (one that holds the cluster's PV disks).
    Disks(ResourceId),
    /// Policy assignments at or above the cluster: `$filter=atScope()`.
    PolicyAssignments(ResourceId),
    /// A policy definition or policy set definition, by its full ID (built-ins have no
    /// subscription in their ID, so this is a path, not a `ResourceId`).
    PolicyDefinition(String),
    /// Not an ARM call: the groups a principal belongs to, directly or through other
    /// groups, read from Microsoft Graph (`transitiveMemberOf`, every page merged).
    GroupMemberships(String),
    /// Not an ARM call: the blob data plane's listing of a container (`comp=list`) at the
    /// account's own `primaryEndpoints.blob`, with an Entra token for the storage audience.
    /// Only names, sizes and last-modified times are kept, never a blob's content.
    BlobList {
        endpoint: String,
        container: String,
    },
    /// Not an ARM call: a Kubernetes list through the kubeconfig, every page merged.
    Kubernetes(KubeList),
    /// An Azure Resource Graph query (a POST to ARM's query endpoint), every page merged
    /// into `{"data": [rows], "totalRecords": n}`.
    ResourceGraph(GraphQuery),
    /// Not an ARM call: a TCP probe of the PXB server that the collector makes itself.
    Probe {
        host: String,
        port: u16,
        protocol: Protocol,
    },
}

impl ArmRead {
    pub fn path(&self) -> String {
        match self {
            ArmRead::Cluster(id)
            | ArmRead::Vault(id)
            | ArmRead::ResourceGroup(id)
            | ArmRead::StorageAccount(id)
            | ArmRead::BackupJob(id) => id.to_string(),
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
            ArmRead::BackupInstances(vault) => format!("{vault}/backupInstances"),
            ArmRead::BackupJobs(vault) => format!("{vault}/backupJobs"),
            ArmRead::BlobContainer { account, container } => {
                format!("{account}/blobServices/default/containers/{container}")
            }
            ArmRead::RoleAssignments { subscription, .. } => {
                format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments")
            }
            ArmRead::SubscriptionRoleAssignments(subscription) => {
                format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments")
            }
            ArmRead::SubscriptionPolicyAssignments(subscription) => {
                format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/policyAssignments")
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
            ArmRead::Disks(group) => format!("{group}/providers/Microsoft.Compute/disks"),
            ArmRead::PolicyAssignments(scope) => {
                format!("{scope}/providers/Microsoft.Authorization/policyAssignments")
            }
            ArmRead::PolicyDefinition(id) => id.clone(),
            ArmRead::GroupMemberships(principal) => {
                format!("/v1.0/directoryObjects/{principal}/transitiveMemberOf?$select=id")
            }
            ArmRead::BlobList { .. } | ArmRead::Probe { .. } | ArmRead::ResourceGraph(_) => {
                self.source().path()
            }
            ArmRead::Kubernetes(list) => list.path().to_string(),
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
            ArmRead::Provider { .. } | ArmRead::ResourceGroup(_) => API_RESOURCES,
            ArmRead::Extensions(_) => API_KUBERNETES_CONFIGURATION,
            ArmRead::Vault(_)
            | ArmRead::BackupInstances(_)
            | ArmRead::BackupJobs(_)
            | ArmRead::BackupJob(_) => API_DATA_PROTECTION,
            ArmRead::StorageAccount(_) | ArmRead::BlobContainer { .. } | ArmRead::ListKeys(_) => {
                API_STORAGE
            }
            ArmRead::RoleAssignments { .. }
            | ArmRead::SubscriptionRoleAssignments(_)
            | ArmRead::DenyAssignments { .. }
            | ArmRead::RoleDefinition { .. }
            | ArmRead::Permissions(_) => API_AUTHORIZATION,
            ArmRead::Subnet(_)
            | ArmRead::NetworkSecurityGroup(_)
            | ArmRead::NetworkSecurityGroups(_) => API_NETWORK,
            ArmRead::Disks(_) => API_COMPUTE,
            ArmRead::PolicyAssignments(_)
            | ArmRead::SubscriptionPolicyAssignments(_)
            | ArmRead::PolicyDefinition(_) => API_POLICY,
            ArmRead::ResourceGraph(_) => API_RESOURCE_GRAPH,
            ArmRead::GroupMemberships(_)
            | ArmRead::BlobList { .. }
            | ArmRead::Kubernetes(_)
            | ArmRead::Probe { .. } => "",
        }
    }

    /// Lists are followed through every `nextLink` and stored as one merged `value` array.
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            ArmRead::Extensions(_)
                | ArmRead::TrustedAccessBindings(_)
                | ArmRead::BackupInstances(_)
                | ArmRead::BackupJobs(_)
                | ArmRead::RoleAssignments { .. }
                | ArmRead::SubscriptionRoleAssignments(_)
                | ArmRead::SubscriptionPolicyAssignments(_)
                | ArmRead::DenyAssignments { .. }
                | ArmRead::Permissions(_)
                | ArmRead::NetworkSecurityGroups(_)
                | ArmRead::Disks(_)
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
            ArmRead::ResourceGroup(_) => "Microsoft.Resources/subscriptions/resourceGroups/read",
            ArmRead::BackupInstances(_) => {
                "Microsoft.DataProtection/backupVaults/backupInstances/read"
            }
            ArmRead::BackupJobs(_) | ArmRead::BackupJob(_) => {
                "Microsoft.DataProtection/backupVaults/backupJobs/read"
            }
            ArmRead::StorageAccount(_) => "Microsoft.Storage/storageAccounts/read",
            ArmRead::BlobContainer { .. } => {
                "Microsoft.Storage/storageAccounts/blobServices/containers/read"
            }
            ArmRead::RoleAssignments { .. } | ArmRead::SubscriptionRoleAssignments(_) => {
                "Microsoft.Authorization/roleAssignments/read"
            }
            ArmRead::SubscriptionPolicyAssignments(_) => {
                "Microsoft.Authorization/policyAssignments/read"
            }
            ArmRead::DenyAssignments { .. } => "Microsoft.Authorization/denyAssignments/read",
            ArmRead::RoleDefinition { .. } => "Microsoft.Authorization/roleDefinitions/read",
            ArmRead::Permissions(_) => "Microsoft.Authorization/permissions/read",
            ArmRead::ListKeys(_) => "Microsoft.Storage/storageAccounts/listKeys/action",
            ArmRead::Subnet(_) => "Microsoft.Network/virtualNetworks/subnets/read",
            ArmRead::NetworkSecurityGroup(_) | ArmRead::NetworkSecurityGroups(_) => {
                "Microsoft.Network/networkSecurityGroups/read"
            }
            ArmRead::Disks(_) => "Microsoft.Compute/disks/read",
            ArmRead::PolicyAssignments(_) => "Microsoft.Authorization/policyAssignments/read",
            ArmRead::PolicyDefinition(id)
                if id.to_ascii_lowercase().contains("/policysetdefinitions/") =>
            {
                "Microsoft.Authorization/policySetDefinitions/read"
            }
            ArmRead::PolicyDefinition(_) => "Microsoft.Authorization/policyDefinitions/read",
            ArmRead::GroupMemberships(_) => {
                "Microsoft Graph GroupMember.Read.All (or Directory.Read.All)"
            }
            ArmRead::BlobList { .. } => {
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
            }
            ArmRead::Kubernetes(list) => list.rbac_rule(),
            ArmRead::ResourceGraph(_) => "Microsoft.ResourceGraph/resources/read",
            ArmRead::Probe { .. } => "a network path to the PXB server",
        }
    }

    /// What is read, as recorded: an ARM call (every call is a GET but `listKeys`, which
    /// the transport guard allows as a POST), a Graph GET, or a probe.
    pub fn source(&self) -> Source {
        match self {
            ArmRead::GroupMemberships(_) => Source::Graph { path: self.path() },
            ArmRead::BlobList {
                endpoint,
                container,
            } => Source::Blob {
                endpoint: endpoint.clone(),
                container: container.clone(),
            },
            ArmRead::Kubernetes(_) => Source::Kubernetes { path: self.path() },
            ArmRead::ResourceGraph(query) => Source::ResourceGraph {
                query: query.clone(),
            },
            ArmRead::Probe {
                host,
                port,
                protocol,
            } => Source::Probe {
                host: host.clone(),
                port: *port,
                protocol: *protocol,
            },
            _ => Source::Arm(ArmCall {
                method: match self {
                    ArmRead::ListKeys(_) => "POST",
                    _ => "GET",
                }
                .to_string(),
                path: self.path(),
                api_version: self.api_version().to_string(),
                filter: self.filter(),
            }),
        }
    }

    /// The identity of a read: ARM paths are case-insensitive, so two spellings are one read.
    pub fn key(&self) -> String {
        self.source().key()
    }

    /// `GET /path?api-version=…[&$filter=…]` (POST for listKeys), `POST …/resources?… (query:
    /// …)` for a Resource Graph query, or `TCP probe of …`, as shown in messages.
    pub fn describe(&self) -> String {
        self.source().describe()
    }
}

/// Where a raw read came from, with what identifies it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Arm(ArmCall),
    /// A Microsoft Graph GET: its path under the Graph host, with its query.
    Graph {
        path: String,
    },
    /// A blob data-plane GET listing a container: the account's blob endpoint as ARM gave
    /// it, and the container's name.
    Blob {
        endpoint: String,
        container: String,
    },
    /// A Kubernetes API list (the only verbs the tool sends are get and list): its path
    /// under the API server, without query.
    Kubernetes {
        path: String,
    },
    /// A Resource Graph query (POST, api-version [`API_RESOURCE_GRAPH`]), every page.
    ResourceGraph {
        query: GraphQuery,
    },
    /// A TCP probe the collector makes itself: no HTTP method, no api-version.
    Probe {
        host: String,
        port: u16,
        protocol: Protocol,
    },
}

/// One Resource Graph query as sent: the KQL, its scopes (none means every subscription
/// the caller can read) and options. Every page is sent with all of these unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphQuery {
    pub query: String,
    pub subscriptions: Vec<String>,
    pub management_groups: Vec<String>,
    /// `options.authorizationScopeFilter` (e.g. `AtScopeAboveAndBelow`), when set.
    pub authorization_scope_filter: Option<String>,
    /// `options.$top`: rows per page (ARG allows 1 to 1000).
    pub page_size: u32,
}

impl GraphQuery {
    /// The table the query reads (its first word), lower-cased: named in file names.
    pub fn table(&self) -> String {
        self.query
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|word| !word.is_empty())
            .unwrap_or("query")
            .to_ascii_lowercase()
    }

    /// The identity of the query: the KQL exactly (string literals in it are
    /// case-sensitive), the scopes as a set, lower-cased (IDs and names are not), the
    /// filter and the page size.
    fn key(&self) -> String {
        let scope_set = |scopes: &[String]| {
            let mut scopes: Vec<String> = scopes.iter().map(|s| s.to_ascii_lowercase()).collect();
            scopes.sort();
            scopes.dedup();
            scopes.join(",")
        };
        format!(
            "{}?subscriptions={}&managementgroups={}&authorizationscopefilter={}&$top={}&query={}",
            RESOURCE_GRAPH_PATH.to_ascii_lowercase(),
            scope_set(&self.subscriptions),
            scope_set(&self.management_groups),
            self.authorization_scope_filter
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            self.page_size,
            self.query
        )
    }
}

/// The Kubernetes lists the checks need. Never Secrets, never ConfigMaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeList {
    PersistentVolumes,
    StorageClasses,
    VolumeSnapshotClasses,
    CustomResourceDefinitions,
    Deployments,
    DaemonSets,
    /// The pods of the backup extension's namespace.
    ExtensionPods,
    /// `diagnose`: Stork's records of PXB backups (all namespaces).
    ApplicationBackups,
    /// `diagnose`: Stork's records of PXB restores onto the cluster (all namespaces).
    ApplicationRestores,
    /// `diagnose`: Stork's pods, found as Stork finds itself (label `name=stork`).
    StorkPods,
    /// `diagnose`: the PXB server's pods (label `app=px-backup`), when it runs here.
    PxBackupPods,
}

impl KubeList {
    pub const ALL: [KubeList; 7] = [
        KubeList::PersistentVolumes,
        KubeList::StorageClasses,
        KubeList::VolumeSnapshotClasses,
        KubeList::CustomResourceDefinitions,
        KubeList::Deployments,
        KubeList::DaemonSets,
        KubeList::ExtensionPods,
    ];

    /// The lists `diagnose` adds to the checks' ones.
    pub const DIAGNOSIS: [KubeList; 4] = [
        KubeList::ApplicationBackups,
        KubeList::ApplicationRestores,
        KubeList::StorkPods,
        KubeList::PxBackupPods,
    ];

    /// The path under the API server, with the label selector when the list has one.
    pub fn path(self) -> &'static str {
        match self {
            KubeList::PersistentVolumes => "/api/v1/persistentvolumes",
            KubeList::StorageClasses => "/apis/storage.k8s.io/v1/storageclasses",
            KubeList::VolumeSnapshotClasses => {
                "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses"
            }
            KubeList::CustomResourceDefinitions => {
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            }
            KubeList::Deployments => "/apis/apps/v1/deployments",
            KubeList::DaemonSets => "/apis/apps/v1/daemonsets",
            KubeList::ExtensionPods => "/api/v1/namespaces/dataprotection-microsoft/pods",
            KubeList::ApplicationBackups => {
                "/apis/stork.libopenstorage.org/v1alpha1/applicationbackups"
            }
            KubeList::ApplicationRestores => {
                "/apis/stork.libopenstorage.org/v1alpha1/applicationrestores"
            }
            KubeList::StorkPods => "/api/v1/pods?labelSelector=name%3Dstork",
            KubeList::PxBackupPods => "/api/v1/pods?labelSelector=app%3Dpx-backup",
        }
    }

    /// The RBAC rule a 401/403 says to grant: verb, resource, API group, namespace.
    pub fn rbac_rule(self) -> &'static str {
        match self {
            KubeList::PersistentVolumes => {
                "Kubernetes RBAC: list persistentvolumes (apiGroup \"\")"
            }
            KubeList::StorageClasses => {
                "Kubernetes RBAC: list storageclasses (apiGroup storage.k8s.io)"
            }
            KubeList::VolumeSnapshotClasses => {
                "Kubernetes RBAC: list volumesnapshotclasses (apiGroup snapshot.storage.k8s.io)"
            }
            KubeList::CustomResourceDefinitions => {
                "Kubernetes RBAC: list customresourcedefinitions (apiGroup apiextensions.k8s.io)"
            }
            KubeList::Deployments => {
                "Kubernetes RBAC: list deployments (apiGroup apps, all namespaces)"
            }
            KubeList::DaemonSets => {
                "Kubernetes RBAC: list daemonsets (apiGroup apps, all namespaces)"
            }
            KubeList::ExtensionPods => {
                "Kubernetes RBAC: list pods (apiGroup \"\") in namespace dataprotection-microsoft"
            }
            KubeList::ApplicationBackups => {
                "Kubernetes RBAC: list applicationbackups (apiGroup stork.libopenstorage.org, all namespaces)"
            }
            KubeList::ApplicationRestores => {
                "Kubernetes RBAC: list applicationrestores (apiGroup stork.libopenstorage.org, all namespaces)"
            }
            KubeList::StorkPods | KubeList::PxBackupPods => {
                "Kubernetes RBAC: list pods (apiGroup \"\", all namespaces)"
            }
        }
    }
}

/// One ARM request as made: method, resource path, api-version and `$filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmCall {
    pub method: String,
    pub path: String,
    pub api_version: String,
    pub filter: Option<String>,
}

impl Source {
    /// The identity of the read (see [`ArmRead::key`]).
    pub fn key(&self) -> String {
        match self {
            Source::Arm(call) => match &call.filter {
                Some(f) => format!("{}?$filter={f}", call.path.to_ascii_lowercase()),
                None => call.path.to_ascii_lowercase(),
            },
            Source::ResourceGraph { query } => query.key(),
            Source::Graph { .. }
            | Source::Blob { .. }
            | Source::Kubernetes { .. }
            | Source::Probe { .. } => self.path().to_ascii_lowercase(),
        }
    }

    /// The ARM or Graph path, or `<protocol>://host:port` for a probe.
    pub fn path(&self) -> String {
        match self {
            Source::Arm(call) => call.path.clone(),
            Source::Graph { path } | Source::Kubernetes { path } => path.clone(),
            Source::ResourceGraph { .. } => RESOURCE_GRAPH_PATH.to_string(),
            Source::Blob {
                endpoint,
                container,
            } => format!(
                "{}/{container}?restype=container&comp=list",
                endpoint.trim_end_matches('/')
            ),
            Source::Probe {
                host,
                port,
                protocol,
            } => format!("{}://{host}:{port}", protocol.name()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Arm(call) => {
                let filter = call
                    .filter
                    .as_ref()
                    .map(|f| format!("&$filter={f}"))
                    .unwrap_or_default();
                format!(
                    "{} {}?api-version={}{filter}",
                    call.method, call.path, call.api_version
                )
            }
            Source::Graph { path } => format!("GET {path} (Microsoft Graph)"),
            Source::Blob { .. } => format!(
                "GET {}&maxresults={BLOB_PAGE_SIZE} (blob data plane)",
                self.path()
            ),
            Source::Kubernetes { path } => format!("LIST {path} (Kubernetes API)"),
            Source::ResourceGraph { query } => format!(
                "POST {RESOURCE_GRAPH_PATH}?api-version={API_RESOURCE_GRAPH} (query: {})",
                query.query.chars().take(80).collect::<String>()
            ),
            Source::Probe { .. } => format!("TCP probe of {}", self.path()),
        }
    }
}

/// What kind of failure left a read without a usable body: what callers branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// ARM answered with an error status (the status says which; ARM's own `error.code`
    /// travels beside the kind when ARM gave one).
    Http,
    /// No complete HTTP answer: connection error, timeout, body cut off.
    Transport,
    /// An answer arrived but its body is not the JSON the read expects.
    MalformedBody,
    /// The request failed before any answer for a reason azure_core gives no better kind
    /// for (the read-only guard refusing it, among others).
    Refused,
    /// The tool could not make the request (a bad URL, no token for this read).
    Client,
    /// The read is not in the collected data (a bundle without it); never recorded.
    NotCollected,
}

impl FailureKind {
    /// The code messages show when ARM gave none (the string codes of bundle format 1).
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Http => "HttpError",
            FailureKind::Transport => "Transport",
            FailureKind::MalformedBody => "MalformedBody",
            FailureKind::Refused => "Refused",
            FailureKind::Client => "Client",
            FailureKind::NotCollected => "NotCollected",
        }
    }
}

/// Why a read produced no usable body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub kind: FailureKind,
    /// ARM's own `error.code`, when ARM answered with one.
    pub arm_code: Option<String>,
    pub message: String,
}

impl ReadError {
    /// The code messages show: ARM's own, else the kind's name.
    pub fn code(&self) -> &str {
        self.arm_code.as_deref().unwrap_or(self.kind.name())
    }
}

/// The answer to one [`ArmRead`].
#[derive(Clone, Debug, PartialEq)]
pub struct RawRead {
    pub source: Source,
    /// The final HTTP status; absent when no HTTP answer arrived (timeout, connection
    /// error) and for probes, which have none.
    pub status: Option<u16>,
    pub body: Option<Value>,
    pub error: Option<ReadError>,
}

impl RawRead {
    pub fn ok(read: &ArmRead, body: Value) -> Self {
        let status = match read {
            ArmRead::Probe { .. } => None,
            _ => Some(200),
        };
        Self::new(read, status, Some(body), None)
    }

    /// ARM's error answer: its status and its own `error.code` (tests build these).
    #[cfg(test)]
    pub fn failed(
        read: &ArmRead,
        status: Option<u16>,
        arm_code: &str,
        message: impl Into<String>,
    ) -> Self {
        let error = ReadError {
            kind: FailureKind::Http,
            arm_code: Some(arm_code.to_string()),
            message: message.into(),
        };
        Self::new(read, status, None, Some(error))
    }

    /// A failure of any kind, as the client classified it.
    pub fn failure(read: &ArmRead, status: Option<u16>, error: ReadError) -> Self {
        Self::new(read, status, None, Some(error))
    }

    fn new(
        read: &ArmRead,
        status: Option<u16>,
        body: Option<Value>,
        error: Option<ReadError>,
    ) -> Self {
        RawRead {
            source: read.source(),
            status,
            body,
            error,
        }
    }

    pub fn key(&self) -> String {
        self.source.key()
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
    pub fn remove(&mut self, read: &ArmRead) {
        self.take(read);
    }
    pub fn take(&mut self, read: &ArmRead) -> Option<RawRead> {
        self.0.remove(&read.key())
    }
    /// Keeps only the reads whose [`ArmRead::key`] `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|key, _| keep(key));
    }
}

impl IntoIterator for RawReads {
    type Item = RawRead;
    type IntoIter = std::collections::btree_map::IntoValues<String, RawRead>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(kql: &str, subscriptions: &[&str]) -> GraphQuery {
        GraphQuery {
            query: kql.to_string(),
            subscriptions: subscriptions.iter().map(|s| s.to_string()).collect(),
            management_groups: Vec::new(),
            authorization_scope_filter: None,
            page_size: 1000,
        }
    }

    /// The KQL is part of the identity as written (`'AKS1'` and `'aks1'` are different
    /// literals); the scopes are IDs, compared case-insensitively and as a set.
    #[test]
    fn a_resource_graph_read_is_identified_by_its_query_scopes_and_options() {
        let kql = "resources | where name == 'AKS1' | project id";
        let read = ArmRead::ResourceGraph(query(kql, &["S1", "s2"]));
        assert_eq!(
            read.key(),
            ArmRead::ResourceGraph(query(kql, &["s2", "s1"])).key()
        );
        assert_ne!(
            read.key(),
            ArmRead::ResourceGraph(query(&kql.replace("AKS1", "aks1"), &["s1", "s2"])).key()
        );
        assert_ne!(
            read.key(),
            ArmRead::ResourceGraph(query(kql, &["s1"])).key()
        );
        let mut smaller_pages = query(kql, &["s1", "s2"]);
        smaller_pages.page_size = 250;
        assert_ne!(read.key(), ArmRead::ResourceGraph(smaller_pages).key());
        let mut filtered = query(kql, &["s1", "s2"]);
        filtered.authorization_scope_filter = Some("AtScopeAboveAndBelow".into());
        assert_ne!(read.key(), ArmRead::ResourceGraph(filtered).key());

        assert_eq!(read.path(), "/providers/Microsoft.ResourceGraph/resources");
        assert_eq!(read.api_version(), "2022-10-01");
        assert_eq!(read.permission(), "Microsoft.ResourceGraph/resources/read");
        assert!(!read.is_list(), "ARG pages by $skipToken, not nextLink");
    }

    #[test]
    fn a_resource_graph_read_is_described_with_the_start_of_its_query() {
        let long = format!("resources | where {}", "x".repeat(200));
        let described = ArmRead::ResourceGraph(query(&long, &[])).describe();
        let expected: String = long.chars().take(80).collect();
        assert_eq!(
            described,
            format!("POST /providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01 (query: {expected})")
        );
        assert_eq!(query("  Resources | take 1", &[]).table(), "resources");
    }
}
