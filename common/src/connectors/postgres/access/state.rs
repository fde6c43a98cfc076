//! Reading the current state from the catalog, for a whole chunk of access providers at once:
//! roles and their markers, memberships, the privileges the roles hold (the objects found
//! through `pg_shdepend`, their ACL columns expanded with `aclexplode`), the objects what
//! items name, and the row-level-security policies this connector manages. What is read for a
//! chunk is held in a [`Snapshot`], which the planner ([`super::plan`]) reads instead of the
//! database.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::TryStreamExt as _;

use tokio_postgres::Client;

use super::diff::CurrentPolicy;
use super::what::{Grant, Object};
use super::{MANAGED_PREFIX, managed_comment};

type PgResult<T> = Result<T, tokio_postgres::Error>;

/// A role, as far as the apply engine cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Its oid.
    pub oid: u32,
    /// Its name.
    pub name: String,
    /// Whether it is a superuser.
    pub superuser: bool,
    /// Its comment (`''` when none).
    pub comment: String,
}

fn role(row: &tokio_postgres::Row) -> Role {
    Role {
        oid: row.get(0),
        name: row.get(1),
        superuser: row.get(2),
        comment: row.get(3),
    }
}

/// Everything the plan of a chunk needs from the catalog, read before it is planned (the
/// engine reads it in stages, each asked for by the planner).
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Roles by name, for every name read (`None`: no such role). A name not in here was not
    /// read: the planner asks for it rather than guessing.
    pub roles: HashMap<String, Option<Role>>,
    /// The roles carrying the marker of each access provider id read, in name order.
    pub markers: HashMap<String, Vec<Role>>,
    /// The direct members of the existing roles (superusers left out), by role oid.
    pub members: HashMap<u32, Members>,
    /// The databases the existing roles hold privileges in, by role oid, in name order.
    pub databases_of: HashMap<u32, Vec<String>>,
    /// How many objects the roles to delete own, for those that own any.
    pub owned: HashMap<u32, i64>,
    /// What was read in each database the chunk involves.
    pub databases: BTreeMap<String, DatabaseState>,
}

impl Snapshot {
    /// Records the answer to a read of the roles named `names` or marked for one of `ids`
    /// ([`roles_named_or_numbered`]): every name and id asked for is known from now on, found
    /// or not.
    pub fn add_roles(&mut self, names: Vec<String>, ids: Vec<String>, roles: Vec<Role>) {
        for name in names {
            self.roles.entry(name).or_insert(None);
        }
        for id in ids {
            self.markers.entry(id).or_default();
        }
        for role in roles {
            if let Some(id) = super::managed_for(&role.comment)
                && let Some(marked) = self.markers.get_mut(id)
            {
                marked.push(role.clone());
            }
            self.roles.insert(role.name.clone(), Some(role));
        }
    }
}

/// What was read in one database for a chunk.
#[derive(Debug, Default)]
pub struct DatabaseState {
    /// Why it could not be read: every access provider needing it fails.
    pub error: Option<String>,
    /// The objects the what items name.
    pub found: HashMap<Object, Found>,
    /// The privileges of the chunk's existing roles, by role oid.
    pub grants: HashMap<u32, BTreeSet<Grant>>,
    /// Every managed row-level-security policy of the database.
    pub policies: Vec<ManagedPolicy>,
}

/// What the catalog says about an object a what item names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    /// It exists (for the database itself: always).
    pub exists: bool,
    /// The relation's `relkind` (relations and columns).
    pub relkind: Option<String>,
    /// Whether row-level security is enabled on the relation.
    pub row_security: bool,
}

/// Looks the objects up in the connected database, one answer per object, in order.
pub async fn find(client: &Client, objects: &[&Object]) -> PgResult<Vec<Found>> {
    let mut schemas: Vec<Option<String>> = Vec::new();
    let mut relations: Vec<Option<String>> = Vec::new();
    let mut columns: Vec<Option<String>> = Vec::new();
    for object in objects {
        let (s, r, c) = match object {
            Object::Database => (None, None, None),
            Object::Schema(s) => (Some(s), None, None),
            Object::Relation(s, r) => (Some(s), Some(r), None),
            Object::Column(s, r, c) => (Some(s), Some(r), Some(c)),
        };
        schemas.push(s.cloned());
        relations.push(r.cloned());
        columns.push(c.cloned());
    }
    let rows = client
        .query(
            // A column is looked up by a correlated subquery: one index probe per column
            // named, where a join may hash the whole of pg_attribute for every chunk.
            "SELECT coalesce(w.s IS NULL
                    OR (n.oid IS NOT NULL AND (w.r IS NULL OR c.oid IS NOT NULL)
                        AND (w.col IS NULL
                             OR (SELECT true FROM pg_attribute at
                                 WHERE at.attrelid = c.oid AND at.attname = w.col
                                   AND at.attnum > 0 AND NOT at.attisdropped))), false),
                    c.relkind::text, coalesce(c.relrowsecurity, false)
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS w(s, r, col, i)
             LEFT JOIN pg_namespace n ON n.nspname = w.s
             LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.r
             ORDER BY w.i",
            &[&schemas, &relations, &columns],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Found {
            exists: row.get(0),
            relkind: row.get(1),
            row_security: row.get(2),
        })
        .collect())
}

