//! Azure Backup role checks: each row of the role matrix (requirements/azure-backup.json)
//! evaluated with the RBAC evaluator, and `caller-roles` from the permissions API.
//!
//! A requirement is met by holding the role (or more) at or above the scope, or by other
//! roles that together grant every operation of it; a deny blocking any of its operations
//! fails it; a grant only through a conditional assignment warns.

use super::{Check, Evidence, Judgement, Outcome, Status, Uses, AZURE_BACKUP};
use crate::facts::Facts;
use crate::ids::ResourceId;
use crate::rbac::{caller_can, evaluate, summarize, RbacData, Requirement, Wanted};
use crate::requirements::{self, PrincipalKind, RoleNeed, ScopeKind};

const APPLY_NOTE: &str =
    "# run as Owner or User Access Administrator on the scope; new assignments can take up to 10 minutes to apply";

macro_rules! role_check {
    ($name:ident, $id:literal, $title:literal, $explain:literal) => {
        pub const $name: Check = Check {
            id: $id,
            title: $title,
            profiles: AZURE_BACKUP,
            uses: Uses::AzureBackupMatrix,
            explain: concat!(
                $explain,
                "\nHow: effective permissions per Azure RBAC (assignments at the scope or above, group-derived ones through assignedTo(), Actions minus NotActions per block, data actions apart, deny assignments win, conditions reported); met by the role itself, a superset, or roles that together grant every one of its operations.",
                "\nReads: role assignments (assignedTo the identity) and deny assignments of the scope's subscription, role definitions by GUID.",
                "\nFix: `az role assignment create --assignee-object-id <identity> --assignee-principal-type ServicePrincipal --role <role> --scope <scope>`, run by an Owner or User Access Administrator of the scope."
            ),
            run: |facts| matrix_check(facts, $id),
        };
    };
}

role_check!(ROLE_VAULT_READER_ON_CLUSTER, "role-vault-reader-on-cluster", "Backup vault has Reader on the cluster",
    "Verifies that the Backup vault's managed identity has Reader on the AKS cluster.\nWhy: the vault lists and reads the cluster to configure and run backups.");
role_check!(ROLE_VAULT_READER_ON_SNAPSHOT_RG, "role-vault-reader-on-snapshot-rg", "Backup vault has Reader on the snapshot resource group",
    "Verifies that the Backup vault's managed identity has Reader on the snapshot resource group (--snapshot-resource-group).\nWhy: the vault reads the disk snapshots kept there.");
role_check!(ROLE_CLUSTER_CONTRIBUTOR_ON_SNAPSHOT_RG, "role-cluster-contributor-on-snapshot-rg", "Cluster identity has Contributor on the snapshot resource group",
    "Verifies that the cluster's control-plane identity (system-assigned, else user-assigned; not the kubelet identity) has Contributor on the snapshot resource group.\nWhy: the cluster creates the persistent volumes' snapshots there.");
role_check!(ROLE_EXTENSION_BLOB_CONTRIBUTOR, "role-extension-blob-contributor", "Extension identity has Storage Blob Data Contributor on the storage account",
    "Verifies that the backup extension's identity (properties.aksAssignedIdentity.principalId) has Storage Blob Data Contributor on the backup storage account.\nWhy: the extension writes cluster-state backups to the blob container with Entra ID auth; Owner and Contributor grant no data actions, so they do not suffice.");
role_check!(ROLE_VAULT_DISK_SNAPSHOT_CONTRIBUTOR, "role-vault-disk-snapshot-contributor", "Backup vault has Disk Snapshot Contributor on the snapshot resource group",
    "Verifies that the Backup vault's identity has Disk Snapshot Contributor on the snapshot resource group.\nWhy: the vault accesses disk snapshots for vaulting.");
role_check!(ROLE_VAULT_DISK_DATA_OPERATOR, "role-vault-disk-data-operator", "Backup vault has Data Operator for Managed Disks on the snapshot resource group",
    "Verifies that the Backup vault's identity has Data Operator for Managed Disks (data actions only) on the snapshot resource group.\nWhy: the vault moves incremental snapshot data to the vault.");
role_check!(ROLE_VAULT_BLOB_READER, "role-vault-blob-reader", "Backup vault has Storage Blob Data Reader on the storage account",
    "Verifies that the Backup vault's identity has Storage Blob Data Reader on the backup storage account.\nWhy: the vault reads the backup blobs to move them to the vault tier.");
role_check!(ROLE_VAULT_STAGING, "role-vault-staging", "Backup vault has the vault-tier staging roles",
    "With --staging-resource-group and --staging-storage-account: the vault has Contributor on the staging resource group, and Storage Account Contributor and Storage Blob Data Owner on the staging account.\nWhy: restores from the vault tier hydrate disks and cluster state there.");

fn principal_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Vault => "the Backup vault's identity",
        PrincipalKind::Cluster => "the cluster's control-plane identity",
        PrincipalKind::Extension => "the backup extension's identity",
    }
}

