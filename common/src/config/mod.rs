//! `raito.yml`, the configuration file of the Raito CLI, read the same way here: the Raito
//! Cloud credentials and a list of targets, each a connector with its parameters. Values may
//! refer to environment variables and AWS Secrets Manager secrets.
//!
//! ```yaml
//! api-user: sync@example.com
//! api-secret: "{{secret:raito/api#api-secret}}"   # field of a JSON secret
//! domain: example
//! targets:
//!   - name: warehouse
//!     connector-name: postgresql
//!     data-source-id: "{{DS_ID}}"                  # environment variable DS_ID
//!     skip-data-usage-sync: true
//!     secret: prod/warehouse                       # JSON object merged into the parameters
//!     pg-host: db.example.com                      # connector parameter
//!     pg-port: 5432
//! ```
//!
//! Rules:
//! - A value written exactly as `"{{NAME}}"` (the whole value; spaces inside the braces are
//!   allowed) is the environment variable `NAME`, an error if it is not set.
//!   `"{{secret:NAME}}"` is the whole SecretString of the secret `NAME` (a name or an ARN) and
//!   `"{{secret:NAME#field}}"` is `field` of the JSON object in it. This applies to the
//!   top-level values and to every value of a target, inside lists too.
//! - `secret: NAME` (or a list of names) in a target merges the JSON object held by each
//!   secret into the target's parameters. Keys written in the target win over keys from a
//!   secret; with several secrets, a later one wins over an earlier one. Keys of a secret that
//!   are the target's own settings (`name`, `data-source-id`, `skip-...`) are ignored with a
//!   warning: write those in the target.
//! - Sensitive values (read from a secret, or under a key containing `password`, `secret`,
//!   `token`, `private-key` or `api-key`) are never logged and are shown as `"[redacted]"` by
//!   `Debug`.
//! - Top-level keys of the Raito CLI that this project does not use ([`IGNORED_CLI_KEYS`]) are
//!   ignored with a warning; other unknown top-level keys are errors. The top-level
//!   `skip-...-sync` flags apply to every target, as in the Raito CLI.
//! - YAML anchors and merge keys (`<<: *defaults`) work.

mod error;
mod parameters;
mod resolve;

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::Path;

use secrecy::SecretString;
use serde_json::Value;

pub use error::{Error, Location, TargetRef};
pub use parameters::{Parameters, is_sensitive_key};
pub use resolve::EnvLookup;

use crate::aws::secrets::{self, SecretSource};
use parameters::{REDACTED, kind, parse_bool, scalar_string};
use resolve::{Resolved, Resolver, key_string};

/// Top-level keys of the Raito CLI (v0.72) that this project does not use: they are ignored
/// with a warning instead of failing, so that an existing `raito.yml` keeps working.
pub const IGNORED_CLI_KEYS: &[&str] = &[
    "access-file",
    "cli-container-liveness-file",
    "config-file",
    "connector-version",
    "cron",
    "data-object-enrichers",
    "data-source-id",
    "debug",
    "delete-temp-files",
    "delete-untouched",
    "disable-log-forwarding",
    "disable-log-forwarding-data-access-sync",
    "disable-log-forwarding-data-source-sync",
    "disable-log-forwarding-data-usage-sync",
    "disable-log-forwarding-identity-store-sync",
    "disable-log-forwarding-resource-provider-sync",
    "disable-log-forwarding-tag-sync",
    "disable-websocket",
    "environment",
    "file-backup-location",
    "filter-access",
    "frequency",
    "identity-store-id",
    "lock-all-delete",
    "lock-all-inheritance",
    "lock-all-names",
    "lock-all-owners",
    "lock-all-what",
    "lock-all-who",
    "log-file",
    "log-level",
    "log-output",
    "maximum-backups-per-target",
    "maximum-file-size",
    "name",
    "only-targets",
    "raito-url-override",
    "replace-groups",
    "replace-tags",
    "repositories",
    "skip-authentication",
    "skip-file-upload",
    "skip-resource-provider-sync",
    "skip-tag-sync",
    "sync-at-startup",
    "tag-key-and-value-for-user-is-machine",
    "tag-overwrite-key-for-access-provider-name",
    "tag-overwrite-key-for-access-provider-owners",
    "tag-overwrite-key-for-data-object-owners",
];

const SKIP_IDENTITY_STORE_SYNC: &str = "skip-identity-store-sync";
const SKIP_DATA_SOURCE_SYNC: &str = "skip-data-source-sync";
const SKIP_DATA_ACCESS_SYNC: &str = "skip-data-access-sync";
const SKIP_DATA_USAGE_SYNC: &str = "skip-data-usage-sync";

