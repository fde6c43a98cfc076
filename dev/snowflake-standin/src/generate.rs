//! A large, deterministic account for benchmarks: four standard databases (one with a quoted,
//! mixed-case name), schemas of 50 tables of 20 columns (views, materialized views, external,
//! dynamic, Iceberg and transient tables among them; some quoted and mixed-case names), an
//! imported database and SNOWFLAKE, users of every type (untyped included), roles and grants
//! (see [`generate`]), tags on tables, columns, users and a database; and a query history over
//! such an account.

use std::sync::Arc;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::error::{display_name, display_path};
use crate::model::{
    AccessRecord, Account, Column, Database, DatabaseRole, ExecutionStatus, Grant, Grantee,
    Integration, ObjectKind, QueryRecord, Role, RoleGrant, Routine, Schema, Share, Table,
    TableKind, TagReference, User, Warehouse, created,
};

const COLUMNS_PER_TABLE: usize = 20;
const TABLES_PER_SCHEMA: usize = 50;
const DATABASES: [&str; 4] = ["SALES", "Finance Dept", "ANALYTICS", "RAW_EVENTS"];

/// The organization and account name of a generated account (`RAITO-STANDIN` in a JWT).
pub const ORGANIZATION: &str = "RAITO";
pub const ACCOUNT_NAME: &str = "STANDIN";

fn data_type(c: usize) -> (&'static str, Option<i64>, Option<i64>, Option<i64>) {
    // (DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE)
    match c % 9 {
        0 => ("NUMBER", None, Some(38), Some(0)),
        1 => ("TEXT", Some(16_777_216), None, None),
        2 => ("TIMESTAMP_NTZ", None, None, None),
        3 => ("BOOLEAN", None, None, None),
        4 => ("FLOAT", None, None, None),
        5 => ("DATE", None, None, None),
        6 => ("VARIANT", None, None, None),
        7 => ("NUMBER", None, Some(12), Some(2)),
        _ => ("TEXT", Some(255), None, None),
    }
}

fn table(t: usize, columns: usize) -> Table {
    let name = if t % 9 == 4 {
        format!("Order Items {t}")
    } else if t % 13 == 6 {
        format!("lower_case_{t}")
    } else {
        format!("T_{t:06}")
    };
    let kind = match t % TABLES_PER_SCHEMA {
        3 | 13 | 23 | 33 | 43 => TableKind::View,
        7 => TableKind::MaterializedView,
        11 => TableKind::ExternalTable,
        17 => TableKind::Dynamic,
        27 => TableKind::Iceberg,
        31 => TableKind::Transient,
        _ => TableKind::BaseTable,
    };
    Table {
        name,
        kind,
        owner: "SYSADMIN".to_owned(),
        comment: if t.is_multiple_of(5) {
            format!("table {t}")
        } else {
            String::new()
        },
        columns: (0..columns)
            .map(|c| {
                let (data_type, length, precision, scale) = data_type(c);
                Column {
                    name: match c {
                        0 => "ID".to_owned(),
                        c if c % 10 == 5 => format!("camelCase{c}"),
                        c => format!("COL_{c:02}"),
                    },
                    data_type: data_type.to_owned(),
                    nullable: c != 0,
                    character_maximum_length: length,
                    numeric_precision: precision,
                    numeric_scale: scale,
                    comment: if c % 4 == 3 {
                        format!("column {c}")
                    } else {
                        String::new()
                    },
                    masking_policy: None,
                }
            })
            .collect(),
        row_access_policy: None,
    }
}

/// Tables per access role of a generated account.
const TABLES_PER_ROLE: usize = 10;

