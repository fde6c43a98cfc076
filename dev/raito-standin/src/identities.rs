//! Identity imports: the strict check of an uploaded users file and groups file (every field
//! known, no duplicate ids, every group a user or group refers to present in the groups file,
//! no group its own parent), and applying valid files to the stored users and groups with
//! Raito's added/updated/removed counts.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;

use crate::import::upsert;
use crate::state::{Group, IdentityImportResult, User};

/// After this many problems the rest are only counted.
const MAX_REPORTED: usize = 50;

/// Problems found so far, capped at [`MAX_REPORTED`].
#[derive(Default)]
struct Problems {
    reported: Vec<String>,
    suppressed: usize,
}

impl Problems {
    fn add(&mut self, problem: String) {
        if self.reported.len() < MAX_REPORTED {
            self.reported.push(problem);
        } else {
            self.suppressed += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.suppressed > 0 {
            self.reported
                .push(format!("... and {} more problems", self.suppressed));
        }
        self.reported
    }
}

/// Reads one file as a JSON array of `T`, naming the element and field of a bad one.
fn read<T: DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<Vec<T>, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| {
            // serde's path reads `[3].tags[0].key`.
            let path = error.path().to_string();
            let index = path.strip_prefix('[').and_then(|rest| rest.split_once(']'));
            let place = match index {
                Some((element, "")) => format!("{file} element {element}"),
                Some((element, field)) => format!(
                    "{file} element {element}, field `{}`",
                    field.trim_start_matches('.')
                ),
                None => file.to_owned(),
            };
            format!("{place}: {}", error.into_inner())
        })
        .and_then(|items: Vec<T>| {
            deserializer
                .end()
                .map(|()| items)
                .map_err(|e| format!("{file}: {e}"))
        })
}

/// Reads and checks both files; returns the users and groups, or every problem found.
pub(crate) fn check_files(
    users: &[u8],
    groups: &[u8],
) -> Result<(Vec<User>, Vec<Group>), Vec<String>> {
    let groups: Vec<Group> = read("groups file", groups).map_err(|e| vec![e])?;
    let users: Vec<User> = read("users file", users).map_err(|e| vec![e])?;
    let mut problems = Problems::default();

    let mut group_ids = HashMap::new();
    for (index, group) in groups.iter().enumerate() {
        let id = &group.external_id;
        if id.is_empty() {
            problems.add(format!("groups file element {index}: externalId is empty"));
        } else if let Some(first) = group_ids.insert(id.as_str(), index) {
            problems.add(format!(
                "groups file element {index} (externalId \"{id}\"): duplicate externalId (first used by element {first})"
            ));
        }
    }
    for (index, group) in groups.iter().enumerate() {
        let id = &group.external_id;
        for parent in group.parent_group_external_ids.iter().flatten() {
            if parent == id {
                problems.add(format!(
                    "groups file element {index} (externalId \"{id}\"): the group is its own parent"
                ));
            } else if !group_ids.contains_key(parent.as_str()) {
                problems.add(format!(
                    "groups file element {index} (externalId \"{id}\"), field `parentGroupExternalIds`: group \"{parent}\" is not in the groups file"
                ));
            }
        }
    }
    let mut user_ids = HashSet::new();
    for (index, user) in users.iter().enumerate() {
        let id = &user.external_id;
        if id.is_empty() {
            problems.add(format!("users file element {index}: externalId is empty"));
        } else if !user_ids.insert(id.as_str()) {
            problems.add(format!(
                "users file element {index} (externalId \"{id}\"): duplicate externalId"
            ));
        }
        for group in user.group_external_ids.iter().flatten() {
            if !group_ids.contains_key(group.as_str()) {
                problems.add(format!(
                    "users file element {index} (externalId \"{id}\"), field `groupExternalIds`: group \"{group}\" is not in the groups file"
                ));
            }
        }
    }
    let problems = problems.finish();
    if problems.is_empty() {
        Ok((users, groups))
    } else {
        Err(problems)
    }
}

/// Stores a valid import. With `delete_untouched` the files replace what is stored (what they
/// lack is removed); otherwise they are upserted. Without `replace_groups` an updated user keeps
/// the groups it had and gains the file's.
pub(crate) fn apply(
    stored_users: &mut Vec<User>,
    stored_groups: &mut Vec<Group>,
    users: Vec<User>,
    groups: Vec<Group>,
    delete_untouched: bool,
    replace_groups: bool,
) -> IdentityImportResult {
    let users: Vec<User> = if replace_groups {
        users
    } else {
        let before: HashMap<&str, &User> = stored_users
            .iter()
            .map(|u| (u.external_id.as_str(), u))
            .collect();
        users
            .into_iter()
            .map(|mut user| {
                if let Some(old) = before.get(user.external_id.as_str()) {
                    let mut merged = old.group_external_ids.clone().unwrap_or_default();
                    for group in user.group_external_ids.take().unwrap_or_default() {
                        if !merged.contains(&group) {
                            merged.push(group);
                        }
                    }
                    user.group_external_ids = Some(merged);
                }
                user
            })
            .collect()
    };
    IdentityImportResult {
        users: upsert(stored_users, users, delete_untouched, |u| &u.external_id),
        groups: upsert(stored_groups, groups, delete_untouched, |g| &g.external_id),
    }
}
