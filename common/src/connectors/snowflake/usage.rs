//! The usage sync: who ran what, from `SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY` joined with
//! `ACCESS_HISTORY` (the objects each statement read, wrote or changed), mapped as the Go
//! connector maps them (raito-io/cli-plugin-snowflake snowflake/data_usage.go
//! `usageQueryResultToStatement`, repository.go `GetDataUsage`).
//!
//! Reading, unlike the Go connector's:
//! - **Keyset pages that lose nothing.** A page is `START_TIME >= from ORDER BY START_TIME LIMIT
//!   sf-usage-batch-size`. Go continues from `START_TIME > last`, so the statements of the last
//!   instant that did not fit are lost. Here a full page's last second is read again as the
//!   start of the next page (a second that alone fills a page is read whole, without a limit),
//!   so every statement is pushed once, whole seconds at a time, as the
//!   [`UsageRequest`](crate::connector::UsageRequest) contract asks.
//! - **The latency respected.** `ACCESS_HISTORY` lags up to 3 hours behind the queries
//!   (`QUERY_HISTORY` up to 45 minutes). A statement read before its access row exists would
//!   go to Raito without its objects and never be read again, so only statements that started
//!   more than [`HORIZON`] ago are read; the newer ones come with a later run.
//! - The outer select is ordered too (a join keeps no order).
//!
//! Standard Edition (`sf-standard-edition`) has no `ACCESS_HISTORY`; there the Go connector
//! fails. Here `QUERY_HISTORY` is read alone (its latency is 45 minutes) and each statement's
//! objects are found in its text, parsed with sqlparser's Snowflake dialect
//! ([`crate::usage_sql`], shared with PostgreSQL's usage sync): names are completed with the
//! statement's session database and schema (`DATABASE_NAME`, `SCHEMA_NAME`) and kept only when
//! they name a table, view or schema of that database's INFORMATION_SCHEMA (read once per
//! database and run). A text that does not parse keeps its statement, without objects, its
//! `error` saying so ([`UNPARSED`]).

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use std::collections::HashMap;

use super::cell::Cell;
use super::client::{Bind, Client, Row, Rows, quote_ident};
use super::config::Config;
use super::metadata::{schemata_statement, tables_statement};
use crate::connector::{Error, Sink, UsageRequest};
use crate::model::access::DataObjectReference;
use crate::model::usage::{AccessedDataObject, Statement, UNPARSED, UsageGlobalPermission};
use crate::usage_sql::{AnalysisCache, Dialect, NameKind};

/// How far behind now the sync reads: `ACCESS_HISTORY`'s documented latency.
pub const HORIZON: Duration = Duration::from_secs(3 * 60 * 60);

/// How far behind now a Standard Edition account is read: `QUERY_HISTORY`'s latency.
pub const STANDARD_HORIZON: Duration = Duration::from_secs(45 * 60);

/// The LIMIT of a statement that reads one second whole (a second with more statements than a
/// page holds).
const WHOLE_SECOND_LIMIT: i64 = 1_000_000_000;

const NANOS: i128 = 1_000_000_000;

/// The columns read, in this order (the Go connector's, less those it never maps).
const COLUMNS: [&str; 14] = [
    "QUERY_ID",
    "QUERY_TEXT",
    "USER_NAME",
    "ROLE_NAME",
    "EXECUTION_STATUS",
    "START_TIME",
    "END_TIME",
    "BYTES_WRITTEN_TO_RESULT",
    "ROWS_PRODUCED",
    "CREDITS_USED_CLOUD_SERVICES",
    "DIRECT_OBJECTS_ACCESSED",
    "BASE_OBJECTS_ACCESSED",
    "OBJECTS_MODIFIED",
    "OBJECT_MODIFIED_BY_DDL",
];

