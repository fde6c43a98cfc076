//! What an access provider asks for, checked against the permission model: each what item
//! becomes a database and an [`Object`] in it with PostgreSQL privileges, and the privileges
//! its parents need (USAGE on the schema, CONNECT on the database) are added.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::connectors::postgres::{metadata, naming};
use crate::model::access::WhatItem;
use crate::model::data_source::object_type;

/// An object inside one database that privileges are granted on. The order (database,
/// schemas, relations, columns) puts parents before children.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Object {
    /// The database itself.
    Database,
    /// A schema.
    Schema(String),
    /// A table, view, materialized view or foreign table: (schema, relation).
    Relation(String, String),
    /// A column: (schema, relation, column).
    Column(String, String, String),
}

impl Object {
    /// The full name of the object in `database`, for messages.
    pub fn full_name(&self, database: &str) -> String {
        let parts: Vec<&str> = match self {
            Object::Database => vec![database],
            Object::Schema(s) => vec![database, s],
            Object::Relation(s, r) => vec![database, s, r],
            Object::Column(s, r, c) => vec![database, s, r, c],
        };
        naming::full_name(parts)
    }
}

/// One privilege on one object of a database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// What it is on.
    pub object: Object,
    /// The privilege, upper case as `aclexplode` names it (`SELECT`, `USAGE`, `CONNECT` …).
    pub privilege: String,
}

impl Grant {
    /// A privilege on an object.
    pub fn new(object: Object, privilege: impl Into<String>) -> Self {
        Self {
            object,
            privilege: privilege.into(),
        }
    }
}

/// Wanted privileges, per database.
pub type Grants = BTreeMap<String, BTreeSet<Grant>>;

/// A what item, understood: where the object is, what type Raito says it has, and the
/// privileges asked for (upper case, valid for the type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The database the object is in.
    pub database: String,
    /// The object.
    pub object: Object,
    /// The data object type Raito sent (`table`, `view`, `column` …).
    pub r#type: String,
    /// The privileges.
    pub privileges: Vec<String>,
}

/// The privileges each data object type has, from the data source metadata (so the apply
/// engine accepts exactly what the metadata sync advertises).
#[derive(Debug, Clone)]
pub struct Catalog {
    permissions: HashMap<String, Vec<String>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// The catalog of [`metadata::data_source_metadata`].
    pub fn new() -> Self {
        let permissions = metadata::data_source_metadata()
            .data_object_types
            .into_iter()
            .map(|t| {
                let permissions = t.permissions.into_iter().map(|p| p.permission).collect();
                (t.name, permissions)
            })
            .collect();
        Self { permissions }
    }

    /// Parses a what item: its full name must have as many parts as its type needs, its type
    /// must be grantable and every permission valid for the type (case-insensitive). With
    /// `check_permissions` false (row filters) the permissions are not looked at.
    pub fn item(&self, what: &WhatItem, check_permissions: bool) -> Result<Item, String> {
        let reference = &what.data_object;
        let full_name = &reference.full_name;
        let r#type = reference.r#type.to_ascii_lowercase();
        let parts = naming::parse(full_name).map_err(|e| format!("what {full_name:?}: {e}"))?;
        let wrong_parts = |expected: &str| {
            format!(
                "what {full_name:?} of type {:?}: expected a full name {expected}",
                reference.r#type
            )
        };
        let (database, object) = match (r#type.as_str(), parts.as_slice()) {
            (object_type::DATABASE, [d]) => (d, Object::Database),
            (object_type::DATABASE, _) => return Err(wrong_parts("`database`")),
            (object_type::SCHEMA, [d, s]) => (d, Object::Schema(s.clone())),
            (object_type::SCHEMA, _) => return Err(wrong_parts("`database.schema`")),
            (object_type::COLUMN, [d, s, r, c]) => {
                (d, Object::Column(s.clone(), r.clone(), c.clone()))
            }
            (object_type::COLUMN, _) => {
                return Err(wrong_parts("`database.schema.relation.column`"));
            }
            (t, [d, s, r]) if is_relation_type(t) => (d, Object::Relation(s.clone(), r.clone())),
            (t, _) if is_relation_type(t) => {
                return Err(wrong_parts("`database.schema.relation`"));
            }
            (object_type::DATASOURCE, _) => {
                return Err(format!(
                    "what {full_name:?}: PostgreSQL has no privileges on the whole data source; \
                     grant on databases, schemas, tables, views or columns instead"
                ));
            }
            (t, _) => {
                return Err(format!(
                    "what {full_name:?}: unknown data object type {t:?} for PostgreSQL"
                ));
            }
        };
        let valid = self.permissions.get(&r#type).cloned().unwrap_or_default();
        let mut privileges = Vec::new();
        if check_permissions {
            for permission in &what.permissions {
                let upper = permission.trim().to_ascii_uppercase();
                if valid.contains(&upper) {
                    if !privileges.contains(&upper) {
                        privileges.push(upper);
                    }
                } else {
                    return Err(format!(
                        "what {full_name:?}: permission {permission:?} does not exist for type \
                         {:?} (valid: {})",
                        reference.r#type,
                        valid.join(", ")
                    ));
                }
            }
        }
        Ok(Item {
            database: database.clone(),
            object,
            r#type,
            privileges,
        })
    }
}

/// Whether `t` names a relation type (table, view, materialized view, foreign table).
pub fn is_relation_type(t: &str) -> bool {
    [
        object_type::TABLE,
        object_type::VIEW,
        metadata::MATERIALIZED_VIEW,
        metadata::FOREIGN_TABLE,
    ]
    .contains(&t)
}

/// The `relkind`s a relation type may have in the catalog.
pub fn relkinds(t: &str) -> &'static [&'static str] {
    match t {
        object_type::TABLE => &["r", "p"],
        object_type::VIEW => &["v"],
        metadata::MATERIALIZED_VIEW => &["m"],
        metadata::FOREIGN_TABLE => &["f"],
        // Columns may be in any relation.
        object_type::COLUMN => &["r", "p", "v", "m", "f"],
        _ => &[],
    }
}

