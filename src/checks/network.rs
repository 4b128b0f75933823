//! NSG checks: PXB's ports reachable through every NSG on the nodes, and inbound from the
//! AzureBackup and AzureCloud service tags allowed (Azure Backup prerequisites page).
//! Each NSG is evaluated on its own by `crate::nsg`; the deciding rule is the evidence.

use super::{Check, Evidence, Judgement, Outcome, Uses, AZURE_BACKUP, PXB};
use crate::facts::{AppliedNsg, Facts, Require, Unobserved};
use crate::ids::ResourceId;
use crate::nsg::{evaluate, Decision, Endpoint, Flow};
use crate::probe::Protocol;

pub const PXB_NSG_PORTS: Check = Check {
    id: "pxb-nsg-ports",
    title: "NSGs do not block PXB ports 10001/10002",
    profiles: PXB,
    uses: Uses::Nothing,
    explain: "\
Verifies that no NSG on the node subnets (agentPoolProfiles[].vnetSubnetID) or in the node resource group denies inbound TCP to the PXB REST and gRPC ports (10001 and 10002, or --pxb-rest-port/--pxb-grpc-port) from the PXB clients (--pxb-client-source, default the VirtualNetwork tag) ahead of an allow.
How: each NSG on its own, rules in priority order, first match wins, default rules included; rules with application security groups, or CIDRs that cannot be compared with a tag offline, are reported as undecidable (warn).
Reads: the node subnets, their NSGs, the NSGs of the node resource group (Microsoft.Network, api-version 2024-05-01).
Fix: add an inbound allow for TCP 10001-10002 with a priority lower (earlier) than the denying rule.",
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

/// Lowest free priority just ahead of a rule, for the fix.
fn priority_before(rule_priority: u32) -> u32 {
    rule_priority.saturating_sub(1).max(100)
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
                            id.resource_group().unwrap_or_default(), nsg.name, priority_before(rule.priority), endpoint.client_source, ports[0], ports[1]
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
    explain: "\
Verifies that every NSG on the node subnets or in the node resource group has an inbound allow whose source is the AzureBackup service tag, and separately the AzureCloud tag, not shadowed by a higher-priority deny for that source (a rule from AzureCloud or Internet covers AzureBackup; a regional AzureCloud.<region> rule covers only part of AzureCloud).
Why: the Azure Backup prerequisites page asks for an inbound rule allowing the azurebackup and azurecloud service tags.
How and reads: as pxb-nsg-ports, with the source tag as the flow and any protocol and port.
Otherwise: warn, naming the NSG and the deciding rule.",
    run: nsg_backup_service_tags,
};

const BACKUP_TAGS: [&str; 2] = ["AzureBackup", "AzureCloud"];

fn nsg_backup_service_tags(facts: &Facts) -> Judgement {
    let Some(nsgs) = applicable_nsgs(facts)? else {
        return Ok(no_nsg_applies());
    };
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    for nsg in nsgs {
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
                    id.resource_group().unwrap_or_default(), nsg.name, priority_before(blocking_priority)
                ));
            }
        }
    }
    let outcome = if problems.is_empty() {
        Outcome::pass(format!(
            "every NSG ({}) allows inbound from AzureBackup and AzureCloud",
            nsgs.len()
        ))
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
    explain: "\
With --pxb-endpoint HOST: connects to the REST port (10001, --pxb-rest-port) and the gRPC port (10002, --pxb-grpc-port) concurrently, each within --probe-timeout-ms, and checks each answers its protocol: an HTTP/1.1 status line to a plain GET on REST, an HTTP/2 SETTINGS frame to the client preface on gRPC. Refused, timed out (connecting, or silent after connecting) and wrong protocol are reported apart, with the elapsed time.
Why: PXB's UI and CLI, and application clusters, reach the PXB server on these ports.
Reads: nothing from Azure; the probe runs from where the tool runs, so run it from where PXB clients will connect. Plaintext only: a TLS listener reads as wrong protocol.
Fix: check the PXB service (type LoadBalancer/NodePort), its pods, and the NSGs and firewalls between (see pxb-nsg-ports).",
    run: pxb_ports,
};

fn pxb_ports(facts: &Facts) -> Judgement {
    let Some(probes) = &facts.pxb_probes else {
        return Ok(Outcome::skip(
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
