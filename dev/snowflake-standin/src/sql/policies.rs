//! Masking and row access policies: their DDL, attaching them to tables and views, and the
//! POLICY_REFERENCES table function.
//!
//! ```text
//! CREATE MASKING POLICY [IF NOT EXISTS] [[db.]s.]p AS (arg type) RETURNS type -> body
//!     [COMMENT = 'text']
//! CREATE ROW ACCESS POLICY [IF NOT EXISTS] [[db.]s.]p AS (arg type [, ...]) RETURNS BOOLEAN
//!     -> body [COMMENT = 'text']
//! DROP {MASKING | ROW ACCESS} POLICY [IF EXISTS] [[db.]s.]p
//! ALTER {TABLE | VIEW} [[db.]s.]t {ALTER | MODIFY} [COLUMN] c SET MASKING POLICY p [FORCE]
//! ALTER {TABLE | VIEW} [[db.]s.]t {ALTER | MODIFY} [COLUMN] c UNSET MASKING POLICY
//! ALTER {TABLE | VIEW} [[db.]s.]t ADD ROW ACCESS POLICY p ON (c [, ...])
//! ALTER {TABLE | VIEW} [[db.]s.]t DROP ROW ACCESS POLICY p [, ADD ROW ACCESS POLICY p2 ON (c, ...)]
//! SHOW {MASKING | ROW ACCESS} POLICIES [LIKE 'pattern'] [IN ACCOUNT | IN DATABASE [db]]
//! DESC[RIBE] {MASKING | ROW ACCESS} POLICY [[db.]s.]p
//! SELECT * | col [, ...] FROM TABLE([db.]INFORMATION_SCHEMA.POLICY_REFERENCES(
//!     POLICY_NAME => 'name' | REF_ENTITY_NAME => 'name', REF_ENTITY_DOMAIN => 'table'|'view'))
//!     [WHERE …] [ORDER BY …]                  -- as the INFORMATION_SCHEMA views take them
//! ```
//! (SHOW is parsed with the other SHOW commands in `sql`.) Names left out resolve against the
//! session's database and schema. `->` and `=>` are two symbols written together.
//!
//! Types are written as Snowflake takes them (`VARCHAR`, `STRING`, `NUMBER(38,0)`, `INT`,
//! `DOUBLE PRECISION`…) and kept as INFORMATION_SCHEMA.COLUMNS prints `DATA_TYPE` (`TEXT`,
//! `NUMBER`, `FLOAT`…, precision and length dropped), so that a policy's argument compares with
//! a column's type by equality; a type Snowflake does not have is `002040`.
//!
//! A body is kept as text, not evaluated: every token after `->` up to a `COMMENT` keyword
//! outside parentheses or the statement's end (a `;` ends a statement of a multi-statement
//! request), with balanced parentheses (a `)` without its `(` is a syntax error there, a `(`
//! left open one at the end). It must lex (the whole statement is lexed first, so a body that
//! does not is the lexer's syntax error) and is stored as written, trimmed.
//!
//! Outside the grammar (`001003` at the first token that does not fit): CREATE OR REPLACE,
//! conditional masking policies (a second argument, `USING (…)`), ALTER … POLICY, several
//! column actions in one ALTER TABLE, DROP ALL ROW ACCESS POLICIES, and POLICY_REFERENCES of
//! another domain than tables and views.

use super::lexer::{self, Tok, Token};
use super::{Ident, Parser, Query, Statement, Write};
use crate::error::SqlError;
use crate::model::PolicyKind;

/// The table or view an ALTER names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Relation {
    /// `ALTER VIEW` (else `ALTER TABLE`).
    pub view: bool,
    /// One to three parts.
    pub name: Vec<Ident>,
}

