//! The SQL API routes. Each request passes, in order: the simulated latency and the fault
//! switches (503, 429), the route and method (404, 405 with an empty body), `Content-Type`
//! (415 unless absent or JSON), `User-Agent` and `Accept` (required), authentication (401),
//! then the payload (400 `390142`). A statement gets its handle at once; it runs in the
//! background (after `statement_delay`, bounded by its `timeout`) and the POST waits for it up
//! to `async_after` (202 beyond, or at once with `async=true`). Results stay under their
//! handle, for the user who ran them, until the stand-in stops.
//!
//! The account sits behind a read-write lock: a read statement runs under the read lock on a
//! consistent state (nothing is copied); a single write, and a multi-statement request whatever
//! its statements, take the write lock for all their statements, and the `Access` index is
//! rebuilt once at their end, or before a read that follows writes (see `exec::ddl`).
//!
//! Multi-statement requests (`parameters.MULTI_STATEMENT_COUNT` other than 1; 0 = any number):
//! the count is checked first (`000008`), then that the request has no `bindings` (`000002`)
//! and a warehouse (the request's or the user's default; `000606` otherwise), as Snowflake
//! requires. The statements then run in order, each under a handle of its own (GET answers its
//! result: rows for a read, one `status` row for a write or for BEGIN, COMMIT and ROLLBACK,
//! which do nothing more: every write commits on its own, as DDL and GRANT do in Snowflake). On
//! success the answer is one row `Multiple statements executed successfully.` in the column
//! `multiple statement execution`, with `statementHandles` listing every statement's handle.
//! When statement k fails (a syntax error included: each statement is parsed when its turn
//! comes), those before it stay executed, none after it runs, and the request answers 422
//! `100132`/`P0000` "Uncaught exception of type 'STATEMENT_ERROR' on line <k> at position 0 :
//! <the statement's message> [code <its code>, sqlState <its state>]", k counting statements
//! from 1. Snowflake does not document that message's format: a client must not parse it.
//! BEGIN, COMMIT and ROLLBACK alone (not in a multi-statement request) are `000002`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::auth::{self, Refusal};
use crate::error::SqlError;
use crate::exec::{self, State as Accounts};
use crate::model::Account;
use crate::result::{self, ColumnType, Kind, ResultData};
use crate::sql::{self, Piece, Statement};
use crate::{Counters, Faults, Options};

use request::{Context, Submission, context, parse_submission, prefix};

mod request;

/// How long a POST waits for its statement before answering 202, when `async_after` is unset.
const SNOWFLAKE_ASYNC_AFTER: Duration = Duration::from_secs(45);

enum Outcome {
    /// The result, and the handles of a multi-statement request's statements (empty for one
    /// statement).
    Rows(ResultData, Vec<String>),
    Failed(SqlError),
    Cancelled,
    TimedOut(SqlError),
}

#[derive(Clone)]
enum StatementState {
    Running,
    Done(Arc<Outcome>),
}

struct Entry {
    handle: String,
    user: usize,
    request_id: String,
    created_on: u128,
    state: watch::Sender<StatementState>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Entry {
    /// Records the outcome unless the statement already ended (a cancel or a timeout wins
    /// over a result that arrives after it).
    fn finish(&self, outcome: Outcome) {
        let outcome = Arc::new(outcome);
        self.state.send_if_modified(|state| {
            if matches!(state, StatementState::Running) {
                *state = StatementState::Done(Arc::clone(&outcome));
                true
            } else {
                false
            }
        });
    }

    fn current(&self) -> StatementState {
        self.state.borrow().clone()
    }

    fn status_url(&self) -> String {
        format!(
            "/api/v2/statements/{}?requestId={}",
            self.handle,
            encode(&self.request_id)
        )
    }
}

#[derive(Default)]
struct Store {
    by_handle: HashMap<String, Arc<Entry>>,
    /// (user, requestId) → the latest statement sent with it.
    by_request: HashMap<(usize, String), Arc<Entry>>,
}

pub(crate) struct Shared {
    /// The account and its role-grant index.
    state: RwLock<Accounts>,
    options: Options,
    pub faults: Faults,
    counters: Mutex<Counters>,
    texts: Mutex<Vec<String>>,
    store: Mutex<Store>,
    seed: u128,
    next_id: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Shared {
    pub fn new(account: Account, options: Options) -> Self {
        Shared {
            state: RwLock::new(Accounts::new(account)),
            options,
            faults: Faults::default(),
            counters: Mutex::new(Counters::default()),
            texts: Mutex::new(Vec::new()),
            store: Mutex::new(Store::default()),
            seed: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
            next_id: AtomicU64::new(0),
        }
    }

    pub fn counters(&self) -> Counters {
        lock(&self.counters).clone()
    }

    /// The state for reading. A panic while a request held the lock leaves what it had done:
    /// the stand-in goes on serving it.
    pub fn read(&self) -> RwLockReadGuard<'_, Accounts> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Accounts> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn statements(&self) -> Vec<String> {
        lock(&self.texts).clone()
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut lock(&self.counters));
    }

