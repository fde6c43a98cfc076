//! Users, groups and memberships from Microsoft Graph. Groups are listed first and kept (their
//! parents come from the member lists); each group's direct members are then read, a few groups
//! at a time, into the membership map (user id → group ids, group id → parent ids), the one
//! thing that grows with the tenant; groups are written with their parents, then users are
//! streamed page by page, each with its groups. Disabled accounts are left out by default.

use std::collections::HashMap;

use serde::Deserialize;

use super::client::Client;
use super::config::Config;
use crate::connector::{Error, Sink};
use crate::model::Tag;
use crate::model::identity::{Group, IdentityStoreMetaData, User};

/// What Raito is told about the tenant.
pub fn identity_store_metadata() -> IdentityStoreMetaData {
    IdentityStoreMetaData {
        r#type: "azure-ad".to_owned(),
        icon: "azure-ad".to_owned(),
        can_be_linked: true,
        can_be_master: true,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphGroup {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    job_title: Option<String>,
    #[serde(default)]
    office_location: Option<String>,
}

/// The source of the user tags, as the Raito CLI's Azure AD plugin writes it
/// (raito-io/cli-plugin-azure-ad ad/identity_store.go, `tagSource`). That plugin declares no
/// `TagSource`, so its imports' `tagSourcesScope` is empty, and so are ours.
pub const TAG_SOURCE: &str = "Azure Entra ID";

impl GraphUser {
    /// The plugin's tags: `Department`, `JobTitle`, `OfficeLocation`, when set.
    fn tags(&mut self) -> Vec<Tag> {
        [
            ("Department", self.department.take()),
            ("JobTitle", self.job_title.take()),
            ("OfficeLocation", self.office_location.take()),
        ]
        .into_iter()
        .filter_map(|(key, value)| {
            Some(Tag {
                key: key.to_owned(),
                value: value.filter(|v| !v.is_empty())?,
                source: TAG_SOURCE.to_owned(),
            })
        })
        .collect()
    }
}

#[derive(Deserialize)]
struct Member {
    #[serde(rename = "@odata.type", default)]
    kind: String,
    id: String,
}

/// Pushes every group (with its parents), then every user (with its groups), into the sinks.
pub async fn sync(
    config: &Config,
    users: &mut dyn Sink<User>,
    groups: &mut dyn Sink<Group>,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let client = Client::new(config)?;

    let mut read = Vec::new();
    let mut next = Some(client.url(
        "/groups?$select=id,displayName,description,groupTypes,securityEnabled,mailEnabled&$top=999",
    ));
    while let Some(url) = next {
        let page = client.page::<GraphGroup>(&url, "listing groups").await?;
        read.extend(page.value);
        next = page.next_link;
    }

    let mut user_groups: HashMap<String, Vec<String>> = HashMap::new();
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    let client = &client;
    let ids: Vec<String> = read.iter().map(|g| g.id.clone()).collect();
    crate::http::fan_out(
        ids,
        config.concurrency,
        |group: String| async move {
            let mut found = Vec::new();
            let mut next =
                Some(client.url(&format!("/groups/{group}/members?$select=id&$top=999")));
            let what = format!("listing the members of group {group}");
            while let Some(url) = next {
                let page = client.page::<Member>(&url, &what).await?;
                found.extend(page.value);
                next = page.next_link;
            }
            Ok(found)
        },
        |group, found| {
            for member in found {
                match member.kind.as_str() {
                    "#microsoft.graph.user" => user_groups
                        .entry(member.id)
                        .or_default()
                        .push(group.clone()),
                    "#microsoft.graph.group" => {
                        parents.entry(member.id).or_default().push(group.clone())
                    }
                    // Devices, service principals, contacts: not identities Raito syncs.
                    _ => {}
                }
            }
        },
    )
    .await?;

    let group_count = read.len();
    for group in read {
        let name = group.display_name.unwrap_or_default();
        groups
            .push(Group {
                parent_group_external_ids: parents.remove(&group.id).unwrap_or_default(),
                external_id: group.id,
                display_name: name.clone(),
                name,
                description: group.description.unwrap_or_default(),
                tags: Vec::new(),
            })
            .await?;
    }

    let mut written = 0u64;
    let mut next = Some(client.url(
        "/users?$select=id,displayName,userPrincipalName,mail,accountEnabled,userType,department,jobTitle,officeLocation&$top=999",
    ));
    while let Some(url) = next {
        let page = client.page::<GraphUser>(&url, "listing users").await?;
        for mut user in page.value {
            if user.account_enabled == Some(false) && !config.include_disabled {
                continue;
            }
            let tags = user.tags();
            let principal = user.user_principal_name.unwrap_or_default();
            users
                .push(User {
                    group_external_ids: user_groups.remove(&user.id).unwrap_or_default(),
                    external_id: user.id,
                    name: user.display_name.unwrap_or_else(|| principal.clone()),
                    email: user.mail.unwrap_or_else(|| principal.clone()),
                    user_name: principal,
                    tags,
                    is_machine: None,
                })
                .await?;
            written += 1;
        }
        next = page.next_link;
    }
    tracing::info!(
        users = written,
        groups = group_count,
        requests = client.requests(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Entra ID tenant read"
    );
    Ok(())
}
