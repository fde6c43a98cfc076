//! `webhook-latency [--aps N] [--tables T] [--users U] [--runs M] RECEIVER SYNC_ACCESS`: how
//! fast a signed `apUpdate` webhook takes effect, for the benchmark (`dev/bench/webhook.sh`).
//! Needs the services of `dev/services.sh start` (PostgreSQL and moto) in the environment.
//!
//! Setup, once: a database of T tables (default 1,000) and U login roles (default 200), and N
//! access providers (default 10,000) in the Raito stand-in, shaped as the `access` part makes
//! them (each grants SELECT on 8 tables and 2 columns to 3 users and inherits from the previous
//! one); raito.yml and the secrets in moto; the N access providers applied once by SYNC_ACCESS
//! (a schedule, then its queued trigger), so the target is in sync and Raito knows every
//! actual name.
//!
//! Then, per poll setting (`deployed`: `RAITO_POLL_INTERVAL_MS` 5,000, the functions' default;
//! `fast`: 50 ms), a fresh RECEIVER and a fresh SYNC_ACCESS, each polling its own Runtime API,
//! and the bucket's `Object Created` events under `triggers/access/` delivered to SYNC_ACCESS
//! through moto's EventBridge and SQS (`BucketEvents`, as template.yaml's rule does). M samples
//! (default 5), each: one access provider gets one more user (a new login role) in the
//! stand-in (neighbours from the middle of the inheritance chain, one per sample), an
//! `apUpdate` webhook for the data source is signed as Raito signs it and sent to the receiver
//! as a Function URL request, and from that instant this process measures:
//! - the receiver's answer (`202`);
//! - its `webhook queued` log line (written when S3 acknowledged the trigger's PUT);
//! - SYNC_ACCESS invoked (the queued key's event read from the queue by the harness);
//! - the grant visible in PostgreSQL: `has_table_privilege` of the new user on one of the
//!   access provider's tables, polled every 2 ms on a connection of its own, opened before
//!   (the instant the first query that sees it was sent);
//! - SYNC_ACCESS's answer (the feedback imported into Raito).
//!
//! Each sample checks that the run applied only what was out of sync: Raito's export asked for
//! the out-of-sync access providers only and carried exactly the changed one, the run changed
//! one access provider, nothing is left queued, and Raito has every access provider in sync.
//!
//! Prints on stdout, times in milliseconds: `setup APS APPLY_MS STATEMENTS ROUND_TRIPS` for the
//! first apply, then per sample `sample SETTING N ANSWERED QUEUED INVOKED GRANT DONE STATEMENTS
//! ROUND_TRIPS DDL EXPORTED` (N from 1; STATEMENTS and ROUND_TRIPS from SYNC_ACCESS's `access
//! export processed` log event, reads included; DDL is the run summary's statement count;
//! EXPORTED the access providers Raito's export carried). Progress on stderr; exit status 1 when
//! anything did not happen as it should.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use lambda_harness::Outcome;
use lambda_harness::access;
use lambda_harness::deployment::{API_SECRET, Companion, Deployment, put_secret, standin_for};
use lambda_harness::events::BucketEvents;
use serde_json::{Value, json};

/// A sync function's timeout, as template.yaml gives it: the first apply of 10,000 access
/// providers needs most of a minute, and a run does not start a pass with less than a minute
/// left.
const SYNC_TIMEOUT: Duration = Duration::from_secs(900);
/// The webhook receiver's timeout, as template.yaml gives it.
const RECEIVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one sample may take before it counts as failed.
const PATIENCE: Duration = Duration::from_secs(120);
/// The signing secret of the webhooks.
const WEBHOOK_SECRET: &str = "whsec-bench";
/// Where the bucket's events go to sync-access (template.yaml's rule for the access queue).
const QUEUE_PREFIX: &str = "triggers/access/";
/// Longer than `BucketEvents`' long poll of the queue (`WaitTimeSeconds` 1).
const LONG_POLL: Duration = Duration::from_secs(2);
/// How often the grant is looked for.
const POLL_EVERY: Duration = Duration::from_millis(2);

struct Args {
    aps: usize,
    tables: usize,
    users: usize,
    runs: usize,
    receiver: String,
    sync_access: String,
}