/// The keys of a target that are its own settings, not connector parameters.
const TARGET_KEYS: &[&str] = &[
    "name",
    "connector-name",
    "data-source-id",
    "identity-store-id",
    SKIP_IDENTITY_STORE_SYNC,
    SKIP_DATA_SOURCE_SYNC,
    SKIP_DATA_ACCESS_SYNC,
    SKIP_DATA_USAGE_SYNC,
    "delete-untouched",
    "replace-groups",
    "secret",
];

/// The whole `raito.yml`.
#[derive(Clone)]
pub struct Config {
    /// `api-user`: the Raito Cloud user (an e-mail address) the sync logs in as.
    pub api_user: Option<String>,
    /// `api-secret`: the password of `api-user`. Best written as a reference, e.g.
    /// `"{{RAITO_API_SECRET}}"` or `"{{secret:raito/api#api-secret}}"`.
    pub api_secret: Option<SecretString>,
    /// `domain`: the Raito Cloud domain (the `example` of `example.raito.cloud`).
    pub domain: Option<String>,
    /// `targets`: the connectors to sync, in the order written.
    pub targets: Vec<Target>,
}

/// One entry of `targets`: a connector, what to sync with it, and its parameters.
#[derive(Debug, Clone)]
pub struct Target {
    /// `name`: the target's name, unique in the file; used in logs and to pick targets.
    /// Default: the `connector-name` (as in the Raito CLI).
    pub name: String,
    /// `connector-name` (required): which connector to run, e.g. `postgres` or `okta`. The
    /// Raito CLI's plugin names (`raito-io/cli-plugin-...`) are accepted by the registry.
    pub connector_name: String,
    /// `data-source-id`: the id of the data source in Raito Cloud that this target syncs.
    /// Without it the data source, data access and data usage syncs do not run.
    pub data_source_id: Option<String>,
    /// `identity-store-id`: the id of the identity store in Raito Cloud that this target
    /// syncs. Without it the identity store sync does not run.
    pub identity_store_id: Option<String>,
    /// `skip-identity-store-sync`: do not sync users and groups. Default `false`; `true` at
    /// the top level of the file skips it for every target.
    pub skip_identity_store_sync: bool,
    /// `skip-data-source-sync`: do not sync data objects (metadata). Default `false`; `true`
    /// at the top level of the file skips it for every target.
    pub skip_data_source_sync: bool,
    /// `skip-data-access-sync`: do not sync access controls (neither export nor import).
    /// Default `false`; `true` at the top level of the file skips it for every target.
    pub skip_data_access_sync: bool,
    /// `skip-data-usage-sync`: do not sync usage (query history). Default `false`; `true` at
    /// the top level of the file skips it for every target.
    pub skip_data_usage_sync: bool,
    /// `delete-untouched`: have Raito Cloud delete what this sync no longer reports (data
    /// objects, users, groups, access controls). Default `true`.
    pub delete_untouched: bool,
    /// `replace-groups`: have Raito Cloud replace the group memberships of the synced users
    /// instead of adding to them. Default `true`.
    pub replace_groups: bool,
    /// Every other key of the target (e.g. `pg-host`, `okta-domain`), plus the keys of the
    /// secrets named by `secret:`: the connector's parameters.
    pub parameters: Parameters,
}

