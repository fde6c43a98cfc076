//! The PostgreSQL apply engine against a real server: roles, memberships, grants, renames,
//! collisions, deletion, failures, deferred inheritance, row filters, hostile names, plan
//! mode, and the guards that keep it off roles that are not its own. Each test uses its own
//! database and role names, so tests run in parallel.
//!
//! The apply connects as the production sync role of the README ([`SYNC_ROLE`]: `CREATEROLE`,
//! not a superuser), and every database a test creates gets what the README says an operator
//! grants it ([`create_database`]); the superuser only sets the scene and reads the result.

use std::collections::{BTreeSet, VecDeque};

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::Config;
use raito_common::connector::{AccessOutcome, ApplyMode, Connector};
use raito_common::connectors;
use raito_common::connectors::postgres::access::managed_comment;
use raito_common::connectors::postgres::naming;
use raito_common::model::access::{
    Action, DataObjectReference, ExportedAccessProvider, ExportedWho, WhatItem,
};
use raito_common::testing;

use crate::support;

pub(crate) async fn connector() -> Box<dyn Connector> {
    connectors::build(&target().await).expect("valid target")
}

/// The role the apply connects as: the README's sync role, `LOGIN CREATEROLE` and not a
/// superuser, shared by every test (and test process) of the binary; see [`sync_role`].
pub(crate) const SYNC_ROLE: &str = "raito_it_access_sync";
const SYNC_PASSWORD: &str = "raito-it-access-sync-pw";

/// The role attributes the README asks of the sync role.
const SYNC_ATTRIBUTES: &str = "NOSUPERUSER CREATEROLE";

/// Creates [`SYNC_ROLE`] (once per process; idempotent and race-free across processes) and
/// checks it is what the README describes: it can create roles, it is not a superuser.
pub(crate) async fn sync_role() -> &'static str {
    use std::sync::atomic::{AtomicBool, Ordering};
    static READY: AtomicBool = AtomicBool::new(false);
    if !READY.load(Ordering::Acquire) {
        support::create_role_once(SYNC_ROLE, SYNC_PASSWORD, SYNC_ATTRIBUTES).await;
        let row = support::pg_admin("postgres")
            .await
            .query_one(
                "SELECT rolsuper, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1",
                &[&SYNC_ROLE],
            )
            .await
            .expect("read the sync role");
        assert_eq!(
            (
                row.get::<_, bool>(0),
                row.get::<_, bool>(1),
                row.get::<_, bool>(2)
            ),
            (false, true, true),
            "{SYNC_ROLE}: not a superuser, CREATEROLE, LOGIN"
        );
        READY.store(true, Ordering::Release);
    }
    SYNC_ROLE
}

/// What the README says an operator grants the sync role on the objects Raito grants on:
/// every privilege `WITH GRANT OPTION` on the database, each of its schemas (system schemas
/// aside) and every relation in them. Run by the superuser, in `database`.
pub(crate) async fn grant_to_sync_role(database: &str) {
    let role = q(sync_role().await);
    let admin = support::pg_admin(database).await;
    let schemas: Vec<String> = admin
        .query(
            "SELECT nspname::text FROM pg_namespace
             WHERE nspname NOT IN ('information_schema') AND nspname !~ '^pg_'",
            &[],
        )
        .await
        .expect("list schemas")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut sql = format!(
        "GRANT ALL ON DATABASE {} TO {role} WITH GRANT OPTION;",
        q(database)
    );
    for schema in &schemas {
        let schema = q(schema);
        sql.push_str(&format!(
            "GRANT ALL ON SCHEMA {schema} TO {role} WITH GRANT OPTION;
             GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role} WITH GRANT OPTION;"
        ));
    }
    admin
        .batch_execute(&sql)
        .await
        .expect("grant the sync role what it grants");
}

/// [`support::create_database`], then what an operator grants the sync role there
/// ([`grant_to_sync_role`]).
pub(crate) async fn create_database(name: &str, sql: &str) {
    support::create_database(name, sql).await;
    grant_to_sync_role(name).await;
}

/// Makes the sync role the owner of `table` (as the superuser): PostgreSQL lets only a table's
/// owner create, comment on and drop its row-level-security policies, so that is what an
/// operator does for the tables Raito filters.
pub(crate) async fn give_to_sync_role(database: &str, table: &str) {
    let role = q(sync_role().await);
    support::pg_admin(database)
        .await
        .batch_execute(&format!("ALTER TABLE {table} OWNER TO {role}"))
        .await
        .expect("give the table to the sync role");
}

/// The target the apply uses: the test server, as the sync role.
pub(crate) async fn target() -> raito_common::config::Target {
    target_as(sync_role().await, SYNC_PASSWORD).await
}

