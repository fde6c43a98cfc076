//! SELECT from `<db>.INFORMATION_SCHEMA.{SCHEMATA,TABLES,COLUMNS}` and
//! `SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES`: the name resolved (unknown or unseen objects are
//! `002003`), the columns checked (`000904`), then a warehouse required (`000606`), as
//! Snowflake compiles before it runs. Rows are references into the model; only the cells a
//! condition, a sort key or the projection needs are rendered, so a million columns stream
//! through the partition builder without being held.
//!
//! INFORMATION_SCHEMA lists the database's INFORMATION_SCHEMA too (the three views served
//! here, as views), like Snowflake's, so a connector must skip it as it must there.

use std::cmp::Ordering;
use std::sync::LazyLock;

use super::{Output, Session};
use crate::error::{SqlError, display_name, display_path};
use crate::model::{
    CREATED_SECONDS as CREATED, Column, Database, Schema, Table, TableKind, TagReference,
};
use crate::result::{ColumnType, Kind, fixed, text_or_null, timestamp};
use crate::sql::{Condition, Ident, OrderKey, Query};

pub(super) const INFORMATION_SCHEMA_COMMENT: &str =
    "Views describing the contents of schemas in this database";

pub(super) type Spec = &'static [(&'static str, Kind)];

const SCHEMATA: Spec = &[
    ("CATALOG_NAME", Kind::Text),
    ("SCHEMA_NAME", Kind::Text),
    ("SCHEMA_OWNER", Kind::Text),
    ("IS_TRANSIENT", Kind::Text),
    ("IS_MANAGED_ACCESS", Kind::Text),
    ("RETENTION_TIME", Kind::Fixed),
    ("DEFAULT_CHARACTER_SET_CATALOG", Kind::Text),
    ("DEFAULT_CHARACTER_SET_SCHEMA", Kind::Text),
    ("DEFAULT_CHARACTER_SET_NAME", Kind::Text),
    ("SQL_PATH", Kind::Text),
    ("CREATED", Kind::TimestampLtz),
    ("LAST_ALTERED", Kind::TimestampLtz),
    ("COMMENT", Kind::Text),
    ("REPLICABLE_WITH_FAILOVER_GROUPS", Kind::Text),
    ("OWNER_ROLE_TYPE", Kind::Text),
];

const TABLES: Spec = &[
    ("TABLE_CATALOG", Kind::Text),
    ("TABLE_SCHEMA", Kind::Text),
    ("TABLE_NAME", Kind::Text),
    ("TABLE_OWNER", Kind::Text),
    ("TABLE_TYPE", Kind::Text),
    ("IS_TRANSIENT", Kind::Text),
    ("CLUSTERING_KEY", Kind::Text),
    ("ROW_COUNT", Kind::Fixed),
    ("BYTES", Kind::Fixed),
    ("RETENTION_TIME", Kind::Fixed),
    ("SELF_REFERENCING_COLUMN_NAME", Kind::Text),
    ("REFERENCE_GENERATION", Kind::Text),
    ("USER_DEFINED_TYPE_CATALOG", Kind::Text),
    ("USER_DEFINED_TYPE_SCHEMA", Kind::Text),
    ("USER_DEFINED_TYPE_NAME", Kind::Text),
    ("IS_INSERTABLE_INTO", Kind::Text),
    ("IS_TYPED", Kind::Text),
    ("COMMIT_ACTION", Kind::Text),
    ("CREATED", Kind::TimestampLtz),
    ("LAST_ALTERED", Kind::TimestampLtz),
    ("LAST_DDL", Kind::TimestampLtz),
    ("LAST_DDL_BY", Kind::Text),
    ("AUTO_CLUSTERING_ON", Kind::Text),
    ("COMMENT", Kind::Text),
    ("IS_TEMPORARY", Kind::Text),
    ("IS_ICEBERG", Kind::Text),
    ("IS_DYNAMIC", Kind::Text),
    ("IS_IMMUTABLE", Kind::Text),
    ("IS_HYBRID", Kind::Text),
];

