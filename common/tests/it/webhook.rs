//! Raito's signed webhooks: the `v1` signature check and the Function URL glue with real
//! HMACs (no service needed), and the replay guard and secret loading against moto ("moto"
//! in the test name).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use raito_common::pending::DeliveryId;
use raito_common::secrecy::SecretString;
use raito_common::trigger::Trigger;
use raito_common::webhook::function_url::{self, Accepted, Response, check, receive};
use raito_common::webhook::{MAX_BODY_BYTES, Rejection, ReplayGuard, Verifier};
use serde_json::{Value, json};

use crate::support;

const SECRET: &str = "whsec-current-0123456789abcdef";
const PREVIOUS: &str = "whsec-previous-fedcba9876543210";
const NOW: u64 = 1_795_334_400;
const BODY: &str = r#"{"syncTrigger":{"dataSource":"ds1","dataSourceSync":true,"dataObjectParent":"sales.public"}}"#;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// The hex HMAC-SHA256 of `<timestamp>.<delivery>.<body>`, computed independently of the
/// crate's verifier.
fn sign(secret: &str, timestamp: &str, delivery: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(delivery.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn verifier() -> Verifier {
    Verifier::new(SecretString::from(SECRET), None)
}

/// Headers of a delivery signed with `secret` at `timestamp`.
fn signed_headers(
    secret: &str,
    timestamp: u64,
    delivery: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let ts = timestamp.to_string();
    vec![
        ("x-raito-timestamp".into(), ts.clone()),
        ("x-raito-delivery".into(), delivery.into()),
        (
            "x-raito-signature".into(),
            format!("v1={}", sign(secret, &ts, delivery, body)),
        ),
    ]
}

/// A Function URL invocation event (payload format 2.0), as Lambda delivers it, read into its
/// type as the functions read it.
fn event(
    method: &str,
    headers: &[(String, String)],
    body: &str,
    base64: bool,
) -> LambdaFunctionUrlRequest {
    let mut all: serde_json::Map<String, Value> = serde_json::Map::new();
    all.insert("content-type".into(), "application/json".into());
    all.insert("host".into(), "abcdefgh.lambda-url.eu-west-1.on.aws".into());
    all.insert("user-agent".into(), "Raito-Webhooks/1.0".into());
    for (name, value) in headers {
        all.insert(name.clone(), value.clone().into());
    }
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": all,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefgh",
            "domainName": "abcdefgh.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefgh",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "Raito-Webhooks/1.0"},
            "requestId": "c2b5c1e4-1d9e-4d5a-9a43-6a1f0e1a2b3c",
            "routeKey": "$default", "stage": "$default",
            "time": "22/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_334_400_000u64
        },
        "body": body,
        "isBase64Encoded": base64
    }))
    .expect("a Function URL request")
}

fn signed_event(delivery: &str) -> LambdaFunctionUrlRequest {
    event(
        "POST",
        &signed_headers(SECRET, NOW, delivery, BODY.as_bytes()),
        BODY,
        false,
    )
}

fn rejection(event: LambdaFunctionUrlRequest, verifier: &Verifier) -> Rejection {
    check(event, verifier, now()).expect_err("rejected")
}

#[test]
fn a_correctly_signed_sync_trigger_is_accepted_with_its_body_as_sent() {
    let accepted = check(signed_event("dlv-1"), &verifier(), now()).unwrap();
    assert_eq!(accepted.delivery.as_str(), "dlv-1");
    assert_eq!(accepted.body, BODY);
    assert!(!accepted.used_previous_secret);
    let Trigger::SyncTrigger(trigger) = accepted.trigger else {
        panic!("a sync trigger, got {:?}", accepted.trigger);
    };
    assert_eq!(trigger.data_source.as_deref(), Some("ds1"));
    assert_eq!(trigger.data_object_parent.as_deref(), Some("sales.public"));
}

#[test]
fn an_ap_update_is_accepted() {
    let body = r#"{"apUpdate":{"domain":"acme","dataSourceNames":["ds1","ds2"]}}"#;
    let event = event(
        "POST",
        &signed_headers(SECRET, NOW, "d", body.as_bytes()),
        body,
        false,
    );
    let accepted = check(event, &verifier(), now()).unwrap();
    let Trigger::ApUpdate(update) = accepted.trigger else {
        panic!("an apUpdate");
    };
    assert_eq!(update.data_source_names, vec!["ds1", "ds2"]);
}

