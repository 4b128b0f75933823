//! The Kubernetes API client: finds the kubeconfig context the in-cluster reads use, and
//! lists what the checks need through `kube`, every page merged (`limit`/`continue`),
//! keeping only the fields the checks read.
//!
//! Verbs: list only (GET of collections); never Secrets, never ConfigMaps. Credentials
//! (tokens, client certificates, exec plugins) stay inside `kube::Config`: nothing here
//! records or prints them, and what the target keeps of the kubeconfig is the server URL
//! and the context name.

use crate::arm::{BoundedRetry, Limits};
use crate::reads::{ArmRead, FailureKind, KubeList, RawRead, ReadError};
use crate::target::KubeAccess;
use anyhow::{bail, Context, Result};
use azure_core::RetryPolicy;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::Instant;

/// Items per page: the API server's own default cap for `kubectl get` lists.
const PAGE_SIZE: usize = 500;

/// A kubeconfig and the context in it the reads go through.
pub struct Located {
    pub access: KubeAccess,
    kubeconfig: Kubeconfig,
}

/// The kubeconfig `--kubeconfig`/`--context` name (an unreadable one stops the run), else
/// the current context of `KUBECONFIG` or `~/.kube/config` when there is one (the plan
/// uses it only when it is the checked cluster's).
pub fn locate(path: Option<&Path>, context: Option<&str>) -> Result<Option<Located>> {
    let chosen = path.is_some() || context.is_some();
    let kubeconfig = match path {
        Some(path) => Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read --kubeconfig {}", path.display()))?,
        None => match Kubeconfig::read() {
            Ok(kubeconfig) => kubeconfig,
            Err(e) if chosen => {
                return Err(e).context("--context given but no kubeconfig could be read")
            }
            Err(_) => return Ok(None),
        },
    };
    let Some(name) = context
        .map(str::to_string)
        .or_else(|| kubeconfig.current_context.clone())
    else {
        if chosen {
            bail!("the kubeconfig has no current context: pass --context");
        }
        return Ok(None);
    };
    let server = server_of(&kubeconfig, &name)?;
    Ok(Some(Located {
        access: KubeAccess {
            server: crate::redact::url_passwords(&server).into_owned(),
            context: name,
            chosen,
        },
        kubeconfig,
    }))
}

