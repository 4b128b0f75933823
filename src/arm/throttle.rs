//! The ARM read scheduler: a token bucket per subscription (and one for tenant-level
//! paths) with ARM's documented read limits, and a cap on requests in flight.
//!
//! ARM throttles reads per principal and subscription (250 tokens, 25 refilled a second;
//! paths without a subscription draw from a tenant bucket with the same numbers). Waiting
//! here before sending costs less than a 429 and its `Retry-After`. ARM's own count
//! (`x-ms-ratelimit-remaining-*-reads`) only ever lowers a bucket: other tools of the
//! same principal share it. This module only delays requests; it never sends, refuses or
//! reads one. Resource Graph queries have their own quota (`resource_graph`) and do not
//! come here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Duration, Instant};

/// The bucket size, its refill rate, and how many requests may be in flight at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThrottleLimits {
    pub bucket: u32,
    pub refill_per_second: f64,
    pub max_concurrency: usize,
}

impl Default for ThrottleLimits {
    /// ARM's read limits per principal and subscription (request-limits-and-throttling:
    /// 250, refilled at 25 a second), less a twentieth: ARM's clock and ours never quite
    /// agree, and a 429 costs a `Retry-After` wait at the back of the queue.
    fn default() -> Self {
        ThrottleLimits {
            bucket: 237,
            refill_per_second: 23.75,
            max_concurrency: 32,
        }
    }
}

/// Which bucket a request draws from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BucketKey {
    /// The subscription ID in the path, lower-cased (ARM paths are case-insensitive).
    Subscription(String),
    /// A path without a subscription (built-in definitions, tenant-level providers).
    Tenant,
}

impl BucketKey {
    /// The bucket of an ARM request path: its `/subscriptions/{id}/` segment, else the
    /// tenant's.
    pub fn of(path: &str) -> Self {
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        match (segments.next(), segments.next()) {
            (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") => {
                BucketKey::Subscription(id.to_ascii_lowercase())
            }
            _ => BucketKey::Tenant,
        }
    }

    /// The response header in which ARM states the tokens this bucket has left.
    pub fn remaining_header(&self) -> &'static str {
        match self {
            BucketKey::Subscription(_) => "x-ms-ratelimit-remaining-subscription-reads",
            BucketKey::Tenant => "x-ms-ratelimit-remaining-tenant-reads",
        }
    }
}

struct Bucket {
    /// Below zero when requests have reserved tokens not yet refilled: they are waiting.
    tokens: f64,
    updated: Instant,
}

/// Shared by every request of a run (see [`ReadThrottle::acquire`]).
pub struct ReadThrottle {
    limits: ThrottleLimits,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
    in_flight: Arc<Semaphore>,
}

/// Held while one request is in flight; dropping it lets the next one go.
pub struct ReadPermit {
    _in_flight: Option<OwnedSemaphorePermit>,
}

