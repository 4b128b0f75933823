//! The backup container's blob listing (the `blob` read), parsed once: each blob's name,
//! size and last-modified time, and whether the listing was cut short. Only the read's
//! identity and its body shape live here; what the listing means is the check's business.

use super::{BackupLocation, Observed};
use crate::reads::ArmRead;
use serde::Deserialize;

/// The container's blobs as listed (at most a few pages).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BlobListing {
    pub blobs: Vec<Blob>,
    /// Set when more blobs follow than were listed: the count is a lower bound.
    pub next_marker: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Blob {
    pub name: String,
    pub size: Option<u64>,
    pub last_modified: Option<String>,
}

impl BlobListing {
    pub fn is_complete(&self) -> bool {
        self.next_marker.is_none()
    }
}

impl BackupLocation {
    /// The container listing to read: once the account's read gives its blob endpoint and
    /// a container is known.
    pub fn blob_read(&self) -> Option<ArmRead> {
        let account = self.account.as_ref().ok()?;
        let endpoint = account
            .properties
            .primary_endpoints
            .as_ref()?
            .blob
            .clone()?;
        Some(ArmRead::BlobList {
            endpoint,
            container: self.plan.container.clone()?,
        })
    }
}

/// The container's listing, when it can be read (see [`BackupLocation::blob_read`]).
pub type Listing = Option<Observed<BlobListing>>;
