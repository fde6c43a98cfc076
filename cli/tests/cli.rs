//! `raito-sync` as a user runs it: the real binary, real PostgreSQL, exit codes and the
//! one-line errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

/// The test PostgreSQL's settings, or a panic naming the command that starts it.
use test_support::required_env as pg;

fn raito_sync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raito-sync"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("CLI_TEST_PG_PASSWORD", "unused")
        .output()
        .expect("run raito-sync")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("raito.yml");
    let yaml = format!(
        "targets:\n  - name: warehouse\n    connector-name: postgresql\n    data-source-id: ds-1\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: \"{{{{CLI_TEST_PG_PASSWORD}}}}\"\n    \
         pg-sslmode: require\n{extra}",
        pg("RAITO_TEST_PG_HOST"),
        pg("RAITO_TEST_PG_PORT"),
        pg("RAITO_TEST_PG_USER"),
    );
    std::fs::write(&path, yaml).expect("write config");
    path
}

/// A Raito stand-in with `config`, on a free loopback port.
async fn raito(config: raito_standin::Config) -> raito_standin::StandIn {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    raito_standin::start(listener, config).await
}

/// `raito-sync run --config CONFIG` against `standin` (polling it every 50 ms), with the
/// top-level `api-secret` in `CLI_TEST_API_SECRET`.
fn run_command(
    standin: &raito_standin::StandIn,
    config: &std::path::Path,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_raito-sync"));
    command
        .args(["run", "--config", config.to_str().expect("utf-8")])
        .args(["--raito-url", &standin.base_url()])
        .args(["--cognito-endpoint", &standin.cognito_url()])
        .args(["--poll-interval", "0.05"])
        .env("CLI_TEST_API_SECRET", "api-secret");
    command
}

#[test]
fn help_documents_every_command_and_option() {
    let output = raito_sync(&["metadata", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in ["--config", "--target", "--out", "--print-meta", "s3://"] {
        assert!(help.contains(option), "{option} is documented:\n{help}");
    }
    let top = String::from_utf8_lossy(&raito_sync(&["--help"]).stdout).into_owned();
    assert!(
        top.contains("metadata") && top.contains("{{secret:NAME#field}}"),
        "{top}"
    );
    assert!(
        top.contains("status") && top.contains("RAITO_PROGRESS_INTERVAL_MS"),
        "{top}"
    );
    let status = String::from_utf8_lossy(&raito_sync(&["status", "--help"]).stdout).into_owned();
    for option in [
        "--config",
        "--bucket",
        "RAITO_BUCKET",
        "BucketName",
        "--last",
    ] {
        assert!(status.contains(option), "{option} is documented:\n{status}");
    }
}

#[test]
fn a_missing_config_file_fails_with_one_clear_line() {
    let output = raito_sync(&[
        "metadata",
        "--config",
        "/nonexistent/raito.yml",
        "--target",
        "x",
        "--out",
        "/tmp/x.json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("raito-sync: error:") && message.contains("/nonexistent/raito.yml")
    );
}

#[test]
fn an_unknown_target_lists_the_targets_there_are() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "");
    let output = raito_sync(&[
        "metadata",
        "--config",
        config.to_str().expect("utf-8"),
        "--target",
        "nope",
        "--print-meta",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("\"nope\"") && message.contains("warehouse"),
        "{message}"
    );
}

#[test]
fn print_meta_prints_the_data_source_metadata_as_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "");
    let output = Command::new(env!("CARGO_BIN_EXE_raito-sync"))
        .args(["metadata", "--config", config.to_str().expect("utf-8")])
        .args(["--target", "warehouse", "--print-meta"])
        .env("CLI_TEST_PG_PASSWORD", "unused")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let types: Vec<&str> = meta["dataObjectTypes"]
        .as_array()
        .expect("dataObjectTypes")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert!(
        types.contains(&"database") && types.contains(&"column"),
        "{types:?}"
    );
    assert_eq!(meta["type"], "postgresql");
}