const COLUMNS: Spec = &[
    ("TABLE_CATALOG", Kind::Text),
    ("TABLE_SCHEMA", Kind::Text),
    ("TABLE_NAME", Kind::Text),
    ("COLUMN_NAME", Kind::Text),
    ("ORDINAL_POSITION", Kind::Fixed),
    ("COLUMN_DEFAULT", Kind::Text),
    ("IS_NULLABLE", Kind::Text),
    ("DATA_TYPE", Kind::Text),
    ("CHARACTER_MAXIMUM_LENGTH", Kind::Fixed),
    ("CHARACTER_OCTET_LENGTH", Kind::Fixed),
    ("NUMERIC_PRECISION", Kind::Fixed),
    ("NUMERIC_PRECISION_RADIX", Kind::Fixed),
    ("NUMERIC_SCALE", Kind::Fixed),
    ("DATETIME_PRECISION", Kind::Fixed),
    ("INTERVAL_TYPE", Kind::Text),
    ("INTERVAL_PRECISION", Kind::Fixed),
    ("CHARACTER_SET_CATALOG", Kind::Text),
    ("CHARACTER_SET_SCHEMA", Kind::Text),
    ("CHARACTER_SET_NAME", Kind::Text),
    ("COLLATION_CATALOG", Kind::Text),
    ("COLLATION_SCHEMA", Kind::Text),
    ("COLLATION_NAME", Kind::Text),
    ("DOMAIN_CATALOG", Kind::Text),
    ("DOMAIN_SCHEMA", Kind::Text),
    ("DOMAIN_NAME", Kind::Text),
    ("UDT_CATALOG", Kind::Text),
    ("UDT_SCHEMA", Kind::Text),
    ("UDT_NAME", Kind::Text),
    ("SCOPE_CATALOG", Kind::Text),
    ("SCOPE_SCHEMA", Kind::Text),
    ("SCOPE_NAME", Kind::Text),
    ("MAXIMUM_CARDINALITY", Kind::Fixed),
    ("DTD_IDENTIFIER", Kind::Text),
    ("IS_SELF_REFERENCING", Kind::Text),
    ("IS_IDENTITY", Kind::Text),
    ("IDENTITY_GENERATION", Kind::Text),
    ("IDENTITY_START", Kind::Text),
    ("IDENTITY_INCREMENT", Kind::Text),
    ("IDENTITY_MAXIMUM", Kind::Text),
    ("IDENTITY_MINIMUM", Kind::Text),
    ("IDENTITY_CYCLE", Kind::Text),
    ("IDENTITY_ORDERED", Kind::Text),
    ("SCHEMA_EVOLUTION_RECORD", Kind::Text),
    ("COMMENT", Kind::Text),
];

const TAG_REFERENCES: Spec = &[
    ("TAG_DATABASE", Kind::Text),
    ("TAG_SCHEMA", Kind::Text),
    ("TAG_ID", Kind::Fixed),
    ("TAG_NAME", Kind::Text),
    ("TAG_VALUE", Kind::Text),
    ("OBJECT_DATABASE", Kind::Text),
    ("OBJECT_SCHEMA", Kind::Text),
    ("OBJECT_ID", Kind::Fixed),
    ("OBJECT_NAME", Kind::Text),
    ("OBJECT_DELETED", Kind::TimestampLtz),
    ("DOMAIN", Kind::Text),
    ("COLUMN_ID", Kind::Fixed),
    ("COLUMN_NAME", Kind::Text),
    ("APPLY_METHOD", Kind::Text),
];

/// The INFORMATION_SCHEMA every database has, with the views served here.
static INFORMATION_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let view = |name: &str, spec: Spec, comment: &str| Table {
        name: name.to_owned(),
        kind: TableKind::View,
        owner: String::new(),
        comment: comment.to_owned(),
        columns: spec
            .iter()
            .map(|(column, kind)| Column {
                name: (*column).to_owned(),
                data_type: match kind {
                    Kind::Text => "TEXT",
                    Kind::Fixed | Kind::Decimal(_) => "NUMBER",
                    Kind::Boolean => "BOOLEAN",
                    Kind::TimestampLtz => "TIMESTAMP_LTZ",
                    Kind::TimestampTz => "TIMESTAMP_TZ",
                    Kind::Array => "ARRAY",
                    Kind::Object => "OBJECT",
                }
                .to_owned(),
                nullable: true,
                character_maximum_length: (*kind == Kind::Text).then_some(16_777_216),
                numeric_precision: (*kind == Kind::Fixed).then_some(9),
                numeric_scale: (*kind == Kind::Fixed).then_some(0),
                comment: String::new(),
                masking_policy: None,
            })
            .collect(),
        row_access_policy: None,
    };
    Schema {
        name: "INFORMATION_SCHEMA".to_owned(),
        owner: String::new(),
        comment: INFORMATION_SCHEMA_COMMENT.to_owned(),
        tables: vec![
            view(
                "COLUMNS",
                COLUMNS,
                "The columns of tables defined in this database that are accessible to the current user's role.",
            ),
            view(
                "SCHEMATA",
                SCHEMATA,
                "The schemas defined in this database that are accessible to the current user's role.",
            ),
            view(
                "TABLES",
                TABLES,
                "The tables defined in this database that are accessible to the current user's role.",
            ),
        ],
    }
});

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn yes_no(b: bool) -> Option<String> {
    text(if b { "YES" } else { "NO" })
}

