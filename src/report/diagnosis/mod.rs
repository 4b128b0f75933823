//! The renderers of `diagnose`: JSON (`pxb-preflight-diagnosis/v1`), the terminal table,
//! and Markdown for a support ticket.
//!
//! Renderers only format: whether a failure is explained, and the exit code, are decided by
//! [`crate::diagnosis`]. What the three formats share (counts, times, cluster labels, why a
//! failure is or is not explained) is worked out here, once.

mod json;
mod markdown;
mod table;

use super::Summary;
use crate::checks::{Status, Verdict};
use crate::diagnosis::{
    CheckRun, ClusterRole, DiagnosedFailure, Diagnosis, Operation, Product, Record,
};
use crate::ids::ResourceId;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The diagnosis as one `pxb-preflight-diagnosis/v1` object (pretty, with a final newline).
pub fn json(diagnosis: &Diagnosis) -> String {
    json::render(diagnosis)
}

/// The diagnosis for a terminal: each failure with its reasons, checks and fixes, then the
/// clusters checked, the pods not Ready, what could not be read, and a summary line.
pub fn table(diagnosis: &Diagnosis, style: &super::table::Style) -> String {
    table::render(diagnosis, style)
}

/// The diagnosis for pasting into a support ticket: the table's content as Markdown.
pub fn markdown(diagnosis: &Diagnosis) -> String {
    markdown::render(diagnosis)
}

/// How many failures were recorded, and how many a failing check explains.
struct Counts {
    failures: usize,
    explained: usize,
    unexplained: usize,
}

fn counts(diagnosis: &Diagnosis) -> Counts {
    let failures = diagnosis.failures.len();
    let explained = diagnosis.failures.iter().filter(|f| f.explained()).count();
    Counts {
        failures,
        explained,
        unexplained: failures - explained,
    }
}

/// The summary line: "2 failures: 1 explained, 1 unexplained", or that none was recorded.
fn summary_line(diagnosis: &Diagnosis) -> String {
    let c = counts(diagnosis);
    if c.failures == 0 {
        return no_failure_line(diagnosis);
    }
    let noun = if c.failures == 1 {
        "failure"
    } else {
        "failures"
    };
    format!(
        "{} {noun}: {} explained, {} unexplained",
        c.failures, c.explained, c.unexplained
    )
}

fn no_failure_line(diagnosis: &Diagnosis) -> String {
    let since = rfc3339(diagnosis.scope.since);
    let mut line = match &diagnosis.scope.job {
        Some(job) => format!("No failed backup or restore recorded since {since} for job {job}."),
        None => format!("No failed backup or restore recorded since {since}."),
    };
    // Exit 3, not 0: what could not be read may hold the failures.
    if !diagnosis.unread.is_empty() {
        line.push_str(&format!(
            " Incomplete: {} record(s) could not be read.",
            diagnosis.unread.len()
        ));
    }
    line
}

/// RFC 3339 in UTC (`2026-11-22T00:00:00Z`), whatever offset the record carried.
fn rfc3339(time: OffsetDateTime) -> String {
    let utc = time.to_offset(UtcOffset::UTC);
    // Only years outside 0..=9999 cannot be written in RFC 3339; show them as they are.
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}

/// The verdict counts of one cluster's checks.
fn summary_of(verdicts: &[Verdict]) -> Summary {
    let mut s = Summary::default();
    for v in verdicts {
        match v.outcome.status {
            Status::Pass => s.pass += 1,
            Status::Warn => s.warn += 1,
            Status::Fail => s.fail += 1,
            Status::Skip => s.skip += 1,
            Status::Error => s.error += 1,
        }
    }
    s
}

/// The ids of the checks that fail or error (the ones that can explain a failure).
fn failing(verdicts: &[Verdict]) -> Vec<&'static str> {
    verdicts
        .iter()
        .filter(|v| fails(v.outcome.status))
        .map(|v| v.check.id)
        .collect()
}

fn fails(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

fn product_label(product: Product) -> &'static str {
    match product {
        Product::AzureBackup => "Azure Backup",
        Product::Pxb => "Portworx Backup",
    }
}

fn operation_label(operation: Operation) -> &'static str {
    match operation {
        Operation::Backup => "backup",
        Operation::Restore => "restore",
    }
}