impl ReadThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        // A zero rate or cap would stall every request forever.
        let limits = ThrottleLimits {
            refill_per_second: limits.refill_per_second.max(0.001),
            max_concurrency: limits.max_concurrency.max(1),
            ..limits
        };
        ReadThrottle {
            limits,
            buckets: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(limits.max_concurrency)),
        }
    }

    /// Waits until the request to `path` may be sent: one token of its bucket (tokens
    /// refill continuously; requests are served in the order they asked), then one of the
    /// in-flight places. The token comes first so that a request waiting for its
    /// subscription does not hold a place another subscription's request could use.
    pub async fn acquire(&self, path: &str) -> ReadPermit {
        let wait = self.reserve(BucketKey::of(path));
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        ReadPermit {
            // The semaphore is never closed, so this always yields a permit.
            _in_flight: self.in_flight.clone().acquire_owned().await.ok(),
        }
    }

    /// ARM said the bucket of `path` has `remaining` tokens: lower ours to that, never
    /// raise it (ARM counts every client of the principal; we count only ours). Requests
    /// still in flight have taken our tokens but not yet ARM's, so they are deducted too.
    pub fn observe(&self, path: &str, remaining: u32) {
        let in_flight = self.limits.max_concurrency - self.in_flight.available_permits();
        self.with_bucket(BucketKey::of(path), |bucket| {
            bucket.tokens = bucket.tokens.min(f64::from(remaining) - in_flight as f64);
        });
    }

    /// Takes one token and says how long until it has been refilled.
    fn reserve(&self, key: BucketKey) -> Duration {
        let rate = self.limits.refill_per_second;
        self.with_bucket(key, |bucket| {
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-bucket.tokens / rate)
            }
        })
    }

    /// Runs `f` on the bucket of `key`, refilled up to now (a new bucket starts full).
    fn with_bucket<T>(&self, key: BucketKey, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let now = Instant::now();
        let full = f64::from(self.limits.bucket);
        // A poisoned lock only means another request panicked; the counts are still sound.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: full,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limits.refill_per_second).min(full);
        bucket.updated = now;
        f(bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const S1: &str = "/subscriptions/S1/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/aks1";
    const S1_LOWER: &str = "/subscriptions/s1/providers/Microsoft.KubernetesConfiguration";
    const S2: &str = "/subscriptions/s2/resourceGroups/g";
    const TENANT: &str = "/providers/Microsoft.Authorization/policyDefinitions/p";

    fn throttle(bucket: u32, refill_per_second: f64, max_concurrency: usize) -> ReadThrottle {
        ReadThrottle::new(ThrottleLimits {
            bucket,
            refill_per_second,
            max_concurrency,
        })
    }

    /// How long `n` acquisitions of `path` took, one after the other.
    async fn time_of(throttle: &ReadThrottle, path: &str, n: usize) -> Duration {
        let started = Instant::now();
        for _ in 0..n {
            drop(throttle.acquire(path).await);
        }
        started.elapsed()
    }

    #[test]
    fn paths_name_their_subscription_or_the_tenant() {
        assert_eq!(BucketKey::of(S1), BucketKey::Subscription("s1".into()));
        assert_eq!(BucketKey::of(S1_LOWER), BucketKey::of(S1));
        assert_eq!(BucketKey::of(TENANT), BucketKey::Tenant);
        assert_eq!(BucketKey::of("/SUBSCRIPTIONS/s2"), BucketKey::of(S2));
        assert_eq!(
            BucketKey::Tenant.remaining_header(),
            "x-ms-ratelimit-remaining-tenant-reads"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_beyond_the_bucket_waits_for_the_refill() {
        let throttle = throttle(5, 5.0, 32);
        assert_eq!(time_of(&throttle, S1, 5).await, Duration::ZERO);
        // The sixth token is refilled 1/5 s later, the seventh 1/5 s after that.
        let waited = time_of(&throttle, S1, 2).await;
        assert!(
            waited >= Duration::from_millis(399) && waited < Duration::from_millis(420),
            "{waited:?}"
        );
        // After a pause the bucket is full again, but never fuller than its size.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(time_of(&throttle, S1, 5).await, Duration::ZERO);
        assert!(time_of(&throttle, S1, 1).await >= Duration::from_millis(199));
    }

    #[tokio::test(start_paused = true)]
    async fn each_subscription_and_the_tenant_have_their_own_bucket() {
        let throttle = throttle(3, 1.0, 32);
        assert_eq!(time_of(&throttle, S1, 2).await, Duration::ZERO);
        // Another spelling of the same subscription draws from the same bucket.
        assert_eq!(time_of(&throttle, S1_LOWER, 1).await, Duration::ZERO);
        assert!(time_of(&throttle, S1, 1).await >= Duration::from_millis(999));
        assert_eq!(time_of(&throttle, S2, 3).await, Duration::ZERO);
        assert_eq!(time_of(&throttle, TENANT, 3).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn arm_s_count_lowers_the_bucket_but_never_raises_it() {
        let throttle = throttle(250, 25.0, 32);
        throttle.observe(S1, 2);
        assert_eq!(time_of(&throttle, S1, 2).await, Duration::ZERO);
        let waited = time_of(&throttle, S1, 1).await;
        assert!(waited >= Duration::from_millis(39), "{waited:?}");
        // A higher count does not give back tokens ARM's count has not shown us.
        throttle.observe(S1, 250);
        assert!(time_of(&throttle, S1, 1).await >= Duration::from_millis(39));
        // Other buckets are untouched.
        assert_eq!(time_of(&throttle, S2, 10).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_are_in_flight() {
        let throttle = Arc::new(throttle(250, 25.0, 3));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (throttle, in_flight, most) =
                    (throttle.clone(), in_flight.clone(), most.clone());
                let path = if i % 2 == 0 { S1 } else { S2 };
                tokio::spawn(async move {
                    let _permit = throttle.acquire(path).await;
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let started = Instant::now();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        // 12 requests of 100 ms, 3 at a time.
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
}
