//! The statements of an access apply, which change the account (the policy statements among
//! them are parsed in `policies`):
//!
//! ```text
//! BEGIN [TRANSACTION | WORK] | START TRANSACTION | COMMIT [WORK] | ROLLBACK [WORK]
//! CREATE [DATABASE] ROLE [IF NOT EXISTS] name [COMMENT = 'text']
//! ALTER [DATABASE] ROLE [IF EXISTS] name {RENAME TO name | SET COMMENT = 'text' | UNSET COMMENT}
//! DROP [DATABASE] ROLE [IF EXISTS] name
//! {GRANT | REVOKE} ROLE r {TO | FROM} {USER u | ROLE r2}
//! {GRANT | REVOKE} DATABASE ROLE [db.]r {TO | FROM} {ROLE r2 | DATABASE ROLE [db.]r2}
//! GRANT privilege [, ...] ON target TO {[ROLE] r | DATABASE ROLE [db.]r} [WITH GRANT OPTION]
//! REVOKE privilege [, ...] ON target FROM {[ROLE] r | DATABASE ROLE [db.]r}
//!     target: ACCOUNT | DATABASE d | SCHEMA [d.]s | {TABLE | VIEW | MATERIALIZED VIEW |
//!             EXTERNAL TABLE | DYNAMIC TABLE | ICEBERG TABLE | EVENT TABLE} [[d.]s.]t |
//!             WAREHOUSE w | INTEGRATION i | {FUNCTION | PROCEDURE} [[d.]s.]f(type, ...)
//! ```
//! A database role's name without its database, and an object's name without its database or
//! schema, are resolved against the session's, as Snowflake resolves them.
//!
//! A privilege is one or more words (`SELECT`, `CREATE SCHEMA`, `APPLY MASKING POLICY`),
//! compared upper-case, and must be one Snowflake defines for the target's kind (the lists
//! below, from Snowflake's GRANT <privileges> reference). One that is not, like `ALL
//! [PRIVILEGES]` and `OWNERSHIP` (GRANT OWNERSHIP is a command of its own), is a `001003` syntax
//! error at its first word: Snowflake's grammar is per object kind, and the stand-in refuses at
//! the token it cannot take, as it refuses every statement outside its grammar. The forms of
//! GRANT the apply does not send (`ON ALL`, `ON FUTURE`, `TO SHARE`, `TO USER` for privileges,
//! `CASCADE`, `GRANT OPTION FOR`) are refused the same way.
//!
//! A function's or procedure's argument types are compared as SHOW FUNCTIONS prints them:
//! upper-case, without precision (`NUMBER(38,0)` is `NUMBER`), synonyms folded (`INT` is
//! `NUMBER`, `STRING` is `VARCHAR`, `DOUBLE` is `FLOAT`).

use super::{Ident, Parser, Statement};
use crate::error::SqlError;
use crate::model::ObjectKind;
use crate::sql::lexer::{Tok, Token};

/// BEGIN, COMMIT, ROLLBACK: served only inside a multi-statement request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transaction {
    Begin,
    Commit,
    Rollback,
}

impl Transaction {
    pub fn keyword(self) -> &'static str {
        match self {
            Transaction::Begin => "BEGIN",
            Transaction::Commit => "COMMIT",
            Transaction::Rollback => "ROLLBACK",
        }
    }
}

/// A role as a statement names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RoleName {
    Account(Ident),
    /// `[database.]role`; `database` `None`: the session's current database.
    Database {
        database: Option<Ident>,
        role: Ident,
    },
}

impl RoleName {
    /// The role's own name (the last part).
    pub fn ident(&self) -> &Ident {
        match self {
            RoleName::Account(role) | RoleName::Database { role, .. } => role,
        }
    }
}

/// Whom a role is granted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RoleHolder {
    User(Ident),
    Role(RoleName),
}

/// What ALTER ROLE changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RoleChange {
    Rename(RoleName),
    /// `SET COMMENT = 'text'`; `UNSET COMMENT` sets the empty comment.
    Comment(String),
}

/// The object a privilege is granted on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// As the grant records it (an Iceberg table is a TABLE).
    pub kind: ObjectKind,
    /// `ON ICEBERG TABLE`: the table must be an Iceberg table.
    pub iceberg: bool,
    /// The name as written: at most `kind.parts()` parts, the leading ones possibly left out.
    pub name: Vec<Ident>,
    /// A function's or procedure's argument types, normalised (`NUMBER, VARCHAR`).
    pub arguments: String,
    /// Where the target's kind was written, for messages.
    pub line: usize,
    pub pos: usize,
}

