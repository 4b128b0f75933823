//! The diagnosis in Markdown, for a support ticket: the summary as a heading, a section per
//! failure (its reasons and the checks run, as tables; each fix in a code block so it can be
//! copied whole), then the clusters checked, the pods not Ready, what could not be read
//! and the notes.

use super::{
    explanation_text, failing, operation_label, product_label, record_label, rfc3339, role_label,
    summary_line, time_label, ClusterNames,
};
use crate::diagnosis::{DiagnosedFailure, Diagnosis};
use crate::report::markdown::cell;

fn code(text: &str) -> String {
    format!("`{text}`")
}

pub fn render(diagnosis: &Diagnosis) -> String {
    let names = ClusterNames::of(diagnosis);
    let mut out = format!(
        "## pxb-preflight diagnose: {}\n\n- Cluster: `{}`\n",
        summary_line(diagnosis),
        diagnosis.cluster
    );
    if let Some(vault) = &diagnosis.vault {
        out.push_str(&format!("- Vault: `{vault}`\n"));
    }
    out.push_str(&format!("- Since: {}\n", rfc3339(diagnosis.scope.since)));
    if let Some(job) = &diagnosis.scope.job {
        out.push_str(&format!("- Job: `{job}`\n"));
    }
    out.push_str(&format!(
        "- pxb-preflight {}, mapping data {}\n",
        env!("CARGO_PKG_VERSION"),
        diagnosis.mapping_version
    ));
    for (index, failure) in diagnosis.failures.iter().enumerate() {
        out.push_str(&failure_section(failure, index + 1, &names));
    }
    out.push_str(&clusters(diagnosis, &names));
    let not_ready: Vec<_> = diagnosis.pods.iter().filter(|p| !p.ready).collect();
    if !not_ready.is_empty() {
        out.push_str("\n### Stork and Portworx Backup pods not Ready\n\n| Component | Pod | Phase | Waiting | Restarts |\n|---|---|---|---|---|\n");
        for p in not_ready {
            out.push_str(&format!(
                "| {} | `{}/{}` | {} | {} | {} |\n",
                p.component,
                cell(&p.namespace),
                cell(&p.name),
                cell(&p.phase),
                cell(p.waiting.as_deref().unwrap_or("")),
                p.restarts
            ));
        }
    }
    if !diagnosis.unread.is_empty() {
        out.push_str("\n### Could not read\n\n| What | Call | Permission to grant | Message |\n|---|---|---|---|\n");
        for u in &diagnosis.unread {
            out.push_str(&format!(
                "| {} | `{}` | `{}` | {} |\n",
                cell(&u.what),
                cell(&u.call),
                cell(&u.permission),
                cell(&u.message)
            ));
        }
    }
    if !diagnosis.notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for note in &diagnosis.notes {
            out.push_str(&format!("- {}\n", note.replace('\n', " ")));
        }
    }
    out
}

fn failure_section(d: &DiagnosedFailure, number: usize, names: &ClusterNames) -> String {
    let f = &d.failure;
    let time = time_label(f);
    let mut out = format!(
        "\n### {number}. {} {}: {} ({time})\n\n- {}: `{}`\n",
        product_label(f.product),
        operation_label(f.operation),
        f.status,
        record_label(f.record),
        f.id
    );
    if let Some(source) = &f.source_cluster {
        out.push_str(&format!("- Source cluster: `{source}`\n"));
    }
    if let Some(target) = &f.target_cluster {
        out.push_str(&format!("- Target cluster: `{target}`\n"));
    }
    if f.reasons.is_empty() {
        out.push_str("\nNo reason recorded.\n");
    } else {
        out.push_str("\n| Code | Reason | Recommended action | Subject |\n|---|---|---|---|\n");
    }
    for r in &f.reasons {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.code
                .as_deref()
                .map(|c| code(&cell(c)))
                .unwrap_or_default(),
            cell(&r.message),
            cell(r.recommended_action.as_deref().unwrap_or("")),
            r.subject
                .as_deref()
                .map(|s| code(&cell(s)))
                .unwrap_or_default()
        ));
    }
    if !d.matches.is_empty() {
        out.push('\n');
    }
    for m in &d.matches {
        out.push_str(&format!(
            "- Documented: {}: {} ([{}]({}), {})\n",
            code(&cell(&m.matched)),
            m.cause,
            m.source_title,
            m.source,
            m.source_revision
        ));
    }
    if !d.checks.is_empty() {
        out.push_str("\n| Cluster | Check | Status | Message |\n|---|---|---|---|\n");
        for c in &d.checks {
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                cell(names.label(&c.cluster)),
                c.id,
                c.status.name(),
                cell(&c.message)
            ));
        }
    }
    for c in &d.checks {
        if let Some(fix) = &c.remediation {
            out.push_str(&format!(
                "\nHow to fix `{}` on {}:\n\n```sh\n{fix}\n```\n",
                c.id,
                names.label(&c.cluster)
            ));
        }
    }
    out.push_str(&format!("\n**{}**\n", explanation_text(d, names, code)));
    out
}

