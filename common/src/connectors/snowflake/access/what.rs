//! What an access provider's role is granted: the Go connector's expansion of `what` items into
//! object privileges (snowflake/data_access_sync_to_target.go `createGrantsForWhatObjects`),
//! and the privileges a role holds, read back from `SHOW GRANTS TO [DATABASE] ROLE`, on the
//! same footing so the two can be compared.
//!
//! - A privilege is granted only on a type whose permissions (the connector's data object
//!   types, [`super::super::metadata_model::data_object_types`]) list it; anything else is
//!   left out with a warning, as Go does. So every privilege written into a statement is one
//!   of the connector's own constants, never text from the export.
//! - A table, view, schema or database item adds `USAGE` on its database (and schema): a
//!   role cannot reach an object without it.
//! - A schema or database item with a permission that does not apply to the schema (database)
//!   itself is expanded to every table and view below it that it applies to (and, for a
//!   database, `USAGE` on each schema where something matched), as Go does; `datasource`
//!   items to account privileges, or to every warehouse, or to every database.
//! - Read back, `OWNERSHIP`, role memberships (`USAGE` on `ROLE`), grants made by Snowflake
//!   itself (an empty `granted_by`), and privileges the connector does not manage are never
//!   compared, so never revoked (Go `verifyGrant`).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::super::client::quote_ident;
use super::super::metadata_model::{
    self, EXTERNAL_TABLE, FUNCTION, ICEBERG_TABLE, INTEGRATION, MATERIALIZED_VIEW, PROCEDURE,
    SHARED_DATABASE, USAGE_ON_DATABASE, USAGE_ON_SCHEMA, WAREHOUSE,
};
use super::import::{clean_double_quotes, split_names};
use crate::model::data_source::object_type;

/// What a privilege is on. Tables, views and their kin are one class: they share a namespace
/// in a schema, and SHOW GRANTS calls a materialized view `MATERIALIZED_VIEW` where Go grants
/// it `ON VIEW`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum On {
    Account,
    Database(String),
    Schema(String, String),
    /// (database, schema, name); the keyword (`TABLE`, `VIEW`, …) is the [`Grant`]'s.
    Relation(String, String, String),
    Warehouse(String),
    Integration(String),
    /// (`FUNCTION` or `PROCEDURE`, database, schema, `"NAME"(TYPES)` as the export wrote it,
    /// checked against a strict pattern).
    Routine(&'static str, String, String, String),
}

/// One privilege on one object.
#[derive(Clone, Debug)]
pub struct Grant {
    /// Upper case, one of the connector's permission names.
    pub privilege: String,
    pub on: On,
    /// The object keyword of the statement: `TABLE`, `VIEW`, `EXTERNAL TABLE`, `MATERIALIZED
    /// VIEW`… for relations; derived from `on` otherwise.
    pub keyword: &'static str,
}

impl PartialEq for Grant {
    fn eq(&self, other: &Self) -> bool {
        self.privilege == other.privilege && self.on == other.on
    }
}

impl Eq for Grant {}

impl std::hash::Hash for Grant {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.privilege.hash(state);
        self.on.hash(state);
    }
}

impl Ord for Grant {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.privilege, &self.on).cmp(&(&other.privilege, &other.on))
    }
}

impl PartialOrd for Grant {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Grant {
    fn new(privilege: &str, on: On) -> Self {
        let keyword = match &on {
            On::Account => "ACCOUNT",
            On::Database(_) => "DATABASE",
            On::Schema(..) => "SCHEMA",
            On::Relation(..) => "TABLE",
            On::Warehouse(_) => "WAREHOUSE",
            On::Integration(_) => "INTEGRATION",
            On::Routine(kind, ..) => kind,
        };
        Self {
            privilege: privilege.to_ascii_uppercase(),
            on,
            keyword,
        }
    }

