//! A local stand-in for the Okta Management API, strict about what Okta documents: bare JSON
//! arrays, absolute `Link` headers on separate lines (`self`, and `next` until the last page),
//! `limit` capped at 200, `DEPROVISIONED` users left out unless filtered for, only
//! `status eq "…"` filters, rate-limit headers on every answer, Okta's error bodies (401
//! `E0000011`, 403 `E0000006`, 404 `E0000007`, 429 `E0000047`, 400 `E0000031`), and the OAuth
//! token endpoint of a service app checking its private-key JWT (`aud`, `iss` = `sub`, `exp`
//! at most an hour ahead, RS256 signature). Faults: throttling, 500s, a rate-limit window.
//!
//! Served relative to [`StandIn::base_url`]: `GET /api/v1/users`, `GET /api/v1/groups`,
//! `GET /api/v1/groups/{id}/users`, `POST /oauth2/v1/token`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// The org the stand-in serves, and how it behaves.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Users (Okta user objects: `id`, `status`, `profile`…).
    pub users: Vec<Value>,
    /// Groups (Okta group objects: `id`, `type`, `profile`…).
    pub groups: Vec<Value>,
    /// Group id → member user ids.
    pub members: HashMap<String, Vec<String>>,
    /// The API token accepted with `SSWS`.
    pub api_token: String,
    /// The service app: its client id and public key (PEM), if any.
    pub service_app: Option<(String, String)>,
    /// Requests allowed per rate-limit window (0 = unlimited), and the window.
    pub rate_limit: (u32, Duration),
}

/// A generated org: `users` users (`u00001`…), `groups` groups, each user in `per_user` groups.
pub fn generated(users: usize, groups: usize, per_user: usize) -> Config {
    let group_ids: Vec<String> = (0..groups).map(|g| format!("00g{g:07}")).collect();
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    let users = (0..users)
        .map(|u| {
            let id = format!("00u{u:07}");
            for k in 0..per_user.min(groups) {
                members
                    .entry(group_ids[(u * 7 + k * 13) % groups].clone())
                    .or_default()
                    .push(id.clone());
            }
            json!({"id": id, "status": "ACTIVE", "profile": {
                "login": format!("user{u}@example.com"), "email": format!("user{u}@example.com"),
                "firstName": "User", "lastName": format!("{u}"), "department": format!("dept{}", u % 20)}})
        })
        .collect();
    let groups = group_ids
        .iter()
        .map(|id| json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": format!("group-{id}"), "description": ""}}))
        .collect();
    Config {
        users,
        groups,
        members,
        api_token: "test-token".to_owned(),
        ..Config::default()
    }
}

/// What a test can make the stand-in do wrong.
#[derive(Default)]
struct Faults {
    /// The next N API requests get 429 `E0000047` with a reset 1 s ahead.
    throttle: AtomicU32,
    /// The next N API requests get a 500.
    fail: AtomicU32,
}

struct Shared {
    config: Config,
    /// User id → position in `config.users`.
    user_index: HashMap<String, usize>,
    base_url: String,
    faults: Faults,
    requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    window: Mutex<(Instant, u32)>,
    tokens: Mutex<Vec<String>>,
}

/// A running stand-in.
pub struct StandIn {
    shared: Arc<Shared>,
    base_url: String,
}

impl StandIn {
    /// `http://127.0.0.1:PORT` (no trailing slash), what `okta-domain` takes.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The next `times` API requests are throttled (429 with a reset a second ahead).
    pub fn throttle(&self, times: u32) {
        self.shared.faults.throttle.store(times, Ordering::SeqCst);
    }

    /// The next `times` API requests fail with a 500.
    pub fn fail(&self, times: u32) {
        self.shared.faults.fail.store(times, Ordering::SeqCst);
    }

    /// API requests served so far (token requests not included).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The most API requests that were in flight at once.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Serves `config` on `listener` until the process ends.
pub async fn start(listener: tokio::net::TcpListener, config: Config) -> StandIn {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let base_url = format!("http://{address}");
    let user_index = config
        .users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| Some((u["id"].as_str()?.to_owned(), i)))
        .collect();
    let shared = Arc::new(Shared {
        config,
        user_index,
        base_url: base_url.clone(),
        faults: Faults::default(),
        requests: AtomicU64::new(0),
        in_flight: AtomicU64::new(0),
        max_in_flight: AtomicU64::new(0),
        window: Mutex::new((Instant::now(), 0)),
        tokens: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/api/v1/users", get(users))
        .route("/api/v1/groups", get(groups))
        .route("/api/v1/groups/{id}/users", get(group_users))
        .route("/oauth2/v1/token", post(token))
        .with_state(Arc::clone(&shared));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    StandIn { shared, base_url }
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
    filter: Option<String>,
    search: Option<String>,
    q: Option<String>,
}

fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"errorCode": code, "errorSummary": summary, "errorLink": code,
            "errorId": "oae-standin", "errorCauses": []}),
        ),
    )
        .into_response()
}

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Counts the request against the window; adds the rate-limit headers to `response`.
fn rate_limited(shared: &Shared, response: Response) -> Response {
    let (limit, window) = shared.config.rate_limit;
    let (remaining, reset) = {
        let mut state = shared.window.lock().unwrap_or_else(|e| e.into_inner());
        if state.0.elapsed() >= window {
            *state = (Instant::now(), 0);
        }
        let reset = epoch_now() + (window.saturating_sub(state.0.elapsed())).as_secs_f64();
        (limit.saturating_sub(state.1), reset.ceil())
    };
    let mut response = response;
    let headers = response.headers_mut();
    let limit = if limit == 0 { 600 } else { limit };
    let remaining = if shared.config.rate_limit.0 == 0 {
        limit
    } else {
        remaining
    };
    for (name, value) in [
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", format!("{reset}")),
        ("x-okta-request-id", "standin".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// Authentication, faults and the rate-limit window, before any API answer.
fn gate(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let allowed = match authorization.split_once(' ') {
        Some(("SSWS", token)) => {
            !shared.config.api_token.is_empty() && token == shared.config.api_token
        }
        Some(("Bearer", token)) => shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|t| t == token),
        _ => false,
    };
    if !allowed {
        return Some(okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        ));
    }
    let take = |counter: &AtomicU32| {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    };
    if take(&shared.faults.throttle) {
        let mut response = okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        );
        let headers = response.headers_mut();
        headers.insert("x-rate-limit-limit", HeaderValue::from_static("0"));
        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
        if let Ok(value) = HeaderValue::from_str(&format!("{}", (epoch_now() + 1.0).ceil())) {
            headers.insert("x-rate-limit-reset", value);
        }
        return Some(response);
    }
    if take(&shared.faults.fail) {
        return Some(okta_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        ));
    }
    let (limit, window) = shared.config.rate_limit;
    if limit > 0 {
        let mut state = shared.window.lock().unwrap_or_else(|e| e.into_inner());
        if state.0.elapsed() >= window {
            *state = (Instant::now(), 0);
        }
        if state.1 >= limit {
            drop(state);
            return Some(rate_limited(
                shared,
                okta_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "E0000047",
                    "API call exceeded rate limit due to too many requests.",
                ),
            ));
        }
        state.1 += 1;
    }
    None
}