fn clusters(diagnosis: &Diagnosis, names: &ClusterNames) -> String {
    if diagnosis.clusters.is_empty() {
        return String::new();
    }
    let mut out = "\n### Clusters checked\n\n| Cluster | Role | Pass | Warn | Fail | Skip | Error | Failing checks |\n|---|---|---|---|---|---|---|---|\n".to_string();
    for run in &diagnosis.clusters {
        let label = format!(
            "{} (`{}`)",
            cell(names.label(&run.cluster)),
            cell(run.cluster.as_str())
        );
        let role = role_label(run.role);
        match &run.verdicts {
            Ok(verdicts) => {
                let s = crate::report::Summary::of(verdicts);
                let failing: Vec<String> = failing(verdicts).into_iter().map(code).collect();
                out.push_str(&format!(
                    "| {label} | {role} | {} | {} | {} | {} | {} | {} |\n",
                    s.pass,
                    s.warn,
                    s.fail,
                    s.skip,
                    s.error,
                    failing.join(", ")
                ));
            }
            Err(message) => out.push_str(&format!(
                "| {label} | {role} | not checked: {} | | | | | |\n",
                cell(message)
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{no_failure, two_failures, EXTENSION_FIX};
    use super::*;

    #[test]
    fn shows_each_failure_its_checks_and_fixes() {
        let text = render(&two_failures());
        for expected in [
            "## pxb-preflight diagnose: 2 failures: 1 explained, 1 unexplained\n",
            "### 1. Azure Backup restore: Failed (2026-11-28T09:12:44Z)",
            "| `UserErrorKubernetesBackupExtensionNotFoundError` | The backup extension is not installed on the target cluster. | Install the backup extension on the cluster and retry the restore. |  |",
            "| aks2 | `backup-extension` | fail | no extension of type microsoft.dataprotection.kubernetes on the cluster |",
            &format!("How to fix `backup-extension` on aks2:\n\n```sh\n{EXTENSION_FIX}\n```\n"),
            "**explained by: `backup-extension` (fail on aks2)**",
            "**not explained by any prerequisite check (code `UserErrorSomethingNobodyDocumented` is not in the mapping)**",
            "| restore source | not checked: 404 on GET managedClusters/aks3: ResourceNotFound |",
            "| `trusted-access` |",
            "| px-backup | `central/px-backup-5c8d7f9b4-qm7zn` | Running | CrashLoopBackOff | 12 |",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn escapes_pipes_in_cells() {
        let text = render(&two_failures());
        assert!(text.contains(
            "| aks1 | `backup-extension` | pass | azure-aks-backup \\| Succeeded, release namespace dataprotection-microsoft |"
        ));
        // Every table row still has as many cells as its header.
        for line in text.lines().filter(|l| l.starts_with("| aks1 |")) {
            assert_eq!(line.replace("\\|", "").matches('|').count(), 5, "{line}");
        }
    }

    #[test]
    fn without_failures_says_so_and_lists_what_could_not_be_read() {
        let text = render(&no_failure());
        assert!(text.starts_with(
            "## pxb-preflight diagnose: No failed backup or restore recorded since 2026-11-22T00:00:00Z."
        ));
        assert!(text.contains("### Could not read\n"));
        assert!(text.contains(
            "| `Microsoft.DataProtection/backupVaults/backupJobs/read` | 403 AuthorizationFailed |"
        ));
        assert!(text.contains("- no Kubernetes access: Stork objects were not read\n"));
        assert!(!text.contains("### 1."));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&two_failures()));
    }
}