fn parse_args() -> Result<Args, String> {
    let usage =
        "usage: webhook-latency [--aps N] [--tables T] [--users U] [--runs M] RECEIVER SYNC_ACCESS";
    let mut args = std::env::args().skip(1);
    let (mut aps, mut tables, mut users, mut runs) = (10_000, 1_000, 200, 5);
    let mut binaries = Vec::new();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| {
            args.next()
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} takes a positive number; {usage}"))
        };
        match arg.as_str() {
            "--aps" => aps = number("--aps")?,
            "--tables" => tables = number("--tables")?,
            "--users" => users = number("--users")?,
            "--runs" => runs = number("--runs")?,
            _ if arg.starts_with('-') => return Err(usage.to_owned()),
            _ => binaries.push(arg),
        }
    }
    let [receiver, sync_access] =
        <[String; 2]>::try_from(binaries).map_err(|_| usage.to_owned())?;
    Ok(Args {
        aps,
        tables,
        users,
        runs,
        receiver,
        sync_access,
    })
}

fn millis(from: Instant, to: Instant) -> String {
    format!(
        "{:.3}",
        to.saturating_duration_since(from).as_secs_f64() * 1000.0
    )
}

/// The data of one run: the names every role and table is made from.
struct Data {
    /// The prefix of every role name (roles are the cluster's, shared by every database).
    prefix: String,
    database: String,
    ds: String,
    aps: usize,
    tables: usize,
    users: usize,
}

impl Data {
    fn user(&self, n: usize) -> String {
        format!("{}_user_{n}", self.prefix)
    }

    /// The table access provider `i` grants first (the one a sample checks).
    fn first_table(&self, i: usize) -> usize {
        (i * 8) % self.tables + 1
    }

    /// Access provider `i` as `dev/bench/access.sh` generates it (in the stand-in's seed shape:
    /// `inheritFrom` by Raito id), with `extra` users besides its three.
    fn access_provider(&self, i: usize, extra: &[String]) -> Value {
        let mut users: Vec<String> = (0..3)
            .map(|k| self.user((i * 3 + k) % self.users + 1))
            .collect();
        users.extend_from_slice(extra);
        let inherit: Vec<String> = if i > 0 {
            vec![format!("ap-{}", i - 1)]
        } else {
            Vec::new()
        };
        let mut what: Vec<Value> = (0..8)
            .map(|k| {
                let t = (i * 8 + k) % self.tables + 1;
                json!({"dataObject": {"fullName": format!("{}.sales.t{t}", self.database),
                                      "type": "table"},
                       "permissions": ["SELECT"]})
            })
            .collect();
        for column in ["region", "amount"] {
            let t = (i * 7) % self.tables + 1;
            what.push(json!({
                "dataObject": {"fullName": format!("{}.sales.t{t}.{column}", self.database),
                               "type": "column"},
                "permissions": ["SELECT"]
            }));
        }
        json!({
            "id": format!("ap-{i}"), "name": format!("Access {i}"),
            "namingHint": format!("{}_ap_{i}", self.prefix), "action": "grant",
            "who": {"users": users, "inheritFrom": inherit},
            "what": what
        })
    }

    /// The schema: the tables and the users, as `dev/bench/access.sh` creates them.
    fn schema_sql(&self) -> String {
        format!(
            "CREATE SCHEMA sales;
             DO $$
             BEGIN
               FOR t IN 1..{tables} LOOP
                 EXECUTE format('CREATE TABLE sales.t%s (id int, region text, amount numeric)', t);
               END LOOP;
               FOR u IN 1..{users} LOOP
                 EXECUTE format('CREATE ROLE %I LOGIN', '{prefix}_user_' || u);
               END LOOP;
             END
             $$;",
            tables = self.tables,
            users = self.users,
            prefix = self.prefix
        )
    }
}

/// A Function URL request carrying `body`, signed as Raito signs its webhooks: HMAC-SHA256 of
/// `<timestamp>.<delivery>.<body>`, hex, in `x-raito-signature: v1=...`.
fn signed_webhook(body: &str, delivery: &str) -> Result<Value, String> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?
        .as_secs()
        .to_string();
    let mut mac = Hmac::<sha2_hmac::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes())
        .map_err(|e| format!("the webhook secret as an HMAC key: {e}"))?;
    mac.update(format!("{timestamp}.{delivery}.{body}").as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    Ok(json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-raito-timestamp": timestamp,
                    "x-raito-delivery": delivery, "x-raito-signature": format!("v1={signature}")},
        "requestContext": {"http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.7", "userAgent": "Raito"},
                           "requestId": delivery, "timeEpoch": 1_795_334_400_000u64},
        "body": body, "isBase64Encoded": false
    }))
}

