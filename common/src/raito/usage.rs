//! The usage side of Raito: the dates of the usage Raito already has for a data source
//! (`dataSource(id){usageLastUsed usageFirstUsed}`), where an incremental usage sync starts,
//! and `importDataUsageRequest` with every uploaded part.

use std::borrow::Cow;

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{self, ImportDataUsageRequest, data_source_usage, import_data_usage_request};
use super::jobs::{JobId, Subtask};

/// The usage Raito has for a data source, unix epoch seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDates {
    /// The start of the oldest statement imported, if any.
    pub first_used: Option<i64>,
    /// The start of the newest statement imported, if any: an incremental sync continues
    /// after it.
    pub last_used: Option<i64>,
}

/// An RFC 3339 time as epoch seconds; empty, null or unreadable means none (as in the Raito
/// CLI).
fn epoch_seconds(value: Option<&str>) -> Option<i64> {
    let text = value?.trim();
    if text.is_empty() {
        return None;
    }
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339);
    time.ok().map(time::OffsetDateTime::unix_timestamp)
}

impl Client {
    /// The usage dates of data source `data_source_id`. A data source without usage yet has
    /// neither date. An error member in the answer (e.g. not found) is [`Error::Rejected`].
    pub async fn data_source_usage(&self, data_source_id: &str) -> Result<UsageDates, Error> {
        const OPERATION: &str = "dataSource";
        let document = graphql::inline(data_source_usage::QUERY, &[("id", data_source_id)]);
        let data: data_source_usage::ResponseData = self
            .graphql_document(
                OPERATION,
                Idempotency::Idempotent,
                Cow::Owned(document),
                data_source_usage::OPERATION_NAME,
                &serde_json::json!({}),
            )
            .await?;
        use data_source_usage::DataSourceUsageDataSource as Answer;
        match data.data_source {
            Some(Answer::DataSource(ds)) => Ok(UsageDates {
                first_used: epoch_seconds(ds.usage_first_used.as_deref()),
                last_used: epoch_seconds(ds.usage_last_used.as_deref()),
            }),
            None => Ok(UsageDates::default()),
            Some(_) => Err(Error::Rejected {
                operation: OPERATION,
                message: format!("data source {data_source_id:?} was not found"),
            }),
        }
    }

    /// `importDataUsageRequest`: starts importing the uploaded usage parts `file_keys` (from
    /// [`Client::upload`], in order) into data source `data_source_id`. Not idempotent.
    pub async fn import_data_usage(
        &self,
        job: &JobId,
        data_source_id: &str,
        file_keys: Vec<String>,
    ) -> Result<Subtask, Error> {
        const OPERATION: &str = "importDataUsageRequest";
        let variables = import_data_usage_request::Variables {
            request: import_data_usage_request::DataUsageImportRequest {
                job_id: job.as_str().to_owned(),
                import_settings: import_data_usage_request::DataUsageImportSettings {
                    data_source: data_source_id.to_owned(),
                    file_keys,
                },
            },
        };
        let data = self
            .graphql::<ImportDataUsageRequest>(OPERATION, Idempotency::NotIdempotent, variables)
            .await?;
        data.import_data_usage_request
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
}
