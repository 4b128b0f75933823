//! Matching recorded reasons to the mapping data and to the verdicts of the checks on the
//! clusters involved. Pure: the verdicts were computed before (one [`ClusterRun`] per
//! cluster); nothing here reads or runs anything.

use super::reasons::{self, Side};
use super::{
    CheckRun, ClusterRun, DiagnosedFailure, Diagnosis, Match, Operation, Recorded, RecordedFailure,
    Scope,
};
use crate::checks::{Status, REGISTRY};
use crate::ids::ResourceId;

pub fn diagnose(
    scope: Scope,
    cluster: ResourceId,
    vault: Option<ResourceId>,
    recorded: Recorded,
    clusters: Vec<ClusterRun>,
) -> Diagnosis {
    let failures = recorded
        .failures
        .into_iter()
        .map(|failure| diagnose_one(failure, &clusters))
        .collect();
    Diagnosis {
        cluster,
        vault,
        scope,
        failures,
        clusters,
        pods: recorded.pods,
        unread: recorded.unread,
        notes: recorded.notes,
        mapping_version: reasons::version(),
    }
}

fn diagnose_one(failure: RecordedFailure, clusters: &[ClusterRun]) -> DiagnosedFailure {
    let mapping = reasons::mapping();
    let mut matches: Vec<Match> = Vec::new();
    // Each check id with the sides of the entries naming it.
    let mut sides: Vec<(&'static str, Side)> = Vec::new();
    for reason in &failure.reasons {
        for hit in mapping.hits(failure.product, reason) {
            // A backup has no restore target: an entry about the target alone says nothing of it.
            if failure.operation == Operation::Backup && hit.mapped.side == Side::Target {
                continue;
            }
            let checks: Vec<&'static str> = hit
                .mapped
                .checks
                .iter()
                .filter_map(|id| REGISTRY.iter().find(|c| c.id == id).map(|c| c.id))
                .collect();
            for id in &checks {
                sides.push((id, hit.mapped.side));
            }
            if !matches.iter().any(|m| m.matched == hit.matched) {
                let (source, source_title, source_revision) = hit.mapped.provenance();
                matches.push(Match {
                    matched: hit.matched.to_string(),
                    checks,
                    cause: hit.mapped.cause.as_str(),
                    source,
                    source_title,
                    source_revision,
                });
            }
        }
    }
    let explained_by: Vec<&'static str> = REGISTRY
        .iter()
        .map(|c| c.id)
        .filter(|id| sides.iter().any(|(s, _)| s == id))
        .collect();
    let mut checks = Vec::new();
    for id in &explained_by {
        for cluster in clusters_for(&failure, id, &sides) {
            checks.extend(verdict_on(id, cluster, clusters));
        }
    }
    DiagnosedFailure {
        failure,
        matches,
        explained_by,
        checks,
    }
}

/// The clusters the check concerns for this failure: the source, the target, or both, as
/// the entries naming it say; a side whose cluster is unknown is left out.
fn clusters_for<'a>(
    failure: &'a RecordedFailure,
    id: &str,
    sides: &[(&'static str, Side)],
) -> Vec<&'a ResourceId> {
    let wants = |side: Side| {
        sides
            .iter()
            .any(|(s, named)| *s == id && (*named == side || *named == Side::Both))
    };
    let mut involved: Vec<&ResourceId> = Vec::new();
    let candidates = [
        (Side::Source, failure.source_cluster.as_ref()),
        (Side::Target, failure.target_cluster.as_ref()),
    ];
    for (side, cluster) in candidates {
        if let Some(cluster) = cluster.filter(|_| wants(side)) {
            if !involved.contains(&cluster) {
                involved.push(cluster);
            }
        }
    }
    involved
}

/// The check's verdict on the cluster, from that cluster's run; none when the check was
/// not run there (outside the profile, or the cluster was not checked at all).
fn verdict_on(id: &'static str, cluster: &ResourceId, runs: &[ClusterRun]) -> Option<CheckRun> {
    let run = runs.iter().find(|r| &r.cluster == cluster)?;
    match &run.verdicts {
        Err(message) => Some(CheckRun {
            cluster: cluster.clone(),
            id,
            status: Status::Error,
            message: format!("could not check this cluster: {message}"),
            remediation: None,
        }),
        Ok(verdicts) => verdicts
            .iter()
            .find(|v| v.check.id == id)
            .map(|v| CheckRun {
                cluster: cluster.clone(),
                id,
                status: v.outcome.status,
                message: v.outcome.message.clone(),
                remediation: v.outcome.remediation.clone(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{find, Outcome, Verdict};
    use crate::diagnosis::recorded::tests::{
        application_backups, cluster_named, reads, scope, SUB,
    };
    use crate::diagnosis::{
        recorded_failures, ClusterRole, PodState, Product, Reason, Record, Unread,
    };
    use crate::exit::Exit;
    use crate::reads::{ArmRead, KubeList};
    use time::macros::datetime;

    fn verdict(id: &str, outcome: Outcome) -> Verdict {
        Verdict {
            check: find(id).unwrap(),
            outcome,
        }
    }

    fn run(cluster: &ResourceId, role: ClusterRole, verdicts: Vec<Verdict>) -> ClusterRun {
        ClusterRun {
            cluster: cluster.clone(),
            role,
            verdicts: Ok(verdicts),
        }
    }

    fn code(code: &str) -> Reason {
        Reason {
            code: Some(code.to_string()),
            message: format!("{code} as recorded"),
            recommended_action: None,
            subject: None,
        }
    }

    fn azure_failure(
        operation: Operation,
        source: Option<&ResourceId>,
        target: Option<&ResourceId>,
        reasons: Vec<Reason>,
    ) -> RecordedFailure {
        RecordedFailure {
            product: Product::AzureBackup,
            operation,
            record: Record::BackupJob,
            id: format!("/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/Backupvaults/vault1/backupJobs/3bc62c80-913f-47fa-b829-b7df476682be"),
            time: Some(datetime!(2026-11-28 09:12:44 UTC)),
            status: "Failed".into(),
            source_cluster: source.cloned(),
            target_cluster: target.cloned(),
            reasons,
        }
    }

    fn diagnosis_of(failures: Vec<RecordedFailure>, clusters: Vec<ClusterRun>) -> Diagnosis {
        let recorded = Recorded {
            failures,
            ..Recorded::default()
        };
        diagnose(scope(), cluster_named("aks1"), None, recorded, clusters)
    }

    #[test]
    fn a_stork_snapshot_class_failure_is_explained_by_the_failing_check() {
        let aks1 = cluster_named("aks1");
        let raws = reads(vec![(
            ArmRead::Kubernetes(KubeList::ApplicationBackups),
            application_backups(),
        )]);
        let recorded = recorded_failures(&scope(), &aks1, None, &raws);
        let runs = vec![run(
            &aks1,
            ClusterRole::Checked,
            vec![
                verdict(
                    "volume-snapshot-class",
                    Outcome::fail("no VolumeSnapshotClass for disk.csi.azure.com")
                        .fix("kubectl apply -f vsc.yaml"),
                ),
                verdict(
                    "pxb-app-cluster-permissions",
                    Outcome::pass("the PXB principal holds every operation"),
                ),
            ],
        )];
        let diagnosis = diagnose(scope(), aks1.clone(), None, recorded, runs);
        let ids: Vec<&str> = diagnosis
            .failures
            .iter()
            .map(|f| f.failure.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["shop/nightly-shop-3f2a9c1", "crm/weekly-crm-9d6cedb"],
            "recorded order kept"
        );

        let class = &diagnosis.failures[0];
        assert_eq!(class.matches.len(), 1);
        assert_eq!(class.matches[0].matched, "csi-snapshot-class-not-mapped");
        assert_eq!(class.matches[0].checks, ["volume-snapshot-class"]);
        assert!(class.matches[0].source.contains("libopenstorage/stork"));
        assert_eq!(class.explained_by, ["volume-snapshot-class"]);
        assert_eq!(class.checks.len(), 1);
        assert_eq!(class.checks[0].cluster, aks1);
        assert_eq!(class.checks[0].status, Status::Fail);
        assert_eq!(
            class.checks[0].remediation.as_deref(),
            Some("kubectl apply -f vsc.yaml")
        );
        assert!(class.explained());

        // The authorization failure of a backup names the application-cluster permissions,
        // not the restore ones (a backup has no restore target); that check passes.
        let auth = &diagnosis.failures[1];
        assert_eq!(auth.explained_by, ["pxb-app-cluster-permissions"]);
        assert_eq!(auth.checks.len(), 1);
        assert_eq!(auth.checks[0].status, Status::Pass);
        assert!(!auth.explained());
        assert_eq!(diagnosis.exit(), Exit::NotReady);
        assert_eq!(diagnosis.mapping_version, reasons::version());
    }

    #[test]
    fn a_restore_is_checked_on_both_clusters_and_a_cluster_that_could_not_be_checked_is_an_error() {
        let aks1 = cluster_named("aks1");
        let aks2 = cluster_named("aks2");
        let failure = azure_failure(
            Operation::Restore,
            Some(&aks2),
            Some(&aks1),
            vec![
                code("userErrorKubernetesBackupExtensionNotFoundError"),
                code("UserErrorBackupPluginPodRestartedDuringRestore"),
            ],
        );
        let runs = vec![
            run(
                &aks1,
                ClusterRole::Checked,
                vec![
                    verdict(
                        "backup-extension",
                        Outcome::pass("the extension is installed"),
                    ),
                    verdict(
                        "backup-extension-pods",
                        Outcome::fail("1 pod is in CrashLoopBackOff"),
                    ),
                ],
            ),
            ClusterRun {
                cluster: ResourceId::parse(&aks2.as_str().to_uppercase()).unwrap(),
                role: ClusterRole::RestoreSource,
                verdicts: Err("HTTP 403 on GET the cluster".into()),
            },
        ];
        let diagnosis = diagnosis_of(vec![failure], runs);
        let failure = &diagnosis.failures[0];
        assert_eq!(
            failure.explained_by,
            ["backup-extension", "backup-extension-pods"]
        );
        let seen: Vec<(&str, &str, Status)> = failure
            .checks
            .iter()
            .map(|c| (c.id, c.cluster.name(), c.status))
            .collect();
        assert_eq!(
            seen,
            [
                ("backup-extension", "aks2", Status::Error),
                ("backup-extension", "aks1", Status::Pass),
                ("backup-extension-pods", "aks1", Status::Fail),
            ],
            "the extension on both sides; the pods restarting during a restore on the target only"
        );
        assert_eq!(
            failure.checks[0].message,
            "could not check this cluster: HTTP 403 on GET the cluster"
        );
        assert!(failure.explained());
    }

    #[test]
    fn unknown_and_uncovered_codes_leave_the_failure_unexplained() {
        let aks1 = cluster_named("aks1");
        let unknown = azure_failure(
            Operation::Backup,
            Some(&aks1),
            None,
            vec![code("UserErrorSomethingNobodyDocumented")],
        );
        let uncovered = azure_failure(
            Operation::Backup,
            Some(&aks1),
            None,
            vec![code("UserErrorSnapshotResourceGroupHasLocks")],
        );
        let runs = vec![run(
            &aks1,
            ClusterRole::Checked,
            vec![verdict("backup-extension", Outcome::fail("not installed"))],
        )];
        let diagnosis = diagnosis_of(vec![unknown, uncovered], runs);
        let unknown = &diagnosis.failures[0];
        assert!(
            unknown.matches.is_empty()
                && unknown.explained_by.is_empty()
                && unknown.checks.is_empty()
        );
        let uncovered = &diagnosis.failures[1];
        assert_eq!(uncovered.matches.len(), 1, "documented");
        assert!(
            uncovered.matches[0].checks.is_empty(),
            "but no check covers it"
        );
        assert!(uncovered.matches[0]
            .source
            .starts_with("https://learn.microsoft.com/"));
        assert!(!unknown.explained() && !uncovered.explained());
        assert_eq!(diagnosis.exit(), Exit::Incomplete);
    }

    #[test]
    fn a_check_outside_the_profile_adds_no_verdict_and_the_record_context_is_kept() {
        let aks1 = cluster_named("aks1");
        let failure = azure_failure(
            Operation::Backup,
            Some(&aks1),
            None,
            vec![code(
                "UserErrorExtensionMSIMissingPermissionsOnBackupStorageLocation",
            )],
        );
        let pod = PodState {
            component: "stork",
            namespace: "portworx".into(),
            name: "stork-6d8f7b9c5-abcde".into(),
            phase: "Running".into(),
            ready: true,
            waiting: None,
            restarts: 0,
        };
        let unread = Unread {
            what: "the vault's backup instances".into(),
            call: "GET x".into(),
            permission: "Microsoft.DataProtection/backupVaults/backupInstances/read".into(),
            message: "HTTP 403 AuthorizationFailed: no".into(),
        };
        let recorded = Recorded {
            failures: vec![failure],
            pods: vec![pod.clone()],
            unread: vec![unread.clone()],
            notes: vec!["a note".into()],
        };
        let runs = vec![run(
            &aks1,
            ClusterRole::Checked,
            vec![verdict("pxb-storage-account", Outcome::pass("ok"))],
        )];
        let diagnosis = diagnose(scope(), aks1, None, recorded, runs);
        let failure = &diagnosis.failures[0];
        assert_eq!(failure.explained_by, ["role-extension-blob-contributor"]);
        assert!(
            failure.checks.is_empty(),
            "the check was not run on the cluster"
        );
        assert_eq!(diagnosis.pods, [pod]);
        assert_eq!(diagnosis.unread, [unread]);
        assert_eq!(diagnosis.notes, ["a note"]);
        assert_eq!(diagnosis.exit(), Exit::Incomplete);
    }

    #[test]
    fn no_failure_and_everything_read_is_ready() {
        let diagnosis = diagnosis_of(Vec::new(), Vec::new());
        assert_eq!(diagnosis.exit(), Exit::Ready);
    }
}
