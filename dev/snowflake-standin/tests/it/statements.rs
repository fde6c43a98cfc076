//! The served statements with Snowflake's semantics: SHOW paging and the 10,000-row rules,
//! INFORMATION_SCHEMA and TAG_REFERENCES queries, visibility by role, warehouses, errors.

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::{Options, User};

use crate::support::*;

fn assert_error(status: StatusCode, body: &Value, code: &str, message: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["statementHandle"].as_str().unwrap().len(), 36);
}

fn with_users(n: usize) -> snowflake_standin::Account {
    let mut account = account();
    account.users.extend((0..n).map(|i| User {
        name: format!("U{i:05}"),
        login_name: format!("u{i}"),
        owner: "USERADMIN".into(),
        ..User::default()
    }));
    account
}

#[tokio::test]
async fn show_users_pages_with_limit_and_an_exclusive_from_cursor() {
    let standin = start(with_users(25), Options::default()).await;
    let client = Client::sync(&standin);
    let mut names = Vec::new();
    let mut statement = "SHOW USERS LIMIT 10".to_owned();
    loop {
        let page = column_of(&client.rows(&statement).await, 0);
        assert!(page.len() <= 10);
        let Some(last) = page.last().cloned() else {
            break;
        };
        names.extend(page);
        statement = format!("SHOW USERS LIMIT 10 FROM '{last}'");
    }
    let mut expected: Vec<String> = with_users(25)
        .users
        .iter()
        .map(|u| u.name.clone())
        .collect();
    expected.sort();
    assert_eq!(names, expected, "every user once, in name order");
    // A partial name is a cursor too; the comparison is case-sensitive.
    assert_eq!(
        column_of(&client.rows("show users limit 2 from 'U0001'").await, 0),
        ["U00010", "U00011"]
    );
    assert_eq!(
        column_of(
            &client
                .rows("show users like 'u0000%' starts with 'U00003'")
                .await,
            0
        ),
        ["U00003"]
    );
    assert_eq!(
        client.rows("show users limit 5 from 'u'").await.len(),
        0,
        "lower case sorts after upper case"
    );
}

#[tokio::test]
async fn show_refuses_more_than_10000_rows() {
    let standin = start(with_users(10_001), Options::default()).await;
    let client = Client::sync(&standin);
    let (status, body) = client.run("SHOW USERS").await;
    assert_error(
        status,
        &body,
        "090153",
        "The result set size exceeded the max number of rows(10000) supported for SHOW statements. Use LIMIT option to limit result set to a smaller number.",
    );
    let (status, body) = client.run("SHOW USERS LIMIT 10001").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "090153");
    let page = client.rows("SHOW USERS LIMIT 10000").await;
    assert_eq!(page.len(), 10_000);
    let last = page[9_999][0].as_str().unwrap();
    let rest = client
        .rows(&format!("SHOW USERS LIMIT 10000 FROM '{last}'"))
        .await;
    assert_eq!(
        rest.len(),
        10_005 - 10_000,
        "the 4 fixture users and 10,001 generated, less the first page"
    );
    // LIKE narrows the result below the limit.
    assert_eq!(client.rows("SHOW USERS LIKE 'U0000%'").await.len(), 10);
}

#[tokio::test]
async fn show_databases_lists_what_the_role_sees_in_name_order() {
    let standin = start(account(), Options::default()).await;
    let analyst = Client::analyst(&standin);
    let (status, body) = analyst.run("SHOW DATABASES").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "created_on",
            "name",
            "is_default",
            "is_current",
            "origin",
            "owner",
            "comment",
            "options",
            "retention_time",
            "kind",
            "budget",
            "owner_role_type",
            "object_visibility"
        ]
    );
    assert_eq!(
        body["data"],
        json!([
            [
                "1704067200.000000000",
                "SALES",
                "N",
                "N",
                "",
                "SYSADMIN",
                "sales data",
                "",
                "1",
                "STANDARD",
                null,
                "ROLE",
                null
            ],
            [
                "1704067200.000000000",
                "SHARED",
                "N",
                "N",
                "OTHERORG.OTHER.SHARE1",
                "ACCOUNTADMIN",
                "",
                "",
                "",
                "IMPORTED DATABASE",
                null,
                "ROLE",
                null
            ],
        ])
    );
    let (_, body) = analyst
        .submit(
            "",
            json!({"statement": "show databases", "role": "FINANCE"}),
        )
        .await;
    assert_eq!(
        column_of(
            &serde_json::from_value::<Vec<Vec<Value>>>(body["data"].clone()).unwrap(),
            1
        ),
        ["Finance Dept", "SALES", "SHARED"]
    );
    // MANAGE GRANTS sees every database in SHOW output.
    let rows = Client::sync(&standin)
        .rows("show databases in account limit 2 from 'Finance Dept'")
        .await;
    assert_eq!(column_of(&rows, 1), ["SALES", "SHARED"]);
}

