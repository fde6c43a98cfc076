//! Okta (`connector-name: okta`): an Okta org as an identity store.
//!
//! - Talks to: the Management API of `okta-domain` over HTTPS (`/api/v1/users`,
//!   `/api/v1/groups`, `/api/v1/groups/{id}/users`), 200 entries a page, following `Link`
//!   headers.
//! - Authenticates: an API token (`okta-token`, `SSWS`), or an OAuth 2.0 service app
//!   (`okta-client-id` + `okta-private-key`: client credentials with a private-key JWT).
//! - Needs: a read-only admin role for the token's user, or the scopes `okta.users.read` and
//!   `okta.groups.read` granted to the app.
//! - Limits: rate limits are honoured by waiting (`X-Rate-Limit-Remaining`/`-Reset`, 429), and
//!   member lists are read `okta-concurrency` groups at a time.
//! - Supports: the identity store sync ([`identities`]).

mod client;
pub mod config;
pub mod identities;

use async_trait::async_trait;

pub use config::Config;

use crate::connector::{Connector, Error, IdentityStoreSync, Sink};
use crate::model::identity::{Group, IdentityStoreMetaData, User};
use crate::step::Step;

/// The `connector-name` of this connector.
pub const NAME: &str = "okta";

/// This connector, for the registry.
pub const CONNECTOR: crate::connector::Descriptor = crate::connector::Descriptor {
    name: NAME,
    go_plugin: Some("raito-io/cli-plugin-okta"),
    prefix: "okta-",
    parameters: config::PARAMETERS,
    steps: &[Step::IdentityStore],
    build: |parameters| Ok(Box::new(Okta::new(parameters)?)),
};

/// An Okta org target.
#[derive(Debug)]
pub struct Okta {
    config: Config,
}

impl Okta {
    /// Validates the target's parameters; sends nothing until a sync runs.
    pub fn new(parameters: &crate::config::Parameters) -> Result<Self, Error> {
        Ok(Self {
            config: Config::from_parameters(parameters)?,
        })
    }
}

impl Connector for Okta {
    fn name(&self) -> &'static str {
        NAME
    }

    fn identity_store(&self) -> Option<&dyn IdentityStoreSync> {
        Some(self)
    }

    fn tag_source(&self) -> Option<&'static str> {
        Some(TAG_SOURCE)
    }
}

/// The source of the Okta connector's tags, and its imports' `tagSourcesScope`: the Raito
/// CLI's Okta plugin's (raito-io/cli-plugin-okta identity_store.go, `tagSource`).
pub const TAG_SOURCE: &str = "Okta";

#[async_trait]
impl IdentityStoreSync for Okta {
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
