//! The SQL API routes. Each request passes, in order: the simulated latency and the fault
//! switches (503, 429), the route and method (404, 405 with an empty body), `Content-Type`
//! (415 unless absent or JSON), `User-Agent` and `Accept` (required), authentication (401),
//! then the payload (400 `390142`). A statement gets its handle at once; it runs in the
//! background (after `statement_delay`, bounded by its `timeout`) and the POST waits for it up
//! to `async_after` (202 beyond, or at once with `async=true`). Results stay under their
//! handle, for the user who ran them, until the stand-in stops.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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
use crate::exec;
use crate::model::Account;
use crate::result::{self, ResultData};
use crate::sql::{self, Statement};
use crate::{Counters, Faults, Options};

use request::{Context, Submission, context, parse_submission, prefix};

mod request;

/// How long a POST waits for its statement before answering 202, when `async_after` is unset.
const SNOWFLAKE_ASYNC_AFTER: Duration = Duration::from_secs(45);

enum Outcome {
    Rows(ResultData),
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
    pub account: Arc<Account>,
    /// The account's role grants, indexed once (the account does not change).
    access: Arc<exec::Access>,
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
            access: Arc::new(exec::Access::new(&account)),
            account: Arc::new(account),
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
            "KEYPAIR_JWT" => auth::check_jwt(&self.account, token, self.options.max_jwt_lifetime),
            "OAUTH" | "PROGRAMMATIC_ACCESS_TOKEN" => self
                .options
                .tokens
                .iter()
                .find(|(t, k, _)| !token.is_empty() && t == token && *k == kind)
                .and_then(|(_, _, user)| {
                    self.account
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
    shared.count(|c| {
        c.submitted += 1;
        *c.by_prefix
            .entry(prefix(&submission.statement))
            .or_default() += 1;
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
                if !matches!(**o, Outcome::Rows(_)));
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
    let prepared =
        sql::parse(&submission.statement, submission.statement_count).and_then(|(statement, _)| {
            Ok((
                statement,
                context(&shared.account, &shared.access, user, &submission)?,
            ))
        });
    match prepared {
        Err(error) => entry.finish(Outcome::Failed(error)),
        Ok((statement, context)) => {
            let nulls_as_text = flag("nullable") == Some(false);
            launch(
                &shared,
                &entry,
                statement,
                context,
                submission,
                nulls_as_text,
            );
        }
    }
    answer_when_done(&entry, wait).await
}

/// Runs the statement in the background: the delay, then the work on a blocking thread, all
/// within the statement's timeout.
fn launch(
    shared: &Arc<Shared>,
    entry: &Arc<Entry>,
    statement: Statement,
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
            let account = Arc::clone(&shared.account);
            let access = Arc::clone(&shared.access);
            let rows_per_partition = shared.options.rows_per_partition;
            let user = task_entry.user;
            let (query_history_latency, access_history_latency, grants_latency) = (
                shared.options.query_history_latency,
                shared.options.access_history_latency,
                shared.options.grants_latency,
            );
            tokio::task::spawn_blocking(move || {
                let usage = exec::UsageClock {
                    now: time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    query_history_latency,
                    access_history_latency,
                    grants_latency,
                };
                let session = exec::Session {
                    account: &account,
                    access: &access,
                    user: &account.users[user],
                    role: &context.role,
                    warehouse: context.warehouse.as_deref(),
                    database: context.database.as_deref(),
                    schema: context.schema.as_deref(),
                    bindings: &submission.bindings,
                    usage,
                };
                let output = exec::execute(&session, &statement)?;
                result::build(
                    output.columns,
                    output.rows,
                    rows_per_partition,
                    nulls_as_text,
                )
            })
            .await
        };
        let outcome = match tokio::time::timeout(Duration::from_secs(timeout), run).await {
            Ok(Ok(Ok(data))) => Outcome::Rows(data),
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
        Outcome::Rows(data) => result_set(entry, data),
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

fn result_set(entry: &Entry, data: &ResultData) -> Response {
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
    let Outcome::Rows(data) = &*outcome else {
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