/// Why a principal is not known: a `skip` naming the check that fails for it, or an `error`.
fn missing_principal(facts: &Facts, kind: PrincipalKind) -> Judgement {
    Ok(match kind {
        PrincipalKind::Vault => match &facts.vault {
            None => Outcome::skip("no Backup vault given: pass --vault"),
            Some(Err(e)) if !e.is_not_found() => return Err(e.clone()),
            Some(_) => Outcome::skip(
                "the Backup vault or its managed identity does not exist (see vault-identity)",
            ),
        },
        PrincipalKind::Cluster => {
            Outcome::skip("the cluster has no managed identity (see cluster-identity)")
        }
        PrincipalKind::Extension => {
            facts.backup_extension()?;
            Outcome::skip(
                "the backup extension or its identity does not exist (see backup-extension)",
            )
        }
    })
}

fn missing_scope(kind: ScopeKind) -> Outcome {
    Outcome::skip(match kind {
        ScopeKind::Cluster => "the cluster is not known",
        ScopeKind::SnapshotResourceGroup => "no snapshot resource group given: pass --snapshot-resource-group",
        ScopeKind::StorageAccount => "no backup storage account is known (see backup-storage-location)",
        ScopeKind::StagingResourceGroup | ScopeKind::StagingStorageAccount => {
            "no vault-tier staging resources given: pass --staging-resource-group and --staging-storage-account"
        }
    })
}

fn matrix_check(facts: &Facts, id: &str) -> Judgement {
    let needs = requirements::azure_backup().needs_of(id);
    let outcomes: Vec<Outcome> = needs
        .iter()
        .map(|need| Outcome::of(role_need(facts, need)))
        .collect();
    Ok(combine(outcomes))
}

/// Several requirements of one check: the worst status decides; messages and fixes join.
fn combine(mut outcomes: Vec<Outcome>) -> Outcome {
    if outcomes.len() == 1 {
        return outcomes.remove(0);
    }
    let rank = |s: Status| match s {
        Status::Pass => 0,
        Status::Skip => 1,
        Status::Warn => 2,
        Status::Error => 3,
        Status::Fail => 4,
    };
    let status = outcomes
        .iter()
        .map(|o| o.status)
        .max_by_key(|s| rank(*s))
        .unwrap_or(Status::Skip);
    if outcomes.iter().all(|o| o.status == Status::Skip) {
        return outcomes.remove(0);
    }
    let message = outcomes
        .iter()
        .map(|o| o.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let fixes: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.remediation.clone())
        .collect();
    Outcome {
        status,
        message,
        evidence: outcomes.into_iter().flat_map(|o| o.evidence).collect(),
        remediation: (!fixes.is_empty()).then(|| fixes.join("\n")),
    }
}

fn role_need(facts: &Facts, need: &RoleNeed) -> Judgement {
    let Some(scope) = facts.scope_of(need.scope) else {
        return Ok(missing_scope(need.scope));
    };
    let Some(principal) = facts.principal_of(need.principal) else {
        return missing_principal(facts, need.principal);
    };
    let guid = requirements::azure_backup().role_guid(&need.role);
    let role = facts
        .access
        .role_definition(facts.target.cluster.subscription(), guid)?;
    let who = format!("{} ({principal})", principal_name(need.principal));
    let fix = format!(
        "az role assignment create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --role \"{}\" --scope {scope}\n{APPLY_NOTE}",
        need.role
    );
    requirement_outcome(
        facts,
        &who,
        &principal,
        &scope,
        Wanted::Role(role),
        &need.role,
        fix,
    )
}

