//! Raito's signed webhooks, received on their own Lambda function (with its own Function URL,
//! concurrency and permissions): checked, queued for the function of each step they name, and
//! answered at once; everything lives in `raito_common::function`.

// The receiver's future (config read, routing, queueing in S3) nests deeper than the default.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    raito_common::function::serve_webhooks().await
}
