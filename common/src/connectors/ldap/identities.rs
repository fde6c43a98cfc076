//! Users and groups from the directory. Groups are read first (page by page) and kept, with
//! their member DNs, until every group is known: that is the membership map, the one thing
//! that grows with the directory. Users are then streamed page by page, each written with the
//! groups that list it, so memory does not grow with the number of users. Member values and
//! entry DNs are matched by DN equality ([`normalize_dn`]), not as strings.

use std::collections::HashMap;

use super::client::{self, Entry, Value};
use super::config::{Config, Preset};
use super::dn::normalize_dn;
use crate::connector::{Error, Sink};
use crate::model::identity::{Group, IdentityStoreMetaData, User};

/// What Raito is told about the directory.
pub fn identity_store_metadata(config: &Config) -> IdentityStoreMetaData {
    let kind = match config.preset {
        Preset::OpenLdap => "ldap",
        Preset::ActiveDirectory => "active-directory",
    };
    IdentityStoreMetaData {
        r#type: kind.to_owned(),
        icon: kind.to_owned(),
        can_be_linked: true,
        can_be_master: true,
    }
}

/// A group as read, before its parents are known.
struct ReadGroup {
    group: Group,
    /// The member DNs, normalised ([`normalize_dn`]).
    members: Vec<String>,
}

/// Pushes every group, then every user, into the sinks.
pub async fn sync(
    config: &Config,
    users: &mut dyn Sink<User>,
    groups: &mut dyn Sink<Group>,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let mut client = client::connect(config).await?;

    // Groups, with their members, all of them: a group's parents are the groups that list it.
    let group_attributes = [
        config.group_id_attribute.as_str(),
        &config.group_name_attribute,
        &config.group_display_name_attribute,
        &config.group_description_attribute,
        &config.member_attribute,
    ];
    let mut search = client.search(
        &config.group_base_dn,
        &config.group_filter,
        &group_attributes,
        Some(&config.member_attribute),
    );
    let mut read: Vec<ReadGroup> = Vec::new();
    // Normalised group DN -> index in `read`.
    let mut index: HashMap<String, usize> = HashMap::new();
    while let Some(page) = client.next_page(&mut search).await? {
        for entry in page {
            match normalize_dn(&entry.dn) {
                Some(dn) => {
                    index.insert(dn, read.len());
                }
                None => tracing::warn!(
                    dn = %entry.dn,
                    "the server sent a group whose DN does not parse: it is written without \
                     the groups that list it"
                ),
            }
            let group = read_group(config, entry)?;
            read.push(group);
        }
    }
    // Normalised member DN that is no group -> the groups that list it.
    let mut user_groups: HashMap<String, Vec<String>> = HashMap::new();
    let mut parents: Vec<Vec<String>> = vec![Vec::new(); read.len()];
    for group in &mut read {
        for member in std::mem::take(&mut group.members) {
            match index.get(&member) {
                Some(&child) => parents[child].push(group.group.external_id.clone()),
                None => user_groups
                    .entry(member)
                    .or_default()
                    .push(group.group.external_id.clone()),
            }
        }
    }
    let group_count = read.len();
    for (group, parents) in read.into_iter().zip(parents) {
        let mut group = group.group;
        group.parent_group_external_ids = parents;
        groups.push(group).await?;
    }
    drop(index);

    // Users, page by page, with the groups that list them.
    let user_attributes = [
        config.user_id_attribute.as_str(),
        &config.user_name_attribute,
        &config.user_display_name_attribute,
        "cn",
        &config.user_email_attribute,
        "userPrincipalName",
        "userAccountControl",
    ];
    let mut search = client.search(
        &config.user_base_dn,
        &config.user_filter,
        &user_attributes,
        None,
    );
    let mut user_count = 0u64;
    while let Some(page) = client.next_page(&mut search).await? {
        for entry in page {
            if config.preset == Preset::ActiveDirectory && is_disabled(&entry) {
                continue; // a custom filter may let disabled accounts through
            }
            let mut user = read_user(config, &entry)?;
            match normalize_dn(&entry.dn) {
                Some(dn) => user.group_external_ids = user_groups.remove(&dn).unwrap_or_default(),
                None => tracing::warn!(
                    dn = %entry.dn,
                    "the server sent a user whose DN does not parse: it is written without groups"
                ),
            }
            users.push(user).await?;
            user_count += 1;
        }
    }
    tracing::info!(
        users = user_count,
        groups = group_count,
        requests = client.requests,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "LDAP directory read"
    );
    Ok(())
}

