//! Every GraphQL operation this client sends, in one place: the documents are the files in
//! `graphql/` (one operation per file), checked against `graphql/schema.graphql` at compile
//! time by `graphql_client`, which also generates their typed variables and responses. The
//! one exception is `set_data_source_metadata`, which `graphql_client` cannot derive (see
//! [`set_data_source_meta_data`]): its variables and answer are written here. The stand-in's
//! tests (`dev/raito-standin/tests/it/documents.rs`) validate every file of `graphql/`
//! against the schema with apollo-compiler, so the hand-written one is checked too. This file
//! also posts them to `POST {base}query` and reads the answers.
//!
//! Two kinds of document:
//! - **With variables** (`create_job`, `update_job`, `add_task_event`, `add_log_file_to_task`,
//!   `set_data_source_metadata`, `end_of_targets_sync`, `import_data_usage`,
//!   `export_access_providers`, `add_subtask_event`): the variable declarations are exactly
//!   those the Raito CLI's generated client writes (`$input:JobInput!`, `$id:String!` for
//!   `updateJob`, `$id:ID!`…), so the input type names that reach the server are the ones known
//!   to work.
//! - **With inline literals** (`job_subtask`, `import_data_source`, `import_identity`,
//!   `set_identity_store_metadata`, `data_source_usage`, `import_access_providers`,
//!   `import_access_feedback`): the Raito CLI writes these
//!   by hand with the values in the text, so the names of their input types (and ID versus
//!   String for `jobId`) never reach the real server and are not known for sure. Declaring
//!   variables would put those guesses on the wire. So the documents hold placeholder string
//!   literals (`"@jobId"`), valid for ID and String alike, and [`inline`] replaces each with
//!   the value as a properly escaped GraphQL string literal. The only variables there are
//!   booleans (`$deleteUntouched: Boolean!`…), a built-in type.
//!
//! One operation per file, not one file for all: `graphql_client` sends the whole file as the
//! document, and a server validates every operation of a document, so one operation the real
//! schema disagrees with (e.g. `updateJob`'s `$id:String!`, unsure) would break all the others.

use std::borrow::Cow;

use graphql_client::GraphQLQuery;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::{Error, Idempotency, ResponseError};
// The generated modules `use super::*`: these are the types they take from here.
pub(crate) use super::status::JobStatus;

/// The `Time` scalar: an RFC 3339 string.
pub(crate) type Time = String;

/// `createJob`: a new job for one target.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/create_job.graphql",
    extern_enums("JobStatus"),
    skip_serializing_none,
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct CreateJob;

/// `updateJob`: the job's status (IN_PROGRESS, COMPLETED, FAILED with errors).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/update_job.graphql",
    extern_enums("JobStatus"),
    skip_serializing_none,
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct UpdateJob;

/// `addTaskEvent`: the status of one step (task) of a job.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/add_task_event.graphql",
    extern_enums("JobStatus"),
    skip_serializing_none,
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct AddTaskEvent;

/// `addLogFileToTask`: attaches an uploaded step log to the step's task. The Raito CLI's
/// generated document (raito-io/cli internal/logging/task_logging.go, via hasura):
/// `mutation ($input:LogFileToTaskInput!){addLogFileToTask(input: $input){jobId,jobType}}`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/add_log_file_to_task.graphql",
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct AddLogFileToTask;

/// `setDataSourceMetaData`: the data source's object types and permissions, with the Go
/// CLI's selection (raito-io/cli `internal/data_source/metadata.go`, `SetMetaData`:
/// `... on DataSource{id},... on BaseError{message}`) plus `__typename`. `graphql_client` 0.16
/// refuses an interface spread (`BaseError`) inside a union selection, so this document is not
/// derived: the file is included as it is and its variables and answer are declared here, in
/// the shape of a generated module. The input is the crate's own wire type, which leaves out
/// empty fields as Raito expects.
pub(crate) mod set_data_source_meta_data {
    use serde::{Deserialize, Serialize};

