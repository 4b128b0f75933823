//! Network facts: which NSGs apply to the cluster's nodes (checks.md §6: those of the
//! subnets in `agentPoolProfiles[].vnetSubnetID`, and those in the node resource group),
//! parsed into the rules `crate::nsg` evaluates.

use super::{observe, Facts, List, Observed};
use crate::ids::{same_id, ResourceId};
use crate::nsg::{self, Rule};
use crate::reads::ArmRead;
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

/// One NSG that applies to the nodes, with how it applies and its rules (defaults included).
pub struct AppliedNsg {
    pub id: String,
    pub name: String,
    pub applies_through: String,
    pub rules: Vec<Rule>,
}

impl WireNsg {
    fn applied(self, applies_through: String) -> AppliedNsg {
        let mut rules: Vec<Rule> = self
            .properties
            .security_rules
            .into_iter()
            .map(Into::into)
            .collect();
        match self.properties.default_security_rules {
            Some(defaults) if !defaults.is_empty() => {
                rules.extend(defaults.into_iter().map(Rule::from))
            }
            _ => rules.extend(nsg::default_rules()),
        }
        AppliedNsg {
            id: self.id,
            name: self.name,
            applies_through,
            rules,
        }
    }
}

impl Facts {
    /// The node pools' subnets, each once.
    pub fn node_subnets(&self) -> Vec<ResourceId> {
        let mut subnets: Vec<ResourceId> = self
            .cluster
            .properties
            .agent_pool_profiles
            .iter()
            .filter_map(|p| ResourceId::parse(p.vnet_subnet_id.as_deref()?).ok())
            .collect();
        subnets.dedup_by(|a, b| a == b);
        subnets
    }

    /// The NSG a subnet names, once the subnet has been read.
    pub fn subnet_nsg(&self, subnet: &ResourceId) -> Observed<Option<ResourceId>> {
        let wire: WireSubnet = observe(&self.raws, &ArmRead::Subnet(subnet.clone()))?;
        Ok(wire
            .properties
            .network_security_group
            .and_then(|r| ResourceId::parse(&r.id).ok()))
    }

    fn node_group_nsgs(&self) -> Observed<Vec<WireNsg>> {
        let Some(group) = self.node_resource_group() else {
            return Ok(Vec::new());
        };
        observe::<List<WireNsg>>(&self.raws, &ArmRead::NetworkSecurityGroups(group))
            .map(|l| l.value)
    }

    /// Whether an NSG's body comes with the node resource group's list (no separate read needed).
    pub fn listed_with_node_group(&self, nsg: &ResourceId) -> bool {
        self.node_group_nsgs()
            .is_ok_and(|list| list.iter().any(|n| same_id(&n.id, nsg.as_str())))
    }

    /// Every NSG that applies to the nodes, each once; any unreadable one makes it an error.
    pub fn applicable_nsgs(&self) -> Observed<Vec<AppliedNsg>> {
        let mut applied: Vec<AppliedNsg> = Vec::new();
        let mut listed = self.node_group_nsgs()?;
        for subnet in self.node_subnets() {
            let Some(nsg_id) = self.subnet_nsg(&subnet)? else {
                continue;
            };
            let through = format!("subnet {}", subnet.name());
            if let Some(existing) = applied.iter_mut().find(|n| same_id(&n.id, nsg_id.as_str())) {
                existing.applies_through.push_str(&format!(", {through}"));
                continue;
            }
            let wire = match listed.iter().position(|n| same_id(&n.id, nsg_id.as_str())) {
                Some(index) => listed.remove(index),
                None => observe(&self.raws, &ArmRead::NetworkSecurityGroup(nsg_id.clone()))?,
            };
            applied.push(wire.applied(through));
        }
        applied.extend(
            listed
                .into_iter()
                .map(|n| n.applied("the node resource group".into())),
        );
        Ok(applied)
    }
}
