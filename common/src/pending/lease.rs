//! The run lease of one target and step: an S3 object created with `If-None-Match: *`, taken
//! over when expired with `If-Match: <etag>`, renewed and released with `If-Match` too, so
//! exactly one holder at a time wins every race, on S3 as on moto.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::conditional::{Failure, classify, get_if_exists};
use super::{Error, step_target_key};
use crate::step::Step;

/// Where leases live in the bucket: `locks/<step>/<target>`.
pub const LOCKS_PREFIX: &str = "locks/";
/// Conditional writes tried before giving up as [`Acquired::Busy`]: each failed attempt
/// means another runner changed the lease in between.
const MAX_ATTEMPTS: usize = 4;
/// A lease object larger than this is not a lease written here: treated as unreadable.
const MAX_LEASE_BYTES: i64 = 16 * 1024;

/// The lease object's body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseBody {
    holder: String,
    /// Unix milliseconds.
    expires_at: u64,
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The result of [`Leases::acquire`].
#[derive(Debug)]
pub enum Acquired {
    /// The lease is ours until released or expired.
    Held(Lease),
    /// Someone else holds it.
    Busy {
        /// The holder, when known.
        holder: Option<String>,
        /// When its lease expires, when known.
        expires_at: Option<SystemTime>,
    },
}

/// The result of [`Lease::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// The lease was ours and is deleted.
    Released,
    /// The lease was no longer ours (it expired and was taken over, or is gone): nothing was
    /// deleted.
    Lost,
}

/// The leases in one bucket.
#[derive(Debug, Clone)]
pub struct Leases {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// How a conditional write ended, other than with an error.
enum Put {
    Written(String),
    Refused,
}

/// The lease object as read.
struct Current {
    etag: String,
    body: Option<LeaseBody>,
}

impl Leases {
    /// The leases in `bucket` (the bundle's `RAITO_BUCKET`).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    fn s3_error(&self, operation: &'static str, key: &str, message: String) -> Error {
        Error::S3 {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message,
        }
    }

    /// Takes the lease of `step` for `target` for `holder` until `now + ttl`: created if
    /// absent, taken over if expired (or unreadable), else [`Acquired::Busy`]. A holder that
    /// asks again for a lease it holds is busy too: holder names should be unique per run.
    pub async fn acquire(
        &self,
        step: Step,
        target: &str,
        holder: &str,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<Acquired, Error> {
        let key = step_target_key(LOCKS_PREFIX, step, target)?;
        self.acquire_key(&key, holder, ttl, now).await
    }

    /// [`Leases::acquire`] for a lease that is not a target's: `key` (under [`LOCKS_PREFIX`]),
    /// e.g. the trigger listener's one lease.
    pub async fn acquire_key(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<Acquired, Error> {
        let key = key.to_owned();
        let expires_at = now + ttl;
        let body = LeaseBody {
            holder: holder.to_owned(),
            expires_at: millis(expires_at),
        };
        let held = |etag: String| {
            Acquired::Held(Lease {
                leases: self.clone(),
                key: key.clone(),
                etag,
                holder: holder.to_owned(),
                expires_at,
            })
        };
        let mut seen: Option<String> = None;
        for _ in 0..MAX_ATTEMPTS {
            if let Put::Written(etag) = put(self, &key, &body, None).await? {
                tracing::debug!(%key, holder, "lease acquired");
                return Ok(held(etag));
            }
            let Some(current) = self.read(&key).await? else {
                // Released in between: try to create it again.
                continue;
            };
            match &current.body {
                // Our own lease: a retry (by the SDK, of a conditional PUT that had succeeded)
                // is answered 412 and must not read as busy. The holder is this invocation's id.
                Some(other) if other.holder == holder => {
                    tracing::debug!(%key, holder, "lease already ours");
                    return Ok(held(current.etag.clone()));
                }
                Some(other) if other.expires_at > millis(now) => {
                    return Ok(Acquired::Busy {
                        holder: Some(other.holder.clone()),
                        expires_at: Some(UNIX_EPOCH + Duration::from_millis(other.expires_at)),
                    });
                }
                _ => {}
            }
            let previous = current.body.as_ref().map(|b| b.holder.clone());
            if let Put::Written(etag) = put(self, &key, &body, Some(&current.etag)).await? {
                tracing::warn!(
                    %key,
                    holder,
                    previous = previous.as_deref().unwrap_or("(unreadable lease)"),
                    "took over an expired lease"
                );
                return Ok(held(etag));
            }
            // Someone else took it over, renewed or released it in between: look again.
            seen = previous.or(seen);
        }
        Ok(Acquired::Busy {
            holder: seen,
            expires_at: None,
        })
    }

    /// The lease object, `None` when there is none.
    async fn read(&self, key: &str) -> Result<Option<Current>, Error> {
        let object = match get_if_exists(&self.client, &self.bucket, key).await {
            Ok(Some(object)) => object,
            Ok(None) => return Ok(None),
            Err(message) => return Err(self.s3_error("reading the lease", key, message)),
        };
        let etag = object
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| self.s3_error("reading the lease", key, "S3 returned no ETag".into()))?;
        if object.content_length().unwrap_or(0) > MAX_LEASE_BYTES {
            return Ok(Some(Current { etag, body: None }));
        }
        // At most MAX_LEASE_BYTES (checked above).
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| self.s3_error("reading the lease", key, e.to_string()))?
            .into_bytes();
        Ok(Some(Current {
            etag,
            body: serde_json::from_slice(&bytes).ok(),
        }))
    }
}

