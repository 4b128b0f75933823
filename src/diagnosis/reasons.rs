//! The versioned mapping from recorded error codes (Azure Backup) and reason patterns
//! (Portworx Backup / Stork) to the check ids that explain them: `diagnosis.json` in
//! `src/requirements`, each entry with the documentation it comes from.
//!
//! Only documented codes and texts are listed; an entry with no checks is documented but
//! no prerequisite check covers its cause. This module only matches: it never decides
//! which cluster a check runs on (the judge does, from an entry's [`Side`]).

use super::{Product, Reason};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The whole mapping data file.
#[derive(Debug, Deserialize)]
pub struct Mapping {
    pub version: String,
    /// Source id → where the entries citing it come from.
    pub sources: BTreeMap<String, Source>,
    pub azure_backup: Vec<CodeEntry>,
    pub pxb: Vec<PatternEntry>,
}

/// A documentation page or source file entries are taken from.
#[derive(Debug, Deserialize)]
pub struct Source {
    pub title: String,
    pub url: String,
    /// `owner/repo@commit`, or the date the page was read.
    pub revision: String,
}

/// Which cluster of a failure an entry's checks concern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The backed-up cluster.
    Source,
    /// The cluster restored onto.
    Target,
    Both,
}

/// What an entry says, whatever it matches by.
#[derive(Debug, Deserialize)]
pub struct Mapped {
    /// Check ids of the registry, in the data file's order; empty when no check covers it.
    pub checks: Vec<String>,
    pub side: Side,
    /// A short quote or summary of the documented cause.
    pub cause: String,
    /// A key of [`Mapping::sources`].
    pub source: String,
}

/// An Azure Backup error code.
#[derive(Debug, Deserialize)]
pub struct CodeEntry {
    pub code: String,
    #[serde(flatten)]
    pub mapped: Mapped,
}

/// A Stork reason pattern: every `all_of` substring (lowercase) appears in the reason.
#[derive(Debug, Deserialize)]
pub struct PatternEntry {
    pub id: String,
    pub all_of: Vec<String>,
    #[serde(flatten)]
    pub mapped: Mapped,
}

static MAPPING: LazyLock<Mapping> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../requirements/diagnosis.json"))
        .expect("bundled diagnosis mapping parses")
});

pub fn mapping() -> &'static Mapping {
    &MAPPING
}

/// The version of the mapping data, as reports name it.
pub fn version() -> &'static str {
    &MAPPING.version
}

/// One entry a reason matched: the code or pattern id it matched by, and what it maps to.
#[derive(Debug)]
pub struct Hit {
    pub matched: &'static str,
    pub mapped: &'static Mapped,
}

impl Mapping {
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.get(id)
    }

    /// The entries `reason` matches: by code (case-insensitive) for Azure Backup, by
    /// every substring of a pattern appearing in the lowercased message for PXB.
    pub fn hits(&'static self, product: Product, reason: &Reason) -> Vec<Hit> {
        match product {
            Product::AzureBackup => {
                let Some(code) = reason.code.as_deref() else {
                    return Vec::new();
                };
                self.azure_backup
                    .iter()
                    .filter(|e| e.code.eq_ignore_ascii_case(code))
                    .map(|e| Hit {
                        matched: &e.code,
                        mapped: &e.mapped,
                    })
                    .collect()
            }
            Product::Pxb => {
                let message = reason.message.to_lowercase();
                self.pxb
                    .iter()
                    .filter(|e| e.all_of.iter().all(|part| message.contains(part.as_str())))
                    .map(|e| Hit {
                        matched: &e.id,
                        mapped: &e.mapped,
                    })
                    .collect()
            }
        }
    }
}

