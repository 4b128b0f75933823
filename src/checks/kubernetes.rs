//! The in-cluster checks: what only the cluster's Kubernetes API shows (another Velero,
//! the snapshot class, the backup extension's pods).
//!
//! Pure judgements over `Facts::kubernetes`; without Kubernetes access each skips naming
//! `--kubeconfig`, and a list the API server refused makes only its checks `error`.

use super::{Check, Explain, Judgement, Outcome, Read, Uses, AZURE_BACKUP, BOTH};
use crate::facts::{
    ClusterObjects, Facts, Kubernetes, Metadata, PersistentVolume, Require, StorageClass, Workload,
    BACKUP_NAMESPACE, DISK_CSI_DRIVER,
};

/// The flags that give the in-cluster checks their access.
const KUBECONFIG_FLAGS: &[&str] = &["--kubeconfig", "--context"];

/// The cluster's objects, or the skip every in-cluster check reports without them.
fn cluster_objects(facts: &Facts) -> Result<&ClusterObjects, Outcome> {
    match &facts.kubernetes {
        Kubernetes::Read(objects) => Ok(objects),
        Kubernetes::NotGiven => Err(Outcome::missing_input(
            KUBECONFIG_FLAGS,
            "no Kubernetes access: pass --kubeconfig (and --context), or run where the current kubeconfig context is this cluster's",
        )),
        Kubernetes::OtherCluster(access) => Err(Outcome::missing_input(
            KUBECONFIG_FLAGS,
            format!(
                "the current kubeconfig context '{}' points at {}, not this cluster's API server; pass --kubeconfig/--context to choose this cluster's",
                access.context, access.server
            ),
        )),
    }
}

/// Runs `judge` over the cluster's objects, or reports the skip.
fn with_objects(facts: &Facts, judge: impl FnOnce(&ClusterObjects) -> Judgement) -> Judgement {
    match cluster_objects(facts) {
        Ok(objects) => judge(objects),
        Err(skip) => Ok(skip),
    }
}

const VELERO_ABSENT_DOC: Explain = Explain {
    verifies: "with Kubernetes access: no Velero installation outside dataprotection-microsoft: no deployment or daemonset named velero or running an image velero/velero in another namespace, and no velero.io CRD that the backup extension did not install.",
    how: Some("a velero.io CRD is the extension's when a label, annotation or owner names dataprotection (its release namespace dataprotection-microsoft). Otherwise it is another installation's when the extension is not installed, or when it carries another installer's mark: label component=velero (velero install), label app.kubernetes.io/name=velero (the Helm chart), or annotation meta.helm.sh/release-namespace naming another namespace."),
    why: "the prerequisites page says to remove another Velero installation before installing the backup extension: two Velero servers fight over the same CRDs.",
    reads: &[
        Read::Other("Kubernetes API: list deployments and daemonsets in all namespaces (apps/v1): name, namespace, container images"),
        Read::Other("Kubernetes API: list customresourcedefinitions (apiextensions.k8s.io/v1): names, labels, annotations, owners of *.velero.io"),
    ],
    fix: "uninstall the other Velero (`velero uninstall`, or `helm uninstall` of its release) and delete its velero.io CRDs, then install the backup extension.",
};

pub const VELERO_ABSENT: Check = Check {
    id: "velero-absent",
    title: "No other Velero installation in the cluster",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: VELERO_ABSENT_DOC,
    run: velero_absent,
};

fn velero_absent(facts: &Facts) -> Judgement {
    with_objects(facts, |objects| {
        let mut found = Vec::new();
        for (kind, list) in [
            ("deployment", &objects.deployments),
            ("daemonset", &objects.daemon_sets),
        ] {
            found.extend(list.require()?.iter().filter(|w| is_velero(w)).map(|w| {
                let namespace = w.metadata.namespace.as_deref().unwrap_or("default");
                format!("{kind} {namespace}/{}", w.metadata.name)
            }));
        }
        let extension_installed = !matches!(facts.backup_extension(), Ok(None));
        found.extend(
            objects
                .crds
                .require()?
                .iter()
                .filter(|crd| crd.metadata.name.ends_with(".velero.io"))
                .filter(|crd| is_foreign_velero_crd(&crd.metadata, extension_installed))
                .map(|crd| format!("CRD {}", crd.metadata.name)),
        );
        Ok(if found.is_empty() {
            Outcome::pass(format!(
                "no Velero deployment, daemonset or CRD outside {BACKUP_NAMESPACE}"
            ))
        } else {
            Outcome::fail(format!(
                "another Velero installation is present: {}",
                found.join(", ")
            ))
            .fix("velero uninstall   # or: helm uninstall RELEASE -n NAMESPACE; then delete the listed velero.io CRDs")
        })
    })
}

