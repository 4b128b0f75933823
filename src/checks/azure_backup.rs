//! Azure Backup for AKS resource checks: provider, extension, storage location, storage
//! firewall, trusted access and the vault's identity (shared/checks.md §4).
//!
//! Each judges facts only. Inputs the user did not give make a check `skip` naming the flag.

use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, AZURE_BACKUP, VAULT_FLAG};
use crate::facts::{
    same_region, same_resource, BackupLocation, Facts, LocationSource, Require, StorageAccount,
    Unobserved, Vault, VaultIdentity, BACKUP_EXTENSION_TYPE, BACKUP_NAMESPACE,
    BACKUP_OPERATOR_ROLE, KUBERNETES_CONFIGURATION,
};
use crate::ids::ResourceId;
use crate::reads::{
    API_CONTAINER_SERVICE, API_DATA_PROTECTION, API_KUBERNETES_CONFIGURATION, API_RESOURCES,
    API_STORAGE,
};
use serde_json::Value;

const PROVIDER_REGISTERED_DOC: Explain = Explain {
    verifies: "the Microsoft.KubernetesConfiguration resource provider is Registered on the cluster's subscription.",
    how: None,
    why: "the backup extension is a KubernetesConfiguration extension; it cannot be installed until the provider is registered.",
    reads: &[
        Read::Arm {
            call: "GET /subscriptions/{sub}/providers/Microsoft.KubernetesConfiguration",
            api_version: API_RESOURCES,
            note: "registrationState",
        },
    ],
    fix: "`az provider register --namespace Microsoft.KubernetesConfiguration` (takes a few minutes; needs */register/action on the subscription).",
};

pub const PROVIDER_REGISTERED: Check = Check {
    id: "provider-registered",
    title: "Microsoft.KubernetesConfiguration provider is registered",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: PROVIDER_REGISTERED_DOC,
    run: provider_registered,
};

fn provider_registered(facts: &Facts) -> Judgement {
    let provider = facts.provider.require()?;
    let resource = format!(
        "/subscriptions/{}/providers/{KUBERNETES_CONFIGURATION}",
        facts.target.cluster.subscription()
    );
    let state = provider.registration_state.as_deref().unwrap_or("(absent)");
    let evidence = Evidence::new(&resource, "registrationState", state, "Registered");
    if state.eq_ignore_ascii_case("Registered") {
        return Ok(
            Outcome::pass("Microsoft.KubernetesConfiguration is Registered").evidence(evidence),
        );
    }
    Ok(Outcome::fail(format!(
        "Microsoft.KubernetesConfiguration is {state} on subscription {}",
        facts.target.cluster.subscription()
    ))
    .evidence(evidence)
    .fix(format!(
        "az provider register --namespace {KUBERNETES_CONFIGURATION} --subscription {}",
        facts.target.cluster.subscription()
    )))
}

const BACKUP_EXTENSION_DOC: Explain = Explain {
    verifies: "an extension of type microsoft.dataprotection.kubernetes (compared case-insensitively) is installed on the cluster, with provisioningState Succeeded, in release namespace dataprotection-microsoft.",
    how: None,
    why: "the Backup vault does every backup and restore through this extension; it must be installed on the source cluster and on any restore target.",
    reads: &[
        Read::Arm {
            call: "GET {cluster}/providers/Microsoft.KubernetesConfiguration/extensions",
            api_version: API_KUBERNETES_CONFIGURATION,
            note: "all pages",
        },
    ],
    fix: "`az k8s-extension create --extension-type microsoft.dataprotection.kubernetes ...` with the storage account and blob container for backups; a failed extension shows its status messages in this check's message.",
};

pub const BACKUP_EXTENSION: Check = Check {
    id: "backup-extension",
    title: "Backup extension is installed and healthy",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: BACKUP_EXTENSION_DOC,
    run: backup_extension,
};

