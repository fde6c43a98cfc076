//! `setIdentityStoreMetaData` and `importIdentityRequest`: valid users and groups files are
//! stored with Raito's counts, and every rule of the file check (known fields, unique ids, no
//! dangling group ids) ends the subtask FAILED with an error naming the file, element and field.

use raito_standin::{Fault, SubtaskResult};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{DS, Harness, config, file};

const IS: &str = "is-1";

fn user(id: &str, groups: &[&str]) -> Value {
    json!({"externalId": id, "name": id, "userName": id, "email": format!("{id}@example.com"),
           "groupExternalIds": groups, "tags": null})
}

fn group(id: &str, parents: &[&str]) -> Value {
    json!({"externalId": id, "name": id, "displayName": id.to_uppercase(), "description": "",
           "parentGroupExternalIds": parents, "tags": null})
}

/// Sets the metadata as the Raito CLI's `SetMetaData` writes it; returns the answer.
async fn set_metadata(harness: &Harness, id: &str) -> Value {
    let document = format!(
        "mutation SetMetaData {{ setIdentityStoreMetaData(id: \"{id}\", input: {{ type: \"okta\", icon: \"okta\", canBeLinked: true, canBeMaster: false, }}) {{ ... on IdentityStore {{ id }} ... on NotFoundError {{ message }} }} }}"
    );
    harness.data(&document, json!({})).await["setIdentityStoreMetaData"].clone()
}

async fn ready() -> Harness {
    let harness = Harness::new().await;
    assert_eq!(set_metadata(&harness, IS).await, json!({"id": IS}));
    harness
}

