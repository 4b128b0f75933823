//! Support bundles: the raw ARM reads of one collection, redacted, as plain JSON files.
//!
//! Layout of a bundle directory:
//! - `manifest.json`: format name and version, tool version, collection time, the target
//!   and inputs, and every read that failed with its status;
//! - `reads/NNN-<name>.json`: one raw read each: method, path, api-version, status, and
//!   the body or the error.
//!
//! `check --bundle` replays these with no network. Secrets never reach a bundle: known
//! secret-bearing fields are replaced before writing, and keys are never collected.

use crate::reads::{RawRead, RawReads};
use crate::target::TargetRecord;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs;
use std::path::Path;

pub const FORMAT: &str = "pxb-preflight-bundle";
pub const FORMAT_VERSION: u32 = 1;
const REDACTED: &str = "[redacted]";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub collected_at: String,
    pub target: TargetRecord,
    #[serde(default)]
    pub failed_reads: Vec<FailedRead>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FailedRead {
    pub path: String,
    pub status: Option<u16>,
    pub code: String,
}

impl Manifest {
    /// The collection time: the "now" at which a bundle's verdicts are judged.
    pub fn collected_at(&self) -> Result<time::OffsetDateTime> {
        time::OffsetDateTime::parse(
            &self.collected_at,
            &time::format_description::well_known::Rfc3339,
        )
        .with_context(|| {
            format!(
                "the manifest's collected_at '{}' is not an RFC 3339 time",
                self.collected_at
            )
        })
    }

    pub fn new(target: TargetRecord, collected_at: String, raws: &RawReads) -> Self {
        let failed_reads = raws
            .iter()
            .filter_map(|r| {
                r.error.as_ref().map(|e| FailedRead {
                    path: r.path.clone(),
                    status: r.status,
                    code: e.code.clone(),
                })
            })
            .collect();
        Manifest {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            collected_at,
            target,
            failed_reads,
        }
    }
}

pub fn write(dir: &Path, manifest: &Manifest, raws: &RawReads) -> Result<()> {
    if dir.exists()
        && fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not an empty directory; choose a new --out",
            dir.display()
        );
    }
    let reads_dir = dir.join("reads");
    fs::create_dir_all(&reads_dir)
        .with_context(|| format!("cannot create {}", reads_dir.display()))?;
    for (index, raw) in raws.iter().enumerate() {
        let mut raw = raw.clone();
        if let Some(body) = raw.body.as_mut() {
            redact(body);
        }
        let file = reads_dir.join(format!("{:03}-{}.json", index + 1, file_stem(&raw.path)));
        fs::write(&file, to_pretty(&raw)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let manifest_path = dir.join("manifest.json");
    fs::write(&manifest_path, to_pretty(manifest)?)
        .with_context(|| format!("cannot write {}", manifest_path.display()))
}

pub fn read(dir: &Path) -> Result<(Manifest, RawReads)> {
    let manifest_path = dir.join("manifest.json");
    let text = fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "{} is not a bundle: cannot read {}",
            dir.display(),
            manifest_path.display()
        )
    })?;
    let header: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", manifest_path.display()))?;
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        bail!(
            "{} is not a pxb-preflight bundle manifest",
            manifest_path.display()
        );
    }
    match header.get("format_version").and_then(Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) if v > u64::from(FORMAT_VERSION) => bail!(
            "the bundle has format version {v}, newer than this pxb-preflight understands ({FORMAT_VERSION}); upgrade pxb-preflight"
        ),
        other => bail!("the bundle has an unsupported format version {other:?}"),
    }
    let manifest: Manifest = serde_json::from_value(header)
        .with_context(|| format!("{} is malformed", manifest_path.display()))?;
    let reads_dir = dir.join("reads");
    let mut files: Vec<_> = fs::read_dir(&reads_dir)
        .with_context(|| format!("cannot read {}", reads_dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut raws = RawReads::default();
    for file in files {
        let text =
            fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let raw: RawRead = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid read record", file.display()))?;
        raws.insert(raw);
    }
    Ok((manifest, raws))
}

fn to_pretty<T: Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// `…/managedClusters/aks1/trustedAccessRoleBindings` → `trustedaccessrolebindings-aks1`-like names.
fn file_stem(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let tail = segments
        .iter()
        .rev()
        .take(2)
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join("-");
    tail.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// Whether a JSON key holds a secret: write-only credentials, keys, tokens, protected settings.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "configurationprotectedsettings",
        "keys",
        "key1",
        "key2",
        "primarykey",
        "secondarykey",
        "accesstoken",
        "access_token",
        "refreshtoken",
        "connectionstring",
        "sastoken",
        "accountkey",
        "storageaccountkey",
    ];
    EXACT.contains(&k.as_str()) || k.contains("secret") || k.contains("password")
}

/// Replaces every secret-bearing value in a body, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_key(key) && !inner.is_null() {
                    *inner = Value::String(REDACTED.to_string());
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut body = json!({
            "properties": {
                "servicePrincipalProfile": {"clientId": "app", "secret": "s3cr3t"},
                "configurationProtectedSettings": {"a": "b"},
                "list": [{"adminPassword": "pw", "keyName": "key1"}],
                "keys": [{"keyName": "key1", "value": "k"}],
                "nullSecret": null
            }
        });
        redact(&mut body);
        let text = body.to_string();
        for secret in ["s3cr3t", "\"b\"", "\"pw\"", "\"k\""] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            body["properties"]["servicePrincipalProfile"]["clientId"],
            "app"
        );
        assert_eq!(body["properties"]["list"][0]["keyName"], "key1");
        assert!(body["properties"]["nullSecret"].is_null());
    }

    #[test]
    fn newer_format_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("manifest.json"),
            json!({"format": FORMAT, "format_version": 99}).to_string(),
        )
        .unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("newer than this pxb-preflight"), "{err}");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_stem("/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/AKS 1"), "managedclusters-aks_1");
    }
}