fn backup_extension(facts: &Facts) -> Judgement {
    let extension = match facts.backup_extension() {
        Ok(e) => e,
        Err(e) if e.is_unregistered_provider() => {
            return Ok(Outcome::fail(format!(
                "no extension can be installed: {KUBERNETES_CONFIGURATION} is not registered (see provider-registered)"
            )));
        }
        Err(e) => return Err(e),
    };
    let Some(extension) = extension else {
        return Ok(Outcome::fail(format!(
            "no extension of type {BACKUP_EXTENSION_TYPE} is installed on the cluster"
        ))
        .evidence(Evidence::new(
            facts.target.cluster.as_str(),
            "extensions[].properties.extensionType",
            Value::Null,
            BACKUP_EXTENSION_TYPE,
        ))
        .fix(install_extension_command(facts)));
    };
    let id = extension
        .id
        .as_deref()
        .unwrap_or(facts.target.cluster.as_str());
    let state = extension
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("(absent)");
    let namespace = extension.release_namespace();
    let mut problems = Vec::new();
    if !state.eq_ignore_ascii_case("Succeeded") {
        let statuses: Vec<String> = extension
            .properties
            .statuses
            .iter()
            .flatten()
            .filter_map(|s| {
                s.message.as_deref().map(|m| {
                    format!(
                        "{}: {m}",
                        s.level.as_deref().or(s.code.as_deref()).unwrap_or("status")
                    )
                })
            })
            .collect();
        let detail = if statuses.is_empty() {
            String::new()
        } else {
            format!(" ({})", statuses.join("; "))
        };
        problems.push(format!("provisioningState is {state}{detail}"));
    }
    if !namespace.is_some_and(|n| n.eq_ignore_ascii_case(BACKUP_NAMESPACE)) {
        problems.push(format!(
            "release namespace is {}, expected {BACKUP_NAMESPACE}",
            namespace.unwrap_or("(absent)")
        ));
    }
    let outcome = if problems.is_empty() {
        Outcome::pass(format!(
            "extension {} is Succeeded in {BACKUP_NAMESPACE}",
            extension.name.as_deref().unwrap_or("?")
        ))
    } else {
        let name = extension.name.as_deref().unwrap_or("azure-aks-backup");
        let cluster = &facts.target.cluster;
        Outcome::fail(problems.join("; ")).fix(format!(
            "az k8s-extension show --name {name} --cluster-type managedClusters --cluster-name {} --resource-group {}   # then delete and re-create it: az k8s-extension delete --name {name} --cluster-type managedClusters --cluster-name {} --resource-group {}",
            cluster.name(), cluster.resource_group().unwrap_or_default(), cluster.name(), cluster.resource_group().unwrap_or_default()
        ))
    };
    Ok(outcome
        .evidence(Evidence::new(
            id,
            "properties.provisioningState",
            state,
            "Succeeded",
        ))
        .evidence(Evidence::new(
            id,
            "properties.scope.cluster.releaseNamespace",
            namespace.map_or(Value::Null, Value::from),
            BACKUP_NAMESPACE,
        )))
}

fn install_extension_command(facts: &Facts) -> String {
    let cluster = &facts.target.cluster;
    let (account, group, subscription) = match &facts.target.storage_account {
        Some(a) => (
            a.name().to_string(),
            a.resource_group().unwrap_or_default().to_string(),
            a.subscription().to_string(),
        ),
        None => (
            "<storage-account>".into(),
            "<storage-account-resource-group>".into(),
            cluster.subscription().to_string(),
        ),
    };
    let container = facts
        .target
        .blob_container
        .as_deref()
        .unwrap_or("<blob-container>");
    format!(
        "az k8s-extension create --name azure-aks-backup --extension-type {BACKUP_EXTENSION_TYPE} --scope cluster \
--cluster-type managedClusters --cluster-name {} --resource-group {} --release-train stable \
--configuration-settings blobContainer={container} storageAccount={account} storageAccountResourceGroup={group} storageAccountSubscriptionId={subscription}",
        cluster.name(),
        cluster.resource_group().unwrap_or_default()
    )
}

const BACKUP_STORAGE_LOCATION_DOC: Explain = Explain {
    verifies: "the backup storage location: the storage account and blob container exist; the account is in the cluster's region and subscription; the account kind is StorageV2.",
    how: Some("the location is the one in the installed extension's configuration settings (configuration.backupStorageLocation.*); without an extension, --storage-account and --blob-container as the planned location. When both exist and differ, the extension wins and the evidence says so."),
    why: "the extension writes cluster-state backups to this container, and the Azure CLI refuses an account outside the cluster's region.",
    reads: &[
        Read::Arm {
            call: "GET {storageAccount}",
            api_version: API_STORAGE,
            note: "kind, location",
        },
        Read::Arm {
            call: "GET {storageAccount}/blobServices/default/containers/{container}",
            api_version: API_STORAGE,
            note: "",
        },
        Read::Arm {
            call: "GET {cluster}/providers/Microsoft.KubernetesConfiguration/extensions",
            api_version: API_KUBERNETES_CONFIGURATION,
            note: "the installed extension's configuration settings",
        },
    ],
    fix: "create a StorageV2 account and a container in the cluster's region and subscription, and point the extension at them.",
};

pub const BACKUP_STORAGE_LOCATION: Check = Check {
    id: "backup-storage-location",
    title: "Backup storage account and container are usable",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: BACKUP_STORAGE_LOCATION_DOC,
    run: backup_storage_location,
};

/// The location every storage check needs, or the outcome to report instead.
enum Location<'a> {
    Usable(&'a BackupLocation, &'a StorageAccount),
    Instead(Outcome),
}

fn location(facts: &Facts) -> Result<Location<'_>, Unobserved> {
    let Some(location) = &facts.backup_location else {
        facts.extensions.require()?;
        return Ok(Location::Instead(Outcome::missing_input(
            &["--storage-account"],
            "no backup extension settings and no --storage-account: pass --storage-account (and --blob-container) to check the planned location",
        )));
    };
    match &location.account {
        Ok(account) => Ok(Location::Usable(location, account)),
        Err(e) if e.is_not_found() => Ok(Location::Instead(
            Outcome::fail(format!(
                "storage account {} does not exist ({})",
                location.plan.account,
                source_name(location.plan.source)
            ))
            .evidence(Evidence::new(
                location.plan.account.as_str(),
                "(resource)",
                "not found",
                "exists",
            )),
        )),
        Err(e) => Err(e.clone()),
    }
}

