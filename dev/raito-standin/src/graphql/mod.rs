//! `POST query`: decodes the body like gqlgen (only the first JSON value; trailing bytes are
//! ignored), parses and validates the document and its variables against schema.graphql itself,
//! then executes it with the root-field resolvers in `operations`.

mod operations;
mod shape;

use std::sync::Arc;

use apollo_compiler::executable::OperationType;
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::resolvers::Execution;
use apollo_compiler::response::{ExecutionResponse, GraphQLError, JsonMap};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema, ast};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use crate::server::{Api, Shared};

/// The schema the Raito client is generated from; never edited here.
const SCHEMA: &str = include_str!("../../../../common/src/raito/graphql/schema.graphql");

/// The schema as served. gqlgen's `Int` is 64-bit while apollo-compiler follows the spec
/// (32-bit); the one input that needs more is `SubtaskInput.receivedDate` (a Go int64), so it is
/// read as a custom scalar `Int64` and checked in its resolver.
pub(crate) fn load_schema() -> Result<Valid<Schema>, String> {
    let source =
        SCHEMA.replacen("receivedDate: Int", "receivedDate: Int64", 1) + "\nscalar Int64\n";
    Schema::parse_and_validate(source, "schema.graphql").map_err(|e| e.errors.to_string())
}

/// gqlgen's `RawParams`; unknown keys are ignored, as Go's decoder does.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawParams {
    #[serde(default)]
    query: String,
    operation_name: Option<String>,
    variables: Option<JsonMap>,
}

impl RawParams {
    fn operation_name(&self) -> Option<&str> {
        self.operation_name.as_deref().filter(|n| !n.is_empty())
    }
}

pub(crate) async fn serve(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Decode only the first JSON value, as Go's json.Decoder does: the Go CLI's hand-written
    // bodies carry a stray `"` (and more) after it.
    let params = serde_json::Deserializer::from_slice(&body)
        .into_iter::<RawParams>()
        .next()
        .unwrap_or_else(|| Err(serde::de::Error::custom("empty body")));
    let operations = params
        .as_ref()
        .ok()
        .map(|p| root_fields(&p.query, p.operation_name()))
        .filter(|fields| !fields.is_empty())
        .unwrap_or_else(|| vec!["query".to_owned()]);
    if let Some(response) = shared.admit(Api::GraphQl, &operations, "query") {
        return response;
    }
    if let Some(response) = shared.authenticate(Api::GraphQl, &headers) {
        return response;
    }
    let organization = shared.organization_of_request(&headers);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Api::GraphQl.error(StatusCode::BAD_REQUEST, "transport not supported");
    }
    match params {
        Ok(params) => execute(&shared, params, organization),
        Err(error) => Api::GraphQl.error(
            StatusCode::BAD_REQUEST,
            &format!("json body could not be decoded: {error}"),
        ),
    }
}

/// The root field names of the operation to run (for counting and faults), from a plain parse.
fn root_fields(query: &str, operation_name: Option<&str>) -> Vec<String> {
    let Ok(document) = ast::Document::parse(query, "query.graphql") else {
        return Vec::new();
    };
    let operations: Vec<_> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::OperationDefinition(op) => Some(op),
            _ => None,
        })
        .collect();
    let chosen = match operation_name {
        Some(name) => operations
            .iter()
            .find(|op| op.name.as_deref() == Some(name)),
        None if operations.len() == 1 => operations.first(),
        None => None,
    };
    chosen
        .into_iter()
        .flat_map(|op| &op.selection_set)
        .filter_map(|selection| match selection {
            ast::Selection::Field(field) => Some(field.name.to_string()),
            _ => None,
        })
        .collect()
}

/// Parse, validate, coerce the variables, run. Request errors answer 422 with gqlgen's codes.
fn execute(shared: &Arc<Shared>, params: RawParams, organization: String) -> Response {
    if let Err(with_errors) = ast::Document::parse(params.query.as_str(), "query.graphql") {
        let errors = with_errors.errors.iter().map(|d| d.to_json()).collect();
        return request_errors(errors, "GRAPHQL_PARSE_FAILED");
    }
    let document = match ExecutableDocument::parse_and_validate(
        &shared.schema,
        params.query.as_str(),
        "query.graphql",
    ) {
        Ok(document) => document,
        Err(with_errors) => {
            let errors = with_errors.errors.iter().map(|d| d.to_json()).collect();
            return request_errors(errors, "GRAPHQL_VALIDATION_FAILED");
        }
    };
    let operation = match document.operations.get(params.operation_name()) {
        Ok(operation) => operation,
        Err(error) => {
            return request_errors(
                vec![error.to_graphql_error(&document.sources)],
                "GRAPHQL_VALIDATION_FAILED",
            );
        }
    };
    let raw_variables = params.variables.unwrap_or_default();
    let variables = match coerce_variable_values(&shared.schema, operation, &raw_variables) {
        Ok(variables) => variables,
        Err(error) => {
            return request_errors(
                vec![error.to_graphql_error(&document.sources)],
                "GRAPHQL_VALIDATION_FAILED",
            );
        }
    };
    let root = operations::Root {
        shared,
        mutation: operation.operation_type == OperationType::Mutation,
        organization,
    };
    let executed = Execution::new(&shared.schema, &document)
        .operation(operation)
        .coerced_variable_values(&variables)
        .execute_sync(&root);
    match executed {
        Ok(mut response) => {
            // gqlgen reports a resolver's error by its message alone.
            for error in &mut response.errors {
                if let Some(message) = error.message.strip_prefix("resolver error: ") {
                    error.message = message.to_owned();
                }
            }
            respond(StatusCode::OK, &response)
        }
        Err(error) => request_errors(
            vec![error.to_graphql_error(&document.sources)],
            "GRAPHQL_VALIDATION_FAILED",
        ),
    }
}

/// A request that never reached execution, as gqlgen answers it: 422, `"data": null`, and the
/// error code in `extensions.code`.
fn request_errors(mut errors: Vec<GraphQLError>, code: &str) -> Response {
    for error in &mut errors {
        error.extensions.insert("code", code.into());
    }
    respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ExecutionResponse { errors, data: None },
    )
}

fn respond(status: StatusCode, response: &ExecutionResponse) -> Response {
    match serde_json::to_string(response) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(error) => Api::GraphQl.error(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_schema_is_schema_graphql_with_a_64_bit_received_date() {
        let schema = load_schema().unwrap();
        let input = schema.get_input_object("SubtaskInput").unwrap();
        assert_eq!(input.fields["receivedDate"].ty.to_string(), "Int64");
    }

    #[test]
    fn root_fields_follow_the_operation_name() {
        let doc = "query A { dataSource(id: \"x\") { __typename } } mutation B { createJob(input: {}) { jobId } }";
        assert_eq!(root_fields(doc, Some("B")), ["createJob"]);
        assert!(root_fields(doc, None).is_empty());
    }
}
