//! The cluster's own objects, as its Kubernetes API listed them: workloads, CRDs, snapshot
//! classes and the backup extension's pods, in the few fields the in-cluster checks use.
//!
//! Also decides whether the kubeconfig's server is the checked cluster's (the plan reads
//! the Kubernetes lists only then), and which ARM disk lists hold the PV disks' SKUs.
//! No I/O, and never anything of Secrets or ConfigMaps.

use super::{observe, Cluster, List, Observed};
use crate::ids::ResourceId;
use crate::reads::{ArmRead, KubeList, RawReads};
use crate::target::{KubeAccess, Target};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What the in-cluster checks can see.
pub enum Kubernetes {
    /// No kubeconfig was given and none was found.
    NotGiven,
    /// The default kubeconfig's current context is another cluster's.
    OtherCluster(KubeAccess),
    Read(Box<ClusterObjects>),
}

/// The Kubernetes lists, each its own observation: one denied list fails only its checks.
pub struct ClusterObjects {
    pub persistent_volumes: Observed<Vec<PersistentVolume>>,
    pub storage_classes: Observed<Vec<StorageClass>>,
    pub deployments: Observed<Vec<Workload>>,
    pub daemon_sets: Observed<Vec<Workload>>,
    pub crds: Observed<Vec<Object>>,
    /// `None` when the API server does not serve `snapshot.storage.k8s.io/v1` (404).
    pub snapshot_classes: Observed<Option<Vec<SnapshotClass>>>,
    pub extension_pods: Observed<Vec<Pod>>,
    /// Each PV disk's `sku.name` from the disk lists that could be read, by lower-cased
    /// disk ID; a disk missing here is judged by its StorageClass.
    pub disk_skus: BTreeMap<String, String>,
}

impl ClusterObjects {
    /// The SKU ARM gives for the volume's disk, when its disk list was read and holds it.
    pub fn disk_sku(&self, pv: &PersistentVolume) -> Option<&str> {
        let disk = pv.disk_id()?;
        self.disk_skus
            .get(&disk.as_str().to_ascii_lowercase())
            .map(String::as_str)
    }
}

impl Kubernetes {
    pub fn derive(raws: &RawReads, target: &Target, cluster: &Cluster) -> Self {
        let Some(access) = &target.kubernetes else {
            return Kubernetes::NotGiven;
        };
        if !access.chosen && !serves_cluster(access, cluster) {
            return Kubernetes::OtherCluster(access.clone());
        }
        let persistent_volumes = items(raws, KubeList::PersistentVolumes);
        let disk_skus = disk_reads_of(&persistent_volumes)
            .iter()
            .filter_map(|read| observe::<List<Disk>>(raws, read).ok())
            .flat_map(|list| list.value)
            .filter_map(|disk| Some((disk.id.to_ascii_lowercase(), disk.sku?.name?)))
            .collect();
        Kubernetes::Read(Box::new(ClusterObjects {
            persistent_volumes,
            storage_classes: items(raws, KubeList::StorageClasses),
            deployments: items(raws, KubeList::Deployments),
            daemon_sets: items(raws, KubeList::DaemonSets),
            crds: items(raws, KubeList::CustomResourceDefinitions),
            snapshot_classes: match items(raws, KubeList::VolumeSnapshotClasses) {
                Err(e) if e.is_not_found() => Ok(None),
                other => other.map(Some),
            },
            extension_pods: items(raws, KubeList::ExtensionPods),
            disk_skus,
        }))
    }
}

/// The disk lists to read once the PV list is in: one per resource group holding PV disks.
pub fn disk_reads(kubernetes: &Kubernetes) -> Vec<ArmRead> {
    match kubernetes {
        Kubernetes::Read(objects) => disk_reads_of(&objects.persistent_volumes),
        _ => Vec::new(),
    }
}

/// One `Disks` read per distinct (case-insensitive) resource group of the PVs' disks.
fn disk_reads_of(volumes: &Observed<Vec<PersistentVolume>>) -> Vec<ArmRead> {
    let mut groups: Vec<ResourceId> = volumes
        .iter()
        .flatten()
        .filter_map(PersistentVolume::disk_id)
        .filter_map(|disk| {
            ResourceId::resource_group_id(disk.subscription(), disk.resource_group()?).ok()
        })
        .collect();
    groups.sort_by_key(|g| g.as_str().to_ascii_lowercase());
    groups.dedup();
    groups.into_iter().map(ArmRead::Disks).collect()
}

/// A managed disk as the disk list gives it, in the fields the SKU lookup needs.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Disk {
    id: String,
    sku: Option<DiskSku>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DiskSku {
    name: Option<String>,
}

fn items<T: serde::de::DeserializeOwned>(raws: &RawReads, list: KubeList) -> Observed<Vec<T>> {
    observe::<Items<T>>(raws, &ArmRead::Kubernetes(list)).map(|l| l.items)
}

/// The Kubernetes lists to read once the cluster's API server is known to be the one the
/// kubeconfig points at (or the user chose the context).
pub fn kubernetes_reads(target: &Target, cluster: &Cluster) -> Vec<ArmRead> {
    if reaches_cluster(target, cluster) {
        KubeList::ALL.into_iter().map(ArmRead::Kubernetes).collect()
    } else {
        Vec::new()
    }
}

/// Whether the target's Kubernetes access is this cluster's API server.
pub fn reaches_cluster(target: &Target, cluster: &Cluster) -> bool {
    target
        .kubernetes
        .as_ref()
        .is_some_and(|access| access.chosen || serves_cluster(access, cluster))
}

