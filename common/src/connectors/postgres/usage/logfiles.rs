//! The `logfiles` source: the server's own jsonlog or csvlog files, listed with
//! `pg_ls_logdir()` and read with `pg_read_binary_file()` in chunks (bytes, decoded here: a
//! chunk may split a UTF-8 character, which `pg_read_file` would refuse). Files last modified
//! before the read window are skipped; the others are read in modification order, records
//! from the window start to the settle horizon fed to the assembler.

use super::parse::{self, CsvSplitter};
use super::{Emitter, Flow};
use crate::connector::Error;
use crate::connectors::postgres::client;
use crate::connectors::postgres::config::LogFormat;

/// Bytes read per `pg_read_binary_file` call: 1 MiB.
const CHUNK_BYTES: i64 = 1 << 20;

/// The server's clock (epoch ms), its log directory, and the formats it logs in.
const SERVER_FACTS: &str = "\
SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint, current_setting('log_directory'),
       current_setting('log_destination')";

/// Log files of one format, oldest modification first: (name, size, modification epoch ms).
const LIST_FILES: &str = "\
SELECT name, size, (extract(epoch FROM modification) * 1000)::bigint
FROM pg_ls_logdir()
WHERE name LIKE $1
ORDER BY modification, name";

const READ_CHUNK: &str = "SELECT pg_read_binary_file($1, $2, $3, true)";

pub(super) async fn read(emitter: &mut Emitter<'_>) -> Result<(), Error> {
    let config = emitter.config;
    let client = client::connect(config, &config.database).await?;
    let endpoint = config.endpoint();
    let fail = |operation: &'static str| {
        let endpoint = endpoint.clone();
        move |e| client::classify(e, &endpoint, operation)
    };
    crate::metrics::sent(1, 1);
    let facts = client.query_one(SERVER_FACTS, &[]).await.map_err(fail(
        "reading the server's clock, log_directory and log_destination",
    ))?;
    let now_ms: i64 = facts.get(0);
    let directory: String = facts.get(1);
    let format = LogFormat::choose(config.usage.log_format, facts.get(2)).map_err(|message| {
        Error::InvalidRequest {
            connector: super::super::NAME,
            message,
        }
    })?;
    let horizon_ms = (now_ms.div_euclid(1000) - i64::from(config.usage.settle_seconds)) * 1000;
    let from_ms = emitter.read_from_ms();
    let pattern = match format {
        LogFormat::Json => "%.json",
        LogFormat::Csv => "%.csv",
    };
    crate::metrics::sent(1, 1);
    let files = client.query(LIST_FILES, &[&pattern]).await.map_err(fail(
        "listing log files with pg_ls_logdir() (grant pg_monitor)",
    ))?;
    let files: Vec<(String, i64, i64)> = files
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .filter(|(_, _, modified)| *modified >= from_ms)
        .collect();
    tracing::info!(
        files = files.len(),
        directory,
        format = format.name(),
        from_ms,
        horizon_ms,
        "reading log files"
    );

    for (name, size, _) in files {
        let path = format!("{directory}/{name}");
        let mut offset: i64 = match format {
            LogFormat::Json => seek(&client, &path, size, from_ms).await.map_err(fail(
                "reading a log file with pg_read_binary_file() (grant EXECUTE on it)",
            ))?,
            // A csvlog record may span lines: no safe place to start but the beginning.
            LogFormat::Csv => 0,
        };
        // Started mid-file: the first line is the tail of a record, dropped.
        let mut lines = LineSplitter::new(parse::MAX_RECORD_BYTES, offset > 0);
        let mut csv = CsvSplitter::default();
        let mut records = Vec::new();
        loop {
            crate::metrics::sent(1, 1);
            let row = client
                .query_one(READ_CHUNK, &[&path, &offset, &CHUNK_BYTES])
                .await
                .map_err(fail(
                    "reading a log file with pg_read_binary_file() (grant EXECUTE on it)",
                ))?;
            let chunk: Option<&[u8]> = row.get(0);
            let Some(chunk) = chunk else {
                break; // removed since it was listed
            };
            if chunk.is_empty() {
                break;
            }
            offset += chunk.len() as i64;
            match format {
                LogFormat::Json => {
                    // Lines are read from the chunk in place; only a line split across two
                    // chunks is carried. Records borrow from the line: most complete a
                    // statement and are dropped without a copy.
                    let mut data: &[u8] = chunk;
                    while let Some(line) = lines.next(&mut data) {
                        let record = parse::jsonlog(line);
                        if emitter.offer(record, from_ms, horizon_ms).await? == Flow::Stop {
                            emitter.counts.long_records += lines.take_skipped();
                            return Ok(());
                        }
                    }
                    emitter.counts.long_records += lines.take_skipped();
                }
                LogFormat::Csv => {
                    csv.feed(chunk, &mut |fields| {
                        records.push(parse::csvlog(fields).map(parse::LogRecord::into_owned))
                    });
                    emitter.counts.long_records += csv.take_skipped();
                    for record in records.drain(..) {
                        if emitter.offer(record, from_ms, horizon_ms).await? == Flow::Stop {
                            return Ok(());
                        }
                    }
                }
            }
            if emitter.between_reads() == Flow::Stop {
                return Ok(());
            }
            if (chunk.len() as i64) < CHUNK_BYTES {
                break; // the end as of now; what is written later is the next run's
            }
        }
    }
    Ok(())
}

