//! The wire form of bundle format 2: the manifest and the read records exactly as they are
//! written, with explicit conversion from and to the internal types ([`Manifest`],
//! [`RawRead`]). Changing an internal type must not change these: a new field or source
//! here is a format change, made on purpose.
//!
//! Nothing here reads or writes files; `bundle` does.

use super::{FailedRead, Manifest, FORMAT, FORMAT_VERSION};
use crate::probe::Protocol;
use crate::reads::{ArmCall, FailureKind, RawRead, ReadError, Source};
use crate::target::TargetRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `manifest.json` of a version 2 bundle.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub format: String,
    pub format_version: u32,
    /// The pxb-preflight version that collected the reads.
    pub tool_version: String,
    pub collected_at: String,
    pub target: TargetRecord,
    /// A summary for people; the read records are what counts.
    #[serde(default)]
    pub failed_reads: Vec<FailedReadRecord>,
}

/// Where a read came from. Sources to come (Kubernetes, blob data plane, Graph) are new
/// variants, and new record variants below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceName {
    Arm,
    Probe,
}

impl SourceName {
    pub fn of(source: &Source) -> Self {
        match source {
            Source::Arm(_) => SourceName::Arm,
            Source::Probe { .. } => SourceName::Probe,
        }
    }

    /// The name in file names and in `bundle inspect`.
    pub fn name(self) -> &'static str {
        match self {
            SourceName::Arm => "arm",
            SourceName::Probe => "probe",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FailedReadRecord {
    pub source: SourceName,
    /// The ARM path, or `<protocol>://host:port` for a probe.
    pub path: String,
    pub status: Option<u16>,
    pub kind: FailureKind,
    /// ARM's own `error.code`, when ARM gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// One file under `reads/`: what was read (by source) and what came back.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ReadRecord {
    Arm {
        method: String,
        path: String,
        api_version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<String>,
        /// Absent when no HTTP answer arrived (timeout, connection error).
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
    Probe {
        host: String,
        port: u16,
        /// `http` (HTTP/1.1) or `http2`.
        protocol: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorRecord>,
    },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub kind: FailureKind,
    /// ARM's own `error.code`, when ARM gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

impl From<&ReadError> for ErrorRecord {
    fn from(error: &ReadError) -> Self {
        ErrorRecord {
            kind: error.kind,
            code: error.arm_code.clone(),
            message: error.message.clone(),
        }
    }
}

impl From<ErrorRecord> for ReadError {
    fn from(record: ErrorRecord) -> Self {
        ReadError {
            kind: record.kind,
            arm_code: record.code,
            message: record.message,
        }
    }
}

impl From<&RawRead> for ReadRecord {
    fn from(raw: &RawRead) -> Self {
        let error = raw.error.as_ref().map(ErrorRecord::from);
        match &raw.source {
            Source::Arm(call) => ReadRecord::Arm {
                method: call.method.clone(),
                path: call.path.clone(),
                api_version: call.api_version.clone(),
                filter: call.filter.clone(),
                status: raw.status,
                body: raw.body.clone(),
                error,
            },
            Source::Probe {
                host,
                port,
                protocol,
            } => ReadRecord::Probe {
                host: host.clone(),
                port: *port,
                protocol: protocol.name().to_string(),
                body: raw.body.clone(),
                error,
            },
        }
    }
}

impl TryFrom<ReadRecord> for RawRead {
    type Error = anyhow::Error;

    fn try_from(record: ReadRecord) -> anyhow::Result<Self> {
        Ok(match record {
            ReadRecord::Arm {
                method,
                path,
                api_version,
                filter,
                status,
                body,
                error,
            } => RawRead {
                source: Source::Arm(ArmCall {
                    method,
                    path,
                    api_version,
                    filter,
                }),
                status,
                body,
                error: error.map(ReadError::from),
            },
            ReadRecord::Probe {
                host,
                port,
                protocol,
                body,
                error,
            } => RawRead {
                source: Source::Probe {
                    host,
                    port,
                    protocol: Protocol::from_name(&protocol)
                        .ok_or_else(|| anyhow::anyhow!("unknown probe protocol '{protocol}'"))?,
                },
                status: None,
                body,
                error: error.map(ReadError::from),
            },
        })
    }
}

impl From<&Manifest> for ManifestRecord {
    fn from(manifest: &Manifest) -> Self {
        ManifestRecord {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tool_version: manifest.tool_version.clone(),
            collected_at: manifest.collected_at.clone(),
            target: manifest.target.clone(),
            failed_reads: manifest
                .failed_reads
                .iter()
                .map(FailedReadRecord::from)
                .collect(),
        }
    }
}

impl From<&FailedRead> for FailedReadRecord {
    fn from(failed: &FailedRead) -> Self {
        FailedReadRecord {
            source: SourceName::of(&failed.source),
            path: failed.source.path(),
            status: failed.status,
            kind: failed.error.kind,
            code: failed.error.arm_code.clone(),
        }
    }
}
