//! Access facts: whose permissions matter (vault, cluster control plane, backup extension,
//! PXB principal), on which scopes, and the RBAC data read for them, parsed once.
//!
//! Assignment lists come from `assignedTo('{principal}')` per subscription, so they
//! already include group-derived and inherited (management-group) assignments. Group
//! memberships come from Microsoft Graph, read only when a deny names another principal.
//! Evaluation is `crate::rbac`; which RBAC reads to make is `crate::plan`.

use super::{ByRead, Cluster, Facts, List, Observed, Unobserved, VaultIdentity};
use crate::ids::ResourceId;
use crate::rbac::{DenyAssignment, PermissionBlock, RbacData, RoleAssignment, RoleDefinition};
use crate::reads::{ArmRead, RawReads};
use crate::requirements::{self, PrincipalKind, ScopeKind};
use serde::Deserialize;

// ---- Wire shapes of Microsoft.Authorization bodies (tolerant). ---------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WirePermission {
    actions: Vec<String>,
    not_actions: Vec<String>,
    data_actions: Vec<String>,
    not_data_actions: Vec<String>,
    condition: Option<String>,
}

impl From<WirePermission> for PermissionBlock {
    fn from(w: WirePermission) -> Self {
        PermissionBlock {
            actions: w.actions,
            not_actions: w.not_actions,
            data_actions: w.data_actions,
            not_data_actions: w.not_data_actions,
            condition: w.condition.filter(|c| !c.is_empty()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRoleDefinition {
    name: String,
    properties: WireRoleDefinitionProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireRoleDefinitionProperties {
    role_name: String,
    #[serde(rename = "type")]
    role_type: Option<String>,
    permissions: Vec<WirePermission>,
    updated_on: Option<String>,
    created_on: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRoleAssignment {
    id: String,
    properties: WireRoleAssignmentProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireRoleAssignmentProperties {
    role_definition_id: String,
    principal_id: String,
    principal_type: Option<String>,
    scope: String,
    condition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireDeny {
    id: String,
    properties: WireDenyProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireDenyProperties {
    deny_assignment_name: String,
    permissions: Vec<WirePermission>,
    scope: String,
    do_not_apply_to_child_scopes: bool,
    principals: Vec<WirePrincipal>,
    exclude_principals: Vec<WirePrincipal>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WirePrincipal {
    id: String,
    /// `User`, `Group`, `ServicePrincipal`, … (absent in some bodies).
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// A `directoryObject` of a Graph `transitiveMemberOf` list, read with `$select=id`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireDirectoryObject {
    id: String,
}

impl From<WireRoleAssignment> for RoleAssignment {
    fn from(a: WireRoleAssignment) -> Self {
        RoleAssignment {
            id: a.id,
            role_guid: a
                .properties
                .role_definition_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            principal_id: a.properties.principal_id,
            principal_type: a.properties.principal_type,
            scope: a.properties.scope,
            condition: a.properties.condition.filter(|c| !c.is_empty()),
        }
    }
}

impl From<WireDeny> for DenyAssignment {
    fn from(d: WireDeny) -> Self {
        DenyAssignment {
            id: d.id,
            name: d.properties.deny_assignment_name,
            scope: d.properties.scope,
            blocks: d
                .properties
                .permissions
                .into_iter()
                .map(Into::into)
                .collect(),
            non_group_principals: d
                .properties
                .principals
                .iter()
                .filter(|p| {
                    p.kind
                        .as_deref()
                        .is_some_and(|k| !k.is_empty() && !k.eq_ignore_ascii_case("Group"))
                })
                .map(|p| p.id.clone())
                .collect(),
            principals: d.properties.principals.into_iter().map(|p| p.id).collect(),
            exclude_principals: d
                .properties
                .exclude_principals
                .into_iter()
                .map(|p| p.id)
                .collect(),
            do_not_apply_to_child_scopes: d.properties.do_not_apply_to_child_scopes,
        }
    }
}

impl From<WireRoleDefinition> for RoleDefinition {
    fn from(wire: WireRoleDefinition) -> Self {
        RoleDefinition {
            guid: wire.name.to_ascii_lowercase(),
            role_name: wire.properties.role_name,
            custom: wire
                .properties
                .role_type
                .is_some_and(|t| t.eq_ignore_ascii_case("CustomRole")),
            blocks: wire
                .properties
                .permissions
                .into_iter()
                .map(Into::into)
                .collect(),
            updated_on: wire.properties.updated_on.or(wire.properties.created_on),
        }
    }
}

/// The Microsoft.Authorization data of the run, parsed into `crate::rbac`'s types: role and
/// deny assignments per subscription, role definitions by GUID, the caller's permissions
/// per scope. Evaluating them is `crate::rbac::evaluate`, over this as its [`RbacData`].
#[derive(Default)]
pub struct Access {
    role_assignments: ByRead<Vec<RoleAssignment>>,
    deny_assignments: ByRead<Vec<DenyAssignment>>,
    role_definitions: ByRead<RoleDefinition>,
    permissions: ByRead<Vec<PermissionBlock>>,
    /// The groups of each principal (Graph `transitiveMemberOf`), lower-cased.
    group_memberships: ByRead<Vec<String>>,
    /// The cluster's subscription, through which built-in role definitions are read.
    home_subscription: String,
}

impl Access {
    /// Parses the Microsoft.Authorization reads of every identity and scope the facts know.
    pub(super) fn derive(raws: &RawReads, facts: &Facts) -> Access {
        let mut access = Access {
            home_subscription: facts.target.cluster.subscription().to_string(),
            ..Access::default()
        };
        let scopes = facts.known_scopes();
        let mut subscriptions: Vec<String> = std::iter::once(access.home_subscription.clone())
            .chain(scopes.iter().map(|s| s.subscription().to_string()))
            .collect();
        subscriptions.sort_by_key(|s| s.to_ascii_lowercase());
        subscriptions.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        let principals: Vec<String> = facts
            .vault_identities()
            .into_iter()
            .map(|identity| identity.principal_id)
            .chain(facts.cluster_principal())
            .chain(facts.extension_principal())
            .chain(facts.pxb_principal())
            .collect();
        for principal in &principals {
            access.group_memberships.observe(
                raws,
                &ArmRead::GroupMemberships(principal.clone()),
                |list: List<WireDirectoryObject>| {
                    list.value
                        .into_iter()
                        .map(|o| o.id.to_ascii_lowercase())
                        .collect()
                },
            );
        }
        for scope in &scopes {
            access.permissions.observe(
                raws,
                &ArmRead::Permissions(scope.clone()),
                |list: List<WirePermission>| list.value.into_iter().map(Into::into).collect(),
            );
        }
        let mut guids: Vec<String> = requirements::azure_backup()
            .roles
            .values()
            .cloned()
            .collect();
        for subscription in &subscriptions {
            access.deny_assignments.observe(
                raws,
                &ArmRead::DenyAssignments {
                    subscription: subscription.clone(),
                },
                |list: List<WireDeny>| list.value.into_iter().map(Into::into).collect(),
            );
            for principal in &principals {
                let read = ArmRead::RoleAssignments {
                    subscription: subscription.clone(),
                    principal: principal.clone(),
                };
                access
                    .role_assignments
                    .observe(raws, &read, |list: List<WireRoleAssignment>| {
                        list.value.into_iter().map(Into::into).collect()
                    });
                if let Ok(assignments) = access.role_assignments.get(&read) {
                    guids.extend(assignments.iter().map(|a| a.role_guid.clone()));
                }
            }
        }
        for subscription in &subscriptions {
            for guid in &guids {
                access.role_definitions.observe(
                    raws,
                    &ArmRead::RoleDefinition {
                        subscription: subscription.clone(),
                        guid: guid.to_ascii_lowercase(),
                    },
                    |wire: WireRoleDefinition| RoleDefinition::from(wire),
                );
            }
        }
        access
    }

    /// The caller's own permission blocks at a scope (permissions API).
    pub fn caller_permissions(&self, scope: &ResourceId) -> Observed<&[PermissionBlock]> {
        self.permissions
            .get(&ArmRead::Permissions(scope.clone()))
            .map(Vec::as_slice)
    }
}

impl RbacData for Access {
    type Error = Unobserved;

    fn role_assignments(&self, subscription: &str, principal: &str) -> Observed<&[RoleAssignment]> {
        self.role_assignments
            .get(&ArmRead::RoleAssignments {
                subscription: subscription.into(),
                principal: principal.into(),
            })
            .map(Vec::as_slice)
    }

    fn deny_assignments(&self, subscription: &str) -> Observed<&[DenyAssignment]> {
        self.deny_assignments
            .get(&ArmRead::DenyAssignments {
                subscription: subscription.into(),
            })
            .map(Vec::as_slice)
    }

    fn group_memberships(&self, principal: &str) -> Observed<&[String]> {
        self.group_memberships
            .get(&ArmRead::GroupMemberships(principal.into()))
            .map(Vec::as_slice)
    }

    /// A role definition by GUID, read through `subscription`, else the cluster's.
    fn role_definition(&self, subscription: &str, guid: &str) -> Observed<&RoleDefinition> {
        let read = |subscription: &str| ArmRead::RoleDefinition {
            subscription: subscription.into(),
            guid: guid.to_ascii_lowercase(),
        };
        self.role_definitions
            .get(&read(subscription))
            .or_else(|_| self.role_definitions.get(&read(&self.home_subscription)))
    }
}

impl Facts {
    /// The control-plane identity (system-assigned, else the user-assigned one); not kubelet.
    pub fn cluster_principal(&self) -> Option<String> {
        control_plane_principal(&self.cluster)
    }

    /// The vault's identities the role checks evaluate (`Vault::evaluated_identities`);
    /// none while the vault is not given or not read.
    pub fn vault_identities(&self) -> Vec<VaultIdentity> {
        match &self.vault {
            Some(Ok(vault)) => vault.evaluated_identities(self.target.vault_identity.as_ref()),
            _ => Vec::new(),
        }
    }

    pub fn extension_principal(&self) -> Option<String> {
        let ext = self.backup_extension().ok()??;
        ext.properties
            .aks_assigned_identity
            .as_ref()?
            .principal_id
            .as_deref()
            .map(str::to_ascii_lowercase)
    }

    /// `--pxb-principal`, else the cluster's control-plane identity.
    pub fn pxb_principal(&self) -> Option<String> {
        self.target
            .pxb_principal
            .clone()
            .or_else(|| self.cluster_principal())
    }

    /// The principals a requirement of `kind` is evaluated for: one, or for the vault each
    /// identity it evaluates.
    pub fn principals_of(&self, kind: PrincipalKind) -> Vec<String> {
        match kind {
            PrincipalKind::Vault => self
                .vault_identities()
                .into_iter()
                .map(|identity| identity.principal_id)
                .collect(),
            PrincipalKind::Cluster => self.cluster_principal().into_iter().collect(),
            PrincipalKind::Extension => self.extension_principal().into_iter().collect(),
        }
    }

    pub fn scope_of(&self, kind: ScopeKind) -> Option<ResourceId> {
        match kind {
            ScopeKind::Cluster => Some(self.target.cluster.clone()),
            ScopeKind::SnapshotResourceGroup => self.target.snapshot_resource_group.clone(),
            ScopeKind::StorageAccount => self
                .backup_location
                .as_ref()
                .map(|l| l.plan.account.clone()),
            ScopeKind::StagingResourceGroup => self.target.staging_resource_group.clone(),
            ScopeKind::StagingStorageAccount => self.target.staging_storage_account.clone(),
        }
    }

    pub fn node_resource_group(&self) -> Option<ResourceId> {
        node_resource_group(&self.target.cluster, &self.cluster)
    }

    /// The restore source cluster's node resource group, once its cluster has been read.
    pub fn source_node_resource_group(&self) -> Option<ResourceId> {
        let id = self.target.restore_source_cluster.as_ref()?;
        let source = self.source_cluster.as_ref()?.as_ref().ok()?;
        node_resource_group(id, source)
    }

    /// The vault's resource group, where the caller needs Backup Contributor.
    pub fn vault_resource_group(&self) -> Option<ResourceId> {
        let vault = self.target.vault.as_ref()?;
        ResourceId::resource_group_id(vault.subscription(), vault.resource_group()?).ok()
    }

    /// Every scope the run names or has learned of: where RBAC data may have been read.
    fn known_scopes(&self) -> Vec<ResourceId> {
        let target = &self.target;
        [
            Some(target.cluster.clone()),
            target.snapshot_resource_group.clone(),
            target.staging_resource_group.clone(),
            target.staging_storage_account.clone(),
            target.storage_account.clone(),
            target.restore_source_cluster.clone(),
            self.scope_of(ScopeKind::StorageAccount),
            self.vault_resource_group(),
            self.node_resource_group(),
            self.source_node_resource_group(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

pub(crate) fn control_plane_principal(cluster: &Cluster) -> Option<String> {
    let identity = cluster.identity.as_ref()?;
    if let Some(p) = identity.principal_id.as_deref().filter(|p| !p.is_empty()) {
        return Some(p.to_ascii_lowercase());
    }
    identity
        .user_assigned_identities
        .as_ref()?
        .values()
        .find_map(|v| v.get("principalId")?.as_str().map(str::to_ascii_lowercase))
}

pub(crate) fn node_resource_group(
    cluster_id: &ResourceId,
    cluster: &Cluster,
) -> Option<ResourceId> {
    let name = cluster.properties.node_resource_group.as_deref()?;
    ResourceId::resource_group_id(cluster_id.subscription(), name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::tests::target;
    use crate::reads::RawRead;
    use serde_json::json;
    use time::OffsetDateTime;

    /// The shape of denyAssignments_listForScope.json: principals carry a `type`.
    #[test]
    fn deny_principals_typed_as_users_or_service_principals_are_no_groups() {
        let wire: WireDeny = serde_json::from_value(json!({
            "id": "d", "properties": {
                "denyAssignmentName": "n", "scope": "/subscriptions/s",
                "principals": [
                    {"id": "u1", "type": "User"},
                    {"id": "sp1", "type": "ServicePrincipal"},
                    {"id": "g1", "type": "Group"},
                    {"id": "x1"}
                ]
            }
        }))
        .unwrap();
        let deny = DenyAssignment::from(wire);
        assert_eq!(deny.principals, ["u1", "sp1", "g1", "x1"]);
        assert_eq!(deny.non_group_principals, ["u1", "sp1"]);
    }

    #[test]
    fn rbac_data_is_parsed_once_and_looked_up_in_any_case() {
        let t = target();
        let mut raws = RawReads::default();
        raws.insert(RawRead::ok(
            &ArmRead::Cluster(t.cluster.clone()),
            json!({"identity": {"type": "SystemAssigned", "principalId": "CP"}, "properties": {}}),
        ));
        let assignments = ArmRead::RoleAssignments {
            subscription: "SUB1".into(),
            principal: "cp".into(),
        };
        raws.insert(RawRead::ok(&assignments, json!({"value": [{"id": "a1", "properties": {
            "roleDefinitionId": "/subscriptions/sub1/providers/Microsoft.Authorization/roleDefinitions/ABC",
            "principalId": "cp", "scope": "/subscriptions/sub1"}}]})));
        let definition = ArmRead::RoleDefinition {
            subscription: "sub1".into(),
            guid: "abc".into(),
        };
        raws.insert(RawRead::ok(
            &definition,
            json!({"name": "abc", "properties": {"roleName": "Reader"}}),
        ));
        let facts = Facts::derive(t, &raws, OffsetDateTime::UNIX_EPOCH).unwrap();
        let listed = facts.access.role_assignments("sub1", "CP").unwrap();
        assert_eq!(listed[0].role_guid, "abc");
        let role = facts.access.role_definition("Sub1", "ABC").unwrap();
        assert_eq!(role.role_name, "Reader");
        assert!(facts.access.deny_assignments("sub1").is_err());
    }

    fn cluster(body: serde_json::Value) -> Cluster {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn control_plane_identity_is_never_the_kubelet_identity() {
        let kubelet = json!({"kubeletidentity": {"objectId": "kubelet-object", "clientId": "c", "resourceId": "r"}});
        let system = cluster(
            json!({"identity": {"type": "SystemAssigned", "principalId": "CP-SYSTEM"}, "properties": {"identityProfile": kubelet}}),
        );
        assert_eq!(
            control_plane_principal(&system).as_deref(),
            Some("cp-system")
        );
        let user = cluster(
            json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cp": {"principalId": "cp-user", "clientId": "x"}
        }}, "properties": {"identityProfile": kubelet}}),
        );
        assert_eq!(control_plane_principal(&user).as_deref(), Some("cp-user"));
        let service_principal = cluster(
            json!({"properties": {"servicePrincipalProfile": {"clientId": "app"}, "identityProfile": kubelet}}),
        );
        assert_eq!(control_plane_principal(&service_principal), None);
    }
}
