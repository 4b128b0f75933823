//! The fleet in Markdown, for pull requests and tickets: the summary, a table of clusters,
//! and the clusters that could not be checked with why.

use super::{first_failing, summary_line, verdict_label, ClusterLabel, Fleet};
use crate::report::markdown::cell;

pub(super) fn render(fleet: &Fleet) -> String {
    let mut out = format!(
        "**pxb-preflight fleet: {}**: {}\n\n| Cluster | Subscription | Status | Fail | Warn | Error | Failing checks |\n|---|---|---|---|---|---|---|\n",
        verdict_label(fleet.exit()),
        summary_line(fleet)
    );
    for report in &fleet.clusters {
        let label = ClusterLabel::of(&report.target.cluster);
        let s = report.summary();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&label.name),
            cell(&label.subscription),
            verdict_label(report.exit()),
            s.fail,
            s.warn,
            s.error,
            cell(&first_failing(report))
        ));
    }
    if !fleet.could_not_check.is_empty() {
        out.push_str("\n### Could not be checked\n\n");
        for unchecked in &fleet.could_not_check {
            out.push_str(&format!(
                "- `{}`: {}\n",
                cell(&unchecked.cluster),
                cell(&unchecked.message)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{mixed, ready};
    use super::*;

    #[test]
    fn pipes_and_newlines_do_not_break_the_table() {
        let mut fleet = mixed();
        fleet.clusters = vec![ready("/subscriptions/sub|1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1")];
        fleet.could_not_check[0].message = "403 | forbidden\nretry later".into();
        let text = render(&fleet);
        assert!(text.contains("| rg1/aks1 | sub\\|1 | READY |"), "{text}");
        assert!(text.contains("- `/subscriptions/sub2/resourceGroups/rg9/providers/Microsoft.ContainerService/managedClusters/aks9`: 403 \\| forbidden retry later\n"), "{text}");
        let rows = text.lines().filter(|l| l.starts_with("| ")).count();
        assert_eq!(rows, 2, "the header and one cluster");
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&mixed()));
    }
}
