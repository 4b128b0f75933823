//! Table-driven tests of every rule in azure-rbac.md §5, over the real built-in definitions.

use super::*;
use proptest::prelude::*;
use serde_json::Value;

const P: &str = "11111111-1111-1111-1111-111111111111";
const GROUP: &str = "99999999-9999-9999-9999-999999999999";
const SUB: &str = "/subscriptions/sub1";
const RG: &str = "/subscriptions/sub1/resourceGroups/rg-aks";
const NODE_RG: &str = "/subscriptions/sub1/resourceGroups/MC_rg-aks_aks_eastus";
const ACCOUNT: &str =
    "/subscriptions/sub1/resourceGroups/rg-aks/providers/Microsoft.Storage/storageAccounts/acct";
const BLOB_READ: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";

fn builtin(name: &str) -> RoleDefinition {
    let all: Vec<Value> =
        serde_json::from_str(include_str!("../../fixtures/builtin-roles.json")).unwrap();
    let role = all
        .iter()
        .find(|r| r["properties"]["roleName"] == name)
        .unwrap_or_else(|| panic!("no built-in {name}"));
    definition(role)
}

fn definition(role: &Value) -> RoleDefinition {
    let list = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    RoleDefinition {
        guid: role["name"].as_str().unwrap().to_ascii_lowercase(),
        role_name: role["properties"]["roleName"].as_str().unwrap().to_string(),
        custom: role["properties"]["type"] == "CustomRole",
        blocks: role["properties"]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| PermissionBlock {
                actions: list(&b["actions"]),
                not_actions: list(&b["notActions"]),
                data_actions: list(&b["dataActions"]),
                not_data_actions: list(&b["notDataActions"]),
                condition: b["condition"].as_str().map(str::to_string),
            })
            .collect(),
        updated_on: None,
    }
}

fn custom(guid: &str, actions: &[&str], not_actions: &[&str]) -> RoleDefinition {
    RoleDefinition {
        guid: guid.into(),
        role_name: format!("custom-{guid}"),
        custom: true,
        blocks: vec![PermissionBlock {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            not_actions: not_actions.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }],
        updated_on: None,
    }
}

fn assign(principal: &str, role: &RoleDefinition, scope: &str) -> RoleAssignment {
    RoleAssignment {
        id: format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{}-{principal}",
            role.guid
        ),
        principal_id: principal.into(),
        principal_type: Some("ServicePrincipal".into()),
        role_guid: role.guid.clone(),
        scope: scope.into(),
        condition: None,
    }
}

struct World {
    assignments: Vec<RoleAssignment>,
    definitions: HashMap<String, RoleDefinition>,
    denies: Vec<DenyAssignment>,
    management_groups: Vec<String>,
}

impl World {
    fn new() -> Self {
        World {
            assignments: vec![],
            definitions: HashMap::new(),
            denies: vec![],
            management_groups: vec![],
        }
    }
    fn grant(mut self, principal: &str, role: RoleDefinition, scope: &str) -> Self {
        self.assignments.push(assign(principal, &role, scope));
        self.definitions.insert(role.guid.clone(), role);
        self
    }
    fn deny(mut self, deny: DenyAssignment) -> Self {
        self.denies.push(deny);
        self
    }
    fn rbac(&self) -> Rbac<'_> {
        Rbac {
            assignments: &self.assignments,
            definitions: &self.definitions,
            denies: &self.denies,
            management_groups: &self.management_groups,
        }
    }
    fn op(&self, plane: Plane, op: &str, target: &str) -> Decision {
        self.rbac().decide(&principal(), plane, op, &[], target)
    }
    fn role(&self, role: &RoleDefinition, target: &str) -> Requirement {
        summarize(&self.rbac().check_role(&principal(), role, target))
    }
}

fn principal() -> Principal {
    Principal {
        id: P.into(),
        groups: vec![GROUP.into()],
        groups_complete: false,
    }
}

fn granted(d: &Decision) -> bool {
    matches!(d, Decision::Granted(_))
}

fn node_rg_lockdown(exclude: &[&str], child_scopes: bool) -> DenyAssignment {
    DenyAssignment {
        id: "deny1".into(),
        name: "AKS node resource group lockdown".into(),
        scope: NODE_RG.into(),
        blocks: vec![PermissionBlock {
            actions: vec!["*".into()],
            not_actions: vec!["*/read".into()],
            ..Default::default()
        }],
        principals: vec![ALL_PRINCIPALS.into()],
        exclude_principals: exclude.iter().map(|s| s.to_string()).collect(),
        do_not_apply_to_child_scopes: !child_scopes,
        non_group_principals: Vec::new(),
    }
}

