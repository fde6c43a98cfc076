//! What a function is invoked with, read once into the typed events of `aws_lambda_events`:
//! a Function URL request (Raito's webhooks), an S3 event notification, the event S3 sends to
//! EventBridge (how template.yaml wakes the functions), or anything else, which is a schedule
//! or a trigger invoked directly and is read by [`Trigger::from_event`](crate::trigger::Trigger::from_event).
//!
//! The shapes are told apart by their top-level keys, which no two of them share; each is then
//! deserialized whole, so an event that has the key but not the rest of its shape is an error
//! that says which shape it failed, never a trigger read from the wrong fields.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::s3::S3Event;
use serde_json::Value;

use super::Error;
use crate::pending::{Notice, S3ObjectDetail, notice_of_bridge_event, notices_of_s3_event};

/// What invoked a function.
#[derive(Debug)]
pub(crate) enum Invocation {
    /// A Function URL request (payload format 2.0): Raito's webhooks.
    FunctionUrl(Box<LambdaFunctionUrlRequest>),
    /// Objects created in (or removed from) the bundle's bucket: an S3 event notification or
    /// its EventBridge form, one notice per object.
    S3(Vec<Notice>),
    /// A schedule, or a trigger invoked directly: the payload as it came.
    Direct(Value),
}

impl Invocation {
    /// Reads `event` by its shape.
    pub(crate) fn read(event: Value) -> Result<Self, Error> {
        let shape = |what: &str, e: serde_json::Error| {
            Error::Unsupported(format!("{what}, but not as AWS sends one: {e}"))
        };
        if event.get("requestContext").is_some() {
            return serde_json::from_value::<LambdaFunctionUrlRequest>(event)
                .map(|request| Self::FunctionUrl(Box::new(request)))
                .map_err(|e| shape("a Function URL request (requestContext)", e));
        }
        if event.get("Records").is_some() {
            let event = serde_json::from_value::<S3Event>(event)
                .map_err(|e| shape("an S3 event notification (Records)", e))?;
            return Ok(Self::S3(notices_of_s3_event(event)?));
        }
        if event.get("source").and_then(Value::as_str) == Some("aws.s3") {
            let event = serde_json::from_value::<EventBridgeEvent<S3ObjectDetail>>(event)
                .map_err(|e| shape("an S3 event through EventBridge (source aws.s3)", e))?;
            return Ok(Self::S3(vec![notice_of_bridge_event(event)]));
        }
        Ok(Self::Direct(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn function_url_request() -> Value {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {"content-type": "application/json", "x-raito-delivery": "d-1"},
            "requestContext": {
                "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
                "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
                "time": "22/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_334_400_000u64,
                "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.7", "userAgent": "Raito-Webhooks/1.0"}
            },
            "body": "{}", "isBase64Encoded": false
        })
    }

    #[test]
    fn each_shape_is_read_into_its_type() {
        let Ok(Invocation::FunctionUrl(request)) = Invocation::read(function_url_request()) else {
            panic!("a Function URL request");
        };
        assert_eq!(request.request_context.http.method.as_deref(), Some("POST"));
        assert_eq!(request.headers["x-raito-delivery"], "d-1");

        let s3 = json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2026-11-22T06:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:A"}, "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {"x-amz-request-id": "R"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                   "bucket": {"name": "bundle", "arn": "arn:aws:s3:::bundle"},
                   "object": {"key": "triggers/access/t/d.json", "size": 2, "eTag": "e", "sequencer": "0"}}
        }]});
        let Ok(Invocation::S3(notices)) = Invocation::read(s3) else {
            panic!("an S3 event");
        };
        assert_eq!(notices[0].key, "triggers/access/t/d.json");

        let bridge = json!({"version": "0", "id": "e-1", "detail-type": "Object Created",
            "source": "aws.s3", "account": "1", "time": "2026-11-22T06:00:00Z",
            "region": "eu-west-1", "resources": ["arn:aws:s3:::bundle"],
            "detail": {"bucket": {"name": "bundle"}, "object": {"key": "triggers/usage/t/d.json"}}});
        let Ok(Invocation::S3(notices)) = Invocation::read(bridge) else {
            panic!("an S3 event through EventBridge");
        };
        assert!(notices[0].created);

        for direct in [
            json!({"targets": ["a"]}),
            json!({"syncTrigger": {"dataSource": "ds1"}}),
            json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}),
            json!({"Event": "s3:TestEvent"}),
        ] {
            assert!(
                matches!(Invocation::read(direct.clone()), Ok(Invocation::Direct(ref v)) if *v == direct),
                "{direct}"
            );
        }
    }

    #[test]
    fn a_shape_half_there_is_an_error_naming_it() {
        let error = Invocation::read(json!({"requestContext": {"elb": {}}})).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a Function URL request (requestContext), but not as AWS sends one"),
            "{error}"
        );
        let error = Invocation::read(json!({"Records": [{"eventSource": "aws:s3"}]})).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("an S3 event notification (Records), but not as AWS sends one"),
            "{error}"
        );
        let error = Invocation::read(json!({"source": "aws.s3", "detail-type": "Object Created"}))
            .unwrap_err();
        assert!(error.to_string().contains("source aws.s3"), "{error}");
    }
}
