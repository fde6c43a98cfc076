//! The data access sync both ways: seeding managed access providers, the export (all or only
//! those out of sync, YAML or JSON, downloaded without authentication from an expiring URL,
//! streamed), the feedback that puts them in sync (and removes deleted ones), the access import
//! with deleteUntouched and its warnings, and the strict rejection of malformed files. Requests
//! are sent as the Go CLI writes them (raito-graphql.md items 12, 13, 16) and as the Rust client
//! does (common/src/raito/graphql/*.graphql).

use std::time::Duration;

use raito_standin::{Config, ExportFormat, Fault, SubtaskResult, Target};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{DS, Harness, config, file, warehouse};

/// The Rust client's documents, as it sends them.
const CLIENT_EXPORT: &str =
    include_str!("../../../../common/src/raito/graphql/export_access_providers.graphql");
const CLIENT_FEEDBACK: &str =
    include_str!("../../../../common/src/raito/graphql/import_access_feedback.graphql");
const CLIENT_IMPORT: &str =
    include_str!("../../../../common/src/raito/graphql/import_access_providers.graphql");

/// The Go CLI's export request (style G).
const GO_EXPORT: &str = "query ($filter:AccessProviderExportRequestFilter!$input:AccessProviderExportRequest!){exportAccessProvidersRequest(input: $input, filter: $filter){subtask{subtaskId,status}}}";

fn ap(id: &str, inherit_from: &[&str]) -> Value {
    json!({
        "id": id,
        "name": format!("Access {id}"),
        "namingHint": format!("access_{id}"),
        "description": "",
        "action": "grant",
        "delete": false,
        "who": {"users": ["alice@example.com"], "groups": ["analysts"], "inheritFrom": inherit_from},
        "what": [{"dataObject": {"fullName": "db.s.t", "type": "table"}, "permissions": ["SELECT"]}],
    })
}

/// A feedback element as the Go CLI writes it (raito-io/cli
/// base/access_provider/sync_to_target/model.go, accessProviderFeedbackInformation).
fn feedback(id: &str, actual_name: &str) -> Value {
    json!({"externalId": id, "access": [{"accessId": id, "actualName": actual_name,
           "externalId": actual_name, "type": "role", "errors": null, "warnings": null}]})
}

/// A signed-in stand-in with `a`, `b` (inherits from `a`) and `c` in [`DS`].
async fn seeded(config: Config) -> Harness {
    let harness = Harness::with(config).await;
    harness
        .standin
        .put_access_provider(DS, ap("a", &[]))
        .unwrap();
    harness
        .standin
        .put_access_provider(DS, ap("b", &["a"]))
        .unwrap();
    harness
        .standin
        .put_access_provider(DS, ap("c", &[]))
        .unwrap();
    harness
}

/// Runs an export as the Go CLI asks for it; returns the finished subtask answer.
async fn export(harness: &Harness, job: &str, out_of_sync: bool) -> Value {
    let filter = if out_of_sync {
        json!({"status": {"outOfSync": true}})
    } else {
        json!({})
    };
    let data = harness
        .data(
            GO_EXPORT,
            json!({"filter": filter, "input": {"jobId": job, "exportSettings": {"dataSource": DS}}}),
        )
        .await;
    let subtask = &data["exportAccessProvidersRequest"]["subtask"];
    assert_eq!(subtask["status"], "QUEUED", "{data}");
    let answer = harness
        .poll_subtask(job, "DA", subtask["subtaskId"].as_str().unwrap())
        .await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    answer
}

/// A plain GET, no headers, as Go's default client fetches a presigned URL.
async fn download(url: &str) -> (StatusCode, Option<String>, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, response.text().await.unwrap())
}

