//! What the Raito CLI does to a connector's output before Raito receives it, by the target's
//! settings (see `config::cli`): the locks on imported access providers (raito-io/cli
//! `base/access_provider/sync_from_target/sync_from_target.go`, `checkLocking`) and the tag
//! rules of its post-processors (`internal/access_provider/post_processor.go`,
//! `internal/data_source/post_processor.go`, `internal/identity_store/post_processor.go`).
//! Each is a sink in front of the step's output, one element at a time.

use async_trait::async_trait;

use crate::config::cli::{LockRule, Locks, TagRules};
use crate::connector::Sink;
use crate::model::Tag;
use crate::model::access::AccessProvider;
use crate::model::data_source::DataObject;
use crate::model::identity::User;
use crate::output;

/// The tag that carries a data object's or access provider's owners in Raito
/// (raito-io/cli `internal/constants`, `RaitoOwnerTagKey`).
pub const RAITO_OWNER_TAG: &str = "raito_owner";

/// The lock reason of a name taken from a tag (`post_processor.go`, verbatim).
pub const NAME_TAG_OVERRIDE_LOCKED_REASON: &str =
    "This Snowflake role can't be renamed because it has a name tag override attached to it";

/// The lock reason of owners taken from tags (`post_processor.go`, verbatim).
pub const OWNERS_TAG_OVERRIDE_LOCKED_REASON: &str =
    "This Snowflake role can't update its owners as it has an owners tag override attached to it";

/// A sink that changes each element with `change` before handing it on.
pub(crate) struct Changing<'a, T, F> {
    inner: &'a mut (dyn Sink<T> + 'a),
    change: F,
}

impl<'a, T: Send, F: FnMut(&mut T) + Send> Changing<'a, T, F> {
    pub(crate) fn new(inner: &'a mut (dyn Sink<T> + 'a), change: F) -> Self {
        Self { inner, change }
    }
}

#[async_trait]
impl<T: Send, F: FnMut(&mut T) + Send> Sink<T> for Changing<'_, T, F> {
    async fn push(&mut self, mut item: T) -> Result<(), output::Error> {
        (self.change)(&mut item);
        self.inner.push(item).await
    }
}

/// Go's `shouldLock`: the rule locks every access provider, or this one by its name, a tag
/// `key:value`, or because it is incomplete.
fn should_lock(rule: &LockRule, ap: &AccessProvider) -> bool {
    rule.all
        || rule.by_name.matches(&ap.name)
        || (!rule.by_tag.is_empty()
            && ap
                .tags
                .iter()
                .any(|tag| rule.by_tag.matches(&format!("{}:{}", tag.key, tag.value))))
        || (rule.when_incomplete && ap.incomplete == Some(true))
}

/// Go's `checkLocking`: only ever sets a lock (never clears one the connector set), with no
/// reason, as Go.
pub fn lock(ap: &mut AccessProvider, locks: &Locks) {
    // Each rule reads the access provider as the connector wrote it: decide first, then set.
    let who = should_lock(&locks.who, ap);
    let inheritance = should_lock(&locks.inheritance, ap);
    let what = should_lock(&locks.what, ap);
    let names = should_lock(&locks.names, ap);
    let delete = should_lock(&locks.delete, ap);
    let fully = should_lock(&locks.fully, ap) || locks.make_not_internalizable.matches(&ap.name);
    for (locked, field) in [
        (who, &mut ap.who_locked),
        (inheritance, &mut ap.inheritance_locked),
        (what, &mut ap.what_locked),
        (names, &mut ap.name_locked),
        (delete, &mut ap.delete_locked),
        (locks.all_owners, &mut ap.owners_locked),
    ] {
        if locked {
            *field = Some(true);
        }
    }
    if fully {
        ap.not_internalizable = true;
    }
}

/// Go's `matchedWithTagKey`: the key in any case, a non-empty value.
fn matches_key(tag: &Tag, key: &str) -> bool {
    !key.is_empty() && tag.key.eq_ignore_ascii_case(key) && !tag.value.is_empty()
}

