//! `fleet`: check every cluster of subscriptions or a management group (live, through
//! Resource Graph and the paced ARM client), replay a fleet bundle (`--bundle`), or join
//! shard reports (`--merge`). Writes each `-o` report; `-o ndjson` to stdout streams one
//! cluster's report per line as each finishes. The exit code is the worst of the clusters
//! (shared/checks.md §3); 2 only when the fleet itself could not run.

use crate::arm::{self, throttle::ReadThrottle, throttle::ThrottleLimits};
use crate::cli::{self, FleetArgs, FleetFormat, FleetOutputSpec};
use crate::exit::Exit;
use crate::fleet::gather::{self, Gathered};
use crate::fleet::queries::{GraphScope, Queries};
use crate::fleet::{self as fleet_mode, judge_cluster, Selection};
use crate::ids::ResourceId;
use crate::pipeline;
use crate::reads::RawReads;
use crate::report::fleet::{self, Fleet, FleetScope, FleetStats, Unchecked};
use crate::report::{FailOn, Report};
use crate::target::CLUSTER_TYPE;
use crate::ui::Ui;
use crate::{bundle, checks};
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

pub fn run(args: FleetArgs, ui: &Ui) -> Result<Exit> {
    if args.output.iter().filter(|o| o.path.is_none()).count() > 1 {
        bail!("only one -o format can go to stdout; give the others a file: -o json=fleet.json");
    }
    if !args.merge.is_empty() {
        return merge(&args, ui);
    }
    let fail_on = cli::FailOn::of(&args.fail_on);
    let profile = args.profile.selected();
    let streaming = args
        .output
        .iter()
        .any(|o| o.format == FleetFormat::Ndjson && o.path.is_none())
        && !ui.quiet;
    let fleet = match &args.bundle {
        Some(path) => replay(path, profile, fail_on, streaming)?,
        None => live(&args, profile, fail_on, streaming, ui)?,
    };
    write_outputs(&fleet, &args.output, streaming, ui)?;
    Ok(fleet.exit())
}

/// Reads the fleet, judging each cluster as soon as its reads are complete.
fn live(
    args: &FleetArgs,
    profile: Option<checks::Profile>,
    fail_on: FailOn,
    streaming: bool,
    ui: &Ui,
) -> Result<Fleet> {
    let clusters = args
        .cluster
        .iter()
        .map(|c| ResourceId::parse_typed(c, CLUSTER_TYPE).with_context(|| format!("--cluster {c}")))
        .collect::<Result<Vec<_>>>()?;
    let scope = FleetScope {
        subscriptions: args.subscription.clone(),
        management_group: args.management_group.clone(),
        where_filter: args.where_filter.clone(),
        shard: args.shard,
    };
    let queries = Queries::new(
        &GraphScope {
            subscriptions: scope.subscriptions.clone(),
            management_group: scope.management_group.clone(),
        },
        scope.where_filter.as_deref(),
    );
    let selection = Selection {
        clusters,
        shard: args.shard,
    };
    let cloud = pipeline::cloud_of(&args.connection)?;
    let limits = pipeline::limits_of(&args.connection);
    let throttle = Arc::new(ReadThrottle::new(ThrottleLimits {
        max_concurrency: args.max_concurrency as usize,
        ..ThrottleLimits::default()
    }));
    let observed_at = OffsetDateTime::now_utc();
    let judged: Mutex<Vec<Result<Report, Unchecked>>> = Mutex::new(Vec::new());
    let progress = ui.progress();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let (gathered, stats) = runtime.block_on(async {
        let credentials = arm::Credentials::default_chain(&cloud)?;
        let client =
            arm::ArmClient::new(&cloud, credentials, &limits, None).with_throttle(throttle);
        client.sign_in().await?;
        let observer = Judge {
            judged: &judged,
            total: std::sync::atomic::AtomicUsize::new(0),
            client: &client,
            progress: &progress,
            observed_at,
            profile,
            fail_on,
            streaming,
        };
        let answers = match args.collect {
            Some(_) => gather::Answers::Keep,
            None => gather::Answers::Drop,
        };
        let gathered = gather::gather(&client, queries, &selection, answers, &observer).await?;
        progress.clear();
        let stats = client.stats();
        Ok::<_, anyhow::Error>((gathered, stats))
    })?;
    if let Some(out) = &args.collect {
        write_bundle(out, &scope, &gathered, observed_at)?;
    }
    let judged = judged.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(assemble(
        scope,
        judged,
        FleetStats {
            arm_requests: stats.arm_requests,
            graph_queries: stats.graph_queries,
            throttled: stats.throttled,
        },
    ))
}

