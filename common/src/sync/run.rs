//! A run over the targets of a `raito.yml`, reported to Raito Cloud: for each target a job,
//! and for each step (data source, identity store, data access, data usage) its task events, the staged
//! files uploaded and imported; at the end `endOfTargetsSync`. A failing step stops the later steps of its
//! target; the next target still runs. The Lambda functions and `raito-sync run` both come
//! through here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use super::staging::Staging;
use super::{Outcome, Report, access, identities, metadata, usage};
use crate::config::cli::LogForwarding;
use crate::config::{Config, Target};
use crate::connector::{self, ApplyMode, Connector, DataSourceRequest, Step, UsageRequest};
use crate::logs;
use crate::output::{self, Destination, Written};
use crate::raito::{
    self, IdentityImport, JobId, JobStatus, JobTarget, TaskEvent, TaskResult, object_type,
};

/// What to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Target names; empty means every target.
    pub targets: Vec<String>,
    /// Only the targets of these data sources (Raito's ids), e.g. from a `syncTrigger` or an
    /// `apUpdate`; empty: no such restriction.
    pub data_sources: Vec<String>,
    /// Only the targets of this identity store (Raito's id), e.g. from a `syncTrigger`.
    pub identity_store: Option<String>,
    /// A partial data source sync below this object (no deletes outside it).
    pub data_object_parent: Option<String>,
    /// Subtrees left out of a partial sync.
    pub data_object_excludes: Vec<String>,
    /// An `apUpdate` run: export only the access providers out of sync, and skip the import
    /// of the target's own access (as the Raito CLI does).
    pub access_out_of_sync_only: bool,
}

/// How long a run may take and how it waits for Raito.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The run stops with a time-out error at this instant (a Lambda's deadline minus a
    /// margin), marking the running job failed, instead of being killed.
    pub deadline: Instant,
    /// Pause between two polls of an import's progress (5 s in the Raito CLI).
    pub poll_interval: Duration,
    /// The size cap of one usage part ([`usage::DEFAULT_PART_BYTES`] unless set).
    pub usage_part_bytes: u64,
    /// The time a usage step keeps for uploading and importing; `None`: [`usage_reserve`].
    pub usage_reserve: Option<Duration>,
}

impl Limits {
    /// Limits with this deadline, a 5 s poll interval and the default usage part size.
    pub fn until(deadline: Instant) -> Self {
        Self {
            deadline,
            poll_interval: Duration::from_secs(5),
            usage_part_bytes: usage::DEFAULT_PART_BYTES,
            usage_reserve: None,
        }
    }
}

/// The part of the time left that a usage step keeps, by default, for uploading and importing
/// what it read: a quarter, at most two minutes. Reading stops (at a statement second boundary)
/// when only this much is left, so a large backlog is imported over several runs instead of
/// timing out.
pub fn usage_reserve(left: Duration) -> Duration {
    (left / 4).min(Duration::from_secs(120))
}

/// What a run did, returned by the function as its JSON result.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// One entry per selected target, in configuration order.
    pub targets: Vec<TargetSummary>,
    /// Wall time of the run, in milliseconds.
    pub elapsed_ms: u64,
}

impl RunSummary {
    /// Whether any target failed.
    pub fn failed(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.status == TargetStatus::Failed)
    }
}

/// The result of one target.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetSummary {
    /// The target's name.
    pub name: String,
    /// Completed (at least one step ran, none failed), skipped or failed.
    pub status: TargetStatus,
    /// Raito's job id, once the job was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The steps that were asked for, in the order they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSummary>,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The result of one step of one target.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepSummary {
    /// `data-source`, `identity-store`, `data-access` or `data-usage`.
    pub step: &'static str,
    /// Completed, skipped or failed.
    pub status: TargetStatus,
    /// Elements written, by type (data object types; `user` and `group`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// Where the files were staged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub staged: Vec<String>,
    /// What Raito's import reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<raito::SubtaskResult>,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How a target or a step ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetStatus {
    /// Every step that applies ran.
    Completed,
    /// Nothing to do for this target.
    Skipped,
    /// A step failed; see the message.
    Failed,
}

