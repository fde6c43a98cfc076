//! PostgreSQL (`connector-name: postgresql`): any server speaking the PostgreSQL protocol
//! (self-hosted, Amazon RDS and Aurora PostgreSQL).
//!
//! - Talks to: the server at `pg-host`:`pg-port`, one connection per database in turn.
//! - Authenticates: as `pg-user` with `pg-password` (SCRAM or MD5, as the server asks), over
//!   TLS according to `pg-sslmode`.
//! - Needs: `CONNECT` on the databases to sync. The catalog is readable by every role, so
//!   reading metadata needs no other grant.
//! - Supports: the data source sync ([`metadata`]), the identity sync of its own roles
//!   ([`identities`]), the access sync both ways ([`access`]: Raito's access providers applied
//!   as roles, grants and row-level-security policies; the other roles imported; applying needs
//!   `CREATEROLE` and the privileges to grant) and the usage sync from the server's statement
//!   log ([`usage`]: log files read over SQL, or the CloudWatch Logs export of RDS and Aurora;
//!   see there for the server settings and grants it needs). Full names follow [`naming`].
//!   The access sync is compiled with the `postgresql-access` feature, the usage sync with
//!   `postgresql-usage`.

/// The SQL condition that leaves out, for the schema alias `$n`, the schemas no sync of this
/// connector reads or changes: the server's own (every name with the prefix `pg_`, which only
/// the server may create: `pg_catalog`, `pg_toast`, the temporary schemas) and
/// `information_schema`, and the configured exclusions, the `text[]` parameter `$param`. A
/// macro so that `concat!` builds the queries at compile time; [`is_system_schema`] is the
/// same rule in Rust.
macro_rules! schema_filter {
    ($n:literal, $param:literal) => {
        concat!(
            $n,
            ".nspname !~ '^pg_' AND ",
            $n,
            ".nspname <> 'information_schema' AND NOT (",
            $n,
            ".nspname = ANY(",
            $param,
            "::text[]))"
        )
    };
}

/// The SQL condition that the membership row `$a` (of `pg_auth_members`) passes the role's
/// privileges to its member, the one rule by which every sync of this connector counts a
/// member. Before PostgreSQL 16 every membership does. From 16 on a membership carries
/// `INHERIT` and `SET` options, and one with neither passes nothing: its member may only
/// administer the role (`ADMIN OPTION`). That is the membership 16 records for the creator of
/// every role a `CREATEROLE` role (not a superuser) creates, so without this rule the sync
/// role, or the `rds_superuser` admin that created the roles, would be listed as a member of
/// each of them. A membership with `INHERIT FALSE` and `SET TRUE` still counts: the member
/// gets the privileges with `SET ROLE`. The columns do not exist before 16, so they are read
/// from the row's JSON form, and one statement serves every version.
macro_rules! membership_passes_privileges {
    ($a:literal) => {
        concat!(
            "NOT (pg_catalog.to_jsonb(",
            $a,
            ") OPERATOR(pg_catalog.@>) '{\"inherit_option\": false, \"set_option\": false}'::jsonb)"
        )
    };
}

/// Whether `schema` is one of the server's own (see [`schema_filter`]).
#[cfg(any(feature = "postgresql-access", feature = "postgresql-usage"))]
pub(crate) fn is_system_schema(schema: &str) -> bool {
    schema.starts_with("pg_") || schema == "information_schema"
}

pub mod access;
mod client;
pub mod config;
pub mod identities;
pub mod metadata;
pub mod naming;
#[cfg(feature = "postgresql-usage")]
pub mod usage;

use async_trait::async_trait;

pub use config::Config;

#[cfg(feature = "postgresql-access")]
use crate::connector::{AccessOutcome, AccessSync, ApplyMode, Source};
use crate::connector::{
    Connector, DataSourceRequest, DataSourceSync, Error, IdentityStoreSync, Sink,
};
#[cfg(feature = "postgresql-usage")]
use crate::connector::{UsageRequest, UsageSync};
#[cfg(feature = "postgresql-access")]
use crate::model::access::{AccessProvider, ExportedAccessProvider};
use crate::model::data_source::{DataObject, DataSourceMetaData};
use crate::model::identity::{Group, IdentityStoreMetaData, User};
#[cfg(feature = "postgresql-usage")]
use crate::model::usage::Statement;
use crate::step::Step;

