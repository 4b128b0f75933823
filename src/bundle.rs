//! Support bundles: the raw ARM reads of one collection, redacted, as plain JSON files.
//!
//! A bundle is a directory, or the same files in a `.tar.gz` (one file to attach to a ticket).
//! Layout:
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

/// The bundle's files as (relative path, text): the one layout both forms share.
fn files(manifest: &Manifest, raws: &RawReads) -> Result<Vec<(String, String)>> {
    let mut files = vec![("manifest.json".to_string(), to_pretty(manifest)?)];
    for (index, raw) in raws.iter().enumerate() {
        let mut raw = raw.clone();
        if let Some(body) = raw.body.as_mut() {
            redact(body);
        }
        files.push((
            format!("reads/{:03}-{}.json", index + 1, file_stem(&raw.path)),
            to_pretty(&raw)?,
        ));
    }
    Ok(files)
}

/// Whether a path names a single-file bundle.
pub fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Writes a bundle: a `.tar.gz`/`.tgz` file to attach to a ticket, or a directory.
pub fn write(out: &Path, manifest: &Manifest, raws: &RawReads) -> Result<()> {
    let files = files(manifest, raws)?;
    if is_archive(out) {
        if out.exists() {
            bail!("{} exists; choose a new --out", out.display());
        }
        let file =
            fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        ));
        for (name, text) in &files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            archive.append_data(&mut header, format!("bundle/{name}"), text.as_bytes())?;
        }
        archive
            .into_inner()?
            .finish()
            .with_context(|| format!("cannot write {}", out.display()))?;
        return Ok(());
    }
    if out.exists()
        && fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not an empty directory; choose a new --out",
            out.display()
        );
    }
    for (name, text) in &files {
        let path = out.join(name);
        fs::create_dir_all(path.parent().expect("bundle files are in a folder"))
            .with_context(|| format!("cannot create {}", out.display()))?;
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// A bundle file larger than this is refused: no read record is anywhere near it.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// The bundle's files (relative path → text), from a directory or an archive.
fn load(path: &Path) -> Result<Vec<(String, String)>> {
    if path.is_file() {
        let file =
            fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        return archive_files(file, &path.display().to_string());
    }
    let manifest = path.join("manifest.json");
    let mut files = vec![(
        "manifest.json".to_string(),
        fs::read_to_string(&manifest).with_context(|| {
            format!(
                "{} is not a bundle: cannot read {}",
                path.display(),
                manifest.display()
            )
        })?,
    )];
    let reads = path.join("reads");
    // No reads folder reads as no reads: the manifest's version check comes first, and a
    // bundle without its cluster read is refused later with that reason.
    let entries = if reads.exists() {
        fs::read_dir(&reads)
            .with_context(|| format!("cannot read {}", reads.display()))?
            .collect()
    } else {
        Vec::new()
    };
    for entry in entries {
        let file = entry?.path();
        if file.extension().is_some_and(|e| e == "json") {
            if fs::metadata(&file)?.len() > MAX_FILE {
                bail!(
                    "{} is over {} MiB; not a read record",
                    file.display(),
                    MAX_FILE >> 20
                );
            }
            let text = fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            files.push((
                format!(
                    "reads/{}",
                    file.file_name().unwrap_or_default().to_string_lossy()
                ),
                text,
            ));
        }
    }
    Ok(files)
}

/// The files of a `.tar.gz` bundle read from `reader`; `origin` names it in errors.
pub fn archive_files(reader: impl std::io::Read, origin: &str) -> Result<Vec<(String, String)>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut files = Vec::new();
    for entry in archive
        .entries()
        .with_context(|| format!("{origin} is not a .tar.gz bundle"))?
    {
        let entry = entry.with_context(|| format!("{origin} is not a readable .tar.gz bundle"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if entry.size() > MAX_FILE {
            bail!(
                "{origin} holds a file over {} MiB; not a pxb-preflight bundle",
                MAX_FILE >> 20
            );
        }
        let name = entry
            .path()?
            .to_string_lossy()
            .trim_start_matches("bundle/")
            .to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(entry, MAX_FILE), &mut text)
            .with_context(|| format!("{name} in {origin} is not UTF-8 text"))?;
        files.push((name, text));
    }
    Ok(files)
}

/// Reads a bundle directory or `.tar.gz` file.
pub fn read(path: &Path) -> Result<(Manifest, RawReads)> {
    parse(load(path)?, &path.display().to_string())
}

/// A bundle's manifest and reads from its files (relative path → text); `origin` names
/// the bundle in errors.
pub fn parse(mut files: Vec<(String, String)>, origin: &str) -> Result<(Manifest, RawReads)> {
    files.sort();
    let Some(manifest_text) = files
        .iter()
        .find(|(name, _)| name == "manifest.json")
        .map(|(_, t)| t)
    else {
        bail!("{origin} is not a bundle: it has no manifest.json");
    };
    let header: Value = serde_json::from_str(manifest_text)
        .with_context(|| format!("the manifest of {origin} is not valid JSON"))?;
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        bail!("{origin} is not a pxb-preflight bundle (its manifest has no format \"{FORMAT}\")");
    }
    match header.get("format_version").and_then(Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) if v > u64::from(FORMAT_VERSION) => bail!(
            "the bundle has format version {v}, newer than this pxb-preflight understands ({FORMAT_VERSION}); upgrade pxb-preflight"
        ),
        other => bail!("the bundle has an unsupported format version {other:?}"),
    }
    let manifest: Manifest = serde_json::from_value(header)
        .with_context(|| format!("the manifest of {origin} is malformed"))?;
    let mut raws = RawReads::default();
    for (name, text) in files
        .iter()
        .filter(|(name, _)| name.starts_with("reads/") && name.ends_with(".json"))
    {
        let raw: RawRead = serde_json::from_str(text)
            .with_context(|| format!("{name} is not a valid read record"))?;
        raws.insert(raw);
    }
    Ok((manifest, raws))
}

/// A one-screen summary of a bundle for support staff.
pub fn inspect(path: &Path) -> Result<String> {
    let (manifest, raws) = read(path)?;
    let mut out = format!(
        "bundle {}\n  format: {} v{}, written by pxb-preflight {}\n  collected at: {}\n  cluster: {}\n",
        path.display(),
        manifest.format,
        manifest.format_version,
        manifest.tool_version,
        manifest.collected_at,
        manifest.target.cluster
    );
    let target = serde_json::to_value(&manifest.target)?;
    for (key, value) in target
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "cluster")
    {
        out.push_str(&format!("  {key}: {value}\n"));
    }
    out.push_str(&format!(
        "  reads: {} ({} failed)\n",
        raws.len(),
        manifest.failed_reads.len()
    ));
    for failed in &manifest.failed_reads {
        let status = failed
            .status
            .map_or("no answer".to_string(), |s| format!("HTTP {s}"));
        out.push_str(&format!(
            "    failed: {} {} {}\n",
            failed.path, status, failed.code
        ));
    }
    Ok(out)
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
