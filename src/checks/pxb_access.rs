//! PXB permission checks: the PXB principal's operations at the node resource group
//! (install and application-cluster lists), the restore target's operations at a source
//! cluster's node resource group, and whether custom roles granting them are still new.
//! Lists come from requirements/pxb-2.8.json.

use super::roles::{requirement_outcome, RBAC_READS};
use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, PXB};
use crate::facts::Facts;
use crate::ids::ResourceId;
use crate::rbac::{scope, Plane, RbacData, Wanted};
use crate::reads::{API_AUTHORIZATION, API_CONTAINER_SERVICE};
use crate::requirements::{self, OperationList};
use time::Duration;

const PROPAGATION: Duration = Duration::minutes(20);

/// How the permission checks decide, as `explain` says it.
const PXB_HOW: &str = "effective Azure RBAC permissions (direct, inherited, group-derived assignments; NotActions per block; deny assignments such as AKS node resource group lockdown win; conditional grants warn).";

pub const PXB_INSTALL_PERMISSIONS: Check = Check {
    id: "pxb-install-permissions",
    title: "PXB principal has the install permissions on the node resource group",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: Explain {
        verifies: "the PXB principal (--pxb-principal, default: the cluster's control-plane identity) has, at the cluster's node resource group, every operation of the PXB install list (requirements pxb-2.8; `pxb-preflight role-definition --for pxb-install` prints it as a role).",
        how: Some(PXB_HOW),
        why: "PXB installs by creating and changing disks, VMs and scale-set instances, load balancers, public IPs and NSGs in the node resource group.",
        reads: RBAC_READS,
        fix: "create the custom role with `pxb-preflight role-definition --for pxb-install` and `az role definition create`, then assign it on the node resource group.",
    },
    run: |facts| node_rg_check(facts, &requirements::pxb().install, "pxb-install"),
};

pub const PXB_APP_CLUSTER_PERMISSIONS: Check = Check {
    id: "pxb-app-cluster-permissions",
    title: "PXB principal has the application-cluster permissions on the node resource group",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: Explain {
        verifies: "the PXB principal has, at the cluster's node resource group, every operation of the PXB application-cluster list (requirements pxb-2.8; `pxb-preflight role-definition --for pxb-app-cluster`).",
        how: Some(PXB_HOW),
        why: "backing up and restoring volumes snapshots disks, reads them through beginGetAccess and creates disks from snapshots.",
        reads: RBAC_READS,
        fix: "create the role with `pxb-preflight role-definition --for pxb-app-cluster`, then assign it on the node resource group.",
    },
    run: |facts| node_rg_check(facts, &requirements::pxb().app_cluster, "pxb-app-cluster"),
};

fn principal_text(facts: &Facts, principal: &str) -> String {
    if facts.target.pxb_principal.is_some() {
        format!("the PXB principal ({principal})")
    } else {
        format!("the cluster's control-plane identity ({principal})")
    }
}

fn no_principal() -> Outcome {
    Outcome::missing_input(&["--pxb-principal"], "no PXB principal: the cluster has no managed identity (see cluster-identity) and no --pxb-principal was given")
}

fn node_rg_check(facts: &Facts, list: &OperationList, kind: &str) -> Judgement {
    let Some(principal) = facts.pxb_principal() else {
        return Ok(no_principal());
    };
    let Some(node_rg) = facts.node_resource_group() else {
        return Ok(Outcome::new_error(
            "the cluster reports no properties.nodeResourceGroup",
        ));
    };
    let fix = pxb_fix(
        kind,
        &list.role_name,
        &principal,
        &node_rg,
        facts.target.pxb_principal.is_none(),
    );
    let what = format!(
        "the {} operations ({})",
        list.role_name,
        requirements::pxb().version
    );
    requirement_outcome(
        facts,
        &principal_text(facts, &principal),
        &principal,
        &node_rg,
        Wanted::Operations(&list.operations),
        &what,
        fix,
    )
}

