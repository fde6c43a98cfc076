//! The PostgreSQL data source sync: databases, schemas, relations and columns, read from the
//! catalog inside a read-only, repeatable-read transaction per database, so each database is
//! one consistent snapshot. Memory stays flat: schemas, then relations, then columns stream in
//! as the server writes them (no cursor round trips; the driver reads only as fast as rows are
//! taken).

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use tracing::Instrument;

use super::config::Config;
use super::{NAME, client, naming};
use crate::connector::{Error, Sink};
use crate::model::data_source::{
    AccessProviderType, DataObject, DataObjectType, DataObjectTypePermission, DataSourceMetaData,
    UsageLevel, UsageMetaInfo, feature, object_type,
};

/// Data object type of materialized views (a PostgreSQL-specific type; a kind of view).
pub const MATERIALIZED_VIEW: &str = "materialized-view";
/// Data object type of foreign tables (a PostgreSQL-specific type; a kind of table).
pub const FOREIGN_TABLE: &str = "foreign-table";

/// Databases the configured user may connect to, in name order: connectable, not a template,
/// not being dropped (`datconnlimit = -2` marks an invalid database, PostgreSQL 15.4 and
/// later), `CONNECT` for `pg-user`, not excluded by `$1`; `$2`, when not null, only that one.
pub(crate) const LIST_DATABASES: &str = "\
SELECT datname, coalesce(pg_catalog.shobj_description(oid, 'pg_database'::pg_catalog.name), '')
FROM pg_database
WHERE datallowconn AND NOT datistemplate AND datconnlimit <> -2
  AND pg_catalog.has_database_privilege(datname, 'CONNECT')
  AND NOT (datname = ANY($1::text[]))
  AND ($2::text IS NULL OR datname = $2)
ORDER BY datname COLLATE \"C\"";