/// A Velero server outside the extension's namespace, by name or by image.
fn is_velero(workload: &Workload) -> bool {
    let outside = workload.metadata.namespace.as_deref() != Some(BACKUP_NAMESPACE);
    let named = workload.metadata.name == "velero";
    let image = workload.images().any(|image| {
        let repository = image.split(['@', ':']).next().unwrap_or(image);
        repository == "velero/velero" || repository.ends_with("/velero/velero")
    });
    outside && (named || image)
}

/// See the check's "How".
fn is_foreign_velero_crd(meta: &Metadata, extension_installed: bool) -> bool {
    let values = meta.labels.values().chain(meta.annotations.values());
    let owners = meta.owner_references.iter().map(|o| &o.name);
    let extension_mark = values
        .chain(owners)
        .any(|v| v.to_ascii_lowercase().contains("dataprotection"));
    if extension_mark {
        return false;
    }
    let other_mark = meta.labels.get("component").is_some_and(|v| v == "velero")
        || meta
            .labels
            .get("app.kubernetes.io/name")
            .is_some_and(|v| v == "velero")
        || meta
            .annotations
            .get("meta.helm.sh/release-namespace")
            .is_some_and(|ns| ns != BACKUP_NAMESPACE);
    !extension_installed || other_mark
}

const VOLUME_TYPES_DOC: Explain = Explain {
    verifies: "with Kubernetes access: every bound PersistentVolume is a CSI Azure Disk volume (spec.csi.driver disk.csi.azure.com) of a disk SKU Azure Backup supports; warns listing the others (first 20, then a count) with their namespace and claim: in-tree azureDisk, Azure Files (file.csi.azure.com, in-tree azureFile), blob (blob.csi.azure.com), other CSI drivers, and Premium SSD v2 or Ultra disks.",
    how: Some("the disk SKU (PremiumV2_LRS, UltraSSD_LRS) is the disk's own sku.name from ARM: the PV's volumeHandle is the disk's ARM ID, and one disk list is read per resource group holding PV disks. When the disk is not in its list or the list could not be read, the PV's StorageClass parameter skuName decides; a disk of neither counts as supported. Each listed disk says which source decided."),
    why: "Azure Backup for AKS backs up only CSI Azure Disk volumes of the supported SKUs; the others are skipped without failing the backup.",
    reads: &[
        Read::Other("Kubernetes API: list persistentvolumes (v1): name, phase, CSI driver, in-tree source, claim, storage class"),
        Read::Other("Kubernetes API: list storageclasses (storage.k8s.io/v1): name, provisioner, skuName"),
        Read::Arm {
            call: "GET /subscriptions/{sub}/resourceGroups/{diskResourceGroup}/providers/Microsoft.Compute/disks",
            api_version: crate::reads::API_COMPUTE,
            note: "every page, once per resource group holding PV disks: id, sku.name",
        },
    ],
    fix: "move the data to protect to claims of a CSI Azure Disk storage class of a supported SKU (for example managed-csi or managed-csi-premium).",
};

pub const VOLUME_TYPES: Check = Check {
    id: "volume-types",
    title: "Persistent volumes are CSI Azure Disk volumes",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: VOLUME_TYPES_DOC,
    run: volume_types,
};

/// How many unprotected volumes the message names before it only counts.
const LISTED_VOLUMES: usize = 20;

fn volume_types(facts: &Facts) -> Judgement {
    with_objects(facts, |objects| {
        let volumes = objects.persistent_volumes.require()?;
        let classes = objects.storage_classes.require()?;
        let bound: Vec<&PersistentVolume> = volumes
            .iter()
            .filter(|pv| pv.status.phase.as_deref() == Some("Bound"))
            .collect();
        let unprotected: Vec<String> = bound
            .iter()
            .filter_map(|pv| {
                let reason = unprotected_reason(pv, objects.disk_sku(pv), classes)?;
                let claim = pv.spec.claim_ref.as_ref();
                let namespace = claim.and_then(|c| c.namespace.as_deref()).unwrap_or("?");
                let name = claim.and_then(|c| c.name.as_deref()).unwrap_or("?");
                Some(format!(
                    "{namespace}/{name} (PV {}): {reason}",
                    pv.metadata.name
                ))
            })
            .collect();
        if unprotected.is_empty() {
            return Ok(Outcome::pass(format!(
                "all {} bound persistent volume(s) are CSI Azure Disk volumes",
                bound.len()
            )));
        }
        let mut listed = unprotected
            .iter()
            .take(LISTED_VOLUMES)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if unprotected.len() > LISTED_VOLUMES {
            listed.push_str(&format!(
                "; and {} more",
                unprotected.len() - LISTED_VOLUMES
            ));
        }
        Ok(Outcome::warn(format!(
            "{} of {} bound persistent volume(s) will not be backed up: {listed}",
            unprotected.len(),
            bound.len()
        )))
    })
}

