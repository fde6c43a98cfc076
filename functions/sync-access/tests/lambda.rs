//! sync-access end to end: the real function binary driven through the Lambda Runtime API,
//! raito.yml and the webhook secret in moto, the Raito stand-in as Raito Cloud (seeded with
//! access providers; it records the feedback and the imported access), and the test cluster's
//! real PostgreSQL, whose catalog each test checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use lambda_harness::Outcome;
use lambda_harness::access::{can_select, grant, raito_yml, setup};
use lambda_harness::deployment::{
    API_SECRET, Deployment, INVOKE_TIMEOUT, object_created, put_secret, standin_for,
};
use raito_standin::StandIn;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_sync-access");
/// The webhook receiver, a binary of the same package (its own function in template.yaml).
const RECEIVER: &str = env!("CARGO_BIN_EXE_webhook-receiver");
const WEBHOOK_SECRET: &str = "whsec-test";

async fn standin(ds: &str) -> StandIn {
    standin_for(&[&ds]).await
}

async fn deploy(ds: &str, database: &str, env: &[(&str, &str)]) -> Deployment {
    let yml = raito_yml(ds, database).await;
    Deployment::start_with_env(BINARY, &yml, API_SECRET, standin(ds).await, env).await
}

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(value) => value,
        other => panic!("the function answers: {other:?}"),
    }
}

#[tokio::test]
async fn a_schedule_applies_raitos_access_with_feedback_and_imports_the_rest_once() {
    let (database, user, legacy) = setup().await;
    let ds = test_support::unique_name("ds");
    let hint = test_support::unique_name("analysts");
    let deployment = deploy(&ds, &database, &[]).await;
    // Raito's ids are unique; the test cluster outlives one test run.
    let id = test_support::unique_name("ap");
    deployment
        .standin
        .put_access_provider(&ds, grant(&id, &hint, &database, &user))
        .unwrap();
    assert!(!can_select(&database, &user).await);

    let summary = response(deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await);
    let step = &summary["targets"][0]["steps"][0];
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    assert_eq!(step["step"], "data-access");
    assert_eq!(step["counts"]["changed"], 1, "{summary}");

    // The role exists, is marked as Raito's, has the grant, and the user is in it.
    assert!(
        can_select(&database, &user).await,
        "the user can read the table"
    );
    let comment: String = test_support::pg_admin(&database)
        .await
        .query_one(
            "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1",
            &[&hint],
        )
        .await
        .expect("the role exists")
        .get(0);
    assert_eq!(
        comment,
        format!("Managed by Raito Cloud (access provider {id})")
    );

    // Raito has the feedback (the actual name) and the imported access: the unmanaged role,
    // not Raito's own.
    let snapshot = deployment.standin.state();
    let managed = snapshot.access_provider(&ds, &id).unwrap();
    assert!(managed.in_sync(), "{managed:?}");
    assert_eq!(managed.actual_name.as_deref(), Some(hint.as_str()));
    let imported: Vec<&str> = snapshot
        .imported_access_providers(&ds)
        .iter()
        .map(|ap| ap.external_id.as_str())
        .collect();
    assert!(imported.contains(&legacy.as_str()), "{imported:?}");
    assert!(!imported.contains(&hint.as_str()), "{imported:?}");

    // Nothing changed: the next run executes no statement.
    let again = response(deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await);
    let step = &again["targets"][0]["steps"][0];
    assert_eq!(step["counts"]["unchanged"], 1, "{again}");
    assert_eq!(step["counts"]["statement"], 0, "{again}");
}

/// A Function URL event signed as Raito signs its webhooks.
fn webhook(body: &str, delivery: &str, secret: &str) -> Value {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{delivery}.{body}").as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-raito-timestamp": timestamp,
                    "x-raito-delivery": delivery, "x-raito-signature": format!("v1={signature}")},
        "requestContext": {"http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.7", "userAgent": "Raito"},
                           "requestId": "r-1", "timeEpoch": 1_795_334_400_000u64},
        "body": body, "isBase64Encoded": false
    })
}

