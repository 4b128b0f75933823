//! Snapshots of the reports of the fixture bundles: what an operator and a CI job see.

use assert_cmd::Command;
use std::path::Path;

fn report(fixture: &str, format: &str) -> String {
    report_at(fixture, format, None)
}

fn report_at(fixture: &str, format: &str, columns: Option<u16>) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let out = Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .envs(columns.map(|c| ("COLUMNS", c.to_string())))
        .args(["check", "--bundle", dir.to_str().unwrap(), "-o", format])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn table_reports() {
    for fixture in [
        "ready",
        "sp-cluster-csi-disabled",
        "backup-not-configured",
        "proxy-cluster",
    ] {
        let table = report(fixture, "table");
        // Table rows wrap at 100 columns; IDs and fix commands stay whole so they can be pasted.
        let rows = table
            .lines()
            .filter(|l| l.starts_with(['│', '┌', '└', '├', '╞']));
        assert!(rows.clone().count() > 10);
        assert!(
            rows.into_iter().all(|l| l.chars().count() <= 100),
            "{fixture}: a table row is wider than 100 columns"
        );
        assert!(
            !table.contains('\u{1b}'),
            "{fixture}: colour escapes when not a terminal"
        );
        insta::assert_snapshot!(format!("table-{fixture}"), table);
    }
}

#[test]
fn json_reports() {
    for fixture in [
        "ready",
        "sp-cluster-csi-disabled",
        "backup-not-configured",
        "proxy-cluster",
    ] {
        let json: serde_json::Value = serde_json::from_str(&report(fixture, "json")).unwrap();
        insta::assert_json_snapshot!(format!("json-{fixture}"), json);
    }
}

#[test]
fn table_at_80_and_120_columns() {
    for columns in [80u16, 120] {
        let table = report_at("backup-not-configured", "table", Some(columns));
        let rows = table
            .lines()
            .filter(|l| l.starts_with(['│', '┌', '└', '├', '╞']));
        assert!(
            rows.into_iter()
                .all(|l| l.chars().count() <= usize::from(columns)),
            "{columns}: a row is too wide"
        );
        insta::assert_snapshot!(format!("table-{columns}-backup-not-configured"), table);
    }
}

#[test]
fn markdown_reports() {
    for fixture in ["ready", "backup-not-configured", "proxy-cluster"] {
        insta::assert_snapshot!(format!("markdown-{fixture}"), report(fixture, "markdown"));
    }
}
