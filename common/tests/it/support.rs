//! The services the test command starts, from the shared `test-support` crate.

pub use test_support::*;

/// Every database of the test cluster but `keep`, as full-name components (quoted where
/// needed): a `pg-excluded-databases` that leaves a target only `keep` of a busy cluster.
pub async fn databases_except(keep: &[&str]) -> Vec<String> {
    test_support::databases_except(keep)
        .await
        .iter()
        .map(|name| raito_common::connectors::postgres::naming::component(name))
        .collect()
}
