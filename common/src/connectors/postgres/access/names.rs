//! Names and quoting: how an access provider's role is named, and how identifiers and
//! literals are written into SQL text.
//!
//! A role name is derived from the access provider's `namingHint` (else its `name`, else its
//! `id`): lower case, every character outside `[a-z0-9_]` replaced by `_`, never starting
//! with `pg_` (reserved for system roles; such names get the prefix `r_`), at most 63 bytes
//! (PostgreSQL's identifier limit). When that *base name* belongs to another role, the name
//! gets a suffix `_xxxx`: four hex digits derived from the access provider's id, so the same
//! access provider gets the same suffix on every run.

use sha2::{Digest, Sha256};

/// PostgreSQL's identifier limit in bytes (`NAMEDATALEN - 1`).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// How many suffixes are tried before giving up on a name.
pub const SUFFIX_ATTEMPTS: u32 = 16;

/// Writes an identifier as a quoted SQL identifier: `"…"` with every `"` doubled. Always
/// quoted, so case, dots, spaces, keywords and any Unicode survive unchanged.
pub fn quote_ident(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Writes a text as a standard SQL string literal: `'…'` with every `'` doubled. Correct only
/// with `standard_conforming_strings = on` (backslashes taken literally), which every
/// connection of the apply engine sets.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The base role name for an access provider: from `naming_hint`, else `name`, else `id`.
pub fn base_name(naming_hint: &str, name: &str, id: &str) -> String {
    let source = [naming_hint, name, id]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("role");
    let mut base: String = source
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect();
    if base.starts_with("pg_") {
        base.insert_str(0, "r_");
    }
    if !base.bytes().any(|b| b.is_ascii_alphanumeric()) {
        // Nothing of the hint survived the cleaning (`"€€"` gives `"__"`): name it after the id.
        base = format!("role_{}", id_token(id));
    }
    if RESERVED.contains(&base.as_str()) {
        // `CREATE ROLE public` fails ("role name is reserved"), and a role called
        // `current_user` would be misread wherever a role is named unquoted.
        base.push_str("_role");
    }
    // Only ASCII is left, so bytes and characters coincide.
    base.truncate(MAX_IDENTIFIER_BYTES);
    base
}

/// Role names PostgreSQL reserves or reads as something else.
const RESERVED: &[&str] = &[
    "public",
    "none",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "all",
];

/// Four hex digits derived from the access provider id; `attempt` 0 is the first choice,
/// later attempts give other digits for the rare case the first ones are taken too.
pub fn suffix(id: &str, attempt: u32) -> String {
    let digest = if attempt == 0 {
        Sha256::digest(id.as_bytes())
    } else {
        Sha256::digest(format!("{id}#{attempt}").as_bytes())
    };
    format!("{:02x}{:02x}", digest[0], digest[1])
}

/// The base name with the suffix of `attempt`, the base shortened so the whole fits 63 bytes.
pub fn suffixed(base: &str, id: &str, attempt: u32) -> String {
    let suffix = suffix(id, attempt);
    let keep = MAX_IDENTIFIER_BYTES - 1 - suffix.len();
    let head = &base[..base.len().min(keep)];
    format!("{head}_{suffix}")
}

/// The candidate names for an access provider, in order of preference: the base name, then
/// the suffixed names.
pub fn candidates(base: &str, id: &str) -> impl Iterator<Item = String> {
    std::iter::once(base.to_owned())
        .chain((0..SUFFIX_ATTEMPTS).map(move |attempt| suffixed(base, id, attempt)))
}

/// Whether `actual` is still a name for `base`: the base itself or the base (shortened to
/// fit) with any four-hex-digit suffix. When not, the naming hint changed and the role is
/// renamed.
pub fn follows_base(actual: &str, base: &str) -> bool {
    if actual == base {
        return true;
    }
    let Some((head, suffix)) = actual.rsplit_once('_') else {
        return false;
    };
    let hex = suffix.len() == 4
        && suffix
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    hex && head == &base[..base.len().min(MAX_IDENTIFIER_BYTES - 5)]
}

/// A short stable token for an access provider id (eight hex digits), for names that must
/// not change when the role is renamed (row-level security policies).
pub fn id_token(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Sixteen hex digits of the SHA-256 of `text`, to recognise an unchanged policy rule.
pub fn fingerprint(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted_with_doubled_quotes() {
        assert_eq!(quote_ident("a"), "\"a\"");
        assert_eq!(quote_ident("We\"ird;.name é"), "\"We\"\"ird;.name é\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("back\\slash"), "'back\\slash'");
    }

    #[test]
    fn base_names_are_lower_case_safe_and_short() {
        assert_eq!(base_name("Sales Team-EU", "x", "id"), "sales_team_eu");
        assert_eq!(base_name("", "Finance", "id"), "finance");
        assert_eq!(base_name(" ", "", "ap-1"), "ap_1");
        assert_eq!(base_name("PG_admins", "", "id"), "r_pg_admins");
        assert_eq!(base_name("Café \"x\";", "", "id"), "caf___x__");
        for reserved in [
            "public",
            "NONE",
            "Current_User",
            "session_user",
            "current_role",
        ] {
            assert_eq!(
                base_name(reserved, "", "id"),
                format!("{}_role", reserved.to_lowercase())
            );
        }
        assert!(base_name("€€", "", "ap-1").starts_with("role_"));
        let long = base_name(&"a".repeat(100), "", "id");
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn suffixes_are_stable_and_fit() {
        let base = "b".repeat(63);
        let one = suffixed(&base, "ap-1", 0);
        assert_eq!(one, suffixed(&base, "ap-1", 0));
        assert_eq!(one.len(), 63);
        assert_ne!(suffixed("x", "ap-1", 0), suffixed("x", "ap-1", 1));
        assert_ne!(suffixed("x", "ap-1", 0), suffixed("x", "ap-2", 0));
        let all: Vec<String> = candidates("x", "ap-1").collect();
        assert_eq!(all[0], "x");
        assert!(all.iter().skip(1).all(|c| follows_base(c, "x")));
    }

    #[test]
    fn a_changed_base_name_is_detected() {
        assert!(follows_base("sales", "sales"));
        assert!(follows_base("sales_0a9f", "sales"));
        assert!(!follows_base("sales_0a9g", "sales"));
        assert!(!follows_base("sales_eu", "sales"));
        assert!(!follows_base("finance_0a9f", "sales"));
        let base = "c".repeat(63);
        assert!(follows_base(&suffixed(&base, "id", 3), &base));
    }
}
