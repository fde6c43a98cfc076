//! SQL text → the relations and schemas a statement touched, and how, with the `sqlparser`
//! crate's dialect of the source ([`Dialect`]: PostgreSQL's or Snowflake's). Names come out as
//! written, case-folded as the source folds unquoted identifiers (PostgreSQL to lower case,
//! Snowflake to upper case); resolving them against the source's catalog is the connector's
//! job (PostgreSQL: `connectors::postgres::usage::catalog`; Snowflake: its usage module).
//!
//! The rules:
//! - every relation inside a query (SELECT, joins, subqueries, CTE bodies, `INSERT … SELECT`
//!   sources, `CREATE VIEW … AS` bodies) is **read**;
//! - the target of INSERT, UPDATE, DELETE, MERGE, TRUNCATE and `COPY … FROM` is **write**; the
//!   other relations of those statements (`USING`, `FROM`, the MERGE source) are read;
//!   `COPY table TO` reads the table;
//! - the relations and schemas named by DDL (CREATE, ALTER, DROP, COMMENT ON, CREATE INDEX …)
//!   and by GRANT/REVOKE are **admin**;
//! - a one-part name equal to a CTE name of the statement is the CTE, not a table. (CTE scopes
//!   are not tracked: a CTE shadows a table of the same bare name anywhere in the statement.)

use std::collections::HashSet;

use foldhash::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{
    CommentObject, CopySource, FromTable, GrantObjects, ObjectName, ObjectNamePart, ObjectType,
    Query, SchemaName, Statement, TableFactor, TableObject, Visit, Visitor,
};
use sqlparser::dialect::{PostgreSqlDialect, SnowflakeDialect};
use sqlparser::parser::Parser;

use crate::model::usage::UsageGlobalPermission;

/// The SQL dialect of the statements, and how it folds unquoted identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL: unquoted identifiers fold to lower case (ASCII letters only).
    PostgreSql,
    /// Snowflake: unquoted identifiers fold to upper case (ASCII letters only).
    Snowflake,
}

impl Dialect {
    fn parse(self, sql: &str) -> Result<Vec<Statement>, String> {
        let parsed = match self {
            Self::PostgreSql => Parser::parse_sql(&PostgreSqlDialect {}, sql),
            Self::Snowflake => Parser::parse_sql(&SnowflakeDialect {}, sql),
        };
        parsed.map_err(|error| error.to_string())
    }

    /// The identifier as the source resolves it.
    fn fold(self, ident: &sqlparser::ast::Ident) -> String {
        match (ident.quote_style.is_some(), self) {
            (true, _) => ident.value.clone(),
            (false, Self::PostgreSql) => ident.value.to_ascii_lowercase(),
            (false, Self::Snowflake) => ident.value.to_ascii_uppercase(),
        }
    }
}

/// What kind of object a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A table, view, materialized view or foreign table (`[[database.]schema.]relation`).
    Relation,
    /// A schema (`[database.]schema`).
    Schema,
}

/// One object a statement touched, as named in its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Touched {
    /// Relation or schema.
    pub kind: NameKind,
    /// The identifiers as PostgreSQL reads them: unquoted ones folded to lower case.
    pub name: Vec<String>,
    /// Read, write or admin.
    pub permission: UsageGlobalPermission,
}

/// Parses `sql` (one or more statements of `dialect`) and lists what it touched, each (kind,
/// name, permission) once, in order of appearance. `Err` carries the parser's message.
pub fn analyze(dialect: Dialect, sql: &str) -> Result<Vec<Touched>, String> {
    let statements = dialect.parse(sql)?;
    let mut touched = Vec::new();
    for statement in &statements {
        analyze_statement(dialect, statement, &mut touched);
    }
    Ok(touched)
}

/// The analyses of recent statement shapes ([`shape`]): a log repeats the same statements with
/// different literals, and parsing is most of the cost of a statement. Bounded: two
/// generations of at most `capacity` shapes each; a shape used in the older generation moves
/// to the newer one, the older one is dropped when the newer one fills up. Only successful
/// analyses are kept (a failure is parsed again, so that its message is its own).
#[derive(Debug)]
pub struct AnalysisCache {
    dialect: Dialect,
    capacity: usize,
    current: HashMap<String, Arc<[Touched]>>,
    previous: HashMap<String, Arc<[Touched]>>,
    /// The shape of the statement being looked up (reused: a shape is allocated only when it
    /// is kept).
    shape: String,
    hits: u64,
    misses: u64,
}

