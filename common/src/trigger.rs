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

use crate::step::Step;
use crate::sync::run::Selection;

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

/// A trigger a function of another step must run, or one that lacks what its step needs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotForStep(String);

impl Trigger {
    /// What this trigger asks a function that runs `step` to run: a schedule its targets; a
    /// `syncTrigger` the targets of its data source (below `dataObjectParent` for a data
    /// source sync) or, for an identity store sync, of its identity store; an `apUpdate` (for
    /// the access step only) the access providers out of sync of its data sources.
    pub fn selection(self, step: Step) -> Result<Selection, NotForStep> {
        let trigger = match self {
            Trigger::Schedule(input) => {
                return Ok(Selection {
                    targets: input.targets,
                    ..Default::default()
                });
            }
            Trigger::ApUpdate(update) => {
                if step != Step::DataAccess {
                    return Err(NotForStep(
                        "apUpdate asks for an access sync; send it to the sync-access function"
                            .into(),
                    ));
                }
                if update.data_source_names.is_empty() {
                    return Err(NotForStep(
                        "this apUpdate names no data source (dataSourceNames is empty)".into(),
                    ));
                }
                return Ok(Selection {
                    data_sources: update.data_source_names,
                    access_out_of_sync_only: true,
                    ..Default::default()
                });
            }
            Trigger::SyncTrigger(trigger) => trigger,
        };
        let (asked, flag, sync) = match step {
            Step::DataSource => (
                trigger.data_source_sync,
                "dataSourceSync",
                "a data source sync",
            ),
            Step::IdentityStore => (
                trigger.identity_store_sync,
                "identityStoreSync",
                "an identity store sync",
            ),
            Step::DataAccess => (trigger.access_sync, "accessSync", "an access sync"),
            Step::DataUsage => (trigger.usage_sync, "usageSync", "a usage sync"),
        };
        if !asked {
            return Err(NotForStep(format!(
                "this syncTrigger does not ask for {sync} ({flag} is false); sync-{} runs only \
                 that step",
                step.segment()
            )));
        }
        if step == Step::IdentityStore {
            // An identity store by its id, or a data source's own identity store.
            return match (trigger.identity_store, trigger.data_source) {
                (Some(identity_store), _) => Ok(Selection {
                    identity_store: Some(identity_store),
                    ..Default::default()
                }),
                (None, Some(data_source)) => Ok(Selection {
                    data_sources: vec![data_source],
                    ..Default::default()
                }),
                (None, None) => Err(NotForStep(
                    "a syncTrigger for an identity store sync must name identityStore (or the \
                     dataSource whose own identity store to sync)"
                        .into(),
                )),
            };
        }
        let data_source = trigger
            .data_source
            .ok_or_else(|| NotForStep(format!("a syncTrigger for {sync} must name dataSource")))?;
        // Only a data source sync can be partial.
        let partial = step == Step::DataSource;
        Ok(Selection {
            data_sources: vec![data_source],
            data_object_parent: trigger
                .data_object_parent
                .filter(|p| partial && !p.is_empty()),
            data_object_excludes: if partial {
                trigger.data_object_excludes
            } else {
                Vec::new()
            },
            ..Default::default()
        })
    }

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

    fn selection(event: serde_json::Value, step: Step) -> Result<Selection, String> {
        Trigger::from_event(event)
            .unwrap()
            .selection(step)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_step_selects_what_a_trigger_asks_of_it_and_refuses_the_rest() {
        let sync = json!({"syncTrigger": {
            "dataSource": "ds1", "dataSourceSync": true, "usageSync": true,
            "dataObjectParent": "sales.public", "dataObjectExcludes": ["tmp"]
        }});
        let metadata = selection(sync.clone(), Step::DataSource).unwrap();
        assert_eq!(metadata.data_sources, ["ds1"]);
        assert_eq!(metadata.data_object_parent.as_deref(), Some("sales.public"));
        assert_eq!(metadata.data_object_excludes, ["tmp"]);
        // Only a data source sync is partial.
        let usage = selection(sync.clone(), Step::DataUsage).unwrap();
        assert_eq!(usage.data_sources, ["ds1"]);
        assert_eq!(usage.data_object_parent, None);
        assert!(usage.data_object_excludes.is_empty());
        assert_eq!(
            selection(sync.clone(), Step::DataAccess).unwrap_err(),
            "this syncTrigger does not ask for an access sync (accessSync is false); \
             sync-access runs only that step"
        );
        let identities = json!({"syncTrigger": {"identityStoreSync": true, "dataSource": "ds1"}});
        assert_eq!(
            selection(identities, Step::IdentityStore)
                .unwrap()
                .data_sources,
            ["ds1"]
        );
        let identities =
            json!({"syncTrigger": {"identityStoreSync": true, "identityStore": "is1"}});
        assert_eq!(
            selection(identities, Step::IdentityStore)
                .unwrap()
                .identity_store
                .as_deref(),
            Some("is1")
        );
        assert!(
            selection(
                json!({"syncTrigger": {"identityStoreSync": true}}),
                Step::IdentityStore
            )
            .unwrap_err()
            .contains("must name identityStore")
        );
        assert_eq!(
            selection(json!({"syncTrigger": {"usageSync": true}}), Step::DataUsage).unwrap_err(),
            "a syncTrigger for a usage sync must name dataSource"
        );
        let update = json!({"apUpdate": {"dataSourceNames": ["ds1"]}});
        let access = selection(update.clone(), Step::DataAccess).unwrap();
        assert!(access.access_out_of_sync_only);
        assert_eq!(access.data_sources, ["ds1"]);
        assert!(
            selection(update, Step::DataSource)
                .unwrap_err()
                .contains("send it to the sync-access function")
        );
        assert!(
            selection(json!({"apUpdate": {}}), Step::DataAccess)
                .unwrap_err()
                .contains("names no data source")
        );
        let schedule = selection(json!({"targets": ["a"]}), Step::DataUsage).unwrap();
        assert_eq!(schedule.targets, ["a"]);
    }
}
