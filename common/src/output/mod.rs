//! Raito's file format, one JSON array per file, written and read as a stream.
//!
//! - [`JsonArrayWriter`] serialises one element at a time into a [`Destination`]: a local
//!   file (written beside its final name, renamed into place when complete) or an S3 object
//!   (multipart upload, so no local copy is needed). Memory stays constant whatever the
//!   number of elements.
//! - [`JsonArrayReader`] parses a file element by element on a blocking thread and hands the
//!   elements over a bounded channel.
//! - [`json_text`] writes JSON strings and numbers by hand, exactly as `serde_json` does, for
//!   elements written once per record (usage statements, data objects).

mod destination;
mod json_array;
pub mod json_text;
mod sink;

pub use destination::{Destination, FileDestination, S3Destination, Written};
pub use json_array::{JsonArrayReader, JsonArrayWriter};
pub use sink::{CountingSink, Sink, Source, add_count};

/// Failures of reading or writing an output.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local file could not be created, written, renamed or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An element could not be serialised (a bug: the model always serialises).
    #[error("{location}: cannot encode element {index}: {source}")]
    Encode {
        /// Where it was being written.
        location: String,
        /// The element's position, from 0.
        index: u64,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// The input is not a JSON array of the expected elements.
    #[error("{location}: invalid JSON array: {source}")]
    Decode {
        /// Where it was being read from.
        location: String,
        /// The underlying error (with line and column).
        #[source]
        source: serde_json::Error,
    },

    /// An S3 request failed.
    #[error("S3 {operation} of {location} failed: {message}")]
    S3 {
        /// The S3 operation, e.g. `UploadPart`.
        operation: &'static str,
        /// `s3://bucket/key`.
        location: String,
        /// What S3 said.
        message: String,
        /// Whether trying again may help (throttling, 5xx, network).
        transient: bool,
    },

    /// The writer was used after it failed.
    #[error("{location}: the output was abandoned after an earlier error")]
    Abandoned {
        /// Where it was being written.
        location: String,
    },
}

impl Error {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::S3 { transient, .. } => *transient,
            Error::Io { .. } | Error::Encode { .. } | Error::Decode { .. } => false,
            Error::Abandoned { .. } => false,
        }
    }
}
