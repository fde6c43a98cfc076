//! PostgreSQL log records, from the three formats the sources deliver: `jsonlog` and `csvlog`
//! files (PostgreSQL 15's fields), and the stderr lines Amazon RDS and Aurora export to
//! CloudWatch Logs (`%t:%r:%u@%d:[%p]:` or the longer `%m:%r:%u@%d:[%p]:%l:%e:%s:%v:%x:%c:%q%a:`
//! prefix). Also the pgaudit `AUDIT:` payload and the messages that carry statements.

use std::borrow::Cow;

use serde::Deserialize;

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
#[derive(Deserialize, Default)]
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

/// Reads the keys of [`JsonLine`] from one jsonlog object; `None` when the line is not a flat
/// JSON object of strings and scalars (the caller then lets `serde_json` read it). String
/// values are borrowed from the line unless they hold escapes; the values of other keys are
/// skipped without being decoded.
fn scan_jsonlog(text: &str) -> Option<JsonLine<'_>> {
    let bytes = text.as_bytes();
    let mut line = JsonLine::default();
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
        let (key_end, key_escaped) = string_end(bytes, i + 1)?;
        if key_escaped {
            return None;
        }
        let key = &text[i + 1..key_end];
        i = skip_space(bytes, key_end + 1);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_space(bytes, i + 1);
        if *bytes.get(i)? == b'"' {
            let (end, escaped) = string_end(bytes, i + 1)?;
            let slot = match key {
                "timestamp" => Some(&mut line.timestamp),
                "user" => Some(&mut line.user),
                "dbname" => Some(&mut line.dbname),
                "session_id" => Some(&mut line.session_id),
                "error_severity" => Some(&mut line.error_severity),
                "state_code" => Some(&mut line.state_code),
                "message" => Some(&mut line.message),
                "statement" => Some(&mut line.statement),
                "application_name" => Some(&mut line.application_name),
                // A number as a string: serde_json's error says so.
                "line_num" => return None,
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = if escaped {
                    // Rare (multi-line statements, quotes): the whole literal, decoded exactly.
                    Cow::Owned(serde_json::from_str::<String>(&text[i..=end]).ok()?)
                } else {
                    Cow::Borrowed(&text[i + 1..end])
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
            match key {
                // `parse` would also take `+9`, which is not JSON.
                "line_num" if is_json_number(value) => line.line_num = value.parse().ok()?,
                "line_num" => return None,
                _ if matches!(value, "true" | "false" | "null") || is_json_number(value) => {}
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
/// whether the string holds escapes.
fn string_end(bytes: &[u8], mut from: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        let i = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[i] == b'"' {
            return Some((i, escaped));
        }
        escaped = true;
        from = i + 2;
    }
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
