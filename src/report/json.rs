//! The JSON report, schema `pxb-preflight/v1` (shared/checks.md §3). These structs are the
//! versioned contract: change a field only with a new schema version.

use super::{Report, Summary};
use crate::checks::{Evidence, Status};
use crate::target::TargetRecord;
use serde::Serialize;

pub const SCHEMA: &str = "pxb-preflight/v1";

#[derive(Serialize)]
struct ReportV1<'a> {
    schema: &'static str,
    tool: Tool,
    target: &'a TargetRecord,
    /// The versions of the requirement data applied (PXB lists, Azure Backup role matrix).
    requirements: Requirements,
    ready: bool,
    summary: Summary,
    checks: Vec<CheckV1<'a>>,
}

#[derive(Serialize)]
struct Requirements {
    pxb: &'static str,
    azure_backup: &'static str,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct CheckV1<'a> {
    id: &'static str,
    title: &'static str,
    profiles: Vec<&'static str>,
    status: Status,
    message: &'a str,
    evidence: &'a [Evidence],
    remediation: Option<&'a str>,
}

pub fn render(report: &Report) -> String {
    let value = ReportV1 {
        schema: SCHEMA,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        target: &report.target,
        requirements: Requirements {
            pxb: &crate::requirements::pxb().version,
            azure_backup: &crate::requirements::azure_backup().version,
        },
        ready: report.ready(),
        summary: report.summary(),
        checks: report
            .verdicts
            .iter()
            .map(|v| CheckV1 {
                id: v.check.id,
                title: v.check.title,
                profiles: v.check.profiles.iter().map(|p| p.name()).collect(),
                status: v.outcome.status,
                message: &v.outcome.message,
                evidence: &v.outcome.evidence,
                remediation: v.outcome.remediation.as_deref(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&value).expect("report structs always serialize") + "\n"
}
