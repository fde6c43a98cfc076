//! S3 events read into what they wake a function for: a pending trigger of a step and target,
//! or an access-as-code file of a target. Two shapes: an S3 event notification (`{"Records":
//! [{"eventName", "s3": {"bucket": {"name"}, "object": {"key"}}}]}`, keys URL-encoded) and the
//! event S3 sends to EventBridge, which template.yaml routes to the functions (`{"source":
//! "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name"}, "object":
//! {"key"}}}`, keys as they are).

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

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

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<Record>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
}

/// Whether `event` is an S3 event notification: its first record comes from `aws:s3`.
pub fn is_s3_event(event: &Value) -> bool {
    event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        == Some("aws:s3")
        || event.get("source").and_then(Value::as_str) == Some("aws.s3")
}

/// The event S3 sends to EventBridge.
#[derive(Deserialize)]
struct BridgeEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: BridgeDetail,
}

#[derive(Deserialize)]
struct BridgeDetail {
    bucket: Bucket,
    object: Object,
}

/// The records of an S3 event notification, keys decoded (S3 sends them URL-encoded, with `+`
/// for a space).
pub fn parse_s3_event(event: &Value) -> Result<Vec<Notice>, Error> {
    if event.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let event = BridgeEvent::deserialize(event).map_err(|e| {
            Error::Notification(format!(
                "expected detail.bucket.name and detail.object.key: {e}"
            ))
        })?;
        let key = event.detail.object.key;
        return Ok(vec![Notice {
            bucket: event.detail.bucket.name,
            kind: kind(&key),
            key,
            created: event.detail_type == "Object Created",
        }]);
    }
    let notification = Notification::deserialize(event)
        .map_err(|e| Error::Notification(format!("expected Records[].s3.bucket/object: {e}")))?;
    notification
        .records
        .into_iter()
        .map(|record| {
            let encoded = record.s3.object.key.replace('+', " ");
            let key = percent_decode_str(&encoded)
                .decode_utf8()
                .map_err(|_| {
                    Error::Notification(format!(
                        "object key {:?} is not UTF-8 once decoded",
                        record.s3.object.key
                    ))
                })?
                .into_owned();
            Ok(Notice {
                bucket: record.s3.bucket.name,
                kind: kind(&key),
                key,
                created: record.event_name.starts_with("ObjectCreated:"),
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

    fn event(records: &[(&str, &str)]) -> Value {
        json!({"Records": records.iter().map(|(name, key)| json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2026-11-22T06:00:00.000Z", "eventName": name,
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "bundle", "arn": "arn:aws:s3:::bundle"},
                   "object": {"key": key, "size": 42, "eTag": "abc", "sequencer": "00"}}
        })).collect::<Vec<_>>()})
    }

    #[test]
    fn eventbridge_events_carry_the_key_as_it_is() {
        let event = json!({"version": "0", "id": "x", "detail-type": "Object Created",
            "source": "aws.s3", "account": "1", "time": "2026-11-22T06:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:s3:::bundle"],
            "detail": {"version": "0", "bucket": {"name": "bundle"},
                       "object": {"key": "access-as-code/warehouse/team a/grants.yaml", "size": 1},
                       "reason": "PutObject"}});
        assert!(is_s3_event(&event));
        let notices = parse_s3_event(&event).unwrap();
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
        let notices = parse_s3_event(&event(&[
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
        let notices = parse_s3_event(&event(&[
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
        let notices = parse_s3_event(&event(&[
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

    #[test]
    fn only_s3_notifications_are_recognised() {
        assert!(is_s3_event(&event(&[("ObjectCreated:Put", "k")])));
        assert!(!is_s3_event(&json!({"Event": "s3:TestEvent"})));
        assert!(!is_s3_event(&json!({"targets": []})));
        assert!(parse_s3_event(&json!({"targets": []})).is_err());
    }
}
