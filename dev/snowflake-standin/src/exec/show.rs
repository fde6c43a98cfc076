//! SHOW commands. Rows come in Snowflake's order (by name; objects inside a database by
//! schema, then name), filtered by LIKE (case-insensitive), STARTS WITH and the `FROM 'name'`
//! cursor (case-sensitive: names after it), then cut by LIMIT. A LIMIT above 10,000, or more
//! than 10,000 rows without LIMIT, is an error, as in Snowflake. No warehouse is needed. Names
//! are filtered before rows are rendered, so paging through 100,000 users stays cheap.

use super::access::{Holder, RoleRef};
use super::{Output, Session, like};
use crate::error::{SqlError, display_name};
use crate::model::{Database, DatabaseRole, PolicyKind, Routine, User};
use crate::result::{ColumnType, Kind, boolean, fixed, text_or_null, timestamp, timestamp_nanos};
use crate::sql::{Scope, Show, ShowKind};

/// The most rows a SHOW returns.
const SHOW_MAX_ROWS: u64 = 10_000;

/// `created_on` of every object (the model has no history): 2024-01-01 00:00:00 UTC.
const CREATED: i64 = crate::model::CREATED_SECONDS;

pub(super) type Row = Vec<Option<String>>;

fn columns(spec: &[(&str, Kind)]) -> Vec<ColumnType> {
    spec.iter()
        .map(|(name, kind)| ColumnType::new(*name, *kind))
        .collect()
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn yes_no(b: bool) -> Option<String> {
    text(if b { "Y" } else { "N" })
}

fn created() -> Option<String> {
    timestamp(CREATED, 0)
}

/// `created_on` of a role: when a CREATE ROLE made it, else the model's date.
fn role_created(at: Option<time::OffsetDateTime>) -> Option<String> {
    at.map_or_else(created, |t| timestamp_nanos(t.unix_timestamp_nanos()))
}

pub(super) fn show<'a>(session: &Session<'a>, show: &Show) -> Result<Output<'a>, SqlError> {
    if let Some(limit) = show.limit.filter(|&l| l > SHOW_MAX_ROWS) {
        return Err(SqlError::show_limit_too_large(limit));
    }
    let s = *session;
    let (columns, rows) = match show.kind {
        ShowKind::Databases => databases(s, show)?,
        ShowKind::Schemas => schemas(s, show)?,
        ShowKind::Warehouses => warehouses(s, show)?,
        ShowKind::Shares => shares(s, show)?,
        ShowKind::Integrations => integrations(s, show)?,
        ShowKind::Users => users(s, show)?,
        ShowKind::Roles => roles(s, show)?,
        ShowKind::DatabaseRoles => database_roles(s, show)?,
        ShowKind::Functions | ShowKind::Procedures => routines(s, show)?,
        ShowKind::MaskingPolicies => super::policies::show(s, show, PolicyKind::Masking)?,
        ShowKind::RowAccessPolicies => super::policies::show(s, show, PolicyKind::RowAccess)?,
    };
    Ok(Output { columns, rows })
}

pub(super) type Rows<'a> = Box<dyn Iterator<Item = Row> + 'a>;

/// Applies LIKE, STARTS WITH, FROM and LIMIT to `items` (already in output order, each with
/// the name the clauses look at), then renders what is left.
pub(super) fn page<'a, T: 'a>(
    show: &Show,
    mut items: Vec<(&'a str, T)>,
    render: impl FnMut(T) -> Row + 'a,
) -> Result<Rows<'a>, SqlError> {
    if let Some(pattern) = &show.like {
        items.retain(|(name, _)| like(pattern, name));
    }
    if let Some(prefix) = &show.starts_with {
        items.retain(|(name, _)| name.starts_with(prefix.as_str()));
    }
    if let Some(cursor) = &show.from {
        items.retain(|(name, _)| *name > cursor.as_str());
    }
    match show.limit {
        Some(limit) => items.truncate(usize::try_from(limit).unwrap_or(usize::MAX)),
        None if items.len() as u64 > SHOW_MAX_ROWS => return Err(SqlError::show_too_large()),
        None => {}
    }
    Ok(Box::new(
        items.into_iter().map(|(_, item)| item).map(render),
    ))
}

