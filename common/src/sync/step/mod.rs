//! One driver for the four steps of a target's job. Each step's own work is a [`Body`] in its
//! own file (what it sends before retrieving, the files it writes, the import it requests);
//! the driver runs the lifecycle Raito follows for all of them, as the Go CLI reports it
//! (raito-io/cli internal/target_sync/sync_job.go): the `STARTED` task event, the body's
//! preparation, `DATA_RETRIEVE`, the body's files, `DATA_UPLOAD` and the uploads, the body's
//! import request, `QUEUED`, the wait for Raito's import, and `COMPLETED` with its counts, or
//! `FAILED` with the reason, or `SKIPPED` when the target or the connector does not have the
//! step. The step's log is forwarded to Raito when asked for, and the whole step ends at the
//! run's deadline.

mod data_access;
mod data_source;
mod data_usage;
mod identity_store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::failure::StepError;
use super::run::{StepSummary, TargetRun, TargetStatus};
use super::{Outcome, Report};
use crate::config::Target;
use crate::connector::Connector;
use crate::logs;
use crate::metrics;
use crate::output::{Destination, Written};
use crate::raito::{self, JobId, JobStatus, JobTarget, TaskEvent, TaskResult};
use crate::step::Step;

/// How long sending a step's log may take after the run's deadline.
const LOG_FORWARDING_TIME: Duration = Duration::from_secs(3);

/// What a step's body hands the driver once its files are written.
pub(super) enum Retrieved {
    /// Files to upload and import; `first` are the task results reported before the import's
    /// own (the access step's exported access providers).
    Import {
        report: Report,
        first: Vec<TaskResult>,
    },
    /// Nothing to import: the step is complete with these results.
    Done(Vec<TaskResult>),
}

/// The work of one step, between the driver's task events.
#[async_trait::async_trait]
pub(super) trait Body: Send + Sync {
    /// Whether the target's `skip-<step>-sync` setting is set.
    fn target_skips(&self, target: &Target) -> bool;

    /// Whether the connector has this step.
    fn supported(&self, connector: &dyn Connector) -> bool;

    /// What goes to Raito before retrieving (the data source's or identity store's metadata;
    /// the usage step reads where to resume).
    async fn prepare(
        &mut self,
        _cx: &StepContext<'_>,
        _connector: &dyn Connector,
    ) -> Result<(), StepError> {
        Ok(())
    }

    /// Writes the step's files (and, for the access step, applies Raito's export first).
    async fn retrieve(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<Retrieved, StepError>;

    /// Asks Raito to import the uploaded files (their keys, in the order they were written).
    async fn import(
        &self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        keys: Vec<String>,
    ) -> Result<raito::Subtask, StepError>;

    /// The object type of the import's task results.
    fn object_type(&self) -> &'static str;
}

/// The body of `step`.
fn body(step: Step) -> Box<dyn Body> {
    match step {
        Step::DataSource => Box::new(data_source::DataSource),
        Step::IdentityStore => Box::new(identity_store::IdentityStore),
        Step::DataAccess => Box::new(data_access::DataAccess),
        Step::DataUsage => Box::new(data_usage::DataUsage::default()),
    }
}

/// What a step needs once the job exists.
pub(super) struct StepContext<'a> {
    pub(super) run: &'a TargetRun<'a>,
    pub(super) job: &'a JobId,
    pub(super) job_target: &'a JobTarget,
    pub(super) step: Step,
}

