//! The identity store sync's wire types: the users and groups a connector writes (two separate
//! files, each one JSON array) and the identity store metadata sent before the import.

use serde::{Deserialize, Serialize};

use super::Tag;

/// A user (or service account) of an identity store, one element of the users file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The identity store's own stable id of the user; other files refer to the user by it.
    #[serde(default)]
    pub external_id: String,
    /// The user's display name, e.g. `Jane Doe`.
    #[serde(default)]
    pub name: String,
    /// The login/account name, e.g. `jane.doe` or `JDOE`; access `who.users` use this name.
    #[serde(default)]
    pub user_name: String,
    /// The user's e-mail address, used by Raito to link the same person across identity stores.
    #[serde(default)]
    pub email: String,
    /// The `externalId`s of the groups the user is a direct member of.
    #[serde(default)]
    pub group_external_ids: Vec<String>,
    /// Tags on the user.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Whether this is a machine (service) account; `None` when the store cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_machine: Option<bool>,
}

/// A group of an identity store, one element of the groups file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The identity store's own stable id of the group; members and children refer to it.
    #[serde(default)]
    pub external_id: String,
    /// The group's technical name, e.g. `data-engineers`; access `who.groups` use this name.
    #[serde(default)]
    pub name: String,
    /// The name shown to people, e.g. `Data Engineers`.
    #[serde(default)]
    pub display_name: String,
    /// A free-text description of the group.
    #[serde(default)]
    pub description: String,
    /// The `externalId`s of the groups this group is a direct member of (nesting).
    #[serde(default)]
    pub parent_group_external_ids: Vec<String>,
    /// Tags on the group.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// What Raito needs to know about an identity store, sent with `setIdentityStoreMetaData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityStoreMetaData {
    /// The kind of identity store, e.g. `okta`, `azure-ad`, `postgres`.
    #[serde(default)]
    pub r#type: String,
    /// The icon Raito shows for it (usually the same as `type`).
    #[serde(default)]
    pub icon: String,
    /// Whether its users can be linked to users of other identity stores (by e-mail).
    #[serde(default)]
    pub can_be_linked: bool,
    /// Whether it can be the master identity store that others are linked to.
    #[serde(default)]
    pub can_be_master: bool,
}
