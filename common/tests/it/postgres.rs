//! The PostgreSQL connector against a real server: awkward identifiers, partitions, views,
//! foreign tables, exclusions and TLS.

use std::collections::BTreeSet;

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::DataSourceRequest;
use raito_common::connectors;
use raito_common::connectors::postgres::naming;
use raito_common::model::data_source::DataObject;
use raito_common::testing;

use crate::support;

/// A database full of identifiers that break naive dotted names.
const AWKWARD_SCHEMA: &str = r#"
COMMENT ON SCHEMA public IS 'standard public schema';
CREATE SCHEMA "Sales.EU";
COMMENT ON SCHEMA "Sales.EU" IS 'European sales';
CREATE TABLE "Sales.EU"."Orders ""2024""" (id integer PRIMARY KEY, "Amount €" numeric(12,2), "café" text);
COMMENT ON TABLE "Sales.EU"."Orders ""2024""" IS 'Orders of 2024';
COMMENT ON COLUMN "Sales.EU"."Orders ""2024""".id IS 'Order id';
CREATE TABLE public.empty_table ();
CREATE TABLE public."MixedCase" ("CamelCol" varchar(40), dropped int);
ALTER TABLE public."MixedCase" DROP COLUMN dropped;
CREATE TABLE public.measurements (city_id int NOT NULL, logdate date NOT NULL, peak int)
  PARTITION BY RANGE (logdate);
CREATE TABLE public.measurements_2024 PARTITION OF public.measurements
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (city_id);
CREATE TABLE public.measurements_2024_city1 PARTITION OF public.measurements_2024 FOR VALUES IN (1);
CREATE TABLE "Sales.EU".measurements_2025 PARTITION OF public.measurements
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE VIEW public."Big Orders" AS SELECT id FROM "Sales.EU"."Orders ""2024""" WHERE "Amount €" > 1000;
COMMENT ON VIEW public."Big Orders" IS 'Orders over 1000';
CREATE MATERIALIZED VIEW public.order_totals AS SELECT count(*) AS n FROM "Sales.EU"."Orders ""2024""";
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE public.rates (currency char(3), rate double precision)
  SERVER files OPTIONS (filename '/dev/null', format 'csv');
CREATE SCHEMA skipped;
CREATE TABLE skipped.hidden (x int);
"#;

