//! The pure part of applying: the current state and the wanted state in, the SQL statements
//! that turn one into the other out. No I/O, so every rule here is unit-tested.
//!
//! Every identifier goes through [`quote_ident`] and every literal through [`quote_literal`].

use std::collections::{BTreeMap, BTreeSet};

use super::names::{quote_ident, quote_literal};
use super::state::Members;
use super::what::{Grant, Object};

/// What happens to the role itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// It does not exist: create it with the marker comment.
    Create,
    /// It exists under another name (the base name changed): rename it.
    Rename {
        /// The current name.
        from: String,
    },
    /// It exists under the right name.
    Keep,
}

/// The statements that create or rename the role `name` managed for access provider `id`.
pub fn role_statements(change: &RoleChange, name: &str, comment: &str) -> Vec<String> {
    match change {
        RoleChange::Create => vec![
            format!("CREATE ROLE {} NOLOGIN", quote_ident(name)),
            format!(
                "COMMENT ON ROLE {} IS {}",
                quote_ident(name),
                quote_literal(comment)
            ),
        ],
        RoleChange::Rename { from } => vec![format!(
            "ALTER ROLE {} RENAME TO {}",
            quote_ident(from),
            quote_ident(name)
        )],
        RoleChange::Keep => Vec::new(),
    }
}

/// GRANT the role to the wanted members it lacks, REVOKE it from the members no longer wanted.
/// A membership recorded per grantor (PostgreSQL 16 on) is revoked grant by grant
/// (`GRANTED BY`); the grants this session may not revoke stay, each such member named in
/// `warnings`: they are reported on every run, never issued (a `REVOKE` of them would do
/// nothing but warn).
pub fn member_statements(
    role: &str,
    wanted: &BTreeSet<String>,
    current: &Members,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let quoted = quote_ident(role);
    let mut statements = Vec::new();
    for (member, grantors) in current.iter().filter(|(m, _)| !wanted.contains(*m)) {
        let from = quote_ident(member);
        if grantors.own {
            statements.push(format!("REVOKE {quoted} FROM {from}"));
        }
        for grantor in &grantors.revocable {
            statements.push(format!(
                "REVOKE {quoted} FROM {from} GRANTED BY {}",
                quote_ident(grantor)
            ));
        }
        if !grantors.held.is_empty() {
            let held: Vec<String> = grantors.held.iter().map(|g| format!("{g:?}")).collect();
            warnings.push(format!(
                "{member:?} stays a member of {role:?}: PostgreSQL records the membership as \
                 granted by {}, and the sync role may not revoke another role's grant (only \
                 the grantor, a role with its privileges, or a superuser can: REVOKE {quoted} \
                 FROM {from} GRANTED BY {})",
                held.join(", "),
                quote_ident(&grantors.held[0]),
            ));
        }
    }
    statements.extend(
        wanted
            .iter()
            .filter(|m| !current.contains_key(*m))
            .map(|m| format!("GRANT {quoted} TO {}", quote_ident(m))),
    );
    statements
}

/// The REVOKE and GRANT statements that turn the `current` privileges of `role` in `database`
/// into the `wanted` ones: revokes first (children before parents), then grants (parents
/// before children), privileges on one object in one statement.
///
/// Revoking a privilege on a table also revokes that privilege on each of its columns
/// (PostgreSQL's rule), so a wanted column privilege whose table-level privilege is revoked
/// is granted again afterwards.
pub fn grant_statements(
    database: &str,
    role: &str,
    wanted: &BTreeSet<Grant>,
    current: &BTreeSet<Grant>,
) -> Vec<String> {
    let revoked: BTreeSet<&Grant> = current.difference(wanted).collect();
    let effective_current: BTreeSet<&Grant> = current
        .iter()
        .filter(|g| match &g.object {
            Object::Column(s, r, _) => !revoked.contains(&Grant::new(
                Object::Relation(s.clone(), r.clone()),
                g.privilege.clone(),
            )),
            _ => true,
        })
        .collect();
    let revokes: Vec<&Grant> = effective_current
        .iter()
        .copied()
        .filter(|g| !wanted.contains(*g))
        .collect();
    let grants: Vec<&Grant> = wanted
        .iter()
        .filter(|g| !effective_current.contains(g))
        .collect();
    let role = quote_ident(role);
    let mut statements: Vec<String> = render(database, revokes.into_iter())
        .into_iter()
        .rev()
        .map(|(privileges, on)| format!("REVOKE {privileges} ON {on} FROM {role}"))
        .collect();
    statements.extend(
        render(database, grants.into_iter())
            .into_iter()
            .map(|(privileges, on)| format!("GRANT {privileges} ON {on} TO {role}")),
    );
    statements
}

