//! The JSON diagnosis, schema `pxb-preflight-diagnosis/v1` (shared/checks.md §3).
//!
//! The structs here are the versioned contract and nothing else uses them: the diagnosis
//! model is converted into them field by field, so a change to the model can never alter
//! the output by accident. Change a field only with a new schema version. Absent values are
//! `null` (not left out): support tooling reads every field of every failure.

use super::{counts, failing, rfc3339};
use crate::checks::Status;
use crate::diagnosis::{
    CheckRun, ClusterRole, ClusterRun, DiagnosedFailure, Diagnosis, Match, Operation, PodState,
    Product, Reason, Record, Unread,
};
use crate::report::Summary;
use serde::Serialize;

pub const SCHEMA: &str = "pxb-preflight-diagnosis/v1";

#[derive(Serialize)]
struct DiagnosisV1<'a> {
    schema: &'static str,
    tool: ToolV1,
    target: TargetV1<'a>,
    summary: SummaryV1,
    failures: Vec<FailureV1<'a>>,
    clusters: Vec<ClusterV1<'a>>,
    pods: Vec<PodV1<'a>>,
    unread: Vec<UnreadV1<'a>>,
    notes: &'a [String],
    /// The version of the data mapping recorded codes and reasons to checks.
    mapping_version: &'static str,
}

#[derive(Serialize)]
struct ToolV1 {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct TargetV1<'a> {
    cluster: String,
    vault: Option<String>,
    since: String,
    job: Option<&'a str>,
}

#[derive(Serialize)]
struct SummaryV1 {
    failures: usize,
    explained: usize,
    unexplained: usize,
}

#[derive(Serialize)]
struct FailureV1<'a> {
    product: ProductV1,
    operation: OperationV1,
    record: RecordV1,
    id: &'a str,
    time: Option<String>,
    status: &'a str,
    source_cluster: Option<String>,
    target_cluster: Option<String>,
    reasons: Vec<ReasonV1<'a>>,
    explained: bool,
    explained_by: &'a [&'static str],
    matches: Vec<MatchV1<'a>>,
    checks: Vec<CheckRunV1<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
enum ProductV1 {
    AzureBackup,
    Pxb,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
enum OperationV1 {
    Backup,
    Restore,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
enum RecordV1 {
    BackupJob,
    BackupInstance,
    ApplicationBackup,
    ApplicationRestore,
}

#[derive(Serialize)]
struct ReasonV1<'a> {
    code: Option<&'a str>,
    message: &'a str,
    recommended_action: Option<&'a str>,
    subject: Option<&'a str>,
}

#[derive(Serialize)]
struct MatchV1<'a> {
    matched: &'a str,
    checks: &'a [&'static str],
    cause: &'static str,
    source: &'static str,
    source_title: &'static str,
    source_revision: &'static str,
}

#[derive(Serialize)]
struct CheckRunV1<'a> {
    cluster: String,
    id: &'static str,
    status: StatusV1,
    message: &'a str,
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
struct ClusterV1<'a> {
    cluster: String,
    role: RoleV1,
    checked: bool,
    /// Why the cluster could not be checked.
    message: Option<&'a str>,
    summary: Option<VerdictCountsV1>,
    /// The checks that fail or error on it.
    failing: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
enum RoleV1 {
    Checked,
    RestoreTarget,
    RestoreSource,
}

#[derive(Serialize)]
struct VerdictCountsV1 {
    pass: usize,
    warn: usize,
    fail: usize,
    skip: usize,
    error: usize,
}

#[derive(Serialize)]
struct PodV1<'a> {
    component: &'static str,
    namespace: &'a str,
    name: &'a str,
    phase: &'a str,
    ready: bool,
    waiting: Option<&'a str>,
    restarts: u64,
}

#[derive(Serialize)]
struct UnreadV1<'a> {
    what: &'a str,
    call: &'a str,
    permission: &'a str,
    message: &'a str,
}

impl From<Product> for ProductV1 {
    fn from(p: Product) -> Self {
        match p {
            Product::AzureBackup => ProductV1::AzureBackup,
            Product::Pxb => ProductV1::Pxb,
        }
    }
}

impl From<Operation> for OperationV1 {
    fn from(o: Operation) -> Self {
        match o {
            Operation::Backup => OperationV1::Backup,
            Operation::Restore => OperationV1::Restore,
        }
    }
}

