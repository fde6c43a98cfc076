//! Why a step failed, typed all the way up: a step's body returns a [`StepError`] that keeps
//! the connector's, the pipeline's or Raito's own error, and its [`ErrorKind`] goes into the
//! step's and the target's summary and, for a Lambda function, into the invocation's
//! `errorType` (see [`super::run::RunSummary::error_type`]). A kind whose name starts with
//! `Retryable` says that running again later may succeed without anyone changing anything.

use serde::{Serialize, Serializer};

use crate::step::Step;
use crate::{connector, output, raito};

/// What kind of failure ended a step or a target, named as Lambda's `errorType` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// `InvalidConfig`: a setting of the target or a parameter of its connector is wrong, or
    /// the request is (e.g. a malformed partial sync parent).
    Config,
    /// `InvalidPermissions`: the target's system refused an operation for lack of a privilege.
    Permissions,
    /// `RetryableConnector`: the target's system could not be reached, or failed.
    Connector,
    /// `RetryableOutput`: staging a file failed in a way that may pass (S3 throttling, 5xx).
    OutputTransient,
    /// `InvalidOutput`: staging a file failed (a local disk, a denied bucket).
    Output,
    /// `InvalidAccessFile`: the access document could not be read or is not well-formed.
    AccessFile,
    /// `RetryableRaito`: Raito Cloud could not be reached, or answered 5xx or 429.
    RaitoTransient,
    /// `InvalidRaitoSettings`: Raito Cloud refused the credentials or the client settings.
    RaitoSettings,
    /// `RaitoRefused`: Raito Cloud refused a request or failed an import (its reasons are in
    /// the message).
    RaitoRefused,
    /// `TimedOut`: the function's deadline came before the step finished.
    TimedOut,
    /// `Unexpected`: something answered what it never should (a pipeline that wrote no file,
    /// an export without a file location).
    Unexpected,
}

impl ErrorKind {
    /// The name Lambda reports as `errorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "InvalidConfig",
            ErrorKind::Permissions => "InvalidPermissions",
            ErrorKind::Connector => "RetryableConnector",
            ErrorKind::OutputTransient => "RetryableOutput",
            ErrorKind::Output => "InvalidOutput",
            ErrorKind::AccessFile => "InvalidAccessFile",
            ErrorKind::RaitoTransient => "RetryableRaito",
            ErrorKind::RaitoSettings => "InvalidRaitoSettings",
            ErrorKind::RaitoRefused => "RaitoRefused",
            ErrorKind::TimedOut => "TimedOut",
            ErrorKind::Unexpected => "Unexpected",
        }
    }

    /// Whether running again later may succeed without a change.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Connector | ErrorKind::OutputTransient | ErrorKind::RaitoTransient
        )
    }

    /// The kind of a connector's error.
    pub fn of_connector(error: &connector::Error) -> Self {
        match error {
            connector::Error::PermissionDenied { .. } => ErrorKind::Permissions,
            connector::Error::Output(error) => Self::of_output(error),
            error if error.is_transient() => ErrorKind::Connector,
            _ => ErrorKind::Config,
        }
    }

    /// The kind of an output error.
    pub fn of_output(error: &output::Error) -> Self {
        if error.is_transient() {
            ErrorKind::OutputTransient
        } else {
            ErrorKind::Output
        }
    }

    /// The kind of a Raito client error.
    pub fn of_raito(error: &raito::Error) -> Self {
        match error {
            error if error.is_retryable() => ErrorKind::RaitoTransient,
            raito::Error::PollAborted { last, .. } if last.is_retryable() => {
                ErrorKind::RaitoTransient
            }
            raito::Error::InvalidConfig { .. } | raito::Error::Authentication { .. } => {
                ErrorKind::RaitoSettings
            }
            raito::Error::Deadline { .. } => ErrorKind::TimedOut,
            raito::Error::UploadSource { .. } => ErrorKind::Output,
            _ => ErrorKind::RaitoRefused,
        }
    }

    /// The kind of a pipeline's error.
    pub fn of_sync(error: &super::Error) -> Self {
        match error {
            super::Error::Target { .. } => ErrorKind::Config,
            super::Error::Connector { source, .. } => Self::of_connector(source),
            super::Error::AccessFile { .. } => ErrorKind::AccessFile,
            super::Error::Output { source, .. } => Self::of_output(source),
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why a step failed; its message is what the step's task event and summary say.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The connector could not be built (a bad parameter) or failed outside a pipeline.
    #[error(transparent)]
    Connector(#[from] connector::Error),
    /// A pipeline (metadata, identities, access, usage) failed (boxed: an access file's
    /// error is large).
    #[error(transparent)]
    Sync(Box<super::Error>),
    /// A request to Raito Cloud failed.
    #[error("{doing}: {source}")]
    Raito {
        /// What was being done, e.g. `requesting the import`.
        doing: String,
        /// The client's error.
        #[source]
        source: raito::Error,
    },
    /// A staged file could not be opened or uploaded.
    #[error("{doing} {name}: {source}")]
    Staging {
        /// `staging` or `uploading … to Raito Cloud`.
        doing: &'static str,
        /// The file.
        name: String,
        /// The output's error.
        #[source]
        source: output::Error,
    },
    /// The deadline came first.
    #[error(
        "stopped before the function's deadline: the {0} did not finish in time (raise the \
         function's timeout or sync less per target)"
    )]
    TimedOut(Step),
    /// Something answered what it never should.
    #[error("{0}")]
    Unexpected(String),
}

