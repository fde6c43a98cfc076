//! The Raito CLI's own keys of `raito.yml`, as the Go CLI reads them (raito-io/cli
//! `internal/constants/constants.go`, `internal/target/target.go`, `internal/target/types/model.go`,
//! `cmd/root.go`, `cmd/run.go`): which are used here and how, which are accepted and ignored (and
//! why), and the settings they make. None of them ever reaches a connector's parameters.

use std::collections::BTreeSet;

use regex::Regex;
use secrecy::SecretString;

use super::error::{Error, Location};
use crate::step::Step;

/// Top-level keys that are settings of the whole run (never of a target).
pub(super) const GLOBAL_KEYS: &[&str] = &[
    "api-user",
    "api-secret",
    "domain",
    "raito-url-override",
    "targets",
    "debug",
    "only-targets",
    "maximum-file-size",
    DISABLE_WEBSOCKET,
    DISABLE_LOG_FORWARDING,
    "disable-log-forwarding-data-source-sync",
    "disable-log-forwarding-identity-store-sync",
    "disable-log-forwarding-data-access-sync",
    "disable-log-forwarding-data-usage-sync",
    "disable-log-forwarding-resource-provider-sync",
    "disable-log-forwarding-tag-sync",
];

const DISABLE_LOG_FORWARDING: &str = "disable-log-forwarding";
/// The Go CLI's flag of the same name (raito-io/cli `internal/constants/constants.go`,
/// `DisableWebsocketFlag`; read in `internal/clitrigger/factory.go`).
const DISABLE_WEBSOCKET: &str = "disable-websocket";

/// Keys of the Go CLI that mean nothing in AWS Lambda, accepted (at the top level or in a
/// target) and logged once as not used, with the reason.
pub const NOT_USED: &[(&str, &str)] = &[
    (
        "log-file",
        "logs go to CloudWatch Logs (stdout in raito-sync)",
    ),
    (
        "log-output",
        "logs go to CloudWatch Logs (stdout in raito-sync)",
    ),
    (
        "config-file",
        "the functions read RAITO_CONFIG_URI; raito-sync takes --config",
    ),
    (
        "frequency",
        "runs are scheduled by EventBridge (template.yaml's *Schedule parameters)",
    ),
    (
        "cron",
        "runs are scheduled by EventBridge (template.yaml's *Schedule parameters)",
    ),
    ("sync-at-startup", "runs are scheduled by EventBridge"),
    (
        "skip-authentication",
        "every request to Raito Cloud is authenticated",
    ),
    ("skip-file-upload", "files are always uploaded"),
    (
        "file-backup-location",
        "staged files are kept in the bundle's bucket (StagedFileRetentionDays)",
    ),
    (
        "maximum-backups-per-target",
        "staged files expire by the bucket's lifecycle rule",
    ),
    (
        "delete-temp-files",
        "staged files expire by the bucket's lifecycle rule",
    ),
    (
        "repositories",
        "connectors are built in; no plugin is downloaded",
    ),
    (
        "data-object-enrichers",
        "data object enrichers (Go plugins) are not supported",
    ),
    (
        "connector-version",
        "connectors are built in, at this bundle's version",
    ),
    (
        "cli-container-liveness-file",
        "Lambda has no container health check",
    ),
    ("skip-tag-sync", "no connector here has a tag sync"),
    (
        "skip-resource-provider-sync",
        "no connector here is a resource provider",
    ),
    (
        "skip-resource-provider",
        "no connector here is a resource provider",
    ),
    // Keys of the single-target form, at the top level of a file with `targets`.
    (
        "data-source-id",
        "with `targets`, each target names its own",
    ),
    (
        "identity-store-id",
        "with `targets`, each target names its own",
    ),
    ("name", "with `targets`, each target names its own"),
    // Older keys the Go CLI still tolerates in its own test configuration (cmd/testdata).
    (
        "connector",
        "an old name of connector-name; write connector-name",
    ),
    ("replace-tags", "not a setting of the Raito CLI any more"),
];

