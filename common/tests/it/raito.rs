//! The Raito Cloud client against small HTTP servers started per test on 127.0.0.1:0, which
//! record every request (exact path and query, headers, body) and answer from a script: the
//! organisation lookup, Cognito's InitiateAuth, GraphQL, the upload URL and the presigned PUT.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use raito_common::model::data_source::{DataObjectType, DataSourceMetaData};
use raito_common::model::identity::IdentityStoreMetaData;
use raito_common::raito::{
    Client, ClientConfig, Error, IdentityImport, JobId, JobStatus, JobTarget, RetryPolicy, Subtask,
    SubtaskResult, TaskEvent, TaskResult, Upload, UsageDates, object_type,
};
use raito_common::step::Step;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// A scripted HTTP/1.1 server
// ---------------------------------------------------------------------------------------------

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// The request target exactly as sent: path and raw query.
    target: String,
    /// Header names lower-cased, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn is_cognito(&self) -> bool {
        self.header("x-amz-target").is_some()
    }

    fn is_graphql(&self) -> bool {
        self.path().ends_with("/query")
    }

    /// The GraphQL `query` text.
    fn document(&self) -> String {
        self.json()["query"].as_str().unwrap().to_owned()
    }
}

/// A scripted answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

struct Server {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, handler, recorded).await;
                });
            }
        });
        Server {
            url,
            requests,
            task,
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn graphql_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(Request::is_graphql)
            .collect()
    }

    fn cognito_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(Request::is_cognito)
            .collect()
    }
}

/// Reads one request, answers it and closes the connection.
async fn serve(
    mut stream: TcpStream,
    handler: Handler,
    recorded: Arc<Mutex<Vec<Request>>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_owned();
    let target = request_line.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut rest = buffer[head_end + 4..].to_vec();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body = if let Some(length) = header("content-length") {
        let length: usize = length.parse().unwrap();
        while rest.len() < length {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..read]);
        }
        rest
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            if let Some(body) = dechunk(&rest) {
                break body;
            }
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                break Vec::new();
            }
            rest.extend_from_slice(&chunk[..read]);
        }
    } else {
        Vec::new()
    };
    let request = Request {
        method,
        target,
        headers,
        body,
    };
    recorded.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut out = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        reply.body.len()
    ));
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(&reply.body).await?;
    stream.shutdown().await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A complete chunked body, decoded; `None` while incomplete.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if data.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------------
// Raito's side of the script
// ---------------------------------------------------------------------------------------------

const API_USER: &str = "sync-bot@acme.test";
const API_SECRET: &str = "pa55-w0rd-not-to-be-seen";

fn config(server: &Server) -> ClientConfig {
    let mut config = ClientConfig::new("acme", API_USER, SecretString::from(API_SECRET));
    // Without the trailing `/` on purpose: the client adds it.
    config.base_url = format!("{}/api", server.url);
    config.cognito_endpoint = Some(server.url.clone());
    config.user_agent = "raito-sync-test/1.0".to_owned();
    config.retry = RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    };
    config.request_timeout = Duration::from_secs(5);
    config
}

fn client(server: &Server) -> Client {
    Client::new(config(server)).unwrap()
}

fn org_reply() -> Reply {
    Reply::json(
        200,
        json!({"AuthOrgId": "org-1", "ClientAppId": "app-client-1"}),
    )
}

fn login_reply(id_token: &str, refresh_token: Option<&str>, expires_in: i64) -> Reply {
    let mut result = json!({
        "AccessToken": "access-never-used",
        "ExpiresIn": expires_in,
        "IdToken": id_token,
        "TokenType": "Bearer",
    });
    if let Some(refresh) = refresh_token {
        result["RefreshToken"] = json!(refresh);
    }
    Reply::json(
        200,
        json!({"AuthenticationResult": result, "ChallengeParameters": {}}),
    )
    .header("content-type", "application/x-amz-json-1.1")
}

fn cognito_error(code: &str, message: &str) -> Reply {
    Reply::json(400, json!({"__type": code, "message": message})).header("x-amzn-errortype", code)
}

fn data(value: Value) -> Reply {
    Reply::json(200, json!({ "data": value }))
}

/// Org lookup and a password login answering `id-1` (valid an hour); GraphQL goes to `graphql`.
fn raito(
    graphql: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| {
        if request.path().starts_with("/api/admin/org/") {
            org_reply()
        } else if request.is_cognito() {
            login_reply("id-1", Some("refresh-1"), 3600)
        } else {
            graphql(request)
        }
    }
}

fn job_answer() -> Reply {
    data(json!({"createJob": {"jobId": "job-1"}}))
}

