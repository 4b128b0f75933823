//! The one path from reads to a report: gather (live from ARM, or from a bundle) → facts →
//! judge → render. Live runs, bundle replays, `collect`, the tests and the fuzz harness
//! all go through these functions, so they cannot drift apart.
//!
//! Nothing here prints a report (where it goes is the commands' business), and nothing
//! here changes Azure: a live gather signs in once, then only reads.

use crate::cli::{ConnectionArgs, OutputFormat, TargetArgs};
use crate::diagnosis::{self, ClusterRole, ClusterRun, Diagnosis, Scope};
use crate::facts::Facts;
use crate::plan::Purpose;
use crate::reads::RawReads;
use crate::report::{self, Report};
use crate::target::{Target, TargetRecord};
use crate::ui::Progress;
use crate::{arm, bundle, checks, cloud, collect, kubeapi, secret};
use anyhow::{anyhow, bail, Context, Result};

/// What a run judges: the target as given, its reads, and when they were made.
pub struct Gathered {
    pub target: TargetRecord,
    pub raws: RawReads,
    pub observed_at: time::OffsetDateTime,
    /// Present when the reads include `diagnose`'s: what they were selected for.
    pub diagnosis: Option<Scope>,
}

/// The cloud the connection flags name (`AZURE_AUTHORITY_HOST` overriding its sign-in host).
pub fn cloud_of(connection: &ConnectionArgs) -> Result<cloud::Cloud> {
    let authority = std::env::var("AZURE_AUTHORITY_HOST")
        .ok()
        .filter(|v| !v.is_empty());
    Ok(cloud::Cloud::resolve(
        connection.cloud,
        connection.arm_endpoint.as_deref(),
        connection.graph_endpoint.as_deref(),
        authority.as_deref(),
    )?)
}

/// The timeouts the connection flags set; the retry and paging bounds are the defaults.
pub fn limits_of(connection: &ConnectionArgs) -> arm::Limits {
    arm::Limits {
        request_timeout: std::time::Duration::from_secs(connection.request_timeout),
        ..Default::default()
    }
}

/// A bundle of a whole fleet, where one cluster's was expected: `fleet --bundle` (or
/// `check --bundle`, which hands it over) replays it.
#[derive(Debug, thiserror::Error)]
#[error("{0} is a fleet bundle")]
pub struct FleetBundle(pub std::path::PathBuf);

/// The reads of a bundle, with the target it was collected for.
pub fn gather_bundle(path: &std::path::Path) -> Result<Gathered> {
    let (manifest, raws) = bundle::read(path)?;
    if manifest.fleet.is_some() {
        return Err(FleetBundle(path.to_path_buf()).into());
    }
    let observed_at = manifest.collected_at()?;
    Ok(Gathered {
        target: manifest.target,
        raws,
        observed_at,
        diagnosis: manifest.diagnosis,
    })
}

/// Validates every local input first (target, key, cloud), then signs in once and reads
/// everything the checks (and for [`Purpose::Diagnose`], the diagnosis) need.
pub fn gather_live(
    args: &TargetArgs,
    connection: &ConnectionArgs,
    purpose: &Purpose,
    progress: &Progress,
) -> Result<Gathered> {
    let (mut record, key) = live_target(args)?;
    let kubernetes = kubeapi::locate(args.kubeconfig.as_deref(), args.context.as_deref())?;
    record.kubernetes = kubernetes.as_ref().map(|located| located.access.clone());
    let target = Target::from_record(&record)?;
    let cloud = cloud_of(connection)?;
    let limits = limits_of(connection);
    let probe_timeout = std::time::Duration::from_millis(connection.probe_timeout_ms);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let raws = runtime.block_on(async {
        let credentials = arm::Credentials::default_chain(&cloud)?;
        let client = arm::ArmClient::new(&cloud, credentials, &limits, key);
        client.sign_in().await?;
        let kube = match kubernetes {
            Some(located) => Some(kubeapi::KubeClient::new(located, &limits).await?),
            None => None,
        };
        let step = |done: usize, planned: usize, read: &crate::reads::ArmRead| {
            progress.step(done, planned, read)
        };
        let raws = collect::collect(
            &client,
            kube.as_ref(),
            &target,
            purpose,
            probe_timeout,
            &step,
        )
        .await;
        progress.clear();
        Ok::<_, anyhow::Error>(raws)
    })?;
    Ok(Gathered {
        target: record,
        raws,
        observed_at: time::OffsetDateTime::now_utc(),
        diagnosis: match purpose {
            Purpose::Check => None,
            Purpose::Diagnose(scope) => Some(scope.clone()),
        },
    })
}

