//! The SQL errors a statement can end in: the `code`, `sqlState` and `message` of Snowflake's
//! 422 QueryFailureStatus, with the messages Snowflake prints (their exact wording matters:
//! clients match on codes, people read the messages).

use std::fmt;

/// A failed statement (HTTP 422, or 408 for a timeout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    pub code: &'static str,
    pub sql_state: &'static str,
    pub message: String,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.sql_state, self.message)
    }
}

impl std::error::Error for SqlError {}

impl SqlError {
    fn new(code: &'static str, sql_state: &'static str, message: String) -> Self {
        SqlError {
            code,
            sql_state,
            message,
        }
    }

    /// `001003`: anything outside the statements the stand-in serves, reported at the first
    /// token it cannot take, as Snowflake reports a syntax error.
    pub(crate) fn syntax(line: usize, position: usize, unexpected: &str) -> Self {
        Self::new(
            "001003",
            "42000",
            format!(
                "SQL compilation error:\nsyntax error line {line} at position {position} unexpected '{unexpected}'."
            ),
        )
    }

    /// `000904`: a column the view does not have.
    pub(crate) fn invalid_identifier(line: usize, position: usize, name: &str) -> Self {
        Self::new(
            "000904",
            "42000",
            format!(
                "SQL compilation error: error line {line} at position {position}\ninvalid identifier '{name}'"
            ),
        )
    }

    /// `002003`: an object that does not exist or that the role cannot see (Snowflake does not
    /// say which). `what` is `Database`, `Schema`, `Object`, `User`…
    pub(crate) fn does_not_exist(what: &str, name: &str) -> Self {
        Self::new(
            "002003",
            "02000",
            format!("SQL compilation error:\n{what} '{name}' does not exist or not authorized."),
        )
    }

    /// `000606`: a statement that needs a warehouse (a SELECT from a view) in a session without
    /// one. SHOW, DESCRIBE and context functions run without a warehouse.
    pub(crate) fn no_warehouse() -> Self {
        Self::new(
            "000606",
            "57P03",
            "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.".to_owned(),
        )
    }

    /// `090105`: an unqualified name (or `IN DATABASE` without a name) in a session without a
    /// current database.
    pub(crate) fn no_database(command: &str) -> Self {
        Self::new(
            "090105",
            "22000",
            format!(
                "Cannot perform {command}. This session does not have a current database. Call 'USE DATABASE', or use a qualified name."
            ),
        )
    }

    /// `090153`: a SHOW without LIMIT whose result would exceed 10,000 rows.
    pub(crate) fn show_too_large() -> Self {
        Self::new(
            "090153",
            "22000",
            "The result set size exceeded the max number of rows(10000) supported for SHOW statements. Use LIMIT option to limit result set to a smaller number.".to_owned(),
        )
    }

    /// A SHOW with `LIMIT` above 10,000. Snowflake's exact wording for this case is not
    /// documented; the code and state are those of its other SHOW limit error.
    pub(crate) fn show_limit_too_large(limit: u64) -> Self {
        Self::new(
            "090153",
            "22000",
            format!(
                "SQL compilation error:\ninvalid value [{limit}] for LIMIT: the maximum for SHOW statements is 10000."
            ),
        )
    }

    /// `000008`: the request holds more (or fewer) statements than MULTI_STATEMENT_COUNT says.
    pub(crate) fn statement_count(actual: usize, desired: usize) -> Self {
        Self::new(
            "000008",
            "0A000",
            format!(
                "Actual statement count {actual} did not match the desired statement count {desired}."
            ),
        )
    }

    /// `002049`: a `?` without a value in `bindings`.
    pub(crate) fn bind_not_set(line: usize, position: usize) -> Self {
        Self::new(
            "002049",
            "42601",
            format!(
                "SQL compilation error: error line {line} at position {position}\nBind variable ? not set."
            ),
        )
    }

    /// `100037`: a binding whose value does not fit its type.
    pub(crate) fn bad_binding(value: &str) -> Self {
        Self::new(
            "100037",
            "22018",
            format!("Numeric value '{value}' is not recognized"),
        )
    }

    /// `100037`: a binding of a type the stand-in does not take in that place (a usage read
    /// takes TIMESTAMP_LTZ for times, TEXT for user names, FIXED for LIMIT). Snowflake would
    /// convert some of them; the stand-in holds a connector to the documented forms, with the
    /// code and state of Snowflake's bad-binding error and a wording of its own.
    pub(crate) fn binding_type(index: usize, kind: &str, expected: &str) -> Self {
        Self::new(
            "100037",
            "22018",
            format!(
                "Bind variable {index} of type {kind} is not accepted here; expected {expected}."
            ),
        )
    }

    /// `002028`: an unqualified column that more than one source of the query has.
    pub(crate) fn ambiguous_column(line: usize, position: usize, name: &str) -> Self {
        Self::new(
            "002028",
            "42601",
            format!(
                "SQL compilation error: error line {line} at position {position}\nambiguous column name '{name}'"
            ),
        )
    }

    /// `390189`: the session role (the request's `role`, else the user's default) does not
    /// exist or is not granted to the user.
    pub(crate) fn role_not_granted(role: &str) -> Self {
        Self::new(
            "390189",
            "08004",
            format!(
                "Role '{role}' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC."
            ),
        )
    }

    /// `000604`: the statement was cancelled.
    pub(crate) fn cancelled() -> Self {
        Self::new("000604", "57014", "SQL execution canceled".to_owned())
    }

    /// `000630`: the statement ran past its `timeout` and was cancelled.
    pub(crate) fn timed_out(seconds: u64) -> Self {
        Self::new(
            "000630",
            "57014",
            format!(
                "Statement reached its statement or warehouse timeout of {seconds} second(s) and was canceled."
            ),
        )
    }

    /// `000709`: a handle the user has no statement under.
    pub(crate) fn statement_not_found(handle: &str) -> Self {
        Self::new("000709", "02000", format!("Statement {handle} not found"))
    }

    /// A partition number past the last partition. Snowflake's answer is not documented; the
    /// stand-in treats it as an object that does not exist.
    pub(crate) fn no_such_partition(partition: u64, partitions: usize) -> Self {
        Self::new(
            "002003",
            "02000",
            format!(
                "Partition {partition} does not exist or not authorized. The result has {partitions} partition(s)."
            ),
        )
    }

    /// The stand-in failed (a bug, or a panic while executing).
    pub(crate) fn internal(message: String) -> Self {
        Self::new("000603", "XX000", message)
    }
}

/// How Snowflake prints a name in messages: as stored when it is a plain upper-case
/// identifier, double-quoted (with `""` escapes) otherwise.
pub(crate) fn display_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Dotted display of a qualified name (`DB."my schema".T`).
pub(crate) fn display_path(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| display_name(p))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_only_when_they_need_it() {
        assert_eq!(display_name("SALES_2024"), "SALES_2024");
        assert_eq!(display_name("Finance Dept"), "\"Finance Dept\"");
        assert_eq!(display_name("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            display_path(&["DB", "my.schema", "T"]),
            "DB.\"my.schema\".T"
        );
    }
}