fn created() -> Option<String> {
    timestamp(CREATED, 0)
}

/// A database's schemas, its INFORMATION_SCHEMA last.
fn schemas(db: &Database) -> impl Iterator<Item = &Schema> {
    db.schemas
        .iter()
        .chain(std::iter::once(&*INFORMATION_SCHEMA))
}

pub(super) fn query<'a>(session: &Session<'a>, query: &Query) -> Result<Output<'a>, SqlError> {
    let s = *session;
    let (database, schema, view) = match query.from.as_slice() {
        [db, schema, view] => (db.name.clone(), schema.name.clone(), view),
        [schema, view] => (
            s.database
                .ok_or_else(|| SqlError::no_database("SELECT"))?
                .to_owned(),
            schema.name.clone(),
            view,
        ),
        [view] => {
            let db = s.database.ok_or_else(|| SqlError::no_database("SELECT"))?;
            let schema = s.schema.ok_or_else(|| SqlError {
                code: "090106",
                sql_state: "22000",
                message: "Cannot perform SELECT. This session does not have a current schema. Call 'USE SCHEMA', or use a qualified name.".to_owned(),
            })?;
            (db.to_owned(), schema.to_owned(), view)
        }
        [_, _, _, extra, ..] => {
            return Err(SqlError::syntax(extra.line, extra.pos, &extra.name));
        }
        [] => return Err(SqlError::syntax(1, 0, "<EOF>")),
    };
    let path = || display_path(&[&database, &schema, &view.name]);
    if database == "SNOWFLAKE" && schema == "ACCOUNT_USAGE" {
        if !s.reads_account_usage() {
            return Err(SqlError::does_not_exist("Database", "SNOWFLAKE"));
        }
        match view.name.as_str() {
            "TAG_REFERENCES" => {}
            "GRANTS_TO_ROLES" | "GRANTS_TO_USERS" => {
                return super::grants::account_usage(session, &view.name, query);
            }
            "ACCESS_HISTORY" if s.account.standard_edition => {
                return Err(SqlError::does_not_exist("Object", &path()));
            }
            // The history views are served only in the shapes of `sql::usage` (a SELECT
            // naming SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY in full, joined to ACCESS_HISTORY);
            // any other read of them is outside what the stand-in serves.
            "QUERY_HISTORY" | "ACCESS_HISTORY" => {
                let first = &query.from[0];
                return Err(SqlError::syntax(first.line, first.pos, &first.name));
            }
            _ => return Err(SqlError::does_not_exist("Object", &path())),
        }
        let rows = s.account.tag_references.iter().enumerate();
        return run(
            s,
            TAG_REFERENCES,
            ["SNOWFLAKE", "ACCOUNT_USAGE", "TAG_REFERENCES"],
            rows,
            |row: &_, column| tag_cell(*row, column),
            query,
        );
    }
    let db = s
        .account
        .databases
        .iter()
        .find(|d| d.name == database && s.holds_privilege_on(d))
        .ok_or_else(|| SqlError::does_not_exist("Database", &display_name(&database)))?;
    if schema != "INFORMATION_SCHEMA" {
        let table = db
            .schemas
            .iter()
            .find(|sc| sc.name == schema)
            .and_then(|sc| sc.tables.iter().find(|t| t.name == view.name));
        return Err(match table {
            // The stand-in holds no table data: a query of a real table is outside what it
            // serves.
            Some(_) => {
                let first = &query.from[0];
                SqlError::syntax(first.line, first.pos, &first.name)
            }
            None => SqlError::does_not_exist("Object", &path()),
        });
    }
    let source = [db.name.as_str(), "INFORMATION_SCHEMA", view.name.as_str()];
    match view.name.as_str() {
        "SCHEMATA" => {
            let rows = schemas(db).map(move |sc| (db, sc));
            run(
                s,
                SCHEMATA,
                source,
                rows,
                |row: &_, column| schemata_cell(*row, column),
                query,
            )
        }
        "TABLES" => {
            let rows = schemas(db).flat_map(move |sc| sc.tables.iter().map(move |t| (db, sc, t)));
            run(
                s,
                TABLES,
                source,
                rows,
                |row: &_, column| tables_cell(*row, column),
                query,
            )
        }
        "COLUMNS" => {
            let rows = schemas(db).flat_map(move |sc| {
                sc.tables.iter().flat_map(move |t| {
                    t.columns
                        .iter()
                        .enumerate()
                        .map(move |(i, c)| (db, sc, t, i + 1, c))
                })
            });
            run(
                s,
                COLUMNS,
                source,
                rows,
                |row: &_, column| columns_cell(*row, column),
                query,
            )
        }
        _ => Err(SqlError::does_not_exist("Object", &path())),
    }
}

