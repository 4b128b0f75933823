//! Reads a fleet derives from one subscription-wide list instead of asking ARM once per
//! cluster or principal: a cluster's policy assignments (`atScope()`) from the
//! subscription's unfiltered policy assignment list, and a principal's role assignments
//! (`assignedTo()`) from the subscription's unfiltered role assignment list, with the
//! principal's groups (Graph `transitiveMemberOf`) when the list holds group assignments.
//! The caller's own permissions at a resource or resource group (the permissions API) are
//! those at its parent plus the permission blocks of the roles the caller (or one of its
//! groups) is assigned exactly there: the API answers with the blocks of every role
//! assignment that applies at the scope, and the assignments that apply below the
//! subscription are all in the subscription's list.
//!
//! Pure: it says what a read is, given what is known, or what it needs read first. The same
//! derivation runs live and on a bundle's reads, so a replay judges the same reads. When a
//! list could not be read, nothing is derived and the read itself is made.

use crate::ids::ResourceId;
use crate::reads::{ArmRead, RawRead, RawReads};
use serde_json::{json, Value};

/// What a read is, as far as the subscription-wide lists tell.
#[derive(Debug, PartialEq)]
pub enum Derivation {
    Derived(RawRead),
    /// Read this first, then ask again.
    Needs(ArmRead),
    /// Read it as it is.
    NotDerivable,
}

pub fn derive(read: &ArmRead, known: &RawReads, caller: Option<&str>) -> Derivation {
    match read {
        ArmRead::Permissions(scope) => match caller {
            Some(caller) => permissions(read, scope, known, caller),
            None => Derivation::NotDerivable,
        },
        ArmRead::PolicyAssignments(scope) => {
            let list = ArmRead::SubscriptionPolicyAssignments(scope.subscription().to_string());
            match items(known, &list) {
                Listed::Absent => Derivation::Needs(list),
                Listed::Failed => Derivation::NotDerivable,
                Listed::Items(items) => Derivation::Derived(listed(
                    read,
                    items
                        .iter()
                        .filter(|a| applies_at(a["properties"]["scope"].as_str(), scope))
                        .cloned()
                        .collect(),
                )),
            }
        }
        ArmRead::RoleAssignments {
            subscription,
            principal,
        } => {
            let list = ArmRead::SubscriptionRoleAssignments(subscription.clone());
            let items = match items(known, &list) {
                Listed::Absent => return Derivation::Needs(list),
                Listed::Failed => return Derivation::NotDerivable,
                Listed::Items(items) => items,
            };
            let mut principals = vec![principal.to_ascii_lowercase()];
            if items.iter().any(is_group_assignment) {
                // assignedTo() counts the principal's groups, transitively.
                let groups = ArmRead::GroupMemberships(principal.clone());
                match self::items(known, &groups) {
                    Listed::Absent => return Derivation::Needs(groups),
                    Listed::Failed => return Derivation::NotDerivable,
                    Listed::Items(groups) => principals.extend(
                        groups
                            .iter()
                            .filter_map(|g| g["id"].as_str())
                            .map(str::to_ascii_lowercase),
                    ),
                }
            }
            Derivation::Derived(listed(
                read,
                items
                    .iter()
                    .filter(|a| {
                        a["properties"]["principalId"]
                            .as_str()
                            .is_some_and(|p| principals.contains(&p.to_ascii_lowercase()))
                    })
                    .cloned()
                    .collect(),
            ))
        }
        _ => Derivation::NotDerivable,
    }
}

/// The caller's permissions at `scope` from those at its parent (see the module's note).
fn permissions(read: &ArmRead, scope: &ResourceId, known: &RawReads, caller: &str) -> Derivation {
    let Some(parent) = parent_of(scope) else {
        // A subscription's are read: above it, the list does not tell what applies.
        return Derivation::NotDerivable;
    };
    let list = ArmRead::SubscriptionRoleAssignments(scope.subscription().to_string());
    let assignments = match items(known, &list) {
        Listed::Absent => return Derivation::Needs(list),
        Listed::Failed => return Derivation::NotDerivable,
        Listed::Items(items) => items,
    };
    let mut principals = vec![caller.to_ascii_lowercase()];
    if assignments.iter().any(is_group_assignment) {
        let groups = ArmRead::GroupMemberships(caller.to_string());
        match items(known, &groups) {
            Listed::Absent => return Derivation::Needs(groups),
            Listed::Failed => return Derivation::NotDerivable,
            Listed::Items(groups) => principals.extend(
                groups
                    .iter()
                    .filter_map(|g| g["id"].as_str())
                    .map(str::to_ascii_lowercase),
            ),
        }
    }
    let above = ArmRead::Permissions(parent);
    let mut blocks = match items(known, &above) {
        Listed::Absent => return Derivation::Needs(above),
        Listed::Failed => return Derivation::NotDerivable,
        Listed::Items(blocks) => blocks.to_vec(),
    };
    let here = segments(scope.as_str());
    for assignment in assignments.iter().filter(|a| {
        segments(a["properties"]["scope"].as_str().unwrap_or_default()) == here
            && a["properties"]["principalId"]
                .as_str()
                .is_some_and(|p| principals.contains(&p.to_ascii_lowercase()))
    }) {
        let Some(guid) = assignment["properties"]["roleDefinitionId"]
            .as_str()
            .and_then(|id| id.rsplit('/').next())
        else {
            return Derivation::NotDerivable;
        };
        let definition = ArmRead::RoleDefinition {
            subscription: scope.subscription().to_string(),
            guid: guid.to_ascii_lowercase(),
        };
        match known.get(&definition) {
            None => return Derivation::Needs(definition),
            Some(raw) => match raw.body.as_ref().map(|b| &b["properties"]["permissions"]) {
                Some(Value::Array(permissions)) if raw.error.is_none() => {
                    blocks.extend(permissions.iter().cloned())
                }
                _ => return Derivation::NotDerivable,
            },
        }
    }
    Derivation::Derived(listed(read, blocks))
}

