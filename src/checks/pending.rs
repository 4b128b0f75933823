//! Catalog checks whose implementation has not landed yet: the Kubernetes-side and blob
//! data-plane checks that checks.md schedules for a later issue (they need `--kubeconfig`
//! or a data-plane token).
//!
//! They are registered so that every report lists the whole profile (checks.md §3); each
//! reports `skip` with "not yet implemented" until its issue replaces the entry here with
//! a real module.

use super::{Check, Explain, Judgement, Outcome, Read, Uses, AZURE_BACKUP};
use crate::facts::Facts;

fn not_yet_implemented(_: &Facts) -> Judgement {
    Ok(Outcome::skip("not yet implemented"))
}

macro_rules! pending {
    ($name:ident, $id:literal, $profiles:expr, $title:literal, $explain:expr) => {
        pub const $name: Check = Check {
            id: $id,
            title: $title,
            profiles: $profiles,
            uses: Uses::Nothing,
            explain: $explain,
            run: not_yet_implemented,
        };
    };
}

/// Said in each entry's Verifies section.
macro_rules! not_yet {
    ($verifies:literal) => {
        concat!(
            $verifies,
            " Status: not yet implemented; this check reports skip."
        )
    };
}

pending!(
    VELERO_ABSENT,
    "velero-absent",
    AZURE_BACKUP,
    "No other Velero installation in the cluster",
    Explain {
        verifies: not_yet!("with --kubeconfig: no Velero installation outside dataprotection-microsoft (deployment, CRDs)."),
        how: None,
        why: "the prerequisites page says to remove another Velero installation before installing the backup extension.",
        reads: &[Read::Other("the cluster's Kubernetes API through --kubeconfig: Velero deployments and CRDs")],
        fix: "remove the other Velero installation, then install the backup extension.",
    }
);
pending!(
    VOLUME_TYPES,
    "volume-types",
    AZURE_BACKUP,
    "Persistent volumes are CSI Azure Disk volumes",
    Explain {
        verifies: not_yet!("with --kubeconfig: every PV to protect is a CSI Azure Disk volume (disk.csi.azure.com), not in-tree, Azure Files, blob, Premium SSD v2 or Ultra; warns, listing the PVs that will be skipped."),
        how: None,
        why: "Azure Backup for AKS backs up only CSI Azure Disk volumes; the others are skipped.",
        reads: &[Read::Other("the cluster's persistent volumes through --kubeconfig")],
        fix: "move the data to protect to volumes of a CSI Azure Disk storage class.",
    }
);
