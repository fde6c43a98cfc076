//! What starts a sync function: the payloads it accepts and what they ask for.
//!
//! - EventBridge **Scheduler** delivers its configured `Input` as is: a [`ScheduleInput`],
//!   e.g. `{"targets": ["warehouse"]}` (no or empty `targets` = every target).
//! - A classic EventBridge **rule** delivers an envelope (`version`, `id`, `detail-type`,
//!   `source`, ..., `detail`); its `detail` is read as a [`ScheduleInput`] (`{}` = every
//!   target).
//! - Raito Cloud's **`syncTrigger`** message ([`SyncTrigger`]) names a data source or identity
//!   store and the steps to run; with `dataObjectParent` the data source sync covers only
//!   that subtree and deletes nothing outside it.
//! - Raito Cloud's **`apUpdate`** message asks for an access export ([`ApUpdate`]).

use serde::Deserialize;

/// A request to run syncs, whatever delivered it.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A schedule (EventBridge Scheduler input or the `detail` of a classic rule's event).
    Schedule(ScheduleInput),
    /// Raito Cloud asks for named steps of one data source or identity store.
    SyncTrigger(SyncTrigger),
    /// Raito Cloud reports changed access for some data sources.
    ApUpdate(ApUpdate),
}

/// The schedule payload, written in the schedule's `Input` in template.yaml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleInput {
    /// The `name`s of the raito.yml targets to sync; empty means every target.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// Raito Cloud's `syncTrigger` message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncTrigger {
    /// The data source to sync (Raito's id, the target's `data-source-id`).
    #[serde(default)]
    pub data_source: Option<String>,
    /// The identity store to sync (Raito's id, the target's `identity-store-id`).
    #[serde(default)]
    pub identity_store: Option<String>,
    /// Run the identity store sync.
    #[serde(default)]
    pub identity_store_sync: bool,
    /// Run the data source sync.
    #[serde(default)]
    pub data_source_sync: bool,
    /// Run the access sync.
    #[serde(default)]
    pub access_sync: bool,
    /// Run the usage sync.
    #[serde(default)]
    pub usage_sync: bool,
    /// Limit the data source sync to the objects below this one (its full name).
    #[serde(default)]
    pub data_object_parent: Option<String>,
    /// Leave these subtrees out of a partial data source sync.
    #[serde(default)]
    pub data_object_excludes: Vec<String>,
}

/// Raito Cloud's `apUpdate` message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApUpdate {
    /// The Raito domain the update belongs to.
    #[serde(default)]
    pub domain: String,
    /// The data sources whose access changed.
    #[serde(default)]
    pub data_source_names: Vec<String>,
}

/// A payload that is none of the accepted shapes.
#[derive(Debug, thiserror::Error)]
#[error("unrecognised event: {message}")]
pub struct Error {
    message: String,
}

impl Trigger {
    /// Reads any accepted payload.
    pub fn from_event(event: serde_json::Value) -> Result<Self, Error> {
        let invalid = |what: &str, e: serde_json::Error| Error {
            message: format!("{what}: {e}"),
        };
        let serde_json::Value::Object(mut object) = event else {
            return Err(Error {
                message: "expected a JSON object".into(),
            });
        };
        if let Some(trigger) = object.remove("syncTrigger") {
            return serde_json::from_value(trigger)
                .map(Trigger::SyncTrigger)
                .map_err(|e| invalid("syncTrigger", e));
        }
        if let Some(update) = object.remove("apUpdate") {
            return serde_json::from_value(update)
                .map(Trigger::ApUpdate)
                .map_err(|e| invalid("apUpdate", e));
        }
        if object.contains_key("detail-type") && object.contains_key("source") {
            let detail = object
                .remove("detail")
                .filter(|d| !d.is_null())
                .unwrap_or_else(|| serde_json::json!({}));
            return serde_json::from_value(detail)
                .map(Trigger::Schedule)
                .map_err(|e| invalid("EventBridge event detail", e));
        }
        serde_json::from_value(serde_json::Value::Object(object))
            .map(Trigger::Schedule)
            .map_err(|e| {
                invalid(
                    "expected a schedule input like {\"targets\": [\"name\"]}, an EventBridge event, or a syncTrigger",
                    e,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduler_input_names_the_targets() {
        let trigger = Trigger::from_event(json!({"targets": ["a", "b"]})).unwrap();
        assert_eq!(
            trigger,
            Trigger::Schedule(ScheduleInput {
                targets: vec!["a".into(), "b".into()]
            })
        );
        assert_eq!(
            Trigger::from_event(json!({})).unwrap(),
            Trigger::Schedule(ScheduleInput::default())
        );
    }

    #[test]
    fn a_classic_eventbridge_envelope_is_unwrapped() {
        let event = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-22T06:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/raito"],
            "detail": {}
        });
        assert_eq!(
            Trigger::from_event(event).unwrap(),
            Trigger::Schedule(ScheduleInput::default())
        );
    }

    #[test]
    fn a_sync_trigger_carries_its_partial_scope() {
        let event = json!({"syncTrigger": {
            "dataSource": "ds1", "dataSourceSync": true,
            "dataObjectParent": "sales.public", "dataObjectExcludes": ["tmp"]
        }});
        let Trigger::SyncTrigger(trigger) = Trigger::from_event(event).unwrap() else {
            panic!("a sync trigger");
        };
        assert_eq!(trigger.data_source.as_deref(), Some("ds1"));
        assert!(trigger.data_source_sync && !trigger.access_sync);
        assert_eq!(trigger.data_object_parent.as_deref(), Some("sales.public"));
        assert_eq!(trigger.data_object_excludes, vec!["tmp".to_owned()]);
    }

    #[test]
    fn misspelled_schedule_input_is_rejected_with_the_expected_shape() {
        let error = Trigger::from_event(json!({"target": ["a"]})).unwrap_err();
        assert!(error.to_string().contains("{\"targets\""), "{error}");
        assert!(Trigger::from_event(json!([1])).is_err());
    }
}
