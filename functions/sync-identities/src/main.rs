//! The identity store sync (users and groups) as an AWS Lambda function; everything but the
//! choice of step lives in `raito_common::function`.

// The handler's future (a run's steps, each measured, then its metrics and run record) nests
// deeper than the default query depth in a release build of the function alone.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    raito_common::function::serve(raito_common::step::Step::IdentityStore).await
}
