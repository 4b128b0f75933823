//! The check catalog: every check's stable id, title, profiles, docs and verdict function,
//! listed once in [`REGISTRY`].
//!
//! A check is a plain synchronous function over [`Facts`]: no I/O, no clients, no clock.
//! It returns a [`Judgement`]: an [`Outcome`] with evidence and, for failures, the exact
//! fix, or (through `?`) the fact it could not observe, which is reported as `error`. Ids
//! and statuses are the public contract of shared/checks.md.

mod azure_backup;
mod backup_container;
mod cluster;
mod kubernetes;
mod network;
mod policy;
mod proxy;
mod pxb_access;
mod pxb_storage;
mod roles;

use crate::facts::{Facts, Unobserved};
use crate::requirements::{self, PrincipalKind, ScopeKind};
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Pxb,
    AzureBackup,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Pxb => "pxb",
            Profile::AzureBackup => "azure-backup",
        }
    }
}

/// A check's verdict. The variants are declared from least to most severe, so the derived
/// `Ord` is the severity ranking: when several verdicts are combined, the greatest decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Skip,
    Warn,
    Error,
    Fail,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

/// One observation behind a verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    pub resource: String,
    pub property: String,
    pub observed: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
}

impl Evidence {
    pub fn new(
        resource: &str,
        property: &str,
        observed: impl Into<Value>,
        expected: impl Into<Value>,
    ) -> Self {
        Evidence {
            resource: resource.to_string(),
            property: property.to_string(),
            observed: observed.into(),
            expected: Some(expected.into()),
        }
    }

    /// Adds the reader-facing meaning of an observation to its property name.
    pub fn with_note(mut self, note: String) -> Self {
        self.property = format!("{} ({note})", self.property);
        self
    }

    /// An observation with nothing to compare against (context for the reader).
    pub fn note(resource: &str, property: &str, observed: impl Into<Value>) -> Self {
        Evidence {
            resource: resource.to_string(),
            property: property.to_string(),
            observed: observed.into(),
            expected: None,
        }
    }
}

/// Why a check was skipped: typed, so `--fail-on skip` and the summary never parse messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// An input is absent, and was not discovered: giving any of these flags turns the skip
    /// into a check. `--fail-on skip` counts these.
    MissingInput { flags: &'static [&'static str] },
    /// The check does not apply (no proxy in use, a prerequisite another check reports):
    /// no flag would change that.
    NotApplicable,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub remediation: Option<String>,
    /// Set exactly when the status is `skip`.
    pub skip: Option<Skip>,
}

impl Outcome {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Outcome {
            status,
            message: message.into(),
            evidence: Vec::new(),
            remediation: None,
            skip: None,
        }
    }
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self::new(Status::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Status::Fail, message)
    }
    /// Skipped because the check does not apply.
    pub fn skip(message: impl Into<String>) -> Self {
        Outcome {
            skip: Some(Skip::NotApplicable),
            ..Self::new(Status::Skip, message)
        }
    }
    /// Skipped because an input is absent; `flags` would provide it.
    pub fn missing_input(flags: &'static [&'static str], message: impl Into<String>) -> Self {
        Outcome {
            skip: Some(Skip::MissingInput { flags }),
            ..Self::new(Status::Skip, message)
        }
    }
    /// The flags that would turn this skip into a check; empty for any other outcome.
    pub fn missing_flags(&self) -> &'static [&'static str] {
        match self.skip {
            Some(Skip::MissingInput { flags }) => flags,
            _ => &[],
        }
    }
    /// Could not be evaluated, for a reason that is not one failed read.
    pub fn new_error(message: impl Into<String>) -> Self {
        Self::new(Status::Error, message)
    }
    /// The fact the check needs could not be observed.
    pub fn error(unobserved: &Unobserved) -> Self {
        Self::new(Status::Error, unobserved.describe())
    }
    /// The outcome reported for a judgement: a fact that could not be observed is `error`.
    pub fn of(judgement: Judgement) -> Self {
        judgement.unwrap_or_else(|unobserved| Self::error(&unobserved))
    }
    pub fn evidence(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }
    pub fn fix(mut self, command: impl Into<String>) -> Self {
        self.remediation = Some(command.into());
        self
    }
}

