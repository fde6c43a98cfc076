//! Building an account's roles and grants the way Snowflake lets them be built: the role,
//! database role, user and object named must exist, a database role holds privileges only on
//! its own database's objects and is never granted to a user, a role grant may not close a
//! cycle, and granting what is already granted changes nothing. The methods mirror the SQL:
//!
//! | SQL | method |
//! |---|---|
//! | `CREATE ROLE r` | [`Account::create_role`] |
//! | `CREATE DATABASE ROLE d.r` | [`Account::create_database_role`] |
//! | `GRANT p ON <kind> <name> TO ROLE r` | [`Account::grant`], [`Account::add_grant`] |
//! | `GRANT p ON <kind> <name> TO DATABASE ROLE d.r` | [`Account::grant_to_database_role`] |
//! | `GRANT ROLE r TO USER u \| TO ROLE x` | [`Account::grant_role`] |
//! | `GRANT DATABASE ROLE d.r TO ROLE x \| DATABASE ROLE d.y \| SHARE s` | [`Account::grant_database_role`] |
//!
//! A test can also write `Role::grants` and `Role::granted_to` directly; nothing is checked then.
//!
//! The same checks serve the GRANT statements the stand-in executes (`exec::ddl`): the
//! functions marked `pub(crate)` below are the rules, the builder methods look names up by
//! scanning (fine for building a fixture) and the executor through its indexes.

use std::fmt;

use crate::error::{display_name, display_path};
use crate::model::{
    Account, Database, DatabaseRole, Grant, Grantee, ObjectKind, Role, RoleGrant, created,
};