#[tokio::test]
async fn signed_webhooks_are_queued_at_once_and_one_run_applies_only_what_is_out_of_sync() {
    let (database, user, _) = setup().await;
    let ds = test_support::unique_name("ds");
    let hint = test_support::unique_name("webhooked");
    let secret = put_secret("raito/webhook", json!({ "secret": WEBHOOK_SECRET })).await;
    let deployment = deploy(&ds, &database, &[]).await;
    let receiver = deployment
        .companion(RECEIVER, &[("RAITO_WEBHOOK_SECRET_NAME", &secret)])
        .await;
    let id = test_support::unique_name("ap");
    deployment
        .standin
        .put_access_provider(&ds, grant(&id, &hint, &database, &user))
        .unwrap();
    let body = json!({"apUpdate": {"domain": "demo", "dataSourceNames": [ds]}}).to_string();

    // A forged one is refused and queues nothing.
    let forged = response(
        receiver
            .invoke(webhook(&body, "d-forged", "not-the-secret"), INVOKE_TIMEOUT)
            .await,
    );
    assert_eq!(forged["statusCode"], 401, "{forged}");
    assert!(deployment.keys("triggers/").await.is_empty());

    let accepted = response(
        receiver
            .invoke(webhook(&body, "d-1", WEBHOOK_SECRET), INVOKE_TIMEOUT)
            .await,
    );
    assert_eq!(accepted["statusCode"], 202, "{accepted}");
    let queued = deployment.keys("triggers/access/").await;
    assert_eq!(queued, ["triggers/access/warehouse/d-1.json"]);
    assert!(
        !can_select(&database, &user).await,
        "nothing runs before the answer"
    );
    let replay = response(
        receiver
            .invoke(webhook(&body, "d-1", WEBHOOK_SECRET), INVOKE_TIMEOUT)
            .await,
    );
    assert_eq!(replay["statusCode"], 409, "{replay}");
    // A second change before the run: both are queued, one run covers them.
    let second = response(
        receiver
            .invoke(webhook(&body, "d-2", WEBHOOK_SECRET), INVOKE_TIMEOUT)
            .await,
    );
    assert_eq!(second["statusCode"], 202, "{second}");
    assert_eq!(deployment.keys("triggers/access/").await.len(), 2);

    // The queued trigger's event runs the export of what is out of sync, without the import.
    let summary = response(
        deployment
            .invoke(
                object_created(&deployment.bucket, &queued[0]),
                INVOKE_TIMEOUT,
            )
            .await,
    );
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    assert!(can_select(&database, &user).await);
    let snapshot = deployment.standin.state();
    assert_eq!(
        snapshot.access_exports.len(),
        1,
        "the two deliveries coalesced"
    );
    assert!(snapshot.access_exports.iter().all(|e| e.out_of_sync_only));
    assert!(snapshot.access_provider(&ds, &id).unwrap().in_sync());
    assert!(snapshot.imported_access_providers(&ds).is_empty());
    assert!(deployment.keys("triggers/").await.is_empty(), "consumed");
    // Both functions' logs: JSON lines, no secret in them.
    let pg = test_support::postgres();
    let secrets = [WEBHOOK_SECRET, API_SECRET, pg.password.as_str()];
    deployment.assert_log_is_clean(&secrets);
    receiver.assert_log_is_clean(&secrets);
}

