//! The Snowflake access apply against the Snowflake stand-in (`dev/snowflake-standin`), which
//! executes the statements with Snowflake's rules: roles created, marked, granted and diffed;
//! names as the Go connector generates them (collisions, renames); deletions of managed roles
//! only; hostile names; masks, filters and shares refused in the feedback; a failure in the
//! middle of a multi-statement request located, the rest applied, the next run converging;
//! plan mode reading only. The state is read back over the SQL API (SHOW ROLES, SHOW GRANTS).

use std::collections::{BTreeSet, VecDeque};

use raito_common::connector::{AccessOutcome, ApplyMode};
use raito_common::connectors::snowflake;
use raito_common::connectors::snowflake::access::apply::{ApplyCounts, run};
use raito_common::model::access::{
    Action, DataObjectReference, ExportedAccessProvider, ExportedWho, WhatItem, managed_comment,
};
use snowflake_standin::{
    Account, Database, ObjectKind, Options, Schema, StandIn, Table, TableKind,
};

use crate::snowflake::{CLIENT_KEY, CLIENT_PUB, client_of, target};
use crate::snowflake_access::{table, user};

/// SALES with PUBLIC (ORDERS, CUSTOMERS, V_ORDERS) and "Mixed.Schema" ("my ""odd"" table"),
/// users ALICE, BOB, "o'Brien" and a 255-character one, an unmanaged role SALES_ANALYSTS that
/// holds SELECT on ORDERS, and a role LEGACY made by the Go connector.
fn account() -> Account {
    let schema = |name: &str, tables: Vec<Table>| Schema {
        name: name.to_owned(),
        tables,
        ..Schema::default()
    };
    let mut account = Account {
        organization: "ACME".to_owned(),
        name: "PROD".to_owned(),
        users: vec![
            user("ALICE"),
            user("BOB"),
            user("o'Brien \"the\" ünïcode"),
            user(&"U".repeat(255)),
        ],
        databases: vec![Database {
            name: "SALES".to_owned(),
            schemas: vec![
                schema(
                    "PUBLIC",
                    vec![
                        table("ORDERS", TableKind::BaseTable),
                        table("CUSTOMERS", TableKind::BaseTable),
                        table("V_ORDERS", TableKind::View),
                    ],
                ),
                schema(
                    "Mixed.Schema",
                    vec![table("my \"odd\" table", TableKind::BaseTable)],
                ),
            ],
            ..Database::default()
        }],
        ..Account::default()
    }
    .with_sync_user("RAITO_SYNC_USER", CLIENT_PUB);
    account
        .create_role("SALES_ANALYSTS", "USERADMIN")
        .and_then(|a| a.create_role("LEGACY", "RAITO_SYNC"))
        .and_then(|a| {
            a.grant(
                "SELECT",
                ObjectKind::Table,
                &["SALES", "PUBLIC", "ORDERS"],
                "SALES_ANALYSTS",
            )
        })
        .unwrap();
    for role in &mut account.roles {
        if role.name == "LEGACY" {
            role.comment = "Created by Raito from access provider Legacy. old".to_owned();
        }
    }
    account
}

fn what(object_type: &str, full_name: &str, permissions: &[&str]) -> WhatItem {
    WhatItem {
        data_object: DataObjectReference::new(full_name.to_owned(), object_type),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        ..WhatItem::default()
    }
}

fn ap(id: &str, hint: &str, users: &[&str], what: Vec<WhatItem>) -> ExportedAccessProvider {
    ExportedAccessProvider {
        id: id.to_owned(),
        name: hint.to_owned(),
        naming_hint: hint.to_owned(),
        action: Action::Grant,
        who: ExportedWho {
            users: users.iter().map(|u| (*u).to_owned()).collect(),
            ..ExportedWho::default()
        },
        what,
        ..ExportedAccessProvider::default()
    }
}

async fn standin(account: Account) -> StandIn {
    snowflake_standin::start(account, Options::default()).await
}

/// Applies (or plans) `aps` against the stand-in; outcomes by access provider id.
async fn apply(
    standin: &StandIn,
    mode: ApplyMode,
    aps: Vec<ExportedAccessProvider>,
) -> (Vec<AccessOutcome>, ApplyCounts) {
    let target = target(standin, CLIENT_KEY, "").await;
    let config = snowflake::Config::from_parameters(&target.parameters).expect("valid");
    let client = client_of(&target);
    let mut source: VecDeque<_> = aps.into();
    let mut outcomes = Vec::new();
    let counts = run(&config, &client, mode, &mut source, &mut outcomes)
        .await
        .expect("the apply runs");
    outcomes.sort_by(|a, b| a.feedback.access_provider.cmp(&b.feedback.access_provider));
    (outcomes, counts)
}

/// One column of a statement's rows, read over the SQL API as the sync user.
async fn column(standin: &StandIn, statement: &str, name: &str) -> Vec<String> {
    let target = target(standin, CLIENT_KEY, "").await;
    let client = client_of(&target);
    let mut rows = client.query(statement, &[]).await.expect(statement);
    let index = rows.column(name).expect("the column");
    let mut values = Vec::new();
    while let Some(batch) = rows.next_batch().await.expect("rows") {
        values.extend(
            batch
                .iter()
                .map(|r| r.get(index).unwrap_or_default().to_owned()),
        );
    }
    values
}

/// `privilege granted_on name` of every grant to the role, but role memberships.
async fn grants_to(standin: &StandIn, role: &str) -> BTreeSet<String> {
    let statement = format!("SHOW GRANTS TO ROLE \"{}\"", role.replace('"', "\"\""));
    let privileges = column(standin, &statement, "privilege").await;
    let on = column(standin, &statement, "granted_on").await;
    let names = column(standin, &statement, "name").await;
    privileges
        .into_iter()
        .zip(on)
        .zip(names)
        .filter(|((_, on), _)| on != "ROLE")
        .map(|((p, on), n)| format!("{p} {on} {n}"))
        .collect()
}