/// Whether `key` is a Go CLI key that is accepted and not used; its reason.
pub fn not_used(key: &str) -> Option<&'static str> {
    NOT_USED
        .iter()
        .find(|(known, _)| *known == key)
        .map(|(_, why)| *why)
}

/// Settings of the whole run (top-level keys).
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    /// `debug`: log at debug level (unless `RUST_LOG` says otherwise).
    pub debug: bool,
    /// `only-targets`: the run syncs only these targets (comma-separated names); empty: all.
    pub only_targets: Vec<String>,
    /// `maximum-file-size` (e.g. `512mb`): the size cap of one usage file; `None`: the default.
    pub maximum_file_size: Option<u64>,
    /// `disable-log-forwarding` and its per-step variants.
    pub log_forwarding: LogForwarding,
    /// `disable-websocket`: the trigger listener does not listen to Raito's trigger channel
    /// (it ends at once, each time it is started), as the Go CLI then captures no trigger.
    /// Default `false`.
    pub disable_websocket: bool,
}

/// Which steps' logs are sent to Raito (the Go CLI's `logForwardingEnabled`,
/// internal/target_sync/sync_job.go): all, unless `disable-log-forwarding` or the step's own
/// `disable-log-forwarding-<step>-sync` is true.
#[derive(Debug, Clone, Default)]
pub struct LogForwarding {
    /// `disable-log-forwarding`.
    pub disabled: bool,
    /// The steps whose own key is true.
    pub disabled_steps: BTreeSet<Step>,
}

impl LogForwarding {
    /// Whether the log of `step` is forwarded.
    pub fn enabled(&self, step: Step) -> bool {
        !self.disabled && !self.disabled_steps.contains(&step)
    }
}

impl RunSettings {
    /// Takes the top-level key `key`; `false` when it is not a setting of the run.
    pub(super) fn set(
        &mut self,
        key: &str,
        value: &serde_json::Value,
        at: &Location,
    ) -> Result<bool, Error> {
        let step = match key {
            "debug" => {
                self.debug = flag(value, at)?;
                return Ok(true);
            }
            "only-targets" => {
                self.only_targets = comma_list(value, at)?;
                return Ok(true);
            }
            "maximum-file-size" => {
                self.maximum_file_size = Some(size(value, at)?);
                return Ok(true);
            }
            DISABLE_LOG_FORWARDING => {
                self.log_forwarding.disabled = flag(value, at)?;
                return Ok(true);
            }
            DISABLE_WEBSOCKET => {
                self.disable_websocket = flag(value, at)?;
                return Ok(true);
            }
            "disable-log-forwarding-resource-provider-sync" | "disable-log-forwarding-tag-sync" => {
                // No such step here; accepted.
                flag(value, at)?;
                return Ok(true);
            }
            key => {
                let step = key
                    .strip_prefix("disable-log-forwarding-")
                    .and_then(|rest| rest.strip_suffix("-sync"))
                    .and_then(Step::from_name);
                match step {
                    Some(step) => step,
                    None => return Ok(false),
                }
            }
        };
        if flag(value, at)? {
            self.log_forwarding.disabled_steps.insert(step);
        }
        Ok(true)
    }
}

/// Per-target Raito Cloud credentials (`api-user`, `api-secret`, `domain`,
/// `raito-url-override` written in a target): that target's jobs go to that organisation. Each
/// one not written falls back to the top-level value. (The Go CLI means the same, though its
/// `auth.AddTokenToHeader` reloads the global values before every request since 2024, so there
/// the override holds only for the first request.)
#[derive(Clone, Default)]
pub struct RaitoOverride {
    /// `api-user`.
    pub api_user: Option<String>,
    /// `api-secret`.
    pub api_secret: Option<SecretString>,
    /// `domain`.
    pub domain: Option<String>,
    /// `raito-url-override`: Raito's API base URL.
    pub url: Option<String>,
}

impl std::fmt::Debug for RaitoOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaitoOverride")
            .field("api_user", &self.api_user)
            .field(
                "api_secret",
                &self.api_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("domain", &self.domain)
            .field("url", &self.url)
            .finish()
    }
}