impl AnalysisCache {
    /// Shapes kept per generation by default: 4,096 (a few MiB at most).
    pub const DEFAULT_CAPACITY: usize = 4_096;

    /// A cache of the analyses of `dialect`'s statements, at most `capacity` shapes per
    /// generation.
    pub fn new(dialect: Dialect, capacity: usize) -> Self {
        Self {
            dialect,
            capacity: capacity.max(1),
            current: HashMap::default(),
            previous: HashMap::default(),
            shape: String::new(),
            hits: 0,
            misses: 0,
        }
    }

    /// [`analyze`], answered from the cache when a statement of the same shape was analysed.
    pub fn analyze(&mut self, sql: &str) -> Result<Arc<[Touched]>, String> {
        if shape_into(sql, &mut self.shape).is_none() {
            self.misses += 1;
            return analyze(self.dialect, sql).map(Arc::from);
        }
        if let Some(found) = self.current.get(self.shape.as_str()) {
            self.hits += 1;
            return Ok(found.clone());
        }
        if let Some(found) = self.previous.remove(self.shape.as_str()) {
            self.hits += 1;
            self.insert(self.shape.clone(), found.clone());
            return Ok(found);
        }
        self.misses += 1;
        let touched: Arc<[Touched]> = analyze(self.dialect, sql)?.into();
        self.insert(self.shape.clone(), touched.clone());
        Ok(touched)
    }

    fn insert(&mut self, key: String, touched: Arc<[Touched]>) {
        if self.current.len() >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, touched);
    }

    /// Statements answered from the cache, and statements parsed.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

/// The statement with its literals replaced: numbers by `0`, strings by `''`, runs of
/// whitespace and `--` comments by one space. What [`analyze`] finds depends only on the
/// identifiers, keywords and punctuation, which are kept byte for byte (quoted identifiers
/// included), so two statements of one shape touch the same objects. `None` where the text
/// holds what this scan does not model exactly (dollar quotes, `/* */` comments, backslashes
/// in strings, a number run into a name, an unterminated quote): such statements are parsed
/// every time.
pub fn shape(sql: &str) -> Option<String> {
    let mut out = String::new();
    shape_into(sql, &mut out)?;
    Some(out)
}

/// A byte of a name (or of a UTF-8 character, which a name may hold).
#[inline]
fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The end of the number literal starting at `i` (digits, an optional fraction and exponent),
/// or `None` when it is not one the shapes accept: an exponent without digits, or a number
/// running into a name or a dot.
#[inline]
fn number_end(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while bytes.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    if bytes.get(j) == Some(&b'.') {
        j += 1;
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
    }
    if matches!(bytes.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if !bytes.get(j).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
    }
    if bytes.get(j).is_some_and(|&b| is_name(b) || b == b'.') {
        return None;
    }
    Some(j)
}