/// `granted_to grantee_name` of every holder of the role.
async fn members_of(standin: &StandIn, role: &str) -> BTreeSet<String> {
    let statement = format!("SHOW GRANTS OF ROLE \"{}\"", role.replace('"', "\"\""));
    let kinds = column(standin, &statement, "granted_to").await;
    let names = column(standin, &statement, "grantee_name").await;
    kinds
        .into_iter()
        .zip(names)
        .map(|(k, n)| format!("{k} {n}"))
        .collect()
}

async fn comment_of(standin: &StandIn, role: &str) -> Option<String> {
    let names = column(standin, "SHOW ROLES", "name").await;
    let comments = column(standin, "SHOW ROLES", "comment").await;
    names
        .into_iter()
        .zip(comments)
        .find(|(n, _)| n == role)
        .map(|(_, c)| c)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn errors(outcome: &AccessOutcome) -> &[String] {
    &outcome.feedback.errors
}

#[tokio::test]
async fn access_providers_become_marked_roles_and_a_rerun_issues_nothing() {
    let standin = standin(account()).await;
    let mut analysts = ap(
        "ap-1",
        "Sales analysts",
        &["ALICE", "BOB"],
        vec![
            what("table", "SALES.PUBLIC.ORDERS", &["SELECT", "INSERT"]),
            // SELECT does not apply to a schema: every table and view below it.
            what("schema", "SALES.PUBLIC", &["SELECT"]),
        ],
    );
    let mut engineers = ap(
        "ap-2",
        "dataEngineers",
        &["o'Brien \"the\" ünïcode"],
        vec![what(
            "table",
            "SALES.\"Mixed.Schema\".\"my \"\"odd\"\" table\"",
            &["SELECT"],
        )],
    );
    // Engineers get what analysts get: analysts' role is granted to engineers' role.
    analysts.who.inherit_from = vec!["ID:ap-2".to_owned(), "SYSADMIN".to_owned()];
    engineers.description = "builds pipelines".to_owned();
    let aps = vec![analysts, engineers];

    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, aps.clone()).await;
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert!(errors(outcome).is_empty(), "{outcome:?}");
    }
    // SALES_ANALYSTS exists and is not Raito's: the access provider gets the next name.
    assert_eq!(outcomes[0].feedback.actual_name, "SALES_ANALYSTS__1");
    assert_eq!(
        outcomes[0].feedback.external_id.as_deref(),
        Some("SALES_ANALYSTS__1")
    );
    assert_eq!(outcomes[0].feedback.r#type.as_deref(), Some("role"));
    assert_eq!(outcomes[1].feedback.actual_name, "DATA_ENGINEERS");
    // SYSADMIN is a system role: never granted to.
    assert!(
        outcomes[0]
            .feedback
            .warnings
            .iter()
            .any(|w| w.contains("SYSADMIN")),
        "{:?}",
        outcomes[0].feedback.warnings
    );
    assert_eq!(
        comment_of(&standin, "SALES_ANALYSTS__1").await.as_deref(),
        Some(managed_comment("ap-1").as_str())
    );
    assert_eq!(
        grants_to(&standin, "SALES_ANALYSTS__1").await,
        set(&[
            "INSERT TABLE SALES.PUBLIC.ORDERS",
            "SELECT TABLE SALES.PUBLIC.CUSTOMERS",
            "SELECT TABLE SALES.PUBLIC.ORDERS",
            "SELECT VIEW SALES.PUBLIC.V_ORDERS",
            "USAGE DATABASE SALES",
            "USAGE SCHEMA SALES.PUBLIC",
        ])
    );
    assert_eq!(
        members_of(&standin, "SALES_ANALYSTS__1").await,
        set(&["ROLE DATA_ENGINEERS", "USER ALICE", "USER BOB"])
    );
    // SHOW prints a name that is not a plain identifier quoted.
    assert_eq!(
        members_of(&standin, "DATA_ENGINEERS").await,
        set(&["USER \"o'Brien \"\"the\"\" ünïcode\""])
    );
    // The role not managed by Raito kept what it had.
    assert_eq!(
        grants_to(&standin, "SALES_ANALYSTS").await,
        set(&["SELECT TABLE SALES.PUBLIC.ORDERS"])
    );
    // Many access providers per request.
    assert!(counts.write_requests >= 1);
    assert!(counts.batched > counts.writes, "{counts:?}");

    // The same export again, with the names Raito now knows: nothing to do.
    let again: Vec<ExportedAccessProvider> = aps
        .into_iter()
        .zip(&outcomes)
        .map(|(mut ap, outcome)| {
            ap.actual_name = Some(outcome.feedback.actual_name.clone());
            ap.external_id = outcome.feedback.external_id.clone();
            ap
        })
        .collect();
    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, again).await;
    for outcome in &outcomes {
        assert!(errors(outcome).is_empty(), "{outcome:?}");
        assert!(outcome.statements.is_empty(), "{:?}", outcome.statements);
    }
    assert_eq!((counts.writes, counts.write_requests), (0, 0), "{counts:?}");
}

