//! The command line without ARM: catalog, explain, bundles, and bad input (exit 2, one line).

use crate::common::{catalog_ids, copy_dir, fixture};
use assert_cmd::Command;

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("pxb-preflight").unwrap();
    cmd.env_clear().env("AZURE_CREDENTIAL_KIND", "environment");
    cmd
}

fn stderr_of(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CLUSTER: &str =
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c";

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let corrupt = tempfile::tempdir().unwrap();
    std::fs::write(corrupt.path().join("manifest.json"), "{ not json").unwrap();
    let ready = fixture("ready");
    let scratch = tempfile::tempdir().unwrap();
    let wrong_types = scratch.path().join("wrong-types");
    std::fs::create_dir_all(wrong_types.join("reads")).unwrap();
    std::fs::copy(
        ready.join("manifest.json"),
        wrong_types.join("manifest.json"),
    )
    .unwrap();
    std::fs::write(
        wrong_types.join("reads/001-x.json"),
        r#"{"method": "GET", "path": 42, "api_version": [], "status": "abc"}"#,
    )
    .unwrap();
    let huge = scratch.path().join("huge");
    std::fs::create_dir_all(huge.join("reads")).unwrap();
    std::fs::copy(ready.join("manifest.json"), huge.join("manifest.json")).unwrap();
    std::fs::File::create(huge.join("reads/001-huge.json"))
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let not_utf8 = scratch.path().join("values.yaml");
    std::fs::write(&not_utf8, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let empty_key = scratch.path().join("key.txt");
    std::fs::write(&empty_key, "\n").unwrap();
    let no_actions = scratch.path().join("role.json");
    std::fs::write(&no_actions, r#"{"Name": "r", "Actions": []}"#).unwrap();
    let account = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a";
    let scratch_dir = scratch.path().to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "malformed cluster id",
            vec!["check", "--cluster", "/subscriptions/s/resourceGroups"],
            "malformed resource ID",
        ),
        (
            "cluster of the wrong type",
            vec![
                "check",
                "--cluster",
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
            ],
            "expected 'Microsoft.ContainerService/managedClusters'",
        ),
        (
            "unknown profile",
            vec!["check", "--cluster", CLUSTER, "--profile", "velero"],
            "invalid value 'velero'",
        ),
        ("missing target", vec!["check"], "no cluster given"),
        (
            "partial target",
            vec!["check", "--subscription", "s", "-g", "g"],
            "no cluster given",
        ),
        (
            "bad vault",
            vec!["check", "--cluster", CLUSTER, "--vault", "vault1"],
            "malformed resource ID 'vault1'",
        ),
        (
            "bad container",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--blob-container",
                "Bad_Name",
            ],
            "not a valid blob container name",
        ),
        (
            "no credentials",
            vec!["check", "--cluster", CLUSTER],
            "no Azure credential available",
        ),
        (
            "plain http endpoint",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--arm-endpoint",
                "http://example.com",
            ],
            "allowed only for loopback",
        ),
        (
            "missing bundle",
            vec!["check", "--bundle", "/nonexistent/bundle"],
            "is not a bundle",
        ),
        (
            "corrupt bundle",
            vec!["check", "--bundle", corrupt.path().to_str().unwrap()],
            "is not valid JSON",
        ),
        (
            "bundle with target flags",
            vec![
                "check",
                "--bundle",
                ready.to_str().unwrap(),
                "--cluster",
                CLUSTER,
            ],
            "drop the target flags",
        ),
        (
            "unknown check",
            vec!["explain", "no-such-check"],
            "unknown check id",
        ),
        (
            "read record of the wrong JSON types",
            vec!["check", "--bundle", wrong_types.to_str().unwrap()],
            "is not a valid read record",
        ),
        (
            "huge file in a bundle",
            vec!["check", "--bundle", huge.to_str().unwrap()],
            "over 64 MiB",
        ),
        (
            "values file not UTF-8",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--helm-values",
                not_utf8.to_str().unwrap(),
            ],
            "cannot read --helm-values",
        ),
        (
            "missing values file",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--helm-values",
                "/nonexistent/values.yaml",
            ],
            "cannot read --helm-values",
        ),
        (
            "directory as a values file",
            vec!["check", "--cluster", CLUSTER, "--helm-values", scratch_dir],
            "cannot read --helm-values",
        ),
        (
            "directory as a key file",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--storage-account",
                account,
                "--storage-account-key-file",
                scratch_dir,
            ],
            "cannot read --storage-account-key-file",
        ),
        (
            "empty key file",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--storage-account",
                account,
                "--storage-account-key-file",
                empty_key.to_str().unwrap(),
            ],
            "is empty",
        ),
        (
            "role file without actions",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--restore-role-file",
                no_actions.to_str().unwrap(),
            ],
            "has no Actions",
        ),
        (
            "principal that is no GUID",
            vec![
                "check",
                "--cluster",
                CLUSTER,
                "--pxb-principal",
                "aks-identity",
            ],
            "is not an object ID",
        ),
        (
            "flags in conflict",
            vec!["check", "--cluster", CLUSTER, "-g", "rg"],
            "cannot be used with",
        ),
        (
            "two reports to stdout",
            vec![
                "check",
                "--bundle",
                ready.to_str().unwrap(),
                "-o",
                "table",
                "-o",
                "json",
            ],
            "only one -o format",
        ),
    ];
    for (name, args, expected) in cases {
        let (code, stderr) = stderr_of(bin().args(&args));
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{name}: {stderr}"
        );
        if !name.contains("profile") && !name.contains("conflict") {
            assert_eq!(stderr.trim().lines().count(), 1, "{name}: {stderr}");
        }
    }
}

