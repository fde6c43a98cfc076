//! Pending triggers: one S3 object per delivery under `triggers/<step>/<target>/`, listed in
//! bounded batches and deleted exactly as listed once a run consumed them.

use std::time::SystemTime;

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use futures::{StreamExt as _, TryStreamExt as _};

use super::DeliveryId;
use super::conditional::get_if_exists;
use super::{Error, step_target_key};
use crate::step::Step;
use crate::trigger::Trigger;

/// Where pending triggers live in the bucket.
pub const TRIGGERS_PREFIX: &str = "triggers/";
/// At most this many triggers are returned by one [`Pending::list`].
pub const LIST_LIMIT: usize = 1000;
/// The largest trigger body read (a webhook body is at most 256 KiB); a larger object is
/// reported as unreadable, not read.
pub const MAX_TRIGGER_BYTES: i64 = 256 * 1024;
/// One listing stops adding triggers once their sizes add up to this, so a batch is bounded in
/// memory whatever is in the bucket.
const LIST_BYTE_BUDGET: i64 = 16 * 1024 * 1024;
/// Bodies fetched at once.
const FETCH_CONCURRENCY: usize = 8;
/// DeleteObjects takes at most this many keys.
const DELETE_BATCH: usize = 1000;

/// One pending trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTrigger {
    /// Its key, to give to [`Pending::remove`] once consumed.
    pub key: String,
    /// The delivery id (the key's file name without `.json`).
    pub delivery: String,
    /// When it was enqueued (the object's last modification), if S3 said.
    pub enqueued_at: Option<SystemTime>,
    /// The trigger, or why its body could not be read as one (then it should still be
    /// removed: it will never become readable).
    pub trigger: Result<Trigger, String>,
}

/// One bounded batch of pending triggers, in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// The triggers.
    pub triggers: Vec<PendingTrigger>,
    /// More triggers were pending than one batch holds ([`LIST_LIMIT`] or the byte budget).
    pub more: bool,
}

impl Listing {
    /// The keys of every listed trigger (readable or not).
    pub fn keys(&self) -> Vec<String> {
        self.triggers.iter().map(|t| t.key.clone()).collect()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.triggers.is_empty()
    }
}

/// The pending triggers of one bucket.
#[derive(Debug, Clone)]
pub struct Pending {
    client: aws_sdk_s3::Client,
    bucket: String,
    list_limit: usize,
    page_size: usize,
}