/// One privilege as written: upper-case words joined by one space, and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Privilege {
    pub name: String,
    pub line: usize,
    pub pos: usize,
}

/// A statement that changes the account's roles and grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    CreateRole {
        role: RoleName,
        if_not_exists: bool,
        comment: Option<String>,
    },
    AlterRole {
        role: RoleName,
        if_exists: bool,
        change: RoleChange,
    },
    DropRole {
        role: RoleName,
        if_exists: bool,
    },
    /// `GRANT ROLE` / `GRANT DATABASE ROLE` (`revoke`: the REVOKE).
    GrantRole {
        role: RoleName,
        to: RoleHolder,
        revoke: bool,
    },
    /// `GRANT <privileges> ON <target>` / REVOKE.
    Privileges {
        privileges: Vec<Privilege>,
        on: Target,
        to: RoleName,
        revoke: bool,
        grant_option: bool,
    },
    /// A masking or row access policy created, dropped, attached or detached (see `policies`).
    Policy(super::PolicyWrite),
}

/// The global privileges (`ON ACCOUNT`).
const ACCOUNT_PRIVILEGES: &[&str] = &[
    "APPLY AGGREGATION POLICY",
    "APPLY AUTHENTICATION POLICY",
    "APPLY BACKUP RETENTION LOCK",
    "APPLY JOIN POLICY",
    "APPLY MASKING POLICY",
    "APPLY PACKAGES POLICY",
    "APPLY PASSWORD POLICY",
    "APPLY PROJECTION POLICY",
    "APPLY ROW ACCESS POLICY",
    "APPLY SESSION POLICY",
    "APPLY TAG",
    "ATTACH POLICY",
    "AUDIT",
    "BIND SERVICE ENDPOINT",
    "CREATE ACCOUNT",
    "CREATE API INTEGRATION",
    "CREATE APPLICATION",
    "CREATE APPLICATION PACKAGE",
    "CREATE COMPUTE POOL",
    "CREATE CREDENTIAL",
    "CREATE DATA EXCHANGE LISTING",
    "CREATE DATABASE",
    "CREATE EXTERNAL VOLUME",
    "CREATE FAILOVER GROUP",
    "CREATE INTEGRATION",
    "CREATE NETWORK POLICY",
    "CREATE REPLICATION GROUP",
    "CREATE ROLE",
    "CREATE SHARE",
    "CREATE USER",
    "CREATE WAREHOUSE",
    "EXECUTE ALERT",
    "EXECUTE DATA METRIC FUNCTION",
    "EXECUTE MANAGED ALERT",
    "EXECUTE MANAGED TASK",
    "EXECUTE TASK",
    "IMPORT SHARE",
    "MANAGE ACCOUNT SUPPORT CASES",
    "MANAGE EVENT SHARING",
    "MANAGE GRANTS",
    "MANAGE LISTING AUTO FULFILLMENT",
    "MANAGE ORGANIZATION SUPPORT CASES",
    "MANAGE USER SUPPORT CASES",
    "MANAGE WAREHOUSES",
    "MODIFY LOG LEVEL",
    "MODIFY SESSION LOG LEVEL",
    "MODIFY SESSION TRACE LEVEL",
    "MODIFY TRACE LEVEL",
    "MONITOR",
    "MONITOR EXECUTION",
    "MONITOR SECURITY",
    "MONITOR USAGE",
    "OVERRIDE SHARE RESTRICTIONS",
    "PURCHASE DATA EXCHANGE LISTING",
    "READ SESSION",
    "RESOLVE ALL",
];

const DATABASE_PRIVILEGES: &[&str] = &[
    "APPLYBUDGET",
    "CREATE DATABASE ROLE",
    "CREATE SCHEMA",
    "IMPORTED PRIVILEGES",
    "MODIFY",
    "MONITOR",
    "REFERENCE_USAGE",
    "USAGE",
];

const SCHEMA_PRIVILEGES: &[&str] = &[
    "ADD SEARCH OPTIMIZATION",
    "APPLYBUDGET",
    "MODIFY",
    "MONITOR",
    "USAGE",
];

