//! The data usage step: Raito's `usageLastUsed`, the statements after it (stopping in time to
//! upload, see [`usage_reserve`]), every part uploaded, one import of them all. A run with
//! nothing new still imports its empty part, as the Go CLI does.

use tokio::time::Instant;

use super::{Body, Retrieved, StepContext, completed, data_source_id};
use crate::config::Target;
use crate::connector::{Connector, UsageRequest};
use crate::output::{self, Destination};
use crate::raito::{self, object_type};
use crate::sync::failure::StepError;
use crate::sync::run::{StepSummary, usage_reserve};
use crate::sync::usage;

#[derive(Default)]
pub(super) struct DataUsage {
    /// Raito's last statement time for the data source (epoch seconds), read in `prepare`.
    last_used: Option<i64>,
}

#[async_trait::async_trait]
impl Body for DataUsage {
    fn target_skips(&self, target: &Target) -> bool {
        target.skip_data_usage_sync
    }

    fn supported(&self, connector: &dyn Connector) -> bool {
        connector.usage().is_some()
    }

    async fn prepare(
        &mut self,
        cx: &StepContext<'_>,
        _connector: &dyn Connector,
    ) -> Result<(), StepError> {
        let dates = cx
            .run
            .raito
            .data_source_usage(data_source_id(cx.run.target))
            .await
            .map_err(StepError::raito(
                "reading the data source's usage dates from Raito Cloud",
            ))?;
        self.last_used = dates.last_used;
        Ok(())
    }

    async fn retrieve(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<Retrieved, StepError> {
        let limits = cx.run.limits;
        let left = limits.deadline.saturating_duration_since(Instant::now());
        let request = UsageRequest {
            since: self.last_used,
            deadline: Some(
                Instant::now()
                    + left.saturating_sub(limits.usage_reserve.unwrap_or(usage_reserve(left))),
            ),
        };
        let mut parts = StagedParts {
            staging: cx.run.staging,
            prefix: cx.staging_prefix(),
        };
        let outcome = usage::run(
            connector,
            cx.run.target,
            request,
            &mut parts,
            limits.usage_part_bytes,
        )
        .await?;
        let report = completed(outcome.outcome, summary)?;
        summary.usage_last_start = outcome.last_start_time.or(self.last_used);
        let statements = report
            .counts
            .get(usage::count::STATEMENTS)
            .copied()
            .unwrap_or(0);
        if statements == 0 {
            // Still uploaded and imported, as the Go CLI does (internal/data_usage/sync.go has
            // no emptiness check): Raito records the run.
            let since = self
                .last_used
                .map_or("the window".to_owned(), |t| t.to_string());
            tracing::info!(since, "no new statements");
            summary.message = Some(format!("no new statements after {since}"));
        }
        Ok(Retrieved::Import {
            report,
            first: Vec::new(),
        })
    }

    async fn import(
        &self,
        cx: &StepContext<'_>,
        _connector: &dyn Connector,
        keys: Vec<String>,
    ) -> Result<raito::Subtask, StepError> {
        cx.run
            .raito
            .import_data_usage(cx.job, data_source_id(cx.run.target), keys)
            .await
            .map_err(StepError::raito("requesting the import"))
    }

    fn object_type(&self) -> &'static str {
        object_type::STATEMENTS
    }
}

/// The usage parts of one step, staged as `<job>/<target>/usage-0001.json`, ….
struct StagedParts<'a> {
    staging: &'a crate::sync::staging::Staging,
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
