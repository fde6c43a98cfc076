//! The data access sync's wire types: the access providers a connector imports into Raito
//! (target → Raito), the export document Raito Cloud sends (Raito → target, YAML or JSON), and
//! the feedback written back after applying it, one element per exported access provider.
//!
//! Unknown keys in the export document: Raito Cloud adds fields to the export without notice
//! (real exports carry e.g. `dataObject.id`, absent from the Go CLI's model), and the Go CLI
//! ignores them (`base/access_provider/sync_to_target/access_provider_file_parser.go`), so
//! rejecting them would fail access providers that Go applies. Dropping them silently is no
//! better: someone should see that Raito sent something new. So every object of the export tree
//! keeps the keys it does not know in `unknown_fields` (written back unchanged), and
//! [`ExportedAccessProvider::unknown_field_paths`] lists them: the pipeline applies what is
//! understood and puts one warning per unknown key in that access provider's feedback. What
//! would change the meaning of access if ignored (an action a connector cannot apply) stays an
//! error of that access provider.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Tag, null_as_default, scalar_text};

/// Keys of an object that its Rust type does not model, with their values as received.
pub type UnknownFields = BTreeMap<String, serde_json::Value>;

/// The prefix of an `inheritFrom` entry that names an access provider by its Raito id
/// (`ID:<raito id>`) because it has no actual name in the target yet.
pub const INHERIT_FROM_ID_PREFIX: &str = "ID:";

/// The Raito id named by an `inheritFrom` entry written `ID:<raito id>`, or `None` when the
/// entry is an actual name in the target.
pub fn inherit_from_raito_id(entry: &str) -> Option<&str> {
    entry.strip_prefix(INHERIT_FROM_ID_PREFIX)
}

/// How the comment of a role Raito manages starts. A role created by a connector's access apply
/// carries [`managed_comment`]`(id)`, `Managed by Raito Cloud (access provider <id>)` with
/// Raito's id of the access provider; connectors alter, rename, drop and revoke from such
/// roles only.
pub const MANAGED_PREFIX: &str = "Managed by Raito Cloud (access provider ";

/// The comment that marks a role as managed for the access provider with Raito id `id`.
pub fn managed_comment(id: &str) -> String {
    format!("{MANAGED_PREFIX}{id})")
}

/// The Raito id of the access provider a role is managed for, from the role's comment, or
/// `None` when the role is not managed by Raito.
pub fn managed_for(comment: &str) -> Option<&str> {
    comment.strip_prefix(MANAGED_PREFIX)?.strip_suffix(')')
}

/// What an access provider does with its what items. Lower case on the wire; read
/// case-insensitively (Raito's YAML has been seen with `Mask`), an unknown value is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Deprecated (`promise`): promises now live on the who items. Accepted, never produced.
    Promise,
    /// Grant the permissions on the what items to the who (`grant`).
    #[default]
    Grant,
    /// Explicitly deny the permissions (`deny`).
    Deny,
    /// Mask the what columns for the who (`mask`).
    Mask,
    /// Filter the rows of the what table for the who (`filtered`).
    Filtered,
    /// Deprecated (`purpose`): purposes became grant categories. Accepted, never produced.
    Purpose,
    /// Share the what items with other accounts (`share`).
    Share,
}

impl Action {
    /// Every action, in Raito's order.
    pub const ALL: [Action; 7] = [
        Self::Promise,
        Self::Grant,
        Self::Deny,
        Self::Mask,
        Self::Filtered,
        Self::Purpose,
        Self::Share,
    ];

    /// The name on the wire, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promise => "promise",
            Self::Grant => "grant",
            Self::Deny => "deny",
            Self::Mask => "mask",
            Self::Filtered => "filtered",
            Self::Purpose => "purpose",
            Self::Share => "share",
        }
    }

    /// Whether Raito has deprecated this action (`promise`, `purpose`).
    pub fn is_deprecated(self) -> bool {
        matches!(self, Self::Promise | Self::Purpose)
    }
}

impl Action {
    fn promise() -> Self {
        Self::Promise
    }

