//! The trigger listener end to end: the real function binary driven through the Lambda Runtime
//! API, raito.yml and the credentials in moto, the Raito stand-in as Raito Cloud with its
//! trigger channel (a websocket the tests push messages on, drop and cut). Every message must
//! become what a webhook delivery becomes: a trigger queued under `triggers/<step>/<target>/`;
//! an `apUpdate` goes on to PostgreSQL through the sync-access function it wakes, and a
//! `syncTrigger` with a parent becomes a partial data source sync through sync-metadata.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lambda_harness::deployment::{
    API_SECRET, Deployment, INVOKE_TIMEOUT, object_created, standin_for,
};
use lambda_harness::{Outcome, access};
use raito_standin::{Fault, StandIn};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_trigger-listener");
/// A listener's invocation: it listens until its deadline (less the harness's 2 s margin and
/// the 3 s it keeps to close and hand over).
const LISTEN: Duration = Duration::from_secs(20);

/// raito.yml with one PostgreSQL target of data source `ds` (the listener never connects to
/// it), plus `extra` top-level lines.
fn raito_yml(ds: &str, extra: &str) -> String {
    format!(
        "{extra}targets:\n  - name: warehouse\n    connector-name: postgresql\n    \
         data-source-id: {ds}\n    pg-host: localhost\n    pg-user: raito\n"
    )
}

async fn standin(ds: &str) -> StandIn {
    standin_for(&[&ds]).await
}

async fn deploy(ds: &str, extra: &str) -> Deployment {
    Deployment::start(BINARY, &raito_yml(ds, extra), API_SECRET, standin(ds).await).await
}

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(value) => value,
        other => panic!("the function answers: {other:?}"),
    }
}

/// Waits (at most 15 s, polling) until `check` holds; panics naming `what` otherwise.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// Waits until the trigger channel's connection number `n` (from 1) has sent a heartbeat.
async fn connected(standin: &StandIn, n: usize) {
    until(&format!("connection {n} heartbeats"), async || {
        standin
            .state()
            .trigger_connections
            .get(n - 1)
            .is_some_and(|c| !c.heartbeats.is_empty())
    })
    .await;
}

/// The bodies queued under `prefix`, in key order.
async fn queued(deployment: &Deployment, prefix: &str) -> Vec<Value> {
    let mut keys = deployment.keys(prefix).await;
    keys.sort();
    let mut bodies = Vec::new();
    for key in keys {
        bodies.push(serde_json::from_slice(&deployment.object(&key).await).unwrap());
    }
    bodies
}

/// The secrets the listener's log must never show: the API secret and every id token.
fn secrets(standin: &StandIn) -> Vec<String> {
    let mut secrets = standin.id_tokens();
    secrets.push(API_SECRET.to_owned());
    secrets
}

/// Once the listener is connected, pushes `update` (an `apUpdate` for the target
/// `warehouse`) and waits until its access trigger is queued.
async fn push_when_connected_until_queued(deployment: &Deployment, update: &Value) {
    connected(&deployment.standin, 1).await;
    assert_eq!(deployment.standin.push_trigger(update.clone()), 1);
    until("the trigger is queued", async || {
        !deployment
            .keys("triggers/access/warehouse/")
            .await
            .is_empty()
    })
    .await;
}

