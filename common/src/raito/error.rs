//! The one error of the Raito Cloud client, by meaning: a bad configuration, rejected
//! credentials, an HTTP or GraphQL failure, an unreachable server, a failed or overdue
//! subtask. Each says whether trying again can help. No message or `Debug` output ever holds
//! a token, the API secret or a presigned URL.

use std::time::Duration;

use super::status::JobStatus;

pub use crate::BoxError;

/// What went wrong talking to Raito Cloud (or to its Cognito user pool, or to a presigned
/// upload URL).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting of [`ClientConfig`](super::ClientConfig) is invalid; nothing was sent.
    #[error("invalid Raito client configuration: {field}: {reason}")]
    InvalidConfig {
        /// The setting, e.g. `domain`.
        field: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },

    /// Raito or Cognito refused the credentials, or the domain is unknown. Never retried: a
    /// person has to fix the `api-user`, `api-secret` or `domain` first.
    #[error("Raito rejected api-user \"{api_user}\" of domain \"{domain}\": {reason}")]
    Authentication {
        /// The configured API user (never the secret).
        api_user: String,
        /// The configured domain.
        domain: String,
        /// Why, e.g. `wrong api-secret or unknown api-user (NotAuthorizedException)`.
        reason: String,
    },

    /// The server answered with an HTTP status that means failure.
    #[error("{operation}: HTTP {status}{}", excerpt_suffix(body))]
    Http {
        /// What was being done, e.g. `createJob`, `upload URL`.
        operation: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body (at most [`BODY_EXCERPT`] characters).
        body: String,
        /// How long the server asked to wait (`Retry-After` seconds), if it said so.
        retry_after: Option<Duration>,
    },

    /// The GraphQL response had an `errors` array (also when it had `data`), or the server
    /// rejected the document. Not retried.
    #[error("{operation}: GraphQL errors: {}", messages.join("; "))]
    GraphQl {
        /// The GraphQL operation, e.g. `createJob`.
        operation: &'static str,
        /// The `message` of every error.
        messages: Vec<String>,
    },

    /// The server answered the operation with a typed error member (`PermissionDeniedError`,
    /// `NotFoundError`, `BaseError.message`…).
    #[error("{operation}: Raito refused: {message}")]
    Rejected {
        /// The GraphQL operation.
        operation: &'static str,
        /// The error's message.
        message: String,
    },

    /// The server could not be reached, or the connection broke or timed out.
    #[error("{operation}: network error: {source}")]
    Network {
        /// What was being done.
        operation: &'static str,
        /// Whether the request may have reached the server (false only when no connection was
        /// established, or when it was an earlier step, such as signing in, that failed).
        maybe_sent: bool,
        /// The underlying error (URLs stripped).
        #[source]
        source: BoxError,
    },

    /// The response could not be read as the expected JSON.
    #[error("{operation}: unexpected response: {message}")]
    Decode {
        /// What was being done.
        operation: &'static str,
        /// What did not match.
        message: String,
    },

    /// The bytes of an upload could not be read (file missing, S3 object gone…).
    #[error("reading the upload's content failed: {source}")]
    UploadSource {
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The server-side subtask ended `FAILED`; `errors` are its own messages.
    #[error("subtask {subtask_id} of job {job_id} ({job_type}) failed on the server: [{}]", errors.join("; "))]
    SubtaskFailed {
        /// The job.
        job_id: String,
        /// The job type, e.g. `DS`.
        job_type: &'static str,
        /// The subtask.
        subtask_id: String,
        /// The subtask's `errors`.
        errors: Vec<String>,
    },

    /// The server-side subtask ended `TIMED_OUT`.
    #[error("subtask {subtask_id} of job {job_id} ({job_type}) timed out on the server")]
    SubtaskTimedOut {
        /// The job.
        job_id: String,
        /// The job type.
        job_type: &'static str,
        /// The subtask.
        subtask_id: String,
    },

    /// Polling a subtask failed too often (six times, as the Raito CLI allows).
    #[error("gave up polling subtask {subtask_id} after {failures} failed polls: {last}")]
    PollAborted {
        /// The subtask.
        subtask_id: String,
        /// How many polls failed.
        failures: u32,
        /// The last poll's error.
        #[source]
        last: Box<Error>,
    },

    /// The caller's deadline (usually the Lambda's) came before the subtask finished. The
    /// subtask may still finish on the server; the caller should mark its job failed while it
    /// still has time.
    #[error(
        "deadline reached while waiting for subtask {subtask_id} of job {job_id} ({job_type}), last status {last_status}"
    )]
    Deadline {
        /// The job.
        job_id: String,
        /// The job type.
        job_type: &'static str,
        /// The subtask.
        subtask_id: String,
        /// The status seen last.
        last_status: JobStatus,
    },
}

/// How much of a failed response body an [`Error::Http`] keeps.
pub const BODY_EXCERPT: usize = 512;

fn excerpt_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The first [`BODY_EXCERPT`] characters of a response body, on one line.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(BODY_EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > BODY_EXCERPT {
        out.push('…');
    }
    out.trim().to_owned()
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Sending it twice has the same effect as once (reads, "set" mutations, uploads).
    Idempotent,
    /// Sending it twice may do it twice (creating a job, starting an import, appending a task
    /// event).
    NotIdempotent,
}

impl Error {
    /// Whether the same request may succeed if sent again later: network errors, HTTP 5xx
    /// and 429. Never other 4xx, GraphQL errors, rejected credentials or configuration.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Network { .. } => true,
            Error::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Whether a request of the given kind may be retried after this error. A request that is
    /// not idempotent is retried only when it provably never reached the server (no
    /// connection, or an earlier step failed) or when the server answered 5xx or 429, i.e. it
    /// said it did not (fully) process it. A timeout or a connection that broke after sending
    /// is not retried for such a request: the server may have acted on it.
    pub(crate) fn is_retryable_for(&self, idempotency: Idempotency) -> bool {
        match (self, idempotency) {
            (_, Idempotency::Idempotent) => self.is_retryable(),
            (Error::Network { maybe_sent, .. }, Idempotency::NotIdempotent) => !maybe_sent,
            // A gateway time-out says nothing about whether the service behind it acted: a
            // second job or import could follow, so it is not retried.
            (Error::Http { status: 504, .. }, Idempotency::NotIdempotent) => false,
            (_, Idempotency::NotIdempotent) => self.is_retryable(),
        }
    }

    /// The wait the server asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A network error whose request may have reached the server.
    pub(crate) fn network(operation: &'static str, source: reqwest::Error) -> Self {
        // A connect error means no byte of the request left this process; anything later
        // (timeouts, a reset while reading) may have been after the server got it.
        let maybe_sent = !source.is_connect();
        Error::Network {
            operation,
            maybe_sent,
            // URLs can hold presigned credentials: never keep them.
            source: Box::new(source.without_url()),
        }
    }
}

/// One element of a GraphQL response's `errors` array.
#[derive(serde::Deserialize)]
pub(super) struct ResponseError {
    /// Its `message`.
    #[serde(default)]
    pub(super) message: String,
}

/// The messages of a GraphQL `errors` array, if the body has a non-empty one.
pub(crate) fn error_messages(body: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Option<Vec<ResponseError>>,
    }
    let response: Errors = serde_json::from_slice(body).ok()?;
    let errors = response.errors.filter(|errors| !errors.is_empty())?;
    Some(errors.into_iter().map(|e| e.message).collect())
}