    use super::Member;
    use crate::model::data_source::DataSourceMetaData;

    /// The document, from its one home `graphql/set_data_source_metadata.graphql`.
    pub(crate) const QUERY: &str = include_str!("graphql/set_data_source_metadata.graphql");
    pub(crate) const OPERATION_NAME: &str = "SetDataSourceMetaData";

    /// `$id: ID!`, `$input: DataSourceMetaDataInput!`.
    #[derive(Debug, Serialize)]
    pub(crate) struct Variables<'a> {
        pub(crate) id: &'a str,
        pub(crate) input: &'a DataSourceMetaData,
    }

    #[derive(Debug, Deserialize)]
    pub(crate) struct ResponseData {
        #[serde(rename = "setDataSourceMetaData")]
        pub(crate) set_data_source_meta_data: Option<Member>,
    }
}

/// `cliTriggerUrl`: where Raito's trigger channel (a websocket) is; the Go CLI's document
/// (raito-io/cli `internal/clitrigger/factory.go`) with `__typename` added.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/cli_trigger_url.graphql",
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct CliTriggerWebSocket;

/// `endOfTargetsSync`: sent once at the end of a run, with every job created.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/end_of_targets_sync.graphql",
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct EndOfTargetsSync;

/// `importDataSourceRequest`: starts the import of an uploaded data object file. Literals
/// `@jobId`, `@dataSource`, `@fileKey`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/import_data_source.graphql",
    extern_enums("JobStatus"),
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct ImportDataSourceRequest;

/// `importIdentityRequest`: starts the import of uploaded users and groups files. Literals
/// `@jobId`, `@identityStore`, `@usersFileKey`, `@groupsFileKey`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/import_identity.graphql",
    extern_enums("JobStatus"),
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct ImportIdentityRequest;

/// `setIdentityStoreMetaData` (the Raito CLI's operation `SetMetaData`, raito-io/cli
/// `internal/identity_store/metadata.go`): the identity store's type and icon. Literals `@id`,
/// `@type`, `@icon`. The Go CLI's selection `... on IdentityStore { id }` plus `__typename`;
/// the answer is read as a [`Member`].
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/set_identity_store_metadata.graphql",
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct SetMetaData;

/// `importDataUsageRequest`: starts the import of the uploaded usage file parts.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/import_data_usage.graphql",
    extern_enums("JobStatus"),
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct ImportDataUsageRequest;

/// `dataSource(id)`: the usage dates Raito has for a data source. Literal `@id`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/data_source_usage.graphql",
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct DataSourceUsage;

/// `exportAccessProvidersRequest` (a query): asks Raito for the access providers to apply.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/export_access_providers.graphql",
    extern_enums("JobStatus"),
    skip_serializing_none,
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct ExportAccessProvidersRequest;

/// `importAccessProvidersRequest`: starts the import of the access found in the target.
/// Literals `@jobId`, `@dataSource`, `@fileKey`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/import_access_providers.graphql",
    extern_enums("JobStatus"),
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct ImportAccessProvidersRequest;

/// `importAccessProvidersSyncFeedback`: starts the import of the feedback of an applied export.
/// Literals `@jobId`, `@dataSource`, `@fileKey`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/import_access_feedback.graphql",
    extern_enums("JobStatus"),
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct ImportAccessProvidersSyncFeedback;

/// `addSubtaskEvent`: the status of the client-side `AccessSync` subtask of an export.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/add_subtask_event.graphql",
    extern_enums("JobStatus"),
    variables_derives = "Debug",
    response_derives = "Debug"
)]
pub(crate) struct AddSubtaskEvent;

/// `jobSubtask`: one poll of a server-side subtask. Literals `@jobId`, `@jobType`,
/// `@subtaskId`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/raito/graphql/schema.graphql",
    query_path = "src/raito/graphql/job_subtask.graphql",
    extern_enums("JobStatus"),
    fragments_other_variant = "true",
    variables_derives = "Debug",
    response_derives = "Debug"
)]
#[expect(
    dead_code,
    reason = "only its generated module is used: the document is sent after `inline`"
)]
pub(crate) struct JobSubtask;

