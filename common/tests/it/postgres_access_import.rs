//! The PostgreSQL access import against a real server: one access provider per unmanaged
//! role, with its members and exactly its explicit grants, named like the data source sync
//! names the objects. Roles are cluster-wide and other tests run at the same time, so every
//! test names its roles with a unique prefix and asserts on those only, and leaves every
//! database but its own out (`pg-excluded-databases`) to keep the connection count low.

use std::collections::{BTreeMap, BTreeSet};

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::DataSourceRequest;
use raito_common::connectors;
use raito_common::connectors::postgres::access::managed_comment;
use raito_common::connectors::postgres::naming;
use raito_common::model::access::{AccessProvider, Action};
use raito_common::model::data_source::DataObject;
use raito_common::testing;

use crate::support;

/// Double-quotes an identifier for SQL.
fn q(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A target on the test server as `user` (the superuser when `None`), covering only the
/// databases in `keep` (every other database is excluded), with `extra` YAML lines.
async fn target(user: Option<(&str, &str)>, keep: &[&str], extra: &str) -> Target {
    let pg = support::postgres();
    let (user, password) = user.unwrap_or((&pg.user, &pg.password));
    let others = support::databases_except(keep).await;
    let yaml = format!(
        "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds-pg\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: {}\n    pg-sslmode: disable\n{extra}",
        pg.host,
        pg.port,
        serde_json::to_string(user).unwrap(),
        serde_json::to_string(password).unwrap(),
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    let mut target = config.targets[0].clone();
    target
        .parameters
        .insert("pg-excluded-databases", serde_json::json!(others), false);
    target
}

/// Runs the access import and returns the access providers of roles starting with `prefix`,
/// by name, after checking what holds for every access provider.
async fn import(target: &Target, prefix: &str) -> BTreeMap<String, AccessProvider> {
    let connector = connectors::build(target).expect("valid target");
    let mut access_providers = Vec::new();
    connector
        .access()
        .expect("the connector imports access")
        .sync_from_target(&mut access_providers)
        .await
        .expect("the access import succeeds");
    let mut ids = BTreeSet::new();
    for ap in &access_providers {
        assert!(
            ids.insert(ap.external_id.clone()),
            "unique: {}",
            ap.external_id
        );
        assert!(
            !ap.external_id.starts_with("pg_"),
            "built-in roles are left out"
        );
        assert_eq!(ap.r#type.as_deref(), Some("role"));
        assert_eq!(ap.action, Action::Grant);
        assert_eq!(
            (&ap.name, &ap.naming_hint, &ap.actual_name),
            (&ap.external_id, &ap.external_id, &ap.external_id)
        );
    }
    access_providers
        .into_iter()
        .filter(|ap| ap.external_id.starts_with(prefix))
        .map(|ap| (ap.external_id.clone(), ap))
        .collect()
}

/// (fullName, type, permissions) of every what item.
fn what(ap: &AccessProvider) -> BTreeSet<(String, String, Vec<String>)> {
    ap.what
        .iter()
        .map(|item| {
            (
                item.data_object.full_name.clone(),
                item.data_object.r#type.clone(),
                item.permissions.clone(),
            )
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn grants_on_every_kind_of_object_come_back_with_exactly_their_permissions_and_types() {
    let p = support::unique_name("apg");
    let database = format!("Grant \"DB\".é {p}");
    let reader = format!("{p}_Reader \"x\".é");
    let owner = format!("{p}_owner");
    let writer = format!("{p}_writer");
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {} NOLOGIN; CREATE ROLE {} NOLOGIN; CREATE ROLE {} NOLOGIN;",
            q(&reader),
            q(&owner),
            q(&writer)
        ))
        .await
        .expect("create roles");
    let (r, o, w) = (q(&reader), q(&owner), q(&writer));
    let orders = r#""Sales.EU"."Orders ""2024""""#;
    support::create_database(
        &database,
        &format!(
            r#"
CREATE SCHEMA "Sales.EU" AUTHORIZATION {o};
CREATE TABLE {orders} (id int, "café" text, amount numeric);
ALTER TABLE {orders} OWNER TO {o};
CREATE VIEW "Sales.EU".big AS SELECT id FROM {orders} WHERE amount > 1000;
CREATE MATERIALIZED VIEW public.totals AS SELECT 1 AS n;
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE public.rates (currency text) SERVER files OPTIONS (filename '/dev/null', format 'csv');
CREATE TABLE public.m (d date) PARTITION BY RANGE (d);
CREATE TABLE public.m_2024 PARTITION OF public.m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE SEQUENCE public.ids;
GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r};
GRANT USAGE ON SCHEMA "Sales.EU" TO {r};
GRANT SELECT, INSERT ON {orders} TO {r};
GRANT UPDATE ("café") ON {orders} TO {r};
GRANT SELECT ON {orders} TO PUBLIC;
GRANT SELECT ON "Sales.EU".big TO {r};
GRANT SELECT ON public.totals TO {r};
GRANT SELECT ON public.rates TO {r};
GRANT SELECT ON public.m, public.m_2024 TO {r};
GRANT USAGE ON SEQUENCE public.ids TO {r};
GRANT SELECT, INSERT ON public.totals TO {w};
"#,
            db = q(&database),
        ),
    )
    .await;

    let target = target(None, &[&database], "").await;
    let aps = import(&target, &p).await;
    let d = naming::component(&database);
    let t = |suffix: &str| format!("{d}.{suffix}");
    let item = |name: String, kind: &str, permissions: &[&str]| {
        (name, kind.to_owned(), strings(permissions))
    };
    let expected = BTreeSet::from([
        item(d.clone(), "database", &["CONNECT", "TEMPORARY"]),
        item(t(r#""Sales.EU""#), "schema", &["USAGE"]),
        item(t(orders), "table", &["INSERT", "SELECT"]),
        item(t(&format!(r#"{orders}."café""#)), "column", &["UPDATE"]),
        item(t(r#""Sales.EU".big"#), "view", &["SELECT"]),
        item(t("public.totals"), "materialized-view", &["SELECT"]),
        item(t("public.rates"), "foreign-table", &["SELECT"]),
        item(t("public.m"), "table", &["SELECT"]),
        item(t("public.m_2024"), "table", &["SELECT"]),
    ]);
    let reader_ap = &aps[&reader];
    assert_eq!(
        what(reader_ap),
        expected,
        "exactly the explicit grants; sequences are no data objects"
    );
    assert_eq!(reader_ap.incomplete, None);
    assert!(!reader_ap.not_internalizable);
    assert!(
        aps[&owner].what.is_empty(),
        "the owner's implicit privileges are not grants: {:?}",
        aps[&owner].what
    );
    assert_eq!(
        what(&aps[&writer]),
        BTreeSet::from([item(t("public.totals"), "materialized-view", &["SELECT"])]),
        "INSERT on a materialized view is no Raito permission"
    );
    assert_eq!(
        aps[&writer].incomplete,
        Some(true),
        "a left-out privilege marks it incomplete"
    );

    // Hostile identifiers round-trip through the full-name syntax.
    let column = reader_ap
        .what
        .iter()
        .find(|i| i.data_object.r#type == "column")
        .expect("the column grant");
    assert_eq!(
        naming::parse(&column.data_object.full_name).expect("parses"),
        strings(&[&database, "Sales.EU", "Orders \"2024\"", "café"])
    );

    // Every object is named and typed exactly as the data source sync names it.
    let connector = connectors::build(&target).expect("valid target");
    let mut objects: Vec<DataObject> = Vec::new();
    connector
        .data_source()
        .expect("data source sync")
        .sync_data_objects(&DataSourceRequest::default(), &mut objects)
        .await
        .expect("data source sync succeeds");
    let synced: BTreeSet<(String, String)> = objects
        .into_iter()
        .map(|o| (o.full_name, o.r#type))
        .collect();
    for (name, kind, _) in expected {
        assert!(
            synced.contains(&(name.clone(), kind.clone())),
            "{name} ({kind}) is a data object of the data source sync"
        );
    }
}

#[tokio::test]
async fn members_split_into_users_and_access_providers_and_roles_without_grants_appear() {
    let p = support::unique_name("apm");
    let n = |name: &str| format!("{p}_{name}");
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {team} NOLOGIN;
             CREATE ROLE {alice} LOGIN IN ROLE {team};
             CREATE ROLE {sub} NOLOGIN IN ROLE {team};
             CREATE ROLE {managed} NOLOGIN IN ROLE {team};
             COMMENT ON ROLE {managed} IS '{comment}';
             CREATE ROLE {bob} LOGIN IN ROLE {sub};",
            team = q(&n("team")),
            alice = q(&n("Alice \"A\"")),
            sub = q(&n("sub.team")),
            managed = q(&n("managed")),
            bob = q(&n("bob")),
            comment = managed_comment("ap-1"),
        ))
        .await
        .expect("create roles");
    let target = target(None, &[], "").await;
    let aps = import(&target, &p).await;

    let who = |name: &str| {
        let who = aps[&n(name)].who.clone().expect("who is known");
        assert!(who.groups.is_empty(), "roles in roles are access providers");
        (who.users, who.access_providers)
    };
    assert_eq!(
        who("team"),
        (vec![n("Alice \"A\"")], vec![n("managed"), n("sub.team")]),
        "login members are users, other members (managed or not) are access providers"
    );
    assert_eq!(who("sub.team"), (vec![n("bob")], vec![]));
    assert_eq!(
        who("bob"),
        (vec![n("bob")], vec![]),
        "a login role holds its own privileges"
    );
    assert!(
        aps[&n("team")].what.is_empty(),
        "a role without grants is still imported"
    );
    assert!(
        !aps.contains_key(&n("managed")),
        "managed roles are Raito's"
    );
    assert_eq!(
        aps.keys().cloned().collect::<Vec<_>>(),
        vec![n("Alice \"A\""), n("bob"), n("sub.team"), n("team")]
    );
}

/// From PostgreSQL 16 on, a member counts when its membership passes privileges (INHERIT or
/// SET): not the admin-only membership 16 gives a `CREATEROLE` role in each role it creates,
/// nor any other without INHERIT and SET. Before 16 there is no such membership.
#[tokio::test]
async fn only_memberships_that_pass_privileges_make_members() {
    let p = support::unique_name("apo");
    let n = |name: &str| format!("{p}_{name}");
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {maker} LOGIN CREATEROLE; CREATE ROLE {user} LOGIN;
             SET ROLE {maker}; CREATE ROLE {made} NOLOGIN; RESET ROLE;
             GRANT {made} TO {user};",
            maker = q(&n("maker")),
            user = q(&n("user")),
            made = q(&n("made")),
        ))
        .await
        .expect("create roles");
    let v16 = support::server_major().await >= 16;
    if v16 {
        admin
            .batch_execute(&format!(
                "CREATE ROLE {by_set} NOLOGIN; GRANT {made} TO {by_set} WITH INHERIT FALSE;
                 CREATE ROLE {none} NOLOGIN; GRANT {made} TO {none} WITH INHERIT FALSE, SET FALSE;",
                made = q(&n("made")),
                by_set = q(&n("by_set")),
                none = q(&n("none")),
            ))
            .await
            .expect("grant with options");
    }
    let aps = import(&target(None, &[], "").await, &p).await;
    let who = aps[&n("made")].who.clone().expect("who is known");
    assert_eq!(who.users, vec![n("user")], "not the creator");
    let expected: Vec<String> = if v16 { vec![n("by_set")] } else { Vec::new() };
    assert_eq!(who.access_providers, expected);
}

#[tokio::test]
async fn a_managed_role_is_neither_imported_nor_a_group_of_the_identity_sync() {
    let p = support::unique_name("apx");
    let n = |name: &str| format!("{p}_{name}");
    let database = n("db");
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {group} NOLOGIN;
             CREATE ROLE {managed} NOLOGIN IN ROLE {group};
             COMMENT ON ROLE {managed} IS '{comment}';
             CREATE ROLE {user} LOGIN IN ROLE {managed}, {group};
             CREATE ROLE {nested} NOLOGIN IN ROLE {managed};",
            group = q(&n("group")),
            managed = q(&n("managed")),
            user = q(&n("user")),
            nested = q(&n("nested")),
            comment = managed_comment("ap-2"),
        ))
        .await
        .expect("create roles");
    // The managed role's grants are read and dropped without disturbing its neighbours.
    support::create_database(
        &database,
        &format!(
            "CREATE TABLE t (x int);
             GRANT SELECT ON t TO {managed};
             GRANT INSERT ON t TO {nested};",
            managed = q(&n("managed")),
            nested = q(&n("nested")),
        ),
    )
    .await;
    let target = target(None, &[&database], "").await;
    let aps = import(&target, &p).await;
    assert_eq!(
        aps.keys().cloned().collect::<Vec<_>>(),
        vec![n("group"), n("nested"), n("user")]
    );
    assert_eq!(
        what(&aps[&n("nested")]),
        BTreeSet::from([(
            format!("{database}.public.t"),
            "table".to_owned(),
            strings(&["INSERT"])
        )])
    );

    let connector = connectors::build(&target).expect("valid target");
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target).await;
    let ours_groups: Vec<(String, Vec<String>)> = groups
        .iter()
        .filter(|g| g.name.starts_with(&p))
        .map(|g| (g.external_id.clone(), g.parent_group_external_ids.clone()))
        .collect();
    assert_eq!(
        ours_groups,
        vec![(n("group"), vec![]), (n("nested"), vec![])],
        "the managed role is no group and no parent"
    );
    let user = users
        .iter()
        .find(|u| u.external_id == n("user"))
        .expect("the member stays a user");
    assert_eq!(user.group_external_ids, vec![n("group")]);
}

#[tokio::test]
async fn protected_roles_are_imported_as_not_internalizable_with_a_reason() {
    let p = support::unique_name("app");
    let n = |name: &str| format!("{p}_{name}");
    let database = n("db");
    let (connecting, rds, azure) = (n("conn"), format!("rds_{p}"), format!("azure_{p}"));
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {conn} LOGIN PASSWORD 'conn-pw';
             CREATE ROLE {superuser} SUPERUSER NOLOGIN;
             CREATE ROLE {bypass} BYPASSRLS NOLOGIN;
             CREATE ROLE {repl} REPLICATION NOLOGIN;
             CREATE ROLE {rds} NOLOGIN;
             CREATE ROLE {azure} NOLOGIN;
             CREATE ROLE {plain} NOLOGIN;",
            conn = q(&connecting),
            superuser = q(&n("super")),
            bypass = q(&n("bypass")),
            repl = q(&n("repl")),
            rds = q(&rds),
            azure = q(&azure),
            plain = q(&n("plain")),
        ))
        .await
        .expect("create roles");
    support::create_database(
        &database,
        &format!(
            "CREATE TABLE t (x int); GRANT SELECT ON t TO {plain}; GRANT SELECT ON t TO {rds};",
            plain = q(&n("plain")),
            rds = q(&rds),
        ),
    )
    .await;
    // A role that is not a superuser reads every role and grant from the catalog.
    let target = target(Some((&connecting, "conn-pw")), &[&database], "").await;
    let all = import(&target, "").await;
    let reason = |name: &str| {
        let ap = &all[name];
        assert_eq!(ap.not_internalizable, ap.who_locked_reason.is_some());
        assert_eq!(ap.what_locked, ap.who_locked_reason.as_ref().map(|_| true));
        ap.not_internalizable
            .then(|| ap.who_locked_reason.clone().unwrap_or_default())
    };
    let expect = |name: &str, words: &str| {
        let reason = reason(name).unwrap_or_else(|| panic!("{name} is not internalizable"));
        assert!(reason.contains(words), "{name}: {reason}");
    };
    expect(&n("super"), "superuser");
    expect(&connecting, "pg-user");
    expect(&n("bypass"), "BYPASSRLS");
    expect(&n("repl"), "REPLICATION");
    expect(&rds, "Amazon RDS");
    expect(&azure, "Azure");
    let test_superuser = support::postgres().user;
    expect(&test_superuser, "superuser");
    assert_eq!(reason(&n("plain")), None);
    assert_eq!(
        what(&all[&rds]),
        BTreeSet::from([(
            format!("{database}.public.t"),
            "table".to_owned(),
            strings(&["SELECT"])
        )]),
        "protected roles still show their grants"
    );
}

#[tokio::test]
async fn excluded_databases_and_schemas_are_not_read() {
    let p = support::unique_name("ape");
    let reader = format!("{p}_reader");
    let (excluded, kept) = (format!("{p}_excluded"), format!("{p}_kept"));
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!("CREATE ROLE {} NOLOGIN", q(&reader)))
        .await
        .expect("create role");
    let grants = |db: &str| {
        format!(
            "CREATE SCHEMA kept; CREATE SCHEMA skipped; CREATE SCHEMA audit;
             CREATE TABLE kept.t (x int); CREATE TABLE skipped.t (x int); CREATE TABLE audit.t (x int);
             GRANT CONNECT ON DATABASE {db} TO {r};
             GRANT USAGE ON SCHEMA kept, skipped, audit TO {r};
             GRANT SELECT ON kept.t, skipped.t, audit.t TO {r};",
            db = q(db),
            r = q(&reader)
        )
    };
    support::create_database(&excluded, &grants(&excluded)).await;
    support::create_database(&kept, &grants(&kept)).await;
    // Every database but `kept` is excluded, `excluded` among them.
    let target = target(
        None,
        &[&kept],
        &format!("    pg-excluded-schemas: '{kept}.skipped, audit'\n"),
    )
    .await;
    assert!(
        target
            .parameters
            .list("pg-excluded-databases")
            .unwrap()
            .contains(&excluded)
    );
    let aps = import(&target, &p).await;
    assert_eq!(
        what(&aps[&reader]),
        BTreeSet::from([
            (kept.clone(), "database".to_owned(), strings(&["CONNECT"])),
            (
                format!("{kept}.kept"),
                "schema".to_owned(),
                strings(&["USAGE"])
            ),
            (
                format!("{kept}.kept.t"),
                "table".to_owned(),
                strings(&["SELECT"])
            ),
        ])
    );
}

#[tokio::test]
async fn grants_in_several_databases_merge_into_one_access_provider_per_role() {
    let p = support::unique_name("apk");
    let n = |name: &str| format!("{p}_{name}");
    let (one, two, three) = (n("one"), n("two"), n("three"));
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {a} NOLOGIN; CREATE ROLE {b} NOLOGIN; CREATE ROLE {c} NOLOGIN;
             CREATE ROLE {managed} NOLOGIN; COMMENT ON ROLE {managed} IS '{comment}';",
            a = q(&n("a")),
            b = q(&n("b")),
            c = q(&n("c")),
            managed = q(&n("managed")),
            comment = managed_comment("ap-3"),
        ))
        .await
        .expect("create roles");
    // More grants than one cursor batch (2,000 rows) in `one`, between grants of other roles.
    support::create_database(
        &one,
        &format!(
            "DO $$ BEGIN FOR i IN 1..1050 LOOP
               EXECUTE format('CREATE TABLE t%s (x int)', i);
               EXECUTE format('GRANT SELECT, UPDATE ON t%s TO {a}', i);
               EXECUTE format('GRANT SELECT ON t%s TO {managed}', i);
             END LOOP; END $$;
             GRANT SELECT ON t1 TO pg_read_all_stats;",
            a = q(&n("a")),
            managed = q(&n("managed")),
        ),
    )
    .await;
    support::create_database(
        &two,
        &format!(
            "CREATE TABLE t (x int); GRANT INSERT ON t TO {b}; GRANT DELETE ON t TO {managed};",
            b = q(&n("b")),
            managed = q(&n("managed")),
        ),
    )
    .await;
    support::create_database(
        &three,
        &format!(
            "CREATE TABLE t (x int); GRANT SELECT ON t TO {a}; GRANT TRUNCATE ON t TO {b};",
            a = q(&n("a")),
            b = q(&n("b")),
        ),
    )
    .await;
    let target = target(None, &[&one, &two, &three], "").await;
    let aps = import(&target, &p).await;
    assert_eq!(
        aps.keys().cloned().collect::<Vec<_>>(),
        vec![n("a"), n("b"), n("c")]
    );
    let a = what(&aps[&n("a")]);
    assert_eq!(a.len(), 1051, "1050 tables in one, one table in three");
    assert!(a.contains(&(
        format!("{one}.public.t1050"),
        "table".to_owned(),
        strings(&["SELECT", "UPDATE"])
    )));
    assert!(a.contains(&(
        format!("{three}.public.t"),
        "table".to_owned(),
        strings(&["SELECT"])
    )));
    assert!(
        a.iter()
            .all(|(_, _, permissions)| permissions.len() == 2 || permissions == &["SELECT"])
    );
    assert_eq!(
        what(&aps[&n("b")]),
        BTreeSet::from([
            (
                format!("{two}.public.t"),
                "table".to_owned(),
                strings(&["INSERT"])
            ),
            (
                format!("{three}.public.t"),
                "table".to_owned(),
                strings(&["TRUNCATE"])
            ),
        ])
    );
    assert!(aps[&n("c")].what.is_empty());
}