/// The target on the test server as `user`.
async fn target_as(user: &str, password: &str) -> raito_common::config::Target {
    let pg = support::postgres();
    let yaml = format!(
        "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds-pg\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: {}\n    pg-sslmode: disable\n",
        pg.host,
        pg.port,
        serde_json::to_string(user).expect("a string"),
        serde_json::to_string(password).expect("a string"),
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    config.targets.into_iter().next().expect("one target")
}

/// Runs the export through the connector and returns the outcomes, in the order pushed.
pub(crate) async fn sync(mode: ApplyMode, aps: Vec<ExportedAccessProvider>) -> Vec<AccessOutcome> {
    let connector = connector().await;
    let mut source: VecDeque<ExportedAccessProvider> = aps.into();
    let mut outcomes: Vec<AccessOutcome> = Vec::new();
    connector
        .access()
        .expect("postgres applies access")
        .sync_to_target(mode, &mut source, &mut outcomes)
        .await
        .expect("the sync runs");
    outcomes
}

pub(crate) async fn apply(aps: Vec<ExportedAccessProvider>) -> Vec<AccessOutcome> {
    sync(ApplyMode::Apply, aps).await
}

pub(crate) async fn apply_one(ap: ExportedAccessProvider) -> AccessOutcome {
    let mut outcomes = apply(vec![ap]).await;
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

pub(crate) fn ap(id: &str, hint: &str) -> ExportedAccessProvider {
    ExportedAccessProvider {
        id: id.to_owned(),
        name: hint.to_owned(),
        naming_hint: hint.to_owned(),
        action: Action::Grant,
        ..Default::default()
    }
}

pub(crate) fn what(full_name: &str, r#type: &str, permissions: &[&str]) -> WhatItem {
    WhatItem {
        data_object: DataObjectReference::new(full_name, r#type),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        ..Default::default()
    }
}

pub(crate) fn users(names: &[&str]) -> ExportedWho {
    ExportedWho {
        users: names.iter().map(|n| (*n).to_owned()).collect(),
        ..Default::default()
    }
}

pub(crate) fn q(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

pub(crate) fn ok(outcome: &AccessOutcome) {
    assert!(
        outcome.feedback.errors.is_empty(),
        "unexpected errors: {:?}",
        outcome.feedback.errors
    );
}

/// A unique, plain name (lower case, so naming hints map to themselves).
pub(crate) fn unique(prefix: &str) -> String {
    support::unique_name(prefix).to_lowercase()
}

/// Creates login roles (as the superuser).
pub(crate) async fn create_users(names: &[&str]) {
    let admin = support::pg_admin("postgres").await;
    for name in names {
        admin
            .batch_execute(&format!("CREATE ROLE {} LOGIN", q(name)))
            .await
            .expect("create user");
    }
}

/// The explicit privileges of `role` in `database`: `PRIV on <full name>` (database-level
/// ones as `PRIV on database`).
pub(crate) async fn privileges(database: &str, role: &str) -> BTreeSet<String> {
    let client = support::pg_admin(database).await;
    let rows = client
        .query(
            "WITH r AS (SELECT oid FROM pg_roles WHERE rolname = $1)
             SELECT a.privilege_type || ' on database' FROM pg_database d, aclexplode(d.datacl) a, r
               WHERE d.datname = current_database() AND a.grantee = r.oid
             UNION ALL
             SELECT a.privilege_type || ' on ' || quote_ident(n.nspname) FROM pg_namespace n, aclexplode(n.nspacl) a, r
               WHERE a.grantee = r.oid
             UNION ALL
             SELECT a.privilege_type || ' on ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a, r
               WHERE a.grantee = r.oid
             UNION ALL
             SELECT a.privilege_type || ' on ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(at.attname)
               FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(at.attacl) a, r
               WHERE a.grantee = r.oid",
            &[&role],
        )
        .await
        .expect("read privileges");
    rows.iter().map(|r| r.get(0)).collect()
}

pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The direct members of `role` that get its privileges: from PostgreSQL 16 on, memberships
/// with `INHERIT` or `SET` only. Not the admin-only membership 16 gives the sync role in every
/// role it creates (checked here once: the sync role never gets the privileges of its roles).
pub(crate) async fn members(role: &str) -> BTreeSet<String> {
    let client = support::pg_admin("postgres").await;
    let rows = client
        .query(
            "SELECT DISTINCT m.rolname::text,
                    NOT (to_jsonb(am) @> '{\"inherit_option\": false, \"set_option\": false}')
             FROM pg_auth_members am
             JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
             WHERE r.rolname = $1",
            &[&role],
        )
        .await
        .expect("read members");
    let mut members = BTreeSet::new();
    for row in &rows {
        let (member, passes): (String, bool) = (row.get(0), row.get(1));
        if passes {
            assert_ne!(
                member, SYNC_ROLE,
                "the sync role gets the privileges of {role:?}"
            );
            members.insert(member);
        }
    }
    members
}

/// The comment of `role`, `None` when the role does not exist, `Some("")` without comment.
pub(crate) async fn role_comment(role: &str) -> Option<String> {
    let client = support::pg_admin("postgres").await;
    client
        .query_opt(
            "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .expect("read role")
        .map(|r| r.get(0))
}

pub(crate) const SHOP: &str = "
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int, region text, amount numeric);
INSERT INTO shop.orders VALUES (1, 'EU', 10), (2, 'US', 20), (3, 'EU', 30);
CREATE TABLE shop.customers (id int, name text, email text);
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 15;
";

#[tokio::test]
async fn a_role_gets_members_and_grants_a_rerun_issues_nothing_and_changes_issue_only_the_difference()
 {
    let db = unique("acc_basic");
    create_database(&db, SHOP).await;
    let (alice, bob) = (unique("alice"), unique("bob"));
    create_users(&[&alice, &bob]).await;
    let hint = unique("Sales Readers");
    let role = hint.replace(' ', "_");

    let mut sales = ap(&unique("ap"), &hint);
    sales.who = users(&[&alice]);
    sales.what = vec![what(&format!("{db}.shop.orders"), "table", &["select"])];
    let outcome = apply_one(sales.clone()).await;
    ok(&outcome);
    assert_eq!(outcome.feedback.access_provider, sales.id);
    assert_eq!(outcome.feedback.actual_name, role);
    assert_eq!(outcome.feedback.external_id.as_deref(), Some(role.as_str()));
    assert_eq!(outcome.feedback.r#type.as_deref(), Some("role"));
    let r = q(&role);
    assert_eq!(
        outcome.statements,
        vec![
            format!("CREATE ROLE {r} NOLOGIN"),
            format!(
                "COMMENT ON ROLE {r} IS 'Managed by Raito Cloud (access provider {})'",
                sales.id
            ),
            format!("GRANT {r} TO {}", q(&alice)),
            format!("GRANT CONNECT ON DATABASE {} TO {r}", q(&db)),
            format!("GRANT USAGE ON SCHEMA \"shop\" TO {r}"),
            format!("GRANT SELECT ON TABLE \"shop\".\"orders\" TO {r}"),
        ]
    );
    assert_eq!(role_comment(&role).await, Some(managed_comment(&sales.id)));
    assert_eq!(members(&role).await, set(&[&alice]));
    assert_eq!(
        privileges(&db, &role).await,
        set(&[
            "CONNECT on database",
            "USAGE on shop",
            "SELECT on shop.orders"
        ])
    );
    // Alice can read through the role.
    let admin = support::pg_admin(&db).await;
    let can: bool = admin
        .query_one(
            "SELECT has_table_privilege($1, 'shop.orders', 'SELECT')",
            &[&alice],
        )
        .await
        .expect("check")
        .get(0);
    assert!(can);

    // The same export again, with the actual name Raito got back: nothing to do.
    sales.actual_name = Some(role.clone());
    let again = apply_one(sales.clone()).await;
    ok(&again);
    assert!(again.statements.is_empty(), "{:?}", again.statements);

    // Without the actual name the role is found by its marker: still nothing to do.
    let mut by_marker = sales.clone();
    by_marker.actual_name = None;
    let again = apply_one(by_marker).await;
    ok(&again);
    assert_eq!(again.feedback.actual_name, role);
    assert!(again.statements.is_empty(), "{:?}", again.statements);

    // Bob instead of Alice, INSERT added, the view added, and a missing user warned about.
    let connecting = sync_role().await.to_owned();
    sales.who = users(&[&bob, "nobody_by_that_name", &connecting]);
    sales.what = vec![
        what(&format!("{db}.shop.orders"), "table", &["SELECT", "INSERT"]),
        what(&format!("{db}.shop.big_orders"), "view", &["SELECT"]),
    ];
    let changed = apply_one(sales.clone()).await;
    ok(&changed);
    assert_eq!(
        changed.statements,
        vec![
            format!("REVOKE {r} FROM {}", q(&alice)),
            format!("GRANT {r} TO {}", q(&bob)),
            format!("GRANT SELECT ON TABLE \"shop\".\"big_orders\" TO {r}"),
            format!("GRANT INSERT ON TABLE \"shop\".\"orders\" TO {r}"),
        ]
    );
    // The missing user is warned about; the connecting role is skipped.
    assert_eq!(
        changed.feedback.warnings.len(),
        2,
        "{:?}",
        changed.feedback.warnings
    );
    assert!(changed.feedback.warnings[0].contains("nobody_by_that_name"));
    assert!(changed.feedback.warnings[1].contains(&connecting));
    assert_eq!(members(&role).await, set(&[&bob]));

    // deleteWhat is revoked; what it no longer lists is revoked too.
    sales.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    sales.delete_what = vec![
        what(&format!("{db}.shop.big_orders"), "view", &["SELECT"]),
        // Objects that are gone (here a whole database) are simply not there to revoke.
        what("acc_no_such_database.s.t", "table", &["SELECT"]),
    ];
    let narrowed = apply_one(sales).await;
    ok(&narrowed);
    assert_eq!(
        narrowed.statements,
        vec![
            format!("REVOKE INSERT ON TABLE \"shop\".\"orders\" FROM {r}"),
            format!("REVOKE SELECT ON TABLE \"shop\".\"big_orders\" FROM {r}"),
        ]
    );
    assert_eq!(
        privileges(&db, &role).await,
        set(&[
            "CONNECT on database",
            "USAGE on shop",
            "SELECT on shop.orders"
        ])
    );
}

#[tokio::test]
async fn column_schema_and_database_privileges_are_granted_with_their_parents() {
    let db = unique("acc_cols");
    create_database(&db, SHOP).await;
    let role = unique("col_readers");
    let mut cols = ap(&unique("ap"), &role);
    cols.what = vec![
        what(&format!("{db}.shop.customers.name"), "column", &["SELECT"]),
        what(
            &format!("{db}.shop.customers.email"),
            "column",
            &["SELECT", "UPDATE"],
        ),
        what(&format!("{db}.public"), "schema", &["CREATE"]),
        what(&db, "database", &["temporary"]),
    ];
    let outcome = apply_one(cols.clone()).await;
    ok(&outcome);
    let r = q(&role);
    assert_eq!(
        outcome.statements[2..],
        [
            format!("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {r}", q(&db)),
            format!("GRANT CREATE ON SCHEMA \"public\" TO {r}"),
            format!("GRANT USAGE ON SCHEMA \"shop\" TO {r}"),
            format!(
                "GRANT SELECT (\"email\", \"name\"), UPDATE (\"email\") ON TABLE \"shop\".\"customers\" TO {r}"
            ),
        ]
    );
    assert_eq!(
        privileges(&db, &role).await,
        set(&[
            "CONNECT on database",
            "TEMPORARY on database",
            "CREATE on public",
            "USAGE on shop",
            "SELECT on shop.customers.name",
            "SELECT on shop.customers.email",
            "UPDATE on shop.customers.email",
        ])
    );
    let again = apply_one(cols).await;
    ok(&again);
    assert!(again.statements.is_empty(), "{:?}", again.statements);
}

#[tokio::test]
async fn invalid_what_is_an_error_and_nothing_is_applied() {
    let db = unique("acc_invalid");
    create_database(&db, SHOP).await;
    let cases = [
        (
            what(&format!("{db}.shop.orders"), "table", &["USAGE"]),
            "USAGE",
        ),
        (
            what(&format!("{db}.shop.missing"), "table", &["SELECT"]),
            "does not exist",
        ),
        (
            what(&format!("{db}.shop.orders"), "view", &["SELECT"]),
            "not a view",
        ),
        (what("ds", "datasource", &["SELECT"]), "whole data source"),
        (
            what(&format!("{db}.shop.orders"), "bucket", &["READ"]),
            "unknown data object type",
        ),
        (
            what("no_such_database_at_all.s.t", "table", &["SELECT"]),
            "no_such_database_at_all",
        ),
    ];
    for (item, expected) in cases {
        let role = unique("invalid");
        let mut bad = ap(&unique("ap"), &role);
        bad.what = vec![item];
        let outcome = apply_one(bad).await;
        assert_eq!(outcome.feedback.errors.len(), 1, "{expected}");
        assert!(
            outcome.feedback.errors[0].contains(expected),
            "{expected}: {:?}",
            outcome.feedback.errors
        );
        assert!(outcome.statements.is_empty());
        assert_eq!(role_comment(&role).await, None, "no role for {expected}");
    }
}

#[tokio::test]
async fn a_changed_naming_hint_renames_the_role_and_keeps_its_grants() {
    let db = unique("acc_rename");
    create_database(&db, SHOP).await;
    let old = unique("old_name");
    let new = unique("new_name");
    let mut renamed = ap(&unique("ap"), &old);
    renamed.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    ok(&apply_one(renamed.clone()).await);

    renamed.naming_hint = new.clone();
    renamed.actual_name = Some(old.clone());
    let outcome = apply_one(renamed.clone()).await;
    ok(&outcome);
    assert_eq!(outcome.feedback.actual_name, new);
    assert_eq!(
        outcome.statements,
        vec![format!("ALTER ROLE {} RENAME TO {}", q(&old), q(&new))]
    );
    assert_eq!(role_comment(&old).await, None);
    assert!(
        privileges(&db, &new)
            .await
            .contains("SELECT on shop.orders")
    );

    // A changed display name alone (same base name) keeps the role as it is.
    renamed.name = "Something else".to_owned();
    renamed.actual_name = Some(new.clone());
    let outcome = apply_one(renamed).await;
    ok(&outcome);
    assert!(outcome.statements.is_empty());
}

#[tokio::test]
async fn a_name_taken_by_an_unmanaged_role_gets_a_suffix_and_the_unmanaged_role_is_untouched() {
    let db = unique("acc_collide");
    create_database(&db, SHOP).await;
    let taken = unique("analysts");
    let carol = unique("carol");
    create_users(&[&taken, &carol]).await;
    let admin = support::pg_admin(&db).await;
    admin
        .batch_execute(&format!(
            "GRANT SELECT ON shop.customers TO {t}; GRANT {t} TO {c}",
            t = q(&taken),
            c = q(&carol)
        ))
        .await
        .expect("unmanaged setup");
    let before_privileges = privileges(&db, &taken).await;

    let id = unique("ap");
    let mut managed = ap(&id, &taken);
    managed.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let outcome = apply_one(managed.clone()).await;
    ok(&outcome);
    let actual = &outcome.feedback.actual_name;
    assert_ne!(actual, &taken);
    let suffix = actual.strip_prefix(&format!("{taken}_")).expect("suffixed");
    assert_eq!(suffix.len(), 4);
    assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(role_comment(actual).await, Some(managed_comment(&id)));

    // The unmanaged role: same comment (none), members and privileges.
    assert_eq!(role_comment(&taken).await, Some(String::new()));
    assert_eq!(members(&taken).await, set(&[&carol]));
    assert_eq!(privileges(&db, &taken).await, before_privileges);

    // The suffixed name is kept on the next run.
    managed.actual_name = Some(actual.clone());
    let again = apply_one(managed).await;
    ok(&again);
    assert_eq!(&again.feedback.actual_name, actual);
    assert!(again.statements.is_empty());
}

#[tokio::test]
async fn an_actual_name_of_an_unmanaged_role_is_refused_and_untouched() {
    let db = unique("acc_unmanaged");
    create_database(&db, SHOP).await;
    let theirs = unique("theirs");
    let dave = unique("dave");
    create_users(&[&theirs, &dave]).await;
    let mut hijack = ap(&unique("ap"), &theirs);
    hijack.actual_name = Some(theirs.clone());
    hijack.who = users(&[&dave]);
    hijack.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let outcome = apply_one(hijack.clone()).await;
    assert_eq!(outcome.feedback.errors.len(), 1);
    assert!(outcome.feedback.errors[0].contains("not managed by Raito"));
    assert!(outcome.statements.is_empty());
    assert!(members(&theirs).await.is_empty());
    assert!(privileges(&db, &theirs).await.is_empty());

    // Deleting it is refused the same way.
    hijack.delete = true;
    let outcome = apply_one(hijack).await;
    assert_eq!(outcome.feedback.errors.len(), 1);
    assert_eq!(role_comment(&theirs).await, Some(String::new()));
}

#[tokio::test]
async fn delete_revokes_everything_then_drops_the_role_and_refuses_owners() {
    let db = unique("acc_delete");
    create_database(&db, SHOP).await;
    let other_db = unique("acc_delete_other");
    create_database(&other_db, SHOP).await;
    let role = unique("doomed");
    let erin = unique("erin");
    create_users(&[&erin]).await;
    let mut doomed = ap(&unique("ap"), &role);
    doomed.who = users(&[&erin]);
    doomed.what = vec![
        what(&format!("{db}.shop.orders"), "table", &["SELECT"]),
        what(&format!("{other_db}.shop.orders"), "table", &["SELECT"]),
    ];
    ok(&apply_one(doomed.clone()).await);
    assert!(!privileges(&other_db, &role).await.is_empty());

    doomed.delete = true;
    doomed.actual_name = Some(role.clone());
    let outcome = apply_one(doomed.clone()).await;
    ok(&outcome);
    assert_eq!(outcome.feedback.actual_name, role);
    assert_eq!(
        outcome.statements.last().map(String::as_str),
        Some(format!("DROP ROLE {}", q(&role)).as_str())
    );
    assert!(
        outcome
            .statements
            .iter()
            .any(|s| s.starts_with("REVOKE SELECT ON TABLE"))
    );
    assert!(!outcome.statements.iter().any(|s| s.contains("OWNED")));
    assert_eq!(role_comment(&role).await, None);

    // Deleting what is already gone is a success with nothing to do.
    let again = apply_one(doomed).await;
    ok(&again);
    assert!(again.statements.is_empty());

    // A role that owns something is reported and left as it is.
    let owner = unique("owner");
    let mut owning = ap(&unique("ap"), &owner);
    owning.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    ok(&apply_one(owning.clone()).await);
    support::pg_admin(&db)
        .await
        .batch_execute(&format!(
            "ALTER TABLE shop.customers OWNER TO {}",
            q(&owner)
        ))
        .await
        .expect("give ownership");
    owning.delete = true;
    let outcome = apply_one(owning).await;
    assert_eq!(outcome.feedback.errors.len(), 1);
    assert!(outcome.feedback.errors[0].contains("owns"));
    assert!(outcome.statements.is_empty());
    assert!(role_comment(&owner).await.is_some());
    assert!(
        privileges(&db, &owner)
            .await
            .contains("SELECT on shop.orders")
    );
}

#[tokio::test]
async fn a_failing_access_provider_leaves_nothing_behind_and_the_others_are_applied() {
    let db = unique("acc_fail");
    create_database(
        &db,
        &format!("{SHOP}\nALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;"),
    )
    .await;
    give_to_sync_role(&db, "shop.orders").await;
    let frank = unique("frank");
    create_users(&[&frank]).await;
    let (first, broken, last) = (unique("first"), unique("broken"), unique("last"));
    let mut a = ap(&unique("ap"), &first);
    a.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    // Valid as far as the connector can tell; the server refuses it (no such column), so the
    // whole transaction (role, membership, policy) is rolled back.
    let mut b = ap(&unique("ap"), &broken);
    b.action = Action::Filtered;
    b.who = users(&[&frank]);
    b.what = vec![what(&format!("{db}.shop.orders"), "table", &[])];
    b.policy_rule = Some("no_such_column = 1".to_owned());
    let mut c = ap(&unique("ap"), &last);
    c.what = vec![what(&format!("{db}.shop.customers"), "table", &["SELECT"])];
    let mut d = ap(&unique("ap"), &unique("masked"));
    d.action = Action::Mask;
    d.what = vec![what(&format!("{db}.shop.customers.email"), "column", &[])];

    let outcomes = apply(vec![a, b, c, d]).await;
    assert_eq!(outcomes.len(), 4);
    ok(&outcomes[0]);
    ok(&outcomes[2]);
    assert_eq!(outcomes[1].feedback.errors.len(), 1);
    assert!(
        outcomes[1].feedback.errors[0].contains("no_such_column"),
        "{:?}",
        outcomes[1].feedback.errors
    );
    assert!(outcomes[1].statements.is_empty());
    assert_eq!(role_comment(&broken).await, None);
    assert!(role_comment(&first).await.is_some());
    assert!(role_comment(&last).await.is_some());
    // mask cannot be applied: said so, nothing done.
    assert_eq!(outcomes[3].feedback.errors.len(), 1);
    assert!(outcomes[3].feedback.errors[0].contains("cannot apply action \"mask\""));
    assert!(outcomes[3].statements.is_empty());
}

/// An export whose access providers carry keys the model does not know: every access provider
/// is applied, and its feedback has one warning per key (the Go CLI ignores them,
/// raito-io/cli base/access_provider/sync_to_target/access_provider_file_parser.go).
#[tokio::test]
async fn keys_the_model_does_not_know_are_applied_and_warned_about_once_each() {
    let target = &target().await;
    let connector = connectors::build(target).expect("valid target");
    let (first, second) = (unique("strange"), unique("stranger"));
    let export = serde_json::json!({"lastCalculated": 1, "accessProviders": [
        {"id": unique("ap"), "namingHint": first, "action": "grant", "whoAbacRule": {"x": 1}},
        {"id": unique("ap"), "namingHint": second, "action": "grant", "newThing": true,
         "who": {"users": [], "future": 1}},
    ]});
    let dir = tempfile::tempdir().expect("temp dir");
    let (input, feedback) = (dir.path().join("export.json"), dir.path().join("fb.json"));
    std::fs::write(&input, export.to_string()).expect("write the export");
    let applied = raito_common::sync::access::apply(
        connector.as_ref(),
        target,
        &raito_common::sync::access::ExportInput::File(input),
        ApplyMode::Apply,
        Some(
            raito_common::output::Destination::file(&feedback)
                .await
                .expect("feedback file"),
        ),
        &mut |_| {},
    )
    .await
    .expect("applied")
    .expect("postgres applies access");
    assert_eq!(applied.report.counts.get("failed"), None, "{applied:?}");
    assert!(role_comment(&first).await.is_some(), "applied");
    assert!(role_comment(&second).await.is_some(), "applied");
    let feedback: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&feedback).expect("read")).expect("JSON");
    let warnings = |i: usize| feedback[i]["access"][0]["warnings"].clone();
    assert_eq!(
        warnings(0).as_array().map(Vec::len),
        Some(1),
        "{feedback:?}"
    );
    assert!(warnings(0)[0].as_str().unwrap().contains("`whoAbacRule`"));
    assert_eq!(
        warnings(1).as_array().map(Vec::len),
        Some(2),
        "{feedback:?}"
    );
    assert!(warnings(1)[0].as_str().unwrap().contains("`newThing`"));
    assert!(warnings(1)[1].as_str().unwrap().contains("`who.future`"));
    assert_eq!(feedback[0]["access"][0]["errors"], serde_json::Value::Null);
}

#[tokio::test]
async fn inheritance_by_id_waits_for_a_role_created_later_in_the_export() {
    let db = unique("acc_inherit");
    create_database(&db, SHOP).await;
    let (giver, heir, named) = (unique("giver"), unique("heir"), unique("named_heir"));
    let (giver_id, heir_id) = (unique("ap_giver"), unique("ap_heir"));
    create_users(&[&named]).await;
    // The giver's access goes to whoever has the heir's role, which comes later.
    let mut a = ap(&giver_id, &giver);
    a.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    a.who.inherit_from = vec![format!("ID:{heir_id}"), named.clone()];
    let mut b = ap(&heir_id, &heir);
    b.what = vec![what(&format!("{db}.shop.customers"), "table", &["SELECT"])];

    // Plan first: nothing exists, and yet the deferred membership is planned.
    let planned = sync(ApplyMode::Plan, vec![a.clone(), b.clone()]).await;
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].feedback.access_provider, heir_id);
    assert_eq!(planned[1].feedback.access_provider, giver_id);
    assert_eq!(
        planned[1].statements.last().map(String::as_str),
        Some(format!("GRANT {} TO {}", q(&giver), q(&heir)).as_str())
    );
    assert_eq!(role_comment(&giver).await, None);

    let outcomes = apply(vec![a.clone(), b.clone()]).await;
    assert_eq!(outcomes.len(), 2);
    // The heir is pushed first; the giver's outcome waited for the end of the export.
    assert_eq!(outcomes[0].feedback.access_provider, heir_id);
    assert_eq!(outcomes[1].feedback.access_provider, giver_id);
    ok(&outcomes[0]);
    ok(&outcomes[1]);
    assert_eq!(outcomes[1].statements, planned[1].statements);
    assert_eq!(members(&giver).await, set(&[&heir, &named]));

    // Again: the heir now exists, nothing to do for anyone.
    let again = apply(vec![a, b]).await;
    for outcome in &again {
        ok(outcome);
        assert!(outcome.statements.is_empty(), "{:?}", outcome.statements);
    }
}

#[tokio::test]
async fn a_row_filter_shows_a_member_only_its_rows_and_needs_row_level_security() {
    let db = unique("acc_filter");
    create_database(
        &db,
        &format!("{SHOP}\nALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;"),
    )
    .await;
    // Only a table's owner may create policies on it: the operator gives it to the sync role.
    give_to_sync_role(&db, "shop.orders").await;
    let gina = unique("gina");
    create_users(&[&gina]).await;
    let mut readers = ap(&unique("ap"), &unique("order_readers"));
    readers.who = users(&[&gina]);
    readers.what = vec![
        what(&format!("{db}.shop.orders"), "table", &["SELECT"]),
        what(&format!("{db}.shop.customers"), "table", &["SELECT"]),
    ];
    let filter_role = unique("eu_orders");
    let mut eu = ap(&unique("ap"), &filter_role);
    eu.action = Action::Filtered;
    eu.who = users(&[&gina]);
    eu.what = vec![what(&format!("{db}.shop.orders"), "table", &[])];
    eu.policy_rule = Some("Region = 'EU' AND amount BETWEEN 0 AND 100".to_owned());
    let outcomes = apply(vec![readers.clone(), eu.clone()]).await;
    ok(&outcomes[0]);
    ok(&outcomes[1]);
    let create = outcomes[1]
        .statements
        .iter()
        .find(|s| s.starts_with("CREATE POLICY"))
        .expect("a policy");
    assert!(
        create.ends_with(&format!(
            "ON \"shop\".\"orders\" AS PERMISSIVE FOR SELECT TO {} USING (((\"region\" OPERATOR(pg_catalog.=) 'EU') AND ((\"amount\" OPERATOR(pg_catalog.>=) 0) AND (\"amount\" OPERATOR(pg_catalog.<=) 100))))",
            q(&filter_role)
        )),
        "{create}"
    );
    assert!(
        outcomes[1]
            .statements
            .iter()
            .all(|s| !s.contains("ROW LEVEL SECURITY"))
    );

    let admin = support::pg_admin(&db).await;
    admin
        .batch_execute(&format!("SET ROLE {}", q(&gina)))
        .await
        .expect("become gina");
    let ids: Vec<i32> = admin
        .query("SELECT id FROM shop.orders ORDER BY id", &[])
        .await
        .expect("gina reads")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1, 3]);
    admin.batch_execute("RESET ROLE").await.expect("reset");

    // Unchanged: nothing to do. Changed rule: the policy is replaced.
    let again = apply(vec![readers, eu.clone()]).await;
    assert!(
        again
            .iter()
            .all(|o| o.statements.is_empty() && o.feedback.errors.is_empty())
    );
    eu.policy_rule = Some("region = 'US'".to_owned());
    let changed = apply_one(eu.clone()).await;
    ok(&changed);
    assert_eq!(changed.statements.len(), 3, "{:?}", changed.statements);
    assert!(changed.statements[0].starts_with("DROP POLICY"));

    // Row-level security off on the table: an error, and the connector does not enable it.
    let mut off = ap(&unique("ap"), &unique("rls_off"));
    off.action = Action::Filtered;
    off.what = vec![what(&format!("{db}.shop.customers"), "table", &[])];
    off.policy_rule = Some("id = 1".to_owned());
    let outcome = apply_one(off).await;
    assert_eq!(outcome.feedback.errors.len(), 1);
    assert!(outcome.feedback.errors[0].contains("row-level security is off"));
    let rls: bool = admin
        .query_one(
            "SELECT relrowsecurity FROM pg_class WHERE oid = 'shop.customers'::regclass",
            &[],
        )
        .await
        .expect("rls")
        .get(0);
    assert!(!rls);

    // An unsafe rule is refused.
    let mut evil = eu;
    evil.policy_rule = Some("pg_sleep(1) IS NOT NULL".to_owned());
    let outcome = apply_one(evil).await;
    assert_eq!(outcome.feedback.errors.len(), 1);
    assert!(outcome.statements.is_empty());

    // Deleting the filter drops its policy, then its role.
    let mut gone = ap(&changed.feedback.access_provider, &filter_role);
    gone.delete = true;
    let outcome = apply_one(gone).await;
    ok(&outcome);
    assert!(outcome.statements[0].starts_with("DROP POLICY"));
    let policies: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_policy WHERE polrelid = 'shop.orders'::regclass",
            &[],
        )
        .await
        .expect("policies")
        .get(0);
    assert_eq!(policies, 0);
}

