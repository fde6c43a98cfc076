//! The PostgreSQL identity sync: the server's own roles. Roles that can log in are users,
//! roles that cannot are groups; direct memberships (`pg_auth_members`) become the users'
//! `groupExternalIds` and the groups' `parentGroupExternalIds`. Built-in roles (`pg_*`) are
//! left out. External ids are role names, as GRANT statements name them.
//!
//! A membership makes a parent when it passes the group's privileges: always before
//! PostgreSQL 16; from 16 on when it has `INHERIT` or `SET` (a member with `INHERIT FALSE` gets
//! the group's privileges with `SET ROLE`, so Raito sees it in the group all the same), not
//! when it has only `ADMIN OPTION`, as 16 gives the creator of each role.
//!
//! Roles Raito manages (comment marker, see [`super::access::managed_for`]) are Raito's access
//! providers, not groups: they are never pushed as groups and never listed as a parent, so
//! their members are reported without them (a managed role that can log in is still a user).

use tokio_postgres::types::ToSql;

use super::access::managed_for;
use super::config::Config;
use super::{NAME, client};
use crate::connector::{Error, Sink};
use crate::model::identity::{Group, IdentityStoreMetaData, User};

/// Every role with its comment, its direct parent groups (roles that cannot log in), whether
/// its name matches the machine-user pattern ($1, a POSIX regular expression, or null), and
/// the comments of its parents in the same order (to leave out managed ones). A membership
/// counts when it passes privileges ([`membership_passes_privileges`]): from PostgreSQL 16 on,
/// an `INHERIT FALSE` membership with `SET TRUE` makes a parent, an admin-only one does not.
/// `EXISTS` rather than a join: from 16 on, one membership may be recorded once per grantor.
const LIST_ROLES: &str = concat!(
    "\
SELECT r.rolname, r.rolcanlogin,
       coalesce(pg_catalog.shobj_description(r.oid, 'pg_authid'::pg_catalog.name), ''),
       array(SELECT g.rolname FROM pg_roles g
             WHERE NOT g.rolcanlogin AND g.rolname !~ '^pg_'
               AND EXISTS (SELECT FROM pg_auth_members m
                           WHERE m.member = r.oid AND m.roleid = g.oid AND ",
    membership_passes_privileges!("m"),
    ")
             ORDER BY g.rolname COLLATE \"C\"),
       coalesce(r.rolname ~ $1::text, false),
       array(SELECT coalesce(pg_catalog.shobj_description(g.oid, 'pg_authid'::pg_catalog.name), '') FROM pg_roles g
             WHERE NOT g.rolcanlogin AND g.rolname !~ '^pg_'
               AND EXISTS (SELECT FROM pg_auth_members m
                           WHERE m.member = r.oid AND m.roleid = g.oid AND ",
    membership_passes_privileges!("m"),
    ")
             ORDER BY g.rolname COLLATE \"C\")
FROM pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY r.rolname COLLATE \"C\""
);

/// The identity store metadata of a PostgreSQL server.
pub fn identity_store_metadata() -> IdentityStoreMetaData {
    IdentityStoreMetaData {
        r#type: NAME.to_owned(),
        icon: NAME.to_owned(),
        can_be_linked: true,
        can_be_master: false,
    }
}

/// Pushes every user and group role into their sinks, read through a cursor in one
/// read-only transaction on `pg-database`.
pub async fn sync(
    config: &Config,
    users: &mut dyn Sink<User>,
    groups: &mut dyn Sink<Group>,
) -> Result<(), Error> {
    let mut client = client::connect(config, &config.database).await?;
    let endpoint = config.endpoint();
    let endpoint = &endpoint;
    let fail = |operation: &'static str| move |e| client::classify(e, endpoint, operation);
    let transaction = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(fail("starting a read-only transaction"))?;
    let params: [&(dyn ToSql + Sync); 1] = [&config.machine_user_pattern];
    let mut roles = client::Cursor::open(&transaction, LIST_ROLES, &params)
        .await
        .map_err(fail("listing roles"))?;
    let (mut user_count, mut group_count, mut managed_count) = (0u64, 0u64, 0u64);
    while let Some(rows) = roles.next_batch().await.map_err(fail("listing roles"))? {
        for row in &rows {
            let name: String = row.get(0);
            let can_login: bool = row.get(1);
            let description: String = row.get(2);
            let parent_comments: Vec<String> = row.get(5);
            let parents: Vec<String> = row
                .get::<_, Vec<String>>(3)
                .into_iter()
                .zip(parent_comments)
                .filter(|(_, comment)| managed_for(comment).is_none())
                .map(|(parent, _)| parent)
                .collect();
            if can_login {
                users
                    .push(User {
                        external_id: name.clone(),
                        user_name: name.clone(),
                        name,
                        group_external_ids: parents,
                        is_machine: Some(row.get(4)),
                        ..Default::default()
                    })
                    .await?;
                user_count += 1;
            } else if managed_for(&description).is_some() {
                // An access provider Raito manages, not a group.
                managed_count += 1;
            } else {
                groups
                    .push(Group {
                        external_id: name.clone(),
                        display_name: name.clone(),
                        name,
                        description,
                        parent_group_external_ids: parents,
                        ..Default::default()
                    })
                    .await?;
                group_count += 1;
            }
        }
    }
    transaction
        .commit()
        .await
        .map_err(fail("ending the read-only transaction"))?;
    tracing::info!(
        users = user_count,
        groups = group_count,
        managed_roles_skipped = managed_count,
        "listed roles"
    );
    Ok(())
}
