//! The Azure RBAC evaluator: does principal P hold operation O at scope S, and does P hold
//! every operation of role R at S? Follows shared/reference/azure-rbac.md §1.11:
//!
//! - assignments apply at their scope and below (segment-wise, case-insensitive);
//! - each permission block grants `actions − notActions` on its own; a NotActions never
//!   cancels what another block or role grants; data actions only from `dataActions`;
//! - deny assignments that apply to the principal (directly, through a known group, or
//!   to all principals, minus `excludePrincipals`, respecting `doNotApplyToChildScopes` and
//!   their own NotActions) always win; one naming a principal that may be a group of the
//!   principal (its groups unread) leaves a grant it would block `PossiblyDenied`;
//! - a grant that holds only through a conditional assignment or block is `Conditional`;
//!   a condition on a role definition's block restricts only the actions it targets.
//!
//! Pure: the data comes in as already-parsed assignments, definitions and denies.

pub mod condition;
mod evaluate;
pub mod pattern;
pub mod scope;

pub use evaluate::{caller_can, evaluate, RbacData, Wanted};

use std::collections::HashMap;

pub const ALL_PRINCIPALS: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plane {
    Control,
    Data,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PermissionBlock {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    pub condition: Option<String>,
}

impl PermissionBlock {
    fn patterns(&self, plane: Plane) -> (&[String], &[String]) {
        match plane {
            Plane::Control => (&self.actions, &self.not_actions),
            Plane::Data => (&self.data_actions, &self.not_data_actions),
        }
    }

    /// Whether this block grants everything `wanted` matches (minus `wanted_except`,
    /// the required role's own exclusions, which need not be granted).
    pub fn grants(&self, plane: Plane, wanted: &str, wanted_except: &[String]) -> bool {
        let (allowed, excluded) = self.patterns(plane);
        allowed.iter().any(|a| pattern::covers(a, wanted))
            && excluded.iter().all(|n| {
                !pattern::intersects(n, wanted)
                    || wanted_except.iter().any(|w| pattern::covers(w, n))
            })
    }

    /// Whether this (deny) block blocks some operation `wanted` matches.
    fn blocks(&self, plane: Plane, wanted: &str) -> bool {
        let (denied, exempt) = self.patterns(plane);
        denied.iter().any(|d| pattern::intersects(d, wanted))
            && !exempt.iter().any(|e| pattern::covers(e, wanted))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoleDefinition {
    /// The GUID (`name`), lower-case: roles are matched by it, never by full ID.
    pub guid: String,
    pub role_name: String,
    pub custom: bool,
    pub blocks: Vec<PermissionBlock>,
    pub updated_on: Option<String>,
}

impl RoleDefinition {
    /// Every (plane, pattern) the role grants, with its block's exclusions.
    pub fn operations(&self) -> Vec<(Plane, &str, &[String])> {
        let mut ops = Vec::new();
        for block in &self.blocks {
            for plane in [Plane::Control, Plane::Data] {
                let (allowed, excluded) = block.patterns(plane);
                ops.extend(allowed.iter().map(|a| (plane, a.as_str(), excluded)));
            }
        }
        ops
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    pub role_guid: String,
    pub scope: String,
    pub condition: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DenyAssignment {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub blocks: Vec<PermissionBlock>,
    pub principals: Vec<String>,
    pub exclude_principals: Vec<String>,
    pub do_not_apply_to_child_scopes: bool,
    /// Principals the deny names whose `type` says they are not groups (users, service
    /// principals): they cannot hold `principal` as a member.
    pub non_group_principals: Vec<String>,
}

impl DenyAssignment {
    /// A principal it names other than all principals and `principal` (or a group it is
    /// known to be in) that may be a group of `principal`: typed `Group`, or of no type.
    pub fn other_principal(&self, principal: &Principal) -> Option<&str> {
        self.principals
            .iter()
            .filter(|p| {
                !self
                    .non_group_principals
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(p))
            })
            .find(|p| *p != ALL_PRINCIPALS && !principal.is(p))
            .map(String::as_str)
    }
}

/// The principal under evaluation and the groups it is known to belong to.
#[derive(Clone, Debug, Default)]
pub struct Principal {
    pub id: String,
    pub groups: Vec<String>,
    /// `groups` is every group it belongs to (read from Microsoft Graph), not only those
    /// its assignments reveal: any other principal a deny names is then not one of them.
    pub groups_complete: bool,
}

impl Principal {
    fn is(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.groups.iter().any(|g| g.eq_ignore_ascii_case(id))
    }
}

/// An ABAC condition a grant rests on, by where it sits.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// On the role assignment: it restricts every operation the assignment grants.
    OnAssignment(String),
    /// On a permission block of the role definition: it restricts the actions it targets
    /// (`None`: they could not be told from its text, so possibly every action of the block).
    OnRoleDefinition {
        text: String,
        targets: Option<Vec<String>>,
    },
}

impl Condition {
    pub fn text(&self) -> &str {
        match self {
            Condition::OnAssignment(text) | Condition::OnRoleDefinition { text, .. } => text,
        }
    }

    /// The condition of a role definition's block, if it restricts something `wanted`
    /// matches; `None` when the actions it targets are known and `wanted` is none of them.
    fn of_block(text: &str, wanted: &str) -> Option<Condition> {
        let targets = condition::targeted_actions(text);
        if let Some(targets) = &targets {
            if !targets.iter().any(|t| pattern::intersects(t, wanted)) {
                return None;
            }
        }
        Some(Condition::OnRoleDefinition {
            text: text.to_string(),
            targets,
        })
    }
}

/// Why a grant holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    pub assignment_id: String,
    pub role_name: String,
    pub scope: String,
    pub via_group: Option<String>,
    pub condition: Option<Condition>,
}

impl Basis {
    /// The condition in words: where it sits, what it restricts, and its text.
    pub fn describe_condition(&self) -> Option<String> {
        let role = &self.role_name;
        Some(match self.condition.as_ref()? {
            Condition::OnAssignment(text) => format!(
                "the assignment of {role} carries a condition that restricts every operation it grants: {text}"
            ),
            Condition::OnRoleDefinition { text, targets } => format!(
                "the definition of {role} carries a condition on its permission block that {}: {text}",
                targets.as_ref().map_or_else(
                    || "may restrict every action of the block".to_string(),
                    |t| format!("restricts {}", t.join(", "))
                )
            ),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Granted(Basis),
    Conditional(Basis),
    Denied {
        deny: String,
        scope: String,
    },
    /// Granted, unless the principal belongs to `group`, which a deny blocking the
    /// operation names: the principal's group memberships could not be read.
    PossiblyDenied {
        deny: String,
        group: String,
    },
    NotGranted,
}

/// The RBAC data of one scope family (a subscription and its ancestors).
pub struct Rbac<'a> {
    pub assignments: &'a [RoleAssignment],
    pub definitions: &'a HashMap<String, RoleDefinition>,
    pub denies: &'a [DenyAssignment],
    pub management_groups: &'a [String],
}

impl Rbac<'_> {
    fn deny_in_scope(&self, deny: &DenyAssignment, principal: &Principal, target: &str) -> bool {
        let in_scope = if deny.do_not_apply_to_child_scopes {
            scope::same_scope(&deny.scope, target)
        } else {
            scope::is_at_or_above(&deny.scope, target, self.management_groups)
        };
        let excluded = deny.exclude_principals.iter().any(|p| principal.is(p));
        in_scope && !excluded
    }

    fn deny_applies(&self, deny: &DenyAssignment, principal: &Principal, target: &str) -> bool {
        let named = deny
            .principals
            .iter()
            .any(|p| p == ALL_PRINCIPALS || principal.is(p));
        named && self.deny_in_scope(deny, principal, target)
    }

    /// The principal a deny names that may be a group of `principal` (its groups unread):
    /// the deny then may apply.
    fn deny_may_apply<'d>(
        &self,
        deny: &'d DenyAssignment,
        principal: &Principal,
        target: &str,
    ) -> Option<&'d str> {
        if principal.groups_complete || !self.deny_in_scope(deny, principal, target) {
            return None;
        }
        deny.other_principal(principal)
    }

    /// Does `principal` hold every operation `wanted` matches (a literal operation or a
    /// pattern from a role), except those in `wanted_except`, at `target`?
    pub fn decide(
        &self,
        principal: &Principal,
        plane: Plane,
        wanted: &str,
        wanted_except: &[String],
        target: &str,
    ) -> Decision {
        if let Some(deny) = self.denies.iter().find(|d| {
            self.deny_applies(d, principal, target)
                && d.blocks.iter().any(|b| b.blocks(plane, wanted))
        }) {
            return Decision::Denied {
                deny: deny.name.clone(),
                scope: deny.scope.clone(),
            };
        }
        let grant = self.grant(principal, plane, wanted, wanted_except, target);
        if grant == Decision::NotGranted {
            return grant;
        }
        let unresolved = self.denies.iter().find_map(|d| {
            let group = self.deny_may_apply(d, principal, target)?;
            d.blocks
                .iter()
                .any(|b| b.blocks(plane, wanted))
                .then_some((d, group))
        });
        match unresolved {
            Some((deny, group)) => Decision::PossiblyDenied {
                deny: deny.name.clone(),
                group: group.to_string(),
            },
            None => grant,
        }
    }

    /// What the principal's assignments grant, denies aside.
    fn grant(
        &self,
        principal: &Principal,
        plane: Plane,
        wanted: &str,
        wanted_except: &[String],
        target: &str,
    ) -> Decision {
        let mut conditional = None;
        for assignment in self.assignments.iter().filter(|a| {
            principal.is(&a.principal_id)
                && scope::is_at_or_above(&a.scope, target, self.management_groups)
        }) {
            let Some(role) = self
                .definitions
                .get(&assignment.role_guid.to_ascii_lowercase())
            else {
                continue;
            };
            for block in role
                .blocks
                .iter()
                .filter(|b| b.grants(plane, wanted, wanted_except))
            {
                let basis = Basis {
                    assignment_id: assignment.id.clone(),
                    role_name: role.role_name.clone(),
                    scope: assignment.scope.clone(),
                    via_group: (!assignment.principal_id.eq_ignore_ascii_case(&principal.id))
                        .then(|| assignment.principal_id.clone()),
                    condition: match (&assignment.condition, &block.condition) {
                        (Some(text), _) => Some(Condition::OnAssignment(text.clone())),
                        (None, Some(text)) => Condition::of_block(text, wanted),
                        (None, None) => None,
                    },
                };
                if basis.condition.is_none() {
                    return Decision::Granted(basis);
                }
                conditional.get_or_insert(basis);
            }
        }
        conditional.map_or(Decision::NotGranted, Decision::Conditional)
    }

    /// Does `principal` hold role `role` at `target`: by holding it (or more) at or above,
    /// or through other roles that together grant each of its operations?
    pub fn check_role(
        &self,
        principal: &Principal,
        role: &RoleDefinition,
        target: &str,
    ) -> Vec<(String, Decision)> {
        role.operations()
            .into_iter()
            .map(|(plane, op, except)| {
                (
                    op.to_string(),
                    self.decide(principal, plane, op, except, target),
                )
            })
            .collect()
    }

    /// Checks a list of concrete operations (PXB requirement lists).
    pub fn check_operations(
        &self,
        principal: &Principal,
        operations: &[String],
        target: &str,
    ) -> Vec<(String, Decision)> {
        operations
            .iter()
            .map(|op| {
                (
                    op.clone(),
                    self.decide(principal, Plane::Control, op, &[], target),
                )
            })
            .collect()
    }
}

/// Folds per-operation decisions into one verdict for a requirement.
#[derive(Debug, PartialEq)]
pub enum Requirement {
    Met(Vec<Basis>),
    MetConditionally(Vec<Basis>),
    Denied(Vec<(String, String)>),
    Missing(Vec<String>),
    /// Met unless the principal belongs to a group these denies name: (operation, deny, group).
    PossiblyDenied(Vec<(String, String, String)>),
}

pub fn summarize(decisions: &[(String, Decision)]) -> Requirement {
    let denied: Vec<_> = decisions
        .iter()
        .filter_map(|(op, d)| match d {
            Decision::Denied { deny, .. } => Some((op.clone(), deny.clone())),
            _ => None,
        })
        .collect();
    if !denied.is_empty() {
        return Requirement::Denied(denied);
    }
    let missing: Vec<_> = decisions
        .iter()
        .filter(|(_, d)| *d == Decision::NotGranted)
        .map(|(op, _)| op.clone())
        .collect();
    if !missing.is_empty() {
        return Requirement::Missing(missing);
    }
    let possibly_denied: Vec<_> = decisions
        .iter()
        .filter_map(|(op, d)| match d {
            Decision::PossiblyDenied { deny, group } => {
                Some((op.clone(), deny.clone(), group.clone()))
            }
            _ => None,
        })
        .collect();
    if !possibly_denied.is_empty() {
        return Requirement::PossiblyDenied(possibly_denied);
    }
    let mut bases = Vec::new();
    let mut any_conditional = false;
    for (_, d) in decisions {
        match d {
            Decision::Granted(b) => bases.push(b.clone()),
            Decision::Conditional(b) => {
                any_conditional = true;
                bases.push(b.clone())
            }
            _ => {}
        }
    }
    bases.dedup_by(|a, b| a.assignment_id == b.assignment_id);
    if any_conditional {
        Requirement::MetConditionally(bases)
    } else {
        Requirement::Met(bases)
    }
}

#[cfg(test)]
mod tests;
