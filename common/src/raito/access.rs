//! The access side of Raito: the export of the access providers Raito manages
//! (`exportAccessProvidersRequest`, whose subtask result carries the file's location), the
//! client-side `AccessSync` subtask events around applying it, and the two imports: the
//! feedback of an applied export and the access found in the target.

use serde_json::Value;

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{
    self, AddSubtaskEvent, ExportAccessProvidersRequest, add_subtask_event,
    export_access_providers_request, import_access_providers_request,
    import_access_providers_sync_feedback,
};
use super::jobs::{JobId, JobTarget, Subtask, now};
use super::status::JobStatus;
use crate::step::Step;

/// The id the Raito CLI gives the client-side subtask of an export.
pub const ACCESS_SYNC_SUBTASK: &str = "AccessSync";

impl Client {
    /// `exportAccessProvidersRequest`: asks Raito to export the access providers of data source
    /// `data_source_id`; with `out_of_sync_only` (an `apUpdate` run) only those not yet
    /// applied. Poll the subtask with [`Client::wait_for_subtask`]: its result carries the
    /// file's location. Not idempotent (it starts an export).
    pub async fn export_access_providers(
        &self,
        job: &JobId,
        data_source_id: &str,
        out_of_sync_only: bool,
    ) -> Result<Subtask, Error> {
        const OPERATION: &str = "exportAccessProvidersRequest";
        use export_access_providers_request as op;
        let variables = op::Variables {
            filter: op::AccessProviderExportRequestFilter {
                status: out_of_sync_only.then_some(op::AccessProviderExportStatusFilter {
                    out_of_sync: Some(true),
                }),
                export_properties: None,
            },
            input: op::AccessProviderExportRequest {
                job_id: job.as_str().to_owned(),
                export_settings: op::AccessProviderExportSettings {
                    data_source: data_source_id.to_owned(),
                },
            },
        };
        let data = self
            .graphql::<ExportAccessProvidersRequest>(
                OPERATION,
                Idempotency::NotIdempotent,
                variables,
            )
            .await?;
        data.export_access_providers_request
            .and_then(|response| response.subtask)
            .map(|subtask| Subtask {
                subtask_id: subtask.subtask_id,
                status: subtask.status,
            })
            .ok_or_else(|| Error::Decode {
                operation: OPERATION,
                message: "the answer has no subtask".to_owned(),
            })
    }

    /// `addSubtaskEvent` for the `AccessSync` subtask of an export: `received_date` is the
    /// export's build time when known. Raito ignores failures of this call; so may callers.
    pub async fn add_access_sync_event(
        &self,
        job: &JobId,
        target: &JobTarget,
        status: JobStatus,
        received_date: Option<i64>,
    ) -> Result<(), Error> {
        let (data_source_id, identity_store_id) = target.ids();
        let variables = add_subtask_event::Variables {
            input: add_subtask_event::SubtaskInput {
                job_id: job.as_str().to_owned(),
                job_type: Step::DataAccess.job_type().to_owned(),
                subtask_id: ACCESS_SYNC_SUBTASK.to_owned(),
                data_source_id,
                identity_store_id,
                status,
                event_time: now(),
                received_date,
            },
        };
        self.graphql::<AddSubtaskEvent>("addSubtaskEvent", Idempotency::NotIdempotent, variables)
            .await?;
        Ok(())
    }

    /// `importAccessProvidersSyncFeedback`: starts importing the uploaded feedback file
    /// `file_key` of an applied export. Not idempotent.
    pub async fn import_access_feedback(
        &self,
        job: &JobId,
        data_source_id: &str,
        file_key: &str,
    ) -> Result<Subtask, Error> {
        use import_access_providers_sync_feedback as op;
        let document = graphql::inline(
            op::QUERY,
            &[
                ("jobId", job.as_str()),
                ("dataSource", data_source_id),
                ("fileKey", file_key),
            ],
        );
        self.subtask_request(
            "importAccessProvidersSyncFeedback",
            document,
            op::OPERATION_NAME,
            &Value::Object(Default::default()),
            |data: op::ResponseData| {
                let subtask = data.import_access_providers_sync_feedback?.subtask?;
                Some(Subtask {
                    subtask_id: subtask.subtask_id,
                    status: subtask.status,
                })
            },
        )
        .await
    }

    /// `importAccessProvidersRequest`: starts importing the uploaded file `file_key` of the
    /// access found in the target; `delete_untouched` removes what the file no longer has.
    /// Not idempotent.
    pub async fn import_access_providers(
        &self,
        job: &JobId,
        data_source_id: &str,
        delete_untouched: bool,
        file_key: &str,
    ) -> Result<Subtask, Error> {
        use import_access_providers_request as op;
        let document = graphql::inline(
            op::QUERY,
            &[
                ("jobId", job.as_str()),
                ("dataSource", data_source_id),
                ("fileKey", file_key),
            ],
        );
        self.subtask_request(
            "importAccessProvidersRequest",
            document,
            op::OPERATION_NAME,
            &op::Variables { delete_untouched },
            |data: op::ResponseData| {
                let subtask = data.import_access_providers_request?.subtask?;
                Some(Subtask {
                    subtask_id: subtask.subtask_id,
                    status: subtask.status,
                })
            },
        )
        .await
    }
}
