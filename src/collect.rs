//! The collector: reads everything the checks need from ARM, concurrently, each distinct
//! resource once, into [`RawReads`]. It makes no judgement and drops nothing: failed
//! reads are recorded as they came back, for the facts to turn into `error` verdicts.
//!
//! Rounds: the plan (`crate::plan`) says what is still needed given what was read; each
//! round reads that concurrently, until the plan asks for nothing new.

use crate::arm::ArmClient;
use crate::plan::next_reads;
use crate::probe::probe;
use crate::reads::{ArmRead, RawRead, RawReads};
use crate::target::Target;
use futures::future::join_all;
use std::time::Duration;

pub async fn collect(client: &ArmClient, target: &Target, probe_timeout: Duration) -> RawReads {
    let mut raws = RawReads::default();
    for _ in 0..MAX_ROUNDS {
        let reads = next_reads(target, &raws);
        if reads.is_empty() {
            break;
        }
        read_concurrently(client, reads, probe_timeout, &mut raws).await;
    }
    raws
}

/// The plan converges in three rounds; the bound only guards against a plan that would not.
const MAX_ROUNDS: usize = 6;

async fn read_concurrently(
    client: &ArmClient,
    reads: Vec<ArmRead>,
    probe_timeout: Duration,
    raws: &mut RawReads,
) {
    let one = |read: &ArmRead| {
        let read = read.clone();
        async move {
            match &read {
                ArmRead::Probe {
                    host,
                    port,
                    protocol,
                } => RawRead::ok(&read, probe(host, *port, *protocol, probe_timeout).await),
                _ => client.read(&read).await,
            }
        }
    };
    for raw in join_all(reads.iter().map(one)).await {
        raws.insert(raw);
    }
}
