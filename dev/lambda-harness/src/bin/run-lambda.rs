//! `run-lambda FUNCTION_BINARY PAYLOAD_JSON [TIMEOUT_SECONDS]`: runs a function's binary as
//! Lambda would (its environment plus the Lambda variables, `AWS_LAMBDA_RUNTIME_API` pointing
//! at a local Runtime API), invokes it with the payload, and, when the answer queued targets (a
//! schedule), delivers each queued trigger's bucket event to it as EventBridge would (the bucket
//! is `RAITO_BUCKET`), one after another; prints the answer (the runs' summaries) as JSON on
//! stdout, and the function's logs and its cold start on stderr. Exit status 0 when the function answered a response,
//! 1 when it answered an error or none. For the demo and manual runs.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use lambda_harness::{Outcome, RuntimeApi};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(binary), Some(payload)) = (args.first(), args.get(1)) else {
        eprintln!("usage: run-lambda FUNCTION_BINARY PAYLOAD_JSON [TIMEOUT_SECONDS]");
        return ExitCode::FAILURE;
    };
    let payload: serde_json::Value = match serde_json::from_str(payload) {
        Ok(payload) => payload,
        Err(error) => {
            eprintln!("run-lambda: the payload is not JSON: {error}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_secs(args.get(2).and_then(|t| t.parse().ok()).unwrap_or(900));
    let runtime = match RuntimeApi::start().await {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("run-lambda: cannot serve the Runtime API: {error}");
            return ExitCode::FAILURE;
        }
    };
    let name = std::path::Path::new(binary)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let started = Instant::now();
    let mut function = match tokio::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .stdin(Stdio::null())
        // The function's logs (its stdout, as in Lambda) go to stderr: stdout is the answer.
        .stdout(Stdio::from(std::io::stderr()))
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!("run-lambda: cannot start {binary}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bucket = std::env::var("RAITO_BUCKET").unwrap_or_default();
    let outcome = runtime.run(payload, &bucket, timeout).await;
    let answered = started.elapsed();
    if let Some(first_poll) = runtime.first_poll() {
        eprintln!(
            "run-lambda: {name} ready {} ms after start; answered after {} ms",
            first_poll.duration_since(started).as_millis(),
            answered.as_millis()
        );
    }
    let _ = function.kill().await;
    match outcome {
        Some(Outcome::Response(value)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Some(Outcome::Error(value)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            ExitCode::FAILURE
        }
        None => {
            eprintln!(
                "run-lambda: {name} did not answer within {} s{}",
                timeout.as_secs(),
                runtime
                    .init_error()
                    .map(|e| format!(" (init error: {e})"))
                    .unwrap_or_default()
            );
            ExitCode::FAILURE
        }
    }
}
