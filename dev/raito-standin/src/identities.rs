//! Identity imports: the strict check of an uploaded users file and groups file (every field
//! known, no duplicate ids, every group a user or group refers to present in the groups file,
//! no group its own parent), and applying valid files to the stored users and groups with
//! Raito's added/updated/removed counts.

use std::collections::{HashMap, HashSet};

use crate::files::{Problems, read_array};
use crate::import::upsert;
use crate::state::{Group, IdentityImportResult, User};

const USERS_FILE: &str = "users file";
const GROUPS_FILE: &str = "groups file";

/// Reads and checks both files, each element by element: the groups file first (its ids are
/// kept to check references), then the users file. Returns the users and groups in file order,
/// or every problem found (up to [`MAX_REPORTED`](crate::files::MAX_REPORTED)), each naming the
/// file, the element index (0-based) and the field. When the groups file cannot be read, the
/// users file is still read, but group references are not checked.
pub(crate) fn check_files(
    users: &[u8],
    groups: &[u8],
) -> Result<(Vec<User>, Vec<Group>), Vec<String>> {
    let mut problems = Problems::default();

    // Group ids → the element that has it first.
    let mut group_ids: HashMap<String, usize> = HashMap::new();
    let groups = read_array(groups, "groups", |index, group: &Group| {
        let id = &group.external_id;
        if let Some(problem) = id_problem(GROUPS_FILE, index, id, &group_ids) {
            problems.add(problem);
        } else {
            group_ids.insert(id.clone(), index);
        }
        if group
            .parent_group_external_ids
            .iter()
            .flatten()
            .any(|p| p == id)
        {
            problems.add(format!(
                "{GROUPS_FILE} element {index} (externalId \"{id}\"), field `parentGroupExternalIds`: the group is its own parent"
            ));
        }
    });
    let groups = match groups {
        Ok(groups) => {
            // Parents may come later in the file, so they are checked once all ids are known.
            for (index, group) in groups.iter().enumerate() {
                let id = &group.external_id;
                for parent in group.parent_group_external_ids.iter().flatten() {
                    if parent != id && !group_ids.contains_key(parent) {
                        problems.add(format!(
                            "{GROUPS_FILE} element {index} (externalId \"{id}\"), field `parentGroupExternalIds`: group \"{parent}\" is not in the groups file"
                        ));
                    }
                }
            }
            Some(groups)
        }
        Err(error) => {
            problems.add(error.message(Some(GROUPS_FILE)));
            None
        }
    };

    let mut user_ids: HashMap<String, usize> = HashMap::new();
    let check_groups = groups.is_some();
    let users = read_array(users, "users", |index, user: &User| {
        let id = &user.external_id;
        if let Some(problem) = id_problem(USERS_FILE, index, id, &user_ids) {
            problems.add(problem);
        } else {
            user_ids.insert(id.clone(), index);
        }
        if check_groups {
            for group in user.group_external_ids.iter().flatten() {
                if !group_ids.contains_key(group) {
                    problems.add(format!(
                        "{USERS_FILE} element {index} (externalId \"{id}\"), field `groupExternalIds`: group \"{group}\" is not in the groups file"
                    ));
                }
            }
        }
    });
    let users = users
        .map_err(|error| problems.add(error.message(Some(USERS_FILE))))
        .ok();

    let problems = problems.finish();
    match (users, groups) {
        (Some(users), Some(groups)) if problems.is_empty() => Ok((users, groups)),
        _ => Err(problems),
    }
}

/// An empty or duplicate `externalId` (`seen`: the ids so far and their first element).
fn id_problem(file: &str, index: usize, id: &str, seen: &HashMap<String, usize>) -> Option<String> {
    if id.is_empty() {
        return Some(format!(
            "{file} element {index}, field `externalId`: externalId is empty"
        ));
    }
    seen.get(id).map(|first| {
        format!(
            "{file} element {index} (externalId \"{id}\"), field `externalId`: duplicate externalId (first used by element {first})"
        )
    })
}

/// Stores a valid import and counts the changes, users and groups separately. With
/// `delete_untouched` the files replace what is stored (what they lack is removed); otherwise
/// they are upserted (updated in place, new ones appended). With `replace_groups` a user's
/// groups are the file's; without it an updated user keeps the groups it had (those still
/// stored after the import) and gains the file's. A user counts as updated when anything about
/// it changed, memberships included.
pub(crate) fn apply(
    stored_users: &mut Vec<User>,
    stored_groups: &mut Vec<Group>,
    users: Vec<User>,
    groups: Vec<Group>,
    delete_untouched: bool,
    replace_groups: bool,
) -> IdentityImportResult {
    let groups = upsert(stored_groups, groups, delete_untouched, |g| &g.external_id);
    let users = if replace_groups {
        users
    } else {
        let still_stored: HashSet<&str> = stored_groups
            .iter()
            .map(|g| g.external_id.as_str())
            .collect();
        let before: HashMap<&str, &User> = stored_users
            .iter()
            .map(|u| (u.external_id.as_str(), u))
            .collect();
        users
            .into_iter()
            .map(|mut user| {
                if let Some(old) = before.get(user.external_id.as_str()) {
                    let mut merged: Vec<String> = old
                        .group_external_ids
                        .iter()
                        .flatten()
                        .filter(|g| still_stored.contains(g.as_str()))
                        .cloned()
                        .collect();
                    if !merged.is_empty() {
                        for group in user.group_external_ids.take().unwrap_or_default() {
                            if !merged.contains(&group) {
                                merged.push(group);
                            }
                        }
                        user.group_external_ids = Some(merged);
                    }
                }
                user
            })
            .collect()
    };
    IdentityImportResult {
        users: upsert(stored_users, users, delete_untouched, |u| &u.external_id),
        groups,
    }
}