/// One member of a result union as this client reads it: which member answered and, when the
/// document selects it (`... on BaseError { message }`), its message.
#[derive(Debug, Deserialize)]
pub(crate) struct Member {
    #[serde(rename = "__typename")]
    pub(crate) typename: String,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

impl Member {
    /// `Ok` when the answer is the `expected` object type; any other member (an error type, or
    /// a type this schema does not know) is [`Error::Rejected`] naming the member and, if
    /// selected, its message. No answer at all (`null` without `errors`) is `Ok`, as in the Go
    /// CLI.
    pub(crate) fn require(
        answer: Option<Member>,
        operation: &'static str,
        expected: &str,
    ) -> Result<(), Error> {
        let Some(member) = answer else {
            return Ok(());
        };
        if member.typename == expected {
            return Ok(());
        }
        let message = match member.message.filter(|m| !m.is_empty()) {
            Some(message) => format!("{}: {message}", member.typename),
            None => format!("{} instead of {expected}", member.typename),
        };
        Err(Error::Rejected { operation, message })
    }
}

/// Replaces each placeholder string literal `"@name"` of `document` by `value` as a GraphQL
/// string literal (JSON string escaping is valid GraphQL string escaping).
pub(crate) fn inline(document: &str, values: &[(&str, &str)]) -> String {
    let mut text = document.to_owned();
    for (name, value) in values {
        let placeholder = format!("\"@{name}\"");
        debug_assert!(
            text.contains(&placeholder),
            "no {placeholder} in the document"
        );
        let literal = serde_json::Value::String((*value).to_owned()).to_string();
        text = text.replace(&placeholder, &literal);
    }
    text
}

/// The body of a GraphQL POST.
#[derive(Serialize)]
struct RequestBody<'a, V> {
    query: &'a str,
    #[serde(rename = "operationName")]
    operation_name: &'a str,
    variables: &'a V,
}

#[derive(Deserialize)]
struct ResponseBody {
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Option<Vec<ResponseError>>,
}

impl Client {
    /// Sends a generated operation with its variables.
    pub(crate) async fn graphql<Q: GraphQLQuery>(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        variables: Q::Variables,
    ) -> Result<Q::ResponseData, Error> {
        let body = Q::build_query(variables);
        self.graphql_document(
            operation,
            idempotency,
            Cow::Borrowed(body.query),
            body.operation_name,
            &body.variables,
        )
        .await
    }

    /// Sends `document` (e.g. a generated one after [`inline`]) and reads `data` as `R`. A
    /// non-empty `errors` array is an error even when `data` is there.
    pub(crate) async fn graphql_document<V: Serialize, R: DeserializeOwned>(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        document: Cow<'_, str>,
        operation_name: &str,
        variables: &V,
    ) -> Result<R, Error> {
        let body = serde_json::to_vec(&RequestBody {
            query: &document,
            operation_name,
            variables,
        })
        .map_err(|e| Error::Decode {
            operation,
            message: format!("cannot encode the variables: {e}"),
        })?;
        let body = bytes::Bytes::from(body);
        let url = self.url("query")?;
        let answer = self
            .send(operation, idempotency, true, |http| {
                http.post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        let response: ResponseBody =
            serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
                operation,
                message: format!("the answer is not a GraphQL response: {e}"),
            })?;
        if let Some(errors) = response.errors.filter(|errors| !errors.is_empty()) {
            return Err(Error::GraphQl {
                operation,
                messages: errors.into_iter().map(|e| e.message).collect(),
            });
        }
        let data = response
            .data
            .filter(|data| !data.is_null())
            .ok_or_else(|| Error::Decode {
                operation,
                message: "the answer has no data".to_owned(),
            })?;
        serde_json::from_value(data).map_err(|e| Error::Decode {
            operation,
            message: e.to_string(),
        })
    }
}
