//! Network security group evaluation with Azure's semantics: rules of one NSG in priority
//! order (lower first), first match wins, default rules included; protocols, singular and
//! plural port and prefix fields, port ranges, IPv4 and IPv6 prefixes, `*`, and service tags
//! (`VirtualNetwork`, `AzureLoadBalancer`, `Internet`, `AzureCloud`, regional
//! `AzureCloud.eastus` forms, ...). What cannot be decided offline (application security
//! groups, a CIDR against a service tag whose addresses are not known here) is reported as
//! undecidable, never guessed. Pure: no I/O.

use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    pub priority: u32,
    pub inbound: bool,
    pub allow: bool,
    pub protocol: String,
    pub sources: Vec<String>,
    pub destinations: Vec<String>,
    pub destination_ports: Vec<String>,
    pub uses_application_security_groups: bool,
}

/// Traffic to evaluate: inbound, from a source, optionally restricted to a protocol and
/// destination port (`None` means "any": the service-tag checks ask about the source alone).
#[derive(Clone, Debug)]
pub struct Flow {
    pub source: Endpoint,
    pub protocol: Option<String>,
    pub port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Endpoint {
    Tag(String),
    Net(Net),
}

impl Endpoint {
    /// A CIDR or address, else a service tag.
    pub fn parse(text: &str) -> Endpoint {
        Net::parse(text).map_or_else(|| Endpoint::Tag(text.trim().to_string()), Endpoint::Net)
    }
}

/// An IPv4 or IPv6 prefix (an address alone is a one-address prefix); host bits are masked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Net(IpNet);

impl Net {
    pub fn parse(text: &str) -> Option<Net> {
        let text = text.trim();
        let net = match text.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => IpNet::from(text.parse::<IpAddr>().ok()?),
        };
        Some(Net(net.trunc()))
    }

    fn contains(&self, other: &Net) -> bool {
        self.0.contains(&other.0)
    }

    fn overlaps(&self, other: &Net) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Private and shared ranges, where virtual-network addresses live (unique local for IPv6).
    fn is_private(&self) -> bool {
        [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "fc00::/7",
        ]
        .iter()
        .filter_map(|p| Net::parse(p))
        .any(|p| p.overlaps(self))
    }

    fn is_everything(&self) -> bool {
        self.0.prefix_len() == 0
    }
}

/// How much of the flow's traffic a rule's address field covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cover {
    None,
    Unknown,
    Part,
    All,
}

fn is_any(prefix: &str) -> bool {
    let p = prefix.trim();
    p == "*" || p.eq_ignore_ascii_case("Any") || Net::parse(p).is_some_and(|n| n.is_everything())
}

/// `AzureCloud.EastUS` → (`azurecloud`, Some(`eastus`)).
fn tag_parts(tag: &str) -> (String, Option<String>) {
    let lower = tag.trim().to_ascii_lowercase();
    match lower.split_once('.') {
        Some((base, region)) => (base.to_string(), Some(region.to_string())),
        None => (lower, None),
    }
}

const LOCAL_TAGS: [&str; 2] = ["virtualnetwork", "azureloadbalancer"];

fn tag_covers_tag(rule: &str, flow: &str) -> Cover {
    let ((rule_base, rule_region), (flow_base, flow_region)) = (tag_parts(rule), tag_parts(flow));
    if rule_base == flow_base {
        return match (rule_region, flow_region) {
            (None, _) => Cover::All,
            (Some(r), Some(f)) if r == f => Cover::All,
            (Some(_), Some(_)) => Cover::None,
            (Some(_), None) => Cover::Part,
        };
    }
    let flow_is_public = !LOCAL_TAGS.contains(&flow_base.as_str());
    match rule_base.as_str() {
        // Internet is every address outside the virtual network, Azure's public ranges included.
        "internet" if flow_is_public => Cover::All,
        // AzureCloud holds every Azure public range, so every Azure service tag.
        "azurecloud" if rule_region.is_none() && flow_is_public && flow_base != "internet" => {
            Cover::All
        }
        "azurecloud" if flow_is_public && flow_base != "internet" => Cover::Unknown,
        _ if flow_base == "internet" && !LOCAL_TAGS.contains(&rule_base.as_str()) => Cover::Part,
        _ if flow_base == "azurecloud"
            && !LOCAL_TAGS.contains(&rule_base.as_str())
            && rule_base != "internet" =>
        {
            Cover::Part
        }
        _ => Cover::None,
    }
}

