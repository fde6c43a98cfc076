//! The statements the stand-in serves, parsed from their text. Keywords are case-insensitive;
//! unquoted identifiers are stored upper-case, quoted ones exact (with `""` escapes), as
//! Snowflake resolves them. Anything outside this grammar is a `001003` syntax error at the
//! first token that does not fit:
//!
//! ```text
//! SELECT item [, item...]                     -- item: CURRENT_ORGANIZATION_NAME(),
//!                                             --   CURRENT_ACCOUNT_NAME(), CURRENT_ACCOUNT(),
//!                                             --   CURRENT_USER(), CURRENT_ROLE(), CURRENT_WAREHOUSE(),
//!                                             --   CURRENT_DATABASE(), CURRENT_SCHEMA(),
//!                                             --   CONCAT(...), 'literal'; [AS alias]
//! SELECT * | col [, col...] FROM [db.]INFORMATION_SCHEMA.{SCHEMATA|TABLES|COLUMNS}
//!                                 | SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES
//!     [WHERE cond [AND cond...]]               -- cond: col = value | col IS [NOT] NULL
//!                                             --   | col IN (value, ...); value: 'text' | number | ?
//!     [ORDER BY col|n [ASC|DESC] [NULLS FIRST|LAST] [, ...]]
//! SHOW {DATABASES|SCHEMAS|WAREHOUSES|SHARES|INTEGRATIONS|USERS|ROLES|FUNCTIONS|PROCEDURES}
//!     [LIKE 'pattern'] [IN ACCOUNT | IN DATABASE [db]] [STARTS WITH 'prefix']
//!     [LIMIT n [FROM 'name']]                 -- each clause where Snowflake has it
//! SHOW DATABASE ROLES IN DATABASE db [LIMIT n [FROM 'name']]
//! SHOW GRANTS {TO|OF} {ROLE r | DATABASE ROLE [db.]r} [LIMIT n]   -- see `grants`
//! DESC[RIBE] USER name
//! DESC[RIBE] {MASKING|ROW ACCESS} POLICY [[db.]s.]p  -- see `policies`
//! SELECT … FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY …  -- and WITH … LEFT JOIN ACCESS_HISTORY:
//!                                             --   the usage reads, see `usage`
//! BEGIN | COMMIT | ROLLBACK | CREATE|ALTER|DROP [DATABASE] ROLE … | GRANT … | REVOKE …
//!                                             -- the writes of an access apply, see `ddl`
//! CREATE|DROP {MASKING|ROW ACCESS} POLICY … | ALTER {TABLE|VIEW} … {SET|UNSET} MASKING POLICY
//!     | ALTER {TABLE|VIEW} … {ADD|DROP} ROW ACCESS POLICY …
//! SHOW {MASKING|ROW ACCESS} POLICIES [LIKE 'pattern'] [IN ACCOUNT | IN DATABASE [db]]
//! SELECT … FROM TABLE([db.]INFORMATION_SCHEMA.POLICY_REFERENCES(…))
//!                                             -- policies, see `policies`
//! ```
//! The SELECT from a view also serves `SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES` and
//! `GRANTS_TO_USERS`.
//! A trailing `;` is allowed. [`parse`] takes one statement (a second one is a statement-count
//! error, `000008`); [`split`] takes the statements of a multi-statement request, each parsed
//! on its own so that one that does not parse fails only when its turn comes.

mod ddl;
mod grants;
mod lexer;
mod policies;
mod usage;

use crate::error::SqlError;
use crate::model::PolicyKind;
pub(crate) use ddl::{Privilege, RoleChange, RoleHolder, RoleName, Target, Transaction, Write};
pub(crate) use grants::{GrantedRole, ShowGrants};
use lexer::{Tok, Token};
pub(crate) use policies::{
    LiteralName, PolicyReferences, PolicyWrite, RefTarget, Relation, data_type,
};
pub(crate) use usage::{AccessJoin, ColumnRef, Comparison, HistoryCondition, QUERY_HISTORY, Usage};

