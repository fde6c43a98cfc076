//! The Snowflake identity sync: the account's users, mapped as the Go connector maps them
//! (raito-io/cli-plugin-snowflake snowflake/identity_store.go), so a user keeps its id when a
//! target moves from the Go CLI:
//! - `externalId` is the login name (the name when empty), `userName` the name, `name` the
//!   display name (the name when empty), each without surrounding double quotes
//!   (`cleanDoubleQuotes`);
//! - `email` lower case; an e-mail already given to an earlier user becomes
//!   `local+<login name>@domain` (the Go connector's patch, kept so the e-mails Raito holds do
//!   not change);
//! - `isMachine` for the types `SERVICE` and `LEGACY_SERVICE`; a user whose `SHOW USERS` row has
//!   no type is described (`DESCRIBE USER`, `sf-worker-pool-size` at a time) for it;
//! - tags from `SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES` (domain `USER`, source `Snowflake`),
//!   unless `sf-skip-tags` or `sf-standard-edition`.
//!
//! No groups: Snowflake has none (roles are access providers).
//!
//! Unlike the Go connector, which fails at 10,000 users (one `SHOW USERS` may not return
//! more), users are read in pages of 10,000 (`SHOW USERS LIMIT 10000 FROM '<last name>'`) and
//! each page is pushed before the next is read: memory holds one page, the set of e-mails seen
//! and the user tags.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};

use super::client::{Client, quote_ident, show_page};
use super::{Config, TAG_SOURCE};
use crate::connector::{Error, Sink};
use crate::model::Tag;
use crate::model::identity::{IdentityStoreMetaData, User};

/// Rows per `SHOW USERS`: Snowflake's most.
const PAGE: usize = 10_000;

/// The identity store metadata of a Snowflake account (the Go connector's).
pub fn identity_store_metadata() -> IdentityStoreMetaData {
    IdentityStoreMetaData {
        r#type: "snowflake".to_owned(),
        icon: "snowflake".to_owned(),
        can_be_linked: false,
        can_be_master: false,
    }
}

/// One row of `SHOW USERS`, as far as the sync reads it.
struct ShownUser {
    name: String,
    login_name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    r#type: Option<String>,
}

/// Pushes every user of the account into `users`.
pub async fn sync(
    config: &Config,
    client: &Client,
    users: &mut dyn Sink<User>,
) -> Result<(), Error> {
    let tags = if config.skip_tags || config.standard_edition {
        HashMap::new()
    } else {
        user_tags(client).await?
    };
    let mut emails: HashSet<String> = HashSet::new();
    let mut last: Option<String> = None;
    let (mut count, mut described) = (0u64, 0u64);
    loop {
        let statement = show_page("SHOW USERS", PAGE, last.as_deref());
        let mut page = read_page(client, &statement).await?;
        let full = page.len() >= PAGE;
        // FROM starts after the first row with that name; a row equal to it is not new.
        if let Some(previous) = &last {
            page.retain(|u| u.name != *previous);
        }
        let Some(next) = page.last().map(|u| u.name.clone()) else {
            break;
        };
        described += describe_untyped(client, config.worker_pool_size, &mut page).await?;
        for user in page {
            let user_tags = tags.get(&user.name).cloned().unwrap_or_default();
            users.push(to_user(user, user_tags, &mut emails)).await?;
            count += 1;
        }
        if !full {
            break;
        }
        last = Some(next);
    }
    tracing::info!(
        users = count,
        described,
        tagged = tags.len(),
        requests = client.requests(),
        "listed users"
    );
    Ok(())
}

async fn read_page(client: &Client, statement: &str) -> Result<Vec<ShownUser>, Error> {
    let mut rows = client.query(statement, &[]).await?;
    let name = rows.column("name")?;
    let login_name = rows.column("login_name")?;
    let display_name = rows.column("display_name")?;
    let email = rows.column("email")?;
    let kind = rows.column("type")?;
    let mut users = Vec::new();
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            let text = |i: usize| row.get(i).map(str::to_owned);
            users.push(ShownUser {
                name: text(name).unwrap_or_default(),
                login_name: text(login_name),
                display_name: text(display_name),
                email: text(email),
                r#type: text(kind).filter(|t| !t.is_empty()),
            });
        }
    }
    Ok(users)
}

