//! The statements of an access apply (see `sql::ddl`), executed against the account with
//! Snowflake's semantics, as the session's role. The policy statements go through the same
//! [`Writer`] and are executed in `policies`.
//!
//! The account lives in a [`State`] with the [`Access`] index the reads use. A request's writes
//! go through one [`Writer`], which holds the state exclusively, keeps its own name indexes up
//! to date statement by statement (so 1,000 GRANTs against 10,000 roles stay linear) and marks
//! the `Access` index stale; it is rebuilt once, before a read that follows writes or when the
//! writer is dropped at the end of the request.
//!
//! What each statement checks, in order, and answers:
//! - Names: a role, database role, database, user or object that does not exist, or that the
//!   session's role cannot see (a database outside `Database::visible_to` without MANAGE
//!   GRANTS), is `002003` "<Kind> '<NAME>' does not exist or not authorized."; IF EXISTS makes
//!   ALTER and DROP of a missing role a success. A database role or object named without its
//!   database (or schema) takes the session's: none is `090105` (`090106` for the schema).
//! - Privileges (`003001` "Insufficient privileges to operate on …" when missing): CREATE ROLE
//!   takes MANAGE GRANTS, ACCOUNTADMIN, SECURITYADMIN or USERADMIN as the session's role, or
//!   CREATE ROLE on the account held through its hierarchy; CREATE DATABASE ROLE MANAGE GRANTS,
//!   ACCOUNTADMIN, the database's ownership or CREATE DATABASE ROLE on it. ALTER, DROP, GRANT
//!   ROLE and REVOKE ROLE take MANAGE GRANTS or the role's ownership (held through the
//!   hierarchy); GRANT and REVOKE of privileges MANAGE GRANTS or the object's ownership, and a
//!   GRANT also the privilege held WITH GRANT OPTION. The system roles (ACCOUNTADMIN,
//!   SECURITYADMIN, SYSADMIN, USERADMIN, ORGADMIN, PUBLIC) are never renamed or dropped, and
//!   a grant of the SYSTEM role (empty `granted_by`) is never revoked: `003001`.
//! - `002002` "Object '<NAME>' already exists." for a CREATE (without IF NOT EXISTS) or RENAME
//!   onto a taken name; a name over 255 characters is a `001003` (see
//!   `SqlError::identifier_too_long`).
//! - GRANT of what is held already, REVOKE of what is not: success, nothing changes (a GRANT
//!   WITH GRANT OPTION of a privilege held without it adds the option).
//! - A role grant that would close a cycle: `003012`; a database role given a privilege outside
//!   its database, or granted to another database's database role, or an individual privilege
//!   on an imported database's objects: `003011` (Snowflake's codes for these are not
//!   documented; the wording is the builder's, see `grants`).
//! - Renaming a database role into another database: `000002` (unsupported).
//!
//! `GRANT … ON VIEW` also takes a materialized view (Snowflake accepts it; the Go connector
//! grants materialized views that way), recorded on the MATERIALIZED_VIEW as SHOW GRANTS shows
//! it; `ON TABLE` takes an Iceberg table, `ON ICEBERG TABLE` only one.
//!
//! Effects: a new role is owned by the session's role and created now; a grant is recorded now
//! (so ACCOUNT_USAGE shows it after its latency), granted by the object's owner (MANAGE GRANTS
//! grants as the owner, snowflake.md §4), or by the session's role for an object without one.
//! DROP ROLE removes the role's grants, its memberships both ways and explicit grants on it;
//! what it owned passes to the session's role, and so do the grants it had made. A revoked
//! grant is removed from the model (it keeps no history), so GRANTS_TO_ROLES never shows a
//! DELETED_ON. RENAME keeps every grant and membership under the new name. The model's
//! shorthand memberships (`User::granted_roles`, `User::default_role`) follow: a REVOKE ROLE
//! from a user drops the role from `granted_roles` and clears `default_role` when it names it
//! (the user's sessions then default to PUBLIC, as Snowflake's do when the default role is
//! revoked); a DROP leaves `default_role` as written (Snowflake keeps the name too) and a RENAME
//! updates it, since the model reads it as a grant. A grant to an account role on a database or
//! its objects adds the role to `Database::visible_to`; a revoke that leaves the role nothing in
//! that database takes it off.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::access::Access;
use crate::error::{SqlError, display_name, display_path};
use crate::grants::{
    database_role_cycle, database_role_inherits, database_role_may_hold, foreign_database_role,
    role_cycle, same_privilege, set_switches,
};
use crate::model::{Account, DatabaseRole, Grant, Grantee, ObjectKind, Role, RoleGrant};
use crate::sql::{Ident, Privilege, RoleChange, RoleHolder, RoleName, Target, Write};

/// The roles Snowflake creates in every account; never renamed or dropped.
const SYSTEM_ROLES: &[&str] = &[
    "ACCOUNTADMIN",
    "SECURITYADMIN",
    "SYSADMIN",
    "USERADMIN",
    "ORGADMIN",
    "PUBLIC",
];

/// A statement's answer when it has nothing more to say.
pub(crate) const EXECUTED: &str = "Statement executed successfully.";

/// The account and the index of its role grants the reads use.
pub(crate) struct State {
    pub account: Account,
    pub access: Access,
    /// The writers' name indexes, built at the first write and kept in step by every write.
    index: Option<Index>,
    /// `access` no longer describes `account`.
    stale: bool,
}

impl State {
    pub fn new(account: Account) -> Self {
        State {
            access: Access::new(&account),
            account,
            index: None,
            stale: false,
        }
    }

