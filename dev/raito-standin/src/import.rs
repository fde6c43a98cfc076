//! Data source imports: the strict check of an uploaded data source file (read element by
//! element, never as one big `Value`) against the metadata set before, and applying a valid
//! file to the stored objects with Raito's added/updated/removed counts.

use std::collections::{BTreeMap, HashMap};

use crate::files::{Problems, read_array};
use crate::state::{DataObject, ImportResult};

/// The type name of the data source element, the parent of top-level objects.
const DATASOURCE: &str = "datasource";

/// What a file is checked against.
pub(crate) struct Rules<'a> {
    /// The data source being imported.
    pub(crate) data_source: &'a str,
    /// A partial import (`deleteUntouched: false`): the data source element may be left out and
    /// parents may also be objects stored by an earlier import.
    pub(crate) partial: bool,
    /// The declared data object types (`dataObjectTypes[].name`) and their allowed `children`.
    pub(crate) types: &'a BTreeMap<String, Vec<String>>,
    /// What is stored for the data source now (for parents in a partial import).
    pub(crate) stored: &'a [DataObject],
}

/// The declared types of a `setDataSourceMetaData` input: name → allowed children.
pub(crate) fn declared_types(metadata: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let strings = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    metadata["dataObjectTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["name"].as_str()?.to_owned(), strings(&t["children"]))))
        .collect()
}

/// Problems in the metadata itself (reported as `InvalidInputError`): duplicate type names and
/// children that are not declared types.
pub(crate) fn metadata_problems(metadata: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    let types = metadata["dataObjectTypes"].as_array().into_iter().flatten();
    for (i, t) in types.enumerate() {
        match t["name"].as_str() {
            None | Some("") => problems.push(format!("dataObjectTypes[{i}] has no name")),
            Some(name) => {
                if let Some(first) = seen.insert(name.to_owned(), i) {
                    problems.push(format!(
                        "dataObjectTypes[{i}]: type \"{name}\" is already declared at dataObjectTypes[{first}]"
                    ));
                }
            }
        }
    }
    let declared = declared_types(metadata);
    for (name, children) in &declared {
        for child in children {
            if !declared.contains_key(child) {
                problems.push(format!(
                    "type \"{name}\" lists child type \"{child}\", which is not declared"
                ));
            }
        }
    }
    problems
}

/// Reads and checks a whole data source file, element by element. Returns the objects in file
/// order, or every problem found (up to [`MAX_REPORTED`](crate::files::MAX_REPORTED)), each
/// naming the element index (0-based).
pub(crate) fn check_file(bytes: &[u8], rules: &Rules<'_>) -> Result<Vec<DataObject>, Vec<String>> {
    let mut checker = Checker::new(rules);
    let read = read_array(bytes, "data objects", |index, object: &DataObject| {
        checker.check(index, object);
    });
    match read {
        Err(error) => {
            checker.problems.add(error.message(None));
            Err(checker.problems.finish())
        }
        Ok(objects) => {
            if objects.is_empty() && !rules.partial {
                checker.problems.add(format!(
                    "the file is empty: its first element must be the data source element (type \"{DATASOURCE}\", externalId \"{}\")",
                    rules.data_source
                ));
            }
            let problems = checker.problems.finish();
            if problems.is_empty() {
                Ok(objects)
            } else {
                Err(problems)
            }
        }
    }
}

/// Replaces (or, for a partial import, updates) the stored objects and counts the changes. The
/// data source element counts like any other object. A partial import updates objects in place
/// and appends new ones in file order.
pub(crate) fn apply(
    stored: &mut Vec<DataObject>,
    incoming: Vec<DataObject>,
    delete_untouched: bool,
) -> ImportResult {
    upsert(stored, incoming, delete_untouched, |o| &o.external_id)
}

/// Stores `incoming` by id and counts what was added, updated (changed) and removed: with
/// `delete_untouched` it replaces `stored` (what it lacks is removed), otherwise it updates in
/// place and appends new items in order.
pub(crate) fn upsert<T: PartialEq>(
    stored: &mut Vec<T>,
    incoming: Vec<T>,
    delete_untouched: bool,
    id: impl Fn(&T) -> &String,
) -> ImportResult {
    let position: HashMap<String, usize> = stored
        .iter()
        .enumerate()
        .map(|(i, item)| (id(item).clone(), i))
        .collect();
    let mut result = ImportResult::default();
    let mut touched = 0;
    for item in &incoming {
        match position.get(id(item)) {
            None => result.added += 1,
            Some(&i) => {
                touched += 1;
                if stored[i] != *item {
                    result.updated += 1;
                }
            }
        }
    }
    if delete_untouched {
        result.removed = (position.len() - touched) as u64;
        *stored = incoming;
    } else {
        for item in incoming {
            match position.get(id(&item)) {
                Some(&i) => stored[i] = item,
                None => stored.push(item),
            }
        }
    }
    result
}

/// The rules that need what came before: duplicates, parents, allowed children.
struct Checker<'r> {
    rules: &'r Rules<'r>,
    /// externalId → (element index, type) of every element so far.
    seen: HashMap<String, (usize, String)>,
    stored: HashMap<&'r str, &'r str>,
    problems: Problems,
}

