//! Bundle format 1, read only: so bundles attached to old tickets still replay, with the
//! same verdicts, and `bundle upgrade` can rewrite them as format 2.
//!
//! Format 1 stored every read in one shape: a TCP probe was method `TCP` with path
//! `<protocol>://host:port`, and a failure had only a string code (ARM's, or one of ours:
//! `Transport`, `MalformedBody`, `Refused`, `Client`, `HttpError`). Nothing here writes.

use crate::probe::Protocol;
use crate::reads::{ArmCall, FailureKind, RawRead, ReadError, Source};
use crate::target::TargetRecord;
use anyhow::{anyhow, Result};
use serde::Deserialize;
use serde_json::Value;

/// `manifest.json` of a version 1 bundle (its `failed_reads` summary is recomputed).
#[derive(Debug, Deserialize)]
pub struct ManifestRecord {
    pub tool_version: String,
    pub collected_at: String,
    pub target: TargetRecord,
}

/// One file under `reads/` in format 1.
#[derive(Debug, Deserialize)]
pub struct ReadRecord {
    method: String,
    path: String,
    api_version: String,
    #[serde(default)]
    filter: Option<String>,
    status: Option<u16>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    error: Option<ErrorRecord>,
}

#[derive(Debug, Deserialize)]
struct ErrorRecord {
    code: String,
    message: String,
}

/// The method format 1 gave a TCP probe.
const PROBE_METHOD: &str = "TCP";

impl From<ErrorRecord> for ReadError {
    /// Our own codes become their kind; any other code is ARM's answer to an HTTP call.
    fn from(record: ErrorRecord) -> Self {
        let ours = [
            FailureKind::Http,
            FailureKind::Transport,
            FailureKind::MalformedBody,
            FailureKind::Refused,
            FailureKind::Client,
        ]
        .into_iter()
        .find(|kind| kind.name() == record.code);
        ReadError {
            kind: ours.unwrap_or(FailureKind::Http),
            arm_code: ours.is_none().then_some(record.code),
            message: record.message,
        }
    }
}

impl TryFrom<ReadRecord> for RawRead {
    type Error = anyhow::Error;

    fn try_from(record: ReadRecord) -> Result<Self> {
        let error = record.error.map(ReadError::from);
        if record.method == PROBE_METHOD {
            return Ok(RawRead {
                source: probe_source(&record.path)?,
                // Format 1 gave probes a status of 200; a probe has none.
                status: None,
                body: record.body,
                error,
            });
        }
        Ok(RawRead {
            source: Source::Arm(ArmCall {
                method: record.method,
                path: record.path,
                api_version: record.api_version,
                filter: record.filter,
            }),
            status: record.status,
            body: record.body,
            error,
        })
    }
}

/// `http://host:port` / `http2://host:port` (the host may be an IPv6 address).
fn probe_source(path: &str) -> Result<Source> {
    let bad = || anyhow!("'{path}' is not a probe target (<protocol>://host:port)");
    let (scheme, address) = path.split_once("://").ok_or_else(bad)?;
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    Ok(Source::Probe {
        host: host.to_string(),
        port: port.parse().map_err(|_| bad())?,
        protocol: Protocol::from_name(scheme).ok_or_else(bad)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(record: Value) -> RawRead {
        serde_json::from_value::<ReadRecord>(record)
            .unwrap()
            .try_into()
            .unwrap()
    }

    #[test]
    fn a_probe_record_becomes_a_probe_without_method_or_status() {
        let raw = convert(json!({
            "method": "TCP", "path": "http2://pxb.example.com:10002", "api_version": "",
            "status": 200, "body": {"outcome": "answered", "elapsed_ms": 3}
        }));
        assert_eq!(
            raw.source,
            Source::Probe {
                host: "pxb.example.com".into(),
                port: 10002,
                protocol: Protocol::Http2
            }
        );
        assert_eq!(raw.status, None);
        assert_eq!(raw.body.unwrap()["outcome"], "answered");
        let broken = json!({"method": "TCP", "path": "tcp://h", "api_version": "", "status": 200});
        let record: ReadRecord = serde_json::from_value(broken).unwrap();
        assert!(RawRead::try_from(record).is_err());
    }

    #[test]
    fn string_codes_become_kinds_and_arm_codes_stay_data() {
        let error = |code: &str| {
            let raw = convert(json!({
                "method": "GET", "path": "/subscriptions/s", "api_version": "v", "status": 403,
                "error": {"code": code, "message": "m"}
            }));
            let error = raw.error.unwrap();
            assert_eq!(error.code(), code, "the code shown does not change");
            (error.kind, error.arm_code)
        };
        assert_eq!(
            error("AuthorizationFailed"),
            (FailureKind::Http, Some("AuthorizationFailed".into()))
        );
        assert_eq!(error("HttpError"), (FailureKind::Http, None));
        assert_eq!(error("Transport"), (FailureKind::Transport, None));
        assert_eq!(error("MalformedBody"), (FailureKind::MalformedBody, None));
        assert_eq!(error("Refused"), (FailureKind::Refused, None));
        assert_eq!(error("Client"), (FailureKind::Client, None));
    }
}
