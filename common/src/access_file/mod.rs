//! Reads Raito's access export document, the input of the access sync and of access-as-code
//! files, as a stream: `{lastCalculated, fileBuildTime?, accessProviders: [...]}`, in JSON or
//! YAML (see [`crate::model::access::ExportDocument`]).
//!
//! [`Reader::next`] hands out one [`ExportedAccessProvider`] at a time; [`Reader::header`] has
//! the other top-level keys, complete once `next` has returned `None` (they may come before or
//! after the list). Memory holds one access provider being parsed, at most
//! [`Options::read_ahead`] parsed ones waiting (together at most
//! [`Options::read_ahead_bytes`] of input, or one larger access provider), and the parsers'
//! buffers, whatever the size of the file; one access provider larger than [`Options::max_access_provider_bytes`] is refused
//! while it is read, so a hostile file cannot exhaust memory.
//!
//! How: both parsers are pull parsers over a synchronous source (serde_json's
//! `Deserializer::from_reader`, saphyr-parser's event `Parser` over an iterator of `char`s), so
//! they run on a blocking thread (`spawn_blocking`) reading the `AsyncRead` through
//! `SyncIoBridge`, and hand results over a bounded channel, as [`crate::output::JsonArrayReader`]
//! does. That keeps the async workers free and gives back-pressure: the parser waits while the
//! consumer applies an access provider.
//!
//! - JSON: a serde `Visitor` walks the top-level keys; each element of `accessProviders` is
//!   captured as raw text (`RawValue`) and typed with `serde_path_to_error`.
//! - YAML: saphyr-parser (pure Rust; the maintained successor of yaml-rust's parser) pulls
//!   characters through a 16-character look-ahead and emits events; each element is built into
//!   a `serde_json::Value` from its events, then typed the same way. serde_norway cannot stream
//!   (it reads the whole input) and the libyaml translation under it is `unsafe` to call, which
//!   this workspace forbids. Anchors and aliases are refused (they would let a small file
//!   expand into a huge value), as are custom tags and several documents per file.
//! - Format: by the file extension when known, else by the first byte that is not white space
//!   (`{` or `[` → JSON, else YAML).
//!
//! An access provider that does not fit the model (a wrong type, no `id`) is an
//! [`Error::Invalid`] naming its index, id, position and field; reading goes on with the next
//! one, so the others can still be applied (see [`Error::ends_reading`]). Keys the model does
//! not know are kept in its `unknown_fields`, never errors.

mod document;
mod error;
mod input;
mod json;
mod yaml;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use tokio::io::AsyncRead;
use tokio::sync::mpsc;

pub use error::{Error, Part, Position};

use crate::model::access::{ExportedAccessProvider, UnknownFields};
use document::{Context, Halt, Message};

/// The syntax of an export document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// YAML 1.2 (JSON is YAML too, but is read faster as JSON).
    Yaml,
}

impl Format {
    /// The format a file's extension names (`.json`, `.yaml`, `.yml`, any case), if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(Self::Json),
            "yaml" | "yml" => Some(Self::Yaml),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}

/// How a [`Reader`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The largest access provider accepted, in bytes of the input from where it starts
    /// (white space and comments before the next one included); larger is an
    /// [`Error::TooLarge`]. The same cap applies to each other top-level key with its value.
    /// Default 16 MiB.
    pub max_access_provider_bytes: u64,
    /// How many parsed access providers may wait for the consumer, at least 1. Default 256:
    /// the parser reads the next chunk of the PostgreSQL apply engine (200) while the
    /// current one is applied, instead of both waiting on each other.
    pub read_ahead: usize,
    /// How much input the access providers waiting for the consumer may span together, so
    /// that `read_ahead` large ones cannot fill memory (one larger than this still passes,
    /// alone). Default 8 MiB.
    pub read_ahead_bytes: u32,
}

/// The default cap on one access provider: 16 MiB.
pub const DEFAULT_MAX_ACCESS_PROVIDER_BYTES: u64 = 16 * 1024 * 1024;

impl Default for Options {
    fn default() -> Self {
        Self {
            max_access_provider_bytes: DEFAULT_MAX_ACCESS_PROVIDER_BYTES,
            read_ahead: 256,
            read_ahead_bytes: 8 * 1024 * 1024,
        }
    }
}