#[test]
fn rule1_not_actions_is_not_a_deny() {
    let trimmed = custom(
        "c1",
        &["Microsoft.Compute/*"],
        &["Microsoft.Compute/disks/write"],
    );
    let w = World::new().grant(P, trimmed.clone(), RG);
    assert!(
        !granted(&w.op(Plane::Control, "Microsoft.Compute/disks/write", RG)),
        "trimmed out of the role"
    );
    assert!(granted(&w.op(
        Plane::Control,
        "Microsoft.Compute/disks/read",
        RG
    )));
    let w = w.grant(P, custom("c2", &["Microsoft.Compute/disks/write"], &[]), RG);
    assert!(
        granted(&w.op(Plane::Control, "Microsoft.Compute/disks/write", RG)),
        "another role's grant wins"
    );
}

#[test]
fn rule2_owner_has_no_data_actions() {
    let w = World::new().grant(P, builtin("Owner"), SUB);
    assert!(granted(&w.op(
        Plane::Control,
        "Microsoft.Storage/storageAccounts/listKeys/action",
        ACCOUNT
    )));
    assert_eq!(w.op(Plane::Data, BLOB_READ, ACCOUNT), Decision::NotGranted);
    assert!(matches!(
        w.role(&builtin("Storage Blob Data Contributor"), ACCOUNT),
        Requirement::Missing(_)
    ));
    let w = w.grant(P, builtin("Storage Blob Data Reader"), ACCOUNT);
    assert!(granted(&w.op(Plane::Data, BLOB_READ, ACCOUNT)));
    assert!(matches!(
        w.role(&builtin("Storage Blob Data Reader"), ACCOUNT),
        Requirement::Met(_)
    ));
}

#[test]
fn rule3_matching_ignores_case() {
    let w = World::new().grant(P, builtin("Contributor"), RG);
    assert_eq!(
        w.op(
            Plane::Control,
            "microsoft.authorization/roleassignments/write",
            RG
        ),
        Decision::NotGranted,
        "Contributor's */Write NotActions"
    );
    assert!(granted(&w.op(
        Plane::Control,
        "MICROSOFT.COMPUTE/DISKS/WRITE",
        RG
    )));
}

#[test]
fn rule4_wildcards_anywhere_but_not_an_empty_segment() {
    let w = World::new().grant(
        P,
        custom("c1", &["Microsoft.Storage/storageAccounts/*/read"], &[]),
        RG,
    );
    assert!(granted(&w.op(
        Plane::Control,
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
        ACCOUNT
    )));
    assert_eq!(
        w.op(
            Plane::Control,
            "Microsoft.Storage/storageAccounts/read",
            ACCOUNT
        ),
        Decision::NotGranted
    );
}

#[test]
fn rule5_read_does_not_include_secrets() {
    let w = World::new().grant(P, builtin("Reader"), SUB);
    for op in [
        "Microsoft.Storage/storageAccounts/listKeys/action",
        "Microsoft.Compute/disks/beginGetAccess/action",
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
    ] {
        assert_eq!(w.op(Plane::Control, op, RG), Decision::NotGranted, "{op}");
    }
    assert!(granted(&w.op(
        Plane::Control,
        "Microsoft.Compute/disks/read",
        RG
    )));
}

#[test]
fn rule6_scope_inheritance_is_segment_wise() {
    let w = World::new().grant(
        P,
        builtin("Reader"),
        "/subscriptions/sub1/resourceGroups/rg-ak",
    );
    assert_eq!(
        w.role(&builtin("Reader"), RG),
        Requirement::Missing(vec!["*/read".into()]),
        "rg-ak is not a parent of rg-aks"
    );
    let w = World::new().grant(
        P,
        builtin("Reader"),
        "/subscriptions/SUB1/resourcegroups/RG-AKS",
    );
    assert!(matches!(
        w.role(&builtin("Reader"), ACCOUNT),
        Requirement::Met(_)
    ));
    let mut w = World::new().grant(
        P,
        builtin("Reader"),
        "/providers/Microsoft.Management/managementGroups/platform",
    );
    assert!(
        matches!(w.role(&builtin("Reader"), RG), Requirement::Missing(_)),
        "an MG counts only when it is in the chain"
    );
    w.management_groups = vec!["/providers/Microsoft.Management/managementGroups/platform".into()];
    assert!(matches!(
        w.role(&builtin("Reader"), RG),
        Requirement::Met(_)
    ));
}

