//! pxb-preflight: read-only preflight checks for Portworx Backup and Azure Backup for AKS.
//!
//! [`main`] validates the command line, gathers (from ARM or a bundle), judges, renders and
//! exits with the contract's code. Anything that stops a run early is one line on stderr
//! and exit code 2. The library exists for the binary and for [`harness`], which the fuzz
//! targets drive; it is not a stable API.

#![forbid(unsafe_code)]

mod arm;
mod bundle;
mod checks;
mod cli;
mod cloud;
mod collect;
mod facts;
pub mod harness;
mod helm;
mod ids;
mod nsg;
mod plan;
mod probe;
mod rbac;
mod reads;
mod report;
mod requirements;
mod secret;
mod target;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use cli::{CheckArgs, Cli, CollectArgs, Command, ConnectionArgs, OutputFormat};
use facts::Facts;
use reads::RawReads;
use report::Report;
use std::io::IsTerminal;
use std::process::ExitCode;
use target::{Target, TargetRecord};

const EXIT_COULD_NOT_RUN: u8 = 2;

/// The whole program: parse the command line, run, and map the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!(
                "pxb-preflight: error: {}",
                arm::one_line(&format!("{error:#}"))
            );
            ExitCode::from(EXIT_COULD_NOT_RUN)
        }
    }
}

/// Whether a `RUST_LOG` filter asks for this tool's debug output: a bare `debug`/`trace`,
/// or `pxb_preflight=debug|trace` (other crates' directives do not turn the call log on).
fn logs_calls(filter: &str) -> bool {
    filter.split(',').map(str::trim).any(|directive| {
        let (target, level) = directive.split_once('=').unwrap_or(("", directive));
        let wants_debug = ["debug", "trace"]
            .iter()
            .any(|l| level.eq_ignore_ascii_case(l));
        wants_debug && (target.is_empty() || target == "pxb_preflight")
    })
}

/// How the run talks to the person or job running it.
struct Ui {
    verbose: bool,
    quiet: bool,
    color: cli::ColorChoice,
}

impl Ui {
    fn color(&self) -> bool {
        match self.color {
            cli::ColorChoice::Always => true,
            cli::ColorChoice::Never => false,
            cli::ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }

    /// A one-line progress indicator, on a terminal only.
    fn shows_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }
}

fn run(cli: Cli) -> Result<u8> {
    let verbose = cli.verbose || std::env::var("RUST_LOG").is_ok_and(|filter| logs_calls(&filter));
    let ui = Ui {
        verbose,
        quiet: cli.quiet,
        color: cli.color,
    };
    match cli.command {
        Command::Check(args) => check(args, &ui),
        Command::Collect(args) => collect(args, &ui),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "pxb-preflight", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut std::io::stdout())?;
            Ok(0)
        }
        Command::Checks => {
            print!("{}", catalog());
            Ok(0)
        }
        Command::Explain { id } => {
            let check = checks::find(&id).ok_or_else(|| {
                anyhow!("unknown check id '{id}'; `pxb-preflight checks` lists them")
            })?;
            let profiles: Vec<_> = check.profiles.iter().map(|p| p.name()).collect();
            println!(
                "{} ({})\nProfiles: {}\n\n{}",
                check.title,
                check.id,
                profiles.join(", "),
                check.explain
            );
            print!("{}", requirements_text(check.uses));
            Ok(0)
        }
        Command::Bundle {
            action: cli::BundleAction::Inspect { path },
        } => {
            print!("{}", bundle::inspect(&path)?);
            Ok(0)
        }
        Command::Bundle {
            action:
                cli::BundleAction::Upgrade {
                    source,
                    destination,
                },
        } => bundle::upgrade(&source, &destination).map(|()| 0),
        Command::RoleDefinition {
            role,
            assignable_scope,
        } => {
            let scope = assignable_scope.trim();
            let valid = rbac::scope::is_management_group(scope)
                || ids::ResourceId::parse(scope).is_ok_and(|id| id.resource_type().is_none());
            if !valid {
                bail!("--assignable-scope '{scope}' must be a subscription, resource group or management group ID");
            }
            let pxb = requirements::pxb();
            let list = match role {
                cli::PxbRole::PxbInstall => &pxb.install,
                cli::PxbRole::PxbAppCluster => &pxb.app_cluster,
                cli::PxbRole::PxbRestore => &pxb.restore,
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&list.role_definition(scope))?
            );
            Ok(0)
        }
    }
}

