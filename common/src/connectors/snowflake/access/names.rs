//! Role names of access providers, exactly as the Go connector generates them, so a customer
//! moving from the Go CLI keeps every role (and its external id):
//!
//! - the base name is the `namingHint` (else the `name`) translated by the Raito CLI's naming
//!   hint translator under Snowflake's constraints (raito-io/cli
//!   base/access_provider/sync_to_target/naming_hint/translator.go with snowflake/
//!   data_source_meta_data.go `RoleNameConstraints`: upper-case letters, digits, `_` and `$`,
//!   255 characters), cut to 249 bytes;
//! - a name already taken in its scope (the account, or one database for database roles) gets
//!   the postfix `__<n>`, `n` in upper-case hex one more than the highest postfix of that base
//!   (snowflake/role_name_generator.go `makeRoleNameUnique`);
//! - an existing `actualName` whose base (before its last `__`) is still the base name is
//!   kept; otherwise the role is renamed to a fresh name.

use std::collections::HashMap;

/// Snowflake's identifier limit (`RoleNameConstraints.MaxLength`).
pub const MAX_LENGTH: usize = 255;

/// Room left for a postfix (role_name_generator.go `roleNamePostFixLength`).
const POSTFIX_LENGTH: usize = 6;

/// Between a base name and its postfix: the split character twice.
pub const SPLIT: &str = "__";

/// The naming hint translator of the Raito CLI for Snowflake's constraints (translator.go
/// `Translate`): camel case split with `_`, upper-cased, runs of other characters replaced
/// by one `_`, no leading or trailing character other than a letter or digit, no `__`.
pub fn translate(input: &str) -> String {
    // `([a-z])([A-Z])` → `${1}_${2}`, matches taken left to right without overlap.
    let chars: Vec<char> = input.chars().collect();
    let mut split = String::with_capacity(input.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_lowercase() && chars.get(i + 1).is_some_and(char::is_ascii_uppercase) {
            split.push(chars[i]);
            split.push('_');
            split.push(chars[i + 1]);
            i += 2;
        } else {
            split.push(chars[i]);
            i += 1;
        }
    }
    // strings.ToUpper maps each rune by its simple upper case: one rune to one rune.
    let upper: String = split
        .chars()
        .map(|c| {
            let mut mapped = c.to_uppercase();
            match (mapped.next(), mapped.next()) {
                (Some(single), None) => single,
                _ => c,
            }
        })
        .collect();
    // `[^A-Z0-9_$]+` → `_`.
    let mut allowed = String::with_capacity(upper.len());
    let mut in_run = false;
    for c in upper.chars() {
        if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '$' {
            allowed.push(c);
            in_run = false;
        } else if !in_run {
            allowed.push('_');
            in_run = true;
        }
    }
    let alphanumeric = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit();
    // `^[^A-Z0-9]+` removed, `_{2,}` → `_`, then `[^A-Z0-9]+$` removed.
    let trimmed = allowed.trim_start_matches(|c: char| !alphanumeric(c));
    let mut collapsed = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if c == '_' && collapsed.ends_with('_') {
            continue;
        }
        collapsed.push(c);
    }
    collapsed
        .trim_end_matches(|c: char| !alphanumeric(c))
        .to_owned()
}

/// The base role name of an access provider (role_name_generator.go `generateBaseName`):
/// the translated naming hint, else name, cut to leave room for a postfix. When nothing of
/// either survives translation (Go would try to create a role without a name), the base is
/// `RAITO_` and the translated id.
pub fn base_name(naming_hint: &str, name: &str, id: &str) -> String {
    let hint = if naming_hint.is_empty() {
        name
    } else {
        naming_hint
    };
    let mut base = translate(hint);
    if base.is_empty() {
        base = format!("RAITO_{}", translate(id));
    }
    // Only ASCII is left: bytes and characters coincide.
    base.truncate(MAX_LENGTH - POSTFIX_LENGTH);
    base
}

/// A name split at its last `__` (role_name_generator.go `roleNameSplitLast`).
pub fn split_last(name: &str) -> (&str, &str) {
    match name.rfind(SPLIT) {
        Some(i) => (&name[..i], &name[i + SPLIT.len()..]),
        None => (name, ""),
    }
}

