//! The bucket's events, delivered as a deployment delivers them: the bucket sends its events to
//! EventBridge (`EventBridgeConfiguration`, as template.yaml sets), a rule with template.yaml's
//! pattern (`source: aws.s3`, `detail-type: Object Created`, the bucket, a key prefix) matches
//! them, and Lambda invokes the function asynchronously, once per event, as many at a time as
//! it has instances. All of it but the last hop is moto's: the rule's target is an SQS queue in
//! moto, which [`BucketEvents`] reads and turns into invocations of a [`RuntimeApi`], each on a
//! task of its own (an asynchronous invocation: nobody waits for it), recorded with its answer.
//!
//! EventBridge and SQS are spoken in their JSON protocols over plain HTTP (moto checks no
//! signature), so the harness needs no SDK for either.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Outcome, RuntimeApi, lock};

/// moto's default account.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One invocation an event caused.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The key of the object the event is about.
    pub key: String,
    /// When the invocation was sent (the event read from the queue).
    pub sent: Instant,
    /// When the function answered.
    pub answered: Instant,
    /// What it answered; `None` when it never did before the deadline.
    pub outcome: Option<Outcome>,
}

/// A rule from the bucket's events to a function; delivery stops when dropped.
pub struct BucketEvents {
    delivered: Arc<Mutex<Vec<Delivered>>>,
    poller: tokio::task::JoinHandle<()>,
}

impl Drop for BucketEvents {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl BucketEvents {
    /// Turns on the bucket's EventBridge notifications and routes every `Object Created` event
    /// of a key under `prefix` in `bucket` to `runtime`, each with a deadline `timeout` after
    /// it is sent.
    ///
    /// # Panics
    /// When moto refuses a call (is it running? `dev/services.sh start`).
    pub async fn route(
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        runtime: &RuntimeApi,
        timeout: Duration,
    ) -> Self {
        use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration};
        s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("turning on EventBridge for bucket {bucket}: {e:?}"));
        let name = format!("{bucket}-{}", prefix.replace('/', "-"))
            .chars()
            .take(64)
            .collect::<String>()
            .trim_end_matches('-')
            .to_owned();
        let queue = call(
            "sqs",
            "AmazonSQS.CreateQueue",
            "1.0",
            json!({"QueueName": name}),
        )
        .await["QueueUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("moto created queue {name} without a QueueUrl"))
            .to_owned();
        // template.yaml's pattern for the functions' PendingRuns rules.
        let pattern = json!({
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}}
        });
        call(
            "events",
            "AWSEvents.PutRule",
            "1.1",
            json!({"Name": name, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
        )
        .await;
        call(
            "events",
            "AWSEvents.PutTargets",
            "1.1",
            json!({"Rule": name, "Targets": [{"Id": "function",
                   "Arn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")}]}),
        )
        .await;
        let delivered: Arc<Mutex<Vec<Delivered>>> = Arc::default();
        let (runtime, record) = (runtime.clone(), Arc::clone(&delivered));
        let poller = tokio::spawn(async move {
            loop {
                let received = call(
                    "sqs",
                    "AmazonSQS.ReceiveMessage",
                    "1.0",
                    // A message whose read is cut off when the route is dropped comes back
                    // after its visibility timeout: short, so the next route's reader sees it.
                    json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                           "VisibilityTimeout": 5}),
                )
                .await;
                for message in received["Messages"].as_array().into_iter().flatten() {
                    let event: Value = message["Body"]
                        .as_str()
                        .and_then(|body| serde_json::from_str(body).ok())
                        .unwrap_or(Value::Null);
                    let key = event["detail"]["object"]["key"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let (runtime, record) = (runtime.clone(), Arc::clone(&record));
                    tokio::spawn(async move {
                        let sent = Instant::now();
                        let outcome = runtime.invoke(event, timeout).await;
                        lock(&record).push(Delivered {
                            key,
                            sent,
                            answered: Instant::now(),
                            outcome,
                        });
                    });
                    call(
                        "sqs",
                        "AmazonSQS.DeleteMessage",
                        "1.0",
                        json!({"QueueUrl": queue, "ReceiptHandle": message["ReceiptHandle"]}),
                    )
                    .await;
                }
            }
        });
        Self { delivered, poller }
    }

    /// The invocations answered so far, in the order they answered.
    pub fn delivered(&self) -> Vec<Delivered> {
        lock(&self.delivered).clone()
    }

    /// Waits until `count` invocations have answered (or `within` has passed) and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Delivered> {
        let until = Instant::now() + within;
        while lock(&self.delivered).len() < count && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.delivered()
    }
}

/// One call of an AWS JSON protocol (`version` 1.0 for SQS, 1.1 for EventBridge) to moto.
///
/// # Panics
/// When moto does not answer 200 with JSON.
async fn call(service: &str, target: &str, version: &str, body: Value) -> Value {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(reqwest::Client::new);
    let response = client
        .post(test_support::moto_url())
        .header("X-Amz-Target", target)
        .header("Content-Type", format!("application/x-amz-json-{version}"))
        // moto routes by the credential scope's service; it checks no signature.
        .header(
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, \
                 SignedHeaders=host, Signature=0"
            ),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{target} to moto: {e} (is it running? dev/services.sh start)"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{target} to moto: {status}: {text}");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{target} answered no JSON ({e}): {text}"))
}
