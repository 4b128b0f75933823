//! `fleet --merge a.json b.json …`: shard reports (`pxb-preflight-fleet/v1` objects) joined
//! into one fleet report, and its exit code.
//!
//! Works on the JSON as written, never on a rebuilt model: each cluster's report is carried
//! over untouched. The inputs are files a user hands us, so nothing here assumes their
//! shape; every problem names the input it is in.

use super::json::{FleetV1, ScopeV1, StatsV1, UncheckedV1, SCHEMA};
use super::Counts;
use crate::exit::Exit;
use serde_json::Value;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// The merged report (pretty JSON with a final newline) and the exit code it stands for.
#[derive(Debug)]
pub struct Merged {
    pub json: String,
    pub exit: Exit,
}

/// Why shards could not be merged. `index` is the input's position in the slice given to
/// [`merge`] (0-based); the messages count from 1, as files on a command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("input {}: not a {SCHEMA} report (its schema is {found})", .index + 1)]
    WrongSchema { index: usize, found: String },
    #[error("input {}: {what}", .index + 1)]
    Malformed { index: usize, what: String },
    #[error("cluster {cluster} has different reports in input {} and input {}", .first + 1, .second + 1)]
    Conflict {
        cluster: String,
        first: usize,
        second: usize,
    },
}

/// Joins shard reports: clusters deduplicated by `target.cluster` (case-insensitive; the
/// same cluster with two different reports is a [`MergeError::Conflict`]) and sorted by
/// it; `could_not_check` joined, dropping a cluster some shard did check;
/// `scope.subscriptions` the union, `management_group` and `where` kept when every shard
/// agrees (else null), `shard` null; `stats` summed (a shard without them counts zero).
///
/// The summary is recomputed from each report's own `ready` and `summary` (see
/// [`report_exit`]), so the merge of a fleet's shards ends as the fleet would have.
pub fn merge(shards: &[Value]) -> Result<Merged, MergeError> {
    let shards = shards
        .iter()
        .enumerate()
        .map(|(index, value)| ShardReport::parse(index, value))
        .collect::<Result<Vec<_>, _>>()?;

    // Keyed by lower-cased ID: one entry per cluster, in case-insensitive ID order.
    let mut clusters: BTreeMap<String, Checked> = BTreeMap::new();
    for shard in &shards {
        for checked in &shard.clusters {
            match clusters.entry(checked.cluster.to_lowercase()) {
                Entry::Vacant(slot) => {
                    slot.insert(checked.clone());
                }
                Entry::Occupied(seen) if seen.get().report != checked.report => {
                    return Err(MergeError::Conflict {
                        cluster: checked.cluster.to_owned(),
                        first: seen.get().input,
                        second: checked.input,
                    });
                }
                Entry::Occupied(_) => {}
            }
        }
    }
    let mut unchecked: BTreeMap<String, UncheckedV1> = BTreeMap::new();
    for u in shards.iter().flat_map(|s| &s.could_not_check) {
        let key = u.cluster.to_lowercase();
        if !clusters.contains_key(&key) {
            unchecked.entry(key).or_insert(UncheckedV1 {
                cluster: u.cluster,
                message: u.message,
            });
        }
    }

    let mut subscriptions: Vec<&str> = Vec::new();
    for sub in shards.iter().flat_map(|s| &s.subscriptions) {
        if !subscriptions
            .iter()
            .any(|seen| seen.eq_ignore_ascii_case(sub))
        {
            subscriptions.push(sub);
        }
    }
    let scope = ScopeV1 {
        subscriptions,
        management_group: agreed(shards.iter().map(|s| s.management_group), |a, b| {
            a.eq_ignore_ascii_case(b)
        }),
        // A KQL filter's string literals are case-sensitive.
        where_filter: agreed(shards.iter().map(|s| s.where_filter), |a, b| a == b),
        shard: None,
    };
    // Saturating: the counts come from files, and a huge one must not panic the merge.
    let stats = shards.iter().fold(StatsV1::default(), |sum, s| StatsV1 {
        arm_requests: sum.arm_requests.saturating_add(s.stats.arm_requests),
        graph_queries: sum.graph_queries.saturating_add(s.stats.graph_queries),
        throttled: sum.throttled.saturating_add(s.stats.throttled),
    });

    let counts = Counts::of(clusters.values().map(|c| c.exit), unchecked.len());
    let merged = FleetV1::new(
        scope,
        counts,
        Some(clusters.into_values().map(|c| c.report).collect()),
        unchecked.into_values().collect(),
        stats,
    );
    Ok(Merged {
        json: serde_json::to_string_pretty(&merged).expect("JSON values always serialize") + "\n",
        exit: counts.exit(),
    })
}

