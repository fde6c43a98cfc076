//! Grants: `SHOW GRANTS TO|OF ROLE`, `SHOW GRANTS TO|OF DATABASE ROLE`, and the bulk reads
//! `SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES` and `GRANTS_TO_USERS`.
//!
//! SHOW GRANTS TO lists a role's direct privileges: those granted to it, `USAGE` on each role
//! and database role granted to it, and `OWNERSHIP` (with grant option, granted by the owner)
//! on what it owns. Rows come ordered by `granted_on`, then name, then privilege, so the rows
//! of one object are consecutive (Snowflake does not document its order; the Go connector
//! relies on that much). Names are printed fully qualified, each part double-quoted when it is
//! not a plain upper-case identifier, a function or procedure as `DB.SCHEMA."NAME"(TYPES)`
//! (what the Go connector's integration tests read from Snowflake in 2026; older output was
//! `DB.SCHEMA."NAME(ARG TYPE):RETURNS"`), the account as its locator. SHOW GRANTS takes
//! `LIMIT` but no `FROM` cursor, and no 10,000-row rule: a role with more grants could not be
//! read otherwise. The role must be visible to the session: its role holds MANAGE GRANTS, owns
//! it, or holds it (directly or inherited); otherwise, as for a role that does not exist,
//! `002003`.
//!
//! The ACCOUNT_USAGE views list every role's privileges (or every user's roles) once their
//! latency (`Options::grants_latency`, Snowflake's 2 h) has passed since `created_on`. The
//! model drops a revoked grant instead of keeping it with `DELETED_ON` set, so `DELETED_ON` is
//! always NULL here. Unlike SHOW, they print names as stored (`NAME` the object's own name,
//! `TABLE_CATALOG` and `TABLE_SCHEMA` its database and schema). `GRANTED_TO` is `ROLE` for an
//! account role (what queries written against real output filter on; the docs say `ACCOUNT
//! ROLE`) or `DATABASE_ROLE` (`GRANTEE_NAME` then `DB.ROLE`). Reading them takes ACCOUNT_USAGE
//! access and a warehouse, as the other ACCOUNT_USAGE views.

use std::cmp::Ordering;

use super::access::{Access, Holder, Membership, Owned, RoleRef};
use super::views::{Spec, run};
use super::{Output, Session};
use crate::error::{SqlError, display_name, display_path};
use crate::model::{Account, Grant, Grantee, ObjectKind, created};
use crate::result::{ColumnType, Kind, timestamp_nanos};
use crate::sql::{GrantedRole, Query, ShowGrants};

const GRANTS_TO: &[(&str, Kind)] = &[
    ("created_on", Kind::TimestampLtz),
    ("privilege", Kind::Text),
    ("granted_on", Kind::Text),
    ("name", Kind::Text),
    ("granted_to", Kind::Text),
    ("grantee_name", Kind::Text),
    ("grant_option", Kind::Text),
    ("granted_by", Kind::Text),
];

const GRANTS_OF: &[(&str, Kind)] = &[
    ("created_on", Kind::TimestampLtz),
    ("role", Kind::Text),
    ("granted_to", Kind::Text),
    ("grantee_name", Kind::Text),
    ("granted_by", Kind::Text),
];

pub(super) const GRANTS_TO_ROLES: Spec = &[
    ("CREATED_ON", Kind::TimestampLtz),
    ("MODIFIED_ON", Kind::TimestampLtz),
    ("PRIVILEGE", Kind::Text),
    ("GRANTED_ON", Kind::Text),
    ("NAME", Kind::Text),
    ("TABLE_CATALOG", Kind::Text),
    ("TABLE_SCHEMA", Kind::Text),
    ("GRANTED_TO", Kind::Text),
    ("GRANTEE_NAME", Kind::Text),
    ("GRANT_OPTION", Kind::Boolean),
    ("GRANTED_BY", Kind::Text),
    ("DELETED_ON", Kind::TimestampLtz),
    ("GRANTED_BY_ROLE_TYPE", Kind::Text),
    ("OBJECT_INSTANCE", Kind::Text),
];

pub(super) const GRANTS_TO_USERS: Spec = &[
    ("CREATED_ON", Kind::TimestampLtz),
    ("DELETED_ON", Kind::TimestampLtz),
    ("ROLE", Kind::Text),
    ("GRANTED_TO", Kind::Text),
    ("GRANTEE_NAME", Kind::Text),
    ("GRANTED_BY", Kind::Text),
];

type Row = Vec<Option<String>>;

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn nanos(at: time::OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

/// One privilege a role holds.
#[derive(Clone, Debug)]
pub(super) struct Privilege<'a> {
    created_on: i128,
    privilege: &'a str,
    on: ObjectKind,
    /// The object's name as stored, one part per level; empty for the account.
    name: Vec<&'a str>,
    /// A function's or procedure's argument types.
    arguments: &'a str,
    /// The role holding it, by dense id.
    grantee: usize,
    grant_option: bool,
    granted_by: &'a str,
}