/// Splits a byte stream, chunk by chunk, into lines (without their `\n`; empty lines are left
/// out). A line split across chunks is carried from one chunk to the next; a line longer than
/// the cap is skipped (its bytes dropped as they come, up to its newline), counted and logged,
/// so that the carry never holds more than the cap: one huge statement (`SELECT '<300 MB>'`)
/// neither exhausts memory nor fails every later run.
struct LineSplitter {
    /// The longest line kept, in bytes.
    cap: usize,
    /// The start of a line that the next chunk completes.
    carry: Vec<u8>,
    /// `carry` was handed out as a line: cleared on the next call.
    carry_taken: bool,
    /// Dropping bytes up to the next newline.
    dropping: Option<Dropping>,
    /// Long lines skipped since [`Self::take_skipped`].
    skipped: u64,
}

/// Why a [`LineSplitter`] drops bytes.
enum Dropping {
    /// The tail of a line whose start was not read (reading started mid-file).
    Partial,
    /// A line over the cap, of this many bytes so far.
    Long(usize),
}

impl LineSplitter {
    /// A splitter keeping lines of up to `cap` bytes; `mid_line` when the stream starts inside
    /// a line (dropped, not counted).
    fn new(cap: usize, mid_line: bool) -> Self {
        Self {
            cap,
            carry: Vec::new(),
            carry_taken: false,
            dropping: mid_line.then_some(Dropping::Partial),
            skipped: 0,
        }
    }

    /// The next complete line, from the carry and `data` (the unread rest of the current
    /// chunk, advanced past it); `None` once `data` is used up, its incomplete last line
    /// carried to the next chunk (or dropped, when too long).
    fn next<'s, 'c: 's>(&'s mut self, data: &mut &'c [u8]) -> Option<&'s [u8]> {
        if self.carry_taken {
            self.carry.clear();
            self.carry_taken = false;
        }
        loop {
            if data.is_empty() {
                return None;
            }
            let Some(end) = memchr::memchr(b'\n', data) else {
                let tail = std::mem::take(data);
                match &mut self.dropping {
                    Some(Dropping::Partial) => {}
                    Some(Dropping::Long(length)) => *length += tail.len(),
                    None if self.carry.len() + tail.len() > self.cap => {
                        self.skip(self.carry.len() + tail.len(), true);
                    }
                    None => self.carry.extend_from_slice(tail),
                }
                return None;
            };
            let line = &data[..end];
            *data = &data[end + 1..];
            match self.dropping.take() {
                Some(Dropping::Partial) => continue,
                Some(Dropping::Long(length)) => {
                    tracing::debug!(bytes = length + line.len(), "skipped a long log line");
                    continue;
                }
                None => {}
            }
            if self.carry.len() + line.len() > self.cap {
                self.skip(self.carry.len() + line.len(), false);
                continue;
            }
            if self.carry.is_empty() {
                if line.is_empty() {
                    continue;
                }
                return Some(line);
            }
            self.carry.extend_from_slice(line);
            self.carry_taken = true;
            return Some(&self.carry);
        }
    }

