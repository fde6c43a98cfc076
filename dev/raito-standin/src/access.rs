//! The access side (DA): the access providers Raito manages per data source (seeded by tests
//! with `StandIn::put_access_provider`, exported with `exportAccessProvidersRequest`, see
//! `export`), the strict checks of the two uploaded access files (the feedback of an applied
//! export, `importAccessProvidersSyncFeedback`, and the access found in the target,
//! `importAccessProvidersRequest`) and how each changes what is stored.
//!
//! Sync state: every change of a managed access provider bumps its `version`; an export records
//! the version of each access provider it carried; a feedback element without errors marks that
//! exported version as applied. An access provider is in sync when its applied version is its
//! current one and it is not to be deleted; a deleted one whose delete was applied is removed.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::files::{Problems, read_array};
use crate::import::upsert;
use crate::state::{DataObjectReference, State, Tag};

/// The actions Raito knows, lower case as on the wire (`promise` and `purpose` are deprecated
/// but still valid).
pub(crate) const ACTIONS: [&str; 7] = [
    "promise", "grant", "deny", "mask", "filtered", "purpose", "share",
];

/// The prefix of an `inheritFrom` entry naming an access provider by its Raito id, for one that
/// has no actual name in the target yet.
pub(crate) const INHERIT_FROM_ID_PREFIX: &str = "ID:";

/// An access provider as Raito manages it: the export shape, strict (any other key is an
/// error). Seeded with `StandIn::put_access_provider`; written into exports with
/// `who.inheritFrom` resolved and the `actualName`/`externalId` known from feedback.
///
/// In a seed, `who.inheritFrom` lists the *Raito ids* of other access providers of the same
/// data source (or the `externalId` of an imported one); `actualName` and `externalId` are
/// optional starting values (as for an access provider Raito took over from an import).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessProviderSpec {
    /// Raito's id (required, non-empty, unique within the data source).
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub naming_hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Only in exports (and as a seed's starting value): its id in the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Only in exports (and as a seed's starting value): its name in the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_name: Option<String>,
    /// One of [`ACTIONS`], lower case (required).
    pub action: String,
    #[serde(default)]
    pub delete: bool,
    #[serde(default)]
    pub who: ExportWho,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_who: Option<ExportWho>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inheritance_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_locked: Option<bool>,
    /// Row filter rule text (action `filtered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_rule: Option<String>,
    /// Row filter expression tree (action `filtered`), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_criteria: Option<Value>,
    #[serde(default)]
    pub what: Vec<WhatItem>,
    #[serde(default)]
    pub delete_what: Vec<WhatItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_data_object: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Owner>,
}

/// Who an exported access provider applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportWho {
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// In a seed: Raito ids; in an export: actual names, or `ID:<raito id>`.
    #[serde(default)]
    pub inherit_from: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

/// Permissions on one data object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WhatItem {
    pub data_object: DataObjectReference,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// An owner of a managed access provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Owner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
}

/// A managed access provider and how far the target has applied it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedAccessProvider {
    /// What Raito wants, as seeded (`actualName`/`externalId` moved to the fields below,
    /// `who.inheritFrom` as Raito ids).
    pub access_provider: AccessProviderSpec,
    /// Starts at 1; every change (a different seed, a delete) adds one.
    pub version: u64,
    /// The version a feedback without errors confirmed last.
    pub applied_version: Option<u64>,
    /// Its name in the target, from feedback (or the seed).
    pub actual_name: Option<String>,
    /// Its id in the target, from feedback (or the seed).
    pub external_id: Option<String>,
    /// The last feedback element received for it.
    pub feedback: Option<AccessFeedback>,
}

impl ManagedAccessProvider {
    /// Raito's id.
    pub fn id(&self) -> &str {
        &self.access_provider.id
    }

    /// Whether the target has applied the current version (a deleted one never is).
    pub fn in_sync(&self) -> bool {
        self.applied_version == Some(self.version) && !self.access_provider.delete
    }
}