/// Groups privileges by object: (privilege list, `ON` clause) per object, parents first.
/// Column privileges of one relation form one group: `SELECT ("a", "b"), UPDATE ("a")`.
fn render<'a>(database: &str, grants: impl Iterator<Item = &'a Grant>) -> Vec<(String, String)> {
    // Key: the object, with columns folded into their relation (and kept apart by a flag).
    let mut groups: BTreeMap<(u8, Object), BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for grant in grants {
        let (key, column) = match &grant.object {
            Object::Column(s, r, c) => {
                ((1, Object::Relation(s.clone(), r.clone())), Some(c.clone()))
            }
            other => ((0, other.clone()), None),
        };
        let columns = groups
            .entry(key)
            .or_default()
            .entry(grant.privilege.clone())
            .or_default();
        columns.extend(column);
    }
    let mut out: Vec<((u8, Object), (String, String))> = groups
        .into_iter()
        .map(|((columns, object), privileges)| {
            let list = privileges
                .into_iter()
                .map(|(privilege, cols)| {
                    if cols.is_empty() {
                        privilege
                    } else {
                        let cols: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
                        format!("{privilege} ({})", cols.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let on = match &object {
                Object::Database => format!("DATABASE {}", quote_ident(database)),
                Object::Schema(s) => format!("SCHEMA {}", quote_ident(s)),
                Object::Relation(s, r) | Object::Column(s, r, _) => {
                    format!("TABLE {}.{}", quote_ident(s), quote_ident(r))
                }
            };
            ((columns, object), (list, on))
        })
        .collect();
    // Parents first: database, schemas, relations, then column groups.
    out.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
    out.into_iter().map(|(_, rendered)| rendered).collect()
}

fn rank(key: &(u8, Object)) -> (u8, u8) {
    let level = match key.1 {
        Object::Database => 0,
        Object::Schema(_) => 1,
        Object::Relation(..) | Object::Column(..) => 2,
    };
    (level, key.0)
}

/// A row-level-security policy this connector manages, as it is in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentPolicy {
    /// The table's schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The policy's name.
    pub name: String,
    /// The rule fingerprint from its comment.
    pub fingerprint: String,
    /// Whether it is `AS PERMISSIVE FOR SELECT TO <the role>` and nothing else.
    pub shape_ok: bool,
}

/// A row-level-security policy wanted on a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedPolicy {
    /// The table's schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The policy's name.
    pub name: String,
    /// The rendered `USING` expression.
    pub expression: String,
    /// The fingerprint of the expression.
    pub fingerprint: String,
    /// The comment marking it as managed (with the fingerprint).
    pub comment: String,
}

/// Drops the managed policies that are not wanted as they are, creates the wanted ones that
/// are missing (with their marker comment).
pub fn policy_statements(
    role: &str,
    wanted: &[WantedPolicy],
    current: &[CurrentPolicy],
) -> Vec<String> {
    let same = |c: &CurrentPolicy, w: &WantedPolicy| {
        c.schema == w.schema
            && c.table == w.table
            && c.name == w.name
            && c.fingerprint == w.fingerprint
            && c.shape_ok
    };
    let on = |schema: &str, table: &str| format!("{}.{}", quote_ident(schema), quote_ident(table));
    let mut statements = Vec::new();
    for c in current {
        if !wanted.iter().any(|w| same(c, w)) {
            statements.push(format!(
                "DROP POLICY {} ON {}",
                quote_ident(&c.name),
                on(&c.schema, &c.table)
            ));
        }
    }
    for w in wanted {
        if !current.iter().any(|c| same(c, w)) {
            let table = on(&w.schema, &w.table);
            let name = quote_ident(&w.name);
            statements.push(format!(
                "CREATE POLICY {name} ON {table} AS PERMISSIVE FOR SELECT TO {} USING ({})",
                quote_ident(role),
                w.expression
            ));
            statements.push(format!(
                "COMMENT ON POLICY {name} ON {table} IS {}",
                quote_literal(&w.comment)
            ));
        }
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::super::state::Grantors;
    use super::*;

    fn set(grants: &[Grant]) -> BTreeSet<Grant> {
        grants.iter().cloned().collect()
    }

    fn rel(s: &str, r: &str) -> Object {
        Object::Relation(s.into(), r.into())
    }

    fn col(s: &str, r: &str, c: &str) -> Object {
        Object::Column(s.into(), r.into(), c.into())
    }

    #[test]
    fn nothing_differs_nothing_is_issued() {
        let grants = set(&[
            Grant::new(Object::Database, "CONNECT"),
            Grant::new(rel("s", "t"), "SELECT"),
        ]);
        assert!(grant_statements("db", "r", &grants, &grants).is_empty());
        let wanted: BTreeSet<String> = ["a".to_owned()].into();
        assert!(member_statements("r", &wanted, &members(&["a"]), &mut Vec::new()).is_empty());
        assert!(role_statements(&RoleChange::Keep, "r", "c").is_empty());
    }

    #[test]
    fn grants_go_parents_first_and_revokes_children_first() {
        let wanted = set(&[
            Grant::new(Object::Database, "CONNECT"),
            Grant::new(Object::Schema("s".into()), "USAGE"),
            Grant::new(rel("s", "t"), "SELECT"),
            Grant::new(rel("s", "t"), "INSERT"),
            Grant::new(col("s", "u", "b"), "SELECT"),
            Grant::new(col("s", "u", "a"), "SELECT"),
            Grant::new(col("s", "u", "a"), "UPDATE"),
        ]);
        let current = set(&[
            Grant::new(Object::Database, "TEMPORARY"),
            Grant::new(Object::Schema("old".into()), "USAGE"),
            Grant::new(rel("old", "x"), "DELETE"),
        ]);
        assert_eq!(
            grant_statements("d\"b", "ro\"le", &wanted, &current),
            vec![
                r#"REVOKE DELETE ON TABLE "old"."x" FROM "ro""le""#,
                r#"REVOKE USAGE ON SCHEMA "old" FROM "ro""le""#,
                r#"REVOKE TEMPORARY ON DATABASE "d""b" FROM "ro""le""#,
                r#"GRANT CONNECT ON DATABASE "d""b" TO "ro""le""#,
                r#"GRANT USAGE ON SCHEMA "s" TO "ro""le""#,
                r#"GRANT INSERT, SELECT ON TABLE "s"."t" TO "ro""le""#,
                r#"GRANT SELECT ("a", "b"), UPDATE ("a") ON TABLE "s"."u" TO "ro""le""#,
            ]
        );
    }

    #[test]
    fn a_column_privilege_survives_revoking_the_table_privilege() {
        let wanted = set(&[Grant::new(col("s", "t", "a"), "SELECT")]);
        let current = set(&[
            Grant::new(rel("s", "t"), "SELECT"),
            Grant::new(col("s", "t", "a"), "SELECT"),
            Grant::new(col("s", "t", "b"), "SELECT"),
        ]);
        assert_eq!(
            grant_statements("db", "r", &wanted, &current),
            vec![
                r#"REVOKE SELECT ON TABLE "s"."t" FROM "r""#,
                r#"GRANT SELECT ("a") ON TABLE "s"."t" TO "r""#,
            ]
        );
    }

    /// Members of a server before PostgreSQL 16: one grant each, revoked by a plain REVOKE.
    fn members(names: &[&str]) -> Members {
        names
            .iter()
            .map(|n| {
                let grantors = Grantors {
                    own: true,
                    ..Grantors::default()
                };
                ((*n).to_owned(), grantors)
            })
            .collect()
    }

    #[test]
    fn members_are_revoked_and_granted() {
        let wanted: BTreeSet<String> = ["b".to_owned(), "c'\"".to_owned()].into();
        let mut warnings = Vec::new();
        assert_eq!(
            member_statements("r", &wanted, &members(&["a", "b"]), &mut warnings),
            vec![r#"REVOKE "r" FROM "a""#, r#"GRANT "r" TO "c'""""#]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn from_postgresql_16_each_grant_is_revoked_and_the_ones_of_other_grantors_are_reported() {
        let current: Members = [
            (
                "a".to_owned(),
                Grantors {
                    own: true,
                    revocable: vec!["te\"am".to_owned()],
                    held: Vec::new(),
                },
            ),
            (
                "b".to_owned(),
                Grantors {
                    own: true,
                    revocable: Vec::new(),
                    held: vec!["admin".to_owned(), "dba".to_owned()],
                },
            ),
            (
                "c".to_owned(),
                Grantors {
                    own: false,
                    revocable: Vec::new(),
                    held: vec!["admin".to_owned()],
                },
            ),
        ]
        .into();
        let mut warnings = Vec::new();
        assert_eq!(
            member_statements("r", &BTreeSet::new(), &current, &mut warnings),
            vec![
                r#"REVOKE "r" FROM "a""#,
                r#"REVOKE "r" FROM "a" GRANTED BY "te""am""#,
                r#"REVOKE "r" FROM "b""#,
            ]
        );
        assert_eq!(
            warnings,
            vec![
                "\"b\" stays a member of \"r\": PostgreSQL records the membership as granted \
                 by \"admin\", \"dba\", and the sync role may not revoke another role's grant \
                 (only the grantor, a role with its privileges, or a superuser can: REVOKE \
                 \"r\" FROM \"b\" GRANTED BY \"admin\")",
                "\"c\" stays a member of \"r\": PostgreSQL records the membership as granted \
                 by \"admin\", and the sync role may not revoke another role's grant (only the \
                 grantor, a role with its privileges, or a superuser can: REVOKE \"r\" FROM \
                 \"c\" GRANTED BY \"admin\")",
            ]
        );
        // Wanted and already a member: nothing, whoever granted it.
        warnings.clear();
        assert!(
            member_statements(
                "r",
                &["c".to_owned()].into(),
                &members(&["c"]),
                &mut warnings
            )
            .is_empty()
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn roles_are_created_with_their_marker_and_renamed() {
        assert_eq!(
            role_statements(&RoleChange::Create, "n", "it's ours"),
            vec![
                r#"CREATE ROLE "n" NOLOGIN"#,
                r#"COMMENT ON ROLE "n" IS 'it''s ours'"#
            ]
        );
        assert_eq!(
            role_statements(&RoleChange::Rename { from: "o".into() }, "n", "c"),
            vec![r#"ALTER ROLE "o" RENAME TO "n""#]
        );
    }

    #[test]
    fn policies_are_kept_replaced_or_created() {
        let wanted = WantedPolicy {
            schema: "s".into(),
            table: "t".into(),
            name: "raito_1".into(),
            expression: r#"("region" = 'EU')"#.into(),
            fingerprint: "f1".into(),
            comment: "marker".into(),
        };
        let current = CurrentPolicy {
            schema: "s".into(),
            table: "t".into(),
            name: "raito_1".into(),
            fingerprint: "f1".into(),
            shape_ok: true,
        };
        assert!(
            policy_statements(
                "r",
                std::slice::from_ref(&wanted),
                std::slice::from_ref(&current)
            )
            .is_empty()
        );
        let changed = CurrentPolicy {
            fingerprint: "f0".into(),
            ..current
        };
        assert_eq!(
            policy_statements("r", &[wanted], std::slice::from_ref(&changed)),
            vec![
                r#"DROP POLICY "raito_1" ON "s"."t""#,
                r#"CREATE POLICY "raito_1" ON "s"."t" AS PERMISSIVE FOR SELECT TO "r" USING (("region" = 'EU'))"#,
                r#"COMMENT ON POLICY "raito_1" ON "s"."t" IS 'marker'"#,
            ]
        );
        assert_eq!(
            policy_statements("r", &[], &[changed]),
            vec![r#"DROP POLICY "raito_1" ON "s"."t""#]
        );
    }
}