/// Judges each cluster as its reads complete: streams it (`-o ndjson` to stdout) and keeps
/// it for the other reports, and shows the progress.
struct Judge<'a> {
    judged: &'a Mutex<Vec<Result<Report, Unchecked>>>,
    total: std::sync::atomic::AtomicUsize,
    client: &'a arm::ArmClient,
    progress: &'a crate::ui::Progress,
    observed_at: OffsetDateTime,
    profile: Option<checks::Profile>,
    fail_on: FailOn,
    streaming: bool,
}

impl gather::Observer for Judge<'_> {
    fn selected(&self, clusters: usize) {
        self.total
            .store(clusters, std::sync::atomic::Ordering::Relaxed);
    }

    fn done(&self, cluster: &ResourceId, known: &RawReads) {
        let verdict = judge_cluster(cluster, known, self.observed_at, self.profile, self.fail_on);
        if let (true, Ok(report)) = (self.streaming, &verdict) {
            let mut out = std::io::stdout().lock();
            // A closed pipe ends the stream, not the run: the other reports still get written.
            let _ = out.write_all(fleet::ndjson_cluster(report).as_bytes());
            let _ = out.flush();
        }
        let mut judged = self.judged.lock().unwrap_or_else(|e| e.into_inner());
        judged.push(verdict);
        let stats = self.client.stats();
        self.progress.fleet(
            judged.len(),
            self.total.load(std::sync::atomic::Ordering::Relaxed),
            stats.arm_requests,
            stats.throttled,
        );
    }
}

/// `check --bundle` of a fleet bundle: the fleet's report in the format asked for.
pub fn replay_for_check(path: &std::path::Path, args: &cli::CheckArgs, ui: &Ui) -> Result<Exit> {
    let fail_on = cli::FailOn::of(&args.fail_on);
    let outputs: Vec<FleetOutputSpec> = args
        .output
        .iter()
        .map(|spec| FleetOutputSpec {
            format: match spec.format {
                cli::OutputFormat::Table => FleetFormat::Table,
                cli::OutputFormat::Json => FleetFormat::Json,
                cli::OutputFormat::Junit => FleetFormat::Junit,
                cli::OutputFormat::Markdown => FleetFormat::Markdown,
            },
            path: spec.path.clone(),
        })
        .collect();
    let fleet = replay(path, args.profile.selected(), fail_on, false)?;
    write_outputs(&fleet, &outputs, false, ui)?;
    Ok(fleet.exit())
}

/// A fleet bundle judged offline: the same clusters, the same verdicts.
fn replay(
    path: &std::path::Path,
    profile: Option<checks::Profile>,
    fail_on: FailOn,
    streaming: bool,
) -> Result<Fleet> {
    let (manifest, raws) = bundle::read(path)?;
    let Some(recorded) = manifest.fleet.clone() else {
        bail!(
            "{} is a bundle of one cluster: replay it with check --bundle",
            path.display()
        );
    };
    let observed_at = manifest.collected_at()?;
    let queries = Queries::new(
        &GraphScope {
            subscriptions: recorded.scope.subscriptions.clone(),
            management_group: recorded.scope.management_group.clone(),
        },
        recorded.scope.where_filter.as_deref(),
    );
    let mut known = fleet_mode::known_reads(&queries, raws, gather::Answers::Keep);
    let judged = recorded
        .clusters
        .iter()
        .map(|cluster| {
            fleet_mode::derive_offline(cluster, &mut known, recorded.caller.as_deref());
            let verdict = judge_cluster(cluster, &known, observed_at, profile, fail_on);
            if let (true, Ok(report)) = (streaming, &verdict) {
                print!("{}", fleet::ndjson_cluster(report));
            }
            verdict
        })
        .collect();
    Ok(assemble(recorded.scope, judged, FleetStats::default()))
}