/// One access provider's feedback, as recorded from a feedback file element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessFeedback {
    /// Raito's id of the exported access provider.
    pub access_provider: String,
    /// Must be non-empty when `errors` is empty (except for a delete).
    pub actual_name: String,
    pub external_id: Option<String>,
    pub r#type: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// One element of a feedback file, strict: the nested "legacy" shape, the only one the Go CLI
/// uploads (`base/access_provider/sync_to_target/model.go`, `accessProviderFeedbackInformation`;
/// `sync_to_target.go`, `AddAccessProviderFeedback`): `{"externalId": <id>, "access": [one
/// item]}`. Go's connector-side flat shape (`accessProvider`, `state`) is never uploaded and is
/// refused here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedbackElement {
    pub external_id: String,
    pub access: Vec<FeedbackAccess>,
}

/// The item of a [`FeedbackElement`] (Go's `accessSyncFeedbackInformation`): Go's tags have no
/// `omitempty`, so every key is always there, `null` for a nil pointer or slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedbackAccess {
    pub access_id: String,
    pub actual_name: String,
    #[serde(deserialize_with = "present")]
    pub external_id: Option<String>,
    #[serde(deserialize_with = "present")]
    pub r#type: Option<String>,
    #[serde(deserialize_with = "present")]
    pub errors: Option<Vec<String>>,
    #[serde(deserialize_with = "present")]
    pub warnings: Option<Vec<String>>,
}

impl From<FeedbackElement> for AccessFeedback {
    /// Of a checked element (exactly one item).
    fn from(element: FeedbackElement) -> Self {
        let access = element.access.into_iter().next();
        let access = access.unwrap_or_else(|| FeedbackAccess {
            access_id: element.external_id.clone(),
            actual_name: String::new(),
            external_id: None,
            r#type: None,
            errors: None,
            warnings: None,
        });
        Self {
            access_provider: element.external_id,
            actual_name: access.actual_name,
            external_id: access.external_id,
            r#type: access.r#type,
            errors: access.errors.unwrap_or_default(),
            warnings: access.warnings.unwrap_or_default(),
        }
    }
}

/// A key that must be present but may be `null` (serde would default an absent `Option`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// One element of an access import file (target → Raito), strict: only `externalId` (non-empty,
/// unique) and `action` are required; absent strings read as `""`, absent lists as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportedAccessProvider {
    pub external_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub naming_hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// One of [`ACTIONS`], lower case.
    pub action: String,
    #[serde(default)]
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<ImportedWho>,
    #[serde(default)]
    pub actual_name: String,
    #[serde(default)]
    pub what: Option<Vec<WhatItem>>,
    #[serde(default)]
    pub not_internalizable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who_locked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inheritance_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inheritance_locked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_locked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_locked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_locked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners_locked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<bool>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_what_data_object: Option<String>,
}

/// Who an imported access provider applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportedWho {
    #[serde(default)]
    pub users: Option<Vec<String>>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// `externalId`s of the access providers it inherits from.
    #[serde(default)]
    pub access_providers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<String>>,
}

/// An export the stand-in made (`exportAccessProvidersRequest` that COMPLETED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessExport {
    pub subtask_id: String,
    pub job_id: String,
    pub data_source: String,
    /// Whether only out-of-sync access providers were asked for.
    pub out_of_sync_only: bool,
    pub file_key: String,
    /// What it carried, in file order.
    pub access_providers: Vec<ExportedVersion>,
}

/// One access provider as an export carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedVersion {
    pub id: String,
    pub version: u64,
    pub delete: bool,
}

/// What a completed export produced (`AccessProviderExportResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessExportResult {
    pub file_key: String,
    /// The download URL (no authentication; expires).
    pub file_location: String,
    pub warnings: Vec<String>,
}

/// What a completed feedback import did (`AccessProviderSyncFeedbackResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessFeedbackResult {
    /// Actual names recorded that were not known before (new or changed).
    pub access_names_added: u64,
    /// Exported access providers that got no feedback element.
    pub warnings: Vec<String>,
}