    fn relation(
        privilege: &str,
        keyword: &'static str,
        db: &str,
        schema: &str,
        name: &str,
    ) -> Self {
        Self {
            keyword,
            ..Self::new(
                privilege,
                On::Relation(db.to_owned(), schema.to_owned(), name.to_owned()),
            )
        }
    }

    /// `ON <keyword> <name>` of a GRANT or REVOKE, every identifier quoted.
    pub fn object(&self) -> String {
        let q = |parts: &[&str]| {
            parts
                .iter()
                .map(|p| quote_ident(p))
                .collect::<Vec<_>>()
                .join(".")
        };
        let name = match &self.on {
            On::Account => return "ACCOUNT".to_owned(),
            On::Database(d) => q(&[d]),
            On::Schema(d, s) => q(&[d, s]),
            On::Relation(d, s, n) => q(&[d, s, n]),
            On::Warehouse(w) | On::Integration(w) => q(&[w]),
            // The signature passed `routine_signature`: a quoted name and type words only.
            On::Routine(_, d, s, signature) => format!("{}.{signature}", q(&[d, s])),
        };
        format!("{} {name}", self.keyword)
    }

    /// `GRANT … TO <grantee>` (`ROLE "R"` or `DATABASE ROLE "D"."R"`).
    pub fn grant_statement(&self, grantee: &str) -> String {
        format!("GRANT {} ON {} TO {grantee}", self.privilege, self.object())
    }

    /// `REVOKE … FROM <grantee>`.
    pub fn revoke_statement(&self, grantee: &str) -> String {
        format!(
            "REVOKE {} ON {} FROM {grantee}",
            self.privilege,
            self.object()
        )
    }
}

/// The permissions of each data object type, upper case (Go `buildMetaDataMap`).
pub struct Permissions(HashMap<String, HashSet<String>>);

impl Default for Permissions {
    fn default() -> Self {
        Self::new()
    }
}

impl Permissions {
    pub fn new() -> Self {
        Self(
            metadata_model::data_object_types()
                .into_iter()
                .map(|t| {
                    let permissions = t
                        .permissions
                        .iter()
                        .map(|p| p.permission.to_ascii_uppercase())
                        .collect();
                    (t.name, permissions)
                })
                .collect(),
        )
    }

    /// Whether `permission` applies to objects of type `object_type`.
    pub fn applies(&self, object_type: &str, permission: &str) -> bool {
        self.0
            .get(object_type)
            .is_some_and(|set| set.contains(&permission.to_ascii_uppercase()))
    }
}

/// A table-like object of a schema, as INFORMATION_SCHEMA.TABLES lists it.
#[derive(Clone, Debug)]
pub struct Relation {
    pub name: String,
    /// Its Raito type (Go `convertSnowflakeTableTypeToRaito`).
    pub object_type: String,
    /// A dynamic table (IS_DYNAMIC): Raito calls it a table, Snowflake grants on it `ON
    /// DYNAMIC TABLE` only (`ON TABLE` does not find it).
    pub dynamic: bool,
}

impl Relation {
    /// From TABLE_TYPE and IS_ICEBERG.
    pub fn new(name: String, table_type: &str, iceberg: bool, dynamic: bool) -> Self {
        let object_type = match table_type {
            "BASE TABLE" if iceberg => ICEBERG_TABLE.to_owned(),
            "BASE TABLE" => object_type::TABLE.to_owned(),
            "VIEW" => object_type::VIEW.to_owned(),
            "MATERIALIZED VIEW" => MATERIALIZED_VIEW.to_owned(),
            "EXTERNAL TABLE" => EXTERNAL_TABLE.to_owned(),
            other => other.to_ascii_lowercase(),
        };
        Self {
            name,
            object_type,
            dynamic,
        }
    }

    /// The object keyword to grant on it.
    fn keyword(&self) -> Option<&'static str> {
        if self.dynamic {
            return Some("DYNAMIC TABLE");
        }
        relation_keyword(&self.object_type)
    }
}

