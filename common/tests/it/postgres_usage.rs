//! The PostgreSQL usage sync against the test cluster's real statement log (dev/services.sh
//! turns on `log_statement`, jsonlog and csvlog, and loads pgaudit), and against moto for the
//! CloudWatch Logs source: exact statements and accessed objects, incremental runs, and a run
//! cut short by its deadline then resumed.

use std::collections::BTreeSet;

use raito_common::aws::secrets::NoSecrets;
use raito_common::config::{Config, Target};
use raito_common::connector::UsageRequest;
use raito_common::connectors;
use raito_common::connectors::postgres::naming;
use raito_common::model::usage::{Statement, UNPARSED};
use raito_common::sync::Outcome;
use raito_common::sync::usage::{self as usage_step, LocalParts};
use raito_common::testing;

use crate::support::{self, let_the_second_pass, server_now};

/// The workload's schema, created by the superuser before the workload runs.
const SCHEMA: &str = r#"
CREATE SCHEMA sales;
CREATE SCHEMA "Sales.EU";
CREATE TABLE sales.orders (id int, customer text, amount numeric);
CREATE TABLE public.customers (id int, name text);
CREATE TABLE "Sales.EU"."Amount €" (id int, "Amount €" numeric);
CREATE TABLE public."orders.2024" (id int);
CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 100;
INSERT INTO public.customers VALUES (1, 'acme'), (2, 'globex');
"#;

/// A database with the schema, a workload role (search_path `sales, public` in it) and a
/// least-privileged sync role: (database, workload role, sync role, sync password).
async fn setup() -> (String, String, String, String) {
    let database = support::unique_name("usage");
    let user = support::unique_name("worker");
    let syncer = support::unique_name("syncer");
    let password = "s3cret-usage";
    support::create_database(&database, SCHEMA).await;
    let admin = support::pg_admin(&database).await;
    admin
        .batch_execute(&format!(
            r#"CREATE ROLE {user} LOGIN PASSWORD '{password}';
               ALTER ROLE {user} IN DATABASE {database} SET search_path = sales, public;
               GRANT ALL ON SCHEMA sales, "Sales.EU", public TO {user};
               GRANT ALL ON ALL TABLES IN SCHEMA sales, "Sales.EU", public TO {user};
               CREATE ROLE {syncer} LOGIN PASSWORD '{password}';
               GRANT pg_monitor TO {syncer};
               GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO {syncer};
               ALTER ROLE {syncer} SET log_statement = 'none';
               ALTER ROLE {syncer} SET log_min_duration_statement = -1;"#
        ))
        .await
        .expect("roles");
    (database, user, syncer, password.to_owned())
}

/// A target that syncs as `user`, connecting first to `database` (where its EXECUTE grant on
/// `pg_read_binary_file` is: functions belong to a database).
async fn target(user: &str, password: &str, database: &str, extra: &str) -> Target {
    let pg = support::postgres();
    let yaml = format!(
        "targets:\n  - name: pg\n    connector-name: postgresql\n    data-source-id: ds-pg\n    \
         pg-host: {}\n    pg-port: {}\n    pg-user: {user}\n    pg-password: {password}\n    \
         pg-database: {database}\n    pg-sslmode: disable\n    pg-usage-settle-seconds: 0\n{extra}",
        pg.host, pg.port
    );
    let config = Config::from_yaml_str(&yaml, "test.yml", &NoSecrets)
        .await
        .expect("valid config");
    config.targets[0].clone()
}

async fn sync(target: &Target, since: i64) -> Vec<Statement> {
    let connector = connectors::build(target).expect("valid target");
    let mut statements = Vec::new();
    connector
        .usage()
        .expect("postgresql has a usage sync")
        .sync_usage(
            &UsageRequest {
                since: Some(since),
                deadline: None,
            },
            &mut statements,
        )
        .await
        .expect("usage sync");
    statements
}

/// (query, success, sorted accessed objects as `permission fullName (type)`).
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

fn of_user<'a>(statements: &'a [Statement], user: &str) -> Vec<&'a Statement> {
    statements.iter().filter(|s| s.user == user).collect()
}