impl Config {
    /// Reads `path`, resolving `{{NAME}}` from the process environment and secret references
    /// through `secrets`.
    pub async fn load(path: &Path, secrets: &dyn SecretSource) -> Result<Config, Error> {
        let origin = path.display().to_string();
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|error| Error::Read {
                origin: origin.clone(),
                error,
            })?;
        Self::from_yaml_str(&text, &origin, secrets).await
    }

    /// Parses `text`; `origin` names the file in errors. `{{NAME}}` comes from the process
    /// environment.
    pub async fn from_yaml_str(
        text: &str,
        origin: &str,
        secrets: &dyn SecretSource,
    ) -> Result<Config, Error> {
        Self::from_yaml_str_with_env(text, origin, secrets, &|name| std::env::var(name).ok()).await
    }

    /// Parses `text` like [`Config::from_yaml_str`], with `{{NAME}}` looked up by `env`
    /// instead of in the process environment (tests, or a CLI with its own variables).
    pub async fn from_yaml_str_with_env(
        text: &str,
        origin: &str,
        secrets: &dyn SecretSource,
        env: EnvLookup<'_>,
    ) -> Result<Config, Error> {
        let resolver = Resolver { secrets, env };
        let file = Location::file(origin);
        let mapping = match parse_yaml(text, origin)? {
            serde_norway::Value::Null => serde_norway::Mapping::new(),
            serde_norway::Value::Mapping(mapping) => mapping,
            _ => {
                return Err(Error::invalid(
                    &file,
                    "the file must be a mapping of keys (api-user, api-secret, domain, targets)",
                ));
            }
        };

        let mut config = Config {
            api_user: None,
            api_secret: None,
            domain: None,
            targets: Vec::new(),
        };
        let mut skips = Skips::default();
        let mut targets = None;
        for (key, value) in mapping {
            let key = key_string(key, &file)?;
            let at = file.at_key(&key);
            match key.as_str() {
                "api-user" => {
                    config.api_user = optional_string(resolver.resolve(value, &at).await?, &at)?
                }
                "api-secret" => {
                    let secret = optional_string(resolver.resolve(value, &at).await?, &at)?;
                    config.api_secret = secret.map(SecretString::from);
                }
                "domain" => {
                    config.domain = optional_string(resolver.resolve(value, &at).await?, &at)?
                }
                "targets" => targets = Some((value, at)),
                SKIP_IDENTITY_STORE_SYNC => {
                    skips.identity_store = flag(resolver.resolve(value, &at).await?, &at, false)?
                }
                SKIP_DATA_SOURCE_SYNC => {
                    skips.data_source = flag(resolver.resolve(value, &at).await?, &at, false)?
                }
                SKIP_DATA_ACCESS_SYNC => {
                    skips.data_access = flag(resolver.resolve(value, &at).await?, &at, false)?
                }
                SKIP_DATA_USAGE_SYNC => {
                    skips.data_usage = flag(resolver.resolve(value, &at).await?, &at, false)?
                }
                "connector-name" => {
                    return Err(Error::invalid(
                        &at,
                        "a target written at the top level is not supported: move it into a list under `targets:`",
                    ));
                }
                known if IGNORED_CLI_KEYS.contains(&known) => {
                    tracing::warn!(
                        file = origin,
                        key = known,
                        "ignoring a Raito CLI setting that this sync does not use"
                    );
                }
                _ => return Err(Error::UnknownKey { at }),
            }
        }

        let entries = match targets {
            None => Vec::new(),
            Some((serde_norway::Value::Null, _)) => Vec::new(),
            Some((serde_norway::Value::Sequence(entries), _)) => entries,
            Some((_, at)) => return Err(Error::invalid(&at, "expected a list of targets")),
        };
        let mut names = HashSet::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let target = parse_target(index + 1, entry, &resolver, &file, &skips).await?;
            if !names.insert(target.name.clone()) {
                return Err(Error::DuplicateTarget {
                    origin: origin.to_owned(),
                    name: target.name,
                });
            }
            config.targets.push(target);
        }
        Ok(config)
    }

    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|target| target.name == name)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_user", &self.api_user)
            .field("api_secret", &self.api_secret.as_ref().map(|_| REDACTED))
            .field("domain", &self.domain)
            .field("targets", &self.targets)
            .finish()
    }
}

/// The top-level `skip-...-sync` flags, which apply to every target.
#[derive(Default)]
struct Skips {
    identity_store: bool,
    data_source: bool,
    data_access: bool,
    data_usage: bool,
}