#[tokio::test]
async fn hostile_identifiers_round_trip() {
    let db = format!("Hostile \"DB\"; {}", unique("h."));
    create_database(
        &db,
        r#"
CREATE SCHEMA "Sch.""ema;";
CREATE TABLE "Sch.""ema;"."Tä'ble ""x""" ("Cöl.""1""';" int, plain int);
"#,
    )
    .await;
    let user = format!("Ü'ser \"{}\"; DROP", unique("x"));
    create_users(&[&user]).await;
    let table = naming::full_name([db.as_str(), "Sch.\"ema;", "Tä'ble \"x\""]);
    let column = naming::full_name([db.as_str(), "Sch.\"ema;", "Tä'ble \"x\"", "Cöl.\"1\"';"]);
    let id = format!("ap'\"); DROP ROLE x; -- {}", unique("id"));
    let mut hostile = ap(&id, &format!("Hö'stile \"{}\"", unique("Name")));
    hostile.who = users(&[&user]);
    hostile.what = vec![
        what(&table, "table", &["SELECT"]),
        what(&column, "column", &["UPDATE"]),
    ];
    let outcome = apply_one(hostile.clone()).await;
    ok(&outcome);
    let role = outcome.feedback.actual_name.clone();
    assert!(
        role.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    );
    assert_eq!(role_comment(&role).await, Some(managed_comment(&id)));
    assert_eq!(members(&role).await, set(&[&user]));
    let privileges = privileges(&db, &role).await;
    assert_eq!(
        privileges,
        set(&[
            "CONNECT on database",
            "USAGE on \"Sch.\"\"ema;\"",
            "SELECT on \"Sch.\"\"ema;\".\"Tä'ble \"\"x\"\"\"",
            "UPDATE on \"Sch.\"\"ema;\".\"Tä'ble \"\"x\"\"\".\"Cöl.\"\"1\"\"';\"",
        ])
    );
    hostile.actual_name = Some(role);
    let again = apply_one(hostile).await;
    ok(&again);
    assert!(again.statements.is_empty(), "{:?}", again.statements);
}