/// [`shape`] into `out` (cleared first): the cache looks shapes up without an allocation per
/// statement. Most of a statement stays as it is (names, keywords, punctuation, single spaces):
/// that text is passed over with one test per byte, which the branch predictor gets right, and
/// copied in runs; only literals, comments and other whitespace stop a run. (Handling each
/// token in turn spent most of its time in mispredicted jumps from one kind to the next.)
fn shape_into(sql: &str, out: &mut String) -> Option<()> {
    out.clear();
    let bytes = sql.as_bytes();
    // The last byte of the shape so far: a number starts a literal only after a non-name byte.
    let mut previous = b' ';
    // `sql[copied..i]` goes into the shape as it is, not copied yet.
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let plain = match b {
            b'\'' | b'"' => false,
            // In a name: `t1`, `a$b`.
            b'0'..=b'9' | b'$' => is_name(previous),
            b'-' => bytes.get(i + 1) != Some(&b'-'),
            b'/' => bytes.get(i + 1) != Some(&b'*'),
            // One space after a non-space; any whitespace after it is then dropped.
            b' ' => previous != b' ',
            b if b.is_ascii_whitespace() => false,
            _ => true,
        };
        if plain {
            previous = b;
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                // Kept as written.
                let mut j = i + 1;
                loop {
                    match bytes.get(j)? {
                        b'"' if bytes.get(j + 1) == Some(&b'"') => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                previous = b'"';
                i = j + 1;
            }
            b'$' => {
                // `$1` parameters are names here; `$tag$` and `$$` quotes are not modelled.
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits == 0 {
                    return None;
                }
                previous = b'0';
                i += 1 + digits;
            }
            b'\'' => {
                let mut j = i + 1;
                loop {
                    match bytes.get(j)? {
                        b'\'' if bytes.get(j + 1) == Some(&b'\'') => j += 2,
                        b'\'' => break,
                        b'\\' => return None,
                        _ => j += 1,
                    }
                }
                out.push_str(sql.get(copied..i)?);
                out.push_str("''");
                previous = b'\'';
                i = j + 1;
                copied = i;
            }
            b'-' => {
                out.push_str(sql.get(copied..i)?);
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                if previous != b' ' {
                    out.push(' ');
                    previous = b' ';
                }
                copied = i;
            }
            b'/' => return None,
            b'0'..=b'9' => {
                let j = number_end(bytes, i)?;
                out.push_str(sql.get(copied..i)?);
                out.push('0');
                previous = b'0';
                i = j;
                copied = i;
            }
            _ => {
                // Whitespace that is not one space after a non-space.
                out.push_str(sql.get(copied..i)?);
                while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                if previous != b' ' {
                    out.push(' ');
                    previous = b' ';
                }
                copied = i;
            }
        }
    }
    out.push_str(sql.get(copied..)?);
    Some(())
}