#[test]
fn catalog_lists_every_check_once() {
    let out = bin().arg("checks").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // A new or renamed check is a reviewed change of this snapshot, not a broken count.
    insta::assert_snapshot!("checks", text);
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a check is listed twice: {text}");
    assert!(!ids.contains(&""), "a line without a check: {text}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("snapshot-controller") && l.contains("pxb,azure-backup")));
}

#[test]
fn explain_says_what_why_reads_and_fix() {
    let out = bin().args(["explain", "trusted-access"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for part in [
        "Verifies",
        "Why:",
        "Reads:",
        "Fix:",
        "backup-operator",
        "Profiles: azure-backup",
    ] {
        assert!(text.contains(part), "{part} missing: {text}");
    }
}

#[test]
fn bundles_give_the_documented_exit_codes() {
    for (name, code) in [
        ("ready", 0),
        ("sp-cluster-csi-disabled", 1),
        ("backup-not-configured", 1),
    ] {
        let out = bin()
            .args(["check", "--bundle", fixture(name).to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{name}");
    }
}

#[test]
fn profile_selects_checks_and_fail_on_warn_counts_warnings() {
    let out = bin()
        .args([
            "check",
            "--bundle",
            fixture("ready").to_str().unwrap(),
            "--profile",
            "pxb",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"pxb-ports") && ids.contains(&"cluster-state"));
    assert!(!ids.contains(&"trusted-access"));
    assert_eq!(
        ids,
        catalog_ids("pxb"),
        "the catalog's pxb checks, each once"
    );

    // A bundle whose only finding is a warning: ready without the container name.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("ready"), dir.path());
    let ext_file = std::fs::read_dir(dir.path().join("reads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("extensions"))
        .unwrap();
    let text = std::fs::read_to_string(&ext_file).unwrap().replace(
        "\"configuration.backupStorageLocation.bucket\"",
        "\"unrelated.setting\"",
    );
    std::fs::write(&ext_file, text).unwrap();
    let bundle = dir.path().to_str().unwrap();
    assert_eq!(
        bin()
            .args(["check", "--bundle", bundle])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        bin()
            .args(["check", "--bundle", bundle, "--fail-on", "warn"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
}
