//! Retry policy for ARM: exponential backoff on 408/429/5xx and I/O errors, honouring
//! `Retry-After` (azure_core passes it in for 429 and 503), within a bounded total time.
//!
//! azure_core's own exponential policy would sleep for any `Retry-After` however long;
//! this one caps every sleep at its total budget and stops retrying once the budget is
//! spent, so a run always ends (one read may take up to about twice the budget).

use async_trait::async_trait;
use azure_core::error::Error;
use azure_core::RetryPolicy;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct BoundedRetry {
    pub max_retries: u32,
    pub initial_delay: Duration,
    pub max_total: Duration,
}

impl Default for BoundedRetry {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay: Duration::from_millis(500),
            max_total: Duration::from_secs(60),
        }
    }
}

impl BoundedRetry {
    /// How long to wait before retry number `retry_count` (1 for the first): the server's
    /// `Retry-After` when it gave one, else the backoff; never more than the budget.
    pub fn delay(&self, retry_count: u32, retry_after: Option<Duration>) -> Duration {
        let delay =
            retry_after.unwrap_or_else(|| self.sleep_duration(retry_count.saturating_sub(1)));
        delay.min(self.max_total)
    }
}

#[async_trait]
impl RetryPolicy for BoundedRetry {
    fn is_expired(&self, since_start: Duration, retry_count: u32) -> bool {
        retry_count >= self.max_retries || since_start >= self.max_total
    }

    fn sleep_duration(&self, retry_count: u32) -> Duration {
        self.initial_delay.saturating_mul(1 << retry_count.min(16))
    }

    async fn wait(&self, _error: &Error, retry_count: u32, retry_after: Option<Duration>) {
        tokio::time::sleep(self.delay(retry_count, retry_after)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_expires() {
        let p = BoundedRetry {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            max_total: Duration::from_secs(10),
        };
        assert_eq!(p.sleep_duration(0), Duration::from_millis(100));
        assert_eq!(p.sleep_duration(2), Duration::from_millis(400));
        assert!(!p.is_expired(Duration::from_secs(1), 2));
        assert!(p.is_expired(Duration::from_secs(1), 3));
        assert!(p.is_expired(Duration::from_secs(10), 0));
        assert_eq!(p.delay(1, None), Duration::from_millis(100));
        assert_eq!(p.delay(3, None), Duration::from_millis(400));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(99))),
            Duration::from_secs(10)
        );
    }
}