#[test]
fn rule7_child_scope_assignments_do_not_grant_upwards() {
    let w = World::new().grant(P, builtin("Contributor"), ACCOUNT);
    assert!(matches!(
        w.role(&builtin("Contributor"), RG),
        Requirement::Missing(_)
    ));
}

#[test]
fn rule8_group_assignments_count() {
    let w = World::new().grant(GROUP, builtin("Reader"), SUB);
    match w.role(&builtin("Reader"), RG) {
        Requirement::Met(bases) => assert_eq!(bases[0].via_group.as_deref(), Some(GROUP)),
        other => panic!("{other:?}"),
    }
    let stranger = World::new().grant(
        "88888888-8888-8888-8888-888888888888",
        builtin("Reader"),
        SUB,
    );
    assert!(matches!(
        stranger.role(&builtin("Reader"), RG),
        Requirement::Missing(_)
    ));
}

#[test]
fn rule9_deny_assignments() {
    let base = || World::new().grant(P, builtin("Contributor"), SUB);
    let write = "Microsoft.Compute/disks/write";
    // All principals, child scopes included: blocks writes, not the deny's own NotActions.
    let w = base().deny(node_rg_lockdown(&[], true));
    assert!(matches!(
        w.op(Plane::Control, write, NODE_RG),
        Decision::Denied { .. }
    ));
    assert!(matches!(
        w.op(
            Plane::Control,
            write,
            &format!("{NODE_RG}/providers/Microsoft.Compute/disks/d1")
        ),
        Decision::Denied { .. }
    ));
    assert!(
        granted(&w.op(Plane::Control, "Microsoft.Compute/disks/read", NODE_RG)),
        "the deny exempts */read"
    );
    assert!(
        granted(&w.op(Plane::Control, write, RG)),
        "another RG is untouched"
    );
    // Excluded principal, directly or through a group.
    assert!(granted(&base().deny(node_rg_lockdown(&[P], true)).op(
        Plane::Control,
        write,
        NODE_RG
    )));
    assert!(granted(&base().deny(node_rg_lockdown(&[GROUP], true)).op(
        Plane::Control,
        write,
        NODE_RG
    )));
    // doNotApplyToChildScopes: only at exactly its scope.
    let w = base().deny(node_rg_lockdown(&[], false));
    assert!(matches!(
        w.op(Plane::Control, write, NODE_RG),
        Decision::Denied { .. }
    ));
    assert!(granted(&w.op(
        Plane::Control,
        write,
        &format!("{NODE_RG}/providers/Microsoft.Compute/disks/d1")
    )));
    // A deny naming the principal's group applies to it; Owner does not override a deny.
    let mut named = node_rg_lockdown(&[], true);
    named.principals = vec![GROUP.into()];
    let w = World::new().grant(P, builtin("Owner"), SUB).deny(named);
    assert!(matches!(
        w.op(Plane::Control, write, NODE_RG),
        Decision::Denied { .. }
    ));
    // A deny blocking one operation of a role fails the role even though it is assigned.
    assert!(matches!(
        w.role(&builtin("Contributor"), NODE_RG),
        Requirement::Denied(_)
    ));
    assert!(
        matches!(w.role(&builtin("Reader"), NODE_RG), Requirement::Met(_)),
        "reads are exempt"
    );
}

#[test]
fn rule10_conditions_are_reported_and_an_unconditional_grant_bypasses_them() {
    let mut w = World::new().grant(P, builtin("Storage Blob Data Reader"), ACCOUNT);
    w.assignments[0].condition = Some("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x'".into());
    assert!(matches!(
        w.op(Plane::Data, BLOB_READ, ACCOUNT),
        Decision::Conditional(_)
    ));
    assert!(matches!(
        w.role(&builtin("Storage Blob Data Reader"), ACCOUNT),
        Requirement::MetConditionally(_)
    ));
    let w = w.grant(P, builtin("Storage Blob Data Contributor"), ACCOUNT);
    assert!(granted(&w.op(Plane::Data, BLOB_READ, ACCOUNT)));
}