/// An account of about `columns` columns (in tables of 20) and `users` users, with the roles
/// and grants of a common Snowflake setup:
/// - the system roles and their hierarchy ([`Role::system_roles`]);
/// - a functional role `ROLE_<n>` per 10 users (at least 5), each user's default role, granted
///   to SYSADMIN; every fourth with USAGE on the warehouse COMPUTE_WH, `ROLE_00001` with USAGE
///   on the function `SALES.PUBLIC.ADD_ONE(NUMBER)`;
/// - an access role `READ_<n>` per 10 tables of the standard databases, with USAGE on their
///   database and schema and SELECT on them (every fifth also INSERT, UPDATE and DELETE on its
///   stored tables, the first of them with grant option), granted to SYSADMIN and to a
///   functional role, every third also directly to a user;
/// - a database role `READER` in each standard database (USAGE on it and its schemas, SELECT
///   on its first five tables) granted to SYSADMIN and `ROLE_00000`, and in SALES a database
///   role `ANALYST` that holds `READER` and is granted to the share SALES_SHARE;
/// - OWNERSHIP as the objects' owners say (SYSADMIN owns the databases, schemas and tables,
///   USERADMIN the users and custom roles).
///
/// Every grant is dated 2024-01-01, so ACCOUNT_USAGE shows all of them.
pub fn generate(columns: usize, users: usize) -> Account {
    let table_count = columns.div_ceil(COLUMNS_PER_TABLE);
    let schema_count = table_count.div_ceil(TABLES_PER_SCHEMA);
    let mut databases: Vec<Database> = DATABASES
        .iter()
        .map(|name| Database {
            name: (*name).to_owned(),
            owner: "SYSADMIN".to_owned(),
            comment: format!("{name} data"),
            schemas: vec![Schema {
                name: "PUBLIC".to_owned(),
                owner: "SYSADMIN".to_owned(),
                ..Schema::default()
            }],
            functions: vec![
                Routine {
                    name: "ADD_ONE".to_owned(),
                    arguments: "ADD_ONE(NUMBER) RETURN NUMBER".to_owned(),
                    schema_name: "PUBLIC".to_owned(),
                    description: "user-defined function".to_owned(),
                    ..Routine::default()
                },
                Routine {
                    name: "NORMALIZE_EMAIL".to_owned(),
                    arguments: "NORMALIZE_EMAIL(VARCHAR) RETURN VARCHAR".to_owned(),
                    schema_name: "PUBLIC".to_owned(),
                    description: "user-defined function".to_owned(),
                    ..Routine::default()
                },
            ],
            procedures: vec![Routine {
                name: "REFRESH_ALL".to_owned(),
                arguments: "REFRESH_ALL() RETURN VARCHAR".to_owned(),
                schema_name: "PUBLIC".to_owned(),
                description: "user-defined procedure".to_owned(),
                ..Routine::default()
            }],
            ..Database::default()
        })
        .collect();
    let mut tags = Vec::new();
    let mut t = 0;
    for s in 0..schema_count {
        let db = s % DATABASES.len();
        let schema_name = if s % 7 == 3 {
            format!("Mixed.Schema_{s}")
        } else {
            format!("SCHEMA_{s:04}")
        };
        let mut tables = Vec::new();
        while tables.len() < TABLES_PER_SCHEMA && t < table_count {
            let width = COLUMNS_PER_TABLE.min(columns - t * COLUMNS_PER_TABLE);
            let table = table(t, width);
            if t.is_multiple_of(20) {
                tags.push(tag(
                    DATABASES[db],
                    &schema_name,
                    &table.name,
                    "TABLE",
                    None,
                    "PII",
                    "true",
                ));
            }
            if t.is_multiple_of(10) && table.columns.len() > 1 {
                let column = table.columns[1].name.clone();
                tags.push(tag(
                    DATABASES[db],
                    &schema_name,
                    &table.name,
                    "COLUMN",
                    Some(column),
                    "SENSITIVITY",
                    "HIGH",
                ));
            }
            tables.push(table);
            t += 1;
        }
        databases[db].schemas.push(Schema {
            name: schema_name,
            owner: "SYSADMIN".to_owned(),
            comment: if s.is_multiple_of(3) {
                format!("schema {s}")
            } else {
                String::new()
            },
            tables,
        });
    }
    databases.push(Database {
        name: "PARTNER_DATA".to_owned(),
        kind: "IMPORTED DATABASE".to_owned(),
        origin: "PARTNERORG.PARTNER.PARTNER_SHARE".to_owned(),
        owner: "ACCOUNTADMIN".to_owned(),
        schemas: vec![Schema {
            name: "PUBLIC".to_owned(),
            owner: String::new(),
            tables: vec![table(1, 3)],
            ..Schema::default()
        }],
        ..Database::default()
    });
    databases.push(Database {
        name: "SNOWFLAKE".to_owned(),
        kind: "APPLICATION".to_owned(),
        origin: "SNOWFLAKE".to_owned(),
        ..Database::default()
    });

    let role_count = (users / 10).max(5);
    let mut roles = Role::system_roles();
    roles.extend((0..role_count).map(|j| {
        let mut role = Role {
            name: format!("ROLE_{j:05}"),
            owner: "USERADMIN".to_owned(),
            comment: if j.is_multiple_of(2) {
                format!("role {j}")
            } else {
                String::new()
            },
            granted_to: vec![role_grant(
                Grantee::Role("SYSADMIN".to_owned()),
                "USERADMIN",
            )],
            ..Role::default()
        };
        if j.is_multiple_of(4) {
            role.grants.push(granted(
                "USAGE",
                ObjectKind::Warehouse,
                &["COMPUTE_WH"],
                "SECURITYADMIN",
            ));
        }
        if j == 1 {
            role.grants.push(granted(
                "USAGE",
                ObjectKind::Function,
                &["SALES", "PUBLIC", "ADD_ONE(NUMBER)"],
                "SYSADMIN",
            ));
        }
        role
    }));
    roles.extend(access_roles(&databases, role_count, users));
    for db in databases.iter_mut().take(DATABASES.len()) {
        db.roles = database_roles(db, &databases_sharing(db));
    }

    let users: Vec<User> = (0..users)
        .map(|i| {
            let name = format!("USER_{i:06}");
            if i.is_multiple_of(100) {
                tags.push(TagReference {
                    tag_database: "GOVERNANCE".to_owned(),
                    tag_schema: "TAGS".to_owned(),
                    tag_name: "DEPARTMENT".to_owned(),
                    tag_value: format!("dept{}", i % 5),
                    object_name: name.clone(),
                    domain: "USER".to_owned(),
                    ..TagReference::default()
                });
            }
            User {
                login_name: format!("USER{i}@EXAMPLE.COM"),
                display_name: format!("User {i}"),
                first_name: "User".to_owned(),
                last_name: i.to_string(),
                email: if i % 25 == 24 {
                    String::new()
                } else {
                    format!("user{i}@example.com")
                },
                disabled: i % 17 == 16,
                r#type: match i % 4 {
                    0 => Some("PERSON".to_owned()),
                    1 => Some("SERVICE".to_owned()),
                    2 => Some("LEGACY_SERVICE".to_owned()),
                    _ => None,
                },
                default_role: format!("ROLE_{:05}", i % role_count),
                owner: "USERADMIN".to_owned(),
                default_warehouse: "COMPUTE_WH".to_owned(),
                name,
                ..User::default()
            }
        })
        .collect();
    tags.push(TagReference {
        tag_database: "GOVERNANCE".to_owned(),
        tag_schema: "TAGS".to_owned(),
        tag_name: "DOMAIN".to_owned(),
        tag_value: "sales".to_owned(),
        object_name: "SALES".to_owned(),
        domain: "DATABASE".to_owned(),
        ..TagReference::default()
    });
    tags.push(TagReference {
        object_deleted: true,
        ..tag(
            "SALES",
            "OLD",
            "DROPPED_TABLE",
            "TABLE",
            None,
            "PII",
            "false",
        )
    });

    Account {
        organization: ORGANIZATION.to_owned(),
        name: ACCOUNT_NAME.to_owned(),
        locator: "XY12345".to_owned(),
        databases,
        users,
        roles,
        warehouses: vec![
            Warehouse {
                name: "COMPUTE_WH".to_owned(),
                size: "X-Small".to_owned(),
                state: "STARTED".to_owned(),
                comment: String::new(),
            },
            Warehouse {
                name: "ETL_WH".to_owned(),
                size: "Large".to_owned(),
                state: "SUSPENDED".to_owned(),
                comment: "batch loads".to_owned(),
            },
        ],
        shares: vec![
            Share {
                kind: "INBOUND".to_owned(),
                name: "PARTNER_SHARE".to_owned(),
                database_name: "PARTNER_DATA".to_owned(),
                owner_account: "PARTNERORG.PARTNER".to_owned(),
                ..Share::default()
            },
            Share {
                kind: "OUTBOUND".to_owned(),
                name: "SALES_SHARE".to_owned(),
                database_name: "SALES".to_owned(),
                owner: "ACCOUNTADMIN".to_owned(),
                to: "PARTNERORG.PARTNER".to_owned(),
                ..Share::default()
            },
        ],
        integrations: vec![
            Integration {
                name: "OKTA_SCIM".to_owned(),
                r#type: "SCIM - OKTA".to_owned(),
                category: "SECURITY".to_owned(),
                enabled: true,
                comment: String::new(),
            },
            Integration {
                name: "S3_INT".to_owned(),
                r#type: "EXTERNAL_STAGE".to_owned(),
                category: "STORAGE".to_owned(),
                enabled: true,
                comment: "landing bucket".to_owned(),
            },
        ],
        tag_references: tags,
        ..Account::default()
    }
}