/// What a completed access import changed (`AccessProviderImportResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessImportResult {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    /// Own roles imported back, what items on unknown data objects, unresolved inheritance.
    pub warnings: Vec<String>,
}

/// Why seeding an access provider was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError(pub String);

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SeedError {}

/// Stores (or replaces, by id) one managed access provider of `data_source` from its
/// export-shaped JSON. A replacement that changes anything bumps the version (so the access
/// provider is out of sync until the next feedback); `actualName`/`externalId` given in the
/// value overwrite the known ones.
pub(crate) fn put(
    state: &mut State,
    data_sources: &[String],
    data_source: &str,
    value: Value,
) -> Result<(), SeedError> {
    known_data_source(data_sources, data_source)?;
    let mut spec: AccessProviderSpec = serde_path_to_error::deserialize(value).map_err(|e| {
        SeedError(format!(
            "not an access provider (export shape), at `{}`: {}",
            e.path(),
            e.inner()
        ))
    })?;
    let problems = spec_problems(&spec);
    if !problems.is_empty() {
        return Err(SeedError(format!(
            "access provider {:?}: {}",
            spec.id,
            problems.join("; ")
        )));
    }
    let actual_name = spec.actual_name.take().filter(|n| !n.is_empty());
    let external_id = spec.external_id.take().filter(|n| !n.is_empty());
    let stored = state
        .record
        .access_providers
        .entry(data_source.to_owned())
        .or_default();
    match stored.iter_mut().find(|ap| ap.id() == spec.id) {
        Some(existing) => {
            if existing.access_provider != spec {
                existing.access_provider = spec;
                existing.version += 1;
            }
            existing.actual_name = actual_name.or(existing.actual_name.take());
            existing.external_id = external_id.or(existing.external_id.take());
        }
        None => stored.push(ManagedAccessProvider {
            access_provider: spec,
            version: 1,
            applied_version: None,
            actual_name,
            external_id,
            feedback: None,
        }),
    }
    Ok(())
}

/// Marks a managed access provider to be deleted: the next export carries `delete: true`, and
/// a feedback without errors for that export removes it.
pub(crate) fn mark_deleted(
    state: &mut State,
    data_sources: &[String],
    data_source: &str,
    id: &str,
) -> Result<(), SeedError> {
    known_data_source(data_sources, data_source)?;
    let ap = state
        .record
        .access_providers
        .get_mut(data_source)
        .and_then(|aps| aps.iter_mut().find(|ap| ap.id() == id))
        .ok_or_else(|| {
            SeedError(format!(
                "data source {data_source:?} has no access provider {id:?}"
            ))
        })?;
    if !ap.access_provider.delete {
        ap.access_provider.delete = true;
        ap.version += 1;
    }
    Ok(())
}

fn known_data_source(data_sources: &[String], data_source: &str) -> Result<(), SeedError> {
    if data_sources.iter().any(|ds| ds == data_source) {
        Ok(())
    } else {
        Err(SeedError(format!(
            "data source {data_source:?} is not configured (Config::data_sources)"
        )))
    }
}

fn spec_problems(spec: &AccessProviderSpec) -> Vec<String> {
    let mut problems = Vec::new();
    if spec.id.is_empty() {
        problems.push("`id` is empty".to_owned());
    }
    if let Some(problem) = action_problem(&spec.action) {
        problems.push(problem);
    }
    for (list, items) in [("what", &spec.what), ("deleteWhat", &spec.delete_what)] {
        for (i, item) in items.iter().enumerate() {
            if item.data_object.full_name.is_empty() || item.data_object.r#type.is_empty() {
                problems.push(format!(
                    "`{list}[{i}].dataObject`: fullName and type must not be empty"
                ));
            }
        }
    }
    for (i, parent) in spec.who.inherit_from.iter().enumerate() {
        if parent.is_empty() || parent.starts_with(INHERIT_FROM_ID_PREFIX) {
            problems.push(format!(
                "`who.inheritFrom[{i}]` must be the Raito id of another access provider (without `ID:`), got {parent:?}"
            ));
        } else if *parent == spec.id {
            problems.push(format!(
                "`who.inheritFrom[{i}]`: an access provider cannot inherit from itself"
            ));
        }
    }
    problems
}