    /// A fresh UUID-shaped id (statement handles, request ids, error references).
    fn new_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let digest = Sha256::digest(format!("{}-{n}", self.seed));
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[13..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// The user a request authenticates as, by position in the account's users.
    fn authenticate(&self, headers: &HeaderMap) -> Result<usize, Refusal> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .trim();
        let kind = match headers
            .get("x-snowflake-authorization-token-type")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
        {
            Some(kind) => kind.to_uppercase(),
            // Without the header Snowflake inspects the token: a JWT is taken as one.
            None if token.split('.').count() == 3 => "KEYPAIR_JWT".to_owned(),
            None => "OAUTH".to_owned(),
        };
        match kind.as_str() {
            "KEYPAIR_JWT" => {
                auth::check_jwt(&self.read().account, token, self.options.max_jwt_lifetime)
            }
            "OAUTH" | "PROGRAMMATIC_ACCESS_TOKEN" => self
                .options
                .tokens
                .iter()
                .find(|(t, k, _)| !token.is_empty() && t == token && *k == kind)
                .and_then(|(_, _, user)| {
                    self.read()
                        .account
                        .users
                        .iter()
                        .position(|u| u.name == *user && !u.disabled)
                })
                .ok_or(Refusal::Token),
            _ => Err(Refusal::Token),
        }
    }

    /// Snowflake's 401 for a refused token, with a fresh reference in the message.
    fn refuse(&self, refusal: Refusal) -> Response {
        let (code, message) = match refusal {
            Refusal::Jwt => ("390144", "JWT token is invalid."),
            Refusal::Token => ("390303", "Invalid OAuth access token."),
        };
        let body = json!({"code": code, "message": format!("{message} [{}]", self.new_id())});
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }

    /// A new entry for a statement of `parent`'s multi-statement request, under a handle of its
    /// own (not under the request id, which names the parent).
    fn child(&self, parent: &Entry) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            handle: self.new_id(),
            user: parent.user,
            request_id: parent.request_id.clone(),
            created_on: now_ms(),
            state: watch::Sender::new(StatementState::Running),
            task: Mutex::new(None),
        });
        lock(&self.store)
            .by_handle
            .insert(entry.handle.clone(), Arc::clone(&entry));
        entry
    }

    fn find(&self, handle: &str, user: usize) -> Option<Arc<Entry>> {
        lock(&self.store)
            .by_handle
            .get(handle)
            .filter(|e| e.user == user)
            .cloned()
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v2/statements", post(submit))
        .route("/api/v2/statements/{handle}", get(status))
        .route("/api/v2/statements/{handle}/cancel", post(cancel))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), edge))
        .with_state(shared)
}

/// Latency and the fault switches, before anything else is looked at.
async fn edge(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if !shared.options.latency.is_zero() {
        tokio::time::sleep(shared.options.latency).await;
    }
    if shared.faults.take_unavailable() {
        shared.count(|c| c.unavailable += 1);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if shared.faults.take_token_refusal() {
        shared.count(|c| c.tokens_refused += 1);
        return shared.refuse(Refusal::Jwt);
    }
    if shared.faults.take_throttle() {
        shared.count(|c| c.throttled += 1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"code": "390505", "message": "Too many requests."})),
        )
            .into_response();
    }
    next.run(request).await
}

