//! Everything the stand-in remembers: the record that tests and `GET _standin/state` read
//! ([`Snapshot`]: metadata, stored data objects, jobs, task events, subtasks, uploads, request
//! counts) and the private server state next to it (tokens, pending uploads, faults).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::access::{
    AccessExport, AccessExportResult, AccessFeedbackResult, AccessImportResult,
    ImportedAccessProvider, ManagedAccessProvider,
};
use crate::export::{ExportFile, ExportFormat};
use crate::faults::Fault;

/// A copy of what the stand-in has recorded so far, as `StandIn::state` returns it and
/// `GET _standin/state` serves it (JSON, camelCase keys). Statuses are the wire strings
/// (`"COMPLETED"`, `"QUEUED"`…).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The last `setDataSourceMetaData` input per data source id, as received.
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The last `setIdentityStoreMetaData` input per identity store id
    /// (`type`, `icon`, `canBeLinked`, `canBeMaster`).
    pub identity_store_metadata: BTreeMap<String, serde_json::Value>,
    /// The users stored per identity store id, in file order.
    pub users: BTreeMap<String, Vec<User>>,
    /// The groups stored per identity store id, in file order.
    pub groups: BTreeMap<String, Vec<Group>>,
    /// The data objects stored per data source id, in file order (a partial import updates in
    /// place and appends new objects).
    pub data_objects: BTreeMap<String, Vec<DataObject>>,
    /// The usage statements stored per data source id, in import order (a statement already
    /// stored is skipped, not stored twice).
    pub statements: BTreeMap<String, Vec<Statement>>,
    /// The access providers Raito manages per data source id, in seed order, with their sync
    /// state (seeded with `StandIn::put_access_provider`; a delete applied without errors
    /// removes one).
    pub access_providers: BTreeMap<String, Vec<ManagedAccessProvider>>,
    /// The access providers imported from the target per data source id
    /// (`importAccessProvidersRequest`), in file order.
    pub imported_access_providers: BTreeMap<String, Vec<ImportedAccessProvider>>,
    /// Every completed access export, in order.
    pub access_exports: Vec<AccessExport>,
    /// Jobs in creation order.
    pub jobs: Vec<Job>,
    /// Every `addTaskEvent`, in arrival order.
    pub task_events: Vec<TaskEvent>,
    /// Every `addSubtaskEvent`, in arrival order.
    pub subtask_events: Vec<SubtaskEvent>,
    /// Import subtasks the stand-in created, in creation order.
    pub subtasks: Vec<Subtask>,
    /// How many `jobSubtask` polls were answered (all subtasks together).
    pub subtask_polls: u64,
    /// Signed upload URLs handed out, and whether their file arrived.
    pub uploads: Vec<Upload>,
    /// The `jobIds` of every `endOfTargetsSync` call.
    pub end_of_targets_syncs: Vec<Vec<String>>,
    /// Every log attached to a task by `addLogFileToTask`.
    pub task_logs: Vec<TaskLog>,
    /// Requests received per operation: the GraphQL root field (`createJob`…), or `orgLookup`,
    /// `InitiateAuth`, `signedUrl`, `upload`, `exportDownload`. Counted before faults and
    /// authentication.
    pub request_counts: BTreeMap<String, u64>,
    /// Every connection to the trigger channel (the websocket of `cliTriggerUrl`), in the
    /// order opened.
    pub trigger_connections: Vec<TriggerConnection>,
    /// The most trigger channel connections open at the same time.
    pub trigger_peak_connections: usize,
}

/// One connection to the trigger channel.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerConnection {
    /// Its number, from 1.
    pub id: u64,
    /// The `datasources` of each heartbeat received, in order.
    pub heartbeats: Vec<Vec<String>>,
    /// The messages pushed to it, in order (a cut message as it was sent, cut).
    pub pushed: Vec<String>,
    /// What the client sent that the Go CLI never sends (the connection was then closed with
    /// 1008, policy violation).
    pub violations: Vec<String>,
    /// How it ended; `None` while open: `closed by the client (<code>)`, `dropped` (a fault),
    /// `lost` (no closing handshake), `refused` (a violation).
    pub ended: Option<String>,
}

