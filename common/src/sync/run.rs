//! A run over the targets of a `raito.yml`, reported to Raito Cloud: for each target a job,
//! its task events, the staged file uploaded and imported, and at the end
//! `endOfTargetsSync`. One target's failure is recorded and the next target still runs. The
//! Lambda functions and `raito-sync run` both come through here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use super::staging::Staging;
use super::{Outcome, metadata};
use crate::config::{Config, Target};
use crate::connector::{self, DataSourceRequest, Step};
use crate::raito::{self, JobId, JobStatus, JobTarget, TaskEvent, TaskResult};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Target names; empty means every target.
    pub targets: Vec<String>,
    /// Only the targets of this data source (Raito's id), e.g. from a `syncTrigger`.
    pub data_source: Option<String>,
    /// A partial data source sync below this object (no deletes outside it).
    pub data_object_parent: Option<String>,
    /// Subtrees left out of a partial sync.
    pub data_object_excludes: Vec<String>,
}

/// How long a run may take and how it waits for Raito.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The run stops with a time-out error at this instant (a Lambda's deadline minus a
    /// margin), marking the running job failed, instead of being killed.
    pub deadline: Instant,
    /// Pause between two polls of an import's progress (5 s in the Raito CLI).
    pub poll_interval: Duration,
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
    /// Completed, skipped or failed.
    pub status: TargetStatus,
    /// Raito's job id, once the job was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Elements written, by type (data object types for the data source sync).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// Where the file was staged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged: Option<String>,
    /// What Raito's import reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<raito::SubtaskResult>,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How a target ended.
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
}