    /// Skips the line being read, `length` bytes so far; `open` when its end is still to come.
    fn skip(&mut self, length: usize, open: bool) {
        self.skipped += 1;
        tracing::warn!(
            bytes_so_far = length,
            cap = self.cap,
            "skipped a log line longer than the cap (its statement is not imported)"
        );
        self.carry.clear();
        if open {
            self.dropping = Some(Dropping::Long(length));
        }
    }

    /// Long lines skipped since the last call.
    fn take_skipped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }
}

/// Bytes read to sample a jsonlog file's time at an offset: 16 KiB.
const PROBE_BYTES: i64 = 16 * 1024;

/// Where to start reading a jsonlog file so as not to miss records logged at or after
/// `from_ms`: a binary search on byte offsets (one line is one record, and records are in time
/// order give or take the assembler's hold time, which `from_ms` already includes), so an
/// incremental run reads only the new end of a long file.
async fn seek(
    client: &tokio_postgres::Client,
    path: &str,
    size: i64,
    from_ms: i64,
) -> Result<i64, tokio_postgres::Error> {
    let (mut low, mut high) = (0i64, size);
    while high - low > CHUNK_BYTES {
        let middle = low + (high - low) / 2;
        crate::metrics::sent(1, 1);
        let probe: Option<Vec<u8>> = client
            .query_one(READ_CHUNK, &[&path, &middle, &PROBE_BYTES])
            .await?
            .get(0);
        let time = probe.as_deref().and_then(first_complete_line_time);
        match time {
            Some(time) if time < from_ms => low = middle,
            _ => high = middle,
        }
    }
    Ok(low)
}