fn action_problem(action: &str) -> Option<String> {
    (!ACTIONS.contains(&action))
        .then(|| format!("`action` {action:?} is not one of {ACTIONS:?} (lower case)"))
}

/// What a feedback file is checked against, taken when the import runs.
pub(crate) struct FeedbackRules {
    pub(crate) data_source: String,
    pub(crate) job_id: String,
    /// The managed access providers' ids now.
    pub(crate) known: HashSet<String>,
    /// What the exports of this job (for this data source) carried; a later export wins.
    pub(crate) exported: HashMap<String, ExportedVersion>,
    /// The exported ids in file order (for the "no feedback" warnings).
    pub(crate) exported_order: Vec<String>,
    /// Whether the job has a completed export of the data source (possibly empty).
    pub(crate) has_export: bool,
}

impl FeedbackRules {
    pub(crate) fn gather(state: &State, data_source: &str, job_id: &str) -> Self {
        let mut exported = HashMap::new();
        let mut exported_order = Vec::new();
        let mut has_export = false;
        for export in &state.record.access_exports {
            if export.job_id != job_id || export.data_source != data_source {
                continue;
            }
            has_export = true;
            for version in &export.access_providers {
                if exported
                    .insert(version.id.clone(), version.clone())
                    .is_none()
                {
                    exported_order.push(version.id.clone());
                }
            }
        }
        Self {
            data_source: data_source.to_owned(),
            job_id: job_id.to_owned(),
            known: state
                .record
                .access_providers(data_source)
                .iter()
                .map(|ap| ap.id().to_owned())
                .collect(),
            exported,
            exported_order,
            has_export,
        }
    }
}

