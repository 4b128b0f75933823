//! The diagnosis for a terminal: a block per failure (what was recorded, the checks run on
//! the clusters involved, their fixes as plain lines that can be pasted into a shell), then
//! the clusters checked, the pods not Ready, what could not be read, notes and a summary
//! line. Colour only when the style asks for it.

use super::{
    explanation_text, failing, operation_label, product_label, record_label, rfc3339, role_label,
    summary_line, time_label, ClusterNames,
};

use crate::diagnosis::{DiagnosedFailure, Diagnosis};
use crate::report::table::{status_cell, Style};
use comfy_table::{presets, Cell, ColumnConstraint, ContentArrangement, Table};

pub fn render(diagnosis: &Diagnosis, style: &Style) -> String {
    let names = ClusterNames::of(diagnosis);
    let mut out = format!(
        "pxb-preflight {} diagnose\nCluster: {}\n",
        env!("CARGO_PKG_VERSION"),
        diagnosis.cluster
    );
    if let Some(vault) = &diagnosis.vault {
        out.push_str(&format!("Vault: {vault}\n"));
    }
    out.push_str(&format!("Since: {}\n", rfc3339(diagnosis.scope.since)));
    if let Some(job) = &diagnosis.scope.job {
        out.push_str(&format!("Job: {job}\n"));
    }
    if diagnosis.failures.is_empty() {
        out.push_str(&format!("\n{}\n", super::no_failure_line(diagnosis)));
    }
    let total = diagnosis.failures.len();
    for (index, failure) in diagnosis.failures.iter().enumerate() {
        out.push_str(&failure_block(failure, index + 1, total, &names, style));
    }
    out.push_str(&clusters(diagnosis, &names));
    out.push_str(&pods_not_ready(diagnosis, style));
    if !diagnosis.unread.is_empty() {
        out.push_str("\nCould not read:\n");
        for u in &diagnosis.unread {
            out.push_str(&format!(
                "  {}: {}\n    call: {}\n    grant: {}\n",
                u.what, u.message, u.call, u.permission
            ));
        }
    }
    if !diagnosis.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for note in &diagnosis.notes {
            out.push_str(&format!("  {note}\n"));
        }
    }
    out.push_str(&format!(
        "\n{} (mapping data {})\n",
        summary_line(diagnosis),
        diagnosis.mapping_version
    ));
    out
}

fn failure_block(
    d: &DiagnosedFailure,
    number: usize,
    total: usize,
    names: &ClusterNames,
    style: &Style,
) -> String {
    let f = &d.failure;
    let time = time_label(f);
    let mut out = format!(
        "\nFailure {number} of {total}: {time}  {} {}  {}\n  {}: {}\n",
        product_label(f.product),
        operation_label(f.operation),
        f.status,
        record_label(f.record),
        f.id
    );
    if let Some(source) = &f.source_cluster {
        out.push_str(&format!("  Source cluster: {source}\n"));
    }
    if let Some(target) = &f.target_cluster {
        out.push_str(&format!("  Target cluster: {target}\n"));
    }
    if f.reasons.is_empty() {
        out.push_str("  No reason recorded.\n");
    } else {
        out.push_str("  Reasons:\n");
    }
    for r in &f.reasons {
        match &r.code {
            Some(code) => out.push_str(&format!("    {code}: {}\n", r.message)),
            None => out.push_str(&format!("    {}\n", r.message)),
        }
        if let Some(action) = &r.recommended_action {
            out.push_str(&format!("      Recommended action: {action}\n"));
        }
        if let Some(subject) = &r.subject {
            out.push_str(&format!("      Subject: {subject}\n"));
        }
    }
    for m in &d.matches {
        out.push_str(&format!(
            "  Documented: {}: {}\n    source: {} ({}, {})\n",
            m.matched, m.cause, m.source_title, m.source, m.source_revision
        ));
    }
    if !d.checks.is_empty() {
        let mut table = new_table(["Cluster", "Check", "Status", "Message"], &[1, 2], style);
        for c in &d.checks {
            table.add_row(vec![
                Cell::new(names.label(&c.cluster)),
                Cell::new(c.id),
                status_cell(c.status, style),
                Cell::new(&c.message),
            ]);
        }
        out.push_str(&format!("{table}\n"));
    }
    let fixes: Vec<_> = d
        .checks
        .iter()
        .filter_map(|c| Some((c, c.remediation.as_ref()?)))
        .collect();
    if !fixes.is_empty() {
        out.push_str("How to fix:\n");
        for (c, fix) in fixes {
            out.push_str(&format!(
                "  {} on {}:\n    {}\n",
                c.id,
                names.label(&c.cluster),
                fix.replace('\n', "\n    ")
            ));
        }
    }
    let explanation = explanation_text(d, names, ToString::to_string);
    out.push_str(&format!("=> {explanation}\n"));
    out
}

