//! Whether the scopes the role matrix names exist: the snapshot and staging resource
//! groups, read on their own, and the staging storage account, read as it is (the backup
//! storage account is the backup location's own read). Only a 404 means absent: a scope
//! whose read failed otherwise, or was not collected, is unknown, and unknown is not absent.

use super::{ByRead, Facts};
use crate::ids::ResourceId;
use crate::reads::{ArmRead, RawReads};
use crate::requirements::ScopeKind;
use crate::target::Target;
use serde::de::IgnoredAny;

/// The reads that tell whether the scopes `target` names exist (the plan makes them).
pub fn existence_reads(target: &Target) -> Vec<ArmRead> {
    [
        ScopeKind::SnapshotResourceGroup,
        ScopeKind::StagingResourceGroup,
        ScopeKind::StagingStorageAccount,
    ]
    .into_iter()
    .filter_map(|kind| existence_read(target, kind))
    .collect()
}

fn existence_read(target: &Target, kind: ScopeKind) -> Option<ArmRead> {
    let scope: &Option<ResourceId> = match kind {
        ScopeKind::SnapshotResourceGroup => &target.snapshot_resource_group,
        ScopeKind::StagingResourceGroup => &target.staging_resource_group,
        ScopeKind::StagingStorageAccount => &target.staging_storage_account,
        ScopeKind::Cluster | ScopeKind::StorageAccount => return None,
    };
    let read = match kind {
        ScopeKind::StagingStorageAccount => ArmRead::StorageAccount,
        _ => ArmRead::ResourceGroup,
    };
    scope.clone().map(read)
}

/// The answers of the existence reads; their bodies are not needed.
#[derive(Default)]
pub struct ScopeReads(ByRead<()>);

impl ScopeReads {
    pub(super) fn derive(raws: &RawReads, target: &Target) -> ScopeReads {
        let mut reads = ByRead::default();
        for read in existence_reads(target) {
            reads.observe(raws, &read, |_: IgnoredAny| ());
        }
        ScopeReads(reads)
    }
}

impl Facts {
    /// Whether the scope of `kind` is known not to exist: its read answered 404.
    pub fn scope_is_absent(&self, kind: ScopeKind) -> bool {
        let not_found = |read: &ArmRead| self.scopes.0.get(read).is_err_and(|u| u.is_not_found());
        match kind {
            // Without the cluster nothing is judged: its read failing ends the run.
            ScopeKind::Cluster => false,
            ScopeKind::StorageAccount => self
                .backup_location
                .as_ref()
                .is_some_and(|l| l.account.as_ref().is_err_and(|u| u.is_not_found())),
            _ => existence_read(&self.target, kind).is_some_and(|read| not_found(&read)),
        }
    }
}
