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
//! - Keys are read in lower case, as the Raito CLI's configuration library (viper) reads them.
//! - Every key of the Raito CLI is accepted ([`cli`]): used where it means something here,
//!   otherwise logged once as not used ([`cli::NOT_USED`], with the reason); none is ever passed
//!   to a connector. Other top-level keys are ignored with a warning, as the Raito CLI ignores
//!   them. A target setting written at the top level (`skip-...-sync`, `delete-untouched`, the
//!   locks, the tag rules, ...) is the default of every target; the `skip-...-sync` flags apply
//!   to every target, as in the Raito CLI.
//! - Inside a target, a key that is neither the Raito CLI's nor a parameter of the target's
//!   connector is an error naming the file, the target and the key (a typo is caught when the
//!   connector is built).
//! - The single-target form of the Raito CLI (a top-level `connector-name` with its keys, no
//!   `targets`) is read as one target.
//! - YAML anchors and merge keys (`<<: *defaults`) work.

pub mod cli;
mod error;
mod parameters;
mod resolve;

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::Path;

use secrecy::SecretString;
use serde_json::Value;

pub use cli::{RunSettings, TargetSettings};
pub use error::{Error, Location, TargetRef};
pub use parameters::{Parameters, is_sensitive_key};
pub use resolve::EnvLookup;

use crate::aws::secrets::{self, SecretSource};
use parameters::{REDACTED, kind, parse_bool, scalar_string};
use resolve::{Resolved, Resolver, key_string};

const SKIP_IDENTITY_STORE_SYNC: &str = "skip-identity-store-sync";
const SKIP_DATA_SOURCE_SYNC: &str = "skip-data-source-sync";
const SKIP_DATA_ACCESS_SYNC: &str = "skip-data-access-sync";
const SKIP_DATA_USAGE_SYNC: &str = "skip-data-usage-sync";

/// The keys of a target that are its own settings, not connector parameters (besides those of
/// [`TargetSettings`] and the Go CLI keys of [`cli::NOT_USED`]).
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
    /// `raito-url-override`: Raito Cloud's API base URL, when not the production one.
    pub raito_url: Option<String>,
    /// The Raito CLI's settings of the whole run (`debug`, `only-targets`, ...).
    pub settings: RunSettings,
    /// `targets`: the connectors to sync, in the order written (only those of `only-targets`
    /// when it is set). In the single-target form (a top-level `connector-name`), the one
    /// target written at the top level.
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
    /// The Raito CLI's other settings of the target: its own Raito Cloud credentials, locks,
    /// tag rules, `skip-data-access-import`, `only-out-of-sync-data`.
    pub settings: TargetSettings,
    /// Every other key of the target (e.g. `pg-host`, `okta-domain`), plus the keys of the
    /// secrets named by `secret:`: the connector's parameters. No key of the Raito CLI is ever
    /// among them.
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

        let entries = lower_case_keys(mapping, &file)?;
        let mut config = Config {
            api_user: None,
            api_secret: None,
            domain: None,
            raito_url: None,
            settings: RunSettings::default(),
            targets: Vec::new(),
        };
        // The single-target form (raito-io/cli internal/target/target.go, RunTargets): a
        // top-level `connector-name` makes the top level the one target; `targets` is ignored.
        let single = entries.iter().any(|(key, _)| key == "connector-name");
        let mut defaults = Vec::new();
        let mut targets = None;
        for (key, value) in entries {
            let at = file.at_key(&key);
            match key.as_str() {
                "api-user" | "api-secret" | "domain" | "raito-url-override" => {
                    let resolved = resolver.resolve(value, &at).await?;
                    let text = optional_string(resolved, &at)?;
                    match key.as_str() {
                        "api-user" => config.api_user = text,
                        "api-secret" => config.api_secret = text.map(SecretString::from),
                        "domain" => config.domain = text,
                        _ => config.raito_url = text,
                    }
                }
                "targets" if single => {
                    tracing::warn!(
                        file = origin,
                        "`targets` is ignored: a top-level connector-name makes the file's top \
                         level its one target, as in the Raito CLI"
                    );
                }
                "targets" => targets = Some((value, at)),
                // A setting of the whole run: resolved here (a key that is not one is resolved,
                // if at all, by the target that takes it).
                _ if cli::GLOBAL_KEYS.contains(&key.as_str()) => {
                    let resolved = resolver.resolve(value, &at).await?;
                    config.settings.set(&key, &resolved.value, &at)?;
                }
                _ => {
                    if single {
                        defaults.push((key, value));
                    } else if is_target_setting(&key) {
                        // A target setting written at the top level: the default of every target.
                        defaults.push((key, value));
                    } else if let Some(why) = cli::not_used(&key) {
                        tracing::info!(
                            file = origin,
                            key,
                            why,
                            "a Raito CLI setting not used here"
                        );
                    } else {
                        // The Go CLI ignores keys it does not ask for (viper); so does this, loudly.
                        tracing::warn!(
                            file = origin,
                            key,
                            "ignoring an unknown top-level key (the Raito CLI ignores it too)"
                        );
                    }
                }
            }
        }
        if single {
            let target = parse_target(1, defaults, &[], &resolver, &file).await?;
            config.targets.push(target);
            return Ok(config);
        }

        let entries = match targets {
            None => Vec::new(),
            Some((serde_norway::Value::Null, _)) => Vec::new(),
            Some((serde_norway::Value::Sequence(entries), _)) => entries,
            Some((_, at)) => return Err(Error::invalid(&at, "expected a list of targets")),
        };
        let mut names = HashSet::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let here = file.in_target(TargetRef::Position(index + 1));
            let serde_norway::Value::Mapping(mapping) = entry else {
                return Err(Error::invalid(
                    &here,
                    "a target must be a mapping of keys to values",
                ));
            };
            let keys = lower_case_keys(mapping, &here)?;
            let target = parse_target(index + 1, keys, &defaults, &resolver, &file).await?;
            if !names.insert(target.name.clone()) {
                return Err(Error::DuplicateTarget {
                    origin: origin.to_owned(),
                    name: target.name,
                });
            }
            config.targets.push(target);
        }
        let only = &config.settings.only_targets;
        if !only.is_empty() {
            if let Some(missing) = only.iter().find(|name| !names.contains(*name)) {
                return Err(Error::invalid(
                    &file.at_key("only-targets"),
                    format!(
                        "no target is named {missing:?} (targets: {})",
                        config.target_names()
                    ),
                ));
            }
            config.targets.retain(|t| only.contains(&t.name));
        }
        Ok(config)
    }

    /// The targets' names, comma-separated (for messages).
    pub fn target_names(&self) -> String {
        self.targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
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
            .field("raito_url", &self.raito_url)
            .field("settings", &self.settings)
            .field("targets", &self.targets)
            .finish()
    }
}

