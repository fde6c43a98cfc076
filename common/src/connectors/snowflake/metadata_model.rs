//! The Snowflake data source's metadata: the object types with their permissions, actions and
//! children, the access provider types, and the masking and sharing settings that Raito shows
//! as Snowflake's permission model. Ported exactly from the Go connector
//! (raito-io/cli-plugin-snowflake, snowflake/data_source_meta_data.go: `GetDataSourceMetaData`
//! and `DataObjectTypes`, with the raito-io/cli v0.72.0 base/data_source constants it uses,
//! resolved here to their strings), so a customer moving from the Go CLI sees the same model.
//! Every block names the lines of the Go file it comes from.
//!
//! One thing differs, and it is not a choice made here:
//! - Go builds every `globalPermissions` list from a map (`GlobalPermissionSet.StringValues()`),
//!   so its order changes from one call to the next; here it is always lowest level first
//!   (`read`, `write`, `admin`). The sets are Go's: `ds.ReadGlobalPermission()` is all three
//!   levels, `ds.WriteGlobalPermission()` is `write` and `admin`, `ds.AdminGlobalPermission()`
//!   only `admin`.

use crate::model::data_source::GlobalPermission::{Admin, Read, Write};
use crate::model::data_source::{
    AccessProviderType, DataObjectShareProperties, DataObjectType, DataObjectTypeAction,
    DataObjectTypePermission, DataSourceMetaData, GlobalPermission, MaskingMetadata, MaskingType,
    ShareMetadata, UsageLevel, UsageMetaInfo, feature, object_type,
};

/// Warehouses (Go writes the literal `"warehouse"`).
pub const WAREHOUSE: &str = "warehouse";
/// Integrations (Go `Integration`).
pub const INTEGRATION: &str = "integration";
/// Native applications (Go `Application`).
pub const APPLICATION: &str = "application";
/// User-defined functions (Go `Function`).
pub const FUNCTION: &str = "function";
/// Stored procedures (Go `Procedure`).
pub const PROCEDURE: &str = "procedure";
/// External tables (Go `ExternalTable = "external-" + ds.Table`).
pub const EXTERNAL_TABLE: &str = "external-table";
/// Iceberg tables (Go `IcebergTable = "iceberg-" + ds.Table`).
pub const ICEBERG_TABLE: &str = "iceberg-table";
/// Materialized views (Go `MaterializedView = "materialized-" + ds.View`).
pub const MATERIALIZED_VIEW: &str = "materialized-view";
/// The prefix of the types of objects shared with this account (Go `SharedPrefix`,
/// snowflake/constants.go).
pub const SHARED_PREFIX: &str = "shared-";
/// A database shared with this account (Go `SharedPrefix + ds.Database`).
pub const SHARED_DATABASE: &str = "shared-database";
/// A schema of a shared database (Go `SharedPrefix + ds.Schema`).
pub const SHARED_SCHEMA: &str = "shared-schema";
/// A table of a shared database (Go `SharedPrefix + ds.Table`).
pub const SHARED_TABLE: &str = "shared-table";
/// A view of a shared database (Go `SharedPrefix + ds.View`).
pub const SHARED_VIEW: &str = "shared-view";
/// A column of a shared table or view (Go `SharedPrefix + ds.Column`).
pub const SHARED_COLUMN: &str = "shared-column";
/// The `dataOrigin` of the shared types (raito-io/cli base/data_source/api.go `OriginShared`).
pub const ORIGIN_SHARED: &str = "Shared";

/// The `USAGE` privilege (warehouses, integrations; Go `USAGE`).
pub const USAGE: &str = "USAGE";
/// `USAGE` on a database, a permission of its own so that it is not inherited by the schemas
/// (Go `USAGE_ON_DATABASE`).
pub const USAGE_ON_DATABASE: &str = "USAGE on DATABASE";
/// `USAGE` on a schema, a permission of its own so that it is not taken from the database
/// (Go `USAGE_ON_SCHEMA`).
pub const USAGE_ON_SCHEMA: &str = "USAGE on SCHEMA";

/// Account roles (Go `access_provider.Role`).
pub const AP_TYPE_ROLE: &str = "role";
/// Database roles (Go `apTypeDatabaseRole`).
pub const AP_TYPE_DATABASE_ROLE: &str = "databaseRole";
/// Application roles (Go `apTypeApplicationRole`).
pub const AP_TYPE_APPLICATION_ROLE: &str = "applicationRole";

/// The mask that returns NULL (Go `NullMaskId`, snowflake/mask_factory.go).
pub const NULL_MASK_ID: &str = "NULL";
/// The mask that returns the SHA-256 hash (Go `SHA256MaskId`).
pub const SHA256_MASK_ID: &str = "SHA256";
/// The mask that returns the stored, encrypted value (Go `EncryptMaskId`).
pub const ENCRYPT_MASK_ID: &str = "ENCRYPT";

/// What Go sends as `shareMetadata.dataSourceShareIdentifier`: `ORGANIZATION.ACCOUNT`, read
/// with this statement (snowflake/repository.go `GetSnowFlakeAccountName` with `Delimiter: '.'`).
pub const SHARE_IDENTIFIER_QUERY: &str =
    "select CONCAT(CURRENT_ORGANIZATION_NAME(), '.', CURRENT_ACCOUNT_NAME())";

/// The column types the hash and encrypt masks apply to (snowflake/data_source_meta_data.go:119
/// and 131).
const TEXT_DATA_TYPES: &[&str] = &["varchar", "char", "string", "text"];

/// `ds.ReadGlobalPermission()`: every level includes it.
const READ_GLOBAL: &[GlobalPermission] = &[Read, Write, Admin];
/// `ds.WriteGlobalPermission()`: `write` and `admin` include it.
const WRITE_GLOBAL: &[GlobalPermission] = &[Write, Admin];
/// `ds.AdminGlobalPermission()`: only `admin` includes it.
const ADMIN_GLOBAL: &[GlobalPermission] = &[Admin];