/// What a check function returns: its outcome, or the fact it needed and could not
/// observe. Check functions take facts with `?` (see [`crate::facts::Require`]).
pub type Judgement = Result<Outcome, Unobserved>;

pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub profiles: &'static [Profile],
    /// What it verifies, why, the data it reads, how to fix a failure (`explain`).
    pub explain: Explain,
    /// Which versioned requirement data the check applies (shown by `explain`).
    pub uses: Uses,
    pub run: fn(&Facts) -> Judgement,
}

/// The documentation `pxb-preflight explain ID` shows, in the sections every check has.
pub struct Explain {
    /// What the check verifies, and what it reports when that does not hold.
    pub verifies: &'static str,
    /// How the verdict is reached, for checks whose method needs saying.
    pub how: Option<&'static str>,
    /// Why the product needs it.
    pub why: &'static str,
    /// Everything the check's verdict depends on.
    pub reads: &'static [Read],
    /// How to fix a failure.
    pub fix: &'static str,
}

/// One input of a check, as `explain` names it.
#[derive(Clone, Copy)]
pub enum Read {
    /// An ARM request. The api-version comes from the one table in [`crate::reads`].
    Arm {
        /// Method and path, with `{placeholders}` for the target's IDs.
        call: &'static str,
        api_version: &'static str,
        /// Which part of the answer the check uses, or how the read is made.
        note: &'static str,
    },
    /// Anything that is not an ARM request: a TCP probe, the Helm values, a key.
    Other(&'static str),
}

impl std::fmt::Display for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Read::Arm {
                call,
                api_version,
                note: "",
            } => write!(f, "{call} (api-version {api_version})"),
            Read::Arm {
                call,
                api_version,
                note,
            } => write!(f, "{call} (api-version {api_version}): {note}"),
            Read::Other(text) => f.write_str(text),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uses {
    Nothing,
    PxbLists,
    AzureBackupMatrix,
}

impl Check {
    /// The `explain` text: the sections under fixed headings, one read per line.
    pub fn explain_text(&self) -> String {
        let Explain {
            verifies,
            how,
            why,
            reads,
            fix,
        } = &self.explain;
        let mut text = format!("Verifies: {verifies}\n");
        if let Some(how) = how {
            text.push_str(&format!("How: {how}\n"));
        }
        text.push_str(&format!("Why: {why}\nReads:\n"));
        for read in *reads {
            text.push_str(&format!("  {read}\n"));
        }
        text.push_str(&format!("Fix: {fix}"));
        text
    }

    pub fn in_profile(&self, selected: Option<Profile>) -> bool {
        selected.is_none_or(|p| self.profiles.contains(&p))
    }

