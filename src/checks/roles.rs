//! Azure Backup role checks: each row of the role matrix (requirements/azure-backup.json)
//! evaluated with the RBAC evaluator, and `caller-roles` from the permissions API.
//!
//! A requirement is met by holding the role (or more) at or above the scope, or by other
//! roles that together grant every operation of it; a deny blocking any of its operations
//! fails it; a grant only under a condition (on the assignment, or on the role definition's
//! block for an action it targets) warns, and so does one a deny would block if the
//! principal belonged to a group it names whose membership is unread.

use super::{
    Check, Evidence, Explain, Judgement, Outcome, Read, Status, Uses, AZURE_BACKUP, VAULT_FLAG,
};
use crate::facts::{Facts, VaultIdentity};
use crate::ids::ResourceId;
use crate::rbac::{caller_can, evaluate, summarize, Condition, RbacData, Requirement, Wanted};
use crate::reads::{API_AUTHORIZATION, API_DATA_PROTECTION};
use crate::requirements::{self, PrincipalKind, RoleNeed, ScopeKind};

/// The evidence property of a requirement's missing operations.
const MISSED: &str = "effectivePermissions";

const APPLY_NOTE: &str =
    "# run as Owner or User Access Administrator on the scope; new assignments can take up to 10 minutes to apply";

/// How the role checks, and the PXB permission checks, find what a principal may do.
pub(super) const RBAC_READS: &[Read] = &[
    Read::Arm {
        call: "GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?$filter=assignedTo('{principal}')",
        api_version: API_AUTHORIZATION,
        note: "the identity's assignments in the scope's subscription, direct and through its groups",
    },
    Read::Arm {
        call: "GET /subscriptions/{sub}/providers/Microsoft.Authorization/denyAssignments",
        api_version: API_AUTHORIZATION,
        note: "the deny assignments of the scope's subscription",
    },
    Read::Arm {
        call: "GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        api_version: API_AUTHORIZATION,
        note: "each assigned role definition, by GUID",
    },
    Read::Arm {
        call: "GET {vault}/backupInstances",
        api_version: API_DATA_PROTECTION,
        note: "without --snapshot-resource-group: the vault's backup instance of this cluster names the snapshot resource group (the vault itself, without --vault, comes from the cluster's trusted access binding)",
    },
    Read::Other("GET {graph}/v1.0/directoryObjects/{principal}/transitiveMemberOf?$select=id (Microsoft Graph): the identity's groups, direct and nested, read only when a deny assignment names a principal other than all principals and the identity itself"),
];

macro_rules! role_checks {
    ($($name:ident, $id:literal, $title:literal, $verifies:literal, $why:literal;)+) => {
        $(pub const $name: Check = Check {
            id: $id,
            title: $title,
            profiles: AZURE_BACKUP,
            uses: Uses::AzureBackupMatrix,
            explain: Explain {
                verifies: $verifies,
                how: Some("effective permissions per Azure RBAC (assignments at the scope or above, group-derived ones through assignedTo(), Actions minus NotActions per block, data actions apart, deny assignments win, conditions reported); met by the role itself, a superset, or roles that together grant every one of its operations. A scope known not to exist (404 on the storage account's read, or on GET /subscriptions/{sub}/resourcegroups/{rg} for the snapshot or staging resource group, needing Microsoft.Resources/subscriptions/resourceGroups/read) is skip, even if an assignment on it is still listed; a scope whose read fails otherwise is still evaluated."),
                why: $why,
                reads: RBAC_READS,
                fix: "`az role assignment create --assignee-object-id <identity> --assignee-principal-type ServicePrincipal --role <role> --scope <scope>`, run by an Owner or User Access Administrator of the scope.",
            },
            run: |facts| matrix_check(facts, $id),
        };)+

        /// The ids of the checks above: each must name rows of the role matrix.
        #[cfg(test)]
        const MATRIX_CHECK_IDS: &[&str] = &[$($id),+];
    };
}

