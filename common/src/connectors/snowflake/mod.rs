//! Snowflake (`connector-name: snowflake`): a Snowflake account, through the SQL API v2.
//!
//! - Talks to: `https://<sf-account>.snowflakecomputing.com/api/v2/statements` (or `sf-host`),
//!   one statement per request, results read a partition at a time ([`client`]).
//! - Authenticates: as `sf-user` with a key-pair JWT signed by `sf-private-key` (RS256, renewed
//!   before its hour is up), or with `sf-token` (a programmatic access token or an OAuth
//!   token). No passwords: the SQL API takes none.
//! - Needs: `sf-role` (default `ACCOUNTADMIN`, as the Go connector's) granted to the user;
//!   for users' names, e-mails and types, `MANAGE GRANTS` or ownership of the users; for
//!   tags, the `SNOWFLAKE.GOVERNANCE_VIEWER` database role (or `IMPORTED PRIVILEGES` on
//!   `SNOWFLAKE`) and a warehouse (`sf-warehouse`). Nothing is ever granted by the connector
//!   itself (unlike the Go connector, which grants its own role USAGE and REFERENCES).
//! - Supports: the data source sync ([`metadata`], the permission model in
//!   [`metadata_model`]), the identity store sync ([`identities`]) and the usage sync
//!   (`usage`, feature `snowflake-usage`) and the access sync both ways ([`access`]: roles,
//!   database roles and their grants; masking and row access policies not yet).
//!
//! It replaces the Raito CLI's Snowflake plugin (`raito-io/cli-plugin-snowflake`): its
//! parameters keep their names and meanings, and the ids it writes are the plugin's.

pub mod access;
pub mod cell;
pub mod client;
pub mod config;
pub mod identities;
pub mod jwt;
pub mod metadata;
pub mod metadata_model;
#[cfg(feature = "snowflake-usage")]
pub mod usage;

use async_trait::async_trait;

pub use config::Config;

use crate::connector::{
    AccessOutcome, AccessSync, ApplyMode, Connector, DataSourceRequest, DataSourceSync, Error,
    IdentityStoreSync, Sink, Source,
};
use crate::model::access::{AccessProvider, ExportedAccessProvider};
use crate::model::data_source::{DataObject, DataSourceMetaData};
use crate::model::identity::{Group, IdentityStoreMetaData, User};
use crate::step::Step;

/// The `connector-name` of this connector.
pub const NAME: &str = "snowflake";

/// This connector, for the registry.
pub const CONNECTOR: crate::connector::Descriptor = crate::connector::Descriptor {
    name: NAME,
    go_plugin: Some("raito-io/cli-plugin-snowflake"),
    prefix: "sf-",
    parameters: config::PARAMETERS,
    steps: &[
        Step::DataSource,
        Step::IdentityStore,
        Step::DataAccess,
        #[cfg(feature = "snowflake-usage")]
        Step::DataUsage,
    ],
    build: |parameters| Ok(Box::new(Snowflake::new(parameters)?)),
};

/// The source of the Snowflake connector's tags: the Go connector's (snowflake/constants.go
/// `TagSource`).
pub const TAG_SOURCE: &str = "Snowflake";

/// A Snowflake account target.
#[derive(Debug)]
pub struct Snowflake {
    config: Config,
    client: client::Client,
}

impl Snowflake {
    /// Validates the target's parameters and reads the key; sends nothing until a sync runs.
    pub fn new(parameters: &crate::config::Parameters) -> Result<Self, Error> {
        let config = Config::from_parameters(parameters)?;
        let credentials = client::Credentials::from_config(&config)
            .map_err(|e| parameters.invalid(e.parameter, e.message))?;
        let client = client::Client::new(&config, credentials)?;
        Ok(Self { config, client })
    }
}

impl Connector for Snowflake {
    fn name(&self) -> &'static str {
        NAME
    }

    fn data_source(&self) -> Option<&dyn DataSourceSync> {
        Some(self)
    }

    fn identity_store(&self) -> Option<&dyn IdentityStoreSync> {
        Some(self)
    }

    fn access(&self) -> Option<&dyn AccessSync> {
        Some(self)
    }

    fn tag_source(&self) -> Option<&'static str> {
        Some(TAG_SOURCE)
    }

    #[cfg(feature = "snowflake-usage")]
    fn usage(&self) -> Option<&dyn crate::connector::UsageSync> {
        Some(self)
    }
}

#[async_trait]
impl AccessSync for Snowflake {
    async fn sync_from_target(&self, sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error> {
        access::import::import(&self.config, &self.client, sink).await?;
        Ok(())
    }

    async fn sync_to_target(
        &self,
        mode: ApplyMode,
        access_providers: &mut dyn Source<ExportedAccessProvider>,
        outcomes: &mut dyn Sink<AccessOutcome>,
    ) -> Result<(), Error> {
        access::apply::run(&self.config, &self.client, mode, access_providers, outcomes).await?;
        Ok(())
    }
}

#[cfg(feature = "snowflake-usage")]
#[async_trait]
impl crate::connector::UsageSync for Snowflake {
    async fn sync_usage(
        &self,
        request: &crate::connector::UsageRequest,
        sink: &mut dyn Sink<crate::model::usage::Statement>,
    ) -> Result<(), Error> {
        usage::sync(&self.config, &self.client, request, sink).await
    }
}

#[async_trait]
impl IdentityStoreSync for Snowflake {
    async fn metadata(&self) -> Result<IdentityStoreMetaData, Error> {
        Ok(identities::identity_store_metadata())
    }

    async fn sync_identities(
        &self,
        users: &mut dyn Sink<User>,
        _groups: &mut dyn Sink<Group>,
    ) -> Result<(), Error> {
        identities::sync(&self.config, &self.client, users).await
    }
}

#[async_trait]
impl DataSourceSync for Snowflake {
    async fn metadata(&self) -> Result<DataSourceMetaData, Error> {
        // The share identifier (ORGANIZATION.ACCOUNT), which the Go connector reads on every
        // call.
        let share_identifier = metadata::account_name(&self.client, '.').await?;
        Ok(metadata_model::data_source_metadata(
            self.config.standard_edition,
            self.config.mask_decrypt_function.is_some(),
            &share_identifier,
        ))
    }

    /// The account, `ORGANIZATION-ACCOUNT`, as the Go connector names the data source.
    async fn data_source_names(&self) -> Result<Option<(String, String)>, Error> {
        let name = metadata::account_name(&self.client, '-').await?;
        Ok(Some((name.clone(), name)))
    }

    async fn sync_data_objects(
        &self,
        request: &DataSourceRequest,
        sink: &mut dyn Sink<DataObject>,
    ) -> Result<(), Error> {
        metadata::sync(&self.config, &self.client, request, sink).await
    }
}