/// A WHERE condition on one column, its values resolved.
enum Test {
    Equals(Option<String>),
    IsNull { negated: bool },
    In(Vec<Option<String>>),
}

fn same(cell: Option<&str>, value: Option<&str>, numeric: bool) -> bool {
    match (cell, value) {
        (Some(c), Some(v)) if numeric => match (c.parse::<f64>(), v.trim().parse::<f64>()) {
            (Ok(c), Ok(v)) => c == v,
            _ => c == v,
        },
        (Some(c), Some(v)) => c == v,
        // NULL equals nothing, not even NULL.
        _ => false,
    }
}

struct SortKey {
    column: usize,
    descending: bool,
    nulls_first: bool,
}

fn compare_cells(a: &Option<String>, b: &Option<String>, key: &SortKey, numeric: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) if key.nulls_first => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) if key.nulls_first => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => {
            let order = if numeric {
                match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                    _ => a.cmp(b),
                }
            } else {
                a.cmp(b)
            };
            if key.descending {
                order.reverse()
            } else {
                order
            }
        }
    }
}

fn column_index(spec: Spec, ident: &Ident) -> Result<usize, SqlError> {
    spec.iter()
        .position(|(name, _)| *name == ident.name)
        .ok_or_else(|| SqlError::invalid_identifier(ident.line, ident.pos, &ident.shown()))
}

/// Filters, orders and projects `rows` of a view whose cells `cell` renders.
pub(super) fn run<'a, R: 'a>(
    session: Session<'a>,
    spec: Spec,
    source: [&str; 3],
    rows: impl Iterator<Item = R> + 'a,
    cell: impl Fn(&R, usize) -> Option<String> + Copy + 'a,
    query: &Query,
) -> Result<Output<'a>, SqlError> {
    let projection: Vec<usize> = match &query.columns {
        None => (0..spec.len()).collect(),
        Some(columns) => columns
            .iter()
            .map(|c| column_index(spec, c))
            .collect::<Result<_, _>>()?,
    };
    let mut tests = Vec::new();
    for condition in &query.filter {
        tests.push(match condition {
            Condition::Equals(column, value) => (
                column_index(spec, column)?,
                Test::Equals(session.value(value)?),
            ),
            Condition::IsNull { column, negated } => (
                column_index(spec, column)?,
                Test::IsNull { negated: *negated },
            ),
            Condition::In(column, values) => (
                column_index(spec, column)?,
                Test::In(
                    values
                        .iter()
                        .map(|v| session.value(v))
                        .collect::<Result<_, _>>()?,
                ),
            ),
        });
    }
    let mut keys = Vec::new();
    for item in &query.order_by {
        let column = match &item.key {
            OrderKey::Column(c) => column_index(spec, c)?,
            OrderKey::Position { n, line, pos } => {
                *projection.get(n - 1).ok_or_else(|| SqlError {
                    code: "002057",
                    sql_state: "42601",
                    message: format!(
                        "SQL compilation error: error line {line} at position {pos}\nORDER BY position {n} is not in select list"
                    ),
                })?
            }
        };
        keys.push(SortKey {
            column,
            descending: item.descending,
            // Snowflake's default: NULLs sort last ascending, first descending.
            nulls_first: item.nulls_first.unwrap_or(item.descending),
        });
    }
    // Compiled; running it takes a warehouse.
    if session.warehouse.is_none() {
        return Err(SqlError::no_warehouse());
    }
    let numeric = move |column: usize| spec[column].1 == Kind::Fixed;
    let matching = rows.filter(move |row| {
        tests.iter().all(|(column, test)| {
            let value = cell(row, *column);
            match test {
                Test::Equals(v) => same(value.as_deref(), v.as_deref(), numeric(*column)),
                Test::IsNull { negated } => value.is_none() != *negated,
                Test::In(vs) => vs
                    .iter()
                    .any(|v| same(value.as_deref(), v.as_deref(), numeric(*column))),
            }
        })
    });
    let ordered: Box<dyn Iterator<Item = R> + 'a> = if keys.is_empty() {
        Box::new(matching)
    } else {
        let mut keyed: Vec<(Vec<Option<String>>, R)> = matching
            .map(|row| (keys.iter().map(|k| cell(&row, k.column)).collect(), row))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            keys.iter()
                .enumerate()
                .map(|(i, k)| compare_cells(&a[i], &b[i], k, numeric(k.column)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        Box::new(keyed.into_iter().map(|(_, row)| row))
    };
    let columns = projection
        .iter()
        .map(|&i| ColumnType {
            name: spec[i].0.to_owned(),
            kind: spec[i].1,
            nullable: true,
            database: source[0].to_owned(),
            schema: source[1].to_owned(),
            table: source[2].to_owned(),
        })
        .collect();
    Ok(Output {
        columns,
        rows: Box::new(ordered.map(move |row| projection.iter().map(|&i| cell(&row, i)).collect())),
    })
}

fn schemata_cell((db, schema): (&Database, &Schema), column: usize) -> Option<String> {
    match column {
        0 => text(&db.name),
        1 => text(&schema.name),
        2 => text_or_null(&schema.owner),
        3 | 4 => yes_no(false),
        5 => fixed(1),
        10 | 11 => created(),
        12 => text_or_null(&schema.comment),
        14 => text_or_null(if schema.owner.is_empty() { "" } else { "ROLE" }),
        _ => None,
    }
}

fn table_type(kind: TableKind) -> &'static str {
    match kind {
        TableKind::View => "VIEW",
        TableKind::MaterializedView => "MATERIALIZED VIEW",
        TableKind::ExternalTable => "EXTERNAL TABLE",
        TableKind::EventTable => "EVENT TABLE",
        TableKind::BaseTable
        | TableKind::Transient
        | TableKind::Dynamic
        | TableKind::Iceberg
        | TableKind::Hybrid => "BASE TABLE",
    }
}