/// The requirement data a check applies, for `explain`.
fn requirements_text(uses: checks::Uses) -> String {
    match uses {
        checks::Uses::Nothing => String::new(),
        checks::Uses::AzureBackupMatrix => {
            let data = requirements::azure_backup();
            format!("\nRequirements: {} ({})\n", data.version, data.source)
        }
        checks::Uses::PxbLists => {
            let data = requirements::pxb();
            let mut text = format!("\nRequirements: {} ({})\n", data.version, data.source);
            text.push_str(&format!(
                "\nproxy.httpProxy.noProxy must hold ({}):\n  {}\n",
                data.no_proxy_note,
                data.no_proxy.join(",")
            ));
            text.push_str(&format!(
                "\nPXB micro-services (list IV): {}\n",
                data.services.join(", ")
            ));
            for list in [&data.install, &data.app_cluster, &data.restore] {
                text.push_str(&format!("\n{} ({}):\n", list.role_name, list.note));
                for op in &list.operations {
                    text.push_str(&format!("  {op}\n"));
                }
            }
            text
        }
    }
}

fn catalog() -> String {
    checks::REGISTRY
        .iter()
        .map(|c| {
            let profiles: Vec<_> = c.profiles.iter().map(|p| p.name()).collect();
            format!("{:<42} {:<18} {}\n", c.id, profiles.join(","), c.title)
        })
        .collect()
}

fn check(args: CheckArgs, ui: &Ui) -> Result<u8> {
    if args.output.iter().filter(|o| o.path.is_none()).count() > 1 {
        bail!("only one -o format can go to stdout; give the others a file: -o json=report.json");
    }
    let (record, raws, observed_at) = match &args.bundle {
        Some(dir) => {
            if !args.target.is_empty() {
                bail!("--bundle replays the target it was collected for; drop the target flags (--cluster, --vault, ...)");
            }
            let (manifest, raws) = bundle::read(dir)?;
            let collected_at = manifest.collected_at()?;
            (manifest.target, raws, collected_at)
        }
        None => {
            let (record, key) = live_inputs(&args.target)?;
            let raws = gather_live(&record, &args.connection, key, ui)?;
            (record, raws, time::OffsetDateTime::now_utc())
        }
    };
    let report = judge(
        record,
        &raws,
        observed_at,
        args.profile.selected(),
        args.fail_on.is_some(),
    )?;
    for spec in &args.output {
        let to_stdout = spec.path.is_none();
        let text = render(
            &report,
            spec.format,
            to_stdout && std::io::stdout().is_terminal(),
            to_stdout && ui.color(),
        );
        match &spec.path {
            None if ui.quiet => {}
            None => print!("{text}"),
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?,
        }
    }
    Ok(report.exit_code())
}

/// Facts, then verdicts, for reads in hand: the judging half of `check`, live or replayed.
fn judge(
    record: TargetRecord,
    raws: &RawReads,
    observed_at: time::OffsetDateTime,
    profile: Option<checks::Profile>,
    fail_on_warn: bool,
) -> Result<Report> {
    let target = Target::from_record(&record).map_err(|e| anyhow!(e))?;
    let facts = derive_facts(target, raws, observed_at)?;
    Ok(Report {
        target: record,
        verdicts: checks::run_all(&facts, profile),
        fail_on_warn,
    })
}

fn render(report: &Report, format: OutputFormat, terminal: bool, color: bool) -> String {
    match format {
        OutputFormat::Json => report::json::render(report),
        OutputFormat::Junit => report::junit::render(report),
        OutputFormat::Markdown => report::markdown::render(report),
        OutputFormat::Table => {
            // COLUMNS (set by shells, or by hand) wins; else the terminal's width, else 100.
            let columns = std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| *c >= 40);
            let style = report::table::Style {
                color,
                width: columns.or((!terminal).then_some(100)),
            };
            report::table::render(report, &style)
        }
    }
}