fn by_name<T>(items: &mut [(&str, T)]) {
    items.sort_by(|a, b| a.0.cmp(b.0));
}

/// The database a SHOW … IN DATABASE names, or the session's; `Ok(None)`: the account.
pub(super) fn scope_database<'a>(
    session: Session<'a>,
    show: &Show,
) -> Result<Option<&'a Database>, SqlError> {
    let name = match &show.scope {
        Some(Scope::Account) => return Ok(None),
        Some(Scope::Database(Some(ident))) => ident.name.clone(),
        Some(Scope::Database(None)) => match session.database {
            Some(db) => db.to_owned(),
            None => {
                return Err(SqlError::no_database(&format!(
                    "SHOW {}",
                    show.kind.keyword()
                )));
            }
        },
        None => match session.database {
            Some(db) => db.to_owned(),
            None => return Ok(None),
        },
    };
    session
        .account
        .databases
        .iter()
        .find(|d| d.name == name && session.sees_in_show(d))
        .map(Some)
        .ok_or_else(|| SqlError::does_not_exist("Database", &display_name(&name)))
}

fn databases<'a>(
    session: Session<'a>,
    show: &Show,
) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("created_on", Kind::TimestampLtz),
        ("name", Kind::Text),
        ("is_default", Kind::Text),
        ("is_current", Kind::Text),
        ("origin", Kind::Text),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("options", Kind::Text),
        ("retention_time", Kind::Text),
        ("kind", Kind::Text),
        ("budget", Kind::Text),
        ("owner_role_type", Kind::Text),
        ("object_visibility", Kind::Text),
    ]);
    let mut items: Vec<(&str, &Database)> = session
        .account
        .databases
        .iter()
        .filter(|d| session.sees_in_show(d))
        .map(|d| (d.name.as_str(), d))
        .collect();
    by_name(&mut items);
    let current = session.database;
    let rows = page(show, items, move |d| {
        let kind = if d.kind.is_empty() {
            "STANDARD"
        } else {
            &d.kind
        };
        vec![
            created(),
            text(&d.name),
            yes_no(false),
            yes_no(current == Some(d.name.as_str())),
            text(&d.origin),
            text(&d.owner),
            text(&d.comment),
            text(""),
            text(if kind == "STANDARD" { "1" } else { "" }),
            text(kind),
            None,
            text(if d.owner.is_empty() { "" } else { "ROLE" }),
            None,
        ]
    })?;
    Ok((cols, rows))
}

fn schemas<'a>(session: Session<'a>, show: &Show) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("created_on", Kind::TimestampLtz),
        ("name", Kind::Text),
        ("is_default", Kind::Text),
        ("is_current", Kind::Text),
        ("database_name", Kind::Text),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("options", Kind::Text),
        ("retention_time", Kind::Text),
        ("owner_role_type", Kind::Text),
        ("object_visibility", Kind::Text),
    ]);
    let databases: Vec<&Database> = match scope_database(session, show)? {
        Some(db) => vec![db],
        None => {
            let mut all: Vec<&Database> = session
                .account
                .databases
                .iter()
                .filter(|d| session.sees_in_show(d))
                .collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            all
        }
    };
    // (database, name, owner, comment) of every schema, INFORMATION_SCHEMA included.
    type SchemaRow<'a> = (&'a str, &'a str, &'a str, &'a str);
    let mut items: Vec<(&str, SchemaRow<'_>)> = Vec::new();
    for db in databases {
        let mut in_db: Vec<(&str, SchemaRow<'_>)> = db
            .schemas
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    (
                        db.name.as_str(),
                        s.name.as_str(),
                        s.owner.as_str(),
                        s.comment.as_str(),
                    ),
                )
            })
            .chain(std::iter::once((
                "INFORMATION_SCHEMA",
                (
                    db.name.as_str(),
                    "INFORMATION_SCHEMA",
                    "",
                    super::views::INFORMATION_SCHEMA_COMMENT,
                ),
            )))
            .collect();
        by_name(&mut in_db);
        items.extend(in_db);
    }
    let (current_db, current_schema) = (session.database, session.schema);
    let rows = page(show, items, move |(db, name, owner, comment)| {
        vec![
            created(),
            text(name),
            yes_no(false),
            yes_no(current_db == Some(db) && current_schema == Some(name)),
            text(db),
            text(owner),
            text(comment),
            text(""),
            text("1"),
            text(if owner.is_empty() { "" } else { "ROLE" }),
            None,
        ]
    })?;
    Ok((cols, rows))
}