#[tokio::test]
async fn renames_deletions_and_roles_raito_does_not_manage() {
    let standin = standin(account()).await;
    let first = ap(
        "ap-1",
        "Finance",
        &["ALICE"],
        vec![what("table", "SALES.PUBLIC.ORDERS", &["SELECT"])],
    );
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![first.clone()]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{:?}", outcomes[0]);
    assert_eq!(outcomes[0].feedback.actual_name, "FINANCE");

    // Renamed in Raito: the role is renamed, keeps its grants, and what left the what is
    // revoked; the Go connector's role LEGACY is taken over and marked.
    let mut renamed = first.clone();
    renamed.naming_hint = "Finance EU".to_owned();
    renamed.actual_name = Some("FINANCE".to_owned());
    renamed.external_id = Some("FINANCE".to_owned());
    renamed.what = vec![what("table", "SALES.PUBLIC.CUSTOMERS", &["SELECT"])];
    let mut legacy = ap("ap-legacy", "Legacy", &["BOB"], vec![]);
    legacy.actual_name = Some("LEGACY".to_owned());
    legacy.external_id = Some("LEGACY".to_owned());
    // An actualName naming a role Raito does not manage: refused, nothing changed.
    let mut hijack = ap("ap-hijack", "Sales analysts", &["BOB"], vec![]);
    hijack.actual_name = Some("SALES_ANALYSTS".to_owned());
    // A deletion of a role Raito does not manage: refused.
    let mut delete_other = ap("ap-other", "x", &[], vec![]);
    delete_other.delete = true;
    delete_other.external_id = Some("USERADMIN".to_owned());
    let (outcomes, _) = apply(
        &standin,
        ApplyMode::Apply,
        vec![renamed.clone(), legacy, hijack, delete_other],
    )
    .await;
    let by_id = |id: &str| {
        outcomes
            .iter()
            .find(|o| o.feedback.access_provider == id)
            .unwrap()
    };
    assert!(errors(by_id("ap-1")).is_empty(), "{:?}", by_id("ap-1"));
    assert_eq!(by_id("ap-1").feedback.actual_name, "FINANCE_EU");
    assert_eq!(
        by_id("ap-1").statements,
        vec![
            "ALTER ROLE IF EXISTS \"FINANCE\" RENAME TO \"FINANCE_EU\"",
            "GRANT SELECT ON TABLE \"SALES\".\"PUBLIC\".\"CUSTOMERS\" TO ROLE \"FINANCE_EU\"",
            "REVOKE SELECT ON TABLE \"SALES\".\"PUBLIC\".\"ORDERS\" FROM ROLE \"FINANCE_EU\"",
        ]
    );
    assert_eq!(comment_of(&standin, "FINANCE").await, None);
    assert_eq!(
        grants_to(&standin, "FINANCE_EU").await,
        set(&[
            "SELECT TABLE SALES.PUBLIC.CUSTOMERS",
            "USAGE DATABASE SALES",
            "USAGE SCHEMA SALES.PUBLIC",
        ])
    );
    assert_eq!(
        members_of(&standin, "FINANCE_EU").await,
        set(&["USER ALICE"])
    );
    assert!(
        errors(by_id("ap-legacy")).is_empty(),
        "{:?}",
        by_id("ap-legacy")
    );
    assert_eq!(
        comment_of(&standin, "LEGACY").await.as_deref(),
        Some(managed_comment("ap-legacy").as_str())
    );
    assert_eq!(members_of(&standin, "LEGACY").await, set(&["USER BOB"]));
    assert!(
        errors(by_id("ap-hijack"))[0].contains("not managed by Raito"),
        "{:?}",
        by_id("ap-hijack")
    );
    assert!(by_id("ap-hijack").statements.is_empty());
    assert!(members_of(&standin, "SALES_ANALYSTS").await.is_empty());
    assert!(
        errors(by_id("ap-other"))[0].contains("not managed by Raito"),
        "{:?}",
        by_id("ap-other")
    );
    assert!(comment_of(&standin, "USERADMIN").await.is_some());

    // Deleted in Raito: the managed role is dropped; a second deletion finds nothing to do.
    let mut deleted = renamed;
    deleted.delete = true;
    deleted.external_id = Some("FINANCE_EU".to_owned());
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![deleted.clone()]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{:?}", outcomes[0]);
    assert_eq!(
        outcomes[0].statements,
        vec!["DROP ROLE IF EXISTS \"FINANCE_EU\""]
    );
    assert_eq!(comment_of(&standin, "FINANCE_EU").await, None);
    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, vec![deleted]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{:?}", outcomes[0]);
    assert!(outcomes[0].statements.is_empty());
    assert_eq!(counts.writes, 0);
}

#[tokio::test]
async fn shares_unknown_types_and_filters_without_one_table_fail_in_their_feedback_only() {
    let standin = standin(account()).await;
    // A filter applies to exactly one table (Go's rule).
    let mut filter = ap("ap-filter", "f", &["ALICE"], vec![]);
    filter.action = Action::Filtered;
    filter.policy_rule = Some("{REGION} = 'EU'".to_owned());
    let mut share = ap("ap-share", "s", &[], vec![]);
    share.action = Action::Share;
    let mut odd = ap("ap-odd", "o", &[], vec![]);
    odd.r#type = Some("applicationRole".to_owned());
    let good = ap("ap-good", "good", &["ALICE"], vec![]);
    let (outcomes, counts) =
        apply(&standin, ApplyMode::Apply, vec![filter, share, odd, good]).await;
    assert_eq!(outcomes.len(), 4);
    for outcome in &outcomes {
        let id = outcome.feedback.access_provider.as_str();
        if id == "ap-good" {
            assert!(errors(outcome).is_empty(), "{outcome:?}");
        } else {
            assert_eq!(errors(outcome).len(), 1, "{outcome:?}");
            assert!(outcome.statements.is_empty());
        }
    }
    // Sorted by id: filter, good, odd, share.
    assert_eq!(
        outcomes[0].feedback.errors[0],
        "Filters can only be applied to a single table."
    );
    assert!(outcomes[2].feedback.errors[0].contains("applicationRole"));
    assert!(outcomes[3].feedback.errors[0].contains("shares are not supported"));
    assert_eq!(counts.failed, 3);
    assert_eq!(members_of(&standin, "GOOD").await, set(&["USER ALICE"]));
}

