//! The other clusters a diagnosis checks: the restore targets and sources its recorded
//! failures name. One function, so that the plan reads exactly what the command judges.

use super::{related_clusters, ClusterRole, Recorded};
use crate::target::Target;

/// Each other cluster the recorded failures of `target`'s cluster involve, as a target
/// sharing its vault, with its role.
pub fn related_targets(target: &Target, recorded: &Recorded) -> Vec<(Target, ClusterRole)> {
    related_clusters(recorded, &target.cluster)
        .into_iter()
        .map(|(other, role)| (target.related(other), role))
        .collect()
}
