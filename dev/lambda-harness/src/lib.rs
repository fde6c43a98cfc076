//! A local AWS Lambda Runtime API (`/2018-06-01/runtime/...`), so tests can start a function's
//! real binary with `AWS_LAMBDA_RUNTIME_API` pointing here and invoke it exactly as Lambda
//! does: long-polled `invocation/next` with the request id, deadline and ARN headers, then
//! `response` or `error`. Never a dependency of shipped crates.
//!
//! [`deployment::Deployment`] builds a whole deployment around it (moto S3 and Secrets Manager,
//! the Raito stand-in) for end-to-end tests of the functions; [`access`] is the PostgreSQL side
//! of the access tests; [`sibling_binary`] finds another package's function binary.

pub mod access;
pub mod deployment;

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

/// A running Runtime API on a loopback port.
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

/// Locks a mutex, recovering from poisoning (a panicking test thread must not hide results).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
