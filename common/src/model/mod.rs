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

/// Reading any scalar into a text field, as the Go CLI reads its access export: it decodes YAML
/// with `gopkg.in/yaml.v2` (`base/access_provider/sync_to_target/access_provider_file_parser.go`),
/// which puts a scalar's text into a Go `string` field whatever it resolves to, so `id: 11111111`,
/// `namingHint: 2024` and `users: [007]` are the strings "11111111", "2024" and "007". The YAML
/// reader keeps a number whose spelling is not its canonical one (`007`, `1e3`, `0x1F`) as its
/// text, so these read back exactly as written; a canonical number or a boolean is read as its
/// canonical text (`True` reads as "true"). `null` reads as the empty text or list.
pub(crate) mod scalar_text {
    use std::fmt;

    use serde::de::{self, Deserializer, SeqAccess, Visitor};

    struct Text;

    impl<'de> Visitor<'de> for Text {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string (or a number or boolean, read as its text)")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // serde_json's rendering keeps the `.0` of a whole float (`1.0`, as written).
            Ok(Some(match serde_json::Number::from_f64(v) {
                Some(number) => number.to_string(),
                None => v.to_string(),
            }))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Text)
        }
    }

    /// A text field; `null` reads as "".
    pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(d.deserialize_any(Text)?.unwrap_or_default())
    }

    /// An optional text field; `null` reads as `None`.
    pub(crate) fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(Text)
    }

    /// A list of texts; `null` reads as the empty list, a `null` item as "".
    pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(List)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element::<Item>()? {
                    items.push(item.0);
                }
                Ok(items)
            }
        }
        struct Item(String);
        impl<'de> serde::Deserialize<'de> for Item {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                string(d).map(Item)
            }
        }
        d.deserialize_any(List)
    }
}
