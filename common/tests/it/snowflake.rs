//! The Snowflake connector against the Snowflake stand-in (`dev/snowflake-standin`), which
//! serves the SQL API v2 as documented (key-pair JWTs checked against the user's registered
//! key, partitions, 202 and polling, Snowflake's errors, the 10,000-row rule of SHOW): users
//! read past 10,000 and mapped as the Go connector maps them, the untyped ones described,
//! tags, faults waited out, and the errors a user acts on.

use std::time::Duration;

use crate::support;
use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::Error;
use raito_common::connectors;
use raito_common::connectors::snowflake;
use raito_common::model::identity::User;
use raito_common::testing;
use snowflake_standin::{Account, Options, Role, StandIn, TagReference, User as SfUser, Warehouse};

pub(crate) const CLIENT_KEY: &str = include_str!("../../../dev/test-keys/client.key");
pub(crate) const CLIENT_PUB: &str = include_str!("../../../dev/test-keys/client.pub");
const OTHER_KEY: &str = include_str!("../../../dev/snowflake-standin/tests/keys/other.key");

/// Bulk users besides the named ones: more than one `SHOW USERS` page of 10,000.
const BULK: usize = 10_020;

fn user(name: &str, login: &str, email: &str, kind: Option<&str>) -> SfUser {
    SfUser {
        name: name.to_owned(),
        login_name: login.to_owned(),
        display_name: String::new(),
        email: email.to_owned(),
        r#type: kind.map(str::to_owned),
        ..Default::default()
    }
}

/// An account with the sync user (the client key, role RAITO_SYNC with MANAGE GRANTS), named
/// users that exercise the mapping, and [`BULK`] more.
fn account() -> Account {
    let mut users = vec![
        SfUser {
            name: "RAITO_SYNC_USER".to_owned(),
            login_name: "raito_sync_user".to_owned(),
            r#type: Some("SERVICE".to_owned()),
            default_role: "RAITO_SYNC".to_owned(),
            rsa_public_key: Some(CLIENT_PUB.to_owned()),
            ..Default::default()
        },
        SfUser {
            display_name: "Alice Ærø".to_owned(),
            ..user("ALICE", "alice@acme.com", "Alice@Acme.com", Some("PERSON"))
        },
        // The same e-mail as Alice's: the Go connector's patch.
        user("ALICE_TWIN", "Alice.Twin", "alice@acme.com", Some("PERSON")),
        // No type in SHOW USERS: described.
        user("ETL", "etl", "", None),
        user("LEGACY", "legacy", "", Some("LEGACY_SERVICE")),
        // A name created quoted, with a quote and lower case in it.
        user("\"mixed\" case", "", "", Some("PERSON")),
    ];
    for i in 0..BULK {
        users.push(user(
            &format!("BULK_{i:05}"),
            &format!("bulk.{i}"),
            &format!("bulk.{i}@acme.com"),
            Some("PERSON"),
        ));
    }
    let tag = |user: &str, name: &str, value: &str| TagReference {
        tag_database: "GOVERNANCE".to_owned(),
        tag_schema: "TAGS".to_owned(),
        tag_name: name.to_owned(),
        tag_value: value.to_owned(),
        object_name: user.to_owned(),
        domain: "USER".to_owned(),
        ..Default::default()
    };
    Account {
        organization: "ACME".to_owned(),
        name: "PROD".to_owned(),
        users,
        warehouses: vec![Warehouse {
            name: "COMPUTE_WH".to_owned(),
            ..Default::default()
        }],
        roles: vec![Role {
            name: "RAITO_SYNC".to_owned(),
            manage_grants: true,
            account_usage: true,
            ..Default::default()
        }],
        tag_references: vec![
            tag("ALICE", "COST_CENTER", "42"),
            tag("ALICE", "TEAM", "data"),
            TagReference {
                object_deleted: true,
                ..tag("ETL", "GONE", "x")
            },
        ],
        ..Default::default()
    }
}

async fn standin(options: Options) -> StandIn {
    snowflake_standin::start(account(), options).await
}

pub(crate) async fn target(standin: &StandIn, key: &str, extra: &str) -> Target {
    let yaml = format!(
        "targets:\n  - name: snowflake\n    connector-name: snowflake\n    \
         identity-store-id: is-sf\n    sf-account: acme-prod\n    sf-user: raito_sync_user\n    \
         sf-role: RAITO_SYNC\n    sf-warehouse: COMPUTE_WH\n    sf-host: {}\n    \
         sf-private-key: {key:?}\n{extra}",
        standin.url
    );
    Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config")
        .targets
        .remove(0)
}

