//! sync-usage end to end: the real function binary driven through the Lambda Runtime API,
//! raito.yml in moto's S3, the sync role's password in moto's Secrets Manager, the Raito
//! stand-in as Raito Cloud (it validates every statement and keeps `usageLastUsed`), and the
//! test cluster's real statement log. Each test asserts the exact statements Raito stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use lambda_harness::Outcome;
use lambda_harness::deployment::{API_SECRET, Deployment, INVOKE_TIMEOUT, put_secret, standin_for};
use raito_common::aws::secrets::NoSecrets;
use raito_common::config::Config;
use raito_common::connector::DataSourceRequest;
use raito_common::connectors;
use raito_common::connectors::postgres::naming;
use raito_common::model::data_source::DataObject;
use raito_standin::{StandIn, Statement, SubtaskResult};
use serde_json::{Value, json};
use test_support::{let_the_second_pass, server_now};

const BINARY: &str = env!("CARGO_BIN_EXE_sync-usage");

/// The workload's tables.
const SCHEMA: &str = r#"
CREATE SCHEMA sales;
CREATE SCHEMA "Sales.EU";
CREATE TABLE sales.orders (id int, customer text);
CREATE TABLE "Sales.EU"."Amount €" (id int, "Amount €" numeric);
"#;

/// A database with the schema, a workload role and a least-privileged sync role (see the
/// usage section of the README): (database, workload role, sync role, password).
async fn setup() -> (String, String, String, String) {
    let database = test_support::unique_name("lusage");
    let worker = test_support::unique_name("lworker");
    let syncer = test_support::unique_name("lsyncer");
    let password = "s3cret-usage".to_owned();
    test_support::create_database(&database, SCHEMA).await;
    test_support::pg_admin(&database)
        .await
        .batch_execute(&format!(
            r#"CREATE ROLE {worker} LOGIN PASSWORD '{password}';
               GRANT ALL ON SCHEMA sales, "Sales.EU" TO {worker};
               GRANT ALL ON ALL TABLES IN SCHEMA sales, "Sales.EU" TO {worker};
               CREATE ROLE {syncer} LOGIN PASSWORD '{password}';
               GRANT pg_monitor TO {syncer};
               GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO {syncer};
               ALTER ROLE {syncer} SET log_statement = 'none';
               ALTER ROLE {syncer} SET log_min_duration_statement = -1;"#
        ))
        .await
        .expect("roles");
    (database, worker, syncer, password)
}

/// raito.yml with one PostgreSQL target syncing as `syncer` (password from a secret).
async fn raito_yml(ds: &str, database: &str, syncer: &str, password: &str) -> String {
    let pg = test_support::postgres();
    let secret = put_secret("raito/pg-usage", json!({ "password": password })).await;
    format!(
        "targets:\n  - name: warehouse\n    connector-name: postgresql\n    data-source-id: {ds}\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {syncer}\n    \
         pg-password: \"{{{{secret:{secret}#password}}}}\"\n    pg-database: {database}\n    \
         pg-sslmode: require\n    pg-usage-settle-seconds: 0\n",
        pg.host, pg.port
    )
}

/// The server's clock, epoch seconds.
/// Epoch seconds as RFC 3339 (what Raito answers for `usageLastUsed`).
async fn rfc3339(epoch_seconds: i64) -> String {
    test_support::pg_admin("postgres")
        .await
        .query_one(
            "SELECT to_char(to_timestamp($1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\".000Z\"')",
            &[&(epoch_seconds as f64)],
        )
        .await
        .expect("format")
        .get(0)
}

/// A stand-in that knows data source `ds`, whose usage so far ends at the server's now (so
/// the sync reads this test's statements, not the whole log of the test cluster).
async fn standin(ds: &str) -> StandIn {
    let standin = standin_for(&[&ds]).await;
    let now = rfc3339(server_now().await - 1).await;
    standin.set_usage_dates(ds, Some(&now), Some(&now));
    standin
}

