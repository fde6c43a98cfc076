//! The data usage sync's wire types: one statement (query) per element of the usage files, with
//! the data objects it touched and how (read, write, admin).

use serde::{Deserialize, Serialize};

use super::access::DataObjectReference;

/// How a connector marks, at the start of [`Statement::error`] (or after the server's error and
/// `; `), a statement whose SQL it could not parse: such a statement is kept, without accessed
/// data objects. Pipelines count these.
pub const UNPARSED: &str = "SQL not parsed: ";

/// How a statement used a data object: Raito's global permission it exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UsageGlobalPermission {
    /// The connector could not tell (`unknownaction`).
    #[default]
    UnknownAction,
    /// The statement read data (`read`).
    Read,
    /// The statement changed data (`write`).
    Write,
    /// The statement managed the object, e.g. DDL or grants (`admin`).
    Admin,
}

/// One data object a statement touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessedDataObject {
    /// The object, by full name and type.
    #[serde(default)]
    pub data_object: DataObjectReference,
    /// How it was used.
    #[serde(default)]
    pub global_permission: UsageGlobalPermission,
}

/// One executed statement (query) in the source's history, one element of a usage file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// The source's unique id of the statement (e.g. the query id).
    #[serde(default)]
    pub external_id: String,
    /// The account name of the user who ran it.
    #[serde(default)]
    pub user: String,
    /// The role it ran under, when the source has roles.
    #[serde(default)]
    pub role: String,
    /// Whether it succeeded.
    #[serde(default)]
    pub success: bool,
    /// The source's own status text, e.g. `SUCCESS` or `FAILED_WITH_ERROR`.
    #[serde(default)]
    pub status: String,
    /// The statement text.
    #[serde(default)]
    pub query: String,
    /// The error message when it failed (or when its parsing failed).
    #[serde(default)]
    pub error: String,
    /// When it started, unix epoch seconds.
    #[serde(default)]
    pub start_time: i64,
    /// When it ended, unix epoch seconds.
    #[serde(default)]
    pub end_time: i64,
    /// The bytes it scanned or returned, as the source reports them.
    #[serde(default)]
    pub bytes: i64,
    /// The rows it returned or changed.
    #[serde(default)]
    pub rows: i64,
    /// The compute credits it cost (Snowflake); 0 when the source has no such notion.
    #[serde(default)]
    pub credits: f64,
    /// The data objects it touched.
    #[serde(default)]
    pub accessed_data_objects: Vec<AccessedDataObject>,
}