fn prefix_covers(prefix: &str, flow: &Endpoint) -> Cover {
    if is_any(prefix) {
        return Cover::All;
    }
    match (Net::parse(prefix), flow) {
        (Some(rule), Endpoint::Net(net)) if rule.contains(net) => Cover::All,
        (Some(rule), Endpoint::Net(net)) if rule.overlaps(net) => Cover::Part,
        (Some(_), Endpoint::Net(_)) => Cover::None,
        (Some(rule), Endpoint::Tag(tag)) => {
            let local = LOCAL_TAGS.contains(&tag_parts(tag).0.as_str());
            // A private range can hold virtual-network addresses but no Azure public ones.
            match (local, rule.is_private()) {
                (true, true) | (false, false) => Cover::Unknown,
                _ => Cover::None,
            }
        }
        (None, Endpoint::Tag(tag)) => tag_covers_tag(prefix, tag),
        (None, Endpoint::Net(net)) => {
            let (base, _) = tag_parts(prefix);
            match base.as_str() {
                "internet" if !net.is_private() => Cover::All,
                "internet" => Cover::None,
                "virtualnetwork" | "azureloadbalancer" if !net.is_private() => Cover::None,
                _ => Cover::Unknown,
            }
        }
    }
}

/// The inbound flows here go to the cluster's nodes, which are inside the virtual network.
fn destination_covers(prefix: &str) -> Cover {
    if is_any(prefix) || prefix.eq_ignore_ascii_case("VirtualNetwork") {
        Cover::All
    } else if Net::parse(prefix).is_some() {
        Cover::Unknown
    } else {
        Cover::None
    }
}

fn best(covers: impl Iterator<Item = Cover>) -> Cover {
    covers.max().unwrap_or(Cover::None)
}

/// `*`, `10001`, `10000-10010`; `None` when the text is not a port range.
fn port_in(range: &str, port: u16) -> Option<bool> {
    let range = range.trim();
    if range == "*" {
        return Some(true);
    }
    match range.split_once('-') {
        Some((low, high)) => Some(
            (low.trim().parse::<u16>().ok()?..=high.trim().parse::<u16>().ok()?).contains(&port),
        ),
        None => Some(range.parse::<u16>().ok()? == port),
    }
}

fn protocol_matches(rule: &str, flow: Option<&str>) -> bool {
    let rule = rule.trim();
    rule == "*"
        || rule.eq_ignore_ascii_case("Any")
        || flow.is_none_or(|f| rule.eq_ignore_ascii_case(f))
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decision<'a> {
    Allowed(&'a Rule),
    /// `partly`: the rule blocks part of the flow (a subset of the source).
    Denied {
        rule: &'a Rule,
        partly: bool,
    },
    Undecidable {
        rule: &'a Rule,
        why: String,
    },
    /// No rule matched (only possible when an NSG reports no default rules).
    NoRule,
}

/// Evaluates one NSG's rules for an inbound flow: priority order, first match wins.
pub fn evaluate<'a>(rules: &'a [Rule], flow: &Flow) -> Decision<'a> {
    let mut ordered: Vec<&Rule> = rules.iter().filter(|r| r.inbound).collect();
    ordered.sort_by_key(|r| r.priority);
    for rule in ordered {
        if !protocol_matches(&rule.protocol, flow.protocol.as_deref()) {
            continue;
        }
        if let Some(port) = flow.port {
            let ports: Vec<Option<bool>> = rule
                .destination_ports
                .iter()
                .map(|r| port_in(r, port))
                .collect();
            if ports.contains(&None) {
                return Decision::Undecidable {
                    rule,
                    why: format!("unreadable port range in {:?}", rule.destination_ports),
                };
            }
            if !ports.contains(&Some(true)) {
                continue;
            }
        }
        if rule.uses_application_security_groups {
            return Decision::Undecidable {
                rule,
                why: "it uses application security groups, whose members are not known here".into(),
            };
        }
        let source = best(rule.sources.iter().map(|p| prefix_covers(p, &flow.source)));
        let destination = best(rule.destinations.iter().map(|p| destination_covers(p)));
        match source.min(destination) {
            Cover::None => continue,
            Cover::All if rule.allow => return Decision::Allowed(rule),
            Cover::All => return Decision::Denied { rule, partly: false },
            Cover::Part if rule.allow => continue,
            Cover::Part => return Decision::Denied { rule, partly: true },
            Cover::Unknown => {
                return Decision::Undecidable {
                    rule,
                    why: "whether its addresses cover the traffic cannot be known without the address ranges of the tags or networks involved".into(),
                }
            }
        }
    }
    Decision::NoRule
}

