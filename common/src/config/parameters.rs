//! A target's connector parameters: every key of the target that is not one of the CLI's own,
//! plus the keys merged from its `secret:`. Each value remembers whether it is sensitive, and
//! the typed getters turn values into what a connector needs, with errors naming file,
//! target and key.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde_json::Value;

use super::error::{Error, Location, TargetRef};

/// Parts of a key that make its value sensitive whatever its origin (compared in lower case).
const SENSITIVE_KEY_PARTS: &[&str] = &["password", "secret", "token", "private-key", "api-key"];

/// Whether a parameter called `key` holds a secret by its name alone.
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE_KEY_PARTS.iter().any(|part| key.contains(part))
}

/// The connector parameters of one target: key -> value (a string, number, boolean, list or
/// map, as written in YAML), each with a sensitive flag. Sensitive values are shown as
/// `"[redacted]"` by `Debug` and never appear in error messages.
///
/// A key with no value (`key:` or `key: null`) counts as absent.
#[derive(Clone)]
pub struct Parameters {
    origin: String,
    target: String,
    entries: BTreeMap<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    value: Value,
    sensitive: bool,
    /// Written in the target itself (not merged from a secret).
    written: bool,
}

impl Parameters {
    /// No parameters, for target `target` of file `origin` (both used in error messages).
    pub fn new(origin: &str, target: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            target: target.to_owned(),
            entries: BTreeMap::new(),
        }
    }

    /// Sets `key` to `value`, replacing any earlier value. The value is sensitive if
    /// `sensitive` is true or if the key's name says so (it contains `password`, `secret`,
    /// `token`, `private-key` or `api-key`).
    pub fn insert(&mut self, key: &str, value: serde_json::Value, sensitive: bool) {
        self.put(key, value, sensitive, false);
    }

    /// Like [`Parameters::insert`], for a key written in the target itself: a connector refuses
    /// one it does not know (see [`Parameters::written_keys`]).
    pub fn insert_written(&mut self, key: &str, value: serde_json::Value, sensitive: bool) {
        self.put(key, value, sensitive, true);
    }

    fn put(&mut self, key: &str, value: serde_json::Value, sensitive: bool, written: bool) {
        let sensitive = sensitive || is_sensitive_key(key);
        self.entries.insert(
            key.to_owned(),
            Entry {
                value,
                sensitive,
                written,
            },
        );
    }

    /// The keys written in the target itself (not merged from a secret), in alphabetical order:
    /// each must be a parameter of the connector (secrets may hold more).
    pub fn written_keys(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.written)
            .map(|(key, _)| key.as_str())
    }

    /// Whether `key` has a value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys, in alphabetical order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether the value of `key` is sensitive (read from a secret, or a secret by its name).
    pub fn is_sensitive(&self, key: &str) -> bool {
        self.entries.get(key).is_some_and(|entry| entry.sensitive)
    }

    /// The name of the target these parameters belong to.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The file these parameters come from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The value of `key` as a string; numbers and booleans are written out.
    pub fn string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(entry) => scalar_string(&entry.value).map(Some).ok_or_else(|| {
                self.invalid(
                    key,
                    format!("expected a single value, found {}", kind(&entry.value)),
                )
            }),
        }
    }

    /// The value of `key` as a string; an error naming file, target and key if it is absent.
    pub fn required_string(&self, key: &str) -> Result<String, Error> {
        self.string(key)?.ok_or_else(|| Error::Missing {
            at: self.location(key),
        })
    }

    /// The value of `key` as a secret string (whether or not it is marked sensitive).
    pub fn secret(&self, key: &str) -> Result<Option<SecretString>, Error> {
        Ok(self.string(key)?.map(SecretString::from))
    }

    /// The value of `key` as a boolean: `true`/`false`, also written as strings (any case).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(entry) => parse_bool(&entry.value).map(Some).ok_or_else(|| {
                self.invalid(
                    key,
                    format!("expected true or false, found {}", self.shown(entry)),
                )
            }),
        }
    }

    /// The value of `key` as a port-sized number: `5432` or `"5432"`.
    pub fn u16(&self, key: &str) -> Result<Option<u16>, Error> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match &entry.value {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            self.invalid(
                key,
                format!(
                    "expected a whole number from 0 to 65535, found {}",
                    self.shown(entry)
                ),
            )
        })
    }

    /// The value of `key` as a whole number within `range` (`8` or `"8"`); anything else is
    /// an error saying the range.
    pub fn number_in(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Option<u32>, Error> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                self.invalid(
                    key,
                    format!("must be a number from {} to {}", range.start(), range.end()),
                )
            })
    }

    /// The value of `key` as a list of strings: a YAML list, or one value as a list of one
    /// (no splitting on commas). Absent: an empty list.
    pub fn list(&self, key: &str) -> Result<Vec<String>, Error> {
        let Some(entry) = self.get(key) else {
            return Ok(Vec::new());
        };
        match &entry.value {
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    scalar_string(item).ok_or_else(|| {
                        self.invalid(
                            key,
                            format!(
                                "expected a list of single values, found {} in it",
                                kind(item)
                            ),
                        )
                    })
                })
                .collect(),
            value => scalar_string(value).map(|s| vec![s]).ok_or_else(|| {
                self.invalid(key, format!("expected a list, found {}", kind(value)))
            }),
        }
    }

    /// The value of `key` as a list of non-empty, trimmed strings: a YAML list, or one
    /// comma-separated string (the Raito CLI's form, e.g. `"SNOWFLAKE, TEMP"`), each item split
    /// on commas too. Absent: an empty list.
    pub fn comma_list(&self, key: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .list(key)?
            .iter()
            .flat_map(|item| item.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// An error about `key` naming file, target and key, for connectors validating values,
    /// e.g. `params.invalid("pg-sslmode", "expected disable, prefer or require")`.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            at: self.location(key),
            message: message.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key).filter(|entry| !entry.value.is_null())
    }

    fn location(&self, key: &str) -> Location {
        Location::file(&self.origin)
            .in_target(TargetRef::Name(self.target.clone()))
            .at_key(key)
    }

    /// A value for an error message: itself, unless it is sensitive.
    fn shown(&self, entry: &Entry) -> String {
        if entry.sensitive {
            format!("a {} (value redacted)", kind(&entry.value))
        } else {
            entry.value.to_string()
        }
    }
}

impl fmt::Debug for Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// A value as JSON text, or `"[redacted]"`.
        struct Shown<'a>(&'a Entry);
        impl fmt::Debug for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0.sensitive {
                    write!(f, "{REDACTED:?}")
                } else {
                    write!(f, "{}", self.0.value)
                }
            }
        }
        struct Values<'a>(&'a BTreeMap<String, Entry>);
        impl fmt::Debug for Values<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(key, entry)| (key, Shown(entry))))
                    .finish()
            }
        }
        f.debug_struct("Parameters")
            .field("origin", &self.origin)
            .field("target", &self.target)
            .field("values", &Values(&self.entries))
            .finish()
    }
}

/// What `Debug` shows instead of a sensitive value.
pub(crate) const REDACTED: &str = "[redacted]";

/// A string, number or boolean written out as a string.
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `true`/`false`, or those words as strings in any case.
pub(crate) fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The kind of a value, for messages that must not show the value.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}
