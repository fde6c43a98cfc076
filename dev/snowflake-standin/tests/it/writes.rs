//! The writes of an access apply: CREATE, ALTER and DROP of roles and database roles, GRANT and
//! REVOKE of roles and privileges, each read back through SHOW ROLES, SHOW DATABASE ROLES, SHOW
//! GRANTS TO|OF, ACCOUNT_USAGE.GRANTS_TO_ROLES and the account itself; Snowflake's error codes;
//! multi-statement requests (success, a failure in the middle, their rules); quoted, unicode and
//! 255-character names; the statement fault; a request of 1,000 grants against 10,000 roles.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::{Account, Grantee, Options, Role, StandIn};

use crate::support::*;

/// POSTs `statements` as one multi-statement request of `count` (`"0"`: any).
async fn multi(client: &Client, count: &str, statements: &[&str]) -> (StatusCode, Value) {
    client
        .submit(
            "",
            json!({
                "statement": statements.join(";\n"),
                "parameters": {"MULTI_STATEMENT_COUNT": count},
            }),
        )
        .await
}

/// The rows of SHOW ROLES LIKE `pattern`: (name, owner, comment, assigned_to_users,
/// granted_to_roles, granted_roles).
async fn roles_like(client: &Client, pattern: &str) -> Vec<[String; 6]> {
    let rows = client
        .rows(&format!(
            "SHOW ROLES LIKE '{}'",
            pattern.replace('\'', "''")
        ))
        .await;
    rows.iter()
        .map(|r| {
            let text = |i: usize| r[i].as_str().unwrap_or("NULL").to_owned();
            [text(1), text(8), text(9), text(5), text(6), text(7)]
        })
        .collect()
}

/// SHOW GRANTS TO ROLE `role`: (privilege, granted_on, name, grant_option, granted_by).
async fn grants_to(client: &Client, role: &str) -> Vec<[String; 5]> {
    client
        .rows(&format!("SHOW GRANTS TO ROLE {role}"))
        .await
        .iter()
        .map(|r| {
            let text = |i: usize| r[i].as_str().unwrap().to_owned();
            [text(1), text(2), text(3), text(6), text(7)]
        })
        .collect()
}

/// SHOW GRANTS OF ROLE `role`: (granted_to, grantee_name, granted_by).
async fn grants_of(client: &Client, role: &str) -> Vec<[String; 3]> {
    client
        .rows(&format!("SHOW GRANTS OF ROLE {role}"))
        .await
        .iter()
        .map(|r| {
            let text = |i: usize| r[i].as_str().unwrap().to_owned();
            [text(2), text(3), text(4)]
        })
        .collect()
}

fn strings<const N: usize>(row: [&str; N]) -> [String; N] {
    row.map(str::to_owned)
}

async fn standin() -> StandIn {
    start(account(), Options::default()).await
}

