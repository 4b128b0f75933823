//! The storage account key given to PXB: verified against listKeys, never shown anywhere.

use crate::common::*;
use serde_json::{json, Value};

const KEY1: &str = "planted-key1-Wm9vQmFyQmF6UXV4UXV1eENvcmdlR3JhdWx0R2FycGx5V2FsZG8xMjM0NTY3OA==";
const KEY2: &str = "planted-key2-QWxwaGFCcmF2b0NoYXJsaWVEZWx0YUVjaG9Gb3h0cm90R29sZkhvdGVsSW5kaWE=";
const WRONG: &str =
    "planted-wrong-SnVsaWV0dEtpbG9MaW1hTWlrZU5vdmVtYmVyT3NjYXJQYXBhUXVlYmVjUm9tZW8=";

fn list_keys_body() -> Value {
    // The live service answers "FULL"; the spec example says "Full". Both are fine.
    json!({"keys": [
        {"creationTime": "2026-09-30T08:01:12.4322836Z", "keyName": "key1", "value": KEY1, "permissions": "FULL"},
        {"creationTime": "2026-09-30T08:01:12.4322836Z", "keyName": "key2", "value": KEY2, "permissions": "Full"}
    ]})
}

async fn fake_with_keys() -> FakeArm {
    let fake = FakeArm::serving("ready").await;
    fake.answer_list_keys(ACCOUNT, 200, list_keys_body()).await;
    fake
}

fn check_with_key(fake: &FakeArm, key: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut args = vec!["--storage-account", ACCOUNT];
    args.extend_from_slice(extra);
    let mut cmd = fake.check("ready", &args);
    cmd.env("PXB_STORAGE_ACCOUNT_KEY", key);
    cmd
}

fn assert_no_key_in(text: &str) {
    for key in [KEY1, KEY2, WRONG] {
        assert!(!text.contains(key), "a key leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn right_key_passes_wrong_key_fails_and_neither_is_ever_printed() {
    let fake = fake_with_keys().await;
    for (key, expected, code) in [(KEY2, "pass", Some(0)), (WRONG, "fail", Some(1))] {
        for format in ["json", "table"] {
            let output = run(check_with_key(&fake, key, &["-o", format])).await;
            assert_eq!(
                output.status.code(),
                code,
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_no_key_in(&String::from_utf8_lossy(&output.stdout));
            assert_no_key_in(&String::from_utf8_lossy(&output.stderr));
            if format == "json" {
                let report = json_of(&output);
                let check = check_of(&report, "pxb-storage-account-key");
                assert_eq!(check["status"], expected, "{check}");
                if expected == "pass" {
                    assert!(check["message"].as_str().unwrap().contains("key2"));
                }
            }
        }
    }
    let list_keys_calls = fake
        .requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/listKeys"))
        .count();
    assert_eq!(list_keys_calls, 4, "one listKeys per run with a key");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_file_with_trailing_newline_is_accepted_and_the_bundle_holds_no_key() {
    let fake = fake_with_keys().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{KEY1}\n")).unwrap();
    let out = dir.path().join("bundle");
    let extra = [
        "--storage-account",
        ACCOUNT,
        "--storage-account-key-file",
        key_file.to_str().unwrap(),
    ];
    let collected = run(fake.collect("ready", &out, &extra)).await;
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let mut texts = vec![
        String::from_utf8_lossy(&collected.stdout).into_owned(),
        String::from_utf8_lossy(&collected.stderr).into_owned(),
    ];
    for entry in std::fs::read_dir(out.join("reads")).unwrap() {
        texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("\"storage_account_key_provided\": true"),
        "{manifest}"
    );
    texts.push(manifest);
    for text in &texts {
        assert_no_key_in(text);
    }
    // Offline, the bundle gives the same verdict: key1 matched.
    let replay = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .args(["check", "--bundle", out.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    let report = json_of(&replay);
    assert_eq!(status_of(&report, "pxb-storage-account-key"), "pass");
    assert!(check_of(&report, "pxb-storage-account-key")["message"]
        .as_str()
        .unwrap()
        .contains("key1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_the_permissions_api_decides_and_list_keys_is_never_called() {
    let fake = fake_with_keys().await;
    let output = run(fake.check("ready", &["--storage-account", ACCOUNT, "-o", "json"])).await;
    assert_eq!(
        status_of(&json_of(&output), "pxb-storage-account-key"),
        "pass",
        "the fixture's caller is Owner"
    );
    // A Reader caller cannot list keys: warn.
    fake.answer(&format!("{ACCOUNT}/providers/Microsoft.Authorization/permissions"), 200, json!({"value": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]})).await;
    let output = run(fake.check("ready", &["--storage-account", ACCOUNT, "-o", "json"])).await;
    assert_eq!(
        status_of(&json_of(&output), "pxb-storage-account-key"),
        "warn"
    );
    assert!(
        fake.requests()
            .await
            .iter()
            .all(|r| r.method.as_str() != "POST" || r.url.path().contains("/oauth2/")),
        "no listKeys without a key"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_unable_to_list_keys_makes_the_key_check_an_error() {
    let fake = FakeArm::serving("ready").await;
    fake.answer_list_keys(
        ACCOUNT,
        403,
        authorization_failed("Microsoft.Storage/storageAccounts/listKeys/action", ACCOUNT),
    )
    .await;
    let output = run(check_with_key(&fake, KEY1, &["-o", "json"])).await;
    assert_eq!(output.status.code(), Some(3));
    let report = json_of(&output);
    let check = check_of(&report, "pxb-storage-account-key");
    assert_eq!(check["status"], "error");
    assert!(
        check["message"].as_str().unwrap().contains("POST")
            && check["message"]
                .as_str()
                .unwrap()
                .contains("listKeys/action"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn key_without_an_account_or_as_a_flag_is_refused() {
    let fake = FakeArm::serving("ready").await;
    let mut cmd = fake.check("ready", &[]);
    cmd.env("PXB_STORAGE_ACCOUNT_KEY", KEY1);
    let output = run(cmd).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no --storage-account"));
    assert_no_key_in(&String::from_utf8_lossy(&output.stderr));
    let flag = run(fake.check("ready", &["--storage-account-key", KEY1])).await;
    assert_eq!(
        flag.status.code(),
        Some(2),
        "there is no flag that takes a key value"
    );
    assert_no_key_in(&String::from_utf8_lossy(&flag.stderr));
}
