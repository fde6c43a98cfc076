//! A local stand-in for Microsoft Graph v1.0 and the identity platform's token endpoint,
//! strict about what Microsoft documents: app-only tokens by client secret or certificate
//! assertion (PS256 with `x5t#S256`, or RS256 with `x5t`), `AADSTS` errors; `$top` from 1 to
//! 999 (else 400 "Must be between 1 and 999 inclusive"), a default page of 100, absolute
//! `@odata.nextLink`s with a `$skiptoken` and the original parameters (the last page may be
//! empty), `accountEnabled` and `userType` only when `$select`ed, member lists mixing users,
//! groups, devices and members with limited information; 401 `InvalidAuthenticationToken`.
//! Faults: 429 `TooManyRequests` with a fractional `Retry-After`, 503.
//!
//! Served relative to [`StandIn::base_url`]: `POST /{tenant}/oauth2/v2.0/token` (the login
//! base) and `GET /v1.0/users`, `/v1.0/groups`, `/v1.0/groups/{id}/members` (the Graph base,
//! [`StandIn::graph_url`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The tenant the stand-in serves, and how it behaves.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The tenant id in the token URL.
    pub tenant: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret, if it has one.
    pub client_secret: Option<String>,
    /// The app's certificate (PEM) and its public key (PEM), if it has one.
    pub certificate: Option<(String, String)>,
    /// Users: full objects (`id`, `displayName`, `userPrincipalName`, `mail`,
    /// `accountEnabled`, `userType`).
    pub users: Vec<Value>,
    /// Groups: full objects (`id`, `displayName`, `description`, `groupTypes`…).
    pub groups: Vec<Value>,
    /// Group id → its direct members as Graph returns them (`@odata.type`, `id`, …).
    pub members: HashMap<String, Vec<Value>>,
}

/// A generated tenant: `users` users, `groups` groups, each user in `per_user` groups.
pub fn generated(users: usize, groups: usize, per_user: usize) -> Config {
    let group_ids: Vec<String> = (0..groups).map(|g| format!("g-{g:08}")).collect();
    let mut members: HashMap<String, Vec<Value>> = HashMap::new();
    let users = (0..users)
        .map(|u| {
            let id = format!("u-{u:08}");
            for k in 0..per_user.min(groups) {
                members
                    .entry(group_ids[(u * 7 + k * 13) % groups].clone())
                    .or_default()
                    .push(json!({"@odata.type": "#microsoft.graph.user", "id": id}));
            }
            json!({"id": id, "displayName": format!("User {u}"), "userPrincipalName": format!("user{u}@contoso.com"),
                "mail": format!("user{u}@contoso.com"), "accountEnabled": true, "userType": "Member"})
        })
        .collect();
    let groups = group_ids
        .iter()
        .map(|id| json!({"id": id, "displayName": format!("Group {id}"), "description": null, "groupTypes": [], "securityEnabled": true, "mailEnabled": false}))
        .collect();
    Config {
        tenant: "contoso".to_owned(),
        client_id: "app-1".to_owned(),
        client_secret: Some("app-secret".to_owned()),
        users,
        groups,
        members,
        ..Config::default()
    }
}

struct Shared {
    config: Config,
    base_url: String,
    throttle: AtomicU32,
    unavailable: AtomicU32,
    requests: AtomicU64,
    tokens: Mutex<Vec<String>>,
}

/// A running stand-in.
pub struct StandIn {
    shared: Arc<Shared>,
}

impl StandIn {
    /// `http://127.0.0.1:PORT`: what `entra-login-url` takes.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/v1.0`: what `entra-graph-url` takes.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.shared.base_url)
    }

    /// The next `times` Graph requests get 429 with `Retry-After: 0.25`.
    pub fn throttle(&self, times: u32) {
        self.shared.throttle.store(times, Ordering::SeqCst);
    }

    /// The next `times` Graph requests get 503.
    pub fn unavailable(&self, times: u32) {
        self.shared.unavailable.store(times, Ordering::SeqCst);
    }

    /// Graph requests served so far (token requests not included).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

/// Serves `config` on `listener` until the process ends.
pub async fn start(listener: tokio::net::TcpListener, config: Config) -> StandIn {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let shared = Arc::new(Shared {
        config,
        base_url: format!("http://{address}"),
        throttle: AtomicU32::new(0),
        unavailable: AtomicU32::new(0),
        requests: AtomicU64::new(0),
        tokens: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/users", get(users))
        .route("/v1.0/groups", get(groups))
        .route("/v1.0/groups/{id}/members", get(members))
        .with_state(Arc::clone(&shared));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    StandIn { shared }
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message,
            "innerError": {"date": "2026-11-22T10:00:00", "request-id": "standin", "client-request-id": "standin"}}})),
    )
        .into_response()
}

fn aadsts(code: u32, message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": "invalid_client",
            "error_description": format!("AADSTS{code}: {message} Trace ID: standin Correlation ID: standin Timestamp: 2026-11-22 10:00:00Z"),
            "error_codes": [code], "trace_id": "standin", "correlation_id": "standin"})),
    )
        .into_response()
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn gate(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let known = shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|t| t == token);
    if !known {
        return Some(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        ));
    }
    if take(&shared.throttle) {
        let mut response = graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        );
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("0.25"));
        return Some(response);
    }
    if take(&shared.unavailable) {
        return Some(graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "Service unavailable.",
        ));
    }
    None
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$select")]
    select: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