/// The fields of the last log line of `lines` whose message is `message`.
fn last_event(lines: &[(Instant, String)], message: &str) -> Option<(Instant, Value)> {
    lines.iter().rev().find_map(|(at, line)| {
        let value: Value = serde_json::from_str(line).ok()?;
        (value.get("message").and_then(Value::as_str) == Some(message)).then_some((*at, value))
    })
}

/// How many of `lines` have the message `message`.
fn count_events(lines: &[(Instant, String)], message: &str) -> usize {
    lines
        .iter()
        .filter(|(_, line)| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|v| v.get("message").and_then(Value::as_str) == Some(message))
        })
        .count()
}

/// `statements` and `round_trips` of the last `access export processed` event in `lines`.
fn export_counts(lines: &[(Instant, String)]) -> (String, String) {
    let Some((_, event)) = last_event(lines, "access export processed") else {
        return ("n/a".into(), "n/a".into());
    };
    let field = |name: &str| {
        event
            .get(name)
            .map_or_else(|| "n/a".to_owned(), Value::to_string)
    };
    (field("statements"), field("round_trips"))
}

/// The one target of a run summary, checked completed: its data-access step's counts.
fn completed_counts(summary: &Value) -> Result<Value, String> {
    let target = &summary["targets"][0];
    if target["status"] != "completed" || summary["targets"].as_array().map(Vec::len) != Some(1) {
        return Err(format!("the run did not complete one target: {summary}"));
    }
    let step = &target["steps"][0];
    if step["step"] != "data-access" {
        return Err(format!("the run's step is not data-access: {summary}"));
    }
    Ok(step["counts"].clone())
}

/// Setup: the schema, the access providers in Raito, the deployment, and the first apply.
async fn setup(args: &Args) -> Result<(Data, Deployment), String> {
    let prefix = test_support::unique_name("wh");
    let data = Data {
        database: format!("{prefix}_db"),
        ds: format!("{prefix}_ds"),
        prefix,
        aps: args.aps,
        tables: args.tables,
        users: args.users,
    };
    eprintln!(
        "webhook-latency: a database of {} tables and {} users, {} access providers in Raito",
        data.tables, data.users, data.aps
    );
    test_support::create_database(&data.database, &data.schema_sql()).await;
    let standin = standin_for(&[&data.ds]).await;
    for i in 0..data.aps {
        standin
            .put_access_provider(&data.ds, data.access_provider(i, &[]))
            .map_err(|e| format!("seeding access provider {i}: {e}"))?;
    }
    let yml = access::raito_yml(&data.ds, &data.database).await;
    // This instance runs the first apply only (a schedule, and the run it queued): the
    // measured instances start fresh later.
    let deployment = Deployment::start(&args.sync_access, &yml, API_SECRET, standin).await;

    eprintln!(
        "webhook-latency: applying the {} access providers once",
        data.aps
    );
    let started = Instant::now();
    let outcome = deployment.run(json!({"targets": []}), SYNC_TIMEOUT).await;
    let applied = Instant::now();
    let Outcome::Response(summary) = &outcome else {
        return Err(format!("the first apply failed: {outcome:?}"));
    };
    let counts = completed_counts(summary)?;
    if counts["changed"].as_u64() != u64::try_from(data.aps).ok() {
        return Err(format!(
            "the first apply changed {} access providers, not {}: {summary}",
            counts["changed"], data.aps
        ));
    }
    all_in_sync(&deployment.standin.state(), &data.ds, "the first apply")?;
    let (statements, round_trips) = export_counts(&deployment.log_lines());
    println!(
        "setup {} {} {statements} {round_trips}",
        data.aps,
        millis(started, applied)
    );
    Ok((data, deployment))
}

/// What one setting's samples share.
struct Setting<'a> {
    name: &'a str,
    data: &'a Data,
    deployment: &'a Deployment,
    receiver: &'a Companion,
    sync: &'a Companion,
    events: &'a BucketEvents,
    /// A connection to the target's database, for the role of each sample and the polls.
    admin: &'a tokio_postgres::Client,
}

