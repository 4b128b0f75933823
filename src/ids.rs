//! ARM resource IDs: parsing user input and comparing IDs the way ARM does.
//!
//! ARM treats IDs, segment names and resource types case-insensitively, and published
//! responses mix `resourceGroups`/`resourcegroups` freely, so every comparison here
//! ignores ASCII case. This module does no I/O and never guesses: an ID that does not
//! have the expected shape is an error for the caller to report.

use std::fmt;

/// An ID that is not an ARM ID of the shape the caller needs; the text is the user's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("malformed resource ID '{input}': {why}")]
    Malformed { input: String, why: &'static str },
    #[error("resource ID '{input}' is of type '{found}', expected '{expected}'")]
    WrongType {
        input: String,
        found: String,
        expected: String,
    },
    #[error("'{0}' is not a resource group ID or name")]
    NotResourceGroup(String),
}

/// A parsed ARM ID of a subscription, a resource group, or a (possibly nested) resource.
#[derive(Clone, Debug)]
pub struct ResourceId {
    raw: String,
    subscription: String,
    resource_group: Option<String>,
    /// `Microsoft.Storage/storageAccounts` for `.../providers/Microsoft.Storage/storageAccounts/x`;
    /// nested types are joined: `Microsoft.X/parents/children`.
    resource_type: Option<String>,
    /// The resource names along the type path, outermost first.
    names: Vec<String>,
}

