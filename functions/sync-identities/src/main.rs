//! The identity store sync (users and groups) as an AWS Lambda function; everything but the
//! choice of step lives in `raito_common::function`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    raito_common::function::serve(raito_common::step::Step::IdentityStore).await
}
