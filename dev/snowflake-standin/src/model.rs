//! The account the stand-in serves: plain structs a test builds (every one `Default`), read-only
//! once the stand-in runs. Names are stored as Snowflake stores them (unquoted identifiers
//! upper-case, quoted ones exact); what the SQL API prints is derived from them in `exec`.

/// One Snowflake account, reached as `<ORGANIZATION>-<NAME>` (upper-case) in a JWT.
#[derive(Clone, Debug, Default)]
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
    pub roles: Vec<Role>,
    pub warehouses: Vec<Warehouse>,
    pub shares: Vec<Share>,
    pub integrations: Vec<Integration>,
    /// What `SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES` holds.
    pub tag_references: Vec<TagReference>,
}

impl Account {
    /// This account with a sync user `user` (created as a SERVICE user when it is not there)
    /// authenticating with `public_key` (PEM), default role `RAITO_SYNC` (added, with MANAGE
    /// GRANTS and ACCOUNT_USAGE) and default warehouse `COMPUTE_WH` (added when missing): what
    /// a Snowflake admin sets up for the connector.
    pub fn with_sync_user(mut self, user: &str, public_key: &str) -> Self {
        if !self.roles.iter().any(|r| r.name == "RAITO_SYNC") {
            self.roles.push(Role {
                name: "RAITO_SYNC".to_owned(),
                manage_grants: true,
                account_usage: true,
                ..Role::default()
            });
        }
        if !self.warehouses.iter().any(|w| w.name == "COMPUTE_WH") {
            self.warehouses.push(Warehouse {
                name: "COMPUTE_WH".to_owned(),
                ..Warehouse::default()
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

#[derive(Clone, Debug, Default)]
pub struct Role {
    pub name: String,
    /// Holds MANAGE GRANTS: sees every object in SHOW output and every user's details.
    pub manage_grants: bool,
    /// May read SNOWFLAKE.ACCOUNT_USAGE (IMPORTED PRIVILEGES or GOVERNANCE_VIEWER) without
    /// MANAGE GRANTS.
    pub account_usage: bool,
    pub owner: String,
    pub comment: String,
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
