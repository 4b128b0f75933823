//! Command-line definitions (clap). Flags and subcommands here are the public interface of
//! shared/checks.md §1–2. Besides declaring them, it turns the target flags into a
//! [`TargetRecord`], reading the local files they name (Helm values, restore role); it
//! never calls Azure and runs no command (that is `crate::commands`).

use crate::checks::Profile;
use crate::cloud::CloudName;
use crate::diagnosis::Scope;
use crate::target::{HelmInputs, PxbEndpoint, RestoreRole, TargetRecord, CLUSTER_TYPE};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pxb-preflight",
    version,
    about = "Is this AKS cluster ready for Portworx Backup and Azure Backup for AKS? Read-only preflight checks over Azure Resource Manager.",
    after_help = "Exit codes: 0 ready, 1 not ready, 2 could not run, 3 incomplete (some checks could not be evaluated)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log each ARM call (method, path, status, duration) to stderr; never headers or bodies.
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// Print no report to stdout and no progress (files given with -o FORMAT=PATH are still written).
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Colour in the table: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
pub enum Command {
    /// Read the cluster's facts from ARM (or a bundle), run the checks, print the report.
    Check(CheckArgs),
    /// Read the same facts and write a redacted support bundle for `check --bundle`.
    Collect(CollectArgs),
    /// For support: find the failed backups and restores Azure Backup and Portworx Backup
    /// recorded, show their reasons, and run the checks that explain them on every cluster
    /// involved.
    Diagnose(DiagnoseArgs),
    /// The same checks for every AKS cluster of subscriptions or a management group,
    /// gathered through Azure Resource Graph; one report per cluster plus totals.
    Fleet(FleetArgs),
    /// List the check catalog: id, profiles, title.
    Checks,
    /// Explain one check: what it verifies, why, what it reads, how to fix it.
    Explain {
        /// A check id, as listed by `pxb-preflight checks`.
        id: String,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), generated from the same definitions as --help.
    Man,
    /// Work with support bundles.
    Bundle {
        #[command(subcommand)]
        action: BundleAction,
    },
    /// Print a PXB custom role as JSON for `az role definition create --role-definition`.
    RoleDefinition {
        /// Which PXB permission list.
        #[arg(long = "for", value_enum)]
        role: PxbRole,
        /// Where the role may be assigned: a subscription, resource group or management group ID.
        #[arg(long, value_name = "SCOPE")]
        assignable_scope: String,
    },
}

#[derive(Subcommand)]
pub enum BundleAction {
    /// Summarise a bundle (directory or .tar.gz): format, tool version, time, target, failed reads.
    Inspect {
        /// The bundle directory or .tar.gz file.
        path: PathBuf,
    },
    /// Rewrite a bundle (directory or .tar.gz, any older format) in the current format.
    Upgrade {
        /// The bundle to upgrade: a directory or .tar.gz file.
        #[arg(value_name = "SRC")]
        source: PathBuf,
        /// Where to write it: a new directory, or a .tar.gz file.
        #[arg(value_name = "DST")]
        destination: PathBuf,
    },
}

// The variant names are the public `--for` values (pxb-install, ...).
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PxbRole {
    PxbInstall,
    PxbAppCluster,
    PxbRestore,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Evaluate a support bundle (directory or .tar.gz) offline instead of calling ARM (target flags come from it).
    #[arg(long, value_name = "DIR|FILE")]
    pub bundle: Option<PathBuf>,
    /// Which product's prerequisites to check.
    #[arg(long, value_enum, default_value_t = ProfileArg::All)]
    pub profile: ProfileArg,
    /// Report format table|json|junit|markdown, to stdout; FORMAT=PATH writes it to a file.
    /// Repeatable: `-o table -o json=report.json -o junit=report.xml`.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=PATH]", value_parser = parse_output::<OutputFormat>, default_value = "table", action = clap::ArgAction::Append)]
    pub output: Vec<OutputSpec>,
    /// Also exit 1 on warnings (`warn`) or on checks skipped for lack of input (`skip`).
    /// Repeatable or a list: `--fail-on warn --fail-on skip`, `--fail-on warn,skip`.
    #[arg(long = "fail-on", value_enum, value_delimiter = ',', action = clap::ArgAction::Append)]
    pub fail_on: Vec<FailOn>,
}

