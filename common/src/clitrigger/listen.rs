//! Listening until a stop time: one session after the other (raito-io/cli
//! `internal/clitrigger/websocket_trigger.go`, `WebsocketCliTrigger.Start` and `readChannel`:
//! a fresh connection after each one ends, every session at most 90 minutes,
//! `websocketReset`), with exponential backoff (backon) between failed ones.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::HeaderValue;
use tokio::time::{Instant, sleep_until};

use super::message::{Delivery, Heartbeat};
use super::session::{Session, SessionEnd, SessionError};

/// The channel's timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Between two heartbeats: 5 minutes (websocket_trigger.go, `heartbeatTimeout`).
    pub heartbeat: Duration,
    /// The longest session: 90 minutes (websocket_trigger.go, `websocketReset`).
    pub reset: Duration,
    /// The first wait after a failed session; it doubles (with jitter) up to `max_backoff`.
    /// Default 500 ms.
    pub min_backoff: Duration,
    /// The longest wait between two sessions. Default 30 s.
    pub max_backoff: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(5 * 60),
            reset: Duration::from_secs(90 * 60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What a session needs, fetched before each dial.
pub struct Prepared {
    /// `token <IdToken>`, valid now.
    pub authorization: HeaderValue,
    /// The data sources the heartbeat names.
    pub datasources: Vec<String>,
}

/// The side that knows the credentials and takes the triggers (the Lambda function's queue).
#[expect(
    async_fn_in_trait,
    reason = "implemented and driven in this workspace, on one task: no Send bound is needed"
)]
pub trait Channel {
    /// A fresh token and the heartbeat's data sources, before each dial; the error says why
    /// not (the session is then tried again after the backoff).
    async fn prepare(&mut self) -> Result<Prepared, String>;

    /// Takes one trigger, in the order received.
    async fn deliver(&mut self, delivery: Delivery);
}

/// How listening ended.
#[derive(Debug)]
pub enum Ended {
    /// The stop time came.
    Stopped {
        /// Sessions opened.
        sessions: u32,
        /// Triggers delivered.
        delivered: u64,
    },
    /// Raito refused the handshake (401 or 403): dialling again would be refused too.
    Refused {
        /// Why.
        error: SessionError,
        /// Sessions opened before.
        sessions: u32,
        /// Triggers delivered before.
        delivered: u64,
    },
}

/// A session that lasted this long was a working one: the backoff starts over after it.
const HEALTHY_SESSION: Duration = Duration::from_secs(60);

/// Listens on `url` until `stop`.
pub async fn listen(
    url: &str,
    tls: Arc<rustls::ClientConfig>,
    timing: &Timing,
    stop: Instant,
    channel: &mut impl Channel,
) -> Ended {
    let backoff = || {
        ExponentialBuilder::default()
            .with_min_delay(timing.min_backoff)
            .with_max_delay(timing.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    };
    let mut delays = backoff();
    let mut sessions = 0u32;
    let mut delivered = 0u64;
    while Instant::now() < stop {
        let failure = match channel.prepare().await {
            Err(message) => message,
            Ok(prepared) => {
                match Session::connect(url, prepared.authorization, Arc::clone(&tls)).await {
                    Err(error) if error.is_refusal() => {
                        return Ended::Refused {
                            error,
                            sessions,
                            delivered,
                        };
                    }
                    Err(error) => error.to_string(),
                    Ok(session) => {
                        sessions += 1;
                        let started = Instant::now();
                        tracing::info!(session = sessions, "trigger channel connected");
                        let heartbeat = Heartbeat::new(prepared.datasources);
                        let mut deliver = async |delivery: Delivery| {
                            delivered += 1;
                            channel.deliver(delivery).await;
                        };
                        let end = session
                            .run(
                                &heartbeat,
                                timing.heartbeat,
                                stop,
                                started + timing.reset,
                                &mut deliver,
                            )
                            .await;
                        if started.elapsed() >= HEALTHY_SESSION {
                            delays = backoff();
                        }
                        match end {
                            SessionEnd::Stopped => {
                                tracing::info!(
                                    session = sessions,
                                    "trigger channel closed: time is up"
                                );
                                break;
                            }
                            SessionEnd::Reset => {
                                tracing::info!(session = sessions, "trigger channel reset");
                                continue;
                            }
                            SessionEnd::Closed(frame) => {
                                let (code, reason) = frame.unwrap_or((1005, String::new()));
                                format!("Raito closed the trigger channel ({code} {reason})")
                            }
                            SessionEnd::Broken(error) => error.to_string(),
                        }
                    }
                }
            }
        };
        let wait = delays.next().unwrap_or(timing.max_backoff);
        tracing::warn!(
            error = %failure,
            wait_ms = wait.as_millis() as u64,
            "trigger channel lost; connecting again"
        );
        sleep_until((Instant::now() + wait).min(stop)).await;
    }
    Ended::Stopped {
        sessions,
        delivered,
    }
}