#[tokio::test]
async fn plan_mode_reads_and_lists_what_apply_would_send() {
    let standin = standin(account()).await;
    let aps = vec![ap(
        "ap-1",
        "Planned",
        &["ALICE"],
        vec![what("schema", "SALES.PUBLIC", &["SELECT"])],
    )];
    let before = standin.requests();
    let (planned, counts) = apply(&standin, ApplyMode::Plan, aps.clone()).await;
    let after = standin.requests();
    assert_eq!(counts.write_requests, 0);
    // Only reads reached Snowflake.
    for (prefix, n) in &after.by_prefix {
        let was = before.by_prefix.get(prefix).copied().unwrap_or(0);
        if *n > was {
            assert!(
                prefix.starts_with("SHOW") || prefix.starts_with("SELECT"),
                "{prefix} was sent in plan mode"
            );
        }
    }
    assert_eq!(comment_of(&standin, "PLANNED").await, None);
    assert_eq!(
        planned[0].statements,
        vec![
            format!(
                "CREATE ROLE IF NOT EXISTS \"PLANNED\" COMMENT = '{}'",
                managed_comment("ap-1")
            ),
            "GRANT ROLE \"PLANNED\" TO USER \"ALICE\"".to_owned(),
            "GRANT SELECT ON TABLE \"SALES\".\"PUBLIC\".\"CUSTOMERS\" TO ROLE \"PLANNED\""
                .to_owned(),
            "GRANT SELECT ON TABLE \"SALES\".\"PUBLIC\".\"ORDERS\" TO ROLE \"PLANNED\"".to_owned(),
            "GRANT SELECT ON VIEW \"SALES\".\"PUBLIC\".\"V_ORDERS\" TO ROLE \"PLANNED\"".to_owned(),
            "GRANT USAGE ON DATABASE \"SALES\" TO ROLE \"PLANNED\"".to_owned(),
            "GRANT USAGE ON SCHEMA \"SALES\".\"PUBLIC\" TO ROLE \"PLANNED\"".to_owned(),
        ]
    );
    // What was planned is what apply sends.
    let (applied, _) = apply(&standin, ApplyMode::Apply, aps).await;
    assert_eq!(applied[0].statements, planned[0].statements);
}

#[tokio::test]
async fn a_failure_in_the_middle_of_a_request_is_located_and_the_next_run_converges() {
    let standin = standin(account()).await;
    let aps: Vec<ExportedAccessProvider> = (0..6)
        .map(|i| {
            ap(
                &format!("ap-{i}"),
                &format!("team {i}"),
                &["ALICE", "BOB"],
                vec![what("table", "SALES.PUBLIC.ORDERS", &["SELECT"])],
            )
        })
        .collect();
    // TEAM_3's grant to BOB fails in the batch and again when sent alone.
    standin
        .faults()
        .fail_statement_matching("GRANT ROLE \"TEAM_3\" TO USER \"BOB\"", 2);
    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, aps.clone()).await;
    for outcome in &outcomes {
        if outcome.feedback.access_provider == "ap-3" {
            assert_eq!(errors(outcome).len(), 1, "{outcome:?}");
            assert!(errors(outcome)[0].contains("Insufficient privileges"));
        } else {
            assert!(errors(outcome).is_empty(), "{outcome:?}");
        }
    }
    // One request for all, then one per access provider of the failed request.
    assert_eq!(counts.write_requests, 7, "{counts:?}");
    for i in [0, 1, 2, 4, 5] {
        assert_eq!(
            members_of(&standin, &format!("TEAM_{i}")).await,
            set(&["USER ALICE", "USER BOB"])
        );
    }
    // TEAM_3 is half applied: made and granted to ALICE; the statements after the failing one
    // did not run.
    assert_eq!(members_of(&standin, "TEAM_3").await, set(&["USER ALICE"]));
    assert!(grants_to(&standin, "TEAM_3").await.is_empty());

    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, aps).await;
    for outcome in &outcomes {
        assert!(errors(outcome).is_empty(), "{outcome:?}");
    }
    let team_3 = &outcomes[3];
    // What is missing, and only that.
    assert_eq!(
        team_3.statements,
        vec![
            "GRANT ROLE \"TEAM_3\" TO USER \"BOB\"",
            "GRANT SELECT ON TABLE \"SALES\".\"PUBLIC\".\"ORDERS\" TO ROLE \"TEAM_3\"",
            "GRANT USAGE ON DATABASE \"SALES\" TO ROLE \"TEAM_3\"",
            "GRANT USAGE ON SCHEMA \"SALES\".\"PUBLIC\" TO ROLE \"TEAM_3\"",
        ]
    );
    assert_eq!((counts.writes, counts.write_requests), (4, 1));
    assert_eq!(
        members_of(&standin, "TEAM_3").await,
        set(&["USER ALICE", "USER BOB"])
    );
}