const VM_DATA_ACCESS_ADMIN: &str = "Virtual Machine Data Access Administrator (preview)";
const ROLE_ASSIGNMENT_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";

#[test]
fn rule10_a_definition_condition_restricts_only_the_actions_it_targets() {
    let w = World::new().grant(P, builtin(VM_DATA_ACCESS_ADMIN), RG);
    // Actions of the conditioned block that the condition does not target: met plainly.
    for op in [
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        "Microsoft.Network/virtualNetworks/read",
        "Microsoft.Authorization/roleDefinitions/read",
    ] {
        assert!(granted(&w.op(Plane::Control, op, RG)), "{op}");
    }
    let reads = custom(
        "needs-reads",
        &[
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Compute/virtualMachines/instanceView/read",
        ],
        &[],
    );
    assert!(matches!(w.role(&reads, RG), Requirement::Met(_)));
    // The targeted actions stay conditional, and the basis says where the condition sits.
    for op in [
        ROLE_ASSIGNMENT_WRITE,
        "Microsoft.Authorization/roleAssignments/delete",
    ] {
        match w.op(Plane::Control, op, RG) {
            Decision::Conditional(basis) => assert!(
                matches!(
                    &basis.condition,
                    Some(Condition::OnRoleDefinition { targets: Some(t), .. })
                        if t.iter().any(|a| a == ROLE_ASSIGNMENT_WRITE)
                ),
                "{basis:?}"
            ),
            other => panic!("{op}: {other:?}"),
        }
    }
}

#[test]
fn rule10_a_definition_condition_of_unknown_reach_conditions_the_whole_block() {
    let mut role = builtin(VM_DATA_ACCESS_ADMIN);
    role.blocks[0].condition = Some(
        "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEquals 'User'"
            .into(),
    );
    let w = World::new().grant(P, role, RG);
    match w.op(
        Plane::Control,
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        RG,
    ) {
        Decision::Conditional(basis) => assert!(matches!(
            basis.condition,
            Some(Condition::OnRoleDefinition { targets: None, .. })
        )),
        other => panic!("{other:?}"),
    }
}

#[test]
fn conditions_are_worded_by_where_they_sit_and_what_they_restrict() {
    let w = World::new().grant(P, builtin(VM_DATA_ACCESS_ADMIN), RG);
    let Decision::Conditional(basis) = w.op(Plane::Control, ROLE_ASSIGNMENT_WRITE, RG) else {
        panic!("conditional expected");
    };
    let text = basis.describe_condition().unwrap();
    assert!(
        text.starts_with(&format!("the definition of {VM_DATA_ACCESS_ADMIN} carries a condition on its permission block that restricts Microsoft.Authorization/roleAssignments/write, Microsoft.Authorization/roleAssignments/delete: ((!(ActionMatches")),
        "{text}"
    );
    assert!(!text.contains("assignment carries"), "{text}");

    let mut w = World::new().grant(P, builtin("Storage Blob Data Reader"), ACCOUNT);
    let condition = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x'";
    w.assignments[0].condition = Some(condition.into());
    let Decision::Conditional(basis) = w.op(Plane::Data, BLOB_READ, ACCOUNT) else {
        panic!("conditional expected");
    };
    assert_eq!(
        basis.describe_condition().unwrap(),
        format!("the assignment of Storage Blob Data Reader carries a condition that restricts every operation it grants: {condition}")
    );

    let mut role = builtin(VM_DATA_ACCESS_ADMIN);
    role.blocks[0].condition = Some("@Request[x] StringEquals 'y'".into());
    let w = World::new().grant(P, role, RG);
    let Decision::Conditional(basis) =
        w.op(Plane::Control, "Microsoft.Network/virtualNetworks/read", RG)
    else {
        panic!("conditional expected");
    };
    assert_eq!(
        basis.describe_condition().unwrap(),
        format!("the definition of {VM_DATA_ACCESS_ADMIN} carries a condition on its permission block that may restrict every action of the block: @Request[x] StringEquals 'y'")
    );
    let unconditional = World::new().grant(P, builtin("Reader"), RG);
    let Decision::Granted(basis) =
        unconditional.op(Plane::Control, "Microsoft.Network/virtualNetworks/read", RG)
    else {
        panic!("granted expected");
    };
    assert_eq!(basis.describe_condition(), None);
}