impl Pending {
    /// The pending triggers in `bucket` (the bundle's `RAITO_BUCKET`).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            list_limit: LIST_LIMIT,
            page_size: LIST_LIMIT,
        }
    }

    /// At most `list_limit` triggers per [`Pending::list`] (1 to [`LIST_LIMIT`], the
    /// default), asked for `page_size` keys per S3 ListObjectsV2 request (1 to 1000, default
    /// 1000). Smaller batches bound one run's work more tightly.
    pub fn with_batch(mut self, list_limit: usize, page_size: usize) -> Self {
        self.list_limit = list_limit.clamp(1, LIST_LIMIT);
        self.page_size = page_size.clamp(1, 1000);
        self
    }

    fn s3_error(&self, operation: &'static str, key: &str, message: String) -> Error {
        Error::S3 {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message,
        }
    }

    /// Stores `trigger_json` as pending for `step` of `target`, under the delivery's id; the
    /// same delivery enqueued twice is one pending trigger. Returns its key.
    pub async fn enqueue(
        &self,
        step: Step,
        target: &str,
        delivery: &DeliveryId,
        trigger_json: &str,
    ) -> Result<String, Error> {
        let key = format!(
            "{}/{delivery}.json",
            step_target_key(TRIGGERS_PREFIX, step, target)?
        );
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(trigger_json.as_bytes().to_vec().into())
            .send()
            .await
            .map_err(|e| {
                self.s3_error(
                    "enqueuing a trigger at",
                    &key,
                    DisplayErrorContext(&e).to_string(),
                )
            })?;
        tracing::debug!(step = %step, target, %delivery, "trigger enqueued");
        Ok(key)
    }

    /// The pending triggers of `step` for `target`, in key order, with their bodies read: at
    /// most [`LIST_LIMIT`] (or the limit of [`Pending::with_batch`]) and a bounded number of
    /// bytes per call.
    pub async fn list(&self, step: Step, target: &str) -> Result<Listing, Error> {
        let prefix = format!("{}/", step_target_key(TRIGGERS_PREFIX, step, target)?);
        let mut found: Vec<(String, i64, Option<SystemTime>)> = Vec::new();
        let mut bytes = 0i64;
        let mut more = false;
        let mut token: Option<String> = None;
        'pages: loop {
            let remaining = (self.list_limit - found.len()).min(self.page_size);
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .max_keys(i32::try_from(remaining).unwrap_or(1000))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    self.s3_error(
                        "listing pending triggers under",
                        &prefix,
                        DisplayErrorContext(&e).to_string(),
                    )
                })?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let size = object.size().unwrap_or(0);
                // What reading it costs: an oversized object is reported, not read.
                let cost = size.clamp(0, MAX_TRIGGER_BYTES);
                if found.len() == self.list_limit
                    || (!found.is_empty() && bytes.saturating_add(cost) > LIST_BYTE_BUDGET)
                {
                    more = true;
                    break 'pages;
                }
                bytes = bytes.saturating_add(cost);
                let enqueued_at = object
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok());
                found.push((key.to_owned(), size, enqueued_at));
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
            if found.len() == self.list_limit {
                more = true;
                break;
            }
        }
        let triggers: Vec<Option<PendingTrigger>> = futures::stream::iter(found)
            .map(|(key, size, enqueued_at)| self.read(key, size, enqueued_at))
            .buffered(FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        let triggers: Vec<PendingTrigger> = triggers.into_iter().flatten().collect();
        tracing::debug!(step = %step, target, count = triggers.len(), more, "pending triggers listed");
        Ok(Listing { triggers, more })
    }

    /// Reads one listed trigger; `None` when it was removed in the meantime.
    async fn read(
        &self,
        key: String,
        size: i64,
        enqueued_at: Option<SystemTime>,
    ) -> Result<Option<PendingTrigger>, Error> {
        let delivery = key
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".json")
            .to_owned();
        let done = |trigger| {
            Ok(Some(PendingTrigger {
                key: key.clone(),
                delivery: delivery.clone(),
                enqueued_at,
                trigger,
            }))
        };
        if size > MAX_TRIGGER_BYTES {
            return done(Err(format!(
                "{size} bytes, more than the {MAX_TRIGGER_BYTES} bytes a trigger may have"
            )));
        }
        let object = match get_if_exists(&self.client, &self.bucket, &key).await {
            Ok(Some(object)) => object,
            Ok(None) => return Ok(None),
            Err(message) => {
                return Err(self.s3_error("reading the pending trigger", &key, message));
            }
        };
        if object.content_length().unwrap_or(0) > MAX_TRIGGER_BYTES {
            return done(Err("larger than a trigger may be".to_owned()));
        }
        // At most MAX_TRIGGER_BYTES (checked above).
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| self.s3_error("reading the pending trigger", &key, e.to_string()))?
            .into_bytes();
        let trigger = serde_json::from_slice(&body)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(|value| Trigger::from_event(value).map_err(|e| e.to_string()));
        done(trigger)
    }

    /// Deletes exactly `keys` (as listed), in batches. Keys outside `triggers/` are refused
    /// before anything is deleted. Deleting a key that is already gone is not an error.
    pub async fn remove(&self, keys: &[String]) -> Result<(), Error> {
        if let Some(key) = keys.iter().find(|k| !k.starts_with(TRIGGERS_PREFIX)) {
            return Err(Error::NotPending { key: key.clone() });
        }
        for batch in keys.chunks(DELETE_BATCH) {
            let first = batch.first().map(String::as_str).unwrap_or_default();
            let failed =
                |message: String| self.s3_error("deleting pending triggers from", first, message);
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failed(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| failed(e.to_string()))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| failed(DisplayErrorContext(&e).to_string()))?;
            if let Some(error) = output.errors().first() {
                return Err(self.s3_error(
                    "deleting the pending trigger",
                    error.key().unwrap_or(first),
                    format!(
                        "{} ({})",
                        error.message().unwrap_or("no message"),
                        error.code().unwrap_or("no code")
                    ),
                ));
            }
        }
        tracing::debug!(count = keys.len(), "pending triggers removed");
        Ok(())
    }

    /// The targets with triggers of `step` waiting (decoded names, in key order), from one
    /// delimited listing of `triggers/<step>/`: at most [`LIST_LIMIT`] targets per call, the
    /// rest in a later call once these are run. A segment that decodes to no target name is
    /// skipped with a warning.
    pub async fn waiting_targets(&self, step: Step) -> Result<Vec<String>, Error> {
        let prefix = format!("{TRIGGERS_PREFIX}{}/", step.segment());
        super::targets_under(
            &self.client,
            &self.bucket,
            &prefix,
            self.page_size,
            LIST_LIMIT,
        )
        .await
    }

    /// Wakes the function of `step` for `target` when triggers are pending there: the first
    /// pending trigger is copied onto itself (same body, a new `raito-woken-at` metadata
    /// value), which is a new `Object Created` event for the bucket's rule. For whoever leaves
    /// triggers behind it cannot run (no time left; a run that held the lease while another
    /// invocation was turned away). The key woken, `None` when nothing was pending.
    pub async fn wake(&self, step: Step, target: &str) -> Result<Option<String>, Error> {
        let prefix = format!("{}/", step_target_key(TRIGGERS_PREFIX, step, target)?);
        let listed = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| self.s3_error("listing", &prefix, DisplayErrorContext(&e).to_string()))?;
        let Some(key) = listed.contents().first().and_then(|o| o.key()) else {
            return Ok(None);
        };
        let source = format!(
            "{}/{}",
            self.bucket,
            percent_encoding::utf8_percent_encode(key, COPY_SOURCE)
        );
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(source)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .content_type("application/json")
            .metadata("raito-woken-at", now_ms().to_string())
            .send()
            .await
            .map_err(|e| self.s3_error("waking", key, DisplayErrorContext(&e).to_string()))?;
        tracing::info!(step = %step, target, key, "pending triggers left: their function woken");
        Ok(Some(key.to_owned()))
    }
}

/// What is escaped in an `x-amz-copy-source` key (everything but unreserved characters and
/// `/`).
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
