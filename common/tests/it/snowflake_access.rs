//! The Snowflake access import against the Snowflake stand-in (`dev/snowflake-standin`), its
//! account built with the stand-in's grant builder: account roles with users and roles as
//! members and grants on the account, databases, schemas, tables, views, functions and
//! warehouses; the system roles; excluded roles; SCIM-owned roles, locked entirely or linked
//! to their group; database roles; paging past 10,000 roles. Every access provider is compared
//! whole with what the Go connector writes (raito-io/cli-plugin-snowflake
//! snowflake/data_access_sync_from_target.go).

use std::time::Instant;

use raito_common::connectors::snowflake;
use raito_common::connectors::snowflake::access::import::{ImportCounts, import};
use raito_common::model::access::{AccessProvider, Action, DataObjectReference, WhatItem, Who};
use snowflake_standin::{
    Account, Database, DatabaseRole, Grantee, ObjectKind, Options, Role, Routine, Schema, Share,
    StandIn, Table, TableKind, User,
};

use crate::snowflake::{CLIENT_KEY, CLIENT_PUB, client_of, target};

/// The account's name in what items on the account (`ORGANIZATION-ACCOUNT`).
const ACCOUNT: &str = "ACME-PROD";

/// A person user named `name` (login name lower case).
pub(crate) fn user(name: &str) -> User {
    User {
        name: name.to_owned(),
        login_name: name.to_lowercase(),
        r#type: Some("PERSON".to_owned()),
        ..User::default()
    }
}

pub(crate) fn table(name: &str, kind: TableKind) -> Table {
    Table {
        name: name.to_owned(),
        kind,
        ..Table::default()
    }
}