    /// Rebuilds `access` when writes have changed the account since it was built.
    pub fn refresh(&mut self) {
        if self.stale {
            self.access = Access::new(&self.account);
            self.stale = false;
        }
    }
}

/// Positions of what the writes look up by name, built once and patched by every write that
/// moves or renames a role. Databases and users never move (no statement creates or drops
/// them). Names are unique in the model, so one position per name.
struct Index {
    databases: HashMap<String, usize>,
    users: HashMap<String, usize>,
    /// Built at the first statement that needs it (not every request looks roles up).
    roles: Option<RoleIndex>,
}

struct RoleIndex {
    account: HashMap<String, usize>,
    /// (database position, name) → position in the database's roles.
    database: HashMap<(usize, String), usize>,
    /// Account role → the account roles granted to it (which it inherits directly).
    inherits: HashMap<String, Vec<String>>,
}

impl Index {
    fn new(account: &Account) -> Self {
        let first_wins = |names: &mut dyn Iterator<Item = &String>| {
            let mut map = HashMap::new();
            for (i, name) in names.enumerate() {
                map.entry(name.clone()).or_insert(i);
            }
            map
        };
        Index {
            databases: first_wins(&mut account.databases.iter().map(|d| &d.name)),
            users: first_wins(&mut account.users.iter().map(|u| &u.name)),
            roles: None,
        }
    }
}

impl RoleIndex {
    fn new(account: &Account) -> Self {
        let mut index = RoleIndex {
            account: HashMap::with_capacity(account.roles.len()),
            database: HashMap::new(),
            inherits: HashMap::new(),
        };
        for (i, role) in account.roles.iter().enumerate() {
            // The first of two roles of one name wins, as everywhere in the stand-in.
            index.account.entry(role.name.clone()).or_insert(i);
            for grant in &role.granted_to {
                if let Grantee::Role(holder) = &grant.to {
                    index
                        .inherits
                        .entry(holder.clone())
                        .or_default()
                        .push(role.name.clone());
                }
            }
        }
        for (d, db) in account.databases.iter().enumerate() {
            for (i, role) in db.roles.iter().enumerate() {
                index.database.entry((d, role.name.clone())).or_insert(i);
            }
        }
        index
    }
}

/// A role by position: an account role, or a database's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Account(usize),
    Database(usize, usize),
}

/// Runs one request's writes as the session's role (see the module's documentation).
pub(crate) struct Writer<'s> {
    pub(super) state: &'s mut State,
    /// The session's role; renamed with it.
    pub(super) role: String,
    pub(super) manage_grants: bool,
    pub(super) database: Option<String>,
    pub(super) schema: Option<String>,
}

impl Drop for Writer<'_> {
    /// The request is over: the reads that come next see its writes.
    fn drop(&mut self) {
        self.state.refresh();
    }
}

/// `name`, within Snowflake's 1 to 255 characters, for a CREATE or RENAME.
pub(super) fn check_length(name: &Ident) -> Result<(), SqlError> {
    let length = name.name.chars().count();
    if length == 0 {
        return Err(SqlError::syntax(name.line, name.pos, "\"\""));
    }
    if length > 255 {
        return Err(SqlError::identifier_too_long(name.line, name.pos, length));
    }
    Ok(())
}

fn swap(field: &mut String, old: &str, new: &str) {
    if field == old {
        new.clone_into(field);
    }
}

/// How a `003001` names an object of `kind`: `table 'DB.S.T'`.
fn object_words(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Account => "account",
        ObjectKind::Database => "database",
        ObjectKind::Schema => "schema",
        ObjectKind::Table => "table",
        ObjectKind::View => "view",
        ObjectKind::MaterializedView => "materialized view",
        ObjectKind::ExternalTable => "external table",
        ObjectKind::DynamicTable => "dynamic table",
        ObjectKind::EventTable => "event table",
        ObjectKind::Function => "function",
        ObjectKind::Procedure => "procedure",
        ObjectKind::Warehouse => "warehouse",
        ObjectKind::Integration => "integration",
        ObjectKind::Role => "role",
        ObjectKind::DatabaseRole => "database role",
        ObjectKind::User => "user",
    }
}

/// How a `002003` names a missing object of `kind`.
fn missing_kind(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Database => "Database",
        ObjectKind::Schema => "Schema",
        ObjectKind::Table => "Table",
        ObjectKind::View => "View",
        ObjectKind::MaterializedView => "Materialized view",
        ObjectKind::ExternalTable => "External table",
        ObjectKind::DynamicTable => "Dynamic table",
        ObjectKind::EventTable => "Event table",
        _ => "Object",
    }
}

/// The account's name in messages about it: its locator, else its name.
fn account_name(account: &Account) -> &str {
    if account.locator.is_empty() {
        &account.name
    } else {
        &account.locator
    }
}

impl<'s> Writer<'s> {
    pub fn new(
        state: &'s mut State,
        role: &Role,
        database: Option<&str>,
        schema: Option<&str>,
    ) -> Self {
        Writer {
            state,
            role: role.name.clone(),
            manage_grants: role.manage_grants,
            database: database.map(str::to_owned),
            schema: schema.map(str::to_owned),
        }
    }

    /// The state for a read between writes: the `Access` index brought up to date first.
    pub fn state(&mut self) -> &State {
        self.state.refresh();
        self.state
    }