/// The statement of one page: statements that started in `[from, to)` (two `TIMESTAMP_LTZ`
/// bindings), but those of `excluded` users (that many `TEXT` bindings), at most `LIMIT`
/// (a `FIXED` binding), with their access rows; on Standard Edition with their session's
/// database and schema instead.
fn page_statement(excluded: usize, standard_edition: bool) -> String {
    let history = &COLUMNS[..10];
    let excludes = if excluded == 0 {
        String::new()
    } else {
        format!(" AND USER_NAME NOT IN ({})", vec!["?"; excluded].join(", "))
    };
    if standard_edition {
        return format!(
            "SELECT {}, DATABASE_NAME, SCHEMA_NAME FROM \"SNOWFLAKE\".\"ACCOUNT_USAGE\".\
             \"QUERY_HISTORY\" WHERE START_TIME >= ? AND START_TIME < ?{excludes} ORDER BY \
             START_TIME LIMIT ?",
            history.join(", ")
        );
    }
    let outer: Vec<String> = history
        .iter()
        .map(|column| format!("history.{column}"))
        .chain(COLUMNS[10..].iter().map(|c| format!("ACCESS_HISTORY.{c}")))
        .collect();
    format!(
        "WITH history AS (SELECT {} FROM \"SNOWFLAKE\".\"ACCOUNT_USAGE\".\"QUERY_HISTORY\" \
         WHERE START_TIME >= ? AND START_TIME < ?{excludes} ORDER BY START_TIME LIMIT ?) \
         SELECT {} FROM history LEFT JOIN \"SNOWFLAKE\".\"ACCOUNT_USAGE\".\"ACCESS_HISTORY\" \
         ON history.QUERY_ID = ACCESS_HISTORY.QUERY_ID ORDER BY history.START_TIME, \
         history.QUERY_ID",
        history.join(", "),
        outer.join(", ")
    )
}

/// Pushes the statements `request` asks for, oldest first.
pub async fn sync(
    config: &Config,
    client: &Client,
    request: &UsageRequest,
    sink: &mut dyn Sink<Statement>,
) -> Result<(), Error> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    // The Go connector's window: midnight UTC, sf-data-usage-window days ago.
    let window_start = now - now.rem_euclid(86_400) - i64::from(config.usage_window_days) * 86_400;
    let from = request
        .since
        .map_or(window_start, |since| since.saturating_add(1))
        .max(window_start);
    let horizon = if config.standard_edition {
        STANDARD_HORIZON
    } else {
        HORIZON
    };
    let to = now - horizon.as_secs() as i64;
    let statement = page_statement(config.usage_user_excludes.len(), config.standard_edition);
    let mut reader = Reader {
        client,
        statement: &statement,
        texts: config.standard_edition.then(QueryTexts::default),
        excluded: &config.usage_user_excludes,
        deadline: request.deadline,
        sink,
        pushed: 0,
        last_pushed: None,
        skipped: 0,
    };
    tracing::info!(from, to, "reading Snowflake's query history");
    let mut page_from = from;
    while page_from < to {
        let limit = i64::from(config.usage_batch_size);
        match reader.page(page_from, to, limit).await? {
            Page::Done => break,
            Page::Stopped => {
                tracing::info!(
                    pushed = reader.pushed,
                    last_second = reader.last_pushed,
                    "stopped at the deadline, at a second boundary; the next run goes on"
                );
                return Ok(());
            }
            Page::ContinueFrom(second) if second > page_from => page_from = second,
            // One second fills a page: read it whole, then go on after it.
            Page::ContinueFrom(second) => {
                match reader
                    .page(second, (second + 1).min(to), WHOLE_SECOND_LIMIT)
                    .await?
                {
                    Page::Stopped => return Ok(()),
                    _ => page_from = second + 1,
                }
            }
        }
    }
    let (from_cache, parsed) = reader
        .texts
        .as_ref()
        .map_or((0, 0), |texts| texts.analyses.hits_and_misses());
    tracing::info!(
        pushed = reader.pushed,
        skipped = reader.skipped,
        requests = client.requests(),
        texts_from_cache = from_cache,
        texts_parsed = parsed,
        "read Snowflake's query history"
    );
    Ok(())
}

/// What a page left to do.
enum Page {
    /// The page was not full: nothing more before `to`.
    Done,
    /// The deadline passed (at a second boundary).
    Stopped,
    /// A full page: go on from this second (the page's last, not pushed).
    ContinueFrom(i64),
}

struct Reader<'a> {
    client: &'a Client,
    /// The statement of a page ([`page_statement`]).
    statement: &'a str,
    /// Standard Edition: objects found in the statements' text.
    texts: Option<QueryTexts>,
    excluded: &'a [String],
    deadline: Option<tokio::time::Instant>,
    sink: &'a mut dyn Sink<Statement>,
    pushed: u64,
    last_pushed: Option<i64>,
    skipped: u64,
}