impl From<Record> for RecordV1 {
    fn from(r: Record) -> Self {
        match r {
            Record::BackupJob => RecordV1::BackupJob,
            Record::BackupInstance => RecordV1::BackupInstance,
            Record::ApplicationBackup => RecordV1::ApplicationBackup,
            Record::ApplicationRestore => RecordV1::ApplicationRestore,
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

impl From<ClusterRole> for RoleV1 {
    fn from(r: ClusterRole) -> Self {
        match r {
            ClusterRole::Checked => RoleV1::Checked,
            ClusterRole::RestoreTarget => RoleV1::RestoreTarget,
            ClusterRole::RestoreSource => RoleV1::RestoreSource,
        }
    }
}

impl From<Summary> for VerdictCountsV1 {
    fn from(s: Summary) -> Self {
        VerdictCountsV1 {
            pass: s.pass,
            warn: s.warn,
            fail: s.fail,
            skip: s.skip,
            error: s.error,
        }
    }
}

impl<'a> From<&'a Reason> for ReasonV1<'a> {
    fn from(r: &'a Reason) -> Self {
        ReasonV1 {
            code: r.code.as_deref(),
            message: &r.message,
            recommended_action: r.recommended_action.as_deref(),
            subject: r.subject.as_deref(),
        }
    }
}

impl<'a> From<&'a Match> for MatchV1<'a> {
    fn from(m: &'a Match) -> Self {
        MatchV1 {
            matched: &m.matched,
            checks: &m.checks,
            cause: m.cause,
            source: m.source,
            source_title: m.source_title,
            source_revision: m.source_revision,
        }
    }
}

impl<'a> From<&'a CheckRun> for CheckRunV1<'a> {
    fn from(c: &'a CheckRun) -> Self {
        CheckRunV1 {
            cluster: c.cluster.to_string(),
            id: c.id,
            status: c.status.into(),
            message: &c.message,
            remediation: c.remediation.as_deref(),
        }
    }
}

impl<'a> From<&'a DiagnosedFailure> for FailureV1<'a> {
    fn from(d: &'a DiagnosedFailure) -> Self {
        let f = &d.failure;
        FailureV1 {
            product: f.product.into(),
            operation: f.operation.into(),
            record: f.record.into(),
            id: &f.id,
            time: f.time.map(rfc3339),
            status: &f.status,
            source_cluster: f.source_cluster.as_ref().map(ToString::to_string),
            target_cluster: f.target_cluster.as_ref().map(ToString::to_string),
            reasons: f.reasons.iter().map(ReasonV1::from).collect(),
            explained: d.explained(),
            explained_by: &d.explained_by,
            matches: d.matches.iter().map(MatchV1::from).collect(),
            checks: d.checks.iter().map(CheckRunV1::from).collect(),
        }
    }
}

impl<'a> From<&'a ClusterRun> for ClusterV1<'a> {
    fn from(c: &'a ClusterRun) -> Self {
        let (message, summary, failing) = match &c.verdicts {
            Ok(verdicts) => (
                None,
                Some(crate::report::Summary::of(verdicts).into()),
                failing(verdicts),
            ),
            Err(message) => (Some(message.as_str()), None, Vec::new()),
        };
        ClusterV1 {
            cluster: c.cluster.to_string(),
            role: c.role.into(),
            checked: c.verdicts.is_ok(),
            message,
            summary,
            failing,
        }
    }
}

impl<'a> From<&'a PodState> for PodV1<'a> {
    fn from(p: &'a PodState) -> Self {
        PodV1 {
            component: p.component,
            namespace: &p.namespace,
            name: &p.name,
            phase: &p.phase,
            ready: p.ready,
            waiting: p.waiting.as_deref(),
            restarts: p.restarts,
        }
    }
}

impl<'a> From<&'a Unread> for UnreadV1<'a> {
    fn from(u: &'a Unread) -> Self {
        UnreadV1 {
            what: &u.what,
            call: &u.call,
            permission: &u.permission,
            message: &u.message,
        }
    }
}

