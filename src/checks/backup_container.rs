//! `backup-container-empty`: the backup extension's blob container holds nothing but what
//! the extension writes there (checks.md §3). A pure judgement over the container listing
//! (the `blob` read, names only) and what says whether a backup can have written it: the
//! extension being installed and a backup instance of this cluster existing. No I/O.

use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, AZURE_BACKUP};
use crate::facts::{Blob, Facts, Require};
use crate::reads::FailureKind;

pub const BACKUP_CONTAINER_EMPTY: Check = Check {
    id: "backup-container-empty",
    title: "Backup blob container holds only backup data",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "the backup extension's blob container holds no files unrelated to backup. Before any backup can have written to it (no backup extension installed, or no backup instance of this cluster in the vault) every blob is unrelated: warns, naming a few and the count. Once backups may exist, warns only on blobs outside the layout the extension writes. Passes when the container is empty; error when the listing is refused (403).",
        how: Some("the extension is Velero-based and writes Velero's object store layout: the top-level folders backups/, restores/, kopia/, restic/, metadata/ and plugins/, either at the container's root or under one prefix folder. A blob whose first or second path segment is one of those is taken as the extension's own (conservative: anything the extension may write passes). When the vault's backup instances were not read, backups are assumed possible. At most 3 pages of 50 names are listed; a longer listing is reported as \"at least\" that many."),
        why: "the prerequisites page says the blob container \"should not contain any files unrelated to backup\"; a shared container mixes backup data with other data.",
        reads: &[
            Read::Other("GET {primaryEndpoints.blob}{container}?restype=container&comp=list&maxresults=50 (blob data plane, x-ms-version 2023-11-03, an Entra token for https://storage.azure.com; names, sizes and times only, never content): needs Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"),
            Read::Other("the storage account's primaryEndpoints.blob, the extension's settings and the vault's backup instances (read for other checks)"),
        ],
        fix: "give the backup extension a blob container of its own, or move the unrelated blobs out of it.",
    },
    run: backup_container_empty,
};

/// Velero's object store layout (`ObjectStoreLayout` subdirectories).
const LAYOUT_FOLDERS: &[&str] = &[
    "backups", "restores", "kopia", "restic", "metadata", "plugins",
];
/// Blob names shown in a message; the count says how many there are in all.
const NAMED: usize = 5;

/// Whether the extension may have written `name`: a layout folder first or under one prefix.
fn in_extension_layout(name: &str) -> bool {
    let segments: Vec<&str> = name.split('/').collect();
    let folders = &segments[..segments.len() - 1];
    folders
        .iter()
        .take(2)
        .any(|s| LAYOUT_FOLDERS.iter().any(|f| s.eq_ignore_ascii_case(f)))
}

