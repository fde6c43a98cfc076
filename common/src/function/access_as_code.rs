//! Access-as-code in AWS: an access file (Raito's export format, YAML) put under
//! `access-as-code/<target>/` in the bundle's bucket is applied to that target, and its
//! feedback written next to it as `<name>.feedback.json` (one element per access provider,
//! errors included). Raito Cloud is not involved. The apply takes the target's access lease,
//! so it never overlaps an access sync of the same target (it waits for one that is going).

use serde_json::json;
use tracing::Instrument;

use super::Error;
use super::pending::Runner;
use crate::connector::{AccessOutcome, ApplyMode};
use crate::connectors;
use crate::output::Destination;
use crate::sync::access::{self, ExportInput, count};

/// How often a busy lease is tried again.
const LEASE_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The feedback's key for an access file's key: `team/grants.yaml` → `team/grants.feedback.json`.
pub fn feedback_key(key: &str) -> String {
    let stem = key
        .strip_suffix(".yaml")
        .or_else(|| key.strip_suffix(".yml"))
        .unwrap_or(key);
    format!("{stem}.feedback.json")
}

/// Applies the access file `key` to `target`; the answer says what was applied where. Fails
/// when the file cannot be applied or any access provider failed (see the feedback).
pub(super) async fn apply(
    runner: &Runner<'_>,
    target: &str,
    key: &str,
) -> Result<serde_json::Value, Error> {
    let span = tracing::info_span!("access-as-code", target, key);
    apply_in_span(runner, target, key).instrument(span).await
}

async fn apply_in_span(
    runner: &Runner<'_>,
    target: &str,
    key: &str,
) -> Result<serde_json::Value, Error> {
    let failed = |message: String| Error::AccessAsCode {
        key: key.to_owned(),
        message,
    };
    if !(key.ends_with(".yaml") || key.ends_with(".yml")) {
        tracing::info!(key, "not an access file (.yaml or .yml): ignored");
        return Ok(json!({"ignored": key}));
    }
    let config = runner
        .config
        .target(target)
        .ok_or_else(|| failed(format!("raito.yml has no target named {target:?}")))?;
    let connector = connectors::build(config).map_err(|e| failed(e.to_string()))?;
    let lease = loop {
        if let Some(lease) = runner.acquire(target).await? {
            break lease;
        }
        if !runner.time_for_a_pass() {
            return Err(failed(format!(
                "an access sync of target {target:?} kept running; put the file again later"
            )));
        }
        tokio::time::sleep(LEASE_RETRY).await;
    };
    let env = runner.env;
    let input = ExportInput::S3 {
        client: env.s3.clone(),
        bucket: env.bucket.clone(),
        key: key.to_owned(),
        etag: Default::default(),
    };
    let feedback = feedback_key(key);
    let destination = Destination::s3(env.s3.clone(), &env.bucket, &feedback);
    let mut log = |outcome: &AccessOutcome| {
        for statement in &outcome.statements {
            tracing::info!(
                access_provider = %outcome.feedback.access_provider,
                statement = %statement,
                "executed"
            );
        }
    };
    let apply = access::apply(
        connector.as_ref(),
        config,
        &input,
        ApplyMode::Apply,
        Some(destination),
        &mut log,
    );
    let applied = lease
        .hold(tokio::time::timeout_at(runner.limits.deadline, apply))
        .await;
    // A run of this target turned away while the file was applied (its trigger found the
    // lease held) is woken, not left for the next schedule.
    if let Err(error) = env.pending.wake(runner.step, target).await {
        tracing::warn!(%error, "pending triggers of the target could not be woken");
    }
    let applied = applied
        .map_err(|_| failed("stopped at the function's deadline; put the file again".into()))?
        .map_err(|e| failed(e.to_string()))?
        .ok_or_else(|| {
            failed(format!(
                "the {} connector cannot apply access",
                connector.name()
            ))
        })?;
    let counts = &applied.report.counts;
    let answer = json!({
        "file": format!("s3://{}/{key}", env.bucket),
        "feedback": format!("s3://{}/{feedback}", env.bucket),
        "counts": counts,
    });
    let failures = counts.get(count::FAILED).copied().unwrap_or(0);
    if failures > 0 {
        return Err(failed(format!(
            "{failures} access provider(s) could not be applied; see s3://{}/{feedback}: {answer}",
            env.bucket
        )));
    }
    tracing::info!(?counts, "access-as-code applied");
    Ok(answer)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_feedback_sits_next_to_the_file() {
        assert_eq!(
            super::feedback_key("access-as-code/w/team/grants.yaml"),
            "access-as-code/w/team/grants.feedback.json"
        );
        assert_eq!(super::feedback_key("a/b.yml"), "a/b.feedback.json");
    }
}