    /// The check's verdict over `facts`.
    pub fn judge(&self, facts: &Facts) -> Outcome {
        Outcome::of((self.run)(facts))
    }
}

const BOTH: &[Profile] = &[Profile::Pxb, Profile::AzureBackup];
const PXB: &[Profile] = &[Profile::Pxb];
const AZURE_BACKUP: &[Profile] = &[Profile::AzureBackup];

/// Every check of the catalog, in catalog order.
pub static REGISTRY: &[Check] = &[
    cluster::CLUSTER_STATE,
    cluster::KUBERNETES_VERSION,
    cluster::CLUSTER_IDENTITY,
    cluster::CSI_DISK_DRIVER,
    cluster::SNAPSHOT_CONTROLLER,
    azure_backup::PROVIDER_REGISTERED,
    azure_backup::BACKUP_EXTENSION,
    azure_backup::BACKUP_STORAGE_LOCATION,
    azure_backup::STORAGE_NETWORK_ACCESS,
    azure_backup::TRUSTED_ACCESS,
    azure_backup::VAULT_IDENTITY,
    roles::ROLE_VAULT_READER_ON_CLUSTER,
    roles::ROLE_VAULT_READER_ON_SNAPSHOT_RG,
    roles::ROLE_CLUSTER_CONTRIBUTOR_ON_SNAPSHOT_RG,
    roles::ROLE_EXTENSION_BLOB_CONTRIBUTOR,
    roles::ROLE_VAULT_DISK_SNAPSHOT_CONTRIBUTOR,
    roles::ROLE_VAULT_DISK_DATA_OPERATOR,
    roles::ROLE_VAULT_BLOB_READER,
    roles::ROLE_VAULT_STAGING,
    roles::CALLER_ROLES,
    policy::AZURE_POLICY_EXCLUSION,
    network::NSG_BACKUP_SERVICE_TAGS,
    policy::EGRESS_FQDNS,
    kubernetes::VELERO_ABSENT,
    kubernetes::VOLUME_TYPES,
    backup_container::BACKUP_CONTAINER_EMPTY,
    kubernetes::VOLUME_SNAPSHOT_CLASS,
    kubernetes::BACKUP_EXTENSION_PODS,
    pxb_storage::PXB_STORAGE_ACCOUNT,
    pxb_storage::PXB_STORAGE_ACCOUNT_KEY,
    pxb_access::PXB_INSTALL_PERMISSIONS,
    pxb_access::PXB_APP_CLUSTER_PERMISSIONS,
    pxb_access::PXB_RESTORE_PERMISSIONS,
    pxb_access::PXB_ROLE_PROPAGATION,
    network::PXB_PORTS,
    network::PXB_NSG_PORTS,
    proxy::PXB_PROXY_NO_PROXY,
    proxy::PXB_PROXY_SERVICE_LISTS,
];

pub fn find(id: &str) -> Option<&'static Check> {
    REGISTRY.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

/// A check's verdict, with the check it belongs to.
pub struct Verdict {
    pub check: &'static Check,
    pub outcome: Outcome,
}

pub fn run_all(facts: &Facts, profile: Option<Profile>) -> Vec<Verdict> {
    REGISTRY
        .iter()
        .filter(|c| c.in_profile(profile))
        .map(|check| Verdict {
            check,
            outcome: with_discovery(facts, check, check.judge(facts)),
        })
        .collect()
}

/// Says where a discovered input the check rests on came from (evidence), or why an input
/// the check was skipped for could not be discovered (message).
fn with_discovery(facts: &Facts, check: &Check, mut outcome: Outcome) -> Outcome {
    let d = &facts.discovery;
    let inputs = [
        ("--vault", &d.vault, &d.vault_gap, rests_on_vault(check.id)),
        (
            "--snapshot-resource-group",
            &d.snapshot_resource_group,
            &d.snapshot_resource_group_gap,
            rests_on_snapshot_resource_group(check.id),
        ),
    ];
    for (flag, found, gap, rests_on) in inputs {
        match (found, gap) {
            (Some(found), _) if rests_on => outcome.evidence.push(Evidence::note(
                found.id.as_str(),
                &format!("{flag} (not given)"),
                format!("discovered from {}", found.source),
            )),
            (_, Some(gap)) if outcome.missing_flags().contains(&flag) => {
                outcome.message = format!("{} ({gap})", outcome.message);
            }
            _ => {}
        }
    }
    outcome
}

/// The checks that read the vault itself, and the role checks of the vault's identity.
fn rests_on_vault(id: &str) -> bool {
    matches!(id, "trusted-access" | "vault-identity" | "caller-roles")
        || requirements::azure_backup()
            .needs_of(id)
            .iter()
            .any(|need| need.principal == PrincipalKind::Vault)
}

/// The role checks at the snapshot resource group, and the caller's rights there.
fn rests_on_snapshot_resource_group(id: &str) -> bool {
    id == "caller-roles"
        || requirements::azure_backup()
            .needs_of(id)
            .iter()
            .any(|need| need.scope == ScopeKind::SnapshotResourceGroup)
}

/// The flag that names the Backup vault, for the checks that skip without one.
const VAULT_FLAG: &[&str] = &["--vault"];

/// `az … -g RG -n NAME` arguments for the checked cluster.
fn cluster_args(facts: &Facts) -> String {
    let id = &facts.target.cluster;
    format!(
        "-g {} -n {}",
        id.resource_group().unwrap_or_default(),
        id.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_documented() {
        let mut seen = HashSet::new();
        for check in REGISTRY {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            assert!(!check.title.is_empty(), "{} lacks a title", check.id);
            assert!(!check.profiles.is_empty(), "{} has no profile", check.id);
        }
    }

    #[test]
    fn every_explain_has_every_section() {
        for check in REGISTRY {
            let text = check.explain_text();
            let lines: Vec<&str> = text.lines().collect();
            for heading in ["Verifies:", "Why:", "Reads:", "Fix:"] {
                let at = lines
                    .iter()
                    .position(|l| l.starts_with(heading))
                    .unwrap_or_else(|| panic!("{}: no {heading} section", check.id));
                // Reads lists one read per indented line below its heading.
                let content = match heading {
                    "Reads:" => lines.get(at + 1).filter(|l| l.starts_with("  ")),
                    _ => Some(&lines[at]).filter(|l| !l[heading.len()..].trim().is_empty()),
                };
                assert!(content.is_some(), "{}: {heading} is empty", check.id);
            }
        }
    }

    /// Api-versions come from the table of reads, never from a literal in a check's prose.
    #[test]
    fn explain_prose_names_no_api_version() {
        for check in REGISTRY {
            let Explain {
                verifies,
                how,
                why,
                reads,
                fix,
            } = &check.explain;
            let read_texts = reads.iter().flat_map(|read| match read {
                Read::Arm { call, note, .. } => [*call, *note],
                Read::Other(text) => [*text, ""],
            });
            for text in [*verifies, *why, *fix]
                .into_iter()
                .chain(*how)
                .chain(read_texts)
            {
                assert!(!text.contains("api-version"), "{}: {text}", check.id);
                assert!(!text.contains('\n'), "{}: a section spans lines", check.id);
            }
        }
    }

    /// Skips say why in a type: a missing flag (named) or a check that does not apply.
    #[test]
    fn skips_carry_a_typed_reason() {
        let facts = testing::Scenario::new().facts();
        let skip_of = |id: &str| find(id).unwrap().judge(&facts).skip;
        assert_eq!(
            skip_of("trusted-access"),
            Some(Skip::MissingInput {
                flags: &["--vault"]
            })
        );
        assert_eq!(
            skip_of("pxb-ports"),
            Some(Skip::MissingInput {
                flags: &["--pxb-endpoint"]
            })
        );
        assert_eq!(
            skip_of("velero-absent"),
            Some(Skip::MissingInput {
                flags: &["--kubeconfig", "--context"]
            })
        );
        assert_eq!(skip_of("pxb-proxy-no-proxy"), Some(Skip::NotApplicable));
        for verdict in run_all(&facts, None) {
            let o = verdict.outcome;
            assert_eq!(
                o.skip.is_some(),
                o.status == Status::Skip,
                "{}",
                verdict.check.id
            );
        }
    }

    #[test]
    fn status_order_is_severity() {
        use Status::*;
        assert!(Pass < Skip && Skip < Warn && Warn < Error && Error < Fail);
    }

    #[test]
    fn profiles_select_their_checks() {
        let pxb: Vec<_> = REGISTRY
            .iter()
            .filter(|c| c.in_profile(Some(Profile::Pxb)))
            .map(|c| c.id)
            .collect();
        assert!(pxb.contains(&"cluster-state") && pxb.contains(&"pxb-ports"));
        assert!(!pxb.contains(&"trusted-access"));
        assert_eq!(
            REGISTRY.iter().filter(|c| c.in_profile(None)).count(),
            REGISTRY.len()
        );
    }
}

/// Builders of test facts, shared by the check modules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::facts::Facts;
    use crate::reads::{ArmRead, RawRead, RawReads};
    use crate::target::{Target, TargetRecord};
    use serde_json::{json, Value};

    pub const CLUSTER: &str =
        "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";
    pub const VAULT: &str = "/subscriptions/sub1/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/vault1";

    pub fn healthy_cluster() -> Value {
        json!({
            "id": CLUSTER, "name": "aks1", "location": "eastus",
            "identity": {"type": "SystemAssigned", "principalId": "11111111-1111-1111-1111-111111111111"},
            "properties": {
                "provisioningState": "Succeeded", "powerState": {"code": "Running"},
                "kubernetesVersion": "1.30", "currentKubernetesVersion": "1.30.4",
                "nodeResourceGroup": "MC_rg1_aks1_eastus",
                "servicePrincipalProfile": {"clientId": "msi"},
                "storageProfile": {"diskCSIDriver": {"enabled": true}, "snapshotController": {"enabled": true}}
            }
        })
    }

    /// A role assignment in the shape of Microsoft's `roleAssignments_listForScope` example.
    pub fn role_assignment(name: &str, principal: &str, role_guid: &str, scope: &str) -> Value {
        json!({
            "properties": {
                "roleDefinitionId": format!("/subscriptions/sub1/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
                "principalId": principal, "principalType": "ServicePrincipal", "scope": scope
            },
            "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            "type": "Microsoft.Authorization/roleAssignments",
            "name": name
        })
    }

    /// A role definition in the shape of Microsoft's `roleDefinitions_getById` example.
    pub fn role_definition(
        guid: &str,
        role_name: &str,
        role_type: &str,
        actions: &[&str],
    ) -> Value {
        json!({
            "properties": {
                "roleName": role_name, "type": role_type, "description": role_name,
                "assignableScopes": ["/subscriptions/sub1"],
                "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]
            },
            "id": format!("/subscriptions/sub1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            "type": "Microsoft.Authorization/roleDefinitions",
            "name": guid
        })
    }

    /// A deny assignment in the shape of Microsoft's `denyAssignments_listForScope` example.
    pub fn deny_assignment(name: &str, principal: &str, actions: &[&str]) -> Value {
        json!({
            "properties": {
                "denyAssignmentName": name, "description": name,
                "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
                "scope": "/subscriptions/sub1", "doNotApplyToChildScopes": false,
                "principals": [{"id": principal, "type": "ServicePrincipal"}],
                "excludePrincipals": [], "isSystemProtected": true
            },
            "id": format!("/subscriptions/sub1/providers/Microsoft.Authorization/denyAssignments/{name}"),
            "type": "Microsoft.Authorization/denyAssignments",
            "name": name
        })
    }

    /// Facts over the given raw bodies; `edit` may change the target first.
    pub struct Scenario {
        pub target: TargetRecord,
        pub raws: RawReads,
    }

    impl Scenario {
        pub fn new() -> Self {
            let mut s = Scenario {
                target: TargetRecord {
                    cluster: CLUSTER.into(),
                    ..Default::default()
                },
                raws: RawReads::default(),
            };
            s.set(&ArmRead::Cluster(s.target_ids().cluster), healthy_cluster());
            s
        }
        pub fn target_ids(&self) -> Target {
            Target::from_record(&self.target).unwrap()
        }
        pub fn set(&mut self, read: &ArmRead, body: Value) {
            self.raws.insert(RawRead::ok(read, body));
        }
        pub fn fail(&mut self, read: &ArmRead, status: u16, code: &str) {
            self.raws
                .insert(RawRead::failed(read, Some(status), code, "test failure"));
        }
        pub fn edit_cluster(&mut self, edit: impl FnOnce(&mut Value)) {
            let read = ArmRead::Cluster(self.target_ids().cluster);
            let mut body = self.raws.get(&read).unwrap().body.clone().unwrap();
            edit(&mut body);
            self.set(&read, body);
        }
        pub fn facts(&self) -> Facts {
            Facts::derive(
                self.target_ids(),
                &self.raws,
                time::macros::datetime!(2026-11-20 10:00 UTC),
            )
            .unwrap()
        }
    }
}

/// Whatever ARM returns, judging never panics: each read of the ready fixture in turn gets
/// an arbitrary status and JSON body, and every check and report runs over the result.
#[cfg(test)]
mod never_panics {
    use crate::harness::{arm_body, Fixture};
    use proptest::prelude::*;
    use serde_json::Value;
    use std::sync::LazyLock;

    static READY: LazyLock<Fixture> = LazyLock::new(|| {
        Fixture::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ready"))
    });

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z*/. -]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("value".to_string()),
                        Just("properties".to_string()),
                        Just("id".to_string()),
                        "[a-zA-Z]{1,10}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn arbitrary_bodies_never_panic(which in any::<u8>(), status in any::<u8>(), body in json()) {
            let input = [&[which, status][..], &serde_json::to_vec(&body).unwrap()].concat();
            arm_body(&READY, &input);
        }
    }
}
