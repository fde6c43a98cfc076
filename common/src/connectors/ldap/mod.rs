//! LDAP (`connector-name: ldap`): Active Directory and OpenLDAP (or any LDAPv3 directory) as an
//! identity store.
//!
//! - Talks to: the server at `ldap-url`, one connection, LDAPS or StartTLS (rustls; the CA from
//!   `ldap-ca-cert` or the system's roots).
//! - Authenticates: a simple bind as `ldap-bind-dn` with `ldap-password`.
//! - Needs: read access to the users and groups below the base DNs (the attributes named in
//!   [`config`]), and a size limit that lets a paged search run to the end (OpenLDAP:
//!   `limits ... size.prtotal=unlimited`; Active Directory pages at most 1000 entries).
//! - Supports: the identity store sync ([`identities`]). Presets: `openldap` (`entryUUID`,
//!   `inetOrgPerson`, `groupOfNames`/`member`) and `active-directory` (`objectGUID`,
//!   `sAMAccountName`, `mail` or `userPrincipalName`, disabled accounts left out, nested groups,
//!   range retrieval of big groups).

mod client;
pub mod config;
mod dn;
pub mod identities;

use async_trait::async_trait;

pub use config::Config;

use crate::connector::{Connector, Error, IdentityStoreSync, Sink};
use crate::model::identity::{Group, IdentityStoreMetaData, User};
use crate::step::Step;

/// The `connector-name` of this connector.
pub const NAME: &str = "ldap";

/// This connector, for the registry.
pub const CONNECTOR: crate::connector::Descriptor = crate::connector::Descriptor {
    name: NAME,
    go_plugin: None,
    prefix: "ldap-",
    parameters: config::PARAMETERS,
    steps: &[Step::IdentityStore],
    build: |parameters| Ok(Box::new(Ldap::new(parameters)?)),
};

/// An LDAP directory target.
#[derive(Debug)]
pub struct Ldap {
    config: Config,
}

impl Ldap {
    /// Validates the target's parameters; connects only when a sync runs.
    pub fn new(parameters: &crate::config::Parameters) -> Result<Self, Error> {
        Ok(Self {
            config: Config::from_parameters(parameters)?,
        })
    }
}

impl Connector for Ldap {
    fn name(&self) -> &'static str {
        NAME
    }

    fn identity_store(&self) -> Option<&dyn IdentityStoreSync> {
        Some(self)
    }
}

#[async_trait]
impl IdentityStoreSync for Ldap {
    async fn metadata(&self) -> Result<IdentityStoreMetaData, Error> {
        Ok(identities::identity_store_metadata(&self.config))
    }

    async fn sync_identities(
        &self,
        users: &mut dyn Sink<User>,
        groups: &mut dyn Sink<Group>,
    ) -> Result<(), Error> {
        identities::sync(&self.config, users, groups).await
    }
}
