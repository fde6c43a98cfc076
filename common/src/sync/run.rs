//! A run over the targets of a `raito.yml`, reported to Raito Cloud: for each target a job,
//! and for each step (data source, identity store, data access, data usage) its task events, the staged
//! files uploaded and imported; at the end `endOfTargetsSync`. A failing step stops the later steps of its
//! target; the next target still runs. The Lambda functions and `raito-sync run` both come
//! through here.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use super::failure::{ErrorKind, StepError};
use super::staging::Staging;
use super::step::StepContext;
use super::usage;
use crate::config::cli::LogForwarding;
use crate::config::{Config, Target};
use crate::connectors;
use crate::metrics;
use crate::raito::{self, JobId, JobStatus, JobTarget};
use crate::step::Step;

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

    /// What a failed run reports as Lambda's `errorType`, `None` when no target failed: the
    /// [`ErrorKind`] of the failed targets when they share one; else `RetryableTargetsFailed`
    /// when each of them may pass when run again, `TargetsFailed` when not.
    pub fn error_type(&self) -> Option<&'static str> {
        let kinds: BTreeSet<ErrorKind> = self
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Failed)
            .map(|t| t.error_kind.unwrap_or(ErrorKind::Unexpected))
            .collect();
        match kinds.first() {
            None => None,
            Some(kind) if kinds.len() == 1 => Some(kind.as_str()),
            Some(_) if kinds.iter().all(|k| k.is_transient()) => Some("RetryableTargetsFailed"),
            Some(_) => Some("TargetsFailed"),
        }
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
    /// What kind of failure it was (with `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
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
    /// What kind of failure it was (with `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    /// Wall time of the step, in milliseconds.
    pub elapsed_ms: u64,
    /// Elements written, and statements and requests sent to the target ([`metrics`]).
    pub counted: metrics::Counted,
    /// The data usage step, when it completed: the start of the newest statement Raito has
    /// (epoch seconds), what this run imported or, with nothing new, what Raito had before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_last_start: Option<i64>,
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
                    // Missing credentials or an invalid client setting: a person must fix them.
                    error_kind: Some(ErrorKind::RaitoSettings),
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

/// One target of a run (its steps are run by [`super::step`]).
pub(super) struct TargetRun<'a> {
    pub(super) raito: &'a raito::Client,
    pub(super) target: &'a Target,
    pub(super) selection: &'a Selection,
    pub(super) staging: &'a Staging,
    pub(super) limits: Limits,
    pub(super) log_forwarding: &'a LogForwarding,
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
            error_kind: None,
        };
        // Only the steps this target has an id for; the others are not Raito's to run.
        let (data_source, identity_store) = (
            target.data_source_id.as_deref(),
            target.identity_store_id.as_deref(),
        );
        let mut missing = Vec::new();
        let wanted: Vec<Step> = Step::ORDER
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
                result.error_kind = Some(ErrorKind::of_raito(&error));
                return result;
            }
        };
        result.job_id = Some(job.to_string());
        self.report_job(&job, &job_target, JobStatus::InProgress, Vec::new())
            .await;

        // Built once for all steps; a bad parameter fails the first step.
        let connector = connectors::build(target);
        let context = |step| {
            let context = StepContext {
                run: self,
                job: &job,
                job_target: &job_target,
                step,
            };
            (context, tracing::info_span!("step", step = step.name()))
        };
        for &step in &wanted {
            let Ok(connector) = &connector else { break };
            let (context, span) = context(step);
            let summary = context.run(connector.as_ref()).instrument(span).await;
            let failed = summary.status == TargetStatus::Failed;
            result.steps.push(summary);
            if failed {
                break;
            }
        }
        if let (Err(error), Some(&step)) = (connector, wanted.first()) {
            let (context, span) = context(step);
            let summary = context
                .failed_to_start(StepError::Connector(error))
                .instrument(span)
                .await;
            result.steps.push(summary);
        }
        let failure = result
            .steps
            .last()
            .filter(|s| s.status == TargetStatus::Failed)
            .map(|s| (s.message.clone().unwrap_or_default(), s.error_kind));
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
            Some((message, kind)) => {
                self.report_job(&job, &job_target, JobStatus::Failed, vec![message.clone()])
                    .await;
                result.status = TargetStatus::Failed;
                result.message = Some(message);
                result.error_kind = kind;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(status: TargetStatus, error_kind: Option<ErrorKind>) -> TargetSummary {
        TargetSummary {
            name: "t".into(),
            status,
            job_id: None,
            steps: Vec::new(),
            message: None,
            error_kind,
        }
    }

    fn error_type(targets: Vec<TargetSummary>) -> Option<&'static str> {
        RunSummary {
            targets,
            elapsed_ms: 0,
        }
        .error_type()
    }

    #[test]
    fn a_run_reports_the_kind_its_failed_targets_share_or_whether_all_may_pass_again() {
        use ErrorKind::*;
        use TargetStatus::{Completed, Failed, Skipped};
        assert_eq!(error_type(vec![target(Completed, None)]), None);
        assert_eq!(
            error_type(vec![target(Skipped, None), target(Completed, None)]),
            None
        );
        // One kind: that kind, retryable or not.
        assert_eq!(
            error_type(vec![
                target(Failed, Some(Connector)),
                target(Completed, None),
                target(Failed, Some(Connector))
            ]),
            Some("RetryableConnector")
        );
        assert_eq!(
            error_type(vec![target(Failed, Some(Config))]),
            Some("InvalidConfig")
        );
        // Several kinds, each transient: retryable as a whole.
        assert_eq!(
            error_type(vec![
                target(Failed, Some(Connector)),
                target(Failed, Some(RaitoTransient))
            ]),
            Some("RetryableTargetsFailed")
        );
        // One of them needs a person: not retryable.
        assert_eq!(
            error_type(vec![
                target(Failed, Some(Connector)),
                target(Failed, Some(Permissions))
            ]),
            Some("TargetsFailed")
        );
        // A failed target always has a kind; one without counts as unexpected.
        assert_eq!(error_type(vec![target(Failed, None)]), Some("Unexpected"));
    }

    #[test]
    fn a_failed_summary_names_its_kind() {
        let json =
            serde_json::to_value(target(TargetStatus::Failed, Some(ErrorKind::TimedOut))).unwrap();
        assert_eq!(json["errorKind"], "TimedOut");
        assert_eq!(json["status"], "failed");
        let json = serde_json::to_value(target(TargetStatus::Completed, None)).unwrap();
        assert!(json.get("errorKind").is_none(), "{json}");
    }
}