#[tokio::test]
async fn plan_executes_nothing_and_lists_exactly_what_apply_then_executes() {
    let db = unique("acc_plan");
    create_database(&db, SHOP).await;
    let henk = unique("henk");
    create_users(&[&henk]).await;
    let role = unique("planned");
    let mut planned = ap(&unique("ap"), &role);
    planned.who = users(&[&henk]);
    planned.what = vec![
        what(&format!("{db}.shop.orders"), "table", &["SELECT", "UPDATE"]),
        what(&format!("{db}.shop.customers.name"), "column", &["SELECT"]),
    ];
    let plan = sync(ApplyMode::Plan, vec![planned.clone()]).await;
    ok(&plan[0]);
    assert!(plan[0].statements.len() >= 6, "{:?}", plan[0].statements);
    assert_eq!(role_comment(&role).await, None);
    assert!(members(&role).await.is_empty());

    let applied = apply_one(planned.clone()).await;
    ok(&applied);
    assert_eq!(applied.statements, plan[0].statements);

    // A change planned on an existing role: listed, not executed.
    planned.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let before = privileges(&db, &role).await;
    let plan = sync(ApplyMode::Plan, vec![planned.clone()]).await;
    ok(&plan[0]);
    assert_eq!(
        plan[0].statements,
        vec![
            format!(
                "REVOKE SELECT (\"name\") ON TABLE \"shop\".\"customers\" FROM {}",
                q(&role)
            ),
            format!(
                "REVOKE UPDATE ON TABLE \"shop\".\"orders\" FROM {}",
                q(&role)
            ),
        ]
    );
    assert_eq!(privileges(&db, &role).await, before);
    let applied = apply_one(planned).await;
    assert_eq!(applied.statements, plan[0].statements);
}

