//! The collector: reads everything the checks need from ARM, concurrently, each distinct
//! resource once, into [`RawReads`]. It makes no judgement and drops nothing: failed
//! reads are recorded as they came back, for the facts to turn into `error` verdicts.
//!
//! Two rounds: everything the target names, then what the first round points to (the
//! storage account and container in the backup extension's settings).

use crate::arm::ArmClient;
use crate::facts::{first_round, second_round};
use crate::reads::{ArmRead, RawReads};
use crate::target::Target;
use futures::future::join_all;

pub async fn collect(client: &ArmClient, target: &Target) -> RawReads {
    let mut raws = RawReads::default();
    read_concurrently(client, first_round(target), &mut raws).await;
    let dependent = second_round(target, &raws);
    read_concurrently(client, dependent, &mut raws).await;
    raws
}

async fn read_concurrently(client: &ArmClient, mut reads: Vec<ArmRead>, raws: &mut RawReads) {
    reads.sort_by_key(ArmRead::key);
    reads.dedup_by_key(|r| r.key());
    for raw in join_all(reads.iter().map(|read| client.read(read))).await {
        raws.insert(raw);
    }
}
