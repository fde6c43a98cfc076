//! Names in SQL → data objects of the metadata sync. Each database's catalog is read once per
//! run (schemas, relations and their kinds, the `search_path` settings of roles and of the
//! database), then every name a statement used is resolved as PostgreSQL would: unqualified
//! names through the user's search path (with `pg_catalog` first unless the path names it),
//! `schema.relation`, or `database.schema.relation` in the statement's own database. Objects in
//! schemas the metadata sync leaves out (system schemas, `pg-excluded-schemas`) resolve to
//! nothing, so every reference matches a data object the metadata sync produced.
//!
//! Not tracked: `SET search_path` inside a session, and temporary tables.

use foldhash::{HashMap, HashSet};

use crate::connector::Error;
use crate::connectors::postgres::config::Config;
use crate::connectors::postgres::metadata::{FOREIGN_TABLE, MATERIALIZED_VIEW};
use crate::connectors::postgres::{client, naming};
use crate::model::access::DataObjectReference;
use crate::model::data_source::object_type;
use crate::usage_sql::{NameKind, Touched};

/// Every relation the metadata sync reports, with its kind, and every schema.
const LIST_RELATIONS: &str = "\
SELECT n.nspname, c.relname, c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')";

const LIST_SCHEMAS: &str = "SELECT nspname FROM pg_namespace";

/// `search_path` settings made with `ALTER ROLE … [IN DATABASE …] SET` and `ALTER DATABASE …
/// SET`: (role name or NULL, whether database-specific, the setting).
const LIST_PATH_SETTINGS: &str = "\
SELECT r.rolname, s.setdatabase <> 0, substr(c, length('search_path=') + 1)
FROM pg_db_role_setting s
LEFT JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS c
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND c LIKE 'search_path=%'";

/// The server-wide search path (postgresql.conf or the built-in default), when the sync's own
/// session has not overridden it.
const DEFAULT_PATH: &str = "\
SELECT CASE WHEN source IN ('default', 'configuration file', 'command line', 'environment variable')
            THEN reset_val ELSE boot_val END
FROM pg_settings WHERE name = 'search_path'";

/// One database's names.
#[derive(Debug, Default)]
pub struct Catalog {
    database: String,
    /// schema → its relations (nested, so lookups need no owned key).
    relations: HashMap<String, Schema>,
    schemas: HashSet<String>,
    /// Schemas the metadata sync does not report.
    excluded: HashSet<String>,
    default_path: Vec<String>,
    database_path: Option<Vec<String>>,
    role_paths: HashMap<String, Vec<String>>,
    role_database_paths: HashMap<String, Vec<String>>,
}

/// The relations of one schema, and the start of their full names: a statement's objects are
/// named once per statement, so the parts of a name are quoted once, when the catalog is read.
#[derive(Debug)]
struct Schema {
    /// `database.schema` as a full name ([`naming::full_name`]).
    prefix: String,
    /// relation → its type and full-name component.
    relations: HashMap<String, Relation>,
}

#[derive(Debug)]
struct Relation {
    /// The data object type.
    kind: &'static str,
    /// The name as a full-name component ([`naming::component`]) when that is not the name
    /// itself (quoted: upper case, dots, spaces…).
    quoted: Option<Box<str>>,
}

