//! The fleet JSON report, schema `pxb-preflight-fleet/v1` (shared/checks.md §3), and its
//! NDJSON form.
//!
//! As in [`crate::report::json`], the structs here are the versioned contract and nothing
//! else: the model is converted into them field by field. Each cluster is embedded as the
//! very struct `check -o json` serializes, so the two cannot drift apart.

use super::{Counts, Fleet, FleetStats};
use crate::exit::Exit;
use crate::report::json::{v1, ToolV1};
use crate::report::Report;
use serde::Serialize;

pub const SCHEMA: &str = "pxb-preflight-fleet/v1";

/// The fleet object; `C` is a cluster's report (the report struct when rendering, the
/// shard's own object when merging). `clusters` is `None` only on NDJSON's last line.
#[derive(Serialize)]
pub(super) struct FleetV1<'a, C> {
    schema: &'static str,
    tool: ToolV1,
    scope: ScopeV1<'a>,
    ready: bool,
    summary: SummaryV1,
    #[serde(skip_serializing_if = "Option::is_none")]
    clusters: Option<Vec<C>>,
    could_not_check: Vec<UncheckedV1<'a>>,
    stats: StatsV1,
}

#[derive(Serialize)]
pub(super) struct ScopeV1<'a> {
    pub subscriptions: Vec<&'a str>,
    pub management_group: Option<&'a str>,
    #[serde(rename = "where")]
    pub where_filter: Option<&'a str>,
    /// "K/N".
    pub shard: Option<String>,
}

#[derive(Serialize)]
pub(super) struct SummaryV1 {
    clusters: usize,
    ready: usize,
    not_ready: usize,
    incomplete: usize,
    could_not_check: usize,
}

#[derive(Serialize)]
pub(super) struct UncheckedV1<'a> {
    pub cluster: &'a str,
    pub message: &'a str,
}

#[derive(Clone, Copy, Default, serde::Deserialize, Serialize)]
pub(super) struct StatsV1 {
    pub arm_requests: u64,
    pub graph_queries: u64,
    pub throttled: u64,
}

impl From<Counts> for SummaryV1 {
    fn from(c: Counts) -> Self {
        SummaryV1 {
            clusters: c.clusters(),
            ready: c.ready,
            not_ready: c.not_ready,
            incomplete: c.incomplete,
            could_not_check: c.could_not_check,
        }
    }
}

impl From<FleetStats> for StatsV1 {
    fn from(s: FleetStats) -> Self {
        StatsV1 {
            arm_requests: s.arm_requests,
            graph_queries: s.graph_queries,
            throttled: s.throttled,
        }
    }
}

impl<'a, C> FleetV1<'a, C> {
    /// The fields every form shares; `ready` and `summary` follow from `counts`.
    pub(super) fn new(
        scope: ScopeV1<'a>,
        counts: Counts,
        clusters: Option<Vec<C>>,
        could_not_check: Vec<UncheckedV1<'a>>,
        stats: StatsV1,
    ) -> Self {
        FleetV1 {
            schema: SCHEMA,
            tool: ToolV1::this(),
            scope,
            ready: counts.exit() == Exit::Ready,
            summary: counts.into(),
            clusters,
            could_not_check,
            stats,
        }
    }
}

fn fleet_v1(fleet: &Fleet, with_clusters: bool) -> FleetV1<'_, crate::report::json::ReportV1<'_>> {
    let scope = &fleet.scope;
    FleetV1::new(
        ScopeV1 {
            subscriptions: scope.subscriptions.iter().map(String::as_str).collect(),
            management_group: scope.management_group.as_deref(),
            where_filter: scope.where_filter.as_deref(),
            shard: scope.shard.map(|s| s.to_string()),
        },
        fleet.counts(),
        with_clusters.then(|| fleet.clusters.iter().map(v1).collect()),
        fleet
            .could_not_check
            .iter()
            .map(|u| UncheckedV1 {
                cluster: &u.cluster,
                message: &u.message,
            })
            .collect(),
        fleet.stats.into(),
    )
}

