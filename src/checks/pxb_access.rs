//! PXB permission checks: the PXB principal's operations at the node resource group
//! (install and application-cluster lists), the restore target's operations at a source
//! cluster's node resource group, and whether custom roles granting them are still new.
//! Lists come from requirements/pxb-2.8.json.

use super::roles::requirement_outcome;
use super::{Check, Evidence, Judgement, Outcome, Uses, PXB};
use crate::facts::Facts;
use crate::ids::ResourceId;
use crate::rbac::{scope, Plane, RbacData, Wanted};
use crate::requirements::{self, OperationList};
use time::Duration;

const PROPAGATION: Duration = Duration::minutes(20);

pub const PXB_INSTALL_PERMISSIONS: Check = Check {
    id: "pxb-install-permissions",
    title: "PXB principal has the install permissions on the node resource group",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: "\
Verifies that the PXB principal (--pxb-principal, default: the cluster's control-plane identity) has, at the cluster's node resource group, every operation of the PXB install list (requirements pxb-2.8; `pxb-preflight role-definition --for pxb-install` prints it as a role).
Why: PXB installs by creating and changing disks, VMs and scale-set instances, load balancers, public IPs and NSGs in the node resource group.
How: effective Azure RBAC permissions (direct, inherited, group-derived assignments; NotActions per block; deny assignments such as AKS node resource group lockdown win; conditional grants warn).
Reads: the principal's role assignments (assignedTo), the subscription's deny assignments, role definitions by GUID.
Fix: create the custom role with `pxb-preflight role-definition --for pxb-install` and `az role definition create`, then assign it on the node resource group.",
    run: |facts| node_rg_check(facts, &requirements::pxb().install, "pxb-install"),
};

pub const PXB_APP_CLUSTER_PERMISSIONS: Check = Check {
    id: "pxb-app-cluster-permissions",
    title: "PXB principal has the application-cluster permissions on the node resource group",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: "\
Verifies that the PXB principal has, at the cluster's node resource group, every operation of the PXB application-cluster list (requirements pxb-2.8; `pxb-preflight role-definition --for pxb-app-cluster`).
Why: backing up and restoring volumes snapshots disks, reads them through beginGetAccess and creates disks from snapshots.
How and reads: as pxb-install-permissions.
Fix: create the role with `pxb-preflight role-definition --for pxb-app-cluster`, then assign it on the node resource group.",
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
    Outcome::skip("no PXB principal: the cluster has no managed identity (see cluster-identity) and no --pxb-principal was given")
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
    explain: "\
With --restore-source-cluster: verifies that the checked cluster's control-plane identity has, at the source cluster's node resource group, every operation of the restore list.
List used: the Actions of --restore-role-file when given (the role you created from the PXB docs); otherwise the provisional pxb-2.8 restore list (snapshots read and beginGetAccess, disks read and write), because our copy of the PXB page lost its role JSON.
Skipped when the source cluster is in the same resource group or uses the same identity: the PXB page says the role is then not needed.
Reads: the source cluster; role and deny assignments of its subscription.
Fix: create the role (`pxb-preflight role-definition --for pxb-restore`) and assign it to the checked cluster's identity on the source's node resource group.",
    run: restore_permissions,
};

fn restore_permissions(facts: &Facts) -> Judgement {
    let Some(source_id) = &facts.target.restore_source_cluster else {
        return Ok(Outcome::skip("no restore source: pass --restore-source-cluster to check cross-resource-group restores"));
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
    explain: "\
Warns when a custom role that the PXB principal holds at its node resource group (or above) and that grants any PXB operation was created or updated less than 20 minutes before the data was read (the collection time, for a bundle).
Why: the PXB page says custom roles can take 20 minutes to apply; checks that pass on fresh roles may still fail in PXB for a while.
Reads: the principal's role assignments and their role definitions (updatedOn, createdOn).",
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
