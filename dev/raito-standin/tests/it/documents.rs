//! Every operation document the Raito client sends fits schema.graphql: each file of
//! common/src/raito/graphql/ (the ones `graphql_client` derives and the hand-written
//! setDataSourceMetaData alike) is parsed and validated with apollo-compiler, as the stand-in
//! validates a request. The Go CLI's own metadata documents fit it as well.

use std::fs;
use std::path::{Path, PathBuf};

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::Harness;

/// The client's GraphQL directory: schema.graphql and one operation per other `.graphql` file.
fn graphql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../common/src/raito/graphql")
}

/// The client's sources that send documents (graphql.rs and the operations beside it).
fn raito_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../common/src/raito")
}

fn schema() -> Valid<Schema> {
    let path = graphql_dir().join("schema.graphql");
    let source = fs::read_to_string(&path).unwrap();
    Schema::parse_and_validate(source, path).unwrap_or_else(|e| panic!("{}", e.errors))
}

/// The operation files, sorted by name.
fn operation_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(graphql_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "graphql"))
        .filter(|path| path.file_name().is_some_and(|n| n != "schema.graphql"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_document_the_client_sends_validates_against_the_schema() {
    let schema = schema();
    let files = operation_files();
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    // The hand-written one (not checked by graphql_client at compile time) is among them.
    assert!(
        names
            .iter()
            .any(|n| n == "set_data_source_metadata.graphql"),
        "{names:?}"
    );
    assert!(files.len() >= 15, "{names:?}");

    let mut failures = Vec::new();
    for path in &files {
        let name = file_name(path);
        let source = fs::read_to_string(path).unwrap();
        match ExecutableDocument::parse_and_validate(&schema, source, path) {
            Ok(document) => {
                // One named operation per file: a server validates every operation of a
                // document, and the client names the one to run.
                let anonymous = document.operations.anonymous.is_some();
                let named = document.operations.named.len();
                if anonymous || named != 1 {
                    failures.push(format!(
                        "{name}: {named} named and {} anonymous operations, expected one named",
                        u8::from(anonymous)
                    ));
                }
            }
            Err(with_errors) => failures.push(format!("{name}:\n{}", with_errors.errors)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_document_that_does_not_fit_the_schema_fails_validation() {
    // What the test above would report: a field the schema lacks, a spread that cannot apply.
    let schema = schema();
    for wrong in [
        "mutation M($id: ID!, $input: DataSourceMetaDataInput!) { setDataSourceMetaData(id: $id, input: $input) { __typename ... on DataSource { owner } } }",
        "mutation M { setIdentityStoreMetaData(id: \"x\", input: {}) { ... on Job { jobId } } }",
        "mutation M($id: String!, $input: DataSourceMetaDataInput!) { setDataSourceMetaData(id: $id, input: $input) { __typename } }",
    ] {
        assert!(
            ExecutableDocument::parse_and_validate(&schema, wrong, "wrong.graphql").is_err(),
            "{wrong}"
        );
    }
}

#[test]
fn every_operation_file_is_sent_and_no_document_is_written_in_the_rust_sources() {
    // The test above covers what the client sends only if every document lives in a file of
    // graphql/ that graphql.rs uses (derived with `query_path` or included with `include_str!`).
    let sources = raito_sources();
    let graphql_rs = fs::read_to_string(sources.join("graphql.rs")).unwrap();
    for path in operation_files() {
        let name = file_name(&path);
        let derived = format!("query_path = \"src/raito/graphql/{name}\"");
        let included = format!("include_str!(\"graphql/{name}\")");
        assert!(
            graphql_rs.contains(&derived) || graphql_rs.contains(&included),
            "graphql.rs does not use {name}"
        );
    }
    for entry in fs::read_dir(&sources).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        for start in [
            "\"mutation",
            "\"query ",
            "\"query{",
            "r#\"mutation",
            "r#\"query",
        ] {
            assert!(
                !text.contains(start),
                "{}: a GraphQL document in Rust source ({start}…): put it in graphql/ so that it is validated",
                file_name(&path)
            );
        }
    }
}

/// The Go CLI's two metadata documents, verbatim (raito-io/cli internal/data_source/metadata.go
/// and internal/identity_store/metadata.go).
const GO_SET_DATA_SOURCE_METADATA: &str = "mutation ($id:ID!$input:DataSourceMetaDataInput!){setDataSourceMetaData(id: $id, input :$input){... on DataSource{id},... on BaseError{message}}}";
const GO_SET_IDENTITY_STORE_METADATA: &str = "mutation SetMetaData {\n        setIdentityStoreMetaData(id: \"is-1\", input: {\n          type: \"okta\",\n          icon: \"okta\",\n          canBeLinked: true,\n          canBeMaster: false,\n        }) {    \n          ... on IdentityStore { id }\n        }\n    }";

#[test]
fn the_go_clis_metadata_documents_validate_against_the_schema() {
    let schema = schema();
    for document in [GO_SET_DATA_SOURCE_METADATA, GO_SET_IDENTITY_STORE_METADATA] {
        if let Err(with_errors) =
            ExecutableDocument::parse_and_validate(&schema, document, "go.graphql")
        {
            panic!("{document}\n{}", with_errors.errors);
        }
    }
}

#[tokio::test]
async fn the_go_clis_hand_written_identity_store_metadata_body_is_served() {
    let harness = Harness::new().await;
    // The body exactly as the Go CLI posts it: `\n` escapes and a stray `"` after the object.
    let body = format!(
        "{{ \"operationName\": \"SetMetaData\", \"variables\":{{}}, \"query\": {} }}\"",
        serde_json::to_string(GO_SET_IDENTITY_STORE_METADATA).unwrap()
    );
    let response = harness.post_query(body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"data": {"setIdentityStoreMetaData": {"id": "is-1"}}})
    );
}

#[tokio::test]
async fn the_clients_metadata_documents_tell_which_member_answered() {
    let harness = Harness::new().await;
    let read = |name: &str| fs::read_to_string(graphql_dir().join(name)).unwrap();

    let data_source = read("set_data_source_metadata.graphql");
    let data = harness
        .data(
            &data_source,
            json!({"id": "nope", "input": crate::support::metadata()}),
        )
        .await;
    assert_eq!(
        data["setDataSourceMetaData"],
        json!({"__typename": "NotFoundError", "message": "data source \"nope\" not found"})
    );
    let data = harness
        .data(
            &data_source,
            json!({"id": crate::support::DS, "input": crate::support::metadata()}),
        )
        .await;
    assert_eq!(
        data["setDataSourceMetaData"],
        json!({"__typename": "DataSource", "id": crate::support::DS})
    );

    let identity_store = read("set_identity_store_metadata.graphql");
    for (id, expected) in [
        ("is-1", json!({"__typename": "IdentityStore", "id": "is-1"})),
        ("nope", json!({"__typename": "NotFoundError"})),
    ] {
        let document = identity_store
            .replace("\"@id\"", &format!("\"{id}\""))
            .replace("\"@type\"", "\"okta\"")
            .replace("\"@icon\"", "\"okta\"");
        let data = harness
            .data(
                &document,
                json!({"canBeLinked": true, "canBeMaster": false}),
            )
            .await;
        assert_eq!(data["setIdentityStoreMetaData"], expected, "{id}");
    }
}
