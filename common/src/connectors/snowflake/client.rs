//! The SQL API v2 (`POST /api/v2/statements`), no driver: each statement is one request, with a
//! `requestId` that a resend repeats with `retry=true` (so a statement that ran is never run
//! twice); `202` (still running) is polled on its handle; a result's first partition comes in
//! the answer and the others are read one at a time (`?partition=N`, gzip), so memory holds one
//! partition whatever the size of the result. 429, 503 and 504 are waited out with exponential
//! backoff and jitter, 500, 502 and network errors resent; a refused key-pair token is signed
//! anew once; a statement still running when the caller gives up on it (a dropped future, at
//! the run's deadline) is cancelled. Every cell arrives as text or null ([`Row`]), and is
//! decoded by its column's type on request ([`Rows::cell`]).
//!
//! Errors name the statement (its first line, cut) and mean what they say: a failed
//! authentication or a missing privilege is [`Error::PermissionDenied`], a statement Snowflake
//! cancelled at its timeout or any other SQL error is [`Error::Operation`], an unreachable
//! account [`Error::Connect`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::NAME;
use super::config::{Auth, Config};
use super::jwt::KeyPair;
use crate::connector::Error;

/// The longest pause between two polls of a running statement.
const MAX_POLL: Duration = Duration::from_secs(5);

/// How the client authenticates every request.
pub enum Credentials {
    /// A key-pair JWT, signed here.
    KeyPair(KeyPair),
    /// A programmatic access token or an OAuth token.
    Token(SecretString),
}

impl Credentials {
    /// The credentials `config` names: its key read (the error names `sf-private-key` or
    /// `sf-private-key-passphrase`, never shows the key), or its token.
    pub fn from_config(config: &Config) -> Result<Self, super::jwt::KeyError> {
        Ok(match &config.auth {
            Auth::KeyPair {
                private_key,
                passphrase,
            } => Self::KeyPair(KeyPair::new(
                &config.account,
                &config.user,
                private_key,
                passphrase.as_ref(),
            )?),
            Auth::Token(token) => Self::Token(token.clone()),
        })
    }
}

/// A client of one account's SQL API.
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    endpoint: String,
    credentials: Credentials,
    role: String,
    warehouse: Option<String>,
    /// Seconds Snowflake may run one statement (`sf-statement-timeout`).
    statement_timeout_secs: u32,
    requests: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A value bound to a `?` of a statement, sent as the SQL API documents each type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind<'a> {
    /// `TEXT`.
    Text(&'a str),
    /// `FIXED`: a whole number.
    Fixed(i64),
    /// `TIMESTAMP_LTZ`, given as epoch nanoseconds (the API's form for timestamp binds).
    TimestampLtz(i128),
}

impl Bind<'_> {
    /// The binding's `type` and `value` (every value is a string).
    fn typed(&self) -> (&'static str, String) {
        match self {
            Self::Text(text) => ("TEXT", (*text).to_owned()),
            Self::Fixed(number) => ("FIXED", number.to_string()),
            Self::TimestampLtz(nanos) => ("TIMESTAMP_LTZ", nanos.to_string()),
        }
    }
}

/// One column of a result.
#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    /// Its name, as the statement names it (SHOW: lower case; views: upper case).
    pub name: String,
    /// Its type, lower case (`text`, `fixed`, `boolean`, `timestamp_ltz`, …).
    #[serde(rename = "type", deserialize_with = "lower_case")]
    pub r#type: String,
}

fn lower_case<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d).map(|s| s.to_ascii_lowercase())
}

/// One row: every cell as the API sends it, text or null.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Row(Vec<Option<String>>);

impl Row {
    /// The cell at `index` (null, or out of range: `None`).
    pub fn get(&self, index: usize) -> Option<&str> {
        self.0.get(index).and_then(|c| c.as_deref())
    }

    /// The cell at `index` as a boolean (`"true"`/`"false"`; null: `None`).
    pub fn bool(&self, index: usize) -> Option<bool> {
        match self.get(index)? {
            value if value.eq_ignore_ascii_case("true") => Some(true),
            value if value.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultSet {
    result_set_meta_data: MetaData,
    #[serde(default)]
    data: Vec<Row>,
    statement_handle: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaData {
    row_type: Vec<Column>,
    #[serde(default)]
    partition_info: Vec<Value>,
}

#[derive(Deserialize)]
struct Partition {
    #[serde(default)]
    data: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    statement_handle: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    #[serde(default)]
    code: String,
    #[serde(default)]
    sql_state: String,
    #[serde(default)]
    message: String,
}

/// The rows of one statement's result, read a partition at a time.
#[derive(Debug)]
pub struct Rows<'c> {
    client: &'c Client,
    statement: String,
    handle: String,
    columns: Vec<Column>,
    first: Option<Vec<Row>>,
    next_partition: usize,
    partitions: usize,
}

impl Rows<'_> {
    /// The columns of the result.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The index of the column named `name` (compared without case), or an error naming the
    /// statement: a result without a column the connector reads is not Snowflake's.
    pub fn column(&self, name: &str) -> Result<usize, Error> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::Operation {
                connector: NAME,
                operation: format!("reading the result of {}", shown(&self.statement)),
                source: format!("no column {name:?} in it").into(),
            })
    }