#[tokio::test]
async fn create_alter_and_drop_roles_show_in_show_roles_and_show_database_roles() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    assert_eq!(
        ok(&sync, "create role app_reader comment = 'reads ''app'''").await,
        "Role APP_READER successfully created."
    );
    let (status, body) = sync.run("SHOW ROLES LIKE 'APP_%'").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row = &body["data"][0];
    assert_eq!(
        (&row[1], &row[8], &row[9], &row[10]),
        (
            &json!("APP_READER"),
            &json!("SYNC_ROLE"),
            &json!("reads 'app'"),
            &json!("ROLE")
        ),
        "owned by the session's role: {row}"
    );
    // Created now, not on the model's 2024-01-01.
    let created: f64 = row[0].as_str().unwrap().parse().unwrap();
    assert!((created - now() as f64).abs() < 60.0, "{row}");

    assert_eq!(
        ok(
            &sync,
            "CREATE ROLE IF NOT EXISTS APP_READER COMMENT = 'other'"
        )
        .await,
        "APP_READER already exists, statement succeeded."
    );
    let (status, body) = sync.run("CREATE ROLE app_reader").await;
    assert_error(
        status,
        &body,
        "002002",
        "SQL compilation error:\nObject 'APP_READER' already exists.",
    );
    assert_eq!(
        ok(&sync, "ALTER ROLE APP_READER SET COMMENT = 'back\\\\slash'").await,
        "Statement executed successfully."
    );
    assert_eq!(
        roles_like(&sync, "APP_READER").await,
        [strings([
            "APP_READER",
            "SYNC_ROLE",
            "back\\slash",
            "0",
            "0",
            "0"
        ])]
    );

    // A database role, in the session's database when unqualified.
    assert_eq!(
        ok(&sync, "CREATE DATABASE ROLE SALES.READERS COMMENT = 'dr'").await,
        "Database role SALES.READERS successfully created."
    );
    let (status, body) = sync
        .submit(
            "",
            json!({"statement": "create database role writers", "database": "SALES"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown: Vec<(String, String, String)> = sync
        .rows("SHOW DATABASE ROLES IN DATABASE SALES")
        .await
        .iter()
        .map(|r| {
            (
                r[1].as_str().unwrap().to_owned(),
                r[8].as_str().unwrap().to_owned(),
                r[9].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("READERS".into(), "SYNC_ROLE".into(), "dr".into()),
            ("WRITERS".into(), "SYNC_ROLE".into(), String::new()),
        ]
    );
    ok(
        &sync,
        "ALTER DATABASE ROLE SALES.WRITERS RENAME TO SALES.EDITORS",
    )
    .await;
    ok(&sync, "DROP DATABASE ROLE SALES.READERS").await;
    let names = column_of(&sync.rows("SHOW DATABASE ROLES IN DATABASE SALES").await, 1);
    assert_eq!(names, ["EDITORS"]);
    let (status, body) = sync
        .run("ALTER DATABASE ROLE SALES.EDITORS RENAME TO OTHER.EDITORS")
        .await;
    assert_error(
        status,
        &body,
        "000002",
        "Unsupported feature 'renaming a database role into another database'.",
    );

    // Rename, then drop; IF EXISTS makes both a no-op on a missing role.
    ok(&sync, "ALTER ROLE APP_READER RENAME TO \"App Reader\"").await;
    assert_eq!(
        column_of(&sync.rows("SHOW ROLES LIKE 'app%'").await, 1),
        ["App Reader"]
    );
    assert_eq!(
        ok(&sync, "DROP ROLE \"App Reader\"").await,
        "\"App Reader\" successfully dropped."
    );
    assert!(sync.rows("SHOW ROLES LIKE 'app%'").await.is_empty());
    assert_eq!(
        ok(&sync, "DROP ROLE IF EXISTS APP_READER").await,
        "Drop statement executed successfully (APP_READER already dropped)."
    );
    assert_eq!(
        ok(&sync, "ALTER ROLE IF EXISTS APP_READER RENAME TO X").await,
        "Statement executed successfully."
    );
    for statement in [
        "DROP ROLE APP_READER",
        "ALTER ROLE APP_READER SET COMMENT = 'x'",
    ] {
        let (status, body) = sync.run(statement).await;
        assert_error(
            status,
            &body,
            "002003",
            "SQL compilation error:\nRole 'APP_READER' does not exist or not authorized.",
        );
    }
    let (status, body) = sync.run("DROP DATABASE ROLE IF EXISTS NOPE.R").await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized.",
    );
    let counters = standin.requests();
    // CREATE counts by its first two words: three CREATE ROLE, two CREATE DATABASE ROLE.
    assert_eq!(
        (
            counters.by_prefix["CREATE ROLE"],
            counters.by_prefix["CREATE DATABASE"]
        ),
        (3, 2)
    );
    assert_eq!(counters.statements_executed, counters.executed);
}

#[tokio::test]
async fn grants_and_revokes_show_in_show_grants_to_and_of() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    ok(&sync, "CREATE ROLE R1").await;
    ok(&sync, "CREATE ROLE R2").await;
    for statement in [
        "GRANT USAGE ON DATABASE SALES TO ROLE R1",
        "grant usage, monitor on schema sales.\"Mixed.Schema\" to r1",
        "GRANT SELECT, REFERENCES ON TABLE SALES.PUBLIC.ORDERS TO ROLE R1",
        "GRANT SELECT ON VIEW SALES.PUBLIC.\"Customer View\" TO ROLE R1 WITH GRANT OPTION",
        "GRANT SELECT ON DYNAMIC TABLE SALES.\"Mixed.Schema\".EVENTS TO ROLE R1",
        "GRANT USAGE ON FUNCTION SALES.PUBLIC.ADD_ONE(INTEGER) TO ROLE R1",
        "GRANT USAGE ON WAREHOUSE COMPUTE_WH TO ROLE R1",
        "GRANT APPLY MASKING POLICY ON ACCOUNT TO ROLE R1",
        // Granted again: nothing changes.
        "GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO ROLE R1",
        "GRANT ROLE R1 TO ROLE R2",
        "GRANT ROLE R1 TO USER ANALYST",
        "GRANT ROLE R1 TO USER ANALYST",
    ] {
        assert_eq!(
            ok(&sync, statement).await,
            "Statement executed successfully.",
            "{statement}"
        );
    }
    // By granted_on, name, privilege; granted by the object's owner (SYSADMIN owns SALES and
    // its objects), by the session's role for objects the model gives no owner; OWNERSHIP of
    // nothing (R1 owns nothing).
    let row = |privilege, on, name, option, by| strings([privilege, on, name, option, by]);
    assert_eq!(
        grants_to(&sync, "R1").await,
        [
            row(
                "APPLY MASKING POLICY",
                "ACCOUNT",
                "AB12345",
                "false",
                "SYNC_ROLE"
            ),
            row("USAGE", "DATABASE", "SALES", "false", "SYSADMIN"),
            row(
                "SELECT",
                "DYNAMIC_TABLE",
                "SALES.\"Mixed.Schema\".EVENTS",
                "false",
                "SYSADMIN"
            ),
            row(
                "USAGE",
                "FUNCTION",
                "SALES.PUBLIC.\"ADD_ONE\"(NUMBER)",
                "false",
                "SYNC_ROLE"
            ),
            row(
                "MONITOR",
                "SCHEMA",
                "SALES.\"Mixed.Schema\"",
                "false",
                "SYSADMIN"
            ),
            row(
                "USAGE",
                "SCHEMA",
                "SALES.\"Mixed.Schema\"",
                "false",
                "SYSADMIN"
            ),
            row(
                "REFERENCES",
                "TABLE",
                "SALES.PUBLIC.ORDERS",
                "false",
                "SYSADMIN"
            ),
            row(
                "SELECT",
                "TABLE",
                "SALES.PUBLIC.ORDERS",
                "false",
                "SYSADMIN"
            ),
            row(
                "SELECT",
                "VIEW",
                "SALES.PUBLIC.\"Customer View\"",
                "true",
                "SYSADMIN"
            ),
            row("USAGE", "WAREHOUSE", "COMPUTE_WH", "false", "SYNC_ROLE"),
        ]
    );
    assert_eq!(
        grants_to(&sync, "R2").await,
        [row("USAGE", "ROLE", "R1", "false", "SYNC_ROLE")]
    );
    assert_eq!(
        grants_of(&sync, "R1").await,
        [
            strings(["ROLE", "R2", "SYNC_ROLE"]),
            strings(["USER", "ANALYST", "SYNC_ROLE"])
        ]
    );
    assert_eq!(
        roles_like(&sync, "R1").await,
        [strings(["R1", "SYNC_ROLE", "", "1", "1", "0"])]
    );
    // The user may now take R1 as its session role.
    let (status, body) = Client::analyst(&standin)
        .submit(
            "",
            json!({"statement": "select current_role()", "role": "R1"}),
        )
        .await;
    assert_eq!((status, &body["data"]), (StatusCode::OK, &json!([["R1"]])));

    // REVOKE removes; what is not held is revoked successfully all the same.
    for statement in [
        "REVOKE SELECT, REFERENCES ON TABLE SALES.PUBLIC.ORDERS FROM ROLE R1",
        "REVOKE SELECT ON TABLE SALES.PUBLIC.ORDERS FROM ROLE R1",
        "REVOKE USAGE ON FUNCTION SALES.PUBLIC.ADD_ONE(NUMBER) FROM R1",
        "REVOKE APPLY MASKING POLICY ON ACCOUNT FROM ROLE R1",
        "REVOKE ROLE R1 FROM USER ANALYST",
        "REVOKE ROLE R1 FROM USER ANALYST",
        "REVOKE ROLE R1 FROM ROLE R2",
    ] {
        assert_eq!(
            ok(&sync, statement).await,
            "Statement executed successfully.",
            "{statement}"
        );
    }
    let privileges: Vec<String> = grants_to(&sync, "R1")
        .await
        .iter()
        .map(|r| format!("{} {}", r[0], r[1]))
        .collect();
    assert_eq!(
        privileges,
        [
            "USAGE DATABASE",
            "SELECT DYNAMIC_TABLE",
            "MONITOR SCHEMA",
            "USAGE SCHEMA",
            "SELECT VIEW",
            "USAGE WAREHOUSE"
        ]
    );
    assert!(grants_of(&sync, "R1").await.is_empty());
    assert!(grants_to(&sync, "R2").await.is_empty());
    assert_eq!(standin.requests().by_prefix["REVOKE"], 7);
}

#[tokio::test]
async fn a_materialized_view_is_granted_on_view_and_shown_as_what_it_is() {
    let mut fixture = account();
    fixture.databases[0].schemas[0]
        .tables
        .push(snowflake_standin::Table {
            name: "MV".into(),
            kind: snowflake_standin::TableKind::MaterializedView,
            owner: "SYSADMIN".into(),
            ..Default::default()
        });
    let standin = start(fixture, Options::default()).await;
    let sync = Client::sync(&standin);
    ok(&sync, "CREATE ROLE MV_READER").await;
    ok(
        &sync,
        "GRANT SELECT ON VIEW \"SALES\".\"PUBLIC\".\"MV\" TO ROLE \"MV_READER\"",
    )
    .await;
    ok(
        &sync,
        "GRANT REFERENCES ON MATERIALIZED VIEW SALES.PUBLIC.MV TO ROLE MV_READER",
    )
    .await;
    assert_eq!(
        grants_to(&sync, "MV_READER").await,
        [
            strings([
                "REFERENCES",
                "MATERIALIZED_VIEW",
                "SALES.PUBLIC.MV",
                "false",
                "SYSADMIN"
            ]),
            strings([
                "SELECT",
                "MATERIALIZED_VIEW",
                "SALES.PUBLIC.MV",
                "false",
                "SYSADMIN"
            ])
        ]
    );
    ok(
        &sync,
        "REVOKE SELECT ON VIEW SALES.PUBLIC.MV FROM ROLE MV_READER",
    )
    .await;
    assert_eq!(grants_to(&sync, "MV_READER").await.len(), 1);
    // A plain view is no materialized view.
    let (status, body) = sync
        .run("GRANT SELECT ON MATERIALIZED VIEW SALES.PUBLIC.\"Customer View\" TO ROLE MV_READER")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nMaterialized view 'SALES.PUBLIC.\"Customer View\"' does not exist or not authorized.",
    );
}