/// A statement that changes policies or what they are attached to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PolicyWrite {
    Create {
        kind: PolicyKind,
        name: Vec<Ident>,
        if_not_exists: bool,
        /// (argument, type in `DATA_TYPE` form).
        signature: Vec<(Ident, String)>,
        returns: String,
        body: String,
        comment: Option<String>,
    },
    Drop {
        kind: PolicyKind,
        name: Vec<Ident>,
        if_exists: bool,
    },
    SetMasking {
        on: Relation,
        column: Ident,
        policy: Vec<Ident>,
        force: bool,
    },
    UnsetMasking {
        on: Relation,
        column: Ident,
    },
    AddRowAccess {
        on: Relation,
        policy: Vec<Ident>,
        columns: Vec<Ident>,
    },
    /// `DROP ROW ACCESS POLICY p`, with the `, ADD ROW ACCESS POLICY p2 ON (…)` of a swap.
    DropRowAccess {
        on: Relation,
        policy: Vec<Ident>,
        then_add: Option<(Vec<Ident>, Vec<Ident>)>,
    },
}

impl PolicyWrite {
    /// The kind of policy the statement is about (what a Standard Edition account refuses).
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicyWrite::Create { kind, .. } | PolicyWrite::Drop { kind, .. } => *kind,
            PolicyWrite::SetMasking { .. } | PolicyWrite::UnsetMasking { .. } => {
                PolicyKind::Masking
            }
            PolicyWrite::AddRowAccess { .. } | PolicyWrite::DropRowAccess { .. } => {
                PolicyKind::RowAccess
            }
        }
    }
}

/// A name written inside a string literal (POLICY_REFERENCES' arguments), parsed as
/// identifiers: quoted parts exact, unquoted ones upper-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LiteralName {
    /// One to three parts.
    pub parts: Vec<String>,
    /// Where the literal stands.
    pub line: usize,
    pub pos: usize,
}

/// What POLICY_REFERENCES lists the references of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefTarget {
    /// `POLICY_NAME => '…'`: every reference of that policy.
    Policy(LiteralName),
    /// `REF_ENTITY_NAME => '…', REF_ENTITY_DOMAIN => 'table' | 'view'`: every policy on that
    /// table or view (`view_only`: the domain said `view`, which names views only; `table`
    /// names tables and views alike).
    Entity { name: LiteralName, view_only: bool },
}

/// `SELECT … FROM TABLE([db.]INFORMATION_SCHEMA.POLICY_REFERENCES(…))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PolicyReferences {
    /// `from` is the function's path (two or three parts).
    pub query: Query,
    pub target: RefTarget,
}

/// A type as INFORMATION_SCHEMA.COLUMNS prints `DATA_TYPE`, from how a statement or the model
/// writes it (any case, precision or length ignored); `None`: not a Snowflake type.
pub(crate) fn data_type(written: &str) -> Option<&'static str> {
    let base = written.split('(').next().unwrap_or_default();
    let words: Vec<String> = base.split_whitespace().map(str::to_uppercase).collect();
    let canonical = match words.join(" ").as_str() {
        "NUMBER" | "DECIMAL" | "DEC" | "NUMERIC" | "INT" | "INTEGER" | "BIGINT" | "SMALLINT"
        | "TINYINT" | "BYTEINT" => "NUMBER",
        "FLOAT" | "FLOAT4" | "FLOAT8" | "DOUBLE" | "DOUBLE PRECISION" | "REAL" => "FLOAT",
        "TEXT" | "VARCHAR" | "STRING" | "CHAR" | "CHARACTER" | "NCHAR" | "NVARCHAR"
        | "NVARCHAR2" | "CHAR VARYING" | "NCHAR VARYING" | "CHARACTER VARYING" => "TEXT",
        "BINARY" | "VARBINARY" => "BINARY",
        "BOOLEAN" => "BOOLEAN",
        "DATE" => "DATE",
        "TIME" => "TIME",
        // TIMESTAMP follows TIMESTAMP_TYPE_MAPPING, TIMESTAMP_NTZ by default.
        "DATETIME"
        | "TIMESTAMP"
        | "TIMESTAMP_NTZ"
        | "TIMESTAMPNTZ"
        | "TIMESTAMP WITHOUT TIME ZONE" => "TIMESTAMP_NTZ",
        "TIMESTAMP_LTZ" | "TIMESTAMPLTZ" | "TIMESTAMP WITH LOCAL TIME ZONE" => "TIMESTAMP_LTZ",
        "TIMESTAMP_TZ" | "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => "TIMESTAMP_TZ",
        "VARIANT" => "VARIANT",
        "OBJECT" => "OBJECT",
        "ARRAY" => "ARRAY",
        "GEOGRAPHY" => "GEOGRAPHY",
        "GEOMETRY" => "GEOMETRY",
        "VECTOR" => "VECTOR",
        _ => return None,
    };
    Some(canonical)
}

