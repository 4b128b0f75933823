//! NSG checks: PXB's ports reachable through every NSG on the nodes, and inbound from the
//! AzureBackup and AzureCloud service tags allowed (Azure Backup prerequisites page).
//! Each NSG is evaluated on its own by `crate::nsg`; the deciding rule is the evidence.

use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, AZURE_BACKUP, PXB};
use crate::facts::{AppliedNsg, Facts, Require, Unobserved};
use crate::ids::ResourceId;
use crate::nsg::{evaluate, Decision, Endpoint, Flow};
use crate::probe::Protocol;
use crate::reads::{API_CONTAINER_SERVICE, API_NETWORK};

/// Where the NSG checks find the NSGs that apply to the nodes, and their rules.
const NSG_READS: &[Read] = &[
    Read::Arm {
        call: "GET {cluster}",
        api_version: API_CONTAINER_SERVICE,
        note: "properties.agentPoolProfiles[].vnetSubnetID, properties.nodeResourceGroup",
    },
    Read::Arm {
        call: "GET {subnet}",
        api_version: API_NETWORK,
        note: "each node subnet's networkSecurityGroup",
    },
    Read::Arm {
        call: "GET {networkSecurityGroup}",
        api_version: API_NETWORK,
        note: "each NSG of a node subnet, its securityRules and defaultSecurityRules",
    },
    Read::Arm {
        call: "GET /subscriptions/{sub}/resourceGroups/{nodeResourceGroup}/providers/Microsoft.Network/networkSecurityGroups",
        api_version: API_NETWORK,
        note: "the NSGs of the node resource group",
    },
];

pub const PXB_NSG_PORTS: Check = Check {
    id: "pxb-nsg-ports",
    title: "NSGs do not block PXB ports 10001/10002",
    profiles: PXB,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "no NSG on the node subnets (agentPoolProfiles[].vnetSubnetID) or in the node resource group denies inbound TCP to the PXB REST and gRPC ports (10001 and 10002, or --pxb-rest-port/--pxb-grpc-port) from the PXB clients (--pxb-client-source, default the VirtualNetwork tag) ahead of an allow.",
        how: Some("each NSG on its own, rules in priority order, first match wins, default rules included; rules with application security groups, or CIDRs that cannot be compared with a tag offline, are reported as undecidable (warn)."),
        why: "PXB's UI and CLI, and application clusters, reach the PXB server on these ports.",
        reads: NSG_READS,
        fix: "add an inbound allow for TCP 10001-10002 with a priority lower (earlier) than the denying rule.",
    },
    run: pxb_nsg_ports,
};

/// The NSGs on the nodes; `None` when none applies (both NSG checks then pass).
fn applicable_nsgs(facts: &Facts) -> Result<Option<&[AppliedNsg]>, Unobserved> {
    let nsgs = facts.network.applicable.require()?;
    Ok((!nsgs.is_empty()).then_some(nsgs.as_slice()))
}

fn no_nsg_applies() -> Outcome {
    Outcome::pass("no NSG applies to the node subnets or the node resource group")
}

fn rule_text(nsg: &AppliedNsg, decision: &Decision) -> String {
    match decision {
        Decision::Allowed(r) => format!(
            "{} rule {} (priority {}) allows",
            nsg.name, r.name, r.priority
        ),
        Decision::Denied { rule, partly } => {
            let how = if *partly {
                "denies part of it"
            } else {
                "denies"
            };
            format!(
                "{} rule {} (priority {}) {how}",
                nsg.name, rule.name, rule.priority
            )
        }
        Decision::Undecidable { rule, why } => format!(
            "{} rule {} (priority {}) is undecidable: {why}",
            nsg.name, rule.name, rule.priority
        ),
        Decision::NoRule => format!("{}: no rule matches", nsg.name),
    }
}

/// Priorities Azure accepts for rules a user creates.
const USER_PRIORITIES: std::ops::RangeInclusive<u32> = 100..=4096;