fn auth_flow(request: &Request) -> String {
    request.json()["AuthFlow"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_first_call_looks_up_the_org_signs_in_once_and_sends_the_raito_headers() {
    let server = Server::start(raito(|_| job_answer())).await;
    let client = client(&server);

    let first = client
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();
    client
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();

    assert_eq!(first, JobId("job-1".into()));
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");

    let lookup = &requests[0];
    assert_eq!(lookup.method, "GET");
    assert_eq!(lookup.target, "/api/admin/org/acme");
    assert!(lookup.header("authorization").is_none());
    assert!(lookup.header("raito-domain").is_none());

    let login = &requests[1];
    assert_eq!(login.method, "POST");
    assert_eq!(
        login.header("x-amz-target"),
        Some("AWSCognitoIdentityProviderService.InitiateAuth")
    );
    assert!(
        login.header("authorization").is_none(),
        "InitiateAuth must go unsigned"
    );
    assert_eq!(
        login.json(),
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": "app-client-1",
            "AuthParameters": {"USERNAME": API_USER, "PASSWORD": API_SECRET},
        })
    );

    for call in &requests[2..] {
        assert_eq!(call.method, "POST");
        assert_eq!(call.target, "/api/query");
        assert_eq!(call.header("authorization"), Some("token id-1"));
        assert_eq!(call.header("raito-domain"), Some("acme"));
        assert_eq!(call.header("user-agent"), Some("raito-sync-test/1.0"));
        assert_eq!(call.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn an_id_token_close_to_expiry_is_refreshed_with_the_refresh_token() {
    let logins = AtomicUsize::new(0);
    let server = Server::start(move |request: &Request| {
        if request.path().starts_with("/api/admin/org/") {
            org_reply()
        } else if request.is_cognito() {
            match logins.fetch_add(1, Ordering::SeqCst) {
                // Expires within the 10 s margin: the next call must refresh.
                0 => login_reply("id-1", Some("refresh-1"), 5),
                _ => login_reply("id-2", None, 3600),
            }
        } else {
            job_answer()
        }
    })
    .await;
    let client = client(&server);

    for _ in 0..3 {
        client
            .create_job(&JobTarget::DataSource("ds-1".into()))
            .await
            .unwrap();
    }

    let cognito = server.cognito_requests();
    assert_eq!(cognito.len(), 2);
    assert_eq!(auth_flow(&cognito[0]), "USER_PASSWORD_AUTH");
    assert_eq!(
        cognito[1].json(),
        json!({
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": "app-client-1",
            "AuthParameters": {"REFRESH_TOKEN": "refresh-1"},
        })
    );
    let tokens: Vec<_> = server
        .graphql_requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(tokens, ["token id-1", "token id-2", "token id-2"]);
    let lookups = server
        .requests()
        .iter()
        .filter(|r| r.path().starts_with("/api/admin/org/"))
        .count();
    assert_eq!(lookups, 1, "the app client id is cached");
}

#[tokio::test]
async fn a_failed_refresh_falls_back_to_a_password_login() {
    let logins = AtomicUsize::new(0);
    let server = Server::start(move |request: &Request| {
        if request.path().starts_with("/api/admin/org/") {
            org_reply()
        } else if request.is_cognito() {
            match logins.fetch_add(1, Ordering::SeqCst) {
                0 => login_reply("id-1", Some("refresh-1"), 1),
                1 => cognito_error("NotAuthorizedException", "Refresh Token has expired"),
                _ => login_reply("id-3", Some("refresh-3"), 3600),
            }
        } else {
            job_answer()
        }
    })
    .await;
    let client = client(&server);

    client
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();
    client
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();

    let flows: Vec<_> = server.cognito_requests().iter().map(auth_flow).collect();
    assert_eq!(
        flows,
        [
            "USER_PASSWORD_AUTH",
            "REFRESH_TOKEN_AUTH",
            "USER_PASSWORD_AUTH"
        ]
    );
    let last = server.graphql_requests().pop().unwrap();
    assert_eq!(last.header("authorization"), Some("token id-3"));
}

#[tokio::test]
async fn a_wrong_api_secret_is_an_authentication_error_naming_the_user_and_nothing_more_is_sent() {
    let server = Server::start(|request: &Request| {
        if request.is_cognito() {
            cognito_error("NotAuthorizedException", "Incorrect username or password.")
        } else if request.path().starts_with("/api/admin/org/") {
            org_reply()
        } else {
            job_answer()
        }
    })
    .await;
    let client = client(&server);

    let error = client
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Authentication { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains(API_USER), "{message}");
    assert!(message.contains("acme"), "{message}");
    for text in [message, format!("{error:?}"), format!("{client:?}")] {
        assert!(!text.contains(API_SECRET), "the secret leaked: {text}");
    }
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "org lookup and one login only: {requests:#?}"
    );
    assert!(server.graphql_requests().is_empty());
}

#[tokio::test]
async fn an_unknown_domain_is_an_authentication_error() {
    let server = Server::start(|_: &Request| Reply::text(404, "no such org")).await;
    let client = client(&server);

    let error = client.end_of_targets_sync(&[]).await.unwrap_err();

    assert!(matches!(error, Error::Authentication { .. }), "{error:?}");
    assert!(error.to_string().contains("domain"), "{error}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_invalid_domain_or_url_is_rejected_before_any_request() {
    let server = Server::start(raito(|_| job_answer())).await;
    for domain in ["-acme", "acme-", "a", "ac_me", "ac.me", ""] {
        let mut config = config(&server);
        config.domain = domain.to_owned();
        let error = Client::new(config).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidConfig {
                    field: "domain",
                    ..
                }
            ),
            "{domain}: {error:?}"
        );
    }
    let mut config = config(&server);
    config.base_url = "ftp://example.com".to_owned();
    assert!(matches!(
        Client::new(config).unwrap_err(),
        Error::InvalidConfig {
            field: "base_url",
            ..
        }
    ));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn the_base_url_gets_a_trailing_slash_and_the_default_is_raito_cloud() {
    let server = Server::start(raito(|_| job_answer())).await;
    let client = client(&server);
    assert_eq!(client.base_url().as_str(), format!("{}/api/", server.url));

    let default = ClientConfig::new("acme", API_USER, SecretString::from(API_SECRET));
    assert_eq!(default.base_url, "https://api.raito.cloud/");
    assert!(default.cognito_endpoint.is_none());
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_500_is_retried_once_and_then_succeeds() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::text(500, "internal error")
        } else {
            job_answer()
        }
    }))
    .await;

    let job = client(&server)
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();

    assert_eq!(job.as_str(), "job-1");
    assert_eq!(server.graphql_requests().len(), 2);
}

#[tokio::test]
async fn a_gateway_time_out_of_create_job_is_not_retried_because_a_job_may_exist() {
    let server = Server::start(raito(move |_| Reply::text(504, "gateway time-out"))).await;

    let error = client(&server)
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("504"), "{error}");
    assert_eq!(server.graphql_requests().len(), 1, "sent once only");
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_seconds() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::text(429, "slow down").header("retry-after", "1")
        } else {
            data(json!({"updateJob": {"jobId": "job-1"}}))
        }
    }))
    .await;
    let client = client(&server);

    let started = Instant::now();
    client
        .update_job(
            &JobId("job-1".into()),
            &JobTarget::DataSource("ds-1".into()),
            JobStatus::InProgress,
            Vec::new(),
        )
        .await
        .unwrap();

    // One-sided, so a slow machine cannot fail it: the second attempt is sent only after a
    // sleep of the whole Retry-After (tokio's sleeps never end early), where the backoff alone
    // would have waited some 10 to 20 ms.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(server.graphql_requests().len(), 2);
}

