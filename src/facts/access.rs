//! Access facts: whose permissions matter (vault, cluster control plane, backup extension,
//! PXB principal), on which scopes, and what the RBAC data read for them says.
//!
//! Assignment lists come from `assignedTo('{principal}')` per subscription, so they
//! already include group-derived and inherited (management-group) assignments; groups
//! and management groups are learned from them. Evaluation itself is `crate::rbac`.

use super::{observe, Cluster, Facts, List, Observed, Unobserved};
use crate::ids::ResourceId;
use crate::rbac::{
    self, DenyAssignment, PermissionBlock, Plane, Principal, Rbac, RoleAssignment, RoleDefinition,
};
use crate::reads::ArmRead;
use crate::requirements::{PrincipalKind, ScopeKind};
use serde::Deserialize;
use std::collections::HashMap;

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
}

/// What a requirement asks for.
pub enum Wanted<'a> {
    Role(&'a RoleDefinition),
    Operations(&'a [String]),
}

/// The per-operation decisions for one principal at one scope, with what they rest on.
pub struct Evaluation {
    pub decisions: Vec<(String, rbac::Decision)>,
    /// Groups the principal belongs to, as far as its assignments reveal them.
    pub groups: Vec<String>,
    /// Role definitions named by assignments that could not be read (their grants are unknown).
    pub unreadable_definitions: Vec<String>,
}

fn subscription_of(scope: &ResourceId) -> String {
    scope.subscription().to_string()
}

impl Facts {
    /// The control-plane identity (system-assigned, else the user-assigned one); not kubelet.
    pub fn cluster_principal(&self) -> Option<String> {
        control_plane_principal(&self.cluster)
    }

    pub fn vault_principal(&self) -> Option<String> {
        self.vault
            .as_ref()?
            .as_ref()
            .ok()?
            .principal_id()
            .map(str::to_ascii_lowercase)
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

    pub fn principal_of(&self, kind: PrincipalKind) -> Option<String> {
        match kind {
            PrincipalKind::Vault => self.vault_principal(),
            PrincipalKind::Cluster => self.cluster_principal(),
            PrincipalKind::Extension => self.extension_principal(),
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

    pub fn source_cluster(&self) -> Option<Observed<Cluster>> {
        let id = self.target.restore_source_cluster.clone()?;
        Some(observe(&self.raws, &ArmRead::Cluster(id)))
    }

    pub fn role_assignments(
        &self,
        subscription: &str,
        principal: &str,
    ) -> Observed<Vec<RoleAssignment>> {
        let read = ArmRead::RoleAssignments {
            subscription: subscription.into(),
            principal: principal.into(),
        };
        let list: List<WireRoleAssignment> = observe(&self.raws, &read)?;
        Ok(list
            .value
            .into_iter()
            .map(|a| RoleAssignment {
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
            })
            .collect())
    }

    pub fn deny_assignments(&self, subscription: &str) -> Observed<Vec<DenyAssignment>> {
        let list: List<WireDeny> = observe(
            &self.raws,
            &ArmRead::DenyAssignments {
                subscription: subscription.into(),
            },
        )?;
        Ok(list
            .value
            .into_iter()
            .map(|d| DenyAssignment {
                id: d.id,
                name: d.properties.deny_assignment_name,
                scope: d.properties.scope,
                blocks: d
                    .properties
                    .permissions
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                principals: d.properties.principals.into_iter().map(|p| p.id).collect(),
                exclude_principals: d
                    .properties
                    .exclude_principals
                    .into_iter()
                    .map(|p| p.id)
                    .collect(),
                do_not_apply_to_child_scopes: d.properties.do_not_apply_to_child_scopes,
            })
            .collect())
    }

    /// A role definition by GUID, read through `subscription` (or the cluster's).
    pub fn role_definition(&self, subscription: &str, guid: &str) -> Observed<RoleDefinition> {
        let read = |sub: &str| ArmRead::RoleDefinition {
            subscription: sub.into(),
            guid: guid.to_ascii_lowercase(),
        };
        let wire: WireRoleDefinition = observe(&self.raws, &read(subscription))
            .or_else(|_| observe(&self.raws, &read(self.target.cluster.subscription())))?;
        Ok(RoleDefinition {
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
        })
    }

    /// The caller's own permission blocks at a scope (permissions API).
    pub fn caller_permissions(&self, scope: &ResourceId) -> Observed<Vec<PermissionBlock>> {
        let list: List<WirePermission> = observe(&self.raws, &ArmRead::Permissions(scope.clone()))?;
        Ok(list.value.into_iter().map(Into::into).collect())
    }

    /// Evaluates `wanted` for `principal` at `scope`, from the principal's assignments and
    /// the deny assignments of the scope's subscription.
    pub fn evaluate(
        &self,
        principal: &str,
        scope: &ResourceId,
        wanted: Wanted,
    ) -> Result<Evaluation, Unobserved> {
        let subscription = subscription_of(scope);
        let assignments = self.role_assignments(&subscription, principal)?;
        let denies = self.deny_assignments(&subscription)?;
        let mut definitions = HashMap::new();
        let mut unreadable_definitions = Vec::new();
        for guid in assignments.iter().map(|a| a.role_guid.clone()) {
            match self.role_definition(&subscription, &guid) {
                Ok(def) => {
                    definitions.insert(guid, def);
                }
                Err(_) => unreadable_definitions.push(guid),
            }
        }
        unreadable_definitions.sort();
        unreadable_definitions.dedup();
        let groups: Vec<String> = assignments
            .iter()
            .filter(|a| {
                a.principal_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
            })
            .map(|a| a.principal_id.clone())
            .collect();
        // ARM lists only assignments and denies that apply to the subscription, so the
        // management groups they sit on are the subscription's ancestors.
        let management_groups: Vec<String> = assignments
            .iter()
            .map(|a| &a.scope)
            .chain(denies.iter().map(|d| &d.scope))
            .filter(|s| rbac::scope::is_management_group(s))
            .cloned()
            .collect();
        let rbac = Rbac {
            assignments: &assignments,
            definitions: &definitions,
            denies: &denies,
            management_groups: &management_groups,
        };
        let who = Principal {
            id: principal.to_string(),
            groups: groups.clone(),
        };
        let decisions = match wanted {
            Wanted::Role(role) => rbac.check_role(&who, role, scope.as_str()),
            Wanted::Operations(ops) => rbac.check_operations(&who, ops, scope.as_str()),
        };
        Ok(Evaluation {
            decisions,
            groups,
            unreadable_definitions,
        })
    }

    /// Every (principal, scope) whose RBAC data some check needs, as far as known so far.
    pub fn access_needs(&self) -> Vec<(String, ResourceId)> {
        let mut needs: Vec<(String, ResourceId)> = crate::requirements::azure_backup()
            .matrix
            .iter()
            .filter_map(|need| {
                Some((
                    self.principal_of(need.principal)?,
                    self.scope_of(need.scope)?,
                ))
            })
            .collect();
        if let (Some(principal), Some(node_rg)) = (self.pxb_principal(), self.node_resource_group())
        {
            needs.push((principal, node_rg));
        }
        if let (Some(principal), Some(source_rg)) =
            (self.cluster_principal(), self.source_node_resource_group())
        {
            needs.push((principal, source_rg));
        }
        needs
    }

    /// The restore source cluster's node resource group, once its cluster has been read.
    pub fn source_node_resource_group(&self) -> Option<ResourceId> {
        let id = self.target.restore_source_cluster.as_ref()?;
        node_resource_group(id, &self.source_cluster()?.ok()?)
    }

    /// Whether the caller's permission blocks grant `operation` at `scope`.
    pub fn caller_can(&self, blocks: &[PermissionBlock], operation: &str) -> bool {
        blocks
            .iter()
            .any(|b| b.grants(Plane::Control, operation, &[]))
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
    use serde_json::json;

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
