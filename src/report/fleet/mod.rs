//! The fleet report: one [`Report`] per cluster checked, the clusters that could not be
//! checked, and the totals; its exit code and renderers (JSON `pxb-preflight-fleet/v1`,
//! NDJSON, the terminal table, JUnit, Markdown), and `fleet --merge` of shard reports.
//!
//! Renderers only format. Each cluster's readiness is its own report's ([`Report::exit`],
//! so `--fail-on` applies per cluster); how those add up to the fleet's is decided here,
//! once ([`Counts`]). Nothing here reads Azure or decides a verdict.

mod json;
mod junit;
mod markdown;
mod merge;
mod table;

pub use merge::merge;

use super::Report;
use crate::checks::Status;
use crate::exit::Exit;
use crate::ids::ResourceId;
use std::fmt;

pub struct Fleet {
    pub scope: FleetScope,
    /// One report per cluster checked, sorted by cluster ID (case-insensitive).
    pub clusters: Vec<Report>,
    pub could_not_check: Vec<Unchecked>,
    pub stats: FleetStats,
}

/// What the fleet run was asked to cover.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetScope {
    pub subscriptions: Vec<String>,
    pub management_group: Option<String>,
    /// The `--where` KQL filter.
    pub where_filter: Option<String>,
    pub shard: Option<Shard>,
}

/// `--shard K/N`: the K-th (1-based) of N disjoint parts of the cluster list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A cluster found but not checked (its own read failed), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unchecked {
    pub cluster: String,
    pub message: String,
}

/// What the run cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetStats {
    pub arm_requests: u64,
    pub graph_queries: u64,
    /// 429 answers received (ARM and Resource Graph).
    pub throttled: u64,
}

impl Fleet {
    /// Not ready when any cluster is not ready; else incomplete when any cluster is
    /// incomplete or could not be checked; else ready. Never [`Exit::CouldNotRun`]: a fleet
    /// that could not run has no report.
    pub fn exit(&self) -> Exit {
        self.counts().exit()
    }

    fn counts(&self) -> Counts {
        Counts::of(
            self.clusters.iter().map(Report::exit),
            self.could_not_check.len(),
        )
    }
}

/// The fleet as one `pxb-preflight-fleet/v1` object (pretty, with a final newline), written
/// to `out`; each `clusters` entry is exactly the object `check -o json` prints for that
/// cluster.
pub fn write_json(fleet: &Fleet, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    json::write(fleet, out)
}

#[cfg(test)]
pub fn json(fleet: &Fleet) -> String {
    json::render(fleet)
}

/// One cluster's `pxb-preflight/v1` report on one line, with a final newline: the NDJSON
/// line printed as the cluster finishes.
pub fn ndjson_cluster(report: &Report) -> String {
    json::line(report)
}

/// NDJSON's last line: the `pxb-preflight-fleet/v1` object without its `clusters` array
/// (the lines before it carried the reports), with a final newline.
pub fn ndjson_summary(fleet: &Fleet) -> String {
    json::summary_line(fleet)
}

/// The fleet for a terminal: a row per cluster (status, counts, first failing checks),
/// a row per cluster that could not be checked, then the summary line.
pub fn table(fleet: &Fleet, style: &super::table::Style) -> String {
    table::render(fleet, style)
}

/// The fleet as JUnit XML: a testsuite per cluster named by its ID, a testcase per check
/// (as `check -o junit`), and a suite with one errored testcase per cluster not checked.
pub fn junit(fleet: &Fleet) -> String {
    junit::render(fleet)
}

/// The fleet for a pull request or ticket: the summary, a table of clusters, and the
/// clusters that could not be checked.
pub fn markdown(fleet: &Fleet) -> String {
    markdown::render(fleet)
}

/// How many clusters ended each way; the fleet's exit follows from these alone, so a
/// fleet and a merge of its shards end alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    ready: usize,
    not_ready: usize,
    incomplete: usize,
    could_not_check: usize,
}

impl Counts {
    fn of(exits: impl IntoIterator<Item = Exit>, could_not_check: usize) -> Counts {
        let mut counts = Counts {
            could_not_check,
            ..Counts::default()
        };
        for exit in exits {
            match exit {
                Exit::Ready => counts.ready += 1,
                Exit::NotReady => counts.not_ready += 1,
                // A report never ends as CouldNotRun; were it to, it is not a verdict.
                Exit::Incomplete | Exit::CouldNotRun => counts.incomplete += 1,
            }
        }
        counts
    }

    fn clusters(&self) -> usize {
        self.ready + self.not_ready + self.incomplete + self.could_not_check
    }

