//! HTTP plumbing for the REST connectors (Okta, Microsoft Graph): one client per target that
//! honours rate limits by waiting (`Retry-After`, possibly fractional; Okta's
//! `X-Rate-Limit-Remaining`/`X-Rate-Limit-Reset`), retries 429 and 5xx with exponential backoff
//! and jitter (`backon`), counts its requests, and never builds a next-page URL itself: pages
//! are followed by the absolute links the server gives ([`paging`]). OAuth 2.0 client
//! credentials, with a secret or a signed JWT assertion, are in [`oauth`].

pub mod oauth;
pub mod paging;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use tokio::time::Instant;

/// Reads one list per key (e.g. the members of each group), `concurrency` keys at a time, and
/// hands each key's list to `each` in key order, as soon as it and those before it are read:
/// the group member fan-out of the Okta and Entra ID connectors. The first error stops it.
pub async fn fan_out<K, T, Fut>(
    keys: Vec<K>,
    concurrency: usize,
    read: impl Fn(K) -> Fut,
    mut each: impl FnMut(K, Vec<T>),
) -> Result<(), crate::connector::Error>
where
    K: Clone,
    Fut: Future<Output = Result<Vec<T>, crate::connector::Error>>,
{
    use futures::{StreamExt, TryStreamExt};
    let read = &read;
    let mut lists = futures::stream::iter(keys)
        .map(|key| async move {
            let list = read(key.clone()).await?;
            Ok::<_, crate::connector::Error>((key, list))
        })
        .buffered(concurrency.max(1));
    while let Some((key, list)) = lists.try_next().await? {
        each(key, list);
    }
    Ok(())
}

/// How a REST client retries and waits.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. Default 8.
    pub max_attempts: u32,
    /// The first backoff when the server gives no wait; it doubles, with jitter. Default 1 s.
    pub min_delay: Duration,
    /// The longest backoff. Default 30 s.
    pub max_delay: Duration,
    /// The longest wait a server may ask for (`Retry-After`, a rate-limit reset); asked for
    /// more, the request fails instead. Default 120 s.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// A failed request, before the connector gives it meaning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be sent or its answer not read.
    #[error("request failed: {0}")]
    Network(#[from] reqwest::Error),
    /// The server answered with an error status (after the retries, for those retried).
    #[error("HTTP {status}: {body}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The body, cut at 2,000 bytes.
        body: String,
        /// What the server asked to wait, if anything.
        retry_after: Option<Duration>,
    },
}

/// A successful answer.
#[derive(Debug)]
pub struct Response {
    /// Its headers (paging links, rate-limit counters).
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// A REST client for one target: shared connection pool, rate-limit state and request count.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    policy: RetryPolicy,
    requests: AtomicU64,
    waited: Mutex<Duration>,
    /// No request leaves before this instant: the server said the quota is used up until then.
    not_before: Mutex<Option<Instant>>,
}

impl Client {
    /// A client with `policy`, its own connection pool and a per-request timeout of 60 s.
    pub fn new(policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            policy,
            requests: AtomicU64::new(0),
            waited: Mutex::new(Duration::ZERO),
            not_before: Mutex::new(None),
        })
    }

    /// The underlying client, e.g. for a token request.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Time spent waiting for rate limits and backoff so far.
    pub fn waited(&self) -> Duration {
        *self.waited.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET url` with `authorization` (and `headers`), retrying what may succeed later: 429,
    /// 500, 502, 503, 504 and network errors. Waits first whenever an earlier answer said the
    /// rate-limit quota is used up.
    pub async fn get(
        &self,
        url: &str,
        authorization: &HeaderValue,
        headers: &[(&'static str, &str)],
    ) -> Result<Response, Error> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.policy.max_attempts.saturating_sub(1) as usize);
        let max_wait = self.policy.max_wait;
        let attempt = || async {
            self.wait_for_quota().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            crate::metrics::sent(0, 1);
            let mut request = self
                .http
                .get(url)
                .header(reqwest::header::AUTHORIZATION, authorization.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            self.note_quota(&headers);
            let body = response.bytes().await?;
            if status.is_success() {
                return Ok(Response { headers, body });
            }
            Err(Error::Status {
                status,
                body: String::from_utf8_lossy(&body[..body.len().min(2_000)]).into_owned(),
                retry_after: wait_hint(&headers),
            })
        };
        attempt
            .retry(backoff)
            .when(is_retryable)
            .adjust(move |error: &Error, backoff: Option<Duration>| {
                let backoff = backoff?;
                match error {
                    Error::Status {
                        retry_after: Some(wait),
                        ..
                    } if *wait > max_wait => None,
                    Error::Status {
                        retry_after: Some(wait),
                        ..
                    } => Some(*wait),
                    _ => Some(backoff),
                }
            })
            .notify(|error: &Error, wait: Duration| {
                *self.waited.lock().unwrap_or_else(|e| e.into_inner()) += wait;
                tracing::warn!(url, wait_ms = wait.as_millis() as u64, %error, "request failed; waiting, then retrying");
            })
            .await
    }

    async fn wait_for_quota(&self) {
        let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                let wait = until - now;
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "rate limit quota used up: waiting for its reset"
                );
                *self.waited.lock().unwrap_or_else(|e| e.into_inner()) += wait;
                tokio::time::sleep_until(until).await;
            }
        }
    }

    /// Okta says how much of the quota is left: at 0, nothing leaves before the reset.
    fn note_quota(&self, headers: &HeaderMap) {
        let remaining = header_number(headers, "x-rate-limit-remaining");
        let reset = reset_wait(headers);
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        *not_before = match (remaining, reset) {
            (Some(remaining), Some(wait)) if remaining <= 0.0 => {
                Some(Instant::now() + wait.min(self.policy.max_wait))
            }
            _ => None,
        };
    }
}

fn is_retryable(error: &Error) -> bool {
    match error {
        Error::Network(e) => !e.is_builder(),
        Error::Status { status, .. } => matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504),
    }
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long the server asks to wait: `Retry-After` in seconds (fractional allowed), else the
/// time until Okta's `X-Rate-Limit-Reset` (epoch seconds).
fn wait_hint(headers: &HeaderMap) -> Option<Duration> {
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    retry_after.or_else(|| reset_wait(headers))
}

/// The time until `X-Rate-Limit-Reset` (epoch seconds), at least 100 ms.
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let reset = header_number(headers, "x-rate-limit-reset")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    Some(Duration::from_secs_f64((reset - now).max(0.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fractional_retry_after_is_honoured_to_the_millisecond() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2.128"));
        assert_eq!(wait_hint(&headers), Some(Duration::from_millis(2128)));
    }

    #[test]
    fn an_okta_reset_in_the_past_still_waits_a_little() {
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("1000"));
        assert_eq!(wait_hint(&headers), Some(Duration::from_millis(100)));
    }
}
