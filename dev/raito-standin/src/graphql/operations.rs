//! The root fields the stand-in serves (jobs, task and subtask events, data source and identity
//! store metadata and imports, usage imports, the access export and the two access imports,
//! subtask polls, end of sync, data source usage dates), each taking its coerced
//! arguments as a typed struct and answering plain JSON. Any other field is a GraphQL error.

use std::sync::Arc;

use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::shape::{arguments, shape};
use crate::clock::{is_rfc3339, now_rfc3339};
use crate::import;
use crate::server::Shared;
use crate::state::{Job, JobUpdate, SubtaskEvent, TaskEvent, TaskResult};
use crate::subtask;

/// The job types Raito knows (`jobType` is a plain string on the wire).
const JOB_TYPES: [&str; 6] = ["DS", "IS", "DA", "DU", "RP", "TAG"];

/// The root object of an operation (`Query` or `Mutation`).
pub(super) struct Root<'s> {
    pub(super) shared: &'s Arc<Shared>,
    pub(super) mutation: bool,
    /// The domain of the organization the request's token belongs to.
    pub(super) organization: String,
}

impl ObjectValue for Root<'_> {
    fn type_name(&self) -> &str {
        if self.mutation { "Mutation" } else { "Query" }
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let shared = self.shared;
        let answer = match info.field_name() {
            "createJob" => create_job(shared, &self.organization, arguments(info)?),
            "addLogFileToTask" => {
                add_log_file_to_task(shared, &self.organization, arguments(info)?)
            }
            "updateJob" => update_job(shared, arguments(info)?),
            "addTaskEvent" => add_task_event(shared, arguments(info)?),
            "addSubtaskEvent" => add_subtask_event(shared, arguments(info)?),
            "setDataSourceMetaData" => set_data_source_metadata(shared, arguments(info)?),
            "importDataSourceRequest" => subtask::request_import(shared, arguments(info)?),
            "setIdentityStoreMetaData" => set_identity_store_metadata(shared, arguments(info)?),
            "importIdentityRequest" => subtask::request_identity_import(shared, arguments(info)?),
            "importDataUsageRequest" => subtask::request_usage_import(shared, arguments(info)?),
            "exportAccessProvidersRequest" => {
                subtask::request_access_export(shared, arguments(info)?)
            }
            "importAccessProvidersSyncFeedback" => {
                subtask::request_access_feedback(shared, arguments(info)?)
            }
            "importAccessProvidersRequest" => {
                subtask::request_access_import(shared, arguments(info)?)
            }
            "jobSubtask" => subtask::poll(shared, arguments(info)?),
            "endOfTargetsSync" => end_of_targets_sync(shared, &self.organization, arguments(info)?),
            "dataSource" => Ok(data_source(shared, arguments::<IdArgs>(info)?.id)),
            "cliTriggerUrl" => Ok(crate::trigger::url(shared)),
            other => Err(format!("the Raito stand-in does not serve `{other}`")),
        };
        let value = answer.map_err(|message| FieldError { message })?;
        Ok(shape(info.schema(), &info.field_definition().ty, value))
    }
}

#[derive(Deserialize)]
struct IdArgs {
    id: String,
}

#[derive(Deserialize)]
struct InputArgs<T> {
    input: T,
}

#[derive(Deserialize)]
struct IdInputArgs<T> {
    id: String,
    input: T,
}

/// `JobInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobInput {
    data_source_id: Option<String>,
    identity_store_id: Option<String>,
    event_time: Option<Value>,
    status: Option<String>,
    errors: Option<Vec<Option<String>>>,
}

/// `TaskEventInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskEventInput {
    job_id: String,
    job_type: String,
    data_source_id: Option<String>,
    identity_store_id: Option<String>,
    status: String,
    event_time: Option<Value>,
    errors: Option<Vec<Option<String>>>,
    warnings: Option<Vec<Option<String>>>,
    result: Option<Vec<Option<TaskResultInput>>>,
}

/// `TaskResultInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskResultInput {
    object_type: Option<String>,
    added: Option<i64>,
    updated: Option<i64>,
    removed: Option<i64>,
    failed: Option<i64>,
}

/// `SubtaskInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubtaskInput {
    job_id: String,
    job_type: String,
    subtask_id: String,
    status: String,
    event_time: Option<Value>,
    received_date: Option<Value>,
}

/// `EndOfTargetsSyncInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndOfTargetsSyncInput {
    job_ids: Vec<String>,
}

