//! Reading the current state from the catalog: roles and their markers, memberships, the
//! privileges a role holds (from the ACL columns through `aclexplode`), the objects a what
//! item names, and the row-level-security policies this connector manages.

use std::collections::{BTreeSet, HashMap};

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

const ROLE_COLUMNS: &str = "SELECT oid, rolname::text, rolsuper, coalesce(shobj_description(oid, 'pg_authid'), '') \
     FROM pg_roles";

fn role(row: &tokio_postgres::Row) -> Role {
    Role {
        oid: row.get(0),
        name: row.get(1),
        superuser: row.get(2),
        comment: row.get(3),
    }
}

/// The role named `name`, if any.
pub async fn role_by_name(client: &Client, name: &str) -> PgResult<Option<Role>> {
    let rows = client
        .query(&format!("{ROLE_COLUMNS} WHERE rolname = $1"), &[&name])
        .await?;
    Ok(rows.first().map(role))
}

/// The roles that carry the marker of access provider `id`, by name.
pub async fn roles_by_marker(client: &Client, id: &str) -> PgResult<Vec<Role>> {
    let rows = client
        .query(
            &format!(
                "{ROLE_COLUMNS} WHERE shobj_description(oid, 'pg_authid') = $1 \
                 ORDER BY rolname COLLATE \"C\""
            ),
            &[&managed_comment(id)],
        )
        .await?;
    Ok(rows.iter().map(role).collect())
}

/// Which of `names` are existing roles, with whether each is a superuser.
pub async fn existing_roles(client: &Client, names: &[String]) -> PgResult<HashMap<String, bool>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT rolname::text, rolsuper FROM pg_roles WHERE rolname = ANY($1::text[])",
            &[&names],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The direct members of the role (each once, whoever granted it), superusers left out:
/// their memberships are never changed.
pub async fn members(client: &Client, role: u32) -> PgResult<BTreeSet<String>> {
    let rows = client
        .query(
            "SELECT DISTINCT r.rolname::text FROM pg_auth_members m \
             JOIN pg_roles r ON r.oid = m.member WHERE m.roleid = $1 AND NOT r.rolsuper",
            &[&role],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The databases (that accept connections) in which the role holds privileges or is named
/// by a policy, from the shared dependency catalog and the databases' own ACLs.
pub async fn role_databases(client: &Client, role: u32) -> PgResult<Vec<String>> {
    let rows = client
        .query(
            "SELECT d.datname::text FROM pg_database d
             WHERE d.datallowconn AND (
               EXISTS (SELECT FROM pg_shdepend s
                       WHERE s.dbid = d.oid AND s.refclassid = 'pg_authid'::regclass
                         AND s.refobjid = $1 AND s.deptype IN ('a', 'r'))
               OR EXISTS (SELECT FROM aclexplode(d.datacl) a WHERE a.grantee = $1))
             ORDER BY d.datname COLLATE \"C\"",
            &[&role],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// How many objects (in any database) the role owns.
pub async fn owned_objects(client: &Client, role: u32) -> PgResult<i64> {
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_shdepend \
             WHERE refclassid = 'pg_authid'::regclass AND refobjid = $1 AND deptype = 'o'",
            &[&role],
        )
        .await?;
    Ok(row.get(0))
}

/// The schemas whose objects the apply engine never reads or changes (system schemas and the
/// configured exclusions, `$2`).
macro_rules! schema_filter {
    () => {
        "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname !~ '^pg_(toast_)?temp_'
  AND NOT (n.nspname = ANY($2::text[]))"
    };
}

/// The privileges of the role in the connected database: on the database, its schemas,
/// relations and columns (system and excluded schemas left out).
const GRANTS: &str = concat!(
    "SELECT 'd', NULL::text, NULL::text, NULL::text, a.privilege_type
FROM pg_database d, aclexplode(d.datacl) a
WHERE d.datname = current_database() AND a.grantee = $1
UNION ALL
SELECT 's', n.nspname::text, NULL, NULL, a.privilege_type
FROM pg_namespace n, aclexplode(n.nspacl) a
WHERE a.grantee = $1 AND ",
    schema_filter!(),
    "
UNION ALL
SELECT 'r', n.nspname::text, c.relname::text, NULL, a.privilege_type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
WHERE a.grantee = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ",
    schema_filter!(),
    "
UNION ALL
SELECT 'c', n.nspname::text, c.relname::text, at.attname::text, a.privilege_type
FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(at.attacl) a
WHERE a.grantee = $1 AND at.attnum > 0 AND NOT at.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ",
    schema_filter!()
);

/// The privileges `role` holds in the database `client` is connected to.
pub async fn grants(
    client: &Client,
    role: u32,
    excluded_schemas: &[String],
) -> PgResult<BTreeSet<Grant>> {
    let rows = client.query(GRANTS, &[&role, &excluded_schemas]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let kind: &str = row.get(0);
            let s = || row.get::<_, Option<String>>(1).unwrap_or_default();
            let r = || row.get::<_, Option<String>>(2).unwrap_or_default();
            let c = || row.get::<_, Option<String>>(3).unwrap_or_default();
            let object = match kind {
                "d" => Object::Database,
                "s" => Object::Schema(s()),
                "r" => Object::Relation(s(), r()),
                _ => Object::Column(s(), r(), c()),
            };
            Grant::new(object, row.get::<_, String>(4))
        })
        .collect())
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
            "SELECT w.s IS NULL
                    OR (n.oid IS NOT NULL AND (w.r IS NULL OR c.oid IS NOT NULL)
                        AND (w.col IS NULL OR at.attnum IS NOT NULL)),
                    c.relkind::text, coalesce(c.relrowsecurity, false)
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS w(s, r, col, i)
             LEFT JOIN pg_namespace n ON n.nspname = w.s
             LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.r
             LEFT JOIN pg_attribute at ON at.attrelid = c.oid AND at.attname = w.col
                  AND at.attnum > 0 AND NOT at.attisdropped
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

/// The policies in the connected database managed for access provider `id`; `role` is the
/// oid the policies must apply to (0 when the role does not exist).
pub async fn policies(client: &Client, id: &str, role: u32) -> PgResult<Vec<CurrentPolicy>> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, p.polname::text,
                    obj_description(p.oid, 'pg_policy'),
                    p.polcmd = 'r' AND p.polpermissive AND p.polroles = ARRAY[$2::oid]
             FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE starts_with(obj_description(p.oid, 'pg_policy'), $1)
             ORDER BY 1, 2, 3",
            &[&MANAGED_PREFIX, &role],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let comment: String = row.get(3);
            let fingerprint = policy_fingerprint(&comment, id)?.to_owned();
            Some(CurrentPolicy {
                schema: row.get(0),
                table: row.get(1),
                name: row.get(2),
                fingerprint,
                shape_ok: row.get(4),
            })
        })
        .collect())
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
    }
}
