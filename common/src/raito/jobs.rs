//! Jobs, tasks and subtasks: a job per target and run (`createJob`, `updateJob`), a task event
//! per step (`addTaskEvent`), the import request that starts a server-side subtask, polling
//! that subtask until it ends or the caller's deadline comes, and `endOfTargetsSync`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{
    self, AddLogFileToTask, AddTaskEvent, CreateJob, EndOfTargetsSync, UpdateJob,
    add_log_file_to_task, add_task_event, create_job, end_of_targets_sync,
    import_data_source_request, import_identity_request, job_subtask, update_job,
};
use super::status::JobStatus;
use crate::step::Step;

/// How often the Raito CLI polls an import subtask.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Failed polls of one subtask that [`Client::wait_for_subtask`] tolerates: the sixth aborts
/// the wait, as in the Raito CLI. Failures are never reset by a successful poll.
pub const MAX_POLL_FAILURES: u32 = 6;

/// Raito's id of a job (one per target and run).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(pub String);

impl JobId {
    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for JobId {
    fn from(id: String) -> Self {
        JobId(id)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a job syncs: a data source, an identity store, or both, by Raito's ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobTarget {
    /// A data source (`data-source-id`).
    DataSource(String),
    /// An identity store (`identity-store-id`).
    IdentityStore(String),
    /// A data source with its own identity store (a target with both ids): the Raito CLI
    /// sends both ids with the job and with every task event.
    Both {
        /// The `data-source-id`.
        data_source: String,
        /// The `identity-store-id`.
        identity_store: String,
    },
}

impl JobTarget {
    /// The job of a target with these ids; `None` when it has neither.
    pub fn of(data_source: Option<&str>, identity_store: Option<&str>) -> Option<Self> {
        match (data_source, identity_store) {
            (Some(ds), Some(is)) => Some(JobTarget::Both {
                data_source: ds.to_owned(),
                identity_store: is.to_owned(),
            }),
            (Some(ds), None) => Some(JobTarget::DataSource(ds.to_owned())),
            (None, Some(is)) => Some(JobTarget::IdentityStore(is.to_owned())),
            (None, None) => None,
        }
    }

    /// `(dataSourceId, identityStoreId)`.
    pub(super) fn ids(&self) -> (Option<String>, Option<String>) {
        match self {
            JobTarget::DataSource(id) => (Some(id.clone()), None),
            JobTarget::IdentityStore(id) => (None, Some(id.clone())),
            JobTarget::Both {
                data_source,
                identity_store,
            } => (Some(data_source.clone()), Some(identity_store.clone())),
        }
    }
}

/// The `objectType` of each line of a task's result, as the Go CLI writes them
/// (raito-io/cli internal/data_source/sync.go, internal/identity_store/sync.go,
/// internal/access_provider/sync.go, internal/data_usage/sync.go).
pub mod object_type {
    /// The data objects of a data source import.
    pub const DATA_OBJECTS: &str = "data objects";
    /// The users of an identity store import.
    pub const USERS: &str = "users";
    /// The groups of an identity store import.
    pub const GROUPS: &str = "groups";
    /// The access providers of the export, applied to the target.
    pub const EXPORTED_ACCESS_PROVIDERS: &str = "exported access providers";
    /// The access providers imported from the target.
    pub const IMPORTED_ACCESS_PROVIDERS: &str = "imported access providers";
    /// The statements of a usage import.
    pub const STATEMENTS: &str = "statements";
}

/// The counts of one kind of object in a task's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskResult {
    /// What was counted, e.g. `dataObjects`, `users`.
    pub object_type: String,
    /// Objects added.
    pub added: i64,
    /// Objects updated.
    pub updated: i64,
    /// Objects removed.
    pub removed: i64,
    /// Objects that failed.
    pub failed: i64,
}

impl TaskResult {
    /// The counts of a subtask's result, for the `COMPLETED` task event: one line named
    /// `object_type` (e.g. `dataobject`), except for an identity store import, which has two,
    /// `user` and `group`. No result, or one without counts, gives no line.
    pub fn from_subtask_result(object_type: &str, result: &Option<SubtaskResult>) -> Vec<Self> {
        let line = |object_type: &str, added, updated, removed, failed| TaskResult {
            object_type: object_type.to_owned(),
            added,
            updated,
            removed,
            failed,
        };
        match result {
            Some(SubtaskResult::DataSourceImport {
                added,
                removed,
                updated,
                ..
            })
            | Some(SubtaskResult::AccessProviderImport {
                added,
                removed,
                updated,
                ..
            }) => {
                // Go counts the import's warnings as failed (internal/data_source/sync.go and
                // internal/access_provider/sync.go, ProcessResults).
                let warnings = result.as_ref().map_or(0, |r| r.warnings().len() as i64);
                vec![line(object_type, *added, *updated, *removed, warnings)]
            }
            Some(SubtaskResult::IdentityStoreImport {
                users_added,
                users_removed,
                users_updated,
                groups_added,
                groups_removed,
                groups_updated,
                ..
            }) => vec![
                line(
                    object_type::USERS,
                    *users_added,
                    *users_updated,
                    *users_removed,
                    0,
                ),
                line(
                    object_type::GROUPS,
                    *groups_added,
                    *groups_updated,
                    *groups_removed,
                    0,
                ),
            ],
            Some(SubtaskResult::DataUsageImport {
                statements_added,
                statements_failed,
                ..
            }) => vec![line(
                object_type,
                *statements_added,
                0,
                0,
                *statements_failed,
            )],
            Some(SubtaskResult::AccessProviderSyncFeedback {
                access_names_added, ..
            }) => vec![line(object_type, *access_names_added, 0, 0, 0)],
            _ => Vec::new(),
        }
    }
}

/// What an identity import ([`Client::import_identities`]) takes.
#[derive(Debug, Clone, Copy)]
pub struct IdentityImport<'a> {
    /// The uploaded users file.
    pub users_file_key: &'a str,
    /// The uploaded groups file.
    pub groups_file_key: &'a str,
    /// Remove users and groups that are not in the files (the target's `delete-untouched`).
    pub delete_untouched: bool,
    /// The tag sources this import replaces (the connector's tag source, or none).
    pub tag_sources_scope: &'a [&'a str],
    /// Replace each user's group memberships by the file's (the target's `replace-groups`).
    pub replace_groups: bool,
}