/// A grant dated 2024-01-01 by `granted_by`.
fn granted(privilege: &str, on: ObjectKind, name: &[&str], granted_by: &str) -> Grant {
    Grant {
        granted_by: granted_by.to_owned(),
        ..Grant::new(privilege, on, name)
    }
}

fn role_grant(to: Grantee, granted_by: &str) -> RoleGrant {
    RoleGrant {
        to,
        granted_by: granted_by.to_owned(),
        created_on: created(),
    }
}

/// The shares a standard database's roles are granted to: SALES_SHARE for SALES.
fn databases_sharing(db: &Database) -> Vec<String> {
    if db.name == "SALES" {
        vec!["SALES_SHARE".to_owned()]
    } else {
        Vec::new()
    }
}

/// `READ_<n>` for every 10 tables of the standard databases (see [`generate`]).
fn access_roles(databases: &[Database], role_count: usize, users: usize) -> Vec<Role> {
    let groups = databases
        .iter()
        .take(DATABASES.len())
        .flat_map(|d| d.schemas.iter().map(move |s| (d, s)))
        .flat_map(|(d, s)| s.tables.chunks(TABLES_PER_ROLE).map(move |c| (d, s, c)));
    groups
        .enumerate()
        .map(|(g, (db, schema, tables))| {
            let (d, s) = (db.name.as_str(), schema.name.as_str());
            let mut grants = vec![
                granted("USAGE", ObjectKind::Database, &[d], &db.owner),
                granted("USAGE", ObjectKind::Schema, &[d, s], &schema.owner),
            ];
            for (i, table) in tables.iter().enumerate() {
                let on = ObjectKind::of_table(table.kind);
                let name = [d, s, table.name.as_str()];
                grants.push(granted("SELECT", on, &name, &table.owner));
                if g.is_multiple_of(5) && on == ObjectKind::Table {
                    for privilege in ["INSERT", "UPDATE", "DELETE"] {
                        grants.push(Grant {
                            grant_option: i == 0,
                            ..granted(privilege, on, &name, &table.owner)
                        });
                    }
                }
            }
            let mut granted_to = vec![
                role_grant(Grantee::Role("SYSADMIN".to_owned()), "USERADMIN"),
                role_grant(
                    Grantee::Role(format!("ROLE_{:05}", g % role_count)),
                    "USERADMIN",
                ),
            ];
            if g.is_multiple_of(3) && users > 0 {
                granted_to.push(role_grant(
                    Grantee::User(format!("USER_{:06}", (g * 7) % users)),
                    "USERADMIN",
                ));
            }
            Role {
                name: format!("READ_{g:05}"),
                owner: "USERADMIN".to_owned(),
                comment: format!("reads {d}.{s}"),
                grants,
                granted_to,
                ..Role::default()
            }
        })
        .collect()
}