/// One lock of the Go CLI's `checkLocking` (raito-io/cli
/// base/access_provider/sync_from_target/sync_from_target.go, `shouldLock`): all access
/// providers, those whose name matches a pattern, those with a tag `key:value` matching a
/// pattern, or those the connector marks incomplete.
#[derive(Debug, Clone, Default)]
pub struct LockRule {
    /// `lock-all-<what>` (`fully-lock-all`).
    pub all: bool,
    /// `lock-<what>-by-name` (`fully-lock-by-name`): comma-separated regular expressions, each
    /// matched against the whole name.
    pub by_name: Patterns,
    /// `lock-<what>-by-tag`: comma-separated regular expressions matched against `key:value`.
    pub by_tag: Patterns,
    /// `lock-<what>-when-incomplete`.
    pub when_incomplete: bool,
}

/// Regular expressions, each anchored as Go's `match.MatchesAny` (base/util/match/match.go)
/// anchors it: `^` + pattern + `$`, without a group (so `a|b` is `^a|b$`, as in Go).
#[derive(Debug, Clone, Default)]
pub struct Patterns(Vec<Regex>);

impl Patterns {
    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `subject` matches any pattern.
    pub fn matches(&self, subject: &str) -> bool {
        self.0.iter().any(|re| re.is_match(subject))
    }
}

/// The lock settings of a target, applied to every access provider it imports into Raito.
#[derive(Debug, Clone, Default)]
pub struct Locks {
    /// `lock-*-who`: Raito may not change the who.
    pub who: LockRule,
    /// `lock-*-inheritance`.
    pub inheritance: LockRule,
    /// `lock-*-what`.
    pub what: LockRule,
    /// `lock-*-names`.
    pub names: LockRule,
    /// `lock-*-delete`.
    pub delete: LockRule,
    /// `lock-all-owners`.
    pub all_owners: bool,
    /// `fully-lock-*`: not internalizable at all.
    pub fully: LockRule,
    /// `make-not-internalizable` (deprecated): names that are not internalizable.
    pub make_not_internalizable: Patterns,
}

