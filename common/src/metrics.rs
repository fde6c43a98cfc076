//! What a step does, measured: counters bumped as it goes, and the CloudWatch embedded metric
//! format (EMF) lines a function prints for each target and step it ran.
//!
//! # Counting
//!
//! A step runs inside [`measure`], which gives it a [`Meter`] in a task-local scope and lists it
//! in [`live`] while it runs. Whatever the step calls on its task counts into it: the code that
//! talks to a target calls [`sent`] (SQL statements and requests: round trips) and the writers of
//! staged files call [`written`] (elements written: objects, users, groups, access providers,
//! statements). Outside a step both are no-ops. Nothing is counted on the connection tasks the
//! drivers spawn; every call site runs on the step's task.
//!
//! # Embedded metric format
//!
//! [`emf`] renders one JSON line per target run: CloudWatch Logs turns it into metrics with no
//! API call (the line is also a log line, with `level`, `step` and `message`). Namespace: the
//! function's `RAITO_METRICS_NAMESPACE` (template.yaml: `RaitoSync/<stack name>`; default
//! `RaitoSync`). Dimension sets: `[Step]` and `[Step, Target]`; a failure is also counted under
//! `[Step, ErrorKind]`. Metrics ([`names`]): `Runs`, `Failures`, `Duration` (ms), `Written`
//! (every element written), by kind `ObjectsWritten`, `UsersWritten`, `GroupsWritten`,
//! `AccessProvidersWritten`, `StatementsWritten`, what was sent to the target
//! (`TargetStatements`, `TargetRequests`) and, for the usage step, `UsageLag` (seconds from the
//! start of the newest statement Raito has to now).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::step::Step;
use crate::sync::run::{StepSummary, TargetStatus, TargetSummary};

/// The metric names, as the dashboard and the alarms of template.yaml use them.
pub mod names {
    /// Target runs of a step (1 per run).
    pub const RUNS: &str = "Runs";
    /// Failed target runs (0 or 1 per run).
    pub const FAILURES: &str = "Failures";
    /// How long the step took, in milliseconds.
    pub const DURATION: &str = "Duration";
    /// Every element written (the sum of the kinds below).
    pub const WRITTEN: &str = "Written";
    /// Data objects written (the data source step).
    pub const OBJECTS: &str = "ObjectsWritten";
    /// Users written (the identity store step).
    pub const USERS: &str = "UsersWritten";
    /// Groups written (the identity store step).
    pub const GROUPS: &str = "GroupsWritten";
    /// Access providers applied with changes or imported (the data access step).
    pub const ACCESS_PROVIDERS: &str = "AccessProvidersWritten";
    /// Statements: applied to the target (access) or read from its log (usage).
    pub const STATEMENTS: &str = "StatementsWritten";
    /// SQL statements sent to the target.
    pub const TARGET_STATEMENTS: &str = "TargetStatements";
    /// Requests (round trips) sent to the target.
    pub const TARGET_REQUESTS: &str = "TargetRequests";
    /// Seconds from the start of the newest statement Raito has to now (the usage step).
    pub const USAGE_LAG: &str = "UsageLag";
    /// Every name, in the order the lines carry them.
    pub const ALL: &[&str] = &[
        RUNS,
        FAILURES,
        DURATION,
        WRITTEN,
        OBJECTS,
        USERS,
        GROUPS,
        ACCESS_PROVIDERS,
        STATEMENTS,
        TARGET_STATEMENTS,
        TARGET_REQUESTS,
        USAGE_LAG,
    ];
}

/// The namespace when `RAITO_METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "RaitoSync";

/// The counters of one step of one target.
#[derive(Debug)]
pub struct Meter {
    target: String,
    step: Step,
    started: std::time::Instant,
    written: AtomicU64,
    statements: AtomicU64,
    requests: AtomicU64,
}

/// What a [`Meter`] counted, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counted {
    /// Elements written so far.
    pub written: u64,
    /// SQL statements sent to the target.
    pub statements: u64,
    /// Requests (round trips) sent to the target.
    pub requests: u64,
}

impl Counted {
    /// Whether nothing was sent to the target (a step that only wrote files, or none).
    pub fn sent_nothing(&self) -> bool {
        self.statements == 0 && self.requests == 0
    }
}

/// A step going, for a progress display.
#[derive(Debug, Clone)]
pub struct Live {
    /// The target.
    pub target: String,
    /// The step.
    pub step: Step,
    /// How long it has run.
    pub elapsed: std::time::Duration,
    /// What it counted so far.
    pub counted: Counted,
}