    /// An export's `action`: `null` reads as `promise`, like an absent one.
    fn or_promise<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<Action>::deserialize(deserializer)?.unwrap_or(Self::Promise))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action name that is none of [`Action::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown access provider action {0:?}: expected one of grant, deny, mask, filtered, share \
     (or the deprecated promise, purpose)"
)]
pub struct UnknownAction(
    /// The action name as received.
    pub String,
);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A data object named by its full name and type, as used in what items and usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataObjectReference {
    /// The object's full name, e.g. `DB.SCHEMA.TABLE` (the `fullName` of the data object).
    #[serde(default, deserialize_with = "scalar_text::string")]
    pub full_name: String,
    /// The object's type, e.g. `table` (see `data_source::object_type`).
    #[serde(default, deserialize_with = "scalar_text::string")]
    pub r#type: String,
    /// Raito's own id of the object; only in exports (Raito sends it, the Go CLI ignores it).
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// Keys this type does not model, as received (see the module docs).
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

impl DataObjectReference {
    /// A reference to the object with this full name and type.
    pub fn new(full_name: impl Into<String>, r#type: impl Into<String>) -> Self {
        Self {
            full_name: full_name.into(),
            r#type: r#type.into(),
            ..Self::default()
        }
    }
}

/// One what item: permissions on one data object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WhatItem {
    /// The data object the permissions are on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data_object: DataObjectReference,
    /// The permissions as the source names them, e.g. `["SELECT", "INSERT"]`.
    #[serde(default, deserialize_with = "scalar_text::list")]
    pub permissions: Vec<String>,
    /// Keys this type does not model, as received (see the module docs).
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

/// Who an imported access provider applies to (target → Raito).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Who {
    /// User names (`userName` in the identity store) directly in it.
    #[serde(default)]
    pub users: Vec<String>,
    /// Group names directly in it.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `externalId`s of the access providers it inherits from (e.g. roles granted to the role).
    #[serde(default)]
    pub access_providers: Vec<String>,
    /// Identifiers of data share recipients (action `share` only); left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

/// An access control that exists in the target (a role, a grant, a policy), imported into Raito.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessProvider {
    /// The access provider's stable id in the target (e.g. the role name).
    #[serde(default)]
    pub external_id: String,
    /// The name shown in Raito.
    #[serde(default)]
    pub name: String,
    /// The name Raito should base a target name on if it takes this access provider over.
    #[serde(default)]
    pub naming_hint: String,
    /// The access provider type (one of the metadata's `accessProviderTypes`), e.g. `role`.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub r#type: Option<String>,
    /// What it does with its what items.
    pub action: Action,
    /// The source's policy text, for connectors whose access is a policy document (e.g. IAM).
    #[serde(default)]
    pub policy: String,
    /// Who it applies to; `None` when the connector cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<Who>,
    /// The name it really has in the target, e.g. the role name.
    #[serde(default)]
    pub actual_name: String,
    /// The permissions it gives, per data object.
    #[serde(default)]
    pub what: Vec<WhatItem>,
    /// Raito may show it but never manage it (system and protected roles).
    #[serde(default)]
    pub not_internalizable: bool,
    /// Raito may not change its who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who_locked: Option<bool>,
    /// Why the who is locked, shown to people.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub who_locked_reason: Option<String>,
    /// Raito may not change what it inherits from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inheritance_locked: Option<bool>,
    /// Why the inheritance is locked, shown to people.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub inheritance_locked_reason: Option<String>,
    /// Raito may not change its what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_locked: Option<bool>,
    /// Why the what is locked, shown to people.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub what_locked_reason: Option<String>,
    /// Raito may not rename it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_locked: Option<bool>,
    /// Why the name is locked, shown to people.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub name_locked_reason: Option<String>,
    /// Raito may not delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_locked: Option<bool>,
    /// Why deletion is locked, shown to people.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete_locked_reason: Option<String>,
    /// Raito may not change its owners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners_locked: Option<bool>,
    /// Why the owners are locked, shown to people.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub owners_locked_reason: Option<String>,
    /// The connector could not express all of it (some who, what or permissions are missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<bool>,
    /// Tags on the access provider.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// For action `share`: the full name of the data object all what items share as a parent.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub common_what_data_object: Option<String>,
}

/// The access export document Raito Cloud sends (as YAML or JSON): the access providers to
/// apply to one data source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportDocument {
    /// When Raito calculated this access (unix epoch, as Raito sends it).
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_calculated: i64,
    /// When Raito built this file (unix epoch milliseconds in the samples seen); the CLI reports
    /// it back as the `receivedDate` of the `AccessSync` subtask event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_build_time: Option<i64>,
    /// The access providers to apply (all of them, or only those out of sync in a partial sync).
    #[serde(default, deserialize_with = "null_as_default")]
    pub access_providers: Vec<ExportedAccessProvider>,
    /// Keys this type does not model, as received (see the module docs).
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

impl ExportDocument {
    /// The top-level keys of the document this type does not model (see the module docs); the
    /// access providers report their own with [`ExportedAccessProvider::unknown_field_paths`].
    pub fn unknown_field_paths(&self) -> Vec<String> {
        self.unknown_fields.keys().cloned().collect()
    }
}

/// Who an exported access provider must apply to (Raito → target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportedWho {
    /// Account names of users directly in it.
    #[serde(
        default,
        deserialize_with = "scalar_text::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub users: Vec<String>,
    /// Group names directly in it.
    #[serde(
        default,
        deserialize_with = "scalar_text::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// The access providers it inherits from: their actual names in the target, or
    /// `ID:<raito id>` for one not created yet (see [`inherit_from_raito_id`]).
    #[serde(
        default,
        deserialize_with = "scalar_text::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub inherit_from: Vec<String>,
    /// Identifiers of data share recipients (action `share` only).
    #[serde(
        default,
        deserialize_with = "scalar_text::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recipients: Vec<String>,
    /// Keys this type does not model, as received (see the module docs).
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

/// An owner of an exported access provider; exactly one of the fields is usually set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// The owner's e-mail address.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<String>,
    /// The owner's account name in the target.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub account_name: Option<String>,
    /// The owning group's name in the target.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_name: Option<String>,
    /// Keys this type does not model, as received (see the module docs).
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

/// One access provider of the export document: what Raito wants to exist in the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportedAccessProvider {
    /// Raito's id of the access provider, the feedback's `externalId` and `accessId` (required).
    #[serde(deserialize_with = "scalar_text::string")]
    pub id: String,
    /// The name shown in Raito.
    #[serde(default, deserialize_with = "scalar_text::string")]
    pub name: String,
    /// A free-text description (e.g. for the role comment).
    #[serde(default, deserialize_with = "scalar_text::string")]
    pub description: String,
    /// The name to derive the target name from, within the target's naming rules.
    #[serde(default, deserialize_with = "scalar_text::string")]
    pub naming_hint: String,
    /// The access provider type (one of the metadata's `accessProviderTypes`); `None` = default.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub r#type: Option<String>,
    /// Its id in the target, when it already exists there (from an import or earlier feedback).
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// What to do with the what items. Absent or `null` is `promise`, Go's zero value
    /// (`base/access_provider/types/action.go`).
    #[serde(default = "Action::promise", deserialize_with = "Action::or_promise")]
    pub action: Action,
    /// Who it must apply to, complete (not a diff).
    #[serde(default, deserialize_with = "null_as_default")]
    pub who: ExportedWho,
    /// Who was removed since the last sync, when Raito knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_who: Option<ExportedWho>,
    /// Delete it from the target instead of applying it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delete: bool,
    /// The who is locked in Raito (owned by the target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who_locked: Option<bool>,
    /// The inheritance is locked in Raito (owned by the target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inheritance_locked: Option<bool>,
    /// The what is locked in Raito (owned by the target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_locked: Option<bool>,
    /// Deletion is locked in Raito.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_locked: Option<bool>,
    /// For action `filtered`: the row filter as a SQL-like rule text.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub policy_rule: Option<String>,
    /// For action `filtered`: the row filter as Raito's expression tree, kept as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_criteria: Option<serde_json::Value>,
    /// The name it has in the target, when it already exists there; keep it unless the naming
    /// hint's base name changed.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_name: Option<String>,
    /// The permissions it must give, per data object, complete (not a diff).
    #[serde(default, deserialize_with = "null_as_default")]
    pub what: Vec<WhatItem>,
    /// What items removed since the last sync, to revoke.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delete_what: Vec<WhatItem>,
    /// For action `share`: the full name of the common parent of the what items.
    #[serde(
        default,
        deserialize_with = "scalar_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub common_data_object: Option<String>,
    /// Its owners in Raito.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub owners: Vec<Owner>,
    /// Keys this type does not model, as received (see the module docs).
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

impl ExportedAccessProvider {
    /// The paths of every key in this access provider (and its who, what items and owners)
    /// that the model does not know, e.g. `["whoAbacRule", "what[0].columns"]`. Empty when
    /// everything Raito sent is understood.
    pub fn unknown_field_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        push_keys(&mut paths, "", &self.unknown_fields);
        push_keys(&mut paths, "who.", &self.who.unknown_fields);
        if let Some(deleted_who) = &self.deleted_who {
            push_keys(&mut paths, "deletedWho.", &deleted_who.unknown_fields);
        }
        for (list, items) in [("what", &self.what), ("deleteWhat", &self.delete_what)] {
            for (i, item) in items.iter().enumerate() {
                push_keys(&mut paths, &format!("{list}[{i}]."), &item.unknown_fields);
                push_keys(
                    &mut paths,
                    &format!("{list}[{i}].dataObject."),
                    &item.data_object.unknown_fields,
                );
            }
        }
        for (i, owner) in self.owners.iter().enumerate() {
            push_keys(&mut paths, &format!("owners[{i}]."), &owner.unknown_fields);
        }
        paths
    }
}

fn push_keys(paths: &mut Vec<String>, prefix: &str, fields: &UnknownFields) {
    paths.extend(fields.keys().map(|key| format!("{prefix}{key}")));
}

/// The result of applying one exported access provider, as a connector reports it (Go's
/// connector-side `AccessProviderSyncFeedback`). The file uploaded to Raito holds it as a
/// [`FeedbackElement`], the shape Raito imports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessProviderFeedback {
    /// Raito's id of the access provider (the export's `id`).
    pub access_provider: String,
    /// The name really used in the target, e.g. the role name.
    pub actual_name: String,
    /// Its id in the target, for Raito to match later imports.
    pub external_id: Option<String>,
    /// The access provider type it was applied as.
    pub r#type: Option<String>,
    /// Why applying it failed; empty on success.
    pub errors: Vec<String>,
    /// Things applied only partly or differently than asked.
    pub warnings: Vec<String>,
}

/// One element of the feedback file Raito imports (`importAccessProvidersSyncFeedback`): the
/// nested "legacy" shape the Go CLI converts every feedback into before writing it, because
/// Raito's appserver reads only that (`base/access_provider/sync_to_target/model.go`,
/// `accessProviderFeedbackInformation`, and `sync_to_target.go`, `AddAccessProviderFeedback`).
/// One element per access provider: Go refuses a second element with the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackElement {
    /// Raito's id of the access provider.
    pub external_id: String,
    /// Always exactly one item, for the same access provider.
    pub access: Vec<FeedbackAccess>,
}

/// The one item of a [`FeedbackElement`] (Go's `accessSyncFeedbackInformation`). Every key is
/// written, `null` where Go writes a nil pointer or slice: no `omitempty` in Go's tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackAccess {
    /// Raito's id of the access provider, again.
    pub access_id: String,
    /// The name really used in the target ("" when it failed before one was chosen).
    pub actual_name: String,
    /// Its id in the target.
    pub external_id: Option<String>,
    /// The access provider type it was applied as.
    pub r#type: Option<String>,
    /// Why applying it failed; `null` when nothing failed.
    pub errors: Option<Vec<String>>,
    /// Things applied only partly or differently than asked; `null` when none.
    pub warnings: Option<Vec<String>>,
}

impl From<&AccessProviderFeedback> for FeedbackElement {
    fn from(feedback: &AccessProviderFeedback) -> Self {
        // A Go connector leaves the slices nil when there is nothing to say: `null`.
        let list = |items: &Vec<String>| (!items.is_empty()).then(|| items.clone());
        Self {
            external_id: feedback.access_provider.clone(),
            access: vec![FeedbackAccess {
                access_id: feedback.access_provider.clone(),
                actual_name: feedback.actual_name.clone(),
                external_id: feedback.external_id.clone(),
                r#type: feedback.r#type.clone(),
                errors: list(&feedback.errors),
                warnings: list(&feedback.warnings),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_other_comments_are_not_managed() {
        assert_eq!(managed_for(&managed_comment("ap-1")), Some("ap-1"));
        assert_eq!(managed_for(&managed_comment("a (b)")), Some("a (b)"));
        assert_eq!(managed_for("Managed by Raito Cloud"), None);
        assert_eq!(managed_for("analysts"), None);
        assert_eq!(managed_for(""), None);
    }
}
