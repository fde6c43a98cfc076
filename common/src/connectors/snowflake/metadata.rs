//! The Snowflake data source sync: the account's integrations, warehouses, inbound shared
//! databases, databases, schemas, functions, procedures, tables (of every kind) and columns,
//! named exactly as the Go connector names them (raito-io/cli-plugin-snowflake
//! snowflake/data_source.go), so a customer moving from the Go CLI keeps every object's id:
//! - a full name is the object's names as Snowflake stores them, joined with `.`, never quoted
//!   (`SALES.PUBLIC.ORDERS.ID`); it is also the external id;
//! - top-level objects (database, `shared-database`, warehouse, integration) are their name;
//! - a function or procedure is `DB.SCHEMA."NAME"(ARGUMENT TYPES)` (the argument signature
//!   from `SHOW FUNCTIONS`' `arguments`, for uniqueness), its name `NAME(ARGUMENT TYPES)`;
//! - table types from INFORMATION_SCHEMA: `BASE TABLE` → `table` (`iceberg-table` when
//!   `IS_ICEBERG`), `VIEW` → `view`, `MATERIALIZED VIEW` → `materialized-view`,
//!   `EXTERNAL TABLE` → `external-table`, anything else lower case (type_mapping.go); the
//!   objects of an inbound shared database get the `shared-` prefix and no functions;
//! - `sf-excluded-databases` (default `SNOWFLAKE`), `sf-excluded-schemas` (a schema name or
//!   `DB.SCHEMA`; `INFORMATION_SCHEMA` always), `sf-skip-columns`; tags from
//!   `ACCOUNT_USAGE.TAG_REFERENCES` unless skipped or Standard Edition;
//! - a partial sync follows the Go connector's `shouldHandle`/`shouldGoInto`: by prefix of
//!   the full names.
//!
//! Unlike the Go connector, nothing is granted to the sync role (it grants itself USAGE and
//! REFERENCES on every database), tags are read once for the whole account instead of once
//! per database, and databases are listed in pages of 1,000 as it does. Every result is read a
//! partition at a time: memory does not grow with the number of columns.

use std::collections::{HashMap, HashSet};

use super::TAG_SOURCE;
use super::client::{Client, Rows, quote_ident, show_page};
use super::config::Config;
use crate::connector::{DataSourceRequest, Error, Sink};
use crate::model::Tag;
use crate::model::data_source::{DataObject, object_type};

/// The type prefix of the objects of an inbound shared database (constants.go `SharedPrefix`).
const SHARED_PREFIX: &str = "shared-";
/// Databases per `SHOW DATABASES` page (repository.go `GetDatabasesByKind`).
const DATABASE_PAGE: usize = 1000;

/// The account's name, `ORGANIZATION<delimiter>ACCOUNT` (repository.go
/// `GetSnowFlakeAccountName`): with `-` it names the data source, with `.` it is the share
/// identifier of the data source metadata.
pub async fn account_name(client: &Client, delimiter: char) -> Result<String, Error> {
    let mut rows = client
        .query(
            &format!(
                "select CONCAT(CURRENT_ORGANIZATION_NAME(), '{delimiter}', CURRENT_ACCOUNT_NAME())"
            ),
            &[],
        )
        .await?;
    let mut name = None;
    while let Some(batch) = rows.next_batch().await? {
        name = name.or_else(|| batch.first().and_then(|r| r.get(0)).map(str::to_owned));
    }
    name.ok_or_else(|| Error::Operation {
        connector: super::NAME,
        operation: "reading the account's name".to_owned(),
        source: "no row".into(),
    })
}

/// What a sync covers: the Go connector's filters.
struct Scope<'a> {
    start_from: &'a str,
    excludes: &'a [String],
    excluded_databases: HashSet<&'a str>,
    excluded_schemas: HashSet<&'a str>,
}

impl<'a> Scope<'a> {
    fn new(config: &'a Config, request: &'a DataSourceRequest) -> Self {
        let mut excluded_schemas: HashSet<&str> =
            config.excluded_schemas.iter().map(String::as_str).collect();
        excluded_schemas.insert("INFORMATION_SCHEMA");
        Self {
            start_from: request.parent.as_deref().unwrap_or(""),
            excludes: &request.excludes,
            excluded_databases: config
                .excluded_databases
                .iter()
                .map(String::as_str)
                .collect(),
            excluded_schemas,
        }
    }

