//! The renderers of `diagnose`: JSON (`pxb-preflight-diagnosis/v1`), the terminal table,
//! and Markdown for a support ticket.
//!
//! Renderers only format: whether a failure is explained, and the exit code, are decided by
//! [`crate::diagnosis`]. What the three formats share (counts, times, cluster labels, why a
//! failure is or is not explained) is worked out here, once.

mod json;
mod markdown;
mod table;

use crate::checks::{Status, Verdict};
use crate::diagnosis::{
    CheckRun, ClusterRole, DiagnosedFailure, Diagnosis, Operation, Product, Record,
};
use crate::ids::ResourceId;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The diagnosis as one `pxb-preflight-diagnosis/v1` object (pretty, with a final newline).
pub fn json(diagnosis: &Diagnosis) -> String {
    json::render(diagnosis)
}

/// The diagnosis for a terminal: each failure with its reasons, checks and fixes, then the
/// clusters checked, the pods not Ready, what could not be read, and a summary line.
pub fn table(diagnosis: &Diagnosis, style: &super::table::Style) -> String {
    table::render(diagnosis, style)
}

/// The diagnosis for pasting into a support ticket: the table's content as Markdown.
pub fn markdown(diagnosis: &Diagnosis) -> String {
    markdown::render(diagnosis)
}

/// How many failures were recorded, and how many a failing check explains.
struct Counts {
    failures: usize,
    explained: usize,
    unexplained: usize,
}

fn counts(diagnosis: &Diagnosis) -> Counts {
    let failures = diagnosis.failures.len();
    let explained = diagnosis.failures.iter().filter(|f| f.explained()).count();
    Counts {
        failures,
        explained,
        unexplained: failures - explained,
    }
}

/// The summary line: "2 failures: 1 explained, 1 unexplained", or that none was recorded
/// (and, then, whether some record could not be read).
fn summary_line(diagnosis: &Diagnosis) -> String {
    let c = counts(diagnosis);
    if c.failures > 0 {
        let noun = if c.failures == 1 {
            "failure"
        } else {
            "failures"
        };
        return format!(
            "{} {noun}: {} explained, {} unexplained",
            c.failures, c.explained, c.unexplained
        );
    }
    let mut line = no_failure_line(diagnosis);
    // Exit 3, not 0: what could not be read may hold the failures.
    if !diagnosis.unread.is_empty() {
        line.push_str(&format!(
            " Incomplete: {} record(s) could not be read.",
            diagnosis.unread.len()
        ));
    }
    line
}

fn no_failure_line(diagnosis: &Diagnosis) -> String {
    let since = rfc3339(diagnosis.scope.since);
    match &diagnosis.scope.job {
        Some(job) => format!("No failed backup or restore recorded since {since} for job {job}."),
        None => format!("No failed backup or restore recorded since {since}."),
    }
}

/// When a failure happened, for people.
fn time_label(failure: &crate::diagnosis::RecordedFailure) -> String {
    failure
        .time
        .map_or_else(|| "time not recorded".to_string(), rfc3339)
}

/// RFC 3339 in UTC (`2026-11-22T00:00:00Z`), whatever offset the record carried.
fn rfc3339(time: OffsetDateTime) -> String {
    let utc = time.to_offset(UtcOffset::UTC);
    // Only years outside 0..=9999 cannot be written in RFC 3339; show them as they are.
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}

/// The ids of the checks that fail or error (the ones that can explain a failure).
fn failing(verdicts: &[Verdict]) -> Vec<&'static str> {
    verdicts
        .iter()
        .filter(|v| fails(v.outcome.status))
        .map(|v| v.check.id)
        .collect()
}

fn fails(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

fn product_label(product: Product) -> &'static str {
    match product {
        Product::AzureBackup => "Azure Backup",
        Product::Pxb => "Portworx Backup",
    }
}

fn operation_label(operation: Operation) -> &'static str {
    match operation {
        Operation::Backup => "backup",
        Operation::Restore => "restore",
    }
}

fn record_label(record: Record) -> &'static str {
    match record {
        Record::BackupJob => "backup job",
        Record::BackupInstance => "backup instance",
        Record::ApplicationBackup => "ApplicationBackup",
        Record::ApplicationRestore => "ApplicationRestore",
    }
}

fn role_label(role: ClusterRole) -> &'static str {
    match role {
        ClusterRole::Checked => "checked",
        ClusterRole::RestoreTarget => "restore target",
        ClusterRole::RestoreSource => "restore source",
    }
}

