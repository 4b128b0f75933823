//! Secrets (the storage account key given to PXB, keys returned by `listKeys`): a type that
//! never prints its value, compared in constant time. There is deliberately no `Display`,
//! no `Serialize` and no accessor that returns the text.

use std::fmt;
use subtle::ConstantTimeEq;

pub struct Secret(String);

impl Secret {
    /// A key file's or variable's text, with the trailing newline an editor leaves trimmed.
    pub fn new(value: &str) -> Option<Self> {
        let trimmed = value.trim_end_matches(['\n', '\r']).trim();
        (!trimmed.is_empty()).then(|| Secret(trimmed.to_string()))
    }

    /// Constant-time equality (the length is not hidden; key lengths are public knowledge).
    pub fn matches(&self, other: &Secret) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value_and_comparison_works() {
        let key = Secret::new("c2VjcmV0LWtleQ==\n").unwrap();
        assert_eq!(format!("{key:?}"), "Secret([redacted])");
        assert!(key.matches(&Secret::new("c2VjcmV0LWtleQ==").unwrap()));
        assert!(!key.matches(&Secret::new("c2VjcmV0LWtleR==").unwrap()));
        assert!(!key.matches(&Secret::new("short").unwrap()));
        assert!(Secret::new("\n").is_none());
    }
}