/// A role's name parts: `[name]`, or `[database, name]` for a database role.
fn role_parts<'a>(account: &'a Account, access: &Access, id: usize) -> Vec<&'a str> {
    match access.roles[id] {
        RoleRef::Account(i) => vec![account.roles[i].name.as_str()],
        RoleRef::Database { database, role } => {
            let db = &account.databases[database];
            vec![db.name.as_str(), db.roles[role].name.as_str()]
        }
    }
}

fn role_owner<'a>(account: &'a Account, access: &Access, id: usize) -> &'a str {
    match access.roles[id] {
        RoleRef::Account(i) => &account.roles[i].owner,
        RoleRef::Database { database, role } => &account.databases[database].roles[role].owner,
    }
}

fn role_created(account: &Account, access: &Access, id: usize) -> Option<time::OffsetDateTime> {
    match access.roles[id] {
        RoleRef::Account(i) => account.roles[i].created_on,
        RoleRef::Database { database, role } => account.databases[database].roles[role].created_on,
    }
}

fn role_grants<'a>(account: &'a Account, access: &Access, id: usize) -> &'a [Grant] {
    match access.roles[id] {
        RoleRef::Account(i) => &account.roles[i].grants,
        RoleRef::Database { database, role } => &account.databases[database].roles[role].grants,
    }
}

/// The role as SHOW prints it: `NAME`, or `DB.NAME` for a database role.
fn role_shown(account: &Account, access: &Access, id: usize) -> String {
    display_path(&role_parts(account, access, id))
}

/// When a membership was granted, and by whom (a user's shorthand: on 2024-01-01, by the
/// role's owner, SECURITYADMIN for a role without one).
fn membership_grant<'a>(account: &'a Account, access: &Access, m: &Membership) -> (i128, &'a str) {
    match m.grant {
        Some(g) => {
            let grant = &access.granted_to(account, m.role)[g];
            (nanos(grant.created_on), grant.granted_by.as_str())
        }
        None => {
            let owner = role_owner(account, access, m.role);
            let by = if owner.is_empty() {
                "SECURITYADMIN"
            } else {
                owner
            };
            (nanos(created()), by)
        }
    }
}

/// Everything role `id` holds directly: its grants, USAGE on the roles granted to it,
/// OWNERSHIP of what it owns.
pub(super) fn privileges<'a>(
    account: &'a Account,
    access: &'a Access,
    id: usize,
) -> impl Iterator<Item = Privilege<'a>> + 'a {
    let explicit = role_grants(account, access, id)
        .iter()
        .map(move |g| Privilege {
            created_on: nanos(g.created_on),
            privilege: &g.privilege,
            on: g.on,
            name: g.name.iter().map(String::as_str).collect(),
            arguments: &g.arguments,
            grantee: id,
            grant_option: g.grant_option,
            granted_by: &g.granted_by,
        });
    let roles = access.holds[id].iter().map(move |m| {
        let (created_on, granted_by) = membership_grant(account, access, m);
        let on = match access.roles[m.role] {
            RoleRef::Account(_) => ObjectKind::Role,
            RoleRef::Database { .. } => ObjectKind::DatabaseRole,
        };
        Privilege {
            created_on,
            privilege: "USAGE",
            on,
            name: role_parts(account, access, m.role),
            arguments: "",
            grantee: id,
            grant_option: false,
            granted_by,
        }
    });
    let owner = role_parts(account, access, id)
        .last()
        .copied()
        .unwrap_or("");
    let owned = access.owns[id].iter().map(move |&owned| {
        let (on, name) = owned_object(account, access, owned);
        // A role owned since a CREATE ROLE run against the stand-in: owned since then.
        let since = match owned {
            Owned::Role(r) => role_created(account, access, r),
            _ => None,
        };
        Privilege {
            created_on: nanos(since.unwrap_or_else(created)),
            privilege: "OWNERSHIP",
            on,
            name,
            arguments: "",
            grantee: id,
            grant_option: true,
            granted_by: owner,
        }
    });
    explicit.chain(roles).chain(owned)
}

