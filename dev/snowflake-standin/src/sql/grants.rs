//! The SHOW commands of an access import:
//!
//! ```text
//! SHOW GRANTS TO ROLE r [LIMIT n]
//! SHOW GRANTS OF ROLE r [LIMIT n]
//! SHOW GRANTS TO DATABASE ROLE [db.]r [LIMIT n]     -- unqualified: the session's database
//! SHOW GRANTS OF DATABASE ROLE [db.]r [LIMIT n]
//! SHOW DATABASE ROLES IN DATABASE db [LIMIT n [FROM 'name']]
//! ```
//! Snowflake's other SHOW GRANTS forms (`ON …`, `TO USER`, `TO SHARE`, `OF SHARE`, `FUTURE`,
//! bare `SHOW GRANTS`) are outside what the stand-in serves: `001003` at their first token.
//! SHOW GRANTS takes `LIMIT` without a `FROM` cursor, as Snowflake's syntax has it.

use super::{Ident, Parser, Scope, Show, ShowKind, Statement};
use crate::error::SqlError;

/// The role a SHOW GRANTS names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GrantedRole {
    Account(Ident),
    /// `DATABASE ROLE [db.]role`; `database` `None`: the session's current database.
    Database {
        database: Option<Ident>,
        role: Ident,
    },
}

/// `SHOW GRANTS TO|OF [DATABASE] ROLE …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShowGrants {
    /// `OF` (who holds the role) rather than `TO` (what the role holds).
    pub of: bool,
    pub role: GrantedRole,
    pub limit: Option<u64>,
}

impl Parser<'_> {
    /// After `SHOW GRANTS`.
    pub(super) fn show_grants(&mut self) -> Result<Statement, SqlError> {
        let of = if self.eat_word("OF") {
            true
        } else {
            self.expect_word("TO")?;
            false
        };
        let role = if self.eat_word("DATABASE") {
            self.expect_word("ROLE")?;
            let first = self.ident()?;
            if self.eat_sym(".") {
                GrantedRole::Database {
                    database: Some(first),
                    role: self.ident()?,
                }
            } else {
                GrantedRole::Database {
                    database: None,
                    role: first,
                }
            }
        } else {
            self.expect_word("ROLE")?;
            GrantedRole::Account(self.ident()?)
        };
        let limit = if self.eat_word("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        Ok(Statement::ShowGrants(ShowGrants { of, role, limit }))
    }

    /// After `SHOW DATABASE`.
    pub(super) fn show_database_roles(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("ROLES")?;
        self.expect_word("IN")?;
        self.expect_word("DATABASE")?;
        let database = self.ident()?;
        let mut show = Show {
            kind: ShowKind::DatabaseRoles,
            like: None,
            scope: Some(Scope::Database(Some(database))),
            starts_with: None,
            limit: None,
            from: None,
        };
        if self.eat_word("LIMIT") {
            show.limit = Some(self.count()?);
            if self.eat_word("FROM") {
                show.from = Some(self.string()?);
            }
        }
        Ok(Statement::Show(show))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn parsed(sql: &str) -> Statement {
        match parse(sql, 1) {
            Ok((statement, _)) => statement,
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn error(sql: &str) -> String {
        match parse(sql, 1) {
            Ok(s) => panic!("{sql} parsed as {s:?}"),
            Err(e) => format!("{} {}", e.code, e.message),
        }
    }

    #[test]
    fn show_grants_names_an_account_or_database_role() {
        let Statement::ShowGrants(show) = parsed("show grants of role \"Odd Role\" limit 5") else {
            panic!("not SHOW GRANTS")
        };
        assert!(show.of);
        assert_eq!(show.limit, Some(5));
        assert!(matches!(
            show.role,
            GrantedRole::Account(Ident { ref name, quoted: true, .. }) if name == "Odd Role"
        ));
        let Statement::ShowGrants(show) = parsed("SHOW GRANTS TO DATABASE ROLE sales.reader")
        else {
            panic!("not SHOW GRANTS")
        };
        assert!(!show.of);
        assert!(matches!(
            show.role,
            GrantedRole::Database { database: Some(Ident { ref name, .. }), role: Ident { name: ref role, .. } }
                if name == "SALES" && role == "READER"
        ));
        assert!(matches!(
            parsed("show grants to database role reader"),
            Statement::ShowGrants(ShowGrants {
                role: GrantedRole::Database { database: None, .. },
                ..
            })
        ));
    }

    #[test]
    fn other_show_grants_forms_are_syntax_errors() {
        assert_eq!(
            error("SHOW GRANTS TO USER ANA"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 15 unexpected 'USER'."
        );
        assert_eq!(
            error("SHOW GRANTS ON DATABASE SALES"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 12 unexpected 'ON'."
        );
        assert_eq!(
            error("SHOW GRANTS"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 11 unexpected '<EOF>'."
        );
        assert_eq!(
            error("SHOW GRANTS TO ROLE R LIMIT 5 FROM 'X'"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 30 unexpected 'FROM'."
        );
        assert_eq!(
            error("SHOW DATABASE ROLES"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 19 unexpected '<EOF>'."
        );
        assert_eq!(
            error("SHOW DATABASE ROLES LIKE 'R%' IN DATABASE SALES"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 20 unexpected 'LIKE'."
        );
    }

    #[test]
    fn show_database_roles_takes_a_database_and_a_cursor() {
        assert_eq!(
            parsed("show database roles in database \"Finance Dept\" limit 10 from 'R'"),
            Statement::Show(Show {
                kind: ShowKind::DatabaseRoles,
                like: None,
                scope: Some(Scope::Database(Some(Ident {
                    name: "Finance Dept".into(),
                    quoted: true,
                    line: 1,
                    pos: 32
                }))),
                starts_with: None,
                limit: Some(10),
                from: Some("R".into()),
            })
        );
    }
}
