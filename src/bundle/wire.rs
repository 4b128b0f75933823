//! The wire form of bundle format 2: the manifest and the read records exactly as they are
//! written, with explicit conversion from and to the internal types ([`Manifest`],
//! [`RawRead`]). Changing an internal type must not change these: a new field or source
//! here is a format change, made on purpose.
//!
//! Nothing here reads or writes files; `bundle` does.

use super::{FailedRead, FleetManifest, Manifest, FORMAT, FORMAT_VERSION};
use crate::diagnosis::Scope;
use crate::probe::Protocol;
use crate::reads::{ArmCall, FailureKind, GraphQuery, RawRead, ReadError, Source};
use crate::target::{HelmInputs, KubeAccess, PxbEndpoint, RestoreRole, TargetRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

/// `manifest.json` of a version 2 bundle.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub format: String,
    pub format_version: u32,
    /// The pxb-preflight version that collected the reads.
    pub tool_version: String,
    pub collected_at: String,
    /// The cluster and inputs; absent in a fleet bundle, whose `fleet` names its clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetWire>,
    /// Present in a fleet bundle: the scope asked for and the clusters checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetWire>,
    /// Present when the bundle holds `diagnose`'s reads: what they were selected for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<DiagnosisWire>,
    /// A summary for people; the read records are what counts.
    #[serde(default)]
    pub failed_reads: Vec<FailedReadRecord>,
}

/// A fleet run's scope (`--subscription`, `--management-group`, `--where`, `--shard K/N`)
/// and the clusters it checked.
#[derive(Debug, Serialize, Deserialize)]
pub struct FleetWire {
    #[serde(default)]
    pub subscriptions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_group: Option<String>,
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub clusters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

impl From<&FleetManifest> for FleetWire {
    fn from(fleet: &FleetManifest) -> Self {
        FleetWire {
            subscriptions: fleet.scope.subscriptions.clone(),
            management_group: fleet.scope.management_group.clone(),
            where_filter: fleet.scope.where_filter.clone(),
            shard: fleet
                .scope
                .shard
                .map(|s| format!("{}/{}", s.index, s.count)),
            clusters: fleet.clusters.iter().map(|c| c.to_string()).collect(),
            caller: fleet.caller.clone(),
        }
    }
}

/// Why a manifest's `fleet` section was refused.
#[derive(Debug, thiserror::Error)]
pub enum FleetWireError {
    #[error("fleet.shard '{0}' is not K/N")]
    Shard(String),
    #[error("fleet.clusters: {0}")]
    Cluster(#[from] crate::ids::IdError),
}

impl TryFrom<FleetWire> for FleetManifest {
    type Error = FleetWireError;

    fn try_from(wire: FleetWire) -> Result<Self, Self::Error> {
        let shard = match &wire.shard {
            None => None,
            Some(text) => {
                let parsed = text.split_once('/').and_then(|(k, n)| {
                    Some(crate::report::fleet::Shard {
                        index: k.trim().parse().ok()?,
                        count: n.trim().parse().ok()?,
                    })
                });
                Some(parsed.ok_or_else(|| FleetWireError::Shard(text.clone()))?)
            }
        };
        Ok(FleetManifest {
            scope: crate::report::fleet::FleetScope {
                subscriptions: wire.subscriptions,
                management_group: wire.management_group,
                where_filter: wire.where_filter,
                shard,
            },
            clusters: wire
                .clusters
                .iter()
                .map(|c| crate::ids::ResourceId::parse(c))
                .collect::<Result<_, _>>()?,
            caller: wire.caller,
        })
    }
}

/// The window (RFC 3339 start) and the job `diagnose` was collected for.
#[derive(Debug, Serialize, Deserialize)]
pub struct DiagnosisWire {
    pub since: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

impl From<&Scope> for DiagnosisWire {
    fn from(scope: &Scope) -> Self {
        DiagnosisWire {
            since: scope
                .since
                .format(&Rfc3339)
                .unwrap_or_else(|_| scope.since.to_string()),
            job: scope.job.clone(),
        }
    }
}

impl TryFrom<DiagnosisWire> for Scope {
    type Error = time::error::Parse;

