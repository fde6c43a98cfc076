//! A local stand-in for Snowflake's SQL API v2: one account in memory, reached over
//! `POST /api/v2/statements`, `GET /api/v2/statements/{handle}[?partition=N]` and
//! `POST /api/v2/statements/{handle}/cancel` exactly as Snowflake documents them, answering the
//! read statements of a metadata, identity, usage and access sync and executing the writes of an
//! access apply (roles, database roles, GRANT and REVOKE, masking and row access policies and
//! their attachments, alone or in multi-statement requests) with Snowflake's semantics, and
//! refusing everything else with the error Snowflake gives (see `sql` for the grammar). It is strict on
//! purpose: what Snowflake refuses (a lower-case `sub`, a JWT living over an hour, a SHOW of
//! more than 10,000 rows, a view queried without a warehouse, an object the role cannot see)
//! it refuses the same way, so a connector that passes here does not fail there first.
//!
//! Modules:
//! - `model`: the account a test builds (databases, users, roles and their grants, masking and
//!   row access policies and what they are attached to, tags, query history…); `grants`:
//!   building roles and grants with Snowflake's checks.
//! - `generate`: a large deterministic account, and a query history over it, for benchmarks.
//! - `auth`: key-pair JWTs (fingerprints, claims, RS256) and opaque tokens.
//! - `sql`: the statement grammar; `exec`: running it as the session's role (`exec::ddl`: the
//!   writes of roles and grants; `exec::policies`: masking and row access policies, SHOW …
//!   POLICIES, DESCRIBE … POLICY and POLICY_REFERENCES).
//! - `result`: cell encodings, `rowType`, partitions (later ones gzip-compressed).
//! - `http`: the routes, statement handles, async execution, timeouts, cancels, faults.
//!
//! Never a dependency of the shipped crates.

mod auth;
mod error;
mod exec;
mod generate;
mod grants;
mod http;
mod model;
mod result;
mod sql;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use auth::{fingerprint, key_body};
pub use error::SqlError;
pub use generate::{generate, generate_query_history};
pub use grants::ModelError;
pub use model::{
    AccessRecord, Account, Column, Database, DatabaseRole, ExecutionStatus, Grant, Grantee,
    Integration, ObjectKind, Policy, PolicyKind, PolicyName, QueryRecord, Role, RoleGrant, Routine,
    RowAccessAttachment, Schema, Share, Table, TableKind, TagReference, User, Warehouse,
    snowflake_json,
};

/// How the stand-in behaves beyond the account it serves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Added to every request before it is looked at (a network round trip). Default 0.
    pub latency: Duration,
    /// A statement still running after this answers 202 (`333334`) and is polled; `None`:
    /// Snowflake's 45 s.
    pub async_after: Option<Duration>,
    /// How long every statement runs before its result is ready. Default 0.
    pub statement_delay: Duration,
    /// Rows per result partition. Snowflake sizes partitions by bytes (its documented example
    /// has 12,344 rows in the first); the default, 10,000, is of that order. Tests set it small.
    pub rows_per_partition: usize,
    /// Opaque tokens accepted as `Bearer`: (token, token type `OAUTH` or
    /// `PROGRAMMATIC_ACCESS_TOKEN`, user name).
    pub tokens: Vec<(String, String, String)>,
    /// The longest a key-pair JWT may live (`exp - iat`). Default 3600 s, Snowflake's limit.
    pub max_jwt_lifetime: Duration,
    /// How long after its `end_time` a query appears in `ACCOUNT_USAGE.QUERY_HISTORY`, by the
    /// real clock when the statement runs. Default 45 min, Snowflake's documented latency.
    pub query_history_latency: Duration,
    /// The same for its row of `ACCOUNT_USAGE.ACCESS_HISTORY` (before that, a LEFT JOIN to it
    /// gives NULLs). Default 3 h, Snowflake's documented latency.
    pub access_history_latency: Duration,
    /// How long after its `created_on` a grant appears in `ACCOUNT_USAGE.GRANTS_TO_ROLES` and
    /// `GRANTS_TO_USERS`. Default 2 h, Snowflake's documented latency. SHOW GRANTS has none.
    pub grants_latency: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            latency: Duration::ZERO,
            async_after: None,
            statement_delay: Duration::ZERO,
            rows_per_partition: 10_000,
            tokens: Vec::new(),
            max_jwt_lifetime: Duration::from_secs(3600),
            query_history_latency: Duration::from_secs(45 * 60),
            access_history_latency: Duration::from_secs(3 * 3600),
            grants_latency: Duration::from_secs(2 * 3600),
        }
    }
}