/// Writes the lease `body` at `key`: only if absent (`if_match` `None`: `If-None-Match: *`)
/// or only if its ETag is still `if_match`.
async fn put(
    leases: &Leases,
    key: &str,
    body: &LeaseBody,
    if_match: Option<&str>,
) -> Result<Put, Error> {
    let json = serde_json::to_vec(body)
        .map_err(|e| leases.s3_error("writing the lease", key, e.to_string()))?;
    let request = leases
        .client
        .put_object()
        .bucket(&leases.bucket)
        .key(key)
        .content_type("application/json")
        .body(json.into());
    let request = match if_match {
        None => request.if_none_match("*"),
        Some(etag) => request.if_match(etag),
    };
    match request.send().await {
        Ok(output) => output
            .e_tag()
            .map(|etag| Put::Written(etag.to_owned()))
            .ok_or_else(|| leases.s3_error("writing the lease", key, "S3 returned no ETag".into())),
        Err(error) => match classify(&error) {
            Failure::Refused | Failure::NotFound => Ok(Put::Refused),
            Failure::Other(message) => Err(leases.s3_error("writing the lease", key, message)),
        },
    }
}

/// A held lease. Dropping it keeps the lease until it expires: call [`Lease::release`].
#[derive(Debug)]
pub struct Lease {
    leases: Leases,
    key: String,
    etag: String,
    holder: String,
    expires_at: SystemTime,
}

impl Lease {
    /// The lease object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Who holds it.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// When it expires unless renewed.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Extends the lease to `now + ttl`; `false` when it is no longer ours (it expired and
    /// was taken over): the run should then stop as soon as it can.
    pub async fn renew(&mut self, ttl: Duration, now: SystemTime) -> Result<bool, Error> {
        let expires_at = now + ttl;
        let body = LeaseBody {
            holder: self.holder.clone(),
            expires_at: millis(expires_at),
        };
        match put(&self.leases, &self.key, &body, Some(&self.etag)).await? {
            Put::Written(etag) => {
                self.etag = etag;
                self.expires_at = expires_at;
                Ok(true)
            }
            Put::Refused => Ok(false),
        }
    }

    /// Runs `work` while holding the lease, then releases it whatever `work` returned, so no
    /// path can forget it (a lease left behind blocks the target until it expires). A lease
    /// lost to expiry during `work`, or one that could not be deleted, is a warning: it expires
    /// by itself. Returns `work`'s output.
    pub async fn hold<T>(self, work: impl Future<Output = T>) -> T {
        let output = work.await;
        let key = self.key.clone();
        match self.release().await {
            Ok(Released::Released) => {}
            Ok(Released::Lost) => {
                tracing::warn!(%key, "the lease expired during the run and was taken over");
            }
            Err(error) => {
                tracing::warn!(%key, %error, "the lease was not released; it expires by itself");
            }
        }
        output
    }

    /// Deletes the lease if it is still ours (`If-Match` on its ETag: S3 honours conditional
    /// deletes, which need s3:GetObject besides s3:DeleteObject).
    pub async fn release(self) -> Result<Released, Error> {
        let result = self
            .leases
            .client
            .delete_object()
            .bucket(&self.leases.bucket)
            .key(&self.key)
            .if_match(&self.etag)
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(key = %self.key, holder = %self.holder, "lease released");
                Ok(Released::Released)
            }
            Err(error) => match classify(&error) {
                Failure::Refused | Failure::NotFound => {
                    tracing::warn!(
                        key = %self.key,
                        holder = %self.holder,
                        "lease was taken over before release"
                    );
                    Ok(Released::Lost)
                }
                Failure::Other(message) => {
                    Err(self
                        .leases
                        .s3_error("releasing the lease", &self.key, message))
                }
            },
        }
    }
}
