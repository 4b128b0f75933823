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
    BACKUP_CONTAINER_EMPTY,
    "backup-container-empty",
    AZURE_BACKUP,
    "Backup blob container holds only backup data",
    Explain {
        verifies: not_yet!("the extension's blob container holds nothing but backup data (data-plane listing)."),
        how: None,
        why: "the extension's container is meant for its backups alone; other data in it points at a container shared by mistake.",
        reads: &[Read::Other("a data-plane listing of the blob container with an Entra token, at the account's primaryEndpoints.blob")],
        fix: "give the extension a blob container of its own.",
    }
);
