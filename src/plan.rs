//! The read plan: which ARM reads a run needs, as a pure function of the target and of
//! what has been read so far. The collector calls it until it asks for nothing new; each
//! call's answer is one round of concurrent reads. Typical rounds: (1) everything the
//! target names, (2) what those point to (the extension's storage account, the vault's and
//! cluster's identities' role assignments), (3) the role definitions those assignments use,
//! the backup container's blob listing (it needs the account's blob endpoint), and the Graph
//! group memberships of a principal when a deny names another principal.
//! Discovery adds links to the chain: the cluster's trusted access bindings name the vault,
//! the vault's backup instances name the snapshot resource group, and the reads of each
//! discovered input follow as they would for a given one.
//!
//! This is the only place that knows which reads follow from which answers: it derives a
//! [`Facts`] snapshot of the reads so far and reads its fields. It makes no reads itself.

use crate::diagnosis::{self, Scope};
use crate::facts::{
    disk_reads, existence_reads, is_initiative, kubernetes_reads, plan_backup_location,
    reaches_cluster, Facts, LocationPlan, Policy, KUBERNETES_CONFIGURATION,
};
use crate::ids::ResourceId;
use crate::probe::Protocol;
use crate::rbac::{Principal, RbacData};
use crate::reads::{ArmRead, KubeList, RawReads};
use crate::requirements;
use crate::target::Target;
use time::OffsetDateTime;

/// What a run reads: what the checks need, or that plus what `diagnose` needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    Check,
    Diagnose(Scope),
}

pub fn next_reads(target: &Target, purpose: &Purpose, raws: &RawReads) -> Vec<ArmRead> {
    let mut reads = check_reads(target, raws);
    if let Purpose::Diagnose(scope) = purpose {
        reads.extend(diagnosis_reads(target, scope, raws));
    }
    reads.retain(|r| !raws.contains(r));
    reads.sort_by_key(ArmRead::key);
    reads.dedup_by_key(|r| r.key());
    reads
}

fn check_reads(target: &Target, raws: &RawReads) -> Vec<ArmRead> {
    let mut reads = target_reads(target);
    if let Ok(facts) = Facts::derive(target.clone(), raws, OffsetDateTime::UNIX_EPOCH) {
        // The target completed with what was discovered so far, read as if it were given.
        reads.extend(target_reads(&facts.target));
        reads.extend(dependent_reads(&facts));
    }
    reads
}

/// What `diagnose` adds: the vault's job list, then the selected jobs one by one; Stork's
/// records and pods through the cluster's Kubernetes API; then, for each other cluster a
/// recorded failure names, everything the checks read of that cluster.
fn diagnosis_reads(target: &Target, scope: &Scope, raws: &RawReads) -> Vec<ArmRead> {
    let Ok(facts) = Facts::derive(target.clone(), raws, OffsetDateTime::UNIX_EPOCH) else {
        return Vec::new();
    };
    let mut reads = Vec::new();
    if reaches_cluster(&facts.target, &facts.cluster) {
        reads.extend(KubeList::DIAGNOSIS.into_iter().map(ArmRead::Kubernetes));
    }
    if let Some(vault) = &facts.target.vault {
        // The instances carry the protection errors; the jobs, each operation's.
        reads.push(ArmRead::BackupInstances(vault.clone()));
        reads.push(ArmRead::BackupJobs(vault.clone()));
        reads.extend(
            diagnosis::jobs_to_read(scope, &facts.target.cluster, vault, raws)
                .into_iter()
                .map(ArmRead::BackupJob),
        );
    }
    let recorded = diagnosis::recorded_failures(
        scope,
        &facts.target.cluster,
        facts.target.vault.as_ref(),
        raws,
    );
    for (related, _) in diagnosis::related_targets(&facts.target, &recorded) {
        reads.extend(check_reads(&related, raws));
    }
    reads
}

