//! The `v1` signature check of one delivery: headers, timestamp tolerance, HMAC-SHA256 over
//! `"<timestamp>.<delivery>.<body>"` against the current and the previous secret, and the body's shape.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2_hmac::Sha256;

use super::{Error, Rejection};
use crate::aws::secrets::{SecretSource, secret_field};
use crate::pending::DeliveryId;
use crate::trigger::Trigger;

type HmacSha256 = Hmac<Sha256>;

/// The header with the signing time (Unix seconds), lower-cased.
pub const TIMESTAMP_HEADER: &str = "x-raito-timestamp";
/// The header with the delivery id, lower-cased.
pub const DELIVERY_HEADER: &str = "x-raito-delivery";
/// The header with the signatures (`v1=<hex>,...`), lower-cased.
pub const SIGNATURE_HEADER: &str = "x-raito-signature";
/// How far the timestamp may be from the receiver's clock, either way.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// The largest body accepted, in bytes (after base64 decoding).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// At most this many entries in `X-Raito-Signature`: bounds the HMAC work one request can ask
/// for (entries × secrets comparisons).
const MAX_SIGNATURE_ENTRIES: usize = 8;

/// What a verified request's headers said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The delivery id.
    pub delivery: DeliveryId,
    /// The signing time, Unix seconds.
    pub timestamp: u64,
    /// The signature matched only the previous secret: the rotation is not finished on
    /// Raito's side (worth a log line, not a rejection).
    pub used_previous_secret: bool,
}

/// Checks signed deliveries against the shared secret, and a previous one during a rotation.
/// Cheap to build: build it per invocation from a cached [`SecretSource`] so a rotated
/// secret is picked up when the cache expires.
#[derive(Clone)]
pub struct Verifier {
    current: SecretString,
    previous: Option<SecretString>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("previous_secret", &self.previous.is_some())
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

/// Reads `reference`, `NAME` (the whole SecretString) or `NAME#field` (a string field of a
/// JSON secret).
async fn read_secret<S: SecretSource + ?Sized>(
    source: &S,
    reference: &str,
) -> Result<SecretString, Error> {
    let secret = match reference.split_once('#') {
        None => source.secret_string(reference.trim()).await?,
        Some((name, field)) => {
            let (name, field) = (name.trim(), field.trim());
            match secret_field(source, name, field).await? {
                Value::String(text) => SecretString::from(text),
                _ => {
                    return Err(Error::NotAString {
                        name: name.to_owned(),
                        field: field.to_owned(),
                    });
                }
            }
        }
    };
    if secret.expose_secret().is_empty() {
        return Err(Error::Empty {
            name: reference.to_owned(),
        });
    }
    Ok(secret)
}

impl Verifier {
    /// A verifier for `current`, also accepting `previous` (the secret being rotated out).
    pub fn new(current: SecretString, previous: Option<SecretString>) -> Self {
        Self {
            current,
            previous,
            tolerance: TOLERANCE,
        }
    }

    /// Reads the secrets from `source`: `current` and the optional `previous` are each `NAME`
    /// (the whole SecretString is the shared secret) or `NAME#field` (the string `field` of a
    /// JSON secret). An empty secret is an error.
    pub async fn load<S: SecretSource + ?Sized>(
        source: &S,
        current: &str,
        previous: Option<&str>,
    ) -> Result<Self, Error> {
        let current = read_secret(source, current).await?;
        let previous = match previous {
            Some(reference) => Some(read_secret(source, reference).await?),
            None => None,
        };
        Ok(Self::new(current, previous))
    }

    /// Checks one request: `headers` (any case), the raw `body`, against the clock `now`.
    /// Does not parse the body (see [`parse_trigger`]) and does not record the delivery.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Rejection::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let timestamp_text = header(headers, TIMESTAMP_HEADER)?;
        let timestamp = parse_timestamp(timestamp_text).ok_or(Rejection::MalformedHeader {
            name: "X-Raito-Timestamp",
            expected: "whole seconds since the Unix epoch, digits only",
        })?;
        let delivery = DeliveryId::parse(header(headers, DELIVERY_HEADER)?).ok_or(
            Rejection::MalformedHeader {
                name: "X-Raito-Delivery",
                expected: "1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
            },
        )?;
        let signatures = parse_signatures(header(headers, SIGNATURE_HEADER)?)?;

        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let tolerance = self.tolerance.as_secs();
        if timestamp.saturating_add(tolerance) < now {
            return Err(Rejection::StaleTimestamp {
                direction: "past",
                tolerance_seconds: tolerance,
            });
        }
        if timestamp > now.saturating_add(tolerance) {
            return Err(Rejection::StaleTimestamp {
                direction: "future",
                tolerance_seconds: tolerance,
            });
        }

        let signed = Signed {
            timestamp: timestamp_text,
            delivery: delivery.as_str(),
            body,
        };
        let used_previous_secret = if matches(&self.current, &signed, &signatures) {
            false
        } else if self
            .previous
            .as_ref()
            .is_some_and(|previous| matches(previous, &signed, &signatures))
        {
            true
        } else {
            return Err(Rejection::BadSignature);
        };
        Ok(Verified {
            delivery,
            timestamp,
            used_previous_secret,
        })
    }
}