/// Whether the context's server host is one of the cluster's API server names from ARM.
fn serves_cluster(access: &KubeAccess, cluster: &Cluster) -> bool {
    let Some(host) = url::Url::parse(&access.server)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    let p = &cluster.properties;
    [&p.fqdn, &p.private_fqdn, &p.azure_portal_fqdn]
        .into_iter()
        .flatten()
        .any(|name| name.eq_ignore_ascii_case(&host))
}

#[derive(Deserialize)]
struct Items<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub owner_references: Vec<OwnerReference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OwnerReference {
    pub kind: String,
    pub name: String,
}

/// Any object of which only the metadata matters (a CRD).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Object {
    pub metadata: Metadata,
}

/// A Deployment or DaemonSet: where it runs and which images its pods run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Workload {
    pub metadata: Metadata,
    spec: WorkloadSpec,
}

impl Workload {
    pub fn images(&self) -> impl Iterator<Item = &str> {
        let pod = &self.spec.template.spec;
        pod.init_containers
            .iter()
            .chain(&pod.containers)
            .filter_map(|c| c.image.as_deref())
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct WorkloadSpec {
    template: PodTemplate,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct PodTemplate {
    spec: PodSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodSpec {
    containers: Vec<Container>,
    init_containers: Vec<Container>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Container {
    image: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersistentVolume {
    pub metadata: Metadata,
    pub spec: PersistentVolumeSpec,
    pub status: PersistentVolumeStatus,
}

/// The volume sources the checks tell apart: CSI (by driver), in-tree Azure Disk and Files.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PersistentVolumeSpec {
    pub csi: Option<CsiSource>,
    pub azure_disk: Option<serde::de::IgnoredAny>,
    pub azure_file: Option<serde::de::IgnoredAny>,
    pub claim_ref: Option<ClaimRef>,
    pub storage_class_name: Option<String>,
}

/// The driver of CSI Azure Disk volumes.
pub const DISK_CSI_DRIVER: &str = "disk.csi.azure.com";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CsiSource {
    pub driver: Option<String>,
    /// For the Azure Disk driver, the disk's ARM ID.
    pub volume_handle: Option<String>,
}

impl PersistentVolume {
    /// The ARM ID of a CSI Azure Disk volume's disk, when its handle is one.
    pub fn disk_id(&self) -> Option<ResourceId> {
        let csi = self.spec.csi.as_ref()?;
        if csi.driver.as_deref() != Some(DISK_CSI_DRIVER) {
            return None;
        }
        ResourceId::parse_typed(csi.volume_handle.as_deref()?, "Microsoft.Compute/disks").ok()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClaimRef {
    pub namespace: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersistentVolumeStatus {
    pub phase: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct StorageClass {
    pub metadata: Metadata,
    pub provisioner: Option<String>,
    pub parameters: BTreeMap<String, String>,
}

impl StorageClass {
    /// The Azure disk SKU the class provisions (`skuName`, any casing, as the driver reads it).
    pub fn sku_name(&self) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("skuName"))
            .map(|(_, sku)| sku.as_str())
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SnapshotClass {
    pub metadata: Metadata,
    pub driver: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub metadata: Metadata,
    pub status: PodStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Option<String>,
    pub conditions: Vec<PodCondition>,
    pub container_statuses: Vec<ContainerStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodCondition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContainerStatus {
    pub name: String,
    pub state: ContainerState,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    pub waiting: Option<Waiting>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Waiting {
    pub reason: Option<String>,
}

impl Pod {
    /// Running, with its Ready condition True.
    pub fn is_ready(&self) -> bool {
        self.status.phase.as_deref() == Some("Running")
            && self
                .status
                .conditions
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True")
    }

    /// `container: reason` for each container waiting with a reason (CrashLoopBackOff…).
    pub fn waiting_reasons(&self) -> Vec<String> {
        self.status
            .container_statuses
            .iter()
            .filter_map(|c| {
                let reason = c.state.waiting.as_ref()?.reason.as_deref()?;
                Some(format!("{}: {reason}", c.name))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::TargetRecord;

    fn target(server: &str, chosen: bool) -> Target {
        Target::from_record(&TargetRecord {
            cluster: "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1".into(),
            kubernetes: Some(KubeAccess {
                server: server.into(),
                context: "ctx".into(),
                chosen,
            }),
            ..Default::default()
        })
        .unwrap()
    }

    fn cluster() -> Cluster {
        serde_json::from_value(serde_json::json!({"properties": {
            "fqdn": "aks1-dns-1.hcp.eastus.azmk8s.io",
            "privateFQDN": "aks1-dns-1.privatelink.eastus.azmk8s.io",
            "azurePortalFQDN": "aks1-dns-1.portal.hcp.eastus.azmk8s.io"
        }}))
        .unwrap()
    }

    #[test]
    fn the_default_context_is_read_only_when_it_is_this_clusters() {
        for host in [
            "aks1-dns-1.hcp.eastus.azmk8s.io",
            "AKS1-DNS-1.privatelink.eastus.azmk8s.io",
            "aks1-dns-1.portal.hcp.eastus.azmk8s.io",
        ] {
            let t = target(&format!("https://{host}:443"), false);
            assert_eq!(
                kubernetes_reads(&t, &cluster()).len(),
                KubeList::ALL.len(),
                "{host}"
            );
        }
        let other = target("https://aks2-dns-9.hcp.westus.azmk8s.io:443", false);
        assert!(kubernetes_reads(&other, &cluster()).is_empty());
        assert!(matches!(
            Kubernetes::derive(&RawReads::default(), &other, &cluster()),
            Kubernetes::OtherCluster(_)
        ));
        // A context the user chose is used as it is.
        let chosen = target("https://aks2-dns-9.hcp.westus.azmk8s.io:443", true);
        assert_eq!(
            kubernetes_reads(&chosen, &cluster()).len(),
            KubeList::ALL.len()
        );
    }
}
