//! The replay guard: each accepted delivery id is recorded once in S3 with a conditional
//! write (`If-None-Match: *`), so a second delivery with the same id is refused whichever
//! Lambda instance receives it.
//!
//! Records only need to outlive the timestamp tolerance (a replay of an older delivery fails
//! the timestamp check anyway): an S3 lifecycle rule expiring `webhooks/deliveries/` after a
//! day keeps the prefix small.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::pending::DeliveryId;
use crate::pending::conditional::{Failure, classify};

/// Where delivery ids are recorded in the bucket.
pub const DELIVERIES_PREFIX: &str = "webhooks/deliveries/";

/// Whether a delivery id was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time: recorded now.
    First,
    /// Recorded before: a replay (or a concurrent duplicate).
    Replay,
}

/// A delivery id could not be recorded or forgotten.
#[derive(Debug, thiserror::Error)]
#[error(
    "recording webhook delivery {delivery} at s3://{bucket}/{key}: {message}; check the bucket \
     (RAITO_BUCKET) and the function's permissions s3:PutObject and s3:DeleteObject on it"
)]
pub struct GuardError {
    /// The delivery id.
    pub delivery: String,
    /// The bucket.
    pub bucket: String,
    /// The record's key.
    pub key: String,
    /// What S3 said.
    pub message: String,
}

/// Records delivery ids under [`DELIVERIES_PREFIX`] of one bucket (the bundle's
/// `RAITO_BUCKET`).
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl ReplayGuard {
    /// A guard over `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    fn key(delivery: &DeliveryId) -> String {
        // Delivery ids are [A-Za-z0-9._-] only: safe in a key as is.
        format!("{DELIVERIES_PREFIX}{delivery}")
    }

    fn error(&self, delivery: &DeliveryId, message: String) -> GuardError {
        GuardError {
            delivery: delivery.to_string(),
            bucket: self.bucket.clone(),
            key: Self::key(delivery),
            message,
        }
    }

    /// Records `delivery`, received at `now`, unless it was recorded before.
    pub async fn record(
        &self,
        delivery: &DeliveryId,
        now: SystemTime,
    ) -> Result<Recorded, GuardError> {
        let received_ms = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let body = serde_json::json!({"receivedAt": received_ms}).to_string();
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::key(delivery))
            .if_none_match("*")
            .content_type("application/json")
            .body(body.into_bytes().into())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::First),
            Err(error) => match classify(&error) {
                Failure::Refused => Ok(Recorded::Replay),
                Failure::NotFound => Err(self.error(delivery, "the bucket does not exist".into())),
                Failure::Other(message) => Err(self.error(delivery, message)),
            },
        }
    }
}
