//! The LDAP connector against a real slapd (`dev/services.sh`), seeded with
//! `dev/ldap/fixture.ldif` plus 130 bulk users: more entries than one page, a nested group, an
//! account the user filter leaves out, non-ASCII names, StartTLS and LDAPS, and the errors a
//! user meets (bad password, unreachable server, missing parameter, untrusted certificate).
//! Below `ou=dn-forms`, memberships name their members in other RFC 4514 forms than the
//! entries' own DNs (escapes, multi-valued RDNs, case, OIDs, spaces).

use std::collections::BTreeMap;

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::Error;
use raito_common::connectors;
use raito_common::model::identity::{Group, User};
use raito_common::testing;

use crate::support;

/// A target on the test server; `extra` adds parameters (YAML lines).
async fn target(url: &str, extra: &str) -> Target {
    target_with_password(url, extra, &support::ldap().password).await
}

async fn target_with_password(url: &str, extra: &str, password: &str) -> Target {
    let ldap = support::ldap();
    let yaml = format!(
        "targets:\n  - name: directory\n    connector-name: ldap\n    identity-store-id: is-ldap\n    \
         ldap-url: {url}\n    ldap-ca-cert: {}\n    ldap-bind-dn: \"{}\"\n    ldap-password: {}\n    \
         ldap-base-dn: \"{}\"\n    ldap-page-size: 50\n    \
         ldap-user-filter: \"(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))\"\n{extra}",
        ldap.ca_cert, ldap.bind_dn, password, ldap.base_dn
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    config.targets[0].clone()
}

/// Runs the identity sync straight into vectors, keeping the connector's own error.
async fn sync(target: &Target) -> Result<(Vec<User>, Vec<Group>), Error> {
    let connector = connectors::build(target)?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    connector
        .identity_store()
        .expect("an identity store")
        .sync_identities(&mut users, &mut groups)
        .await?;
    Ok((users, groups))
}

#[tokio::test]
async fn users_groups_and_nested_memberships_are_read_page_by_page_over_starttls() {
    let ldap = support::ldap();
    let target = target(&ldap.url, "    ldap-starttls: true\n").await;
    let connector = connectors::build(&target).expect("valid target");
    let (users, groups) = testing::check_identity_sync(connector.as_ref(), &target).await;

    let group_id: BTreeMap<&str, &str> = groups
        .iter()
        .map(|g| (g.name.as_str(), g.external_id.as_str()))
        .collect();
    let names = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .map(|id| {
                groups
                    .iter()
                    .find(|g| &g.external_id == id)
                    .map(|g| g.name.clone())
                    .expect("a written group")
            })
            .collect()
    };
    let summary: Vec<(String, String, Vec<String>)> = groups
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                g.description.clone(),
                names(&g.parent_group_external_ids),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "analysts".to_owned(),
                "Everyone who analyses data".to_owned(),
                vec![]
            ),
            ("Datenschutz & Recht".to_owned(), String::new(), vec![]),
            (
                "engineering".to_owned(),
                String::new(),
                vec!["analysts".to_owned()]
            ),
        ],
        "a nested group lists the group that contains it"
    );
    assert!(
        groups
            .iter()
            .all(|g| g.external_id.len() == 36 && g.external_id.contains('-')),
        "entryUUIDs"
    );

    assert_eq!(
        users.len(),
        132,
        "2 named + 130 bulk users, more than one page of 50"
    );
    let user = |uid: &str| users.iter().find(|u| u.user_name == uid).expect(uid);
    let zoe = user("zoe");
    assert_eq!(
        (zoe.name.as_str(), zoe.email.as_str()),
        ("Zoë Ångström", "zoe@example.com")
    );
    assert_eq!(names(&zoe.group_external_ids), ["analysts"]);
    let lukasz = user("lukasz");
    assert_eq!(lukasz.name, "Łukasz Żółć", "cn when displayName is missing");
    assert_eq!(names(&lukasz.group_external_ids), ["Datenschutz & Recht"]);
    assert_eq!(
        user("user130").group_external_ids,
        [group_id["engineering"].to_owned()]
    );
    assert!(
        users.iter().all(|u| u.user_name != "old-service"),
        "the account the filter leaves out is not written, though a group lists it"
    );
}

#[tokio::test]
async fn ldaps_works_with_the_ca_and_a_wrong_password_names_what_to_fix() {
    let ldap = support::ldap();
    let (users, groups) = sync(&target(&ldap.ldaps_url, "").await)
        .await
        .expect("LDAPS sync");
    assert_eq!((users.len(), groups.len()), (132, 3));

    let wrong = target_with_password(&ldap.ldaps_url, "", "not-the-password").await;
    let error = sync(&wrong).await.expect_err("a bad password fails");
    let message = error.to_string();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    assert!(
        message.contains("ldap-bind-dn and ldap-password"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "never the password");
}

#[tokio::test]
async fn an_untrusted_certificate_an_unreachable_server_and_a_missing_parameter_are_clear_errors() {
    let ldap = support::ldap();
    // The system's roots do not know the test CA.
    let yaml_without_ca = format!(
        "targets:\n  - name: directory\n    connector-name: ldap\n    ldap-url: {}\n    \
         ldap-bind-dn: x\n    ldap-password: y\n    ldap-base-dn: dc=example,dc=com\n",
        ldap.ldaps_url
    );
    let config = Config::from_yaml_str(&yaml_without_ca, "test.yml", &NoSecrets)
        .await
        .unwrap();
    let error = sync(&config.targets[0]).await.expect_err("untrusted");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");

    let error = sync(&target("ldap://127.0.0.1:1", "").await)
        .await
        .expect_err("nothing listens there");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.to_string().contains("ldap://127.0.0.1:1"), "{error}");
    assert!(error.is_transient());

    let yaml = "targets:\n  - name: directory\n    connector-name: ldap\n    ldap-url: ldap://h\n    \
                ldap-password: y\n    ldap-base-dn: dc=x\n";
    let config = Config::from_yaml_str(yaml, "raito.yml", &NoSecrets)
        .await
        .unwrap();
    let message = connectors::build(&config.targets[0])
        .err()
        .expect("a missing parameter")
        .to_string();
    assert!(
        message.contains("ldap-bind-dn") && message.contains("directory"),
        "names the target and the parameter: {message}"
    );
}