/// Written as it is serialized: a large fleet's report is never held whole in memory.
pub(super) fn write(fleet: &Fleet, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &fleet_v1(fleet, true))?;
    out.write_all(b"\n")
}

#[cfg(test)]
pub(super) fn render(fleet: &Fleet) -> String {
    let mut text = Vec::new();
    write(fleet, &mut text).expect("report structs always serialize");
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

pub(super) fn line(report: &Report) -> String {
    serde_json::to_string(&v1(report)).expect("report structs always serialize") + "\n"
}

pub(super) fn summary_line(fleet: &Fleet) -> String {
    serde_json::to_string(&fleet_v1(fleet, false)).expect("report structs always serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::super::tests::{mixed, AKS1, AKS2, AKS3, AKS9};
    use super::*;
    use serde_json::{json, Value};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn fields_keep_their_contract_names() {
        let fleet = mixed();
        let wire = parse(&render(&fleet));
        assert_eq!(wire["schema"], "pxb-preflight-fleet/v1");
        assert_eq!(
            wire["tool"],
            json!({"name": "pxb-preflight", "version": env!("CARGO_PKG_VERSION")})
        );
        assert_eq!(
            wire["scope"],
            json!({"subscriptions": ["sub1", "sub2"], "management_group": null,
                   "where": "tags.env == 'prod'", "shard": "2/4"})
        );
        assert_eq!(wire["ready"], false);
        assert_eq!(
            wire["summary"],
            json!({"clusters": 4, "ready": 1, "not_ready": 1, "incomplete": 1, "could_not_check": 1})
        );
        assert_eq!(
            wire["could_not_check"],
            json!([{"cluster": AKS9, "message": fleet.could_not_check[0].message}])
        );
        assert_eq!(
            wire["stats"],
            json!({"arm_requests": 4120, "graph_queries": 7, "throttled": 0})
        );
        let keys: Vec<_> = wire.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "schema",
                "tool",
                "scope",
                "ready",
                "summary",
                "clusters",
                "could_not_check",
                "stats"
            ]
        );
    }

    /// Each cluster entry is what `check -o json` prints for that cluster.
    #[test]
    fn clusters_are_the_single_cluster_reports() {
        let fleet = mixed();
        let wire = parse(&render(&fleet));
        let clusters = wire["clusters"].as_array().unwrap();
        assert_eq!(clusters.len(), 3);
        for (entry, report) in clusters.iter().zip(&fleet.clusters) {
            assert_eq!(*entry, parse(&crate::report::json::render(report)));
        }
        let ids: Vec<_> = clusters.iter().map(|c| &c["target"]["cluster"]).collect();
        assert_eq!(ids, [AKS1, AKS2, AKS3]);
    }

    #[test]
    fn an_unscoped_fleet_has_nulls_not_absent_fields() {
        let mut fleet = mixed();
        fleet.scope = super::super::FleetScope::default();
        let wire = parse(&render(&fleet));
        assert_eq!(
            wire["scope"],
            json!({"subscriptions": [], "management_group": null, "where": null, "shard": null})
        );
    }

    #[test]
    fn ready_only_when_every_cluster_is() {
        let mut fleet = mixed();
        fleet.clusters.truncate(1);
        fleet.could_not_check.clear();
        assert_eq!(parse(&render(&fleet))["ready"], true);
        fleet.clusters.push(super::super::tests::incomplete(AKS3));
        assert_eq!(parse(&render(&fleet))["ready"], false);
    }

    #[test]
    fn ndjson_is_a_report_a_line_then_the_fleet_without_clusters() {
        let fleet = mixed();
        let mut text: String = fleet.clusters.iter().map(line).collect();
        text.push_str(&summary_line(&fleet));
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        for (line, report) in lines.iter().zip(&fleet.clusters) {
            assert_eq!(parse(line), parse(&crate::report::json::render(report)));
        }
        let last = parse(lines[3]);
        assert!(last.get("clusters").is_none());
        let mut whole = parse(&render(&fleet));
        whole.as_object_mut().unwrap().remove("clusters");
        assert_eq!(last, whole);
        assert!(text.ends_with("}\n"));
    }
}