#[tokio::test]
async fn information_schema_ignores_manage_grants_and_needs_a_warehouse() {
    let standin = start(account(), Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync
        .run("select * from \"Finance Dept\".information_schema.tables")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase '\"Finance Dept\"' does not exist or not authorized.",
    );
    let (status, body) = sync.run("show schemas in database \"Finance Dept\"").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let analyst = Client::analyst(&standin);
    let (_, body) = analyst
        .submit("", json!({"statement": "select TABLE_NAME from \"Finance Dept\".INFORMATION_SCHEMA.TABLES where table_schema = 'LEDGER'", "role": "FINANCE"}))
        .await;
    assert_eq!(body["data"], json!([["ENTRIES"]]));
    // A warehouse that does not exist leaves the session without one, as in Snowflake.
    let (status, body) = sync
        .submit("", json!({"statement": "select * from SALES.INFORMATION_SCHEMA.SCHEMATA", "warehouse": "NO_SUCH_WH"}))
        .await;
    let no_warehouse = "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.";
    assert_error(status, &body, "000606", no_warehouse);
    // So does a user without a default warehouse.
    let mut account = account();
    account.users[0].default_warehouse.clear();
    let standin = start(account, Options::default()).await;
    let sync = Client::sync(&standin);
    let (status, body) = sync
        .run("select * from SALES.INFORMATION_SCHEMA.SCHEMATA")
        .await;
    assert_error(status, &body, "000606", no_warehouse);
    // Compilation errors come before the missing warehouse; SHOW and context functions need none.
    let (status, body) = sync
        .run("select * from NOPE.INFORMATION_SCHEMA.SCHEMATA")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized.",
    );
    assert_eq!(sync.rows("show schemas in database sales").await.len(), 3);
    assert_eq!(
        sync.rows("select current_warehouse()").await,
        vec![vec![Value::Null]]
    );
}