#[tokio::test]
async fn an_ap_update_pushed_on_the_channel_is_queued_as_the_access_trigger_of_its_target() {
    let ds = test_support::unique_name("ds");
    let deployment = deploy(&ds, "").await;
    let update = json!({"apUpdate": {"domain": "demo", "dataSourceNames": [ds]}});
    let (outcome, ()) = tokio::join!(deployment.invoke(json!({}), LISTEN), async {
        push_when_connected_until_queued(&deployment, &update).await;
    });
    let summary = response(outcome);
    assert_eq!(summary["status"], "stopped", "{summary}");
    assert_eq!(summary["sessions"], 1, "{summary}");
    assert_eq!(summary["queued"], 1, "{summary}");
    // Exactly the body a webhook would have queued, for the access step only.
    assert_eq!(
        queued(&deployment, "triggers/access/warehouse/").await,
        [update]
    );
    assert_eq!(deployment.keys("triggers/").await.len(), 1);
    // The heartbeat named the target's data source, as the Go CLI's does; the connection was
    // closed with a normal closure before the deadline.
    let snapshot = deployment.standin.state();
    let connection = &snapshot.trigger_connections[0];
    assert_eq!(connection.heartbeats[0], vec![ds.clone()]);
    assert!(connection.violations.is_empty(), "{connection:?}");
    assert_eq!(
        connection.ended.as_deref(),
        Some("closed by the client (1000)")
    );
    let secrets = secrets(&deployment.standin);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    deployment.assert_log_is_clean(&secrets);
}

#[tokio::test]
async fn an_ap_update_pushed_on_the_channel_reaches_postgresql_as_grants_through_sync_access() {
    // The sync-access function of the same deployment: another package's binary.
    let sync_access = lambda_harness::sibling_binary("sync-access", "sync-access");
    let (database, user, legacy) = access::setup().await;
    let ds = test_support::unique_name("ds");
    let hint = test_support::unique_name("pushed");
    let yml = access::raito_yml(&ds, &database).await;
    let deployment = Deployment::start(BINARY, &yml, API_SECRET, standin(&ds).await).await;
    let sync = deployment.companion(&sync_access, &[]).await;
    // Raito's ids are unique; the test cluster outlives one test run.
    let id = test_support::unique_name("ap");
    deployment
        .standin
        .put_access_provider(&ds, access::grant(&id, &hint, &database, &user))
        .unwrap();
    let update = json!({"apUpdate": {"domain": "demo", "dataSourceNames": [ds]}});

    let (listened, (key, synced)) = tokio::join!(deployment.invoke(json!({}), LISTEN), async {
        push_when_connected_until_queued(&deployment, &update).await;
        let keys = deployment.keys("triggers/").await;
        assert_eq!(keys.len(), 1, "one trigger, for the access step: {keys:?}");
        // The listener has no database access: nothing is applied until sync-access runs.
        assert!(!access::can_select(&database, &user).await);
        // The bucket's event for the queued key wakes sync-access, while the listener listens.
        let key = keys[0].clone();
        let synced = sync
            .invoke(object_created(&deployment.bucket, &key), INVOKE_TIMEOUT)
            .await;
        (key, synced)
    });

    let listened = response(listened);
    assert_eq!(listened["status"], "stopped", "{listened}");
    assert_eq!(listened["queued"], 1, "{listened}");
    assert!(
        key.starts_with("triggers/access/warehouse/ws-") && key.ends_with(".json"),
        "{key}"
    );
    let summary = response(synced);
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    let step = &summary["targets"][0]["steps"][0];
    assert_eq!(step["step"], "data-access", "{summary}");
    assert_eq!(step["counts"]["changed"], 1, "{summary}");

    // In PostgreSQL: the access provider's role exists, holds the grant, and the user is in it.
    assert!(
        access::can_select(&database, &user).await,
        "the user can read the table"
    );
    let admin = test_support::pg_admin(&database).await;
    let row = admin
        .query_one(
            "SELECT has_table_privilege($1::name, 'sales.orders', 'SELECT'), \
                    pg_has_role($2::name, $1::name, 'MEMBER'), \
                    coalesce(shobj_description(r.oid, 'pg_authid'), '') \
             FROM pg_roles r WHERE r.rolname = $1::name",
            &[&hint, &user],
        )
        .await
        .expect("the access provider's role exists");
    assert!(row.get::<_, bool>(0), "the role {hint} has SELECT");
    assert!(row.get::<_, bool>(1), "{user} is a member of {hint}");
    assert_eq!(
        row.get::<_, String>(2),
        format!("Managed by Raito Cloud (access provider {id})")
    );

    // Raito: one export, of the out-of-sync access providers only (an apUpdate), whose feedback
    // put the access provider in sync; nothing imported (an apUpdate imports nothing, so the
    // unmanaged role stays unknown to Raito).
    let snapshot = deployment.standin.state();
    assert_eq!(
        snapshot.access_exports.len(),
        1,
        "{:?}",
        snapshot.access_exports
    );
    assert!(snapshot.access_exports[0].out_of_sync_only);
    let managed = snapshot.access_provider(&ds, &id).unwrap();
    assert!(managed.in_sync(), "{managed:?}");
    assert_eq!(managed.actual_name.as_deref(), Some(hint.as_str()));
    assert!(
        snapshot.imported_access_providers(&ds).is_empty(),
        "{legacy} not imported"
    );
    // The trigger was consumed, the lease released; both logs clean.
    assert!(deployment.keys("triggers/").await.is_empty(), "consumed");
    assert!(deployment.keys("locks/").await.is_empty(), "released");
    let pg = test_support::postgres();
    let mut secrets = secrets(&deployment.standin);
    secrets.push(pg.password);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    deployment.assert_log_is_clean(&secrets);
    assert_eq!(sync.assert_log_is_clean(&secrets), ["warehouse"]);
}

