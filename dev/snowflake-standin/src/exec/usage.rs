//! The usage reads of `SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY`, alone or LEFT JOINed to
//! `ACCESS_HISTORY` (grammar in `sql::usage`), as Snowflake compiles and runs them: the
//! SNOWFLAKE database needs IMPORTED PRIVILEGES (`002003` without), ACCESS_HISTORY needs
//! Enterprise Edition (`002003` on Standard), columns are checked (`000904`, `002028`), every
//! `?` must be bound (`002049`), then a warehouse is required (`000606`) and the bindings are
//! read (`100037`).
//!
//! Latency and retention as Snowflake documents them: a query is in QUERY_HISTORY once
//! `Options::query_history_latency` has passed after its end, its ACCESS_HISTORY row once
//! `Options::access_history_latency` has (until then the join gives NULLs), and nothing that
//! started more than 365 days ago is left. The clock is the real one, read when the statement
//! runs.
//!
//! The rows are references into the model, ordered in place (a million queries are 8 MB of
//! references); cells are rendered as the partitions are built.

use std::cmp::Ordering;

use super::{Binding, Output, Session};
use crate::error::SqlError;
use crate::model::{AccessRecord, QueryRecord};
use crate::result::{ColumnType, Kind, decimal, timestamp_nanos};
use crate::sql::{
    AccessJoin, ColumnRef, Comparison, HistoryCondition, Ident, QUERY_HISTORY, Usage, Value,
};

type Spec = &'static [(&'static str, Kind)];

/// The QUERY_HISTORY columns the stand-in models, with Snowflake's types.
const QUERY_HISTORY_COLUMNS: Spec = &[
    ("QUERY_ID", Kind::Text),
    ("QUERY_TEXT", Kind::Text),
    ("DATABASE_NAME", Kind::Text),
    ("SCHEMA_NAME", Kind::Text),
    ("QUERY_TYPE", Kind::Text),
    ("USER_NAME", Kind::Text),
    ("ROLE_NAME", Kind::Text),
    ("WAREHOUSE_NAME", Kind::Text),
    ("EXECUTION_STATUS", Kind::Text),
    ("ERROR_CODE", Kind::Text),
    ("ERROR_MESSAGE", Kind::Text),
    ("START_TIME", Kind::TimestampLtz),
    ("END_TIME", Kind::TimestampLtz),
    ("TOTAL_ELAPSED_TIME", Kind::Fixed),
    ("BYTES_WRITTEN_TO_RESULT", Kind::Fixed),
    ("ROWS_PRODUCED", Kind::Fixed),
    ("CREDITS_USED_CLOUD_SERVICES", Kind::Decimal(9)),
];

/// The ACCESS_HISTORY columns (all of Snowflake's but its newer ones).
const ACCESS_HISTORY_COLUMNS: Spec = &[
    ("QUERY_ID", Kind::Text),
    ("QUERY_START_TIME", Kind::TimestampLtz),
    ("USER_NAME", Kind::Text),
    ("DIRECT_OBJECTS_ACCESSED", Kind::Array),
    ("BASE_OBJECTS_ACCESSED", Kind::Array),
    ("OBJECTS_MODIFIED", Kind::Array),
    ("OBJECT_MODIFIED_BY_DDL", Kind::Object),
    ("POLICIES_REFERENCED", Kind::Array),
    ("PARENT_QUERY_ID", Kind::Text),
    ("ROOT_QUERY_ID", Kind::Text),
];

const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;
/// ACCOUNT_USAGE keeps a year of history.
const RETENTION: i128 = 365 * NANOS_PER_DAY;

/// A column of the result, by the view it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    History(usize),
    Access(usize),
}

impl Source {
    fn kind(self) -> Kind {
        match self {
            Source::History(i) => QUERY_HISTORY_COLUMNS[i].1,
            Source::Access(i) => ACCESS_HISTORY_COLUMNS[i].1,
        }
    }
}

/// A key of the join's ORDER BY.
struct SortKey {
    source: Source,
    descending: bool,
    nulls_first: bool,
}

/// A cell before it is encoded, typed so that it sorts as Snowflake sorts it.
#[derive(Clone, Copy, Debug)]
enum Cell<'a> {
    Text(&'a str),
    Integer(i128),
    Decimal(f64),
    /// Epoch nanoseconds.
    Time(i128),
}