    /// Runs one statement; answers its status message.
    pub fn execute(&mut self, write: &Write) -> Result<String, SqlError> {
        let answer = match write {
            Write::CreateRole {
                role,
                if_not_exists,
                comment,
            } => self.create(role, *if_not_exists, comment.as_deref()),
            Write::AlterRole {
                role,
                if_exists,
                change,
            } => self.alter(role, *if_exists, change),
            Write::DropRole { role, if_exists } => self.drop_role(role, *if_exists),
            Write::GrantRole { role, to, revoke } => self.grant_role(role, to, *revoke),
            Write::Privileges {
                privileges,
                on,
                to,
                revoke,
                grant_option,
            } => self.privileges(privileges, on, to, *revoke, *grant_option),
            Write::Policy(write) => self.policy(write),
        };
        // Even a failed statement may have looked something up: only a success changes the
        // account, but marking it stale costs one rebuild at most.
        self.state.stale = true;
        answer
    }

    fn index(&mut self) -> &mut Index {
        let State { account, index, .. } = &mut *self.state;
        index.get_or_insert_with(|| Index::new(account))
    }

    fn roles(&mut self) -> &mut RoleIndex {
        let State { account, index, .. } = &mut *self.state;
        index
            .get_or_insert_with(|| Index::new(account))
            .roles
            .get_or_insert_with(|| RoleIndex::new(account))
    }

    pub(super) fn account(&self) -> &Account {
        &self.state.account
    }

    // ---- names ----

    fn find_role(&mut self, name: &Ident) -> Result<usize, SqlError> {
        self.roles()
            .account
            .get(&name.name)
            .copied()
            .ok_or_else(|| SqlError::does_not_exist("Role", &display_name(&name.name)))
    }

    fn find_user(&mut self, name: &Ident) -> Result<usize, SqlError> {
        self.index()
            .users
            .get(&name.name)
            .copied()
            .ok_or_else(|| SqlError::does_not_exist("User", &display_name(&name.name)))
    }

    /// Whether the session's role sees database `d` (as SHOW does).
    pub(super) fn sees_database(&self, d: usize) -> bool {
        let db = &self.account().databases[d];
        self.manage_grants
            || db.owner == self.role
            || db
                .visible_to
                .as_ref()
                .is_none_or(|roles| roles.contains(&self.role))
    }

    /// The database `name` (or the session's when `None`), existing and visible.
    pub(super) fn find_database(
        &mut self,
        name: Option<&str>,
        command: &str,
    ) -> Result<usize, SqlError> {
        let name = match name {
            Some(name) => name.to_owned(),
            None => self
                .database
                .clone()
                .ok_or_else(|| SqlError::no_database(command))?,
        };
        self.index()
            .databases
            .get(&name)
            .copied()
            .filter(|&d| self.sees_database(d))
            .ok_or_else(|| SqlError::does_not_exist("Database", &display_name(&name)))
    }

    fn find_database_role(
        &mut self,
        database: Option<&Ident>,
        role: &Ident,
        command: &str,
    ) -> Result<(usize, usize), SqlError> {
        let d = self.find_database(database.map(|d| d.name.as_str()), command)?;
        match self.roles().database.get(&(d, role.name.clone())) {
            Some(&r) => Ok((d, r)),
            None => Err(SqlError::does_not_exist(
                "Database role",
                &display_path(&[&self.account().databases[d].name, &role.name]),
            )),
        }
    }

    /// The role a statement names, by position.
    fn find(&mut self, role: &RoleName, command: &str) -> Result<Key, SqlError> {
        match role {
            RoleName::Account(name) => self.find_role(name).map(Key::Account),
            RoleName::Database { database, role } => self
                .find_database_role(database.as_ref(), role, command)
                .map(|(d, r)| Key::Database(d, r)),
        }
    }

    fn role_of(&self, key: Key) -> (&str, &str) {
        let account = self.account();
        match key {
            Key::Account(r) => (&account.roles[r].name, &account.roles[r].owner),
            Key::Database(d, r) => {
                let role = &account.databases[d].roles[r];
                (&role.name, &role.owner)
            }
        }
    }

    /// The role as messages print it: `NAME`, or `DB.NAME`.
    fn shown(&self, key: Key) -> String {
        match key {
            Key::Account(r) => display_name(&self.account().roles[r].name),
            Key::Database(d, r) => {
                let db = &self.account().databases[d];
                display_path(&[&db.name, &db.roles[r].name])
            }
        }
    }

    fn insufficient(&self, key: Key) -> SqlError {
        let what = match key {
            Key::Account(_) => "role",
            Key::Database(..) => "database role",
        };
        SqlError::insufficient_privileges(&format!("{what} '{}'", self.shown(key)))
    }

    // ---- privileges of the session ----

    /// The account roles the session holds: its role, PUBLIC, and what they inherit.
    pub(super) fn held(&mut self) -> HashSet<String> {
        let start = [self.role.clone(), "PUBLIC".to_owned()];
        let inherits = &self.roles().inherits;
        let mut held = HashSet::new();
        let mut next = Vec::from(start);
        while let Some(role) = next.pop() {
            if let Some(granted) = inherits.get(&role)
                && !held.contains(&role)
            {
                next.extend(granted.iter().cloned());
            }
            held.insert(role);
        }
        held
    }

    /// Whether one of the held roles holds `grant`'s privilege (WITH GRANT OPTION when
    /// `grant_option`).
    pub(super) fn holds(
        &mut self,
        held: &HashSet<String>,
        grant: &Grant,
        grant_option: bool,
    ) -> bool {
        let positions: Vec<usize> = {
            let roles = &self.roles().account;
            held.iter().filter_map(|r| roles.get(r).copied()).collect()
        };
        positions.into_iter().any(|r| {
            self.account().roles[r]
                .grants
                .iter()
                .any(|g| same_privilege(g, grant) && (g.grant_option || !grant_option))
        })
    }