/// A `pxb-preflight/v1` object's exit, from what it carries. `ready` is true exactly when
/// [`crate::report::Report::exit`] was ready. Otherwise the report does not record
/// `--fail-on`, so, as `Report::exit` decides without it: not ready when a check failed,
/// incomplete when none failed and one errored, else not ready (what made it not ready was
/// a warning or skip under `--fail-on`). One case reads differently from the original: a
/// run under `--fail-on warn` with a warning and an error but no failure was not ready,
/// and reads here as incomplete.
fn report_exit(ready: bool, fail: u64, error: u64) -> Exit {
    if ready {
        Exit::Ready
    } else if fail == 0 && error > 0 {
        Exit::Incomplete
    } else {
        Exit::NotReady
    }
}

/// The value every shard gives, or `None` when they differ (or none gives one).
fn agreed<'a>(
    mut values: impl Iterator<Item = Option<&'a str>>,
    same: impl Fn(&str, &str) -> bool,
) -> Option<&'a str> {
    let first = values.next()??;
    values
        .all(|v| v.is_some_and(|v| same(v, first)))
        .then_some(first)
}

/// One shard's report, its parts checked and borrowed.
struct ShardReport<'a> {
    subscriptions: Vec<&'a str>,
    management_group: Option<&'a str>,
    where_filter: Option<&'a str>,
    clusters: Vec<Checked<'a>>,
    could_not_check: Vec<UncheckedV1<'a>>,
    stats: StatsV1,
}

/// A cluster report, with the input it came from and the exit it stands for.
#[derive(Clone)]
struct Checked<'a> {
    cluster: &'a str,
    report: &'a Value,
    exit: Exit,
    input: usize,
}

