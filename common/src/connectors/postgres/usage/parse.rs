//! PostgreSQL log records, from the three formats the sources deliver: `jsonlog` and `csvlog`
//! files (PostgreSQL 15's fields), and the stderr lines Amazon RDS and Aurora export to
//! CloudWatch Logs (`%t:%r:%u@%d:[%p]:` or the longer `%m:%r:%u@%d:[%p]:%l:%e:%s:%v:%x:%c:%q%a:`
//! prefix). Also the pgaudit `AUDIT:` payload and the messages that carry statements.

use std::borrow::Cow;

use serde::Deserialize;

use crate::output::json_text::find_escape;

/// One log record, whatever the format. Borrowed from the bytes it was read from where it
/// can be (most records only complete a statement and are dropped right away).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRecord<'a> {
    /// When it was logged, unix epoch milliseconds.
    pub time_ms: i64,
    /// The session user.
    pub user: Cow<'a, str>,
    /// The database.
    pub database: Cow<'a, str>,
    /// What ties the records of one backend together (`session_id`, or stream and pid).
    pub session: Cow<'a, str>,
    /// The record's stable identity.
    pub key: Key<'a>,
    /// `LOG`, `ERROR`, `STATEMENT`, …
    pub severity: Cow<'a, str>,
    /// The SQLSTATE code, when the format has it.
    pub state_code: Cow<'a, str>,
    /// The message.
    pub message: Cow<'a, str>,
    /// The statement an ERROR refers to (csvlog `query`, jsonlog `statement`).
    pub statement: Cow<'a, str>,
    /// The client's `application_name`.
    pub application: Cow<'a, str>,
}

impl LogRecord<'_> {
    /// The record with every field owned.
    pub fn into_owned(self) -> LogRecord<'static> {
        LogRecord {
            time_ms: self.time_ms,
            user: Cow::Owned(self.user.into_owned()),
            database: Cow::Owned(self.database.into_owned()),
            session: Cow::Owned(self.session.into_owned()),
            key: Key {
                name: Cow::Owned(self.key.name.into_owned()),
                number: self.key.number,
            },
            severity: Cow::Owned(self.severity.into_owned()),
            state_code: Cow::Owned(self.state_code.into_owned()),
            message: Cow::Owned(self.message.into_owned()),
            statement: Cow::Owned(self.statement.into_owned()),
            application: Cow::Owned(self.application.into_owned()),
        }
    }
}

/// A record's stable identity: `session_id:line_num` in files, `stream:eventId` in CloudWatch
/// Logs. Kept in parts, and written out ([`Key::to_text`]) only for the records that start a
/// statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Key<'a> {
    /// The part before the number (or all of it).
    pub name: Cow<'a, str>,
    /// The line number, appended after a `:`.
    pub number: Option<u64>,
}

impl Key<'_> {
    /// The key as text: `name:number`, or `name` alone (written without the formatting
    /// machinery: one per statement).
    pub fn to_text(&self) -> String {
        let Some(mut number) = self.number else {
            return self.name.clone().into_owned();
        };
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (number % 10) as u8;
            number /= 10;
            if number == 0 {
                break;
            }
        }
        let mut text = String::with_capacity(self.name.len() + 1 + digits.len() - at);
        text.push_str(&self.name);
        text.push(':');
        text.extend(digits[at..].iter().map(|&digit| char::from(digit)));
        text
    }
}

/// The fields of a jsonlog line this connector uses; absent keys are empty.
#[derive(Debug, Deserialize, Default, PartialEq)]
struct JsonLine<'a> {
    #[serde(default, borrow)]
    timestamp: Cow<'a, str>,
    #[serde(default, borrow)]
    user: Cow<'a, str>,
    #[serde(default, borrow)]
    dbname: Cow<'a, str>,
    #[serde(default, borrow)]
    session_id: Cow<'a, str>,
    #[serde(default)]
    line_num: u64,
    #[serde(default, borrow)]
    error_severity: Cow<'a, str>,
    #[serde(default, borrow)]
    state_code: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Cow<'a, str>,
    #[serde(default, borrow)]
    statement: Cow<'a, str>,
    #[serde(default, borrow)]
    application_name: Cow<'a, str>,
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not JSON, or not a jsonlog object.
    #[error("not a jsonlog record: {0}")]
    Json(String),
    /// A csvlog record with too few fields.
    #[error("not a csvlog record ({0} fields)")]
    Csv(usize),
    /// Not an RDS stderr line.
    #[error("no `:[pid]:` prefix")]
    Prefix,
    /// A time in a zone other than UTC/GMT or a numeric offset.
    #[error("unreadable time {0:?} (set log_timezone = 'UTC')")]
    Time(String),
}

/// Parses one jsonlog line.
///
/// PostgreSQL writes one flat object per line (string and number values, a fixed key order),
/// of which this connector needs ten keys: [`scan_jsonlog`] reads those in one pass without
/// decoding the others. A line it does not take (not UTF-8, nested values, escaped keys,
/// anything malformed) goes to `serde_json`, which reads it or says what is wrong with it.
pub fn jsonlog(line: &[u8]) -> Result<LogRecord<'_>, RecordError> {
    // Checked as UTF-8 once, as a whole: `from_slice` would check every string on its own.
    let json: JsonLine = match std::str::from_utf8(line) {
        Ok(text) => match scan_jsonlog(text) {
            Some(json) => Ok(json),
            None => serde_json::from_str(text),
        },
        Err(_) => serde_json::from_slice(line),
    }
    .map_err(|error| RecordError::Json(error.to_string()))?;
    Ok(LogRecord {
        time_ms: parse_time(&json.timestamp)?,
        key: Key {
            name: json.session_id.clone(),
            number: Some(json.line_num),
        },
        user: json.user,
        database: json.dbname,
        session: json.session_id,
        severity: json.error_severity,
        state_code: json.state_code,
        message: json.message,
        statement: json.statement,
        application: json.application_name,
    })
}

/// The keys of [`JsonLine`], and `Other` for the keys the scanner skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Timestamp,
    User,
    Dbname,
    SessionId,
    LineNum,
    ErrorSeverity,
    StateCode,
    Message,
    Statement,
    ApplicationName,
    Other,
}

impl Field {
    /// The field a key names (the key as written between its quotes, without escapes).
    fn of(key: &[u8]) -> Field {
        match key {
            b"timestamp" => Field::Timestamp,
            b"user" => Field::User,
            b"dbname" => Field::Dbname,
            b"session_id" => Field::SessionId,
            b"line_num" => Field::LineNum,
            b"error_severity" => Field::ErrorSeverity,
            b"state_code" => Field::StateCode,
            b"message" => Field::Message,
            b"statement" => Field::Statement,
            b"application_name" => Field::ApplicationName,
            _ => Field::Other,
        }
    }

