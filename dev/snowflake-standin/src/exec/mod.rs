//! Runs a parsed statement against the account as the session's user and role: which objects
//! the role sees, which statements need a warehouse, and the rows in Snowflake's order.
//!
//! - `context`: `SELECT CURRENT_...()` and `CONCAT`.
//! - `show`: the SHOW commands listing objects (roles and database roles among them), with
//!   LIKE, STARTS WITH, the `LIMIT … FROM` cursor and the 10,000-row rules; `describe`:
//!   DESCRIBE USER.
//! - `grants`: SHOW GRANTS TO|OF [DATABASE] ROLE, and ACCOUNT_USAGE.GRANTS_TO_ROLES and
//!   GRANTS_TO_USERS with their latency; `access`: who holds which role, indexed once.
//! - `views`: INFORMATION_SCHEMA.{SCHEMATA,TABLES,COLUMNS} and ACCOUNT_USAGE.TAG_REFERENCES,
//!   filtered, ordered and projected without holding the rows.
//! - `usage`: ACCOUNT_USAGE.QUERY_HISTORY, alone or joined to ACCESS_HISTORY, with their
//!   latency and retention.
//! - `ddl`: the writes of an access apply (CREATE, ALTER and DROP of roles and database roles,
//!   GRANT and REVOKE), and the [`State`] they change.
//! - `policies`: masking and row access policies (CREATE, DROP, attaching them to columns and
//!   tables, SHOW … POLICIES, DESCRIBE … POLICY, INFORMATION_SCHEMA.POLICY_REFERENCES).

mod access;
mod context;
mod ddl;
mod describe;
mod grants;
mod policies;
mod show;
mod usage;
mod views;

use std::time::Duration;

use crate::error::SqlError;
use crate::model::{Account, Database, Role, User};
use crate::result::ColumnType;
use crate::sql::{Statement, Value};

pub(crate) use access::Access;
pub(crate) use ddl::{EXECUTED, State, Writer};

/// Who runs the statement, and in which context (the request's or the user's defaults).
#[derive(Clone, Copy)]
pub(crate) struct Session<'a> {
    pub account: &'a Account,
    /// The account's role grants, indexed (`Access::new(account)`).
    pub access: &'a Access,
    pub user: &'a User,
    pub role: &'a Role,
    pub warehouse: Option<&'a str>,
    pub database: Option<&'a str>,
    pub schema: Option<&'a str>,
    /// `bindings` of the request, by position (1-based in SQL, 0-based here); `None`: a
    /// position the request left out.
    pub bindings: &'a [Option<Binding>],
    pub usage: UsageClock,
}

/// The time ACCOUNT_USAGE latency is measured against, and the latencies (`Options`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UsageClock {
    /// When the statement runs, in epoch nanoseconds.
    pub now: i128,
    pub query_history_latency: Duration,
    pub access_history_latency: Duration,
    /// How long a grant takes to appear in GRANTS_TO_ROLES and GRANTS_TO_USERS.
    pub grants_latency: Duration,
}

/// One value of the request's `bindings`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    /// `TEXT`, `FIXED`, `REAL`, `BOOLEAN`, `DATE`, `TIME`, `TIMESTAMP_*`, `BINARY`.
    pub kind: String,
    /// `None`: SQL NULL.
    pub value: Option<String>,
}

/// A statement's rows, produced as they are encoded.
pub(crate) struct Output<'a> {
    pub columns: Vec<ColumnType>,
    pub rows: Box<dyn Iterator<Item = Vec<Option<String>>> + 'a>,
}

pub(crate) fn execute<'a>(
    session: &Session<'a>,
    statement: &Statement,
) -> Result<Output<'a>, SqlError> {
    match statement {
        Statement::Functions(items) => context::select(session, items),
        Statement::Show(show) => show::show(session, show),
        Statement::ShowGrants(show) => grants::show_grants(session, show),
        Statement::DescribeUser(name) => describe::describe_user(session, name),
        Statement::DescribePolicy { kind, name } => policies::describe(session, *kind, name),
        Statement::Query(query) => views::query(session, query),
        Statement::Usage(read) => usage::query(session, read),
        Statement::PolicyReferences(read) => policies::references(session, read),
        // Writes need the state exclusively: `http` runs them through a `Writer`.
        Statement::Transaction(_) | Statement::Write(_) => Err(SqlError::internal(
            "a write reached the read path of the stand-in".to_owned(),
        )),
    }
}

impl Session<'_> {
    /// The role sees the database in INFORMATION_SCHEMA: it owns it or holds a privilege on
    /// it. MANAGE GRANTS does not count there.
    fn holds_privilege_on(&self, database: &Database) -> bool {
        database.owner == self.role.name
            || database
                .visible_to
                .as_ref()
                .is_none_or(|roles| roles.contains(&self.role.name))
    }

    /// The role sees the database in SHOW output: a privilege on it, or MANAGE GRANTS.
    fn sees_in_show(&self, database: &Database) -> bool {
        self.role.manage_grants || self.holds_privilege_on(database)
    }

    /// The role reads SNOWFLAKE.ACCOUNT_USAGE (IMPORTED PRIVILEGES on SNOWFLAKE, as
    /// `Role::account_usage` says, or MANAGE GRANTS as the model has it).
    fn reads_account_usage(&self) -> bool {
        self.role.manage_grants || self.role.account_usage
    }

    /// The role sees the user's details (SHOW USERS columns, DESCRIBE USER): it owns the user
    /// or holds MANAGE GRANTS.
    fn sees_user_details(&self, user: &User) -> bool {
        self.role.manage_grants || user.owner == self.role.name
    }

    /// A literal or `?` as the text it compares as; `None` for a NULL binding.
    fn value(&self, value: &Value) -> Result<Option<String>, SqlError> {
        match value {
            Value::Text(t) | Value::Number(t) => Ok(Some(t.clone())),
            Value::Bind { index, line, pos } => {
                let binding = self
                    .bindings
                    .get(index - 1)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| SqlError::bind_not_set(*line, *pos))?;
                if let Some(v) = &binding.value {
                    let numeric = matches!(binding.kind.as_str(), "FIXED" | "REAL");
                    if numeric && v.trim().parse::<f64>().is_err() {
                        return Err(SqlError::bad_binding(v));
                    }
                }
                Ok(binding.value.clone())
            }
        }
    }
}

/// Snowflake's LIKE: `%` any run, `_` one character, `\` escapes; case-insensitive in SHOW.
pub(crate) fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // matched[j]: the pattern read so far matches t[..j].
    let mut matched = vec![false; t.len() + 1];
    matched[0] = true;
    let mut i = 0;
    while i < p.len() {
        let (token, literal) = if p[i] == '\\' && i + 1 < p.len() {
            i += 1;
            (p[i], true)
        } else {
            (p[i], false)
        };
        i += 1;
        if token == '%' && !literal {
            for j in 1..=t.len() {
                matched[j] = matched[j] || matched[j - 1];
            }
        } else {
            for j in (1..=t.len()).rev() {
                matched[j] = matched[j - 1] && ((token == '_' && !literal) || t[j - 1] == token);
            }
            matched[0] = false;
        }
    }
    matched[t.len()]
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_is_case_insensitive_with_wildcards_and_escapes() {
        assert!(like("sales%", "SALES_2024"));
        assert!(like("%_2024", "SALES_2024"));
        assert!(like("s_les", "SALES"));
        assert!(!like("s_les", "SALLES"));
        assert!(like("a\\%b", "A%B"));
        assert!(!like("a\\%b", "AxB"));
        assert!(like("%", ""));
        assert!(!like("_", ""));
    }
}