fn source_name(source: LocationSource) -> &'static str {
    match source {
        LocationSource::Extension => "configured in the backup extension",
        LocationSource::Flags => "from --storage-account",
    }
}

fn backup_storage_location(facts: &Facts) -> Judgement {
    let (location, account) = match location(facts)? {
        Location::Usable(location, account) => (location, account),
        Location::Instead(outcome) => return Ok(outcome),
    };
    let account_id = location.plan.account.as_str();
    let cluster = &facts.target.cluster;
    let mut evidence = vec![Evidence::note(
        account_id,
        "(source)",
        source_name(location.plan.source),
    )];
    if let Some(note) = &location.plan.differs_from_flags {
        evidence.push(Evidence::note(account_id, "(flags)", note.as_str()));
    }
    let mut problems = Vec::new();

    let account_region = account.location.as_deref().unwrap_or("(absent)");
    let cluster_region = facts.cluster_location().unwrap_or("(absent)");
    evidence.push(Evidence::new(
        account_id,
        "location",
        account_region,
        cluster_region,
    ));
    if !same_region(account_region, cluster_region) {
        problems.push(format!(
            "the account is in {account_region}, the cluster in {cluster_region}"
        ));
    }
    let account_subscription = location.plan.account.subscription();
    evidence.push(Evidence::new(
        account_id,
        "subscriptionId",
        account_subscription,
        cluster.subscription(),
    ));
    if !account_subscription.eq_ignore_ascii_case(cluster.subscription()) {
        problems.push(format!(
            "the account is in subscription {account_subscription}, the cluster in {}",
            cluster.subscription()
        ));
    }
    let kind = account.kind.as_deref().unwrap_or("(absent)");
    evidence.push(Evidence::new(account_id, "kind", kind, "StorageV2"));
    if !kind.eq_ignore_ascii_case("StorageV2") {
        problems.push(format!("the account kind is {kind}, not StorageV2"));
    }
    match (&location.plan.container, &location.container) {
        (Some(name), Some(Ok(_))) => evidence.push(Evidence::new(
            account_id,
            "blobServices/default/containers",
            name.as_str(),
            "exists",
        )),
        (Some(name), Some(Err(e))) if e.is_not_found() => {
            evidence.push(Evidence::new(
                account_id,
                "blobServices/default/containers",
                Value::Null,
                name.as_str(),
            ));
            problems.push(format!("blob container {name} does not exist"));
        }
        (_, Some(Err(e))) => return Err(e.clone()),
        _ => {}
    }

    let outcome = if !problems.is_empty() {
        Outcome::fail(problems.join("; ")).fix(format!(
            "az storage account create -g {} -n <new-account> -l {cluster_region} --kind StorageV2 --subscription {} && az storage container create --account-name <new-account> -n {} --auth-mode login",
            cluster.resource_group().unwrap_or_default(),
            cluster.subscription(),
            location.plan.container.as_deref().unwrap_or("<container>")
        ))
    } else if location.plan.container.is_none() {
        Outcome::warn(format!(
            "account {} is usable, but no container is known: pass --blob-container to check it",
            location.plan.account.name()
        ))
    } else {
        Outcome::pass(format!(
            "{}/{} is StorageV2 in {cluster_region}",
            location.plan.account.name(),
            location.plan.container.as_deref().unwrap_or_default()
        ))
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

const STORAGE_NETWORK_ACCESS_DOC: Explain = Explain {
    verifies: "the Backup vault can reach the backup storage account through its firewall: networkAcls.defaultAction is Allow, or networkAcls.bypass contains AzureServices, or a resourceAccessRules entry names the vault.",
    how: None,
    why: "the prerequisites page requires the vault to be a trusted service of an account that is behind a firewall or virtual network.",
    reads: &[
        Read::Arm {
            call: "GET {storageAccount}",
            api_version: API_STORAGE,
            note: "properties.networkAcls, properties.publicNetworkAccess",
        },
    ],
    fix: "add the vault as a resource instance rule (`az storage account network-rule add --resource-id <vault>`) or allow trusted Azure services (`--bypass AzureServices`).",
};

pub const STORAGE_NETWORK_ACCESS: Check = Check {
    id: "storage-network-access",
    title: "Backup vault can reach the storage account through its firewall",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: STORAGE_NETWORK_ACCESS_DOC,
    run: storage_network_access,
};

fn storage_network_access(facts: &Facts) -> Judgement {
    let (location, account) = match location(facts)? {
        Location::Usable(location, account) => (location, account),
        Location::Instead(outcome) if outcome.status == super::Status::Fail => {
            return Ok(Outcome::skip(
                "the storage account does not exist (see backup-storage-location)",
            ))
        }
        Location::Instead(outcome) => return Ok(outcome),
    };
    let account_id = location.plan.account.as_str();
    let acls = account.properties.network_acls.clone().unwrap_or_default();
    let default_action = acls.default_action.as_deref().unwrap_or("Allow");
    let bypass = acls.bypass.as_deref().unwrap_or("");
    let trusted_services = bypass
        .split(',')
        .any(|b| b.trim().eq_ignore_ascii_case("AzureServices"));
    let evidence = [
        Evidence::new(
            account_id,
            "properties.networkAcls.defaultAction",
            default_action,
            "Allow",
        ),
        Evidence::new(
            account_id,
            "properties.networkAcls.bypass",
            bypass,
            "contains AzureServices",
        ),
    ];
    let with_evidence = |o: Outcome| evidence.iter().cloned().fold(o, Outcome::evidence);
    let public = account.properties.public_network_access.as_deref();
    if public.is_some_and(|p| p.eq_ignore_ascii_case("Disabled")) {
        return Ok(with_evidence(Outcome::warn(
            "publicNetworkAccess is Disabled: only private endpoints reach the account; make sure the vault's path to it is approved",
        ))
        .evidence(Evidence::new(account_id, "properties.publicNetworkAccess", "Disabled", "Enabled")));
    }
    if default_action.eq_ignore_ascii_case("Allow") {
        return Ok(with_evidence(Outcome::pass(
            "the account's firewall allows all networks",
        )));
    }
    if trusted_services {
        return Ok(with_evidence(Outcome::pass(
            "the firewall lets trusted Azure services (AzureServices) through",
        )));
    }
    let Some(vault) = &facts.target.vault else {
        return Ok(with_evidence(Outcome::fail(
            "the firewall denies by default and does not let trusted Azure services through; pass --vault to check for a resource instance rule",
        ))
        .fix(bypass_command(&location.plan.account, bypass)));
    };
    if let Some(rule) = acls
        .resource_access_rules
        .iter()
        .find(|r| same_resource(r.resource_id.as_deref(), vault))
    {
        return Ok(with_evidence(Outcome::pass(
            "a resource instance rule names the Backup vault",
        ))
        .evidence(Evidence::new(
            account_id,
            "properties.networkAcls.resourceAccessRules[].resourceId",
            rule.resource_id.clone().unwrap_or_default(),
            vault.as_str(),
        )));
    }
    Ok(with_evidence(Outcome::fail(
        "the firewall denies by default, does not let trusted Azure services through, and has no resource instance rule for the vault",
    ))
    .fix(format!(
        "az storage account network-rule add -g {} --account-name {} --resource-id {vault} --tenant-id <tenant-id>",
        location.plan.account.resource_group().unwrap_or_default(),
        location.plan.account.name()
    )))
}

fn bypass_command(account: &ResourceId, current: &str) -> String {
    let mut values: Vec<&str> = current
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("None"))
        .collect();
    values.push("AzureServices");
    format!(
        "az storage account update -g {} -n {} --bypass {}",
        account.resource_group().unwrap_or_default(),
        account.name(),
        values.join(" ")
    )
}

const TRUSTED_ACCESS_DOC: Explain = Explain {
    verifies: "a trusted access role binding on the cluster has sourceResourceId equal to the Backup vault (case-insensitive), the role Microsoft.DataProtection/backupVaults/backup-operator, and provisioningState Succeeded. Needs --vault, or the vault discovered from the one binding with that role.",
    how: None,
    why: "the Backup vault reaches the cluster's API server only through AKS Trusted Access, with this role.",
    reads: &[
        Read::Arm {
            call: "GET {cluster}/trustedAccessRoleBindings",
            api_version: API_CONTAINER_SERVICE,
            note: "all pages",
        },
    ],
    fix: "`az aks trustedaccess rolebinding create --source-resource-id <vault> --roles Microsoft.DataProtection/backupVaults/backup-operator`.",
};

pub const TRUSTED_ACCESS: Check = Check {
    id: "trusted-access",
    title: "Trusted access binds the Backup vault to the cluster",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: TRUSTED_ACCESS_DOC,
    run: trusted_access,
};

fn trusted_access(facts: &Facts) -> Judgement {
    let Some(vault) = &facts.target.vault else {
        return Ok(Outcome::missing_input(
            VAULT_FLAG,
            "no Backup vault given: pass --vault to check trusted access",
        ));
    };
    let bindings = facts.trusted_access.require()?;
    let cluster = &facts.target.cluster;
    let for_vault: Vec<_> = bindings
        .iter()
        .filter(|b| same_resource(b.properties.source_resource_id.as_deref(), vault))
        .collect();
    let fix = format!(
        "az aks trustedaccess rolebinding create -g {} --cluster-name {} -n backup-{} --source-resource-id {vault} --roles {BACKUP_OPERATOR_ROLE}",
        cluster.resource_group().unwrap_or_default(),
        cluster.name(),
        vault.name()
    );
    let with_role = for_vault.iter().find(|b| {
        b.properties
            .roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(BACKUP_OPERATOR_ROLE))
    });
    let Some(binding) = with_role else {
        let message = if for_vault.is_empty() {
            format!(
                "no trusted access role binding has the vault {} as its source",
                vault.name()
            )
        } else {
            format!("the vault's binding lacks the role {BACKUP_OPERATOR_ROLE}")
        };
        return Ok(Outcome::fail(message)
            .evidence(Evidence::new(
                cluster.as_str(),
                "trustedAccessRoleBindings[].properties.sourceResourceId",
                Value::Null,
                vault.as_str(),
            ))
            .fix(fix));
    };
    let binding_id = binding.id.as_deref().unwrap_or(cluster.as_str());
    let state = binding
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("(absent)");
    let evidence = Evidence::new(
        binding_id,
        "properties.provisioningState",
        state,
        "Succeeded",
    );
    Ok(if state.eq_ignore_ascii_case("Succeeded") {
        Outcome::pass(format!(
            "binding {} grants {BACKUP_OPERATOR_ROLE} to the vault",
            binding.name.as_deref().unwrap_or("?")
        ))
        .evidence(evidence)
    } else {
        Outcome::fail(format!(
            "the vault's trusted access binding is {state}, not Succeeded"
        ))
        .evidence(evidence)
        .fix(fix)
    })
}

