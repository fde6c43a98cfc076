//! The account the stand-in serves: plain structs a test builds (every one `Default`). While
//! the stand-in runs, only the statements of an access apply change it (roles, database roles,
//! their grants and memberships: see `exec::ddl`; masking and row access policies and their
//! attachments: see `exec::policies`); `StandIn::with_account` reads it. Names are
//! stored as Snowflake stores them (unquoted identifiers upper-case, quoted ones exact); what
//! the SQL API prints is derived from them in `exec`. Roles carry their grants
//! (`Role::grants`, `Role::granted_to`); `grants` builds them with Snowflake's checks
//! (`Account::grant`, `Account::grant_role`, …).

use std::sync::Arc;

use time::OffsetDateTime;

/// When every object of the model was created (it keeps no history): 2024-01-01 00:00:00 UTC.
/// SHOW prints it as `created_on`; it is also the default time of a grant.
pub(crate) const CREATED_SECONDS: i64 = 1_704_067_200;

/// [`CREATED_SECONDS`] as a time.
pub(crate) fn created() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(CREATED_SECONDS)
}

/// One Snowflake account, reached as `<ORGANIZATION>-<NAME>` (upper-case) in a JWT.
/// `Account::default()` is an account as Snowflake creates one: no objects, and the system
/// roles with their hierarchy ([`Role::system_roles`]).
#[derive(Clone, Debug)]
pub struct Account {
    /// `CURRENT_ORGANIZATION_NAME()`.
    pub organization: String,
    /// `CURRENT_ACCOUNT_NAME()`.
    pub name: String,
    /// The legacy account locator (`XY12345`), also accepted as the account of a JWT; empty when
    /// the account has none.
    pub locator: String,
    pub databases: Vec<Database>,
    pub users: Vec<User>,
    /// The account roles, with what is granted to them and whom they are granted to. Names are
    /// unique. A struct literal that sets `roles` has only those (the system roles are not added).
    pub roles: Vec<Role>,
    pub warehouses: Vec<Warehouse>,
    pub shares: Vec<Share>,
    pub integrations: Vec<Integration>,
    /// What `SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES` holds.
    pub tag_references: Vec<TagReference>,
    /// Every query run in the account, as `SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY` (and, for the
    /// queries that have one, `ACCESS_HISTORY`) will show it: a record appears there only once
    /// its latency has passed after its `end_time` and disappears 365 days after its
    /// `start_time` (see `Options::query_history_latency`). Query ids are unique.
    pub query_history: Vec<QueryRecord>,
    /// A Standard Edition account: `ACCOUNT_USAGE.ACCESS_HISTORY` (an Enterprise Edition view)
    /// does not exist, and reading it is `002003`; every masking and row access policy
    /// statement (CREATE, DROP, attaching, SHOW, POLICY_REFERENCES) is `000002`. Default: false
    /// (Enterprise Edition).
    pub standard_edition: bool,
    /// The masking and row access policies of every schema, in the order created. A policy is
    /// unique by (database, schema, kind, name); what it is attached to is recorded on the
    /// column (`Column::masking_policy`) or the table (`Table::row_access_policy`).
    pub policies: Vec<Policy>,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            organization: String::new(),
            name: String::new(),
            locator: String::new(),
            databases: Vec::new(),
            users: Vec::new(),
            roles: Role::system_roles(),
            warehouses: Vec::new(),
            shares: Vec::new(),
            integrations: Vec::new(),
            tag_references: Vec::new(),
            query_history: Vec::new(),
            standard_edition: false,
            policies: Vec::new(),
        }
    }
}

