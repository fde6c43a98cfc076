//! The usage reads: QUERY_HISTORY LEFT JOIN ACCESS_HISTORY exactly as the connector sends it,
//! and QUERY_HISTORY alone; bindings, latency and retention, editions, privileges, warehouses,
//! cells and rowType, partitions over a generated history.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::{
    AccessRecord, Account, ExecutionStatus, Options, QueryRecord, Role, generate_query_history,
};
use time::OffsetDateTime;

use crate::support::*;

const COLUMNS: &str = "QUERY_ID, QUERY_TEXT, USER_NAME, ROLE_NAME, EXECUTION_STATUS, START_TIME, END_TIME, BYTES_WRITTEN_TO_RESULT, ROWS_PRODUCED, CREDITS_USED_CLOUD_SERVICES";

/// The connector's statement; `excluded` user placeholders (0: no NOT IN).
fn join(excluded: usize) -> String {
    let not_in = if excluded == 0 {
        String::new()
    } else {
        format!(" AND USER_NAME NOT IN ({})", vec!["?"; excluded].join(", "))
    };
    format!(
        r#"WITH history AS (SELECT {COLUMNS} FROM "SNOWFLAKE"."ACCOUNT_USAGE"."QUERY_HISTORY" WHERE START_TIME >= ? AND START_TIME < ?{not_in} ORDER BY START_TIME LIMIT ?) SELECT history.QUERY_ID, history.QUERY_TEXT, history.USER_NAME, history.ROLE_NAME, history.EXECUTION_STATUS, history.START_TIME, history.END_TIME, history.BYTES_WRITTEN_TO_RESULT, history.ROWS_PRODUCED, history.CREDITS_USED_CLOUD_SERVICES, ACCESS_HISTORY.DIRECT_OBJECTS_ACCESSED, ACCESS_HISTORY.BASE_OBJECTS_ACCESSED, ACCESS_HISTORY.OBJECTS_MODIFIED, ACCESS_HISTORY.OBJECT_MODIFIED_BY_DDL FROM history LEFT JOIN "SNOWFLAKE"."ACCOUNT_USAGE"."ACCESS_HISTORY" ON history.QUERY_ID = ACCESS_HISTORY.QUERY_ID ORDER BY history.START_TIME, history.QUERY_ID"#
    )
}

/// The Standard Edition read: the history alone.
fn standalone(excluded: usize) -> String {
    let not_in = if excluded == 0 {
        String::new()
    } else {
        format!(" AND USER_NAME NOT IN ({})", vec!["?"; excluded].join(", "))
    };
    format!(
        "SELECT {COLUMNS} FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY WHERE START_TIME >= ? AND START_TIME < ?{not_in} ORDER BY START_TIME LIMIT ?"
    )
}

fn nanos(at: OffsetDateTime) -> String {
    at.unix_timestamp_nanos().to_string()
}

/// `cell` as the SQL API prints a TIMESTAMP_LTZ.
fn seconds(at: OffsetDateTime) -> String {
    let n = at.unix_timestamp_nanos();
    format!("{}.{:09}", n / 1_000_000_000, n % 1_000_000_000)
}

/// The bindings of `join(excluded.len())`: the window, the users, the limit.
fn bindings(from: OffsetDateTime, to: OffsetDateTime, excluded: &[&str], limit: u64) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(
        "1".into(),
        json!({"type": "TIMESTAMP_LTZ", "value": nanos(from)}),
    );
    map.insert(
        "2".into(),
        json!({"type": "TIMESTAMP_LTZ", "value": nanos(to)}),
    );
    for (i, user) in excluded.iter().enumerate() {
        map.insert((3 + i).to_string(), json!({"type": "TEXT", "value": user}));
    }
    map.insert(
        (3 + excluded.len()).to_string(),
        json!({"type": "FIXED", "value": limit.to_string()}),
    );
    Value::Object(map)
}

fn access() -> AccessRecord {
    AccessRecord::from_json(
        &json!([{"objectName": "SALES.PUBLIC.ORDERS", "objectId": 66564, "objectDomain": "Table",
                 "columns": [{"columnName": "ID", "columnId": 68610}]}]),
        &json!([{"objectName": "SALES.PUBLIC.ORDERS", "objectId": 66564, "objectDomain": "Table",
                 "columns": [{"columnName": "ID", "columnId": 68610}]}]),
        &json!([]),
        None,
    )
}

