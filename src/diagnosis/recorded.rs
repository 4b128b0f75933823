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
    observed_at: OffsetDateTime,
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
    recorded.failures.sort_by(|a, b| match (a.time, b.time) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    // The window starts at `scope.since`, which the caller derived from the time the data
    // was read; the records themselves need no clock.
    let _ = observed_at;
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
    /// Not in the collected data.
    Absent,
    Failed(Unobserved),
    Got(T),
}

/// A list body `{"<field>": [...]}`, each item parsed on its own so one odd item does not
/// hide the others.
fn read_list<T: DeserializeOwned>(raws: &RawReads, read: &ArmRead, field: &str) -> Read<Listed<T>> {
    match observe::<Value>(raws, read) {
        Err(u) if u.kind == FailureKind::NotCollected => Read::Absent,
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
    candidates.sort_by(|a, b| b.start().cmp(&a.start()));
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
        Read::Absent => {
            // Not collected, said the way a failed read is.
            if let Err(u) = observe::<Value>(raws, &ArmRead::BackupJobs(vault.clone())) {
                recorded.unread.push(unread("the vault's backup jobs", u));
            }
            return;
        }
        Read::Failed(u) => {
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
        Read::Absent => {
            if let Err(u) = observe::<Value>(raws, &read) {
                recorded
                    .unread
                    .push(unread("the vault's backup instances", u));
            }
            return;
        }
        Read::Failed(u) => {
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
            Read::Absent => {
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
            Read::Absent => continue,
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
    let ready = phase == "Running"
        && status
            .conditions
            .iter()
            .flatten()
            .flatten()
            .any(|c| c.kind.as_deref() == Some("Ready") && c.status.as_deref() == Some("True"));
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
