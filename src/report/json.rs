//! The JSON report, schema `pxb-preflight/v1` (shared/checks.md §3).
//!
//! The structs here are the versioned contract and nothing else uses them: internal types
//! (the target, evidence, statuses) are converted into them field by field, so an internal
//! change can never alter the report by accident. Change a field only with a new schema
//! version; the snapshot tests of every fixture's report guard the bytes.

use super::{Report, Summary};
use crate::checks::{Evidence, Status};
use crate::target::{HelmInputs, PxbEndpoint, RestoreRole, TargetRecord};
use serde::Serialize;
use serde_json::Value;

pub const SCHEMA: &str = "pxb-preflight/v1";

/// One report as the `pxb-preflight/v1` object, ready to serialize on its own ([`render`])
/// or inside another document (the fleet report embeds one per cluster).
#[derive(Serialize)]
pub struct ReportV1<'a> {
    schema: &'static str,
    tool: ToolV1,
    target: TargetV1<'a>,
    /// The versions of the requirement data applied (PXB lists, Azure Backup role matrix).
    requirements: RequirementsV1<'a>,
    ready: bool,
    summary: SummaryV1,
    checks: Vec<CheckV1<'a>>,
}

#[derive(Serialize)]
pub(crate) struct ToolV1 {
    name: &'static str,
    version: &'static str,
}

impl ToolV1 {
    /// This build of the tool.
    pub(crate) fn this() -> Self {
        ToolV1 {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

#[derive(Serialize)]
struct RequirementsV1<'a> {
    pxb: &'a str,
    azure_backup: &'a str,
}

/// The cluster and every input given, as the user spelled them.
#[derive(Serialize)]
struct TargetV1<'a> {
    cluster: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vault: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_resource_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blob_container: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    staging_resource_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    staging_storage_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pxb_principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restore_source_cluster: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restore_role: Option<RestoreRoleV1<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    storage_account_key_provided: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pxb: Option<PxbEndpointV1<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    helm: Option<HelmV1<'a>>,
    /// The Kubernetes API server the in-cluster checks read (never the kubeconfig's
    /// credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    kubernetes: Option<KubernetesV1<'a>>,
}

#[derive(Serialize)]
struct KubernetesV1<'a> {
    server: &'a str,
    context: &'a str,
    /// Given with `--kubeconfig`/`--context`, rather than the default context found to be
    /// this cluster's.
    chosen: bool,
}

#[derive(Serialize)]
struct RestoreRoleV1<'a> {
    name: &'a str,
    actions: &'a [String],
}

#[derive(Serialize)]
struct PxbEndpointV1<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    rest_port: u16,
    grpc_port: u16,
    client_source: &'a str,
}

/// Only what the proxy checks keep of the Helm inputs (never other chart values), URL
/// passwords masked.
#[derive(Serialize)]
struct HelmV1<'a> {
    azure_proxy_enabled: bool,
    no_proxy: &'a [String],
    include_no_proxy_list: &'a [String],
    exclude_azure_proxy_list: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    http_proxy: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    https_proxy: Option<&'a str>,
    split_sets: &'a [String],
}

#[derive(Serialize)]
struct SummaryV1 {
    pass: usize,
    warn: usize,
    fail: usize,
    skip: usize,
    error: usize,
}

#[derive(Serialize)]
struct CheckV1<'a> {
    id: &'static str,
    title: &'static str,
    profiles: Vec<&'static str>,
    status: StatusV1,
    message: &'a str,
    evidence: Vec<EvidenceV1<'a>>,
    remediation: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum StatusV1 {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

#[derive(Serialize)]
struct EvidenceV1<'a> {
    resource: &'a str,
    property: &'a str,
    observed: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'a Value>,
}

impl<'a> From<&'a TargetRecord> for TargetV1<'a> {
    fn from(t: &'a TargetRecord) -> Self {
        TargetV1 {
            cluster: &t.cluster,
            vault: t.vault.as_deref(),
            vault_identity: t.vault_identity.as_deref(),
            snapshot_resource_group: t.snapshot_resource_group.as_deref(),
            storage_account: t.storage_account.as_deref(),
            blob_container: t.blob_container.as_deref(),
            staging_resource_group: t.staging_resource_group.as_deref(),
            staging_storage_account: t.staging_storage_account.as_deref(),
            pxb_principal: t.pxb_principal.as_deref(),
            restore_source_cluster: t.restore_source_cluster.as_deref(),
            restore_role: t.restore_role.as_ref().map(RestoreRoleV1::from),
            storage_account_key_provided: t.storage_account_key_provided,
            // The default endpoint (no host, standard ports) is not an input.
            pxb: (t.pxb != PxbEndpoint::default()).then(|| PxbEndpointV1::from(&t.pxb)),
            helm: t.helm.as_ref().map(HelmV1::from),
            kubernetes: t.kubernetes.as_ref().map(|k| KubernetesV1 {
                server: &k.server,
                context: &k.context,
                chosen: k.chosen,
            }),
        }
    }
}