fn bad_payload() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"code": "390142", "message": "Incoming request does not contain a valid payload."})),
    )
        .into_response()
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `User-Agent` and `Accept` are required on every route. Snowflake documents them as
/// required without documenting the answer to their absence; the stand-in answers 400 (406
/// for an `Accept` that excludes JSON) so that a client that forgets them fails here.
fn check_headers(headers: &HeaderMap) -> Option<Response> {
    let present = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if present(header::USER_AGENT).is_none() {
        return Some(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"message": "The User-Agent header is required."})),
            )
                .into_response(),
        );
    }
    match present(header::ACCEPT) {
        None => Some(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"message": "The Accept header is required."})),
            )
                .into_response(),
        ),
        Some(accept)
            if !accept.split(',').any(|range| {
                matches!(
                    media_type(range).as_str(),
                    "application/json" | "application/*" | "*/*"
                )
            }) =>
        {
            Some(StatusCode::NOT_ACCEPTABLE.into_response())
        }
        Some(_) => None,
    }
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // No Content-Type means JSON; any other media type is refused.
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let json = content_type
            .to_str()
            .is_ok_and(|v| media_type(v) == "application/json");
        if !json {
            return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
        }
    }
    if let Some(refused) = check_headers(&headers) {
        return refused;
    }
    let user = match shared.authenticate(&headers) {
        Ok(user) => user,
        Err(refusal) => return shared.refuse(refusal),
    };
    let Some(submission) = parse_submission(&body) else {
        return bad_payload();
    };
    lock(&shared.texts).push(submission.statement.clone());
    let multi = submission.statement_count != 1;
    shared.count(|c| {
        c.submitted += 1;
        // A multi-statement request's statements are counted as they run.
        if !multi {
            *c.by_prefix
                .entry(prefix(&submission.statement))
                .or_default() += 1;
        }
    });
    let flag = |name: &str| params.get(name).map(|v| v.eq_ignore_ascii_case("true"));
    let wait = if flag("async") == Some(true) {
        None
    } else {
        Some(shared.options.async_after.unwrap_or(SNOWFLAKE_ASYNC_AFTER))
    };
    let request_id = params
        .get("requestId")
        .cloned()
        .unwrap_or_else(|| shared.new_id());
    if flag("retry") == Some(true) {
        let previous = lock(&shared.store)
            .by_request
            .get(&(user, request_id.clone()))
            .cloned();
        // A resend of a statement that has not failed is answered from the first run: a
        // running one is waited for, a finished one is not run again.
        if let Some(entry) = previous {
            let failed = matches!(entry.current(), StatementState::Done(ref o)
                if !matches!(**o, Outcome::Rows(..)));
            if !failed {
                return answer_when_done(&entry, wait).await;
            }
        }
    }
    let entry = Arc::new(Entry {
        handle: shared.new_id(),
        user,
        request_id: request_id.clone(),
        created_on: now_ms(),
        state: watch::Sender::new(StatementState::Running),
        task: Mutex::new(None),
    });
    {
        let mut store = lock(&shared.store);
        store
            .by_handle
            .insert(entry.handle.clone(), Arc::clone(&entry));
        store
            .by_request
            .insert((user, request_id), Arc::clone(&entry));
    }
    match prepare(&shared, user, &submission) {
        Err(error) => entry.finish(Outcome::Failed(error)),
        Ok((plan, context)) => {
            let nulls_as_text = flag("nullable") == Some(false);
            launch(&shared, &entry, plan, context, submission, nulls_as_text);
        }
    }
    answer_when_done(&entry, wait).await
}

/// What a request runs: one statement, or the statements of a multi-statement request.
enum Plan {
    Single(Box<Statement>),
    Multi(Vec<Piece>),
}

/// The checks before anything runs: the statement count and the grammar (of a single
/// statement), the session, and a multi-statement request's own rules.
fn prepare(
    shared: &Shared,
    user: usize,
    submission: &Submission,
) -> Result<(Plan, Context), SqlError> {
    let session = |shared: &Shared| {
        let state = shared.read();
        context(&state.account, &state.access, user, submission)
    };
    if submission.statement_count == 1 {
        let (statement, _) = sql::parse(&submission.statement, 1)?;
        return Ok((Plan::Single(Box::new(statement)), session(shared)?));
    }
    let pieces = sql::split(&submission.statement, submission.statement_count)?;
    if !submission.bindings.is_empty() {
        return Err(SqlError::unsupported(
            "bind variables in a multi-statement request",
        ));
    }
    let context = session(shared)?;
    if context.warehouse.is_none() {
        return Err(SqlError::no_warehouse());
    }
    Ok((Plan::Multi(pieces), context))
}