/// The fixture (see the module docs; each role's grants are listed with its expected access
/// provider below).
fn account() -> Account {
    let schema = |name: &str, tables: Vec<Table>| Schema {
        name: name.to_owned(),
        tables,
        ..Schema::default()
    };
    let mut account = Account {
        organization: "ACME".to_owned(),
        name: "PROD".to_owned(),
        locator: "XY12345".to_owned(),
        users: vec![user("ALICE"), user("BOB"), user("carol")],
        databases: vec![
            Database {
                name: "SALES".to_owned(),
                schemas: vec![
                    schema(
                        "PUBLIC",
                        vec![
                            table("ORDERS", TableKind::BaseTable),
                            table("V_ORDERS", TableKind::View),
                            table("MV", TableKind::MaterializedView),
                        ],
                    ),
                    schema(
                        "Mixed.Schema",
                        vec![table("my table", TableKind::BaseTable)],
                    ),
                ],
                functions: vec![Routine {
                    name: "ADD_ONE".to_owned(),
                    arguments: "ADD_ONE(NUMBER) RETURN NUMBER".to_owned(),
                    schema_name: "PUBLIC".to_owned(),
                    ..Routine::default()
                }],
                ..Database::default()
            },
            Database {
                name: "Finance Dept".to_owned(),
                ..Database::default()
            },
            Database {
                name: "SCRATCH".to_owned(),
                roles: vec![DatabaseRole {
                    name: "JUNK".to_owned(),
                    ..DatabaseRole::default()
                }],
                ..Database::default()
            },
            Database {
                name: "PARTNER_DATA".to_owned(),
                kind: "IMPORTED DATABASE".to_owned(),
                origin: "OTHER.ACCOUNT.FEED".to_owned(),
                schemas: vec![schema("S", vec![table("T", TableKind::BaseTable)])],
                ..Database::default()
            },
        ],
        shares: vec![
            Share {
                kind: "OUTBOUND".to_owned(),
                name: "S1".to_owned(),
                database_name: "SALES".to_owned(),
                owner: "ACCOUNTADMIN".to_owned(),
                ..Share::default()
            },
            Share {
                kind: "INBOUND".to_owned(),
                name: "OTHER.ACCOUNT.FEED".to_owned(),
                database_name: "PARTNER_DATA".to_owned(),
                ..Share::default()
            },
        ],
        ..Account::default()
    }
    .with_sync_user("RAITO_SYNC_USER", CLIENT_PUB);
    let (sales_public, orders) = (["SALES", "PUBLIC"], ["SALES", "PUBLIC", "ORDERS"]);
    account
        .create_role("READER", "USERADMIN")
        .and_then(|a| a.create_role("ANALYST", "USERADMIN"))
        .and_then(|a| a.create_role("Odd Role", "ANALYST"))
        .and_then(|a| a.create_role("FINANCE", "USERADMIN"))
        .and_then(|a| a.create_role("TEMP_EXCLUDED", "USERADMIN"))
        .and_then(|a| a.create_role("OKTA_PROVISIONER", ""))
        .and_then(|a| a.create_role("SCIM_ENGINEERS", "OKTA_PROVISIONER"))
        // READER: a database, two schemas, tables (one quoted, two privileges), a view, a
        // materialized view, a function, a table of an inbound share.
        .and_then(|a| a.grant("USAGE", ObjectKind::Database, &["SALES"], "READER"))
        .and_then(|a| a.grant("USAGE", ObjectKind::Schema, &sales_public, "READER"))
        .and_then(|a| {
            a.grant(
                "USAGE",
                ObjectKind::Schema,
                &["SALES", "Mixed.Schema"],
                "READER",
            )
        })
        .and_then(|a| a.grant("SELECT", ObjectKind::Table, &orders, "READER"))
        .and_then(|a| {
            let my_table = ["SALES", "Mixed.Schema", "my table"];
            a.grant("SELECT", ObjectKind::Table, &my_table, "READER")?
                .grant("INSERT", ObjectKind::Table, &my_table, "READER")
        })
        .and_then(|a| {
            let view = ["SALES", "PUBLIC", "V_ORDERS"];
            a.grant("SELECT", ObjectKind::View, &view, "READER")?.grant(
                "REFERENCES",
                ObjectKind::View,
                &view,
                "READER",
            )
        })
        .and_then(|a| {
            a.grant(
                "SELECT",
                ObjectKind::MaterializedView,
                &["SALES", "PUBLIC", "MV"],
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
                "SELECT",
                ObjectKind::Table,
                &["PARTNER_DATA", "S", "T"],
                "READER",
            )
        })
        .and_then(|a| a.grant_role("READER", Grantee::Role("ANALYST".into())))
        .and_then(|a| a.grant_role("READER", Grantee::Role("Odd Role".into())))
        .and_then(|a| a.grant_role("READER", Grantee::User("ALICE".into())))
        // ANALYST: a warehouse; held by a user and a lower-case user.
        .and_then(|a| a.grant("USAGE", ObjectKind::Warehouse, &["COMPUTE_WH"], "ANALYST"))
        .and_then(|a| a.grant("OPERATE", ObjectKind::Warehouse, &["COMPUTE_WH"], "ANALYST"))
        .and_then(|a| a.grant_role("ANALYST", Grantee::User("BOB".into())))
        .and_then(|a| a.grant_role("ANALYST", Grantee::User("carol".into())))
        // FINANCE: held by an excluded role, so incomplete.
        .and_then(|a| {
            a.grant(
                "SELECT",
                ObjectKind::View,
                &["SALES", "PUBLIC", "V_ORDERS"],
                "FINANCE",
            )
        })
        .and_then(|a| a.grant_role("FINANCE", Grantee::Role("TEMP_EXCLUDED".into())))
        .and_then(|a| a.grant_role("FINANCE", Grantee::User("ALICE".into())))
        // SCIM_ENGINEERS: created by the SCIM integration's role.
        .and_then(|a| {
            a.grant(
                "USAGE",
                ObjectKind::Warehouse,
                &["COMPUTE_WH"],
                "SCIM_ENGINEERS",
            )
        })
        .and_then(|a| a.grant_role("SCIM_ENGINEERS", Grantee::User("ALICE".into())))
        // Database roles.
        .and_then(|a| a.create_database_role("SALES", "DR", "SYSADMIN"))
        .and_then(|a| a.create_database_role("SALES", "DR2", "SYSADMIN"))
        .and_then(|a| a.create_database_role("SALES", "DR_EXCLUDED", "SYSADMIN"))
        .and_then(|a| a.create_database_role("Finance Dept", "Analysts", ""))
        .and_then(|a| a.create_database_role("Finance Dept", "Other", ""))
        .and_then(|a| {
            a.grant_to_database_role("USAGE", ObjectKind::Schema, &sales_public, "SALES", "DR")?
                .grant_to_database_role("SELECT", ObjectKind::Table, &orders, "SALES", "DR")
        })
        .and_then(|a| a.grant_database_role("SALES", "DR", Grantee::Role("READER".into())))
        .and_then(|a| {
            let database_role = |role: &str| Grantee::DatabaseRole {
                database: "SALES".into(),
                role: role.into(),
            };
            a.grant_database_role("SALES", "DR", database_role("DR2"))?
                .grant_database_role("SALES", "DR", database_role("DR_EXCLUDED"))
        })
        .and_then(|a| a.grant_database_role("SALES", "DR", Grantee::Share("S1".into())))
        .and_then(|a| {
            a.grant_to_database_role(
                "USAGE",
                ObjectKind::Database,
                &["Finance Dept"],
                "Finance Dept",
                "Analysts",
            )
        })
        .and_then(|a| {
            a.grant_database_role("Finance Dept", "Analysts", Grantee::Role("FINANCE".into()))
        })
        .and_then(|a| {
            a.grant_database_role(
                "Finance Dept",
                "Analysts",
                Grantee::DatabaseRole {
                    database: "Finance Dept".into(),
                    role: "Other".into(),
                },
            )
        })
        .unwrap();
    account
}