#[tokio::test]
async fn superusers_memberships_are_never_changed() {
    let (root, ivy) = (unique("root"), unique("ivy"));
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {} SUPERUSER; CREATE ROLE {} LOGIN",
            q(&root),
            q(&ivy)
        ))
        .await
        .expect("create roles");
    let role = unique("guarded");
    let mut guarded = ap(&unique("ap"), &role);
    guarded.who = users(&[&root, &ivy]);
    let outcome = apply_one(guarded.clone()).await;
    ok(&outcome);
    assert_eq!(outcome.feedback.warnings.len(), 1);
    assert!(outcome.feedback.warnings[0].contains("superuser"));
    assert_eq!(members(&role).await, set(&[&ivy]));

    // Granted by hand to the superuser, and not in who: still not revoked.
    admin
        .batch_execute(&format!("GRANT {} TO {}", q(&role), q(&root)))
        .await
        .expect("grant by hand");
    guarded.who = users(&[&ivy]);
    let outcome = apply_one(guarded).await;
    ok(&outcome);
    assert!(outcome.statements.is_empty(), "{:?}", outcome.statements);
    assert_eq!(members(&role).await, set(&[&ivy, &root]));
}

/// PostgreSQL 16 records a membership once per grantor, and a REVOKE removes only the grant of
/// the role it names: the sync role revokes its own grants (and those of roles whose privileges
/// it has), and reports the grants of other roles on every run without issuing anything for
/// them. Before 16 a membership is one grant, which the sync role revokes whoever granted it.
#[tokio::test]
async fn a_membership_granted_by_another_role_is_revoked_as_far_as_the_sync_role_may() {
    let (ann, ben, carl) = (unique("ann"), unique("ben"), unique("carl"));
    create_users(&[&ann, &ben, &carl]).await;
    let role = unique("granted");
    let mut team = ap(&unique("ap"), &role);
    team.who = users(&[&ann]);
    ok(&apply_one(team.clone()).await);
    // By hand, as the superuser: ann a second time and ben, in its own name; carl in the name
    // of a delegate whose privileges the sync role has.
    let delegate = unique("delegate");
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {d}; GRANT {r} TO {d} WITH ADMIN OPTION; GRANT {d} TO {s};
             GRANT {r} TO {a}; GRANT {r} TO {b}; GRANT {r} TO {c} GRANTED BY {d}",
            r = q(&role),
            a = q(&ann),
            b = q(&ben),
            c = q(&carl),
            d = q(&delegate),
            s = q(SYNC_ROLE),
        ))
        .await
        .expect("grant by hand");
    assert_eq!(members(&role).await, set(&[&ann, &ben, &carl, &delegate]));

    team.who = users(&[&delegate]);
    let outcome = apply_one(team.clone()).await;
    let again = apply_one(team).await;
    admin
        .batch_execute(&format!("REVOKE {} FROM {}", q(&delegate), q(SYNC_ROLE)))
        .await
        .expect("take the delegate back");
    ok(&outcome);
    ok(&again);
    if support::server_major().await < 16 {
        assert_eq!(
            outcome.statements,
            [&ann, &ben, &carl]
                .map(|m| format!("REVOKE {} FROM {}", q(&role), q(m)))
                .to_vec()
        );
        assert!(
            outcome.feedback.warnings.is_empty(),
            "{:?}",
            outcome.feedback.warnings
        );
        assert_eq!(members(&role).await, set(&[&delegate]));
        assert!(again.statements.is_empty(), "{:?}", again.statements);
        return;
    }
    // 16 and later: the sync role's own grant to ann goes, and the delegate's to carl; the
    // superuser's grants stay, reported.
    assert_eq!(
        outcome.statements,
        vec![
            format!("REVOKE {} FROM {}", q(&role), q(&ann)),
            format!(
                "REVOKE {} FROM {} GRANTED BY {}",
                q(&role),
                q(&carl),
                q(&delegate)
            ),
        ]
    );
    let superuser = support::postgres().user;
    let warnings = &outcome.feedback.warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for (member, warning) in [&ann, &ben].into_iter().zip(warnings) {
        assert!(
            warning.starts_with(&format!(
                "{member:?} stays a member of {role:?}: PostgreSQL records the membership as \
                 granted by {superuser:?}, and the sync role may not revoke another role's grant"
            )),
            "{warning}"
        );
    }
    assert_eq!(members(&role).await, set(&[&ann, &ben, &delegate]));
    // Not retried: the next run issues nothing and reports the same.
    assert!(again.statements.is_empty(), "{:?}", again.statements);
    assert_eq!(&again.feedback.warnings, warnings);
}

/// The figures of the closing event of a sync (`access export processed`): access providers,
/// statements and round trips.
#[derive(Clone, Default)]
pub(crate) struct Figures(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>);

impl Figures {
    pub(crate) fn get(&self, field: &str) -> u64 {
        let figures = self.0.lock().expect("figures lock");
        *figures
            .get(field)
            .unwrap_or_else(|| panic!("no {field} in the closing event: {figures:?}"))
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Figures {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Visit(std::collections::HashMap<String, u64>, bool);
        impl tracing::field::Visit for Visit {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                self.0.insert(field.name().to_owned(), value);
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.1 |= field.name() == "message" && value == "access export processed";
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.1 |=
                    field.name() == "message" && format!("{value:?}") == "access export processed";
            }
        }
        let mut visit = Visit::default();
        event.record(&mut visit);
        if visit.1 {
            *self.0.lock().expect("figures lock") = visit.0;
        }
    }
}

/// [`sync`], with the figures of its closing event.
pub(crate) async fn sync_counted(
    mode: ApplyMode,
    aps: Vec<ExportedAccessProvider>,
) -> (Vec<AccessOutcome>, Figures) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let figures = Figures::default();
    let subscriber = tracing_subscriber::registry().with(figures.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let outcomes = sync(mode, aps).await;
    (outcomes, figures)
}

