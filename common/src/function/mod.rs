//! The Lambda side of the sync functions, shared by every `functions/sync-*` binary: the
//! environment they read once at start (clients, bucket, secret names), JSON logging, the
//! deadline, and the handlers. `main.rs` files only wire these to `lambda_runtime`.
//!
//! Environment variables (set by template.yaml):
//! - `RAITO_CONFIG_URI`: `s3://bucket/key` or a local path of raito.yml.
//! - `RAITO_SECRET_NAME`: the Secrets Manager secret with the Raito credentials, a JSON object
//!   `{"domain", "api-user", "api-secret"}`. Without it, `domain`, `api-user` and `api-secret`
//!   of raito.yml are used.
//! - `RAITO_BUCKET` and `RAITO_STAGING_PREFIX` (default `staged/`): where files are staged.
//! - `RAITO_API_URL`, `RAITO_COGNITO_ENDPOINT`: overrides, for a stand-in.
//! - `RAITO_POLL_INTERVAL_MS` (default 5000), `RAITO_DEADLINE_MARGIN_MS` (default 10000).
//! - sync-access: `RAITO_WEBHOOK_SECRET_NAME`, the Secrets Manager secret with the webhook
//!   signing secret, a JSON object `{"secret": "...", "previous": "..."}` (`previous` only
//!   during a rotation); without it the function refuses webhooks (503).
//! - trigger-listener: only `RAITO_CONFIG_URI`, `RAITO_SECRET_NAME`, `RAITO_BUCKET`, the
//!   overrides and `RAITO_DEADLINE_MARGIN_MS` (its lease ends that long before its deadline).
//! - sync-usage: `RAITO_USAGE_PART_BYTES` (default 256 MiB), the size cap of one usage part;
//!   `RAITO_USAGE_RESERVE_MS`, the time kept for uploading and importing what was read
//!   (default a quarter of the time left, at most 2 minutes; see `sync::run::usage_reserve`).

mod access_as_code;
mod environment;
mod event;
#[cfg(feature = "listener")]
mod listener;
mod log_lines;
mod pending;
mod webhook;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::pending::{Notice, NoticeKind};
use crate::raito;
use crate::step::Step;
use crate::sync::run::{self, Limits, RunSummary, Selection};
use crate::trigger::Trigger;
use event::Invocation;

pub use environment::{Environment, FromEnv, SyncEnvironment, WebhookEnvironment, Worker};