#[tokio::test]
async fn a_sync_trigger_with_a_parent_runs_through_sync_metadata_as_a_partial_sync() {
    // The sync-metadata function of the same deployment: another package's binary.
    let sync_metadata = lambda_harness::sibling_binary("sync-metadata", "sync-metadata");
    // sales.orders (under the parent) and hr.staff (outside it).
    let (database, _, _) = access::setup().await;
    test_support::pg_admin(&database)
        .await
        .batch_execute("CREATE SCHEMA hr; CREATE TABLE hr.staff (id int);")
        .await
        .unwrap();
    let ds = test_support::unique_name("ds");
    let yml = access::raito_yml(&ds, &database).await;
    let deployment = Deployment::start(BINARY, &yml, API_SECRET, standin(&ds).await).await;
    let sync = deployment.companion(&sync_metadata, &[]).await;
    // Raito sends a parent it knows: a scheduled (full) run first.
    let full = response(
        sync.run(json!({"targets": ["warehouse"]}), INVOKE_TIMEOUT)
            .await,
    );
    assert_eq!(full["targets"][0]["status"], "completed", "{full}");
    let outside = format!("{database}.hr.staff");
    assert!(
        deployment
            .standin
            .state()
            .data_objects(&ds)
            .iter()
            .any(|o| o.external_id == outside)
    );
    let parent = format!("{database}.sales");
    let trigger = json!({"syncTrigger": {
        "domain": "demo", "dataSource": ds, "dataSourceSync": true, "identityStoreSync": false,
        "accessSync": false, "usageSync": false, "resourceProviderSync": false,
        "dataObjectParent": parent, "dataObjectExcludes": ["tmp"]}});

    let (listened, (bodies, synced)) = tokio::join!(deployment.invoke(json!({}), LISTEN), async {
        connected(&deployment.standin, 1).await;
        deployment.standin.push_trigger(trigger.clone());
        until("the trigger is queued", async || {
            !deployment.keys("triggers/metadata/").await.is_empty()
        })
        .await;
        let keys = deployment.keys("triggers/").await;
        assert_eq!(
            keys.len(),
            1,
            "one trigger, for the metadata step: {keys:?}"
        );
        let bodies = queued(&deployment, "triggers/metadata/warehouse/").await;
        // The bucket's event for the queued key wakes sync-metadata, while the listener listens.
        let synced = sync
            .invoke(object_created(&deployment.bucket, &keys[0]), INVOKE_TIMEOUT)
            .await;
        (bodies, synced)
    });

    assert_eq!(response(listened)["queued"], 1);
    // Exactly the body a webhook would have queued.
    assert_eq!(bodies, [trigger]);
    let summary = response(synced);
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    let steps: Vec<&Value> = summary["targets"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| &step["step"])
        .collect();
    assert_eq!(
        steps,
        [&json!("data-source")],
        "the data source sync only: {summary}"
    );

    // Raito received, after the full run's, one data source import: the subtree below the
    // parent, without deleteUntouched.
    let snapshot = deployment.standin.state();
    let imports: Vec<_> = snapshot
        .subtasks
        .iter()
        .filter(|s| s.job_type == "DS" && s.data_source.as_deref() == Some(ds.as_str()))
        .collect();
    assert_eq!(
        imports.len(),
        2,
        "the full run's and the partial one's: {imports:?}"
    );
    let partial = imports[1];
    assert_eq!(partial.status, "COMPLETED", "{imports:?}");
    assert!(!partial.delete_untouched, "a partial sync deletes nothing");
    let body = deployment
        .standin
        .upload_body(partial.file_key.as_deref().unwrap())
        .unwrap();
    let ids: Vec<String> = serde_json::from_slice::<Vec<raito_standin::DataObject>>(&body)
        .unwrap()
        .into_iter()
        .map(|object| object.external_id)
        .collect();
    assert!(ids.contains(&format!("{parent}.orders")), "{ids:?}");
    assert!(ids.contains(&format!("{parent}.orders.region")), "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| id == &parent || id.starts_with(&format!("{parent}."))),
        "only the parent's subtree (no data source, no database, nothing of hr): {ids:?}"
    );
    // What the full run imported outside the parent is still in Raito.
    assert!(
        snapshot
            .data_objects(&ds)
            .iter()
            .any(|o| o.external_id == outside)
    );
    // The trigger was consumed, the lease released; both logs clean.
    assert!(deployment.keys("triggers/").await.is_empty(), "consumed");
    assert!(deployment.keys("locks/").await.is_empty(), "released");
    let pg = test_support::postgres();
    let mut secrets = secrets(&deployment.standin);
    secrets.push(pg.password);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    deployment.assert_log_is_clean(&secrets);
    assert_eq!(
        sync.assert_log_is_clean(&secrets),
        ["warehouse", "warehouse"],
        "the full run and the partial one"
    );
}