/// Reads that need nothing but the target (as given, or completed by discovery).
fn target_reads(target: &Target) -> Vec<ArmRead> {
    let cluster = &target.cluster;
    let subscription = cluster.subscription().to_string();
    let mut reads = vec![
        ArmRead::Cluster(cluster.clone()),
        ArmRead::Provider {
            subscription: subscription.clone(),
            namespace: KUBERNETES_CONFIGURATION.into(),
        },
        ArmRead::Extensions(cluster.clone()),
        ArmRead::TrustedAccessBindings(cluster.clone()),
        ArmRead::Permissions(cluster.clone()),
        ArmRead::PolicyAssignments(cluster.clone()),
    ];
    reads.extend(target.vault.clone().map(ArmRead::Vault));
    if target.snapshot_resource_group.is_none() {
        // The vault's backup instance of this cluster names the snapshot resource group.
        reads.extend(target.vault.clone().map(ArmRead::BackupInstances));
    }
    reads.extend(target.restore_source_cluster.clone().map(ArmRead::Cluster));
    if let Some(plan) = plan_backup_location(target, None) {
        reads.extend(location_reads(&plan));
    }
    if let Some(account) = &target.storage_account {
        reads.push(ArmRead::StorageAccount(account.clone()));
        reads.push(ArmRead::Permissions(account.clone()));
        if target.storage_account_key_provided {
            reads.push(ArmRead::ListKeys(account.clone()));
        }
    }
    // The built-in roles the requirements name, read once each by GUID.
    reads.extend(
        requirements::azure_backup()
            .roles
            .values()
            .map(|guid| ArmRead::RoleDefinition {
                subscription: subscription.clone(),
                guid: guid.clone(),
            }),
    );
    let groups = [
        &target.snapshot_resource_group,
        &target.staging_resource_group,
    ];
    let resource_groups = groups
        .into_iter()
        .flatten()
        .cloned()
        .chain(target.vault.as_ref().and_then(resource_group_of));
    reads.extend(resource_groups.map(ArmRead::Permissions));
    // Whether the scopes roles are needed on exist: a role on a missing scope is no grant.
    reads.extend(existence_reads(target));
    let scopes = [
        &target.snapshot_resource_group,
        &target.staging_resource_group,
        &target.staging_storage_account,
        &target.restore_source_cluster,
    ];
    for id in std::iter::once(cluster).chain(scopes.into_iter().flatten()) {
        reads.push(ArmRead::DenyAssignments {
            subscription: id.subscription().to_string(),
        });
    }
    if let Some(host) = &target.pxb.host {
        reads.push(ArmRead::Probe {
            host: host.clone(),
            port: target.pxb.rest_port,
            protocol: Protocol::Http1,
        });
        reads.push(ArmRead::Probe {
            host: host.clone(),
            port: target.pxb.grpc_port,
            protocol: Protocol::Http2,
        });
    }
    if let Some(principal) = &target.pxb_principal {
        reads.push(ArmRead::RoleAssignments {
            subscription,
            principal: principal.clone(),
        });
    }
    reads
}