fn warehouses<'a>(
    session: Session<'a>,
    show: &Show,
) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("name", Kind::Text),
        ("state", Kind::Text),
        ("type", Kind::Text),
        ("size", Kind::Text),
        ("min_cluster_count", Kind::Fixed),
        ("max_cluster_count", Kind::Fixed),
        ("started_clusters", Kind::Fixed),
        ("running", Kind::Fixed),
        ("queued", Kind::Fixed),
        ("is_default", Kind::Text),
        ("is_current", Kind::Text),
        ("auto_suspend", Kind::Fixed),
        ("auto_resume", Kind::Text),
        ("available", Kind::Text),
        ("provisioning", Kind::Text),
        ("quiescing", Kind::Text),
        ("other", Kind::Text),
        ("created_on", Kind::TimestampLtz),
        ("resumed_on", Kind::TimestampLtz),
        ("updated_on", Kind::TimestampLtz),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("enable_query_acceleration", Kind::Text),
        ("query_acceleration_max_scale_factor", Kind::Fixed),
        ("resource_monitor", Kind::Text),
        ("scaling_policy", Kind::Text),
        ("owner_role_type", Kind::Text),
    ]);
    let mut items: Vec<_> = session
        .account
        .warehouses
        .iter()
        .map(|w| (w.name.as_str(), w))
        .collect();
    by_name(&mut items);
    let current = session.warehouse;
    let rows = page(show, items, move |w| {
        let started = w.state == "STARTED";
        vec![
            text(&w.name),
            text(&w.state),
            text("STANDARD"),
            text(&w.size),
            fixed(1),
            fixed(1),
            fixed(i64::from(started)),
            fixed(0),
            fixed(0),
            yes_no(false),
            yes_no(current == Some(w.name.as_str())),
            fixed(600),
            text("true"),
            text(if started { "100" } else { "" }),
            text(""),
            text(""),
            text(""),
            created(),
            created(),
            created(),
            text("SYSADMIN"),
            text(&w.comment),
            text("false"),
            fixed(8),
            text("null"),
            text("STANDARD"),
            text("ROLE"),
        ]
    })?;
    Ok((cols, rows))
}

fn shares<'a>(session: Session<'a>, show: &Show) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("created_on", Kind::TimestampLtz),
        ("kind", Kind::Text),
        ("owner_account", Kind::Text),
        ("name", Kind::Text),
        ("database_name", Kind::Text),
        ("to", Kind::Text),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("listing_global_name", Kind::Text),
    ]);
    let mut items: Vec<_> = session
        .account
        .shares
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    by_name(&mut items);
    let own = format!("{}.{}", session.account.organization, session.account.name);
    let rows = page(show, items, move |s| {
        vec![
            created(),
            text(&s.kind),
            text(if s.owner_account.is_empty() {
                &own
            } else {
                &s.owner_account
            }),
            text(&s.name),
            text(&s.database_name),
            text(&s.to),
            text(&s.owner),
            text(&s.comment),
            text(""),
        ]
    })?;
    Ok((cols, rows))
}

