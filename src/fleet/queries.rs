//! The Azure Resource Graph queries of a fleet run: one paged query per kind of resource the
//! checks read, over every subscription in scope. Each projects `id` and sorts by it, which
//! Resource Graph needs to page (`$skipToken`) deterministically.
//!
//! Text only: no I/O, and nothing here interprets an answer (`super::expand` does).

use crate::reads::{ArmRead, GraphQuery};

/// Rows per page: Resource Graph's maximum. The cluster query pages smaller: a cluster's
/// properties are large, and an answer over 16 MB is refused.
const PAGE: u32 = 1000;
const CLUSTER_PAGE: u32 = 250;

pub const CLUSTERS: &str = "resources | where type =~ 'microsoft.containerservice/managedclusters'";
const CLUSTERS_PROJECT: &str = " | project id, name, type, location, resourceGroup, subscriptionId, tags, sku, identity, properties | order by id asc";
pub const EXTENSIONS: &str = "kubernetesconfigurationresources | where type =~ 'microsoft.kubernetesconfiguration/extensions' | where id contains '/providers/microsoft.containerservice/managedclusters/' | project id, name, type, identity, properties | order by id asc";
pub const RESOURCES: &str = "resources | where type in~ ('microsoft.dataprotection/backupvaults', 'microsoft.storage/storageaccounts', 'microsoft.network/networksecuritygroups', 'microsoft.network/virtualnetworks') | project id, name, type, location, resourceGroup, subscriptionId, kind, sku, identity, tags, properties | order by id asc";
pub const BACKUP_INSTANCES: &str = "recoveryservicesresources | where type =~ 'microsoft.dataprotection/backupvaults/backupinstances' | project id, name, type, properties | order by id asc";
pub const RESOURCE_GROUPS: &str = "resourcecontainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups' | project id, name, type, location, subscriptionId, managedBy, tags, properties | order by id asc";

/// Where the queries look: subscriptions, a management group, or (neither) every
/// subscription the caller can read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphScope {
    pub subscriptions: Vec<String>,
    pub management_group: Option<String>,
}

/// The queries of a run, each a read like any other.
#[derive(Clone, Debug, PartialEq)]
pub struct Queries {
    pub clusters: ArmRead,
    pub extensions: ArmRead,
    pub resources: ArmRead,
    pub backup_instances: ArmRead,
    pub resource_groups: ArmRead,
}

impl Queries {
    /// The queries over `scope`; `filter` (the user's `--where`, a KQL predicate) narrows
    /// the clusters.
    pub fn new(scope: &GraphScope, filter: Option<&str>) -> Queries {
        let read = |query: String, page_size: u32| {
            ArmRead::ResourceGraph(GraphQuery {
                query,
                subscriptions: scope.subscriptions.clone(),
                management_groups: scope.management_group.iter().cloned().collect(),
                authorization_scope_filter: None,
                page_size,
            })
        };
        let narrowed = match filter {
            Some(filter) => format!("{CLUSTERS} | where {filter}{CLUSTERS_PROJECT}"),
            None => format!("{CLUSTERS}{CLUSTERS_PROJECT}"),
        };
        Queries {
            clusters: read(narrowed, CLUSTER_PAGE),
            extensions: read(EXTENSIONS.to_string(), PAGE),
            resources: read(RESOURCES.to_string(), PAGE),
            backup_instances: read(BACKUP_INSTANCES.to_string(), PAGE),
            resource_groups: read(RESOURCE_GROUPS.to_string(), PAGE),
        }
    }

    pub fn all(&self) -> [&ArmRead; 5] {
        [
            &self.clusters,
            &self.extensions,
            &self.resources,
            &self.backup_instances,
            &self.resource_groups,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(read: &ArmRead) -> &str {
        match read {
            ArmRead::ResourceGraph(q) => &q.query,
            _ => panic!("not a Resource Graph read"),
        }
    }

    #[test]
    fn every_query_projects_id_and_orders_by_it_so_it_pages() {
        let queries = Queries::new(&GraphScope::default(), Some("tags.env == 'prod'"));
        for read in queries.all() {
            let q = text(read);
            assert!(q.contains("| project id,"), "{q}");
            assert!(q.ends_with("| order by id asc"), "{q}");
            assert!(!q.contains(" take ") && !q.contains(" limit "), "{q}");
        }
    }

    #[test]
    fn the_filter_narrows_only_the_clusters_before_the_projection() {
        let queries = Queries::new(
            &GraphScope {
                subscriptions: vec!["s1".into(), "s2".into()],
                management_group: None,
            },
            Some("tags.env == 'prod'"),
        );
        assert!(text(&queries.clusters).contains(
            "managedclusters' | where tags.env == 'prod' | project id, name, type, location"
        ));
        assert!(!text(&queries.resources).contains("tags.env"));
        match &queries.clusters {
            ArmRead::ResourceGraph(q) => {
                assert_eq!(q.subscriptions, ["s1", "s2"]);
                assert!(q.management_groups.is_empty());
                assert_eq!(q.page_size, CLUSTER_PAGE);
            }
            _ => unreachable!(),
        }
    }
}