#[tokio::test]
async fn database_role_access_providers_become_database_roles_with_go_external_ids() {
    let standin = standin(account()).await;
    let mut readers = ap(
        "ap-db",
        "Order readers",
        &[],
        vec![
            what("table", "SALES.PUBLIC.ORDERS", &["SELECT"]),
            // Not in the database role's database: left out with a warning.
            what("warehouse", "COMPUTE_WH", &["USAGE"]),
        ],
    );
    readers.r#type = Some("databaseRole".to_owned());
    // Granted to an account role.
    readers.who.inherit_from = vec!["LEGACY".to_owned()];
    let mut with_users = ap("ap-db-users", "With users", &["ALICE"], vec![]);
    with_users.r#type = Some("databaseRole".to_owned());
    with_users.external_id = Some("DATABASEROLE###DATABASE:SALES###ROLE:WITH_USERS".to_owned());
    let (outcomes, _) = apply(
        &standin,
        ApplyMode::Apply,
        vec![readers.clone(), with_users],
    )
    .await;
    let (readers_outcome, users_outcome) = (&outcomes[0], &outcomes[1]);
    assert!(errors(readers_outcome).is_empty(), "{readers_outcome:?}");
    assert_eq!(readers_outcome.feedback.actual_name, "ORDER_READERS");
    assert_eq!(
        readers_outcome.feedback.external_id.as_deref(),
        Some("DATABASEROLE###DATABASE:SALES###ROLE:ORDER_READERS")
    );
    assert_eq!(
        readers_outcome.feedback.r#type.as_deref(),
        Some("databaseRole")
    );
    assert!(
        readers_outcome
            .feedback
            .warnings
            .iter()
            .any(|w| w.contains("COMPUTE_WH")),
        "{readers_outcome:?}"
    );
    assert_eq!(
        readers_outcome.statements[0],
        format!(
            "CREATE DATABASE ROLE IF NOT EXISTS \"SALES\".\"ORDER_READERS\" COMMENT = '{}'",
            managed_comment("ap-db")
        )
    );
    assert!(
        errors(users_outcome)[0].contains("cannot be granted to users"),
        "{users_outcome:?}"
    );
    let statement = "SHOW GRANTS TO DATABASE ROLE \"SALES\".\"ORDER_READERS\"";
    let privileges = column(&standin, statement, "privilege").await;
    let names = column(&standin, statement, "name").await;
    let held: BTreeSet<String> = privileges
        .iter()
        .zip(&names)
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    assert_eq!(
        held,
        set(&[
            "SELECT SALES.PUBLIC.ORDERS",
            "USAGE SALES",
            "USAGE SALES.PUBLIC"
        ])
    );
    let statement = "SHOW GRANTS OF DATABASE ROLE \"SALES\".\"ORDER_READERS\"";
    assert_eq!(
        column(&standin, statement, "grantee_name").await,
        vec!["LEGACY"]
    );

    // Again: nothing to do.
    readers.actual_name = Some("ORDER_READERS".to_owned());
    readers.external_id = readers_outcome.feedback.external_id.clone();
    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, vec![readers]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{:?}", outcomes[0]);
    assert!(outcomes[0].statements.is_empty(), "{:?}", outcomes[0]);
    assert_eq!(counts.writes, 0);
}

/// SALES.PUBLIC.CUSTOMERS with typed columns, for masks and filters; SALES.PUBLIC.LOCKED has a
/// row access policy of the customer's own.
fn account_with_columns() -> Account {
    use snowflake_standin::Column;
    let column = |name: &str, data_type: &str| Column {
        name: name.to_owned(),
        data_type: data_type.to_owned(),
        nullable: true,
        ..Column::default()
    };
    let mut account = account();
    let public = &mut account.databases[0].schemas[0];
    for table in &mut public.tables {
        if table.name == "CUSTOMERS" {
            table.columns = vec![
                column("EMAIL", "TEXT"),
                column("PHONE", "TEXT"),
                column("AGE", "NUMBER"),
                column("REGION", "TEXT"),
            ];
        }
    }
    account
}

fn mask(
    id: &str,
    name: &str,
    mask_type: &str,
    users: &[&str],
    columns: &[&str],
) -> ExportedAccessProvider {
    let mut ap = ap(
        id,
        name,
        users,
        columns
            .iter()
            .map(|c| what("column", &format!("SALES.PUBLIC.CUSTOMERS.{c}"), &[]))
            .collect(),
    );
    ap.action = Action::Mask;
    ap.r#type = Some(mask_type.to_owned());
    ap
}

fn filter(id: &str, users: &[&str], rule: &str) -> ExportedAccessProvider {
    let mut ap = ap(
        id,
        id,
        users,
        vec![what("table", "SALES.PUBLIC.CUSTOMERS", &[])],
    );
    ap.action = Action::Filtered;
    ap.policy_rule = Some(rule.to_owned());
    ap
}

/// `column policy` of every policy reference of CUSTOMERS (`ROW ACCESS policy` for the table's).
async fn customers_policies(standin: &StandIn) -> BTreeSet<String> {
    let statement = "SELECT POLICY_NAME, POLICY_KIND, REF_COLUMN_NAME FROM TABLE(\"SALES\".\
                     INFORMATION_SCHEMA.POLICY_REFERENCES(REF_ENTITY_NAME => \
                     '\"SALES\".\"PUBLIC\".\"CUSTOMERS\"', REF_ENTITY_DOMAIN => 'table'))";
    let names = column(standin, statement, "POLICY_NAME").await;
    let kinds = column(standin, statement, "POLICY_KIND").await;
    let columns = column(standin, statement, "REF_COLUMN_NAME").await;
    names
        .into_iter()
        .zip(kinds)
        .zip(columns)
        .map(|((n, k), c)| {
            if k == "ROW_ACCESS_POLICY" {
                format!("ROW ACCESS {n}")
            } else {
                format!("{c} {n}")
            }
        })
        .collect()
}

