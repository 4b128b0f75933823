//! Benchmark: a full `check` of the ready fixture against the fake ARM with 100 ms of
//! latency injected into every response (token and ARM alike). Prints the request count
//! and the wall time; run with `cargo bench --bench latency`.

#[path = "../integration/common/mod.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(100);
const RUNS: usize = 5;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let fake = FakeArm::serving("ready").await;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        // Fresh mocks and request log for each run: only delayed answers are served.
        fake.server.reset().await;
        fake.mount_fixture("ready", LATENCY).await;
        let started = Instant::now();
        let output = run(fake.check("ready", &["-o", "json"])).await;
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
        "check of the ready fixture, {} ms per response: {requests} ARM requests + {tokens} token request; wall time median {} ms (min {} ms, max {} ms) over {RUNS} runs",
        LATENCY.as_millis(),
        times[RUNS / 2].as_millis(),
        times[0].as_millis(),
        times[RUNS - 1].as_millis()
    );
}