/// Creates a job for the identity store `is_id` (and the data source, if given).
async fn create_job(harness: &Harness, data_source: Option<&str>, is_id: &str) -> String {
    harness
        .data(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": {"dataSourceId": data_source, "identityStoreId": is_id, "eventTime": null}}),
        )
        .await["createJob"]["jobId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The Go CLI's `importIdentityRequest` document (all values inline).
fn import_document(
    job: &str,
    is_id: &str,
    users_key: &str,
    groups_key: &str,
    delete_untouched: bool,
    replace_groups: bool,
) -> String {
    format!(
        "mutation ImportIdentityRequest {{ importIdentityRequest(input: {{ jobId: \"{job}\", importSettings: {{ identityStore: \"{is_id}\", deleteUntouched: {delete_untouched}, replaceGroups: {replace_groups}, usersFileKey: \"{users_key}\", groupsFileKey: \"{groups_key}\", tagSourcesScope: [] }} }}) {{ subtask {{ status subtaskId }} }} }}"
    )
}

/// Sends the import request for already uploaded keys; returns (jobId, subtaskId).
async fn request(
    harness: &Harness,
    users_key: &str,
    groups_key: &str,
    delete_untouched: bool,
    replace_groups: bool,
) -> (String, String) {
    let job = create_job(harness, None, IS).await;
    let document = import_document(
        &job,
        IS,
        users_key,
        groups_key,
        delete_untouched,
        replace_groups,
    );
    let data = harness.data(&document, json!({})).await;
    let subtask = &data["importIdentityRequest"]["subtask"];
    assert_eq!(subtask["status"], "QUEUED");
    (job, subtask["subtaskId"].as_str().unwrap().to_owned())
}

/// Uploads both files, imports them as the Go CLI writes the request, waits for the end.
async fn import(
    harness: &Harness,
    users: &[Value],
    groups: &[Value],
    delete_untouched: bool,
    replace_groups: bool,
) -> Value {
    let users_key = harness.upload(&file(users)).await;
    let groups_key = harness.upload(&file(groups)).await;
    let (job, subtask) = request(
        harness,
        &users_key,
        &groups_key,
        delete_untouched,
        replace_groups,
    )
    .await;
    harness.poll_subtask(&job, "IS", &subtask).await
}

/// The errors of an import of raw file bodies that must fail.
async fn raw_errors(users: &[u8], groups: &[u8]) -> Vec<String> {
    let harness = ready().await;
    let users_key = harness.upload(users).await;
    let groups_key = harness.upload(groups).await;
    let (job, subtask) = request(&harness, &users_key, &groups_key, true, true).await;
    let answer = harness.poll_subtask(&job, "IS", &subtask).await;
    assert_eq!(answer["status"], "FAILED", "{answer}");
    assert!(harness.standin.state().users(IS).is_empty());
    serde_json::from_value(answer["errors"].clone()).unwrap()
}

/// The errors of an import that must fail.
async fn errors(users: &[Value], groups: &[Value]) -> Vec<String> {
    raw_errors(&file(users), &file(groups)).await
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|item| id(item).to_owned()).collect()
}

#[tokio::test]
async fn valid_files_are_stored_with_the_metadata_and_counted() {
    let harness = ready().await;
    let mut machine = user("svc", &["g1"]);
    machine["isMachine"] = json!(true);
    machine["tags"] = json!([{"key": "team", "value": "data", "source": "okta"}]);
    let answer = import(
        &harness,
        &[user("u1", &["g1"]), user("u2", &[]), machine],
        // A parent may come after its child.
        &[group("g1", &["g2"]), group("g2", &[])],
        true,
        true,
    )
    .await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    assert_eq!(answer["errors"], json!(null));
    assert_eq!(
        answer["result"],
        json!({"__typename": "IdentityStoreImportResult", "usersAdded": 3, "usersRemoved": 0,
               "usersUpdated": 0, "groupsAdded": 2, "groupsRemoved": 0, "groupsUpdated": 0,
               "warnings": []})
    );
    let state = harness.standin.state();
    assert_eq!(
        state.identity_store_metadata[IS],
        json!({"type": "okta", "icon": "okta", "canBeLinked": true, "canBeMaster": false})
    );
    assert_eq!(
        ids(state.users(IS), |u| &u.external_id),
        ["u1", "u2", "svc"]
    );
    assert_eq!(ids(state.groups(IS), |g| &g.external_id), ["g1", "g2"]);
    let u1 = &state.users(IS)[0];
    assert_eq!(u1.email, "u1@example.com");
    assert_eq!(u1.group_external_ids, Some(vec!["g1".to_owned()]));
    assert_eq!(u1.is_machine, None);
    let svc = &state.users(IS)[2];
    assert_eq!(svc.is_machine, Some(true));
    assert_eq!(svc.tags.as_ref().unwrap()[0].source, "okta");
    assert_eq!(state.groups(IS)[0].display_name, "G1");
    assert_eq!(
        state.groups(IS)[0].parent_group_external_ids,
        Some(vec!["g2".to_owned()])
    );
    let subtask = &state.subtasks[0];
    assert_eq!(subtask.job_type, "IS");
    assert_eq!(subtask.target(), IS);
    assert_eq!(subtask.replace_groups, Some(true));
    assert!(matches!(
        subtask.result,
        Some(SubtaskResult::IdentityStore(r)) if r.users.added == 3 && r.groups.added == 2
    ));
}

#[tokio::test]
async fn the_state_json_has_the_metadata_users_groups_and_a_readable_subtask() {
    let harness = ready().await;
    import(
        &harness,
        &[user("u1", &["g1"])],
        &[group("g1", &[])],
        true,
        false,
    )
    .await;
    let (status, state) = harness.get("_standin/state").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state["identityStoreMetadata"][IS]["type"], "okta");
    assert_eq!(state["users"][IS][0]["externalId"], "u1");
    assert_eq!(state["users"][IS][0]["groupExternalIds"], json!(["g1"]));
    assert_eq!(state["groups"][IS][0]["displayName"], "G1");
    let subtask = &state["subtasks"][0];
    assert_eq!(subtask["jobType"], "IS");
    assert_eq!(subtask["identityStore"], IS);
    assert!(subtask["usersFileKey"].is_string() && subtask["groupsFileKey"].is_string());
    assert_eq!(subtask["deleteUntouched"], true);
    assert_eq!(subtask["replaceGroups"], false);
    assert!(subtask.get("dataSource").is_none() && subtask.get("fileKey").is_none());
    assert_eq!(subtask["result"]["identityStore"]["users"]["added"], 1);
}

