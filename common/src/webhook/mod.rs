//! Raito Cloud's signed webhooks, received on a Lambda Function URL: the signature check
//! ([`Verifier`]), the Function URL request and response ([`function_url`]) and the guard
//! against replayed deliveries ([`ReplayGuard`]).
//!
//! # The contract with Raito (signature scheme `v1`)
//!
//! Every delivery is an HTTPS `POST` whose body is one Raito trigger,
//! `{"apUpdate": {...}}` or `{"syncTrigger": {...}}` (see [`crate::trigger`]; a schedule
//! payload is not accepted over HTTP), at most [`MAX_BODY_BYTES`] (256 KiB), with three
//! headers (names are case-insensitive):
//!
//! - `X-Raito-Timestamp`: when the delivery was signed, in whole seconds since the Unix epoch
//!   (ASCII digits only, e.g. `1795334400`). It must be within [`TOLERANCE`] (5 minutes) of the
//!   receiver's clock, either way.
//! - `X-Raito-Delivery`: the delivery's id, 1 to 128 characters of `[A-Za-z0-9._-]`, unique per
//!   delivery (a retry of the same delivery keeps its id). An id is accepted once.
//! - `X-Raito-Signature`: `v1=<hex>`, the lower- or upper-case hex of
//!   `HMAC-SHA256(secret, "<X-Raito-Timestamp>.<raw body>")`, where the timestamp is the
//!   header's exact text and the body its exact bytes. Several comma-separated entries are
//!   allowed (`v1=<hex>,v1=<hex>`, at most 8) and the delivery passes if any `v1` entry matches
//!   any of the receiver's secrets: Raito signs with both the old and the new secret while a
//!   secret is rotated, and the receiver may hold a current and a previous secret
//!   ([`Verifier::new`]). Entries of other schemes (`v2=...`) are ignored, so a future scheme
//!   can be added next to `v1`.
//!
//! The signature is compared in constant time. The secret is a string held in AWS Secrets
//! Manager (the whole secret, or one field of a JSON secret: `NAME` or `NAME#field`, see
//! [`Verifier::load`]); neither it nor any signature is ever logged.
//!
//! Answers: `202` accepted (body `{"status": "accepted", "delivery": "<id>"}`); `400`
//! missing or malformed headers, or a body that is not a trigger; `401` a signature that does
//! not match or a timestamp outside the tolerance; `405` not a `POST`; `409` a delivery id
//! already accepted (Raito should treat it as delivered); `413` a body over the limit; `503`
//! the delivery could not be recorded (retry later). Rejections carry
//! `{"error": "<what is wrong>"}`, never a secret or a computed signature.
//!
//! # Order of the checks
//!
//! Method, then body size (before any decoding or hashing), then headers, then timestamp and
//! signature, then the body's shape, and only then the replay record: a caller without the
//! secret can neither burn delivery ids nor learn anything about how bodies are parsed.

pub mod function_url;
mod replay;
mod signature;

pub use function_url::{Accepted, Response, check, receive};
pub use replay::{DELIVERIES_PREFIX, GuardError, Recorded, ReplayGuard};
pub use signature::{
    DELIVERY_HEADER, MAX_BODY_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE, Verified,
    Verifier, parse_trigger,
};

/// Why the verifier could not be built from Secrets Manager. Messages name the secret (never
/// its value) and say what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The secret could not be read.
    #[error("reading the webhook secret: {0}")]
    Secret(#[from] crate::aws::secrets::SecretError),
    /// The field of a JSON secret holds something other than a string.
    #[error(
        "the webhook secret \"{name}\" field \"{field}\" is not a string: store the shared \
         secret as a JSON string"
    )]
    NotAString {
        /// The secret's name or ARN.
        name: String,
        /// The field.
        field: String,
    },
    /// The secret is empty.
    #[error(
        "the webhook secret \"{name}\" is empty: store the shared secret Raito signs with \
         (a long random string)"
    )]
    Empty {
        /// The secret's name or ARN (with `#field` when a field was asked for).
        name: String,
    },
}

/// Why a webhook request is refused. The message (`Display`) is what the caller is told: it
/// says what is wrong with the request and never reveals a secret, a computed signature or
/// internal details. [`Rejection::status`] is the HTTP status to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The request is not a `POST` (405).
    #[error("only POST is allowed")]
    MethodNotAllowed,
    /// The body is over [`MAX_BODY_BYTES`] (413).
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A required header is absent (400).
    #[error("header {name} is missing")]
    MissingHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A header is present but not in the expected form (400).
    #[error("header {name} is malformed: expected {expected}")]
    MalformedHeader {
        /// The header's name.
        name: &'static str,
        /// What the header should look like.
        expected: &'static str,
    },
    /// The request is not an HTTP request this receiver understands, e.g. a body that is not
    /// valid base64 (400).
    #[error("malformed request: {reason}")]
    MalformedRequest {
        /// What is wrong.
        reason: String,
    },
    /// The (authenticated) body is not one Raito trigger (400).
    #[error("the body is not a Raito trigger: {reason}")]
    InvalidBody {
        /// What is wrong with it.
        reason: String,
    },
    /// No signature matches (401).
    #[error(
        "the signature does not match: sign \"<X-Raito-Timestamp>.<body>\" with the shared \
         secret"
    )]
    BadSignature,
    /// The timestamp is too far from the receiver's clock (401).
    #[error(
        "X-Raito-Timestamp is more than {tolerance_seconds} seconds in the {direction}: sign \
         each delivery when it is sent, with a synchronised clock"
    )]
    StaleTimestamp {
        /// `past` or `future`.
        direction: &'static str,
        /// The tolerance, in seconds.
        tolerance_seconds: u64,
    },
    /// The delivery id was accepted before (409).
    #[error("delivery {delivery} was already received")]
    Replayed {
        /// The delivery id (validated: only `[A-Za-z0-9._-]`).
        delivery: String,
    },
    /// The delivery could not be recorded; nothing was accepted (503). The cause is logged,
    /// not told to the caller.
    #[error("the delivery could not be recorded: retry later")]
    Unavailable,
}

impl Rejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::MethodNotAllowed => 405,
            Rejection::TooLarge { .. } => 413,
            Rejection::MissingHeader { .. }
            | Rejection::MalformedHeader { .. }
            | Rejection::MalformedRequest { .. }
            | Rejection::InvalidBody { .. } => 400,
            Rejection::BadSignature | Rejection::StaleTimestamp { .. } => 401,
            Rejection::Replayed { .. } => 409,
            Rejection::Unavailable => 503,
        }
    }
}