async fn users(target: &Target) -> Result<Vec<User>, Error> {
    let (users, groups) = support::sync_identities(target).await?;
    assert!(groups.is_empty(), "Snowflake has no groups");
    Ok(users)
}

fn find<'u>(users: &'u [User], user_name: &str) -> &'u User {
    users
        .iter()
        .find(|u| u.user_name == user_name)
        .unwrap_or_else(|| panic!("no user {user_name:?}"))
}

#[tokio::test]
async fn users_past_ten_thousand_are_read_and_mapped_as_the_go_connector_maps_them() {
    let standin = standin(Options::default()).await;
    let target = target(&standin, CLIENT_KEY, "").await;
    let connector = connectors::build(&target).expect("valid target");
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target).await;
    assert!(groups.is_empty());
    assert_eq!(users.len(), 6 + BULK, "every user once");

    let alice = find(&users, "ALICE");
    assert_eq!(
        (
            alice.external_id.as_str(),
            alice.name.as_str(),
            alice.email.as_str()
        ),
        ("alice@acme.com", "Alice Ærø", "alice@acme.com")
    );
    assert_eq!(alice.is_machine, Some(false));
    let tags: Vec<(&str, &str, &str)> = alice
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str(), t.source.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("COST_CENTER", "42", "Snowflake"),
            ("TEAM", "data", "Snowflake")
        ]
    );
    let twin = find(&users, "ALICE_TWIN");
    assert_eq!(twin.email, "alice+alice.twin@acme.com");
    let etl = find(&users, "ETL");
    assert_eq!(etl.external_id, "etl");
    assert_eq!(etl.is_machine, Some(false), "described: no type (NULL)");
    assert!(etl.tags.is_empty(), "a tag on a dropped object is not read");
    assert_eq!(find(&users, "LEGACY").is_machine, Some(true));
    assert_eq!(find(&users, "RAITO_SYNC_USER").is_machine, Some(true));
    let mixed = find(&users, "\"mixed\" case");
    assert_eq!(
        mixed.external_id, "\"mixed\" case",
        "the name, as the login name is empty"
    );
    assert_eq!(find(&users, "BULK_10019").external_id, "bulk.10019");

    let statements = standin.statements();
    let shows: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("SHOW USERS"))
        .collect();
    assert_eq!(
        shows,
        [
            "SHOW USERS LIMIT 10000",
            "SHOW USERS LIMIT 10000 FROM 'BULK_09996'",
        ],
        "two pages: the first ends at the 10,000th name in order (the quoted one sorts first)"
    );
    let described: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("DESCRIBE USER"))
        .collect();
    assert_eq!(
        described,
        ["DESCRIBE USER \"ETL\""],
        "only the untyped user"
    );
}

#[tokio::test]
async fn throttling_unavailability_slow_statements_and_a_lost_partition_are_waited_out() {
    let standin = standin(Options {
        async_after: Some(Duration::from_millis(50)),
        rows_per_partition: 3_000,
        ..Options::default()
    })
    .await;
    standin.faults().throttle_next(2);
    standin.faults().unavailable_next(1);
    standin.faults().slow_next(1, Duration::from_millis(300));
    standin.faults().fail_partition_once(2);
    let target = target(&standin, CLIENT_KEY, "    sf-skip-tags: true\n").await;
    let users = users(&target).await.expect("the sync gets through");
    assert_eq!(users.len(), 6 + BULK);
    let counters = standin.requests();
    assert_eq!((counters.throttled, counters.unavailable), (2, 1));
    assert!(
        counters.polls >= 1,
        "a slow statement was polled: {counters:?}"
    );
    assert!(
        counters.partitions >= 3,
        "partitions were read one at a time: {counters:?}"
    );
    assert!(
        !standin
            .statements()
            .iter()
            .any(|s| s.contains("TAG_REFERENCES")),
        "sf-skip-tags reads no tags"
    );
}

#[tokio::test]
async fn a_key_that_is_not_the_users_says_which_parameters_to_check_and_shows_no_key() {
    let standin = standin(Options::default()).await;
    let target = target(&standin, OTHER_KEY, "").await;
    let error = users(&target).await.expect_err("refused");
    let message = error.to_string();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{message}");
    assert!(message.contains("sf-private-key"), "{message}");
    assert!(message.contains("390144"), "Snowflake's code: {message}");
    assert!(!message.contains("PRIVATE KEY"), "{message}");
}

