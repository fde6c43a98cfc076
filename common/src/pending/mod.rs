//! Work waiting per target and step, and a lease per target and step, both in the bundle's S3
//! bucket (`RAITO_BUCKET`), so that a webhook is answered at once while the sync runs
//! asynchronously, bursts of triggers coalesce into one run, and runs for one target and step
//! never overlap, across Lambda instances, with conditional S3 writes only.
//!
//! # Layout
//!
//! - `triggers/<step>/<target>/<delivery id>.json`: one pending trigger ([`Pending`]); the
//!   body is the trigger's JSON exactly as received.
//! - `locks/<step>/<target>`: the lease ([`Leases`]), `{"holder": "...", "expiresAt": <Unix
//!   milliseconds>}`.
//!
//! `<step>` is `access`, `metadata`, `identities` or `usage` ([`Step::segment`]); `<target>` is
//! the raito.yml target name with every byte outside `[A-Za-z0-9._-]` percent-encoded (and
//! `.`/`..` encoded too, so that no key has a dot segment): [`encode_target`]. The same
//! encoding is expected for `<target>` in `access-as-code/<target>/...` keys
//! ([`notices_of_s3_event`], [`notice_of_bridge_event`]).
//!
//! # The protocol a runner follows
//!
//! ```text
//! receiver:  enqueue(step, target, delivery, body)          (then answer 202)
//! runner:    match acquire(step, target, holder, ttl):
//!              Busy => stop: the holder's loop will see the new trigger
//!              Held(lease) =>
//!                loop { listing = list(step, target)
//!                       if listing is empty: break
//!                       run the step once, covering every listed trigger
//!                       remove(the listed keys) }
//!                lease.release()
//!                if list(step, target) is not empty: start over at acquire
//! ```
//!
//! No trigger is lost: one enqueued while the lease is held either is listed by the holder's
//! next pass of the loop, or arrives after the holder's last (empty) listing and is then seen by
//! the check after `release` (by the holder, or by the runner woken for it, which either gets
//! the lease or finds it held by someone who will check again). `remove` deletes exactly the
//! keys that were listed, so a trigger that arrives during a run stays for the next pass.
//!
//! The lease's `ttl` should be longer than the function's timeout (e.g. timeout + 1 minute):
//! then a lease only expires when its holder died, and is taken over by the next runner.
//! Holder names should be unique per invocation (e.g. the Lambda request id).

pub(crate) mod conditional;
mod delivery;
mod lease;
mod notification;
mod queue;

pub use delivery::DeliveryId;
pub use lease::{Acquired, LOCKS_PREFIX, Lease, Leases, Released};
pub use notification::{
    Notice, NoticeKind, S3ObjectDetail, notice_of_bridge_event, notices_of_s3_event,
};
pub use queue::{LIST_LIMIT, Listing, MAX_TRIGGER_BYTES, Pending, PendingTrigger, TRIGGERS_PREFIX};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::step::Step;

/// The prefix of access-as-code files, `access-as-code/<target>/...`.
pub const ACCESS_AS_CODE_PREFIX: &str = "access-as-code/";

/// Why pending work or a lease could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Target names are never empty in raito.yml.
    #[error("the target name is empty: give the raito.yml target's `name`")]
    EmptyTarget,
    /// An S3 request failed.
    #[error(
        "{operation} s3://{bucket}/{key}: {message}; check the bucket (RAITO_BUCKET) and the \
         function's S3 permissions on it (s3:GetObject, s3:PutObject, s3:DeleteObject, \
         s3:ListBucket)"
    )]
    S3 {
        /// What was being done.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key or prefix.
        key: String,
        /// What S3 said.
        message: String,
    },
    /// `remove` was given a key that is not a pending trigger.
    #[error("{key} is not a pending trigger (under {TRIGGERS_PREFIX}): it is not deleted")]
    NotPending {
        /// The key.
        key: String,
    },
    /// An S3 event notification could not be read.
    #[error("S3 event notification: {0}")]
    Notification(String),
}

/// Every byte but `[A-Za-z0-9._-]` is percent-encoded.
const TARGET_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'_').remove(b'-');

/// `target` as one key segment: percent-encoded outside `[A-Za-z0-9._-]`; `.` and `..` as
/// `%2E` and `%2E%2E`, since a dot segment may be collapsed on the way to S3.
pub fn encode_target(target: &str) -> Result<String, Error> {
    match target {
        "" => Err(Error::EmptyTarget),
        "." => Ok("%2E".to_owned()),
        ".." => Ok("%2E%2E".to_owned()),
        _ => Ok(utf8_percent_encode(target, TARGET_KEEP).to_string()),
    }
}

/// The target name a key segment encodes, if it is valid UTF-8 once decoded and not empty.
pub fn decode_target(segment: &str) -> Option<String> {
    let target = percent_decode_str(segment).decode_utf8().ok()?;
    (!target.is_empty()).then(|| target.into_owned())
}

/// The targets that have keys under `prefix` in `bucket` (`<prefix><target>/…`, e.g.
/// `triggers/<step>/` or `runs/<step>/`), decoded, in key order, from one delimited listing:
/// at most `limit`, asked for `page_size` keys per request. A segment that decodes to no
/// target name is skipped with a warning.
pub(crate) async fn targets_under(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    page_size: usize,
    limit: usize,
) -> Result<Vec<String>, Error> {
    use aws_sdk_s3::error::DisplayErrorContext;
    let mut targets = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .max_keys(page_size.clamp(1, 1000) as i32)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::S3 {
            operation: "listing",
            bucket: bucket.to_owned(),
            key: prefix.to_owned(),
            message: DisplayErrorContext(&e).to_string(),
        })?;
        for common in page.common_prefixes() {
            let Some(segment) = common
                .prefix()
                .and_then(|p| p.strip_prefix(prefix))
                .and_then(|p| p.strip_suffix('/'))
            else {
                continue;
            };
            match decode_target(segment) {
                Some(target) => targets.push(target),
                None => tracing::warn!(
                    prefix,
                    segment,
                    "keys under a segment that names no target: left alone"
                ),
            }
            if targets.len() >= limit {
                return Ok(targets);
            }
        }
    }
    Ok(targets)
}

/// `<prefix><step>/<target>` with the target encoded.
fn step_target_key(prefix: &str, step: Step, target: &str) -> Result<String, Error> {
    Ok(format!(
        "{prefix}{}/{}",
        step.segment(),
        encode_target(target)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_round_trip_through_one_key_segment() {
        for name in ["warehouse", "a b/c%d", "é+ü", ".", "..", "x.y_z-1", "?#&="] {
            let segment = encode_target(name).unwrap();
            assert!(!segment.contains('/'), "{segment}");
            assert!(
                segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-%".contains(&b))
            );
            assert_ne!(segment, ".");
            assert_ne!(segment, "..");
            assert_eq!(decode_target(&segment).as_deref(), Some(name));
        }
        assert_eq!(encode_target("warehouse").unwrap(), "warehouse");
        assert_eq!(encode_target("a b/c").unwrap(), "a%20b%2Fc");
        assert!(matches!(encode_target(""), Err(Error::EmptyTarget)));
    }
}