#[tokio::test]
async fn masks_become_masking_policies_per_type_and_follow_their_columns() {
    let standin = standin(account_with_columns()).await;
    let pii = mask(
        "ap-mask",
        "PII",
        "SHA256",
        &["ALICE"],
        &["EMAIL", "PHONE", "AGE"],
    );
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![pii.clone()]).await;
    let outcome = &outcomes[0];
    assert!(errors(outcome).is_empty(), "{outcome:?}");
    let name = outcome.feedback.actual_name.clone();
    assert!(name.starts_with("RAITO_PII_"), "{name}");
    assert_eq!(outcome.feedback.external_id.as_deref(), Some(name.as_str()));
    // SHA256 applies to text only: the number column is masked with NULL, with a warning.
    assert!(
        outcome
            .feedback
            .warnings
            .iter()
            .any(|w| w.contains("SHA256")),
        "{outcome:?}"
    );
    let creates: Vec<&String> = outcome
        .statements
        .iter()
        .filter(|s| s.starts_with("CREATE MASKING POLICY"))
        .collect();
    assert_eq!(creates.len(), 2, "{:?}", outcome.statements);
    assert!(
        creates
            .iter()
            .any(|s| s.contains("SHA2(\"VAL\", 256)") && s.contains("CURRENT_USER() IN ('ALICE')")),
        "{creates:?}"
    );
    let masked = customers_policies(&standin).await;
    assert_eq!(masked.len(), 3, "{masked:?}");
    for column in ["EMAIL", "PHONE", "AGE"] {
        assert!(
            masked
                .iter()
                .any(|m| m.starts_with(&format!("{column} {name}_"))),
            "{column}: {masked:?}"
        );
    }

    // Again: nothing to do.
    let mut again = pii.clone();
    again.external_id = Some(name.clone());
    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, vec![again.clone()]).await;
    assert!(outcomes[0].statements.is_empty(), "{:?}", outcomes[0]);
    assert_eq!(counts.writes, 0);

    // AGE leaves the mask: unset, and the NUMBER policy dropped.
    again
        .what
        .retain(|w| !w.data_object.full_name.ends_with("AGE"));
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![again.clone()]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{:?}", outcomes[0]);
    assert_eq!(
        outcomes[0].statements.len(),
        2,
        "{:?}",
        outcomes[0].statements
    );
    assert!(outcomes[0].statements[0].ends_with("ALTER COLUMN \"AGE\" UNSET MASKING POLICY"));
    assert!(outcomes[0].statements[1].starts_with("DROP MASKING POLICY IF EXISTS"));
    assert_eq!(customers_policies(&standin).await.len(), 2);

    // Deleted: every column unmasked, every policy dropped.
    again.delete = true;
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![again]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{:?}", outcomes[0]);
    assert!(customers_policies(&standin).await.is_empty());
    let left = column(&standin, "SHOW MASKING POLICIES IN ACCOUNT", "name").await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn filters_of_a_table_become_one_row_access_policy_and_hostile_rules_are_refused() {
    let standin = standin(account_with_columns()).await;
    let eu = filter("ap-eu", &["ALICE"], "{REGION} = 'EU'");
    let seniors = filter(
        "ap-old",
        &["o'Brien \"the\" ünïcode"],
        "AGE >= 65 AND region IS NOT NULL",
    );
    let (outcomes, _) = apply(
        &standin,
        ApplyMode::Apply,
        vec![eu.clone(), seniors.clone()],
    )
    .await;
    for outcome in &outcomes {
        assert!(errors(outcome).is_empty(), "{outcome:?}");
    }
    let name = outcomes[0].feedback.actual_name.clone();
    assert!(
        name.starts_with("raito_PUBLIC_CUSTOMERS_") && name.ends_with("_filter"),
        "{name}"
    );
    assert_eq!(outcomes[1].feedback.actual_name, name);
    assert_eq!(
        outcomes[0].feedback.external_id,
        Some(format!("SALES.PUBLIC.CUSTOMERS.{name}"))
    );
    let create = &outcomes[0].statements[0];
    assert!(
        create.contains("AS (\"AGE\" NUMBER, \"REGION\" TEXT) RETURNS BOOLEAN")
            && create.contains("(CURRENT_USER() IN ('ALICE')) AND ((\"REGION\" = 'EU'))")
            && create.contains("CURRENT_USER() IN ('o\\'Brien \"the\" ünïcode')"),
        "{create}"
    );
    assert_eq!(
        customers_policies(&standin).await,
        set(&[&format!("ROW ACCESS {name}")])
    );

    // Again: nothing; a changed rule replaces the policy in one statement.
    let (outcomes, counts) = apply(
        &standin,
        ApplyMode::Apply,
        vec![eu.clone(), seniors.clone()],
    )
    .await;
    assert!(
        outcomes.iter().all(|o| o.statements.is_empty()),
        "{outcomes:?}"
    );
    assert_eq!(counts.writes, 0);
    let mut changed = seniors.clone();
    changed.policy_rule = Some("AGE >= 67".to_owned());
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![eu.clone(), changed]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{outcomes:?}");
    let statements = &outcomes[0].statements;
    assert_eq!(statements.len(), 3, "{statements:?}");
    assert!(statements[1].contains(&format!(
        "DROP ROW ACCESS POLICY \"SALES\".\"PUBLIC\".\"{name}\", ADD ROW ACCESS POLICY"
    )));
    assert_eq!(
        statements[2],
        format!("DROP ROW ACCESS POLICY IF EXISTS \"SALES\".\"PUBLIC\".\"{name}\"")
    );

    // Hostile rules never reach Snowflake; the table's other filter is not applied either.
    for rule in [
        "REGION = (SELECT MAX(REGION) FROM SALES.PUBLIC.CUSTOMERS)",
        "CURRENT_ROLE() = 'ACCOUNTADMIN'",
        "REGION = 'EU') OR (TRUE",
        "REGION = 'EU'; DROP ROLE SYSADMIN",
    ] {
        let before = standin.requests().by_prefix.clone();
        let hostile = filter("ap-eu", &["ALICE"], rule);
        let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![hostile, seniors.clone()]).await;
        assert!(
            outcomes
                .iter()
                .all(|o| !errors(o).is_empty() && o.statements.is_empty()),
            "{rule}: {outcomes:?}"
        );
        let after = standin.requests().by_prefix;
        for (prefix, n) in &after {
            let was = before.get(prefix).copied().unwrap_or(0);
            assert!(
                *n == was || prefix.starts_with("SHOW") || prefix.starts_with("SELECT"),
                "{rule}: {prefix} sent"
            );
        }
    }
}