fn create_job(
    shared: &Shared,
    organization: &str,
    args: InputArgs<JobInput>,
) -> Result<Value, String> {
    let input = args.input;
    let event_time = time("input.eventTime", input.event_time)?;
    match (&input.data_source_id, &input.identity_store_id) {
        (None, None) => return Err("a job needs a dataSourceId or an identityStoreId".into()),
        (Some(ds), _) if !shared.config.data_sources.contains(ds) => {
            return Err(format!("data source {ds:?} not found"));
        }
        (_, Some(is)) if !shared.config.identity_stores.contains(is) => {
            return Err(format!("identity store {is:?} not found"));
        }
        _ => {}
    }
    let id = shared.secret.new_id();
    shared.lock().record.jobs.push(Job {
        id: id.clone(),
        organization: organization.to_owned(),
        data_source_id: input.data_source_id,
        identity_store_id: input.identity_store_id,
        history: vec![JobUpdate {
            status: input.status.unwrap_or_else(|| "STARTED".to_owned()),
            event_time,
            errors: strings(input.errors).unwrap_or_default(),
        }],
    });
    Ok(json!({ "jobId": id }))
}

fn update_job(shared: &Shared, args: IdInputArgs<JobInput>) -> Result<Value, String> {
    let input = args.input;
    let event_time = time("input.eventTime", input.event_time)?;
    let mut state = shared.lock();
    let job = state
        .record
        .jobs
        .iter_mut()
        .find(|job| job.id == args.id)
        .ok_or_else(|| format!("job {:?} not found", args.id))?;
    let status = input.status.unwrap_or_else(|| job.status().to_owned());
    job.history.push(JobUpdate {
        status,
        event_time,
        errors: strings(input.errors).unwrap_or_default(),
    });
    Ok(json!({ "jobId": args.id }))
}

fn add_task_event(shared: &Shared, args: InputArgs<TaskEventInput>) -> Result<Value, String> {
    let input = args.input;
    let event_time = time("input.eventTime", input.event_time)?;
    job_type(&input.job_type)?;
    let mut state = shared.lock();
    if state.job(&input.job_id).is_none() {
        return Err(format!("job {:?} not found", input.job_id));
    }
    let result = input.result.map(|results| {
        results
            .into_iter()
            .flatten()
            .map(|r| TaskResult {
                object_type: r.object_type.unwrap_or_default(),
                added: r.added.unwrap_or_default(),
                updated: r.updated.unwrap_or_default(),
                removed: r.removed.unwrap_or_default(),
                failed: r.failed.unwrap_or_default(),
            })
            .collect()
    });
    let answer = json!({ "jobId": input.job_id, "jobType": input.job_type });
    state.record.task_events.push(TaskEvent {
        job_id: input.job_id,
        job_type: input.job_type,
        status: input.status,
        data_source_id: input.data_source_id,
        identity_store_id: input.identity_store_id,
        event_time,
        errors: strings(input.errors),
        warnings: strings(input.warnings),
        result,
    });
    Ok(answer)
}

fn add_subtask_event(shared: &Shared, args: InputArgs<SubtaskInput>) -> Result<Value, String> {
    let input = args.input;
    time("input.eventTime", input.event_time)?;
    job_type(&input.job_type)?;
    let received_date = match input.received_date {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .ok_or_else(|| format!("input.receivedDate: {value} is not a 64-bit integer"))?,
        ),
    };
    let mut state = shared.lock();
    if state.job(&input.job_id).is_none() {
        return Err(format!("job {:?} not found", input.job_id));
    }
    let answer = json!({
        "jobId": input.job_id,
        "jobType": input.job_type,
        "subtaskId": input.subtask_id,
        "status": input.status,
        "lastUpdate": now_rfc3339(),
    });
    state.record.subtask_events.push(SubtaskEvent {
        job_id: input.job_id,
        job_type: input.job_type,
        subtask_id: input.subtask_id,
        status: input.status,
        received_date,
    });
    Ok(answer)
}

/// Answers with the data source, or with an error member of `DataSourceResult` (the API's way of
/// reporting a bad id or input; a client must select `... on BaseError { message }` to see it).
fn set_data_source_metadata(shared: &Shared, args: IdInputArgs<Value>) -> Result<Value, String> {
    if !shared.config.data_sources.contains(&args.id) {
        return Ok(not_found(&args.id));
    }
    let problems = import::metadata_problems(&args.input);
    if !problems.is_empty() {
        return Ok(json!({
            "__typename": "InvalidInputError",
            "message": format!("invalid data source metadata: {}", problems.join("; ")),
        }));
    }
    shared
        .lock()
        .record
        .metadata
        .insert(args.id.clone(), args.input);
    Ok(data_source(shared, args.id))
}