/// One sample: access provider `ap` gets the new user `user`, and an `apUpdate` webhook says so.
async fn sample(setting: &Setting<'_>, n: usize, ap: usize, user: &str) -> Result<(), String> {
    let data = setting.data;
    setting
        .admin
        .batch_execute(&format!("CREATE ROLE {user} LOGIN"))
        .await
        .map_err(|e| format!("creating role {user}: {e}"))?;
    setting
        .deployment
        .standin
        .put_access_provider(&data.ds, data.access_provider(ap, &[user.to_owned()]))
        .map_err(|e| format!("changing access provider {ap}: {e}"))?;
    let sql = format!(
        "SELECT has_table_privilege('{user}', 'sales.t{}', 'SELECT')",
        data.first_table(ap)
    );
    let can_select = async || {
        setting
            .admin
            .query_one(&sql, &[])
            .await
            .map(|row| row.get::<_, bool>(0))
            .map_err(|e| format!("{sql}: {e}"))
    };
    if can_select().await? {
        return Err(format!("{user} could read the table before the webhook"));
    }
    let exports_before = setting.deployment.standin.state().access_exports.len();
    let queued_before = count_events(&setting.receiver.log_lines(), "webhook queued");
    let delivery = format!("{}-{}-{n}", data.prefix.replace('_', "-"), setting.name);
    let key_end = format!("/{delivery}.json");
    let body = json!({"apUpdate": {"domain": "demo", "dataSourceNames": [data.ds]}}).to_string();
    let request = signed_webhook(&body, &delivery)?;

    let done = AtomicBool::new(false);
    let started = Instant::now();
    let (answered, queued, granted, delivered) = tokio::join!(
        async {
            let outcome = setting
                .receiver
                .runtime
                .invoke(request, RECEIVER_TIMEOUT)
                .await;
            (outcome, Instant::now())
        },
        async {
            loop {
                let lines = setting.receiver.log_lines();
                if count_events(&lines, "webhook queued") > queued_before {
                    return last_event(&lines, "webhook queued").map(|(at, _)| at);
                }
                if started.elapsed() > PATIENCE || done.load(Ordering::SeqCst) {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        },
        async {
            loop {
                let over = done.load(Ordering::SeqCst);
                // The instant the query is sent: a query that sees the grant started after its
                // commit. Its answer can come much later: the first check after a membership
                // change walks the user's roles again (5,000 of them at the middle of the
                // chain: tens of ms), which is the check's time, not the grant's.
                let asked = Instant::now();
                if can_select().await? {
                    return Ok(asked);
                }
                if over {
                    return Err(format!(
                        "sync-access answered and {user} cannot read the table"
                    ));
                }
                if started.elapsed() > PATIENCE {
                    return Err(format!(
                        "{user} cannot read the table {} s after the webhook",
                        PATIENCE.as_secs()
                    ));
                }
                tokio::time::sleep(POLL_EVERY).await;
            }
        },
        async {
            let result = loop {
                if let Some(run) = setting
                    .events
                    .delivered()
                    .into_iter()
                    .find(|d| d.key.starts_with(QUEUE_PREFIX) && d.key.ends_with(&key_end))
                {
                    break Some(run);
                }
                if started.elapsed() > PATIENCE {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            done.store(true, Ordering::SeqCst);
            result
        }
    );

    let (answer, answered_at) = answered;
    match &answer {
        Some(Outcome::Response(response)) if response["statusCode"] == 202 => {}
        other => {
            return Err(format!(
                "the receiver did not accept the webhook: {other:?}"
            ));
        }
    }
    let queued_at = queued.ok_or("the receiver logged no `webhook queued`")?;
    let granted_at = granted?;
    let run = delivered.ok_or_else(|| {
        format!(
            "sync-access was not invoked and did not answer for {delivery} within {} s",
            PATIENCE.as_secs()
        )
    })?;
    let Some(Outcome::Response(summary)) = &run.outcome else {
        return Err(format!("sync-access failed: {:?}", run.outcome));
    };
    let counts = completed_counts(summary)?;
    if counts["changed"] != 1 {
        return Err(format!(
            "the run changed {} access providers, not 1: {summary}",
            counts["changed"]
        ));
    }
    // Only what was out of sync: one export, asking for the out-of-sync access providers, with
    // the changed one only.
    let snapshot = setting.deployment.standin.state();
    let exports = &snapshot.access_exports[exports_before.min(snapshot.access_exports.len())..];
    let [export] = exports else {
        return Err(format!(
            "{} access exports for one webhook, not 1",
            exports.len()
        ));
    };
    let exported: Vec<&str> = export
        .access_providers
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    let changed_id = format!("ap-{ap}");
    if !export.out_of_sync_only || exported != [changed_id.as_str()] {
        return Err(format!(
            "the export was not the changed access provider alone (out of sync only: {}): {exported:?}",
            export.out_of_sync_only
        ));
    }
    all_in_sync(&snapshot, &data.ds, "the run")?;
    let left = setting.deployment.keys("triggers/").await;
    if !left.is_empty() {
        return Err(format!("the queued trigger was not consumed: {left:?}"));
    }
    let (statements, round_trips) = export_counts(&setting.sync.log_lines());
    println!(
        "sample {} {} {} {} {} {} {} {statements} {round_trips} {} {}",
        setting.name,
        n + 1,
        millis(started, answered_at),
        millis(started, queued_at),
        millis(started, run.sent),
        millis(started, granted_at),
        millis(started, run.answered),
        counts["statement"],
        exported.len()
    );
    Ok(())
}

/// Waits until `companion` asks its Runtime API for work (its start is over).
async fn ready(companion: &Companion, name: &str) -> Result<(), String> {
    let started = Instant::now();
    while companion.runtime.first_poll().is_none() {
        if let Some(error) = companion.runtime.init_error() {
            return Err(format!("{name} failed to start: {error}"));
        }
        if started.elapsed() > PATIENCE {
            return Err(format!("{name} never asked for an invocation"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let (data, deployment) = setup(&args).await?;
    let secret = put_secret("raito/webhook", json!({ "secret": WEBHOOK_SECRET })).await;
    let admin = test_support::pg_admin(&data.database).await;
    let settings = [("deployed", "5000"), ("fast", "50")];
    let mut n = 0;
    for (name, poll_ms) in settings {
        eprintln!(
            "webhook-latency: {} samples ({name}: RAITO_POLL_INTERVAL_MS={poll_ms})",
            args.runs
        );
        // Fresh instances: each setting's first sample is their first invocation.
        let receiver = deployment
            .companion(&args.receiver, &[("RAITO_WEBHOOK_SECRET_NAME", &secret)])
            .await;
        let sync = deployment
            .companion(&args.sync_access, &[("RAITO_POLL_INTERVAL_MS", poll_ms)])
            .await;
        ready(&receiver, "the webhook receiver").await?;
        ready(&sync, "sync-access").await?;
        let events = BucketEvents::route(
            &deployment.s3,
            &deployment.bucket,
            QUEUE_PREFIX,
            &sync.runtime,
            SYNC_TIMEOUT,
        )
        .await;
        let setting = Setting {
            name,
            data: &data,
            deployment: &deployment,
            receiver: &receiver,
            sync: &sync,
            events: &events,
            admin: &admin,
        };
        for i in 0..args.runs {
            // Neighbours in the middle of the inheritance chain (each access provider inherits
            // from the one before, so a user of access provider k is a member of the roles of
            // k to the last): one depth for every sample, the median one. A grant's time grows
            // with the depth (PostgreSQL walks the memberships), which would otherwise read as
            // a difference between the first sample and the warm ones.
            let ap = (data.aps / 2 + n) % data.aps;
            let user = format!("{}_new_{n}", data.prefix);
            sample(&setting, i, ap, &user).await?;
            n += 1;
        }
        // The dropped route's last ReceiveMessage (a long poll of up to LONG_POLL) goes on in
        // moto: a message that arrived meanwhile would be handed to nobody and stay invisible
        // for the queue's visibility timeout (30 s), and the next setting's route reads the
        // same queue. Let it run out before the next webhook.
        drop(events);
        tokio::time::sleep(LONG_POLL).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("webhook-latency: {error}");
            return ExitCode::FAILURE;
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("webhook-latency: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Fails unless every access provider of `ds` is in sync in Raito after `what`.
fn all_in_sync(snapshot: &raito_standin::Snapshot, ds: &str, what: &str) -> Result<(), String> {
    let behind = snapshot
        .access_providers(ds)
        .iter()
        .filter(|ap| !ap.in_sync())
        .count();
    if behind > 0 {
        return Err(format!(
            "{behind} access providers out of sync after {what}"
        ));
    }
    Ok(())
}