/// What the expansion needs to know of the account; the engine reads it (and caches it per
/// run) before planning.
pub trait Catalog: Sync {
    /// The schemas of a database (INFORMATION_SCHEMA left out).
    fn schemas(&self, database: &str) -> Option<&[String]>;
    /// The relations of a schema.
    fn relations(&self, database: &str, schema: &str) -> Option<&[Relation]>;
    /// Every warehouse.
    fn warehouses(&self) -> Option<&[String]>;
    /// Every database (standard ones).
    fn databases(&self) -> Option<&[String]>;
}

/// The catalog read for expansions, kept for the run.
#[derive(Debug, Default)]
pub struct CatalogCache {
    pub schemas: HashMap<String, Vec<String>>,
    pub relations: HashMap<(String, String), Vec<Relation>>,
    pub warehouses: Option<Vec<String>>,
    pub databases: Option<Vec<String>>,
}

impl Catalog for CatalogCache {
    fn schemas(&self, database: &str) -> Option<&[String]> {
        self.schemas.get(database).map(Vec::as_slice)
    }
    fn relations(&self, database: &str, schema: &str) -> Option<&[Relation]> {
        self.relations
            .get(&(database.to_owned(), schema.to_owned()))
            .map(Vec::as_slice)
    }
    fn warehouses(&self) -> Option<&[String]> {
        self.warehouses.as_deref()
    }
    fn databases(&self) -> Option<&[String]> {
        self.databases.as_deref()
    }
}

/// What the expansion of an access provider needs that the catalog did not have.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub databases: BTreeSet<String>,
    pub warehouses: bool,
    pub all_databases: bool,
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        self.databases.is_empty() && !self.warehouses && !self.all_databases
    }
}

/// The object keyword Go grants a relation type with (type_mapping.go
/// `raitoTypeToSnowflakeGrantType`; an iceberg table is granted as a table).
fn relation_keyword(object_type: &str) -> Option<&'static str> {
    Some(match object_type {
        object_type::TABLE | ICEBERG_TABLE => "TABLE",
        object_type::VIEW | MATERIALIZED_VIEW => "VIEW",
        EXTERNAL_TABLE => "EXTERNAL TABLE",
        _ => return None,
    })
}

/// `"NAME"(TYPE, …)` or `NAME(TYPE, …)`: a routine's last full-name part, accepted only when
/// it is a name and type words, so nothing else reaches a statement. Returned with the name
/// quoted.
fn routine_signature(part: &str) -> Option<String> {
    let open = part.find('(')?;
    let (name, arguments) = part.split_at(open);
    let name = clean_double_quotes(name);
    let types_ok = arguments.ends_with(')')
        && arguments[1..arguments.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | ',' | '(' | ')'));
    (!name.is_empty() && !name.contains('"') && types_ok)
        .then(|| format!("{}{arguments}", quote_ident(name)))
}

/// Expands what items into grants.
pub struct Expander<'a> {
    pub permissions: &'a Permissions,
    pub catalog: &'a dyn Catalog,
}

/// The grants of an access provider's what, with warnings for what could not be granted.
#[derive(Debug, Default)]
pub struct Expanded {
    pub grants: BTreeSet<Grant>,
    pub warnings: Vec<String>,
}