#[tokio::test]
async fn a_second_full_import_counts_users_and_groups_added_updated_and_removed() {
    let harness = ready().await;
    import(
        &harness,
        &[user("u1", &["g1"]), user("u2", &[]), user("u3", &[])],
        &[group("g1", &[]), group("g2", &[]), group("g3", &[])],
        true,
        true,
    )
    .await;

    // u1 changes groups, u2 is unchanged, u3 goes, u4 comes; g1 gets a parent, g2 is
    // unchanged, g3 goes, g4 and g5 come.
    let answer = import(
        &harness,
        &[user("u1", &["g2"]), user("u2", &[]), user("u4", &["g4"])],
        &[
            group("g1", &["g4"]),
            group("g2", &[]),
            group("g4", &[]),
            group("g5", &[]),
        ],
        true,
        true,
    )
    .await;
    assert_eq!(
        answer["result"],
        json!({"__typename": "IdentityStoreImportResult", "usersAdded": 1, "usersUpdated": 1,
               "usersRemoved": 1, "groupsAdded": 2, "groupsUpdated": 1, "groupsRemoved": 1,
               "warnings": []})
    );
    let state = harness.standin.state();
    assert_eq!(ids(state.users(IS), |u| &u.external_id), ["u1", "u2", "u4"]);
    assert_eq!(
        ids(state.groups(IS), |g| &g.external_id),
        ["g1", "g2", "g4", "g5"]
    );
    assert_eq!(
        state.users(IS)[0].group_external_ids,
        Some(vec!["g2".to_owned()])
    );
}

#[tokio::test]
async fn without_delete_untouched_nothing_is_removed_and_without_replace_groups_memberships_merge()
{
    let harness = ready().await;
    let groups = [group("g1", &[]), group("g2", &[])];
    import(
        &harness,
        &[user("u1", &["g2"]), user("u2", &[])],
        &groups,
        true,
        true,
    )
    .await;

    // u1 keeps g2 and gains g1; u2 is not in the file and stays; u3 is added.
    let answer = import(
        &harness,
        &[user("u1", &["g1"]), user("u3", &[])],
        &groups,
        false,
        false,
    )
    .await;
    assert_eq!(
        answer["result"],
        json!({"__typename": "IdentityStoreImportResult", "usersAdded": 1, "usersUpdated": 1,
               "usersRemoved": 0, "groupsAdded": 0, "groupsUpdated": 0, "groupsRemoved": 0,
               "warnings": []})
    );
    let state = harness.standin.state();
    assert_eq!(ids(state.users(IS), |u| &u.external_id), ["u1", "u2", "u3"]);
    assert_eq!(
        state.users(IS)[0].group_external_ids,
        Some(vec!["g2".to_owned(), "g1".to_owned()])
    );

    // replaceGroups true (deleteUntouched still false): u1's groups are the file's again.
    let answer = import(&harness, &[user("u1", &["g1"])], &groups, false, true).await;
    assert_eq!(answer["result"]["usersUpdated"], 1);
    assert_eq!(answer["result"]["usersRemoved"], 0);
    let state = harness.standin.state();
    assert_eq!(
        state.users(IS)[0].group_external_ids,
        Some(vec!["g1".to_owned()])
    );
    assert_eq!(state.users(IS).len(), 3);
}

#[tokio::test]
async fn merged_memberships_drop_groups_a_full_import_removed() {
    let harness = ready().await;
    import(
        &harness,
        &[user("u1", &["g1", "g2"])],
        &[group("g1", &[]), group("g2", &[])],
        true,
        true,
    )
    .await;
    // deleteUntouched true, replaceGroups false: g2 goes, so u1 keeps only g1 and gains g3.
    let answer = import(
        &harness,
        &[user("u1", &["g3"])],
        &[group("g1", &[]), group("g3", &[])],
        true,
        false,
    )
    .await;
    assert_eq!(answer["result"]["groupsRemoved"], 1);
    assert_eq!(answer["result"]["usersUpdated"], 1);
    assert_eq!(
        harness.standin.state().users(IS)[0].group_external_ids,
        Some(vec!["g1".to_owned(), "g3".to_owned()])
    );
}

