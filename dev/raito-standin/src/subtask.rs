//! Import subtasks: `importDataSourceRequest` and `importIdentityRequest` create one (QUEUED)
//! and start its processing in the background (DATA_PROCESSING after half the configured
//! delay, then COMPLETED or FAILED), and `jobSubtask` answers polls with its status, errors and
//! result.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::now_rfc3339;
use crate::faults::is_stuck;
use crate::identities;
use crate::import::{self, Rules};
use crate::server::Shared;
use crate::state::Subtask;

/// `importDataSourceRequest(input: DataSourceImportRequest!)`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportArgs {
    input: ImportRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportRequest {
    job_id: String,
    import_settings: ImportSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportSettings {
    data_source: String,
    /// Raito's default, like the CLI's `delete-untouched`, is true.
    delete_untouched: Option<bool>,
    file_key: String,
}

/// `importIdentityRequest(input: IdentityStoreImportRequest!)`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityImportArgs {
    input: IdentityImportRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityImportRequest {
    job_id: String,
    import_settings: IdentityImportSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityImportSettings {
    identity_store: String,
    /// Raito's default, like the CLI's `delete-untouched`, is true.
    delete_untouched: Option<bool>,
    /// Raito's default, like the CLI's `replace-groups`, is true.
    replace_groups: Option<bool>,
    users_file_key: String,
    groups_file_key: String,
}

/// `jobSubtask(jobId, jobType, subtaskId)`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PollArgs {
    job_id: String,
    job_type: String,
    subtask_id: String,
}

pub(crate) fn request_import(shared: &Arc<Shared>, args: ImportArgs) -> Result<Value, String> {
    let ImportRequest {
        job_id,
        import_settings: settings,
    } = args.input;
    if !shared.config.data_sources.contains(&settings.data_source) {
        return Err(format!("data source {:?} not found", settings.data_source));
    }
    let mut state = shared.lock();
    if state.job(&job_id).is_none() {
        return Err(format!("job {job_id:?} not found"));
    }
    // The metadata counts as it was when the import was asked for.
    let types = state
        .record
        .metadata
        .get(&settings.data_source)
        .map(import::declared_types);
    let subtask = Subtask {
        id: shared.secret.new_id(),
        job_id,
        job_type: "DS".to_owned(),
        data_source: settings.data_source,
        file_key: settings.file_key,
        groups_file_key: String::new(),
        delete_untouched: settings.delete_untouched.unwrap_or(true),
        replace_groups: false,
        status: "QUEUED".to_owned(),
        last_update: now_rfc3339(),
        errors: Vec::new(),
        result: None,
        identity_result: None,
        polls: 0,
    };
    let answer = subtask_json(&subtask);
    let id = subtask.id.clone();
    state.record.subtasks.push(subtask);
    drop(state);
    tokio::spawn(process(Arc::clone(shared), id, types));
    Ok(json!({ "subtask": answer }))
}

pub(crate) fn request_identity_import(
    shared: &Arc<Shared>,
    args: IdentityImportArgs,
) -> Result<Value, String> {
    let IdentityImportRequest {
        job_id,
        import_settings: settings,
    } = args.input;
    if !shared
        .config
        .identity_stores
        .contains(&settings.identity_store)
    {
        return Err(format!(
            "identity store {:?} not found",
            settings.identity_store
        ));
    }
    let mut state = shared.lock();
    if state.job(&job_id).is_none() {
        return Err(format!("job {job_id:?} not found"));
    }
    // Like a data source import, an identity import needs its metadata first.
    let has_metadata = state
        .record
        .identity_store_metadata
        .contains_key(&settings.identity_store);
    let subtask = Subtask {
        id: shared.secret.new_id(),
        job_id,
        job_type: "IS".to_owned(),
        data_source: settings.identity_store,
        file_key: settings.users_file_key,
        groups_file_key: settings.groups_file_key,
        delete_untouched: settings.delete_untouched.unwrap_or(true),
        replace_groups: settings.replace_groups.unwrap_or(true),
        status: "QUEUED".to_owned(),
        last_update: now_rfc3339(),
        errors: Vec::new(),
        result: None,
        identity_result: None,
        polls: 0,
    };
    let answer = subtask_json(&subtask);
    let id = subtask.id.clone();
    state.record.subtasks.push(subtask);
    drop(state);
    tokio::spawn(process_identities(Arc::clone(shared), id, has_metadata));
    Ok(json!({ "subtask": answer }))
}

pub(crate) fn poll(shared: &Shared, args: PollArgs) -> Result<Value, String> {
    let mut state = shared.lock();
    state.record.subtask_polls += 1;
    let subtask = state
        .subtask_mut(&args.subtask_id)
        .filter(|s| s.job_id == args.job_id && s.job_type == args.job_type)
        .ok_or_else(|| {
            format!(
                "subtask {:?} of job {:?} ({}) not found",
                args.subtask_id, args.job_id, args.job_type
            )
        })?;
    subtask.polls += 1;
    Ok(subtask_json(subtask))
}

/// The `Subtask` object as the schema has it.
pub(crate) fn subtask_json(subtask: &Subtask) -> Value {
    let errors = (!subtask.errors.is_empty()).then_some(&subtask.errors);
    let result = match (subtask.result, subtask.identity_result) {
        (Some(r), _) => Some(json!({
            "__typename": "DataSourceImportResult",
            "dataObjectsAdded": r.added,
            "dataObjectsUpdated": r.updated,
            "dataObjectsRemoved": r.removed,
            "warnings": [],
        })),
        (None, Some(r)) => Some(json!({
            "__typename": "IdentityStoreImportResult",
            "usersAdded": r.users.added,
            "usersUpdated": r.users.updated,
            "usersRemoved": r.users.removed,
            "groupsAdded": r.groups.added,
            "groupsUpdated": r.groups.updated,
            "groupsRemoved": r.groups.removed,
            "warnings": [],
        })),
        (None, None) => None,
    };
    json!({
        "jobId": subtask.job_id,
        "jobType": subtask.job_type,
        "subtaskId": subtask.id,
        "status": subtask.status,
        "lastUpdate": subtask.last_update,
        "errors": errors,
        "result": result,
    })
}

/// Processes one import in the background; the checking itself runs on a blocking thread, as a
/// data source file can be large.
async fn process(shared: Arc<Shared>, id: String, types: Option<BTreeMap<String, Vec<String>>>) {
    let delay = shared.config.processing_delay;
    tokio::time::sleep(delay / 2).await;
    let (data_source, delete_untouched, body, stored) = {
        let mut state = shared.lock();
        let Some(subtask) = state.subtask_mut(&id) else {
            return;
        };
        subtask.status = "DATA_PROCESSING".to_owned();
        subtask.last_update = now_rfc3339();
        let (data_source, file_key, delete_untouched) = (
            subtask.data_source.clone(),
            subtask.file_key.clone(),
            subtask.delete_untouched,
        );
        if is_stuck(&state.faults, &data_source) {
            return;
        }
        let body = state
            .record
            .uploads
            .iter()
            .find(|u| u.key == file_key)
            .and_then(|u| u.body.clone())
            .ok_or(file_key);
        let stored = state.record.data_objects(&data_source).to_vec();
        (data_source, delete_untouched, body, stored)
    };
    tokio::time::sleep(delay - delay / 2).await;

    let checked = {
        let data_source = data_source.clone();
        tokio::task::spawn_blocking(move || {
            let Some(types) = types else {
                return Err(vec![format!(
                    "no metadata: setDataSourceMetaData was not called for data source {data_source:?} before the import"
                )]);
            };
            let body = body.map_err(|key| vec![format!("file key {key:?} was never uploaded")])?;
            import::check_file(
                &body,
                &Rules {
                    data_source: &data_source,
                    partial: !delete_untouched,
                    types: &types,
                    stored: &stored,
                },
            )
        })
        .await
        .unwrap_or_else(|error| Err(vec![format!("the stand-in failed to check the file: {error}")]))
    };

    let mut state = shared.lock();
    let outcome = checked.map(|objects| {
        let stored = state.record.data_objects.entry(data_source).or_default();
        import::apply(stored, objects, delete_untouched)
    });
    if let Some(subtask) = state.subtask_mut(&id) {
        match outcome {
            Ok(result) => {
                subtask.status = "COMPLETED".to_owned();
                subtask.result = Some(result);
            }
            Err(errors) => {
                subtask.status = "FAILED".to_owned();
                subtask.errors = errors;
            }
        }
        subtask.last_update = now_rfc3339();
    }
}

/// The uploaded body of `key`, or the problem.
fn uploaded(state: &crate::state::State, key: &str) -> Result<bytes::Bytes, Vec<String>> {
    state
        .record
        .uploads
        .iter()
        .find(|u| u.key == key)
        .and_then(|u| u.body.clone())
        .ok_or_else(|| vec![format!("file key {key:?} was never uploaded")])
}

/// Processes one identity import in the background, like [`process`].
async fn process_identities(shared: Arc<Shared>, id: String, has_metadata: bool) {
    let delay = shared.config.processing_delay;
    tokio::time::sleep(delay / 2).await;
    let (identity_store, files, delete_untouched, replace_groups) = {
        let mut state = shared.lock();
        let Some(subtask) = state.subtask_mut(&id) else {
            return;
        };
        subtask.status = "DATA_PROCESSING".to_owned();
        subtask.last_update = now_rfc3339();
        let (identity_store, users_key, groups_key) = (
            subtask.data_source.clone(),
            subtask.file_key.clone(),
            subtask.groups_file_key.clone(),
        );
        let (delete_untouched, replace_groups) = (subtask.delete_untouched, subtask.replace_groups);
        if is_stuck(&state.faults, &identity_store) {
            return;
        }
        let files = uploaded(&state, &users_key)
            .and_then(|users| Ok((users, uploaded(&state, &groups_key)?)));
        (identity_store, files, delete_untouched, replace_groups)
    };
    tokio::time::sleep(delay - delay / 2).await;

    let checked = {
        let identity_store = identity_store.clone();
        tokio::task::spawn_blocking(move || {
            if !has_metadata {
                return Err(vec![format!(
                    "no metadata: setIdentityStoreMetaData was not called for identity store {identity_store:?} before the import"
                )]);
            }
            let (users, groups) = files?;
            identities::check_files(&users, &groups)
        })
        .await
        .unwrap_or_else(|error| Err(vec![format!("the stand-in failed to check the files: {error}")]))
    };

    let mut state = shared.lock();
    let outcome = checked.map(|(users, groups)| {
        let record = &mut state.record;
        identities::apply(
            record.users.entry(identity_store.clone()).or_default(),
            record.groups.entry(identity_store).or_default(),
            users,
            groups,
            delete_untouched,
            replace_groups,
        )
    });
    if let Some(subtask) = state.subtask_mut(&id) {
        match outcome {
            Ok(result) => {
                subtask.status = "COMPLETED".to_owned();
                subtask.identity_result = Some(result);
            }
            Err(errors) => {
                subtask.status = "FAILED".to_owned();
                subtask.errors = errors;
            }
        }
        subtask.last_update = now_rfc3339();
    }
}
