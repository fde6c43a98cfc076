//! The data source (metadata) sync as an AWS Lambda function: build the environment once,
//! then run `raito_common::function::sync_metadata` for every invocation.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use raito_common::function::{self, Environment};

#[tokio::main]
async fn main() -> Result<(), Error> {
    function::init_logging();
    let env = Environment::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deadline = function::deadline_from_epoch_ms(event.context.deadline);
        let env = &env;
        async move {
            function::sync_metadata(env, event.payload, deadline)
                .await
                .map_err(|e| Diagnostic {
                    error_type: e.kind().to_owned(),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
