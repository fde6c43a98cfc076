//! The registry: one closed enum of connectors, so the compiler lists every place a new
//! connector touches. Each connector sits behind a cargo feature of the same name.

use super::{Connector, Error};
use crate::config::Target;

/// The connectors this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    /// Microsoft Entra ID (`connector-name: entra-id`).
    #[cfg(feature = "entra-id")]
    EntraId,
    /// LDAP directories: Active Directory, OpenLDAP (`connector-name: ldap`).
    #[cfg(feature = "ldap")]
    Ldap,
    /// Okta (`connector-name: okta`).
    #[cfg(feature = "okta")]
    Okta,
    /// PostgreSQL (`connector-name: postgresql`).
    #[cfg(feature = "postgresql")]
    Postgres,
}

impl ConnectorKind {
    /// Every connector compiled into this build.
    pub const ALL: &'static [ConnectorKind] = &[
        #[cfg(feature = "entra-id")]
        ConnectorKind::EntraId,
        #[cfg(feature = "ldap")]
        ConnectorKind::Ldap,
        #[cfg(feature = "okta")]
        ConnectorKind::Okta,
        #[cfg(feature = "postgresql")]
        ConnectorKind::Postgres,
    ];

    /// The `connector-name` a target uses to select this connector.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "entra-id")]
            ConnectorKind::EntraId => crate::connectors::entra_id::NAME,
            #[cfg(feature = "ldap")]
            ConnectorKind::Ldap => crate::connectors::ldap::NAME,
            #[cfg(feature = "okta")]
            ConnectorKind::Okta => crate::connectors::okta::NAME,
            #[cfg(feature = "postgresql")]
            ConnectorKind::Postgres => crate::connectors::postgres::NAME,
        }
    }

    /// The connector registered under `name`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| Error::UnknownConnector {
                name: name.to_owned(),
                available: Self::ALL
                    .iter()
                    .map(|kind| kind.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Builds this connector from a target's parameters (validated here, before any I/O).
    pub fn build(self, target: &Target) -> Result<Box<dyn Connector>, Error> {
        match self {
            #[cfg(feature = "entra-id")]
            ConnectorKind::EntraId => Ok(Box::new(crate::connectors::entra_id::EntraId::new(
                &target.parameters,
            )?)),
            #[cfg(feature = "ldap")]
            ConnectorKind::Ldap => Ok(Box::new(crate::connectors::ldap::Ldap::new(
                &target.parameters,
            )?)),
            #[cfg(feature = "okta")]
            ConnectorKind::Okta => Ok(Box::new(crate::connectors::okta::Okta::new(
                &target.parameters,
            )?)),
            #[cfg(feature = "postgresql")]
            ConnectorKind::Postgres => Ok(Box::new(crate::connectors::postgres::Postgres::new(
                &target.parameters,
            )?)),
        }
    }
}

/// Builds the connector a target names in `connector-name`.
pub fn build(target: &Target) -> Result<Box<dyn Connector>, Error> {
    ConnectorKind::from_name(&target.connector_name)?.build(target)
}