impl From<super::Error> for StepError {
    fn from(error: super::Error) -> Self {
        StepError::Sync(Box::new(error))
    }
}

impl StepError {
    /// A failed request to Raito, while doing `doing`.
    pub(crate) fn raito(doing: &'static str) -> impl FnOnce(raito::Error) -> Self {
        move |source| StepError::Raito {
            doing: doing.to_owned(),
            source,
        }
    }

    /// The kind of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StepError::Connector(error) => ErrorKind::of_connector(error),
            StepError::Sync(error) => ErrorKind::of_sync(error),
            StepError::Raito { source, .. } => ErrorKind::of_raito(source),
            StepError::Staging { source, .. } => ErrorKind::of_output(source),
            StepError::TimedOut(_) => ErrorKind::TimedOut,
            StepError::Unexpected(_) => ErrorKind::Unexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(message: &str) -> crate::BoxError {
        message.into()
    }

    fn http(status: u16) -> raito::Error {
        raito::Error::Http {
            operation: "createJob",
            status,
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn every_kind_says_whether_running_again_can_help() {
        let cases: Vec<(StepError, &str)> = vec![
            (
                StepError::Connector(connector::Error::InvalidRequest {
                    connector: "postgresql",
                    message: "bad parent".into(),
                }),
                "InvalidConfig",
            ),
            (
                StepError::from(super::super::Error::Connector {
                    target: "t".into(),
                    step: Step::DataSource,
                    source: connector::Error::PermissionDenied {
                        connector: "postgresql",
                        operation: "listing tables".into(),
                        source: boxed("denied"),
                    },
                }),
                "InvalidPermissions",
            ),
            (
                StepError::Connector(connector::Error::Connect {
                    connector: "postgresql",
                    endpoint: "db:5432".into(),
                    source: boxed("refused"),
                }),
                "RetryableConnector",
            ),
            (
                StepError::from(super::super::Error::Target {
                    target: "t".into(),
                    message: "no data-source-id".into(),
                }),
                "InvalidConfig",
            ),
            (
                StepError::raito("requesting the import")(http(503)),
                "RetryableRaito",
            ),
            (
                StepError::raito("requesting the import")(http(400)),
                "RaitoRefused",
            ),
            (
                StepError::raito("signing in")(raito::Error::Authentication {
                    api_user: "u".into(),
                    domain: "d".into(),
                    reason: "wrong api-secret".into(),
                }),
                "InvalidRaitoSettings",
            ),
            (
                StepError::raito("importing")(raito::Error::PollAborted {
                    subtask_id: "s".into(),
                    failures: 6,
                    last: Box::new(http(502)),
                }),
                "RetryableRaito",
            ),
            (
                StepError::raito("importing")(raito::Error::Deadline {
                    job_id: "j".into(),
                    job_type: "DS",
                    subtask_id: "s".into(),
                    last_status: raito::JobStatus::Queued,
                }),
                "TimedOut",
            ),
            (StepError::TimedOut(Step::DataUsage), "TimedOut"),
            (StepError::Unexpected("no file".into()), "Unexpected"),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind().as_str(), kind, "{error}");
            assert_eq!(
                error.kind().is_transient(),
                kind.starts_with("Retryable"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_raito_failure_keeps_what_was_being_done_in_its_message() {
        let error = StepError::raito("requesting the import")(http(400));
        assert_eq!(
            error.to_string(),
            "requesting the import: createJob: HTTP 400"
        );
        assert_eq!(
            StepError::TimedOut(Step::DataUsage).to_string(),
            "stopped before the function's deadline: the data usage sync did not finish in \
             time (raise the function's timeout or sync less per target)"
        );
    }
}
