//! Matching recorded reasons to the mapping data and to the verdicts of the checks on the
//! clusters involved.

use super::{ClusterRun, Diagnosis, Recorded, Scope};
use crate::ids::ResourceId;

pub fn diagnose(
    scope: Scope,
    cluster: ResourceId,
    vault: Option<ResourceId>,
    recorded: Recorded,
    clusters: Vec<ClusterRun>,
) -> Diagnosis {
    Diagnosis {
        cluster,
        vault,
        scope,
        failures: Vec::new(),
        clusters,
        pods: recorded.pods,
        unread: recorded.unread,
        notes: recorded.notes,
        mapping_version: super::reasons::VERSION,
    }
}
