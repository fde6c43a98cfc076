//! The data source sync's contract: the metadata is self-consistent, and the data objects
//! file is what Raito's import relies on (the data source element first, unique ids, every
//! parent before its children, every type declared and allowed under its parent's type), for a
//! full sync and for a partial one.

use std::collections::{HashMap, HashSet};

use crate::config::Target;
use crate::connector::{Connector, DataSourceRequest};
use crate::model::data_source::{DataObject, DataSourceMetaData, object_type};
use crate::output::{Destination, JsonArrayReader};
use crate::sync::{self, Outcome};

/// The global permissions Raito knows.
const GLOBAL_PERMISSIONS: &[&str] = &["read", "write", "admin"];

/// Checks the data source metadata on its own: types are unique, every child type is
/// declared, the datasource type exists, global permissions are read/write/admin, usage
/// levels name declared types.
pub fn check_data_source_metadata(meta: &DataSourceMetaData) {
    let declared: HashSet<&str> = meta
        .data_object_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        declared.len(),
        meta.data_object_types.len(),
        "data object type names are unique"
    );
    assert!(
        declared.contains(object_type::DATASOURCE),
        "the datasource type is declared"
    );
    for t in &meta.data_object_types {
        for child in &t.children {
            assert!(
                declared.contains(child.as_str()),
                "{}: child {child} is declared",
                t.name
            );
        }
        for p in &t.permissions {
            assert!(
                !p.permission.is_empty(),
                "{}: permission has a name",
                t.name
            );
            for g in p
                .global_permissions
                .iter()
                .chain(&p.usage_global_permissions)
            {
                assert!(
                    GLOBAL_PERMISSIONS.contains(&g.as_str()),
                    "{}.{}: {g} is a global permission",
                    t.name,
                    p.permission
                );
            }
        }
    }
    if let Some(usage) = &meta.usage_meta_info {
        let levels: HashSet<&str> = usage.levels.iter().map(|l| l.name.as_str()).collect();
        assert!(
            levels.contains(usage.default_level.as_str()),
            "default usage level exists"
        );
        for level in &usage.levels {
            for t in &level.data_object_types {
                assert!(
                    declared.contains(t.as_str()),
                    "usage level type {t} is declared"
                );
            }
        }
    }
}

/// Runs the connector's data source sync through the real pipeline into a file, reads the
/// file back as a stream, and checks the invariants Raito's import relies on: the data
/// source element first, unique external ids, every parent already seen (the data source id
/// for the top-level objects, never empty), every type declared
/// and allowed under its parent's type. Returns the objects after the data source element.
pub async fn check_data_source_sync(connector: &dyn Connector, target: &Target) -> Vec<DataObject> {
    let meta = sync::metadata::data_source_metadata(connector, target)
        .await
        .expect("metadata")
        .expect("the connector has a data source sync");
    check_data_source_metadata(&meta);
    let children: HashMap<&str, &Vec<String>> = meta
        .data_object_types
        .iter()
        .map(|t| (t.name.as_str(), &t.children))
        .collect();

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data-objects.json");
    let outcome = sync::metadata::run(
        connector,
        target,
        DataSourceRequest::default(),
        Destination::file(&path).await.expect("create output"),
    )
    .await
    .expect("data source sync succeeds");
    let Outcome::Completed(report) = outcome else {
        panic!("the data source sync ran: {outcome:?}");
    };

    let mut reader = JsonArrayReader::<DataObject>::open(&path)
        .await
        .expect("open");
    let first = reader.next().await.expect("read").expect("a first element");
    assert_eq!(
        first.r#type,
        object_type::DATASOURCE,
        "the data source element is first"
    );
    assert_eq!(Some(&first.external_id), target.data_source_id.as_ref());

    let mut types: HashMap<String, String> = HashMap::new();
    let mut objects = Vec::new();
    while let Some(object) = reader.next().await.expect("read") {
        assert!(
            !object.external_id.is_empty(),
            "externalId is set: {object:?}"
        );
        assert!(!object.full_name.is_empty(), "fullName is set: {object:?}");
        assert!(!object.name.is_empty(), "name is set: {object:?}");
        assert!(
            children.contains_key(object.r#type.as_str()),
            "type {} of {} is declared in the metadata",
            object.r#type,
            object.full_name
        );
        // Never empty: objects under the data source name it, as the Go writer fills them in
        // (raito-io/cli base/data_source/exporter.go, AddDataObjects).
        assert!(
            !object.parent_external_id.is_empty(),
            "parentExternalId is set: {object:?}"
        );
        let parent_type = if object.parent_external_id == first.external_id {
            object_type::DATASOURCE.to_owned()
        } else {
            types
                .get(&object.parent_external_id)
                .unwrap_or_else(|| {
                    panic!(
                        "parent {} of {} is written before it",
                        object.parent_external_id, object.external_id
                    )
                })
                .clone()
        };
        assert!(
            children[parent_type.as_str()].contains(&object.r#type),
            "a {parent_type} may contain a {} ({})",
            object.r#type,
            object.full_name
        );
        let previous = types.insert(object.external_id.clone(), object.r#type.clone());
        assert!(
            previous.is_none(),
            "externalId {} is unique",
            object.external_id
        );
        objects.push(object);
    }
    let counted: u64 = report.counts.values().sum();
    assert_eq!(
        counted,
        objects.len() as u64 + 1,
        "the report counts every element"
    );
    assert_eq!(report.written[0].elements, counted);
    objects
}

/// Runs a partial data source sync (below `request.parent`) and checks what a partial import
/// relies on: no data source element, unique external ids, every object strictly below the
/// parent, every parent inside the subtree written before its children. Returns the objects.
pub async fn check_partial_data_source_sync(
    connector: &dyn Connector,
    target: &Target,
    request: DataSourceRequest,
) -> Vec<DataObject> {
    let parent = request
        .parent
        .clone()
        .expect("a partial sync names its parent");
    let excludes: Vec<String> = request
        .excludes
        .iter()
        .map(|e| {
            if e.starts_with(&format!("{parent}.")) {
                e.clone()
            } else {
                format!("{parent}.{e}")
            }
        })
        .collect();
    let in_scope = |name: &str| {
        name.starts_with(&format!("{parent}."))
            && !excludes
                .iter()
                .any(|e| name == e || name.starts_with(&format!("{e}.")))
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("partial.json");
    sync::metadata::run(
        connector,
        target,
        request,
        Destination::file(&path).await.expect("create output"),
    )
    .await
    .expect("partial data source sync succeeds");
    let mut reader = JsonArrayReader::<DataObject>::open(&path)
        .await
        .expect("open");
    let mut seen = HashSet::from([parent.clone()]);
    let mut objects = Vec::new();
    while let Some(object) = reader.next().await.expect("read") {
        assert_ne!(
            object.r#type,
            object_type::DATASOURCE,
            "no data source element"
        );
        assert!(
            object.full_name.starts_with(&format!("{parent}.")),
            "{} lies below {parent}",
            object.full_name
        );
        // A parent out of scope (a partition's table in an excluded schema) must already be
        // known to Raito; one in scope must have been written before.
        assert!(
            in_scope(&object.full_name),
            "{} is in scope",
            object.full_name
        );
        let parent_inside = in_scope(&object.parent_external_id);
        assert!(
            seen.contains(&object.parent_external_id) || !parent_inside,
            "parent {} of {} is the partial parent or written before",
            object.parent_external_id,
            object.full_name
        );
        assert!(
            seen.insert(object.external_id.clone()),
            "unique {}",
            object.external_id
        );
        objects.push(object);
    }
    objects
}