#[tokio::test]
async fn an_access_file_under_access_as_code_is_applied_with_its_feedback_next_to_it() {
    let (database, user, _) = setup().await;
    let ds = test_support::unique_name("ds");
    let hint = test_support::unique_name("coded");
    let deployment = deploy(&ds, &database, &[]).await;
    let (read, mask) = (
        test_support::unique_name("team-read"),
        test_support::unique_name("team-mask"),
    );
    let file = format!(
        "accessProviders:\n\
         - id: {read}\n  name: Team read\n  namingHint: {hint}\n  action: grant\n  \
           who: {{users: [{user}]}}\n  \
           what:\n  - dataObject: {{fullName: {database}.sales.orders, type: table}}\n    permissions: [SELECT]\n\
         - id: {mask}\n  name: Team mask\n  action: mask\n  \
           what:\n  - dataObject: {{fullName: {database}.sales.orders.region, type: column}}\n    permissions: []\n"
    );
    let key = "access-as-code/warehouse/team/grants.yaml";
    deployment
        .s3
        .put_object()
        .bucket(&deployment.bucket)
        .key(key)
        .body(file.into_bytes().into())
        .send()
        .await
        .unwrap();

    let outcome = deployment
        .invoke(object_created(&deployment.bucket, key), INVOKE_TIMEOUT)
        .await;
    // The mask cannot be applied: the invocation fails (the alarm fires), the grant is applied.
    let Outcome::Error(error) = outcome else {
        panic!("a failed access provider fails the invocation: {outcome:?}");
    };
    assert_eq!(error["errorType"], "AccessAsCodeFailed", "{error}");
    assert!(can_select(&database, &user).await);

    // The feedback is next to the file.
    let feedback = deployment
        .object("access-as-code/warehouse/team/grants.feedback.json")
        .await;
    let feedback: Vec<Value> = serde_json::from_slice(&feedback).unwrap();
    assert_eq!(feedback.len(), 2, "{feedback:?}");
    // Go's nested shape (raito-io/cli base/access_provider/sync_to_target/model.go).
    let by_id = |id: &str| &feedback.iter().find(|f| f["externalId"] == id).unwrap()["access"][0];
    assert_eq!(by_id(&read)["actualName"], hint.as_str());
    assert_eq!(by_id(&read)["errors"], Value::Null);
    let mask_errors = by_id(&mask)["errors"].to_string();
    assert!(mask_errors.contains("mask"), "{mask_errors}");
    // Raito Cloud is not involved in access-as-code.
    assert!(deployment.standin.state().jobs.is_empty());
    // The apply held the target's access lease, and released it, also on failure.
    assert!(
        deployment.keys("locks/").await.is_empty(),
        "the lease is released"
    );
}

