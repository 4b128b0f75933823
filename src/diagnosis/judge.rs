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
                matches.push(Match {
                    matched: hit.matched.to_string(),
                    checks,
                    source: hit.mapped.source_url(),
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