#[tokio::test]
async fn standard_edition_refuses_masks_and_filters_in_their_feedback() {
    let standin = standin(account_with_columns()).await;
    let target = target(&standin, CLIENT_KEY, "    sf-standard-edition: true\n").await;
    let config = snowflake::Config::from_parameters(&target.parameters).expect("valid");
    let client = client_of(&target);
    let mut source: VecDeque<_> = vec![
        mask("ap-mask", "PII", "NULL", &["ALICE"], &["EMAIL"]),
        filter("ap-filter", &["ALICE"], "{REGION} = 'EU'"),
    ]
    .into();
    let mut outcomes = Vec::new();
    let counts = run(
        &config,
        &client,
        ApplyMode::Apply,
        &mut source,
        &mut outcomes,
    )
    .await
    .expect("the apply runs");
    assert_eq!(counts.failed, 2);
    assert!(outcomes[0].feedback.errors[0].contains("Standard Edition"));
    assert!(outcomes[1].feedback.errors[0].contains("Standard Edition"));
    assert_eq!(counts.writes, 0);
}

// The conformance suite's access checks (`raito_common::testing::access`), on the stand-in.

/// An export of every kind of change the apply knows: a role with users, a table, a schema
/// expansion and an inheritance by id from later in the export; a database role; a mask; a
/// filter.
fn conformance_export() -> Vec<ExportedAccessProvider> {
    let mut readers = ap(
        "c-readers",
        "Readers",
        &["ALICE"],
        vec![
            what("table", "SALES.PUBLIC.ORDERS", &["SELECT"]),
            what("schema", "SALES.PUBLIC", &["SELECT"]),
        ],
    );
    readers.who.inherit_from = vec!["ID:c-heirs".to_owned()];
    let heirs = ap("c-heirs", "Heirs", &["BOB"], vec![]);
    let mut database_role = ap(
        "c-db",
        "Db readers",
        &[],
        vec![what("table", "SALES.PUBLIC.CUSTOMERS", &["SELECT"])],
    );
    database_role.r#type = Some("databaseRole".to_owned());
    vec![
        readers,
        heirs,
        database_role,
        mask("c-mask", "Emails", "SHA256", &["ALICE"], &["EMAIL"]),
        filter("c-filter", &["BOB"], "{REGION} = 'EU'"),
    ]
}

async fn conformance_connector(standin: &StandIn) -> Box<dyn raito_common::connector::Connector> {
    let target = target(standin, CLIENT_KEY, "    sf-database-roles: true\n").await;
    raito_common::connectors::build(&target).expect("valid target")
}

#[tokio::test]
async fn conformance_applying_the_same_export_twice_issues_nothing() {
    let standin = standin(account_with_columns()).await;
    let connector = conformance_connector(&standin).await;
    let first =
        raito_common::testing::check_apply_converges(connector.as_ref(), &conformance_export())
            .await;
    assert_eq!(first[0].feedback.actual_name, "READERS");
    assert_eq!(
        members_of(&standin, "READERS").await,
        set(&["ROLE HEIRS", "USER ALICE"])
    );
}

#[tokio::test]
async fn conformance_a_plan_lists_exactly_what_the_apply_then_executes() {
    let standin = standin(account_with_columns()).await;
    let connector = conformance_connector(&standin).await;
    raito_common::testing::check_plan_matches_apply(connector.as_ref(), &conformance_export())
        .await;
}

#[tokio::test]
async fn conformance_a_failing_access_provider_does_not_stop_the_others() {
    let standin = standin(account_with_columns()).await;
    let connector = conformance_connector(&standin).await;
    let export = conformance_export();
    // Valid as far as the connector can tell; Snowflake refuses it (no such user) in the
    // middle of a request.
    let failing = ap(
        "c-failing",
        "Failing",
        &["NO_SUCH_USER"],
        vec![what("table", "SALES.PUBLIC.ORDERS", &["SELECT"])],
    );
    let outcomes = raito_common::testing::check_failing_access_provider_is_isolated(
        connector.as_ref(),
        &export[..2],
        &failing,
        &export[2..],
    )
    .await;
    assert!(
        outcomes[2].feedback.errors[0].contains("NO_SUCH_USER"),
        "{:?}",
        outcomes[2]
    );
}

#[tokio::test]
async fn conformance_the_import_leaves_out_what_the_apply_manages() {
    let standin = standin(account_with_columns()).await;
    let connector = conformance_connector(&standin).await;
    let imported = raito_common::testing::check_import_excludes_managed(
        connector.as_ref(),
        &conformance_export()[..3],
        &["SALES_ANALYSTS", "LEGACY"],
    )
    .await;
    assert!(!imported.iter().any(|ap| ap.external_id == "READERS"));
}