/// Answers with the identity store, or `NotFoundError` for an unknown id. `type` must be set.
fn set_identity_store_metadata(
    shared: &Shared,
    args: IdentityStoreMetadataArgs,
) -> Result<Value, String> {
    if !shared.config.identity_stores.contains(&args.id) {
        return Ok(json!({
            "__typename": "NotFoundError",
            "message": format!("identity store {:?} not found", args.id),
        }));
    }
    if args.input.r#type.as_deref().unwrap_or_default().is_empty() {
        return Err("input.type: the identity store type must not be empty".into());
    }
    let input = serde_json::to_value(&args.input).map_err(|e| e.to_string())?;
    shared
        .lock()
        .record
        .identity_store_metadata
        .insert(args.id.clone(), input);
    Ok(json!({
        "__typename": "IdentityStore",
        "id": args.id,
        "name": args.id,
        "native": false,
    }))
}

/// `setIdentityStoreMetaData(id, input: IdentityStoreMetaDataInput!)`.
#[derive(Deserialize)]
struct IdentityStoreMetadataArgs {
    id: String,
    input: IdentityStoreMetaDataInput,
}

/// `IdentityStoreMetaDataInput`.
#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityStoreMetaDataInput {
    r#type: Option<String>,
    icon: Option<String>,
    can_be_linked: Option<bool>,
    can_be_master: Option<bool>,
}

fn end_of_targets_sync(
    shared: &Shared,
    organization: &str,
    args: InputArgs<EndOfTargetsSyncInput>,
) -> Result<Value, String> {
    let job_ids = args.input.job_ids;
    let mut state = shared.lock();
    // A job of another organization is not this one's to finish.
    let success = job_ids.iter().all(|id| {
        state
            .job(id)
            .is_some_and(|job| job.organization == organization)
    });
    state.record.end_of_targets_syncs.push(job_ids);
    Ok(json!({ "__typename": "EndOfTargetsSync", "success": success }))
}

/// `LogFileToTaskInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogFileToTaskInput {
    job_id: String,
    job_type: String,
    file_key: String,
}

/// `addLogFileToTask`: attaches a log uploaded through `file/upload/logs/signed-url` for this
/// job type to a job of the caller's organization (raito-io/cli
/// internal/logging/task_logging.go).
fn add_log_file_to_task(
    shared: &Shared,
    organization: &str,
    args: InputArgs<LogFileToTaskInput>,
) -> Result<Value, String> {
    let input = args.input;
    if !JOB_TYPES.contains(&input.job_type.as_str()) {
        return Err(format!(
            "jobType {:?} is not one of {}",
            input.job_type,
            JOB_TYPES.join(", ")
        ));
    }
    let mut state = shared.lock();
    if state
        .job(&input.job_id)
        .is_none_or(|job| job.organization != organization)
    {
        return Err(format!("job {:?} not found", input.job_id));
    }
    let Some(upload) = state.upload_mut(&input.file_key) else {
        return Err(format!("fileKey {:?} was never signed", input.file_key));
    };
    if upload.log_task.as_deref() != Some(input.job_type.as_str()) {
        return Err(format!(
            "fileKey {:?} is not a log uploaded for task {:?} (file/upload/logs/signed-url?task=...)",
            input.file_key, input.job_type
        ));
    }
    let Some(body) = upload.body.clone().filter(|_| upload.received) else {
        return Err(format!("fileKey {:?} was never uploaded", input.file_key));
    };
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| format!("the log {:?} is not UTF-8", input.file_key))?;
    state.record.task_logs.push(crate::state::TaskLog {
        job_id: input.job_id.clone(),
        job_type: input.job_type.clone(),
        file_key: input.file_key,
        text,
    });
    Ok(json!({ "jobId": input.job_id, "jobType": input.job_type }))
}

/// `dataSource(id)`: the data source with its usage dates, or `NotFoundError`.
fn data_source(shared: &Shared, id: String) -> Value {
    if !shared.config.data_sources.contains(&id) {
        return not_found(&id);
    }
    let usage = shared.lock().usage.get(&id).cloned().unwrap_or_default();
    json!({
        "__typename": "DataSource",
        "id": id,
        "name": id,
        "identityStores": [],
        "usageFirstUsed": usage.first_used,
        "usageLastUsed": usage.last_used,
    })
}

fn not_found(id: &str) -> Value {
    json!({ "__typename": "NotFoundError", "message": format!("data source {id:?} not found") })
}

/// A `Time` input: RFC 3339 text or null, as gqlgen's `Time` scalar requires.
fn time(field: &str, value: Option<Value>) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if is_rfc3339(&text) => Ok(Some(text)),
        Some(_) => Err(format!(
            "{field}: time should be RFC3339Nano formatted string"
        )),
    }
}

fn job_type(job_type: &str) -> Result<(), String> {
    if JOB_TYPES.contains(&job_type) {
        Ok(())
    } else {
        Err(format!(
            "unknown jobType {job_type:?} (expected one of {JOB_TYPES:?})"
        ))
    }
}

/// A `[String]` input without its nulls.
fn strings(list: Option<Vec<Option<String>>>) -> Option<Vec<String>> {
    list.map(|items| items.into_iter().flatten().collect())
}