fn record_label(record: Record) -> &'static str {
    match record {
        Record::BackupJob => "backup job",
        Record::BackupInstance => "backup instance",
        Record::ApplicationBackup => "ApplicationBackup",
        Record::ApplicationRestore => "ApplicationRestore",
    }
}

fn role_label(role: ClusterRole) -> &'static str {
    match role {
        ClusterRole::Checked => "checked",
        ClusterRole::RestoreTarget => "restore target",
        ClusterRole::RestoreSource => "restore source",
    }
}

/// Every cluster the diagnosis names, to shorten an ID to its name where no other cluster
/// of the diagnosis has that name.
struct ClusterNames<'a>(Vec<&'a ResourceId>);

impl<'a> ClusterNames<'a> {
    fn of(diagnosis: &'a Diagnosis) -> Self {
        let mut ids = vec![&diagnosis.cluster];
        ids.extend(diagnosis.clusters.iter().map(|c| &c.cluster));
        for f in &diagnosis.failures {
            ids.extend(f.failure.source_cluster.iter());
            ids.extend(f.failure.target_cluster.iter());
            ids.extend(f.checks.iter().map(|c| &c.cluster));
        }
        ClusterNames(ids)
    }

    fn label(&self, id: &'a ResourceId) -> &'a str {
        let name = id.name();
        let ambiguous = self
            .0
            .iter()
            .any(|other| *other != id && other.name().eq_ignore_ascii_case(name));
        if ambiguous {
            id.as_str()
        } else {
            name
        }
    }
}

/// Why a failure is, or is not, explained.
enum Explanation<'a> {
    /// These checks fail or error on a cluster involved.
    Explained(Vec<&'a CheckRun>),
    /// The mapping names these checks, and none of them fails on the clusters involved.
    ChecksPass(&'a [&'static str]),
    /// The mapping documents what matched, but no check covers it.
    Uncovered(Vec<&'a str>),
    /// Nothing recorded is in the mapping: the codes as recorded (none for Stork reasons).
    Unmapped(Vec<&'a str>),
}

fn explanation(failure: &DiagnosedFailure) -> Explanation<'_> {
    if failure.explained() {
        return Explanation::Explained(failure.checks.iter().filter(|c| fails(c.status)).collect());
    }
    if !failure.explained_by.is_empty() {
        return Explanation::ChecksPass(&failure.explained_by);
    }
    if !failure.matches.is_empty() {
        return Explanation::Uncovered(
            failure.matches.iter().map(|m| m.matched.as_str()).collect(),
        );
    }
    let mut codes: Vec<&str> = Vec::new();
    for code in failure
        .failure
        .reasons
        .iter()
        .filter_map(|r| r.code.as_deref())
    {
        if !codes.iter().any(|c| c.eq_ignore_ascii_case(code)) {
            codes.push(code);
        }
    }
    Explanation::Unmapped(codes)
}

/// The explanation as one sentence; `quote` wraps ids and codes (backticks in Markdown).
fn explanation_text(
    failure: &DiagnosedFailure,
    names: &ClusterNames,
    quote: impl Fn(&str) -> String,
) -> String {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| quote(i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let not_explained = "not explained by any prerequisite check";
    match explanation(failure) {
        Explanation::Explained(runs) => {
            let runs: Vec<String> = runs
                .iter()
                .map(|r| {
                    format!(
                        "{} ({} on {})",
                        quote(r.id),
                        r.status.name(),
                        names.label(&r.cluster)
                    )
                })
                .collect();
            format!("explained by: {}", runs.join(", "))
        }
        Explanation::ChecksPass(ids) => format!(
            "{not_explained} ({} cover it, and none fails on the clusters involved)",
            list(ids)
        ),
        Explanation::Uncovered(matched) => format!(
            "{not_explained} ({} is documented but no check covers it)",
            list(&matched)
        ),
        Explanation::Unmapped(codes) => match codes.len() {
            0 => format!("{not_explained} (no recorded reason is in the mapping)"),
            1 => format!(
                "{not_explained} (code {} is not in the mapping)",
                list(&codes)
            ),
            _ => format!(
                "{not_explained} (codes {} are not in the mapping)",
                list(&codes)
            ),
        },
    }
}