/// Why an invocation failed as a whole (a target's failure is in the summary instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required environment variable is missing or invalid.
    #[error("environment variable {name}: {message}")]
    Environment {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// raito.yml could not be read.
    #[error("reading the configuration {uri}: {message}")]
    ConfigSource {
        /// Where it was read from.
        uri: String,
        /// What went wrong.
        message: String,
    },
    /// raito.yml is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    /// The Raito credentials could not be read.
    #[error("reading the Raito credentials: {0}")]
    Credentials(String),
    /// The Raito client could not be built.
    #[error(transparent)]
    Raito(#[from] raito::Error),
    /// The event is not one this function accepts.
    #[error(transparent)]
    Trigger(#[from] crate::trigger::Error),
    /// The event asks for something this function does not do.
    #[error("{0}")]
    Unsupported(String),
    /// The selection does not match the configuration.
    #[error(transparent)]
    Selection(#[from] run::RunError),
    /// The pending runs or the lease in the bucket could not be read or written.
    #[error("the pending runs in the bucket: {0}")]
    Pending(#[from] crate::pending::Error),
    /// An access-as-code file could not be applied, or some of its access providers failed.
    #[error("access-as-code {key}: {message}")]
    AccessAsCode {
        /// The file's key.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// Raito's trigger channel was refused, or some of its messages could not be queued.
    #[error("the trigger channel: {0}")]
    TriggerChannel(String),
    /// Some targets failed; the summary names them, and each failure's kind.
    #[error("{failed} of {total} targets failed: {summary}")]
    TargetsFailed {
        /// The kind of their failures ([`RunSummary::error_type`]).
        kind: &'static str,
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
        /// The run summary as JSON.
        summary: String,
    },
}

impl Error {
    /// The `errorType` Lambda reports: says whether running again can help
    /// (`Retryable...`) or a person must fix something first (`Invalid...`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Environment { .. } => "InvalidEnvironment",
            Error::ConfigSource { .. } => "RetryableConfigSource",
            Error::Config(_) => "InvalidConfig",
            Error::Credentials(_) => "InvalidCredentials",
            Error::Raito(e) if e.is_retryable() => "RetryableRaito",
            Error::Raito(_) => "InvalidRaitoSettings",
            Error::Trigger(_) | Error::Unsupported(_) | Error::Selection(_) => "InvalidEvent",
            Error::Pending(_) => "RetryablePending",
            Error::AccessAsCode { .. } => "AccessAsCodeFailed",
            Error::TriggerChannel(_) => "TriggerChannelFailed",
            Error::TargetsFailed { kind, .. } => kind,
        }
    }
}

/// Structured JSON logs on stdout (what Lambda's JSON log format expects): one flat object
/// per line with the level, the message, the fields of every span the line is logged in
/// (`step` on every line of a function, `requestId` during an invocation, `target` during a
/// target's run) and the event's own fields ([`log_lines`]). `RUST_LOG` sets the level
/// (default `info`).
pub fn init_logging() {
    let from_env = tracing_subscriber::EnvFilter::try_from_default_env().ok();
    let explicit = from_env.is_some();
    let filter = from_env.unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .event_format(log_lines::FlatJson)
        .with_writer(crate::logs::Tee::stdout())
        .with_env_filter(filter)
        .with_filter_reloading();
    let handle = builder.reload_handle();
    if builder.try_init().is_ok() && !explicit {
        // raito.yml's `debug: true` lowers the level, unless RUST_LOG chose one.
        crate::logs::on_debug(move |debug| {
            let level = if debug { "debug" } else { "info" };
            let _ = handle.reload(tracing_subscriber::EnvFilter::new(level));
        });
    }
}

/// Lambda's deadline (milliseconds since the epoch) as an instant of the tokio clock.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Runs a sync function that does `step`: [`run_function`] with [`handle`] for every
/// invocation.
#[cfg(feature = "lambda")]
pub async fn serve(step: Step) -> Result<(), lambda_runtime::Error> {
    run_function(step.name(), async |env: &SyncEnvironment, event| {
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        handle(
            env,
            step,
            event.payload,
            deadline,
            &event.context.request_id,
        )
        .await
    })
    .await
}

/// Runs the webhook receiver: [`run_function`] with [`handle_webhook`] for every invocation.
/// Its own function (and concurrency, and permissions: no database, no Raito or connector
/// secret, only the webhook secret), so a flood of requests never takes a sync's capacity.
#[cfg(feature = "lambda")]
pub async fn serve_webhooks() -> Result<(), lambda_runtime::Error> {
    run_function("webhook", async |env: &WebhookEnvironment, event| {
        handle_webhook(env, event.payload).await
    })
    .await
}

/// Runs the trigger listener: [`run_function`] with [`handle_listener`] for every invocation.
/// Its own function (no database, no connector secret: raito.yml, the Raito secret, `locks/`
/// and `triggers/`), one invocation at a time holding Raito's trigger channel.
#[cfg(all(feature = "lambda", feature = "listener"))]
pub async fn serve_listener() -> Result<(), lambda_runtime::Error> {
    run_function("listener", async |env: &Worker, event| {
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        handle_listener(env, event.payload, deadline, &event.context.request_id).await
    })
    .await
}

/// The handler of the trigger listener (`functions/trigger-listener`): started by its
/// schedule, it takes the listener lease and listens on Raito's trigger channel until
/// `deadline`, queueing every message as a webhook delivery is queued ([`listener`]).
#[cfg(feature = "listener")]
pub async fn handle_listener(
    env: &Worker,
    event: serde_json::Value,
    deadline: Instant,
    holder: &str,
) -> Result<serde_json::Value, Error> {
    listener::handle(env, event, deadline, holder).await
}

/// A function's life: JSON logs, the environment built once, then `handler` for every
/// invocation, each failure reported with its [`Error::kind`] as Lambda's `errorType`. Every
/// line it logs, from its start on, carries `step` (`webhook` for the receiver).
#[cfg(feature = "lambda")]
async fn run_function<E: FromEnv>(
    step: &'static str,
    handler: impl AsyncFn(
        &E,
        lambda_runtime::LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, Error>,
) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
    init_logging();
    let span = tracing::info_span!("function", step);
    let function = async {
        let env = E::from_env().await?;
        let (env, handler) = (&env, &handler);
        lambda_runtime::run(service_fn(
            move |event: LambdaEvent<serde_json::Value>| async move {
                handler(env, event).await.map_err(|e| Diagnostic {
                    error_type: e.kind().to_owned(),
                    error_message: e.to_string(),
                })
            },
        ))
        .await
    };
    // Boxed: the whole function as one future is too deep a type for the binary's `main`.
    tracing::Instrument::instrument(Box::pin(function), span).await
}

/// The handler of the webhook receiver: a Function URL request is a Raito webhook, checked,
/// queued under `triggers/<step>/<target>/` for the function of its step, recorded, and
/// answered at once ([`webhook`]); any other event is refused.
pub async fn handle_webhook(
    env: &WebhookEnvironment,
    event: serde_json::Value,
) -> Result<serde_json::Value, Error> {
    match Invocation::read(event)? {
        Invocation::FunctionUrl(request) => Ok(webhook::receive(env, *request).await.to_event()),
        _ => Err(Error::Unsupported(
            "the webhook receiver takes only Function URL requests (Raito's webhooks)".into(),
        )),
    }
}

/// The handler of a sync function that runs `step` (sync-metadata: the data source step,
/// sync-identities: the identity store step, sync-access: the data access step, sync-usage:
/// the data usage step). `holder` names this invocation (the Lambda request id) in leases.
///
/// - A Function URL request is refused: Raito's webhooks go to the webhook receiver
///   ([`handle_webhook`]).
/// - An S3 event for `triggers/<step>/` runs what is pending for this step ([`pending`]); one
///   for `access-as-code/<target>/` (sync-access only) applies that file ([`access_as_code`]).
/// - A schedule or a `syncTrigger` invoked directly only queues a trigger for each target it
///   selects and returns ([`pending::Runner::queue`]): each trigger's bucket event starts an
///   invocation of its own that runs that target, so targets run side by side, runs of one
///   target never overlap, and requests that pile up while a run is busy coalesce into its
///   next pass. A schedule also sweeps: it wakes every other target with triggers of its step
///   left waiting (e.g. by a run that died).
///
/// The answer of a run is its summary; of a schedule, what it queued. Fails (so Lambda counts
/// an error and the alarm fires) when any target failed; the error carries the summary.
pub async fn handle(
    env: &SyncEnvironment,
    step: Step,
    event: serde_json::Value,
    deadline: Instant,
    holder: &str,
) -> Result<serde_json::Value, Error> {
    // What needs no raito.yml is checked before it is read: an invocation this function does
    // not take, or a trigger it cannot run, fails at once, without a read of the bucket.
    let work = match Invocation::read(event)? {
        Invocation::FunctionUrl(_) => {
            return Err(Error::Unsupported(
                "webhooks are received by the webhook-receiver function's URL".into(),
            ));
        }
        Invocation::S3(notices) => Work::Pending(notices),
        Invocation::Direct(event) => {
            let trigger = Trigger::from_event(event.clone())?;
            let sweep = matches!(trigger, Trigger::Schedule(_));
            Work::Now {
                selection: selection(step, trigger)?,
                event,
                sweep,
            }
        }
    };
    let limits = Limits {
        deadline: deadline
            .checked_sub(env.deadline_margin)
            .unwrap_or(deadline),
        poll_interval: env.poll_interval,
        usage_part_bytes: env.usage_part_bytes,
        usage_reserve: env.usage_reserve,
    };
    let config = env.load_config().await?;
    crate::logs::set_debug(config.settings.debug);
    let runner = pending::Runner {
        env,
        config: &config,
        step,
        limits,
        holder,
    };
    match work {
        Work::Pending(notices) => on_s3_event(&runner, notices).await,
        Work::Now {
            selection,
            event,
            sweep,
        } => {
            // Validate the selection before signing in, so a typo fails fast.
            let targets = run::select(&config, &selection)?;
            let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
            runner.queue(&names, &event, sweep).await
        }
    }
}

/// What an invocation of a sync function asks for.
enum Work {
    /// Run the pending triggers (or access-as-code files) the bucket's event names.
    Pending(Vec<Notice>),
    /// Run the selected targets now (`sweep`: a schedule, which also runs forgotten triggers).
    Now {
        selection: Selection,
        event: serde_json::Value,
        sweep: bool,
    },
}

/// An S3 event: pending triggers of the runner's step (any target named in the event), or,
/// for the access step, access-as-code files.
async fn on_s3_event(
    runner: &pending::Runner<'_>,
    notices: Vec<Notice>,
) -> Result<serde_json::Value, Error> {
    let mut targets: Vec<String> = Vec::new();
    let mut files = Vec::new();
    for notice in notices {
        let wanted = notice.created && notice.bucket == runner.env.bucket;
        match notice.kind {
            NoticeKind::Pending { step, target } if wanted && step == runner.step => {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
            NoticeKind::AccessAsCode { target } if wanted && runner.step == Step::DataAccess => {
                files.push((target, notice.key));
            }
            _ => tracing::info!(
                bucket = %notice.bucket,
                key = %notice.key,
                "S3 event not for this function: ignored"
            ),
        }
    }
    if !files.is_empty() {
        let mut results = Vec::new();
        for (target, key) in files {
            results.push(access_as_code::apply(runner, &target, &key).await?);
        }
        return Ok(serde_json::Value::Array(results));
    }
    runner.run_pending(&targets).await
}

/// Fails with the summary when any target failed, else answers it.
fn answer(summary: RunSummary) -> Result<serde_json::Value, Error> {
    let failed = summary
        .targets
        .iter()
        .filter(|t| t.status == run::TargetStatus::Failed)
        .count();
    let json = serde_json::to_value(&summary).unwrap_or_default();
    if let Some(kind) = summary.error_type() {
        return Err(Error::TargetsFailed {
            kind,
            failed,
            total: summary.targets.len(),
            summary: json.to_string(),
        });
    }
    Ok(json)
}

/// The targets an event selects for a function that runs `step` ([`Trigger::selection`]).
pub(crate) fn selection(step: Step, trigger: Trigger) -> Result<Selection, Error> {
    trigger
        .selection(step)
        .map_err(|e| Error::Unsupported(e.to_string()))
}