#[test]
fn metadata_writes_the_import_file_and_a_readable_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "    pg-excluded-schemas: [public]\n");
    let out = dir.path().join("objects.json");
    let output = Command::new(env!("CARGO_BIN_EXE_raito-sync"))
        .args(["metadata", "--config", config.to_str().expect("utf-8")])
        .args([
            "--target",
            "warehouse",
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .env("CLI_TEST_PG_PASSWORD", pg("RAITO_TEST_PG_PASSWORD"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run");
    let summary = stderr(&output);
    assert!(output.status.success(), "{summary}");
    assert!(
        !summary.contains(&pg("RAITO_TEST_PG_PASSWORD")),
        "the password is never printed"
    );
    let objects: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("output")).expect("JSON array");
    assert_eq!(objects[0]["type"], "datasource");
    assert_eq!(objects[0]["externalId"], "ds-1");
    assert!(
        objects
            .iter()
            .any(|o| o["type"] == "database" && o["name"] == "postgres")
    );
    assert!(
        summary.contains("data source sync of target \"warehouse\""),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} objects", objects.len())),
        "{summary}"
    );
    assert!(summary.contains(out.to_str().expect("utf-8")), "{summary}");
}

#[test]
fn identities_writes_the_users_and_groups_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "");
    let (users, groups) = (
        dir.path().join("users.json"),
        dir.path().join("groups.json"),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_raito-sync"))
        .args(["identities", "--config", config.to_str().expect("utf-8")])
        .args(["--target", "warehouse"])
        .args(["--out-users", users.to_str().expect("utf-8")])
        .args(["--out-groups", groups.to_str().expect("utf-8")])
        .env("CLI_TEST_PG_PASSWORD", pg("RAITO_TEST_PG_PASSWORD"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let users: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&users).expect("users")).expect("JSON");
    let me = pg("RAITO_TEST_PG_USER");
    assert!(
        users.iter().any(|u| u["externalId"] == me.as_str()),
        "{users:?}"
    );
    let groups: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&groups).expect("groups")).expect("JSON");
    assert!(groups.iter().all(|g| g["externalId"].is_string()));
    assert!(stderr(&output).contains("identity store sync of target \"warehouse\""));
}

