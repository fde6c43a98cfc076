//! The data access step: the export of what Raito manages (all of it, or only what is out of
//! sync in an `apUpdate` run) downloaded and applied, its feedback uploaded and imported; then,
//! except in an `apUpdate` run, the target's own access imported.

use super::{Body, Retrieved, StepContext, completed, data_source_id};
use crate::config::Target;
use crate::connector::{self, ApplyMode, Connector};
use crate::raito::{self, JobStatus, TaskResult, object_type};
use crate::sync::access;
use crate::sync::failure::StepError;
use crate::sync::run::StepSummary;

pub(super) struct DataAccess;

#[async_trait::async_trait]
impl Body for DataAccess {
    fn target_skips(&self, target: &Target) -> bool {
        target.skip_data_access_sync
    }

    fn supported(&self, connector: &dyn Connector) -> bool {
        connector.access().is_some()
    }

    async fn retrieve(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<Retrieved, StepError> {
        let (target, selection) = (cx.run.target, cx.run.selection);
        access_sync_event(cx, JobStatus::Started, None).await;
        let exported = export_and_apply(cx, connector, summary).await;
        let received = exported.as_ref().ok().and_then(|e| e.received);
        let status = if exported.is_ok() {
            JobStatus::Completed
        } else {
            JobStatus::Failed
        };
        access_sync_event(cx, status, received).await;
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
            return Ok(Retrieved::Done(exported));
        }
        let destination = cx.destination("access-providers.json").await?;
        let outcome = access::import(connector, target, destination).await?;
        let applied = std::mem::take(&mut summary.counts);
        let report = completed(outcome, summary)?;
        summary.counts.extend(applied);
        Ok(Retrieved::Import {
            report,
            first: exported,
        })
    }

    async fn import(
        &self,
        cx: &StepContext<'_>,
        _connector: &dyn Connector,
        keys: Vec<String>,
    ) -> Result<raito::Subtask, StepError> {
        let target = cx.run.target;
        let key = keys
            .first()
            .ok_or_else(|| StepError::Unexpected("the access import wrote no file".into()))?;
        cx.run
            .raito
            .import_access_providers(cx.job, data_source_id(target), target.delete_untouched, key)
            .await
            .map_err(StepError::raito("requesting the access import"))
    }

    fn object_type(&self) -> &'static str {
        object_type::IMPORTED_ACCESS_PROVIDERS
    }
}

/// What the export side of an access step did.
struct Exported {
    /// The export's `fileBuildTime`, reported back as the `AccessSync` subtask's receivedDate.
    received: Option<i64>,
    /// The access providers in the export (one feedback element each).
    access_providers: u64,
}

/// Asks Raito for the export, applies it, and imports the feedback; returns what was exported.
async fn export_and_apply(
    cx: &StepContext<'_>,
    connector: &dyn Connector,
    summary: &mut StepSummary,
) -> Result<Exported, StepError> {
    let (raito, limits, target) = (cx.run.raito, cx.run.limits, cx.run.target);
    let data_source_id = data_source_id(target);
    let input = access::request_export(
        raito,
        cx.job,
        data_source_id,
        cx.run.selection.access_out_of_sync_only || target.settings.only_out_of_sync_data,
        limits.deadline,
        limits.poll_interval,
    )
    .await?;
    access_sync_event(cx, JobStatus::InProgress, None).await;
    let feedback = cx.destination("access-feedback.json").await?;
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
        target,
        &input,
        ApplyMode::Apply,
        Some(feedback),
        &mut log,
    )
    .await?
    .ok_or_else(|| StepError::Unexpected("the connector has no data access sync".into()))?;
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
    let keys = cx.upload(&applied.report.written).await?;
    let key = keys
        .first()
        .ok_or_else(|| StepError::Unexpected("the apply wrote no feedback file".into()))?;
    let subtask = raito
        .import_access_feedback(cx.job, data_source_id, key)
        .await
        .map_err(StepError::raito("requesting the feedback import"))?;
    let outcome = cx
        .wait(&subtask, limits.poll_interval)
        .await
        .map_err(StepError::raito(
            "importing the access feedback into Raito Cloud",
        ))?;
    for warning in outcome.result.iter().flat_map(|r| r.warnings()) {
        tracing::warn!(warning = %warning, "Raito's feedback import reported a warning");
    }
    Ok(Exported {
        received: applied.header.file_build_time,
        access_providers,
    })
}

/// The client-side `AccessSync` subtask event; failures are only logged, as Raito ignores them.
async fn access_sync_event(cx: &StepContext<'_>, status: JobStatus, received: Option<i64>) {
    if let Err(error) = cx
        .run
        .raito
        .add_access_sync_event(cx.job, cx.job_target, status, received)
        .await
    {
        tracing::warn!(%error, ?status, "could not report the AccessSync subtask event");
    }
}