/// Runs the request in the background: the delay, then the work on a blocking thread, all
/// within its timeout.
fn launch(
    shared: &Arc<Shared>,
    entry: &Arc<Entry>,
    plan: Plan,
    context: Context,
    submission: Submission,
    nulls_as_text: bool,
) {
    let delay = shared.options.statement_delay + shared.faults.take_slow();
    let timeout = submission.timeout;
    let (shared, task_entry) = (Arc::clone(shared), Arc::clone(entry));
    let task = tokio::spawn(async move {
        let run = async {
            tokio::time::sleep(delay).await;
            shared.count(|c| c.executed += 1);
            let run = Run {
                shared: Arc::clone(&shared),
                parent: Arc::clone(&task_entry),
                context,
                submission,
                nulls_as_text,
                now: time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            };
            tokio::task::spawn_blocking(move || match plan {
                Plan::Single(statement) => run.single(&statement).map(|data| (data, Vec::new())),
                Plan::Multi(pieces) => run.multi(&pieces),
            })
            .await
        };
        let outcome = match tokio::time::timeout(Duration::from_secs(timeout), run).await {
            Ok(Ok(Ok((data, children)))) => Outcome::Rows(data, children),
            Ok(Ok(Err(error))) => Outcome::Failed(error),
            Ok(Err(join)) => Outcome::Failed(SqlError::internal(format!(
                "the stand-in failed running the statement: {join}"
            ))),
            Err(_) => Outcome::TimedOut(SqlError::timed_out(timeout)),
        };
        task_entry.finish(outcome);
    });
    *lock(&entry.task) = Some(task.abort_handle());
}

/// One request being run, on a blocking thread.
struct Run {
    shared: Arc<Shared>,
    /// The request's entry (a multi-statement request's statements get entries of their own).
    parent: Arc<Entry>,
    context: Context,
    submission: Submission,
    nulls_as_text: bool,
    /// When the request runs, in epoch nanoseconds (ACCOUNT_USAGE latency counts to it).
    now: i128,
}

impl Run {
    fn single(&self, statement: &Statement) -> Result<ResultData, SqlError> {
        let text = &self.submission.statement;
        self.shared.count(|c| c.statements_executed += 1);
        if let Some(error) = self.shared.faults.take_statement_failure(text) {
            return Err(error);
        }
        match statement {
            Statement::Transaction(kind) => Err(SqlError::unsupported(&format!(
                "{} outside a multi-statement request",
                kind.keyword()
            ))),
            Statement::Write(write) => {
                let mut state = self.shared.write();
                let mut writer = self.writer(&mut state);
                let message = writer.execute(write)?;
                drop(writer);
                self.status(message)
            }
            read => self.read(&self.shared.read(), read, &self.submission.bindings),
        }
    }

    /// Runs the statements in order under the write lock; answers the parent's result and the
    /// statements' handles, or the failure of the first that fails.
    fn multi(&self, pieces: &[Piece]) -> Result<(ResultData, Vec<String>), SqlError> {
        let mut state = self.shared.write();
        let mut writer = self.writer(&mut state);
        let mut handles = Vec::with_capacity(pieces.len());
        for (k, piece) in pieces.iter().enumerate() {
            self.shared.count(|c| {
                c.statements_executed += 1;
                *c.by_prefix.entry(prefix(&piece.text)).or_default() += 1;
            });
            let child = self.shared.child(&self.parent);
            handles.push(child.handle.clone());
            match self.piece(&mut writer, piece) {
                Ok(data) => child.finish(Outcome::Rows(data, Vec::new())),
                Err(error) => {
                    let failure = SqlError::multi_statement(k + 1, &error);
                    child.finish(Outcome::Failed(error));
                    return Err(failure);
                }
            }
        }
        drop(writer);
        let data = result::build(
            vec![ColumnType::new("multiple statement execution", Kind::Text)],
            std::iter::once(vec![Some(
                "Multiple statements executed successfully.".to_owned(),
            )]),
            self.shared.options.rows_per_partition,
            self.nulls_as_text,
        )?;
        Ok((data, handles))
    }