impl Account {
    /// This account with a sync user `user` (created as a SERVICE user when it is not there)
    /// authenticating with `public_key` (PEM), default role `RAITO_SYNC` (added, with MANAGE
    /// GRANTS and ACCOUNT_USAGE) and default warehouse `COMPUTE_WH` (added when missing): what
    /// a Snowflake admin sets up for the connector. A role added here holds the grants that say
    /// so (MANAGE GRANTS granted by SECURITYADMIN, USAGE on the warehouse).
    pub fn with_sync_user(mut self, user: &str, public_key: &str) -> Self {
        if !self.warehouses.iter().any(|w| w.name == "COMPUTE_WH") {
            self.warehouses.push(Warehouse {
                name: "COMPUTE_WH".to_owned(),
                ..Warehouse::default()
            });
        }
        if !self.roles.iter().any(|r| r.name == "RAITO_SYNC") {
            let granted = |privilege: &str, on: ObjectKind, name: &str| Grant {
                granted_by: "SECURITYADMIN".to_owned(),
                ..Grant::new(privilege, on, &[name])
            };
            self.roles.push(Role {
                name: "RAITO_SYNC".to_owned(),
                manage_grants: true,
                account_usage: true,
                owner: "USERADMIN".to_owned(),
                grants: vec![
                    Grant {
                        granted_by: "SECURITYADMIN".to_owned(),
                        ..Grant::new("MANAGE GRANTS", ObjectKind::Account, &[])
                    },
                    granted("USAGE", ObjectKind::Warehouse, "COMPUTE_WH"),
                ],
                ..Role::default()
            });
        }
        let index = match self.users.iter().position(|u| u.name == user) {
            Some(i) => i,
            None => {
                self.users.push(User {
                    name: user.to_owned(),
                    login_name: user.to_owned(),
                    r#type: Some("SERVICE".to_owned()),
                    owner: "USERADMIN".to_owned(),
                    ..User::default()
                });
                self.users.len() - 1
            }
        };
        let sync = &mut self.users[index];
        sync.rsa_public_key = Some(public_key.to_owned());
        sync.default_role = "RAITO_SYNC".to_owned();
        sync.default_warehouse = "COMPUTE_WH".to_owned();
        self
    }

    /// The preferred account identifier, `ORGANIZATION-NAME`, upper-case as a JWT names it.
    pub fn identifier(&self) -> String {
        format!("{}-{}", self.organization, self.name).to_uppercase()
    }
}

#[derive(Clone, Debug)]
pub struct Database {
    pub name: String,
    /// `STANDARD`, `IMPORTED DATABASE` or `APPLICATION`, as SHOW DATABASES prints `kind`.
    pub kind: String,
    /// The share an imported database comes from (`ORG.ACCOUNT.SHARE`); empty otherwise.
    pub origin: String,
    pub owner: String,
    pub comment: String,
    pub schemas: Vec<Schema>,
    pub functions: Vec<Routine>,
    pub procedures: Vec<Routine>,
    /// The roles that hold a privilege on the database (and so see it and everything in it);
    /// `None`: every role. Its owner always sees it; a role with MANAGE GRANTS sees it in SHOW
    /// output but not in INFORMATION_SCHEMA, as in Snowflake.
    pub visible_to: Option<Vec<String>>,
    /// The database roles defined in it (SHOW DATABASE ROLES), names unique in the database.
    pub roles: Vec<DatabaseRole>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            name: String::new(),
            kind: "STANDARD".to_owned(),
            origin: String::new(),
            owner: String::new(),
            comment: String::new(),
            schemas: Vec::new(),
            functions: Vec::new(),
            procedures: Vec::new(),
            visible_to: None,
            roles: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub name: String,
    pub owner: String,
    pub comment: String,
    pub tables: Vec<Table>,
}

/// What INFORMATION_SCHEMA.TABLES says a table is (`TABLE_TYPE`, `IS_TRANSIENT`, `IS_DYNAMIC`,
/// `IS_ICEBERG`, `IS_HYBRID`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TableKind {
    #[default]
    BaseTable,
    Transient,
    View,
    MaterializedView,
    ExternalTable,
    Dynamic,
    Iceberg,
    Hybrid,
    EventTable,
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub name: String,
    pub kind: TableKind,
    pub owner: String,
    pub comment: String,
    pub columns: Vec<Column>,
    /// The row access policy attached to the table or view (at most one, as in Snowflake).
    pub row_access_policy: Option<RowAccessAttachment>,
}

#[derive(Clone, Debug, Default)]
pub struct Column {
    pub name: String,
    /// As INFORMATION_SCHEMA.COLUMNS prints `DATA_TYPE`: `NUMBER`, `TEXT`, `TIMESTAMP_NTZ`…
    pub data_type: String,
    pub nullable: bool,
    pub character_maximum_length: Option<i64>,
    pub numeric_precision: Option<i64>,
    pub numeric_scale: Option<i64>,
    pub comment: String,
    /// The masking policy set on the column (at most one, as in Snowflake).
    pub masking_policy: Option<PolicyName>,
}