/// What the Go connector's `GetDataSourceMetaData` returns
/// (snowflake/data_source_meta_data.go:39-143), for the parameters and the account it reads:
///
/// - `standard_edition`: `sf-standard-edition` (Go default `false`). A Standard Edition account
///   has no row filtering, column masking or masking and sharing metadata.
/// - `mask_decrypt_function`: whether `sf-mask-decrypt-function` is set at all (Go tests the
///   key's presence, whatever its value; default absent). Adds the `ENCRYPT` mask, outside
///   Standard Edition only.
/// - `share_identifier`: the account's `ORGANIZATION.ACCOUNT`, the answer to
///   [`SHARE_IDENTIFIER_QUERY`]. Go runs that statement on every call, Standard Edition too
///   (where the value is not used), and fails the call when it fails.
pub fn data_source_metadata(
    standard_edition: bool,
    mask_decrypt_function: bool,
    share_identifier: &str,
) -> DataSourceMetaData {
    // snowflake/data_source_meta_data.go:54-58: sharing always, filters and masks outside
    // Standard Edition.
    let mut supported_features = vec![feature::DATA_SHARING.to_owned()];
    if !standard_edition {
        supported_features.extend(names(&[feature::ROW_FILTERING, feature::COLUMN_MASKING]));
    }
    // snowflake/data_source_meta_data.go:60-105.
    let mut metadata = DataSourceMetaData {
        // Go writes the literal "snowflake" (the connector's name); it sets no `Icon`.
        r#type: super::NAME.to_owned(),
        supported_features,
        supports_ap_inheritance: true,
        data_object_types: data_object_types(),
        usage_meta_info: Some(UsageMetaInfo {
            default_level: object_type::TABLE.to_owned(),
            levels: vec![UsageLevel {
                name: object_type::TABLE.to_owned(),
                data_object_types: names(&[
                    object_type::TABLE,
                    object_type::VIEW,
                    EXTERNAL_TABLE,
                    MATERIALIZED_VIEW,
                    SHARED_TABLE,
                    SHARED_VIEW,
                ]),
            }],
        }),
        access_provider_types: vec![
            // snowflake/data_source_meta_data.go:75-83.
            AccessProviderType {
                r#type: AP_TYPE_ROLE.to_owned(),
                label: "Account Role".to_owned(),
                is_named_entity: true,
                can_be_created: true,
                can_be_assumed: true,
                can_assume_multiple: true,
                allowed_who_access_provider_types: names(&[AP_TYPE_ROLE]),
                ..Default::default()
            },
            // snowflake/data_source_meta_data.go:84-93.
            AccessProviderType {
                r#type: AP_TYPE_DATABASE_ROLE.to_owned(),
                label: "Database Role".to_owned(),
                is_named_entity: true,
                can_be_created: true,
                can_be_assumed: false,
                can_assume_multiple: false,
                allowed_who_access_provider_types: names(&[AP_TYPE_ROLE, AP_TYPE_DATABASE_ROLE]),
                common_parent_type: Some(object_type::DATABASE.to_owned()),
                ..Default::default()
            },
            // snowflake/data_source_meta_data.go:94-103.
            AccessProviderType {
                r#type: AP_TYPE_APPLICATION_ROLE.to_owned(),
                label: "Application Role".to_owned(),
                is_named_entity: true,
                can_be_created: false,
                can_be_assumed: false,
                can_assume_multiple: false,
                allowed_who_access_provider_types: names(&[AP_TYPE_ROLE, AP_TYPE_APPLICATION_ROLE]),
                common_parent_type: Some(APPLICATION.to_owned()),
                ..Default::default()
            },
        ],
        // Go sets no `FilterMetadata`, although it announces row filtering.
        ..Default::default()
    };
    if !standard_edition {
        // snowflake/data_source_meta_data.go:108-124.
        let mut mask_types = vec![
            MaskingType {
                display_name: "NULL".to_owned(),
                external_id: NULL_MASK_ID.to_owned(),
                description: "Returns NULL instead of the column value.".to_owned(),
                ..Default::default()
            },
            MaskingType {
                display_name: "HASH (sha256)".to_owned(),
                external_id: SHA256_MASK_ID.to_owned(),
                description: "Returns the SHA-256 hash of the column value.".to_owned(),
                data_types: names(TEXT_DATA_TYPES),
            },
        ];
        // snowflake/data_source_meta_data.go:126-133.
        if mask_decrypt_function {
            mask_types.push(MaskingType {
                display_name: "ENCRYPT".to_owned(),
                external_id: ENCRYPT_MASK_ID.to_owned(),
                description: "Returns the encrypted value (as stored in the database) instead \
                              of the decrypted version."
                    .to_owned(),
                data_types: names(TEXT_DATA_TYPES),
            });
        }
        metadata.masking_metadata = Some(MaskingMetadata {
            mask_types,
            default_mask_external_name: NULL_MASK_ID.to_owned(),
            applicable_types: names(&[
                object_type::TABLE,
                object_type::VIEW,
                MATERIALIZED_VIEW,
                EXTERNAL_TABLE,
                ICEBERG_TABLE,
            ]),
            // Go sets no `MaskOverridePermissions`.
            ..Default::default()
        });
        // snowflake/data_source_meta_data.go:135-139.
        metadata.share_metadata = Some(ShareMetadata {
            applicable_types: names(&[
                object_type::DATABASE,
                object_type::SCHEMA,
                object_type::TABLE,
                object_type::VIEW,
                EXTERNAL_TABLE,
                MATERIALIZED_VIEW,
                ICEBERG_TABLE,
                FUNCTION,
            ]),
            common_parent_type: object_type::DATABASE.to_owned(),
            data_source_share_identifier: share_identifier.to_owned(),
        });
    }
    metadata
}