impl<'r> Checker<'r> {
    fn new(rules: &'r Rules<'r>) -> Self {
        let stored = if rules.partial {
            rules
                .stored
                .iter()
                .map(|o| (o.external_id.as_str(), o.r#type.as_str()))
                .collect()
        } else {
            HashMap::new()
        };
        Self {
            rules,
            seen: HashMap::new(),
            stored,
            problems: Problems::default(),
        }
    }

    fn report(&mut self, problem: String) {
        self.problems.add(problem);
    }

    fn check(&mut self, index: usize, object: &DataObject) {
        let rules = self.rules;
        let id = &object.external_id;
        let at = format!("element {index} (externalId \"{id}\")");
        let is_datasource = object.r#type == DATASOURCE;

        if index == 0 && !rules.partial && !is_datasource {
            self.report(format!(
                "element 0: the first element must be the data source element (type \"{DATASOURCE}\", externalId \"{}\"), found type \"{}\"",
                rules.data_source, object.r#type
            ));
        }
        if is_datasource {
            if index != 0 {
                self.report(format!(
                    "{at}: only the first element may have type \"{DATASOURCE}\""
                ));
            } else if *id != rules.data_source {
                self.report(format!(
                    "{at}: the data source element's externalId must be the data source id \"{}\"",
                    rules.data_source
                ));
            }
            if !object.parent_external_id.is_empty() {
                self.report(format!(
                    "{at}: the data source element cannot have a parentExternalId (found \"{}\")",
                    object.parent_external_id
                ));
            }
        }
        if id.is_empty() {
            self.report(format!("element {index}: externalId is empty"));
        } else if let Some((first, _)) = self.seen.get(id.as_str()) {
            self.report(format!(
                "{at}: duplicate externalId (first used by element {first})"
            ));
        }
        if !rules.types.contains_key(&object.r#type) {
            self.report(format!(
                "{at}: type \"{}\" is not declared in the data source metadata",
                object.r#type
            ));
        }
        if !is_datasource {
            self.check_parent(&at, object);
        }
        if !id.is_empty() && !self.seen.contains_key(id.as_str()) {
            self.seen.insert(id.clone(), (index, object.r#type.clone()));
        }
    }

    fn check_parent(&mut self, at: &str, object: &DataObject) {
        let parent = &object.parent_external_id;
        if parent.is_empty() {
            // The Go writer fills in the data source id (raito-io/cli
            // base/data_source/exporter.go, AddDataObjects): Raito never receives "".
            self.report(format!(
                "{at}: parentExternalId is empty (an object directly under the data source has the data source id \"{}\" as its parent)",
                self.rules.data_source
            ));
            return;
        }
        let under_data_source = *parent == self.rules.data_source;
        let parent_type = if under_data_source {
            DATASOURCE.to_owned()
        } else if let Some((_, parent_type)) = self.seen.get(parent.as_str()) {
            parent_type.clone()
        } else if let Some(parent_type) = self.stored.get(parent.as_str()) {
            (*parent_type).to_owned()
        } else {
            let where_ = if self.rules.partial {
                "an earlier element or a stored object"
            } else {
                "an earlier element"
            };
            self.report(format!(
                "{at}: parentExternalId \"{parent}\" does not match {where_}"
            ));
            return;
        };
        let Some(children) = self.rules.types.get(&parent_type) else {
            if under_data_source {
                self.report(format!(
                    "{at}: hangs under the data source, but type \"{DATASOURCE}\" is not declared in the metadata"
                ));
            }
            // Otherwise the parent's own element already reported its undeclared type.
            return;
        };
        if !children.contains(&object.r#type) {
            let under = if under_data_source {
                "the data source".to_owned()
            } else {
                format!("parent \"{parent}\"")
            };
            self.report(format!(
                "{at}: type \"{}\" is not allowed under {under} of type \"{parent_type}\" (allowed children: [{}])",
                object.r#type,
                children.join(", ")
            ));
        }
    }
}