    fn try_from(wire: DiagnosisWire) -> Result<Self, Self::Error> {
        Ok(Scope {
            since: time::OffsetDateTime::parse(&wire.since, &Rfc3339)?,
            job: wire.job,
        })
    }
}

/// Where a read came from. A new source is a new variant here and a new record variant
/// below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceName {
    Arm,
    Graph,
    Kubernetes,
    Probe,
    Blob,
    ResourceGraph,
}

impl SourceName {
    pub fn of(source: &Source) -> Self {
        match source {
            Source::Arm(_) => SourceName::Arm,
            Source::Graph { .. } => SourceName::Graph,
            Source::Kubernetes { .. } => SourceName::Kubernetes,
            Source::Probe { .. } => SourceName::Probe,
            Source::Blob { .. } => SourceName::Blob,
            Source::ResourceGraph { .. } => SourceName::ResourceGraph,
        }
    }

    /// The name in file names and in `bundle inspect`.
    pub fn name(self) -> &'static str {
        match self {
            SourceName::Arm => "arm",
            SourceName::Graph => "graph",
            SourceName::Kubernetes => "kubernetes",
            SourceName::Probe => "probe",
            SourceName::Blob => "blob",
            SourceName::ResourceGraph => "resource-graph",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FailedReadRecord {
    pub source: SourceName,
    /// The ARM or Graph path, or `<protocol>://host:port` for a probe.
    pub path: String,
    pub status: Option<u16>,
    pub kind: FailureKind,
    /// ARM's own `error.code`, when ARM gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// One file under `reads/`: what was read (by source) and what came back.
///
/// Read through [`FlatRecord`]: serde's internally tagged enums buffer the whole record,
/// body included, before choosing a variant, which was most of the cost of loading a bundle.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", try_from = "FlatRecord")]
pub enum ReadRecord {
    Arm {
        method: String,
        path: String,
        api_version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<String>,
        /// Absent when no HTTP answer arrived (timeout, connection error).
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
    /// A Microsoft Graph GET (the only method the tool sends to Graph).
    Graph {
        /// The path under the Graph host, with its query.
        path: String,
        /// Absent when no HTTP answer arrived (timeout, connection error).
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
    /// A Kubernetes API list, every page merged (the tool sends only get and list).
    Kubernetes {
        /// The path under the API server, without query.
        path: String,
        /// Absent when no HTTP answer arrived (timeout, connection error).
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
    Probe {
        host: String,
        port: u16,
        /// `http` (HTTP/1.1) or `http2`.
        protocol: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
    /// A blob container listing (GET `comp=list`): blob names, sizes, last-modified times
    /// and the marker state, never a blob's content.
    Blob {
        /// The account's `primaryEndpoints.blob`, as ARM gave it.
        endpoint: String,
        container: String,
        /// Absent when no HTTP answer arrived (timeout, connection error).
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
    /// A Resource Graph query (POST), every page's rows merged into `data`.
    ResourceGraph {
        /// The KQL, exactly as sent.
        query: String,
        #[serde(default)]
        subscriptions: Vec<String>,
        #[serde(default)]
        management_groups: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authorization_scope_filter: Option<String>,
        /// `options.$top` of every page.
        page_size: u32,
        /// Absent when no HTTP answer arrived (timeout, connection error).
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
}

/// A read record as it is parsed: the fields of every source side by side, in one pass.
#[derive(Deserialize)]
struct FlatRecord {
    source: SourceName,
    method: Option<String>,
    path: Option<String>,
    api_version: Option<String>,
    filter: Option<String>,
    status: Option<u16>,
    host: Option<String>,
    port: Option<u16>,
    protocol: Option<String>,
    endpoint: Option<String>,
    container: Option<String>,
    query: Option<String>,
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default)]
    management_groups: Vec<String>,
    authorization_scope_filter: Option<String>,
    page_size: Option<u32>,
    body: Option<Value>,
    error: Option<ErrorRecord>,
}

/// A field the record's source requires is absent.
#[derive(Debug, thiserror::Error)]
#[error("missing field `{0}`")]
pub struct MissingField(&'static str);

impl TryFrom<FlatRecord> for ReadRecord {
    type Error = MissingField;

    fn try_from(flat: FlatRecord) -> Result<Self, MissingField> {
        fn required<T>(value: Option<T>, name: &'static str) -> Result<T, MissingField> {
            value.ok_or(MissingField(name))
        }
        Ok(match flat.source {
            SourceName::Arm => ReadRecord::Arm {
                method: required(flat.method, "method")?,
                path: required(flat.path, "path")?,
                api_version: required(flat.api_version, "api_version")?,
                filter: flat.filter,
                status: flat.status,
                body: flat.body,
                error: flat.error,
            },
            SourceName::Graph => ReadRecord::Graph {
                path: required(flat.path, "path")?,
                status: flat.status,
                body: flat.body,
                error: flat.error,
            },
            SourceName::Kubernetes => ReadRecord::Kubernetes {
                path: required(flat.path, "path")?,
                status: flat.status,
                body: flat.body,
                error: flat.error,
            },
            SourceName::Probe => ReadRecord::Probe {
                host: required(flat.host, "host")?,
                port: required(flat.port, "port")?,
                protocol: required(flat.protocol, "protocol")?,
                body: flat.body,
                error: flat.error,
            },
            SourceName::Blob => ReadRecord::Blob {
                endpoint: required(flat.endpoint, "endpoint")?,
                container: required(flat.container, "container")?,
                status: flat.status,
                body: flat.body,
                error: flat.error,
            },
            SourceName::ResourceGraph => ReadRecord::ResourceGraph {
                query: required(flat.query, "query")?,
                subscriptions: flat.subscriptions,
                management_groups: flat.management_groups,
                authorization_scope_filter: flat.authorization_scope_filter,
                page_size: required(flat.page_size, "page_size")?,
                status: flat.status,
                body: flat.body,
                error: flat.error,
            },
        })
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub kind: FailureKind,
    /// ARM's own `error.code`, when ARM gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

impl From<&ReadError> for ErrorRecord {
    fn from(error: &ReadError) -> Self {
        ErrorRecord {
            kind: error.kind,
            code: error.arm_code.clone(),
            message: error.message.clone(),
        }
    }
}

impl From<ErrorRecord> for ReadError {
    fn from(record: ErrorRecord) -> Self {
        ReadError {
            kind: record.kind,
            arm_code: record.code,
            message: record.message,
        }
    }
}

impl From<&RawRead> for ReadRecord {
    fn from(raw: &RawRead) -> Self {
        let error = raw.error.as_ref().map(ErrorRecord::from);
        match &raw.source {
            Source::Arm(call) => ReadRecord::Arm {
                method: call.method.clone(),
                path: call.path.clone(),
                api_version: call.api_version.clone(),
                filter: call.filter.clone(),
                status: raw.status,
                body: raw.body.clone(),
                error,
            },
            Source::Graph { path } => ReadRecord::Graph {
                path: path.clone(),
                status: raw.status,
                body: raw.body.clone(),
                error,
            },
            Source::Kubernetes { path } => ReadRecord::Kubernetes {
                path: path.clone(),
                status: raw.status,
                body: raw.body.clone(),
                error,
            },
            Source::Probe {
                host,
                port,
                protocol,
            } => ReadRecord::Probe {
                host: host.clone(),
                port: *port,
                protocol: protocol.name().to_string(),
                body: raw.body.clone(),
                error,
            },
            Source::Blob {
                endpoint,
                container,
            } => ReadRecord::Blob {
                endpoint: endpoint.clone(),
                container: container.clone(),
                status: raw.status,
                body: raw.body.clone(),
                error,
            },
            Source::ResourceGraph { query } => ReadRecord::ResourceGraph {
                query: query.query.clone(),
                subscriptions: query.subscriptions.clone(),
                management_groups: query.management_groups.clone(),
                authorization_scope_filter: query.authorization_scope_filter.clone(),
                page_size: query.page_size,
                status: raw.status,
                body: raw.body.clone(),
                error,
            },
        }
    }
}

impl TryFrom<ReadRecord> for RawRead {
    type Error = anyhow::Error;

    fn try_from(record: ReadRecord) -> anyhow::Result<Self> {
        Ok(match record {
            ReadRecord::Arm {
                method,
                path,
                api_version,
                filter,
                status,
                body,
                error,
            } => RawRead {
                source: Source::Arm(ArmCall {
                    method,
                    path,
                    api_version,
                    filter,
                }),
                status,
                body,
                error: error.map(ReadError::from),
            },
            ReadRecord::Graph {
                path,
                status,
                body,
                error,
            } => RawRead {
                source: Source::Graph { path },
                status,
                body,
                error: error.map(ReadError::from),
            },
            ReadRecord::Kubernetes {
                path,
                status,
                body,
                error,
            } => RawRead {
                source: Source::Kubernetes { path },
                status,
                body,
                error: error.map(ReadError::from),
            },
            ReadRecord::Probe {
                host,
                port,
                protocol,
                body,
                error,
            } => RawRead {
                source: Source::Probe {
                    host,
                    port,
                    protocol: Protocol::from_name(&protocol)
                        .ok_or_else(|| anyhow::anyhow!("unknown probe protocol '{protocol}'"))?,
                },
                status: None,
                body,
                error: error.map(ReadError::from),
            },
            ReadRecord::Blob {
                endpoint,
                container,
                status,
                body,
                error,
            } => RawRead {
                source: Source::Blob {
                    endpoint,
                    container,
                },
                status,
                body,
                error: error.map(ReadError::from),
            },
            ReadRecord::ResourceGraph {
                query,
                subscriptions,
                management_groups,
                authorization_scope_filter,
                page_size,
                status,
                body,
                error,
            } => RawRead {
                source: Source::ResourceGraph {
                    query: GraphQuery {
                        query,
                        subscriptions,
                        management_groups,
                        authorization_scope_filter,
                        page_size,
                    },
                },
                status,
                body,
                error: error.map(ReadError::from),
            },
        })
    }
}

impl From<&Manifest> for ManifestRecord {
    fn from(manifest: &Manifest) -> Self {
        ManifestRecord {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tool_version: manifest.tool_version.clone(),
            collected_at: manifest.collected_at.clone(),
            target: manifest
                .fleet
                .is_none()
                .then(|| TargetWire::from(&manifest.target)),
            fleet: manifest.fleet.as_ref().map(FleetWire::from),
            diagnosis: manifest.diagnosis.as_ref().map(DiagnosisWire::from),
            failed_reads: manifest
                .failed_reads
                .iter()
                .map(FailedReadRecord::from)
                .collect(),
        }
    }
}

impl From<&FailedRead> for FailedReadRecord {
    fn from(failed: &FailedRead) -> Self {
        FailedReadRecord {
            source: SourceName::of(&failed.source),
            path: failed.source.path(),
            status: failed.status,
            kind: failed.error.kind,
            code: failed.error.arm_code.clone(),
        }
    }
}

/// The manifest's `target`: the cluster and every input given, as the user spelled them
/// (the same shape in formats 1 and 2). Absent inputs are left out, not `null`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TargetWire {
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_identity: Option<String>,
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
    pub restore_role: Option<RestoreRoleWire>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub storage_account_key_provided: bool,
    /// Left out when it is the default endpoint (no host, standard ports and source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pxb: Option<PxbEndpointWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubeAccessWire>,
}

/// The Kubernetes API server and context the in-cluster reads used; no credentials.
#[derive(Debug, Serialize, Deserialize)]
pub struct KubeAccessWire {
    pub server: String,
    pub context: String,
    #[serde(default)]
    pub chosen: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RestoreRoleWire {
    pub name: String,
    pub actions: Vec<String>,
}

/// Each field falls back to the default endpoint's when a hand-edited manifest omits it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PxbEndpointWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default = "default_rest_port")]
    pub rest_port: u16,
    #[serde(default = "default_grpc_port")]
    pub grpc_port: u16,
    #[serde(default = "default_client_source")]
    pub client_source: String,
}

fn default_rest_port() -> u16 {
    PxbEndpoint::default().rest_port
}
fn default_grpc_port() -> u16 {
    PxbEndpoint::default().grpc_port
}
fn default_client_source() -> String {
    PxbEndpoint::default().client_source
}

/// Only what the proxy checks keep of the Helm inputs (never other chart values), URL
/// passwords masked. Bundles written before this record was typed carry each values file's
/// `proxy` subtree (`values`) and the proxy `--set` expressions (`set`) instead: those are
/// read, reduced to the record on load, and never written again.
#[derive(Debug, Serialize, Deserialize)]
pub struct HelmWire {
    #[serde(default)]
    pub azure_proxy_enabled: bool,
    #[serde(default)]
    pub no_proxy: Vec<String>,
    #[serde(default)]
    pub include_no_proxy_list: Vec<String>,
    #[serde(default)]
    pub exclude_azure_proxy_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    #[serde(default)]
    pub split_sets: Vec<String>,
    #[serde(default, skip_serializing)]
    pub values: Vec<Value>,
    #[serde(default, skip_serializing)]
    pub set: Vec<String>,
}

impl From<&HelmInputs> for HelmWire {
    fn from(h: &HelmInputs) -> Self {
        HelmWire {
            azure_proxy_enabled: h.azure_proxy_enabled,
            no_proxy: h.no_proxy.clone(),
            include_no_proxy_list: h.include_no_proxy_list.clone(),
            exclude_azure_proxy_list: h.exclude_azure_proxy_list.clone(),
            http_proxy: h.http_proxy.clone(),
            https_proxy: h.https_proxy.clone(),
            split_sets: h.split_sets.clone(),
            values: Vec::new(),
            set: Vec::new(),
        }
    }
}

impl From<HelmWire> for HelmInputs {
    fn from(h: HelmWire) -> Self {
        if !h.values.is_empty() || !h.set.is_empty() {
            return HelmInputs::from_helm(&h.values, &h.set);
        }
        // Masked again: a hand-edited manifest must not carry a password into a report.
        let masked = |text: String| crate::redact::url_passwords(&text).into_owned();
        let all_masked = |texts: Vec<String>| texts.into_iter().map(masked).collect();
        HelmInputs {
            azure_proxy_enabled: h.azure_proxy_enabled,
            no_proxy: all_masked(h.no_proxy),
            include_no_proxy_list: all_masked(h.include_no_proxy_list),
            exclude_azure_proxy_list: all_masked(h.exclude_azure_proxy_list),
            http_proxy: h.http_proxy.map(masked),
            https_proxy: h.https_proxy.map(masked),
            split_sets: all_masked(h.split_sets),
        }
    }
}

impl From<&TargetRecord> for TargetWire {
    fn from(t: &TargetRecord) -> Self {
        TargetWire {
            cluster: t.cluster.clone(),
            vault: t.vault.clone(),
            vault_identity: t.vault_identity.clone(),
            snapshot_resource_group: t.snapshot_resource_group.clone(),
            storage_account: t.storage_account.clone(),
            blob_container: t.blob_container.clone(),
            staging_resource_group: t.staging_resource_group.clone(),
            staging_storage_account: t.staging_storage_account.clone(),
            pxb_principal: t.pxb_principal.clone(),
            restore_source_cluster: t.restore_source_cluster.clone(),
            restore_role: t.restore_role.as_ref().map(|r| RestoreRoleWire {
                name: r.name.clone(),
                actions: r.actions.clone(),
            }),
            storage_account_key_provided: t.storage_account_key_provided,
            pxb: (t.pxb != PxbEndpoint::default()).then(|| PxbEndpointWire {
                host: t.pxb.host.clone(),
                rest_port: t.pxb.rest_port,
                grpc_port: t.pxb.grpc_port,
                client_source: t.pxb.client_source.clone(),
            }),
            helm: t.helm.as_ref().map(HelmWire::from),
            kubernetes: t.kubernetes.as_ref().map(|k| KubeAccessWire {
                server: k.server.clone(),
                context: k.context.clone(),
                chosen: k.chosen,
            }),
        }
    }
}

impl From<TargetWire> for TargetRecord {
    fn from(t: TargetWire) -> Self {
        TargetRecord {
            cluster: t.cluster,
            vault: t.vault,
            vault_identity: t.vault_identity,
            snapshot_resource_group: t.snapshot_resource_group,
            storage_account: t.storage_account,
            blob_container: t.blob_container,
            staging_resource_group: t.staging_resource_group,
            staging_storage_account: t.staging_storage_account,
            pxb_principal: t.pxb_principal,
            restore_source_cluster: t.restore_source_cluster,
            restore_role: t.restore_role.map(|r| RestoreRole {
                name: r.name,
                actions: r.actions,
            }),
            storage_account_key_provided: t.storage_account_key_provided,
            pxb: t.pxb.map_or_else(PxbEndpoint::default, |p| PxbEndpoint {
                host: p.host,
                rest_port: p.rest_port,
                grpc_port: p.grpc_port,
                client_source: p.client_source,
            }),
            helm: t.helm.map(HelmInputs::from),
            // Masked again: a hand-edited manifest must not carry a password into a report.
            kubernetes: t.kubernetes.map(|k| KubeAccess {
                server: crate::redact::url_passwords(&k.server).into_owned(),
                context: k.context,
                chosen: k.chosen,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every input survives the manifest round trip; a default endpoint and absent inputs
    /// are left out of the file.
    #[test]
    fn the_target_round_trips_through_the_manifest() {
        let full = TargetRecord {
            cluster: "c".into(),
            vault: Some("v".into()),
            vault_identity: Some("SystemAssigned".into()),
            restore_role: Some(RestoreRole {
                name: "r".into(),
                actions: vec!["a".into()],
            }),
            storage_account_key_provided: true,
            pxb: PxbEndpoint {
                host: Some("h".into()),
                rest_port: 1,
                ..PxbEndpoint::default()
            },
            helm: Some(HelmInputs {
                azure_proxy_enabled: true,
                no_proxy: vec!["localhost".into()],
                include_no_proxy_list: vec!["px-backup".into()],
                exclude_azure_proxy_list: vec!["pxcentral-mysql".into()],
                http_proxy: Some("http://u:***@proxy:3128".into()),
                https_proxy: None,
                split_sets: vec!["proxy.httpProxy.noProxy=a,b".into()],
            }),
            kubernetes: Some(KubeAccess {
                server: "https://aks1-dns.hcp.eastus.azmk8s.io:443".into(),
                context: "aks1".into(),
                chosen: true,
            }),
            ..Default::default()
        };
        let text = serde_json::to_string(&TargetWire::from(&full)).unwrap();
        let back: TargetWire = serde_json::from_str(&text).unwrap();
        assert_eq!(TargetRecord::from(back), full);

        let bare = TargetRecord {
            cluster: "c".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(TargetWire::from(&bare)).unwrap(),
            serde_json::json!({"cluster": "c"})
        );
        let edited: TargetWire =
            serde_json::from_str(r#"{"cluster": "c", "pxb": {"host": "h"}}"#).unwrap();
        let endpoint = TargetRecord::from(edited).pxb;
        assert_eq!((endpoint.rest_port, endpoint.grpc_port), (10001, 10002));
    }

    /// A manifest of the old shape (values files' proxy subtrees and `--set` expressions)
    /// loads as the record they reduce to, passwords masked.
    #[test]
    fn the_old_helm_shape_is_reduced_on_load() {
        let old: TargetWire = serde_json::from_value(serde_json::json!({
            "cluster": "c",
            "helm": {
                "values": [{"proxy": {"azureProxyEnabled": true, "httpProxy": {"HTTP_PROXY": "http://u:planted@p:1", "noProxy": "a,b"}}}],
                "set": ["proxy.includeNoProxyList={px-backup}"]
            }
        }))
        .unwrap();
        let helm = TargetRecord::from(old).helm.unwrap();
        assert!(helm.azure_proxy_enabled);
        assert_eq!(helm.no_proxy, ["a", "b"]);
        assert_eq!(helm.include_no_proxy_list, ["px-backup"]);
        assert_eq!(helm.http_proxy.as_deref(), Some("http://u:***@p:1"));
        let written = serde_json::to_string(&HelmWire::from(&helm)).unwrap();
        assert!(
            !written.contains("\"values\"") && !written.contains("planted"),
            "{written}"
        );
        let edited: TargetWire = serde_json::from_value(serde_json::json!({
            "cluster": "c",
            "helm": {"http_proxy": "http://u:planted@p:1", "split_sets": ["proxy.a=http://u:planted@p,x"]}
        }))
        .unwrap();
        let helm = TargetRecord::from(edited).helm.unwrap();
        assert!(!format!("{helm:?}").contains("planted"), "{helm:?}");
    }

    /// Each source's required fields are required; the other source's are ignored.
    #[test]
    fn records_need_the_fields_of_their_source() {
        let parse = |text: &str| serde_json::from_str::<ReadRecord>(text);
        let arm = r#"{"source": "arm", "method": "GET", "path": "/p", "api_version": "v", "status": 200, "body": {}}"#;
        assert!(matches!(parse(arm), Ok(ReadRecord::Arm { .. })));
        let no_path = r#"{"source": "arm", "method": "GET", "api_version": "v", "status": 200}"#;
        let error = parse(no_path).unwrap_err().to_string();
        assert!(error.contains("missing field `path`"), "{error}");
        let probe =
            r#"{"source": "probe", "host": "h", "port": 10001, "protocol": "http", "body": {}}"#;
        assert!(matches!(
            parse(probe),
            Ok(ReadRecord::Probe { port: 10001, .. })
        ));
        assert!(parse(r#"{"source": "probe", "host": "h", "protocol": "http"}"#).is_err());
        let graph = r#"{"source": "graph", "path": "/v1.0/directoryObjects/p/transitiveMemberOf?$select=id", "status": 200, "body": {"value": []}}"#;
        assert!(matches!(parse(graph), Ok(ReadRecord::Graph { .. })));
        assert!(parse(r#"{"source": "graph", "status": 200}"#).is_err());
        let blob = r#"{"source": "blob", "endpoint": "https://a.blob.core.windows.net/", "container": "c", "status": 200, "body": {"blobs": [], "nextMarker": null}}"#;
        assert!(matches!(parse(blob), Ok(ReadRecord::Blob { .. })));
        assert!(parse(r#"{"source": "blob", "endpoint": "https://a/", "status": 200}"#).is_err());
        let kubernetes = r#"{"source": "kubernetes", "path": "/api/v1/persistentvolumes", "status": 200, "body": {"items": []}}"#;
        assert!(matches!(
            parse(kubernetes),
            Ok(ReadRecord::Kubernetes { .. })
        ));
        assert!(parse(r#"{"source": "kubernetes", "status": 200}"#).is_err());
        let resource_graph = r#"{"source": "resource_graph", "query": "resources | project id", "page_size": 1000, "status": 200, "body": {"data": [], "totalRecords": 0}}"#;
        assert!(matches!(
            parse(resource_graph),
            Ok(ReadRecord::ResourceGraph {
                page_size: 1000,
                ..
            })
        ));
        let no_query = r#"{"source": "resource_graph", "page_size": 1000, "status": 200}"#;
        let error = parse(no_query).unwrap_err().to_string();
        assert!(error.contains("missing field `query`"), "{error}");
        assert!(parse(r#"{"source": "unknown", "path": "/p"}"#).is_err());
    }
}