/// A group from its entry; the member DNs are moved out of the entry and normalised (values
/// that are not DNs are logged and skipped).
fn read_group(config: &Config, mut entry: Entry) -> Result<ReadGroup, Error> {
    let external_id = id(&entry, &config.group_id_attribute)?;
    let name = client::text(&entry, &config.group_name_attribute).to_owned();
    let display_name = match client::text(&entry, &config.group_display_name_attribute) {
        "" => name.clone(),
        display => display.to_owned(),
    };
    let description = client::text(&entry, &config.group_description_attribute).to_owned();
    let values = entry
        .attrs
        .keys()
        .find(|key| key.eq_ignore_ascii_case(&config.member_attribute))
        .cloned()
        .and_then(|key| entry.attrs.remove(&key))
        .unwrap_or_default();
    let members = member_dns(&entry.dn, &config.member_attribute, values);
    Ok(ReadGroup {
        group: Group {
            external_id,
            name,
            display_name,
            description,
            parent_group_external_ids: Vec::new(),
            tags: Vec::new(),
        },
        members,
    })
}

/// The normalised DNs of a group's member values; those that are not DNs are left out, with
/// one warning for the group.
fn member_dns(group_dn: &str, attribute: &str, values: Vec<String>) -> Vec<String> {
    let mut members = Vec::with_capacity(values.len());
    let mut skipped = 0usize;
    let mut first_skipped = None;
    for value in values {
        match normalize_dn(&value) {
            Some(dn) => members.push(dn),
            None => {
                skipped += 1;
                first_skipped.get_or_insert(value);
            }
        }
    }
    if let Some(example) = first_skipped {
        tracing::warn!(
            group = %group_dn,
            attribute,
            skipped,
            example = %example,
            "member values that are not DNs are skipped"
        );
    }
    members
}

fn read_user(config: &Config, entry: &Entry) -> Result<User, Error> {
    let name = [config.user_display_name_attribute.as_str(), "cn"]
        .iter()
        .map(|attribute| client::text(entry, attribute))
        .find(|value| !value.is_empty())
        .unwrap_or_default();
    let mut email = client::text(entry, &config.user_email_attribute);
    if email.is_empty() && config.preset == Preset::ActiveDirectory {
        email = client::text(entry, "userPrincipalName");
    }
    Ok(User {
        external_id: id(entry, &config.user_id_attribute)?,
        name: name.to_owned(),
        user_name: client::text(entry, &config.user_name_attribute).to_owned(),
        email: email.to_owned(),
        group_external_ids: Vec::new(),
        tags: Vec::new(),
        is_machine: None,
    })
}

/// The stable id of an entry: its id attribute, a GUID when binary (`objectGUID`).
fn id(entry: &Entry, attribute: &str) -> Result<String, Error> {
    match client::first(entry, attribute) {
        Some(Value::Text(text)) if !text.is_empty() => Ok(text.to_owned()),
        Some(Value::Binary(bytes)) => guid(bytes).ok_or_else(|| Error::Operation {
            connector: super::NAME,
            operation: format!("reading {attribute} of {}", entry.dn),
            source: format!("{} bytes is not a 16-byte GUID", bytes.len()).into(),
        }),
        _ => Err(Error::Operation {
            connector: super::NAME,
            operation: format!("reading {attribute} of {}", entry.dn),
            source: "the entry has no such attribute (or the bind account may not read it): \
                     check ldap-user-id-attribute / ldap-group-id-attribute"
                .into(),
        }),
    }
}

/// Active Directory's binary `objectGUID` as text: the first three fields are little-endian,
/// the last eight bytes are as they are (MS-DTYP 2.3.4.2).
pub fn guid(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// Whether Active Directory marks the account disabled (`userAccountControl` bit 0x2).
fn is_disabled(entry: &Entry) -> bool {
    client::text(entry, "userAccountControl")
        .trim()
        .parse::<u32>()
        .is_ok_and(|flags| flags & 0x2 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_guid_is_formatted_with_its_little_endian_fields_swapped() {
        let bytes: Vec<u8> = (1..=16).collect();
        assert_eq!(
            guid(&bytes).as_deref(),
            Some("04030201-0605-0807-090a-0b0c0d0e0f10")
        );
        assert_eq!(guid(&bytes[..15]), None);
    }

    #[test]
    fn member_values_are_normalised_and_those_that_are_not_dns_skipped() {
        let values = vec![
            r"CN=Eng\2C Ops, OU=Groups,DC=Corp".to_owned(),
            "not a DN".to_owned(),
            "uid=ann + cn=Ann,dc=corp".to_owned(),
            "cn=x,".to_owned(),
        ];
        assert_eq!(
            member_dns("cn=g,dc=corp", "member", values),
            [r"cn=eng\, ops,ou=groups,dc=corp", "cn=ann+uid=ann,dc=corp"]
        );
    }

    #[test]
    fn the_account_disabled_bit_is_read_from_user_account_control() {
        let mut entry = Entry {
            dn: String::new(),
            attrs: HashMap::new(),
            bin_attrs: HashMap::new(),
        };
        entry
            .attrs
            .insert("userAccountControl".into(), vec!["514".into()]);
        assert!(is_disabled(&entry));
        entry
            .attrs
            .insert("userAccountControl".into(), vec!["512".into()]);
        assert!(!is_disabled(&entry));
    }
}
