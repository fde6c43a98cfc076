//! Users, groups and memberships from Okta. Groups are listed first and written (Okta groups do
//! not nest); then each group's members are read, a few groups at a time, into the membership
//! map (user id → group ids), the one thing that grows with the org; then users are streamed
//! page by page, each with its groups. Users whose status is excluded are left out.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::client::Client;
use super::config::Config;
use crate::connector::{Error, Sink};
use crate::model::Tag;
use crate::model::identity::{Group, IdentityStoreMetaData, User};

/// What Raito is told about Okta.
pub fn identity_store_metadata() -> IdentityStoreMetaData {
    IdentityStoreMetaData {
        r#type: "okta".to_owned(),
        icon: "okta".to_owned(),
        can_be_linked: true,
        can_be_master: true,
    }
}

/// Entries per page (Okta's maximum for users).
const PAGE: u32 = 200;

#[derive(Deserialize)]
struct OktaGroup {
    id: String,
    #[serde(default)]
    profile: GroupProfile,
}

#[derive(Deserialize, Default)]
struct GroupProfile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct OktaUser {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    profile: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Member {
    id: String,
}

/// Pushes every group, then every user (with their groups), into the sinks.
pub async fn sync(
    config: &Config,
    users: &mut dyn Sink<User>,
    groups: &mut dyn Sink<Group>,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let client = Client::new(config)?;

    let mut group_ids = Vec::new();
    let mut next = Some(client.url(&format!("/api/v1/groups?limit={PAGE}")));
    while let Some(url) = next {
        let (page, link) = client.page::<OktaGroup>(&url, "listing groups").await?;
        for group in page {
            let name = group.profile.name.unwrap_or_default();
            group_ids.push(group.id.clone());
            groups
                .push(Group {
                    external_id: group.id,
                    display_name: name.clone(),
                    name,
                    description: group.profile.description.unwrap_or_default(),
                    parent_group_external_ids: Vec::new(),
                    tags: Vec::new(),
                })
                .await?;
        }
        next = link;
    }

    // Members, `concurrency` groups at a time, in group order.
    let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
    let client = &client;
    crate::http::fan_out(
        group_ids.clone(),
        config.concurrency,
        |group: String| async move {
            let mut ids = Vec::new();
            let mut next = Some(client.url(&format!("/api/v1/groups/{group}/users?limit={PAGE}")));
            let what = format!("listing the members of group {group}");
            while let Some(url) = next {
                let (page, link) = client.page::<Member>(&url, &what).await?;
                ids.extend(page.into_iter().map(|m| m.id));
                next = link;
            }
            Ok(ids)
        },
        |group, ids| {
            for id in ids {
                memberships.entry(id).or_default().push(group.clone());
            }
        },
    )
    .await?;

    // Users: without a filter Okta leaves DEPROVISIONED out; ask for them separately when
    // they are wanted.
    let mut lists = vec![client.url(&format!("/api/v1/users?limit={PAGE}"))];
    if !config
        .excluded_statuses
        .iter()
        .any(|s| s == "DEPROVISIONED")
    {
        lists.push(client.url(&format!(
            "/api/v1/users?limit={PAGE}&filter=status%20eq%20%22DEPROVISIONED%22"
        )));
    }
    let mut written = 0u64;
    for list in lists {
        let mut next = Some(list);
        while let Some(url) = next {
            let (page, link) = client.page::<OktaUser>(&url, "listing users").await?;
            for user in page {
                if config.excluded_statuses.contains(&user.status) {
                    continue;
                }
                let groups = memberships.remove(&user.id).unwrap_or_default();
                users.push(user_of(config, user, groups)).await?;
                written += 1;
            }
            next = link;
        }
    }
    tracing::info!(
        users = written,
        groups = group_ids.len(),
        requests = client.requests(),
        waited_ms = client.waited().as_millis() as u64,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Okta org read"
    );
    Ok(())
}

fn user_of(config: &Config, user: OktaUser, groups: Vec<String>) -> User {
    let text = |key: &str| {
        user.profile
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let login = text("login");
    let name = match text("displayName") {
        display if !display.is_empty() => display,
        _ => {
            let full = format!("{} {}", text("firstName"), text("lastName"));
            match full.trim() {
                "" => login.clone(),
                full => full.to_owned(),
            }
        }
    };
    let tags = config
        .tag_attributes
        .iter()
        .filter_map(|(attribute, key)| {
            let value = match user.profile.get(attribute)? {
                Value::Null => return None,
                Value::String(text) if text.is_empty() => return None,
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Some(Tag {
                key: key.clone(),
                value,
                source: super::TAG_SOURCE.to_owned(),
            })
        })
        .collect();
    User {
        external_id: user.id,
        name,
        email: text("email"),
        user_name: login,
        group_external_ids: groups,
        tags,
        is_machine: None,
    }
}
