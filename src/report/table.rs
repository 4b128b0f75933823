//! The human report: a table of id, status and message, then the fixes as plain lines
//! that can be pasted into a shell (no borders around commands), then the summary.
//! Colour only on a terminal and never when `NO_COLOR` is set.

use super::Report;
use crate::checks::Status;
use crate::exit::Exit;
use comfy_table::{presets, Cell, Color, ColumnConstraint, ContentArrangement, Table};

pub struct Style {
    pub color: bool,
    /// Wrap width; `None` lets comfy-table follow the terminal's width.
    pub width: Option<u16>,
}

pub fn render(report: &Report, style: &Style) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["Check", "Status", "Message"]);
    if let Some(width) = style.width {
        table.set_width(width);
    }
    if !style.color {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    // Ids and statuses never wrap (they are grepped and pasted); messages take the rest.
    for index in 0..2 {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for v in &report.verdicts {
        let status = status_cell(v.outcome.status, style);
        table.add_row(vec![
            Cell::new(v.check.id),
            status,
            Cell::new(&v.outcome.message),
        ]);
    }
    let mut out = format!(
        "pxb-preflight {}\nCluster: {}\n{table}\n",
        env!("CARGO_PKG_VERSION"),
        report.target.cluster
    );
    let fixes: Vec<_> = report
        .verdicts
        .iter()
        .filter_map(|v| v.outcome.remediation.as_ref().map(|r| (v.check.id, r)))
        .collect();
    if !fixes.is_empty() {
        out.push_str("\nHow to fix:\n");
        for (id, fix) in fixes {
            out.push_str(&format!("  {id}:\n    {}\n", fix.replace('\n', "\n    ")));
        }
    }
    let s = report.summary();
    let verdict = match report.exit() {
        Exit::Ready => "READY",
        Exit::NotReady => "NOT READY",
        Exit::Incomplete | Exit::CouldNotRun => "INCOMPLETE (some checks could not be evaluated)",
    };
    out.push_str(&format!(
        "\n{} pass, {} warn, {} fail, {} skip, {} error: {verdict}{}\n",
        s.pass,
        s.warn,
        s.fail,
        s.skip,
        s.error,
        super::missing_flags_note(report)
    ));
    out
}

/// A status in capitals, coloured when the style allows.
pub(super) fn status_cell(status: Status, style: &Style) -> Cell {
    let cell = Cell::new(status.name().to_uppercase());
    if style.color {
        cell.fg(color(status))
    } else {
        cell
    }
}

fn color(status: Status) -> Color {
    match status {
        Status::Pass => Color::Green,
        Status::Warn => Color::Yellow,
        Status::Fail | Status::Error => Color::Red,
        Status::Skip => Color::DarkGrey,
    }
}