/// The targets of `config` that `selection` names, in configuration order.
pub fn select<'a>(config: &'a Config, selection: &Selection) -> Result<Vec<&'a Target>, RunError> {
    for name in &selection.targets {
        if config.target(name).is_none() {
            return Err(RunError::UnknownTarget {
                name: name.clone(),
                available: config
                    .targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let selected: Vec<&Target> = config
        .targets
        .iter()
        .filter(|t| selection.targets.is_empty() || selection.targets.contains(&t.name))
        .filter(|t| {
            selection
                .data_source
                .as_ref()
                .is_none_or(|ds| t.data_source_id.as_ref() == Some(ds))
        })
        .collect();
    if let Some(ds) = &selection.data_source
        && selected.is_empty()
    {
        return Err(RunError::UnknownDataSource(ds.clone()));
    }
    Ok(selected)
}

/// Runs the data source sync of every selected target and reports it to Raito Cloud.
pub async fn data_source_syncs(
    raito: &raito::Client,
    config: &Config,
    selection: &Selection,
    staging: &Staging,
    limits: Limits,
) -> Result<RunSummary, RunError> {
    let started = std::time::Instant::now();
    let targets = select(config, selection)?;
    let mut summary = RunSummary::default();
    let mut jobs = Vec::new();
    for target in targets {
        let span = tracing::info_span!("target", target = %target.name, step = "data-source");
        let result = data_source_target(raito, target, selection, staging, limits)
            .instrument(span)
            .await;
        if let Some(job) = &result.job_id {
            jobs.push(JobId::from(job.clone()));
        }
        summary.targets.push(result);
    }
    if !jobs.is_empty() {
        // Raito starts its post-processing here; a failure does not undo the imports.
        if let Err(error) = raito.end_of_targets_sync(&jobs).await {
            tracing::warn!(%error, "endOfTargetsSync failed");
        }
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

fn summary(name: &str, status: TargetStatus, message: Option<String>) -> TargetSummary {
    TargetSummary {
        name: name.to_owned(),
        status,
        job_id: None,
        counts: BTreeMap::new(),
        staged: None,
        imported: None,
        message,
    }
}

async fn data_source_target(
    raito: &raito::Client,
    target: &Target,
    selection: &Selection,
    staging: &Staging,
    limits: Limits,
) -> TargetSummary {
    let Some(data_source_id) = target.data_source_id.clone() else {
        let reason = "the target has no data-source-id".to_owned();
        tracing::info!(reason, "target skipped");
        return summary(&target.name, TargetStatus::Skipped, Some(reason));
    };
    let job_target = JobTarget::DataSource(data_source_id.clone());
    let job = match raito.create_job(&job_target).await {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(%error, "could not create the job");
            return summary(
                &target.name,
                TargetStatus::Failed,
                Some(format!("creating the job in Raito Cloud: {error}")),
            );
        }
    };
    let mut result = summary(&target.name, TargetStatus::Completed, None);
    result.job_id = Some(job.to_string());
    report_job(raito, &job, &job_target, JobStatus::InProgress, Vec::new()).await;

    let step = DataSourceStep {
        raito,
        job: &job,
        target,
        data_source_id: &data_source_id,
        job_target: &job_target,
        staging,
        limits,
    };
    let outcome = tokio::time::timeout_at(limits.deadline, step.run(selection, &mut result)).await;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(message)) => Some(message),
        Err(_) => Some(
            "stopped before the function's deadline: the data source sync did not finish in time \
             (raise the function's timeout or sync fewer objects per target)"
                .to_owned(),
        ),
    };
    match error {
        None => {
            report_job(raito, &job, &job_target, JobStatus::Completed, Vec::new()).await;
        }
        Some(message) => {
            tracing::error!(error = %message, "data source sync failed");
            step.task(JobStatus::Failed, vec![message.clone()], Vec::new())
                .await;
            report_job(
                raito,
                &job,
                &job_target,
                JobStatus::Failed,
                vec![message.clone()],
            )
            .await;
            result.status = TargetStatus::Failed;
            result.message = Some(message);
        }
    }
    result
}

/// Updates the job; Raito ignores failures of this call, and so does the run (the task events
/// carry the details).
async fn report_job(
    raito: &raito::Client,
    job: &JobId,
    target: &JobTarget,
    status: JobStatus,
    errors: Vec<String>,
) {
    if let Err(error) = raito.update_job(job, target, status, errors).await {
        tracing::warn!(%error, ?status, "could not update the job");
    }
}

struct DataSourceStep<'a> {
    raito: &'a raito::Client,
    job: &'a JobId,
    target: &'a Target,
    data_source_id: &'a str,
    job_target: &'a JobTarget,
    staging: &'a Staging,
    limits: Limits,
}

impl DataSourceStep<'_> {
    async fn task(&self, status: JobStatus, errors: Vec<String>, result: Vec<TaskResult>) {
        let event = TaskEvent {
            job_id: self.job.clone(),
            job_type: Step::DataSource,
            target: self.job_target.clone(),
            status,
            errors,
            warnings: Vec::new(),
            result,
        };
        if let Err(error) = self.raito.add_task_event(&event).await {
            tracing::warn!(%error, ?status, "could not report the task event");
        }
    }

    /// The step; an error comes back as the message reported to Raito.
    async fn run(&self, selection: &Selection, summary: &mut TargetSummary) -> Result<(), String> {
        let connector = connector::build(self.target).map_err(|e| e.to_string())?;
        if self.target.skip_data_source_sync || connector.data_source().is_none() {
            self.task(JobStatus::Skipped, Vec::new(), Vec::new()).await;
            summary.status = TargetStatus::Skipped;
            summary.message = Some(if self.target.skip_data_source_sync {
                "the target sets skip-data-source-sync".to_owned()
            } else {
                format!("the {} connector has no data source sync", connector.name())
            });
            return Ok(());
        }
        self.task(JobStatus::Started, Vec::new(), Vec::new()).await;

        let meta = metadata::data_source_metadata(connector.as_ref(), self.target)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        self.raito
            .set_data_source_metadata(self.data_source_id, &meta)
            .await
            .map_err(|e| format!("sending the data source metadata: {e}"))?;

        self.task(JobStatus::DataRetrieve, Vec::new(), Vec::new())
            .await;
        let partial = selection.data_object_parent.is_some();
        let request = DataSourceRequest {
            data_source_id: self.data_source_id.to_owned(),
            parent: selection.data_object_parent.clone(),
            excludes: selection.data_object_excludes.clone(),
        };
        let name = format!(
            "{}/{}/data-objects.json",
            self.job,
            file_safe(&self.target.name)
        );
        let destination = self
            .staging
            .destination(&name)
            .await
            .map_err(|e| format!("staging the file: {e}"))?;
        let report = match metadata::run(connector.as_ref(), self.target, request, destination)
            .await
            .map_err(|e| e.to_string())?
        {
            Outcome::Completed(report) => report,
            Outcome::Skipped { reason } => return Err(reason),
        };
        summary.counts = report.counts.clone();
        let written = report
            .written
            .first()
            .ok_or("the data source sync wrote no file")?;
        summary.staged = Some(written.location.clone());

        self.task(JobStatus::DataUpload, Vec::new(), Vec::new())
            .await;
        let key = self
            .raito
            .upload(self.staging.upload(written))
            .await
            .map_err(|e| format!("uploading {} to Raito Cloud: {e}", written.location))?;
        // A partial sync must never delete what lies outside its subtree.
        let delete_untouched = self.target.delete_untouched && !partial;
        let subtask = self
            .raito
            .import_data_source(self.job, self.data_source_id, delete_untouched, &key)
            .await
            .map_err(|e| format!("requesting the import: {e}"))?;
        self.task(JobStatus::Queued, Vec::new(), Vec::new()).await;
        let outcome = self
            .raito
            .wait_for_subtask(
                self.job,
                Step::DataSource,
                &subtask,
                self.limits.deadline,
                self.limits.poll_interval,
            )
            .await
            .map_err(|e| format!("importing into Raito Cloud: {e}"))?;
        let counts = TaskResult::from_subtask_result("dataobject", &outcome.result);
        summary.imported = outcome.result.clone();
        for warning in outcome.result.iter().flat_map(|r| r.warnings()) {
            tracing::warn!(warning = %warning, "Raito's import reported a warning");
        }
        tracing::info!(
            objects = written.elements,
            imported = ?outcome.result,
            "data source sync imported"
        );
        self.task(JobStatus::Completed, Vec::new(), counts).await;
        Ok(())
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
