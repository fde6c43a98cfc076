//! Retries of Raito requests: exponential backoff with jitter (via `backon`), a bounded number
//! of attempts, `Retry-After` honoured, and the rule of which errors may be retried for which
//! kind of request ([`Error::is_retryable`] and the idempotency of the request).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::error::{Error, Idempotency};

/// How often and how patiently a failed request is sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1). Default 4.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles for each further attempt, and a random
    /// jitter of up to the same amount is added. Default 200 ms.
    pub min_delay: Duration,
    /// The longest backoff between two attempts (before jitter). Default 10 s.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured: a server asking for a longer wait gets no further
    /// attempt (a Lambda cannot wait that long anyway). Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Runs `attempt` (given the attempt number, from 1) until it succeeds, fails with an error
    /// that may not be retried for this `idempotency`, or the attempts run out.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts.saturating_sub(1) as usize);
        let count = AtomicU32::new(0);
        let max_retry_after = self.max_retry_after;
        let call = || attempt(count.fetch_add(1, Ordering::Relaxed) + 1);
        call.retry(backoff)
            .when(|error: &Error| error.is_retryable_for(idempotency))
            .adjust(|error: &Error, backoff: Option<Duration>| {
                // `None` means the attempts are used up; a `Retry-After` never adds one.
                let backoff = backoff?;
                match error.retry_after() {
                    Some(wait) if wait > max_retry_after => None,
                    Some(wait) => Some(wait.max(backoff)),
                    None => Some(backoff),
                }
            })
            .notify(|error: &Error, wait: Duration| {
                tracing::warn!(
                    operation,
                    attempt = count.load(Ordering::Relaxed),
                    wait_ms = wait.as_millis() as u64,
                    error = %error,
                    "Raito request failed; retrying"
                );
            })
            .await
    }
}

/// The `Retry-After` of a response, when given in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
