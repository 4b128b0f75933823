//! Azure Policy and egress checks for Azure Backup: no Kubernetes policy acts on the
//! extension's namespace, and a cluster with restricted egress is told which FQDNs its
//! firewall must allow.

use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, AZURE_BACKUP};
use crate::facts::{Facts, Require, BACKUP_NAMESPACE};
use crate::reads::{API_CONTAINER_SERVICE, API_POLICY};
use crate::requirements;

pub const AZURE_POLICY_EXCLUSION: Check = Check {
    id: "azure-policy-exclusion",
    title: "Azure Policy leaves the dataprotection-microsoft namespace alone",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "every Kubernetes Azure Policy (definition mode Microsoft.Kubernetes.Data) assigned at or above the cluster, directly or inside an initiative, leaves namespace dataprotection-microsoft alone: it is in the policy's excludedNamespaces (the assignment's value, the initiative's parameter it refers to, or the definition's default), the assignment is DoNotEnforce, or its effect is audit or disabled. Assignments whose notScopes cover the cluster do not apply. Otherwise: warn, naming the assignment and policy.",
        how: None,
        why: "the prerequisites page asks to exclude the extension's namespace from Azure policies; policies that deny or mutate its pods break backups and restores.",
        reads: &[
            Read::Arm {
                call: "GET {cluster}/providers/Microsoft.Authorization/policyAssignments?$filter=atScope()",
                api_version: API_POLICY,
                note: "",
            },
            Read::Arm {
                call: "GET {policyDefinition}",
                api_version: API_POLICY,
                note: "each assigned policy definition or initiative, and the members of an initiative",
            },
        ],
        fix: "add dataprotection-microsoft to the assignment's excludedNamespaces parameter.",
    },
    run: azure_policy_exclusion,
};