/// A log attached to a task (`addLogFileToTask`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskLog {
    pub job_id: String,
    pub job_type: String,
    pub file_key: String,
    /// The log's text.
    pub text: String,
}

impl Snapshot {
    /// The logs attached to the task `job_type` of `job`, in arrival order.
    pub fn task_logs_of(&self, job: &str, job_type: &str) -> Vec<&TaskLog> {
        self.task_logs
            .iter()
            .filter(|log| log.job_id == job && log.job_type == job_type)
            .collect()
    }

    /// The data objects stored for `data_source` (empty if none).
    pub fn data_objects(&self, data_source: &str) -> &[DataObject] {
        self.data_objects
            .get(data_source)
            .map_or(&[], Vec::as_slice)
    }

    /// The users stored for `identity_store` (empty if none).
    pub fn users(&self, identity_store: &str) -> &[User] {
        self.users.get(identity_store).map_or(&[], Vec::as_slice)
    }

    /// The groups stored for `identity_store` (empty if none).
    pub fn groups(&self, identity_store: &str) -> &[Group] {
        self.groups.get(identity_store).map_or(&[], Vec::as_slice)
    }

    /// The usage statements stored for `data_source` (empty if none).
    pub fn statements(&self, data_source: &str) -> &[Statement] {
        self.statements.get(data_source).map_or(&[], Vec::as_slice)
    }

    /// The managed access providers of `data_source` (empty if none).
    pub fn access_providers(&self, data_source: &str) -> &[ManagedAccessProvider] {
        self.access_providers
            .get(data_source)
            .map_or(&[], Vec::as_slice)
    }

    /// The managed access provider `id` of `data_source`.
    pub fn access_provider(&self, data_source: &str, id: &str) -> Option<&ManagedAccessProvider> {
        self.access_providers(data_source)
            .iter()
            .find(|ap| ap.id() == id)
    }

    /// The access providers imported from the target into `data_source` (empty if none).
    pub fn imported_access_providers(&self, data_source: &str) -> &[ImportedAccessProvider] {
        self.imported_access_providers
            .get(data_source)
            .map_or(&[], Vec::as_slice)
    }

    /// The requests received for `operation` so far.
    pub fn count(&self, operation: &str) -> u64 {
        self.request_counts.get(operation).copied().unwrap_or(0)
    }

    /// The job with this id.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|job| job.id == id)
    }

    /// The subtask with this id.
    pub fn subtask(&self, id: &str) -> Option<&Subtask> {
        self.subtasks.iter().find(|subtask| subtask.id == id)
    }

    /// The task events of one job type (`"DS"`, `"IS"`…), in order.
    pub fn task_events_of(&self, job_type: &str) -> Vec<&TaskEvent> {
        self.task_events
            .iter()
            .filter(|event| event.job_type == job_type)
            .collect()
    }
}

/// One element of a data source file, exactly the fields Raito accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataObject {
    /// The object's id in the source; the data source element carries the data source id.
    pub external_id: String,
    pub name: String,
    /// The dotted path, e.g. `DB.SCHEMA.TABLE`.
    pub full_name: String,
    /// A `dataObjectTypes[].name` of the metadata.
    pub r#type: String,
    pub description: String,
    /// The parent's `externalId`; empty means directly under the data source.
    pub parent_external_id: String,
    /// `null` (Go's nil slice) or a list; the key itself must be present.
    #[serde(deserialize_with = "present_or_null")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
}

/// One element of a usage part, exactly the fields Raito accepts, every one present (the Raito
/// CLI writes them all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Statement {
    /// Stable across runs: the same log line never becomes two statements.
    pub external_id: String,
    pub user: String,
    pub role: String,
    pub success: bool,
    pub status: String,
    pub query: String,
    pub error: String,
    /// Unix epoch seconds.
    pub start_time: i64,
    pub end_time: i64,
    pub bytes: i64,
    pub rows: i64,
    pub credits: f64,
    pub accessed_data_objects: Vec<AccessedDataObject>,
}