#[test]
fn a_signature_made_with_another_secret_is_401() {
    let event = event(
        "POST",
        &signed_headers("not-the-secret", NOW, "d", BODY.as_bytes()),
        BODY,
        false,
    );
    let refused = rejection(event, &verifier());
    assert_eq!(refused, Rejection::BadSignature);
    assert_eq!(refused.status(), 401);
}

#[test]
fn during_a_rotation_the_previous_secret_and_either_of_two_signatures_pass() {
    let rotating = Verifier::new(
        SecretString::from(SECRET),
        Some(SecretString::from(PREVIOUS)),
    );
    // Signed only with the previous secret: accepted, and flagged.
    let old = event(
        "POST",
        &signed_headers(PREVIOUS, NOW, "d", BODY.as_bytes()),
        BODY,
        false,
    );
    assert!(
        check(old.clone(), &rotating, now())
            .unwrap()
            .used_previous_secret
    );
    // Without the previous secret configured, the same delivery fails.
    assert_eq!(rejection(old, &verifier()), Rejection::BadSignature);

    // Raito signing with both (old first): the receiver with only the new secret accepts.
    let ts = NOW.to_string();
    let both = format!(
        "v1={}, v1={}",
        sign(PREVIOUS, &ts, "d", BODY.as_bytes()),
        sign(SECRET, &ts, "d", BODY.as_bytes())
    );
    let headers = vec![
        ("x-raito-timestamp".to_owned(), ts),
        ("x-raito-delivery".to_owned(), "d".to_owned()),
        ("x-raito-signature".to_owned(), both),
    ];
    let accepted = check(event("POST", &headers, BODY, false), &verifier(), now()).unwrap();
    assert!(!accepted.used_previous_secret);
}

#[test]
fn timestamps_more_than_five_minutes_away_either_way_are_401() {
    for (offset, accepted) in [(-300i64, true), (300, true), (-301, false), (301, false)] {
        let ts = NOW.checked_add_signed(offset).unwrap();
        let event = event(
            "POST",
            &signed_headers(SECRET, ts, "d", BODY.as_bytes()),
            BODY,
            false,
        );
        let result = check(event, &verifier(), now());
        assert_eq!(result.is_ok(), accepted, "offset {offset}: {result:?}");
        if let Err(refused) = result {
            assert_eq!(refused.status(), 401);
            let direction = if offset < 0 { "past" } else { "future" };
            assert!(refused.to_string().contains(direction), "{refused}");
        }
    }
}

#[test]
fn a_body_changed_after_signing_is_401() {
    let tampered = BODY.replace("ds1", "ds2");
    let event = event(
        "POST",
        &signed_headers(SECRET, NOW, "d", BODY.as_bytes()),
        &tampered,
        false,
    );
    assert_eq!(rejection(event, &verifier()), Rejection::BadSignature);
}