/// Exports and downloads; returns the document (YAML or JSON, read as what it says it is).
async fn export_document(harness: &Harness, job: &str, out_of_sync: bool) -> Value {
    let answer = export(harness, job, out_of_sync).await;
    let result = &answer["result"];
    assert_eq!(result["__typename"], "AccessProviderExportResult");
    let (status, content_type, text) = download(result["fileLocation"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let document: Value = match content_type.as_deref() {
        Some("application/json") => serde_json::from_str(&text).unwrap(),
        Some("application/x-yaml") => {
            assert!(
                serde_json::from_str::<Value>(&text).is_err(),
                "block YAML, not JSON: {text}"
            );
            serde_norway::from_str(&text).unwrap()
        }
        other => panic!("unexpected content type {other:?}"),
    };
    assert!(document["lastCalculated"].is_i64(), "{document}");
    assert!(document["fileBuildTime"].is_i64(), "{document}");
    document
}

fn ids(document: &Value) -> Vec<&str> {
    document["accessProviders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ap| ap["id"].as_str().unwrap())
        .collect()
}

fn find<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["accessProviders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ap| ap["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {document}"))
}

/// The Go CLI's `ImportAccessProvidersSyncFeedback` body, trailing bytes and all.
fn go_feedback_body(job: &str, key: &str) -> String {
    let query = format!(
        "mutation ImportAccessProvidersSyncFeedback {{\\n importAccessProvidersSyncFeedback(input: {{ jobId: \\\"{job}\\\", importSettings: {{ dataSource: \\\"{DS}\\\", fileKey: \\\"{key}\\\" }} }}) {{\\n subtask {{ subtaskId status }}\\n }}\\n}}"
    );
    format!(
        "{{ \"operationName\": \"ImportAccessProvidersSyncFeedback\", \"variables\":{{}}, \"query\": \"{query}\" }}\"\\n\t"
    )
}

/// Uploads a feedback file and imports it in `job`; returns the finished subtask answer.
async fn send_feedback(harness: &Harness, job: &str, elements: &[Value]) -> Value {
    let key = harness.upload(&file(elements)).await;
    let response = harness.post_query(go_feedback_body(job, &key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let subtask = &body["data"]["importAccessProvidersSyncFeedback"]["subtask"];
    assert_eq!(subtask["status"], "QUEUED", "{body}");
    harness
        .poll_subtask(job, "DA", subtask["subtaskId"].as_str().unwrap())
        .await
}

/// Uploads an access import file and imports it as the Go CLI asks; returns the answer.
async fn send_import(
    harness: &Harness,
    job: &str,
    elements: &[Value],
    delete_untouched: bool,
) -> Value {
    let key = harness.upload(&file(elements)).await;
    let document = format!(
        "mutation ImportAccessProvidersRequest {{ importAccessProvidersRequest(input: {{ jobId: \"{job}\", importSettings: {{ dataSource: \"{DS}\", deleteUntouched: {delete_untouched}, fileKey: \"{key}\" }} }}) {{ subtask {{ subtaskId status }} }} }}"
    );
    let body = json!({"operationName": "ImportAccessProvidersRequest", "variables": {}, "query": document});
    let response = harness.post_query(format!("{body}\"")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let subtask = &body["data"]["importAccessProvidersRequest"]["subtask"];
    assert_eq!(subtask["status"], "QUEUED", "{body}");
    harness
        .poll_subtask(job, "DA", subtask["subtaskId"].as_str().unwrap())
        .await
}

fn errors(answer: &Value) -> Vec<String> {
    assert_eq!(answer["status"], "FAILED", "{answer}");
    serde_json::from_value(answer["errors"].clone()).unwrap()
}

fn warnings(answer: &Value) -> Vec<String> {
    serde_json::from_value(answer["result"]["warnings"].clone()).unwrap()
}

#[tokio::test]
async fn an_export_carries_every_access_provider_then_only_those_out_of_sync() {
    let harness = seeded(config()).await;
    let job = harness.create_job().await;

    let all = export_document(&harness, &job, false).await;
    assert_eq!(ids(&all), ["a", "b", "c"]);
    let b = find(&all, "b");
    assert_eq!(b["who"]["inheritFrom"], json!(["ID:a"]));
    assert_eq!(b["who"]["users"], json!(["alice@example.com"]));
    assert_eq!(b["action"], "grant");
    assert_eq!(b["delete"], false);
    assert_eq!(b["namingHint"], "access_b");
    assert_eq!(
        b["what"],
        json!([{"dataObject": {"fullName": "db.s.t", "type": "table"}, "permissions": ["SELECT"]}])
    );
    assert!(b.get("actualName").is_none(), "{b}");
    // Out of sync before any feedback: the partial export is the same.
    let partial = export_document(&harness, &job, true).await;
    assert_eq!(ids(&partial), ["a", "b", "c"]);

    let answer = send_feedback(
        &harness,
        &job,
        &[
            feedback("a", "A_ROLE"),
            feedback("b", "B_ROLE"),
            feedback("c", "C_ROLE"),
        ],
    )
    .await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    assert_eq!(
        answer["result"]["__typename"],
        "AccessProviderSyncFeedbackResult"
    );
    assert_eq!(answer["result"]["accessNamesAdded"], 3);
    let state = harness.standin.state();
    for (id, name) in [("a", "A_ROLE"), ("b", "B_ROLE"), ("c", "C_ROLE")] {
        let ap = state.access_provider(DS, id).unwrap();
        assert!(ap.in_sync(), "{id}");
        assert_eq!(ap.actual_name.as_deref(), Some(name));
        assert_eq!(ap.external_id.as_deref(), Some(name));
        assert_eq!(
            ap.feedback.as_ref().unwrap().r#type.as_deref(),
            Some("role")
        );
    }

    let job = harness.create_job().await;
    assert!(ids(&export_document(&harness, &job, true).await).is_empty());

    // Changing b makes only b out of sync; JSON this time, and a is named by its actual name.
    let mut changed = ap("b", &["a"]);
    changed["who"]["users"] = json!(["bob@example.com"]);
    harness.standin.put_access_provider(DS, changed).unwrap();
    assert!(
        !harness
            .standin
            .state()
            .access_provider(DS, "b")
            .unwrap()
            .in_sync()
    );
    harness.standin.set_export_format(ExportFormat::Json);
    let partial = export_document(&harness, &job, true).await;
    assert_eq!(ids(&partial), ["b"]);
    let b = find(&partial, "b");
    assert_eq!(b["who"]["inheritFrom"], json!(["A_ROLE"]));
    assert_eq!(b["actualName"], "B_ROLE");
    assert_eq!(b["externalId"], "B_ROLE");
    let all = export_document(&harness, &job, false).await;
    assert_eq!(ids(&all), ["a", "b", "c"]);
    assert_eq!(find(&all, "c")["actualName"], "C_ROLE");

    let exports = harness.standin.state().access_exports;
    assert_eq!(exports.len(), 5);
    assert!(exports[3].out_of_sync_only && !exports[4].out_of_sync_only);
    assert!(exports[3].file_key.ends_with(".json"));
}

#[tokio::test]
async fn an_id_reference_is_resolved_once_feedback_names_the_parent() {
    let harness = seeded(config()).await;
    let job = harness.create_job().await;
    export_document(&harness, &job, false).await;
    // a failed; b and c applied. a's name stays unknown and a stays out of sync.
    let mut failed = feedback("a", "");
    failed["access"][0]["errors"] = json!(["permission denied"]);
    failed["access"][0]["externalId"] = json!(null);
    let answer = send_feedback(
        &harness,
        &job,
        &[failed, feedback("b", "B_ROLE"), feedback("c", "C_ROLE")],
    )
    .await;
    assert_eq!(answer["result"]["accessNamesAdded"], 2, "{answer}");
    let state = harness.standin.state();
    let a = state.access_provider(DS, "a").unwrap();
    assert!(!a.in_sync());
    assert_eq!(a.feedback.as_ref().unwrap().errors, ["permission denied"]);

    let job = harness.create_job().await;
    let partial = export_document(&harness, &job, true).await;
    assert_eq!(ids(&partial), ["a"]);
    let all = export_document(&harness, &job, false).await;
    assert_eq!(find(&all, "b")["who"]["inheritFrom"], json!(["ID:a"]));

    send_feedback(
        &harness,
        &job,
        &[
            feedback("a", "A_ROLE"),
            feedback("b", "B_ROLE"),
            feedback("c", "C_ROLE"),
        ],
    )
    .await;
    let all = export_document(&harness, &job, false).await;
    assert_eq!(find(&all, "b")["who"]["inheritFrom"], json!(["A_ROLE"]));
    assert!(
        harness
            .standin
            .state()
            .access_providers(DS)
            .iter()
            .all(|ap| ap.in_sync())
    );
}

#[tokio::test]
async fn a_deleted_access_provider_is_exported_with_delete_and_removed_after_clean_feedback() {
    let harness = seeded(config()).await;
    let job = harness.create_job().await;
    export_document(&harness, &job, false).await;
    send_feedback(
        &harness,
        &job,
        &[
            feedback("a", "A_ROLE"),
            feedback("b", "B_ROLE"),
            feedback("c", "C_ROLE"),
        ],
    )
    .await;

    harness.standin.delete_access_provider(DS, "c").unwrap();
    let job = harness.create_job().await;
    let partial = export_document(&harness, &job, true).await;
    assert_eq!(ids(&partial), ["c"]);
    assert_eq!(find(&partial, "c")["delete"], true);
    assert_eq!(find(&partial, "c")["actualName"], "C_ROLE");

    // The delete failed: c stays, still to be deleted.
    let mut failed = feedback("c", "C_ROLE");
    failed["access"][0]["errors"] = json!(["role is in use"]);
    send_feedback(&harness, &job, &[failed]).await;
    assert!(harness.standin.state().access_provider(DS, "c").is_some());

    let job = harness.create_job().await;
    let partial = export_document(&harness, &job, true).await;
    assert_eq!(ids(&partial), ["c"]);
    // A delete may be confirmed without a name (the role is gone).
    let answer = send_feedback(&harness, &job, &[feedback("c", "")]).await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    let state = harness.standin.state();
    assert!(state.access_provider(DS, "c").is_none());
    let left: Vec<_> = state
        .access_providers(DS)
        .iter()
        .map(|ap| ap.id())
        .collect();
    assert_eq!(left, ["a", "b"]);
    assert!(harness.standin.delete_access_provider(DS, "c").is_err());
}

#[tokio::test]
async fn feedback_for_an_access_provider_changed_since_its_export_leaves_it_out_of_sync() {
    let harness = seeded(config()).await;
    let job = harness.create_job().await;
    export_document(&harness, &job, false).await;
    let mut changed = ap("a", &[]);
    changed["what"][0]["permissions"] = json!(["SELECT", "INSERT"]);
    harness.standin.put_access_provider(DS, changed).unwrap();
    // The same value again is no change.
    harness
        .standin
        .put_access_provider(DS, ap("c", &[]))
        .unwrap();
    send_feedback(
        &harness,
        &job,
        &[
            feedback("a", "A_ROLE"),
            feedback("b", "B_ROLE"),
            feedback("c", "C_ROLE"),
        ],
    )
    .await;
    let state = harness.standin.state();
    let a = state.access_provider(DS, "a").unwrap();
    assert_eq!((a.version, a.applied_version), (2, Some(1)));
    assert!(!a.in_sync());
    assert!(state.access_provider(DS, "c").unwrap().in_sync());
}

#[tokio::test]
async fn malformed_feedback_fails_the_subtask_and_changes_nothing() {
    let harness = seeded(config()).await;

    // No export in this job yet.
    let job = harness.create_job().await;
    let problems = errors(&send_feedback(&harness, &job, &[feedback("a", "A_ROLE")]).await);
    assert!(
        problems[0].contains("has no completed access export"),
        "{problems:?}"
    );

    export_document(&harness, &job, false).await;
    let mut unknown_field = feedback("a", "A_ROLE");
    unknown_field["state"] = json!({"who": {}});
    let problems = errors(&send_feedback(&harness, &job, &[unknown_field]).await);
    assert!(
        problems[0].starts_with("the feedback file element 0")
            && problems[0].contains("unknown field `state`"),
        "{problems:?}"
    );

    // Go writes every key of the item, `null` for nil: a missing one is not Go's shape.
    let mut missing = feedback("a", "A_ROLE");
    missing["access"][0]
        .as_object_mut()
        .unwrap()
        .remove("warnings");
    let problems = errors(&send_feedback(&harness, &job, &[missing]).await);
    assert!(
        problems[0].contains("missing field `warnings`"),
        "{problems:?}"
    );

    let mut two_items = feedback("a", "A_ROLE");
    let item = two_items["access"][0].clone();
    two_items["access"].as_array_mut().unwrap().push(item);
    let mut other_id = feedback("c", "C_ROLE");
    other_id["access"][0]["accessId"] = json!("b");
    let problems = errors(
        &send_feedback(
            &harness,
            &job,
            &[
                two_items,
                feedback("a", "A_ROLE"),
                feedback("a", "A_ROLE"),
                feedback("zzz", "Z"),
                feedback("b", ""),
                json!({"externalId": "", "access": []}),
                other_id,
            ],
        )
        .await,
    );
    assert_eq!(problems.len(), 6, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "element 0 (externalId \"a\"), field `access`: must hold exactly one item, got 2"
        ),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("element 2 (externalId \"a\"), field `externalId`: duplicate"),
        "{problems:?}"
    );
    assert!(
        problems[2].contains("\"zzz\"")
            && problems[2].contains("has no access provider with this id"),
        "{problems:?}"
    );
    assert!(
        problems[3]
            .starts_with("element 4 (externalId \"b\"), field `access[0].actualName`: empty"),
        "{problems:?}"
    );
    assert!(
        problems[4].starts_with("element 5, field `externalId`"),
        "{problems:?}"
    );
    assert!(
        problems[5]
            .starts_with("element 6 (externalId \"c\"), field `access[0].accessId`: must equal"),
        "{problems:?}"
    );

    // The connector-side flat shape of the Go CLI is never uploaded: refused.
    let flat = json!({"accessProvider": "a", "actualName": "A_ROLE", "externalId": "A_ROLE",
                      "type": "role", "errors": [], "warnings": []});
    let problems = errors(&send_feedback(&harness, &job, &[flat]).await);
    assert!(
        problems[0].contains("unknown field `accessProvider`"),
        "{problems:?}"
    );

    // Known, but exported in another job only.
    let other = harness.create_job().await;
    harness
        .standin
        .put_access_provider(DS, ap("d", &[]))
        .unwrap();
    export_document(&harness, &other, true).await;
    let problems = errors(&send_feedback(&harness, &job, &[feedback("d", "D_ROLE")]).await);
    assert!(
        problems[0].contains("not in any access export of job"),
        "{problems:?}"
    );

    let key = harness.upload(b"{\"accessProvider\": \"a\"}").await;
    let response = harness.post_query(go_feedback_body(&job, &key)).await;
    let body: Value = response.json().await.unwrap();
    let id = body["data"]["importAccessProvidersSyncFeedback"]["subtask"]["subtaskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let problems = errors(&harness.poll_subtask(&job, "DA", &id).await);
    assert!(
        problems[0].starts_with("the feedback file is not one JSON array"),
        "{problems:?}"
    );

    let state = harness.standin.state();
    assert!(
        state
            .access_providers(DS)
            .iter()
            .all(|ap| ap.feedback.is_none() && !ap.in_sync())
    );
}

#[tokio::test]
async fn missing_feedback_is_a_warning() {
    let harness = seeded(config()).await;
    let job = harness.create_job().await;
    export_document(&harness, &job, false).await;
    let answer = send_feedback(&harness, &job, &[feedback("a", "A_ROLE")]).await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    let warnings = warnings(&answer);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("access provider \"b\" was exported in job"));
}

fn imported(id: &str, actual_name: &str, object: &str) -> Value {
    json!({
        "externalId": id, "name": id, "namingHint": id, "type": "role", "action": "grant",
        "policy": "", "actualName": actual_name,
        "who": {"users": ["alice"], "groups": [], "accessProviders": []},
        "what": [{"dataObject": {"fullName": object, "type": "table"}, "permissions": ["SELECT"]}],
        "notInternalizable": false, "incomplete": false, "tags": [],
    })
}

#[tokio::test]
async fn an_access_import_is_stored_with_raitos_counts_and_delete_untouched() {
    let harness = Harness::new().await;
    harness.set_metadata(crate::support::metadata()).await;
    assert_eq!(
        harness.import(&file(&warehouse()), true).await["status"],
        "COMPLETED"
    );
    let job = harness.create_job().await;

    let answer = send_import(
        &harness,
        &job,
        &[
            imported("r1", "R1", "db.s.t"),
            imported("r2", "R2", "db.s.t"),
        ],
        true,
    )
    .await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    let result = &answer["result"];
    assert_eq!(result["__typename"], "AccessProviderImportResult");
    assert_eq!(
        (
            result["accessAdded"].as_u64(),
            result["accessUpdated"].as_u64(),
            result["accessRemoved"].as_u64()
        ),
        (Some(2), Some(0), Some(0))
    );
    assert!(warnings(&answer).is_empty(), "{answer}");

    // A partial import: r2 changes, r3 is new, r1 stays.
    let mut r2 = imported("r2", "R2", "db.s.t");
    r2["who"]["accessProviders"] = json!(["r1"]);
    let answer = send_import(&harness, &job, &[r2, imported("r3", "R3", "db.s.t")], false).await;
    let result = &answer["result"];
    assert_eq!(
        (
            result["accessAdded"].as_u64(),
            result["accessUpdated"].as_u64(),
            result["accessRemoved"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{answer}"
    );
    let state = harness.standin.state();
    let stored: Vec<_> = state
        .imported_access_providers(DS)
        .iter()
        .map(|ap| ap.external_id.as_str())
        .collect();
    assert_eq!(stored, ["r1", "r2", "r3"]);
    assert_eq!(
        state.imported_access_providers(DS)[1]
            .who
            .as_ref()
            .unwrap()
            .access_providers,
        Some(vec!["r1".to_owned()])
    );

    // deleteUntouched: what the file lacks is removed.
    let answer = send_import(&harness, &job, &[imported("r3", "R3", "db.s.t")], true).await;
    let result = &answer["result"];
    assert_eq!(
        (
            result["accessAdded"].as_u64(),
            result["accessUpdated"].as_u64(),
            result["accessRemoved"].as_u64()
        ),
        (Some(0), Some(0), Some(2)),
        "{answer}"
    );
    assert_eq!(
        harness.standin.state().imported_access_providers(DS).len(),
        1
    );
    assert!(matches!(
        harness.standin.state().subtasks.last().unwrap().result,
        Some(SubtaskResult::AccessImport(ref r)) if r.removed == 2
    ));
}

#[tokio::test]
async fn an_access_import_warns_about_own_roles_unknown_objects_and_dangling_inheritance() {
    let harness = seeded(config()).await;
    harness.set_metadata(crate::support::metadata()).await;
    assert_eq!(
        harness.import(&file(&warehouse()), true).await["status"],
        "COMPLETED"
    );
    let job = harness.create_job().await;
    export_document(&harness, &job, false).await;
    send_feedback(
        &harness,
        &job,
        &[
            feedback("a", "A_ROLE"),
            feedback("b", "B_ROLE"),
            feedback("c", "C_ROLE"),
        ],
    )
    .await;

    let mut dangling = imported("r2", "R2", "db.s.t");
    dangling["who"]["accessProviders"] = json!(["A_ROLE", "nowhere"]);
    let answer = send_import(
        &harness,
        &job,
        &[
            imported("B_ROLE", "B_ROLE", "db.s.t"),
            imported("r1", "R1", "db.s.missing"),
            dangling,
        ],
        true,
    )
    .await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    let warnings = warnings(&answer);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].contains(
            "actualName \"B_ROLE\" is the actual name of access provider \"b\" that Raito manages"
        ),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("\"db.s.missing\" (table) is not a data object of this data source"),
        "{warnings:?}"
    );
    assert!(warnings[2].contains("names \"nowhere\""), "{warnings:?}");
}

#[tokio::test]
async fn malformed_access_import_files_fail_the_subtask() {
    let harness = Harness::new().await;
    let job = harness.create_job().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "x", "action": "grant"}),
            "missing field `externalId`",
        ),
        (json!({"externalId": "x"}), "missing field `action`"),
        (
            json!({"externalId": "x", "action": "grant", "colour": "red"}),
            "unknown field `colour`",
        ),
        (
            json!({"externalId": "x", "action": "grant", "who": {"users": [], "roles": []}}),
            "field `who.roles`: unknown field `roles`",
        ),
        (
            json!({"externalId": "x", "action": "grant", "what": [{"dataObject": {"fullName": "t"}, "permissions": []}]}),
            "missing field `type`",
        ),
    ];
    for (element, expected) in cases {
        let problems =
            errors(&send_import(&harness, &job, std::slice::from_ref(&element), true).await);
        assert!(problems[0].contains(expected), "{element}: {problems:?}");
    }
    let problems = errors(
        &send_import(
            &harness,
            &job,
            &[
                json!({"externalId": "x", "action": "GRANT"}),
                json!({"externalId": "x", "action": "grant"}),
                json!({"externalId": "", "action": "grant"}),
                json!({"externalId": "y", "action": "grant", "what": [{"dataObject": {"fullName": "", "type": "table"}}]}),
            ],
            true,
        )
        .await,
    );
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(
        problems[0].starts_with("element 0 (externalId \"x\"), field `action` \"GRANT\""),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("duplicate (first in element 0)"),
        "{problems:?}"
    );
    assert!(
        problems[2].starts_with("element 2, field `externalId`: must not be empty"),
        "{problems:?}"
    );
    assert!(
        problems[3].contains("`what[0].dataObject`: fullName must not be empty"),
        "{problems:?}"
    );
    assert!(
        harness
            .standin
            .state()
            .imported_access_providers(DS)
            .is_empty()
    );
}

#[tokio::test]
async fn the_export_url_needs_no_authentication_and_expires() {
    // A lifetime of zero: the URL is expired as soon as it is handed out.
    let harness = seeded(Config {
        export_url_lifetime: Duration::ZERO,
        ..config()
    })
    .await;
    let job = harness.create_job().await;
    let answer = export(&harness, &job, false).await;
    let location = answer["result"]["fileLocation"].as_str().unwrap();
    assert!(location.starts_with(&format!("{}export/", harness.standin.base_url())));
    let (status, _, body) = download(location).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("<Code>AccessDenied</Code>") && body.contains("expired"),
        "{body}"
    );
    let (status, _, _) = download(&harness.url("export/0123456789abcdef")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_large_export_is_streamed_in_chunks() {
    let harness = Harness::new().await;
    for i in 0..3000 {
        harness
            .standin
            .put_access_provider(
                DS,
                ap(
                    &format!("ap-{i:04}"),
                    if i > 0 { &["ap-0000"] } else { &[] },
                ),
            )
            .unwrap();
    }
    let job = harness.create_job().await;
    let answer = export(&harness, &job, false).await;
    let response = reqwest::get(answer["result"]["fileLocation"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A streamed body has no Content-Length (chunked transfer encoding).
    assert_eq!(response.content_length(), None);
    let text = response.text().await.unwrap();
    let document: Value = serde_norway::from_str(&text).unwrap();
    let aps = document["accessProviders"].as_array().unwrap();
    assert_eq!(aps.len(), 3000);
    assert_eq!(aps[2999]["id"], "ap-2999");
    assert_eq!(aps[2999]["who"]["inheritFrom"], json!(["ID:ap-0000"]));
}

#[tokio::test]
async fn the_rust_clients_documents_drive_all_three_operations() {
    let harness = seeded(config()).await;
    harness.set_metadata(crate::support::metadata()).await;
    let job = harness.create_job().await;
    let inline = |document: &str, key: &str| {
        document
            .replace("\"@jobId\"", &json!(job).to_string())
            .replace("\"@dataSource\"", &json!(DS).to_string())
            .replace("\"@fileKey\"", &json!(key).to_string())
    };
    let request = |query: &str, name: &str, variables: Value| {
        json!({"query": query, "operationName": name, "variables": variables}).to_string()
    };

    let body = request(
        CLIENT_EXPORT,
        "ExportAccessProvidersRequest",
        json!({"filter": {"status": {"outOfSync": true}, "exportProperties": null},
               "input": {"jobId": job, "exportSettings": {"dataSource": DS}}}),
    );
    let answer: Value = harness.post_query(body).await.json().await.unwrap();
    let subtask = &answer["data"]["exportAccessProvidersRequest"]["subtask"];
    let export = harness
        .poll_subtask(&job, "DA", subtask["subtaskId"].as_str().unwrap())
        .await;
    assert_eq!(export["status"], "COMPLETED", "{export}");
    assert_eq!(
        harness
            .standin
            .state()
            .subtasks
            .last()
            .unwrap()
            .out_of_sync_only,
        Some(true)
    );

    let key = harness
        .upload(&file(&[
            feedback("a", "A_ROLE"),
            feedback("b", "B_ROLE"),
            feedback("c", "C_ROLE"),
        ]))
        .await;
    let body = request(
        &inline(CLIENT_FEEDBACK, &key),
        "ImportAccessProvidersSyncFeedback",
        json!({}),
    );
    let answer: Value = harness.post_query(body).await.json().await.unwrap();
    let subtask = &answer["data"]["importAccessProvidersSyncFeedback"]["subtask"];
    let done = harness
        .poll_subtask(&job, "DA", subtask["subtaskId"].as_str().unwrap())
        .await;
    assert_eq!(done["result"]["accessNamesAdded"], 3, "{done}");

    let key = harness
        .upload(&file(&[imported("r1", "R1", "db.s.t")]))
        .await;
    let body = request(
        &inline(CLIENT_IMPORT, &key),
        "ImportAccessProvidersRequest",
        json!({"deleteUntouched": false}),
    );
    let answer: Value = harness.post_query(body).await.json().await.unwrap();
    let subtask = &answer["data"]["importAccessProvidersRequest"]["subtask"];
    let done = harness
        .poll_subtask(&job, "DA", subtask["subtaskId"].as_str().unwrap())
        .await;
    assert_eq!(done["result"]["accessAdded"], 1, "{done}");
    assert!(
        !harness
            .standin
            .state()
            .subtasks
            .last()
            .unwrap()
            .delete_untouched
    );
}

#[tokio::test]
async fn access_requests_need_a_job_of_their_data_source() {
    let harness = seeded(Config {
        data_sources: vec![DS.to_owned(), "ds-2".to_owned()],
        ..config()
    })
    .await;
    let job = harness.create_job().await;
    let (status, body) = harness
        .graphql(
            GO_EXPORT,
            json!({"filter": {}, "input": {"jobId": job, "exportSettings": {"dataSource": "ds-2"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is not a job of data source \"ds-2\""),
        "{body}"
    );
    let (_, body) = harness
        .graphql(
            GO_EXPORT,
            json!({"filter": {}, "input": {"jobId": "nope", "exportSettings": {"dataSource": DS}}}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("job \"nope\" not found"),
        "{body}"
    );
    // The export is a query: as a mutation it does not validate.
    let (status, _) = harness
        .graphql(
            &GO_EXPORT.replacen("query", "mutation", 1),
            json!({"filter": {}, "input": {"jobId": job, "exportSettings": {"dataSource": DS}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn seeding_refuses_what_is_not_an_access_provider() {
    let harness = Harness::new().await;
    let standin = &harness.standin;
    let mut unknown = ap("x", &[]);
    unknown["who"]["roles"] = json!([]);
    assert!(
        standin
            .put_access_provider(DS, unknown)
            .unwrap_err()
            .to_string()
            .contains("at `who.roles`: unknown field `roles`")
    );
    let mut bad_action = ap("x", &[]);
    bad_action["action"] = json!("allow");
    assert!(
        standin
            .put_access_provider(DS, bad_action)
            .unwrap_err()
            .to_string()
            .contains("\"allow\"")
    );
    assert!(
        standin
            .put_access_provider(DS, ap("x", &["x"]))
            .unwrap_err()
            .to_string()
            .contains("itself")
    );
    assert!(standin.put_access_provider(DS, ap("x", &["ID:y"])).is_err());
    assert!(
        standin
            .put_access_provider("ds-9", ap("x", &[]))
            .unwrap_err()
            .to_string()
            .contains("not configured")
    );
    assert!(standin.state().access_providers(DS).is_empty());

    // Inheriting from an id that exists nowhere fails the export.
    standin
        .put_access_provider(DS, ap("x", &["ghost"]))
        .unwrap();
    let job = harness.create_job().await;
    let data = harness
        .data(
            GO_EXPORT,
            json!({"filter": {}, "input": {"jobId": job, "exportSettings": {"dataSource": DS}}}),
        )
        .await;
    let id = data["exportAccessProvidersRequest"]["subtask"]["subtaskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let problems = errors(&harness.poll_subtask(&job, "DA", &id).await);
    assert!(
        problems[0].contains("inherits from \"ghost\""),
        "{problems:?}"
    );
}

#[tokio::test]
async fn a_download_fault_fails_once_and_the_same_url_works_again() {
    let harness = seeded(config()).await;
    let job = harness.create_job().await;
    let answer = export(&harness, &job, false).await;
    let location = answer["result"]["fileLocation"].as_str().unwrap();
    harness.standin.inject(Fault::Status {
        target: Target::Operation("exportDownload".to_owned()),
        status: 503,
        times: 1,
    });
    assert_eq!(download(location).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, text) = download(location).await;
    assert_eq!(status, StatusCode::OK);
    let document: Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(ids(&document), ["a", "b", "c"]);
    assert_eq!(harness.standin.state().count("exportDownload"), 2);
}
