//! The failures recorded in the raw reads: Azure Backup jobs (the vault's job list, and
//! each selected job read in detail), backup instances in a protection error state, and
//! Stork's `ApplicationBackup` / `ApplicationRestore` objects; plus the Stork and PXB pods.
//!
//! Bodies are untrusted: every field is optional, statuses and codes are open strings
//! compared case-insensitively, and an item of an unexpected shape is left out (and said
//! so) rather than failing the read. Nothing here matches reasons to checks (`judge`).

use super::{
    ClusterRole, Operation, PodState, Product, Reason, Record, Recorded, RecordedFailure, Scope,
    Unread, MAX_JOB_READS,
};
use crate::facts::{observe, Unobserved};
use crate::ids::{same_id, ResourceId};
use crate::reads::{ArmRead, FailureKind, KubeList, RawReads};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::cmp::Reverse;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const MANAGED_CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";

/// The failed or partially successful jobs of the vault's job list, in the window, that
/// may involve `cluster` (it is their data source, or they are restores, whose target only
/// the job's own read names), most recent first, at most [`super::MAX_JOB_READS`].
pub fn jobs_to_read(
    scope: &Scope,
    cluster: &ResourceId,
    vault: &ResourceId,
    raws: &RawReads,
) -> Vec<ResourceId> {
    let Read::Got(jobs) = read_list::<Job>(raws, &ArmRead::BackupJobs(vault.clone()), "value")
    else {
        return Vec::new();
    };
    candidate_jobs(scope, cluster, &jobs.items)
        .into_iter()
        .filter_map(|job| ResourceId::parse(job.id.as_deref()?).ok())
        .take(MAX_JOB_READS)
        .collect()
}

/// Everything recorded about the failures of `cluster` in the scope.
pub fn recorded_failures(
    scope: &Scope,
    cluster: &ResourceId,
    vault: Option<&ResourceId>,
    raws: &RawReads,
) -> Recorded {
    let mut recorded = Recorded::default();
    match vault {
        Some(vault) => {
            backup_jobs(scope, cluster, vault, raws, &mut recorded);
            backup_instances(scope, cluster, vault, raws, &mut recorded);
        }
        None => recorded.notes.push(
            "Azure Backup jobs not read: give --vault, or let discovery find it through trusted access"
                .to_string(),
        ),
    }
    stork_objects(scope, cluster, raws, &mut recorded);
    pods(raws, &mut recorded);
    // Most recent first; a failure with no time (a backup instance's current state) last.
    recorded
        .failures
        .sort_by_key(|f| (f.time.is_none(), Reverse(f.time)));
    // The window starts at `scope.since`, which the caller derived from the time the data
    // was read; the records themselves need no clock.
    recorded
}

/// The other clusters the failures involve (restore targets and sources), each once.
pub fn related_clusters(
    recorded: &Recorded,
    cluster: &ResourceId,
) -> Vec<(ResourceId, ClusterRole)> {
    let mut related: Vec<(ResourceId, ClusterRole)> = Vec::new();
    for failure in &recorded.failures {
        let involved = [
            (&failure.source_cluster, ClusterRole::RestoreSource),
            (&failure.target_cluster, ClusterRole::RestoreTarget),
        ];
        for (other, role) in involved {
            let Some(other) = other else { continue };
            if other != cluster && !related.iter().any(|(seen, _)| seen == other) {
                related.push((other.clone(), role));
            }
        }
    }
    related
}

// ---- Reading raw lists tolerantly. ---------------------------------------------------

/// A list read: the items of the expected shape, and how many were not.
struct Listed<T> {
    items: Vec<T>,
    malformed: usize,
}

enum Read<T> {
    /// Not in the collected data (said as a failed read is, for reads that must be there).
    Absent(Unobserved),
    Failed(Unobserved),
    Got(T),
}

/// A list body `{"<field>": [...]}`, each item parsed on its own so one odd item does not
/// hide the others.
fn read_list<T: DeserializeOwned>(raws: &RawReads, read: &ArmRead, field: &str) -> Read<Listed<T>> {
    match observe::<Value>(raws, read) {
        Err(u) if u.kind == FailureKind::NotCollected => Read::Absent(u),
        Err(u) => Read::Failed(u),
        Ok(body) => {
            let values = body.get(field).and_then(Value::as_array);
            let mut listed = Listed {
                items: Vec::new(),
                malformed: 0,
            };
            for value in values.into_iter().flatten() {
                match T::deserialize(value) {
                    Ok(item) => listed.items.push(item),
                    Err(_) => listed.malformed += 1,
                }
            }
            Read::Got(listed)
        }
    }
}

fn unread(what: impl Into<String>, u: Unobserved) -> Unread {
    let status = u.status.map(|s| format!("HTTP {s} ")).unwrap_or_default();
    Unread {
        what: what.into(),
        message: format!("{status}{}: {}", u.code, u.message),
        call: u.call,
        permission: u.permission,
    }
}

fn malformed_note(recorded: &mut Recorded, count: usize, what: &str) {
    if count > 0 {
        recorded.notes.push(format!(
            "{count} {what} had an unexpected shape and were left out"
        ));
    }
}

fn parse_time(text: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text?.trim(), &Rfc3339).ok()
}

fn in_window(scope: &Scope, time: Option<OffsetDateTime>) -> bool {
    time.is_some_and(|t| t >= scope.since)
}

/// `scope.job` names this record by one of its names (case-insensitively), or is unset.
fn wanted(scope: &Scope, names: &[Option<&str>]) -> bool {
    match &scope.job {
        None => true,
        Some(job) => names.iter().flatten().any(|name| same_id(name, job.trim())),
    }
}