/// Why a run could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A selected target does not exist.
    #[error("no target named \"{name}\" in the configuration (targets: {available})")]
    UnknownTarget {
        /// The name asked for.
        name: String,
        /// The names there are.
        available: String,
    },
    /// A `syncTrigger` names a data source no target has.
    #[error("no target has data-source-id \"{0}\"")]
    UnknownDataSource(String),
    /// A `syncTrigger` names an identity store no target has.
    #[error("no target has identity-store-id \"{0}\"")]
    UnknownIdentityStore(String),
}

/// The targets of `config` that `selection` names, in configuration order.
pub fn select<'a>(config: &'a Config, selection: &Selection) -> Result<Vec<&'a Target>, RunError> {
    for name in &selection.targets {
        if config.target(name).is_none() {
            return Err(RunError::UnknownTarget {
                name: name.clone(),
                available: config.target_names(),
            });
        }
    }
    let selected: Vec<&Target> = config
        .targets
        .iter()
        .filter(|t| selection.targets.is_empty() || selection.targets.contains(&t.name))
        .filter(|t| {
            selection.data_sources.is_empty()
                || t.data_source_id
                    .as_ref()
                    .is_some_and(|ds| selection.data_sources.contains(ds))
        })
        .filter(|t| {
            selection
                .identity_store
                .as_ref()
                .is_none_or(|is| t.identity_store_id.as_ref() == Some(is))
        })
        .collect();
    if selected.is_empty() {
        if !selection.data_sources.is_empty() {
            return Err(RunError::UnknownDataSource(
                selection.data_sources.join("\", \""),
            ));
        }
        if let Some(is) = &selection.identity_store {
            return Err(RunError::UnknownIdentityStore(is.clone()));
        }
    }
    Ok(selected)
}

/// Runs `steps` (data source, identity store, data access, data usage: in that order) for every selected target
/// and reports them to Raito Cloud.
pub async fn run(
    raito: &raito::Clients,
    config: &Config,
    selection: &Selection,
    steps: &[Step],
    staging: &Staging,
    limits: Limits,
) -> Result<RunSummary, RunError> {
    let started = std::time::Instant::now();
    let targets = select(config, selection)?;
    // raito.yml's `maximum-file-size` caps each usage file, as in the Raito CLI.
    let limits = Limits {
        usage_part_bytes: config
            .settings
            .maximum_file_size
            .unwrap_or(limits.usage_part_bytes),
        ..limits
    };
    let mut summary = RunSummary::default();
    // The jobs created, per organisation (client).
    let mut jobs: Vec<(raito::Client, Vec<JobId>)> = Vec::new();
    for target in targets {
        // Every line of the target's run carries `target`, from its first line to its last
        // (the lambda harness checks it between these two messages).
        let span = tracing::info_span!("target", target = %target.name);
        span.in_scope(|| tracing::info!("target sync started"));
        let client = match raito.client(&target.settings.raito) {
            Ok(client) => client,
            Err(error) => {
                let _entered = span.enter();
                tracing::error!(%error, "no Raito Cloud client for this target");
                tracing::info!(status = ?TargetStatus::Failed, "target sync finished");
                summary.targets.push(TargetSummary {
                    name: target.name.clone(),
                    status: TargetStatus::Failed,
                    job_id: None,
                    steps: Vec::new(),
                    message: Some(format!("signing in to Raito Cloud: {error}")),
                });
                continue;
            }
        };
        let run = TargetRun {
            raito: &client,
            target,
            selection,
            staging,
            limits,
            log_forwarding: &config.settings.log_forwarding,
        };
        let result = run.run(steps).instrument(span.clone()).await;
        span.in_scope(|| tracing::info!(status = ?result.status, "target sync finished"));
        if let Some(job) = &result.job_id {
            let job = JobId::from(job.clone());
            match jobs
                .iter_mut()
                .find(|(c, _)| c.config().same_sign_in(client.config()))
            {
                Some((_, list)) => list.push(job),
                None => jobs.push((client, vec![job])),
            }
        }
        summary.targets.push(result);
    }
    // Raito starts its post-processing here, in each organisation; a failure does not undo the
    // imports. The Go CLI sends it after every run, triggered ones too (raito-io/cli
    // internal/target_sync/sync_job.go, Finalize).
    for (client, jobs) in &jobs {
        if let Err(error) = client.end_of_targets_sync(jobs).await {
            tracing::warn!(%error, domain = %client.config().domain, "endOfTargetsSync failed");
        }
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// The `tagSourcesScope` of a connector's imports.
fn tag_sources(connector: &dyn Connector) -> Vec<&'static str> {
    connector.tag_source().into_iter().collect()
}

/// How long sending a step's log may take after the run's deadline.
const LOG_FORWARDING_TIME: Duration = Duration::from_secs(3);

/// The steps a run can do, in the order the Raito CLI runs them.
const ORDER: [Step; 4] = [
    Step::DataSource,
    Step::IdentityStore,
    Step::DataAccess,
    Step::DataUsage,
];

/// The name of a step in summaries and logs (the `step` field of every log line).
pub(crate) fn step_name(step: Step) -> &'static str {
    match step {
        Step::DataSource => "data-source",
        Step::IdentityStore => "identity-store",
        Step::DataAccess => "data-access",
        Step::DataUsage => "data-usage",
    }
}