/// One status change of one step of a job (`addTaskEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEvent {
    /// The job.
    pub job_id: JobId,
    /// The step; its job type (`DS`, `IS`, `DA`, `DU`) goes on the wire.
    pub job_type: Step,
    /// The job's target.
    pub target: JobTarget,
    /// The new status.
    pub status: JobStatus,
    /// The error messages (with `FAILED`); sent as `null` when empty.
    pub errors: Vec<String>,
    /// Warnings since the previous event; sent as `null` when empty.
    pub warnings: Vec<String>,
    /// The counts (with `COMPLETED`); sent as `null` when empty.
    pub result: Vec<TaskResult>,
}

/// A server-side subtask, as an import request answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtask {
    /// The server's id of the subtask.
    pub subtask_id: String,
    /// Its status when the request was answered (usually `QUEUED`).
    pub status: JobStatus,
}

/// What the server reports a finished subtask did. Serialises as an object tagged `kind`
/// (e.g. `{"kind":"dataSourceImport","added":3,…}`), for run summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum SubtaskResult {
    /// A data object import.
    DataSourceImport {
        /// Data objects added.
        added: i64,
        /// Data objects removed.
        removed: i64,
        /// Data objects updated.
        updated: i64,
        /// The server's warnings.
        warnings: Vec<String>,
    },
    /// A users and groups import.
    IdentityStoreImport {
        /// Users added.
        users_added: i64,
        /// Users removed.
        users_removed: i64,
        /// Users updated.
        users_updated: i64,
        /// Groups added.
        groups_added: i64,
        /// Groups removed.
        groups_removed: i64,
        /// Groups updated.
        groups_updated: i64,
        /// The server's warnings.
        warnings: Vec<String>,
    },
    /// An access provider import.
    AccessProviderImport {
        /// Access providers added.
        added: i64,
        /// Access providers removed.
        removed: i64,
        /// Access providers updated.
        updated: i64,
        /// The server's warnings.
        warnings: Vec<String>,
    },
    /// A usage import.
    DataUsageImport {
        /// Edges created or updated.
        edges_created_or_updated: i64,
        /// Edges removed.
        edges_removed: i64,
        /// Statements added.
        statements_added: i64,
        /// Statements that failed.
        statements_failed: i64,
        /// Statements skipped.
        statements_skipped: i64,
        /// The server's warnings.
        warnings: Vec<String>,
    },
    /// An access provider export: where to download the file.
    AccessProviderExport {
        /// The file's key.
        file_key: Option<String>,
        /// A presigned GET URL of the file.
        file_location: Option<String>,
        /// The server's warnings.
        warnings: Vec<String>,
    },
    /// An access feedback import.
    AccessProviderSyncFeedback {
        /// Actual names recorded.
        access_names_added: i64,
        /// The server's warnings.
        warnings: Vec<String>,
    },
    /// A result of a kind this client does not select (e.g. a tag import).
    Other,
}

