//! Azure Policy and egress checks for Azure Backup: no Kubernetes policy acts on the
//! extension's namespace, and a cluster with restricted egress is told which FQDNs its
//! firewall must allow.

use super::{Check, Evidence, Judgement, Outcome, Uses, AZURE_BACKUP};
use crate::facts::{Facts, Require, BACKUP_NAMESPACE};
use crate::requirements;

pub const AZURE_POLICY_EXCLUSION: Check = Check {
    id: "azure-policy-exclusion",
    title: "Azure Policy leaves the dataprotection-microsoft namespace alone",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: "\
Verifies that every Kubernetes Azure Policy (definition mode Microsoft.Kubernetes.Data) assigned at or above the cluster, directly or inside an initiative, leaves namespace dataprotection-microsoft alone: it is in the policy's excludedNamespaces (the assignment's value, the initiative's parameter it refers to, or the definition's default), the assignment is DoNotEnforce, or its effect is audit or disabled. Assignments whose notScopes cover the cluster do not apply.
Why: the prerequisites page asks to exclude the extension's namespace from Azure policies; policies that deny or mutate its pods break backups and restores.
Reads: GET {cluster}/providers/Microsoft.Authorization/policyAssignments?$filter=atScope(), then each assigned policy definition or initiative and its members.
Otherwise: warn, naming the assignment and policy; fix by adding dataprotection-microsoft to the assignment's excludedNamespaces parameter.",
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
    explain: "\
Verifies the cluster's outbound path: outboundType loadBalancer, managedNATGateway or userAssignedNATGateway gives unrestricted egress (pass). userDefinedRouting (a firewall route) or a private cluster warns, listing the FQDNs of the prerequisites page that the firewall must allow for the extension to install and run.
Reads: the managed cluster (networkProfile.outboundType, apiServerAccessProfile.enablePrivateCluster).",
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