    fn exit(&self) -> Exit {
        if self.not_ready > 0 {
            Exit::NotReady
        } else if self.incomplete > 0 || self.could_not_check > 0 {
            Exit::Incomplete
        } else {
            Exit::Ready
        }
    }
}

/// A cluster's (or the fleet's) verdict in capitals.
fn verdict_label(exit: Exit) -> &'static str {
    match exit {
        Exit::Ready => "READY",
        Exit::NotReady => "NOT READY",
        Exit::Incomplete | Exit::CouldNotRun => "INCOMPLETE",
    }
}

const COULD_NOT_CHECK: &str = "COULD NOT CHECK";

/// "3 clusters: 1 ready, 1 not ready, 0 incomplete, 1 could not be checked; ARM reads
/// 4,120, Resource Graph queries 7, throttled 0".
fn summary_line(fleet: &Fleet) -> String {
    let c = fleet.counts();
    let clusters = c.clusters();
    let noun = if clusters == 1 { "cluster" } else { "clusters" };
    format!(
        "{clusters} {noun}: {} ready, {} not ready, {} incomplete, {} could not be checked; ARM reads {}, Resource Graph queries {}, throttled {}",
        c.ready,
        c.not_ready,
        c.incomplete,
        c.could_not_check,
        thousands(fleet.stats.arm_requests),
        thousands(fleet.stats.graph_queries),
        thousands(fleet.stats.throttled),
    )
}

/// A count with a comma between each group of three digits ("4,120").
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A cluster as a row shows it: `resource-group/name` (unique within a subscription) and
/// its subscription; an ID that does not parse is shown whole.
struct ClusterLabel {
    name: String,
    subscription: String,
}

impl ClusterLabel {
    fn of(cluster: &str) -> ClusterLabel {
        match ResourceId::parse(cluster) {
            Ok(id) => ClusterLabel {
                name: match id.resource_group() {
                    Some(group) => format!("{group}/{}", id.name()),
                    None => id.name().to_owned(),
                },
                subscription: id.subscription().to_owned(),
            },
            Err(_) => ClusterLabel {
                name: cluster.to_owned(),
                subscription: String::new(),
            },
        }
    }
}

/// How many checks to name in a row before "+N".
const FIRST_FAILING: usize = 3;

/// The checks that keep the cluster from being ready (those failing the run, and errors),
/// the first three in catalog order then "+N": "snapshot-controller, trusted-access +1".
fn first_failing(report: &Report) -> String {
    let failing: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| v.outcome.status == Status::Error || report.fails_run(&v.outcome))
        .map(|v| v.check.id)
        .collect();
    let mut text = failing
        .iter()
        .take(FIRST_FAILING)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if failing.len() > FIRST_FAILING {
        text.push_str(&format!(" +{}", failing.len() - FIRST_FAILING));
    }
    text
}

#[cfg(test)]
mod tests {
    //! A representative fleet the renderers' tests share, and tests of what they share.

    use super::*;
    use crate::checks::{Outcome, Verdict, REGISTRY};
    use crate::report::FailOn;
    use crate::target::TargetRecord;

    pub(super) const AKS1: &str =
        "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";
    pub(super) const AKS2: &str =
        "/subscriptions/sub1/resourceGroups/rg2/providers/Microsoft.ContainerService/managedClusters/aks2";
    pub(super) const AKS3: &str =
        "/subscriptions/sub2/resourceGroups/rg3/providers/Microsoft.ContainerService/managedClusters/aks3";
    pub(super) const AKS9: &str =
        "/subscriptions/sub2/resourceGroups/rg9/providers/Microsoft.ContainerService/managedClusters/aks9";

    /// A report of `cluster` whose first checks of the catalog end with `outcomes`, the
    /// rest passing.
    pub(super) fn report(cluster: &str, outcomes: Vec<Outcome>, fail_on: FailOn) -> Report {
        let mut outcomes = outcomes.into_iter();
        let verdicts = REGISTRY
            .iter()
            .map(|check| Verdict {
                check,
                outcome: outcomes.next().unwrap_or_else(|| Outcome::pass("ok")),
            })
            .collect();
        Report {
            target: TargetRecord {
                cluster: cluster.into(),
                ..TargetRecord::default()
            },
            verdicts,
            fail_on,
        }
    }

    pub(super) fn ready(cluster: &str) -> Report {
        report(cluster, vec![], FailOn::default())
    }

    /// Four failing checks (so the table names three and "+1") and a warning.
    pub(super) fn not_ready(cluster: &str) -> Report {
        let fail = || {
            Outcome::fail("storageProfile.snapshotController.enabled is false | off")
                .fix("az aks update -g rg2 -n aks2 --enable-snapshot-controller")
        };
        report(
            cluster,
            vec![
                Outcome::warn("Kubernetes 1.29 is near its end of support"),
                fail(),
                fail(),
                fail(),
                fail(),
            ],
            FailOn::default(),
        )
    }