impl StepContext<'_> {
    fn summary(&self) -> StepSummary {
        StepSummary {
            step: self.step.name(),
            status: TargetStatus::Completed,
            counts: BTreeMap::new(),
            staged: Vec::new(),
            imported: None,
            message: None,
            error_kind: None,
            elapsed_ms: 0,
            counted: Default::default(),
            usage_last_start: None,
        }
    }

    /// Runs the step within the deadline, reporting its end to Raito.
    pub(super) async fn run(&self, connector: &dyn Connector) -> StepSummary {
        let started = std::time::Instant::now();
        let (mut summary, counted) =
            metrics::measure(&self.run.target.name, self.step, self.measured(connector)).await;
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        summary.counted = counted;
        summary
    }

    /// [`StepContext::run`], counted by [`metrics::measure`].
    async fn measured(&self, connector: &dyn Connector) -> StepSummary {
        let mut summary = self.summary();
        let work = self.lifecycle(body(self.step), connector, &mut summary);
        let timed = tokio::time::timeout_at(self.run.limits.deadline, work);
        let capture = self
            .run
            .log_forwarding
            .enabled(self.step)
            .then(|| Arc::new(logs::Capture::new()));
        let outcome = match &capture {
            Some(capture) => logs::capture(Arc::clone(capture), timed).await,
            None => timed.await,
        };
        // As the Go CLI: the log goes to Raito after the step's COMPLETED event, or before its
        // FAILED one (raito-io/cli internal/target_sync/sync_job.go, sync).
        if let Some(capture) = capture {
            self.forward_log(&capture).await;
        }
        match outcome {
            Ok(Ok(())) => summary,
            Ok(Err(error)) => self.failed(summary, error).await,
            Err(_) => self.failed(summary, StepError::TimedOut(self.step)).await,
        }
    }

    /// The step failed before it could start (its connector could not be built).
    pub(super) async fn failed_to_start(&self, error: StepError) -> StepSummary {
        self.failed(self.summary(), error).await
    }

    async fn failed(&self, mut summary: StepSummary, error: StepError) -> StepSummary {
        let (message, kind) = (error.to_string(), error.kind());
        tracing::error!(error = %message, %kind, "{} failed", self.step);
        self.task(JobStatus::Failed, vec![message.clone()], Vec::new())
            .await;
        summary.status = TargetStatus::Failed;
        summary.message = Some(message);
        summary.error_kind = Some(kind);
        summary
    }

    /// The lifecycle of one step (see the module's documentation).
    async fn lifecycle(
        &self,
        mut body: Box<dyn Body>,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<(), StepError> {
        let target = self.run.target;
        let skipped = if body.target_skips(target) {
            Some(format!("the target sets skip-{}-sync", self.step.name()))
        } else if !body.supported(connector) {
            Some(format!(
                "the {} connector has no {}",
                connector.name(),
                self.step
            ))
        } else {
            None
        };
        if let Some(reason) = skipped {
            tracing::info!(reason, "step skipped");
            self.task(JobStatus::Skipped, Vec::new(), Vec::new()).await;
            summary.status = TargetStatus::Skipped;
            summary.message = Some(reason);
            return Ok(());
        }
        self.task(JobStatus::Started, Vec::new(), Vec::new()).await;
        body.prepare(self, connector).await?;
        self.task(JobStatus::DataRetrieve, Vec::new(), Vec::new())
            .await;
        let (report, first) = match body.retrieve(self, connector, summary).await? {
            Retrieved::Done(results) => {
                self.task(JobStatus::Completed, Vec::new(), results).await;
                return Ok(());
            }
            Retrieved::Import { report, first } => (report, first),
        };
        let keys = self.upload(&report.written).await?;
        let subtask = body.import(self, connector, keys).await?;
        self.task(JobStatus::Queued, Vec::new(), Vec::new()).await;
        let outcome = self
            .wait(&subtask, self.run.limits.poll_interval)
            .await
            .map_err(StepError::raito("importing into Raito Cloud"))?;
        for warning in outcome.result.iter().flat_map(|r| r.warnings()) {
            tracing::warn!(warning = %warning, "Raito's import reported a warning");
        }
        tracing::info!(counts = ?summary.counts, imported = ?outcome.result, "imported");
        let mut counts = first;
        counts.extend(TaskResult::from_subtask_result(
            body.object_type(),
            &outcome.result,
        ));
        summary.imported = outcome.result;
        self.task(JobStatus::Completed, Vec::new(), counts).await;
        Ok(())
    }

    /// Waits for a subtask of this step's job, polling every `interval`, until the deadline.
    pub(super) async fn wait(
        &self,
        subtask: &raito::Subtask,
        interval: Duration,
    ) -> Result<raito::SubtaskOutcome, raito::Error> {
        self.run
            .raito
            .wait_for_subtask(
                self.job,
                self.step,
                subtask,
                self.run.limits.deadline,
                interval,
            )
            .await
    }

    /// Uploads the step's captured log and attaches it to its task. A failure is logged, never
    /// the step's: the log is a convenience. It may take a few seconds past the deadline (the
    /// function keeps a margin), so the log of a step that ran out of time still arrives.
    async fn forward_log(&self, capture: &logs::Capture) {
        let raito = self.run.raito;
        let forward = async {
            let Some(captured) = capture.finish()? else {
                return Ok(0);
            };
            let lines = captured.lines;
            let upload = captured
                .into_upload()
                .map_err(|e| format!("reading the step's log: {e}"))?;
            let key = raito
                .upload_log(self.step.job_type(), upload)
                .await
                .map_err(|e| format!("uploading the step's log: {e}"))?;
            raito
                .add_log_file_to_task(self.job, self.step, &key)
                .await
                .map_err(|e| format!("attaching the step's log to its task: {e}"))?;
            Ok::<u64, String>(lines)
        };
        let limit = self.run.limits.deadline.max(Instant::now()) + LOG_FORWARDING_TIME;
        match tokio::time::timeout_at(limit, forward).await {
            Ok(Ok(0)) => {}
            Ok(Ok(lines)) => tracing::debug!(lines, "the step's log was sent to Raito"),
            Ok(Err(error)) => tracing::warn!(%error, "the step's log was not sent to Raito"),
            Err(_) => tracing::warn!("the step's log was not sent to Raito: no time left"),
        }
    }

    /// Reports a task event of this step; Raito ignores failures of this call, and so does the
    /// run.
    pub(super) async fn task(
        &self,
        status: JobStatus,
        errors: Vec<String>,
        result: Vec<TaskResult>,
    ) {
        let event = TaskEvent {
            job_id: self.job.clone(),
            job_type: self.step,
            target: self.job_target.clone(),
            status,
            errors,
            warnings: Vec::new(),
            result,
        };
        if let Err(error) = self.run.raito.add_task_event(&event).await {
            tracing::warn!(%error, ?status, "could not report the task event");
        }
    }

    /// Where this job's files for this target are staged: `<job>/<target>`.
    pub(super) fn staging_prefix(&self) -> String {
        format!("{}/{}", self.job, file_safe(&self.run.target.name))
    }

    /// The staged file `name` of this job and target.
    pub(super) async fn destination(&self, name: &str) -> Result<Destination, StepError> {
        let name = format!("{}/{name}", self.staging_prefix());
        match self.run.staging.destination(&name).await {
            Ok(destination) => Ok(destination),
            Err(source) => Err(StepError::Staging {
                doing: "staging",
                name,
                source,
            }),
        }
    }

    /// Uploads staged files to Raito (after the `DATA_UPLOAD` event), returning their keys.
    pub(super) async fn upload(&self, written: &[Written]) -> Result<Vec<String>, StepError> {
        self.task(JobStatus::DataUpload, Vec::new(), Vec::new())
            .await;
        let mut keys = Vec::with_capacity(written.len());
        for file in written {
            let key = self
                .run
                .raito
                .upload(self.run.staging.upload(file))
                .await
                .map_err(|source| StepError::Raito {
                    doing: format!("uploading {} to Raito Cloud", file.location),
                    source,
                })?;
            keys.push(key);
        }
        Ok(keys)
    }
}

/// Records what a pipeline wrote; a skipped pipeline (which the driver's checks before rule
/// out) is an error.
pub(super) fn completed(outcome: Outcome, summary: &mut StepSummary) -> Result<Report, StepError> {
    match outcome {
        Outcome::Completed(report) => {
            summary.counts = report.counts.clone();
            summary.staged = report.written.iter().map(|w| w.location.clone()).collect();
            Ok(report)
        }
        Outcome::Skipped { reason } => Err(StepError::Unexpected(reason)),
    }
}

/// The target's `data-source-id` (a run only starts the data source, access and usage steps
/// for a target that has one).
fn data_source_id(target: &Target) -> &str {
    target.data_source_id.as_deref().unwrap_or_default()
}

/// A target name as a file name: anything but letters, digits, `-` and `_` becomes `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
