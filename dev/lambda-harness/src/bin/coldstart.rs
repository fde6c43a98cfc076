//! `coldstart [--runs N] BINARY...`: the cold start of each function binary. For each run it
//! serves a fresh Runtime API on a local port, spawns the binary with `AWS_LAMBDA_RUNTIME_API`
//! and the environment a deployed function has (dummy AWS credentials, a region, the
//! `RAITO_*` variables; nothing is contacted), queues one Function URL `GET` (answered without
//! any network call: sync-access refuses it with `503` as no webhook secret is configured, the
//! other functions answer an `Unsupported` error) and measures the time from spawn to the
//! function's first `.../response` or `.../error` post, and to its first poll (`ready`).
//!
//! Prints one line per binary on stdout, in milliseconds over N runs (default 20):
//! `NAME median_ms min_ms max_ms ready_median_ms runs answer` (`answer`: `response` or
//! `error`). Progress and failures go to stderr; exit status 1 when a binary never answered.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use lambda_harness::{Outcome, RuntimeApi};

/// How long one start may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(20);

struct Run {
    answered: Duration,
    ready: Option<Duration>,
    answer: &'static str,
}

/// A Function URL `GET /` (payload format 2.0), as Lambda delivers it.
fn function_url_get() -> serde_json::Value {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {"host": "bench.lambda-url.us-east-1.on.aws", "user-agent": "coldstart"},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "bench",
            "domainName": "bench.lambda-url.us-east-1.on.aws",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "coldstart"
            },
            "requestId": "coldstart",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1_767_225_600_000_u64
        },
        "isBase64Encoded": false
    })
}

async fn start_once(binary: &str, name: &str) -> Result<Run, String> {
    let runtime = RuntimeApi::start()
        .await
        .map_err(|e| format!("cannot serve the Runtime API: {e}"))?;
    let started = Instant::now();
    let mut function = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart")
        .env("AWS_ACCESS_KEY_ID", "coldstart")
        .env("AWS_SECRET_ACCESS_KEY", "coldstart")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RAITO_CONFIG_URI", "s3://coldstart/raito.yml")
        .env("RAITO_BUCKET", "coldstart")
        .env("RAITO_STAGING_PREFIX", "staged/")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e}"))?;
    let outcome = runtime.invoke(function_url_get(), TIMEOUT).await;
    let answered = started.elapsed();
    let ready = runtime.first_poll().map(|t| t.duration_since(started));
    let _ = function.kill().await;
    let answer = match outcome {
        Some(Outcome::Response(_)) => "response",
        Some(Outcome::Error(_)) => "error",
        None => {
            return Err(format!(
                "{name} did not answer within {} s{}",
                TIMEOUT.as_secs(),
                runtime
                    .init_error()
                    .map(|e| format!(" (init error: {e})"))
                    .unwrap_or_default()
            ));
        }
    };
    Ok(Run {
        answered,
        ready,
        answer,
    })
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => values.get(n / 2).copied(),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut runs = 20usize;
    if args.peek().is_some_and(|a| a == "--runs") {
        args.next();
        match args.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0) {
            Some(n) => runs = n,
            None => {
                eprintln!("coldstart: --runs needs a positive number");
                return ExitCode::FAILURE;
            }
        }
    }
    let binaries: Vec<String> = args.collect();
    if binaries.is_empty() {
        eprintln!("usage: coldstart [--runs N] BINARY...");
        return ExitCode::FAILURE;
    }
    let mut status = ExitCode::SUCCESS;
    for binary in &binaries {
        let name = std::path::Path::new(binary)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| binary.clone());
        let mut answered = Vec::with_capacity(runs);
        let mut ready = Vec::with_capacity(runs);
        let mut answer = "";
        for _ in 0..runs {
            match start_once(binary, &name).await {
                Ok(run) => {
                    answered.push(run.answered);
                    ready.extend(run.ready);
                    answer = run.answer;
                }
                Err(message) => {
                    eprintln!("coldstart: {message}");
                    status = ExitCode::FAILURE;
                    break;
                }
            }
        }
        let (Some(min), Some(max), Some(mid)) = (
            answered.iter().min().copied(),
            answered.iter().max().copied(),
            median(answered.clone()),
        ) else {
            continue;
        };
        let ready = median(ready).map(millis).unwrap_or_else(|| "?".into());
        println!(
            "{name} {} {} {} {ready} {} {answer}",
            millis(mid),
            millis(min),
            millis(max),
            answered.len()
        );
    }
    status
}
