//! The data source step: the data source's metadata, then its data objects (all of them, or
//! the subtree of a partial sync) imported into Raito.

use super::{Body, Retrieved, StepContext, completed, data_source_id};
use crate::config::Target;
use crate::connector::{Connector, DataSourceRequest};
use crate::raito::{self, object_type};
use crate::sync::failure::StepError;
use crate::sync::metadata;
use crate::sync::run::StepSummary;

pub(super) struct DataSource;

#[async_trait::async_trait]
impl Body for DataSource {
    fn target_skips(&self, target: &Target) -> bool {
        target.skip_data_source_sync
    }

    fn supported(&self, connector: &dyn Connector) -> bool {
        connector.data_source().is_some()
    }

    async fn prepare(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
    ) -> Result<(), StepError> {
        let target = cx.run.target;
        let meta = metadata::data_source_metadata(connector, target)
            .await?
            .unwrap_or_default();
        cx.run
            .raito
            .set_data_source_metadata(data_source_id(target), &meta)
            .await
            .map_err(StepError::raito("sending the data source metadata"))
    }

    async fn retrieve(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<Retrieved, StepError> {
        let (target, selection) = (cx.run.target, cx.run.selection);
        let request = DataSourceRequest {
            data_source_id: data_source_id(target).to_owned(),
            parent: selection.data_object_parent.clone(),
            excludes: selection.data_object_excludes.clone(),
        };
        let destination = cx.destination("data-objects.json").await?;
        let outcome = metadata::run(connector, target, request, destination).await?;
        Ok(Retrieved::Import {
            report: completed(outcome, summary)?,
            first: Vec::new(),
        })
    }

    async fn import(
        &self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        keys: Vec<String>,
    ) -> Result<raito::Subtask, StepError> {
        let target = cx.run.target;
        let key = keys
            .first()
            .ok_or_else(|| StepError::Unexpected("the data source sync wrote no file".into()))?;
        // A partial sync must never delete what lies outside its subtree.
        let partial = cx.run.selection.data_object_parent.is_some();
        let delete_untouched = target.delete_untouched && !partial;
        cx.run
            .raito
            .import_data_source(
                cx.job,
                data_source_id(target),
                delete_untouched,
                key,
                &connector.tag_source().into_iter().collect::<Vec<_>>(),
            )
            .await
            .map_err(StepError::raito("requesting the import"))
    }

    fn object_type(&self) -> &'static str {
        object_type::DATA_OBJECTS
    }
}
