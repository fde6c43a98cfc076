//! `trigger-latency [--pushes N] [--runs M] LISTENER SYNC_ACCESS`: how fast a message on Raito's
//! trigger channel takes effect, for the benchmark (`dev/bench/trigger.sh`). Needs the services
//! of `dev/services.sh start` (PostgreSQL and moto) in the environment.
//!
//! It deploys as the end-to-end tests do (raito.yml and the credentials in moto, the Raito
//! stand-in in this process, the LISTENER binary through a local Lambda Runtime API), lets the
//! listener connect, then:
//! 1. pushes N `apUpdate` messages (default 20) on the stand-in's websocket, one at a time, and
//!    measures each from the push to the listener's `trigger queued` log line (written when
//!    S3's PUT of the trigger is acknowledged; the line's time is when this process read it
//!    from the listener's stdout), checking that the object is in the bucket;
//! 2. M times (default 5) per poll setting: puts one new access provider (SELECT on a table for
//!    a new role) in the stand-in, pushes an `apUpdate`, waits for the queued trigger, starts a
//!    fresh SYNC_ACCESS process (a cold start, as a Lambda instance woken by the bucket's event)
//!    invoked with that key's S3 event, and measures from the push to the grant being visible
//!    in PostgreSQL (`has_table_privilege`, polled every 2 ms on an open connection) and to
//!    sync-access's answer (feedback imported into Raito). Poll settings: `deployed`
//!    (`RAITO_POLL_INTERVAL_MS` 5,000, the function's default: Raito's export is first polled
//!    after 1 s, as the Go CLI does) and `fast` (50 ms, the tests' setting: what is left is
//!    this code's own time). S3's event delivery through EventBridge is not included.
//!
//! Prints one line per measurement on stdout, in milliseconds: `queued PUSH_TO_QUEUED` and
//! `grant SETTING PUSH_TO_QUEUED PUSH_TO_GRANT PUSH_TO_ANSWER`. Progress on stderr; exit status
//! 1 when anything did not happen as it should.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lambda_harness::Outcome;
use lambda_harness::access;
use lambda_harness::deployment::{API_SECRET, Deployment, INVOKE_TIMEOUT, object_created};
use serde_json::{Value, json};

/// The listener's invocation: Lambda's longest, as the template gives it.
const LISTEN_FOR: Duration = Duration::from_secs(900);
/// How long one step may take before the measurement counts as failed.
const PATIENCE: Duration = Duration::from_secs(60);
/// Where the listener queues the target's access triggers.
const QUEUE: &str = "triggers/access/warehouse/";

struct Args {
    pushes: usize,
    runs: usize,
    listener: String,
    sync_access: String,
}

fn parse_args() -> Result<Args, String> {
    let usage = "usage: trigger-latency [--pushes N] [--runs M] LISTENER SYNC_ACCESS";
    let mut args = std::env::args().skip(1);
    let (mut pushes, mut runs) = (20, 5);
    let mut binaries = Vec::new();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| {
            args.next()
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| format!("{name} takes a number; {usage}"))
        };
        match arg.as_str() {
            "--pushes" => pushes = number("--pushes")?,
            "--runs" => runs = number("--runs")?,
            _ if arg.starts_with('-') => return Err(usage.to_owned()),
            _ => binaries.push(arg),
        }
    }
    let [listener, sync_access] =
        <[String; 2]>::try_from(binaries).map_err(|_| usage.to_owned())?;
    Ok(Args {
        pushes,
        runs,
        listener,
        sync_access,
    })
}

fn millis(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1000.0)
}

/// The instants at which the listener's `trigger queued` lines were read, in order.
fn queued_lines(deployment: &Deployment) -> Vec<Instant> {
    deployment
        .log_lines()
        .into_iter()
        .filter(|(_, line)| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|v| v.get("message").and_then(Value::as_str) == Some("trigger queued"))
        })
        .map(|(at, _)| at)
        .collect()
}