#[test]
fn rule11_every_permission_block_counts() {
    let mut two_blocks = custom("c2", &["Microsoft.Compute/disks/read"], &[]);
    two_blocks.blocks.push(PermissionBlock {
        actions: vec!["Microsoft.Authorization/roleAssignments/write".into()],
        condition: Some(
            "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})))".into(),
        ),
        ..Default::default()
    });
    let w = World::new().grant(P, two_blocks, RG);
    assert!(matches!(
        w.op(
            Plane::Control,
            "Microsoft.Authorization/roleAssignments/write",
            RG
        ),
        Decision::Conditional(_)
    ));
}

#[test]
fn rule12_roles_match_by_guid() {
    let mut w = World::new().grant(P, builtin("Reader"), SUB);
    w.assignments[0].role_guid = w.assignments[0].role_guid.to_uppercase();
    assert!(matches!(
        w.role(&builtin("Reader"), RG),
        Requirement::Met(_)
    ));
}

#[test]
fn role_requirements_accept_supersets_and_reject_subsets() {
    let cases = [
        ("Owner", "Contributor", true),
        ("Contributor", "Reader", true),
        ("Contributor", "Disk Snapshot Contributor", true),
        ("Reader", "Contributor", false),
        ("Contributor", "Owner", false),
        (
            "Storage Account Contributor",
            "Storage Blob Data Reader",
            false,
        ),
        ("Storage Blob Data Owner", "Storage Blob Data Reader", true),
        (
            "Virtual Machine Contributor",
            "Disk Snapshot Contributor",
            false,
        ),
    ];
    for (held, required, met) in cases {
        let w = World::new().grant(P, builtin(held), SUB);
        let result = w.role(&builtin(required), RG);
        assert_eq!(
            matches!(result, Requirement::Met(_)),
            met,
            "{held} holding {required}: {result:?}"
        );
    }
}

fn world_strategy() -> impl Strategy<Value = (Vec<(usize, usize)>, usize)> {
    (
        proptest::collection::vec((0usize..6, 0usize..3), 0..5),
        0usize..6,
    )
}

const ROLES: [&str; 6] = [
    "Owner",
    "Contributor",
    "Reader",
    "Storage Blob Data Reader",
    "Disk Snapshot Contributor",
    "Virtual Machine Contributor",
];
const SCOPES: [&str; 3] = [SUB, RG, ACCOUNT];
const OPS: [(Plane, &str); 5] = [
    (Plane::Control, "Microsoft.Compute/disks/write"),
    (
        Plane::Control,
        "Microsoft.Storage/storageAccounts/listKeys/action",
    ),
    (
        Plane::Control,
        "Microsoft.Authorization/roleAssignments/write",
    ),
    (Plane::Data, BLOB_READ),
    (
        Plane::Control,
        "Microsoft.Compute/snapshots/beginGetAccess/action",
    ),
];

fn world_of(grants: &[(usize, usize)]) -> World {
    grants.iter().fold(World::new(), |w, (r, s)| {
        w.grant(P, builtin(ROLES[*r]), SCOPES[*s])
    })
}

proptest! {
    #[test]
    fn adding_an_assignment_never_removes_a_grant((grants, extra) in world_strategy()) {
        let before = world_of(&grants);
        let after = world_of(&grants).grant(P, builtin(ROLES[extra]), RG);
        for (plane, op) in OPS {
            if granted(&before.op(plane, op, ACCOUNT)) {
                prop_assert!(granted(&after.op(plane, op, ACCOUNT)), "{op}");
            }
        }
    }

    #[test]
    fn adding_a_deny_never_adds_a_grant((grants, _) in world_strategy(), child in any::<bool>()) {
        let before = world_of(&grants);
        let mut deny = node_rg_lockdown(&[], child);
        deny.scope = RG.into();
        let after = world_of(&grants).deny(deny);
        for (plane, op) in OPS {
            if granted(&after.op(plane, op, ACCOUNT)) {
                prop_assert!(granted(&before.op(plane, op, ACCOUNT)), "{op}");
            }
        }
    }

    #[test]
    fn decisions_are_invariant_under_ascii_case((grants, _) in world_strategy()) {
        let lower = world_of(&grants);
        let mut upper = world_of(&grants);
        for a in &mut upper.assignments {
            a.scope = a.scope.to_uppercase();
            a.principal_id = a.principal_id.to_uppercase();
        }
        for (plane, op) in OPS {
            prop_assert_eq!(
                granted(&lower.op(plane, op, ACCOUNT)),
                granted(&upper.rbac().decide(&principal(), plane, &op.to_uppercase(), &[], &ACCOUNT.to_lowercase()))
            );
        }
    }
}

