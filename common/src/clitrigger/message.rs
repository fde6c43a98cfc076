//! The messages of the trigger channel, as the Go CLI reads and writes them (raito-io/cli
//! `internal/clitrigger/models.go`, `websocket_trigger.go`).
//!
//! From Raito, a text message holding one `TriggerEvent` (models.go): `{"apUpdate": {...}}`
//! and/or `{"syncTrigger": {...}}` (both fields are optional in Go's struct and each handler
//! takes its own: `apupdate_trigger.go`, `sync_trigger.go`), the same bodies Raito's webhooks
//! carry ([`crate::trigger`]). `resourceProviderSync` is a field of `syncTrigger`, not a
//! message of its own.
//!
//! To Raito, the heartbeat (websocket_trigger.go, `heartbeat`): the text message
//! `{"message":"heartbeat","datasources":[...]}` with the data source ids of the targets that
//! sync a data source.

use serde::Serialize;
use serde_json::Value;

use crate::trigger::Trigger;

/// The heartbeat the client sends (websocket_trigger.go, `heartbeatMsgObject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    /// Always `heartbeat`.
    message: &'static str,
    /// The data source ids of the targets with a full data source sync (Go:
    /// `heartBeatTargetSync`, the targets whose plugin is `PLUGIN_TYPE_FULL_DS_SYNC`).
    datasources: Vec<String>,
}

impl Heartbeat {
    /// The heartbeat naming `datasources`.
    pub fn new(datasources: Vec<String>) -> Self {
        Self {
            message: "heartbeat",
            datasources,
        }
    }

    /// The JSON text sent.
    pub fn to_text(&self) -> String {
        // A struct of a string and a list of strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One trigger of a message: what it asks for, and its body as a webhook would carry it
/// (`{"apUpdate": {...}}` or `{"syncTrigger": {...}}`, the field's value as received).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The trigger.
    pub trigger: Trigger,
    /// Its body, queued as is.
    pub body: String,
}

/// A message that is not a `TriggerEvent`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Raito trigger event: {reason}")]
pub struct MessageError {
    reason: String,
}

/// The triggers of one text message: its `apUpdate`, then its `syncTrigger` (either may be
/// absent or null, as in Go's `TriggerEvent`); other fields are ignored, as Go's decoder
/// ignores them. A message with neither is an empty list.
pub fn decode(text: &str) -> Result<Vec<Delivery>, MessageError> {
    let invalid = |reason: String| MessageError { reason };
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(invalid("expected a JSON object".into()));
    };
    let mut deliveries = Vec::new();
    for field in ["apUpdate", "syncTrigger"] {
        let Some(inner) = object.remove(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let mut wrapper = serde_json::Map::new();
        wrapper.insert(field.to_owned(), inner);
        let wrapper = Value::Object(wrapper);
        let body = wrapper.to_string();
        let trigger = Trigger::from_event(wrapper).map_err(|e| invalid(e.to_string()))?;
        deliveries.push(Delivery { trigger, body });
    }
    Ok(deliveries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_heartbeat_is_the_go_clis_text() {
        assert_eq!(
            Heartbeat::new(vec!["ds1".into(), "ds2".into()]).to_text(),
            r#"{"message":"heartbeat","datasources":["ds1","ds2"]}"#
        );
        assert_eq!(
            Heartbeat::new(Vec::new()).to_text(),
            r#"{"message":"heartbeat","datasources":[]}"#
        );
    }

    #[test]
    fn an_ap_update_becomes_the_body_a_webhook_carries() {
        let text = r#"{"apUpdate":{"domain":"acme","dataSourceNames":["ds1"]}}"#;
        let deliveries = decode(text).unwrap();
        assert_eq!(deliveries.len(), 1);
        assert!(matches!(deliveries[0].trigger, Trigger::ApUpdate(_)));
        let body: Value = serde_json::from_str(&deliveries[0].body).unwrap();
        assert_eq!(
            body,
            json!({"apUpdate": {"domain": "acme", "dataSourceNames": ["ds1"]}})
        );
    }

    #[test]
    fn a_message_with_both_fields_is_two_triggers_and_nulls_are_absent() {
        let text = json!({
            "apUpdate": {"domain": "acme", "dataSourceNames": ["ds1"]},
            "syncTrigger": {"dataSource": "ds1", "dataSourceSync": true,
                            "dataObjectParent": "db.schema", "resourceProviderSync": false}
        })
        .to_string();
        let deliveries = decode(&text).unwrap();
        assert_eq!(deliveries.len(), 2);
        let Trigger::SyncTrigger(sync) = &deliveries[1].trigger else {
            panic!("a syncTrigger second");
        };
        assert_eq!(sync.data_object_parent.as_deref(), Some("db.schema"));
        assert!(
            decode(r#"{"apUpdate":null,"syncTrigger":null}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn text_that_is_not_a_trigger_event_is_refused() {
        assert!(decode("{\"apUpdate\": {\"dom").is_err());
        assert!(decode("[1]").is_err());
        assert!(decode(r#"{"apUpdate": {"dataSourceNames": "ds1"}}"#).is_err());
    }
}
