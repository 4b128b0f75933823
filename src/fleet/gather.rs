//! A fleet's live gathering: the Resource Graph queries first, then, for every selected
//! cluster at once, `check`'s own plan (`crate::plan`) over everything known so far, each
//! missing read made over ARM once for the whole fleet (a vault, a role definition or a
//! subscription's deny assignments serve every cluster that needs them). The client's
//! scheduler paces the requests (`crate::arm::throttle`).
//!
//! The only I/O of fleet mode. It judges nothing: each cluster whose plan asks for nothing
//! more is handed, with the reads so far, to the caller's [`Observer`].

use super::derive::{derive, Derivation};
use super::queries::Queries;
use super::{select, Selection};
use crate::arm::ArmClient;
use crate::ids::ResourceId;
use crate::plan::{next_reads, Purpose};
use crate::reads::{ArmRead, RawReads};
use crate::target::{Target, TargetRecord};
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::OnceCell;

/// A cluster's plan converges in a few rounds; the bound only guards against one that would not.
const MAX_ROUNDS: usize = 6;

/// Clusters in progress at once.
const CLUSTERS_AT_ONCE: usize = 64;

/// What a derived read may need first: a list, groups, the parent's permissions and the
/// role definitions assigned at the scope.
const MAX_NEEDS: usize = 8;

/// Whether the caller keeps what Azure answered once every cluster is judged: to write a
/// bundle. Not kept, the Resource Graph answers are let go as soon as their rows are
/// expanded, and nothing is kept past the judging.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answers {
    Keep,
    Drop,
}

/// What a fleet run read, as a bundle keeps it: every answer that came from Azure (the
/// Resource Graph queries and the ARM reads), never the reads expanded from the queries.
/// Empty when the answers were not kept ([`Answers::Drop`]).
pub struct Gathered {
    /// The signed-in principal's object ID, when its token says.
    pub caller: Option<String>,
    pub raws: RawReads,
    pub clusters: Vec<ResourceId>,
}

/// Why a fleet could not run at all (exit 2): the cluster query itself failed.
#[derive(Debug, thiserror::Error)]
#[error("the Resource Graph query for the clusters failed: {0}")]
pub struct NoClusterList(pub String);

/// Reads shared by every cluster: everything known (what Azure answered, the expanded
/// Resource Graph rows, the derived reads), held once, with the keys of those Azure
/// answered (what a bundle keeps), and the reads in flight (each made once, whoever asks
/// first).
struct Shared {
    /// The signed-in principal, whose permissions are derived (see `derive`).
    caller: Option<String>,
    known: RwLock<RawReads>,
    answered: Mutex<HashSet<String>>,
    answers: Answers,
    in_flight: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
}

impl Shared {
    /// A read the cluster's plan asks for: derived from subscription-wide reads when it
    /// can be (obtaining what it needs first: a list, a principal's groups, the permissions
    /// one scope up, a role definition), else made as it is.
    fn obtain<'a>(
        &'a self,
        client: &'a ArmClient,
        read: ArmRead,
    ) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            for _ in 0..MAX_NEEDS {
                let derivation = derive(&read, &self::read(&self.known), self.caller.as_deref());
                match derivation {
                    Derivation::Derived(raw) => {
                        // An answer from Azure that arrived meanwhile stays: a bundle keeps it.
                        if !self.was_answered(&raw.key()) {
                            write(&self.known).insert(raw);
                        }
                        return;
                    }
                    Derivation::Needs(first) => self.obtain(client, first).await,
                    Derivation::NotDerivable => break,
                }
            }
            self.read_once(client, read).await
        })
    }

    async fn read_once(&self, client: &ArmClient, read: ArmRead) {
        let cell = {
            let mut in_flight = lock(&self.in_flight);
            in_flight.entry(read.key()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let mut raw = client.read(&read).await;
            crate::redact::read(&mut raw);
            lock(&self.answered).insert(raw.key());
            write(&self.known).insert(raw);
        })
        .await;
    }

    fn was_answered(&self, key: &str) -> bool {
        lock(&self.answered).contains(key)
    }

    /// Lets go of a judged cluster's own reads, but for the answers a bundle keeps: no other
    /// cluster's plan asks for them, and a large fleet would otherwise hold them all.
    fn let_go_of_own_reads(&self, cluster: &ResourceId) {
        let own: Vec<ArmRead> = own_reads(cluster)
            .into_iter()
            .filter(|read| self.answers == Answers::Drop || !self.was_answered(&read.key()))
            .collect();
        let mut known = write(&self.known);
        for read in &own {
            known.remove(read);
        }
    }
}

