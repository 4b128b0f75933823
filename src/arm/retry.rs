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

#[async_trait]
impl RetryPolicy for BoundedRetry {
    fn is_expired(&self, since_start: Duration, retry_count: u32) -> bool {
        retry_count >= self.max_retries || since_start >= self.max_total
    }

    fn sleep_duration(&self, retry_count: u32) -> Duration {
        self.initial_delay.saturating_mul(1 << retry_count.min(16))
    }

    async fn wait(&self, _error: &Error, retry_count: u32, retry_after: Option<Duration>) {
        let delay = retry_after.unwrap_or_else(|| self.sleep_duration(retry_count - 1));
        tokio::time::sleep(delay.min(self.max_total)).await;
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
    }
}
