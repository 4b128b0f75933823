//! Snapshots of the reports of the fixture bundles: what an operator and a CI job see.
//!
//! Every bundle under `fixtures/` (a directory with a `manifest.json`) is rendered in each
//! format, so a new fixture shows up as new snapshots to review; nothing here lists the
//! fixtures by name but the column-width case.

use assert_cmd::Command;
use std::path::Path;

fn report(bundle: &Path, format: &str) -> String {
    report_at(bundle, format, None)
}

fn report_at(bundle: &Path, format: &str, columns: Option<u16>) -> String {
    let out = Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .envs(columns.map(|c| ("COLUMNS", c.to_string())))
        .args(["check", "--bundle", bundle.to_str().unwrap(), "-o", format])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `assert` on every fixture bundle; its snapshots are suffixed `@<bundle name>`.
fn for_each_bundle(mut assert: impl FnMut(&str, &Path)) {
    insta::glob!("../../fixtures", "*/manifest.json", |manifest| {
        let bundle = manifest.parent().expect("a manifest lies in its bundle");
        let name = bundle.file_name().unwrap().to_string_lossy();
        insta::with_settings!({snapshot_suffix => name.as_ref()}, {
            assert(&name, bundle);
        });
    });
}

#[test]
fn table_reports() {
    for_each_bundle(|fixture, bundle| {
        let table = report(bundle, "table");
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
        insta::assert_snapshot!("table", table);
    });
}

#[test]
fn json_reports() {
    for_each_bundle(|_, bundle| {
        let json: serde_json::Value = serde_json::from_str(&report(bundle, "json")).unwrap();
        insta::assert_json_snapshot!("json", json);
    });
}

#[test]
fn table_at_80_and_120_columns() {
    let bundle = crate::common::fixture("backup-not-configured");
    for columns in [80u16, 120] {
        let table = report_at(&bundle, "table", Some(columns));
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
    for_each_bundle(|_, bundle| {
        insta::assert_snapshot!("markdown", report(bundle, "markdown"));
    });
}
