//! A local AWS Lambda Runtime API (`/2018-06-01/runtime/...`), so tests can start a function's
//! real binary with `AWS_LAMBDA_RUNTIME_API` pointing here and invoke it exactly as Lambda
//! does: long-polled `invocation/next` with the request id, deadline and ARN headers, then
//! `response` or `error`. Never a dependency of shipped crates.
//!
//! [`deployment::Deployment`] builds a whole deployment around it (moto S3 and Secrets Manager,
//! the Raito stand-in) for end-to-end tests of the functions; [`access`] is the PostgreSQL side
//! of the access tests; [`events::BucketEvents`] delivers the bucket's events to a function
//! through moto's EventBridge, as the deployed rules do; [`sibling_binary`] finds another
//! package's function binary.

pub mod access;
pub mod deployment;
pub mod events;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// The path of the binary `binary` of the workspace package `package`, built next to the running
/// executable: a test executable lives in `target/<profile>/deps/`, the workspace's binaries in
/// `target/<profile>/` (the same directory for a binary such as `trigger-latency`). For a test
/// that runs another package's function, which `env!("CARGO_BIN_EXE_...")` cannot name (it
/// knows only its own package's binaries). `cargo nextest run --workspace` (and `cargo test
/// --workspace`) builds every binary of the workspace before running a test; with `-p` only,
/// the binary is the one built last, which may be older than the sources.
///
/// # Panics
/// When the binary is not there (`build it first: cargo build -p <package>`), or its path is not
/// UTF-8 (the processes of the harness are started by `&str` paths).
pub fn sibling_binary(package: &str, binary: &str) -> String {
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("the path of the running executable is unknown: {e}"));
    let mut dir = exe
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    if dir.file_name().is_some_and(|name| name == "deps") {
        dir.pop();
    }
    let path: PathBuf = dir.join(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{binary} is not at {}: build it first: cargo build -p {package}",
        path.display()
    );
    path.into_os_string()
        .into_string()
        .unwrap_or_else(|path| panic!("{binary}'s path is not UTF-8: {}", path.to_string_lossy()))
}

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response`: the handler's JSON result.
    Response(Value),
    /// `POST .../error` or `.../init/error`: the error document (`errorType`, `errorMessage`).
    Error(Value),
}

struct Pending {
    id: String,
    payload: Value,
    deadline_ms: u64,
}

#[derive(Clone)]
struct Shared {
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<Value>>>,
    first_poll: Arc<Mutex<Option<Instant>>>,
}

/// A running Runtime API on a loopback port. A clone is the same API (for a task that invokes
/// it, as [`events::BucketEvents`] does).
#[derive(Clone)]
pub struct RuntimeApi {
    address: String,
    sender: mpsc::UnboundedSender<Pending>,
    shared: Shared,
}

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:test";

impl RuntimeApi {
    /// Serves on 127.0.0.1 on a free port until dropped with the runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            queue: Arc::new(tokio::sync::Mutex::new(receiver)),
            waiting: Arc::default(),
            init_error: Arc::default(),
            first_poll: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            sender,
            shared,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// When the function first asked for an invocation (its cold start is over).
    pub fn first_poll(&self) -> Option<Instant> {
        *lock(&self.shared.first_poll)
    }

    /// The error the function reported while initialising, if any.
    pub fn init_error(&self) -> Option<Value> {
        lock(&self.shared.init_error).clone()
    }

    /// Invokes the function with `payload` and a deadline `timeout` from now, and waits for
    /// its answer (at most `timeout` plus a grace second; `None` if it never answered).
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> Option<Outcome> {
        // Unique across every Runtime API of the process, as Lambda's request ids are unique:
        // the holder of a lease is named by it, and a restarted function must not find its
        // dead predecessor's id again.
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = format!(
            "request-{}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
            + timeout.as_millis() as u64;
        let (done, answer) = oneshot::channel();
        lock(&self.shared.waiting).insert(id.clone(), done);
        self.sender
            .send(Pending {
                id,
                payload,
                deadline_ms,
            })
            .ok()?;
        tokio::time::timeout(timeout + Duration::from_secs(1), answer)
            .await
            .ok()?
            .ok()
    }
}

impl RuntimeApi {
    /// Invokes the function with `payload` as a schedule or a direct call would, then does
    /// what the bucket's EventBridge rule does for its answer: a schedule only queues a
    /// trigger per target (`{"queued": [{"target", "key"}], "woken": [...]}`), and each key's
    /// `Object Created` event is an invocation of its own, delivered here one after another
    /// (as with a reserved concurrency of 1). An answer that queued nothing is answered as it
    /// came. Else, when every run passed: `{"targets": [every run's targets], "queued": <the
    /// schedule's answer>}`; when one failed, its error as it came; when several did,
    /// `{"errors": [each error], "targets": [every run's targets, the failed ones read from
    /// their errors]}`. `None` when an invocation never answered.
    pub async fn run(&self, payload: Value, bucket: &str, timeout: Duration) -> Option<Outcome> {
        let answer = self.invoke(payload, timeout).await?;
        let keys = queued_keys(&answer);
        if keys.is_empty() {
            return Some(answer);
        }
        let mut targets = Vec::new();
        let mut errors = Vec::new();
        for key in keys {
            let summary = match self.invoke(object_created(bucket, &key), timeout).await? {
                Outcome::Response(summary) => summary,
                Outcome::Error(error) => {
                    // `N of M targets failed: <the run summary>`.
                    let summary = error["errorMessage"]
                        .as_str()
                        .and_then(|m| m.split_once(": "))
                        .and_then(|(_, json)| serde_json::from_str(json).ok())
                        .unwrap_or(Value::Null);
                    errors.push(error);
                    summary
                }
            };
            targets.extend(summary["targets"].as_array().cloned().unwrap_or_default());
        }
        Some(match errors.len() {
            0 => Outcome::Response(
                serde_json::json!({"targets": targets, "queued": answer_value(answer)}),
            ),
            1 => Outcome::Error(errors.remove(0)),
            _ => Outcome::Error(serde_json::json!({"errors": errors, "targets": targets})),
        })
    }
}

fn answer_value(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(value) | Outcome::Error(value) => value,
    }
}

