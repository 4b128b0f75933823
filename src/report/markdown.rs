//! The Markdown report, for tickets and pull-request comments: a summary line, a table of
//! checks, and each fix in a code block (so it can be copied whole).

use super::Report;
use crate::exit::Exit;

/// A table cell: `|` would end the cell and a newline the row.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let s = report.summary();
    let verdict = match report.exit() {
        Exit::Ready => "READY",
        Exit::NotReady => "NOT READY",
        Exit::Incomplete | Exit::CouldNotRun => "INCOMPLETE",
    };
    let mut out = format!(
        "**pxb-preflight: {verdict}** for `{}`: {} pass, {} warn, {} fail, {} skip, {} error{}\n\n| Check | Status | Message |\n|---|---|---|\n",
        report.target.cluster, s.pass, s.warn, s.fail, s.skip, s.error, super::missing_flags_note(report)
    );
    for v in &report.verdicts {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            v.check.id,
            v.outcome.status.name(),
            cell(&v.outcome.message)
        ));
    }
    let fixes: Vec<_> = report
        .verdicts
        .iter()
        .filter_map(|v| Some((v.check.id, v.outcome.remediation.as_ref()?)))
        .collect();
    if !fixes.is_empty() {
        out.push_str("\n### How to fix\n");
        for (id, fix) in fixes {
            out.push_str(&format!("\n`{id}`\n\n```sh\n{fix}\n```\n"));
        }
    }
    out
}