fn compare(
    a: Option<Cell<'_>>,
    b: Option<Cell<'_>>,
    descending: bool,
    nulls_first: bool,
) -> Ordering {
    let order = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => {
            return if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        (Some(_), None) => {
            return if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        (Some(Cell::Text(a)), Some(Cell::Text(b))) => a.cmp(b),
        (Some(Cell::Integer(a) | Cell::Time(a)), Some(Cell::Integer(b) | Cell::Time(b))) => {
            a.cmp(&b)
        }
        (Some(Cell::Decimal(a)), Some(Cell::Decimal(b))) => a.total_cmp(&b),
        // One column holds one type.
        _ => Ordering::Equal,
    };
    if descending { order.reverse() } else { order }
}

/// What decides which rows and cells a reader sees.
#[derive(Clone, Copy)]
struct Visibility {
    now: i128,
    query_history_latency: i128,
    access_history_latency: i128,
}

fn nanos(at: time::OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

impl Visibility {
    fn query(&self, q: &QueryRecord) -> bool {
        nanos(q.end_time) + self.query_history_latency <= self.now
            && nanos(q.start_time) >= self.now - RETENTION
    }

    /// The query's ACCESS_HISTORY row, once it is there.
    fn access<'a>(&self, q: &'a QueryRecord) -> Option<&'a AccessRecord> {
        q.access
            .as_ref()
            .filter(|_| nanos(q.end_time) + self.access_history_latency <= self.now)
    }
}

fn text(s: &str) -> Option<Cell<'_>> {
    (!s.is_empty()).then_some(Cell::Text(s))
}

fn value<'a>(visibility: Visibility, q: &'a QueryRecord, source: Source) -> Option<Cell<'a>> {
    match source {
        Source::History(column) => match column {
            0 => Some(Cell::Text(&q.query_id)),
            1 => Some(Cell::Text(&q.query_text)),
            2 => text(&q.database_name),
            3 => text(&q.schema_name),
            4 => text(&q.query_type),
            5 => Some(Cell::Text(&q.user_name)),
            6 => text(&q.role_name),
            7 => text(&q.warehouse_name),
            8 => Some(Cell::Text(q.execution_status.as_str())),
            9 => text(&q.error_code),
            10 => text(&q.error_message),
            11 => Some(Cell::Time(nanos(q.start_time))),
            12 => Some(Cell::Time(nanos(q.end_time))),
            13 => Some(Cell::Integer(
                ((nanos(q.end_time) - nanos(q.start_time)) / 1_000_000).max(0),
            )),
            14 => Some(Cell::Integer(i128::from(q.bytes_written_to_result))),
            15 => q.rows_produced.map(|n| Cell::Integer(i128::from(n))),
            16 => Some(Cell::Decimal(q.credits_used_cloud_services)),
            _ => None,
        },
        Source::Access(column) => {
            // A query without a (visible) row: the LEFT JOIN's NULLs.
            let access = visibility.access(q)?;
            match column {
                0 => Some(Cell::Text(&q.query_id)),
                1 => Some(Cell::Time(nanos(q.start_time))),
                2 => Some(Cell::Text(&q.user_name)),
                3 => Some(Cell::Text(&access.direct_objects_accessed)),
                4 => Some(Cell::Text(&access.base_objects_accessed)),
                5 => Some(Cell::Text(&access.objects_modified)),
                6 => access.object_modified_by_ddl.as_deref().map(Cell::Text),
                // The model has no policies; top-level queries have no parent.
                7 => Some(Cell::Text("[]")),
                _ => None,
            }
        }
    }
}

fn encode(cell: Option<Cell<'_>>, kind: Kind) -> Option<String> {
    match (cell?, kind) {
        (Cell::Text(s), _) => Some(s.to_owned()),
        (Cell::Integer(n), _) => Some(n.to_string()),
        (Cell::Decimal(f), Kind::Decimal(scale)) => decimal(f, scale),
        (Cell::Decimal(f), _) => decimal(f, 0),
        (Cell::Time(n), _) => timestamp_nanos(n),
    }
}

fn history_index(column: &Ident) -> Result<usize, SqlError> {
    QUERY_HISTORY_COLUMNS
        .iter()
        .position(|(name, _)| *name == column.name)
        .ok_or_else(|| SqlError::invalid_identifier(column.line, column.pos, &column.shown()))
}

fn access_index(name: &str) -> Option<usize> {
    ACCESS_HISTORY_COLUMNS.iter().position(|(n, _)| *n == name)
}