impl Reader<'_> {
    /// Reads the statements of `[from, to)` (seconds), at most `limit`, and pushes them a second
    /// at a time; a full page keeps its last second back.
    async fn page(&mut self, from: i64, to: i64, limit: i64) -> Result<Page, Error> {
        let mut bindings = vec![
            Bind::TimestampLtz(i128::from(from) * NANOS),
            Bind::TimestampLtz(i128::from(to) * NANOS),
        ];
        bindings.extend(self.excluded.iter().map(|user| Bind::Text(user)));
        bindings.push(Bind::Fixed(limit));
        let client = self.client;
        let mut rows = client.query_bound(self.statement, &bindings).await?;
        let columns = Columns::of(&rows, self.texts.is_some())?;
        let mut read = 0_i64;
        // The statements of the second being read, pushed when the next second starts.
        let mut second: Option<(i64, Vec<Statement>)> = None;
        while let Some(batch) = rows.next_batch().await? {
            for row in &batch {
                read += 1;
                let Some(mut statement) = columns.statement(&rows, row)? else {
                    self.skipped += 1;
                    continue;
                };
                if let (Some(texts), Some([database, schema])) = (&mut self.texts, columns.session)
                {
                    texts
                        .attach(client, &mut statement, row.get(database), row.get(schema))
                        .await?;
                }
                let start = statement.start_time;
                if second.as_ref().is_some_and(|(at, _)| *at != start)
                    && let Some((at, held)) = second.take()
                    && self.push_second(at, held).await?
                {
                    return Ok(Page::Stopped);
                }
                second
                    .get_or_insert_with(|| (start, Vec::new()))
                    .1
                    .push(statement);
            }
        }
        tracing::debug!(from, to, read, "a page of the query history");
        match second {
            // Full: the last second may go on past the limit; it is read again.
            Some((at, _)) if read >= limit => Ok(Page::ContinueFrom(at)),
            Some((at, held)) => {
                if self.push_second(at, held).await? {
                    return Ok(Page::Stopped);
                }
                Ok(Page::Done)
            }
            None => Ok(Page::Done),
        }
    }

    /// Pushes one second's statements, unless the deadline passed and something was pushed
    /// already (every run moves on by at least a second); whether the run stops.
    async fn push_second(&mut self, at: i64, statements: Vec<Statement>) -> Result<bool, Error> {
        let past_deadline = self
            .deadline
            .is_some_and(|deadline| tokio::time::Instant::now() >= deadline);
        if past_deadline && self.last_pushed.is_some() {
            return Ok(true);
        }
        for statement in statements {
            self.sink.push(statement).await?;
            self.pushed += 1;
        }
        self.last_pushed = Some(at);
        Ok(false)
    }
}

/// The positions of the columns read: the query history's, then the access history's
/// (Enterprise) or the session's database and schema (Standard).
struct Columns {
    history: [usize; 10],
    access: Option<[usize; 4]>,
    session: Option<[usize; 2]>,
}

impl Columns {
    fn of(rows: &Rows<'_>, standard_edition: bool) -> Result<Self, Error> {
        let mut history = [0; 10];
        for (slot, name) in history.iter_mut().zip(COLUMNS) {
            *slot = rows.column(name)?;
        }
        if standard_edition {
            return Ok(Self {
                history,
                access: None,
                session: Some([rows.column("DATABASE_NAME")?, rows.column("SCHEMA_NAME")?]),
            });
        }
        let mut access = [0; 4];
        for (slot, name) in access.iter_mut().zip(&COLUMNS[10..]) {
            *slot = rows.column(name)?;
        }
        Ok(Self {
            history,
            access: Some(access),
            session: None,
        })
    }