impl Locks {
    /// Takes a lock key; `false` when `key` is not one.
    fn set(&mut self, key: &str, value: &serde_json::Value, at: &Location) -> Result<bool, Error> {
        match key {
            "lock-all-owners" => {
                self.all_owners = flag(value, at)?;
                return Ok(true);
            }
            "make-not-internalizable" => {
                self.make_not_internalizable = patterns(value, at)?;
                return Ok(true);
            }
            _ => {}
        }
        let (rule, part) = if let Some(part) = key.strip_prefix("fully-lock-") {
            (&mut self.fully, part)
        } else if let Some(rest) = key.strip_prefix("lock-all-") {
            let Some(rule) = self.rule(rest) else {
                return Ok(false);
            };
            rule.all = flag(value, at)?;
            return Ok(true);
        } else if let Some(rest) = key.strip_prefix("lock-") {
            let Some((what, part)) = rest.split_once('-') else {
                return Ok(false);
            };
            let Some(rule) = self.rule(what) else {
                return Ok(false);
            };
            (rule, part)
        } else {
            return Ok(false);
        };
        match part {
            "all" => rule.all = flag(value, at)?,
            "by-name" => rule.by_name = patterns(value, at)?,
            "by-tag" => rule.by_tag = patterns(value, at)?,
            "when-incomplete" => rule.when_incomplete = flag(value, at)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn rule(&mut self, what: &str) -> Option<&mut LockRule> {
        match what {
            "who" => Some(&mut self.who),
            "inheritance" => Some(&mut self.inheritance),
            "what" => Some(&mut self.what),
            "names" => Some(&mut self.names),
            "delete" => Some(&mut self.delete),
            _ => None,
        }
    }
}

/// The Go CLI's tag rules of a target (its post-processors, internal/*/post_processor.go).
#[derive(Debug, Clone, Default)]
pub struct TagRules {
    /// `tag-overwrite-key-for-access-provider-name`: an imported access provider with a tag of
    /// this key takes the tag's value as its name, and its name is locked.
    pub access_provider_name: Option<String>,
    /// `tag-overwrite-key-for-access-provider-owners`: tags of this key become the access
    /// provider's `raito_owner` tag, and its owners are locked.
    pub access_provider_owners: Option<String>,
    /// `tag-overwrite-key-for-data-object-owners`: tags of this key become the data object's
    /// `raito_owner` tag.
    pub data_object_owners: Option<String>,
    /// `tag-key-and-value-for-user-is-machine` (`key:value`): users with that tag are machines.
    pub user_is_machine: Option<(String, String)>,
}

/// The settings of a target that are the Go CLI's own keys (besides `name`, the ids, the
/// `skip-*-sync` flags, `delete-untouched` and `replace-groups`).
#[derive(Debug, Clone, Default)]
pub struct TargetSettings {
    /// Per-target Raito Cloud credentials.
    pub raito: RaitoOverride,
    /// Locks on imported access providers.
    pub locks: Locks,
    /// Tag rules.
    pub tags: TagRules,
    /// `skip-data-access-import`: the access step applies Raito's access providers and does not
    /// import the target's own.
    pub skip_data_access_import: bool,
    /// `only-out-of-sync-data`: the access step exports only the access providers out of sync.
    pub only_out_of_sync_data: bool,
}

impl TargetSettings {
    /// Takes `key`; `false` when it is not one of these settings.
    pub(crate) fn set(
        &mut self,
        key: &str,
        value: &serde_json::Value,
        at: &Location,
    ) -> Result<bool, Error> {
        let text = || optional_text(value, at);
        match key {
            "api-user" => self.raito.api_user = text()?,
            "api-secret" => self.raito.api_secret = text()?.map(SecretString::from),
            "domain" => self.raito.domain = text()?,
            "raito-url-override" => self.raito.url = text()?,
            "skip-data-access-import" => self.skip_data_access_import = flag(value, at)?,
            "only-out-of-sync-data" => self.only_out_of_sync_data = flag(value, at)?,
            "tag-overwrite-key-for-access-provider-name" => {
                self.tags.access_provider_name = text()?
            }
            "tag-overwrite-key-for-access-provider-owners" => {
                self.tags.access_provider_owners = text()?
            }
            "tag-overwrite-key-for-data-object-owners" => self.tags.data_object_owners = text()?,
            "tag-key-and-value-for-user-is-machine" => {
                // internal/identity_store/post_processor.go: exactly `key:value`, both non-empty;
                // anything else turns the rule off there. Here it is an error, to be seen.
                self.tags.user_is_machine = match text()? {
                    None => None,
                    Some(pair) => match pair.split(':').collect::<Vec<_>>().as_slice() {
                        [key, value] if !key.is_empty() && !value.is_empty() => {
                            Some(((*key).to_owned(), (*value).to_owned()))
                        }
                        _ => {
                            return Err(Error::invalid(
                                at,
                                format!("expected `key:value` (one colon), found {pair:?}"),
                            ));
                        }
                    },
                }
            }
            _ => return self.locks.set(key, value, at),
        }
        Ok(true)
    }
}

fn flag(value: &serde_json::Value, at: &Location) -> Result<bool, Error> {
    if value.is_null() {
        return Ok(false);
    }
    super::parameters::parse_bool(value)
        .ok_or_else(|| Error::invalid(at, format!("expected true or false, found {value}")))
}

fn optional_text(value: &serde_json::Value, at: &Location) -> Result<Option<String>, Error> {
    match value {
        serde_json::Value::Null => Ok(None),
        value => super::parameters::scalar_string(value)
            .map(|s| Some(s).filter(|s| !s.is_empty()))
            .ok_or_else(|| Error::invalid(at, "expected a single value")),
    }
}

/// A comma-separated list (Go's `slice.ParseCommaSeparatedList`: items trimmed, duplicates
/// dropped), also accepted as a YAML list.
fn comma_list(value: &serde_json::Value, at: &Location) -> Result<Vec<String>, Error> {
    let items: Vec<String> = match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| {
                super::parameters::scalar_string(item)
                    .ok_or_else(|| Error::invalid(at, "expected a list of single values"))
            })
            .collect::<Result<_, _>>()?,
        value => super::parameters::scalar_string(value)
            .ok_or_else(|| Error::invalid(at, "expected a comma-separated list"))?
            .split(',')
            .map(str::to_owned)
            .collect(),
    };
    let mut list: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let item = item.trim();
        if !item.is_empty() && !list.iter().any(|seen| seen == item) {
            list.push(item.to_owned());
        }
    }
    Ok(list)
}

