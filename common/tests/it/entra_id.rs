//! The Entra ID connector against the Microsoft Graph stand-in (`dev/graph-standin`), which
//! follows Graph's documented paging, `$select`/`$top` rules, mixed member types, throttling
//! and the identity platform's AADSTS errors: exact users, groups, nested groups and
//! memberships, disabled accounts left out, secret and certificate credentials, 429/503 waited
//! out, and a bad secret.

use std::collections::HashMap;

use crate::support;
use graph_standin::StandIn;
use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::Error;
use raito_common::connectors;
use raito_common::testing;
use serde_json::{Value, json};

use crate::okta::key_path;

/// The canonical tenant: three named users (one disabled), 120 bulk users (more than a page
/// of 100), a nested group, a device and a member with limited information.
pub fn fixture() -> graph_standin::Config {
    let user = |id: &str, name: &str, upn: &str, mail: Value, enabled: bool| {
        json!({"id": id, "displayName": name, "userPrincipalName": upn, "mail": mail,
            "accountEnabled": enabled, "userType": "Member"})
    };
    let mut users = vec![
        user(
            "u-anna",
            "Anna Łęcka",
            "anna@contoso.com",
            json!("anna.lecka@contoso.com"),
            true,
        ),
        user("u-ben", "Ben Ng", "ben@contoso.com", Value::Null, true),
        user(
            "u-old",
            "Old Account",
            "old@contoso.com",
            Value::Null,
            false,
        ),
    ];
    // Anna has the properties the Go plugin tags; Ben's are null or empty.
    users[0]["department"] = json!("Data");
    users[0]["jobTitle"] = json!("Analyst");
    users[1]["department"] = json!("");
    users[1]["officeLocation"] = Value::Null;
    let bulk: Vec<String> = (0..120).map(|i| format!("u-bulk{i:03}")).collect();
    for id in &bulk {
        users.push(user(
            id,
            "Bulk",
            &format!("{id}@contoso.com"),
            Value::Null,
            true,
        ));
    }
    let member =
        |kind: &str, id: &str| json!({"@odata.type": format!("#microsoft.graph.{kind}"), "id": id});
    let mut members = HashMap::new();
    members.insert(
        "g-data".to_owned(),
        vec![
            member("user", "u-anna"),
            member("group", "g-engineering"),
            member("device", "d-laptop"),
            json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": "sp-limited"}),
            member("user", "u-old"),
        ],
    );
    members.insert(
        "g-engineering".to_owned(),
        bulk.iter()
            .map(|id| member("user", id))
            .chain([member("user", "u-ben")])
            .collect(),
    );
    let group = |id: &str, name: &str, description: Value| {
        json!({"id": id, "displayName": name, "description": description, "groupTypes": [],
            "securityEnabled": true, "mailEnabled": false})
    };
    graph_standin::Config {
        tenant: "contoso".to_owned(),
        client_id: "app-1".to_owned(),
        client_secret: Some("app-secret".to_owned()),
        certificate: Some((
            std::fs::read_to_string(key_path("client.crt")).unwrap(),
            std::fs::read_to_string(key_path("client.pub")).unwrap(),
        )),
        users,
        groups: vec![
            group("g-data", "Data", json!("Everyone in data")),
            group("g-engineering", "Engineering", Value::Null),
        ],
        members,
    }
}

pub async fn standin(config: graph_standin::Config) -> StandIn {
    graph_standin::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        config,
    )
    .await
}

/// YAML lines for the stand-in's URLs and the tenant, app and credential in `credential`.
pub fn parameters(standin: &StandIn, credential: &str) -> String {
    format!(
        "    entra-tenant-id: contoso\n    entra-client-id: app-1\n    entra-graph-url: {}\n    \
         entra-login-url: {}\n{credential}",
        standin.graph_url(),
        standin.base_url()
    )
}

async fn target(standin: &StandIn, credential: &str) -> Target {
    let yaml = format!(
        "targets:\n  - name: entra\n    connector-name: entra-id\n    identity-store-id: is-entra\n{}",
        parameters(standin, credential)
    );
    Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config")
        .targets
        .remove(0)
}

const SECRET: &str = "    entra-client-secret: app-secret\n";

#[tokio::test]
async fn users_groups_and_nested_groups_are_read_and_disabled_accounts_left_out() {
    let standin = standin(fixture()).await;
    let target = target(&standin, SECRET).await;
    let connector = connectors::build(&target).unwrap();
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target).await;

    let summary: Vec<(&str, &str, &str, Vec<String>)> = groups
        .iter()
        .map(|g| {
            (
                g.external_id.as_str(),
                g.name.as_str(),
                g.description.as_str(),
                g.parent_group_external_ids.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("g-data", "Data", "Everyone in data", vec![]),
            (
                "g-engineering",
                "Engineering",
                "",
                vec!["g-data".to_owned()]
            ),
        ]
    );
    assert_eq!(users.len(), 122, "the disabled account is left out");
    let anna = &users[0];
    assert_eq!(
        (
            anna.name.as_str(),
            anna.user_name.as_str(),
            anna.email.as_str()
        ),
        ("Anna Łęcka", "anna@contoso.com", "anna.lecka@contoso.com")
    );
    assert_eq!(anna.group_external_ids, ["g-data"]);
    // The Go plugin's tags (raito-io/cli-plugin-azure-ad ad/identity_store.go).
    let tags: Vec<(&str, &str, &str)> = anna
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str(), t.source.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("Department", "Data", "Azure Entra ID"),
            ("JobTitle", "Analyst", "Azure Entra ID")
        ]
    );
    let ben = &users[1];
    assert!(ben.tags.is_empty(), "no tag for an empty or null property");
    assert_eq!(ben.email, "ben@contoso.com", "the UPN when mail is null");
    assert_eq!(ben.group_external_ids, ["g-engineering"]);
    assert!(users.iter().all(|u| u.external_id != "u-old"));
    assert!(
        users[2..]
            .iter()
            .all(|u| u.group_external_ids == ["g-engineering"])
    );
}

#[tokio::test]
async fn a_certificate_credential_signs_in_and_disabled_accounts_can_be_included() {
    let standin = standin(fixture()).await;
    let indent = |path: &str| -> String {
        std::fs::read_to_string(key_path(path))
            .unwrap()
            .lines()
            .map(|l| format!("      {l}\n"))
            .collect()
    };
    let credential = format!(
        "    entra-certificate: |\n{}    entra-private-key: |\n{}    entra-include-disabled: true\n",
        indent("client.crt"),
        indent("client.key")
    );
    let (users, groups) = support::sync_identities(&target(&standin, &credential).await)
        .await
        .unwrap();
    assert_eq!((users.len(), groups.len()), (123, 2));
    let old = users.iter().find(|u| u.external_id == "u-old").unwrap();
    assert_eq!(old.group_external_ids, ["g-data"]);
}

#[tokio::test]
async fn throttling_with_a_fractional_retry_after_and_503s_are_waited_out() {
    let standin = standin(fixture()).await;
    standin.throttle(2);
    standin.unavailable(1);
    let (users, _) = support::sync_identities(&target(&standin, SECRET).await)
        .await
        .unwrap();
    assert_eq!(users.len(), 122);
}

#[tokio::test]
async fn a_bad_client_secret_is_refused_with_the_aadsts_code_and_what_to_check() {
    let standin = standin(fixture()).await;
    let error =
        support::sync_identities(&target(&standin, "    entra-client-secret: wrong\n").await)
            .await
            .unwrap_err();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("AADSTS7000215") && message.contains("entra-client-secret"),
        "{message}"
    );
    assert!(!message.contains("wrong"), "{message}");
}