impl SubtaskResult {
    /// The server's warnings, if the result has any.
    pub fn warnings(&self) -> &[String] {
        match self {
            SubtaskResult::DataSourceImport { warnings, .. }
            | SubtaskResult::IdentityStoreImport { warnings, .. }
            | SubtaskResult::AccessProviderImport { warnings, .. }
            | SubtaskResult::DataUsageImport { warnings, .. }
            | SubtaskResult::AccessProviderExport { warnings, .. }
            | SubtaskResult::AccessProviderSyncFeedback { warnings, .. } => warnings,
            SubtaskResult::Other => &[],
        }
    }
}

/// One poll's view of a subtask (`jobSubtask`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtaskState {
    /// The subtask's id.
    pub subtask_id: String,
    /// Its status; `STARTED` when the server answered `null` or an unknown status.
    pub status: JobStatus,
    /// When the server last changed it (RFC 3339), if it said.
    pub last_update: Option<String>,
    /// Its errors (with `FAILED`).
    pub errors: Vec<String>,
    /// What it did, once finished.
    pub result: Option<SubtaskResult>,
}

/// How a subtask ended when it did not fail: `COMPLETED` or `SKIPPED`, with its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubtaskOutcome {
    /// `COMPLETED` or `SKIPPED`.
    pub status: JobStatus,
    /// What it did, if the server said.
    pub result: Option<SubtaskResult>,
}