fn backup_container_empty(facts: &Facts) -> Judgement {
    let Some(location) = &facts.backup_location else {
        return Ok(Outcome::missing_input(
            &["--storage-account", "--blob-container"],
            "no backup container known: no backup extension settings and no --storage-account/--blob-container",
        ));
    };
    let Some(container) = &location.plan.container else {
        return Ok(Outcome::missing_input(
            &["--blob-container"],
            "no backup container known: pass --blob-container",
        ));
    };
    location.account.require()?;
    let Some(listing) = &location.blobs else {
        return Ok(Outcome::new_error(
            "the storage account's read gives no primaryEndpoints.blob to list the container at",
        ));
    };
    let listing = match listing {
        Err(e) if e.kind == FailureKind::NotCollected => {
            return Ok(Outcome::skip(
                "the container listing is not in the collected data (a bundle from before the blob read)",
            ))
        }
        other => other.require()?,
    };
    let resource = format!(
        "{}/blobServices/default/containers/{container}",
        location.plan.account
    );
    let count = |n: usize| {
        if listing.is_complete() {
            n.to_string()
        } else {
            format!("at least {n}")
        }
    };
    if listing.blobs.is_empty() {
        return Ok(
            Outcome::pass(format!("blob container {container} is empty"))
                .evidence(Evidence::new(&resource, "blobs", 0, 0)),
        );
    }
    // What is unknown (a failed read) is taken as "backups may exist": only a fact warns.
    let extension = facts
        .extensions
        .as_ref()
        .ok()
        .map(|list| list.iter().any(|e| e.is_backup_extension()));
    let protected = facts.discovery.cluster_protected;
    let no_backup_yet = if extension == Some(false) {
        Some("no backup extension is installed")
    } else if protected == Some(false) {
        Some("no backup instance of this cluster exists in the vault")
    } else {
        None
    };
    let (unrelated, why): (Vec<&Blob>, String) = match no_backup_yet {
        Some(reason) => (
            listing.blobs.iter().collect(),
            format!("{reason}, so no backup can have written them"),
        ),
        None => (
            listing
                .blobs
                .iter()
                .filter(|b| !in_extension_layout(&b.name))
                .collect(),
            "they are outside the layout the backup extension writes (backups/, restores/, kopia/, restic/, metadata/, plugins/)".to_string(),
        ),
    };
    if unrelated.is_empty() {
        return Ok(Outcome::pass(format!(
            "blob container {container} holds {} blobs, all in the backup extension's layout",
            count(listing.blobs.len())
        ))
        .evidence(Evidence::note(
            &resource,
            "blobs",
            count(listing.blobs.len()),
        )));
    }
    let names: Vec<&str> = unrelated
        .iter()
        .take(NAMED)
        .map(|b| b.name.as_str())
        .collect();
    let more = if unrelated.len() > NAMED { ", …" } else { "" };
    Ok(Outcome::warn(format!(
        "blob container {container} holds {} blobs unrelated to backup ({}{more}): {why}",
        count(unrelated.len()),
        names.join(", ")
    ))
    .evidence(Evidence::new(
        &resource,
        "unrelated blobs",
        count(unrelated.len()),
        0,
    ))
    .fix(format!(
        "give the backup extension a blob container of its own, or move the unrelated blobs out of {container}"
    )))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Scenario, CLUSTER, VAULT};
    use super::super::Status;
    use super::*;
    use crate::ids::ResourceId;
    use crate::reads::ArmRead;
    use serde_json::{json, Value};

    const ACCOUNT: &str = "/subscriptions/sub1/resourceGroups/rg-st/providers/Microsoft.Storage/storageAccounts/backupsacct";
    const ENDPOINT: &str = "https://backupsacct.blob.core.windows.net/";

    fn extensions(installed: bool) -> Value {
        let backup = json!({"name": "azure-aks-backup", "properties": {
        "extensionType": "Microsoft.DataProtection.Kubernetes", "provisioningState": "Succeeded",
        "configurationSettings": {
            "configuration.backupStorageLocation.bucket": "aksbackups",
            "configuration.backupStorageLocation.config.storageAccount": "backupsacct",
            "configuration.backupStorageLocation.config.resourceGroup": "rg-st",
            "configuration.backupStorageLocation.config.subscriptionId": "sub1"
        }}});
        json!({"value": if installed { vec![backup] } else { vec![] }})
    }

    fn listing_read() -> ArmRead {
        ArmRead::BlobList {
            endpoint: ENDPOINT.into(),
            container: "aksbackups".into(),
        }
    }

    fn listing(names: &[&str], more: bool) -> Value {
        let blobs: Vec<Value> = names
            .iter()
            .map(
                |n| json!({"name": n, "size": 10, "lastModified": "Mon, 02 Nov 2026 10:00:00 GMT"}),
            )
            .collect();
        json!({"blobs": blobs, "nextMarker": if more { json!("2!72!X") } else { Value::Null }})
    }

    /// The extension installed (or, without it, the location given by flags), the account
    /// with its blob endpoint, and the vault's backup instances (`protected`: of this cluster).
    fn scenario(installed: bool, protected: Option<bool>) -> Scenario {
        let mut s = Scenario::new();
        s.target.vault = Some(VAULT.into());
        s.target.snapshot_resource_group =
            Some("/subscriptions/sub1/resourceGroups/rg-snap".into());
        if !installed {
            s.target.storage_account = Some(ACCOUNT.into());
            s.target.blob_container = Some("aksbackups".into());
        }
        let cluster = s.target_ids().cluster;
        s.set(&ArmRead::Extensions(cluster), extensions(installed));
        let account = ResourceId::parse(ACCOUNT).unwrap();
        s.set(
            &ArmRead::StorageAccount(account),
            json!({"id": ACCOUNT, "properties": {"primaryEndpoints": {"blob": ENDPOINT}}}),
        );
        if let Some(protected) = protected {
            let source = if protected {
                CLUSTER
            } else {
                "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/other"
            };
            s.set(
                &ArmRead::BackupInstances(ResourceId::parse(VAULT).unwrap()),
                json!({"value": [{"name": "bi1", "properties": {"dataSourceInfo": {"resourceID": source}}}]}),
            );
        }
        s
    }

    fn judge(s: &Scenario) -> Outcome {
        Outcome::of(backup_container_empty(&s.facts()))
    }

    #[test]
    fn an_empty_container_passes() {
        let mut s = scenario(true, Some(false));
        s.set(&listing_read(), listing(&[], false));
        let o = judge(&s);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }

    #[test]
    fn blobs_before_any_backup_warn_naming_a_few_and_the_count() {
        for (installed, protected, reason) in [
            (false, None, "no backup extension is installed"),
            (true, Some(false), "no backup instance of this cluster"),
        ] {
            let mut s = scenario(installed, protected);
            let names = [
                "backups/b1/x.json",
                "a.txt",
                "b.txt",
                "c.txt",
                "d.txt",
                "e.txt",
            ];
            s.set(&listing_read(), listing(&names, true));
            let o = judge(&s);
            assert_eq!(o.status, Status::Warn, "{}", o.message);
            assert!(o.message.contains("at least 6 blobs"), "{}", o.message);
            assert!(
                o.message
                    .contains("backups/b1/x.json, a.txt, b.txt, c.txt, d.txt, …"),
                "{}",
                o.message
            );
            assert!(!o.message.contains("e.txt"), "{}", o.message);
            assert!(o.message.contains(reason), "{}", o.message);
        }
    }

    #[test]
    fn after_a_backup_only_blobs_outside_the_layout_warn() {
        let layout = [
            "backups/b1/velero-backup.json",
            "kopia/ns1/kopia.repository",
            "prefix/restores/r1/log.gz",
            "metadata/revision",
        ];
        for protected in [Some(true), None] {
            let mut s = scenario(true, protected);
            s.set(&listing_read(), listing(&layout, false));
            let o = judge(&s);
            assert_eq!(o.status, Status::Pass, "{}", o.message);
            let mut mixed = layout.to_vec();
            mixed.extend(["backups", "notes/todo.txt"]);
            s.set(&listing_read(), listing(&mixed, false));
            let o = judge(&s);
            assert_eq!(o.status, Status::Warn, "{}", o.message);
            assert!(
                o.message
                    .contains("2 blobs unrelated to backup (backups, notes/todo.txt)"),
                "{}",
                o.message
            );
        }
    }

    #[test]
    fn an_unreadable_extension_list_is_no_proof_that_no_backup_exists() {
        let mut s = scenario(false, None);
        s.fail(
            &ArmRead::Extensions(s.target_ids().cluster),
            403,
            "AuthorizationFailed",
        );
        s.set(
            &listing_read(),
            listing(&["backups/b1/velero-backup.json"], false),
        );
        let o = judge(&s);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }

    #[test]
    fn a_refused_listing_is_an_error_naming_the_data_action() {
        let mut s = scenario(true, Some(true));
        s.fail(&listing_read(), 403, "AuthorizationPermissionMismatch");
        let o = judge(&s);
        assert_eq!(o.status, Status::Error);
        assert!(
            o.message
                .contains("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"),
            "{}",
            o.message
        );
        assert!(
            o.message.contains("AuthorizationPermissionMismatch"),
            "{}",
            o.message
        );
    }

    #[test]
    fn skips_without_a_container_or_a_listing() {
        let o = judge(&Scenario::new());
        assert_eq!(o.status, Status::Skip);
        assert_eq!(o.missing_flags(), ["--storage-account", "--blob-container"]);
        let s = scenario(true, Some(true));
        let o = judge(&s);
        assert_eq!(o.status, Status::Skip, "{}", o.message);
        assert!(
            o.message.contains("not in the collected data"),
            "{}",
            o.message
        );
    }

    #[test]
    fn the_listing_is_planned_once_the_account_gives_its_endpoint() {
        let s = scenario(true, Some(true));
        let reads = crate::plan::next_reads(&s.target_ids(), &crate::plan::Purpose::Check, &s.raws);
        assert!(reads.contains(&listing_read()), "{reads:?}");
        let mut s = Scenario::new();
        s.set(
            &ArmRead::Extensions(s.target_ids().cluster),
            extensions(true),
        );
        let reads = crate::plan::next_reads(&s.target_ids(), &crate::plan::Purpose::Check, &s.raws);
        assert!(
            !reads.iter().any(|r| matches!(r, ArmRead::BlobList { .. })),
            "{reads:?}"
        );
    }
}
