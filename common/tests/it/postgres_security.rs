//! The search_path hijack, tried as an attacker would: an unprivileged user who may create in
//! `public` (the default up to PostgreSQL 14, kept by `pg_upgrade`) plants
//! `public.obj_description(oid, text)`, `public.shobj_description(oid, text)` and
//! `public.col_description(oid, integer)` (which PostgreSQL would prefer for an untyped literal,
//! and run as the sync's role) and an operator `public.=(varchar, text)` (which a row filter on a
//! varchar column would bind). Every sync of the database must run none of them: each session
//! pins `search_path` to `pg_catalog, pg_temp`, catalog functions are qualified, and rendered
//! row filters name `OPERATOR(pg_catalog.=)`.

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::ApplyMode;
use raito_common::connectors;
use raito_common::output::Destination;
use raito_common::sync::{self, Outcome};

use crate::support;

/// The planted objects: each function fails loudly when called (so a sync that calls one
/// fails), the operator answers true for every row (so a filter that binds it shows all rows).
const PLANT: &str = r#"
CREATE FUNCTION public.obj_description(oid, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked: public.obj_description ran as %', current_user; END $$;
CREATE FUNCTION public.shobj_description(oid, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked: public.shobj_description ran as %', current_user; END $$;
CREATE FUNCTION public.col_description(oid, integer) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked: public.col_description ran as %', current_user; END $$;
CREATE FUNCTION public.always(varchar, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = text, FUNCTION = public.always);
"#;

async fn target() -> Target {
    let pg = support::postgres();
    let yaml = format!(
        "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds-pg\n    \
         identity-store-id: is-pg\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: {}\n    pg-sslmode: disable\n",
        pg.host, pg.port, pg.user, pg.password
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    config.targets.into_iter().next().expect("a target")
}

#[tokio::test]
async fn planted_functions_and_operators_never_run_in_any_sync() {
    let db = support::unique_name("hijack");
    let attacker = support::unique_name("attacker");
    let member = support::unique_name("member");
    support::create_database(
        &db,
        "CREATE TABLE public.sales (region varchar(8), amount int);
         INSERT INTO public.sales VALUES ('EU', 1), ('US', 2);
         COMMENT ON TABLE public.sales IS 'sales';
         COMMENT ON COLUMN public.sales.region IS 'region';
         ALTER TABLE public.sales ENABLE ROW LEVEL SECURITY;",
    )
    .await;
    let admin = support::pg_admin(&db).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {attacker} LOGIN PASSWORD 'pw'; CREATE ROLE {member} LOGIN PASSWORD 'pw';
             GRANT CREATE ON SCHEMA public TO {attacker};"
        ))
        .await
        .expect("roles");
    // Planted by the unprivileged user itself.
    admin
        .batch_execute(&format!("SET ROLE {attacker}; {PLANT} RESET ROLE;"))
        .await
        .expect("plant");

    let target = target().await;
    let connector = connectors::build(&target).expect("valid target");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str| dir.path().join(name);

    // Metadata: descriptions read, nothing planted called.
    let outcome = sync::metadata::run(
        connector.as_ref(),
        &target,
        Default::default(),
        Destination::file(file("objects.json")).await.expect("file"),
    )
    .await
    .expect("the metadata sync runs none of the planted functions");
    assert!(matches!(outcome, Outcome::Completed(_)));
    let objects = std::fs::read_to_string(file("objects.json")).expect("read");
    assert!(
        objects.contains(r#""description":"sales""#),
        "descriptions are read"
    );

    // Identities.
    sync::identities::run(
        connector.as_ref(),
        &target,
        Destination::file(file("users.json")).await.expect("file"),
        Destination::file(file("groups.json")).await.expect("file"),
    )
    .await
    .expect("the identity sync runs none of the planted functions");

    // The access import.
    sync::access::import(
        connector.as_ref(),
        &target,
        Destination::file(file("access.json")).await.expect("file"),
    )
    .await
    .expect("the access import runs none of the planted functions");

    // Usage: the statement log read over SQL, the catalog resolved.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        - 60;
    let mut parts = sync::usage::LocalParts::new(file("usage.json"));
    sync::usage::run(
        connector.as_ref(),
        &target,
        raito_common::connector::UsageRequest {
            since: Some(since),
            deadline: None,
        },
        &mut parts,
        1 << 20,
    )
    .await
    .expect("the usage sync runs none of the planted functions");

    // Apply: a role that reads the table, filtered to region = 'EU' (a varchar column compared
    // with a text literal: the planted operator's exact types).
    let hint = support::unique_name("eu_sales");
    let export = serde_json::json!({"accessProviders": [
        {"id": support::unique_name("ap"), "namingHint": hint, "action": "grant",
         "who": {"users": [member]},
         "what": [{"dataObject": {"fullName": format!("{db}.public.sales"), "type": "table"},
                   "permissions": ["SELECT"]}]},
        {"id": support::unique_name("ap"), "namingHint": format!("{hint}_f"), "action": "filtered",
         "who": {"users": [member]},
         "what": [{"dataObject": {"fullName": format!("{db}.public.sales"), "type": "table"},
                   "permissions": []}],
         "policyRule": "region = 'EU'"},
    ]});
    std::fs::write(file("export.json"), export.to_string()).expect("write export");
    let applied = sync::access::apply(
        connector.as_ref(),
        &target,
        &sync::access::ExportInput::File(file("export.json")),
        ApplyMode::Apply,
        Some(
            Destination::file(file("feedback.json"))
                .await
                .expect("file"),
        ),
        &mut |_| {},
    )
    .await
    .expect("the apply runs none of the planted functions")
    .expect("postgres applies access");
    assert_eq!(
        applied.report.counts.get("failed"),
        None,
        "{}",
        std::fs::read_to_string(file("feedback.json")).unwrap_or_default()
    );

    // The member sees the EU row only: the policy bound pg_catalog's operator.
    admin
        .batch_execute(&format!("SET ROLE {member}"))
        .await
        .expect("become the member");
    let regions: Vec<String> = admin
        .query("SELECT region::text FROM public.sales ORDER BY 1", &[])
        .await
        .expect("the member reads")
        .iter()
        .map(|row| row.get(0))
        .collect();
    admin.batch_execute("RESET ROLE").await.expect("reset");
    assert_eq!(regions, ["EU"], "1 of 2 rows, not every row");
}