    pub(super) fn incomplete(cluster: &str) -> Report {
        report(
            cluster,
            vec![Outcome::new_error(
                "403 on GET roleAssignments (Microsoft.Authorization/roleAssignments/read)",
            )],
            FailOn::default(),
        )
    }

    /// aks1 ready, aks2 not ready, aks3 incomplete, aks9 not checked.
    pub(super) fn mixed() -> Fleet {
        Fleet {
            scope: FleetScope {
                subscriptions: vec!["sub1".into(), "sub2".into()],
                management_group: None,
                where_filter: Some("tags.env == 'prod'".into()),
                shard: Some(Shard { index: 2, count: 4 }),
            },
            clusters: vec![ready(AKS1), not_ready(AKS2), incomplete(AKS3)],
            could_not_check: vec![Unchecked {
                cluster: AKS9.into(),
                message: "403 on GET managedClusters/aks9 (Microsoft.ContainerService/managedClusters/read)".into(),
            }],
            stats: FleetStats {
                arm_requests: 4120,
                graph_queries: 7,
                throttled: 0,
            },
        }
    }

    fn fleet_of(clusters: Vec<Report>, could_not_check: Vec<Unchecked>) -> Fleet {
        Fleet {
            scope: FleetScope::default(),
            clusters,
            could_not_check,
            stats: FleetStats::default(),
        }
    }

    fn unchecked(cluster: &str) -> Unchecked {
        Unchecked {
            cluster: cluster.into(),
            message: "timed out".into(),
        }
    }

    #[test]
    fn the_worst_cluster_decides_the_exit() {
        assert_eq!(fleet_of(vec![], vec![]).exit(), Exit::Ready);
        assert_eq!(fleet_of(vec![ready(AKS1)], vec![]).exit(), Exit::Ready);
        assert_eq!(
            fleet_of(vec![ready(AKS1), incomplete(AKS2)], vec![]).exit(),
            Exit::Incomplete
        );
        assert_eq!(
            fleet_of(vec![ready(AKS1)], vec![unchecked(AKS9)]).exit(),
            Exit::Incomplete
        );
        assert_eq!(
            fleet_of(
                vec![incomplete(AKS1), not_ready(AKS2)],
                vec![unchecked(AKS9)]
            )
            .exit(),
            Exit::NotReady
        );
        assert_eq!(mixed().exit(), Exit::NotReady);
    }

    #[test]
    fn fail_on_applies_per_cluster() {
        let warns = |fail_on| report(AKS1, vec![Outcome::warn("near end of support")], fail_on);
        let strict = FailOn {
            warn: true,
            skip: false,
        };
        assert_eq!(
            fleet_of(vec![warns(FailOn::default())], vec![]).exit(),
            Exit::Ready
        );
        assert_eq!(fleet_of(vec![warns(strict)], vec![]).exit(), Exit::NotReady);
    }

    #[test]
    fn counts_add_up_to_every_cluster_found() {
        let c = mixed().counts();
        assert_eq!(
            (c.ready, c.not_ready, c.incomplete, c.could_not_check),
            (1, 1, 1, 1)
        );
        assert_eq!(c.clusters(), 4);
    }

    #[test]
    fn counts_take_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4120), "4,120");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn summary_line_names_every_count_and_the_cost() {
        assert_eq!(
            summary_line(&mixed()),
            "4 clusters: 1 ready, 1 not ready, 1 incomplete, 1 could not be checked; ARM reads 4,120, Resource Graph queries 7, throttled 0"
        );
        assert!(summary_line(&fleet_of(vec![ready(AKS1)], vec![])).starts_with("1 cluster: "));
    }

    #[test]
    fn rows_name_three_failing_checks_then_how_many_more() {
        let failing = first_failing(&not_ready(AKS2));
        let ids: Vec<_> = REGISTRY[1..4].iter().map(|c| c.id).collect();
        assert_eq!(failing, format!("{} +1", ids.join(", ")));
        assert_eq!(first_failing(&incomplete(AKS3)), REGISTRY[0].id);
        assert_eq!(first_failing(&ready(AKS1)), "");
    }

    #[test]
    fn cluster_labels_keep_group_and_subscription() {
        let label = ClusterLabel::of(AKS2);
        assert_eq!(
            (label.name.as_str(), label.subscription.as_str()),
            ("rg2/aks2", "sub1")
        );
        let odd = ClusterLabel::of("not an id");
        assert_eq!(
            (odd.name.as_str(), odd.subscription.as_str()),
            ("not an id", "")
        );
    }
}