/// Collects every relation the visitor reaches, whether it lies inside a query, and every CTE
/// name.
struct Collector {
    dialect: Dialect,
    query_depth: usize,
    relations: Vec<(Vec<String>, bool)>,
    ctes: HashSet<String>,
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        self.query_depth += 1;
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(self.dialect.fold(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.query_depth = self.query_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if let Some(name) = identifiers(self.dialect, relation) {
            self.relations.push((name, self.query_depth > 0));
        }
        ControlFlow::Continue(())
    }
}

fn analyze_statement(dialect: Dialect, statement: &Statement, out: &mut Vec<Touched>) {
    let mut collector = Collector {
        dialect,
        query_depth: 0,
        relations: Vec::new(),
        ctes: HashSet::new(),
    };
    let identifiers = |name: &ObjectName| identifiers(dialect, name);
    let table_factor_name = |factor: &TableFactor| table_factor_name(dialect, factor);
    let _ = statement.visit(&mut collector);

    fn add(
        out: &mut Vec<Touched>,
        kind: NameKind,
        name: Vec<String>,
        permission: UsageGlobalPermission,
    ) {
        let item = Touched {
            kind,
            name,
            permission,
        };
        if !out.contains(&item) {
            out.push(item);
        }
    }
    let relation_names = |names: &[ObjectName]| -> Vec<Vec<String>> {
        names.iter().filter_map(identifiers).collect()
    };

    // The statement's own targets, which the visitor does not tell apart from its sources.
    let mut writes: Vec<Vec<String>> = Vec::new();
    let mut admin_relations: Vec<Vec<String>> = Vec::new();
    let mut admin_schemas: Vec<Vec<String>> = Vec::new();
    let mut reads: Vec<Vec<String>> = Vec::new();
    let dml = match statement {
        Statement::Insert(insert) => {
            if let TableObject::TableName(name) = &insert.table {
                writes.extend(identifiers(name));
            }
            true
        }
        Statement::Update(update) => {
            writes.extend(table_factor_name(&update.table.relation));
            true
        }
        Statement::Delete(delete) => {
            if delete.tables.is_empty() {
                let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                    &delete.from;
                writes.extend(tables.iter().filter_map(|t| table_factor_name(&t.relation)));
            } else {
                writes.extend(relation_names(&delete.tables));
            }
            true
        }
        Statement::Merge(merge) => {
            writes.extend(table_factor_name(&merge.table));
            true
        }
        Statement::Truncate(truncate) => {
            writes.extend(
                truncate
                    .table_names
                    .iter()
                    .filter_map(|t| identifiers(&t.name)),
            );
            true
        }
        Statement::Copy { source, to, .. } => {
            if let CopySource::Table { table_name, .. } = source
                && let Some(name) = identifiers(table_name)
            {
                if *to {
                    reads.push(name);
                } else {
                    writes.push(name);
                }
            }
            true
        }
        Statement::Drop {
            object_type, names, ..
        } => {
            match object_type {
                ObjectType::Table | ObjectType::View | ObjectType::MaterializedView => {
                    admin_relations.extend(relation_names(names))
                }
                ObjectType::Schema => admin_schemas.extend(relation_names(names)),
                _ => {}
            }
            false
        }
        Statement::Grant(grant) => {
            grant_objects(
                dialect,
                grant.objects.as_ref(),
                &mut admin_relations,
                &mut admin_schemas,
            );
            false
        }
        Statement::Revoke(revoke) => {
            grant_objects(
                dialect,
                revoke.objects.as_ref(),
                &mut admin_relations,
                &mut admin_schemas,
            );
            false
        }
        Statement::CreateSchema { schema_name, .. } => {
            if let SchemaName::Simple(name) | SchemaName::NamedAuthorization(name, _) = schema_name
            {
                admin_schemas.extend(identifiers(name));
            }
            false
        }
        Statement::AlterSchema(alter) => {
            admin_schemas.extend(identifiers(&alter.name));
            false
        }
        Statement::Comment {
            object_type,
            object_name,
            ..
        } => {
            match object_type {
                CommentObject::Table | CommentObject::View | CommentObject::MaterializedView => {
                    admin_relations.extend(identifiers(object_name))
                }
                // A column's comment is the relation's business: drop the column part.
                CommentObject::Column => {
                    if let Some(mut name) = identifiers(object_name)
                        && name.len() > 1
                    {
                        name.pop();
                        admin_relations.push(name);
                    }
                }
                CommentObject::Schema => admin_schemas.extend(identifiers(object_name)),
                _ => {}
            }
            false
        }
        _ => false,
    };

    let is_cte = |name: &[String]| name.len() == 1 && collector.ctes.contains(&name[0]);
    for name in writes {
        if !is_cte(&name) {
            add(out, NameKind::Relation, name, UsageGlobalPermission::Write);
        }
    }
    for name in reads {
        add(out, NameKind::Relation, name, UsageGlobalPermission::Read);
    }
    for name in admin_relations {
        add(out, NameKind::Relation, name, UsageGlobalPermission::Admin);
    }
    for name in admin_schemas {
        add(out, NameKind::Schema, name, UsageGlobalPermission::Admin);
    }
    let targets: Vec<Vec<String>> = out
        .iter()
        .filter(|t| t.permission != UsageGlobalPermission::Read)
        .map(|t| t.name.clone())
        .collect();
    let mut visited = Vec::new();
    for (name, in_query) in collector.relations {
        if is_cte(&name) {
            continue;
        }
        let permission = if in_query {
            UsageGlobalPermission::Read
        } else if dml {
            if targets.contains(&name) {
                continue;
            }
            UsageGlobalPermission::Read
        } else {
            UsageGlobalPermission::Admin
        };
        visited.push((name, permission));
    }
    for (name, permission) in visited {
        add(out, NameKind::Relation, name, permission);
    }
}

fn grant_objects(
    dialect: Dialect,
    objects: Option<&GrantObjects>,
    relations: &mut Vec<Vec<String>>,
    schemas: &mut Vec<Vec<String>>,
) {
    let identifiers = |name: &ObjectName| identifiers(dialect, name);
    match objects {
        Some(GrantObjects::Tables(names) | GrantObjects::Views(names)) => {
            relations.extend(names.iter().filter_map(identifiers))
        }
        Some(
            GrantObjects::Schemas(names)
            | GrantObjects::AllTablesInSchema { schemas: names }
            | GrantObjects::AllViewsInSchema { schemas: names }
            | GrantObjects::AllMaterializedViewsInSchema { schemas: names }
            | GrantObjects::AllSequencesInSchema { schemas: names },
        ) => schemas.extend(names.iter().filter_map(identifiers)),
        _ => {}
    }
}

fn table_factor_name(dialect: Dialect, factor: &TableFactor) -> Option<Vec<String>> {
    match factor {
        TableFactor::Table { name, .. } => identifiers(dialect, name),
        _ => None,
    }
}

/// The identifiers of a name, folded as `dialect` folds them, or `None` when a part is
/// computed (a dialect function).
fn identifiers(dialect: Dialect, name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Some(dialect.fold(ident)),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use UsageGlobalPermission::{Admin, Read, Write};

    fn rel(name: &[&str], permission: UsageGlobalPermission) -> Touched {
        Touched {
            kind: NameKind::Relation,
            name: name.iter().map(|s| s.to_string()).collect(),
            permission,
        }
    }

    fn schema(name: &[&str]) -> Touched {
        Touched {
            kind: NameKind::Schema,
            name: name.iter().map(|s| s.to_string()).collect(),
            permission: Admin,
        }
    }

    fn sorted(mut touched: Vec<Touched>) -> Vec<(NameKind, Vec<String>, String)> {
        let mut out: Vec<_> = touched
            .drain(..)
            .map(|t| (t.kind, t.name, format!("{:?}", t.permission)))
            .collect();
        out.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
        out
    }

    fn check(sql: &str, expected: Vec<Touched>) {
        assert_eq!(
            sorted(analyze(Dialect::PostgreSql, sql).expect("parses")),
            sorted(expected),
            "{sql}"
        );
    }

    #[test]
    fn joins_and_subqueries_are_read() {
        check(
            "SELECT o.id FROM Sales.Orders o JOIN public.customers c ON c.id = o.cid \
             WHERE o.id IN (SELECT id FROM audit.flags)",
            vec![
                rel(&["sales", "orders"], Read),
                rel(&["public", "customers"], Read),
                rel(&["audit", "flags"], Read),
            ],
        );
    }

    #[test]
    fn cte_names_are_not_tables_but_their_bodies_are_read() {
        check(
            "WITH recent AS (SELECT * FROM orders WHERE id > 1) SELECT * FROM recent r JOIN \"Items\" i USING (id)",
            vec![rel(&["orders"], Read), rel(&["Items"], Read)],
        );
    }

    #[test]
    fn quoted_identifiers_keep_case_dots_and_symbols() {
        check(
            r#"SELECT "Amount €" FROM "Sales.EU"."Orders ""2024""""#,
            vec![rel(&["Sales.EU", "Orders \"2024\""], Read)],
        );
    }

    #[test]
    fn dml_targets_are_written_and_their_sources_read() {
        check(
            "INSERT INTO sales.archive SELECT * FROM sales.orders",
            vec![
                rel(&["sales", "archive"], Write),
                rel(&["sales", "orders"], Read),
            ],
        );
        check(
            "UPDATE sales.orders o SET amount = 0 FROM sales.rates r WHERE r.id = o.id",
            vec![
                rel(&["sales", "orders"], Write),
                rel(&["sales", "rates"], Read),
            ],
        );
        check(
            "DELETE FROM sales.orders USING sales.rates WHERE rates.id = orders.id",
            vec![
                rel(&["sales", "orders"], Write),
                rel(&["sales", "rates"], Read),
            ],
        );
        check(
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
            vec![rel(&["t"], Write), rel(&["s"], Read)],
        );
        check(
            "TRUNCATE a, b.c",
            vec![rel(&["a"], Write), rel(&["b", "c"], Write)],
        );
    }

    #[test]
    fn copy_from_writes_and_copy_to_reads() {
        check(
            "COPY sales.orders FROM STDIN",
            vec![rel(&["sales", "orders"], Write)],
        );
        check(
            "COPY sales.orders TO STDOUT",
            vec![rel(&["sales", "orders"], Read)],
        );
        check(
            "COPY (SELECT * FROM sales.orders) TO STDOUT",
            vec![rel(&["sales", "orders"], Read)],
        );
    }

    #[test]
    fn ddl_and_grants_are_admin() {
        check(
            "CREATE TABLE sales.t (id int)",
            vec![rel(&["sales", "t"], Admin)],
        );
        check(
            "CREATE VIEW v AS SELECT * FROM sales.orders",
            vec![rel(&["v"], Admin), rel(&["sales", "orders"], Read)],
        );
        check(
            "ALTER TABLE sales.t ADD COLUMN x int",
            vec![rel(&["sales", "t"], Admin)],
        );
        check(
            "DROP TABLE sales.t, other",
            vec![rel(&["sales", "t"], Admin), rel(&["other"], Admin)],
        );
        check("CREATE SCHEMA \"Sales.EU\"", vec![schema(&["Sales.EU"])]);
        check(
            "GRANT SELECT ON sales.orders TO alice",
            vec![rel(&["sales", "orders"], Admin)],
        );
        check(
            "REVOKE ALL ON ALL TABLES IN SCHEMA sales FROM alice",
            vec![schema(&["sales"])],
        );
        check(
            "CREATE INDEX ON sales.orders (id)",
            vec![rel(&["sales", "orders"], Admin)],
        );
    }

    #[test]
    fn statements_without_data_objects_touch_nothing() {
        check("SELECT 1", vec![]);
        check("BEGIN", vec![]);
        check("SET search_path = sales, public", vec![]);
    }

    #[test]
    fn garbage_is_reported_as_unparseable() {
        assert!(analyze(Dialect::PostgreSql, "SELEC 1").is_err());
    }

    #[test]
    fn shapes_drop_literals_and_keep_names() {
        let a = shape("SELECT * FROM t1 WHERE id = 42 AND note = 'it''s'  -- why\n LIMIT 1.5e3");
        assert_eq!(
            a.as_deref(),
            Some("SELECT * FROM t1 WHERE id = 0 AND note = '' LIMIT 0")
        );
        assert_eq!(
            shape(r#"UPDATE "Sales.EU"."Orders 7" SET "Amount €" = 1 WHERE id = $1"#).as_deref(),
            Some(r#"UPDATE "Sales.EU"."Orders 7" SET "Amount €" = 0 WHERE id = $1"#)
        );
        assert_eq!(
            shape("SELECT * FROM café.t2 x1 WHERE x1.n > -7"),
            Some("SELECT * FROM café.t2 x1 WHERE x1.n > -0".to_owned())
        );
        // Not modelled: parsed every time.
        for sql in [
            "DO $$ BEGIN PERFORM 1; END $$",
            "SELECT /* hint */ 1",
            r"SELECT E'a\'b' FROM t",
            "SELECT 1abc",
            "SELECT 'open",
            "SELECT \"open",
        ] {
            assert_eq!(shape(sql), None, "{sql}");
        }
    }

    /// The first version of [`shape`], token by token: the model the run-copying one must
    /// agree with.
    fn shape_by_token(sql: &str) -> Option<String> {
        let bytes = sql.as_bytes();
        let mut out = String::with_capacity(sql.len());
        // The last byte copied: a number starts a literal only after a non-name byte.
        let mut previous = b' ';
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'\'' => {
                    let mut j = i + 1;
                    loop {
                        match bytes.get(j)? {
                            b'\'' if bytes.get(j + 1) == Some(&b'\'') => j += 2,
                            b'\'' => break,
                            b'\\' => return None,
                            _ => j += 1,
                        }
                    }
                    out.push_str("''");
                    previous = b'\'';
                    i = j + 1;
                }
                b'"' => {
                    let mut j = i + 1;
                    loop {
                        match bytes.get(j)? {
                            b'"' if bytes.get(j + 1) == Some(&b'"') => j += 2,
                            b'"' => break,
                            _ => j += 1,
                        }
                    }
                    out.push_str(&sql[i..=j]);
                    previous = b'"';
                    i = j + 1;
                }
                b'$' if !is_name(previous) => {
                    // `$1` parameters are names here; `$tag$` and `$$` quotes are not modelled.
                    let digits = bytes[i + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    if digits == 0 {
                        return None;
                    }
                    out.push_str(&sql[i..i + 1 + digits]);
                    previous = b'0';
                    i += 1 + digits;
                }
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    if previous != b' ' {
                        out.push(' ');
                        previous = b' ';
                    }
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => return None,
                b'0'..=b'9' if !is_name(previous) => {
                    let j = number_end(bytes, i)?;
                    out.push('0');
                    previous = b'0';
                    i = j;
                }
                b if b.is_ascii_whitespace() => {
                    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                        i += 1;
                    }
                    if previous != b' ' {
                        out.push(' ');
                        previous = b' ';
                    }
                }
                _ => {
                    // A name (with any non-ASCII characters in it), keyword or punctuation.
                    let mut j = i + 1;
                    if is_name(b) {
                        while bytes.get(j).is_some_and(|&b| is_name(b)) {
                            j += 1;
                        }
                    }
                    out.push_str(&sql[i..j]);
                    previous = bytes[j - 1];
                    i = j;
                }
            }
        }
        Some(out)
    }

    #[test]
    fn shapes_are_what_the_token_by_token_version_gave() {
        for sql in [
            "",
            " ",
            "  SELECT\t1 ",
            "SELECT a$b, $1, $$x$$ FROM t1 WHERE x1.n > -7 -- c\n-- d\nLIMIT 1e5",
            "SELECT 1.5e+3, .5, 'a''b', \"q\"\"x\" , x--y\n  z/w",
            "caf\u{e9}1 2caf\u{e9} \u{e9}3 \r\n\x0c'x'",
        ] {
            assert_eq!(shape(sql), shape_by_token(sql), "{sql:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 1024,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        /// Any text made of SQL's awkward pieces: the same shape as token by token.
        #[test]
        fn any_statement_has_the_shape_the_token_by_token_version_gave(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "SELECT", "t1", "x", "_", "$", "$1", "$$", "0", "42", "1.5", "1e3", "1e",
                    "e", ".", ",", "(", ")", "*", "=", "-", "--", "/", "/*", "'", "''", "'a'",
                    "\\", "\"", "\"A\"\"b\"", " ", "  ", "\n", "\t", "\r\n", "\u{c}",
                    "\u{b}", "\u{e9}", "\u{20ac}", ";",
                ]),
                0..24,
            ),
        ) {
            let sql = pieces.concat();
            proptest::prop_assert_eq!(shape(&sql), shape_by_token(&sql), "{:?}", sql);
        }
    }