/// The Go connector's `DataObjectTypes()` (snowflake/data_source_meta_data.go:145-845), in its
/// order. Where Go gives an empty but non-nil list (`Permissions` of `application` and the
/// shared types, `Children` of `warehouse`), it is sent as no list at all (protobuf and
/// `omitempty`), as here.
pub fn data_object_types() -> Vec<DataObjectType> {
    vec![
        // snowflake/data_source_meta_data.go:147-266: datasource
        DataObjectType {
            name: object_type::DATASOURCE.to_owned(),
            r#type: object_type::DATASOURCE.to_owned(),
            permissions: vec![
                admin(
                    "APPLY MASKING POLICY",
                    "Grants ability to set a Column-level Security masking policy on a table or view column and to set a masking policy on a tag. This global privilege also allows executing the DESCRIBE operation on tables and views.",
                ),
                admin(
                    "APPLY ROW ACCESS POLICY",
                    "Grants the ability to add and drop a row access policy on a table or view. This global privilege also allows executing the DESCRIBE operation on tables and views.",
                ),
                admin(
                    "APPLY SESSION POLICY",
                    "Grants the ability to set or unset a session policy on an account or user.",
                ),
                admin(
                    "APPLY TAG",
                    "Grants the ability to add or drop a tag on a Snowflake object.",
                ),
                admin(
                    "ATTACH POLICY",
                    "Grants ability to activate a network policy by associating it with your account.",
                ),
                admin(
                    "CREATE ACCOUNT",
                    "Enables a data provider to create a new managed account (i.e. reader account).",
                ),
                admin("CREATE ROLE", "Enables creating a new role."),
                admin("CREATE USER", "Enables creating a new user."),
                admin(
                    "MANAGE GRANTS",
                    "Enables granting or revoking privileges on objects for which the role is not the owner.",
                ),
                admin(
                    "CREATE DATA EXCHANGE LISTING",
                    "Enables creating a new Data Exchange listing.",
                ),
                admin(
                    "CREATE INTEGRATION",
                    "Enables creating a new notification, security, or storage integration.",
                ),
                admin(
                    "CREATE NETWORK POLICY",
                    "Enables creating a new network policy.",
                ),
                admin(
                    "CREATE SHARE",
                    "Enables a data provider to create a new share.",
                ),
                admin(
                    "CREATE WAREHOUSE",
                    "Enables creating a new virtual warehouse.",
                ),
                permission(
                    "EXECUTE MANAGED TASK",
                    &[],
                    &[],
                    "Grants ability to create tasks that rely on Snowflake-managed compute resources (serverless compute model). Only required for serverless tasks. The role that has the OWNERSHIP privilege on a task must have both the EXECUTE MANAGED TASK and the EXECUTE TASK privilege for the task to run.",
                ),
                permission(
                    "EXECUTE TASK",
                    &[],
                    &[],
                    "Grants ability to run tasks owned by the role. For serverless tasks to run, the role that has the OWNERSHIP privilege on the task must also have the global EXECUTE MANAGED TASK privilege.",
                ),
                permission(
                    "IMPORT SHARE",
                    READ_GLOBAL,
                    &[],
                    "Enables a data consumer to view inboundShares shared with their account. Also grants the ability to create databases from inboundShares; requires the global CREATE DATABASE privilege.",
                ),
                admin(
                    "MONITOR EXECUTION",
                    "Grants ability to monitor any pipes or tasks in the account. The USAGE privilege is also required on each database and schema that stores these objects.",
                ),
                admin(
                    "MONITOR USAGE",
                    "Grants ability to monitor account-level usage and historical information for databases and warehouses. Additionally grants ability to view managed accounts using SHOW MANAGED ACCOUNTS.",
                ),
                permission(
                    "OVERRIDE SHARE RESTRICTIONS",
                    &[],
                    &[],
                    "Grants ability to set value for the SHARE_RESTRICTIONS parameter which enables a Business Critical provider account to add a consumer account (with Non-Business Critical edition) to a share.",
                ),
            ],
            children: names(&[
                object_type::DATABASE,
                SHARED_DATABASE,
                WAREHOUSE,
                INTEGRATION,
                APPLICATION,
            ]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:267-296: warehouse
        DataObjectType {
            name: WAREHOUSE.to_owned(),
            r#type: WAREHOUSE.to_owned(),
            permissions: vec![
                admin(
                    "MODIFY",
                    "Enables altering any properties of a warehouse, including changing its size. ",
                ),
                admin(
                    "MONITOR",
                    "Enables viewing current and past queries executed on a warehouse as well as usage statistics on that warehouse.",
                ),
                admin(
                    "OPERATE",
                    "Enables changing the state of a warehouse (stop, start, suspend, resume). In addition, enables viewing current and past queries executed on a warehouse and aborting any executing queries.",
                ),
                permission(
                    USAGE,
                    READ_GLOBAL,
                    &[],
                    "Enables using a virtual warehouse and, as a result, executing queries on the warehouse. If the warehouse is configured to auto-resume when a SQL statement (e.g. query) is submitted to it, the warehouse resumes automatically and executes the statement.",
                ),
            ],
            // Go: an empty (non-nil) Children list, sent as none.
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:297-312: integration
        DataObjectType {
            name: INTEGRATION.to_owned(),
            r#type: INTEGRATION.to_owned(),
            label: "Integration".to_owned(),
            permissions: vec![
                permission(USAGE, READ_GLOBAL, &[], "Enables using this integration"),
                permission(
                    "USE_ANY_ROLE",
                    &[],
                    &[],
                    "Allows an External OAuth client or user to switch roles within a session when interacting with Snowflake through an integration.",
                ),
            ],
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:313-353: database
        DataObjectType {
            name: object_type::DATABASE.to_owned(),
            r#type: object_type::DATABASE.to_owned(),
            permissions: vec![
                admin(
                    "CREATE SCHEMA",
                    "Enables creating a new schema in a database, including cloning a schema.",
                ),
                // Go: "Defining a USAGE permission specifically for database level as it should
                // not be inherited by the schema level."
                permission(
                    USAGE_ON_DATABASE,
                    READ_GLOBAL,
                    &[],
                    "Enables using a database, including returning the database details in the SHOW DATABASES command output. Additional privileges are required to view or take actions on objects in a database.",
                ),
                admin("MODIFY", "Enables altering any settings of a database."),
                admin(
                    "MONITOR",
                    "Enables performing the DESCRIBE command on the database.",
                ),
                ownership(
                    "Grants full control over the database. Only a single role can hold this privilege on a specific object at a time.",
                ),
            ],
            children: names(&[object_type::SCHEMA]),
            share_properties: share(&[USAGE_ON_DATABASE], &[SHARED_DATABASE]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:354-358: application
        DataObjectType {
            name: APPLICATION.to_owned(),
            r#type: APPLICATION.to_owned(),
            // Go: an empty (non-nil) Permissions list, sent as none.
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:359-495: schema
        DataObjectType {
            name: object_type::SCHEMA.to_owned(),
            r#type: object_type::SCHEMA.to_owned(),
            permissions: vec![
                admin("MODIFY", "Enables altering any settings of a schema."),
                admin(
                    "MONITOR",
                    "Enables performing the DESCRIBE command on the schema.",
                ),
                // Go: "Defining a USAGE permission specifically for schema level as we should not
                // inherit it from the database level."
                permission(
                    USAGE_ON_SCHEMA,
                    READ_GLOBAL,
                    &[],
                    "Enables using a schema, including returning the schema details in the SHOW SCHEMAS command output. To execute SHOW <objects> commands for objects (tables, views, stages, file formats, sequences, pipes, or functions) in the schema, a role must have at least one privilege granted on the object.",
                ),
                admin(
                    "CREATE TABLE",
                    "Enables creating a new table in a schema, including cloning a table. Note that this privilege is not required to create temporary tables, which are scoped to the current user session and are automatically deleted when the session ends.",
                ),
                admin(
                    "CREATE EXTERNAL TABLE",
                    "Enables creating a new external table in a schema.",
                ),
                admin("CREATE VIEW", "Enables creating a new view in a schema."),
                admin(
                    "CREATE MATERIALIZED VIEW",
                    "Enables creating a new materialized view in a schema.",
                ),
                admin(
                    "CREATE MASKING POLICY",
                    "Enables creating a new Column-level Security masking policy in a schema.",
                ),
                admin(
                    "CREATE ROW ACCESS POLICY",
                    "Enables creating a new row access policy in a schema.",
                ),
                admin(
                    "CREATE SESSION POLICY",
                    "Enables creating a new session policy in a schema.",
                ),
                admin(
                    "CREATE STAGE",
                    "Enables creating a new stage in a schema, including cloning a stage.",
                ),
                admin(
                    "CREATE FILE FORMAT",
                    "Enables creating a new file format in a schema, including cloning a file format.",
                ),
                admin(
                    "CREATE SEQUENCE",
                    "Enables creating a new sequence in a schema, including cloning a sequence.",
                ),
                admin(
                    "CREATE FUNCTION",
                    "Enables creating a new UDF or external function in a schema.",
                ),
                admin("CREATE PIPE", "Enables creating a new pipe in a schema."),
                admin(
                    "CREATE STREAM",
                    "Enables creating a new stream in a schema, including cloning a stream.",
                ),
                admin("CREATE TAG", "Enables creating a new tag key in a schema."),
                admin(
                    "CREATE TASK",
                    "Enables creating a new task in a schema, including cloning a task.",
                ),
                admin(
                    "CREATE PROCEDURE",
                    "Enables creating a new stored procedure in a schema.",
                ),
                admin(
                    "ADD SEARCH OPTIMIZATION",
                    "Enables adding search optimization to a table in a schema.",
                ),
                ownership(
                    "Grants full control over the schema. Only a single role can hold this privilege on a specific object at a time.",
                ),
            ],
            children: names(&[
                object_type::TABLE,
                object_type::VIEW,
                EXTERNAL_TABLE,
                MATERIALIZED_VIEW,
                ICEBERG_TABLE,
                FUNCTION,
                PROCEDURE,
            ]),
            share_properties: share(&[USAGE_ON_SCHEMA], &[SHARED_SCHEMA]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:496-574: table
        DataObjectType {
            name: object_type::TABLE.to_owned(),
            r#type: object_type::TABLE.to_owned(),
            permissions: table_permissions(permission(
                "EVOLVE SCHEMA",
                &[],
                &[],
                "Enables schema evolution to occur on a table when loading data.",
            )),
            actions: table_actions(),
            children: names(&[object_type::COLUMN]),
            share_properties: share(&["SELECT", "EVOLVE SCHEMA"], &[SHARED_TABLE]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:575-590: function
        DataObjectType {
            name: FUNCTION.to_owned(),
            r#type: FUNCTION.to_owned(),
            label: "User Defined Function".to_owned(),
            permissions: vec![permission(
                USAGE,
                READ_GLOBAL,
                &[Read],
                "Enables using this function",
            )],
            share_properties: share(&["USAGE"], &[]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:591-603: procedure
        DataObjectType {
            name: PROCEDURE.to_owned(),
            r#type: PROCEDURE.to_owned(),
            label: "Stored Procedures".to_owned(),
            permissions: vec![permission(
                USAGE,
                READ_GLOBAL,
                &[Read],
                "Enables using this stored procedure",
            )],
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:604-683: iceberg-table
        DataObjectType {
            name: ICEBERG_TABLE.to_owned(),
            r#type: object_type::TABLE.to_owned(),
            label: "Iceberg Table".to_owned(),
            permissions: table_permissions(permission(
                "APPLYBUDGET",
                &[],
                &[],
                "Enables adding or removing an Iceberg table from a budget.",
            )),
            actions: table_actions(),
            children: names(&[object_type::COLUMN]),
            share_properties: share(&["SELECT"], &[SHARED_TABLE]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:684-718: external-table
        DataObjectType {
            name: EXTERNAL_TABLE.to_owned(),
            r#type: object_type::TABLE.to_owned(),
            label: "External Table".to_owned(),
            permissions: vec![
                permission(
                    "SELECT",
                    READ_GLOBAL,
                    &[Read],
                    "Enables executing a SELECT statement on a table.",
                ),
                ownership(
                    "Grants full control over the external table. Only a single role can hold this privilege on a specific object at a time.",
                ),
                permission(
                    "REFERENCES",
                    READ_GLOBAL,
                    &[Read],
                    "Enables referencing a table as the unique/primary key table for a foreign key constraint. Also enables viewing the structure of a table (but not the data) via the DESCRIBE or SHOW command or by querying the Information Schema.",
                ),
            ],
            actions: select_action(),
            // Deviation from Go, which declares no children here yet pushes the columns of
            // external tables (INFORMATION_SCHEMA.COLUMNS lists them; data_source.go
            // readColumnsInDatabase): Raito's import checks every element against its parent's
            // children, so without `column` here the whole import is refused.
            children: names(&[object_type::COLUMN]),
            share_properties: share(&["SELECT"], &[SHARED_TABLE]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:719-753: view
        DataObjectType {
            name: object_type::VIEW.to_owned(),
            r#type: object_type::VIEW.to_owned(),
            permissions: view_permissions(
                "Grants full control over the view. Only a single role can hold this privilege on a specific object at a time.",
            ),
            actions: select_action(),
            children: names(&[object_type::COLUMN]),
            share_properties: share(&["SELECT"], &[SHARED_TABLE]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:754-789: materialized-view
        DataObjectType {
            name: MATERIALIZED_VIEW.to_owned(),
            r#type: object_type::VIEW.to_owned(),
            label: "Materialized View".to_owned(),
            permissions: view_permissions(
                "Grants full control over the materialized view. Only a single role can hold this privilege on a specific object at a time.",
            ),
            actions: select_action(),
            children: names(&[object_type::COLUMN]),
            share_properties: share(&["SELECT"], &[SHARED_TABLE]),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:790-793: column
        DataObjectType {
            name: object_type::COLUMN.to_owned(),
            r#type: object_type::COLUMN.to_owned(),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:794-806: shared-database
        DataObjectType {
            name: SHARED_DATABASE.to_owned(),
            r#type: object_type::DATABASE.to_owned(),
            permissions: vec![permission(
                "IMPORTED PRIVILEGES",
                READ_GLOBAL,
                &[],
                "Enables roles other than the owning role to access a shared database; applies only to shared databases.",
            )],
            children: names(&[SHARED_SCHEMA]),
            data_origin: ORIGIN_SHARED.to_owned(),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:807-813: shared-schema
        DataObjectType {
            name: SHARED_SCHEMA.to_owned(),
            r#type: object_type::SCHEMA.to_owned(),
            // Go: an empty (non-nil) Permissions list, sent as none.
            children: names(&[SHARED_TABLE, SHARED_VIEW]),
            data_origin: ORIGIN_SHARED.to_owned(),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:814-826: shared-table
        DataObjectType {
            name: SHARED_TABLE.to_owned(),
            r#type: object_type::TABLE.to_owned(),
            // Go: an empty (non-nil) Permissions list, sent as none.
            actions: select_action(),
            children: names(&[SHARED_COLUMN]),
            data_origin: ORIGIN_SHARED.to_owned(),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:827-839: shared-view
        DataObjectType {
            name: SHARED_VIEW.to_owned(),
            r#type: object_type::VIEW.to_owned(),
            // Go: an empty (non-nil) Permissions list, sent as none.
            actions: select_action(),
            children: names(&[SHARED_COLUMN]),
            data_origin: ORIGIN_SHARED.to_owned(),
            ..Default::default()
        },
        // snowflake/data_source_meta_data.go:840-843: shared-column
        DataObjectType {
            name: SHARED_COLUMN.to_owned(),
            r#type: object_type::COLUMN.to_owned(),
            ..Default::default()
        },
    ]
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// A type's `shareProperties`: the permissions a share may carry and the types they become.
fn share(permissions: &[&str], shared_types: &[&str]) -> Option<DataObjectShareProperties> {
    Some(DataObjectShareProperties {
        shareable_permissions: names(permissions),
        corresponding_shared_types: names(shared_types),
    })
}

fn levels(levels: &[GlobalPermission]) -> Vec<String> {
    levels
        .iter()
        .map(|level| level.as_str().to_owned())
        .collect()
}

/// A permission: its name, the global permissions that include it, the global permissions its
/// usage counts as, and Go's description.
fn permission(
    permission: &str,
    global: &[GlobalPermission],
    usage: &[GlobalPermission],
    description: &str,
) -> DataObjectTypePermission {
    DataObjectTypePermission {
        permission: permission.to_owned(),
        global_permissions: levels(global),
        description: description.to_owned(),
        usage_global_permissions: levels(usage),
        cannot_be_granted: false,
    }
}

/// Go's most common shape: `GlobalPermissions: ds.AdminGlobalPermission().StringValues()`,
/// `UsageGlobalPermissions: []string{ds.Admin}`.
fn admin(name: &str, description: &str) -> DataObjectTypePermission {
    permission(name, ADMIN_GLOBAL, &[Admin], description)
}

/// `OWNERSHIP` as Go declares it on every type that has it: in no global permission, usage
/// counting as read, write and admin, and never granted by Raito (`CannotBeGranted`).
fn ownership(description: &str) -> DataObjectTypePermission {
    DataObjectTypePermission {
        cannot_be_granted: true,
        ..permission("OWNERSHIP", &[], &[Read, Write, Admin], description)
    }
}

fn action(action: &str, global: GlobalPermission) -> DataObjectTypeAction {
    DataObjectTypeAction {
        action: action.to_owned(),
        global_actions: levels(&[global]),
    }
}

/// The actions of `table` and `iceberg-table`.
/// The permissions the table and the Iceberg table share (snowflake/data_source_meta_data.go:
/// the first seven of each), then `last`, the one that differs.
fn table_permissions(last: DataObjectTypePermission) -> Vec<DataObjectTypePermission> {
    vec![
        permission(
            "SELECT",
            READ_GLOBAL,
            &[Read],
            "Enables executing a SELECT statement on a table.",
        ),
        permission(
            "INSERT",
            WRITE_GLOBAL,
            &[Write],
            "Enables executing an INSERT command on a table. Also enables using the ALTER TABLE command with a RECLUSTER clause to manually recluster a table with a clustering key.",
        ),
        permission(
            "UPDATE",
            WRITE_GLOBAL,
            &[Write],
            "Enables executing an UPDATE command on a table.",
        ),
        permission(
            "TRUNCATE",
            WRITE_GLOBAL,
            &[Write],
            "Enables executing a TRUNCATE TABLE command on a table.",
        ),
        permission(
            "DELETE",
            WRITE_GLOBAL,
            &[Write],
            "Enables executing a DELETE command on a table.",
        ),
        permission(
            "REFERENCES",
            READ_GLOBAL,
            &[Read],
            "Enables referencing a table as the unique/primary key table for a foreign key constraint. Also enables viewing the structure of a table (but not the data) via the DESCRIBE or SHOW command or by querying the Information Schema.",
        ),
        ownership(
            "Grants full control over the table. Required to alter most properties of a table, with the exception of reclustering. Only a single role can hold this privilege on a specific object at a time. Note that in a managed access schema, only the schema owner (i.e. the role with the OWNERSHIP privilege on the schema) or a role with the MANAGE GRANTS privilege can grant or revoke privileges on objects in the schema, including future grants.",
        ),
        last,
    ]
}

/// The permissions the view and the materialized view share (snowflake/data_source_meta_data.go),
/// with the description of their OWNERSHIP, the one that differs.
fn view_permissions(ownership_description: &str) -> Vec<DataObjectTypePermission> {
    vec![
        permission(
            "SELECT",
            READ_GLOBAL,
            &[Read],
            "Enables executing a SELECT statement on a view.",
        ),
        permission(
            "REFERENCES",
            READ_GLOBAL,
            &[Read],
            "Enables referencing a table as the unique/primary key table for a foreign key constraint. Also enables viewing the structure of a table (but not the data) via the DESCRIBE or SHOW command or by querying the Information Schema.",
        ),
        ownership(ownership_description),
    ]
}

fn table_actions() -> Vec<DataObjectTypeAction> {
    vec![
        action("SELECT", Read),
        action("INSERT", Write),
        action("UPDATE", Write),
        action("DELETE", Write),
        action("TRUNCATE", Write),
    ]
}

/// The only action of external tables, views and the shared tables and views.
fn select_action() -> Vec<DataObjectTypeAction> {
    vec![action("SELECT", Read)]
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet, VecDeque};

    use serde_json::{Value, json};

    use super::*;

    fn enterprise() -> DataSourceMetaData {
        data_source_metadata(false, false, "ACME.PROD")
    }

    fn find<'a>(metadata: &'a DataSourceMetaData, name: &str) -> &'a DataObjectType {
        let found: Vec<_> = metadata
            .data_object_types
            .iter()
            .filter(|t| t.name == name)
            .collect();
        assert_eq!(found.len(), 1, "type {name}: {found:?}");
        found[0]
    }

    fn find_permission<'a>(
        metadata: &'a DataSourceMetaData,
        type_name: &str,
        permission: &str,
    ) -> &'a DataObjectTypePermission {
        let found: Vec<_> = find(metadata, type_name)
            .permissions
            .iter()
            .filter(|p| p.permission == permission)
            .collect();
        assert_eq!(found.len(), 1, "{permission} on {type_name}: {found:?}");
        found[0]
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn types_are_gos_in_gos_order_with_gos_children() {
        // snowflake/data_source_meta_data.go DataObjectTypes(): name, type, label, children.
        let expected: &[(&str, &str, &str, &[&str])] = &[
            (
                "datasource",
                "datasource",
                "",
                &[
                    "database",
                    "shared-database",
                    "warehouse",
                    "integration",
                    "application",
                ],
            ),
            ("warehouse", "warehouse", "", &[]),
            ("integration", "integration", "Integration", &[]),
            ("database", "database", "", &["schema"]),
            ("application", "application", "", &[]),
            (
                "schema",
                "schema",
                "",
                &[
                    "table",
                    "view",
                    "external-table",
                    "materialized-view",
                    "iceberg-table",
                    "function",
                    "procedure",
                ],
            ),
            ("table", "table", "", &["column"]),
            ("function", "function", "User Defined Function", &[]),
            ("procedure", "procedure", "Stored Procedures", &[]),
            ("iceberg-table", "table", "Iceberg Table", &["column"]),
            // Go declares none; see the deviation at the type.
            ("external-table", "table", "External Table", &["column"]),
            ("view", "view", "", &["column"]),
            (
                "materialized-view",
                "view",
                "Materialized View",
                &["column"],
            ),
            ("column", "column", "", &[]),
            ("shared-database", "database", "", &["shared-schema"]),
            (
                "shared-schema",
                "schema",
                "",
                &["shared-table", "shared-view"],
            ),
            ("shared-table", "table", "", &["shared-column"]),
            ("shared-view", "view", "", &["shared-column"]),
            ("shared-column", "column", "", &[]),
        ];
        let actual: Vec<(String, String, String, Vec<String>)> = data_object_types()
            .into_iter()
            .map(|t| {
                assert_eq!(t.icon, "", "Go sets no icon on {}", t.name);
                (t.name, t.r#type, t.label, t.children)
            })
            .collect();
        let expected: Vec<(String, String, String, Vec<String>)> = expected
            .iter()
            .map(|(n, t, l, c)| {
                (
                    (*n).to_owned(),
                    (*t).to_owned(),
                    (*l).to_owned(),
                    strings(c),
                )
            })
            .collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn every_child_is_a_type_and_every_type_hangs_under_datasource() {
        let metadata = enterprise();
        let names: Vec<&str> = metadata
            .data_object_types
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let unique: HashSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "duplicate type names: {names:?}");
        assert_eq!(names.len(), 19);
        let mut children_of_someone = HashSet::new();
        for t in &metadata.data_object_types {
            for child in &t.children {
                assert!(
                    unique.contains(child.as_str()),
                    "{} lists child {child}, which is no type",
                    t.name
                );
                children_of_someone.insert(child.as_str());
            }
        }
        // `datasource` is the only root: nothing lists it, and everything else is listed.
        let roots: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !children_of_someone.contains(n))
            .collect();
        assert_eq!(roots, vec![object_type::DATASOURCE]);
        assert_eq!(metadata.data_object_types[0].name, object_type::DATASOURCE);
        // And every type is reachable from it (no cycle cut off from the root).
        let mut seen = HashSet::from([object_type::DATASOURCE]);
        let mut queue = VecDeque::from([object_type::DATASOURCE]);
        while let Some(name) = queue.pop_front() {
            for child in &find(&metadata, name).children {
                if seen.insert(child.as_str()) {
                    queue.push_back(child.as_str());
                }
            }
        }
        assert_eq!(seen, unique);
    }

    #[test]
    fn permission_counts_and_orders_are_gos() {
        let metadata = enterprise();
        let listed = |type_name: &str| -> Vec<String> {
            find(&metadata, type_name)
                .permissions
                .iter()
                .map(|p| p.permission.clone())
                .collect()
        };
        let counts: Vec<(String, usize, usize)> = metadata
            .data_object_types
            .iter()
            .map(|t| (t.name.clone(), t.permissions.len(), t.actions.len()))
            .collect();
        let expected: Vec<(String, usize, usize)> = [
            ("datasource", 20, 0),
            ("warehouse", 4, 0),
            ("integration", 2, 0),
            ("database", 5, 0),
            ("application", 0, 0),
            ("schema", 21, 0),
            ("table", 8, 5),
            ("function", 1, 0),
            ("procedure", 1, 0),
            ("iceberg-table", 8, 5),
            ("external-table", 3, 1),
            ("view", 3, 1),
            ("materialized-view", 3, 1),
            ("column", 0, 0),
            ("shared-database", 1, 0),
            ("shared-schema", 0, 0),
            ("shared-table", 0, 1),
            ("shared-view", 0, 1),
            ("shared-column", 0, 0),
        ]
        .iter()
        .map(|(n, p, a)| ((*n).to_owned(), *p, *a))
        .collect();
        assert_eq!(counts, expected);
        assert_eq!(
            listed("table"),
            strings(&[
                "SELECT",
                "INSERT",
                "UPDATE",
                "TRUNCATE",
                "DELETE",
                "REFERENCES",
                "OWNERSHIP",
                "EVOLVE SCHEMA"
            ])
        );
        assert_eq!(
            listed("database"),
            strings(&[
                "CREATE SCHEMA",
                "USAGE on DATABASE",
                "MODIFY",
                "MONITOR",
                "OWNERSHIP"
            ])
        );
        assert_eq!(
            listed("warehouse"),
            strings(&["MODIFY", "MONITOR", "OPERATE", "USAGE"])
        );
        assert_eq!(listed("integration"), strings(&["USAGE", "USE_ANY_ROLE"]));
        assert_eq!(listed("shared-database"), strings(&["IMPORTED PRIVILEGES"]));
        let datasource = listed("datasource");
        assert_eq!(
            datasource.first().map(String::as_str),
            Some("APPLY MASKING POLICY")
        );
        assert_eq!(
            datasource.last().map(String::as_str),
            Some("OVERRIDE SHARE RESTRICTIONS")
        );
        let schema = listed("schema");
        assert_eq!(schema[2], "USAGE on SCHEMA");
        assert_eq!(schema.last().map(String::as_str), Some("OWNERSHIP"));
    }

    #[test]
    fn table_select_is_exactly_gos() {
        let metadata = enterprise();
        assert_eq!(
            find_permission(&metadata, object_type::TABLE, "SELECT"),
            &DataObjectTypePermission {
                permission: "SELECT".to_owned(),
                // ds.ReadGlobalPermission(): every level includes reading.
                global_permissions: strings(&["read", "write", "admin"]),
                description: "Enables executing a SELECT statement on a table.".to_owned(),
                usage_global_permissions: strings(&["read"]),
                cannot_be_granted: false,
            }
        );
        assert_eq!(
            find_permission(&metadata, object_type::TABLE, "INSERT"),
            &DataObjectTypePermission {
                permission: "INSERT".to_owned(),
                global_permissions: strings(&["write", "admin"]),
                description: "Enables executing an INSERT command on a table. Also enables \
                              using the ALTER TABLE command with a RECLUSTER clause to manually \
                              recluster a table with a clustering key."
                    .to_owned(),
                usage_global_permissions: strings(&["write"]),
                cannot_be_granted: false,
            }
        );
        assert_eq!(
            find_permission(&metadata, object_type::TABLE, "EVOLVE SCHEMA"),
            &DataObjectTypePermission {
                permission: "EVOLVE SCHEMA".to_owned(),
                description: "Enables schema evolution to occur on a table when loading data."
                    .to_owned(),
                ..Default::default()
            }
        );
        let actions: Vec<(&str, Vec<String>)> = find(&metadata, object_type::TABLE)
            .actions
            .iter()
            .map(|a| (a.action.as_str(), a.global_actions.clone()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("SELECT", strings(&["read"])),
                ("INSERT", strings(&["write"])),
                ("UPDATE", strings(&["write"])),
                ("DELETE", strings(&["write"])),
                ("TRUNCATE", strings(&["write"])),
            ]
        );
    }

    #[test]
    fn usage_on_database_and_admin_permissions_are_gos() {
        let metadata = enterprise();
        assert_eq!(
            find_permission(&metadata, object_type::DATABASE, USAGE_ON_DATABASE),
            &DataObjectTypePermission {
                permission: "USAGE on DATABASE".to_owned(),
                global_permissions: strings(&["read", "write", "admin"]),
                description: "Enables using a database, including returning the database \
                              details in the SHOW DATABASES command output. Additional \
                              privileges are required to view or take actions on objects in a \
                              database."
                    .to_owned(),
                usage_global_permissions: Vec::new(),
                cannot_be_granted: false,
            }
        );
        assert_eq!(
            find_permission(&metadata, object_type::DATASOURCE, "MANAGE GRANTS"),
            &DataObjectTypePermission {
                permission: "MANAGE GRANTS".to_owned(),
                global_permissions: strings(&["admin"]),
                description: "Enables granting or revoking privileges on objects for which the \
                              role is not the owner."
                    .to_owned(),
                usage_global_permissions: strings(&["admin"]),
                cannot_be_granted: false,
            }
        );
        // Go gives EXECUTE TASK no global permission at all: Raito never grants it for one.
        let execute_task = find_permission(&metadata, object_type::DATASOURCE, "EXECUTE TASK");
        assert!(execute_task.global_permissions.is_empty());
        assert!(execute_task.usage_global_permissions.is_empty());
        // The warehouse's MODIFY description keeps Go's trailing space.
        assert!(
            find_permission(&metadata, WAREHOUSE, "MODIFY")
                .description
                .ends_with("changing its size. ")
        );
    }

    #[test]
    fn ownership_is_never_granted_and_nothing_else_is_refused() {
        let metadata = enterprise();
        let mut with_ownership = Vec::new();
        for t in &metadata.data_object_types {
            for p in &t.permissions {
                // Every global permission list is empty or one of Go's three sets.
                assert!(
                    [
                        &[][..],
                        &["admin"][..],
                        &["write", "admin"][..],
                        &["read", "write", "admin"][..]
                    ]
                    .contains(
                        &p.global_permissions
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .as_slice()
                    ),
                    "{} on {}: {:?}",
                    p.permission,
                    t.name,
                    p.global_permissions
                );
                if p.permission == "OWNERSHIP" {
                    with_ownership.push(t.name.as_str());
                    assert!(p.cannot_be_granted, "OWNERSHIP on {}", t.name);
                    assert!(p.global_permissions.is_empty(), "OWNERSHIP on {}", t.name);
                    assert_eq!(
                        p.usage_global_permissions,
                        strings(&["read", "write", "admin"])
                    );
                } else {
                    assert!(!p.cannot_be_granted, "{} on {}", p.permission, t.name);
                }
            }
        }
        assert_eq!(
            with_ownership,
            vec![
                "database",
                "schema",
                "table",
                "iceberg-table",
                "external-table",
                "view",
                "materialized-view"
            ]
        );
        assert_eq!(
            find_permission(&metadata, object_type::VIEW, "OWNERSHIP").description,
            "Grants full control over the view. Only a single role can hold this privilege on a \
             specific object at a time."
        );
    }

    #[test]
    fn enterprise_edition_masks_filters_and_shares() {
        let metadata = enterprise();
        assert_eq!(metadata.r#type, "snowflake");
        assert_eq!(metadata.icon, "");
        assert!(metadata.supports_ap_inheritance);
        assert_eq!(
            metadata.supported_features,
            strings(&["dataSharing", "rowFiltering", "columnMasking"])
        );
        assert_eq!(metadata.filter_metadata, None);
        assert_eq!(
            metadata.masking_metadata,
            Some(MaskingMetadata {
                mask_types: vec![
                    MaskingType {
                        display_name: "NULL".to_owned(),
                        external_id: "NULL".to_owned(),
                        description: "Returns NULL instead of the column value.".to_owned(),
                        data_types: Vec::new(),
                    },
                    MaskingType {
                        display_name: "HASH (sha256)".to_owned(),
                        external_id: "SHA256".to_owned(),
                        description: "Returns the SHA-256 hash of the column value.".to_owned(),
                        data_types: strings(&["varchar", "char", "string", "text"]),
                    },
                ],
                default_mask_external_name: "NULL".to_owned(),
                mask_override_permissions: Vec::new(),
                applicable_types: strings(&[
                    "table",
                    "view",
                    "materialized-view",
                    "external-table",
                    "iceberg-table"
                ]),
            })
        );
        assert_eq!(
            metadata.share_metadata,
            Some(ShareMetadata {
                applicable_types: strings(&[
                    "database",
                    "schema",
                    "table",
                    "view",
                    "external-table",
                    "materialized-view",
                    "iceberg-table",
                    "function"
                ]),
                common_parent_type: "database".to_owned(),
                data_source_share_identifier: "ACME.PROD".to_owned(),
            })
        );
        let with_decrypt = data_source_metadata(false, true, "ACME.PROD");
        let masks: Vec<&str> = with_decrypt
            .masking_metadata
            .as_ref()
            .map(|m| {
                m.mask_types
                    .iter()
                    .map(|t| t.external_id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(masks, vec!["NULL", "SHA256", "ENCRYPT"]);
        assert_eq!(
            with_decrypt
                .masking_metadata
                .as_ref()
                .map(|m| &m.mask_types[2]),
            Some(&MaskingType {
                display_name: "ENCRYPT".to_owned(),
                external_id: "ENCRYPT".to_owned(),
                description: "Returns the encrypted value (as stored in the database) instead \
                              of the decrypted version."
                    .to_owned(),
                data_types: strings(&["varchar", "char", "string", "text"]),
            })
        );
    }

    #[test]
    fn standard_edition_only_shares() {
        for decrypt in [false, true] {
            let standard = data_source_metadata(true, decrypt, "ACME.PROD");
            assert_eq!(standard.supported_features, strings(&["dataSharing"]));
            assert_eq!(standard.masking_metadata, None);
            assert_eq!(standard.share_metadata, None);
            assert_eq!(standard.filter_metadata, None);
            // Everything else is the same model.
            let enterprise = enterprise();
            assert_eq!(standard.data_object_types, enterprise.data_object_types);
            assert_eq!(
                standard.access_provider_types,
                enterprise.access_provider_types
            );
            assert_eq!(standard.usage_meta_info, enterprise.usage_meta_info);
            assert!(standard.supports_ap_inheritance);
        }
    }

    #[test]
    fn access_provider_types_are_gos() {
        assert_eq!(
            enterprise().access_provider_types,
            vec![
                AccessProviderType {
                    r#type: "role".to_owned(),
                    label: "Account Role".to_owned(),
                    is_named_entity: true,
                    can_be_created: true,
                    can_be_assumed: true,
                    can_assume_multiple: true,
                    allowed_who_access_provider_types: strings(&["role"]),
                    ..Default::default()
                },
                AccessProviderType {
                    r#type: "databaseRole".to_owned(),
                    label: "Database Role".to_owned(),
                    is_named_entity: true,
                    can_be_created: true,
                    allowed_who_access_provider_types: strings(&["role", "databaseRole"]),
                    common_parent_type: Some("database".to_owned()),
                    ..Default::default()
                },
                AccessProviderType {
                    r#type: "applicationRole".to_owned(),
                    label: "Application Role".to_owned(),
                    is_named_entity: true,
                    allowed_who_access_provider_types: strings(&["role", "applicationRole"]),
                    common_parent_type: Some("application".to_owned()),
                    ..Default::default()
                },
            ]
        );
    }

    #[test]
    fn usage_levels_pass_the_go_clis_consistency_check() {
        // raito-io/cli internal/data_source/metadata.go metadataConsistencyCheck: the default
        // level is a level, and every type of every level is a data object type.
        let metadata = enterprise();
        let usage = metadata.usage_meta_info.as_ref();
        assert_eq!(usage.map(|u| u.default_level.as_str()), Some("table"));
        let levels = usage.map(|u| u.levels.clone()).unwrap_or_default();
        assert_eq!(
            levels,
            vec![UsageLevel {
                name: "table".to_owned(),
                data_object_types: strings(&[
                    "table",
                    "view",
                    "external-table",
                    "materialized-view",
                    "shared-table",
                    "shared-view"
                ]),
            }]
        );
        let types: BTreeSet<&str> = metadata
            .data_object_types
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        for level in &levels {
            for t in &level.data_object_types {
                assert!(types.contains(t.as_str()), "usage level type {t}");
            }
        }
    }

    #[test]
    fn json_has_the_field_names_raito_expects() {
        let metadata = enterprise();
        let value = serde_json::to_value(&metadata).expect("the metadata serializes");
        let keys = |v: &Value| -> BTreeSet<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        // DataSourceMetaDataInput's fields; no icon, no filterMetadata (Go sets neither).
        assert_eq!(
            keys(&value),
            [
                "dataObjectTypes",
                "accessProviderTypes",
                "supportedFeatures",
                "type",
                "usageMetaInfo",
                "supportsApInheritance",
                "maskingMetadata",
                "shareMetadata"
            ]
            .iter()
            .map(|k| (*k).to_owned())
            .collect()
        );
        let table = &value["dataObjectTypes"][6];
        assert_eq!(
            keys(table),
            [
                "name",
                "type",
                "permissions",
                "actions",
                "children",
                "shareProperties"
            ]
            .iter()
            .map(|k| (*k).to_owned())
            .collect()
        );
        assert_eq!(table["name"], json!("table"));
        assert_eq!(
            table["shareProperties"],
            json!({
                "shareablePermissions": ["SELECT", "EVOLVE SCHEMA"],
                "correspondingSharedTypes": ["shared-table"]
            })
        );
        assert_eq!(table["children"], json!(["column"]));
        assert_eq!(
            table["permissions"][0],
            json!({
                "permission": "SELECT",
                "globalPermissions": ["read", "write", "admin"],
                "description": "Enables executing a SELECT statement on a table.",
                "usageGlobalPermissions": ["read"]
            })
        );
        assert_eq!(
            table["permissions"][6]["cannotBeGranted"],
            json!(true),
            "{}",
            table["permissions"][6]
        );
        assert_eq!(
            table["actions"][0],
            json!({"action": "SELECT", "globalActions": ["read"]})
        );
        // A labelled type, and the empty lists Go sends as none.
        assert_eq!(
            value["dataObjectTypes"][7],
            json!({
                "name": "function",
                "type": "function",
                "label": "User Defined Function",
                "permissions": [{
                    "permission": "USAGE",
                    "globalPermissions": ["read", "write", "admin"],
                    "description": "Enables using this function",
                    "usageGlobalPermissions": ["read"]
                }],
                "shareProperties": {"shareablePermissions": ["USAGE"]}
            })
        );
        // The types of shared data, with their origin.
        let shared: Vec<&Value> = value["dataObjectTypes"]
            .as_array()
            .expect("a list")
            .iter()
            .filter(|t| t["dataOrigin"] == json!("Shared"))
            .collect();
        let names: Vec<&Value> = shared.iter().map(|t| &t["name"]).collect();
        assert_eq!(
            names,
            [
                "shared-database",
                "shared-schema",
                "shared-table",
                "shared-view"
            ]
        );
        assert_eq!(
            value["dataObjectTypes"][4],
            json!({"name": "application", "type": "application"})
        );
        assert_eq!(
            value["accessProviderTypes"][1],
            json!({
                "type": "databaseRole",
                "label": "Database Role",
                "isNamedEntity": true,
                "canBeCreated": true,
                "allowedWhoAccessProviderTypes": ["role", "databaseRole"],
                "commonParentType": "database"
            })
        );
        assert_eq!(
            value["usageMetaInfo"]["defaultLevel"],
            json!("table"),
            "{}",
            value["usageMetaInfo"]
        );
        assert_eq!(
            value["shareMetadata"],
            json!({
                "applicableTypes": ["database", "schema", "table", "view", "external-table",
                    "materialized-view", "iceberg-table", "function"],
                "commonParentType": "database",
                "dataSourceShareIdentifier": "ACME.PROD"
            })
        );
        assert_eq!(
            value["maskingMetadata"]["defaultMaskExternalName"],
            json!("NULL")
        );
        // Standard Edition: still sent, and `supportsApInheritance` is always there.
        let standard = serde_json::to_value(data_source_metadata(true, false, ""))
            .expect("the metadata serializes");
        assert_eq!(standard["supportedFeatures"], json!(["dataSharing"]));
        assert_eq!(standard["supportsApInheritance"], json!(true));
        assert!(standard.get("maskingMetadata").is_none());
        assert!(standard.get("shareMetadata").is_none());
    }
}
