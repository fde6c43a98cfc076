//! `raito.yml`: parsing as the Raito CLI does, defaults, `{{NAME}}` and secret references,
//! error messages that name file, target and key, and redaction of secrets. The tests marked
//! "moto" read secrets from the moto server over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use raito_common::aws::secrets::{NoSecrets, SecretError, SecretSource, SecretsManager};
use raito_common::config::{Config, Error, Parameters};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::support;

/// An environment of its own for one test (the process environment is shared, and setting it
/// needs `unsafe`).
fn env(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + Send + Sync {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    move |name| vars.get(name).map(|value| value.to_string())
}

async fn parse(text: &str, vars: &[(&'static str, &'static str)]) -> Result<Config, Error> {
    Config::from_yaml_str_with_env(text, "raito.yml", &NoSecrets, &env(vars)).await
}

/// Secrets held in memory, for the tests that are about redaction rather than AWS.
struct MemorySecrets(HashMap<&'static str, &'static str>);

#[async_trait::async_trait]
impl SecretSource for MemorySecrets {
    async fn secret_string(&self, name: &str) -> Result<SecretString, SecretError> {
        match self.0.get(name) {
            Some(value) => Ok(SecretString::from(*value)),
            None => Err(SecretError::NotFound {
                name: name.to_owned(),
                region: None,
            }),
        }
    }
}

#[tokio::test]
async fn a_full_raito_yml_with_two_targets_and_every_flag_is_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/full.yml");
    let config = Config::load(&path, &NoSecrets).await.unwrap();

    assert_eq!(config.api_user.as_deref(), Some("sync@example.com"));
    assert_eq!(
        config.api_secret.as_ref().unwrap().expose_secret(),
        "not-a-real-api-secret"
    );
    assert_eq!(config.domain.as_deref(), Some("example"));
    assert_eq!(config.targets.len(), 2);

    let warehouse = config.target("warehouse").unwrap();
    assert_eq!(warehouse.connector_name, "postgres");
    assert_eq!(warehouse.data_source_id.as_deref(), Some("ds-123"));
    assert_eq!(warehouse.identity_store_id.as_deref(), Some("is-456"));
    assert!(warehouse.skip_identity_store_sync);
    assert!(!warehouse.skip_data_source_sync);
    assert!(warehouse.skip_data_access_sync);
    assert!(!warehouse.skip_data_usage_sync);
    assert!(!warehouse.delete_untouched);
    assert!(!warehouse.replace_groups);
    let params = &warehouse.parameters;
    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        [
            "pg-databases",
            "pg-host",
            "pg-password",
            "pg-port",
            "pg-user"
        ]
    );
    assert_eq!(params.required_string("pg-host").unwrap(), "db.example.com");
    assert_eq!(params.u16("pg-port").unwrap(), Some(5432));
    assert_eq!(params.list("pg-databases").unwrap(), ["sales", "finance"]);
    assert_eq!(
        params
            .secret("pg-password")
            .unwrap()
            .unwrap()
            .expose_secret(),
        "not-a-real-password"
    );
    assert!(params.is_sensitive("pg-password"));
    assert!(!params.is_sensitive("pg-user"));

    let directory = config.target("directory").unwrap();
    assert_eq!(directory.connector_name, "okta");
    assert_eq!(directory.data_source_id, None);
    assert_eq!(directory.identity_store_id.as_deref(), Some("is-789"));
    assert!(!directory.skip_identity_store_sync);
    assert!(directory.skip_data_source_sync);
    assert!(directory.skip_data_access_sync);
    assert!(directory.skip_data_usage_sync);
    assert!(directory.delete_untouched);
    assert!(directory.replace_groups);
    assert!(directory.parameters.is_sensitive("okta-token"));
    assert!(config.target("nope").is_none());
}