/// The scope one level up: a top-level resource's resource group, a resource group's
/// subscription; `None` for a subscription and for a nested resource (both read as they are).
fn parent_of(scope: &ResourceId) -> Option<ResourceId> {
    let group = scope.resource_group()?;
    if scope.resource_type().is_some() {
        let depth = segments(scope.as_str()).len();
        // /subscriptions/s/resourceGroups/g/providers/ns/type/name: a top-level resource.
        if depth != 8 {
            return None;
        }
        ResourceId::resource_group_id(scope.subscription(), group).ok()
    } else {
        ResourceId::parse(&format!("/subscriptions/{}", scope.subscription())).ok()
    }
}

enum Listed<'a> {
    Absent,
    Failed,
    Items(&'a [Value]),
}

fn items<'a>(known: &'a RawReads, list: &ArmRead) -> Listed<'a> {
    match known.get(list) {
        None => Listed::Absent,
        Some(raw) if raw.error.is_some() => Listed::Failed,
        Some(raw) => match raw.body.as_ref().and_then(|b| b["value"].as_array()) {
            Some(items) => Listed::Items(items),
            None => Listed::Failed,
        },
    }
}

fn listed(read: &ArmRead, items: Vec<Value>) -> RawRead {
    RawRead::ok(read, json!({ "value": items }))
}

fn is_group_assignment(assignment: &Value) -> bool {
    assignment["properties"]["principalType"]
        .as_str()
        .is_some_and(|t| t.to_ascii_lowercase().contains("group"))
}

