//! Server-side subtasks: `importDataSourceRequest`, `importIdentityRequest`,
//! `importDataUsageRequest`, `exportAccessProvidersRequest`, `importAccessProvidersSyncFeedback`
//! and `importAccessProvidersRequest` create one (QUEUED)
//! and start its processing in the background (DATA_PROCESSING after half the configured
//! delay, then COMPLETED or FAILED), and `jobSubtask` answers polls with its status, errors and
//! result.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{
    self, AccessExport, AccessExportResult, AccessFeedback, AccessProviderSpec, ExportedVersion,
    FeedbackRules, ImportRules, ImportedAccessProvider,
};
use crate::clock::{now_rfc3339, rfc3339_of_epoch_seconds};
use crate::export::{self, ExportBody, ExportFile, ExportFormat};
use crate::faults::{is_held, is_stuck};
use crate::identities;
use crate::import::{self, Rules};
use crate::server::Shared;
use crate::state::{DataObject, Group, State, Statement, Subtask, SubtaskResult, User};
use crate::usage;

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

/// `importDataUsageRequest(input: DataUsageImportRequest!)`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageImportArgs {
    input: UsageImportRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageImportRequest {
    job_id: String,
    import_settings: UsageImportSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageImportSettings {
    data_source: String,
    file_keys: Vec<String>,
}

/// `exportAccessProvidersRequest(input: AccessProviderExportRequest!, filter:
/// AccessProviderExportRequestFilter)`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportArgs {
    input: ExportRequest,
    filter: Option<ExportFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest {
    job_id: String,
    export_settings: ExportSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportSettings {
    data_source: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportFilter {
    status: Option<ExportStatusFilter>,
    export_properties: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportStatusFilter {
    out_of_sync: Option<bool>,
}

/// `importAccessProvidersSyncFeedback(input: AccessProviderSyncFeedbackImportRequest!)`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FeedbackArgs {
    input: FeedbackRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedbackRequest {
    job_id: String,
    import_settings: FeedbackSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedbackSettings {
    data_source: String,
    file_key: String,
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
    let state = shared.lock();
    if state.job(&job_id).is_none() {
        return Err(format!("job {job_id:?} not found"));
    }
    let delete_untouched = settings.delete_untouched.unwrap_or(true);
    let import = DataSourceImport {
        // The metadata counts as it was when the import was asked for.
        types: state
            .record
            .metadata
            .get(&settings.data_source)
            .map(import::declared_types),
        data_source: settings.data_source.clone(),
        file_key: settings.file_key.clone(),
        delete_untouched,
    };
    let subtask = Subtask {
        job_type: "DS".to_owned(),
        data_source: Some(settings.data_source),
        file_key: Some(settings.file_key),
        delete_untouched,
        ..queued(shared, job_id)
    };
    Ok(queue(shared, state, subtask, import))
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
    let state = shared.lock();
    if state.job(&job_id).is_none() {
        return Err(format!("job {job_id:?} not found"));
    }
    let delete_untouched = settings.delete_untouched.unwrap_or(true);
    let replace_groups = settings.replace_groups.unwrap_or(true);
    let import = IdentityImport {
        // Like a data source import, an identity import needs its metadata first.
        has_metadata: state
            .record
            .identity_store_metadata
            .contains_key(&settings.identity_store),
        identity_store: settings.identity_store.clone(),
        users_file_key: settings.users_file_key.clone(),
        groups_file_key: settings.groups_file_key.clone(),
        delete_untouched,
        replace_groups,
    };
    let subtask = Subtask {
        job_type: "IS".to_owned(),
        identity_store: Some(settings.identity_store),
        users_file_key: Some(settings.users_file_key),
        groups_file_key: Some(settings.groups_file_key),
        delete_untouched,
        replace_groups: Some(replace_groups),
        ..queued(shared, job_id)
    };
    Ok(queue(shared, state, subtask, import))
}

pub(crate) fn request_usage_import(
    shared: &Arc<Shared>,
    args: UsageImportArgs,
) -> Result<Value, String> {
    let UsageImportRequest {
        job_id,
        import_settings: settings,
    } = args.input;
    if !shared.config.data_sources.contains(&settings.data_source) {
        return Err(format!("data source {:?} not found", settings.data_source));
    }
    if settings.file_keys.is_empty() {
        return Err(
            "importSettings.fileKeys is empty: a usage import needs at least one file".into(),
        );
    }
    let state = shared.lock();
    if state.job(&job_id).is_none() {
        return Err(format!("job {job_id:?} not found"));
    }
    let import = UsageImport {
        data_source: settings.data_source.clone(),
        file_keys: settings.file_keys.clone(),
    };
    let subtask = Subtask {
        job_type: "DU".to_owned(),
        data_source: Some(settings.data_source),
        file_keys: Some(settings.file_keys),
        ..queued(shared, job_id)
    };
    Ok(queue(shared, state, subtask, import))
}

/// The checks every DA request shares: the data source exists, the job exists and is a job of
/// that data source.
fn access_job(
    shared: &Shared,
    state: &State,
    job_id: &str,
    data_source: &str,
) -> Result<(), String> {
    if !shared
        .config
        .data_sources
        .iter()
        .any(|ds| ds == data_source)
    {
        return Err(format!("data source {data_source:?} not found"));
    }
    let job = state
        .job(job_id)
        .ok_or_else(|| format!("job {job_id:?} not found"))?;
    if job.data_source_id.as_deref() != Some(data_source) {
        return Err(format!(
            "job {job_id:?} is not a job of data source {data_source:?} (created for {:?}): \
             access is synced in a job created with that dataSourceId",
            job.data_source_id
                .as_deref()
                .or(job.identity_store_id.as_deref())
                .unwrap_or_default()
        ));
    }
    Ok(())
}

pub(crate) fn request_access_export(
    shared: &Arc<Shared>,
    args: ExportArgs,
) -> Result<Value, String> {
    let ExportRequest {
        job_id,
        export_settings: settings,
    } = args.input;
    let filter = args.filter;
    if filter
        .as_ref()
        .is_some_and(|f| f.export_properties.is_some())
    {
        return Err(
            "filter.exportProperties is not supported by the stand-in (the Raito CLI never sends it)"
                .into(),
        );
    }
    let out_of_sync_only = filter
        .and_then(|f| f.status)
        .and_then(|s| s.out_of_sync)
        .unwrap_or(false);
    let state = shared.lock();
    access_job(shared, &state, &job_id, &settings.data_source)?;
    let format = state.export_format;
    let subtask = Subtask {
        job_type: "DA".to_owned(),
        data_source: Some(settings.data_source.clone()),
        out_of_sync_only: Some(out_of_sync_only),
        delete_untouched: false,
        ..queued(shared, job_id.clone())
    };
    let token = shared.secret.new_token();
    let export = AccessExportJob {
        subtask_id: subtask.id.clone(),
        job_id,
        file_key: format!("access-export/{}.{}", subtask.id, format.extension()),
        file_location: format!("{}export/{token}", shared.base_url),
        data_source: settings.data_source,
        out_of_sync_only,
        format,
        token,
        lifetime: shared.config.export_url_lifetime,
    };
    Ok(queue(shared, state, subtask, export))
}

pub(crate) fn request_access_feedback(
    shared: &Arc<Shared>,
    args: FeedbackArgs,
) -> Result<Value, String> {
    let FeedbackRequest {
        job_id,
        import_settings: settings,
    } = args.input;
    let state = shared.lock();
    access_job(shared, &state, &job_id, &settings.data_source)?;
    let import = AccessFeedbackImport {
        data_source: settings.data_source.clone(),
        job_id: job_id.clone(),
        file_key: settings.file_key.clone(),
    };
    let subtask = Subtask {
        job_type: "DA".to_owned(),
        data_source: Some(settings.data_source),
        file_key: Some(settings.file_key),
        delete_untouched: false,
        ..queued(shared, job_id)
    };
    Ok(queue(shared, state, subtask, import))
}

pub(crate) fn request_access_import(
    shared: &Arc<Shared>,
    args: ImportArgs,
) -> Result<Value, String> {
    let ImportRequest {
        job_id,
        import_settings: settings,
    } = args.input;
    let state = shared.lock();
    access_job(shared, &state, &job_id, &settings.data_source)?;
    let delete_untouched = settings.delete_untouched.unwrap_or(true);
    let import = AccessImport {
        data_source: settings.data_source.clone(),
        file_key: settings.file_key.clone(),
        delete_untouched,
    };
    let subtask = Subtask {
        job_type: "DA".to_owned(),
        data_source: Some(settings.data_source),
        file_key: Some(settings.file_key),
        delete_untouched,
        ..queued(shared, job_id)
    };
    Ok(queue(shared, state, subtask, import))
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
    let result = subtask.result.as_ref().map(|result| match result {
        SubtaskResult::DataSource(r) => json!({
            "__typename": "DataSourceImportResult",
            "dataObjectsAdded": r.added,
            "dataObjectsUpdated": r.updated,
            "dataObjectsRemoved": r.removed,
            "warnings": [],
        }),
        SubtaskResult::IdentityStore(r) => json!({
            "__typename": "IdentityStoreImportResult",
            "usersAdded": r.users.added,
            "usersUpdated": r.users.updated,
            "usersRemoved": r.users.removed,
            "groupsAdded": r.groups.added,
            "groupsUpdated": r.groups.updated,
            "groupsRemoved": r.groups.removed,
            "warnings": [],
        }),
        SubtaskResult::DataUsage(r) => json!({
            "__typename": "DataUsageImportResult",
            "edgesCreatedOrUpdated": r.edges_created_or_updated,
            "edgesRemoved": 0,
            "statementsAdded": r.statements_added,
            "statementsFailed": r.statements_failed,
            "statementsSkipped": r.statements_skipped,
            "warnings": r.warnings,
        }),
        SubtaskResult::AccessExport(r) => json!({
            "__typename": "AccessProviderExportResult",
            "fileKey": r.file_key,
            "fileLocation": r.file_location,
            "warnings": r.warnings,
        }),
        SubtaskResult::AccessFeedback(r) => json!({
            "__typename": "AccessProviderSyncFeedbackResult",
            "accessNamesAdded": r.access_names_added,
            "warnings": r.warnings,
        }),
        SubtaskResult::AccessImport(r) => json!({
            "__typename": "AccessProviderImportResult",
            "accessAdded": r.added,
            "accessRemoved": r.removed,
            "accessUpdated": r.updated,
            "warnings": r.warnings,
        }),
    });
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

/// A new QUEUED subtask of `job_id`, with nothing of its kind filled in yet.
fn queued(shared: &Shared, job_id: String) -> Subtask {
    Subtask {
        id: shared.secret.new_id(),
        job_id,
        job_type: String::new(),
        data_source: None,
        identity_store: None,
        file_key: None,
        users_file_key: None,
        groups_file_key: None,
        file_keys: None,
        out_of_sync_only: None,
        delete_untouched: true,
        replace_groups: None,
        status: "QUEUED".to_owned(),
        last_update: now_rfc3339(),
        errors: Vec::new(),
        result: None,
        polls: 0,
    }
}

/// Records the subtask, starts processing it in the background and answers the request.
fn queue<I: Import>(
    shared: &Arc<Shared>,
    mut state: MutexGuard<'_, State>,
    subtask: Subtask,
    import: I,
) -> Value {
    let answer = subtask_json(&subtask);
    let id = subtask.id.clone();
    state.record.subtasks.push(subtask);
    drop(state);
    // The delay counts from now, not from when the task first runs.
    let queued_at = shared.clock.now();
    tokio::spawn(process(Arc::clone(shared), id, import, queued_at));
    json!({ "subtask": answer })
}

/// One kind of import, through the stages of [`process`]. It carries the request's settings and
/// what was known when it was asked for (the metadata).
trait Import: Send + Sync + 'static {
    /// What the check needs, taken under the lock (uploaded files, stored items).
    type Input: Send + 'static;
    /// What a passing check hands to [`Import::apply`].
    type Checked: Send + 'static;

    /// The data source or identity store imported into (for the stuck fault).
    fn target(&self) -> &str;

    /// Takes what the check needs, under the lock.
    fn gather(&self, state: &State) -> Self::Input;

    /// Checks the files, on a blocking thread.
    fn check(&self, input: Self::Input) -> Result<Self::Checked, Vec<String>>;

    /// Stores what passed, under the lock, and counts the changes.
    fn apply(&self, checked: Self::Checked, state: &mut State) -> SubtaskResult;
}

/// Processes one import in the background: DATA_PROCESSING half the configured delay after it
/// was queued (and there it stays when a stuck fault names its target, or until a held fault
/// naming it is cleared), then, once the whole delay is over, the check on a blocking thread
/// (files can be large), then COMPLETED with the counts or FAILED with every problem. The
/// delay is on the stand-in's clock ([`crate::StandIn::advance_clock`]).
async fn process<I: Import>(shared: Arc<Shared>, id: String, import: I, queued_at: Instant) {
    let delay = shared.config.processing_delay;
    shared.clock.sleep_until(queued_at + delay / 2).await;
    let input = {
        let mut state = shared.lock();
        let Some(subtask) = state.subtask_mut(&id) else {
            return;
        };
        subtask.status = "DATA_PROCESSING".to_owned();
        subtask.last_update = now_rfc3339();
        if is_stuck(&state.faults, import.target()) {
            return;
        }
        import.gather(&state)
    };
    while is_held(&shared.lock().faults, import.target()) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    shared.clock.sleep_until(queued_at + delay).await;

    let import = Arc::new(import);
    let checked = {
        let import = Arc::clone(&import);
        tokio::task::spawn_blocking(move || import.check(input))
            .await
            .unwrap_or_else(|error| {
                Err(vec![format!(
                    "the stand-in failed to check the files: {error}"
                )])
            })
    };

    let mut state = shared.lock();
    let outcome = checked.map(|checked| import.apply(checked, &mut state));
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
fn uploaded(state: &State, key: &str) -> Result<Bytes, Vec<String>> {
    state
        .record
        .uploads
        .iter()
        .find(|u| u.key == key)
        .and_then(|u| u.body.clone())
        .ok_or_else(|| vec![format!("file key {key:?} was never uploaded")])
}

/// `importDataSourceRequest`: one data object file.
struct DataSourceImport {
    data_source: String,
    file_key: String,
    delete_untouched: bool,
    /// The declared types (name → allowed children), `None` without metadata.
    types: Option<BTreeMap<String, Vec<String>>>,
}

impl Import for DataSourceImport {
    /// The file, and what is stored now (for parents in a partial import).
    type Input = (Result<Bytes, Vec<String>>, Vec<DataObject>);
    type Checked = Vec<DataObject>;

    fn target(&self) -> &str {
        &self.data_source
    }

    fn gather(&self, state: &State) -> Self::Input {
        (
            uploaded(state, &self.file_key),
            state.record.data_objects(&self.data_source).to_vec(),
        )
    }

    fn check(&self, (body, stored): Self::Input) -> Result<Vec<DataObject>, Vec<String>> {
        let Some(types) = &self.types else {
            return Err(vec![format!(
                "no metadata: setDataSourceMetaData was not called for data source {:?} before the import",
                self.data_source
            )]);
        };
        import::check_file(
            &body?,
            &Rules {
                data_source: &self.data_source,
                partial: !self.delete_untouched,
                types,
                stored: &stored,
            },
        )
    }

    fn apply(&self, objects: Vec<DataObject>, state: &mut State) -> SubtaskResult {
        let stored = state
            .record
            .data_objects
            .entry(self.data_source.clone())
            .or_default();
        SubtaskResult::DataSource(import::apply(stored, objects, self.delete_untouched))
    }
}

/// `importIdentityRequest`: a users file and a groups file.
struct IdentityImport {
    identity_store: String,
    users_file_key: String,
    groups_file_key: String,
    delete_untouched: bool,
    replace_groups: bool,
    /// Whether `setIdentityStoreMetaData` came first.
    has_metadata: bool,
}

impl Import for IdentityImport {
    /// The users and the groups file.
    type Input = Result<(Bytes, Bytes), Vec<String>>;
    type Checked = (Vec<User>, Vec<Group>);

    fn target(&self) -> &str {
        &self.identity_store
    }

    fn gather(&self, state: &State) -> Self::Input {
        let users = uploaded(state, &self.users_file_key);
        let groups = uploaded(state, &self.groups_file_key);
        match (users, groups) {
            (Ok(users), Ok(groups)) => Ok((users, groups)),
            (users, groups) => Err(users
                .err()
                .into_iter()
                .chain(groups.err())
                .flatten()
                .collect()),
        }
    }

    fn check(&self, files: Self::Input) -> Result<Self::Checked, Vec<String>> {
        if !self.has_metadata {
            return Err(vec![format!(
                "no metadata: setIdentityStoreMetaData was not called for identity store {:?} before the import",
                self.identity_store
            )]);
        }
        let (users, groups) = files?;
        identities::check_files(&users, &groups)
    }

    fn apply(&self, (users, groups): Self::Checked, state: &mut State) -> SubtaskResult {
        let store = &self.identity_store;
        let record = &mut state.record;
        SubtaskResult::IdentityStore(identities::apply(
            record.users.entry(store.clone()).or_default(),
            record.groups.entry(store.clone()).or_default(),
            users,
            groups,
            self.delete_untouched,
            self.replace_groups,
        ))
    }
}

/// `importDataUsageRequest`: the usage parts, in order.
struct UsageImport {
    data_source: String,
    file_keys: Vec<String>,
}

impl Import for UsageImport {
    /// The parts, and the stored data objects' full names.
    type Input = (Result<Vec<Bytes>, Vec<String>>, HashSet<String>);
    /// The statements and the warnings.
    type Checked = (Vec<Statement>, Vec<String>);

    fn target(&self) -> &str {
        &self.data_source
    }

    fn gather(&self, state: &State) -> Self::Input {
        let mut parts = Vec::with_capacity(self.file_keys.len());
        let mut problems = Vec::new();
        for key in &self.file_keys {
            match uploaded(state, key) {
                Ok(body) => parts.push(body),
                Err(mut missing) => problems.append(&mut missing),
            }
        }
        let known = state
            .record
            .data_objects(&self.data_source)
            .iter()
            .map(|o| o.full_name.clone())
            .collect();
        (
            if problems.is_empty() {
                Ok(parts)
            } else {
                Err(problems)
            },
            known,
        )
    }

    fn check(&self, (parts, known): Self::Input) -> Result<Self::Checked, Vec<String>> {
        usage::check_parts(&parts?, &known)
    }

    fn apply(&self, (statements, warnings): Self::Checked, state: &mut State) -> SubtaskResult {
        let stored = state
            .record
            .statements
            .entry(self.data_source.clone())
            .or_default();
        let start = stored.len();
        let result = usage::apply(stored, statements, warnings);
        let times = stored[start..].iter().map(|s| s.start_time);
        if let (Some(first), Some(last)) = (times.clone().min(), times.max()) {
            let dates = state.usage.entry(self.data_source.clone()).or_default();
            let epoch = |s: &Option<String>| s.as_deref().and_then(crate::clock::epoch_seconds);
            let first = epoch(&dates.first_used).map_or(first, |f| f.min(first));
            let last = epoch(&dates.last_used).map_or(last, |l| l.max(last));
            dates.first_used = Some(rfc3339_of_epoch_seconds(first));
            dates.last_used = Some(rfc3339_of_epoch_seconds(last));
        }
        SubtaskResult::DataUsage(result)
    }
}

/// `exportAccessProvidersRequest`: builds the document and makes it downloadable.
struct AccessExportJob {
    subtask_id: String,
    job_id: String,
    data_source: String,
    out_of_sync_only: bool,
    format: ExportFormat,
    file_key: String,
    /// The download URL, `{base}export/<token>`.
    file_location: String,
    token: String,
    lifetime: Duration,
}

impl Import for AccessExportJob {
    type Input = export::ExportInput;
    type Checked = (Vec<AccessProviderSpec>, Vec<ExportedVersion>);

    fn target(&self) -> &str {
        &self.data_source
    }

    fn gather(&self, state: &State) -> Self::Input {
        export::gather(state, &self.data_source, self.out_of_sync_only)
    }

    fn check(&self, input: Self::Input) -> Result<Self::Checked, Vec<String>> {
        export::build(input)
    }

    fn apply(&self, (documents, versions): Self::Checked, state: &mut State) -> SubtaskResult {
        let now = export::epoch_millis();
        // Expired files can never be downloaded again.
        let instant = Instant::now();
        state.export_files.retain(|_, file| file.expires > instant);
        state.export_files.insert(
            self.token.clone(),
            ExportFile {
                expires: Instant::now() + self.lifetime,
                format: self.format,
                body: Arc::new(ExportBody {
                    last_calculated: now,
                    file_build_time: now,
                    access_providers: documents,
                }),
            },
        );
        state.record.access_exports.push(AccessExport {
            subtask_id: self.subtask_id.clone(),
            job_id: self.job_id.clone(),
            data_source: self.data_source.clone(),
            out_of_sync_only: self.out_of_sync_only,
            file_key: self.file_key.clone(),
            access_providers: versions,
        });
        SubtaskResult::AccessExport(AccessExportResult {
            file_key: self.file_key.clone(),
            file_location: self.file_location.clone(),
            warnings: Vec::new(),
        })
    }
}

/// `importAccessProvidersSyncFeedback`: the feedback of an export of the same job.
struct AccessFeedbackImport {
    data_source: String,
    job_id: String,
    file_key: String,
}

impl Import for AccessFeedbackImport {
    type Input = (Result<Bytes, Vec<String>>, FeedbackRules);
    type Checked = (
        Vec<AccessFeedback>,
        Vec<String>,
        HashMap<String, ExportedVersion>,
    );

    fn target(&self) -> &str {
        &self.data_source
    }

    fn gather(&self, state: &State) -> Self::Input {
        (
            uploaded(state, &self.file_key),
            FeedbackRules::gather(state, &self.data_source, &self.job_id),
        )
    }

    fn check(&self, (body, rules): Self::Input) -> Result<Self::Checked, Vec<String>> {
        let (feedback, warnings) = access::check_feedback(&body?, &rules)?;
        Ok((feedback, warnings, rules.exported))
    }

    fn apply(
        &self,
        (feedback, warnings, exported): Self::Checked,
        state: &mut State,
    ) -> SubtaskResult {
        let stored = state
            .record
            .access_providers
            .entry(self.data_source.clone())
            .or_default();
        SubtaskResult::AccessFeedback(access::apply_feedback(
            stored, feedback, &exported, warnings,
        ))
    }
}

/// `importAccessProvidersRequest`: the access found in the target.
struct AccessImport {
    data_source: String,
    file_key: String,
    delete_untouched: bool,
}

impl Import for AccessImport {
    type Input = (Result<Bytes, Vec<String>>, ImportRules);
    type Checked = (Vec<ImportedAccessProvider>, Vec<String>);

    fn target(&self) -> &str {
        &self.data_source
    }

    fn gather(&self, state: &State) -> Self::Input {
        (
            uploaded(state, &self.file_key),
            ImportRules::gather(state, &self.data_source, self.delete_untouched),
        )
    }

    fn check(&self, (body, rules): Self::Input) -> Result<Self::Checked, Vec<String>> {
        access::check_import(&body?, &rules)
    }

    fn apply(&self, (imported, warnings): Self::Checked, state: &mut State) -> SubtaskResult {
        let stored = state
            .record
            .imported_access_providers
            .entry(self.data_source.clone())
            .or_default();
        SubtaskResult::AccessImport(access::apply_import(
            stored,
            imported,
            self.delete_untouched,
            warnings,
        ))
    }
}