#[derive(Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Where to write the bundle: a .tar.gz (or .tgz) file, or a directory (must not exist or be empty).
    #[arg(long, value_name = "DIR|FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub window: WindowArgs,
}

/// Which recorded failures `diagnose` looks at (and `collect` gathers for it).
#[derive(Args)]
pub struct WindowArgs {
    /// Failures recorded within this long before now (7d, 48h, 90m, 2w). Default: 7d.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Only this failure: an Azure Backup job's ID or name, or a Stork ApplicationBackup /
    /// ApplicationRestore as NAMESPACE/NAME or NAME.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
}

#[derive(Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Diagnose from a support bundle (directory or .tar.gz) offline; the window is then
    /// counted back from the bundle's collection time.
    #[arg(long, value_name = "DIR|FILE")]
    pub bundle: Option<PathBuf>,
    /// Format table|json|markdown, to stdout; FORMAT=PATH writes it to a file. Repeatable.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=PATH]", value_parser = parse_output::<OutputFormat>, default_value = "table", action = clap::ArgAction::Append)]
    pub output: Vec<OutputSpec>,
}

impl WindowArgs {
    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.job.is_none()
    }

    /// The scope these flags give, counted back from `now` (whole seconds).
    pub fn scope(&self, now: time::OffsetDateTime) -> Scope {
        let since = now - self.since.unwrap_or(DEFAULT_WINDOW);
        Scope {
            since: since.replace_nanosecond(0).unwrap_or(since),
            job: self.job.clone(),
        }
    }
}

#[derive(Args)]
pub struct FleetArgs {
    /// A subscription to check every cluster of (repeatable). With neither this nor
    /// --management-group: every subscription the caller can read.
    #[arg(long, value_name = "SUB", conflicts_with = "management_group")]
    pub subscription: Vec<String>,
    /// A management group: every subscription in or under it.
    #[arg(long, value_name = "ID")]
    pub management_group: Option<String>,
    /// A Resource Graph (KQL) predicate the clusters must meet, e.g. "tags.env == 'prod'".
    #[arg(long = "where", value_name = "KQL-FILTER")]
    pub where_filter: Option<String>,
    /// Only this cluster (repeatable): its resource ID.
    #[arg(long, value_name = "ID")]
    pub cluster: Vec<String>,
    /// Check only part K of N of the clusters (1-based), split by a hash of each cluster's
    /// ID, for CI matrices: --shard 2/4.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<crate::report::fleet::Shard>,
    /// Which product's prerequisites to check.
    #[arg(long, value_enum, default_value_t = ProfileArg::All)]
    pub profile: ProfileArg,
    /// Report format table|json|ndjson|junit|markdown, to stdout; FORMAT=PATH writes a file.
    /// Repeatable.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=PATH]", value_parser = parse_output::<FleetFormat>, default_value = "table", action = clap::ArgAction::Append)]
    pub output: Vec<FleetOutputSpec>,
    /// Also exit 1 on warnings (`warn`) or on checks skipped for lack of input (`skip`).
    #[arg(long = "fail-on", value_enum, value_delimiter = ',', action = clap::ArgAction::Append)]
    pub fail_on: Vec<FailOn>,
    /// Also write every read as one support bundle (a directory or .tar.gz), which
    /// `fleet --bundle` or `check --bundle` replays offline.
    #[arg(long, value_name = "DIR|FILE")]
    pub collect: Option<PathBuf>,
    /// Replay a fleet bundle offline instead of reading Azure.
    #[arg(long, value_name = "DIR|FILE", conflicts_with_all = ["subscription", "management_group", "where_filter", "collect", "merge"])]
    pub bundle: Option<PathBuf>,
    /// Join fleet JSON reports (of --shard runs) into one, and read nothing.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["subscription", "management_group", "where_filter", "cluster", "shard", "collect", "bundle"])]
    pub merge: Vec<PathBuf>,
    /// ARM requests in flight at most, across all subscriptions.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub max_concurrency: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FleetFormat {
    Table,
    Json,
    Ndjson,
    Junit,
    Markdown,
}