/// Unique names within one scope: the account's roles, or one database's roles.
#[derive(Debug, Default)]
pub struct Generator {
    /// Base name → the highest postfix in use (0: the bare base).
    taken: HashMap<String, u32>,
}

impl Generator {
    /// Knows the names that exist (role_name_generator.go `loadExistingRolesForScope`).
    pub fn new<'a>(existing: impl IntoIterator<Item = &'a str>) -> Self {
        let mut generator = Self::default();
        for name in existing {
            generator.add(name);
        }
        generator
    }

    /// Marks `name` as taken.
    pub fn add(&mut self, name: &str) {
        let (base, postfix) = split_last(name);
        let (base, number) = match u32::from_str_radix(postfix, 16) {
            // ParseUint rejects a sign; from_str_radix accepts a leading `+`.
            Ok(number) if !postfix.starts_with('+') => (base, number),
            _ => (name, 0),
        };
        let highest = self.taken.entry(base.to_owned()).or_insert(number);
        *highest = (*highest).max(number);
    }

    /// A name for `base` that no role of the scope has, taken from now on
    /// (role_name_generator.go `makeRoleNameUnique`).
    pub fn unique(&mut self, base: &str) -> String {
        match self.taken.get_mut(base) {
            None => {
                self.taken.insert(base.to_owned(), 0);
                base.to_owned()
            }
            Some(highest) => {
                *highest += 1;
                format!("{base}{SPLIT}{:X}", *highest)
            }
        }
    }

    /// The name of an access provider's role: `actual` when its base is still `base`, else a
    /// new unique name (role_name_generator.go `generateScopedRoleName`).
    pub fn name_for(&mut self, base: &str, actual: Option<&str>) -> String {
        match actual {
            Some(actual) if split_last(actual).0 == base => actual.to_owned(),
            _ => self.unique(base),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_translate_as_the_raito_cli_translates_them() {
        // Cases of raito-io/cli translator_test.go for upper-case-only constraints.
        assert_eq!(translate("TheAccessProvider"), "THE_ACCESS_PROVIDER");
        assert_eq!(translate("the access provider"), "THE_ACCESS_PROVIDER");
        assert_eq!(
            translate("__the--access++provider__"),
            "THE_ACCESS_PROVIDER"
        );
        assert_eq!(translate("Sales EU (2024)"), "SALES_EU_2024");
        assert_eq!(translate("café ünïcode"), "CAF_N_CODE");
        assert_eq!(translate("a$b"), "A$B");
        assert_eq!(translate("$$$"), "");
        assert_eq!(translate("x\"; DROP ROLE y; --"), "X_DROP_ROLE_Y");
    }

    #[test]
    fn base_names_fall_back_and_leave_room_for_a_postfix() {
        assert_eq!(base_name("dataAnalysts", "ignored", "id"), "DATA_ANALYSTS");
        assert_eq!(base_name("", "Data analysts", "id"), "DATA_ANALYSTS");
        assert_eq!(base_name("€€", "", "ap-7"), "RAITO_AP_7");
        assert_eq!(base_name(&"a".repeat(300), "", "id").len(), 249);
    }

    #[test]
    fn taken_names_get_the_next_hex_postfix() {
        let mut generator = Generator::new(["SALES", "SALES__9", "SALES__X", "OTHER"]);
        assert_eq!(generator.unique("SALES"), "SALES__A");
        assert_eq!(generator.unique("SALES"), "SALES__B");
        assert_eq!(generator.unique("NEW"), "NEW");
        assert_eq!(generator.unique("NEW"), "NEW__1");
        // `SALES__X` has no hex postfix: it is a base of its own.
        assert_eq!(generator.unique("SALES__X"), "SALES__X__1");
    }

    #[test]
    fn an_actual_name_is_kept_while_its_base_holds() {
        let mut generator = Generator::new(["SALES__2", "FINANCE"]);
        assert_eq!(generator.name_for("SALES", Some("SALES__2")), "SALES__2");
        // Renamed in Raito: a fresh name.
        assert_eq!(
            generator.name_for("MARKETING", Some("SALES__2")),
            "MARKETING"
        );
        assert_eq!(generator.name_for("FINANCE", None), "FINANCE__1");
    }
}