impl ResourceId {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        // Blanks and trailing slashes in any mix: what is kept must parse to itself.
        let trimmed = input
            .trim_start()
            .trim_end_matches(|c: char| c == '/' || c.is_whitespace());
        let bad = |why: &'static str| IdError::Malformed {
            input: input.to_string(),
            why,
        };
        if !trimmed.starts_with('/') {
            return Err(bad("it must start with /subscriptions/"));
        }
        let segments: Vec<&str> = trimmed[1..].split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(bad("it has an empty segment"));
        }
        if segments.len() < 2 || !segments[0].eq_ignore_ascii_case("subscriptions") {
            return Err(bad("it must start with /subscriptions/{subscriptionId}"));
        }
        let mut id = ResourceId {
            raw: trimmed.to_string(),
            subscription: segments[1].to_string(),
            resource_group: None,
            resource_type: None,
            names: Vec::new(),
        };
        let mut rest = &segments[2..];
        if rest
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("resourceGroups"))
        {
            let Some(rg) = rest.get(1) else {
                return Err(bad("resourceGroups has no name"));
            };
            id.resource_group = Some(rg.to_string());
            rest = &rest[2..];
        }
        if rest.is_empty() {
            return Ok(id);
        }
        if !rest[0].eq_ignore_ascii_case("providers") || rest.len() < 4 {
            return Err(bad("expected /providers/{namespace}/{type}/{name}"));
        }
        let namespace = rest[1];
        let pairs = &rest[2..];
        if pairs.len() % 2 != 0 {
            return Err(bad("a resource type has no name"));
        }
        let mut resource_type = namespace.to_string();
        for pair in pairs.chunks(2) {
            resource_type.push('/');
            resource_type.push_str(pair[0]);
            id.names.push(pair[1].to_string());
        }
        id.resource_type = Some(resource_type);
        Ok(id)
    }

    /// Parses and requires the given resource type (case-insensitive).
    pub fn parse_typed(input: &str, expected_type: &str) -> Result<Self, IdError> {
        let id = Self::parse(input)?;
        match id.resource_type() {
            Some(t) if t.eq_ignore_ascii_case(expected_type) => Ok(id),
            other => Err(IdError::WrongType {
                input: input.to_string(),
                found: other
                    .unwrap_or("resource group or subscription")
                    .to_string(),
                expected: expected_type.to_string(),
            }),
        }
    }

    /// Parses a resource group ID, or a bare name taken to be in `subscription`.
    pub fn parse_resource_group(input: &str, subscription: &str) -> Result<Self, IdError> {
        let id = if input.trim().starts_with('/') {
            Self::parse(input)?
        } else {
            Self::resource_group_id(subscription, input.trim())?
        };
        if id.resource_group.is_none() || id.resource_type.is_some() {
            return Err(IdError::NotResourceGroup(input.to_string()));
        }
        Ok(id)
    }

    pub fn resource_group_id(subscription: &str, group: &str) -> Result<Self, IdError> {
        Self::parse(&format!(
            "/subscriptions/{subscription}/resourceGroups/{group}"
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
    pub fn subscription(&self) -> &str {
        &self.subscription
    }
    pub fn resource_group(&self) -> Option<&str> {
        self.resource_group.as_deref()
    }
    pub fn resource_type(&self) -> Option<&str> {
        self.resource_type.as_deref()
    }
    /// The innermost resource name (the group name for a resource group ID).
    pub fn name(&self) -> &str {
        self.names
            .last()
            .or(self.resource_group.as_ref())
            .unwrap_or(&self.subscription)
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.raw.eq_ignore_ascii_case(&other.raw)
    }
}
impl Eq for ResourceId {}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Whether two ID strings from ARM name the same resource (case-insensitive, trailing `/` ignored).
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str =
        "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";

    #[test]
    fn parses_a_resource_id() {
        let id = ResourceId::parse(CLUSTER).unwrap();
        assert_eq!(id.subscription(), "sub1");
        assert_eq!(id.resource_group(), Some("rg1"));
        assert_eq!(
            id.resource_type(),
            Some("Microsoft.ContainerService/managedClusters")
        );
        assert_eq!(id.name(), "aks1");
    }

    #[test]
    fn nested_types_are_joined() {
        let id = ResourceId::parse(
            "/subscriptions/s/resourcegroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c",
        )
        .unwrap();
        assert_eq!(
            id.resource_type(),
            Some("Microsoft.Storage/storageAccounts/blobServices/containers")
        );
        assert_eq!(id.name(), "c");
        assert_eq!(id.resource_group(), Some("g"));
    }

    #[test]
    fn typed_parsing_ignores_case_and_rejects_other_types() {
        let upper = CLUSTER
            .replace("managedClusters", "ManagedClusters")
            .replace("resourceGroups", "resourcegroups");
        assert!(
            ResourceId::parse_typed(&upper, "Microsoft.ContainerService/managedClusters").is_ok()
        );
        let err =
            ResourceId::parse_typed(CLUSTER, "Microsoft.Storage/storageAccounts").unwrap_err();
        assert!(
            matches!(&err, IdError::WrongType { expected, .. } if expected == "Microsoft.Storage/storageAccounts"),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("expected 'Microsoft.Storage/storageAccounts'"));
    }

    #[test]
    fn malformed_ids_are_errors_not_panics() {
        for bad in [
            "",
            "subscriptions/s",
            "/subscriptions",
            "/subscriptions//resourceGroups/g",
            "/subscriptions/s/resourceGroups",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.X",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.X/things",
            "/subscriptions/s/resourceGroups/g/foo/bar",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn resource_group_accepts_id_or_bare_name() {
        let by_name = ResourceId::parse_resource_group("snap-rg", "sub1").unwrap();
        let by_id =
            ResourceId::parse_resource_group("/subscriptions/SUB1/resourcegroups/SNAP-RG", "x")
                .unwrap();
        assert_eq!(by_name, by_id);
        assert!(ResourceId::parse_resource_group(CLUSTER, "sub1").is_err());
    }

    #[test]
    fn comparison_is_case_insensitive() {
        assert!(same_id(CLUSTER, &CLUSTER.to_uppercase()));
        assert!(same_id(&format!("{CLUSTER}/"), CLUSTER));
        assert!(!same_id(CLUSTER, &format!("{CLUSTER}2")));
    }

    #[test]
    fn blanks_and_trailing_slashes_in_any_mix_are_dropped() {
        let id = ResourceId::parse(&format!(" {CLUSTER} / /\n")).unwrap();
        assert_eq!(id.as_str(), CLUSTER);
        assert_eq!(ResourceId::parse(id.as_str()).unwrap(), id);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC*") {
            crate::harness::resource_id(input.as_bytes());
        }

        #[test]
        fn equality_is_invariant_under_case(upper in proptest::bool::ANY) {
            let other = if upper { CLUSTER.to_uppercase() } else { CLUSTER.to_lowercase() };
            proptest::prop_assert_eq!(ResourceId::parse(CLUSTER).unwrap(), ResourceId::parse(&other).unwrap());
        }
    }
}