#[tokio::test]
async fn a_group_id_missing_from_the_groups_file_fails_the_import_naming_the_element() {
    let errors = errors(
        &[user("u1", &["g1"]), user("u2", &["ghost"])],
        &[group("g1", &["nowhere"])],
    )
    .await;
    assert_eq!(
        errors,
        [
            r#"groups file element 0 (externalId "g1"), field `parentGroupExternalIds`: group "nowhere" is not in the groups file"#,
            r#"users file element 1 (externalId "u2"), field `groupExternalIds`: group "ghost" is not in the groups file"#,
        ]
    );
}

#[tokio::test]
async fn duplicate_or_empty_ids_and_a_group_that_is_its_own_parent_are_rejected() {
    let errors = errors(
        &[user("u1", &[]), user("u1", &[]), user("", &[])],
        &[group("g1", &["g1"]), group("g1", &[])],
    )
    .await;
    assert_eq!(
        errors,
        [
            r#"groups file element 0 (externalId "g1"), field `parentGroupExternalIds`: the group is its own parent"#,
            r#"groups file element 1 (externalId "g1"), field `externalId`: duplicate externalId (first used by element 0)"#,
            r#"users file element 1 (externalId "u1"), field `externalId`: duplicate externalId (first used by element 0)"#,
            "users file element 2, field `externalId`: externalId is empty",
        ]
    );
}