#[tokio::test]
async fn information_schema_queries_filter_bind_order_and_project() {
    let standin = start(account(), Options::default()).await;
    let client = Client::sync(&standin);
    let (status, body) = client
        .submit("", json!({
            "statement": "SELECT table_schema, TABLE_NAME, \"TABLE_TYPE\", is_dynamic FROM sales.information_schema.tables WHERE TABLE_SCHEMA IN (?, 'Mixed.Schema') ORDER BY 1 DESC, table_name",
            "bindings": {"1": {"type": "TEXT", "value": "PUBLIC"}},
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!([
            ["PUBLIC", "Customer View", "VIEW", "NO"],
            ["PUBLIC", "ORDERS", "BASE TABLE", "NO"],
            ["Mixed.Schema", "EVENTS", "BASE TABLE", "YES"],
        ])
    );
    let column = &body["resultSetMetaData"]["rowType"][1];
    assert_eq!(
        (
            &column["name"],
            &column["database"],
            &column["schema"],
            &column["table"]
        ),
        (
            &json!("TABLE_NAME"),
            &json!("SALES"),
            &json!("INFORMATION_SCHEMA"),
            &json!("TABLES")
        )
    );

    let (_, body) = client
        .run("select * from SALES.INFORMATION_SCHEMA.COLUMNS where TABLE_NAME = 'ORDERS' and ordinal_position = 2")
        .await;
    let row = &body["data"][0];
    let cell = |name: &str| row[index_of(&body, name)].clone();
    assert_eq!(
        [
            "TABLE_SCHEMA",
            "COLUMN_NAME",
            "ORDINAL_POSITION",
            "IS_NULLABLE",
            "DATA_TYPE",
            "NUMERIC_PRECISION",
            "NUMERIC_SCALE",
            "CHARACTER_MAXIMUM_LENGTH",
            "COMMENT"
        ]
        .map(cell),
        [
            json!("PUBLIC"),
            json!("AMOUNT"),
            json!("2"),
            json!("YES"),
            json!("NUMBER"),
            json!("12"),
            json!("2"),
            Value::Null,
            Value::Null
        ]
    );
    // Quoted names are exact; the schema list has INFORMATION_SCHEMA too.
    let rows = client.rows("select SCHEMA_NAME, SCHEMA_OWNER, COMMENT from \"SALES\".INFORMATION_SCHEMA.SCHEMATA order by schema_name").await;
    assert_eq!(
        rows,
        vec![
            vec![
                json!("INFORMATION_SCHEMA"),
                Value::Null,
                json!("Views describing the contents of schemas in this database")
            ],
            vec![json!("Mixed.Schema"), json!("SYSADMIN"), json!("odd name")],
            vec![json!("PUBLIC"), json!("SYSADMIN"), Value::Null],
        ]
    );
    let (status, body) = client
        .run("select * from \"sales\".INFORMATION_SCHEMA.SCHEMATA")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase '\"sales\"' does not exist or not authorized.",
    );
}

#[tokio::test]
async fn statements_outside_the_served_set_get_snowflakes_errors() {
    let standin = start(account(), Options::default()).await;
    let client = Client::sync(&standin);
    let (status, body) = client
        .run("select TABLE_NAME, nope from SALES.INFORMATION_SCHEMA.TABLES")
        .await;
    assert_error(
        status,
        &body,
        "000904",
        "SQL compilation error: error line 1 at position 19\ninvalid identifier 'NOPE'",
    );
    let (status, body) = client
        .run("select \"table_name\" from SALES.INFORMATION_SCHEMA.TABLES")
        .await;
    assert_error(
        status,
        &body,
        "000904",
        "SQL compilation error: error line 1 at position 7\ninvalid identifier '\"table_name\"'",
    );
    let (status, body) = client.run("CREATE TABLE X (A INT)").await;
    assert_error(
        status,
        &body,
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 7 unexpected 'TABLE'.",
    );
    let (status, body) = client
        .run("select * from SALES.INFORMATION_SCHEMA.TABLES where TABLE_NAME like 'O%'")
        .await;
    assert_error(
        status,
        &body,
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 63 unexpected 'like'.",
    );
    let (status, body) = client
        .run("select * from SALES.INFORMATION_SCHEMA.VIEWS")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nObject 'SALES.INFORMATION_SCHEMA.VIEWS' does not exist or not authorized.",
    );
    let (status, body) = client
        .run("select * from SALES.INFORMATION_SCHEMA.TABLES where TABLE_NAME = ?")
        .await;
    assert_error(
        status,
        &body,
        "002049",
        "SQL compilation error: error line 1 at position 65\nBind variable ? not set.",
    );
    let (status, body) = client.run("show users; show roles").await;
    assert_error(
        status,
        &body,
        "000008",
        "Actual statement count 2 did not match the desired statement count 1.",
    );
    let (status, body) = client.run("show schemas in database").await;
    assert_error(
        status,
        &body,
        "090105",
        "Cannot perform SHOW SCHEMAS. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.",
    );
    let (status, body) = client
        .submit(
            "",
            json!({"statement": "show schemas in database", "database": "SALES"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(standin.statements().len(), 9);
    assert_eq!(standin.requests().by_prefix["SHOW SCHEMAS"], 2);
}

#[tokio::test]
async fn tag_references_are_for_account_usage_readers_only() {
    let standin = start(account(), Options::default()).await;
    let rows = Client::sync(&standin)
        .rows("SELECT OBJECT_DATABASE, OBJECT_SCHEMA, OBJECT_NAME, COLUMN_NAME, DOMAIN, TAG_NAME, TAG_VALUE FROM SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES WHERE object_deleted IS NULL AND domain IN ('COLUMN', 'USER')")
        .await;
    assert_eq!(
        rows,
        vec![
            vec![
                json!("SALES"),
                json!("PUBLIC"),
                json!("ORDERS"),
                json!("NOTE"),
                json!("COLUMN"),
                json!("PII"),
                json!("true")
            ],
            vec![
                Value::Null,
                Value::Null,
                json!("ANALYST"),
                Value::Null,
                json!("USER"),
                json!("TEAM"),
                json!("data")
            ],
        ]
    );
    let deleted = Client::sync(&standin).rows("select OBJECT_NAME, OBJECT_DELETED from snowflake.account_usage.tag_references where OBJECT_DELETED is not null").await;
    assert_eq!(
        deleted,
        vec![vec![json!("OLD"), json!("1704067200.000000000")]]
    );
    let (status, body) = Client::analyst(&standin)
        .run("select * from SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES")
        .await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase 'SNOWFLAKE' does not exist or not authorized.",
    );
}

#[tokio::test]
async fn users_show_their_type_and_details_only_to_owners_and_manage_grants() {
    let standin = start(account(), Options::default()).await;
    let sync = Client::sync(&standin);
    let (_, body) = sync.run("show users like 'L%'").await;
    let type_at = index_of(&body, "type");
    assert_eq!(body["data"][0][0], "LEGACY");
    assert_eq!(
        body["data"][0][type_at], "",
        "an untyped user shows an empty type"
    );
    assert_eq!(
        body["data"][0][index_of(&body, "has_rsa_public_key")],
        "false"
    );
    let rows = sync.rows("DESCRIBE USER legacy").await;
    let property = |name: &str| rows.iter().find(|r| r[0] == name).map(|r| r[1].clone());
    assert_eq!(property("TYPE"), Some(json!("NULL")));
    assert_eq!(property("LOGIN_NAME"), Some(json!("LEGACY")));
    assert_eq!(property("EMAIL"), Some(json!("null")));
    let rows = sync.rows("desc user SYNC_USER").await;
    let fp = rows
        .iter()
        .find(|r| r[0] == "RSA_PUBLIC_KEY_FP")
        .map(|r| r[1].clone());
    assert_eq!(
        fp,
        Some(json!("SHA256:ZGLxL85NBy7hO7oElU41UOerJuLgU0DjaKYOMjkuvBU="))
    );

    // ANALYST owns no user and lacks MANAGE GRANTS: names only, and no DESCRIBE of others.
    let analyst = Client::analyst(&standin);
    let (_, body) = analyst.run("show users").await;
    let row = &body["data"][0];
    assert_eq!(row[0], "ANALYST");
    assert!(
        row.as_array().unwrap()[1..].iter().all(Value::is_null),
        "{row}"
    );
    let (status, body) = analyst.run("describe user SYNC_USER").await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nUser 'SYNC_USER' does not exist or not authorized.",
    );
    assert_eq!(
        analyst.rows("describe user analyst").await[0],
        vec![
            json!("NAME"),
            json!("ANALYST"),
            json!("null"),
            json!("Name")
        ]
    );
}

#[tokio::test]
async fn functions_procedures_roles_and_account_objects_are_listed() {
    let standin = start(account(), Options::default()).await;
    let client = Client::sync(&standin);
    let (_, body) = client
        .run("SHOW FUNCTIONS IN DATABASE SALES LIMIT 10000")
        .await;
    let rows: Vec<Vec<Value>> = serde_json::from_value(body["data"].clone()).unwrap();
    // By schema, then name.
    assert_eq!(column_of(&rows, 1), ["ZETA", "ADD_ONE"]);
    let at = |name: &str| index_of(&body, name);
    assert_eq!(
        [
            &rows[0][at("schema_name")],
            &rows[0][at("min_num_arguments")],
            &rows[0][at("arguments")],
            &rows[0][at("catalog_name")]
        ],
        [
            &json!("Mixed.Schema"),
            &json!("2"),
            &json!("ZETA(NUMBER, VARCHAR) RETURN VARCHAR"),
            &json!("SALES")
        ]
    );
    assert_eq!(
        column_of(
            &client.rows("show procedures in database \"SALES\"").await,
            1
        ),
        ["REFRESH"]
    );
    let (_, body) = client.run("show roles").await;
    let rows: Vec<Vec<Value>> = serde_json::from_value(body["data"].clone()).unwrap();
    assert_eq!(
        column_of(&rows, 1),
        [
            "ACCOUNTADMIN",
            "ANALYST",
            "FINANCE",
            "PUBLIC",
            "SYNC_ROLE",
            "USERADMIN"
        ]
    );
    let analyst_row = &rows[1];
    assert_eq!(
        analyst_row[index_of(&body, "assigned_to_users")],
        "2",
        "ANALYST and LEGACY"
    );
    assert_eq!(rows[4][index_of(&body, "is_current")], "Y");
    assert_eq!(
        client.rows("show warehouses").await[0][..4],
        [
            json!("COMPUTE_WH"),
            json!("STARTED"),
            json!("STANDARD"),
            json!("X-Small")
        ]
    );
    assert_eq!(client.rows("show shares").await.len(), 0);
    assert_eq!(client.rows("show integrations").await.len(), 0);
    let (status, body) = client.run("show functions in database \"Nope\"").await;
    assert_error(
        status,
        &body,
        "002003",
        "SQL compilation error:\nDatabase '\"Nope\"' does not exist or not authorized.",
    );
}

#[tokio::test]
async fn a_generated_account_is_deterministic_and_has_every_kind_of_object() {
    let a = snowflake_standin::generate(1_010, 40);
    let b = snowflake_standin::generate(1_010, 40);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(a.identifier(), "RAITO-STANDIN");
    let columns: usize = a
        .databases
        .iter()
        .flat_map(|d| &d.schemas)
        .flat_map(|s| &s.tables)
        .map(|t| t.columns.len())
        .sum();
    assert_eq!(
        columns,
        1_010 + 3,
        "the requested columns and the imported database's table"
    );
    let kinds: std::collections::BTreeSet<String> = a
        .databases
        .iter()
        .flat_map(|d| &d.schemas)
        .flat_map(|s| &s.tables)
        .map(|t| format!("{:?}", t.kind))
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    let types: std::collections::BTreeSet<Option<String>> =
        a.users.iter().map(|u| u.r#type.clone()).collect();
    assert_eq!(
        types.len(),
        4,
        "PERSON, SERVICE, LEGACY_SERVICE and untyped"
    );
    assert!(a.databases.iter().any(|d| d.name == "Finance Dept"));
    assert!(a.tag_references.iter().any(|t| t.domain == "COLUMN"));

    // Served: every table of the generated account comes back from INFORMATION_SCHEMA.
    let mut account = a.clone();
    account.users.push(User {
        name: "SYNC_USER".into(),
        default_role: "ACCOUNTADMIN".into(),
        default_warehouse: "COMPUTE_WH".into(),
        rsa_public_key: Some(CLIENT_PUB.into()),
        ..User::default()
    });
    let standin = start(account, Options::default()).await;
    let client = Client::new(
        &standin,
        jwt_for("RAITO-STANDIN", "SYNC_USER", CLIENT_KEY, CLIENT_PUB),
    );
    let databases = column_of(&client.rows("show databases").await, 1);
    assert_eq!(
        databases,
        [
            "ANALYTICS",
            "Finance Dept",
            "PARTNER_DATA",
            "RAW_EVENTS",
            "SALES",
            "SNOWFLAKE"
        ]
    );
    for db in ["ANALYTICS", "Finance Dept", "RAW_EVENTS", "SALES"] {
        let tables: usize = a
            .databases
            .iter()
            .filter(|d| d.name == db)
            .flat_map(|d| &d.schemas)
            .map(|s| s.tables.len())
            .sum();
        let served = client
            .rows(&format!(
                "select TABLE_NAME from \"{db}\".INFORMATION_SCHEMA.TABLES"
            ))
            .await;
        assert_eq!(
            served.len(),
            tables + 3,
            "{db}: its tables and the three INFORMATION_SCHEMA views"
        );
    }
}
