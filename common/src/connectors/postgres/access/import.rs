//! Reads the roles and grants that exist in PostgreSQL and Raito does not manage, as access
//! providers (target → Raito).
//!
//! # One access provider per role
//! Every role except the built-in `pg_*` roles and the roles this connector manages (comment
//! marker, see [`super::managed_for`]) becomes one access provider of type `role` with action
//! `grant`; `externalId`, `name`, `namingHint` and `actualName` are the role name (as GRANT
//! names it, and as the identity sync names the same role). A role without any grant is
//! imported too (its who may still matter).
//!
//! # Who
//! The role's direct members (`pg_auth_members`), split like the identity sync splits roles:
//! - members that can log in are `users` (the identity sync's users, by user name);
//! - members that cannot log in are `accessProviders`, by role name: a role granted to a role
//!   is role-in-role inheritance (the member role gets this role's access), which is how
//!   Raito's Snowflake connector imports roles granted to roles and how Raito exports it back
//!   (`inheritFrom`, applied as `GRANT role TO member`). The identity sync also lists these
//!   roles as groups, but a group in `who` would name the same role a second time in another
//!   namespace, and a member role that Raito manages is no group at all (the identity sync
//!   leaves managed roles out), so `accessProviders` is the one place that always resolves.
//! - a role that can log in also holds its own privileges: it is listed in its own `users`
//!   (without it, Raito would see the grants of, say, an application's login role reach
//!   nobody). Built-in `pg_*` members are left out.
//!
//! Memberships are reported whatever their `INHERIT` setting: a member without inheritance
//! still gets the role's access with `SET ROLE`, as Raito's assumable roles do. From
//! PostgreSQL 16 on, a membership with neither `INHERIT` nor `SET` passes no privileges (its
//! member may only administer the role, as 16 lets the creator of every role) and is left out.
//!
//! # What
//! The role's explicit privileges, from the ACLs (`aclexplode`) of the database itself
//! (`pg_database.datacl`), its schemas (`nspacl`), its tables, partitioned tables, views,
//! materialized views and foreign tables (`relacl`) and their columns (`attacl`), in every
//! database the data source sync covers (the same filters: templates, databases without
//! `CONNECT` for `pg-user`, `pg-excluded-databases`, system schemas and
//! `pg-excluded-schemas` are skipped). Each object becomes one what item named and typed
//! exactly as [`super::super::metadata`] names it, with the privileges upper case as
//! PostgreSQL and the data source metadata spell them (`SELECT`, `USAGE`, `CONNECT`, …).
//! Left out:
//! - the owner's own entries: ownership is not a grant (the owner can always grant itself
//!   anything back), so the owner's implicit privileges are not reported;
//! - grants to `PUBLIC`, which belong to no role;
//! - privileges the data source metadata does not list for the object's type (e.g. `INSERT`
//!   on a materialized view, which PostgreSQL accepts but never uses): the access provider is
//!   then marked `incomplete`;
//! - objects that are no data objects (sequences, functions, types, foreign servers, large
//!   objects): their grants are not read;
//! - the grant option (`WITH GRANT OPTION`), which Raito's model has no place for.
//!
//! # Roles Raito cannot manage
//! Imported with `notInternalizable` and every lock set, with the reason: superusers and
//! roles with `BYPASSRLS` or `REPLICATION` (their power does not come from grants), the role
//! the connector logs in as (`pg-user`), and the system roles of managed PostgreSQL services
//! ([`cloud_system_role`]).
//!
//! # Streaming and limits
//! The roles are read through a cursor on `pg-database`, ordered by OID; the grants through
//! one cursor per covered database, each ordered by grantee OID (role OIDs are cluster-wide,
//! so every database orders the same way, whatever its encoding or collation). A k-way merge
//! walks the role cursor and takes each database's grants of that role, so every role is
//! completed and pushed in turn. Memory holds one batch of rows per cursor (2,000 rows) plus
//! the one role being built: it does not grow with the number of roles or grants, only with
//! the number of databases and the largest single role. The price: one connection per
//! covered database plus one, all open for the whole run, so `pg-user`'s connection limit
//! and the server's `max_connections` must allow it (leave databases out with
//! `pg-excluded-databases` otherwise). Each database is read in one read-only,
//! repeatable-read transaction; the databases are separate snapshots, so a role created
//! while the import runs may miss grants (the next run sees them), and grants of a role that
//! is not in the role list (built-in or just created) are skipped. A database dropped
//! between listing and connecting is skipped with a warning.

