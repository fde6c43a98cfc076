//! The one error of the configuration, and [`Location`]: the file, target and key every
//! message starts with, e.g.
//! `raito.yml: target "warehouse": key "pg-password": environment variable PG_PASS is not set`.

use std::fmt;

use crate::aws::secrets::SecretError;

/// Where in the configuration a problem is: the file, and when known the target and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (or whatever the text came from).
    pub origin: String,
    /// The target, when the problem is inside one.
    pub target: Option<TargetRef>,
    /// The key, when the problem is about one value.
    pub key: Option<String>,
}

/// How a target is named in messages: by its name, or by its position while its name is not
/// known yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef {
    /// The target's `name`.
    Name(String),
    /// The target's position in `targets`, from 1.
    Position(usize),
}

impl Location {
    pub(crate) fn file(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            target: None,
            key: None,
        }
    }

    pub(crate) fn in_target(&self, target: TargetRef) -> Self {
        Self {
            target: Some(target),
            ..self.clone()
        }
    }

    pub(crate) fn at_key(&self, key: &str) -> Self {
        Self {
            key: Some(key.to_owned()),
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        match &self.target {
            Some(TargetRef::Name(name)) => write!(f, ": target \"{name}\"")?,
            Some(TargetRef::Position(n)) => write!(f, ": target #{n}")?,
            None => {}
        }
        if let Some(key) = &self.key {
            write!(f, ": key \"{key}\"")?;
        }
        Ok(())
    }
}

/// What is wrong with a configuration. Every message is complete on its own: it names the
/// file, the target and the key, and never contains a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{origin}: cannot read the configuration file: {error}")]
    Read {
        /// The file.
        origin: String,
        /// Why.
        error: std::io::Error,
    },
    /// The text is not valid YAML.
    #[error("{origin}: invalid YAML: {message}")]
    Yaml {
        /// The file.
        origin: String,
        /// The line of the problem (from 1), when the parser knows it.
        line: Option<usize>,
        /// The column of the problem (from 1), when the parser knows it.
        column: Option<usize>,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// A `{{NAME}}` value refers to an environment variable that is not set.
    #[error("{at}: environment variable {name} is not set")]
    EnvVarNotSet {
        /// Where the reference is.
        at: Location,
        /// The variable.
        name: String,
    },
    /// A secret (`secret: NAME` or `{{secret:NAME...}}`) could not be read or used.
    #[error("{at}: {error}")]
    Secret {
        /// Where the reference is.
        at: Location,
        /// What went wrong with the secret (boxed to keep `Result<_, Error>` small).
        error: Box<SecretError>,
    },
    /// A required key is missing.
    #[error("{at}: required key is missing")]
    Missing {
        /// The missing key.
        at: Location,
    },
    /// Two targets have the same name.
    #[error(
        "{origin}: target \"{name}\" is defined more than once: target names must be unique \
         (a target without `name` is named after its `connector-name`)"
    )]
    DuplicateTarget {
        /// The file.
        origin: String,
        /// The name used twice.
        name: String,
    },
    /// A key of a target that is neither a setting of the Raito CLI nor a parameter of the
    /// target's connector (likely a typo).
    #[error(
        "{at}: unknown key: neither a setting of the Raito CLI nor a parameter of the {connector} \
         connector (its parameters: {known})"
    )]
    UnknownKey {
        /// The key.
        at: Location,
        /// The target's connector.
        connector: String,
        /// The connector's parameters.
        known: String,
    },
    /// A value has the wrong shape or is not allowed.
    #[error("{at}: {message}")]
    Invalid {
        /// The value.
        at: Location,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl Error {
    /// The secret problem behind this error, if it is one.
    pub fn secret_error(&self) -> Option<&SecretError> {
        match self {
            Error::Secret { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn secret(at: &Location, error: SecretError) -> Self {
        Error::Secret {
            at: at.clone(),
            error: Box::new(error),
        }
    }

    pub(crate) fn invalid(at: &Location, message: impl Into<String>) -> Self {
        Error::Invalid {
            at: at.clone(),
            message: message.into(),
        }
    }
}