fn clusters(diagnosis: &Diagnosis, names: &ClusterNames) -> String {
    if diagnosis.clusters.is_empty() {
        return String::new();
    }
    let mut out = "\nClusters checked:\n".to_string();
    for run in &diagnosis.clusters {
        let label = names.label(&run.cluster);
        let role = role_label(run.role);
        match &run.verdicts {
            Ok(verdicts) => {
                let s = crate::report::Summary::of(verdicts);
                out.push_str(&format!(
                    "  {label} ({role}): {} pass, {} warn, {} fail, {} skip, {} error\n    {}\n",
                    s.pass, s.warn, s.fail, s.skip, s.error, run.cluster
                ));
                let failing = failing(verdicts);
                if !failing.is_empty() {
                    out.push_str(&format!("    failing: {}\n", failing.join(", ")));
                }
            }
            Err(message) => out.push_str(&format!(
                "  {label} ({role}): not checked: {message}\n    {}\n",
                run.cluster
            )),
        }
    }
    out
}

fn pods_not_ready(diagnosis: &Diagnosis, style: &Style) -> String {
    let not_ready: Vec<_> = diagnosis.pods.iter().filter(|p| !p.ready).collect();
    if not_ready.is_empty() {
        return String::new();
    }
    let mut table = new_table(
        ["Component", "Pod", "Phase", "Waiting", "Restarts"],
        &[],
        style,
    );
    for p in not_ready {
        table.add_row(vec![
            Cell::new(p.component),
            Cell::new(format!("{}/{}", p.namespace, p.name)),
            Cell::new(&p.phase),
            Cell::new(p.waiting.as_deref().unwrap_or("")),
            Cell::new(p.restarts),
        ]);
    }
    format!("\nStork and Portworx Backup pods not Ready:\n{table}\n")
}

/// A table in the check report's style; the `fixed` columns never wrap (check ids and
/// statuses are grepped and pasted), the others take the rest of the width.
fn new_table<const N: usize>(header: [&str; N], fixed: &[usize], style: &Style) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    if let Some(width) = style.width {
        table.set_width(width);
    }
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for index in fixed {
        if let Some(column) = table.column_mut(*index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::super::tests::{no_failure, two_failures, AKS1, EXTENSION_FIX, RESTORE_JOB};
    use super::*;

    fn plain(width: u16) -> Style {
        Style {
            color: false,
            width: Some(width),
        }
    }

    #[test]
    fn shows_each_failure_with_its_reasons_checks_fixes_and_the_summary() {
        let text = render(&two_failures(), &plain(120));
        for expected in [
            "Failure 1 of 2: 2026-11-28T09:12:44Z  Azure Backup restore  Failed",
            RESTORE_JOB,
            "UserErrorKubernetesBackupExtensionNotFoundError: The backup extension is not installed on the target cluster.",
            "Recommended action: Install the backup extension on the cluster and retry the restore.",
            "Subject: shop/data-0",
            "Failure 2 of 2: time not recorded  Azure Backup backup  CompletedWithWarnings",
            "=> explained by: backup-extension (fail on aks2)",
            "=> not explained by any prerequisite check (code UserErrorSomethingNobodyDocumented is not in the mapping)",
            "aks3 (restore source): not checked: 404 on GET managedClusters/aks3",
            "failing: trusted-access",
            "CrashLoopBackOff",
            "31 failed jobs in the window",
            "\n2 failures: 1 explained, 1 unexplained (mapping data 2026-11-29)\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(text.contains("┆ FAIL ") && text.contains("┆ PASS "));
        // The fix is a whole line of its own, pasteable into a shell.
        assert!(text.contains(&format!(
            "  backup-extension on aks2:\n    {EXTENSION_FIX}\n"
        )));
        // The Ready pod is not listed.
        assert!(!text.contains("stork-7d9f8b6c5-x2k4p"));
        assert!(!text.contains('\u{1b}'), "colour escapes without colour");
    }

    #[test]
    fn colours_statuses_only_when_asked() {
        let style = Style {
            color: true,
            width: Some(120),
        };
        assert!(render(&two_failures(), &style).contains('\u{1b}'));
    }

    #[test]
    fn rows_fit_the_width() {
        let text = render(&two_failures(), &plain(80));
        let rows = text
            .lines()
            .filter(|l| l.starts_with(['│', '┌', '└', '├', '╞']));
        assert!(rows.clone().count() > 5);
        assert!(rows.into_iter().all(|l| l.chars().count() <= 80), "{text}");
    }

    #[test]
    fn without_failures_says_so_and_still_shows_what_could_not_be_read() {
        let text = render(&no_failure(), &plain(100));
        assert!(text.contains(&format!("Cluster: {AKS1}\n")));
        assert!(
            text.contains("\nNo failed backup or restore recorded since 2026-11-22T00:00:00Z.\n")
        );
        assert!(text.contains(
            "  the vault's backup jobs: 403 AuthorizationFailed\n    call: GET /subscriptions/"
        ));
        assert!(text.contains("    grant: Microsoft.DataProtection/backupVaults/backupJobs/read\n"));
        assert!(text.contains("no Kubernetes access: Stork objects were not read"));
        assert!(text.contains("Incomplete: 1 record(s) could not be read."));
        assert!(!text.contains("Failure 1"));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&two_failures(), &plain(100)));
    }
}