/// The time of the first complete line after the first newline of `bytes`.
fn first_complete_line_time(bytes: &[u8]) -> Option<i64> {
    let start = bytes.iter().position(|b| *b == b'\n')? + 1;
    let rest = &bytes[start..];
    let end = rest.iter().position(|b| *b == b'\n')?;
    parse::jsonlog(&rest[..end])
        .ok()
        .map(|record| record.time_ms)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The lines of `data` fed in chunks of `chunk` bytes, the long lines skipped, and the
    /// largest capacity the carry had.
    fn split(splitter: &mut LineSplitter, data: &[u8], chunk: usize) -> (Vec<String>, u64, usize) {
        let mut lines = Vec::new();
        let mut skipped = 0;
        let mut capacity = 0;
        for piece in data.chunks(chunk) {
            let mut rest = piece;
            while let Some(line) = splitter.next(&mut rest) {
                lines.push(String::from_utf8(line.to_vec()).unwrap());
                capacity = capacity.max(splitter.carry.capacity());
            }
            capacity = capacity.max(splitter.carry.capacity());
            skipped += splitter.take_skipped();
        }
        (lines, skipped, capacity)
    }

    fn jsonlog_line(line_num: u64, statement: &str) -> String {
        serde_json::json!({
            "timestamp": "2026-11-22 05:56:07.961 UTC",
            "user": "alice",
            "dbname": "appdb",
            "session_id": "6b0283f7.47b6",
            "line_num": line_num,
            "error_severity": "LOG",
            "message": format!("statement: {statement}"),
        })
        .to_string()
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_and_the_lines_around_it_are_read() {
        let cap = parse::MAX_RECORD_BYTES;
        let before = jsonlog_line(1, "SELECT 1");
        let long = jsonlog_line(2, &format!("SELECT '{}'", "x".repeat(2 << 20)));
        let after = jsonlog_line(3, "SELECT 3");
        let log = format!("{before}\n{long}\n{after}\n");
        for chunk in [CHUNK_BYTES as usize, 4093, 700 * 1024, 3 << 20, log.len()] {
            let mut splitter = LineSplitter::new(cap, false);
            let (lines, skipped, capacity) = split(&mut splitter, log.as_bytes(), chunk);
            assert_eq!(lines, [before.clone(), after.clone()], "chunks of {chunk}");
            assert_eq!(skipped, 1, "chunks of {chunk}");
            assert!(capacity < 2 * cap, "chunks of {chunk}: carry of {capacity}");
            let records: Vec<_> = lines
                .iter()
                .map(|line| {
                    parse::jsonlog(line.as_bytes())
                        .unwrap()
                        .message
                        .into_owned()
                })
                .collect();
            assert_eq!(records, ["statement: SELECT 1", "statement: SELECT 3"]);
        }
    }

    #[test]
    fn lines_up_to_the_cap_are_kept_and_a_partial_first_line_is_dropped_uncounted() {
        let data = b"tail of a line\nabcdefghij\n\nabcdefghijk\n0123456789\nlong and unfinished";
        for chunk in 1..=data.len() {
            let mut splitter = LineSplitter::new(10, true);
            let (lines, skipped, capacity) = split(&mut splitter, data, chunk);
            assert_eq!(lines, ["abcdefghij", "0123456789"], "chunks of {chunk}");
            assert_eq!(skipped, 2, "chunks of {chunk}");
            assert!(capacity < 20, "chunks of {chunk}");
        }
        let mut splitter = LineSplitter::new(10, false);
        let (lines, skipped, _) = split(&mut splitter, b"a\nb", 1);
        assert_eq!((lines, skipped), (vec!["a".to_owned()], 0));
        // The unfinished last line waits for the next chunk.
        let mut rest: &[u8] = b"\n";
        assert_eq!(splitter.next(&mut rest), Some(&b"b"[..]));
    }
}

/// Property tests of the jsonlog line splitter: any bytes, cut into chunks anywhere, give the
/// lines that a plain split on `\n` gives, the lines over the cap skipped and counted, empty
/// lines and the partial first line (reading from mid-file) left out; the carry stays within
/// about twice the cap. A failure prints the minimal input; nothing is written to disk.
#[cfg(test)]
mod properties {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use proptest::sample::Index;
    use proptest::test_runner::Config;

    use super::*;

    /// What the splitter must give for `data`: its lines and how many it skips.
    fn model(data: &[u8], cap: usize, mid_line: bool) -> (Vec<Vec<u8>>, u64) {
        let mut complete: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
        let tail = complete.pop().unwrap_or_default();
        let mut complete = complete.into_iter();
        if mid_line && complete.next().is_none() {
            // No newline at all: everything is the tail of a line whose start was not read.
            return (Vec::new(), 0);
        }
        let mut lines = Vec::new();
        let mut skipped = 0;
        for line in complete {
            if line.len() > cap {
                skipped += 1;
            } else if !line.is_empty() {
                lines.push(line.to_vec());
            }
        }
        // The unfinished last line waits for the next chunk, unless it is already too long.
        if tail.len() > cap {
            skipped += 1;
        }
        (lines, skipped)
    }

    proptest! {
        #![proptest_config(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        })]

        #[test]
        fn lines_do_not_depend_on_where_the_chunks_are_cut(
            data in proptest::collection::vec(
                prop_oneof![3 => any::<u8>(), 1 => Just(b'\n')],
                0..300,
            ),
            cuts in proptest::collection::vec(any::<Index>(), 0..10),
            cap in prop_oneof![0usize..40, Just(parse::MAX_RECORD_BYTES)],
            mid_line in any::<bool>(),
        ) {
            let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(data.len() + 1)).collect();
            at.extend([0, data.len()]);
            at.sort_unstable();
            let mut splitter = LineSplitter::new(cap, mid_line);
            let (mut lines, mut skipped) = (Vec::new(), 0);
            for pair in at.windows(2) {
                let mut rest = &data[pair[0]..pair[1]];
                while let Some(line) = splitter.next(&mut rest) {
                    lines.push(line.to_vec());
                    prop_assert!(splitter.carry.capacity() <= (2 * cap).max(8));
                }
                prop_assert!(rest.is_empty());
                prop_assert!(splitter.carry.capacity() <= (2 * cap).max(8));
                skipped += splitter.take_skipped();
            }
            prop_assert_eq!((lines, skipped), model(&data, cap, mid_line));
        }
    }
}