/// The fleet report: clusters sorted by ID, each checked or not.
fn assemble(scope: FleetScope, judged: Vec<Result<Report, Unchecked>>, stats: FleetStats) -> Fleet {
    let mut clusters = Vec::new();
    let mut could_not_check = Vec::new();
    for verdict in judged {
        match verdict {
            Ok(report) => clusters.push(report),
            Err(unchecked) => could_not_check.push(unchecked),
        }
    }
    clusters.sort_by_key(|r| r.target.cluster.to_ascii_lowercase());
    could_not_check.sort_by_key(|u| u.cluster.to_ascii_lowercase());
    Fleet {
        scope,
        clusters,
        could_not_check,
        stats,
    }
}

fn write_outputs(
    fleet: &Fleet,
    outputs: &[FleetOutputSpec],
    streamed: bool,
    ui: &Ui,
) -> Result<()> {
    for spec in outputs {
        match &spec.path {
            None if ui.quiet => {}
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                write_report(fleet, spec, streamed, ui, &mut out)
                    .and_then(|()| out.flush())
                    .context("cannot write the fleet report to stdout")?;
            }
            Some(path) => {
                let context = || format!("cannot write the fleet report to {}", path.display());
                let mut out =
                    std::io::BufWriter::new(std::fs::File::create(path).with_context(context)?);
                write_report(fleet, spec, streamed, ui, &mut out)
                    .and_then(|()| out.flush())
                    .with_context(context)?;
            }
        }
    }
    Ok(())
}

/// One `-o` report, written as it is rendered (a fleet's JSON is the largest).
fn write_report(
    fleet: &Fleet,
    spec: &FleetOutputSpec,
    streamed: bool,
    ui: &Ui,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let to_stdout = spec.path.is_none();
    let text = match spec.format {
        FleetFormat::Json => return fleet::write_json(fleet, out),
        // Streamed already, but for the summary line that ends the stream.
        FleetFormat::Ndjson if to_stdout && streamed => fleet::ndjson_summary(fleet),
        FleetFormat::Ndjson => {
            let mut text: String = fleet.clusters.iter().map(fleet::ndjson_cluster).collect();
            text.push_str(&fleet::ndjson_summary(fleet));
            text
        }
        FleetFormat::Junit => fleet::junit(fleet),
        FleetFormat::Markdown => fleet::markdown(fleet),
        FleetFormat::Table => fleet::table(
            fleet,
            &pipeline::table_style(
                to_stdout && std::io::stdout().is_terminal(),
                to_stdout && ui.color(),
            ),
        ),
    };
    out.write_all(text.as_bytes())
}

fn write_bundle(
    out: &std::path::Path,
    scope: &FleetScope,
    gathered: &Gathered,
    observed_at: OffsetDateTime,
) -> Result<()> {
    let collected_at = observed_at
        .format(&time::format_description::well_known::Rfc3339)
        .context("cannot format the collection time")?;
    let manifest = bundle::Manifest::fleet(
        bundle::FleetManifest {
            scope: scope.clone(),
            clusters: gathered.clusters.clone(),
            caller: gathered.caller.clone(),
        },
        collected_at,
        &gathered.raws,
    );
    bundle::write(out, &manifest, &gathered.raws)
}

/// `--merge`: shard reports joined into one.
fn merge(args: &FleetArgs, ui: &Ui) -> Result<Exit> {
    let mut shards = Vec::new();
    for path in &args.merge {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        shards.push(value);
    }
    let merged = fleet::merge(&shards)?;
    // The shards are JSON reports, and so is their union, whatever format -o names.
    for spec in &args.output {
        match &spec.path {
            None if ui.quiet => {}
            None => print!("{}", merged.json),
            Some(path) => std::fs::write(path, &merged.json)
                .with_context(|| format!("cannot write {}", path.display()))?,
        }
    }
    Ok(merged.exit)
}
