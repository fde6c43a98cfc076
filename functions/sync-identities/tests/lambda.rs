//! sync-identities end to end: the real function binary driven through the Lambda Runtime
//! API, raito.yml in moto's S3, credentials in moto's Secrets Manager, the Raito stand-in as
//! Raito Cloud, and each identity connector against its real server or stand-in. Every test
//! asserts the exact users, groups and memberships Raito imported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lambda_harness::Outcome;
use lambda_harness::deployment::{API_SECRET, Deployment, INVOKE_TIMEOUT, put_secret};
use raito_standin::{Config as StandInConfig, StandIn};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_sync-identities");

/// The Okta API token of the Okta test (in a secret).
const OKTA_TOKEN: &str = "okta-test-token";
/// The Entra ID client secret of the Entra ID test (in a secret).
const GRAPH_SECRET: &str = "graph-secret";

async fn standin(identity_stores: &[&str], data_sources: &[&str]) -> StandIn {
    raito_standin::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        StandInConfig {
            identity_stores: identity_stores.iter().map(|s| s.to_string()).collect(),
            data_sources: data_sources.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
    .await
}

/// A PostgreSQL target's lines of raito.yml (indented as a list item), with the password from
/// a secret.
async fn postgres_target(name: &str, ids: &str, password: &str) -> String {
    let pg = test_support::postgres();
    let secret = put_secret("raito/pg", json!({ "password": password })).await;
    format!(
        "  - name: {name}\n    connector-name: postgresql\n{ids}    pg-host: {}\n    pg-port: {}\n    \
         pg-user: {}\n    pg-password: \"{{{{secret:{secret}#password}}}}\"\n    pg-sslmode: require\n",
        pg.host, pg.port, pg.user
    )
}

/// Invokes the function for every target and checks the first one completed; returns the
/// run summary.
async fn sync_completes(deployment: &Deployment) -> Value {
    let outcome = deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await;
    let Outcome::Response(summary) = outcome else {
        panic!("the sync succeeds: {outcome:?}");
    };
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    summary
}

/// The task statuses of the identity store step, in order.
fn is_statuses(standin: &StandIn) -> Vec<String> {
    standin
        .state()
        .task_events_of("IS")
        .iter()
        .map(|e| e.status.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_roles_reach_raito_as_users_groups_and_memberships() {
    let p = test_support::unique_name("lis");
    let q = |name: &str| format!("\"{p}_{name}\"");
    test_support::pg_admin("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {analysts} NOLOGIN; COMMENT ON ROLE {analysts} IS 'Analysts';
             CREATE ROLE {finance} NOLOGIN IN ROLE {analysts};
             CREATE ROLE {zoe} LOGIN IN ROLE {finance};
             CREATE ROLE {etl} LOGIN IN ROLE {analysts};",
            analysts = q("analysts"),
            finance = q("Finanzen €"),
            zoe = q("zoë"),
            etl = q("svc_etl"),
        ))
        .await
        .unwrap();
    let (ds, is) = (
        test_support::unique_name("ds"),
        test_support::unique_name("is"),
    );
    let pg = test_support::postgres();
    let target = postgres_target(
        "warehouse",
        &format!("    data-source-id: {ds}\n    identity-store-id: {is}\n    pg-machine-user-pattern: _svc_\n"),
        &pg.password,
    )
    .await;
    let deployment = Deployment::start(
        BINARY,
        &format!("targets:\n{target}"),
        API_SECRET,
        standin(&[&is], &[&ds]).await,
    )
    .await;

    let summary = sync_completes(&deployment).await;
    let target = &summary["targets"][0];
    let step = &target["steps"][0];
    assert_eq!(
        step["step"], "identity-store",
        "only the identity store step: {summary}"
    );

    let state = deployment.standin.state();
    assert_eq!(state.identity_store_metadata[&is]["type"], "postgresql");
    let n = |name: &str| format!("{p}_{name}");
    let users: Vec<(String, String, Vec<String>, Option<bool>)> = state
        .users(&is)
        .iter()
        .filter(|u| u.name.starts_with(&p))
        .map(|u| {
            (
                u.external_id.clone(),
                u.user_name.clone(),
                u.group_external_ids.clone().unwrap_or_default(),
                u.is_machine,
            )
        })
        .collect();
    assert_eq!(
        users,
        vec![
            (n("svc_etl"), n("svc_etl"), vec![n("analysts")], Some(true)),
            (n("zoë"), n("zoë"), vec![n("Finanzen €")], Some(false)),
        ]
    );
    let groups: Vec<(String, Vec<String>, String)> = state
        .groups(&is)
        .iter()
        .filter(|g| g.name.starts_with(&p))
        .map(|g| {
            (
                g.external_id.clone(),
                g.parent_group_external_ids.clone().unwrap_or_default(),
                g.description.clone(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (n("Finanzen €"), vec![n("analysts")], String::new()),
            (n("analysts"), Vec::new(), "Analysts".to_owned()),
        ]
    );

    // One job for the target, carrying both ids; the step's events in order.
    assert_eq!(state.jobs.len(), 1);
    let job = &state.jobs[0];
    assert_eq!(job.status(), "COMPLETED");
    assert_eq!(job.identity_store_id.as_deref(), Some(is.as_str()));
    assert_eq!(job.data_source_id.as_deref(), Some(ds.as_str()));
    assert_eq!(
        is_statuses(&deployment.standin),
        [
            "STARTED",
            "DATA_RETRIEVE",
            "DATA_UPLOAD",
            "QUEUED",
            "COMPLETED"
        ]
    );
    assert!(state.task_events_of("DS").is_empty(), "no data source step");
    let completed = state.task_events_of("IS").last().copied().unwrap();
    let result = completed.result.as_ref().unwrap();
    // The Go CLI's objectType strings (raito-io/cli internal/identity_store/sync.go).
    assert_eq!(result[0].object_type, "users");
    assert_eq!(result[0].added as usize, state.users(&is).len());
    assert_eq!(result[1].object_type, "groups");
    assert_eq!(result[1].added as usize, state.groups(&is).len());
    assert_eq!(state.end_of_targets_syncs, vec![vec![job.id.clone()]]);

    // The staged files in S3 are exactly what Raito received, users then groups.
    let staged: Vec<&str> = step["staged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(staged[0].ends_with("/users.json") && staged[1].ends_with("/groups.json"));
    let received: Vec<&raito_standin::Upload> = state
        .uploads
        .iter()
        .filter(|u| u.received && u.log_task.is_none())
        .collect();
    assert_eq!(received.len(), 2);
    // The step's log went to its task, as JSON lines with the target and step.
    let logs = state.task_logs_of(&job.id, "IS");
    assert_eq!(logs.len(), 1, "the IS task's log");
    assert!(
        logs[0]
            .text
            .lines()
            .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()),
        "{}",
        logs[0].text
    );
    assert!(
        logs[0].text.contains("\"step\":\"identity-store\""),
        "{}",
        logs[0].text
    );
    for (location, upload) in staged.iter().zip(received) {
        assert_eq!(
            deployment.standin.upload_body(&upload.key).unwrap(),
            deployment.staged(location).await
        );
    }
    // The function's log: JSON lines with the step, the target on the lines of its run, and
    // neither the Raito nor the database secret.
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, &pg.password]),
        ["warehouse"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_target_names_what_to_fix_and_the_other_targets_still_sync() {
    let (good, bad, incomplete) = (
        test_support::unique_name("is-good"),
        test_support::unique_name("is-bad"),
        test_support::unique_name("is-incomplete"),
    );
    let pg = test_support::postgres();
    let config = format!(
        "targets:\n{}{}  - name: incomplete\n    connector-name: postgresql\n    identity-store-id: {incomplete}\n    pg-user: u\n",
        postgres_target(
            "wrong-password",
            &format!("    identity-store-id: {bad}\n"),
            "not-the-password"
        )
        .await,
        postgres_target(
            "good",
            &format!("    identity-store-id: {good}\n"),
            &pg.password
        )
        .await,
    );
    let deployment = Deployment::start(
        BINARY,
        &config,
        API_SECRET,
        standin(&[&good, &bad, &incomplete], &[]).await,
    )
    .await;

    let outcome = deployment.run(json!({"targets": []}), INVOKE_TIMEOUT).await;
    let Outcome::Error(failed) = outcome else {
        panic!("the invocations report the failed targets: {outcome:?}");
    };
    // Each target ran in an invocation of its own: two failed, each with its own kind.
    let errors: Vec<(&str, &str)> = failed["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["errorType"].as_str().unwrap(),
                e["errorMessage"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{failed}");
    assert_eq!(errors[0].0, "InvalidPermissions", "{failed}");
    assert_eq!(errors[1].0, "InvalidConfig", "{failed}");
    assert!(
        errors
            .iter()
            .all(|(_, m)| m.starts_with("1 of 1 targets failed")),
        "{failed}"
    );
    let by_name = |name: &str| {
        failed["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    let wrong = by_name("wrong-password");
    let wrong_message = wrong["message"].as_str().unwrap();
    assert_eq!(wrong["status"], "failed");
    assert!(
        wrong_message.contains("wrong-password") && wrong_message.contains("pg-password"),
        "names the target and the parameter to fix: {wrong_message}"
    );
    assert!(
        !wrong_message.contains("not-the-password"),
        "never shows the secret"
    );
    let incomplete_message = by_name("incomplete")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        incomplete_message.contains("pg-host"),
        "names the missing parameter: {incomplete_message}"
    );
    assert_eq!(by_name("good")["status"], "completed");
    // Each failure's kind: neither passes when run again.
    assert_eq!(wrong["errorKind"], "InvalidPermissions", "{wrong}");
    assert_eq!(by_name("incomplete")["errorKind"], "InvalidConfig");

    let state = deployment.standin.state();
    assert!(
        !state.users(&good).is_empty(),
        "the good target was imported"
    );
    assert!(state.users(&bad).is_empty() && state.users(&incomplete).is_empty());
    let statuses: Vec<(&str, &str)> = state
        .jobs
        .iter()
        .map(|j| (j.identity_store_id.as_deref().unwrap(), j.status()))
        .collect();
    assert_eq!(
        statuses,
        [
            (bad.as_str(), "FAILED"),
            (good.as_str(), "COMPLETED"),
            (incomplete.as_str(), "FAILED")
        ]
    );
    assert_eq!(
        state.count("importIdentityRequest"),
        1,
        "only the good target imported"
    );
    // Each run in the history, the failures with their kind and message, no password in any.
    for (target, status, kind) in [
        ("wrong-password", "failed", Some("InvalidPermissions")),
        ("good", "completed", None),
        ("incomplete", "failed", Some("InvalidConfig")),
    ] {
        let keys = deployment.keys(&format!("runs/identities/{target}/")).await;
        assert_eq!(keys.len(), 1, "{target}: {keys:?}");
        let text = String::from_utf8(deployment.object(&keys[0]).await).unwrap();
        for secret in [API_SECRET, "not-the-password", pg.password.as_str()] {
            assert!(
                !text.contains(secret),
                "a secret in the run history: {text}"
            );
        }
        let record: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(record["status"], status, "{record}");
        assert_eq!(record["errorKind"].as_str(), kind, "{record}");
    }
    // Each target's run in the log under its own name; neither password anywhere.
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, "not-the-password", &pg.password]),
        ["wrong-password", "good", "incomplete"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ldap_directory_reaches_raito_with_its_nested_groups() {
    let ldap = test_support::ldap();
    let is = test_support::unique_name("is-ldap");
    let secret = put_secret("raito/ldap", json!({ "ldap-password": &ldap.password })).await;
    let ca = std::fs::read_to_string(&ldap.ca_cert).unwrap();
    let ca_secret = put_secret("raito/ldap-ca", json!({ "pem": ca })).await;
    let config = format!(
        "targets:\n  - name: directory\n    connector-name: ldap\n    identity-store-id: {is}\n    \
         secret: {secret}\n    ldap-url: {}\n    ldap-ca-cert: \"{{{{secret:{ca_secret}#pem}}}}\"\n    \
         ldap-bind-dn: \"{}\"\n    ldap-base-dn: \"{}\"\n    ldap-page-size: 40\n    \
         ldap-user-filter: \"(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))\"\n",
        ldap.ldaps_url, ldap.bind_dn, ldap.base_dn
    );
    let deployment =
        Deployment::start(BINARY, &config, API_SECRET, standin(&[&is], &[]).await).await;

    sync_completes(&deployment).await;

    let state = deployment.standin.state();
    assert_eq!(state.identity_store_metadata[&is]["type"], "ldap");
    let groups = state.groups(&is);
    let name_of = |id: &String| {
        groups
            .iter()
            .find(|g| &g.external_id == id)
            .map(|g| g.name.clone())
            .unwrap()
    };
    let mut nesting: Vec<(String, Vec<String>)> = groups
        .iter()
        .map(|g| {
            let parents = g.parent_group_external_ids.clone().unwrap_or_default();
            (g.name.clone(), parents.iter().map(name_of).collect())
        })
        .collect();
    nesting.sort();
    assert_eq!(
        nesting,
        [
            ("Datenschutz & Recht".to_owned(), vec![]),
            ("analysts".to_owned(), vec![]),
            ("engineering".to_owned(), vec!["analysts".to_owned()]),
        ]
    );
    let users = state.users(&is);
    assert_eq!(users.len(), 132);
    let zoe = users.iter().find(|u| u.user_name == "zoe").unwrap();
    assert_eq!(zoe.name, "Zoë Ångström");
    let zoe_groups: Vec<String> = zoe
        .group_external_ids
        .clone()
        .unwrap_or_default()
        .iter()
        .map(name_of)
        .collect();
    assert_eq!(zoe_groups, ["analysts"]);
    let engineers = users
        .iter()
        .filter(|u| {
            u.group_external_ids
                .iter()
                .flatten()
                .map(name_of)
                .eq(["engineering".to_owned()])
        })
        .count();
    assert_eq!(engineers, 130);
    assert!(users.iter().all(|u| u.user_name != "old-service"));
    assert_eq!(
        is_statuses(&deployment.standin),
        [
            "STARTED",
            "DATA_RETRIEVE",
            "DATA_UPLOAD",
            "QUEUED",
            "COMPLETED"
        ]
    );
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, &ldap.password]),
        ["directory"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_okta_org_reaches_raito_through_throttling() {
    let user = |id: &str, status: &str, name: &str| {
        json!({"id": id, "status": status, "profile": {"login": format!("{id}@example.com"),
            "email": format!("{id}@example.com"), "displayName": name}})
    };
    let mut users = vec![
        user("00ujose", "ACTIVE", "José Müller"),
        user("00ususp", "SUSPENDED", "Suspended"),
    ];
    users.extend((0..230).map(|i| user(&format!("00un{i:03}"), "ACTIVE", "Bulk")));
    let mut members = std::collections::HashMap::new();
    members.insert(
        "00gdata".to_owned(),
        vec!["00ujose".to_owned(), "00ususp".to_owned()],
    );
    members.insert(
        "00gall".to_owned(),
        (0..230).map(|i| format!("00un{i:03}")).collect(),
    );
    let okta = okta_standin::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        okta_standin::Config {
            users,
            groups: vec![
                json!({"id": "00gdata", "type": "OKTA_GROUP", "profile": {"name": "Data", "description": "Data team"}}),
                json!({"id": "00gall", "type": "OKTA_GROUP", "profile": {"name": "All", "description": ""}}),
            ],
            members,
            api_token: OKTA_TOKEN.to_owned(),
            ..Default::default()
        },
    )
    .await;
    okta.throttle(1);
    let is = test_support::unique_name("is-okta");
    let secret = put_secret("raito/okta", json!({ "okta-token": OKTA_TOKEN })).await;
    let config = format!(
        "targets:\n  - name: okta\n    connector-name: okta\n    identity-store-id: {is}\n    \
         okta-domain: {}\n    secret: {secret}\n",
        okta.base_url()
    );
    let deployment =
        Deployment::start(BINARY, &config, API_SECRET, standin(&[&is], &[]).await).await;

    sync_completes(&deployment).await;
    let state = deployment.standin.state();
    assert_eq!(state.identity_store_metadata[&is]["type"], "okta");
    let groups: Vec<(String, String)> = state
        .groups(&is)
        .iter()
        .map(|g| (g.external_id.clone(), g.name.clone()))
        .collect();
    assert_eq!(
        groups,
        [
            ("00gdata".to_owned(), "Data".to_owned()),
            ("00gall".to_owned(), "All".to_owned())
        ]
    );
    let users = state.users(&is);
    assert_eq!(users.len(), 231, "the suspended user is left out");
    assert_eq!(
        (
            users[0].name.as_str(),
            users[0].group_external_ids.clone().unwrap()
        ),
        ("José Müller", vec!["00gdata".to_owned()])
    );
    assert!(
        users[1..]
            .iter()
            .all(|u| u.group_external_ids.as_deref() == Some(&["00gall".to_owned()][..]))
    );
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, OKTA_TOKEN]),
        ["okta"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entra_id_tenant_reaches_raito_with_nested_groups_through_throttling() {
    let member =
        |kind: &str, id: &str| json!({"@odata.type": format!("#microsoft.graph.{kind}"), "id": id});
    let mut members = std::collections::HashMap::new();
    members.insert(
        "g-all".to_owned(),
        vec![member("group", "g-team"), member("device", "d-1")],
    );
    members.insert(
        "g-team".to_owned(),
        vec![member("user", "u-eva"), member("user", "u-off")],
    );
    let graph = graph_standin::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        graph_standin::Config {
            tenant: "contoso".to_owned(),
            client_id: "app-1".to_owned(),
            client_secret: Some(GRAPH_SECRET.to_owned()),
            users: vec![
                json!({"id": "u-eva", "displayName": "Eva Šimková", "userPrincipalName": "eva@contoso.com", "mail": null, "accountEnabled": true}),
                json!({"id": "u-off", "displayName": "Off", "userPrincipalName": "off@contoso.com", "mail": null, "accountEnabled": false}),
            ],
            groups: vec![
                json!({"id": "g-all", "displayName": "All", "description": "Everyone"}),
                json!({"id": "g-team", "displayName": "Team", "description": null}),
            ],
            members,
            ..Default::default()
        },
    )
    .await;
    graph.throttle(1);
    let is = test_support::unique_name("is-entra");
    let secret = put_secret(
        "raito/entra",
        json!({ "entra-client-secret": GRAPH_SECRET }),
    )
    .await;
    let config = format!(
        "targets:\n  - name: entra\n    connector-name: entra-id\n    identity-store-id: {is}\n    \
         secret: {secret}\n    entra-tenant-id: contoso\n    entra-client-id: app-1\n    \
         entra-graph-url: {}\n    entra-login-url: {}\n",
        graph.graph_url(),
        graph.base_url()
    );
    let deployment =
        Deployment::start(BINARY, &config, API_SECRET, standin(&[&is], &[]).await).await;

    sync_completes(&deployment).await;
    let state = deployment.standin.state();
    assert_eq!(state.identity_store_metadata[&is]["type"], "azure-ad");
    let groups: Vec<(String, Vec<String>)> = state
        .groups(&is)
        .iter()
        .map(|g| {
            (
                g.external_id.clone(),
                g.parent_group_external_ids.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("g-all".to_owned(), vec![]),
            ("g-team".to_owned(), vec!["g-all".to_owned()])
        ]
    );
    let users: Vec<(String, String, String, Vec<String>)> = state
        .users(&is)
        .iter()
        .map(|u| {
            (
                u.external_id.clone(),
                u.name.clone(),
                u.email.clone(),
                u.group_external_ids.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        users,
        [(
            "u-eva".to_owned(),
            "Eva Šimková".to_owned(),
            "eva@contoso.com".to_owned(),
            vec!["g-team".to_owned()]
        )],
        "the disabled account is left out"
    );
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, GRAPH_SECRET]),
        ["entra"]
    );
}

/// The Snowflake test's key pair: the user's private key goes in a secret, the public one is
/// registered on the user in the stand-in.
const SNOWFLAKE_KEY: &str = include_str!("../../../dev/test-keys/client.key");
const SNOWFLAKE_PUB: &str = include_str!("../../../dev/test-keys/client.pub");

#[tokio::test(flavor = "multi_thread")]
async fn a_snowflake_account_reaches_raito_with_its_key_in_secrets_manager() {
    let account = snowflake_standin::generate(100, 120).with_sync_user("RAITO_SYNC", SNOWFLAKE_PUB);
    let users_in_account = account.users.len();
    let snowflake = snowflake_standin::start(account, snowflake_standin::Options::default()).await;
    snowflake.faults().throttle_next(1);
    let is = test_support::unique_name("is-sf");
    let secret = put_secret(
        "raito/snowflake",
        json!({ "sf-private-key": SNOWFLAKE_KEY }),
    )
    .await;
    let config = format!(
        "targets:\n  - name: snowflake\n    connector-name: snowflake\n    identity-store-id: {is}\n    \
         sf-account: raito-standin\n    sf-user: RAITO_SYNC\n    sf-role: RAITO_SYNC\n    \
         sf-host: {}\n    secret: {secret}\n",
        snowflake.url
    );
    let deployment =
        Deployment::start(BINARY, &config, API_SECRET, standin(&[&is], &[]).await).await;

    sync_completes(&deployment).await;
    let state = deployment.standin.state();
    assert_eq!(state.identity_store_metadata[&is]["type"], "snowflake");
    assert!(state.groups(&is).is_empty(), "Snowflake has no groups");
    let users = state.users(&is);
    assert_eq!(users.len(), users_in_account, "every user");
    assert!(users.iter().any(|u| u.user_name == "RAITO_SYNC"));
    assert_eq!(snowflake.requests().throttled, 1, "a 429 waited out");
    // No line holds the key (a distinctive part of its body) or the Raito secret.
    let key_body = SNOWFLAKE_KEY.lines().nth(1).expect("a PEM body line");
    assert_eq!(
        deployment.assert_log_is_clean(&[API_SECRET, key_body]),
        ["snowflake"]
    );
}

/// When each target of a run began and ended, by the lines its instance logged, per target.
fn runs_by_target(
    logs: &[Vec<(Instant, String)>],
) -> std::collections::BTreeMap<String, Vec<(Instant, Instant)>> {
    let mut runs: std::collections::BTreeMap<String, Vec<(Instant, Instant)>> = Default::default();
    for log in logs {
        let mut started: Option<(String, Instant)> = None;
        for (at, line) in log {
            let line: Value = serde_json::from_str(line).unwrap();
            let target = line["target"].as_str().unwrap_or_default().to_owned();
            match line["message"].as_str() {
                Some("target sync started") => started = Some((target, *at)),
                Some("target sync finished") => {
                    let (name, began) = started.take().expect("a run finishes after it started");
                    assert_eq!(name, target);
                    runs.entry(target).or_default().push((began, *at));
                }
                _ => {}
            }
        }
    }
    runs
}

/// A schedule over 20 targets only queues them; the bucket's events (through moto's EventBridge
/// and the harness, 20 instances as a reserved concurrency of 20) run each target exactly once,
/// in an invocation of its own, side by side: the wall time is about the slowest target's, not
/// the sum. Two schedules back to back never run one target twice at a time.
#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_fans_out_one_invocation_per_target_and_they_run_side_by_side() {
    const TARGETS: usize = 20;
    let stores: Vec<String> = (0..TARGETS)
        .map(|_| test_support::unique_name("is-fan-out"))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Each import takes two seconds in Raito, so a target's run takes over two seconds.
    let standin = raito_standin::start(
        listener,
        StandInConfig {
            identity_stores: stores.clone(),
            processing_delay: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await;
    let ldap = test_support::ldap();
    let secret = put_secret("raito/ldap", json!({ "ldap-password": &ldap.password })).await;
    let mut yml = String::from("targets:\n");
    for (i, store) in stores.iter().enumerate() {
        yml.push_str(&format!(
            "  - name: t{i:02}\n    connector-name: ldap\n    identity-store-id: {store}\n    \
             secret: {secret}\n    ldap-url: {}\n    ldap-bind-dn: \"{}\"\n    ldap-base-dn: \"{}\"\n",
            ldap.url, ldap.bind_dn, ldap.base_dn
        ));
    }
    let mut deployment = Deployment::start(BINARY, &yml, API_SECRET, standin).await;
    deployment.scale(TARGETS);
    let events = lambda_harness::events::BucketEvents::route(
        &deployment.s3,
        &deployment.bucket,
        "triggers/identities/",
        &deployment.runtime,
        Duration::from_secs(120),
    )
    .await;

    let started = Instant::now();
    let Outcome::Response(queued) = deployment
        .invoke(json!({"targets": []}), Duration::from_secs(30))
        .await
    else {
        panic!("the schedule queues");
    };
    assert_eq!(
        queued["queued"].as_array().unwrap().len(),
        TARGETS,
        "{queued}"
    );
    let delivered = events.wait_for(TARGETS, Duration::from_secs(120)).await;
    let wall = started.elapsed();
    assert_eq!(
        delivered.len(),
        TARGETS,
        "one invocation per queued trigger"
    );
    let mut ran: Vec<String> = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut sum = Duration::ZERO;
    for invocation in &delivered {
        let Some(Outcome::Response(summary)) = &invocation.outcome else {
            panic!("{} failed: {:?}", invocation.key, invocation.outcome);
        };
        let targets = summary["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1, "one target per invocation: {summary}");
        assert_eq!(targets[0]["status"], "completed", "{summary}");
        ran.push(targets[0]["name"].as_str().unwrap().to_owned());
        let took = invocation.answered - invocation.sent;
        slowest = slowest.max(took);
        sum += took;
    }
    ran.sort();
    let expected: Vec<String> = (0..TARGETS).map(|i| format!("t{i:02}")).collect();
    assert_eq!(ran, expected, "each target ran exactly once");
    let jobs = deployment.standin.state().jobs;
    for store in &stores {
        assert_eq!(
            jobs.iter()
                .filter(|j| j.identity_store_id.as_deref() == Some(store.as_str()))
                .count(),
            1,
            "one job for {store}"
        );
    }
    eprintln!(
        "{TARGETS} targets: wall {} ms from the schedule to the last answer; slowest target {} ms; \
         sum of the targets {} ms",
        wall.as_millis(),
        slowest.as_millis(),
        sum.as_millis()
    );
    assert!(
        wall < sum / 4,
        "side by side: the wall time ({wall:?}) is near the slowest ({slowest:?}), not the sum ({sum:?})"
    );

    // Two schedules back to back: 40 triggers, never two runs of a target at a time, nothing
    // left behind.
    for _ in 0..2 {
        let outcome = deployment
            .invoke(json!({"targets": []}), Duration::from_secs(30))
            .await;
        assert!(matches!(outcome, Outcome::Response(_)), "{outcome:?}");
    }
    let delivered = events.wait_for(3 * TARGETS, Duration::from_secs(180)).await;
    assert_eq!(delivered.len(), 3 * TARGETS);
    for invocation in &delivered {
        assert!(
            matches!(invocation.outcome, Some(Outcome::Response(_))),
            "{:?}",
            invocation.outcome
        );
    }
    let logs = deployment.assert_instance_logs_are_clean(&[&ldap.password, API_SECRET]);
    let runs = runs_by_target(&logs);
    assert_eq!(runs.len(), TARGETS);
    for (target, mut intervals) in runs {
        intervals.sort();
        assert!(
            (2..=3).contains(&intervals.len()),
            "{target}: {intervals:?}"
        );
        for pair in intervals.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "two runs of {target} overlap: {pair:?}"
            );
        }
    }
    assert!(
        deployment.keys("triggers/").await.is_empty(),
        "every trigger ran"
    );
    assert!(
        deployment.keys("locks/").await.is_empty(),
        "every lease released"
    );
}
