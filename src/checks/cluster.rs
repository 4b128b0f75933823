//! Cluster checks shared by both products: state, version, identity, CSI driver, snapshots.
//!
//! Each reads only the managed cluster's own properties; none needs another resource.

use super::{cluster_args, Check, Evidence, Explain, Judgement, Outcome, Read, Uses, BOTH};
use crate::facts::{Facts, Toggle};
use crate::reads::API_CONTAINER_SERVICE;
use serde_json::Value;

const CLUSTER_STATE_DOC: Explain = Explain {
    verifies: "the cluster's properties.provisioningState is Succeeded and properties.powerState.code is Running.",
    how: None,
    why: "a stopped cluster, or one whose last operation failed, can be neither backed up nor restored to.",
    reads: &[
        Read::Arm {
            call: "GET {cluster}",
            api_version: API_CONTAINER_SERVICE,
            note: "properties.provisioningState, properties.powerState.code",
        },
    ],
    fix: "start a stopped cluster with `az aks start`; reconcile a failed one with `az aks update` (no changes) and read the cluster's activity log.",
};

pub const CLUSTER_STATE: Check = Check {
    id: "cluster-state",
    title: "Cluster is provisioned and running",
    profiles: BOTH,
    uses: Uses::Nothing,
    explain: CLUSTER_STATE_DOC,
    run: cluster_state,
};

