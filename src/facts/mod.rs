//! Facts: what the raw ARM answers say, in the terms the checks reason about.
//!
//! Bodies are parsed tolerantly into small models of just the fields the checks use:
//! every field optional, unknown fields and unknown enum values kept as plain strings.
//! A read that failed, is missing from a bundle, or has a body of the wrong shape becomes
//! an [`Unobserved`] fact, which checks report as `error`, never as `pass`.
//! [`Facts::derive`] parses every read once into a typed snapshot; the checks only look it up.
//! This module does no I/O, does not decide what to read (`crate::plan`) and does not
//! evaluate RBAC (`crate::rbac`).

use crate::ids::{same_id, ResourceId};
use crate::probe::Protocol;
use crate::reads::{ArmRead, FailureKind, RawReads, ReadError};
use crate::target::{Target, VaultIdentityChoice, STORAGE_ACCOUNT_TYPE, SYSTEM_ASSIGNED};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

mod access;
mod blob;
mod discovery;
mod kubernetes;
mod network;
mod policy;
mod scopes;

pub(crate) use access::control_plane_principal;
pub use access::Access;
pub use blob::Blob;
pub use discovery::{Discovery, BACKUP_OPERATOR_ROLE};
pub use kubernetes::{
    disk_reads, kubernetes_reads, reaches_cluster, ClusterObjects, Kubernetes, Metadata,
    PersistentVolume, StorageClass, Workload, DISK_CSI_DRIVER,
};
pub use network::{AppliedNsg, Network};
pub use policy::{is_initiative, Policy};
pub use scopes::{existence_reads, ScopeReads};

/// Why a fact could not be observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Unobserved {
    pub call: String,
    pub status: Option<u16>,
    /// What went wrong: what a check branches on, with the status.
    pub kind: FailureKind,
    /// The code messages show: ARM's own `error.code` when ARM gave one, else the kind's
    /// name ([`FailureKind::name`]).
    pub code: String,
    pub message: String,
    /// The operation a 403 says is missing (from ARM's message when it names one).
    pub permission: String,
}

impl Unobserved {
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// ARM refused because the resource provider is not registered on the subscription: a
    /// finding about the subscription, not a failure to observe.
    pub fn is_unregistered_provider(&self) -> bool {
        self.kind == FailureKind::Http
            && self
                .code
                .eq_ignore_ascii_case("MissingSubscriptionRegistration")
    }

    /// One line for a check's message: the call, what happened, and what to grant.
    pub fn describe(&self) -> String {
        let status = self
            .status
            .map(|s| format!("HTTP {s} "))
            .unwrap_or_default();
        let mut text = format!(
            "could not read {}: {status}{}: {}",
            self.call, self.code, self.message
        );
        if self.status == Some(403) {
            text.push_str(&format!(
                " (the identity running the tool needs '{}')",
                self.permission
            ));
        }
        text
    }
}

pub type Observed<T> = Result<T, Unobserved>;

/// Reads one fact, turning absence, failure or a body of the wrong shape into [`Unobserved`].
pub(crate) fn observe<T: DeserializeOwned>(raws: &RawReads, read: &ArmRead) -> Observed<T> {
    let unobserved = |status, error: ReadError| Unobserved {
        call: read.describe(),
        status,
        kind: error.kind,
        code: error.code().to_string(),
        message: error.message,
        permission: read.permission().to_string(),
    };
    let ours = |kind, message: String| ReadError {
        kind,
        arm_code: None,
        message,
    };
    let Some(raw) = raws.get(read) else {
        return Err(unobserved(
            None,
            ours(
                FailureKind::NotCollected,
                "this read is not in the collected data".into(),
            ),
        ));
    };
    if let Some(error) = &raw.error {
        let mut u = unobserved(raw.status, error.clone());
        if let Some(action) = action_named_in(&error.message) {
            u.permission = action;
        }
        return Err(u);
    }
    // Parsed from the borrowed body: a snapshot never copies what it reads.
    T::deserialize(raw.body.as_ref().unwrap_or(&Value::Null)).map_err(|e| {
        unobserved(
            raw.status,
            ours(
                FailureKind::MalformedBody,
                format!("unexpected body shape: {e}"),
            ),
        )
    })
}