fn integrations<'a>(
    session: Session<'a>,
    show: &Show,
) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("name", Kind::Text),
        ("type", Kind::Text),
        ("category", Kind::Text),
        ("enabled", Kind::Text),
        ("comment", Kind::Text),
        ("created_on", Kind::TimestampLtz),
    ]);
    let mut items: Vec<_> = session
        .account
        .integrations
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    by_name(&mut items);
    let rows = page(show, items, |i| {
        vec![
            text(&i.name),
            text(&i.r#type),
            text(&i.category),
            text(if i.enabled { "true" } else { "false" }),
            text_or_null(&i.comment),
            created(),
        ]
    })?;
    Ok((cols, rows))
}

const USER_COLUMNS: &[(&str, Kind)] = &[
    ("name", Kind::Text),
    ("created_on", Kind::TimestampLtz),
    ("login_name", Kind::Text),
    ("display_name", Kind::Text),
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("email", Kind::Text),
    ("mins_to_unlock", Kind::Text),
    ("days_to_expiry", Kind::Text),
    ("comment", Kind::Text),
    ("disabled", Kind::Text),
    ("must_change_password", Kind::Text),
    ("snowflake_lock", Kind::Text),
    ("default_warehouse", Kind::Text),
    ("default_namespace", Kind::Text),
    ("default_role", Kind::Text),
    ("default_secondary_roles", Kind::Text),
    ("ext_authn_duo", Kind::Text),
    ("ext_authn_uid", Kind::Text),
    ("mins_to_bypass_mfa", Kind::Text),
    ("owner", Kind::Text),
    ("last_success_login", Kind::TimestampLtz),
    ("expires_at_time", Kind::TimestampLtz),
    ("locked_until_time", Kind::TimestampLtz),
    ("has_password", Kind::Text),
    ("has_rsa_public_key", Kind::Text),
    ("type", Kind::Text),
    ("has_mfa", Kind::Text),
];

fn users<'a>(session: Session<'a>, show: &Show) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let mut items: Vec<_> = session
        .account
        .users
        .iter()
        .map(|u| (u.name.as_str(), u))
        .collect();
    by_name(&mut items);
    let rows = page(show, items, move |u: &User| {
        if !session.sees_user_details(u) {
            // Without OWNERSHIP on the user or MANAGE GRANTS only the name is shown.
            let mut row = vec![None; USER_COLUMNS.len()];
            row[0] = text(&u.name);
            return row;
        }
        let flag = |b: bool| text(if b { "true" } else { "false" });
        vec![
            text(&u.name),
            created(),
            text_or_null(&u.login_name),
            text_or_null(&u.display_name),
            text_or_null(&u.first_name),
            text_or_null(&u.last_name),
            text_or_null(&u.email),
            None,
            None,
            None,
            flag(u.disabled),
            flag(false),
            flag(false),
            text_or_null(&u.default_warehouse),
            None,
            text_or_null(&u.default_role),
            text("[\"ALL\"]"),
            flag(false),
            None,
            None,
            text_or_null(&u.owner),
            None,
            None,
            None,
            flag(false),
            flag(u.rsa_public_key.is_some() || u.rsa_public_key_2.is_some()),
            // An untyped user shows an empty type here (and NULL in DESCRIBE USER).
            text(u.r#type.as_deref().unwrap_or("")),
            flag(false),
        ]
    })?;
    Ok((columns(USER_COLUMNS), rows))
}