impl Catalog {
    /// Reads the catalog of `database`.
    pub async fn load(config: &Config, database: &str) -> Result<Self, Error> {
        let mut client = client::connect(config, database).await?;
        let endpoint = format!("{} (database {database:?})", config.endpoint());
        let fail = |operation: &'static str| {
            let endpoint = endpoint.clone();
            move |e| client::classify(e, &endpoint, operation)
        };
        let transaction = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(fail("starting a read-only transaction"))?;
        let mut catalog = Catalog {
            database: database.to_owned(),
            excluded: config.excluded_schemas_in(database).into_iter().collect(),
            ..Default::default()
        };
        let mut relations = client::Cursor::open(&transaction, LIST_RELATIONS, &[])
            .await
            .map_err(fail("listing relations for the usage sync"))?;
        while let Some(rows) = relations
            .next_batch()
            .await
            .map_err(fail("listing relations for the usage sync"))?
        {
            for row in rows {
                let kind: String = row.get(2);
                catalog.add_relation(row.get(0), row.get(1), relation_type(&kind));
            }
        }
        drop(relations);
        crate::metrics::sent(1, 1);
        for row in transaction
            .query(LIST_SCHEMAS, &[])
            .await
            .map_err(fail("listing schemas for the usage sync"))?
        {
            catalog.schemas.insert(row.get(0));
        }
        crate::metrics::sent(1, 1);
        for row in transaction
            .query(LIST_PATH_SETTINGS, &[])
            .await
            .map_err(fail("reading search_path settings"))?
        {
            let role: Option<String> = row.get(0);
            let in_database: bool = row.get(1);
            let path = parse_search_path(row.get(2));
            match (role, in_database) {
                (Some(role), true) => {
                    catalog.role_database_paths.insert(role, path);
                }
                (Some(role), false) => {
                    catalog.role_paths.insert(role, path);
                }
                (None, true) => catalog.database_path = Some(path),
                (None, false) => {}
            }
        }
        crate::metrics::sent(1, 1);
        let default: Option<String> = transaction
            .query_opt(DEFAULT_PATH, &[])
            .await
            .map_err(fail("reading the default search_path"))?
            .map(|row| row.get(0));
        catalog.default_path = parse_search_path(default.as_deref().unwrap_or("\"$user\", public"));
        transaction
            .commit()
            .await
            .map_err(fail("ending the read-only transaction"))?;
        tracing::debug!(
            database,
            relations = catalog
                .relations
                .values()
                .map(|schema| schema.relations.len())
                .sum::<usize>(),
            schemas = catalog.schemas.len(),
            "read the catalog for the usage sync"
        );
        Ok(catalog)
    }

    /// A catalog built by hand, for tests: `relations` as (schema, relation, type).
    pub fn from_parts(
        database: &str,
        relations: &[(&str, &str, &'static str)],
        default_path: &str,
    ) -> Self {
        let mut catalog = Catalog {
            database: database.to_owned(),
            schemas: relations.iter().map(|(s, _, _)| s.to_string()).collect(),
            default_path: parse_search_path(default_path),
            ..Default::default()
        };
        for (schema, relation, kind) in relations {
            catalog.add_relation(schema.to_string(), relation.to_string(), kind);
        }
        catalog
    }

    fn add_relation(&mut self, schema: String, relation: String, kind: &'static str) {
        let database = self.database.as_str();
        let entry = self
            .relations
            .entry(schema)
            .or_insert_with_key(|schema| Schema {
                prefix: naming::full_name([database, schema.as_str()]),
                relations: HashMap::default(),
            });
        let component = naming::component(&relation);
        let quoted = (component != relation).then(|| component.into_boxed_str());
        entry.relations.insert(relation, Relation { kind, quoted });
    }

    /// The search path in effect for `user` in this database (PostgreSQL's precedence: role in
    /// this database, role, database, server).
    fn search_path(&self, user: &str) -> &[String] {
        self.role_database_paths
            .get(user)
            .or_else(|| self.role_paths.get(user))
            .or(self.database_path.as_ref())
            .unwrap_or(&self.default_path)
    }

    fn synced_schema(&self, schema: &str) -> bool {
        !(self.excluded.contains(schema) || super::super::is_system_schema(schema))
    }

    /// The data object `touched` names, as the metadata sync names it, or `None` when it is
    /// not one (a dropped table, a function-valued name, another database, an excluded schema).
    pub fn resolve(&self, user: &str, touched: &Touched) -> Option<DataObjectReference> {
        let name = &touched.name;
        let (schema, object_type) = match touched.kind {
            NameKind::Schema => {
                let schema = match name.as_slice() {
                    [schema] => schema,
                    [database, schema] if *database == self.database => schema,
                    _ => return None,
                };
                self.schemas.contains(schema).then_some(())?;
                (schema.clone(), object_type::SCHEMA)
            }
            NameKind::Relation => {
                let (schema, relation) = match name.as_slice() {
                    [relation] => (self.lookup(user, relation)?, relation.as_str()),
                    [schema, relation] => (schema.as_str(), relation.as_str()),
                    [database, schema, relation] if *database == self.database => {
                        (schema.as_str(), relation.as_str())
                    }
                    _ => return None,
                };
                let entry = self.relations.get(schema)?;
                let found = entry.relations.get(relation)?;
                if !self.synced_schema(schema) {
                    return None;
                }
                // `naming::full_name([database, schema, relation])`, from its quoted parts.
                let component = found.quoted.as_deref().unwrap_or(relation);
                let mut full_name = String::with_capacity(entry.prefix.len() + 1 + component.len());
                full_name.push_str(&entry.prefix);
                full_name.push('.');
                full_name.push_str(component);
                return Some(reference(full_name, found.kind));
            }
        };
        if !self.synced_schema(&schema) {
            return None;
        }
        Some(reference(
            naming::full_name([self.database.as_str(), &schema]),
            object_type,
        ))
    }

    /// The schema an unqualified relation name resolves to.
    fn lookup<'a>(&'a self, user: &'a str, relation: &str) -> Option<&'a str> {
        let path = self.search_path(user);
        let implicit_catalog = !path.iter().any(|s| s == "pg_catalog");
        let schemas = implicit_catalog
            .then_some("pg_catalog")
            .into_iter()
            .chain(path.iter().map(|s| if s == "$user" { user } else { s }));
        schemas.into_iter().find(|schema| {
            self.relations
                .get(*schema)
                .is_some_and(|entry| entry.relations.contains_key(relation))
        })
    }
}

fn reference(full_name: String, object_type: &str) -> DataObjectReference {
    DataObjectReference {
        full_name,
        r#type: object_type.to_owned(),
        ..Default::default()
    }
}

/// The data object type of a `pg_class.relkind`, as the metadata sync types it.
fn relation_type(relkind: &str) -> &'static str {
    match relkind {
        "v" => object_type::VIEW,
        "m" => MATERIALIZED_VIEW,
        "f" => FOREIGN_TABLE,
        _ => object_type::TABLE,
    }
}

