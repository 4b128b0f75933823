//! Fleet mode: the checks of `check` for every AKS cluster of a set of subscriptions or a
//! management group. Azure Resource Graph answers what it indexes in a few paged queries
//! (`queries`), its rows stand for the reads `check` would make (`expand`), and only what
//! it does not hold is read over ARM, once per fleet where clusters share it (`gather`).
//! Each cluster is then judged exactly as `check` judges it, from the same kind of reads.
//!
//! Selection (`--cluster`, `--shard K/N`) and judging are pure and live here; the I/O is
//! all in `gather`.

mod derive;
pub mod expand;
pub mod gather;
pub mod queries;

use crate::checks::{self, Profile};
use crate::facts::Facts;
use crate::ids::ResourceId;
use crate::reads::RawReads;
use crate::report::fleet::{Shard, Unchecked};
use crate::report::{FailOn, Report};
use expand::{id_of, rows};
use queries::Queries;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Which of the clusters found to check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// `--cluster`: only these (also when Resource Graph does not list them yet).
    pub clusters: Vec<ResourceId>,
    pub shard: Option<Shard>,
}

/// The clusters to check, sorted by ID (case-insensitively) and each once: those the
/// cluster query found, or the ones `--cluster` names, then the shard's part of them.
pub fn select(queries: &Queries, raws: &RawReads, selection: &Selection) -> Vec<ResourceId> {
    let mut clusters: Vec<ResourceId> = if selection.clusters.is_empty() {
        rows(raws, &queries.clusters)
            .unwrap_or_default()
            .iter()
            .filter_map(id_of)
            .collect()
    } else {
        selection.clusters.clone()
    };
    clusters.sort_by_key(|c| c.as_str().to_ascii_lowercase());
    clusters.dedup_by(|a, b| a == b);
    if let Some(shard) = selection.shard {
        clusters.retain(|c| in_shard(c, shard));
    }
    clusters
}

/// Whether a cluster falls in the shard: a hash of its lower-cased ID, so every runner of a
/// CI matrix splits the same list the same way, whatever order it was listed in.
pub fn in_shard(cluster: &ResourceId, shard: Shard) -> bool {
    let digest = Sha256::digest(cluster.as_str().to_ascii_lowercase().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let bucket = u64::from_be_bytes(first) % u64::from(shard.count.max(1));
    bucket == u64::from(shard.index.saturating_sub(1))
}

/// One cluster's report, from the reads of the fleet (and their Resource Graph expansion),
/// exactly as `check --cluster` of it would judge; or why it could not be checked.
pub fn judge_cluster(
    cluster: &ResourceId,
    known: &RawReads,
    observed_at: OffsetDateTime,
    profile: Option<Profile>,
    fail_on: FailOn,
) -> Result<Report, Unchecked> {
    let unchecked = |message: String| Unchecked {
        cluster: cluster.to_string(),
        message,
    };
    let record = gather::record_of(cluster);
    let target = gather::target_of(cluster).map_err(|e| unchecked(e.to_string()))?;
    let facts = Facts::derive(target, known, observed_at).map_err(|e| unchecked(e.describe()))?;
    Ok(Report {
        target: facts.discovery.complete_record(&record),
        verdicts: checks::run_all(&facts, profile),
        fail_on,
    })
}

/// Every read a fleet's checks use: the answers, and what the Resource Graph rows among
/// them stand for (an answer from ARM wins over an expanded row). The answers are moved in,
/// not copied: a fleet's rows are its largest data. Let go ([`gather::Answers::Drop`]), the
/// Resource Graph answers live on only in the reads they expanded to.
pub fn known_reads(queries: &Queries, answered: RawReads, answers: gather::Answers) -> RawReads {
    let (mut known, rest) = match answers {
        gather::Answers::Keep => (
            expand::expand(queries, &mut expand::Answered::Kept(&answered)),
            answered,
        ),
        gather::Answers::Drop => {
            let mut taken = expand::Answered::Taken(answered);
            let known = expand::expand(queries, &mut taken);
            match taken {
                expand::Answered::Taken(rest) => (known, rest),
                expand::Answered::Kept(_) => (known, RawReads::default()),
            }
        }
    };
    for raw in rest {
        known.insert(raw);
    }
    known
}

/// Offline, the reads of `cluster`'s plan that the live run derived from subscription-wide
/// lists (`derive`), derived again from the same lists, so a bundle judges as the live run.
pub fn derive_offline(cluster: &ResourceId, known: &mut RawReads, caller: Option<&str>) {
    let Ok(target) = gather::target_of(cluster) else {
        return;
    };
    loop {
        let derived: Vec<_> = crate::plan::next_reads(&target, &crate::plan::Purpose::Check, known)
            .iter()
            .filter_map(|read| match derive::derive(read, known, caller) {
                derive::Derivation::Derived(raw) => Some(raw),
                _ => None,
            })
            .collect();
        if derived.is_empty() {
            return;
        }
        for raw in derived {
            known.insert(raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(n: usize) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/s1/resourceGroups/rg{n}/providers/Microsoft.ContainerService/managedClusters/aks{n}"
        ))
        .unwrap()
    }

    #[test]
    fn shards_split_the_clusters_exactly_once_whatever_the_casing() {
        let clusters: Vec<ResourceId> = (0..200).map(cluster).collect();
        let count = 3;
        let mut seen = 0;
        for index in 1..=count {
            let part: Vec<_> = clusters
                .iter()
                .filter(|c| in_shard(c, Shard { index, count }))
                .collect();
            assert!(part.len() > 30, "shard {index} holds {}", part.len());
            seen += part.len();
        }
        assert_eq!(seen, clusters.len());
        let upper = ResourceId::parse(&clusters[7].as_str().to_ascii_uppercase()).unwrap();
        let shard_of =
            |c: &ResourceId| (1..=count).find(|&index| in_shard(c, Shard { index, count }));
        assert_eq!(shard_of(&upper), shard_of(&clusters[7]));
    }

    #[test]
    fn named_clusters_are_checked_even_when_resource_graph_does_not_list_them() {
        let queries = Queries::new(&queries::GraphScope::default(), None);
        let selection = Selection {
            clusters: vec![cluster(2), cluster(1), cluster(2)],
            shard: None,
        };
        assert_eq!(
            select(&queries, &RawReads::default(), &selection),
            vec![cluster(1), cluster(2)]
        );
    }
}
