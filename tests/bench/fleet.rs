//! Benchmark: `pxb-preflight fleet --subscription <each> -o json` against the fake fleet
//! (`common::fleet`): N generated clusters over S subscriptions, 100 ms per answer, ARM's
//! read bucket per subscription and Resource Graph's per-user quota both enforced. One run
//! per size; prints a table row each (wall time, requests, 429s, the child's peak memory,
//! clusters in the report, exit code). A run that fails is reported and the next goes on.
//! Run with `cargo bench --bench fleet`; `FLEET_BENCH_SIZES="10x1,100x20"` picks sizes.

#[path = "../integration/common/mod.rs"]
mod common;

use common::fleet::{FakeFleet, FleetConfig};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SIZES: [(usize, usize); 6] = [
    (10, 1),
    (100, 1),
    (1000, 1),
    (10, 20),
    (100, 20),
    (1000, 20),
];

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!(
        "{:>5} {:>3} {:>9} {:>8} {:>6} {:>9} {:>8} {:>8} {:>9} {:>4} {:>10}",
        "N",
        "S",
        "wall s",
        "ARM",
        "ARG",
        "429 ARM",
        "429 ARG",
        "peak MiB",
        "clusters",
        "exit",
        "ARM/clust"
    );
    for (clusters, subscriptions) in sizes() {
        let fake = FakeFleet::start(FleetConfig::new(clusters, subscriptions)).await;
        let mut args = vec!["fleet"];
        for subscription in fake.subscriptions() {
            args.extend(["--subscription", subscription.as_str()]);
        }
        args.extend(["-o", "json"]);
        let command = std_command(&fake.command(&args));
        let started = Instant::now();
        let run = tokio::task::spawn_blocking(move || run_measured(command))
            .await
            .expect("the run's thread finished");
        let wall = started.elapsed();
        let arm = fake.arm_requests();
        let per_cluster = arm as f64 / clusters.max(1) as f64;
        let (peak, reported, exit) = match &run {
            Ok(run) => (
                format!("{:.1}", run.peak_kib as f64 / 1024.0),
                run.reported.map_or("-".to_string(), |n| n.to_string()),
                run.exit.map_or("-".to_string(), |code| code.to_string()),
            ),
            Err(_) => ("-".to_string(), "-".to_string(), "-".to_string()),
        };
        println!(
            "{clusters:>5} {subscriptions:>3} {:>9.2} {arm:>8} {:>6} {:>9} {:>8} {peak:>8} {reported:>9} {exit:>4} {per_cluster:>10.1}",
            wall.as_secs_f64(),
            fake.graph_queries(),
            fake.arm_throttled(),
            fake.graph_throttled(),
        );
        match run {
            Err(error) => println!("      could not run: {error}"),
            Ok(run) if run.exit.is_none_or(|code| code >= 2) || run.reported.is_none() => {
                println!("      failed: {}", run.error_line)
            }
            Ok(_) => {}
        }
    }
}

/// The sizes `FLEET_BENCH_SIZES` names (`NxS`, comma-separated), or every size.
fn sizes() -> Vec<(usize, usize)> {
    let Ok(chosen) = std::env::var("FLEET_BENCH_SIZES") else {
        return SIZES.to_vec();
    };
    chosen
        .split(',')
        .filter_map(|size| {
            let (clusters, subscriptions) = size.trim().split_once('x')?;
            Some((clusters.parse().ok()?, subscriptions.parse().ok()?))
        })
        .collect()
}

/// The same command as a `std::process::Command`, so the bench can spawn it and watch it.
fn std_command(command: &assert_cmd::Command) -> Command {
    let mut std = Command::new(command.get_program());
    std.args(command.get_args()).env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            std.env(key, value);
        }
    }
    std
}

/// What one run of the command gave.
struct Run {
    exit: Option<i32>,
    /// Peak resident memory of the child (`VmHWM`), in KiB.
    peak_kib: u64,
    /// How many cluster reports its JSON holds, when it printed JSON.
    reported: Option<usize>,
    /// Its stderr's first line naming an error, else its last line.
    error_line: String,
}

/// Runs `command` to its end, polling its peak memory from `/proc` while it runs.
fn run_measured(mut command: Command) -> std::io::Result<Run> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    // The pipes are drained on their own threads, so a large report cannot block the child.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out = std::thread::spawn(move || read_all(&mut stdout));
    let err = std::thread::spawn(move || read_all(&mut stderr));
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = peak_memory_kib(&status_file) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let reported = serde_json::from_slice::<Value>(&stdout)
        .ok()
        .and_then(|report| report["clusters"].as_array().map(Vec::len));
    let stderr = String::from_utf8_lossy(&stderr);
    let mut lines = stderr.lines().filter(|line| !line.trim().is_empty());
    let error_line = stderr
        .lines()
        .find(|line| line.to_ascii_lowercase().contains("error"))
        .or_else(|| lines.next_back())
        .unwrap_or_default()
        .to_string();
    Ok(Run {
        exit: status.code(),
        peak_kib,
        reported,
        error_line,
    })
}

fn read_all(from: &mut impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = from.read_to_end(&mut bytes);
    bytes
}

/// `VmHWM` of a running process, in KiB (none once it has exited).
fn peak_memory_kib(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