    /// Whether the object `full_name` is pushed (data_source.go `shouldHandle`).
    fn handles(&self, full_name: &str) -> bool {
        if self.start_from.is_empty() {
            return true;
        }
        if !full_name.starts_with(self.start_from) || self.start_from == full_name {
            return false;
        }
        !self
            .excludes
            .iter()
            .any(|exclude| full_name.starts_with(&format!("{}.{exclude}", self.start_from)))
    }

    /// Whether anything below `full_name` may be pushed (data_source.go `shouldGoInto`).
    fn goes_into(&self, full_name: &str) -> bool {
        self.start_from.is_empty()
            || self.start_from.starts_with(full_name)
            || full_name.starts_with(self.start_from)
    }

    /// Whether the schema `database.schema` is excluded, by its full name or its name.
    fn schema_excluded(&self, database: &str, schema: &str) -> bool {
        self.excluded_schemas
            .contains(format!("{database}.{schema}").as_str())
            || self.excluded_schemas.contains(schema)
    }
}

/// Pushes the account's data objects into `sink`, parents before children.
pub async fn sync(
    config: &Config,
    client: &Client,
    request: &DataSourceRequest,
    sink: &mut dyn Sink<DataObject>,
) -> Result<(), Error> {
    let scope = Scope::new(config, request);
    let tags = if config.skip_tags || config.standard_edition {
        Tags::default()
    } else {
        Tags::read(client).await?
    };
    let mut count = 0u64;

    // Integrations and warehouses: top level, by name.
    for (statement, kind) in [
        ("SHOW INTEGRATIONS", "integration"),
        ("SHOW WAREHOUSES", "warehouse"),
    ] {
        for (name, comment) in named(client, statement).await? {
            if scope.goes_into(&name) && scope.handles(&name) {
                sink.push(top_level(&name, kind, comment, &tags)).await?;
                count += 1;
            }
        }
    }

    // Inbound shares: their databases, as `shared-database`.
    let shared: Vec<String> = inbound_share_databases(client)
        .await?
        .into_iter()
        .filter(|database| {
            !scope.excluded_databases.contains(database.as_str()) && scope.goes_into(database)
        })
        .collect();
    for database in &shared {
        if scope.handles(database) {
            sink.push(top_level(database, "shared-database", None, &tags))
                .await?;
            count += 1;
        }
    }

    // Standard databases.
    let shared_set: HashSet<&str> = shared.iter().map(String::as_str).collect();
    let mut databases = Vec::new();
    let (standard, _) = standard_databases(client).await?;
    for (database, comment) in standard {
        if scope.excluded_databases.contains(database.as_str())
            || shared_set.contains(database.as_str())
            || !scope.goes_into(&database)
        {
            continue;
        }
        if scope.handles(&database) {
            sink.push(top_level(&database, object_type::DATABASE, comment, &tags))
                .await?;
            count += 1;
        }
        databases.push(database);
    }

    count += read_databases(config, client, &scope, &tags, &databases, &shared, sink).await?;
    tracing::info!(
        objects = count,
        requests = client.requests(),
        "listed data objects"
    );
    Ok(())
}