async fn sync_completes(deployment: &Deployment) -> Value {
    let outcome = deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await;
    let Outcome::Response(summary) = outcome else {
        panic!("the sync succeeds: {outcome:?}");
    };
    let step = &summary["targets"][0]["steps"][0];
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    assert_eq!(step["step"], "data-usage");
    // The run's metrics line (the last one logged): the statements it read, and how far behind
    // now the newest statement Raito has is.
    let metrics: Vec<Value> = deployment
        .log_lines()
        .iter()
        .filter_map(|(_, line)| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect();
    let line = metrics.last().expect("a metrics line per run");
    assert_eq!(line["Step"], "data-usage");
    assert_eq!(
        line["StatementsWritten"], step["counts"]["statements"],
        "{line}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let last = step["usageLastStart"]
        .as_i64()
        .expect("the newest statement's start");
    let lag = line["UsageLag"].as_i64().expect("the usage lag");
    assert!(
        (now - last - lag).abs() <= 2,
        "lag {lag} s, now {now}, newest {last}"
    );
    summary
}

/// (query, success, sorted `permission fullName (type)`).
type Seen = (String, bool, Vec<String>);

fn seen(statement: &Statement) -> Seen {
    let mut objects: Vec<String> = statement
        .accessed_data_objects
        .iter()
        .map(|a| {
            format!(
                "{} {} ({})",
                serde_json::to_value(a.global_permission)
                    .unwrap()
                    .as_str()
                    .unwrap(),
                a.data_object.full_name,
                a.data_object.r#type
            )
        })
        .collect();
    objects.sort();
    (statement.query.clone(), statement.success, objects)
}

/// What the stand-in stored for `ds` from `user`.
fn stored_of(standin: &StandIn, ds: &str, user: &str) -> Vec<Statement> {
    standin
        .state()
        .statements(ds)
        .iter()
        .filter(|s| s.user == user)
        .cloned()
        .collect()
}

/// Statements the stand-in skipped because it already had them, over every usage import.
fn skipped(standin: &StandIn) -> u64 {
    standin
        .state()
        .subtasks
        .iter()
        .filter_map(|s| match &s.result {
            Some(SubtaskResult::DataUsage(r)) => Some(r.statements_skipped),
            _ => None,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workload_reaches_raito_once_and_new_queries_import_only_themselves() {
    let (database, worker, syncer, password) = setup().await;
    let ds = test_support::unique_name("ds");
    let d = naming::component(&database);
    let yml = raito_yml(&ds, &database, &syncer, &password).await;
    let deployment = Deployment::start(BINARY, &yml, API_SECRET, standin(&ds).await).await;

    let client = test_support::pg_as(&worker, &password, &database).await;
    let workload: [(&str, bool, Vec<String>); 4] = [
        (
            "SELECT id FROM sales.orders",
            true,
            vec![format!("read {d}.sales.orders (table)")],
        ),
        (
            r#"INSERT INTO "Sales.EU"."Amount €" SELECT id, 1 FROM sales.orders"#,
            true,
            vec![
                format!(r#"read {d}.sales.orders (table)"#),
                format!(r#"write {d}."Sales.EU"."Amount €" (table)"#),
            ],
        ),
        (
            "CREATE TABLE sales.archive (id int)",
            true,
            vec![format!("admin {d}.sales.archive (table)")],
        ),
        ("SELECT * FROM sales.nope", false, vec![]),
    ];
    for (query, success, _) in &workload {
        assert_eq!(
            client.batch_execute(query).await.is_ok(),
            *success,
            "{query}"
        );
    }
    let_the_second_pass().await;

    // First run: the workload, exactly, with the task events of a usage step.
    let summary = sync_completes(&deployment).await;
    let step = &summary["targets"][0]["steps"][0];
    let got: Vec<Seen> = stored_of(&deployment.standin, &ds, &worker)
        .iter()
        .map(seen)
        .collect();
    let expected: Vec<Seen> = workload
        .iter()
        .map(|(q, ok, objects)| {
            let mut objects = objects.clone();
            objects.sort();
            (q.to_string(), *ok, objects)
        })
        .collect();
    assert_eq!(got, expected, "{summary}");
    assert!(
        step["staged"][0]
            .as_str()
            .unwrap()
            .ends_with("/usage-0001.json"),
        "{step}"
    );
    assert!(
        step["counts"]["statements"].as_u64().unwrap() >= 4,
        "{step}"
    );
    let statuses: Vec<String> = deployment
        .standin
        .state()
        .task_events_of("DU")
        .iter()
        .map(|e| e.status.clone())
        .collect();
    assert_eq!(
        statuses,
        [
            "STARTED",
            "DATA_RETRIEVE",
            "DATA_UPLOAD",
            "QUEUED",
            "COMPLETED"
        ]
    );
    let (_, last_used) = deployment.standin.usage_dates(&ds);
    let last = stored_of(&deployment.standin, &ds, &worker)
        .iter()
        .map(|s| s.start_time)
        .max()
        .unwrap();
    assert!(last_used.unwrap() >= rfc3339(last).await);

    // Every object the workload touched (that exists) is a data object of the metadata sync.
    let config = Config::from_yaml_str(
        &yml.replace(
            &yml[yml.find("pg-password").unwrap()..yml.find("    pg-database").unwrap()],
            &format!("pg-password: {password}\n"),
        ),
        "raito.yml",
        &NoSecrets,
    )
    .await
    .expect("config");
    let connector = connectors::build(&config.targets[0]).expect("connector");
    let mut objects: Vec<DataObject> = Vec::new();
    connector
        .data_source()
        .unwrap()
        .sync_data_objects(&DataSourceRequest::default(), &mut objects)
        .await
        .expect("metadata sync");
    let names: BTreeSet<(String, String)> = objects
        .into_iter()
        .map(|o| (o.full_name, o.r#type))
        .collect();
    for statement in stored_of(&deployment.standin, &ds, &worker) {
        for accessed in &statement.accessed_data_objects {
            let key = (
                accessed.data_object.full_name.clone(),
                accessed.data_object.r#type.clone(),
            );
            assert!(
                names.contains(&key),
                "{key:?} is a data object of the metadata sync"
            );
        }
    }

    // Second run: nothing of the workload again, nothing re-sent.
    sync_completes(&deployment).await;
    assert_eq!(stored_of(&deployment.standin, &ds, &worker).len(), 4);
    assert_eq!(skipped(&deployment.standin), 0, "no statement sent twice");

    // New queries: only they come.
    let fresh = "SELECT * FROM sales.archive";
    client.batch_execute(fresh).await.unwrap();
    let_the_second_pass().await;
    sync_completes(&deployment).await;
    let stored = stored_of(&deployment.standin, &ds, &worker);
    assert_eq!(stored.len(), 5);
    assert_eq!(
        seen(&stored[4]),
        (
            fresh.to_owned(),
            true,
            vec![format!("read {d}.sales.archive (table)")]
        )
    );
    assert_eq!(skipped(&deployment.standin), 0, "no statement sent twice");
    // The function's log over the three runs: JSON lines with the step, the target on the
    // lines of each run, and neither the Raito secret nor the roles' password.
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, &password]),
        ["warehouse"; 3]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_cut_short_by_the_deadline_resume_and_import_every_statement_once() {
    let (database, worker, syncer, password) = setup().await;
    let ds = test_support::unique_name("ds");
    let yml = raito_yml(&ds, &database, &syncer, &password).await;
    let standin = standin(&ds).await;
    let deployment = Deployment::start_with_env(
        BINARY,
        &yml,
        API_SECRET,
        standin,
        // No time for reading: each run stops after its first second of new statements.
        &[("RAITO_USAGE_RESERVE_MS", "600000")],
    )
    .await;

    // Statements in four different seconds: each batch waits for the server's clock to move on.
    let client = test_support::pg_as(&worker, &password, &database).await;
    let mut queries = Vec::new();
    for second in 0..4 {
        for i in 0..3 {
            let query = format!("SELECT {second}, {i} FROM sales.orders");
            client.batch_execute(&query).await.unwrap();
            queries.push(query);
        }
        let_the_second_pass().await;
    }

    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 40, "no progress after {runs} runs");
        let before = deployment.standin.state().statements(&ds).len();
        let summary = sync_completes(&deployment).await;
        let after = deployment.standin.state().statements(&ds).len();
        assert!(after > before, "every run makes progress: {summary}");
        if stored_of(&deployment.standin, &ds, &worker).len() >= queries.len() {
            break;
        }
    }
    assert!(
        runs >= 4,
        "the workload took {runs} runs: the deadline cut them short"
    );
    let got: Vec<String> = stored_of(&deployment.standin, &ds, &worker)
        .into_iter()
        .map(|s| s.query)
        .collect();
    assert_eq!(got, queries, "every statement once, in order");
    assert_eq!(skipped(&deployment.standin), 0, "no statement sent twice");
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, &password]),
        vec!["warehouse"; runs]
    );
}

/// A Snowflake account's query history through the function: the key in moto's Secrets
/// Manager, the statements stored by Raito once, the next run going on from the last one
/// imported, a statement newer than ACCESS_HISTORY's latency left for later.
#[tokio::test(flavor = "multi_thread")]
async fn a_snowflake_query_history_reaches_raito_once() {
    let key = include_str!("../../../dev/test-keys/client.key");
    let public = include_str!("../../../dev/test-keys/client.pub");
    let mut account = snowflake_standin::generate(200, 20).with_sync_user("RAITO_SYNC", public);
    let now = time::OffsetDateTime::now_utc();
    let mut history = snowflake_standin::generate_query_history(
        500,
        now - time::Duration::hours(6),
        time::Duration::milliseconds(300),
        &account,
    );
    // An hour old: its ACCESS_HISTORY row may not exist yet.
    let mut recent = snowflake_standin::generate_query_history(
        1,
        now - time::Duration::hours(1),
        time::Duration::ZERO,
        &account,
    );
    recent[0].query_id = "recent".into();
    history.append(&mut recent);
    let expected: BTreeSet<String> = history[..500]
        .iter()
        .map(|q| q.query_id.to_string())
        .collect();
    account.query_history = history;
    let snowflake = snowflake_standin::start(account, snowflake_standin::Options::default()).await;
    let ds = test_support::unique_name("ds-sf");
    let secret = put_secret("raito/snowflake-usage", json!({ "sf-private-key": key })).await;
    let yml = format!(
        "targets:\n  - name: snowflake\n    connector-name: snowflake\n    data-source-id: {ds}\n    \
         sf-account: raito-standin\n    sf-user: RAITO_SYNC\n    sf-role: RAITO_SYNC\n    \
         sf-host: {}\n    secret: {secret}\n",
        snowflake.url
    );
    let deployment = Deployment::start(BINARY, &yml, API_SECRET, standin_for(&[&ds]).await).await;

    sync_completes(&deployment).await;
    let stored: BTreeSet<String> = deployment
        .standin
        .state()
        .statements(&ds)
        .iter()
        .map(|s| s.external_id.clone())
        .collect();
    assert_eq!(
        stored, expected,
        "every statement old enough, and only those"
    );
    let with_objects = deployment
        .standin
        .state()
        .statements(&ds)
        .iter()
        .filter(|s| !s.accessed_data_objects.is_empty())
        .count();
    assert!(with_objects > 300, "{with_objects} statements with objects");

    // The next run goes on from the last statement imported: nothing again.
    sync_completes(&deployment).await;
    assert_eq!(deployment.standin.state().statements(&ds).len(), 500);
    assert_eq!(skipped(&deployment.standin), 0, "nothing sent twice");
    let key_body = key.lines().nth(1).expect("a PEM body line");
    deployment.assert_log_is_clean(&[API_SECRET, key_body]);
}