/// The workload, one statement per simple query, and what each must yield.
async fn run_workload(client: &tokio_postgres::Client, d: &str) -> Vec<Seen> {
    let t = |name: &str| format!("{d}.{name}");
    let expect = |query: &str, success: bool, objects: &[String]| -> Seen {
        let mut objects = objects.to_vec();
        objects.sort();
        (query.to_owned(), success, objects)
    };
    let mut expected = Vec::new();
    let ok = [
        (
            "SELECT o.id, c.name FROM orders o JOIN public.customers c ON c.id = o.id",
            vec![
                format!("read {} (table)", t("sales.orders")),
                format!("read {} (table)", t("public.customers")),
            ],
        ),
        (
            "WITH big AS (SELECT * FROM sales.big_orders) SELECT count(*) FROM big",
            vec![format!("read {} (view)", t("sales.big_orders"))],
        ),
        (
            "SELECT * FROM customers WHERE id IN (SELECT id FROM sales.orders)",
            vec![
                format!("read {} (table)", t("sales.orders")),
                format!("read {} (table)", t("public.customers")),
            ],
        ),
        (
            "INSERT INTO sales.orders SELECT id, name, 1 FROM public.customers",
            vec![
                format!("write {} (table)", t("sales.orders")),
                format!("read {} (table)", t("public.customers")),
            ],
        ),
        (
            r#"UPDATE "Sales.EU"."Amount €" SET "Amount €" = 2 WHERE id = 1"#,
            vec![format!("write {} (table)", t(r#""Sales.EU"."Amount €""#))],
        ),
        (
            r#"DELETE FROM public."orders.2024""#,
            vec![format!("write {} (table)", t(r#"public."orders.2024""#))],
        ),
        (
            "CREATE TABLE sales.archive (id int)",
            vec![format!("admin {} (table)", t("sales.archive"))],
        ),
        (
            "GRANT SELECT ON sales.archive TO PUBLIC",
            vec![format!("admin {} (table)", t("sales.archive"))],
        ),
        (
            r#"TRUNCATE public."orders.2024""#,
            vec![format!("write {} (table)", t(r#"public."orders.2024""#))],
        ),
    ];
    for (query, objects) in ok {
        client.batch_execute(query).await.expect(query);
        expected.push(expect(query, true, &objects));
    }
    let copy = "COPY sales.orders (id, customer, amount) FROM STDIN";
    {
        use futures::SinkExt;
        let sink = client.copy_in(copy).await.expect("copy in");
        let mut sink = std::pin::pin!(sink);
        sink.send(bytes::Bytes::from_static(b"9\tinitech\t5\n"))
            .await
            .expect("copy data");
        sink.as_mut().finish().await.expect("copy finish");
    }
    expected.push(expect(
        copy,
        true,
        &[format!("write {} (table)", t("sales.orders"))],
    ));
    let missing = "SELECT * FROM sales.nope";
    client
        .batch_execute(missing)
        .await
        .expect_err("no such table");
    expected.push(expect(missing, false, &[]));
    let garbage = "SELEC 1";
    client
        .batch_execute(garbage)
        .await
        .expect_err("syntax error");
    expected.push(expect(garbage, false, &[]));
    expected
}

/// The log formats the test cluster writes: jsonlog exists from PostgreSQL 15 on.
async fn log_formats() -> &'static [&'static str] {
    if support::server_major().await >= 15 {
        &["jsonlog", "csvlog"]
    } else {
        &["csvlog"]
    }
}

async fn workload_is_imported_exactly(log_format: &str) {
    let (database, user, syncer, password) = setup().await;
    let d = naming::component(&database);
    let target = target(
        &syncer,
        &password,
        &database,
        &format!("    pg-usage-log-format: {log_format}\n"),
    )
    .await;
    if !log_formats().await.contains(&log_format) {
        // Asked for a format the server does not write: an error that says what to change,
        // not a run that silently finds no files.
        let connector = connectors::build(&target).expect("valid target");
        let error = connector
            .usage()
            .expect("postgresql has a usage sync")
            .sync_usage(
                &UsageRequest {
                    since: None,
                    deadline: None,
                },
                &mut Vec::<Statement>::new(),
            )
            .await
            .expect_err("no such log files");
        assert!(
            error.to_string().contains(&format!(
                "pg-usage-log-format is {log_format} but the server's log_destination is \
                 \"stderr,csvlog\": it writes no {log_format} files"
            )),
            "{error}"
        );
        return;
    }
    let since = server_now().await - 1;
    let client = support::pg_as(&user, &password, &database).await;
    let expected = run_workload(&client, &d).await;
    let_the_second_pass().await;

    // Through the pipeline, with a part cap small enough to split.
    let out = tempfile::tempdir().expect("temp dir");
    let mut parts = LocalParts::new(out.path().join("usage.json"));
    let connector = connectors::build(&target).expect("valid target");
    let result = usage_step::run(
        connector.as_ref(),
        &target,
        UsageRequest {
            since: Some(since),
            deadline: None,
        },
        &mut parts,
        2_000,
    )
    .await
    .expect("usage step");
    let Outcome::Completed(report) = &result.outcome else {
        panic!("skipped: {:?}", result.outcome);
    };
    assert!(report.written.len() > 1, "split into parts: {report:?}");
    let mut statements: Vec<Statement> = Vec::new();
    for (i, written) in report.written.iter().enumerate() {
        assert_eq!(
            written.location,
            parts.path(i as u32 + 1).display().to_string()
        );
        let text = std::fs::read_to_string(&written.location).expect("part");
        assert!(
            text.len() as u64 <= 2_000 || written.elements == 1,
            "{text}"
        );
        statements.extend(serde_json::from_str::<Vec<Statement>>(&text).expect("JSON array"));
    }
    assert!(report.counts["unparsed"] >= 1, "{:?}", report.counts);

    let ours = of_user(&statements, &user);
    let got: Vec<Seen> = ours.iter().map(|s| seen(s)).collect();
    assert_eq!(got, expected);
    // Failures carry the server's error; the unparseable one says so too.
    assert!(ours[ours.len() - 2].error.starts_with("ERROR 42P01"));
    assert!(ours[ours.len() - 1].error.contains(UNPARSED));
    // Ids are unique, times ordered, ends after starts.
    let ids: BTreeSet<&str> = statements.iter().map(|s| s.external_id.as_str()).collect();
    assert_eq!(ids.len(), statements.len());
    assert!(
        statements
            .windows(2)
            .all(|w| w[0].start_time <= w[1].start_time)
    );
    assert!(
        ours.iter()
            .all(|s| s.start_time > since && s.end_time >= s.start_time)
    );
    let last = result.last_start_time.expect("a last start time");
    assert_eq!(last, statements.last().unwrap().start_time);

    // A second run from there imports nothing new; a new query then comes alone.
    let again = sync(&target, last).await;
    assert!(of_user(&again, &user).is_empty(), "{again:?}");
    let fresh = "SELECT * FROM archive";
    client.batch_execute(fresh).await.expect(fresh);
    let_the_second_pass().await;
    let new = sync(&target, last).await;
    let new: Vec<Seen> = of_user(&new, &user).iter().map(|s| seen(s)).collect();
    assert_eq!(
        new,
        vec![(
            fresh.to_owned(),
            true,
            vec![format!("read {d}.sales.archive (table)")]
        )]
    );
}

#[tokio::test]
async fn a_known_workload_is_imported_from_jsonlog_with_exact_statements_and_objects() {
    workload_is_imported_exactly("jsonlog").await;
}

#[tokio::test]
async fn a_known_workload_is_imported_from_csvlog_with_exact_statements_and_objects() {
    workload_is_imported_exactly("csvlog").await;
}

#[tokio::test]
async fn pgaudit_adds_row_counts_without_doubling_statements() {
    let (database, user, syncer, password) = setup().await;
    let admin = support::pg_admin(&database).await;
    admin
        .batch_execute(&format!(
            "CREATE EXTENSION pgaudit; ALTER DATABASE {database} SET pgaudit.log = 'read, write, ddl'"
        ))
        .await
        .expect("pgaudit on (run dev/setup.sh to install postgresql-15-pgaudit, then restart the services)");
    let target = target(&syncer, &password, &database, "").await;
    let since = server_now().await - 1;
    let client = support::pg_as(&user, &password, &database).await;
    let update = "UPDATE sales.orders SET amount = 3";
    client
        .batch_execute("INSERT INTO sales.orders VALUES (1, 'a', 1), (2, 'b', 2)")
        .await
        .expect("insert");
    client.batch_execute(update).await.expect(update);
    let_the_second_pass().await;
    let statements = sync(&target, since).await;
    let ours = of_user(&statements, &user);
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours[1].query, update);
    assert_eq!(ours[1].rows, 2);
    assert_eq!(ours[0].rows, 2);
}

/// Runs 36 statements as `user`, in at least three seconds of the server's clock (a batch of
/// 12, then wait for the next second, three times), and lets the last second pass.
async fn seed_three_seconds(client: &tokio_postgres::Client) {
    for batch in 0..3 {
        for i in 0..12 {
            client
                .batch_execute(&format!("SELECT {batch}, {i} FROM sales.orders"))
                .await
                .expect("select");
        }
        let_the_second_pass().await;
    }
}

#[tokio::test]
async fn a_run_cut_short_by_its_deadline_then_resumed_imports_every_statement_once() {
    let (database, user, syncer, password) = setup().await;
    let target = target(&syncer, &password, &database, "").await;
    let since = server_now().await - 1;
    let client = support::pg_as(&user, &password, &database).await;
    seed_three_seconds(&client).await;
    let all: Vec<String> = of_user(&sync(&target, since).await, &user)
        .iter()
        .map(|s| s.external_id.clone())
        .collect();
    assert_eq!(all.len(), 36);

    // Every run is given a deadline that is over before it starts, so where it stops is set by
    // the log, not by how fast the machine is: it pushes its first second of new statements
    // (every run makes progress) and stops at the end of that second; each run resumes from
    // the last second pushed, and together they push every statement once, in order.
    let connector = connectors::build(&target).expect("valid target");
    let runs =
        testing::check_usage_progress_past_deadline(connector.as_ref(), since, |s| s.user == user)
            .await;
    for (i, run) in runs.iter().enumerate() {
        let seconds: BTreeSet<i64> = run.iter().map(|s| s.start_time).collect();
        assert_eq!(
            seconds.len(),
            1,
            "run {} stopped at the end of its first second",
            i + 1
        );
    }
    assert!(
        runs.len() >= 3,
        "the deadline cut the three seconds of statements into {} runs",
        runs.len()
    );
    let collected: Vec<String> = runs
        .iter()
        .flat_map(|run| of_user(run, &user))
        .map(|s| s.external_id.clone())
        .collect();
    assert_eq!(collected, all, "every statement once, in order");
}

/// The conformance suite's usage checks (`raito_common::testing::usage`) on the real log:
/// `since` in whole seconds, start order, and a deadline that passes in the middle of a second.
#[tokio::test]
async fn the_usage_request_contract_holds_on_the_real_log() {
    let (database, user, syncer, password) = setup().await;
    let target = target(&syncer, &password, &database, "").await;
    let since = server_now().await - 1;
    let client = support::pg_as(&user, &password, &database).await;
    seed_three_seconds(&client).await;
    let connector = connectors::build(&target).expect("valid target");
    let ours = |s: &Statement| s.user == user;

    let mine = testing::check_usage_since(connector.as_ref(), since, ours).await;
    assert_eq!(mine.len(), 36);
    assert_eq!(mine[0].query, "SELECT 0, 0 FROM sales.orders");
    let all = testing::check_usage_order(connector.as_ref(), since).await;
    assert_eq!(of_user(&all, &user).len(), 36);
    let runs = testing::check_usage_second_boundaries(connector.as_ref(), since, ours).await;
    let collected: usize = runs.iter().map(|run| of_user(run, &user).len()).sum();
    assert_eq!(collected, 36);
}

#[tokio::test]
async fn rds_log_events_in_cloudwatch_logs_are_imported() {
    let (database, user, syncer, password) = setup().await;
    let d = naming::component(&database);
    let group = format!(
        "/aws/rds/instance/{}/postgresql",
        support::unique_name("db")
    );
    let stream = "mydb-instance";
    let logs = aws_sdk_cloudwatchlogs::Client::new(&support::moto_sdk_config());
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("create log group (is moto running?)");
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("create log stream");

    let now = server_now().await;
    let at = |seconds_ago: i64| -> (i64, String) {
        let epoch = now - seconds_ago;
        let days = epoch.div_euclid(86_400);
        let secs = epoch.rem_euclid(86_400);
        let (y, m, dd) = civil(days);
        (
            epoch * 1000,
            format!(
                "{y:04}-{m:02}-{dd:02} {:02}:{:02}:{:02} UTC",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            ),
        )
    };
    let prefix = |t: &str, pid: u32| format!("{t}:10.0.0.7(5544):{user}@{database}:[{pid}]:");
    let mut events = Vec::new();
    let (ms, t) = at(20);
    events.push((
        ms,
        format!(
            "{}LOG:  statement: SELECT id\n\tFROM sales.orders\n\tWHERE id = 1;",
            prefix(&t, 100)
        ),
    ));
    events.push((
        ms,
        format!("{}LOG:  duration: 1500.000 ms", prefix(&t, 100)),
    ));
    let (ms, t) = at(15);
    events.push((
        ms,
        format!("{}LOG:  statement: DELETE FROM customers;", prefix(&t, 101)),
    ));
    events.push((
        ms,
        format!(
            "{}ERROR:  permission denied for table customers",
            prefix(&t, 101)
        ),
    ));
    events.push((
        ms,
        format!("{}STATEMENT:  DELETE FROM customers;", prefix(&t, 101)),
    ));
    let (ms, t) = at(10);
    events.push((ms, format!("{t}::@:[355]:LOG:  checkpoint starting: time")));
    events.push((ms, format!("{}LOG:  AUDIT: SESSION,1,1,WRITE,INSERT,TABLE,\"\"\"Sales.EU\"\".\"\"Amount €\"\"\",\"INSERT INTO \"\"Sales.EU\"\".\"\"Amount €\"\" VALUES (1, 2)\",<none>,1", prefix(&t, 102))));
    let mut put = logs
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name(stream);
    for (ms, message) in &events {
        put = put.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(*ms)
                .message(message)
                .build()
                .expect("event"),
        );
    }
    put.send().await.expect("put log events");

    let target = target(
        &syncer,
        &password,
        &database,
        &format!("    pg-usage-source: cloudwatch\n    pg-usage-cloudwatch-log-group: {group}\n"),
    )
    .await;
    let statements = sync(&target, now - 60).await;
    let got: Vec<Seen> = statements.iter().map(seen).collect();
    assert_eq!(
        got,
        vec![
            (
                "SELECT id\nFROM sales.orders\nWHERE id = 1;".to_owned(),
                true,
                vec![format!("read {d}.sales.orders (table)")]
            ),
            (
                "DELETE FROM customers;".to_owned(),
                false,
                vec![format!("write {d}.public.customers (table)")]
            ),
            (
                r#"INSERT INTO "Sales.EU"."Amount €" VALUES (1, 2)"#.to_owned(),
                true,
                vec![format!(r#"write {d}."Sales.EU"."Amount €" (table)"#)]
            ),
        ]
    );
    assert_eq!(statements[0].end_time, statements[0].start_time + 1);
    assert_eq!(statements[2].rows, 1);
    assert!(statements.iter().all(|s| s.user == user));
    assert!(
        statements
            .iter()
            .all(|s| s.external_id.starts_with(&format!("{stream}:")))
    );
    // The same events again: nothing new after the last one.
    let again = sync(&target, statements[2].start_time).await;
    assert!(again.is_empty(), "{again:?}");
}

/// (year, month, day) of days since 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[tokio::test]
async fn a_statement_longer_than_the_log_record_cap_is_skipped_and_the_others_imported() {
    let (database, user, syncer, password) = setup().await;
    let since = server_now().await - 1;
    let client = support::pg_as(&user, &password, &database).await;
    let before = "SELECT 1 AS before_the_long_one";
    let after = "SELECT 2 AS after_the_long_one";
    client.batch_execute(before).await.expect(before);
    // A 2 MiB literal: its log record is twice the 1 MiB cap, in both formats.
    let long = format!("SELECT length('{}')", "x".repeat(2 << 20));
    client
        .batch_execute(&long)
        .await
        .expect("the long statement");
    client.batch_execute(after).await.expect(after);
    let_the_second_pass().await;
    for log_format in log_formats().await {
        let target = target(
            &syncer,
            &password,
            &database,
            &format!("    pg-usage-log-format: {log_format}\n"),
        )
        .await;
        let statements = sync(&target, since).await;
        let queries: Vec<&str> = of_user(&statements, &user)
            .iter()
            .map(|s| s.query.as_str())
            .collect();
        assert_eq!(queries, [before, after], "{log_format}");
    }
}

#[tokio::test]
async fn passwords_in_any_quoting_are_redacted_in_imported_statements() {
    let (database, user, syncer, password) = setup().await;
    let target = target(&syncer, &password, &database, "").await;
    let since = server_now().await - 1;
    let client = support::pg_as(&user, &password, &database).await;
    // A role may set its own password: set to the same one, so the test can go on connecting.
    let statements = [
        format!("ALTER ROLE {user} PASSWORD $pw${password}$pw$"),
        format!("ALTER ROLE {user} WITH /* c */ ENCRYPTED PASSWORD E'{password}\\''"),
        format!("ALTER ROLE {user} PASSWORD '{password}'"),
    ];
    for statement in &statements {
        client.batch_execute(statement).await.expect(statement);
    }
    let_the_second_pass().await;
    let imported = sync(&target, since).await;
    let queries: Vec<&str> = of_user(&imported, &user)
        .iter()
        .map(|s| s.query.as_str())
        .collect();
    assert_eq!(
        queries,
        [
            format!("ALTER ROLE {user} PASSWORD '********'"),
            format!("ALTER ROLE {user} WITH /* c */ ENCRYPTED PASSWORD '********'"),
            format!("ALTER ROLE {user} PASSWORD '********'"),
        ]
    );
    assert!(imported.iter().all(|s| !s.query.contains(&password)));
}