impl Expander<'_> {
    /// What the catalog must hold before [`Expander::expand`] can run for these items.
    pub fn needs<'i>(
        &self,
        items: impl IntoIterator<Item = (&'i str, &'i str, &'i [String])>,
    ) -> Needs {
        let mut needs = Needs::default();
        for (object_type, full_name, permissions) in items {
            let parts = split_names(full_name);
            match object_type {
                // The catalog says whether a table is dynamic.
                t if relation_keyword(t).is_some() => {
                    if let Some(database) = parts.first()
                        && self.catalog.schemas(database).is_none()
                    {
                        needs.databases.insert(database.clone());
                    }
                }
                object_type::SCHEMA | object_type::DATABASE => {
                    let own = permissions
                        .iter()
                        .all(|p| self.permissions.applies(object_type, p));
                    if let Some(database) = parts.first().filter(|_| !own)
                        && self.catalog.schemas(database).is_none()
                    {
                        needs.databases.insert(database.clone());
                    }
                }
                object_type::DATASOURCE => {
                    for p in permissions {
                        if self.permissions.applies(object_type::DATASOURCE, p) {
                            continue;
                        }
                        if self.permissions.applies(WAREHOUSE, p) {
                            needs.warehouses |= self.catalog.warehouses().is_none();
                        }
                        needs.all_databases |= self.catalog.databases().is_none();
                    }
                }
                _ => {}
            }
        }
        if needs.all_databases {
            needs.databases.clear();
        }
        needs
    }

    /// The grants of the items; the catalog holds what [`Expander::needs`] asked for.
    pub fn expand<'i>(
        &self,
        items: impl IntoIterator<Item = (&'i str, &'i str, &'i [String])>,
    ) -> Expanded {
        let mut out = Expanded::default();
        for (object_type, full_name, permissions) in items {
            if permissions.is_empty() {
                continue;
            }
            let parts = split_names(full_name);
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            match (object_type, parts.as_slice()) {
                (t, [db, schema, name]) if relation_keyword(t).is_some() => {
                    let known = self
                        .catalog
                        .relations(db, schema)
                        .and_then(|relations| relations.iter().find(|r| r.name == *name));
                    let keyword = known
                        .and_then(Relation::keyword)
                        .or(relation_keyword(t))
                        .unwrap_or("TABLE");
                    let mut any = false;
                    for p in permissions {
                        if self.permissions.applies(t, p) {
                            out.grants
                                .insert(Grant::relation(p, keyword, db, schema, name));
                            any = true;
                        } else {
                            out.warnings.push(not_applicable(p, t, full_name));
                        }
                    }
                    if any {
                        out.parents(db, Some(schema));
                    }
                }
                (object_type::SCHEMA, [db, schema]) => {
                    let mut any = false;
                    for p in permissions {
                        if self.schema_permission(db, schema, p, &mut out) {
                            any = true;
                        } else {
                            out.warnings.push(not_applicable(p, "schema", full_name));
                        }
                    }
                    if any {
                        out.parents(db, Some(schema));
                    }
                }
                (object_type::DATABASE, [db]) => {
                    let mut any = false;
                    for p in permissions {
                        if self.database_permission(db, p, &mut out) {
                            any = true;
                        } else {
                            out.warnings.push(not_applicable(p, "database", full_name));
                        }
                    }
                    if any {
                        out.parents(db, None);
                    }
                }
                (SHARED_DATABASE, [db]) => {
                    for p in permissions {
                        if self.permissions.applies(SHARED_DATABASE, p) {
                            out.grants
                                .insert(Grant::new(p, On::Database((*db).to_owned())));
                        } else {
                            out.warnings
                                .push(not_applicable(p, SHARED_DATABASE, full_name));
                        }
                    }
                }
                (WAREHOUSE, [warehouse]) | (INTEGRATION, [warehouse]) => {
                    for p in permissions {
                        if self.permissions.applies(object_type, p) {
                            let on = if object_type == WAREHOUSE {
                                On::Warehouse((*warehouse).to_owned())
                            } else {
                                On::Integration((*warehouse).to_owned())
                            };
                            out.grants.insert(Grant::new(p, on));
                        } else {
                            out.warnings.push(not_applicable(p, object_type, full_name));
                        }
                    }
                }
                (FUNCTION | PROCEDURE, [db, schema, last]) => {
                    let kind = if object_type == FUNCTION {
                        "FUNCTION"
                    } else {
                        "PROCEDURE"
                    };
                    let Some(signature) = routine_signature(last) else {
                        out.warnings.push(format!(
                            "{object_type} {full_name:?} is not a name followed by its argument \
                             types; left out"
                        ));
                        continue;
                    };
                    let mut any = false;
                    for p in permissions {
                        if self.permissions.applies(object_type, p) {
                            out.grants.insert(Grant::new(
                                p,
                                On::Routine(
                                    kind,
                                    (*db).to_owned(),
                                    (*schema).to_owned(),
                                    signature.clone(),
                                ),
                            ));
                            any = true;
                        } else {
                            out.warnings.push(not_applicable(p, object_type, full_name));
                        }
                    }
                    if any {
                        out.parents(db, Some(schema));
                    }
                }
                (object_type::DATASOURCE, _) => {
                    for p in permissions {
                        if !self.account_permission(p, &mut out) {
                            out.warnings
                                .push(not_applicable(p, "datasource", full_name));
                        }
                    }
                }
                _ => out.warnings.push(format!(
                    "{object_type} {full_name:?}: this connector grants no privileges on it; left \
                     out"
                )),
            }
        }
        out
    }

    /// Go `createPermissionGrantsForSchema`.
    fn schema_permission(&self, db: &str, schema: &str, p: &str, out: &mut Expanded) -> bool {
        if self.permissions.applies(object_type::SCHEMA, p) {
            let privilege = if p.eq_ignore_ascii_case(USAGE_ON_SCHEMA) {
                "USAGE"
            } else {
                p
            };
            out.grants.insert(Grant::new(
                privilege,
                On::Schema(db.to_owned(), schema.to_owned()),
            ));
            return true;
        }
        let mut any = false;
        for relation in self.catalog.relations(db, schema).unwrap_or(&[]) {
            if let Some(keyword) = relation.keyword()
                && self.permissions.applies(&relation.object_type, p)
            {
                out.grants
                    .insert(Grant::relation(p, keyword, db, schema, &relation.name));
                any = true;
            }
        }
        any
    }

    /// Go `createPermissionGrantsForDatabase`.
    fn database_permission(&self, db: &str, p: &str, out: &mut Expanded) -> bool {
        if self.permissions.applies(object_type::DATABASE, p) {
            let privilege = if p.eq_ignore_ascii_case(USAGE_ON_DATABASE) {
                "USAGE"
            } else {
                p
            };
            out.grants
                .insert(Grant::new(privilege, On::Database(db.to_owned())));
            return true;
        }
        let mut any = false;
        for schema in self.catalog.schemas(db).unwrap_or(&[]) {
            if self.schema_permission(db, schema, p, out) {
                out.grants.insert(Grant::new(
                    "USAGE",
                    On::Schema(db.to_owned(), schema.clone()),
                ));
                any = true;
            }
        }
        any
    }

    /// Go `createGrantsForAccount`.
    fn account_permission(&self, p: &str, out: &mut Expanded) -> bool {
        if self.permissions.applies(object_type::DATASOURCE, p) {
            out.grants.insert(Grant::new(p, On::Account));
            return true;
        }
        let mut any = false;
        if self.permissions.applies(WAREHOUSE, p) {
            for warehouse in self.catalog.warehouses().unwrap_or(&[]) {
                out.grants
                    .insert(Grant::new(p, On::Warehouse(warehouse.clone())));
                any = true;
            }
        }
        for db in self.catalog.databases().unwrap_or(&[]) {
            if self.database_permission(db, p, out) {
                out.grants
                    .insert(Grant::new("USAGE", On::Database(db.clone())));
                any = true;
            }
        }
        any
    }
}