/// Which kind of policy a [`Policy`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyKind {
    /// A masking policy: set on a column, one argument (the column's value), returns that
    /// value's type.
    #[default]
    Masking,
    /// A row access policy: added to a table or view, one argument per column of its ON list,
    /// returns BOOLEAN.
    RowAccess,
}

impl PolicyKind {
    /// As SHOW … POLICIES prints `kind` and POLICY_REFERENCES `POLICY_KIND`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Masking => "MASKING_POLICY",
            PolicyKind::RowAccess => "ROW_ACCESS_POLICY",
        }
    }

    /// As the statements write it: `MASKING POLICY`, `ROW ACCESS POLICY`.
    pub fn words(self) -> &'static str {
        match self {
            PolicyKind::Masking => "MASKING POLICY",
            PolicyKind::RowAccess => "ROW ACCESS POLICY",
        }
    }
}

/// A masking or row access policy, in schema `database.schema`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub database: String,
    pub schema: String,
    pub kind: PolicyKind,
    /// The arguments: (name as stored, type as INFORMATION_SCHEMA.COLUMNS prints `DATA_TYPE`:
    /// `TEXT` for VARCHAR and STRING, `NUMBER` for NUMBER(38,0) and INT, precision dropped).
    pub signature: Vec<(String, String)>,
    /// The return type, in the same form (`BOOLEAN` for a row access policy).
    pub returns: String,
    /// The body after `->`, as written, trimmed (the stand-in does not evaluate it).
    pub body: String,
    pub comment: String,
    /// The role that owns it: the session's role of the CREATE.
    pub owner: String,
    /// When it was created; `None`: 2024-01-01, as every object of the model.
    pub created_on: Option<OffsetDateTime>,
}

impl Policy {
    /// The name an attachment records.
    pub fn qualified(&self) -> PolicyName {
        PolicyName {
            database: self.database.clone(),
            schema: self.schema.clone(),
            name: self.name.clone(),
        }
    }
}

/// A policy as an attachment names it (each part as stored). Its kind follows from where it is
/// attached: a column's is a masking policy, a table's a row access policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PolicyName {
    pub database: String,
    pub schema: String,
    pub name: String,
}

/// A row access policy added to a table or view, with the columns its ON list passes to its
/// arguments, in order (names as stored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowAccessAttachment {
    pub policy: PolicyName,
    pub on: Vec<String>,
}

/// A function or procedure, as SHOW FUNCTIONS / SHOW PROCEDURES print it.
#[derive(Clone, Debug, Default)]
pub struct Routine {
    pub name: String,
    /// SHOW's `arguments` column, e.g. `MYFN(NUMBER) RETURN NUMBER`.
    pub arguments: String,
    pub schema_name: String,
    pub is_builtin: bool,
    pub description: String,
}

#[derive(Clone, Debug, Default)]
pub struct User {
    pub name: String,
    pub login_name: String,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub disabled: bool,
    /// `PERSON`, `SERVICE`, `LEGACY_SERVICE`, or `None` (untyped: SHOW USERS prints an empty
    /// `type`, DESCRIBE USER prints `NULL`).
    pub r#type: Option<String>,
    /// The session role when a request names none; empty: PUBLIC.
    pub default_role: String,
    pub owner: String,
    /// PEM (or the bare base64 body Snowflake stores) of the public key a JWT is checked with.
    pub rsa_public_key: Option<String>,
    /// The second key slot, for rotation.
    pub rsa_public_key_2: Option<String>,
    /// The warehouse of a session that names none; empty: none.
    pub default_warehouse: String,
    /// Roles granted to the user besides `default_role` and PUBLIC (a request may name them).
    pub granted_roles: Vec<String>,
}