const OTHER_GROUP: &str = "77777777-7777-7777-7777-777777777777";

/// A deny of writes on the node resource group naming one group, as a lockdown that a
/// platform team scopes to a group would.
fn group_deny(group: &str) -> DenyAssignment {
    let mut deny = node_rg_lockdown(&[], true);
    deny.name = "deny writes to group".into();
    deny.principals = vec![group.into()];
    deny
}

#[test]
fn rule9_a_deny_naming_an_unread_group_may_apply() {
    let write = "Microsoft.Compute/disks/write";
    let w = World::new()
        .grant(P, builtin("Contributor"), SUB)
        .deny(group_deny(OTHER_GROUP));
    // Groups unread: the deny may apply, naming the deny and the group.
    assert_eq!(
        w.op(Plane::Control, write, NODE_RG),
        Decision::PossiblyDenied {
            deny: "deny writes to group".into(),
            group: OTHER_GROUP.into(),
        }
    );
    match w.role(&builtin("Contributor"), NODE_RG) {
        Requirement::PossiblyDenied(list) => {
            assert_eq!(list[0].1, "deny writes to group");
            assert_eq!(list[0].2, OTHER_GROUP);
        }
        other => panic!("{other:?}"),
    }
    // What the deny does not block, or where it does not reach, is granted as before.
    assert!(granted(&w.op(
        Plane::Control,
        "Microsoft.Compute/disks/read",
        NODE_RG
    )));
    assert!(granted(&w.op(Plane::Control, write, RG)));
    // A missing grant is still missing: the deny does not soften it.
    assert_eq!(
        w.op(
            Plane::Control,
            "Microsoft.Authorization/roleAssignments/write",
            NODE_RG
        ),
        Decision::NotGranted
    );
    // A deny naming the principal itself or all principals is decided, not unresolved.
    for named in [P, ALL_PRINCIPALS] {
        let w = World::new()
            .grant(P, builtin("Contributor"), SUB)
            .deny(group_deny(named));
        assert!(matches!(
            w.op(Plane::Control, write, NODE_RG),
            Decision::Denied { .. }
        ));
    }
}

#[test]
fn rule9_read_group_memberships_decide_a_group_deny() {
    let write = "Microsoft.Compute/disks/write";
    let w = World::new()
        .grant(P, builtin("Contributor"), SUB)
        .deny(group_deny(OTHER_GROUP));
    let outside = Principal {
        groups_complete: true,
        ..principal()
    };
    assert!(granted(&w.rbac().decide(
        &outside,
        Plane::Control,
        write,
        &[],
        NODE_RG
    )));
    assert!(matches!(
        summarize(
            &w.rbac()
                .check_role(&outside, &builtin("Contributor"), NODE_RG)
        ),
        Requirement::Met(_)
    ));
    let member = Principal {
        groups: vec![GROUP.into(), OTHER_GROUP.into()],
        groups_complete: true,
        ..principal()
    };
    assert!(matches!(
        w.rbac()
            .decide(&member, Plane::Control, write, &[], NODE_RG),
        Decision::Denied { .. }
    ));
    // An exclusion through a group read from Graph is honoured too.
    let mut excluded = group_deny(ALL_PRINCIPALS);
    excluded.exclude_principals = vec![OTHER_GROUP.into()];
    let w = World::new()
        .grant(P, builtin("Contributor"), SUB)
        .deny(excluded);
    assert!(granted(&w.rbac().decide(
        &member,
        Plane::Control,
        write,
        &[],
        NODE_RG
    )));
}

#[test]
fn rule9_a_deny_naming_a_user_or_service_principal_is_no_group_to_resolve() {
    let write = "Microsoft.Compute/disks/write";
    let mut deny = group_deny(OTHER_GROUP);
    deny.non_group_principals = vec![OTHER_GROUP.to_ascii_uppercase()];
    let w = World::new()
        .grant(P, builtin("Contributor"), SUB)
        .deny(deny.clone());
    // Typed as a user or service principal, it cannot hold P as a member: the grant stands,
    // and there is no group whose membership would need reading.
    assert!(granted(&w.op(Plane::Control, write, NODE_RG)));
    assert_eq!(deny.other_principal(&Principal::default()), None);
}