/// Resolves a column of the join: the CTE's columns (those its SELECT lists) or
/// ACCESS_HISTORY's, by qualifier or, unqualified, by the one source that has it.
fn resolve(join: &AccessJoin, cte: &[(String, usize)], r: &ColumnRef) -> Result<Source, SqlError> {
    let (line, pos) = r.at();
    let invalid = || SqlError::invalid_identifier(line, pos, &r.shown());
    let in_cte = || {
        cte.iter()
            .find(|(name, _)| *name == r.column.name)
            .map(|&(_, i)| Source::History(i))
    };
    let in_access = || access_index(&r.column.name).map(Source::Access);
    match &r.qualifier {
        Some(q) if q.name == join.history.name => in_cte().ok_or_else(invalid),
        Some(q) if q.name == join.access.name => in_access().ok_or_else(invalid),
        Some(_) => Err(invalid()),
        None => match (in_cte(), in_access()) {
            (Some(_), Some(_)) => Err(SqlError::ambiguous_column(line, pos, &r.column.shown())),
            (Some(s), None) | (None, Some(s)) => Ok(s),
            (None, None) => Err(invalid()),
        },
    }
}

/// Every `?` of the statement, with where it stands.
fn binds(usage: &Usage) -> impl Iterator<Item = &Value> {
    usage
        .history
        .filter
        .iter()
        .flat_map(|c| match c {
            HistoryCondition::StartTime { value, .. } => std::slice::from_ref(value),
            HistoryCondition::UserName { values, .. } => values.as_slice(),
        })
        .chain(usage.history.limit.as_ref())
        .filter(|v| matches!(v, Value::Bind { .. }))
}

impl<'a> Session<'a> {
    fn binding(&self, value: &Value) -> Result<Option<(usize, &'a Binding)>, SqlError> {
        match value {
            Value::Bind { index, line, pos } => self
                .bindings
                .get(index - 1)
                .and_then(Option::as_ref)
                .map(|b| Some((*index, b)))
                .ok_or_else(|| SqlError::bind_not_set(*line, *pos)),
            Value::Text(_) | Value::Number(_) => Ok(None),
        }
    }

    /// A bound time: TIMESTAMP_LTZ in epoch nanoseconds (the SQL API's form); `None`: NULL.
    fn bound_time(&self, value: &Value) -> Result<Option<i128>, SqlError> {
        let Some((index, binding)) = self.binding(value)? else {
            // The grammar takes only `?` for times.
            return Err(SqlError::internal(
                "a literal time in a usage read".to_owned(),
            ));
        };
        if binding.kind != "TIMESTAMP_LTZ" {
            return Err(SqlError::binding_type(
                index,
                &binding.kind,
                "TIMESTAMP_LTZ",
            ));
        }
        binding
            .value
            .as_deref()
            .map(|v| {
                v.trim()
                    .parse::<i128>()
                    .map_err(|_| SqlError::bad_binding(v))
            })
            .transpose()
    }

    /// A user name: a literal, or a TEXT binding; `None`: NULL.
    fn user_name(&self, value: &Value) -> Result<Option<&'a str>, SqlError> {
        match self.binding(value)? {
            Some((index, binding)) if binding.kind != "TEXT" => {
                Err(SqlError::binding_type(index, &binding.kind, "TEXT"))
            }
            Some((_, binding)) => Ok(binding.value.as_deref()),
            None => Ok(None),
        }
    }

    /// LIMIT: a number, or a FIXED binding; `None`: no limit (Snowflake reads LIMIT NULL so).
    fn limit(&self, value: &Value) -> Result<Option<usize>, SqlError> {
        let text = match self.binding(value)? {
            Some((index, binding)) if binding.kind != "FIXED" => {
                return Err(SqlError::binding_type(index, &binding.kind, "FIXED"));
            }
            Some((_, binding)) => match binding.value.as_deref() {
                Some(v) => v.trim(),
                None => return Ok(None),
            },
            None => match value {
                Value::Number(n) => n.as_str(),
                _ => {
                    return Err(SqlError::internal(
                        "a text LIMIT in a usage read".to_owned(),
                    ));
                }
            },
        };
        text.parse::<usize>()
            .map(Some)
            .map_err(|_| SqlError::bad_binding(text))
    }
}

/// A condition of the history's WHERE, its values read.
enum Test<'a> {
    StartTime(Comparison, Option<i128>),
    UserName {
        negated: bool,
        values: Vec<Option<&'a str>>,
    },
}

impl Test<'_> {
    /// SQL's three-valued logic, NULL (unknown) counting as false.
    fn holds(&self, q: &QueryRecord) -> bool {
        match self {
            Test::StartTime(_, None) => false,
            Test::StartTime(op, Some(bound)) => {
                let start = nanos(q.start_time);
                match op {
                    Comparison::Less => start < *bound,
                    Comparison::LessOrEqual => start <= *bound,
                    Comparison::Greater => start > *bound,
                    Comparison::GreaterOrEqual => start >= *bound,
                }
            }
            Test::UserName { negated, values } => {
                if values.iter().any(|v| *v == Some(&*q.user_name)) {
                    !negated
                } else {
                    // `x NOT IN (…, NULL)` is NULL when x matches nothing else.
                    *negated && values.iter().all(Option::is_some)
                }
            }
        }
    }
}