    /// The statement of `row`, mapped as the Go connector maps it; `None` for a row without
    /// its text, user or status (Go skips those too).
    fn statement(&self, rows: &Rows<'_>, row: &Row) -> Result<Option<Statement>, Error> {
        let [
            id,
            text,
            user,
            role,
            status,
            start,
            end,
            bytes,
            produced,
            credits,
        ] = self.history;
        let (Some(query), Some(user), Some(status)) =
            (row.get(text), row.get(user), row.get(status))
        else {
            return Ok(None);
        };
        let seconds = |index: usize| -> Result<i64, Error> {
            match rows.cell(row, index)? {
                Cell::Timestamp(at) => Ok(at.unix_timestamp()),
                _ => Ok(0),
            }
        };
        let whole = |index: usize| -> Result<i64, Error> {
            Ok(rows.cell(row, index)?.as_i64().unwrap_or(0))
        };
        let mut statement = Statement {
            external_id: row.get(id).unwrap_or_default().to_owned(),
            user: user.to_owned(),
            role: row.get(role).unwrap_or_default().to_owned(),
            success: status == "SUCCESS",
            status: status.to_owned(),
            query: query.to_owned(),
            start_time: seconds(start)?,
            end_time: seconds(end)?,
            bytes: whole(bytes)?,
            rows: whole(produced)?,
            credits: match rows.cell(row, credits)? {
                Cell::Number(text) => text.parse().unwrap_or(0.0),
                Cell::Real(value) => value,
                _ => 0.0,
            },
            ..Statement::default()
        };
        let Some([direct, base, modified, ddl]) = self.access else {
            return Ok(Some(statement));
        };
        // Go reads the four columns in this order and, at the first that does not parse,
        // keeps the error and no object at all.
        let mut objects = Vec::new();
        let parsed = accessed(row.get(direct), UsageGlobalPermission::Read, &mut objects)
            .map_err(|e| format!("parse direct objects accessed: {e}"))
            .and_then(|()| {
                accessed(row.get(base), UsageGlobalPermission::Read, &mut objects)
                    .map_err(|e| format!("parse base objects accessed: {e}"))
            })
            .and_then(|()| {
                accessed(
                    row.get(modified),
                    UsageGlobalPermission::Write,
                    &mut objects,
                )
                .map_err(|e| format!("parse objects modified: {e}"))
            })
            .and_then(|()| {
                changed_by_ddl(row.get(ddl), &mut objects)
                    .map_err(|e| format!("parse ddl modified object: {e}"))
            });
        match parsed {
            Ok(()) => statement.accessed_data_objects = objects,
            Err(error) => statement.error = error,
        }
        Ok(Some(statement))
    }
}

/// Standard Edition: the objects of a statement found in its text, resolved against each
/// database's INFORMATION_SCHEMA.
struct QueryTexts {
    analyses: AnalysisCache,
    /// Per database (as Snowflake names it): its schemas and its relations with their type;
    /// `None` when it could not be read (logged once: the sync role may not see it).
    catalogs: HashMap<String, Option<Catalog>>,
}

impl Default for QueryTexts {
    fn default() -> Self {
        Self {
            analyses: AnalysisCache::new(Dialect::Snowflake, AnalysisCache::DEFAULT_CAPACITY),
            catalogs: HashMap::new(),
        }
    }
}

/// A database's schemas, each with its relations: name → the type as ACCESS_HISTORY's
/// lower-cased domain would say it.
#[derive(Default)]
struct Catalog {
    schemas: HashMap<String, HashMap<String, String>>,
}

impl QueryTexts {
    /// Fills `statement`'s objects from its text, its names completed with the session's
    /// `database` and `schema`.
    async fn attach(
        &mut self,
        client: &Client,
        statement: &mut Statement,
        database: Option<&str>,
        schema: Option<&str>,
    ) -> Result<(), Error> {
        let touched = match self.analyses.analyze(&statement.query) {
            Ok(touched) => touched,
            Err(error) => {
                statement.error = format!("{UNPARSED}{error}");
                return Ok(());
            }
        };
        for item in touched.iter() {
            let name: Vec<&str> = item.name.iter().map(String::as_str).collect();
            let full: Option<Vec<&str>> = match (item.kind, name.as_slice()) {
                (NameKind::Relation, [relation]) => {
                    database.zip(schema).map(|(d, s)| vec![d, s, relation])
                }
                (NameKind::Relation, [s, relation]) => database.map(|d| vec![d, s, relation]),
                (NameKind::Relation, [d, s, relation]) => Some(vec![d, s, relation]),
                (NameKind::Schema, [s]) => database.map(|d| vec![d, s]),
                (NameKind::Schema, [d, s]) => Some(vec![d, s]),
                _ => None,
            };
            let Some(full) = full else { continue };
            let Some(catalog) = self.catalog(client, full[0]).await? else {
                continue;
            };
            let r#type = match full.as_slice() {
                [_, s, relation] => catalog
                    .schemas
                    .get(*s)
                    .and_then(|relations| relations.get(*relation))
                    .cloned(),
                [_, s] => catalog
                    .schemas
                    .contains_key(*s)
                    .then(|| "schema".to_owned()),
                _ => None,
            };
            if let Some(r#type) = r#type {
                statement.accessed_data_objects.push(AccessedDataObject {
                    data_object: DataObjectReference {
                        full_name: full.join("."),
                        r#type,
                        ..DataObjectReference::default()
                    },
                    global_permission: item.permission,
                });
            }
        }
        Ok(())
    }

    /// The catalog of `database`, read on first use.
    async fn catalog(
        &mut self,
        client: &Client,
        database: &str,
    ) -> Result<Option<&Catalog>, Error> {
        if !self.catalogs.contains_key(database) {
            let catalog = match read_catalog(client, database).await {
                Ok(catalog) => Some(catalog),
                Err(Error::PermissionDenied { .. }) => {
                    tracing::warn!(
                        database,
                        "cannot read the database's INFORMATION_SCHEMA: its statements keep \
                         no objects"
                    );
                    None
                }
                Err(error) => return Err(error),
            };
            self.catalogs.insert(database.to_owned(), catalog);
        }
        Ok(self.catalogs.get(database).and_then(Option::as_ref))
    }
}

