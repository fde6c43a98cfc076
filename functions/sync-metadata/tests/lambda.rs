//! sync-metadata end to end: the real function binary driven through the Lambda Runtime API,
//! with raito.yml in moto's S3, credentials in moto's Secrets Manager, a real PostgreSQL
//! database and the Raito stand-in. Also the faults a deployment meets: 5xx, 429, an import
//! that never finishes, a wrong API secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lambda_harness::Outcome;
use lambda_harness::deployment::{put_secret, standin_for};
use raito_standin::Fault;
use serde_json::{Value, json};

const SCHEMA: &str = r#"
CREATE SCHEMA "Sales.EU";
CREATE TABLE "Sales.EU".orders (id integer, "Amount €" numeric(12,2));
COMMENT ON TABLE "Sales.EU".orders IS 'Orders';
CREATE VIEW public.big_orders AS SELECT id FROM "Sales.EU".orders;
"#;

/// sync-metadata deployed over a fresh database and data source.
struct Deployment {
    database: String,
    data_source: String,
    inner: lambda_harness::deployment::Deployment,
}

impl std::ops::Deref for Deployment {
    type Target = lambda_harness::deployment::Deployment;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl Deployment {
    /// Sets everything up; `api_secret` is what the Raito secret holds (the stand-in accepts
    /// only `api-secret`).
    async fn start(api_secret: &str, faults: Vec<Fault>) -> Self {
        let database = test_support::unique_name("lambda db");
        test_support::create_database(&database, SCHEMA).await;
        let data_source = test_support::unique_name("ds");

        let standin = standin_for(&[&data_source]).await;
        for fault in faults {
            standin.inject(fault);
        }
        let pg = test_support::postgres();
        let pg_secret = put_secret("raito/pg", json!({"password": pg.password})).await;
        let config = format!(
            "targets:\n  - name: warehouse\n    connector-name: postgresql\n    \
             data-source-id: {data_source}\n    pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    \
             pg-password: \"{{{{secret:{pg_secret}#password}}}}\"\n    pg-sslmode: require\n",
            pg.host, pg.port, pg.user
        );
        let inner = lambda_harness::deployment::Deployment::start(
            env!("CARGO_BIN_EXE_sync-metadata"),
            &config,
            api_secret,
            standin,
        )
        .await;
        Self {
            database,
            data_source,
            inner,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_run_imports_the_database_into_raito_and_reports_the_job() {
    let deployment = Deployment::start("api-secret", Vec::new()).await;
    let outcome = deployment
        .run(json!({"targets": []}), Duration::from_secs(60))
        .await;
    if let Some(first_poll) = deployment.runtime.first_poll() {
        eprintln!(
            "sync-metadata: {} ms from process start to its first Runtime API poll",
            first_poll.duration_since(deployment.started).as_millis()
        );
    }
    // The function's log: JSON lines, and neither the Raito nor the database secret in them.
    let pg = test_support::postgres();
    deployment.assert_log_is_clean(&["api-secret", &pg.password]);
    let Outcome::Response(summary) = outcome else {
        panic!("the sync succeeds: {outcome:?}");
    };
    let target = &summary["targets"][0];
    assert_eq!(target["name"], "warehouse");
    assert_eq!(target["status"], "completed", "{summary}");

    let state = deployment.standin.state();
    let ds = &deployment.data_source;
    assert!(
        state.metadata.contains_key(ds),
        "metadata was set before the import"
    );

    // The exact objects of our database, after the data source element, in file order: the
    // database, its schemas and relations in name order (bytes), then their columns; every
    // parent before its children (the stand-in refuses anything else).
    let objects = state.data_objects(ds);
    assert_eq!(objects[0].r#type, "datasource");
    assert_eq!(&objects[0].external_id, ds);
    let d = format!("\"{}\"", deployment.database);
    let ours: Vec<(String, String, String)> = objects
        .iter()
        .filter(|o| o.full_name == d || o.full_name.starts_with(&format!("{d}.")))
        .map(|o| {
            (
                o.full_name.clone(),
                o.r#type.clone(),
                o.parent_external_id.clone(),
            )
        })
        .collect();
    let t = |s: &str| format!("{d}.{s}");
    let expected = vec![
        // Under the data source: its id, as the Go writer fills it in.
        (d.clone(), "database".into(), ds.to_string()),
        (t(r#""Sales.EU""#), "schema".into(), d.clone()),
        (t("public"), "schema".into(), d.clone()),
        (
            t(r#""Sales.EU".orders"#),
            "table".into(),
            t(r#""Sales.EU""#),
        ),
        (t("public.big_orders"), "view".into(), t("public")),
        (
            t(r#""Sales.EU".orders.id"#),
            "column".into(),
            t(r#""Sales.EU".orders"#),
        ),
        (
            t(r#""Sales.EU".orders."Amount €""#),
            "column".into(),
            t(r#""Sales.EU".orders"#),
        ),
        (
            t("public.big_orders.id"),
            "column".into(),
            t("public.big_orders"),
        ),
    ];
    // Columns come after every relation, in the order the server reads them.
    let first_column = ours.iter().position(|o| o.1 == "column").unwrap();
    assert!(
        ours[first_column..].iter().all(|o| o.1 == "column"),
        "{ours:?}"
    );
    let sorted_columns = |objects: &[(String, String, String)]| {
        let mut columns: Vec<_> = objects
            .iter()
            .filter(|o| o.1 == "column")
            .cloned()
            .collect();
        columns.sort();
        columns
    };
    assert_eq!(ours[..first_column], expected[..first_column]);
    assert_eq!(sorted_columns(&ours), sorted_columns(&expected));

    // The job and its task events, in order.
    assert_eq!(state.jobs.len(), 1);
    let job = &state.jobs[0];
    assert_eq!(target["jobId"], job.id.as_str());
    assert_eq!(job.status(), "COMPLETED");
    let statuses: Vec<&str> = state
        .task_events_of("DS")
        .iter()
        .map(|e| e.status.as_str())
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
    let completed = state.task_events_of("DS").last().copied().unwrap();
    assert_eq!(
        completed.result.as_ref().unwrap()[0].added as usize,
        objects.len(),
        "the task reports what the import added"
    );
    assert_eq!(state.end_of_targets_syncs, vec![vec![job.id.clone()]]);

    // The staged copy in S3 is exactly what Raito received.
    let step = &target["steps"][0];
    assert_eq!(step["step"], "data-source");
    let body = deployment.staged(step["staged"][0].as_str().unwrap()).await;
    let upload = state
        .uploads
        .iter()
        .find(|u| u.received)
        .expect("an upload");
    assert_eq!(deployment.standin.upload_body(&upload.key).unwrap(), body);

    // The run's metrics: one embedded-metric-format line, its values the run's own.
    let metrics = emf_lines(&deployment);
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    let line = &metrics[0];
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "RaitoSync");
    assert_eq!(
        declared["Dimensions"],
        json!([["Step"], ["Step", "Target"]])
    );
    for metric in declared["Metrics"].as_array().unwrap() {
        let name = metric["Name"].as_str().unwrap();
        assert!(line[name].is_u64(), "{name} has a value: {line}");
    }
    assert_eq!(
        (line["Step"].as_str(), line["Target"].as_str()),
        (Some("data-source"), Some("warehouse"))
    );
    assert_eq!(
        (line["Runs"].as_u64(), line["Failures"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(line["Duration"], step["elapsedMs"]);
    // Every object the summary counts, by type.
    let counted: u64 = step["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(counted as usize >= objects.len() - 1, "{step}");
    assert_eq!(line["ObjectsWritten"], counted);
    assert_eq!(line["Written"], counted);
    assert_eq!(line["TargetStatements"], step["counted"]["statements"]);
    assert_eq!(line["TargetRequests"], step["counted"]["requests"]);
    assert!(
        line["TargetRequests"].as_u64().unwrap() >= 2,
        "the database listing and its catalog: {line}"
    );

    // The run is in the history, as the summary says.
    let keys = deployment.keys("runs/metadata/warehouse/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let record: Value = serde_json::from_slice(&deployment.object(&keys[0]).await).unwrap();
    assert_eq!(record["status"], "completed");
    assert_eq!(record["elapsedMs"], step["elapsedMs"]);
    assert_eq!(record["counts"], step["counts"]);
    assert_eq!(record["jobId"], job.id.as_str());
}

/// The embedded-metric-format lines the function logged (those with `_aws`), as JSON.
fn emf_lines(deployment: &lambda_harness::deployment::Deployment) -> Vec<Value> {
    deployment
        .log_lines()
        .iter()
        .filter_map(|(_, line)| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_retried_and_imports_only_once() {
    let deployment = Deployment::start(
        "api-secret",
        vec![Fault::status("importDataSourceRequest", 500, 1)],
    )
    .await;
    let outcome = deployment
        .run(json!({"targets": ["warehouse"]}), Duration::from_secs(60))
        .await;
    assert!(matches!(outcome, Outcome::Response(_)), "{outcome:?}");
    let state = deployment.standin.state();
    assert_eq!(state.count("importDataSourceRequest"), 2, "one retry");
    assert_eq!(state.subtasks.len(), 1, "one import only");
    assert_eq!(state.jobs[0].status(), "COMPLETED");
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_requests_waits_for_retry_after() {
    let deployment = Deployment::start(
        "api-secret",
        vec![Fault::too_many_requests("createJob", 1, 1)],
    )
    .await;
    let before = Instant::now();
    let outcome = deployment
        .run(json!({"targets": []}), Duration::from_secs(60))
        .await;
    assert!(matches!(outcome, Outcome::Response(_)), "{outcome:?}");
    let state = deployment.standin.state();
    assert_eq!(state.count("createJob"), 2);
    assert_eq!(state.jobs.len(), 1);
    assert!(
        before.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_that_never_finishes_fails_the_job_before_the_deadline() {
    let deployment = Deployment::start("api-secret", Vec::new()).await;
    deployment.standin.inject(Fault::StuckSubtasks {
        data_source: deployment.data_source.clone(),
    });
    let outcome = deployment
        .run(json!({"targets": []}), Duration::from_secs(8))
        .await;
    let Outcome::Error(error) = outcome else {
        panic!("the invocation fails: {outcome:?}");
    };
    // The kind of the failure, not only that targets failed: raising the timeout is the fix.
    assert_eq!(error["errorType"], "TimedOut");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(message.contains("deadline"), "{message}");
    let summary: Value = serde_json::from_str(message.split_once(": ").unwrap().1).unwrap();
    assert_eq!(summary["targets"][0]["errorKind"], "TimedOut", "{summary}");
    assert_eq!(
        summary["targets"][0]["steps"][0]["errorKind"], "TimedOut",
        "{summary}"
    );
    let state = deployment.standin.state();
    assert_eq!(state.jobs[0].status(), "FAILED");
    assert_eq!(
        state.task_events_of("DS").last().unwrap().status,
        "FAILED",
        "the task says why"
    );
    // The failure is counted, and counted again under its kind.
    let metrics = emf_lines(&deployment);
    assert_eq!(metrics.len(), 2, "{metrics:?}");
    assert_eq!(metrics[0]["Failures"], 1);
    assert_eq!(
        metrics[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Step", "ErrorKind"]])
    );
    assert_eq!(
        (
            metrics[1]["ErrorKind"].as_str(),
            metrics[1]["Failures"].as_u64()
        ),
        (Some("TimedOut"), Some(1))
    );
    let keys = deployment.keys("runs/metadata/warehouse/").await;
    let record: Value = serde_json::from_slice(&deployment.object(&keys[0]).await).unwrap();
    assert_eq!(
        (record["status"].as_str(), record["errorKind"].as_str()),
        (Some("failed"), Some("TimedOut"))
    );
    assert!(
        record["message"].as_str().unwrap().contains("deadline"),
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_api_secret_is_a_clear_error_and_uploads_nothing() {
    let deployment = Deployment::start("not-the-secret", Vec::new()).await;
    let outcome = deployment
        .run(json!({"targets": []}), Duration::from_secs(30))
        .await;
    let Outcome::Error(error) = outcome else {
        panic!("the invocation fails: {outcome:?}");
    };
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("api-user"),
        "names the API user: {message}"
    );
    assert!(
        !message.contains("not-the-secret"),
        "never shows the secret"
    );
    let state = deployment.standin.state();
    assert_eq!(state.count("signedUrl"), 0, "nothing uploaded");
    assert!(state.uploads.is_empty());
}

/// Waits, up to a generous bound, until `done` holds.
async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "waited 60 s for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_midway_keeps_its_lease_until_expiry_then_the_next_schedule_sweeps_its_trigger()
 {
    // Two targets on one database: `stuck` is killed in the middle of its run, `other` is
    // what the next schedule names.
    let database = test_support::unique_name("lambda db");
    test_support::create_database(&database, SCHEMA).await;
    let (stuck, other) = (
        test_support::unique_name("ds"),
        test_support::unique_name("ds"),
    );
    let standin = standin_for(&[&stuck, &other]).await;
    standin.inject(Fault::StuckSubtasks {
        data_source: stuck.clone(),
    });
    let pg = test_support::postgres();
    let target = |name: &str, data_source: &str| {
        format!(
            "  - name: {name}\n    connector-name: postgresql\n    data-source-id: {data_source}\n    \
             pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: {}\n    \
             pg-sslmode: require\n    pg-database: {database}\n",
            pg.host, pg.port, pg.user, pg.password
        )
    };
    let config = format!(
        "targets:\n{}{}",
        target("stuck", &stuck),
        target("other", &other)
    );
    let mut deployment = lambda_harness::deployment::Deployment::start_with_env(
        env!("CARGO_BIN_EXE_sync-metadata"),
        &config,
        "api-secret",
        standin,
        &[("RAITO_DEADLINE_MARGIN_MS", "1000")],
    )
    .await;

    // The run of `stuck` waits for an import that never finishes; the process is killed
    // while it waits, holding the lease, its trigger still queued.
    {
        // A short deadline (long enough for the metadata of a test cluster full of
        // databases), so the lease left behind is short too.
        let invocation = deployment.run(json!({"targets": ["stuck"]}), Duration::from_secs(30));
        let waiting = wait_until("the import of `stuck` to be polled", async || {
            let state = deployment.standin.state();
            state.subtask_polls > 0
                && state
                    .subtasks
                    .iter()
                    .any(|s| s.data_source.as_deref() == Some(stuck.as_str()))
        });
        tokio::select! {
            outcome = invocation => panic!("the run was to be killed first: {outcome:?}"),
            () = waiting => {}
        }
    }
    deployment.restart().await;
    deployment.standin.clear_faults();
    let lease_key = "locks/metadata/stuck";
    assert_eq!(deployment.keys(lease_key).await, [lease_key]);
    let left = deployment.keys("triggers/metadata/stuck/").await;
    assert_eq!(
        left.len(),
        1,
        "the killed run's trigger is still queued: {left:?}"
    );

    // While the dead holder's lease lasts, a trigger for `stuck` finds it busy.
    let outcome = deployment
        .run(json!({"targets": ["stuck"]}), Duration::from_secs(60))
        .await;
    let Outcome::Response(summary) = outcome else {
        panic!("a busy target is skipped, not failed: {outcome:?}");
    };
    assert_eq!(summary["targets"][0]["status"], "skipped", "{summary}");

    // The lease expires: one deadline margin after the dead invocation's deadline.
    let lease: serde_json::Value =
        serde_json::from_slice(&deployment.object(lease_key).await).unwrap();
    let expires_at = std::time::UNIX_EPOCH
        + Duration::from_millis(lease["expiresAt"].as_u64().expect("expiresAt"));
    if let Ok(wait) = expires_at.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(wait + Duration::from_millis(100)).await;
    }

    // The next schedule names only `other`; its sweep runs `stuck`'s triggers too (a pass
    // is started with at least a minute left).
    let outcome = deployment
        .run(json!({"targets": ["other"]}), Duration::from_secs(180))
        .await;
    let Outcome::Response(summary) = outcome else {
        panic!("both targets run: {outcome:?}");
    };
    let statuses: Vec<(String, String)> = summary["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("other".to_owned(), "completed".to_owned()),
            ("stuck".to_owned(), "completed".to_owned())
        ],
        "{summary}"
    );
    let state = deployment.standin.state();
    for data_source in [&stuck, &other] {
        assert!(
            state
                .data_objects
                .get(data_source.as_str())
                .is_some_and(|objects| !objects.is_empty()),
            "{data_source} imported"
        );
    }
    assert!(deployment.keys("triggers/").await.is_empty());
    assert!(
        deployment.keys("locks/").await.is_empty(),
        "leases released"
    );
    deployment.assert_log_is_clean(&["api-secret", &pg.password]);
}

/// Two instances of sync-metadata at once for its one target: the first invocation (with
/// `first_deadline`) holds the target while its import is held; meanwhile a second instance's
/// invocation finds the target busy, is answered `skipped` and leaves its trigger queued next
/// to the first's; then the import goes on. The first invocation's outcome.
async fn while_a_second_instance_finds_it_busy(
    deployment: &Deployment,
    first_deadline: Duration,
) -> Outcome {
    deployment.standin.inject(Fault::HeldSubtasks {
        data_source: deployment.data_source.clone(),
    });
    // A second instance of the function, as Lambda starts for a concurrent invocation.
    let second = deployment
        .companion(env!("CARGO_BIN_EXE_sync-metadata"), &[])
        .await;
    let first = deployment.run(json!({"targets": []}), first_deadline);
    let during = async {
        wait_until("the first run's import to be polled", async || {
            let state = deployment.standin.state();
            state.subtask_polls > 0 && !state.subtasks.is_empty()
        })
        .await;
        let outcome = second
            .run(json!({"targets": []}), Duration::from_secs(120))
            .await;
        let Outcome::Response(summary) = outcome else {
            panic!("a busy target is skipped, not failed: {outcome:?}");
        };
        assert_eq!(summary["targets"][0]["status"], "skipped", "{summary}");
        assert_eq!(
            deployment.keys("triggers/metadata/warehouse/").await.len(),
            2,
            "both triggers queued"
        );
        deployment.standin.clear_faults();
    };
    let (outcome, ()) = tokio::join!(first, during);
    outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_that_finds_the_target_busy_is_run_by_the_invocation_holding_it() {
    let deployment = Deployment::start("api-secret", Vec::new()).await;
    let data_source = deployment.data_source.clone();
    let outcome =
        while_a_second_instance_finds_it_busy(&deployment, Duration::from_secs(120)).await;
    let Outcome::Response(summary) = outcome else {
        panic!("the first invocation runs both: {outcome:?}");
    };
    let runs: Vec<&str> = summary["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(runs, ["completed", "completed"], "{summary}");
    let jobs = deployment.standin.state().jobs;
    assert_eq!(
        jobs.iter()
            .filter(|j| j.data_source_id.as_deref() == Some(data_source.as_str()))
            .count(),
        2
    );
    assert!(deployment.keys("triggers/").await.is_empty());
    assert!(deployment.keys("locks/").await.is_empty(), "lease released");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_left_when_the_holder_has_no_time_for_another_pass_is_woken_after_the_release() {
    let deployment = Deployment::start("api-secret", Vec::new()).await;
    // Under a minute to its deadline: the holder runs one pass, no second one.
    let outcome = while_a_second_instance_finds_it_busy(&deployment, Duration::from_secs(50)).await;
    let Outcome::Response(summary) = outcome else {
        panic!("the first invocation runs its own trigger: {outcome:?}");
    };
    assert_eq!(summary["targets"].as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    // After releasing the lease the holder looked again, found the second trigger and, with no
    // time for it, woke the function for it (the trigger copied onto itself: a new S3 event).
    let left = deployment.keys("triggers/metadata/warehouse/").await;
    assert_eq!(left.len(), 1, "{left:?}");
    let head = deployment
        .s3
        .head_object()
        .bucket(&deployment.bucket)
        .key(&left[0])
        .send()
        .await
        .unwrap();
    assert!(
        head.metadata()
            .is_some_and(|m| m.contains_key("raito-woken-at")),
        "the left trigger was woken: {:?}",
        head.metadata()
    );
    assert!(deployment.keys("locks/").await.is_empty(), "lease released");
}

/// A Snowflake account (generated by the stand-in: 2,000 columns in several databases, with
/// functions and tags) reaches Raito as a data source: the real binary, the key in moto's
/// Secrets Manager, a statement answered 202 then polled, a partition lost once.
const SNOWFLAKE_KEY: &str = include_str!("../../../dev/test-keys/client.key");

/// A deployment of sync-metadata with one Snowflake target on `snowflake` (the key in moto's
/// Secrets Manager), `extra` added to the target; answers the deployment and its data source.
async fn snowflake_deployment(
    snowflake: &snowflake_standin::StandIn,
    extra: &str,
) -> (lambda_harness::deployment::Deployment, String) {
    let data_source = test_support::unique_name("ds-sf");
    let secret = put_secret(
        "raito/snowflake",
        json!({ "sf-private-key": SNOWFLAKE_KEY }),
    )
    .await;
    let config = format!(
        "targets:\n  - name: snowflake\n    connector-name: snowflake\n    \
         data-source-id: {data_source}\n    sf-account: raito-standin\n    sf-user: RAITO_SYNC\n    \
         sf-role: RAITO_SYNC\n    sf-host: {}\n    secret: {secret}\n{extra}",
        snowflake.url
    );
    let deployment = lambda_harness::deployment::Deployment::start(
        env!("CARGO_BIN_EXE_sync-metadata"),
        &config,
        "api-secret",
        standin_for(&[&data_source]).await,
    )
    .await;
    (deployment, data_source)
}

fn snowflake_account(columns: usize) -> snowflake_standin::Account {
    let public = include_str!("../../../dev/test-keys/client.pub");
    snowflake_standin::generate(columns, 10).with_sync_user("RAITO_SYNC", public)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snowflake_account_reaches_raito_as_a_data_source() {
    let snowflake = snowflake_standin::start(
        snowflake_account(2_000),
        snowflake_standin::Options {
            rows_per_partition: 500,
            async_after: Some(Duration::from_millis(100)),
            ..snowflake_standin::Options::default()
        },
    )
    .await;
    snowflake.faults().slow_next(1, Duration::from_millis(300));
    snowflake.faults().fail_partition_once(1);
    let (deployment, data_source) = snowflake_deployment(&snowflake, "").await;
    let outcome = deployment
        .run(json!({"targets": []}), Duration::from_secs(60))
        .await;
    let Outcome::Response(summary) = outcome else {
        panic!("the sync succeeds: {outcome:?}");
    };
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    let state = deployment.standin.state();
    assert_eq!(
        state.metadata[&data_source]["dataObjectTypes"][0]["name"], "datasource",
        "the Go plugin's permission model, its types in its order"
    );
    let objects = state.data_objects(&data_source);
    assert_eq!(objects[0].r#type, "datasource");
    assert_eq!(objects[0].name, "RAITO-STANDIN", "named by the account");
    let columns = objects.iter().filter(|o| o.r#type == "column").count();
    assert!(columns >= 2_000, "every column: {columns}");
    assert!(
        objects
            .iter()
            .any(|o| o.r#type == "function" && o.external_id.contains("\"("))
    );
    let counters = snowflake.requests();
    assert!(
        counters.polls >= 1 && counters.partitions >= 2,
        "{counters:?}"
    );
    let key_body = SNOWFLAKE_KEY.lines().nth(1).expect("a PEM body line");
    deployment.assert_log_is_clean(&["api-secret", key_body]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snowflake_statement_past_its_timeout_fails_the_job_and_says_which_parameter() {
    // Every statement takes 2.5 s; Snowflake cancels it after sf-statement-timeout, 1 s.
    let snowflake = snowflake_standin::start(
        snowflake_account(100),
        snowflake_standin::Options {
            statement_delay: Duration::from_millis(2_500),
            ..snowflake_standin::Options::default()
        },
    )
    .await;
    let (deployment, _) = snowflake_deployment(&snowflake, "    sf-statement-timeout: 1\n").await;
    let outcome = deployment
        .run(json!({"targets": []}), Duration::from_secs(60))
        .await;
    let Outcome::Error(error) = outcome else {
        panic!("the invocation fails: {outcome:?}");
    };
    let message = error["errorMessage"].as_str().expect("a message");
    assert!(
        message.contains("Snowflake cancelled it after 1 s (sf-statement-timeout)"),
        "{message}"
    );
    let state = deployment.standin.state();
    assert_eq!(state.jobs[0].status(), "FAILED");
    let last = state
        .task_events_of("DS")
        .last()
        .cloned()
        .expect("an event");
    assert_eq!(last.status, "FAILED");
    let errors = last.errors.clone().unwrap_or_default().join("\n");
    assert!(
        errors.contains("sf-statement-timeout"),
        "the task says why: {errors}"
    );
}