/// SHOW ROLES lists every account role to every role: Snowflake documents it as listing the
/// roles across the account, since knowing a role's name grants nothing. The counts are of direct
/// grants: `assigned_to_users` the users holding the role, `granted_to_roles` the roles it is
/// granted to, `granted_roles` the account roles granted to it; `is_inherited` says whether
/// the session's role inherits it (PUBLIC always, unless it is the session's role).
fn roles<'a>(session: Session<'a>, show: &Show) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("created_on", Kind::TimestampLtz),
        ("name", Kind::Text),
        ("is_default", Kind::Text),
        ("is_current", Kind::Text),
        ("is_inherited", Kind::Text),
        ("assigned_to_users", Kind::Fixed),
        ("granted_to_roles", Kind::Fixed),
        ("granted_roles", Kind::Fixed),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("owner_role_type", Kind::Text),
        ("is_from_organization_user_group", Kind::Boolean),
    ]);
    let access = session.access;
    let held = access.hierarchy(&session.role.name);
    let mut items: Vec<_> = session
        .account
        .roles
        .iter()
        .filter_map(|r| Some((r.name.as_str(), (access.account_role(&r.name)?, r))))
        .collect();
    by_name(&mut items);
    let rows = page(show, items, move |(id, r)| {
        let count = |n: usize| fixed(i64::try_from(n).unwrap_or(i64::MAX));
        let users = access.held_by[id]
            .iter()
            .filter(|m| matches!(m.holder, Holder::User(_)))
            .count();
        let roles = access.held_by[id]
            .iter()
            .filter(|m| matches!(m.holder, Holder::Role(h) if matches!(access.roles[h], RoleRef::Account(_))))
            .count();
        let granted = access.holds[id]
            .iter()
            .filter(|m| matches!(access.roles[m.role], RoleRef::Account(_)))
            .count();
        let current = session.role.name == r.name;
        vec![
            role_created(r.created_on),
            text(&r.name),
            yes_no(session.user.default_role == r.name),
            yes_no(current),
            yes_no(held[id] && !current),
            count(users),
            count(roles),
            count(granted),
            text(&r.owner),
            text(&r.comment),
            text(if r.owner.is_empty() { "" } else { "ROLE" }),
            boolean(false),
        ]
    })?;
    Ok((cols, rows))
}

/// SHOW DATABASE ROLES IN DATABASE d: the database's roles, for a role that holds a privilege
/// on the database or MANAGE GRANTS (the roles are not filtered further). Counts as in SHOW
/// ROLES: account roles and database roles it is granted to, database roles granted to it.
fn database_roles<'a>(
    session: Session<'a>,
    show: &Show,
) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let cols = columns(&[
        ("created_on", Kind::TimestampLtz),
        ("name", Kind::Text),
        ("is_default", Kind::Text),
        ("is_current", Kind::Text),
        ("is_inherited", Kind::Text),
        ("granted_to_roles", Kind::Fixed),
        ("granted_to_database_roles", Kind::Fixed),
        ("granted_database_roles", Kind::Fixed),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("owner_role_type", Kind::Text),
    ]);
    let Some(db) = scope_database(session, show)? else {
        // The grammar requires IN DATABASE <name>.
        return Err(SqlError::no_database("SHOW DATABASE ROLES"));
    };
    let access = session.access;
    let held = access.hierarchy(&session.role.name);
    let mut items: Vec<(&str, (usize, &DatabaseRole))> = db
        .roles
        .iter()
        .filter_map(|r| {
            Some((
                r.name.as_str(),
                (access.database_role(&db.name, &r.name)?, r),
            ))
        })
        .collect();
    by_name(&mut items);
    let rows = page(show, items, move |(id, r)| {
        let count = |n: usize| fixed(i64::try_from(n).unwrap_or(i64::MAX));
        let to_kind = |database: bool| {
            access.held_by[id]
                .iter()
                .filter(|m| {
                    matches!(m.holder, Holder::Role(h)
                        if matches!(access.roles[h], RoleRef::Database { .. }) == database)
                })
                .count()
        };
        let granted = access.holds[id].len();
        vec![
            role_created(r.created_on),
            text(&r.name),
            yes_no(false),
            yes_no(false),
            yes_no(held[id]),
            count(to_kind(false)),
            count(to_kind(true)),
            count(granted),
            text(&r.owner),
            text(&r.comment),
            text(if r.owner.is_empty() { "" } else { "ROLE" }),
        ]
    })?;
    Ok((cols, rows))
}

