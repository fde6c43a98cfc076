//! The trigger listener (Raito's own trigger channel, the websocket the Go CLI listens on) as
//! an AWS Lambda function: one at a time, started by a schedule, it queues every message for
//! the function of its step; everything lives in `raito_common::function`.

// The listener's future (lease, sign-in, websocket session, queueing in S3) nests deeper than
// the default.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    raito_common::function::serve_listener().await
}