/// Reads that need the answers of earlier reads.
fn dependent_reads(facts: &Facts) -> Vec<ArmRead> {
    let mut reads = Vec::new();
    if let Some(location) = &facts.backup_location {
        reads.extend(location_reads(&location.plan));
        // The listing needs the account's blob endpoint: a round after the account.
        reads.extend(location.blob_read());
        reads.push(ArmRead::Permissions(location.plan.account.clone()));
        reads.push(ArmRead::DenyAssignments {
            subscription: location.plan.account.subscription().to_string(),
        });
    }
    reads.extend(
        policy_definition_ids(&facts.policy)
            .into_iter()
            .map(ArmRead::PolicyDefinition),
    );
    // After the cluster read: its API server names tell whether the kubeconfig is its.
    reads.extend(kubernetes_reads(&facts.target, &facts.cluster));
    // After the PV list: its disks' IDs name the resource groups whose disks to list.
    reads.extend(disk_reads(&facts.kubernetes));
    if let Some(group) = facts.node_resource_group() {
        reads.push(ArmRead::NetworkSecurityGroups(group));
    }
    for subnet in facts.node_subnets() {
        if let Ok(Some(nsg)) = facts.network.subnet_nsg(&subnet) {
            if !facts.network.listed_with_node_group(nsg) {
                reads.push(ArmRead::NetworkSecurityGroup(nsg.clone()));
            }
        }
        reads.push(ArmRead::Subnet(subnet));
    }
    for (principal, scope) in access_needs(facts) {
        let subscription = scope.subscription().to_string();
        reads.push(ArmRead::DenyAssignments {
            subscription: subscription.clone(),
        });
        reads.push(ArmRead::RoleAssignments {
            subscription: subscription.clone(),
            principal: principal.clone(),
        });
        if names_another_principal(facts, &subscription, &principal) {
            reads.push(ArmRead::GroupMemberships(principal.clone()));
        }
        if let Ok(assignments) = facts.access.role_assignments(&subscription, &principal) {
            // Once per GUID: a definition already read through any subscription is reused.
            reads.extend(
                assignments
                    .iter()
                    .filter(|a| {
                        facts
                            .access
                            .role_definition(&subscription, &a.role_guid)
                            .is_err()
                    })
                    .map(|a| ArmRead::RoleDefinition {
                        subscription: subscription.clone(),
                        guid: a.role_guid.clone(),
                    }),
            );
        }
    }
    reads
}

/// Whether a deny of the subscription names a principal that may be a group of
/// `principal` (neither all principals nor itself): only then are its groups read.
fn names_another_principal(facts: &Facts, subscription: &str, principal: &str) -> bool {
    let principal = Principal {
        id: principal.to_string(),
        ..Principal::default()
    };
    facts
        .access
        .deny_assignments(subscription)
        .is_ok_and(|denies| {
            denies
                .iter()
                .any(|d| d.other_principal(&principal).is_some())
        })
}

/// Every (principal, scope) whose RBAC data some check needs, as far as known so far.
fn access_needs(facts: &Facts) -> Vec<(String, ResourceId)> {
    let mut needs: Vec<(String, ResourceId)> = requirements::azure_backup()
        .matrix
        .iter()
        .filter_map(|need| Some((need, facts.scope_of(need.scope)?)))
        .flat_map(|(need, scope)| {
            // Every vault identity that will be evaluated; the reads are deduplicated.
            facts
                .principals_of(need.principal)
                .into_iter()
                .map(move |principal| (principal, scope.clone()))
        })
        .collect();
    if let (Some(principal), Some(node_rg)) = (facts.pxb_principal(), facts.node_resource_group()) {
        needs.push((principal, node_rg));
    }
    if let (Some(principal), Some(source_rg)) = (
        facts.cluster_principal(),
        facts.source_node_resource_group(),
    ) {
        needs.push((principal, source_rg));
    }
    needs
}

/// The policy definitions to read next: assigned definitions and initiatives, then members.
fn policy_definition_ids(policy: &Policy) -> Vec<String> {
    let Ok(assignments) = &policy.assignments else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for a in assignments {
        let id = &a.properties.policy_definition_id;
        if is_initiative(id) {
            if let Ok(set) = policy.definition(id) {
                ids.extend(
                    set.properties
                        .policy_definitions
                        .iter()
                        .map(|m| m.policy_definition_id.clone()),
                );
            }
        }
        ids.push(id.clone());
    }
    ids
}

/// The reads of a backup location: the account, and the container when one is named.
fn location_reads(plan: &LocationPlan) -> Vec<ArmRead> {
    let mut reads = vec![ArmRead::StorageAccount(plan.account.clone())];
    if let Some(container) = &plan.container {
        reads.push(ArmRead::BlobContainer {
            account: plan.account.clone(),
            container: container.clone(),
        });
    }
    reads
}