/// One target of a run.
struct TargetRun<'a> {
    raito: &'a raito::Client,
    target: &'a Target,
    selection: &'a Selection,
    staging: &'a Staging,
    limits: Limits,
    log_forwarding: &'a LogForwarding,
}

/// What a step needs once the job exists.
struct StepContext<'a> {
    run: &'a TargetRun<'a>,
    job: &'a JobId,
    job_target: &'a JobTarget,
    step: Step,
}

impl TargetRun<'_> {
    async fn run(&self, steps: &[Step]) -> TargetSummary {
        let target = self.target;
        let mut result = TargetSummary {
            name: target.name.clone(),
            status: TargetStatus::Completed,
            job_id: None,
            steps: Vec::new(),
            message: None,
        };
        // Only the steps this target has an id for; the others are not Raito's to run.
        let (data_source, identity_store) = (
            target.data_source_id.as_deref(),
            target.identity_store_id.as_deref(),
        );
        let mut missing = Vec::new();
        let wanted: Vec<Step> = ORDER
            .into_iter()
            .filter(|step| steps.contains(step))
            .filter(|step| {
                let (has_id, key) = match step {
                    Step::IdentityStore => (identity_store.is_some(), "identity-store-id"),
                    _ => (data_source.is_some(), "data-source-id"),
                };
                if !has_id && !missing.contains(&key) {
                    missing.push(key);
                }
                has_id
            })
            .collect();
        let Some(job_target) =
            JobTarget::of(data_source, identity_store).filter(|_| !wanted.is_empty())
        else {
            let reason = format!("the target has no {}", missing.join(" or "));
            tracing::info!(reason, "target skipped");
            result.status = TargetStatus::Skipped;
            result.message = Some(reason);
            return result;
        };
        let job = match self.raito.create_job(&job_target).await {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(%error, "could not create the job");
                result.status = TargetStatus::Failed;
                result.message = Some(format!("creating the job in Raito Cloud: {error}"));
                return result;
            }
        };
        result.job_id = Some(job.to_string());
        self.report_job(&job, &job_target, JobStatus::InProgress, Vec::new())
            .await;

        // Built once for all steps; a bad parameter fails the first step.
        let connector = connector::build(target).map_err(|e| e.to_string());
        let mut failure = None;
        for step in wanted {
            let context = StepContext {
                run: self,
                job: &job,
                job_target: &job_target,
                step,
            };
            let span = tracing::info_span!("step", step = step_name(step));
            let summary = context.run(connector.as_deref()).instrument(span).await;
            if summary.status == TargetStatus::Failed {
                failure = summary.message.clone();
            }
            result.steps.push(summary);
            if failure.is_some() {
                break;
            }
        }
        match failure {
            None => {
                if result
                    .steps
                    .iter()
                    .all(|s| s.status == TargetStatus::Skipped)
                {
                    result.status = TargetStatus::Skipped;
                    result.message = result.steps.first().and_then(|s| s.message.clone());
                }
                self.report_job(&job, &job_target, JobStatus::Completed, Vec::new())
                    .await;
            }
            Some(message) => {
                self.report_job(&job, &job_target, JobStatus::Failed, vec![message.clone()])
                    .await;
                result.status = TargetStatus::Failed;
                result.message = Some(message);
            }
        }
        result
    }

    /// Updates the job; Raito ignores failures of this call, and so does the run (the task
    /// events carry the details).
    async fn report_job(
        &self,
        job: &JobId,
        target: &JobTarget,
        status: JobStatus,
        errors: Vec<String>,
    ) {
        if let Err(error) = self.raito.update_job(job, target, status, errors).await {
            tracing::warn!(%error, ?status, "could not update the job");
        }
    }
}