#[tokio::test]
async fn a_300_access_provider_export_is_applied_in_a_bounded_number_of_round_trips() {
    let db = unique("acc_many");
    create_database(&db, SHOP).await;
    let (ann, bob) = (unique("ann"), unique("bob"));
    create_users(&[&ann, &bob]).await;
    let prefix = unique("many");
    let aps: Vec<ExportedAccessProvider> = (0..300)
        .map(|i| {
            let mut a = ap(&format!("{prefix}_ap_{i}"), &format!("{prefix}_{i}"));
            a.who = users(&[if i % 2 == 0 { &ann } else { &bob }]);
            if i > 0 {
                a.who.inherit_from = vec![format!("ID:{prefix}_ap_{}", i - 1)];
            }
            a.what = vec![
                what(&format!("{db}.shop.orders"), "table", &["SELECT"]),
                what(&format!("{db}.shop.customers.name"), "column", &["SELECT"]),
            ];
            a
        })
        .collect();

    let (planned, plan_figures) = sync_counted(ApplyMode::Plan, aps.clone()).await;
    let (outcomes, figures) = sync_counted(ApplyMode::Apply, aps.clone()).await;
    assert_eq!(outcomes.len(), 300);
    for (outcome, plan) in outcomes.iter().zip(&planned) {
        ok(outcome);
        assert_eq!(outcome.statements, plan.statements);
    }
    assert_eq!(plan_figures.get("access_providers"), 300);
    assert!(
        plan_figures.get("round_trips") <= 20,
        "plan: {}",
        plan_figures.get("round_trips")
    );
    let (statements, round_trips) = (figures.get("statements"), figures.get("round_trips"));
    assert_eq!(figures.get("access_providers"), 300);
    assert!(round_trips <= 20, "{round_trips} round trips");
    assert!(
        statements >= 50 * round_trips,
        "{statements} statements in {round_trips} round trips"
    );
    let last = &outcomes[299].feedback.actual_name;
    assert_eq!(
        members(last).await,
        set(&[&bob, &outcomes[298].feedback.actual_name])
    );
    assert_eq!(
        privileges(&db, last).await,
        set(&[
            "CONNECT on database",
            "USAGE on shop",
            "SELECT on shop.orders",
            "SELECT on shop.customers.name",
        ])
    );

    // Again: nothing to do, a few reads per chunk and no batch at all.
    let (again, figures) = sync_counted(ApplyMode::Apply, aps.clone()).await;
    for outcome in &again {
        ok(outcome);
        assert!(outcome.statements.is_empty(), "{:?}", outcome.statements);
    }
    assert!(figures.get("round_trips") <= 20);

    // Changes made behind Raito's back to roles of the second chunk (whose privileges are
    // read once for the whole run, not per chunk) and of the first are both undone; a role of
    // the second chunk is deleted with every privilege it holds.
    let role_of = |i: usize| q(&outcomes[i].feedback.actual_name);
    // As the sync role: a privilege is revoked by the role that granted it.
    let syncer = support::pg_as(sync_role().await, SYNC_PASSWORD, &db).await;
    for i in [10, 250] {
        syncer
            .batch_execute(&format!(
                "GRANT INSERT ON shop.orders TO {r}; REVOKE SELECT (name) ON shop.customers FROM {r}",
                r = role_of(i)
            ))
            .await
            .expect("drift");
    }
    let mut changed = aps;
    changed[260].delete = true;
    let drifted = sync(ApplyMode::Apply, changed).await;
    for (i, outcome) in drifted.iter().enumerate() {
        ok(outcome);
        let r = role_of(i);
        let expected: Vec<String> = match i {
            10 | 250 => vec![
                format!("REVOKE INSERT ON TABLE \"shop\".\"orders\" FROM {r}"),
                format!("GRANT SELECT (\"name\") ON TABLE \"shop\".\"customers\" TO {r}"),
            ],
            260 => vec![
                format!("REVOKE SELECT (\"name\") ON TABLE \"shop\".\"customers\" FROM {r}"),
                format!("REVOKE SELECT ON TABLE \"shop\".\"orders\" FROM {r}"),
                format!("REVOKE USAGE ON SCHEMA \"shop\" FROM {r}"),
                format!("REVOKE CONNECT ON DATABASE {} FROM {r}", q(&db)),
                format!("DROP ROLE {r}"),
            ],
            _ => vec![],
        };
        assert_eq!(outcome.statements, expected, "access provider {i}");
    }
    assert_eq!(
        privileges(&db, &outcomes[250].feedback.actual_name).await,
        set(&[
            "CONNECT on database",
            "USAGE on shop",
            "SELECT on shop.orders",
            "SELECT on shop.customers.name",
        ])
    );
    assert_eq!(
        role_comment(&outcomes[260].feedback.actual_name).await,
        None
    );
}

#[tokio::test]
async fn a_failure_in_the_middle_of_a_batch_fails_only_that_access_provider_across_two_databases() {
    // Two databases: the filter's column exists in the first, not in the second.
    let (first, second) = (unique("acc_mid_a"), unique("acc_mid_b"));
    create_database(
        &first,
        &format!("{SHOP}\nALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;"),
    )
    .await;
    create_database(
        &second,
        "CREATE SCHEMA shop;
         CREATE TABLE shop.orders (id int, amount numeric);
         ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
         CREATE TABLE shop.customers (id int, name text);",
    )
    .await;
    for db in [&first, &second] {
        give_to_sync_role(db, "shop.orders").await;
    }
    let gus = unique("gus");
    create_users(&[&gus]).await;
    let mut aps = Vec::new();
    for i in 0..5 {
        let mut a = ap(&unique("ap"), &unique(&format!("mid{i}")));
        a.who = users(&[&gus]);
        a.what = vec![
            what(&format!("{first}.shop.customers"), "table", &["SELECT"]),
            what(&format!("{second}.shop.customers"), "table", &["SELECT"]),
        ];
        aps.push(a);
    }
    // In the middle: a row filter both databases get, which only the first can take.
    let mut filtered = ap(&unique("ap"), &unique("mid_filter"));
    filtered.action = Action::Filtered;
    filtered.who = users(&[&gus]);
    filtered.what = vec![
        what(&format!("{first}.shop.orders"), "table", &[]),
        what(&format!("{second}.shop.orders"), "table", &[]),
    ];
    filtered.policy_rule = Some("region = 'EU'".to_owned());
    aps.insert(2, filtered);

    let (outcomes, figures) = sync_counted(ApplyMode::Apply, aps).await;
    assert_eq!(outcomes.len(), 6);
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 2 {
            continue;
        }
        ok(outcome);
        let role = &outcome.feedback.actual_name;
        assert_eq!(members(role).await, set(&[&gus]));
        for db in [&first, &second] {
            assert_eq!(
                privileges(db, role).await,
                set(&[
                    "CONNECT on database",
                    "USAGE on shop",
                    "SELECT on shop.customers"
                ]),
                "{role} in {db}"
            );
        }
    }
    // The filter: its role and its policy in the first database committed; the second
    // database's transaction was taken out of the batch and reported.
    let failed = &outcomes[2];
    assert_eq!(
        failed.feedback.errors.len(),
        1,
        "{:?}",
        failed.feedback.errors
    );
    let error = &failed.feedback.errors[0];
    assert!(
        error.contains("region") && error.contains(&second),
        "{error}"
    );
    let role = &failed.feedback.actual_name;
    assert!(role_comment(role).await.is_some());
    assert!(
        failed
            .statements
            .iter()
            .any(|s| s.starts_with("CREATE POLICY")),
        "{:?}",
        failed.statements
    );
    let policies = |db: String| async move {
        support::pg_admin(&db)
            .await
            .query_one("SELECT count(*) FROM pg_policy", &[])
            .await
            .expect("count policies")
            .get::<_, i64>(0)
    };
    assert_eq!(policies(first.clone()).await, 1);
    assert_eq!(policies(second.clone()).await, 0);
    // One extra round trip for the failure, not one per access provider.
    assert!(
        figures.get("round_trips") <= 15,
        "{}",
        figures.get("round_trips")
    );
}

#[tokio::test]
async fn a_nul_byte_in_a_name_fails_clearly_and_the_others_are_applied() {
    let db = unique("acc_nul");
    create_database(&db, SHOP).await;
    let (good, bad) = (unique("good"), unique("bad"));
    let mut a = ap(&unique("ap"), &good);
    a.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let mut b = ap(&unique("ap"), &bad);
    b.who = users(&["nul\0user"]);
    b.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let mut c = ap(&unique("ap"), &unique("bad_what"));
    c.what = vec![what(&format!("{db}.shop.ord\0ers"), "table", &["SELECT"])];

    let outcomes = apply(vec![a, b, c]).await;
    assert_eq!(outcomes.len(), 3);
    ok(&outcomes[0]);
    assert!(role_comment(&good).await.is_some());
    for failed in &outcomes[1..] {
        assert_eq!(failed.feedback.errors.len(), 1);
        assert!(
            failed.feedback.errors[0].contains("NUL byte"),
            "{:?}",
            failed.feedback.errors
        );
        assert!(failed.statements.is_empty());
    }
    assert_eq!(role_comment(&bad).await, None);
}

