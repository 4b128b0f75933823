//! Support bundles: the raw reads of one collection, redacted, as plain JSON files.
//!
//! A bundle is a directory, or the same files in a `.tar.gz` (one file to attach to a ticket).
//! Layout of format 2 (wire types in [`wire`]):
//! - `manifest.json`: format name and version, the version of the tool that collected,
//!   collection time, the target and inputs, and a summary of every read that failed;
//! - `reads/<source>-<slug>-<hash>.json`: one read each, named by what was read, never by
//!   its position, so adding a read renames nothing. `<source>` is `arm`, `graph`,
//!   `kubernetes`, `blob`, `resource-graph` or `probe`; `<slug>` is the last two segments
//!   of the lower-cased path without its query (`host-port-protocol` for a probe,
//!   `account-container` for a blob listing, the queried table for a Resource Graph
//!   query), for people; `<hash>` is 8 hex digits of the SHA-256 of the read's identity
//!   (lower-cased path and `$filter`), so two reads never share a name. A record states its
//!   `source`; an ARM record has method, path, api_version, filter, status and the body or
//!   the error (`kind`, ARM's `code` when it gave one, `message`); a Graph record (always a
//!   GET) has path (with its query), status and the body or the error; a probe record has
//!   host, port, protocol and the body; a `resource_graph` record has the query, its
//!   subscriptions, management_groups, authorization_scope_filter and page_size, status and
//!   the body (every page's rows in `data`) or the error.
//!
//! Format 1 bundles (numbered `reads/NNN-<name>.json`, probes disguised as method `TCP`,
//! string error codes) still load ([`v1`]), and `bundle upgrade` rewrites them as format 2.
//!
//! `check --bundle` replays these with no network. Secrets never reach a bundle: every read
//! is redacted as it enters the program (`crate::redact`: URL passwords and secret-bearing
//! fields), when the collector stores it and when a bundle is loaded (so replaying or
//! upgrading a bundle written before a redaction rule existed shows nothing it hides), and
//! keys are never collected.

mod v1;
mod wire;

use crate::diagnosis::Scope;
use crate::reads::{RawRead, RawReads, ReadError, Source};
use crate::target::TargetRecord;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use wire::{ManifestRecord, ReadRecord, SourceName};

pub const FORMAT: &str = "pxb-preflight-bundle";
/// The format this tool writes; it reads this one and every older one.
pub const FORMAT_VERSION: u32 = 2;

/// A bundle's manifest, whatever format it was read from.
#[derive(Debug)]
pub struct Manifest {
    /// The format the bundle was read in; a bundle is always written in [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The pxb-preflight version that collected the reads.
    pub tool_version: String,
    pub collected_at: String,
    /// The cluster and the inputs given; for a fleet bundle, empty (see `fleet`).
    pub target: TargetRecord,
    /// What `diagnose` looked for when the bundle was collected (the window, the job).
    pub diagnosis: Option<Scope>,
    /// A fleet bundle's scope and the clusters it checked.
    pub fleet: Option<FleetManifest>,
    /// Every read that failed, from the reads themselves.
    pub failed_reads: Vec<FailedRead>,
}

/// What a fleet run was asked for, and which clusters it checked (in order).
#[derive(Clone, Debug)]
pub struct FleetManifest {
    pub scope: crate::report::fleet::FleetScope,
    pub clusters: Vec<crate::ids::ResourceId>,
    /// The object ID of the principal that collected it, whose permissions were derived.
    pub caller: Option<String>,
}

#[derive(Debug)]
pub struct FailedRead {
    pub source: Source,
    pub status: Option<u16>,
    pub error: ReadError,
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

    /// The manifest of reads this tool has just collected.
    pub fn new(
        target: TargetRecord,
        collected_at: String,
        diagnosis: Option<Scope>,
        raws: &RawReads,
    ) -> Self {
        Self::of(
            FORMAT_VERSION,
            env!("CARGO_PKG_VERSION").to_string(),
            collected_at,
            target,
            diagnosis,
            raws,
        )
    }

    /// The manifest of a fleet run's reads.
    pub fn fleet(fleet: FleetManifest, collected_at: String, raws: &RawReads) -> Self {
        let mut manifest = Self::new(TargetRecord::default(), collected_at, None, raws);
        manifest.fleet = Some(fleet);
        manifest
    }

    fn of(
        format_version: u32,
        tool_version: String,
        collected_at: String,
        target: TargetRecord,
        diagnosis: Option<Scope>,
        raws: &RawReads,
    ) -> Self {
        let failed_reads = raws
            .iter()
            .filter_map(|r| {
                r.error.as_ref().map(|error| FailedRead {
                    source: r.source.clone(),
                    status: r.status,
                    error: error.clone(),
                })
            })
            .collect();
        Manifest {
            format_version,
            tool_version,
            collected_at,
            target,
            diagnosis,
            fleet: None,
            failed_reads,
        }
    }
}

