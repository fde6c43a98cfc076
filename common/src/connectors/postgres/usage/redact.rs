//! Passwords out of logged statements: a statement log holds the passwords of `CREATE ROLE …
//! PASSWORD '…'` in clear, and they must not travel on to Raito Cloud.
//!
//! A statement is read with sqlparser's tokenizer (PostgreSQL dialect), so that a literal is
//! found whatever its quoting (`'…'`, `E'…\'…'`, `$$…$$`, `$tag$…$tag$`) and whatever stands
//! between it and the keyword (comments, `ENCRYPTED`, `WITH`). Only statements that contain
//! `password` (any case) are tokenised, found with a byte search: the usage path is hot.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

/// What a password literal is replaced with.
const MARKER: &str = "'********'";

/// The keyword, lower case.
const KEYWORD: &[u8] = b"password";

/// The query with the literal after every `PASSWORD` keyword of a role statement (`CREATE` or
/// `ALTER` `ROLE`, `USER` or `GROUP` …, `USER MAPPING … OPTIONS (password '…')` included, and
/// such statements inside dollar-quoted bodies such as `DO $$ … $$`) replaced by `'********'`.
/// A statement that cannot be tokenised is cut after its first `password` (any case), which is
/// followed by the marker: whatever comes after could be the secret.
pub fn redact_passwords(query: String) -> String {
    let Some(first) = find_keyword(query.as_bytes()) else {
        return query;
    };
    let mut ranges = Vec::new();
    if literals(&query, 0, &mut ranges).is_err() {
        let end = first + KEYWORD.len();
        let mut out = String::with_capacity(end + 1 + MARKER.len());
        out.push_str(&query[..end]);
        out.push(' ');
        out.push_str(MARKER);
        return out;
    }
    if ranges.is_empty() {
        return query;
    }
    let mut out = String::with_capacity(query.len());
    let mut copied = 0;
    for (start, end) in ranges {
        out.push_str(&query[copied..start]);
        out.push_str(MARKER);
        copied = end;
    }
    out.push_str(&query[copied..]);
    out
}