/// Now, as the `Time` scalar (RFC 3339, UTC, as Go's `time.Time` marshals it).
pub(super) fn now() -> Option<graphql::Time> {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn nullable(items: &[String]) -> Option<Vec<Option<String>>> {
    non_empty(items.iter().cloned().map(Some).collect())
}

impl Client {
    /// `createJob`: starts a job for `target` and returns its id. Not retried once the request
    /// may have reached Raito (a retry could create a second job), except after 5xx/429.
    pub async fn create_job(&self, target: &JobTarget) -> Result<JobId, Error> {
        let (data_source_id, identity_store_id) = target.ids();
        let variables = create_job::Variables {
            input: create_job::JobInput {
                data_source_id,
                identity_store_id,
                event_time: now(),
                status: None,
                errors: None,
            },
        };
        let data = self
            .graphql::<CreateJob>("createJob", Idempotency::NotIdempotent, variables)
            .await?;
        data.create_job
            .map(|job| JobId(job.job_id))
            .ok_or_else(|| Error::Decode {
                operation: "createJob",
                message: "createJob answered null".to_owned(),
            })
    }

    /// `updateJob`: sets the job's status (`IN_PROGRESS`, `COMPLETED`, or `FAILED` with
    /// `errors`; `errors` is sent as `null` when empty).
    pub async fn update_job(
        &self,
        job: &JobId,
        target: &JobTarget,
        status: JobStatus,
        errors: Vec<String>,
    ) -> Result<(), Error> {
        let (data_source_id, identity_store_id) = target.ids();
        let variables = update_job::Variables {
            id: job.0.clone(),
            input: update_job::JobInput {
                data_source_id,
                identity_store_id,
                event_time: now(),
                status: Some(status),
                errors: non_empty(errors.into_iter().map(Some).collect()),
            },
        };
        self.graphql::<UpdateJob>("updateJob", Idempotency::Idempotent, variables)
            .await?;
        Ok(())
    }

    /// `addTaskEvent`: reports a step's new status. Not idempotent (events are appended).
    pub async fn add_task_event(&self, event: &TaskEvent) -> Result<(), Error> {
        let (data_source_id, identity_store_id) = event.target.ids();
        let result = non_empty(
            event
                .result
                .iter()
                .map(|r| {
                    Some(add_task_event::TaskResultInput {
                        object_type: Some(r.object_type.clone()),
                        added: Some(r.added),
                        updated: Some(r.updated),
                        removed: Some(r.removed),
                        failed: Some(r.failed),
                    })
                })
                .collect(),
        );
        let variables = add_task_event::Variables {
            input: add_task_event::TaskEventInput {
                job_id: event.job_id.0.clone(),
                job_type: event.job_type.job_type().to_owned(),
                data_source_id,
                identity_store_id,
                status: event.status,
                event_time: now(),
                errors: nullable(&event.errors),
                warnings: nullable(&event.warnings),
                result,
            },
        };
        self.graphql::<AddTaskEvent>("addTaskEvent", Idempotency::NotIdempotent, variables)
            .await?;
        Ok(())
    }

    /// Attaches the uploaded log `file_key` (see [`Client::upload_log`]) to the task of `step`
    /// in `job`, so the step's log shows in Raito.
    pub async fn add_log_file_to_task(
        &self,
        job: &JobId,
        step: Step,
        file_key: &str,
    ) -> Result<(), Error> {
        let variables = add_log_file_to_task::Variables {
            input: add_log_file_to_task::LogFileToTaskInput {
                job_id: job.0.clone(),
                job_type: step.job_type().to_owned(),
                file_key: file_key.to_owned(),
            },
        };
        self.graphql::<AddLogFileToTask>("addLogFileToTask", Idempotency::Idempotent, variables)
            .await?;
        Ok(())
    }

    /// Sends an import or export request (a document with inline literals after
    /// [`graphql::inline`]) and reads the subtask it started. Not idempotent: a retry could
    /// start a second import.
    pub(super) async fn subtask_request<V: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        document: String,
        operation_name: &str,
        variables: &V,
        subtask: impl FnOnce(R) -> Option<Subtask>,
    ) -> Result<Subtask, Error> {
        let data: R = self
            .graphql_document(
                operation,
                Idempotency::NotIdempotent,
                Cow::Owned(document),
                operation_name,
                variables,
            )
            .await?;
        subtask(data).ok_or_else(|| Error::Decode {
            operation,
            message: "the answer has no subtask".to_owned(),
        })
    }

    /// `importDataSourceRequest`: starts importing the uploaded data object file `file_key`
    /// (from [`Client::upload`]) into data source `data_source_id`. `delete_untouched` is
    /// false for a partial sync (objects outside the synced subtree must stay);
    /// `tag_sources_scope` names the tag sources the file replaces. Not idempotent: a retry
    /// could start a second import.
    pub async fn import_data_source(
        &self,
        job: &JobId,
        data_source_id: &str,
        delete_untouched: bool,
        file_key: &str,
        tag_sources_scope: &[&str],
    ) -> Result<Subtask, Error> {
        const OPERATION: &str = "importDataSourceRequest";
        let document = graphql::inline(
            import_data_source_request::QUERY,
            &[
                ("jobId", job.as_str()),
                ("dataSource", data_source_id),
                ("fileKey", file_key),
            ],
        );
        let variables = import_data_source_request::Variables {
            delete_untouched,
            tag_sources_scope: tag_sources_scope.iter().map(|s| (*s).to_owned()).collect(),
        };
        self.subtask_request(
            OPERATION,
            document,
            import_data_source_request::OPERATION_NAME,
            &variables,
            |data: import_data_source_request::ResponseData| {
                let subtask = data.import_data_source_request?.subtask?;
                Some(Subtask {
                    subtask_id: subtask.subtask_id,
                    status: subtask.status,
                })
            },
        )
        .await
    }

    /// `importIdentityRequest`: starts importing the uploaded users and groups files (keys
    /// from [`Client::upload`]) into identity store `identity_store_id`. `delete_untouched`
    /// removes users and groups missing from the files; `replace_groups` replaces (rather than
    /// extends) each user's memberships. Not idempotent: a retry could start a second import.
    pub async fn import_identities(
        &self,
        job: &JobId,
        identity_store_id: &str,
        settings: IdentityImport<'_>,
    ) -> Result<Subtask, Error> {
        const OPERATION: &str = "importIdentityRequest";
        let document = graphql::inline(
            import_identity_request::QUERY,
            &[
                ("jobId", job.as_str()),
                ("identityStore", identity_store_id),
                ("usersFileKey", settings.users_file_key),
                ("groupsFileKey", settings.groups_file_key),
            ],
        );
        let variables = import_identity_request::Variables {
            delete_untouched: settings.delete_untouched,
            replace_groups: settings.replace_groups,
            tag_sources_scope: settings
                .tag_sources_scope
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        self.subtask_request(
            OPERATION,
            document,
            import_identity_request::OPERATION_NAME,
            &variables,
            |data: import_identity_request::ResponseData| {
                let subtask = data.import_identity_request?.subtask?;
                Some(Subtask {
                    subtask_id: subtask.subtask_id,
                    status: subtask.status,
                })
            },
        )
        .await
    }

    /// `jobSubtask`: one poll of a subtask. A `null` answer reads as `STARTED`.
    pub async fn job_subtask(
        &self,
        job: &JobId,
        step: Step,
        subtask_id: &str,
    ) -> Result<SubtaskState, Error> {
        let document = graphql::inline(
            job_subtask::QUERY,
            &[
                ("jobId", job.as_str()),
                ("jobType", step.job_type()),
                ("subtaskId", subtask_id),
            ],
        );
        let data: job_subtask::ResponseData = self
            .graphql_document(
                "jobSubtask",
                Idempotency::Idempotent,
                Cow::Owned(document),
                job_subtask::OPERATION_NAME,
                &serde_json::Map::new(),
            )
            .await?;
        let Some(subtask) = data.job_subtask else {
            return Ok(SubtaskState {
                subtask_id: subtask_id.to_owned(),
                status: JobStatus::Started,
                last_update: None,
                errors: Vec::new(),
                result: None,
            });
        };
        Ok(SubtaskState {
            subtask_id: subtask.subtask_id,
            status: subtask.status,
            last_update: subtask.last_update,
            errors: subtask.errors.unwrap_or_default(),
            result: subtask.result.map(subtask_result),
        })
    }

    /// Polls `subtask` until it ends, as the Raito CLI does: every `interval` while it is
    /// running, and at least once (even when the request already answered `COMPLETED`, to get
    /// the result). A failed poll is counted and the wait goes on; the
    /// [`MAX_POLL_FAILURES`]th aborts it ([`Error::PollAborted`]). `FAILED` is
    /// [`Error::SubtaskFailed`] with the subtask's errors, `TIMED_OUT` is
    /// [`Error::SubtaskTimedOut`]. When the next poll would come after `deadline`, or a poll
    /// is still going at `deadline`, the wait stops with [`Error::Deadline`], early enough for
    /// the caller to mark its job failed.
    pub async fn wait_for_subtask(
        &self,
        job: &JobId,
        step: Step,
        subtask: &Subtask,
        deadline: Instant,
        interval: Duration,
    ) -> Result<SubtaskOutcome, Error> {
        let mut status = subtask.status;
        let mut failures = 0;
        let mut first = true;
        let deadline_error = |last_status| Error::Deadline {
            job_id: job.0.clone(),
            job_type: step.job_type(),
            subtask_id: subtask.subtask_id.clone(),
            last_status,
        };
        loop {
            // No wait before the first poll of a subtask the request said is over.
            if !first || status.is_running() {
                if Instant::now() + interval > deadline {
                    return Err(deadline_error(status));
                }
                tokio::time::sleep(interval).await;
            }
            first = false;
            let poll =
                tokio::time::timeout_at(deadline, self.job_subtask(job, step, &subtask.subtask_id))
                    .await
                    .map_err(|_| deadline_error(status))?;
            let state = match poll {
                Ok(state) => state,
                Err(error) => {
                    failures += 1;
                    tracing::warn!(
                        subtask_id = %subtask.subtask_id,
                        failures,
                        error = %error,
                        "polling a Raito subtask failed"
                    );
                    if failures >= MAX_POLL_FAILURES {
                        return Err(Error::PollAborted {
                            subtask_id: subtask.subtask_id.clone(),
                            failures,
                            last: Box::new(error),
                        });
                    }
                    continue;
                }
            };
            status = state.status;
            tracing::debug!(subtask_id = %subtask.subtask_id, %status, "subtask polled");
            if status.is_running() {
                continue;
            }
            return match status {
                JobStatus::Failed => Err(Error::SubtaskFailed {
                    job_id: job.0.clone(),
                    job_type: step.job_type(),
                    subtask_id: subtask.subtask_id.clone(),
                    errors: state.errors,
                }),
                JobStatus::TimedOut => Err(Error::SubtaskTimedOut {
                    job_id: job.0.clone(),
                    job_type: step.job_type(),
                    subtask_id: subtask.subtask_id.clone(),
                }),
                _ => {
                    for warning in state.result.iter().flat_map(SubtaskResult::warnings) {
                        tracing::warn!(subtask_id = %subtask.subtask_id, "{warning}");
                    }
                    Ok(SubtaskOutcome {
                        status,
                        result: state.result,
                    })
                }
            };
        }
    }

    /// `endOfTargetsSync`: tells Raito the run is over, with every job it created. Returns the
    /// server's `success` (false is only worth a warning). A permission-denied answer is
    /// [`Error::Rejected`].
    pub async fn end_of_targets_sync(&self, jobs: &[JobId]) -> Result<bool, Error> {
        const OPERATION: &str = "endOfTargetsSync";
        let variables = end_of_targets_sync::Variables {
            input: end_of_targets_sync::EndOfTargetsSyncInput {
                job_ids: jobs.iter().map(|job| job.0.clone()).collect(),
            },
        };
        let data = self
            .graphql::<EndOfTargetsSync>(OPERATION, Idempotency::NotIdempotent, variables)
            .await?;
        use end_of_targets_sync::EndOfTargetsSyncEndOfTargetsSync as Answer;
        match data.end_of_targets_sync {
            Some(Answer::EndOfTargetsSync(answer)) => {
                if !answer.success {
                    tracing::warn!("Raito answered endOfTargetsSync with success: false");
                }
                Ok(answer.success)
            }
            Some(Answer::PermissionDeniedError(denied)) => Err(Error::Rejected {
                operation: OPERATION,
                message: denied.message,
            }),
            None => Err(Error::Decode {
                operation: OPERATION,
                message: "endOfTargetsSync answered null".to_owned(),
            }),
        }
    }
}

fn subtask_result(result: job_subtask::JobSubtaskJobSubtaskResult) -> SubtaskResult {
    use job_subtask::JobSubtaskJobSubtaskResult as R;
    match result {
        R::DataSourceImportResult(r) => SubtaskResult::DataSourceImport {
            added: r.data_objects_added,
            removed: r.data_objects_removed,
            updated: r.data_objects_updated,
            warnings: r.warnings.unwrap_or_default(),
        },
        R::IdentityStoreImportResult(r) => SubtaskResult::IdentityStoreImport {
            users_added: r.users_added,
            users_removed: r.users_removed,
            users_updated: r.users_updated,
            groups_added: r.groups_added,
            groups_removed: r.groups_removed,
            groups_updated: r.groups_updated,
            warnings: r.warnings.unwrap_or_default(),
        },
        R::AccessProviderImportResult(r) => SubtaskResult::AccessProviderImport {
            added: r.access_added,
            removed: r.access_removed,
            updated: r.access_updated,
            warnings: r.warnings.unwrap_or_default(),
        },
        R::DataUsageImportResult(r) => SubtaskResult::DataUsageImport {
            edges_created_or_updated: r.edges_created_or_updated,
            edges_removed: r.edges_removed,
            statements_added: r.statements_added,
            statements_failed: r.statements_failed,
            statements_skipped: r.statements_skipped,
            warnings: r.warnings.unwrap_or_default(),
        },
        R::AccessProviderExportResult(r) => SubtaskResult::AccessProviderExport {
            file_key: r.file_key,
            file_location: r.file_location,
            warnings: r.warnings.unwrap_or_default(),
        },
        R::AccessProviderSyncFeedbackResult(r) => SubtaskResult::AccessProviderSyncFeedback {
            access_names_added: r.access_names_added,
            warnings: r.warnings.unwrap_or_default(),
        },
        _ => SubtaskResult::Other,
    }
}