/// `(min, max)` arguments of a signature such as `MYFN(NUMBER, VARCHAR) RETURN NUMBER`.
fn argument_count(arguments: &str) -> i64 {
    let Some(open) = arguments.find('(') else {
        return 0;
    };
    let mut depth = 0;
    let mut count = 0;
    let mut any = false;
    for c in arguments[open + 1..].chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => count += 1,
            c if !c.is_whitespace() => any = true,
            _ => {}
        }
    }
    if any { count + 1 } else { 0 }
}

fn routines<'a>(
    session: Session<'a>,
    show: &Show,
) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    let functions = show.kind == ShowKind::Functions;
    let mut spec = vec![
        ("created_on", Kind::TimestampLtz),
        ("name", Kind::Text),
        ("schema_name", Kind::Text),
        ("is_builtin", Kind::Text),
        ("is_aggregate", Kind::Text),
        ("is_ansi", Kind::Text),
        ("min_num_arguments", Kind::Fixed),
        ("max_num_arguments", Kind::Fixed),
        ("arguments", Kind::Text),
        ("description", Kind::Text),
        ("catalog_name", Kind::Text),
        ("is_table_function", Kind::Text),
        ("valid_for_clustering", Kind::Text),
        ("is_secure", Kind::Text),
        ("secrets", Kind::Text),
        ("external_access_integrations", Kind::Text),
    ];
    if functions {
        spec.extend([
            ("is_external_function", Kind::Text),
            ("language", Kind::Text),
            ("is_memoizable", Kind::Text),
            ("is_data_metric", Kind::Text),
        ]);
    }
    let databases: Vec<&Database> = match scope_database(session, show)? {
        Some(db) => vec![db],
        None => {
            let mut all: Vec<&Database> = session
                .account
                .databases
                .iter()
                .filter(|d| session.sees_in_show(d))
                .collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            all
        }
    };
    // Inside a database Snowflake orders by schema, then name; FROM still compares the name
    // alone (so paging through a database-wide SHOW can skip objects, as it does there).
    let mut items: Vec<(&str, (&str, &Routine))> = Vec::new();
    for db in databases {
        let list = if functions {
            &db.functions
        } else {
            &db.procedures
        };
        let mut in_db: Vec<(&str, (&str, &Routine))> = list
            .iter()
            .map(|r| (r.name.as_str(), (db.name.as_str(), r)))
            .collect();
        in_db.sort_by(|a, b| {
            (&a.1.1.schema_name, a.0, &a.1.1.arguments).cmp(&(
                &b.1.1.schema_name,
                b.0,
                &b.1.1.arguments,
            ))
        });
        items.extend(in_db);
    }
    let rows = page(show, items, move |(db, r)| {
        let n = argument_count(&r.arguments);
        let mut row = vec![
            created(),
            text(&r.name),
            text(if r.is_builtin { "" } else { &r.schema_name }),
            yes_no(r.is_builtin),
            yes_no(false),
            yes_no(false),
            fixed(n),
            fixed(n),
            text(&r.arguments),
            text(&r.description),
            text(if r.is_builtin { "" } else { db }),
            yes_no(false),
            yes_no(false),
            yes_no(false),
            None,
            None,
        ];
        if functions {
            row.extend([yes_no(false), text("SQL"), yes_no(false), yes_no(false)]);
        }
        row
    })?;
    Ok((columns(&spec), rows))
}

#[cfg(test)]
mod tests {
    use super::argument_count;

    #[test]
    fn arguments_are_counted_from_the_signature() {
        assert_eq!(argument_count("F() RETURN NUMBER"), 0);
        assert_eq!(argument_count("F(NUMBER) RETURN NUMBER"), 1);
        assert_eq!(
            argument_count("F(NUMBER(38,0), VARCHAR) RETURN TABLE (A NUMBER)"),
            2
        );
    }
}
