//! What both parsers share once they have one value in hand: the header (top-level keys other
//! than `accessProviders`), the typing of one access provider with the path of a bad field,
//! and the hand-over to the consumer over the channel.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::input::Meter;
use super::{Error, Header, Options, Part, Position};
use crate::model::access::ExportedAccessProvider;

/// What crosses the channel from the parsing thread to [`super::Reader`].
pub(super) enum Message {
    /// The header as known so far (sent when a header key is read).
    Header(Header),
    /// The next access provider, with its share of the read-ahead budget (the bytes of input
    /// it spans, at most the whole budget), given back when the consumer takes it.
    AccessProvider(Box<ExportedAccessProvider>, OwnedSemaphorePermit),
    /// The document ended well; the header is complete.
    End(Header),
}

/// Why the parsing thread stops early.
#[derive(Debug)]
pub(super) enum Halt {
    /// The document cannot be read further: report this (boxed: errors are large, and
    /// every step of the parse returns this).
    Failed(Box<Error>),
    /// The consumer dropped the reader: stop quietly.
    Stopped,
}

impl From<Error> for Halt {
    fn from(error: Error) -> Self {
        Halt::Failed(Box::new(error))
    }
}

/// The state of one read, on the parsing thread.
pub(super) struct Context {
    pub(super) location: String,
    pub(super) options: Options,
    pub(super) meter: Rc<Meter>,
    sender: mpsc::Sender<Result<Message, Error>>,
    header: RefCell<Header>,
    /// Header keys seen (to refuse a duplicate), `accessProviders` included.
    seen: RefCell<Vec<String>>,
    /// Whether the parser is inside the `accessProviders` list.
    in_list: Cell<bool>,
    /// The index of the access provider being read (or next to be read).
    index: Cell<u64>,
    /// Set by a serde visitor before it aborts the parse with a placeholder error.
    halt: RefCell<Option<Halt>>,
    /// The read-ahead budget in bytes ([`Options::read_ahead_bytes`]).
    budget: Arc<Semaphore>,
    /// Where the last access provider handed over ended in the input.
    delivered_until: Cell<u64>,
}

impl Context {
    pub(super) fn new(
        location: String,
        options: Options,
        meter: Rc<Meter>,
        sender: mpsc::Sender<Result<Message, Error>>,
    ) -> Self {
        Self {
            location,
            meter,
            sender,
            header: RefCell::new(Header::default()),
            seen: RefCell::new(Vec::new()),
            in_list: Cell::new(false),
            index: Cell::new(0),
            halt: RefCell::new(None),
            budget: Arc::new(Semaphore::new(options.read_ahead_bytes.max(1) as usize)),
            delivered_until: Cell::new(0),
            options,
        }
    }

    /// The cap on one value, in bytes.
    pub(super) fn cap(&self) -> u64 {
        self.options.max_access_provider_bytes
    }

    /// The part being read: the current (or next) access provider inside the list, else the
    /// document.
    pub(super) fn part(&self) -> Part {
        if self.in_list.get() {
            Part::AccessProvider {
                index: self.index.get(),
                id: None,
            }
        } else {
            Part::Document
        }
    }

    /// Marks the start of the `accessProviders` list.
    pub(super) fn begin_list(&self) {
        self.in_list.set(true);
    }

    /// Marks the end of the list.
    pub(super) fn end_list(&self) {
        self.in_list.set(false);
    }

    /// Keeps `halt` for the driver and returns the error to abort the parser with.
    pub(super) fn abort<E: serde::de::Error>(&self, halt: Halt) -> E {
        *self.halt.borrow_mut() = Some(halt);
        E::custom("aborted")
    }

    /// The halt a visitor kept, if the parser's error came from [`Context::abort`].
    pub(super) fn take_halt(&self) -> Option<Halt> {
        self.halt.borrow_mut().take()
    }

    /// Refuses a second occurrence of a top-level key.
    pub(super) fn first_time(&self, key: &str, position: Option<Position>) -> Result<(), Halt> {
        let mut seen = self.seen.borrow_mut();
        if seen.iter().any(|k| k == key) {
            return Err(Halt::from(Error::Invalid {
                location: self.location.clone(),
                part: Part::Document,
                position,
                field: Some(key.to_owned()),
                message: "the key appears twice in the document".to_owned(),
            }));
        }
        seen.push(key.to_owned());
        Ok(())
    }