/// The `connector-name` of this connector.
pub const NAME: &str = "postgresql";

/// This connector, for the registry.
pub const CONNECTOR: crate::connector::Descriptor = crate::connector::Descriptor {
    name: NAME,
    go_plugin: None,
    prefix: "pg-",
    parameters: config::PARAMETERS,
    steps: &[
        Step::DataSource,
        Step::IdentityStore,
        #[cfg(feature = "postgresql-access")]
        Step::DataAccess,
        #[cfg(feature = "postgresql-usage")]
        Step::DataUsage,
    ],
    build: |parameters| Ok(Box::new(Postgres::new(parameters)?)),
};

/// A PostgreSQL target.
#[derive(Debug)]
pub struct Postgres {
    config: Config,
}

impl Postgres {
    /// Validates the target's parameters; connects only when a sync runs.
    pub fn new(parameters: &crate::config::Parameters) -> Result<Self, Error> {
        Ok(Self {
            config: Config::from_parameters(parameters)?,
        })
    }
}

/// The source of the PostgreSQL connector's tags (it writes none today) and its imports'
/// `tagSourcesScope`. The Raito CLI has no PostgreSQL plugin; this name is ours.
pub const TAG_SOURCE: &str = "PostgreSQL";

impl Connector for Postgres {
    fn name(&self) -> &'static str {
        NAME
    }

    fn data_source(&self) -> Option<&dyn DataSourceSync> {
        Some(self)
    }

    fn identity_store(&self) -> Option<&dyn IdentityStoreSync> {
        Some(self)
    }

    fn tag_source(&self) -> Option<&'static str> {
        Some(TAG_SOURCE)
    }

    #[cfg(feature = "postgresql-usage")]
    fn usage(&self) -> Option<&dyn UsageSync> {
        Some(self)
    }

    #[cfg(feature = "postgresql-access")]
    fn access(&self) -> Option<&dyn AccessSync> {
        Some(self)
    }
}

#[cfg(feature = "postgresql-access")]
#[async_trait]
impl AccessSync for Postgres {
    async fn sync_from_target(&self, sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error> {
        access::import::run(&self.config, sink).await
    }

    async fn sync_to_target(
        &self,
        mode: ApplyMode,
        access_providers: &mut dyn Source<ExportedAccessProvider>,
        outcomes: &mut dyn Sink<AccessOutcome>,
    ) -> Result<(), Error> {
        access::apply::run(&self.config, mode, access_providers, outcomes).await
    }
}

#[cfg(feature = "postgresql-usage")]
#[async_trait]
impl UsageSync for Postgres {
    async fn sync_usage(
        &self,
        request: &UsageRequest,
        sink: &mut dyn Sink<Statement>,
    ) -> Result<(), Error> {
        usage::sync(&self.config, request, sink).await
    }
}

#[async_trait]
impl IdentityStoreSync for Postgres {
    async fn metadata(&self) -> Result<IdentityStoreMetaData, Error> {
        Ok(identities::identity_store_metadata())
    }

    async fn sync_identities(
        &self,
        users: &mut dyn Sink<User>,
        groups: &mut dyn Sink<Group>,
    ) -> Result<(), Error> {
        identities::sync(&self.config, users, groups).await
    }
}

#[async_trait]
impl DataSourceSync for Postgres {
    async fn metadata(&self) -> Result<DataSourceMetaData, Error> {
        Ok(metadata::data_source_metadata())
    }

    async fn sync_data_objects(
        &self,
        request: &DataSourceRequest,
        sink: &mut dyn Sink<DataObject>,
    ) -> Result<(), Error> {
        let scope = match &request.parent {
            None => metadata::Scope::everything(),
            Some(parent) => metadata::Scope::below(parent, &request.excludes).map_err(|e| {
                Error::InvalidRequest {
                    connector: NAME,
                    message: format!("dataObjectParent/dataObjectExcludes: {e}"),
                }
            })?,
        };
        metadata::sync(&self.config, &scope, sink).await
    }
}
