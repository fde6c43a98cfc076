//! template.yaml's dashboard and alarms draw only what the functions emit: every metric they
//! name in the bundle's namespace, with its `Step` dimension, is on the embedded-metric-format
//! line a function prints for a run of that step ([`metrics::emf`], what `function` prints).

use std::collections::BTreeSet;

use raito_common::metrics::{self, names};
use raito_common::step::Step;
use raito_common::sync::run::{StepSummary, TargetStatus, TargetSummary};
use serde_json::Value;

const TEMPLATE: &str = include_str!("../../../template.yaml");
const NAMESPACE: &str = "RaitoSync/stack";

/// The `DashboardBody` of template.yaml, its `${...}` filled in as CloudFormation would.
fn dashboard() -> Value {
    let start = TEMPLATE
        .find("DashboardBody: !Sub |\n")
        .expect("template.yaml has a DashboardBody");
    let body: Vec<&str> = TEMPLATE[start..]
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("        "))
        .collect();
    let body = body
        .join("\n")
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::StackName}", "stack")
        .replace("${UsageLagAlarmHours}", "48");
    assert!(!body.contains("${"), "every substitution is known: {body}");
    serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("the dashboard body is JSON: {e}\n{body}"))
}

/// A run of `step` that wrote and sent something, as a function summarises it.
fn run_of(step: Step) -> TargetSummary {
    TargetSummary {
        name: "warehouse".into(),
        status: TargetStatus::Completed,
        job_id: None,
        steps: vec![StepSummary {
            step: step.name(),
            status: TargetStatus::Completed,
            counts: [("table".to_owned(), 1)].into(),
            staged: Vec::new(),
            imported: None,
            message: None,
            error_kind: None,
            elapsed_ms: 10,
            counted: Default::default(),
            usage_last_start: (step == Step::DataUsage).then_some(0),
        }],
        message: None,
        error_kind: None,
    }
}

/// The metrics a function's line for a run of `step` declares under the `[Step]` dimension set.
fn emitted(step: Step) -> BTreeSet<String> {
    let lines = metrics::emf(NAMESPACE, step, &run_of(step), 1_000_000);
    let line: Value = serde_json::from_str(&lines[0]).unwrap();
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], NAMESPACE);
    assert!(
        declared["Dimensions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["Step"])),
        "{line}"
    );
    assert_eq!(line["Step"], step.name());
    declared["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_dashboard_and_the_alarms_draw_only_metrics_the_functions_emit() {
    let mut drawn: Vec<(String, String)> = Vec::new();
    for widget in dashboard()["widgets"].as_array().unwrap() {
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let row = metric.as_array().unwrap();
            if row[0].get("expression").is_some() {
                continue;
            }
            assert_eq!(row[0], NAMESPACE, "{widget}");
            assert_eq!(row[2], "Step", "{widget}");
            drawn.push((
                row[1].as_str().unwrap().to_owned(),
                row[3].as_str().unwrap().to_owned(),
            ));
        }
    }
    // The alarms on the bundle's own metrics.
    drawn.push(("UsageLag".into(), "data-usage".into()));
    assert!(TEMPLATE.contains("MetricName: UsageLag"));
    // The near-timeout alarm: the slowest Duration of any step.
    assert!(TEMPLATE.contains("SELECT MAX(Duration) FROM"));
    for step in Step::ORDER {
        assert!(emitted(step).contains(names::DURATION));
    }

    let steps: BTreeSet<&str> = drawn.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(steps.len(), 4, "a row per function: {steps:?}");
    for (name, step) in &drawn {
        assert!(
            names::ALL.contains(&name.as_str()),
            "{name} is a metric name"
        );
        let step = Step::from_name(step).unwrap_or_else(|| panic!("{step} is a step"));
        assert!(
            emitted(step).contains(name),
            "the dashboard draws {name} for {step}, which its function never emits"
        );
    }
    // Each function's row has its runs, failures, duration and what it wrote.
    for step in Step::ORDER {
        for name in [names::RUNS, names::FAILURES, names::DURATION] {
            assert!(
                drawn.contains(&(name.to_owned(), step.name().to_owned())),
                "{name} of {step}"
            );
        }
    }
}