/// The reads of a cluster's plan that only that cluster's plan asks for.
fn own_reads(cluster: &ResourceId) -> [ArmRead; 5] {
    [
        ArmRead::Cluster(cluster.clone()),
        ArmRead::Extensions(cluster.clone()),
        ArmRead::TrustedAccessBindings(cluster.clone()),
        ArmRead::Permissions(cluster.clone()),
        ArmRead::PolicyAssignments(cluster.clone()),
    ]
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn write(lock: &RwLock<RawReads>) -> std::sync::RwLockWriteGuard<'_, RawReads> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn read(lock: &RwLock<RawReads>) -> std::sync::RwLockReadGuard<'_, RawReads> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Told what a fleet's gathering reaches: how many clusters were selected, then each
/// cluster as soon as its reads are complete, with everything known at that moment (enough
/// to judge it).
pub trait Observer: Sync {
    fn selected(&self, clusters: usize);
    fn done(&self, cluster: &ResourceId, known: &RawReads);
}

/// Reads the fleet, telling `observer` as it goes.
pub async fn gather(
    client: &ArmClient,
    queries: Queries,
    selection: &Selection,
    answers: Answers,
    observer: &dyn Observer,
) -> Result<Gathered, NoClusterList> {
    let caller = client.caller_object_id().await;
    let shared = Shared {
        caller: caller.clone(),
        known: RwLock::new(RawReads::default()),
        answered: Mutex::new(HashSet::new()),
        answers,
        in_flight: Mutex::new(HashMap::new()),
    };
    let mut pending: FuturesUnordered<_> = queries
        .all()
        .into_iter()
        .map(|query| shared.read_once(client, query.clone()))
        .collect();
    while pending.next().await.is_some() {}
    drop(pending);
    let clusters = {
        let mut known = write(&shared.known);
        if let Some(error) = known
            .get(&queries.clusters)
            .and_then(|raw| raw.error.as_ref())
        {
            return Err(NoClusterList(error.message.clone()));
        }
        let clusters = select(&queries, &known, selection);
        *known = super::known_reads(&queries, std::mem::take(&mut *known), answers);
        clusters
    };
    observer.selected(clusters.len());
    // Clusters are planned and judged a bounded number at a time: the scheduler admits
    // only so many requests anyway, and each cluster being planned holds its facts.
    futures::stream::iter(&clusters)
        .map(|cluster| one_cluster(client, &shared, cluster, observer))
        .buffer_unordered(CLUSTERS_AT_ONCE)
        .collect::<Vec<()>>()
        .await;
    let mut raws = shared.known.into_inner().unwrap_or_else(|e| e.into_inner());
    match answers {
        Answers::Keep => {
            let answered = shared
                .answered
                .into_inner()
                .unwrap_or_else(|e| e.into_inner());
            raws.retain(|key| answered.contains(key));
        }
        Answers::Drop => raws = RawReads::default(),
    }
    Ok(Gathered {
        caller,
        raws,
        clusters,
    })
}

async fn one_cluster(
    client: &ArmClient,
    shared: &Shared,
    cluster: &ResourceId,
    observer: &dyn Observer,
) {
    if let Ok(target) = target_of(cluster) {
        for _ in 0..MAX_ROUNDS {
            let reads = next_reads(&target, &Purpose::Check, &read(&shared.known));
            if reads.is_empty() {
                break;
            }
            let round: FuturesUnordered<_> = reads
                .into_iter()
                .map(|r| shared.obtain(client, r))
                .collect();
            round.collect::<Vec<()>>().await;
        }
    }
    observer.done(cluster, &read(&shared.known));
    shared.let_go_of_own_reads(cluster);
}

/// The target of one cluster of a fleet: the cluster alone, every other input discovered
/// as `check --cluster` would.
pub fn target_of(cluster: &ResourceId) -> Result<Target, crate::target::TargetError> {
    Target::from_record(&record_of(cluster))
}

pub fn record_of(cluster: &ResourceId) -> TargetRecord {
    TargetRecord {
        cluster: cluster.to_string(),
        ..Default::default()
    }
}
