//! The failures recorded in the raw reads: Azure Backup jobs (the vault's job list, and
//! each selected job read in detail), backup instances in a protection error state, and
//! Stork's `ApplicationBackup` / `ApplicationRestore` objects; plus the Stork and PXB pods.

use super::{ClusterRole, Recorded, Scope};
use crate::ids::ResourceId;
use crate::reads::RawReads;
use time::OffsetDateTime;

/// The failed or partially successful jobs of the vault's job list, in the window, that
/// may involve `cluster` (it is their data source, or they are restores, whose target only
/// the job's own read names), most recent first, at most [`super::MAX_JOB_READS`].
pub fn jobs_to_read(
    scope: &Scope,
    cluster: &ResourceId,
    vault: &ResourceId,
    raws: &RawReads,
) -> Vec<ResourceId> {
    let _ = (scope, cluster, vault, raws);
    Vec::new()
}

/// Everything recorded about the failures of `cluster` in the scope.
pub fn recorded_failures(
    scope: &Scope,
    cluster: &ResourceId,
    vault: Option<&ResourceId>,
    raws: &RawReads,
    observed_at: OffsetDateTime,
) -> Recorded {
    let _ = (scope, cluster, vault, raws, observed_at);
    Recorded::default()
}

/// The other clusters the failures involve (restore targets and sources), each once.
pub fn related_clusters(
    recorded: &Recorded,
    cluster: &ResourceId,
) -> Vec<(ResourceId, ClusterRole)> {
    let _ = (recorded, cluster);
    Vec::new()
}