#[tokio::test]
async fn a_400_is_not_retried_and_keeps_an_excerpt_of_the_body() {
    let server = Server::start(raito(|_| Reply::text(400, "bad request: no such job"))).await;

    let error = client(&server)
        .update_job(
            &JobId("job-1".into()),
            &JobTarget::DataSource("ds-1".into()),
            JobStatus::Completed,
            Vec::new(),
        )
        .await
        .unwrap_err();

    match &error {
        Error::Http {
            operation,
            status,
            body,
            ..
        } => {
            assert_eq!(*operation, "updateJob");
            assert_eq!(*status, 400);
            assert_eq!(body, "bad request: no such job");
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
    assert_eq!(server.graphql_requests().len(), 1);
}

#[tokio::test]
async fn attempts_are_bounded_by_the_retry_policy() {
    let server = Server::start(raito(|_| Reply::text(503, "unavailable"))).await;

    let error = client(&server).end_of_targets_sync(&[]).await.unwrap_err();

    assert!(
        matches!(error, Error::Http { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(server.graphql_requests().len(), 3);
}

/// An answer so late that only the request timeout ends the wait for it.
const NEVER: Duration = Duration::from_secs(3600);

// The two timeout tests keep the file's request timeout (5 s): it also bounds the sign-in
// before the call, which a shorter one could cut on a loaded machine. The GraphQL answer never
// comes, so the timeout always fires, however slow the machine.

#[tokio::test]
async fn a_timed_out_create_job_is_not_retried_because_the_server_may_have_created_it() {
    let server = Server::start(raito(|_| job_answer().after(NEVER))).await;
    let client = client(&server);

    let error = client
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Network { .. }), "{error:?}");
    assert_eq!(server.graphql_requests().len(), 1);
}

#[tokio::test]
async fn a_timed_out_update_job_is_retried_because_it_is_idempotent() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        let answer = data(json!({"updateJob": {"jobId": "job-1"}}));
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            answer.after(NEVER)
        } else {
            answer
        }
    }))
    .await;
    let client = client(&server);

    client
        .update_job(
            &JobId("job-1".into()),
            &JobTarget::DataSource("ds-1".into()),
            JobStatus::Completed,
            Vec::new(),
        )
        .await
        .unwrap();

    assert_eq!(server.graphql_requests().len(), 2);
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_network_error_known_not_to_have_been_sent() {
    // Bind, then close: nothing listens on that port any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = ClientConfig::new("acme", API_USER, SecretString::from(API_SECRET));
    config.base_url = url.clone();
    config.cognito_endpoint = Some(url);
    config.retry.min_delay = Duration::from_millis(5);
    config.retry.max_attempts = 2;

    let error = Client::new(config)
        .unwrap()
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            Error::Network {
                maybe_sent: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// GraphQL operations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn graphql_errors_are_an_error_even_with_data_and_are_not_retried() {
    let server = Server::start(raito(|_| {
        Reply::json(
            200,
            json!({"data": {"createJob": {"jobId": "job-1"}}, "errors": [{"message": "boom"}, {"message": "bang"}]}),
        )
    }))
    .await;

    let error = client(&server)
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap_err();

    match &error {
        Error::GraphQl {
            operation,
            messages,
        } => {
            assert_eq!(*operation, "createJob");
            assert_eq!(messages, &["boom", "bang"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.graphql_requests().len(), 1);
}

#[tokio::test]
async fn a_document_the_server_rejects_with_422_is_a_graphql_error_and_not_retried() {
    let server = Server::start(raito(|_| {
        Reply::json(
            422,
            json!({"errors": [{"message": "Unknown type \"JobInput\"."}], "data": null}),
        )
    }))
    .await;

    let error = client(&server)
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::GraphQl { .. }), "{error:?}");
    assert!(error.to_string().contains("Unknown type"));
    assert_eq!(server.graphql_requests().len(), 1);
}

#[tokio::test]
async fn create_and_update_job_send_the_cli_variables() {
    let server = Server::start(raito(|request| {
        if request.document().contains("updateJob") {
            data(json!({"updateJob": {"jobId": "job-1"}}))
        } else {
            job_answer()
        }
    }))
    .await;
    let client = client(&server);

    let job = client
        .create_job(&JobTarget::IdentityStore("is-1".into()))
        .await
        .unwrap();
    client
        .update_job(
            &job,
            &JobTarget::IdentityStore("is-1".into()),
            JobStatus::Failed,
            vec!["it broke".into()],
        )
        .await
        .unwrap();

    let calls = server.graphql_requests();
    let create = calls[0].json();
    assert_eq!(create["operationName"], "CreateJob");
    assert!(
        create["query"]
            .as_str()
            .unwrap()
            .contains("mutation CreateJob($input: JobInput!)")
    );
    let input = &create["variables"]["input"];
    assert_eq!(input["identityStoreId"], "is-1");
    assert!(input.get("dataSourceId").is_none());
    assert!(input["eventTime"].as_str().unwrap().ends_with('Z'));

    let update = calls[1].json();
    assert_eq!(update["operationName"], "UpdateJob");
    assert!(
        update["query"]
            .as_str()
            .unwrap()
            .contains("mutation UpdateJob($id: String!, $input: JobInput!)")
    );
    assert_eq!(update["variables"]["id"], "job-1");
    let input = &update["variables"]["input"];
    assert_eq!(input["identityStoreId"], "is-1");
    assert_eq!(input["status"], "FAILED");
    assert_eq!(input["errors"], json!(["it broke"]));
}

#[tokio::test]
async fn a_task_event_sends_the_job_type_status_and_counts() {
    let server = Server::start(raito(|_| data(json!({"addTaskEvent": {"jobId": "job-1"}})))).await;

    client(&server)
        .add_task_event(&TaskEvent {
            job_id: JobId("job-1".into()),
            job_type: Step::DataSource,
            target: JobTarget::DataSource("ds-1".into()),
            status: JobStatus::Completed,
            errors: Vec::new(),
            warnings: vec!["a warning".into()],
            result: vec![TaskResult {
                object_type: "data objects".into(),
                added: 3,
                updated: 2,
                removed: 1,
                failed: 0,
            }],
        })
        .await
        .unwrap();

    let body = server.graphql_requests()[0].json();
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .contains("addTaskEvent(input: $input)")
    );
    let input = &body["variables"]["input"];
    assert_eq!(input["jobId"], "job-1");
    assert_eq!(input["jobType"], "DS");
    assert_eq!(input["dataSourceId"], "ds-1");
    assert_eq!(input["status"], "COMPLETED");
    assert_eq!(input["warnings"], json!(["a warning"]));
    assert!(input.get("errors").is_none());
    assert_eq!(
        input["result"],
        json!([{"objectType": "data objects", "added": 3, "updated": 2, "removed": 1, "failed": 0}])
    );
}

#[tokio::test]
async fn data_source_metadata_is_sent_as_the_wire_type_and_an_error_member_is_rejected() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            data(json!({"setDataSourceMetaData": {"__typename": "DataSource", "id": "ds-1"}}))
        } else {
            data(json!({"setDataSourceMetaData": {"__typename": "PermissionDeniedError", "message": "not yours"}}))
        }
    }))
    .await;
    let client = client(&server);
    let metadata = DataSourceMetaData {
        r#type: "postgres".into(),
        icon: "postgres".into(),
        data_object_types: vec![DataObjectType {
            name: "table".into(),
            r#type: "table".into(),
            ..Default::default()
        }],
        ..Default::default()
    };

    client
        .set_data_source_metadata("ds-1", &metadata)
        .await
        .unwrap();
    let error = client
        .set_data_source_metadata("ds-1", &metadata)
        .await
        .unwrap_err();

    let body = server.graphql_requests()[0].json();
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .contains("setDataSourceMetaData(id: $id, input: $input)")
    );
    assert_eq!(body["variables"]["id"], "ds-1");
    assert_eq!(
        body["variables"]["input"],
        serde_json::to_value(&metadata).unwrap()
    );
    assert_eq!(body["variables"]["input"]["supportsApInheritance"], false);
    assert!(
        body["variables"]["input"]
            .get("accessProviderTypes")
            .is_none()
    );
    match error {
        Error::Rejected { message, .. } => {
            assert_eq!(message, "PermissionDeniedError: not yours")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_import_request_inlines_escaped_literals_and_returns_the_subtask() {
    let server = Server::start(raito(|_| {
        data(json!({"importDataSourceRequest": {"subtask": {"status": "QUEUED", "subtaskId": "sub-1"}}}))
    }))
    .await;

    let subtask = client(&server)
        .import_data_source(
            &JobId("job-1".into()),
            "ds-1",
            false,
            "key \"odd\"\\1",
            &["PostgreSQL"],
        )
        .await
        .unwrap();

    assert_eq!(
        subtask,
        Subtask {
            subtask_id: "sub-1".into(),
            status: JobStatus::Queued
        }
    );
    let body = server.graphql_requests()[0].json();
    assert_eq!(body["operationName"], "ImportDataSourceRequest");
    assert_eq!(
        body["variables"],
        json!({"deleteUntouched": false, "tagSourcesScope": ["PostgreSQL"]})
    );
    let document = body["query"].as_str().unwrap();
    assert!(document.contains(r#"jobId: "job-1""#), "{document}");
    assert!(document.contains(r#"dataSource: "ds-1""#), "{document}");
    assert!(
        document.contains(r#"fileKey: "key \"odd\"\\1""#),
        "{document}"
    );
    assert!(document.contains("deleteUntouched: $deleteUntouched"));
    assert!(document.contains("tagSourcesScope: $tagSourcesScope"));
    assert!(!document.contains('@'), "a placeholder is left: {document}");
}

#[tokio::test]
async fn an_identity_import_inlines_both_file_keys_and_sends_the_two_settings() {
    let server = Server::start(raito(|_| {
        data(json!({"importIdentityRequest": {"subtask": {"status": "QUEUED", "subtaskId": "sub-2"}}}))
    }))
    .await;

    let subtask = client(&server)
        .import_identities(
            &JobId("job-1".into()),
            "is-1",
            IdentityImport {
                users_file_key: "users/k1",
                groups_file_key: "groups/\"k2\"",
                delete_untouched: true,
                replace_groups: false,
                tag_sources_scope: &["Okta"],
            },
        )
        .await
        .unwrap();

    assert_eq!(subtask.subtask_id, "sub-2");
    let body = server.graphql_requests()[0].json();
    assert_eq!(body["operationName"], "ImportIdentityRequest");
    assert_eq!(
        body["variables"],
        json!({"deleteUntouched": true, "replaceGroups": false, "tagSourcesScope": ["Okta"]})
    );
    let document = body["query"].as_str().unwrap();
    assert!(document.contains(r#"identityStore: "is-1""#), "{document}");
    assert!(
        document.contains(r#"usersFileKey: "users/k1""#),
        "{document}"
    );
    assert!(
        document.contains(r#"groupsFileKey: "groups/\"k2\"""#),
        "{document}"
    );
    assert!(document.contains("tagSourcesScope: $tagSourcesScope"));
    assert!(!document.contains('@'), "a placeholder is left: {document}");
}

#[tokio::test]
async fn identity_store_metadata_is_sent_like_the_cli_and_not_found_is_rejected() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            data(json!({"setIdentityStoreMetaData": {"__typename": "IdentityStore", "id": "is-1"}}))
        } else {
            data(json!({"setIdentityStoreMetaData": {"__typename": "NotFoundError", "message": "no such identity store"}}))
        }
    }))
    .await;
    let client = client(&server);
    let metadata = IdentityStoreMetaData {
        r#type: "okta".into(),
        icon: "okta".into(),
        can_be_linked: true,
        can_be_master: false,
    };

    client
        .set_identity_store_metadata("is-1", &metadata)
        .await
        .unwrap();
    let error = client
        .set_identity_store_metadata("is-1", &metadata)
        .await
        .unwrap_err();

    let body = server.graphql_requests()[0].json();
    assert_eq!(body["operationName"], "SetMetaData");
    assert_eq!(
        body["variables"],
        json!({"canBeLinked": true, "canBeMaster": false})
    );
    let document = body["query"].as_str().unwrap();
    assert!(document.contains(r#"id: "is-1""#), "{document}");
    assert!(
        document.contains(r#"input: { type: "okta", icon: "okta", canBeLinked: $canBeLinked"#),
        "{document}"
    );
    match error {
        Error::Rejected { message, .. } => {
            assert_eq!(message, "NotFoundError: no such identity store")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn usage_dates_are_read_as_epoch_seconds_and_empty_means_none() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            data(
                json!({"dataSource": {"__typename": "DataSource", "id": "ds-1",
                "usageLastUsed": "2026-11-20T10:00:05.5+01:00", "usageFirstUsed": ""}}),
            )
        } else {
            data(json!({"dataSource": {"__typename": "NotFoundError", "message": "gone"}}))
        }
    }))
    .await;
    let client = client(&server);

    let dates = client.data_source_usage("ds-1").await.unwrap();
    let error = client.data_source_usage("ds-1").await.unwrap_err();

    assert_eq!(
        dates,
        UsageDates {
            first_used: None,
            last_used: Some(1_795_165_205)
        }
    );
    let document = server.graphql_requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(document.contains(r#"dataSource(id: "ds-1")"#), "{document}");
    assert!(matches!(error, Error::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn a_usage_import_sends_every_part_in_order() {
    let server = Server::start(raito(|_| {
        data(json!({"importDataUsageRequest": {"subtask": {"status": "QUEUED", "subtaskId": "sub-3"}}}))
    }))
    .await;

    let subtask = client(&server)
        .import_data_usage(
            &JobId("job-1".into()),
            "ds-1",
            vec!["part-1".into(), "part-2".into()],
        )
        .await
        .unwrap();

    assert_eq!(subtask.subtask_id, "sub-3");
    let body = server.graphql_requests()[0].json();
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .contains("($request: DataUsageImportRequest!)")
    );
    assert_eq!(
        body["variables"],
        json!({"request": {"jobId": "job-1", "importSettings": {"dataSource": "ds-1", "fileKeys": ["part-1", "part-2"]}}})
    );
}

#[tokio::test]
async fn an_export_request_filters_out_of_sync_only_for_an_ap_update() {
    let server = Server::start(raito(|_| {
        data(json!({"exportAccessProvidersRequest": {"subtask": {"status": "QUEUED", "subtaskId": "exp-1"}}}))
    }))
    .await;
    let client = client(&server);
    let job = JobId("job-1".into());

    client
        .export_access_providers(&job, "ds-1", false)
        .await
        .unwrap();
    let subtask = client
        .export_access_providers(&job, "ds-1", true)
        .await
        .unwrap();

    assert_eq!(subtask.subtask_id, "exp-1");
    let requests = server.graphql_requests();
    let (full, partial) = (requests[0].json(), requests[1].json());
    assert!(
        full["query"]
            .as_str()
            .unwrap()
            .starts_with("query ExportAccessProvidersRequest"),
        "a query, not a mutation"
    );
    assert_eq!(
        full["variables"],
        json!({"filter": {}, "input": {"jobId": "job-1", "exportSettings": {"dataSource": "ds-1"}}})
    );
    assert_eq!(
        partial["variables"]["filter"],
        json!({"status": {"outOfSync": true}})
    );
}

#[tokio::test]
async fn access_imports_inline_their_literals_and_the_access_sync_event_names_its_subtask() {
    let server = Server::start(raito(|request| {
        let body = request.json();
        let query = body["query"].as_str().unwrap_or_default();
        if query.contains("importAccessProvidersSyncFeedback") {
            data(json!({"importAccessProvidersSyncFeedback": {"subtask": {"status": "QUEUED", "subtaskId": "fb-1"}}}))
        } else if query.contains("importAccessProvidersRequest") {
            data(json!({"importAccessProvidersRequest": {"subtask": {"status": "QUEUED", "subtaskId": "imp-1"}}}))
        } else {
            data(json!({"addSubtaskEvent": {"jobId": "job-1"}}))
        }
    }))
    .await;
    let client = client(&server);
    let job = JobId("job-1".into());

    let feedback = client
        .import_access_feedback(&job, "ds-1", "feedback-key")
        .await
        .unwrap();
    let import = client
        .import_access_providers(&job, "ds-1", true, "access-key")
        .await
        .unwrap();
    client
        .add_access_sync_event(
            &job,
            &JobTarget::DataSource("ds-1".into()),
            JobStatus::InProgress,
            Some(1_795_165_205_123),
        )
        .await
        .unwrap();

    assert_eq!(
        (feedback.subtask_id.as_str(), import.subtask_id.as_str()),
        ("fb-1", "imp-1")
    );
    let requests = server.graphql_requests();
    let feedback_doc = requests[0].json()["query"].as_str().unwrap().to_owned();
    assert!(
        feedback_doc.contains(r#"fileKey: "feedback-key""#),
        "{feedback_doc}"
    );
    let import_body = requests[1].json();
    assert!(import_body["query"].as_str().unwrap().contains(
        r#"dataSource: "ds-1", deleteUntouched: $deleteUntouched, fileKey: "access-key""#
    ));
    assert_eq!(import_body["variables"], json!({"deleteUntouched": true}));
    let event = requests[2].json();
    assert_eq!(event["variables"]["input"]["subtaskId"], "AccessSync");
    assert_eq!(event["variables"]["input"]["jobType"], "DA");
    assert_eq!(event["variables"]["input"]["status"], "IN_PROGRESS");
    assert_eq!(
        event["variables"]["input"]["receivedDate"],
        1_795_165_205_123_i64
    );
}

#[tokio::test]
async fn end_of_targets_sync_sends_every_job_id() {
    let server = Server::start(raito(|_| {
        data(json!({"endOfTargetsSync": {"__typename": "EndOfTargetsSync", "success": true}}))
    }))
    .await;

    let success = client(&server)
        .end_of_targets_sync(&[JobId("job-1".into()), JobId("job-2".into())])
        .await
        .unwrap();

    assert!(success);
    let body = server.graphql_requests()[0].json();
    assert_eq!(
        body["variables"],
        json!({"input": {"jobIds": ["job-1", "job-2"]}})
    );
}

// ---------------------------------------------------------------------------------------------
// Subtask polling
// ---------------------------------------------------------------------------------------------

fn subtask_answer(status: &str, errors: Value, result: Value) -> Reply {
    data(json!({"jobSubtask": {
        "jobId": "job-1", "jobType": "DS", "subtaskId": "sub-1", "status": status,
        "lastUpdate": "2026-11-02T10:00:00Z", "errors": errors, "result": result,
    }}))
}

fn queued() -> Subtask {
    Subtask {
        subtask_id: "sub-1".into(),
        status: JobStatus::Queued,
    }
}

const INTERVAL: Duration = Duration::from_millis(20);

fn far_deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// A server answering the polls in turn from `answers` (the last one repeats).
async fn polled(answers: Vec<fn() -> Reply>) -> Server {
    let calls = AtomicUsize::new(0);
    Server::start(raito(move |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        answers[n.min(answers.len() - 1)]()
    }))
    .await
}

#[tokio::test]
async fn waiting_polls_until_completed_and_returns_the_result() {
    let server = polled(vec![
        || subtask_answer("QUEUED", Value::Null, Value::Null),
        || data(json!({"jobSubtask": null})),
        // A status this client does not know reads as STARTED: still running.
        || subtask_answer("SOME_NEW_STATUS", Value::Null, Value::Null),
        || {
            subtask_answer(
                "COMPLETED",
                Value::Null,
                json!({"__typename": "DataSourceImportResult", "dataObjectsAdded": 3,
                       "dataObjectsRemoved": 1, "dataObjectsUpdated": 2, "warnings": ["w"]}),
            )
        },
    ])
    .await;

    let outcome = client(&server)
        .wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &queued(),
            far_deadline(),
            INTERVAL,
        )
        .await
        .unwrap();

    assert_eq!(outcome.status, JobStatus::Completed);
    assert_eq!(
        outcome.result,
        Some(SubtaskResult::DataSourceImport {
            added: 3,
            removed: 1,
            updated: 2,
            warnings: vec!["w".into()],
        })
    );
    // Go's line for a data source import: "data objects", the warnings counted as failed
    // (raito-io/cli internal/data_source/sync.go, ProcessResults).
    assert_eq!(
        TaskResult::from_subtask_result(object_type::DATA_OBJECTS, &outcome.result),
        vec![TaskResult {
            object_type: "data objects".into(),
            added: 3,
            updated: 2,
            removed: 1,
            failed: 1
        }]
    );
    let polls = server.graphql_requests();
    assert_eq!(polls.len(), 4);
    let document = polls[0].document();
    assert!(
        document.contains(r#"jobSubtask(jobId: "job-1", jobType: "DS", subtaskId: "sub-1")"#),
        "{document}"
    );
    assert_eq!(polls[0].json()["variables"], json!({}));
}

#[tokio::test]
async fn a_subtask_already_completed_is_polled_once_at_once_for_its_result() {
    let server = polled(vec![|| {
        subtask_answer(
            "COMPLETED",
            Value::Null,
            json!({"__typename": "TagImportResult", "tagsAdded": 1}),
        )
    }])
    .await;
    let done = Subtask {
        subtask_id: "sub-1".into(),
        status: JobStatus::Completed,
    };

    // An interval longer than the time to the deadline: waiting once before the poll would
    // end in a deadline error instead of the result.
    let outcome = client(&server)
        .wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &done,
            far_deadline(),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();

    assert_eq!(outcome.result, Some(SubtaskResult::Other));
    assert_eq!(server.graphql_requests().len(), 1);
}

#[tokio::test]
async fn a_failed_subtask_is_an_error_carrying_its_errors() {
    let server = polled(vec![|| {
        subtask_answer("FAILED", json!(["bad file", "worse file"]), Value::Null)
    }])
    .await;

    let error = client(&server)
        .wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &queued(),
            far_deadline(),
            INTERVAL,
        )
        .await
        .unwrap_err();

    match &error {
        Error::SubtaskFailed {
            errors, job_type, ..
        } => {
            assert_eq!(errors, &["bad file", "worse file"]);
            assert_eq!(*job_type, "DS");
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("bad file"));
}

#[tokio::test]
async fn a_subtask_timed_out_on_the_server_is_an_error() {
    let server = polled(vec![|| {
        subtask_answer("TIMED_OUT", Value::Null, Value::Null)
    }])
    .await;

    let error = client(&server)
        .wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &queued(),
            far_deadline(),
            INTERVAL,
        )
        .await
        .unwrap_err();

    assert!(matches!(error, Error::SubtaskTimedOut { .. }), "{error:?}");
}

/// `wait` as it ends, or a failure when it has not ended in 30 s (a bound no machine needs
/// for waits that end at once or at a deadline a second away).
async fn within_30_s<T>(what: &str, wait: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting after 30 s"))
}

#[tokio::test]
async fn a_subtask_whose_next_poll_would_come_after_the_deadline_stops_at_once() {
    let server = polled(vec![|| subtask_answer("QUEUED", Value::Null, Value::Null)]).await;

    // The next poll is due in an hour, the deadline is in a minute: no sleep past it.
    let error = within_30_s(
        "a wait that cannot poll before its deadline",
        client(&server).wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &queued(),
            far_deadline(),
            Duration::from_secs(3600),
        ),
    )
    .await
    .unwrap_err();

    match error {
        Error::Deadline { last_status, .. } => assert_eq!(last_status, JobStatus::Queued),
        other => panic!("{other:?}"),
    }
    assert!(server.graphql_requests().is_empty(), "no poll was sent");
}

#[tokio::test]
async fn a_poll_still_going_at_the_deadline_is_given_up_there() {
    // The poll is never answered, and the request timeout is longer than the test's bound:
    // only the deadline can end the wait.
    let server = Server::start(raito(|_| {
        subtask_answer("QUEUED", Value::Null, Value::Null).after(NEVER)
    }))
    .await;
    let mut config = config(&server);
    config.request_timeout = NEVER;
    let deadline = Instant::now() + Duration::from_secs(1);

    let error = within_30_s(
        "a poll going at the deadline",
        Client::new(config).unwrap().wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &queued(),
            deadline,
            Duration::from_millis(1),
        ),
    )
    .await
    .unwrap_err();

    match error {
        Error::Deadline { last_status, .. } => assert_eq!(last_status, JobStatus::Queued),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_sixth_failed_poll_aborts_the_wait() {
    let server = polled(vec![|| {
        Reply::json(200, json!({"errors": [{"message": "flaky"}], "data": null}))
    }])
    .await;

    let error = client(&server)
        .wait_for_subtask(
            &JobId("job-1".into()),
            Step::DataSource,
            &queued(),
            far_deadline(),
            Duration::from_millis(5),
        )
        .await
        .unwrap_err();

    match error {
        Error::PollAborted { failures, last, .. } => {
            assert_eq!(failures, 6);
            assert!(matches!(*last, Error::GraphQl { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.graphql_requests().len(), 6);
}

// ---------------------------------------------------------------------------------------------
// Uploads
// ---------------------------------------------------------------------------------------------

/// Content whose SHA-256 in base64 has a `+`, a `/` and the padding `=`.
fn awkward_content() -> (Vec<u8>, String) {
    (0..)
        .map(|i| format!("[\n{{\"externalId\": \"object-{i}\"}}\n]").into_bytes())
        .map(|content| {
            let digest = STANDARD.encode(Sha256::digest(&content));
            (content, digest)
        })
        .find(|(_, digest)| digest.contains('+') && digest.contains('/'))
        .unwrap()
}

/// The upload URL answer plus the presigned PUT, which answers from `put` in turn.
async fn upload_server(digest: String, put: Vec<u16>) -> Server {
    let puts = AtomicUsize::new(0);
    let server_url = Arc::new(Mutex::new(String::new()));
    let url = server_url.clone();
    let server = Server::start(raito(move |request| {
        if request.path() == "/api/file/upload/signed-url" {
            let base = url.lock().unwrap().clone();
            Reply::json(
                200,
                json!({
                    "URL": format!("{base}/bucket/staged/key-1?X-Amz-Signature=abc%2Fdef"),
                    "Key": "staged/key-1",
                    "signedHeaders": {
                        "x-amz-checksum-sha256": [digest.clone()],
                        "x-amz-meta-job": ["one", "two"],
                    },
                }),
            )
        } else if request.method == "PUT" {
            let n = puts.fetch_add(1, Ordering::SeqCst);
            let status = put[n.min(put.len() - 1)];
            Reply::text(status, "<Error><Code>InternalError</Code><Message>try again</Message><SignatureProvided>abc</SignatureProvided></Error>")
        } else {
            Reply::text(404, "unexpected")
        }
    }))
    .await;
    *server_url.lock().unwrap() = server.url.clone();
    server
}

#[tokio::test]
async fn an_upload_sends_the_checksum_and_length_then_puts_the_file_with_the_signed_headers() {
    let (content, digest) = awkward_content();
    let server = upload_server(digest.clone(), vec![200]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data-objects.json");
    std::fs::write(&path, &content).unwrap();

    let upload = Upload::from_file(&path).await.unwrap();
    assert_eq!(upload.length, content.len() as u64);
    assert_eq!(upload.sha256_base64(), digest);
    let key = client(&server).upload(upload).await.unwrap();

    assert_eq!(key, "staged/key-1");
    let requests = server.requests();
    let ask = requests
        .iter()
        .find(|r| r.path() == "/api/file/upload/signed-url")
        .unwrap();
    let escaped = digest
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(
        ask.target,
        format!(
            "/api/file/upload/signed-url?contentLength={}&sha256={escaped}",
            content.len()
        )
    );
    assert_eq!(ask.method, "GET");
    assert_eq!(ask.header("authorization"), Some("token id-1"));
    assert_eq!(ask.header("raito-domain"), Some("acme"));

    let put = requests.iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.target, "/bucket/staged/key-1?X-Amz-Signature=abc%2Fdef");
    assert_eq!(
        put.header("content-length"),
        Some(content.len().to_string().as_str())
    );
    assert!(put.header("transfer-encoding").is_none());
    assert_eq!(put.header("x-amz-checksum-sha256"), Some(digest.as_str()));
    let meta: Vec<_> = put
        .headers
        .iter()
        .filter(|(n, _)| n == "x-amz-meta-job")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(meta, ["one", "two"]);
    for raito_header in [
        "authorization",
        "raito-domain",
        "user-agent",
        "content-type",
    ] {
        assert!(put.header(raito_header).is_none(), "{raito_header} sent");
    }
    assert_eq!(put.body, content);
}

#[tokio::test]
async fn a_failed_put_opens_the_content_again_for_the_retry() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let digest: [u8; 32] = Sha256::digest(&content).into();
    let server = upload_server(STANDARD.encode(digest), vec![500, 200]).await;
    let opens = Arc::new(AtomicUsize::new(0));
    let counted = opens.clone();
    let source = content.clone();
    let upload = Upload::from_opener(digest, content.len() as u64, move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            source.chunks(7_000).map(|c| Ok(c.to_vec())).collect();
        async move { Ok(reqwest::Body::wrap_stream(futures::stream::iter(chunks))) }
    });

    let key = client(&server).upload(upload).await.unwrap();

    assert_eq!(key, "staged/key-1");
    assert_eq!(opens.load(Ordering::SeqCst), 2);
    let puts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    for put in puts {
        assert_eq!(put.body, content);
    }
}

#[tokio::test]
async fn a_rejected_put_is_not_retried_and_does_not_echo_the_signature() {
    let (content, digest) = awkward_content();
    let server = upload_server(digest.clone(), vec![403]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.json");
    std::fs::write(&path, &content).unwrap();
    let digest_bytes: [u8; 32] = Sha256::digest(&content).into();
    let upload = Upload::from_file_with_digest(&path, digest_bytes, content.len() as u64);

    let error = client(&server).upload(upload).await.unwrap_err();

    match &error {
        Error::Http { status, body, .. } => {
            assert_eq!(*status, 403);
            assert_eq!(body, "InternalError: try again");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{error:?}").contains("abc"));
    let puts = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 1);
}

#[tokio::test]
async fn a_missing_file_is_an_upload_source_error() {
    let server = upload_server(String::new(), vec![200]).await;
    let upload = Upload::from_file_with_digest("/nonexistent/raito/file.json", [0; 32], 10);

    let error = client(&server).upload(upload).await.unwrap_err();

    assert!(matches!(error, Error::UploadSource { .. }), "{error:?}");
    assert!(server.requests().iter().all(|r| r.method != "PUT"));
}

#[test]
fn subtask_results_serialise_tagged_by_kind() {
    let result = SubtaskResult::IdentityStoreImport {
        users_added: 1,
        users_removed: 0,
        users_updated: 2,
        groups_added: 3,
        groups_removed: 0,
        groups_updated: 0,
        warnings: Vec::new(),
    };
    let value = serde_json::to_value(&result).unwrap();
    assert_eq!(value["kind"], "identityStoreImport");
    assert_eq!(value["usersAdded"], 1);
    let lines: BTreeMap<_, _> = TaskResult::from_subtask_result("ignored", &Some(result))
        .into_iter()
        .map(|line| (line.object_type.clone(), line))
        .collect();
    // raito-io/cli internal/identity_store/sync.go: "users" then "groups".
    assert_eq!(lines["users"].updated, 2);
    assert_eq!(lines["groups"].added, 3);
}

// ---------------------------------------------------------------------------------------------
// User-Agent, a mixed-case domain, the metadata answers read by `__typename`
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_default_user_agent_says_raito_sync_and_its_version() {
    let expected = format!(
        "raito-sync/{} (Raito CLI compatible)",
        env!("CARGO_PKG_VERSION")
    );
    let server = Server::start(raito(|_| job_answer())).await;
    let mut config = config(&server);
    config.user_agent = ClientConfig::new("acme", API_USER, SecretString::from(API_SECRET))
        .user_agent
        .clone();
    assert_eq!(config.user_agent, expected);

    Client::new(config)
        .unwrap()
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();

    let call = &server.graphql_requests()[0];
    assert_eq!(call.header("user-agent"), Some(expected.as_str()));
}

#[tokio::test]
async fn a_mixed_case_domain_is_looked_up_lower_cased_and_sent_as_configured() {
    let server = Server::start(raito(|_| job_answer())).await;
    let mut config = config(&server);
    config.domain = "AcMe-Corp".to_owned();

    Client::new(config)
        .unwrap()
        .create_job(&JobTarget::DataSource("ds-1".into()))
        .await
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].target, "/api/admin/org/acme-corp");
    let call = &server.graphql_requests()[0];
    assert_eq!(call.header("raito-domain"), Some("AcMe-Corp"));
}

#[test]
fn a_domain_is_validated_lower_cased() {
    for good in ["acme", "Acme", "ACME-1", "a1"] {
        raito_common::raito::validate_domain(good).unwrap();
    }
    for bad in ["ACME-", "1acme", "Ac_me", "A"] {
        assert!(raito_common::raito::validate_domain(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn data_source_metadata_selects_the_go_clis_members_and_any_other_member_is_rejected() {
    let answers = [
        json!({"__typename": "InvalidInputError", "message": "bad types"}),
        json!({"__typename": "SomethingNew"}),
        json!(null),
    ];
    let calls = AtomicUsize::new(0);
    let server = Server::start(raito(move |_| {
        let answer = answers[calls.fetch_add(1, Ordering::SeqCst)].clone();
        data(json!({ "setDataSourceMetaData": answer }))
    }))
    .await;
    let client = client(&server);
    let metadata = DataSourceMetaData::default();

    let invalid = client
        .set_data_source_metadata("ds-1", &metadata)
        .await
        .unwrap_err();
    let unknown = client
        .set_data_source_metadata("ds-1", &metadata)
        .await
        .unwrap_err();
    // No member and no errors: accepted, as the Go CLI does.
    client
        .set_data_source_metadata("ds-1", &metadata)
        .await
        .unwrap();

    match invalid {
        Error::Rejected { operation, message } => {
            assert_eq!(operation, "setDataSourceMetaData");
            assert_eq!(message, "InvalidInputError: bad types");
        }
        other => panic!("{other:?}"),
    }
    match unknown {
        Error::Rejected { message, .. } => {
            assert_eq!(message, "SomethingNew instead of DataSource")
        }
        other => panic!("{other:?}"),
    }
    let body = server.graphql_requests()[0].json();
    assert_eq!(body["operationName"], "SetDataSourceMetaData");
    let document: String = body["query"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = document.split_whitespace().collect();
    assert_eq!(
        words.join(" "),
        "mutation SetDataSourceMetaData($id: ID!, $input: DataSourceMetaDataInput!) { \
         setDataSourceMetaData(id: $id, input: $input) { __typename ... on DataSource { id } \
         ... on BaseError { message } } }"
    );
}

#[tokio::test]
async fn identity_store_metadata_selects_only_the_identity_store_and_reports_any_other_member() {
    let server = Server::start(raito(|_| {
        data(json!({"setIdentityStoreMetaData": {"__typename": "PermissionDeniedError"}}))
    }))
    .await;
    let metadata = IdentityStoreMetaData {
        r#type: "okta".into(),
        icon: "okta".into(),
        can_be_linked: false,
        can_be_master: true,
    };

    let error = client(&server)
        .set_identity_store_metadata("is-1", &metadata)
        .await
        .unwrap_err();

    match error {
        Error::Rejected { operation, message } => {
            assert_eq!(operation, "setIdentityStoreMetaData");
            assert_eq!(message, "PermissionDeniedError instead of IdentityStore");
        }
        other => panic!("{other:?}"),
    }
    let body = server.graphql_requests()[0].json();
    assert_eq!(
        body["variables"],
        json!({"canBeLinked": false, "canBeMaster": true})
    );
    let document = body["query"].as_str().unwrap();
    let selection = document.rsplit(") {").next().unwrap();
    let words: Vec<&str> = selection.split_whitespace().collect();
    assert_eq!(
        words.join(" "),
        "__typename ... on IdentityStore { id } } }"
    );
}
