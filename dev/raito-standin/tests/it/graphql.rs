//! GraphQL as gqlgen serves it: validation against schema.graphql, variable coercion, the Go
//! CLI's bodies (trailing bytes, `$id:String!` for updateJob), and what each operation records.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{DS, Harness};

#[tokio::test]
async fn an_unknown_field_is_a_validation_error_with_422() {
    let harness = Harness::new().await;
    let (status, body) = harness
        .graphql(
            "query ($id:ID!){dataSource(id: $id){... on DataSource{id,owner}}}",
            json!({"id": DS}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["data"], json!(null));
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("owner"),
        "{body}"
    );
    assert!(body["errors"][0]["locations"].is_array());

    let (status, body) = harness
        .graphql("mutation { dropEverything { ok } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let body = json!({"operationName": "Nope", "query": "query Known { dataSource(id: \"ds-1\") { __typename } }"});
    let response = harness.post_query(body.to_string()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_syntax_error_is_a_parse_error_with_422() {
    let harness = Harness::new().await;
    let (status, body) = harness
        .graphql("mutation { createJob(input: {) }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
}

#[tokio::test]
async fn a_variable_value_of_the_wrong_type_is_rejected_before_anything_runs() {
    let harness = Harness::new().await;
    let (status, body) = harness
        .graphql(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": {"dataSourceId": DS, "status": "NOT_A_STATUS"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let (status, _) = harness
        .graphql(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": "ds-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(harness.standin.state().jobs.is_empty());
}

#[tokio::test]
async fn a_variable_declared_with_the_wrong_type_is_rejected() {
    let harness = Harness::new().await;
    let (status, body) = harness
        .graphql(
            "mutation ($input:TaskEventInput!){createJob(input: $input){jobId}}",
            json!({"input": {"jobId": "j", "jobType": "DS", "status": "STARTED"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn update_job_takes_its_id_as_string_like_the_go_cli_declares_it() {
    let harness = Harness::new().await;
    let job = harness.create_job().await;
    harness
        .data(
            "mutation ($id:String!$input:JobInput!){updateJob(id: $id, input: $input){jobId}}",
            json!({"id": job, "input": {"dataSourceId": DS, "identityStoreId": null, "status": "IN_PROGRESS", "eventTime": "2026-11-22T07:00:01Z", "errors": null}}),
        )
        .await;
    harness
        .data(
            "mutation ($id:String!$input:JobInput!){updateJob(id: $id, input: $input){jobId}}",
            json!({"id": job, "input": {"dataSourceId": DS, "status": "FAILED", "eventTime": "2026-11-22T07:00:02Z", "errors": ["boom"]}}),
        )
        .await;
    let state = harness.standin.state();
    let history: Vec<_> = state
        .job(&job)
        .unwrap()
        .history
        .iter()
        .map(|u| u.status.as_str())
        .collect();
    assert_eq!(history, ["STARTED", "IN_PROGRESS", "FAILED"]);
    assert_eq!(state.job(&job).unwrap().history[2].errors, ["boom"]);
}

#[tokio::test]
async fn the_go_clis_hand_written_body_with_trailing_bytes_is_accepted() {
    let harness = Harness::new().await;
    let body = format!(
        "{{ \"operationName\": \"DataSourceUsage\", \"variables\":{{}}, \"query\": \"query DataSourceUsage {{dataSource(id:\\\"{DS}\\\") {{ ... on DataSource {{id usageLastUsed usageFirstUsed }}}}}}\" }}\"\\n\t"
    );
    harness
        .standin
        .set_usage_dates(DS, Some("2026-01-01T00:00:00Z"), None);
    let response = harness.post_query(body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"data": {"dataSource": {"id": DS, "usageLastUsed": null, "usageFirstUsed": "2026-01-01T00:00:00Z"}}})
    );
}

#[tokio::test]
async fn an_unknown_data_source_is_a_not_found_error_member() {
    let harness = Harness::new().await;
    let data = harness
        .data(
            "query ($id:ID!){dataSource(id: $id){__typename ... on DataSource{id} ... on BaseError{message}}}",
            json!({"id": "nope"}),
        )
        .await;
    assert_eq!(
        data["dataSource"],
        json!({"__typename": "NotFoundError", "message": "data source \"nope\" not found"})
    );
    let (status, body) = harness
        .graphql(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": {"dataSourceId": "nope"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["createJob"], json!(null));
    assert_eq!(
        body["errors"][0]["message"],
        "data source \"nope\" not found"
    );
    assert_eq!(body["errors"][0]["path"], json!(["createJob"]));
}

#[tokio::test]
async fn a_time_that_is_not_rfc_3339_is_a_field_error() {
    let harness = Harness::new().await;
    let (status, body) = harness
        .graphql(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": {"dataSourceId": DS, "eventTime": "yesterday"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"][0]["message"],
        "input.eventTime: time should be RFC3339Nano formatted string"
    );
}

#[tokio::test]
async fn task_and_subtask_events_and_the_end_of_the_sync_are_recorded_in_order() {
    let harness = Harness::new().await;
    let job = harness.create_job().await;
    let event = |status: &str, result: serde_json::Value, errors: serde_json::Value| {
        json!({"input": {"jobId": job, "jobType": "DS", "dataSourceId": DS, "identityStoreId": null,
                          "status": status, "eventTime": "2026-11-22T07:00:00Z", "errors": errors,
                          "warnings": null, "result": result}})
    };
    let add = "mutation ($input:TaskEventInput!){addTaskEvent(input: $input){jobId}}";
    harness
        .data(add, event("STARTED", json!(null), json!(null)))
        .await;
    harness
        .data(add, event("DATA_UPLOAD", json!(null), json!(null)))
        .await;
    harness
        .data(add, event("COMPLETED", json!([{"objectType": "dataObjects", "added": 5, "updated": 0, "removed": 0, "failed": 0}]), json!(null)))
        .await;
    harness
        .data(
            "mutation ($input:SubtaskInput!){addSubtaskEvent(input: $input){jobId}}",
            json!({"input": {"jobId": job, "jobType": "DA", "subtaskId": "AccessSync", "dataSourceId": DS,
                             "identityStoreId": null, "status": "COMPLETED", "eventTime": "2026-11-22T07:00:00Z",
                             "receivedDate": 1_790_000_000_000_i64}}),
        )
        .await;
    let end = harness
        .data(
            "mutation ($input:EndOfTargetsSyncInput!){endOfTargetsSync(input: $input){... on EndOfTargetsSync{success},... on PermissionDeniedError{message}}}",
            json!({"input": {"jobIds": [job]}}),
        )
        .await;
    assert_eq!(end, json!({"endOfTargetsSync": {"success": true}}));

    let state = harness.standin.state();
    let statuses: Vec<_> = state
        .task_events_of("DS")
        .iter()
        .map(|e| e.status.as_str())
        .collect();
    assert_eq!(statuses, ["STARTED", "DATA_UPLOAD", "COMPLETED"]);
    assert_eq!(state.task_events[2].result.as_ref().unwrap()[0].added, 5);
    assert!(state.task_events[0].result.is_none());
    assert_eq!(
        state.subtask_events[0].received_date,
        Some(1_790_000_000_000)
    );
    assert_eq!(state.end_of_targets_syncs, [vec![job]]);
    assert_eq!(state.count("addTaskEvent"), 3);
}

#[tokio::test]
async fn a_field_the_stand_in_does_not_serve_is_an_error() {
    let harness = Harness::new().await;
    let (status, body) = harness
        .graphql("{SupportedCLIVersion{supportedVersions}}", json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"][0]["message"],
        "the Raito stand-in does not serve `SupportedCLIVersion`"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400() {
    let harness = Harness::new().await;
    let response = harness.post_query("query { x }").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_state_endpoint_serves_the_snapshot_as_json() {
    let harness = Harness::new().await;
    let job = harness.create_job().await;
    let state: serde_json::Value = harness
        .http
        .get(harness.url("_standin/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["jobs"][0]["id"], job);
    assert_eq!(state["requestCounts"]["createJob"], 1);
    assert_eq!(state["requestCounts"]["InitiateAuth"], 1);
}
