//! The reads of an access import: SHOW ROLES (counts, inheritance, paging past 10,000 roles),
//! SHOW GRANTS TO|OF ROLE and DATABASE ROLE (rows, order, quoting, visibility, errors), SHOW
//! DATABASE ROLES, ACCOUNT_USAGE.GRANTS_TO_ROLES and GRANTS_TO_USERS (columns, latency,
//! access), and a generated account's grants read both ways.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::{Account, Grant, Grantee, ObjectKind, Options, Role, Share};
use time::OffsetDateTime;

use crate::support::*;

fn assert_error(status: StatusCode, body: &Value, code: &str, message: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        (&body["code"], &body["message"]),
        (&json!(code), &json!(message)),
        "{body}"
    );
}

/// (name, type) of each column of a result.
fn row_type(body: &Value) -> Vec<(String, String)> {
    body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn names(columns: &[(&str, &str)]) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

fn rows(body: &Value) -> Vec<Vec<Value>> {
    serde_json::from_value(body["data"].clone()).unwrap()
}

const CREATED: &str = "1704067200.000000000";

/// The fixture with grants: READER (SELECT on ORDERS and the view, USAGE on SALES, on
/// "Mixed.Schema" and on both functions, SELECT on the dynamic table EVENTS granted 10 minutes
/// ago) granted to the role ANALYST, to the user LEGACY and to the role "Odd Role" (owned by
/// ANALYST); the database roles SALES.DR (USAGE on SALES.PUBLIC, granted to READER, to SALES.DR2
/// and to the share S1) and SALES.DR2.
fn access_account(now: OffsetDateTime) -> Account {
    let mut account = account();
    account.shares.push(Share {
        kind: "OUTBOUND".into(),
        name: "S1".into(),
        database_name: "SALES".into(),
        owner: "ACCOUNTADMIN".into(),
        ..Share::default()
    });
    let sales_public = ["SALES", "PUBLIC"];
    account
        .create_role("READER", "USERADMIN")
        .and_then(|a| a.create_role("Odd Role", "ANALYST"))
        .and_then(|a| {
            a.grant(
                "SELECT",
                ObjectKind::Table,
                &["SALES", "PUBLIC", "ORDERS"],
                "READER",
            )
        })
        .and_then(|a| {
            a.grant(
                "select",
                ObjectKind::View,
                &["SALES", "PUBLIC", "Customer View"],
                "READER",
            )
        })
        .and_then(|a| a.grant("USAGE", ObjectKind::Database, &["SALES"], "READER"))
        .and_then(|a| {
            a.grant(
                "USAGE",
                ObjectKind::Schema,
                &["SALES", "Mixed.Schema"],
                "READER",
            )
        })
        .and_then(|a| {
            a.grant(
                "USAGE",
                ObjectKind::Function,
                &["SALES", "PUBLIC", "ADD_ONE(NUMBER)"],
                "READER",
            )
        })
        .and_then(|a| {
            a.grant(
                "USAGE",
                ObjectKind::Function,
                &["SALES", "Mixed.Schema", "ZETA(NUMBER, VARCHAR)"],
                "READER",
            )
        })
        .and_then(|a| {
            a.add_grant(
                "READER",
                Grant {
                    granted_by: "SYSADMIN".into(),
                    created_on: now - Duration::from_secs(600),
                    ..Grant::new(
                        "SELECT",
                        ObjectKind::DynamicTable,
                        &["SALES", "Mixed.Schema", "EVENTS"],
                    )
                },
            )
        })
        .and_then(|a| a.grant_role("READER", Grantee::Role("ANALYST".into())))
        .and_then(|a| a.grant_role("READER", Grantee::User("LEGACY".into())))
        .and_then(|a| a.grant_role("READER", Grantee::Role("Odd Role".into())))
        .and_then(|a| a.create_database_role("SALES", "DR", "SYSADMIN"))
        .and_then(|a| a.create_database_role("SALES", "DR2", "SYSADMIN"))
        .and_then(|a| {
            a.grant_to_database_role("USAGE", ObjectKind::Schema, &sales_public, "SALES", "DR")
        })
        .and_then(|a| a.grant_database_role("SALES", "DR", Grantee::Role("READER".into())))
        .and_then(|a| {
            a.grant_database_role(
                "SALES",
                "DR",
                Grantee::DatabaseRole {
                    database: "SALES".into(),
                    role: "DR2".into(),
                },
            )
        })
        .and_then(|a| a.grant_database_role("SALES", "DR", Grantee::Share("S1".into())))
        .unwrap();
    account
}

async fn access_standin(options: Options) -> snowflake_standin::StandIn {
    start(access_account(OffsetDateTime::now_utc()), options).await
}

/// A SHOW GRANTS TO row of the fixture: created 2024-01-01, no grant option.
fn to_row(privilege: &str, on: &str, name: &str, grantee: &str, granted_by: &str) -> Vec<Value> {
    vec![
        json!(CREATED),
        json!(privilege),
        json!(on),
        json!(name),
        json!("ROLE"),
        json!(grantee),
        json!("false"),
        json!(granted_by),
    ]
}

#[tokio::test]
async fn show_grants_to_role_lists_privileges_role_usage_and_ownership_by_object() {
    let standin = access_standin(Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync.run("SHOW GRANTS TO ROLE reader").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        row_type(&body),
        names(&[
            ("created_on", "timestamp_ltz"),
            ("privilege", "text"),
            ("granted_on", "text"),
            ("name", "text"),
            ("granted_to", "text"),
            ("grantee_name", "text"),
            ("grant_option", "text"),
            ("granted_by", "text"),
        ])
    );
    let mut rows = rows(&body);
    // The dynamic table's grant is 10 minutes old: SHOW has no latency.
    let events = rows.remove(2);
    assert_eq!(
        events[1..],
        to_row(
            "SELECT",
            "DYNAMIC_TABLE",
            "SALES.\"Mixed.Schema\".EVENTS",
            "READER",
            "SYSADMIN"
        )[1..]
    );
    assert_eq!(
        rows,
        vec![
            to_row("USAGE", "DATABASE", "SALES", "READER", "SYSADMIN"),
            // A database role granted to the role: USAGE on it, granted by its owner.
            to_row("USAGE", "DATABASE_ROLE", "SALES.DR", "READER", "SYSADMIN"),
            // Functions: the name always quoted, then the argument types.
            to_row(
                "USAGE",
                "FUNCTION",
                "SALES.\"Mixed.Schema\".\"ZETA\"(NUMBER, VARCHAR)",
                "READER",
                "SECURITYADMIN"
            ),
            to_row(
                "USAGE",
                "FUNCTION",
                "SALES.PUBLIC.\"ADD_ONE\"(NUMBER)",
                "READER",
                "SECURITYADMIN"
            ),
            to_row(
                "USAGE",
                "SCHEMA",
                "SALES.\"Mixed.Schema\"",
                "READER",
                "SYSADMIN"
            ),
            to_row(
                "SELECT",
                "TABLE",
                "SALES.PUBLIC.ORDERS",
                "READER",
                "SYSADMIN"
            ),
            to_row(
                "SELECT",
                "VIEW",
                "SALES.PUBLIC.\"Customer View\"",
                "READER",
                "SYSADMIN"
            ),
        ]
    );

    // A role granted to a role is USAGE on ROLE; what a role owns is OWNERSHIP, with grant
    // option, granted by itself.
    let rows = sync.rows("show grants to role ANALYST").await;
    assert_eq!(
        rows,
        vec![
            vec![
                json!(CREATED),
                json!("OWNERSHIP"),
                json!("ROLE"),
                json!("\"Odd Role\""),
                json!("ROLE"),
                json!("ANALYST"),
                json!("true"),
                json!("ANALYST"),
            ],
            to_row("USAGE", "ROLE", "READER", "ANALYST", "USERADMIN"),
        ]
    );
    let owned: Vec<(String, String)> = sync
        .rows("show grants to role USERADMIN")
        .await
        .iter()
        .filter(|r| r[1] == "OWNERSHIP")
        .map(|r| {
            (
                r[2].as_str().unwrap().to_owned(),
                r[3].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        owned,
        [
            ("ROLE", "ANALYST"),
            ("ROLE", "FINANCE"),
            ("ROLE", "READER"),
            ("ROLE", "SYNC_ROLE"),
            ("ROLE", "USERADMIN"),
            ("USER", "ANALYST"),
            ("USER", "LEGACY"),
            ("USER", "SYNC_USER"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        sync.rows("show grants to role reader limit 2").await.len(),
        2
    );
    assert_eq!(standin.requests().by_prefix["SHOW GRANTS"], 4);
}

#[tokio::test]
async fn show_grants_of_role_lists_users_roles_database_roles_and_shares() {
    let standin = access_standin(Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync.run("SHOW GRANTS OF ROLE READER").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        row_type(&body),
        names(&[
            ("created_on", "timestamp_ltz"),
            ("role", "text"),
            ("granted_to", "text"),
            ("grantee_name", "text"),
            ("granted_by", "text"),
        ])
    );
    let of = |role: &str, to: &str, grantee: &str, by: &str| {
        vec![
            json!(CREATED),
            json!(role),
            json!(to),
            json!(grantee),
            json!(by),
        ]
    };
    // By granted_to, then grantee_name; names quoted as SHOW GRANTS TO quotes them.
    assert_eq!(
        rows(&body),
        vec![
            of("READER", "ROLE", "\"Odd Role\"", "USERADMIN"),
            of("READER", "ROLE", "ANALYST", "USERADMIN"),
            of("READER", "USER", "LEGACY", "USERADMIN"),
        ]
    );
    // Users holding a role as their default role (the model's shorthand) are listed too.
    assert_eq!(
        sync.rows("show grants of role analyst").await,
        vec![
            of("ANALYST", "USER", "ANALYST", "USERADMIN"),
            of("ANALYST", "USER", "LEGACY", "USERADMIN"),
        ]
    );
    assert_eq!(
        sync.rows("show grants of role \"Odd Role\"").await,
        Vec::<Vec<Value>>::new()
    );
    assert_eq!(
        sync.rows("SHOW GRANTS OF DATABASE ROLE SALES.DR").await,
        vec![
            of("SALES.DR", "DATABASE_ROLE", "SALES.DR2", "SYSADMIN"),
            of("SALES.DR", "ROLE", "READER", "SYSADMIN"),
            of("SALES.DR", "SHARE", "S1", "SYSADMIN"),
        ]
    );
    // A database role holding another: USAGE on DATABASE_ROLE, granted to DATABASE_ROLE.
    assert_eq!(
        sync.rows("show grants to database role sales.dr2").await,
        vec![vec![
            json!(CREATED),
            json!("USAGE"),
            json!("DATABASE_ROLE"),
            json!("SALES.DR"),
            json!("DATABASE_ROLE"),
            json!("SALES.DR2"),
            json!("false"),
            json!("SYSADMIN"),
        ]]
    );
    let (status, body) = sync
        .submit(
            "",
            json!({"statement": "show grants to database role DR", "database": "SALES"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        rows(&body)[0][3],
        "SALES.PUBLIC",
        "unqualified: the session's database"
    );
}

#[tokio::test]
async fn show_grants_needs_manage_grants_ownership_or_the_role() {
    let standin = access_standin(Options::default()).await;
    let analyst = Client::analyst(&standin);
    // ANALYST holds READER, READER holds SALES.DR; ANALYST owns "Odd Role"; PUBLIC is held by
    // everyone.
    for statement in [
        "show grants to role ANALYST",
        "show grants to role READER",
        "show grants of role READER",
        "show grants to role \"Odd Role\"",
        "show grants to role PUBLIC",
        "show grants of database role SALES.DR",
    ] {
        let (status, body) = analyst.run(statement).await;
        assert_eq!(status, StatusCode::OK, "{statement}: {body}");
    }
    // FINANCE is granted to the user ANALYST, not to the role ANALYST the session runs in.
    for (statement, message) in [
        (
            "show grants to role FINANCE",
            "SQL compilation error:\nRole 'FINANCE' does not exist or not authorized.",
        ),
        (
            "show grants of role sync_role",
            "SQL compilation error:\nRole 'SYNC_ROLE' does not exist or not authorized.",
        ),
        (
            "show grants to role \"reader\"",
            "SQL compilation error:\nRole '\"reader\"' does not exist or not authorized.",
        ),
        (
            "show grants to database role SALES.DR2",
            "SQL compilation error:\nDatabase role 'SALES.DR2' does not exist or not authorized.",
        ),
        (
            "show grants to database role \"Finance Dept\".X",
            "SQL compilation error:\nDatabase '\"Finance Dept\"' does not exist or not authorized.",
        ),
    ] {
        let (status, body) = analyst.run(statement).await;
        assert_error(status, &body, "002003", message);
    }
    // In the FINANCE role (granted to the user) its grants are visible.
    let (status, body) = analyst
        .submit(
            "",
            json!({"statement": "show grants of role FINANCE", "role": "FINANCE"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(column_of(&rows(&body), 3), ["ANALYST"]);
    let (status, body) = analyst.run("show grants to database role DR").await;
    assert_error(
        status,
        &body,
        "090105",
        "Cannot perform SHOW GRANTS. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.",
    );
    let (status, body) = analyst.run("show grants to user ANALYST").await;
    assert_error(
        status,
        &body,
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 15 unexpected 'user'.",
    );
    // A role inherited through a role granted to the user may be the session's role.
    let (status, body) = analyst
        .submit(
            "",
            json!({"statement": "select current_role()", "role": "READER"}),
        )
        .await;
    assert_eq!(
        (status, &body["data"]),
        (StatusCode::OK, &json!([["READER"]])),
        "{body}"
    );
}

#[tokio::test]
async fn show_roles_counts_direct_grants_and_marks_what_the_session_inherits() {
    let standin = access_standin(Options::default()).await;
    let (status, body) = Client::analyst(&standin).run("show roles").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        row_type(&body),
        names(&[
            ("created_on", "timestamp_ltz"),
            ("name", "text"),
            ("is_default", "text"),
            ("is_current", "text"),
            ("is_inherited", "text"),
            ("assigned_to_users", "fixed"),
            ("granted_to_roles", "fixed"),
            ("granted_roles", "fixed"),
            ("owner", "text"),
            ("comment", "text"),
            ("owner_role_type", "text"),
            ("is_from_organization_user_group", "boolean"),
        ])
    );
    // name, is_default, is_current, is_inherited, assigned_to_users, granted_to_roles,
    // granted_roles, owner, is_from_organization_user_group.
    let summary: Vec<Vec<Value>> = rows(&body)
        .into_iter()
        .map(|r| [1, 2, 3, 4, 5, 6, 7, 8, 11].map(|i| r[i].clone()).to_vec())
        .collect();
    let row =
        |name: &str, d: &str, c: &str, i: &str, users: &str, to: &str, roles: &str, owner: &str| {
            vec![
                json!(name),
                json!(d),
                json!(c),
                json!(i),
                json!(users),
                json!(to),
                json!(roles),
                json!(owner),
                json!("false"),
            ]
        };
    assert_eq!(
        summary,
        vec![
            row("ACCOUNTADMIN", "N", "N", "N", "0", "0", "0", ""),
            row("ANALYST", "Y", "Y", "N", "2", "0", "1", "USERADMIN"),
            row("FINANCE", "N", "N", "N", "1", "0", "0", "USERADMIN"),
            row("Odd Role", "N", "N", "N", "0", "0", "1", "ANALYST"),
            row("PUBLIC", "N", "N", "Y", "0", "0", "0", ""),
            row("READER", "N", "N", "Y", "1", "2", "0", "USERADMIN"),
            row("SYNC_ROLE", "N", "N", "N", "1", "0", "0", "USERADMIN"),
            row("USERADMIN", "N", "N", "N", "0", "0", "0", "USERADMIN"),
        ]
    );
}

#[tokio::test]
async fn show_roles_pages_past_10000_roles_with_an_exclusive_from_cursor() {
    let mut account = account();
    account.roles.extend((0..10_050).map(|i| Role {
        name: format!("R{i:05}"),
        owner: "USERADMIN".into(),
        ..Role::default()
    }));
    let standin = start(account, Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync.run("SHOW ROLES").await;
    assert_error(
        status,
        &body,
        "090153",
        "The result set size exceeded the max number of rows(10000) supported for SHOW statements. Use LIMIT option to limit result set to a smaller number.",
    );
    let (status, body) = sync.run("SHOW ROLES LIMIT 10001").await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("090153"))
    );
    // The Go connector's paging: 1000 at a time, FROM the last name.
    let mut seen = Vec::new();
    let mut statement = "SHOW ROLES LIMIT 1000".to_owned();
    loop {
        let page = column_of(&sync.rows(&statement).await, 1);
        let Some(last) = page.last().cloned() else {
            break;
        };
        let full = page.len() == 1000;
        seen.extend(page);
        if !full {
            break;
        }
        statement = format!("SHOW ROLES LIMIT 1000 FROM '{}'", last.replace('\'', "''"));
    }
    assert_eq!(
        seen.len(),
        10_056,
        "6 fixture roles and 10,050 more, each once"
    );
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in name order, no repeats");
    assert_eq!(
        column_of(
            &sync
                .rows("show roles like 'r0000%' limit 3 from 'R00005'")
                .await,
            1
        ),
        ["R00006", "R00007", "R00008"]
    );
}

#[tokio::test]
async fn show_database_roles_lists_a_databases_roles_with_counts_and_a_cursor() {
    let standin = access_standin(Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync.run("SHOW DATABASE ROLES IN DATABASE sales").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        row_type(&body),
        names(&[
            ("created_on", "timestamp_ltz"),
            ("name", "text"),
            ("is_default", "text"),
            ("is_current", "text"),
            ("is_inherited", "text"),
            ("granted_to_roles", "fixed"),
            ("granted_to_database_roles", "fixed"),
            ("granted_database_roles", "fixed"),
            ("owner", "text"),
            ("comment", "text"),
            ("owner_role_type", "text"),
        ])
    );
    let dr = |name: &str, inherited: &str, to_roles: &str, to_db_roles: &str, granted: &str| {
        vec![
            json!(CREATED),
            json!(name),
            json!("N"),
            json!("N"),
            json!(inherited),
            json!(to_roles),
            json!(to_db_roles),
            json!(granted),
            json!("SYSADMIN"),
            json!(""),
            json!("ROLE"),
        ]
    };
    assert_eq!(
        rows(&body),
        vec![dr("DR", "N", "1", "1", "0"), dr("DR2", "N", "0", "0", "1")]
    );
    assert_eq!(
        column_of(
            &sync
                .rows("show database roles in database SALES limit 5 from 'DR'")
                .await,
            1
        ),
        ["DR2"]
    );
    assert!(
        sync.rows("show database roles in database SHARED")
            .await
            .is_empty()
    );
    // ANALYST inherits SALES.DR through READER; it sees SALES but not "Finance Dept".
    let analyst = Client::analyst(&standin);
    let rows = analyst.rows("show database roles in database SALES").await;
    assert_eq!(column_of(&rows, 4), ["Y", "N"]);
    let (status, body) = analyst
        .run("show database roles in database \"Finance Dept\"")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase '\"Finance Dept\"' does not exist or not authorized.",
    );
}

const GRANTS_TO_ROLES: &str = r#"SELECT PRIVILEGE, GRANTED_ON, NAME, TABLE_CATALOG, TABLE_SCHEMA, GRANTED_TO, GRANTEE_NAME, GRANT_OPTION, GRANTED_BY, DELETED_ON, GRANTED_BY_ROLE_TYPE FROM "SNOWFLAKE"."ACCOUNT_USAGE"."GRANTS_TO_ROLES" WHERE DELETED_ON IS NULL AND GRANTEE_NAME = 'READER' ORDER BY GRANTED_ON, NAME, PRIVILEGE"#;

#[tokio::test]
async fn grants_to_roles_is_a_bulk_read_of_grants_older_than_its_latency() {
    let standin = access_standin(Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync.run(GRANTS_TO_ROLES).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let types = row_type(&body);
    assert_eq!(types[7], ("GRANT_OPTION".into(), "boolean".into()));
    assert_eq!(types[9], ("DELETED_ON".into(), "timestamp_ltz".into()));
    assert_eq!(
        body["resultSetMetaData"]["rowType"][0]["table"],
        "GRANTS_TO_ROLES"
    );
    let row = |privilege: &str, on: &str, name: &str, catalog: Value, schema: Value, by: &str| {
        vec![
            json!(privilege),
            json!(on),
            json!(name),
            catalog,
            schema,
            json!("ROLE"),
            json!("READER"),
            json!("false"),
            json!(by),
            Value::Null,
            json!("ROLE"),
        ]
    };
    let sales = || json!("SALES");
    // Names as stored, qualified by TABLE_CATALOG and TABLE_SCHEMA; the dynamic table's grant
    // is younger than the 2 h latency.
    assert_eq!(
        rows(&body),
        vec![
            row(
                "USAGE",
                "DATABASE",
                "SALES",
                Value::Null,
                Value::Null,
                "SYSADMIN"
            ),
            row(
                "USAGE",
                "DATABASE_ROLE",
                "DR",
                sales(),
                Value::Null,
                "SYSADMIN"
            ),
            row(
                "USAGE",
                "FUNCTION",
                "ADD_ONE(NUMBER)",
                sales(),
                json!("PUBLIC"),
                "SECURITYADMIN"
            ),
            row(
                "USAGE",
                "FUNCTION",
                "ZETA(NUMBER, VARCHAR)",
                sales(),
                json!("Mixed.Schema"),
                "SECURITYADMIN"
            ),
            row(
                "USAGE",
                "SCHEMA",
                "Mixed.Schema",
                sales(),
                Value::Null,
                "SYSADMIN"
            ),
            row(
                "SELECT",
                "TABLE",
                "ORDERS",
                sales(),
                json!("PUBLIC"),
                "SYSADMIN"
            ),
            row(
                "SELECT",
                "VIEW",
                "Customer View",
                sales(),
                json!("PUBLIC"),
                "SYSADMIN"
            ),
        ]
    );
    // Database roles' grants; the SYSTEM role's grants have an empty GRANTED_BY.
    let rows = sync
        .rows(r#"select GRANTED_ON, NAME, GRANTED_TO, GRANTEE_NAME from snowflake.account_usage.grants_to_roles where granted_to = 'DATABASE_ROLE' order by 4"#)
        .await;
    assert_eq!(
        rows,
        vec![
            vec![
                json!("SCHEMA"),
                json!("PUBLIC"),
                json!("DATABASE_ROLE"),
                json!("SALES.DR")
            ],
            vec![
                json!("DATABASE_ROLE"),
                json!("DR"),
                json!("DATABASE_ROLE"),
                json!("SALES.DR2")
            ],
        ]
    );

    // Without latency the new grant is there.
    let quick = access_standin(Options {
        grants_latency: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let rows = Client::sync(&quick).rows(GRANTS_TO_ROLES).await;
    assert_eq!(rows.len(), 8);
    assert_eq!(
        rows[2][..3],
        [json!("SELECT"), json!("DYNAMIC_TABLE"), json!("EVENTS")]
    );
}

#[tokio::test]
async fn grants_to_users_lists_every_users_roles_and_needs_account_usage_and_a_warehouse() {
    let standin = access_standin(Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync
        .run(r#"SELECT * FROM "SNOWFLAKE"."ACCOUNT_USAGE"."GRANTS_TO_USERS" WHERE DELETED_ON IS NULL ORDER BY GRANTEE_NAME, ROLE"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        row_type(&body),
        names(&[
            ("CREATED_ON", "timestamp_ltz"),
            ("DELETED_ON", "timestamp_ltz"),
            ("ROLE", "text"),
            ("GRANTED_TO", "text"),
            ("GRANTEE_NAME", "text"),
            ("GRANTED_BY", "text"),
        ])
    );
    let row = |role: &str, user: &str| {
        vec![
            json!(CREATED),
            Value::Null,
            json!(role),
            json!("USER"),
            json!(user),
            json!("USERADMIN"),
        ]
    };
    assert_eq!(
        rows(&body),
        vec![
            row("ANALYST", "ANALYST"),
            row("FINANCE", "ANALYST"),
            row("ANALYST", "LEGACY"),
            row("READER", "LEGACY"),
            row("SYNC_ROLE", "SYNC_USER"),
        ]
    );
    let analyst = Client::analyst(&standin);
    for view in ["GRANTS_TO_ROLES", "GRANTS_TO_USERS"] {
        let (status, body) = analyst
            .run(&format!("select ROLE from snowflake.account_usage.{view}"))
            .await;
        assert_error(
            status,
            &body,
            "002003",
            "SQL compilation error:\nDatabase 'SNOWFLAKE' does not exist or not authorized.",
        );
    }
    let (status, body) = sync
        .run("select NOPE from snowflake.account_usage.grants_to_users")
        .await;
    assert_error(
        status,
        &body,
        "000904",
        "SQL compilation error: error line 1 at position 7\ninvalid identifier 'NOPE'",
    );
    let (status, body) = sync
        .submit(
            "",
            json!({"statement": "select ROLE from snowflake.account_usage.grants_to_users", "warehouse": "NO_SUCH_WH"}),
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
async fn a_generated_account_shows_the_same_grants_through_show_and_account_usage() {
    let account = snowflake_standin::generate(2_000, 30).with_sync_user("RAITO_SYNC", CLIENT_PUB);
    let standin = start(account, Options::default()).await;
    let client = Client::new(
        &standin,
        jwt_for("RAITO-STANDIN", "RAITO_SYNC", CLIENT_KEY, CLIENT_PUB),
    );
    let roles = column_of(&client.rows("SHOW ROLES LIMIT 1000").await, 1);
    // 6 system roles, 5 functional roles (30 users), 10 access roles (100 tables), RAITO_SYNC.
    assert_eq!(roles.len(), 22, "{roles:?}");
    assert!(roles.contains(&"READ_00009".to_owned()) && roles.contains(&"ROLE_00004".to_owned()));

    let grants = client.rows("SHOW GRANTS TO ROLE READ_00000").await;
    let privileges: Vec<String> = grants
        .iter()
        .map(|r| format!("{} {}", r[1].as_str().unwrap(), r[2].as_str().unwrap()))
        .collect();
    assert_eq!(
        privileges.iter().filter(|p| *p == "USAGE DATABASE").count(),
        1
    );
    assert_eq!(
        privileges.iter().filter(|p| *p == "USAGE SCHEMA").count(),
        1
    );
    assert_eq!(
        privileges
            .iter()
            .filter(|p| p.starts_with("SELECT"))
            .count(),
        10,
        "SELECT on its 10 tables: {privileges:?}"
    );
    assert!(
        grants.iter().any(|r| r[1] == "INSERT" && r[6] == "true"),
        "{grants:?}"
    );
    assert_eq!(
        client
            .rows("SHOW GRANTS OF ROLE READ_00000")
            .await
            .iter()
            .map(|r| format!("{} {}", r[2].as_str().unwrap(), r[3].as_str().unwrap()))
            .collect::<Vec<_>>(),
        ["ROLE ROLE_00000", "ROLE SYSADMIN", "USER USER_000000"]
    );
    assert_eq!(
        client.rows("show grants of role SYSADMIN").await,
        vec![vec![
            json!(CREATED),
            json!("SYSADMIN"),
            json!("ROLE"),
            json!("ACCOUNTADMIN"),
            json!(""),
        ]],
        "system grants are the SYSTEM role's: empty granted_by"
    );
    assert_eq!(
        column_of(
            &client.rows("show database roles in database SALES").await,
            1
        ),
        ["ANALYST", "READER"]
    );
    assert!(
        client
            .rows("show grants of database role SALES.ANALYST")
            .await
            .iter()
            .any(|r| r[2] == "SHARE" && r[3] == "SALES_SHARE")
    );

    // Every role's SHOW GRANTS TO, together, is GRANTS_TO_ROLES (all grants are old enough).
    let mut shown = 0;
    for role in &roles {
        shown += client
            .rows(&format!("show grants to role \"{role}\""))
            .await
            .len();
    }
    for db in ["ANALYTICS", "Finance Dept", "RAW_EVENTS", "SALES"] {
        for role in column_of(
            &client
                .rows(&format!("show database roles in database \"{db}\""))
                .await,
            1,
        ) {
            shown += client
                .rows(&format!("show grants to database role \"{db}\".\"{role}\""))
                .await
                .len();
        }
    }
    let bulk = client
        .rows("select PRIVILEGE from SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES where DELETED_ON is null")
        .await;
    assert_eq!(bulk.len(), shown);
    assert!(shown > 200, "{shown}");
}