/// An account role.
#[derive(Clone, Debug, Default)]
pub struct Role {
    pub name: String,
    /// Holds MANAGE GRANTS: sees every object in SHOW output and every user's details. The
    /// model's switch for it: SHOW GRANTS lists the privilege only when `grants` has it too
    /// (`Account::grant` of MANAGE GRANTS sets both).
    pub manage_grants: bool,
    /// May read SNOWFLAKE.ACCOUNT_USAGE (IMPORTED PRIVILEGES or GOVERNANCE_VIEWER) without
    /// MANAGE GRANTS. A switch like `manage_grants`.
    pub account_usage: bool,
    /// The role that owns it; empty: none (the system roles).
    pub owner: String,
    pub comment: String,
    /// The privileges granted to it (`GRANT <privilege> ON <object> TO ROLE`), in the order
    /// granted. Roles granted to it are not here: they are in those roles' `granted_to`.
    pub grants: Vec<Grant>,
    /// Whom it is granted to (`GRANT ROLE <this> TO USER | TO ROLE`): users and account roles.
    /// A user also holds the roles its `User::granted_roles` and `User::default_role` name (the
    /// model's shorthand for `GRANT ROLE … TO USER`, granted by the role's owner).
    pub granted_to: Vec<RoleGrant>,
    /// When it was created (SHOW ROLES' `created_on`); `None`: 2024-01-01, as every object of
    /// the model. `CREATE ROLE` run against the stand-in sets it.
    pub created_on: Option<OffsetDateTime>,
}

impl Role {
    /// The roles every Snowflake account has, with the system-defined hierarchy (USERADMIN
    /// granted to SECURITYADMIN, SECURITYADMIN and SYSADMIN to ACCOUNTADMIN; ORGADMIN apart;
    /// PUBLIC held by every role and user without a grant), the account privileges Snowflake
    /// gives them, and their comments. Grants among them are the SYSTEM role's (an empty
    /// `granted_by`). ACCOUNTADMIN and SECURITYADMIN hold MANAGE GRANTS and read ACCOUNT_USAGE.
    pub fn system_roles() -> Vec<Role> {
        let system = |privilege: &str| Grant {
            granted_by: String::new(),
            ..Grant::new(privilege, ObjectKind::Account, &[])
        };
        let to_role = |role: &str| RoleGrant {
            to: Grantee::Role(role.to_owned()),
            granted_by: String::new(),
            created_on: created(),
        };
        let role = |name: &str, comment: &str| Role {
            name: name.to_owned(),
            comment: comment.to_owned(),
            ..Role::default()
        };
        vec![
            Role {
                manage_grants: true,
                account_usage: true,
                ..role(
                    "ACCOUNTADMIN",
                    "Account administrator can manage all aspects of the account.",
                )
            },
            role(
                "ORGADMIN",
                "Organization administrator can manage organization and accounts within the organization.",
            ),
            role(
                "PUBLIC",
                "Public role is automatically available to every user in the account.",
            ),
            Role {
                manage_grants: true,
                account_usage: true,
                grants: vec![system("MANAGE GRANTS")],
                granted_to: vec![to_role("ACCOUNTADMIN")],
                ..role(
                    "SECURITYADMIN",
                    "Security administrator can manage security aspects of the account.",
                )
            },
            Role {
                grants: vec![system("CREATE DATABASE"), system("CREATE WAREHOUSE")],
                granted_to: vec![to_role("ACCOUNTADMIN")],
                ..role(
                    "SYSADMIN",
                    "System administrator can create and manage databases and warehouses.",
                )
            },
            Role {
                grants: vec![system("CREATE ROLE"), system("CREATE USER")],
                granted_to: vec![to_role("SECURITYADMIN")],
                ..role(
                    "USERADMIN",
                    "User administrator can create and manage users and roles",
                )
            },
        ]
    }
}

/// A database role (`<database>.<name>`): it can be granted to account roles, to other
/// database roles of its database and to shares, never to users.
#[derive(Clone, Debug, Default)]
pub struct DatabaseRole {
    pub name: String,
    pub owner: String,
    pub comment: String,
    /// Privileges on objects of its database.
    pub grants: Vec<Grant>,
    /// Whom it is granted to: account roles, database roles of the same database, shares.
    pub granted_to: Vec<RoleGrant>,
    /// When it was created; `None`: 2024-01-01 (see [`Role::created_on`]).
    pub created_on: Option<OffsetDateTime>,
}

