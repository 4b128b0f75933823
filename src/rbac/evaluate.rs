//! Evaluation of one requirement: gathers a principal's RBAC data for a scope (its
//! assignments, the denies of the scope's subscription, the role definitions those
//! assignments name, its group memberships when they were read) from an [`RbacData`]
//! source and decides each wanted operation.
//!
//! Pure: the data comes from the source already parsed; nothing here reads or parses.

use super::{
    scope, Decision, DenyAssignment, PermissionBlock, Plane, Principal, Rbac, RoleAssignment,
    RoleDefinition,
};
use crate::ids::ResourceId;
use std::collections::HashMap;

/// The RBAC data of a run, as it was read: what [`evaluate`] looks up.
pub trait RbacData {
    /// Why a piece of data is not known (a read that failed or was not made).
    type Error;
    /// The assignments ARM lists for `principal` (directly or through groups) in a subscription.
    fn role_assignments(
        &self,
        subscription: &str,
        principal: &str,
    ) -> Result<&[RoleAssignment], Self::Error>;
    /// The deny assignments at, above and below a subscription.
    fn deny_assignments(&self, subscription: &str) -> Result<&[DenyAssignment], Self::Error>;
    /// Every group `principal` belongs to, directly or through other groups (Microsoft Graph).
    fn group_memberships(&self, principal: &str) -> Result<&[String], Self::Error>;
    /// A role definition by GUID, read through `subscription` (or any fallback the source has).
    fn role_definition(
        &self,
        subscription: &str,
        guid: &str,
    ) -> Result<&RoleDefinition, Self::Error>;
}

/// What a requirement asks for.
pub enum Wanted<'a> {
    Role(&'a RoleDefinition),
    Operations(&'a [String]),
}

/// The per-operation decisions for one principal at one scope, with what they rest on.
pub struct Evaluation {
    pub decisions: Vec<(String, Decision)>,
    /// Groups the principal belongs to, as far as its assignments reveal them.
    pub groups: Vec<String>,
    /// Role definitions named by assignments that could not be read (their grants are unknown).
    pub unreadable_definitions: Vec<String>,
}

/// Evaluates `wanted` for `principal` at `scope`, from the principal's assignments and
/// the deny assignments of the scope's subscription.
pub fn evaluate<D: RbacData>(
    data: &D,
    principal: &str,
    scope: &ResourceId,
    wanted: Wanted,
) -> Result<Evaluation, D::Error> {
    let subscription = scope.subscription();
    let assignments = data.role_assignments(subscription, principal)?;
    let denies = data.deny_assignments(subscription)?;
    let mut definitions = HashMap::new();
    let mut unreadable_definitions = Vec::new();
    for guid in assignments.iter().map(|a| &a.role_guid) {
        match data.role_definition(subscription, guid) {
            Ok(def) => {
                definitions.insert(guid.clone(), def.clone());
            }
            Err(_) => unreadable_definitions.push(guid.clone()),
        }
    }
    unreadable_definitions.sort();
    unreadable_definitions.dedup();
    let groups: Vec<String> = assignments
        .iter()
        .filter(|a| {
            a.principal_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
        })
        .map(|a| a.principal_id.clone())
        .collect();
    // ARM lists only assignments and denies that apply to the subscription, so the
    // management groups they sit on are the subscription's ancestors.
    let management_groups: Vec<String> = assignments
        .iter()
        .map(|a| &a.scope)
        .chain(denies.iter().map(|d| &d.scope))
        .filter(|s| scope::is_management_group(s))
        .cloned()
        .collect();
    let rbac = Rbac {
        assignments,
        definitions: &definitions,
        denies,
        management_groups: &management_groups,
    };
    let memberships = data.group_memberships(principal).ok();
    let who = Principal {
        id: principal.to_string(),
        groups: groups
            .iter()
            .chain(memberships.into_iter().flatten())
            .cloned()
            .collect(),
        groups_complete: memberships.is_some(),
    };
    let decisions = match wanted {
        Wanted::Role(role) => rbac.check_role(&who, role, scope.as_str()),
        Wanted::Operations(ops) => rbac.check_operations(&who, ops, scope.as_str()),
    };
    Ok(Evaluation {
        decisions,
        groups,
        unreadable_definitions,
    })
}

/// Whether the caller's own permission blocks (permissions API) grant a control-plane operation.
pub fn caller_can(blocks: &[PermissionBlock], operation: &str) -> bool {
    blocks
        .iter()
        .any(|b| b.grants(Plane::Control, operation, &[]))
}