/// The target as given, and the storage account key to verify (from
/// `PXB_STORAGE_ACCOUNT_KEY` or `--storage-account-key-file`, never a flag value).
fn live_target(args: &TargetArgs) -> Result<(TargetRecord, Option<secret::Secret>)> {
    let mut record = args.record()?;
    let from_env = std::env::var("PXB_STORAGE_ACCOUNT_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    let key = match (&args.storage_account_key_file, from_env) {
        (Some(_), Some(_)) => bail!("give the storage account key once: PXB_STORAGE_ACCOUNT_KEY or --storage-account-key-file"),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --storage-account-key-file {}", path.display()))?;
            Some(secret::Secret::new(&text).ok_or_else(|| anyhow!("--storage-account-key-file {} is empty", path.display()))?)
        }
        (None, Some(value)) => secret::Secret::new(&value),
        (None, None) => None,
    };
    if key.is_some() && record.storage_account.is_none() {
        bail!("a storage account key was given but no --storage-account to verify it against");
    }
    record.storage_account_key_provided = key.is_some();
    Ok((record, key))
}

/// The facts of the gathered reads. The cluster is the one read a run cannot do without
/// (an error here is exit 2).
pub fn facts(gathered: &Gathered) -> Result<Facts> {
    let target = Target::from_record(&gathered.target)?;
    let cluster = target.cluster.to_string();
    Facts::derive(target, &gathered.raws, gathered.observed_at).map_err(|e| {
        if e.is_not_found() {
            anyhow!("cluster {cluster} was not found (check the ID and the subscription)")
        } else {
            anyhow!("cluster {cluster} is not readable: {}", e.describe())
        }
    })
}

/// Facts, then the verdicts of the checks in `profile` (all when `None`). The report's
/// target shows the discovered inputs like given ones (a bundle's manifest keeps the given).
pub fn judge(
    gathered: &Gathered,
    profile: Option<checks::Profile>,
    fail_on: report::FailOn,
) -> Result<Report> {
    let facts = facts(gathered)?;
    Ok(Report {
        target: facts.discovery.complete_record(&gathered.target),
        verdicts: checks::run_all(&facts, profile),
        fail_on,
    })
}

/// The failures recorded for the gathered cluster in `scope`, each with the verdicts of
/// the checks that explain it on every cluster involved (the gathered one and the restore
/// targets and sources the records name, read in the same gather).
pub fn diagnose(gathered: &Gathered, scope: Scope) -> Result<Diagnosis> {
    let facts = facts(gathered)?;
    let cluster = facts.target.cluster.clone();
    let vault = facts.target.vault.clone();
    let recorded = diagnosis::recorded_failures(&scope, &cluster, vault.as_ref(), &gathered.raws);
    let mut runs = vec![ClusterRun {
        cluster: cluster.clone(),
        role: ClusterRole::Checked,
        verdicts: Ok(checks::run_all(&facts, None)),
    }];
    for (target, role) in diagnosis::related_targets(&facts.target, &recorded) {
        let other = target.cluster.clone();
        let verdicts = Facts::derive(target, &gathered.raws, gathered.observed_at)
            .map(|facts| checks::run_all(&facts, None))
            .map_err(|e| e.describe());
        runs.push(ClusterRun {
            cluster: other,
            role,
            verdicts,
        });
    }
    Ok(diagnosis::diagnose(scope, cluster, vault, recorded, runs))
}

/// The report in one format. `terminal`: it goes to a terminal (the table then follows
/// the terminal's width); `color`: the table may use colour.
pub fn render(report: &Report, format: OutputFormat, terminal: bool, color: bool) -> String {
    match format {
        OutputFormat::Json => report::json::render(report),
        OutputFormat::Junit => report::junit::render(report),
        OutputFormat::Markdown => report::markdown::render(report),
        OutputFormat::Table => report::table::render(report, &table_style(terminal, color)),
    }
}

/// The table's style: COLUMNS (set by shells, or by hand) wins; else the terminal's width
/// when writing to one, else 100 columns.
pub fn table_style(terminal: bool, color: bool) -> report::table::Style {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| *c >= 40);
    report::table::Style {
        color,
        width: columns.or((!terminal).then_some(100)),
    }
}
