//! The one error every connector reports, by meaning rather than by library: a caller can
//! tell a bad parameter from an unreachable server from a missing permission, and whether
//! trying again can help.

use crate::{config, output};

pub use crate::BoxError;

/// What went wrong in a connector, tagged with the connector's name.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connector is registered under this name (or its cargo feature is off).
    #[error("unknown connector-name \"{name}\" (available: {available})")]
    UnknownConnector {
        /// The name asked for.
        name: String,
        /// The names this build knows.
        available: String,
    },

    /// `connector-name` names a Raito CLI plugin that has no connector here.
    #[error(
        "connector-name \"{name}\" is a Raito CLI plugin this bundle has no connector for \
         (available: {available})"
    )]
    UnsupportedPlugin {
        /// The name asked for.
        name: String,
        /// The names this build knows.
        available: String,
    },

    /// A parameter is missing or invalid; the message names the file, target and key.
    #[error(transparent)]
    Config(#[from] config::Error),

    /// The request itself is invalid (e.g. a malformed partial sync parent).
    #[error("{connector}: invalid request: {message}")]
    InvalidRequest {
        /// The connector's name.
        connector: &'static str,
        /// What is wrong.
        message: String,
    },

    /// The system could not be reached or refused the connection.
    #[error("{connector}: cannot connect to {endpoint}: {source}")]
    Connect {
        /// The connector's name.
        connector: &'static str,
        /// Where it tried to connect (host and port, URL), never credentials.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The system refused an operation for lack of a privilege.
    #[error("{connector}: permission denied while {operation}: {source}")]
    PermissionDenied {
        /// The connector's name.
        connector: &'static str,
        /// What was being done, e.g. `listing tables of database "sales"`.
        operation: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// Any other failure of the system while doing `operation`.
    #[error("{connector}: failed while {operation}: {source}")]
    Operation {
        /// The connector's name.
        connector: &'static str,
        /// What was being done.
        operation: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// Writing the results failed (local disk or S3).
    #[error("writing the output failed: {0}")]
    Output(#[from] output::Error),
}

impl Error {
    /// Whether running the same step again later may succeed (a network blip, a restart),
    /// as opposed to a mistake a person has to fix first.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Operation { .. } => true,
            Error::Output(e) => e.is_transient(),
            Error::UnknownConnector { .. }
            | Error::UnsupportedPlugin { .. }
            | Error::Config(_)
            | Error::InvalidRequest { .. }
            | Error::PermissionDenied { .. } => false,
        }
    }
}