    /// The field of a key PostgreSQL 15 writes, told from the bytes after the key's opening
    /// quote (`rest`) by comparing them with the key and its closing quote: (field, key
    /// length). `None` for any other key, which is then searched for its end. Searching is what
    /// a scan spends its time on (the end of a string is a branch no predictor gets right);
    /// the keys come in the same order on every line, so these comparisons are predicted.
    fn known(rest: &[u8]) -> Option<(Field, usize)> {
        macro_rules! one_of {
            ($($key:literal => $field:expr),+ $(,)?) => {{
                $(
                    if rest.starts_with($key) {
                        return Some(($field, $key.len() - 1));
                    }
                )+
                None
            }};
        }
        match rest.first()? {
            b't' => one_of!(b"timestamp\"" => Field::Timestamp, b"txid\"" => Field::Other),
            b'u' => one_of!(b"user\"" => Field::User),
            b'd' => one_of!(b"dbname\"" => Field::Dbname, b"detail\"" => Field::Other),
            b'p' => one_of!(b"pid\"" => Field::Other, b"ps\"" => Field::Other),
            b'r' => one_of!(b"remote_host\"" => Field::Other, b"remote_port\"" => Field::Other),
            b's' => one_of!(
                b"session_id\"" => Field::SessionId,
                b"session_start\"" => Field::Other,
                b"state_code\"" => Field::StateCode,
                b"statement\"" => Field::Statement,
            ),
            b'l' => one_of!(b"line_num\"" => Field::LineNum, b"leader_pid\"" => Field::Other),
            b'v' => one_of!(b"vxid\"" => Field::Other),
            b'e' => one_of!(b"error_severity\"" => Field::ErrorSeverity),
            b'm' => one_of!(b"message\"" => Field::Message),
            b'a' => one_of!(b"application_name\"" => Field::ApplicationName),
            b'b' => one_of!(b"backend_type\"" => Field::Other),
            b'q' => one_of!(b"query_id\"" => Field::Other),
            b'h' => one_of!(b"hint\"" => Field::Other),
            b'c' => one_of!(b"context\"" => Field::Other, b"cursor_position\"" => Field::Other),
            b'i' => one_of!(
                b"internal_query\"" => Field::Other,
                b"internal_position\"" => Field::Other,
            ),
            b'f' => one_of!(
                b"func_name\"" => Field::Other,
                b"file_name\"" => Field::Other,
                b"file_line_num\"" => Field::Other,
            ),
            _ => None,
        }
    }
}

/// Reads the keys of [`JsonLine`] from one jsonlog object; `None` when the line is not a flat
/// JSON object of strings and scalars that `serde_json` would read into a [`JsonLine`] (the
/// caller then lets `serde_json` read it, or say what is wrong with it). So a line it takes
/// gives exactly what `serde_json` gives: a known key twice, a known key with a value of
/// another type, a control character inside a string or a bad escape are left to
/// `serde_json`'s error. String values are borrowed from the line unless they hold escapes;
/// the values of other keys are skipped without being decoded.
fn scan_jsonlog(text: &str) -> Option<JsonLine<'_>> {
    let bytes = text.as_bytes();
    let mut line = JsonLine::default();
    // The known keys read so far (bit `Field as u16`): a second one is serde_json's error.
    let mut seen = 0u16;
    let mut i = skip_space(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(bytes, i + 1);
    if bytes.get(i) == Some(&b'}') {
        return (skip_space(bytes, i + 1) == bytes.len()).then_some(line);
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let (field, key_end) = match Field::known(bytes.get(i + 1..)?) {
            Some((field, length)) => (field, i + 1 + length),
            None => {
                let (key_end, key_escaped) = string_end(bytes, i + 1)?;
                if key_escaped {
                    return None;
                }
                (Field::of(&bytes[i + 1..key_end]), key_end)
            }
        };
        i = skip_space(bytes, key_end + 1);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_space(bytes, i + 1);
        if field != Field::Other {
            let bit = 1u16 << field as u16;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
        }
        if *bytes.get(i)? == b'"' {
            let (end, escaped) = string_end(bytes, i + 1)?;
            let slot = match field {
                Field::Timestamp => Some(&mut line.timestamp),
                Field::User => Some(&mut line.user),
                Field::Dbname => Some(&mut line.dbname),
                Field::SessionId => Some(&mut line.session_id),
                Field::ErrorSeverity => Some(&mut line.error_severity),
                Field::StateCode => Some(&mut line.state_code),
                Field::Message => Some(&mut line.message),
                Field::Statement => Some(&mut line.statement),
                Field::ApplicationName => Some(&mut line.application_name),
                // A number as a string: serde_json's error says so.
                Field::LineNum => return None,
                Field::Other => None,
            };
            if let Some(slot) = slot {
                let raw = text.get(i + 1..end)?;
                *slot = if escaped {
                    // Rare (multi-line statements, quotes, non-ASCII with ensure_ascii).
                    Cow::Owned(unescape(raw)?)
                } else {
                    Cow::Borrowed(raw)
                };
            }
            i = end + 1;
        } else {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|b| matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'-' | b'+' | b'.' | b'E'))
            {
                i += 1;
            }
            let value = &text[start..i];
            match field {
                // `parse` would also take `+9`, which is not JSON.
                Field::LineNum if is_json_number(value) => line.line_num = value.parse().ok()?,
                Field::Other
                    if matches!(value, "true" | "false" | "null") || is_json_number(value) => {}
                // Not a number, or not a string where one goes: serde_json's error.
                _ => return None,
            }
        }
        i = skip_space(bytes, i);
        match *bytes.get(i)? {
            b',' => i = skip_space(bytes, i + 1),
            b'}' => break,
            _ => return None,
        }
    }
    (skip_space(bytes, i + 1) == bytes.len()).then_some(line)
}

/// The index of the `"` that ends the string starting at `from` (after its opening quote), and
/// whether the string holds escapes; `None` at a control character or an unknown escape (not
/// JSON) or the end of the line. Searched 8 bytes at a time ([`find_escape`]: the bytes that end a run of plain
/// string text are the same whether it is read or written).
fn string_end(bytes: &[u8], mut from: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        let i = from + find_escape(bytes.get(from..)?)?;
        match bytes[i] {
            b'"' => return Some((i, escaped)),
            // Checked as serde_json checks the strings it skips: a known escape, `\u` with four
            // hex digits (what they encode is checked where a string is decoded, `unescape`).
            b'\\' => {
                escaped = true;
                from = match bytes.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i + 2,
                    b'u' if bytes.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i + 6,
                    _ => return None,
                };
            }
            _ => return None,
        }
    }
}

