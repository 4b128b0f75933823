//! Bundle format 2 and its compatibility with format 1: every v1 case (directory and
//! `.tar.gz`, kept under `tests/compat/v1/`) gives the same report as its upgrade and as the
//! v2 fixture; upgrading a v2 bundle changes nothing; adding a read renames no file.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FIXTURES: [&str; 4] = [
    "ready",
    "sp-cluster-csi-disabled",
    "backup-not-configured",
    "proxy-cluster",
];

fn compat_v1(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat/v1")
        .join(name)
}

/// The JSON report of a bundle, and the exit code.
fn report(bundle: &Path) -> (Option<i32>, Value) {
    let out = bin()
        .args(["check", "--bundle", bundle.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    (out.status.code(), json_of(&out))
}

fn upgrade(source: &Path, destination: &Path) {
    let out = bin()
        .args(["bundle", "upgrade"])
        .args([source, destination])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file of a bundle directory: relative path → text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy().into();
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn names(dir: &Path) -> BTreeSet<String> {
    files(dir).into_iter().map(|(name, _)| name).collect()
}

#[test]
fn v1_bundles_give_the_same_report_as_their_upgrade_and_the_v2_fixture() {
    let scratch = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let expected = report(&without_blob_reads(&fixture(name), scratch.path()));
        for (form, v1) in [
            ("dir", compat_v1(name)),
            ("tgz", compat_v1(&format!("{name}.tar.gz"))),
        ] {
            assert_eq!(report(&v1), expected, "{}", v1.display());
            for upgraded in ["dir", "bundle.tar.gz"] {
                let out = scratch.path().join(format!("{name}-{form}-{upgraded}"));
                upgrade(&v1, &out);
                assert_eq!(report(&out), expected, "{} upgraded", v1.display());
            }
        }
    }
}

/// A copy of a v2 bundle without its blob listings: format 1 has no `blob` source, so a
/// v1 bundle equals the v2 fixture only as far as format 1 can hold it.
fn without_blob_reads(bundle: &Path, scratch: &Path) -> PathBuf {
    let copy = scratch.join(format!(
        "{}-without-blob",
        bundle.file_name().unwrap().to_string_lossy()
    ));
    copy_dir(bundle, &copy);
    for (name, _) in files(&copy) {
        if name.starts_with("reads/blob-") {
            std::fs::remove_file(copy.join(name)).unwrap();
        }
    }
    copy
}

/// A read file's name without its hash: the fake serves a blob endpoint at its own address,
/// so a collected listing's hash (of the endpoint) differs from the fixture's.
fn without_blob_hash(names: BTreeSet<String>) -> BTreeSet<String> {
    names
        .into_iter()
        .map(|name| match name.strip_prefix("reads/blob-") {
            Some(rest) => format!("reads/blob-{}", &rest[..rest.rfind('-').unwrap_or(0)]),
            None => name,
        })
        .collect()
}

/// Format 1 failures carried string codes; upgraded, they are kinds, and every message
/// that quotes them reads the same.
#[test]
fn v1_failures_give_the_same_report_as_their_upgrade() {
    let scratch = tempfile::tempdir().unwrap();
    let v1 = scratch.path().join("v1");
    copy_dir(&compat_v1("ready"), &v1);
    let failures = [
        (
            "/roleAssignments",
            serde_json::json!(403),
            "AuthorizationFailed",
        ),
        (
            "/providers/Microsoft.KubernetesConfiguration",
            Value::Null,
            "Transport",
        ),
        (
            "/trustedAccessRoleBindings",
            serde_json::json!(200),
            "MalformedBody",
        ),
        ("/extensions", serde_json::json!(500), "HttpError"),
    ];
    for entry in std::fs::read_dir(v1.join("reads")).unwrap() {
        let path = entry.unwrap().path();
        let mut read: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let read_path = read["path"].as_str().unwrap().to_string();
        if let Some((_, status, code)) = failures.iter().find(|(end, ..)| read_path.ends_with(end))
        {
            read["status"] = status.clone();
            read.as_object_mut().unwrap().remove("body");
            read["error"] = serde_json::json!({"code": code, "message": "planted failure"});
            std::fs::write(&path, read.to_string()).unwrap();
        }
    }
    let upgraded = scratch.path().join("v2");
    upgrade(&v1, &upgraded);
    let (code, expected) = report(&v1);
    assert_eq!(report(&upgraded), (code, expected.clone()));
    let text = expected.to_string();
    for (_, _, code) in failures {
        assert!(
            text.contains(&format!("{code}: planted failure")),
            "{code}: {text}"
        );
    }
}

#[test]
fn upgrading_a_v2_bundle_changes_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let out = scratch.path().join(name);
        upgrade(&fixture(name), &out);
        assert_eq!(files(&out), files(&fixture(name)), "{name}");
        // and through an archive and back.
        let archive = scratch.path().join(format!("{name}.tar.gz"));
        upgrade(&fixture(name), &archive);
        let back = scratch.path().join(format!("{name}-back"));
        upgrade(&archive, &back);
        assert_eq!(files(&back), files(&fixture(name)), "{name} via .tar.gz");
    }
}

#[test]
fn inspect_shows_the_format_version_and_the_sources() {
    let v2 = bin()
        .args(["bundle", "inspect", fixture("ready").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&v2.stdout);
    assert!(text.contains("format: pxb-preflight-bundle v2"), "{text}");
    assert!(text.contains("sources: arm "), "{text}");
    let v1 = bin()
        .args([
            "bundle",
            "inspect",
            compat_v1("ready.tar.gz").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&v1.stdout);
    assert!(text.contains("format: pxb-preflight-bundle v1"), "{text}");
}

/// A run that makes more reads than the fixture holds (the PXB port probes, asked for by
/// `--pxb-endpoint`) writes the fixture's files under the same names, plus the new ones.
#[tokio::test(flavor = "multi_thread")]
async fn adding_a_read_renames_no_file() {
    let fake = FakeArm::serving("ready").await;
    let scratch = tempfile::tempdir().unwrap();
    let before = scratch.path().join("before");
    let after = scratch.path().join("after");
    let collected = run(fake.collect("ready", &before, &[])).await;
    assert_eq!(collected.status.code(), Some(0), "{collected:?}");
    let collected = run(fake.collect(
        "ready",
        &after,
        &["--pxb-endpoint", "127.0.0.1", "--pxb-rest-port", "1"],
    ))
    .await;
    assert_eq!(collected.status.code(), Some(0), "{collected:?}");
    let (before, after) = (
        without_blob_hash(names(&before)),
        without_blob_hash(names(&after)),
    );
    assert_eq!(
        before,
        without_blob_hash(names(&fixture("ready"))),
        "collect writes the fixture's names"
    );
    let added: Vec<_> = after.difference(&before).collect();
    assert!(before.is_subset(&after), "a name changed: {added:?}");
    assert!(
        added.iter().any(|n| n.starts_with("reads/probe-")),
        "{added:?}"
    );
}