fn owned_object<'a>(
    account: &'a Account,
    access: &Access,
    owned: Owned,
) -> (ObjectKind, Vec<&'a str>) {
    let dbs = &account.databases;
    match owned {
        Owned::Database(d) => (ObjectKind::Database, vec![dbs[d].name.as_str()]),
        Owned::Schema(d, s) => (
            ObjectKind::Schema,
            vec![dbs[d].name.as_str(), dbs[d].schemas[s].name.as_str()],
        ),
        Owned::Table(d, s, t) => {
            let table = &dbs[d].schemas[s].tables[t];
            (
                ObjectKind::of_table(table.kind),
                vec![
                    dbs[d].name.as_str(),
                    dbs[d].schemas[s].name.as_str(),
                    table.name.as_str(),
                ],
            )
        }
        Owned::Role(r) => {
            let on = match access.roles[r] {
                RoleRef::Account(_) => ObjectKind::Role,
                RoleRef::Database { .. } => ObjectKind::DatabaseRole,
            };
            (on, role_parts(account, access, r))
        }
        Owned::User(u) => (ObjectKind::User, vec![account.users[u].name.as_str()]),
    }
}

/// The account's name in grants on it: its locator, else its name.
fn account_name(account: &Account) -> &str {
    if account.locator.is_empty() {
        &account.name
    } else {
        &account.locator
    }
}

impl Privilege<'_> {
    /// `name` as SHOW GRANTS prints it.
    fn shown(&self, account: &Account) -> String {
        match (self.on, self.name.as_slice()) {
            (ObjectKind::Account, _) => account_name(account).to_owned(),
            (ObjectKind::Function | ObjectKind::Procedure, [db, schema, name]) => format!(
                "{}.\"{}\"({})",
                display_path(&[db, schema]),
                name.replace('"', "\"\""),
                self.arguments
            ),
            (_, parts) => display_path(parts),
        }
    }

    /// `NAME` as GRANTS_TO_ROLES prints it: the object's own name (a routine's with its
    /// argument types).
    fn stored(&self, account: &Account) -> String {
        match (self.on, self.name.last()) {
            (ObjectKind::Account, _) | (_, None) => account_name(account).to_owned(),
            (ObjectKind::Function | ObjectKind::Procedure, Some(name)) => {
                format!("{name}({})", self.arguments)
            }
            (_, Some(name)) => (*name).to_owned(),
        }
    }
}

/// Who may see the grants of and to role `id`: MANAGE GRANTS, its owner (inherited
/// ownership counts), or a holder of it.
fn visible(session: &Session<'_>, held: &[bool], id: usize) -> bool {
    let access = session.access;
    session.role.manage_grants
        || held[id]
        || access
            .account_role(role_owner(session.account, access, id))
            .is_some_and(|owner| held[owner])
}

/// The role a SHOW GRANTS names, checked for visibility.
fn resolve(session: &Session<'_>, role: &GrantedRole) -> Result<usize, SqlError> {
    let access = session.access;
    let held = access.hierarchy(&session.role.name);
    match role {
        GrantedRole::Account(name) => access
            .account_role(&name.name)
            .filter(|&id| visible(session, &held, id))
            .ok_or_else(|| SqlError::does_not_exist("Role", &display_name(&name.name))),
        GrantedRole::Database { database, role } => {
            let database = match database {
                Some(db) => db.name.clone(),
                None => session
                    .database
                    .ok_or_else(|| SqlError::no_database("SHOW GRANTS"))?
                    .to_owned(),
            };
            let db = session
                .account
                .databases
                .iter()
                .find(|d| d.name == database && session.sees_in_show(d))
                .ok_or_else(|| SqlError::does_not_exist("Database", &display_name(&database)))?;
            access
                .database_role(&db.name, &role.name)
                .filter(|&id| visible(session, &held, id))
                .ok_or_else(|| {
                    SqlError::does_not_exist(
                        "Database role",
                        &display_path(&[&db.name, &role.name]),
                    )
                })
        }
    }
}

fn columns(spec: &[(&str, Kind)]) -> Vec<ColumnType> {
    spec.iter()
        .map(|(name, kind)| ColumnType::new(*name, *kind))
        .collect()
}

fn granted_to(access: &Access, id: usize) -> &'static str {
    match access.roles[id] {
        RoleRef::Account(_) => "ROLE",
        RoleRef::Database { .. } => "DATABASE_ROLE",
    }
}