#[test]
fn a_body_over_256_kib_is_413_before_headers_are_even_read() {
    let big = format!(
        r#"{{"apUpdate":{{"domain":"{}"}}}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    // No signature headers at all: the size is what is reported.
    let refused = rejection(event("POST", &[], &big, false), &verifier());
    assert_eq!(refused.status(), 413, "{refused}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&big);
    let refused = rejection(event("POST", &[], &encoded, true), &verifier());
    assert_eq!(refused.status(), 413, "{refused}");

    // Exactly at the limit, correctly signed, is accepted (the domain is the padding).
    let at_limit = format!(
        r#"{{"apUpdate":{{"domain":"{}"}}}}"#,
        "x".repeat(MAX_BODY_BYTES - r#"{"apUpdate":{"domain":""}}"#.len())
    );
    assert_eq!(at_limit.len(), MAX_BODY_BYTES);
    let event = event(
        "POST",
        &signed_headers(SECRET, NOW, "d", at_limit.as_bytes()),
        &at_limit,
        false,
    );
    assert!(check(event, &verifier(), now()).is_ok());
}

#[test]
fn each_missing_header_is_named_in_a_400() {
    let full = signed_headers(SECRET, NOW, "d", BODY.as_bytes());
    for (missing, name) in [
        ("x-raito-timestamp", "X-Raito-Timestamp"),
        ("x-raito-delivery", "X-Raito-Delivery"),
        ("x-raito-signature", "X-Raito-Signature"),
    ] {
        let headers: Vec<_> = full.iter().filter(|(n, _)| n != missing).cloned().collect();
        let refused = rejection(event("POST", &headers, BODY, false), &verifier());
        assert_eq!(refused, Rejection::MissingHeader { name }, "{missing}");
        assert_eq!(refused.status(), 400);
    }
}

/// The delivery id is signed: a captured request sent again under a fresh id (to get past
/// the replay guard) does not verify.
#[test]
fn a_captured_request_under_another_delivery_id_is_refused() {
    let mut headers = signed_headers(SECRET, NOW, "dlv-1", BODY.as_bytes());
    for (name, value) in &mut headers {
        if name == "x-raito-delivery" {
            *value = "dlv-2".to_owned();
        }
    }
    assert_eq!(
        rejection(event("POST", &headers, BODY, false), &verifier()),
        Rejection::BadSignature
    );
}

#[test]
fn malformed_headers_are_400_and_say_what_is_expected() {
    let ts = NOW.to_string();
    let good = sign(SECRET, &ts, "d", BODY.as_bytes());
    let cases = [
        (
            ts.clone(),
            "d".to_owned(),
            format!("sha256={good}"),
            "X-Raito-Signature",
        ),
        (
            ts.clone(),
            "d".to_owned(),
            good.clone(),
            "X-Raito-Signature",
        ),
        (
            ts.clone(),
            "d".to_owned(),
            "v1=nothex".to_owned(),
            "X-Raito-Signature",
        ),
        (
            ts.clone(),
            "d".to_owned(),
            format!("v1={}", &good[..62]),
            "X-Raito-Signature",
        ),
        (
            ts.clone(),
            "a/b".to_owned(),
            format!("v1={good}"),
            "X-Raito-Delivery",
        ),
        (
            ts.clone(),
            "x".repeat(129),
            format!("v1={good}"),
            "X-Raito-Delivery",
        ),
        (
            "17953344OO".to_owned(),
            "d".to_owned(),
            format!("v1={good}"),
            "X-Raito-Timestamp",
        ),
        (
            format!("{ts}.5"),
            "d".to_owned(),
            format!("v1={good}"),
            "X-Raito-Timestamp",
        ),
    ];
    for (timestamp, delivery, signature, header) in cases {
        let headers = vec![
            ("x-raito-timestamp".to_owned(), timestamp),
            ("x-raito-delivery".to_owned(), delivery),
            ("x-raito-signature".to_owned(), signature.clone()),
        ];
        let refused = rejection(event("POST", &headers, BODY, false), &verifier());
        assert!(
            matches!(refused, Rejection::MalformedHeader { name, .. } if name == header),
            "{signature}: {refused:?}"
        );
        assert_eq!(refused.status(), 400);
        // The message never echoes a signature back.
        assert!(!refused.to_string().contains(&good), "{refused}");
    }
}

#[test]
fn header_names_match_in_any_case() {
    let title_case = |name: &str| {
        name.split('-')
            .map(|part| part[..1].to_uppercase() + &part[1..])
            .collect::<Vec<_>>()
            .join("-")
    };
    let headers: Vec<(String, String)> = signed_headers(SECRET, NOW, "d", BODY.as_bytes())
        .into_iter()
        .map(|(name, value)| (title_case(&name), value))
        .collect();
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["X-Raito-Timestamp", "X-Raito-Delivery", "X-Raito-Signature"]
    );
    assert!(check(event("POST", &headers, BODY, false), &verifier(), now()).is_ok());

    // The same header twice under two spellings (which Lambda never sends: it lower-cases the
    // names and joins repeated headers with commas) is one header once read, the later
    // spelling's, and refused: its value is not the one signed.
    let mut twice = headers.clone();
    twice.push(("x-raito-delivery".to_owned(), "other".to_owned()));
    let refused = rejection(event("POST", &twice, BODY, false), &verifier());
    assert!(matches!(refused, Rejection::BadSignature), "{refused:?}");
    // Repeated, as Lambda joins them: not a delivery id.
    let mut joined = headers.clone();
    for (name, value) in &mut joined {
        if name == "X-Raito-Delivery" {
            value.push_str(",other");
        }
    }
    let refused = rejection(event("POST", &joined, BODY, false), &verifier());
    assert!(
        matches!(
            refused,
            Rejection::MalformedHeader {
                name: "X-Raito-Delivery",
                ..
            }
        ),
        "{refused:?}"
    );
}

#[test]
fn a_base64_encoded_body_is_decoded_before_the_signature_is_checked() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(BODY);
    let headers = signed_headers(SECRET, NOW, "d", BODY.as_bytes());
    let accepted = check(event("POST", &headers, &encoded, true), &verifier(), now()).unwrap();
    assert_eq!(accepted.body, BODY);
    // Marked base64 but not base64: 400.
    let refused = rejection(event("POST", &headers, "{not base64}", true), &verifier());
    assert_eq!(refused.status(), 400, "{refused}");
}

#[test]
fn a_get_is_405_with_allow_post() {
    let refused = rejection(event("GET", &[], "", false), &verifier());
    assert_eq!(refused, Rejection::MethodNotAllowed);
    let response = function_url::Response::rejected(&refused).to_event();
    assert_eq!(response["statusCode"], 405);
    assert_eq!(response["headers"]["allow"], "POST");
}

#[test]
fn signed_bodies_that_are_not_a_raito_trigger_are_400() {
    for body in [
        r#"{"targets":["warehouse"]}"#,
        r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#,
        r#"{"apUpdate":{},"syncTrigger":{}}"#,
        r#"{"syncTrigger":{"dataSourceSync":"yes"}}"#,
        r#"[1,2]"#,
        "not json",
    ] {
        let event = event(
            "POST",
            &signed_headers(SECRET, NOW, "d", body.as_bytes()),
            body,
            false,
        );
        let refused = rejection(event, &verifier());
        assert!(
            matches!(refused, Rejection::InvalidBody { .. }),
            "{body}: {refused:?}"
        );
        assert_eq!(refused.status(), 400);
    }
}

#[test]
fn responses_are_function_url_response_objects() {
    let accepted =
        function_url::Response::accepted(&DeliveryId::parse("dlv-9").unwrap()).to_event();
    assert_eq!(accepted["statusCode"], 202);
    assert_eq!(accepted["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(accepted["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"status": "accepted", "delivery": "dlv-9"}));

    let refused = function_url::Response::rejected(&Rejection::BadSignature).to_event();
    assert_eq!(refused["statusCode"], 401);
    let body: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("signature does not match")
    );
}

