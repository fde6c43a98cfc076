//! A partial run (a `syncTrigger` with `dataObjectParent`) through `sync::run::run`, against a
//! PostgreSQL warehouse and the Raito stand-in (`dev/raito-standin`), which keeps what it
//! imported the way Raito does: an import with `deleteUntouched` replaces what the data source
//! had, one without it only adds and updates.
//!
//! What it shows: what a full run imported outside the parent (data objects, and the access
//! on them) is still in Raito after a partial run, which imports without `deleteUntouched`;
//! a full run still deletes what is gone.

use std::collections::BTreeSet;
use std::time::Duration;

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::Config;
use raito_common::raito::{ClientConfig, Clients, RetryPolicy};
use raito_common::step::Step;
use raito_common::sync::run::{self, Limits, RunSummary, Selection, TargetStatus};
use raito_common::sync::staging::Staging;
use raito_standin::{DataObject, StandIn, SubtaskResult};
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;

use crate::support;

/// The stand-in, knowing `data_source` (and nothing else).
async fn standin(data_source: &str) -> StandIn {
    raito_standin::start(
        TcpListener::bind("127.0.0.1:0").await.expect("bind"),
        raito_standin::Config {
            data_sources: vec![data_source.to_owned()],
            ..Default::default()
        },
    )
    .await
}

/// Clients signed in to the stand-in with the API user it accepts.
fn clients(standin: &StandIn) -> Clients {
    let accepted = standin.config();
    let mut config = ClientConfig::new(
        accepted.domain.clone(),
        accepted.api_user.clone(),
        SecretString::from(accepted.api_secret.clone()),
    );
    config.base_url = standin.base_url();
    config.cognito_endpoint = Some(standin.cognito_url());
    config.retry = RetryPolicy {
        max_attempts: 2,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    };
    Clients::new(config, None)
}

/// One import Raito received, as the stand-in recorded it.
struct Import {
    delete_untouched: bool,
    /// The `externalId`s of the elements of the imported file, in order.
    ids: Vec<String>,
}

/// The last data source import into `data_source`: its flag and the file's external ids.
fn last_data_source_import(standin: &StandIn, data_source: &str) -> Import {
    let state = standin.state();
    let subtask = state
        .subtasks
        .iter()
        .rev()
        .find(|s| s.job_type == "DS" && s.data_source.as_deref() == Some(data_source))
        .expect("a data source import");
    let key = subtask.file_key.as_deref().expect("a data source file");
    let body = standin
        .upload_body(key)
        .expect("the data source file arrived");
    let objects: Vec<DataObject> =
        serde_json::from_slice(&body).expect("a data source file the stand-in accepted");
    Import {
        delete_untouched: subtask.delete_untouched,
        ids: objects.into_iter().map(|o| o.external_id).collect(),
    }
}

/// Whether the last access import into `data_source` had `deleteUntouched`.
fn last_access_import_deletes_untouched(standin: &StandIn, data_source: &str) -> bool {
    standin
        .state()
        .subtasks
        .iter()
        .rev()
        .find(|s| {
            s.data_source.as_deref() == Some(data_source)
                && matches!(s.result, Some(SubtaskResult::AccessImport(_)))
        })
        .expect("an access import")
        .delete_untouched
}

/// The external ids of the data objects Raito holds for `data_source`.
fn data_objects(standin: &StandIn, data_source: &str) -> BTreeSet<String> {
    standin
        .state()
        .data_objects(data_source)
        .iter()
        .map(|o| o.external_id.clone())
        .collect()
}

/// The external ids of the access providers imported into `data_source` that Raito holds.
fn access_providers(standin: &StandIn, data_source: &str) -> BTreeSet<String> {
    standin
        .state()
        .imported_access_providers(data_source)
        .iter()
        .map(|ap| ap.external_id.clone())
        .collect()
}