impl Parser<'_> {
    /// `MASKING POLICY` or `ROW ACCESS POLICY`.
    fn policy_kind(&mut self) -> Result<PolicyKind, SqlError> {
        if self.eat_word("MASKING") {
            self.expect_word("POLICY")?;
            Ok(PolicyKind::Masking)
        } else {
            self.expect_word("ROW")?;
            self.expect_word("ACCESS")?;
            self.expect_word("POLICY")?;
            Ok(PolicyKind::RowAccess)
        }
    }

    /// A schema object's name: one to three parts.
    fn object_name(&mut self) -> Result<Vec<Ident>, SqlError> {
        let mut name = vec![self.ident()?];
        while name.len() < 3 && self.eat_sym(".") {
            name.push(self.ident()?);
        }
        Ok(name)
    }

    /// Two symbols written together, as `->` and `=>` are (the lexer gives them apart).
    fn expect_pair(&mut self, first: &str, second: &str) -> Result<(), SqlError> {
        let together = self.peek().is_sym(first)
            && self.peek_second().is_sym(second)
            && self.peek().end == self.peek_second().start;
        if !together {
            return Err(self.unexpected());
        }
        self.at += 2;
        Ok(())
    }

    /// A type, in `DATA_TYPE` form (see the module's documentation).
    fn data_type(&mut self) -> Result<String, SqlError> {
        let Tok::Word(first) = self.peek().tok.clone() else {
            return Err(self.unexpected());
        };
        self.at += 1;
        let mut written = first.to_uppercase();
        // The types of more than one word.
        let follows: &[&str] = match written.as_str() {
            "DOUBLE" => &["PRECISION"],
            "CHAR" | "NCHAR" | "CHARACTER" => &["VARYING"],
            "TIMESTAMP" => &["WITH", "WITHOUT"],
            _ => &[],
        };
        if let Some(next) = follows.iter().find(|w| self.peek().is_word(w)) {
            self.at += 1;
            written.push(' ');
            written.push_str(next);
            if *next == "WITH" || *next == "WITHOUT" {
                if *next == "WITH" && self.eat_word("LOCAL") {
                    written.push_str(" LOCAL");
                }
                self.expect_word("TIME")?;
                self.expect_word("ZONE")?;
                written.push_str(" TIME ZONE");
            }
        }
        // Precision, scale, length (or a VECTOR's element type and size): not compared.
        if self.eat_sym("(") {
            loop {
                match &self.peek().tok {
                    Tok::Num(_) | Tok::Word(_) => self.at += 1,
                    Tok::Sym(s) if s == "," => self.at += 1,
                    Tok::Sym(s) if s == ")" => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(self.unexpected()),
                }
            }
        }
        data_type(&written)
            .map(str::to_owned)
            .ok_or_else(|| SqlError::unsupported_data_type(&written))
    }

    /// The body after `->`, as written (see the module's documentation).
    fn policy_body(&mut self) -> Result<String, SqlError> {
        let start = self.peek().start;
        let mut end = None;
        let mut depth = 0usize;
        loop {
            let token = self.peek();
            match &token.tok {
                Tok::Eof => break,
                Tok::Sym(s) if s == ";" && depth == 0 => break,
                Tok::Word(_) if depth == 0 && token.is_word("COMMENT") => break,
                Tok::Sym(s) if s == "(" => depth += 1,
                Tok::Sym(s) if s == ")" => {
                    if depth == 0 {
                        return Err(self.unexpected());
                    }
                    depth -= 1;
                }
                _ => {}
            }
            end = Some(token.end);
            self.at += 1;
        }
        match end {
            Some(end) if depth == 0 => Ok(self.sql[start..end].to_owned()),
            // No body, or a `(` left open: the statement ended where the body needed more.
            _ => Err(self.unexpected()),
        }
    }

    /// After CREATE, at MASKING or ROW.
    pub(super) fn create_policy(&mut self) -> Result<Statement, SqlError> {
        let kind = self.policy_kind()?;
        let if_not_exists = if self.eat_word("IF") {
            self.expect_word("NOT")?;
            self.expect_word("EXISTS")?;
            true
        } else {
            false
        };
        let name = self.object_name()?;
        self.expect_word("AS")?;
        self.expect_sym("(")?;
        let mut signature = Vec::new();
        loop {
            let argument = self.ident()?;
            let data_type = self.data_type()?;
            signature.push((argument, data_type));
            // A masking policy of more arguments is a conditional one: not served.
            if kind == PolicyKind::Masking || !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        self.expect_word("RETURNS")?;
        let returns = match kind {
            PolicyKind::Masking => self.data_type()?,
            PolicyKind::RowAccess => {
                self.expect_word("BOOLEAN")?;
                "BOOLEAN".to_owned()
            }
        };
        self.expect_pair("-", ">")?;
        let body = self.policy_body()?;
        let comment = if self.eat_word("COMMENT") {
            self.expect_sym("=")?;
            Some(self.string()?)
        } else {
            None
        };
        Ok(Statement::Write(Write::Policy(PolicyWrite::Create {
            kind,
            name,
            if_not_exists,
            signature,
            returns,
            body,
            comment,
        })))
    }

    /// After DESCRIBE (or DESC), at MASKING or ROW.
    pub(super) fn describe_policy(&mut self) -> Result<Statement, SqlError> {
        let kind = self.policy_kind()?;
        let name = self.object_name()?;
        Ok(Statement::DescribePolicy { kind, name })
    }

    /// After DROP, at MASKING or ROW.
    pub(super) fn drop_policy(&mut self) -> Result<Statement, SqlError> {
        let kind = self.policy_kind()?;
        let if_exists = if self.eat_word("IF") {
            self.expect_word("EXISTS")?;
            true
        } else {
            false
        };
        let name = self.object_name()?;
        Ok(Statement::Write(Write::Policy(PolicyWrite::Drop {
            kind,
            name,
            if_exists,
        })))
    }

    /// `(c [, ...])`.
    fn column_list(&mut self) -> Result<Vec<Ident>, SqlError> {
        self.expect_sym("(")?;
        let mut columns = vec![self.ident()?];
        while self.eat_sym(",") {
            columns.push(self.ident()?);
        }
        self.expect_sym(")")?;
        Ok(columns)
    }

    /// `ROW ACCESS POLICY p ON (c, ...)`, after ADD.
    fn added_row_access(&mut self) -> Result<(Vec<Ident>, Vec<Ident>), SqlError> {
        self.expect_word("ROW")?;
        self.expect_word("ACCESS")?;
        self.expect_word("POLICY")?;
        let policy = self.object_name()?;
        self.expect_word("ON")?;
        Ok((policy, self.column_list()?))
    }

    /// After ALTER, at TABLE or VIEW.
    pub(super) fn alter_relation(&mut self) -> Result<Statement, SqlError> {
        let view = if self.eat_word("VIEW") {
            true
        } else {
            self.expect_word("TABLE")?;
            false
        };
        let on = Relation {
            view,
            name: self.object_name()?,
        };
        let write = if self.eat_word("ALTER") || self.eat_word("MODIFY") {
            self.eat_word("COLUMN");
            let column = self.ident()?;
            if self.eat_word("SET") {
                self.expect_word("MASKING")?;
                self.expect_word("POLICY")?;
                let policy = self.object_name()?;
                let force = self.eat_word("FORCE");
                PolicyWrite::SetMasking {
                    on,
                    column,
                    policy,
                    force,
                }
            } else {
                self.expect_word("UNSET")?;
                self.expect_word("MASKING")?;
                self.expect_word("POLICY")?;
                PolicyWrite::UnsetMasking { on, column }
            }
        } else if self.eat_word("ADD") {
            let (policy, columns) = self.added_row_access()?;
            PolicyWrite::AddRowAccess {
                on,
                policy,
                columns,
            }
        } else {
            self.expect_word("DROP")?;
            self.expect_word("ROW")?;
            self.expect_word("ACCESS")?;
            self.expect_word("POLICY")?;
            let policy = self.object_name()?;
            let then_add = if self.eat_sym(",") {
                self.expect_word("ADD")?;
                Some(self.added_row_access()?)
            } else {
                None
            };
            PolicyWrite::DropRowAccess {
                on,
                policy,
                then_add,
            }
        };
        Ok(Statement::Write(Write::Policy(write)))
    }

    /// After `FROM`, at `TABLE (`: the POLICY_REFERENCES call; answers its path and target.
    pub(super) fn policy_references(&mut self) -> Result<(Vec<Ident>, RefTarget), SqlError> {
        self.expect_word("TABLE")?;
        self.expect_sym("(")?;
        let start = self.peek().clone();
        let path = self.object_name()?;
        let names: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
        if !matches!(
            names.as_slice(),
            [_, "INFORMATION_SCHEMA", "POLICY_REFERENCES"]
                | ["INFORMATION_SCHEMA", "POLICY_REFERENCES"]
        ) {
            // Other table functions are not served.
            return Err(SqlError::syntax(
                start.line,
                start.pos,
                start.shown(self.sql),
            ));
        }
        self.expect_sym("(")?;
        let (mut policy, mut entity, mut domain) = (None, None, None);
        loop {
            let at = self.peek().clone();
            let argument = self.ident()?;
            let slot = match argument.name.as_str() {
                "POLICY_NAME" if entity.is_none() && domain.is_none() => &mut policy,
                "REF_ENTITY_NAME" if policy.is_none() => &mut entity,
                "REF_ENTITY_DOMAIN" if policy.is_none() => &mut domain,
                _ => return Err(SqlError::syntax(at.line, at.pos, at.shown(self.sql))),
            };
            if slot.is_some() {
                return Err(SqlError::syntax(at.line, at.pos, at.shown(self.sql)));
            }
            self.expect_pair("=", ">")?;
            let literal = self.peek().clone();
            let text = self.string()?;
            *slot = Some((literal, text));
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        self.expect_sym(")")?;
        let target = match (policy, entity, domain) {
            (Some((token, text)), None, None) => {
                RefTarget::Policy(literal_name(&token, &text, self.sql)?)
            }
            (None, Some((token, text)), Some((domain_token, domain))) => {
                let view_only = match domain.to_uppercase().as_str() {
                    "TABLE" => false,
                    "VIEW" => true,
                    // Policies on accounts, users, tags…: the stand-in has none to serve.
                    _ => {
                        return Err(SqlError::syntax(
                            domain_token.line,
                            domain_token.pos,
                            domain_token.shown(self.sql),
                        ));
                    }
                };
                RefTarget::Entity {
                    name: literal_name(&token, &text, self.sql)?,
                    view_only,
                }
            }
            // A name without its domain, or a domain without a name: the call ends too early.
            _ => {
                let close = &self.tokens[self.at - 2];
                return Err(SqlError::syntax(
                    close.line,
                    close.pos,
                    close.shown(self.sql),
                ));
            }
        };
        Ok((path, target))
    }
}

/// The name a string literal holds (`'"DB"."S"."P"'`), parsed as identifiers; a literal that
/// is not one to three dotted identifiers is a syntax error at the literal.
fn literal_name(token: &Token, text: &str, sql: &str) -> Result<LiteralName, SqlError> {
    let refused = || SqlError::syntax(token.line, token.pos, token.shown(sql));
    let tokens = lexer::lex(text).map_err(|_| refused())?;
    let mut parts = Vec::new();
    let mut want_name = true;
    for t in &tokens {
        match (&t.tok, want_name) {
            (Tok::Word(w), true) => parts.push(w.to_uppercase()),
            (Tok::Quoted(q), true) => parts.push(q.clone()),
            (Tok::Sym(s), false) if s == "." => {}
            (Tok::Eof, false) => break,
            _ => return Err(refused()),
        }
        want_name = !want_name;
    }
    if parts.is_empty() || parts.len() > 3 {
        return Err(refused());
    }
    Ok(LiteralName {
        parts,
        line: token.line,
        pos: token.pos,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn parsed(sql: &str) -> PolicyWrite {
        match parse(sql, 1) {
            Ok((Statement::Write(Write::Policy(write)), _)) => write,
            Ok((other, _)) => panic!("{sql} parsed as {other:?}"),
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn error(sql: &str) -> String {
        match parse(sql, 1) {
            Ok(s) => panic!("{sql} parsed as {s:?}"),
            Err(e) => format!("{} {}", e.code, e.message),
        }
    }

    fn names(idents: &[Ident]) -> Vec<&str> {
        idents.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn a_masking_policy_keeps_its_signature_types_and_body_text() {
        let PolicyWrite::Create {
            kind,
            name,
            if_not_exists,
            signature,
            returns,
            body,
            comment,
        } = parsed(
            "create masking policy if not exists \"DB\".\"S\".\"Mask \"\"it\"\"\" as (\"VAL\" string) returns varchar(10) ->\n  CASE WHEN IS_ROLE_IN_SESSION('R') THEN val ELSE '***' END  comment = 'x'",
        )
        else {
            panic!("not a create")
        };
        assert_eq!(kind, PolicyKind::Masking);
        assert!(if_not_exists);
        assert_eq!(names(&name), ["DB", "S", "Mask \"it\""]);
        assert_eq!(signature[0].0.name, "VAL");
        assert_eq!(
            (signature[0].1.as_str(), returns.as_str()),
            ("TEXT", "TEXT")
        );
        assert_eq!(
            body,
            "CASE WHEN IS_ROLE_IN_SESSION('R') THEN val ELSE '***' END"
        );
        assert_eq!(comment.as_deref(), Some("x"));
    }

    #[test]
    fn a_row_access_policy_takes_several_arguments_and_returns_boolean_only() {
        let PolicyWrite::Create {
            signature, body, ..
        } = parsed(
            "CREATE ROW ACCESS POLICY s.p AS (A NUMBER(38,0), b double precision, c timestamp) RETURNS BOOLEAN -> (a > 1) AND (b < 2);",
        )
        else {
            panic!("not a create")
        };
        let types: Vec<&str> = signature.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(types, ["NUMBER", "FLOAT", "TIMESTAMP_NTZ"]);
        assert_eq!(body, "(a > 1) AND (b < 2)");
        assert_eq!(
            error("CREATE ROW ACCESS POLICY P AS (A TEXT) RETURNS TEXT -> TRUE"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 47 unexpected 'TEXT'."
        );
    }

    #[test]
    fn bodies_need_balanced_parentheses_and_an_arrow() {
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT -> (V"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 54 unexpected '<EOF>'."
        );
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT -> V)"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 53 unexpected ')'."
        );
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT - > V"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 49 unexpected '-'."
        );
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT -> COMMENT = 'x'"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 52 unexpected 'COMMENT'."
        );
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT -> 'open"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 57 unexpected '<EOF>'."
        );
        // A COMMENT inside parentheses belongs to the body.
        let PolicyWrite::Create { body, comment, .. } =
            parsed("CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT -> F(comment)")
        else {
            panic!("not a create")
        };
        assert_eq!((body.as_str(), comment), ("F(comment)", None));
    }

    #[test]
    fn masking_policies_take_one_argument_and_known_types() {
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V TEXT, W TEXT) RETURNS TEXT -> V"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 34 unexpected ','."
        );
        assert_eq!(
            error("CREATE MASKING POLICY P AS (V BLOB) RETURNS BLOB -> V"),
            "002040 SQL compilation error:\nUnsupported data type 'BLOB'."
        );
        assert_eq!(data_type("number(12, 2)"), Some("NUMBER"));
        assert_eq!(data_type("Timestamp_Ltz"), Some("TIMESTAMP_LTZ"));
        assert_eq!(data_type("BLOB"), None);
    }

    #[test]
    fn alter_table_and_view_attach_and_detach() {
        assert!(matches!(
            parsed("ALTER VIEW d.s.v MODIFY COLUMN c SET MASKING POLICY d.s.p FORCE"),
            PolicyWrite::SetMasking {
                on: Relation { view: true, .. },
                force: true,
                ..
            }
        ));
        assert!(matches!(
            parsed("alter table t alter c unset masking policy"),
            PolicyWrite::UnsetMasking {
                on: Relation { view: false, .. },
                ..
            }
        ));
        let PolicyWrite::DropRowAccess {
            policy, then_add, ..
        } = parsed(
            "ALTER TABLE \"DB\".\"S\".\"T\" DROP ROW ACCESS POLICY \"DB\".\"S\".\"OLD\", ADD ROW ACCESS POLICY \"DB\".\"S\".\"NEW\" ON (\"A\", b)",
        )
        else {
            panic!("not a drop")
        };
        assert_eq!(names(&policy), ["DB", "S", "OLD"]);
        let (new, columns) = then_add.unwrap_or_default();
        assert_eq!(
            (names(&new), names(&columns)),
            (vec!["DB", "S", "NEW"], vec!["A", "B"])
        );
        assert_eq!(
            error("ALTER TABLE T ALTER COLUMN C SET MASKING POLICY P USING (C, D)"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 50 unexpected 'USING'."
        );
        assert_eq!(
            error("ALTER TABLE T RENAME TO U"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 14 unexpected 'RENAME'."
        );
    }

    #[test]
    fn describe_names_a_policy_of_one_kind() {
        let Ok((Statement::DescribePolicy { kind, name }, _)) =
            parse("desc row access policy \"DB\".s.\"p\";", 1)
        else {
            panic!("not a describe")
        };
        assert_eq!(
            (kind, names(&name)),
            (PolicyKind::RowAccess, vec!["DB", "S", "p"])
        );
        assert!(matches!(
            parse("DESCRIBE MASKING POLICY P", 1),
            Ok((
                Statement::DescribePolicy {
                    kind: PolicyKind::Masking,
                    ..
                },
                _
            ))
        ));
        assert_eq!(
            error("DESCRIBE MASKING POLICIES P"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 17 unexpected 'POLICIES'."
        );
        assert_eq!(
            error("DESCRIBE ROW ACCESS POLICY A.B.C.D"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 32 unexpected '.'."
        );
        assert_eq!(
            error("DESC TABLE T"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 5 unexpected 'TABLE'."
        );
    }

    #[test]
    fn policy_references_takes_a_policy_or_an_entity_and_its_domain() {
        let Ok((Statement::PolicyReferences(refs), _)) = parse(
            "select policy_name from table(\"DB\".information_schema.policy_references(policy_name => '\"DB\".s.\"p\"')) order by 1",
            1,
        ) else {
            panic!("not a policy_references")
        };
        assert_eq!(
            names(&refs.query.from),
            ["DB", "INFORMATION_SCHEMA", "POLICY_REFERENCES"]
        );
        assert!(matches!(
            refs.target,
            RefTarget::Policy(LiteralName { ref parts, .. }) if parts == &["DB", "S", "p"]
        ));
        assert!(matches!(
            parse(
                "SELECT * FROM TABLE(INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_DOMAIN => 'VIEW', REF_ENTITY_NAME => 'D.S.V'))",
                1
            ),
            Ok((
                Statement::PolicyReferences(PolicyReferences {
                    target: RefTarget::Entity {
                        view_only: true,
                        ..
                    },
                    ..
                }),
                _
            ))
        ));
        assert_eq!(
            error("SELECT * FROM TABLE(I.POLICY_REFERENCES(POLICY_NAME => 'P'))"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 20 unexpected 'I'."
        );
        assert_eq!(
            error(
                "SELECT * FROM TABLE(INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => 'T'))"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 79 unexpected ')'."
        );
        assert_eq!(
            error(
                "SELECT * FROM TABLE(INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'a b'))"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 72 unexpected ''a b''."
        );
        assert_eq!(
            error(
                "SELECT * FROM TABLE(INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => 'T', REF_ENTITY_DOMAIN => 'user'))"
            ),
            "001003 SQL compilation error:\nsyntax error line 1 at position 102 unexpected ''user''."
        );
    }
}
