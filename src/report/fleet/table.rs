//! The fleet for a terminal: a row per cluster, a row per cluster not checked, then the
//! summary line. Colour only when the style allows, as for `check`.

use super::{first_failing, summary_line, verdict_label, ClusterLabel, Fleet, COULD_NOT_CHECK};
use crate::exit::Exit;
use crate::report::table::Style;
use comfy_table::{presets, Cell, Color, ColumnConstraint, ContentArrangement, Table};

pub(super) fn render(fleet: &Fleet, style: &Style) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "Cluster",
            "Subscription",
            "Status",
            "Fail",
            "Warn",
            "Error",
            "Failing checks",
        ]);
    if let Some(width) = style.width {
        table.set_width(width);
    }
    if !style.color {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    // Everything but the last column is grepped or pasted: never wrapped.
    for index in 0..6 {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for report in &fleet.clusters {
        let label = ClusterLabel::of(&report.target.cluster);
        let s = report.summary();
        table.add_row(vec![
            Cell::new(label.name),
            Cell::new(label.subscription),
            verdict_cell(verdict_label(report.exit()), report.exit(), style),
            Cell::new(s.fail),
            Cell::new(s.warn),
            Cell::new(s.error),
            Cell::new(first_failing(report)),
        ]);
    }
    for unchecked in &fleet.could_not_check {
        let label = ClusterLabel::of(&unchecked.cluster);
        table.add_row(vec![
            Cell::new(label.name),
            Cell::new(label.subscription),
            // Counted as incomplete by the exit code, so coloured alike.
            verdict_cell(COULD_NOT_CHECK, Exit::Incomplete, style),
            Cell::new("-"),
            Cell::new("-"),
            Cell::new("-"),
            Cell::new(&unchecked.message),
        ]);
    }
    format!(
        "pxb-preflight {} fleet\n{table}\n\n{}: {}\n",
        env!("CARGO_PKG_VERSION"),
        summary_line(fleet),
        verdict_label(fleet.exit())
    )
}

fn verdict_cell(label: &str, exit: Exit, style: &Style) -> Cell {
    let cell = Cell::new(label);
    if !style.color {
        return cell;
    }
    cell.fg(match exit {
        Exit::Ready => Color::Green,
        Exit::NotReady => Color::Red,
        Exit::Incomplete | Exit::CouldNotRun => Color::Yellow,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::mixed;
    use super::*;

    fn plain() -> Style {
        Style {
            color: false,
            width: Some(200),
        }
    }

    #[test]
    fn rows_show_each_cluster_and_the_summary() {
        let text = render(&mixed(), &plain());
        let row = |name: &str| {
            text.lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("a row for {name} in\n{text}"))
                .to_owned()
        };
        assert!(row("rg1/aks1").contains("READY"));
        assert!(row("rg2/aks2").contains("NOT READY"));
        assert!(row("rg2/aks2").contains("+1"));
        assert!(row("rg3/aks3").contains("INCOMPLETE"));
        assert!(row("rg9/aks9").contains("COULD NOT CHECK"));
        assert!(row("rg9/aks9").contains("403 on GET managedClusters/aks9"));
        assert!(row("rg3/aks3").contains("sub2"));
        assert!(text.ends_with(
            "4 clusters: 1 ready, 1 not ready, 1 incomplete, 1 could not be checked; ARM reads 4,120, Resource Graph queries 7, throttled 0: NOT READY\n"
        ));
        assert!(!text.contains('\u{1b}'), "no ANSI escapes without colour");
    }

    #[test]
    fn colour_only_when_asked() {
        let coloured = render(
            &mixed(),
            &Style {
                color: true,
                width: Some(200),
            },
        );
        assert!(coloured.contains('\u{1b}'));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&mixed(), &plain()));
    }
}