/// ARM's 403 message names the action: "...does not have authorization to perform action 'X' over scope...".
fn action_named_in(message: &str) -> Option<String> {
    let rest = message.split("perform action '").nth(1)?;
    rest.split('\'')
        .next()
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

fn eq_ci(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

// ---- Tolerant models: only what the checks use. -------------------------------------

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Cluster {
    pub id: Option<String>,
    pub name: Option<String>,
    pub location: Option<String>,
    pub identity: Option<ClusterIdentity>,
    pub properties: ClusterProperties,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterIdentity {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub user_assigned_identities: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterProperties {
    pub provisioning_state: Option<String>,
    pub power_state: Option<PowerState>,
    pub kubernetes_version: Option<String>,
    pub current_kubernetes_version: Option<String>,
    pub node_resource_group: Option<String>,
    pub service_principal_profile: Option<ServicePrincipalProfile>,
    pub storage_profile: Option<StorageProfile>,
    pub agent_pool_profiles: Vec<AgentPool>,
    pub http_proxy_config: Option<HttpProxyConfig>,
    pub network_profile: Option<NetworkProfile>,
    pub api_server_access_profile: Option<ApiServerAccessProfile>,
    /// The API server's public name, for matching a kubeconfig's server.
    pub fqdn: Option<String>,
    #[serde(rename = "privateFQDN")]
    pub private_fqdn: Option<String>,
    #[serde(rename = "azurePortalFQDN")]
    pub azure_portal_fqdn: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HttpProxyConfig {
    /// `false` when the proxy is switched off: AKS then runs without it, even with
    /// `httpProxy` still set. Absent means enabled.
    pub enabled: Option<bool>,
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkProfile {
    pub outbound_type: Option<String>,
    pub service_cidr: Option<String>,
    pub service_cidrs: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiServerAccessProfile {
    pub enable_private_cluster: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AgentPool {
    pub name: Option<String>,
    #[serde(rename = "vnetSubnetID")]
    pub vnet_subnet_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PowerState {
    pub code: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePrincipalProfile {
    pub client_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StorageProfile {
    #[serde(rename = "diskCSIDriver")]
    pub disk_csi_driver: Option<Toggle>,
    pub snapshot_controller: Option<Toggle>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Toggle {
    pub enabled: Option<bool>,
}

impl Cluster {
    /// `SystemAssigned` / `UserAssigned` (also `SystemAssigned, UserAssigned`); `None` is not one.
    pub fn managed_identity_type(&self) -> Option<&str> {
        let kind = self.identity.as_ref()?.kind.as_deref()?;
        let lower = kind.to_ascii_lowercase();
        (lower.contains("systemassigned") || lower.contains("userassigned")).then_some(kind)
    }

    pub fn service_principal_client_id(&self) -> Option<&str> {
        self.properties
            .service_principal_profile
            .as_ref()?
            .client_id
            .as_deref()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Provider {
    pub namespace: Option<String>,
    pub registration_state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct List<T> {
    pub value: Vec<T>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Extension {
    pub id: Option<String>,
    pub name: Option<String>,
    pub properties: ExtensionProperties,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExtensionProperties {
    pub extension_type: Option<String>,
    pub provisioning_state: Option<String>,
    pub scope: Option<ExtensionScope>,
    pub configuration_settings: Option<BTreeMap<String, Value>>,
    pub statuses: Option<Vec<ExtensionStatus>>,
    pub aks_assigned_identity: Option<AksAssignedIdentity>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExtensionScope {
    pub cluster: Option<ClusterScope>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterScope {
    pub release_namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExtensionStatus {
    pub code: Option<String>,
    pub level: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AksAssignedIdentity {
    pub principal_id: Option<String>,
}

pub const BACKUP_EXTENSION_TYPE: &str = "microsoft.dataprotection.kubernetes";
pub const BACKUP_NAMESPACE: &str = "dataprotection-microsoft";
const SETTING_CONTAINER: &str = "configuration.backupStorageLocation.bucket";
const SETTING_ACCOUNT: &str = "configuration.backupStorageLocation.config.storageAccount";
const SETTING_ACCOUNT_GROUP: &str = "configuration.backupStorageLocation.config.resourceGroup";
const SETTING_ACCOUNT_SUBSCRIPTION: &str =
    "configuration.backupStorageLocation.config.subscriptionId";

impl Extension {
    pub fn is_backup_extension(&self) -> bool {
        eq_ci(
            self.properties.extension_type.as_deref(),
            BACKUP_EXTENSION_TYPE,
        )
    }

    pub fn release_namespace(&self) -> Option<&str> {
        self.properties
            .scope
            .as_ref()?
            .cluster
            .as_ref()?
            .release_namespace
            .as_deref()
    }

    fn setting(&self, key: &str) -> Option<&str> {
        let settings = self.properties.configuration_settings.as_ref()?;
        let value = settings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))?
            .1;
        value.as_str().map(str::trim).filter(|s| !s.is_empty())
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TrustedAccessBinding {
    pub id: Option<String>,
    pub name: Option<String>,
    pub properties: TrustedAccessProperties,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TrustedAccessProperties {
    pub source_resource_id: Option<String>,
    pub roles: Vec<String>,
    pub provisioning_state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Vault {
    pub id: Option<String>,
    pub location: Option<String>,
    pub identity: Option<ClusterIdentity>,
}

/// One managed identity of a Backup vault that has a principal.
#[derive(Clone, Debug, PartialEq)]
pub struct VaultIdentity {
    /// The user-assigned identity's resource ID, as the vault lists it; `None` for the
    /// system-assigned identity.
    pub resource_id: Option<String>,
    /// Its principal (object) ID, in lower case.
    pub principal_id: String,
}

impl VaultIdentity {
    /// How messages name it: `SystemAssigned`, or the user-assigned identity's resource ID.
    pub fn name(&self) -> &str {
        self.resource_id.as_deref().unwrap_or(SYSTEM_ASSIGNED)
    }

    /// How messages name it briefly: `SystemAssigned`, or the user-assigned identity's
    /// resource name (its resource ID is in the evidence).
    pub fn short_name(&self) -> &str {
        self.name().rsplit('/').next().unwrap_or_default()
    }

    fn is(&self, choice: &VaultIdentityChoice) -> bool {
        match (choice, &self.resource_id) {
            (VaultIdentityChoice::SystemAssigned, None) => true,
            (VaultIdentityChoice::UserAssigned(id), Some(own)) => same_id(own, id.as_str()),
            _ => false,
        }
    }
}

impl Vault {
    /// Every managed identity of the vault that has a principal: the system-assigned one
    /// first, then the user-assigned ones (`userAssignedIdentities[id].principalId`) in the
    /// order ARM lists them. None for `identity.type` `None`.
    pub fn identities(&self) -> Vec<VaultIdentity> {
        let Some(identity) = &self.identity else {
            return Vec::new();
        };
        if eq_ci(identity.kind.as_deref(), "None") {
            return Vec::new();
        }
        let principal = |p: Option<&str>| p.filter(|p| !p.is_empty()).map(str::to_ascii_lowercase);
        let system =
            principal(identity.principal_id.as_deref()).map(|principal_id| VaultIdentity {
                resource_id: None,
                principal_id,
            });
        let user_assigned = identity
            .user_assigned_identities
            .iter()
            .flatten()
            .filter_map(|(id, details)| {
                Some(VaultIdentity {
                    resource_id: Some(id.clone()),
                    principal_id: principal(details.get("principalId")?.as_str())?,
                })
            });
        system.into_iter().chain(user_assigned).collect()
    }

    /// The identities the role checks evaluate (checks.md §6): the one `choice` names
    /// (`--vault-identity`); else the system-assigned one; else every user-assigned one.
    /// Empty when the vault has none, or not the one chosen.
    pub fn evaluated_identities(&self, choice: Option<&VaultIdentityChoice>) -> Vec<VaultIdentity> {
        let mut identities = self.identities();
        match choice {
            Some(choice) => identities.retain(|i| i.is(choice)),
            None if identities.first().is_some_and(|i| i.resource_id.is_none()) => {
                identities.truncate(1)
            }
            None => {}
        }
        identities
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct StorageAccount {
    pub id: Option<String>,
    pub location: Option<String>,
    pub kind: Option<String>,
    pub properties: StorageAccountProperties,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StorageAccountProperties {
    pub provisioning_state: Option<String>,
    pub allow_shared_key_access: Option<bool>,
    pub public_network_access: Option<String>,
    pub network_acls: Option<NetworkAcls>,
    pub primary_endpoints: Option<PrimaryEndpoints>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PrimaryEndpoints {
    pub blob: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkAcls {
    pub bypass: Option<String>,
    pub default_action: Option<String>,
    pub resource_access_rules: Vec<ResourceAccessRule>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceAccessRule {
    pub tenant_id: Option<String>,
    pub resource_id: Option<String>,
}

/// What a TCP probe of a PXB port found (see `crate::probe`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProbeResult {
    pub outcome: String,
    pub stage: Option<String>,
    pub detail: Option<String>,
    pub first_bytes: Option<String>,
    pub elapsed_ms: u64,
}

/// One listed key, reduced to whether it equals the key given to PXB.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KeyMatch {
    pub key_name: Option<String>,
    pub matches: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct KeyMatches {
    key_matches: Vec<KeyMatch>,
}

/// A blob container; the checks only need to know it exists.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct BlobContainer {
    pub id: Option<String>,
}

// ---- Where Azure Backup keeps its data. ---------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationSource {
    /// The installed backup extension's configuration settings.
    Extension,
    /// `--storage-account` / `--blob-container`: the planned location.
    Flags,
}

/// The storage account and container the Azure Backup checks evaluate (checks.md §6):
/// the extension's settings win; the flags are the plan when there is no extension.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationPlan {
    pub source: LocationSource,
    pub account: ResourceId,
    pub container: Option<String>,
    /// Set when flags were given but differ from the extension's settings.
    pub differs_from_flags: Option<String>,
}

/// Decides the backup location from the extension list (when it could be read) and the flags.
pub fn plan_backup_location(
    target: &Target,
    extensions: Option<&[Extension]>,
) -> Option<LocationPlan> {
    let from_extension = extensions
        .and_then(|list| list.iter().find(|e| e.is_backup_extension()))
        .and_then(|ext| {
            let account = ext.setting(SETTING_ACCOUNT)?;
            let group = ext.setting(SETTING_ACCOUNT_GROUP)?;
            let subscription = ext.setting(SETTING_ACCOUNT_SUBSCRIPTION).unwrap_or(target.cluster.subscription());
            let id = ResourceId::parse_typed(
                &format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/{STORAGE_ACCOUNT_TYPE}/{account}"),
                STORAGE_ACCOUNT_TYPE,
            )
            .ok()?;
            Some((id, ext.setting(SETTING_CONTAINER).map(str::to_string)))
        });
    match from_extension {
        Some((account, container)) => {
            let account_differs = target
                .storage_account
                .as_ref()
                .is_some_and(|flag| *flag != account);
            let container_differs = match (&target.blob_container, &container) {
                (Some(flag), Some(ext)) => !flag.eq_ignore_ascii_case(ext),
                _ => false,
            };
            let differs_from_flags = (account_differs || container_differs).then(|| {
                format!(
                    "the installed extension uses {}{}; the extension's settings are used, not the flags",
                    account.name(),
                    container.as_deref().map(|c| format!("/{c}")).unwrap_or_default()
                )
            });
            Some(LocationPlan {
                source: LocationSource::Extension,
                account,
                container,
                differs_from_flags,
            })
        }
        None => target.storage_account.clone().map(|account| LocationPlan {
            source: LocationSource::Flags,
            account,
            container: target.blob_container.clone(),
            differs_from_flags: None,
        }),
    }
}

pub struct BackupLocation {
    pub plan: LocationPlan,
    pub account: Observed<StorageAccount>,
    pub container: Option<Observed<BlobContainer>>,
    /// The container's blob listing, once the account and container are known.
    pub blobs: blob::Listing,
}

/// A TCP probe of one PXB port (`--pxb-endpoint`).
pub struct PortProbe {
    pub port: u16,
    pub protocol: Protocol,
    pub result: Observed<ProbeResult>,
}

// ---- Observations keyed by what was read. -------------------------------------------
/// Borrows an observation for `?`: the checks' one way to require a fact.
pub trait Require<T> {
    fn require(&self) -> Observed<&T>;
}

impl<T> Require<T> for Observed<T> {
    fn require(&self) -> Observed<&T> {
        self.as_ref().map_err(Clone::clone)
    }
}

/// Observations of one kind of read, keyed by the read's identity ([`ArmRead::key`]) in
/// lower case: ARM paths, and the principal IDs and GUIDs in filters, are case-insensitive.
/// Each body is parsed once, when the facts are derived.
pub struct ByRead<T>(BTreeMap<String, Observed<T>>);

fn lookup_key(read: &ArmRead) -> String {
    read.key().to_ascii_lowercase()
}

impl<T> Default for ByRead<T> {
    fn default() -> Self {
        ByRead(BTreeMap::new())
    }
}

impl<T> ByRead<T> {
    /// Parses `read` into `T` (through its wire shape `W`) when it is in the data, once.
    fn observe<W: DeserializeOwned>(
        &mut self,
        raws: &RawReads,
        read: &ArmRead,
        into: impl FnOnce(W) -> T,
    ) {
        let key = lookup_key(read);
        if raws.contains(read) && !self.0.contains_key(&key) {
            self.0.insert(key, observe(raws, read).map(into));
        }
    }

    /// The observation of `read`; a read that is not in the data is [`Unobserved`].
    pub fn get(&self, read: &ArmRead) -> Observed<&T> {
        match self.0.get(&lookup_key(read)) {
            Some(observed) => observed.require(),
            None => Err(not_collected(read)),
        }
    }
}

/// A body no read can have: observing it only ever reports why it is unobserved.
#[derive(Deserialize)]
enum NoBody {}

/// Why a read that is not in the data is unobserved, worded as [`observe`] words it.
fn not_collected(read: &ArmRead) -> Unobserved {
    match observe::<NoBody>(&RawReads::default(), read) {
        Ok(never) => match never {},
        Err(unobserved) => unobserved,
    }
}

// ---- All facts of one run. -----------------------------------------------------------

/// A typed snapshot of one run's reads, derived once: every body is parsed here, and
/// the checks only look facts up. It does not decide what to read (`crate::plan`) nor
/// evaluate RBAC (`crate::rbac`).
pub struct Facts {
    /// The target as given, completed with what [`Discovery`] found.
    pub target: Target,
    /// The inputs that were not given and were discovered (or why not).
    pub discovery: Discovery,
    /// When the data was read: now for a live run, the collection time for a bundle.
    pub observed_at: OffsetDateTime,
    pub cluster: Cluster,
    pub provider: Observed<Provider>,
    pub extensions: Observed<Vec<Extension>>,
    pub trusted_access: Observed<Vec<TrustedAccessBinding>>,
    pub vault: Option<Observed<Vault>>,
    pub backup_location: Option<BackupLocation>,
    /// `--restore-source-cluster`, read as it is.
    pub source_cluster: Option<Observed<Cluster>>,
    /// PXB's backup location (`--storage-account`), read as it is.
    pub pxb_storage_account: Option<(ResourceId, Observed<StorageAccount>)>,
    /// Which listed key equals the given one; `None` when no key was given.
    pub storage_key_matches: Option<Observed<Vec<KeyMatch>>>,
    /// The probes of PXB's REST and gRPC ports, when `--pxb-endpoint` was given.
    pub pxb_probes: Option<Vec<PortProbe>>,
    /// Role assignments, deny assignments, role definitions and the caller's permissions.
    pub access: Access,
    /// The NSGs of the node subnets and of the node resource group.
    pub network: Network,
    /// The Azure Policy assignments and definitions that apply to the cluster.
    pub policy: Policy,
    /// Whether the resource groups and accounts the role matrix names exist.
    pub scopes: ScopeReads,
    /// The cluster's own objects, through its Kubernetes API.
    pub kubernetes: Kubernetes,
}

pub const KUBERNETES_CONFIGURATION: &str = "Microsoft.KubernetesConfiguration";

impl Facts {
    /// Derives the facts. The cluster itself must be readable: without it nothing can be
    /// judged, so its failure is returned as the run's error.
    pub fn derive(
        target: Target,
        raws: &RawReads,
        observed_at: OffsetDateTime,
    ) -> Result<Facts, Unobserved> {
        let cluster: Cluster = observe(raws, &ArmRead::Cluster(target.cluster.clone()))?;
        let discovery = Discovery::derive(&target, raws);
        let target = discovery.complete(target);
        let provider = observe(
            raws,
            &ArmRead::Provider {
                subscription: target.cluster.subscription().to_string(),
                namespace: KUBERNETES_CONFIGURATION.into(),
            },
        );
        let extensions =
            observe::<List<Extension>>(raws, &ArmRead::Extensions(target.cluster.clone()))
                .map(|l| l.value);
        let trusted_access = observe::<List<TrustedAccessBinding>>(
            raws,
            &ArmRead::TrustedAccessBindings(target.cluster.clone()),
        )
        .map(|l| l.value);
        let vault = target
            .vault
            .clone()
            .map(|id| observe(raws, &ArmRead::Vault(id)));
        let backup_location = plan_backup_location(&target, extensions.as_deref().ok())
            .map(|plan| BackupLocation {
                account: observe(raws, &ArmRead::StorageAccount(plan.account.clone())),
                container: plan.container.clone().map(|container| {
                    observe(
                        raws,
                        &ArmRead::BlobContainer {
                            account: plan.account.clone(),
                            container,
                        },
                    )
                }),
                plan,
                blobs: None,
            })
            .map(|mut location| {
                location.blobs = location.blob_read().map(|read| observe(raws, &read));
                location
            });
        let source_cluster = target
            .restore_source_cluster
            .clone()
            .map(|id| observe(raws, &ArmRead::Cluster(id)));
        let pxb_storage_account = target.storage_account.clone().map(|id| {
            let account = observe(raws, &ArmRead::StorageAccount(id.clone()));
            (id, account)
        });
        let storage_key_matches = target
            .storage_account
            .clone()
            .filter(|_| target.storage_account_key_provided)
            .map(|id| observe::<KeyMatches>(raws, &ArmRead::ListKeys(id)).map(|k| k.key_matches));
        let pxb_probes = target.pxb.host.clone().map(|host| {
            let endpoint = &target.pxb;
            [
                (endpoint.rest_port, Protocol::Http1),
                (endpoint.grpc_port, Protocol::Http2),
            ]
            .into_iter()
            .map(|(port, protocol)| PortProbe {
                port,
                protocol,
                result: observe(
                    raws,
                    &ArmRead::Probe {
                        host: host.clone(),
                        port,
                        protocol,
                    },
                ),
            })
            .collect()
        });
        let policy = Policy::derive(raws, &target.cluster);
        let network = Network::derive(raws, &target.cluster, &cluster);
        let scopes = ScopeReads::derive(raws, &target);
        let kubernetes = Kubernetes::derive(raws, &target, &cluster);
        let mut facts = Facts {
            target,
            discovery,
            observed_at,
            cluster,
            provider,
            extensions,
            trusted_access,
            vault,
            backup_location,
            source_cluster,
            pxb_storage_account,
            storage_key_matches,
            pxb_probes,
            // Which identities and scopes have RBAC data depends on the facts above.
            access: Access::default(),
            network,
            policy,
            scopes,
            kubernetes,
        };
        facts.access = Access::derive(raws, &facts);
        Ok(facts)
    }

    /// The installed backup extension, if the list could be read.
    pub fn backup_extension(&self) -> Observed<Option<&Extension>> {
        match &self.extensions {
            Ok(list) => Ok(list.iter().find(|e| e.is_backup_extension())),
            Err(e) => Err(e.clone()),
        }
    }

    pub fn cluster_location(&self) -> Option<&str> {
        self.cluster.location.as_deref()
    }
}

/// Azure region names compare case-insensitively and ignoring spaces (`East US` = `eastus`).
pub fn same_region(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

pub fn same_resource(a: Option<&str>, b: &ResourceId) -> bool {
    a.is_some_and(|a| same_id(a, b.as_str()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::reads::RawRead;
    use crate::target::TargetRecord;
    use serde_json::json;

    pub fn target() -> Target {
        Target::from_record(&TargetRecord {
            cluster: "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1".into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn extension(settings: Value) -> Extension {
        serde_json::from_value(json!({
            "properties": {"extensionType": "Microsoft.DataProtection.Kubernetes", "configurationSettings": settings}
        }))
        .unwrap()
    }

    #[test]
    fn extension_settings_win_over_flags() {
        let mut t = target();
        t.storage_account = Some(ResourceId::parse("/subscriptions/sub1/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/flagacct").unwrap());
        let ext = extension(json!({
            "configuration.backupStorageLocation.bucket": "backups",
            "configuration.backupStorageLocation.config.storageAccount": "extacct",
            "configuration.backupStorageLocation.config.resourceGroup": "rg-st",
            "configuration.backupStorageLocation.config.subscriptionId": "sub2"
        }));
        let plan = plan_backup_location(&t, Some(&[ext])).unwrap();
        assert_eq!(plan.source, LocationSource::Extension);
        assert_eq!(plan.account.subscription(), "sub2");
        assert_eq!(plan.account.name(), "extacct");
        assert_eq!(plan.container.as_deref(), Some("backups"));
        assert!(plan.differs_from_flags.unwrap().contains("extacct/backups"));
    }

    #[test]
    fn flags_are_the_plan_without_an_extension() {
        let mut t = target();
        assert_eq!(plan_backup_location(&t, Some(&[])), None);
        t.storage_account = Some(ResourceId::parse("/subscriptions/sub1/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a").unwrap());
        t.blob_container = Some("c1".into());
        let plan = plan_backup_location(&t, Some(&[])).unwrap();
        assert_eq!(
            (plan.source, plan.container.as_deref()),
            (LocationSource::Flags, Some("c1"))
        );
    }

    #[test]
    fn failures_and_bad_shapes_are_unobserved() {
        let t = target();
        let mut raws = RawReads::default();
        let cluster_read = ArmRead::Cluster(t.cluster.clone());
        raws.insert(RawRead::ok(&cluster_read, json!({"properties": {}})));
        let ext_read = ArmRead::Extensions(t.cluster.clone());
        raws.insert(RawRead::failed(&ext_read, Some(403), "AuthorizationFailed",
            "The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.KubernetesConfiguration/extensions/read' over scope '/s' or the scope is invalid."));
        let ta_read = ArmRead::TrustedAccessBindings(t.cluster.clone());
        raws.insert(RawRead::ok(&ta_read, json!({"value": "not a list"})));
        let facts = Facts::derive(t, &raws, OffsetDateTime::UNIX_EPOCH).unwrap();
        let ext_err = facts.extensions.unwrap_err();
        assert_eq!(
            ext_err.permission,
            "Microsoft.KubernetesConfiguration/extensions/read"
        );
        assert!(ext_err.describe().contains("HTTP 403"));
        assert_eq!(facts.trusted_access.unwrap_err().code, "MalformedBody");
        assert_eq!(facts.provider.unwrap_err().code, "NotCollected");
    }

    const UAI_A: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a";
    const UAI_B: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b";

    fn vault(identity: Value) -> Vault {
        serde_json::from_value(json!({ "identity": identity })).unwrap()
    }

    /// The principal IDs `choice` makes the role checks evaluate.
    fn evaluated(vault: &Vault, choice: Option<&str>) -> Vec<String> {
        let choice = choice.map(|c| match c {
            "SystemAssigned" => VaultIdentityChoice::SystemAssigned,
            id => VaultIdentityChoice::UserAssigned(ResourceId::parse(id).unwrap()),
        });
        vault
            .evaluated_identities(choice.as_ref())
            .into_iter()
            .map(|i| i.principal_id)
            .collect()
    }

    #[test]
    fn the_vault_identity_evaluated_is_the_system_assigned_else_each_user_assigned() {
        let users = json!({UAI_A: {"principalId": "PA", "clientId": "ca"}, UAI_B: {"principalId": "pb", "clientId": "cb"}});
        let system_only = vault(json!({"type": "SystemAssigned", "principalId": "PS"}));
        assert_eq!(evaluated(&system_only, None), ["ps"]);
        let one_user = vault(
            json!({"type": "UserAssigned", "userAssignedIdentities": {UAI_A: {"principalId": "pa"}}}),
        );
        assert_eq!(evaluated(&one_user, None), ["pa"]);
        assert_eq!(one_user.identities()[0].name(), UAI_A);
        assert_eq!(one_user.identities()[0].short_name(), "a");
        let several = vault(json!({"type": "UserAssigned", "userAssignedIdentities": users}));
        assert_eq!(evaluated(&several, None), ["pa", "pb"]);
        let both = vault(
            json!({"type": "SystemAssigned, UserAssigned", "principalId": "ps", "userAssignedIdentities": users}),
        );
        assert_eq!(evaluated(&both, None), ["ps"]);
        assert_eq!(both.identities()[0].short_name(), "SystemAssigned");
        assert_eq!(both.identities().len(), 3);
        let none = vault(json!({"type": "None", "principalId": "stale"}));
        assert!(none.identities().is_empty());
        assert!(vault(Value::Null).identities().is_empty());
    }

    #[test]
    fn vault_identity_picks_one_identity_or_none() {
        let users = json!({UAI_A: {"principalId": "pa"}, UAI_B: {"principalId": "pb"}});
        let both = vault(
            json!({"type": "SystemAssigned,UserAssigned", "principalId": "ps", "userAssignedIdentities": users}),
        );
        assert_eq!(evaluated(&both, Some(&UAI_B.to_uppercase())), ["pb"]);
        assert_eq!(evaluated(&both, Some("SystemAssigned")), ["ps"]);
        let user_only = vault(json!({"type": "UserAssigned", "userAssignedIdentities": users}));
        assert!(evaluated(&user_only, Some("SystemAssigned")).is_empty());
        let other = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c";
        assert!(evaluated(&user_only, Some(other)).is_empty());
    }

    #[test]
    fn regions_compare_loosely() {
        assert!(same_region("EastUS", "eastus"));
        assert!(same_region("East US", "eastus"));
        assert!(!same_region("eastus2", "eastus"));
    }
}