/// Faults a test switches on; each fires for the next requests it names, then turns off.
#[derive(Debug, Default)]
pub struct Faults {
    throttle: AtomicU32,
    unavailable: AtomicU32,
    refuse_tokens: AtomicU32,
    failing_partitions: Mutex<Vec<u64>>,
    slow: Mutex<(u32, Duration)>,
    /// (substring, statements left to fail).
    failing_statements: Mutex<Vec<(String, u32)>>,
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Faults {
    /// The next `n` requests (any route) get 429 `{"code":"390505","message":"Too many requests."}`.
    pub fn throttle_next(&self, n: u32) {
        self.throttle.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests (any route) get 503 with an empty body.
    pub fn unavailable_next(&self, n: u32) {
        self.unavailable.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests are refused as Snowflake refuses an expired token: 401 `390144`,
    /// whatever token they carry.
    pub fn refuse_next_tokens(&self, n: u32) {
        self.refuse_tokens.store(n, Ordering::SeqCst);
    }

    pub(crate) fn take_token_refusal(&self) -> bool {
        take(&self.refuse_tokens)
    }

    /// The next GET of partition `partition` (of any statement) gets a 500, once.
    pub fn fail_partition_once(&self, partition: u64) {
        self.failing_partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(partition);
    }

    /// The next `n` statements run `delay` longer.
    pub fn slow_next(&self, n: u32, delay: Duration) {
        *self.slow.lock().unwrap_or_else(PoisonError::into_inner) = (n, delay);
    }

    pub(crate) fn take_throttle(&self) -> bool {
        take(&self.throttle)
    }

    pub(crate) fn take_unavailable(&self) -> bool {
        take(&self.unavailable)
    }

    pub(crate) fn take_partition_failure(&self, partition: u64) -> bool {
        let mut failing = self
            .failing_partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match failing.iter().position(|&p| p == partition) {
            Some(i) => {
                failing.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// The next `times` statements whose text contains `substring` (case-sensitive) fail with
    /// `003001`/`42501` "SQL access control error: Insufficient privileges to operate on …"
    /// before they run: a statement of a single-statement request, or a statement of a
    /// multi-statement request (which then fails there, with those before it executed and none
    /// after it run). Several calls add several rules; a statement takes the first that matches.
    pub fn fail_statement_matching(&self, substring: &str, times: u32) {
        self.failing_statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((substring.to_owned(), times));
    }

    pub(crate) fn take_statement_failure(&self, text: &str) -> Option<SqlError> {
        let mut rules = self
            .failing_statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let rule = rules
            .iter_mut()
            .find(|(substring, left)| *left > 0 && text.contains(substring.as_str()))?;
        rule.1 -= 1;
        Some(SqlError::insufficient_privileges(&format!(
            "'{}' (a fault injected by the test)",
            rule.0
        )))
    }

    pub(crate) fn take_slow(&self) -> Duration {
        let mut slow = self.slow.lock().unwrap_or_else(PoisonError::into_inner);
        if slow.0 == 0 {
            return Duration::ZERO;
        }
        slow.0 -= 1;
        slow.1
    }
}

/// What the stand-in has seen, for tests to assert on round trips.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `POST /api/v2/statements` with a valid payload (retries included).
    pub submitted: u64,
    /// Requests actually run (a `retry=true` resend of a finished one is not), whatever their
    /// number of statements.
    pub executed: u64,
    /// Statements run: the statement of a single-statement request, and every statement of a
    /// multi-statement request that ran (BEGIN and COMMIT included, the failing one included,
    /// those after it not).
    pub statements_executed: u64,
    /// `GET /api/v2/statements/{handle}` without a partition or with partition 0.
    pub polls: u64,
    /// `GET …?partition=N` with N ≥ 1.
    pub partitions: u64,
    /// `POST …/cancel`.
    pub cancels: u64,
    /// 429s sent.
    pub throttled: u64,
    /// 503s sent.
    pub unavailable: u64,
    /// 401s sent by [`Faults::refuse_next_tokens`].
    pub tokens_refused: u64,
    /// Statements by their first keyword (`SELECT`, `GRANT`), or first two for SHOW, DESCRIBE,
    /// CREATE, ALTER and DROP (`SHOW USERS`, `CREATE ROLE`, `CREATE MASKING`, `ALTER TABLE`):
    /// a single-statement request when it is submitted (retries included), each statement of a
    /// multi-statement request when it runs.
    pub by_prefix: BTreeMap<String, u64>,
}

/// A running stand-in; dropping it stops the server.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`, no trailing slash: the "account URL" a client talks to.
    pub url: String,
    shared: Arc<http::Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// The account identifier a JWT names (`ORG-NAME`, upper-case).
    pub fn account_identifier(&self) -> String {
        self.with_account(Account::identifier)
    }

    /// Reads the account as the statements run so far left it (a consistent state: no request
    /// writes while `f` runs, so `f` should be quick).
    pub fn with_account<R>(&self, f: impl FnOnce(&Account) -> R) -> R {
        f(&self.shared.read().account)
    }

    /// A copy of the account as the statements run so far left it.
    pub fn account(&self) -> Account {
        self.with_account(Account::clone)
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    pub fn requests(&self) -> Counters {
        self.shared.counters()
    }

    /// Every request's statement text received, in order (a multi-statement request's text
    /// whole).
    pub fn statements(&self) -> Vec<String> {
        self.shared.statements()
    }

    /// Stops serving (open connections are dropped).
    pub async fn shutdown(mut self) {
        self.server.abort();
        // The task was aborted: its JoinError says so and is of no interest.
        let _ = (&mut self.server).await;
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves `account` on 127.0.0.1 on a free port.
///
/// # Panics
/// When no loopback port can be bound: a test cannot go on without its stand-in (`serve`
/// takes a listener for callers that want the error).
pub async fn start(account: Account, options: Options) -> StandIn {
    match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(listener) => serve(listener, account, options),
        Err(e) => panic!("snowflake-standin: cannot bind 127.0.0.1:0: {e}"),
    }
}

/// Serves `account` on `listener` until the returned `StandIn` is dropped or shut down.
pub fn serve(listener: tokio::net::TcpListener, account: Account, options: Options) -> StandIn {
    let url = listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    let shared = Arc::new(http::Shared::new(account, options));
    let app = http::router(Arc::clone(&shared));
    let server = tokio::spawn(async move {
        // serve ends only when the listener fails; the stand-in then stops answering, which
        // the test sees as connection errors.
        let _ = axum::serve(listener, app).await;
    });
    StandIn {
        url,
        shared,
        server,
    }
}
