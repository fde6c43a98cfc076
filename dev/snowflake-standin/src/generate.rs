//! A large, deterministic account for benchmarks: four standard databases (one with a quoted,
//! mixed-case name), schemas of 50 tables of 20 columns (views, materialized views, external,
//! dynamic, Iceberg and transient tables among them; some quoted and mixed-case names), an
//! imported database and SNOWFLAKE, users of every type (untyped included), roles, tags on
//! tables, columns, users and a database.

use crate::model::{
    Account, Column, Database, Integration, Role, Routine, Schema, Share, Table, TableKind,
    TagReference, User, Warehouse,
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
                }
            })
            .collect(),
    }
}

/// An account of about `columns` columns (in tables of 20) and `users` users.
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
    let mut roles: Vec<Role> = [
        ("ACCOUNTADMIN", true),
        ("ORGADMIN", false),
        ("PUBLIC", false),
        ("SECURITYADMIN", true),
        ("SYSADMIN", false),
        ("USERADMIN", false),
    ]
    .into_iter()
    .map(|(name, manage_grants)| Role {
        name: name.to_owned(),
        manage_grants,
        account_usage: manage_grants,
        ..Role::default()
    })
    .collect();
    roles.extend((0..role_count).map(|j| Role {
        name: format!("ROLE_{j:05}"),
        owner: "USERADMIN".to_owned(),
        comment: if j.is_multiple_of(2) {
            format!("role {j}")
        } else {
            String::new()
        },
        ..Role::default()
    }));

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
    }
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