#[tokio::test]
async fn a_base_dn_that_does_not_exist_says_which_parameter_to_check() {
    let ldap = support::ldap();
    let target = target(
        &ldap.url,
        "    ldap-group-base-dn: \"ou=nowhere,dc=example,dc=com\"\n",
    )
    .await;
    let message = sync(&target).await.expect_err("no such base").to_string();
    assert!(message.contains("ldap-group-base-dn"), "{message}");
}

#[test]
fn the_active_directory_preset_fills_in_its_filters_and_attributes() {
    let mut parameters = raito_common::config::Parameters::new("raito.yml", "ad");
    for (key, value) in [
        ("ldap-url", "ldaps://dc1.corp.example.com"),
        ("ldap-bind-dn", "svc-raito@corp.example.com"),
        ("ldap-password", "secret"),
        ("ldap-base-dn", "DC=corp,DC=example,DC=com"),
        ("ldap-preset", "active-directory"),
    ] {
        parameters.insert(key, serde_json::json!(value), key == "ldap-password");
    }
    let config = raito_common::connectors::ldap::Config::from_parameters(&parameters).unwrap();
    assert_eq!(config.user_id_attribute, "objectGUID");
    assert_eq!(config.user_name_attribute, "sAMAccountName");
    assert!(
        config
            .user_filter
            .contains("(!(userAccountControl:1.2.840.113556.1.4.803:=2))")
    );
    assert_eq!(config.group_filter, "(objectCategory=group)");
}

/// The users and groups below `ou=dn-forms` (person+uidObject users, groupOfUniqueNames groups
/// listing `uniqueMember`s), each user and group as its name and the names of its groups.
async fn dn_forms() -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let ldap = support::ldap();
    let base = format!("ou=dn-forms,{}", ldap.base_dn);
    let yaml = format!(
        "targets:\n  - name: directory\n    connector-name: ldap\n    identity-store-id: is-ldap\n    \
         ldap-url: {}\n    ldap-ca-cert: {}\n    ldap-bind-dn: \"{}\"\n    ldap-password: {}\n    \
         ldap-base-dn: \"{base}\"\n    ldap-user-filter: \"(objectClass=uidObject)\"\n    \
         ldap-group-filter: \"(objectClass=groupOfUniqueNames)\"\n    \
         ldap-member-attribute: uniqueMember\n",
        ldap.ldaps_url, ldap.ca_cert, ldap.bind_dn, ldap.password
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    let (users, groups) = sync(&config.targets[0]).await.expect("sync");
    let name = |id: &String| -> String {
        groups
            .iter()
            .find(|g| &g.external_id == id)
            .map(|g| g.name.clone())
            .expect("a written group")
    };
    let named = |ids: &[String]| -> Vec<String> {
        let mut names: Vec<String> = ids.iter().map(name).collect();
        names.sort();
        names
    };
    let user_groups = users
        .iter()
        .map(|u| (u.user_name.clone(), named(&u.group_external_ids)))
        .collect();
    let group_parents = groups
        .iter()
        .map(|g| (g.name.clone(), named(&g.parent_group_external_ids)))
        .collect();
    (user_groups, group_parents)
}

#[tokio::test]
async fn a_nested_group_named_with_the_other_escape_of_its_comma_is_found() {
    // The entry is written cn=Eng\2C Ops by slapd, the membership names cn=Eng\, Ops.
    let (_, groups) = dn_forms().await;
    assert_eq!(groups["Eng, Ops"], ["Platform"], "{groups:?}");
}

#[tokio::test]
async fn a_multi_valued_rdn_named_with_its_components_swapped_is_found() {
    // The entry is cn=Ann+uid=ann, the membership names uid=ann+cn=Ann.
    let (users, _) = dn_forms().await;
    assert!(users["ann"].contains(&"Eng, Ops".to_owned()), "{users:?}");
    assert!(!users["bob"].contains(&"Eng, Ops".to_owned()), "{users:?}");
}

#[tokio::test]
async fn attribute_types_and_values_in_another_case_or_as_oids_are_found() {
    // 2.5.4.3=PLATFORM,OU=DN-Forms,0.9.2342.19200300.100.1.25=EXAMPLE,DC=Com and
    // UID=BOB,OU=DN-FORMS,DC=EXAMPLE,DC=COM.
    let (users, groups) = dn_forms().await;
    assert_eq!(groups["Platform"], ["Data Team"], "{groups:?}");
    assert_eq!(users["bob"], ["Data Team"], "{users:?}");
}

#[tokio::test]
async fn spaces_around_separators_and_runs_of_spaces_in_values_do_not_matter() {
    // cn = Ann + uid = ann , ou = dn-forms , ... and cn =  Data   Team , ....
    let (users, groups) = dn_forms().await;
    assert_eq!(users["ann"], ["Eng, Ops", "Reviewers"], "{users:?}");
    assert_eq!(groups["Data Team"], ["Reviewers"], "{groups:?}");
    assert_eq!(groups["Reviewers"], Vec::<String>::new(), "{groups:?}");
    assert_eq!(groups.len(), 4, "{groups:?}");
}