role_checks! {
    ROLE_VAULT_READER_ON_CLUSTER,
    "role-vault-reader-on-cluster",
    "Backup vault has Reader on the cluster",
    "the Backup vault's managed identity has Reader on the AKS cluster.",
    "the vault lists and reads the cluster to configure and run backups.";
    ROLE_VAULT_READER_ON_SNAPSHOT_RG,
    "role-vault-reader-on-snapshot-rg",
    "Backup vault has Reader on the snapshot resource group",
    "the Backup vault's managed identity has Reader on the snapshot resource group (--snapshot-resource-group).",
    "the vault reads the disk snapshots kept there.";
    ROLE_CLUSTER_CONTRIBUTOR_ON_SNAPSHOT_RG,
    "role-cluster-contributor-on-snapshot-rg",
    "Cluster identity has Contributor on the snapshot resource group",
    "the cluster's control-plane identity (system-assigned, else user-assigned; not the kubelet identity) has Contributor on the snapshot resource group.",
    "the cluster creates the persistent volumes' snapshots there.";
    ROLE_EXTENSION_BLOB_CONTRIBUTOR,
    "role-extension-blob-contributor",
    "Extension identity has Storage Blob Data Contributor on the storage account",
    "the backup extension's identity (properties.aksAssignedIdentity.principalId) has Storage Blob Data Contributor on the backup storage account.",
    "the extension writes cluster-state backups to the blob container with Entra ID auth; Owner and Contributor grant no data actions, so they do not suffice.";
    ROLE_VAULT_DISK_SNAPSHOT_CONTRIBUTOR,
    "role-vault-disk-snapshot-contributor",
    "Backup vault has Disk Snapshot Contributor on the snapshot resource group",
    "the Backup vault's identity has Disk Snapshot Contributor on the snapshot resource group.",
    "the vault accesses disk snapshots for vaulting.";
    ROLE_VAULT_DISK_DATA_OPERATOR,
    "role-vault-disk-data-operator",
    "Backup vault has Data Operator for Managed Disks on the snapshot resource group",
    "the Backup vault's identity has Data Operator for Managed Disks (data actions only) on the snapshot resource group.",
    "the vault moves incremental snapshot data to the vault.";
    ROLE_VAULT_BLOB_READER,
    "role-vault-blob-reader",
    "Backup vault has Storage Blob Data Reader on the storage account",
    "the Backup vault's identity has Storage Blob Data Reader on the backup storage account.",
    "the vault reads the backup blobs to move them to the vault tier.";
    ROLE_VAULT_STAGING,
    "role-vault-staging",
    "Backup vault has the vault-tier staging roles",
    "with --staging-resource-group and --staging-storage-account: the vault has Contributor on the staging resource group, and Storage Account Contributor and Storage Blob Data Owner on the staging account.",
    "restores from the vault tier hydrate disks and cluster state there.";
}

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
            None => Outcome::missing_input(VAULT_FLAG, "no Backup vault given: pass --vault"),
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
    match kind {
        ScopeKind::Cluster => Outcome::skip("the cluster is not known"),
        ScopeKind::SnapshotResourceGroup => Outcome::missing_input(&["--snapshot-resource-group"], "no snapshot resource group given: pass --snapshot-resource-group"),
        ScopeKind::StorageAccount => Outcome::skip("no backup storage account is known (see backup-storage-location)"),
        ScopeKind::StagingResourceGroup | ScopeKind::StagingStorageAccount => Outcome::missing_input(
            &["--staging-resource-group", "--staging-storage-account"],
            "no vault-tier staging resources given: pass --staging-resource-group and --staging-storage-account",
        ),
    }
}

/// A skip for a scope whose read answered 404: no role can be held on it.
fn absent_scope(kind: ScopeKind, scope: &ResourceId) -> Outcome {
    let (what, see) = match kind {
        ScopeKind::Cluster => ("the cluster", "cluster-state"),
        ScopeKind::StorageAccount => ("the backup storage account", "see backup-storage-location"),
        ScopeKind::SnapshotResourceGroup => (
            "the snapshot resource group",
            "create it, or pass the right --snapshot-resource-group",
        ),
        ScopeKind::StagingResourceGroup => (
            "the staging resource group",
            "create it, or pass the right --staging-resource-group",
        ),
        ScopeKind::StagingStorageAccount => (
            "the staging storage account",
            "create it, or pass the right --staging-storage-account",
        ),
    };
    Outcome::skip(format!(
        "{what} {} does not exist ({see}); a role on it grants nothing",
        scope.name()
    ))
    .evidence(Evidence::new(scope.as_str(), "exists", false, true))
}