#[tokio::test]
async fn a_password_or_a_key_that_is_not_one_is_refused_before_any_request() {
    let standin = standin(Options::default()).await;
    let yaml = format!(
        "targets:\n  - name: sf\n    connector-name: snowflake\n    identity-store-id: is\n    \
         sf-account: acme-prod\n    sf-user: u\n    sf-password: hunter2\n    sf-host: {}\n",
        standin.url
    );
    let target = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config")
        .targets
        .remove(0);
    let message = connectors::build(&target)
        .err()
        .expect("no passwords")
        .to_string();
    assert!(
        message.contains("sf-password") && message.contains("sf-private-key"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    let target = target_with_key(
        &standin,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
    )
    .await;
    let message = connectors::build(&target)
        .err()
        .expect("not a key")
        .to_string();
    assert!(message.contains("sf-private-key"), "{message}");
    assert_eq!(standin.requests().submitted, 0, "nothing was sent");
}

async fn target_with_key(standin: &StandIn, key: &str) -> Target {
    target(standin, key, "").await
}

/// An account with the kinds of objects the data source sync reads: a database with every
/// table kind, a function (and a built-in one), mixed-case and dotted names, an excluded
/// schema, the default-excluded SNOWFLAKE database, an inbound shared database, a warehouse,
/// an integration and tags.
fn account_with_objects() -> Account {
    use snowflake_standin::{
        Column, Database, Integration, Routine, Schema, Share, Table, TableKind,
    };
    let column = |name: &str, data_type: &str| Column {
        name: name.to_owned(),
        data_type: data_type.to_owned(),
        nullable: true,
        ..Default::default()
    };
    let table = |name: &str, kind: TableKind, columns: Vec<Column>| Table {
        name: name.to_owned(),
        kind,
        columns,
        ..Default::default()
    };
    let mut account = account();
    account.users.truncate(1);
    account.databases = vec![
        Database {
            name: "SALES".to_owned(),
            comment: "Sales".to_owned(),
            schemas: vec![
                Schema {
                    name: "PUBLIC".to_owned(),
                    tables: vec![
                        Table {
                            comment: "All orders".to_owned(),
                            ..table(
                                "ORDERS",
                                TableKind::BaseTable,
                                vec![column("ID", "NUMBER"), column("note", "TEXT")],
                            )
                        },
                        table("V_ORDERS", TableKind::View, vec![column("ID", "NUMBER")]),
                        table("MV", TableKind::MaterializedView, vec![]),
                        table("EXT", TableKind::ExternalTable, vec![]),
                        table("ICE", TableKind::Iceberg, vec![]),
                    ],
                    ..Default::default()
                },
                Schema {
                    name: "Mixed Case".to_owned(),
                    tables: vec![table(
                        "my.table",
                        TableKind::BaseTable,
                        vec![column("a\"b", "TEXT")],
                    )],
                    ..Default::default()
                },
                Schema {
                    name: "STAGING".to_owned(),
                    tables: vec![table(
                        "RAW",
                        TableKind::BaseTable,
                        vec![column("X", "TEXT")],
                    )],
                    ..Default::default()
                },
            ],
            functions: vec![
                Routine {
                    name: "SUM3".to_owned(),
                    arguments: "SUM3(NUMBER, NUMBER, NUMBER) RETURN NUMBER".to_owned(),
                    schema_name: "PUBLIC".to_owned(),
                    description: "adds".to_owned(),
                    ..Default::default()
                },
                Routine {
                    name: "BUILTIN".to_owned(),
                    arguments: "BUILTIN() RETURN NUMBER".to_owned(),
                    schema_name: "PUBLIC".to_owned(),
                    is_builtin: true,
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
        Database {
            name: "SNOWFLAKE".to_owned(),
            kind: "APPLICATION".to_owned(),
            ..Default::default()
        },
        Database {
            name: "PARTNER_DATA".to_owned(),
            kind: "IMPORTED DATABASE".to_owned(),
            origin: "OTHER.ACCOUNT.FEED".to_owned(),
            schemas: vec![Schema {
                name: "S".to_owned(),
                tables: vec![table("T", TableKind::BaseTable, vec![column("C", "TEXT")])],
                ..Default::default()
            }],
            ..Default::default()
        },
    ];
    account.shares = vec![Share {
        kind: "INBOUND".to_owned(),
        name: "OTHER.ACCOUNT.FEED".to_owned(),
        database_name: "PARTNER_DATA".to_owned(),
        ..Default::default()
    }];
    account.integrations = vec![Integration {
        name: "S3_INT".to_owned(),
        r#type: "EXTERNAL_STAGE".to_owned(),
        ..Default::default()
    }];
    let tag = |domain: &str,
               database: &str,
               schema: &str,
               name: &str,
               column: Option<&str>,
               key: &str| TagReference {
        tag_database: "GOV".to_owned(),
        tag_schema: "TAGS".to_owned(),
        tag_name: key.to_owned(),
        tag_value: "yes".to_owned(),
        object_database: database.to_owned(),
        object_schema: schema.to_owned(),
        object_name: name.to_owned(),
        domain: domain.to_owned(),
        column_name: column.map(str::to_owned),
        ..Default::default()
    };
    account.tag_references = vec![
        tag("TABLE", "SALES", "PUBLIC", "ORDERS", None, "PII"),
        tag("COLUMN", "SALES", "PUBLIC", "ORDERS", Some("ID"), "KEY"),
        tag("WAREHOUSE", "", "", "COMPUTE_WH", None, "COST"),
    ];
    account
}

#[tokio::test]
async fn data_objects_are_named_and_typed_as_the_go_connector_names_them() {
    let standin = snowflake_standin::start(account_with_objects(), Options::default()).await;
    let mut target = target(&standin, CLIENT_KEY, "    sf-excluded-schemas: STAGING\n").await;
    target.data_source_id = Some("ds-sf".to_owned());
    let connector = connectors::build(&target).expect("valid target");
    let objects = testing::check_data_source_sync(connector.as_ref(), &target).await;
    // The conformance suite checked parents before children; the order beyond that is
    // Snowflake's, so compare as sets.
    let mut got: Vec<(String, String, String)> = objects
        .iter()
        .map(|o| {
            (
                o.external_id.clone(),
                o.r#type.clone(),
                o.parent_external_id.clone(),
            )
        })
        .collect();
    got.sort();
    let o =
        |id: &str, kind: &str, parent: &str| (id.to_owned(), kind.to_owned(), parent.to_owned());
    let mut expected = vec![
        o("S3_INT", "integration", "ds-sf"),
        o("COMPUTE_WH", "warehouse", "ds-sf"),
        o("PARTNER_DATA", "shared-database", "ds-sf"),
        o("SALES", "database", "ds-sf"),
        o("SALES.Mixed Case", "schema", "SALES"),
        o("SALES.PUBLIC", "schema", "SALES"),
        o(
            "SALES.PUBLIC.\"SUM3\"(NUMBER, NUMBER, NUMBER)",
            "function",
            "SALES.PUBLIC",
        ),
        o("SALES.Mixed Case.my.table", "table", "SALES.Mixed Case"),
        o("SALES.PUBLIC.EXT", "external-table", "SALES.PUBLIC"),
        o("SALES.PUBLIC.ICE", "iceberg-table", "SALES.PUBLIC"),
        o("SALES.PUBLIC.MV", "materialized-view", "SALES.PUBLIC"),
        o("SALES.PUBLIC.ORDERS", "table", "SALES.PUBLIC"),
        o("SALES.PUBLIC.V_ORDERS", "view", "SALES.PUBLIC"),
        o(
            "SALES.Mixed Case.my.table.a\"b",
            "column",
            "SALES.Mixed Case.my.table",
        ),
        o("SALES.PUBLIC.ORDERS.ID", "column", "SALES.PUBLIC.ORDERS"),
        o("SALES.PUBLIC.ORDERS.note", "column", "SALES.PUBLIC.ORDERS"),
        o(
            "SALES.PUBLIC.V_ORDERS.ID",
            "column",
            "SALES.PUBLIC.V_ORDERS",
        ),
        o("PARTNER_DATA.S", "shared-schema", "PARTNER_DATA"),
        o("PARTNER_DATA.S.T", "shared-table", "PARTNER_DATA.S"),
        o("PARTNER_DATA.S.T.C", "shared-column", "PARTNER_DATA.S.T"),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let by_id = |id: &str| objects.iter().find(|o| o.external_id == id).expect(id);
    assert_eq!(
        connector
            .data_source()
            .expect("a data source sync")
            .data_source_names()
            .await
            .expect("the account's name"),
        Some(("ACME-PROD".to_owned(), "ACME-PROD".to_owned())),
        "the account names the data source element"
    );
    let orders = by_id("SALES.PUBLIC.ORDERS");
    assert_eq!(
        (orders.name.as_str(), orders.description.as_str()),
        ("ORDERS", "All orders")
    );
    assert_eq!(
        orders
            .tags
            .iter()
            .map(|t| t.key.as_str())
            .collect::<Vec<_>>(),
        ["PII"]
    );
    let id = by_id("SALES.PUBLIC.ORDERS.ID");
    assert_eq!(id.data_type.as_deref(), Some("NUMBER"));
    assert_eq!(
        id.tags.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
        ["KEY"]
    );
    assert_eq!(by_id("COMPUTE_WH").tags.len(), 1);
    let sum3 = by_id("SALES.PUBLIC.\"SUM3\"(NUMBER, NUMBER, NUMBER)");
    assert_eq!(sum3.name, "SUM3(NUMBER, NUMBER, NUMBER)");
    assert_eq!(sum3.full_name, sum3.external_id);
    assert_eq!(by_id("SALES").description, "Sales");
    assert!(
        !standin.statements().iter().any(|s| s.starts_with("GRANT")),
        "the connector never grants itself anything"
    );
}

#[tokio::test]
async fn a_refused_token_is_signed_again_and_a_statement_past_its_timeout_fails_clearly() {
    let standin = standin(Options::default()).await;
    // Snowflake refuses an expired token with 401 390144: a new one is signed, once.
    standin.faults().refuse_next_tokens(1);
    let renewing = target(&standin, CLIENT_KEY, "    sf-skip-tags: true\n").await;
    let read = users(&renewing)
        .await
        .expect("the renewed token gets through");
    assert_eq!(read.len(), 6 + BULK);
    assert_eq!(standin.requests().tokens_refused, 1);
    // Refused twice in a row: not a token that expired, a key that is not the user's.
    standin.faults().refuse_next_tokens(2);
    let error = users(&renewing).await.expect_err("refused");
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error}");

    // A statement Snowflake cancels at sf-statement-timeout (408): the run fails and says so.
    let slow = snowflake_standin::start(
        account(),
        Options {
            statement_delay: Duration::from_millis(2_500),
            ..Options::default()
        },
    )
    .await;
    let timing_out = target(&slow, CLIENT_KEY, "    sf-statement-timeout: 1\n").await;
    let error = users(&timing_out).await.expect_err("cancelled");
    let message = error.to_string();
    assert!(
        message.contains("Snowflake cancelled it after 1 s (sf-statement-timeout)"),
        "{message}"
    );
}

pub(crate) fn client_of(target: &Target) -> snowflake::client::Client {
    let config = snowflake::Config::from_parameters(&target.parameters).expect("valid");
    let credentials = snowflake::client::Credentials::from_config(&config).expect("a key");
    snowflake::client::Client::new(&config, credentials).expect("a client")
}

#[tokio::test]
async fn a_statement_left_running_when_the_run_gives_up_on_it_is_cancelled_in_snowflake() {
    // Every statement runs for a minute; the answer is a 202 after 50 ms.
    let standin = standin(Options {
        async_after: Some(Duration::from_millis(50)),
        statement_delay: Duration::from_secs(60),
        ..Options::default()
    })
    .await;
    let running = target(&standin, CLIENT_KEY, "    sf-skip-tags: true\n").await;
    // The run's deadline passes while the first statement is polled: its future is dropped.
    let gave_up = tokio::time::timeout(Duration::from_millis(800), users(&running)).await;
    assert!(gave_up.is_err(), "the statement was still running");
    for _ in 0..100 {
        if standin.requests().cancels > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counters = standin.requests();
    assert_eq!(
        (counters.submitted, counters.cancels),
        (1, 1),
        "the one statement sent was cancelled: {counters:?}"
    );
    assert!(counters.polls >= 1, "{counters:?}");

    // A statement that finished is never cancelled.
    let quick = snowflake_standin::start(account_with_objects(), Options::default()).await;
    let finished = target(&quick, CLIENT_KEY, "    sf-skip-tags: true\n").await;
    users(&finished).await.expect("synced");
    assert_eq!(quick.requests().cancels, 0);
}

#[tokio::test]
async fn cells_are_decoded_by_the_type_of_their_column() {
    let standin = snowflake_standin::start(account_with_objects(), Options::default()).await;
    let target = target(&standin, CLIENT_KEY, "").await;
    let client = client_of(&target);
    let mut rows = client.query("SHOW DATABASES", &[]).await.expect("shown");
    let created = rows.column("created_on").expect("a column");
    let name = rows.column("name").expect("a column");
    let batch = rows.next_batch().await.expect("read").expect("a batch");
    let row = batch
        .iter()
        .find(|row| row.get(name) == Some("SALES"))
        .expect("SALES");
    assert_eq!(
        rows.columns()[created].r#type,
        "timestamp_ltz",
        "as Snowflake types it"
    );
    assert_eq!(
        rows.cell(row, created).expect("a timestamp"),
        snowflake::cell::Cell::Timestamp(time::macros::datetime!(2024-01-01 0:00 UTC))
    );
    assert_eq!(
        rows.cell(row, name).expect("text"),
        snowflake::cell::Cell::Text("SALES")
    );
}

#[tokio::test]
async fn sf_mask_decrypt_function_adds_the_encrypt_mask_as_in_go() {
    let standin = snowflake_standin::start(account_with_objects(), Options::default()).await;
    let mask_ids = async |extra: &str| -> Vec<String> {
        let target = target(&standin, CLIENT_KEY, extra).await;
        let connector = connectors::build(&target).expect("valid target");
        let metadata = connector
            .data_source()
            .expect("a data source")
            .metadata()
            .await
            .expect("the metadata");
        metadata
            .masking_metadata
            .expect("Enterprise edition masks")
            .mask_types
            .into_iter()
            .map(|mask| mask.external_id)
            .collect()
    };
    assert_eq!(mask_ids("").await, ["NULL", "SHA256"]);
    assert_eq!(
        mask_ids("    sf-mask-decrypt-function: SECURE.PUBLIC.DECRYPT_IT\n").await,
        ["NULL", "SHA256", "ENCRYPT"]
    );
}

// ---- usage: ACCOUNT_USAGE.QUERY_HISTORY joined with ACCESS_HISTORY ----

mod usage {
    use std::collections::BTreeSet;

    use raito_common::connector::{Connector, UsageRequest};
    use raito_common::model::usage::{Statement, UsageGlobalPermission};
    use raito_common::{connectors, testing};
    use serde_json::json;
    use snowflake_standin::{AccessRecord, Account, ExecutionStatus, Options, QueryRecord};
    use time::OffsetDateTime;

    use super::{CLIENT_KEY, account, target};

    fn hours_ago(hours: f64) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        let whole = now - time::Duration::nanoseconds(i64::from(now.nanosecond()));
        whole - time::Duration::seconds_f64(hours * 3600.0)
    }

    fn record(id: &str, user: &str, text: &str, start: OffsetDateTime) -> QueryRecord {
        QueryRecord {
            query_id: id.into(),
            query_text: text.into(),
            user_name: user.into(),
            role_name: "ANALYST".into(),
            query_type: "SELECT".into(),
            warehouse_name: "COMPUTE_WH".into(),
            execution_status: ExecutionStatus::Success,
            start_time: start,
            end_time: start + time::Duration::milliseconds(1_500),
            bytes_written_to_result: 1_024,
            rows_produced: Some(7),
            credits_used_cloud_services: 0.000_123,
            ..QueryRecord::default()
        }
    }

    fn access(direct: serde_json::Value, modified: serde_json::Value) -> AccessRecord {
        AccessRecord::from_json(&direct, &direct, &modified, None)
    }

    async fn connector(
        account: Account,
        extra: &str,
    ) -> (snowflake_standin::StandIn, Box<dyn Connector>) {
        let standin = snowflake_standin::start(account, Options::default()).await;
        let target = target(&standin, CLIENT_KEY, extra).await;
        let connector = connectors::build(&target).expect("valid target");
        (standin, connector)
    }

    async fn statements(connector: &dyn Connector, since: Option<i64>) -> Vec<Statement> {
        testing::usage::sync_usage(
            connector,
            &UsageRequest {
                since,
                deadline: None,
            },
        )
        .await
    }

    #[tokio::test]
    async fn statements_and_their_objects_are_mapped_as_the_go_connector_maps_them() {
        let start = hours_ago(5.0);
        let mut select = record("q-select", "ALICE", "select * from v", start);
        select.access = Some(AccessRecord::from_json(
            &json!([{"objectDomain": "View", "objectId": 1, "objectName": "SALES.PUBLIC.V$V1",
                     "columns": [{"columnId": 2, "columnName": "ID"}]}]),
            &json!([{"objectDomain": "Table", "objectId": 3, "objectName": "SALES.PUBLIC.ORDERS"}]),
            &json!([]),
            None,
        ));
        let mut insert = record(
            "q-insert",
            "ALICE",
            "insert into t select 1",
            start + time::Duration::seconds(1),
        );
        insert.access = Some(access(
            json!([]),
            json!([{"objectDomain": "TABLE", "objectId": 4, "objectName": "SALES.PUBLIC.T",
                    "columns": [{"columnName": "ID", "baseSources": [], "directSources": []}]}]),
        ));
        let mut create = record(
            "q-create",
            "BOB",
            "create table sales.public.n (id int)",
            start + time::Duration::seconds(2),
        );
        create.role_name = "".into();
        create.rows_produced = None;
        create.access = Some(AccessRecord::from_json(
            &json!([]),
            &json!([]),
            &json!([]),
            Some(
                &json!({"objectDomain": "Table", "objectId": 5, "objectName": "SALES.PUBLIC.N",
                          "operationType": "CREATE", "properties": {}}),
            ),
        ));
        let mut failed = record(
            "q-failed",
            "BOB",
            "select * from nowhere",
            start + time::Duration::seconds(3),
        );
        failed.execution_status = ExecutionStatus::Fail;
        failed.error_code = "002003".into();
        failed.error_message = "Object 'NOWHERE' does not exist or not authorized.".into();
        // Started an hour ago: its ACCESS_HISTORY row may not exist yet, so not read.
        let recent = record("q-recent", "ALICE", "select 1", hours_ago(1.0));
        let excluded = record(
            "q-excluded",
            "ETL",
            "select 2",
            start + time::Duration::seconds(3),
        );
        let mut account = account();
        account.query_history = vec![select, insert, create, failed, recent, excluded];
        let (standin, connector) =
            connector(account, "    sf-usage-user-excludes: ETL,SOMEONE\n").await;

        let pushed = statements(connector.as_ref(), None).await;
        let ids: Vec<&str> = pushed.iter().map(|s| s.external_id.as_str()).collect();
        assert_eq!(ids, ["q-select", "q-insert", "q-create", "q-failed"]);
        let objects = |s: &Statement| -> Vec<(String, String, UsageGlobalPermission)> {
            s.accessed_data_objects
                .iter()
                .map(|o| {
                    (
                        o.data_object.full_name.clone(),
                        o.data_object.r#type.clone(),
                        o.global_permission,
                    )
                })
                .collect()
        };
        let read = UsageGlobalPermission::Read;
        let first = &pushed[0];
        assert_eq!(
            (
                first.user.as_str(),
                first.role.as_str(),
                first.success,
                first.status.as_str(),
                first.query.as_str(),
                first.error.as_str()
            ),
            ("ALICE", "ANALYST", true, "SUCCESS", "select * from v", "")
        );
        assert_eq!(
            (first.start_time, first.end_time),
            (start.unix_timestamp(), start.unix_timestamp() + 1),
            "whole seconds, as Go's Unix()"
        );
        assert_eq!((first.bytes, first.rows), (1_024, 7));
        assert!(
            (first.credits - 0.000_123).abs() < 1e-12,
            "{}",
            first.credits
        );
        assert_eq!(
            objects(first),
            [
                ("SALES.PUBLIC.V".into(), "view".into(), read),
                ("SALES.PUBLIC.ORDERS".into(), "table".into(), read),
            ],
            "direct then base objects, the version suffix gone"
        );
        assert_eq!(
            objects(&pushed[1]),
            [(
                "SALES.PUBLIC.T".into(),
                "table".into(),
                UsageGlobalPermission::Write
            )]
        );
        assert_eq!(
            objects(&pushed[2]),
            [(
                "SALES.PUBLIC".into(),
                "schema".into(),
                UsageGlobalPermission::Admin
            )],
            "a CREATE counts against the parent"
        );
        assert_eq!((pushed[2].role.as_str(), pushed[2].rows), ("", 0));
        let failed = &pushed[3];
        assert_eq!((failed.success, failed.status.as_str()), (false, "FAIL"));
        assert!(failed.accessed_data_objects.is_empty());

        // From the last start time imported: nothing more.
        let last = pushed.last().map(|s| s.start_time);
        assert!(statements(connector.as_ref(), last).await.is_empty());
        let statements_sent = standin.statements();
        assert!(
            statements_sent
                .iter()
                .any(|s| s.contains("ACCOUNT_USAGE\".\"ACCESS_HISTORY\"")),
            "{statements_sent:?}"
        );
    }

    #[tokio::test]
    async fn the_usage_contract_holds() {
        let mut account = account();
        // Four statements a second for twelve seconds, five hours ago.
        let start = hours_ago(5.0);
        account.query_history = snowflake_standin::generate_query_history(
            48,
            start,
            time::Duration::milliseconds(250),
            &account,
        );
        let users: BTreeSet<String> = account
            .query_history
            .iter()
            .map(|q| q.user_name.to_string())
            .collect();
        let (_standin, connector) = connector(account, "").await;
        let since = start.unix_timestamp() - 1;
        let ours = |s: &Statement| users.contains(&s.user);
        let mine = testing::check_usage_since(connector.as_ref(), since, ours).await;
        assert_eq!(mine.len(), 48, "every statement once");
        testing::check_usage_order(connector.as_ref(), since).await;
        testing::check_usage_second_boundaries(connector.as_ref(), since, ours).await;
        testing::check_usage_progress_past_deadline(connector.as_ref(), since, ours).await;
    }

    #[tokio::test]
    async fn pages_are_cut_at_whole_seconds_so_no_statement_is_lost_or_repeated() {
        let mut account = account();
        let start = hours_ago(6.0);
        // 25,000 statements ten a second, then 12,000 at the same instant (more than a page),
        // then 100 more: pages of 10,000 end inside seconds, and one second fills a page.
        let mut history = snowflake_standin::generate_query_history(
            25_000,
            start,
            time::Duration::milliseconds(100),
            &account,
        );
        let burst_at = start + time::Duration::seconds(2_600);
        let mut burst = snowflake_standin::generate_query_history(
            12_000,
            burst_at,
            time::Duration::ZERO,
            &account,
        );
        let mut after = snowflake_standin::generate_query_history(
            100,
            burst_at + time::Duration::seconds(1),
            time::Duration::milliseconds(100),
            &account,
        );
        for (n, query) in burst.iter_mut().chain(after.iter_mut()).enumerate() {
            query.query_id = format!("burst-{n:06}").into();
        }
        history.append(&mut burst);
        history.append(&mut after);
        let expected: BTreeSet<String> = history.iter().map(|q| q.query_id.to_string()).collect();
        account.query_history = history;
        let (standin, connector) = connector(account, "    sf-usage-batch-size: 10000\n").await;

        let pushed = statements(connector.as_ref(), None).await;
        let ids: Vec<&str> = pushed.iter().map(|s| s.external_id.as_str()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "no statement twice");
        assert_eq!(
            unique,
            expected.iter().map(String::as_str).collect(),
            "every statement"
        );
        assert!(
            pushed
                .windows(2)
                .all(|p| p[0].start_time <= p[1].start_time),
            "in start order"
        );
        let reads = standin
            .statements()
            .iter()
            .filter(|s| s.starts_with("WITH history"))
            .count();
        assert!(
            (5..=8).contains(&reads),
            "pages of 10,000 and the burst's second read whole: {reads}"
        );
    }

    #[tokio::test]
    async fn on_standard_edition_the_objects_come_from_the_query_text() {
        let mut account = super::account_with_objects();
        account.standard_edition = true;
        let start = hours_ago(1.0);
        let session = |mut q: QueryRecord| {
            q.database_name = "SALES".into();
            q.schema_name = "PUBLIC".into();
            q
        };
        let at = |n: i64| start + time::Duration::seconds(n);
        let mut unparsed = session(record("q-unparsed", "ALICE", "selec 1", at(3)));
        unparsed.execution_status = ExecutionStatus::Fail;
        account.query_history = vec![
            session(record("q-read", "ALICE", "select * from orders o", at(0))),
            session(record(
                "q-write",
                "ALICE",
                "insert into public.orders select * from \"SALES\".public.v_orders",
                at(1),
            )),
            session(record(
                "q-unknown",
                "BOB",
                "select * from nowhere join orders using (id)",
                at(2),
            )),
            unparsed,
            // No session database: a one-part name cannot be resolved.
            record("q-no-session", "BOB", "select * from orders", at(4)),
            session(record(
                "q-drop",
                "BOB",
                "drop view sales.public.v_orders",
                at(5),
            )),
            // Half an hour old: QUERY_HISTORY may not have it all yet.
            session(record("q-recent", "ALICE", "select 1", hours_ago(0.5))),
        ];
        let (standin, connector) = connector(account, "    sf-standard-edition: true\n").await;

        let pushed = statements(connector.as_ref(), None).await;
        let seen: Vec<(&str, Vec<String>)> = pushed
            .iter()
            .map(|s| {
                (
                    s.external_id.as_str(),
                    s.accessed_data_objects
                        .iter()
                        .map(|o| {
                            format!(
                                "{} {} ({})",
                                o.global_permission.as_str(),
                                o.data_object.full_name,
                                o.data_object.r#type
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        let v = |items: &[&str]| -> Vec<String> { items.iter().map(|s| s.to_string()).collect() };
        assert_eq!(
            seen,
            [
                ("q-read", v(&["read SALES.PUBLIC.ORDERS (table)"])),
                (
                    "q-write",
                    v(&[
                        "write SALES.PUBLIC.ORDERS (table)",
                        "read SALES.PUBLIC.V_ORDERS (view)"
                    ])
                ),
                ("q-unknown", v(&["read SALES.PUBLIC.ORDERS (table)"])),
                ("q-unparsed", v(&[])),
                ("q-no-session", v(&[])),
                ("q-drop", v(&["admin SALES.PUBLIC.V_ORDERS (view)"])),
            ]
        );
        assert!(
            pushed[3]
                .error
                .starts_with(raito_common::model::usage::UNPARSED),
            "{}",
            pushed[3].error
        );
        let sent = standin.statements();
        assert!(
            !sent.iter().any(|s| s.contains("ACCESS_HISTORY")),
            "Standard Edition has none: {sent:?}"
        );
        assert_eq!(
            sent.iter()
                .filter(|s| s.contains("INFORMATION_SCHEMA.TABLES"))
                .count(),
            1,
            "the database's catalog read once"
        );
    }
}