/// The verdict of one requirement for one principal at one scope.
pub(super) fn requirement_outcome(
    facts: &Facts,
    who: &str,
    principal: &str,
    scope: &ResourceId,
    wanted: Wanted,
    what: &str,
    fix: String,
) -> Judgement {
    let evaluation = evaluate(&facts.access, principal, scope, wanted)?;
    let scope_text = scope.as_str();
    Ok(match summarize(&evaluation.decisions) {
        Requirement::Met(bases) => {
            let mut outcome = Outcome::pass(format!("{who} has {what} at {}", scope.name()));
            for b in bases {
                let via = b.via_group.map(|g| format!(" via group {g}")).unwrap_or_default();
                outcome = outcome.evidence(Evidence::note(&b.assignment_id, "roleAssignment", format!("{} at {}{via}", b.role_name, b.scope)));
            }
            outcome
        }
        Requirement::MetConditionally(bases) => {
            let conditions: Vec<String> = bases.iter().filter_map(|b| b.condition.clone()).collect();
            let mut outcome = Outcome::warn(format!(
                "{who} has {what} at {} only through a conditional assignment: {}",
                scope.name(),
                conditions.join("; ")
            ));
            for b in bases {
                outcome = outcome.evidence(Evidence::note(&b.assignment_id, "condition", b.condition.unwrap_or_default()));
            }
            outcome
        }
        Requirement::Denied(denied) => {
            let (op, deny) = &denied[0];
            Outcome::fail(format!(
                "a deny assignment '{deny}' blocks {who} from {} of {what} at {scope_text} (e.g. {op}); deny assignments win over any role",
                count(denied.len(), "operation")
            ))
            .evidence(Evidence::new(scope_text, "denyAssignments", deny.as_str(), "none blocking"))
            .fix(format!(
                "# deny assignments are created by Azure (AKS node resource group lockdown, deployment stacks, managed apps); list them with:\naz rest --method get --url \"{scope_text}/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01\""
            ))
        }
        Requirement::Missing(missing) if !evaluation.unreadable_definitions.is_empty() => Outcome::new_error(format!(
            "cannot tell whether {who} has {what}: the role definitions {} of its assignments could not be read (needs Microsoft.Authorization/roleDefinitions/read)",
            evaluation.unreadable_definitions.join(", ")
        ))
        .evidence(Evidence::note(scope_text, "missing", missing.join(", "))),
        Requirement::Missing(missing) => {
            let groups = if evaluation.groups.is_empty() {
                String::new()
            } else {
                format!(" (groups considered: {})", evaluation.groups.join(", "))
            };
            Outcome::fail(format!(
                "{who} lacks {what} at {scope_text}: missing {}{groups}",
                list_ops(&missing)
            ))
            .evidence(Evidence::new(scope_text, "effectivePermissions", missing.join(", "), format!("all of {what}")))
            .evidence(Evidence::note(
                scope_text,
                "(how inheritance was read)",
                "assignments ARM lists for the principal in this subscription (assignedTo), including those on management groups above it; the management-group chain itself is not read",
            ))
            .fix(fix)
        }
    })
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Names every missing operation, shortening only very long lists.
fn list_ops(ops: &[String]) -> String {
    const SHOWN: usize = 12;
    if ops.len() <= SHOWN {
        ops.join(", ")
    } else {
        format!("{} and {} more", ops[..SHOWN].join(", "), ops.len() - SHOWN)
    }
}

pub const CALLER_ROLES: Check = Check {
    id: "caller-roles",
    title: "The identity running the tool can configure backup",
    profiles: AZURE_BACKUP,
    uses: Uses::AzureBackupMatrix,
    explain: "\
Verifies, through the permissions API (the caller's own effective permission blocks), that the identity running the tool can write role assignments (Microsoft.Authorization/roleAssignments/write, as Owner or User Access Administrator have) on the cluster, the snapshot resource group and the storage account, and holds every action of Backup Contributor on the vault's resource group.
Why: configuring backup assigns the roles of the matrix and creates backup instances; the prerequisites page recommends Owner on those scopes and Backup Contributor on the vault's resource group.
Reads: GET {scope}/providers/Microsoft.Authorization/permissions at each scope; the Backup Contributor definition.
Otherwise: warn, since someone else may configure backup. The permissions API does not report deny assignments or conditions.",
    run: caller_roles,
};

fn caller_roles(facts: &Facts) -> Judgement {
    let data = requirements::azure_backup();
    let mut gaps = Vec::new();
    let mut evidence = Vec::new();
    let mut checked = 0;
    for kind in &data.caller.write_scopes {
        let Some(scope) = facts.scope_of(*kind) else {
            continue;
        };
        let blocks = facts.access.caller_permissions(&scope)?;
        checked += 1;
        let can = caller_can(blocks, &data.caller.role_assignment_write);
        evidence.push(Evidence::new(
            scope.as_str(),
            &data.caller.role_assignment_write,
            can,
            true,
        ));
        if !can {
            gaps.push(format!("cannot assign roles on {}", scope.name()));
        }
    }
    if let Some(vault_rg) = facts.vault_resource_group() {
        let role = facts.access.role_definition(
            facts.target.cluster.subscription(),
            data.role_guid(&data.caller.vault_resource_group_role),
        )?;
        let blocks = facts.access.caller_permissions(&vault_rg)?;
        checked += 1;
        let missing: Vec<String> = role
            .operations()
            .into_iter()
            .filter(|(_, op, except)| {
                !blocks
                    .iter()
                    .any(|b| b.grants(crate::rbac::Plane::Control, op, except))
            })
            .map(|(_, op, _)| op.to_string())
            .collect();
        evidence.push(Evidence::new(
            vault_rg.as_str(),
            "Backup Contributor actions",
            missing.is_empty(),
            true,
        ));
        if !missing.is_empty() {
            gaps.push(format!(
                "lacks {} of Backup Contributor on {} ({})",
                count(missing.len(), "action"),
                vault_rg.name(),
                list_ops(&missing)
            ));
        }
    }
    let outcome = if checked == 0 {
        Outcome::skip(
            "no scope to check: pass --vault, --snapshot-resource-group or a storage account",
        )
    } else if gaps.is_empty() {
        Outcome::pass(format!(
            "the caller can assign the needed roles and configure backup on {}",
            count(checked, "scope")
        ))
    } else {
        Outcome::warn(format!(
            "the identity running the tool {}; an Owner of those scopes must configure backup",
            gaps.join("; ")
        ))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}
