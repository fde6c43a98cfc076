//! The Okta connector against the Okta stand-in (`dev/okta-standin`), which follows Okta's
//! documented paging, rate limits, errors and service-app tokens: exact users, groups and
//! memberships over several pages, statuses left out, both ways to authenticate, throttling
//! and server errors waited out, bounded concurrency, and a refused token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::support;
use okta_standin::StandIn;
use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::Error;
use raito_common::connectors;
use raito_common::testing;
use serde_json::{Value, json};

/// The canonical org: four named users (one suspended, one deprovisioned), 250 bulk users
/// (more than one page of 200), three groups.
pub fn fixture() -> okta_standin::Config {
    let user = |id: &str, status: &str, profile: Value| json!({"id": id, "status": status, "profile": profile});
    let mut users = vec![
        user(
            "00ualice",
            "ACTIVE",
            json!({"login": "alice@example.com", "email": "alice@example.com",
            "firstName": "Alice", "lastName": "Ærø", "displayName": "Alice Ærø", "department": "Data", "costCenter": 42}),
        ),
        user(
            "00ubob",
            "PASSWORD_EXPIRED",
            json!({"login": "bob@example.com", "email": "bob@example.com",
            "firstName": "Bob", "lastName": "Builder", "department": null}),
        ),
        user(
            "00ucarol",
            "SUSPENDED",
            json!({"login": "carol@example.com", "email": "carol@example.com"}),
        ),
        user(
            "00udave",
            "DEPROVISIONED",
            json!({"login": "dave@example.com", "email": "dave@example.com"}),
        ),
    ];
    let bulk: Vec<String> = (0..250).map(|i| format!("00ubulk{i:03}")).collect();
    for id in &bulk {
        users.push(user(
            id,
            "ACTIVE",
            json!({"login": format!("{id}@example.com"), "email": format!("{id}@example.com")}),
        ));
    }
    let group = |id: &str, name: &str| json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": name, "description": format!("{name} team")}});
    let mut members = HashMap::new();
    members.insert(
        "00ganalysts".to_owned(),
        vec![
            "00ualice".to_owned(),
            "00ubob".to_owned(),
            "00ucarol".to_owned(),
        ],
    );
    let mut everyone = bulk.clone();
    everyone.push("00ualice".to_owned());
    members.insert("00gbulk".to_owned(), everyone);
    okta_standin::Config {
        users,
        groups: vec![
            group("00ganalysts", "Analysts"),
            group("00gbulk", "Everyone"),
            group("00gempty", "Nobody"),
        ],
        members,
        api_token: "test-token".to_owned(),
        service_app: Some((
            "0oaraito".to_owned(),
            std::fs::read_to_string(key_path("client.pub")).unwrap(),
        )),
        rate_limit: (0, Duration::from_secs(1)),
    }
}

/// A file of `dev/test-keys`.
pub fn key_path(name: &str) -> String {
    format!("{}/../dev/test-keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub async fn standin(config: okta_standin::Config) -> StandIn {
    okta_standin::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        config,
    )
    .await
}

async fn target(standin: &StandIn, extra: &str) -> Target {
    let yaml = format!(
        "targets:\n  - name: okta\n    connector-name: okta\n    identity-store-id: is-okta\n    \
         okta-domain: {}\n{extra}",
        standin.base_url()
    );
    Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config")
        .targets
        .remove(0)
}

#[tokio::test]
async fn users_groups_and_memberships_are_read_across_pages_and_statuses_are_left_out() {
    let standin = standin(fixture()).await;
    let target = target(
        &standin,
        "    okta-token: test-token\n    okta-tag-attributes: department, costCenter\n",
    )
    .await;
    let connector = connectors::build(&target).unwrap();
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target).await;

    let summary: Vec<(&str, &str, &str)> = groups
        .iter()
        .map(|g| {
            (
                g.external_id.as_str(),
                g.name.as_str(),
                g.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("00ganalysts", "Analysts", "Analysts team"),
            ("00gbulk", "Everyone", "Everyone team"),
            ("00gempty", "Nobody", "Nobody team")
        ]
    );
    assert_eq!(users.len(), 252, "alice, bob and 250 bulk users");
    let alice = &users[0];
    assert_eq!(
        (
            alice.external_id.as_str(),
            alice.name.as_str(),
            alice.user_name.as_str(),
            alice.email.as_str()
        ),
        (
            "00ualice",
            "Alice Ærø",
            "alice@example.com",
            "alice@example.com"
        )
    );
    assert_eq!(alice.group_external_ids, ["00ganalysts", "00gbulk"]);
    let tags: Vec<(&str, &str, &str)> = alice
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str(), t.source.as_str()))
        .collect();
    assert_eq!(
        tags,
        [("department", "Data", "Okta"), ("costCenter", "42", "Okta")],
        "the Go plugin's source (raito-io/cli-plugin-okta identity_store.go, tagSource)"
    );
    let bob = &users[1];
    assert_eq!((bob.name.as_str(), bob.tags.len()), ("Bob Builder", 0));
    assert_eq!(bob.group_external_ids, ["00ganalysts"]);
    assert!(
        users
            .iter()
            .all(|u| u.user_name != "carol@example.com" && u.user_name != "dave@example.com"),
        "suspended and deprovisioned users are left out"
    );
    assert_eq!(users[251].group_external_ids, ["00gbulk"]);
}

