//! Raito's wire formats, one file per sync: identities, data source (objects and metadata),
//! access (imported access providers, the export document, feedback) and usage. Field names are
//! exactly those on the wire, `Option` fields are left out when `None`; plain data, no I/O.
//! The access export document is read leniently but keeps the keys it does not know: see [`access`].

use serde::{Deserialize, Deserializer, Serialize};

pub mod access;
pub mod data_source;
pub mod identity;
pub mod usage;

/// A key/value label attached to a user, group, data object or access provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// The tag's name, e.g. `owner` or `pii`.
    #[serde(default)]
    pub key: String,
    /// The tag's value, e.g. `finance-team`; may be empty for a flag-like tag.
    #[serde(default)]
    pub value: String,
    /// Where the tag comes from, e.g. the connector or system that produced it (`snowflake`).
    #[serde(default)]
    pub source: String,
}

/// Reads `null` as the type's default value (Go writes nil slices and pointers as `null`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `skip_serializing_if` helper for Go's `omitempty` on booleans (a `false` is left out).
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}