pub(super) fn show_grants<'a>(
    session: &Session<'a>,
    show: &ShowGrants,
) -> Result<Output<'a>, SqlError> {
    let id = resolve(session, &show.role)?;
    let (account, access) = (session.account, session.access);
    let mut rows: Vec<Row> = if show.of {
        access.held_by[id]
            .iter()
            .map(|m| {
                let (created_on, granted_by) = membership_grant(account, access, m);
                let (kind, grantee) = match m.holder {
                    Holder::User(u) => ("USER", display_name(&account.users[u].name)),
                    Holder::Role(r) => (granted_to(access, r), role_shown(account, access, r)),
                    Holder::Other => match m.grant.map(|g| &access.granted_to(account, id)[g].to) {
                        Some(Grantee::Share(name)) => ("SHARE", display_name(name)),
                        Some(Grantee::User(name)) => ("USER", display_name(name)),
                        Some(Grantee::Role(name)) => ("ROLE", display_name(name)),
                        Some(Grantee::DatabaseRole { database, role }) => {
                            ("DATABASE_ROLE", display_path(&[database, role]))
                        }
                        None => ("USER", String::new()),
                    },
                };
                vec![
                    timestamp_nanos(created_on),
                    Some(role_shown(account, access, id)),
                    text(kind),
                    Some(grantee),
                    text(granted_by),
                ]
            })
            .collect()
    } else {
        let grantee = role_shown(account, access, id);
        privileges(account, access, id)
            .map(|p| {
                vec![
                    timestamp_nanos(p.created_on),
                    text(p.privilege),
                    text(p.on.as_str()),
                    Some(p.shown(account)),
                    text(granted_to(access, id)),
                    Some(grantee.clone()),
                    text(if p.grant_option { "true" } else { "false" }),
                    text(p.granted_by),
                ]
            })
            .collect()
    };
    // SHOW GRANTS TO: by granted_on, name, privilege; OF: by granted_to, grantee_name.
    let keys: &[usize] = if show.of { &[2, 3] } else { &[2, 3, 1] };
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|&k| a[k].cmp(&b[k]))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    if let Some(limit) = show.limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let spec = if show.of { GRANTS_OF } else { GRANTS_TO };
    Ok(Output {
        columns: columns(spec),
        rows: Box::new(rows.into_iter()),
    })
}

/// A row of GRANTS_TO_ROLES, or of GRANTS_TO_USERS (a role granted to a user).
#[derive(Clone)]
pub(super) enum UsageRow<'a> {
    Privilege(Privilege<'a>),
    Membership(Membership),
}

/// SELECT from ACCOUNT_USAGE.GRANTS_TO_ROLES or GRANTS_TO_USERS (`view`), the reader's access
/// to ACCOUNT_USAGE already checked.
pub(super) fn account_usage<'a>(
    session: &Session<'a>,
    view: &str,
    query: &Query,
) -> Result<Output<'a>, SqlError> {
    let s = *session;
    let (account, access) = (s.account, s.access);
    let latency = i128::try_from(s.usage.grants_latency.as_nanos()).unwrap_or(i128::MAX / 2);
    let now = s.usage.now;
    let arrived = move |created_on: i128| created_on.saturating_add(latency) <= now;
    let source = ["SNOWFLAKE", "ACCOUNT_USAGE", view];
    if view == "GRANTS_TO_USERS" {
        let rows = access
            .of_user
            .iter()
            .flatten()
            .copied()
            .filter(move |m| arrived(membership_grant(account, access, m).0))
            .map(UsageRow::Membership);
        let cell = move |row: &UsageRow<'a>, column: usize| user_cell(account, access, row, column);
        return run(s, GRANTS_TO_USERS, source, rows, cell, query);
    }
    let rows = (0..access.roles.len())
        .flat_map(move |id| privileges(account, access, id))
        .filter(move |p| arrived(p.created_on))
        .map(UsageRow::Privilege);
    let cell = move |row: &UsageRow<'a>, column: usize| role_cell(account, access, row, column);
    run(s, GRANTS_TO_ROLES, source, rows, cell, query)
}

fn role_cell(
    account: &Account,
    access: &Access,
    row: &UsageRow<'_>,
    column: usize,
) -> Option<String> {
    let UsageRow::Privilege(p) = row else {
        return None;
    };
    let in_database = p.on != ObjectKind::Database && p.name.len() >= 2;
    match column {
        0 | 1 => timestamp_nanos(p.created_on),
        2 => text(p.privilege),
        3 => text(p.on.as_str()),
        4 => Some(p.stored(account)),
        5 if in_database => text(p.name[0]),
        6 if p.name.len() == 3 => text(p.name[1]),
        7 => text(granted_to(access, p.grantee)),
        8 => Some(role_parts(account, access, p.grantee).join(".")),
        9 => text(if p.grant_option { "true" } else { "false" }),
        10 => text(p.granted_by),
        12 if !p.granted_by.is_empty() => text("ROLE"),
        _ => None,
    }
}

fn user_cell(
    account: &Account,
    access: &Access,
    row: &UsageRow<'_>,
    column: usize,
) -> Option<String> {
    let UsageRow::Membership(m) = row else {
        return None;
    };
    let (created_on, granted_by) = membership_grant(account, access, m);
    match (column, m.holder) {
        (0, _) => timestamp_nanos(created_on),
        (2, _) => Some(role_parts(account, access, m.role).join(".")),
        (3, _) => text("USER"),
        (4, Holder::User(u)) => text(&account.users[u].name),
        (5, _) => text(granted_by),
        _ => None,
    }
}