#[tokio::test]
async fn database_roles_are_granted_to_roles_and_hold_their_own_databases_privileges() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    for statement in [
        "CREATE DATABASE ROLE SALES.DR_READ",
        "CREATE DATABASE ROLE SALES.DR_ALL",
        "CREATE ROLE ANALYSTS",
        "GRANT USAGE ON SCHEMA SALES.PUBLIC TO DATABASE ROLE SALES.DR_READ",
        "GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO DATABASE ROLE SALES.DR_READ",
        "GRANT DATABASE ROLE SALES.DR_READ TO DATABASE ROLE SALES.DR_ALL",
        "GRANT DATABASE ROLE SALES.DR_ALL TO ROLE ANALYSTS",
    ] {
        ok(&sync, statement).await;
    }
    let to: Vec<(String, String)> = sync
        .rows("SHOW GRANTS TO DATABASE ROLE SALES.DR_READ")
        .await
        .iter()
        .map(|r| {
            (
                r[1].as_str().unwrap().to_owned(),
                r[3].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        to,
        [
            ("USAGE".to_owned(), "SALES.PUBLIC".to_owned()),
            ("SELECT".to_owned(), "SALES.PUBLIC.ORDERS".to_owned()),
        ]
    );
    let of: Vec<(String, String)> = sync
        .rows("SHOW GRANTS OF DATABASE ROLE SALES.DR_ALL")
        .await
        .iter()
        .map(|r| {
            (
                r[2].as_str().unwrap().to_owned(),
                r[3].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(of, [("ROLE".to_owned(), "ANALYSTS".to_owned())]);
    let shown = sync.rows("SHOW DATABASE ROLES IN DATABASE SALES").await;
    // DR_ALL: granted to one account role, holds one database role; DR_READ: granted to one
    // database role.
    let counts: Vec<Vec<Value>> = shown.iter().map(|r| r[5..8].to_vec()).collect();
    assert_eq!(
        counts,
        [
            vec![json!("1"), json!("0"), json!("1")],
            vec![json!("0"), json!("1"), json!("0")]
        ]
    );

    // A database role holds nothing outside its database, and goes to no other database's
    // database role; a cycle is refused.
    let refusals = [
        (
            "GRANT CREATE DATABASE ON ACCOUNT TO DATABASE ROLE SALES.DR_READ",
            "003011",
            "SQL compilation error:\nA database role holds privileges only on objects of its database (SALES).",
        ),
        (
            "GRANT USAGE ON WAREHOUSE COMPUTE_WH TO DATABASE ROLE SALES.DR_READ",
            "003011",
            "SQL compilation error:\nA database role holds privileges only on objects of its database (SALES).",
        ),
        (
            "GRANT USAGE ON DATABASE \"Finance Dept\" TO DATABASE ROLE SALES.DR_READ",
            "003011",
            "SQL compilation error:\nA database role holds privileges only on objects of its database (SALES).",
        ),
        (
            "GRANT DATABASE ROLE SALES.DR_ALL TO DATABASE ROLE SALES.DR_READ",
            "003012",
            "SQL compilation error:\nCannot grant database role SALES.DR_ALL to SALES.DR_READ, as it is already granted to SALES.DR_ALL.",
        ),
        (
            "GRANT DATABASE ROLE SALES.NOPE TO ROLE ANALYSTS",
            "002003",
            "SQL compilation error:\nDatabase role 'SALES.NOPE' does not exist or not authorized.",
        ),
    ];
    for (statement, code, message) in refusals {
        let (status, body) = sync.run(statement).await;
        assert_error(status, &body, code, message);
    }
    // Dropping a database role removes it from what held it.
    ok(&sync, "DROP DATABASE ROLE SALES.DR_READ").await;
    assert!(
        sync.rows("SHOW GRANTS TO DATABASE ROLE SALES.DR_ALL")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn refusals_carry_snowflakes_codes() {
    let mut fixture = account();
    // SECURITYADMIN, granted to ACCOUNTADMIN by the SYSTEM role, as in every account.
    fixture.roles.extend(
        Role::system_roles()
            .into_iter()
            .filter(|r| r.name == "SECURITYADMIN"),
    );
    fixture.databases[2]
        .schemas
        .push(snowflake_standin::Schema {
            name: "S".into(),
            tables: vec![snowflake_standin::Table {
                name: "T".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
    let standin = start(fixture, Options::default()).await;
    let sync = Client::sync(&standin);
    ok(&sync, "CREATE ROLE A").await;
    ok(&sync, "CREATE ROLE B").await;
    ok(&sync, "GRANT ROLE A TO ROLE B").await;
    let does_not_exist = |what: &str, name: &str| {
        format!("SQL compilation error:\n{what} '{name}' does not exist or not authorized.")
    };
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "GRANT ROLE NOPE TO ROLE A",
            "002003",
            does_not_exist("Role", "NOPE"),
        ),
        (
            "GRANT ROLE A TO USER NOBODY",
            "002003",
            does_not_exist("User", "NOBODY"),
        ),
        (
            "GRANT SELECT ON TABLE SALES.PUBLIC.NOPE TO ROLE A",
            "002003",
            does_not_exist("Table", "SALES.PUBLIC.NOPE"),
        ),
        (
            "GRANT SELECT ON TABLE SALES.PUBLIC.\"Customer View\" TO ROLE A",
            "002003",
            does_not_exist("Table", "SALES.PUBLIC.\"Customer View\""),
        ),
        (
            "GRANT USAGE ON SCHEMA SALES.NOPE TO ROLE A",
            "002003",
            does_not_exist("Schema", "SALES.NOPE"),
        ),
        (
            "GRANT USAGE ON FUNCTION SALES.PUBLIC.ADD_ONE(VARCHAR) TO ROLE A",
            "002003",
            does_not_exist("Function", "SALES.PUBLIC.ADD_ONE"),
        ),
        (
            "GRANT USAGE ON WAREHOUSE NOPE_WH TO ROLE A",
            "002003",
            does_not_exist("Warehouse", "NOPE_WH"),
        ),
        (
            "GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO ROLE NOPE",
            "002003",
            does_not_exist("Role", "NOPE"),
        ),
        (
            "GRANT SELECT ON TABLE SHARED.S.T TO ROLE A",
            "003011",
            "SQL compilation error:\nGranting individual privileges on imported databases is not allowed. Use 'GRANT IMPORTED PRIVILEGES' instead.".to_owned(),
        ),
        (
            "ALTER ROLE A RENAME TO B",
            "002002",
            "SQL compilation error:\nObject 'B' already exists.".to_owned(),
        ),
        (
            "GRANT ROLE B TO ROLE A",
            "003012",
            "SQL compilation error:\nCannot grant role B to A, as A is already granted to B."
                .to_owned(),
        ),
        (
            "GRANT ROLE A TO ROLE A",
            "003012",
            "SQL compilation error:\nCannot grant role A to A, as A is already granted to A."
                .to_owned(),
        ),
        (
            "DROP ROLE ACCOUNTADMIN",
            "003001",
            "SQL access control error:\nInsufficient privileges to operate on role 'ACCOUNTADMIN'"
                .to_owned(),
        ),
        (
            "ALTER ROLE PUBLIC RENAME TO EVERYONE",
            "003001",
            "SQL access control error:\nInsufficient privileges to operate on role 'PUBLIC'"
                .to_owned(),
        ),
        (
            "GRANT SELECT ON WAREHOUSE COMPUTE_WH TO ROLE A",
            "001003",
            "SQL compilation error:\nsyntax error line 1 at position 6 unexpected 'SELECT'."
                .to_owned(),
        ),
        (
            "GRANT OWNERSHIP ON ROLE A TO ROLE B",
            "001003",
            "SQL compilation error:\nsyntax error line 1 at position 19 unexpected 'ROLE'."
                .to_owned(),
        ),
        (
            "BEGIN",
            "000002",
            "Unsupported feature 'BEGIN outside a multi-statement request'.".to_owned(),
        ),
        (
            "GRANT USAGE ON SCHEMA PUBLIC TO ROLE A",
            "090105",
            "Cannot perform GRANT. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.".to_owned(),
        ),
    ];
    for (statement, code, message) in &cases {
        let (status, body) = sync.run(statement).await;
        assert_error(status, &body, code, message);
    }
    // The system hierarchy is the SYSTEM role's: it cannot be revoked.
    let (status, body) = sync
        .run("REVOKE ROLE SECURITYADMIN FROM ROLE ACCOUNTADMIN")
        .await;
    assert_error(
        status,
        &body,
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on role 'SECURITYADMIN'",
    );
    assert_eq!(
        grants_of(&sync, "SECURITYADMIN").await,
        [strings(["ROLE", "ACCOUNTADMIN", ""])]
    );

    // ANALYST has no MANAGE GRANTS and owns nothing of this: refused, and nothing changed.
    let analyst = Client::analyst(&standin);
    for (statement, object) in [
        ("CREATE ROLE C", "account 'AB12345'"),
        ("GRANT ROLE A TO USER ANALYST", "role 'A'"),
        ("DROP ROLE A", "role 'A'"),
        ("ALTER ROLE A SET COMMENT = 'mine'", "role 'A'"),
        (
            "GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO ROLE ANALYST",
            "table 'SALES.PUBLIC.ORDERS'",
        ),
    ] {
        let (status, body) = analyst.run(statement).await;
        assert_error(
            status,
            &body,
            "003001",
            &format!("SQL access control error:\nInsufficient privileges to operate on {object}"),
        );
    }
    // Without MANAGE GRANTS the database the role cannot see does not exist for it.
    let (status, body) = analyst
        .run("GRANT USAGE ON DATABASE \"Finance Dept\" TO ROLE ANALYST")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase '\"Finance Dept\"' does not exist or not authorized.",
    );
    let unchanged = standin.with_account(|a| {
        let a_role = a.roles.iter().find(|r| r.name == "A");
        (
            a.roles.iter().any(|r| r.name == "C"),
            a_role.map(|r| (r.comment.clone(), r.granted_to.len())),
        )
    });
    assert_eq!(unchanged, (false, Some((String::new(), 1))));

    // FINANCE owns "Finance Dept": it grants on it without MANAGE GRANTS; ANALYST holds
    // FINANCE but as a session role of its own it does not own the database.
    let (status, body) = analyst
        .submit(
            "",
            json!({"statement": "GRANT USAGE ON DATABASE \"Finance Dept\" TO ROLE A", "role": "FINANCE"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        grants_to(&sync, "A").await,
        [strings([
            "USAGE",
            "DATABASE",
            "\"Finance Dept\"",
            "false",
            "FINANCE"
        ])]
    );
}

#[tokio::test]
async fn drop_role_removes_its_grants_and_memberships_and_hands_over_what_it_owned() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    for statement in [
        "CREATE ROLE PARENT",
        "GRANT ROLE FINANCE TO ROLE PARENT",
        "GRANT USAGE ON DATABASE SALES TO ROLE FINANCE",
        "GRANT ROLE FINANCE TO USER LEGACY",
    ] {
        ok(&sync, statement).await;
    }
    ok(&sync, "DROP ROLE FINANCE").await;
    standin.with_account(|account| {
        assert!(account.roles.iter().all(|r| r.name != "FINANCE"));
        let parent = account.roles.iter().find(|r| r.name == "PARENT").unwrap();
        assert!(parent.granted_to.is_empty() && parent.grants.is_empty());
        // "Finance Dept", its schema, were FINANCE's: now the session role's.
        let finance = &account.databases[1];
        assert_eq!(
            (finance.owner.as_str(), finance.schemas[0].owner.as_str()),
            ("SYNC_ROLE", "SYNC_ROLE")
        );
        assert_eq!(finance.visible_to.as_deref(), Some(&[][..]));
        let analyst = account.users.iter().find(|u| u.name == "ANALYST").unwrap();
        assert!(analyst.granted_roles.is_empty());
    });
    assert!(grants_to(&sync, "PARENT").await.is_empty());
    let owned: Vec<String> = grants_to(&sync, "SYNC_ROLE")
        .await
        .iter()
        .filter(|r| r[0] == "OWNERSHIP")
        .map(|r| format!("{} {}", r[1], r[2]))
        .collect();
    assert_eq!(
        owned,
        [
            "DATABASE \"Finance Dept\"",
            "ROLE PARENT",
            "SCHEMA \"Finance Dept\".LEDGER"
        ]
    );
    // Renaming keeps grants and memberships, under the new name everywhere.
    ok(&sync, "GRANT ROLE PARENT TO USER LEGACY").await;
    ok(&sync, "GRANT USAGE ON DATABASE SALES TO ROLE PARENT").await;
    ok(&sync, "ALTER ROLE PARENT RENAME TO ELDER").await;
    assert_eq!(
        grants_of(&sync, "ELDER").await,
        [strings(["USER", "LEGACY", "SYNC_ROLE"])]
    );
    assert_eq!(grants_to(&sync, "ELDER").await.len(), 1);
    let (status, _) = sync.run("SHOW GRANTS TO ROLE PARENT").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_renamed_session_role_keeps_owning_what_it_creates_next() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let (status, body) = multi(
        &sync,
        "3",
        &[
            "ALTER ROLE SYNC_ROLE RENAME TO SYNC_ROLE_2",
            "CREATE ROLE MADE_AFTER",
            "SHOW ROLES LIKE 'MADE_AFTER'",
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = sync
        .get(&format!(
            "/api/v2/statements/{}",
            body["statementHandles"][2].as_str().unwrap()
        ))
        .await;
    let shown: Value = shown.json().await.unwrap();
    assert_eq!(shown["data"][0][8], "SYNC_ROLE_2", "{shown}");
}

#[tokio::test]
async fn grants_reach_account_usage_after_their_latency() {
    let quick = start(
        account(),
        Options {
            grants_latency: Duration::ZERO,
            ..Options::default()
        },
    )
    .await;
    let slow = standin().await;
    for standin in [&quick, &slow] {
        let sync = Client::sync(standin);
        ok(&sync, "CREATE ROLE NEWCOMER").await;
        ok(
            &sync,
            "GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO ROLE NEWCOMER",
        )
        .await;
    }
    let query = "SELECT PRIVILEGE, GRANTED_ON, NAME, GRANTED_BY, DELETED_ON FROM SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES WHERE GRANTEE_NAME = 'NEWCOMER' ORDER BY PRIVILEGE";
    // Without latency the grant is there at once (NEWCOMER owns nothing: no OWNERSHIP row).
    assert_eq!(
        Client::sync(&quick).rows(query).await,
        [vec![
            json!("SELECT"),
            json!("TABLE"),
            json!("ORDERS"),
            json!("SYSADMIN"),
            Value::Null
        ]]
    );
    // With Snowflake's 2 hours, the new grant is not there yet (nor the new role's ownership,
    // which counts from its creation).
    assert!(Client::sync(&slow).rows(query).await.is_empty());
    let ownership = "SELECT NAME FROM SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES WHERE PRIVILEGE = 'OWNERSHIP' AND NAME = 'NEWCOMER'";
    assert_eq!(Client::sync(&quick).rows(ownership).await.len(), 1);
    assert!(Client::sync(&slow).rows(ownership).await.is_empty());
    // A revoked grant leaves GRANTS_TO_ROLES (the model keeps no DELETED_ON history).
    ok(
        &Client::sync(&quick),
        "REVOKE SELECT ON TABLE SALES.PUBLIC.ORDERS FROM ROLE NEWCOMER",
    )
    .await;
    assert!(Client::sync(&quick).rows(query).await.is_empty());
}

#[tokio::test]
async fn a_multi_statement_request_runs_every_statement_and_answers_their_handles() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let statements = [
        "BEGIN",
        "CREATE ROLE M1",
        "GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO ROLE M1",
        "GRANT ROLE M1 TO USER LEGACY",
        "SHOW GRANTS TO ROLE M1",
        "COMMIT",
    ];
    let (status, body) = multi(&sync, "0", &statements).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!([["Multiple statements executed successfully."]])
    );
    assert_eq!(
        body["resultSetMetaData"]["rowType"][0]["name"],
        "multiple statement execution"
    );
    assert_eq!(body["resultSetMetaData"]["rowType"][0]["type"], "text");
    let handles: Vec<String> = body["statementHandles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(handles.len(), 6);
    assert!(!handles.contains(&body["statementHandle"].as_str().unwrap().to_owned()));

    // Each statement's own result, under its handle.
    let (status, child) = sync.poll(&handles[1]).await;
    assert_eq!(status, StatusCode::OK, "{child}");
    assert_eq!(child["data"], json!([["Role M1 successfully created."]]));
    assert_eq!(child["resultSetMetaData"]["rowType"][0]["name"], "status");
    let (_, begin) = sync.poll(&handles[0]).await;
    assert_eq!(begin["data"], json!([["Statement executed successfully."]]));
    // The SHOW ran after the GRANT, in the same request: it sees it.
    let (_, show) = sync.poll(&handles[4]).await;
    assert_eq!(show["data"][0][1], "SELECT", "{show}");
    // The parent's handle answers the same as the POST, handles included.
    let (status, again) = sync.poll(body["statementHandle"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["statementHandles"], body["statementHandles"]);

    assert_eq!(
        grants_of(&sync, "M1").await,
        [strings(["USER", "LEGACY", "SYNC_ROLE"])]
    );
    let counters = standin.requests();
    assert_eq!(
        (
            counters.submitted,
            counters.statements_executed,
            counters.by_prefix.get("GRANT"),
            counters.by_prefix.get("BEGIN"),
            counters.by_prefix.get("SHOW GRANTS"),
        ),
        (2, 7, Some(&2), Some(&1), Some(&2))
    );
    assert_eq!(standin.statements()[0], statements.join(";\n"));

    // An exact count works too; a single write without MULTI_STATEMENT_COUNT as well.
    let (status, body) = multi(&sync, "2", &["CREATE ROLE M2", "DROP ROLE M2"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["statementHandles"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_failure_in_the_middle_keeps_what_ran_before_and_runs_nothing_after() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let (status, body) = multi(
        &sync,
        "0",
        &[
            "BEGIN TRANSACTION",
            "CREATE ROLE BEFORE_IT",
            "GRANT ROLE NOPE TO ROLE BEFORE_IT",
            "CREATE ROLE AFTER_IT",
            "COMMIT",
        ],
    )
    .await;
    assert_error(
        status,
        &body,
        "100132",
        "Uncaught exception of type 'STATEMENT_ERROR' on line 3 at position 0 : SQL compilation error:\nRole 'NOPE' does not exist or not authorized. [code 002003, sqlState 02000]",
    );
    assert_eq!(body["sqlState"], "P0000");
    assert!(body.get("statementHandles").is_none(), "{body}");
    // DDL commits on its own, BEGIN or not: the role created before stays.
    assert_eq!(
        column_of(&sync.rows("SHOW ROLES LIKE '%_IT'").await, 1),
        ["BEFORE_IT"]
    );
    assert_eq!(standin.requests().statements_executed, 3 + 1);

    // A statement that does not parse fails when its turn comes, the same way.
    let (status, body) = multi(
        &sync,
        "3",
        &[
            "CREATE ROLE FIRST_ONE",
            "GRANT NONSENSE",
            "CREATE ROLE THIRD",
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "100132");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Uncaught exception of type 'STATEMENT_ERROR' on line 2 at position 0 : SQL compilation error:\nsyntax error line 2"),
        "{body}"
    );
    assert_eq!(
        column_of(&sync.rows("SHOW ROLES LIKE 'FIRST_ONE'").await, 1),
        ["FIRST_ONE"]
    );
    assert!(sync.rows("SHOW ROLES LIKE 'THIRD'").await.is_empty());
}

#[tokio::test]
async fn a_multi_statement_request_needs_its_count_a_warehouse_and_no_bindings() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let (status, body) = multi(&sync, "3", &["CREATE ROLE X1", "CREATE ROLE X2"]).await;
    assert_error(
        status,
        &body,
        "000008",
        "Actual statement count 2 did not match the desired statement count 3.",
    );
    let (status, body) = sync.run("CREATE ROLE X1; CREATE ROLE X2").await;
    assert_error(
        status,
        &body,
        "000008",
        "Actual statement count 2 did not match the desired statement count 1.",
    );
    let (status, body) = sync
        .submit(
            "",
            json!({
                "statement": "CREATE ROLE X1; CREATE ROLE X2",
                "warehouse": "NO_SUCH_WH",
                "parameters": {"MULTI_STATEMENT_COUNT": "2"},
            }),
        )
        .await;
    assert_error(
        status,
        &body,
        "000606",
        "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.",
    );
    let (status, body) = sync
        .submit(
            "",
            json!({
                "statement": "CREATE ROLE X1; SHOW ROLES LIKE ?",
                "bindings": {"1": {"type": "TEXT", "value": "X%"}},
                "parameters": {"MULTI_STATEMENT_COUNT": "0"},
            }),
        )
        .await;
    assert_error(
        status,
        &body,
        "000002",
        "Unsupported feature 'bind variables in a multi-statement request'.",
    );
    // Nothing ran.
    assert!(sync.rows("SHOW ROLES LIKE 'X_'").await.is_empty());
    assert_eq!(standin.requests().statements_executed, 1);
}

#[tokio::test]
async fn quoted_unicode_and_255_character_names_are_kept_exactly() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let long: String = "é".repeat(254) + "Z";
    assert_eq!(long.chars().count(), 255);
    let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    for name in ["say \"hi\"", "Rôle ✓ 東京", "lower", long.as_str()] {
        ok(&sync, &format!("CREATE ROLE {}", quoted(name))).await;
        ok(
            &sync,
            &format!("GRANT ROLE {} TO USER LEGACY", quoted(name)),
        )
        .await;
        assert_eq!(
            grants_of(&sync, &quoted(name)).await,
            [strings(["USER", "LEGACY", "SYNC_ROLE"])],
            "{name}"
        );
    }
    let names = column_of(&sync.rows("SHOW ROLES").await, 1);
    for name in ["say \"hi\"", "Rôle ✓ 東京", "lower", long.as_str()] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    // Unquoted: upper-cased, so `lower` and "lower" are two roles; LOWER is the unquoted one.
    ok(&sync, "CREATE ROLE lower").await;
    assert_eq!(
        column_of(&sync.rows("SHOW ROLES LIKE 'lower'").await, 1),
        ["LOWER", "lower"]
    );
    let too_long = "x".repeat(256);
    let (status, body) = sync.run(&format!("CREATE ROLE \"{too_long}\"")).await;
    assert_error(
        status,
        &body,
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 12: identifier of 256 characters; the maximum is 255.",
    );
    // A privilege grant to a quoted name, read back quoted as SHOW GRANTS quotes.
    ok(
        &sync,
        "GRANT USAGE ON DATABASE SALES TO ROLE \"say \"\"hi\"\"\"",
    )
    .await;
    let (status, body) = sync.run("SHOW GRANTS TO ROLE \"say \"\"hi\"\"\"").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0][5], "\"say \"\"hi\"\"\"");
}

#[tokio::test]
async fn an_injected_fault_fails_the_matching_statement_in_the_middle_of_a_request() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    standin.faults().fail_statement_matching("TO ROLE AP_2", 1);
    let statements = [
        "CREATE ROLE AP_1",
        "CREATE ROLE AP_2",
        "GRANT USAGE ON DATABASE SALES TO ROLE AP_1",
        "GRANT USAGE ON DATABASE SALES TO ROLE AP_2",
        "GRANT USAGE ON DATABASE SALES TO ROLE AP_1",
    ];
    let (status, body) = multi(&sync, "0", &statements).await;
    assert_error(
        status,
        &body,
        "100132",
        "Uncaught exception of type 'STATEMENT_ERROR' on line 4 at position 0 : SQL access control error:\nInsufficient privileges to operate on 'TO ROLE AP_2' (a fault injected by the test) [code 003001, sqlState 42501]",
    );
    assert_eq!(grants_to(&sync, "AP_1").await.len(), 1);
    assert!(grants_to(&sync, "AP_2").await.is_empty());
    // Once only: sent again (CREATE IF NOT EXISTS would be the apply's way; the roles exist
    // now), the grant passes.
    assert_eq!(
        ok(&sync, "GRANT USAGE ON DATABASE SALES TO ROLE AP_2").await,
        "Statement executed successfully."
    );
    assert_eq!(grants_to(&sync, "AP_2").await.len(), 1);
    // A single statement takes the fault as well.
    standin
        .faults()
        .fail_statement_matching("DROP ROLE AP_1", 1);
    let (status, body) = sync.run("DROP ROLE AP_1").await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("003001"))
    );
    assert_eq!(body["sqlState"], "42501");
}

/// The apply's scale: 1,000 GRANTs in one request against an account of 10,000 roles; every
/// grant is recorded once, and the account is read back consistently afterwards.
#[tokio::test]
async fn a_thousand_grants_against_ten_thousand_roles_in_one_request() {
    let mut fixture = account();
    fixture.roles.extend((0..10_000).map(|i| Role {
        name: format!("BULK_{i:05}"),
        owner: "USERADMIN".into(),
        ..Role::default()
    }));
    fixture
        .grant_role("BULK_00000", Grantee::Role("BULK_00001".into()))
        .unwrap();
    let standin = start(fixture, Options::default()).await;
    let sync = Client::sync(&standin);
    let statements: Vec<String> = (0..1_000)
        .map(|i| match i % 4 {
            0 => format!("GRANT SELECT ON TABLE SALES.PUBLIC.ORDERS TO ROLE BULK_{i:05}"),
            1 => format!("GRANT USAGE ON DATABASE SALES TO ROLE BULK_{i:05}"),
            2 => format!("GRANT ROLE BULK_{:05} TO ROLE BULK_{i:05}", i + 5_000),
            _ => format!("GRANT ROLE BULK_{i:05} TO USER LEGACY"),
        })
        .collect();
    let texts: Vec<&str> = statements.iter().map(String::as_str).collect();
    let (status, body) = multi(&sync, "1000", &texts).await;
    assert_eq!(status, StatusCode::OK, "{}", body["message"]);
    assert_eq!(
        body["statementHandles"].as_array().map(Vec::len),
        Some(1_000)
    );
    let (privileges, memberships) = standin.with_account(|account: &Account| {
        let privileges: usize = account.roles.iter().map(|r| r.grants.len()).sum();
        let memberships: usize = account.roles.iter().map(|r| r.granted_to.len()).sum();
        (privileges, memberships)
    });
    // The fixture's system roles hold no grants; BULK_00000 was granted to BULK_00001.
    assert_eq!((privileges, memberships), (500, 501));
    assert_eq!(standin.requests().by_prefix["GRANT"], 1_000);
    assert_eq!(
        grants_to(&sync, "BULK_00002").await,
        [strings([
            "USAGE",
            "ROLE",
            "BULK_05002",
            "false",
            "USERADMIN"
        ])]
    );
}
