//! The identity store step: the identity store's metadata, then its users and groups imported
//! into Raito.

use super::{Body, Retrieved, StepContext, completed};
use crate::config::Target;
use crate::connector::Connector;
use crate::raito::{self, IdentityImport, object_type};
use crate::sync::failure::StepError;
use crate::sync::run::StepSummary;
use crate::sync::{self, identities};

pub(super) struct IdentityStore;

#[async_trait::async_trait]
impl Body for IdentityStore {
    fn target_skips(&self, target: &Target) -> bool {
        target.skip_identity_store_sync
    }

    fn supported(&self, connector: &dyn Connector) -> bool {
        connector.identity_store().is_some()
    }

    async fn prepare(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
    ) -> Result<(), StepError> {
        let target = cx.run.target;
        let Some(sync) = connector.identity_store() else {
            return Err(StepError::Unexpected(format!(
                "the {} connector has no identity store sync",
                connector.name()
            )));
        };
        let meta = sync
            .metadata()
            .await
            .map_err(|e| sync::Error::connector(&target.name, cx.step, e))?;
        cx.run
            .raito
            .set_identity_store_metadata(identity_store_id(target), &meta)
            .await
            .map_err(StepError::raito("sending the identity store metadata"))
    }

    async fn retrieve(
        &mut self,
        cx: &StepContext<'_>,
        connector: &dyn Connector,
        summary: &mut StepSummary,
    ) -> Result<Retrieved, StepError> {
        let users = cx.destination("users.json").await?;
        let groups = cx.destination("groups.json").await?;
        let outcome = identities::run(connector, cx.run.target, users, groups).await?;
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
        let [users_file_key, groups_file_key] = keys.as_slice() else {
            return Err(StepError::Unexpected(
                "the identity store sync did not write two files".into(),
            ));
        };
        cx.run
            .raito
            .import_identities(
                cx.job,
                identity_store_id(target),
                IdentityImport {
                    users_file_key,
                    groups_file_key,
                    delete_untouched: target.delete_untouched,
                    replace_groups: target.replace_groups,
                    tag_sources_scope: &connector.tag_source().into_iter().collect::<Vec<_>>(),
                },
            )
            .await
            .map_err(StepError::raito("requesting the import"))
    }

    fn object_type(&self) -> &'static str {
        object_type::USERS
    }
}

/// The target's `identity-store-id` (the run only starts this step for a target that has
/// one).
fn identity_store_id(target: &Target) -> &str {
    target.identity_store_id.as_deref().unwrap_or_default()
}