fn pxb_fix(
    kind: &str,
    role_name: &str,
    principal: &str,
    scope: &ResourceId,
    managed_identity: bool,
) -> String {
    let principal_type = if managed_identity {
        " --assignee-principal-type ServicePrincipal"
    } else {
        ""
    };
    format!(
        "pxb-preflight role-definition --for {kind} --assignable-scope /subscriptions/{sub} > {kind}.json\n\
az role definition create --role-definition @{kind}.json\n\
az role assignment create --assignee-object-id {principal}{principal_type} --role \"{role_name}\" --scope {scope}\n\
# run as Owner or User Access Administrator; a new custom role can take up to 20 minutes to apply",
        sub = scope.subscription()
    )
}

pub const PXB_RESTORE_PERMISSIONS: Check = Check {
    id: "pxb-restore-permissions",
    title: "Cluster identity can restore from the source cluster's node resource group",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: Explain {
        verifies: "with --restore-source-cluster: the checked cluster's control-plane identity has, at the source cluster's node resource group, every operation of the restore list. Skipped when the source cluster is in the same resource group or uses the same identity: the PXB page says the role is then not needed.",
        how: Some("the list used is the Actions of --restore-role-file when given (the role you created from the PXB docs); otherwise the provisional pxb-2.8 restore list (snapshots read and beginGetAccess, disks read and write), because our copy of the PXB page lost its role JSON."),
        why: "restoring from a cluster in another resource group reads that cluster's disk snapshots and creates disks from them in its node resource group.",
        reads: &[
            Read::Arm {
                call: "GET {sourceCluster}",
                api_version: API_CONTAINER_SERVICE,
                note: "properties.nodeResourceGroup, identity",
            },
            RBAC_READS[0],
            RBAC_READS[1],
            RBAC_READS[2],
            RBAC_READS[3],
        ],
        fix: "create the role (`pxb-preflight role-definition --for pxb-restore`) and assign it to the checked cluster's identity on the source's node resource group.",
    },
    run: restore_permissions,
};

fn restore_permissions(facts: &Facts) -> Judgement {
    let Some(source_id) = &facts.target.restore_source_cluster else {
        return Ok(Outcome::missing_input(&["--restore-source-cluster"], "no restore source: pass --restore-source-cluster to check cross-resource-group restores"));
    };
    let source = match &facts.source_cluster {
        Some(Ok(c)) => c,
        Some(Err(e)) if e.is_not_found() => {
            return Ok(Outcome::fail(format!(
                "the restore source cluster {source_id} does not exist"
            )))
        }
        Some(Err(e)) => return Err(e.clone()),
        None => return Ok(Outcome::skip("no restore source")),
    };
    let target = &facts.target.cluster;
    let same_group = source_id
        .subscription()
        .eq_ignore_ascii_case(target.subscription())
        && source_id
            .resource_group()
            .unwrap_or_default()
            .eq_ignore_ascii_case(target.resource_group().unwrap_or_default());
    if same_group {
        return Ok(Outcome::skip("the source cluster is in the same resource group: the PXB page says no restore role is needed"));
    }
    let Some(principal) = facts.cluster_principal() else {
        return Ok(Outcome::skip(
            "the cluster has no managed identity (see cluster-identity)",
        ));
    };
    if crate::facts::control_plane_principal(source).is_some_and(|p| p == principal) {
        return Ok(Outcome::skip(
            "both clusters use the same identity: the PXB page says no restore role is needed",
        ));
    }
    let Some(source_rg) = facts.source_node_resource_group() else {
        return Ok(Outcome::new_error(
            "the source cluster reports no properties.nodeResourceGroup",
        ));
    };
    let builtin = &requirements::pxb().restore;
    let (operations, what) = match &facts.target.restore_role {
        Some(role) => (
            role.actions.clone(),
            format!("the actions of --restore-role-file '{}'", role.name),
        ),
        None => (
            builtin.operations.clone(),
            format!(
                "the provisional {} list ({})",
                builtin.role_name,
                requirements::pxb().version
            ),
        ),
    };
    let who = format!("the cluster's control-plane identity ({principal})");
    let fix = pxb_fix(
        "pxb-restore",
        &builtin.role_name,
        &principal,
        &source_rg,
        true,
    );
    requirement_outcome(
        facts,
        &who,
        &principal,
        &source_rg,
        Wanted::Operations(&operations),
        &what,
        fix,
    )
}