/// The context's cluster's server URL; plain HTTP only to a loopback address.
fn server_of(kubeconfig: &Kubeconfig, context: &str) -> Result<String> {
    let named = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .with_context(|| format!("the kubeconfig has no context '{context}'"))?;
    let cluster = named
        .context
        .as_ref()
        .map(|c| c.cluster.as_str())
        .unwrap_or_default();
    let server = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .and_then(|c| c.cluster.as_ref()?.server.clone())
        .with_context(|| format!("context '{context}' names no cluster with a server"))?;
    let url = url::Url::parse(&server)
        .with_context(|| format!("context '{context}': server is not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(server),
        "http" if loopback => Ok(server),
        _ => {
            bail!("context '{context}': the API server must be https:// (http:// only on loopback)")
        }
    }
}

/// Lists through one kubeconfig context.
pub struct KubeClient {
    client: kube::Client,
    /// ARM's retry rules, applied to each page.
    retry: BoundedRetry,
}

impl KubeClient {
    /// The client of the located context (exec plugins, tokens and client certificates as
    /// kube's `Config` handles them), with ARM's timeout and retry rules.
    pub async fn new(located: Located, limits: &Limits) -> Result<Self> {
        let request_timeout = limits.request_timeout;
        let options = KubeConfigOptions {
            context: Some(located.access.context.clone()),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(located.kubeconfig, &options)
            .await
            .with_context(|| {
                format!("cannot use kubeconfig context '{}'", located.access.context)
            })?;
        config.connect_timeout = Some(request_timeout);
        config.read_timeout = Some(request_timeout);
        config.write_timeout = Some(request_timeout);
        let client =
            kube::Client::try_from(config).context("cannot build the Kubernetes client")?;
        Ok(KubeClient {
            client,
            retry: limits.retry.clone(),
        })
    }

    /// One list, every page merged into `{"items": [...]}` of the kept fields.
    pub async fn read(&self, list: KubeList) -> RawRead {
        let read = ArmRead::Kubernetes(list);
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let path = list.path();
            let joiner = if path.contains('?') { '&' } else { '?' };
            let mut uri = format!("{path}{joiner}limit={PAGE_SIZE}");
            if let Some(token) = &next {
                let token: String =
                    url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
                uri.push_str(&format!("&continue={token}"));
            }
            let page: Value = match self.page(&uri).await {
                Ok(text) => match serde_json::from_str(&text) {
                    Ok(page) => page,
                    Err(e) => {
                        let message = format!("the answer is not JSON: {e}");
                        return RawRead::failure(
                            &read,
                            Some(200),
                            error(FailureKind::MalformedBody, None, message),
                        );
                    }
                },
                Err(kube::Error::Api(answer)) => {
                    let reason = (!answer.reason.is_empty()).then_some(answer.reason);
                    return RawRead::failure(
                        &read,
                        Some(answer.code),
                        error(FailureKind::Http, reason, answer.message),
                    );
                }
                Err(e @ kube::Error::HttpError(_)) => {
                    return RawRead::failure(
                        &read,
                        None,
                        error(FailureKind::Client, None, with_causes(&e)),
                    )
                }
                Err(e) => {
                    return RawRead::failure(
                        &read,
                        None,
                        error(FailureKind::Transport, None, with_causes(&e)),
                    )
                }
            };
            items.extend(
                page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|item| wanted(list, item))
                    .map(|item| kept(list, item)),
            );
            next = page["metadata"]["continue"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        RawRead::ok(&read, json!({ "items": items }))
    }
}

impl KubeClient {
    /// One page, retried as ARM reads are: 408, 429, 5xx and connection errors, with
    /// exponential backoff or the server's `Retry-After`, within the retry budget. Each
    /// attempt is one line of the `-v` call log (method, path and query, status, time).
    async fn page(&self, uri: &str) -> Result<String, kube::Error> {
        let start = Instant::now();
        let mut retries = 0;
        loop {
            let request = http::Request::get(uri)
                .body(kube::client::Body::from(Vec::new()))
                .map_err(kube::Error::HttpError)?;
            let started = Instant::now();
            let answer = self.answer(request).await;
            tracing::debug!(
                "GET {uri} -> {} ({} ms, Kubernetes API)",
                match &answer {
                    Ok(_) => "200".to_string(),
                    Err((kube::Error::Api(e), _)) => e.code.to_string(),
                    Err((e, _)) => format!("no answer ({e})"),
                },
                started.elapsed().as_millis()
            );
            match answer {
                Ok(text) => return Ok(text),
                Err((e, retry_after))
                    if retryable(&e) && !self.retry.is_expired(start.elapsed(), retries) =>
                {
                    let delay = retry_after.unwrap_or_else(|| self.retry.sleep_duration(retries));
                    tokio::time::sleep(delay.min(self.retry.max_total)).await;
                    retries += 1;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// One request: the body's text, or the error with the `Retry-After` (seconds) the
    /// server asked for, which kube's own `request_text` drops.
    async fn answer(
        &self,
        request: http::Request<kube::client::Body>,
    ) -> Result<String, (kube::Error, Option<std::time::Duration>)> {
        let response = self.client.send(request).await.map_err(|e| (e, None))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let bytes = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| (e, None))?;
        let text =
            String::from_utf8(bytes.to_vec()).map_err(|e| (kube::Error::FromUtf8(e), None))?;
        if status.is_client_error() || status.is_server_error() {
            // A Status object names the reason; anything else keeps the HTTP status alone.
            let error =
                serde_json::from_str::<kube::core::ErrorResponse>(&text).unwrap_or_else(|_| {
                    kube::core::ErrorResponse {
                        status: status.to_string(),
                        code: status.as_u16(),
                        message: text.chars().take(200).collect(),
                        reason: String::new(),
                    }
                });
            return Err((kube::Error::Api(error), retry_after));
        }
        Ok(text)
    }
}

fn retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(answer) => matches!(answer.code, 408 | 429 | 500..=599),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn error(kind: FailureKind, code: Option<String>, message: String) -> ReadError {
    ReadError {
        kind,
        arm_code: code,
        message,
    }
}

/// Only Velero's CRDs are kept of all CRDs.
fn wanted(list: KubeList, item: &Value) -> bool {
    list != KubeList::CustomResourceDefinitions
        || item["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with(".velero.io"))
}

/// The fields of an item the checks read (dotted paths; through arrays, each element).
fn kept(list: KubeList, item: &Value) -> Value {
    let paths: &[&str] = match list {
        KubeList::PersistentVolumes => &[
            "metadata.name",
            "spec.csi.driver",
            "spec.csi.volumeHandle",
            "spec.azureDisk.diskURI",
            "spec.azureFile.shareName",
            "spec.claimRef.namespace",
            "spec.claimRef.name",
            "spec.storageClassName",
            "status.phase",
        ],
        KubeList::StorageClasses => &[
            "metadata.name",
            "provisioner",
            "parameters.skuName",
            "parameters.skuname",
        ],
        KubeList::VolumeSnapshotClasses => &["metadata.name", "driver", "deletionPolicy"],
        KubeList::CustomResourceDefinitions => &[
            "metadata.name",
            "metadata.labels",
            "metadata.annotations",
            "metadata.ownerReferences.kind",
            "metadata.ownerReferences.name",
        ],
        KubeList::Deployments | KubeList::DaemonSets => &[
            "metadata.name",
            "metadata.namespace",
            "metadata.labels",
            "spec.template.spec.containers.name",
            "spec.template.spec.containers.image",
            "spec.template.spec.initContainers.name",
            "spec.template.spec.initContainers.image",
        ],
        KubeList::ExtensionPods | KubeList::StorkPods | KubeList::PxBackupPods => &[
            "metadata.name",
            "metadata.namespace",
            "status.phase",
            "status.conditions.type",
            "status.conditions.status",
            "status.containerStatuses.name",
            "status.containerStatuses.ready",
            "status.containerStatuses.restartCount",
            "status.containerStatuses.state.waiting.reason",
        ],
        // What Stork recorded of a PXB backup or restore: its state and reasons per volume
        // and per resource, never the volumes' options or the backup location's secrets.
        KubeList::ApplicationBackups | KubeList::ApplicationRestores => &[
            "metadata.name",
            "metadata.namespace",
            "metadata.creationTimestamp",
            "metadata.annotations",
            "spec.backupLocation",
            "spec.backupName",
            "spec.namespaces",
            "status.status",
            "status.stage",
            "status.reason",
            "status.triggerTimestamp",
            "status.lastUpdateTimestamp",
            "status.finishTimestamp",
            "status.volumes.persistentVolumeClaim",
            "status.volumes.sourceNamespace",
            "status.volumes.namespace",
            "status.volumes.volume",
            "status.volumes.sourceVolume",
            "status.volumes.restoreVolume",
            "status.volumes.driverName",
            "status.volumes.storageClass",
            "status.volumes.provisioner",
            "status.volumes.status",
            "status.volumes.reason",
            "status.resources.name",
            "status.resources.namespace",
            "status.resources.kind",
            "status.resources.group",
            "status.resources.status",
            "status.resources.reason",
        ],
    };
    let mut out = Value::Object(Map::new());
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        if let Some(value) = pick(item, &segments) {
            merge(&mut out, value);
        }
    }
    if let Some(Value::Object(annotations)) = out.pointer_mut("/metadata/annotations") {
        // kubectl's copy of the whole object: large, and nothing the checks read.
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        if matches!(
            list,
            KubeList::ApplicationBackups | KubeList::ApplicationRestores
        ) {
            // PXB's own marks (created-by, backup and cluster names), nothing else.
            annotations.retain(|key, _| key.starts_with("portworx.io/"));
        }
    }
    out
}

fn pick(value: &Value, path: &[&str]) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value.clone());
    };
    match value {
        Value::Array(elements) => Some(Value::Array(
            elements
                .iter()
                .map(|e| pick(e, path).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(map) => {
            let inner = pick(map.get(*first)?, rest)?;
            Some(Value::Object(Map::from_iter([(first.to_string(), inner)])))
        }
        _ => None,
    }
}

/// Objects merge by key, arrays element by element; `null` gives way.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in b {
                match a.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        a.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (existing, value) in a.iter_mut().zip(b) {
                merge(existing, value);
            }
        }
        (slot @ Value::Null, value) => *slot = value,
        _ => {}
    }
}

/// The error and its causes on one line: the transport's own words ("client error
/// (SendRequest)") hide the cause a user can act on, such as an untrusted server certificate.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fields_the_checks_read_are_kept() {
        let pod = json!({
            "metadata": {"name": "agent", "namespace": "dataprotection-microsoft", "uid": "u", "annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "env": [{"name": "TOKEN", "value": "s3cret"}]}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "t"}],
                       "containerStatuses": [{"name": "c", "image": "i", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "m"}}}]}
        });
        // Nothing absent is added (not even as null: the facts' models reject that).
        assert_eq!(
            kept(
                KubeList::VolumeSnapshotClasses,
                &json!({"metadata": {"name": "v"}, "driver": "d", "parameters": {}})
            ),
            json!({"metadata": {"name": "v"}, "driver": "d"})
        );
        assert_eq!(
            kept(KubeList::ExtensionPods, &pod),
            json!({
                "metadata": {"name": "agent", "namespace": "dataprotection-microsoft"},
                "status": {"phase": "Running",
                           "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
            })
        );
        let deployment = json!({
            "metadata": {"name": "velero", "namespace": "velero", "labels": {"component": "velero"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "velero", "image": "velero/velero:v1.13", "args": ["server"]},
                {"name": "sidecar", "image": "busybox", "env": [{"name": "K", "value": "V"}]}
            ]}}}
        });
        assert_eq!(
            kept(KubeList::Deployments, &deployment),
            json!({
                "metadata": {"name": "velero", "namespace": "velero", "labels": {"component": "velero"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "velero", "image": "velero/velero:v1.13"},
                    {"name": "sidecar", "image": "busybox"}
                ]}}}
            })
        );
    }

    #[test]
    fn only_velero_crds_are_kept_without_kubectls_copy() {
        let crd = |name: &str| json!({"metadata": {"name": name, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "x": "y"}}, "spec": {"group": "g"}});
        assert!(!wanted(
            KubeList::CustomResourceDefinitions,
            &crd("certificates.cert-manager.io")
        ));
        assert!(wanted(
            KubeList::CustomResourceDefinitions,
            &crd("backups.velero.io")
        ));
        assert_eq!(
            kept(
                KubeList::CustomResourceDefinitions,
                &crd("backups.velero.io")
            ),
            json!({"metadata": {"name": "backups.velero.io", "annotations": {"x": "y"}}})
        );
    }

    #[test]
    fn plain_http_servers_are_accepted_only_on_loopback() {
        let kubeconfig = |server: &str| {
            Kubeconfig::from_yaml(&format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user: {{}}\ncurrent-context: x\n"
            ))
            .unwrap()
        };
        assert!(server_of(&kubeconfig("http://127.0.0.1:8080"), "x").is_ok());
        assert!(server_of(&kubeconfig("https://aks1.hcp.eastus.azmk8s.io:443"), "x").is_ok());
        assert!(server_of(&kubeconfig("http://aks1.hcp.eastus.azmk8s.io"), "x").is_err());
        assert!(server_of(&kubeconfig("https://a"), "other").is_err());
    }
}
