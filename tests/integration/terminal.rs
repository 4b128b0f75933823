//! The terminal experience: progress only on a terminal (driven through a pseudo-terminal
//! with util-linux `script`), `-v` call logging without tokens, `--quiet`, `--color`,
//! shell completions and the man page.

use crate::common::*;

fn piped_check(fake: &FakeArm, extra: &[&str]) -> assert_cmd::Command {
    let mut args = vec!["-o", "json"];
    args.extend_from_slice(extra);
    fake.check("ready", &args)
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_shows_on_a_terminal_and_not_when_piped() {
    let fake = FakeArm::serving("ready").await;
    let piped = run(piped_check(&fake, &[])).await;
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains("reading ARM"),
        "no progress when piped"
    );

    // The same command under a pseudo-terminal: `script` gives it a tty for stdout and stderr.
    let binary = assert_cmd::cargo::cargo_bin("pxb-preflight");
    let mut line = format!(
        "{} check --arm-endpoint {} -o table",
        binary.display(),
        fake.server.uri()
    );
    for arg in target_args("ready") {
        line.push(' ');
        line.push_str(&arg);
    }
    let mut script = std::process::Command::new("script");
    script
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "0b7c1a2d-5555-4666-8777-d88899900011")
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
        .env("AZURE_AUTHORITY_HOST", fake.server.uri())
        .env("AZURE_CREDENTIAL_KIND", "environment");
    let output = tokio::task::spawn_blocking(move || script.output().unwrap())
        .await
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("reading ARM"),
        "progress on a terminal: {screen}"
    );
    assert!(screen.contains("READY"), "the report follows: {screen}");
    assert!(screen.contains('\u{1b}'), "colour on a terminal");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_each_call_without_tokens() {
    let fake = FakeArm::serving("ready").await;
    let output = run(piped_check(&fake, &["-v"])).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "pxb-preflight: GET {CLUSTER}?api-version=2025-10-01 -> 200 ("
        )),
        "{stderr}"
    );
    assert!(stderr.contains("$filter=assignedTo"), "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("pxb-preflight: GET "))
            .count(),
        fake.arm_requests().await.len() + fake.blob_requests().await.len(),
        "every ARM and blob call is logged"
    );
    for secret in [ACCESS_TOKEN, CLIENT_SECRET, "Bearer"] {
        assert!(!stderr.contains(secret), "{secret} in the call log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_prints_nothing_but_keeps_the_exit_code_and_files() {
    let fake = FakeArm::serving("ready").await;
    let mut cluster = FakeArm::body("ready", CLUSTER);
    cluster["properties"]["powerState"]["code"] = serde_json::json!("Stopped");
    fake.answer(CLUSTER, 200, cluster).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let output = run(fake.check(
        "ready",
        &[
            "--quiet",
            "-o",
            "table",
            "-o",
            &format!("json={}", file.display()),
        ],
    ))
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("\"cluster-state\""));
}

#[test]
fn color_flag_overrides_detection() {
    let bundle = fixture("sp-cluster-csi-disabled");
    let run = |color: &str| {
        assert_cmd::Command::cargo_bin("pxb-preflight")
            .unwrap()
            .env_clear()
            .args([
                "check",
                "--bundle",
                bundle.to_str().unwrap(),
                "--color",
                color,
            ])
            .output()
            .unwrap()
    };
    assert!(String::from_utf8_lossy(&run("always").stdout).contains('\u{1b}'));
    assert!(!String::from_utf8_lossy(&run("never").stdout).contains('\u{1b}'));
    assert!(
        !String::from_utf8_lossy(&run("auto").stdout).contains('\u{1b}'),
        "piped: no colour"
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = assert_cmd::Command::cargo_bin("pxb-preflight")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("restore-source-cluster"),
            "{shell}"
        );
    }
    let man = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(text.starts_with(".ie") || text.contains(".TH"), "{text}");
    assert!(text.contains("pxb\\-preflight"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_turns_on_the_same_call_log() {
    let fake = FakeArm::serving("ready").await;
    let mut cmd = piped_check(&fake, &[]);
    cmd.env("RUST_LOG", "pxb_preflight=debug");
    let output = run(cmd).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "pxb-preflight: GET {CLUSTER}?api-version=2025-10-01 -> 200"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(ACCESS_TOKEN));
}
