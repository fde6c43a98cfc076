//! Microsoft Entra ID (`connector-name: entra-id`): a tenant as an identity store, read through
//! Microsoft Graph v1.0.
//!
//! - Talks to: `GET /users`, `/groups` and `/groups/{id}/members` with `$select` (only the
//!   fields used) and `$top=999` (the fewest pages), following `@odata.nextLink`.
//! - Authenticates: app-only, OAuth 2.0 client credentials with `entra-client-secret` or a
//!   certificate (`entra-certificate` + `entra-private-key`: a PS256 assertion with
//!   `x5t#S256`, Microsoft's current revision).
//! - Needs: the application permissions `User.Read.All` and `GroupMember.Read.All`, consented
//!   by an admin.
//! - Limits: 429 and 503 are waited out as `Retry-After` says (fractional seconds too); member
//!   lists are read `entra-concurrency` groups at a time.
//! - Supports: the identity store sync ([`identities`]): nested groups become parents,
//!   disabled accounts are left out by default.

mod client;
pub mod config;
pub mod identities;

use async_trait::async_trait;

pub use config::Config;

use crate::connector::{Connector, Error, IdentityStoreSync, Sink};
use crate::model::identity::{Group, IdentityStoreMetaData, User};
use crate::step::Step;

/// The `connector-name` of this connector.
pub const NAME: &str = "entra-id";

/// This connector, for the registry.
pub const CONNECTOR: crate::connector::Descriptor = crate::connector::Descriptor {
    name: NAME,
    go_plugin: Some("raito-io/cli-plugin-azure-ad"),
    prefix: "entra-",
    parameters: config::PARAMETERS,
    steps: &[Step::IdentityStore],
    build: |parameters| Ok(Box::new(EntraId::new(parameters)?)),
};

/// An Entra ID tenant target.
#[derive(Debug)]
pub struct EntraId {
    config: Config,
}

impl EntraId {
    /// Validates the target's parameters; sends nothing until a sync runs.
    pub fn new(parameters: &crate::config::Parameters) -> Result<Self, Error> {
        Ok(Self {
            config: Config::from_parameters(parameters)?,
        })
    }
}

impl Connector for EntraId {
    fn name(&self) -> &'static str {
        NAME
    }

    fn identity_store(&self) -> Option<&dyn IdentityStoreSync> {
        Some(self)
    }
}

#[async_trait]
impl IdentityStoreSync for EntraId {
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
