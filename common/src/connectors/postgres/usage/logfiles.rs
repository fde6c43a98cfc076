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

/// The server's clock (epoch ms) and its log directory.
const SERVER_FACTS: &str = "\
SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint, current_setting('log_directory')";

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
    let facts = client
        .query_one(SERVER_FACTS, &[])
        .await
        .map_err(fail("reading the server's clock and log_directory"))?;
    let now_ms: i64 = facts.get(0);
    let directory: String = facts.get(1);
    let horizon_ms = (now_ms.div_euclid(1000) - i64::from(config.usage.settle_seconds)) * 1000;
    let from_ms = emitter.read_from_ms();
    let (pattern, format) = match config.usage.log_format {
        LogFormat::Json => ("%.json", LogFormat::Json),
        LogFormat::Csv => ("%.csv", LogFormat::Csv),
    };
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
        // Started mid-file: the first line is the tail of a record, dropped below.
        let mut skip_partial_line = offset > 0;
        let mut carry: Vec<u8> = Vec::new();
        let mut csv = CsvSplitter::default();
        let mut records = Vec::new();
        loop {
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
                    // chunks goes through `carry`. Records borrow from the line: most
                    // complete a statement and are dropped without a copy.
                    let mut data: &[u8] = chunk;
                    if skip_partial_line {
                        match memchr::memchr(b'\n', data) {
                            Some(end) => {
                                data = &data[end + 1..];
                                skip_partial_line = false;
                            }
                            None => data = &[],
                        }
                    }
                    match memchr::memrchr(b'\n', data) {
                        None => carry.extend_from_slice(data),
                        Some(last) => {
                            let (mut lines, tail) = data.split_at(last + 1);
                            if !carry.is_empty() {
                                // The line that started in the previous chunk.
                                let end = memchr::memchr(b'\n', lines).unwrap_or(lines.len() - 1);
                                carry.extend_from_slice(&lines[..end]);
                                lines = &lines[end + 1..];
                                let record = parse::jsonlog(&carry);
                                if emitter.offer(record, from_ms, horizon_ms).await? == Flow::Stop {
                                    return Ok(());
                                }
                                carry.clear();
                            }
                            let mut start = 0;
                            for end in memchr::memchr_iter(b'\n', lines) {
                                let line = &lines[start..end];
                                start = end + 1;
                                if line.is_empty() {
                                    continue;
                                }
                                let record = parse::jsonlog(line);
                                if emitter.offer(record, from_ms, horizon_ms).await? == Flow::Stop {
                                    return Ok(());
                                }
                            }
                            carry.extend_from_slice(tail);
                        }
                    }
                }
                LogFormat::Csv => {
                    csv.feed(chunk, &mut |fields| {
                        records.push(parse::csvlog(fields).map(parse::LogRecord::into_owned))
                    });
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
