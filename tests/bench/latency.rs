//! Benchmark: a full `check` of the ready fixture against the fake ARM with 100 ms of
//! latency injected into every response (token and ARM alike), once with the fixture's
//! flags and once with the cluster alone (the vault and snapshot resource group then
//! discovered, a longer chain of reads). Prints the request count and the wall time; run
//! with `cargo bench --bench latency`.

#[path = "../integration/common/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::ResponseTemplate;

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
    for (name, args) in [
        ("flags given", given),
        ("vault and snapshot group discovered", discovered),
    ] {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            // Fresh mocks and request log for each run: only delayed answers are served.
            fake.server.reset().await;
            fake.mount_fixture("ready", LATENCY).await;
            mount_backup_instance(&fake).await;
            let mut refs: Vec<&str> = args.iter().map(String::as_str).collect();
            refs.extend(["-o", "json"]);
            let started = Instant::now();
            let output = run(fake.command(&refs)).await;
            times.push(started.elapsed());
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let requests = fake.arm_requests().await.len();
        let tokens = fake.requests().await.len() - requests;
        times.sort();
        println!(
            "check of the ready fixture ({name}), {} ms per response: {requests} ARM requests + {tokens} token request; wall time median {} ms (min {} ms, max {} ms) over {RUNS} runs",
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