/// Reads the type of every user of `page` that `SHOW USERS` gave none (`DESCRIBE USER`),
/// `concurrency` at a time; answers how many were described. A user that cannot be described
/// keeps no type, with a warning (the Go connector's rule).
async fn describe_untyped(
    client: &Client,
    concurrency: usize,
    page: &mut [ShownUser],
) -> Result<u64, Error> {
    let names: Vec<(usize, String)> = page
        .iter()
        .enumerate()
        .filter(|(_, user)| user.r#type.is_none())
        .map(|(i, user)| (i, user.name.clone()))
        .collect();

    let types: Vec<(usize, Option<String>)> = futures::stream::iter(names)
        .map(|(i, name)| async move {
            match describe_type(client, &name).await {
                Ok(kind) => Ok::<_, Error>((i, kind)),
                Err(error) => {
                    tracing::warn!(user = %name, %error, "could not describe the user; no type");
                    Ok((i, None))
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let described = types.len() as u64;
    for (i, kind) in types {
        page[i].r#type = kind;
    }
    Ok(described)
}

async fn describe_type(client: &Client, name: &str) -> Result<Option<String>, Error> {
    let mut rows = client
        .query(&format!("DESCRIBE USER {}", quote_ident(name)), &[])
        .await?;
    let property = rows.column("property")?;
    let value = rows.column("value")?;
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            if row
                .get(property)
                .is_some_and(|p| p.eq_ignore_ascii_case("TYPE"))
            {
                return Ok(row
                    .get(value)
                    .filter(|v| !v.eq_ignore_ascii_case("null"))
                    .map(str::to_owned));
            }
        }
    }
    Ok(None)
}

/// The tags on users, by user name.
async fn user_tags(client: &Client) -> Result<HashMap<String, Vec<Tag>>, Error> {
    let mut rows = client
        .query(
            "SELECT OBJECT_NAME, TAG_NAME, TAG_VALUE FROM SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES \
             WHERE OBJECT_DELETED IS NULL AND DOMAIN = 'USER'",
            &[],
        )
        .await?;
    let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            let (Some(user), Some(key)) = (row.get(0), row.get(1)) else {
                continue;
            };
            tags.entry(user.to_owned()).or_default().push(Tag {
                key: key.to_owned(),
                value: row.get(2).unwrap_or_default().to_owned(),
                source: TAG_SOURCE.to_owned(),
            });
        }
    }
    Ok(tags)
}

/// The Go connector's mapping of a user (identity_store.go `SyncIdentityStore`).
fn to_user(user: ShownUser, tags: Vec<Tag>, emails: &mut HashSet<String>) -> User {
    let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
    let login_name = non_empty(user.login_name).unwrap_or_else(|| user.name.clone());
    let display_name = non_empty(user.display_name).unwrap_or_else(|| user.name.clone());
    let mut email = user.email.map(|e| e.to_lowercase()).unwrap_or_default();
    if !email.is_empty() && !emails.insert(email.clone()) {
        // The Go connector's patch (RAITO-349) for an e-mail two users share.
        let mut parts = email.split('@');
        let local = parts.next().unwrap_or_default();
        let domain = parts.next().unwrap_or_default();
        email = format!("{local}+{}@{domain}", login_name.to_lowercase());
        emails.insert(email.clone());
    }
    let is_machine = user.r#type.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("SERVICE") || t.eq_ignore_ascii_case("LEGACY_SERVICE")
    });
    User {
        external_id: clean_double_quotes(&login_name).to_owned(),
        user_name: clean_double_quotes(&user.name).to_owned(),
        name: clean_double_quotes(&display_name).to_owned(),
        email,
        tags,
        is_machine: Some(is_machine),
        ..Default::default()
    }
}

/// `input` without one pair of surrounding double quotes (snowflake/utils.go
/// `cleanDoubleQuotes`).
fn clean_double_quotes(input: &str) -> &str {
    if input.len() >= 2 && input.starts_with('"') && input.ends_with('"') {
        &input[1..input.len() - 1]
    } else {
        input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(
        name: &str,
        login: Option<&str>,
        email: Option<&str>,
        kind: Option<&str>,
    ) -> ShownUser {
        ShownUser {
            name: name.to_owned(),
            login_name: login.map(str::to_owned),
            display_name: None,
            email: email.map(str::to_owned),
            r#type: kind.map(str::to_owned),
        }
    }

    #[test]
    fn users_are_mapped_as_the_go_connector_maps_them() {
        let mut emails = HashSet::new();
        let alice = to_user(
            shown(
                "ALICE",
                Some("alice@acme.com"),
                Some("Alice@Acme.com"),
                Some("PERSON"),
            ),
            Vec::new(),
            &mut emails,
        );
        assert_eq!(alice.external_id, "alice@acme.com");
        assert_eq!(alice.user_name, "ALICE");
        assert_eq!(alice.name, "ALICE");
        assert_eq!(alice.email, "alice@acme.com");
        assert_eq!(alice.is_machine, Some(false));
        let twin = to_user(
            shown(
                "ALICE2",
                Some("Alice2"),
                Some("alice@acme.com"),
                Some("LEGACY_SERVICE"),
            ),
            Vec::new(),
            &mut emails,
        );
        assert_eq!(twin.email, "alice+alice2@acme.com");
        assert_eq!(twin.is_machine, Some(true));
        let quoted = to_user(
            shown("\"odd\"", Some(""), None, None),
            Vec::new(),
            &mut emails,
        );
        assert_eq!(quoted.external_id, "odd");
        assert_eq!(quoted.user_name, "odd");
        assert_eq!(quoted.email, "");
        assert_eq!(quoted.is_machine, Some(false));
    }
}
