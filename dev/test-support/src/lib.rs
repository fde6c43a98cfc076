//! Access to the services the test command starts (`dev/test.sh`, `dev/services.sh`), shared
//! by every crate's tests. A missing service is a loud failure naming the command that starts
//! it, never a silent skip.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_config::{BehaviorVersion, Region, SdkConfig};

const HOW_TO_START: &str = "start the test services with `eval \"$(dev/services.sh start)\"` \
     (or run the whole suite with `dev/test.sh`)";

/// The value of an environment variable the test services set, or a panic saying how to
/// start them.
pub fn required_env(name: &str) -> String {
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
    /// Host (loopback).
    pub host: String,
    /// Port.
    pub port: u16,
    /// A superuser.
    pub user: String,
    /// Its password.
    pub password: String,
}

/// The test PostgreSQL cluster.
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

/// A superuser connection to `database` of the test cluster.
pub async fn pg_admin(database: &str) -> tokio_postgres::Client {
    let pg = postgres();
    pg_as(&pg.user, &pg.password, database).await
}

/// The name of every database of the test cluster but `keep`: what a target's
/// `pg-excluded-databases` lists (each as a full-name component) to see only `keep` of the
/// shared cluster.
pub async fn databases_except(keep: &[&str]) -> Vec<String> {
    pg_admin("postgres")
        .await
        .query("SELECT datname FROM pg_database", &[])
        .await
        .unwrap_or_else(|e| panic!("listing the databases of the test cluster: {e}"))
        .iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

/// A connection to `database` of the test cluster as `user`.
pub async fn pg_as(user: &str, password: &str, database: &str) -> tokio_postgres::Client {
    let pg = postgres();
    let (client, connection) = tokio_postgres::Config::new()
        .host(&pg.host)
        .port(pg.port)
        .user(user)
        .password(password)
        .dbname(database)
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("connect to the test PostgreSQL as {user:?}: {e}; {HOW_TO_START}")
        });
    tokio::spawn(connection);
    client
}

/// The major version of the test cluster (13 to 18: `dev/test.sh` runs the PostgreSQL tests on
/// each), for the tests of what a version changed.
pub async fn server_major() -> u32 {
    let number: String = pg_admin("postgres")
        .await
        .query_one("SHOW server_version_num", &[])
        .await
        .expect("the server's version")
        .get(0);
    number
        .parse::<u32>()
        .expect("server_version_num is a number")
        / 10_000
}

/// The test cluster's clock, epoch seconds.
pub async fn server_now() -> i64 {
    server_second(&pg_admin("postgres").await).await
}

/// The server's clock, epoch seconds, on an open connection.
pub async fn server_second(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT floor(extract(epoch FROM clock_timestamp()))::bigint",
            &[],
        )
        .await
        .expect("the server's clock")
        .get(0)
}

/// Waits until the server's clock has left the second it is in now, so that a usage run with
/// `pg-usage-settle-seconds: 0` (which never reads the current second) sees every statement
/// logged so far, and statements run after it start in a later second. Watches the clock
/// rather than sleeping for a second: at most 30 s, then fails.
pub async fn let_the_second_pass() {
    let admin = pg_admin("postgres").await;
    let second = server_second(&admin).await;
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server_second(&admin).await <= second {
        assert!(
            std::time::Instant::now() < patience,
            "the server's clock stayed in second {second} for 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Creates the login role `name` with `password` and the role `attributes` (SQL, e.g.
/// `"CREATEROLE"`) as the superuser, unless a role of that name exists: idempotent, and safe
/// when several test processes create it at the same time (the losers' `duplicate_object`, or
/// `unique_violation` when they raced past the existence check, mean it exists). An existing
/// role is kept as it is, so a shared role needs a name no other test uses, and the same
/// `password` and `attributes` everywhere.
pub async fn create_role_once(name: &str, password: &str, attributes: &str) {
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let password = format!("'{}'", password.replace('\'', "''"));
    let result = pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {quoted} LOGIN PASSWORD {password} {attributes}"
        ))
        .await;
    if let Err(error) = result {
        let code = error.code();
        assert!(
            code == Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT)
                || code == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            "create role {name}: {error}"
        );
    }
}

/// Creates the database `name` (any identifier), commented, and runs `sql` in it.
pub async fn create_database(name: &str, sql: &str) {
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let server = pg_admin("postgres").await;
    server
        .batch_execute(&format!("CREATE DATABASE {quoted}"))
        .await
        .expect("create database");
    server
        .batch_execute(&format!(
            "COMMENT ON DATABASE {quoted} IS 'A database with awkward names'"
        ))
        .await
        .expect("comment on database");
    pg_admin(name)
        .await
        .batch_execute(sql)
        .await
        .expect("load schema");
}

/// A name unique to this test process, for databases, buckets and secrets.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

/// Connection facts of the test LDAP server (slapd), seeded with `dev/ldap/fixture.ldif`.
pub struct Ldap {
    /// `ldap://127.0.0.1:PORT` (plain, StartTLS-capable).
    pub url: String,
    /// `ldaps://127.0.0.1:PORT`.
    pub ldaps_url: String,
    /// `dc=example,dc=com`.
    pub base_dn: String,
    /// The read-only account to bind as.
    pub bind_dn: String,
    /// Its password.
    pub password: String,
    /// The CA certificate (PEM file) the server's certificate chains to.
    pub ca_cert: String,
}

/// The test LDAP server.
pub fn ldap() -> Ldap {
    Ldap {
        url: required_env("RAITO_TEST_LDAP_URL"),
        ldaps_url: required_env("RAITO_TEST_LDAPS_URL"),
        base_dn: required_env("RAITO_TEST_LDAP_BASE_DN"),
        bind_dn: required_env("RAITO_TEST_LDAP_BIND_DN"),
        password: required_env("RAITO_TEST_LDAP_PASSWORD"),
        ca_cert: required_env("RAITO_TEST_LDAP_CA_CERT"),
    }
}