#[tokio::test]
async fn a_dropped_or_cut_connection_is_dialled_again_and_no_message_after_it_is_lost() {
    let ds = test_support::unique_name("ds");
    let deployment = deploy(&ds, "").await;
    let update = |n: u32| json!({"apUpdate": {"domain": "demo", "dataSourceNames": [ds], "n": n}});
    let (outcome, ()) = tokio::join!(deployment.invoke(json!({}), LISTEN), async {
        let standin = &deployment.standin;
        connected(standin, 1).await;
        assert_eq!(standin.drop_trigger_connections(), 1);
        connected(standin, 2).await;
        assert_eq!(standin.push_trigger(update(1)), 1);
        // Half a message, then the connection drops: nothing of it is queued.
        assert_eq!(standin.cut_trigger_message(update(2)), 1);
        connected(standin, 3).await;
        assert_eq!(standin.push_trigger(update(3)), 1);
        until("both whole messages are queued", async || {
            deployment.keys("triggers/access/warehouse/").await.len() == 2
        })
        .await;
    });
    let summary = response(outcome);
    assert_eq!(summary["sessions"], 3, "{summary}");
    assert_eq!(summary["queued"], 2, "{summary}");
    let bodies = queued(&deployment, "triggers/access/warehouse/").await;
    assert_eq!(bodies, [update(1), update(3)], "in arrival order");
    let snapshot = deployment.standin.state();
    assert_eq!(snapshot.trigger_peak_connections, 1);
    let ended: Vec<Option<&str>> = snapshot
        .trigger_connections
        .iter()
        .map(|c| c.ended.as_deref())
        .collect();
    assert_eq!(
        ended,
        [
            Some("dropped"),
            Some("dropped"),
            Some("closed by the client (1000)")
        ]
    );
}