    /// MANAGE GRANTS, or the ownership of what `owner` owns through the hierarchy.
    fn may_manage(&mut self, owner: &str) -> bool {
        self.manage_grants || (!owner.is_empty() && self.held().contains(owner))
    }

    // ---- CREATE, ALTER, DROP ----

    fn create(
        &mut self,
        role: &RoleName,
        if_not_exists: bool,
        comment: Option<&str>,
    ) -> Result<String, SqlError> {
        let now = OffsetDateTime::now_utc();
        match role {
            RoleName::Account(name) => {
                let allowed = self.manage_grants
                    || ["ACCOUNTADMIN", "SECURITYADMIN", "USERADMIN"].contains(&self.role.as_str())
                    || {
                        let held = self.held();
                        let create_role = Grant::new("CREATE ROLE", ObjectKind::Account, &[]);
                        self.holds(&held, &create_role, false)
                    };
                if !allowed {
                    return Err(SqlError::insufficient_privileges(&format!(
                        "account '{}'",
                        account_name(self.account())
                    )));
                }
                check_length(name)?;
                let shown = display_name(&name.name);
                if self.roles().account.contains_key(&name.name) {
                    return if if_not_exists {
                        Ok(format!("{shown} already exists, statement succeeded."))
                    } else {
                        Err(SqlError::already_exists(&shown))
                    };
                }
                let position = self.state.account.roles.len();
                self.state.account.roles.push(Role {
                    name: name.name.clone(),
                    owner: self.role.clone(),
                    comment: comment.unwrap_or_default().to_owned(),
                    created_on: Some(now),
                    ..Role::default()
                });
                self.roles().account.insert(name.name.clone(), position);
                Ok(format!("Role {shown} successfully created."))
            }
            RoleName::Database { database, role } => {
                let d = self.find_database(
                    database.as_ref().map(|d| d.name.as_str()),
                    "CREATE DATABASE ROLE",
                )?;
                let db_name = self.account().databases[d].name.clone();
                let allowed = self.manage_grants || self.role == "ACCOUNTADMIN" || {
                    let owner = self.account().databases[d].owner.clone();
                    let held = self.held();
                    let create = Grant::new(
                        "CREATE DATABASE ROLE",
                        ObjectKind::Database,
                        &[db_name.as_str()],
                    );
                    held.contains(&owner) || self.holds(&held, &create, false)
                };
                if !allowed {
                    return Err(SqlError::insufficient_privileges(&format!(
                        "database '{}'",
                        display_name(&db_name)
                    )));
                }
                check_length(role)?;
                let shown = display_path(&[&db_name, &role.name]);
                if self.roles().database.contains_key(&(d, role.name.clone())) {
                    return if if_not_exists {
                        Ok(format!("{shown} already exists, statement succeeded."))
                    } else {
                        Err(SqlError::already_exists(&shown))
                    };
                }
                let roles = &mut self.state.account.databases[d].roles;
                let position = roles.len();
                roles.push(DatabaseRole {
                    name: role.name.clone(),
                    owner: self.role.clone(),
                    comment: comment.unwrap_or_default().to_owned(),
                    created_on: Some(now),
                    ..DatabaseRole::default()
                });
                self.roles()
                    .database
                    .insert((d, role.name.clone()), position);
                Ok(format!("Database role {shown} successfully created."))
            }
        }
    }