/// What a builder method refuses, worded as Snowflake words its refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// What the statement names is not in the account: `what` (`Role`, `Database`, `Table`…)
    /// and the name as Snowflake prints it.
    DoesNotExist { what: &'static str, name: String },
    /// A role or database role of that name exists already.
    AlreadyExists(String),
    /// A grant Snowflake refuses, and why.
    NotGrantable(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::DoesNotExist { what, name } => {
                write!(f, "{what} '{name}' does not exist or not authorized.")
            }
            ModelError::AlreadyExists(name) => write!(f, "Object '{name}' already exists."),
            ModelError::NotGrantable(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ModelError {}

pub(crate) fn missing(what: &'static str, parts: &[&str]) -> ModelError {
    ModelError::DoesNotExist {
        what,
        name: display_path(parts),
    }
}

/// Who receives a privilege: an account role or a database role.
enum Holder<'a> {
    Role(&'a str),
    DatabaseRole(&'a str, &'a str),
}

impl Account {
    /// `CREATE ROLE name`, owned by `owner` (empty: none).
    pub fn create_role(&mut self, name: &str, owner: &str) -> Result<&mut Self, ModelError> {
        if self.roles.iter().any(|r| r.name == name) {
            return Err(ModelError::AlreadyExists(display_name(name)));
        }
        self.roles.push(Role {
            name: name.to_owned(),
            owner: owner.to_owned(),
            ..Role::default()
        });
        Ok(self)
    }

    /// `CREATE DATABASE ROLE database.name`, owned by `owner`.
    pub fn create_database_role(
        &mut self,
        database: &str,
        name: &str,
        owner: &str,
    ) -> Result<&mut Self, ModelError> {
        let db = self
            .databases
            .iter_mut()
            .find(|d| d.name == database)
            .ok_or_else(|| missing("Database", &[database]))?;
        if db.roles.iter().any(|r| r.name == name) {
            return Err(ModelError::AlreadyExists(display_path(&[database, name])));
        }
        db.roles.push(DatabaseRole {
            name: name.to_owned(),
            owner: owner.to_owned(),
            ..DatabaseRole::default()
        });
        Ok(self)
    }

    /// `GRANT privilege ON <on> name TO ROLE to_role`, granted by the object's owner (MANAGE
    /// GRANTS grants as the owner, so `granted_by` shows the owner), or by SECURITYADMIN for
    /// account privileges and objects without one. MANAGE GRANTS on the account also sets
    /// `Role::manage_grants`, IMPORTED PRIVILEGES on the SNOWFLAKE database
    /// `Role::account_usage`. `name` as [`Grant::new`] takes it.
    pub fn grant(
        &mut self,
        privilege: &str,
        on: ObjectKind,
        name: &[&str],
        to_role: &str,
    ) -> Result<&mut Self, ModelError> {
        let grant = self.owned_grant(Grant::new(privilege, on, name));
        self.add_grant(to_role, grant)
    }

    /// `GRANT privilege ON <on> name TO DATABASE ROLE database.role`, granted as
    /// [`Account::grant`] grants. The object must be in `database`.
    pub fn grant_to_database_role(
        &mut self,
        privilege: &str,
        on: ObjectKind,
        name: &[&str],
        database: &str,
        role: &str,
    ) -> Result<&mut Self, ModelError> {
        let grant = self.owned_grant(Grant::new(privilege, on, name));
        self.add(Holder::DatabaseRole(database, role), grant)
    }

    /// Grants `grant` as it is (its `granted_by`, `grant_option`, `created_on`) to the account
    /// role `to_role`.
    pub fn add_grant(&mut self, to_role: &str, grant: Grant) -> Result<&mut Self, ModelError> {
        self.add(Holder::Role(to_role), grant)
    }

    /// `GRANT ROLE role TO USER u` or `TO ROLE r` (`to` names a user or an account role),
    /// granted by the role's owner (SECURITYADMIN for a role without one).
    pub fn grant_role(&mut self, role: &str, to: Grantee) -> Result<&mut Self, ModelError> {
        let index = self
            .roles
            .iter()
            .position(|r| r.name == role)
            .ok_or_else(|| missing("Role", &[role]))?;
        match &to {
            Grantee::User(user) => {
                if !self.users.iter().any(|u| u.name == *user) {
                    return Err(missing("User", &[user]));
                }
            }
            Grantee::Role(grantee) => {
                if !self.roles.iter().any(|r| r.name == *grantee) {
                    return Err(missing("Role", &[grantee]));
                }
                // Snowflake refuses a grant that would make a role inherit itself.
                if grantee == role || self.inherits(role, grantee) {
                    return Err(role_cycle(role, grantee));
                }
            }
            Grantee::DatabaseRole { .. } | Grantee::Share(_) => {
                return Err(ModelError::NotGrantable(format!(
                    "An account role such as {} can be granted only to users and account roles.",
                    display_name(role)
                )));
            }
        }
        let target = &mut self.roles[index];
        if !target.granted_to.iter().any(|g| g.to == to) {
            let granted_by = grantor(&target.owner);
            target.granted_to.push(RoleGrant {
                to,
                granted_by,
                created_on: created(),
            });
        }
        Ok(self)
    }

    /// `GRANT DATABASE ROLE database.role TO ROLE r`, `TO DATABASE ROLE database.r` (the same
    /// database) or `TO SHARE s`, granted by the database role's owner.
    pub fn grant_database_role(
        &mut self,
        database: &str,
        role: &str,
        to: Grantee,
    ) -> Result<&mut Self, ModelError> {
        let db = self
            .databases
            .iter()
            .position(|d| d.name == database)
            .ok_or_else(|| missing("Database", &[database]))?;
        let index = self.databases[db]
            .roles
            .iter()
            .position(|r| r.name == role)
            .ok_or_else(|| missing("Database role", &[database, role]))?;
        match &to {
            Grantee::Role(grantee) => {
                if !self.roles.iter().any(|r| r.name == *grantee) {
                    return Err(missing("Role", &[grantee]));
                }
            }
            Grantee::DatabaseRole {
                database: other_db,
                role: other,
            } => {
                if other_db != database {
                    return Err(foreign_database_role(database));
                }
                if !self.databases[db].roles.iter().any(|r| r.name == *other) {
                    return Err(missing("Database role", &[database, other]));
                }
                if other == role || database_role_inherits(&self.databases[db], role, other) {
                    return Err(database_role_cycle(database, role, other));
                }
            }
            Grantee::Share(share) => {
                if !self.shares.iter().any(|s| s.name == *share) {
                    return Err(missing("Share", &[share]));
                }
            }
            Grantee::User(_) => {
                return Err(ModelError::NotGrantable(
                    "A database role cannot be granted to a user.".to_owned(),
                ));
            }
        }
        let target = &mut self.databases[db].roles[index];
        if !target.granted_to.iter().any(|g| g.to == to) {
            let granted_by = grantor(&target.owner);
            target.granted_to.push(RoleGrant {
                to,
                granted_by,
                created_on: created(),
            });
        }
        Ok(self)
    }

    /// `grant` with `granted_by` set to the owner of its object (see [`Account::grant`]).
    fn owned_grant(&self, grant: Grant) -> Grant {
        let owner = self.owner_of(&grant).unwrap_or_default();
        Grant {
            granted_by: grantor(owner),
            ..grant
        }
    }

    /// The owner the model records for the grant's object, if any.
    pub(crate) fn owner_of(&self, grant: &Grant) -> Option<&str> {
        let part = |i: usize| grant.name.get(i).map(String::as_str);
        let db = || {
            self.databases
                .iter()
                .find(|d| Some(d.name.as_str()) == part(0))
        };
        let schema = || {
            db()?
                .schemas
                .iter()
                .find(|s| Some(s.name.as_str()) == part(1))
        };
        match grant.on {
            ObjectKind::Database => db().map(|d| d.owner.as_str()),
            ObjectKind::Schema => schema().map(|s| s.owner.as_str()),
            ObjectKind::Table
            | ObjectKind::View
            | ObjectKind::MaterializedView
            | ObjectKind::ExternalTable
            | ObjectKind::DynamicTable
            | ObjectKind::EventTable => schema()?
                .tables
                .iter()
                .find(|t| Some(t.name.as_str()) == part(2))
                .map(|t| t.owner.as_str()),
            ObjectKind::Role => self
                .roles
                .iter()
                .find(|r| Some(r.name.as_str()) == part(0))
                .map(|r| r.owner.as_str()),
            ObjectKind::DatabaseRole => db()?
                .roles
                .iter()
                .find(|r| Some(r.name.as_str()) == part(1))
                .map(|r| r.owner.as_str()),
            ObjectKind::User => self
                .users
                .iter()
                .find(|u| Some(u.name.as_str()) == part(0))
                .map(|u| u.owner.as_str()),
            ObjectKind::Account
            | ObjectKind::Function
            | ObjectKind::Procedure
            | ObjectKind::Warehouse
            | ObjectKind::Integration => None,
        }
    }

    /// Checks the object of `grant` exists (and has the kind the grant says).
    pub(crate) fn check_object(&self, grant: &Grant) -> Result<(), ModelError> {
        let parts: Vec<&str> = grant.name.iter().map(String::as_str).collect();
        if parts.len() != grant.on.parts() {
            return Err(ModelError::NotGrantable(format!(
                "A grant on {} names {} part(s), not {}.",
                grant.on.as_str(),
                grant.on.parts(),
                parts.len()
            )));
        }
        let db = || {
            self.databases
                .iter()
                .find(|d| d.name == parts[0])
                .ok_or_else(|| missing("Database", &parts[..1]))
        };
        let schema = || {
            db()?
                .schemas
                .iter()
                .find(|s| s.name == parts[1])
                .ok_or_else(|| missing("Schema", &parts[..2]))
        };
        let found = match grant.on {
            ObjectKind::Account => true,
            ObjectKind::Database => db().is_ok(),
            ObjectKind::Schema => schema().is_ok(),
            ObjectKind::Table
            | ObjectKind::View
            | ObjectKind::MaterializedView
            | ObjectKind::ExternalTable
            | ObjectKind::DynamicTable
            | ObjectKind::EventTable => schema()?
                .tables
                .iter()
                .any(|t| t.name == parts[2] && ObjectKind::of_table(t.kind) == grant.on),
            ObjectKind::Function | ObjectKind::Procedure => {
                let db = db()?;
                let routines = if grant.on == ObjectKind::Function {
                    &db.functions
                } else {
                    &db.procedures
                };
                routines.iter().any(|r| {
                    r.schema_name == parts[1]
                        && r.name == parts[2]
                        && argument_types(&r.arguments) == grant.arguments
                })
            }
            ObjectKind::Warehouse => self.warehouses.iter().any(|w| w.name == parts[0]),
            ObjectKind::Integration => self.integrations.iter().any(|i| i.name == parts[0]),
            ObjectKind::Role => self.roles.iter().any(|r| r.name == parts[0]),
            ObjectKind::DatabaseRole => db()?.roles.iter().any(|r| r.name == parts[1]),
            ObjectKind::User => self.users.iter().any(|u| u.name == parts[0]),
        };
        if found {
            return Ok(());
        }
        let what = match grant.on {
            ObjectKind::Function => "Function",
            ObjectKind::Procedure => "Procedure",
            ObjectKind::Warehouse => "Warehouse",
            ObjectKind::Integration => "Integration",
            ObjectKind::Role => "Role",
            ObjectKind::DatabaseRole => "Database role",
            ObjectKind::User => "User",
            _ => "Object",
        };
        Err(missing(what, &parts))
    }

    fn add(&mut self, holder: Holder<'_>, grant: Grant) -> Result<&mut Self, ModelError> {
        self.check_object(&grant)?;
        let grants = match holder {
            Holder::Role(name) => {
                let role = self
                    .roles
                    .iter_mut()
                    .find(|r| r.name == name)
                    .ok_or_else(|| missing("Role", &[name]))?;
                set_switches(role, &grant, true);
                &mut role.grants
            }
            Holder::DatabaseRole(database, name) => {
                database_role_may_hold(&grant, database)?;
                let db = self
                    .databases
                    .iter_mut()
                    .find(|d| d.name == database)
                    .ok_or_else(|| missing("Database", &[database]))?;
                let role = db
                    .roles
                    .iter_mut()
                    .find(|r| r.name == name)
                    .ok_or_else(|| missing("Database role", &[database, name]))?;
                &mut role.grants
            }
        };
        // Granting a privilege the role holds already is not an error, and changes nothing.
        if !grants.iter().any(|g| same_privilege(g, &grant)) {
            grants.push(grant);
        }
        Ok(self)
    }

    /// Whether account role `role` inherits `other` (directly or through roles between).
    fn inherits(&self, role: &str, other: &str) -> bool {
        let mut seen = vec![role.to_owned()];
        let mut next = vec![role.to_owned()];
        while let Some(current) = next.pop() {
            for r in &self.roles {
                let granted = r
                    .granted_to
                    .iter()
                    .any(|g| g.to == Grantee::Role(current.clone()));
                if granted && !seen.contains(&r.name) {
                    if r.name == other {
                        return true;
                    }
                    seen.push(r.name.clone());
                    next.push(r.name.clone());
                }
            }
        }
        false
    }
}

/// Whether two grants are of the same privilege on the same object (whoever granted them, with
/// or without grant option).
pub(crate) fn same_privilege(a: &Grant, b: &Grant) -> bool {
    a.privilege == b.privilege && a.on == b.on && a.name == b.name && a.arguments == b.arguments
}

/// The model's switches a grant stands for: MANAGE GRANTS on the account
/// (`Role::manage_grants`), IMPORTED PRIVILEGES on the SNOWFLAKE database
/// (`Role::account_usage`). `on`: granted (true) or revoked (false).
pub(crate) fn set_switches(role: &mut Role, grant: &Grant, on: bool) {
    if grant.on == ObjectKind::Account && grant.privilege == "MANAGE GRANTS" {
        role.manage_grants = on;
    }
    if grant.on == ObjectKind::Database
        && grant.name == ["SNOWFLAKE"]
        && grant.privilege == "IMPORTED PRIVILEGES"
    {
        role.account_usage = on;
    }
}

/// Snowflake's rule for database roles: they hold privileges only on their own database and
/// the objects in it (never on the account, a warehouse, an integration…).
pub(crate) fn database_role_may_hold(grant: &Grant, database: &str) -> Result<(), ModelError> {
    let in_database = matches!(
        grant.on,
        ObjectKind::Database | ObjectKind::Schema | ObjectKind::DatabaseRole
    ) || grant.on.parts() == 3;
    if !in_database || grant.name.first().map(String::as_str) != Some(database) {
        return Err(ModelError::NotGrantable(format!(
            "A database role holds privileges only on objects of its database ({}).",
            display_name(database)
        )));
    }
    Ok(())
}

/// The refusal of `GRANT ROLE role TO ROLE grantee` when `grantee` is `role` or already
/// inherited by it (the grant would close a cycle).
pub(crate) fn role_cycle(role: &str, grantee: &str) -> ModelError {
    ModelError::NotGrantable(format!(
        "Cannot grant role {} to {}, as {} is already granted to {}.",
        display_name(role),
        display_name(grantee),
        display_name(grantee),
        display_name(role)
    ))
}

/// The same for `GRANT DATABASE ROLE database.role TO DATABASE ROLE database.other`.
pub(crate) fn database_role_cycle(database: &str, role: &str, other: &str) -> ModelError {
    ModelError::NotGrantable(format!(
        "Cannot grant database role {} to {}, as it is already granted to {}.",
        display_path(&[database, role]),
        display_path(&[database, other]),
        display_path(&[database, role])
    ))
}

/// The refusal of a database role granted to a database role of another database.
pub(crate) fn foreign_database_role(database: &str) -> ModelError {
    ModelError::NotGrantable(format!(
        "A database role can be granted only to database roles of its own database ({}).",
        display_name(database)
    ))
}

/// Whether database role `role` of `db` inherits its database role `other`.
pub(crate) fn database_role_inherits(db: &Database, role: &str, other: &str) -> bool {
    let mut seen = vec![role.to_owned()];
    let mut next = vec![role.to_owned()];
    while let Some(current) = next.pop() {
        for r in &db.roles {
            let granted = r.granted_to.iter().any(|g| {
                g.to == Grantee::DatabaseRole {
                    database: db.name.clone(),
                    role: current.clone(),
                }
            });
            if granted && !seen.contains(&r.name) {
                if r.name == other {
                    return true;
                }
                seen.push(r.name.clone());
                next.push(r.name.clone());
            }
        }
    }
    false
}

/// Who a grant is recorded as granted by: the owner, or SECURITYADMIN when there is none.
fn grantor(owner: &str) -> String {
    if owner.is_empty() {
        "SECURITYADMIN".to_owned()
    } else {
        owner.to_owned()
    }
}

/// The argument types of a SHOW FUNCTIONS `arguments` signature: `F(NUMBER, VARCHAR) RETURN
/// NUMBER` gives `NUMBER, VARCHAR`.
pub(crate) fn argument_types(signature: &str) -> String {
    let Some(open) = signature.find('(') else {
        return String::new();
    };
    let mut depth = 0;
    for (i, c) in signature[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return signature[open + 1..open + i].trim().to_owned();
                }
            }
            _ => {}
        }
    }
    signature[open + 1..].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Schema, Table, TableKind, User};

    fn account() -> Account {
        let mut account = Account {
            databases: vec![Database {
                name: "SALES".into(),
                owner: "SYSADMIN".into(),
                schemas: vec![Schema {
                    name: "PUBLIC".into(),
                    owner: "SYSADMIN".into(),
                    tables: vec![
                        Table {
                            name: "ORDERS".into(),
                            owner: "SYSADMIN".into(),
                            ..Table::default()
                        },
                        Table {
                            name: "V".into(),
                            kind: TableKind::View,
                            ..Table::default()
                        },
                    ],
                    ..Schema::default()
                }],
                ..Database::default()
            }],
            users: vec![User {
                name: "ANA".into(),
                ..User::default()
            }],
            ..Account::default()
        };
        account
            .create_role("ANALYST", "USERADMIN")
            .and_then(|a| a.create_role("READER", "USERADMIN"))
            .unwrap();
        account
    }

    #[test]
    fn grants_are_checked_recorded_once_and_granted_by_the_owner() {
        let mut account = account();
        account
            .grant(
                "select",
                ObjectKind::Table,
                &["SALES", "PUBLIC", "ORDERS"],
                "READER",
            )
            .and_then(|a| {
                a.grant(
                    "SELECT",
                    ObjectKind::Table,
                    &["SALES", "PUBLIC", "ORDERS"],
                    "READER",
                )
            })
            .and_then(|a| a.grant("USAGE", ObjectKind::Database, &["SALES"], "READER"))
            .unwrap();
        let reader = account.roles.iter().find(|r| r.name == "READER").unwrap();
        assert_eq!(
            reader.grants.len(),
            2,
            "a second identical grant changes nothing"
        );
        assert_eq!(
            (
                reader.grants[0].privilege.as_str(),
                reader.grants[0].granted_by.as_str()
            ),
            ("SELECT", "SYSADMIN")
        );
        assert_eq!(
            account
                .grant(
                    "SELECT",
                    ObjectKind::Table,
                    &["SALES", "PUBLIC", "V"],
                    "READER"
                )
                .err()
                .map(|e| e.to_string()),
            Some("Object 'SALES.PUBLIC.V' does not exist or not authorized.".to_owned()),
            "V is a view, not a table"
        );
        assert_eq!(
            account
                .grant("USAGE", ObjectKind::Database, &["SALES"], "NOPE")
                .err(),
            Some(ModelError::DoesNotExist {
                what: "Role",
                name: "NOPE".into()
            })
        );
        account
            .grant("MANAGE GRANTS", ObjectKind::Account, &[], "ANALYST")
            .unwrap();
        assert!(
            account
                .roles
                .iter()
                .any(|r| r.name == "ANALYST" && r.manage_grants)
        );
    }

    #[test]
    fn role_grants_refuse_cycles_users_of_database_roles_and_foreign_objects() {
        let mut account = account();
        account
            .grant_role("READER", Grantee::Role("ANALYST".into()))
            .and_then(|a| a.grant_role("ANALYST", Grantee::User("ANA".into())))
            .unwrap();
        assert!(matches!(
            account.grant_role("ANALYST", Grantee::Role("READER".into())),
            Err(ModelError::NotGrantable(_))
        ));
        account
            .create_database_role("SALES", "DR", "SYSADMIN")
            .unwrap();
        assert!(matches!(
            account.grant_database_role("SALES", "DR", Grantee::User("ANA".into())),
            Err(ModelError::NotGrantable(_))
        ));
        assert!(matches!(
            account.grant_to_database_role(
                "CREATE DATABASE",
                ObjectKind::Account,
                &[],
                "SALES",
                "DR"
            ),
            Err(ModelError::NotGrantable(_))
        ));
        account
            .grant_to_database_role(
                "USAGE",
                ObjectKind::Schema,
                &["SALES", "PUBLIC"],
                "SALES",
                "DR",
            )
            .and_then(|a| a.grant_database_role("SALES", "DR", Grantee::Role("ANALYST".into())))
            .unwrap();
        let dr = &account.databases[0].roles[0];
        assert_eq!((dr.grants.len(), dr.granted_to.len()), (1, 1));
        assert_eq!(dr.granted_to[0].granted_by, "SYSADMIN");
    }

    #[test]
    fn function_grants_carry_their_argument_types() {
        let grant = Grant::new(
            "usage",
            ObjectKind::Function,
            &["DB", "S", "ADD_ONE(NUMBER, VARCHAR)"],
        );
        assert_eq!(grant.name, ["DB", "S", "ADD_ONE"]);
        assert_eq!(grant.arguments, "NUMBER, VARCHAR");
        assert_eq!(
            argument_types("F(NUMBER(38,0), VARCHAR) RETURN NUMBER"),
            "NUMBER(38,0), VARCHAR"
        );
        assert_eq!(argument_types("F() RETURN NUMBER"), "");
    }

    #[test]
    fn every_account_starts_with_the_system_roles_and_their_hierarchy() {
        let account = Account::default();
        let names: Vec<&str> = account.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ACCOUNTADMIN",
                "ORGADMIN",
                "PUBLIC",
                "SECURITYADMIN",
                "SYSADMIN",
                "USERADMIN"
            ]
        );
        assert!(account.inherits("ACCOUNTADMIN", "USERADMIN"));
        assert!(!account.inherits("SYSADMIN", "SECURITYADMIN"));
    }
}
