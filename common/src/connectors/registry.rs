//! The registry: one closed enum of connectors, so the compiler lists every place a new
//! connector touches. Each connector sits behind a cargo feature of the same name.

use crate::config::Target;
use crate::connector::{Connector, Error};
use crate::step::Step;

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

    /// The Raito CLI plugin (the `connector-name` Go users write) this connector replaces, if
    /// any: a raito.yml written for the Go CLI selects it unchanged.
    pub fn go_plugin(self) -> Option<&'static str> {
        match self {
            #[cfg(feature = "entra-id")]
            ConnectorKind::EntraId => Some("raito-io/cli-plugin-azure-ad"),
            #[cfg(feature = "ldap")]
            ConnectorKind::Ldap => None,
            #[cfg(feature = "okta")]
            ConnectorKind::Okta => Some("raito-io/cli-plugin-okta"),
            #[cfg(feature = "postgresql")]
            ConnectorKind::Postgres => None,
        }
    }

    /// The parameters a target of this connector may have.
    pub fn parameters(self) -> &'static [&'static str] {
        match self {
            #[cfg(feature = "entra-id")]
            ConnectorKind::EntraId => crate::connectors::entra_id::config::PARAMETERS,
            #[cfg(feature = "ldap")]
            ConnectorKind::Ldap => crate::connectors::ldap::config::PARAMETERS,
            #[cfg(feature = "okta")]
            ConnectorKind::Okta => crate::connectors::okta::config::PARAMETERS,
            #[cfg(feature = "postgresql")]
            ConnectorKind::Postgres => crate::connectors::postgres::config::PARAMETERS,
        }
    }

    /// The syncs this connector has in this build (the access and usage syncs are compiled
    /// only with their features).
    pub fn steps(self) -> &'static [Step] {
        match self {
            #[cfg(feature = "entra-id")]
            ConnectorKind::EntraId => &[Step::IdentityStore],
            #[cfg(feature = "ldap")]
            ConnectorKind::Ldap => &[Step::IdentityStore],
            #[cfg(feature = "okta")]
            ConnectorKind::Okta => &[Step::IdentityStore],
            #[cfg(feature = "postgresql")]
            ConnectorKind::Postgres => &[
                Step::DataSource,
                Step::IdentityStore,
                #[cfg(feature = "access")]
                Step::DataAccess,
                #[cfg(feature = "usage")]
                Step::DataUsage,
            ],
        }
    }

    /// The connector registered under `name`: its name here, or the Raito CLI plugin it
    /// replaces (`raito-io/cli-plugin-okta`). A Raito CLI plugin without a connector here is an
    /// error saying so, with the connectors there are.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let wanted = name.trim().to_ascii_lowercase();
        if let Some(kind) = Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == wanted || kind.go_plugin() == Some(wanted.as_str()))
        {
            return Ok(kind);
        }
        let available = Self::ALL
            .iter()
            .map(|kind| match kind.go_plugin() {
                Some(plugin) => format!("{} (or {plugin})", kind.name()),
                None => kind.name().to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        Err(if wanted.contains('/') {
            Error::UnsupportedPlugin {
                name: name.to_owned(),
                available,
            }
        } else {
            Error::UnknownConnector {
                name: name.to_owned(),
                available,
            }
        })
    }

    /// Refuses a key written in the target that is not a parameter of this connector (the
    /// Raito CLI's own keys never reach the parameters: see `config`).
    fn check_keys(self, target: &Target) -> Result<(), Error> {
        let known = self.parameters();
        let Some(key) = target
            .parameters
            .written_keys()
            .find(|k| !known.contains(k))
        else {
            return Ok(());
        };
        let at = crate::config::Location::file(target.parameters.origin())
            .in_target(crate::config::TargetRef::Name(target.name.clone()))
            .at_key(key);
        Err(Error::Config(crate::config::Error::UnknownKey {
            at,
            connector: self.name().to_owned(),
            known: known.join(", "),
        }))
    }

    /// Builds this connector from a target's parameters (validated here, before any I/O).
    pub fn build(self, target: &Target) -> Result<Box<dyn Connector>, Error> {
        self.check_keys(target)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameter keys of the README's table for `connector-name: name`: the first cells
    /// `` | `key` | `` (or `` | `key`, `other` | ``) of the rows between its heading and the next.
    fn readme_parameters(readme: &str, name: &str) -> Vec<String> {
        let heading = format!("(`connector-name: {name}`)");
        let Some(start) = readme
            .lines()
            .position(|l| l.starts_with('#') && l.contains(&heading))
        else {
            panic!("the README has no section for connector-name {name}");
        };
        readme
            .lines()
            .skip(start + 1)
            .take_while(|l| !l.starts_with('#'))
            .filter_map(|l| l.strip_prefix("| `"))
            // A row may document several keys: `` | `a`, `b` | ``.
            .filter_map(|l| l.split_once(" |").map(|(cell, _)| cell))
            .flat_map(|cell| cell.split(", `"))
            .map(|key| key.trim_matches('`').to_owned())
            .collect()
    }

    #[test]
    fn the_readme_documents_exactly_each_connectors_parameters_in_its_order() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        for kind in ConnectorKind::ALL {
            assert_eq!(
                readme_parameters(readme, kind.name()),
                kind.parameters(),
                "the README's table for {} (add, remove or reorder its rows)",
                kind.name()
            );
        }
    }

    #[test]
    fn every_connector_has_a_sync_and_answers_to_its_names() {
        for kind in ConnectorKind::ALL {
            assert!(!kind.steps().is_empty(), "{}", kind.name());
            assert_eq!(ConnectorKind::from_name(kind.name()).ok(), Some(*kind));
            if let Some(plugin) = kind.go_plugin() {
                assert_eq!(ConnectorKind::from_name(plugin).ok(), Some(*kind));
            }
        }
    }
}