/// The database roles of a standard database (see [`generate`]).
fn database_roles(db: &Database, shares: &[String]) -> Vec<DatabaseRole> {
    let d = db.name.as_str();
    let mut grants = vec![granted("USAGE", ObjectKind::Database, &[d], &db.owner)];
    grants.extend(
        db.schemas
            .iter()
            .map(|s| granted("USAGE", ObjectKind::Schema, &[d, &s.name], &s.owner)),
    );
    let tables = db
        .schemas
        .iter()
        .flat_map(|s| s.tables.iter().map(move |t| (s, t)))
        .take(5);
    grants.extend(tables.map(|(s, t)| {
        granted(
            "SELECT",
            ObjectKind::of_table(t.kind),
            &[d, &s.name, &t.name],
            &t.owner,
        )
    }));
    let mut roles = vec![DatabaseRole {
        name: "READER".to_owned(),
        owner: "SYSADMIN".to_owned(),
        comment: format!("reads {d}"),
        grants,
        granted_to: vec![
            role_grant(Grantee::Role("SYSADMIN".to_owned()), "SYSADMIN"),
            role_grant(Grantee::Role("ROLE_00000".to_owned()), "SYSADMIN"),
        ],
        ..DatabaseRole::default()
    }];
    if !shares.is_empty() {
        roles[0].granted_to.push(role_grant(
            Grantee::DatabaseRole {
                database: d.to_owned(),
                role: "ANALYST".to_owned(),
            },
            "SYSADMIN",
        ));
        roles.push(DatabaseRole {
            name: "ANALYST".to_owned(),
            owner: "SYSADMIN".to_owned(),
            granted_to: shares
                .iter()
                .map(|share| role_grant(Grantee::Share(share.clone()), "SYSADMIN"))
                .collect(),
            ..DatabaseRole::default()
        });
    }
    roles
}

