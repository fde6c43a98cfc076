//! Full names of PostgreSQL objects: unique and unambiguous whatever the identifiers contain.
//!
//! A full name is the dotted path `database.schema.relation[.column]`. Each component is
//! written bare when it is a plain lower-case identifier (`[a-z_][a-z0-9_$]*`), and otherwise
//! double-quoted with every `"` inside doubled, exactly as PostgreSQL quotes identifiers:
//!
//! | identifiers                               | full name                        |
//! |-------------------------------------------|----------------------------------|
//! | `sales`, `public`, `orders`               | `sales.public.orders`            |
//! | `sales`, `Q1.2024`, `My "best" table`     | `sales."Q1.2024"."My ""best"" table"` |
//! | `café`, `Public`                          | `"café"."Public"`                |
//!
//! A bare component cannot contain `.` or `"`, and inside quotes a lone `"` always ends the
//! component, so [`parse`] recovers the exact components from any full name: two different
//! objects never share a full name. The same syntax names databases and schemas in the
//! `pg-excluded-databases` and `pg-excluded-schemas` parameters.

/// Writes one identifier as a full-name component.
pub fn component(identifier: &str) -> String {
    let mut chars = identifier.chars();
    let bare = matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '$'));
    if bare {
        identifier.to_owned()
    } else {
        format!("\"{}\"", identifier.replace('"', "\"\""))
    }
}

/// Joins identifiers into a full name.
pub fn full_name<'a>(identifiers: impl IntoIterator<Item = &'a str>) -> String {
    identifiers
        .into_iter()
        .map(component)
        .collect::<Vec<_>>()
        .join(".")
}

/// Why a full name could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A quoted component is not closed.
    #[error("unterminated quoted identifier in {0:?}")]
    Unterminated(String),
    /// A component is empty (e.g. `a..b`) or the name is empty.
    #[error("empty identifier in {0:?}")]
    Empty(String),
    /// Something other than `.` follows a closing quote.
    #[error("expected `.` after a quoted identifier in {0:?}")]
    ExpectedDot(String),
}

/// Splits a full name back into its identifiers.
pub fn parse(name: &str) -> Result<Vec<String>, ParseError> {
    split(name, '.').and_then(|parts| {
        if parts.iter().any(String::is_empty) {
            Err(ParseError::Empty(name.to_owned()))
        } else {
            Ok(parts)
        }
    })
}

/// Splits a comma-separated list of full names (`sales, "Finance Dept".public`) into parsed
/// names; commas inside quotes belong to the identifier. Blank entries are skipped.
pub fn parse_list(list: &str) -> Result<Vec<Vec<String>>, ParseError> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => names.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    names.push(current);
    names
        .iter()
        .map(|entry| entry.trim())
        .filter(|entry| !entry.is_empty())
        .map(parse)
        .collect()
}

/// Splits on `separator` outside quotes, unquoting quoted parts. Bare parts are taken as
/// written (trimmed of surrounding spaces), so `Sales` names the identifier `Sales`.
fn split(name: &str, separator: char) -> Result<Vec<String>, ParseError> {
    let mut parts = Vec::new();
    let mut chars = name.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(ParseError::Unterminated(name.to_owned())),
                }
            }
            match chars.next() {
                None => {
                    parts.push(part);
                    return Ok(parts);
                }
                Some(c) if c == separator => parts.push(part),
                Some(_) => return Err(ParseError::ExpectedDot(name.to_owned())),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        parts.push(part.trim().to_owned());
                        return Ok(parts);
                    }
                    Some(c) if c == separator => {
                        parts.push(part.trim().to_owned());
                        break;
                    }
                    Some('"') => return Err(ParseError::ExpectedDot(name.to_owned())),
                    Some(c) => part.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lower_case_identifiers_stay_bare() {
        assert_eq!(
            full_name(["sales", "public", "orders"]),
            "sales.public.orders"
        );
        assert_eq!(full_name(["_x1", "a$b"]), "_x1.a$b");
    }

    #[test]
    fn awkward_identifiers_are_quoted_like_postgres_does() {
        assert_eq!(
            full_name(["sales", "Q1.2024", "My \"best\" table", "col umn"]),
            r#"sales."Q1.2024"."My ""best"" table"."col umn""#
        );
        assert_eq!(
            full_name(["café", "Public", "1st"]),
            r#""café"."Public"."1st""#
        );
    }

    #[test]
    fn every_full_name_parses_back_to_its_identifiers() {
        let cases: &[&[&str]] = &[
            &["a", "b"],
            &["a.b", "c"],
            &["a", "b.c"],
            &["\"", "\"\"", "."],
            &["x\".y", "z"],
            &["", "é", " lead", "trail "],
            &["Sales", "a,b"],
        ];
        for identifiers in cases {
            let name = full_name(identifiers.iter().copied());
            let back = split(&name, '.').expect("parses");
            assert_eq!(&back, identifiers, "{name}");
        }
    }

    #[test]
    fn names_that_differ_only_in_dots_or_quotes_stay_distinct() {
        let a = full_name(["a.b", "c"]);
        let b = full_name(["a", "b.c"]);
        let c = full_name(["a", "b", "c"]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
    }

    #[test]
    fn malformed_names_are_rejected() {
        assert!(matches!(parse("\"abc"), Err(ParseError::Unterminated(_))));
        assert!(matches!(parse("a..b"), Err(ParseError::Empty(_))));
        assert!(matches!(parse("\"a\"b"), Err(ParseError::ExpectedDot(_))));
        assert!(matches!(parse(""), Err(ParseError::Empty(_))));
    }

    #[test]
    fn lists_split_on_commas_outside_quotes() {
        let parsed = parse_list(r#" sales , "Finance, Dept".public,, "x""y""#).expect("parses");
        assert_eq!(
            parsed,
            vec![
                vec!["sales".to_owned()],
                vec!["Finance, Dept".to_owned(), "public".to_owned()],
                vec!["x\"y".to_owned()],
            ]
        );
    }
}