/// The keys a schedule's answer queued or woke, in order; none for any other answer.
pub fn queued_keys(answer: &Outcome) -> Vec<String> {
    let Outcome::Response(answer) = answer else {
        return Vec::new();
    };
    ["queued", "woken"]
        .iter()
        .filter_map(|field| answer.get(*field).and_then(Value::as_array))
        .flatten()
        .filter_map(|entry| entry["key"].as_str().map(str::to_owned))
        .collect()
}

/// The event S3 sends through EventBridge when `key` is written in `bucket` (what wakes a sync
/// function for a queued trigger, or sync-access for an access file).
pub fn object_created(bucket: &str, key: &str) -> Value {
    serde_json::json!({"version": "0", "id": "e-1", "detail-type": "Object Created", "source": "aws.s3",
           "account": "000000000000", "time": "2026-11-22T06:00:00Z", "region": "us-east-1",
           "resources": [format!("arn:aws:s3:::{bucket}")],
           "detail": {"version": "0", "bucket": {"name": bucket},
                      "object": {"key": key, "size": 1}, "reason": "PutObject"}})
}

/// Locks a mutex, recovering from poisoning (a panicking test thread must not hide results).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn next(State(shared): State<Shared>) -> Response {
    lock(&shared.first_poll).get_or_insert_with(Instant::now);
    let pending = shared.queue.lock().await.recv().await;
    let Some(pending) = pending else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let header = |value: &str| HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static(""));
    headers.insert("Lambda-Runtime-Aws-Request-Id", header(&pending.id));
    headers.insert(
        "Lambda-Runtime-Deadline-Ms",
        header(&pending.deadline_ms.to_string()),
    );
    headers.insert("Lambda-Runtime-Invoked-Function-Arn", header(FUNCTION_ARN));
    headers.insert(
        "Lambda-Runtime-Trace-Id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    (headers, axum::Json(pending.payload)).into_response()
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match lock(&shared.waiting).remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&shared, &id, Outcome::Response(value))
}

async fn error(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&shared, &id, Outcome::Error(value))
}

async fn init_error(State(shared): State<Shared>, body: axum::body::Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some(serde_json::from_slice(&body).unwrap_or(Value::Null));
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "build it first: cargo build -p no-such-package")]
    fn a_missing_sibling_binary_says_how_to_build_it() {
        super::sibling_binary("no-such-package", "no-such-binary");
    }
}
