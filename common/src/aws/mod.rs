//! AWS plumbing: one SDK configuration built from the environment, and the clients built on
//! it. `AWS_ENDPOINT_URL` (e.g. a local moto server) is honoured by the SDK itself; S3 then
//! needs path-style addressing, since `localhost` cannot be a bucket subdomain.

pub mod secrets;

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration from the environment (region, credentials, endpoint override).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client for `config`, path-style whenever an endpoint override is present.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// A CloudWatch Logs client for `config` (the PostgreSQL usage sync reads RDS logs with it).
#[cfg(feature = "postgresql-usage")]
pub fn cloudwatch_logs_client(config: &SdkConfig) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(config)
}