fn matrix_check(facts: &Facts, id: &str) -> Judgement {
    let needs = requirements::azure_backup().needs_of(id);
    let vault_identities = facts.vault_identities();
    let uses_vault = needs.iter().any(|n| n.principal == PrincipalKind::Vault);
    if !uses_vault || vault_identities.len() < 2 {
        return Ok(needs_outcome(facts, &needs, vault_identities.first()));
    }
    // Several user-assigned identities, none chosen: the check holds when one of them
    // holds every role it needs (checks.md §6).
    let mut candidates: Vec<Outcome> = vault_identities
        .iter()
        .map(|identity| needs_outcome(facts, &needs, Some(identity)))
        .collect();
    // Closest first: the least severe verdict, then the fewest requirements missed.
    candidates.sort_by_key(|o| {
        (
            o.status,
            o.evidence.iter().filter(|e| e.property == MISSED).count(),
        )
    });
    let closest = candidates.remove(0);
    // A skip (no scope to evaluate) is the same for every identity.
    if matches!(closest.status, Status::Pass | Status::Skip) {
        return Ok(closest);
    }
    let message = format!(
        "none of the vault's {} identities holds every role this check needs: {}",
        candidates.len() + 1,
        std::iter::once(&closest)
            .chain(&candidates)
            .map(|o| o.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(Outcome {
        message,
        evidence: std::iter::once(closest.evidence)
            .chain(candidates.into_iter().map(|o| o.evidence))
            .flatten()
            .collect(),
        ..closest
    })
}

/// Every requirement of a check, with the vault's requirements evaluated for
/// `vault_identity`; a user-assigned identity is named in the evidence.
fn needs_outcome(
    facts: &Facts,
    needs: &[&RoleNeed],
    vault_identity: Option<&VaultIdentity>,
) -> Outcome {
    let outcome = combine(
        needs
            .iter()
            .map(|need| Outcome::of(role_need(facts, need, vault_identity)))
            .collect(),
    );
    let user_assigned = vault_identity.and_then(|i| Some((i.resource_id.as_deref()?, i)));
    match user_assigned {
        Some((resource, identity)) if outcome.status != Status::Skip => outcome.evidence(
            Evidence::note(resource, "principalId", identity.principal_id.as_str()),
        ),
        _ => outcome,
    }
}

/// The principal a requirement is evaluated for, and how messages name it.
fn subject(
    facts: &Facts,
    kind: PrincipalKind,
    vault_identity: Option<&VaultIdentity>,
) -> Option<(String, String)> {
    if kind != PrincipalKind::Vault {
        let principal = facts.principals_of(kind).pop()?;
        return Some((
            principal.clone(),
            format!("{} ({principal})", principal_name(kind)),
        ));
    }
    let identity = vault_identity?;
    let principal = identity.principal_id.clone();
    let who = match &identity.resource_id {
        Some(_) => format!(
            "the Backup vault's user-assigned identity {} ({principal})",
            identity.short_name()
        ),
        None => format!("{} ({principal})", principal_name(kind)),
    };
    Some((principal, who))
}

/// Several requirements of one check: the most severe status decides; messages and fixes join.
fn combine(mut outcomes: Vec<Outcome>) -> Outcome {
    let Some(status) = outcomes.iter().map(|o| o.status).max() else {
        return Outcome::skip("no requirement of the role matrix applies to this check");
    };
    if outcomes.len() == 1 || outcomes.iter().all(|o| o.status == Status::Skip) {
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
        skip: None,
    }
}

fn role_need(facts: &Facts, need: &RoleNeed, vault_identity: Option<&VaultIdentity>) -> Judgement {
    let Some(scope) = facts.scope_of(need.scope) else {
        return Ok(missing_scope(need.scope));
    };
    if facts.scope_is_absent(need.scope) {
        return Ok(absent_scope(need.scope, &scope));
    }
    let Some((principal, who)) = subject(facts, need.principal, vault_identity) else {
        return missing_principal(facts, need.principal);
    };
    let guid = requirements::azure_backup().role_guid(&need.role);
    let role = facts
        .access
        .role_definition(facts.target.cluster.subscription(), guid)?;
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
            let conditions: Vec<String> = bases.iter().filter_map(|b| b.describe_condition()).collect();
            let mut outcome = Outcome::warn(format!(
                "{who} has {what} at {} only under a condition: {}",
                scope.name(),
                conditions.join("; ")
            ));
            for b in bases {
                let (site, text) = match &b.condition {
                    Some(c @ Condition::OnAssignment(_)) => ("condition on the assignment", c.text()),
                    Some(c) => ("condition on the role definition", c.text()),
                    None => continue,
                };
                outcome = outcome.evidence(Evidence::note(&b.assignment_id, site, text));
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
                "# deny assignments are created by Azure (AKS node resource group lockdown, deployment stacks, managed apps); list them with:\naz rest --method get --url \"{scope_text}/providers/Microsoft.Authorization/denyAssignments?api-version={API_AUTHORIZATION}\""
            ))
        }
        Requirement::PossiblyDenied(possibly_denied) => {
            let (op, deny, group) = &possibly_denied[0];
            let why = match facts.access.group_memberships(principal) {
                Err(unread) => unread.describe(),
                Ok(_) => "they were not read".to_string(),
            };
            Outcome::warn(format!(
                "{who} has {what} at {}, but a deny assignment '{deny}' names {group} and the identity's groups are unknown ({why}): if it is a member of {group}, the deny blocks {} of {what} (e.g. {op})",
                scope.name(),
                count(possibly_denied.len(), "operation")
            ))
            .evidence(Evidence::new(scope_text, "denyAssignments", format!("{deny} (names {group})"), "none blocking"))
            .fix(format!(
                "# let the identity running the tool read group memberships in Microsoft Graph (GroupMember.Read.All or Directory.Read.All), or check by hand (the Graph host of the current cloud):\naz rest --method get --url \"$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)v1.0/directoryObjects/{principal}/transitiveMemberOf?\\$select=id\""
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
            .evidence(Evidence::new(scope_text, MISSED, missing.join(", "), format!("all of {what}")))
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
    explain: Explain {
        verifies: "the identity running the tool can write role assignments (Microsoft.Authorization/roleAssignments/write, as Owner or User Access Administrator have) on the cluster, the snapshot resource group and the storage account; can install the backup extension and enable Trusted Access on the cluster (Microsoft.KubernetesConfiguration/extensions/write and Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/write, which Owner has); and holds every action of Backup Contributor on the vault's resource group, through the permissions API (the caller's own effective permission blocks). Otherwise: warn, since someone else may configure backup. The permissions API does not report deny assignments or conditions.",
        how: None,
        why: "configuring backup installs the extension, binds the vault to the cluster through Trusted Access, assigns the roles of the matrix and creates backup instances; the prerequisites page recommends Owner on the cluster and those scopes and Backup Contributor on the vault's resource group.",
        reads: &[
            Read::Arm {
                call: "GET {scope}/providers/Microsoft.Authorization/permissions",
                api_version: API_AUTHORIZATION,
                note: "at each scope",
            },
            Read::Arm {
                call: "GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                api_version: API_AUTHORIZATION,
                note: "the Backup Contributor definition",
            },
        ],
        fix: "have an Owner of those scopes configure backup, or give the identity running the tool Owner (or User Access Administrator) on them and Backup Contributor on the vault's resource group.",
    },
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
        if *kind == ScopeKind::Cluster {
            for operation in &data.caller.cluster_operations {
                let can = caller_can(blocks, operation);
                evidence.push(Evidence::new(scope.as_str(), operation, can, true));
                if !can {
                    gaps.push(format!("lacks {operation} on {}", scope.name()));
                }
            }
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
        Outcome::missing_input(
            &["--vault", "--snapshot-resource-group", "--storage-account"],
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

#[cfg(test)]
mod tests {
    use super::super::testing::{
        deny_assignment, role_assignment, role_definition, Scenario, CLUSTER, VAULT,
    };
    use super::super::{find, Status};
    use super::*;
    use crate::reads::ArmRead;
    use serde_json::{json, Value};

    const VAULT_PRINCIPAL: &str = "33333333-3333-3333-3333-333333333333";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const BACKUP_CONTRIBUTOR: &str = "5e467623-bb1f-42f4-a55d-6e525e11384b";

    fn assignments_read(principal: &str) -> ArmRead {
        ArmRead::RoleAssignments {
            subscription: "sub1".into(),
            principal: principal.into(),
        }
    }

    fn definition_read(guid: &str) -> ArmRead {
        ArmRead::RoleDefinition {
            subscription: "sub1".into(),
            guid: guid.into(),
        }
    }

    /// A vault with a managed identity, the Reader definition, and the vault's assignments.
    fn vault_with(assignments: Vec<Value>, denies: Vec<Value>) -> Scenario {
        let mut s = Scenario::new();
        s.target.vault = Some(VAULT.into());
        let vault = s.target_ids().vault.unwrap();
        s.set(
            &ArmRead::Vault(vault),
            json!({"id": VAULT, "name": "vault1", "location": "eastus",
                   "identity": {"type": "SystemAssigned", "principalId": VAULT_PRINCIPAL}}),
        );
        s.set(
            &definition_read(READER),
            role_definition(READER, "Reader", "BuiltInRole", &["*/read"]),
        );
        s.set(
            &assignments_read(VAULT_PRINCIPAL),
            json!({ "value": assignments }),
        );
        s.set(
            &ArmRead::DenyAssignments {
                subscription: "sub1".into(),
            },
            json!({ "value": denies }),
        );
        s
    }

    fn reader_on_cluster(s: &Scenario) -> Outcome {
        ROLE_VAULT_READER_ON_CLUSTER.judge(&s.facts())
    }

    #[test]
    fn a_role_held_at_the_scope_passes() {
        let s = vault_with(
            vec![role_assignment("a1", VAULT_PRINCIPAL, READER, CLUSTER)],
            Vec::new(),
        );
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert_eq!(
            o.message,
            format!("the Backup vault's identity ({VAULT_PRINCIPAL}) has Reader at aks1")
        );
        // Held on the subscription above the cluster counts too.
        let above = vault_with(
            vec![role_assignment(
                "a2",
                VAULT_PRINCIPAL,
                READER,
                "/subscriptions/sub1",
            )],
            Vec::new(),
        );
        assert_eq!(reader_on_cluster(&above).status, Status::Pass);
    }

    #[test]
    fn a_missing_role_fails_with_the_assignment_command() {
        let o = reader_on_cluster(&vault_with(Vec::new(), Vec::new()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.starts_with(&format!("the Backup vault's identity ({VAULT_PRINCIPAL}) lacks Reader at {CLUSTER}: missing */read")), "{}", o.message);
        assert_eq!(
            o.remediation.unwrap(),
            format!("az role assignment create --assignee-object-id {VAULT_PRINCIPAL} --assignee-principal-type ServicePrincipal --role \"Reader\" --scope {CLUSTER}\n{APPLY_NOTE}")
        );
    }

    #[test]
    fn a_deny_assignment_fails_and_a_conditional_grant_warns() {
        let denied = vault_with(
            vec![role_assignment("a1", VAULT_PRINCIPAL, READER, CLUSTER)],
            vec![deny_assignment("lockdown", VAULT_PRINCIPAL, &["*/read"])],
        );
        let o = reader_on_cluster(&denied);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(
            o.message.contains("a deny assignment 'lockdown' blocks"),
            "{}",
            o.message
        );
        assert_eq!(
            o.remediation.unwrap(),
            format!("# deny assignments are created by Azure (AKS node resource group lockdown, deployment stacks, managed apps); list them with:\naz rest --method get --url \"{CLUSTER}/providers/Microsoft.Authorization/denyAssignments?api-version={API_AUTHORIZATION}\"")
        );
        let mut conditional = role_assignment("a1", VAULT_PRINCIPAL, READER, CLUSTER);
        conditional["properties"]["condition"] = json!("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x'");
        let o = reader_on_cluster(&vault_with(vec![conditional], Vec::new()));
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message.contains("has Reader at aks1 only under a condition: the assignment of Reader carries a condition that restricts every operation it grants: @Resource["),
            "{}",
            o.message
        );
        assert_eq!(o.evidence[0].property, "condition on the assignment");
    }

    /// The vault holds, at the cluster, a role whose one block grants `*/read` and role
    /// assignment writes under `condition`.
    fn vault_with_conditioned_definition(condition: &str) -> Scenario {
        const DELEGATOR: &str = "44444444-4444-4444-4444-444444444444";
        let mut s = vault_with(
            vec![role_assignment("a1", VAULT_PRINCIPAL, DELEGATOR, CLUSTER)],
            Vec::new(),
        );
        let mut definition = role_definition(
            DELEGATOR,
            "Delegator",
            "CustomRole",
            &["*/read", "Microsoft.Authorization/roleAssignments/write"],
        );
        definition["properties"]["permissions"][0]["conditionVersion"] = json!("2.0");
        definition["properties"]["permissions"][0]["condition"] = json!(condition);
        s.set(&definition_read(DELEGATOR), definition);
        s
    }

    #[test]
    fn a_role_definition_condition_warns_only_for_the_actions_it_targets() {
        let untargeted = vault_with_conditioned_definition("((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{1c0163c0-47e6-4577-8991-ea5c82e286e4}))");
        let o = reader_on_cluster(&untargeted);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert_eq!(
            o.message,
            format!("the Backup vault's identity ({VAULT_PRINCIPAL}) has Reader at aks1")
        );

        let targeted = vault_with_conditioned_definition("((!(ActionMatches{'Microsoft.Compute/disks/read'})) OR (@Resource[Microsoft.Compute/disks:name] StringEquals 'x'))");
        let o = reader_on_cluster(&targeted);
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message.contains("has Reader at aks1 only under a condition: the definition of Delegator carries a condition on its permission block that restricts Microsoft.Compute/disks/read: ((!(ActionMatches"),
            "{}",
            o.message
        );
        assert!(!o.message.contains("assignment"), "{}", o.message);
        assert_eq!(o.evidence[0].property, "condition on the role definition");
    }

    const SNAPSHOT_RG: &str = "/subscriptions/sub1/resourceGroups/rg-snapshots";

    /// The vault holds Reader on the whole subscription; the snapshot resource group is named.
    fn vault_reader_on_subscription_with_snapshot_group() -> Scenario {
        let mut s = vault_with(
            vec![role_assignment(
                "a1",
                VAULT_PRINCIPAL,
                READER,
                "/subscriptions/sub1",
            )],
            Vec::new(),
        );
        s.target.snapshot_resource_group = Some(SNAPSHOT_RG.into());
        s
    }

    fn snapshot_group_read() -> ArmRead {
        ArmRead::ResourceGroup(crate::ids::ResourceId::parse(SNAPSHOT_RG).unwrap())
    }

    #[test]
    fn a_role_on_a_scope_that_does_not_exist_skips() {
        let mut s = vault_reader_on_subscription_with_snapshot_group();
        s.fail(&snapshot_group_read(), 404, "ResourceGroupNotFound");
        let o = ROLE_VAULT_READER_ON_SNAPSHOT_RG.judge(&s.facts());
        assert_eq!(o.status, Status::Skip, "{}", o.message);
        assert_eq!(
            o.message,
            "the snapshot resource group rg-snapshots does not exist (create it, or pass the right --snapshot-resource-group); a role on it grants nothing"
        );

        // The backup storage account (--storage-account while no extension names one).
        let account = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/acct1";
        let blob_reader = requirements::azure_backup().role_guid("Storage Blob Data Reader");
        let mut s = vault_with(
            vec![role_assignment(
                "a1",
                VAULT_PRINCIPAL,
                blob_reader,
                "/subscriptions/sub1",
            )],
            Vec::new(),
        );
        s.target.storage_account = Some(account.into());
        s.fail(
            &ArmRead::StorageAccount(crate::ids::ResourceId::parse(account).unwrap()),
            404,
            "ResourceNotFound",
        );
        let o = ROLE_VAULT_BLOB_READER.judge(&s.facts());
        assert_eq!(o.status, Status::Skip, "{}", o.message);
        assert!(
            o.message.starts_with(
                "the backup storage account acct1 does not exist (see backup-storage-location)"
            ),
            "{}",
            o.message
        );
    }

    #[test]
    fn staging_resources_that_do_not_exist_skip() {
        let group = "/subscriptions/sub1/resourceGroups/rg-staging";
        let account = "/subscriptions/sub1/resourceGroups/rg-staging/providers/Microsoft.Storage/storageAccounts/ststaging";
        let mut s = vault_with(Vec::new(), Vec::new());
        s.target.staging_resource_group = Some(group.into());
        s.target.staging_storage_account = Some(account.into());
        let id = |text| crate::ids::ResourceId::parse(text).unwrap();
        s.fail(
            &ArmRead::ResourceGroup(id(group)),
            404,
            "ResourceGroupNotFound",
        );
        s.fail(
            &ArmRead::StorageAccount(id(account)),
            404,
            "ResourceNotFound",
        );
        let o = ROLE_VAULT_STAGING.judge(&s.facts());
        assert_eq!(o.status, Status::Skip, "{}", o.message);
        assert!(
            o.message
                .starts_with("the staging resource group rg-staging does not exist"),
            "{}",
            o.message
        );
    }

    #[test]
    fn a_scope_of_unknown_existence_is_still_evaluated() {
        // Not read (a bundle collected before the read existed), or unreadable (403).
        let unread = vault_reader_on_subscription_with_snapshot_group();
        let mut forbidden = vault_reader_on_subscription_with_snapshot_group();
        forbidden.fail(&snapshot_group_read(), 403, "AuthorizationFailed");
        let mut present = vault_reader_on_subscription_with_snapshot_group();
        present.set(
            &snapshot_group_read(),
            json!({"id": SNAPSHOT_RG, "name": "rg-snapshots", "location": "eastus",
                   "properties": {"provisioningState": "Succeeded"}}),
        );
        for s in [unread, forbidden, present] {
            let o = ROLE_VAULT_READER_ON_SNAPSHOT_RG.judge(&s.facts());
            assert_eq!(o.status, Status::Pass, "{}", o.message);
        }
    }

    #[test]
    fn a_deny_naming_a_group_fails_a_member_and_warns_while_memberships_are_unknown() {
        const GROUP: &str = "4444abcd-4444-4444-8444-44444444abcd";
        let with_group_deny = || {
            let mut deny = deny_assignment("group lockdown", GROUP, &["*/read"]);
            deny["properties"]["principals"][0]["type"] = json!("Group");
            vault_with(
                vec![role_assignment("a1", VAULT_PRINCIPAL, READER, CLUSTER)],
                vec![deny],
            )
        };
        let groups_read = ArmRead::GroupMemberships(VAULT_PRINCIPAL.into());
        // Not collected (a bundle without Graph reads): warn, naming the deny and the group.
        let o = reader_on_cluster(&with_group_deny());
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        for expected in ["'group lockdown'", GROUP, "not in the collected data"] {
            assert!(o.message.contains(expected), "{expected}: {}", o.message);
        }
        // Graph lists the group: the deny applies.
        let mut member = with_group_deny();
        member.set(
            &groups_read,
            json!({"value": [{"id": GROUP.to_uppercase()}]}),
        );
        let o = reader_on_cluster(&member);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(o
            .message
            .contains("a deny assignment 'group lockdown' blocks"));
        // Graph lists other groups only: the deny does not apply.
        let mut outside = with_group_deny();
        outside.set(
            &groups_read,
            json!({"value": [{"id": "55555555-5555-5555-5555-555555555555"}]}),
        );
        assert_eq!(reader_on_cluster(&outside).status, Status::Pass);
    }

    #[test]
    fn missing_inputs_skip_and_unreadable_assignments_are_an_error() {
        let o = reader_on_cluster(&Scenario::new());
        assert_eq!(o.status, Status::Skip);
        assert_eq!(o.message, "no Backup vault given: pass --vault");
        let o = ROLE_VAULT_READER_ON_SNAPSHOT_RG.judge(&vault_with(Vec::new(), Vec::new()).facts());
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("--snapshot-resource-group"));
        let mut s = vault_with(Vec::new(), Vec::new());
        s.fail(
            &assignments_read(VAULT_PRINCIPAL),
            403,
            "AuthorizationFailed",
        );
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Error);
        assert!(
            o.message
                .contains("Microsoft.Authorization/roleAssignments/read"),
            "{}",
            o.message
        );
    }

    const UAI_A: &str = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a";
    const UAI_B: &str = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-b";
    const UAI_A_P: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
    const UAI_B_P: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

    /// `vault_with`'s vault, its identity replaced by user-assigned ones with these assignments.
    fn user_assigned_vault(identities: &[(&str, &str, Vec<Value>)]) -> Scenario {
        let mut s = vault_with(Vec::new(), Vec::new());
        let map: serde_json::Map<String, Value> = identities
            .iter()
            .map(|(id, principal, _)| {
                (
                    id.to_string(),
                    json!({"principalId": principal, "clientId": "c"}),
                )
            })
            .collect();
        s.set(
            &ArmRead::Vault(s.target_ids().vault.unwrap()),
            json!({"id": VAULT, "location": "eastus",
                   "identity": {"type": "UserAssigned", "userAssignedIdentities": map}}),
        );
        for (_, principal, assignments) in identities {
            s.set(
                &assignments_read(principal),
                json!({ "value": assignments }),
            );
        }
        s
    }

    #[test]
    fn a_user_assigned_identity_is_evaluated_and_named() {
        let s = user_assigned_vault(&[(
            UAI_A,
            UAI_A_P,
            vec![role_assignment("a1", UAI_A_P, READER, CLUSTER)],
        )]);
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert_eq!(
            o.message,
            format!(
                "the Backup vault's user-assigned identity id-a ({UAI_A_P}) has Reader at aks1"
            )
        );
        assert!(o
            .evidence
            .contains(&Evidence::note(UAI_A, "principalId", UAI_A_P)));
    }

    #[test]
    fn with_several_identities_one_must_hold_every_role_of_the_check() {
        // Only the second identity holds the role: it passes, and only it is named.
        let s = user_assigned_vault(&[
            (UAI_A, UAI_A_P, Vec::new()),
            (
                UAI_B,
                UAI_B_P,
                vec![role_assignment("b1", UAI_B_P, READER, CLUSTER)],
            ),
        ]);
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert!(o.message.contains(UAI_B_P), "{}", o.message);
        assert!(
            !format!("{:?}", o.evidence).contains(UAI_A_P),
            "{:?}",
            o.evidence
        );
        // Neither does: each is named, the closest first (a conditional grant is closer
        // than none), and the fix assigns the role to the closest.
        let mut conditional = role_assignment("b1", UAI_B_P, READER, CLUSTER);
        conditional["properties"]["condition"] = json!("@Resource[x] StringEquals 'y'");
        let s = user_assigned_vault(&[
            (UAI_A, UAI_A_P, Vec::new()),
            (UAI_B, UAI_B_P, vec![conditional]),
        ]);
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message.starts_with(&format!(
                "none of the vault's 2 identities holds every role this check needs: the Backup vault's user-assigned identity id-b ({UAI_B_P}) has Reader at aks1 only under a condition: the assignment of Reader carries a condition"
            )),
            "{}",
            o.message
        );
        assert!(
            o.message.ends_with(&format!("; the Backup vault's user-assigned identity id-a ({UAI_A_P}) lacks Reader at {CLUSTER}: missing */read")),
            "{}",
            o.message
        );
        let s = user_assigned_vault(&[(UAI_A, UAI_A_P, Vec::new()), (UAI_B, UAI_B_P, Vec::new())]);
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Fail);
        assert!(o
            .remediation
            .unwrap()
            .contains(&format!("--assignee-object-id {UAI_A_P} ")));
        // One identity's assignments cannot be read: whether the check holds is unknown.
        let mut s =
            user_assigned_vault(&[(UAI_A, UAI_A_P, Vec::new()), (UAI_B, UAI_B_P, Vec::new())]);
        s.fail(&assignments_read(UAI_B_P), 403, "AuthorizationFailed");
        assert_eq!(reader_on_cluster(&s).status, Status::Error);
    }

    #[test]
    fn vault_identity_picks_the_identity_evaluated() {
        let mut s = user_assigned_vault(&[
            (
                UAI_A,
                UAI_A_P,
                vec![role_assignment("a1", UAI_A_P, READER, CLUSTER)],
            ),
            (UAI_B, UAI_B_P, Vec::new()),
        ]);
        s.target.vault_identity = Some(UAI_B.into());
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(!o.message.contains(UAI_A_P), "{}", o.message);
        s.target.vault_identity = Some("SystemAssigned".into());
        let o = reader_on_cluster(&s);
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("(see vault-identity)"), "{}", o.message);
    }

    fn caller(blocks: Value) -> Scenario {
        let mut s = vault_with(Vec::new(), Vec::new());
        s.set(
            &definition_read(BACKUP_CONTRIBUTOR),
            role_definition(
                BACKUP_CONTRIBUTOR,
                "Backup Contributor",
                "BuiltInRole",
                &[
                    "Microsoft.DataProtection/*",
                    "Microsoft.Resources/deployments/*",
                ],
            ),
        );
        let cluster = s.target_ids().cluster;
        let vault_group =
            crate::ids::ResourceId::parse("/subscriptions/sub1/resourceGroups/rg-backup").unwrap();
        for scope in [cluster, vault_group] {
            s.set(
                &ArmRead::Permissions(scope),
                json!({"value": [blocks.clone()]}),
            );
        }
        s
    }

    #[test]
    fn caller_roles_pass_for_an_owner_warn_for_a_reader_and_error_on_403() {
        let owner = caller(
            json!({"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}),
        );
        let o = CALLER_ROLES.judge(&owner.facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert_eq!(
            o.message,
            "the caller can assign the needed roles and configure backup on 2 scopes"
        );
        let reader = caller(json!({"actions": ["*/read"], "notActions": []}));
        let o = CALLER_ROLES.judge(&reader.facts());
        assert_eq!(o.status, Status::Warn);
        assert!(
            o.message.contains(
                "cannot assign roles on aks1; lacks Microsoft.KubernetesConfiguration/extensions/write on aks1; lacks Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/write on aks1; lacks 2 actions of Backup Contributor on rg-backup"
            ),
            "{}",
            o.message
        );
        let mut denied = owner;
        denied.fail(
            &ArmRead::Permissions(denied.target_ids().cluster),
            403,
            "AuthorizationFailed",
        );
        assert_eq!(CALLER_ROLES.judge(&denied.facts()).status, Status::Error);
    }

    #[test]
    fn caller_roles_warn_naming_each_install_operation_the_caller_lacks_on_the_cluster() {
        for lacking in [
            "Microsoft.KubernetesConfiguration/extensions/write",
            "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/write",
        ] {
            // Everything an Owner has, except the one operation that installs backup.
            let s = caller(json!({"actions": ["*"], "notActions": [lacking]}));
            let o = CALLER_ROLES.judge(&s.facts());
            assert_eq!(o.status, Status::Warn, "{lacking}: {}", o.message);
            assert!(
                o.message.contains(&format!("lacks {lacking} on aks1")),
                "{}",
                o.message
            );
            assert!(
                o.evidence.iter().any(|e| e.property == lacking),
                "no evidence names {lacking}"
            );
        }
    }

    #[test]
    fn the_role_matrix_and_the_role_checks_name_each_other() {
        let data = requirements::azure_backup();
        for need in &data.matrix {
            assert!(
                find(&need.check).is_some_and(|c| c.id == need.check),
                "the matrix names '{}', which is no check",
                need.check
            );
            assert!(
                MATRIX_CHECK_IDS.contains(&need.check.as_str()),
                "'{}' does not evaluate the matrix",
                need.check
            );
        }
        for id in MATRIX_CHECK_IDS {
            assert!(!data.needs_of(id).is_empty(), "no matrix row for {id}");
        }
    }

    #[test]
    fn combining_nothing_is_a_skip() {
        let outcome = combine(Vec::new());
        assert_eq!(outcome.status, Status::Skip);
        assert!(outcome.message.contains("no requirement"));
    }

    #[test]
    fn the_most_severe_requirement_decides() {
        let outcome = combine(vec![
            Outcome::pass("a"),
            Outcome::fail("b").fix("fix b"),
            Outcome::new_error("c"),
            Outcome::skip("d"),
        ]);
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.message, "a; b; c; d");
        assert_eq!(outcome.remediation.as_deref(), Some("fix b"));
        let skips = combine(vec![Outcome::skip("first"), Outcome::skip("second")]);
        assert_eq!(
            (skips.status, skips.message.as_str()),
            (Status::Skip, "first")
        );
        assert_eq!(
            combine(vec![Outcome::warn("w"), Outcome::skip("s")]).status,
            Status::Warn
        );
    }
}