/// Azure's default rules, for NSG bodies that omit `defaultSecurityRules`.
pub fn default_rules() -> Vec<Rule> {
    let rule = |name: &str, priority, inbound, allow, source: &str, destination: &str| Rule {
        name: name.into(),
        priority,
        inbound,
        allow,
        protocol: "*".into(),
        sources: vec![source.into()],
        destinations: vec![destination.into()],
        destination_ports: vec!["*".into()],
        uses_application_security_groups: false,
    };
    vec![
        rule(
            "AllowVnetInBound",
            65000,
            true,
            true,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        rule(
            "AllowAzureLoadBalancerInBound",
            65001,
            true,
            true,
            "AzureLoadBalancer",
            "*",
        ),
        rule("DenyAllInBound", 65500, true, false, "*", "*"),
        rule(
            "AllowVnetOutBound",
            65000,
            false,
            true,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        rule("AllowInternetOutBound", 65001, false, true, "*", "Internet"),
        rule("DenyAllOutBound", 65500, false, false, "*", "*"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        name: &str,
        priority: u32,
        allow: bool,
        protocol: &str,
        source: &str,
        ports: &str,
    ) -> Rule {
        Rule {
            name: name.into(),
            priority,
            inbound: true,
            allow,
            protocol: protocol.into(),
            sources: source.split(',').map(str::to_string).collect(),
            destinations: vec!["*".into()],
            destination_ports: ports.split(',').map(str::to_string).collect(),
            uses_application_security_groups: false,
        }
    }

    fn with_defaults(mut rules: Vec<Rule>) -> Vec<Rule> {
        rules.extend(default_rules());
        rules
    }

    fn tcp(source: &str, port: u16) -> Flow {
        Flow {
            source: Endpoint::parse(source),
            protocol: Some("Tcp".into()),
            port: Some(port),
        }
    }

    fn from_tag(tag: &str) -> Flow {
        Flow {
            source: Endpoint::Tag(tag.into()),
            protocol: None,
            port: None,
        }
    }

    fn decided_by(decision: &Decision) -> (&'static str, String) {
        match decision {
            Decision::Allowed(r) => ("allow", r.name.clone()),
            Decision::Denied { rule, .. } => ("deny", rule.name.clone()),
            Decision::Undecidable { rule, .. } => ("undecidable", rule.name.clone()),
            Decision::NoRule => ("none", String::new()),
        }
    }

    /// (case, rules before the defaults, flow, expected (decision, rule name)).
    type Case = (&'static str, Vec<Rule>, Flow, (&'static str, &'static str));

    #[test]
    fn evaluator_table() {
        let cases: Vec<Case> = vec![
            (
                "defaults let the VNet in",
                vec![],
                tcp("VirtualNetwork", 10001),
                ("allow", "AllowVnetInBound"),
            ),
            (
                "defaults deny a public tag",
                vec![],
                from_tag("AzureBackup"),
                ("deny", "DenyAllInBound"),
            ),
            (
                "deny ahead of allow wins",
                vec![
                    rule("deny-pxb", 100, false, "Tcp", "*", "10001"),
                    rule("allow-pxb", 200, true, "Tcp", "*", "10001-10002"),
                ],
                tcp("VirtualNetwork", 10001),
                ("deny", "deny-pxb"),
            ),
            (
                "allow ahead of deny wins",
                vec![
                    rule("deny-pxb", 300, false, "Tcp", "*", "10001"),
                    rule("allow-pxb", 200, true, "*", "VirtualNetwork", "10001-10002"),
                ],
                tcp("VirtualNetwork", 10001),
                ("allow", "allow-pxb"),
            ),
            (
                "port range excludes",
                vec![rule("deny-range", 100, false, "Tcp", "*", "9000-10000")],
                tcp("VirtualNetwork", 10001),
                ("allow", "AllowVnetInBound"),
            ),
            (
                "IPv6 client inside an allowed IPv6 prefix",
                vec![
                    rule("allow-v6", 100, true, "Tcp", "2001:db8::/32", "10001"),
                    rule("deny-rest", 200, false, "*", "*", "*"),
                ],
                tcp("2001:db8:0:1::5", 10001),
                ("allow", "allow-v6"),
            ),
            (
                "IPv6 client outside the IPv6 prefix and the IPv4 one",
                vec![
                    rule(
                        "allow-v6",
                        100,
                        true,
                        "Tcp",
                        "2001:db8::/32,10.0.0.0/8",
                        "10001",
                    ),
                    rule("deny-rest", 200, false, "*", "*", "*"),
                ],
                tcp("2001:db9::5", 10001),
                ("deny", "deny-rest"),
            ),
            (
                "plural ports",
                vec![rule("deny-list", 100, false, "*", "*", "443,10002")],
                tcp("VirtualNetwork", 10002),
                ("deny", "deny-list"),
            ),
            (
                "udp rule ignored for tcp",
                vec![rule("deny-udp", 100, false, "Udp", "*", "*")],
                tcp("VirtualNetwork", 10001),
                ("allow", "AllowVnetInBound"),
            ),
            (
                "protocol case ignored",
                vec![rule("deny-tcp", 100, false, "TCP", "*", "*")],
                tcp("VirtualNetwork", 10001),
                ("deny", "deny-tcp"),
            ),
            (
                "tag allow",
                vec![rule("allow-backup", 100, true, "*", "AzureBackup", "*")],
                from_tag("AzureBackup"),
                ("allow", "allow-backup"),
            ),
            (
                "tag case ignored",
                vec![rule("allow-backup", 100, true, "*", "azurebackup", "*")],
                from_tag("AzureBackup"),
                ("allow", "allow-backup"),
            ),
            (
                "AzureCloud covers AzureBackup",
                vec![rule("allow-cloud", 100, true, "*", "AzureCloud", "*")],
                from_tag("AzureBackup"),
                ("allow", "allow-cloud"),
            ),
            (
                "regional tag is only part of AzureCloud",
                vec![rule("allow-east", 100, true, "*", "AzureCloud.eastus", "*")],
                from_tag("AzureCloud"),
                ("deny", "DenyAllInBound"),
            ),
            (
                "regional allow covers the regional flow",
                vec![rule("allow-east", 100, true, "*", "AzureCloud", "*")],
                from_tag("AzureCloud.EastUS"),
                ("allow", "allow-east"),
            ),
            (
                "Internet deny shadows AzureCloud",
                vec![
                    rule("deny-internet", 100, false, "*", "Internet", "*"),
                    rule("allow-cloud", 200, true, "*", "AzureCloud", "*"),
                ],
                from_tag("AzureCloud"),
                ("deny", "deny-internet"),
            ),
            (
                "Internet deny leaves the VNet alone",
                vec![rule("deny-internet", 100, false, "*", "Internet", "*")],
                tcp("VirtualNetwork", 10001),
                ("allow", "AllowVnetInBound"),
            ),
            (
                "partial deny of AzureCloud",
                vec![
                    rule("deny-storage", 100, false, "*", "Storage", "*"),
                    rule("allow-cloud", 200, true, "*", "AzureCloud", "*"),
                ],
                from_tag("AzureCloud"),
                ("deny", "deny-storage"),
            ),
            (
                "private CIDR vs public tag cannot overlap",
                vec![
                    rule("deny-10", 100, false, "*", "10.0.0.0/8", "*"),
                    rule("allow-backup", 200, true, "*", "AzureBackup", "*"),
                ],
                from_tag("AzureBackup"),
                ("allow", "allow-backup"),
            ),
            (
                "private CIDR vs VNet is undecidable",
                vec![rule("deny-10", 100, false, "*", "10.0.0.0/8", "*")],
                tcp("VirtualNetwork", 10001),
                ("undecidable", "deny-10"),
            ),
            (
                "CIDR flow inside a CIDR rule",
                vec![rule("deny-lan", 100, false, "Tcp", "10.1.0.0/16", "10001")],
                tcp("10.1.2.0/24", 10001),
                ("deny", "deny-lan"),
            ),
            (
                "private CIDR flow may be in the VNet",
                vec![rule("deny-lan", 100, false, "Tcp", "10.1.0.0/16", "10001")],
                tcp("10.2.0.0/24", 10001),
                ("undecidable", "AllowVnetInBound"),
            ),
            (
                "public CIDR flow is not the VNet",
                vec![rule("deny-lan", 100, false, "Tcp", "10.1.0.0/16", "10001")],
                tcp("52.10.0.0/24", 10001),
                ("deny", "DenyAllInBound"),
            ),
            (
                "plural prefixes",
                vec![rule(
                    "allow-two",
                    100,
                    true,
                    "*",
                    "AzureBackup,AzureCloud",
                    "*",
                )],
                from_tag("AzureCloud"),
                ("allow", "allow-two"),
            ),
        ];
        for (name, rules, flow, (expected, by)) in cases {
            let rules = with_defaults(rules);
            let (got, rule) = decided_by(&evaluate(&rules, &flow));
            assert_eq!((got, rule.as_str()), (expected, by), "{name}");
        }
    }

    #[test]
    fn application_security_groups_are_undecidable() {
        let mut asg = rule("allow-asg", 100, true, "Tcp", "*", "10001");
        asg.uses_application_security_groups = true;
        let rules = with_defaults(vec![asg]);
        assert!(matches!(
            evaluate(&rules, &tcp("VirtualNetwork", 10001)),
            Decision::Undecidable { .. }
        ));
    }

    #[test]
    fn bad_port_ranges_are_undecidable_not_panics() {
        let rules = with_defaults(vec![rule("weird", 100, false, "Tcp", "*", "ten-eleven")]);
        assert!(matches!(
            evaluate(&rules, &tcp("VirtualNetwork", 10001)),
            Decision::Undecidable { .. }
        ));
    }

    #[test]
    fn cidr_math() {
        let net = |s: &str| Net::parse(s).unwrap();
        assert!(net("10.0.0.0/8").contains(&net("10.1.2.3")));
        assert!(!net("10.0.0.0/16").contains(&net("10.1.0.0/16")));
        assert!(net("0.0.0.0/0").contains(&net("52.1.2.3")));
        assert!(
            net("192.168.1.7/24").contains(&net("192.168.1.200")),
            "host bits are masked"
        );
        assert_eq!(Net::parse("10.0.0.0/33"), None);
        assert_eq!(Net::parse("AzureCloud"), None);
        // IPv6 prefixes are prefixes, never service tags.
        assert!(net("2001:db8::/32").contains(&net("2001:db8:1::/48")));
        assert!(!net("2001:db8::/32").contains(&net("2001:db9::1")));
        assert!(net("fd00:10::/64").is_private() && !net("2001:db8::1").is_private());
        assert!(
            !net("0.0.0.0/0").contains(&net("2001:db8::1")),
            "families never mix"
        );
        assert!(is_any("::/0") && is_any("0.0.0.0/0") && !is_any("10.0.0.0/8"));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(prefix in "\\PC{0,24}", range in "\\PC{0,12}", port in proptest::num::u16::ANY) {
            let _ = port_in(&range, port);
            let input = [&port.to_le_bytes()[..], format!("{prefix}\n{range}\nTcp").as_bytes()].concat();
            crate::harness::nsg_rule(&input);
        }
    }
}