fn parse_yaml(text: &str, origin: &str) -> Result<serde_norway::Value, Error> {
    let yaml_error = |err: serde_norway::Error| {
        let location = err.location();
        Error::Yaml {
            origin: origin.to_owned(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message: err.to_string(),
        }
    };
    let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(yaml_error)?;
    value.apply_merge().map_err(yaml_error)?;
    Ok(value)
}

async fn parse_target(
    position: usize,
    entry: serde_norway::Value,
    resolver: &Resolver<'_>,
    file: &Location,
    skips: &Skips,
) -> Result<Target, Error> {
    let here = file.in_target(TargetRef::Position(position));
    let serde_norway::Value::Mapping(mapping) = entry else {
        return Err(Error::invalid(
            &here,
            "a target must be a mapping of keys to values",
        ));
    };
    let mut entries = Vec::with_capacity(mapping.len());
    for (key, value) in mapping {
        entries.push((key_string(key, &here)?, value));
    }

    // The names first, so that messages about the other keys can name the target.
    let mut name = None;
    let mut connector_name = None;
    for (key, slot) in [("name", &mut name), ("connector-name", &mut connector_name)] {
        if let Some(index) = entries.iter().position(|(k, _)| k == key) {
            let (_, value) = entries.remove(index);
            let at = here.at_key(key);
            *slot = optional_string(resolver.resolve(value, &at).await?, &at)?
                .filter(|v| !v.is_empty());
        }
    }
    let connector_name = connector_name.ok_or_else(|| Error::Missing {
        at: here.at_key("connector-name"),
    })?;
    let name = name.unwrap_or_else(|| connector_name.clone());

    let here = file.in_target(TargetRef::Name(name.clone()));
    let mut target = Target {
        parameters: Parameters::new(&file.origin, &name),
        name,
        connector_name,
        data_source_id: None,
        identity_store_id: None,
        skip_identity_store_sync: false,
        skip_data_source_sync: false,
        skip_data_access_sync: false,
        skip_data_usage_sync: false,
        delete_untouched: true,
        replace_groups: true,
    };
    let mut secret_names = Vec::new();
    for (key, value) in entries {
        let at = here.at_key(&key);
        let value = resolver.resolve(value, &at).await?;
        match key.as_str() {
            "data-source-id" => target.data_source_id = optional_string(value, &at)?,
            "identity-store-id" => target.identity_store_id = optional_string(value, &at)?,
            SKIP_IDENTITY_STORE_SYNC => target.skip_identity_store_sync = flag(value, &at, false)?,
            SKIP_DATA_SOURCE_SYNC => target.skip_data_source_sync = flag(value, &at, false)?,
            SKIP_DATA_ACCESS_SYNC => target.skip_data_access_sync = flag(value, &at, false)?,
            SKIP_DATA_USAGE_SYNC => target.skip_data_usage_sync = flag(value, &at, false)?,
            "delete-untouched" => target.delete_untouched = flag(value, &at, true)?,
            "replace-groups" => target.replace_groups = flag(value, &at, true)?,
            "secret" => secret_names = string_list(value, &at)?,
            _ if value.value.is_null() => {}
            _ => target
                .parameters
                .insert(&key, value.value, value.from_secret),
        }
    }
    // As in the Raito CLI: a step skipped at the top level is skipped for every target.
    target.skip_identity_store_sync |= skips.identity_store;
    target.skip_data_source_sync |= skips.data_source;
    target.skip_data_access_sync |= skips.data_access;
    target.skip_data_usage_sync |= skips.data_usage;

    // Keys written in the target win over keys from its secrets.
    let written: BTreeSet<String> = target.parameters.keys().map(str::to_owned).collect();
    let at = here.at_key("secret");
    for secret in secret_names {
        let object = secrets::secret_object(resolver.secrets, &secret)
            .await
            .map_err(|error| Error::secret(&at, error))?;
        for (key, value) in object {
            if written.contains(&key) || value.is_null() {
                continue;
            }
            if TARGET_KEYS.contains(&key.as_str()) {
                tracing::warn!(
                    file = here.origin,
                    target = target.name,
                    secret,
                    key,
                    "ignoring a key of the secret that is a target setting, not a connector parameter: write it in the target"
                );
                continue;
            }
            target.parameters.insert(&key, value, true);
        }
    }
    Ok(target)
}

/// A single value as a string (numbers and booleans written out); nothing for no value.
fn optional_string(resolved: Resolved, at: &Location) -> Result<Option<String>, Error> {
    match &resolved.value {
        Value::Null => Ok(None),
        value => scalar_string(value).map(Some).ok_or_else(|| {
            Error::invalid(
                at,
                format!("expected a single value, found a {}", kind(value)),
            )
        }),
    }
}

/// A flag: `true`/`false` (also as strings), `default` for no value.
fn flag(resolved: Resolved, at: &Location, default: bool) -> Result<bool, Error> {
    if resolved.value.is_null() {
        return Ok(default);
    }
    parse_bool(&resolved.value).ok_or_else(|| {
        let found = if resolved.from_secret {
            format!("a {} from a secret", kind(&resolved.value))
        } else {
            resolved.value.to_string()
        };
        Error::invalid(at, format!("expected true or false, found {found}"))
    })
}

/// One string or a list of strings.
fn string_list(resolved: Resolved, at: &Location) -> Result<Vec<String>, Error> {
    let items = match resolved.value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        value => vec![value],
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(Error::invalid(
                at,
                "expected a secret name or a list of secret names",
            )),
        })
        .collect()
}