#[tokio::test]
async fn two_listeners_started_together_never_both_hold_the_channel() {
    let ds = test_support::unique_name("ds");
    let deployment = deploy(&ds, "").await;
    let second = deployment.companion(BINARY, &[]).await;
    let (first, other) = tokio::join!(
        deployment.invoke(json!({}), LISTEN),
        second.invoke(json!({}), LISTEN)
    );
    let mut statuses = [
        response(first)["status"].clone(),
        response(other)["status"].clone(),
    ];
    statuses.sort_by_key(|s| s.to_string());
    assert_eq!(statuses, [json!("standby"), json!("stopped")]);
    let snapshot = deployment.standin.state();
    assert_eq!(snapshot.trigger_connections.len(), 1);
    assert_eq!(snapshot.trigger_peak_connections, 1);
    assert!(deployment.keys("locks/").await.is_empty(), "released");
}

#[tokio::test]
async fn the_next_listener_waits_for_the_holder_and_takes_over_when_it_hands_over() {
    let ds = test_support::unique_name("ds");
    let deployment = deploy(&ds, "").await;
    let next = deployment.companion(BINARY, &[]).await;
    let (first, later) = tokio::join!(
        deployment.invoke(json!({}), Duration::from_secs(16)),
        async {
            connected(&deployment.standin, 1).await;
            next.invoke(json!({}), Duration::from_secs(30)).await
        }
    );
    assert_eq!(response(first)["status"], "stopped");
    let later = response(later);
    assert_eq!(later["status"], "stopped", "{later}");
    assert_eq!(later["sessions"], 1, "{later}");
    let snapshot = deployment.standin.state();
    assert_eq!(snapshot.trigger_connections.len(), 2);
    assert_eq!(snapshot.trigger_peak_connections, 1, "one at a time");
}

#[tokio::test]
async fn a_denied_channel_or_a_refused_token_fails_the_invocation_once() {
    let ds = test_support::unique_name("ds");
    let deployment = deploy(&ds, "").await;
    deployment.standin.inject(Fault::DenyTriggerChannel);
    let Outcome::Error(error) = deployment.invoke(json!({}), LISTEN).await else {
        panic!("a denied channel is an error");
    };
    assert_eq!(error["errorType"], "TriggerChannelFailed", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("PermissionDeniedError"),
        "{error}"
    );
    deployment.standin.clear_faults();
    deployment.standin.inject(Fault::RefuseTriggerToken);
    let Outcome::Error(error) = deployment.invoke(json!({}), LISTEN).await else {
        panic!("a refused handshake is an error");
    };
    assert!(
        error["errorMessage"].as_str().unwrap().contains("HTTP 401"),
        "{error}"
    );
    let snapshot = deployment.standin.state();
    assert_eq!(snapshot.request_counts.get("cliTriggerWebsocket"), Some(&1));
    assert!(snapshot.trigger_connections.is_empty());
    deployment.standin.clear_faults();
    deployment.standin.inject(Fault::NoTriggerChannel);
    let answer = response(deployment.invoke(json!({}), LISTEN).await);
    assert_eq!(answer["status"], "unavailable");
}

#[tokio::test]
async fn disable_websocket_in_raito_yml_turns_the_listener_off() {
    let ds = test_support::unique_name("ds");
    let deployment = deploy(&ds, "disable-websocket: true\n").await;
    let answer = response(deployment.invoke(json!({}), LISTEN).await);
    assert_eq!(answer["status"], "disabled");
    let snapshot = deployment.standin.state();
    assert_eq!(snapshot.request_counts.get("cliTriggerUrl"), None);
    assert!(deployment.keys("locks/").await.is_empty());
}
