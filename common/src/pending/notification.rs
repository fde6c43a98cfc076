//! S3 events read into what they wake a function for: a pending trigger of a step and target,
//! or an access-as-code file of a target. Two shapes: an S3 event notification (`{"Records":
//! [{"eventName", "s3": {"bucket": {"name"}, "object": {"key"}}}]}`, keys URL-encoded) and the
//! event S3 sends to EventBridge, which template.yaml routes to the functions (`{"source":
//! "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name"}, "object":
//! {"key"}}}`, keys as they are).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use super::{ACCESS_AS_CODE_PREFIX, Error, TRIGGERS_PREFIX, decode_target};
use crate::step::Step;

/// What one record of an S3 event notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The bucket.
    pub bucket: String,
    /// The object's key, decoded.
    pub key: String,
    /// The event is an `ObjectCreated:*` one (not a removal, restore...).
    pub created: bool,
    /// What the key is.
    pub kind: NoticeKind,
}

/// What a key is, by its place in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    /// `triggers/<step>/<target>/<delivery>.json`: work pending for `step` of `target`.
    Pending {
        /// The step.
        step: Step,
        /// The raito.yml target name, decoded.
        target: String,
    },
    /// `access-as-code/<target>/...`: an access-as-code file of `target`.
    AccessAsCode {
        /// The raito.yml target name, decoded.
        target: String,
    },
    /// Any other key.
    Other,
}

/// The bucket and key of an S3 event that EventBridge carries, in its `detail`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct S3ObjectDetail {
    bucket: Bucket,
    object: Object,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Bucket {
    name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Object {
    key: String,
}

/// What the event S3 sends to EventBridge is about (its key as it is).
pub fn notice_of_bridge_event(event: EventBridgeEvent<S3ObjectDetail>) -> Notice {
    let key = event.detail.object.key;
    Notice {
        bucket: event.detail.bucket.name,
        kind: kind(&key),
        key,
        created: event.detail_type == "Object Created",
    }
}

/// What each record of an S3 event notification is about, keys decoded (S3 sends them
/// URL-encoded, with `+` for a space).
pub fn notices_of_s3_event(event: S3Event) -> Result<Vec<Notice>, Error> {
    event
        .records
        .into_iter()
        .map(|record| {
            let (Some(bucket), Some(encoded)) = (record.s3.bucket.name, record.s3.object.key)
            else {
                return Err(Error::Notification(
                    "an S3 event record without s3.bucket.name or s3.object.key".to_owned(),
                ));
            };
            let key = percent_decode_str(&encoded.replace('+', " "))
                .decode_utf8()
                .map_err(|_| {
                    Error::Notification(format!("object key {encoded:?} is not UTF-8 once decoded"))
                })?
                .into_owned();
            Ok(Notice {
                bucket,
                kind: kind(&key),
                key,
                created: record
                    .event_name
                    .is_some_and(|name| name.starts_with("ObjectCreated:")),
            })
        })
        .collect()
}

fn kind(key: &str) -> NoticeKind {
    if let Some(rest) = key.strip_prefix(TRIGGERS_PREFIX) {
        let parts: Vec<&str> = rest.split('/').collect();
        if let [step, target, file] = parts.as_slice()
            && !file.is_empty()
            && let (Some(step), Some(target)) = (Step::from_segment(step), decode_target(target))
        {
            return NoticeKind::Pending { step, target };
        }
    } else if let Some(rest) = key.strip_prefix(ACCESS_AS_CODE_PREFIX)
        && let Some((target, file)) = rest.split_once('/')
        && !file.is_empty()
        && let Some(target) = decode_target(target)
    {
        return NoticeKind::AccessAsCode { target };
    }
    NoticeKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An S3 event notification as S3 sends it.
    fn event(records: &[(&str, &str)]) -> S3Event {
        serde_json::from_value(json!({"Records": records.iter().map(|(name, key)| json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2026-11-22T06:00:00.000Z", "eventName": name,
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {"x-amz-request-id": "R1", "x-amz-id-2": "I2"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "triggers",
                   "bucket": {"name": "bundle", "ownerIdentity": {"principalId": "A1"},
                              "arn": "arn:aws:s3:::bundle"},
                   "object": {"key": key, "size": 42, "eTag": "abc", "sequencer": "00"}}
        })).collect::<Vec<_>>()}))
        .expect("an S3 event")
    }

    #[test]
    fn eventbridge_events_carry_the_key_as_it_is() {
        let event = json!({"version": "0", "id": "x", "detail-type": "Object Created",
            "source": "aws.s3", "account": "1", "time": "2026-11-22T06:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:s3:::bundle"],
            "detail": {"version": "0", "bucket": {"name": "bundle"},
                       "object": {"key": "access-as-code/warehouse/team a/grants.yaml", "size": 1},
                       "reason": "PutObject"}});
        let notice = notice_of_bridge_event(serde_json::from_value(event).expect("an event"));
        let notices = [notice];
        assert_eq!(
            notices[0].key,
            "access-as-code/warehouse/team a/grants.yaml"
        );
        assert!(notices[0].created);
        assert_eq!(
            notices[0].kind,
            NoticeKind::AccessAsCode {
                target: "warehouse".into()
            }
        );
    }

    #[test]
    fn trigger_keys_name_their_step_and_decoded_target() {
        // Target "my db/é": encoded in the key as my%20db%2F%C3%A9, which S3 URL-encodes again.
        let notices = notices_of_s3_event(event(&[
            (
                "ObjectCreated:Put",
                "triggers/access/my%2520db%252F%25C3%25A9/d-1.json",
            ),
            ("ObjectCreated:Put", "triggers/metadata/warehouse/d-2.json"),
        ]))
        .unwrap();
        assert_eq!(notices[0].key, "triggers/access/my%20db%2F%C3%A9/d-1.json");
        assert_eq!(
            notices[0].kind,
            NoticeKind::Pending {
                step: Step::DataAccess,
                target: "my db/é".into()
            }
        );
        assert!(notices[0].created);
        assert_eq!(notices[0].bucket, "bundle");
        assert_eq!(
            notices[1].kind,
            NoticeKind::Pending {
                step: Step::DataSource,
                target: "warehouse".into()
            }
        );
    }

    #[test]
    fn access_as_code_keys_name_their_target_and_plus_is_a_space() {
        let notices = notices_of_s3_event(event(&[
            (
                "ObjectCreated:Put",
                "access-as-code/warehouse/team+a/grants.yaml",
            ),
            ("ObjectRemoved:Delete", "access-as-code/warehouse/x.yaml"),
        ]))
        .unwrap();
        assert_eq!(
            notices[0].key,
            "access-as-code/warehouse/team a/grants.yaml"
        );
        assert_eq!(
            notices[0].kind,
            NoticeKind::AccessAsCode {
                target: "warehouse".into()
            }
        );
        assert!(!notices[1].created);
    }

    #[test]
    fn other_keys_and_malformed_trigger_keys_are_other() {
        let notices = notices_of_s3_event(event(&[
            ("ObjectCreated:Put", "staged/x.json"),
            ("ObjectCreated:Put", "triggers/bogus/warehouse/d.json"),
            (
                "ObjectCreated:Put",
                "triggers/access/warehouse/extra/d.json",
            ),
            ("ObjectCreated:Put", "triggers/access/warehouse/"),
            ("ObjectCreated:Put", "access-as-code/warehouse"),
        ]))
        .unwrap();
        assert!(
            notices.iter().all(|n| n.kind == NoticeKind::Other),
            "{notices:?}"
        );
    }
}