impl StepContext<'_> {
    /// Runs the step within the deadline, reporting its end to Raito.
    async fn run(&self, connector: Result<&dyn Connector, &String>) -> StepSummary {
        let mut summary = StepSummary {
            step: step_name(self.step),
            status: TargetStatus::Completed,
            counts: BTreeMap::new(),
            staged: Vec::new(),
            imported: None,
            message: None,
        };
        let work = async {
            let connector = connector.map_err(String::clone)?;
            match self.step {
                Step::DataSource => self.data_source(connector, &mut summary).await,
                Step::IdentityStore => self.identity_store(connector, &mut summary).await,
                Step::DataUsage => self.data_usage(connector, &mut summary).await,
                Step::DataAccess => self.data_access(connector, &mut summary).await,
            }
        };
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
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(message),
            Err(_) => Some(format!(
                "stopped before the function's deadline: the {} did not finish in time \
                 (raise the function's timeout or sync less per target)",
                self.step
            )),
        };
        if let Some(message) = error {
            tracing::error!(error = %message, "{} failed", self.step);
            self.task(JobStatus::Failed, vec![message.clone()], Vec::new())
                .await;
            summary.status = TargetStatus::Failed;
            summary.message = Some(message);
        }
        summary
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

    async fn task(&self, status: JobStatus, errors: Vec<String>, result: Vec<TaskResult>) {
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

    /// Reports the step skipped (the target's `skip-…` setting or a connector without it).
    async fn skipped(&self, summary: &mut StepSummary, reason: String) {
        tracing::info!(reason, "step skipped");
        self.task(JobStatus::Skipped, Vec::new(), Vec::new()).await;
        summary.status = TargetStatus::Skipped;
        summary.message = Some(reason);
    }

    /// Reports the step skipped when the target skips it (its `skip-…-sync` setting) or the
    /// connector does not support it; whether it was.
    async fn skipped_unless(
        &self,
        summary: &mut StepSummary,
        target_skips: bool,
        supported: bool,
        connector: &dyn Connector,
    ) -> bool {
        let reason = if target_skips {
            format!("the target sets skip-{}-sync", step_name(self.step))
        } else if !supported {
            format!("the {} connector has no {}", connector.name(), self.step)
        } else {
            return false;
        };
        self.skipped(summary, reason).await;
        true
    }

    /// Where this job's files for this target are staged: `<job>/<target>`.
    fn staging_prefix(&self) -> String {
        format!("{}/{}", self.job, file_safe(&self.run.target.name))
    }

    /// The staged file `name` of this job and target.
    async fn destination(&self, name: &str) -> Result<Destination, String> {
        let name = format!("{}/{name}", self.staging_prefix());
        self.run
            .staging
            .destination(&name)
            .await
            .map_err(|e| format!("staging {name}: {e}"))
    }

    /// Uploads staged files to Raito, returning their keys.
    async fn upload(&self, written: &[Written]) -> Result<Vec<String>, String> {
        self.task(JobStatus::DataUpload, Vec::new(), Vec::new())
            .await;
        let mut keys = Vec::with_capacity(written.len());
        for file in written {
            let key = self
                .run
                .raito
                .upload(self.run.staging.upload(file))
                .await
                .map_err(|e| format!("uploading {} to Raito Cloud: {e}", file.location))?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// Waits for Raito's import and reports the step completed with its counts.
    async fn finish_import(
        &self,
        subtask: raito::Subtask,
        object_type: &str,
        summary: &mut StepSummary,
        first: Vec<TaskResult>,
    ) -> Result<(), String> {
        self.task(JobStatus::Queued, Vec::new(), Vec::new()).await;
        let limits = self.run.limits;
        let outcome = self
            .run
            .raito
            .wait_for_subtask(
                self.job,
                self.step,
                &subtask,
                limits.deadline,
                limits.poll_interval,
            )
            .await
            .map_err(|e| format!("importing into Raito Cloud: {e}"))?;
        for warning in outcome.result.iter().flat_map(|r| r.warnings()) {
            tracing::warn!(warning = %warning, "Raito's import reported a warning");
        }
        tracing::info!(counts = ?summary.counts, imported = ?outcome.result, "imported");
        let mut counts = first;
        counts.extend(TaskResult::from_subtask_result(
            object_type,
            &outcome.result,
        ));
        summary.imported = outcome.result;
        self.task(JobStatus::Completed, Vec::new(), counts).await;
        Ok(())
    }

    /// Records what a pipeline wrote; a skipped pipeline (which the checks before rule out) is
    /// an error.
    fn completed(outcome: Outcome, summary: &mut StepSummary) -> Result<Report, String> {
        match outcome {
            Outcome::Completed(report) => {
                summary.counts = report.counts.clone();
                summary.staged = report.written.iter().map(|w| w.location.clone()).collect();
                Ok(report)
            }
            Outcome::Skipped { reason } => Err(reason),
        }
    }

    /// The data source step: metadata, data objects, upload, import.
    async fn data_source(
        &self,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<(), String> {
        let (target, selection) = (self.run.target, self.run.selection);
        let data_source_id = target.data_source_id.clone().unwrap_or_default();
        if self
            .skipped_unless(
                summary,
                target.skip_data_source_sync,
                connector.data_source().is_some(),
                connector,
            )
            .await
        {
            return Ok(());
        }
        self.task(JobStatus::Started, Vec::new(), Vec::new()).await;
        let meta = metadata::data_source_metadata(connector, target)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        self.run
            .raito
            .set_data_source_metadata(&data_source_id, &meta)
            .await
            .map_err(|e| format!("sending the data source metadata: {e}"))?;

        self.task(JobStatus::DataRetrieve, Vec::new(), Vec::new())
            .await;
        let partial = selection.data_object_parent.is_some();
        let request = DataSourceRequest {
            data_source_id: data_source_id.clone(),
            parent: selection.data_object_parent.clone(),
            excludes: selection.data_object_excludes.clone(),
        };
        let destination = self.destination("data-objects.json").await?;
        let outcome = metadata::run(connector, target, request, destination)
            .await
            .map_err(|e| e.to_string())?;
        let report = Self::completed(outcome, summary)?;
        let keys = self.upload(&report.written).await?;
        let key = keys.first().ok_or("the data source sync wrote no file")?;
        // A partial sync must never delete what lies outside its subtree.
        let delete_untouched = target.delete_untouched && !partial;
        let subtask = self
            .run
            .raito
            .import_data_source(
                self.job,
                &data_source_id,
                delete_untouched,
                key,
                &tag_sources(connector),
            )
            .await
            .map_err(|e| format!("requesting the import: {e}"))?;
        self.finish_import(subtask, object_type::DATA_OBJECTS, summary, Vec::new())
            .await
    }

    /// The identity store step: metadata, users and groups, upload, import.
    async fn identity_store(
        &self,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<(), String> {
        let target = self.run.target;
        let identity_store_id = target.identity_store_id.clone().unwrap_or_default();
        let Some(sync) = connector
            .identity_store()
            .filter(|_| !target.skip_identity_store_sync)
        else {
            let reason = if target.skip_identity_store_sync {
                "the target sets skip-identity-store-sync".to_owned()
            } else {
                format!(
                    "the {} connector has no identity store sync",
                    connector.name()
                )
            };
            self.skipped(summary, reason).await;
            return Ok(());
        };
        self.task(JobStatus::Started, Vec::new(), Vec::new()).await;
        let meta = sync
            .metadata()
            .await
            .map_err(|e| format!("target \"{}\": {}: {e}", target.name, self.step))?;
        self.run
            .raito
            .set_identity_store_metadata(&identity_store_id, &meta)
            .await
            .map_err(|e| format!("sending the identity store metadata: {e}"))?;

        self.task(JobStatus::DataRetrieve, Vec::new(), Vec::new())
            .await;
        let users = self.destination("users.json").await?;
        let groups = self.destination("groups.json").await?;
        let outcome = identities::run(connector, target, users, groups)
            .await
            .map_err(|e| e.to_string())?;
        let report = Self::completed(outcome, summary)?;
        let keys = self.upload(&report.written).await?;
        let [users_file_key, groups_file_key] = keys.as_slice() else {
            return Err("the identity store sync did not write two files".to_owned());
        };
        let subtask = self
            .run
            .raito
            .import_identities(
                self.job,
                &identity_store_id,
                IdentityImport {
                    users_file_key,
                    groups_file_key,
                    delete_untouched: target.delete_untouched,
                    replace_groups: target.replace_groups,
                    tag_sources_scope: &tag_sources(connector),
                },
            )
            .await
            .map_err(|e| format!("requesting the import: {e}"))?;
        self.finish_import(subtask, object_type::USERS, summary, Vec::new())
            .await
    }

    /// The data usage step: Raito's `usageLastUsed`, the statements after it (stopping in time
    /// to upload, see [`usage_reserve`]), every part uploaded, one import of them all. A run
    /// with nothing new imports nothing.
    async fn data_usage(
        &self,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<(), String> {
        let target = self.run.target;
        let data_source_id = target.data_source_id.clone().unwrap_or_default();
        if self
            .skipped_unless(
                summary,
                target.skip_data_usage_sync,
                connector.usage().is_some(),
                connector,
            )
            .await
        {
            return Ok(());
        }
        self.task(JobStatus::Started, Vec::new(), Vec::new()).await;
        let dates = self
            .run
            .raito
            .data_source_usage(&data_source_id)
            .await
            .map_err(|e| format!("reading the data source's usage dates from Raito Cloud: {e}"))?;

        self.task(JobStatus::DataRetrieve, Vec::new(), Vec::new())
            .await;
        let limits = self.run.limits;
        let left = limits.deadline.saturating_duration_since(Instant::now());
        let request = UsageRequest {
            since: dates.last_used,
            deadline: Some(
                Instant::now()
                    + left.saturating_sub(limits.usage_reserve.unwrap_or(usage_reserve(left))),
            ),
        };
        let mut parts = StagedParts {
            staging: self.run.staging,
            prefix: self.staging_prefix(),
        };
        let outcome = usage::run(
            connector,
            target,
            request,
            &mut parts,
            limits.usage_part_bytes,
        )
        .await
        .map_err(|e| e.to_string())?;
        let report = Self::completed(outcome.outcome, summary)?;
        let statements = report
            .counts
            .get(usage::count::STATEMENTS)
            .copied()
            .unwrap_or(0);
        if statements == 0 {
            // Still uploaded and imported, as the Go CLI does (internal/data_usage/sync.go has
            // no emptiness check): Raito records the run.
            let since = dates
                .last_used
                .map_or("the window".to_owned(), |t| t.to_string());
            tracing::info!(since, "no new statements");
            summary.message = Some(format!("no new statements after {since}"));
        }
        let keys = self.upload(&report.written).await?;
        let subtask = self
            .run
            .raito
            .import_data_usage(self.job, &data_source_id, keys)
            .await
            .map_err(|e| format!("requesting the import: {e}"))?;
        self.finish_import(subtask, object_type::STATEMENTS, summary, Vec::new())
            .await
    }
}

impl StepContext<'_> {
    /// The data access step: the export of what Raito manages (all of it, or only what is out
    /// of sync in an `apUpdate` run) downloaded and applied, its feedback uploaded and
    /// imported; then, except in an `apUpdate` run, the target's own access imported.
    async fn data_access(
        &self,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<(), String> {
        let (target, selection) = (self.run.target, self.run.selection);
        let data_source_id = target.data_source_id.clone().unwrap_or_default();
        if self
            .skipped_unless(
                summary,
                target.skip_data_access_sync,
                connector.access().is_some(),
                connector,
            )
            .await
        {
            return Ok(());
        }
        self.task(JobStatus::Started, Vec::new(), Vec::new()).await;
        self.task(JobStatus::DataRetrieve, Vec::new(), Vec::new())
            .await;
        self.access_sync_event(JobStatus::Started, None).await;
        let exported = self
            .export_and_apply(connector, &data_source_id, summary)
            .await;
        let received = exported.as_ref().ok().and_then(|e| e.received);
        let status = if exported.is_ok() {
            JobStatus::Completed
        } else {
            JobStatus::Failed
        };
        self.access_sync_event(status, received).await;
        let exported = exported?;
        // Go reports the access providers the connector handled first (raito-io/cli
        // internal/access_provider/sync.go, accessSyncExport), then those imported.
        let exported = vec![TaskResult {
            object_type: object_type::EXPORTED_ACCESS_PROVIDERS.to_owned(),
            added: i64::try_from(exported.access_providers).unwrap_or(i64::MAX),
            updated: 0,
            removed: 0,
            failed: 0,
        }];

        // An apUpdate run never imports (cmd/run.go, handleApUpdateTrigger), nor a target with
        // skip-data-access-import.
        if selection.access_out_of_sync_only || target.settings.skip_data_access_import {
            self.task(JobStatus::Completed, Vec::new(), exported).await;
            return Ok(());
        }
        let destination = self.destination("access-providers.json").await?;
        let outcome = access::import(connector, target, destination)
            .await
            .map_err(|e| e.to_string())?;
        let applied = std::mem::take(&mut summary.counts);
        let report = Self::completed(outcome, summary)?;
        summary.counts.extend(applied);
        let keys = self.upload(&report.written).await?;
        let key = keys.first().ok_or("the access import wrote no file")?;
        let subtask = self
            .run
            .raito
            .import_access_providers(self.job, &data_source_id, target.delete_untouched, key)
            .await
            .map_err(|e| format!("requesting the access import: {e}"))?;
        self.finish_import(
            subtask,
            object_type::IMPORTED_ACCESS_PROVIDERS,
            summary,
            exported,
        )
        .await
    }

    /// Asks Raito for the export, applies it, and imports the feedback; returns what was
    /// exported.
    async fn export_and_apply(
        &self,
        connector: &dyn Connector,
        data_source_id: &str,
        summary: &mut StepSummary,
    ) -> Result<Exported, String> {
        let (raito, limits) = (self.run.raito, self.run.limits);
        let subtask = raito
            .export_access_providers(
                self.job,
                data_source_id,
                self.run.selection.access_out_of_sync_only
                    || self.run.target.settings.only_out_of_sync_data,
            )
            .await
            .map_err(|e| format!("requesting the access export: {e}"))?;
        // The Raito CLI polls an export every second.
        let interval = limits.poll_interval.min(Duration::from_secs(1));
        let outcome = raito
            .wait_for_subtask(self.job, self.step, &subtask, limits.deadline, interval)
            .await
            .map_err(|e| format!("exporting the access from Raito Cloud: {e}"))?;
        let Some(raito::SubtaskResult::AccessProviderExport {
            file_location: Some(url),
            ..
        }) = outcome.result
        else {
            return Err("Raito's export finished without a file location".to_owned());
        };
        self.access_sync_event(JobStatus::InProgress, None).await;
        let input = access::ExportInput::Url {
            http: raito.http().clone(),
            url,
        };
        let feedback = self.destination("access-feedback.json").await?;
        let mut log = |outcome: &connector::AccessOutcome| {
            for statement in &outcome.statements {
                tracing::debug!(
                    access_provider = %outcome.feedback.access_provider,
                    statement = %statement,
                    "executed"
                );
            }
        };
        let applied = access::apply(
            connector,
            self.run.target,
            &input,
            ApplyMode::Apply,
            Some(feedback),
            &mut log,
        )
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the connector has no data access sync")?;
        summary.counts = applied.report.counts.clone();
        summary.staged = applied
            .report
            .written
            .iter()
            .map(|w| w.location.clone())
            .collect();
        let failed = summary
            .counts
            .get(access::count::FAILED)
            .copied()
            .unwrap_or(0);
        if failed > 0 {
            summary.message = Some(format!(
                "{failed} access provider(s) could not be applied; their errors are in their \
                 feedback"
            ));
        }
        // An empty feedback file is still uploaded and imported, as the Go CLI does
        // (internal/access_provider/sync.go has no emptiness check).
        let access_providers = applied.report.written.iter().map(|w| w.elements).sum();
        let keys = self.upload(&applied.report.written).await?;
        let key = keys.first().ok_or("the apply wrote no feedback file")?;
        let subtask = raito
            .import_access_feedback(self.job, data_source_id, key)
            .await
            .map_err(|e| format!("requesting the feedback import: {e}"))?;
        let outcome = raito
            .wait_for_subtask(
                self.job,
                self.step,
                &subtask,
                limits.deadline,
                limits.poll_interval,
            )
            .await
            .map_err(|e| format!("importing the access feedback into Raito Cloud: {e}"))?;
        for warning in outcome.result.iter().flat_map(|r| r.warnings()) {
            tracing::warn!(warning = %warning, "Raito's feedback import reported a warning");
        }
        Ok(Exported {
            received: applied.header.file_build_time,
            access_providers,
        })
    }

    /// The client-side `AccessSync` subtask event; failures are only logged, as Raito ignores
    /// them.
    async fn access_sync_event(&self, status: JobStatus, received: Option<i64>) {
        if let Err(error) = self
            .run
            .raito
            .add_access_sync_event(self.job, self.job_target, status, received)
            .await
        {
            tracing::warn!(%error, ?status, "could not report the AccessSync subtask event");
        }
    }
}

/// What the export side of an access step did.
struct Exported {
    /// The export's `fileBuildTime`, reported back as the `AccessSync` subtask's receivedDate.
    received: Option<i64>,
    /// The access providers in the export (one feedback element each).
    access_providers: u64,
}

/// The usage parts of one step, staged as `<job>/<target>/usage-0001.json`, ….
struct StagedParts<'a> {
    staging: &'a Staging,
    prefix: String,
}

#[async_trait::async_trait]
impl usage::Parts for StagedParts<'_> {
    async fn open(&mut self, number: u32) -> Result<Destination, output::Error> {
        self.staging
            .destination(&format!("{}/usage-{number:04}.json", self.prefix))
            .await
    }
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