/// Why Azure Backup skips this volume, or `None` when it protects it. A disk's SKU in ARM
/// (`disk_sku`) decides before its StorageClass's `skuName`.
fn unprotected_reason(
    pv: &PersistentVolume,
    disk_sku: Option<&str>,
    classes: &[StorageClass],
) -> Option<String> {
    let spec = &pv.spec;
    match spec
        .csi
        .as_ref()
        .map(|c| c.driver.as_deref().unwrap_or_default())
    {
        Some(DISK_CSI_DRIVER) => {
            let (sku, source) = match disk_sku {
                Some(sku) => (sku, "the disk's SKU in ARM".to_string()),
                None => {
                    let class = classes.iter().find(|c| {
                        Some(c.metadata.name.as_str()) == spec.storage_class_name.as_deref()
                    })?;
                    (
                        class.sku_name()?,
                        format!("skuName of StorageClass {}", class.metadata.name),
                    )
                }
            };
            let kind = if sku.eq_ignore_ascii_case("PremiumV2_LRS") {
                "Premium SSD v2 disk"
            } else if sku.eq_ignore_ascii_case("UltraSSD_LRS") {
                "Ultra disk"
            } else {
                return None;
            };
            Some(format!("{kind} ({sku}, from {source})"))
        }
        Some("file.csi.azure.com") => Some("Azure Files (CSI)".into()),
        Some("blob.csi.azure.com") => Some("Azure Blob (CSI)".into()),
        Some(driver) => Some(format!("CSI driver {driver}")),
        None if spec.azure_disk.is_some() => Some("in-tree azureDisk".into()),
        None if spec.azure_file.is_some() => Some("in-tree azureFile".into()),
        None => Some("not a CSI volume".into()),
    }
}

const SNAPSHOT_CLASS_MANIFEST: &str = "kubectl apply -f - <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: csi-azuredisk-vsc
driver: disk.csi.azure.com
deletionPolicy: Delete
parameters:
  incremental: \"true\"
EOF";

const VOLUME_SNAPSHOT_CLASS_DOC: Explain = Explain {
    verifies: "with Kubernetes access: the API server serves snapshot.storage.k8s.io/v1 and a VolumeSnapshotClass with driver disk.csi.azure.com exists.",
    how: None,
    why: "both products take Azure Disk volume snapshots through the CSI snapshot API, which needs a snapshot class of the Azure Disk CSI driver.",
    reads: &[Read::Other(
        "Kubernetes API: list volumesnapshotclasses (snapshot.storage.k8s.io/v1): name, driver; a 404 means the snapshot CRDs are not served",
    )],
    fix: "enable the snapshot controller (`az aks update --enable-snapshot-controller`), then apply a VolumeSnapshotClass for disk.csi.azure.com (the manifest in the report).",
};

pub const VOLUME_SNAPSHOT_CLASS: Check = Check {
    id: "volume-snapshot-class",
    title: "A VolumeSnapshotClass for Azure Disk CSI exists",
    profiles: BOTH,
    uses: Uses::Nothing,
    explain: VOLUME_SNAPSHOT_CLASS_DOC,
    run: volume_snapshot_class,
};

fn volume_snapshot_class(facts: &Facts) -> Judgement {
    with_objects(facts, |objects| {
        let Some(classes) = objects.snapshot_classes.require()? else {
            return Ok(Outcome::fail(
                "the API server does not serve snapshot.storage.k8s.io/v1: the snapshot CRDs are not installed (see snapshot-controller)",
            )
            .fix(SNAPSHOT_CLASS_MANIFEST));
        };
        let matching: Vec<&str> = classes
            .iter()
            .filter(|c| c.driver.as_deref() == Some(DISK_CSI_DRIVER))
            .map(|c| c.metadata.name.as_str())
            .collect();
        Ok(if matching.is_empty() {
            Outcome::fail(format!(
                "no VolumeSnapshotClass has driver {DISK_CSI_DRIVER} ({} snapshot class(es) in all)",
                classes.len()
            ))
            .fix(SNAPSHOT_CLASS_MANIFEST)
        } else {
            Outcome::pass(format!(
                "VolumeSnapshotClass {} has driver {DISK_CSI_DRIVER}",
                matching.join(", ")
            ))
        })
    })
}