impl Mapped {
    /// Where the entry comes from: its source's URL, title and revision (the source id for
    /// each, were the data file to name an unlisted source; a test keeps that from happening).
    pub fn provenance(&'static self) -> (&'static str, &'static str, &'static str) {
        match MAPPING.source(&self.source) {
            Some(s) => (s.url.as_str(), s.title.as_str(), s.revision.as_str()),
            None => (self.source.as_str(), self.source.as_str(), ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{find, REGISTRY};
    use std::collections::BTreeSet;

    fn all_mapped() -> impl Iterator<Item = (&'static str, &'static Mapped)> {
        let m = mapping();
        m.azure_backup
            .iter()
            .map(|e| (e.code.as_str(), &e.mapped))
            .chain(m.pxb.iter().map(|e| (e.id.as_str(), &e.mapped)))
    }

    #[test]
    fn every_check_id_is_in_the_registry() {
        for (key, mapped) in all_mapped() {
            for id in &mapped.checks {
                assert!(
                    REGISTRY.iter().any(|c| c.id == id),
                    "{key}: unknown check id {id}"
                );
            }
        }
    }

    #[test]
    fn every_source_is_listed_with_a_url_and_revision() {
        for (key, mapped) in all_mapped() {
            let source = mapping()
                .source(&mapped.source)
                .unwrap_or_else(|| panic!("{key}: unknown source {}", mapped.source));
            assert!(source.url.starts_with("https://"), "{key}");
            assert!(!source.revision.is_empty() && !source.title.is_empty());
            assert!(!mapped.cause.is_empty(), "{key}");
        }
    }

    #[test]
    fn codes_and_pattern_ids_are_unique() {
        let mut codes = BTreeSet::new();
        for e in &mapping().azure_backup {
            assert!(
                codes.insert(e.code.to_ascii_lowercase()),
                "{} twice",
                e.code
            );
        }
        let mut ids = BTreeSet::new();
        for e in &mapping().pxb {
            assert!(ids.insert(e.id.clone()), "{} twice", e.id);
        }
    }

    #[test]
    fn every_pattern_has_lowercase_substrings() {
        for e in &mapping().pxb {
            assert!(!e.all_of.is_empty(), "{}", e.id);
            for part in &e.all_of {
                assert!(!part.trim().is_empty(), "{}", e.id);
                assert_eq!(part, &part.to_lowercase(), "{}", e.id);
            }
        }
    }

    #[test]
    fn version_is_the_data_files() {
        assert!(version().starts_with("diagnosis-"));
    }

    fn reason(code: Option<&str>, message: &str) -> Reason {
        Reason {
            code: code.map(str::to_string),
            message: message.to_string(),
            recommended_action: None,
            subject: None,
        }
    }

    #[test]
    fn azure_codes_match_case_insensitively_and_unknown_codes_do_not() {
        let hits = mapping().hits(
            Product::AzureBackup,
            &reason(Some("userErrorKubernetesBackupExtensionNotFoundERROR"), "x"),
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].matched,
            "UserErrorKubernetesBackupExtensionNotFoundError"
        );
        assert_eq!(hits[0].mapped.checks, ["backup-extension"]);
        assert!(hits[0]
            .mapped
            .provenance()
            .0
            .starts_with("https://learn.microsoft.com/"));
        let unknown = reason(Some("UserErrorSomethingNew"), "backup extension not found");
        assert!(mapping().hits(Product::AzureBackup, &unknown).is_empty());
        // A code is never matched as a PXB text, nor a text as an Azure code.
        assert!(mapping()
            .hits(
                Product::AzureBackup,
                &reason(None, "volume snapshot class cannot be empty for pvc [a]")
            )
            .is_empty());
    }

    #[test]
    fn pxb_patterns_need_every_substring() {
        let stork = "failed to ensure volumesnapshotclass was created: volume snapshot class cannot be empty for pvc [data-postgres-0] having driver [disk.csi.azure.com] or use 'default' to choose the default snapshot class, update/use csiSnapshotMapping in case of multiple provisioner";
        let hits = mapping().hits(Product::Pxb, &reason(None, stork));
        let ids: Vec<_> = hits.iter().map(|h| h.matched).collect();
        assert_eq!(ids, ["csi-snapshot-class-not-mapped"]);
        assert_eq!(
            find(&hits[0].mapped.checks[0]).map(|c| c.id),
            Some("volume-snapshot-class")
        );
        // "no such host" alone is not the blob account's host.
        let dns = "dial tcp: lookup login.microsoftonline.com: no such host";
        assert!(mapping().hits(Product::Pxb, &reason(None, dns)).is_empty());
        let blob = "blob (key \"x\") (code=NotFound): dial tcp: lookup acct.blob.core.windows.net: no such host";
        let ids: Vec<_> = mapping()
            .hits(Product::Pxb, &reason(None, blob))
            .iter()
            .map(|h| h.matched)
            .collect();
        assert_eq!(ids, ["blob-account-unknown-host", "blob-not-found"]);
    }
}
