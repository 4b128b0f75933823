//! PXB storage checks: the backup location account PXB will use, and the account key
//! given to PXB. The key itself never reaches this module: the collector compared it
//! with the listed keys and kept only which one matched.

use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, PXB};
use crate::facts::{Facts, Require};
use crate::rbac::caller_can;
use crate::reads::{API_AUTHORIZATION, API_STORAGE};
use serde_json::Value;

pub const PXB_STORAGE_ACCOUNT: Check = Check {
    id: "pxb-storage-account",
    title: "PXB backup storage account is usable",
    profiles: PXB,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "--storage-account exists, is of kind StorageV2 or BlobStorage, has provisioningState Succeeded, and allows shared key access (properties.allowSharedKeyAccess absent, null or true).",
        how: None,
        why: "PXB stores backups in this account and authenticates with the account key, which Azure refuses when shared key access is disabled.",
        reads: &[
            Read::Arm {
                call: "GET {storageAccount}",
                api_version: API_STORAGE,
                note: "kind, properties.provisioningState, properties.allowSharedKeyAccess",
            },
        ],
        fix: "`az storage account update --allow-shared-key-access true`, or use a StorageV2 account.",
    },
    run: pxb_storage_account,
};

fn pxb_storage_account(facts: &Facts) -> Judgement {
    let Some((id, account)) = &facts.pxb_storage_account else {
        return Ok(Outcome::missing_input(
            &["--storage-account"],
            "no PXB storage account given: pass --storage-account",
        ));
    };
    let account = match account {
        Ok(a) => a,
        Err(e) if e.is_not_found() => {
            return Ok(
                Outcome::fail(format!("storage account {id} does not exist")).evidence(
                    Evidence::new(id.as_str(), "(resource)", "not found", "exists"),
                ),
            )
        }
        Err(e) => return Err(e.clone()),
    };
    let kind = account.kind.as_deref().unwrap_or("(absent)");
    let state = account
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("(absent)");
    let shared_key = account.properties.allow_shared_key_access;
    let evidence = [
        Evidence::new(id.as_str(), "kind", kind, "StorageV2 or BlobStorage"),
        Evidence::new(
            id.as_str(),
            "properties.provisioningState",
            state,
            "Succeeded",
        ),
        Evidence::new(
            id.as_str(),
            "properties.allowSharedKeyAccess",
            shared_key.map_or(Value::Null, Value::from),
            "absent or true",
        ),
    ];
    let mut problems = Vec::new();
    if !["StorageV2", "BlobStorage"]
        .iter()
        .any(|k| kind.eq_ignore_ascii_case(k))
    {
        problems.push(format!("kind is {kind}, not StorageV2 or BlobStorage"));
    }
    if !state.eq_ignore_ascii_case("Succeeded") {
        problems.push(format!("provisioningState is {state}"));
    }
    let mut fix = None;
    if shared_key == Some(false) {
        problems
            .push("shared key access is disabled, so PXB cannot use the account key".to_string());
        fix = Some(format!(
            "az storage account update -g {} -n {} --allow-shared-key-access true",
            id.resource_group().unwrap_or_default(),
            id.name()
        ));
    }
    let outcome = if problems.is_empty() {
        Outcome::pass(format!(
            "{} is {kind}, Succeeded, with shared key access",
            id.name()
        ))
    } else {
        let outcome = Outcome::fail(problems.join("; "));
        match fix {
            Some(fix) => outcome.fix(fix),
            None => outcome,
        }
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

pub const PXB_STORAGE_ACCOUNT_KEY: Check = Check {
    id: "pxb-storage-account-key",
    title: "Storage account key given to PXB is valid",
    profiles: PXB,
    uses: Uses::Nothing,
    explain: Explain {
        verifies: "with a key (environment PXB_STORAGE_ACCOUNT_KEY or --storage-account-key-file; never a flag value): it equals one of the account's keys, compared in constant time; no key value reaches any output, log or bundle. Without a key: passes when the caller's permissions at the account (permissions API) include Microsoft.Storage/storageAccounts/listKeys/action, so it can fetch a key for PXB; warns otherwise. Independent of allowSharedKeyAccess (that is pxb-storage-account's verdict).",
        how: None,
        why: "PXB authenticates to the storage account with this key.",
        reads: &[
            Read::Arm {
                call: "POST {storageAccount}/listKeys",
                api_version: API_STORAGE,
                note: "only when a key is given; only which key matched is kept",
            },
            Read::Arm {
                call: "GET {storageAccount}/providers/Microsoft.Authorization/permissions",
                api_version: API_AUTHORIZATION,
                note: "without a key (no listKeys call is made then)",
            },
        ],
        fix: "copy a current key with `az storage account keys list` (key1 or key2) into the PXB cloud account.",
    },
    run: pxb_storage_account_key,
};

const LIST_KEYS: &str = "Microsoft.Storage/storageAccounts/listKeys/action";

fn pxb_storage_account_key(facts: &Facts) -> Judgement {
    let Some((id, _)) = &facts.pxb_storage_account else {
        return Ok(Outcome::missing_input(
            &["--storage-account"],
            "no PXB storage account given: pass --storage-account",
        ));
    };
    let keys_command = format!(
        "az storage account keys list -g {} -n {} --query \"[0].value\" -o tsv",
        id.resource_group().unwrap_or_default(),
        id.name()
    );
    let key_matches = facts
        .storage_key_matches
        .as_ref()
        .map(Require::require)
        .transpose()?;
    Ok(match key_matches {
        Some(keys) => match keys.iter().find(|k| k.matches) {
            Some(key) => {
                let name = key.key_name.as_deref().unwrap_or("a key");
                Outcome::pass(format!("the given key equals {name} of {}", id.name())).evidence(
                    Evidence::new(
                        id.as_str(),
                        "listKeys",
                        format!("matches {name}"),
                        "matches a key",
                    ),
                )
            }
            None => Outcome::fail(format!(
                "the given key equals none of the {} keys of {} (rotated, or from another account)",
                keys.len(),
                id.name()
            ))
            .evidence(Evidence::new(
                id.as_str(),
                "listKeys",
                "no match",
                "matches a key",
            ))
            .fix(format!(
                "{keys_command}   # then update the key in the PXB cloud account"
            )),
        },
        None => {
            let blocks = facts.access.caller_permissions(id)?;
            let can_list = caller_can(blocks, LIST_KEYS);
            let evidence = Evidence::new(id.as_str(), LIST_KEYS, can_list, true);
            if can_list {
                Outcome::pass(
                    "no key given to verify; the caller can list the account's keys for PXB",
                )
                .evidence(evidence)
            } else {
                Outcome::warn(format!(
                    "no key given to verify, and the caller cannot list the keys of {} ({LIST_KEYS})",
                    id.name()
                ))
                .evidence(evidence)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::Scenario;
    use super::super::Status;
    use super::*;
    use crate::ids::ResourceId;
    use crate::reads::ArmRead;
    use serde_json::json;

    const ACCOUNT: &str = "/subscriptions/sub1/resourceGroups/rg-st/providers/Microsoft.Storage/storageAccounts/pxbacct";

    fn with_account(body: Value) -> Scenario {
        let mut s = Scenario::new();
        s.target.storage_account = Some(ACCOUNT.into());
        s.set(
            &ArmRead::StorageAccount(ResourceId::parse(ACCOUNT).unwrap()),
            body,
        );
        s
    }

    #[test]
    fn account_kind_state_and_shared_key() {
        let ok = json!({"kind": "StorageV2", "properties": {"provisioningState": "Succeeded"}});
        assert_eq!(
            Outcome::of(pxb_storage_account(&with_account(ok).facts())).status,
            Status::Pass,
            "absent allowSharedKeyAccess means true"
        );
        let blob = json!({"kind": "BlobStorage", "properties": {"provisioningState": "Succeeded", "allowSharedKeyAccess": null}});
        assert_eq!(
            Outcome::of(pxb_storage_account(&with_account(blob).facts())).status,
            Status::Pass
        );
        let no_keys = json!({"kind": "StorageV2", "properties": {"provisioningState": "Succeeded", "allowSharedKeyAccess": false}});
        let o = Outcome::of(pxb_storage_account(&with_account(no_keys).facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(o
            .remediation
            .unwrap()
            .ends_with("-n pxbacct --allow-shared-key-access true"));
        let files =
            json!({"kind": "FileStorage", "properties": {"provisioningState": "Succeeded"}});
        assert_eq!(
            Outcome::of(pxb_storage_account(&with_account(files).facts())).status,
            Status::Fail
        );
        assert_eq!(
            Outcome::of(pxb_storage_account(&Scenario::new().facts())).status,
            Status::Skip
        );
    }

    #[test]
    fn key_verdicts() {
        let account = ResourceId::parse(ACCOUNT).unwrap();
        let mut s = with_account(json!({"kind": "StorageV2"}));
        s.target.storage_account_key_provided = true;
        s.set(&ArmRead::ListKeys(account.clone()), json!({"keyMatches": [{"keyName": "key1", "matches": false}, {"keyName": "key2", "matches": true}]}));
        let o = Outcome::of(pxb_storage_account_key(&s.facts()));
        assert_eq!((o.status, o.message.contains("key2")), (Status::Pass, true));
        s.set(
            &ArmRead::ListKeys(account.clone()),
            json!({"keyMatches": [{"keyName": "key1", "matches": false}]}),
        );
        assert_eq!(
            Outcome::of(pxb_storage_account_key(&s.facts())).status,
            Status::Fail
        );
        s.fail(
            &ArmRead::ListKeys(account.clone()),
            403,
            "AuthorizationFailed",
        );
        let o = Outcome::of(pxb_storage_account_key(&s.facts()));
        assert_eq!(o.status, Status::Error);
        assert!(o.message.contains(LIST_KEYS));
        // No key: the permissions API decides, and listKeys is not consulted.
        s.target.storage_account_key_provided = false;
        s.set(
            &ArmRead::Permissions(account.clone()),
            json!({"value": [{"actions": ["*/read"], "notActions": []}]}),
        );
        assert_eq!(
            Outcome::of(pxb_storage_account_key(&s.facts())).status,
            Status::Warn
        );
        s.set(&ArmRead::Permissions(account), json!({"value": [{"actions": ["Microsoft.Storage/storageAccounts/*"], "notActions": []}]}));
        assert_eq!(
            Outcome::of(pxb_storage_account_key(&s.facts())).status,
            Status::Pass
        );
    }
}
