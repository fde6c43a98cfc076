//! The data source sync's wire types: the data objects a connector writes (one JSON array, the
//! data source element first) and the data source metadata sent before the import, which tells
//! Raito which object types, permissions and access provider types the source has.

use serde::{Deserialize, Serialize};

use super::{Tag, is_false};
use crate::output::json_text::write_json_str;

/// The standard data object type names (the `type` of a [`DataObject`]). A connector may add its
/// own, e.g. `materialized-view` or `warehouse`.
pub mod object_type {
    /// The data source itself: the first element of a full data source file.
    pub const DATASOURCE: &str = "datasource";
    /// A database.
    pub const DATABASE: &str = "database";
    /// A schema inside a database.
    pub const SCHEMA: &str = "schema";
    /// A table.
    pub const TABLE: &str = "table";
    /// A view.
    pub const VIEW: &str = "view";
    /// A column of a table or view (carries a `dataType`).
    pub const COLUMN: &str = "column";
    /// A dataset (e.g. BigQuery).
    pub const DATASET: &str = "dataset";
    /// A bucket of an object store (e.g. S3).
    pub const BUCKET: &str = "bucket";
    /// An object inside a bucket.
    pub const OBJECT: &str = "object";
    /// A folder (a key prefix in an object store).
    pub const FOLDER: &str = "folder";
    /// A file.
    pub const FILE: &str = "file";
}

/// The values of [`DataSourceMetaData::supported_features`].
pub mod feature {
    /// The source can mask columns (access providers with action `mask`).
    pub const COLUMN_MASKING: &str = "columnMasking";
    /// The source can filter rows (access providers with action `filtered`).
    pub const ROW_FILTERING: &str = "rowFiltering";
    /// The source can restrict access to some columns of a table.
    pub const COLUMN_FILTERING: &str = "columnFiltering";
    /// The source can share data with other accounts (access providers with action `share`).
    pub const DATA_SHARING: &str = "dataSharing";
}

/// Raito's source-independent permission levels: `write` implies `read`, `admin` implies both.
///
/// The metadata keeps its permission lists as `Vec<String>` (as on the wire, where Go sends
/// plain strings); use [`GlobalPermission::as_str`] to fill them without typos.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum GlobalPermission {
    /// Reading data (`read`).
    #[default]
    Read,
    /// Changing data (`write`); implies `read`.
    Write,
    /// Managing the object (`admin`); implies `write` and `read`.
    Admin,
}

impl GlobalPermission {
    /// The name on the wire: `read`, `write` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Whether holding `self` also grants `other` (`admin` ⊇ `write` ⊇ `read`).
    pub fn implies(self, other: GlobalPermission) -> bool {
        self >= other
    }
}

/// One data object (database, schema, table, column…), one element of the data source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataObject {
    /// The object's stable id in the source; children point at it with `parentExternalId`.
    /// For the `datasource` element it is the Raito data source id.
    #[serde(default)]
    pub external_id: String,
    /// The object's own name, e.g. `CUSTOMER`.
    #[serde(default)]
    pub name: String,
    /// The full path, e.g. `DB.SCHEMA.TABLE.COLUMN`; access and usage refer to objects by it.
    #[serde(default)]
    pub full_name: String,
    /// The object type, one of [`object_type`] or a connector-specific one.
    #[serde(default)]
    pub r#type: String,
    /// A free-text description (e.g. the table comment).
    #[serde(default)]
    pub description: String,
    /// The `externalId` of the parent object; empty means directly under the data source.
    #[serde(default)]
    pub parent_external_id: String,
    /// Tags on the object.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The column's data type as the source names it (e.g. `VARCHAR(255)`); columns only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
}