fn tables_cell((db, schema, table): (&Database, &Schema, &Table), column: usize) -> Option<String> {
    let stored = !matches!(table.kind, TableKind::View | TableKind::ExternalTable);
    match column {
        0 => text(&db.name),
        1 => text(&schema.name),
        2 => text(&table.name),
        3 => text_or_null(&table.owner),
        4 => text(table_type(table.kind)),
        5 => yes_no(table.kind == TableKind::Transient),
        // Row counts and sizes of stored tables; the model has no data.
        7 | 8 if stored => fixed(0),
        9 if stored => fixed(1),
        15 => yes_no(matches!(
            table.kind,
            TableKind::BaseTable | TableKind::Transient | TableKind::Iceberg | TableKind::Hybrid
        )),
        16 => yes_no(false),
        18..=20 => created(),
        22 => yes_no(false),
        23 => text_or_null(&table.comment),
        24 => yes_no(false),
        25 => yes_no(table.kind == TableKind::Iceberg),
        26 => yes_no(table.kind == TableKind::Dynamic),
        27 => yes_no(false),
        28 => yes_no(table.kind == TableKind::Hybrid),
        _ => None,
    }
}

type ColumnRow<'a> = (&'a Database, &'a Schema, &'a Table, usize, &'a Column);

fn columns_cell((db, schema, table, ordinal, c): ColumnRow<'_>, column: usize) -> Option<String> {
    let temporal = c.data_type.starts_with("TIME");
    match column {
        0 => text(&db.name),
        1 => text(&schema.name),
        2 => text(&table.name),
        3 => text(&c.name),
        4 => fixed(i64::try_from(ordinal).unwrap_or(i64::MAX)),
        6 => yes_no(c.nullable),
        7 => text(&c.data_type),
        8 => c.character_maximum_length.and_then(fixed),
        9 => c
            .character_maximum_length
            .and_then(|n| fixed(n.saturating_mul(4).min(16_777_216))),
        10 => c.numeric_precision.and_then(fixed),
        11 => c.numeric_precision.and_then(|_| fixed(10)),
        12 => c.numeric_scale.and_then(fixed),
        13 if temporal => fixed(9),
        33 | 34 => yes_no(false),
        43 => text_or_null(&c.comment),
        _ => None,
    }
}

fn tag_cell((index, tag): (usize, &TagReference), column: usize) -> Option<String> {
    let id = i64::try_from(index).unwrap_or(i64::MAX);
    match column {
        0 => text(&tag.tag_database),
        1 => text(&tag.tag_schema),
        3 => text(&tag.tag_name),
        4 => text(&tag.tag_value),
        5 => text_or_null(&tag.object_database),
        6 => text_or_null(&tag.object_schema),
        7 => fixed(1000 + id),
        8 => text(&tag.object_name),
        9 if tag.object_deleted => created(),
        10 => text(&tag.domain),
        12 => tag.column_name.clone(),
        13 => text("MANUAL"),
        _ => None,
    }
}
