//! The versioned mapping from recorded error codes (Azure Backup) and reason patterns
//! (Portworx Backup / Stork) to the check ids that explain them: `diagnosis.json` in
//! `src/requirements`, each entry with the documentation it comes from.

pub const VERSION: &str = "unset";