/// The byte offset of the first `password`, in any case (ASCII, so a character boundary).
fn find_keyword(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr2(b'p', b'P', bytes.get(from..)?) {
        let at = from + i;
        if bytes
            .get(at..at + KEYWORD.len())
            .is_some_and(|word| word.eq_ignore_ascii_case(KEYWORD))
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Adds the byte ranges (offset by `base`) of the password literals of `text` to `ranges`, in
/// order; `Err` when `text` does not tokenise.
fn literals(text: &str, base: usize, ranges: &mut Vec<(usize, usize)>) -> Result<(), ()> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(drop)?;
    // Comments and whitespace may stand anywhere: only the other tokens count.
    let tokens: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .collect();
    let mut locator = Locator::new(text);
    // Inside a CREATE/ALTER ROLE|USER|GROUP statement (up to its `;`).
    let mut role = false;
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        match &token.token {
            Token::SemiColon => role = false,
            Token::Word(word)
                if word.quote_style.is_none()
                    && ["ROLE", "USER", "GROUP"]
                        .iter()
                        .any(|k| word.value.eq_ignore_ascii_case(k))
                    && i > 0
                    && matches!(&tokens[i - 1].token, Token::Word(before)
                        if before.quote_style.is_none()
                            && (before.value.eq_ignore_ascii_case("CREATE")
                                || before.value.eq_ignore_ascii_case("ALTER"))) =>
            {
                role = true;
            }
            Token::Word(word) if role && word.value.as_bytes().eq_ignore_ascii_case(KEYWORD) => {
                if let Some(next) = tokens.get(i + 1)
                    && is_secret(&next.token)
                {
                    let (start, end) = locator.range(next.span).ok_or(())?;
                    ranges.push((base + start, base + end));
                    i += 1; // not looked into (a dollar-quoted password)
                }
            }
            // A body (`DO $$ … $$`, a function's): its statements may set passwords too.
            Token::DollarQuotedString(quoted)
                if find_keyword(quoted.value.as_bytes()).is_some() =>
            {
                let (start, end) = locator.range(token.span).ok_or(())?;
                let delimiter = format!("${}$", quoted.tag.as_deref().unwrap_or_default());
                let body = text
                    .get(start..end)
                    .and_then(|all| all.strip_prefix(delimiter.as_str()))
                    .and_then(|rest| rest.strip_suffix(delimiter.as_str()))
                    .ok_or(())?;
                literals(body, base + start + delimiter.len(), ranges)?;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Whether `token`, after `PASSWORD`, is the password: a literal of any kind (or a word or a
/// number, which the server refuses, but logs), not `NULL` nor punctuation.
fn is_secret(token: &Token) -> bool {
    match token {
        Token::Word(word) => {
            !(word.quote_style.is_none() && word.value.eq_ignore_ascii_case("NULL"))
        }
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => true,
        _ => false,
    }
}

/// Turns the tokenizer's locations (line, and column in characters, both from 1; lines end at
/// `\n`) into byte offsets, walking forward from the last one asked for.
struct Locator<'a> {
    text: &'a str,
    line: u64,
    column: u64,
    byte: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            line: 1,
            column: 1,
            byte: 0,
        }
    }

    /// The byte range of `span` (its end is the location after its last character).
    fn range(&mut self, span: Span) -> Option<(usize, usize)> {
        let start = self.offset(span.start)?;
        let end = self.offset(span.end)?;
        (start <= end).then_some((start, end))
    }

    fn offset(&mut self, at: Location) -> Option<usize> {
        let target = (at.line, at.column);
        if target < (self.line, self.column) {
            *self = Self::new(self.text);
        }
        let mut chars = self.text.get(self.byte..)?.chars();
        while (self.line, self.column) < target {
            let c = chars.next()?;
            self.byte += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        ((self.line, self.column) == target).then_some(self.byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_literals_are_redacted_whatever_their_quoting() {
        let cases = [
            (
                "CREATE ROLE a LOGIN PASSWORD $$it's secret$$",
                "CREATE ROLE a LOGIN PASSWORD '********'",
            ),
            (
                "create user a password $pw$s$e$cret$pw$ valid until 'infinity'",
                "create user a password '********' valid until 'infinity'",
            ),
            (
                "ALTER ROLE a PASSWORD /* c */ 'secret'",
                "ALTER ROLE a PASSWORD /* c */ '********'",
            ),
            (
                "ALTER USER a WITH PASSWORD -- the new one\n 'secret';",
                "ALTER USER a WITH PASSWORD -- the new one\n '********';",
            ),
            (
                r"ALTER ROLE a PASSWORD E'it\'s \\ secret' LOGIN",
                "ALTER ROLE a PASSWORD '********' LOGIN",
            ),
            (
                "CREATE ROLE a WITH LOGIN ENCRYPTED PASSWORD 'md5secret'",
                "CREATE ROLE a WITH LOGIN ENCRYPTED PASSWORD '********'",
            ),
            (
                "CREATE ROLE \"Caf\u{e9}\"\n\tENCRYPTED\n\tPASSWORD 'caf\u{e9}\u{20ac}' CREATEDB",
                "CREATE ROLE \"Caf\u{e9}\"\n\tENCRYPTED\n\tPASSWORD '********' CREATEDB",
            ),
            (
                "BEGIN; CREATE ROLE a PASSWORD 'x'; ALTER ROLE b PASSWORD 'y'; COMMIT",
                "BEGIN; CREATE ROLE a PASSWORD '********'; ALTER ROLE b PASSWORD '********'; COMMIT",
            ),
            (
                "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'a', password 'x')",
                "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'a', password '********')",
            ),
            (
                "DO $do$ BEGIN IF true THEN CREATE ROLE a LOGIN PASSWORD 'x'; END IF; END $do$",
                "DO $do$ BEGIN IF true THEN CREATE ROLE a LOGIN PASSWORD '********'; END IF; END $do$",
            ),
            (
                "-- \u{20ac}\r\nALTER ROLE \"\u{1f600}\"\r\n PassWord/* a /* nested */ one */$t$$$x$t$;",
                "-- \u{20ac}\r\nALTER ROLE \"\u{1f600}\"\r\n PassWord/* a /* nested */ one */'********';",
            ),
            ("ALTER ROLE a PASSWORD NULL", "ALTER ROLE a PASSWORD NULL"),
        ];
        for (query, redacted) in cases {
            assert_eq!(redact_passwords(query.into()), redacted, "{query}");
        }
    }

    #[test]
    fn a_statement_that_does_not_tokenise_is_cut_after_password() {
        assert_eq!(
            redact_passwords("CREATE ROLE a PASSWORD 'never closed".into()),
            "CREATE ROLE a PASSWORD '********'"
        );
        assert_eq!(
            redact_passwords("alter role a password $x$ no end".into()),
            "alter role a password '********'"
        );
    }

    #[test]
    fn statements_that_set_no_password_are_unchanged() {
        for query in [
            "SELECT 'no password here'",
            "SELECT password FROM users WHERE password = 'x'",
            "UPDATE users SET password = 'x' WHERE id = 1",
            "INSERT INTO t (name, value) VALUES ('password', 'x')",
            "SELECT $$password$$, 'it''s' FROM passwords",
            "ALTER ROLE a SET password_encryption = 'scram-sha-256'",
            "CREATE TABLE t (password text DEFAULT 'x')",
            "SELECT 1",
            "",
        ] {
            assert_eq!(redact_passwords(query.into()), query);
        }
    }

    #[test]
    fn passwords_in_role_statements_are_redacted() {
        assert_eq!(
            redact_passwords("CREATE ROLE a LOGIN PASSWORD 'it''s secret' VALID UNTIL 'x'".into()),
            "CREATE ROLE a LOGIN PASSWORD '********' VALID UNTIL 'x'"
        );
        assert_eq!(
            redact_passwords("alter user b with password  E'x'; select password from t".into()),
            "alter user b with password  '********'; select password from t"
        );
        assert_eq!(
            redact_passwords("SELECT 'no password here'".into()),
            "SELECT 'no password here'"
        );
    }
}