pub(super) fn query<'a>(session: &Session<'a>, usage: &Usage) -> Result<Output<'a>, SqlError> {
    let s = *session;
    if !s.reads_account_usage() {
        return Err(SqlError::does_not_exist("Database", "SNOWFLAKE"));
    }
    if usage.join.is_some() && s.account.standard_edition {
        return Err(SqlError::does_not_exist(
            "Object",
            "SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY",
        ));
    }
    let history = &usage.history;
    let selected: Vec<usize> = history
        .columns
        .iter()
        .map(history_index)
        .collect::<Result<_, _>>()?;
    // (name, source) of each result column, and the outer ORDER BY.
    let (columns, order_by): (Vec<(String, Source)>, Vec<SortKey>) = match &usage.join {
        None => (
            history
                .columns
                .iter()
                .zip(&selected)
                .map(|(c, &i)| (c.name.clone(), Source::History(i)))
                .collect(),
            Vec::new(),
        ),
        Some(join) => {
            let cte: Vec<(String, usize)> = history
                .columns
                .iter()
                .zip(&selected)
                .map(|(c, &i)| (c.name.clone(), i))
                .collect();
            resolve(join, &cte, &join.on_history)?;
            let columns = join
                .columns
                .iter()
                .map(|r| Ok((r.column.name.clone(), resolve(join, &cte, r)?)))
                .collect::<Result<_, SqlError>>()?;
            let order_by = join
                .order_by
                .iter()
                .map(|o| {
                    Ok(SortKey {
                        source: resolve(join, &cte, &o.column)?,
                        descending: o.descending,
                        // Snowflake's default: NULLs last ascending, first descending.
                        nulls_first: o.nulls_first.unwrap_or(o.descending),
                    })
                })
                .collect::<Result<_, SqlError>>()?;
            (columns, order_by)
        }
    };
    for value in binds(usage) {
        s.binding(value)?;
    }
    // Compiled; running it takes a warehouse.
    if s.warehouse.is_none() {
        return Err(SqlError::no_warehouse());
    }
    let mut tests = Vec::new();
    for condition in &history.filter {
        tests.push(match condition {
            HistoryCondition::StartTime { op, value } => Test::StartTime(*op, s.bound_time(value)?),
            HistoryCondition::UserName { negated, values } => Test::UserName {
                negated: *negated,
                values: values
                    .iter()
                    .map(|v| match v {
                        Value::Text(t) | Value::Number(t) => Ok(Some(t.as_str())),
                        Value::Bind { .. } => s.user_name(v),
                    })
                    .collect::<Result<_, _>>()?,
            },
        });
    }
    let limit = history
        .limit
        .as_ref()
        .map(|l| s.limit(l))
        .transpose()?
        .flatten();

    let latency = |d: std::time::Duration| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX / 2);
    let visibility = Visibility {
        now: s.usage.now,
        query_history_latency: latency(s.usage.query_history_latency),
        access_history_latency: latency(s.usage.access_history_latency),
    };
    let mut rows: Vec<&'a QueryRecord> = s
        .account
        .query_history
        .iter()
        .filter(|q| visibility.query(q) && tests.iter().all(|t| t.holds(q)))
        .collect();
    // Stable: queries that started at the same time keep the model's order.
    match history.order_descending {
        Some(false) => rows.sort_by_key(|q| nanos(q.start_time)),
        Some(true) => rows.sort_by_key(|q| std::cmp::Reverse(nanos(q.start_time))),
        None => {}
    }
    if let Some(limit) = limit {
        rows.truncate(limit);
    }
    if !order_by.is_empty() {
        rows.sort_by(|a, b| {
            order_by
                .iter()
                .map(|key| {
                    compare(
                        value(visibility, a, key.source),
                        value(visibility, b, key.source),
                        key.descending,
                        key.nulls_first,
                    )
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }
    let types = columns
        .iter()
        .map(|(name, source)| ColumnType {
            name: name.clone(),
            kind: source.kind(),
            nullable: true,
            database: QUERY_HISTORY[0].to_owned(),
            schema: QUERY_HISTORY[1].to_owned(),
            table: match source {
                Source::History(_) => "QUERY_HISTORY",
                Source::Access(_) => "ACCESS_HISTORY",
            }
            .to_owned(),
        })
        .collect();
    let sources: Vec<Source> = columns.into_iter().map(|(_, source)| source).collect();
    Ok(Output {
        columns: types,
        rows: Box::new(rows.into_iter().map(move |q| {
            sources
                .iter()
                .map(|&source| encode(value(visibility, q, source), source.kind()))
                .collect()
        })),
    })
}
