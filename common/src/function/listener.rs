//! The trigger listener: Raito's own trigger channel (the websocket the Go CLI listens on,
//! [`crate::clitrigger`]) held by one Lambda invocation at a time, every message queued
//! exactly as a webhook delivery is ([`super::webhook::routes`], [`crate::pending`]): under
//! `triggers/<step>/<target>/`, whose bucket event wakes the function of that step.
//!
//! One listener at a time: the invocation takes the lease [`LEASE_KEY`] until its own
//! deadline (less `RAITO_DEADLINE_MARGIN_MS`), stops listening a little before the lease
//! expires and releases it. The schedule starts the next invocation before that: it finds the
//! lease held, waits until the holder hands over (when that leaves it at least [`MIN_HOLD`] of
//! its own time, else it ends at once as a standby) and takes over; the gap is one reconnect.
//! Two started together: one holds, the other ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Error, Worker};
use crate::clitrigger::{self, Channel, Delivery, Ended, Prepared, Timing};
use crate::config::Config;
use crate::config::cli::RaitoOverride;
use crate::pending::Acquired;
use crate::pending::DeliveryId;
use crate::raito::{self, TriggerChannel};
use crate::trigger::Trigger;

/// The listener's lease in the bucket (under `locks/`, which the functions may write).
pub const LEASE_KEY: &str = "locks/listener/websocket";
/// A listener that would hold the lease for less than this once the holder hands over does
/// not wait for it: it ends as a standby.
pub const MIN_HOLD: Duration = Duration::from_secs(10);
/// The holder stops listening this long before its lease expires, so that it has closed the
/// connection and released the lease before the next one may take it.
const STOP_BEFORE_EXPIRY: Duration = Duration::from_secs(3);
/// A waiting listener asks for the lease at least this often once the holder's time is up.
const MAX_POLL: Duration = Duration::from_secs(1);

/// Handles one invocation of the trigger listener: a schedule (or any `{"targets": ...}`
/// input; the targets are not used: the listener serves the whole bundle) starts it; it
/// listens until its deadline. The answer says what it did: `disabled` (`disable-websocket`
/// in raito.yml), `standby` (another listener holds the channel), `unavailable` (Raito offers
/// no channel), or `stopped` with the sessions opened and the triggers queued. Fails when
/// Raito refuses the channel (PermissionDeniedError, or the handshake answered 401/403) or a
/// message could not be queued, so the alarm fires.
pub(super) async fn handle(
    env: &Worker,
    event: Value,
    deadline: Instant,
    holder: &str,
) -> Result<Value, Error> {
    if !matches!(Trigger::from_event(event)?, Trigger::Schedule(_)) {
        return Err(Error::Unsupported(
            "the trigger listener is started by its schedule; Raito's messages go to the \
             webhook receiver or the sync functions"
                .into(),
        ));
    }
    let config = env.load_config_for_routing().await?;
    crate::logs::set_debug(config.settings.debug);
    if config.settings.disable_websocket {
        // raito-io/cli internal/clitrigger/factory.go: with the flag, no trigger is captured.
        tracing::info!("disable-websocket is set in raito.yml: not listening");
        return Ok(json!({"status": "disabled"}));
    }
    let handover = deadline
        .checked_sub(env.deadline_margin)
        .unwrap_or(deadline);
    let Some(lease) = take_lease(env, holder, handover).await? else {
        return Ok(json!({"status": "standby"}));
    };
    let stop = to_instant(lease.expires_at())
        .checked_sub(STOP_BEFORE_EXPIRY)
        .unwrap_or_else(Instant::now);
    lease.hold(listen(env, config, holder, stop)).await
}

/// Takes the listener's lease until `handover`, waiting for a holder that hands over early
/// enough; `None` when this invocation should stand by.
async fn take_lease(
    env: &Worker,
    holder: &str,
    handover: Instant,
) -> Result<Option<crate::pending::Lease>, Error> {
    loop {
        let left = handover.saturating_duration_since(Instant::now());
        if left < MIN_HOLD {
            tracing::info!("too little time left to listen: standing by");
            return Ok(None);
        }
        match env
            .leases
            .acquire_key(LEASE_KEY, holder, left, SystemTime::now())
            .await?
        {
            Acquired::Held(lease) => {
                tracing::info!(
                    expires_at_ms = millis(lease.expires_at()),
                    "listener lease taken"
                );
                return Ok(Some(lease));
            }
            Acquired::Busy {
                holder: other,
                expires_at,
            } => {
                let until = expires_at.map(to_instant);
                match until {
                    Some(until) if until + MIN_HOLD <= handover => {
                        // The holder hands over before our own deadline: wait for it, then
                        // ask again (it releases the lease a little before it expires).
                        let wake = until
                            .checked_sub(STOP_BEFORE_EXPIRY)
                            .unwrap_or(until)
                            .max(Instant::now() + env.poll_interval.min(MAX_POLL));
                        tracing::debug!(
                            holder = other.as_deref(),
                            "waiting for the listener lease"
                        );
                        tokio::time::sleep_until(wake).await;
                    }
                    _ => {
                        tracing::info!(
                            holder = other.as_deref(),
                            "another listener holds the trigger channel: standing by"
                        );
                        return Ok(None);
                    }
                }
            }
        }
    }
}