/// Reads and checks a feedback file. Returns the elements and the warnings (exported access
/// providers without feedback), or every problem, each naming the element and field.
pub(crate) fn check_feedback(
    bytes: &[u8],
    rules: &FeedbackRules,
) -> Result<(Vec<AccessFeedback>, Vec<String>), Vec<String>> {
    let mut problems = Problems::default();
    // An empty export is answered by an empty feedback file, as the Go CLI uploads one.
    if !rules.has_export {
        problems.add(format!(
            "job {:?} has no completed access export of data source {:?}: feedback can only \
             answer an export of the same job (call exportAccessProvidersRequest first)",
            rules.job_id, rules.data_source
        ));
        return Err(problems.finish());
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let read = read_array(
        bytes,
        "feedback elements",
        |index, element: &FeedbackElement| {
            let id = &element.external_id;
            let at = format!("element {index} (externalId \"{id}\")");
            if id.is_empty() {
                problems.add(format!(
                "element {index}, field `externalId`: must be the Raito id of an exported access provider, got \"\""
            ));
                return;
            }
            // Go writes exactly one item, for the same access provider (`AddAccessProviderFeedback`).
            let [access] = element.access.as_slice() else {
                problems.add(format!(
                    "{at}, field `access`: must hold exactly one item, got {}",
                    element.access.len()
                ));
                return;
            };
            if access.access_id != *id {
                problems.add(format!(
                "{at}, field `access[0].accessId`: must equal the element's externalId, got \"{}\"",
                access.access_id
            ));
            }
            if let Some(first) = seen.insert(id.clone(), index) {
                problems.add(format!(
                    "{at}, field `externalId`: duplicate (first in element {first})"
                ));
            }
            if !rules.known.contains(id) {
                problems.add(format!(
                "{at}, field `externalId`: data source \"{}\" has no access provider with this id",
                rules.data_source
            ));
                return;
            }
            let Some(exported) = rules.exported.get(id) else {
                problems.add(format!(
                    "{at}, field `externalId`: not in any access export of job \"{}\"",
                    rules.job_id
                ));
                return;
            };
            let no_errors = access.errors.as_ref().is_none_or(Vec::is_empty);
            if no_errors && access.actual_name.is_empty() && !exported.delete {
                problems.add(format!(
                "{at}, field `access[0].actualName`: empty, but there are no errors (the name the access provider has in the target is required)"
            ));
            }
        },
    );
    let feedback = match read {
        Ok(elements) => elements
            .into_iter()
            .map(AccessFeedback::from)
            .collect::<Vec<_>>(),
        Err(error) => {
            problems.add(error.message(Some("the feedback file")));
            return Err(problems.finish());
        }
    };
    let problems = problems.finish();
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut warnings = Problems::default();
    for id in &rules.exported_order {
        if !seen.contains_key(id) {
            warnings.add(format!(
                "access provider \"{id}\" was exported in job \"{}\" but has no feedback element: it stays out of sync",
                rules.job_id
            ));
        }
    }
    Ok((feedback, warnings.finish()))
}

/// Records checked feedback: per access provider the feedback, its actual name and external id
/// (when given), and, without errors, the exported version as applied (a delete without errors
/// removes it).
pub(crate) fn apply_feedback(
    stored: &mut Vec<ManagedAccessProvider>,
    feedback: Vec<AccessFeedback>,
    exported: &HashMap<String, ExportedVersion>,
    mut warnings: Vec<String>,
) -> AccessFeedbackResult {
    let mut names_added = 0;
    let mut removed = HashSet::new();
    for fb in feedback {
        let Some(ap) = stored.iter_mut().find(|ap| ap.id() == fb.access_provider) else {
            warnings.push(format!(
                "access provider \"{}\" was removed while its feedback was processed",
                fb.access_provider
            ));
            continue;
        };
        if !fb.actual_name.is_empty() && ap.actual_name.as_deref() != Some(&fb.actual_name) {
            ap.actual_name = Some(fb.actual_name.clone());
            names_added += 1;
        }
        if let Some(external_id) = fb.external_id.as_ref().filter(|id| !id.is_empty()) {
            ap.external_id = Some(external_id.clone());
        }
        if fb.errors.is_empty()
            && let Some(version) = exported.get(&fb.access_provider)
        {
            ap.applied_version = Some(version.version);
            if version.delete {
                removed.insert(fb.access_provider.clone());
            }
        }
        ap.feedback = Some(fb);
    }
    stored.retain(|ap| !removed.contains(ap.id()));
    AccessFeedbackResult {
        access_names_added: names_added,
        warnings,
    }
}

/// What an access import file is checked against, taken when the import runs.
pub(crate) struct ImportRules {
    /// A full import (`deleteUntouched`): inheritance may only name access providers of the
    /// file (or managed ones); otherwise also those stored now.
    pub(crate) delete_untouched: bool,
    /// External ids of the imported access providers stored now.
    pub(crate) stored: HashSet<String>,
    /// Actual name → Raito id of the managed access providers.
    pub(crate) managed_names: HashMap<String, String>,
    /// External id → Raito id of the managed access providers.
    pub(crate) managed_ids: HashMap<String, String>,
    /// Full name → type of the data source's stored data objects.
    pub(crate) objects: HashMap<String, String>,
}

impl ImportRules {
    pub(crate) fn gather(state: &State, data_source: &str, delete_untouched: bool) -> Self {
        let managed = state.record.access_providers(data_source);
        Self {
            delete_untouched,
            stored: state
                .record
                .imported_access_providers(data_source)
                .iter()
                .map(|ap| ap.external_id.clone())
                .collect(),
            managed_names: managed
                .iter()
                .filter_map(|ap| Some((ap.actual_name.clone()?, ap.id().to_owned())))
                .collect(),
            managed_ids: managed
                .iter()
                .filter_map(|ap| Some((ap.external_id.clone()?, ap.id().to_owned())))
                .collect(),
            objects: state
                .record
                .data_objects(data_source)
                .iter()
                .map(|o| (o.full_name.clone(), o.r#type.clone()))
                .collect(),
        }
    }
}

/// Reads and checks an access import file. Returns the access providers and the warnings, or
/// every problem, each naming the element and field.
pub(crate) fn check_import(
    bytes: &[u8],
    rules: &ImportRules,
) -> Result<(Vec<ImportedAccessProvider>, Vec<String>), Vec<String>> {
    let mut problems = Problems::default();
    let mut warnings = Problems::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let read = read_array(
        bytes,
        "access providers",
        |index, ap: &ImportedAccessProvider| {
            let id = &ap.external_id;
            let at = format!("element {index} (externalId \"{id}\")");
            if id.is_empty() {
                problems.add(format!(
                    "element {index}, field `externalId`: must not be empty"
                ));
            } else if let Some(first) = seen.insert(id.clone(), index) {
                problems.add(format!(
                    "{at}, field `externalId`: duplicate (first in element {first})"
                ));
            }
            if let Some(problem) = action_problem(&ap.action) {
                problems.add(format!("{at}, field {problem}"));
            }
            for (i, item) in ap.what.iter().flatten().enumerate() {
                let object = &item.data_object;
                if object.full_name.is_empty() {
                    problems.add(format!(
                        "{at}, field `what[{i}].dataObject`: fullName must not be empty"
                    ));
                    continue;
                }
                // An empty type is matched by full name: the Go Snowflake connector imports
                // every object privilege with `Type: ""` (raito-io/cli-plugin-snowflake
                // snowflake/data_access_sync_from_target.go), and Raito takes it.
                match rules.objects.get(&object.full_name) {
                None => warnings.add(format!(
                    "access provider \"{id}\": what[{i}] data object \"{}\" ({}) is not a data object of this data source",
                    object.full_name, object.r#type
                )),
                Some(kind) if !object.r#type.is_empty() && *kind != object.r#type => warnings.add(format!(
                    "access provider \"{id}\": what[{i}] data object \"{}\" has type \"{}\", but the data source has it as \"{kind}\"",
                    object.full_name, object.r#type
                )),
                Some(_) => {}
            }
            }
            if !ap.actual_name.is_empty()
                && let Some(raito_id) = rules.managed_names.get(&ap.actual_name)
            {
                warnings.add(format!(
                "access provider \"{id}\": actualName \"{}\" is the actual name of access provider \"{raito_id}\" that Raito manages in this data source: a connector must not import the access it applies",
                ap.actual_name
            ));
            } else if let Some(raito_id) = rules.managed_ids.get(id) {
                warnings.add(format!(
                "access provider \"{id}\": externalId is that of access provider \"{raito_id}\" that Raito manages in this data source: a connector must not import the access it applies"
            ));
            }
        },
    );
    let imported = match read {
        Ok(imported) => imported,
        Err(error) => {
            problems.add(error.message(None));
            return Err(problems.finish());
        }
    };
    let problems = problems.finish();
    if !problems.is_empty() {
        return Err(problems);
    }
    for ap in &imported {
        let parents = ap
            .who
            .iter()
            .flat_map(|w| w.access_providers.iter().flatten());
        for parent in parents {
            let known = seen.contains_key(parent)
                || (!rules.delete_untouched && rules.stored.contains(parent))
                || rules.managed_ids.contains_key(parent)
                || rules.managed_names.contains_key(parent);
            if !known {
                warnings.add(format!(
                    "access provider \"{}\": who.accessProviders names \"{parent}\", which is neither in this import nor an access provider of this data source",
                    ap.external_id
                ));
            }
        }
    }
    Ok((imported, warnings.finish()))
}

/// Stores checked imported access providers by `externalId` and counts the changes.
pub(crate) fn apply_import(
    stored: &mut Vec<ImportedAccessProvider>,
    incoming: Vec<ImportedAccessProvider>,
    delete_untouched: bool,
    warnings: Vec<String>,
) -> AccessImportResult {
    let counts = upsert(stored, incoming, delete_untouched, |ap| &ap.external_id);
    AccessImportResult {
        added: counts.added,
        updated: counts.updated,
        removed: counts.removed,
        warnings,
    }
}