/// The direct and base objects of [`access`], as the cell carries them: Snowflake's indented
/// form, keys sorted.
const ORDERS_ACCESSED: &str = "[\n  {\n    \"columns\": [\n      {\n        \"columnId\": 68610,\n        \"columnName\": \"ID\"\n      }\n    ],\n    \"objectDomain\": \"Table\",\n    \"objectId\": 66564,\n    \"objectName\": \"SALES.PUBLIC.ORDERS\"\n  }\n]";

/// A successful query by `user` that ended `ago` before `now`, two seconds long.
fn query(id: &str, user: &str, now: OffsetDateTime, ago: Duration) -> QueryRecord {
    let end_time = now - ago;
    QueryRecord {
        query_id: id.into(),
        query_text: format!("SELECT ID FROM SALES.PUBLIC.ORDERS -- {id}").into(),
        user_name: user.into(),
        role_name: "ANALYST".into(),
        database_name: "SALES".into(),
        schema_name: "PUBLIC".into(),
        query_type: "SELECT".into(),
        warehouse_name: "COMPUTE_WH".into(),
        start_time: end_time - Duration::from_secs(2),
        end_time,
        bytes_written_to_result: 1024,
        rows_produced: Some(12),
        credits_used_cloud_services: 0.000123,
        access: Some(access()),
        ..QueryRecord::default()
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// The fixture account with a history: ended 10 min ago (not yet in QUERY_HISTORY), 1 h and
/// 2 h ago (there, ACCESS_HISTORY not yet), 4 h ago (both), a failure 5 h ago (no access row
/// ever), SYNC_USER's own query 6 h ago, and one 400 days ago (past retention). A role that
/// reads ACCOUNT_USAGE without MANAGE GRANTS is granted to ANALYST.
fn history_account(now: OffsetDateTime) -> Account {
    let mut account = account();
    account.roles.push(Role {
        name: "USAGE_READER".into(),
        account_usage: true,
        ..Role::default()
    });
    account.users[1].granted_roles.push("USAGE_READER".into());
    account.query_history = vec![
        query("q-recent", "ANALYST", now, Duration::from_secs(600)),
        query("q-1h", "ANALYST", now, HOUR),
        query("q-2h", "LEGACY", now, 2 * HOUR),
        query("q-4h", "ANALYST", now, 4 * HOUR),
        QueryRecord {
            execution_status: ExecutionStatus::Fail,
            error_code: "002003".into(),
            error_message:
                "SQL compilation error:\nObject 'NOPE' does not exist or not authorized.".into(),
            rows_produced: None,
            bytes_written_to_result: 0,
            access: None,
            ..query("q-failed", "ANALYST", now, 5 * HOUR)
        },
        query("q-sync", "SYNC_USER", now, 6 * HOUR),
        query("q-old", "ANALYST", now, 400 * 24 * HOUR),
    ];
    account
}

fn rows(body: &Value) -> Vec<Vec<Value>> {
    serde_json::from_value(body["data"].clone()).unwrap()
}

fn assert_error(status: StatusCode, body: &Value, code: &str, message: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        (&body["code"], &body["message"]),
        (&json!(code), &json!(message)),
        "{body}"
    );
}

#[tokio::test]
async fn the_usage_join_gives_visible_queries_with_access_rows_once_they_are_there() {
    let now = OffsetDateTime::now_utc();
    let standin = start(history_account(now), Options::default()).await;
    let (status, body) = Client::sync(&standin)
        .submit(
            "",
            json!({
                "statement": join(1),
                "bindings": bindings(now - 30 * 24 * HOUR, now + HOUR, &["SYNC_USER"], 100),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row_type: Vec<Value> = body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!([
                c["name"],
                c["type"],
                c["scale"],
                c["precision"],
                c["nullable"],
                c["database"],
                c["schema"],
                c["table"]
            ])
        })
        .collect();
    let qh = |name: &str, kind: &str, scale: Value, precision: Value| {
        json!([
            name,
            kind,
            scale,
            precision,
            true,
            "SNOWFLAKE",
            "ACCOUNT_USAGE",
            "QUERY_HISTORY"
        ])
    };
    let ah = |name: &str, kind: &str| {
        json!([
            name,
            kind,
            null,
            null,
            true,
            "SNOWFLAKE",
            "ACCOUNT_USAGE",
            "ACCESS_HISTORY"
        ])
    };
    assert_eq!(
        row_type,
        vec![
            qh("QUERY_ID", "text", Value::Null, Value::Null),
            qh("QUERY_TEXT", "text", Value::Null, Value::Null),
            qh("USER_NAME", "text", Value::Null, Value::Null),
            qh("ROLE_NAME", "text", Value::Null, Value::Null),
            qh("EXECUTION_STATUS", "text", Value::Null, Value::Null),
            qh("START_TIME", "timestamp_ltz", json!(9), json!(0)),
            qh("END_TIME", "timestamp_ltz", json!(9), json!(0)),
            qh("BYTES_WRITTEN_TO_RESULT", "fixed", json!(0), json!(38)),
            qh("ROWS_PRODUCED", "fixed", json!(0), json!(38)),
            qh("CREDITS_USED_CLOUD_SERVICES", "fixed", json!(9), json!(38)),
            ah("DIRECT_OBJECTS_ACCESSED", "array"),
            ah("BASE_OBJECTS_ACCESSED", "array"),
            ah("OBJECTS_MODIFIED", "array"),
            ah("OBJECT_MODIFIED_BY_DDL", "object"),
        ]
    );
    let rows = rows(&body);
    // Oldest first; 10 min old (latency), SYNC_USER's (excluded) and 400 days old (retention)
    // are not there.
    assert_eq!(column_of(&rows, 0), ["q-failed", "q-4h", "q-2h", "q-1h"]);
    let q4 = now - 4 * HOUR;
    assert_eq!(
        rows[1],
        vec![
            json!("q-4h"),
            json!("SELECT ID FROM SALES.PUBLIC.ORDERS -- q-4h"),
            json!("ANALYST"),
            json!("ANALYST"),
            json!("SUCCESS"),
            json!(seconds(q4 - Duration::from_secs(2))),
            json!(seconds(q4)),
            json!("1024"),
            json!("12"),
            json!("0.000123000"),
            json!(ORDERS_ACCESSED),
            json!(ORDERS_ACCESSED),
            json!("[]"),
            Value::Null,
        ]
    );
    // Younger than ACCESS_HISTORY's 3 h: the history row without its access columns.
    for row in [&rows[2], &rows[3]] {
        assert_eq!(row[4], "SUCCESS");
        assert_eq!(
            row[10..],
            [Value::Null, Value::Null, Value::Null, Value::Null],
            "{row:?}"
        );
    }
    // A failed query never has an access row.
    assert_eq!(
        rows[0][4..10],
        [
            json!("FAIL"),
            json!(seconds(now - 5 * HOUR - Duration::from_secs(2))),
            json!(seconds(now - 5 * HOUR)),
            json!("0"),
            Value::Null,
            json!("0.000123000")
        ]
    );
    assert!(rows[0][10..].iter().all(Value::is_null), "{:?}", rows[0]);
}

#[tokio::test]
async fn without_excluded_users_every_user_counts_and_the_limit_cuts_the_history_only() {
    let now = OffsetDateTime::now_utc();
    let mut account = history_account(now);
    // Two more queries started at the same instant as q-4h: the join orders them by id.
    let twin = |id: &str| QueryRecord {
        start_time: now - 4 * HOUR - Duration::from_secs(2),
        ..query(id, "LEGACY", now, 4 * HOUR)
    };
    account.query_history.push(twin("q-4h-b"));
    account.query_history.push(twin("q-4h-a"));
    let standin = start(account, Options::default()).await;
    let client = Client::sync(&standin);
    let window = (now - 30 * 24 * HOUR, now + HOUR);
    let run = |statement: String, limit: u64| {
        let client = &client;
        async move {
            let (status, body) = client
                .submit(
                    "",
                    json!({"statement": statement, "bindings": bindings(window.0, window.1, &[], limit)}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            column_of(&rows(&body), 0)
        }
    };
    assert_eq!(
        run(join(0), 100).await,
        [
            "q-sync", "q-failed", "q-4h", "q-4h-a", "q-4h-b", "q-2h", "q-1h"
        ]
    );
    // LIMIT takes the first three by START_TIME (the model's order among equals), then the
    // join orders them by START_TIME and QUERY_ID, each once.
    assert_eq!(run(join(0), 3).await, ["q-sync", "q-failed", "q-4h"]);
    assert_eq!(
        run(join(0), 4).await,
        ["q-sync", "q-failed", "q-4h", "q-4h-b"]
    );
    // The window is [from, to): a query that started at `to` is left for the next batch.
    let (status, body) = client
        .submit(
            "",
            json!({
                "statement": join(2),
                "bindings": bindings(window.0, now - 4 * HOUR - Duration::from_secs(2), &["SYNC_USER", "NOBODY"], 100),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(column_of(&rows(&body), 0), ["q-failed"]);
}

#[tokio::test]
async fn the_history_alone_is_served_also_on_standard_edition_which_has_no_access_history() {
    let now = OffsetDateTime::now_utc();
    let mut account = history_account(now);
    account.standard_edition = true;
    let standin = start(account, Options::default()).await;
    let client = Client::sync(&standin);
    let window = bindings(
        now - 30 * 24 * HOUR,
        now + HOUR,
        &["SYNC_USER", "LEGACY"],
        10,
    );
    let (status, body) = client
        .submit("", json!({"statement": standalone(2), "bindings": window}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.join(", "), COLUMNS);
    let rows = rows(&body);
    assert_eq!(column_of(&rows, 0), ["q-failed", "q-4h", "q-1h"]);
    assert_eq!(
        rows[2][7..],
        [json!("1024"), json!("12"), json!("0.000123000")]
    );

    let (status, body) = client
        .submit("", json!({"statement": join(2), "bindings": window}))
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nObject 'SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY' does not exist or not authorized.",
    );
    let (status, body) = client
        .run("select QUERY_ID from SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nObject 'SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY' does not exist or not authorized.",
    );
}

#[tokio::test]
async fn bindings_must_be_of_the_documented_types_and_parse() {
    let now = OffsetDateTime::now_utc();
    let standin = start(history_account(now), Options::default()).await;
    let client = Client::sync(&standin);
    let good = bindings(now - 30 * 24 * HOUR, now + HOUR, &["SYNC_USER"], 100);
    let with = |position: &str, binding: Value| {
        let mut b = good.clone();
        b[position] = binding;
        json!({"statement": join(1), "bindings": b})
    };
    let cases = [
        (
            with("1", json!({"type": "TEXT", "value": "2024-01-01 00:00:00"})),
            "Bind variable 1 of type TEXT is not accepted here; expected TIMESTAMP_LTZ.",
        ),
        (
            with("2", json!({"type": "TIMESTAMP_NTZ", "value": nanos(now)})),
            "Bind variable 2 of type TIMESTAMP_NTZ is not accepted here; expected TIMESTAMP_LTZ.",
        ),
        (
            with("2", json!({"type": "TIMESTAMP_LTZ", "value": "yesterday"})),
            "Numeric value 'yesterday' is not recognized",
        ),
        (
            with("3", json!({"type": "FIXED", "value": "7"})),
            "Bind variable 3 of type FIXED is not accepted here; expected TEXT.",
        ),
        (
            with("4", json!({"type": "TEXT", "value": "100"})),
            "Bind variable 4 of type TEXT is not accepted here; expected FIXED.",
        ),
        (
            with("4", json!({"type": "FIXED", "value": "-1"})),
            "Numeric value '-1' is not recognized",
        ),
    ];
    for (request, message) in cases {
        let (status, body) = client.submit("", request.clone()).await;
        assert_error(status, &body, "100037", message);
        assert_eq!(body["sqlState"], "22018", "{request}");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("4");
    let (status, body) = client
        .submit("", json!({"statement": join(1), "bindings": missing}))
        .await;
    assert_error(
        status,
        &body,
        "002049",
        &format!(
            "SQL compilation error: error line 1 at position {}\nBind variable ? not set.",
            join(1).find("LIMIT ?").unwrap() + 6
        ),
    );
    // NULL bounds select nothing (a comparison with NULL is never true); NULL in NOT IN
    // excludes everyone; LIMIT NULL is no limit.
    let run = |b: Value| {
        let client = &client;
        async move {
            let (status, body) = client
                .submit("", json!({"statement": join(1), "bindings": b}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            rows(&body).len()
        }
    };
    let mut null_bound = good.clone();
    null_bound["1"] = json!({"type": "TIMESTAMP_LTZ", "value": null});
    assert_eq!(run(null_bound).await, 0);
    let mut null_user = good.clone();
    null_user["3"] = json!({"type": "TEXT", "value": null});
    assert_eq!(run(null_user).await, 0);
    let mut no_limit = good.clone();
    no_limit["4"] = json!({"type": "FIXED", "value": null});
    assert_eq!(run(no_limit).await, 4);
}

#[tokio::test]
async fn latency_is_an_option_and_measured_from_the_end_of_the_query() {
    let now = OffsetDateTime::now_utc();
    let options = Options {
        query_history_latency: Duration::ZERO,
        access_history_latency: Duration::from_secs(90 * 60),
        ..Options::default()
    };
    let standin = start(history_account(now), options).await;
    let (status, body) = Client::sync(&standin)
        .submit(
            "",
            json!({
                "statement": join(1),
                "bindings": bindings(now - 30 * 24 * HOUR, now + HOUR, &["SYNC_USER"], 100),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = rows(&body);
    assert_eq!(
        column_of(&rows, 0),
        ["q-failed", "q-4h", "q-2h", "q-1h", "q-recent"]
    );
    // Access rows 90 min after the end: 2 h and 4 h old have them, 1 h and 10 min not.
    let has_access: Vec<bool> = rows.iter().map(|r| !r[10].is_null()).collect();
    assert_eq!(has_access, [false, true, true, false, false]);
}

#[tokio::test]
async fn account_usage_needs_imported_privileges_and_a_warehouse() {
    let now = OffsetDateTime::now_utc();
    let standin = start(history_account(now), Options::default()).await;
    let window = bindings(now - 30 * 24 * HOUR, now + HOUR, &["SYNC_USER"], 100);
    let analyst = Client::analyst(&standin);
    let (status, body) = analyst
        .submit("", json!({"statement": join(1), "bindings": window}))
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase 'SNOWFLAKE' does not exist or not authorized.",
    );
    // IMPORTED PRIVILEGES without MANAGE GRANTS is enough.
    let (status, body) = analyst
        .submit(
            "",
            json!({"statement": join(1), "bindings": window, "role": "USAGE_READER"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rows(&body).len(), 4);
    // Compiled, then refused for want of a warehouse.
    let (status, body) = analyst
        .submit(
            "",
            json!({"statement": join(1), "bindings": window, "role": "USAGE_READER", "warehouse": "NO_SUCH_WH"}),
        )
        .await;
    assert_error(
        status,
        &body,
        "000606",
        "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.",
    );
}

#[tokio::test]
async fn columns_are_checked_and_other_reads_of_the_history_are_not_served() {
    let now = OffsetDateTime::now_utc();
    let standin = start(history_account(now), Options::default()).await;
    let client = Client::sync(&standin);
    let (status, body) = client
        .run("select QUERY_ID, NOPE from SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY")
        .await;
    assert_error(
        status,
        &body,
        "000904",
        "SQL compilation error: error line 1 at position 17\ninvalid identifier 'NOPE'",
    );
    let base =
        "with h as (select QUERY_ID, START_TIME from SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY) select";
    let tail =
        "from h left join SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY a on h.QUERY_ID = a.QUERY_ID";
    let (status, body) = client.run(&format!("{base} QUERY_ID {tail}")).await;
    assert_error(
        status,
        &body,
        "002028",
        &format!(
            "SQL compilation error: error line 1 at position {}\nambiguous column name 'QUERY_ID'",
            base.len() + 1
        ),
    );
    let (status, body) = client.run(&format!("{base} h.END_TIME {tail}")).await;
    assert_error(
        status,
        &body,
        "000904",
        &format!(
            "SQL compilation error: error line 1 at position {}\ninvalid identifier 'H.END_TIME'",
            base.len() + 1
        ),
    );
    // Unqualified names that one source has resolve to it; the access side is NULL-padded.
    let rows = client
        .rows(&format!(
            "{base} START_TIME, OBJECTS_MODIFIED, a.QUERY_ID {tail} order by h.START_TIME desc"
        ))
        .await;
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[1][1..],
        [Value::Null, Value::Null],
        "q-2h: no access row yet"
    );
    assert_eq!(rows[2][1..], [json!("[]"), json!("q-4h")]);
    for statement in [
        "select * from SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY",
        "select QUERY_ID from SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY where QUERY_TYPE = 'SELECT'",
    ] {
        let (status, body) = client.run(statement).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "001003", "{statement}: {body}");
    }
}

#[tokio::test]
async fn a_generated_history_is_deterministic_realistic_and_streams_through_partitions() {
    let start_at = OffsetDateTime::now_utc() - 30 * 24 * HOUR;
    let account = snowflake_standin::generate(2_000, 30);
    let step = time::Duration::seconds(60);
    let history = generate_query_history(2_500, start_at, step, &account);
    assert_eq!(
        format!("{history:?}"),
        format!(
            "{:?}",
            generate_query_history(2_500, start_at, step, &account)
        )
    );
    assert_eq!(history.len(), 2_500);
    let ids: std::collections::BTreeSet<&str> = history.iter().map(|q| &*q.query_id).collect();
    assert_eq!(ids.len(), 2_500, "query ids are unique");
    let failed: Vec<&QueryRecord> = history
        .iter()
        .filter(|q| q.execution_status != ExecutionStatus::Success)
        .collect();
    assert!((250..=270).contains(&failed.len()), "{}", failed.len());
    assert!(
        failed
            .iter()
            .all(|q| q.access.is_none() && !q.error_code.is_empty())
    );
    let users: std::collections::BTreeSet<&str> = history.iter().map(|q| &*q.user_name).collect();
    let roles: std::collections::BTreeSet<&str> = history.iter().map(|q| &*q.role_name).collect();
    assert!(users.len() >= 5 && roles.len() >= 5, "{users:?} {roles:?}");
    let texts: Vec<&str> = history
        .iter()
        .filter_map(|q| q.access.as_ref())
        .flat_map(|a| {
            [
                &a.direct_objects_accessed,
                &a.base_objects_accessed,
                &a.objects_modified,
            ]
            .into_iter()
            .chain(a.object_modified_by_ddl.as_ref())
            .map(|text| &**text)
        })
        .collect();
    for text in &texts {
        serde_json::from_str::<Value>(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    }
    let all = texts.concat();
    for expected in [
        "$V1\"",
        "\"objectDomain\": \"Table\"",
        "\"objectDomain\": \"View\"",
        "\"objectDomain\": \"VIEW\"",
        "\"operationType\": \"CREATE\"",
        "\"operationType\": \"DROP\"",
        "\"directSources\"",
    ] {
        assert!(
            all.contains(expected),
            "no {expected} in the generated access rows"
        );
    }

    let mut account = account.with_sync_user("SYNC_USER", CLIENT_PUB);
    account.query_history = history;
    let standin = start(
        account,
        Options {
            rows_per_partition: 1_000,
            ..Options::default()
        },
    )
    .await;
    let client = Client::new(
        &standin,
        jwt_for("RAITO-STANDIN", "SYNC_USER", CLIENT_KEY, CLIENT_PUB),
    );
    let (status, body) = client
        .submit(
            "",
            json!({
                "statement": join(0),
                "bindings": bindings(start_at, start_at + 30 * 24 * HOUR, &[], 2_400),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resultSetMetaData"]["numRows"], 2_400);
    let handle = body["statementHandle"].as_str().unwrap();
    let mut all = rows(&body);
    for partition in 1..3 {
        all.extend(
            partition_rows(
                client
                    .get(&format!(
                        "/api/v2/statements/{handle}?partition={partition}"
                    ))
                    .await,
            )
            .await,
        );
    }
    assert_eq!(all.len(), 2_400);
    let starts: Vec<f64> = all
        .iter()
        .map(|r| r[5].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "one a minute, in order"
    );
    let with_access = all
        .iter()
        .filter(|r| !r[10].is_null() || !r[13].is_null())
        .count();
    assert_eq!(
        with_access,
        all.iter().filter(|r| r[4] == "SUCCESS").count()
    );
}