fn patterns(value: &serde_json::Value, at: &Location) -> Result<Patterns, Error> {
    comma_list(value, at)?
        .iter()
        .map(|pattern| {
            Regex::new(&format!("^{pattern}$")).map_err(|e| {
                Error::invalid(at, format!("{pattern:?} is not a regular expression: {e}"))
            })
        })
        .collect::<Result<_, _>>()
        .map(Patterns)
}

/// A size as the Go CLI reads `maximum-file-size` (c2h5oh/datasize): a number of bytes, or a
/// number with `b`, `kb`, `mb`, `gb`, `tb` (powers of 1024, any case, spaces allowed).
fn size(value: &serde_json::Value, at: &Location) -> Result<u64, Error> {
    let text = super::parameters::scalar_string(value)
        .ok_or_else(|| Error::invalid(at, "expected a size such as 512mb"))?;
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ' ');
    let unit = lower[digits.len()..].trim();
    let scale: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        "t" | "tb" => 1 << 40,
        _ => 0,
    };
    match digits.trim().parse::<u64>() {
        Ok(n) if scale > 0 && n > 0 => n
            .checked_mul(scale)
            .ok_or_else(|| Error::invalid(at, format!("{text:?} is too large"))),
        _ => Err(Error::invalid(
            at,
            format!("expected a size such as 512mb, found {text:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> Location {
        Location::file("t.yml")
    }

    #[test]
    fn sizes_are_read_like_datasize() {
        for (text, bytes) in [
            ("512mb", 512 << 20),
            ("1 GB", 1 << 30),
            ("100", 100),
            ("4kb", 4096),
        ] {
            assert_eq!(size(&json!(text), &at()).unwrap(), bytes, "{text}");
        }
        assert!(size(&json!("5 parsecs"), &at()).is_err());
        assert!(size(&json!("0mb"), &at()).is_err());
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated_like_go() {
        assert_eq!(
            comma_list(&json!(" a, b ,a,, c"), &at()).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(comma_list(&json!(["x", "x"]), &at()).unwrap(), ["x"]);
    }

    #[test]
    fn patterns_are_anchored_without_a_group_like_go() {
        let p = patterns(&json!("ADMIN|SYS.*"), &at()).unwrap();
        assert!(p.matches("ADMIN"));
        assert!(
            p.matches("ADMINISTRATORS"),
            "^ADMIN|SYS.*$, as Go builds it"
        );
        assert!(!p.matches("MY_ADMIN"));
        assert!(patterns(&json!("(unclosed"), &at()).is_err());
    }

    #[test]
    fn lock_keys_fill_their_rule() {
        let mut locks = Locks::default();
        for (key, value) in [
            ("lock-all-who", json!(true)),
            ("lock-what-by-name", json!("A.*")),
            ("lock-names-by-tag", json!("env:prod")),
            ("lock-delete-when-incomplete", json!(true)),
            ("fully-lock-by-name", json!("SYS")),
            ("lock-all-owners", json!(true)),
        ] {
            assert!(locks.set(key, &value, &at()).unwrap(), "{key}");
        }
        assert!(locks.who.all && locks.what.by_name.matches("AB"));
        assert!(locks.names.by_tag.matches("env:prod") && locks.delete.when_incomplete);
        assert!(locks.fully.by_name.matches("SYS") && locks.all_owners);
        assert!(!locks.set("lock-everything", &json!(true), &at()).unwrap());
        assert!(!locks.set("lock-who-by-colour", &json!("x"), &at()).unwrap());
    }
}
