//! What a POST carries: the payload (statement, timeout, context, `bindings`, the documented
//! `parameters` only), and the session it runs in (role granted to the user, warehouse,
//! database and schema that exist).

use crate::error::SqlError;
use crate::exec::{Access, Binding};
use crate::model::{Account, Role};
use serde_json::Value;

/// Snowflake's default STATEMENT_TIMEOUT_IN_SECONDS (two days), used when the body has no
/// `timeout`; `timeout: 0` means the maximum, seven days.
const DEFAULT_TIMEOUT: u64 = 172_800;
const MAX_TIMEOUT: u64 = 604_800;

/// The `parameters` keys the SQL API accepts (case-insensitive).
const PARAMETERS: &[&str] = &[
    "binary_output_format",
    "client_result_chunk_size",
    "date_output_format",
    "multi_statement_count",
    "query_tag",
    "rows_per_resultset",
    "time_output_format",
    "timestamp_output_format",
    "timestamp_ltz_output_format",
    "timestamp_ntz_output_format",
    "timestamp_tz_output_format",
    "timezone",
    "use_cached_result",
];

const BINDING_TYPES: &[&str] = &[
    "TEXT",
    "FIXED",
    "REAL",
    "BOOLEAN",
    "DATE",
    "TIME",
    "TIMESTAMP_LTZ",
    "TIMESTAMP_NTZ",
    "TIMESTAMP_TZ",
    "BINARY",
];

/// The parts of a POST body the stand-in reads.
pub(super) struct Submission {
    pub statement: String,
    pub timeout: u64,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub warehouse: Option<String>,
    pub role: Option<String>,
    pub bindings: Vec<Option<Binding>>,
    pub statement_count: usize,
}

pub(super) fn parse_submission(body: &[u8]) -> Option<Submission> {
    let Value::Object(body) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    let statement = body.get("statement")?.as_str()?.to_owned();
    let text = |key: &str| -> Option<Option<String>> {
        match body.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        }
    };
    let timeout = match body.get("timeout") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT,
        Some(t) => match t.as_u64()? {
            0 => MAX_TIMEOUT,
            t => t.min(MAX_TIMEOUT),
        },
    };
    let mut bindings = Vec::new();
    match body.get("bindings") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, binding) in map {
                let index: usize = key.parse().ok().filter(|&i| i >= 1)?;
                let kind = binding.get("type")?.as_str()?.to_uppercase();
                if !BINDING_TYPES.contains(&kind.as_str()) {
                    return None;
                }
                let value = match binding.get("value") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return None,
                };
                if bindings.len() < index {
                    bindings.resize(index, None);
                }
                bindings[index - 1] = Some(Binding { kind, value });
            }
        }
        Some(_) => return None,
    }
    let mut statement_count = 1;
    match body.get("parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let key = key.to_ascii_lowercase();
                if !PARAMETERS.contains(&key.as_str()) {
                    return None;
                }
                if key == "multi_statement_count" {
                    statement_count = match value {
                        Value::String(s) => s.trim().parse().ok()?,
                        Value::Number(n) => usize::try_from(n.as_u64()?).ok()?,
                        _ => return None,
                    };
                }
            }
        }
        Some(_) => return None,
    }
    Some(Submission {
        statement,
        timeout,
        database: text("database")?,
        schema: text("schema")?,
        warehouse: text("warehouse")?,
        role: text("role")?,
        bindings,
        statement_count,
    })
}

pub(super) fn prefix(statement: &str) -> String {
    let mut words = statement
        .split(|c: char| c.is_whitespace() || c == ';' || c == '(')
        .filter(|w| !w.is_empty())
        .map(str::to_uppercase);
    let first = words.next().unwrap_or_default();
    match (first.as_str(), words.next()) {
        ("SHOW" | "DESC" | "DESCRIBE" | "CREATE" | "ALTER" | "DROP", Some(second)) => {
            format!("{first} {second}")
        }
        _ => first,
    }
}