async fn guard() -> (ReplayGuard, aws_sdk_s3::Client, String) {
    let client = raito_common::aws::s3_client(&support::moto_sdk_config());
    let bucket = support::unique_name("webhook").replace('_', "-");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket in moto (is moto running?)");
    (ReplayGuard::new(client.clone(), &bucket), client, bucket)
}

/// Nothing to act on: the delivery is taken as queued.
async fn queued(_: &Accepted) -> Result<(), Response> {
    Ok(())
}

#[tokio::test]
async fn moto_a_delivery_is_accepted_once_and_its_replay_is_409() {
    let (guard, client, bucket) = guard().await;
    let first = receive(
        signed_event("dlv-replay"),
        &verifier(),
        &guard,
        now(),
        queued,
    )
    .await
    .expect("first delivery accepted");
    assert_eq!(first.delivery.as_str(), "dlv-replay");
    let record = client
        .get_object()
        .bucket(&bucket)
        .key("webhooks/deliveries/dlv-replay")
        .send()
        .await
        .expect("the delivery is recorded");
    let record: Value =
        serde_json::from_slice(&record.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(record["receivedAt"], NOW * 1000);

    let replay = receive(
        signed_event("dlv-replay"),
        &verifier(),
        &guard,
        now(),
        queued,
    )
    .await
    .expect_err("the replay is refused");
    assert_eq!(replay.status, 409);
    assert_eq!(
        replay.body["error"],
        "delivery dlv-replay was already received"
    );
}

/// A delivery that could not be queued is not recorded: Raito's retry is accepted. Nothing
/// needs undoing, so no failure order can acknowledge a delivery that is not queued.
#[tokio::test]
async fn moto_a_delivery_that_was_not_queued_is_not_recorded_and_its_retry_is_accepted() {
    let (guard, client, bucket) = guard().await;
    let unavailable = async |_: &Accepted| Err(Response::rejected(&Rejection::Unavailable));
    let refused = receive(
        signed_event("dlv-retry"),
        &verifier(),
        &guard,
        now(),
        unavailable,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status, 503);
    assert!(
        client
            .head_object()
            .bucket(&bucket)
            .key("webhooks/deliveries/dlv-retry")
            .send()
            .await
            .is_err(),
        "not recorded"
    );
    assert!(
        receive(
            signed_event("dlv-retry"),
            &verifier(),
            &guard,
            now(),
            queued
        )
        .await
        .is_ok(),
        "the retry is accepted"
    );
}

#[tokio::test]
async fn moto_a_delivery_with_a_bad_signature_does_not_burn_its_id() {
    let (guard, _, _) = guard().await;
    let forged = event(
        "POST",
        &signed_headers("attacker", NOW, "dlv-burn", BODY.as_bytes()),
        BODY,
        false,
    );
    let refused = receive(forged, &verifier(), &guard, now(), queued)
        .await
        .unwrap_err();
    assert_eq!(refused.status, 401);
    assert!(
        receive(signed_event("dlv-burn"), &verifier(), &guard, now(), queued)
            .await
            .is_ok()
    );
}

/// Queued, then the record fails (here: no bucket): the delivery is acknowledged, since it is
/// queued; it is never a replay.
#[tokio::test]
async fn moto_a_record_that_fails_after_queuing_still_acknowledges() {
    let client = raito_common::aws::s3_client(&support::moto_sdk_config());
    let guard = ReplayGuard::new(client, support::unique_name("absent").replace('_', "-"));
    let accepted = receive(signed_event("dlv-x"), &verifier(), &guard, now(), queued)
        .await
        .expect("queued, so acknowledged");
    assert_eq!(accepted.delivery.as_str(), "dlv-x");
}

/// Documents moto's behaviour the guard relies on: `If-None-Match: *` on an existing key is
/// refused with 412 PreconditionFailed (as on S3), and the object is left as it was.
#[tokio::test]
async fn moto_honours_if_none_match_on_put_object() {
    let (_, client, bucket) = guard().await;
    let put = |body: &'static str| {
        client
            .put_object()
            .bucket(&bucket)
            .key("k")
            .if_none_match("*")
            .body(body.as_bytes().to_vec().into())
            .send()
    };
    put("first").await.expect("created");
    let error = put("second").await.expect_err("refused");
    let status = error.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(412));
    let kept = client
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(
        &kept.body.collect().await.unwrap().into_bytes()[..],
        b"first"
    );
}