/// Tracks requests in flight while `answer` is built (a little work is simulated so overlap
/// can be seen).
async fn tracked(shared: &Shared, answer: impl std::future::Future<Output = Response>) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2)).await;
    let response = answer.await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    rate_limited(shared, response)
}

/// One page of `items` with Okta's `Link` headers; the cursor is the offset, opaque to clients.
fn paged(
    shared: &Shared,
    path: &str,
    query: &ListQuery,
    items: Vec<&Value>,
    default_limit: usize,
    max_limit: usize,
) -> Response {
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => default_limit,
        Some(Ok(n)) if n >= 1 => n.min(max_limit),
        Some(_) => {
            return okta_error(
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: limit",
            );
        }
    };
    let start = match query.after.as_deref() {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix("c")
            .and_then(|n| usize::from_str_radix(n, 16).ok())
        {
            Some(offset) => offset,
            None => {
                return okta_error(
                    StatusCode::BAD_REQUEST,
                    "E0000001",
                    "Api validation failed: after",
                );
            }
        },
    };
    let page: Vec<&Value> = items.iter().skip(start).take(limit).copied().collect();
    let mut extra = String::new();
    if let Some(filter) = &query.filter {
        extra = format!("&filter={}", encode(filter));
    }
    let mut response = axum::Json(page).into_response();
    let headers = response.headers_mut();
    let self_link = format!(
        "<{}{path}?limit={limit}{extra}>; rel=\"self\"",
        shared.base_url
    );
    if let Ok(value) = HeaderValue::from_str(&self_link) {
        headers.append("link", value);
    }
    if start + limit < items.len() {
        let next = format!(
            "<{}{path}?after=c{:x}&limit={limit}{extra}>; rel=\"next\"",
            shared.base_url,
            start + limit
        );
        if let Ok(value) = HeaderValue::from_str(&next) {
            headers.append("link", value);
        }
    }
    response
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn users(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, &headers) {
        return refused;
    }
    tracked(&shared, async {
        if query.search.is_some() || query.q.is_some() {
            return okta_error(
                StatusCode::BAD_REQUEST,
                "E0000031",
                "Invalid search criteria: the stand-in serves filter only",
            );
        }
        let status_filter = match &query.filter {
            None => None,
            Some(filter) => match filter
                .trim()
                .strip_prefix("status eq \"")
                .and_then(|s| s.strip_suffix('"'))
            {
                Some(status) => Some(status.to_owned()),
                None => {
                    return okta_error(
                        StatusCode::BAD_REQUEST,
                        "E0000031",
                        "Invalid search criteria.",
                    );
                }
            },
        };
        let items: Vec<&Value> = shared
            .config
            .users
            .iter()
            .filter(|u| {
                let status = u["status"].as_str().unwrap_or_default();
                match &status_filter {
                    Some(wanted) => status == wanted,
                    None => status != "DEPROVISIONED",
                }
            })
            .collect();
        paged(&shared, "/api/v1/users", &query, items, 200, 200)
    })
    .await
}

