//! What can go wrong reading an access export document, said so that the person who wrote
//! the file (or the operator of a sync) can find the spot: the access provider's index and id,
//! the line and column, the field path.

use std::fmt;

use super::Format;

/// A place in the input, both numbers from 1. Columns count bytes in JSON and characters in
/// YAML (as the parsers do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: u64,
    /// The column, from 1.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// Which part of the document an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The document itself, or one of its top-level keys other than `accessProviders`.
    Document,
    /// One element of `accessProviders`.
    AccessProvider {
        /// Its position in the list, from 0 (like the indexes of field paths).
        index: u64,
        /// Its `id`, when it could be read.
        id: Option<String>,
    },
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Document => f.write_str("document"),
            Part::AccessProvider { index, id: None } => write!(f, "access provider {index}"),
            Part::AccessProvider {
                index,
                id: Some(id),
            } => write!(f, "access provider {index} (id {id:?})"),
        }
    }
}

/// Failures of reading an access export document.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be read (a local file, an S3 object body).
    #[error("{location}: cannot read: {source}")]
    Io {
        /// The path or `s3://bucket/key` being read.
        location: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The input is not well-formed JSON or YAML (or not UTF-8).
    #[error("{location}: {part}{}: invalid {format}: {message}", at(position))]
    Syntax {
        /// The path or `s3://bucket/key` being read.
        location: String,
        /// The format the input was read as.
        format: Format,
        /// The access provider being read when the error was found, or the document.
        part: Part,
        /// Where the parser stopped, when it tells.
        position: Option<Position>,
        /// What the parser said.
        message: String,
    },

    /// A value does not fit the model: a wrong type, a missing `id`, an unknown action.
    /// Unknown keys are not errors (they are kept in `unknown_fields`).
    #[error(
        "{location}: {part}{}: {}{message}",
        at(position),
        field.as_ref().map(|f| format!("field {f}: ")).unwrap_or_default()
    )]
    Invalid {
        /// The path or `s3://bucket/key` being read.
        location: String,
        /// The access provider (or the document, for `lastCalculated` and `fileBuildTime`).
        part: Part,
        /// Where the value is: the exact spot when the parser tells, else where the access
        /// provider starts.
        position: Option<Position>,
        /// The field's path inside the access provider, e.g. `what[0].permissions`, or the
        /// top-level key; `None` when the error is about the whole value (e.g. a missing `id`).
        field: Option<String>,
        /// What is wrong.
        message: String,
    },

    /// One access provider (or one top-level value) is larger than the configured cap: the
    /// reader refuses to hold it in memory.
    #[error(
        "{location}: {part}{}: larger than {limit} bytes (the cap on one access provider; \
         split it, or raise `max_access_provider_bytes`)",
        at(position)
    )]
    TooLarge {
        /// The path or `s3://bucket/key` being read.
        location: String,
        /// The access provider (or the document, for a huge top-level value).
        part: Part,
        /// Where the oversized value starts.
        position: Option<Position>,
        /// The cap, in bytes.
        limit: u64,
    },

    /// A YAML feature this reader does not take: anchors and aliases (`&a`, `*a`), tags other
    /// than the standard `!!str`, `!!int`, ..., non-scalar keys, duplicate keys, several
    /// documents in one file, nesting deeper than 128 levels.
    #[error("{location}: {part}{}: {what}", at(position))]
    Unsupported {
        /// The path or `s3://bucket/key` being read.
        location: String,
        /// The access provider being read, or the document.
        part: Part,
        /// Where the feature is used.
        position: Option<Position>,
        /// What is not supported and what to write instead.
        what: String,
    },

    /// The top level is not a mapping with `accessProviders` (nor a bare list of them).
    #[error(
        "{location}: not an access export document: expected a mapping with \
         `accessProviders` (or a list of access providers), found {found}"
    )]
    NotAnExport {
        /// The path or `s3://bucket/key` being read.
        location: String,
        /// What the top level is, e.g. `a string`, `an empty document`.
        found: String,
    },

    /// [`super::Reader::next`] was called again after an error that ends reading.
    #[error("{location}: reading stopped at an earlier error")]
    Abandoned {
        /// The path or `s3://bucket/key` being read.
        location: String,
    },
}

impl Error {
    /// Whether trying again later may succeed: only a failed read (e.g. a dropped S3
    /// connection); a malformed document stays malformed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Io { .. })
    }

    /// Whether reading cannot go on after this error. Only an [`Error::Invalid`] about one
    /// access provider lets [`super::Reader::next`] go on with the following ones (the
    /// document around it is well-formed); the caller reports it in that access provider's
    /// feedback.
    pub fn ends_reading(&self) -> bool {
        !matches!(
            self,
            Error::Invalid {
                part: Part::AccessProvider { .. },
                ..
            }
        )
    }

    /// The access provider the error is about, if any.
    pub fn part(&self) -> Option<&Part> {
        match self {
            Error::Io { .. } | Error::NotAnExport { .. } | Error::Abandoned { .. } => None,
            Error::Syntax { part, .. }
            | Error::Invalid { part, .. }
            | Error::TooLarge { part, .. }
            | Error::Unsupported { part, .. } => Some(part),
        }
    }
}

/// `, line L column C` or nothing.
fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(", {p}")).unwrap_or_default()
}
