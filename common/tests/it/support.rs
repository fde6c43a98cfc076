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

/// Runs the identity sync of the connector `target` names, into memory: (users, groups), or
/// the connector's error.
pub async fn sync_identities(
    target: &raito_common::config::Target,
) -> Result<
    (
        Vec<raito_common::model::identity::User>,
        Vec<raito_common::model::identity::Group>,
    ),
    raito_common::connector::Error,
> {
    let connector = raito_common::connectors::build(target)?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    connector
        .identity_store()
        .expect("the connector has an identity sync")
        .sync_identities(&mut users, &mut groups)
        .await?;
    Ok((users, groups))
}