/// Reads the databases, `sf-worker-pool-size` at a time (as the Go connector's worker pool),
/// and pushes their objects into `sink` as they come: each database's in its own order
/// (schemas, routines, tables, columns), the databases' interleaved. The readers hand their
/// objects over a bounded channel, so memory holds at most [`IN_FLIGHT`] objects besides each
/// reader's partition.
async fn read_databases(
    config: &Config,
    client: &Client,
    scope: &Scope<'_>,
    tags: &Tags,
    databases: &[String],
    shared: &[String],
    sink: &mut dyn Sink<DataObject>,
) -> Result<u64, Error> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<DataObject>(IN_FLIGHT);
    let readers = async move {
        // Owned names: closures over borrowed ones are not general enough for a Send future.
        let work: Vec<(String, bool)> = databases
            .iter()
            .map(|d| (d.clone(), false))
            .chain(shared.iter().map(|d| (d.clone(), true)))
            .collect();
        let counts: Vec<u64> = futures::stream::iter(work)
            .map(|(database, is_shared): (String, bool)| {
                let mut channel = Channel(sender.clone());
                async move {
                    let prefix = if is_shared { SHARED_PREFIX } else { "" };
                    let pushed =
                        read_database(config, client, scope, tags, &database, prefix, &mut channel)
                            .await?;
                    tracing::info!(database = %database, objects = pushed, "read database");
                    Ok::<u64, Error>(pushed)
                }
            })
            .buffer_unordered(config.worker_pool_size.max(1))
            .try_collect()
            .await?;
        drop(sender);
        Ok::<u64, Error>(counts.into_iter().sum())
    };
    let writer = async {
        while let Some(object) = receiver.recv().await {
            sink.push(object).await?;
        }
        Ok::<(), Error>(())
    };
    let (read, written) = tokio::join!(readers, writer);
    // A failed write stops the readers (their channel closes): its error is the cause.
    written?;
    read
}

/// Objects read but not yet written, across the databases being read.
const IN_FLIGHT: usize = 4096;

/// The readers' side of the channel to the writer.
struct Channel(tokio::sync::mpsc::Sender<DataObject>);

#[async_trait::async_trait]
impl Sink<DataObject> for Channel {
    async fn push(&mut self, item: DataObject) -> Result<(), crate::output::Error> {
        self.0
            .send(item)
            .await
            .map_err(|_| crate::output::Error::Io {
                path: "the data objects".to_owned(),
                source: std::io::Error::other("the writer stopped"),
            })
    }
}

/// The databases of the account's inbound shares (`SHOW SHARES`, kind `INBOUND`), in SHOW's
/// order (Go data_source.go and data_access.go `getInboundShareNames`).
pub(super) async fn inbound_share_databases(client: &Client) -> Result<Vec<String>, Error> {
    let mut rows = client.query("SHOW SHARES", &[]).await?;
    let (kind, database_name) = (rows.column("kind")?, rows.column("database_name")?);
    let mut shared = Vec::new();
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            if row
                .get(kind)
                .is_some_and(|k| k.eq_ignore_ascii_case("INBOUND"))
                && let Some(database) = row.get(database_name).filter(|d| !d.is_empty())
            {
                shared.push(database.to_owned());
            }
        }
    }
    Ok(shared)
}

/// The account's databases of kind `STANDARD` with their comments, in SHOW's order, read with
/// `SHOW DATABASES IN ACCOUNT` in pages of [`DATABASE_PAGE`] (the `FROM` cursor may repeat the
/// last name of a page: skipped); and the number of pages (statements) read.
pub(super) async fn standard_databases(
    client: &Client,
) -> Result<(Vec<(String, Option<String>)>, u64), Error> {
    let mut databases = Vec::new();
    let mut pages = 0;
    let mut last: Option<String> = None;
    loop {
        let statement = show_page("SHOW DATABASES IN ACCOUNT", DATABASE_PAGE, last.as_deref());
        let mut rows = client.query(&statement, &[]).await?;
        pages += 1;
        let (name, kind, comment) = (
            rows.column("name")?,
            rows.column("kind")?,
            rows.column("comment")?,
        );
        let mut seen = 0;
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                seen += 1;
                let Some(database) = row.get(name) else {
                    continue;
                };
                if last.as_deref() == Some(database) {
                    continue;
                }
                last = Some(database.to_owned());
                if row
                    .get(kind)
                    .is_some_and(|k| k.eq_ignore_ascii_case("STANDARD"))
                {
                    databases.push((database.to_owned(), row.get(comment).map(str::to_owned)));
                }
            }
        }
        if seen < DATABASE_PAGE {
            return Ok((databases, pages));
        }
    }
}

/// The schemas of database `db` (quoted): CATALOG_NAME, SCHEMA_NAME, COMMENT.
pub(super) fn schemata_statement(db: &str) -> String {
    format!("SELECT CATALOG_NAME, SCHEMA_NAME, COMMENT FROM {db}.INFORMATION_SCHEMA.SCHEMATA")
}