#[tokio::test]
async fn an_unknown_field_is_rejected_with_its_place() {
    let mut odd = user("u1", &[]);
    odd["department"] = json!("sales");
    let errors = errors(&[user("u0", &[]), odd], &[]).await;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("users file element 1, field `department`: unknown field"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_bad_field_value_names_the_nested_field_and_a_missing_external_id_is_an_error() {
    let mut bad_tag = group("g1", &[]);
    bad_tag["tags"] = json!([{"key": "k", "value": 1, "source": "s"}]);
    let mut no_id = user("u1", &[]);
    no_id.as_object_mut().unwrap().remove("externalId");
    let errors = errors(&[no_id], &[bad_tag]).await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0]
            .starts_with("groups file element 0, field `tags[0].value`: invalid type: integer"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("users file element 0: missing field `externalId`"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_one_array_is_rejected_and_the_other_file_still_checked() {
    let mut odd = user("u1", &["g1"]);
    odd["isMachine"] = json!("yes");
    let errors = raw_errors(&file(&[odd]), br#"{"externalId": "g1"}"#).await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("groups file is not one JSON array of groups: invalid type: map"),
        "{errors:?}"
    );
    // The group references are not checked against an unreadable groups file.
    assert!(
        errors[1].starts_with("users file element 0, field `isMachine`: invalid type: string"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_import_before_the_metadata_fails_and_an_unknown_store_is_not_found() {
    let harness = Harness::new().await;
    let answer = import(&harness, &[user("u1", &[])], &[], true, true).await;
    assert_eq!(answer["status"], "FAILED");
    assert_eq!(
        answer["errors"],
        json!([
            "no metadata: setIdentityStoreMetaData was not called for identity store \"is-1\" before the import"
        ])
    );
    assert!(harness.standin.state().users(IS).is_empty());
    assert_eq!(
        set_metadata(&harness, "is-unknown").await,
        json!({"message": "identity store \"is-unknown\" not found"})
    );
    assert!(harness.standin.state().identity_store_metadata.is_empty());
}

#[tokio::test]
async fn the_clients_metadata_document_with_variables_is_accepted_and_an_empty_type_is_an_error() {
    let harness = Harness::new().await;
    let document = |t: &str| {
        format!(
            "mutation SetMetaData($canBeLinked: Boolean!, $canBeMaster: Boolean!) {{ setIdentityStoreMetaData(id: \"{IS}\", input: {{ type: \"{t}\", icon: \"pg\", canBeLinked: $canBeLinked, canBeMaster: $canBeMaster }}) {{ __typename ... on IdentityStore {{ id }} ... on PermissionDeniedError {{ message }} ... on NotFoundError {{ message }} }} }}"
        )
    };
    let variables = json!({"canBeLinked": false, "canBeMaster": true});
    let data = harness.data(&document("postgres"), variables.clone()).await;
    assert_eq!(
        data["setIdentityStoreMetaData"],
        json!({"__typename": "IdentityStore", "id": IS})
    );
    assert_eq!(
        harness.standin.state().identity_store_metadata[IS],
        json!({"type": "postgres", "icon": "pg", "canBeLinked": false, "canBeMaster": true})
    );

    let (status, body) = harness.graphql(&document(""), variables).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("type must not be empty"),
        "{body}"
    );
    // The earlier metadata stays.
    assert_eq!(
        harness.standin.state().identity_store_metadata[IS]["type"],
        "postgres"
    );
}

#[tokio::test]
async fn an_import_into_an_unknown_identity_store_or_job_is_a_graphql_error() {
    let harness = ready().await;
    let key = harness.upload(&file(&[])).await;
    let job = create_job(&harness, None, IS).await;
    for (job, is_id, expected) in [
        (
            job.as_str(),
            "is-unknown",
            "identity store \"is-unknown\" not found",
        ),
        ("no-such-job", IS, "job \"no-such-job\" not found"),
    ] {
        let document = import_document(job, is_id, &key, &key, true, true);
        let (status, body) = harness.graphql(&document, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(expected),
            "{body}"
        );
    }
    assert!(harness.standin.state().subtasks.is_empty());
}

#[tokio::test]
async fn an_import_of_files_never_uploaded_fails_naming_the_keys() {
    let harness = ready().await;
    let groups_key = harness.upload(&file(&[])).await;
    let (job, subtask) = request(&harness, "never-users", &groups_key, true, true).await;
    let answer = harness.poll_subtask(&job, "IS", &subtask).await;
    assert_eq!(answer["status"], "FAILED");
    assert_eq!(
        answer["errors"],
        json!(["file key \"never-users\" was never uploaded"])
    );
}

#[tokio::test]
async fn a_stuck_identity_store_keeps_its_import_processing() {
    let harness = ready().await;
    harness.standin.inject(Fault::StuckSubtasks {
        data_source: IS.into(),
    });
    let key = harness.upload(&file(&[])).await;
    let (job, subtask) = request(&harness, &key, &key, true, true).await;
    let document = format!(
        "query jobSubtask{{ jobSubtask(jobId: \"{job}\", jobType: \"IS\", subtaskId: \"{subtask}\") {{ status }}}}"
    );
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        let status = harness.data(&document, json!({})).await["jobSubtask"]["status"].clone();
        assert!(
            status == "QUEUED" || status == "DATA_PROCESSING",
            "{status}"
        );
    }
    // Polled with the wrong job type, it is not found.
    let wrong = document.replace("\"IS\"", "\"DS\"");
    let (_, body) = harness.graphql(&wrong, json!({})).await;
    assert!(body["errors"].is_array(), "{body}");
}

#[tokio::test]
async fn jobs_and_task_events_of_an_identity_store_are_recorded() {
    let harness = Harness::with(config()).await;
    // A data source's own identity store: a job with both ids.
    let job = create_job(&harness, Some(DS), IS).await;
    let (_, body) = harness
        .graphql(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": {"dataSourceId": DS, "identityStoreId": "is-unknown", "eventTime": null}}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("identity store \"is-unknown\" not found"),
        "{body}"
    );
    harness
        .data(
            "mutation ($input:TaskEventInput!){addTaskEvent(input: $input){jobId jobType}}",
            json!({"input": {"jobId": job, "jobType": "IS", "dataSourceId": null, "identityStoreId": IS,
                             "status": "COMPLETED", "eventTime": "2026-11-22T07:00:00Z", "errors": null,
                             "warnings": null, "result": [{"objectType": "users", "added": 2, "updated": 0, "removed": 0, "failed": 0}]}}),
        )
        .await;
    let state = harness.standin.state();
    assert_eq!(
        state.job(&job).unwrap().identity_store_id.as_deref(),
        Some(IS)
    );
    assert_eq!(state.job(&job).unwrap().data_source_id.as_deref(), Some(DS));
    let events = state.task_events_of("IS");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].identity_store_id.as_deref(), Some(IS));
    assert_eq!(events[0].result.as_ref().unwrap()[0].added, 2);
}