/// Pushes `event` on the channel and waits for the listener's next `trigger queued` line;
/// the instants of the push and of that line.
async fn push(deployment: &Deployment, event: Value) -> Result<(Instant, Instant), String> {
    let seen = queued_lines(deployment).len();
    let pushed = Instant::now();
    let connections = deployment.standin.push_trigger(event);
    if connections != 1 {
        return Err(format!(
            "the message went to {connections} connections of the channel, not 1"
        ));
    }
    loop {
        if let Some(at) = queued_lines(deployment).get(seen) {
            return Ok((pushed, *at));
        }
        if pushed.elapsed() > PATIENCE {
            return Err(format!(
                "no trigger queued {} s after the push",
                PATIENCE.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits for the listener's first heartbeat (its connection is up).
async fn connected(deployment: &Deployment) -> Result<(), String> {
    let started = Instant::now();
    while deployment
        .standin
        .state()
        .trigger_connections
        .first()
        .is_none_or(|c| c.heartbeats.is_empty())
    {
        if started.elapsed() > PATIENCE {
            return Err("the listener never connected to the trigger channel".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Removes every queued trigger.
async fn clear_queue(deployment: &Deployment) -> Result<(), String> {
    for key in deployment.keys("triggers/").await {
        deployment
            .s3
            .delete_object()
            .bucket(&deployment.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| format!("deleting {key}: {e:?}"))?;
    }
    Ok(())
}

/// Phase 1: `pushes` messages, each from the push to the trigger queued.
async fn queue_latency(deployment: &Deployment, ds: &str, pushes: usize) -> Result<(), String> {
    eprintln!("trigger-latency: {pushes} pushes, push -> queued");
    for n in 0..pushes {
        let event = json!({"apUpdate": {"domain": "demo", "dataSourceNames": [ds]}, "n": n});
        let (pushed, queued) = push(deployment, event).await?;
        let keys = deployment.keys(QUEUE).await.len();
        if keys != n + 1 {
            return Err(format!(
                "{keys} triggers in the bucket after {} pushes",
                n + 1
            ));
        }
        println!("queued {}", millis(queued - pushed));
        // The listener idle again before the next push.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    clear_queue(deployment).await
}

/// One access provider, from the push to the grant in PostgreSQL.
async fn grant_latency(
    deployment: &Deployment,
    ds: &str,
    database: &str,
    sync_access: &str,
    setting: (&str, &str),
) -> Result<(), String> {
    let user = test_support::unique_name("lbench_user");
    let hint = test_support::unique_name("lbench_ap");
    let id = test_support::unique_name("ap");
    // One connection, open before the push: each poll is one query.
    let admin = test_support::pg_admin(database).await;
    admin
        .batch_execute(&format!("CREATE ROLE {user} LOGIN"))
        .await
        .map_err(|e| format!("creating role {user}: {e}"))?;
    deployment
        .standin
        .put_access_provider(ds, access::grant(&id, &hint, database, &user))
        .map_err(|e| format!("seeding the access provider: {e}"))?;
    let sql = access::can_select_sql(&user);
    let can_select = async || {
        admin
            .query_one(&sql, &[])
            .await
            .map(|row| row.get::<_, bool>(0))
            .map_err(|e| format!("{sql}: {e}"))
    };
    if can_select().await? {
        return Err(format!("{user} could read the table before the grant"));
    }

    let event = json!({"apUpdate": {"domain": "demo", "dataSourceNames": [ds]}});
    let (pushed, queued) = push(deployment, event).await?;
    let keys = deployment.keys(QUEUE).await;
    let [key] = keys.as_slice() else {
        return Err(format!("expected one queued trigger, found {keys:?}"));
    };
    // A fresh instance of sync-access, woken by the bucket's event for the queued key.
    let sync = deployment
        .companion(sync_access, &[("RAITO_POLL_INTERVAL_MS", setting.1)])
        .await;
    let answered = AtomicBool::new(false);
    let (answer, granted) = tokio::join!(
        async {
            let outcome = sync
                .invoke(object_created(&deployment.bucket, key), INVOKE_TIMEOUT)
                .await;
            answered.store(true, Ordering::SeqCst);
            (outcome, Instant::now())
        },
        async {
            loop {
                let over = answered.load(Ordering::SeqCst);
                if can_select().await? {
                    return Ok(Instant::now());
                }
                if over {
                    return Err(format!(
                        "sync-access answered and {user} cannot read the table"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    );
    let (outcome, answered_at) = answer;
    match &outcome {
        Outcome::Response(summary) if summary["targets"][0]["status"] == "completed" => {}
        other => return Err(format!("sync-access did not complete the run: {other:?}")),
    }
    let granted = granted?;
    let left = deployment.keys("triggers/").await;
    if !left.is_empty() {
        return Err(format!("the queued trigger was not consumed: {left:?}"));
    }
    println!(
        "grant {} {} {} {}",
        setting.0,
        millis(queued - pushed),
        millis(granted - pushed),
        millis(answered_at - pushed)
    );
    Ok(())
}

async fn measure(
    deployment: &Deployment,
    args: &Args,
    ds: &str,
    database: &str,
) -> Result<(), String> {
    connected(deployment).await?;
    queue_latency(deployment, ds, args.pushes).await?;
    for setting in [("deployed", "5000"), ("fast", "50")] {
        eprintln!(
            "trigger-latency: {} runs, push -> grant ({}: RAITO_POLL_INTERVAL_MS={})",
            args.runs, setting.0, setting.1
        );
        for _ in 0..args.runs {
            grant_latency(deployment, ds, database, &args.sync_access, setting).await?;
        }
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let (database, _, _) = access::setup().await;
    let ds = test_support::unique_name("ds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot serve the Raito stand-in: {e}"))?;
    let standin = raito_standin::start(
        listener,
        raito_standin::Config {
            data_sources: vec![ds.clone()],
            ..Default::default()
        },
    )
    .await;
    let yml = access::raito_yml(&ds, &database).await;
    let deployment = Deployment::start(&args.listener, &yml, API_SECRET, standin).await;
    let listening = deployment.invoke(json!({}), LISTEN_FOR);
    tokio::select! {
        outcome = listening => Err(format!("the listener ended during the measurements: {outcome:?}")),
        measured = measure(&deployment, &args, &ds, &database) => measured,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("trigger-latency: {error}");
            return ExitCode::FAILURE;
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trigger-latency: {error}");
            ExitCode::FAILURE
        }
    }
}