/// The privileges the items give, per database, plus what their parents need to be reached:
/// USAGE on the schema of every relation and column, CONNECT on the database of everything.
pub fn wanted(items: &[Item]) -> Grants {
    let mut grants = Grants::new();
    for item in items {
        let set = grants.entry(item.database.clone()).or_default();
        for privilege in &item.privileges {
            set.insert(Grant::new(item.object.clone(), privilege.clone()));
        }
        if item.privileges.is_empty() {
            continue;
        }
        match &item.object {
            Object::Relation(s, _) | Object::Column(s, _, _) => {
                set.insert(Grant::new(Object::Schema(s.clone()), "USAGE"));
                set.insert(Grant::new(Object::Database, "CONNECT"));
            }
            Object::Schema(_) => {
                set.insert(Grant::new(Object::Database, "CONNECT"));
            }
            Object::Database => {}
        }
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::access::DataObjectReference;

    fn what(full_name: &str, r#type: &str, permissions: &[&str]) -> WhatItem {
        WhatItem {
            data_object: DataObjectReference::new(full_name, r#type),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn items_are_parsed_with_case_insensitive_permissions() {
        let catalog = Catalog::new();
        let item = catalog
            .item(
                &what(
                    r#""Sales.EU".public."My ""T""""#,
                    "table",
                    &["select", "Insert"],
                ),
                true,
            )
            .expect("valid");
        assert_eq!(item.database, "Sales.EU");
        assert_eq!(
            item.object,
            Object::Relation("public".into(), "My \"T\"".into())
        );
        assert_eq!(item.privileges, ["SELECT", "INSERT"]);
    }

    #[test]
    fn invalid_items_are_explained() {
        let catalog = Catalog::new();
        let err = |w: WhatItem| catalog.item(&w, true).expect_err("invalid");
        assert!(err(what("db.s.t", "table", &["USAGE"])).contains("does not exist for type"));
        assert!(err(what("db.s", "materialized-view", &["SELECT"])).contains("expected"));
        assert!(err(what("ds", "datasource", &[])).contains("whole data source"));
        assert!(err(what("db.s.t", "bucket", &["READ"])).contains("unknown data object type"));
        assert!(err(what("db.s.m", "materialized-view", &["INSERT"])).contains("INSERT"));
    }

    #[test]
    fn parents_get_usage_and_connect() {
        let catalog = Catalog::new();
        let items = [
            catalog
                .item(&what("db.s.t.c", "column", &["SELECT"]), true)
                .expect("valid"),
            catalog
                .item(&what("db.s2", "schema", &["CREATE"]), true)
                .expect("valid"),
        ];
        let grants = wanted(&items);
        let db: Vec<_> = grants["db"].iter().cloned().collect();
        assert_eq!(
            db,
            vec![
                Grant::new(Object::Database, "CONNECT"),
                Grant::new(Object::Schema("s".into()), "USAGE"),
                Grant::new(Object::Schema("s2".into()), "CREATE"),
                Grant::new(Object::Column("s".into(), "t".into(), "c".into()), "SELECT"),
            ]
        );
    }
}
