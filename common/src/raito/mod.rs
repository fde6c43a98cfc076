//! The Raito Cloud client: signing in (organisation lookup, Cognito, a cached ID token), file
//! uploads to presigned URLs, and the GraphQL operations of a sync (jobs, task events, data
//! source metadata, imports, subtask polling), all with the same retries and errors.
//!
//! Map: [`ClientConfig`] (config.rs) → [`Client`] (client.rs: transport, headers, retries via
//! [`RetryPolicy`] in retry.rs; sign-in in auth.rs) → operations in jobs.rs, metadata.rs and
//! upload.rs, usage.rs, access.rs and cli_trigger.rs, whose GraphQL documents all live in graphql.rs and `graphql/*.graphql`.
//! Every failure is a [`Error`] (error.rs).

mod access;
mod auth;
mod cli_trigger;
mod client;
mod clients;
mod config;
mod error;
mod graphql;
mod jobs;
mod metadata;
mod retry;
mod status;
mod upload;
mod usage;

pub use access::ACCESS_SYNC_SUBTASK;
pub use cli_trigger::TriggerChannel;
pub use client::Client;
pub use clients::Clients;
pub use config::{COGNITO_REGION, ClientConfig, DEFAULT_BASE_URL, validate_domain};
pub use error::{BODY_EXCERPT, BoxError, Error};
pub use jobs::{
    DEFAULT_POLL_INTERVAL, IdentityImport, JobId, JobTarget, MAX_POLL_FAILURES, Subtask,
    SubtaskOutcome, SubtaskResult, SubtaskState, TaskEvent, TaskResult, object_type,
};
pub use retry::RetryPolicy;
pub use status::JobStatus;
pub use upload::{BodyFuture, BodyOpener, Upload};
pub use usage::UsageDates;