/// Every cluster the diagnosis names, to shorten an ID to its name where no other cluster
/// of the diagnosis has that name.
struct ClusterNames<'a>(Vec<&'a ResourceId>);

impl<'a> ClusterNames<'a> {
    fn of(diagnosis: &'a Diagnosis) -> Self {
        let mut ids = vec![&diagnosis.cluster];
        ids.extend(diagnosis.clusters.iter().map(|c| &c.cluster));
        for f in &diagnosis.failures {
            ids.extend(f.failure.source_cluster.iter());
            ids.extend(f.failure.target_cluster.iter());
            ids.extend(f.checks.iter().map(|c| &c.cluster));
        }
        ClusterNames(ids)
    }

    fn label(&self, id: &'a ResourceId) -> &'a str {
        let name = id.name();
        let ambiguous = self
            .0
            .iter()
            .any(|other| *other != id && other.name().eq_ignore_ascii_case(name));
        if ambiguous {
            id.as_str()
        } else {
            name
        }
    }
}

/// Why a failure is, or is not, explained.
enum Explanation<'a> {
    /// These checks fail or error on a cluster involved.
    Explained(Vec<&'a CheckRun>),
    /// The mapping names these checks, and none of them fails on the clusters involved.
    ChecksPass(&'a [&'static str]),
    /// The mapping documents what matched, but no check covers it.
    Uncovered(Vec<&'a str>),
    /// Nothing recorded is in the mapping: the codes as recorded (none for Stork reasons).
    Unmapped(Vec<&'a str>),
}

fn explanation(failure: &DiagnosedFailure) -> Explanation<'_> {
    if failure.explained() {
        return Explanation::Explained(failure.checks.iter().filter(|c| fails(c.status)).collect());
    }
    if !failure.explained_by.is_empty() {
        return Explanation::ChecksPass(&failure.explained_by);
    }
    if !failure.matches.is_empty() {
        return Explanation::Uncovered(
            failure.matches.iter().map(|m| m.matched.as_str()).collect(),
        );
    }
    let mut codes: Vec<&str> = Vec::new();
    for code in failure
        .failure
        .reasons
        .iter()
        .filter_map(|r| r.code.as_deref())
    {
        if !codes.iter().any(|c| c.eq_ignore_ascii_case(code)) {
            codes.push(code);
        }
    }
    Explanation::Unmapped(codes)
}

/// The explanation as one sentence; `quote` wraps ids and codes (backticks in Markdown).
fn explanation_text(
    failure: &DiagnosedFailure,
    names: &ClusterNames,
    quote: impl Fn(&str) -> String,
) -> String {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| quote(i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let not_explained = "not explained by any prerequisite check";
    match explanation(failure) {
        Explanation::Explained(runs) => {
            let runs: Vec<String> = runs
                .iter()
                .map(|r| {
                    format!(
                        "{} ({} on {})",
                        quote(r.id),
                        r.status.name(),
                        names.label(&r.cluster)
                    )
                })
                .collect();
            format!("explained by: {}", runs.join(", "))
        }
        Explanation::ChecksPass(ids) => format!(
            "{not_explained} (the checks that cover it do not fail on the clusters involved: {})",
            list(ids)
        ),
        Explanation::Uncovered(matched) => format!(
            "{not_explained} ({} is documented but no check covers it)",
            list(&matched)
        ),
        Explanation::Unmapped(codes) => match codes.len() {
            0 => format!("{not_explained} (no recorded reason is in the mapping)"),
            1 => format!(
                "{not_explained} (code {} is not in the mapping)",
                list(&codes)
            ),
            _ => format!(
                "{not_explained} (codes {} are not in the mapping)",
                list(&codes)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    //! A representative diagnosis the renderers' tests share, and tests of what they share.

    use super::*;
    use crate::checks::{find, Outcome};
    use crate::diagnosis::{ClusterRun, Match, PodState, Reason, RecordedFailure, Scope, Unread};
    use time::macros::datetime;

    pub(super) const AKS1: &str =
        "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";
    pub(super) const AKS2: &str =
        "/subscriptions/sub1/resourceGroups/rg2/providers/Microsoft.ContainerService/managedClusters/aks2";
    const AKS3: &str =
        "/subscriptions/sub2/resourceGroups/rg3/providers/Microsoft.ContainerService/managedClusters/aks3";
    pub(super) const VAULT: &str =
        "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/vault1";
    pub(super) const RESTORE_JOB: &str = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/vault1/backupJobs/3c1f0e2a-7d4b-4b8e-9a51-0c6f2d9e8b17";
    pub(super) const BACKUP_JOB: &str = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/vault1/backupJobs/9e2d4c71-1b3a-4f0e-8c2d-5a7b6e1f3d90";
    pub(super) const EXTENSION_FIX: &str = "az k8s-extension create --name azure-aks-backup --extension-type microsoft.dataprotection.kubernetes --scope cluster --cluster-type managedClusters --cluster-name aks2 --resource-group rg2 --release-train stable";

    pub(super) fn id(raw: &str) -> ResourceId {
        ResourceId::parse(raw).expect("test IDs are well formed")
    }

    fn verdict(check: &str, outcome: Outcome) -> Verdict {
        Verdict {
            check: find(check).expect("a check of the catalog"),
            outcome,
        }
    }

    fn check_run(cluster: &str, check: &str, outcome: &Outcome) -> CheckRun {
        CheckRun {
            cluster: id(cluster),
            id: find(check).expect("a check of the catalog").id,
            status: outcome.status,
            message: outcome.message.clone(),
            remediation: outcome.remediation.clone(),
        }
    }

    fn extension_missing() -> Outcome {
        Outcome::fail("no extension of type microsoft.dataprotection.kubernetes on the cluster")
            .fix(EXTENSION_FIX)
    }

    fn extension_present() -> Outcome {
        Outcome::pass("azure-aks-backup | Succeeded, release namespace dataprotection-microsoft")
    }

    /// A restore onto aks2 that failed for want of the backup extension there (explained),
    /// and a backup with a code the mapping does not know (unexplained).
    pub(super) fn two_failures() -> Diagnosis {
        let restore = DiagnosedFailure {
            failure: RecordedFailure {
                product: Product::AzureBackup,
                operation: Operation::Restore,
                record: Record::BackupJob,
                id: RESTORE_JOB.into(),
                // Recorded with an offset: shown in UTC.
                time: Some(datetime!(2026-11-28 10:12:44 +01:00)),
                status: "Failed".into(),
                source_cluster: Some(id(AKS1)),
                target_cluster: Some(id(AKS2)),
                reasons: vec![Reason {
                    code: Some("UserErrorKubernetesBackupExtensionNotFoundError".into()),
                    message: "The backup extension is not installed on the target cluster.".into(),
                    recommended_action: Some(
                        "Install the backup extension on the cluster and retry the restore.".into(),
                    ),
                    subject: None,
                }],
            },
            matches: vec![Match {
                matched: "UserErrorKubernetesBackupExtensionNotFoundError".into(),
                checks: vec!["backup-extension"],
                cause: "If the Backup extension is absent in the list, this error appears.",
                source: "https://learn.microsoft.com/azure/backup/azure-kubernetes-service-backup-troubleshoot",
                source_title: "Troubleshoot Azure Kubernetes Service backup and restore",
                source_revision: "MicrosoftDocs/azure-docs@0339fcc",
            }],
            explained_by: vec!["backup-extension"],
            checks: vec![
                check_run(AKS1, "backup-extension", &extension_present()),
                check_run(AKS2, "backup-extension", &extension_missing()),
            ],
        };
        let backup = DiagnosedFailure {
            failure: RecordedFailure {
                product: Product::AzureBackup,
                operation: Operation::Backup,
                record: Record::BackupJob,
                id: BACKUP_JOB.into(),
                time: None,
                status: "CompletedWithWarnings".into(),
                source_cluster: Some(id(AKS1)),
                target_cluster: None,
                reasons: vec![Reason {
                    code: Some("UserErrorSomethingNobodyDocumented".into()),
                    message: "Volume snapshot of shop/data-0 timed out.".into(),
                    recommended_action: None,
                    subject: Some("shop/data-0".into()),
                }],
            },
            matches: Vec::new(),
            explained_by: Vec::new(),
            checks: Vec::new(),
        };
        Diagnosis {
            cluster: id(AKS1),
            vault: Some(id(VAULT)),
            scope: Scope {
                since: datetime!(2026-11-22 00:00:00 UTC),
                job: None,
            },
            failures: vec![restore, backup],
            clusters: vec![
                ClusterRun {
                    cluster: id(AKS1),
                    role: ClusterRole::Checked,
                    verdicts: Ok(vec![
                        verdict("cluster-state", Outcome::pass("Succeeded, Running")),
                        verdict("backup-extension", extension_present()),
                        verdict(
                            "trusted-access",
                            Outcome::new_error("403 on GET trustedAccessRoleBindings"),
                        ),
                    ]),
                },
                ClusterRun {
                    cluster: id(AKS2),
                    role: ClusterRole::RestoreTarget,
                    verdicts: Ok(vec![verdict("backup-extension", extension_missing())]),
                },
                ClusterRun {
                    cluster: id(AKS3),
                    role: ClusterRole::RestoreSource,
                    verdicts: Err("404 on GET managedClusters/aks3: ResourceNotFound".into()),
                },
            ],
            pods: vec![
                PodState {
                    component: "stork",
                    namespace: "kube-system".into(),
                    name: "stork-7d9f8b6c5-x2k4p".into(),
                    phase: "Running".into(),
                    ready: true,
                    waiting: None,
                    restarts: 0,
                },
                PodState {
                    component: "px-backup",
                    namespace: "central".into(),
                    name: "px-backup-5c8d7f9b4-qm7zn".into(),
                    phase: "Running".into(),
                    ready: false,
                    waiting: Some("CrashLoopBackOff".into()),
                    restarts: 12,
                },
            ],
            unread: Vec::new(),
            notes: vec![
                "31 failed jobs in the window: the 25 most recent were read in detail".into(),
            ],
            mapping_version: "2026-11-29",
        }
    }

    /// Nothing recorded in the window, but the vault's jobs could not be read.
    pub(super) fn no_failure() -> Diagnosis {
        Diagnosis {
            failures: Vec::new(),
            clusters: Vec::new(),
            pods: Vec::new(),
            unread: vec![Unread {
                what: "the vault's backup jobs".into(),
                call: format!("GET {VAULT}/backupJobs?api-version=2024-04-01"),
                permission: "Microsoft.DataProtection/backupVaults/backupJobs/read".into(),
                message: "403 AuthorizationFailed".into(),
            }],
            notes: vec!["no Kubernetes access: Stork objects were not read".into()],
            ..two_failures()
        }
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(
            rfc3339(datetime!(2026-11-28 10:12:44 +01:00)),
            "2026-11-28T09:12:44Z"
        );
        assert_eq!(
            rfc3339(datetime!(2026-11-22 00:00:00 UTC)),
            "2026-11-22T00:00:00Z"
        );
    }

    #[test]
    fn cluster_names_are_shortened_only_when_unambiguous() {
        let mut diagnosis = two_failures();
        let names = ClusterNames::of(&diagnosis);
        assert_eq!(names.label(&diagnosis.cluster), "aks1");
        let twin = "/subscriptions/sub9/resourceGroups/other/providers/Microsoft.ContainerService/managedClusters/AKS1";
        diagnosis.clusters[1].cluster = id(twin);
        let names = ClusterNames::of(&diagnosis);
        assert_eq!(names.label(&diagnosis.cluster), AKS1);
        assert_eq!(names.label(&diagnosis.clusters[1].cluster), twin);
        // The same cluster spelled in another case is one cluster.
        assert_eq!(names.label(&id(&AKS2.to_uppercase())), "AKS2");
    }

    #[test]
    fn explanations_say_why_a_failure_is_not_explained() {
        let diagnosis = two_failures();
        let names = ClusterNames::of(&diagnosis);
        let text = |f: &DiagnosedFailure| explanation_text(f, &names, ToString::to_string);
        assert_eq!(
            text(&diagnosis.failures[0]),
            "explained by: backup-extension (fail on aks2)"
        );
        assert_eq!(
            text(&diagnosis.failures[1]),
            "not explained by any prerequisite check (code UserErrorSomethingNobodyDocumented is not in the mapping)"
        );

        let mut passing = diagnosis.failures[0].clone();
        passing.checks.retain(|c| c.status == Status::Pass);
        assert_eq!(
            text(&passing),
            "not explained by any prerequisite check (the checks that cover it do not fail on the clusters involved: backup-extension)"
        );

        let mut uncovered = passing.clone();
        uncovered.explained_by.clear();
        uncovered.checks.clear();
        uncovered.matches[0].checks.clear();
        assert_eq!(
            text(&uncovered),
            "not explained by any prerequisite check (UserErrorKubernetesBackupExtensionNotFoundError is documented but no check covers it)"
        );

        let mut stork = diagnosis.failures[1].clone();
        stork.failure.reasons[0].code = None;
        assert_eq!(
            text(&stork),
            "not explained by any prerequisite check (no recorded reason is in the mapping)"
        );
    }

    #[test]
    fn summary_counts_explained_and_unexplained_failures() {
        assert_eq!(
            summary_line(&two_failures()),
            "2 failures: 1 explained, 1 unexplained"
        );
        assert_eq!(
            summary_line(&no_failure()),
            "No failed backup or restore recorded since 2026-11-22T00:00:00Z. Incomplete: 1 record(s) could not be read."
        );
    }
}