/// Whether an assignment at `assignment_scope` applies at `scope`: it is at a management
/// group or the root (above every subscription of the list), or at `scope` or one of its
/// ancestors, compared segment by segment and case-insensitively.
fn applies_at(assignment_scope: Option<&str>, scope: &ResourceId) -> bool {
    let Some(assignment_scope) = assignment_scope else {
        return false;
    };
    let assignment: Vec<String> = segments(assignment_scope);
    if assignment.is_empty()
        || assignment.starts_with(&["providers".into(), "microsoft.management".into()])
    {
        return true;
    }
    let target = segments(scope.as_str());
    target.starts_with(&assignment)
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::{FailureKind, ReadError};

    const SUB: &str = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";

    fn cluster() -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks1")).unwrap()
    }

    fn policy(name: &str, scope: &str) -> Value {
        json!({"id": format!("{scope}/providers/Microsoft.Authorization/policyAssignments/{name}"), "name": name, "properties": {"scope": scope}})
    }

    fn assignment(name: &str, principal: &str, kind: &str) -> Value {
        json!({"id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}"), "name": name,
               "properties": {"principalId": principal, "principalType": kind, "scope": format!("/subscriptions/{SUB}")}})
    }

    fn known(reads: Vec<(ArmRead, Value)>) -> RawReads {
        let mut raws = RawReads::default();
        for (read, body) in reads {
            raws.insert(RawRead::ok(&read, body));
        }
        raws
    }

    fn names(derivation: Derivation) -> Vec<String> {
        match derivation {
            Derivation::Derived(raw) => raw.body.unwrap()["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_string())
                .collect(),
            other => panic!("not derived: {other:?}"),
        }
    }

    #[test]
    fn a_clusters_policy_assignments_are_those_at_or_above_it() {
        let read = ArmRead::PolicyAssignments(cluster());
        assert_eq!(
            derive(&read, &RawReads::default(), None),
            Derivation::Needs(ArmRead::SubscriptionPolicyAssignments(SUB.into()))
        );
        let raws = known(vec![(
            ArmRead::SubscriptionPolicyAssignments(SUB.into()),
            json!({"value": [
                policy("mg", "/providers/Microsoft.Management/managementGroups/contoso"),
                policy("sub", &format!("/subscriptions/{SUB}")),
                policy("rg", &format!("/subscriptions/{SUB}/resourcegroups/RG-AKS")),
                policy("other-rg", &format!("/subscriptions/{SUB}/resourceGroups/rg-aks-2")),
                policy("cluster", cluster().as_str()),
                policy("other-cluster", &format!("/subscriptions/{SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks10")),
            ]}),
        )]);
        assert_eq!(
            names(derive(&read, &raws, None)),
            ["mg", "sub", "rg", "cluster"]
        );
    }

    #[test]
    fn a_principals_assignments_include_its_groups_only_when_groups_are_assigned() {
        let read = ArmRead::RoleAssignments {
            subscription: SUB.into(),
            principal: "P1".into(),
        };
        let list = ArmRead::SubscriptionRoleAssignments(SUB.into());
        let direct = known(vec![(
            list.clone(),
            json!({"value": [assignment("a", "p1", "ServicePrincipal"), assignment("b", "p2", "ServicePrincipal")]}),
        )]);
        assert_eq!(names(derive(&read, &direct, None)), ["a"]);
        let mut with_groups = known(vec![(
            list.clone(),
            json!({"value": [assignment("a", "p1", "ServicePrincipal"), assignment("g", "g1", "Group"), assignment("h", "g2", "Group")]}),
        )]);
        assert_eq!(
            derive(&read, &with_groups, None),
            Derivation::Needs(ArmRead::GroupMemberships("P1".into()))
        );
        with_groups.insert(RawRead::ok(
            &ArmRead::GroupMemberships("P1".into()),
            json!({"value": [{"id": "G1"}]}),
        ));
        assert_eq!(names(derive(&read, &with_groups, None)), ["a", "g"]);
    }

    #[test]
    fn a_list_that_could_not_be_read_derives_nothing() {
        let mut raws = RawReads::default();
        raws.insert(RawRead::failure(
            &ArmRead::SubscriptionRoleAssignments(SUB.into()),
            Some(403),
            ReadError {
                kind: FailureKind::Http,
                arm_code: Some("AuthorizationFailed".into()),
                message: "no".into(),
            },
        ));
        let read = ArmRead::RoleAssignments {
            subscription: SUB.into(),
            principal: "p1".into(),
        };
        assert_eq!(derive(&read, &raws, None), Derivation::NotDerivable);
        assert_eq!(
            derive(&ArmRead::Cluster(cluster()), &raws, None),
            Derivation::NotDerivable
        );
    }

    #[test]
    fn the_callers_permissions_are_its_parents_plus_the_roles_it_holds_right_there() {
        let caller = "c0ffee00-0000-4000-8000-000000000001";
        let read = ArmRead::Permissions(cluster());
        let group =
            ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg-aks")).unwrap();
        let mut raws = known(vec![(
            ArmRead::SubscriptionRoleAssignments(SUB.into()),
            json!({"value": [
                {"id": "x1", "properties": {"principalId": caller, "principalType": "User", "scope": cluster().as_str(),
                  "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/AAAA")}},
                {"id": "x2", "properties": {"principalId": "someone-else", "principalType": "User", "scope": cluster().as_str(),
                  "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/bbbb")}}
            ]}),
        )]);
        assert_eq!(
            derive(&read, &raws, None),
            Derivation::NotDerivable,
            "no caller known"
        );
        assert_eq!(
            derive(&read, &raws, Some(caller)),
            Derivation::Needs(ArmRead::Permissions(group.clone()))
        );
        raws.insert(RawRead::ok(
            &ArmRead::Permissions(group),
            json!({"value": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]}),
        ));
        let definition = ArmRead::RoleDefinition {
            subscription: SUB.into(),
            guid: "aaaa".into(),
        };
        assert_eq!(
            derive(&read, &raws, Some(caller)),
            Derivation::Needs(definition.clone())
        );
        raws.insert(RawRead::ok(
            &definition,
            json!({"properties": {"permissions": [{"actions": ["Microsoft.ContainerService/*"], "notActions": [], "dataActions": [], "notDataActions": []}]}}),
        ));
        match derive(&read, &raws, Some(caller)) {
            Derivation::Derived(raw) => assert_eq!(
                raw.body.unwrap()["value"],
                json!([
                    {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []},
                    {"actions": ["Microsoft.ContainerService/*"], "notActions": [], "dataActions": [], "notDataActions": []}
                ])
            ),
            other => panic!("{other:?}"),
        }
        // A subscription's permissions, and a nested resource's, are read as they are.
        let subscription = ResourceId::parse(&format!("/subscriptions/{SUB}")).unwrap();
        assert_eq!(
            derive(&ArmRead::Permissions(subscription), &raws, Some(caller)),
            Derivation::NotDerivable
        );
        let container = ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/c")).unwrap();
        assert_eq!(
            derive(&ArmRead::Permissions(container), &raws, Some(caller)),
            Derivation::NotDerivable
        );
    }
}