/// The object types of a schema's `CREATE <type>` privilege.
const SCHEMA_CREATE: &[&str] = &[
    "AGGREGATION POLICY",
    "ALERT",
    "AUTHENTICATION POLICY",
    "CORTEX SEARCH SERVICE",
    "DATA METRIC FUNCTION",
    "DATASET",
    "DYNAMIC TABLE",
    "EVENT TABLE",
    "EXTERNAL TABLE",
    "FILE FORMAT",
    "FUNCTION",
    "GIT REPOSITORY",
    "HYBRID TABLE",
    "ICEBERG TABLE",
    "IMAGE REPOSITORY",
    "JOIN POLICY",
    "MASKING POLICY",
    "MATERIALIZED VIEW",
    "MODEL",
    "NETWORK RULE",
    "NOTEBOOK",
    "PACKAGES POLICY",
    "PASSWORD POLICY",
    "PIPE",
    "PROCEDURE",
    "PROJECTION POLICY",
    "ROW ACCESS POLICY",
    "SECRET",
    "SEQUENCE",
    "SERVICE",
    "SESSION POLICY",
    "SNAPSHOT",
    "STAGE",
    "STREAM",
    "STREAMLIT",
    "TABLE",
    "TAG",
    "TASK",
    "TEMPORARY TABLE",
    "VIEW",
];

const TABLE_PRIVILEGES: &[&str] = &[
    "APPLYBUDGET",
    "DELETE",
    "EVOLVE SCHEMA",
    "INSERT",
    "REBUILD",
    "REFERENCES",
    "SELECT",
    "TRUNCATE",
    "UPDATE",
];

const VIEW_PRIVILEGES: &[&str] = &["REFERENCES", "SELECT"];
const MATERIALIZED_VIEW_PRIVILEGES: &[&str] = &["APPLYBUDGET", "REFERENCES", "SELECT"];
const DYNAMIC_TABLE_PRIVILEGES: &[&str] = &["MONITOR", "OPERATE", "SELECT"];
const EVENT_TABLE_PRIVILEGES: &[&str] = &["DELETE", "INSERT", "SELECT", "TRUNCATE"];
const WAREHOUSE_PRIVILEGES: &[&str] = &["APPLYBUDGET", "MODIFY", "MONITOR", "OPERATE", "USAGE"];
const INTEGRATION_PRIVILEGES: &[&str] = &["USAGE", "USE_ANY_ROLE"];
const ROUTINE_PRIVILEGES: &[&str] = &["USAGE"];

/// Whether Snowflake defines `privilege` (upper-case) for objects of `kind`.
pub(crate) fn privilege_fits(kind: ObjectKind, privilege: &str) -> bool {
    let list = match kind {
        ObjectKind::Account => ACCOUNT_PRIVILEGES,
        ObjectKind::Database => DATABASE_PRIVILEGES,
        ObjectKind::Schema => {
            if let Some(object) = privilege.strip_prefix("CREATE ")
                && SCHEMA_CREATE.contains(&object)
            {
                return true;
            }
            SCHEMA_PRIVILEGES
        }
        ObjectKind::Table => TABLE_PRIVILEGES,
        ObjectKind::View | ObjectKind::ExternalTable => VIEW_PRIVILEGES,
        ObjectKind::MaterializedView => MATERIALIZED_VIEW_PRIVILEGES,
        ObjectKind::DynamicTable => DYNAMIC_TABLE_PRIVILEGES,
        ObjectKind::EventTable => EVENT_TABLE_PRIVILEGES,
        ObjectKind::Warehouse => WAREHOUSE_PRIVILEGES,
        ObjectKind::Integration => INTEGRATION_PRIVILEGES,
        ObjectKind::Function | ObjectKind::Procedure => ROUTINE_PRIVILEGES,
        ObjectKind::Role | ObjectKind::DatabaseRole | ObjectKind::User => &[],
    };
    list.contains(&privilege)
}

/// An argument type as SHOW FUNCTIONS prints it: `INT` → `NUMBER`, `STRING` → `VARCHAR`…
fn canonical_type(written: &str) -> String {
    let canonical = match written {
        "INT" | "INTEGER" | "BIGINT" | "SMALLINT" | "TINYINT" | "BYTEINT" | "DECIMAL"
        | "NUMERIC" => "NUMBER",
        "STRING" | "TEXT" | "CHAR" | "CHARACTER" | "NCHAR" | "NVARCHAR" | "NVARCHAR2"
        | "CHAR VARYING" | "NCHAR VARYING" => "VARCHAR",
        "DOUBLE" | "DOUBLE PRECISION" | "REAL" | "FLOAT4" | "FLOAT8" => "FLOAT",
        "DATETIME" => "TIMESTAMP_NTZ",
        "VARBINARY" => "BINARY",
        other => other,
    };
    canonical.to_owned()
}