#[tokio::test]
async fn moto_the_verifier_reads_a_whole_secret_or_a_field_and_the_previous_one() {
    let config = support::moto_sdk_config();
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let whole = support::unique_name("webhook-whole");
    let json = support::unique_name("webhook-json");
    for (name, value) in [
        (&whole, PREVIOUS.to_owned()),
        (&json, json!({"webhook-secret": SECRET, "n": 1}).to_string()),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret in moto");
    }
    let source = raito_common::aws::secrets::SecretsManager::new(&config);
    let verifier = Verifier::load(&source, &format!("{json}#webhook-secret"), Some(&whole))
        .await
        .unwrap();
    let accepted = check(signed_event("d"), &verifier, now()).unwrap();
    assert!(!accepted.used_previous_secret);
    let old = event(
        "POST",
        &signed_headers(PREVIOUS, NOW, "d", BODY.as_bytes()),
        BODY,
        false,
    );
    assert!(check(old, &verifier, now()).unwrap().used_previous_secret);

    let error = Verifier::load(&source, &format!("{json}#n"), None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is not a string"), "{error}");
    let error = Verifier::load(&source, &format!("{json}#missing"), None)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("has no field \"missing\""),
        "{error}"
    );
    // Neither error shows the secret.
    assert!(!format!("{error} {error:?}").contains(SECRET));
    assert!(!format!("{verifier:?}").contains(SECRET));
}
