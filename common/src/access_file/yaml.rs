//! The YAML side: saphyr-parser's event parser pulls characters from the metered reader one at
//! a time (it keeps a 16-character look-ahead, not the input), and this driver walks the events:
//! the document's keys, then each element of `accessProviders` built into a
//! `serde_json::Value` (scalars resolved by the YAML 1.2 core schema), typed, and sent on
//! before the next element is parsed.

use std::borrow::Cow;
use std::io::BufRead;

use saphyr_parser::{BufferedInput, Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

use super::document::{Context, Halt};
use super::input::Chars;
use super::{Error, Format, Part, Position};

/// How deeply collections may nest inside one value (serde_json's own limit, too).
const MAX_DEPTH: usize = 128;

/// Reads a whole YAML document, handing over access providers as they come.
pub(super) fn read(reader: impl BufRead, cx: &Context) -> Result<(), Halt> {
    cx.meter.window(cx.cap());
    let chars = Chars::new(reader, cx.meter.clone());
    let mut events = Events {
        parser: Parser::new_from_iter(chars),
        cx,
    };
    match events.next()?.0 {
        Event::StreamStart => {}
        _ => return Err(events.syntax("the YAML stream does not start", None)),
    }
    let (event, _) = events.next()?;
    if !matches!(event, Event::DocumentStart(_)) {
        return Err(events.not_an_export("an empty document"));
    }
    let (event, span) = events.next()?;
    match event {
        Event::MappingStart(anchor, tag) => {
            events.plain_node(anchor, tag.as_deref(), span)?;
            events.document_mapping()?;
        }
        Event::SequenceStart(anchor, tag) => {
            events.plain_node(anchor, tag.as_deref(), span)?;
            events.list()?;
        }
        Event::Scalar(text, ScalarStyle::Plain, _, None) if is_null(&text) => {
            return Err(events.not_an_export("an empty document"));
        }
        Event::Scalar(..) => return Err(events.not_an_export("a single value")),
        _ => return Err(events.unsupported(span, "an alias as the whole document")),
    }
    match events.next()? {
        (Event::DocumentEnd, _) => {}
        (_, span) => return Err(events.syntax("expected the end of the document", Some(span))),
    }
    match events.next()? {
        (Event::StreamEnd, _) => Ok(()),
        (_, span) => Err(events.unsupported(
            span,
            "a second YAML document (`---`) in the file: put every access provider in the \
             first document's `accessProviders` list",
        )),
    }
}

/// The parser, with errors turned into the reader's.
struct Events<'a, 'input, T: Iterator<Item = char>> {
    parser: Parser<'input, BufferedInput<T>>,
    cx: &'a Context,
}

impl<'input, T: Iterator<Item = char>> Events<'_, 'input, T> {
    /// The next event. The meter is checked after every event: when the characters ended
    /// early (the cap, a read error, invalid UTF-8), what the parser made of the truncated
    /// input must not be taken for the document.
    fn next(&mut self) -> Result<(Event<'input>, Span), Halt> {
        let next = self.parser.next_event();
        if self.cx.meter.exceeded() {
            return Err(Halt::from(Error::TooLarge {
                location: self.cx.location.clone(),
                part: self.cx.part(),
                position: None,
                limit: self.cx.cap(),
            }));
        }
        if let Some(failure) = self.cx.meter.take_failure() {
            return Err(Halt::from(
                if failure.kind() == std::io::ErrorKind::InvalidData {
                    Error::Syntax {
                        location: self.cx.location.clone(),
                        format: Format::Yaml,
                        part: self.cx.part(),
                        position: None,
                        message: failure.to_string(),
                    }
                } else {
                    Error::Io {
                        location: self.cx.location.clone(),
                        source: failure,
                    }
                },
            ));
        }
        match next {
            Some(Ok(event)) => Ok(event),
            Some(Err(error)) => Err(self.scan_error(&error)),
            None => Err(self.syntax("unexpected end of the YAML stream", None)),
        }
    }

    fn scan_error(&self, error: &ScanError) -> Halt {
        let marker = error.marker();
        Halt::from(Error::Syntax {
            location: self.cx.location.clone(),
            format: Format::Yaml,
            part: self.cx.part(),
            position: Some(Position {
                line: marker.line() as u64,
                column: marker.col() as u64 + 1,
            }),
            message: error.info().to_owned(),
        })
    }

    fn syntax(&self, message: &str, span: Option<Span>) -> Halt {
        Halt::from(Error::Syntax {
            location: self.cx.location.clone(),
            format: Format::Yaml,
            part: self.cx.part(),
            position: span.map(position),
            message: message.to_owned(),
        })
    }

    fn unsupported(&self, span: Span, what: &str) -> Halt {
        Halt::from(Error::Unsupported {
            location: self.cx.location.clone(),
            part: self.cx.part(),
            position: Some(position(span)),
            what: what.to_owned(),
        })
    }

    fn not_an_export(&self, found: &str) -> Halt {
        Halt::from(Error::NotAnExport {
            location: self.cx.location.clone(),
            found: found.to_owned(),
        })
    }

    /// Refuses an anchor or a tag other than the core `!!seq`/`!!map` on a collection.
    fn plain_node(&self, anchor: usize, tag: Option<&Tag>, span: Span) -> Result<(), Halt> {
        if anchor != 0 {
            return Err(self.unsupported(span, ANCHORS));
        }
        match tag {
            None => Ok(()),
            Some(tag)
                if tag.is_yaml_core_schema() && matches!(tag.suffix.as_str(), "seq" | "map") =>
            {
                Ok(())
            }
            Some(tag) => Err(self.unsupported(span, &format!("the tag `{tag}`: {TAGS}"))),
        }
    }

    /// The top-level mapping: header keys and the `accessProviders` list, in any order.
    fn document_mapping(&mut self) -> Result<(), Halt> {
        loop {
            self.cx.meter.window(self.cx.cap());
            let (event, span) = self.next()?;
            let key = match event {
                Event::MappingEnd => return Ok(()),
                Event::Scalar(key, _, anchor, tag) => {
                    self.plain_node(anchor, None, span)?;
                    self.key_tag(tag.as_deref(), span)?;
                    key.into_owned()
                }
                _ => return Err(self.unsupported(span, COMPLEX_KEYS)),
            };
            let at = Some(position(span));
            if key == "accessProviders" {
                self.cx.first_time(&key, at)?;
                match self.next()? {
                    (Event::SequenceStart(anchor, tag), span) => {
                        self.plain_node(anchor, tag.as_deref(), span)?;
                        self.list()?;
                    }
                    (Event::Scalar(text, ScalarStyle::Plain, 0, None), _) if is_null(&text) => {}
                    (event, span) => {
                        let found = match event {
                            Event::MappingStart(..) => "a mapping",
                            _ => "a single value",
                        };
                        return Err(Halt::from(Error::Invalid {
                            location: self.cx.location.clone(),
                            part: Part::Document,
                            position: Some(position(span)),
                            field: Some(key),
                            message: format!("expected a list of access providers, found {found}"),
                        }));
                    }
                }
            } else {
                let first = self.next()?;
                let value = self.value(first)?;
                self.cx.header_field(key, value, at)?;
            }
        }
    }

    /// The elements of `accessProviders`, one at a time.
    fn list(&mut self) -> Result<(), Halt> {
        self.cx.begin_list();
        loop {
            self.cx.meter.window(self.cx.cap());
            let first = self.next()?;
            if matches!(first.0, Event::SequenceEnd) {
                self.cx.end_list();
                return Ok(());
            }
            let start = position(first.1);
            let value = self.value(first)?;
            self.cx.access_provider_value(value, start)?;
        }
    }

    /// One whole value, from its first event, built without recursion.
    fn value(&mut self, first: (Event<'input>, Span)) -> Result<Value, Halt> {
        let mut stack: Vec<Frame> = Vec::new();
        let (mut event, mut span) = first;
        loop {
            let in_key_position = matches!(stack.last(), Some(Frame::Map(_, None)));
            let done = match event {
                Event::Scalar(text, style, anchor, tag) => {
                    self.plain_node(anchor, None, span)?;
                    if in_key_position {
                        self.key_tag(tag.as_deref(), span)?;
                        if let Some(Frame::Map(_, key)) = stack.last_mut() {
                            *key = Some((text.into_owned(), span));
                        }
                        None
                    } else {
                        Some(self.scalar(text, style, tag.as_deref(), span)?)
                    }
                }
                Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                    if in_key_position =>
                {
                    let _ = (anchor, tag);
                    return Err(self.unsupported(span, COMPLEX_KEYS));
                }
                Event::SequenceStart(anchor, tag) => {
                    self.plain_node(anchor, tag.as_deref(), span)?;
                    self.deeper(&stack, span)?;
                    stack.push(Frame::Seq(Vec::new()));
                    None
                }
                Event::MappingStart(anchor, tag) => {
                    self.plain_node(anchor, tag.as_deref(), span)?;
                    self.deeper(&stack, span)?;
                    stack.push(Frame::Map(Map::new(), None));
                    None
                }
                Event::SequenceEnd => match stack.pop() {
                    Some(Frame::Seq(items)) => Some(Value::Array(items)),
                    _ => return Err(self.syntax("unexpected end of a list", Some(span))),
                },
                Event::MappingEnd => match stack.pop() {
                    Some(Frame::Map(map, None)) => Some(Value::Object(map)),
                    _ => return Err(self.syntax("unexpected end of a mapping", Some(span))),
                },
                Event::Alias(_) => return Err(self.unsupported(span, ANCHORS)),
                _ => return Err(self.syntax("unexpected YAML event", Some(span))),
            };
            if let Some(value) = done {
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(Frame::Seq(items)) => items.push(value),
                    Some(Frame::Map(map, key)) => {
                        if let Some((key, key_span)) = key.take() {
                            if map.contains_key(&key) {
                                return Err(self.unsupported(
                                    key_span,
                                    &format!("the key {key:?} appears twice in one mapping"),
                                ));
                            }
                            map.insert(key, value);
                        }
                    }
                }
            }
            (event, span) = self.next()?;
        }
    }

    fn deeper(&self, stack: &[Frame], span: Span) -> Result<(), Halt> {
        if stack.len() >= MAX_DEPTH {
            return Err(self.unsupported(span, &format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// Keys are taken as text whatever they look like (`123:` is the key "123"), unless
    /// tagged with something other than `!!str`.
    fn key_tag(&self, tag: Option<&Tag>, span: Span) -> Result<(), Halt> {
        match tag {
            None => Ok(()),
            Some(tag) if tag.is_yaml_core_schema() && tag.suffix == "str" => Ok(()),
            Some(tag) => Err(self.unsupported(span, &format!("the tag `{tag}` on a key: {TAGS}"))),
        }
    }

    /// A scalar value: quoted and block scalars are strings; plain ones are resolved by the
    /// YAML 1.2 core schema (null, booleans, numbers, else a string), or by their core tag.
    fn scalar(
        &self,
        text: Cow<'input, str>,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Value, Halt> {
        let Some(tag) = tag else {
            return Ok(match style {
                ScalarStyle::Plain => resolve_untagged(text),
                _ => Value::String(text.into_owned()),
            });
        };
        if tag.handle == "!" && tag.suffix.is_empty() {
            // The non-specific tag `! value`: a string.
            return Ok(Value::String(text.into_owned()));
        }
        if !tag.is_yaml_core_schema() {
            return Err(self.unsupported(span, &format!("the tag `{tag}`: {TAGS}")));
        }
        let wanted = tag.suffix.as_str();
        if wanted == "str" {
            return Ok(Value::String(text.into_owned()));
        }
        let value = resolve_plain(text);
        let fits = match wanted {
            "null" => value.is_null(),
            "bool" => value.is_boolean(),
            "int" => value.is_i64() || value.is_u64(),
            "float" => value.is_number(),
            _ => false,
        };
        if fits {
            Ok(value)
        } else {
            Err(self.unsupported(
                span,
                &format!("the tag `{tag}` on the value {value}: {TAGS}"),
            ))
        }
    }
}

/// A collection being built: its items so far (and for a mapping, the key waiting for its
/// value, with where the key is).
enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<(String, Span)>),
}

const ANCHORS: &str = "anchors and aliases (`&name`, `*name`) are not supported: write the \
                       value out in full";
const COMPLEX_KEYS: &str = "a list or a mapping used as a key: keys must be plain text";
const TAGS: &str = "only the standard tags `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` \
                    are supported";

fn position(span: Span) -> Position {
    Position {
        line: span.start.line() as u64,
        column: span.start.col() as u64 + 1,
    }
}

/// The core schema's nulls (an empty plain scalar is one too).
fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A plain scalar by the YAML 1.2 core schema: null, boolean, integer (decimal, `0x`, `0o`),
/// finite float, else the text. Infinities and NaN stay text (JSON has no such numbers).
fn resolve_plain(text: Cow<'_, str>) -> Value {
    let s: &str = &text;
    if is_null(s) {
        return Value::Null;
    }
    match s {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = number(s) {
        return Value::Number(number);
    }
    Value::String(text.into_owned())
}

/// An untagged plain scalar: as [`resolve_plain`], except that a number not spelled the way
/// it is written back (`007`, `+5`, `1e3`, `0x1F`) stays text. A text field then reads it as
/// written, as the Go CLI's YAML decoder does (`model::scalar_text`): `users: [007]` is the
/// user "007", not "7".
fn resolve_untagged(text: Cow<'_, str>) -> Value {
    match number(&text) {
        Some(number) if number.to_string() != *text => Value::String(text.into_owned()),
        _ => resolve_plain(text),
    }
}

fn number(s: &str) -> Option<Number> {
    let first = s.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Some(octal) = s.strip_prefix("0o") {
        return i64::from_str_radix(octal, 8).ok().map(Number::from);
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse::<i64>() {
            return Some(Number::from(n));
        }
        if let Ok(n) = unsigned.parse::<u64>()
            && !s.starts_with('-')
        {
            return Some(Number::from(n));
        }
    }
    let float_like = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if float_like {
        return s.parse::<f64>().ok().and_then(Number::from_f64);
    }
    None
}
