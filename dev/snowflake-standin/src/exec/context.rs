//! `SELECT` without FROM: the context functions a connector asks first (who am I, which
//! account), `CONCAT` of them and literals. They run without a warehouse, as in Snowflake.

use super::{Output, Session};
use crate::error::SqlError;
use crate::result::{ColumnType, Kind};
use crate::sql::{Expr, SelectItem};

pub(super) fn select<'a>(
    session: &Session<'a>,
    items: &[SelectItem],
) -> Result<Output<'a>, SqlError> {
    let mut columns = Vec::new();
    let mut row = Vec::new();
    for item in items {
        let kind = match item.expr {
            Expr::Number(_) => Kind::Fixed,
            _ => Kind::Text,
        };
        row.push(evaluate(session, &item.expr)?);
        columns.push(ColumnType::new(item.label.clone(), kind));
    }
    Ok(Output {
        columns,
        rows: Box::new(std::iter::once(row)),
    })
}

fn evaluate(session: &Session<'_>, expr: &Expr) -> Result<Option<String>, SqlError> {
    let (function, args) = match expr {
        Expr::Text(t) | Expr::Number(t) => return Ok(Some(t.clone())),
        Expr::Column(c) => return Err(SqlError::invalid_identifier(c.line, c.pos, &c.shown())),
        Expr::Call { function, args } => (function, args),
    };
    let account = session.account;
    let value = match function.name.as_str() {
        "CONCAT" => {
            let mut out = String::new();
            for arg in args {
                match evaluate(session, arg)? {
                    Some(part) => out.push_str(&part),
                    // CONCAT of anything with NULL is NULL.
                    None => return Ok(None),
                }
            }
            return Ok(Some(out));
        }
        "CURRENT_ORGANIZATION_NAME" => Some(account.organization.clone()),
        "CURRENT_ACCOUNT_NAME" => Some(account.name.clone()),
        "CURRENT_ACCOUNT" if account.locator.is_empty() => Some(account.name.clone()),
        "CURRENT_ACCOUNT" => Some(account.locator.clone()),
        "CURRENT_USER" => Some(session.user.name.clone()),
        "CURRENT_ROLE" => Some(session.role.name.clone()),
        "CURRENT_WAREHOUSE" => session.warehouse.map(str::to_owned),
        "CURRENT_DATABASE" => session.database.map(str::to_owned),
        "CURRENT_SCHEMA" => session.schema.map(str::to_owned),
        other => {
            return Err(SqlError {
                code: "002140",
                sql_state: "42601",
                message: format!("SQL compilation error:\nUnknown function {other}"),
            });
        }
    };
    if !args.is_empty() {
        return Err(SqlError {
            code: "001044",
            sql_state: "42P13",
            message: format!(
                "SQL compilation error: error line {} at position {}\nInvalid argument types for function '{}': ({})",
                function.line,
                function.pos,
                function.name,
                vec!["VARCHAR"; args.len()].join(", ")
            ),
        });
    }
    Ok(value)
}