fn collect(args: CollectArgs, ui: &Ui) -> Result<u8> {
    let (record, key) = live_inputs(&args.target)?;
    let raws = gather_live(&record, &args.connection, key, ui)?;
    let now = time::OffsetDateTime::now_utc();
    derive_facts(
        Target::from_record(&record).map_err(|e| anyhow!(e))?,
        &raws,
        now,
    )?;
    let collected_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .context("cannot format the collection time")?;
    let manifest = bundle::Manifest::new(record, collected_at, &raws);
    bundle::write(&args.out, &manifest, &raws)?;
    if ui.quiet {
        return Ok(0);
    }
    eprintln!(
        "pxb-preflight: wrote {} ({} reads, {} failed); check it with: pxb-preflight check --bundle {}",
        args.out.display(),
        raws.len(),
        manifest.failed_reads.len(),
        args.out.display()
    );
    Ok(0)
}

/// Validates everything local first, then signs in once and collects.
/// The target as given, and the storage account key to verify (from
/// `PXB_STORAGE_ACCOUNT_KEY` or `--storage-account-key-file`, never a flag value).
fn live_inputs(args: &cli::TargetArgs) -> Result<(TargetRecord, Option<secret::Secret>)> {
    let mut record = args.record().map_err(|e| anyhow!(e))?;
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

fn gather_live(
    record: &TargetRecord,
    connection: &ConnectionArgs,
    key: Option<secret::Secret>,
    ui: &Ui,
) -> Result<RawReads> {
    let target = Target::from_record(record).map_err(|e| anyhow!(e))?;
    let authority = std::env::var("AZURE_AUTHORITY_HOST")
        .ok()
        .filter(|v| !v.is_empty());
    let cloud = cloud::Cloud::resolve(
        connection.cloud,
        connection.arm_endpoint.as_deref(),
        authority.as_deref(),
    )
    .map_err(|e| anyhow!(e))?;
    let limits = arm::Limits {
        request_timeout: std::time::Duration::from_secs(connection.request_timeout),
        ..Default::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let credential = arm::ArmClient::default_credential(&cloud).map_err(|e| anyhow!(e))?;
        let client = arm::ArmClient::new(&cloud, credential, &limits, key, ui.verbose);
        client.sign_in().await.map_err(|e| anyhow!(e))?;
        let probe_timeout = std::time::Duration::from_millis(connection.probe_timeout_ms);
        let show = ui.shows_progress();
        let progress = |done: usize, planned: usize, read: &reads::ArmRead| {
            if show {
                let what: String = read.describe().chars().take(90).collect();
                eprint!("\r\x1b[2Kreading ARM {done}/{planned}: {what}");
            }
        };
        let raws = collect::collect(&client, &target, probe_timeout, &progress).await;
        if show {
            eprint!("\r\x1b[2K");
        }
        Ok(raws)
    })
}

/// The cluster is the one read a run cannot do without (exit 2).
fn derive_facts(
    target: Target,
    raws: &RawReads,
    observed_at: time::OffsetDateTime,
) -> Result<Facts> {
    let cluster = target.cluster.to_string();
    Facts::derive(target, raws, observed_at).map_err(|e| {
        if e.is_not_found() {
            anyhow!("cluster {cluster} was not found (check the ID and the subscription)")
        } else {
            anyhow!("cluster {cluster} is not readable: {}", e.describe())
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rust_log_directives() {
        for on in [
            "debug",
            "trace",
            "pxb_preflight=debug",
            "warn,pxb_preflight=trace",
        ] {
            assert!(super::logs_calls(on), "{on}");
        }
        for off in [
            "",
            "info",
            "azure_core=debug",
            "pxb_preflight=info",
            "pxb_preflight",
        ] {
            assert!(!super::logs_calls(off), "{off}");
        }
    }
}
