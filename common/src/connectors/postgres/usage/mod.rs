//! The PostgreSQL usage sync: who ran which statement on which data objects, read from the
//! server's statement log.
//!
//! # Sources (`pg-usage-source`)
//! - **`logfiles`** (self-managed servers): the server's own log files, read over SQL with
//!   `pg_ls_logdir()` and `pg_read_binary_file()` in chunks of 1 MiB (never a whole file in
//!   memory), `jsonlog` or `csvlog` per `pg-usage-log-format` (unset: the one the server's
//!   `log_destination` names, `jsonlog` first; a format it does not write is an error, never
//!   a run that finds no files). A record over
//!   [`parse::MAX_RECORD_BYTES`] (a statement with a huge literal) is skipped, logged and
//!   counted (`skipped_long_records`), and reading goes on. Server settings:
//!   `logging_collector = on`, `log_destination` including `jsonlog` (or `csvlog`),
//!   `log_timezone = 'UTC'` (or any numeric offset: zone abbreviations are ambiguous), and
//!   what to log: `log_statement = 'all'` (add `log_min_duration_statement = 0` for end times),
//!   or pgaudit (`shared_preload_libraries = 'pgaudit'`, `pgaudit.log = 'read, write, ddl,
//!   role'`, `pgaudit.log_rows = on` for row counts). Least privilege for `pg-user`:
//!   ```sql
//!   GRANT pg_monitor TO raito;   -- pg_ls_logdir()
//!   -- in the pg-database database (functions belong to a database):
//!   GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO raito;
//!   -- so the sync's own catalog queries are not logged:
//!   ALTER ROLE raito SET log_statement = 'none';
//!   ALTER ROLE raito SET log_min_duration_statement = -1;
//!   ALTER ROLE raito SET pgaudit.log = 'none';  -- with pgaudit
//!   ```
//!   (A `log_directory` outside the data directory also needs `pg_read_server_files`.)
//! - **`cloudwatch`** (Amazon RDS and Aurora): the log group the instance or cluster exports
//!   its `postgresql` log to (`EnableCloudwatchLogsExports: [postgresql]`), read page by page
//!   with `FilterLogEvents`, in RDS's stderr format (`%t:%r:%u@%d:[%p]:`, or the longer
//!   prefix ending `%c:%q%a:`). Parameter group: `log_statement = all` or pgaudit as above
//!   (`rds.force_admin_logging_level` is not needed). IAM: `logs:FilterLogEvents` on the log
//!   group. The catalog is still read over SQL (to resolve names), which needs only `CONNECT`.
//!
//! # Statements
//! One statement per logged statement ([`assemble`]): user (the session user), success or
//! the server's error, the query text (cut at [`MAX_QUERY_CHARS`] characters; the literal
//! after `PASSWORD` in role statements is masked, see [`redact_passwords`]), start time,
//! end time (start + the logged duration, else the start), rows (pgaudit `log_rows`).
//! Accessed data objects come from parsing the SQL ([`sql`]) and resolving the names against
//! each database's catalog ([`catalog`]), named exactly as the metadata sync names them.
//! A statement the parser cannot read is kept, without accessed objects, its `error` saying
//! [`UNPARSED`]; the number of such statements is logged at the end of the run.
//!
//! # External ids
//! The anchor log record's identity, stable across runs: `<session_id>:<session_line_num>`
//! from log files (session ids are unique per server; line numbers count per log destination,
//! so switching between jsonlog and csvlog changes them), `<log stream>:<event id>` from
//! CloudWatch Logs.
//!
//! # Incremental runs
//! A run reads records from `max(since, now − pg-usage-window-days)` minus [`assemble::HOLD_MS`]
//! (so late records find their statement again), pushes statements with
//! `start_time > since` and older than `now − pg-usage-settle-seconds` (the current second
//! never: it may still be written), in start order, and honours
//! [`UsageRequest::deadline`](crate::connector::UsageRequest) at a second boundary.
//! Statements of the sync's own connections (`application_name` `raito-sync` as `pg-user`)
//! are left out.

pub mod assemble;
pub mod catalog;
mod cloudwatch;
mod logfiles;
pub mod parse;
mod redact;

use foldhash::HashMap;
use tracing::Instrument;

use super::config::{Config, UsageSource};
use crate::connector::{Error, Sink, UsageRequest};
use crate::model::usage::{AccessedDataObject, Statement, UNPARSED};
use crate::usage_sql as sql;
use assemble::{Assembler, Draft};
use catalog::Catalog;
pub use redact::redact_passwords;

/// Query texts longer than this many characters are cut (the accessed objects still come from
/// the whole text): 16,384.
pub const MAX_QUERY_CHARS: usize = 16_384;