/// Asserts that `outcome` was refused by the guard against changing roles that only look
/// managed (system roles, superusers, the connecting role), naming `role`, with nothing done.
fn refused_as_not_changeable(outcome: &AccessOutcome, role: &str) {
    assert_eq!(
        outcome.feedback.errors.len(),
        1,
        "{:?}",
        outcome.feedback.errors
    );
    let error = &outcome.feedback.errors[0];
    assert!(
        error.contains(&format!("the role {role:?} carries Raito's marker"))
            && error.contains("Raito never changes such roles"),
        "{error}"
    );
    assert!(outcome.statements.is_empty(), "{:?}", outcome.statements);
}

/// Applies one access provider through a connector for `target`.
async fn apply_as(
    target: &raito_common::config::Target,
    ap: ExportedAccessProvider,
) -> AccessOutcome {
    let connector = connectors::build(target).expect("valid target");
    let mut source: VecDeque<ExportedAccessProvider> = VecDeque::from([ap]);
    let mut outcomes: Vec<AccessOutcome> = Vec::new();
    connector
        .access()
        .expect("postgres applies access")
        .sync_to_target(ApplyMode::Apply, &mut source, &mut outcomes)
        .await
        .expect("the sync runs");
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

/// The roles `role` is a direct member of.
async fn memberships(role: &str) -> BTreeSet<String> {
    let client = support::pg_admin("postgres").await;
    let rows = client
        .query(
            "SELECT r.rolname::text FROM pg_auth_members am
             JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
             WHERE m.rolname = $1",
            &[&role],
        )
        .await
        .expect("read memberships");
    rows.iter().map(|r| r.get(0)).collect()
}

/// Three access providers of `id` that would change `role` if they could: one naming it as
/// `actualName`, one finding it by its marker only, and one deleting it.
fn would_change(id: &str, role: &str, user: &str, db: &str) -> [ExportedAccessProvider; 3] {
    let mut named = ap(id, role);
    named.actual_name = Some(role.to_owned());
    named.who = users(&[user]);
    named.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let mut by_marker = named.clone();
    by_marker.actual_name = None;
    let mut delete = named.clone();
    delete.delete = true;
    [named, by_marker, delete]
}

#[tokio::test]
async fn an_actual_name_of_a_role_managed_for_another_access_provider_is_refused_and_untouched() {
    let db = unique("acc_other_ap");
    create_database(&db, SHOP).await;
    let (ann, bob) = (unique("ann"), unique("bob"));
    create_users(&[&ann, &bob]).await;
    let mut owner = ap(&unique("ap_owner"), &unique("owned"));
    owner.who = users(&[&ann]);
    owner.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    let outcome = apply_one(owner.clone()).await;
    ok(&outcome);
    let role = outcome.feedback.actual_name.clone();
    owner.actual_name = Some(role.clone());
    let expected_privileges = set(&[
        "CONNECT on database",
        "USAGE on shop",
        "SELECT on shop.orders",
    ]);
    assert_eq!(privileges(&db, &role).await, expected_privileges);

    // Another access provider claims the role as its actual name, in the same export as the
    // role's own access provider: refused in its feedback, the owner's run unaffected.
    let intruder_hint = unique("intruder");
    let mut intruder = ap(&unique("ap_intruder"), &intruder_hint);
    intruder.actual_name = Some(role.clone());
    intruder.who = users(&[&bob]);
    intruder.what = vec![what(&format!("{db}.shop.customers"), "table", &["SELECT"])];
    let outcomes = apply(vec![owner.clone(), intruder.clone()]).await;
    assert_eq!(outcomes.len(), 2);
    ok(&outcomes[0]);
    assert!(
        outcomes[0].statements.is_empty(),
        "{:?}",
        outcomes[0].statements
    );
    let refused = &outcomes[1];
    assert_eq!(refused.feedback.access_provider, intruder.id);
    assert_eq!(
        refused.feedback.errors.len(),
        1,
        "{:?}",
        refused.feedback.errors
    );
    assert!(
        refused.feedback.errors[0].contains(&format!(
            "the role {role:?} (actualName) exists but is not managed by Raito for this access \
             provider"
        )),
        "{:?}",
        refused.feedback.errors
    );
    assert!(refused.statements.is_empty(), "{:?}", refused.statements);
    // No role of its own either.
    assert_eq!(role_comment(&intruder_hint).await, None);

    // Deleting it under that name is refused the same way.
    intruder.delete = true;
    let refused = apply_one(intruder).await;
    assert_eq!(refused.feedback.errors.len(), 1);
    assert!(
        refused.feedback.errors[0].contains("not managed by Raito for this access provider"),
        "{:?}",
        refused.feedback.errors
    );
    assert!(refused.statements.is_empty(), "{:?}", refused.statements);

    // The role: still the owner's, same members and privileges.
    assert_eq!(role_comment(&role).await, Some(managed_comment(&owner.id)));
    assert_eq!(members(&role).await, set(&[&ann]));
    assert_eq!(privileges(&db, &role).await, expected_privileges);
}

#[tokio::test]
async fn raitos_marker_on_a_superuser_does_not_make_it_changeable() {
    let db = unique("acc_marked_su");
    create_database(&db, SHOP).await;
    let (root, carl) = (unique("root"), unique("carl"));
    create_users(&[&carl]).await;
    let id = unique("ap");
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {r} SUPERUSER NOLOGIN; COMMENT ON ROLE {r} IS '{}'",
            managed_comment(&id),
            r = q(&root)
        ))
        .await
        .expect("a superuser with Raito's marker");
    // As the sync role, and as a superuser (which the README allows instead, and for which
    // PostgreSQL itself would not stop a membership in or the drop of a superuser).
    let pg = support::postgres();
    for target in [target().await, target_as(&pg.user, &pg.password).await] {
        for attempt in would_change(&id, &root, &carl, &db) {
            refused_as_not_changeable(&apply_as(&target, attempt).await, &root);
        }
    }
    assert_eq!(role_comment(&root).await, Some(managed_comment(&id)));
    assert!(members(&root).await.is_empty());
    assert!(memberships(&carl).await.is_empty());
    assert!(privileges(&db, &root).await.is_empty());
}

#[tokio::test]
async fn raitos_marker_on_the_connecting_role_does_not_make_it_changeable() {
    // A sync role of its own (as the README sets it up), so the marker on it disturbs no
    // other test.
    let db = unique("acc_marked_self");
    create_database(&db, SHOP).await;
    let (connecting, dora) = (unique("sync_self"), unique("dora"));
    create_users(&[&dora]).await;
    let id = unique("ap");
    let admin = support::pg_admin(&db).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {c} LOGIN PASSWORD 'self-pw' {SYNC_ATTRIBUTES};
             COMMENT ON ROLE {c} IS '{}';
             GRANT ALL ON DATABASE {d} TO {c} WITH GRANT OPTION;
             GRANT ALL ON SCHEMA shop TO {c} WITH GRANT OPTION;
             GRANT ALL ON ALL TABLES IN SCHEMA shop TO {c} WITH GRANT OPTION;",
            managed_comment(&id),
            c = q(&connecting),
            d = q(&db)
        ))
        .await
        .expect("a sync role with Raito's marker");
    let before = privileges(&db, &connecting).await;
    assert!(before.contains("SELECT on shop.orders"), "{before:?}");
    let target = target_as(&connecting, "self-pw").await;
    for attempt in would_change(&id, &connecting, &dora, &db) {
        refused_as_not_changeable(&apply_as(&target, attempt).await, &connecting);
    }
    assert_eq!(role_comment(&connecting).await, Some(managed_comment(&id)));
    assert!(members(&connecting).await.is_empty());
    assert!(memberships(&dora).await.is_empty());
    assert_eq!(privileges(&db, &connecting).await, before);
}

