//! Single-file bundles: collect to .tar.gz, replay it offline, inspect it.

use crate::common::*;
use serde_json::json;
use std::io::Read;

const SP_SECRET: &str = "planted-sp-secret-in-archive-9Qx";

#[tokio::test(flavor = "multi_thread")]
async fn tar_gz_round_trip_equals_live_and_holds_no_secret() {
    let fake = FakeArm::serving("ready").await;
    let mut cluster = FakeArm::body("ready", CLUSTER);
    cluster["properties"]["servicePrincipalProfile"]["secret"] = json!(SP_SECRET);
    fake.answer(CLUSTER, 200, cluster).await;
    fake.answer(
        VAULT,
        403,
        arm_error("AuthorizationFailed", "no read on the vault"),
    )
    .await;
    let live = run(fake.check("ready", &["-o", "json"])).await;

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("support.tar.gz");
    let collected = run(fake.collect("ready", &archive, &[])).await;
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );

    let replay = bin()
        .args(["check", "--bundle", archive.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), live.status.code());
    assert_eq!(json_of(&replay), json_of(&live));

    let raw_bytes = std::fs::read(&archive).unwrap();
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&raw_bytes[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    for bytes in [&raw_bytes, &unpacked] {
        let text = String::from_utf8_lossy(bytes);
        for secret in [SP_SECRET, CLIENT_SECRET, ACCESS_TOKEN] {
            assert!(!text.contains(secret), "{secret} is in the archive");
        }
    }
    assert!(String::from_utf8_lossy(&unpacked).contains("[redacted]"));

    let inspect = bin()
        .args(["bundle", "inspect", archive.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(inspect.stdout).unwrap();
    assert!(text.contains("format: pxb-preflight-bundle v2"), "{text}");
    assert!(
        text.contains(&format!("failed: {VAULT} HTTP 403 AuthorizationFailed")),
        "{text}"
    );
}

#[test]
fn corrupt_or_truncated_archives_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let not_gzip = dir.path().join("x.tar.gz");
    std::fs::write(&not_gzip, b"this is not a gzip stream").unwrap();
    // A real archive cut in half.
    let whole = dir.path().join("whole.tar.gz");
    let file = std::fs::File::create(&whole).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    builder.append_dir_all("bundle", fixture("ready")).unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    let truncated = dir.path().join("truncated.tar.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    // The whole archive, made by hand from the fixture directory, is a valid bundle.
    assert_eq!(
        bin()
            .args(["check", "--bundle", whole.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    for path in [&not_gzip, &truncated] {
        let out = bin()
            .args(["check", "--bundle", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