fn cluster_state(facts: &Facts) -> Judgement {
    let id = facts.target.cluster.as_str();
    let props = &facts.cluster.properties;
    let provisioning = props.provisioning_state.as_deref().unwrap_or("(absent)");
    let power = props
        .power_state
        .as_ref()
        .and_then(|p| p.code.as_deref())
        .unwrap_or("(absent)");
    let evidence = [
        Evidence::new(
            id,
            "properties.provisioningState",
            provisioning,
            "Succeeded",
        ),
        Evidence::new(id, "properties.powerState.code", power, "Running"),
    ];
    let provisioned = provisioning.eq_ignore_ascii_case("Succeeded");
    let running = power.eq_ignore_ascii_case("Running");
    let outcome = match (provisioned, running) {
        (true, true) => Outcome::pass("provisioning Succeeded, power state Running"),
        (_, false) if power.eq_ignore_ascii_case("Stopped") => {
            Outcome::fail(format!("the cluster is stopped (provisioningState {provisioning})"))
                .fix(format!("az aks start {}", cluster_args(facts)))
        }
        _ => Outcome::fail(format!("provisioningState is {provisioning} and powerState is {power}")).fix(format!(
            "az aks update {}   # reconciles the cluster; if it fails, read: az monitor activity-log list --resource-id {id}",
            cluster_args(facts)
        )),
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

const KUBERNETES_VERSION_DOC: Explain = Explain {
    verifies: "properties.currentKubernetesVersion is at least 1.21.1 (compared numerically: 1.9.6 < 1.21.1).",
    how: None,
    why: "CSI volume snapshots, which both products use to back up persistent volumes, need Kubernetes 1.21.1 or later.",
    reads: &[
        Read::Arm {
            call: "GET {cluster}",
            api_version: API_CONTAINER_SERVICE,
            note: "properties.currentKubernetesVersion; properties.kubernetesVersion when the former is absent",
        },
    ],
    fix: "list the versions you can move to with `az aks get-upgrades`, then `az aks upgrade --kubernetes-version`.",
};

pub const KUBERNETES_VERSION: Check = Check {
    id: "kubernetes-version",
    title: "Kubernetes version supports CSI snapshots (>= 1.21.1)",
    profiles: BOTH,
    uses: Uses::Nothing,
    explain: KUBERNETES_VERSION_DOC,
    run: kubernetes_version,
};

const MINIMUM_VERSION: [u64; 3] = [1, 21, 1];

/// `1.21.1`, `v1.28`, `1.30.4-hotfix.2024` → numeric triple (missing parts are 0).
pub fn parse_version(text: &str) -> Option<[u64; 3]> {
    let core = text.trim().trim_start_matches(['v', 'V']);
    let core = core.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let mut out = [0u64; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        match parts.next() {
            Some(p) => *slot = p.parse().ok()?,
            None if i >= 1 => break,
            None => return None,
        }
    }
    parts.next().is_none().then_some(out)
}

fn kubernetes_version(facts: &Facts) -> Judgement {
    let id = facts.target.cluster.as_str();
    let props = &facts.cluster.properties;
    let (property, version) = match (&props.current_kubernetes_version, &props.kubernetes_version) {
        (Some(v), _) => ("properties.currentKubernetesVersion", v.as_str()),
        (None, Some(v)) => ("properties.kubernetesVersion", v.as_str()),
        (None, None) => return Ok(Outcome::warn("the cluster reports no Kubernetes version")),
    };
    let evidence = Evidence::new(id, property, version, ">= 1.21.1");
    Ok(match parse_version(version) {
        None => Outcome::warn(format!("cannot compare Kubernetes version '{version}'")).evidence(evidence),
        Some(v) if v >= MINIMUM_VERSION => Outcome::pass(format!("Kubernetes {version}")).evidence(evidence),
        Some(_) => Outcome::fail(format!("Kubernetes {version} is older than 1.21.1, which CSI snapshots need"))
            .evidence(evidence)
            .fix(format!(
                "az aks get-upgrades {args} -o table && az aks upgrade {args} --kubernetes-version <a version listed above>",
                args = cluster_args(facts)
            )),
    })
}

const CLUSTER_IDENTITY_DOC: Explain = Explain {
    verifies: "the cluster uses a managed identity: identity.type SystemAssigned or UserAssigned, or servicePrincipalProfile.clientId \"msi\".",
    how: None,
    why: "Azure Backup for AKS does not support clusters that use a service principal, and the role checks evaluate the cluster's managed identity.",
    reads: &[
        Read::Arm {
            call: "GET {cluster}",
            api_version: API_CONTAINER_SERVICE,
            note: "identity, properties.servicePrincipalProfile.clientId",
        },
    ],
    fix: "`az aks update --enable-managed-identity` moves the control plane to a system-assigned identity (nodes pick it up on their next upgrade).",
};

pub const CLUSTER_IDENTITY: Check = Check {
    id: "cluster-identity",
    title: "Cluster uses a managed identity",
    profiles: BOTH,
    uses: Uses::Nothing,
    explain: CLUSTER_IDENTITY_DOC,
    run: cluster_identity,
};

fn cluster_identity(facts: &Facts) -> Judgement {
    let id = facts.target.cluster.as_str();
    let cluster = &facts.cluster;
    let kind = cluster.identity.as_ref().and_then(|i| i.kind.clone());
    let client_id = cluster.service_principal_client_id();
    let type_evidence = Evidence::new(
        id,
        "identity.type",
        kind.clone().map_or(Value::Null, Value::from),
        "SystemAssigned or UserAssigned",
    );
    if let Some(kind) = cluster.managed_identity_type() {
        return Ok(Outcome::pass(format!("managed identity ({kind})")).evidence(type_evidence));
    }
    if client_id.is_some_and(|c| c.eq_ignore_ascii_case("msi")) {
        return Ok(
            Outcome::pass("managed identity (servicePrincipalProfile.clientId is msi)").evidence(
                Evidence::new(
                    id,
                    "properties.servicePrincipalProfile.clientId",
                    "msi",
                    "msi",
                ),
            ),
        );
    }
    Ok(Outcome::fail(format!(
        "the cluster uses a service principal ({}), which Azure Backup does not support",
        client_id.map_or("no identity".to_string(), |c| format!("clientId {c}"))
    ))
    .evidence(type_evidence)
    .evidence(Evidence::new(
        id,
        "properties.servicePrincipalProfile.clientId",
        client_id.map_or(Value::Null, Value::from),
        "msi",
    ))
    .fix(format!(
        "az aks update {} --enable-managed-identity",
        cluster_args(facts)
    )))
}

const CSI_DISK_DRIVER_DOC: Explain = Explain {
    verifies: "properties.storageProfile.diskCSIDriver.enabled is true.",
    how: None,
    why: "both products back up persistent volumes through the Azure Disk CSI driver's snapshots; in-tree volumes are not supported.",
    reads: &[
        Read::Arm {
            call: "GET {cluster}",
            api_version: API_CONTAINER_SERVICE,
            note: "properties.storageProfile",
        },
    ],
    fix: "`az aks update --enable-disk-driver`.",
};

pub const CSI_DISK_DRIVER: Check = Check {
    id: "csi-disk-driver",
    title: "Azure Disk CSI driver is enabled",
    profiles: BOTH,
    uses: Uses::Nothing,
    explain: CSI_DISK_DRIVER_DOC,
    run: csi_disk_driver,
};

fn csi_disk_driver(facts: &Facts) -> Judgement {
    let toggle = facts
        .cluster
        .properties
        .storage_profile
        .as_ref()
        .and_then(|s| s.disk_csi_driver.as_ref());
    Ok(toggle_check(
        facts,
        toggle,
        "diskCSIDriver",
        "the Azure Disk CSI driver",
        "--enable-disk-driver",
    ))
}

const SNAPSHOT_CONTROLLER_DOC: Explain = Explain {
    verifies: "properties.storageProfile.snapshotController.enabled is true.",
    how: None,
    why: "volume backups are CSI VolumeSnapshots, which need the snapshot controller and its CRDs.",
    reads: &[Read::Arm {
        call: "GET {cluster}",
        api_version: API_CONTAINER_SERVICE,
        note: "properties.storageProfile",
    }],
    fix: "`az aks update --enable-snapshot-controller`.",
};

pub const SNAPSHOT_CONTROLLER: Check = Check {
    id: "snapshot-controller",
    title: "CSI snapshot controller is enabled",
    profiles: BOTH,
    uses: Uses::Nothing,
    explain: SNAPSHOT_CONTROLLER_DOC,
    run: snapshot_controller,
};

fn snapshot_controller(facts: &Facts) -> Judgement {
    let toggle = facts
        .cluster
        .properties
        .storage_profile
        .as_ref()
        .and_then(|s| s.snapshot_controller.as_ref());
    Ok(toggle_check(
        facts,
        toggle,
        "snapshotController",
        "the CSI snapshot controller",
        "--enable-snapshot-controller",
    ))
}

/// Shared verdict of the two `storageProfile.<feature>.enabled` checks.
fn toggle_check(
    facts: &Facts,
    toggle: Option<&Toggle>,
    field: &str,
    what: &str,
    flag: &str,
) -> Outcome {
    let property = format!("properties.storageProfile.{field}.enabled");
    let enabled = toggle.and_then(|t| t.enabled);
    let evidence = Evidence::new(
        facts.target.cluster.as_str(),
        &property,
        enabled.map_or(Value::Null, Value::from),
        true,
    );
    let fix = format!("az aks update {} {flag}", cluster_args(facts));
    match enabled {
        Some(true) => Outcome::pass(format!("{what} is enabled")).evidence(evidence),
        Some(false) => Outcome::fail(format!("{what} is disabled ({field}.enabled is false)"))
            .evidence(evidence)
            .fix(fix),
        None => Outcome::warn(format!(
            "{property} is not reported; cannot confirm {what} is enabled"
        ))
        .evidence(evidence)
        .fix(fix),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Scenario;
    use super::super::Status;
    use super::*;
    use serde_json::json;

    fn run(check: &Check, edit: impl FnOnce(&mut Value)) -> Outcome {
        let mut s = Scenario::new();
        s.edit_cluster(edit);
        check.judge(&s.facts())
    }

    #[test]
    fn healthy_cluster_passes_every_cluster_check() {
        for check in [
            CLUSTER_STATE,
            KUBERNETES_VERSION,
            CLUSTER_IDENTITY,
            CSI_DISK_DRIVER,
            SNAPSHOT_CONTROLLER,
        ] {
            assert_eq!(run(&check, |_| {}).status, Status::Pass, "{}", check.id);
        }
    }

    #[test]
    fn stopped_and_failed_clusters_fail_with_the_right_fix() {
        let stopped = run(&CLUSTER_STATE, |c| {
            c["properties"]["powerState"]["code"] = json!("Stopped")
        });
        assert_eq!(stopped.status, Status::Fail);
        assert_eq!(
            stopped.remediation.as_deref(),
            Some("az aks start -g rg1 -n aks1")
        );
        let failed = run(&CLUSTER_STATE, |c| {
            c["properties"]["provisioningState"] = json!("Failed")
        });
        assert_eq!(failed.status, Status::Fail);
        assert!(failed
            .remediation
            .unwrap()
            .starts_with("az aks update -g rg1 -n aks1"));
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("1.9.6").unwrap() < MINIMUM_VERSION);
        assert!(parse_version("1.21.1").unwrap() >= MINIMUM_VERSION);
        assert!(parse_version("1.21").unwrap() < MINIMUM_VERSION);
        assert!(parse_version("v1.100.0-hotfix").unwrap() > MINIMUM_VERSION);
        assert_eq!(parse_version("one.two"), None);
        let old = run(&KUBERNETES_VERSION, |c| {
            c["properties"]["currentKubernetesVersion"] = json!("1.9.6")
        });
        assert_eq!(old.status, Status::Fail);
        assert!(old
            .remediation
            .unwrap()
            .contains("az aks upgrade -g rg1 -n aks1"));
    }

    #[test]
    fn service_principal_cluster_fails() {
        let sp = run(&CLUSTER_IDENTITY, |c| {
            c.as_object_mut().unwrap().remove("identity");
            c["properties"]["servicePrincipalProfile"]["clientId"] =
                json!("9f1c1b0e-0000-0000-0000-000000000000");
        });
        assert_eq!(sp.status, Status::Fail);
        assert_eq!(
            sp.remediation.as_deref(),
            Some("az aks update -g rg1 -n aks1 --enable-managed-identity")
        );
        let user_assigned = run(&CLUSTER_IDENTITY, |c| {
            c["identity"] = json!({"type": "UserAssigned"})
        });
        assert_eq!(user_assigned.status, Status::Pass);
        let none = run(&CLUSTER_IDENTITY, |c| {
            c["identity"] = json!({"type": "None"});
            c["properties"]["servicePrincipalProfile"]["clientId"] = json!("app-id");
        });
        assert_eq!(none.status, Status::Fail);
    }

    #[test]
    fn disabled_storage_features_fail_and_absent_ones_warn() {
        let csi = run(&CSI_DISK_DRIVER, |c| {
            c["properties"]["storageProfile"]["diskCSIDriver"]["enabled"] = json!(false)
        });
        assert_eq!(
            (csi.status, csi.remediation.as_deref()),
            (
                Status::Fail,
                Some("az aks update -g rg1 -n aks1 --enable-disk-driver")
            )
        );
        let snap = run(&SNAPSHOT_CONTROLLER, |c| {
            c["properties"]["storageProfile"]["snapshotController"]["enabled"] = json!(false)
        });
        assert_eq!(snap.status, Status::Fail);
        let absent = run(&SNAPSHOT_CONTROLLER, |c| {
            c["properties"]
                .as_object_mut()
                .unwrap()
                .remove("storageProfile")
                .map(|_| ())
                .unwrap()
        });
        assert_eq!(absent.status, Status::Warn);
    }
}
