//! Access to the services the test command starts (`dev/test.sh`), with a loud failure naming
//! the command to run when one is missing.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};

const HOW_TO_START: &str = "start the test services with `eval \"$(dev/services.sh start)\"` \
     (or run the whole suite with `dev/test.sh`)";

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW_TO_START}"))
}

/// The base URL of the moto server, e.g. `http://127.0.0.1:5000`.
pub fn moto_url() -> String {
    required_env("RAITO_TEST_MOTO_URL")
}

/// An AWS SDK configuration pointing at the moto server, with test credentials.
pub fn moto_sdk_config() -> SdkConfig {
    let credentials =
        aws_sdk_secretsmanager::config::Credentials::new("test", "test", None, None, "moto");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .credentials_provider(
            aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(credentials),
        )
        .build()
}

/// Connection facts of the ephemeral PostgreSQL cluster (a superuser).
pub struct Postgres {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

pub fn postgres() -> Postgres {
    Postgres {
        host: required_env("RAITO_TEST_PG_HOST"),
        port: required_env("RAITO_TEST_PG_PORT")
            .parse()
            .expect("RAITO_TEST_PG_PORT is a port number"),
        user: required_env("RAITO_TEST_PG_USER"),
        password: required_env("RAITO_TEST_PG_PASSWORD"),
    }
}

/// A name unique to this test run, for databases, buckets and secrets.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}
