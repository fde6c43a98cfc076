//! The registry: every connector compiled into this build, one line each (behind its cargo
//! feature). A connector's folder exports its [`Descriptor`] as `CONNECTOR`; adding one is its
//! folder, its line here and its feature.

use crate::config::Target;
use crate::connector::{Connector, Descriptor, Error};

/// Every connector compiled into this build.
pub const ALL: &[&Descriptor] = &[
    #[cfg(feature = "entra-id")]
    &super::entra_id::CONNECTOR,
    #[cfg(feature = "ldap")]
    &super::ldap::CONNECTOR,
    #[cfg(feature = "okta")]
    &super::okta::CONNECTOR,
    #[cfg(feature = "postgresql")]
    &super::postgres::CONNECTOR,
    #[cfg(feature = "snowflake")]
    &super::snowflake::CONNECTOR,
];

/// The connector registered under `name`: its name here, or the Raito CLI plugin it replaces
/// (`raito-io/cli-plugin-okta`). A Raito CLI plugin without a connector here is an error
/// saying so, with the connectors there are.
pub fn find(name: &str) -> Result<&'static Descriptor, Error> {
    let wanted = name.trim().to_ascii_lowercase();
    if let Some(connector) = ALL
        .iter()
        .find(|c| c.name == wanted || c.go_plugin == Some(wanted.as_str()))
    {
        return Ok(connector);
    }
    let available = ALL
        .iter()
        .map(|c| match c.go_plugin {
            Some(plugin) => format!("{} (or {plugin})", c.name),
            None => c.name.to_owned(),
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

/// Refuses a key that is not a parameter of `connector`: any key written in the target, and
/// any key with the connector's prefix wherever it comes from (a secret merged into the target
/// may hold other keys). The Raito CLI's own keys never reach the parameters: see `config`.
fn check_keys(connector: &Descriptor, target: &Target) -> Result<(), Error> {
    let known = connector.parameters;
    let parameters = &target.parameters;
    let Some(key) = parameters
        .written_keys()
        .chain(
            parameters
                .keys()
                .filter(|k| k.starts_with(connector.prefix)),
        )
        .find(|k| !known.contains(k))
    else {
        return Ok(());
    };
    let at = crate::config::Location::file(target.parameters.origin())
        .in_target(crate::config::TargetRef::Name(target.name.clone()))
        .at_key(key);
    Err(Error::Config(crate::config::Error::UnknownKey {
        at,
        connector: connector.name.to_owned(),
        known: known.join(", "),
    }))
}

/// Builds the connector a target names in `connector-name` (its parameters validated here,
/// before any I/O).
pub fn build(target: &Target) -> Result<Box<dyn Connector>, Error> {
    let connector = find(&target.connector_name)?;
    check_keys(connector, target)?;
    (connector.build)(&target.parameters)
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
        for connector in ALL {
            assert_eq!(
                readme_parameters(readme, connector.name),
                connector.parameters,
                "the README's table for {} (add, remove or reorder its rows)",
                connector.name
            );
        }
    }

    #[test]
    fn every_connector_has_a_sync_and_answers_to_its_names() {
        for connector in ALL {
            assert!(!connector.steps.is_empty(), "{}", connector.name);
            assert!(
                connector
                    .parameters
                    .iter()
                    .all(|key| key.starts_with(connector.prefix)),
                "{}",
                connector.name
            );
            assert_eq!(find(connector.name).unwrap().name, connector.name);
            if let Some(plugin) = connector.go_plugin {
                assert_eq!(find(plugin).unwrap().name, connector.name);
            }
        }
    }
}