const VAULT_IDENTITY_DOC: Explain = Explain {
    verifies: "the Backup vault exists, has a managed identity, and is in the cluster's region. The role checks evaluate the identity --vault-identity picks; else the system-assigned one (identity.principalId); else each user-assigned one (identity.userAssignedIdentities), passing when one of them holds every role. Needs --vault.",
    how: None,
    why: "every role the vault needs (Reader on the cluster, snapshot roles, blob reader) is granted to this identity, and AKS backups use a vault in the cluster's region.",
    reads: &[
        Read::Arm {
            call: "GET {vault}",
            api_version: API_DATA_PROTECTION,
            note: "identity.principalId, identity.userAssignedIdentities, location",
        },
    ],
    fix: "`az dataprotection backup-vault update --type SystemAssigned`; create a vault in the cluster's region if it is elsewhere.",
};

pub const VAULT_IDENTITY: Check = Check {
    id: "vault-identity",
    title: "Backup vault has a managed identity in the cluster's region",
    profiles: AZURE_BACKUP,
    uses: Uses::Nothing,
    explain: VAULT_IDENTITY_DOC,
    run: vault_identity,
};

fn vault_identity(facts: &Facts) -> Judgement {
    let (Some(vault_id), Some(vault)) = (&facts.target.vault, &facts.vault) else {
        return Ok(Outcome::missing_input(
            VAULT_FLAG,
            "no Backup vault given: pass --vault",
        ));
    };
    let vault: &Vault = match vault {
        Ok(v) => v,
        Err(e) if e.is_not_found() => {
            return Ok(Outcome::fail(format!("the Backup vault {vault_id} does not exist"))
                .evidence(Evidence::new(vault_id.as_str(), "(resource)", "not found", "exists"))
                .fix(format!(
                    "az dataprotection backup-vault create -g {} --vault-name {} -l {} --type SystemAssigned --storage-settings datastore-type=VaultStore type=LocallyRedundant",
                    vault_id.resource_group().unwrap_or_default(),
                    vault_id.name(),
                    facts.cluster_location().unwrap_or("<cluster-region>")
                )));
        }
        Err(e) => return Err(e.clone()),
    };
    let mut problems = Vec::new();
    let (mut outcome_evidence, identity_fix, evaluated) =
        judge_vault_identities(facts, vault_id, vault, &mut problems);
    let vault_region = vault.location.as_deref().unwrap_or("(absent)");
    let cluster_region = facts.cluster_location().unwrap_or("(absent)");
    outcome_evidence.push(Evidence::new(
        vault_id.as_str(),
        "location",
        vault_region,
        cluster_region,
    ));
    if !same_region(vault_region, cluster_region) {
        problems.push(format!(
            "the vault is in {vault_region}, the cluster in {cluster_region}"
        ));
    }
    let outcome = if problems.is_empty() {
        Outcome::pass(format!(
            "identity {} in {vault_region}{evaluated}",
            identity_type(vault)
        ))
    } else if let Some(fix) = identity_fix {
        Outcome::fail(problems.join("; ")).fix(fix)
    } else {
        Outcome::fail(problems.join("; ")).fix(format!(
            "az dataprotection backup-vault create -g <resource-group> --vault-name <new-vault> -l {cluster_region} --type SystemAssigned --storage-settings datastore-type=VaultStore type=LocallyRedundant"
        ))
    };
    Ok(outcome_evidence
        .into_iter()
        .fold(outcome, Outcome::evidence))
}