/// Decodes the text of a JSON string (between its quotes) that holds escapes, as `serde_json`
/// decodes it; `None` for an escape `serde_json` refuses (an unknown one, a lone surrogate),
/// whose line then goes to `serde_json` for its error.
fn unescape(raw: &str) -> Option<String> {
    fn hex4(digits: &[u8]) -> Option<u32> {
        digits.iter().try_fold(0u32, |value, &digit| {
            Some(value * 16 + char::from(digit).to_digit(16)?)
        })
    }
    let bytes = raw.as_bytes();
    let mut text = String::with_capacity(raw.len());
    let mut start = 0;
    while let Some(at) = memchr::memchr(b'\\', bytes.get(start..)?).map(|at| start + at) {
        text.push_str(raw.get(start..at)?);
        let (decoded, next) = match *bytes.get(at + 1)? {
            b'"' => ('"', at + 2),
            b'\\' => ('\\', at + 2),
            b'/' => ('/', at + 2),
            b'b' => ('\u{8}', at + 2),
            b'f' => ('\u{c}', at + 2),
            b'n' => ('\n', at + 2),
            b'r' => ('\r', at + 2),
            b't' => ('\t', at + 2),
            b'u' => {
                let unit = hex4(bytes.get(at + 2..at + 6)?)?;
                if (0xd800..0xdc00).contains(&unit) {
                    // A surrogate pair: `\uD83D\uDE00`.
                    if bytes.get(at + 6..at + 8)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(bytes.get(at + 8..at + 12)?)?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return None;
                    }
                    let code = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                    (char::from_u32(code)?, at + 12)
                } else {
                    // A lone low surrogate is no `char`: `None`.
                    (char::from_u32(unit)?, at + 6)
                }
            }
            _ => return None,
        };
        text.push(decoded);
        start = next;
    }
    text.push_str(raw.get(start..)?);
    Some(text)
}

/// Whether `text` is a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    fn digits(bytes: &[u8]) -> usize {
        bytes.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    match digits(&bytes[i..]) {
        0 => return false,
        n if n > 1 && bytes[i] == b'0' => return false,
        n => i += n,
    }
    if bytes.get(i) == Some(&b'.') {
        match digits(&bytes[i + 1..]) {
            0 => return false,
            n => i += 1 + n,
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        match digits(&bytes[i..]) {
            0 => return false,
            n => i += n,
        }
    }
    i == bytes.len()
}

/// The index of the first byte at or after `from` that is not JSON whitespace.
fn skip_space(bytes: &[u8], mut from: usize) -> usize {
    while bytes
        .get(from)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        from += 1;
    }
    from
}

/// Builds a record from the fields of one csvlog record (PostgreSQL 13 and later order:
/// `log_time, user_name, database_name, process_id, connection_from, session_id,
/// session_line_num, command_tag, session_start_time, virtual_transaction_id, transaction_id,
/// error_severity, sql_state_code, message, detail, hint, internal_query, internal_query_pos,
/// context, query, query_pos, location, application_name, …`).
pub fn csvlog<'a>(fields: &[&'a str]) -> Result<LogRecord<'a>, RecordError> {
    if fields.len() < 23 {
        return Err(RecordError::Csv(fields.len()));
    }
    Ok(LogRecord {
        time_ms: parse_time(fields[0])?,
        user: fields[1].into(),
        database: fields[2].into(),
        session: fields[5].into(),
        key: match fields[6].parse() {
            Ok(number) => Key {
                name: fields[5].into(),
                number: Some(number),
            },
            Err(_) => Key {
                name: format!("{}:{}", fields[5], fields[6]).into(),
                number: None,
            },
        },
        severity: fields[11].into(),
        state_code: fields[12].into(),
        message: fields[13].into(),
        statement: fields[19].into(),
        application: fields[22].into(),
    })
}

/// Severities that start the message part of a stderr line (`SEVERITY:  message`).
const SEVERITIES: &[&str] = &[
    "LOG",
    "ERROR",
    "FATAL",
    "PANIC",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "DETAIL",
    "STATEMENT",
    "HINT",
    "CONTEXT",
    "QUERY",
    "LOCATION",
];

/// Parses one RDS/Aurora stderr entry (one CloudWatch event, continuation lines included),
/// `stream` and `event_id` naming it. `fallback_ms` (the event's timestamp) is used when the
/// prefix's time cannot be read.
pub fn rds_stderr<'a>(
    message: &'a str,
    stream: &str,
    event_id: &str,
    fallback_ms: i64,
) -> Result<LogRecord<'a>, RecordError> {
    // `%t` is `YYYY-MM-DD HH:MM:SS ZONE`, `%m` adds `.mmm`: the time ends at the first `:` after
    // the zone, i.e. the first `:` after position 19 that follows a space-separated zone.
    // Searched as bytes: position 19 may fall inside a multi-byte character of a garbled
    // time (whose record then takes `fallback_ms`); a `:` is always a character boundary.
    let time_end = message
        .as_bytes()
        .get(19..)
        .and_then(|rest| memchr::memchr(b':', rest))
        .map(|i| i + 19)
        .ok_or(RecordError::Prefix)?;
    let time_ms = parse_time(&message[..time_end]).unwrap_or(fallback_ms);
    let rest = &message[time_end + 1..];
    // `%r:%u@%d:[%p]:` — anchor on `:[digits]:`, since names may contain `:` and `@`.
    let (who, after_pid, pid) = split_pid(rest).ok_or(RecordError::Prefix)?;
    let who = who.strip_prefix(remote_part(who)).unwrap_or(who);
    let who = who.strip_prefix(':').unwrap_or(who);
    let (user, database) = who.rsplit_once('@').unwrap_or((who, ""));
    // Optional `%l:%e:%s:%v:%x:%c:%q%a:` before `SEVERITY:  `.
    let (prefix, severity, text) = split_severity(after_pid).ok_or(RecordError::Prefix)?;
    let fields: Vec<&str> = prefix.split(':').collect();
    // `%s` (the session start) holds two `:` itself, so `%c` and `%a` are counted from the end
    // (`…:%c:%a:` leaves an empty last field).
    let (session, state_code, application) = if fields.len() >= 9 {
        (
            Cow::Borrowed(fields[fields.len() - 3]),
            Cow::Borrowed(fields[1]),
            Cow::Borrowed(fields[fields.len() - 2]),
        )
    } else {
        (
            Cow::Owned(format!("{stream}/{pid}")),
            Cow::Borrowed(""),
            Cow::Borrowed(""),
        )
    };
    Ok(LogRecord {
        time_ms,
        user: user.into(),
        database: database.into(),
        session,
        key: Key {
            name: format!("{stream}:{event_id}").into(),
            number: None,
        },
        severity: severity.into(),
        state_code,
        // Continuation lines start with a TAB that stderr logging inserted.
        message: if text.contains("\n\t") {
            text.replace("\n\t", "\n").into()
        } else {
            text.into()
        },
        statement: Cow::Borrowed(""),
        application,
    })
}

/// The `%r` part at the start of `who`: `host(port)`, `[local]`, or nothing.
fn remote_part(who: &str) -> &str {
    if let Some(end) = who.find("):") {
        &who[..=end]
    } else if who.starts_with("[local]") {
        "[local]"
    } else {
        ""
    }
}

/// Splits at the first `:[digits]:`: (before, after, pid).
fn split_pid(rest: &str) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(i) = rest[from..].find(":[") {
        let start = from + i;
        let digits_start = start + 2;
        if let Some(close) = rest[digits_start..].find("]:") {
            let pid = &rest[digits_start..digits_start + close];
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return Some((&rest[..start], &rest[digits_start + close + 2..], pid));
            }
        }
        from = digits_start;
    }
    None
}