/// Why a `--shard` value was refused.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not K/N with 1 <= K <= N (e.g. 2/4)")]
pub struct ShardError(String);

fn parse_shard(text: &str) -> Result<crate::report::fleet::Shard, ShardError> {
    let invalid = || ShardError(text.to_string());
    let (index, count) = text.split_once('/').ok_or_else(invalid)?;
    let index: u32 = index.trim().parse().map_err(|_| invalid())?;
    let count: u32 = count.trim().parse().map_err(|_| invalid())?;
    if index == 0 || count == 0 || index > count {
        return Err(invalid());
    }
    Ok(crate::report::fleet::Shard { index, count })
}

/// The default window of `--since`.
pub const DEFAULT_WINDOW: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

fn parse_duration(text: &str) -> Result<std::time::Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

#[derive(Args)]
pub struct TargetArgs {
    /// The AKS cluster's resource ID.
    #[arg(long, value_name = "ID", conflicts_with_all = ["subscription", "resource_group", "name"])]
    pub cluster: Option<String>,
    /// The cluster's subscription (with -g and -n instead of --cluster).
    #[arg(long, value_name = "SUB")]
    pub subscription: Option<String>,
    /// The cluster's resource group.
    #[arg(short = 'g', long = "resource-group", value_name = "RG")]
    pub resource_group: Option<String>,
    /// The cluster's name.
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Backup vault resource ID (Azure Backup).
    #[arg(long, value_name = "ID")]
    pub vault: Option<String>,
    /// Which of the vault's managed identities to evaluate: SystemAssigned, or a user-assigned identity's resource ID (default: the system-assigned one, else its user-assigned ones).
    #[arg(long, value_name = "SystemAssigned|ID")]
    pub vault_identity: Option<String>,
    /// Snapshot resource group: an ID, or a name in the cluster's subscription (Azure Backup).
    #[arg(long, value_name = "ID|NAME")]
    pub snapshot_resource_group: Option<String>,
    /// Storage account resource ID: PXB's backup location, or Azure Backup's planned one.
    #[arg(long, value_name = "ID")]
    pub storage_account: Option<String>,
    /// Blob container name (discovered from the backup extension when installed).
    #[arg(long, value_name = "NAME")]
    pub blob_container: Option<String>,
    /// Vault-tier staging resource group: an ID, or a name in the cluster's subscription.
    #[arg(long, value_name = "ID|NAME")]
    pub staging_resource_group: Option<String>,
    /// Vault-tier staging storage account resource ID.
    #[arg(long, value_name = "ID")]
    pub staging_storage_account: Option<String>,
    /// Object ID of the principal whose Azure permissions PXB uses (default: the cluster's control-plane identity).
    #[arg(long, value_name = "OBJECT_ID")]
    pub pxb_principal: Option<String>,
    /// The cluster whose PXB backups will be restored onto the checked cluster.
    #[arg(long, value_name = "ID")]
    pub restore_source_cluster: Option<String>,
    /// The restore custom role you created (`az role definition create` JSON); checked instead of the built-in list.
    #[arg(long, value_name = "FILE")]
    pub restore_role_file: Option<PathBuf>,
    /// File holding the storage account key given to PXB, to verify it (or set PXB_STORAGE_ACCOUNT_KEY).
    #[arg(long, value_name = "FILE")]
    pub storage_account_key_file: Option<PathBuf>,
    /// PXB server address, to test its REST and gRPC ports.
    #[arg(long, value_name = "HOST")]
    pub pxb_endpoint: Option<String>,
    /// PXB REST port.
    #[arg(long, value_name = "PORT", default_value_t = 10001)]
    pub pxb_rest_port: u16,
    /// PXB gRPC port.
    #[arg(long, value_name = "PORT", default_value_t = 10002)]
    pub pxb_grpc_port: u16,
    /// Where PXB clients connect from, for the NSG evaluation: a CIDR or a service tag.
    #[arg(long, value_name = "CIDR|TAG", default_value = "VirtualNetwork")]
    pub pxb_client_source: String,
    /// px-central Helm values file used for the install (repeatable; later files win).
    #[arg(long = "helm-values", value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,
    /// px-central Helm --set expression used for the install (repeatable; wins over files).
    #[arg(long = "set", value_name = "EXPR")]
    pub set: Vec<String>,
    /// Kubeconfig for the in-cluster checks (default: KUBECONFIG or ~/.kube/config, used only when its current context is this cluster's API server).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for the in-cluster checks (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Args)]
pub struct ConnectionArgs {
    /// Which Azure cloud.
    #[arg(long, value_enum, default_value = "AzureCloud")]
    pub cloud: CloudName,
    /// Override the ARM base URL (Azure Stack, tests); http:// only for loopback.
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Override the Microsoft Graph base URL (group memberships); http:// only for loopback.
    #[arg(long, value_name = "URL")]
    pub graph_endpoint: Option<String>,
    /// Seconds one HTTP attempt may take before it is retried.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout: u64,
    /// Milliseconds a PXB port probe may take to connect and to answer.
    #[arg(long, value_name = "MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=60000))]
    pub probe_timeout_ms: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    All,
    Pxb,
    AzureBackup,
}

impl ProfileArg {
    pub fn selected(self) -> Option<Profile> {
        match self {
            ProfileArg::All => None,
            ProfileArg::Pxb => Some(Profile::Pxb),
            ProfileArg::AzureBackup => Some(Profile::AzureBackup),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Junit,
    Markdown,
}

/// One report destination: a format, and a file (stdout when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Destination<F> {
    pub format: F,
    pub path: Option<PathBuf>,
}

/// Where `check` and `diagnose` write a report.
pub type OutputSpec = Destination<OutputFormat>;
/// Where `fleet` writes a report.
pub type FleetOutputSpec = Destination<FleetFormat>;

/// Why an `-o FORMAT[=PATH]` value was refused (clap prints it with the flag).
#[derive(Debug, thiserror::Error)]
pub enum OutputSpecError {
    #[error("'{0}=' names no file")]
    NoFile(String),
    #[error("unknown format '{name}' ({known})")]
    UnknownFormat { name: String, known: String },
}

/// `FORMAT` or `FORMAT=PATH`, the format one of `F`'s values.
fn parse_output<F: ValueEnum>(text: &str) -> Result<Destination<F>, OutputSpecError> {
    let (name, path) = match text.split_once('=') {
        Some((name, path)) if !path.is_empty() => (name, Some(PathBuf::from(path))),
        Some((name, _)) => return Err(OutputSpecError::NoFile(name.to_string())),
        None => (text, None),
    };
    let format = F::from_str(name, true).map_err(|_| OutputSpecError::UnknownFormat {
        name: name.to_string(),
        known: F::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    Ok(Destination { format, path })
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Warn,
    Skip,
}

impl FailOn {
    /// What the `--fail-on` flags given make a report count as not ready.
    pub fn of(flags: &[FailOn]) -> crate::report::FailOn {
        crate::report::FailOn {
            warn: flags.contains(&FailOn::Warn),
            skip: flags.contains(&FailOn::Skip),
        }
    }
}

impl TargetArgs {
    pub fn is_empty(&self) -> bool {
        self.cluster.is_none()
            && self.subscription.is_none()
            && self.resource_group.is_none()
            && self.name.is_none()
            && self.vault.is_none()
            && self.vault_identity.is_none()
            && self.snapshot_resource_group.is_none()
            && self.storage_account.is_none()
            && self.blob_container.is_none()
            && self.staging_resource_group.is_none()
            && self.staging_storage_account.is_none()
            && self.pxb_principal.is_none()
            && self.restore_source_cluster.is_none()
            && self.restore_role_file.is_none()
            && self.storage_account_key_file.is_none()
            && self.pxb_endpoint.is_none()
            && self.helm_values.is_empty()
            && self.set.is_empty()
            && self.kubeconfig.is_none()
            && self.context.is_none()
            && self.pxb_endpoint_defaults()
    }

    /// Reads the values files (a bad one stops the run) and keeps only the proxy settings.
    fn helm_inputs(&self) -> Result<Option<HelmInputs>> {
        if self.helm_values.is_empty() && self.set.is_empty() {
            return Ok(None);
        }
        let mut files = Vec::new();
        for path in &self.helm_values {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --helm-values {}", path.display()))?;
            files.push(crate::helm::parse_values(&text).with_context(|| {
                format!("--helm-values {} is not valid YAML values", path.display())
            })?);
        }
        Ok(Some(HelmInputs::from_helm(&files, &self.set)))
    }

    fn pxb_endpoint_defaults(&self) -> bool {
        let defaults = PxbEndpoint::default();
        self.pxb_rest_port == defaults.rest_port
            && self.pxb_grpc_port == defaults.grpc_port
            && self.pxb_client_source == defaults.client_source
    }

    /// The target as given; its IDs are validated by `Target::from_record`.
    pub fn record(&self) -> Result<TargetRecord> {
        let cluster = match (
            &self.cluster,
            &self.subscription,
            &self.resource_group,
            &self.name,
        ) {
            (Some(id), ..) => id.clone(),
            (None, Some(sub), Some(group), Some(name)) => {
                for (flag, value) in [("--subscription", sub), ("-g", group), ("-n", name)] {
                    if value.trim().is_empty() || value.contains('/') {
                        bail!("{flag} '{value}' must be a plain name, not empty and without '/'");
                    }
                }
                format!(
                    "/subscriptions/{sub}/resourceGroups/{group}/providers/{CLUSTER_TYPE}/{name}"
                )
            }
            _ => bail!("no cluster given: pass --cluster ID, or --subscription SUB -g RG -n NAME"),
        };
        let restore_role = self
            .restore_role_file
            .as_deref()
            .map(read_restore_role)
            .transpose()?;
        Ok(TargetRecord {
            cluster,
            vault: self.vault.clone(),
            vault_identity: self.vault_identity.clone(),
            snapshot_resource_group: self.snapshot_resource_group.clone(),
            storage_account: self.storage_account.clone(),
            blob_container: self.blob_container.clone(),
            staging_resource_group: self.staging_resource_group.clone(),
            staging_storage_account: self.staging_storage_account.clone(),
            pxb_principal: self.pxb_principal.clone(),
            restore_source_cluster: self.restore_source_cluster.clone(),
            restore_role,
            storage_account_key_provided: false,
            helm: self.helm_inputs()?,
            kubernetes: None,
            pxb: PxbEndpoint {
                host: self.pxb_endpoint.clone(),
                rest_port: self.pxb_rest_port,
                grpc_port: self.pxb_grpc_port,
                client_source: self.pxb_client_source.clone(),
            },
        })
    }
}

/// Reads the Actions of a role file in the shape `az role definition create` accepts
/// (`Name`, `Actions`, ...; keys matched case-insensitively, as the Azure CLI does).
fn read_restore_role(path: &std::path::Path) -> Result<RestoreRole> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --restore-role-file {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--restore-role-file {} is not JSON", path.display()))?;
    let field = |name: &str| {
        value.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    };
    let actions: Vec<String> = field("Actions")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if actions.is_empty() {
        bail!("--restore-role-file {} has no Actions", path.display());
    }
    let name = field("Name")
        .and_then(|n| n.as_str())
        .unwrap_or("restore role")
        .to_string();
    Ok(RestoreRole { name, actions })
}
