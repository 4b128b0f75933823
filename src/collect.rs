//! The collector: reads everything the checks need from ARM, concurrently, each distinct
//! resource once, into [`RawReads`]. It makes no judgement and drops nothing: failed
//! reads are recorded as they came back, for the facts to turn into `error` verdicts.
//!
//! Rounds: the plan (`crate::plan`) says what is still needed given what was read; each
//! round reads that concurrently, until the plan asks for nothing new. PXB port probes and
//! the Kubernetes lists (`crate::kubeapi`) are made here too; the blob container listing
//! goes through the same client as ARM.
//!
//! Every read is redacted (`crate::redact`) as it is stored, so live runs, bundles and
//! reports only ever see bodies and errors without passwords or secret values.

use crate::arm::ArmClient;
use crate::kubeapi::KubeClient;
use crate::plan::{next_reads, Purpose};
use crate::probe::probe;
use crate::reads::{ArmRead, FailureKind, RawRead, RawReads, ReadError};
use crate::target::Target;
use futures::stream::{FuturesUnordered, StreamExt};
use std::time::Duration;

/// The plan converges in three rounds; the bound only guards against a plan that would not.
const MAX_ROUNDS: usize = 6;

/// Told after each read: reads done, reads planned so far, the read just done.
pub type Progress<'a> = &'a (dyn Fn(usize, usize, &ArmRead) + Sync);

pub async fn collect(
    client: &ArmClient,
    kube: Option<&KubeClient>,
    target: &Target,
    purpose: &Purpose,
    probe_timeout: Duration,
    progress: Progress<'_>,
) -> RawReads {
    let mut raws = RawReads::default();
    let mut planned = 0;
    for _ in 0..MAX_ROUNDS {
        let reads = next_reads(target, purpose, &raws);
        if reads.is_empty() {
            break;
        }
        planned += reads.len();
        let mut pending: FuturesUnordered<_> = reads
            .into_iter()
            .map(|read| one(client, kube, read, probe_timeout))
            .collect();
        while let Some((read, raw)) = pending.next().await {
            raws.insert(raw);
            progress(raws.len(), planned, &read);
        }
    }
    raws
}

async fn one(
    client: &ArmClient,
    kube: Option<&KubeClient>,
    read: ArmRead,
    probe_timeout: Duration,
) -> (ArmRead, RawRead) {
    let mut raw = match &read {
        ArmRead::Probe {
            host,
            port,
            protocol,
        } => RawRead::ok(&read, probe(host, *port, *protocol, probe_timeout).await),
        // Planned only when the target has Kubernetes access, which gives the client.
        ArmRead::Kubernetes(list) => match kube {
            Some(kube) => kube.read(*list).await,
            None => RawRead::failure(
                &read,
                None,
                ReadError {
                    kind: FailureKind::Client,
                    arm_code: None,
                    message: "no Kubernetes client".into(),
                },
            ),
        },
        _ => client.read(&read).await,
    };
    crate::redact::read(&mut raw);
    (read, raw)
}
