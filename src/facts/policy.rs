//! Azure Policy facts: the Kubernetes policies (definition mode `Microsoft.Kubernetes.Data`)
//! that apply to the cluster, directly or as members of an initiative, each with its
//! effective `excludedNamespaces`, effect and enforcement mode. Parameters resolve as Azure
//! resolves them: the assignment's value, else (for an initiative member whose value is
//! `[parameters('x')]`) the assignment's or the initiative's `x`, else the definition's default.

use super::{observe, ByRead, List, Observed};
use crate::ids::ResourceId;
use crate::rbac::scope;
use crate::reads::{ArmRead, RawReads};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyAssignment {
    pub id: String,
    pub name: String,
    pub properties: PolicyAssignmentProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyAssignmentProperties {
    pub display_name: Option<String>,
    pub policy_definition_id: String,
    pub parameters: Map<String, Value>,
    pub enforcement_mode: Option<String>,
    pub not_scopes: Vec<String>,
}

/// A policy definition or an initiative (policy set definition).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyDefinition {
    pub properties: PolicyDefinitionProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyDefinitionProperties {
    pub display_name: Option<String>,
    pub mode: Option<String>,
    pub parameters: Map<String, Value>,
    /// Initiatives only: their members.
    pub policy_definitions: Vec<PolicyMember>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyMember {
    pub policy_definition_id: String,
    pub parameters: Map<String, Value>,
}

/// Resolves a parameter of a member definition (name, the definition's own parameters).
type Resolver = Box<dyn Fn(&str, &Map<String, Value>) -> Option<Value>>;

/// One Kubernetes policy that applies to the cluster.
#[derive(Debug)]
pub struct KubernetesPolicy {
    pub assignment_id: String,
    pub assignment_name: String,
    pub policy_name: String,
    pub do_not_enforce: bool,
    pub effect: Option<String>,
    pub excluded_namespaces: Vec<String>,
}

const KUBERNETES_MODE: &str = "Microsoft.Kubernetes.Data";

/// Whether a definition ID names an initiative (policy set definition).
pub fn is_initiative(id: &str) -> bool {
    id.to_ascii_lowercase().contains("/policysetdefinitions/")
}

fn default_of(parameters: &Map<String, Value>, name: &str) -> Option<Value> {
    parameters.get(name)?.get("defaultValue").cloned()
}

fn assigned(parameters: &Map<String, Value>, name: &str) -> Option<Value> {
    parameters.get(name)?.get("value").cloned()
}

/// `[parameters('excludedNamespaces')]` → `excludedNamespaces`.
fn parameter_reference(value: &Value) -> Option<&str> {
    let text = value.as_str()?.trim();
    text.strip_prefix("[parameters('")?.strip_suffix("')]")
}

/// The Azure Policy facts of the run: the assignments at or above the cluster, the
/// definitions and initiatives they name, and from them the Kubernetes policies.
pub struct Policy {
    pub assignments: Observed<Vec<PolicyAssignment>>,
    definitions: ByRead<PolicyDefinition>,
    /// Every Kubernetes policy applying to the cluster, with resolved parameters.
    pub kubernetes: Observed<Vec<KubernetesPolicy>>,
}

impl Policy {
    pub(super) fn derive(raws: &RawReads, cluster: &ResourceId) -> Policy {
        let assignments =
            observe::<List<PolicyAssignment>>(raws, &ArmRead::PolicyAssignments(cluster.clone()))
                .map(|l| l.value);
        let mut policy = Policy {
            assignments,
            definitions: ByRead::default(),
            kubernetes: Ok(Vec::new()),
        };
        let assigned: Vec<String> = match &policy.assignments {
            Ok(list) => list
                .iter()
                .map(|a| a.properties.policy_definition_id.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        for id in assigned {
            policy.observe_definition(raws, &id);
            let members: Vec<String> = match policy.definition(&id) {
                Ok(set) if is_initiative(&id) => set
                    .properties
                    .policy_definitions
                    .iter()
                    .map(|m| m.policy_definition_id.clone())
                    .collect(),
                _ => Vec::new(),
            };
            for member in members {
                policy.observe_definition(raws, &member);
            }
        }
        policy.kubernetes = policy.kubernetes_policies(cluster.as_str());
        policy
    }

    fn observe_definition(&mut self, raws: &RawReads, id: &str) {
        let read = ArmRead::PolicyDefinition(id.to_string());
        self.definitions
            .observe(raws, &read, |d: PolicyDefinition| d);
    }

    /// A policy definition or initiative by its full ID.
    pub fn definition(&self, id: &str) -> Observed<&PolicyDefinition> {
        self.definitions
            .get(&ArmRead::PolicyDefinition(id.to_string()))
    }

    /// Every Kubernetes policy applying to the cluster, with resolved parameters.
    fn kubernetes_policies(&self, cluster: &str) -> Observed<Vec<KubernetesPolicy>> {
        let mut policies = Vec::new();
        for a in self.assignments.as_ref().map_err(Clone::clone)? {
            if a.properties
                .not_scopes
                .iter()
                .any(|s| scope::is_at_or_above(s, cluster, &[]))
            {
                continue;
            }
            let id = &a.properties.policy_definition_id;
            let do_not_enforce = a
                .properties
                .enforcement_mode
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("DoNotEnforce"));
            let assignment_name = a
                .properties
                .display_name
                .clone()
                .unwrap_or_else(|| a.name.clone());
            let mut members: Vec<(String, Resolver)> = Vec::new();
            if is_initiative(id) {
                let set = self.definition(id)?;
                for member in &set.properties.policy_definitions {
                    let (assignment_params, set_params) = (
                        a.properties.parameters.clone(),
                        set.properties.parameters.clone(),
                    );
                    let member_params = member.parameters.clone();
                    members.push((
                        member.policy_definition_id.clone(),
                        Box::new(move |name, definition_params| {
                            match member_params.get(name).and_then(|p| p.get("value")) {
                                Some(value) => match parameter_reference(value) {
                                    Some(reference) => assigned(&assignment_params, reference)
                                        .or_else(|| default_of(&set_params, reference)),
                                    None => Some(value.clone()),
                                },
                                None => default_of(definition_params, name),
                            }
                        }),
                    ));
                }
            } else {
                let assignment_params = a.properties.parameters.clone();
                members.push((
                    id.clone(),
                    Box::new(move |name, definition_params| {
                        assigned(&assignment_params, name)
                            .or_else(|| default_of(definition_params, name))
                    }),
                ));
            }
            for (definition_id, resolve) in members {
                let definition = self.definition(&definition_id)?;
                let mode = definition.properties.mode.as_deref().unwrap_or_default();
                if !mode.eq_ignore_ascii_case(KUBERNETES_MODE) {
                    continue;
                }
                let params = &definition.properties.parameters;
                let excluded = resolve("excludedNamespaces", params)
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect();
                policies.push(KubernetesPolicy {
                    assignment_id: a.id.clone(),
                    assignment_name: assignment_name.clone(),
                    policy_name: definition
                        .properties
                        .display_name
                        .clone()
                        .unwrap_or_else(|| {
                            definition_id
                                .rsplit('/')
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        }),
                    do_not_enforce,
                    effect: resolve("effect", params).and_then(|v| v.as_str().map(str::to_string)),
                    excluded_namespaces: excluded,
                });
            }
        }
        Ok(policies)
    }
}
