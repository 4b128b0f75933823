//! RBAC scopes and their ancestry: `/`, management groups, subscriptions, resource groups,
//! resources and nested resources, compared segment by segment and case-insensitively
//! (`rg-aks` is not a parent of `rg-aks2`). A management group is an ancestor of a
//! subscription only when the caller supplies it as part of the subscription's chain.

fn segments(scope: &str) -> Vec<String> {
    scope
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

pub fn is_management_group(scope: &str) -> bool {
    let s = segments(scope);
    s.len() == 4
        && s[0] == "providers"
        && s[1] == "microsoft.management"
        && s[2] == "managementgroups"
}

/// Whether `ancestor` is `target` or one of its parents. `management_groups` are the scopes
/// of the target subscription's management-group chain (root to leaf order not needed).
pub fn is_at_or_above(ancestor: &str, target: &str, management_groups: &[String]) -> bool {
    let (a, t) = (segments(ancestor), segments(target));
    if a.is_empty() {
        return true; // the root scope "/"
    }
    if is_management_group(ancestor) {
        return management_groups.iter().any(|mg| same_scope(mg, ancestor))
            || same_scope(ancestor, target);
    }
    a.len() <= t.len() && a.iter().zip(&t).all(|(x, y)| x == y)
}

pub fn same_scope(a: &str, b: &str) -> bool {
    segments(a) == segments(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RG: &str = "/subscriptions/s/resourceGroups/rg-aks";
    const CLUSTER: &str = "/subscriptions/s/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/c";

    #[test]
    fn ancestry_is_segment_wise_and_case_insensitive() {
        assert!(is_at_or_above("/", CLUSTER, &[]));
        assert!(is_at_or_above("/subscriptions/S", CLUSTER, &[]));
        assert!(is_at_or_above(
            "/SUBSCRIPTIONS/s/resourcegroups/RG-AKS",
            CLUSTER,
            &[]
        ));
        assert!(is_at_or_above(CLUSTER, CLUSTER, &[]));
        assert!(
            !is_at_or_above("/subscriptions/s/resourceGroups/rg-ak", CLUSTER, &[]),
            "prefix of a name is not a parent"
        );
        assert!(
            !is_at_or_above("/subscriptions/s/resourceGroups/rg-aks2", RG, &[]),
            "sibling"
        );
        assert!(
            !is_at_or_above(CLUSTER, RG, &[]),
            "a child is not an ancestor"
        );
        let container = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c";
        assert!(is_at_or_above(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
            container,
            &[]
        ));
    }

    #[test]
    fn management_groups_need_the_chain() {
        let mg = "/providers/Microsoft.Management/managementGroups/platform";
        assert!(!is_at_or_above(mg, CLUSTER, &[]));
        assert!(is_at_or_above(
            mg,
            CLUSTER,
            &["/providers/microsoft.management/managementgroups/PLATFORM".to_string()]
        ));
    }
}
