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

    /// `090106`: an object named without its schema in a session without a current schema.
    pub(crate) fn no_schema(command: &str) -> Self {
        Self::new(
            "090106",
            "22000",
            format!(
                "Cannot perform {command}. This session does not have a current schema. Call 'USE SCHEMA', or use a qualified name."
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

    /// `002002`: CREATE (or a RENAME onto) a name that is taken. `name` as messages print it.
    pub(crate) fn already_exists(name: &str) -> Self {
        Self::new(
            "002002",
            "42710",
            format!("SQL compilation error:\nObject '{name}' already exists."),
        )
    }

    /// `003001`: the session's role may not do this to the object. `object` names it as
    /// Snowflake's message does: `role 'R'`, `table 'DB.S.T'`, `account 'AB12345'`.
    pub(crate) fn insufficient_privileges(object: &str) -> Self {
        Self::new(
            "003001",
            "42501",
            format!("SQL access control error:\nInsufficient privileges to operate on {object}"),
        )
    }

    /// A grant Snowflake refuses for what it grants to whom (a database role given an account
    /// privilege or another database's object). Snowflake's code for it is not documented: the
    /// stand-in answers `003011` with sqlState `42501` (access control) and the builder's
    /// wording of the rule.
    pub(crate) fn not_grantable(why: &str) -> Self {
        Self::new("003011", "42501", format!("SQL compilation error:\n{why}"))
    }

    /// A role grant that would close a cycle. Snowflake's code for it is not documented: the
    /// stand-in answers `003012`, sqlState `42501`.
    pub(crate) fn role_cycle(why: &str) -> Self {
        Self::new("003012", "42501", format!("SQL compilation error:\n{why}"))
    }

    /// `000002`: something Snowflake does not do in this form (`feature` says what).
    pub(crate) fn unsupported(feature: &str) -> Self {
        Self::new(
            "000002",
            "0A000",
            format!("Unsupported feature '{feature}'."),
        )
    }

    /// `002040`: a policy argument or RETURNS type Snowflake does not have. The wording is
    /// Snowflake's usual one for an unknown type; its code for policies is not documented.
    pub(crate) fn unsupported_data_type(written: &str) -> Self {
        Self::new(
            "002040",
            "42601",
            format!("SQL compilation error:\nUnsupported data type '{written}'."),
        )
    }

    /// A masking policy whose RETURNS type is not its input type (Snowflake requires them
    /// equal). Snowflake's code for it is not documented: the stand-in answers `002016`,
    /// sqlState `42601` (a compilation error), with its own wording.
    pub(crate) fn masking_return_type(returns: &str, input: &str) -> Self {
        Self::new(
            "002016",
            "42601",
            format!(
                "SQL compilation error:\nMasking policy return type '{returns}' does not match its input type '{input}'."
            ),
        )
    }

    /// A column whose data type is not the policy argument's it is passed to (the masking
    /// policy's input, or a row access policy's argument at the same position in the ON list).
    /// Snowflake's code is not documented: the stand-in answers `002017`, sqlState `42601`.
    pub(crate) fn policy_column_type(column: &str, data_type: &str, argument: &str) -> Self {
        Self::new(
            "002017",
            "42601",
            format!(
                "SQL compilation error:\nSpecified column {column} data type {data_type} does not match the {argument}."
            ),
        )
    }

    /// An ON list that does not name as many columns as the row access policy has arguments.
    /// Snowflake's code is not documented: the stand-in answers `002018`, sqlState `42601`.
    pub(crate) fn policy_argument_count(policy: &str, arguments: usize, columns: usize) -> Self {
        Self::new(
            "002018",
            "42601",
            format!(
                "SQL compilation error:\nRow access policy '{policy}' takes {arguments} argument(s), but the ON list names {columns} column(s)."
            ),
        )
    }

    /// `003529`: SET MASKING POLICY without FORCE on a column that has one (Snowflake's code
    /// and wording, as its clients quote them).
    pub(crate) fn masking_policy_attached() -> Self {
        Self::new(
            "003529",
            "42601",
            "Specified column already attached to another masking policy. A column cannot be attached to multiple masking policies. Please drop the current association in order to attach a new masking policy.".to_owned(),
        )
    }

    /// ADD ROW ACCESS POLICY on a table or view that has one. Snowflake's code is not
    /// documented: the stand-in answers `003530`, sqlState `42601`.
    pub(crate) fn row_access_policy_attached(object: &str, policy: &str) -> Self {
        Self::new(
            "003530",
            "42601",
            format!(
                "SQL compilation error:\nObject '{object}' already has a row access policy ('{policy}'). A table or view can have only one row access policy."
            ),
        )
    }

    /// DROP ROW ACCESS POLICY of a policy the table or view does not have. Snowflake's code is
    /// not documented: the stand-in answers `003531`, sqlState `42601`.
    pub(crate) fn row_access_policy_not_attached(policy: &str, object: &str) -> Self {
        Self::new(
            "003531",
            "42601",
            format!(
                "SQL compilation error:\nRow access policy '{policy}' is not attached to '{object}'."
            ),
        )
    }

    /// A column that would be both masked and in the row access policy's ON list (`why` says
    /// which way). Snowflake's code is not documented: the stand-in answers `003532`,
    /// sqlState `42601`.
    pub(crate) fn policy_column_conflict(why: &str) -> Self {
        Self::new("003532", "42601", format!("SQL compilation error:\n{why}"))
    }

    /// DROP of a policy still attached to a column or a table (Snowflake's wording). Its code is
    /// not documented: the stand-in answers `003533`, sqlState `42601`.
    pub(crate) fn policy_in_use(policy: &str) -> Self {
        Self::new(
            "003533",
            "42601",
            format!(
                "SQL compilation error:\nPolicy {policy} cannot be dropped/replaced as it is associated with one or more entities."
            ),
        )
    }

    /// A name over Snowflake's 255 characters in a CREATE or RENAME. Snowflake documents the
    /// limit but not its error: the stand-in answers a `001003` syntax error at the name.
    pub(crate) fn identifier_too_long(line: usize, position: usize, length: usize) -> Self {
        Self::new(
            "001003",
            "42000",
            format!(
                "SQL compilation error:\nsyntax error line {line} at position {position}: identifier of {length} characters; the maximum is 255."
            ),
        )
    }

    /// `100132`: statement `ordinal` (1-based) of a multi-statement request failed with
    /// `child`. Snowflake does not document the message's format (it is that of an uncaught
    /// Snowflake Scripting exception); the stand-in keeps the child's code in the text, and a
    /// client must read only the code and state.
    pub(crate) fn multi_statement(ordinal: usize, child: &SqlError) -> Self {
        Self::new(
            "100132",
            "P0000",
            format!(
                "Uncaught exception of type 'STATEMENT_ERROR' on line {ordinal} at position 0 : {} [code {}, sqlState {}]",
                child.message, child.code, child.sql_state
            ),
        )
    }
}

impl From<crate::grants::ModelError> for SqlError {
    /// A builder refusal as the statement's error: `002003` for what does not exist, `002002`
    /// for a name taken, `003011` for a grant Snowflake refuses.
    fn from(error: crate::grants::ModelError) -> Self {
        use crate::grants::ModelError;
        match error {
            ModelError::DoesNotExist { what, name } => SqlError::does_not_exist(what, &name),
            ModelError::AlreadyExists(name) => SqlError::already_exists(&name),
            ModelError::NotGrantable(why) => SqlError::not_grantable(&why),
        }
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