/// Go's `stringops.TrimSpaceInCommaSeparatedList`: items trimmed, empty ones dropped.
fn trimmed_list(value: &str) -> String {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// The owners post-processing shared by access providers and data objects: the first
/// non-empty `raito_owner` tag (normalised) gets the values of the tags of `key` appended, or
/// one is added with the first such tag's source. Whether a `raito_owner` tag is there at the
/// end.
fn merge_owners(tags: &mut Vec<Tag>, key: &str) -> bool {
    let mut owner = None;
    for (index, tag) in tags.iter_mut().enumerate() {
        if tag.key != RAITO_OWNER_TAG {
            continue;
        }
        let value = trimmed_list(&tag.value);
        if !value.is_empty() {
            tag.value = value;
            owner = Some(index);
            break;
        }
    }
    // Go ranges over the tags as they were: a tag it appends is not visited.
    for index in 0..tags.len() {
        if !matches_key(&tags[index], key) {
            continue;
        }
        let value = trimmed_list(&tags[index].value);
        if value.is_empty() {
            continue;
        }
        match owner {
            Some(at) => {
                let merged = format!("{},{value}", tags[at].value);
                tags[at].value = merged;
            }
            None => {
                let source = tags[index].source.clone();
                tags.push(Tag {
                    key: RAITO_OWNER_TAG.to_owned(),
                    value,
                    source,
                });
                owner = Some(tags.len() - 1);
            }
        }
    }
    owner.is_some()
}

/// The access provider rules of a target: locks, then the name and owners tag overrides.
pub fn access_provider(ap: &mut AccessProvider, locks: &Locks, tags: &TagRules) {
    lock(ap, locks);
    if let Some(key) = &tags.access_provider_name
        && let Some(tag) = ap.tags.iter().find(|tag| matches_key(tag, key))
    {
        ap.name = tag.value.clone();
        ap.name_locked = Some(true);
        ap.name_locked_reason = Some(NAME_TAG_OVERRIDE_LOCKED_REASON.to_owned());
    }
    if let Some(key) = &tags.access_provider_owners
        && merge_owners(&mut ap.tags, key)
    {
        ap.owners_locked = Some(true);
        ap.owners_locked_reason = Some(OWNERS_TAG_OVERRIDE_LOCKED_REASON.to_owned());
    }
}

/// The data object rule of a target: owners from tags of its key.
pub fn data_object(object: &mut DataObject, tags: &TagRules) {
    if let Some(key) = &tags.data_object_owners {
        merge_owners(&mut object.tags, key);
    }
}

/// The user rule of a target: a user with the tag `key:value` (both in any case) is a machine.
pub fn user(user: &mut User, tags: &TagRules) {
    if let Some((key, value)) = &tags.user_is_machine
        && user.tags.iter().any(|tag| {
            !tag.value.is_empty()
                && tag.key.eq_ignore_ascii_case(key)
                && tag.value.eq_ignore_ascii_case(value)
        })
    {
        user.is_machine = Some(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
            source: "src".into(),
        }
    }

    fn locks(yaml: &[(&str, &str)]) -> Locks {
        let mut settings = crate::config::TargetSettings::default();
        for (key, value) in yaml {
            let value: serde_json::Value = serde_json::from_str(value).unwrap();
            let at = crate::config::Location::file("t.yml");
            assert!(settings.set(key, &value, &at).unwrap(), "{key}");
        }
        settings.locks
    }

    #[test]
    fn locks_follow_go_check_locking() {
        let locks = locks(&[
            ("lock-who-by-name", "\"FIN.*\""),
            ("lock-what-by-tag", "\"env:prod\""),
            ("lock-delete-when-incomplete", "true"),
            ("fully-lock-by-name", "\"SYSADMIN\""),
            ("lock-all-owners", "true"),
        ]);
        let mut finance = AccessProvider {
            name: "FINANCE".into(),
            tags: vec![tag("env", "prod")],
            incomplete: Some(true),
            ..Default::default()
        };
        lock(&mut finance, &locks);
        assert_eq!(finance.who_locked, Some(true));
        assert_eq!(finance.what_locked, Some(true));
        assert_eq!(finance.delete_locked, Some(true));
        assert_eq!(finance.owners_locked, Some(true));
        assert_eq!(
            finance.inheritance_locked, None,
            "never set when not locked"
        );
        assert_eq!(finance.who_locked_reason, None, "Go sets no reason");
        assert!(!finance.not_internalizable);
        let mut sysadmin = AccessProvider {
            name: "SYSADMIN".into(),
            ..Default::default()
        };
        lock(&mut sysadmin, &locks);
        assert!(sysadmin.not_internalizable);
        assert_eq!(sysadmin.who_locked, None);
    }

    #[test]
    fn tag_overrides_follow_go_post_processor() {
        let rules = TagRules {
            access_provider_name: Some("Display".into()),
            access_provider_owners: Some("owner".into()),
            ..Default::default()
        };
        let mut ap = AccessProvider {
            name: "R1".into(),
            tags: vec![
                tag("display", "Finance readers"),
                tag("OWNER", " ann , ,bob "),
                tag("owner", "carl"),
            ],
            ..Default::default()
        };
        access_provider(&mut ap, &Locks::default(), &rules);
        assert_eq!(ap.name, "Finance readers");
        assert_eq!(
            ap.name_locked_reason.as_deref(),
            Some(NAME_TAG_OVERRIDE_LOCKED_REASON)
        );
        assert_eq!(ap.tags[3].key, RAITO_OWNER_TAG);
        assert_eq!(ap.tags[3].value, "ann,bob,carl");
        assert_eq!(ap.tags[3].source, "src");
        assert_eq!(ap.owners_locked, Some(true));

        // An existing raito_owner tag is normalised and extended, and locks the owners.
        let mut ap = AccessProvider {
            tags: vec![tag(RAITO_OWNER_TAG, " x "), tag("other", "y")],
            ..Default::default()
        };
        access_provider(&mut ap, &Locks::default(), &rules);
        assert_eq!(ap.tags.len(), 2);
        assert_eq!(ap.tags[0].value, "x");
        assert_eq!(ap.owners_locked, Some(true));
    }

    #[test]
    fn machine_users_by_tag() {
        let rules = TagRules {
            user_is_machine: Some(("kind".into(), "Service".into())),
            ..Default::default()
        };
        let mut robot = User {
            tags: vec![tag("KIND", "service")],
            ..Default::default()
        };
        user(&mut robot, &rules);
        assert_eq!(robot.is_machine, Some(true));
        let mut person = User {
            tags: vec![tag("kind", "person")],
            ..Default::default()
        };
        user(&mut person, &rules);
        assert_eq!(person.is_machine, None);
    }
}