#[test]
fn an_unset_environment_variable_names_the_file_target_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "");
    let output = Command::new(env!("CARGO_BIN_EXE_raito-sync"))
        .args(["metadata", "--config", config.to_str().expect("utf-8")])
        .args(["--target", "warehouse", "--out", "/tmp/unused.json"])
        .env_remove("CLI_TEST_PG_PASSWORD")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    for part in [
        "raito.yml",
        "warehouse",
        "pg-password",
        "CLI_TEST_PG_PASSWORD",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_reports_each_target_to_raito_like_the_raito_cli() {
    let standin = raito(raito_standin::Config {
        data_sources: vec!["ds-1".into()],
        identity_stores: vec!["is-1".into()],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    std::fs::write(
        &config,
        format!(
            "domain: demo\napi-user: api-user\napi-secret: \"{{{{CLI_TEST_API_SECRET}}}}\"\n\
             targets:\n  - name: warehouse\n    connector-name: postgresql\n    data-source-id: ds-1\n    \
             identity-store-id: is-1\n    \
             pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: \"{{{{CLI_TEST_PG_PASSWORD}}}}\"\n    \
             pg-sslrootcert: {}\n    \
             pg-excluded-schemas: [public]\n  - name: no-data-source\n    connector-name: postgresql\n    \
             pg-host: h\n    pg-user: u\n",
            pg("RAITO_TEST_PG_HOST"),
            pg("RAITO_TEST_PG_PORT"),
            pg("RAITO_TEST_PG_USER"),
            // No pg-sslmode: the default, verify-full, against the test server's CA.
            pg("RAITO_TEST_PG_CA_CERT"),
        ),
    )
    .expect("write config");
    let stage = dir.path().join("staged");
    let output = run_command(&standin, &config)
        .args(["--stage-dir", stage.to_str().expect("utf-8")])
        .env("CLI_TEST_PG_PASSWORD", pg("RAITO_TEST_PG_PASSWORD"))
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");
    assert_eq!(
        summary["targets"][1]["status"], "skipped",
        "no data-source-id"
    );

    let state = standin.state();
    let objects = state.data_objects("ds-1");
    assert_eq!(objects[0].r#type, "datasource");
    assert!(
        objects
            .iter()
            .any(|o| o.r#type == "database" && o.name == "postgres")
    );
    assert_eq!(state.jobs.len(), 1, "one job for both steps");
    assert_eq!(state.jobs[0].status(), "COMPLETED");
    assert_eq!(state.end_of_targets_syncs.len(), 1);
    for step in ["DS", "IS", "DA"] {
        let last = state.task_events_of(step).last().map(|e| e.status.clone());
        assert_eq!(last.as_deref(), Some("COMPLETED"), "{step}");
    }
    assert!(
        state
            .users("is-1")
            .iter()
            .any(|u| u.user_name == "raito_test"),
        "the cluster's roles were imported"
    );
    let staged = summary["targets"][0]["steps"][0]["staged"][0]
        .as_str()
        .expect("staged file");
    assert!(std::path::Path::new(staged).starts_with(&stage), "{staged}");
}

/// `raito-sync run` with a Snowflake target: the account's objects and users reach Raito in one
/// job, as the Go CLI with its Snowflake plugin would send them, the key read from the
/// environment and never printed.
#[tokio::test(flavor = "multi_thread")]
async fn run_syncs_a_snowflake_account_to_raito() {
    let key = include_str!("../../dev/test-keys/client.key");
    let public = include_str!("../../dev/test-keys/client.pub");
    let account = snowflake_standin::generate(200, 25).with_sync_user("RAITO_SYNC", public);
    let account_users = account.users.len();
    let snowflake = snowflake_standin::start(account, snowflake_standin::Options::default()).await;
    let standin = raito(raito_standin::Config {
        data_sources: vec!["ds-sf".into()],
        identity_stores: vec!["is-sf".into()],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    std::fs::write(
        &config,
        format!(
            "domain: demo\napi-user: api-user\napi-secret: \"{{{{CLI_TEST_API_SECRET}}}}\"\n\
             targets:\n  - name: snowflake\n    connector-name: snowflake\n    \
             data-source-id: ds-sf\n    identity-store-id: is-sf\n    sf-account: raito-standin\n    \
             sf-user: RAITO_SYNC\n    sf-role: RAITO_SYNC\n    sf-host: {}\n    \
             sf-private-key: \"{{{{CLI_TEST_SF_KEY}}}}\"\n",
            snowflake.url
        ),
    )
    .expect("write config");
    let output = run_command(&standin, &config)
        .env("CLI_TEST_SF_KEY", key)
        .env("RUST_LOG", "info")
        .output()
        .await
        .expect("run");
    let printed = format!(
        "{}{}",
        stderr(&output),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.status.success(), "{printed}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
    assert_eq!(summary["targets"][0]["status"], "completed", "{summary}");

    let state = standin.state();
    assert_eq!(state.jobs.len(), 1, "one job for both steps");
    assert_eq!(state.jobs[0].status(), "COMPLETED");
    for step in ["DS", "IS"] {
        let last = state.task_events_of(step).last().map(|e| e.status.clone());
        assert_eq!(last.as_deref(), Some("COMPLETED"), "{step}");
    }
    let objects = state.data_objects("ds-sf");
    assert_eq!(
        (objects[0].r#type.as_str(), objects[0].name.as_str()),
        ("datasource", "RAITO-STANDIN"),
        "the account, named as the Go plugin names it"
    );
    let columns = objects.iter().filter(|o| o.r#type == "column").count();
    assert!(columns >= 200, "every column: {columns}");
    assert_eq!(
        state.metadata["ds-sf"]["dataObjectTypes"][0]["name"], "datasource",
        "the Go plugin's permission model"
    );
    let users = state.users("is-sf");
    assert!(
        users.iter().any(|u| u.user_name == "RAITO_SYNC"),
        "the account's users"
    );
    assert_eq!(users.len(), account_users, "every user");
    // No line of the output carries the key.
    let key_body = key.lines().nth(1).expect("a PEM body line");
    assert!(!printed.contains(key_body), "the key was printed");
}

/// Two targets of one raito.yml in two Raito organisations: the second writes its own
/// `domain`, `api-user` and `api-secret` (raito-io/cli internal/target/target.go: a target's
/// values win over the top-level ones). Each signs in to its own organisation, its job is
/// created there and `endOfTargetsSync` is sent to each organisation for its own job. Each
/// step's log reaches its task (log forwarding), except where raito.yml turns it off.
#[tokio::test]
async fn targets_with_their_own_credentials_report_to_their_own_organisation() {
    let standin = raito(raito_standin::Config {
        data_sources: vec!["ds-a".into(), "ds-b".into()],
        identity_stores: vec!["is-a".into(), "is-b".into()],
        other_organizations: vec![raito_standin::Organization {
            domain: "other-org".into(),
            api_user: "other-user".into(),
            api_secret: "other-secret".into(),
        }],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    let pg_keys = format!(
        "    pg-host: {}\n    pg-port: {}\n    pg-user: {}\n    pg-password: \"{{{{CLI_TEST_PG_PASSWORD}}}}\"\n    \
         pg-sslrootcert: {}\n    pg-excluded-schemas: [public]\n",
        pg("RAITO_TEST_PG_HOST"),
        pg("RAITO_TEST_PG_PORT"),
        pg("RAITO_TEST_PG_USER"),
        pg("RAITO_TEST_PG_CA_CERT"),
    );
    std::fs::write(
        &config,
        format!(
            "domain: demo\napi-user: api-user\napi-secret: api-secret\n\
             disable-log-forwarding-identity-store-sync: true\n\
             targets:\n  - name: a\n    connector-name: postgresql\n    data-source-id: ds-a\n    \
             identity-store-id: is-a\n{pg_keys}\
             \x20 - name: b\n    connector-name: postgresql\n    data-source-id: ds-b\n    \
             identity-store-id: is-b\n    \
             domain: Other-Org\n    api-user: other-user\n    api-secret: \"{{{{CLI_TEST_OTHER_SECRET}}}}\"\n{pg_keys}"
        ),
    )
    .expect("write config");
    let output = run_command(&standin, &config)
        .args(["--only", "metadata", "--only", "identities"])
        .args(["--log-format", "json"])
        .env("CLI_TEST_PG_PASSWORD", pg("RAITO_TEST_PG_PASSWORD"))
        .env("CLI_TEST_OTHER_SECRET", "other-secret")
        .env("RUST_LOG", "info")
        .output()
        .await
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("other-secret"),
        "no secret in the log"
    );

    let state = standin.state();
    let job_of = |ds: &str| {
        state
            .jobs
            .iter()
            .find(|job| job.data_source_id.as_deref() == Some(ds))
            .unwrap_or_else(|| panic!("a job for {ds}"))
    };
    let (a, b) = (job_of("ds-a"), job_of("ds-b"));
    assert_eq!(a.organization, "demo");
    assert_eq!(b.organization, "other-org", "the target's own organisation");
    assert_eq!((a.status(), b.status()), ("COMPLETED", "COMPLETED"));
    let mut ends = state.end_of_targets_syncs.clone();
    ends.sort();
    let mut expected = vec![vec![a.id.clone()], vec![b.id.clone()]];
    expected.sort();
    assert_eq!(ends, expected, "endOfTargetsSync per organisation");
    assert_eq!(state.data_objects("ds-b")[0].r#type, "datasource");

    // Each DS task has its log, JSON lines of that target and step; the IS logs are off.
    for (job, target) in [(a, "a"), (b, "b")] {
        let logs = state.task_logs_of(&job.id, "DS");
        assert_eq!(logs.len(), 1, "one log for the DS task of {target}");
        let lines: Vec<serde_json::Value> = logs[0]
            .text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert!(
            lines.iter().any(|l| l["fields"]["message"]
                .as_str()
                .or(l["message"].as_str())
                .is_some_and(|m| m.contains("data source sync completed"))),
            "{}",
            logs[0].text
        );
        assert!(
            logs[0].text.contains(&format!("\"target\":\"{target}\"")),
            "{}",
            logs[0].text
        );
        assert!(!logs[0].text.contains("other-secret"));
        assert!(state.task_logs_of(&job.id, "IS").is_empty(), "turned off");
    }
}

/// The statement lines of a plan or apply output (its `--` comment lines left out).
fn statements(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| !line.starts_with("--") && !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn access_plan_prints_what_apply_then_runs_and_a_second_plan_has_nothing_to_do() {
    let database = test_support::unique_name("cliacc");
    let user = test_support::unique_name("clireader");
    let legacy = test_support::unique_name("clilegacy");
    let hint = test_support::unique_name("cli_analysts");
    // Raito's ids are unique; the test cluster outlives one test run.
    let id = test_support::unique_name("analysts");
    test_support::create_database(
        &database,
        &format!(
            "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int);
             CREATE ROLE {user} LOGIN; CREATE ROLE {legacy};
             GRANT SELECT ON sales.orders TO {legacy};"
        ),
    )
    .await;
    let others: Vec<String> = test_support::databases_except(&[&database])
        .await
        .iter()
        .map(|name| format!("\"{}\"", name.replace('"', "\"\"")))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        &format!(
            "    pg-database: {database}\n    pg-excluded-databases: '{}'\n",
            others.join(", ").replace('\'', "''")
        ),
    );
    let file = dir.path().join("access.yaml");
    std::fs::write(
        &file,
        format!(
            "accessProviders:\n  - id: {id}\n    name: Analysts\n    namingHint: {hint}\n    \
             action: grant\n    who: {{users: [{user}]}}\n    what:\n      - dataObject: \
             {{fullName: {database}.sales.orders, type: table}}\n        permissions: [SELECT]\n"
        ),
    )
    .expect("write the access file");
    let access = |verb: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_raito-sync"))
            .args(["access", verb, "--config", config.to_str().expect("utf-8")])
            .args(["--target", "warehouse"])
            .args(extra)
            .env("CLI_TEST_PG_PASSWORD", pg("RAITO_TEST_PG_PASSWORD"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run")
    };
    let file_arg = file.to_str().expect("utf-8");
    let role_exists = || async {
        test_support::pg_admin("postgres")
            .await
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&hint])
            .await
            .expect("query")
            .is_some()
    };

    let plan = access("plan", &["--file", file_arg]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let planned = statements(&plan.stdout);
    assert!(
        planned.iter().any(|s| s.starts_with("CREATE ROLE"))
            && planned.iter().any(|s| s.starts_with("GRANT")),
        "{planned:?}"
    );
    assert!(!role_exists().await, "a plan changes nothing");

    let feedback = dir.path().join("feedback.json");
    let apply = access(
        "apply",
        &[
            "--file",
            file_arg,
            "--feedback",
            feedback.to_str().expect("utf-8"),
        ],
    );
    assert!(apply.status.success(), "{}", stderr(&apply));
    assert_eq!(
        statements(&apply.stdout),
        planned,
        "apply runs exactly the plan"
    );
    assert!(role_exists().await);
    let feedback: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&feedback).expect("feedback")).expect("JSON");
    // Go's nested shape (raito-io/cli base/access_provider/sync_to_target/model.go).
    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0]["externalId"], id.as_str());
    assert_eq!(feedback[0]["access"][0]["accessId"], id.as_str());
    assert_eq!(feedback[0]["access"][0]["actualName"], hint.as_str());
    assert_eq!(feedback[0]["access"][0]["errors"], serde_json::Value::Null);

    let again = access("plan", &["--file", file_arg]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        statements(&again.stdout).is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));

    let out = dir.path().join("access-providers.json");
    let import = access("import", &["--out", out.to_str().expect("utf-8")]);
    assert!(import.status.success(), "{}", stderr(&import));
    let imported: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("import")).expect("JSON");
    let names: Vec<&str> = imported
        .iter()
        .filter_map(|ap| ap["externalId"].as_str())
        .collect();
    assert!(names.contains(&legacy.as_str()), "{names:?}");
    assert!(
        !names.contains(&hint.as_str()),
        "Raito's own role is not imported: {names:?}"
    );
}

/// `access export` asks Raito for the export in a job of its own, waits for it and keeps the
/// file exactly as Raito serves it; a download that fails leaves no file and fails the job.
#[tokio::test(flavor = "multi_thread")]
async fn access_export_keeps_raitos_file_and_reports_the_job() {
    let standin = raito(raito_standin::Config {
        data_sources: vec!["ds-1".into()],
        ..Default::default()
    })
    .await;
    standin
        .put_access_provider(
            "ds-1",
            serde_json::json!({
                "id": "ap-1", "name": "Analysts", "namingHint": "analysts", "action": "grant",
                "who": {"users": ["alice"]},
                "what": [{"dataObject": {"fullName": "db.sales.orders", "type": "table"},
                          "permissions": ["SELECT"]}]
            }),
        )
        .expect("seed an access provider");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    // No database is reached: the export needs only Raito.
    std::fs::write(
        &config,
        "domain: demo\napi-user: api-user\napi-secret: api-secret\ntargets:\n  - name: warehouse\n    \
         connector-name: postgresql\n    data-source-id: ds-1\n    pg-host: unused\n    pg-user: u\n",
    )
    .expect("write config");
    let export = async |out: &std::path::Path| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_raito-sync"))
            .args([
                "access",
                "export",
                "--config",
                config.to_str().expect("utf-8"),
            ])
            .args([
                "--target",
                "warehouse",
                "--out",
                out.to_str().expect("utf-8"),
            ])
            .args(["--raito-url", &standin.base_url()])
            .args(["--cognito-endpoint", &standin.cognito_url()])
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run")
    };
    let partial = |out: &std::path::Path| {
        let mut name = out.as_os_str().to_owned();
        name.push(".partial");
        std::path::PathBuf::from(name)
    };

    let out = dir.path().join("export.yaml");
    let exported = export(&out).await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let text = std::fs::read_to_string(&out).expect("the export");
    assert!(
        text.contains("accessProviders") && text.contains("ap-1"),
        "{text}"
    );
    assert!(!partial(&out).exists());
    assert!(
        stderr(&exported).contains(&format!("({} bytes)", text.len())),
        "{}",
        stderr(&exported)
    );
    let state = standin.state();
    assert_eq!(state.jobs.len(), 1);
    assert_eq!(state.jobs[0].status(), "COMPLETED");

    standin.inject(raito_standin::Fault::status("exportDownload", 403, 1));
    let refused = dir.path().join("refused.yaml");
    let failed = export(&refused).await;
    assert_eq!(failed.status.code(), Some(1));
    let message = stderr(&failed);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert_eq!(message.matches("HTTP 403").count(), 1, "{message}");
    assert!(!refused.exists() && !partial(&refused).exists(), "no file");
    let state = standin.state();
    assert_eq!(state.jobs.len(), 2);
    assert_eq!(state.jobs[1].status(), "FAILED");
    let errors = &state.jobs[1].history.last().expect("the update").errors;
    assert!(errors.iter().any(|e| e.contains("HTTP 403")), "{errors:?}");
}

#[test]
fn connectors_lists_every_connector_with_its_syncs_and_parameters() {
    let output = raito_sync(&["connectors"]);
    assert!(output.status.success(), "{output:?}");
    let listing = String::from_utf8(output.stdout).unwrap();
    // The default build has every connector; PostgreSQL with all four syncs.
    assert!(
        listing.contains("postgresql\n  syncs: metadata, identities, access, usage\n"),
        "{listing}"
    );
    assert!(
        listing.contains("okta (replaces raito-io/cli-plugin-okta)\n  syncs: identities\n"),
        "{listing}"
    );
    assert!(listing.contains("entra-id (replaces raito-io/cli-plugin-azure-ad)"));
    assert!(listing.contains("ldap\n  syncs: identities\n"));
    let pg_parameters = listing
        .lines()
        .skip_while(|l| *l != "postgresql")
        .nth(2)
        .unwrap();
    assert!(
        pg_parameters.starts_with("  parameters: pg-host, pg-port, pg-user, pg-password"),
        "{pg_parameters}"
    );
}

/// Access as code against a Snowflake account: `access plan` prints the statements and changes
/// nothing, `access apply` runs exactly them (over multi-statement requests) and writes the
/// feedback, and a second plan has nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn access_plan_and_apply_work_on_a_snowflake_account() {
    let key = include_str!("../../dev/test-keys/client.key");
    let public = include_str!("../../dev/test-keys/client.pub");
    let account = snowflake_standin::generate(200, 25).with_sync_user("RAITO_SYNC", public);
    let table = account
        .databases
        .iter()
        .flat_map(|db| db.schemas.iter().map(move |s| (db, s)))
        .find_map(|(db, s)| {
            let t = s.tables.iter().find(|t| t.name.starts_with("T_"))?;
            Some(format!("{}.{}.{}", db.name, s.name, t.name))
        })
        .expect("a generated table");
    let user = account.users[0].name.clone();
    let snowflake = snowflake_standin::start(account, snowflake_standin::Options::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    std::fs::write(
        &config,
        format!(
            "targets:\n  - name: snowflake\n    connector-name: snowflake\n    \
             data-source-id: ds-sf\n    sf-account: raito-standin\n    sf-user: RAITO_SYNC\n    \
             sf-role: RAITO_SYNC\n    sf-host: {}\n    sf-private-key: \"{{{{CLI_TEST_SF_KEY}}}}\"\n",
            snowflake.url
        ),
    )
    .expect("write config");
    let file = dir.path().join("access.yaml");
    std::fs::write(
        &file,
        format!(
            "accessProviders:\n  - id: ap-sf\n    name: Readers\n    namingHint: readers\n    \
             action: grant\n    who: {{users: [{user}]}}\n    what:\n      - dataObject: \
             {{fullName: '{table}', type: table}}\n        permissions: [SELECT]\n"
        ),
    )
    .expect("write the access file");
    let access = |verb: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_raito-sync"))
            .args(["access", verb, "--config", config.to_str().expect("utf-8")])
            .args(["--target", "snowflake"])
            .args(extra)
            .env("CLI_TEST_SF_KEY", key)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run")
    };
    let file_arg = file.to_str().expect("utf-8");

    let plan = access("plan", &["--file", file_arg]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let planned = statements(&plan.stdout);
    assert!(
        planned[0].starts_with("CREATE ROLE IF NOT EXISTS \"READERS\"")
            && planned.contains(&format!("GRANT ROLE \"READERS\" TO USER \"{user}\";")),
        "{planned:?}"
    );
    let writes = |texts: &[String]| {
        texts
            .iter()
            .filter(|s| {
                let s = s.to_ascii_uppercase();
                !s.starts_with("SHOW") && !s.starts_with("SELECT")
            })
            .count()
    };
    assert_eq!(writes(&snowflake.statements()), 0, "a plan changes nothing");

    let feedback = dir.path().join("feedback.json");
    let apply = access(
        "apply",
        &[
            "--file",
            file_arg,
            "--feedback",
            feedback.to_str().expect("utf-8"),
        ],
    );
    assert!(apply.status.success(), "{}", stderr(&apply));
    assert_eq!(
        statements(&apply.stdout),
        planned,
        "apply runs exactly the plan"
    );
    assert_eq!(
        writes(&snowflake.statements()),
        1,
        "one multi-statement request"
    );
    let feedback: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&feedback).expect("feedback")).expect("JSON");
    assert_eq!(feedback[0]["access"][0]["actualName"], "READERS");
    assert_eq!(feedback[0]["access"][0]["errors"], serde_json::Value::Null);

    let again = access("plan", &["--file", file_arg]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        statements(&again.stdout).is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

/// `raito-sync status --config FILE` with the moto server's AWS environment.
fn status_command(config: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_raito-sync"));
    command
        .args(["status", "--config", config.to_str().expect("utf-8")])
        .env("AWS_ENDPOINT_URL", test_support::moto_url())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("RAITO_BUCKET")
        .env_remove("CLI_TEST_UNSET")
        .env("RUST_LOG", "warn");
    command
}

/// A new bucket of the moto server, and its (empty) run history.
async fn history_bucket(prefix: &str) -> (raito_common::history::History, String) {
    let client = raito_common::aws::s3_client(&test_support::moto_sdk_config());
    let bucket = test_support::unique_name(prefix).replace('_', "-");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create a bucket in moto (is it running?)");
    let history = raito_common::history::History::new(client, bucket.clone());
    (history, bucket)
}

/// `status` prints the last runs of each step and target, newest first, from the records the
/// functions write: the targets of raito.yml in its order (read without its secrets or
/// variables), then a target with runs that is no longer in it, marked so; a failure with its
/// kind and message; `--last` (default 5) runs per target, the bucket from `--bucket` or
/// `RAITO_BUCKET`.
#[tokio::test(flavor = "multi_thread")]
async fn status_prints_the_last_runs_per_target_and_step() {
    use raito_common::history::Record;
    use raito_common::metrics::Counted;
    use raito_common::step::Step;

    let (history, bucket) = history_bucket("status").await;
    // 2026-12-07 13:37:03 UTC, plus `minute` minutes.
    let run = |target: &str, step: Step, minute: u64, failure: Option<(&str, &str)>| Record {
        target: target.to_owned(),
        step: step.name().to_owned(),
        finished_at_ms: 1_796_650_623_000 + minute * 60_000,
        elapsed_ms: 1_000 + minute * 100,
        status: if failure.is_some() {
            "failed"
        } else {
            "completed"
        }
        .to_owned(),
        counts: [("table".to_owned(), minute)].into(),
        counted: Counted {
            written: minute,
            statements: 2 * minute,
            requests: 3 * minute,
        },
        message: failure.map(|(_, message)| message.to_owned()),
        error_kind: failure.map(|(kind, _)| kind.to_owned()),
        job_id: None,
    };
    let mut records = Vec::new();
    // Seven runs of the warehouse's metadata, one a minute, recorded out of order.
    for minute in [3, 1, 7, 5, 2, 6, 4] {
        records.push((
            Step::DataSource,
            run("warehouse", Step::DataSource, minute, None),
        ));
    }
    records.push((
        Step::DataSource,
        run(
            "lake",
            Step::DataSource,
            9,
            Some(("TimedOut", "the step ran\nout of time")),
        ),
    ));
    records.push((
        Step::IdentityStore,
        run("warehouse", Step::IdentityStore, 8, None),
    ));
    records.push((Step::DataUsage, run("retired", Step::DataUsage, 10, None)));
    for (i, (step, record)) in records.iter().enumerate() {
        history
            .record(*step, record, &format!("invocation-{i}"))
            .await
            .expect("record a run");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    // Neither the secrets nor the variables exist here: only the names are read.
    std::fs::write(
        &config,
        "api-secret: \"{{secret:raito/api#api-secret}}\"\ntargets:\n  - name: warehouse\n    \
         connector-name: postgresql\n    secret: raito-sync/warehouse\n    \
         pg-password: \"{{CLI_TEST_UNSET}}\"\n  - name: lake\n    connector-name: snowflake\n    \
         sf-private-key: \"{{secret:raito-sync/lake#key}}\"\n  - name: quiet\n    \
         connector-name: postgresql\n",
    )
    .expect("write config");

    let output = status_command(&config)
        .args(["--bucket", &bucket])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 1 + 1 + 1, "{table}");
    assert!(lines[0].starts_with("STEP "), "{table}");
    let when = |minute: u64| format!("2026-12-07 13:{:02}:03", 37 + minute);
    // The warehouse's last five, newest first.
    // The cells of a line, cut where the header's columns start (the table is ASCII here).
    let starts: Vec<usize> = raito_common::history::COLUMNS
        .iter()
        .map(|column| lines[0].find(column).expect("the column's header"))
        .collect();
    let cells = |line: &str| -> Vec<String> {
        (0..starts.len())
            .map(|i| {
                let end = starts
                    .get(i + 1)
                    .copied()
                    .unwrap_or(line.len())
                    .min(line.len());
                line.get(starts[i].min(end)..end)
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
            .collect()
    };
    for (line, minute) in lines[1..6].iter().zip([7, 6, 5, 4, 3]) {
        let sent = format!("{} stmt / {} req", 2 * minute, 3 * minute);
        assert_eq!(
            cells(line),
            [
                "data-source".to_owned(),
                "warehouse".to_owned(),
                when(minute),
                format!("{:.1} s", (1_000 + minute * 100) as f64 / 1000.0),
                "completed".to_owned(),
                format!("{minute} table"),
                sent,
                String::new(),
            ],
            "{table}"
        );
    }
    assert!(!table.contains(&when(2)), "only the last five: {table}");
    let lake = cells(lines[6]);
    assert_eq!(
        (lake[0].as_str(), lake[1].as_str(), lake[2].as_str()),
        ("data-source", "lake", when(9).as_str()),
        "{table}"
    );
    assert_eq!(lake[4], "failed", "{table}");
    assert_eq!(
        lake[7], "TimedOut: the step ran out of time",
        "the kind and the message, on one line: {table}"
    );
    let identities = cells(lines[7]);
    assert_eq!(
        (
            identities[0].as_str(),
            identities[1].as_str(),
            identities[2].as_str()
        ),
        ("identity-store", "warehouse", when(8).as_str()),
        "{table}"
    );
    let retired = cells(lines[8]);
    assert_eq!(
        (retired[0].as_str(), retired[1].as_str()),
        ("data-usage", "retired (not in raito.yml)"),
        "{table}"
    );
    assert!(
        !table.contains("quiet"),
        "a target without runs is left out"
    );

    // The bucket from RAITO_BUCKET; one run each.
    let output = status_command(&config)
        .env("RAITO_BUCKET", &bucket)
        .args(["--last", "1"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(table.lines().count(), 1 + 4, "{table}");
    assert!(table.lines().nth(1).unwrap().contains(&when(7)), "{table}");
}

/// `status` without a bucket says where to find it; an empty history says so; a bucket that
/// cannot be read is one line naming it and what to check.
#[tokio::test(flavor = "multi_thread")]
async fn status_without_a_bucket_or_runs_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    std::fs::write(
        &config,
        "targets:\n  - name: warehouse\n    connector-name: postgresql\n",
    )
    .expect("write config");

    let output = status_command(&config).output().expect("run");
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    for part in [
        "raito-sync: error:",
        "--bucket",
        "RAITO_BUCKET",
        "BucketName",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }

    let (_, empty) = history_bucket("status-empty").await;
    let output = status_command(&config)
        .args(["--bucket", &empty])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [format!(
            "no runs recorded in s3://{empty}/runs/: no sync function has run a target yet, or \
             its runs have expired"
        )]
    );

    let missing = test_support::unique_name("no-such-bucket").replace('_', "-");
    let output = status_command(&config)
        .args(["--bucket", &missing])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains(&format!("s3://{missing}/runs/"))
            && message.contains("NoSuchBucket")
            && message.contains("check the bucket"),
        "{message}"
    );
}

/// A step run with stderr not a terminal shows its progress as log lines: with
/// `--log-format json`, a "step in progress" line per interval (`RAITO_PROGRESS_INTERVAL_MS`,
/// 10 s by default) with counts that grow, then a "step finished" line with the totals, which
/// are what the step wrote; text logs get the same lines.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_step_logs_its_progress_when_stderr_is_not_a_terminal() {
    let key = include_str!("../../dev/test-keys/client.key");
    let public = include_str!("../../dev/test-keys/client.pub");
    let account = snowflake_standin::generate(3000, 5).with_sync_user("RAITO_SYNC", public);
    // Small partitions behind a network round trip: the step takes a few seconds.
    let options = snowflake_standin::Options {
        latency: std::time::Duration::from_millis(40),
        rows_per_partition: 100,
        ..Default::default()
    };
    let snowflake = snowflake_standin::start(account, options).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("raito.yml");
    std::fs::write(
        &config,
        format!(
            "targets:\n  - name: snowflake\n    connector-name: snowflake\n    \
             data-source-id: ds-sf\n    sf-account: raito-standin\n    sf-user: RAITO_SYNC\n    \
             sf-role: RAITO_SYNC\n    sf-host: {}\n    sf-private-key: \"{{{{CLI_TEST_SF_KEY}}}}\"\n",
            snowflake.url
        ),
    )
    .expect("write config");
    let out = dir.path().join("objects.json");
    let metadata = |format: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_raito-sync"))
            .args(["--log-format", format, "metadata"])
            .args(["--config", config.to_str().expect("utf-8")])
            .args([
                "--target",
                "snowflake",
                "--out",
                out.to_str().expect("utf-8"),
            ])
            .env("CLI_TEST_SF_KEY", key)
            .env("RAITO_PROGRESS_INTERVAL_MS", "100")
            .env("RUST_LOG", "warn,raito_sync::progress=info")
            .output()
    };

    let output = metadata("json").await.expect("run");
    let logs = stderr(&output);
    assert!(output.status.success(), "{logs}");
    let objects: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("output")).expect("JSON array");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &serde_json::Value| line["target"] == "raito_sync::progress")
        .collect();
    let count = |line: &serde_json::Value, field: &str| {
        line["fields"][field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {line}"))
    };
    let (last, running) = lines.split_last().expect("progress lines");
    assert_eq!(last["fields"]["message"], "step finished", "{logs}");
    assert!(running.len() >= 3, "a line per interval: {logs}");
    for line in &lines {
        assert_eq!(line["fields"]["target"], "snowflake", "{line}");
        assert_eq!(line["fields"]["step"], "data-source", "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
        for field in ["rate", "statements", "requests"] {
            count(line, field);
        }
    }
    assert!(
        running
            .iter()
            .all(|line| line["fields"]["message"] == "step in progress"),
        "{logs}"
    );
    // The counts never go back, grow while the step runs, and end at what it wrote.
    for field in ["written", "statements", "requests", "elapsed_ms"] {
        let values: Vec<u64> = lines.iter().map(|line| count(line, field)).collect();
        assert!(
            values.windows(2).all(|w| w[0] <= w[1]),
            "{field}: {values:?}"
        );
    }
    let written: Vec<u64> = lines.iter().map(|line| count(line, "written")).collect();
    assert!(
        written[0] < objects.len() as u64 && written.windows(2).any(|w| w[0] < w[1]),
        "growing: {written:?}"
    );
    assert_eq!(count(last, "written"), objects.len() as u64, "{last}");
    assert!(
        count(last, "requests") > count(&running[0], "requests"),
        "{logs}"
    );
    // Each line is an interval apart (the ticks are the interval, when under 200 ms).
    let elapsed: Vec<u64> = running
        .iter()
        .map(|line| count(line, "elapsed_ms"))
        .collect();
    assert!(
        elapsed.windows(2).all(|w| w[1] - w[0] >= 100),
        "an interval apart: {elapsed:?}"
    );

    // Text logs, stderr not a terminal: the same lines, no bar.
    let output = metadata("text").await.expect("run");
    let logs = stderr(&output);
    assert!(output.status.success(), "{logs}");
    let progress: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("step in progress") || line.contains("step finished"))
        .collect();
    assert!(progress.len() >= 2, "{logs}");
    assert!(
        progress
            .last()
            .unwrap()
            .contains(&format!("written={}", objects.len())),
        "{logs}"
    );
    assert!(
        !logs.contains('\r') && !logs.contains("\x1b["),
        "no bar: {logs:?}"
    );
}
