//! `setDataSourceMetaData` and `setIdentityStoreMetaData`: tell Raito what a data source (object
//! types, permissions, access provider types) or an identity store (type, icon, linking) is
//! before its files are imported. The data source input is the crate's own wire type,
//! [`DataSourceMetaData`], sent as it serialises (empty fields left out).

use std::borrow::Cow;

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{self, SetDataSourceMetaData, set_data_source_meta_data, set_meta_data};
use crate::model::data_source::DataSourceMetaData;
use crate::model::identity::IdentityStoreMetaData;

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

impl Client {
    /// Sets the metadata of identity store `identity_store_id`, as the Raito CLI's
    /// `SetMetaData` does (values inline, see `graphql.rs`). Idempotent. An error member in the
    /// answer (permission denied, not found) is [`Error::Rejected`].
    pub async fn set_identity_store_metadata(
        &self,
        identity_store_id: &str,
        metadata: &IdentityStoreMetaData,
    ) -> Result<(), Error> {
        const OPERATION: &str = "setIdentityStoreMetaData";
        let document = graphql::inline(
            set_meta_data::QUERY,
            &[
                ("id", identity_store_id),
                ("type", &metadata.r#type),
                ("icon", &metadata.icon),
            ],
        );
        let variables = set_meta_data::Variables {
            can_be_linked: metadata.can_be_linked,
            can_be_master: metadata.can_be_master,
        };
        let data: set_meta_data::ResponseData = self
            .graphql_document(
                OPERATION,
                Idempotency::Idempotent,
                Cow::Owned(document),
                set_meta_data::OPERATION_NAME,
                &variables,
            )
            .await?;
        use set_meta_data::SetMetaDataSetIdentityStoreMetaData as Answer;
        let message = match &data.set_identity_store_meta_data {
            Some(Answer::PermissionDeniedError(e)) => Some(&e.message),
            Some(Answer::NotFoundError(e)) => Some(&e.message),
            _ => None,
        };
        match message {
            Some(message) if !message.is_empty() => Err(Error::Rejected {
                operation: OPERATION,
                message: message.clone(),
            }),
            _ => Ok(()),
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