impl DataObject {
    /// Appends the object as JSON: byte for byte what `serde_json::to_writer` writes for it (the
    /// keys of the serde derive in the same order, `dataType` left out when `None`, the same
    /// escapes), without serde's calls per field and with runs of plain text copied whole. The
    /// data source file holds one object per column, table, schema…, so this is on the metadata
    /// sync's hot path; the derive stays for reading files back (and the tests compare the two).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Taken apart field by field, so that a field added to the struct does not compile
        // until it is written here too (the tests then check its place and form).
        let DataObject {
            external_id,
            name,
            full_name,
            r#type,
            description,
            parent_external_id,
            tags,
            data_type,
        } = self;
        out.extend_from_slice(b"{\"externalId\":");
        write_json_str(out, external_id);
        out.extend_from_slice(b",\"name\":");
        write_json_str(out, name);
        out.extend_from_slice(b",\"fullName\":");
        write_json_str(out, full_name);
        out.extend_from_slice(b",\"type\":");
        write_json_str(out, r#type);
        out.extend_from_slice(b",\"description\":");
        write_json_str(out, description);
        out.extend_from_slice(b",\"parentExternalId\":");
        write_json_str(out, parent_external_id);
        out.extend_from_slice(b",\"tags\":[");
        for (n, tag) in tags.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            tag.write_json(out);
        }
        if let Some(data_type) = data_type {
            out.extend_from_slice(b"],\"dataType\":");
            write_json_str(out, data_type);
            out.push(b'}');
        } else {
            out.extend_from_slice(b"]}");
        }
    }
}

/// Here rather than beside [`Tag`]: data objects are the only tagged elements written by hand.
impl Tag {
    /// Appends the tag as JSON, as `serde_json` writes it (see [`DataObject::write_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Taken apart for the same reason as in `DataObject::write_json`.
        let Tag { key, value, source } = self;
        out.extend_from_slice(b"{\"key\":");
        write_json_str(out, key);
        out.extend_from_slice(b",\"value\":");
        write_json_str(out, value);
        out.extend_from_slice(b",\"source\":");
        write_json_str(out, source);
        out.push(b'}');
    }
}

/// Everything Raito needs to know about a data source's kind, sent with
/// `setDataSourceMetaData`. Every field is left out when empty, except `supportsApInheritance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceMetaData {
    /// The object types this source has, with their permissions and allowed children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_object_types: Vec<DataObjectType>,
    /// The kinds of access provider (role, policy, grant…) this source supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_provider_types: Vec<AccessProviderType>,
    /// Optional features the connector supports, values from [`feature`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_features: Vec<String>,
    /// The kind of data source, e.g. `snowflake`, `postgres`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// The icon Raito shows for it (usually the same as `type`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// At which object levels usage is reported; `None` when the source has no usage sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_meta_info: Option<UsageMetaInfo>,
    /// Whether an access provider may inherit from another one (roles granted to roles).
    /// Always sent, also when `false`.
    #[serde(default)]
    pub supports_ap_inheritance: bool,
    /// How the source masks columns; only with the `columnMasking` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masking_metadata: Option<MaskingMetadata>,
    /// How the source filters rows; only with the `rowFiltering` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_metadata: Option<FilterMetadata>,
    /// How the source shares data; only with the `dataSharing` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_metadata: Option<ShareMetadata>,
}

/// One object type of the source (`table`, `schema`…) and what can be granted on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataObjectType {
    /// The type's name as used in `DataObject.type`, e.g. `table`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The standard type it behaves as (one of [`object_type`]), e.g. `table` for `view`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// The name shown to people, e.g. `Table`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The icon Raito shows for objects of this type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// The permissions that exist on objects of this type (e.g. `SELECT`, `INSERT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<DataObjectTypePermission>,
    /// The actions usage can report on objects of this type (e.g. `SELECT`, `UPDATE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<DataObjectTypeAction>,
    /// The type names that can be direct children of this type (e.g. `schema` under `database`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// Where objects of this type come from: empty for the source's own, `Shared` for data
    /// shared into it by another account (raito-io/cli base/data_source/api.go `OriginShared`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_origin: String,
    /// How objects of this type can be shared; only with the `dataSharing` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_properties: Option<DataObjectShareProperties>,
}