pub fn render(diagnosis: &Diagnosis) -> String {
    let c = counts(diagnosis);
    let value = DiagnosisV1 {
        schema: SCHEMA,
        tool: ToolV1 {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        target: TargetV1 {
            cluster: diagnosis.cluster.to_string(),
            vault: diagnosis.vault.as_ref().map(ToString::to_string),
            since: rfc3339(diagnosis.scope.since),
            job: diagnosis.scope.job.as_deref(),
        },
        summary: SummaryV1 {
            failures: c.failures,
            explained: c.explained,
            unexplained: c.unexplained,
        },
        failures: diagnosis.failures.iter().map(FailureV1::from).collect(),
        clusters: diagnosis.clusters.iter().map(ClusterV1::from).collect(),
        pods: diagnosis.pods.iter().map(PodV1::from).collect(),
        unread: diagnosis.unread.iter().map(UnreadV1::from).collect(),
        notes: &diagnosis.notes,
        mapping_version: diagnosis.mapping_version,
    };
    serde_json::to_string_pretty(&value).expect("diagnosis structs always serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        no_failure, two_failures, AKS1, AKS2, BACKUP_JOB, EXTENSION_FIX, RESTORE_JOB, VAULT,
    };
    use super::*;
    use serde_json::{json, Value};

    fn parsed(diagnosis: &Diagnosis) -> Value {
        let text = render(diagnosis);
        assert!(text.ends_with("}\n"), "one object and a final newline");
        serde_json::from_str(&text).expect("the output is JSON")
    }

    #[test]
    fn header_target_and_summary_keep_their_contract_names() {
        let v = parsed(&two_failures());
        assert_eq!(v["schema"], "pxb-preflight-diagnosis/v1");
        assert_eq!(
            v["tool"],
            json!({"name": "pxb-preflight", "version": env!("CARGO_PKG_VERSION")})
        );
        assert_eq!(
            v["target"],
            json!({"cluster": AKS1, "vault": VAULT, "since": "2026-11-22T00:00:00Z", "job": null})
        );
        assert_eq!(
            v["summary"],
            json!({"failures": 2, "explained": 1, "unexplained": 1})
        );
        assert_eq!(v["mapping_version"], "2026-11-29");
        assert_eq!(
            v["notes"],
            json!(["31 failed jobs in the window: the 25 most recent were read in detail"])
        );
    }

    #[test]
    fn an_explained_failure_carries_its_reasons_matches_and_checks() {
        let v = parsed(&two_failures());
        assert_eq!(
            v["failures"][0],
            json!({
                "product": "azure-backup", "operation": "restore", "record": "backup-job",
                "id": RESTORE_JOB, "time": "2026-11-28T09:12:44Z", "status": "Failed",
                "source_cluster": AKS1, "target_cluster": AKS2,
                "reasons": [{
                    "code": "UserErrorKubernetesBackupExtensionNotFoundError",
                    "message": "The backup extension is not installed on the target cluster.",
                    "recommended_action": "Install the backup extension on the cluster and retry the restore.",
                    "subject": null
                }],
                "explained": true,
                "explained_by": ["backup-extension"],
                "matches": [{
                    "matched": "UserErrorKubernetesBackupExtensionNotFoundError",
                    "checks": ["backup-extension"],
                    "cause": "If the Backup extension is absent in the list, this error appears.",
                    "source": "https://learn.microsoft.com/azure/backup/azure-kubernetes-service-backup-troubleshoot",
                    "source_title": "Troubleshoot Azure Kubernetes Service backup and restore",
                    "source_revision": "MicrosoftDocs/azure-docs@0339fcc"
                }],
                "checks": [
                    {"cluster": AKS1, "id": "backup-extension", "status": "pass",
                     "message": "azure-aks-backup | Succeeded, release namespace dataprotection-microsoft",
                     "remediation": null},
                    {"cluster": AKS2, "id": "backup-extension", "status": "fail",
                     "message": "no extension of type microsoft.dataprotection.kubernetes on the cluster",
                     "remediation": EXTENSION_FIX}
                ]
            })
        );
    }

    #[test]
    fn an_unknown_code_is_shown_as_recorded_and_explained_by_nothing() {
        let v = parsed(&two_failures());
        let f = &v["failures"][1];
        assert_eq!(f["operation"], "backup");
        assert_eq!(f["id"], BACKUP_JOB);
        assert_eq!(f["time"], Value::Null);
        assert_eq!(f["target_cluster"], Value::Null);
        assert_eq!(
            f["reasons"][0]["code"],
            "UserErrorSomethingNobodyDocumented"
        );
        assert_eq!(f["reasons"][0]["recommended_action"], Value::Null);
        assert_eq!(f["reasons"][0]["subject"], "shop/data-0");
        assert_eq!(f["explained"], false);
        assert_eq!(f["explained_by"], json!([]));
        assert_eq!(f["matches"], json!([]));
        assert_eq!(f["checks"], json!([]));
    }

    #[test]
    fn clusters_say_how_they_take_part_and_why_one_was_not_checked() {
        let v = parsed(&two_failures());
        assert_eq!(
            v["clusters"][0],
            json!({"cluster": AKS1, "role": "checked", "checked": true, "message": null,
                   "summary": {"pass": 2, "warn": 0, "fail": 0, "skip": 0, "error": 1},
                   "failing": ["trusted-access"]})
        );
        assert_eq!(v["clusters"][1]["role"], "restore-target");
        assert_eq!(v["clusters"][1]["failing"], json!(["backup-extension"]));
        let not_checked = &v["clusters"][2];
        assert_eq!(not_checked["role"], "restore-source");
        assert_eq!(not_checked["checked"], false);
        assert_eq!(
            not_checked["message"],
            "404 on GET managedClusters/aks3: ResourceNotFound"
        );
        assert_eq!(not_checked["summary"], Value::Null);
        assert_eq!(not_checked["failing"], json!([]));
    }

    #[test]
    fn pods_and_unread_records_keep_their_contract_names() {
        let v = parsed(&two_failures());
        assert_eq!(
            v["pods"][1],
            json!({"component": "px-backup", "namespace": "central",
                   "name": "px-backup-5c8d7f9b4-qm7zn", "phase": "Running", "ready": false,
                   "waiting": "CrashLoopBackOff", "restarts": 12})
        );
        assert_eq!(v["pods"][0]["waiting"], Value::Null);

        let v = parsed(&no_failure());
        assert_eq!(
            v["summary"],
            json!({"failures": 0, "explained": 0, "unexplained": 0})
        );
        assert_eq!(v["failures"], json!([]));
        assert_eq!(
            v["unread"],
            json!([{
                "what": "the vault's backup jobs",
                "call": format!("GET {VAULT}/backupJobs?api-version=2024-04-01"),
                "permission": "Microsoft.DataProtection/backupVaults/backupJobs/read",
                "message": "403 AuthorizationFailed"
            }])
        );
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&two_failures()));
    }
}