    fn piece(&self, writer: &mut exec::Writer<'_>, piece: &Piece) -> Result<ResultData, SqlError> {
        if let Some(error) = self.shared.faults.take_statement_failure(&piece.text) {
            return Err(error);
        }
        let (statement, _) = piece.parsed.clone()?;
        match &statement {
            Statement::Transaction(_) => self.status(exec::EXECUTED.to_owned()),
            Statement::Write(write) => {
                let message = writer.execute(write)?;
                self.status(message)
            }
            // A multi-statement request has no bindings.
            read => self.read(writer.state(), read, &[]),
        }
    }

    fn writer<'s>(&self, state: &'s mut Accounts) -> exec::Writer<'s> {
        exec::Writer::new(
            state,
            &self.context.role,
            self.context.database.as_deref(),
            self.context.schema.as_deref(),
        )
    }

    fn read(
        &self,
        state: &Accounts,
        statement: &Statement,
        bindings: &[Option<exec::Binding>],
    ) -> Result<ResultData, SqlError> {
        let options = &self.shared.options;
        let session = exec::Session {
            account: &state.account,
            access: &state.access,
            user: &state.account.users[self.parent.user],
            role: &self.context.role,
            warehouse: self.context.warehouse.as_deref(),
            database: self.context.database.as_deref(),
            schema: self.context.schema.as_deref(),
            bindings,
            usage: exec::UsageClock {
                now: self.now,
                query_history_latency: options.query_history_latency,
                access_history_latency: options.access_history_latency,
                grants_latency: options.grants_latency,
            },
        };
        let output = exec::execute(&session, statement)?;
        result::build(
            output.columns,
            output.rows,
            options.rows_per_partition,
            self.nulls_as_text,
        )
    }

    /// A write's answer: one row in the column `status`.
    fn status(&self, message: String) -> Result<ResultData, SqlError> {
        result::build(
            vec![ColumnType::new("status", Kind::Text)],
            std::iter::once(vec![Some(message)]),
            self.shared.options.rows_per_partition,
            self.nulls_as_text,
        )
    }
}

/// Waits up to `wait` (`None`: not at all) for the statement, then answers as a POST does.
async fn answer_when_done(entry: &Entry, wait: Option<Duration>) -> Response {
    if let Some(wait) = wait {
        let mut receiver = entry.state.subscribe();
        let done = receiver.wait_for(|s| matches!(s, StatementState::Done(_)));
        // Still running after `wait` is answered with 202 below.
        let _ = tokio::time::timeout(wait, done).await;
    }
    match entry.current() {
        StatementState::Running => in_progress(entry),
        StatementState::Done(outcome) => match &*outcome {
            Outcome::TimedOut(error) => failure(StatusCode::REQUEST_TIMEOUT, entry, error),
            other => finished(entry, other),
        },
    }
}

fn in_progress(entry: &Entry) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "code": "333334",
            "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
            "statementHandle": entry.handle,
            "statementStatusUrl": entry.status_url(),
        })),
    )
        .into_response()
}

fn failure(status: StatusCode, entry: &Entry, error: &SqlError) -> Response {
    (
        status,
        axum::Json(json!({
            "code": error.code,
            "sqlState": error.sql_state,
            "message": error.message,
            "statementHandle": entry.handle,
            "statementStatusUrl": entry.status_url(),
            "createdOn": entry.created_on,
        })),
    )
        .into_response()
}

/// The answer of a finished statement as its POST or first-partition GET gives it.
fn finished(entry: &Entry, outcome: &Outcome) -> Response {
    match outcome {
        Outcome::Rows(data, children) => result_set(entry, data, children),
        Outcome::Failed(error) | Outcome::TimedOut(error) => {
            failure(StatusCode::UNPROCESSABLE_ENTITY, entry, error)
        }
        Outcome::Cancelled => failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            entry,
            &SqlError::cancelled(),
        ),
    }
}

/// `Link` between the partitions of a result, as the SQL API sends it (first, prev, next,
/// last); none for a single partition.
fn link(handle: &str, partition: usize, count: usize) -> Option<HeaderValue> {
    if count <= 1 {
        return None;
    }
    let url =
        |n: usize, rel: &str| format!("</api/v2/statements/{handle}?partition={n}>; rel=\"{rel}\"");
    let mut links = vec![url(0, "first")];
    if partition > 0 {
        links.push(url(partition - 1, "prev"));
    }
    if partition + 1 < count {
        links.push(url(partition + 1, "next"));
    }
    links.push(url(count - 1, "last"));
    HeaderValue::from_str(&links.join(",")).ok()
}