    /// The role an ALTER or DROP names, `None` when it does not exist and IF EXISTS was given.
    fn existing(
        &mut self,
        role: &RoleName,
        if_exists: bool,
        command: &str,
    ) -> Result<Option<Key>, SqlError> {
        let found = match role {
            RoleName::Account(name) => self.find_role(name).map(Key::Account),
            RoleName::Database { database, role } => {
                // The database must exist even with IF EXISTS: only the role may be missing.
                let d = self.find_database(database.as_ref().map(|d| d.name.as_str()), command)?;
                self.find_database_role(database.as_ref(), role, command)
                    .map(|(_, r)| Key::Database(d, r))
            }
        };
        match found {
            Ok(key) => Ok(Some(key)),
            Err(_) if if_exists => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn alter(
        &mut self,
        role: &RoleName,
        if_exists: bool,
        change: &RoleChange,
    ) -> Result<String, SqlError> {
        let command = match role {
            RoleName::Account(_) => "ALTER ROLE",
            RoleName::Database { .. } => "ALTER DATABASE ROLE",
        };
        let Some(key) = self.existing(role, if_exists, command)? else {
            return Ok(EXECUTED.to_owned());
        };
        let (name, owner) = self.role_of(key);
        let (name, owner) = (name.to_owned(), owner.to_owned());
        let system = matches!(key, Key::Account(_)) && SYSTEM_ROLES.contains(&name.as_str());
        let renaming = matches!(change, RoleChange::Rename(_));
        if (system && renaming) || !self.may_manage(&owner) {
            return Err(self.insufficient(key));
        }
        match (change, key) {
            (RoleChange::Comment(comment), Key::Account(r)) => {
                comment.clone_into(&mut self.state.account.roles[r].comment);
            }
            (RoleChange::Comment(comment), Key::Database(d, r)) => {
                comment.clone_into(&mut self.state.account.databases[d].roles[r].comment);
            }
            (RoleChange::Rename(RoleName::Account(new)), Key::Account(r)) => {
                check_length(new)?;
                if self.roles().account.contains_key(&new.name) {
                    return Err(SqlError::already_exists(&display_name(&new.name)));
                }
                rename_account_role(&mut self.state.account, &name, &new.name);
                swap(&mut self.role, &name, &new.name);
                let roles = self.roles();
                roles.account.remove(&name);
                roles.account.insert(new.name.clone(), r);
                if let Some(granted) = roles.inherits.remove(&name) {
                    roles.inherits.insert(new.name.clone(), granted);
                }
                for granted in roles.inherits.values_mut() {
                    for role in granted {
                        swap(role, &name, &new.name);
                    }
                }
            }
            (
                RoleChange::Rename(RoleName::Database {
                    database,
                    role: new,
                }),
                Key::Database(d, r),
            ) => {
                let db_name = self.account().databases[d].name.clone();
                if database.as_ref().is_some_and(|other| other.name != db_name) {
                    return Err(SqlError::unsupported(
                        "renaming a database role into another database",
                    ));
                }
                check_length(new)?;
                if self.roles().database.contains_key(&(d, new.name.clone())) {
                    return Err(SqlError::already_exists(&display_path(&[
                        &db_name, &new.name,
                    ])));
                }
                rename_database_role(&mut self.state.account, d, &name, &new.name);
                let roles = self.roles();
                roles.database.remove(&(d, name));
                roles.database.insert((d, new.name.clone()), r);
            }
            // The grammar renames a role to a name of its own kind.
            (RoleChange::Rename(_), _) => {
                return Err(SqlError::internal(
                    "a rename across role kinds reached the executor".to_owned(),
                ));
            }
        }
        Ok(EXECUTED.to_owned())
    }

    fn drop_role(&mut self, role: &RoleName, if_exists: bool) -> Result<String, SqlError> {
        let command = match role {
            RoleName::Account(_) => "DROP ROLE",
            RoleName::Database { .. } => "DROP DATABASE ROLE",
        };
        let Some(key) = self.existing(role, if_exists, command)? else {
            return Ok(format!(
                "Drop statement executed successfully ({} already dropped).",
                display_name(&role.ident().name)
            ));
        };
        let (name, owner) = self.role_of(key);
        let (name, owner) = (name.to_owned(), owner.to_owned());
        let shown = self.shown(key);
        let system = matches!(key, Key::Account(_)) && SYSTEM_ROLES.contains(&name.as_str());
        if system || !self.may_manage(&owner) {
            return Err(self.insufficient(key));
        }
        let heir = self.role.clone();
        // The index describes the account before the drop (it is patched below); `existing`
        // built it already, this keeps that true.
        self.roles();
        match key {
            Key::Account(r) => drop_account_role(&mut self.state.account, r, &heir),
            Key::Database(d, r) => drop_database_role(&mut self.state.account, d, r),
        }
        // The roles after it moved up by one: patched in place (a rebuild per DROP would make
        // a request of many DROPs quadratic).
        let roles = self.roles();
        match key {
            Key::Account(r) => {
                roles.account.remove(&name);
                for position in roles.account.values_mut() {
                    if *position > r {
                        *position -= 1;
                    }
                }
                roles.inherits.remove(&name);
                for granted in roles.inherits.values_mut() {
                    granted.retain(|g| *g != name);
                }
            }
            Key::Database(d, r) => {
                roles.database.remove(&(d, name));
                for ((db, _), position) in &mut roles.database {
                    if *db == d && *position > r {
                        *position -= 1;
                    }
                }
            }
        }
        Ok(format!("{shown} successfully dropped."))
    }

    // ---- role grants ----

    /// Who records a grant: the owner of what is granted, else the session's role.
    fn grantor(&self, owner: &str) -> String {
        if owner.is_empty() {
            self.role.clone()
        } else {
            owner.to_owned()
        }
    }

    /// Whether account role `role` inherits account role `other` (through any roles between).
    fn inherits(&mut self, role: &str, other: &str) -> bool {
        let inherits = &self.roles().inherits;
        let mut seen: HashSet<&str> = HashSet::new();
        let mut next = vec![role];
        while let Some(current) = next.pop() {
            if !seen.insert(current) {
                continue;
            }
            for granted in inherits.get(current).into_iter().flatten() {
                if granted == other {
                    return true;
                }
                next.push(granted);
            }
        }
        false
    }

    fn grant_role(
        &mut self,
        role: &RoleName,
        to: &RoleHolder,
        revoke: bool,
    ) -> Result<String, SqlError> {
        let command = if revoke { "REVOKE" } else { "GRANT" };
        let key = self.find(role, command)?;
        let (name, owner) = self.role_of(key);
        let (name, owner) = (name.to_owned(), owner.to_owned());
        // The user a role is granted to, by position.
        let mut user_at = None;
        let grantee = match (key, to) {
            (Key::Account(_), RoleHolder::User(user)) => {
                user_at = Some(self.find_user(user)?);
                Grantee::User(user.name.clone())
            }
            (_, RoleHolder::Role(RoleName::Account(other))) => {
                self.find_role(other)?;
                Grantee::Role(other.name.clone())
            }
            (
                Key::Database(d, _),
                RoleHolder::Role(RoleName::Database {
                    database,
                    role: other,
                }),
            ) => {
                let (other_db, _) = self.find_database_role(database.as_ref(), other, command)?;
                let db_name = self.account().databases[d].name.clone();
                if other_db != d {
                    return Err(foreign_database_role(&db_name).into());
                }
                Grantee::DatabaseRole {
                    database: db_name,
                    role: other.name.clone(),
                }
            }
            // The grammar grants an account role to users and account roles only, a database
            // role to account and database roles only.
            _ => {
                return Err(SqlError::internal(
                    "a role grant the grammar refuses reached the executor".to_owned(),
                ));
            }
        };
        if !self.may_manage(&owner) {
            return Err(self.insufficient(key));
        }
        if revoke {
            return self.revoke_role(key, &name, &grantee, user_at);
        }
        // A grant that would make a role inherit itself closes a cycle.
        match (&grantee, key) {
            (Grantee::Role(other), Key::Account(_))
                if *other == name || self.inherits(&name, other) =>
            {
                return Err(SqlError::role_cycle(&role_cycle(&name, other).to_string()));
            }
            (
                Grantee::DatabaseRole {
                    database,
                    role: other,
                },
                Key::Database(d, _),
            ) if *other == name
                || database_role_inherits(&self.account().databases[d], &name, other) =>
            {
                return Err(SqlError::role_cycle(
                    &database_role_cycle(database, &name, other).to_string(),
                ));
            }
            _ => {}
        }
        // A user holds the role already through the model's shorthand.
        if let Some(u) = user_at {
            let user = &self.account().users[u];
            if user.default_role == name || user.granted_roles.contains(&name) {
                return Ok(EXECUTED.to_owned());
            }
        }
        let granted_by = self.grantor(&owner);
        let granted_to = match key {
            Key::Account(r) => &mut self.state.account.roles[r].granted_to,
            Key::Database(d, r) => &mut self.state.account.databases[d].roles[r].granted_to,
        };
        if granted_to.iter().any(|g| g.to == grantee) {
            return Ok(EXECUTED.to_owned());
        }
        granted_to.push(RoleGrant {
            to: grantee.clone(),
            granted_by,
            created_on: OffsetDateTime::now_utc(),
        });
        if let (Grantee::Role(holder), Key::Account(_)) = (&grantee, key) {
            self.roles()
                .inherits
                .entry(holder.clone())
                .or_default()
                .push(name);
        }
        Ok(EXECUTED.to_owned())
    }

    fn revoke_role(
        &mut self,
        key: Key,
        name: &str,
        grantee: &Grantee,
        user_at: Option<usize>,
    ) -> Result<String, SqlError> {
        let granted_to = match key {
            Key::Account(r) => &self.account().roles[r].granted_to,
            Key::Database(d, r) => &self.account().databases[d].roles[r].granted_to,
        };
        let found = granted_to.iter().position(|g| g.to == *grantee);
        if let Some(i) = found {
            // The SYSTEM role's grants (the system hierarchy) cannot be changed.
            if granted_to[i].granted_by.is_empty() {
                return Err(self.insufficient(key));
            }
            match key {
                Key::Account(r) => self.state.account.roles[r].granted_to.remove(i),
                Key::Database(d, r) => self.state.account.databases[d].roles[r]
                    .granted_to
                    .remove(i),
            };
        }
        if let (Grantee::Role(holder), Key::Account(_)) = (grantee, key)
            && let Some(granted) = self.roles().inherits.get_mut(holder)
            && let Some(i) = granted.iter().position(|g| g == name)
        {
            granted.swap_remove(i);
        }
        if let Some(u) = user_at {
            let user = &mut self.state.account.users[u];
            user.granted_roles.retain(|r| r != name);
            if user.default_role == name {
                user.default_role.clear();
            }
        }
        Ok(EXECUTED.to_owned())
    }

    // ---- privileges ----

    /// The target's full name, the parts left out taken from the session.
    fn full_name(&self, on: &Target, command: &str) -> Result<Vec<String>, SqlError> {
        let given: Vec<String> = on.name.iter().map(|i| i.name.clone()).collect();
        let missing = on.kind.parts().saturating_sub(given.len());
        let mut name = Vec::with_capacity(on.kind.parts());
        if missing >= 1 {
            name.push(
                self.database
                    .clone()
                    .ok_or_else(|| SqlError::no_database(command))?,
            );
        }
        if missing >= 2 {
            name.push(
                self.schema
                    .clone()
                    .ok_or_else(|| SqlError::no_schema(command))?,
            );
        }
        name.extend(given);
        Ok(name)
    }

    /// Checks the grant's object exists, is visible to the session, and takes individual
    /// grants.
    fn check_target(
        &mut self,
        grant: &Grant,
        iceberg: bool,
        command: &str,
    ) -> Result<(), SqlError> {
        let in_database = !matches!(
            grant.on,
            ObjectKind::Account | ObjectKind::Warehouse | ObjectKind::Integration
        );
        if in_database {
            let d = self.find_database(grant.name.first().map(String::as_str), command)?;
            let db = &self.account().databases[d];
            let imported = db.kind == "IMPORTED DATABASE";
            let whole =
                grant.on == ObjectKind::Database && grant.privilege == "IMPORTED PRIVILEGES";
            if imported && !whole {
                return Err(SqlError::not_grantable(
                    "Granting individual privileges on imported databases is not allowed. Use 'GRANT IMPORTED PRIVILEGES' instead.",
                ));
            }
        }
        let parts: Vec<&str> = grant.name.iter().map(String::as_str).collect();
        self.account().check_object(grant).map_err(|e| match e {
            crate::grants::ModelError::DoesNotExist {
                what: "Object",
                name,
            } => SqlError::does_not_exist(missing_kind(grant.on), &name),
            other => other.into(),
        })?;
        if iceberg {
            let is_iceberg = self
                .account()
                .databases
                .iter()
                .find(|d| d.name == parts[0])
                .and_then(|d| d.schemas.iter().find(|s| s.name == parts[1]))
                .and_then(|s| s.tables.iter().find(|t| t.name == parts[2]))
                .is_some_and(|t| t.kind == crate::model::TableKind::Iceberg);
            if !is_iceberg {
                return Err(SqlError::does_not_exist("Table", &display_path(&parts)));
            }
        }
        Ok(())
    }

    fn privileges(
        &mut self,
        privileges: &[Privilege],
        on: &Target,
        to: &RoleName,
        revoke: bool,
        grant_option: bool,
    ) -> Result<String, SqlError> {
        let command = if revoke { "REVOKE" } else { "GRANT" };
        let name = self.full_name(on, command)?;
        let holder = self.find(to, command)?;
        let kind = self.granted_kind(on.kind, &name);
        let proto = Grant {
            name,
            arguments: on.arguments.clone(),
            grant_option,
            ..Grant::new("", kind, &[])
        };
        // Each privilege checks the same object: the first stands for all.
        let first = Grant {
            privilege: privileges
                .first()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            ..proto.clone()
        };
        self.check_target(&first, on.iceberg, command)?;
        if let Key::Database(d, _) = holder {
            database_role_may_hold(&proto, &self.account().databases[d].name)?;
        }
        let owner = self
            .account()
            .owner_of(&proto)
            .unwrap_or_default()
            .to_owned();
        let allowed = self.manage_grants || {
            let held = self.held();
            (!owner.is_empty() && held.contains(&owner))
                || (!revoke
                    && privileges.iter().all(|p| {
                        let grant = Grant {
                            privilege: p.name.clone(),
                            ..proto.clone()
                        };
                        self.holds(&held, &grant, true)
                    }))
        };
        if !allowed {
            let shown = match on.kind {
                ObjectKind::Account => account_name(self.account()).to_owned(),
                _ => {
                    let parts: Vec<&str> = proto.name.iter().map(String::as_str).collect();
                    display_path(&parts)
                }
            };
            return Err(SqlError::insufficient_privileges(&format!(
                "{} '{shown}'",
                object_words(on.kind)
            )));
        }
        let granted_by = self.grantor(&owner);
        let now = OffsetDateTime::now_utc();
        let grants: Vec<Grant> = privileges
            .iter()
            .map(|p| Grant {
                privilege: p.name.clone(),
                granted_by: granted_by.clone(),
                created_on: now,
                ..proto.clone()
            })
            .collect();
        let account = &mut self.state.account;
        let held = match holder {
            Key::Account(r) => &mut account.roles[r].grants,
            Key::Database(d, r) => &mut account.databases[d].roles[r].grants,
        };
        if revoke {
            // The SYSTEM role's grants cannot be revoked; nothing is revoked then.
            if held
                .iter()
                .any(|g| g.granted_by.is_empty() && grants.iter().any(|x| same_privilege(g, x)))
            {
                return Err(self.insufficient_object(on.kind, &proto));
            }
            held.retain(|g| !grants.iter().any(|x| same_privilege(g, x)));
        } else {
            for grant in &grants {
                match held.iter_mut().find(|g| same_privilege(g, grant)) {
                    Some(existing) => existing.grant_option |= grant.grant_option,
                    None => held.push(grant.clone()),
                }
            }
        }
        if let Key::Account(r) = holder {
            let role = &mut account.roles[r];
            for grant in &grants {
                set_switches(role, grant, !revoke);
            }
            if let Some(database) = proto.name.first().filter(|_| {
                !matches!(
                    on.kind,
                    ObjectKind::Account | ObjectKind::Warehouse | ObjectKind::Integration
                )
            }) {
                let still = role.grants.iter().any(|g| {
                    g.name.first() == Some(database)
                        && !matches!(
                            g.on,
                            ObjectKind::Account | ObjectKind::Warehouse | ObjectKind::Integration
                        )
                });
                let name = role.name.clone();
                if let Some(db) = account.databases.iter_mut().find(|d| d.name == *database)
                    && let Some(visible) = &mut db.visible_to
                {
                    if still && !visible.contains(&name) {
                        visible.push(name);
                    } else if !still {
                        visible.retain(|v| *v != name);
                    }
                }
            }
        }
        Ok(EXECUTED.to_owned())
    }

    /// The kind a grant `ON <kind>` is recorded on: `ON VIEW` also takes a materialized view
    /// (Snowflake accepts it, and the Go connector grants materialized views so), which SHOW
    /// GRANTS then shows as MATERIALIZED_VIEW.
    fn granted_kind(&self, kind: ObjectKind, name: &[String]) -> ObjectKind {
        let [database, schema, relation] = name else {
            return kind;
        };
        let materialized = kind == ObjectKind::View
            && self
                .account()
                .databases
                .iter()
                .find(|d| d.name == *database)
                .and_then(|d| d.schemas.iter().find(|s| s.name == *schema))
                .and_then(|s| s.tables.iter().find(|t| t.name == *relation))
                .is_some_and(|t| t.kind == crate::model::TableKind::MaterializedView);
        if materialized {
            ObjectKind::MaterializedView
        } else {
            kind
        }
    }

    fn insufficient_object(&self, kind: ObjectKind, grant: &Grant) -> SqlError {
        let shown = match kind {
            ObjectKind::Account => account_name(self.account()).to_owned(),
            _ => {
                let parts: Vec<&str> = grant.name.iter().map(String::as_str).collect();
                display_path(&parts)
            }
        };
        SqlError::insufficient_privileges(&format!("{} '{shown}'", object_words(kind)))
    }
}

/// Renames account role `old` to `new` everywhere the model names it.
fn rename_account_role(account: &mut Account, old: &str, new: &str) {
    let rename_grants = |grants: &mut Vec<Grant>| {
        for grant in grants {
            swap(&mut grant.granted_by, old, new);
            if grant.on == ObjectKind::Role && grant.name.len() == 1 {
                swap(&mut grant.name[0], old, new);
            }
        }
    };
    let rename_memberships = |granted_to: &mut Vec<RoleGrant>| {
        for grant in granted_to {
            swap(&mut grant.granted_by, old, new);
            if let Grantee::Role(holder) = &mut grant.to {
                swap(holder, old, new);
            }
        }
    };
    for role in &mut account.roles {
        swap(&mut role.name, old, new);
        swap(&mut role.owner, old, new);
        rename_grants(&mut role.grants);
        rename_memberships(&mut role.granted_to);
    }
    for db in &mut account.databases {
        swap(&mut db.owner, old, new);
        for visible in db.visible_to.iter_mut().flatten() {
            swap(visible, old, new);
        }
        for schema in &mut db.schemas {
            swap(&mut schema.owner, old, new);
            for table in &mut schema.tables {
                swap(&mut table.owner, old, new);
            }
        }
        for role in &mut db.roles {
            swap(&mut role.owner, old, new);
            rename_grants(&mut role.grants);
            rename_memberships(&mut role.granted_to);
        }
    }
    for user in &mut account.users {
        swap(&mut user.owner, old, new);
        swap(&mut user.default_role, old, new);
        for role in &mut user.granted_roles {
            swap(role, old, new);
        }
    }
    for share in &mut account.shares {
        swap(&mut share.owner, old, new);
    }
    for tag in &mut account.tag_references {
        if tag.domain == "ROLE" {
            swap(&mut tag.object_name, old, new);
        }
    }
}

/// Renames database role `old` of database `d` to `new`, in its database's memberships and in
/// grants on it.
fn rename_database_role(account: &mut Account, d: usize, old: &str, new: &str) {
    let database = account.databases[d].name.clone();
    let rename_grants = |grants: &mut Vec<Grant>| {
        for grant in grants {
            if grant.on == ObjectKind::DatabaseRole && grant.name == [database.as_str(), old] {
                grant.name[1] = new.to_owned();
            }
        }
    };
    for role in &mut account.roles {
        rename_grants(&mut role.grants);
    }
    for role in &mut account.databases[d].roles {
        swap(&mut role.name, old, new);
        rename_grants(&mut role.grants);
        for grant in &mut role.granted_to {
            if let Grantee::DatabaseRole { database: db, role } = &mut grant.to
                && *db == database
            {
                swap(role, old, new);
            }
        }
    }
}

/// Drops account role `r`: its grants and memberships both ways, explicit grants on it; what it
/// owned, and the grants it made, pass to `heir`.
fn drop_account_role(account: &mut Account, r: usize, heir: &str) {
    let old = account.roles.remove(r).name;
    let as_grantee = Grantee::Role(old.clone());
    let heir_grants = |grants: &mut Vec<Grant>| {
        grants.retain(|g| !(g.on == ObjectKind::Role && g.name == [old.as_str()]));
        for grant in grants {
            swap(&mut grant.granted_by, &old, heir);
        }
    };
    let heir_memberships = |granted_to: &mut Vec<RoleGrant>| {
        granted_to.retain(|g| g.to != as_grantee);
        for grant in granted_to {
            swap(&mut grant.granted_by, &old, heir);
        }
    };
    for role in &mut account.roles {
        swap(&mut role.owner, &old, heir);
        heir_grants(&mut role.grants);
        heir_memberships(&mut role.granted_to);
    }
    for db in &mut account.databases {
        swap(&mut db.owner, &old, heir);
        if let Some(visible) = &mut db.visible_to {
            visible.retain(|v| *v != old);
        }
        for schema in &mut db.schemas {
            swap(&mut schema.owner, &old, heir);
            for table in &mut schema.tables {
                swap(&mut table.owner, &old, heir);
            }
        }
        for role in &mut db.roles {
            swap(&mut role.owner, &old, heir);
            heir_grants(&mut role.grants);
            heir_memberships(&mut role.granted_to);
        }
    }
    for user in &mut account.users {
        swap(&mut user.owner, &old, heir);
        user.granted_roles.retain(|g| *g != old);
    }
    for share in &mut account.shares {
        swap(&mut share.owner, &old, heir);
    }
}

/// Drops database role `r` of database `d`: its grants, its memberships both ways, explicit
/// grants on it.
fn drop_database_role(account: &mut Account, d: usize, r: usize) {
    let database = account.databases[d].name.clone();
    let old = account.databases[d].roles.remove(r).name;
    let as_grantee = Grantee::DatabaseRole {
        database: database.clone(),
        role: old.clone(),
    };
    let on_it = |g: &Grant| g.on == ObjectKind::DatabaseRole && g.name == [database.as_str(), &old];
    for role in &mut account.roles {
        role.grants.retain(|g| !on_it(g));
    }
    for role in &mut account.databases[d].roles {
        role.grants.retain(|g| !on_it(g));
        role.granted_to.retain(|g| g.to != as_grantee);
    }
}
