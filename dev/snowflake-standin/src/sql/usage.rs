//! The usage reads: a SELECT from `SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY` (three parts,
//! quoted or not), alone or as the CTE of a LEFT JOIN to `ACCESS_HISTORY`, as a usage sync
//! reads them in batches:
//!
//! ```text
//! SELECT col [, col...] FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY
//!     [WHERE cond [AND cond...]]        -- cond: START_TIME {>=|>|<=|<} ?
//!                                       --   | USER_NAME [NOT] IN (value, ...)
//!     [ORDER BY START_TIME [ASC|DESC]]
//!     [LIMIT ?|n]
//! WITH cte AS (<that SELECT>)
//! SELECT ref [, ref...] FROM cte
//!     LEFT [OUTER] JOIN SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY [[AS] alias]
//!         ON cte.QUERY_ID = ACCESS_HISTORY.QUERY_ID   -- either order; the alias if any
//!     [ORDER BY ref [ASC|DESC] [NULLS FIRST|LAST] [, ...]]   -- ref: [cte. | alias.]column
//! ```
//! Anything else in these statements (`*`, other conditions or sources, OFFSET, a join of
//! another kind) is outside what the stand-in serves: `001003` at its first token. Which
//! columns exist is checked when the statement runs (`exec::usage`).

use super::lexer::{Tok, Token};
use super::{Ident, Parser, Statement, Value};
use crate::error::SqlError;

pub(crate) const QUERY_HISTORY: [&str; 3] = ["SNOWFLAKE", "ACCOUNT_USAGE", "QUERY_HISTORY"];
pub(crate) const ACCESS_HISTORY: [&str; 3] = ["SNOWFLAKE", "ACCOUNT_USAGE", "ACCESS_HISTORY"];

/// A usage read: the QUERY_HISTORY select, and the join around it when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    pub history: History,
    pub join: Option<AccessJoin>,
}

/// `SELECT columns FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct History {
    pub columns: Vec<Ident>,
    pub filter: Vec<HistoryCondition>,
    /// `ORDER BY START_TIME`: `Some(descending)`; `None`: no ORDER BY.
    pub order_descending: Option<bool>,
    pub limit: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HistoryCondition {
    /// `START_TIME op ?`.
    StartTime { op: Comparison, value: Value },
    /// `USER_NAME [NOT] IN (values)`.
    UserName { negated: bool, values: Vec<Value> },
}

/// `[qualifier.]column`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ColumnRef {
    pub qualifier: Option<Ident>,
    pub column: Ident,
}

impl ColumnRef {
    /// As `000904` quotes it: `Q.COL`.
    pub fn shown(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}.{}", q.shown(), self.column.shown()),
            None => self.column.shown(),
        }
    }

    /// Where the reference starts, for errors.
    pub fn at(&self) -> (usize, usize) {
        let first = self.qualifier.as_ref().unwrap_or(&self.column);
        (first.line, first.pos)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrderRef {
    pub column: ColumnRef,
    pub descending: bool,
    /// `None`: Snowflake's default (NULLs last ascending, first descending).
    pub nulls_first: Option<bool>,
}

/// `WITH cte AS (history) SELECT columns FROM cte LEFT JOIN ACCESS_HISTORY ON … ORDER BY …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccessJoin {
    /// The CTE's name.
    pub history: Ident,
    /// The name ACCESS_HISTORY goes by in the statement: its alias, else `ACCESS_HISTORY`.
    pub access: Ident,
    pub columns: Vec<ColumnRef>,
    /// The CTE's side of the ON condition (its QUERY_ID must be among the CTE's columns).
    pub on_history: ColumnRef,
    pub order_by: Vec<OrderRef>,
}

/// The path names `target`, part for part (quoted or not, as resolved).
pub(crate) fn names(path: &[Ident], target: [&str; 3]) -> bool {
    path.len() == 3 && path.iter().zip(target).all(|(p, t)| p.name == t)
}