/// Runs the usage sync of `config` for `request` into `sink`.
pub async fn sync(
    config: &Config,
    request: &UsageRequest,
    sink: &mut dyn Sink<Statement>,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let window_start = now_s - i64::from(config.usage.window_days) * 86_400;
    let since = request.since.unwrap_or(i64::MIN).max(window_start - 1);
    let mut emitter = Emitter {
        config,
        since,
        deadline: request.deadline,
        sink,
        catalogs: HashMap::default(),
        assembler: Assembler::default(),
        analyses: sql::AnalysisCache::new(
            sql::Dialect::PostgreSql,
            sql::AnalysisCache::DEFAULT_CAPACITY,
        ),
        last_pushed: None,
        stopped: false,
        counts: Counts::default(),
    };
    let span = tracing::info_span!("usage", since);
    let result = async {
        match config.usage.source {
            UsageSource::LogFiles => logfiles::read(&mut emitter).await,
            UsageSource::CloudWatch => cloudwatch::read(&mut emitter, now_s).await,
        }
    }
    .instrument(span)
    .await;
    result?;
    emitter.finish().await?;
    let c = &emitter.counts;
    let (parse_cache_hits, parsed_shapes) = emitter.analyses.hits_and_misses();
    tracing::info!(
        records = c.records,
        unreadable_records = c.unreadable,
        skipped_long_records = c.long_records,
        statements = c.statements,
        parsed = c.statements - c.unparsed,
        unparsed = c.unparsed,
        accessed_objects = c.accessed,
        unresolved_names = c.unresolved,
        parse_cache_hits,
        parsed_shapes,
        stopped_at_deadline = emitter.stopped,
        last_start_time = emitter.last_pushed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "usage sync read the log"
    );
    Ok(())
}

/// What a run saw, for its closing log event.
#[derive(Debug, Default)]
struct Counts {
    records: u64,
    unreadable: u64,
    statements: u64,
    unparsed: u64,
    accessed: u64,
    unresolved: u64,
    /// Log records over [`parse::MAX_RECORD_BYTES`], skipped.
    long_records: u64,
}

/// Whether a source should go on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Shared by both sources: records in, statements out (assembled, filtered by time, mapped,
/// pushed), with the deadline contract.
struct Emitter<'a> {
    config: &'a Config,
    /// Push only statements that started after this (epoch seconds).
    since: i64,
    deadline: Option<tokio::time::Instant>,
    sink: &'a mut dyn Sink<Statement>,
    /// Per database; `None` when the catalog could not be read (logged once).
    catalogs: HashMap<String, Option<Catalog>>,
    assembler: Assembler,
    /// Statement shapes already parsed.
    analyses: sql::AnalysisCache,
    last_pushed: Option<i64>,
    stopped: bool,
    counts: Counts,
}