    #[test]
    fn the_cache_answers_statements_of_one_shape_and_reparses_failures() {
        let mut cache = AnalysisCache::new(Dialect::PostgreSql, 2);
        let first = cache.analyze("SELECT * FROM app.t1 WHERE id = 1").unwrap();
        let second = cache.analyze("SELECT * FROM app.t1 WHERE id = 2").unwrap();
        assert_eq!(first, second);
        assert_eq!(first.to_vec(), vec![rel(&["app", "t1"], Read)]);
        // Another table is another shape.
        let other = cache.analyze("SELECT * FROM app.t2 WHERE id = 1").unwrap();
        assert_eq!(other.to_vec(), vec![rel(&["app", "t2"], Read)]);
        assert_eq!(cache.hits_and_misses(), (1, 2));
        // Failures are not kept: each one carries its own message.
        let e1 = cache.analyze("SELEC 1").unwrap_err();
        let e2 = cache.analyze("\n SELEC 1").unwrap_err();
        assert_ne!(e1, e2);
        // Bounded: a third shape pushes the first two into the older generation, a fourth
        // drops them unless they were used again.
        cache.analyze("DELETE FROM app.t3").unwrap();
        cache.analyze("SELECT * FROM app.t1 WHERE id = 3").unwrap();
        cache.analyze("DELETE FROM app.t4").unwrap();
        assert!(cache.current.len() + cache.previous.len() <= 4);
        let (hits, _) = cache.hits_and_misses();
        cache.analyze("SELECT * FROM app.t1 WHERE id = 4").unwrap();
        assert_eq!(cache.hits_and_misses().0, hits + 1);
    }
}