const BACKUP_EXTENSION_PODS_DOC: Explain = Explain {
    verifies: "with Kubernetes access and the backup extension installed: every pod in dataprotection-microsoft is Running with condition Ready True; fails naming each other pod with its containers' waiting reasons (CrashLoopBackOff, ImagePullBackOff). Skips when the extension is not installed (backup-extension reports that).",
    how: None,
    why: "the extension's pods run the backups; an extension that ARM reports as installed can still have pods that never start.",
    reads: &[
        Read::Other("Kubernetes API: list pods in namespace dataprotection-microsoft: name, phase, Ready condition, containers' waiting reasons"),
        Read::Other("the cluster's extensions (see backup-extension)"),
    ],
    fix: "read the pod's events and logs (`kubectl -n dataprotection-microsoft describe pod POD`); image pull failures usually mean egress to mcr.microsoft.com is blocked (see egress-fqdns).",
};

pub const BACKUP_EXTENSION_PODS: Check = Check {
    id: "backup-extension-pods",
    title: "The backup extension's pods are running and ready",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: BACKUP_EXTENSION_PODS_DOC,
    run: backup_extension_pods,
};

fn backup_extension_pods(facts: &Facts) -> Judgement {
    with_objects(facts, |objects| {
        if facts.backup_extension()?.is_none() {
            return Ok(Outcome::skip(
                "the backup extension is not installed (see backup-extension)",
            ));
        }
        let pods = objects.extension_pods.require()?;
        if pods.is_empty() {
            return Ok(Outcome::fail(format!(
                "the backup extension is installed but {BACKUP_NAMESPACE} has no pods"
            )));
        }
        let not_ready: Vec<String> = pods
            .iter()
            .filter(|p| !p.is_ready())
            .map(|p| {
                let phase = p.status.phase.as_deref().unwrap_or("(no phase)");
                let reasons = p.waiting_reasons();
                if reasons.is_empty() {
                    format!("{} ({phase}, not Ready)", p.metadata.name)
                } else {
                    format!("{} ({phase}; {})", p.metadata.name, reasons.join(", "))
                }
            })
            .collect();
        Ok(if not_ready.is_empty() {
            Outcome::pass(format!(
                "{} pod(s) in {BACKUP_NAMESPACE}, all Running and Ready",
                pods.len()
            ))
        } else {
            Outcome::fail(format!(
                "pods in {BACKUP_NAMESPACE} not Running and Ready: {}",
                not_ready.join("; ")
            ))
            .fix(format!(
                "kubectl -n {BACKUP_NAMESPACE} describe pod POD; kubectl -n {BACKUP_NAMESPACE} logs POD --all-containers"
            ))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::Scenario;
    use crate::checks::Status;
    use crate::reads::{ArmRead, KubeList};
    use crate::target::KubeAccess;
    use serde_json::{json, Value};

    const SERVER: &str = "https://aks1-dns-abc123.hcp.eastus.azmk8s.io:443";

    fn extension_installed() -> Value {
        json!({"value": [{"name": "azure-aks-backup", "properties": {
            "extensionType": "Microsoft.DataProtection.Kubernetes", "provisioningState": "Succeeded",
            "scope": {"cluster": {"releaseNamespace": "dataprotection-microsoft"}}}}]})
    }

    fn list(kind: &str, items: Vec<Value>) -> Value {
        json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
    }

    fn workload(namespace: &str, name: &str, image: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": namespace},
               "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}})
    }

    fn crd(name: &str, labels: Value, annotations: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels, "annotations": annotations}})
    }

    fn pod(name: &str, phase: &str, ready: bool, waiting: Option<&str>) -> Value {
        let state = match waiting {
            Some(reason) => json!({"waiting": {"reason": reason, "message": "back-off"}}),
            None => json!({"running": {"startedAt": "2026-11-20T09:00:00Z"}}),
        };
        json!({"metadata": {"name": name, "namespace": "dataprotection-microsoft"},
               "status": {"phase": phase,
                          "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
                          "containerStatuses": [{"name": "manager", "ready": ready, "state": state}]}})
    }

    /// The extension installed and healthy, seen through a chosen kubeconfig context.
    fn ready() -> Scenario {
        let mut s = Scenario::new();
        s.target.kubernetes = Some(KubeAccess {
            server: SERVER.into(),
            context: "aks1".into(),
            chosen: true,
        });
        s.set(
            &ArmRead::Extensions(s.target_ids().cluster),
            extension_installed(),
        );
        let extension_image = "mcr.microsoft.com/aks/aksdataprotection/velero:v1.14";
        s.set(
            &ArmRead::Kubernetes(KubeList::Deployments),
            list(
                "DeploymentList",
                vec![
                    workload(
                        "dataprotection-microsoft",
                        "dataprotection-microsoft-kubernetes-agent",
                        extension_image,
                    ),
                    workload(
                        "kube-system",
                        "coredns",
                        "mcr.microsoft.com/oss/kubernetes/coredns:v1.11",
                    ),
                ],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::DaemonSets),
            list(
                "DaemonSetList",
                vec![workload(
                    "kube-system",
                    "csi-azuredisk-node",
                    "mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi:v1.30",
                )],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::CustomResourceDefinitions),
            list(
                "CustomResourceDefinitionList",
                vec![
                    crd(
                        "backups.velero.io",
                        json!({"app.kubernetes.io/part-of": "dataprotection-microsoft"}),
                        json!({}),
                    ),
                    crd(
                        "volumesnapshots.snapshot.storage.k8s.io",
                        json!({}),
                        json!({}),
                    ),
                ],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::VolumeSnapshotClasses),
            list(
                "VolumeSnapshotClassList",
                vec![json!({"metadata": {"name": "csi-azuredisk-vsc"}, "driver": "disk.csi.azure.com", "deletionPolicy": "Delete"})],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::ExtensionPods),
            list(
                "PodList",
                vec![pod(
                    "dataprotection-microsoft-kubernetes-agent-7d9f",
                    "Running",
                    true,
                    None,
                )],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::PersistentVolumes),
            list(
                "PersistentVolumeList",
                vec![pv(
                    "pvc-1",
                    "data-db-0",
                    "managed-csi",
                    csi("disk.csi.azure.com"),
                )],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::StorageClasses),
            list(
                "StorageClassList",
                vec![
                    json!({"metadata": {"name": "managed-csi"}, "provisioner": "disk.csi.azure.com", "parameters": {"skuname": "StandardSSD_LRS"}}),
                    json!({"metadata": {"name": "premium2"}, "provisioner": "disk.csi.azure.com", "parameters": {"skuName": "PremiumV2_LRS"}}),
                ],
            ),
        );
        s
    }

    fn pv(name: &str, claim: &str, class: &str, source: Value) -> Value {
        let mut spec = json!({"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop", "name": claim},
            "storageClassName": class, "persistentVolumeReclaimPolicy": "Delete"});
        spec.as_object_mut()
            .unwrap()
            .extend(source.as_object().unwrap().clone());
        json!({"metadata": {"name": name}, "spec": spec, "status": {"phase": "Bound"}})
    }

    fn csi(driver: &str) -> Value {
        json!({"csi": {"driver": driver, "volumeHandle": "/subscriptions/sub1/resourceGroups/MC_rg1_aks1_eastus/providers/Microsoft.Compute/disks/pvc-1"}})
    }

    fn judge(s: &Scenario, check: &Check) -> Outcome {
        check.judge(&s.facts())
    }

    #[test]
    fn a_healthy_cluster_passes_every_in_cluster_check() {
        let s = ready();
        for check in [
            &VELERO_ABSENT,
            &VOLUME_TYPES,
            &VOLUME_SNAPSHOT_CLASS,
            &BACKUP_EXTENSION_PODS,
        ] {
            let o = judge(&s, check);
            assert_eq!(o.status, Status::Pass, "{}: {}", check.id, o.message);
        }
    }

    #[test]
    fn without_access_each_check_skips_naming_kubeconfig() {
        let mut s = ready();
        s.target.kubernetes = None;
        for check in [
            &VELERO_ABSENT,
            &VOLUME_TYPES,
            &VOLUME_SNAPSHOT_CLASS,
            &BACKUP_EXTENSION_PODS,
        ] {
            let o = judge(&s, check);
            assert_eq!(o.status, Status::Skip, "{}", check.id);
            assert!(o.missing_flags().contains(&"--kubeconfig"), "{}", check.id);
        }
    }

    #[test]
    fn a_default_context_for_another_cluster_skips_saying_so() {
        let mut s = ready();
        s.target.kubernetes = Some(KubeAccess {
            server: "https://other-dns.hcp.westus.azmk8s.io:443".into(),
            context: "other".into(),
            chosen: false,
        });
        s.edit_cluster(|c| c["properties"]["fqdn"] = json!("aks1-dns-abc123.hcp.eastus.azmk8s.io"));
        let o = judge(&s, &VELERO_ABSENT);
        assert_eq!(o.status, Status::Skip);
        assert!(
            o.message.contains("'other'") && o.message.contains("other-dns"),
            "{}",
            o.message
        );
    }

    #[test]
    fn a_default_context_for_this_cluster_is_used() {
        let mut s = ready();
        s.target.kubernetes.as_mut().unwrap().chosen = false;
        s.edit_cluster(|c| {
            c["properties"]["privateFQDN"] = json!("AKS1-DNS-abc123.hcp.eastus.azmk8s.io")
        });
        assert_eq!(judge(&s, &VELERO_ABSENT).status, Status::Pass);
    }

    #[test]
    fn velero_outside_the_extension_namespace_fails_naming_where() {
        let mut s = ready();
        s.set(
            &ArmRead::Kubernetes(KubeList::Deployments),
            list(
                "DeploymentList",
                vec![workload(
                    "backup-tools",
                    "backup-server",
                    "docker.io/velero/velero:v1.13.0",
                )],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::DaemonSets),
            list(
                "DaemonSetList",
                vec![workload("velero", "node-agent", "velero/velero@sha256:abc")],
            ),
        );
        let o = judge(&s, &VELERO_ABSENT);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("deployment backup-tools/backup-server"),
            "{}",
            o.message
        );
        assert!(
            o.message.contains("daemonset velero/node-agent"),
            "{}",
            o.message
        );
    }

    #[test]
    fn velero_crds_of_another_installer_fail_and_the_extensions_do_not() {
        let mut s = ready();
        s.set(
            &ArmRead::Kubernetes(KubeList::CustomResourceDefinitions),
            list(
                "CustomResourceDefinitionList",
                vec![
                    crd(
                        "backups.velero.io",
                        json!({"component": "velero"}),
                        json!({}),
                    ),
                    crd(
                        "restores.velero.io",
                        json!({}),
                        json!({"meta.helm.sh/release-namespace": "velero"}),
                    ),
                    crd(
                        "schedules.velero.io",
                        json!({}),
                        json!({"meta.helm.sh/release-namespace": "dataprotection-microsoft"}),
                    ),
                    crd("podvolumebackups.velero.io", json!({}), json!({})),
                ],
            ),
        );
        let o = judge(&s, &VELERO_ABSENT);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("CRD backups.velero.io")
                && o.message.contains("CRD restores.velero.io"),
            "{}",
            o.message
        );
        assert!(
            !o.message.contains("schedules") && !o.message.contains("podvolumebackups"),
            "{}",
            o.message
        );
        // Without the extension, an unmarked velero.io CRD is another installation's.
        s.set(
            &ArmRead::Extensions(s.target_ids().cluster),
            json!({"value": []}),
        );
        assert!(judge(&s, &VELERO_ABSENT)
            .message
            .contains("podvolumebackups"));
    }

    #[test]
    fn a_forbidden_list_is_an_error_naming_the_rbac_rule() {
        let mut s = ready();
        s.fail(
            &ArmRead::Kubernetes(KubeList::CustomResourceDefinitions),
            403,
            "Forbidden",
        );
        let o = judge(&s, &VELERO_ABSENT);
        assert_eq!(o.status, Status::Error);
        assert!(
            o.message.contains("list customresourcedefinitions"),
            "{}",
            o.message
        );
        assert_eq!(judge(&s, &VOLUME_SNAPSHOT_CLASS).status, Status::Pass);
    }

    #[test]
    fn no_azure_disk_snapshot_class_fails_with_the_manifest() {
        let mut s = ready();
        s.set(
            &ArmRead::Kubernetes(KubeList::VolumeSnapshotClasses),
            list(
                "VolumeSnapshotClassList",
                vec![json!({"metadata": {"name": "files"}, "driver": "file.csi.azure.com"})],
            ),
        );
        let o = judge(&s, &VOLUME_SNAPSHOT_CLASS);
        assert_eq!(o.status, Status::Fail);
        assert!(o
            .remediation
            .unwrap()
            .contains("driver: disk.csi.azure.com"));
        s.fail(
            &ArmRead::Kubernetes(KubeList::VolumeSnapshotClasses),
            404,
            "NotFound",
        );
        let o = judge(&s, &VOLUME_SNAPSHOT_CLASS);
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.contains("does not serve"), "{}", o.message);
    }

    #[test]
    fn crashing_extension_pods_fail_naming_pod_and_reason() {
        let mut s = ready();
        s.set(
            &ArmRead::Kubernetes(KubeList::ExtensionPods),
            list(
                "PodList",
                vec![
                    pod("agent-1", "Running", false, Some("CrashLoopBackOff")),
                    pod("agent-2", "Pending", false, Some("ImagePullBackOff")),
                    pod("agent-3", "Running", true, None),
                ],
            ),
        );
        let o = judge(&s, &BACKUP_EXTENSION_PODS);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("agent-1 (Running; manager: CrashLoopBackOff)"),
            "{}",
            o.message
        );
        assert!(
            o.message
                .contains("agent-2 (Pending; manager: ImagePullBackOff)"),
            "{}",
            o.message
        );
        assert!(!o.message.contains("agent-3"), "{}", o.message);
    }

    #[test]
    fn extension_pods_skip_without_the_extension() {
        let mut s = ready();
        s.set(
            &ArmRead::Extensions(s.target_ids().cluster),
            json!({"value": []}),
        );
        let o = judge(&s, &BACKUP_EXTENSION_PODS);
        assert_eq!(o.status, Status::Skip);
        assert_eq!(o.missing_flags(), &[] as &[&str]);
    }

    #[test]
    fn volumes_azure_backup_skips_are_listed_with_their_claims() {
        let mut s = ready();
        let mut volumes = vec![
            pv(
                "pvc-1",
                "data-db-0",
                "managed-csi",
                csi("disk.csi.azure.com"),
            ),
            pv("pvc-2", "fast", "premium2", csi("disk.csi.azure.com")),
            pv(
                "pvc-3",
                "shared",
                "azurefile-csi",
                csi("file.csi.azure.com"),
            ),
            pv(
                "pvc-4",
                "blobs",
                "azureblob-fuse",
                csi("blob.csi.azure.com"),
            ),
            pv(
                "pv-old",
                "legacy",
                "default",
                json!({"azureDisk": {"diskName": "d", "diskURI": "/subscriptions/sub1/x"}}),
            ),
            pv(
                "pv-files",
                "legacy-files",
                "azurefile",
                json!({"azureFile": {"secretName": "s", "shareName": "share"}}),
            ),
        ];
        let mut released = pv("pvc-9", "gone", "azurefile-csi", csi("file.csi.azure.com"));
        released["status"]["phase"] = json!("Released");
        volumes.push(released);
        s.set(
            &ArmRead::Kubernetes(KubeList::PersistentVolumes),
            list("PersistentVolumeList", volumes),
        );
        let o = judge(&s, &VOLUME_TYPES);
        assert_eq!(o.status, Status::Warn);
        for expected in [
            "5 of 6 bound",
            "shop/fast (PV pvc-2): Premium SSD v2 disk",
            "shop/shared (PV pvc-3): Azure Files (CSI)",
            "shop/blobs (PV pvc-4): Azure Blob (CSI)",
            "shop/legacy (PV pv-old): in-tree azureDisk",
            "shop/legacy-files (PV pv-files): in-tree azureFile",
        ] {
            assert!(o.message.contains(expected), "{expected}: {}", o.message);
        }
        assert!(
            !o.message.contains("pvc-1") && !o.message.contains("pvc-9"),
            "{}",
            o.message
        );
    }

    #[test]
    fn beyond_twenty_unprotected_volumes_only_a_count_is_given() {
        let mut s = ready();
        let volumes = (0..23)
            .map(|i| {
                pv(
                    &format!("pv-{i}"),
                    &format!("c{i}"),
                    "azurefile-csi",
                    csi("file.csi.azure.com"),
                )
            })
            .collect();
        s.set(
            &ArmRead::Kubernetes(KubeList::PersistentVolumes),
            list("PersistentVolumeList", volumes),
        );
        let o = judge(&s, &VOLUME_TYPES);
        assert!(
            o.message.contains("PV pv-19)") && !o.message.contains("PV pv-20)"),
            "{}",
            o.message
        );
        assert!(o.message.ends_with("; and 3 more"), "{}", o.message);
    }

    const NODE_GROUP: &str = "/subscriptions/sub1/resourceGroups/MC_rg1_aks1_eastus";

    /// A CSI Azure Disk PV whose handle is the ARM ID of its disk `name` in the node group.
    fn disk_pv(name: &str, claim: &str, class: &str) -> Value {
        let handle = format!("{NODE_GROUP}/providers/Microsoft.Compute/disks/{name}");
        pv(
            name,
            claim,
            class,
            json!({"csi": {"driver": "disk.csi.azure.com", "volumeHandle": handle}}),
        )
    }

    /// The node group's disk list, in the shape of Microsoft's `Disks_ListByResourceGroup`.
    fn disk_list(disks: &[(&str, &str)]) -> Value {
        let value: Vec<Value> = disks
            .iter()
            .map(|(name, sku)| {
                json!({"name": name, "type": "Microsoft.Compute/disks", "location": "eastus",
                    "id": format!("{NODE_GROUP}/providers/microsoft.compute/disks/{name}"),
                    "sku": {"name": sku},
                    "properties": {"diskSizeGB": 10, "provisioningState": "Succeeded", "diskState": "Attached"}})
            })
            .collect();
        json!({ "value": value })
    }

    fn node_group_disks() -> ArmRead {
        ArmRead::Disks(crate::ids::ResourceId::parse(NODE_GROUP).unwrap())
    }

    #[test]
    fn a_disks_arm_sku_decides_before_its_storage_class() {
        let mut s = ready();
        s.set(
            &ArmRead::Kubernetes(KubeList::StorageClasses),
            list(
                "StorageClassList",
                vec![
                    json!({"metadata": {"name": "managed-csi-premium"}, "provisioner": "disk.csi.azure.com", "parameters": {"skuname": "Premium_LRS"}}),
                    json!({"metadata": {"name": "premium2"}, "provisioner": "disk.csi.azure.com", "parameters": {"skuName": "PremiumV2_LRS"}}),
                ],
            ),
        );
        s.set(
            &ArmRead::Kubernetes(KubeList::PersistentVolumes),
            list(
                "PersistentVolumeList",
                vec![
                    disk_pv("pvc-a", "fast", "managed-csi-premium"),
                    disk_pv("pvc-b", "ultra", "managed-csi-premium"),
                    disk_pv("pvc-c", "plain", "premium2"),
                ],
            ),
        );
        s.set(
            &node_group_disks(),
            disk_list(&[
                ("pvc-a", "PremiumV2_LRS"),
                ("pvc-b", "UltraSSD_LRS"),
                ("pvc-c", "Premium_LRS"),
            ]),
        );
        let o = judge(&s, &VOLUME_TYPES);
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        for expected in [
            "2 of 3 bound",
            "shop/fast (PV pvc-a): Premium SSD v2 disk (PremiumV2_LRS, from the disk's SKU in ARM)",
            "shop/ultra (PV pvc-b): Ultra disk (UltraSSD_LRS, from the disk's SKU in ARM)",
        ] {
            assert!(o.message.contains(expected), "{expected}: {}", o.message);
        }
        // Its class says Premium SSD v2, its disk in ARM is Premium SSD: protected.
        assert!(!o.message.contains("pvc-c"), "{}", o.message);
    }

    #[test]
    fn without_the_disk_list_the_storage_class_sku_decides() {
        let mut s = ready();
        s.set(
            &ArmRead::Kubernetes(KubeList::PersistentVolumes),
            list(
                "PersistentVolumeList",
                vec![
                    disk_pv("pvc-a", "fast", "premium2"),
                    disk_pv("pvc-b", "plain", "managed-csi"),
                ],
            ),
        );
        s.fail(&node_group_disks(), 403, "AuthorizationFailed");
        let o = judge(&s, &VOLUME_TYPES);
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(
            o.message.contains(
                "1 of 2 bound persistent volume(s) will not be backed up: shop/fast (PV pvc-a): Premium SSD v2 disk (PremiumV2_LRS, from skuName of StorageClass premium2)"
            ),
            "{}",
            o.message
        );
        // A disk missing from a list that was read falls back the same way.
        s.set(
            &node_group_disks(),
            disk_list(&[("pvc-b", "StandardSSD_LRS")]),
        );
        let o = judge(&s, &VOLUME_TYPES);
        assert!(
            o.message
                .contains("(PremiumV2_LRS, from skuName of StorageClass premium2)"),
            "{}",
            o.message
        );
    }
}