/// The `--priority` of the fix: the free inbound priority closest ahead of (lower than) the
/// deciding rule's, since Azure refuses two rules of one direction with the same priority;
/// a placeholder when every user priority ahead of it is taken.
fn priority_before(nsg: &AppliedNsg, rule_priority: u32) -> String {
    let taken = |p: u32| nsg.rules.iter().any(|r| r.inbound && r.priority == p);
    (*USER_PRIORITIES.start()..rule_priority.min(*USER_PRIORITIES.end() + 1))
        .rev()
        .find(|p| !taken(*p))
        .map_or_else(
            || {
                format!(
                    "<free priority below {rule_priority}: renumber a rule of {} first>",
                    nsg.name
                )
            },
            |p| p.to_string(),
        )
}

fn pxb_nsg_ports(facts: &Facts) -> Judgement {
    let Some(nsgs) = applicable_nsgs(facts)? else {
        return Ok(no_nsg_applies());
    };
    let endpoint = &facts.target.pxb;
    let ports = [endpoint.rest_port, endpoint.grpc_port];
    let mut denied = Vec::new();
    let mut undecidable = Vec::new();
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    for nsg in nsgs {
        for port in ports {
            let flow = Flow {
                source: Endpoint::parse(&endpoint.client_source),
                protocol: Some("Tcp".into()),
                port: Some(port),
            };
            let decision = evaluate(&nsg.rules, &flow);
            let text = rule_text(nsg, &decision);
            evidence.push(Evidence::note(
                &nsg.id,
                &format!(
                    "inbound TCP {port} from {} ({})",
                    endpoint.client_source, nsg.applies_through
                ),
                text.clone(),
            ));
            match decision {
                Decision::Denied { rule, .. } => {
                    denied.push(format!("port {port}: {text}"));
                    if let Ok(id) = ResourceId::parse(&nsg.id) {
                        fixes.push(format!(
                            "az network nsg rule create -g {} --nsg-name {} -n AllowPxbPorts --priority {} --direction Inbound --access Allow --protocol Tcp --source-address-prefixes {} --destination-port-ranges {} {}",
                            id.resource_group().unwrap_or_default(), nsg.name, priority_before(nsg, rule.priority), endpoint.client_source, ports[0], ports[1]
                        ));
                    }
                }
                Decision::Undecidable { .. } => undecidable.push(format!("port {port}: {text}")),
                Decision::Allowed(_) | Decision::NoRule => {}
            }
        }
    }
    fixes.dedup();
    let outcome = if !denied.is_empty() {
        let o = Outcome::fail(denied.join("; "));
        if fixes.is_empty() {
            o
        } else {
            o.fix(fixes.join("\n"))
        }
    } else if !undecidable.is_empty() {
        Outcome::warn(undecidable.join("; "))
    } else {
        Outcome::pass(format!(
            "every NSG ({}) lets TCP {} and {} in from {}",
            nsgs.len(),
            ports[0],
            ports[1],
            endpoint.client_source
        ))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

pub const NSG_BACKUP_SERVICE_TAGS: Check = Check {
    id: "nsg-backup-service-tags",
    title: "NSGs allow inbound from AzureBackup and AzureCloud",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "every NSG on the node subnets or in the node resource group has an inbound allow whose source is the AzureBackup service tag, and separately the AzureCloud tag, not shadowed by a higher-priority deny for that source (a rule from AzureCloud or Internet covers AzureBackup; a regional AzureCloud.<region> rule covers only part of AzureCloud). The node resource group's NSG as AKS keeps it (default rules, and the rules AKS adds for LoadBalancer services: k8s-azure-lb_*, shared-<protocol>-<port>-*, a<service UID>-<protocol>-<port>-*) needs no such rule: Azure Backup works on a default cluster. Otherwise: warn, naming the NSG and the deciding rule.",
        how: Some("as pxb-nsg-ports, with the source tag as the flow and any protocol and port."),
        why: "the Azure Backup prerequisites page asks for an inbound rule allowing the azurebackup and azurecloud service tags.",
        reads: NSG_READS,
        fix: "add an inbound allow from the AzureBackup and AzureCloud tags with a priority lower (earlier) than the deciding rule.",
    },
    run: nsg_backup_service_tags,
};

const BACKUP_TAGS: [&str; 2] = ["AzureBackup", "AzureCloud"];

/// A rule the cloud provider of AKS writes for a LoadBalancer service:
/// `k8s-azure-lb_…`, `shared-TCP-80-Internet`, or the older per-service
/// `a<service UID, 31 hex digits>-TCP-80-Internet`.
fn is_aks_load_balancer_rule(name: &str) -> bool {
    let per_service = |rest: &str| {
        let mut parts = rest.splitn(3, '-');
        let protocol = parts.next().unwrap_or_default();
        let port = parts.next().unwrap_or_default();
        ["TCP", "UDP", "SCTP"]
            .iter()
            .any(|p| p.eq_ignore_ascii_case(protocol))
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && parts.next().is_some_and(|source| !source.is_empty())
    };
    let service_uid = name
        .strip_prefix('a')
        .and_then(|rest| rest.get(..31).zip(rest.get(31..)))
        .filter(|(uid, _)| uid.bytes().all(|b| b.is_ascii_hexdigit()));
    name.starts_with("k8s-azure-lb_")
        || name.strip_prefix("shared-").is_some_and(per_service)
        || service_uid.is_some_and(|(_, rest)| rest.strip_prefix('-').is_some_and(per_service))
}

/// The node resource group's NSG as AKS keeps it: default rules (priorities above the
/// user range) and AKS's own only.
fn is_aks_managed(facts: &Facts, nsg: &AppliedNsg) -> bool {
    ResourceId::parse(&nsg.id).is_ok_and(|id| facts.network.listed_with_node_group(&id))
        && nsg
            .rules
            .iter()
            .all(|r| !USER_PRIORITIES.contains(&r.priority) || is_aks_load_balancer_rule(&r.name))
}

fn nsg_backup_service_tags(facts: &Facts) -> Judgement {
    let Some(nsgs) = applicable_nsgs(facts)? else {
        return Ok(no_nsg_applies());
    };
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    let (managed, nsgs): (Vec<&AppliedNsg>, Vec<&AppliedNsg>) =
        nsgs.iter().partition(|nsg| is_aks_managed(facts, nsg));
    for nsg in &managed {
        evidence.push(Evidence::note(
            &nsg.id,
            &format!("rules ({})", nsg.applies_through),
            "only default and AKS-managed rules: Azure Backup works with them",
        ));
    }
    for nsg in &nsgs {
        for tag in BACKUP_TAGS {
            let flow = Flow {
                source: Endpoint::Tag(tag.into()),
                protocol: None,
                port: None,
            };
            let decision = evaluate(&nsg.rules, &flow);
            let text = rule_text(nsg, &decision);
            evidence.push(Evidence::note(
                &nsg.id,
                &format!("inbound from {tag} ({})", nsg.applies_through),
                text.clone(),
            ));
            let blocking_priority = match decision {
                Decision::Allowed(_) => continue,
                Decision::Denied { rule, .. } | Decision::Undecidable { rule, .. } => rule.priority,
                Decision::NoRule => 4096,
            };
            problems.push(format!("{tag}: {text}"));
            if let Ok(id) = ResourceId::parse(&nsg.id) {
                fixes.push(format!(
                    "az network nsg rule create -g {} --nsg-name {} -n Allow{tag}Inbound --priority {} --direction Inbound --access Allow --protocol '*' --source-address-prefixes {tag} --destination-port-ranges '*'",
                    id.resource_group().unwrap_or_default(), nsg.name, priority_before(nsg, blocking_priority)
                ));
            }
        }
    }
    let outcome = if problems.is_empty() {
        let managed_note = (!managed.is_empty()).then(|| {
            let names: Vec<&str> = managed.iter().map(|n| n.name.as_str()).collect();
            format!(
                "{} {} only default and AKS-managed rules, with which Azure Backup works",
                names.join(", "),
                if names.len() == 1 { "holds" } else { "hold" }
            )
        });
        Outcome::pass(match (nsgs.is_empty(), managed_note) {
            (true, Some(note)) => note,
            (false, Some(note)) => format!(
                "every other NSG ({}) allows inbound from AzureBackup and AzureCloud; {note}",
                nsgs.len()
            ),
            (_, None) => format!(
                "every NSG ({}) allows inbound from AzureBackup and AzureCloud",
                nsgs.len()
            ),
        })
    } else {
        Outcome::warn(problems.join("; ")).fix(fixes.join("\n"))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

pub const PXB_PORTS: Check = Check {
    id: "pxb-ports",
    title: "PXB server answers on its REST and gRPC ports",
    profiles: PXB,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "with --pxb-endpoint HOST: connects to the REST port (10001, --pxb-rest-port) and the gRPC port (10002, --pxb-grpc-port) concurrently, each within --probe-timeout-ms, and checks each answers its protocol: an HTTP/1.1 status line to a plain GET on REST, an HTTP/2 SETTINGS frame to the client preface on gRPC. Refused, timed out (connecting, or silent after connecting) and wrong protocol are reported apart, with the elapsed time.",
        how: None,
        why: "PXB's UI and CLI, and application clusters, reach the PXB server on these ports.",
        reads: &[
            Read::Other("a TCP connection to each port, and nothing from Azure; the probe runs from where the tool runs, so run it from where PXB clients will connect. Plaintext only: a TLS listener reads as wrong protocol."),
        ],
        fix: "check the PXB service (type LoadBalancer/NodePort), its pods, and the NSGs and firewalls between (see pxb-nsg-ports).",
    },
    run: pxb_ports,
};

fn pxb_ports(facts: &Facts) -> Judgement {
    let Some(probes) = &facts.pxb_probes else {
        return Ok(Outcome::missing_input(
            &["--pxb-endpoint"],
            "no PXB server given: pass --pxb-endpoint HOST to test ports 10001 and 10002",
        ));
    };
    let host = facts.target.pxb.host.clone().unwrap_or_default();
    let mut failures = Vec::new();
    let mut evidence = Vec::new();
    for probe in probes {
        let (port, result) = (probe.port, probe.result.require()?);
        let (expected, name) = match probe.protocol {
            Protocol::Http1 => ("an HTTP/1.1 answer", "REST"),
            Protocol::Http2 => ("an HTTP/2 SETTINGS frame", "gRPC"),
        };
        let ms = result.elapsed_ms;
        let verdict = match (result.outcome.as_str(), result.stage.as_deref()) {
            ("answered", _) => None,
            ("refused", _) => Some(format!("connection refused ({ms} ms)")),
            ("timeout", Some("connect")) => Some(format!("no connection within {ms} ms (filtered or unreachable)")),
            ("timeout", _) => Some(format!("accepted the connection but answered nothing within {ms} ms")),
            ("wrong-protocol", _) => Some(format!(
                "answered, but not with {expected} (first bytes: {:?}; a TLS listener also looks like this)",
                result.first_bytes.clone().unwrap_or_default()
            )),
            (other, _) => Some(format!("{other}: {}", result.detail.clone().unwrap_or_default())),
        };
        evidence.push(Evidence::new(
            &format!("{host}:{port}"),
            name,
            verdict
                .clone()
                .unwrap_or_else(|| format!("answered in {ms} ms")),
            expected,
        ));
        if let Some(v) = verdict {
            failures.push(format!("{name} port {port}: {v}"));
        }
    }
    let outcome = if failures.is_empty() {
        Outcome::pass(format!(
            "{host} answers HTTP on the REST port and HTTP/2 on the gRPC port"
        ))
    } else {
        Outcome::fail(failures.join("; "))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

#[cfg(test)]
mod tests {
    use super::super::testing::Scenario;
    use super::super::Status;
    use super::*;
    use crate::reads::ArmRead;
    use serde_json::{json, Value};

    const NODE_GROUP: &str = "/subscriptions/sub1/resourceGroups/MC_rg1_aks1_eastus";

    /// A security rule in the shape of Microsoft's `networkSecurityGroups_get` example.
    fn rule(
        name: &str,
        priority: u32,
        access: &str,
        direction: &str,
        source: &str,
        port: &str,
    ) -> Value {
        json!({
            "name": name,
            "id": format!("{NODE_GROUP}/providers/Microsoft.Network/networkSecurityGroups/nodes-nsg/securityRules/{name}"),
            "properties": {
                "provisioningState": "Succeeded", "protocol": "*", "sourcePortRange": "*",
                "destinationPortRange": port, "sourceAddressPrefix": source,
                "destinationAddressPrefix": "*", "access": access, "priority": priority, "direction": direction
            }
        })
    }

    /// The node resource group's NSG with `rules` ahead of Azure's default inbound rules.
    fn nsg(rules: Vec<Value>) -> Value {
        json!({
            "name": "nodes-nsg",
            "id": format!("{NODE_GROUP}/providers/Microsoft.Network/networkSecurityGroups/nodes-nsg"),
            "type": "Microsoft.Network/networkSecurityGroups",
            "location": "eastus",
            "properties": {
                "provisioningState": "Succeeded",
                "securityRules": rules,
                "defaultSecurityRules": [
                    rule("AllowVnetInBound", 65000, "Allow", "Inbound", "VirtualNetwork", "*"),
                    rule("AllowAzureLoadBalancerInBound", 65001, "Allow", "Inbound", "AzureLoadBalancer", "*"),
                    rule("DenyAllInBound", 65500, "Deny", "Inbound", "*", "*")
                ]
            }
        })
    }

    fn node_group_read() -> ArmRead {
        ArmRead::NetworkSecurityGroups(ResourceId::parse(NODE_GROUP).unwrap())
    }

    fn with_nsgs(nsgs: Vec<Value>) -> Scenario {
        let mut s = Scenario::new();
        s.set(&node_group_read(), json!({ "value": nsgs }));
        s
    }

    #[test]
    fn pxb_ports_pass_through_the_default_vnet_rule_and_without_nsgs() {
        let o = PXB_NSG_PORTS.judge(
            &with_nsgs(vec![nsg(vec![rule(
                "rule1", 130, "Allow", "Inbound", "*", "80",
            )])])
            .facts(),
        );
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert!(
            o.message
                .contains("lets TCP 10001 and 10002 in from VirtualNetwork"),
            "{}",
            o.message
        );
        assert!(o.evidence.iter().any(
            |e| e.observed == json!("nodes-nsg rule AllowVnetInBound (priority 65000) allows")
        ));
        let none = PXB_NSG_PORTS.judge(&with_nsgs(Vec::new()).facts());
        assert_eq!(none.status, Status::Pass);
        assert!(none.message.contains("no NSG applies"));
    }

    #[test]
    fn a_deny_ahead_fails_with_a_free_priority_before_it() {
        let s = with_nsgs(vec![nsg(vec![
            rule("DenyPxb", 200, "Deny", "Inbound", "*", "10001-10002"),
            rule("AllowSsh", 199, "Allow", "Inbound", "VirtualNetwork", "22"),
            rule(
                "AllowHttps",
                198,
                "Allow",
                "Inbound",
                "VirtualNetwork",
                "443",
            ),
            rule("DenyOut", 197, "Deny", "Outbound", "*", "*"),
        ])]);
        let o = PXB_NSG_PORTS.judge(&s.facts());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("port 10001: nodes-nsg rule DenyPxb (priority 200) denies"),
            "{}",
            o.message
        );
        // 199 and 198 are taken by inbound rules; an outbound rule's priority does not count.
        assert_eq!(
            o.remediation.as_deref(),
            Some("az network nsg rule create -g MC_rg1_aks1_eastus --nsg-name nodes-nsg -n AllowPxbPorts --priority 197 --direction Inbound --access Allow --protocol Tcp --source-address-prefixes VirtualNetwork --destination-port-ranges 10001 10002")
        );
    }

    #[test]
    fn no_free_priority_ahead_gives_a_placeholder() {
        let s = with_nsgs(vec![nsg(vec![
            rule("DenyPxb", 101, "Deny", "Inbound", "*", "*"),
            rule("AllowSsh", 100, "Allow", "Inbound", "Internet", "22"),
        ])]);
        let fix = PXB_NSG_PORTS.judge(&s.facts()).remediation.unwrap();
        assert!(
            fix.contains(
                "--priority <free priority below 101: renumber a rule of nodes-nsg first>"
            ),
            "{fix}"
        );
    }

    #[test]
    fn an_unknown_address_against_a_tag_warns() {
        let s = with_nsgs(vec![nsg(vec![rule(
            "DenyCorp",
            300,
            "Deny",
            "Inbound",
            "10.20.0.0/16",
            "*",
        )])]);
        let o = PXB_NSG_PORTS.judge(&s.facts());
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message.contains("DenyCorp (priority 300) is undecidable"),
            "{}",
            o.message
        );
        assert_eq!(o.remediation, None);
    }

    #[test]
    fn unreadable_nsgs_are_an_error() {
        let mut s = Scenario::new();
        s.fail(&node_group_read(), 403, "AuthorizationFailed");
        for check in [&PXB_NSG_PORTS, &NSG_BACKUP_SERVICE_TAGS] {
            let o = check.judge(&s.facts());
            assert_eq!(o.status, Status::Error, "{}", check.id);
            assert!(o.message.contains("networkSecurityGroups"), "{}", o.message);
        }
    }

    #[test]
    fn backup_tags_allowed_pass_and_the_default_deny_warns_with_fixes() {
        let allowed = with_nsgs(vec![nsg(vec![
            rule(
                "AllowAzureBackup",
                100,
                "Allow",
                "Inbound",
                "AzureBackup",
                "*",
            ),
            rule(
                "AllowAzureCloud",
                110,
                "Allow",
                "Inbound",
                "AzureCloud",
                "*",
            ),
        ])]);
        let o = NSG_BACKUP_SERVICE_TAGS.judge(&allowed.facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert!(o
            .message
            .contains("allows inbound from AzureBackup and AzureCloud"));

        // A rule someone added makes the NSG one that must allow the tags.
        let user_rule = with_nsgs(vec![nsg(vec![rule(
            "AllowSsh",
            100,
            "Allow",
            "Inbound",
            "10.1.0.0/16",
            "22",
        )])]);
        let o = NSG_BACKUP_SERVICE_TAGS.judge(&user_rule.facts());
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(o.message.starts_with("AzureBackup: "), "{}", o.message);
        let fix = o.remediation.unwrap();
        // The default deny sits at 65500: the fix takes the last user priority, 4096.
        assert!(
            fix.contains("-n AllowAzureBackupInbound --priority 4096 --direction Inbound"),
            "{fix}"
        );
        assert!(
            fix.contains("-n AllowAzureCloudInbound --priority 4096"),
            "{fix}"
        );
    }

    /// The rules cloud-provider-azure adds to the node resource group's NSG for
    /// LoadBalancer services: current names and the older per-service ones.
    fn aks_load_balancer_rules() -> Vec<Value> {
        let mut current = rule(
            "k8s-azure-lb_allow_IPv4_556f7044ec0330b9a2f4c1d8e7a6b5c4",
            500,
            "Allow",
            "Inbound",
            "Internet",
            "*",
        );
        current["properties"]["destinationPortRanges"] = json!(["80", "443"]);
        current["properties"]["destinationAddressPrefix"] = json!("20.81.111.4");
        vec![
            current,
            rule(
                "a3b9e0c2f1d64f7a8b6c5d4e3f2a1b0c-TCP-80-Internet",
                501,
                "Allow",
                "Inbound",
                "Internet",
                "80",
            ),
            rule(
                "shared-TCP-443-Internet",
                502,
                "Allow",
                "Inbound",
                "Internet",
                "443",
            ),
        ]
    }

    #[test]
    fn aks_load_balancer_rules_are_told_by_name() {
        for name in [
            "k8s-azure-lb_allow_IPv4_556f7044ec0330b9a2f4c1d8e7a6b5c4",
            "k8s-azure-lb_deny-all_IPv6",
            "a3b9e0c2f1d64f7a8b6c5d4e3f2a1b0c-TCP-80-Internet",
            "a3b9e0c2f1d64f7a8b6c5d4e3f2a1b0c-udp-53-10.0.0.0_16",
            "shared-TCP-443-Internet",
        ] {
            assert!(is_aks_load_balancer_rule(name), "{name}");
        }
        for name in [
            "AllowSsh",
            "NRMS-Rule-101",
            "a3b9-TCP-80-Internet",
            "a3b9e0c2f1d64f7a8b6c5d4e3f2a1b0c-TCP-http-Internet",
            "a3b9e0c2f1d64f7a8b6c5d4e3f2a1b0c-TCP-80-",
            "azure-lb_allow",
            "shared-ICMP-0-Internet",
        ] {
            assert!(!is_aks_load_balancer_rule(name), "{name}");
        }
    }

    #[test]
    fn the_default_aks_nsg_does_not_warn() {
        let defaults_only = with_nsgs(vec![nsg(Vec::new())]);
        let o = NSG_BACKUP_SERVICE_TAGS.judge(&defaults_only.facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert!(
            o.message
                .contains("nodes-nsg holds only default and AKS-managed rules"),
            "{}",
            o.message
        );
        let with_load_balancer_rules = with_nsgs(vec![nsg(aks_load_balancer_rules())]);
        let o = NSG_BACKUP_SERVICE_TAGS.judge(&with_load_balancer_rules.facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }

    #[test]
    fn a_user_added_deny_in_the_aks_nsg_warns() {
        let mut rules = aks_load_balancer_rules();
        rules.push(rule(
            "DenyAzureCloud",
            400,
            "Deny",
            "Inbound",
            "AzureCloud",
            "*",
        ));
        let o = NSG_BACKUP_SERVICE_TAGS.judge(&with_nsgs(vec![nsg(rules)]).facts());
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message
                .contains("AzureCloud: nodes-nsg rule DenyAzureCloud (priority 400) denies"),
            "{}",
            o.message
        );
    }

    #[test]
    fn a_custom_subnet_nsg_without_the_tags_warns() {
        const SUBNET: &str = "/subscriptions/sub1/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/nodes";
        const SUBNET_NSG: &str = "/subscriptions/sub1/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/subnet-nsg";
        let mut s = with_nsgs(vec![nsg(Vec::new())]);
        s.edit_cluster(|c| {
            c["properties"]["agentPoolProfiles"] =
                json!([{"name": "nodepool1", "vnetSubnetID": SUBNET}]);
        });
        s.set(
            &ArmRead::Subnet(ResourceId::parse(SUBNET).unwrap()),
            json!({"id": SUBNET, "name": "nodes",
                   "properties": {"addressPrefix": "10.1.0.0/16", "networkSecurityGroup": {"id": SUBNET_NSG}}}),
        );
        let mut subnet_nsg = nsg(Vec::new());
        subnet_nsg["id"] = json!(SUBNET_NSG);
        subnet_nsg["name"] = json!("subnet-nsg");
        s.set(
            &ArmRead::NetworkSecurityGroup(ResourceId::parse(SUBNET_NSG).unwrap()),
            subnet_nsg,
        );
        let o = NSG_BACKUP_SERVICE_TAGS.judge(&s.facts());
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message
                .starts_with("AzureBackup: subnet-nsg rule DenyAllInBound (priority 65500) denies"),
            "{}",
            o.message
        );
        assert!(!o.message.contains("nodes-nsg"), "{}", o.message);
    }

    #[test]
    fn pxb_ports_skip_without_an_endpoint_and_judge_each_probe() {
        let mut s = Scenario::new();
        let o = PXB_PORTS.judge(&s.facts());
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("--pxb-endpoint"));
        s.target.pxb.host = Some("pxb.example".into());
        let probe = |port, protocol| ArmRead::Probe {
            host: "pxb.example".into(),
            port,
            protocol,
        };
        s.set(
            &probe(10001, Protocol::Http1),
            json!({"outcome": "answered", "elapsed_ms": 3}),
        );
        s.set(
            &probe(10002, Protocol::Http2),
            json!({"outcome": "answered", "elapsed_ms": 4}),
        );
        let o = PXB_PORTS.judge(&s.facts());
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        s.set(
            &probe(10002, Protocol::Http2),
            json!({"outcome": "refused", "elapsed_ms": 1}),
        );
        let o = PXB_PORTS.judge(&s.facts());
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.message, "gRPC port 10002: connection refused (1 ms)");
        s.fail(&probe(10001, Protocol::Http1), 403, "Forbidden");
        assert_eq!(PXB_PORTS.judge(&s.facts()).status, Status::Error);
    }
}