/// Properties a user has only when `$select`ed.
const SELECT_ONLY: [&str; 2] = ["accountEnabled", "userType"];

fn page(shared: &Shared, path: &str, query: &ListQuery, items: &[Value]) -> Response {
    let top = match query.top.as_deref().map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=999).contains(&n) => n,
        Some(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!(
                    "Invalid page size specified: '{}'. Must be between 1 and 999 inclusive.",
                    query.top.as_deref().unwrap_or_default()
                ),
            );
        }
    };
    let start = match query.skiptoken.as_deref() {
        None => 0,
        Some(token) => match token
            .strip_prefix("RFNwdAIAAQAAAD")
            .and_then(|n| n.parse().ok())
        {
            Some(offset) => offset,
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "Invalid $skiptoken.",
                );
            }
        },
    };
    let selected: Option<Vec<&str>> = query
        .select
        .as_deref()
        .map(|s| s.split(',').map(str::trim).collect());
    let value: Vec<Value> = items
        .iter()
        .skip(start)
        .take(top)
        .map(|item| {
            let Value::Object(map) = item else {
                return item.clone();
            };
            let kept = map
                .iter()
                .filter(|(key, _)| match &selected {
                    Some(fields) => {
                        fields.contains(&key.as_str()) || key.starts_with('@') || *key == "id"
                    }
                    None => !SELECT_ONLY.contains(&key.as_str()),
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Value::Object(kept)
        })
        .collect();
    let mut body = json!({"@odata.context": format!("{}/v1.0/$metadata#{path}", shared.base_url), "value": value});
    // Like Graph, a page that ends exactly at the end still links to a last, empty page.
    if start + top <= items.len() && start < items.len() {
        let mut params = Vec::new();
        if let Some(select) = &query.select {
            params.push(format!("$select={select}"));
        }
        params.push(format!("$top={top}"));
        params.push(format!("$skiptoken=RFNwdAIAAQAAAD{}", start + top));
        body["@odata.nextLink"] = json!(format!(
            "{}/v1.0{path}?{}",
            shared.base_url,
            params.join("&")
        ));
    }
    axum::Json(body).into_response()
}

async fn users(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, &headers) {
        return refused;
    }
    page(&shared, "/users", &query, &shared.config.users)
}

async fn groups(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, &headers) {
        return refused;
    }
    page(&shared, "/groups", &query, &shared.config.groups)
}

async fn members(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, &headers) {
        return refused;
    }
    let Some(members) = shared.config.members.get(&id).or_else(|| {
        shared
            .config
            .groups
            .iter()
            .any(|g| g["id"] == id.as_str())
            .then_some(&EMPTY)
    }) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist."),
        );
    };
    page(&shared, &format!("/groups/{id}/members"), &query, members)
}

static EMPTY: Vec<Value> = Vec::new();

#[derive(Deserialize)]
struct TokenForm {
    client_id: Option<String>,
    scope: Option<String>,
    grant_type: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let config = &shared.config;
    if tenant != config.tenant {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request",
            "error_description": format!("AADSTS90002: Tenant '{tenant}' not found."), "error_codes": [90002]}))).into_response();
    }
    if form.grant_type.as_deref() != Some("client_credentials")
        || form.scope.as_deref() != Some(format!("{}/.default", shared.base_url).as_str())
    {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request",
            "error_description": "AADSTS70011: The provided request must include a 'scope' input parameter.", "error_codes": [70011]}))).into_response();
    }
    if form.client_id.as_deref() != Some(config.client_id.as_str()) {
        return aadsts(
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory.",
                form.client_id.unwrap_or_default()
            ),
        );
    }
    match (&form.client_secret, &form.client_assertion) {
        (Some(secret), None) => {
            if config.client_secret.as_deref() != Some(secret.as_str()) {
                return aadsts(
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                );
            }
        }
        (None, Some(assertion)) => {
            if form.client_assertion_type.as_deref()
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return aadsts(700027, "client_assertion_type is not jwt-bearer.");
            }
            let Some((certificate, public_key)) = &config.certificate else {
                return aadsts(700027, "The app has no certificate.");
            };
            if let Err(message) = check_assertion(&shared, assertion, certificate, public_key) {
                return aadsts(
                    700027,
                    &format!("Client assertion failed signature validation. {message}"),
                );
            }
        }
        _ => {
            return aadsts(
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            );
        }
    }
    let token = format!(
        "graph-token-{}",
        shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    );
    shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(token.clone());
    axum::Json(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})).into_response()
}

fn check_assertion(
    shared: &Shared,
    assertion: &str,
    certificate: &str,
    public_key: &str,
) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| e.to_string())?;
    let der: String = certificate
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(der)
        .map_err(|e| e.to_string())?;
    let s256 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
    if header.x5t_s256.as_deref() != Some(s256.as_str()) {
        return Err("x5t#S256 does not match the app's certificate.".to_owned());
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[format!(
        "{}/{}/oauth2/v2.0/token",
        shared.base_url, shared.config.tenant
    )]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims.iss != shared.config.client_id || claims.sub != shared.config.client_id {
        return Err("iss and sub must be the client id.".to_owned());
    }
    if claims.exp > now() + 3600 {
        return Err("The assertion is valid for too long.".to_owned());
    }
    Ok(())
}
