//! `importDataSourceRequest` and `jobSubtask`: a valid file is stored with Raito's counts, and
//! every rule of the strict file check ends the subtask FAILED with an error naming the element.

use serde_json::json;

use crate::support::{DS, Harness, file, metadata, object, warehouse};

async fn ready() -> Harness {
    let harness = Harness::new().await;
    let answer = harness.set_metadata(metadata()).await;
    assert_eq!(answer, json!({"id": DS}));
    harness
}

/// The single error of a failed import of `elements`.
async fn the_error(elements: &[serde_json::Value]) -> String {
    let harness = ready().await;
    let errors = harness.import_errors(elements).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].clone()
}

#[tokio::test]
async fn a_valid_import_is_stored_in_file_order_and_counted() {
    let harness = ready().await;
    let answer = harness.import(&file(&warehouse()), true).await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    assert_eq!(answer["errors"], json!(null));
    assert_eq!(
        answer["result"],
        json!({"__typename": "DataSourceImportResult", "dataObjectsAdded": 5, "dataObjectsRemoved": 0, "dataObjectsUpdated": 0, "warnings": []})
    );
    let state = harness.standin.state();
    let ids: Vec<_> = state
        .data_objects(DS)
        .iter()
        .map(|o| o.external_id.as_str())
        .collect();
    assert_eq!(ids, [DS, "db", "db.s", "db.s.t", "db.s.t.c"]);
    assert_eq!(
        state.data_objects(DS)[4].data_type.as_deref(),
        Some("integer")
    );
    assert_eq!(state.subtasks[0].status, "COMPLETED");
    assert!(state.subtask_polls >= 1);
}

#[tokio::test]
async fn a_second_full_import_counts_added_updated_and_removed_against_what_was_stored() {
    let harness = ready().await;
    harness.import(&file(&warehouse()), true).await;
    let mut second = warehouse();
    second.pop(); // the column goes
    second[3]["description"] = json!("now described"); // the table changes
    second.push(object("db.s.v", "view", "db.s")); // a view comes
    let answer = harness.import(&file(&second), true).await;
    assert_eq!(answer["result"]["dataObjectsAdded"], 1);
    assert_eq!(answer["result"]["dataObjectsUpdated"], 1);
    assert_eq!(answer["result"]["dataObjectsRemoved"], 1);
    let ids: Vec<_> = harness
        .standin
        .state()
        .data_objects(DS)
        .iter()
        .map(|o| o.external_id.clone())
        .collect();
    assert_eq!(ids, [DS, "db", "db.s", "db.s.t", "db.s.v"]);
}

#[tokio::test]
async fn a_partial_import_keeps_untouched_objects_and_may_hang_under_stored_parents() {
    let harness = ready().await;
    harness.import(&file(&warehouse()), true).await;
    // No data source element; the new table hangs under the stored schema.
    let partial = [
        object("db.s.t2", "table", "db.s"),
        object("db.s.t2.c", "column", "db.s.t2"),
    ];
    let answer = harness.import(&file(&partial), false).await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    assert_eq!(answer["result"]["dataObjectsAdded"], 2);
    assert_eq!(answer["result"]["dataObjectsRemoved"], 0);
    assert_eq!(harness.standin.state().data_objects(DS).len(), 7);
}

#[tokio::test]
async fn an_import_before_any_metadata_fails() {
    let harness = Harness::new().await;
    let errors = harness.import_errors(&warehouse()).await;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("no metadata: setDataSourceMetaData was not called"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_file_that_does_not_start_with_the_data_source_element_fails() {
    let error = the_error(&warehouse()[1..]).await;
    assert!(
        error.starts_with("element 0: the first element must be the data source element"),
        "{error}"
    );
}

#[tokio::test]
async fn a_data_source_element_with_another_id_fails() {
    let mut elements = warehouse();
    elements[0]["externalId"] = json!("ds-2");
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        "element 0 (externalId \"ds-2\"): the data source element's externalId must be the data source id \"ds-1\""
    );
}

#[tokio::test]
async fn a_second_data_source_element_fails() {
    let mut elements = warehouse();
    elements.push(object("ds-1b", "datasource", ""));
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        "element 5 (externalId \"ds-1b\"): only the first element may have type \"datasource\""
    );
}

#[tokio::test]
async fn a_duplicate_external_id_fails() {
    let mut elements = warehouse();
    elements.push(object("db.s.t", "table", "db.s"));
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        "element 5 (externalId \"db.s.t\"): duplicate externalId (first used by element 3)"
    );
}

#[tokio::test]
async fn a_parent_that_comes_later_in_the_file_fails() {
    let mut elements = warehouse();
    elements.swap(2, 3); // the table before its schema
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        "element 2 (externalId \"db.s.t\"): parentExternalId \"db.s\" does not match an earlier element"
    );
}

#[tokio::test]
async fn a_type_missing_from_the_metadata_fails() {
    let mut elements = warehouse();
    elements.push(object("db.s.m", "materialized-view", "db.s"));
    let harness = ready().await;
    let errors = harness.import_errors(&elements).await;
    assert_eq!(
        errors,
        [
            "element 5 (externalId \"db.s.m\"): type \"materialized-view\" is not declared in the data source metadata",
            "element 5 (externalId \"db.s.m\"): type \"materialized-view\" is not allowed under parent \"db.s\" of type \"schema\" (allowed children: [table, view])",
        ]
    );
}