#[tokio::test]
async fn the_import_reads_the_customers_policies_as_go_does_and_leaves_raitos_out() {
    let standin = standin(account_with_columns()).await;
    let target = target(&standin, CLIENT_KEY, "").await;
    let client = client_of(&target);
    for statement in [
        "CREATE MASKING POLICY \"SALES\".\"PUBLIC\".\"PII_MASK\" AS (\"VAL\" TEXT) RETURNS TEXT -> \
         CASE WHEN IS_ROLE_IN_SESSION('HR') THEN \"VAL\" ELSE '***' END",
        "ALTER TABLE \"SALES\".\"PUBLIC\".\"CUSTOMERS\" ALTER COLUMN \"EMAIL\" SET MASKING POLICY \
         \"SALES\".\"PUBLIC\".\"PII_MASK\"",
        "CREATE ROW ACCESS POLICY \"SALES\".\"PUBLIC\".\"eu only\" AS (\"R\" TEXT) RETURNS BOOLEAN \
         -> \"R\" = 'EU'",
        "ALTER TABLE \"SALES\".\"PUBLIC\".\"CUSTOMERS\" ADD ROW ACCESS POLICY \
         \"SALES\".\"PUBLIC\".\"eu only\" ON (\"REGION\")",
    ] {
        client.query(statement, &[]).await.expect(statement);
    }
    // Raito's own mask: never offered back.
    let (outcomes, _) = apply(
        &standin,
        ApplyMode::Apply,
        vec![mask("ap-mask", "Phones", "NULL", &["ALICE"], &["PHONE"])],
    )
    .await;
    assert!(errors(&outcomes[0]).is_empty(), "{outcomes:?}");

    let config = snowflake::Config::from_parameters(&target.parameters).expect("valid");
    let mut imported = Vec::new();
    let counts = raito_common::connectors::snowflake::access::import::import(
        &config,
        &client,
        &mut imported,
    )
    .await
    .expect("imported");
    assert_eq!(counts.policies, 2, "{counts:?}");
    let policies: Vec<_> = imported
        .iter()
        .filter(|ap| ap.action != Action::Grant)
        .collect();
    assert_eq!(policies.len(), 2, "{policies:?}");
    let mask = policies
        .iter()
        .find(|ap| ap.action == Action::Mask)
        .unwrap();
    assert_eq!(mask.external_id, "SALES-PUBLIC-PII_MASK");
    assert_eq!(mask.actual_name, "SALES-PUBLIC-PII_MASK");
    assert_eq!(mask.naming_hint, "PII_MASK");
    assert!(mask.not_internalizable);
    assert!(mask.who.is_none());
    assert_eq!(
        mask.policy,
        "CASE WHEN IS_ROLE_IN_SESSION('HR') THEN \"VAL\" ELSE '***' END"
    );
    assert_eq!(mask.what.len(), 1);
    assert_eq!(
        (
            mask.what[0].data_object.full_name.as_str(),
            mask.what[0].data_object.r#type.as_str()
        ),
        ("SALES.PUBLIC.CUSTOMERS.EMAIL", "COLUMN")
    );
    let filter = policies
        .iter()
        .find(|ap| ap.action == Action::Filtered)
        .unwrap();
    assert_eq!(filter.external_id, "SALES-PUBLIC-eu only");
    assert_eq!(filter.policy, "\"R\" = 'EU'");
    assert_eq!(
        (
            filter.what[0].data_object.full_name.as_str(),
            filter.what[0].data_object.r#type.as_str()
        ),
        ("SALES.PUBLIC.CUSTOMERS", "TABLE")
    );
}

#[tokio::test]
async fn a_filter_given_as_filter_criteria_becomes_a_row_access_policy() {
    let standin = standin(account_with_columns()).await;
    let mut criteria = filter("ap-criteria", &["ALICE"], "");
    criteria.policy_rule = None;
    criteria.filter_criteria = Some(serde_json::json!({"comparison": {
        "operator": "Equal",
        "leftOperand": {"reference": {"entityType": "DataObject",
            "entityId": "{\"fullName\":\"SALES.PUBLIC.CUSTOMERS.REGION\",\"type\":\"column\"}"}},
        "rightOperand": {"literal": {"string": "EU"}}}}));
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![criteria.clone()]).await;
    assert!(errors(&outcomes[0]).is_empty(), "{outcomes:?}");
    assert!(
        outcomes[0].statements[0].contains(
            "AS (\"REGION\" TEXT) RETURNS BOOLEAN -> (CURRENT_USER() IN ('ALICE')) AND \
             ((\"REGION\" = 'EU'))"
        ),
        "{:?}",
        outcomes[0].statements
    );
    let name = outcomes[0].feedback.actual_name.clone();
    assert_eq!(
        customers_policies(&standin).await,
        set(&[&format!("ROW ACCESS {name}")])
    );
    let (outcomes, counts) = apply(&standin, ApplyMode::Apply, vec![criteria]).await;
    assert!(outcomes[0].statements.is_empty(), "{outcomes:?}");
    assert_eq!(counts.writes, 0);
}

#[tokio::test]
async fn names_at_snowflakes_limit_and_hostile_hints_are_quoted_and_cut() {
    let standin = standin(account()).await;
    let long_user = "U".repeat(255);
    // A 300-character hint: cut to 249 so a postfix still fits in 255.
    let long = ap(
        "ap-long",
        &"x".repeat(300),
        &[&long_user],
        vec![what(
            "table",
            "SALES.\"Mixed.Schema\".\"my \"\"odd\"\" table\"",
            &["SELECT"],
        )],
    );
    // A hint that tries to close the identifier: translated away.
    let hostile = ap(
        "ap-hostile",
        "x\"; DROP ROLE SYSADMIN; --",
        &["ALICE"],
        vec![],
    );
    let (outcomes, _) = apply(&standin, ApplyMode::Apply, vec![long, hostile]).await;
    for outcome in &outcomes {
        assert!(errors(outcome).is_empty(), "{outcome:?}");
    }
    let (hostile, long) = (&outcomes[0], &outcomes[1]);
    assert_eq!(long.feedback.actual_name, "X".repeat(249));
    assert_eq!(
        members_of(&standin, &"X".repeat(249)).await,
        set(&[&format!("USER {long_user}")])
    );
    assert_eq!(hostile.feedback.actual_name, "X_DROP_ROLE_SYSADMIN");
    assert!(comment_of(&standin, "SYSADMIN").await.is_some());
}