/// The tables, views and other tabular objects of database `db` (quoted): TABLE_CATALOG,
/// TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, COMMENT, IS_ICEBERG.
pub(super) fn tables_statement(db: &str) -> String {
    format!(
        "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, COMMENT, IS_ICEBERG FROM \
         {db}.INFORMATION_SCHEMA.TABLES"
    )
}

/// Reads the schemas, functions, procedures, tables and columns of one database.
async fn read_database(
    config: &Config,
    client: &Client,
    scope: &Scope<'_>,
    tags: &Tags,
    database: &str,
    prefix: &str,
    sink: &mut dyn Sink<DataObject>,
) -> Result<u64, Error> {
    let mut count = 0u64;
    let db = quote_ident(database);
    // Schemas.
    let mut rows = client.query(&schemata_statement(&db), &[]).await?;
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            let (Some(catalog), Some(schema)) = (row.get(0), row.get(1)) else {
                continue;
            };
            let full_name = format!("{catalog}.{schema}");
            if scope.schema_excluded(catalog, schema) || !scope.handles(&full_name) {
                continue;
            }
            sink.push(object(
                &full_name,
                schema,
                &format!("{prefix}schema"),
                row.get(2),
                catalog,
                tags,
            ))
            .await?;
            count += 1;
        }
    }
    // Functions and procedures, not in shared databases.
    if prefix.is_empty() {
        for (statement, kind) in [
            (
                format!(
                    "SHOW FUNCTIONS IN DATABASE {} LIMIT 10000",
                    quote_ident(database)
                ),
                "function",
            ),
            (
                format!(
                    "SHOW PROCEDURES IN DATABASE {} LIMIT 10000",
                    quote_ident(database)
                ),
                "procedure",
            ),
        ] {
            count += read_routines(client, scope, tags, &statement, kind, sink).await?;
        }
    }
    // Tables, views and the other tabular kinds.
    let mut rows = client.query(&tables_statement(&db), &[]).await?;
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            let (Some(catalog), Some(schema), Some(table)) = (row.get(0), row.get(1), row.get(2))
            else {
                continue;
            };
            let kind = table_type(row.get(3).unwrap_or_default(), row.get(5) == Some("YES"));
            if kind.is_empty() {
                return Err(Error::Operation {
                    connector: super::NAME,
                    operation: format!("reading the tables of database {database:?}"),
                    source: format!("table {catalog}.{schema}.{table} has no type").into(),
                });
            }
            let parent = format!("{catalog}.{schema}");
            let full_name = format!("{parent}.{table}");
            if scope.schema_excluded(catalog, schema) || !scope.handles(&full_name) {
                continue;
            }
            sink.push(object(
                &full_name,
                table,
                &format!("{prefix}{kind}"),
                row.get(4),
                &parent,
                tags,
            ))
            .await?;
            count += 1;
        }
    }
    // Columns.
    if !config.skip_columns {
        let mut rows = client
            .query(
                &format!(
                    "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, \
                     COMMENT FROM {db}.INFORMATION_SCHEMA.COLUMNS"
                ),
                &[],
            )
            .await?;
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let (Some(catalog), Some(schema), Some(table), Some(column)) =
                    (row.get(0), row.get(1), row.get(2), row.get(3))
                else {
                    continue;
                };
                let parent = format!("{catalog}.{schema}.{table}");
                let full_name = format!("{parent}.{column}");
                if scope.schema_excluded(catalog, schema) || !scope.handles(&full_name) {
                    continue;
                }
                let mut object = object(
                    &full_name,
                    column,
                    &format!("{prefix}{}", object_type::COLUMN),
                    row.get(5),
                    &parent,
                    tags,
                );
                object.data_type = Some(row.get(4).unwrap_or_default().to_owned());
                sink.push(object).await?;
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Functions or procedures (`SHOW FUNCTIONS|PROCEDURES IN DATABASE`), built-in ones left out.
async fn read_routines(
    client: &Client,
    scope: &Scope<'_>,
    tags: &Tags,
    statement: &str,
    kind: &str,
    sink: &mut dyn Sink<DataObject>,
) -> Result<u64, Error> {
    let mut count = 0u64;
    let mut rows: Rows<'_> = client.query(statement, &[]).await?;
    let (catalog, schema, name, description, arguments, builtin) = (
        rows.column("catalog_name")?,
        rows.column("schema_name")?,
        rows.column("name")?,
        rows.column("description")?,
        rows.column("arguments")?,
        rows.column("is_builtin")?,
    );
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            if row.get(builtin) == Some("Y") {
                continue;
            }
            let (Some(database), Some(schema), Some(name)) =
                (row.get(catalog), row.get(schema), row.get(name))
            else {
                continue;
            };
            let signature =
                argument_signature(row.get(arguments).unwrap_or_default()).ok_or_else(|| {
                    Error::Operation {
                        connector: super::NAME,
                        operation: format!("reading the {kind}s of database {database:?}"),
                        source: format!(
                            "the signature of {database}.{schema}.{name} has no argument list"
                        )
                        .into(),
                    }
                })?;
            // data_source.go createDataObjectForFunction: only the full schema name excludes.
            let parent = format!("{database}.{schema}");
            let full_name = format!("{parent}.\"{name}\"");
            if scope.excluded_schemas.contains(parent.as_str()) || !scope.handles(&full_name) {
                continue;
            }
            count += 1;
            sink.push(DataObject {
                external_id: format!("{full_name}{signature}"),
                name: format!("{name}{signature}"),
                full_name: format!("{full_name}{signature}"),
                r#type: kind.to_owned(),
                description: row.get(description).unwrap_or_default().to_owned(),
                parent_external_id: parent,
                tags: tags.of(&full_name),
                data_type: None,
            })
            .await?;
        }
    }
    Ok(count)
}

