//! SQL text → the relations and schemas a statement touched, and how, with the `sqlparser`
//! crate's PostgreSQL dialect. Names come out as written (case-folded like PostgreSQL does);
//! resolving them against the catalog is [`super::catalog`]'s job.
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
use std::ops::ControlFlow;

use sqlparser::ast::{
    CommentObject, CopySource, FromTable, GrantObjects, ObjectName, ObjectNamePart, ObjectType,
    Query, SchemaName, Statement, TableFactor, TableObject, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::model::usage::UsageGlobalPermission;

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

/// Parses `sql` (one or more statements) and lists what it touched, each (kind, name,
/// permission) once, in order of appearance. `Err` carries the parser's message.
pub fn analyze(sql: &str) -> Result<Vec<Touched>, String> {
    let statements =
        Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|error| error.to_string())?;
    let mut touched = Vec::new();
    for statement in &statements {
        analyze_statement(statement, &mut touched);
    }
    Ok(touched)
}

/// Collects every relation the visitor reaches, whether it lies inside a query, and every CTE
/// name.
#[derive(Default)]
struct Collector {
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
                self.ctes.insert(fold(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.query_depth = self.query_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if let Some(name) = identifiers(relation) {
            self.relations.push((name, self.query_depth > 0));
        }
        ControlFlow::Continue(())
    }
}

fn analyze_statement(statement: &Statement, out: &mut Vec<Touched>) {
    let mut collector = Collector::default();
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
                grant.objects.as_ref(),
                &mut admin_relations,
                &mut admin_schemas,
            );
            false
        }
        Statement::Revoke(revoke) => {
            grant_objects(
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
    objects: Option<&GrantObjects>,
    relations: &mut Vec<Vec<String>>,
    schemas: &mut Vec<Vec<String>>,
) {
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

fn table_factor_name(factor: &TableFactor) -> Option<Vec<String>> {
    match factor {
        TableFactor::Table { name, .. } => identifiers(name),
        _ => None,
    }
}

/// The identifiers of a name, or `None` when a part is computed (a dialect function).
fn identifiers(name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Some(fold(ident)),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

/// PostgreSQL folds unquoted identifiers to lower case (ASCII letters only).
fn fold(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
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
            sorted(analyze(sql).expect("parses")),
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
        assert!(analyze("SELEC 1").is_err());
    }
}
