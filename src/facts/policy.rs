//! Azure Policy facts: the Kubernetes policies (definition mode `Microsoft.Kubernetes.Data`)
//! that apply to the cluster, directly or as members of an initiative, each with its
//! effective `excludedNamespaces`, effect and enforcement mode. Parameters resolve as Azure
//! resolves them: the assignment's value, else (for an initiative member whose value is
//! `[parameters('x')]`) the assignment's or the initiative's `x`, else the definition's default.

use super::{observe, Facts, List, Observed};
use crate::rbac::scope;
use crate::reads::ArmRead;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAssignment {
    id: String,
    name: String,
    properties: WireAssignmentProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireAssignmentProperties {
    display_name: Option<String>,
    policy_definition_id: String,
    parameters: Map<String, Value>,
    enforcement_mode: Option<String>,
    not_scopes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireDefinition {
    properties: WireDefinitionProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireDefinitionProperties {
    display_name: Option<String>,
    mode: Option<String>,
    parameters: Map<String, Value>,
    /// Initiatives only: their members.
    policy_definitions: Vec<WireMember>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireMember {
    policy_definition_id: String,
    parameters: Map<String, Value>,
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

fn is_initiative(id: &str) -> bool {
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

impl Facts {
    fn policy_assignments(&self) -> Observed<Vec<WireAssignment>> {
        let list: List<WireAssignment> = observe(
            &self.raws,
            &ArmRead::PolicyAssignments(self.target.cluster.clone()),
        )?;
        Ok(list.value)
    }

    fn policy_definition(&self, id: &str) -> Observed<WireDefinition> {
        observe(&self.raws, &ArmRead::PolicyDefinition(id.to_string()))
    }

    /// The definition IDs to read next: assigned definitions and initiatives, then members.
    pub fn policy_definition_ids(&self) -> Vec<String> {
        let Ok(assignments) = self.policy_assignments() else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        for a in assignments {
            let id = a.properties.policy_definition_id;
            if is_initiative(&id) {
                if let Ok(set) = self.policy_definition(&id) {
                    ids.extend(
                        set.properties
                            .policy_definitions
                            .into_iter()
                            .map(|m| m.policy_definition_id),
                    );
                }
            }
            ids.push(id);
        }
        ids
    }

    /// Every Kubernetes policy applying to the cluster, with resolved parameters.
    pub fn kubernetes_policies(&self) -> Observed<Vec<KubernetesPolicy>> {
        let cluster = self.target.cluster.as_str();
        let mut policies = Vec::new();
        for a in self.policy_assignments()? {
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
                let set = self.policy_definition(id)?;
                for member in set.properties.policy_definitions {
                    let (assignment_params, set_params) = (
                        a.properties.parameters.clone(),
                        set.properties.parameters.clone(),
                    );
                    let member_params = member.parameters;
                    members.push((
                        member.policy_definition_id,
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
                let definition = self.policy_definition(&definition_id)?;
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