/// Without okta-tag-attributes, the Go plugin's tags, with its keys (raito-io/cli-plugin-okta
/// identity_store.go): a target moving from the Go CLI keeps its tags.
#[tokio::test]
async fn the_go_plugin_tags_are_the_default() {
    let standin = standin(fixture()).await;
    let target = target(&standin, "    okta-token: test-token\n").await;
    let (users, _) = support::sync_identities(&target).await.unwrap();
    let tags: Vec<(&str, &str, &str)> = users[0]
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str(), t.source.as_str()))
        .collect();
    assert_eq!(
        tags,
        [("Department", "Data", "Okta"), ("CostCenter", "42", "Okta")]
    );
    assert!(users[1].tags.is_empty(), "null is no tag");
    assert_eq!(
        connectors::build(&target).unwrap().tag_source(),
        Some("Okta"),
        "the imports' tagSourcesScope"
    );
}

#[tokio::test]
async fn deprovisioned_users_are_fetched_with_a_filter_when_not_excluded() {
    let standin = standin(fixture()).await;
    let target = target(
        &standin,
        "    okta-token: test-token\n    okta-excluded-statuses: [SUSPENDED]\n",
    )
    .await;
    let (users, _) = support::sync_identities(&target).await.unwrap();
    assert_eq!(users.len(), 253);
    assert_eq!(users.last().unwrap().external_id, "00udave");
}

#[tokio::test]
async fn a_service_app_signs_in_with_its_private_key() {
    let standin = standin(fixture()).await;
    let key = std::fs::read_to_string(key_path("client.key")).unwrap();
    let indented = key
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect::<String>();
    let target = target(
        &standin,
        &format!("    okta-client-id: 0oaraito\n    okta-private-key: |\n{indented}"),
    )
    .await;
    let (users, groups) = support::sync_identities(&target).await.unwrap();
    assert_eq!((users.len(), groups.len()), (252, 3));

    let wrong = target_with_client(&standin, "0oaother", &indented).await;
    let error = support::sync_identities(&wrong).await.unwrap_err();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    assert!(error.to_string().contains("okta-client-id"), "{error}");
}

async fn target_with_client(standin: &StandIn, client_id: &str, key: &str) -> Target {
    target(
        standin,
        &format!("    okta-client-id: {client_id}\n    okta-private-key: |\n{key}"),
    )
    .await
}

#[tokio::test]
async fn throttling_a_used_up_quota_and_server_errors_are_waited_out() {
    let mut config = fixture();
    config.rate_limit = (4, Duration::from_secs(1));
    let standin = standin(config).await;
    standin.throttle(1);
    let target = target(&standin, "    okta-token: test-token\n").await;
    let started = Instant::now();
    let (users, _) = support::sync_identities(&target)
        .await
        .expect("the sync waits instead of failing");
    assert_eq!(users.len(), 252);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for the reset"
    );

    let standin = standin_with_failures().await;
    let (users, _) = support::sync_identities(&target_for(&standin).await)
        .await
        .expect("500s are retried");
    assert_eq!(users.len(), 252);
}

async fn standin_with_failures() -> StandIn {
    let standin = standin(fixture()).await;
    standin.fail(2);
    standin
}

async fn target_for(standin: &StandIn) -> Target {
    target(standin, "    okta-token: test-token\n").await
}

#[tokio::test]
async fn member_lists_are_read_with_bounded_concurrency() {
    let mut config = okta_standin::generated(300, 12, 2);
    config.api_token = "test-token".to_owned();
    let standin = standin(config).await;
    let target = target(
        &standin,
        "    okta-token: test-token\n    okta-concurrency: 3\n",
    )
    .await;
    let (users, groups) = support::sync_identities(&target).await.unwrap();
    assert_eq!((users.len(), groups.len()), (300, 12));
    assert!(users.iter().all(|u| u.group_external_ids.len() == 2));
    assert!(standin.max_in_flight() <= 3, "{}", standin.max_in_flight());
    assert!(standin.max_in_flight() >= 2, "reads overlap");
}

#[tokio::test]
async fn a_refused_token_names_the_parameter_to_fix() {
    let standin = standin(fixture()).await;
    let target = target(&standin, "    okta-token: not-the-token\n").await;
    let error = support::sync_identities(&target).await.unwrap_err();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("okta-token") && message.contains("E0000011"),
        "{message}"
    );
    assert!(!message.contains("not-the-token"));
}
