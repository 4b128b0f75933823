//! Catalog checks whose implementation has not landed yet: the Kubernetes-side and blob
//! data-plane checks that checks.md schedules for a later issue (they need `--kubeconfig`
//! or a data-plane token).
//!
//! They are registered so that every report lists the whole profile (checks.md §3); each
//! reports `skip` with "not yet implemented" until its issue replaces the entry here with
//! a real module.

use super::{Check, Judgement, Outcome, Uses, AZURE_BACKUP};
use crate::facts::Facts;

fn not_yet_implemented(_: &Facts) -> Judgement {
    Ok(Outcome::skip("not yet implemented"))
}

macro_rules! pending {
    ($name:ident, $id:literal, $profiles:expr, $title:literal, $explain:literal) => {
        pub const $name: Check = Check {
            id: $id,
            title: $title,
            profiles: $profiles,
            uses: Uses::Nothing,
            explain: concat!(
                $explain,
                "\nStatus: not yet implemented; this check reports skip."
            ),
            run: not_yet_implemented,
        };
    };
}

pending!(
    VELERO_ABSENT,
    "velero-absent",
    AZURE_BACKUP,
    "No other Velero installation in the cluster",
    "With --kubeconfig: no Velero installation outside dataprotection-microsoft."
);
pending!(
    VOLUME_TYPES,
    "volume-types",
    AZURE_BACKUP,
    "Persistent volumes are CSI Azure Disk volumes",
    "With --kubeconfig: every PV to protect is a CSI Azure Disk volume."
);
pending!(
    BACKUP_CONTAINER_EMPTY,
    "backup-container-empty",
    AZURE_BACKUP,
    "Backup blob container holds only backup data",
    "The extension's blob container holds nothing but backup data (data-plane listing)."
);