/// Asks Raito for the channel and listens until `stop`.
async fn listen(env: &Worker, config: Config, holder: &str, stop: Instant) -> Result<Value, Error> {
    let client = env
        .raito(&config)
        .await?
        .client(&RaitoOverride::default())
        .map_err(Error::Credentials)?;
    let url = match client.cli_trigger_url().await? {
        TriggerChannel::Url(url) => url,
        TriggerChannel::None => {
            // raito-io/cli internal/clitrigger/factory.go: an empty URL, no trigger channel.
            tracing::warn!(
                "Raito offers no trigger channel (cliTriggerUrl is empty): not listening"
            );
            return Ok(json!({"status": "unavailable"}));
        }
        TriggerChannel::Denied(message) => {
            tracing::error!(%message, "Raito refused the trigger channel");
            return Err(Error::TriggerChannel(format!(
                "cliTriggerUrl answered PermissionDeniedError: {message}; give the API user \
                 the right to listen, or set disable-websocket: true in raito.yml"
            )));
        }
    };
    let tls = clitrigger::tls_config().map_err(|e| Error::TriggerChannel(e.to_string()))?;
    let mut channel = Queue {
        env,
        client,
        config,
        holder: delivery_prefix(holder),
        sequence: AtomicU64::new(0),
        queued: 0,
        unrouted: 0,
        failed: 0,
    };
    let ended = clitrigger::listen(&url, tls, &Timing::default(), stop, &mut channel).await;
    let (sessions, delivered) = match &ended {
        Ended::Stopped {
            sessions,
            delivered,
        }
        | Ended::Refused {
            sessions,
            delivered,
            ..
        } => (*sessions, *delivered),
    };
    let summary = json!({
        "status": "stopped", "sessions": sessions, "delivered": delivered,
        "queued": channel.queued, "unrouted": channel.unrouted, "failed": channel.failed,
    });
    tracing::info!(%summary, "trigger listener done");
    if let Ended::Refused { error, .. } = ended {
        tracing::error!(%error, "Raito refused the trigger channel's handshake");
        return Err(Error::TriggerChannel(format!(
            "{error}; check the Raito credentials (RAITO_SECRET_NAME) of the listener"
        )));
    }
    if channel.failed > 0 {
        return Err(Error::TriggerChannel(format!(
            "{} triggers received could not be queued (see the log); they run with the next \
             schedule of their step: {summary}",
            channel.failed
        )));
    }
    Ok(summary)
}

/// Queues what the channel delivers, as the webhook receiver does.
struct Queue<'a> {
    env: &'a Worker,
    client: raito::Client,
    /// raito.yml as last read (again before each session, so changes reach the next one).
    config: Config,
    /// This invocation's part of the delivery ids.
    holder: String,
    sequence: AtomicU64,
    queued: u64,
    unrouted: u64,
    failed: u64,
}

impl Channel for Queue<'_> {
    async fn prepare(&mut self) -> Result<Prepared, String> {
        match self.env.load_config_for_routing().await {
            Ok(config) => self.config = config,
            Err(error) => tracing::warn!(%error, "raito.yml not read again; using the last one"),
        }
        let authorization = self
            .client
            .authorization()
            .await
            .map_err(|e| format!("signing in to Raito: {e}"))?;
        Ok(Prepared {
            authorization,
            datasources: heartbeat_data_sources(&self.config),
        })
    }

    async fn deliver(&mut self, delivery: Delivery) {
        let Some(id) = self.next_id() else {
            self.failed += 1;
            tracing::error!(holder = %self.holder, "no delivery id could be made: trigger not queued");
            return;
        };
        let work = match super::webhook::routes(&self.config, &delivery.trigger) {
            Ok(work) => work,
            Err(reason) => {
                // As a webhook for no target (422): nothing here to run.
                self.unrouted += 1;
                tracing::warn!(delivery = %id, %reason, "trigger channel message for no target");
                return;
            }
        };
        for (step, target) in &work {
            match self
                .env
                .pending
                .enqueue(*step, target, &id, &delivery.body)
                .await
            {
                Ok(_) => {
                    self.queued += 1;
                    tracing::info!(delivery = %id, step = step.segment(), target, "trigger queued");
                }
                Err(error) => {
                    self.failed += 1;
                    tracing::error!(delivery = %id, step = step.segment(), target, %error, "trigger not queued");
                }
            }
        }
    }
}

impl Queue<'_> {
    /// `ws-<Unix milliseconds>-<sequence>-<holder>`: unique, and in arrival order as keys.
    /// Always `Some`: digits and [`delivery_prefix`]'s characters, at most 109 of them.
    fn next_id(&self) -> Option<DeliveryId> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        DeliveryId::parse(&format!(
            "ws-{:013}-{sequence:06}-{}",
            millis(SystemTime::now()),
            self.holder
        ))
    }
}

/// The invocation's request id cut to the characters and length a delivery id allows.
fn delivery_prefix(holder: &str) -> String {
    holder
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect()
}

/// The data sources the heartbeat names: the `data-source-id` of every target that syncs
/// one (raito-io/cli internal/clitrigger/websocket_trigger.go, `heartBeatTargetSync`: targets
/// whose plugin does a full data source sync, or says nothing about its type; here every
/// connector with a data source does a full one).
pub(crate) fn heartbeat_data_sources(config: &Config) -> Vec<String> {
    let mut ids: Vec<String> = config
        .targets
        .iter()
        .filter_map(|t| t.data_source_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A wall-clock time as an instant of the tokio clock.
fn to_instant(time: SystemTime) -> Instant {
    let now = SystemTime::now();
    match time.duration_since(now) {
        Ok(ahead) => Instant::now() + ahead,
        Err(behind) => Instant::now()
            .checked_sub(behind.duration())
            .unwrap_or_else(Instant::now),
    }
}