fn tag(
    database: &str,
    schema: &str,
    table: &str,
    domain: &str,
    column: Option<String>,
    name: &str,
    value: &str,
) -> TagReference {
    TagReference {
        tag_database: "GOVERNANCE".to_owned(),
        tag_schema: "TAGS".to_owned(),
        tag_name: name.to_owned(),
        tag_value: value.to_owned(),
        object_database: database.to_owned(),
        object_schema: schema.to_owned(),
        object_name: table.to_owned(),
        domain: domain.to_owned(),
        column_name: column,
        object_deleted: false,
    }
}

/// How many distinct statements (text, objects, access JSON) a generated history cycles
/// through: every record shares its pattern's texts, so a million queries hold 512 of each.
const PATTERNS: usize = 512;
/// At most this many of the account's tables and views appear in a generated history.
const OBJECTS: usize = 4096;

/// A table or view a generated query reads or writes.
struct Object {
    database: String,
    schema: String,
    name: String,
    view: bool,
    /// Up to three of its columns.
    columns: Vec<String>,
    id: u64,
}

impl Object {
    /// `objectName` in ACCESS_HISTORY: the dotted name, unquoted.
    fn full_name(&self) -> String {
        format!("{}.{}.{}", self.database, self.schema, self.name)
    }

    /// The name as the query text writes it.
    fn quoted(&self) -> String {
        display_path(&[&self.database, &self.schema, &self.name])
    }

    fn column_id(&self, position: usize) -> u64 {
        self.id * 100 + position as u64
    }

    /// An element of DIRECT_/BASE_OBJECTS_ACCESSED.
    fn accessed(&self, domain: &str, suffix: &str) -> Value {
        json!({
            "columns": self.columns.iter().enumerate().map(|(i, c)| json!({
                "columnId": self.column_id(i),
                "columnName": c,
            })).collect::<Vec<_>>(),
            "objectDomain": domain,
            "objectId": self.id,
            "objectName": format!("{}{suffix}", self.full_name()),
        })
    }
}