/// A name as written: `name` resolved (upper-case unless quoted) and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ident {
    pub name: String,
    pub quoted: bool,
    pub line: usize,
    pub pos: usize,
}

impl Ident {
    /// How `000904` quotes it: resolved, in double quotes when it was quoted.
    pub fn shown(&self) -> String {
        if self.quoted {
            format!("\"{}\"", self.name)
        } else {
            self.name.clone()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Statement {
    /// `SELECT` of context functions and literals, without FROM.
    Functions(Vec<SelectItem>),
    Query(Query),
    Show(Show),
    ShowGrants(ShowGrants),
    DescribeUser(Ident),
    /// `DESC[RIBE] {MASKING|ROW ACCESS} POLICY name`: one to three parts, as written.
    DescribePolicy {
        kind: PolicyKind,
        name: Vec<Ident>,
    },
    /// A read of QUERY_HISTORY, alone or joined to ACCESS_HISTORY.
    Usage(Usage),
    /// BEGIN, COMMIT or ROLLBACK.
    Transaction(Transaction),
    /// A statement that changes the account's roles or grants, or its policies.
    Write(Write),
    /// A read of the POLICY_REFERENCES table function.
    PolicyReferences(PolicyReferences),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    Call { function: Ident, args: Vec<Expr> },
    Text(String),
    Number(String),
    Column(Ident),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SelectItem {
    pub expr: Expr,
    /// The result column's name: the alias, else the expression as written, upper-cased
    /// outside string literals (as Snowflake names an unaliased expression).
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    Number(String),
    /// The n-th `?` (1-based), filled from `bindings`.
    Bind {
        index: usize,
        line: usize,
        pos: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    Equals(Ident, Value),
    IsNull { column: Ident, negated: bool },
    In(Ident, Vec<Value>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OrderKey {
    Column(Ident),
    /// `ORDER BY 2`: the second selected column.
    Position {
        n: usize,
        line: usize,
        pos: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrderItem {
    pub key: OrderKey,
    pub descending: bool,
    /// `None`: Snowflake's default (NULLs last ascending, first descending).
    pub nulls_first: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    /// `None`: `*`.
    pub columns: Option<Vec<Ident>>,
    pub from: Vec<Ident>,
    pub filter: Vec<Condition>,
    pub order_by: Vec<OrderItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShowKind {
    Databases,
    Schemas,
    Warehouses,
    Shares,
    Integrations,
    Users,
    Roles,
    Functions,
    Procedures,
    /// `SHOW DATABASE ROLES IN DATABASE db`, parsed by `grants`.
    DatabaseRoles,
    MaskingPolicies,
    RowAccessPolicies,
}

impl ShowKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ShowKind::Databases => "DATABASES",
            ShowKind::Schemas => "SCHEMAS",
            ShowKind::Warehouses => "WAREHOUSES",
            ShowKind::Shares => "SHARES",
            ShowKind::Integrations => "INTEGRATIONS",
            ShowKind::Users => "USERS",
            ShowKind::Roles => "ROLES",
            ShowKind::Functions => "FUNCTIONS",
            ShowKind::Procedures => "PROCEDURES",
            ShowKind::DatabaseRoles => "DATABASE ROLES",
            ShowKind::MaskingPolicies => "MASKING POLICIES",
            ShowKind::RowAccessPolicies => "ROW ACCESS POLICIES",
        }
    }

    /// Which optional clauses the command takes: (LIKE, IN, STARTS WITH, LIMIT).
    fn clauses(self) -> (bool, bool, bool, bool) {
        match self {
            ShowKind::Databases | ShowKind::Schemas => (true, true, true, true),
            ShowKind::Functions | ShowKind::Procedures => (true, true, true, true),
            ShowKind::Shares | ShowKind::Users | ShowKind::Roles => (true, false, true, true),
            ShowKind::Warehouses | ShowKind::Integrations => (true, false, false, false),
            ShowKind::DatabaseRoles => (false, true, false, true),
            // Snowflake's SHOW … POLICIES takes no STARTS WITH and no LIMIT.
            ShowKind::MaskingPolicies | ShowKind::RowAccessPolicies => (true, true, false, false),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Account,
    /// `IN DATABASE [name]`; `None`: the session's current database.
    Database(Option<Ident>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Show {
    pub kind: ShowKind,
    pub like: Option<String>,
    pub scope: Option<Scope>,
    pub starts_with: Option<String>,
    pub limit: Option<u64>,
    pub from: Option<String>,
}

/// Parses one request's statement text, checking the statement count against
/// `MULTI_STATEMENT_COUNT` (`desired`; 0 = any). Returns the statement and the number of `?`
/// placeholders in it.
pub(crate) fn parse(sql: &str, desired: usize) -> Result<(Statement, usize), SqlError> {
    let tokens = lexer::lex(sql)?;
    check_count(&tokens, desired)?;
    let mut parser = Parser {
        sql,
        tokens,
        at: 0,
        binds: 0,
    };
    while parser.eat_sym(";") {}
    let statement = parser.statement()?;
    while parser.eat_sym(";") {}
    // A second statement (MULTI_STATEMENT_COUNT > 1 or 0) is not served here: the stand-in
    // stops at its first token as at any other statement it does not know (`split` serves
    // multi-statement requests).
    parser.expect_eof()?;
    Ok((statement, parser.binds))
}

/// One statement of a multi-statement request.
#[derive(Clone, Debug)]
pub(crate) struct Piece {
    /// The statement as written, without its `;`.
    pub text: String,
    /// The statement parsed on its own (with its `?` count), or why it does not parse.
    pub parsed: Result<(Statement, usize), SqlError>,
}

/// Splits a multi-statement request's text into its statements at the `;` outside literals
/// and quoted names, after checking their count against `MULTI_STATEMENT_COUNT` (`desired`;
/// 0 = any). A text that does not lex (an unterminated literal) fails as a whole.
pub(crate) fn split(sql: &str, desired: usize) -> Result<Vec<Piece>, SqlError> {
    let tokens = lexer::lex(sql)?;
    check_count(&tokens, desired)?;
    if let Some(end) = tokens.iter().find(|t| t.tok == Tok::Eof)
        && tokens.iter().all(|t| t.is_sym(";") || t.tok == Tok::Eof)
    {
        // No statement at all: what a single empty statement gets.
        return Err(SqlError::syntax(end.line, end.pos, "<EOF>"));
    }
    let mut pieces = Vec::new();
    for group in tokens.split(|t| t.is_sym(";") || t.tok == Tok::Eof) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let mut own = group.to_vec();
        // The statement ends where its last token does, as if the text ended there.
        own.push(Token {
            tok: Tok::Eof,
            line: last.line,
            pos: last.pos + sql[last.start..last.end].chars().count(),
            start: last.end,
            end: last.end,
        });
        let mut parser = Parser {
            sql,
            tokens: own,
            at: 0,
            binds: 0,
        };
        let parsed = parser
            .statement()
            .and_then(|statement| parser.expect_eof().map(|()| (statement, parser.binds)));
        pieces.push(Piece {
            text: sql[first.start..last.end].to_owned(),
            parsed,
        });
    }
    Ok(pieces)
}

fn check_count(tokens: &[Token], desired: usize) -> Result<(), SqlError> {
    let count = tokens
        .split(|t| t.is_sym(";") || t.tok == Tok::Eof)
        .filter(|s| !s.is_empty())
        .count();
    if desired != 0 && count != desired {
        return Err(SqlError::statement_count(count, desired));
    }
    Ok(())
}

struct Parser<'a> {
    sql: &'a str,
    tokens: Vec<Token>,
    at: usize,
    binds: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with Eof and `advance` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn unexpected(&self) -> SqlError {
        let token = self.peek();
        SqlError::syntax(token.line, token.pos, token.shown(self.sql))
    }

    fn eat_word(&mut self, keyword: &str) -> bool {
        if self.peek().is_word(keyword) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, keyword: &str) -> Result<(), SqlError> {
        if self.eat_word(keyword) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn eat_sym(&mut self, symbol: &str) -> bool {
        if self.peek().is_sym(symbol) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, symbol: &str) -> Result<(), SqlError> {
        if self.eat_sym(symbol) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_eof(&self) -> Result<(), SqlError> {
        if self.peek().tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<Ident, SqlError> {
        let token = self.peek().clone();
        let (name, quoted) = match token.tok {
            Tok::Word(w) => (w.to_uppercase(), false),
            Tok::Quoted(q) => (q, true),
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        Ok(Ident {
            name,
            quoted,
            line: token.line,
            pos: token.pos,
        })
    }

    fn string(&mut self) -> Result<String, SqlError> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn statement(&mut self) -> Result<Statement, SqlError> {
        if self.eat_word("SELECT") {
            self.select()
        } else if self.eat_word("WITH") {
            self.with()
        } else if self.eat_word("SHOW") {
            self.show()
        } else if self.eat_word("DESCRIBE") || self.eat_word("DESC") {
            if self.peek().is_word("MASKING") || self.peek().is_word("ROW") {
                return self.describe_policy();
            }
            self.expect_word("USER")?;
            Ok(Statement::DescribeUser(self.ident()?))
        } else if self.eat_word("CREATE") {
            self.create()
        } else if self.eat_word("ALTER") {
            self.alter()
        } else if self.eat_word("DROP") {
            self.drop_role()
        } else if self.eat_word("GRANT") {
            self.grant(false)
        } else if self.eat_word("REVOKE") {
            self.grant(true)
        } else if self.eat_word("BEGIN") {
            self.transaction(Transaction::Begin)
        } else if self.eat_word("START") {
            self.start_transaction()
        } else if self.eat_word("COMMIT") {
            self.transaction(Transaction::Commit)
        } else if self.eat_word("ROLLBACK") {
            self.transaction(Transaction::Rollback)
        } else {
            Err(self.unexpected())
        }
    }

    fn select(&mut self) -> Result<Statement, SqlError> {
        let star = self.peek().clone();
        let columns = if self.eat_sym("*") {
            None
        } else {
            let mut items = vec![self.select_item()?];
            while self.eat_sym(",") {
                items.push(self.select_item()?);
            }
            if !self.peek().is_word("FROM") {
                return Ok(Statement::Functions(items));
            }
            // Only plain columns are served from a view.
            let mut columns = Vec::new();
            for item in items {
                match item.expr {
                    Expr::Column(c) if c.name == item.label => columns.push(c),
                    _ => return Err(self.unexpected()),
                }
            }
            Some(columns)
        };
        self.expect_word("FROM")?;
        if self.peek().is_word("TABLE") && self.peek_second().is_sym("(") {
            let (from, target) = self.policy_references()?;
            let (filter, order_by) = self.filter_and_order()?;
            return Ok(Statement::PolicyReferences(PolicyReferences {
                query: Query {
                    columns,
                    from,
                    filter,
                    order_by,
                },
                target,
            }));
        }
        let from = self.path()?;
        if usage::names(&from, QUERY_HISTORY) {
            // The history has more columns than the stand-in models: `*` is not served.
            let columns = columns
                .ok_or_else(|| SqlError::syntax(star.line, star.pos, star.shown(self.sql)))?;
            return Ok(Statement::Usage(Usage {
                history: self.history(columns)?,
                join: None,
            }));
        }
        let (filter, order_by) = self.filter_and_order()?;
        Ok(Statement::Query(Query {
            columns,
            from,
            filter,
            order_by,
        }))
    }

    /// `[WHERE cond [AND cond...]] [ORDER BY item [, ...]]`.
    fn filter_and_order(&mut self) -> Result<(Vec<Condition>, Vec<OrderItem>), SqlError> {
        let mut filter = Vec::new();
        if self.eat_word("WHERE") {
            filter.push(self.condition()?);
            while self.eat_word("AND") {
                filter.push(self.condition()?);
            }
        }
        let mut order_by = Vec::new();
        if self.eat_word("ORDER") {
            self.expect_word("BY")?;
            order_by.push(self.order_item()?);
            while self.eat_sym(",") {
                order_by.push(self.order_item()?);
            }
        }
        Ok((filter, order_by))
    }

    fn select_item(&mut self) -> Result<SelectItem, SqlError> {
        let start = self.peek().start;
        let expr = self.expr()?;
        let end = self.tokens[self.at.saturating_sub(1)].end;
        let aliased = self.eat_word("AS")
            || (matches!(self.peek().tok, Tok::Word(_) | Tok::Quoted(_))
                && !self.peek().is_word("FROM"));
        let label = if aliased {
            self.ident()?.name
        } else {
            match &expr {
                Expr::Column(c) => c.name.clone(),
                _ => upper_outside_literals(&self.sql[start..end]),
            }
        };
        Ok(SelectItem { expr, label })
    }

    fn expr(&mut self) -> Result<Expr, SqlError> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.at += 1;
                Ok(Expr::Text(s))
            }
            Tok::Num(n) => {
                self.at += 1;
                Ok(Expr::Number(n))
            }
            Tok::Word(_) | Tok::Quoted(_) => {
                let name = self.ident()?;
                if !name.quoted && self.eat_sym("(") {
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        args.push(self.expr()?);
                        while self.eat_sym(",") {
                            args.push(self.expr()?);
                        }
                        self.expect_sym(")")?;
                    }
                    Ok(Expr::Call {
                        function: name,
                        args,
                    })
                } else {
                    Ok(Expr::Column(name))
                }
            }
            _ => Err(self.unexpected()),
        }
    }

    fn value(&mut self) -> Result<Value, SqlError> {
        let token = self.peek().clone();
        let value = match token.tok {
            Tok::Str(s) => Value::Text(s),
            Tok::Num(n) => Value::Number(n),
            Tok::Sym(s) if s == "?" => {
                self.binds += 1;
                Value::Bind {
                    index: self.binds,
                    line: token.line,
                    pos: token.pos,
                }
            }
            Tok::Sym(s) if s == "-" => {
                self.at += 1;
                return match self.peek().tok.clone() {
                    Tok::Num(n) => {
                        self.at += 1;
                        Ok(Value::Number(format!("-{n}")))
                    }
                    _ => Err(self.unexpected()),
                };
            }
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        Ok(value)
    }

    fn condition(&mut self) -> Result<Condition, SqlError> {
        let column = self.ident()?;
        if self.eat_sym("=") {
            Ok(Condition::Equals(column, self.value()?))
        } else if self.eat_word("IS") {
            let negated = self.eat_word("NOT");
            self.expect_word("NULL")?;
            Ok(Condition::IsNull { column, negated })
        } else if self.eat_word("IN") {
            self.expect_sym("(")?;
            let mut values = vec![self.value()?];
            while self.eat_sym(",") {
                values.push(self.value()?);
            }
            self.expect_sym(")")?;
            Ok(Condition::In(column, values))
        } else {
            Err(self.unexpected())
        }
    }

    fn order_item(&mut self) -> Result<OrderItem, SqlError> {
        let token = self.peek().clone();
        let key = match &token.tok {
            Tok::Num(n) => match n.parse::<usize>() {
                Ok(n) if n >= 1 => {
                    self.at += 1;
                    OrderKey::Position {
                        n,
                        line: token.line,
                        pos: token.pos,
                    }
                }
                _ => return Err(self.unexpected()),
            },
            _ => OrderKey::Column(self.ident()?),
        };
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
        Ok(OrderItem {
            key,
            descending,
            nulls_first,
        })
    }

    fn show(&mut self) -> Result<Statement, SqlError> {
        if self.eat_word("GRANTS") {
            return self.show_grants();
        }
        if self.eat_word("DATABASE") {
            return self.show_database_roles();
        }
        let kind = if self.eat_word("MASKING") {
            self.expect_word("POLICIES")?;
            ShowKind::MaskingPolicies
        } else if self.eat_word("ROW") {
            self.expect_word("ACCESS")?;
            self.expect_word("POLICIES")?;
            ShowKind::RowAccessPolicies
        } else {
            self.show_kind()?
        };
        self.show_clauses(kind)
    }

    /// A SHOW command of one word.
    fn show_kind(&mut self) -> Result<ShowKind, SqlError> {
        let kind = [
            ShowKind::Databases,
            ShowKind::Schemas,
            ShowKind::Warehouses,
            ShowKind::Shares,
            ShowKind::Integrations,
            ShowKind::Users,
            ShowKind::Roles,
            ShowKind::Functions,
            ShowKind::Procedures,
        ]
        .into_iter()
        .find(|k| self.peek().is_word(k.keyword()))
        .ok_or_else(|| self.unexpected())?;
        self.at += 1;
        Ok(kind)
    }

    /// The optional clauses `kind` takes, in Snowflake's order.
    fn show_clauses(&mut self, kind: ShowKind) -> Result<Statement, SqlError> {
        let (like, scope, starts, limit) = kind.clauses();
        let mut show = Show {
            kind,
            like: None,
            scope: None,
            starts_with: None,
            limit: None,
            from: None,
        };
        if like && self.eat_word("LIKE") {
            show.like = Some(self.string()?);
        }
        if scope && self.eat_word("IN") {
            show.scope = Some(if self.eat_word("ACCOUNT") {
                Scope::Account
            } else if kind != ShowKind::Databases && self.eat_word("DATABASE") {
                if matches!(self.peek().tok, Tok::Word(_) | Tok::Quoted(_))
                    && !self.peek().is_word("STARTS")
                    && !self.peek().is_word("LIMIT")
                {
                    Scope::Database(Some(self.ident()?))
                } else {
                    Scope::Database(None)
                }
            } else {
                return Err(self.unexpected());
            });
        }
        if starts && self.eat_word("STARTS") {
            self.expect_word("WITH")?;
            show.starts_with = Some(self.string()?);
        }
        if limit && self.eat_word("LIMIT") {
            show.limit = Some(self.count()?);
            if self.eat_word("FROM") {
                show.from = Some(self.string()?);
            }
        }
        Ok(Statement::Show(show))
    }

    /// The row count after `LIMIT`.
    fn count(&mut self) -> Result<u64, SqlError> {
        match self.peek().tok.clone() {
            Tok::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                let count = n.parse().map_err(|_| self.unexpected())?;
                self.at += 1;
                Ok(count)
            }
            _ => Err(self.unexpected()),
        }
    }
}

/// An unaliased expression's column name: the text as written, upper-cased except inside
/// string literals.
fn upper_outside_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_literal = false;
    for c in text.chars() {
        if c == '\'' {
            in_literal = !in_literal;
        }
        if in_literal {
            out.push(c);
        } else {
            out.extend(c.to_uppercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> Statement {
        match parse(sql, 1) {
            Ok((statement, _)) => statement,
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn error(sql: &str) -> String {
        match parse(sql, 1) {
            Ok(s) => panic!("{sql} parsed as {s:?}"),
            Err(e) => format!("{} {}", e.code, e.message),
        }
    }

    #[test]
    fn unquoted_names_are_upper_cased_and_quoted_ones_kept() {
        let Statement::Query(q) = parsed(
            r#"select table_name, "Odd""Col" from "Finance Dept".information_schema.Tables where table_schema = ? and "x" is not null order by 2 desc nulls first;"#,
        ) else {
            panic!("not a query")
        };
        let names: Vec<&str> = q.from.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["Finance Dept", "INFORMATION_SCHEMA", "TABLES"]);
        let columns: Vec<String> = q
            .columns
            .unwrap_or_default()
            .iter()
            .map(Ident::shown)
            .collect();
        assert_eq!(columns, ["TABLE_NAME", "\"Odd\"Col\""]);
        assert_eq!(q.filter.len(), 2);
        assert!(matches!(
            q.filter[0],
            Condition::Equals(_, Value::Bind { index: 1, .. })
        ));
        assert_eq!(
            q.order_by,
            vec![OrderItem {
                key: OrderKey::Position {
                    n: 2,
                    line: 1,
                    pos: 128
                },
                descending: true,
                nulls_first: Some(true)
            }]
        );
    }

    #[test]
    fn function_columns_are_named_by_their_text() {
        let Statement::Functions(items) = parsed(
            "select concat(current_organization_name(),'-',current_account_name()), current_role() as r",
        ) else {
            panic!("not functions")
        };
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "CONCAT(CURRENT_ORGANIZATION_NAME(),'-',CURRENT_ACCOUNT_NAME())",
                "R"
            ]
        );
    }

    #[test]
    fn show_takes_the_clauses_of_its_command() {
        assert_eq!(
            parsed("SHOW DATABASES IN ACCOUNT LIMIT 1000 FROM 'SALES'"),
            Statement::Show(Show {
                kind: ShowKind::Databases,
                like: None,
                scope: Some(Scope::Account),
                starts_with: None,
                limit: Some(1000),
                from: Some("SALES".into())
            })
        );
        assert!(matches!(
            parsed("show schemas in database \"db\" limit 10"),
            Statement::Show(Show { scope: Some(Scope::Database(Some(Ident { ref name, quoted: true, .. }))), limit: Some(10), .. }) if name == "db"
        ));
        assert_eq!(
            error("SHOW WAREHOUSES LIMIT 5"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 16 unexpected 'LIMIT'."
        );
        assert_eq!(
            error("SHOW TABLES"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 5 unexpected 'TABLES'."
        );
    }

    #[test]
    fn statements_outside_the_served_set_are_syntax_errors() {
        assert_eq!(
            error("INSERT INTO T VALUES (1)"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 0 unexpected 'INSERT'."
        );
        assert_eq!(
            error("CREATE TABLE T (A INT)"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 7 unexpected 'TABLE'."
        );
        assert_eq!(
            error("select * from db.information_schema.tables where a > 1"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 51 unexpected '>'."
        );
        assert_eq!(
            error("select count(*) from t"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 13 unexpected '*'."
        );
    }

    #[test]
    fn a_multi_statement_text_splits_outside_literals_and_parses_each_statement_alone() {
        let pieces = match split(
            "BEGIN;\nCREATE ROLE \"a;b\" COMMENT = 'x;y';\n  GRANT NONSENSE;\nCOMMIT;",
            0,
        ) {
            Ok(pieces) => pieces,
            Err(e) => panic!("{e}"),
        };
        let texts: Vec<&str> = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "BEGIN",
                "CREATE ROLE \"a;b\" COMMENT = 'x;y'",
                "GRANT NONSENSE",
                "COMMIT"
            ]
        );
        assert!(matches!(
            pieces[1].parsed,
            Ok((Statement::Write(Write::CreateRole { .. }), 0))
        ));
        assert_eq!(
            pieces[2].parsed.as_ref().err().map(|e| e.message.as_str()),
            Some("SQL compilation error:\nsyntax error line 3 at position 16 unexpected '<EOF>'.")
        );
        assert!(matches!(
            split("show users; show roles", 3),
            Err(SqlError { code: "000008", .. })
        ));
        assert!(matches!(
            split("show users; 'open", 0),
            Err(SqlError { code: "001003", .. })
        ));
        assert_eq!(
            split(" ; ;", 0).err().map(|e| e.message),
            Some(
                "SQL compilation error:\nsyntax error line 1 at position 4 unexpected '<EOF>'."
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_second_statement_is_a_count_mismatch() {
        assert_eq!(
            error("show users; show roles;"),
            "000008 Actual statement count 2 did not match the desired statement count 1."
        );
        assert!(matches!(
            parse("show users;", 2),
            Err(SqlError { code: "000008", .. })
        ));
    }
}