impl Meter {
    fn counted(&self) -> Counted {
        Counted {
            written: self.written.load(Ordering::Relaxed),
            statements: self.statements.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

tokio::task_local! {
    static METER: Arc<Meter>;
}

/// The steps going, in the order they started.
static LIVE: Mutex<Vec<Arc<Meter>>> = Mutex::new(Vec::new());

fn live_meters() -> std::sync::MutexGuard<'static, Vec<Arc<Meter>>> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `work` (one step of `target`) with a fresh meter; answers its output and what it
/// counted.
pub async fn measure<F: Future>(target: &str, step: Step, work: F) -> (F::Output, Counted) {
    let meter = Arc::new(Meter {
        target: target.to_owned(),
        step,
        started: std::time::Instant::now(),
        written: AtomicU64::new(0),
        statements: AtomicU64::new(0),
        requests: AtomicU64::new(0),
    });
    live_meters().push(Arc::clone(&meter));
    // Unlisted however the step ends (also when its future is dropped).
    struct Unlist(Arc<Meter>);
    impl Drop for Unlist {
        fn drop(&mut self) {
            live_meters().retain(|m| !Arc::ptr_eq(m, &self.0));
        }
    }
    let _unlist = Unlist(Arc::clone(&meter));
    let output = METER.scope(Arc::clone(&meter), work).await;
    (output, meter.counted())
}

/// The steps running now, with what they counted so far.
pub fn live() -> Vec<Live> {
    live_meters()
        .iter()
        .map(|meter| Live {
            target: meter.target.clone(),
            step: meter.step,
            elapsed: meter.started.elapsed(),
            counted: meter.counted(),
        })
        .collect()
}

/// Counts `statements` SQL statements and `requests` requests sent to the target by the
/// running step.
pub fn sent(statements: u64, requests: u64) {
    let _ = METER.try_with(|meter| {
        meter.statements.fetch_add(statements, Ordering::Relaxed);
        meter.requests.fetch_add(requests, Ordering::Relaxed);
    });
}

/// Counts `n` elements written by the running step.
pub fn written(n: u64) {
    let _ = METER.try_with(|meter| {
        meter.written.fetch_add(n, Ordering::Relaxed);
    });
}

/// The metric namespace of this process (`RAITO_METRICS_NAMESPACE`, else [`DEFAULT_NAMESPACE`]).
pub fn namespace() -> String {
    std::env::var("RAITO_METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// The EMF lines for one target's run of `step` (one line; two when it failed: the second
/// counts the failure under its kind). `now` is Unix milliseconds: the lines' timestamp, and
/// the end of the usage lag.
pub fn emf(namespace: &str, step: Step, target: &TargetSummary, now_ms: i64) -> Vec<String> {
    let summary = target.steps.iter().find(|s| s.step == step.name());
    if summary.is_some_and(|s| s.status == TargetStatus::Skipped)
        || (summary.is_none() && target.status != TargetStatus::Failed)
    {
        return Vec::new();
    }
    let failed = target.status == TargetStatus::Failed
        || summary.is_some_and(|s| s.status == TargetStatus::Failed);
    let mut values: Vec<(&str, &str, u64)> = vec![
        (names::RUNS, "Count", 1),
        (names::FAILURES, "Count", u64::from(failed)),
    ];
    if let Some(summary) = summary {
        values.push((names::DURATION, "Milliseconds", summary.elapsed_ms));
        let (written, by_kind) = written_by_kind(step, summary);
        values.push((names::WRITTEN, "Count", written));
        values.extend(by_kind.into_iter().map(|(name, n)| (name, "Count", n)));
        values.push((
            names::TARGET_STATEMENTS,
            "Count",
            summary.counted.statements,
        ));
        values.push((names::TARGET_REQUESTS, "Count", summary.counted.requests));
        if let Some(last) = summary.usage_last_start.filter(|_| !failed) {
            let lag = (now_ms / 1000).saturating_sub(last).max(0);
            values.push((names::USAGE_LAG, "Seconds", lag as u64));
        }
    }
    let mut lines = vec![document(
        namespace,
        now_ms,
        &[&["Step"], &["Step", "Target"]],
        step,
        target,
        &values,
        None,
    )];
    if failed {
        let kind = summary
            .and_then(|s| s.error_kind)
            .or(target.error_kind)
            .map_or("Unexpected", |k| k.as_str());
        lines.push(document(
            namespace,
            now_ms,
            &[&["Step", "ErrorKind"]],
            step,
            target,
            &[(names::FAILURES, "Count", 1)],
            Some(kind),
        ));
    }
    lines
}

/// Every element written, and the kinds the step's metrics name.
fn written_by_kind(step: Step, summary: &StepSummary) -> (u64, Vec<(&'static str, u64)>) {
    use crate::sync::{access, usage};
    let count = |key: &str| summary.counts.get(key).copied().unwrap_or(0);
    let kinds = match step {
        Step::DataSource => vec![(names::OBJECTS, summary.counts.values().sum())],
        Step::IdentityStore => vec![
            (names::USERS, count("user")),
            (names::GROUPS, count("group")),
        ],
        Step::DataAccess => vec![
            (
                names::ACCESS_PROVIDERS,
                count(access::count::CHANGED)
                    + count(access::count::IMPORTED)
                    + count(access::count::NOT_INTERNALIZABLE),
            ),
            (names::STATEMENTS, count(access::count::STATEMENTS)),
        ],
        Step::DataUsage => vec![(names::STATEMENTS, count(usage::count::STATEMENTS))],
    };
    (kinds.iter().map(|(_, n)| n).sum(), kinds)
}

fn document(
    namespace: &str,
    now_ms: i64,
    dimensions: &[&[&str]],
    step: Step,
    target: &TargetSummary,
    values: &[(&str, &str, u64)],
    error_kind: Option<&str>,
) -> String {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": values
                    .iter()
                    .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    // A log line too, as every line of a function: level, step, message.
    line.insert("level".into(), "INFO".into());
    line.insert("step".into(), step.name().into());
    line.insert("message".into(), "metrics".into());
    line.insert("Step".into(), step.name().into());
    line.insert("Target".into(), target.name.clone().into());
    if let Some(kind) = error_kind {
        line.insert("ErrorKind".into(), kind.into());
    }
    for (name, _, value) in values {
        line.insert((*name).into(), (*value).into());
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ErrorKind;
    use std::collections::BTreeMap;

    fn step(status: TargetStatus, counts: &[(&str, u64)]) -> StepSummary {
        StepSummary {
            step: Step::DataUsage.name(),
            status,
            counts: counts
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
            staged: Vec::new(),
            imported: None,
            message: None,
            error_kind: (status == TargetStatus::Failed).then_some(ErrorKind::TimedOut),
            elapsed_ms: 1500,
            counted: Counted {
                written: 7,
                statements: 3,
                requests: 2,
            },
            usage_last_start: Some(1_000),
        }
    }

    fn target(status: TargetStatus, steps: Vec<StepSummary>) -> TargetSummary {
        TargetSummary {
            name: "warehouse".into(),
            status,
            job_id: None,
            steps,
            message: None,
            error_kind: None,
        }
    }

    #[test]
    fn a_run_is_one_line_with_its_dimensions_and_values() {
        let run = target(
            TargetStatus::Completed,
            vec![step(TargetStatus::Completed, &[("statements", 7)])],
        );
        let lines = emf("RaitoSync/test", Step::DataUsage, &run, 1_060_000);
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        let cw = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "RaitoSync/test");
        assert_eq!(cw["Dimensions"], json!([["Step"], ["Step", "Target"]]));
        assert_eq!(line["_aws"]["Timestamp"], 1_060_000);
        // Every declared metric has its value on the line, and every name is a known one.
        for metric in cw["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(names::ALL.contains(&name), "{name}");
            assert!(line[name].is_u64(), "{name}: {line}");
        }
        assert_eq!(line["Step"], "data-usage");
        assert_eq!(line["Target"], "warehouse");
        assert_eq!(line["Runs"], 1);
        assert_eq!(line["Failures"], 0);
        assert_eq!(line["Duration"], 1500);
        assert_eq!(line["StatementsWritten"], 7);
        assert_eq!(line["TargetStatements"], 3);
        assert_eq!(line["TargetRequests"], 2);
        assert_eq!(line["UsageLag"], 60, "1,060 s now less 1,000 s");
    }

    #[test]
    fn a_failure_is_counted_again_under_its_kind_and_a_skipped_step_says_nothing() {
        let run = target(TargetStatus::Failed, vec![step(TargetStatus::Failed, &[])]);
        let lines = emf(DEFAULT_NAMESPACE, Step::DataUsage, &run, 0);
        assert_eq!(lines.len(), 2);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["Failures"], 1);
        assert!(first.get("UsageLag").is_none(), "no lag from a failed run");
        let by_kind: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(
            by_kind["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Step", "ErrorKind"]])
        );
        assert_eq!(by_kind["ErrorKind"], "TimedOut");
        assert_eq!(by_kind["Failures"], 1);

        let skipped = target(
            TargetStatus::Skipped,
            vec![step(TargetStatus::Skipped, &[])],
        );
        assert!(emf(DEFAULT_NAMESPACE, Step::DataUsage, &skipped, 0).is_empty());
        // A target that failed before its step started (no Raito client, no job) still counts.
        let early = target(TargetStatus::Failed, Vec::new());
        assert_eq!(emf(DEFAULT_NAMESPACE, Step::DataUsage, &early, 0).len(), 2);
    }

    #[tokio::test]
    async fn counters_count_inside_a_step_only_and_list_it_while_it_runs() {
        sent(5, 5);
        written(5);
        let ((), counted) = measure("t", Step::DataSource, async {
            sent(2, 1);
            sent(1, 1);
            written(10);
            let live = live();
            let me = live.iter().find(|l| l.target == "t").unwrap();
            assert_eq!(me.counted.written, 10);
        })
        .await;
        assert_eq!(
            counted,
            Counted {
                written: 10,
                statements: 3,
                requests: 2
            }
        );
        assert!(
            live().iter().all(|l| l.target != "t"),
            "unlisted at its end"
        );
    }
}