/// The tables and views of the account's standard databases (at most [`OBJECTS`], spread over
/// all of them), or a small fixed set when it has none.
fn objects(account: &Account) -> Vec<Object> {
    let all: Vec<(&Database, &Schema, &Table)> = account
        .databases
        .iter()
        .filter(|d| d.kind == "STANDARD")
        .flat_map(|d| d.schemas.iter().map(move |s| (d, s)))
        .flat_map(|(d, s)| s.tables.iter().map(move |t| (d, s, t)))
        .collect();
    let stride = all.len().div_ceil(OBJECTS).max(1);
    let objects: Vec<Object> = all
        .iter()
        .step_by(stride)
        .enumerate()
        .map(|(i, (d, s, t))| Object {
            database: d.name.clone(),
            schema: s.name.clone(),
            name: t.name.clone(),
            view: matches!(t.kind, TableKind::View | TableKind::MaterializedView),
            columns: t.columns.iter().take(3).map(|c| c.name.clone()).collect(),
            id: 20_000 + i as u64,
        })
        .collect();
    if !objects.is_empty() {
        return objects;
    }
    let fixed = |i: u64, name: &str, view: bool, columns: &[&str]| Object {
        database: "DEMO".to_owned(),
        schema: "PUBLIC".to_owned(),
        name: name.to_owned(),
        view,
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        id: 20_000 + i,
    };
    vec![
        fixed(0, "ORDERS", false, &["ID", "AMOUNT", "CUSTOMER_ID"]),
        fixed(1, "CUSTOMERS", false, &["ID", "NAME", "EMAIL"]),
        fixed(2, "ORDERS_BY_CUSTOMER", true, &["CUSTOMER_ID", "TOTAL"]),
    ]
}

/// What the records of one pattern share.
struct Pattern {
    query_text: Arc<str>,
    query_type: Arc<str>,
    database_name: Arc<str>,
    schema_name: Arc<str>,
    access: AccessRecord,
    /// The error of a failed run of the statement.
    error_message: Arc<str>,
    /// Rows a successful run returns or writes.
    rows: u64,
}