pub const PXB_ROLE_PROPAGATION: Check = Check {
    id: "pxb-role-propagation",
    title: "PXB custom roles have had time to propagate",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: Explain {
        verifies: "no custom role that the PXB principal holds at its node resource group (or above) and that grants any PXB operation was created or updated less than 20 minutes before the data was read (the collection time, for a bundle); warns otherwise.",
        how: None,
        why: "the PXB page says custom roles can take 20 minutes to apply; checks that pass on fresh roles may still fail in PXB for a while.",
        reads: &[
            Read::Arm {
                call: "GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?$filter=assignedTo('{principal}')",
                api_version: API_AUTHORIZATION,
                note: "the principal's role assignments",
            },
            Read::Arm {
                call: "GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                api_version: API_AUTHORIZATION,
                note: "their role definitions (updatedOn, createdOn)",
            },
        ],
        fix: "wait until the role is 20 minutes old, then run the check again.",
    },
    run: role_propagation,
};

fn role_propagation(facts: &Facts) -> Judgement {
    let Some(principal) = facts.pxb_principal() else {
        return Ok(no_principal());
    };
    let Some(node_rg) = facts.node_resource_group() else {
        return Ok(Outcome::new_error(
            "the cluster reports no properties.nodeResourceGroup",
        ));
    };
    let subscription = node_rg.subscription();
    let assignments = facts.access.role_assignments(subscription, &principal)?;
    let pxb = requirements::pxb();
    let operations: Vec<&String> = [&pxb.install, &pxb.app_cluster, &pxb.restore]
        .iter()
        .flat_map(|l| &l.operations)
        .collect();
    let mut fresh = Vec::new();
    for assignment in assignments
        .iter()
        .filter(|a| scope::is_at_or_above(&a.scope, node_rg.as_str(), &[]))
    {
        let Ok(role) = facts
            .access
            .role_definition(subscription, &assignment.role_guid)
        else {
            continue;
        };
        let grants_pxb = role.blocks.iter().any(|b| {
            operations
                .iter()
                .any(|op| b.grants(Plane::Control, op, &[]))
        });
        if !role.custom || !grants_pxb {
            continue;
        }
        let updated = role.updated_on.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        if let Some(updated) = updated.filter(|u| facts.observed_at - *u < PROPAGATION) {
            let age = (facts.observed_at - updated).whole_minutes().max(0);
            fresh.push(
                Evidence::new(
                    &assignment.id,
                    "roleDefinition.updatedOn",
                    role.updated_on.clone().unwrap_or_default(),
                    ">= 20 minutes old",
                )
                .with_note(format!(
                    "{} changed {age} minutes before the check",
                    role.role_name
                )),
            );
        }
    }
    Ok(if fresh.is_empty() {
        Outcome::pass("no custom role granting PXB operations changed in the last 20 minutes")
    } else {
        let outcome = Outcome::warn(format!(
            "{} granting PXB operations changed less than 20 minutes ago; wait before relying on it",
            if fresh.len() == 1 { "a custom role".to_string() } else { format!("{} custom roles", fresh.len()) }
        ));
        fresh.into_iter().fold(outcome, Outcome::evidence)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        deny_assignment, healthy_cluster, role_assignment, role_definition, Scenario,
    };
    use super::super::Status;
    use super::*;
    use crate::reads::ArmRead;
    use serde_json::{json, Value};

    const CLUSTER_PRINCIPAL: &str = "11111111-1111-1111-1111-111111111111";
    const NODE_GROUP: &str = "/subscriptions/sub1/resourceGroups/MC_rg1_aks1_eastus";
    const PXB_ROLE: &str = "0a0a0a0a-0000-4000-8000-000000000001";
    const SOURCE: &str = "/subscriptions/sub1/resourceGroups/rg-src/providers/Microsoft.ContainerService/managedClusters/aks-src";
    const SOURCE_NODE_GROUP: &str = "/subscriptions/sub1/resourceGroups/MC_rg-src_aks-src_eastus";

    /// The cluster identity's assignments and a custom role granting `operations`.
    fn granted(assignments: Vec<Value>, operations: &[String], updated_on: &str) -> Scenario {
        let mut s = Scenario::new();
        let ops: Vec<&str> = operations.iter().map(String::as_str).collect();
        let mut role = role_definition(PXB_ROLE, "PXB role", "CustomRole", &ops);
        role["properties"]["updatedOn"] = json!(updated_on);
        s.set(
            &ArmRead::RoleDefinition {
                subscription: "sub1".into(),
                guid: PXB_ROLE.into(),
            },
            role,
        );
        s.set(
            &ArmRead::RoleAssignments {
                subscription: "sub1".into(),
                principal: CLUSTER_PRINCIPAL.into(),
            },
            json!({ "value": assignments }),
        );
        s.set(
            &ArmRead::DenyAssignments {
                subscription: "sub1".into(),
            },
            json!({"value": []}),
        );
        s
    }

    fn install_ops() -> Vec<String> {
        requirements::pxb().install.operations.clone()
    }

    fn at_node_group() -> Vec<Value> {
        vec![role_assignment(
            "a1",
            CLUSTER_PRINCIPAL,
            PXB_ROLE,
            NODE_GROUP,
        )]
    }

    const OLD: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn install_permissions_pass_when_a_role_grants_the_list_at_the_node_group() {
        let o =
            PXB_INSTALL_PERMISSIONS.judge(&granted(at_node_group(), &install_ops(), OLD).facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert!(
            o.message.starts_with(&format!("the cluster's control-plane identity ({CLUSTER_PRINCIPAL}) has the Portworx Backup install operations (pxb-2.8)")),
            "{}",
            o.message
        );
        // The install list does not hold the application-cluster list.
        let o = PXB_APP_CLUSTER_PERMISSIONS
            .judge(&granted(at_node_group(), &install_ops(), OLD).facts());
        assert_eq!(o.status, Status::Fail, "{}", o.message);
    }

    #[test]
    fn missing_operations_fail_with_the_role_definition_recipe() {
        let o = PXB_INSTALL_PERMISSIONS.judge(&granted(Vec::new(), &install_ops(), OLD).facts());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains(&format!(
                "lacks the Portworx Backup install operations (pxb-2.8) at {NODE_GROUP}"
            )),
            "{}",
            o.message
        );
        let fix = o.remediation.unwrap();
        assert!(fix.starts_with("pxb-preflight role-definition --for pxb-install --assignable-scope /subscriptions/sub1 > pxb-install.json\naz role definition create --role-definition @pxb-install.json\n"), "{fix}");
        assert!(fix.contains(&format!("--assignee-object-id {CLUSTER_PRINCIPAL} --assignee-principal-type ServicePrincipal --role \"Portworx Backup install\" --scope {NODE_GROUP}")), "{fix}");
    }

    #[test]
    fn a_lockdown_deny_fails_and_a_conditional_grant_warns() {
        let mut s = granted(at_node_group(), &install_ops(), OLD);
        s.set(
            &ArmRead::DenyAssignments {
                subscription: "sub1".into(),
            },
            json!({"value": [deny_assignment("AKS lockdown", CLUSTER_PRINCIPAL, &["*/write"])]}),
        );
        let o = PXB_INSTALL_PERMISSIONS.judge(&s.facts());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("a deny assignment 'AKS lockdown' blocks"),
            "{}",
            o.message
        );
        let mut conditional = at_node_group();
        conditional[0]["properties"]["condition"] =
            json!("@Resource[Microsoft.Compute/disks:name] StringStartsWith 'pvc-'");
        let o = PXB_INSTALL_PERMISSIONS.judge(&granted(conditional, &install_ops(), OLD).facts());
        assert_eq!(o.status, Status::Warn, "{}", o.message);
    }

    #[test]
    fn no_principal_skips_and_unreadable_assignments_are_an_error() {
        let mut s = granted(at_node_group(), &install_ops(), OLD);
        s.edit_cluster(|c| {
            c.as_object_mut().unwrap().remove("identity");
            c["properties"]["servicePrincipalProfile"] = json!({"clientId": "aaaa"});
        });
        for check in [
            &PXB_INSTALL_PERMISSIONS,
            &PXB_APP_CLUSTER_PERMISSIONS,
            &PXB_ROLE_PROPAGATION,
        ] {
            let o = check.judge(&s.facts());
            assert_eq!(o.status, Status::Skip, "{}", check.id);
            assert!(o.message.contains("no --pxb-principal"), "{}", o.message);
        }
        let mut s = granted(at_node_group(), &install_ops(), OLD);
        s.fail(
            &ArmRead::RoleAssignments {
                subscription: "sub1".into(),
                principal: CLUSTER_PRINCIPAL.into(),
            },
            403,
            "AuthorizationFailed",
        );
        for check in [&PXB_INSTALL_PERMISSIONS, &PXB_ROLE_PROPAGATION] {
            let o = check.judge(&s.facts());
            assert_eq!(o.status, Status::Error, "{}", check.id);
            assert!(o.message.contains("HTTP 403"), "{}", o.message);
        }
    }

    #[test]
    fn a_custom_role_changed_minutes_ago_warns() {
        let fresh = granted(at_node_group(), &install_ops(), "2026-11-20T09:55:00Z");
        let o = PXB_ROLE_PROPAGATION.judge(&fresh.facts());
        assert_eq!(o.status, Status::Warn);
        assert_eq!(o.message, "a custom role granting PXB operations changed less than 20 minutes ago; wait before relying on it");
        assert!(
            o.evidence[0]
                .property
                .contains("PXB role changed 5 minutes before the check"),
            "{:?}",
            o.evidence
        );
        let o = PXB_ROLE_PROPAGATION.judge(&granted(at_node_group(), &install_ops(), OLD).facts());
        assert_eq!(o.status, Status::Pass);
    }

    /// A restore source in another resource group, with its own identity.
    fn restore(assignments: Vec<Value>) -> Scenario {
        let operations = requirements::pxb().restore.operations.clone();
        let mut s = granted(assignments, &operations, OLD);
        s.target.restore_source_cluster = Some(SOURCE.into());
        let mut source = healthy_cluster();
        source["id"] = json!(SOURCE);
        source["identity"]["principalId"] = json!("44444444-4444-4444-4444-444444444444");
        source["properties"]["nodeResourceGroup"] = json!("MC_rg-src_aks-src_eastus");
        s.set(
            &ArmRead::Cluster(crate::ids::ResourceId::parse(SOURCE).unwrap()),
            source,
        );
        s
    }

    #[test]
    fn restore_permissions_at_the_source_node_group() {
        let o = PXB_RESTORE_PERMISSIONS.judge(&Scenario::new().facts());
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("--restore-source-cluster"));
        let granted_there = vec![role_assignment(
            "r1",
            CLUSTER_PRINCIPAL,
            PXB_ROLE,
            SOURCE_NODE_GROUP,
        )];
        let o = PXB_RESTORE_PERMISSIONS.judge(&restore(granted_there).facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        let o = PXB_RESTORE_PERMISSIONS.judge(&restore(Vec::new()).facts());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("the provisional Portworx Backup cross-resource-group restore list"),
            "{}",
            o.message
        );
        assert!(o
            .remediation
            .unwrap()
            .contains(&format!("--scope {SOURCE_NODE_GROUP}")));
    }

    #[test]
    fn restore_source_missing_fails_and_unreadable_is_an_error() {
        let source = ArmRead::Cluster(crate::ids::ResourceId::parse(SOURCE).unwrap());
        let mut s = restore(Vec::new());
        s.fail(&source, 404, "ResourceNotFound");
        let o = PXB_RESTORE_PERMISSIONS.judge(&s.facts());
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            format!("the restore source cluster {SOURCE} does not exist")
        );
        s.fail(&source, 403, "AuthorizationFailed");
        assert_eq!(
            PXB_RESTORE_PERMISSIONS.judge(&s.facts()).status,
            Status::Error
        );
    }
}