#[tokio::test]
async fn a_minimal_target_gets_the_defaults_of_the_raito_cli() {
    let config = parse(
        "targets:\n  - name: pg\n    connector-name: postgres\n",
        &[],
    )
    .await
    .unwrap();

    assert_eq!(config.api_user, None);
    assert!(config.api_secret.is_none());
    assert_eq!(config.domain, None);
    let target = &config.targets[0];
    assert_eq!(target.data_source_id, None);
    assert_eq!(target.identity_store_id, None);
    assert!(!target.skip_identity_store_sync);
    assert!(!target.skip_data_source_sync);
    assert!(!target.skip_data_access_sync);
    assert!(!target.skip_data_usage_sync);
    assert!(target.delete_untouched);
    assert!(target.replace_groups);
    assert_eq!(target.parameters.keys().count(), 0);
}

#[tokio::test]
async fn an_empty_file_has_no_targets() {
    let config = parse("", &[]).await.unwrap();
    assert!(config.targets.is_empty());
}

#[tokio::test]
async fn a_target_without_a_name_is_named_after_its_connector_as_in_the_raito_cli() {
    let config = parse("targets:\n  - connector-name: okta\n", &[])
        .await
        .unwrap();
    assert_eq!(config.targets[0].name, "okta");
    assert_eq!(config.targets[0].parameters.target(), "okta");
}

#[tokio::test]
async fn a_target_without_connector_name_is_rejected_by_position() {
    let err = parse(
        "targets:\n  - name: a\n    connector-name: x\n  - name: b\n",
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "raito.yml: target #2: key \"connector-name\": required key is missing"
    );
}

#[tokio::test]
async fn environment_references_are_replaced_at_the_top_level_in_targets_and_in_lists() {
    let text = r#"
api-user: "{{CFG_ENV_USER}}"
api-secret: "{{ CFG_ENV_SECRET }}"
domain: "{{CFG_ENV_DOMAIN}}"
targets:
  - name: "{{CFG_ENV_NAME}}"
    connector-name: postgres
    skip-data-usage-sync: "{{CFG_ENV_SKIP}}"
    pg-port: "{{CFG_ENV_PORT}}"
    pg-databases: ["{{CFG_ENV_DB}}", literal]
    pg-note: "not {{CFG_ENV_DB}} a reference"
"#;
    let vars = [
        ("CFG_ENV_USER", "sync@example.com"),
        ("CFG_ENV_SECRET", "s3cr3t"),
        ("CFG_ENV_DOMAIN", "example"),
        ("CFG_ENV_NAME", "warehouse"),
        ("CFG_ENV_SKIP", "true"),
        ("CFG_ENV_PORT", "6543"),
        ("CFG_ENV_DB", "sales"),
    ];
    let config = parse(text, &vars).await.unwrap();

    assert_eq!(config.api_user.as_deref(), Some("sync@example.com"));
    assert_eq!(
        config.api_secret.as_ref().unwrap().expose_secret(),
        "s3cr3t"
    );
    assert_eq!(config.domain.as_deref(), Some("example"));
    let target = config.target("warehouse").unwrap();
    assert!(target.skip_data_usage_sync);
    assert_eq!(target.parameters.u16("pg-port").unwrap(), Some(6543));
    assert_eq!(
        target.parameters.list("pg-databases").unwrap(),
        ["sales", "literal"]
    );
    assert_eq!(
        target.parameters.string("pg-note").unwrap().as_deref(),
        Some("not {{CFG_ENV_DB}} a reference")
    );
}

#[tokio::test]
async fn a_missing_environment_variable_names_the_file_the_target_and_the_key() {
    let text = "targets:\n  - name: warehouse\n    connector-name: postgres\n    pg-password: \"{{PG_PASS}}\"\n";
    let err = parse(text, &[]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "raito.yml: target \"warehouse\": key \"pg-password\": environment variable PG_PASS is not set"
    );

    let err = parse("domain: \"{{NO_SUCH_DOMAIN}}\"\n", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "raito.yml: key \"domain\": environment variable NO_SUCH_DOMAIN is not set"
    );
}