/// What a privilege is granted on, as SHOW GRANTS prints `granted_on`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// Account-level privileges (CREATE DATABASE, MANAGE GRANTS…); the name has no parts.
    #[default]
    Account,
    /// `[database]`.
    Database,
    /// `[database, schema]`.
    Schema,
    /// `[database, schema, table]` for this and the other table kinds.
    Table,
    View,
    MaterializedView,
    ExternalTable,
    DynamicTable,
    EventTable,
    /// `[database, schema, "NAME(ARGUMENT TYPES)"]` as written to `Grant::new`.
    Function,
    Procedure,
    /// `[warehouse]`.
    Warehouse,
    /// `[integration]`.
    Integration,
    /// `[role]`.
    Role,
    /// `[database, role]`.
    DatabaseRole,
    /// `[user]`.
    User,
}

impl ObjectKind {
    /// `granted_on` as SHOW GRANTS and GRANTS_TO_ROLES print it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Account => "ACCOUNT",
            ObjectKind::Database => "DATABASE",
            ObjectKind::Schema => "SCHEMA",
            ObjectKind::Table => "TABLE",
            ObjectKind::View => "VIEW",
            ObjectKind::MaterializedView => "MATERIALIZED_VIEW",
            ObjectKind::ExternalTable => "EXTERNAL_TABLE",
            ObjectKind::DynamicTable => "DYNAMIC_TABLE",
            ObjectKind::EventTable => "EVENT_TABLE",
            ObjectKind::Function => "FUNCTION",
            ObjectKind::Procedure => "PROCEDURE",
            ObjectKind::Warehouse => "WAREHOUSE",
            ObjectKind::Integration => "INTEGRATION",
            ObjectKind::Role => "ROLE",
            ObjectKind::DatabaseRole => "DATABASE_ROLE",
            ObjectKind::User => "USER",
        }
    }

    /// How many parts a name of this kind has.
    pub fn parts(self) -> usize {
        match self {
            ObjectKind::Account => 0,
            ObjectKind::Database
            | ObjectKind::Warehouse
            | ObjectKind::Integration
            | ObjectKind::Role
            | ObjectKind::User => 1,
            ObjectKind::Schema | ObjectKind::DatabaseRole => 2,
            ObjectKind::Table
            | ObjectKind::View
            | ObjectKind::MaterializedView
            | ObjectKind::ExternalTable
            | ObjectKind::DynamicTable
            | ObjectKind::EventTable
            | ObjectKind::Function
            | ObjectKind::Procedure => 3,
        }
    }

    /// The kind a table of `kind` is granted on (Iceberg, hybrid and transient tables are
    /// TABLEs).
    pub fn of_table(kind: TableKind) -> ObjectKind {
        match kind {
            TableKind::View => ObjectKind::View,
            TableKind::MaterializedView => ObjectKind::MaterializedView,
            TableKind::ExternalTable => ObjectKind::ExternalTable,
            TableKind::Dynamic => ObjectKind::DynamicTable,
            TableKind::EventTable => ObjectKind::EventTable,
            TableKind::BaseTable
            | TableKind::Transient
            | TableKind::Iceberg
            | TableKind::Hybrid => ObjectKind::Table,
        }
    }
}

/// A privilege granted to a role or database role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// `SELECT`, `USAGE`, `MANAGE GRANTS`, … upper-case, as SHOW GRANTS prints it.
    pub privilege: String,
    pub on: ObjectKind,
    /// The object's name as stored, one part per level (see [`ObjectKind`]); a function's or
    /// procedure's last part is its name alone.
    pub name: Vec<String>,
    /// A function's or procedure's argument types (`NUMBER, VARCHAR`); empty otherwise.
    pub arguments: String,
    pub grant_option: bool,
    /// The role that granted it (`granted_by`); empty: Snowflake's SYSTEM role (a grant that
    /// cannot be changed).
    pub granted_by: String,
    /// When it was granted: SHOW GRANTS' `created_on`, and what ACCOUNT_USAGE.GRANTS_TO_ROLES'
    /// latency counts from (`Options::grants_latency`).
    pub created_on: OffsetDateTime,
}

