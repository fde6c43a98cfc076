//! The services the test command starts, from the shared `test-support` crate.

pub use test_support::*;

/// Every database of the test cluster but `keep`, as full-name components (quoted where
/// needed): a `pg-excluded-databases` that leaves a target only `keep` of a busy cluster.
pub async fn databases_except(keep: &[&str]) -> Vec<String> {
    pg_admin("postgres")
        .await
        .query("SELECT datname FROM pg_database", &[])
        .await
        .expect("list databases")
        .iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|name| !keep.contains(&name.as_str()))
        .map(|name| raito_common::connectors::postgres::naming::component(&name))
        .collect()
}
