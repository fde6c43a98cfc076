//! The shared library of the Raito sync functions.
//!
//! Map of the crate:
//! - [`model`]: Raito's wire formats, one file per sync (identities, data source, access,
//!   usage). Field names are exactly those on the wire.
//! - [`output`]: the one-JSON-array-per-file format, written and read as a stream, to a local
//!   file or an S3 object.
//! - [`connector`]: the connector SDK: the traits for the four syncs, the sinks results are
//!   pushed into, the meaning-based error, and the registry of connectors.
//! - [`connectors`]: one folder per connector, each with the same shape.
//! - `http`: what the REST connectors share: rate limits, retries, paging links, OAuth.
//! - [`config`]: `raito.yml`, compatible with the Raito CLI, plus secret references.
//! - [`raito`]: the Raito Cloud client: sign-in, uploads, jobs, GraphQL operations, retries.
//! - [`aws`]: AWS SDK configuration, Secrets Manager (cached) and S3 clients.
//! - [`function`]: the Lambda side: environment, JSON logs, deadline, the handlers.
//! - [`logs`]: each step's log lines, captured for Raito (log forwarding).
//! - [`sync`]: the sync pipelines, independent of how they are triggered (Lambda or CLI).
//! - [`step`]: the four syncs (data source, identity store, data access, data usage) and
//!   every name each goes by.
//! - [`trigger`]: the events that start a sync function (schedules, Raito's messages).
//! - [`webhook`]: Raito's signed webhooks on a Lambda Function URL: signature, replay guard.
//! - [`clitrigger`]: Raito's trigger channel, the websocket the Go CLI listens on: the
//!   session, its heartbeat and its messages (the `listener` feature).
//! - [`pending`]: triggers waiting per target and step, and the per-target run lease, in S3.
//! - [`metrics`]: what a step counts as it goes (written, sent to the target), and the
//!   embedded-metric-format lines a function prints per target run.
//! - [`history`]: each target run's record in the bucket (`runs/`), read by `raito-sync status`.
//! - `tls`: the CA certificates connectors trust (a target's PEM, or the system's roots).
//! - `usage_sql`: the objects a statement's SQL text touches, and how (PostgreSQL's and
//!   Snowflake's usage syncs; the `postgresql-usage` and `snowflake-usage` features).
//! - `testing`: the conformance suite every connector's tests run (the `testing` feature).

pub mod access_file;
pub mod aws;
#[cfg(feature = "listener")]
pub mod clitrigger;
pub mod config;
pub mod connector;
pub mod connectors;
pub mod function;
pub mod history;
#[cfg(feature = "rest")]
pub mod http;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod output;
pub mod pending;
pub mod raito;
pub mod step;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(any(feature = "postgresql", feature = "ldap", feature = "listener"))]
pub mod tls;
pub mod trigger;
#[cfg(any(feature = "postgresql-usage", feature = "snowflake-usage"))]
pub mod usage_sql;
pub mod webhook;

/// Any underlying error, kept as the `source` of this crate's errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Re-exported: secrets in this crate's API are `secrecy::SecretString`s.
pub use secrecy;