#[tokio::test]
async fn a_sync_trigger_is_queued_for_the_function_of_each_step_it_names() {
    let (database, _, _) = setup().await;
    let ds = test_support::unique_name("ds");
    let secret = put_secret("raito/webhook", json!({ "secret": WEBHOOK_SECRET })).await;
    let deployment = deploy(&ds, &database, &[]).await;
    let receiver = deployment
        .companion(RECEIVER, &[("RAITO_WEBHOOK_SECRET_NAME", &secret)])
        .await;
    let body =
        json!({"syncTrigger": {"dataSource": ds, "dataSourceSync": true, "usageSync": true}})
            .to_string();
    let accepted = response(
        receiver
            .invoke(webhook(&body, "d-st", WEBHOOK_SECRET), INVOKE_TIMEOUT)
            .await,
    );
    assert_eq!(accepted["statusCode"], 202, "{accepted}");
    let mut queued = deployment.keys("triggers/").await;
    queued.sort();
    assert_eq!(
        queued,
        [
            "triggers/metadata/warehouse/d-st.json",
            "triggers/usage/warehouse/d-st.json"
        ]
    );
    // An event for another step's queue is not this function's: it runs nothing.
    let ignored = response(
        deployment
            .invoke(
                object_created(&deployment.bucket, &queued[0]),
                INVOKE_TIMEOUT,
            )
            .await,
    );
    assert_eq!(ignored["targets"], json!([]), "{ignored}");
    assert_eq!(
        deployment.keys("triggers/").await.len(),
        2,
        "left for their functions"
    );

    // A data source no target has: signed, but nothing to queue.
    let unknown = json!({"apUpdate": {"domain": "demo", "dataSourceNames": ["nope"]}}).to_string();
    let refused = response(
        receiver
            .invoke(
                webhook(&unknown, "d-unknown", WEBHOOK_SECRET),
                INVOKE_TIMEOUT,
            )
            .await,
    );
    assert_eq!(refused["statusCode"], 422, "{refused}");

    // Each function takes only its own events: webhooks go to the receiver, runs to sync-access.
    let Outcome::Error(error) = deployment
        .invoke(
            webhook(&body, "d-elsewhere", WEBHOOK_SECRET),
            INVOKE_TIMEOUT,
        )
        .await
    else {
        panic!("sync-access took a webhook");
    };
    assert!(
        error["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("webhook-receiver")),
        "{error}"
    );
    let Outcome::Error(error) = receiver
        .invoke(json!({"targets": []}), INVOKE_TIMEOUT)
        .await
    else {
        panic!("the receiver ran a sync");
    };
    assert!(
        error["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("only Function URL requests")),
        "{error}"
    );
}

/// A Snowflake account through the function: Raito's access provider applied as a marked role
/// over multi-statement requests, its feedback back in Raito, the account's other roles
/// imported (not Raito's own), and a second run sending no write.
#[tokio::test(flavor = "multi_thread")]
async fn a_snowflake_account_gets_raitos_roles_and_its_own_are_imported() {
    let key = include_str!("../../../dev/test-keys/client.key");
    let public = include_str!("../../../dev/test-keys/client.pub");
    let account = snowflake_standin::generate(50, 5).with_sync_user("RAITO_SYNC", public);
    let (database, schema, table) = account
        .databases
        .iter()
        .flat_map(|db| db.schemas.iter().map(move |s| (db, s)))
        .find_map(|(db, s)| {
            let table = s.tables.first()?;
            Some((db.name.clone(), s.name.clone(), table.name.clone()))
        })
        .expect("a generated table");
    let user = account.users[0].name.clone();
    let snowflake = snowflake_standin::start(account, snowflake_standin::Options::default()).await;
    let ds = test_support::unique_name("ds-sf");
    let secret = put_secret("raito/snowflake-access", json!({ "sf-private-key": key })).await;
    let yml = format!(
        "targets:\n  - name: snowflake\n    connector-name: snowflake\n    data-source-id: {ds}\n    \
         sf-account: raito-standin\n    sf-user: RAITO_SYNC\n    sf-role: RAITO_SYNC\n    \
         sf-host: {}\n    secret: {secret}\n",
        snowflake.url
    );
    let deployment = Deployment::start(BINARY, &yml, API_SECRET, standin(&ds).await).await;
    let id = test_support::unique_name("ap");
    deployment
        .standin
        .put_access_provider(
            &ds,
            json!({
                "id": id, "name": "Sales readers", "namingHint": "salesReaders",
                "action": "grant", "who": {"users": [user]},
                "what": [{"dataObject": {"fullName": format!("{database}.{schema}.{table}"),
                                         "type": "table"},
                          "permissions": ["SELECT"]}]
            }),
        )
        .unwrap();

    let summary = response(deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await);
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    let step = &summary["targets"][0]["steps"][0];
    assert_eq!(step["step"], "data-access", "{summary}");
    assert_eq!(step["counts"]["changed"], 1, "{summary}");

    let snapshot = deployment.standin.state();
    let managed = snapshot.access_provider(&ds, &id).unwrap();
    assert!(managed.in_sync(), "{managed:?}");
    assert_eq!(managed.actual_name.as_deref(), Some("SALES_READERS"));
    assert_eq!(managed.external_id.as_deref(), Some("SALES_READERS"));
    let imported: Vec<&str> = snapshot
        .imported_access_providers(&ds)
        .iter()
        .map(|ap| ap.external_id.as_str())
        .collect();
    assert!(imported.contains(&"SYSADMIN"), "{imported:?}");
    assert!(!imported.contains(&"SALES_READERS"), "{imported:?}");
    // The role exists in Snowflake, marked, granted to the user, with the grant.
    let statements = snowflake.statements();
    assert!(
        statements.iter().any(
            |s| s.contains("CREATE ROLE IF NOT EXISTS \"SALES_READERS\"")
                && s.contains(&format!("GRANT ROLE \"SALES_READERS\" TO USER \"{user}\""))
                && s.contains("GRANT SELECT ON TABLE")
        ),
        "{statements:?}"
    );

    let sent = snowflake.statements().len();
    let again = response(deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await);
    let step = &again["targets"][0]["steps"][0];
    assert_eq!(step["counts"]["unchanged"], 1, "{again}");
    assert_eq!(step["counts"]["statement"], 0, "{again}");
    let writes: Vec<String> = snowflake.statements()[sent..]
        .iter()
        .filter(|s| {
            let s = s.to_ascii_uppercase();
            !s.starts_with("SHOW") && !s.starts_with("SELECT")
        })
        .cloned()
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    let key_body = key.lines().nth(1).expect("a PEM body line");
    deployment.assert_log_is_clean(&[API_SECRET, key_body]);
}