use std::collections::HashMap;
use std::time::Instant;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Row, Transaction};
use tracing::Instrument;

use super::super::config::Config;
use super::super::metadata;
use super::super::{client, naming};
use super::{cloud_system_role, managed_for};
use crate::connector::{Error, Sink};
use crate::model::access::{AccessProvider, Action, DataObjectReference, WhatItem, Who};
use crate::model::data_source::object_type;

/// The access provider type of every imported role.
pub const ROLE_TYPE: &str = "role";

/// Every role but the built-in ones, by OID, with what decides whether Raito may manage it,
/// its comment (the managed marker), and its direct members that can log in (users) and
/// cannot (roles), built-in members and memberships that pass no privileges
/// ([`membership_passes_privileges`]) left out. `EXISTS` rather than a join: from PostgreSQL
/// 16 on, one membership may be recorded once per grantor.
const LIST_ROLES: &str = concat!(
    "\
SELECT r.oid, r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls, r.rolreplication,
       coalesce(pg_catalog.shobj_description(r.oid, 'pg_authid'::pg_catalog.name), ''),
       array(SELECT m.rolname FROM pg_roles m
             WHERE m.rolcanlogin AND m.rolname !~ '^pg_'
               AND EXISTS (SELECT FROM pg_auth_members a
                           WHERE a.roleid = r.oid AND a.member = m.oid AND ",
    membership_passes_privileges!("a"),
    ")
             ORDER BY m.rolname COLLATE \"C\"),
       array(SELECT m.rolname FROM pg_roles m
             WHERE NOT m.rolcanlogin AND m.rolname !~ '^pg_'
               AND EXISTS (SELECT FROM pg_auth_members a
                           WHERE a.roleid = r.oid AND a.member = m.oid AND ",
    membership_passes_privileges!("a"),
    ")
             ORDER BY m.rolname COLLATE \"C\")
FROM pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY r.oid"
);

/// The explicit privileges in the current database, one row per (grantee, object, privilege),
/// ordered by grantee OID, then object (parents before children), then privilege. `level`:
/// 0 database, 1 schema, 2 relation (`kind` is its relkind), 3 column. Grants to `PUBLIC`
/// (grantee 0) and the owner's own entries are left out.
const LIST_GRANTS: &str = concat!(
    "WITH acl AS (
  SELECT 0 AS level, NULL::text AS nspname, NULL::text AS relname, NULL::text AS attname,
         NULL::text AS kind, d.datdba AS owner, d.datacl AS acl
  FROM pg_database d
  WHERE d.datname = current_database() AND d.datacl IS NOT NULL
  UNION ALL
  SELECT 1, n.nspname, NULL, NULL, NULL, n.nspowner, n.nspacl
  FROM pg_namespace n
  WHERE n.nspacl IS NOT NULL AND ",
    schema_filter!("n", "$1"),
    "
  UNION ALL
  SELECT 2, n.nspname, c.relname, NULL, c.relkind::text, c.relowner, c.relacl
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ",
    schema_filter!("n", "$1"),
    "
  UNION ALL
  SELECT 3, n.nspname, c.relname, a.attname, c.relkind::text, c.relowner, a.attacl
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ",
    schema_filter!("n", "$1"),
    "
)
SELECT e.grantee, acl.level, acl.nspname, acl.relname, acl.attname, acl.kind, e.privilege_type
FROM acl CROSS JOIN LATERAL aclexplode(acl.acl) e
WHERE e.grantee <> 0 AND e.grantee <> acl.owner
ORDER BY e.grantee, acl.nspname COLLATE \"C\" NULLS FIRST, acl.relname COLLATE \"C\" NULLS FIRST,
         acl.attname COLLATE \"C\" NULLS FIRST, e.privilege_type COLLATE \"C\""
);

/// What the import needs of one role.
struct Role {
    oid: u32,
    name: String,
    can_login: bool,
    superuser: bool,
    bypass_rls: bool,
    replication: bool,
    comment: String,
    login_members: Vec<String>,
    role_members: Vec<String>,
}

impl Role {
    fn from_row(row: &Row) -> Self {
        Self {
            oid: row.get(0),
            name: row.get(1),
            can_login: row.get(2),
            superuser: row.get(3),
            bypass_rls: row.get(4),
            replication: row.get(5),
            comment: row.get(6),
            login_members: row.get(7),
            role_members: row.get(8),
        }
    }

    /// Why Raito may not manage this role, or `None` when it may.
    fn protection(&self, config: &Config) -> Option<String> {
        if self.superuser {
            Some("a superuser: PostgreSQL skips every permission check for it".to_owned())
        } else if self.name == config.user {
            Some("the role the Raito connector logs in as (pg-user)".to_owned())
        } else if self.bypass_rls {
            Some("has BYPASSRLS: row-level security does not apply to it".to_owned())
        } else if self.replication {
            Some("has REPLICATION: it can stream every row of the server".to_owned())
        } else {
            cloud_system_role(&self.name)
                .map(|service| format!("a system role of {service}, managed by the service"))
        }
    }
}

/// One explicit privilege, named like the data source sync names its object.
struct Grant {
    grantee: u32,
    full_name: String,
    r#type: &'static str,
    privilege: String,
}

/// The grants of one database, read through a cursor in grantee order.
struct GrantStream<'t> {
    database: String,
    endpoint: String,
    cursor: client::Cursor<'t>,
    batch: std::vec::IntoIter<Row>,
    peeked: Option<Grant>,
    /// Grants read and handed to a role.
    taken: u64,
    /// Grants of roles not in the role list (built-in `pg_*` roles, roles created meanwhile).
    skipped: u64,
}

impl<'t> GrantStream<'t> {
    async fn open(
        transaction: &'t Transaction<'t>,
        database: String,
        config: &Config,
    ) -> Result<Self, Error> {
        let endpoint = format!("{} (database {database:?})", config.endpoint());
        let excluded = config.excluded_schemas_in(&database);
        let cursor = client::Cursor::open(transaction, LIST_GRANTS, &[&excluded])
            .await
            .map_err(|e| client::classify(e, &endpoint, "listing grants"))?;
        Ok(Self {
            database,
            endpoint,
            cursor,
            batch: Vec::new().into_iter(),
            peeked: None,
            taken: 0,
            skipped: 0,
        })
    }

    /// The grantee of the next grant, `None` at the end.
    async fn peek_grantee(&mut self) -> Result<Option<u32>, Error> {
        if self.peeked.is_none() {
            self.peeked = self.pull().await?;
        }
        Ok(self.peeked.as_ref().map(|grant| grant.grantee))
    }

    async fn pull(&mut self) -> Result<Option<Grant>, Error> {
        loop {
            if let Some(row) = self.batch.next() {
                return Ok(Some(self.grant(&row)));
            }
            match self
                .cursor
                .next_batch()
                .await
                .map_err(|e| client::classify(e, &self.endpoint, "listing grants"))?
            {
                Some(rows) => self.batch = rows.into_iter(),
                None => return Ok(None),
            }
        }
    }

    fn grant(&self, row: &Row) -> Grant {
        let level: i32 = row.get(1);
        let mut names = vec![self.database.clone()];
        names.extend((2..2 + level as usize).filter_map(|i| row.get::<_, Option<String>>(i)));
        let r#type = match level {
            0 => object_type::DATABASE,
            1 => object_type::SCHEMA,
            2 => metadata::relation_type(row.get::<_, Option<String>>(5).as_deref().unwrap_or("r")),
            _ => object_type::COLUMN,
        };
        Grant {
            grantee: row.get(0),
            full_name: naming::full_name(names.iter().map(String::as_str)),
            r#type,
            privilege: row.get(6),
        }
    }

    /// The next grant of `grantee`, or `None` when this database has no more for it. Grants
    /// of roles ordered before it were not in the role list and are skipped.
    async fn take(&mut self, grantee: u32) -> Result<Option<Grant>, Error> {
        loop {
            match self.peek_grantee().await? {
                Some(next) if next < grantee => {
                    self.peeked = None;
                    self.skipped += 1;
                }
                Some(next) if next == grantee => {
                    self.taken += 1;
                    return Ok(self.peeked.take());
                }
                _ => return Ok(None),
            }
        }
    }
}

/// The permissions the data source metadata lists per data object type.
fn known_permissions() -> HashMap<String, Vec<String>> {
    metadata::data_source_metadata()
        .data_object_types
        .into_iter()
        .map(|t| {
            let permissions = t.permissions.into_iter().map(|p| p.permission).collect();
            (t.name, permissions)
        })
        .collect()
}

/// The what of one role, built from its grants in object order.
#[derive(Default)]
struct WhatBuilder {
    items: Vec<WhatItem>,
    incomplete: bool,
}

impl WhatBuilder {
    fn add(&mut self, grant: Grant, known: &HashMap<String, Vec<String>>) {
        let listed = known
            .get(grant.r#type)
            .is_some_and(|permissions| permissions.contains(&grant.privilege));
        if !listed {
            tracing::debug!(
                object = %grant.full_name,
                r#type = grant.r#type,
                privilege = %grant.privilege,
                "privilege has no Raito permission on this type; left out"
            );
            self.incomplete = true;
            return;
        }
        match self.items.last_mut() {
            Some(item)
                if item.data_object.full_name == grant.full_name
                    && item.data_object.r#type == grant.r#type =>
            {
                // The same privilege twice: granted by two grantors.
                if !item.permissions.contains(&grant.privilege) {
                    item.permissions.push(grant.privilege);
                }
            }
            _ => self.items.push(WhatItem {
                data_object: DataObjectReference::new(grant.full_name, grant.r#type),
                permissions: vec![grant.privilege],
                ..Default::default()
            }),
        }
    }
}

/// The access provider of an unmanaged role.
fn access_provider(role: Role, what: WhatBuilder, config: &Config) -> AccessProvider {
    let protection = role.protection(config);
    let mut users = Vec::with_capacity(role.login_members.len() + 1);
    if role.can_login {
        users.push(role.name.clone());
    }
    users.extend(role.login_members);
    let locked = protection.as_ref().map(|_| true);
    AccessProvider {
        external_id: role.name.clone(),
        name: role.name.clone(),
        naming_hint: role.name.clone(),
        actual_name: role.name,
        r#type: Some(ROLE_TYPE.to_owned()),
        action: Action::Grant,
        who: Some(Who {
            users,
            access_providers: role.role_members,
            ..Default::default()
        }),
        what: what.items,
        incomplete: what.incomplete.then_some(true),
        not_internalizable: protection.is_some(),
        who_locked: locked,
        who_locked_reason: protection.clone(),
        what_locked: locked,
        what_locked_reason: protection.clone(),
        inheritance_locked: locked,
        inheritance_locked_reason: protection.clone(),
        name_locked: locked,
        name_locked_reason: protection.clone(),
        delete_locked: locked,
        delete_locked_reason: protection,
        ..Default::default()
    }
}

/// Whether connecting failed because the database no longer exists.
fn database_is_gone(error: &Error) -> bool {
    let source = match error {
        Error::Operation { source, .. } | Error::Connect { source, .. } => source,
        _ => return false,
    };
    source
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::code)
        // A database dropped since it was listed: gone, or "cannot connect to invalid
        // database" while its DROP DATABASE runs.
        .is_some_and(|code| {
            *code == SqlState::INVALID_CATALOG_NAME
                || *code == SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE
        })
}

/// Pushes one access provider per role that is neither built in nor managed by Raito, with
/// its members and its explicit privileges in every covered database (see the module docs).
pub async fn run(config: &Config, sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error> {
    run_inner(config, sink)
        .instrument(tracing::info_span!("access import"))
        .await
}

async fn run_inner(config: &Config, sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error> {
    let started = Instant::now();
    let endpoint = config.endpoint();
    let endpoint = &endpoint;
    let fail = |operation: &'static str| move |e| client::classify(e, endpoint, operation);

    let mut server = client::connect(config, &config.database).await?;
    crate::metrics::sent(1, 1);
    let databases: Vec<String> = server
        .query(
            metadata::LIST_DATABASES,
            &[&config.excluded_databases, &None::<String>],
        )
        .await
        .map_err(fail("listing databases"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    tracing::info!(databases = databases.len(), "listed databases");

    // One connection per database, all open at once: the merge reads them side by side.
    let mut clients = Vec::with_capacity(databases.len());
    for database in databases {
        match client::connect(config, &database).await {
            Ok(client) => clients.push((database, client)),
            Err(error) if database_is_gone(&error) => {
                tracing::warn!(database, "database dropped while importing; skipped");
            }
            Err(error) => return Err(error),
        }
    }
    let mut transactions = Vec::with_capacity(clients.len());
    for (database, client) in &mut clients {
        let transaction = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| {
                client::classify(
                    e,
                    &format!("{endpoint} (database {database:?})"),
                    "starting a read-only transaction",
                )
            })?;
        transactions.push((database.clone(), transaction));
    }
    let mut streams = Vec::with_capacity(transactions.len());
    for (database, transaction) in &transactions {
        streams.push(GrantStream::open(transaction, database.clone(), config).await?);
    }

    let role_transaction = server
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(fail("starting a read-only transaction"))?;
    let mut roles = client::Cursor::open(&role_transaction, LIST_ROLES, &[])
        .await
        .map_err(fail("listing roles"))?;

    let known = known_permissions();
    let (mut imported, mut managed, mut protected) = (0u64, 0u64, 0u64);
    while let Some(rows) = roles.next_batch().await.map_err(fail("listing roles"))? {
        for row in &rows {
            let role = Role::from_row(row);
            let mut what = WhatBuilder::default();
            for stream in &mut streams {
                while let Some(grant) = stream.take(role.oid).await? {
                    what.add(grant, &known);
                }
            }
            if managed_for(&role.comment).is_some() {
                // Raito's own access provider: exported by Raito, never imported.
                managed += 1;
                continue;
            }
            let access_provider = access_provider(role, what, config);
            protected += u64::from(access_provider.not_internalizable);
            sink.push(access_provider).await?;
            imported += 1;
        }
    }
    for stream in &streams {
        tracing::info!(
            database = %stream.database,
            grants = stream.taken,
            skipped = stream.skipped,
            "read grants"
        );
    }
    drop(streams);
    for (database, transaction) in transactions {
        transaction.commit().await.map_err(|e| {
            client::classify(
                e,
                &format!("{endpoint} (database {database:?})"),
                "ending the read-only transaction",
            )
        })?;
    }
    role_transaction
        .commit()
        .await
        .map_err(fail("ending the read-only transaction"))?;
    tracing::info!(
        access_providers = imported,
        not_internalizable = protected,
        managed_skipped = managed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "imported access"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_kinds_get_the_types_of_the_data_source_sync() {
        assert_eq!(metadata::relation_type("r"), "table");
        assert_eq!(metadata::relation_type("p"), "table");
        assert_eq!(metadata::relation_type("v"), "view");
        assert_eq!(metadata::relation_type("m"), "materialized-view");
        assert_eq!(metadata::relation_type("f"), "foreign-table");
    }

    fn grant(full_name: &str, r#type: &'static str, privilege: &str) -> Grant {
        Grant {
            grantee: 1,
            full_name: full_name.to_owned(),
            r#type,
            privilege: privilege.to_owned(),
        }
    }

    #[test]
    fn grants_on_one_object_become_one_what_item_and_unknown_privileges_mark_it_incomplete() {
        let known = known_permissions();
        let mut what = WhatBuilder::default();
        what.add(grant("db.s.t", "table", "INSERT"), &known);
        what.add(grant("db.s.t", "table", "SELECT"), &known);
        what.add(grant("db.s.t", "table", "SELECT"), &known);
        what.add(grant("db.s.t.c", "column", "UPDATE"), &known);
        assert!(!what.incomplete);
        what.add(grant("db.s.m", "materialized-view", "INSERT"), &known);
        assert!(what.incomplete);
        let items: Vec<(&str, &str, Vec<&str>)> = what
            .items
            .iter()
            .map(|i| {
                (
                    i.data_object.full_name.as_str(),
                    i.data_object.r#type.as_str(),
                    i.permissions.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            items,
            vec![
                ("db.s.t", "table", vec!["INSERT", "SELECT"]),
                ("db.s.t.c", "column", vec!["UPDATE"]),
            ]
        );
    }
}