    /// The cell at `index` of `row` (a row of this result) decoded by its column's type
    /// ([`super::cell`]); a cell that does not parse is an error naming the statement.
    pub fn cell<'r>(&self, row: &'r Row, index: usize) -> Result<super::cell::Cell<'r>, Error> {
        let column = self.columns.get(index).ok_or_else(|| {
            self.client
                .malformed(&self.statement, format!("no column {index} in the result"))
        })?;
        super::cell::decode(column, row.get(index))
            .map_err(|message| self.client.malformed(&self.statement, message))
    }

    /// The next partition's rows, `None` after the last.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, Error> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.next_partition >= self.partitions {
            return Ok(None);
        }
        let partition = self.next_partition;
        self.next_partition += 1;
        let url = format!(
            "{}/api/v2/statements/{}?partition={partition}",
            self.client.base_url, self.handle
        );
        let (status, body) = self
            .client
            .send(&self.statement, || self.client.http.get(&url))
            .await?;
        if status != StatusCode::OK {
            return Err(self.client.failure(&self.statement, status, &body));
        }
        let partition: Partition = serde_json::from_slice(&body).map_err(|e| {
            self.client
                .malformed(&self.statement, format!("partition {partition}: {e}"))
        })?;
        Ok(Some(partition.data))
    }
}