/// How objects of a type are shared (Raito's `DataObjectSharePropertiesInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataObjectShareProperties {
    /// The permissions on such an object a share may carry, e.g. `USAGE on DATABASE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shareable_permissions: Vec<String>,
    /// The types such an object becomes on the receiving side, e.g. `shared-database`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corresponding_shared_types: Vec<String>,
}

/// One permission of an object type, and how it maps onto Raito's global permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataObjectTypePermission {
    /// The permission as the source names it, e.g. `SELECT`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub permission: String,
    /// The global permissions (`read`, `write`, `admin`, see [`GlobalPermission`]) that grant it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_permissions: Vec<String>,
    /// What the permission allows, shown to people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The global permissions usage of this permission counts as (e.g. `read` for `SELECT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_global_permissions: Vec<String>,
    /// The permission exists (and is imported) but Raito may not grant it, e.g. `OWNERSHIP`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cannot_be_granted: bool,
}

/// An action usage may report on an object type, and the global actions it counts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataObjectTypeAction {
    /// The action as the source names it, e.g. `SELECT` or `INSERT`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// The global actions it counts as (`read`, `write`, `admin`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_actions: Vec<String>,
}

/// At which object levels usage is reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetaInfo {
    /// The `name` of the level Raito shows by default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_level: String,
    /// The levels usage can be aggregated at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<UsageLevel>,
}

/// One usage level: a name and the object types it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UsageLevel {
    /// The level's name, e.g. `table` or `column`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object type names usage is reported on at this level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_object_types: Vec<String>,
}

/// One kind of access provider the source supports (e.g. `role`, `databaseRole`, `policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessProviderType {
    /// The type's name, used as the `type` of access providers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// The name shown to people, e.g. `Database Role`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The icon Raito shows for it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// Whether it is a named object in the source (a role) rather than loose grants.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_named_entity: bool,
    /// Whether Raito may create new ones.
    #[serde(default, skip_serializing_if = "is_false")]
    pub can_be_created: bool,
    /// Whether a user can take it on (`USE ROLE`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub can_be_assumed: bool,
    /// Whether a user can have several of them active at once.
    #[serde(default, skip_serializing_if = "is_false")]
    pub can_assume_multiple: bool,
    /// The identity store type whose users and groups may be in its who (e.g. the source's own).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity_store_type_for_who: String,
    /// The access provider types allowed in its who (inheritance), e.g. `["role"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_who_access_provider_types: Vec<String>,
    /// The object type all of its what items must share as a parent (e.g. `database`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_parent_type: Option<String>,
}

/// How the source masks columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MaskingMetadata {
    /// The masking methods the source offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mask_types: Vec<MaskingType>,
    /// The `externalId` of the mask type used when none is chosen.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_mask_external_name: String,
    /// Permissions that let a user see unmasked values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mask_override_permissions: Vec<String>,
    /// The object types a mask can be put on (e.g. `column`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applicable_types: Vec<String>,
}

/// One masking method, e.g. `SHA256` or `NULL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MaskingType {
    /// The name shown to people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// The method's id in the connector.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub external_id: String,
    /// What the method does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The column data types it applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_types: Vec<String>,
}

/// How the source filters rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FilterMetadata {
    /// Permissions that let a user see all rows despite a filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter_override_permissions: Vec<String>,
    /// The object types a row filter can be put on (e.g. `table`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applicable_types: Vec<String>,
}