impl Parser<'_> {
    fn syntax_at(&self, token: &Token) -> SqlError {
        SqlError::syntax(token.line, token.pos, token.shown(self.sql))
    }

    /// `ident [. ident ...]`.
    pub(super) fn path(&mut self) -> Result<Vec<Ident>, SqlError> {
        let mut path = vec![self.ident()?];
        while self.eat_sym(".") {
            path.push(self.ident()?);
        }
        Ok(path)
    }

    /// After `WITH`.
    pub(super) fn with(&mut self) -> Result<Statement, SqlError> {
        let history_name = self.ident()?;
        self.expect_word("AS")?;
        self.expect_sym("(")?;
        self.expect_word("SELECT")?;
        let star = self.peek().clone();
        let columns = if self.eat_sym("*") {
            None
        } else {
            let mut columns = vec![self.ident()?];
            while self.eat_sym(",") {
                columns.push(self.ident()?);
            }
            Some(columns)
        };
        self.expect_word("FROM")?;
        let source = self.peek().clone();
        if !names(&self.path()?, QUERY_HISTORY) {
            return Err(self.syntax_at(&source));
        }
        let columns = columns.ok_or_else(|| self.syntax_at(&star))?;
        let history = self.history(columns)?;
        self.expect_sym(")")?;

        self.expect_word("SELECT")?;
        let mut columns = vec![self.column_ref()?];
        while self.eat_sym(",") {
            columns.push(self.column_ref()?);
        }
        self.expect_word("FROM")?;
        let from = self.peek().clone();
        if self.ident()?.name != history_name.name {
            return Err(self.syntax_at(&from));
        }
        self.expect_word("LEFT")?;
        self.eat_word("OUTER");
        self.expect_word("JOIN")?;
        let source = self.peek().clone();
        let path = self.path()?;
        if !names(&path, ACCESS_HISTORY) {
            return Err(self.syntax_at(&source));
        }
        let aliased = self.eat_word("AS")
            || (matches!(self.peek().tok, Tok::Word(_) | Tok::Quoted(_))
                && !self.peek().is_word("ON"));
        let access = if aliased {
            self.ident()?
        } else {
            path[2].clone()
        };
        self.expect_word("ON")?;
        let left_token = self.peek().clone();
        let left = self.column_ref()?;
        self.expect_sym("=")?;
        let right_token = self.peek().clone();
        let right = self.column_ref()?;
        let side = |r: &ColumnRef, name: &Ident| {
            r.column.name == "QUERY_ID" && r.qualifier.as_ref().is_some_and(|q| q.name == name.name)
        };
        let on_history = if side(&left, &history_name) && side(&right, &access) {
            left
        } else if side(&left, &access) && side(&right, &history_name) {
            right
        } else if side(&left, &history_name) || side(&left, &access) {
            return Err(self.syntax_at(&right_token));
        } else {
            return Err(self.syntax_at(&left_token));
        };
        let mut order_by = Vec::new();
        if self.eat_word("ORDER") {
            self.expect_word("BY")?;
            loop {
                let column = self.column_ref()?;
                let descending = if self.eat_word("DESC") {
                    true
                } else {
                    self.eat_word("ASC");
                    false
                };
                let nulls_first = if self.eat_word("NULLS") {
                    if self.eat_word("FIRST") {
                        Some(true)
                    } else {
                        self.expect_word("LAST")?;
                        Some(false)
                    }
                } else {
                    None
                };
                order_by.push(OrderRef {
                    column,
                    descending,
                    nulls_first,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        Ok(Statement::Usage(Usage {
            history,
            join: Some(AccessJoin {
                history: history_name,
                access,
                columns,
                on_history,
                order_by,
            }),
        }))
    }

    fn column_ref(&mut self) -> Result<ColumnRef, SqlError> {
        let first = self.ident()?;
        if self.eat_sym(".") {
            Ok(ColumnRef {
                qualifier: Some(first),
                column: self.ident()?,
            })
        } else {
            Ok(ColumnRef {
                qualifier: None,
                column: first,
            })
        }
    }

    /// The clauses after `FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY`.
    pub(super) fn history(&mut self, columns: Vec<Ident>) -> Result<History, SqlError> {
        let mut filter = Vec::new();
        if self.eat_word("WHERE") {
            loop {
                filter.push(self.history_condition()?);
                if !self.eat_word("AND") {
                    break;
                }
            }
        }
        let mut order_descending = None;
        if self.eat_word("ORDER") {
            self.expect_word("BY")?;
            let key = self.peek().clone();
            if self.ident()?.name != "START_TIME" {
                return Err(self.syntax_at(&key));
            }
            order_descending = Some(if self.eat_word("DESC") {
                true
            } else {
                self.eat_word("ASC");
                false
            });
        }
        let mut limit = None;
        if self.eat_word("LIMIT") {
            let token = self.peek().clone();
            limit = Some(match &token.tok {
                Tok::Sym(s) if s == "?" => self.value()?,
                Tok::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => self.value()?,
                _ => return Err(self.unexpected()),
            });
        }
        Ok(History {
            columns,
            filter,
            order_descending,
            limit,
        })
    }

    fn history_condition(&mut self) -> Result<HistoryCondition, SqlError> {
        let token = self.peek().clone();
        let column = self.ident()?;
        match column.name.as_str() {
            "START_TIME" => {
                let op = match &self.peek().tok {
                    Tok::Sym(s) if s == ">=" => Comparison::GreaterOrEqual,
                    Tok::Sym(s) if s == ">" => Comparison::Greater,
                    Tok::Sym(s) if s == "<=" => Comparison::LessOrEqual,
                    Tok::Sym(s) if s == "<" => Comparison::Less,
                    _ => return Err(self.unexpected()),
                };
                self.at += 1;
                // Times are bound (epoch nanoseconds); a literal is not served.
                if !self.peek().is_sym("?") {
                    return Err(self.unexpected());
                }
                Ok(HistoryCondition::StartTime {
                    op,
                    value: self.value()?,
                })
            }
            "USER_NAME" => {
                let negated = self.eat_word("NOT");
                self.expect_word("IN")?;
                self.expect_sym("(")?;
                let mut values = vec![self.value()?];
                while self.eat_sym(",") {
                    values.push(self.value()?);
                }
                self.expect_sym(")")?;
                Ok(HistoryCondition::UserName { negated, values })
            }
            _ => Err(self.syntax_at(&token)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const JOIN: &str = r#"WITH history AS (SELECT QUERY_ID, QUERY_TEXT, USER_NAME, ROLE_NAME, EXECUTION_STATUS, START_TIME, END_TIME, BYTES_WRITTEN_TO_RESULT, ROWS_PRODUCED, CREDITS_USED_CLOUD_SERVICES FROM "SNOWFLAKE"."ACCOUNT_USAGE"."QUERY_HISTORY" WHERE START_TIME >= ? AND START_TIME < ? AND USER_NAME NOT IN (?, ?) ORDER BY START_TIME LIMIT ?) SELECT history.QUERY_ID, history.QUERY_TEXT, history.USER_NAME, history.ROLE_NAME, history.EXECUTION_STATUS, history.START_TIME, history.END_TIME, history.BYTES_WRITTEN_TO_RESULT, history.ROWS_PRODUCED, history.CREDITS_USED_CLOUD_SERVICES, ACCESS_HISTORY.DIRECT_OBJECTS_ACCESSED, ACCESS_HISTORY.BASE_OBJECTS_ACCESSED, ACCESS_HISTORY.OBJECTS_MODIFIED, ACCESS_HISTORY.OBJECT_MODIFIED_BY_DDL FROM history LEFT JOIN "SNOWFLAKE"."ACCOUNT_USAGE"."ACCESS_HISTORY" ON history.QUERY_ID = ACCESS_HISTORY.QUERY_ID ORDER BY history.START_TIME, history.QUERY_ID"#;

    fn parsed(sql: &str) -> (Usage, usize) {
        match parse(sql, 1) {
            Ok((Statement::Usage(u), binds)) => (u, binds),
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn error(sql: &str) -> String {
        match parse(sql, 1) {
            Ok(s) => panic!("{sql} parsed as {s:?}"),
            Err(e) => format!("{} {}", e.code, e.message),
        }
    }

    #[test]
    fn the_usage_join_is_parsed_with_its_binds_in_order() {
        let (usage, binds) = parsed(JOIN);
        assert_eq!(binds, 5);
        let history = &usage.history;
        assert_eq!(history.columns.len(), 10);
        assert!(matches!(
            history.filter.as_slice(),
            [
                HistoryCondition::StartTime {
                    op: Comparison::GreaterOrEqual,
                    value: Value::Bind { index: 1, .. }
                },
                HistoryCondition::StartTime {
                    op: Comparison::Less,
                    value: Value::Bind { index: 2, .. }
                },
                HistoryCondition::UserName { negated: true, values },
            ] if values.len() == 2
        ));
        assert_eq!(history.order_descending, Some(false));
        assert!(matches!(history.limit, Some(Value::Bind { index: 5, .. })));
        let join = usage.join.unwrap_or_else(|| panic!("a join"));
        assert_eq!(join.history.name, "HISTORY");
        assert_eq!(join.access.name, "ACCESS_HISTORY");
        assert_eq!(join.columns.len(), 14);
        assert_eq!(
            join.columns[10].shown(),
            "ACCESS_HISTORY.DIRECT_OBJECTS_ACCESSED"
        );
        assert_eq!(join.on_history.shown(), "HISTORY.QUERY_ID");
        assert_eq!(
            join.order_by
                .iter()
                .map(|o| o.column.shown())
                .collect::<Vec<_>>(),
            ["HISTORY.START_TIME", "HISTORY.QUERY_ID"]
        );
    }

    #[test]
    fn the_history_select_stands_alone_and_takes_unquoted_names() {
        let (usage, binds) = parsed(
            "select QUERY_ID from snowflake.account_usage.query_history where start_time > ? order by start_time desc limit 10",
        );
        assert_eq!(binds, 1);
        assert!(usage.join.is_none());
        assert_eq!(usage.history.order_descending, Some(true));
        assert_eq!(usage.history.limit, Some(Value::Number("10".into())));
        // An alias on the join, the ON sides swapped.
        let (usage, _) = parsed(
            "with h as (select QUERY_ID from SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY) select h.QUERY_ID, a.OBJECTS_MODIFIED from h left outer join SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY a on a.query_id = h.query_id",
        );
        let join = usage.join.unwrap_or_else(|| panic!("a join"));
        assert_eq!((join.access.name.as_str(), join.order_by.len()), ("A", 0));
    }

    #[test]
    fn other_shapes_are_syntax_errors_at_their_first_token() {
        assert_eq!(
            error("SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 7 unexpected '*'."
        );
        assert_eq!(
            error(
                "SELECT QUERY_ID FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY WHERE WAREHOUSE_NAME = 'X'"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 65 unexpected 'WAREHOUSE_NAME'."
        );
        assert_eq!(
            error(
                "SELECT QUERY_ID FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY WHERE START_TIME >= '2024-01-01'"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 79 unexpected ''2024-01-01''."
        );
        assert_eq!(
            error("SELECT QUERY_ID FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY LIMIT 5 OFFSET 5"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 67 unexpected 'OFFSET'."
        );
        assert_eq!(
            error("SELECT QUERY_ID FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY ORDER BY END_TIME"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 68 unexpected 'END_TIME'."
        );
        assert_eq!(
            error(
                "WITH h AS (SELECT TABLE_NAME FROM SALES.INFORMATION_SCHEMA.TABLES) SELECT h.x FROM h"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 34 unexpected 'SALES'."
        );
        let join = |tail: &str| {
            error(&format!(
                "WITH h AS (SELECT QUERY_ID FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY) SELECT h.QUERY_ID FROM h {tail}"
            ))
        };
        assert_eq!(
            join("JOIN SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY a ON h.QUERY_ID = a.QUERY_ID"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 96 unexpected 'JOIN'."
        );
        assert_eq!(
            join("LEFT JOIN SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES a ON h.QUERY_ID = a.QUERY_ID"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 106 unexpected 'SNOWFLAKE'."
        );
        assert_eq!(
            join(
                "LEFT JOIN SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY a ON h.QUERY_ID = a.PARENT_QUERY_ID"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 163 unexpected 'a'."
        );
    }
}