impl Client {
    /// A client for `config`'s account, authenticating with `credentials` (no request is
    /// sent).
    pub fn new(config: &Config, credentials: Credentials) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("raito-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Connect {
                connector: NAME,
                endpoint: config.endpoint(),
                source: e.into(),
            })?;
        Ok(Self {
            http,
            base_url: config.base_url.clone(),
            endpoint: config.endpoint(),
            credentials,
            role: config.role.clone(),
            warehouse: config.warehouse.clone(),
            statement_timeout_secs: config.statement_timeout_secs,
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far (resends and polls included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Runs `statement` (with `bindings`, `?` placeholders bound as text in order) and
    /// answers its rows, read lazily partition by partition.
    pub async fn query(&self, statement: &str, bindings: &[&str]) -> Result<Rows<'_>, Error> {
        let bindings: Vec<Bind<'_>> = bindings.iter().map(|text| Bind::Text(text)).collect();
        self.query_bound(statement, &bindings).await
    }

    /// [`Client::query`] with typed bindings.
    pub async fn query_bound(
        &self,
        statement: &str,
        bindings: &[Bind<'_>],
    ) -> Result<Rows<'_>, Error> {
        self.submit(statement, bindings, None).await
    }

    /// Runs `statements` in order as one multi-statement request (`MULTI_STATEMENT_COUNT`):
    /// one round trip. When one fails, Snowflake has executed the statements before it and
    /// runs none after it; the error is that failure. Snowflake needs a warehouse for a
    /// multi-statement request (`sf-warehouse`, or the user's default) and takes no bindings.
    pub async fn execute_many(&self, statements: &[String]) -> Result<(), Error> {
        let text = statements.join(";\n");
        self.submit(&text, &[], Some(statements.len())).await?;
        Ok(())
    }

    async fn submit(
        &self,
        statement: &str,
        bindings: &[Bind<'_>],
        statement_count: Option<usize>,
    ) -> Result<Rows<'_>, Error> {
        crate::metrics::sent(statement_count.unwrap_or(1) as u64, 0);
        let request_id = uuid::Uuid::new_v4();
        let mut body = serde_json::json!({
            "statement": statement,
            "timeout": self.statement_timeout_secs,
            "role": self.role,
        });
        if let Some(count) = statement_count {
            // A string, as the SQL API documents the parameter.
            body["parameters"] = serde_json::json!({"MULTI_STATEMENT_COUNT": count.to_string()});
        }
        if let Some(warehouse) = &self.warehouse {
            body["warehouse"] = Value::from(warehouse.as_str());
        }
        if !bindings.is_empty() {
            let bindings: serde_json::Map<String, Value> = bindings
                .iter()
                .enumerate()
                .map(|(i, bind)| {
                    let (kind, value) = bind.typed();
                    (
                        (i + 1).to_string(),
                        serde_json::json!({"type": kind, "value": value}),
                    )
                })
                .collect();
            body["bindings"] = Value::Object(bindings);
        }
        let body = body.to_string();
        let first_send = std::sync::atomic::AtomicBool::new(true);
        let (mut status, mut answer) = self
            .send(statement, || {
                // A resend repeats the requestId with retry=true: Snowflake answers with the
                // statement's result instead of running it again.
                let retry = if first_send.swap(false, Ordering::Relaxed) {
                    ""
                } else {
                    "&retry=true"
                };
                self.http
                    .post(format!(
                        "{}/api/v2/statements?requestId={request_id}{retry}",
                        self.base_url
                    ))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        let mut poll = Duration::from_millis(200);
        // Armed while the statement runs in Snowflake: a run that gives up on it (its deadline
        // passed, so the future is dropped) cancels it instead of leaving it to run, and bill
        // warehouse time, until sf-statement-timeout.
        let mut running = CancelOnDrop {
            client: self,
            handle: None,
        };
        while status == StatusCode::ACCEPTED {
            let pending: Pending = serde_json::from_slice(&answer)
                .map_err(|e| self.malformed(statement, format!("a 202 answer: {e}")))?;
            running.handle = Some(pending.statement_handle.clone());
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(MAX_POLL);
            let url = format!(
                "{}/api/v2/statements/{}",
                self.base_url, pending.statement_handle
            );
            (status, answer) = self.send(statement, || self.http.get(&url)).await?;
        }
        // Finished (or failed) in Snowflake: nothing to cancel.
        running.handle = None;
        if status != StatusCode::OK {
            return Err(self.failure(statement, status, &answer));
        }
        let result: ResultSet = serde_json::from_slice(&answer)
            .map_err(|e| self.malformed(statement, e.to_string()))?;
        Ok(Rows {
            client: self,
            statement: statement.to_owned(),
            handle: result.statement_handle,
            columns: result.result_set_meta_data.row_type,
            first: Some(result.data),
            next_partition: 1,
            partitions: result.result_set_meta_data.partition_info.len().max(1),
        })
    }

    /// Sends one request (built by `request`, once per attempt), retrying what may succeed
    /// later, and answers its status and body. A 401 to a key-pair token signs a new one,
    /// once.
    async fn send(
        &self,
        statement: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Bytes), Error> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(7);
        let renewed = std::sync::atomic::AtomicBool::new(false);
        let attempt = || async {
            self.requests.fetch_add(1, Ordering::Relaxed);
            crate::metrics::sent(0, 1);
            let builder = self
                .authorize(request().header(reqwest::header::ACCEPT, "application/json"))
                .map_err(Attempt::Final)?;
            let response = builder.send().await.map_err(Attempt::Network)?;
            let status = response.status();
            let body = response.bytes().await.map_err(Attempt::Network)?;
            match status.as_u16() {
                429 | 500 | 502 | 503 | 504 => Err(Attempt::Status(status, body)),
                401 if matches!(self.credentials, Credentials::KeyPair(_))
                    && !renewed.swap(true, Ordering::Relaxed) =>
                {
                    if let Credentials::KeyPair(key) = &self.credentials {
                        key.renew();
                    }
                    Err(Attempt::Status(status, body))
                }
                _ => Ok((status, body)),
            }
        };
        let result = attempt
            .retry(backoff)
            .when(|e: &Attempt| !matches!(e, Attempt::Final(_)))
            .notify(|error: &Attempt, wait: Duration| {
                tracing::warn!(
                    statement = %shown(statement),
                    wait_ms = wait.as_millis() as u64,
                    error = %error,
                    "Snowflake request failed; retrying"
                );
            })
            .await;
        match result {
            Ok(answer) => Ok(answer),
            Err(Attempt::Status(status, body)) => Ok((status, body)),
            Err(Attempt::Network(e)) => Err(Error::Connect {
                connector: NAME,
                endpoint: self.endpoint.clone(),
                source: e.into(),
            }),
            Err(Attempt::Final(message)) => Err(Error::InvalidRequest {
                connector: NAME,
                message,
            }),
        }
    }

    /// `request` with the credentials' `Authorization` (a key-pair token signed now if the
    /// last one is near its end); the error is the key's, for a message.
    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(match &self.credentials {
            Credentials::KeyPair(key) => request
                .bearer_auth(key.token().map_err(|e| e.to_string())?)
                .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT"),
            // A PAT or an OAuth token: Snowflake tells them apart itself; saying which would
            // need a parameter, and the token type header is optional for both.
            Credentials::Token(token) => request.bearer_auth(token.expose_secret()),
        })
    }

    /// The error an answer other than 200 means.
    fn failure(&self, statement: &str, status: StatusCode, body: &[u8]) -> Error {
        let failure: Failure = serde_json::from_slice(body).unwrap_or(Failure {
            code: String::new(),
            sql_state: String::new(),
            message: String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned(),
        });
        let detail = format!(
            "HTTP {}: {} (code {}, SQL state {})",
            status.as_u16(),
            failure.message.trim(),
            failure.code,
            failure.sql_state
        );
        let operation = format!("running {}", shown(statement));
        match status.as_u16() {
            401 => Error::PermissionDenied {
                connector: NAME,
                operation: format!(
                    "authenticating as sf-user at {} (check sf-account, sf-user and that the \
                     key of sf-private-key, or sf-token, is the user's)",
                    self.endpoint
                ),
                source: detail.into(),
            },
            403 => Error::PermissionDenied {
                connector: NAME,
                operation,
                source: detail.into(),
            },
            // Not found or not authorized, insufficient privileges: what sf-role lacks.
            422 if matches!(failure.code.as_str(), "002003" | "003001" | "002043") => {
                Error::PermissionDenied {
                    connector: NAME,
                    operation: format!("{operation} as sf-role {:?}", self.role),
                    source: detail.into(),
                }
            }
            // No current warehouse: INFORMATION_SCHEMA and ACCOUNT_USAGE reads need one.
            422 if failure.code == "000606" => Error::InvalidRequest {
                connector: NAME,
                message: format!(
                    "{operation}: no warehouse to run it (set sf-warehouse, or give sf-user a \
                     default warehouse that sf-role may use): {detail}"
                ),
            },
            408 => Error::Operation {
                connector: NAME,
                operation: format!(
                    "{operation}: Snowflake cancelled it after {} s (sf-statement-timeout)",
                    self.statement_timeout_secs
                ),
                source: detail.into(),
            },
            _ => Error::Operation {
                connector: NAME,
                operation,
                source: detail.into(),
            },
        }
    }

    fn malformed(&self, statement: &str, message: String) -> Error {
        Error::Operation {
            connector: NAME,
            operation: format!("reading the answer to {}", shown(statement)),
            source: format!("not the SQL API's result format: {message}").into(),
        }
    }
}

/// Cancels a running statement when dropped with its handle set: `POST
/// /api/v2/statements/{handle}/cancel`, sent on the runtime in the background (a destructor
/// cannot wait), once, its outcome logged.
struct CancelOnDrop<'c> {
    client: &'c Client,
    handle: Option<String>,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client;
        let request = client
            .http
            .post(format!(
                "{}/api/v2/statements/{handle}/cancel",
                client.base_url
            ))
            .header(reqwest::header::ACCEPT, "application/json");
        let request = match client.authorize(request) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(%handle, %error, "could not cancel a Snowflake statement");
                return;
            }
        };
        client.requests.fetch_add(1, Ordering::Relaxed);
        runtime.spawn(async move {
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(%handle, "cancelled a Snowflake statement left running");
                }
                Ok(response) => tracing::warn!(
                    %handle,
                    status = response.status().as_u16(),
                    "Snowflake refused to cancel a statement left running"
                ),
                Err(error) => {
                    tracing::warn!(%handle, %error, "could not cancel a Snowflake statement");
                }
            }
        });
    }
}