/// The argument list of a `SHOW FUNCTIONS` signature: `SUM3(NUMBER, NUMBER) RETURN NUMBER` →
/// `(NUMBER, NUMBER)`, parentheses matched (repository.go
/// `parseFunctionOrProcedureSignature`).
fn argument_signature(arguments: &str) -> Option<&str> {
    let open = arguments.find('(')?;
    let mut depth = 0usize;
    for (i, c) in arguments[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&arguments[open..=open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The Raito type of an INFORMATION_SCHEMA table type (type_mapping.go
/// `convertSnowflakeTableTypeToRaito`).
fn table_type(table_type: &str, iceberg: bool) -> String {
    match table_type {
        "BASE TABLE" if iceberg => "iceberg-table".to_owned(),
        "BASE TABLE" => object_type::TABLE.to_owned(),
        "VIEW" => object_type::VIEW.to_owned(),
        "MATERIALIZED VIEW" => "materialized-view".to_owned(),
        "EXTERNAL TABLE" => "external-table".to_owned(),
        other => other.to_lowercase(),
    }
}

/// Rows of a SHOW command as (name, comment).
async fn named(client: &Client, statement: &str) -> Result<Vec<(String, Option<String>)>, Error> {
    let mut rows = client.query(statement, &[]).await?;
    let (name, comment) = (rows.column("name")?, rows.column("comment")?);
    let mut all = Vec::new();
    while let Some(batch) = rows.next_batch().await? {
        for row in batch {
            if let Some(n) = row.get(name).filter(|n| !n.is_empty()) {
                all.push((n.to_owned(), row.get(comment).map(str::to_owned)));
            }
        }
    }
    Ok(all)
}

fn top_level(name: &str, kind: &str, comment: Option<String>, tags: &Tags) -> DataObject {
    DataObject {
        external_id: name.to_owned(),
        name: name.to_owned(),
        full_name: name.to_owned(),
        r#type: kind.to_owned(),
        description: comment.unwrap_or_default(),
        parent_external_id: String::new(),
        tags: tags.of(name),
        data_type: None,
    }
}

fn object(
    full_name: &str,
    name: &str,
    kind: &str,
    comment: Option<&str>,
    parent: &str,
    tags: &Tags,
) -> DataObject {
    DataObject {
        external_id: full_name.to_owned(),
        name: name.to_owned(),
        full_name: full_name.to_owned(),
        r#type: kind.to_owned(),
        description: comment.unwrap_or_default().to_owned(),
        parent_external_id: parent.to_owned(),
        tags: tags.of(full_name),
        data_type: None,
    }
}

/// The tags of the account's objects, by full name (models.go `TagEntity.GetFullName`).
#[derive(Default)]
struct Tags(HashMap<String, Vec<Tag>>);

impl Tags {
    async fn read(client: &Client) -> Result<Self, Error> {
        let mut rows = client
            .query(
                "SELECT COLUMN_NAME, OBJECT_DATABASE, OBJECT_SCHEMA, OBJECT_NAME, DOMAIN, \
                 TAG_NAME, TAG_VALUE FROM SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES \
                 WHERE OBJECT_DELETED IS NULL",
                &[],
            )
            .await?;
        let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let (database, schema, name) =
                    (row.get(1), row.get(2), row.get(3).unwrap_or_default());
                let full_name = match row.get(4).unwrap_or_default().to_ascii_uppercase().as_str() {
                    "DATABASE" | "ROLE" | "WAREHOUSE" | "USER" | "INTEGRATION" => {
                        Some(name.to_owned())
                    }
                    "SCHEMA" => database.map(|d| format!("{d}.{name}")),
                    "TABLE" | "FUNCTION" => {
                        database.zip(schema).map(|(d, s)| format!("{d}.{s}.{name}"))
                    }
                    "COLUMN" => match (database, schema, row.get(0)) {
                        (Some(d), Some(s), Some(c)) => Some(format!("{d}.{s}.{name}.{c}")),
                        _ => None,
                    },
                    "DATABASE_ROLE" => database.map(|d| format!("{d}.{name}")),
                    _ => None,
                };
                let Some(full_name) = full_name else {
                    continue;
                };
                tags.entry(full_name).or_default().push(Tag {
                    key: row.get(5).unwrap_or_default().to_owned(),
                    value: row.get(6).unwrap_or_default().to_owned(),
                    source: TAG_SOURCE.to_owned(),
                });
            }
        }
        Ok(Self(tags))
    }

    fn of(&self, full_name: &str) -> Vec<Tag> {
        self.0.get(full_name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_keep_the_argument_list_only() {
        assert_eq!(
            argument_signature("SUM3(NUMBER, NUMBER, NUMBER) RETURN NUMBER"),
            Some("(NUMBER, NUMBER, NUMBER)")
        );
        assert_eq!(
            argument_signature("F(ARRAY(NUMBER), VARCHAR) RETURN TABLE (A NUMBER)"),
            Some("(ARRAY(NUMBER), VARCHAR)")
        );
        assert_eq!(argument_signature("NOARGS() RETURN NUMBER"), Some("()"));
        assert_eq!(argument_signature("BROKEN"), None);
    }

    #[test]
    fn table_types_map_as_the_go_connector_maps_them() {
        assert_eq!(table_type("BASE TABLE", false), "table");
        assert_eq!(table_type("BASE TABLE", true), "iceberg-table");
        assert_eq!(table_type("VIEW", false), "view");
        assert_eq!(table_type("MATERIALIZED VIEW", false), "materialized-view");
        assert_eq!(table_type("EXTERNAL TABLE", false), "external-table");
        assert_eq!(table_type("EVENT TABLE", false), "event table");
    }

    #[test]
    fn a_partial_sync_follows_the_go_prefix_rules() {
        let excludes = vec!["STAGING".to_owned()];
        let scope = Scope {
            start_from: "SALES",
            excludes: &excludes,
            excluded_databases: HashSet::new(),
            excluded_schemas: HashSet::new(),
        };
        assert!(!scope.handles("SALES"), "the parent itself is not pushed");
        assert!(scope.handles("SALES.PUBLIC"));
        assert!(!scope.handles("SALES.STAGING.T"));
        assert!(!scope.handles("HR.PUBLIC"));
        assert!(scope.goes_into("SALES") && scope.goes_into("SALES.PUBLIC"));
        assert!(!scope.goes_into("HR"));
    }
}
