//! Entry points that feed untrusted bytes to every parser of outside input: resource IDs,
//! operation patterns, Helm `--set` expressions and values files, NSG prefixes and port
//! ranges, bundle files and archives, and ARM bodies. The cargo-fuzz targets in
//! `tests/fuzz` and the never-panic proptests call the same functions, so both exercise
//! the same surface.
//!
//! Every function here must accept any bytes: a panic (including a failed invariant
//! below) is the bug being looked for. Nothing here touches the network or writes files;
//! only [`Fixture::load`] reads one. Compiled only for tests and with the `fuzzing` feature,
//! never into the release binary.

use crate::cli::OutputFormat;
use crate::pipeline::{self, Gathered};
use crate::reads::{RawRead, RawReads};
use crate::target::TargetRecord;
use crate::{bundle, checks, helm, ids, nsg, rbac};
use clap::ValueEnum;
use serde_json::{json, Value};
use std::path::Path;

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// A resource ID as given on the command line or found in a body.
pub fn resource_id(data: &[u8]) {
    let input = text(data);
    if let Ok(id) = ids::ResourceId::parse(&input) {
        // What parsing keeps must parse again to the same ID.
        let again = ids::ResourceId::parse(id.as_str()).expect("a parsed ID re-parses");
        assert_eq!(again, id);
        assert_eq!(again.as_str(), id.as_str());
        // ARM's comparison agrees: case and a trailing slash do not matter.
        assert!(ids::same_id(
            &format!("{}/", id.as_str().to_ascii_uppercase()),
            id.as_str()
        ));
        let _ = (id.subscription(), id.resource_group(), id.name());
    }
    let _ = ids::ResourceId::parse_typed(&input, "Microsoft.ContainerService/managedClusters");
    let _ = ids::ResourceId::parse_resource_group(&input, "00000000-0000-0000-0000-000000000000");
}

/// Two operation patterns, separated by the first newline, as in a role definition.
pub fn operation_patterns(data: &[u8]) {
    let input = text(data);
    let (a, b) = input.split_once('\n').unwrap_or((&input, ""));
    let (covers, intersects) = (rbac::pattern::covers(a, b), rbac::pattern::intersects(a, b));
    // Every pattern matches some operation, so coverage implies a shared operation.
    assert!(
        !covers || intersects,
        "covers without intersecting: {a:?} {b:?}"
    );
    assert!(
        rbac::pattern::covers(a, a),
        "a pattern covers itself: {a:?}"
    );
    assert_eq!(intersects, rbac::pattern::intersects(b, a), "{a:?} {b:?}");
    if !a.contains('*') && !b.contains('*') {
        assert_eq!(covers, a.eq_ignore_ascii_case(b), "{a:?} {b:?}");
    }
}

/// A `--set` expression, applied to the chart's values as `check` does.
pub fn helm_set(data: &[u8]) {
    let expression = text(data);
    let parsed = helm::parse_set(&expression);
    let _ = parsed.keys();
    let mut values = json!({"proxy": {"httpProxy": {"noProxy": ""}}});
    helm::apply(&mut values, &parsed);
    // The fix the proxy checks print must read back as the one value it escapes.
    let fix = helm::parse_set(&format!("k={}", helm::escape_set_value(&expression)));
    assert!(
        fix.problems.is_empty(),
        "{expression:?}: {:?}",
        fix.problems
    );
    assert_eq!(fix.keys(), ["k"], "{expression:?}");
    let mut read_back = json!({});
    helm::apply(&mut read_back, &fix);
    // Helm types true/false/null/integers; any other value must come back as written.
    if let Value::String(value) = &read_back["k"] {
        assert_eq!(value, &*expression);
    }
}

/// A Helm values file, merged over the chart's values as `check` does.
pub fn helm_values(data: &[u8]) {
    if let Ok(parsed) = helm::parse_values(&text(data)) {
        let mut values = json!({"proxy": {"httpProxy": {"noProxy": ""}}});
        helm::merge(&mut values, &parsed);
    }
}

/// One NSG rule's prefix and port range (newline-separated) and a probe port (the first
/// two bytes), evaluated with Azure's default rules behind it.
pub fn nsg_rule(data: &[u8]) {
    let port = u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]);
    let input = text(data.get(2..).unwrap_or_default());
    let mut fields = input.splitn(3, '\n');
    let (prefix, ports, protocol) = (
        fields.next().unwrap_or(""),
        fields.next().unwrap_or(""),
        fields.next().unwrap_or(""),
    );
    let mut rules = vec![nsg::Rule {
        name: "fuzzed".into(),
        priority: 100,
        inbound: true,
        allow: port % 2 == 0,
        protocol: protocol.into(),
        sources: vec![prefix.into()],
        destinations: vec![prefix.into()],
        destination_ports: vec![ports.into()],
        uses_application_security_groups: false,
    }];
    rules.extend(nsg::default_rules());
    let flow = nsg::Flow {
        source: nsg::Endpoint::parse(prefix),
        protocol: Some("Tcp".into()),
        port: Some(port),
    };
    let _ = nsg::evaluate(&rules, &flow);
}

/// A bundle's files as text: the manifest, then each read record, separated by NUL bytes.
/// Replayed through everything `check --bundle` does, every report format included.
/// Returns whether it got as far as a report.
pub fn bundle_files(data: &[u8]) -> bool {
    let mut parts = data.split(|&b| b == 0);
    let mut files = vec![(
        "manifest.json".to_string(),
        text(parts.next().unwrap_or_default()).into_owned(),
    )];
    for (i, part) in parts.enumerate() {
        files.push((format!("reads/{i:03}.json"), text(part).into_owned()));
    }
    bundle::parse(files, "fuzzed bundle").is_ok_and(replay_bundle)
}