/// Finds `SEVERITY:  ` at a field start: (prefix fields, severity, message).
fn split_severity(text: &str) -> Option<(&str, &str, &str)> {
    let mut start = 0;
    loop {
        let candidate = &text[start..];
        for severity in SEVERITIES {
            if let Some(message) = candidate
                .strip_prefix(severity)
                .and_then(|rest| rest.strip_prefix(":  "))
            {
                return Some((&text[..start], severity, message));
            }
        }
        start += candidate.find(':')? + 1;
    }
}

/// Parses PostgreSQL's log time `YYYY-MM-DD HH:MM:SS[.fff] ZONE` (ZONE: `UTC`, `GMT`, `Z` or a
/// numeric offset such as `+04` or `-05:30`) into unix epoch milliseconds.
pub fn parse_time(text: &str) -> Result<i64, RecordError> {
    let bad = || RecordError::Time(text.to_owned());
    let text = text.trim();
    let (datetime, zone) = match text.rfind(' ') {
        Some(i) if i > 10 => (&text[..i], &text[i + 1..]),
        _ => (text, "UTC"),
    };
    let b = datetime.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    // Every record has a time: read in place, digit by digit.
    let num = |range: std::ops::Range<usize>| -> Result<i64, RecordError> {
        b[range].iter().try_fold(0i64, |value, &digit| {
            if digit.is_ascii_digit() {
                Ok(value * 10 + i64::from(digit - b'0'))
            } else {
                Err(bad())
            }
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if fraction.iter().all(u8::is_ascii_digit) => fraction
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(3)
            .fold(0, |value, &digit| value * 10 + i64::from(digit - b'0')),
        _ => return Err(bad()),
    };
    let offset_seconds = match zone {
        "UTC" | "GMT" | "Z" | "+00" | "+00:00" => 0,
        zone if zone.starts_with('+') || zone.starts_with('-') => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            // `HH`, `HHMM` or `HH:MM`, read as bytes: the zone is log text, and may hold
            // multi-byte characters that a `str` slice at a byte offset would split.
            let digit = |b: &u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
            let two = |pair: &[u8]| Some(digit(&pair[0])? * 10 + digit(&pair[1])?);
            let (h, m) = match zone.as_bytes()[1..] {
                [h1, h2] => (two(&[h1, h2]), Some(0)),
                [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => (two(&[h1, h2]), two(&[m1, m2])),
                _ => (None, None),
            };
            let (Some(h), Some(m)) = (h, m) else {
                return Err(bad());
            };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    Ok(((days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds) * 1000) + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What a `LOG` message says about statements.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// `statement: TEXT` or `execute NAME: TEXT` (log_statement): received, about to run.
    Statement(&'a str),
    /// `duration: X ms` (after a logged statement) or `duration: X ms  statement: TEXT`
    /// (log_min_duration_statement alone): completed. Parse and bind steps are `Other`.
    Duration {
        /// Milliseconds.
        millis: f64,
        /// The statement, when the line carries it.
        text: Option<&'a str>,
    },
    /// A pgaudit line.
    Audit(Audit),
    /// Anything else (connections, checkpoints, parse/bind durations…).
    Other,
}

/// The fields of a pgaudit `AUDIT:` payload this connector uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// `STATEMENT_ID`: one per top-level statement of a session.
    pub statement_id: u64,
    /// The statement text (the whole string of a multi-statement query).
    pub statement: String,
    /// `ROWS`, with `pgaudit.log_rows = on`.
    pub rows: Option<i64>,
}

/// Classifies a `LOG` message.
pub fn message(text: &str) -> Message<'_> {
    if let Some(statement) = text.strip_prefix("statement: ") {
        return Message::Statement(statement);
    }
    if let Some(rest) = text.strip_prefix("execute ")
        && let Some((_, statement)) = rest.split_once(": ")
    {
        return Message::Statement(statement);
    }
    if let Some(rest) = text.strip_prefix("duration: ") {
        let (number, after) = rest.split_once(" ms").unwrap_or((rest, ""));
        let Ok(millis) = number.trim().parse::<f64>() else {
            return Message::Other;
        };
        let after = after.trim_start();
        if after.is_empty() {
            return Message::Duration { millis, text: None };
        }
        if let Some(statement) = after.strip_prefix("statement: ") {
            return Message::Duration {
                millis,
                text: Some(statement),
            };
        }
        if let Some(rest) = after.strip_prefix("execute ")
            && let Some((_, statement)) = rest.split_once(": ")
        {
            return Message::Duration {
                millis,
                text: Some(statement),
            };
        }
        return Message::Other;
    }
    if let Some(payload) = text.strip_prefix("AUDIT: ")
        && let Some(audit) = audit(payload)
    {
        return Message::Audit(audit);
    }
    Message::Other
}

/// Parses `AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,OBJECT_NAME,
/// STATEMENT,PARAMETER[,ROWS]` (CSV).
fn audit(payload: &str) -> Option<Audit> {
    let fields = csv_fields(payload.as_bytes())?;
    if fields.len() < 8 {
        return None;
    }
    Some(Audit {
        statement_id: fields[1].parse().ok()?,
        statement: fields[7].clone(),
        rows: fields.get(9).and_then(|rows| rows.trim().parse().ok()),
    })
}

/// Splits one complete CSV record.
pub fn csv_fields(input: &[u8]) -> Option<Vec<String>> {
    let mut reader = csv_core::Reader::new();
    let mut output = vec![0u8; input.len() + 16];
    let mut ends = vec![0usize; 32];
    let (mut consumed, mut written, mut nends) = (0, 0, 0);
    loop {
        let (result, in_n, out_n, ends_n) = reader.read_record(
            &input[consumed..],
            &mut output[written..],
            &mut ends[nends..],
        );
        consumed += in_n;
        written += out_n;
        nends += ends_n;
        match result {
            csv_core::ReadRecordResult::OutputFull => output.resize(output.len() * 2, 0),
            csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            csv_core::ReadRecordResult::InputEmpty => {
                if consumed >= input.len() {
                    // End of input: one more call with no input finishes the record.
                    let (result, _, out_n, ends_n) =
                        reader.read_record(&[], &mut output[written..], &mut ends[nends..]);
                    written += out_n;
                    nends += ends_n;
                    if !matches!(result, csv_core::ReadRecordResult::Record) {
                        return None;
                    }
                    break;
                }
            }
            csv_core::ReadRecordResult::Record => break,
            csv_core::ReadRecordResult::End => return None,
        }
    }
    let mut fields = Vec::with_capacity(nends);
    let mut start = 0;
    for &end in &ends[..nends] {
        fields.push(String::from_utf8_lossy(&output[start..end]).into_owned());
        start = end;
    }
    let _ = written;
    Some(fields)
}

/// The longest log record read, in bytes (a jsonlog line, a csvlog record's fields): 1 MiB.
/// A longer one (a statement with a huge literal) is skipped, counted and logged: holding it
/// would take memory without bound, and its statement would be cut to
/// [`MAX_QUERY_CHARS`](super::MAX_QUERY_CHARS) characters anyway.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The most fields a csvlog record may have (PostgreSQL writes 26): more, and it is skipped.
const MAX_CSV_FIELDS: usize = 4096;

/// Splits a csvlog byte stream into records, chunk by chunk: a record split across two chunks
/// is completed by the next one, so the file never needs to be in memory whole. A record over
/// [`MAX_RECORD_BYTES`] is skipped (its bytes dropped as they come), counted and logged.
pub struct CsvSplitter {
    reader: csv_core::Reader,
    output: Vec<u8>,
    ends: Vec<usize>,
    written: usize,
    nends: usize,
    /// The most bytes of fields kept.
    cap: usize,
    /// Bytes of the record being dropped so far, while one is.
    dropping: Option<usize>,
    /// Records skipped since [`Self::take_skipped`].
    skipped: u64,
}

impl Default for CsvSplitter {
    fn default() -> Self {
        Self::with_cap(MAX_RECORD_BYTES)
    }
}

impl CsvSplitter {
    /// A splitter that skips records of more than `cap` bytes of fields.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            reader: csv_core::Reader::new(),
            output: vec![0; (64 * 1024).min(cap.max(1))],
            ends: vec![0; 64],
            written: 0,
            nends: 0,
            cap,
            dropping: None,
            skipped: 0,
        }
    }

    /// Feeds `chunk`, calling `each` with the fields of every record it completes.
    pub fn feed(&mut self, mut chunk: &[u8], each: &mut dyn FnMut(&[&str])) {
        loop {
            let (result, in_n, out_n, ends_n) = self.reader.read_record(
                chunk,
                &mut self.output[self.written..],
                &mut self.ends[self.nends..],
            );
            chunk = &chunk[in_n..];
            self.written += out_n;
            self.nends += ends_n;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return,
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.output.len();
                    if self.dropping.is_none() && len < self.cap {
                        self.output.resize((len * 2).min(self.cap), 0);
                    } else {
                        self.drop_fields();
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    if self.dropping.is_none() && len < MAX_CSV_FIELDS {
                        self.ends.resize(len * 2, 0);
                    } else {
                        self.drop_fields();
                    }
                }
                csv_core::ReadRecordResult::Record => {
                    if let Some(length) = self.dropping.take() {
                        tracing::debug!(
                            bytes = length + self.written,
                            "skipped a long csvlog record"
                        );
                    } else {
                        let mut fields: Vec<&str> = Vec::with_capacity(self.nends);
                        let mut start = 0;
                        for &end in &self.ends[..self.nends] {
                            fields
                                .push(std::str::from_utf8(&self.output[start..end]).unwrap_or(""));
                            start = end;
                        }
                        each(&fields);
                    }
                    self.written = 0;
                    self.nends = 0;
                }
                csv_core::ReadRecordResult::End => return,
            }
        }
    }

    /// The record being read is too long: what it holds so far is dropped (and the rest as it
    /// comes, up to its end); counted and logged once.
    fn drop_fields(&mut self) {
        match &mut self.dropping {
            Some(length) => *length += self.written,
            None => {
                self.skipped += 1;
                tracing::warn!(
                    bytes_so_far = self.written,
                    fields_so_far = self.nends,
                    cap = self.cap,
                    "skipped a csvlog record longer than the cap (its statement is not imported)"
                );
                self.dropping = Some(self.written);
            }
        }
        self.written = 0;
        self.nends = 0;
    }

    /// Records skipped since the last call.
    pub fn take_skipped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn log_times_in_utc_and_offsets_become_epoch_milliseconds() {
        assert_eq!(parse_time("1970-01-01 00:00:01.5 UTC").unwrap(), 1_500);
        assert_eq!(
            parse_time("2026-11-22 05:56:07.958 UTC").unwrap(),
            1_795_326_967_958
        );
        assert_eq!(
            parse_time("2026-11-22 09:56:07 +04").unwrap(),
            1_795_326_967_000
        );
        assert!(parse_time("2026-11-22 00:59:07.800 EST").is_err());
        assert_eq!(parse_time("1970-01-01 00:00:00.123456 UTC").unwrap(), 123);
        assert_eq!(parse_time("1970-01-01 00:00:00. UTC").unwrap(), 0);
        assert!(parse_time("1970-01-01 00:00:0x UTC").is_err());
        assert!(parse_time("1970-01-01 00:00:00.1x UTC").is_err());
        assert!(parse_time("1970-01-01 00:00:00Z UTC").is_err());
    }

    #[test]
    fn multi_byte_characters_in_log_times_and_zones_give_errors_not_panics() {
        for text in [
            "2024-01-01 10:00:00 CEST\u{20ac}",
            "2024-01-01 10:00:00 Europe/Z\u{fc}rich",
            "2024-01-01 10:00:00 +\u{20ac}1",
            "2024-01-01 10:00:00 +1\u{20ac}",
            "2024-01-01 10:00:00 -\u{fc}\u{fc}",
            "2024-01-01 10:00:00 +0\u{fc}:0",
            "2024-01-01 10:00:0\u{20ac} UTC",
            "2024-01-01 10:00:00.\u{20ac} UTC",
            "2024-\u{20ac}1-01 10:00:00 UTC",
            "\u{1f600}\u{1f600}\u{1f600}\u{1f600}\u{1f600} UTC",
        ] {
            assert!(
                matches!(parse_time(text), Err(RecordError::Time(_))),
                "{text}"
            );
        }
        for offset in ["+05:30", "+0530", "+05"] {
            let text = format!("2026-11-22 11:26:07 {offset}");
            let minutes = if offset == "+05" { 0 } else { 30 };
            assert_eq!(
                parse_time(&text).unwrap(),
                1_795_326_967_000 + (30 - minutes) * 60_000,
                "{text}"
            );
        }
        assert_eq!(
            parse_time("2026-11-22 00:26:07 -05:30").unwrap(),
            1_795_326_967_000
        );
        // Every multi-byte character at every position of every time and stderr prefix.
        let samples = [
            "2026-11-22 09:56:07.958 +04:30",
            "2026-11-22 06:02:32 UTC:127.0.0.1(34364):alice@appdb:[21230]:LOG:  statement: SELECT 1",
            "2026-11-22 06:02:34.321 UTC:[local]:alice@appdb:[21243]:6:42501:2026-11-22 06:02:34 UTC:3/298:0:6b.52fb:psql:ERROR:  x",
        ];
        for sample in samples {
            for (at, _) in sample.char_indices() {
                for inserted in ["\u{fc}", "\u{20ac}", "\u{1f600}"] {
                    for replace in [false, true] {
                        let end = if replace { at + 1 } else { at };
                        let text = format!("{}{inserted}{}", &sample[..at], &sample[end..]);
                        let _ = parse_time(&text);
                        let _ = rds_stderr(&text, "s", "1", 7);
                        let json = serde_json::json!({ "timestamp": text }).to_string();
                        let _ = jsonlog(json.as_bytes());
                    }
                }
            }
        }
        // A stderr line whose time cannot be read takes the event's time.
        let record = rds_stderr(
            "2026-11-22 06:02:3\u{20ac} UTC:[local]:alice@appdb:[1]:LOG:  statement: SELECT 1",
            "s",
            "1",
            7,
        )
        .unwrap();
        assert_eq!((record.time_ms, record.user.as_ref()), (7, "alice"));
    }

    #[test]
    fn a_jsonlog_line_becomes_a_record() {
        let line = br#"{"timestamp":"2026-11-22 05:56:07.961 UTC","user":"alice","dbname":"appdb","pid":18358,"session_id":"6b0283f7.47b6","line_num":9,"error_severity":"ERROR","state_code":"42501","message":"permission denied for table Mixed Case","statement":"SELECT * FROM public.\"Mixed Case\";","application_name":"usage-test"}"#;
        let record = jsonlog(line).unwrap();
        assert_eq!(record.key.to_text(), "6b0283f7.47b6:9");
        for (number, text) in [
            (None, "s.1"),
            (Some(0), "s.1:0"),
            (Some(7), "s.1:7"),
            (Some(10), "s.1:10"),
            (Some(u64::MAX), "s.1:18446744073709551615"),
        ] {
            let key = Key {
                name: "s.1".into(),
                number,
            };
            assert_eq!(key.to_text(), text);
        }
        assert_eq!(record.severity, "ERROR");
        assert_eq!(record.statement, "SELECT * FROM public.\"Mixed Case\";");
    }

    #[test]
    fn the_jsonlog_scanner_reads_what_serde_json_reads_and_leaves_the_rest_to_it() {
        let lines: &[&str] = &[
            r#"{"timestamp":"2026-11-22 05:56:07.961 UTC","user":"alice","dbname":"appdb","pid":18358,"session_id":"6b0283f7.47b6","line_num":9,"error_severity":"LOG","message":"statement: SELECT 1","application_name":"psql","query_id":-4.5e+3,"leader_pid":null}"#,
            r#"{"timestamp":"2026-11-22 05:56:07.961 UTC","user":"b\"o\\b","message":"statement: SELECT \"Caf\u00e9\",\n\t'x' -- \ud83d\ude00 €","line_num":0}"#,
            r#" { "timestamp" : "2026-11-22 05:56:07 UTC" , "line_num" : 12 , "ps" : "" } "#,
            r#"{}"#,
            // serde_json's cases: nested values, escaped keys, strings where numbers go.
            r#"{"timestamp":"2026-11-22 05:56:07 UTC","extra":{"a":[1,2]},"message":"m"}"#,
            r#"{"timestamp":"2026-11-22 05:56:07 UTC","mess\u0061ge":"m"}"#,
        ];
        for line in lines {
            let scanned = scan_jsonlog(line);
            let read: JsonLine = serde_json::from_str(line).unwrap();
            if let Some(scanned) = &scanned {
                assert_eq!(scanned.timestamp, read.timestamp, "{line}");
                assert_eq!(scanned.user, read.user, "{line}");
                assert_eq!(scanned.dbname, read.dbname, "{line}");
                assert_eq!(scanned.session_id, read.session_id, "{line}");
                assert_eq!(scanned.line_num, read.line_num, "{line}");
                assert_eq!(scanned.error_severity, read.error_severity, "{line}");
                assert_eq!(scanned.message, read.message, "{line}");
                assert_eq!(scanned.application_name, read.application_name, "{line}");
            }
            assert_eq!(
                scanned.is_none(),
                line.contains("extra") || line.contains("\\u0061"),
                "{line}"
            );
        }
        // Unescaped strings are borrowed from the line.
        let scanned = scan_jsonlog(lines[0]).unwrap();
        assert!(matches!(
            scanned.message,
            Cow::Borrowed("statement: SELECT 1")
        ));
        // Malformed lines are left to serde_json, whose error says what is wrong.
        for bad in [
            r#"{"timestamp":"x""#,
            r#"{"timestamp":"x"} trailing"#,
            r#"{"line_num":"9"}"#,
            r#"{"line_num":-1}"#,
            r#"{"line_num":+9}"#,
            r#"{"line_num":9.5}"#,
            r#"{"pid":01}"#,
            r#"{"pid":nan}"#,
            r#"{"pid":1.}"#,
            r#"{"a":1,}"#,
        ] {
            assert!(scan_jsonlog(bad).is_none(), "{bad}");
            assert!(
                matches!(jsonlog(bad.as_bytes()), Err(RecordError::Json(_))),
                "{bad}"
            );
        }
        assert!(scan_jsonlog(r#"["timestamp"]"#).is_none());
        assert_eq!(jsonlog(lines[4].as_bytes()).unwrap().message, "m");
    }

    #[test]
    fn the_jsonlog_scanner_agrees_with_serde_json_on_tricky_lines() {
        // (line, whether the scanner takes it): what it takes, it reads as serde_json does.
        let lines: &[(&str, bool)] = &[
            // Escapes of every kind, `\u` sequences and a surrogate pair, in read values.
            (
                r#"{"user":"a\"b\\c\/d\b\f\n\r\t","message":"\u00e9\u20AC\ud83d\ude00\u0000\u001f","line_num":3}"#,
                true,
            ),
            // Keys and whole records inside string values.
            (
                r#"{"ps":"\"message\":\"no\",","message":"statement: SELECT '{\"user\": \"x\"}'","user":"u"}"#,
                true,
            ),
            (
                r#"{"application_name":"line_num","statement":"}","dbname":"\"dbname\""}"#,
                true,
            ),
            // Nested objects and arrays in skipped keys: serde_json's.
            (
                r#"{"user":"u","extra":{"message":"x","a":[1,{"b":[]}]}}"#,
                false,
            ),
            (r#"{"extra":["message",{"user":"x"}],"user":"u"}"#, false),
            // Keys the scanner knows only by searching: PostgreSQL's other keys, unknown ones.
            (
                r#"{"pid":1,"txid":0,"leader_pid":null,"backend_type":"client backend","query_id":-3,"x":true,"":"","users":"no","messages":"no","message":"m"}"#,
                true,
            ),
            // A known key twice, a string field holding another type, a raw control character,
            // a lone surrogate, an unknown escape: serde_json's errors.
            (r#"{"user":"a","user":"b"}"#, false),
            (r#"{"user":5}"#, false),
            (r#"{"message":null}"#, false),
            (r#"{"line_num":null}"#, false),
            ("{\"message\":\"a\tb\"}", false),
            ("{\"pid\":\"a\u{1}b\"}", false),
            (r#"{"message":"\ud83d"}"#, false),
            (r#"{"message":"\ude00"}"#, false),
            (r#"{"message":"\ud83d\u0041"}"#, false),
            (r#"{"message":"\x"}"#, false),
            (r#"{"message":"\u12"}"#, false),
            // Skipped strings are checked as serde_json checks them: known escapes only (what a
            // `\u` encodes is not checked in a string serde_json skips).
            (r#"{"pid":"\x"}"#, false),
            (r#"{"pid":"\u12g4"}"#, false),
            (r#"{"pid":"\ud83d","hint":"\udc00\"\/"}"#, true),
            // Numbers serde_json reads as u64, or not.
            (r#"{"line_num":18446744073709551615}"#, true),
            (r#"{"line_num":18446744073709551616}"#, false),
            (r#"{"line_num":-0}"#, false),
            (r#"{"line_num":1e3}"#, false),
            // Whitespace everywhere JSON allows it.
            (" {\r\n\t\"message\" :\t\"m\" ,\n\"pid\"\r: 7 } \n", true),
        ];
        for &(line, taken) in lines {
            let scanned = scan_jsonlog(line);
            assert_eq!(scanned.is_some(), taken, "{line}");
            let read: Result<JsonLine, _> = serde_json::from_str(line);
            if let Some(scanned) = scanned {
                assert_eq!(Ok(scanned), read.map_err(|e| e.to_string()), "{line}");
            }
            // Either way, the record is what serde_json reads, or its error.
            let record = jsonlog(line.as_bytes());
            match (serde_json::from_str::<JsonLine>(line), record) {
                (Ok(read), Ok(record)) => assert_eq!(record.message, read.message, "{line}"),
                // These lines have no time.
                (Ok(_), Err(error)) => assert!(matches!(error, RecordError::Time(_)), "{line}"),
                (Err(error), record) => {
                    assert_eq!(record, Err(RecordError::Json(error.to_string())), "{line}")
                }
            }
        }
    }

    #[test]
    fn csvlog_records_may_span_chunks_and_lines() {
        let data = "2026-11-22 05:56:07.958 UTC,\"alice\",\"appdb\",1,\"[local]\",6b.47,3,\"idle\",2026-11-22 05:56:07 UTC,3/31,0,LOG,00000,\"statement: SELECT 1,\n\"\"x\"\";\",,,,,,,,,\"usage-test\",\"client backend\",,0\n";
        let mut splitter = CsvSplitter::default();
        let mut records = Vec::new();
        for piece in data.as_bytes().chunks(7) {
            splitter.feed(piece, &mut |fields| {
                records.push(csvlog(fields).unwrap().into_owned())
            });
        }
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].message, "statement: SELECT 1,\n\"x\";");
        assert_eq!(records[0].key.to_text(), "6b.47:3");
    }

    #[test]
    fn a_csvlog_record_over_the_cap_is_skipped_and_the_records_around_it_are_read() {
        let record = |line: u32, statement: &str| {
            format!(
                "2026-11-22 05:56:07.958 UTC,\"alice\",\"appdb\",1,\"[local]\",6b.47,{line},\"idle\",2026-11-22 05:56:07 UTC,3/31,0,LOG,00000,\"statement: {}\",,,,,,,,,\"usage-test\",\"client backend\",,0\n",
                statement.replace('"', "\"\"")
            )
        };
        let long = format!("SELECT '{}', \"a\nb\"", "x".repeat(2 << 20));
        let data = format!(
            "{}{}{}",
            record(1, "SELECT 1"),
            record(2, &long),
            record(3, "SELECT \"3\"")
        );
        for chunk in [1 << 20, 4093, data.len()] {
            let mut splitter = CsvSplitter::default();
            let mut messages = Vec::new();
            let mut skipped = 0;
            for piece in data.as_bytes().chunks(chunk) {
                splitter.feed(piece, &mut |fields| {
                    messages.push(csvlog(fields).unwrap().message.into_owned())
                });
                skipped += splitter.take_skipped();
                assert!(splitter.output.len() <= MAX_RECORD_BYTES);
            }
            assert_eq!(
                messages,
                ["statement: SELECT 1", "statement: SELECT \"3\""],
                "chunks of {chunk}"
            );
            assert_eq!(skipped, 1, "chunks of {chunk}");
        }
    }

    #[test]
    fn rds_stderr_lines_give_user_database_and_message() {
        let record = rds_stderr(
            "2026-11-22 06:02:32 UTC:127.0.0.1(34364):alice@example.com@appdb:[21230]:LOG:  statement: SELECT id\n\tFROM sales.orders;",
            "mydb",
            "42",
            0,
        )
        .unwrap();
        assert_eq!(record.user, "alice@example.com");
        assert_eq!(record.database, "appdb");
        assert_eq!(record.session, "mydb/21230");
        assert_eq!(record.key.to_text(), "mydb:42");
        assert_eq!(record.message, "statement: SELECT id\nFROM sales.orders;");
        let long = rds_stderr(
            "2026-11-22 06:02:34.321 UTC:127.0.0.1(34368):alice@appdb:[21243]:6:42501:2026-11-22 06:02:34 UTC:3/298:0:6b02857a.52fb:psql:ERROR:  permission denied for table x",
            "mydb",
            "43",
            0,
        )
        .unwrap();
        assert_eq!(long.severity, "ERROR");
        assert_eq!(long.state_code, "42501");
        assert_eq!(long.session, "6b02857a.52fb");
    }

    #[test]
    fn statement_duration_and_audit_messages_are_recognised() {
        assert_eq!(
            message("statement: SELECT 1"),
            Message::Statement("SELECT 1")
        );
        assert_eq!(
            message("execute P_0: SELECT $1"),
            Message::Statement("SELECT $1")
        );
        assert_eq!(
            message("duration: 1.950 ms"),
            Message::Duration {
                millis: 1.95,
                text: None
            }
        );
        assert_eq!(
            message("duration: 2.5 ms  statement: SELECT 2"),
            Message::Duration {
                millis: 2.5,
                text: Some("SELECT 2")
            }
        );
        assert_eq!(
            message("duration: 0.1 ms  parse <unnamed>: SELECT 2"),
            Message::Other
        );
        assert_eq!(
            message(
                r#"AUDIT: SESSION,7,1,DDL,CREATE TABLE,TABLE,"""Sales Data"".""Q1""","CREATE TABLE ""Sales Data"".""Q1"" (x int);",<none>,3"#
            ),
            Message::Audit(Audit {
                statement_id: 7,
                statement: r#"CREATE TABLE "Sales Data"."Q1" (x int);"#.into(),
                rows: Some(3)
            })
        );
    }
}

/// Property tests of the jsonlog scanner: on generated lines (PostgreSQL's keys and others,
/// escapes, `\u` sequences, keys inside strings, whitespace, nested values, duplicates, bad
/// escapes, raw control characters, cut or extended lines), every line the scanner takes is read
/// exactly as `serde_json` reads it, and every well-formed flat line is taken.
#[cfg(test)]
mod scanner_properties {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    const STRING_KEYS: &[&str] = &[
        "timestamp",
        "user",
        "dbname",
        "session_id",
        "error_severity",
        "state_code",
        "message",
        "statement",
        "application_name",
    ];
    const OTHER_KEYS: &[&str] = &[
        "pid",
        "remote_host",
        "remote_port",
        "ps",
        "session_start",
        "vxid",
        "txid",
        "backend_type",
        "query_id",
        "leader_pid",
        "detail",
        "hint",
        "file_line_num",
        "internal_position",
        "extra",
        "",
        "timestamps",
        "use",
        "message ",
        "Message",
        "caf\u{e9}",
    ];
    /// Keys serde_json decodes before matching (`mess\u0061ge` is `message`): never taken.
    const ESCAPED_KEYS: &[&str] = &[r"mess\u0061ge", r"user\u0000", r#"a\"b"#];
    const PIECES: &[&str] = &[
        "SELECT * FROM t",
        " ",
        "\u{e9}\u{20ac}\u{1f600}",
        r#"\""#,
        r"\\",
        r"\/",
        r"\b\f\n\r\t",
        r"\u00e9",
        r"\u20AC",
        r"\ud83d\ude00",
        r"\u0000\u001f",
        r#"\"message\": \"x\", "#,
        r#"{\"user\": [1]}"#,
        ":,{}[]",
        "0123456789abcdef0123456789",
    ];
    const BAD_PIECES: &[&str] = &[
        "\u{1}",
        "\t",
        "\n",
        r"\ud83d",
        r"\udc00",
        r"\ud83dx",
        r"\ud83d\u0041",
        r"\x",
        r"\u12",
        r"\u12g4",
        r"\",
        r#"""#,
    ];
    const NUMBERS: &[&str] = &[
        "0",
        "1",
        "42",
        "-1",
        "3.5",
        "-4.5e+3",
        "1E9",
        "1e400",
        "-0",
        "18446744073709551615",
    ];
    const LINE_NUMS: &[&str] = &["0", "9", "4294967296", "18446744073709551615"];
    const BAD_NUMBERS: &[&str] = &[
        "01",
        "+9",
        "1.",
        "nan",
        "-",
        "1e",
        "18446744073709551616",
        "9.5",
        "tru",
    ];
    const LITERALS: &[&str] = &["true", "false", "null"];
    const NESTED: &[&str] = &[r#"{"a":[1,2]}"#, "[]", r#"["x",{"message":null}]"#, "{}"];
    const SPACES: &[&str] = &["", " ", "\t", "\n", " \r\n "];

    /// One key-value pair's choices, each an index taken modulo its list's length.
    type Entry = (usize, usize, Vec<(usize, bool)>, usize);

    fn pick<'a>(list: &[&'a str], index: usize) -> &'a str {
        list[index % list.len()]
    }

    /// What may be wrong with a generated line; nothing, for a well-formed flat line without
    /// duplicate known keys and with every value of the type serde_json expects.
    #[derive(Debug, Clone, Copy)]
    struct Dirt {
        /// Known keys may come twice.
        duplicates: bool,
        /// Strings may hold raw control characters, bad escapes, lone surrogates, quotes.
        bad_strings: bool,
        /// Any value for any key: bad numbers, nested values, escaped keys.
        any_values: bool,
        /// The line may be cut, extended or broken.
        mutated: bool,
    }

    impl Dirt {
        fn clean(self) -> bool {
            !(self.duplicates || self.bad_strings || self.any_values || self.mutated)
        }
    }

    fn dirt() -> impl Strategy<Value = Dirt> {
        let flag = || proptest::bool::weighted(0.25);
        (flag(), flag(), flag(), flag()).prop_map(
            |(duplicates, bad_strings, any_values, mutated)| Dirt {
                duplicates,
                bad_strings,
                any_values,
                mutated,
            },
        )
    }

    /// The line built from the choices.
    fn line(dirt: Dirt, entries: &[Entry], mutation: usize) -> String {
        let mut text = String::from("{");
        let mut known = Vec::new();
        let mut first = true;
        for (key, value, pieces, space) in entries {
            let space = pick(SPACES, *space);
            let key_choices = STRING_KEYS.len() + 1 + OTHER_KEYS.len() + ESCAPED_KEYS.len();
            let mut key = key % key_choices;
            if !dirt.any_values {
                key %= key_choices - ESCAPED_KEYS.len();
            }
            let name = match key {
                k if k < STRING_KEYS.len() => STRING_KEYS[k],
                k if k == STRING_KEYS.len() => "line_num",
                k if k < STRING_KEYS.len() + 1 + OTHER_KEYS.len() => {
                    OTHER_KEYS[k - STRING_KEYS.len() - 1]
                }
                k => ESCAPED_KEYS[k - STRING_KEYS.len() - 1 - OTHER_KEYS.len()],
            };
            let is_string_key = STRING_KEYS.contains(&name);
            if !dirt.duplicates && (is_string_key || name == "line_num") {
                if known.contains(&name) {
                    continue;
                }
                known.push(name);
            }
            let string = || {
                let mut body = String::from("\"");
                for &(piece, bad) in pieces {
                    body.push_str(if bad && dirt.bad_strings {
                        pick(BAD_PIECES, piece)
                    } else {
                        pick(PIECES, piece)
                    });
                }
                body.push('"');
                body
            };
            let value = if !dirt.any_values && is_string_key {
                string()
            } else if !dirt.any_values && name == "line_num" {
                pick(LINE_NUMS, *value).to_owned()
            } else {
                match value % if dirt.any_values { 5 } else { 3 } {
                    0 => string(),
                    1 => pick(NUMBERS, value / 5).to_owned(),
                    2 => pick(LITERALS, value / 5).to_owned(),
                    3 => pick(BAD_NUMBERS, value / 5).to_owned(),
                    _ => pick(NESTED, value / 5).to_owned(),
                }
            };
            if !first {
                text.push(',');
            }
            first = false;
            text.push_str(&format!("{space}\"{name}\"{space}:{space}{value}{space}"));
        }
        text.push('}');
        if dirt.mutated {
            match mutation % 4 {
                0 => {
                    let mut at = (mutation / 4) % (text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    text.truncate(at);
                }
                1 => text.push_str(" x"),
                2 => text.insert(text.len() - 1, ','),
                _ => text.insert(0, '['),
            }
        }
        text
    }

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::vec(
            (
                any::<usize>(),
                any::<usize>(),
                proptest::collection::vec((any::<usize>(), proptest::bool::weighted(0.2)), 0..6),
                any::<usize>(),
            ),
            0..14,
        )
    }

    proptest! {
        #![proptest_config(Config {
            cases: 2048,
            failure_persistence: None,
            ..Config::default()
        })]

        #[test]
        fn what_the_scanner_takes_it_reads_as_serde_json_does(
            dirt in dirt(),
            entries in entries(),
            mutation in any::<usize>(),
        ) {
            let text = line(dirt, &entries, mutation);
            let scanned = scan_jsonlog(&text);
            let read = serde_json::from_str::<JsonLine>(&text);
            if let Some(scanned) = &scanned {
                prop_assert!(read.is_ok(), "taken, but serde_json says {:?}: {}", read.err(), text);
                prop_assert_eq!(Some(scanned), read.as_ref().ok(), "{}", text);
            }
            if dirt.clean() {
                prop_assert!(read.is_ok(), "{}", text);
                prop_assert!(scanned.is_some(), "a well-formed flat line was left to serde_json: {}", text);
            }
        }
    }
}
