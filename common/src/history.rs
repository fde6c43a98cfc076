//! The run history in the bundle's bucket: each target's run of a step leaves its summary at
//! `runs/<step>/<target>/<newest-first stamp>-<invocation>.json` (expired by the bucket's
//! lifecycle rule), so `raito-sync status` can show the last runs per target and step from a
//! laptop, with the operator's AWS credentials.
//!
//! `<step>` and `<target>` are encoded as under `triggers/` ([`crate::pending::encode_target`]).
//! The stamp is `9999999999999 - <Unix ms>`, zero-padded: S3 lists keys in ascending order, so
//! the newest run of a target comes first and the last N runs are one short listing.
//!
//! A record is the target's summary for that step ([`Record`]): when, how long, what was
//! written and sent, the status and the failure's message and kind. Nothing in it is a secret
//! (the summaries are what the functions answer and log).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::error::DisplayErrorContext;
use serde::{Deserialize, Serialize};

use crate::metrics::Counted;
use crate::pending::encode_target;
use crate::step::Step;
use crate::sync::run::{TargetStatus, TargetSummary};

/// Where the run history lives in the bucket.
pub const RUNS_PREFIX: &str = "runs/";

/// The largest stamp: stamps count down from it.
const STAMP_TOP: u64 = 9_999_999_999_999;

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An S3 request failed, or a target name cannot be a key segment.
    #[error(transparent)]
    Bucket(#[from] crate::pending::Error),
    /// A record is not the JSON a function writes.
    #[error("s3://{bucket}/{key} is not a run record: {message}")]
    Record {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// One target's run of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The raito.yml target.
    pub target: String,
    /// `data-source`, `identity-store`, `data-access` or `data-usage`.
    pub step: String,
    /// When the run ended (Unix milliseconds).
    pub finished_at_ms: u64,
    /// How long the step took (milliseconds; 0 when it failed before it started).
    pub elapsed_ms: u64,
    /// `completed`, `skipped` or `failed`.
    pub status: String,
    /// Elements written, by kind.
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Elements written, statements and requests sent to the target.
    #[serde(default)]
    pub counted: Counted,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Raito's job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

impl Record {
    /// The record of `target`'s run of `step`, ended at `finished`.
    pub fn of(step: Step, target: &TargetSummary, finished: SystemTime) -> Self {
        let summary = target.steps.iter().find(|s| s.step == step.name());
        let status = summary.map_or(target.status, |s| {
            if target.status == TargetStatus::Failed {
                TargetStatus::Failed
            } else {
                s.status
            }
        });
        Record {
            target: target.name.clone(),
            step: step.name().to_owned(),
            finished_at_ms: unix_ms(finished),
            elapsed_ms: summary.map_or(0, |s| s.elapsed_ms),
            status: status_name(status).to_owned(),
            counts: summary.map(|s| s.counts.clone()).unwrap_or_default(),
            counted: summary.map(|s| s.counted).unwrap_or_default(),
            message: summary
                .and_then(|s| s.message.clone())
                .or_else(|| target.message.clone()),
            error_kind: summary
                .and_then(|s| s.error_kind)
                .or(target.error_kind)
                .filter(|_| status == TargetStatus::Failed)
                .map(|k| k.as_str().to_owned()),
            job_id: target.job_id.clone(),
        }
    }
}

fn status_name(status: TargetStatus) -> &'static str {
    match status {
        TargetStatus::Completed => "completed",
        TargetStatus::Skipped => "skipped",
        TargetStatus::Failed => "failed",
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// The history in one bucket.
#[derive(Debug, Clone)]
pub struct History {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl History {
    /// The history in `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    fn s3_error(&self, operation: &'static str, key: &str, message: String) -> Error {
        Error::Bucket(crate::pending::Error::S3 {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message,
        })
    }

    /// `runs/<step>/<target>/`.
    fn prefix(step: Step, target: &str) -> Result<String, Error> {
        Ok(format!(
            "{RUNS_PREFIX}{}/{}/",
            step.segment(),
            encode_target(target)?
        ))
    }

    /// Stores `record` as a run of `step`; `invocation` (the Lambda request id) keeps two
    /// records of the same millisecond apart. Answers its key.
    pub async fn record(
        &self,
        step: Step,
        record: &Record,
        invocation: &str,
    ) -> Result<String, Error> {
        let stamp = STAMP_TOP.saturating_sub(record.finished_at_ms);
        let invocation: String = invocation
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect();
        let key = format!(
            "{}{stamp:013}-{invocation}.json",
            Self::prefix(step, &record.target)?
        );
        let body = serde_json::to_vec(record).map_err(|e| Error::Record {
            bucket: self.bucket.clone(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                self.s3_error(
                    "recording a run at",
                    &key,
                    DisplayErrorContext(&e).to_string(),
                )
            })?;
        Ok(key)
    }

    /// The targets with runs of `step` recorded (decoded names, in key order).
    pub async fn targets(&self, step: Step) -> Result<Vec<String>, Error> {
        let prefix = format!("{RUNS_PREFIX}{}/", step.segment());
        Ok(
            crate::pending::targets_under(&self.client, &self.bucket, &prefix, 1000, usize::MAX)
                .await?,
        )
    }

    /// The last `limit` runs of `step` for `target`, newest first.
    pub async fn recent(
        &self,
        step: Step,
        target: &str,
        limit: usize,
    ) -> Result<Vec<Record>, Error> {
        let prefix = Self::prefix(step, target)?;
        let listed = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .max_keys(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| self.s3_error("listing", &prefix, DisplayErrorContext(&e).to_string()))?;
        let mut records = Vec::new();
        for key in listed.contents().iter().filter_map(|o| o.key()).take(limit) {
            let object = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| self.s3_error("reading", key, DisplayErrorContext(&e).to_string()))?;
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| self.s3_error("reading", key, e.to_string()))?
                .into_bytes();
            let record = serde_json::from_slice(&bytes).map_err(|e| Error::Record {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                message: e.to_string(),
            })?;
            records.push(record);
        }
        Ok(records)
    }
}

/// The columns of [`table`], as its header names them.
pub const COLUMNS: [&str; 8] = [
    "STEP",
    "TARGET",
    "FINISHED (UTC)",
    "TOOK",
    "STATUS",
    "WRITTEN",
    "SENT",
    "FAILURE",
];

/// The records as a table, one line each: step, target, when (UTC), how long, status, what
/// was written, what was sent to the target, and the failure.
pub fn table(records: &[Record]) -> String {
    let header = COLUMNS;
    let rows: Vec<[String; 8]> = records
        .iter()
        .map(|r| {
            let written = if r.counts.is_empty() {
                "-".to_owned()
            } else {
                r.counts
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sent = if r.counted.sent_nothing() {
                "-".to_owned()
            } else {
                format!("{} stmt / {} req", r.counted.statements, r.counted.requests)
            };
            let failure = match (&r.error_kind, &r.message) {
                (Some(kind), Some(message)) => format!("{kind}: {}", one_line(message, 100)),
                (Some(kind), None) => kind.clone(),
                _ => String::new(),
            };
            [
                r.step.clone(),
                r.target.clone(),
                when(r.finished_at_ms),
                took(Duration::from_millis(r.elapsed_ms)),
                r.status.clone(),
                written,
                sent,
                failure,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// `2026-12-07 13:37:03`.
fn when(ms: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `850 ms`, `12.3 s`, `4 min 05 s`.
fn took(elapsed: Duration) -> String {
    let ms = elapsed.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", elapsed.as_secs_f64())
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(target: &str, status: &str, error: Option<(&str, &str)>) -> Record {
        Record {
            target: target.into(),
            step: "data-source".into(),
            finished_at_ms: 1_796_650_623_000,
            elapsed_ms: 12_345,
            status: status.into(),
            counts: [("table".to_owned(), 12), ("column".to_owned(), 80)].into(),
            counted: Counted {
                written: 92,
                statements: 6,
                requests: 9,
            },
            message: error.map(|(_, m)| m.to_owned()),
            error_kind: error.map(|(k, _)| k.to_owned()),
            job_id: None,
        }
    }

    #[test]
    fn the_table_lines_up_one_run_a_line() {
        let text = table(&[
            record("warehouse", "completed", None),
            record(
                "lake",
                "failed",
                Some(("TimedOut", "the step ran\nout of time")),
            ),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("STEP         TARGET     FINISHED (UTC)"),
            "{text}"
        );
        assert!(
            lines[1].contains("2026-12-07 13:37:03")
                && lines[1].contains("12.3 s")
                && lines[1].contains("80 column, 12 table")
                && lines[1].contains("6 stmt / 9 req"),
            "{text}"
        );
        assert!(
            lines[2].ends_with("TimedOut: the step ran out of time"),
            "{text}"
        );
        // The columns start at the same place on every line.
        let at = lines[0].find("STATUS").unwrap();
        assert_eq!(&lines[1][at..at + 9], "completed");
        assert_eq!(&lines[2][at..at + 6], "failed");
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(took(Duration::from_millis(850)), "850 ms");
        assert_eq!(took(Duration::from_millis(12_345)), "12.3 s");
        assert_eq!(took(Duration::from_secs(245)), "4 min 05 s");
    }
}