/// The policy comment: the access provider's marker and the fingerprint of the rule.
pub fn policy_comment(id: &str, fingerprint: &str) -> String {
    format!("{} rule {fingerprint}", managed_comment(id))
}

/// The rule fingerprint, when `comment` marks a policy managed for access provider `id`.
pub fn policy_fingerprint<'c>(comment: &'c str, id: &str) -> Option<&'c str> {
    let fingerprint = comment
        .strip_prefix(&managed_comment(id))?
        .strip_prefix(" rule ")?;
    (fingerprint.len() == 16 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some(fingerprint)
}

// Set-based reads for a chunk of access providers: one query each, whatever the chunk size.
//
// The shared catalogs (pg_authid, pg_shdescription, pg_shdepend) carry their planner statistics
// per database: in every database but the one autovacuum last analysed them from, the planner
// may believe they hold a handful of rows and scan them once per role. So the lookups by role
// are written as correlated subqueries (one index probe per role, whatever the statistics say):
// a LATERAL subquery kept apart by OFFSET 0, not ARRAY(SELECT row ...), which needs the
// catalog's row array type (none before PostgreSQL 14); and the marker comments are read once
// per run ([`marked_roles`]).

/// Every role carrying a marker ([`super::MANAGED_PREFIX`]): (oid, comment). Read once per run:
/// `pg_shdescription` has no index on the comment, so looking markers up per chunk would scan it
/// every time.
pub async fn marked_roles(client: &Client) -> PgResult<Vec<(u32, String)>> {
    let rows = client
        .query(
            "SELECT d.objoid, d.description FROM pg_catalog.pg_shdescription d
             WHERE d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
               AND pg_catalog.starts_with(d.description, $1)",
            &[&MANAGED_PREFIX],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Every role named in `names` and every role whose oid is in `oids`, ordered by name.
pub async fn roles_named_or_numbered(
    client: &Client,
    names: &[String],
    oids: &[u32],
) -> PgResult<Vec<Role>> {
    let rows = client
        .query(
            "SELECT r.oid, r.rolname::text, r.rolsuper,
                    coalesce((SELECT d.description FROM pg_catalog.pg_shdescription d
                              WHERE d.objoid = r.oid
                                AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass), '')
             FROM (SELECT (SELECT a.oid FROM pg_catalog.pg_roles a
                           WHERE a.rolname = n.name::pg_catalog.name)
                   FROM unnest($1::text[]) AS n(name)
                   -- A longer name is no role's (and the cast to name would truncate it).
                   WHERE pg_catalog.octet_length(n.name) < 64
                   UNION
                   SELECT o FROM unnest($2::oid[]) AS o) AS w(oid)
             JOIN pg_catalog.pg_roles r ON r.oid = w.oid
             ORDER BY r.rolname COLLATE \"C\"",
            &[&names, &oids],
        )
        .await?;
    Ok(rows.iter().map(role).collect())
}

/// Who granted a membership, as far as revoking it goes. Before PostgreSQL 16 a membership is
/// one grant, which any role with `ADMIN OPTION` on the role (or `CREATEROLE`) revokes whoever
/// granted it. From 16 on it is one grant per grantor, and a `REVOKE` removes only the grant
/// of the role it names in `GRANTED BY` (the current role by default), which must be the
/// current role or one whose privileges it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grantors {
    /// Whether a plain `REVOKE` removes a grant of it: always before 16, from 16 on when this
    /// session's role granted it.
    pub own: bool,
    /// From 16 on, the other grantors whose grants this session may revoke (`GRANTED BY`).
    pub revocable: Vec<String>,
    /// From 16 on, the grantors whose grants only they (or a role with their privileges, or a
    /// superuser) may revoke.
    pub held: Vec<String>,
}

/// The members of a role, by name, with the grantors of their memberships.
pub type Members = BTreeMap<String, Grantors>;

/// The direct members of each of `roles`, by role oid: superusers and memberships that pass no
/// privileges (`membership_passes_privileges`) left out. From PostgreSQL 16 on, each grant
/// with its grantor when that is not the current role, and whether the current role has the
/// grantor's privileges.
const MEMBERS_OF: &str = concat!(
    "SELECT g.oid, r.rolname::text,
            CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
                      AND gr.rolname <> current_user
                 THEN gr.rolname::text END,
            CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
                 THEN pg_catalog.pg_has_role(a.grantor, 'USAGE') END
     FROM unnest($1::oid[]) AS g(oid)
     CROSS JOIN LATERAL (
         SELECT m.member, m.grantor FROM pg_catalog.pg_auth_members m
         WHERE m.roleid = g.oid AND ",
    membership_passes_privileges!("m"),
    "
         OFFSET 0) AS a
     JOIN pg_catalog.pg_roles r ON r.oid = a.member
     LEFT JOIN pg_catalog.pg_roles gr ON gr.oid = a.grantor
     WHERE NOT r.rolsuper"
);

/// The direct members of each of `roles` ([`MEMBERS_OF`]), by role oid.
pub async fn members_of(client: &Client, roles: &[u32]) -> PgResult<HashMap<u32, Members>> {
    let rows = client.query(MEMBERS_OF, &[&roles]).await?;
    let mut members: HashMap<u32, Members> = HashMap::new();
    for row in &rows {
        let grantors = members
            .entry(row.get(0))
            .or_default()
            .entry(row.get(1))
            .or_default();
        match row.get::<_, Option<String>>(2) {
            None => grantors.own = true,
            Some(grantor) if row.get::<_, Option<bool>>(3) == Some(true) => {
                grantors.revocable.push(grantor);
            }
            Some(grantor) => grantors.held.push(grantor),
        }
    }
    for grantors in members.values_mut().flat_map(|m| m.values_mut()) {
        grantors.revocable.sort();
        grantors.held.sort();
    }
    Ok(members)
}

/// The databases each of `roles` holds privileges in or depends on, by role oid (databases in
/// name order), from the shared dependencies alone: an ACL entry of a database is recorded
/// there too (`dbid` 0, the database as the object), so no ACL is expanded. Only the entries of
/// an object's owner are not recorded, and Raito's roles own nothing it manages.
pub async fn databases_of(client: &Client, roles: &[u32]) -> PgResult<HashMap<u32, Vec<String>>> {
    let rows = client
        .query(
            "SELECT DISTINCT r.oid, d.datname::text COLLATE \"C\"
             FROM unnest($1::oid[]) AS r(oid)
             CROSS JOIN LATERAL (
                 SELECT s.dbid, s.classid, s.objid FROM pg_catalog.pg_shdepend s
                 WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
                   AND s.refobjid = r.oid AND s.deptype IN ('a', 'r')
                 OFFSET 0) AS s
             JOIN pg_catalog.pg_database d
               ON d.oid = CASE WHEN s.dbid = 0
                                AND s.classid = 'pg_catalog.pg_database'::pg_catalog.regclass
                               THEN s.objid ELSE s.dbid END
             WHERE d.datallowconn
             ORDER BY 2",
            &[&roles],
        )
        .await?;
    let mut databases: HashMap<u32, Vec<String>> = HashMap::new();
    for row in &rows {
        databases.entry(row.get(0)).or_default().push(row.get(1));
    }
    Ok(databases)
}

/// How many objects each of `roles` owns, for the roles that own anything, by role oid.
pub async fn owned_by(client: &Client, roles: &[u32]) -> PgResult<HashMap<u32, i64>> {
    let rows = client
        .query(
            "SELECT refobjid, count(*) FROM pg_shdepend \
             WHERE refclassid = 'pg_authid'::regclass AND refobjid = ANY($1::oid[]) \
               AND deptype = 'o' GROUP BY 1",
            &[&roles],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The privileges of each of `$1` (role oids) in the connected database. The objects are
/// found through the shared dependency catalog (an ACL entry is a dependency of the object on
/// the role), so only their ACLs are expanded, never every ACL of the database. Each ACL item is
/// expanded on its own: `aclexplode` of a whole array costs quadratic time in its length, which
/// the database's and a schema's ACLs reach with thousands of managed roles.
const GRANTS_OF: &str = concat!(
    "WITH deps AS (
  SELECT DISTINCT s.classid, s.objid, s.objsubid
  FROM unnest($1::oid[]) AS r(oid)
  CROSS JOIN LATERAL (
      SELECT s.classid, s.objid, s.objsubid FROM pg_shdepend s
      WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid
        AND s.deptype = 'a'
        AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      OFFSET 0) AS s)
SELECT a.grantee, 'd', NULL::text, NULL::text, NULL::text, a.privilege_type
FROM pg_database d, unnest(d.datacl) AS i(item), aclexplode(ARRAY[i.item]) a
WHERE d.datname = current_database() AND a.grantee = ANY($1::oid[])
UNION ALL
SELECT a.grantee, 's', n.nspname::text, NULL, NULL, a.privilege_type
FROM deps JOIN pg_namespace n
  ON deps.classid = 'pg_namespace'::regclass AND n.oid = deps.objid,
  unnest(n.nspacl) AS i(item), aclexplode(ARRAY[i.item]) a
WHERE a.grantee = ANY($1::oid[]) AND ",
    schema_filter!("n", "$2"),
    "
UNION ALL
SELECT a.grantee, 'r', n.nspname::text, c.relname::text, NULL, a.privilege_type
FROM deps JOIN pg_class c
  ON deps.classid = 'pg_class'::regclass AND c.oid = deps.objid AND deps.objsubid = 0
JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(c.relacl) AS i(item), aclexplode(ARRAY[i.item]) a
WHERE a.grantee = ANY($1::oid[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ",
    schema_filter!("n", "$2"),
    "
UNION ALL
SELECT a.grantee, 'c', n.nspname::text, c.relname::text, at.attname::text, a.privilege_type
FROM deps JOIN pg_attribute at
  ON deps.classid = 'pg_class'::regclass AND at.attrelid = deps.objid
     AND at.attnum = deps.objsubid AND deps.objsubid > 0
JOIN pg_class c ON c.oid = at.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(at.attacl) AS i(item), aclexplode(ARRAY[i.item]) a
WHERE a.grantee = ANY($1::oid[]) AND NOT at.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ",
    schema_filter!("n", "$2")
);

/// Calls `each(role, object, privilege)` for every privilege each of `roles` holds in the
/// database `client` is connected to, as the rows arrive.
async fn for_each_grant(
    client: &Client,
    roles: &[u32],
    excluded_schemas: &[String],
    mut each: impl FnMut(u32, Object, String),
) -> PgResult<()> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&roles, &excluded_schemas];
    let rows = client.query_raw(GRANTS_OF, params).await?;
    futures::pin_mut!(rows);
    while let Some(row) = rows.try_next().await? {
        let kind: &str = row.get(1);
        let s = || row.get::<_, Option<String>>(2).unwrap_or_default();
        let r = || row.get::<_, Option<String>>(3).unwrap_or_default();
        let c = || row.get::<_, Option<String>>(4).unwrap_or_default();
        let object = match kind {
            "d" => Object::Database,
            "s" => Object::Schema(s()),
            "r" => Object::Relation(s(), r()),
            _ => Object::Column(s(), r(), c()),
        };
        each(row.get(0), object, row.get(5));
    }
    Ok(())
}

/// The privileges each of `roles` holds in the database `client` is connected to, by oid.
pub async fn grants_of(
    client: &Client,
    roles: &[u32],
    excluded_schemas: &[String],
) -> PgResult<HashMap<u32, BTreeSet<Grant>>> {
    let mut grants: HashMap<u32, BTreeSet<Grant>> = HashMap::new();
    for_each_grant(
        client,
        roles,
        excluded_schemas,
        |role, object, privilege| {
            grants
                .entry(role)
                .or_default()
                .insert(Grant::new(object, privilege));
        },
    )
    .await?;
    Ok(grants)
}

/// The privileges of many roles in one database, read in one query: an export of several
/// chunks reads each database's privileges once instead of once per chunk (each chunk would
/// expand the same database, schema and table ACLs again, which holds an entry per role).
/// Each object and privilege name is held once; a grant takes 8 bytes.
#[derive(Debug, Default)]
pub struct GrantIndex {
    objects: Vec<Object>,
    privileges: Vec<String>,
    /// (object, privilege) indexes, per role.
    by_role: HashMap<u32, Vec<(u32, u32)>>,
    /// The roles read (those without privileges included).
    covered: HashSet<u32>,
}

impl GrantIndex {
    /// Reads the privileges of `roles`.
    pub async fn read(
        client: &Client,
        roles: &[u32],
        excluded_schemas: &[String],
    ) -> PgResult<Self> {
        let mut index = Self {
            covered: roles.iter().copied().collect(),
            ..Self::default()
        };
        let mut objects: HashMap<Object, u32> = HashMap::new();
        for_each_grant(
            client,
            roles,
            excluded_schemas,
            |role, object, privilege| {
                let next = index.objects.len();
                let object = *objects.entry(object).or_insert_with_key(|object| {
                    index.objects.push(object.clone());
                    // At most one object per catalog row: far below 2^32.
                    next as u32
                });
                let privilege = match index.privileges.iter().position(|p| *p == privilege) {
                    Some(known) => known,
                    None => {
                        index.privileges.push(privilege);
                        index.privileges.len() - 1
                    }
                } as u32;
                index
                    .by_role
                    .entry(role)
                    .or_default()
                    .push((object, privilege));
            },
        )
        .await?;
        Ok(index)
    }

    /// Whether `role` was read.
    pub fn covers(&self, role: u32) -> bool {
        self.covered.contains(&role)
    }

    /// The privileges of each of `roles` (all covered), as [`grants_of`] gives them.
    pub fn grants_of(&self, roles: &[u32]) -> HashMap<u32, BTreeSet<Grant>> {
        roles
            .iter()
            .filter_map(|role| {
                let held = self.by_role.get(role)?;
                let grants = held
                    .iter()
                    .map(|&(object, privilege)| {
                        Grant::new(
                            self.objects[object as usize].clone(),
                            self.privileges[privilege as usize].clone(),
                        )
                    })
                    .collect();
                Some((*role, grants))
            })
            .collect()
    }
}

/// A managed row-level-security policy of the connected database, not yet tied to a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The Raito id of the access provider it is managed for.
    pub id: String,
    /// The policy, with `shape_ok` telling only whether it is a permissive SELECT policy.
    pub policy: CurrentPolicy,
    /// The roles it applies to.
    pub roles: Vec<u32>,
}

impl ManagedPolicy {
    /// The policy as [`policies`] reads it for the role `role`.
    pub fn for_role(&self, role: u32) -> CurrentPolicy {
        let mut policy = self.policy.clone();
        policy.shape_ok = policy.shape_ok && self.roles == [role];
        policy
    }
}

/// Every policy of the connected database managed by this connector (for any access provider).
pub async fn managed_policies(client: &Client) -> PgResult<Vec<ManagedPolicy>> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, p.polname::text,
                    pg_catalog.obj_description(p.oid, 'pg_policy'::pg_catalog.name),
                    p.polcmd = 'r' AND p.polpermissive, p.polroles::oid[]
             FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE pg_catalog.starts_with(pg_catalog.obj_description(p.oid, 'pg_policy'::pg_catalog.name), $1)
             ORDER BY 1, 2, 3",
            &[&MANAGED_PREFIX],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let comment: String = row.get(3);
            let id = policy_owner(&comment)?;
            let fingerprint = policy_fingerprint(&comment, id)?.to_owned();
            Some(ManagedPolicy {
                id: id.to_owned(),
                policy: CurrentPolicy {
                    schema: row.get(0),
                    table: row.get(1),
                    name: row.get(2),
                    fingerprint,
                    shape_ok: row.get(4),
                },
                roles: row.get(5),
            })
        })
        .collect())
}