async fn groups(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, &headers) {
        return refused;
    }
    tracked(&shared, async {
        if query.filter.is_some() || query.search.is_some() || query.q.is_some() {
            return okta_error(
                StatusCode::BAD_REQUEST,
                "E0000031",
                "Invalid search criteria: the stand-in serves no group filters",
            );
        }
        let items: Vec<&Value> = shared.config.groups.iter().collect();
        paged(&shared, "/api/v1/groups", &query, items, 10_000, 10_000)
    })
    .await
}

async fn group_users(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, &headers) {
        return refused;
    }
    tracked(&shared, async {
        if !shared.config.groups.iter().any(|g| g["id"] == id.as_str()) {
            return okta_error(
                StatusCode::NOT_FOUND,
                "E0000007",
                &format!("Not found: Resource not found: {id} (UserGroup)"),
            );
        }
        let items: Vec<&Value> = shared
            .config
            .members
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|m| shared.user_index.get(m).map(|&i| &shared.config.users[i]))
            .collect();
        paged(
            &shared,
            &format!("/api/v1/groups/{id}/users"),
            &query,
            items,
            1000,
            1000,
        )
    })
    .await
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: u64,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(shared): State<Arc<Shared>>, Form(form): Form<TokenForm>) -> Response {
    let Some((client_id, public_key)) = &shared.config.service_app else {
        return oauth_error("invalid_client", "No service app is configured.");
    };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            "unsupported_grant_type",
            "The grant type must be client_credentials.",
        );
    }
    if form.client_assertion_type.as_deref()
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return oauth_error(
            "invalid_client",
            "client_assertion_type must be jwt-bearer.",
        );
    }
    let scopes: Vec<&str> = form
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .collect();
    if !scopes.contains(&"okta.users.read") || !scopes.contains(&"okta.groups.read") {
        return oauth_error("invalid_scope", "The requested scopes are not granted.");
    }
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(public_key.as_bytes()) else {
        return oauth_error("invalid_client", "The app's public key is not usable.");
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[format!("{}/oauth2/v1/token", shared.base_url)]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<AssertionClaims>(
        form.client_assertion.as_deref().unwrap_or_default(),
        &key,
        &validation,
    ) {
        Ok(data) => data.claims,
        Err(e) => {
            return oauth_error(
                "invalid_client",
                &format!("The client_assertion is invalid: {e}"),
            );
        }
    };
    if claims.iss != *client_id || claims.sub != *client_id {
        return oauth_error("invalid_client", "iss and sub must be the client id.");
    }
    if claims.exp as f64 > epoch_now() + 3600.0 {
        return oauth_error(
            "invalid_client",
            "The client_assertion expires more than an hour from now.",
        );
    }
    let token = format!("okta-access-{}", shared.requests.load(Ordering::SeqCst));
    shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(token.clone());
    axum::Json(
        json!({"token_type": "Bearer", "expires_in": 3600, "access_token": token,
        "scope": "okta.users.read okta.groups.read"}),
    )
    .into_response()
}