/// Splits a `search_path` value: comma-separated, quoted identifiers kept, bare ones folded to
/// lower case.
pub fn parse_search_path(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    items.push(current);
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(
            |item| match item.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => item.to_ascii_lowercase(),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::usage::UsageGlobalPermission;

    fn relation(name: &[&str]) -> Touched {
        Touched {
            kind: NameKind::Relation,
            name: name.iter().map(|s| s.to_string()).collect(),
            permission: UsageGlobalPermission::Read,
        }
    }

    #[test]
    fn search_paths_parse_like_postgres() {
        assert_eq!(
            parse_search_path(r#""$user", public"#),
            vec!["$user", "public"]
        );
        assert_eq!(
            parse_search_path(r#"Sales, "Sales.EU", "a""b""#),
            vec!["sales", "Sales.EU", "a\"b"]
        );
    }

    #[test]
    fn unqualified_names_follow_the_search_path_and_user_schema() {
        let catalog = Catalog::from_parts(
            "app",
            &[
                ("public", "orders", "table"),
                ("alice", "orders", "table"),
                ("pg_catalog", "pg_class", "table"),
                ("Sales.EU", "Amount €", "view"),
            ],
            r#""$user", public"#,
        );
        let alice = catalog.resolve("alice", &relation(&["orders"])).unwrap();
        assert_eq!(alice.full_name, "app.alice.orders");
        let bob = catalog.resolve("bob", &relation(&["orders"])).unwrap();
        assert_eq!(bob.full_name, "app.public.orders");
        assert!(catalog.resolve("bob", &relation(&["pg_class"])).is_none());
        let view = catalog
            .resolve("bob", &relation(&["app", "Sales.EU", "Amount €"]))
            .unwrap();
        assert_eq!(view.full_name, r#"app."Sales.EU"."Amount €""#);
        assert_eq!(view.r#type, "view");
        assert!(
            catalog
                .resolve("bob", &relation(&["other", "public", "orders"]))
                .is_none()
        );
        assert!(catalog.resolve("bob", &relation(&["missing"])).is_none());
    }

    #[test]
    fn full_names_are_the_metadata_syncs_for_any_identifiers() {
        let names = [
            ("public", "orders"),
            ("Sales.EU", "Orders 1"),
            ("s", "My \"best\" table"),
            ("caf\u{e9}", "t$1"),
            ("_x", "Upper"),
            ("a b", "\u{1f600}"),
        ];
        let relations: Vec<_> = names.iter().map(|&(s, r)| (s, r, "table")).collect();
        for database in ["app", "Warehouse", "da\"ta"] {
            let catalog = Catalog::from_parts(database, &relations, "public");
            for (schema, name) in names {
                let found = catalog.resolve("u", &relation(&[schema, name])).unwrap();
                assert_eq!(found.full_name, naming::full_name([database, schema, name]));
            }
        }
    }
}