fn cluster_id(text: Option<&str>) -> Option<ResourceId> {
    ResourceId::parse_typed(text?, MANAGED_CLUSTERS).ok()
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn push_unique(reasons: &mut Vec<Reason>, reason: Reason) {
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

// ---- Azure Backup jobs. --------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Job {
    id: Option<String>,
    name: Option<String>,
    properties: Option<JobProperties>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct JobProperties {
    data_source_id: Option<String>,
    operation_category: Option<String>,
    status: Option<String>,
    start_time: Option<String>,
    error_details: Option<Vec<Option<UserFacingError>>>,
    extended_info: Option<ExtendedInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ExtendedInfo {
    recovery_destination: Option<String>,
    warning_details: Option<Vec<Option<WarningDetail>>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WarningDetail {
    resource_name: Option<String>,
    warning: Option<UserFacingError>,
}

/// Azure Backup's error object (`UserFacingError`): nested through `details` and
/// `innerError.embeddedInnerError`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UserFacingError {
    code: Option<String>,
    message: Option<String>,
    /// An array of strings in the spec; a plain string is taken too.
    recommended_action: Option<Value>,
    details: Option<Vec<Option<UserFacingError>>>,
    inner_error: Option<InnerError>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct InnerError {
    code: Option<String>,
    embedded_inner_error: Option<Box<InnerError>>,
}

impl Job {
    fn props(&self) -> &JobProperties {
        static NONE: JobProperties = JobProperties {
            data_source_id: None,
            operation_category: None,
            status: None,
            start_time: None,
            error_details: None,
            extended_info: None,
        };
        self.properties.as_ref().unwrap_or(&NONE)
    }
    fn start(&self) -> Option<OffsetDateTime> {
        parse_time(self.props().start_time.as_deref())
    }
    fn is_restore(&self) -> bool {
        self.props()
            .operation_category
            .as_deref()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("Restore"))
    }
    fn of_cluster(&self, cluster: &ResourceId) -> bool {
        self.props()
            .data_source_id
            .as_deref()
            .is_some_and(|d| same_id(d, cluster.as_str()))
    }
    fn recovery_destination(&self) -> Option<&str> {
        self.props()
            .extended_info
            .as_ref()?
            .recovery_destination
            .as_deref()
    }
}

/// A job status that records a failure or a partial success. Statuses are open strings:
/// an unknown one counts when it speaks of a failure or a warning.
fn is_failed_job(status: &str) -> bool {
    match status.trim().to_ascii_lowercase().as_str() {
        "failed" | "completedwithwarnings" => true,
        "completed" | "succeeded" | "inprogress" | "started" | "cancelled" => false,
        other => other.contains("fail") || other.contains("warning"),
    }
}

/// The list's jobs worth reading, most recent first (no cap).
fn candidate_jobs<'a>(scope: &Scope, cluster: &ResourceId, jobs: &'a [Job]) -> Vec<&'a Job> {
    let mut candidates: Vec<&Job> = jobs
        .iter()
        .filter(|job| job.props().status.as_deref().is_some_and(is_failed_job))
        .filter(|job| in_window(scope, job.start()))
        .filter(|job| job.of_cluster(cluster) || job.is_restore())
        .filter(|job| wanted(scope, &[job.id.as_deref(), job.name.as_deref()]))
        .collect();
    candidates.sort_by_key(|job| Reverse(job.start()));
    candidates
}

fn backup_jobs(
    scope: &Scope,
    cluster: &ResourceId,
    vault: &ResourceId,
    raws: &RawReads,
    recorded: &mut Recorded,
) {
    let jobs = match read_list::<Job>(raws, &ArmRead::BackupJobs(vault.clone()), "value") {
        Read::Got(jobs) => jobs,
        Read::Absent(u) | Read::Failed(u) => {
            recorded.unread.push(unread("the vault's backup jobs", u));
            return;
        }
    };
    malformed_note(recorded, jobs.malformed, "backup jobs of the list");
    let candidates = candidate_jobs(scope, cluster, &jobs.items);
    if candidates.len() > MAX_JOB_READS {
        recorded.notes.push(format!(
            "{} failed or partially successful jobs may involve the cluster; only the {MAX_JOB_READS} most recent were read",
            candidates.len()
        ));
    }
    for listed in candidates.into_iter().take(MAX_JOB_READS) {
        let job = detailed(listed, raws, recorded);
        let involves = job.of_cluster(cluster)
            || (job.is_restore()
                && job
                    .recovery_destination()
                    .is_some_and(|d| same_id(d, cluster.as_str())));
        if involves {
            recorded.failures.push(job_failure(&job));
        }
    }
}

/// The job as its own read gives it (with `extendedInfo`), else as the list gave it.
fn detailed(listed: &Job, raws: &RawReads, recorded: &mut Recorded) -> Job {
    let Some(id) = listed.id.as_deref().and_then(|i| ResourceId::parse(i).ok()) else {
        return listed.clone();
    };
    match observe::<Job>(raws, &ArmRead::BackupJob(id)) {
        Ok(job) => job,
        Err(u) if u.kind == FailureKind::NotCollected => listed.clone(),
        Err(u) => {
            let name = listed.name.as_deref().unwrap_or("(unnamed)");
            recorded
                .unread
                .push(unread(format!("the details of backup job {name}"), u));
            listed.clone()
        }
    }
}

fn job_failure(job: &Job) -> RecordedFailure {
    let props = job.props();
    let mut reasons = Vec::new();
    for error in props.error_details.iter().flatten().flatten() {
        error_reasons(error, None, &mut reasons);
    }
    let warnings = props
        .extended_info
        .as_ref()
        .and_then(|e| e.warning_details.as_ref());
    for detail in warnings.into_iter().flatten().flatten() {
        if let Some(warning) = &detail.warning {
            error_reasons(warning, detail.resource_name.as_deref(), &mut reasons);
        }
    }
    RecordedFailure {
        product: Product::AzureBackup,
        operation: if job.is_restore() {
            Operation::Restore
        } else {
            Operation::Backup
        },
        record: Record::BackupJob,
        id: job
            .id
            .clone()
            .or_else(|| job.name.clone())
            .unwrap_or_default(),
        time: job.start(),
        status: props.status.clone().unwrap_or_default(),
        source_cluster: cluster_id(props.data_source_id.as_deref()),
        target_cluster: cluster_id(job.recovery_destination()),
        reasons,
    }
}

/// One reason per code of the error, its inner errors and its details, in that order.
fn error_reasons(error: &UserFacingError, subject: Option<&str>, out: &mut Vec<Reason>) {
    let code = non_empty(error.code.as_deref());
    let message = non_empty(error.message.as_deref());
    if code.is_some() || message.is_some() {
        push_unique(
            out,
            Reason {
                code: code.map(str::to_string),
                message: message.unwrap_or_default().to_string(),
                recommended_action: recommended_action(error.recommended_action.as_ref()),
                subject: subject.map(str::to_string),
            },
        );
    }
    let mut inner = error.inner_error.as_ref();
    while let Some(level) = inner {
        if let Some(inner_code) = non_empty(level.code.as_deref()) {
            if !code.is_some_and(|c| c.eq_ignore_ascii_case(inner_code)) {
                push_unique(
                    out,
                    Reason {
                        code: Some(inner_code.to_string()),
                        message: format!("inner error of {}", code.unwrap_or("the error")),
                        recommended_action: None,
                        subject: subject.map(str::to_string),
                    },
                );
            }
        }
        inner = level.embedded_inner_error.as_deref();
    }
    for detail in error.details.iter().flatten().flatten() {
        error_reasons(detail, subject, out);
    }
}

fn recommended_action(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    (!text.is_empty()).then_some(text)
}

// ---- Backup instances. ---------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct BackupInstance {
    id: Option<String>,
    name: Option<String>,
    properties: Option<BackupInstanceProperties>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BackupInstanceProperties {
    data_source_info: Option<DataSourceInfo>,
    current_protection_state: Option<String>,
    protection_status: Option<ProtectionStatus>,
    /// One error object in the spec; an array is taken too.
    protection_error_details: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct DataSourceInfo {
    #[serde(rename = "resourceID")]
    resource_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ProtectionStatus {
    status: Option<String>,
    error_details: Option<Value>,
}

fn is_protection_error(state: &str) -> bool {
    let state = state.trim();
    state.eq_ignore_ascii_case("ProtectionError")
        || state.eq_ignore_ascii_case("ConfiguringProtectionFailed")
}

/// The error objects of a field that holds one, or an array of them.
fn errors_in(value: Option<&Value>) -> Vec<UserFacingError> {
    let one = |v: &Value| UserFacingError::deserialize(v).ok();
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v @ Value::Object(_)) => one(v).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn backup_instances(
    scope: &Scope,
    cluster: &ResourceId,
    vault: &ResourceId,
    raws: &RawReads,
    recorded: &mut Recorded,
) {
    let read = ArmRead::BackupInstances(vault.clone());
    let instances = match read_list::<BackupInstance>(raws, &read, "value") {
        Read::Got(instances) => instances,
        Read::Absent(u) | Read::Failed(u) => {
            recorded
                .unread
                .push(unread("the vault's backup instances", u));
            return;
        }
    };
    malformed_note(recorded, instances.malformed, "backup instances");
    for instance in &instances.items {
        let Some(props) = &instance.properties else {
            continue;
        };
        let data_source = props
            .data_source_info
            .as_ref()
            .and_then(|d| d.resource_id.as_deref());
        if !data_source.is_some_and(|d| same_id(d, cluster.as_str())) {
            continue;
        }
        let states = [
            props.current_protection_state.as_deref(),
            props
                .protection_status
                .as_ref()
                .and_then(|s| s.status.as_deref()),
        ];
        let Some(status) = states
            .into_iter()
            .flatten()
            .find(|s| is_protection_error(s))
        else {
            continue;
        };
        if !wanted(scope, &[instance.id.as_deref(), instance.name.as_deref()]) {
            continue;
        }
        let mut reasons = Vec::new();
        let status_errors = props
            .protection_status
            .as_ref()
            .and_then(|s| s.error_details.as_ref());
        for error in errors_in(props.protection_error_details.as_ref())
            .iter()
            .chain(errors_in(status_errors).iter())
        {
            error_reasons(error, None, &mut reasons);
        }
        recorded.failures.push(RecordedFailure {
            product: Product::AzureBackup,
            operation: Operation::Backup,
            record: Record::BackupInstance,
            id: instance
                .id
                .clone()
                .or_else(|| instance.name.clone())
                .unwrap_or_default(),
            time: None,
            status: status.trim().to_string(),
            source_cluster: Some(cluster.clone()),
            target_cluster: None,
            reasons,
        });
    }
}

// ---- Stork objects. ------------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct StorkObject {
    metadata: Option<StorkMetadata>,
    status: Option<StorkStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StorkMetadata {
    name: Option<String>,
    namespace: Option<String>,
    creation_timestamp: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StorkStatus {
    status: Option<String>,
    reason: Option<String>,
    trigger_timestamp: Option<String>,
    last_update_timestamp: Option<String>,
    volumes: Option<Vec<Option<StorkVolume>>>,
    resources: Option<Vec<Option<StorkResource>>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StorkVolume {
    persistent_volume_claim: Option<String>,
    /// Backups name the PVC's namespace `namespace`, restores `sourceNamespace`.
    namespace: Option<String>,
    source_namespace: Option<String>,
    status: Option<String>,
    reason: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct StorkResource {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    status: Option<String>,
    reason: Option<String>,
}

fn is_failed_stork(status: &str) -> bool {
    let status = status.trim();
    status.eq_ignore_ascii_case("Failed") || status.eq_ignore_ascii_case("PartialSuccess")
}

fn failed(status: Option<&str>) -> bool {
    status.is_some_and(|s| s.trim().eq_ignore_ascii_case("Failed"))
}

fn stork_objects(scope: &Scope, cluster: &ResourceId, raws: &RawReads, recorded: &mut Recorded) {
    let lists = [
        (
            KubeList::ApplicationBackups,
            "ApplicationBackups",
            Operation::Backup,
        ),
        (
            KubeList::ApplicationRestores,
            "ApplicationRestores",
            Operation::Restore,
        ),
    ];
    let mut not_collected = false;
    for (list, kind, operation) in lists {
        let objects = match read_list::<StorkObject>(raws, &ArmRead::Kubernetes(list), "items") {
            Read::Got(objects) => objects,
            Read::Absent(_) => {
                not_collected = true;
                continue;
            }
            // Stork's CRDs are absent: Stork never ran here, so there is nothing recorded.
            Read::Failed(u) if u.is_not_found() => continue,
            Read::Failed(u) => {
                recorded
                    .unread
                    .push(unread(format!("the cluster's Stork {kind}"), u));
                continue;
            }
        };
        malformed_note(recorded, objects.malformed, &format!("Stork {kind}"));
        for object in &objects.items {
            if let Some(failure) = stork_failure(scope, cluster, object, operation) {
                recorded.failures.push(failure);
            }
        }
    }
    if not_collected {
        recorded.notes.push(
            "Portworx Backup records (Stork ApplicationBackups and ApplicationRestores) and the Stork and PXB pods were not read: there was no Kubernetes access to the cluster; give --kubeconfig to read them"
                .to_string(),
        );
    }
}

fn stork_failure(
    scope: &Scope,
    cluster: &ResourceId,
    object: &StorkObject,
    operation: Operation,
) -> Option<RecordedFailure> {
    let status = object.status.as_ref()?;
    let state = status.status.as_deref().filter(|s| is_failed_stork(s))?;
    let metadata = object.metadata.clone().unwrap_or_default();
    let name = non_empty(metadata.name.as_deref())?;
    let namespace = non_empty(metadata.namespace.as_deref()).unwrap_or("");
    let id = format!("{namespace}/{name}");
    let time = parse_time(status.trigger_timestamp.as_deref())
        .or_else(|| parse_time(metadata.creation_timestamp.as_deref()))
        .or_else(|| parse_time(status.last_update_timestamp.as_deref()));
    if !in_window(scope, time) || !wanted(scope, &[Some(&id), Some(name)]) {
        return None;
    }
    let mut parts = Vec::new();
    for volume in status.volumes.iter().flatten().flatten() {
        let Some(reason) = non_empty(volume.reason.as_deref()) else {
            continue;
        };
        if !failed(volume.status.as_deref()) {
            continue;
        }
        let pvc_namespace = non_empty(volume.namespace.as_deref())
            .or(non_empty(volume.source_namespace.as_deref()))
            .unwrap_or(namespace);
        let pvc = volume.persistent_volume_claim.as_deref().unwrap_or("");
        parts.push((reason, Some(format!("{pvc_namespace}/{pvc}"))));
    }
    for resource in status.resources.iter().flatten().flatten() {
        let Some(reason) = non_empty(resource.reason.as_deref()) else {
            continue;
        };
        if !failed(resource.status.as_deref()) {
            continue;
        }
        let kind = resource.kind.as_deref().unwrap_or("");
        let name = resource.name.as_deref().unwrap_or("");
        let subject = match non_empty(resource.namespace.as_deref()) {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        parts.push((reason, Some(subject.trim().to_string())));
    }
    let mut reasons = Vec::new();
    // A restore's reason repeats its first failed volume's: shown once, with its volume.
    if let Some(reason) = non_empty(status.reason.as_deref()) {
        if !parts.iter().any(|(text, _)| *text == reason) {
            reasons.push(stork_reason(reason, None));
        }
    }
    for (text, subject) in parts {
        push_unique(&mut reasons, stork_reason(text, subject));
    }
    let (source_cluster, target_cluster) = match operation {
        Operation::Backup => (Some(cluster.clone()), None),
        Operation::Restore => (None, Some(cluster.clone())),
    };
    Some(RecordedFailure {
        product: Product::Pxb,
        operation,
        record: match operation {
            Operation::Backup => Record::ApplicationBackup,
            Operation::Restore => Record::ApplicationRestore,
        },
        id,
        time,
        status: state.trim().to_string(),
        source_cluster,
        target_cluster,
        reasons,
    })
}

fn stork_reason(message: &str, subject: Option<String>) -> Reason {
    Reason {
        code: None,
        message: message.to_string(),
        recommended_action: None,
        subject,
    }
}

// ---- Pods. ---------------------------------------------------------------------------

/// A pod, with what [`PodState`] shows of it (the pod lists keep no more).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct PodRecord {
    metadata: Option<StorkMetadata>,
    status: Option<PodStatusRecord>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodStatusRecord {
    phase: Option<String>,
    conditions: Option<Vec<Option<PodCondition>>>,
    container_statuses: Option<Vec<Option<ContainerRecord>>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct PodCondition {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ContainerRecord {
    restart_count: Option<u64>,
    state: Option<ContainerState>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerState {
    waiting: Option<Waiting>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Waiting {
    reason: Option<String>,
}

fn pods(raws: &RawReads, recorded: &mut Recorded) {
    let lists = [
        (KubeList::StorkPods, "stork"),
        (KubeList::PxBackupPods, "px-backup"),
    ];
    for (list, component) in lists {
        let pods = match read_list::<PodRecord>(raws, &ArmRead::Kubernetes(list), "items") {
            Read::Got(pods) => pods,
            // Said once, with the Stork objects.
            Read::Absent(_) => continue,
            Read::Failed(u) => {
                recorded
                    .unread
                    .push(unread(format!("the {component} pods"), u));
                continue;
            }
        };
        malformed_note(recorded, pods.malformed, &format!("{component} pods"));
        for pod in &pods.items {
            recorded.pods.push(pod_state(component, pod));
        }
    }
}

fn pod_state(component: &'static str, pod: &PodRecord) -> PodState {
    let metadata = pod.metadata.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let containers: Vec<&ContainerRecord> = status
        .container_statuses
        .iter()
        .flatten()
        .flatten()
        .collect();
    let phase = status.phase.clone().unwrap_or_default();
    // Ready as Kubernetes says it: running, with the Ready condition True.
    let is = |value: &Option<String>, expected: &str| {
        value
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(expected))
    };
    let ready = is(&status.phase, "Running")
        && status
            .conditions
            .iter()
            .flatten()
            .flatten()
            .any(|c| is(&c.kind, "Ready") && is(&c.status, "True"));
    PodState {
        component,
        namespace: metadata.namespace.unwrap_or_default(),
        name: metadata.name.unwrap_or_default(),
        phase,
        ready,
        waiting: containers
            .iter()
            .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone()),
        restarts: containers.iter().filter_map(|c| c.restart_count).sum(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::reads::RawRead;
    use serde_json::json;
    use time::macros::datetime;

    pub const SUB: &str = "62b829ee-7936-40c9-a1c9-47a93f9f3965";

    pub fn cluster_named(name: &str) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/{name}"
        ))
        .unwrap()
    }

    pub fn vault() -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/vault1"
        ))
        .unwrap()
    }

    pub fn scope() -> Scope {
        Scope {
            since: datetime!(2026-11-22 00:00 UTC),
            job: None,
        }
    }

    pub fn job_id(name: &str) -> String {
        // ARM spells the vault type `Backupvaults` in job IDs.
        format!("/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/Backupvaults/vault1/backupJobs/{name}")
    }

    /// A job resource as `Jobs_List` gives it (no `extendedInfo`).
    pub fn job(
        name: &str,
        category: &str,
        status: &str,
        start: &str,
        data_source: &ResourceId,
    ) -> Value {
        json!({
            "properties": {
                "activityID": format!("{name}-activity"),
                "subscriptionId": SUB,
                "backupInstanceId": format!("{}/backupInstances/aks1-bi", vault()),
                "dataSourceId": data_source.as_str(),
                "vaultName": "vault1",
                "backupInstanceFriendlyName": data_source.name(),
                "sourceResourceGroup": "rg-aks",
                "dataSourceSetName": null,
                "dataSourceName": data_source.name(),
                "progressEnabled": false,
                "sourceSubscriptionID": SUB,
                "startTime": start,
                "dataSourceType": "Microsoft.ContainerService/managedClusters",
                "operationCategory": category,
                "operation": category,
                "status": status,
                "isUserTriggered": false,
                "supportedActions": [""],
                "duration": "00:02:11.9724387",
                "dataSourceLocation": "westeurope",
                "errorDetails": null
            },
            "id": job_id(name),
            "name": name,
            "type": "Microsoft.DataProtection/Backupvaults/backupJobs"
        })
    }

    pub fn with_errors(mut job: Value, errors: Value) -> Value {
        job["properties"]["errorDetails"] = errors;
        job
    }

    pub fn with_extended(mut job: Value, extended: Value) -> Value {
        job["properties"]["extendedInfo"] = extended;
        job
    }

    pub fn user_error(code: &str, message: &str) -> Value {
        json!({
            "code": code,
            "details": null,
            "innerError": null,
            "isRetryable": false,
            "isUserError": true,
            "message": message,
            "properties": {"ActivityId": "0e684b2f-cf83-47d4-8b67-c5c1397ef0a5-Ibz"},
            "recommendedAction": [
                "Delete the extension, and then install the extension again.",
                "Retry the operation."
            ],
            "target": ""
        })
    }

    pub fn reads(entries: Vec<(ArmRead, Value)>) -> RawReads {
        let mut raws = RawReads::default();
        for (read, body) in entries {
            raws.insert(RawRead::ok(&read, body));
        }
        raws
    }

    fn jobs_read() -> ArmRead {
        ArmRead::BackupJobs(vault())
    }

    fn detail_read(name: &str) -> ArmRead {
        ArmRead::BackupJob(ResourceId::parse(&job_id(name)).unwrap())
    }

    /// Two pages merged: this cluster's jobs in every state, another cluster's, and old ones.
    fn merged_list() -> Value {
        let aks1 = cluster_named("aks1");
        let aks2 = cluster_named("aks2");
        json!({"value": [
            job("j-ok", "Backup", "Completed", "2026-11-28T02:00:03.1746833Z", &aks1),
            job("j-failed", "Backup", "Failed", "2026-11-27T02:00:03.1746833Z", &aks1),
            job("j-warn", "Backup", "CompletedWithWarnings", "2026-11-28T03:00:00Z", &aks1),
            job("j-running", "Backup", "InProgress", "2026-11-29T02:00:00Z", &aks1),
            job("j-cancelled", "Backup", "Cancelled", "2026-11-29T01:00:00Z", &aks1),
            job("j-odd", "Backup", "PartiallyFailed", "2026-11-26T00:00:00Z", &aks1),
            job("j-old", "Backup", "Failed", "2026-11-01T00:00:00Z", &aks1),
            job("j-other", "Backup", "Failed", "2026-11-28T04:00:00Z", &aks2),
            job("j-restore-other", "Restore", "Failed", "2026-11-28T09:12:44Z", &aks2),
            job("j-succeeded", "Backup", "Succeeded", "2026-11-28T05:00:00Z", &aks1)
        ]})
    }

    #[test]
    fn jobs_to_read_keeps_failed_jobs_of_the_cluster_and_restores_most_recent_first() {
        let raws = reads(vec![(jobs_read(), merged_list())]);
        let names: Vec<String> = jobs_to_read(&scope(), &cluster_named("aks1"), &vault(), &raws)
            .iter()
            .map(|id| id.name().to_string())
            .collect();
        assert_eq!(
            names,
            ["j-restore-other", "j-warn", "j-failed", "j-odd"],
            "another cluster's backups, successes, running, cancelled and old jobs are left out"
        );
    }

    #[test]
    fn jobs_to_read_is_narrowed_by_the_job_and_capped() {
        let raws = reads(vec![(jobs_read(), merged_list())]);
        let one = Scope {
            job: Some("J-FAILED".into()),
            ..scope()
        };
        let ids = jobs_to_read(&one, &cluster_named("aks1"), &vault(), &raws);
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].as_str(), job_id("j-failed"));
        let by_id = Scope {
            job: Some(job_id("j-warn").to_lowercase()),
            ..scope()
        };
        assert_eq!(
            jobs_to_read(&by_id, &cluster_named("aks1"), &vault(), &raws).len(),
            1
        );

        let aks1 = cluster_named("aks1");
        let many: Vec<Value> = (0..MAX_JOB_READS + 3)
            .map(|i| {
                job(
                    &format!("j{i:02}"),
                    "Backup",
                    "Failed",
                    &format!("2026-11-28T{:02}:{:02}:00Z", i / 60, i % 60),
                    &aks1,
                )
            })
            .collect();
        let raws = reads(vec![(jobs_read(), json!({ "value": many }))]);
        let ids = jobs_to_read(&scope(), &aks1, &vault(), &raws);
        assert_eq!(ids.len(), MAX_JOB_READS);
        assert_eq!(ids[0].name(), format!("j{:02}", MAX_JOB_READS + 2));
        let recorded = recorded_failures(&scope(), &aks1, Some(&vault()), &raws);
        assert_eq!(recorded.failures.len(), MAX_JOB_READS);
        assert!(
            recorded
                .notes
                .iter()
                .any(|n| n.contains("28 failed or partially successful jobs")),
            "{:?}",
            recorded.notes
        );
    }

    #[test]
    fn failed_jobs_give_their_codes_nested_inner_errors_and_warnings() {
        let aks1 = cluster_named("aks1");
        let mut nested = user_error(
            "UserErrorKubernetesBackupExtensionHasErrors",
            "The Backup extension installed in the cluster has some internal errors.",
        );
        nested["innerError"] = json!({
            "additionalInfo": null,
            "code": "ExtensionPodsNotReady",
            "embeddedInnerError": {"code": "UserErrorBackupPluginPodRestartedDuringBackup", "embeddedInnerError": null}
        });
        let failed = with_errors(
            job(
                "j-failed",
                "Backup",
                "Failed",
                "2026-11-27T02:00:03.1746833Z",
                &aks1,
            ),
            json!([nested]),
        );
        let warned = with_extended(
            job(
                "j-warn",
                "Backup",
                "CompletedWithWarnings",
                "2026-11-28T03:00:00Z",
                &aks1,
            ),
            json!({
                "additionalDetails": {"RetentionTag": "Default"},
                "backupInstanceState": null,
                "subTasks": [{"taskId": 1, "taskName": "Trigger Backup", "taskStatus": "Completed"}],
                "warningDetails": [{
                    "resourceName": "shop/data-postgres-0",
                    "warning": user_error("UserErrorPVSnapshotDisallowedByPolicy",
                        "An Azure policy is assigned over subscription that ceases the CSI driver to take the volume snapshot.")
                }]
            }),
        );
        let raws = reads(vec![
            (
                jobs_read(),
                json!({"value": [job("j-failed", "Backup", "Failed", "2026-11-27T02:00:03.1746833Z", &aks1), job("j-warn", "Backup", "CompletedWithWarnings", "2026-11-28T03:00:00Z", &aks1)]}),
            ),
            (detail_read("j-failed"), failed),
            (detail_read("j-warn"), warned),
            (ArmRead::BackupInstances(vault()), json!({"value": []})),
        ]);
        let recorded = recorded_failures(&scope(), &aks1, Some(&vault()), &raws);
        assert!(recorded.unread.is_empty(), "{:?}", recorded.unread);
        let ids: Vec<&str> = recorded.failures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, [job_id("j-warn"), job_id("j-failed")]);

        let warn = &recorded.failures[0];
        assert_eq!(warn.status, "CompletedWithWarnings");
        assert_eq!(warn.operation, Operation::Backup);
        assert_eq!(warn.source_cluster.as_ref(), Some(&aks1));
        assert_eq!(warn.target_cluster, None);
        assert_eq!(warn.time, Some(datetime!(2026-11-28 03:00 UTC)));
        assert_eq!(warn.reasons.len(), 1);
        assert_eq!(
            warn.reasons[0].code.as_deref(),
            Some("UserErrorPVSnapshotDisallowedByPolicy")
        );
        assert_eq!(
            warn.reasons[0].subject.as_deref(),
            Some("shop/data-postgres-0")
        );

        let failed = &recorded.failures[1];
        let codes: Vec<_> = failed
            .reasons
            .iter()
            .map(|r| r.code.as_deref().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "UserErrorKubernetesBackupExtensionHasErrors",
                "ExtensionPodsNotReady",
                "UserErrorBackupPluginPodRestartedDuringBackup"
            ]
        );
        assert_eq!(
            failed.reasons[0].recommended_action.as_deref(),
            Some(
                "Delete the extension, and then install the extension again. Retry the operation."
            )
        );
        assert_eq!(failed.record, Record::BackupJob);
        assert_eq!(failed.product, Product::AzureBackup);
    }

    #[test]
    fn a_restore_of_another_cluster_is_kept_when_its_destination_is_this_cluster() {
        let aks1 = cluster_named("aks1");
        let aks2 = cluster_named("aks2");
        let aks3 = cluster_named("aks3");
        let onto_us = with_errors(
            with_extended(
                job(
                    "j-restore-in",
                    "Restore",
                    "Failed",
                    "2026-11-28T09:12:44Z",
                    &aks2,
                ),
                json!({"recoveryDestination": aks1.as_str().to_uppercase(), "dataTransferedInBytes": null}),
            ),
            json!([user_error(
                "UserErrorKubernetesBackupExtensionNotFoundError",
                "The Backup extension is not installed."
            )]),
        );
        let elsewhere = with_extended(
            job(
                "j-restore-away",
                "Restore",
                "Failed",
                "2026-11-28T08:00:00Z",
                &aks2,
            ),
            json!({"recoveryDestination": aks3.as_str()}),
        );
        let raws = reads(vec![
            (
                jobs_read(),
                json!({"value": [
                    job("j-restore-in", "Restore", "Failed", "2026-11-28T09:12:44Z", &aks2),
                    job("j-restore-away", "Restore", "Failed", "2026-11-28T08:00:00Z", &aks2)
                ]}),
            ),
            (detail_read("j-restore-in"), onto_us),
            (detail_read("j-restore-away"), elsewhere),
            (ArmRead::BackupInstances(vault()), json!({"value": []})),
        ]);
        let recorded = recorded_failures(&scope(), &aks1, Some(&vault()), &raws);
        assert_eq!(recorded.failures.len(), 1);
        let restore = &recorded.failures[0];
        assert_eq!(restore.operation, Operation::Restore);
        assert_eq!(restore.source_cluster.as_ref(), Some(&aks2));
        assert_eq!(restore.target_cluster.as_ref(), Some(&aks1));
        assert_eq!(
            related_clusters(&recorded, &aks1),
            vec![(aks2.clone(), ClusterRole::RestoreSource)]
        );
        // Seen from the source cluster, the same restore names its target.
        let from_source = recorded_failures(&scope(), &aks2, Some(&vault()), &raws);
        assert_eq!(
            related_clusters(&from_source, &aks2),
            vec![
                (aks1, ClusterRole::RestoreTarget),
                (aks3, ClusterRole::RestoreTarget)
            ]
        );
    }

    #[test]
    fn a_job_whose_detail_could_not_be_read_is_shown_from_the_list_and_the_read_is_unread() {
        let aks1 = cluster_named("aks1");
        let listed = with_errors(
            job(
                "j-failed",
                "Backup",
                "Failed",
                "2026-11-27T02:00:03Z",
                &aks1,
            ),
            json!([user_error(
                "KubernetesBackupListExtensionsError",
                "Vault MSI cannot list the extensions."
            )]),
        );
        let mut raws = reads(vec![
            (jobs_read(), json!({"value": [listed]})),
            (ArmRead::BackupInstances(vault()), json!({"value": []})),
        ]);
        raws.insert(RawRead::failed(
            &detail_read("j-failed"),
            Some(429),
            "TooManyRequests",
            "retry later",
        ));
        let recorded = recorded_failures(&scope(), &aks1, Some(&vault()), &raws);
        assert_eq!(recorded.failures.len(), 1);
        assert_eq!(
            recorded.failures[0].reasons[0].code.as_deref(),
            Some("KubernetesBackupListExtensionsError")
        );
        assert_eq!(recorded.unread.len(), 1);
        assert_eq!(
            recorded.unread[0].what,
            "the details of backup job j-failed"
        );
        assert!(recorded.unread[0]
            .message
            .starts_with("HTTP 429 TooManyRequests"));
    }

    #[test]
    fn a_forbidden_job_list_is_unread_with_the_permission() {
        let mut raws = RawReads::default();
        raws.insert(RawRead::failed(
            &jobs_read(),
            Some(403),
            "AuthorizationFailed",
            "The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.DataProtection/backupVaults/backupJobs/read' over scope '/subscriptions/s/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/vault1' or the scope is invalid.",
        ));
        raws.insert(RawRead::ok(
            &ArmRead::BackupInstances(vault()),
            json!({"value": []}),
        ));
        let recorded = recorded_failures(&scope(), &cluster_named("aks1"), Some(&vault()), &raws);
        assert!(recorded.failures.is_empty());
        assert_eq!(recorded.unread.len(), 1);
        let unread = &recorded.unread[0];
        assert_eq!(unread.what, "the vault's backup jobs");
        assert_eq!(
            unread.permission,
            "Microsoft.DataProtection/backupVaults/backupJobs/read"
        );
        assert!(
            unread.call.starts_with("GET /subscriptions/"),
            "{}",
            unread.call
        );
        assert!(
            unread.call.ends_with("/backupJobs?api-version=2025-07-01"),
            "{}",
            unread.call
        );
        assert!(
            unread.message.starts_with("HTTP 403 AuthorizationFailed: "),
            "{}",
            unread.message
        );
        assert!(jobs_to_read(&scope(), &cluster_named("aks1"), &vault(), &raws).is_empty());
    }

    #[test]
    fn no_vault_is_a_note_and_a_missing_kubernetes_read_is_a_note() {
        let recorded =
            recorded_failures(&scope(), &cluster_named("aks1"), None, &RawReads::default());
        assert!(recorded.failures.is_empty() && recorded.unread.is_empty());
        assert_eq!(recorded.notes.len(), 2, "{:?}", recorded.notes);
        assert!(recorded.notes[0].contains("give --vault"));
        assert!(recorded.notes[1].contains("--kubeconfig"));
    }

    #[test]
    fn backup_instances_in_protection_error_are_failures_with_deduplicated_reasons() {
        let aks1 = cluster_named("aks1");
        let error = user_error(
            "UserErrorExtensionMSIMissingPermissionsOnBackupStorageLocation",
            "The Backup extension should have the Storage Blob Data Contributor role.",
        );
        let instance = |name: &str, cluster: &ResourceId, state: &str, status: &str| {
            json!({
                "id": format!("{}/backupInstances/{name}", vault()),
                "name": name,
                "type": "Microsoft.DataProtection/backupVaults/backupInstances",
                "properties": {
                    "friendlyName": name,
                    "dataSourceInfo": {"resourceID": cluster.as_str(), "datasourceType": "Microsoft.ContainerService/managedClusters", "objectType": "Datasource"},
                    "currentProtectionState": state,
                    "protectionStatus": {"status": status, "errorDetails": error.clone()},
                    "protectionErrorDetails": error.clone(),
                    "provisioningState": "Succeeded"
                }
            })
        };
        let raws = reads(vec![
            (jobs_read(), json!({"value": []})),
            (
                ArmRead::BackupInstances(vault()),
                json!({"value": [
                    instance("aks1-bi", &aks1, "ProtectionError", "ConfiguringProtectionFailed"),
                    instance("aks1-ok", &aks1, "ProtectionConfigured", "ProtectionConfigured"),
                    instance("aks2-bi", &cluster_named("aks2"), "ProtectionError", "ConfiguringProtectionFailed"),
                    null
                ]}),
            ),
        ]);
        let recorded = recorded_failures(&scope(), &aks1, Some(&vault()), &raws);
        assert_eq!(recorded.failures.len(), 1);
        let failure = &recorded.failures[0];
        assert_eq!(failure.record, Record::BackupInstance);
        assert_eq!(failure.status, "ProtectionError");
        assert_eq!(failure.time, None);
        assert_eq!(
            failure.reasons.len(),
            1,
            "the same error in both places is one reason"
        );
        assert!(
            recorded
                .notes
                .iter()
                .any(|n| n.contains("1 backup instances")),
            "{:?}",
            recorded.notes
        );
        let other = Scope {
            job: Some("aks1-ok".into()),
            ..scope()
        };
        assert!(recorded_failures(&other, &aks1, Some(&vault()), &raws)
            .failures
            .is_empty());
    }

    /// The research's ApplicationBackup list: a Failed backup (no snapshot class mapped) and
    /// a PartialSuccess one (Azure authorization), plus a Successful one.
    pub fn application_backups() -> Value {
        json!({"apiVersion": "v1", "kind": "List", "items": [
            {
                "metadata": {
                    "annotations": {"portworx.io/backup-name": "nightly-shop", "portworx.io/created-by": "px-backup"},
                    "creationTimestamp": "2026-11-28T02:00:03Z",
                    "name": "nightly-shop-3f2a9c1",
                    "namespace": "shop"
                },
                "spec": {"backupLocation": "azure-blob-3f2a9c1", "namespaces": ["shop"]},
                "status": {
                    "finishTimestamp": "2026-11-28T02:00:09Z",
                    "lastUpdateTimestamp": "2026-11-28T02:00:09Z",
                    "reason": "Volume backups failed",
                    "resources": null,
                    "stage": "Final",
                    "status": "Failed",
                    "triggerTimestamp": "2026-11-28T02:00:03Z",
                    "volumes": [{
                        "driverName": "csi",
                        "namespace": "shop",
                        "persistentVolumeClaim": "data-postgres-0",
                        "provisioner": "",
                        "reason": "failed to ensure volumesnapshotclass was created: volume snapshot class cannot be empty for pvc [data-postgres-0] having driver [disk.csi.azure.com] or use 'default' to choose the default snapshot class, update/use csiSnapshotMapping in case of multiple provisioner",
                        "status": "Failed",
                        "storageClass": "",
                        "volume": "pvc-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
                    }]
                }
            },
            {
                "metadata": {"creationTimestamp": "2026-11-27T03:00:00Z", "name": "weekly-crm-9d6cedb", "namespace": "crm"},
                "status": {
                    "lastUpdateTimestamp": "2026-11-27T03:31:12Z",
                    "reason": "Some volumes and resources were not backed up",
                    "resources": [{"group": "apps", "kind": "StatefulSet", "name": "crm-db", "namespace": "crm", "version": "v1", "status": "", "reason": ""}],
                    "stage": "Final",
                    "status": "PartialSuccess",
                    "triggerTimestamp": "2026-11-27T03:00:00Z",
                    "volumes": [
                        {"driverName": "csi", "namespace": "crm", "persistentVolumeClaim": "data-crm-db-0", "reason": "Snapshot successful for volume", "status": "Successful"},
                        {"driverName": "csi", "namespace": "crm", "persistentVolumeClaim": "data-crm-db-1", "status": "Failed",
                         "reason": "snapshot timeout out after 30m0s: snapshot error: Failed to check and update snapshot content: failed to take snapshot of the volume /subscriptions/0000/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.Compute/disks/pvc-33333333: \"rpc error: code = Internal desc = create snapshot error: RESPONSE 403: 403 Forbidden\\nERROR CODE: AuthorizationFailed does not have authorization to perform action 'Microsoft.Compute/snapshots/write'\""}
                    ]
                }
            },
            {
                "metadata": {"creationTimestamp": "2026-11-28T05:00:00Z", "name": "hourly-ok", "namespace": "shop"},
                "status": {"status": "Successful", "reason": "Volumes and resources were backed up successfully", "triggerTimestamp": "2026-11-28T05:00:00Z", "finishTimestamp": null}
            },
            {
                "metadata": {"creationTimestamp": "2026-10-01T02:00:00Z", "name": "ancient", "namespace": "shop"},
                "status": {"status": "Failed", "reason": "Volume backups failed", "triggerTimestamp": "2026-10-01T02:00:00Z"}
            }
        ]})
    }

    /// The research's ApplicationRestore list: a Failed restore (PVC restore timed out) and a
    /// PartialSuccess one (resources retained, one failed).
    pub fn application_restores() -> Value {
        json!({"items": [
            {
                "metadata": {"creationTimestamp": "2026-11-28T09:12:40Z", "name": "shop-dr-test-069750b", "namespace": "shop"},
                "spec": {"backupLocation": "azure-blob-069750b", "backupName": "nightly-shop-3f2a9c1"},
                "status": {
                    "finishTimestamp": "2026-11-28T09:43:02Z",
                    "lastUpdateTimestamp": "2026-11-28T09:43:02Z",
                    "reason": "PVC restore timeout out after 30m0s",
                    "resources": null,
                    "stage": "Final",
                    "status": "Failed",
                    "volumes": [{"driverName": "csi", "persistentVolumeClaim": "data-postgres-0", "reason": "PVC restore timeout out after 30m0s",
                                 "restoreVolume": "", "sourceNamespace": "shop", "sourceVolume": "pvc-0a1b2c3d", "status": "Failed"}]
                }
            },
            {
                "metadata": {"creationTimestamp": "2026-11-28T10:00:00Z", "name": "crm-restore-7a8b9c0", "namespace": "crm"},
                "spec": {"backupName": "weekly-crm-9d6cedb"},
                "status": {
                    "lastUpdateTimestamp": "2026-11-28T10:04:10Z",
                    "reason": "Volumes were restored successfully. Some existing resources were not replaced",
                    "resources": [
                        {"group": "", "kind": "Secret", "name": "crm-db", "namespace": "crm", "version": "v1", "status": "Retained",
                         "reason": "Resource restore skipped as it was already present and ReplacePolicy is set to Retain"},
                        {"group": "", "kind": "ServiceAccount", "name": "crm", "namespace": "crm", "version": "v1", "status": "Failed",
                         "reason": "Error applying resource: serviceaccounts \"crm\" is forbidden: exceeded quota"}
                    ],
                    "stage": "Final",
                    "status": "PartialSuccess",
                    "volumes": [{"driverName": "csi", "persistentVolumeClaim": "data-crm-db-0", "reason": "Volume restore successful: PVC data-crm-db-0 is bound", "sourceNamespace": "crm", "status": "Successful"}]
                }
            }
        ]})
    }

    fn kube(list: KubeList) -> ArmRead {
        ArmRead::Kubernetes(list)
    }

    #[test]
    fn stork_failures_in_the_window_with_volume_and_resource_reasons() {
        let aks1 = cluster_named("aks1");
        let raws = reads(vec![
            (kube(KubeList::ApplicationBackups), application_backups()),
            (kube(KubeList::ApplicationRestores), application_restores()),
            (kube(KubeList::StorkPods), json!({"items": []})),
            (kube(KubeList::PxBackupPods), json!({"items": []})),
        ]);
        let recorded = recorded_failures(&scope(), &aks1, None, &raws);
        let ids: Vec<&str> = recorded.failures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "crm/crm-restore-7a8b9c0",
                "shop/shop-dr-test-069750b",
                "shop/nightly-shop-3f2a9c1",
                "crm/weekly-crm-9d6cedb"
            ],
            "successful and out-of-window objects are left out; most recent first"
        );
        assert_eq!(
            recorded.notes.len(),
            1,
            "only the vault note: {:?}",
            recorded.notes
        );

        let backup = &recorded.failures[2];
        assert_eq!(
            (backup.product, backup.operation, backup.record),
            (Product::Pxb, Operation::Backup, Record::ApplicationBackup)
        );
        assert_eq!(backup.source_cluster.as_ref(), Some(&aks1));
        assert_eq!(backup.time, Some(datetime!(2026-11-28 02:00:03 UTC)));
        assert_eq!(backup.reasons.len(), 2);
        assert_eq!(backup.reasons[0].message, "Volume backups failed");
        assert_eq!(
            backup.reasons[1].subject.as_deref(),
            Some("shop/data-postgres-0")
        );
        assert!(backup.reasons[1]
            .message
            .contains("volume snapshot class cannot be empty for pvc"));

        let restore = &recorded.failures[1];
        assert_eq!(
            (restore.operation, restore.record),
            (Operation::Restore, Record::ApplicationRestore)
        );
        assert_eq!(restore.target_cluster.as_ref(), Some(&aks1));
        assert_eq!(restore.source_cluster, None);
        assert_eq!(
            restore.time,
            Some(datetime!(2026-11-28 09:12:40 UTC)),
            "no trigger time: the creation time"
        );
        assert_eq!(
            restore.reasons.len(),
            1,
            "the reason repeating the volume's is shown once"
        );
        assert_eq!(
            restore.reasons[0].subject.as_deref(),
            Some("shop/data-postgres-0")
        );

        let partial = &recorded.failures[0];
        assert_eq!(partial.status, "PartialSuccess");
        let subjects: Vec<_> = partial
            .reasons
            .iter()
            .map(|r| r.subject.as_deref())
            .collect();
        assert_eq!(
            subjects,
            [None, Some("ServiceAccount crm/crm")],
            "a retained resource is no failure"
        );
    }

    #[test]
    fn stork_objects_are_narrowed_by_the_job() {
        let aks1 = cluster_named("aks1");
        let raws = reads(vec![
            (kube(KubeList::ApplicationBackups), application_backups()),
            (kube(KubeList::ApplicationRestores), application_restores()),
        ]);
        for job in ["crm/weekly-crm-9d6cedb", "WEEKLY-CRM-9d6cedb"] {
            let one = Scope {
                job: Some(job.into()),
                ..scope()
            };
            let recorded = recorded_failures(&one, &aks1, None, &raws);
            let ids: Vec<&str> = recorded.failures.iter().map(|f| f.id.as_str()).collect();
            assert_eq!(ids, ["crm/weekly-crm-9d6cedb"], "{job}");
        }
        let later = Scope {
            since: datetime!(2026-11-28 09:00 UTC),
            job: None,
        };
        let recorded = recorded_failures(&later, &aks1, None, &raws);
        assert_eq!(
            recorded.failures.len(),
            2,
            "only the restores are after 09:00"
        );
    }

    #[test]
    fn stork_not_installed_is_no_record_and_no_unread() {
        let mut raws = RawReads::default();
        for list in [KubeList::ApplicationBackups, KubeList::ApplicationRestores] {
            raws.insert(RawRead::failed(
                &kube(list),
                Some(404),
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
        raws.insert(RawRead::failed(
            &kube(KubeList::StorkPods),
            Some(403),
            "Forbidden",
            "pods is forbidden",
        ));
        let recorded = recorded_failures(&scope(), &cluster_named("aks1"), None, &raws);
        assert!(recorded.failures.is_empty());
        assert_eq!(recorded.notes.len(), 1, "{:?}", recorded.notes);
        let whats: Vec<&str> = recorded.unread.iter().map(|u| u.what.as_str()).collect();
        assert_eq!(
            whats,
            ["the stork pods"],
            "only the forbidden pod list is unread"
        );
        assert_eq!(
            recorded.unread[0].permission,
            KubeList::StorkPods.rbac_rule()
        );
    }

    #[test]
    fn pods_show_readiness_waiting_reason_and_restarts() {
        let raws = reads(vec![
            (
                kube(KubeList::StorkPods),
                json!({"items": [
                    {"metadata": {"name": "stork-6d8f7b9c5-abcde", "namespace": "portworx"},
                     "status": {"phase": "Running",
                                "conditions": [{"type": "Ready", "status": "True"}],
                                "containerStatuses": [{"name": "stork", "ready": true, "restartCount": 1, "state": {}}]}},
                    {"metadata": {"name": "stork-6d8f7b9c5-fghij", "namespace": "portworx"},
                     "status": {"phase": "Running",
                                "conditions": [{"type": "Ready", "status": "False"}],
                                "containerStatuses": [{"name": "stork", "ready": false, "restartCount": 7,
                                                       "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
                ]}),
            ),
            (
                kube(KubeList::PxBackupPods),
                json!({"items": [
                    {"metadata": {"name": "px-backup-5f4d8c7b6-xyz12", "namespace": "central"}, "status": {"phase": "Pending", "conditions": null, "containerStatuses": null}}
                ]}),
            ),
        ]);
        let pods = recorded_failures(&scope(), &cluster_named("aks1"), None, &raws).pods;
        assert_eq!(pods.len(), 3);
        assert_eq!(
            (
                pods[0].component,
                pods[0].ready,
                pods[0].restarts,
                pods[0].waiting.as_deref()
            ),
            ("stork", true, 1, None)
        );
        assert_eq!(
            (pods[1].ready, pods[1].restarts, pods[1].waiting.as_deref()),
            (false, 7, Some("CrashLoopBackOff"))
        );
        assert_eq!(
            (
                pods[2].component,
                pods[2].namespace.as_str(),
                pods[2].phase.as_str(),
                pods[2].ready
            ),
            ("px-backup", "central", "Pending", false)
        );
    }
}