fn result_set(entry: &Entry, data: &ResultData, children: &[String]) -> Response {
    let first = data
        .partitions
        .first()
        .map_or(&b"[]"[..], |p| p.body.as_slice());
    let text = |s: &str| Value::String(s.to_owned()).to_string();
    let mut body = Vec::with_capacity(first.len() + 4096);
    body.extend_from_slice(b"{\"resultSetMetaData\":");
    body.extend_from_slice(data.metadata().to_string().as_bytes());
    body.extend_from_slice(b",\"data\":");
    body.extend_from_slice(first);
    if !children.is_empty() {
        body.extend_from_slice(b",\"statementHandles\":");
        body.extend_from_slice(json!(children).to_string().as_bytes());
    }
    body.extend_from_slice(
        format!(
            ",\"code\":\"090001\",\"statementStatusUrl\":{},\"requestId\":{},\"sqlState\":\"00000\",\"statementHandle\":{},\"message\":\"Statement executed successfully.\",\"createdOn\":{}}}",
            text(&format!("{}&partition=0", entry.status_url())),
            text(&entry.request_id),
            text(&entry.handle),
            entry.created_on
        )
        .as_bytes(),
    );
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(link) = link(&entry.handle, 0, data.partitions.len()) {
        headers.insert(header::LINK, link);
    }
    response
}

async fn status(
    State(shared): State<Arc<Shared>>,
    Path(handle): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = check_headers(&headers) {
        return refused;
    }
    let user = match shared.authenticate(&headers) {
        Ok(user) => user,
        Err(refusal) => return shared.refuse(refusal),
    };
    let partition = match params.get("partition").map(|p| p.parse::<u64>()) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(_)) => return bad_payload(),
    };
    let Some(entry) = shared.find(&handle, user) else {
        return not_found(&handle);
    };
    let outcome = match entry.current() {
        StatementState::Running => {
            shared.count(|c| c.polls += 1);
            return in_progress(&entry);
        }
        StatementState::Done(outcome) => outcome,
    };
    if partition == 0 {
        shared.count(|c| c.polls += 1);
        return finished(&entry, &outcome);
    }
    shared.count(|c| c.partitions += 1);
    let Outcome::Rows(data, _) = &*outcome else {
        return finished(&entry, &outcome);
    };
    let index = usize::try_from(partition).unwrap_or(usize::MAX);
    let Some(part) = data.partitions.get(index) else {
        let error = SqlError::no_such_partition(partition, data.partitions.len());
        return failure(StatusCode::UNPROCESSABLE_ENTITY, &entry, &error);
    };
    if shared.faults.take_partition_failure(partition) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = Response::new(Body::from(part.body.clone()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    if let Some(link) = link(&entry.handle, index, data.partitions.len()) {
        headers.insert(header::LINK, link);
    }
    response
}

fn not_found(handle: &str) -> Response {
    let error = SqlError::statement_not_found(handle);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "code": error.code,
            "sqlState": error.sql_state,
            "message": error.message,
            "statementHandle": handle,
        })),
    )
        .into_response()
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = check_headers(&headers) {
        return refused;
    }
    let user = match shared.authenticate(&headers) {
        Ok(user) => user,
        Err(refusal) => return shared.refuse(refusal),
    };
    shared.count(|c| c.cancels += 1);
    let Some(entry) = shared.find(&handle, user) else {
        return not_found(&handle);
    };
    entry.finish(Outcome::Cancelled);
    if let Some(task) = lock(&entry.task).take() {
        task.abort();
    }
    let error = SqlError::cancelled();
    (
        StatusCode::OK,
        axum::Json(json!({
            "code": error.code,
            "sqlState": error.sql_state,
            "message": error.message,
            "statementHandle": entry.handle,
            "statementStatusUrl": entry.status_url(),
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_first_prev_next_and_last() {
        let value = link("h", 1, 3).map(|v| v.to_str().unwrap_or_default().to_owned());
        assert_eq!(
            value.as_deref(),
            Some(
                "</api/v2/statements/h?partition=0>; rel=\"first\",</api/v2/statements/h?partition=0>; rel=\"prev\",</api/v2/statements/h?partition=2>; rel=\"next\",</api/v2/statements/h?partition=2>; rel=\"last\""
            )
        );
        assert_eq!(link("h", 0, 1), None);
    }
}