fn identity_type(vault: &Vault) -> &str {
    vault
        .identity
        .as_ref()
        .and_then(|i| i.kind.as_deref())
        .unwrap_or("(none)")
}

/// Which identities the role checks evaluate, unless the vault has only a system-assigned one.
fn evaluated_text(evaluated: &[VaultIdentity], identities: usize) -> String {
    let named: Vec<String> = evaluated
        .iter()
        .map(|i| format!("{} (principal {})", i.short_name(), i.principal_id))
        .collect();
    match evaluated {
        [only] if only.resource_id.is_none() && identities == 1 => String::new(),
        [_] => format!("; the role checks evaluate {}", named[0]),
        _ => format!(
            "; the role checks evaluate each of its user-assigned identities, one of which must hold every role: {}",
            named.join(", ")
        ),
    }
}

/// The evidence of the identities the role checks will evaluate, adding to `problems`
/// when there is none; the fix, when the identity is what fails; and which identities
/// are evaluated, for the message.
fn judge_vault_identities(
    facts: &Facts,
    vault_id: &ResourceId,
    vault: &Vault,
    problems: &mut Vec<String>,
) -> (Vec<Evidence>, Option<String>, String) {
    let identities = vault.identities();
    let choice = facts.target.vault_identity.as_ref();
    let evaluated = vault.evaluated_identities(choice);
    if let (Some(choice), [_, ..], []) = (choice, identities.as_slice(), evaluated.as_slice()) {
        let chosen = choice.name();
        let has: Vec<&str> = identities.iter().map(VaultIdentity::name).collect();
        problems.push(format!(
            "--vault-identity names {chosen}, which the vault does not have; its identities: {}",
            has.join(", ")
        ));
        let evidence = Evidence::new(vault_id.as_str(), "identity", has.join(", "), chosen);
        let fix = format!(
            "# pass --vault-identity with one of the vault's identities ({}), or leave it out to evaluate the default",
            has.join(", ")
        );
        return (vec![evidence], Some(fix), String::new());
    }
    if evaluated.is_empty() {
        problems.push(format!(
            "the vault has no managed identity (identity.type {})",
            identity_type(vault)
        ));
        let evidence = Evidence::new(
            vault_id.as_str(),
            "identity.principalId",
            Value::Null,
            "a managed identity",
        );
        let fix = format!(
            "az dataprotection backup-vault update -g {} --vault-name {} --type SystemAssigned",
            vault_id.resource_group().unwrap_or_default(),
            vault_id.name()
        );
        return (vec![evidence], Some(fix), String::new());
    }
    let evidence = evaluated
        .iter()
        .map(|identity| {
            let property = match &identity.resource_id {
                None => "identity.principalId".to_string(),
                Some(id) => format!("identity.userAssignedIdentities['{id}'].principalId"),
            };
            Evidence::new(
                vault_id.as_str(),
                &property,
                identity.principal_id.as_str(),
                "a managed identity",
            )
        })
        .collect();
    (evidence, None, evaluated_text(&evaluated, identities.len()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Scenario, VAULT};
    use super::super::Status;
    use super::*;
    use crate::reads::ArmRead;
    use serde_json::json;

    const ACCOUNT: &str = "/subscriptions/sub1/resourceGroups/rg-st/providers/Microsoft.Storage/storageAccounts/backupsacct";

    fn backup_extension_body(state: &str, namespace: &str) -> Value {
        json!({"value": [
            {"name": "flux", "properties": {"extensionType": "microsoft.flux", "provisioningState": "Succeeded"}},
            {"id": "/subscriptions/sub1/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1/providers/Microsoft.KubernetesConfiguration/extensions/azure-aks-backup",
             "name": "azure-aks-backup",
             "properties": {
                "extensionType": "Microsoft.DataProtection.Kubernetes", "provisioningState": state,
                "scope": {"cluster": {"releaseNamespace": namespace}},
                "statuses": [{"code": "InstallationFailed", "level": "Error", "message": "helm install timed out"}],
                "configurationSettings": {
                    "configuration.backupStorageLocation.bucket": "aksbackups",
                    "configuration.backupStorageLocation.config.storageAccount": "backupsacct",
                    "configuration.backupStorageLocation.config.resourceGroup": "rg-st",
                    "configuration.backupStorageLocation.config.subscriptionId": "sub1"
                },
                "aksAssignedIdentity": {"principalId": "22222222-2222-2222-2222-222222222222", "tenantId": null, "type": null}
             }}
        ]})
    }

    fn account_body(edit: impl FnOnce(&mut Value)) -> Value {
        let mut body = json!({"id": ACCOUNT, "location": "EastUS", "kind": "StorageV2",
            "properties": {"provisioningState": "Succeeded", "networkAcls": {"bypass": "Logging, Metrics", "defaultAction": "Allow", "resourceAccessRules": []}}});
        edit(&mut body);
        body
    }

    /// A scenario with the backup extension installed and its account and container present.
    fn installed() -> Scenario {
        let mut s = Scenario::new();
        s.target.vault = Some(VAULT.into());
        let cluster = s.target_ids().cluster;
        s.set(
            &ArmRead::Extensions(cluster),
            backup_extension_body("Succeeded", "dataprotection-microsoft"),
        );
        let account = crate::ids::ResourceId::parse(ACCOUNT).unwrap();
        s.set(
            &ArmRead::StorageAccount(account.clone()),
            account_body(|_| {}),
        );
        s.set(
            &ArmRead::BlobContainer {
                account,
                container: "aksbackups".into(),
            },
            json!({"id": "x"}),
        );
        s
    }

    fn account_read() -> ArmRead {
        ArmRead::StorageAccount(crate::ids::ResourceId::parse(ACCOUNT).unwrap())
    }

    #[test]
    fn provider_states() {
        let mut s = Scenario::new();
        let read = ArmRead::Provider {
            subscription: "sub1".into(),
            namespace: KUBERNETES_CONFIGURATION.into(),
        };
        s.set(&read, json!({"namespace": "Microsoft.KubernetesConfiguration", "registrationState": "Registered"}));
        assert_eq!(
            Outcome::of(provider_registered(&s.facts())).status,
            Status::Pass
        );
        s.set(&read, json!({"registrationState": "NotRegistered"}));
        let o = Outcome::of(provider_registered(&s.facts()));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.remediation.as_deref(), Some("az provider register --namespace Microsoft.KubernetesConfiguration --subscription sub1"));
        s.fail(&read, 403, "AuthorizationFailed");
        assert_eq!(
            Outcome::of(provider_registered(&s.facts())).status,
            Status::Error
        );
    }

    #[test]
    fn extension_found_case_insensitively_and_judged() {
        let s = installed();
        assert_eq!(
            Outcome::of(backup_extension(&s.facts())).status,
            Status::Pass
        );
        let mut failed = installed();
        failed.set(
            &ArmRead::Extensions(failed.target_ids().cluster),
            backup_extension_body("Failed", "dataprotection-microsoft"),
        );
        let o = Outcome::of(backup_extension(&failed.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("helm install timed out"),
            "{}",
            o.message
        );
        let mut wrong_ns = installed();
        wrong_ns.set(
            &ArmRead::Extensions(wrong_ns.target_ids().cluster),
            backup_extension_body("Succeeded", "velero"),
        );
        assert!(Outcome::of(backup_extension(&wrong_ns.facts()))
            .message
            .contains("release namespace is velero"));
    }

    #[test]
    fn missing_extension_fails_with_install_command() {
        let mut s = Scenario::new();
        s.target.storage_account = Some(ACCOUNT.into());
        s.target.blob_container = Some("aksbackups".into());
        s.set(
            &ArmRead::Extensions(s.target_ids().cluster),
            json!({"value": [], "nextLink": null}),
        );
        let o = Outcome::of(backup_extension(&s.facts()));
        assert_eq!(o.status, Status::Fail);
        let fix = o.remediation.unwrap();
        assert!(
            fix.contains("--cluster-name aks1 --resource-group rg1"),
            "{fix}"
        );
        assert!(fix.contains("blobContainer=aksbackups storageAccount=backupsacct storageAccountResourceGroup=rg-st"), "{fix}");
    }

    #[test]
    fn unregistered_provider_fails_the_extension_check() {
        let mut s = Scenario::new();
        s.fail(
            &ArmRead::Extensions(s.target_ids().cluster),
            409,
            "MissingSubscriptionRegistration",
        );
        let o = Outcome::of(backup_extension(&s.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.contains("provider-registered"));
    }

    #[test]
    fn storage_location_judges_region_kind_and_container() {
        assert_eq!(
            Outcome::of(backup_storage_location(&installed().facts())).status,
            Status::Pass
        );
        let mut elsewhere = installed();
        elsewhere.set(
            &account_read(),
            account_body(|b| {
                b["location"] = json!("westeurope");
                b["kind"] = json!("BlobStorage");
            }),
        );
        let o = Outcome::of(backup_storage_location(&elsewhere.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("westeurope") && o.message.contains("not StorageV2"),
            "{}",
            o.message
        );
        let mut no_container = installed();
        let account = crate::ids::ResourceId::parse(ACCOUNT).unwrap();
        no_container.fail(
            &ArmRead::BlobContainer {
                account,
                container: "aksbackups".into(),
            },
            404,
            "ContainerNotFound",
        );
        assert!(Outcome::of(backup_storage_location(&no_container.facts()))
            .message
            .contains("container aksbackups does not exist"));
        let mut no_account = installed();
        no_account.fail(&account_read(), 404, "ResourceNotFound");
        assert_eq!(
            Outcome::of(backup_storage_location(&no_account.facts())).status,
            Status::Fail
        );
        assert_eq!(
            Outcome::of(storage_network_access(&no_account.facts())).status,
            Status::Skip
        );
        let mut forbidden = installed();
        forbidden.fail(&account_read(), 403, "AuthorizationFailed");
        assert_eq!(
            Outcome::of(backup_storage_location(&forbidden.facts())).status,
            Status::Error
        );
    }

    #[test]
    fn storage_location_skips_without_inputs_and_reports_flag_conflicts() {
        let mut s = Scenario::new();
        s.set(
            &ArmRead::Extensions(s.target_ids().cluster),
            json!({"value": []}),
        );
        let o = Outcome::of(backup_storage_location(&s.facts()));
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("--storage-account"));
        let mut conflict = installed();
        conflict.target.storage_account = Some("/subscriptions/sub1/resourceGroups/x/providers/Microsoft.Storage/storageAccounts/other".into());
        let o = Outcome::of(backup_storage_location(&conflict.facts()));
        assert!(
            o.evidence.iter().any(|e| e.property == "(flags)"),
            "{:?}",
            o.evidence
        );
    }

    #[test]
    fn network_access_rules() {
        let deny = |bypass: &str, rules: Value| {
            let mut s = installed();
            s.set(&account_read(), account_body(|b| b["properties"]["networkAcls"] = json!({"defaultAction": "Deny", "bypass": bypass, "resourceAccessRules": rules})));
            Outcome::of(storage_network_access(&s.facts()))
        };
        assert_eq!(
            Outcome::of(storage_network_access(&installed().facts())).status,
            Status::Pass
        );
        assert_eq!(
            deny("Logging, AzureServices", json!([])).status,
            Status::Pass
        );
        let vault_upper = VAULT.to_uppercase();
        assert_eq!(
            deny(
                "None",
                json!([{"tenantId": "t", "resourceId": vault_upper}])
            )
            .status,
            Status::Pass
        );
        let blocked = deny("Logging, Metrics", json!([]));
        assert_eq!(blocked.status, Status::Fail);
        assert!(blocked
            .remediation
            .unwrap()
            .contains(&format!("--resource-id {VAULT}")));
    }

    #[test]
    fn trusted_access_needs_the_vault_role_and_success() {
        let binding = |source: &str, role: &str, state: &str| json!({"value": [{"id": "b1", "name": "b1", "properties": {"sourceResourceId": source, "roles": [role], "provisioningState": state}}]});
        let mut s = installed();
        let read = ArmRead::TrustedAccessBindings(s.target_ids().cluster);
        s.set(
            &read,
            binding(
                &VAULT.replace("backupVaults", "BackupVaults"),
                "Microsoft.DataProtection/backupVaults/backup-operator",
                "Succeeded",
            ),
        );
        assert_eq!(Outcome::of(trusted_access(&s.facts())).status, Status::Pass);
        s.set(
            &read,
            binding(
                VAULT,
                "Microsoft.MachineLearningServices/workspaces/mlworkspace",
                "Succeeded",
            ),
        );
        assert_eq!(Outcome::of(trusted_access(&s.facts())).status, Status::Fail);
        s.set(
            &read,
            binding(
                VAULT,
                "Microsoft.DataProtection/backupVaults/backup-operator",
                "Updating",
            ),
        );
        assert!(Outcome::of(trusted_access(&s.facts()))
            .message
            .contains("Updating"));
        s.set(&read, json!({"value": []}));
        let o = Outcome::of(trusted_access(&s.facts()));
        assert!(o
            .remediation
            .unwrap()
            .starts_with("az aks trustedaccess rolebinding create -g rg1 --cluster-name aks1"));
        s.target.vault = None;
        assert_eq!(Outcome::of(trusted_access(&s.facts())).status, Status::Skip);
    }

    #[test]
    fn vault_identity_cases() {
        let vault_read = ArmRead::Vault(crate::ids::ResourceId::parse(VAULT).unwrap());
        let mut s = installed();
        s.set(&vault_read, json!({"id": VAULT, "location": "eastus", "identity": {"type": "SystemAssigned", "principalId": "p1"}}));
        assert_eq!(Outcome::of(vault_identity(&s.facts())).status, Status::Pass);
        s.set(
            &vault_read,
            json!({"id": VAULT, "location": "eastus", "identity": {"type": "None"}}),
        );
        assert!(Outcome::of(vault_identity(&s.facts()))
            .remediation
            .unwrap()
            .contains("--type SystemAssigned"));
        s.set(&vault_read, json!({"id": VAULT, "location": "westus", "identity": {"type": "SystemAssigned", "principalId": "p1"}}));
        assert!(Outcome::of(vault_identity(&s.facts()))
            .message
            .contains("westus"));
        s.fail(&vault_read, 404, "ResourceNotFound");
        assert_eq!(Outcome::of(vault_identity(&s.facts())).status, Status::Fail);
        let uai = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a";
        s.set(&vault_read, json!({"id": VAULT, "location": "eastus", "identity": {"type": "UserAssigned", "userAssignedIdentities": {uai: {"principalId": "PA", "clientId": "ca"}}}}));
        let o = Outcome::of(vault_identity(&s.facts()));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "identity UserAssigned in eastus; the role checks evaluate id-a (principal pa)"
        );
        assert_eq!(
            o.evidence[0].property,
            format!("identity.userAssignedIdentities['{uai}'].principalId")
        );
        s.set(&vault_read, json!({"id": VAULT, "location": "eastus", "identity": {"type": "SystemAssigned, UserAssigned", "principalId": "ps", "userAssignedIdentities": {uai: {"principalId": "pa"}}}}));
        assert!(Outcome::of(vault_identity(&s.facts()))
            .message
            .ends_with("; the role checks evaluate SystemAssigned (principal ps)"));
        s.target.vault_identity = Some(uai.replace("id-a", "id-b"));
        let o = Outcome::of(vault_identity(&s.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.starts_with(&format!("--vault-identity names {}, which the vault does not have; its identities: SystemAssigned, {uai}", uai.replace("id-a", "id-b"))),
            "{}",
            o.message
        );
        assert!(o.remediation.unwrap().contains("--vault-identity"));
        s.fail(&vault_read, 403, "AuthorizationFailed");
        assert_eq!(
            Outcome::of(vault_identity(&s.facts())).status,
            Status::Error
        );
    }
}