/// One attempt's failure: retried unless final.
#[derive(Debug, thiserror::Error)]
enum Attempt {
    #[error("{0}")]
    Network(reqwest::Error),
    #[error("HTTP {0}")]
    Status(StatusCode, Bytes),
    #[error("{0}")]
    Final(String),
}

/// A statement as messages show it: its first line, at most 120 characters.
fn shown(statement: &str) -> String {
    let line = statement.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{:?}…", &line[..cut]),
        None => format!("{line:?}"),
    }
}

/// One page of a paged SHOW command: `SHOW … LIMIT limit`, then `… FROM '<after>'` (the rows
/// following the first whose name is `after`, Snowflake's SHOW cursor).
pub fn show_page(command: &str, limit: usize, after: Option<&str>) -> String {
    match after {
        None => format!("{command} LIMIT {limit}"),
        Some(name) => format!("{command} LIMIT {limit} FROM {}", quote_literal(name)),
    }
}

/// `name` as a Snowflake identifier in double quotes (inner quotes doubled): exactly that name,
/// whatever its case or characters.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a Snowflake string literal in single quotes (quotes and backslashes escaped).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("My \"db\""), "\"My \"\"db\"\"\"");
        assert_eq!(quote_literal("it's a\\b"), "'it\\'s a\\\\b'");
    }

    #[test]
    fn statements_are_shown_by_their_first_line_cut() {
        assert_eq!(shown("SHOW USERS\nLIMIT 1"), "\"SHOW USERS\"");
        let long = "x".repeat(200);
        assert_eq!(shown(&long), format!("{:?}…", "x".repeat(120)));
    }
}