/// A data object a statement used, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessedDataObject {
    pub data_object: DataObjectReference,
    pub global_permission: GlobalPermission,
}

/// `{fullName, type}` of a data object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataObjectReference {
    pub full_name: String,
    pub r#type: String,
}

/// The global permission a statement exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GlobalPermission {
    UnknownAction,
    Read,
    Write,
    Admin,
}

/// Reads an `Option` field that must be present but may be `null` (serde would otherwise treat a
/// missing `Option` field as `None`).
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// One element of a users file, exactly the fields Raito accepts (any other key is an error).
/// Only `externalId` is required (and must be non-empty and unique); the Go CLI and this
/// project's writer send every key (`isMachine` only when known). An absent string reads as
/// `""` (a `null` one is an error); an absent list, tags or `isMachine` reads as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub external_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub email: String,
    /// The groups (by `externalId` in the groups file) the user is a direct member of.
    #[serde(default)]
    pub group_external_ids: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_machine: Option<bool>,
}

/// One element of a groups file, exactly the fields Raito accepts, read like a [`User`]: only
/// `externalId` is required (non-empty, unique); absent strings read as `""`, absent lists and
/// tags as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Group {
    pub external_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// The groups (by `externalId`) this group is a direct member of.
    #[serde(default)]
    pub parent_group_external_ids: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

/// A tag on a data object, user or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
    pub source: String,
}

/// A job created with `createJob`, with every status it was given.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    /// The domain of the organization whose API user created it.
    pub organization: String,
    pub data_source_id: Option<String>,
    pub identity_store_id: Option<String>,
    /// `STARTED` (or the status given to `createJob`), then one entry per `updateJob`.
    pub history: Vec<JobUpdate>,
}

impl Job {
    /// The latest status.
    pub fn status(&self) -> &str {
        self.history.last().map_or("", |update| &update.status)
    }
}

/// One status a job was given.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobUpdate {
    pub status: String,
    pub event_time: Option<String>,
    pub errors: Vec<String>,
}

/// One `addTaskEvent`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvent {
    pub job_id: String,
    pub job_type: String,
    pub status: String,
    pub data_source_id: Option<String>,
    pub identity_store_id: Option<String>,
    pub event_time: Option<String>,
    /// `None` when sent as `null`.
    pub errors: Option<Vec<String>>,
    pub warnings: Option<Vec<String>>,
    pub result: Option<Vec<TaskResult>>,
}

/// One entry of a task event's `result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub object_type: String,
    pub added: i64,
    pub updated: i64,
    pub removed: i64,
    pub failed: i64,
}

/// One `addSubtaskEvent`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubtaskEvent {
    pub job_id: String,
    pub job_type: String,
    pub subtask_id: String,
    pub status: String,
    pub received_date: Option<i64>,
}

/// A server-side subtask and how far it got: an import (`importDataSourceRequest`, job type
/// `DS`; `importIdentityRequest`, `IS`; `importDataUsageRequest`, `DU`;
/// `importAccessProvidersSyncFeedback` and `importAccessProvidersRequest`, `DA`) or an access
/// export (`exportAccessProvidersRequest`, `DA`). In JSON, the fields that do not apply to its job type are
/// left out.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subtask {
    pub id: String,
    pub job_id: String,
    /// `DS` or `IS`.
    pub job_type: String,
    /// The data source imported into (DS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// The identity store imported into (IS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_store: Option<String>,
    /// The data object file (DS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_key: Option<String>,
    /// The users file (IS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_file_key: Option<String>,
    /// The groups file (IS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_file_key: Option<String>,
    /// The usage parts, in order (DU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_keys: Option<Vec<String>>,
    /// DA export: whether only out-of-sync access providers were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_sync_only: Option<bool>,
    /// As requested, or Raito's default `true`.
    pub delete_untouched: bool,
    /// IS: whether each user's groups are replaced by the file's (else added to); as requested,
    /// or Raito's default `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace_groups: Option<bool>,
    /// `QUEUED`, `DATA_PROCESSING`, then `COMPLETED` or `FAILED`.
    pub status: String,
    pub last_update: String,
    /// Why it FAILED; each message names the file (IS), element index and field of a problem.
    pub errors: Vec<String>,
    /// Set when it COMPLETED.
    pub result: Option<SubtaskResult>,
    /// How often `jobSubtask` asked for it.
    pub polls: u64,
}