/// The context a statement runs in, owned so that it can move to the blocking task.
pub(super) struct Context {
    pub role: Role,
    pub warehouse: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
}

/// The session of `user` for this request: the request's role (which must be granted to the
/// user, directly or through a role granted to it; the user's default role counts as granted)
/// or the user's default (PUBLIC when unset or gone); the request's warehouse,
/// database and schema, or the user's default warehouse; names that do not exist are left
/// unset, as Snowflake leaves them.
pub(super) fn context(
    account: &Account,
    access: &Access,
    user_index: usize,
    submission: &Submission,
) -> Result<Context, SqlError> {
    let user = &account.users[user_index];
    let find_role = |name: &str| account.roles.iter().find(|r| r.name == name).cloned();
    let role = match &submission.role {
        Some(name) => {
            let granted = name == "PUBLIC" || access.user_may_use(user_index, name);
            find_role(name)
                .filter(|_| granted)
                .ok_or_else(|| SqlError::role_not_granted(name))?
        }
        None => find_role(&user.default_role)
            .or_else(|| find_role("PUBLIC"))
            .unwrap_or_else(|| Role {
                name: "PUBLIC".to_owned(),
                ..Role::default()
            }),
    };
    let warehouse = submission
        .warehouse
        .clone()
        .or_else(|| Some(user.default_warehouse.clone()))
        .filter(|w| account.warehouses.iter().any(|x| x.name == *w));
    let database = submission
        .database
        .clone()
        .filter(|d| account.databases.iter().any(|x| x.name == *d));
    let schema = submission.schema.clone().filter(|s| {
        database.as_ref().is_some_and(|d| {
            s == "INFORMATION_SCHEMA"
                || account
                    .databases
                    .iter()
                    .any(|x| x.name == *d && x.schemas.iter().any(|y| y.name == *s))
        })
    });
    Ok(Context {
        role,
        warehouse,
        database,
        schema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_name_the_command() {
        assert_eq!(prefix("show users limit 10"), "SHOW USERS");
        assert_eq!(prefix("  select * from x"), "SELECT");
        assert_eq!(prefix("DESCRIBE USER \"a\""), "DESCRIBE USER");
        assert_eq!(prefix("create masking policy p"), "CREATE MASKING");
        assert_eq!(
            prefix("describe masking policy \"DB\".\"S\".\"P\""),
            "DESCRIBE MASKING"
        );
        assert_eq!(prefix("DESCRIBE ROW ACCESS POLICY p"), "DESCRIBE ROW");
        // The abbreviation counts apart, as DESC USER does.
        assert_eq!(prefix("desc masking policy p"), "DESC MASKING");
        assert_eq!(
            prefix("ALTER TABLE t ADD ROW ACCESS POLICY p ON (a)"),
            "ALTER TABLE"
        );
    }

    #[test]
    fn a_payload_takes_only_documented_parameters_and_typed_bindings() {
        let ok = parse_submission(br#"{"statement":"select 1","timeout":0,"bindings":{"2":{"type":"TEXT","value":"x"}},"parameters":{"MULTI_STATEMENT_COUNT":"2","query_tag":"t"}}"#);
        let ok = ok.map(|s| (s.timeout, s.statement_count, s.bindings));
        assert_eq!(
            ok,
            Some((
                MAX_TIMEOUT,
                2,
                vec![
                    None,
                    Some(Binding {
                        kind: "TEXT".into(),
                        value: Some("x".into())
                    })
                ]
            ))
        );
        assert!(
            parse_submission(br#"{"statement":"x","parameters":{"autocommit":"true"}}"#).is_none()
        );
        assert!(
            parse_submission(br#"{"statement":"x","bindings":{"1":{"type":"WEIRD","value":"1"}}}"#)
                .is_none()
        );
        assert!(parse_submission(br#"{"statement":"x","timeout":-1}"#).is_none());
        assert!(parse_submission(br#"{"statment":"x"}"#).is_none());
        assert!(parse_submission(b"not json").is_none());
    }
}