/// The Raito id a managed policy's comment names (see [`policy_comment`]).
fn policy_owner(comment: &str) -> Option<&str> {
    // " rule " and a 16-digit fingerprint end the comment.
    let cut = comment.len().checked_sub(" rule ".len() + 16)?;
    let marker = comment.get(..cut)?;
    super::managed_for(marker)
}

/// The name of the connecting role, and whether `standard_conforming_strings` is on.
pub async fn session(client: &Client) -> PgResult<(String, bool)> {
    let row = client
        .query_one(
            "SELECT current_user::text, current_setting('standard_conforming_strings') = 'on'",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_comments_name_their_access_provider_and_rule() {
        let comment = policy_comment("ap-1", "0123456789abcdef");
        assert_eq!(
            policy_fingerprint(&comment, "ap-1"),
            Some("0123456789abcdef")
        );
        assert_eq!(policy_fingerprint(&comment, "ap-2"), None);
        assert_eq!(policy_fingerprint(&comment, "ap"), None);
        // An id crafted to look like another's marker plus a rule does not match.
        let crafted = policy_comment("a) rule q", "0123456789abcdef");
        assert_eq!(policy_fingerprint(&crafted, "a"), None);
        assert_eq!(policy_owner(&comment), Some("ap-1"));
        assert_eq!(policy_owner(&crafted), Some("a) rule q"));
        assert_eq!(policy_owner("short"), None);
    }
}