#[tokio::test]
async fn unknown_target_keys_are_kept_as_connector_parameters() {
    let text = r#"
targets:
  - name: snow
    connector-name: snowflake
    sf-account: ab12345
    sf-warehouse-size: 4
    sf-standard-edition: "false"
    sf-excluded-databases: SNOWFLAKE,DEMO
    sf-roles: [ANALYST, 42]
    lock-all-who: true
    sf-empty:
"#;
    let config = parse(text, &[]).await.unwrap();
    let params = &config.targets[0].parameters;
    assert!(
        config.targets[0].settings.locks.who.all,
        "a Raito CLI key is a setting, never a parameter"
    );

    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        [
            "sf-account",
            "sf-excluded-databases",
            "sf-roles",
            "sf-standard-edition",
            "sf-warehouse-size",
        ]
    );
    assert!(
        !params.contains("sf-empty"),
        "a key with no value counts as absent"
    );
    assert_eq!(
        params.string("sf-warehouse-size").unwrap().as_deref(),
        Some("4")
    );

    assert_eq!(params.bool("sf-standard-edition").unwrap(), Some(false));
    assert_eq!(
        params.list("sf-excluded-databases").unwrap(),
        ["SNOWFLAKE,DEMO"]
    );
    assert_eq!(params.list("sf-roles").unwrap(), ["ANALYST", "42"]);
    assert_eq!(params.list("sf-missing").unwrap(), Vec::<String>::new());
    assert_eq!(params.string("sf-missing").unwrap(), None);
}

#[tokio::test]
async fn parameter_getters_name_the_file_the_target_and_the_key_when_a_value_is_wrong() {
    let mut params = Parameters::new("raito.yml", "warehouse");
    params.insert("pg-port", json!("70000"), false);
    params.insert("pg-ssl", json!("yes"), false);
    params.insert("pg-hosts", json!({"a": 1}), false);
    params.insert("pg-password", json!(123456), false);

    assert_eq!(
        params.u16("pg-port").unwrap_err().to_string(),
        "raito.yml: target \"warehouse\": key \"pg-port\": expected a whole number from 0 to 65535, found \"70000\""
    );
    assert_eq!(
        params.bool("pg-ssl").unwrap_err().to_string(),
        "raito.yml: target \"warehouse\": key \"pg-ssl\": expected true or false, found \"yes\""
    );
    assert_eq!(
        params.string("pg-hosts").unwrap_err().to_string(),
        "raito.yml: target \"warehouse\": key \"pg-hosts\": expected a single value, found map"
    );
    assert_eq!(
        params.required_string("pg-user").unwrap_err().to_string(),
        "raito.yml: target \"warehouse\": key \"pg-user\": required key is missing"
    );
    assert_eq!(
        params
            .invalid("pg-sslmode", "expected disable, prefer or require")
            .to_string(),
        "raito.yml: target \"warehouse\": key \"pg-sslmode\": expected disable, prefer or require"
    );
    // A sensitive value is never shown, not even in an error.
    let message = params.u16("pg-password").unwrap_err().to_string();
    assert!(!message.contains("123456"), "{message}");
}

#[tokio::test]
async fn duplicate_target_names_are_rejected() {
    let text = "targets:\n  - name: pg\n    connector-name: postgres\n  - name: pg\n    connector-name: postgres\n";
    let err = parse(text, &[]).await.unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateTarget { name, .. } if name == "pg"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("raito.yml: target \"pg\" is defined more than once"),
        "{err}"
    );

    // Two unnamed targets of one connector are named alike, so they collide too.
    let text = "targets:\n  - connector-name: okta\n  - connector-name: okta\n";
    assert!(matches!(
        parse(text, &[]).await,
        Err(Error::DuplicateTarget { .. })
    ));
}