async fn target(extra: &str) -> Target {
    let pg = support::postgres();
    let yaml = format!(
        "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds-pg\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: {}\n    pg-sslmode: disable\n{extra}",
        pg.host, pg.port, pg.user, pg.password
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    config.targets[0].clone()
}

/// (fullName, type, parentExternalId, dataType, description) of an object, for exact
/// comparisons.
type Row = (String, String, String, Option<String>, String);

fn row(o: &DataObject) -> Row {
    (
        o.full_name.clone(),
        o.r#type.clone(),
        o.parent_external_id.clone(),
        o.data_type.clone(),
        o.description.clone(),
    )
}

#[tokio::test]
async fn awkward_identifiers_give_the_exact_set_of_unique_data_objects() {
    let database = format!("Awkward DB.{}", support::unique_name("x"));
    support::create_database(&database, AWKWARD_SCHEMA).await;
    let d = naming::component(&database);
    let target = target(&format!("    pg-excluded-schemas: '{d}.skipped'\n")).await;
    let connector = connectors::build(&target).expect("valid target");

    let objects = testing::check_data_source_sync(connector.as_ref(), &target).await;
    let ours: BTreeSet<Row> = objects
        .iter()
        .filter(|o| o.full_name == d || o.full_name.starts_with(&format!("{d}.")))
        .map(row)
        .collect();

    let t = |suffix: &str| format!("{d}.{suffix}");
    let object = |name: String, kind: &str, parent: String, description: &str| -> Row {
        (name, kind.into(), parent, None, description.into())
    };
    let column = |relation: &str, column: &str, data_type: &str, description: &str| -> Row {
        (
            t(&format!("{relation}.{column}")),
            "column".into(),
            t(relation),
            Some(data_type.into()),
            description.into(),
        )
    };
    let orders = r#""Sales.EU"."Orders ""2024""""#;
    let mut expected = BTreeSet::from([
        // Under the data source: its id, as the Go writer fills it in.
        object(
            d.clone(),
            "database",
            target.data_source_id.clone().expect("a data source id"),
            "A database with awkward names",
        ),
        object(t("public"), "schema", d.clone(), "standard public schema"),
        object(t(r#""Sales.EU""#), "schema", d.clone(), "European sales"),
        object(t(orders), "table", t(r#""Sales.EU""#), "Orders of 2024"),
        column(orders, "id", "integer", "Order id"),
        column(orders, r#""Amount €""#, "numeric(12,2)", ""),
        column(orders, r#""café""#, "text", ""),
        object(t("public.empty_table"), "table", t("public"), ""),
        object(t(r#"public."MixedCase""#), "table", t("public"), ""),
        column(
            r#"public."MixedCase""#,
            r#""CamelCol""#,
            "character varying(40)",
            "",
        ),
        object(t("public.measurements"), "table", t("public"), ""),
        object(
            t("public.measurements_2024"),
            "table",
            t("public.measurements"),
            "",
        ),
        object(
            t("public.measurements_2024_city1"),
            "table",
            t("public.measurements_2024"),
            "",
        ),
        object(
            t(r#""Sales.EU".measurements_2025"#),
            "table",
            t("public.measurements"),
            "",
        ),
        object(
            t(r#"public."Big Orders""#),
            "view",
            t("public"),
            "Orders over 1000",
        ),
        column(r#"public."Big Orders""#, "id", "integer", ""),
        object(
            t("public.order_totals"),
            "materialized-view",
            t("public"),
            "",
        ),
        column("public.order_totals", "n", "bigint", ""),
        object(t("public.rates"), "foreign-table", t("public"), ""),
        column("public.rates", "currency", "character(3)", ""),
        column("public.rates", "rate", "double precision", ""),
    ]);
    for partition in [
        "public.measurements",
        "public.measurements_2024",
        "public.measurements_2024_city1",
        r#""Sales.EU".measurements_2025"#,
    ] {
        expected.insert(column(partition, "city_id", "integer", ""));
        expected.insert(column(partition, "logdate", "date", ""));
        expected.insert(column(partition, "peak", "integer", ""));
    }
    let missing: Vec<_> = expected.difference(&ours).collect();
    let unexpected: Vec<_> = ours.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );

    // Names are the raw identifiers; external ids are the full names.
    let orders_object = objects
        .iter()
        .find(|o| o.full_name == t(orders))
        .expect("orders");
    assert_eq!(orders_object.name, "Orders \"2024\"");
    assert_eq!(orders_object.external_id, orders_object.full_name);
    for o in objects.iter().filter(|o| o.full_name.starts_with(&d)) {
        let parts = naming::parse(&o.full_name).expect("full names parse");
        assert_eq!(
            parts.last(),
            Some(&o.name),
            "{} ends with its name",
            o.full_name
        );
        assert_eq!(parts[0], database);
    }
}

#[tokio::test]
async fn a_partial_sync_covers_only_the_subtree_below_its_parent_minus_excludes() {
    let database = format!("Partial {}", support::unique_name("p"));
    support::create_database(&database, AWKWARD_SCHEMA).await;
    let d = naming::component(&database);
    let target = target("").await;
    let connector = connectors::build(&target).expect("valid target");

    let schema = format!(r#"{d}."Sales.EU""#);
    let request = |parent: &str, excludes: &[&str]| DataSourceRequest {
        data_source_id: "ds-pg".into(),
        parent: Some(parent.to_owned()),
        excludes: excludes.iter().map(|e| (*e).to_owned()).collect(),
    };
    let objects = testing::check_partial_data_source_sync(
        connector.as_ref(),
        &target,
        request(&schema, &["measurements_2025"]),
    )
    .await;
    let names: BTreeSet<String> = objects.iter().map(|o| o.full_name.clone()).collect();
    let orders = format!(r#"{schema}."Orders ""2024""""#);
    let expected: BTreeSet<String> = [
        orders.clone(),
        format!("{orders}.id"),
        format!(r#"{orders}."Amount €""#),
        format!(r#"{orders}."café""#),
    ]
    .into();
    assert_eq!(names, expected);

    // Below a database, with an absolute exclude: only the other schema's subtree.
    let objects = testing::check_partial_data_source_sync(
        connector.as_ref(),
        &target,
        request(&d, &[&format!("{d}.public")]),
    )
    .await;
    assert!(objects.iter().any(|o| o.full_name == schema));
    assert!(
        objects
            .iter()
            .all(|o| !o.full_name.starts_with(&format!("{d}.public")))
    );
    let partition = objects
        .iter()
        .find(|o| o.name == "measurements_2025")
        .expect("the partition in Sales.EU");
    assert_eq!(
        partition.parent_external_id,
        format!("{d}.public.measurements"),
        "a partition keeps its real parent in a partial sync"
    );
}

#[tokio::test]
async fn login_roles_are_users_other_roles_are_groups_with_their_memberships() {
    let p = support::unique_name("idp");
    let q = |name: &str| format!("\"{p}_{}\"", name.replace('"', "\"\""));
    support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {analysts} NOLOGIN; COMMENT ON ROLE {analysts} IS 'Analysts';
             CREATE ROLE {finance} NOLOGIN IN ROLE {analysts};
             CREATE ROLE {alice} LOGIN IN ROLE {finance};
             CREATE ROLE {etl} LOGIN IN ROLE {analysts};
             GRANT {etl} TO {alice};",
            analysts = q("analysts"),
            finance = q("Finance \"Team\""),
            alice = q("alice"),
            etl = q("svc_etl"),
        ))
        .await
        .expect("create roles");
    let mut target = target("").await;
    target
        .parameters
        .insert("pg-machine-user-pattern", serde_json::json!("_svc_"), false);
    let connector = connectors::build(&target).expect("valid target");
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target).await;

    let n = |name: &str| format!("{p}_{name}");
    let ours_users: Vec<(String, Vec<String>, Option<bool>)> = users
        .iter()
        .filter(|u| u.name.starts_with(&p))
        .map(|u| {
            (
                u.external_id.clone(),
                u.group_external_ids.clone(),
                u.is_machine,
            )
        })
        .collect();
    assert_eq!(
        ours_users,
        vec![
            (n("alice"), vec![n("Finance \"Team\"")], Some(false)),
            (n("svc_etl"), vec![n("analysts")], Some(true)),
        ],
        "a membership in a login role is not a group"
    );
    let ours_groups: Vec<(String, Vec<String>, String)> = groups
        .iter()
        .filter(|g| g.name.starts_with(&p))
        .map(|g| {
            (
                g.external_id.clone(),
                g.parent_group_external_ids.clone(),
                g.description.clone(),
            )
        })
        .collect();
    assert_eq!(
        ours_groups,
        vec![
            (n("Finance \"Team\""), vec![n("analysts")], String::new()),
            (n("analysts"), Vec::new(), "Analysts".to_owned()),
        ]
    );
    assert!(
        groups.iter().all(|g| !g.name.starts_with("pg_"))
            && users.iter().all(|u| !u.name.starts_with("pg_")),
        "built-in roles are left out"
    );
}

/// A membership makes a parent when it passes the group's privileges. From PostgreSQL 16 on
/// that is a membership with INHERIT or SET: `INHERIT FALSE` (privileges by `SET ROLE`)
/// counts, a membership without either (`ADMIN OPTION` at most) does not, and so not the one
/// 16 gives a `CREATEROLE` role in each role it creates (as an RDS admin creates them).
#[tokio::test]
async fn a_membership_makes_a_parent_when_it_passes_the_groups_privileges() {
    let p = support::unique_name("idm");
    let q = |name: &str| format!("\"{p}_{name}\"");
    let n = |name: &str| format!("{p}_{name}");
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {maker} LOGIN CREATEROLE; CREATE ROLE {user} LOGIN;
             CREATE ROLE {plain} NOLOGIN; GRANT {plain} TO {user};
             SET ROLE {maker}; CREATE ROLE {made} NOLOGIN; RESET ROLE;",
            maker = q("maker"),
            user = q("user"),
            plain = q("plain"),
            made = q("made"),
        ))
        .await
        .expect("create roles");
    let v16 = support::server_major().await >= 16;
    if v16 {
        admin
            .batch_execute(&format!(
                "CREATE ROLE {by_set} NOLOGIN; GRANT {by_set} TO {user} WITH INHERIT FALSE;
                 CREATE ROLE {top} NOLOGIN; GRANT {top} TO {by_set} WITH INHERIT FALSE;
                 CREATE ROLE {admin_only} NOLOGIN;
                 GRANT {admin_only} TO {user} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;
                 GRANT {admin_only} TO {by_set} WITH INHERIT FALSE, SET FALSE;",
                by_set = q("by_set"),
                top = q("top"),
                admin_only = q("admin_only"),
                user = q("user"),
            ))
            .await
            .expect("grant with options");
    }
    let connector = connectors::build(&target("").await).expect("valid target");
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target("").await).await;
    let parents_of_users: Vec<(String, Vec<String>)> = users
        .iter()
        .filter(|u| u.name.starts_with(&p))
        .map(|u| (u.external_id.clone(), u.group_external_ids.clone()))
        .collect();
    let parents_of_groups: Vec<(String, Vec<String>)> = groups
        .iter()
        .filter(|g| g.name.starts_with(&p))
        .map(|g| (g.external_id.clone(), g.parent_group_external_ids.clone()))
        .collect();
    if v16 {
        assert_eq!(
            parents_of_users,
            vec![
                (n("maker"), Vec::new()),
                (n("user"), vec![n("by_set"), n("plain")]),
            ]
        );
        assert_eq!(
            parents_of_groups,
            vec![
                (n("admin_only"), Vec::new()),
                (n("by_set"), vec![n("top")]),
                (n("made"), Vec::new()),
                (n("plain"), Vec::new()),
                (n("top"), Vec::new()),
            ]
        );
    } else {
        assert_eq!(
            parents_of_users,
            vec![(n("maker"), Vec::new()), (n("user"), vec![n("plain")])]
        );
        assert_eq!(
            parents_of_groups,
            vec![(n("made"), Vec::new()), (n("plain"), Vec::new())]
        );
    }
}

#[tokio::test]
async fn excluded_and_unconnectable_databases_are_left_out() {
    let excluded = support::unique_name("excluded");
    let locked = support::unique_name("locked");
    let kept = support::unique_name("kept");
    for name in [&excluded, &locked, &kept] {
        support::create_database(name, "CREATE TABLE t (x int)").await;
    }
    let role = support::unique_name("reader");
    let admin = support::pg_admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'secret-pw'; REVOKE CONNECT ON DATABASE {locked} FROM PUBLIC"
        ))
        .await
        .expect("create role");

    let pg = support::postgres();
    let yaml = format!(
        "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {role}\n    pg-password: secret-pw\n    \
         pg-sslmode: disable\n    pg-excluded-databases: [{excluded}]\n",
        pg.host, pg.port
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("config");
    let target = &config.targets[0];
    let connector = connectors::build(target).expect("valid target");
    let objects = testing::check_data_source_sync(connector.as_ref(), target).await;
    let databases: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o.r#type == "database")
        .map(|o| o.name.as_str())
        .collect();
    assert!(databases.contains(kept.as_str()), "{databases:?}");
    assert!(
        !databases.contains(excluded.as_str()),
        "excluded by parameter"
    );
    assert!(!databases.contains(locked.as_str()), "no CONNECT privilege");
    assert!(!databases.contains("template0") && !databases.contains("template1"));
    assert!(
        objects.iter().all(|o| !o.full_name.contains(".pg_catalog")
            && !o.full_name.contains(".information_schema")),
        "system schemas are never synced"
    );
}

/// Secure by default: without pg-sslmode the server's certificate is verified (verify-full),
/// so an untrusted server is refused and the test CA as pg-sslrootcert connects.
#[tokio::test]
async fn without_pg_sslmode_the_server_certificate_is_verified() {
    let pg = support::postgres();
    let yaml = |extra: &str| {
        format!(
            "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds-pg\n    \
             pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: {}\n{extra}",
            pg.host, pg.port, pg.user, pg.password
        )
    };
    let run = async |extra: &str| {
        let config = Config::from_yaml_str(&yaml(extra), "test.yml", &NoSecrets)
            .await
            .expect("valid config");
        let target = &config.targets[0];
        let connector = connectors::build(target).expect("valid target");
        let dir = tempfile::tempdir().expect("temp dir");
        raito_common::sync::metadata::run(
            connector.as_ref(),
            target,
            Default::default(),
            raito_common::output::Destination::file(dir.path().join("x.json"))
                .await
                .expect("file"),
        )
        .await
        .map(|_| ())
    };
    let error = run("").await.expect_err("an unverified server is refused");
    assert!(error.to_string().contains("cannot connect"), "{error}");
    let ca = std::env::var("RAITO_TEST_PG_CA_CERT").expect(
        "RAITO_TEST_PG_CA_CERT names the test server's CA: start it with `dev/services.sh start`",
    );
    run(&format!("    pg-sslrootcert: {ca}\n"))
        .await
        .expect("the server proves itself with the given CA");
}

#[tokio::test]
async fn tls_is_used_when_required() {
    if std::env::var("RAITO_TEST_PG_SSL").as_deref() != Ok("1") {
        panic!("the test PostgreSQL has no TLS: start it with `dev/services.sh start`");
    }
    let database = support::unique_name("tls");
    support::create_database(&database, "CREATE TABLE t (x int)").await;
    let mut target = target("").await;
    target
        .parameters
        .insert("pg-sslmode", serde_json::json!("require"), false);
    target
        .parameters
        .insert("pg-excluded-databases", serde_json::json!([]), false);
    let connector = connectors::build(&target).expect("valid target");
    let objects = testing::check_data_source_sync(connector.as_ref(), &target).await;
    assert!(objects.iter().any(|o| o.name == database));

    // verify-full against a self-signed certificate must refuse to connect.
    target
        .parameters
        .insert("pg-sslmode", serde_json::json!("verify-full"), false);
    let connector = connectors::build(&target).expect("valid target");
    let error = raito_common::sync::metadata::run(
        connector.as_ref(),
        &target,
        Default::default(),
        raito_common::output::Destination::file(tempfile::tempdir().unwrap().path().join("x.json"))
            .await
            .unwrap(),
    )
    .await
    .expect_err("an untrusted certificate is refused");
    assert!(error.to_string().contains("cannot connect"), "{error}");

    // With the server's CA given (as a path, or as PEM text), both verifying modes connect.
    let ca = std::env::var("RAITO_TEST_PG_CA_CERT").expect(
        "RAITO_TEST_PG_CA_CERT names the test server's CA: start it with `dev/services.sh start`",
    );
    let pem = std::fs::read_to_string(&ca).expect("read the CA certificate");
    for (mode, root) in [("verify-full", ca.clone()), ("verify-ca", pem)] {
        target
            .parameters
            .insert("pg-sslmode", serde_json::json!(mode), false);
        target
            .parameters
            .insert("pg-sslrootcert", serde_json::json!(root), false);
        let connector = connectors::build(&target).expect("valid target");
        let objects = testing::check_data_source_sync(connector.as_ref(), &target).await;
        assert!(objects.iter().any(|o| o.name == database), "{mode}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_permission_error_and_writes_nothing() {
    let mut target = target("").await;
    target
        .parameters
        .insert("pg-password", serde_json::json!("wrong"), true);
    let connector = connectors::build(&target).expect("valid target");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.json");
    let error = raito_common::sync::metadata::run(
        connector.as_ref(),
        &target,
        Default::default(),
        raito_common::output::Destination::file(&path)
            .await
            .expect("create"),
    )
    .await
    .expect_err("the login fails");
    let message = error.to_string();
    assert!(message.contains("permission denied"), "{message}");
    assert!(
        !message.contains("wrong"),
        "the password is not in the message: {message}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "no file left"
    );
}

#[test]
fn invalid_parameters_are_rejected_before_connecting() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cases = [
        ("pg-sslmode", serde_json::json!("sometimes"), "pg-sslmode"),
        ("pg-port", serde_json::json!("not-a-port"), "pg-port"),
        ("pg-hots", serde_json::json!("x"), "pg-hots"),
        (
            "pg-excluded-schemas",
            serde_json::json!("a.b.c"),
            "pg-excluded-schemas",
        ),
        (
            "pg-excluded-databases",
            serde_json::json!("\"open"),
            "pg-excluded-databases",
        ),
    ];
    for (key, value, named) in cases {
        let mut target = runtime.block_on(async {
            let yaml = "targets:\n  - name: pg\n    connector-name: postgresql\n    pg-host: h\n    pg-user: u\n";
            Config::from_yaml_str(yaml, "test.yml", &NoSecrets).await.expect("config").targets[0].clone()
        });
        target.parameters.insert(key, value, false);
        let error = connectors::build(&target).err().expect("rejected");
        let message = error.to_string();
        assert!(
            message.contains(named) && message.contains("pg"),
            "{key}: {message}"
        );
    }
}
