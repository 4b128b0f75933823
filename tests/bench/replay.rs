//! Benchmark: `check --bundle` of each fixture, the offline path support staff use, as a
//! whole process (start, read the bundle, judge every check of the catalog, render). Prints the median
//! wall time per fixture and format; run with `cargo bench --bench replay`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 21;

fn main() {
    let binary = Path::new(env!("CARGO_BIN_EXE_pxb-preflight"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    // Every fixture bundle (a directory with a manifest), in name order.
    let mut bundles: Vec<_> = std::fs::read_dir(&fixtures)
        .expect("the fixtures directory")
        .map(|entry| entry.expect("a fixtures entry").path())
        .filter(|path| path.join("manifest.json").is_file())
        .collect();
    bundles.sort();
    for bundle in &bundles {
        let fixture = bundle.file_name().unwrap_or_default().to_string_lossy();
        for format in ["table", "json"] {
            let mut times: Vec<Duration> = (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    let output = Command::new(binary)
                        .args(["check", "--bundle"])
                        .arg(bundle)
                        .args(["-o", format])
                        .env_clear()
                        .output()
                        .expect("the binary runs");
                    let elapsed = started.elapsed();
                    assert!(
                        output.status.code().is_some_and(|c| c < 2),
                        "{fixture}: {output:?}"
                    );
                    elapsed
                })
                .collect();
            times.sort();
            println!(
                "check --bundle fixtures/{fixture} -o {format}: median {:.1} ms (min {:.1} ms, max {:.1} ms) over {RUNS} runs",
                times[RUNS / 2].as_secs_f64() * 1e3,
                times[0].as_secs_f64() * 1e3,
                times[RUNS - 1].as_secs_f64() * 1e3
            );
        }
    }
}
