//! `setIdentityStoreMetaData` and `importIdentityRequest`: valid users and groups files are
//! stored with Raito's counts, and every rule of the file check (known fields, unique ids, no
//! dangling group ids) ends the subtask FAILED with an error naming the file and element.

use serde_json::{Value, json};

use crate::support::{Harness, file};

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
    let job = harness
        .data(
            "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
            json!({"input": {"dataSourceId": null, "identityStoreId": IS, "eventTime": null}}),
        )
        .await["createJob"]["jobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let document = format!(
        "mutation ImportIdentityRequest {{ importIdentityRequest(input: {{ jobId: \"{job}\", importSettings: {{ identityStore: \"{IS}\", deleteUntouched: {delete_untouched}, replaceGroups: {replace_groups}, usersFileKey: \"{users_key}\", groupsFileKey: \"{groups_key}\", tagSourcesScope: [] }} }}) {{ subtask {{ status subtaskId }} }} }}"
    );
    let data = harness.data(&document, json!({})).await;
    let subtask = &data["importIdentityRequest"]["subtask"];
    assert_eq!(subtask["status"], "QUEUED");
    harness
        .poll_subtask(&job, "IS", subtask["subtaskId"].as_str().unwrap())
        .await
}

/// The errors of an import that must fail.
async fn errors(users: &[Value], groups: &[Value]) -> Vec<String> {
    let harness = ready().await;
    let answer = import(&harness, users, groups, true, true).await;
    assert_eq!(answer["status"], "FAILED", "{answer}");
    serde_json::from_value(answer["errors"].clone()).unwrap()
}

#[tokio::test]
async fn valid_files_are_stored_with_the_metadata_and_counted() {
    let harness = ready().await;
    let answer = import(
        &harness,
        &[user("u1", &["g1"]), user("u2", &[])],
        &[group("g1", &["g2"]), group("g2", &[])],
        true,
        true,
    )
    .await;
    assert_eq!(
        answer["result"],
        json!({"__typename": "IdentityStoreImportResult", "usersAdded": 2, "usersRemoved": 0,
               "usersUpdated": 0, "groupsAdded": 2, "groupsRemoved": 0, "groupsUpdated": 0,
               "warnings": []})
    );
    let state = harness.standin.state();
    assert_eq!(
        state.identity_store_metadata[IS],
        json!({"type": "okta", "icon": "okta", "canBeLinked": true, "canBeMaster": false})
    );
    assert_eq!(
        state.users(IS)[0].group_external_ids,
        Some(vec!["g1".to_owned()])
    );
    assert_eq!(
        state.groups(IS)[0].parent_group_external_ids,
        Some(vec!["g2".to_owned()])
    );
    assert_eq!(state.subtasks[0].job_type, "IS");
}

#[tokio::test]
async fn a_second_import_counts_updates_and_removals_and_can_keep_old_memberships() {
    let harness = ready().await;
    let groups = [group("g1", &[]), group("g2", &[])];
    import(
        &harness,
        &[user("u1", &["g1"]), user("u2", &[])],
        &groups,
        true,
        true,
    )
    .await;

    // u1 changes groups, u2 goes; g2 goes.
    let answer = import(&harness, &[user("u1", &["g2"])], &groups, true, true).await;
    assert_eq!(answer["result"]["usersUpdated"], 1);
    assert_eq!(answer["result"]["usersRemoved"], 1);
    assert_eq!(answer["result"]["groupsUpdated"], 0);

    // replaceGroups false, deleteUntouched false: u1 keeps g2 and gains g1; u3 is added.
    let answer = import(
        &harness,
        &[user("u1", &["g1"]), user("u3", &[])],
        &groups,
        false,
        false,
    )
    .await;
    assert_eq!(answer["result"]["usersAdded"], 1);
    assert_eq!(answer["result"]["usersRemoved"], 0);
    let state = harness.standin.state();
    let u1 = &state.users(IS)[0];
    assert_eq!(
        u1.group_external_ids,
        Some(vec!["g2".to_owned(), "g1".to_owned()])
    );
    assert_eq!(state.users(IS).len(), 2);
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
async fn duplicate_ids_and_a_group_that_is_its_own_parent_are_rejected() {
    let errors = errors(
        &[user("u1", &[]), user("u1", &[])],
        &[group("g1", &["g1"]), group("g1", &[])],
    )
    .await;
    assert_eq!(
        errors,
        [
            r#"groups file element 1 (externalId "g1"): duplicate externalId (first used by element 0)"#,
            r#"groups file element 0 (externalId "g1"): the group is its own parent"#,
            r#"users file element 1 (externalId "u1"): duplicate externalId"#,
        ]
    );
}

#[tokio::test]
async fn an_unknown_field_is_rejected_with_its_place() {
    let mut odd = user("u1", &[]);
    odd["department"] = json!("sales");
    let errors = errors(&[odd], &[]).await;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("users file element 0, field `department`: unknown field"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_import_before_the_metadata_fails_and_an_unknown_store_is_not_found() {
    let harness = Harness::new().await;
    let answer = import(&harness, &[user("u1", &[])], &[], true, true).await;
    assert_eq!(answer["status"], "FAILED");
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("setIdentityStoreMetaData was not called"),
        "{answer}"
    );
    assert_eq!(
        set_metadata(&harness, "is-unknown").await,
        json!({"message": "identity store \"is-unknown\" not found"})
    );
}