/// The file name of a read in format 2 (see the module's documentation).
fn record_name(source: &Source) -> String {
    let slug = match source {
        Source::Arm(_) | Source::Graph { .. } | Source::Kubernetes { .. } => {
            let path = source.path().to_ascii_lowercase();
            let path = path.split('?').next().unwrap_or_default();
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            segments[segments.len().saturating_sub(2)..].join("-")
        }
        Source::Probe {
            host,
            port,
            protocol,
        } => format!("{host}-{port}-{}", protocol.name()).to_ascii_lowercase(),
        Source::Blob {
            endpoint,
            container,
        } => {
            // The account's name is the blob host's first label in every cloud; an endpoint
            // at an IP address (an emulator, a test) names it in its path instead.
            let url = url::Url::parse(endpoint).ok();
            let account = match url.as_ref().and_then(|u| u.host()) {
                Some(url::Host::Domain(host)) => host.split('.').next().unwrap_or_default(),
                _ => url
                    .as_ref()
                    .and_then(|u| u.path_segments()?.rev().find(|s| !s.is_empty()))
                    .unwrap_or_default(),
            };
            format!("{account}-{container}").to_ascii_lowercase()
        }
        Source::ResourceGraph { query } => query.table(),
    };
    let slug: String = slug
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let digest = Sha256::digest(source.key().as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("reads/{}-{slug}-{hash}.json", SourceName::of(source).name())
}

/// The bundle's files as (relative path, text): the one layout both forms share.
fn files(manifest: &Manifest, raws: &RawReads) -> Result<Vec<(String, String)>> {
    let mut files = vec![(
        "manifest.json".to_string(),
        to_pretty(&ManifestRecord::from(manifest))?,
    )];
    let mut names = BTreeSet::new();
    for raw in raws.iter() {
        let name = record_name(&raw.source);
        if !names.insert(name.clone()) {
            bail!("two reads would both be stored as {name}; nothing was written");
        }
        files.push((name, to_pretty(&ReadRecord::from(raw))?));
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
    write_as(out, manifest, raws, "--out")
}

/// [`write`], naming the argument that gave `out` when it is taken.
fn write_as(out: &Path, manifest: &Manifest, raws: &RawReads, argument: &str) -> Result<()> {
    let files = files(manifest, raws)?;
    if is_archive(out) {
        if out.exists() {
            bail!("{} exists; choose a new {argument}", out.display());
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
            "{} exists and is not an empty directory; choose a new {argument}",
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
    let version = match header.get("format_version").and_then(Value::as_u64) {
        Some(v @ (1 | 2)) => v as u32,
        Some(v) if v > u64::from(FORMAT_VERSION) => bail!(
            "the bundle has format version {v}, newer than this pxb-preflight understands ({FORMAT_VERSION}); upgrade pxb-preflight"
        ),
        other => bail!("the bundle has an unsupported format version {other:?}"),
    };
    let malformed = || format!("the manifest of {origin} is malformed");
    let (tool_version, collected_at, target, diagnosis, fleet) = if version == 1 {
        let m: v1::ManifestRecord = serde_json::from_value(header).with_context(malformed)?;
        (m.tool_version, m.collected_at, m.target.into(), None, None)
    } else {
        let m: ManifestRecord = serde_json::from_value(header).with_context(malformed)?;
        let diagnosis = m
            .diagnosis
            .map(Scope::try_from)
            .transpose()
            .with_context(malformed)?;
        let fleet = m
            .fleet
            .map(FleetManifest::try_from)
            .transpose()
            .with_context(malformed)?;
        let target = match (m.target, &fleet) {
            (Some(target), _) => target.into(),
            (None, Some(_)) => TargetRecord::default(),
            (None, None) => bail!("the manifest of {origin} names no target"),
        };
        (m.tool_version, m.collected_at, target, diagnosis, fleet)
    };
    let mut raws = RawReads::default();
    for (name, text) in files
        .iter()
        .filter(|(name, _)| name.starts_with("reads/") && name.ends_with(".json"))
    {
        let invalid = || format!("{name} is not a valid read record");
        let mut raw = if version == 1 {
            let record: v1::ReadRecord = serde_json::from_str(text).with_context(invalid)?;
            RawRead::try_from(record).with_context(invalid)?
        } else {
            let record: ReadRecord = serde_json::from_str(text).with_context(invalid)?;
            RawRead::try_from(record).with_context(invalid)?
        };
        crate::redact::read(&mut raw);
        raws.insert(raw);
    }
    let mut manifest = Manifest::of(
        version,
        tool_version,
        collected_at,
        target,
        diagnosis,
        &raws,
    );
    manifest.fleet = fleet;
    Ok((manifest, raws))
}

/// Rewrites the bundle at `source` (format 1 or 2, directory or `.tar.gz`) as a format 2
/// bundle at `destination` (directory or `.tar.gz`). A format 2 bundle upgrades to itself.
pub fn upgrade(source: &Path, destination: &Path) -> Result<()> {
    let (manifest, raws) = read(source)?;
    write_as(destination, &manifest, &raws, "DST")
}

/// A one-screen summary of a bundle for support staff.
pub fn inspect(path: &Path) -> Result<String> {
    let (manifest, raws) = read(path)?;
    let mut out = format!(
        "bundle {}\n  format: {FORMAT} v{}, written by pxb-preflight {}\n  collected at: {}\n",
        path.display(),
        manifest.format_version,
        manifest.tool_version,
        manifest.collected_at,
    );
    match &manifest.fleet {
        Some(fleet) => out.push_str(&format!("  fleet: {} clusters\n", fleet.clusters.len())),
        None => out.push_str(&format!("  cluster: {}\n", manifest.target.cluster)),
    }
    let target = match &manifest.fleet {
        Some(fleet) => serde_json::to_value(wire::FleetWire::from(fleet))?,
        None => serde_json::to_value(wire::TargetWire::from(&manifest.target))?,
    };
    for (key, value) in target
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "cluster" && *k != "clusters")
    {
        out.push_str(&format!("  {key}: {value}\n"));
    }
    out.push_str(&format!(
        "  reads: {} ({} failed)\n",
        raws.len(),
        manifest.failed_reads.len()
    ));
    let mut sources = BTreeMap::new();
    for raw in raws.iter() {
        *sources.entry(SourceName::of(&raw.source)).or_insert(0) += 1;
    }
    let sources: Vec<String> = sources
        .iter()
        .map(|(source, count)| format!("{} {count}", source.name()))
        .collect();
    out.push_str(&format!("  sources: {}\n", sources.join(", ")));
    for failed in &manifest.failed_reads {
        let status = failed
            .status
            .map_or("no answer".to_string(), |s| format!("HTTP {s}"));
        out.push_str(&format!(
            "    failed: {} {} {}\n",
            failed.source.path(),
            status,
            failed.error.code()
        ));
    }
    Ok(out)
}

fn to_pretty<T: Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn arm(path: &str, filter: Option<&str>) -> Source {
        Source::Arm(crate::reads::ArmCall {
            method: "GET".into(),
            path: path.into(),
            api_version: "2022-04-01".into(),
            filter: filter.map(str::to_string),
        })
    }

    #[test]
    fn a_read_is_named_by_what_was_read() {
        let cluster = "/subscriptions/S/resourceGroups/G/providers/Microsoft.ContainerService/managedClusters/AKS 1";
        let name = record_name(&arm(cluster, None));
        assert!(
            name.starts_with("reads/arm-managedclusters-aks_1-") && name.ends_with(".json"),
            "{name}"
        );
        // ARM paths are case-insensitive: another spelling is the same read, the same file.
        assert_eq!(record_name(&arm(&cluster.to_ascii_lowercase(), None)), name);
        // The same path with another $filter is another read.
        let assignments = "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments";
        let a = record_name(&arm(assignments, Some("assignedTo('a')")));
        let b = record_name(&arm(assignments, Some("assignedTo('b')")));
        assert_ne!(a, b);
        assert_eq!(a.len(), b.len(), "only the hash differs: {a} {b}");
        let probe = record_name(&Source::Probe {
            host: "PXB.example.com".into(),
            port: 10002,
            protocol: crate::probe::Protocol::Http2,
        });
        assert!(
            probe.starts_with("reads/probe-pxb.example.com-10002-http2-"),
            "{probe}"
        );
        let blob = record_name(&Source::Blob {
            endpoint: "https://StBackup.blob.core.windows.net/".into(),
            container: "aks-backups".into(),
        });
        assert!(
            blob.starts_with("reads/blob-stbackup-aks-backups-"),
            "{blob}"
        );
        let local = record_name(&Source::Blob {
            endpoint: "http://127.0.0.1:10000/devstoreaccount1/".into(),
            container: "c".into(),
        });
        assert!(
            local.starts_with("reads/blob-devstoreaccount1-c-"),
            "{local}"
        );
        let graph = record_name(&Source::Graph {
            path: "/v1.0/directoryObjects/P1/transitiveMemberOf?$select=id".into(),
        });
        assert!(
            graph.starts_with("reads/graph-p1-transitivememberof-"),
            "{graph}"
        );
    }

    #[test]
    fn records_round_trip_through_the_wire_form() {
        let read = RawRead {
            source: arm("/subscriptions/s", Some("atScope()")),
            status: Some(403),
            body: None,
            error: Some(ReadError {
                kind: crate::reads::FailureKind::Http,
                arm_code: Some("AuthorizationFailed".into()),
                message: "no".into(),
            }),
        };
        let text = serde_json::to_string(&ReadRecord::from(&read)).unwrap();
        assert!(
            text.starts_with(r#"{"source":"arm","method":"GET""#),
            "{text}"
        );
        assert!(
            text.contains(r#""error":{"kind":"http","code":"AuthorizationFailed""#),
            "{text}"
        );
        let record: ReadRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(RawRead::try_from(record).unwrap(), read);
        let probe =
            json!({"source": "probe", "host": "h", "port": 1, "protocol": "http", "body": {}});
        let record: ReadRecord = serde_json::from_value(probe).unwrap();
        let raw = RawRead::try_from(record).unwrap();
        assert_eq!((raw.status, raw.key()), (None, "http://h:1".to_string()));
        let blob = RawRead {
            source: Source::Blob {
                endpoint: "https://a.blob.core.windows.net/".into(),
                container: "c".into(),
            },
            status: Some(200),
            body: Some(json!({"blobs": [{"name": "n", "size": 1}], "nextMarker": null})),
            error: None,
        };
        let text = serde_json::to_string(&ReadRecord::from(&blob)).unwrap();
        assert!(
            text.starts_with(
                r#"{"source":"blob","endpoint":"https://a.blob.core.windows.net/","container":"c""#
            ),
            "{text}"
        );
        let record: ReadRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(RawRead::try_from(record).unwrap(), blob);
    }

    fn clusters_query(filter: Option<&str>) -> crate::reads::GraphQuery {
        crate::reads::GraphQuery {
            query: "resources | where type =~ 'microsoft.containerservice/managedclusters' | project id, name, type, location, resourceGroup, subscriptionId, tags, sku, identity, properties | order by id asc".into(),
            subscriptions: vec!["cfbbd179-59d2-4052-aa06-9270a38aa9d6".into()],
            management_groups: Vec::new(),
            authorization_scope_filter: filter.map(str::to_string),
            page_size: 1000,
        }
    }

    /// A Resource Graph query is stored under its table's name, and its record (query,
    /// scopes, options, merged rows or the error) comes back as the same read.
    #[test]
    fn resource_graph_reads_round_trip_in_format_2() {
        let source = Source::ResourceGraph {
            query: clusters_query(None),
        };
        let name = record_name(&source);
        assert!(
            name.starts_with("reads/resource-graph-resources-") && name.ends_with(".json"),
            "{name}"
        );
        let other = record_name(&Source::ResourceGraph {
            query: clusters_query(Some("AtScopeAboveAndBelow")),
        });
        assert_ne!(name, other, "another option is another read");
        let rows = json!({"data": [{"id": "/subscriptions/cfbbd179-59d2-4052-aa06-9270a38aa9d6/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1", "name": "aks1", "type": "microsoft.containerservice/managedclusters", "resourceGroup": "rg1", "subscriptionId": "cfbbd179-59d2-4052-aa06-9270a38aa9d6"}], "totalRecords": 1});
        let answered = RawRead {
            source: source.clone(),
            status: Some(200),
            body: Some(rows),
            error: None,
        };
        let failed = RawRead {
            source: Source::ResourceGraph {
                query: clusters_query(Some("AtScopeExact")),
            },
            status: Some(400),
            body: None,
            error: Some(ReadError {
                kind: crate::reads::FailureKind::Http,
                arm_code: Some("InvalidQuery".into()),
                message: "Query is invalid.".into(),
            }),
        };
        for read in [answered, failed] {
            let text = serde_json::to_string(&ReadRecord::from(&read)).unwrap();
            assert!(
                text.starts_with(r#"{"source":"resource_graph","query":"resources | where"#),
                "{text}"
            );
            assert!(text.contains(r#""page_size":1000"#), "{text}");
            let record: ReadRecord = serde_json::from_str(&text).unwrap();
            assert_eq!(RawRead::try_from(record).unwrap(), read);
        }
        // Through a whole bundle on disk, format 2.
        let dir = tempfile::tempdir().unwrap();
        let mut raws = RawReads::default();
        raws.insert(RawRead {
            source,
            status: Some(200),
            body: Some(json!({"data": [], "totalRecords": 0})),
            error: None,
        });
        let target = TargetRecord {
            cluster: "fleet".into(),
            ..Default::default()
        };
        let manifest = Manifest::new(target, "2026-01-01T00:00:00Z".into(), None, &raws);
        let out = dir.path().join("b");
        write(&out, &manifest, &raws).unwrap();
        assert!(out.join(&name).exists(), "{name}");
        let (back_manifest, back) = read(&out).unwrap();
        assert_eq!(back_manifest.format_version, 2);
        assert_eq!(back, raws);
    }
}
