//! `setDataSourceMetaData` and `setIdentityStoreMetaData`: tell Raito what a data source (object
//! types, permissions, access provider types) or an identity store (type, icon, linking) is
//! before its files are imported. The data source input is the crate's own wire type,
//! [`DataSourceMetaData`], sent as it serialises (empty fields left out). Both answers are read
//! by `__typename`: anything but the data source or identity store is [`Error::Rejected`].

use std::borrow::Cow;

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{self, Member, set_data_source_meta_data, set_meta_data};
use crate::model::data_source::DataSourceMetaData;
use crate::model::identity::IdentityStoreMetaData;

impl Client {
    /// Sets the metadata of data source `data_source_id`. Idempotent (it replaces the
    /// metadata), so it is retried like a read. Any answer but the `DataSource` (a `BaseError`
    /// such as permission denied or not found) is [`Error::Rejected`] naming the error type and
    /// its message.
    pub async fn set_data_source_metadata(
        &self,
        data_source_id: &str,
        metadata: &DataSourceMetaData,
    ) -> Result<(), Error> {
        const OPERATION: &str = "setDataSourceMetaData";
        let variables = set_data_source_meta_data::Variables {
            id: data_source_id,
            input: metadata,
        };
        let data: set_data_source_meta_data::ResponseData = self
            .graphql_document(
                OPERATION,
                Idempotency::Idempotent,
                Cow::Borrowed(set_data_source_meta_data::QUERY),
                set_data_source_meta_data::OPERATION_NAME,
                &variables,
            )
            .await?;
        Member::require(data.set_data_source_meta_data, OPERATION, "DataSource")
    }

    /// Sets the metadata of identity store `identity_store_id`, as the Raito CLI's
    /// `SetMetaData` does (values inline, see `graphql.rs`). Idempotent. Any answer but the
    /// `IdentityStore` is [`Error::Rejected`] naming the member (the Go CLI selects no error
    /// message, and neither does this document).
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
        let data: IdentityStoreAnswer = self
            .graphql_document(
                OPERATION,
                Idempotency::Idempotent,
                Cow::Owned(document),
                set_meta_data::OPERATION_NAME,
                &variables,
            )
            .await?;
        Member::require(
            data.set_identity_store_meta_data,
            OPERATION,
            "IdentityStore",
        )
    }
}

/// The `data` of `SetMetaData`, read by `__typename` rather than as the generated union (which
/// would fail to decode a member this schema does not know).
#[derive(serde::Deserialize)]
struct IdentityStoreAnswer {
    #[serde(rename = "setIdentityStoreMetaData")]
    set_identity_store_meta_data: Option<Member>,
}