/// A built-in role can carry Raito's marker: the superuser may comment on it, and so (before
/// PostgreSQL 16) may any role with `CREATEROLE`. The marker goes on `pg_stat_scan_tables`
/// (built in on every supported version, and granted by no other test), which is
/// cluster-wide: an advisory lock keeps concurrent runs of this test apart, and its comment is
/// put back before anything is asserted.
#[tokio::test]
async fn raitos_marker_on_a_system_role_does_not_make_it_changeable() {
    const SYSTEM_ROLE: &str = "pg_stat_scan_tables";
    let db = unique("acc_marked_pg");
    create_database(&db, SHOP).await;
    let emil = unique("emil");
    create_users(&[&emil]).await;
    let id = unique("ap");
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute("SELECT pg_advisory_lock(hashtext('raito_it_marker_on_a_system_role'))")
        .await
        .expect("lock");
    let original: Option<String> = admin
        .query_one(
            "SELECT shobj_description($1::text::regrole, 'pg_authid')",
            &[&SYSTEM_ROLE],
        )
        .await
        .expect("read the comment")
        .get(0);
    let members_before = members(SYSTEM_ROLE).await;
    admin
        .batch_execute(&format!(
            "COMMENT ON ROLE {SYSTEM_ROLE} IS '{}'",
            managed_comment(&id)
        ))
        .await
        .expect("PostgreSQL lets the superuser comment on a built-in role");
    let mut outcomes = Vec::new();
    for attempt in would_change(&id, SYSTEM_ROLE, &emil, &db) {
        outcomes.push(apply_one(attempt).await);
    }
    let marked = role_comment(SYSTEM_ROLE).await;
    let restore = match &original {
        Some(comment) => format!(
            "COMMENT ON ROLE {SYSTEM_ROLE} IS '{}'",
            comment.replace('\'', "''")
        ),
        None => format!("COMMENT ON ROLE {SYSTEM_ROLE} IS NULL"),
    };
    admin
        .batch_execute(&format!(
            "{restore}; SELECT pg_advisory_unlock(hashtext('raito_it_marker_on_a_system_role'))"
        ))
        .await
        .expect("restore the comment");

    for outcome in &outcomes {
        refused_as_not_changeable(outcome, SYSTEM_ROLE);
    }
    assert_eq!(marked, Some(managed_comment(&id)), "still there, unchanged");
    assert_eq!(members(SYSTEM_ROLE).await, members_before);
    assert!(memberships(&emil).await.is_empty());
    assert!(privileges(&db, SYSTEM_ROLE).await.is_empty());
}

// The conformance suite's access checks (`raito_common::testing::access`), on the real
// cluster, as the sync role.

/// An export in `db` (made with [`SHOP`] and [`conformance_database`]) that makes every kind
/// of change the apply knows: a role with a member and table, column, schema and database
/// grants; one that inherits it by id from later in the export (a deferred membership); a row
/// filter (a policy). `tag` keeps the names of each test apart.
async fn conformance_export(db: &str, tag: &str) -> Vec<ExportedAccessProvider> {
    let (reader, heir) = (
        unique(&format!("{tag}_u")),
        unique(&format!("{tag}_heir_u")),
    );
    create_users(&[&reader, &heir]).await;
    let (readers_id, heirs_id) = (unique("ap"), unique("ap"));
    let mut readers = ap(&readers_id, &unique(&format!("{tag}_readers")));
    readers.who = users(&[&reader]);
    readers.who.inherit_from = vec![format!("ID:{heirs_id}")];
    readers.what = vec![
        what(&format!("{db}.shop.orders"), "table", &["SELECT"]),
        what(&format!("{db}.shop.customers.name"), "column", &["SELECT"]),
        what(&format!("{db}.public"), "schema", &["CREATE"]),
        what(db, "database", &["TEMPORARY"]),
    ];
    let mut heirs = ap(&heirs_id, &unique(&format!("{tag}_heirs")));
    heirs.who = users(&[&heir]);
    heirs.what = vec![what(&format!("{db}.shop.big_orders"), "view", &["SELECT"])];
    let mut filter = ap(&unique("ap"), &unique(&format!("{tag}_eu")));
    filter.action = Action::Filtered;
    filter.who = users(&[&reader]);
    filter.what = vec![what(&format!("{db}.shop.orders"), "table", &[])];
    filter.policy_rule = Some("region = 'EU'".to_owned());
    vec![readers, heirs, filter]
}

/// A database with [`SHOP`], row-level security on `shop.orders` and that table given to the
/// sync role (for the row filter of [`conformance_export`]).
async fn conformance_database(prefix: &str) -> String {
    let db = unique(prefix);
    create_database(
        &db,
        &format!("{SHOP}\nALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;"),
    )
    .await;
    give_to_sync_role(&db, "shop.orders").await;
    db
}

#[tokio::test]
async fn conformance_applying_the_same_export_twice_issues_nothing() {
    let db = conformance_database("acc_conf_converge").await;
    let mut export = conformance_export(&db, "cv").await;
    // A role applied before, deleted by the export: the second apply has nothing to drop.
    let doomed_role = unique("cv_doomed");
    let mut doomed = ap(&unique("ap"), &doomed_role);
    doomed.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    ok(&apply_one(doomed.clone()).await);
    doomed.delete = true;
    export.push(doomed);

    let connector = connector().await;
    let first = testing::check_apply_converges(connector.as_ref(), &export).await;
    assert_eq!(
        first[3].statements.last(),
        Some(&format!("DROP ROLE {}", q(&doomed_role)))
    );
    assert_eq!(role_comment(&doomed_role).await, None);
    for (ap, outcome) in export.iter().zip(&first).take(3) {
        assert_eq!(
            role_comment(&outcome.feedback.actual_name).await,
            Some(managed_comment(&ap.id)),
            "{} exists and is Raito's",
            outcome.feedback.actual_name
        );
    }
}

#[tokio::test]
async fn conformance_a_plan_lists_exactly_what_the_apply_then_executes() {
    let db = conformance_database("acc_conf_plan").await;
    let mut export = conformance_export(&db, "pl").await;
    // An existing role the export changes: a grant revoked, one added, the member replaced.
    let (old_member, new_member) = (unique("pl_old_u"), unique("pl_new_u"));
    create_users(&[&old_member, &new_member]).await;
    let changed_role = unique("pl_changed");
    let mut changed = ap(&unique("ap"), &changed_role);
    changed.who = users(&[&old_member]);
    changed.what = vec![what(&format!("{db}.shop.orders"), "table", &["SELECT"])];
    ok(&apply_one(changed.clone()).await);
    changed.who = users(&[&new_member]);
    changed.what = vec![what(&format!("{db}.shop.customers"), "table", &["SELECT"])];
    export.push(changed);

    let connector = connector().await;
    let applied = testing::check_plan_matches_apply(connector.as_ref(), &export).await;
    let r = q(&changed_role);
    assert_eq!(
        applied[3].statements,
        [
            format!("REVOKE {r} FROM {}", q(&old_member)),
            format!("GRANT {r} TO {}", q(&new_member)),
            format!("REVOKE SELECT ON TABLE \"shop\".\"orders\" FROM {r}"),
            format!("GRANT SELECT ON TABLE \"shop\".\"customers\" TO {r}"),
        ]
    );
    assert_eq!(members(&changed_role).await, set(&[&new_member]));
}

#[tokio::test]
async fn conformance_a_failing_access_provider_does_not_stop_the_others() {
    let db = conformance_database("acc_conf_fail").await;
    let export = conformance_export(&db, "fl").await;
    // Valid as far as the connector can tell; the server refuses it in the middle of the
    // batch (no such column).
    let broken_role = unique("fl_broken");
    let mut broken = ap(&unique("ap"), &broken_role);
    broken.action = Action::Filtered;
    broken.what = vec![what(&format!("{db}.shop.orders"), "table", &[])];
    broken.policy_rule = Some("no_such_column = 1".to_owned());

    let connector = connector().await;
    let outcomes = testing::check_failing_access_provider_is_isolated(
        connector.as_ref(),
        &export[..1],
        &broken,
        &export[1..],
    )
    .await;
    assert!(
        outcomes[1].feedback.errors[0].contains("no_such_column"),
        "{:?}",
        outcomes[1].feedback.errors
    );
    assert_eq!(role_comment(&broken_role).await, None, "rolled back");
}

#[tokio::test]
async fn conformance_the_import_leaves_the_roles_raito_manages_out() {
    let db = conformance_database("acc_conf_import").await;
    let export = conformance_export(&db, "im").await;
    // A role made outside Raito, with a grant in the database: the import lists it.
    let theirs = unique("im_theirs");
    let admin = support::pg_admin(&db).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {t} NOLOGIN; GRANT SELECT ON shop.customers TO {t}",
            t = q(&theirs)
        ))
        .await
        .expect("an unmanaged role");
    // The import opens one connection per covered database: this one only.
    let mut target = target().await;
    let others = support::databases_except(&[&db]).await;
    target
        .parameters
        .insert("pg-excluded-databases", serde_json::json!(others), false);
    let connector = connectors::build(&target).expect("valid target");

    let imported =
        testing::check_import_excludes_managed(connector.as_ref(), &export, &[&theirs]).await;
    let theirs_ap = imported
        .iter()
        .find(|ap| ap.external_id == theirs)
        .expect("imported");
    let what: Vec<(&str, &[String])> = theirs_ap
        .what
        .iter()
        .map(|w| (w.data_object.full_name.as_str(), w.permissions.as_slice()))
        .collect();
    assert_eq!(
        what,
        [(
            format!("{db}.shop.customers").as_str(),
            &["SELECT".to_owned()][..]
        )]
    );
}