/// The full names of the `what` of the imported access provider `name` Raito holds.
fn what_of(standin: &StandIn, data_source: &str, name: &str) -> BTreeSet<String> {
    let state = standin.state();
    let imported = state.imported_access_providers(data_source);
    let access_provider = imported
        .iter()
        .find(|ap| ap.external_id == name)
        .unwrap_or_else(|| {
            let ids: Vec<&str> = imported.iter().map(|ap| ap.external_id.as_str()).collect();
            panic!("{name} is imported: {ids:?}")
        });
    access_provider
        .what
        .iter()
        .flatten()
        .map(|w| w.data_object.full_name.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The warehouse and the runs
// ---------------------------------------------------------------------------------------------

/// A `raito.yml` with one PostgreSQL target (the superuser) that covers `database` only (every
/// other database of the shared test server is excluded).
async fn config(data_source: &str, database: &str) -> Config {
    let pg = support::postgres();
    let yaml = format!(
        "disable-log-forwarding: true\ntargets:\n  - name: warehouse\n    connector-name: postgresql\n    \
         data-source-id: {data_source}\n    pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    \
         pg-password: {}\n    pg-database: {database}\n    pg-sslmode: disable\n",
        pg.host,
        pg.port,
        serde_json::to_string(&pg.user).expect("a string"),
        serde_json::to_string(&pg.password).expect("a string"),
    );
    let mut config = Config::from_yaml_str(&yaml, "raito.yml", &NoSecrets)
        .await
        .expect("valid config");
    let others = support::databases_except(&[database]).await;
    config.targets[0]
        .parameters
        .insert("pg-excluded-databases", json!(others), false);
    config
}

/// Runs the data source and access steps of the data source, below `parent` when given (what
/// a `syncTrigger` with `dataObjectParent` selects), and checks every step completed.
async fn run_steps(standin: &StandIn, config: &Config, data_source: &str, parent: Option<&str>) {
    let staging = tempfile::tempdir().expect("temp dir");
    let selection = Selection {
        data_sources: vec![data_source.to_owned()],
        data_object_parent: parent.map(str::to_owned),
        ..Selection::default()
    };
    let mut limits = Limits::until(tokio::time::Instant::now() + Duration::from_secs(300));
    limits.poll_interval = Duration::from_millis(10);
    let summary: RunSummary = run::run(
        &clients(standin),
        config,
        &selection,
        &[Step::DataSource, Step::DataAccess],
        &Staging::Local(staging.path().to_owned()),
        limits,
    )
    .await
    .expect("the run starts");
    let refused: Vec<_> = standin
        .state()
        .subtasks
        .into_iter()
        .filter(|s| s.status != "COMPLETED")
        .map(|s| (s.job_type, s.status, s.errors))
        .collect();
    assert!(refused.is_empty(), "the stand-in refused: {refused:#?}");
    assert_eq!(summary.targets.len(), 1, "{summary:?}");
    let target = &summary.targets[0];
    assert_eq!(target.status, TargetStatus::Completed, "{summary:#?}");
    let steps: Vec<(&str, TargetStatus)> =
        target.steps.iter().map(|s| (s.step, s.status)).collect();
    assert_eq!(
        steps,
        [
            ("data-source", TargetStatus::Completed),
            ("data-access", TargetStatus::Completed)
        ],
        "{summary:#?}"
    );
}

/// A full run imports everything with `deleteUntouched`; a run below `<db>.shop` imports the
/// subtree without it, so the data objects outside it that a full run imported (`<db>.hr`, its
/// tables, even one dropped since) stay in Raito, and the access on them too (the access
/// import is complete in every run: every unmanaged role is in it). The next full run
/// deletes the dropped table.
#[tokio::test]
async fn a_partial_run_deletes_nothing_outside_its_parent_and_a_full_run_deletes_what_is_gone() {
    let db = support::unique_name("partial").to_lowercase();
    support::create_database(
        &db,
        "CREATE SCHEMA shop; CREATE TABLE shop.orders (id int);
         CREATE SCHEMA hr; CREATE TABLE hr.staff (id int); CREATE TABLE hr.old (id int);",
    )
    .await;
    let data_source = support::unique_name("ds");
    let prefix = support::unique_name("part").to_lowercase();
    let (shop_reader, hr_reader, old_reader) = (
        format!("{prefix}_shop_reader"),
        format!("{prefix}_hr_reader"),
        format!("{prefix}_old_reader"),
    );
    let admin = support::pg_admin(&db).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {shop_reader}; CREATE ROLE {hr_reader}; CREATE ROLE {old_reader};
             GRANT SELECT ON shop.orders TO {shop_reader};
             GRANT SELECT ON hr.staff TO {hr_reader};
             GRANT SELECT ON hr.old TO {old_reader};"
        ))
        .await
        .expect("roles and grants");
    let config = config(&data_source, &db).await;
    let standin = standin(&data_source).await;
    let name = |suffix: &str| format!("{db}.{suffix}");

    // A full run: everything imported, with deleteUntouched.
    run_steps(&standin, &config, &data_source, None).await;
    let full = last_data_source_import(&standin, &data_source);
    assert!(full.delete_untouched, "a full run deletes what is gone");
    let stored = data_objects(&standin, &data_source);
    for object in [
        db.clone(),
        name("shop.orders"),
        name("hr"),
        name("hr.staff"),
        name("hr.old"),
    ] {
        assert!(stored.contains(&object), "{object} imported");
    }
    assert!(stored.contains(&data_source));
    let imported = access_providers(&standin, &data_source);
    for role in [&shop_reader, &hr_reader, &old_reader] {
        assert!(imported.contains(role), "{role} imported");
    }
    assert_eq!(
        what_of(&standin, &data_source, &hr_reader),
        BTreeSet::from([name("hr.staff")])
    );

    // Outside the parent, a table and the role that read it go away.
    admin
        .batch_execute(&format!("DROP TABLE hr.old; DROP ROLE {old_reader};"))
        .await
        .expect("drop");

    // A partial run below <db>.shop: only that subtree, and nothing deleted.
    run_steps(&standin, &config, &data_source, Some(&name("shop"))).await;
    let stored = data_objects(&standin, &data_source);
    for object in [
        data_source.clone(),
        db.clone(),
        name("hr"),
        name("hr.staff"),
        name("hr.staff.id"),
        name("hr.old"),
        name("shop.orders"),
    ] {
        assert!(
            stored.contains(&object),
            "{object} is still in Raito after the partial run"
        );
    }
    let partial = last_data_source_import(&standin, &data_source);
    assert!(
        !partial.delete_untouched,
        "a partial run must not delete what lies outside its parent"
    );
    assert!(
        partial.ids.contains(&name("shop.orders")),
        "{:?}",
        partial.ids
    );
    let shop = name("shop");
    assert!(
        partial
            .ids
            .iter()
            .all(|id| id == &shop || id.starts_with(&format!("{shop}."))),
        "only the subtree (no data source element, nothing of hr): {:?}",
        partial.ids
    );
    // The access import is the whole target's in every run: the access on hr.staff, outside
    // the parent, is imported again (touched, kept); the role that is gone is gone.
    assert!(
        last_access_import_deletes_untouched(&standin, &data_source),
        "the access import is complete"
    );
    assert_eq!(
        what_of(&standin, &data_source, &hr_reader),
        BTreeSet::from([name("hr.staff")])
    );
    let imported = access_providers(&standin, &data_source);
    assert!(imported.contains(&hr_reader), "kept");
    assert!(imported.contains(&shop_reader), "kept");
    assert!(!imported.contains(&old_reader), "dropped from the target");

    // A full run again: what is gone from the warehouse is deleted in Raito.
    run_steps(&standin, &config, &data_source, None).await;
    let full = last_data_source_import(&standin, &data_source);
    assert!(full.delete_untouched);
    let stored = data_objects(&standin, &data_source);
    assert!(!stored.contains(&name("hr.old")), "deleted by the full run");
    for object in [data_source.clone(), name("hr.staff"), name("shop.orders")] {
        assert!(stored.contains(&object), "{object} kept");
    }
}
