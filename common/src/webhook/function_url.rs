//! The Lambda Function URL side of a webhook: the invocation event (payload format 2.0:
//! `requestContext.http.method`, `headers`, `body`, `isBase64Encoded`), as
//! `aws_lambda_events` types it, and the response object Lambda turns into the HTTP answer.

use std::time::SystemTime;

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine as _;
use serde_json::{Value, json};

use super::{MAX_BODY_BYTES, parse_trigger};
use super::{Recorded, Rejection, ReplayGuard, Verifier};
use crate::pending::DeliveryId;
use crate::trigger::Trigger;

/// A delivery that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The delivery id (recorded by [`receive`], not by [`check`]).
    pub delivery: DeliveryId,
    /// The trigger in the body.
    pub trigger: Trigger,
    /// The body's JSON text, exactly as signed (what `pending::Pending::enqueue` stores).
    pub body: String,
    /// The signature matched only the previous secret.
    pub used_previous_secret: bool,
}

/// Everything but the replay record: method, size, headers, timestamp, signature, body.
/// Takes the request by value so the body is not copied.
pub fn check(
    request: LambdaFunctionUrlRequest,
    verifier: &Verifier,
    now: SystemTime,
) -> Result<Accepted, Rejection> {
    if !request
        .request_context
        .http
        .method
        .as_deref()
        .is_some_and(|method| method.eq_ignore_ascii_case("POST"))
    {
        return Err(Rejection::MethodNotAllowed);
    }
    let text = request.body.unwrap_or_default();
    let too_large = Rejection::TooLarge {
        limit: MAX_BODY_BYTES,
    };
    let body: Vec<u8> = if request.is_base64_encoded {
        // Base64 of at most MAX_BODY_BYTES bytes: checked before decoding anything.
        if text.len() > MAX_BODY_BYTES.div_ceil(3) * 4 {
            return Err(too_large);
        }
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|_| Rejection::MalformedRequest {
                reason: "the body is marked base64-encoded but is not valid base64".to_owned(),
            })?
    } else {
        if text.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
        text.into_bytes()
    };
    let verified = verifier.verify(&request.headers, &body, now)?;
    let trigger = parse_trigger(&body)?;
    // parse_trigger read the body as JSON, which is UTF-8.
    let body = String::from_utf8(body).map_err(|_| Rejection::InvalidBody {
        reason: "it is not UTF-8".to_owned(),
    })?;
    Ok(Accepted {
        delivery: verified.delivery,
        trigger,
        body,
        used_previous_secret: verified.used_previous_secret,
    })
}

/// Checks a Function URL request, hands it to `act` (which queues it), then records its
/// delivery id: the accepted delivery, or the response to answer with.
///
/// The order is what makes every failure safe: nothing is recorded unless `act` succeeded, so
/// a delivery that could not be queued (`act` answers 503) is accepted again on Raito's retry;
/// and once it is queued it is acknowledged whatever the record says: a record refused with
/// 412 (a concurrent copy of the delivery, or an SDK retry of our own successful write) is
/// answered 409 (Raito treats it as delivered; the queued trigger is keyed by the delivery id,
/// so copies are one trigger), and a record that failed is logged and answered 202. A replay
/// of an already recorded delivery is refused with 409 after `act` ran again: that costs at
/// most a second run of the same trigger, only within the timestamp tolerance (the delivery id
/// is signed, so a captured request cannot be sent under a fresh id). The id is recorded only
/// once everything passed, so a caller without the secret cannot burn ids.
pub async fn receive(
    request: LambdaFunctionUrlRequest,
    verifier: &Verifier,
    guard: &ReplayGuard,
    now: SystemTime,
    act: impl AsyncFnOnce(&Accepted) -> Result<(), Response>,
) -> Result<Accepted, Response> {
    let accepted = check(request, verifier, now).map_err(|rejection| {
        tracing::warn!(status = rejection.status(), reason = %rejection, "webhook rejected");
        Response::rejected(&rejection)
    })?;
    if accepted.used_previous_secret {
        tracing::warn!(
            delivery = %accepted.delivery,
            "webhook signed with the previous secret only: finish the secret rotation in Raito"
        );
    }
    act(&accepted).await?;
    match guard.record(&accepted.delivery, now).await {
        Ok(Recorded::First) => {
            tracing::info!(delivery = %accepted.delivery, "webhook accepted");
            Ok(accepted)
        }
        Ok(Recorded::Replay) => {
            let rejection = Rejection::Replayed {
                delivery: accepted.delivery.to_string(),
            };
            tracing::warn!(status = rejection.status(), reason = %rejection, "webhook already recorded");
            Err(Response::rejected(&rejection))
        }
        Err(error) => {
            // Queued: acknowledged. Only a replay of it within the tolerance could run it twice.
            tracing::error!(delivery = %accepted.delivery, %error, "webhook queued but its delivery not recorded");
            Ok(accepted)
        }
    }
}

/// An HTTP answer, as a Function URL response object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Extra headers besides `content-type: application/json`.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Value,
}

impl Response {
    /// `202 Accepted` for `delivery`.
    pub fn accepted(delivery: &DeliveryId) -> Self {
        Self {
            status: 202,
            headers: Vec::new(),
            body: json!({"status": "accepted", "delivery": delivery.as_str()}),
        }
    }

    /// The answer to `rejection`: its status and `{"error": message}`; a 405 also says
    /// `allow: POST`.
    pub fn rejected(rejection: &Rejection) -> Self {
        let headers = match rejection {
            Rejection::MethodNotAllowed => vec![("allow", "POST".to_owned())],
            _ => Vec::new(),
        };
        Self {
            status: rejection.status(),
            headers,
            body: json!({"error": rejection.to_string()}),
        }
    }

    /// The response object a Function URL handler returns:
    /// `{"statusCode", "headers", "body"}` (the body as a JSON string).
    pub fn to_event(&self) -> Value {
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), "application/json".into());
        for (name, value) in &self.headers {
            headers.insert((*name).into(), value.clone().into());
        }
        json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body.to_string(),
        })
    }
}