impl Grant {
    /// `privilege` (upper-cased) on the object `name` of kind `on`, without grant option,
    /// granted by the SYSTEM role (empty `granted_by`) on 2024-01-01. A function's or
    /// procedure's last part carries its argument types: `ADD_ONE(NUMBER)`.
    pub fn new(privilege: &str, on: ObjectKind, name: &[&str]) -> Self {
        let mut parts: Vec<String> = name.iter().map(|p| (*p).to_owned()).collect();
        let mut arguments = String::new();
        if matches!(on, ObjectKind::Function | ObjectKind::Procedure)
            && let Some(last) = parts.last_mut()
            && let Some(open) = last.find('(')
        {
            arguments = last[open + 1..]
                .strip_suffix(')')
                .unwrap_or(&last[open + 1..])
                .trim()
                .to_owned();
            last.truncate(open);
        }
        Grant {
            privilege: privilege.to_uppercase(),
            on,
            name: parts,
            arguments,
            grant_option: false,
            granted_by: String::new(),
            created_on: created(),
        }
    }
}

/// A role granted to a user, a role, a database role or a share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    pub to: Grantee,
    /// The role that granted it; empty: the SYSTEM role.
    pub granted_by: String,
    pub created_on: OffsetDateTime,
}

/// Whom a role is granted to (SHOW GRANTS OF's `granted_to` and `grantee_name`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Grantee {
    User(String),
    Role(String),
    DatabaseRole { database: String, role: String },
    Share(String),
}

#[derive(Clone, Debug, Default)]
pub struct Warehouse {
    pub name: String,
    /// `X-Small`, `Small`, … as SHOW WAREHOUSES prints it.
    pub size: String,
    /// `STARTED`, `SUSPENDED`, …
    pub state: String,
    pub comment: String,
}

#[derive(Clone, Debug, Default)]
pub struct Share {
    /// `INBOUND` or `OUTBOUND`.
    pub kind: String,
    pub name: String,
    pub database_name: String,
    pub owner: String,
    pub comment: String,
    /// The providing account (`ORG.ACCOUNT`); empty: this account (outbound shares).
    pub owner_account: String,
    /// The consumer accounts of an outbound share, as SHOW SHARES prints `to`.
    pub to: String,
}

#[derive(Clone, Debug, Default)]
pub struct Integration {
    pub name: String,
    /// e.g. `SCIM - OKTA`, `EXTERNAL_STAGE`.
    pub r#type: String,
    /// e.g. `SECURITY`, `STORAGE`.
    pub category: String,
    pub enabled: bool,
    pub comment: String,
}

/// One row of SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES (a direct tag on an object).
#[derive(Clone, Debug, Default)]
pub struct TagReference {
    pub tag_database: String,
    pub tag_schema: String,
    pub tag_name: String,
    pub tag_value: String,
    /// Empty for account-level objects (users, warehouses, roles, databases).
    pub object_database: String,
    pub object_schema: String,
    /// The table for a column tag.
    pub object_name: String,
    /// `DATABASE`, `SCHEMA`, `TABLE`, `COLUMN`, `USER`, `WAREHOUSE`, `ROLE`…
    pub domain: String,
    pub column_name: Option<String>,
    /// The tagged object was dropped (OBJECT_DELETED holds a time).
    pub object_deleted: bool,
}

/// `EXECUTION_STATUS` of a query in QUERY_HISTORY.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExecutionStatus {
    #[default]
    Success,
    /// Failed with an error of the statement (`error_code`, `error_message`).
    Fail,
    /// Failed with an error of Snowflake's.
    Incident,
}

impl ExecutionStatus {
    /// As QUERY_HISTORY prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Success => "SUCCESS",
            ExecutionStatus::Fail => "FAIL",
            ExecutionStatus::Incident => "INCIDENT",
        }
    }
}

