//! The batch executor: the transactions of several access providers in one database, sent as
//! one `BEGIN; <first access provider's statements>; <second's>; …; COMMIT;` batch (one round
//! trip).
//!
//! Each access provider keeps transactional semantics of its own within that batch: when a
//! statement fails the server aborts the batch, the failing access provider is found by
//! counting the statements that completed, it is reported in its feedback, and the batch is
//! sent again without it (after a `ROLLBACK` in the same round trip), so a batch converges in
//! failures + 1 round trips. A failure that is no statement's (the connection lost, the
//! session ended by the server with `FATAL`, `BEGIN` or `COMMIT` failing) fails every entry
//! still in the batch with that reason: nothing more can be sent on a session the server
//! ended, and the statement running then is not at fault.

use futures::StreamExt as _;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::apply::LOG_TARGET;
use super::plan::Failure;

/// One access provider's transaction in a batch: its index in the chunk, its statements.
pub type Entry = (usize, Vec<String>);

/// What was sent: statements (reads included) and round trips, for the closing event.
#[derive(Debug, Default)]
pub struct Counters {
    /// Statements sent (reads included).
    pub statements: u64,
    /// Queries and batches sent.
    pub round_trips: u64,
}

impl Counters {
    /// Counts `statements` sent in `round_trips`, here and in the step's [`crate::metrics`].
    pub fn sent(&mut self, statements: u64, round_trips: u64) {
        self.statements += statements;
        self.round_trips += round_trips;
        crate::metrics::sent(statements, round_trips);
    }

    /// Counts `n` read queries.
    pub fn reads(&mut self, n: u64) {
        self.sent(n, n);
    }
}

/// Sends the transactions of `entries` on `client` (connected to `database`) as one batch,
/// resending without each access provider that fails (see the module doc). One result per
/// entry.
pub async fn send(
    client: &Client,
    database: &str,
    entries: &[Entry],
    counters: &mut Counters,
) -> Vec<Result<(), Failure>> {
    let mut results: Vec<Result<(), Failure>> = entries.iter().map(|_| Ok(())).collect();
    let mut alive: Vec<usize> = (0..entries.len()).collect();
    let mut aborted = false;
    while !alive.is_empty() {
        let mut batch = String::new();
        if aborted {
            batch.push_str("ROLLBACK;\n");
        }
        batch.push_str("BEGIN;\n");
        let mut count = 0u64;
        for &k in &alive {
            for statement in &entries[k].1 {
                batch.push_str(statement);
                batch.push_str(";\n");
                count += 1;
            }
        }
        batch.push_str("COMMIT;");
        let offset = 1 + usize::from(aborted);
        counters.sent(count, 1);
        let Err((completed, error)) = run_counting(client, &batch).await else {
            aborted = false;
            break;
        };
        aborted = true;
        let failing = completed.checked_sub(offset).and_then(|mut index| {
            alive.iter().position(|&k| {
                let n = entries[k].1.len();
                if index < n {
                    true
                } else {
                    index -= n;
                    false
                }
            })
        });
        match failing {
            Some(position) if error.as_db_error().is_some() && !ends_session(&error) => {
                let k = alive.remove(position);
                tracing::warn!(
                    target: LOG_TARGET,
                    database,
                    error = %describe(&error),
                    "transaction rolled back"
                );
                results[k] = Err(format!(
                    "in database {database:?}: {}; the {} statements of this database were \
                     rolled back",
                    describe(&error),
                    entries[k].1.len()
                ));
            }
            _ => {
                // Not one access provider's statement (the connection failed, the server
                // ended the session, or BEGIN or COMMIT failed): the whole batch failed,
                // for the same reason.
                tracing::warn!(
                    target: LOG_TARGET,
                    database,
                    error = %describe(&error),
                    "batch rolled back"
                );
                let failure = format!(
                    "in database {database:?}: {}; the transaction was rolled back",
                    describe(&error)
                );
                for k in alive.drain(..) {
                    results[k] = Err(failure.clone());
                }
            }
        }
    }
    if aborted {
        // End the aborted transaction. Best effort: the connection may be gone, which the
        // next use reports.
        counters.sent(1, 1);
        let _ = client.batch_execute("ROLLBACK").await;
    }
    results
}

/// Whether the server ended the session with this error (`FATAL` or `PANIC`, e.g. the backend
/// was terminated): the statement running then is not at fault, and nothing more can be sent
/// on that connection.
fn ends_session(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::Severity;
    error
        .as_db_error()
        .and_then(|db| db.parsed_severity())
        .is_some_and(|severity| matches!(severity, Severity::Fatal | Severity::Panic))
}

/// Sends a batch with the simple query protocol; on failure, how many statements completed
/// before it (each completed statement sends one `CommandComplete`).
async fn run_counting(client: &Client, batch: &str) -> Result<(), (usize, tokio_postgres::Error)> {
    let stream = client.simple_query_raw(batch).await.map_err(|e| (0, e))?;
    let mut stream = std::pin::pin!(stream);
    let mut completed = 0;
    while let Some(message) = stream.next().await {
        match message {
            Ok(SimpleQueryMessage::CommandComplete(_)) => completed += 1,
            Ok(_) => {}
            Err(e) => return Err((completed, e)),
        }
    }
    Ok(())
}

/// The server's message (with detail and hint) or the driver's.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        None => error.to_string(),
    }
}
