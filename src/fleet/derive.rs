//! Reads a fleet derives from one subscription-wide list instead of asking ARM once per
//! cluster or principal: a cluster's policy assignments (`atScope()`) from the
//! subscription's unfiltered policy assignment list, and a principal's role assignments
//! (`assignedTo()`) from the subscription's unfiltered role assignment list, with the
//! principal's groups (Graph `transitiveMemberOf`) when the list holds group assignments.
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

pub fn derive(read: &ArmRead, known: &RawReads) -> Derivation {
    match read {
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
            derive(&read, &RawReads::default()),
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
        assert_eq!(names(derive(&read, &raws)), ["mg", "sub", "rg", "cluster"]);
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
        assert_eq!(names(derive(&read, &direct)), ["a"]);
        let mut with_groups = known(vec![(
            list.clone(),
            json!({"value": [assignment("a", "p1", "ServicePrincipal"), assignment("g", "g1", "Group"), assignment("h", "g2", "Group")]}),
        )]);
        assert_eq!(
            derive(&read, &with_groups),
            Derivation::Needs(ArmRead::GroupMemberships("P1".into()))
        );
        with_groups.insert(RawRead::ok(
            &ArmRead::GroupMemberships("P1".into()),
            json!({"value": [{"id": "G1"}]}),
        ));
        assert_eq!(names(derive(&read, &with_groups)), ["a", "g"]);
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
        assert_eq!(derive(&read, &raws), Derivation::NotDerivable);
        assert_eq!(
            derive(&ArmRead::Cluster(cluster()), &raws),
            Derivation::NotDerivable
        );
    }
}
