//! Network facts: which NSGs apply to the cluster's nodes (checks.md §6: those of the
//! subnets in `agentPoolProfiles[].vnetSubnetID`, and those in the node resource group),
//! parsed once into the rules `crate::nsg` evaluates.

use super::access::node_resource_group;
use super::{observe, ByRead, Cluster, Facts, List, Observed};
use crate::ids::{same_id, ResourceId};
use crate::nsg::{self, Rule};
use crate::reads::{ArmRead, RawReads};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireNsg {
    id: String,
    name: String,
    properties: WireNsgProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireNsgProperties {
    security_rules: Vec<WireRule>,
    default_security_rules: Option<Vec<WireRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRule {
    name: String,
    properties: WireRuleProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireRuleProperties {
    protocol: String,
    source_address_prefix: Option<String>,
    source_address_prefixes: Vec<String>,
    destination_address_prefix: Option<String>,
    destination_address_prefixes: Vec<String>,
    destination_port_range: Option<String>,
    destination_port_ranges: Vec<String>,
    source_application_security_groups: Vec<Value>,
    destination_application_security_groups: Vec<Value>,
    access: String,
    priority: u32,
    direction: String,
}

/// A rule uses either the singular field or the plural array; live responses often carry
/// both, with an empty array beside the singular value.
fn singular_or_plural(single: Option<String>, plural: Vec<String>) -> Vec<String> {
    if plural.is_empty() {
        single.into_iter().filter(|s| !s.is_empty()).collect()
    } else {
        plural
    }
}

impl From<WireRule> for Rule {
    fn from(w: WireRule) -> Rule {
        let p = w.properties;
        Rule {
            name: w.name,
            priority: p.priority,
            inbound: p.direction.eq_ignore_ascii_case("Inbound"),
            allow: p.access.eq_ignore_ascii_case("Allow"),
            protocol: if p.protocol.is_empty() {
                "*".into()
            } else {
                p.protocol
            },
            sources: singular_or_plural(p.source_address_prefix, p.source_address_prefixes),
            destinations: singular_or_plural(
                p.destination_address_prefix,
                p.destination_address_prefixes,
            ),
            destination_ports: singular_or_plural(
                p.destination_port_range,
                p.destination_port_ranges,
            ),
            uses_application_security_groups: !p.source_application_security_groups.is_empty()
                || !p.destination_application_security_groups.is_empty(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireSubnet {
    properties: WireSubnetProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireSubnetProperties {
    network_security_group: Option<WireReference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireReference {
    id: String,
}

/// One NSG, with its rules (Azure's default rules included).
#[derive(Clone)]
pub struct Nsg {
    pub id: String,
    pub name: String,
    pub rules: Vec<Rule>,
}

impl From<WireNsg> for Nsg {
    fn from(wire: WireNsg) -> Nsg {
        let mut rules: Vec<Rule> = wire
            .properties
            .security_rules
            .into_iter()
            .map(Into::into)
            .collect();
        match wire.properties.default_security_rules {
            Some(defaults) if !defaults.is_empty() => {
                rules.extend(defaults.into_iter().map(Rule::from))
            }
            _ => rules.extend(nsg::default_rules()),
        }
        Nsg {
            id: wire.id,
            name: wire.name,
            rules,
        }
    }
}

/// One NSG that applies to the nodes, with how it applies and its rules (defaults included).
pub struct AppliedNsg {
    pub id: String,
    pub name: String,
    pub applies_through: String,
    pub rules: Vec<Rule>,
}

impl Nsg {
    fn applied(self, applies_through: String) -> AppliedNsg {
        AppliedNsg {
            id: self.id,
            name: self.name,
            applies_through,
            rules: self.rules,
        }
    }
}

/// The network facts of the run: the node resource group's NSGs, the NSG each node subnet
/// names, the NSGs read on their own, and from them the NSGs that apply to the nodes.
pub struct Network {
    /// The NSGs listed in the node resource group (none when the cluster names no group).
    pub node_group_nsgs: Observed<Vec<Nsg>>,
    subnets: ByRead<Option<ResourceId>>,
    nsgs: ByRead<Nsg>,
    /// Every NSG that applies to the nodes, each once; any unreadable one makes it unobserved.
    pub applicable: Observed<Vec<AppliedNsg>>,
}

impl Network {
    pub(super) fn derive(raws: &RawReads, cluster_id: &ResourceId, cluster: &Cluster) -> Network {
        let node_group_nsgs = match node_resource_group(cluster_id, cluster) {
            Some(group) => observe::<List<WireNsg>>(raws, &ArmRead::NetworkSecurityGroups(group))
                .map(|l| l.value.into_iter().map(Nsg::from).collect()),
            None => Ok(Vec::new()),
        };
        let mut network = Network {
            node_group_nsgs,
            subnets: ByRead::default(),
            nsgs: ByRead::default(),
            applicable: Ok(Vec::new()),
        };
        let subnets = node_subnets(cluster);
        for subnet in &subnets {
            network.subnets.observe(
                raws,
                &ArmRead::Subnet(subnet.clone()),
                |wire: WireSubnet| {
                    wire.properties
                        .network_security_group
                        .and_then(|r| ResourceId::parse(&r.id).ok())
                },
            );
            if let Ok(Some(nsg)) = network.subnet_nsg(subnet) {
                let read = ArmRead::NetworkSecurityGroup(nsg.clone());
                network
                    .nsgs
                    .observe(raws, &read, |wire: WireNsg| Nsg::from(wire));
            }
        }
        network.applicable = network.applicable_nsgs(&subnets);
        network
    }

    /// The NSG a subnet names, once the subnet has been read.
    pub fn subnet_nsg(&self, subnet: &ResourceId) -> Observed<Option<&ResourceId>> {
        self.subnets
            .get(&ArmRead::Subnet(subnet.clone()))
            .map(Option::as_ref)
    }

    /// Whether an NSG comes with the node resource group's list (no read of its own needed).
    pub fn listed_with_node_group(&self, nsg: &ResourceId) -> bool {
        self.node_group_nsgs
            .as_ref()
            .is_ok_and(|list| list.iter().any(|n| same_id(&n.id, nsg.as_str())))
    }

    fn applicable_nsgs(&self, subnets: &[ResourceId]) -> Observed<Vec<AppliedNsg>> {
        let mut applied: Vec<AppliedNsg> = Vec::new();
        let mut listed = self.node_group_nsgs.clone()?;
        for subnet in subnets {
            let Some(nsg_id) = self.subnet_nsg(subnet)? else {
                continue;
            };
            let through = format!("subnet {}", subnet.name());
            if let Some(existing) = applied.iter_mut().find(|n| same_id(&n.id, nsg_id.as_str())) {
                existing.applies_through.push_str(&format!(", {through}"));
                continue;
            }
            let nsg = match listed.iter().position(|n| same_id(&n.id, nsg_id.as_str())) {
                Some(index) => listed.remove(index),
                None => self
                    .nsgs
                    .get(&ArmRead::NetworkSecurityGroup(nsg_id.clone()))?
                    .clone(),
            };
            applied.push(nsg.applied(through));
        }
        applied.extend(
            listed
                .into_iter()
                .map(|n| n.applied("the node resource group".into())),
        );
        Ok(applied)
    }
}

impl Facts {
    /// The node pools' subnets, each once.
    pub fn node_subnets(&self) -> Vec<ResourceId> {
        node_subnets(&self.cluster)
    }
}

fn node_subnets(cluster: &Cluster) -> Vec<ResourceId> {
    let mut subnets: Vec<ResourceId> = cluster
        .properties
        .agent_pool_profiles
        .iter()
        .filter_map(|p| ResourceId::parse(p.vnet_subnet_id.as_deref()?).ok())
        .collect();
    subnets.dedup_by(|a, b| a == b);
    subnets
}