impl<'a> From<&'a RestoreRole> for RestoreRoleV1<'a> {
    fn from(r: &'a RestoreRole) -> Self {
        RestoreRoleV1 {
            name: &r.name,
            actions: &r.actions,
        }
    }
}

impl<'a> From<&'a PxbEndpoint> for PxbEndpointV1<'a> {
    fn from(e: &'a PxbEndpoint) -> Self {
        PxbEndpointV1 {
            host: e.host.as_deref(),
            rest_port: e.rest_port,
            grpc_port: e.grpc_port,
            client_source: &e.client_source,
        }
    }
}

impl<'a> From<&'a HelmInputs> for HelmV1<'a> {
    fn from(h: &'a HelmInputs) -> Self {
        HelmV1 {
            azure_proxy_enabled: h.azure_proxy_enabled,
            no_proxy: &h.no_proxy,
            include_no_proxy_list: &h.include_no_proxy_list,
            exclude_azure_proxy_list: &h.exclude_azure_proxy_list,
            http_proxy: h.http_proxy.as_deref(),
            https_proxy: h.https_proxy.as_deref(),
            split_sets: &h.split_sets,
        }
    }
}

impl From<Summary> for SummaryV1 {
    fn from(s: Summary) -> Self {
        SummaryV1 {
            pass: s.pass,
            warn: s.warn,
            fail: s.fail,
            skip: s.skip,
            error: s.error,
        }
    }
}

impl From<Status> for StatusV1 {
    fn from(s: Status) -> Self {
        match s {
            Status::Pass => StatusV1::Pass,
            Status::Warn => StatusV1::Warn,
            Status::Fail => StatusV1::Fail,
            Status::Skip => StatusV1::Skip,
            Status::Error => StatusV1::Error,
        }
    }
}

impl<'a> From<&'a Evidence> for EvidenceV1<'a> {
    fn from(e: &'a Evidence) -> Self {
        EvidenceV1 {
            resource: &e.resource,
            property: &e.property,
            observed: &e.observed,
            expected: e.expected.as_ref(),
        }
    }
}

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&v1(report)).expect("report structs always serialize") + "\n"
}

/// The report's `pxb-preflight/v1` object.
pub fn v1(report: &Report) -> ReportV1<'_> {
    ReportV1 {
        schema: SCHEMA,
        tool: ToolV1::this(),
        target: TargetV1::from(&report.target),
        requirements: RequirementsV1 {
            pxb: &crate::requirements::pxb().version,
            azure_backup: &crate::requirements::azure_backup().version,
        },
        ready: report.ready(),
        summary: report.summary().into(),
        checks: report
            .verdicts
            .iter()
            .map(|v| CheckV1 {
                id: v.check.id,
                title: v.check.title,
                profiles: v.check.profiles.iter().map(|p| p.name()).collect(),
                status: v.outcome.status.into(),
                message: &v.outcome.message,
                evidence: v.outcome.evidence.iter().map(EvidenceV1::from).collect(),
                remediation: v.outcome.remediation.as_deref(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every input the target can carry reaches the report under its contract name, and
    /// absent ones are left out (not `null`).
    #[test]
    fn target_fields_keep_their_contract_names() {
        let record = TargetRecord {
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
                ..PxbEndpoint::default()
            },
            helm: Some(HelmInputs {
                azure_proxy_enabled: true,
                no_proxy: vec!["localhost".into()],
                http_proxy: Some("http://u:***@proxy:3128".into()),
                ..HelmInputs::default()
            }),
            kubernetes: Some(crate::target::KubeAccess {
                server: "https://aks.example:443".into(),
                context: "aks".into(),
                chosen: true,
            }),
            ..Default::default()
        };
        let wire = serde_json::to_value(TargetV1::from(&record)).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({
                "cluster": "c", "vault": "v", "vault_identity": "SystemAssigned",
                "restore_role": {"name": "r", "actions": ["a"]},
                "storage_account_key_provided": true,
                "pxb": {"host": "h", "rest_port": 10001, "grpc_port": 10002, "client_source": "VirtualNetwork"},
                "helm": {
                    "azure_proxy_enabled": true, "no_proxy": ["localhost"],
                    "include_no_proxy_list": [], "exclude_azure_proxy_list": [],
                    "http_proxy": "http://u:***@proxy:3128", "split_sets": []
                },
                "kubernetes": {"server": "https://aks.example:443", "context": "aks", "chosen": true}
            })
        );
        let bare = serde_json::to_value(TargetV1::from(&TargetRecord {
            cluster: "c".into(),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(bare, serde_json::json!({"cluster": "c"}));
    }
}