fn resource_group_of(id: &ResourceId) -> Option<ResourceId> {
    ResourceId::resource_group_id(id.subscription(), id.resource_group()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::RawRead;
    use crate::target::{KubeAccess, TargetRecord};

    /// The Kubernetes lists wait for the cluster read: its API server names decide them.
    #[test]
    fn kubernetes_lists_follow_the_cluster_read() {
        let cluster = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";
        let target = Target::from_record(&TargetRecord {
            cluster: cluster.into(),
            kubernetes: Some(KubeAccess {
                server: "https://aks1-dns-1.hcp.eastus.azmk8s.io:443".into(),
                context: "aks1".into(),
                chosen: false,
            }),
            ..Default::default()
        })
        .unwrap();
        let is_kubernetes = |r: &ArmRead| matches!(r, ArmRead::Kubernetes(_));
        let mut raws = RawReads::default();
        assert!(!next_reads(&target, &Purpose::Check, &raws)
            .iter()
            .any(is_kubernetes));
        let read = ArmRead::Cluster(target.cluster.clone());
        raws.insert(RawRead::ok(
            &read,
            serde_json::json!({"properties": {"fqdn": "aks1-dns-1.hcp.eastus.azmk8s.io"}}),
        ));
        let second = next_reads(&target, &Purpose::Check, &raws);
        assert_eq!(second.iter().filter(|r| is_kubernetes(r)).count(), 7);
    }

    /// The PV disks' SKUs come from one disk list per resource group holding them, read
    /// once the PV list is in, however many PVs that group holds.
    #[test]
    fn one_disk_list_per_resource_group_of_pv_disks() {
        let cluster = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";
        let target = Target::from_record(&TargetRecord {
            cluster: cluster.into(),
            kubernetes: Some(KubeAccess {
                server: "https://aks1-dns-1.hcp.eastus.azmk8s.io:443".into(),
                context: "aks1".into(),
                chosen: true,
            }),
            ..Default::default()
        })
        .unwrap();
        let is_disks = |r: &ArmRead| matches!(r, ArmRead::Disks(_));
        let mut raws = RawReads::default();
        raws.insert(RawRead::ok(
            &ArmRead::Cluster(target.cluster.clone()),
            serde_json::json!({"properties": {}}),
        ));
        assert!(!next_reads(&target, &Purpose::Check, &raws)
            .iter()
            .any(is_disks));
        let disk = |group: &str, name: &str| {
            format!("/subscriptions/sub1/resourceGroups/{group}/providers/Microsoft.Compute/disks/{name}")
        };
        let pv = |driver: &str, handle: String| serde_json::json!({"metadata": {"name": "pv"}, "spec": {"csi": {"driver": driver, "volumeHandle": handle}}});
        let volumes = vec![
            pv("disk.csi.azure.com", disk("MC_rg1_aks1_eastus", "pvc-1")),
            pv("disk.csi.azure.com", disk("mc_rg1_aks1_eastus", "pvc-2")),
            pv("disk.csi.azure.com", disk("MC_rg1_aks1_eastus", "pvc-3")),
            pv("disk.csi.azure.com", disk("rg-data", "pvc-4")),
            pv("file.csi.azure.com", "rg#acct#share".into()),
            pv("disk.csi.azure.com", "not-an-arm-id".into()),
            pv(
                "disk.csi.azure.com",
                "/subscriptions/sub1/resourceGroups/rg-snap/providers/Microsoft.Compute/snapshots/s1".into(),
            ),
        ];
        raws.insert(RawRead::ok(
            &ArmRead::Kubernetes(crate::reads::KubeList::PersistentVolumes),
            serde_json::json!({"items": volumes}),
        ));
        let groups: Vec<String> = next_reads(&target, &Purpose::Check, &raws)
            .into_iter()
            .filter(is_disks)
            .map(|r| r.path().to_ascii_lowercase())
            .collect();
        assert_eq!(
            groups,
            [
                "/subscriptions/sub1/resourcegroups/mc_rg1_aks1_eastus/providers/microsoft.compute/disks",
                "/subscriptions/sub1/resourcegroups/rg-data/providers/microsoft.compute/disks",
            ]
        );
    }
}