impl Expanded {
    /// `USAGE` on the database, and on the schema when given.
    fn parents(&mut self, db: &str, schema: Option<&str>) {
        self.grants
            .insert(Grant::new("USAGE", On::Database(db.to_owned())));
        if let Some(schema) = schema {
            self.grants.insert(Grant::new(
                "USAGE",
                On::Schema(db.to_owned(), schema.to_owned()),
            ));
        }
    }
}

fn not_applicable(permission: &str, object_type: &str, full_name: &str) -> String {
    format!("permission {permission:?} does not apply to {object_type} {full_name:?}; left out")
}

/// A privilege a role holds, from a row of SHOW GRANTS TO [DATABASE] ROLE, when it is one this
/// connector compares (see the module docs): `privilege`, `granted_on`, `name`, `granted_by`.
pub fn held(
    permissions: &Permissions,
    privilege: &str,
    granted_on: &str,
    name: &str,
    granted_by: &str,
) -> Option<Grant> {
    let privilege = privilege.to_ascii_uppercase();
    if privilege == "OWNERSHIP" || granted_by.is_empty() {
        return None;
    }
    let parts = split_names(name);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let (object_type, grant) = match (granted_on.to_ascii_uppercase().as_str(), parts.as_slice()) {
        ("ACCOUNT", _) => (object_type::DATASOURCE, Grant::new(&privilege, On::Account)),
        ("DATABASE", [db]) => (
            object_type::DATABASE,
            Grant::new(&privilege, On::Database((*db).to_owned())),
        ),
        ("SCHEMA", [db, schema]) => (
            object_type::SCHEMA,
            Grant::new(
                &privilege,
                On::Schema((*db).to_owned(), (*schema).to_owned()),
            ),
        ),
        ("TABLE", [db, s, n]) => (
            object_type::TABLE,
            Grant::relation(&privilege, "TABLE", db, s, n),
        ),
        ("VIEW", [db, s, n]) => (
            object_type::VIEW,
            Grant::relation(&privilege, "VIEW", db, s, n),
        ),
        ("MATERIALIZED_VIEW" | "MATERIALIZED VIEW", [db, s, n]) => (
            MATERIALIZED_VIEW,
            Grant::relation(&privilege, "MATERIALIZED VIEW", db, s, n),
        ),
        ("DYNAMIC_TABLE" | "DYNAMIC TABLE", [db, s, n]) => (
            object_type::TABLE,
            Grant::relation(&privilege, "DYNAMIC TABLE", db, s, n),
        ),
        ("EXTERNAL_TABLE" | "EXTERNAL TABLE", [db, s, n]) => (
            EXTERNAL_TABLE,
            Grant::relation(&privilege, "EXTERNAL TABLE", db, s, n),
        ),
        ("WAREHOUSE", [w]) => (
            WAREHOUSE,
            Grant::new(&privilege, On::Warehouse((*w).to_owned())),
        ),
        ("INTEGRATION", [i]) => (
            INTEGRATION,
            Grant::new(&privilege, On::Integration((*i).to_owned())),
        ),
        // Routines (whose names SHOW prints in two forms), roles and every other kind: not
        // compared, so never revoked.
        _ => return None,
    };
    let usage_on_parent =
        privilege == "USAGE" && matches!(object_type, object_type::DATABASE | object_type::SCHEMA);
    (usage_on_parent || permissions.applies(object_type, &privilege)).then_some(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(expanded: &Expanded) -> Vec<String> {
        expanded
            .grants
            .iter()
            .map(|g| g.grant_statement("ROLE \"R\""))
            .collect()
    }

    #[test]
    fn a_table_item_grants_its_privileges_and_usage_on_its_parents() {
        let permissions = Permissions::new();
        let catalog = CatalogCache::default();
        let expander = Expander {
            permissions: &permissions,
            catalog: &catalog,
        };
        let p = vec!["SELECT".to_owned(), "FLY".to_owned()];
        let out = expander.expand([("table", "DB.S.\"My \"\"T\"\"\"", p.as_slice())]);
        assert_eq!(
            statements(&out),
            vec![
                "GRANT SELECT ON TABLE \"DB\".\"S\".\"My \"\"T\"\"\" TO ROLE \"R\"",
                "GRANT USAGE ON DATABASE \"DB\" TO ROLE \"R\"",
                "GRANT USAGE ON SCHEMA \"DB\".\"S\" TO ROLE \"R\"",
            ]
        );
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    }

    #[test]
    fn a_schema_permission_not_on_the_schema_expands_to_its_relations() {
        let permissions = Permissions::new();
        let mut catalog = CatalogCache::default();
        let p = vec!["INSERT".to_owned()];
        let empty = Expander {
            permissions: &permissions,
            catalog: &catalog,
        };
        assert_eq!(
            empty.needs([("schema", "DB.S", p.as_slice())]).databases,
            BTreeSet::from(["DB".to_owned()])
        );
        catalog.schemas.insert("DB".into(), vec!["S".into()]);
        catalog.relations.insert(
            ("DB".into(), "S".into()),
            vec![
                Relation::new("T".into(), "BASE TABLE", false, false),
                Relation::new("V".into(), "VIEW", false, false),
                Relation::new("M".into(), "MATERIALIZED VIEW", false, false),
            ],
        );
        let expander = Expander {
            permissions: &permissions,
            catalog: &catalog,
        };
        assert_eq!(
            expander.needs([("schema", "DB.S", p.as_slice())]),
            Needs::default()
        );
        let out = expander.expand([("schema", "DB.S", p.as_slice())]);
        // INSERT applies to tables only.
        assert_eq!(
            statements(&out),
            vec![
                "GRANT INSERT ON TABLE \"DB\".\"S\".\"T\" TO ROLE \"R\"",
                "GRANT USAGE ON DATABASE \"DB\" TO ROLE \"R\"",
                "GRANT USAGE ON SCHEMA \"DB\".\"S\" TO ROLE \"R\"",
            ]
        );
        let usage = vec!["USAGE on SCHEMA".to_owned()];
        let out = expander.expand([("schema", "DB.S", usage.as_slice())]);
        assert_eq!(
            statements(&out),
            vec![
                "GRANT USAGE ON DATABASE \"DB\" TO ROLE \"R\"",
                "GRANT USAGE ON SCHEMA \"DB\".\"S\" TO ROLE \"R\"",
            ]
        );
    }

    #[test]
    fn routines_pass_only_as_a_name_and_types() {
        assert_eq!(
            routine_signature("\"F\"(NUMBER, VARCHAR)").as_deref(),
            Some("\"F\"(NUMBER, VARCHAR)")
        );
        assert_eq!(
            routine_signature("F(NUMBER)").as_deref(),
            Some("\"F\"(NUMBER)")
        );
        assert_eq!(routine_signature("F(1); DROP ROLE X; --)"), None);
        assert_eq!(routine_signature("F"), None);
    }

    #[test]
    fn held_grants_leave_out_ownership_memberships_and_system_grants() {
        let permissions = Permissions::new();
        let held = |p: &str, on: &str, name: &str, by: &str| held(&permissions, p, on, name, by);
        assert!(held("OWNERSHIP", "TABLE", "DB.S.T", "SYSADMIN").is_none());
        assert!(held("USAGE", "ROLE", "OTHER", "SYSADMIN").is_none());
        assert!(held("SELECT", "TABLE", "DB.S.T", "").is_none());
        assert!(held("FLY", "TABLE", "DB.S.T", "SYSADMIN").is_none());
        let view = held("SELECT", "MATERIALIZED_VIEW", "DB.S.\"m v\"", "SYSADMIN").unwrap();
        assert_eq!(
            view.revoke_statement("ROLE \"R\""),
            "REVOKE SELECT ON MATERIALIZED VIEW \"DB\".\"S\".\"m v\" FROM ROLE \"R\""
        );
        // The same object granted ON VIEW compares equal.
        assert_eq!(view, Grant::relation("SELECT", "VIEW", "DB", "S", "m v"));
    }
}