/// One query of the account: a row of SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY, with its row of
/// ACCESS_HISTORY. Texts are `Arc<str>` (write `"..".into()`) so that a generated history of a
/// million queries holds each repeated text (user, role, a JSON document) once.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRecord {
    /// `QUERY_ID`, e.g. `01b5e2a4-0602-4f2b-0000-2f3d0001a2c6`; unique in the account.
    pub query_id: Arc<str>,
    pub query_text: Arc<str>,
    pub user_name: Arc<str>,
    /// Empty: NULL.
    pub role_name: Arc<str>,
    /// The session's database and schema (empty: NULL).
    pub database_name: Arc<str>,
    pub schema_name: Arc<str>,
    /// `SELECT`, `INSERT`, `CREATE_TABLE`, `DROP`, … as QUERY_HISTORY prints it.
    pub query_type: Arc<str>,
    /// Empty: NULL (a query that ran without a warehouse).
    pub warehouse_name: Arc<str>,
    pub execution_status: ExecutionStatus,
    /// The error of a failed query (`002003`, …); empty: NULL.
    pub error_code: Arc<str>,
    pub error_message: Arc<str>,
    /// When the query started and ended, in UTC (QUERY_HISTORY's TIMESTAMP_LTZ columns are
    /// printed as epoch seconds with nine decimals; the offset is not kept).
    pub start_time: OffsetDateTime,
    pub end_time: OffsetDateTime,
    pub bytes_written_to_result: u64,
    /// `None`: NULL.
    pub rows_produced: Option<u64>,
    /// `CREDITS_USED_CLOUD_SERVICES`, printed with nine decimals (NUMBER(38,9)).
    pub credits_used_cloud_services: f64,
    /// The query's row of ACCESS_HISTORY. `None` for a failed query: Snowflake logs none.
    pub access: Option<AccessRecord>,
}

impl Default for QueryRecord {
    fn default() -> Self {
        QueryRecord {
            query_id: Arc::default(),
            query_text: Arc::default(),
            user_name: Arc::default(),
            role_name: Arc::default(),
            database_name: Arc::default(),
            schema_name: Arc::default(),
            query_type: Arc::default(),
            warehouse_name: Arc::default(),
            execution_status: ExecutionStatus::default(),
            error_code: Arc::default(),
            error_message: Arc::default(),
            start_time: OffsetDateTime::UNIX_EPOCH,
            end_time: OffsetDateTime::UNIX_EPOCH,
            bytes_written_to_result: 0,
            rows_produced: None,
            credits_used_cloud_services: 0.0,
            access: None,
        }
    }
}

/// The JSON columns of a query's row in SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY, each the JSON
/// text exactly as its cell carries it. Snowflake prints an ARRAY or OBJECT cell indented by two
/// spaces, keys in alphabetical order: [`AccessRecord::from_json`] writes that form. The other
/// columns (QUERY_ID, QUERY_START_TIME, USER_NAME) come from the query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessRecord {
    /// `DIRECT_OBJECTS_ACCESSED`: an array of `{objectDomain, objectId, objectName, columns}`.
    pub direct_objects_accessed: Arc<str>,
    /// `BASE_OBJECTS_ACCESSED`: the same, for the base tables under the views read.
    pub base_objects_accessed: Arc<str>,
    /// `OBJECTS_MODIFIED`: an array; the columns carry `directSources` and `baseSources`.
    pub objects_modified: Arc<str>,
    /// `OBJECT_MODIFIED_BY_DDL`: `{objectDomain, objectId, objectName, operationType,
    /// properties}`; `None`: NULL (not a DDL statement).
    pub object_modified_by_ddl: Option<Arc<str>>,
}

impl AccessRecord {
    /// The record of these JSON values, written as Snowflake prints them.
    pub fn from_json(
        direct_objects_accessed: &serde_json::Value,
        base_objects_accessed: &serde_json::Value,
        objects_modified: &serde_json::Value,
        object_modified_by_ddl: Option<&serde_json::Value>,
    ) -> Self {
        AccessRecord {
            direct_objects_accessed: snowflake_json(direct_objects_accessed).into(),
            base_objects_accessed: snowflake_json(base_objects_accessed).into(),
            objects_modified: snowflake_json(objects_modified).into(),
            object_modified_by_ddl: object_modified_by_ddl.map(|v| snowflake_json(v).into()),
        }
    }
}

/// A VARIANT, OBJECT or ARRAY cell as Snowflake prints it: indented by two spaces, `": "`
/// between key and value, keys in alphabetical order whatever order the value holds them in
/// (serde_json keeps insertion order when a crate in the build turns `preserve_order` on).
pub fn snowflake_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value, 0);
    out
}

fn write_json(out: &mut String, value: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    let indent = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_json(out, item, depth + 1);
            }
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_json(out, item, depth + 1);
            }
            indent(out, depth);
            out.push('}');
        }
        // Scalars, `[]` and `{}` print compact.
        other => out.push_str(&other.to_string()),
    }
}
