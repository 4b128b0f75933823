//! `diagnose`: what Azure Backup (the vault's backup jobs and backup instances) and
//! Portworx Backup (Stork's `ApplicationBackup` / `ApplicationRestore` objects) recorded
//! about failed operations, and which prerequisite checks explain them.
//!
//! Pure, like the checks: it reads raw reads the collector gathered (live or from a bundle)
//! and the verdicts of the checks run on every cluster involved; it never does I/O. The
//! plan asks it which jobs to read in detail ([`jobs_to_read`]) and which other clusters a
//! failure involves ([`related_clusters`]); the mapping from recorded codes and reasons to
//! check ids is versioned data ([`reasons`]), never guessed: an unknown code stays
//! unexplained and is shown as recorded.

mod judge;
pub mod reasons;
mod recorded;
mod targets;

pub use judge::diagnose;
pub use recorded::{jobs_to_read, recorded_failures, related_clusters};
pub use targets::related_targets;

use crate::checks::{Status, Verdict};
use crate::exit::Exit;
use crate::ids::ResourceId;
use time::OffsetDateTime;

/// Jobs read one by one at most (their list omits the details): the most recent first.
pub const MAX_JOB_READS: usize = 25;

/// What to look at: failures recorded since `since`, or only the one job / object `job`
/// (an Azure Backup job's ARM ID or name, or a Stork object's `namespace/name` or name).
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    pub since: OffsetDateTime,
    pub job: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    AzureBackup,
    Pxb,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Backup,
    Restore,
}

/// Which kind of record told of the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A Data Protection backup job (`backupVaults/backupJobs`).
    BackupJob,
    /// A backup instance in a protection error state (configuring protection failed).
    BackupInstance,
    /// A Stork `ApplicationBackup` on the cluster (PXB backup).
    ApplicationBackup,
    /// A Stork `ApplicationRestore` on the cluster (PXB restore onto it).
    ApplicationRestore,
}

/// One reason as recorded: an Azure Backup error (code, message, recommended actions) or a
/// Stork reason text (no code), with what it is about (a volume, a resource) when known.
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    pub code: Option<String>,
    pub message: String,
    pub recommended_action: Option<String>,
    /// The PVC, volume or resource the reason concerns, e.g. `shop/data-0`.
    pub subject: Option<String>,
}

/// A failed or partially successful operation, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedFailure {
    pub product: Product,
    pub operation: Operation,
    pub record: Record,
    /// The job's or backup instance's ARM ID, or `namespace/name` of a Stork object.
    pub id: String,
    /// When it started (or was last updated, when no start is recorded).
    pub time: Option<OffsetDateTime>,
    /// The recorded status as given (`Failed`, `CompletedWithWarnings`, `PartialSuccess`, ...).
    pub status: String,
    /// The backed-up cluster (a restore's source), when known.
    pub source_cluster: Option<ResourceId>,
    /// The cluster restored onto, when known.
    pub target_cluster: Option<ResourceId>,
    pub reasons: Vec<Reason>,
}

/// A read the diagnosis needed but could not make: the failures it would have shown are
/// unknown, which is never the same as "no failure".
#[derive(Clone, Debug, PartialEq)]
pub struct Unread {
    /// What was not read, for people: "the vault's backup jobs".
    pub what: String,
    /// The call, as `ArmRead::describe` gives it.
    pub call: String,
    /// The permission (or Kubernetes RBAC rule) that would allow it.
    pub permission: String,
    pub message: String,
}

/// A Stork or PXB server pod (the components PXB backups and restores run through).
#[derive(Clone, Debug, PartialEq)]
pub struct PodState {
    /// `stork` or `px-backup`.
    pub component: &'static str,
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub ready: bool,
    /// The first waiting container's reason (`CrashLoopBackOff`, `ImagePullBackOff`, ...).
    pub waiting: Option<String>,
    pub restarts: u64,
}

/// What the collector found recorded, and what it could not read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    pub failures: Vec<RecordedFailure>,
    /// Stork and PXB server pods on the checked cluster (with Kubernetes access).
    pub pods: Vec<PodState>,
    pub unread: Vec<Unread>,
    /// Notes on what was left out (e.g. more failed jobs than [`MAX_JOB_READS`]).
    pub notes: Vec<String>,
}

/// How a cluster takes part in the diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterRole {
    /// The cluster `diagnose` was run for.
    Checked,
    /// Another cluster a restore of the checked cluster's backups went to.
    RestoreTarget,
    /// Another cluster whose backups were restored onto the checked cluster.
    RestoreSource,
}

/// The checks run on one cluster involved, or why they could not be.
pub struct ClusterRun {
    pub cluster: ResourceId,
    pub role: ClusterRole,
    /// The verdicts of every check, or the message of why the cluster could not be checked
    /// (not found, not readable).
    pub verdicts: Result<Vec<Verdict>, String>,
}

/// One check's verdict on one cluster, as a failure's explanation shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRun {
    pub cluster: ResourceId,
    pub id: &'static str,
    pub status: Status,
    pub message: String,
    pub remediation: Option<String>,
}

/// What matched a reason in the mapping data: the code or pattern, and where the mapping
/// comes from (a documentation page or source file, as the data file names it).
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub matched: String,
    pub checks: Vec<&'static str>,
    /// The documented cause, as the data file quotes it.
    pub cause: &'static str,
    /// The source's URL.
    pub source: &'static str,
    /// The source's title and revision (`owner/repo@commit`, or when the page was read).
    pub source_title: &'static str,
    pub source_revision: &'static str,
}

/// A recorded failure with the checks that explain it.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosedFailure {
    pub failure: RecordedFailure,
    pub matches: Vec<Match>,
    /// The check ids of every match, in catalog order, without repeats.
    pub explained_by: Vec<&'static str>,
    /// Those checks' verdicts on the clusters they concern.
    pub checks: Vec<CheckRun>,
}

impl DiagnosedFailure {
    /// Explained when a check of `explained_by` fails or errors on a cluster involved.
    pub fn explained(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.status, Status::Fail | Status::Error))
    }
}

/// The whole diagnosis of one run.
pub struct Diagnosis {
    pub cluster: ResourceId,
    pub vault: Option<ResourceId>,
    pub scope: Scope,
    /// The most recent first.
    pub failures: Vec<DiagnosedFailure>,
    pub clusters: Vec<ClusterRun>,
    pub pods: Vec<PodState>,
    pub unread: Vec<Unread>,
    pub notes: Vec<String>,
    /// The version of the mapping data applied.
    pub mapping_version: &'static str,
}

impl Diagnosis {
    /// 0: nothing recorded in the window (and everything could be read); 1: at least one
    /// failure is explained by a failing check; 3: failures none of which is explained, or
    /// no failure found while a record could not be read.
    pub fn exit(&self) -> Exit {
        if self.failures.iter().any(DiagnosedFailure::explained) {
            Exit::NotReady
        } else if !self.failures.is_empty() || !self.unread.is_empty() {
            Exit::Incomplete
        } else {
            Exit::Ready
        }
    }
}