/// The import of the stand-in's account with the target parameters `extra` (YAML lines).
async fn run(standin: &StandIn, extra: &str) -> (Vec<AccessProvider>, ImportCounts) {
    let target = target(standin, CLIENT_KEY, extra).await;
    let config = snowflake::Config::from_parameters(&target.parameters).expect("valid");
    let client = client_of(&target);
    let mut access_providers = Vec::new();
    let counts = import(&config, &client, &mut access_providers)
        .await
        .expect("imported");
    (access_providers, counts)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn what(full_name: &str, permissions: &[&str]) -> WhatItem {
    WhatItem {
        data_object: DataObjectReference::new(full_name, ""),
        permissions: strings(permissions),
        ..WhatItem::default()
    }
}

/// An account role as Go imports it: its name everywhere, type `role`, action `grant`.
fn role(name: &str, users: &[&str], roles: &[&str], what: Vec<WhatItem>) -> AccessProvider {
    AccessProvider {
        external_id: name.to_owned(),
        name: name.to_owned(),
        naming_hint: name.to_owned(),
        r#type: Some("role".to_owned()),
        action: Action::Grant,
        who: Some(Who {
            users: strings(users),
            access_providers: strings(roles),
            ..Who::default()
        }),
        actual_name: name.to_owned(),
        what,
        incomplete: Some(false),
        ..AccessProvider::default()
    }
}

fn system(ap: AccessProvider) -> AccessProvider {
    AccessProvider {
        not_internalizable: true,
        ..ap
    }
}

fn database_role_id(database: &str, role: &str) -> String {
    format!("DATABASEROLE###DATABASE:{database}###ROLE:{role}")
}

/// A database role as Go imports it: who and what locked.
fn database_role(
    database: &str,
    name: &str,
    grantees: &[&str],
    what: Vec<WhatItem>,
) -> AccessProvider {
    AccessProvider {
        external_id: database_role_id(database, name),
        name: format!("{database}.{name}"),
        naming_hint: name.to_owned(),
        r#type: Some("databaseRole".to_owned()),
        action: Action::Grant,
        who: Some(Who {
            access_providers: strings(grantees),
            ..Who::default()
        }),
        actual_name: name.to_owned(),
        what,
        who_locked: Some(true),
        who_locked_reason: Some(
            "The 'who' for this Snowflake role cannot be changed because we currently do not \
             support database role changes"
                .to_owned(),
        ),
        what_locked: Some(true),
        what_locked_reason: Some(
            "The 'what' for this Snowflake role cannot be changed because we currently do not \
             support database role changes"
                .to_owned(),
        ),
        incomplete: Some(false),
        common_what_data_object: Some(database.to_owned()),
        ..AccessProvider::default()
    }
}

fn reader() -> AccessProvider {
    role(
        "READER",
        &["ALICE"],
        &["Odd Role", "ANALYST"],
        vec![
            what("SALES", &["USAGE on DATABASE"]),
            // USAGE on the database role SALES.DR is no what item.
            what("SALES.PUBLIC.\"ADD_ONE\"(NUMBER)", &["USAGE"]),
            what("SALES.PUBLIC.MV", &["SELECT"]),
            what("SALES.Mixed.Schema", &["USAGE on SCHEMA"]),
            what("SALES.PUBLIC", &["USAGE on SCHEMA"]),
            // A table of an inbound share: IMPORTED PRIVILEGES on its database first.
            WhatItem {
                data_object: DataObjectReference::new("PARTNER_DATA", "shared-database"),
                ..what("", &["IMPORTED PRIVILEGES"])
            },
            what("PARTNER_DATA.S.T", &["SELECT"]),
            // Two privileges on a quoted table: one item (Go: one per privilege).
            what("SALES.Mixed.Schema.my table", &["INSERT", "SELECT"]),
            what("SALES.PUBLIC.ORDERS", &["SELECT"]),
            what("SALES.PUBLIC.V_ORDERS", &["REFERENCES", "SELECT"]),
        ],
    )
}

/// The account roles the fixture imports, in SHOW ROLES' order, SCIM_ENGINEERS locked
/// entirely (`sf-link-to-external-identity-store-groups` unset).
fn account_roles() -> Vec<AccessProvider> {
    let warehouse = |permissions: &[&str]| vec![what("COMPUTE_WH", permissions)];
    vec![
        // The system roles: their account privileges, their hierarchy, never managed.
        system(role("ACCOUNTADMIN", &[], &[], vec![])),
        // carol is stored lower case (SHOW quotes it); USAGE on the role READER is no what.
        role(
            "ANALYST",
            &["carol", "BOB"],
            &[],
            warehouse(&["OPERATE", "USAGE"]),
        ),
        AccessProvider {
            // TEMP_EXCLUDED holds it but is excluded.
            incomplete: Some(true),
            ..role(
                "FINANCE",
                &["ALICE"],
                &[],
                vec![what("SALES.PUBLIC.V_ORDERS", &["SELECT"])],
            )
        },
        role("OKTA_PROVISIONER", &[], &[], vec![]),
        system(role("ORGADMIN", &[], &[], vec![])),
        role("Odd Role", &[], &[], vec![]),
        system(role("PUBLIC", &[], &[], vec![])),
        // RAITO_SYNC, the sync role, is left out (it is not ACCOUNTADMIN).
        reader(),
        // Owned by the SCIM role (named in another case in the parameter): locked entirely.
        system(role(
            "SCIM_ENGINEERS",
            &["ALICE"],
            &[],
            warehouse(&["USAGE"]),
        )),
        system(role(
            "SECURITYADMIN",
            &[],
            &["ACCOUNTADMIN"],
            vec![what(ACCOUNT, &["MANAGE GRANTS"])],
        )),
        system(role(
            "SYSADMIN",
            &[],
            &["ACCOUNTADMIN"],
            vec![what(ACCOUNT, &["CREATE DATABASE", "CREATE WAREHOUSE"])],
        )),
        // TEMP_EXCLUDED is excluded; OWNERSHIP on roles and users is no what.
        system(role(
            "USERADMIN",
            &[],
            &["SECURITYADMIN"],
            vec![what(ACCOUNT, &["CREATE ROLE", "CREATE USER"])],
        )),
    ]
}

/// Compares access providers one by one (a readable diff), then the whole list.
fn assert_access_providers(actual: &[AccessProvider], expected: &[AccessProvider]) {
    let ids = |aps: &[AccessProvider]| -> Vec<String> {
        aps.iter().map(|ap| ap.external_id.clone()).collect()
    };
    assert_eq!(ids(actual), ids(expected), "the access providers, in order");
    for (actual, expected) in actual.iter().zip(expected) {
        assert_eq!(actual, expected, "access provider {}", expected.external_id);
    }
}

#[tokio::test]
async fn account_roles_are_imported_as_the_go_connector_imports_them() {
    let standin = snowflake_standin::start(account(), Options::default()).await;
    let (access_providers, counts) = run(
        &standin,
        "    sf-excluded-roles: TEMP_EXCLUDED\n    \
         sf-external-identity-store-owners: okta_provisioner, SOMEONE_ELSE\n",
    )
    .await;
    assert_access_providers(&access_providers, &account_roles());
    // SHOW SHARES, one SHOW ROLES page, two SHOW GRANTS per role read, the account's name
    // once; Go: pages of 1,000 (one here) and a RESULT_SCAN after SHOW SHARES.
    assert_eq!(
        counts,
        ImportCounts {
            roles: 12,
            database_roles: 0,
            excluded: 2,
            skipped: 0,
            policies: 0,
            // And SHOW MASKING POLICIES, SHOW ROW ACCESS POLICIES.
            statements: 1 + 1 + 2 * 12 + 1 + 2,
            go_statements: 1 + 2 + 2 * 12 + 1 + 2,
        }
    );
    let by_prefix = standin.requests().by_prefix;
    assert_eq!(
        (
            by_prefix.get("SHOW SHARES"),
            by_prefix.get("SHOW ROLES"),
            by_prefix.get("SHOW GRANTS"),
            by_prefix.get("SHOW DATABASE"),
        ),
        (Some(&1), Some(&1), Some(&24), None),
        "{by_prefix:?}"
    );
}

#[tokio::test]
async fn account_roles_read_in_bulk_from_account_usage_are_the_same_access_providers() {
    // ACCOUNT_USAGE without its latency, so both ways see the same grants.
    let options = Options {
        grants_latency: std::time::Duration::ZERO,
        ..Options::default()
    };
    let standin = snowflake_standin::start(account(), options).await;
    let (access_providers, counts) = run(
        &standin,
        "    sf-excluded-roles: TEMP_EXCLUDED\n    \
         sf-external-identity-store-owners: okta_provisioner, SOMEONE_ELSE\n    \
         sf-access-import-from-account-usage: true\n",
    )
    .await;
    // ACCOUNT_USAGE has no order of its own: the same holders and privileges, as sets.
    let normalized = |aps: &[AccessProvider]| -> Vec<AccessProvider> {
        aps.iter()
            .cloned()
            .map(|mut ap| {
                if let Some(who) = ap.who.as_mut() {
                    who.users.sort();
                    who.access_providers.sort();
                }
                for item in &mut ap.what {
                    item.permissions.sort();
                }
                ap.what
                    .sort_by(|a, b| a.data_object.full_name.cmp(&b.data_object.full_name));
                ap
            })
            .collect()
    };
    assert_access_providers(
        &normalized(&access_providers),
        &normalized(&account_roles()),
    );
    // SHOW SHARES, one SHOW ROLES page, three ACCOUNT_USAGE reads for the 14 roles, the
    // account's name, the two policy listings: against two SHOW GRANTS per role.
    assert_eq!(counts.roles, 12);
    assert_eq!(counts.statements, 1 + 1 + 3 + 1 + 2, "{counts:?}");
    assert_eq!(counts.go_statements, 1 + 2 + 2 * 12 + 1 + 2, "{counts:?}");
    assert_eq!(standin.requests().by_prefix.get("SHOW GRANTS"), None);
}

#[tokio::test]
async fn a_scim_role_linked_to_its_group_has_the_group_as_who_and_partial_locks() {
    let standin = snowflake_standin::start(account(), Options::default()).await;
    let (access_providers, counts) = run(
        &standin,
        "    sf-excluded-roles: TEMP_EXCLUDED\n    \
         sf-external-identity-store-owners: OKTA_PROVISIONER\n    \
         sf-link-to-external-identity-store-groups: true\n",
    )
    .await;
    let linked = |reason: &str| (Some(true), Some(reason.to_owned()));
    let mut scim = role(
        "SCIM_ENGINEERS",
        &[],
        &[],
        vec![what("COMPUTE_WH", &["USAGE"])],
    );
    scim.who = Some(Who {
        groups: strings(&["SCIM_ENGINEERS"]),
        ..Who::default()
    });
    (scim.name_locked, scim.name_locked_reason) = linked(
        "This Snowflake role cannot be renamed because it was imported from an external identity store",
    );
    (scim.delete_locked, scim.delete_locked_reason) = linked(
        "This Snowflake role cannot be deleted because it was imported from an external identity store",
    );
    (scim.who_locked, scim.who_locked_reason) = linked(
        "The 'who' for this Snowflake role cannot be changed because it was imported from an external identity store",
    );
    (scim.inheritance_locked, scim.inheritance_locked_reason) = linked(
        "The inheritance for this Snowflake role cannot be changed because it was imported from an external identity store",
    );
    // Every other role as without the link: the system roles (no owner) are not taken for
    // SCIM roles (Go's empty owner entry took them).
    let expected: Vec<AccessProvider> = account_roles()
        .into_iter()
        .map(|ap| {
            if ap.external_id == "SCIM_ENGINEERS" {
                scim.clone()
            } else {
                ap
            }
        })
        .collect();
    assert_access_providers(&access_providers, &expected);
    // The linked role's members are not read: one SHOW GRANTS less.
    assert_eq!(
        (counts.statements, counts.go_statements),
        // The two policy listings last.
        (1 + 1 + 2 * 12 - 1 + 1 + 2, 1 + 2 + 2 * 12 - 1 + 1 + 2)
    );
    assert_eq!(standin.requests().by_prefix.get("SHOW GRANTS"), Some(&23));
}

#[tokio::test]
async fn database_roles_of_the_databases_not_excluded_are_imported_with_go_external_ids() {
    let standin = snowflake_standin::start(account(), Options::default()).await;
    let (access_providers, counts) = run(
        &standin,
        "    sf-excluded-roles: TEMP_EXCLUDED, SALES.DR_EXCLUDED\n    \
         sf-excluded-databases: SNOWFLAKE, SCRATCH\n    sf-database-roles: true\n",
    )
    .await;
    let mut expected = account_roles();
    // Without sf-external-identity-store-owners, SCIM_ENGINEERS is an ordinary role.
    for ap in &mut expected {
        if ap.external_id == "SCIM_ENGINEERS" {
            ap.not_internalizable = false;
        }
    }
    expected.extend([
        // "Finance Dept" comes first by name; the database role grantee "Finance Dept"."Other"
        // is unquoted into the external id of the access provider below it.
        database_role(
            "Finance Dept",
            "Analysts",
            &[&database_role_id("Finance Dept", "Other"), "FINANCE"],
            vec![what("Finance Dept", &["USAGE on DATABASE"])],
        ),
        // It holds Analysts: USAGE on a database role is no what item.
        database_role("Finance Dept", "Other", &[], vec![]),
        AccessProvider {
            // SALES.DR_EXCLUDED holds it but is excluded.
            incomplete: Some(true),
            ..database_role(
                "SALES",
                "DR",
                &[&database_role_id("SALES", "DR2"), "READER", "share:S1"],
                vec![
                    what("SALES.PUBLIC", &["USAGE on SCHEMA"]),
                    what("SALES.PUBLIC.ORDERS", &["SELECT"]),
                ],
            )
        },
        database_role("SALES", "DR2", &[], vec![]),
        // SCRATCH is excluded; the inbound shared PARTNER_DATA has no database roles.
    ]);
    assert_access_providers(&access_providers, &expected);
    assert_eq!(
        (counts.roles, counts.database_roles, counts.excluded),
        (12, 4, 3)
    );
    // Besides the account roles' 27: SHOW DATABASES, one SHOW DATABASE ROLES per database
    // (SALES, "Finance Dept", PARTNER_DATA), two per database role read. Go lists the inbound
    // shares again (two more) and sends one unpaged SHOW DATABASE ROLES per database too.
    // The two policy listings last.
    assert_eq!(counts.statements, 27 + 1 + 3 + 2 * 4 + 2);
    assert_eq!(counts.go_statements, 28 + 1 + 2 + 3 + 2 * 4 + 2);
    assert_eq!(
        standin.requests().by_prefix.get("SHOW DATABASE"),
        Some(&3),
        "SHOW DATABASE ROLES, not of SCRATCH"
    );
}

#[tokio::test]
async fn more_than_ten_thousand_roles_are_read_in_pages_and_pushed_in_order() {
    const BULK: usize = 10_001;
    let mut account = Account {
        organization: "ACME".to_owned(),
        name: "PROD".to_owned(),
        ..Account::default()
    }
    .with_sync_user("RAITO_SYNC_USER", CLIENT_PUB);
    for i in 0..BULK {
        account.roles.push(Role {
            name: format!("BULK_{i:05}"),
            owner: "USERADMIN".to_owned(),
            ..Role::default()
        });
    }
    let standin = snowflake_standin::start(account, Options::default()).await;
    let started = Instant::now();
    let (access_providers, counts) = run(&standin, "    sf-worker-pool-size: 32\n").await;
    let elapsed = started.elapsed();
    // The bulk roles and the six system roles (RAITO_SYNC is the sync role), by name.
    let names: Vec<&str> = access_providers
        .iter()
        .map(|ap| ap.external_id.as_str())
        .collect();
    let mut expected: Vec<String> = (0..BULK).map(|i| format!("BULK_{i:05}")).collect();
    expected.extend(strings(&[
        "ACCOUNTADMIN",
        "ORGADMIN",
        "PUBLIC",
        "SECURITYADMIN",
        "SYSADMIN",
        "USERADMIN",
    ]));
    expected.sort();
    assert_eq!(names, expected);
    // BULK_09999 is the first role of the second page (after ACCOUNTADMIN and 9,999 others).
    let first_of_second_page = access_providers
        .iter()
        .find(|ap| ap.external_id == "BULK_09999")
        .unwrap();
    assert_eq!(*first_of_second_page, role("BULK_09999", &[], &[], vec![]));
    // 10,008 roles: two pages of 10,000 (Go: eleven of 1,000).
    assert_eq!(standin.requests().by_prefix.get("SHOW ROLES"), Some(&2));
    let read = (BULK + 6) as u64;
    assert_eq!(
        (counts.roles, counts.excluded, counts.statements),
        // The last two: the policy listings.
        (read, 1, 1 + 2 + 2 * read + 1 + 2)
    );
    assert_eq!(counts.go_statements, 2 + 11 + 2 * read + 1 + 2);
    eprintln!("{read} roles imported in {elapsed:?}");
}

#[tokio::test]
async fn roles_whose_grants_the_sync_role_cannot_see_are_skipped_as_go_skips_them() {
    // RAITO_SYNC without MANAGE GRANTS: SHOW ROLES lists every role, SHOW GRANTS only those
    // it holds or owns (PUBLIC here).
    let mut account = Account {
        organization: "ACME".to_owned(),
        name: "PROD".to_owned(),
        ..Account::default()
    }
    .with_sync_user("RAITO_SYNC_USER", CLIENT_PUB);
    let sync = account
        .roles
        .iter_mut()
        .find(|r| r.name == "RAITO_SYNC")
        .unwrap();
    sync.manage_grants = false;
    sync.grants.retain(|g| g.privilege != "MANAGE GRANTS");
    account.create_role("HIDDEN", "USERADMIN").unwrap();
    let standin = snowflake_standin::start(account, Options::default()).await;
    let (access_providers, counts) = run(&standin, "").await;
    assert_eq!(
        access_providers,
        vec![system(role("PUBLIC", &[], &[], vec![]))]
    );
    assert_eq!(
        (counts.roles, counts.excluded, counts.skipped),
        (1, 1, 6),
        "ACCOUNTADMIN, HIDDEN, ORGADMIN, SECURITYADMIN, SYSADMIN and USERADMIN skipped"
    );
    // The skipped roles' what is never asked for: only their who was.
    // And the two policy listings.
    assert_eq!(counts.statements, 1 + 1 + 2 + 6 + 2);
}