/// Whether `key` is a setting of a target that may also be written at the top level, as the
/// default of every target (the `skip-...-sync` flags are OR-ed, as in the Raito CLI).
fn is_target_setting(key: &str) -> bool {
    (TARGET_KEYS.contains(&key)
        && !matches!(
            key,
            "name" | "connector-name" | "secret" | "data-source-id" | "identity-store-id"
        ))
        || key.starts_with("lock-")
        || key.starts_with("fully-lock-")
        || key.starts_with("tag-")
        || matches!(
            key,
            "make-not-internalizable" | "skip-data-access-import" | "only-out-of-sync-data"
        )
}

/// The entries of a mapping with their keys in lower case, as viper reads them (the Go CLI's
/// configuration library).
fn lower_case_keys(
    mapping: serde_norway::Mapping,
    at: &Location,
) -> Result<Vec<(String, serde_norway::Value)>, Error> {
    mapping
        .into_iter()
        .map(|(key, value)| Ok((key_string(key, at)?.to_ascii_lowercase(), value)))
        .collect()
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

/// Reads one target from its keys (lower case) and the top-level `defaults` (keys written at
/// the top level that are target settings; the target's own keys win, `skip-...-sync` flags
/// are OR-ed).
async fn parse_target(
    position: usize,
    mut entries: Vec<(String, serde_norway::Value)>,
    defaults: &[(String, serde_norway::Value)],
    resolver: &Resolver<'_>,
    file: &Location,
) -> Result<Target, Error> {
    let here = file.in_target(TargetRef::Position(position));
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
        settings: TargetSettings::default(),
    };
    // Defaults first, then the target's own keys over them.
    let written: HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let inherited: Vec<(String, serde_norway::Value)> = defaults
        .iter()
        .filter(|(key, _)| key.starts_with("skip-") || !written.contains(key.as_str()))
        .cloned()
        .collect();
    let mut secret_names = Vec::new();
    for (key, value) in inherited.into_iter().chain(entries) {
        let at = here.at_key(&key);
        let value = resolver.resolve(value, &at).await?;
        match key.as_str() {
            "data-source-id" => target.data_source_id = optional_string(value, &at)?,
            "identity-store-id" => target.identity_store_id = optional_string(value, &at)?,
            SKIP_IDENTITY_STORE_SYNC => target.skip_identity_store_sync |= flag(value, &at, false)?,
            SKIP_DATA_SOURCE_SYNC => target.skip_data_source_sync |= flag(value, &at, false)?,
            SKIP_DATA_ACCESS_SYNC => target.skip_data_access_sync |= flag(value, &at, false)?,
            SKIP_DATA_USAGE_SYNC => target.skip_data_usage_sync |= flag(value, &at, false)?,
            "delete-untouched" => target.delete_untouched = flag(value, &at, true)?,
            "replace-groups" => target.replace_groups = flag(value, &at, true)?,
            "secret" => secret_names = string_list(value, &at)?,
            _ => {
                if target.settings.set(&key, &value.value, &at)? {
                    continue;
                }
                if let Some(why) = cli::not_used(&key) {
                    tracing::info!(
                        file = here.origin,
                        target = target.name,
                        key,
                        why,
                        "a Raito CLI setting not used here"
                    );
                } else if cli::GLOBAL_KEYS.contains(&key.as_str()) {
                    tracing::warn!(
                        file = here.origin,
                        target = target.name,
                        key,
                        "ignoring a setting of the whole run written in a target: write it at \
                         the top level"
                    );
                } else if !value.value.is_null() {
                    target
                        .parameters
                        .insert_written(&key, value.value, value.from_secret);
                }
            }
        }
    }

    // Keys written in the target win over keys from its secrets.
    let written: BTreeSet<String> = target.parameters.keys().map(str::to_owned).collect();
    let at = here.at_key("secret");
    if resolver.secrets.leaves_unread() {
        secret_names.clear();
    }
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