impl<'a> ShardReport<'a> {
    fn parse(index: usize, value: &'a Value) -> Result<Self, MergeError> {
        let malformed = |what: String| MergeError::Malformed { index, what };
        let schema = value.get("schema").and_then(Value::as_str);
        if schema != Some(SCHEMA) {
            return Err(MergeError::WrongSchema {
                index,
                found: schema.map_or_else(|| "missing".to_owned(), |s| format!("{s:?}")),
            });
        }
        let scope = value
            .get("scope")
            .filter(|s| s.is_object())
            .ok_or_else(|| malformed("no scope object".into()))?;
        let subscriptions = match scope.get("subscriptions") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => strings(list)
                .ok_or_else(|| malformed("scope.subscriptions is not a list of strings".into()))?,
        };
        let optional_text = |field: &str| match scope.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(malformed(format!("scope.{field} is not a string"))),
        };
        let clusters = value
            .get("clusters")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("no clusters list".into()))?
            .iter()
            .enumerate()
            .map(|(position, report)| {
                Checked::parse(report, index).ok_or_else(|| {
                    malformed(format!(
                        "clusters[{position}] is not a {} report with target.cluster, ready and summary",
                        crate::report::json::SCHEMA
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let could_not_check = match value.get("could_not_check") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or_else(|| malformed("could_not_check is not a list".into()))?
                .iter()
                .enumerate()
                .map(|(position, entry)| {
                    let text = |field| entry.get(field).and_then(Value::as_str);
                    match (text("cluster"), text("message")) {
                        (Some(cluster), Some(message)) => Ok(UncheckedV1 { cluster, message }),
                        _ => Err(malformed(format!(
                            "could_not_check[{position}] lacks a cluster or message"
                        ))),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let stats = match value.get("stats") {
            None | Some(Value::Null) => StatsV1::default(),
            Some(stats) => serde_json::from_value(stats.clone())
                .map_err(|e| malformed(format!("stats: {e}")))?,
        };
        Ok(ShardReport {
            subscriptions,
            management_group: optional_text("management_group")?,
            where_filter: optional_text("where")?,
            clusters,
            could_not_check,
            stats,
        })
    }
}

impl<'a> Checked<'a> {
    fn parse(report: &'a Value, input: usize) -> Option<Self> {
        if report.get("schema")?.as_str()? != crate::report::json::SCHEMA {
            return None;
        }
        let summary = report.get("summary")?;
        let count = |field| summary.get(field).and_then(Value::as_u64);
        Some(Checked {
            cluster: report.get("target")?.get("cluster")?.as_str()?,
            exit: report_exit(
                report.get("ready")?.as_bool()?,
                count("fail")?,
                count("error")?,
            ),
            report,
            input,
        })
    }
}

fn strings(list: &Value) -> Option<Vec<&str>> {
    list.as_array()?.iter().map(Value::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{incomplete, mixed, not_ready, ready, AKS1, AKS2, AKS3, AKS9};
    use super::super::{json, Fleet, FleetScope, FleetStats, Shard, Unchecked};
    use super::*;
    use crate::report::Report;

    fn shard_json(
        index: u32,
        subscriptions: &[&str],
        clusters: Vec<Report>,
        could_not_check: Vec<Unchecked>,
        arm_requests: u64,
    ) -> Value {
        let fleet = Fleet {
            scope: FleetScope {
                subscriptions: subscriptions.iter().map(|s| s.to_string()).collect(),
                management_group: None,
                where_filter: Some("tags.env == 'prod'".into()),
                shard: Some(Shard { index, count: 2 }),
            },
            clusters,
            could_not_check,
            stats: FleetStats {
                arm_requests,
                graph_queries: 3,
                throttled: index.into(),
            },
        };
        serde_json::from_str(&json(&fleet)).unwrap()
    }

    fn aks9_unchecked() -> Unchecked {
        mixed().could_not_check.remove(0)
    }

    /// The mixed fleet split in two shards (out of order) merges into that fleet's report.
    #[test]
    fn shards_merge_into_the_whole_fleet() {
        let first = shard_json(1, &["sub1"], vec![not_ready(AKS2)], vec![], 4000);
        let second = shard_json(
            2,
            &["SUB1", "sub2"],
            vec![ready(AKS1), incomplete(AKS3)],
            vec![aks9_unchecked()],
            120,
        );
        let merged = merge(&[first, second]).unwrap();
        let mut whole = mixed();
        whole.scope.shard = None;
        whole.stats.graph_queries = 6;
        whole.stats.throttled = 3;
        assert_eq!(merged.json, json(&whole));
        assert_eq!(merged.exit, Exit::NotReady);
    }

    #[test]
    fn a_cluster_in_two_shards_is_kept_once() {
        let a = shard_json(1, &["sub1"], vec![ready(AKS1)], vec![], 1);
        let merged = merge(&[a.clone(), a]).unwrap();
        let wire: Value = serde_json::from_str(&merged.json).unwrap();
        assert_eq!(wire["clusters"].as_array().unwrap().len(), 1);
        assert_eq!(wire["summary"]["clusters"], 1);
        assert_eq!(wire["stats"]["arm_requests"], 2);
        assert_eq!(merged.exit, Exit::Ready);
    }

    #[test]
    fn one_cluster_with_two_reports_is_an_error_naming_it() {
        let a = shard_json(1, &["sub1"], vec![ready(AKS2)], vec![], 1);
        let b = shard_json(
            2,
            &["sub1"],
            vec![ready(AKS1), not_ready(&AKS2.to_uppercase())],
            vec![],
            1,
        );
        let error = merge(&[a, b]).unwrap_err();
        assert_eq!(
            error,
            MergeError::Conflict {
                cluster: AKS2.to_uppercase(),
                first: 0,
                second: 1
            }
        );
        assert!(error.to_string().contains(&AKS2.to_uppercase()));
    }

    #[test]
    fn a_cluster_checked_anywhere_is_not_listed_as_unchecked() {
        let checked = shard_json(1, &["sub2"], vec![ready(AKS9)], vec![], 1);
        let unchecked = shard_json(2, &["sub2"], vec![], vec![aks9_unchecked()], 1);
        let merged = merge(&[unchecked, checked]).unwrap();
        let wire: Value = serde_json::from_str(&merged.json).unwrap();
        assert_eq!(wire["could_not_check"], serde_json::json!([]));
        assert_eq!(wire["clusters"][0]["target"]["cluster"], AKS9);
        assert_eq!(merged.exit, Exit::Ready);
    }

    #[test]
    fn unchecked_clusters_alone_make_the_merge_incomplete() {
        let a = shard_json(1, &["sub1"], vec![ready(AKS1)], vec![], 1);
        let b = shard_json(2, &["sub2"], vec![], vec![aks9_unchecked()], 1);
        let merged = merge(&[a, b]).unwrap();
        assert_eq!(merged.exit, Exit::Incomplete);
        let wire: Value = serde_json::from_str(&merged.json).unwrap();
        assert_eq!(wire["ready"], false);
        assert_eq!(wire["summary"]["could_not_check"], 1);
        assert_eq!(
            wire["scope"]["subscriptions"],
            serde_json::json!(["sub1", "sub2"])
        );
    }

    #[test]
    fn scope_fields_are_kept_only_when_every_shard_agrees() {
        let a = shard_json(1, &["sub1"], vec![], vec![], 0);
        let mut b = shard_json(2, &["sub2"], vec![], vec![], 0);
        b["scope"]["where"] = "tags.env == 'dev'".into();
        let wire: Value = serde_json::from_str(&merge(&[a, b]).unwrap().json).unwrap();
        assert_eq!(wire["scope"]["where"], Value::Null);
        assert_eq!(wire["scope"]["shard"], Value::Null);
    }

    #[test]
    fn report_exits_mirror_the_report_rule() {
        assert_eq!(report_exit(true, 0, 0), Exit::Ready);
        assert_eq!(report_exit(false, 1, 1), Exit::NotReady);
        assert_eq!(report_exit(false, 0, 2), Exit::Incomplete);
        // Not ready without a failure or error: a warning under --fail-on warn.
        assert_eq!(report_exit(false, 0, 0), Exit::NotReady);
    }

    #[test]
    fn inputs_that_are_not_fleet_reports_are_named() {
        let good = shard_json(1, &["sub1"], vec![ready(AKS1)], vec![], 1);
        let single: Value =
            serde_json::from_str(&crate::report::json::render(&ready(AKS2))).unwrap();
        assert_eq!(
            merge(&[good.clone(), single]).unwrap_err(),
            MergeError::WrongSchema {
                index: 1,
                found: "\"pxb-preflight/v1\"".into()
            }
        );
        let mut broken = good.clone();
        broken["clusters"][0]["target"] = Value::Null;
        let error = merge(&[good.clone(), good.clone(), broken]).unwrap_err();
        assert!(matches!(error, MergeError::Malformed { index: 2, .. }));
        assert!(error.to_string().starts_with("input 3: clusters[0]"));
        let mut huge = good.clone();
        huge["stats"]["arm_requests"] = u64::MAX.into();
        let sum: Value = serde_json::from_str(&merge(&[huge.clone(), huge]).unwrap().json).unwrap();
        assert_eq!(sum["stats"]["arm_requests"], u64::MAX);
        let mut bad_stats = good.clone();
        bad_stats["stats"]["throttled"] = "many".into();
        assert!(matches!(
            merge(&[bad_stats]).unwrap_err(),
            MergeError::Malformed { index: 0, .. }
        ));
        assert!(matches!(
            merge(&[good, Value::Array(vec![])]).unwrap_err(),
            MergeError::WrongSchema { index: 1, .. }
        ));
    }
}