/// How the source shares data with other accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShareMetadata {
    /// The object types that can be shared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applicable_types: Vec<String>,
    /// The object type all shared objects must have as a common parent (e.g. `database`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub common_parent_type: String,
    /// This source's identifier as a share provider (e.g. the account locator).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_source_share_identifier: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;
    use crate::output::json_text::any_text;

    fn written(object: &DataObject) -> Vec<u8> {
        let mut out = Vec::new();
        object.write_json(&mut out);
        out
    }

    fn tag(key: &str, value: &str, source: &str) -> Tag {
        Tag {
            key: key.to_owned(),
            value: value.to_owned(),
            source: source.to_owned(),
        }
    }

    #[test]
    fn data_objects_are_written_byte_for_byte_as_serde_json_writes_them() {
        let column = DataObject {
            external_id: "bench.app.t1.amount".to_owned(),
            name: "amount".to_owned(),
            full_name: "bench.app.t1.amount".to_owned(),
            r#type: object_type::COLUMN.to_owned(),
            description: "the order's amount, in cents".to_owned(),
            parent_external_id: "bench.app.t1".to_owned(),
            tags: Vec::new(),
            data_type: Some("numeric(12,2)".to_owned()),
        };
        let objects = [
            DataObject::default(),
            DataObject {
                external_id: "ds-1".to_owned(),
                name: "warehouse".to_owned(),
                full_name: "ds-1".to_owned(),
                r#type: object_type::DATASOURCE.to_owned(),
                ..Default::default()
            },
            column.clone(),
            // A type that is present but empty is written, unlike `None`.
            DataObject {
                data_type: Some(String::new()),
                ..column.clone()
            },
            DataObject {
                external_id: "\"Sales.EU\".\"Orders 1\"".to_owned(),
                name: "Orders \"1\"\\".to_owned(),
                full_name: "café.Lab.\"Orders 1\".Amount €".to_owned(),
                r#type: object_type::TABLE.to_owned(),
                description: "line 1\nline 2\r\n\ttab \u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f} / </script> \u{2028}\u{1f600}".to_owned(),
                parent_external_id: "\\\\".to_owned(),
                tags: vec![
                    tag("", "", ""),
                    tag("raito_owner", "finance-team", "postgresql"),
                    tag("k\"\\\u{1}", "é€😀\n", "s\u{1f}"),
                ],
                data_type: None,
            },
            DataObject {
                tags: vec![tag("pii", "", "")],
                data_type: Some("character varying(255)[]\u{0}\"".to_owned()),
                ..column.clone()
            },
        ];
        for object in &objects {
            assert_eq!(
                String::from_utf8(written(object)).unwrap(),
                serde_json::to_string(object).unwrap()
            );
        }
        // Appended: what was in the buffer stays.
        let mut out = b",\n".to_vec();
        objects[4].write_json(&mut out);
        assert_eq!(out[2..], serde_json::to_vec(&objects[4]).unwrap());
        // And read back by the derive as the same object.
        let read: DataObject = serde_json::from_slice(&out[2..]).unwrap();
        assert_eq!(read, objects[4]);
    }

    #[test]
    fn tags_are_written_byte_for_byte_as_serde_json_writes_them() {
        for tag in [
            Tag::default(),
            tag("owner", "finance-team", "snowflake"),
            tag("\"", "\\", "\u{0}\u{1f}\u{7f}é"),
        ] {
            let mut out = Vec::new();
            tag.write_json(&mut out);
            assert_eq!(out, serde_json::to_vec(&tag).unwrap(), "{tag:?}");
        }
    }

    fn any_tag() -> impl Strategy<Value = Tag> {
        (any_text(), any_text(), any_text()).prop_map(|(key, value, source)| Tag {
            key,
            value,
            source,
        })
    }

    proptest! {
        #![proptest_config(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        })]

        /// Any data object: the same bytes as serde_json.
        #[test]
        fn any_data_object_is_written_as_serde_json_writes_it(
            texts in proptest::collection::vec(any_text(), 6),
            tags in proptest::collection::vec(any_tag(), 0..4),
            data_type in proptest::option::of(any_text()),
        ) {
            let object = DataObject {
                external_id: texts[0].clone(),
                name: texts[1].clone(),
                full_name: texts[2].clone(),
                r#type: texts[3].clone(),
                description: texts[4].clone(),
                parent_external_id: texts[5].clone(),
                tags,
                data_type,
            };
            prop_assert_eq!(written(&object), serde_json::to_vec(&object).unwrap());
        }
    }
}
