//! A stand-in started on a free port and a small HTTP client that talks to it the way the Raito
//! client does (org lookup, Cognito, uploads, GraphQL), plus the fixtures the tests share.

use std::time::Duration;

use base64::Engine as _;
use raito_standin::{Config, StandIn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const DS: &str = "ds-1";

/// Metadata with the chain datasource → database → schema → table/view → column.
pub fn metadata() -> Value {
    let t = |name: &str, children: &[&str]| json!({"name": name, "type": name, "label": name, "children": children});
    json!({
        "type": "postgres",
        "icon": "postgres",
        "supportsApInheritance": true,
        "dataObjectTypes": [
            t("datasource", &["database"]),
            t("database", &["schema"]),
            t("schema", &["table", "view"]),
            t("table", &["column"]),
            t("view", &["column"]),
            t("column", &[]),
        ],
    })
}

/// One data object element.
pub fn object(id: &str, kind: &str, parent: &str) -> Value {
    json!({
        "externalId": id,
        "name": id.rsplit('.').next().unwrap_or(id),
        "fullName": id,
        "type": kind,
        "description": "",
        "parentExternalId": parent,
        "tags": null,
    })
}

/// A valid file: the data source, one database, schema, table and column.
pub fn warehouse() -> Vec<Value> {
    vec![
        object(DS, "datasource", ""),
        object("db", "database", DS),
        object("db.s", "schema", "db"),
        object("db.s.t", "table", "db.s"),
        json!({
            "externalId": "db.s.t.c", "name": "c", "fullName": "db.s.t.c", "type": "column",
            "description": "a column", "parentExternalId": "db.s.t",
            "tags": [{"key": "pii", "value": "yes", "source": "test"}], "dataType": "integer"
        }),
    ]
}

/// The file as a connector writes it: one element per line.
pub fn file(elements: &[Value]) -> Vec<u8> {
    let lines: Vec<String> = elements.iter().map(Value::to_string).collect();
    format!("[\n{}\n]\n", lines.join(",\n")).into_bytes()
}

pub struct Harness {
    pub standin: StandIn,
    pub http: reqwest::Client,
    pub token: String,
}

/// A stand-in with one data source ([`DS`]) and an identity store `is-1`.
pub async fn standin(config: Config) -> StandIn {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    raito_standin::start(listener, config).await
}

pub fn config() -> Config {
    Config {
        data_sources: vec![DS.to_owned()],
        identity_stores: vec!["is-1".to_owned()],
        ..Config::default()
    }
}

impl Harness {
    /// Started and signed in.
    pub async fn new() -> Self {
        Self::with(config()).await
    }

    pub async fn with(config: Config) -> Self {
        let standin = standin(config).await;
        let http = reqwest::Client::new();
        let (status, body) = cognito(
            &http,
            &standin,
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": standin.client_app_id(),
                "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "api-secret"},
            }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            standin,
            http,
            token,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.standin.base_url())
    }

    /// A GET with the Raito headers.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .header("Authorization", format!("token {}", self.token))
            .header("Raito-Domain", "demo")
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a raw body to `query` with the Raito headers.
    pub async fn post_query(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url("query"))
            .header("Authorization", format!("token {}", self.token))
            .header("Raito-Domain", "demo")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A GraphQL request: the HTTP status and the decoded answer.
    pub async fn graphql(&self, query: &str, variables: Value) -> (StatusCode, Value) {
        let body = json!({"query": query, "variables": variables}).to_string();
        let response = self.post_query(body).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// A GraphQL request that must succeed: its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql(query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    pub async fn create_job(&self) -> String {
        let data = self
            .data(
                "mutation ($input:JobInput!){createJob(input: $input){jobId}}",
                json!({"input": {"dataSourceId": DS, "identityStoreId": null, "eventTime": "2026-11-22T07:00:00.123456789+01:00"}}),
            )
            .await;
        data["createJob"]["jobId"].as_str().unwrap().to_owned()
    }

    pub async fn set_metadata(&self, metadata: Value) -> Value {
        self.data(
            "mutation ($id:ID!$input:DataSourceMetaDataInput!){setDataSourceMetaData(id: $id, input :$input){... on DataSource{id},... on BaseError{message}}}",
            json!({"id": DS, "input": metadata}),
        )
        .await["setDataSourceMetaData"]
            .clone()
    }

    /// Asks for a signed URL and PUTs `bytes` there; returns the key.
    pub async fn upload(&self, bytes: &[u8]) -> String {
        let (url, key) = self.signed_url(bytes.len(), &sha256(bytes)).await;
        let response = self
            .http
            .put(url)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        key
    }

    pub async fn signed_url(&self, length: usize, sha256: &str) -> (String, String) {
        let response = self
            .http
            .get(self.url(&format!(
                "file/upload/signed-url?contentLength={length}&sha256={}",
                query_escape(sha256)
            )))
            .header("Authorization", format!("token {}", self.token))
            .header("Raito-Domain", "demo")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        (
            body["URL"].as_str().unwrap().to_owned(),
            body["Key"].as_str().unwrap().to_owned(),
        )
    }

    /// Sends `importDataSourceRequest` as the Go CLI writes it; returns (jobId, subtaskId).
    pub async fn request_import(&self, key: &str, delete_untouched: bool) -> (String, String) {
        let job = self.create_job().await;
        let document = format!(
            "mutation ImportDataSourceRequest {{ importDataSourceRequest(input: {{ jobId: \"{job}\", importSettings: {{ dataSource: \"{DS}\", deleteUntouched: {delete_untouched}, fileKey: \"{key}\", tagSourcesScope: [] }} }}) {{ subtask {{ status subtaskId }} }} }}"
        );
        let data = self.data(&document, json!({})).await;
        let subtask = &data["importDataSourceRequest"]["subtask"];
        assert_eq!(subtask["status"], "QUEUED");
        (job, subtask["subtaskId"].as_str().unwrap().to_owned())
    }

    /// Polls `jobSubtask` until the status is final (at most 30 s), with the Go CLI's document.
    pub async fn poll_until_done(&self, job: &str, subtask: &str) -> Value {
        self.poll_subtask(job, "DS", subtask).await
    }

    /// Polls a subtask of `job_type` until its status is final: what the subtask does, not a
    /// window of time, ends the wait; after 30 s (which no machine needs) it fails, naming the
    /// last status.
    pub async fn poll_subtask(&self, job: &str, job_type: &str, subtask: &str) -> Value {
        let document = format!(
            "query jobSubtask{{\n jobSubtask(jobId: \"{job}\", jobType: \"{job_type}\", subtaskId: \"{subtask}\") {{\n jobId jobType subtaskId status lastUpdate errors result {{ __typename ... on DataSourceImportResult {{dataObjectsAdded dataObjectsRemoved dataObjectsUpdated warnings}} ... on IdentityStoreImportResult {{groupsAdded groupsRemoved groupsUpdated usersAdded usersRemoved usersUpdated warnings}} ... on AccessProviderImportResult {{accessAdded accessRemoved accessUpdated warnings}} ... on DataUsageImportResult {{edgesCreatedOrUpdated edgesRemoved statementsAdded statementsFailed statementsSkipped warnings}} ... on AccessProviderExportResult {{fileKey fileLocation warnings}} ... on AccessProviderSyncFeedbackResult {{accessNamesAdded warnings}} }}\n }}\n}}"
        );
        self.poll_until(&document, subtask, |status| {
            matches!(status, "COMPLETED" | "FAILED" | "SKIPPED" | "TIMED_OUT")
        })
        .await
    }

    /// Polls `jobSubtask` (`document`) until its status is no longer `from`: the stand-in moves
    /// a subtask on in the background. At most 30 s, then fails naming the status.
    pub async fn status_after(&self, job: &str, subtask: &str, from: &str) -> String {
        let document = format!(
            "query jobSubtask{{ jobSubtask(jobId: \"{job}\", jobType: \"DS\", subtaskId: \"{subtask}\") {{ status }}}}"
        );
        let answer = self
            .poll_until(&document, subtask, |status| status != from)
            .await;
        answer["status"].as_str().unwrap().to_owned()
    }

    /// Sends `document` (a `jobSubtask` query) until `done` holds for the status; at most 30 s.
    async fn poll_until(
        &self,
        document: &str,
        subtask: &str,
        done: impl Fn(&str) -> bool,
    ) -> Value {
        let patience = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let data = self.data(document, json!({})).await;
            let answer = data["jobSubtask"].clone();
            if answer["status"].as_str().is_some_and(&done) {
                return answer;
            }
            assert!(
                std::time::Instant::now() < patience,
                "subtask {subtask} still {} after 30 s",
                answer["status"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Uploads `bytes`, imports them and waits for the subtask to end.
    pub async fn import(&self, bytes: &[u8], delete_untouched: bool) -> Value {
        let key = self.upload(bytes).await;
        let (job, subtask) = self.request_import(&key, delete_untouched).await;
        self.poll_until_done(&job, &subtask).await
    }

    /// Imports a file that must fail; returns its errors.
    pub async fn import_errors(&self, elements: &[Value]) -> Vec<String> {
        let answer = self.import(&file(elements), true).await;
        assert_eq!(answer["status"], "FAILED", "{answer}");
        serde_json::from_value(answer["errors"].clone()).unwrap()
    }
}

/// Cognito `InitiateAuth` as the AWS SDK sends it.
pub async fn cognito(
    http: &reqwest::Client,
    standin: &StandIn,
    body: Value,
) -> (StatusCode, Value) {
    let response = http
        .post(standin.cognito_url())
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let error_type = response
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = response.json().await.unwrap();
    if let Some(error_type) = error_type {
        body["x-amzn-ErrorType"] = json!(error_type);
    }
    (status, body)
}

/// Standard base64 of the SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Query-escapes standard base64 (`+`, `/`, `=`), as Go's `url.Values.Encode` does.
pub fn query_escape(base64: &str) -> String {
    base64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}