/// A single-file (`.tar.gz`) bundle's bytes, replayed like [`bundle_files`].
pub fn bundle_archive(data: &[u8]) -> bool {
    bundle::archive_files(data, "fuzzed.tar.gz")
        .and_then(|files| bundle::parse(files, "fuzzed.tar.gz"))
        .is_ok_and(replay_bundle)
}

/// A bundle to vary one read of, for [`arm_body`].
pub struct Fixture {
    target: TargetRecord,
    reads: Vec<RawRead>,
    collected_at: Option<time::OffsetDateTime>,
}

impl Fixture {
    /// Loads a bundle; panics if it is not one (fixtures are ours).
    pub fn load(path: &Path) -> Fixture {
        let (manifest, raws) = bundle::read(path).expect("the fixture is a bundle");
        Fixture {
            collected_at: manifest.collected_at().ok(),
            target: manifest.target,
            reads: raws.iter().cloned().collect(),
        }
    }
}

/// ARM statuses a read can end with, and none (a timeout).
const STATUSES: [Option<u16>; 7] = [
    Some(200),
    Some(403),
    Some(404),
    Some(429),
    Some(500),
    Some(200),
    None,
];

/// One read of a fixture answered with an arbitrary body: byte 0 picks the read, byte 1
/// its status, and the rest is the body (JSON, or kept as a string when it is not).
/// Returns whether it got as far as a report.
pub fn arm_body(fixture: &Fixture, data: &[u8]) -> bool {
    let (Some(&which), Some(&status)) = (data.first(), data.get(1)) else {
        return false;
    };
    let body = &data[2..];
    let body = serde_json::from_slice(body).unwrap_or_else(|_| Value::from(text(body)));
    // The body as a page of a list, as the client splits it before recording.
    let arm = url::Url::parse("https://management.azure.com/").expect("a URL");
    let _ = crate::arm::list_page(body.clone(), &crate::arm::ARM_PAGING, &arm);
    let _ = crate::arm::list_page(body.clone(), &crate::arm::GRAPH_PAGING, &arm);
    let mut raws = RawReads::default();
    for (i, read) in fixture.reads.iter().enumerate() {
        let mut read = read.clone();
        if i == usize::from(which) % fixture.reads.len().max(1) {
            read.status = STATUSES[usize::from(status) % STATUSES.len()];
            read.body = Some(body.clone());
        }
        raws.insert(read);
    }
    replay(fixture.target.clone(), raws, fixture.collected_at)
}

fn replay_bundle((manifest, raws): (bundle::Manifest, RawReads)) -> bool {
    let collected_at = manifest.collected_at().ok();
    replay(manifest.target, raws, collected_at)
}

/// Judges the reads and renders every report format, through the pipeline `check` uses;
/// a run that cannot judge (no usable cluster, bad target) is an error for the user, not
/// a crash. A bundle with an unreadable collection time is judged as of the epoch.
fn replay(target: TargetRecord, raws: RawReads, observed_at: Option<time::OffsetDateTime>) -> bool {
    let gathered = Gathered {
        target,
        raws,
        observed_at: observed_at.unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        diagnosis: None,
    };
    let profile = None;
    let Ok(report) = pipeline::judge(
        &gathered,
        profile,
        crate::report::FailOn {
            warn: true,
            skip: true,
        },
    ) else {
        return false;
    };
    let selected = checks::REGISTRY
        .iter()
        .filter(|check| check.in_profile(profile))
        .count();
    assert_eq!(
        report.verdicts.len(),
        selected,
        "one verdict per selected check"
    );
    for format in OutputFormat::value_variants() {
        let text = pipeline::render(&report, *format, false, true);
        assert!(!text.is_empty(), "{format:?} rendered nothing");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    fn ready() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ready")
    }

    /// The ready fixture in `bundle_files`' input format (as the fuzz seeds are made).
    static READY_FILES: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let mut reads: Vec<_> = std::fs::read_dir(ready().join("reads"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        reads.sort();
        let mut data = std::fs::read(ready().join("manifest.json")).unwrap();
        for read in reads {
            data.push(0);
            data.extend(std::fs::read(read).unwrap());
        }
        data
    });

    /// The ready fixture as a single-file bundle, written by `collect`'s writer.
    static READY_ARCHIVE: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let (manifest, raws) = bundle::read(&ready()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.tar.gz");
        bundle::write(&path, &manifest, &raws).unwrap();
        std::fs::read(path).unwrap()
    });

    #[test]
    fn the_seed_inputs_reach_a_report() {
        assert!(bundle_files(&READY_FILES));
        assert!(bundle_archive(&READY_ARCHIVE));
        let fixture = Fixture::load(&ready());
        let unchanged = serde_json::to_vec(fixture.reads[0].body.as_ref().unwrap()).unwrap();
        assert!(arm_body(&fixture, &[&[0, 0][..], &unchanged].concat()));
        // and the cases the proptests hunt in can also end without one:
        assert!(!bundle_files(b"{}"));
        assert!(!bundle_archive(&READY_ARCHIVE[..READY_ARCHIVE.len() / 2]));
    }

    /// `data` with the byte at `at` replaced and cut at `cut`: a damaged download.
    fn damaged(
        data: &[u8],
        cut: prop::sample::Index,
        at: prop::sample::Index,
        byte: u8,
    ) -> Vec<u8> {
        let mut data = data.to_vec();
        let at = at.index(data.len());
        data[at] = byte;
        data.truncate(cut.index(data.len() + 1));
        data
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn damaged_bundles_never_panic(cut in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            bundle_files(&damaged(&READY_FILES, cut, at, byte));
            bundle_archive(&damaged(&READY_ARCHIVE, cut, at, byte));
        }
    }
}
