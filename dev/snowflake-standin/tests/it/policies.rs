//! Masking and row access policies: CREATE and DROP, setting and unsetting a column's masking
//! policy, adding, dropping and swapping a table's or view's row access policy, each read back
//! through SHOW … POLICIES, DESCRIBE … POLICY, INFORMATION_SCHEMA.POLICY_REFERENCES and the
//! account itself;
//! every refusal with its code; a Standard Edition account refusing them all; multi-statement
//! requests; quoted and unicode names.

use reqwest::StatusCode;
use serde_json::{Value, json};
use snowflake_standin::{
    Account, Options, Policy, PolicyKind, PolicyName, RowAccessAttachment, StandIn, Table,
};

use crate::support::*;

/// Runs one statement and asserts it failed with `code` and `message`.
async fn refused(client: &Client, statement: &str, code: &str, message: &str) {
    let (status, body) = client.run(statement).await;
    assert_error(status, &body, code, message);
}

/// Every cell as a string, `NULL` for null.
fn texts(rows: &[Vec<Value>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|c| c.as_str().unwrap_or("NULL").to_owned())
                .collect()
        })
        .collect()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// A SQL string literal of `text`.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The columns the connector selects from POLICY_REFERENCES.
const REFERENCES: &str = "SELECT POLICY_DB, POLICY_SCHEMA, POLICY_NAME, POLICY_KIND, REF_DATABASE_NAME, REF_SCHEMA_NAME, REF_ENTITY_NAME, REF_ENTITY_DOMAIN, REF_COLUMN_NAME, REF_ARG_COLUMN_NAMES, POLICY_STATUS";

/// POLICY_REFERENCES(POLICY_NAME => `policy`) in database `database`.
async fn references_of(client: &Client, database: &str, policy: &str) -> Vec<Vec<String>> {
    texts(
        &client
            .rows(&format!(
                "{REFERENCES} FROM TABLE(\"{database}\".INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => {}))",
                literal(policy)
            ))
            .await,
    )
}

/// POLICY_REFERENCES(REF_ENTITY_NAME => `entity`, REF_ENTITY_DOMAIN => 'table').
async fn references_on(client: &Client, database: &str, entity: &str) -> Vec<Vec<String>> {
    texts(
        &client
            .rows(&format!(
                "{REFERENCES} FROM TABLE(\"{database}\".INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => {}, REF_ENTITY_DOMAIN => 'table'))",
                literal(entity)
            ))
            .await,
    )
}

/// SHOW `what` (`MASKING POLICIES` …) with `clauses`, without `created_on`.
async fn show(client: &Client, what: &str, clauses: &str) -> Vec<Vec<String>> {
    let (status, body) = client.run(&format!("SHOW {what} {clauses}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
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
            "database_name",
            "schema_name",
            "kind",
            "owner",
            "comment",
            "owner_role_type",
            "options"
        ]
    );
    let rows: Vec<Vec<Value>> = serde_json::from_value(body["data"].clone()).unwrap();
    texts(&rows)
        .into_iter()
        .map(|mut r| {
            r.remove(0);
            r
        })
        .collect()
}

/// The fixture, with a customers table in SALES.PUBLIC and a table of awkward names in
/// SALES."Mixed.Schema".
fn policy_account() -> Account {
    let mut account = account();
    let sales = &mut account.databases[0];
    sales.schemas[0].tables.push(Table {
        name: "CUSTOMERS".into(),
        owner: "SYSADMIN".into(),
        columns: vec![
            column("ID", "NUMBER", false),
            column("EMAIL", "TEXT", true),
            column("REGION", "TEXT", true),
        ],
        ..Table::default()
    });
    sales.schemas[1].tables.push(Table {
        name: "Ünï \"tbl\"".into(),
        owner: "SYSADMIN".into(),
        columns: vec![column("naïve \"col\"", "TEXT", true)],
        ..Table::default()
    });
    account
}

async fn standin() -> StandIn {
    start(policy_account(), Options::default()).await
}

const MASK_NOTE: &str = r#"CREATE MASKING POLICY IF NOT EXISTS "SALES"."PUBLIC"."MASK_NOTE" AS ("VAL" TEXT) RETURNS TEXT ->
    CASE WHEN IS_ROLE_IN_SESSION('ANALYST') THEN "VAL" ELSE '***' END   COMMENT = 'masks notes'"#;