/// Relations, ordered so that every parent comes before its children: a partition comes
/// after the table it belongs to (ordered by its number of partition ancestors, which grows
/// down every chain; `pg_partition_ancestors` is called for partitions only). A partition
/// whose table is not listed (its schema excluded) hangs under its own schema. `$2`, when not
/// null, limits the rows (not the parents) to one schema, for a partial sync. No recursive
/// query: on 50,000 relations the partition tree as a recursive CTE took 0.6 s, this 0.1 s.
/// Columns come from [`LIST_COLUMNS`], after every relation: sorting every column row of the
/// catalog (wide rows, spilled to disk on a large one) cost more than the rest of the query
/// together, and reading them per batch of relations by index more than one plain join
/// (issue 17).
const LIST_RELATIONS: &str = concat!(
    "SELECT n.nspname, c.relname, c.relkind::text,
       pn.nspname, pc.relname,
       coalesce(rd.description, '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN (pg_class pc JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    AND ",
    schema_filter!("pn", "$1"),
    ")
  ON pc.oid = i.inhparent AND pc.relkind IN ('r', 'p', 'v', 'm', 'f')
-- Descriptions by join, not by obj_description() per row (a function call with its own
-- catalog lookup): what obj_description(oid, 'pg_class') reads.
LEFT JOIN pg_description rd ON rd.objoid = c.oid
  AND rd.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rd.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ($2::text IS NULL OR n.nspname = $2) AND ",
    schema_filter!("n", "$1"),
    "
ORDER BY CASE WHEN c.relispartition
         THEN (SELECT pg_catalog.count(*) FROM pg_catalog.pg_partition_ancestors(c.oid))
         ELSE 0 END,
         n.nspname COLLATE \"C\", c.relname COLLATE \"C\""
);

/// The columns of exactly the relations of [`LIST_RELATIONS`] (same kinds, same schema
/// filter), in no particular order: every relation is out before the first column, so each
/// column's parent comes first whatever the order. One plain join, as the bench's floor. The
/// Go CLI asks no more of the order: its exporter writes objects as the plugin hands them
/// (raito-io/cli base/data_source/exporter.go, `AddDataObjects`), and external ids and
/// parents are as before.
const LIST_COLUMNS: &str = concat!(
    "SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       coalesce(cd.description, '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_description cd ON cd.objoid = c.oid
  AND cd.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND cd.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ($2::text IS NULL OR n.nspname = $2) AND ",
    schema_filter!("n", "$1")
);

/// Schemas in name order (`$2`, when not null, selects one).
const LIST_SCHEMAS: &str = concat!(
    "SELECT n.nspname, coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'::pg_catalog.name), '')
FROM pg_namespace n
WHERE ($2::text IS NULL OR n.nspname = $2) AND ",
    schema_filter!("n", "$1"),
    "
ORDER BY n.nspname COLLATE \"C\""
);

/// The data source metadata: object types, which contains which, and PostgreSQL's
/// privileges on each with the global permission (read, write, admin) they belong to.
pub fn data_source_metadata() -> DataSourceMetaData {
    let table_privileges = || {
        vec![
            permission("SELECT", &["read"], "Read rows", &["read"]),
            permission("INSERT", &["write"], "Add rows", &["write"]),
            permission("UPDATE", &["write"], "Change rows", &["write"]),
            permission("DELETE", &["write"], "Remove rows", &["write"]),
            permission("TRUNCATE", &["admin"], "Empty the table", &["write"]),
            permission(
                "REFERENCES",
                &["admin"],
                "Create foreign keys that reference it",
                &[],
            ),
            permission("TRIGGER", &["admin"], "Create triggers on it", &[]),
        ]
    };
    let relation_children = vec![object_type::COLUMN.to_owned()];
    DataSourceMetaData {
        r#type: NAME.to_owned(),
        icon: NAME.to_owned(),
        supports_ap_inheritance: true,
        // Row filters become row-level-security policies (see `access::apply`).
        supported_features: vec![feature::ROW_FILTERING.to_owned()],
        data_object_types: vec![
            data_object_type(
                object_type::DATASOURCE,
                object_type::DATASOURCE,
                "PostgreSQL server",
                Vec::new(),
                &[object_type::DATABASE],
            ),
            data_object_type(
                object_type::DATABASE,
                object_type::DATABASE,
                "Database",
                vec![
                    permission("CONNECT", &["read"], "Connect to the database", &[]),
                    permission(
                        "TEMPORARY",
                        &["write"],
                        "Create temporary tables while connected",
                        &[],
                    ),
                    permission("CREATE", &["admin"], "Create schemas in the database", &[]),
                ],
                &[object_type::SCHEMA],
            ),
            data_object_type(
                object_type::SCHEMA,
                object_type::SCHEMA,
                "Schema",
                vec![
                    permission("USAGE", &["read"], "Look up objects in the schema", &[]),
                    permission("CREATE", &["admin"], "Create objects in the schema", &[]),
                ],
                &[
                    object_type::TABLE,
                    object_type::VIEW,
                    MATERIALIZED_VIEW,
                    FOREIGN_TABLE,
                ],
            ),
            DataObjectType {
                // A partitioned table contains its partitions, which are tables too.
                children: vec![
                    object_type::COLUMN.to_owned(),
                    object_type::TABLE.to_owned(),
                ],
                ..data_object_type(
                    object_type::TABLE,
                    object_type::TABLE,
                    "Table",
                    table_privileges(),
                    &[],
                )
            },
            DataObjectType {
                children: relation_children.clone(),
                ..data_object_type(
                    object_type::VIEW,
                    object_type::VIEW,
                    "View",
                    table_privileges(),
                    &[],
                )
            },
            DataObjectType {
                children: relation_children.clone(),
                ..data_object_type(
                    MATERIALIZED_VIEW,
                    object_type::VIEW,
                    "Materialized view",
                    vec![permission("SELECT", &["read"], "Read rows", &["read"])],
                    &[],
                )
            },
            DataObjectType {
                children: relation_children,
                ..data_object_type(
                    FOREIGN_TABLE,
                    object_type::TABLE,
                    "Foreign table",
                    table_privileges(),
                    &[],
                )
            },
            data_object_type(
                object_type::COLUMN,
                object_type::COLUMN,
                "Column",
                vec![
                    permission("SELECT", &["read"], "Read the column", &["read"]),
                    permission(
                        "INSERT",
                        &["write"],
                        "Set the column in new rows",
                        &["write"],
                    ),
                    permission("UPDATE", &["write"], "Change the column", &["write"]),
                    permission(
                        "REFERENCES",
                        &["admin"],
                        "Create foreign keys that reference the column",
                        &[],
                    ),
                ],
                &[],
            ),
        ],
        usage_meta_info: Some(UsageMetaInfo {
            default_level: object_type::TABLE.to_owned(),
            levels: vec![
                UsageLevel {
                    name: object_type::TABLE.to_owned(),
                    data_object_types: [
                        object_type::TABLE,
                        object_type::VIEW,
                        MATERIALIZED_VIEW,
                        FOREIGN_TABLE,
                    ]
                    .map(str::to_owned)
                    .to_vec(),
                },
                UsageLevel {
                    name: object_type::SCHEMA.to_owned(),
                    data_object_types: vec![object_type::SCHEMA.to_owned()],
                },
                UsageLevel {
                    name: object_type::DATABASE.to_owned(),
                    data_object_types: vec![object_type::DATABASE.to_owned()],
                },
            ],
        }),
        access_provider_types: vec![AccessProviderType {
            r#type: "role".to_owned(),
            label: "Role".to_owned(),
            is_named_entity: true,
            can_be_created: true,
            can_be_assumed: true,
            can_assume_multiple: true,
            allowed_who_access_provider_types: vec!["role".to_owned()],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn data_object_type(
    name: &str,
    base_type: &str,
    label: &str,
    permissions: Vec<DataObjectTypePermission>,
    children: &[&str],
) -> DataObjectType {
    DataObjectType {
        name: name.to_owned(),
        r#type: base_type.to_owned(),
        label: label.to_owned(),
        permissions,
        children: children.iter().map(|c| (*c).to_owned()).collect(),
        ..Default::default()
    }
}

fn permission(
    name: &str,
    global: &[&str],
    description: &str,
    usage: &[&str],
) -> DataObjectTypePermission {
    DataObjectTypePermission {
        permission: name.to_owned(),
        global_permissions: global.iter().map(|p| (*p).to_owned()).collect(),
        description: description.to_owned(),
        usage_global_permissions: usage.iter().map(|p| (*p).to_owned()).collect(),
        ..Default::default()
    }
}

/// Which part of the data source a sync covers: everything, or the objects below one object
/// (a partial sync), minus excluded subtrees. An object is in scope by its full-name path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    parent: Vec<String>,
    excludes: Vec<Vec<String>>,
}

impl Scope {
    /// The whole data source.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The objects strictly below `parent` (a full name), except those under `excludes`.
    /// An exclude that does not start with the parent is read relative to it, as the Raito
    /// CLI's connectors read `dataObjectExcludes`.
    pub fn below(parent: &str, excludes: &[String]) -> Result<Self, naming::ParseError> {
        let parent = naming::parse(parent)?;
        let excludes = excludes
            .iter()
            .map(|exclude| {
                let exclude = naming::parse(exclude)?;
                Ok(if exclude.starts_with(&parent) {
                    exclude
                } else {
                    parent.iter().cloned().chain(exclude).collect()
                })
            })
            .collect::<Result<_, naming::ParseError>>()?;
        Ok(Self { parent, excludes })
    }

    /// Whether the object at `path` is written.
    pub fn includes(&self, path: &[&str]) -> bool {
        path.len() > self.parent.len()
            && starts_with(path, &self.parent)
            && !self.excludes.iter().any(|e| starts_with(path, e))
    }

    /// Whether the object at `path` or anything below it may be written.
    fn reaches(&self, path: &[&str]) -> bool {
        path.iter().zip(&self.parent).all(|(a, b)| *a == b.as_str())
            && !self.excludes.iter().any(|e| starts_with(path, e))
    }

    fn level(&self, depth: usize) -> Option<&str> {
        self.parent.get(depth).map(String::as_str)
    }
}

fn starts_with(path: &[&str], prefix: &[String]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| *a == b.as_str())
}

/// Pushes the databases, schemas, relations and columns in `scope` into `sink`, parents
/// first.
pub async fn sync(
    config: &Config,
    scope: &Scope,
    sink: &mut dyn Sink<DataObject>,
) -> Result<(), Error> {
    let (databases, listing) = list_databases(config, scope.level(0)).await?;
    tracing::info!(databases = databases.len(), "listed databases");
    // The listing's connection serves `pg-database` too: one connection (and TLS handshake)
    // less for the usual single database.
    let mut listing = Some(listing);
    for (database, description) in databases {
        if !scope.reaches(&[&database]) {
            continue;
        }
        let span = tracing::info_span!("database", database = %database);
        let reuse = if database == config.database {
            listing.take()
        } else {
            None
        };
        sync_database(config, scope, &database, description, reuse, sink)
            .instrument(span)
            .await?;
    }
    Ok(())
}

/// The databases to sync with their descriptions (a short list, read whole), and the
/// connection to `pg-database` that listed them.
async fn list_databases(
    config: &Config,
    only: Option<&str>,
) -> Result<(Vec<(String, String)>, Client), Error> {
    let client = client::connect(config, &config.database).await?;
    crate::metrics::sent(1, 1);
    let rows = client
        .query(LIST_DATABASES, &[&config.excluded_databases, &only])
        .await
        .map_err(|e| client::classify(e, &config.endpoint(), "listing databases"))?;
    let databases = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    Ok((databases, client))
}

/// Syncs one database, over `connected` when it is a connection to it.
async fn sync_database(
    config: &Config,
    scope: &Scope,
    database: &str,
    description: String,
    connected: Option<Client>,
    sink: &mut dyn Sink<DataObject>,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let mut client = match connected {
        Some(client) => client,
        None => client::connect(config, database).await?,
    };
    let endpoint = format!("{} (database {database:?})", config.endpoint());
    let fail = |operation: &str| {
        let operation = operation.to_owned();
        let endpoint = endpoint.clone();
        move |e| client::classify(e, &endpoint, &operation)
    };
    let transaction = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(fail("starting a read-only transaction"))?;

    let mut count = 0u64;
    let database_name = naming::component(database);
    if scope.includes(&[database]) {
        sink.push(DataObject {
            external_id: database_name.clone(),
            name: database.to_owned(),
            full_name: database_name.clone(),
            r#type: object_type::DATABASE.to_owned(),
            description,
            ..Default::default()
        })
        .await?;
        count += 1;
    }

    let excluded: Vec<String> = config.excluded_schemas_in(database);
    let only_schema = scope.level(1);
    let params: [&(dyn ToSql + Sync); 2] = [&excluded, &only_schema];

    let mut schemas = client::RowBatches::query(&transaction, LIST_SCHEMAS, &params)
        .await
        .map_err(fail("listing schemas"))?;
    while let Some(rows) = schemas
        .next_batch()
        .await
        .map_err(fail("listing schemas"))?
    {
        for row in &rows {
            let schema: String = row.get(0);
            if !scope.includes(&[database, &schema]) {
                continue;
            }
            let full_name = format!("{database_name}.{}", naming::component(&schema));
            sink.push(DataObject {
                external_id: full_name.clone(),
                full_name,
                name: schema,
                r#type: object_type::SCHEMA.to_owned(),
                description: row.get(1),
                parent_external_id: database_name.clone(),
                ..Default::default()
            })
            .await?;
            count += 1;
        }
    }

    // Every relation, then every column: both streamed as the server writes them.
    let mut relations = client::RowBatches::query(&transaction, LIST_RELATIONS, &params)
        .await
        .map_err(fail("listing tables"))?;
    while let Some(rows) = relations
        .next_batch()
        .await
        .map_err(fail("listing tables"))?
    {
        for row in &rows {
            let schema: String = row.get(0);
            let relation: String = row.get(1);
            if !scope.includes(&[database, &schema, &relation]) {
                continue;
            }
            let schema_name = format!("{database_name}.{}", naming::component(&schema));
            let relation_name = format!("{schema_name}.{}", naming::component(&relation));
            let kind: String = row.get(2);
            let parent = match (
                row.get::<_, Option<String>>(3),
                row.get::<_, Option<String>>(4),
            ) {
                (Some(parent_schema), Some(parent_table)) => {
                    naming::full_name([database, parent_schema.as_str(), parent_table.as_str()])
                }
                _ => schema_name,
            };
            sink.push(DataObject {
                external_id: relation_name.clone(),
                full_name: relation_name,
                name: relation,
                r#type: relation_type(&kind).to_owned(),
                description: row.get(5),
                parent_external_id: parent,
                ..Default::default()
            })
            .await?;
            count += 1;
        }
    }
    let (mut last, mut relation_name) = ((String::new(), String::new()), String::new());
    let mut columns = client::RowBatches::query(&transaction, LIST_COLUMNS, &params)
        .await
        .map_err(fail("listing columns"))?;
    while let Some(rows) = columns
        .next_batch()
        .await
        .map_err(fail("listing columns"))?
    {
        for row in &rows {
            let schema: &str = row.get(0);
            let relation: &str = row.get(1);
            let column: &str = row.get(2);
            if !scope.includes(&[database, schema, relation, column]) {
                continue;
            }
            // A relation's columns mostly come one after another: its name is built once.
            if (schema, relation) != (last.0.as_str(), last.1.as_str()) {
                last = (schema.to_owned(), relation.to_owned());
                relation_name = format!(
                    "{database_name}.{}.{}",
                    naming::component(schema),
                    naming::component(relation)
                );
            }
            let full_name = format!("{relation_name}.{}", naming::component(column));
            sink.push(DataObject {
                external_id: full_name.clone(),
                full_name,
                name: column.to_owned(),
                r#type: object_type::COLUMN.to_owned(),
                description: row.get(4),
                parent_external_id: relation_name.clone(),
                data_type: row.get(3),
                ..Default::default()
            })
            .await?;
            count += 1;
        }
    }
    transaction
        .commit()
        .await
        .map_err(fail("ending the read-only transaction"))?;
    tracing::info!(
        objects = count,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "synced database"
    );
    Ok(())
}

/// The data object type of a `pg_class.relkind`.
pub(crate) fn relation_type(relkind: &str) -> &'static str {
    match relkind {
        "v" => object_type::VIEW,
        "m" => MATERIALIZED_VIEW,
        "f" => FOREIGN_TABLE,
        // "r" (table) and "p" (partitioned table); the query selects nothing else.
        _ => object_type::TABLE,
    }
}