impl Emitter<'_> {
    /// The first log time (epoch ms) a source needs to read from.
    fn read_from_ms(&self) -> i64 {
        self.since.saturating_add(1).saturating_mul(1000) - assemble::HOLD_MS
    }

    /// Takes one record that a source read (or could not read), and pushes the statements
    /// that became ready. Records outside `from_ms..horizon_ms` and records of the sync itself
    /// are dropped.
    async fn offer(
        &mut self,
        record: Result<parse::LogRecord<'_>, parse::RecordError>,
        from_ms: i64,
        horizon_ms: i64,
    ) -> Result<Flow, Error> {
        // The common case (a record that completes a statement, or that nothing is ready
        // after) stays synchronous: no future is built per record.
        if self.take(record, from_ms, horizon_ms) {
            self.push_ready().await
        } else {
            Ok(self.between_reads())
        }
    }

    /// Feeds one record to the assembler; whether statements are ready to go.
    fn take(
        &mut self,
        record: Result<parse::LogRecord<'_>, parse::RecordError>,
        from_ms: i64,
        horizon_ms: i64,
    ) -> bool {
        let record = match record {
            Ok(record) if record.time_ms < from_ms || record.time_ms >= horizon_ms => {
                return false;
            }
            Ok(record) => record,
            Err(error) => {
                self.unreadable(&error);
                return false;
            }
        };
        self.counts.records += 1;
        if record.application == "raito-sync" && record.user == self.config.user {
            return false;
        }
        self.assembler.push(record);
        self.assembler.has_ready()
    }

    /// Pushes the statements whose hold time has passed.
    async fn push_ready(&mut self) -> Result<Flow, Error> {
        while let Some(draft) = self.assembler.pop_ready() {
            if self.emit(draft).await? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(self.between_reads())
    }

    /// A record the source could not read: counted and logged, never fatal.
    fn unreadable(&mut self, error: &dyn std::fmt::Display) {
        self.counts.unreadable += 1;
        if self.counts.unreadable <= 5 {
            tracing::warn!(%error, "skipped an unreadable log record");
        }
    }

    /// Checked by sources between reads. A run past its deadline with nothing pushed yet goes
    /// on to its first second of statements: every run makes progress, even when reaching
    /// `since` in the log takes longer than the time it was given (stopping there would leave
    /// the next run in the same place).
    fn between_reads(&mut self) -> Flow {
        if self.stopped {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| tokio::time::Instant::now() >= deadline)
    }

    /// End of the source: every statement still held goes out (unless the run stopped).
    async fn finish(&mut self) -> Result<(), Error> {
        while !self.stopped
            && let Some(draft) = self.assembler.pop()
        {
            if self.emit(draft).await? == Flow::Stop {
                break;
            }
        }
        Ok(())
    }

    async fn emit(&mut self, draft: Draft) -> Result<Flow, Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut start = draft.start_ms.div_euclid(1000);
        if start <= self.since || draft.query.is_empty() {
            return Ok(Flow::Continue);
        }
        if let Some(last) = self.last_pushed {
            if start > last && self.past_deadline() {
                self.stopped = true;
                return Ok(Flow::Stop);
            }
            // Records written more than the hold time out of order: keep the order promise.
            start = start.max(last);
        }
        let statement = self.statement(draft, start).await?;
        self.sink.push(statement).await?;
        self.counts.statements += 1;
        self.last_pushed = Some(start);
        Ok(Flow::Continue)
    }

    async fn statement(&mut self, draft: Draft, start: i64) -> Result<Statement, Error> {
        let mut accessed = Vec::new();
        let mut unresolved = 0;
        let mut error = draft.error;
        match self.analyses.analyze(&draft.query) {
            Ok(touched) => {
                if !touched.is_empty()
                    && let Some(catalog) = self.catalog(&draft.database).await?
                {
                    for item in touched.iter() {
                        match catalog.resolve(&draft.user, item) {
                            Some(object) => {
                                let entry = AccessedDataObject {
                                    data_object: object,
                                    global_permission: item.permission,
                                };
                                if !accessed.contains(&entry) {
                                    accessed.push(entry);
                                }
                            }
                            None => unresolved += 1,
                        }
                    }
                }
            }
            Err(message) => {
                self.counts.unparsed += 1;
                let note = format!("{UNPARSED}{message}");
                error = if error.is_empty() {
                    note
                } else {
                    format!("{error}; {note}")
                };
            }
        }
        self.counts.unresolved += unresolved;
        self.counts.accessed += accessed.len() as u64;
        let success = !error.starts_with("ERROR");
        let end = draft
            .end_ms
            .map(|end| end.div_euclid(1000).max(start))
            .unwrap_or(start);
        Ok(Statement {
            external_id: draft.key,
            user: draft.user,
            success,
            status: if success { "SUCCESS" } else { "FAILED" }.to_owned(),
            query: truncate(redact_passwords(draft.query)),
            error,
            start_time: start,
            end_time: end,
            rows: draft.rows.unwrap_or_default(),
            accessed_data_objects: accessed,
            ..Default::default()
        })
    }

    /// The catalog of `database`, read on first use. A database the sync cannot read (dropped,
    /// no CONNECT, excluded) gives statements without accessed objects.
    async fn catalog(&mut self, database: &str) -> Result<Option<&Catalog>, Error> {
        if !self.catalogs.contains_key(database) {
            let catalog = if database.is_empty()
                || self.config.excluded_databases.iter().any(|d| d == database)
            {
                None
            } else {
                // Boxed: connecting is a large future, and this one is part of every
                // record's (moved around once per record) when it is inlined.
                match Box::pin(Catalog::load(self.config, database)).await {
                    Ok(catalog) => Some(catalog),
                    // The server is unreachable: the run cannot go on.
                    Err(error @ Error::Connect { .. }) => return Err(error),
                    Err(error) => {
                        tracing::warn!(database, %error, "cannot read the catalog: statements of this database get no accessed objects");
                        None
                    }
                }
            };
            self.catalogs.insert(database.to_owned(), catalog);
        }
        Ok(self.catalogs.get(database).and_then(Option::as_ref))
    }
}

fn truncate(mut query: String) -> String {
    if query.len() <= MAX_QUERY_CHARS {
        return query; // fewer bytes than the limit: fewer characters too
    }
    if let Some((index, _)) = query.char_indices().nth(MAX_QUERY_CHARS) {
        query.truncate(index);
    }
    query
}
