//! The PostgreSQL side of the access tests and benchmarks, shared by every package whose tests
//! end in sync-access (functions/sync-access, functions/trigger-listener): a database with a
//! table and roles, the raito.yml of a target on it, an access provider as Raito exports it, and
//! the privilege check. Needs the test cluster of `dev/services.sh start` (and moto for the
//! password secret); a missing one is a panic saying how to start it.

use serde_json::{Value, json};

use crate::deployment::put_secret;

/// A database with one table (`sales.orders`), a login role (a user Raito grants to) and an
/// unmanaged role with a grant (access Raito should import): (database, user, unmanaged role),
/// each a fresh name.
///
/// # Panics
/// When the test cluster cannot be reached or the SQL fails.
pub async fn setup() -> (String, String, String) {
    let database = test_support::unique_name("lacc");
    let user = test_support::unique_name("lalice");
    let legacy = test_support::unique_name("llegacy");
    test_support::create_database(
        &database,
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int, region text);",
    )
    .await;
    test_support::pg_admin(&database)
        .await
        .batch_execute(&format!(
            "CREATE ROLE {user} LOGIN; CREATE ROLE {legacy} NOLOGIN;
             GRANT USAGE ON SCHEMA sales TO {legacy}; GRANT SELECT ON sales.orders TO {legacy};"
        ))
        .await
        .unwrap_or_else(|e| panic!("creating the roles of {database}: {e}"));
    (database, user, legacy)
}

/// raito.yml with one PostgreSQL target `warehouse` of data source `ds` on `database`, its
/// password in a fresh Secrets Manager secret (moto); every other database of the cluster is
/// excluded, so an import reads only this one.
///
/// # Panics
/// When the cluster or moto cannot be reached.
pub async fn raito_yml(ds: &str, database: &str) -> String {
    let pg = test_support::postgres();
    let others: Vec<String> = test_support::databases_except(&[database])
        .await
        .iter()
        .map(|name| format!("\"{}\"", name.replace('"', "\"\"")))
        .collect();
    let secret = put_secret("raito/pg-access", json!({ "password": pg.password })).await;
    format!(
        "targets:\n  - name: warehouse\n    connector-name: postgresql\n    data-source-id: {ds}\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    \
         pg-password: \"{{{{secret:{secret}#password}}}}\"\n    pg-database: {database}\n    \
         pg-sslmode: require\n    pg-excluded-databases: '{}'\n",
        pg.host,
        pg.port,
        pg.user,
        others.join(", ").replace('\'', "''")
    )
}

/// An access provider granting SELECT on `<database>.sales.orders` to `user`, as Raito exports
/// it (for [`raito_standin::StandIn::put_access_provider`]).
pub fn grant(id: &str, hint: &str, database: &str, user: &str) -> Value {
    json!({
        "id": id, "name": hint, "namingHint": hint, "action": "grant",
        "who": {"users": [user]},
        "what": [{"dataObject": {"fullName": format!("{database}.sales.orders"), "type": "table"},
                  "permissions": ["SELECT"]}]
    })
}

/// The SQL that says whether `user` may read `sales.orders` (directly or through a role).
pub fn can_select_sql(user: &str) -> String {
    format!(
        "SELECT has_table_privilege('{}', 'sales.orders', 'SELECT')",
        user.replace('\'', "''")
    )
}

/// Whether `user` may read `sales.orders` of `database` now.
///
/// # Panics
/// When the cluster cannot be reached or the role does not exist.
pub async fn can_select(database: &str, user: &str) -> bool {
    let sql = can_select_sql(user);
    test_support::pg_admin(database)
        .await
        .query_one(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}