/// What a signature covers: `"<timestamp>.<delivery>.<body>"`. The delivery id is inside, so
/// a captured request cannot be sent again under a fresh id (the replay guard keys on it).
struct Signed<'a> {
    timestamp: &'a str,
    delivery: &'a str,
    body: &'a [u8],
}

/// Whether any of `signatures` is the MAC of the signed string under `secret`, each compared
/// in constant time.
fn matches(secret: &SecretString, signed: &Signed<'_>, signatures: &[Vec<u8>]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) else {
        // HMAC takes keys of any length; this branch cannot be taken.
        return false;
    };
    mac.update(signed.timestamp.as_bytes());
    mac.update(b".");
    mac.update(signed.delivery.as_bytes());
    mac.update(b".");
    mac.update(signed.body);
    // Every entry is compared (no early exit), so the time taken does not say which matched.
    signatures.iter().fold(false, |found, signature| {
        mac.clone().verify_slice(signature).is_ok() | found
    })
}

/// The one value of header `name` (lower-case), looked up case-insensitively.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, Rejection> {
    let display = match name {
        TIMESTAMP_HEADER => "X-Raito-Timestamp",
        DELIVERY_HEADER => "X-Raito-Delivery",
        _ => "X-Raito-Signature",
    };
    // Header names are case-insensitive: the map holds them lower case, and holds a name sent
    // in two spellings as two values.
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Err(Rejection::MissingHeader { name: display }),
        (Some(value), None) => {
            value
                .to_str()
                .map(str::trim)
                .map_err(|_| Rejection::MalformedHeader {
                    name: display,
                    expected: "visible ASCII",
                })
        }
        (Some(_), Some(_)) => Err(Rejection::MalformedHeader {
            name: display,
            expected: "the header once",
        }),
    }
}

/// Unix seconds: 1 to 12 ASCII digits (12 digits reach the year 33658; bounds the parse).
fn parse_timestamp(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `v1` signatures of `X-Raito-Signature`, decoded from hex.
fn parse_signatures(text: &str) -> Result<Vec<Vec<u8>>, Rejection> {
    let malformed = Rejection::MalformedHeader {
        name: "X-Raito-Signature",
        expected: "comma-separated entries v1=<64 hex digits of HMAC-SHA256>",
    };
    let entries: Vec<&str> = text.split(',').map(str::trim).collect();
    if entries.len() > MAX_SIGNATURE_ENTRIES {
        return Err(malformed);
    }
    let mut signatures = Vec::new();
    for entry in entries {
        let Some((scheme, value)) = entry.split_once('=') else {
            return Err(malformed);
        };
        if scheme.trim() != "v1" {
            // Another scheme: ignored, so that one can be added next to v1.
            continue;
        }
        let value = value.trim();
        match hex::decode(value) {
            Ok(bytes) if bytes.len() == 32 => signatures.push(bytes),
            _ => return Err(malformed),
        }
    }
    if signatures.is_empty() {
        return Err(malformed);
    }
    Ok(signatures)
}

/// The body as a Raito trigger: a JSON object with exactly one key, `apUpdate` or
/// `syncTrigger`. Schedules (`{"targets": ...}`) and EventBridge envelopes are not accepted
/// over HTTP.
pub fn parse_trigger(body: &[u8]) -> Result<Trigger, Rejection> {
    let invalid = |reason: &str| Rejection::InvalidBody {
        reason: reason.to_owned(),
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("it is not valid JSON"))?;
    let Value::Object(object) = &value else {
        return Err(invalid("expected a JSON object"));
    };
    let mut keys = object.keys();
    match (keys.next().map(String::as_str), keys.next()) {
        (Some("apUpdate" | "syncTrigger"), None) => {}
        _ => {
            return Err(invalid(
                "expected exactly one key, \"apUpdate\" or \"syncTrigger\"",
            ));
        }
    }
    match Trigger::from_event(value) {
        Ok(trigger @ (Trigger::ApUpdate(_) | Trigger::SyncTrigger(_))) => Ok(trigger),
        Ok(Trigger::Schedule(_)) => Err(invalid("a schedule is not accepted over HTTP")),
        Err(error) => Err(Rejection::InvalidBody {
            reason: error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_signature_schemes_are_ignored_but_one_v1_is_required() {
        let hex = "ab".repeat(32);
        assert_eq!(
            parse_signatures(&format!("v2=zz, v1={hex}")).unwrap().len(),
            1
        );
        assert!(parse_signatures("v2=zz").is_err());
        assert!(parse_signatures(&format!("v1={}", "ab".repeat(31))).is_err());
        assert!(parse_signatures(&vec![format!("v1={hex}"); 9].join(",")).is_err());
    }

    #[test]
    fn timestamps_are_digits_only() {
        assert_eq!(parse_timestamp("1795334400"), Some(1_795_334_400));
        assert_eq!(parse_timestamp("+1"), None);
        assert_eq!(parse_timestamp("1.5"), None);
        assert_eq!(parse_timestamp("1234567890123"), None);
    }
}