    /// A top-level key other than `accessProviders`, with its value.
    pub(super) fn header_field(
        &self,
        key: String,
        value: Value,
        position: Option<Position>,
    ) -> Result<(), Halt> {
        self.first_time(&key, position)?;
        let invalid = |error: serde_json::Error| {
            Halt::from(Error::Invalid {
                location: self.location.clone(),
                part: Part::Document,
                position,
                field: Some(key.clone()),
                message: error.to_string(),
            })
        };
        let snapshot = {
            let mut header = self.header.borrow_mut();
            match key.as_str() {
                "lastCalculated" => {
                    header.last_calculated = serde_json::from_value::<Option<i64>>(value)
                        .map_err(invalid)?
                        .unwrap_or_default();
                }
                "fileBuildTime" => {
                    header.file_build_time =
                        serde_json::from_value::<Option<i64>>(value).map_err(invalid)?;
                }
                _ => {
                    header.unknown_fields.insert(key, value);
                }
            }
            header.clone()
        };
        self.send(Ok(Message::Header(snapshot)))
    }

    /// One access provider as JSON text (`raw` starts at its `{`, found at `start`).
    pub(super) fn access_provider_json(&self, raw: &str, start: Position) -> Result<(), Halt> {
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        match serde_path_to_error::deserialize::<_, ExportedAccessProvider>(&mut deserializer) {
            Ok(access_provider) => self.deliver(access_provider),
            Err(error) => {
                let id = serde_json::from_str::<IdOnly>(raw)
                    .ok()
                    .and_then(|only| only.id);
                self.reject(id, Some(start), error)
            }
        }
    }

    /// One access provider as a value built from YAML events (starting at `start`).
    pub(super) fn access_provider_value(&self, value: Value, start: Position) -> Result<(), Halt> {
        let id = match value.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            _ => None,
        };
        match serde_path_to_error::deserialize::<_, ExportedAccessProvider>(value) {
            Ok(access_provider) => self.deliver(access_provider),
            Err(error) => self.reject(id, Some(start), error),
        }
    }

    fn deliver(&self, access_provider: ExportedAccessProvider) -> Result<(), Halt> {
        self.index.set(self.index.get() + 1);
        let until = self.meter.consumed();
        let spans = until.saturating_sub(self.delivered_until.replace(until));
        let share = spans.clamp(1, u64::from(self.options.read_ahead_bytes.max(1))) as u32;
        // The parsing thread runs on the runtime's blocking pool (`spawn_blocking`), where
        // blocking on the runtime is allowed.
        let permit = tokio::runtime::Handle::current()
            .block_on(Arc::clone(&self.budget).acquire_many_owned(share))
            .map_err(|_| Halt::Stopped)?;
        self.send(Ok(Message::AccessProvider(
            Box::new(access_provider),
            permit,
        )))
    }

    /// Hands over the error of one access provider that does not fit the model; reading goes
    /// on with the next one (the others can still be applied).
    fn reject(
        &self,
        id: Option<String>,
        start: Option<Position>,
        error: serde_path_to_error::Error<serde_json::Error>,
    ) -> Result<(), Halt> {
        let index = self.index.get();
        self.index.set(index + 1);
        let path = error.path().to_string();
        let field = (path != ".").then_some(path);
        let inner = error.into_inner();
        let (position, message) = locate(&inner, start);
        self.send(Err(Error::Invalid {
            location: self.location.clone(),
            part: Part::AccessProvider { index, id },
            position,
            field,
            message,
        }))
    }

    /// Ends the read well: sends the complete header.
    pub(super) fn finish(&self) -> Result<(), Halt> {
        let header = self.header.borrow().clone();
        self.send(Ok(Message::End(header)))
    }

    /// Sends a fatal error (unless the consumer is gone).
    pub(super) fn fail(&self, error: Error) {
        let _ = self.sender.blocking_send(Err(error));
    }

    fn send(&self, message: Result<Message, Error>) -> Result<(), Halt> {
        self.sender
            .blocking_send(message)
            .map_err(|_| Halt::Stopped)
    }
}

/// Just the `id` of an access provider that failed to type, for the error message.
#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<String>,
}

/// The position and message of a serde_json error, its position made absolute when the text
/// parsed began at `start` (relative positions) and the message without serde_json's own
/// ` at line L column C`.
fn locate(error: &serde_json::Error, start: Option<Position>) -> (Option<Position>, String) {
    let text = error.to_string();
    if error.line() == 0 {
        return (start, text);
    }
    let (line, column) = (error.line() as u64, error.column() as u64);
    let suffix = format!(" at line {line} column {column}");
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    let position = match start {
        Some(start) if line == 1 => Position {
            line: start.line,
            column: start.column + column.saturating_sub(1),
        },
        Some(start) => Position {
            line: start.line + line - 1,
            column,
        },
        None => Position { line, column },
    };
    (Some(position), message)
}

/// Splits a serde_json error into position and message (positions already absolute).
pub(super) fn split_json_error(error: &serde_json::Error) -> (Option<Position>, String) {
    locate(error, None)
}