impl Subtask {
    /// The data source (DS) or identity store (IS) it imports into.
    pub fn target(&self) -> &str {
        self.data_source
            .as_deref()
            .or(self.identity_store.as_deref())
            .unwrap_or_default()
    }
}

/// What a completed import changed. JSON: `{"dataSource": {...}}` or `{"identityStore": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SubtaskResult {
    /// A data source import (DS).
    DataSource(ImportResult),
    /// An identity import (IS).
    IdentityStore(IdentityImportResult),
    /// A usage import (DU).
    DataUsage(UsageImportResult),
    /// An access export (DA).
    AccessExport(AccessExportResult),
    /// An access feedback import (DA).
    AccessFeedback(AccessFeedbackResult),
    /// An access import (DA).
    AccessImport(AccessImportResult),
}

/// What a completed usage import did (`DataUsageImportResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageImportResult {
    /// Accessed data objects of the statements added.
    pub edges_created_or_updated: u64,
    pub statements_added: u64,
    /// Statements added that failed on the server.
    pub statements_failed: u64,
    /// Statements already stored (same `externalId`).
    pub statements_skipped: u64,
    /// Accessed data objects that are not data objects of the data source.
    pub warnings: Vec<String>,
}

/// What a completed data source import changed, relative to what was stored before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
}

/// What a completed identity import changed, relative to what was stored before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityImportResult {
    pub users: ImportResult,
    pub groups: ImportResult,
}

/// A signed upload URL and what arrived at it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub key: String,
    /// The `contentLength` declared when the URL was asked for.
    pub content_length: u64,
    /// The declared SHA-256, base64 as sent.
    pub sha256: String,
    /// Whether a matching body was stored.
    pub received: bool,
    /// For a log upload (`file/upload/logs/signed-url`), the `task` it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_task: Option<String>,
    /// The stored bytes (left out of the JSON state).
    #[serde(skip)]
    pub body: Option<Bytes>,
}

/// The usage dates `dataSource(id)` answers with (RFC 3339 text, or null).
#[derive(Debug, Clone, Default)]
pub(crate) struct UsageDates {
    pub(crate) first_used: Option<String>,
    pub(crate) last_used: Option<String>,
}

/// The whole mutable state, behind one mutex in `server::Shared`. The lock is never held across
/// an `.await`, so a std mutex is enough (and cheaper than tokio's).
#[derive(Default)]
pub(crate) struct State {
    pub(crate) record: Snapshot,
    /// Issued id tokens and when they expire.
    /// Id token → its expiry and organization (domain).
    pub(crate) id_tokens: HashMap<String, (Instant, String)>,
    /// Issued refresh tokens: their user and organization (domain).
    pub(crate) refresh_tokens: HashMap<String, (String, String)>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) usage: HashMap<String, UsageDates>,
    /// Access export files by download token.
    pub(crate) export_files: HashMap<String, ExportFile>,
    /// The format new exports are written in.
    pub(crate) export_format: ExportFormat,
    /// The open trigger channel connections, by id: where to send commands.
    pub(crate) trigger_sessions:
        HashMap<u64, tokio::sync::mpsc::UnboundedSender<crate::trigger::Command>>,
}

impl State {
    pub(crate) fn count(&mut self, operation: &str) {
        *self
            .record
            .request_counts
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn job(&self, id: &str) -> Option<&Job> {
        self.record.job(id)
    }

    pub(crate) fn subtask_mut(&mut self, id: &str) -> Option<&mut Subtask> {
        self.record.subtasks.iter_mut().find(|s| s.id == id)
    }

    pub(crate) fn upload_mut(&mut self, key: &str) -> Option<&mut Upload> {
        self.record.uploads.iter_mut().find(|u| u.key == key)
    }
}