/// The top-level keys of the document other than `accessProviders`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// When Raito calculated this access (unix epoch); 0 when absent or `null`.
    pub last_calculated: i64,
    /// When Raito built this file (unix epoch milliseconds), when given.
    pub file_build_time: Option<i64>,
    /// Top-level keys the model does not know, with their values.
    pub unknown_fields: UnknownFields,
}

/// Reads an access export document one access provider at a time (see the module docs).
pub struct Reader {
    location: String,
    receiver: mpsc::Receiver<Result<Message, Error>>,
    header: Header,
    complete: bool,
    failed: bool,
}

/// The size of the buffer between the input and the parser.
const BUFFER: usize = 64 * 1024;

impl Reader {
    /// Opens a local file; the format comes from its extension, else from its content.
    pub async fn open(path: &Path, options: Options) -> Result<Self, Error> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| Error::Io {
                location: path.display().to_string(),
                source,
            })?;
        Ok(Self::from_reader(
            file,
            Format::from_path(path),
            path.display().to_string(),
            options,
        ))
    }

    /// Reads from any asynchronous byte stream (a file, an S3 object body). `format` `None`
    /// tells the format from the content; `location` names the input in errors. Must be
    /// called within a Tokio runtime.
    pub fn from_reader(
        reader: impl AsyncRead + Send + Unpin + 'static,
        format: Option<Format>,
        location: impl Into<String>,
        options: Options,
    ) -> Self {
        let location = location.into();
        let (sender, receiver) = mpsc::channel(options.read_ahead.max(1));
        let thread_location = location.clone();
        tokio::task::spawn_blocking(move || {
            let bridge = std::io::BufReader::with_capacity(
                BUFFER,
                tokio_util::io::SyncIoBridge::new(reader),
            );
            parse(bridge, format, thread_location, options, sender);
        });
        Self {
            location,
            receiver,
            header: Header::default(),
            complete: false,
            failed: false,
        }
    }

    /// The next access provider, `None` after the last (the header is then complete).
    ///
    /// An [`Error::Invalid`] about one access provider leaves the reader usable: call `next`
    /// again for the following ones. After any other error the document cannot be trusted
    /// and every later call fails.
    pub async fn next(&mut self) -> Result<Option<ExportedAccessProvider>, Error> {
        if self.failed {
            return Err(Error::Abandoned {
                location: self.location.clone(),
            });
        }
        if self.complete {
            return Ok(None);
        }
        loop {
            match self.receiver.recv().await {
                // Dropping the budget it held lets the parser read further.
                Some(Ok(Message::AccessProvider(access_provider, _budget))) => {
                    return Ok(Some(*access_provider));
                }
                Some(Ok(Message::Header(header))) => self.header = header,
                Some(Ok(Message::End(header))) => {
                    self.header = header;
                    self.complete = true;
                    return Ok(None);
                }
                Some(Err(error)) => {
                    self.failed = error.ends_reading();
                    return Err(error);
                }
                None => {
                    // The parsing thread ended without saying why: it panicked.
                    self.failed = true;
                    return Err(Error::Io {
                        location: self.location.clone(),
                        source: std::io::Error::other("the parsing thread stopped unexpectedly"),
                    });
                }
            }
        }
    }

    /// The header keys read so far: those before the list as soon as the first access
    /// provider is handed out, all of them once [`Reader::next`] has returned `None`.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether the whole document has been read (and [`Reader::header`] is complete).
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Reads to the end, skipping the access providers not taken yet (and failing on the
    /// first error, an invalid access provider included), and returns the complete header.
    pub async fn finish(mut self) -> Result<Header, Error> {
        while self.next().await?.is_some() {}
        Ok(self.header)
    }
}

/// The parsing thread: sniffs the format, runs the parser, reports how it ended.
fn parse(
    mut input: impl std::io::BufRead,
    format: Option<Format>,
    location: String,
    options: Options,
    sender: mpsc::Sender<Result<Message, Error>>,
) {
    let cx = Context::new(location, options, input::Meter::new(), sender);
    let sniffed = match input::sniff(&mut input) {
        Ok(sniffed) => sniffed,
        Err(source) => {
            let location = cx.location.clone();
            return cx.fail(Error::Io { location, source });
        }
    };
    let outcome = match format.unwrap_or(sniffed) {
        Format::Json => json::read(input, &cx),
        Format::Yaml => yaml::read(input, &cx),
    }
    .and_then(|()| cx.finish());
    match outcome {
        Ok(()) | Err(Halt::Stopped) => {}
        Err(Halt::Failed(error)) => cx.fail(*error),
    }
}
