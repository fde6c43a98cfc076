//! The identity store sync's contract: the users and groups files are what Raito's import
//! relies on (unique ids, every group referred to present).

use std::collections::HashSet;

use crate::config::Target;
use crate::connector::Connector;
use crate::model::identity::{Group, User};
use crate::output::{Destination, JsonArrayReader};
use crate::sync::{self, Outcome};

/// Runs the connector's identity store sync through the real pipeline into two files, reads
/// them back as streams, and checks what Raito's import relies on: unique user and group ids,
/// and every group a user or group refers to present in the groups file.
pub async fn check_identity_sync(
    connector: &dyn Connector,
    target: &Target,
) -> (Vec<User>, Vec<Group>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (users_path, groups_path) = (
        dir.path().join("users.json"),
        dir.path().join("groups.json"),
    );
    let outcome = sync::identities::run(
        connector,
        target,
        Destination::file(&users_path).await.expect("create users"),
        Destination::file(&groups_path)
            .await
            .expect("create groups"),
    )
    .await
    .expect("identity store sync succeeds");
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");

    let mut users = Vec::new();
    let mut reader = JsonArrayReader::<User>::open(&users_path)
        .await
        .expect("open");
    while let Some(user) = reader.next().await.expect("read") {
        users.push(user);
    }
    let mut groups = Vec::new();
    let mut reader = JsonArrayReader::<Group>::open(&groups_path)
        .await
        .expect("open");
    while let Some(group) = reader.next().await.expect("read") {
        groups.push(group);
    }
    let group_ids: HashSet<&str> = groups.iter().map(|g| g.external_id.as_str()).collect();
    assert_eq!(group_ids.len(), groups.len(), "group ids are unique");
    let user_ids: HashSet<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(user_ids.len(), users.len(), "user ids are unique");
    for user in &users {
        for id in &user.group_external_ids {
            assert!(
                group_ids.contains(id.as_str()),
                "group {id} of user {} exists",
                user.name
            );
        }
    }
    for group in &groups {
        for id in &group.parent_group_external_ids {
            assert!(
                group_ids.contains(id.as_str()),
                "parent {id} of group {} exists",
                group.name
            );
        }
    }
    (users, groups)
}
