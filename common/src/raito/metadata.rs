//! `setDataSourceMetaData`: tells Raito a data source's object types, permissions and access
//! provider types before its objects are imported. The input is the crate's own wire type,
//! [`DataSourceMetaData`], sent as it serialises (empty fields left out).

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{SetDataSourceMetaData, set_data_source_meta_data};
use crate::model::data_source::DataSourceMetaData;

impl Client {
    /// Sets the metadata of data source `data_source_id`. Idempotent (it replaces the
    /// metadata), so it is retried like a read. An error member in the answer
    /// (`BaseError.message`, e.g. permission denied, not found) is [`Error::Rejected`].
    pub async fn set_data_source_metadata(
        &self,
        data_source_id: &str,
        metadata: &DataSourceMetaData,
    ) -> Result<(), Error> {
        const OPERATION: &str = "setDataSourceMetaData";
        let variables = set_data_source_meta_data::Variables {
            id: data_source_id.to_owned(),
            input: metadata.clone(),
        };
        let data = self
            .graphql::<SetDataSourceMetaData>(OPERATION, Idempotency::Idempotent, variables)
            .await?;
        use set_data_source_meta_data::SetDataSourceMetaDataSetDataSourceMetaData as Answer;
        match data.set_data_source_meta_data {
            Some(Answer::DataSource(_)) | None => Ok(()),
            Some(other) => match error_message(&other) {
                Some(message) if !message.is_empty() => Err(Error::Rejected {
                    operation: OPERATION,
                    message: message.to_owned(),
                }),
                _ => Ok(()),
            },
        }
    }
}

fn error_message(
    answer: &set_data_source_meta_data::SetDataSourceMetaDataSetDataSourceMetaData,
) -> Option<&str> {
    use set_data_source_meta_data::SetDataSourceMetaDataSetDataSourceMetaData as Answer;
    match answer {
        Answer::PermissionDeniedError(e) => Some(&e.message),
        Answer::NotFoundError(e) => Some(&e.message),
        Answer::InvalidInputError(e) => Some(&e.message),
        _ => None,
    }
}