/// The schemas and relations of `database`, from its INFORMATION_SCHEMA.
async fn read_catalog(client: &Client, database: &str) -> Result<Catalog, Error> {
    let db = quote_ident(database);
    let mut catalog = Catalog::default();
    let mut rows = client.query(&schemata_statement(&db), &[]).await?;
    let schema = rows.column("SCHEMA_NAME")?;
    while let Some(batch) = rows.next_batch().await? {
        for name in batch.iter().filter_map(|row| row.get(schema)) {
            catalog.schemas.entry(name.to_owned()).or_default();
        }
    }
    let mut rows = client.query(&tables_statement(&db), &[]).await?;
    let (schema, name, kind) = (
        rows.column("TABLE_SCHEMA")?,
        rows.column("TABLE_NAME")?,
        rows.column("TABLE_TYPE")?,
    );
    while let Some(batch) = rows.next_batch().await? {
        for row in &batch {
            if let (Some(schema), Some(name), Some(kind)) =
                (row.get(schema), row.get(name), row.get(kind))
            {
                // ACCESS_HISTORY's domains, lower-cased: a base table is a `table`.
                let r#type = match kind {
                    "BASE TABLE" => "table".to_owned(),
                    other => other.to_lowercase(),
                };
                catalog
                    .schemas
                    .entry(schema.to_owned())
                    .or_default()
                    .insert(name.to_owned(), r#type);
            }
        }
    }
    Ok(catalog)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessedObject {
    #[serde(default)]
    object_name: String,
    #[serde(default)]
    object_domain: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangedObject {
    #[serde(default)]
    object_name: String,
    #[serde(default)]
    object_domain: String,
    #[serde(default)]
    operation_type: String,
}

/// The objects of an accessed-objects column (a JSON array), each with `permission`: the
/// name without a `$V<n>` version suffix, the domain lower-cased.
fn accessed(
    json: Option<&str>,
    permission: UsageGlobalPermission,
    objects: &mut Vec<AccessedDataObject>,
) -> Result<(), serde_json::Error> {
    let Some(json) = json else {
        return Ok(());
    };
    for object in serde_json::from_str::<Vec<AccessedObject>>(json)? {
        objects.push(AccessedDataObject {
            data_object: DataObjectReference {
                full_name: without_version(&object.object_name).to_owned(),
                r#type: object.object_domain.to_lowercase(),
                ..DataObjectReference::default()
            },
            global_permission: permission,
        });
    }
    Ok(())
}

/// The object a DDL statement changed, as `admin`; a CREATE or a DROP counts against the
/// parent (a table's schema, a schema's database), as in Go (a database's would be the
/// account: none, see below). Go fails
/// to parse an operation type it does not list (GRANT, REVOKE, …: the whole statement loses
/// its objects); here such a statement counts against the object itself, as an ALTER.
fn changed_by_ddl(
    json: Option<&str>,
    objects: &mut Vec<AccessedDataObject>,
) -> Result<(), serde_json::Error> {
    let Some(json) = json else {
        return Ok(());
    };
    let changed: ChangedObject = serde_json::from_str(json)?;
    let mut full_name = changed.object_name.as_str();
    let mut r#type = changed.object_domain.to_lowercase();
    let parent = match r#type.as_str() {
        "table" | "external table" | "view" | "materialized view" => Some("schema"),
        "schema" => Some("database"),
        "database" => Some("account"),
        _ => None,
    };
    let creates_or_drops = matches!(
        changed.operation_type.to_ascii_uppercase().as_str(),
        "CREATE" | "DROP"
    );
    if creates_or_drops {
        match parent {
            // A database's parent is the account, whose name the object does not carry: Go
            // sends an empty full name (`strings.Join` of no parts), which names no data
            // object and which Raito's import refuses; such a statement keeps no object.
            Some(_) if !full_name.contains('.') => return Ok(()),
            Some(parent) => {
                r#type = parent.to_owned();
                full_name = full_name.rsplit_once('.').map_or("", |(parent, _)| parent);
            }
            None => tracing::warn!(
                r#type = %r#type,
                object = %full_name,
                "a DDL statement on an object type without a known parent"
            ),
        }
    }
    objects.push(AccessedDataObject {
        data_object: DataObjectReference {
            full_name: full_name.to_owned(),
            r#type,
            ..DataObjectReference::default()
        },
        global_permission: UsageGlobalPermission::Admin,
    });
    Ok(())
}

/// `DB.S.V$V1` → `DB.S.V` (Go: `\$V\d+$`).
fn without_version(name: &str) -> &str {
    match name.rfind("$V") {
        Some(at) if at + 2 < name.len() && name[at + 2..].bytes().all(|b| b.is_ascii_digit()) => {
            &name[..at]
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(
        json: &str,
        parse: impl Fn(&str, &mut Vec<AccessedDataObject>) -> Result<(), serde_json::Error>,
    ) -> Vec<(String, String, UsageGlobalPermission)> {
        let mut objects = Vec::new();
        parse(json, &mut objects).expect("parses");
        objects
            .into_iter()
            .map(|o| {
                (
                    o.data_object.full_name,
                    o.data_object.r#type,
                    o.global_permission,
                )
            })
            .collect()
    }

    #[test]
    fn accessed_objects_lose_their_version_suffix_and_the_case_of_their_domain() {
        let read = |json: &str, out: &mut Vec<AccessedDataObject>| {
            accessed(Some(json), UsageGlobalPermission::Read, out)
        };
        assert_eq!(
            objects(
                r#"[{"objectDomain":"Table","objectId":1,"objectName":"DB.S.T","columns":[{"columnId":2,"columnName":"C"}]},
                    {"objectDomain":"VIEW","objectName":"SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY$V12"},
                    {"objectDomain":"Materialized view","objectName":"DB.S.M$VX"}]"#,
                read
            ),
            [
                ("DB.S.T".into(), "table".into(), UsageGlobalPermission::Read),
                (
                    "SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY".into(),
                    "view".into(),
                    UsageGlobalPermission::Read
                ),
                (
                    "DB.S.M$VX".into(),
                    "materialized view".into(),
                    UsageGlobalPermission::Read
                ),
            ]
        );
    }

    #[test]
    fn a_create_or_drop_counts_against_the_parent_other_ddl_against_the_object() {
        let ddl = |json: &str, out: &mut Vec<AccessedDataObject>| changed_by_ddl(Some(json), out);
        let admin = UsageGlobalPermission::Admin;
        assert_eq!(
            objects(
                r#"{"objectDomain":"Table","objectName":"DB.S.T","operationType":"CREATE"}"#,
                ddl
            ),
            [("DB.S".into(), "schema".into(), admin)]
        );
        assert_eq!(
            objects(
                r#"{"objectDomain":"Schema","objectName":"DB.S","operationType":"DROP"}"#,
                ddl
            ),
            [("DB".into(), "database".into(), admin)]
        );
        assert!(
            objects(
                r#"{"objectDomain":"Database","objectName":"DB","operationType":"CREATE"}"#,
                ddl
            )
            .is_empty(),
            "the account has no name here: no object"
        );
        assert_eq!(
            objects(
                r#"{"objectDomain":"Table","objectName":"DB.S.T","operationType":"ALTER"}"#,
                ddl
            ),
            [("DB.S.T".into(), "table".into(), admin)]
        );
        assert_eq!(
            objects(
                r#"{"objectDomain":"Function","objectName":"DB.S.F","operationType":"CREATE"}"#,
                ddl
            ),
            [("DB.S.F".into(), "function".into(), admin)],
            "no known parent: the object itself"
        );
    }

    #[test]
    fn the_page_statement_binds_every_value() {
        let statement = page_statement(2, false);
        assert_eq!(statement.matches('?').count(), 5);
        assert!(statement.contains("AND USER_NAME NOT IN (?, ?) ORDER BY START_TIME LIMIT ?)"));
        assert!(!page_statement(0, false).contains("NOT IN"));
        let standard = page_statement(1, true);
        assert!(!standard.contains("ACCESS_HISTORY"));
        assert_eq!(standard.matches('?').count(), 4);
    }
}