#[tokio::test]
async fn invalid_yaml_is_reported_with_the_file_and_the_line() {
    let err = parse("domain: example\ntargets:\n  - name: [unclosed\n", &[])
        .await
        .unwrap_err();
    let Error::Yaml { line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(line.is_some(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("raito.yml: invalid YAML: "),
        "{message}"
    );
    assert!(message.contains("line"), "{message}");
}

/// Every top-level key the Go CLI reads from raito.yml (raito-io/cli cmd/root.go, cmd/run.go,
/// internal/constants/constants.go) is accepted; a key the Go CLI ignores (`dev: true`, in its
/// own cmd/testdata/config1.yml) is warned about, not refused.
#[tokio::test]
async fn every_go_cli_key_is_accepted_and_unknown_top_level_keys_are_not_refused() {
    let text = r#"
dev: true
debug: true
log-file: /tmp/raito.log
log-output: true
frequency: 60
cron: "0 * * * *"
sync-at-startup: true
only-targets: "a , b"
disable-websocket: true
disable-log-forwarding: false
disable-log-forwarding-data-source-sync: true
disable-log-forwarding-identity-store-sync: false
disable-log-forwarding-data-access-sync: false
disable-log-forwarding-data-usage-sync: true
disable-log-forwarding-resource-provider-sync: true
disable-log-forwarding-tag-sync: true
skip-authentication: false
skip-file-upload: false
file-backup-location: /tmp/backups
maximum-backups-per-target: 3
maximum-file-size: 64mb
repositories:
  - name: raito-io
    token: x
data-object-enrichers:
  - name: collibra
    connector-name: raito-io/cli-plugin-collibra
raito-url-override: https://api.example.test/
skip-tag-sync: true
skip-resource-provider-sync: true
Lock-All-Who: true
targets:
  - name: a
    connector-name: postgresql
  - name: b
    connector-name: okta
  - name: c
    connector-name: okta
"#;
    let config = parse(text, &[]).await.unwrap();
    let names: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b"], "only-targets");
    let settings = &config.settings;
    assert!(settings.debug);
    assert!(settings.disable_websocket, "read for the trigger listener");
    assert_eq!(settings.maximum_file_size, Some(64 << 20));
    use raito_common::step::Step;
    assert!(!settings.log_forwarding.enabled(Step::DataSource));
    assert!(!settings.log_forwarding.enabled(Step::DataUsage));
    assert!(settings.log_forwarding.enabled(Step::DataAccess));
    assert_eq!(
        config.raito_url.as_deref(),
        Some("https://api.example.test/")
    );
    assert!(
        config.targets[0].settings.locks.who.all,
        "keys are read in lower case, and a top-level lock is every target's default"
    );

    // `only-targets` naming no target is a mistake worth stopping for.
    let err = parse(
        "only-targets: nope\ntargets:\n  - connector-name: okta\n",
        &[],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("\"nope\""), "{err}");
}

/// Every per-target key of the Go CLI (internal/target/types/model.go, BaseTargetConfig) is a
/// setting of the target; none reaches the connector's parameters.
#[tokio::test]
async fn every_go_cli_target_key_is_a_setting_never_a_parameter() {
    let text = r#"
targets:
  - name: t
    connector-name: okta
    connector-version: latest
    api-user: other@example.com
    api-secret: other-secret
    domain: Other-Org
    raito-url-override: https://other.example.test/
    lock-all-who: true
    lock-who-by-name: "A.*, B"
    lock-who-by-tag: "env:prod"
    lock-who-when-incomplete: true
    lock-all-inheritance: true
    lock-inheritance-by-name: X
    lock-inheritance-by-tag: "k:v"
    lock-inheritance-when-incomplete: false
    lock-all-what: false
    lock-what-by-name: Y
    lock-what-by-tag: "k:v"
    lock-what-when-incomplete: true
    lock-all-names: false
    lock-names-by-name: Z
    lock-names-by-tag: "k:v"
    lock-names-when-incomplete: true
    lock-all-delete: true
    lock-delete-by-name: W
    lock-delete-by-tag: "k:v"
    lock-delete-when-incomplete: true
    lock-all-owners: true
    make-not-internalizable: SYSADMIN
    fully-lock-all: false
    fully-lock-by-name: SECURITYADMIN
    fully-lock-by-tag: "system:true"
    fully-lock-when-incomplete: false
    tag-overwrite-key-for-access-provider-name: display
    tag-overwrite-key-for-access-provider-owners: owner
    tag-overwrite-key-for-data-object-owners: owner
    tag-key-and-value-for-user-is-machine: "kind:service"
    skip-data-access-import: true
    only-out-of-sync-data: true
    delete-temp-files: true
    file-backup-location: /tmp
    maximum-backups-per-target: 2
    skip-tag-sync: true
    skip-resource-provider: true
    replace-tags: true
    okta-domain: acme.okta.com
    okta-token: t
"#;
    let config = parse(text, &[]).await.unwrap();
    let target = &config.targets[0];
    assert_eq!(
        target.parameters.keys().collect::<Vec<_>>(),
        ["okta-domain", "okta-token"],
        "only the connector's own keys are parameters"
    );
    let settings = &target.settings;
    assert_eq!(
        settings.raito.api_user.as_deref(),
        Some("other@example.com")
    );
    assert_eq!(settings.raito.domain.as_deref(), Some("Other-Org"));
    assert_eq!(
        settings.raito.api_secret.as_ref().unwrap().expose_secret(),
        "other-secret"
    );
    assert!(settings.locks.who.all && settings.locks.who.by_name.matches("B"));
    assert!(settings.locks.fully.by_tag.matches("system:true"));
    assert!(settings.locks.make_not_internalizable.matches("SYSADMIN"));
    assert_eq!(
        settings.tags.user_is_machine,
        Some(("kind".to_owned(), "service".to_owned()))
    );
    assert!(settings.skip_data_access_import && settings.only_out_of_sync_data);
    assert!(
        !format!("{config:?}").contains("other-secret"),
        "the target's api-secret is redacted"
    );
    // The connector builds: no Raito CLI key is taken for an unknown parameter.
    raito_common::connectors::build(target).unwrap();
}

/// Inside a target, a key that is neither the Raito CLI's nor the connector's is an error
/// naming file, target and key (a typo is caught).
#[tokio::test]
async fn a_target_key_nobody_knows_is_an_error_naming_it() {
    let text = "targets:\n  - name: idp\n    connector-name: okta\n    okta-domain: a.okta.com\n    okta-tokne: x\n    delete-untouchd: false\n";
    let config = parse(text, &[]).await.unwrap();
    let Err(err) = raito_common::connectors::build(&config.targets[0]) else {
        panic!("a typo was accepted");
    };
    let message = err.to_string();
    assert!(
        message.starts_with("raito.yml: target \"idp\": key \"delete-untouchd\": unknown key"),
        "{message}"
    );
    assert!(
        message.contains("okta-domain"),
        "lists the parameters: {message}"
    );
}

/// The Go CLI's single-target form: a top-level connector-name and its keys, no `targets`.
#[tokio::test]
async fn the_single_target_form_is_one_target() {
    let text = "api-user: u\napi-secret: s\ndomain: d\nconnector-name: raito-io/cli-plugin-okta\nname: idp\nidentity-store-id: is-1\nokta-domain: a.okta.com\nokta-token: t\nlock-all-who: true\ndebug: true\n";
    let config = parse(text, &[]).await.unwrap();
    assert_eq!(config.targets.len(), 1);
    let target = &config.targets[0];
    assert_eq!(target.name, "idp");
    assert_eq!(target.identity_store_id.as_deref(), Some("is-1"));
    assert_eq!(
        target.parameters.keys().collect::<Vec<_>>(),
        ["okta-domain", "okta-token"]
    );
    assert!(target.settings.locks.who.all);
    assert!(config.settings.debug);
    assert_eq!(config.api_user.as_deref(), Some("u"));
    assert_eq!(
        raito_common::connectors::build(target).unwrap().name(),
        "okta",
        "the Go plugin's name selects our connector"
    );
}

/// `connector-name` as Go users write it: the plugin's repository selects our connector; a
/// Go plugin we do not have is an error listing the ones we do.
#[tokio::test]
async fn go_plugin_names_select_our_connectors() {
    let text = "targets:\n  - name: a\n    connector-name: raito-io/cli-plugin-azure-ad\n    entra-tenant-id: t\n    entra-client-id: c\n    entra-client-secret: s\n  - name: b\n    connector-name: raito-io/cli-plugin-bigquery\n";
    let config = parse(text, &[]).await.unwrap();
    assert_eq!(
        raito_common::connectors::build(&config.targets[0])
            .unwrap()
            .name(),
        "entra-id"
    );
    assert_eq!(
        raito_common::connectors::find("raito-io/cli-plugin-snowflake")
            .unwrap()
            .name,
        "snowflake"
    );
    let Err(err) = raito_common::connectors::build(&config.targets[1]) else {
        panic!("bigquery is not here");
    };
    let message = err.to_string();
    assert!(
        message.contains("\"raito-io/cli-plugin-bigquery\" is a Raito CLI plugin"),
        "{message}"
    );
    assert!(
        message.contains("okta (or raito-io/cli-plugin-okta)"),
        "{message}"
    );
}

#[tokio::test]
async fn top_level_skip_flags_apply_to_every_target_as_in_the_raito_cli() {
    let text = "skip-data-usage-sync: true\ntargets:\n  - name: a\n    connector-name: x\n    skip-data-usage-sync: false\n  - name: b\n    connector-name: y\n";
    let config = parse(text, &[]).await.unwrap();
    assert!(
        config
            .targets
            .iter()
            .all(|target| target.skip_data_usage_sync)
    );
    assert!(
        config
            .targets
            .iter()
            .all(|target| !target.skip_data_access_sync)
    );
}

#[tokio::test]
async fn yaml_merge_keys_share_parameters_between_targets() {
    let text = r#"
targets:
  - &sales
    name: sales
    connector-name: postgres
    pg-host: db.example.com
  - <<: *sales
    name: finance
    pg-host: other.example.com
"#;
    let config = parse(text, &[]).await.unwrap();
    let finance = config.target("finance").unwrap();
    assert_eq!(finance.connector_name, "postgres");
    assert_eq!(
        finance.parameters.string("pg-host").unwrap().as_deref(),
        Some("other.example.com")
    );
}

#[tokio::test]
async fn debug_output_redacts_every_sensitive_value() {
    let secrets = MemorySecrets(HashMap::from([
        (
            "warehouse",
            r#"{"pg-user": "from-secret-user", "pg-host-secret-only": "secret-host-value"}"#,
        ),
        ("raito", r#"{"api-secret": "raito-api-secret-value"}"#),
        ("plain", "whole-secret-value"),
    ]));
    let text = r#"
api-user: sync@example.com
api-secret: "{{secret:raito#api-secret}}"
targets:
  - name: warehouse
    connector-name: postgres
    secret: warehouse
    pg-password: written-password-value
    okta-token: written-token-value
    sf-private-key: written-private-key-value
    some-api-key: written-api-key-value
    client-secret: written-client-secret-value
    pg-note: "{{secret:plain}}"
    pg-host: visible-host
"#;
    let config = Config::from_yaml_str_with_env(text, "raito.yml", &secrets, &env(&[]))
        .await
        .unwrap();
    let shown = format!(
        "{config:?} {:?} {:?}",
        config.targets[0], config.targets[0].parameters
    );

    for hidden in [
        "raito-api-secret-value",
        "from-secret-user",
        "secret-host-value",
        "whole-secret-value",
        "written-password-value",
        "written-token-value",
        "written-private-key-value",
        "written-api-key-value",
        "written-client-secret-value",
    ] {
        assert!(!shown.contains(hidden), "{hidden} is shown in {shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(shown.contains("visible-host"), "{shown}");
    assert!(shown.contains("sync@example.com"), "{shown}");
    // The values are there for the connector, only hidden.
    let params = &config.targets[0].parameters;
    assert_eq!(
        params.string("pg-note").unwrap().as_deref(),
        Some("whole-secret-value")
    );
    assert_eq!(
        config.api_secret.unwrap().expose_secret(),
        "raito-api-secret-value"
    );
}

#[tokio::test]
async fn secret_references_without_aws_say_that_aws_is_needed() {
    let text = "targets:\n  - name: w\n    connector-name: postgres\n    secret: prod/warehouse\n";
    let message = parse(text, &[]).await.unwrap_err().to_string();
    assert!(
        message.starts_with("raito.yml: target \"w\": key \"secret\": secret \"prod/warehouse\""),
        "{message}"
    );
    assert!(
        message.contains("AWS credentials and a region"),
        "{message}"
    );
}

#[tokio::test]
async fn loading_a_config_can_run_on_any_tokio_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let env = env(&[]);
    let future = Config::from_yaml_str_with_env("", "raito.yml", &NoSecrets, &env);
    assert_send(&future);
    let load = Config::load(Path::new("raito.yml"), &NoSecrets);
    assert_send(&load);
}

#[tokio::test]
async fn a_missing_file_is_reported_by_name() {
    let err = Config::load(Path::new("/nonexistent/raito.yml"), &NoSecrets)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/raito.yml: cannot read"),
        "{err}"
    );
}

/// Creates a secret holding `value` in moto and returns its name.
async fn create_secret(prefix: &str, value: &str) -> String {
    let name = support::unique_name(prefix);
    aws_sdk_secretsmanager::Client::new(&support::moto_sdk_config())
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret");
    name
}

#[tokio::test]
async fn moto_a_target_secret_is_merged_into_its_parameters_and_written_keys_win() {
    let db = create_secret(
        "cfg_db",
        r#"{"pg-user": "from-secret", "pg-password": "pw-from-secret", "pg-port": 6432}"#,
    )
    .await;
    let extra = create_secret(
        "cfg_extra",
        r#"{"pg-sslmode": "require", "pg-user": "later-secret"}"#,
    )
    .await;
    let text = format!(
        "targets:\n  - name: warehouse\n    connector-name: postgres\n    secret: [{db}, {extra}]\n    pg-port: 5432\n"
    );
    let secrets = SecretsManager::new(&support::moto_sdk_config());
    let config = Config::from_yaml_str_with_env(&text, "raito.yml", &secrets, &env(&[]))
        .await
        .unwrap();
    let params = &config.targets[0].parameters;

    assert_eq!(
        params.u16("pg-port").unwrap(),
        Some(5432),
        "a written key wins over the secret"
    );
    assert!(!params.is_sensitive("pg-port"));
    assert_eq!(
        params.string("pg-user").unwrap().as_deref(),
        Some("later-secret"),
        "a later secret wins"
    );
    assert_eq!(
        params
            .secret("pg-password")
            .unwrap()
            .unwrap()
            .expose_secret(),
        "pw-from-secret"
    );
    assert_eq!(
        params.string("pg-sslmode").unwrap().as_deref(),
        Some("require")
    );
    for key in ["pg-user", "pg-password", "pg-sslmode"] {
        assert!(params.is_sensitive(key), "{key} came from a secret");
    }
    assert!(!params.contains("secret"));
}

#[tokio::test]
async fn moto_secret_references_read_a_field_or_the_whole_secret() {
    let api = create_secret("cfg_api", r#"{"api-secret": "api-pw", "port": 5433}"#).await;
    let whole = create_secret("cfg_whole", "just-a-string").await;
    let text = format!(
        r#"
api-secret: "{{{{secret:{api}#api-secret}}}}"
targets:
  - name: warehouse
    connector-name: postgres
    pg-port: "{{{{ secret:{api}#port }}}}"
    pg-certificates: ["{{{{secret:{whole}}}}}"]
"#
    );
    let secrets = SecretsManager::new(&support::moto_sdk_config());
    let config = Config::from_yaml_str_with_env(&text, "raito.yml", &secrets, &env(&[]))
        .await
        .unwrap();

    assert_eq!(config.api_secret.unwrap().expose_secret(), "api-pw");
    let params = &config.targets[0].parameters;
    assert_eq!(params.u16("pg-port").unwrap(), Some(5433));
    assert!(params.is_sensitive("pg-port"));
    assert_eq!(params.list("pg-certificates").unwrap(), ["just-a-string"]);
    assert!(params.is_sensitive("pg-certificates"));
}

#[tokio::test]
async fn moto_a_missing_secret_or_field_is_named_with_what_to_check() {
    let secrets = SecretsManager::new(&support::moto_sdk_config());
    let missing = support::unique_name("cfg_missing");
    let text = format!(
        "targets:\n  - name: w\n    connector-name: postgres\n    pg-password: \"{{{{secret:{missing}#pw}}}}\"\n"
    );
    let err = Config::from_yaml_str_with_env(&text, "raito.yml", &secrets, &env(&[]))
        .await
        .unwrap_err();
    assert!(
        matches!(err.secret_error(), Some(SecretError::NotFound { name, .. }) if *name == missing),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "raito.yml: target \"w\": key \"pg-password\": secret \"{missing}\" was not found"
        )),
        "{message}"
    );
    assert!(message.contains("region"), "{message}");

    let db = create_secret("cfg_nofield", r#"{"pw": "hidden-value"}"#).await;
    let text = format!(
        "targets:\n  - name: w\n    connector-name: postgres\n    pg-password: \"{{{{secret:{db}#password}}}}\"\n"
    );
    let err = Config::from_yaml_str_with_env(&text, "raito.yml", &secrets, &env(&[]))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("secret \"{db}\" has no field \"password\"")),
        "{message}"
    );
    assert!(!message.contains("hidden-value"), "{message}");

    let not_json = create_secret("cfg_notjson", "not json at all").await;
    let text =
        format!("targets:\n  - name: w\n    connector-name: postgres\n    secret: {not_json}\n");
    let err = Config::from_yaml_str_with_env(&text, "raito.yml", &secrets, &env(&[]))
        .await
        .unwrap_err();
    assert!(
        matches!(err.secret_error(), Some(SecretError::NotJson { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not json at all"), "{err}");
}

#[tokio::test]
async fn moto_secrets_manager_keeps_a_secret_until_its_ttl_runs_out() {
    let name = create_secret("cfg_cache", "first").await;
    let client = aws_sdk_secretsmanager::Client::new(&support::moto_sdk_config());
    let cached = SecretsManager::new(&support::moto_sdk_config());
    let uncached = SecretsManager::new(&support::moto_sdk_config()).with_ttl(Some(Duration::ZERO));
    assert_eq!(
        cached.secret_string(&name).await.unwrap().expose_secret(),
        "first"
    );

    client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("second")
        .send()
        .await
        .unwrap();

    assert_eq!(
        cached.secret_string(&name).await.unwrap().expose_secret(),
        "first"
    );
    assert_eq!(
        uncached.secret_string(&name).await.unwrap().expose_secret(),
        "second"
    );
}

/// The webhook receiver reads raito.yml for the targets' names and ids only, with no secret
/// read: every `{{secret:...}}` value reads as absent and `secret:` merges nothing.
#[tokio::test]
async fn a_config_read_for_routing_reads_no_secret() {
    let text = "targets:\n  - name: wh\n    connector-name: postgresql\n    data-source-id: ds-1\n    \
                secret: prod/warehouse\n    pg-host: db\n    pg-user: u\n    \
                pg-password: \"{{secret:prod/pg#password}}\"\n";
    let config = Config::from_yaml_str_with_env(
        text,
        "raito.yml",
        &raito_common::aws::secrets::Unread,
        &env(&[]),
    )
    .await
    .expect("parses without reading a secret");
    let target = &config.targets[0];
    assert_eq!(target.data_source_id.as_deref(), Some("ds-1"));
    assert!(!target.parameters.contains("pg-password"), "left unread");
    // The same file with a real source needs the secrets.
    assert!(parse(text, &[]).await.is_err());
}