impl Parser<'_> {
    /// The token after the next one.
    pub(super) fn peek_second(&self) -> &Token {
        &self.tokens[(self.at + 1).min(self.tokens.len() - 1)]
    }

    /// After BEGIN, START, COMMIT or ROLLBACK (`kind`).
    pub(super) fn transaction(&mut self, kind: Transaction) -> Result<Statement, SqlError> {
        if kind == Transaction::Begin {
            let _ = self.eat_word("TRANSACTION") || self.eat_word("WORK");
        } else {
            self.eat_word("WORK");
        }
        Ok(Statement::Transaction(kind))
    }

    /// After START: `TRANSACTION`.
    pub(super) fn start_transaction(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("TRANSACTION")?;
        Ok(Statement::Transaction(Transaction::Begin))
    }

    /// `ROLE name` or `DATABASE ROLE [db.]name`, the keywords not yet read.
    fn role_keyword_and_name(&mut self) -> Result<RoleName, SqlError> {
        let database = self.eat_word("DATABASE");
        self.expect_word("ROLE")?;
        self.role_name(database)
    }

    fn role_name(&mut self, database: bool) -> Result<RoleName, SqlError> {
        let first = self.ident()?;
        if !database {
            return Ok(RoleName::Account(first));
        }
        if self.eat_sym(".") {
            Ok(RoleName::Database {
                database: Some(first),
                role: self.ident()?,
            })
        } else {
            Ok(RoleName::Database {
                database: None,
                role: first,
            })
        }
    }

    fn if_exists(&mut self) -> Result<bool, SqlError> {
        if self.eat_word("IF") {
            self.expect_word("EXISTS")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn comment(&mut self) -> Result<String, SqlError> {
        self.expect_word("COMMENT")?;
        self.expect_sym("=")?;
        self.string()
    }

    /// After CREATE.
    pub(super) fn create(&mut self) -> Result<Statement, SqlError> {
        if self.peek().is_word("MASKING") || self.peek().is_word("ROW") {
            return self.create_policy();
        }
        let database = self.eat_word("DATABASE");
        self.expect_word("ROLE")?;
        let if_not_exists = if self.eat_word("IF") {
            self.expect_word("NOT")?;
            self.expect_word("EXISTS")?;
            true
        } else {
            false
        };
        let role = self.role_name(database)?;
        let comment = if self.peek().is_word("COMMENT") {
            Some(self.comment()?)
        } else {
            None
        };
        Ok(Statement::Write(Write::CreateRole {
            role,
            if_not_exists,
            comment,
        }))
    }

    /// After ALTER.
    pub(super) fn alter(&mut self) -> Result<Statement, SqlError> {
        if self.peek().is_word("TABLE") || self.peek().is_word("VIEW") {
            return self.alter_relation();
        }
        let database = self.eat_word("DATABASE");
        self.expect_word("ROLE")?;
        let if_exists = self.if_exists()?;
        let role = self.role_name(database)?;
        let change = if self.eat_word("RENAME") {
            self.expect_word("TO")?;
            RoleChange::Rename(self.role_name(database)?)
        } else if self.eat_word("SET") {
            RoleChange::Comment(self.comment()?)
        } else if self.eat_word("UNSET") {
            self.expect_word("COMMENT")?;
            RoleChange::Comment(String::new())
        } else {
            return Err(self.unexpected());
        };
        Ok(Statement::Write(Write::AlterRole {
            role,
            if_exists,
            change,
        }))
    }

    /// After DROP.
    pub(super) fn drop_role(&mut self) -> Result<Statement, SqlError> {
        if self.peek().is_word("MASKING") || self.peek().is_word("ROW") {
            return self.drop_policy();
        }
        let database = self.eat_word("DATABASE");
        self.expect_word("ROLE")?;
        let if_exists = self.if_exists()?;
        let role = self.role_name(database)?;
        Ok(Statement::Write(Write::DropRole { role, if_exists }))
    }

    /// After GRANT (`revoke` false) or REVOKE.
    pub(super) fn grant(&mut self, revoke: bool) -> Result<Statement, SqlError> {
        let to_word = if revoke { "FROM" } else { "TO" };
        if self.peek().is_word("ROLE")
            || (self.peek().is_word("DATABASE") && self.peek_second().is_word("ROLE"))
        {
            let role = self.role_keyword_and_name()?;
            self.expect_word(to_word)?;
            let to = match role {
                // GRANT ROLE r TO { ROLE r2 | USER u }.
                RoleName::Account(_) => {
                    if self.eat_word("USER") {
                        RoleHolder::User(self.ident()?)
                    } else {
                        self.expect_word("ROLE")?;
                        RoleHolder::Role(RoleName::Account(self.ident()?))
                    }
                }
                // GRANT DATABASE ROLE d.r TO { ROLE r2 | DATABASE ROLE d.r2 }.
                RoleName::Database { .. } => RoleHolder::Role(self.role_keyword_and_name()?),
            };
            return Ok(Statement::Write(Write::GrantRole { role, to, revoke }));
        }
        let privileges = self.privileges()?;
        self.expect_word("ON")?;
        let on = self.target()?;
        if let Some(bad) = privileges
            .iter()
            .find(|p| !privilege_fits(on.kind, &p.name))
        {
            let first = bad.name.split(' ').next().unwrap_or_default();
            return Err(SqlError::syntax(bad.line, bad.pos, first));
        }
        self.expect_word(to_word)?;
        let to = if self.eat_word("DATABASE") {
            self.expect_word("ROLE")?;
            self.role_name(true)?
        } else {
            // `TO [ROLE] name`: the keyword is optional for account roles.
            self.eat_word("ROLE");
            RoleName::Account(self.ident()?)
        };
        let grant_option = if !revoke && self.eat_word("WITH") {
            self.expect_word("GRANT")?;
            self.expect_word("OPTION")?;
            true
        } else {
            false
        };
        Ok(Statement::Write(Write::Privileges {
            privileges,
            on,
            to,
            revoke,
            grant_option,
        }))
    }

    fn privileges(&mut self) -> Result<Vec<Privilege>, SqlError> {
        let mut privileges = Vec::new();
        loop {
            let start = self.peek().clone();
            let mut words = Vec::new();
            while let Tok::Word(word) = &self.peek().tok {
                if self.peek().is_word("ON") {
                    break;
                }
                words.push(word.to_uppercase());
                self.at += 1;
            }
            if words.is_empty() {
                return Err(self.unexpected());
            }
            privileges.push(Privilege {
                name: words.join(" "),
                line: start.line,
                pos: start.pos,
            });
            if !self.eat_sym(",") {
                return Ok(privileges);
            }
        }
    }

    fn target(&mut self) -> Result<Target, SqlError> {
        let at = self.peek().clone();
        let mut iceberg = false;
        let kind = if self.eat_word("ACCOUNT") {
            ObjectKind::Account
        } else if self.eat_word("DATABASE") {
            ObjectKind::Database
        } else if self.eat_word("SCHEMA") {
            ObjectKind::Schema
        } else if self.eat_word("TABLE") {
            ObjectKind::Table
        } else if self.eat_word("VIEW") {
            ObjectKind::View
        } else if self.eat_word("MATERIALIZED") {
            self.expect_word("VIEW")?;
            ObjectKind::MaterializedView
        } else if self.eat_word("EXTERNAL") {
            self.expect_word("TABLE")?;
            ObjectKind::ExternalTable
        } else if self.eat_word("DYNAMIC") {
            self.expect_word("TABLE")?;
            ObjectKind::DynamicTable
        } else if self.eat_word("EVENT") {
            self.expect_word("TABLE")?;
            ObjectKind::EventTable
        } else if self.eat_word("ICEBERG") {
            self.expect_word("TABLE")?;
            iceberg = true;
            ObjectKind::Table
        } else if self.eat_word("WAREHOUSE") {
            ObjectKind::Warehouse
        } else if self.eat_word("INTEGRATION") {
            ObjectKind::Integration
        } else if self.eat_word("FUNCTION") {
            ObjectKind::Function
        } else if self.eat_word("PROCEDURE") {
            ObjectKind::Procedure
        } else {
            return Err(self.unexpected());
        };
        let mut name = Vec::new();
        if kind != ObjectKind::Account {
            name.push(self.ident()?);
            while name.len() < kind.parts() && self.eat_sym(".") {
                name.push(self.ident()?);
            }
        }
        let arguments = if matches!(kind, ObjectKind::Function | ObjectKind::Procedure) {
            self.argument_types()?
        } else {
            String::new()
        };
        Ok(Target {
            kind,
            iceberg,
            name,
            arguments,
            line: at.line,
            pos: at.pos,
        })
    }

    /// `(type, ...)`, normalised as SHOW FUNCTIONS prints argument types.
    fn argument_types(&mut self) -> Result<String, SqlError> {
        self.expect_sym("(")?;
        let mut types: Vec<String> = Vec::new();
        let mut current: Vec<String> = Vec::new();
        let mut depth = 0usize;
        loop {
            let token = self.peek().clone();
            match &token.tok {
                Tok::Eof => return Err(self.unexpected()),
                Tok::Sym(s) if s == "(" => depth += 1,
                Tok::Sym(s) if s == ")" && depth > 0 => depth -= 1,
                Tok::Sym(s) if s == ")" => {
                    self.at += 1;
                    break;
                }
                Tok::Sym(s) if s == "," && depth == 0 => {
                    if current.is_empty() {
                        return Err(self.unexpected());
                    }
                    types.push(canonical_type(&current.join(" ")));
                    current.clear();
                }
                // Precision and scale, inside the type's parentheses, are not compared.
                _ if depth > 0 => {}
                Tok::Word(word) => current.push(word.to_uppercase()),
                _ => return Err(self.unexpected()),
            }
            self.at += 1;
        }
        if !current.is_empty() {
            types.push(canonical_type(&current.join(" ")));
        } else if !types.is_empty() {
            // `f(NUMBER, )`: a comma with nothing after it.
            return Err(SqlError::syntax(
                self.tokens[self.at - 1].line,
                self.tokens[self.at - 1].pos,
                ")",
            ));
        }
        Ok(types.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn parsed(sql: &str) -> Write {
        match parse(sql, 1) {
            Ok((Statement::Write(write), _)) => write,
            Ok((other, _)) => panic!("{sql} parsed as {other:?}"),
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn error(sql: &str) -> String {
        match parse(sql, 1) {
            Ok(s) => panic!("{sql} parsed as {s:?}"),
            Err(e) => format!("{} {}", e.code, e.message),
        }
    }

    fn name(write: &Write) -> (String, bool) {
        match write {
            Write::CreateRole { role, .. }
            | Write::AlterRole { role, .. }
            | Write::DropRole { role, .. }
            | Write::GrantRole { role, .. } => (role.ident().name.clone(), role.ident().quoted),
            Write::Privileges { to, .. } => (to.ident().name.clone(), to.ident().quoted),
            Write::Policy(_) => panic!("not a role statement"),
        }
    }

    #[test]
    fn role_statements_take_their_options_and_names() {
        let create = parsed(r#"create role if not exists "Odd ""Role""" comment = 'it''s \'x\''"#);
        assert_eq!(
            create,
            Write::CreateRole {
                role: RoleName::Account(Ident {
                    name: "Odd \"Role\"".into(),
                    quoted: true,
                    line: 1,
                    pos: 26
                }),
                if_not_exists: true,
                comment: Some("it's 'x'".into()),
            }
        );
        let Write::AlterRole {
            role,
            if_exists: true,
            change: RoleChange::Rename(RoleName::Database { database, role: to }),
        } = parsed("ALTER DATABASE ROLE IF EXISTS sales.r RENAME TO sales.r2")
        else {
            panic!("not a database role rename")
        };
        assert_eq!(
            (
                role.ident().name.as_str(),
                database.map(|d| d.name),
                to.name
            ),
            ("R", Some("SALES".to_owned()), "R2".to_owned())
        );
        assert!(matches!(
            parsed("alter role r unset comment"),
            Write::AlterRole { change: RoleChange::Comment(c), .. } if c.is_empty()
        ));
        assert!(matches!(
            parsed("drop database role r"),
            Write::DropRole {
                role: RoleName::Database { database: None, .. },
                if_exists: false
            }
        ));
        assert_eq!(name(&parsed("DROP ROLE café")), ("CAFÉ".to_owned(), false));
    }

    #[test]
    fn role_grants_name_users_roles_and_database_roles() {
        assert!(matches!(
            parsed("revoke role r from user \"ana\""),
            Write::GrantRole { to: RoleHolder::User(Ident { ref name, .. }), revoke: true, .. } if name == "ana"
        ));
        assert!(matches!(
            parsed("GRANT DATABASE ROLE d.r TO DATABASE ROLE d.r2"),
            Write::GrantRole {
                role: RoleName::Database { .. },
                to: RoleHolder::Role(RoleName::Database { .. }),
                revoke: false
            }
        ));
        // An account role goes to users and account roles only; a database role never to a
        // user.
        assert_eq!(
            error("GRANT ROLE R TO DATABASE ROLE D.X"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 16 unexpected 'DATABASE'."
        );
        assert_eq!(
            error("GRANT DATABASE ROLE D.R TO USER U"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 27 unexpected 'USER'."
        );
    }

    #[test]
    fn privileges_must_fit_the_kind_of_their_object() {
        let Write::Privileges {
            privileges,
            on,
            to,
            grant_option,
            ..
        } = parsed(
            "grant select, references on materialized view db.s.mv to role r with grant option",
        )
        else {
            panic!("not a privilege grant")
        };
        let names: Vec<&str> = privileges.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["SELECT", "REFERENCES"]);
        assert_eq!(on.kind, ObjectKind::MaterializedView);
        assert_eq!(on.name.len(), 3);
        assert!(grant_option);
        assert!(matches!(to, RoleName::Account(_)));
        assert!(matches!(
            parsed("GRANT CREATE MASKING POLICY, usage ON SCHEMA s TO r"),
            Write::Privileges { on: Target { kind: ObjectKind::Schema, ref name, .. }, .. } if name.len() == 1
        ));
        assert!(matches!(
            parsed("GRANT SELECT ON ICEBERG TABLE d.s.t TO DATABASE ROLE d.r"),
            Write::Privileges {
                on: Target {
                    kind: ObjectKind::Table,
                    iceberg: true,
                    ..
                },
                to: RoleName::Database { .. },
                ..
            }
        ));
        assert_eq!(
            error("GRANT SELECT ON WAREHOUSE W TO ROLE R"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 6 unexpected 'SELECT'."
        );
        assert_eq!(
            error("GRANT USAGE, ALL PRIVILEGES ON DATABASE D TO ROLE R"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 13 unexpected 'ALL'."
        );
        assert_eq!(
            error("GRANT SELECT ON ALL TABLES IN SCHEMA D.S TO ROLE R"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 16 unexpected 'ALL'."
        );
        assert_eq!(
            error("GRANT USAGE ON DATABASE D.S TO ROLE R"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 25 unexpected '.'."
        );
        assert_eq!(
            error("REVOKE SELECT ON TABLE D.S.T FROM ROLE R WITH GRANT OPTION"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 41 unexpected 'WITH'."
        );
    }

    #[test]
    fn routine_argument_types_are_normalised() {
        let Write::Privileges { on, .. } = parsed(
            "GRANT USAGE ON FUNCTION d.s.\"f\"(int, NUMBER(38, 0), string, double precision) TO ROLE r",
        ) else {
            panic!("not a privilege grant")
        };
        assert_eq!(on.arguments, "NUMBER, NUMBER, VARCHAR, FLOAT");
        assert_eq!(on.name[2].name, "f");
        let Write::Privileges { on, .. } = parsed("GRANT USAGE ON PROCEDURE d.s.p() TO ROLE r")
        else {
            panic!("not a privilege grant")
        };
        assert_eq!(on.arguments, "");
        assert_eq!(
            error("GRANT USAGE ON FUNCTION d.s.f TO ROLE r"),
            "001003 SQL compilation error:\nsyntax error line 1 at position 30 unexpected 'TO'."
        );
    }

    #[test]
    fn transaction_control_parses_with_its_optional_words() {
        for (sql, kind) in [
            ("begin", Transaction::Begin),
            ("BEGIN TRANSACTION", Transaction::Begin),
            ("start transaction", Transaction::Begin),
            ("commit work", Transaction::Commit),
            ("ROLLBACK", Transaction::Rollback),
        ] {
            assert!(
                matches!(parse(sql, 1), Ok((Statement::Transaction(k), _)) if k == kind),
                "{sql}"
            );
        }
    }
}
