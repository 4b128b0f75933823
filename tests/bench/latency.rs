//! Benchmark: a full `check` of the ready fixture against the fake ARM with 100 ms of
//! latency injected into every response (token and ARM alike), with the fixture's flags,
//! with the cluster alone (the vault and snapshot resource group then discovered, a longer
//! chain of reads), and with the flags plus Kubernetes access (a fake API server answering
//! the kubernetes-problems fixture's lists, 100 ms each too); and a `diagnose` of the
//! failed-restore fixture with Kubernetes access (its job list, the failed jobs' own reads,
//! Stork's records, and the restore target cluster's reads). Prints the request counts and
//! the wall time; run with `cargo bench --bench latency`.

#[path = "../integration/common/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LATENCY: Duration = Duration::from_millis(100);
const RUNS: usize = 5;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let fake = FakeArm::serving("ready").await;
    let given: Vec<String> = ["check".to_string()]
        .into_iter()
        .chain(target_args("ready"))
        .collect();
    let discovered: Vec<String> = ["check", "--cluster", CLUSTER]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let kubernetes = fake_kubernetes("kubernetes-problems").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = kubeconfig(dir.path(), &kubernetes.uri());
    let with_kubernetes: Vec<String> = given
        .iter()
        .cloned()
        .chain(["--kubeconfig".to_string(), config])
        .collect();
    let failed_restore = fake_kubernetes("failed-restore").await;
    let diagnose: Vec<String> = ["diagnose".to_string()]
        .into_iter()
        .chain(target_args("failed-restore"))
        .chain([
            "--since".to_string(),
            "36500d".to_string(),
            "--kubeconfig".to_string(),
            kubeconfig(dir.path(), &failed_restore.uri()),
        ])
        .collect();
    for (name, fixture, args, kubernetes) in [
        ("check, flags given", "ready", given, &kubernetes),
        (
            "check, vault and snapshot group discovered",
            "ready",
            discovered,
            &kubernetes,
        ),
        (
            "check, flags given, with Kubernetes access",
            "ready",
            with_kubernetes,
            &kubernetes,
        ),
        (
            "diagnose, with Kubernetes access",
            "failed-restore",
            diagnose,
            &failed_restore,
        ),
    ] {
        let lists_before = kubernetes_requests(kubernetes).await;
        let mut times = Vec::new();
        for _ in 0..RUNS {
            // Fresh mocks and request log for each run: only delayed answers are served.
            fake.server.reset().await;
            fake.mount_fixture(fixture, LATENCY).await;
            if fixture == "ready" {
                mount_backup_instance(&fake).await;
            }
            let mut refs: Vec<&str> = args.iter().map(String::as_str).collect();
            refs.extend(["-o", "json"]);
            let started = Instant::now();
            let output = run(fake.command(&refs)).await;
            times.push(started.elapsed());
            // The Kubernetes lists hold problems (not ready, 1); nothing may stop the run (2).
            assert!(
                output.status.code().is_some_and(|code| code < 2),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let requests = fake.arm_requests().await.len();
        let blob = fake.blob_requests().await.len();
        let tokens = fake.requests().await.len() - requests - blob;
        let lists = (kubernetes_requests(kubernetes).await - lists_before) / RUNS;
        times.sort();
        println!(
            "{name} ({fixture} fixture), {} ms per response: {requests} ARM requests + {tokens} token requests + {blob} blob listing + {lists} Kubernetes requests; wall time median {} ms (min {} ms, max {} ms) over {RUNS} runs",
            LATENCY.as_millis(),
            times[RUNS / 2].as_millis(),
            times[0].as_millis(),
            times[RUNS - 1].as_millis()
        );
    }
}

/// The vault's backup instance of the cluster, naming the fixture's snapshot resource group.
async fn mount_backup_instance(fake: &FakeArm) {
    let snapshot_group = fixture_target("ready")["snapshot_resource_group"].clone();
    let instance = json!({
        "name": "aks-prod-bi",
        "properties": {
            "dataSourceInfo": {"resourceID": CLUSTER, "objectType": "Datasource"},
            "policyInfo": {"policyParameters": {"dataStoreParametersList": [{
                "resourceGroupId": snapshot_group,
                "objectType": "AzureOperationalStoreParameters",
                "dataStoreType": "OperationalStore"
            }]}},
            "objectType": "BackupInstance"
        }
    });
    let response = ResponseTemplate::new(200)
        .set_body_json(json!({"value": [instance]}))
        .set_delay(LATENCY);
    fake.answer_raw(&format!("{VAULT}/backupInstances"), response)
        .await;
}

/// A fake Kubernetes API server answering the recorded lists of a fixture bundle, each after
/// the same latency as the fake ARM.
async fn fake_kubernetes(fixture: &str) -> MockServer {
    let server = MockServer::start().await;
    for read in fixture_reads(fixture) {
        if read["source"] != "kubernetes" {
            continue;
        }
        // A label selector is a query: the pod lists share their path.
        let at = read["path"]
            .as_str()
            .expect("a Kubernetes record has a path")
            .split('?')
            .next()
            .unwrap_or_default();
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(&read["body"])
                    .set_delay(LATENCY),
            )
            .mount(&server)
            .await;
    }
    server
}

/// How many requests the fake API server has answered so far.
async fn kubernetes_requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// A kubeconfig whose one context is the fake API server, with a bearer token (one file
/// per server).
fn kubeconfig(dir: &std::path::Path, server: &str) -> String {
    let port = server.rsplit(':').next().unwrap_or_default();
    let file = dir.join(format!("kubeconfig-{port}"));
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: aks-prod\n  cluster:\n    server: {server}\ncontexts:\n- name: aks-prod\n  context:\n    cluster: aks-prod\n    user: bench\ncurrent-context: aks-prod\nusers:\n- name: bench\n  user:\n    token: bench-token\n"
    );
    std::fs::write(&file, text).expect("the kubeconfig is written");
    file.to_string_lossy().into_owned()
}