#[tokio::test]
async fn a_type_its_parent_type_does_not_allow_fails() {
    let mut elements = warehouse();
    elements.push(object("db.c", "column", "db"));
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        "element 5 (externalId \"db.c\"): type \"column\" is not allowed under parent \"db\" of type \"database\" (allowed children: [schema])"
    );
}

#[tokio::test]
async fn a_top_level_object_the_data_source_type_does_not_allow_fails() {
    let mut elements = warehouse();
    elements.push(object("t", "table", DS));
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        "element 5 (externalId \"t\"): type \"table\" is not allowed under the data source of type \"datasource\" (allowed children: [database])"
    );
}

/// The Go writer gives every object but the data source a parent (raito-io/cli
/// base/data_source/exporter.go, AddDataObjects): an empty one is refused.
#[tokio::test]
async fn an_empty_parent_external_id_fails() {
    let mut elements = warehouse();
    elements[1]["parentExternalId"] = json!("");
    let error = the_error(&elements).await;
    assert_eq!(
        error,
        format!(
            "element 1 (externalId \"db\"): parentExternalId is empty (an object directly under the data source has the data source id \"{DS}\" as its parent)"
        )
    );
}

#[tokio::test]
async fn a_field_of_the_wrong_json_type_fails_naming_the_field() {
    let mut elements = warehouse();
    elements[2]["name"] = json!(5);
    let error = the_error(&elements).await;
    assert!(
        error.starts_with("element 2, field `name`: invalid type: integer `5`, expected a string"),
        "{error}"
    );
}

#[tokio::test]
async fn a_malformed_tag_fails_naming_the_field() {
    let mut elements = warehouse();
    elements[4]["tags"] = json!([{"key": "pii", "value": true, "source": "x"}]);
    let error = the_error(&elements).await;
    assert!(
        error.starts_with("element 4, field `tags[0].value`: invalid type: boolean `true`"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_field_fails() {
    let mut elements = warehouse();
    elements[1]["owner"] = json!("me");
    let error = the_error(&elements).await;
    assert!(
        error.starts_with("element 1, field `owner`: unknown field `owner`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_field_fails() {
    let mut elements = warehouse();
    elements[1].as_object_mut().unwrap().remove("tags");
    let error = the_error(&elements).await;
    assert!(
        error.starts_with("element 1: missing field `tags`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_one_json_array_fails() {
    let harness = ready().await;
    let answer = harness.import(br#"{"externalId": "ds-1"}"#, true).await;
    assert_eq!(answer["status"], "FAILED");
    let error = answer["errors"][0].as_str().unwrap();
    assert!(
        error.starts_with("the file is not one JSON array of data objects: invalid type: map"),
        "{error}"
    );

    let answer = harness
        .import(&[file(&warehouse()), b"[]".to_vec()].concat(), true)
        .await;
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("trailing characters"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_import_of_a_key_that_was_never_uploaded_fails() {
    let harness = ready().await;
    let (job, subtask) = harness.request_import("no-such-key", true).await;
    let answer = harness.poll_until_done(&job, &subtask).await;
    assert_eq!(
        answer["errors"],
        json!(["file key \"no-such-key\" was never uploaded"])
    );
}

#[tokio::test]
async fn metadata_with_an_undeclared_child_type_is_invalid_input() {
    let harness = Harness::new().await;
    let mut bad = metadata();
    bad["dataObjectTypes"][0]["children"] = json!(["database", "warehouse"]);
    let answer = harness.set_metadata(bad).await;
    assert_eq!(
        answer,
        json!({"message": "invalid data source metadata: type \"datasource\" lists child type \"warehouse\", which is not declared"})
    );
    assert!(harness.standin.state().metadata.is_empty());
}

#[tokio::test]
async fn a_slow_subtask_is_queued_then_processing_then_done() {
    // Ten minutes, moved through on the stand-in's clock: real time never reaches a stage
    // (and the token, good for an hour, outlives them).
    let delay = std::time::Duration::from_secs(600);
    let harness = Harness::with(raito_standin::Config {
        processing_delay: delay,
        ..crate::support::config()
    })
    .await;
    harness.set_metadata(metadata()).await;
    let key = harness.upload(&file(&warehouse())).await;
    let (job, subtask) = harness.request_import(&key, true).await;
    let document = format!(
        "query jobSubtask{{ jobSubtask(jobId: \"{job}\", jobType: \"DS\", subtaskId: \"{subtask}\") {{ status }}}}"
    );
    assert_eq!(
        harness.data(&document, json!({})).await["jobSubtask"]["status"],
        "QUEUED"
    );
    harness.standin.advance_clock(delay / 2);
    assert_eq!(
        harness.status_after(&job, &subtask, "QUEUED").await,
        "DATA_PROCESSING"
    );
    assert!(
        harness.standin.state().data_objects(DS).is_empty(),
        "nothing imported while processing"
    );
    harness.standin.advance_clock(delay / 2);
    assert_eq!(
        harness.poll_until_done(&job, &subtask).await["status"],
        "COMPLETED"
    );
    assert!(!harness.standin.state().data_objects(DS).is_empty());
}