#[tokio::test]
async fn a_masking_policy_is_created_set_unset_and_dropped() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    assert_eq!(
        ok(&sync, MASK_NOTE).await,
        "Masking policy MASK_NOTE successfully created."
    );
    assert_eq!(
        show(&sync, "MASKING POLICIES", "").await,
        [row(&[
            "MASK_NOTE",
            "SALES",
            "PUBLIC",
            "MASKING_POLICY",
            "SYNC_ROLE",
            "masks notes",
            "ROLE",
            ""
        ])]
    );
    let (_, body) = sync.run("SHOW MASKING POLICIES").await;
    let created: f64 = body["data"][0][0].as_str().unwrap().parse().unwrap();
    assert!((created - now() as f64).abs() < 60.0, "created now: {body}");
    assert!(show(&sync, "ROW ACCESS POLICIES", "").await.is_empty());
    let expected = Policy {
        name: "MASK_NOTE".into(),
        database: "SALES".into(),
        schema: "PUBLIC".into(),
        kind: PolicyKind::Masking,
        signature: vec![("VAL".into(), "TEXT".into())],
        returns: "TEXT".into(),
        body: r#"CASE WHEN IS_ROLE_IN_SESSION('ANALYST') THEN "VAL" ELSE '***' END"#.into(),
        comment: "masks notes".into(),
        owner: "SYNC_ROLE".into(),
        created_on: None,
    };
    let stored = standin.with_account(|a| a.policies.clone());
    assert_eq!(
        stored
            .iter()
            .map(|p| Policy {
                created_on: None,
                ..p.clone()
            })
            .collect::<Vec<_>>(),
        std::slice::from_ref(&expected)
    );

    // IF NOT EXISTS on an existing policy changes nothing, its body included.
    assert_eq!(
        ok(
            &sync,
            r#"create masking policy if not exists "SALES"."PUBLIC"."MASK_NOTE" as ("VAL" varchar) returns string -> 'other'"#
        )
        .await,
        "MASK_NOTE already exists, statement succeeded."
    );
    assert_eq!(
        standin.with_account(|a| a.policies[0].body.clone()),
        expected.body
    );

    assert_eq!(
        ok(
            &sync,
            r#"ALTER TABLE "SALES"."PUBLIC"."ORDERS" ALTER COLUMN "NOTE" SET MASKING POLICY "SALES"."PUBLIC"."MASK_NOTE" FORCE"#
        )
        .await,
        "Statement executed successfully."
    );
    ok(
        &sync,
        r#"ALTER VIEW "SALES"."PUBLIC"."Customer View" MODIFY COLUMN "NAME" SET MASKING POLICY "SALES"."PUBLIC"."MASK_NOTE""#,
    )
    .await;
    let on_view = row(&[
        "SALES",
        "PUBLIC",
        "MASK_NOTE",
        "MASKING_POLICY",
        "SALES",
        "PUBLIC",
        "Customer View",
        "VIEW",
        "NAME",
        "NULL",
        "ACTIVE",
    ]);
    let on_orders = row(&[
        "SALES",
        "PUBLIC",
        "MASK_NOTE",
        "MASKING_POLICY",
        "SALES",
        "PUBLIC",
        "ORDERS",
        "TABLE",
        "NOTE",
        "NULL",
        "ACTIVE",
    ]);
    assert_eq!(
        references_of(&sync, "SALES", r#""SALES"."PUBLIC"."MASK_NOTE""#).await,
        [on_view.clone(), on_orders.clone()]
    );
    assert_eq!(
        references_on(&sync, "SALES", r#""SALES"."PUBLIC"."ORDERS""#).await,
        [on_orders]
    );
    let mask = PolicyName {
        database: "SALES".into(),
        schema: "PUBLIC".into(),
        name: "MASK_NOTE".into(),
    };
    let note = standin.with_account(|a| a.databases[0].schemas[0].tables[0].columns[2].clone());
    assert_eq!(
        (note.name.as_str(), note.masking_policy),
        ("NOTE", Some(mask))
    );

    ok(
        &sync,
        r#"ALTER TABLE "SALES"."PUBLIC"."ORDERS" MODIFY COLUMN "NOTE" UNSET MASKING POLICY"#,
    )
    .await;
    // UNSET of a column without one changes nothing and succeeds.
    ok(
        &sync,
        r#"ALTER TABLE "SALES"."PUBLIC"."ORDERS" ALTER "NOTE" UNSET MASKING POLICY"#,
    )
    .await;
    assert_eq!(
        references_of(&sync, "SALES", "sales.public.mask_note").await,
        [on_view]
    );
    ok(
        &sync,
        r#"ALTER VIEW "SALES"."PUBLIC"."Customer View" ALTER COLUMN "NAME" UNSET MASKING POLICY"#,
    )
    .await;
    assert!(
        references_of(&sync, "SALES", r#""SALES"."PUBLIC"."MASK_NOTE""#)
            .await
            .is_empty()
    );
    assert_eq!(
        ok(
            &sync,
            r#"DROP MASKING POLICY IF EXISTS "SALES"."PUBLIC"."MASK_NOTE""#
        )
        .await,
        "MASK_NOTE successfully dropped."
    );
    assert!(show(&sync, "MASKING POLICIES", "").await.is_empty());
    assert_eq!(
        ok(
            &sync,
            r#"DROP MASKING POLICY IF EXISTS "SALES"."PUBLIC"."MASK_NOTE""#
        )
        .await,
        "Drop statement executed successfully (MASK_NOTE already dropped)."
    );
    assert!(standin.with_account(|a| a.policies.is_empty()));

    let counters = standin.requests();
    assert_eq!(
        (
            counters.by_prefix.get("CREATE MASKING"),
            counters.by_prefix.get("ALTER TABLE"),
            counters.by_prefix.get("ALTER VIEW"),
            counters.by_prefix.get("DROP MASKING"),
        ),
        (Some(&2), Some(&3), Some(&2), Some(&2))
    );
}

#[tokio::test]
async fn a_row_access_policy_is_added_swapped_and_dropped() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    assert_eq!(
        ok(
            &sync,
            r#"CREATE ROW ACCESS POLICY IF NOT EXISTS "SALES"."PUBLIC"."BY_ID" AS ("A" NUMBER(38,0)) RETURNS BOOLEAN -> "A" > 0 COMMENT = 'rows'"#
        )
        .await,
        "Row access policy BY_ID successfully created."
    );
    ok(
        &sync,
        r#"CREATE ROW ACCESS POLICY IF NOT EXISTS "SALES"."PUBLIC"."BY_ID_AND_NOTE" AS ("A" NUMBER, "B" VARCHAR) RETURNS BOOLEAN -> IS_ROLE_IN_SESSION('ANALYST') OR ("A" > 0 AND "B" IS NOT NULL)"#,
    )
    .await;
    assert_eq!(
        show(&sync, "ROW ACCESS POLICIES", "IN ACCOUNT").await,
        [
            row(&[
                "BY_ID",
                "SALES",
                "PUBLIC",
                "ROW_ACCESS_POLICY",
                "SYNC_ROLE",
                "rows",
                "ROLE",
                ""
            ]),
            row(&[
                "BY_ID_AND_NOTE",
                "SALES",
                "PUBLIC",
                "ROW_ACCESS_POLICY",
                "SYNC_ROLE",
                "",
                "ROLE",
                ""
            ]),
        ]
    );
    let stored = standin.with_account(|a| a.policies[1].clone());
    assert_eq!(
        (
            stored.signature,
            stored.returns.as_str(),
            stored.body.as_str()
        ),
        (
            vec![("A".into(), "NUMBER".into()), ("B".into(), "TEXT".into())],
            "BOOLEAN",
            r#"IS_ROLE_IN_SESSION('ANALYST') OR ("A" > 0 AND "B" IS NOT NULL)"#
        )
    );

    ok(
        &sync,
        r#"ALTER TABLE "SALES"."PUBLIC"."ORDERS" ADD ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID" ON ("ID")"#,
    )
    .await;
    let by_id = row(&[
        "SALES",
        "PUBLIC",
        "BY_ID",
        "ROW_ACCESS_POLICY",
        "SALES",
        "PUBLIC",
        "ORDERS",
        "TABLE",
        "NULL",
        r#"["ID"]"#,
        "ACTIVE",
    ]);
    assert_eq!(
        references_on(&sync, "SALES", r#""SALES"."PUBLIC"."ORDERS""#).await,
        std::slice::from_ref(&by_id)
    );
    assert_eq!(
        references_of(&sync, "SALES", r#""SALES"."PUBLIC"."BY_ID""#).await,
        [by_id]
    );

    // The swap of one statement.
    ok(
        &sync,
        r#"ALTER TABLE "SALES"."PUBLIC"."ORDERS" DROP ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID", ADD ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID_AND_NOTE" ON ("ID", "NOTE")"#,
    )
    .await;
    assert!(
        references_of(&sync, "SALES", r#""SALES"."PUBLIC"."BY_ID""#)
            .await
            .is_empty()
    );
    assert_eq!(
        references_of(&sync, "SALES", r#""SALES"."PUBLIC"."BY_ID_AND_NOTE""#).await,
        [row(&[
            "SALES",
            "PUBLIC",
            "BY_ID_AND_NOTE",
            "ROW_ACCESS_POLICY",
            "SALES",
            "PUBLIC",
            "ORDERS",
            "TABLE",
            "NULL",
            r#"["ID","NOTE"]"#,
            "ACTIVE"
        ])]
    );
    assert_eq!(
        standin.with_account(|a| a.databases[0].schemas[0].tables[0]
            .row_access_policy
            .clone()),
        Some(RowAccessAttachment {
            policy: PolicyName {
                database: "SALES".into(),
                schema: "PUBLIC".into(),
                name: "BY_ID_AND_NOTE".into(),
            },
            on: vec!["ID".into(), "NOTE".into()],
        })
    );

    // On a view: its domain is VIEW, and REF_ENTITY_DOMAIN 'view' names views only.
    ok(
        &sync,
        r#"ALTER VIEW "SALES"."PUBLIC"."Customer View" ADD ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID" ON ("id")"#,
    )
    .await;
    let rows = sync
        .rows(&format!(
            "{REFERENCES} FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_DOMAIN => 'view', REF_ENTITY_NAME => {}))",
            literal(r#""SALES"."PUBLIC"."Customer View""#)
        ))
        .await;
    assert_eq!(
        texts(&rows),
        [row(&[
            "SALES",
            "PUBLIC",
            "BY_ID",
            "ROW_ACCESS_POLICY",
            "SALES",
            "PUBLIC",
            "Customer View",
            "VIEW",
            "NULL",
            r#"["id"]"#,
            "ACTIVE"
        ])]
    );
    refused(
        &sync,
        "SELECT * FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => 'SALES.PUBLIC.ORDERS', REF_ENTITY_DOMAIN => 'VIEW'))",
        "002003",
        "SQL compilation error:\nView 'SALES.PUBLIC.ORDERS' does not exist or not authorized.",
    )
    .await;

    ok(
        &sync,
        r#"ALTER TABLE "SALES"."PUBLIC"."ORDERS" DROP ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID_AND_NOTE""#,
    )
    .await;
    ok(
        &sync,
        r#"ALTER VIEW "SALES"."PUBLIC"."Customer View" DROP ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID""#,
    )
    .await;
    assert!(
        references_on(&sync, "SALES", r#""SALES"."PUBLIC"."ORDERS""#)
            .await
            .is_empty()
    );
    assert_eq!(
        ok(
            &sync,
            r#"DROP ROW ACCESS POLICY IF EXISTS "SALES"."PUBLIC"."BY_ID""#
        )
        .await,
        "BY_ID successfully dropped."
    );
    ok(&sync, "drop row access policy sales.public.by_id_and_note").await;
    assert!(show(&sync, "ROW ACCESS POLICIES", "").await.is_empty());
    assert_eq!(
        standin.requests().by_prefix.get("CREATE ROW"),
        Some(&2),
        "CREATE ROW ACCESS POLICY counts as CREATE ROW"
    );
}

#[tokio::test]
async fn refusals_carry_snowflakes_codes() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let analyst = Client::analyst(&standin);
    // Names.
    refused(
        &sync,
        "CREATE MASKING POLICY SALES.NOPE.P AS (V TEXT) RETURNS TEXT -> V",
        "002003",
        "SQL compilation error:\nSchema 'SALES.NOPE' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "CREATE ROW ACCESS POLICY NOPE.PUBLIC.P AS (V TEXT) RETURNS BOOLEAN -> TRUE",
        "002003",
        "SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "CREATE MASKING POLICY P AS (V TEXT) RETURNS TEXT -> V",
        "090105",
        "Cannot perform CREATE MASKING POLICY. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.",
    )
    .await;
    // Privileges: the analyst owns nothing and holds no MANAGE GRANTS.
    refused(
        &analyst,
        "CREATE MASKING POLICY SALES.PUBLIC.P AS (V TEXT) RETURNS TEXT -> V",
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on schema 'SALES.PUBLIC'",
    )
    .await;
    // A masking policy returns its input's type.
    refused(
        &sync,
        "CREATE MASKING POLICY SALES.PUBLIC.BAD AS (V STRING) RETURNS NUMBER -> 0",
        "002016",
        "SQL compilation error:\nMasking policy return type 'NUMBER' does not match its input type 'TEXT'.",
    )
    .await;
    // The body must lex and close its parentheses.
    refused(
        &sync,
        "CREATE MASKING POLICY SALES.PUBLIC.BAD AS (V TEXT) RETURNS TEXT -> 'open",
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 72 unexpected '<EOF>'.",
    )
    .await;
    refused(
        &sync,
        "CREATE MASKING POLICY SALES.PUBLIC.BAD AS (V TEXT) RETURNS TEXT -> CONCAT(V, 'x'",
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 80 unexpected '<EOF>'.",
    )
    .await;

    ok(&sync, MASK_NOTE).await;
    refused(
        &sync,
        r#"CREATE MASKING POLICY "SALES"."PUBLIC"."MASK_NOTE" AS ("VAL" TEXT) RETURNS TEXT -> "VAL""#,
        "002002",
        "SQL compilation error:\nObject 'SALES.PUBLIC.MASK_NOTE' already exists.",
    )
    .await;
    ok(
        &sync,
        "CREATE MASKING POLICY SALES.PUBLIC.MASK_TEXT AS (V VARCHAR(100)) RETURNS VARCHAR -> '*'",
    )
    .await;
    ok(
        &sync,
        "CREATE MASKING POLICY SALES.PUBLIC.MASK_NUMBER AS (V INT) RETURNS NUMBER(38, 0) -> 0",
    )
    .await;
    ok(
        &sync,
        "CREATE ROW ACCESS POLICY SALES.PUBLIC.BY_ID AS (A NUMBER) RETURNS BOOLEAN -> A > 0",
    )
    .await;
    ok(
        &sync,
        "CREATE ROW ACCESS POLICY SALES.PUBLIC.BY_NOTE AS (N TEXT) RETURNS BOOLEAN -> N IS NULL",
    )
    .await;
    ok(
        &sync,
        "CREATE ROW ACCESS POLICY SALES.PUBLIC.BY_ID_AND_NOTE AS (A NUMBER, N TEXT) RETURNS BOOLEAN -> TRUE",
    )
    .await;

    // Attaching: the table, the column, the policy must exist.
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.\"Customer View\" ALTER COLUMN NAME SET MASKING POLICY SALES.PUBLIC.MASK_NOTE",
        "002003",
        "SQL compilation error:\nTable 'SALES.PUBLIC.\"Customer View\"' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN \"nope\" SET MASKING POLICY SALES.PUBLIC.MASK_NOTE",
        "000904",
        "SQL compilation error: error line 1 at position 45\ninvalid identifier '\"nope\"'",
    )
    .await;
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.NOPE",
        "002003",
        "SQL compilation error:\nMasking policy 'SALES.PUBLIC.NOPE' does not exist or not authorized.",
    )
    .await;
    refused(
        &analyst,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.MASK_NOTE",
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on table 'SALES.PUBLIC.ORDERS'",
    )
    .await;
    // The column's type must be the policy's input type.
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN ID SET MASKING POLICY SALES.PUBLIC.MASK_NOTE",
        "002017",
        "SQL compilation error:\nSpecified column ID data type NUMBER does not match the masking policy's input data type TEXT.",
    )
    .await;
    // One masking policy per column; FORCE replaces it.
    ok(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.MASK_NOTE",
    )
    .await;
    let again = "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.MASK_TEXT";
    refused(
        &sync,
        again,
        "003529",
        "Specified column already attached to another masking policy. A column cannot be attached to multiple masking policies. Please drop the current association in order to attach a new masking policy.",
    )
    .await;
    ok(&sync, &format!("{again} FORCE")).await;
    assert_eq!(
        references_on(&sync, "SALES", "SALES.PUBLIC.ORDERS").await[0][2],
        "MASK_TEXT"
    );
    ok(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.MASK_NOTE FORCE",
    )
    .await;

    // One row access policy per table or view.
    ok(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ADD ROW ACCESS POLICY SALES.PUBLIC.BY_ID ON (ID)",
    )
    .await;
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ADD ROW ACCESS POLICY SALES.PUBLIC.BY_ID_AND_NOTE ON (ID, AMOUNT)",
        "003530",
        "SQL compilation error:\nObject 'SALES.PUBLIC.ORDERS' already has a row access policy ('SALES.PUBLIC.BY_ID'). A table or view can have only one row access policy.",
    )
    .await;
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS DROP ROW ACCESS POLICY SALES.PUBLIC.BY_NOTE",
        "003531",
        "SQL compilation error:\nRow access policy 'SALES.PUBLIC.BY_NOTE' is not attached to 'SALES.PUBLIC.ORDERS'.",
    )
    .await;
    // No column both masked and in the ON list, either way; a failing swap keeps the old one.
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN ID SET MASKING POLICY SALES.PUBLIC.MASK_NUMBER",
        "003532",
        "SQL compilation error:\nColumn ID is in the ON list of row access policy SALES.PUBLIC.BY_ID: a column cannot be both masked and passed to a row access policy.",
    )
    .await;
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS DROP ROW ACCESS POLICY SALES.PUBLIC.BY_ID, ADD ROW ACCESS POLICY SALES.PUBLIC.BY_NOTE ON (NOTE)",
        "003532",
        "SQL compilation error:\nColumn NOTE has masking policy SALES.PUBLIC.MASK_NOTE: a column cannot be both masked and passed to a row access policy.",
    )
    .await;
    assert_eq!(
        references_on(&sync, "SALES", "SALES.PUBLIC.ORDERS")
            .await
            .iter()
            .map(|r| r[2].as_str())
            .collect::<Vec<_>>(),
        ["MASK_NOTE", "BY_ID"]
    );
    // The ON list: existing columns, as many as the arguments, of their types.
    refused(
        &sync,
        "ALTER VIEW SALES.PUBLIC.\"Customer View\" ADD ROW ACCESS POLICY SALES.PUBLIC.BY_ID ON (ID)",
        "000904",
        "SQL compilation error: error line 1 at position 85\ninvalid identifier 'ID'",
    )
    .await;
    refused(
        &sync,
        "ALTER VIEW SALES.PUBLIC.\"Customer View\" ADD ROW ACCESS POLICY SALES.PUBLIC.BY_ID_AND_NOTE ON (\"id\")",
        "002018",
        "SQL compilation error:\nRow access policy 'SALES.PUBLIC.BY_ID_AND_NOTE' takes 2 argument(s), but the ON list names 1 column(s).",
    )
    .await;
    refused(
        &sync,
        "ALTER VIEW SALES.PUBLIC.\"Customer View\" ADD ROW ACCESS POLICY SALES.PUBLIC.BY_ID ON (NAME)",
        "002017",
        "SQL compilation error:\nSpecified column NAME data type TEXT does not match the row access policy's argument A data type NUMBER.",
    )
    .await;
    ok(
        &sync,
        "ALTER VIEW SALES.PUBLIC.\"Customer View\" ADD ROW ACCESS POLICY SALES.PUBLIC.BY_ID_AND_NOTE ON (\"id\", NAME)",
    )
    .await;
    assert_eq!(
        references_on(&sync, "SALES", "SALES.PUBLIC.\"Customer View\"").await[0][9],
        r#"["id","NAME"]"#
    );

    // A policy still attached is not dropped; a missing one is 002003 without IF EXISTS.
    refused(
        &sync,
        "DROP MASKING POLICY SALES.PUBLIC.MASK_NOTE",
        "003533",
        "SQL compilation error:\nPolicy SALES.PUBLIC.MASK_NOTE cannot be dropped/replaced as it is associated with one or more entities.",
    )
    .await;
    refused(
        &sync,
        "DROP ROW ACCESS POLICY SALES.PUBLIC.BY_ID",
        "003533",
        "SQL compilation error:\nPolicy SALES.PUBLIC.BY_ID cannot be dropped/replaced as it is associated with one or more entities.",
    )
    .await;
    refused(
        &sync,
        "DROP MASKING POLICY SALES.PUBLIC.NOPE",
        "002003",
        "SQL compilation error:\nMasking policy 'SALES.PUBLIC.NOPE' does not exist or not authorized.",
    )
    .await;
    // A row access policy is not a masking policy.
    refused(
        &sync,
        "DROP MASKING POLICY SALES.PUBLIC.BY_NOTE",
        "002003",
        "SQL compilation error:\nMasking policy 'SALES.PUBLIC.BY_NOTE' does not exist or not authorized.",
    )
    .await;
    refused(
        &analyst,
        "DROP ROW ACCESS POLICY SALES.PUBLIC.BY_NOTE",
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on row access policy 'SALES.PUBLIC.BY_NOTE'",
    )
    .await;

    // POLICY_REFERENCES: the policy or table must exist, and a warehouse is needed.
    refused(
        &sync,
        "SELECT * FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'SALES.PUBLIC.NOPE'))",
        "002003",
        "SQL compilation error:\nPolicy 'SALES.PUBLIC.NOPE' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "SELECT * FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => 'SALES.PUBLIC.NOPE', REF_ENTITY_DOMAIN => 'table'))",
        "002003",
        "SQL compilation error:\nTable 'SALES.PUBLIC.NOPE' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "SELECT NOPE FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'SALES.PUBLIC.BY_ID'))",
        "000904",
        "SQL compilation error: error line 1 at position 7\ninvalid identifier 'NOPE'",
    )
    .await;
    let (status, body) = sync
        .submit(
            "",
            json!({
                "statement": "SELECT POLICY_NAME FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'SALES.PUBLIC.BY_ID'))",
                "warehouse": "NO_SUCH_WH",
            }),
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
async fn a_standard_edition_account_refuses_every_policy_statement() {
    let mut account = policy_account();
    account.standard_edition = true;
    let standin = start(account, Options::default()).await;
    let sync = Client::sync(&standin);
    let masking = [
        "CREATE MASKING POLICY IF NOT EXISTS SALES.PUBLIC.M AS (V TEXT) RETURNS TEXT -> V",
        "DROP MASKING POLICY IF EXISTS SALES.PUBLIC.M",
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.M FORCE",
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE UNSET MASKING POLICY",
        "SHOW MASKING POLICIES",
        "DESCRIBE MASKING POLICY SALES.PUBLIC.M",
        "SELECT POLICY_NAME FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'SALES.PUBLIC.M'))",
    ];
    for statement in masking {
        let (status, body) = sync.run(statement).await;
        assert_error(
            status,
            &body,
            "000002",
            "Unsupported feature 'MASKING POLICY'.",
        );
        assert_eq!(body["sqlState"], "0A000", "{statement}");
    }
    let row_access = [
        "CREATE ROW ACCESS POLICY IF NOT EXISTS SALES.PUBLIC.R AS (A NUMBER) RETURNS BOOLEAN -> TRUE",
        "DROP ROW ACCESS POLICY IF EXISTS SALES.PUBLIC.R",
        "ALTER TABLE SALES.PUBLIC.ORDERS ADD ROW ACCESS POLICY SALES.PUBLIC.R ON (ID)",
        "ALTER TABLE SALES.PUBLIC.ORDERS DROP ROW ACCESS POLICY SALES.PUBLIC.R",
        "SHOW ROW ACCESS POLICIES IN ACCOUNT",
        "DESC ROW ACCESS POLICY SALES.PUBLIC.R",
    ];
    for statement in row_access {
        let (status, body) = sync.run(statement).await;
        assert_error(
            status,
            &body,
            "000002",
            "Unsupported feature 'ROW ACCESS POLICY'.",
        );
        assert_eq!(body["sqlState"], "0A000", "{statement}");
    }
    assert!(standin.with_account(|a| a.policies.is_empty()));
}

/// DESCRIBE `what` (`MASKING POLICY` …) `name` as `client`, with `extra` request fields;
/// asserts the result's text columns and answers its rows.
async fn describe(client: &Client, what: &str, name: &str, extra: Value) -> Vec<Vec<String>> {
    let mut request = json!({"statement": format!("DESCRIBE {what} {name}")});
    if let (Some(request), Value::Object(extra)) = (request.as_object_mut(), extra) {
        request.extend(extra);
    }
    let (status, body) = client.submit("", request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let columns: Vec<(&str, &str)> = body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        columns,
        [
            ("name", "text"),
            ("signature", "text"),
            ("return_type", "text"),
            ("body", "text")
        ]
    );
    texts(&serde_json::from_value::<Vec<Vec<Value>>>(body["data"].clone()).unwrap())
}

#[tokio::test]
async fn describe_shows_a_policy_of_each_kind_as_created() {
    let mut account = policy_account();
    // Owned by the analyst's role; the policies the sync user creates are owned by SYNC_ROLE.
    account
        .policies
        .push(number_mask("ANALYST_MASK", "SALES", "PUBLIC", "ANALYST"));
    let standin = start(account, Options::default()).await;
    let sync = Client::sync(&standin);
    let analyst = Client::analyst(&standin);
    ok(&sync, MASK_NOTE).await;
    ok(
        &sync,
        r#"CREATE ROW ACCESS POLICY "SALES"."PUBLIC"."BY_ID_AND_NOTE" AS ("A" NUMBER(38,0), b varchar) RETURNS BOOLEAN -> IS_ROLE_IN_SESSION('ANALYST') OR ("A" > 0 AND B IS NOT NULL)"#,
    )
    .await;
    let mask_note = row(&[
        "MASK_NOTE",
        "(VAL TEXT)",
        "TEXT",
        r#"CASE WHEN IS_ROLE_IN_SESSION('ANALYST') THEN "VAL" ELSE '***' END"#,
    ]);
    assert_eq!(
        describe(
            &sync,
            "MASKING POLICY",
            r#""SALES"."PUBLIC"."MASK_NOTE""#,
            json!({})
        )
        .await,
        std::slice::from_ref(&mask_note)
    );
    // Unqualified parts come from the session; no warehouse is needed.
    let (status, body) = sync
        .submit(
            "",
            json!({
                "statement": "desc masking policy mask_note;",
                "database": "SALES",
                "schema": "PUBLIC",
                "warehouse": "NO_SUCH_WH",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        texts(&serde_json::from_value::<Vec<Vec<Value>>>(body["data"].clone()).unwrap()),
        [mask_note]
    );
    assert_eq!(
        describe(
            &sync,
            "ROW ACCESS POLICY",
            "PUBLIC.BY_ID_AND_NOTE",
            json!({"database": "SALES"})
        )
        .await,
        [row(&[
            "BY_ID_AND_NOTE",
            "(A NUMBER, B TEXT)",
            "BOOLEAN",
            r#"IS_ROLE_IN_SESSION('ANALYST') OR ("A" > 0 AND B IS NOT NULL)"#,
        ])]
    );
    // Names as stored, quoted or not.
    let quoted = r#""SALES"."Mixed.Schema"."café ""mask""""#;
    ok(
        &sync,
        &format!(r#"CREATE MASKING POLICY {quoted} AS ("välue ""v""" STRING) RETURNS VARCHAR -> "välue ""v""""#),
    )
    .await;
    assert_eq!(
        describe(&sync, "MASKING POLICY", quoted, json!({})).await,
        [row(&[
            "café \"mask\"",
            "(välue \"v\" TEXT)",
            "TEXT",
            r#""välue ""v""""#
        ])]
    );
    refused(
        &sync,
        "DESCRIBE MASKING POLICY MASK_NOTE",
        "090105",
        "Cannot perform DESCRIBE MASKING POLICY. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.",
    )
    .await;

    // The role must own the policy (or hold MANAGE GRANTS), as SHOW lists it.
    assert_eq!(
        describe(
            &analyst,
            "MASKING POLICY",
            "SALES.PUBLIC.ANALYST_MASK",
            json!({})
        )
        .await,
        [row(&["ANALYST_MASK", "(V NUMBER)", "NUMBER", "0"])]
    );
    refused(
        &analyst,
        "DESCRIBE MASKING POLICY SALES.PUBLIC.MASK_NOTE",
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on masking policy 'SALES.PUBLIC.MASK_NOTE'",
    )
    .await;
    refused(
        &analyst,
        "DESC ROW ACCESS POLICY SALES.PUBLIC.BY_ID_AND_NOTE",
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on row access policy 'SALES.PUBLIC.BY_ID_AND_NOTE'",
    )
    .await;

    let counters = standin.requests();
    assert_eq!(
        (
            counters.by_prefix.get("DESCRIBE MASKING"),
            counters.by_prefix.get("DESCRIBE ROW"),
            counters.by_prefix.get("DESC MASKING"),
            counters.by_prefix.get("DESC ROW"),
        ),
        (Some(&5), Some(&1), Some(&1), Some(&1))
    );
}

#[tokio::test]
async fn describe_refuses_a_policy_missing_hidden_or_of_the_other_kind() {
    let mut account = policy_account();
    account.policies.push(number_mask(
        "LEDGER_MASK",
        "Finance Dept",
        "LEDGER",
        "FINANCE",
    ));
    let standin = start(account, Options::default()).await;
    let sync = Client::sync(&standin);
    let analyst = Client::analyst(&standin);
    ok(&sync, MASK_NOTE).await;
    ok(
        &sync,
        "CREATE ROW ACCESS POLICY SALES.PUBLIC.BY_ID AS (A NUMBER) RETURNS BOOLEAN -> A > 0",
    )
    .await;
    refused(
        &sync,
        "DESCRIBE MASKING POLICY SALES.PUBLIC.NOPE",
        "002003",
        "SQL compilation error:\nMasking policy 'SALES.PUBLIC.NOPE' does not exist or not authorized.",
    )
    .await;
    // A row access policy is not a masking policy, nor the other way round.
    refused(
        &sync,
        "DESCRIBE MASKING POLICY SALES.PUBLIC.BY_ID",
        "002003",
        "SQL compilation error:\nMasking policy 'SALES.PUBLIC.BY_ID' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "DESC ROW ACCESS POLICY SALES.PUBLIC.MASK_NOTE",
        "002003",
        "SQL compilation error:\nRow access policy 'SALES.PUBLIC.MASK_NOTE' does not exist or not authorized.",
    )
    .await;
    // Names are shown as the other policy errors show them; an unquoted one is upper-cased.
    refused(
        &sync,
        "DESCRIBE ROW ACCESS POLICY SALES.\"Mixed.Schema\".café",
        "002003",
        "SQL compilation error:\nRow access policy 'SALES.\"Mixed.Schema\".\"CAFÉ\"' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "DESCRIBE MASKING POLICY NOPE.PUBLIC.MASK_NOTE",
        "002003",
        "SQL compilation error:\nMasking policy 'NOPE.PUBLIC.MASK_NOTE' does not exist or not authorized.",
    )
    .await;
    // A policy in a database the role does not see is as missing; MANAGE GRANTS sees it.
    refused(
        &analyst,
        "DESCRIBE MASKING POLICY \"Finance Dept\".LEDGER.LEDGER_MASK",
        "002003",
        "SQL compilation error:\nMasking policy '\"Finance Dept\".LEDGER.LEDGER_MASK' does not exist or not authorized.",
    )
    .await;
    assert_eq!(
        describe(
            &sync,
            "MASKING POLICY",
            "\"Finance Dept\".LEDGER.LEDGER_MASK",
            json!({})
        )
        .await,
        [row(&["LEDGER_MASK", "(V NUMBER)", "NUMBER", "0"])]
    );
    // Dropped, it is gone.
    ok(&sync, "DROP ROW ACCESS POLICY SALES.PUBLIC.BY_ID").await;
    refused(
        &sync,
        "DESCRIBE ROW ACCESS POLICY SALES.PUBLIC.BY_ID",
        "002003",
        "SQL compilation error:\nRow access policy 'SALES.PUBLIC.BY_ID' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        "DESCRIBE MASKING POLICIES",
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 17 unexpected 'POLICIES'.",
    )
    .await;
}

#[tokio::test]
async fn a_multi_statement_request_creates_and_attaches_policies() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    // A body ends at its statement's `;`, or before COMMENT.
    let statements = [
        "BEGIN",
        r#"CREATE MASKING POLICY IF NOT EXISTS "SALES"."PUBLIC"."MASK_EMAIL" AS ("VAL" TEXT) RETURNS TEXT -> CASE WHEN IS_ROLE_IN_SESSION('ANALYST') THEN "VAL" ELSE REGEXP_REPLACE("VAL", '.+@', '*@') END COMMENT = 'emails'"#,
        r#"ALTER TABLE "SALES"."PUBLIC"."CUSTOMERS" ALTER COLUMN "EMAIL" SET MASKING POLICY "SALES"."PUBLIC"."MASK_EMAIL" FORCE"#,
        r#"CREATE ROW ACCESS POLICY IF NOT EXISTS "SALES"."PUBLIC"."BY_REGION" AS ("R" TEXT) RETURNS BOOLEAN -> "R" = 'EU'"#,
        r#"ALTER TABLE "SALES"."PUBLIC"."CUSTOMERS" ADD ROW ACCESS POLICY "SALES"."PUBLIC"."BY_REGION" ON ("REGION")"#,
        r#"SELECT POLICY_NAME, REF_COLUMN_NAME FROM TABLE("SALES".INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => '"SALES"."PUBLIC"."CUSTOMERS"', REF_ENTITY_DOMAIN => 'table'))"#,
        "COMMIT",
    ];
    let (status, body) = sync
        .submit(
            "",
            json!({
                "statement": statements.join(";\n"),
                "parameters": {"MULTI_STATEMENT_COUNT": "0"},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let handles = body["statementHandles"].as_array().unwrap();
    assert_eq!(handles.len(), statements.len());
    // The read in the request sees the writes before it.
    let (status, read) = sync.poll(handles[5].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        read["data"],
        json!([["MASK_EMAIL", "EMAIL"], ["BY_REGION", null]])
    );
    let bodies = standin.with_account(|a| {
        a.policies
            .iter()
            .map(|p| (p.name.clone(), p.body.clone(), p.comment.clone()))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        bodies,
        [
            (
                "MASK_EMAIL".to_owned(),
                r#"CASE WHEN IS_ROLE_IN_SESSION('ANALYST') THEN "VAL" ELSE REGEXP_REPLACE("VAL", '.+@', '*@') END"#.to_owned(),
                "emails".to_owned()
            ),
            ("BY_REGION".to_owned(), r#""R" = 'EU'"#.to_owned(), String::new()),
        ]
    );
    let counters = standin.requests();
    assert_eq!(
        (
            counters.by_prefix.get("CREATE MASKING"),
            counters.by_prefix.get("CREATE ROW"),
            counters.by_prefix.get("ALTER TABLE"),
            counters.by_prefix.get("SELECT"),
            counters.statements_executed,
        ),
        (Some(&1), Some(&1), Some(&2), Some(&1), 7)
    );

    // A failure in the middle keeps what ran before it and runs nothing after.
    let statement = [
        "CREATE MASKING POLICY SALES.PUBLIC.MASK_REGION AS (V TEXT) RETURNS TEXT -> V",
        "ALTER TABLE SALES.PUBLIC.CUSTOMERS ALTER COLUMN REGION SET MASKING POLICY SALES.PUBLIC.MASK_REGION",
        "DROP MASKING POLICY SALES.PUBLIC.MASK_REGION",
    ]
    .join(";");
    let (status, body) = sync
        .submit(
            "",
            json!({"statement": statement, "parameters": {"MULTI_STATEMENT_COUNT": "3"}}),
        )
        .await;
    assert_error(
        status,
        &body,
        "100132",
        "Uncaught exception of type 'STATEMENT_ERROR' on line 2 at position 0 : SQL compilation error:\nColumn REGION is in the ON list of row access policy SALES.PUBLIC.BY_REGION: a column cannot be both masked and passed to a row access policy. [code 003532, sqlState 42601]",
    );
    assert_eq!(
        column_of(&sync.rows("SHOW MASKING POLICIES LIKE 'mask_%'").await, 1),
        ["MASK_EMAIL", "MASK_REGION"]
    );
}

#[tokio::test]
async fn quoted_and_unicode_names_are_kept_exactly() {
    let standin = standin().await;
    let sync = Client::sync(&standin);
    let policy = r#""SALES"."Mixed.Schema"."café ""mask""""#;
    let table = r#""SALES"."Mixed.Schema"."Ünï ""tbl""""#;
    ok(
        &sync,
        &format!(
            r#"CREATE MASKING POLICY IF NOT EXISTS {policy} AS ("välue ""v""" STRING) RETURNS VARCHAR -> "välue ""v""" COMMENT = 'n''est pas'"#
        ),
    )
    .await;
    ok(
        &sync,
        &format!(
            r#"ALTER TABLE {table} MODIFY COLUMN "naïve ""col""" SET MASKING POLICY {policy}"#
        ),
    )
    .await;
    assert_eq!(
        show(
            &sync,
            "MASKING POLICIES",
            "LIKE 'CAFÉ%' IN DATABASE \"SALES\""
        )
        .await,
        [row(&[
            "café \"mask\"",
            "SALES",
            "Mixed.Schema",
            "MASKING_POLICY",
            "SYNC_ROLE",
            "n'est pas",
            "ROLE",
            ""
        ])]
    );
    let expected = [row(&[
        "SALES",
        "Mixed.Schema",
        "café \"mask\"",
        "MASKING_POLICY",
        "SALES",
        "Mixed.Schema",
        "Ünï \"tbl\"",
        "TABLE",
        "naïve \"col\"",
        "NULL",
        "ACTIVE",
    ])];
    assert_eq!(references_of(&sync, "SALES", policy).await, expected);
    assert_eq!(references_on(&sync, "SALES", table).await, expected);
    let stored = standin.with_account(|a| a.policies[0].signature.clone());
    assert_eq!(stored, [("välue \"v\"".to_owned(), "TEXT".to_owned())]);
    // An unquoted name in the literal is upper-cased: this one does not exist.
    refused(
        &sync,
        "SELECT * FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'SALES.\"Mixed.Schema\".café'))",
        "002003",
        "SQL compilation error:\nPolicy 'SALES.\"Mixed.Schema\".\"CAFÉ\"' does not exist or not authorized.",
    )
    .await;
    refused(
        &sync,
        &format!("DROP MASKING POLICY {policy}"),
        "003533",
        "SQL compilation error:\nPolicy SALES.\"Mixed.Schema\".\"café \"\"mask\"\"\" cannot be dropped/replaced as it is associated with one or more entities.",
    )
    .await;
}

#[tokio::test]
async fn show_lists_what_the_role_sees_in_order_and_reads_policies_built_into_the_model() {
    let mut account = policy_account();
    let policy = |name: &str, database: &str, schema: &str, owner: &str| Policy {
        name: name.into(),
        database: database.into(),
        schema: schema.into(),
        kind: PolicyKind::Masking,
        signature: vec![("V".into(), "TEXT".into())],
        returns: "TEXT".into(),
        body: "V".into(),
        owner: owner.into(),
        ..Policy::default()
    };
    account.policies = vec![
        policy("Z_MASK", "SALES", "PUBLIC", "ANALYST"),
        policy("A_MASK", "SALES", "PUBLIC", "SYSADMIN"),
        policy("LEDGER_MASK", "Finance Dept", "LEDGER", "FINANCE"),
        policy("M_MASK", "SALES", "Mixed.Schema", "ANALYST"),
    ];
    // A column masked in the model as built (VARCHAR compares as TEXT).
    let note = &mut account.databases[0].schemas[0].tables[0].columns[2];
    note.data_type = "VARCHAR".into();
    note.masking_policy = Some(PolicyName {
        database: "SALES".into(),
        schema: "PUBLIC".into(),
        name: "Z_MASK".into(),
    });
    let standin = start(account, Options::default()).await;
    let sync = Client::sync(&standin);
    let analyst = Client::analyst(&standin);
    let names = |rows: Vec<Vec<String>>| -> Vec<String> {
        rows.into_iter().map(|r| r[0].clone()).collect()
    };

    // MANAGE GRANTS sees all, by database, schema, name.
    assert_eq!(
        names(show(&sync, "MASKING POLICIES", "").await),
        ["LEDGER_MASK", "M_MASK", "A_MASK", "Z_MASK"]
    );
    assert_eq!(
        names(show(&sync, "MASKING POLICIES", "LIKE 'z%' IN ACCOUNT").await),
        ["Z_MASK"]
    );
    assert_eq!(
        names(show(&sync, "MASKING POLICIES", "IN DATABASE SALES").await),
        ["M_MASK", "A_MASK", "Z_MASK"]
    );
    // Without IN: the session's database.
    let (status, body) = sync
        .submit(
            "",
            json!({"statement": "SHOW MASKING POLICIES", "database": "Finance Dept"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        column_of(
            &serde_json::from_value::<Vec<Vec<Value>>>(body["data"].clone()).unwrap(),
            1
        ),
        ["LEDGER_MASK"]
    );
    // Another role sees what it owns.
    assert_eq!(
        names(show(&analyst, "MASKING POLICIES", "").await),
        ["M_MASK", "Z_MASK"]
    );
    assert!(show(&analyst, "ROW ACCESS POLICIES", "").await.is_empty());
    refused(
        &sync,
        "SHOW MASKING POLICIES LIMIT 1",
        "001003",
        "SQL compilation error:\nsyntax error line 1 at position 22 unexpected 'LIMIT'.",
    )
    .await;

    let (status, body) = sync
        .run("SELECT POLICY_ID, POLICY_NAME, REF_ENTITY_NAME, REF_COLUMN_NAME, TAG_NAME FROM TABLE(SALES.INFORMATION_SCHEMA.POLICY_REFERENCES(POLICY_NAME => 'SALES.PUBLIC.Z_MASK'))")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!([["1", "Z_MASK", "ORDERS", "NOTE", null]])
    );
    let row_type = &body["resultSetMetaData"]["rowType"];
    assert_eq!(
        (
            &row_type[0]["type"],
            &row_type[0]["table"],
            &row_type[1]["database"]
        ),
        (
            &json!("fixed"),
            &json!("POLICY_REFERENCES"),
            &json!("SALES")
        )
    );
    // Set in the model or by a statement, the column is masked: a second SET needs FORCE, and
    // the policy cannot be dropped.
    refused(
        &sync,
        "ALTER TABLE SALES.PUBLIC.ORDERS ALTER COLUMN NOTE SET MASKING POLICY SALES.PUBLIC.A_MASK",
        "003529",
        "Specified column already attached to another masking policy. A column cannot be attached to multiple masking policies. Please drop the current association in order to attach a new masking policy.",
    )
    .await;
    refused(
        &sync,
        "DROP MASKING POLICY SALES.PUBLIC.Z_MASK",
        "003533",
        "SQL compilation error:\nPolicy SALES.PUBLIC.Z_MASK cannot be dropped/replaced as it is associated with one or more entities.",
    )
    .await;
    // DROP takes the policy's (or its schema's) ownership: the analyst owns M_MASK, not A_MASK.
    refused(
        &analyst,
        "DROP MASKING POLICY SALES.PUBLIC.A_MASK",
        "003001",
        "SQL access control error:\nInsufficient privileges to operate on masking policy 'SALES.PUBLIC.A_MASK'",
    )
    .await;
    assert_eq!(
        ok(
            &analyst,
            "DROP MASKING POLICY SALES.\"Mixed.Schema\".M_MASK"
        )
        .await,
        "M_MASK successfully dropped."
    );
}

/// A masking policy `(V NUMBER) RETURNS NUMBER -> 0` owned by `owner`, as another role made it.
fn number_mask(name: &str, database: &str, schema: &str, owner: &str) -> Policy {
    Policy {
        name: name.into(),
        database: database.into(),
        schema: schema.into(),
        kind: PolicyKind::Masking,
        signature: vec![("V".into(), "NUMBER".into())],
        returns: "NUMBER".into(),
        body: "0".into(),
        owner: owner.into(),
        ..Policy::default()
    }
}