fn select_list(object: &Object) -> String {
    if object.columns.is_empty() {
        "*".to_owned()
    } else {
        object
            .columns
            .iter()
            .map(|c| display_name(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn pattern(p: usize, objects: &[Object], tables: &[usize]) -> Pattern {
    let object = &objects[(p * 7919) % objects.len()];
    // A base table under a view, the target of an INSERT: a table when the account has one.
    let table = |salt: usize| {
        tables
            .get((p * salt) % tables.len().max(1))
            .map_or(object, |&i| &objects[i])
    };
    let empty = json!([]);
    // Read accesses: a table directly, or a view (some under a versioned name, `$V1`, some
    // with an upper-case domain) over a base table.
    let read = |object: &Object| {
        if object.view {
            let domain = if p.is_multiple_of(4) { "VIEW" } else { "View" };
            let suffix = if p.is_multiple_of(3) { "$V1" } else { "" };
            let base = table(31);
            (
                json!([object.accessed(domain, suffix)]),
                json!([base.accessed("Table", "")]),
            )
        } else {
            let accessed = json!([object.accessed("Table", "")]);
            (accessed.clone(), accessed)
        }
    };
    let ddl = |domain: &str, name: String, operation: &str, properties: Value| {
        json!({
            "objectDomain": domain,
            "objectId": 90_000 + p as u64,
            "objectName": name,
            "operationType": operation,
            "properties": properties,
        })
    };
    let scratch = format!("{}.{}.SCRATCH_{p:04}", object.database, object.schema);
    let quoted_scratch =
        display_path(&[&object.database, &object.schema, &format!("SCRATCH_{p:04}")]);
    let (query_text, query_type, access, rows) = match p % 20 {
        0..=11 => {
            let (direct, base) = read(object);
            (
                format!("SELECT {} FROM {}", select_list(object), object.quoted()),
                "SELECT",
                AccessRecord::from_json(&direct, &base, &empty, None),
                (p as u64 * 37) % 5000,
            )
        }
        12..=15 => {
            let target = table(13);
            let (direct, base) = read(object);
            let source = |column: &String, i: usize| {
                json!({
                    "columnName": column,
                    "objectDomain": if object.view { "View" } else { "Table" },
                    "objectId": object.id,
                    "objectName": object.full_name(),
                    "columnId": object.column_id(i),
                })
            };
            let modified = json!([{
                "columns": target.columns.iter().enumerate().map(|(i, c)| {
                    let from = object.columns.get(i).map(|s| source(s, i));
                    json!({
                        "baseSources": from.iter().collect::<Vec<_>>(),
                        "columnId": target.column_id(i),
                        "columnName": c,
                        "directSources": from.iter().collect::<Vec<_>>(),
                    })
                }).collect::<Vec<_>>(),
                "objectDomain": "Table",
                "objectId": target.id,
                "objectName": target.full_name(),
            }]);
            (
                format!(
                    "INSERT INTO {} SELECT {} FROM {}",
                    target.quoted(),
                    select_list(object),
                    object.quoted()
                ),
                "INSERT",
                AccessRecord::from_json(&direct, &base, &modified, None),
                (p as u64 * 53) % 20_000,
            )
        }
        16 => (
            format!("CREATE TABLE {quoted_scratch} (ID NUMBER)"),
            "CREATE_TABLE",
            AccessRecord::from_json(
                &empty,
                &empty,
                &empty,
                Some(&ddl(
                    "Table",
                    scratch,
                    "CREATE",
                    json!({"columns": {"ID": {"objectId": {"value": 90_000 + p as u64}, "subOperationType": "ADD"}}}),
                )),
            ),
            1,
        ),
        17 => (
            format!("DROP VIEW {quoted_scratch}"),
            "DROP",
            AccessRecord::from_json(
                &empty,
                &empty,
                &empty,
                Some(&ddl("VIEW", scratch, "DROP", json!({}))),
            ),
            1,
        ),
        18 => (
            format!("ALTER TABLE {} ADD COLUMN NOTE TEXT", table(17).quoted()),
            "ALTER_TABLE_ADD_COLUMN",
            AccessRecord::from_json(
                &empty,
                &empty,
                &empty,
                Some(&ddl(
                    "Table",
                    table(17).full_name(),
                    "ALTER",
                    json!({"columns": {"NOTE": {"subOperationType": "ADD"}}}),
                )),
            ),
            1,
        ),
        _ => (
            format!(
                "CREATE VIEW {quoted_scratch} AS SELECT {} FROM {}",
                select_list(object),
                object.quoted()
            ),
            "CREATE_VIEW",
            AccessRecord::from_json(
                &empty,
                &empty,
                &empty,
                Some(&ddl("View", scratch, "CREATE", json!({}))),
            ),
            1,
        ),
    };
    Pattern {
        query_text: query_text.into(),
        query_type: query_type.into(),
        database_name: object.database.as_str().into(),
        schema_name: object.schema.as_str().into(),
        access,
        error_message: format!(
            "SQL compilation error:\nObject '{}' does not exist or not authorized.",
            object.quoted()
        )
        .into(),
        rows,
    }
}

/// A query history over `account`, for tests and benchmarks: `count` queries, the first
/// starting at `start`, each `step` after the previous (a zero step: all at once), each
/// running 20 ms to 5 s. Deterministic; query ids unique.
///
/// The queries are run by up to eight of the account's enabled users (spread over them; three
/// fixed names when it has none) with their default roles, and cycle through 512 statements
/// over its tables and views: SELECTs (60 %; views read with their base tables, some as
/// `…$V1`, `objectDomain` `Table`, `View` or `VIEW`), INSERT … SELECT (20 %, with column
/// lineage in OBJECTS_MODIFIED) and DDL (20 %: CREATE TABLE, DROP VIEW, ALTER TABLE, CREATE
/// VIEW, with `operationType`). One query in ten fails (`002003`) and one in 250 is an
/// incident (`000603`); neither has an ACCESS_HISTORY row, as in Snowflake.
pub fn generate_query_history(
    count: usize,
    start: OffsetDateTime,
    step: Duration,
    account: &Account,
) -> Vec<QueryRecord> {
    let objects = objects(account);
    let tables: Vec<usize> = (0..objects.len()).filter(|&i| !objects[i].view).collect();
    let patterns: Vec<Pattern> = (0..PATTERNS.min(count))
        .map(|p| pattern(p, &objects, &tables))
        .collect();
    let enabled: Vec<&User> = account.users.iter().filter(|u| !u.disabled).collect();
    let mut users: Vec<(Arc<str>, Arc<str>)> = (0..enabled.len().min(8))
        .map(|k| {
            let user = enabled[k * enabled.len() / enabled.len().min(8)];
            let role = if user.default_role.is_empty() {
                "PUBLIC"
            } else {
                &user.default_role
            };
            (user.name.as_str().into(), role.into())
        })
        .collect();
    if users.is_empty() {
        users = [
            ("ANALYST", "ANALYST"),
            ("ETL_SERVICE", "LOADER"),
            ("REPORTING", "REPORTER"),
        ]
        .into_iter()
        .map(|(u, r)| (u.into(), r.into()))
        .collect();
    }
    let warehouse: Arc<str> = account
        .warehouses
        .first()
        .map_or("COMPUTE_WH", |w| w.name.as_str())
        .into();
    let failed_code: Arc<str> = "002003".into();
    let incident_code: Arc<str> = "000603".into();
    let incident_message: Arc<str> =
        "SQL execution internal error: Processing aborted due to error 300002:2523816297.".into();
    let step_nanos = step.whole_nanoseconds();
    (0..count)
        .map(|i| {
            let pattern = &patterns[i % patterns.len()];
            let (user, role) = &users[(i * 5 + i / 7) % users.len()];
            let offset = step_nanos
                .saturating_mul(i as i128)
                .clamp(i128::from(i64::MIN), i128::from(i64::MAX));
            // Clamped to i64 just above: the cast keeps the value.
            let offset = Duration::nanoseconds(offset as i64);
            let start_time = start.saturating_add(offset);
            let end_time =
                start_time.saturating_add(Duration::milliseconds(20 + ((i * 37) % 4980) as i64));
            let status = if i % 10 == 7 {
                ExecutionStatus::Fail
            } else if i % 250 == 3 {
                ExecutionStatus::Incident
            } else {
                ExecutionStatus::Success
            };
            let success = status == ExecutionStatus::Success;
            let rows = (pattern.rows + i as u64 % 7) * u64::from(success);
            QueryRecord {
                query_id: format!(
                    "01b{:05x}-0602-{:04x}-0000-{:012x}",
                    (i >> 16) & 0xf_ffff,
                    i & 0xffff,
                    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) & 0xffff_ffff_ffff
                )
                .into(),
                query_text: Arc::clone(&pattern.query_text),
                user_name: Arc::clone(user),
                role_name: Arc::clone(role),
                database_name: Arc::clone(&pattern.database_name),
                schema_name: Arc::clone(&pattern.schema_name),
                query_type: Arc::clone(&pattern.query_type),
                warehouse_name: Arc::clone(&warehouse),
                execution_status: status,
                error_code: match status {
                    ExecutionStatus::Success => Arc::default(),
                    ExecutionStatus::Fail => Arc::clone(&failed_code),
                    ExecutionStatus::Incident => Arc::clone(&incident_code),
                },
                error_message: match status {
                    ExecutionStatus::Success => Arc::default(),
                    ExecutionStatus::Fail => Arc::clone(&pattern.error_message),
                    ExecutionStatus::Incident => Arc::clone(&incident_message),
                },
                start_time,
                end_time,
                bytes_written_to_result: rows * 48,
                rows_produced: success.then_some(rows),
                credits_used_cloud_services: ((i * 13) % 200) as f64 * 0.000_001 + 0.000_003,
                access: success.then(|| pattern.access.clone()),
            }
        })
        .collect()
}