fn azure_policy_exclusion(facts: &Facts) -> Judgement {
    let policies = facts.policy.kubernetes.require()?;
    let mut acting = Vec::new();
    let mut evidence = Vec::new();
    for policy in policies {
        let excluded = policy
            .excluded_namespaces
            .iter()
            .any(|n| n.eq_ignore_ascii_case(BACKUP_NAMESPACE));
        let passive = policy
            .effect
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("audit") || e.eq_ignore_ascii_case("disabled"));
        let why_fine = if excluded {
            Some("excludes the namespace")
        } else if policy.do_not_enforce {
            Some("DoNotEnforce")
        } else if passive {
            Some("audit or disabled effect")
        } else {
            None
        };
        evidence.push(Evidence::note(
            &policy.assignment_id,
            &format!("{} / {}", policy.assignment_name, policy.policy_name),
            why_fine.map_or_else(
                || {
                    format!(
                        "acts on {BACKUP_NAMESPACE} (effect {})",
                        policy.effect.as_deref().unwrap_or("default")
                    )
                },
                str::to_string,
            ),
        ));
        if why_fine.is_none() {
            acting.push(policy);
        }
    }
    let outcome = if policies.is_empty() {
        Outcome::pass("no Kubernetes Azure Policy is assigned to the cluster")
    } else if acting.is_empty() {
        Outcome::pass(format!(
            "all {} Kubernetes policies leave {BACKUP_NAMESPACE} alone",
            policies.len()
        ))
    } else {
        let names: Vec<String> = acting
            .iter()
            .map(|p| format!("{} ({})", p.policy_name, p.assignment_name))
            .collect();
        let fixes: Vec<String> = acting
            .iter()
            .map(|p| format!(
                "# add \"{BACKUP_NAMESPACE}\" to the excludedNamespaces parameter of {} (in the portal, or: az policy assignment update --name {} --scope <assignment scope> --params '{{\"excludedNamespaces\": {{\"value\": [\"kube-system\", \"gatekeeper-system\", \"azure-arc\", \"{BACKUP_NAMESPACE}\"]}}}}')",
                p.assignment_id,
                p.assignment_id.rsplit('/').next().unwrap_or_default()
            ))
            .collect();
        Outcome::warn(format!(
            "{} would act on namespace {BACKUP_NAMESPACE}: {}",
            if acting.len() == 1 {
                "a Kubernetes policy"
            } else {
                "Kubernetes policies"
            },
            names.join("; ")
        ))
        .fix(fixes.join("\n"))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

pub const EGRESS_FQDNS: Check = Check {
    id: "egress-fqdns",
    title: "Cluster egress reaches the backup FQDNs",
    profiles: AZURE_BACKUP,
    uses: Uses::AzureBackupMatrix,
    explain: Explain {
        verifies: "the cluster's outbound path: outboundType loadBalancer, managedNATGateway or userAssignedNATGateway gives unrestricted egress (pass). userDefinedRouting (a firewall route) or a private cluster warns, listing the FQDNs of the prerequisites page that the firewall must allow for the extension to install and run.",
        how: None,
        why: "the backup extension installs and runs only when the cluster reaches the FQDNs of the prerequisites page; a firewall route may block them.",
        reads: &[
            Read::Arm {
                call: "GET {cluster}",
                api_version: API_CONTAINER_SERVICE,
                note: "properties.networkProfile.outboundType, properties.apiServerAccessProfile.enablePrivateCluster",
            },
        ],
        fix: "allow the listed FQDNs (application rules) on the cluster's firewall.",
    },
    run: egress_fqdns,
};

fn egress_fqdns(facts: &Facts) -> Judgement {
    let id = facts.target.cluster.as_str();
    let props = &facts.cluster.properties;
    let outbound = props
        .network_profile
        .as_ref()
        .and_then(|n| n.outbound_type.clone())
        .unwrap_or_else(|| "loadBalancer".into());
    let private = props
        .api_server_access_profile
        .as_ref()
        .and_then(|a| a.enable_private_cluster)
        .unwrap_or(false);
    let evidence = [
        Evidence::new(
            id,
            "properties.networkProfile.outboundType",
            outbound.as_str(),
            "loadBalancer or a NAT gateway",
        ),
        Evidence::new(
            id,
            "properties.apiServerAccessProfile.enablePrivateCluster",
            private,
            false,
        ),
    ];
    let open = [
        "loadBalancer",
        "managedNATGateway",
        "userAssignedNATGateway",
    ]
    .iter()
    .any(|o| o.eq_ignore_ascii_case(&outbound));
    let outcome = if open && !private {
        Outcome::pass(format!(
            "outbound type {outbound}: egress is not restricted by a firewall route"
        ))
    } else {
        let why = if private {
            format!("a private cluster with outbound type {outbound}")
        } else {
            format!("outbound type {outbound}")
        };
        Outcome::warn(format!(
            "{why}: make sure the firewall allows the FQDNs the backup extension needs"
        ))
        .fix(format!(
            "# allow these FQDNs (application rules) on the cluster's firewall:\n{}",
            requirements::azure_backup().egress_fqdns.join(" ")
        ))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Scenario, CLUSTER};
    use super::super::Status;
    use super::*;
    use crate::reads::ArmRead;
    use serde_json::{json, Value};

    const SUB: &str = "/subscriptions/sub1";
    const K8S_DEFINITION: &str =
        "/providers/Microsoft.Authorization/policyDefinitions/k8s-no-privileged";
    const VM_DEFINITION: &str =
        "/subscriptions/sub1/providers/Microsoft.Authorization/policyDefinitions/vmSkus";

    /// An assignment in the shape of Microsoft's `policyAssignments_listForResource` example.
    fn assignment(name: &str, definition: &str, properties: Value) -> Value {
        let mut body = json!({
            "id": format!("{SUB}/providers/Microsoft.Authorization/policyAssignments/{name}"),
            "type": "Microsoft.Authorization/policyAssignments",
            "name": name,
            "properties": {
                "displayName": name, "policyDefinitionId": definition,
                "scope": SUB, "notScopes": []
            }
        });
        for (key, value) in properties.as_object().into_iter().flatten() {
            body["properties"][key] = value.clone();
        }
        body
    }

    fn definition(mode: &str, excluded_default: &[&str]) -> Value {
        json!({"properties": {
            "displayName": "Kubernetes cluster should not allow privileged containers",
            "mode": mode,
            "parameters": {
                "effect": {"type": "String", "defaultValue": "Deny"},
                "excludedNamespaces": {"type": "Array", "defaultValue": excluded_default}
            }
        }})
    }

    /// The cluster's assignments: a VM policy (not Kubernetes) and `k8s` for the K8s one.
    fn scenario(k8s: Value) -> Scenario {
        let mut s = Scenario::new();
        s.set(
            &ArmRead::PolicyAssignments(s.target_ids().cluster),
            json!({"value": [
                assignment("TestCostManagement", VM_DEFINITION, json!({"parameters": {"allowedSkus": {"value": "Standard_A1"}}})),
                k8s
            ]}),
        );
        s.set(
            &ArmRead::PolicyDefinition(VM_DEFINITION.into()),
            definition("Indexed", &[]),
        );
        s.set(
            &ArmRead::PolicyDefinition(K8S_DEFINITION.into()),
            definition(
                "Microsoft.Kubernetes.Data",
                &["kube-system", "gatekeeper-system"],
            ),
        );
        s
    }

    fn run(s: &Scenario) -> Outcome {
        AZURE_POLICY_EXCLUSION.judge(&s.facts())
    }

    #[test]
    fn no_kubernetes_policy_passes() {
        let mut s = Scenario::new();
        s.set(
            &ArmRead::PolicyAssignments(s.target_ids().cluster),
            json!({"value": []}),
        );
        let o = run(&s);
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "no Kubernetes Azure Policy is assigned to the cluster"
        );
    }

    #[test]
    fn a_denying_policy_warns_with_the_exclusion_fix() {
        let o = run(&scenario(assignment(
            "NoPrivileged",
            K8S_DEFINITION,
            json!({}),
        )));
        assert_eq!(o.status, Status::Warn);
        assert_eq!(
            o.message,
            "a Kubernetes policy would act on namespace dataprotection-microsoft: Kubernetes cluster should not allow privileged containers (NoPrivileged)"
        );
        let fix = o.remediation.unwrap();
        assert!(fix.starts_with("# add \"dataprotection-microsoft\" to the excludedNamespaces parameter of /subscriptions/sub1/providers/Microsoft.Authorization/policyAssignments/NoPrivileged"), "{fix}");
        assert!(
            fix.contains("az policy assignment update --name NoPrivileged"),
            "{fix}"
        );
        assert!(o
            .evidence
            .iter()
            .any(|e| e.observed == json!("acts on dataprotection-microsoft (effect Deny)")));
    }

    #[test]
    fn excluded_audited_or_unenforced_policies_pass() {
        for properties in [
            json!({"parameters": {"excludedNamespaces": {"value": ["kube-system", "dataprotection-microsoft"]}}}),
            json!({"parameters": {"effect": {"value": "Audit"}}}),
            json!({"enforcementMode": "DoNotEnforce"}),
            json!({"notScopes": [CLUSTER]}),
        ] {
            let o = run(&scenario(assignment(
                "NoPrivileged",
                K8S_DEFINITION,
                properties.clone(),
            )));
            assert_eq!(o.status, Status::Pass, "{properties}: {}", o.message);
        }
    }

    #[test]
    fn unreadable_assignments_or_definitions_are_an_error() {
        let mut s = scenario(assignment("NoPrivileged", K8S_DEFINITION, json!({})));
        s.fail(
            &ArmRead::PolicyDefinition(K8S_DEFINITION.into()),
            403,
            "AuthorizationFailed",
        );
        assert_eq!(run(&s).status, Status::Error);
        s.fail(
            &ArmRead::PolicyAssignments(s.target_ids().cluster),
            403,
            "AuthorizationFailed",
        );
        let o = run(&s);
        assert_eq!(o.status, Status::Error);
        assert!(o.message.contains("policyAssignments"), "{}", o.message);
    }

    #[test]
    fn egress_is_open_through_a_load_balancer_and_restricted_otherwise() {
        let s = Scenario::new();
        let o = EGRESS_FQDNS.judge(&s.facts());
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "outbound type loadBalancer: egress is not restricted by a firewall route"
        );
        for (outbound, private, why) in [
            (
                "userDefinedRouting",
                false,
                "outbound type userDefinedRouting",
            ),
            (
                "loadBalancer",
                true,
                "a private cluster with outbound type loadBalancer",
            ),
        ] {
            let mut s = Scenario::new();
            s.edit_cluster(|c| {
                c["properties"]["networkProfile"] = json!({"outboundType": outbound});
                c["properties"]["apiServerAccessProfile"] =
                    json!({"enablePrivateCluster": private});
            });
            let o = EGRESS_FQDNS.judge(&s.facts());
            assert_eq!(o.status, Status::Warn);
            assert!(o.message.starts_with(why), "{}", o.message);
            let fix = o.remediation.unwrap();
            assert!(
                fix.starts_with(
                    "# allow these FQDNs (application rules) on the cluster's firewall:\n"
                ),
                "{fix}"
            );
            assert!(
                fix.contains(&requirements::azure_backup().egress_fqdns[0]),
                "{fix}"
            );
        }
    }
}
