//! The HTTP side: the shared server state, the routes, and the gate every request passes first
//! (count it, answer an armed fault, check the token), with error bodies shaped like each API's
//! own (plain JSON, AWS JSON 1.1, GraphQL).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::Config;
use crate::clock::Clock;
use crate::faults::{self, Fault, Injected};
use crate::secret::Secret;
use crate::state::State;
use crate::{auth, export, graphql, trigger, upload};

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// `http://127.0.0.1:PORT/`, with the slash.
    pub(crate) base_url: String,
    /// The Cognito app client id the org lookup hands out and `InitiateAuth` expects (of the
    /// main organization; see [`Shared::organization`] for the others).
    pub(crate) client_app_id: String,
    pub(crate) secret: Secret,
    pub(crate) schema: Valid<Schema>,
    /// Decides token expiry and import progress; tests move it forward.
    pub(crate) clock: Clock,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: Config, base_url: String, schema: Valid<Schema>) -> Self {
        let client_app_id = client_app_id(&config.domain);
        let state = State {
            export_format: config.export_format,
            ..State::default()
        };
        Self {
            config,
            base_url,
            client_app_id,
            secret: Secret::new(),
            schema,
            clock: Clock::new(),
            state: Mutex::new(state),
        }
    }

    /// The organization named by `domain` (any case, as Raito matches them): its domain (as
    /// configured), API user, password and Cognito app client id.
    pub(crate) fn organization(&self, domain: &str) -> Option<Org<'_>> {
        self.organizations()
            .find(|org| crate::auth::same_organization(org.domain, domain))
    }

    /// The organization whose Cognito app client is `client_id`.
    pub(crate) fn organization_of_client(&self, client_id: &str) -> Option<Org<'_>> {
        self.organizations()
            .find(|org| org.client_app_id == client_id)
    }

    fn organizations(&self) -> impl Iterator<Item = Org<'_>> {
        let main = Org {
            domain: &self.config.domain,
            api_user: &self.config.api_user,
            api_secret: &self.config.api_secret,
            client_app_id: self.client_app_id.clone(),
        };
        std::iter::once(main).chain(self.config.other_organizations.iter().map(|o| Org {
            domain: &o.domain,
            api_user: &o.api_user,
            api_secret: &o.api_secret,
            client_app_id: client_app_id(&o.domain),
        }))
    }

    /// The organization of the (valid) token of a request, `""` when there is none.
    pub(crate) fn organization_of_request(&self, headers: &HeaderMap) -> String {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("token "));
        token
            .and_then(|token| self.lock().id_tokens.get(token).map(|(_, org)| org.clone()))
            .unwrap_or_default()
    }

    /// The state. A handler that panicked while holding the lock cannot leave it half-updated in
    /// a way that matters to a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts the request under each of its operation names; returns the answer of the first
    /// armed fault that matches it, if any (to be sent instead of the real one).
    pub(crate) fn admit(&self, api: Api, operations: &[String], path: &str) -> Option<Response> {
        let injected = {
            let mut state = self.lock();
            for operation in operations {
                state.count(operation);
            }
            faults::take(&mut state.faults, operations, path)
        };
        match injected? {
            Injected::Status(status) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Some(api.error(status, "injected fault"))
            }
            Injected::TooManyRequests { retry_after_secs } => {
                let mut response = api.error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                Some(response)
            }
        }
    }

    /// Requires `Authorization: token <IdToken>` (issued here, not expired) and
    /// `Raito-Domain: <the token's organization's domain>` (any case: the Go CLI sends it as
    /// configured, Raito matches organizations lower-cased); returns the 401 answer otherwise.
    pub(crate) fn authenticate(&self, api: Api, headers: &HeaderMap) -> Option<Response> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let token = text("authorization").and_then(|v| v.strip_prefix("token "));
        let organization = token.and_then(|token| {
            self.lock()
                .id_tokens
                .get(token)
                .filter(|(expiry, _)| self.clock.now() < *expiry)
                .map(|(_, org)| org.clone())
        });
        let Some(organization) = organization else {
            return Some(api.error(
                StatusCode::UNAUTHORIZED,
                "missing, unknown or expired token (expected `Authorization: token <IdToken>`)",
            ));
        };
        if !text("raito-domain")
            .is_some_and(|named| crate::auth::same_organization(&organization, named))
        {
            return Some(api.error(
                StatusCode::UNAUTHORIZED,
                "the Raito-Domain header does not name this organization",
            ));
        }
        None
    }

    pub(crate) fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }
}

/// Which API a response belongs to, for the shape of its error body.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Api {
    /// `{"message": "..."}`.
    Rest,
    /// AWS JSON 1.1: `{"__type": "<Code>", "message": "..."}` plus `x-amzn-ErrorType`.
    Cognito,
    /// `{"errors": [{"message": "..."}], "data": null}`.
    GraphQl,
}

impl Api {
    pub(crate) fn error(self, status: StatusCode, message: &str) -> Response {
        match self {
            Self::Rest => json(status, &serde_json::json!({ "message": message })),
            Self::GraphQl => json(
                status,
                &serde_json::json!({ "errors": [{ "message": message }], "data": null }),
            ),
            Self::Cognito => {
                let code = match status {
                    StatusCode::TOO_MANY_REQUESTS => "TooManyRequestsException",
                    s if s.is_server_error() => "InternalErrorException",
                    _ => "InvalidParameterException",
                };
                auth::aws_error(status, code, message)
            }
        }
    }
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// An organization the stand-in serves.
pub(crate) struct Org<'a> {
    pub(crate) domain: &'a str,
    pub(crate) api_user: &'a str,
    pub(crate) api_secret: &'a str,
    pub(crate) client_app_id: String,
}

/// The Cognito app client id of an organization.
fn client_app_id(domain: &str) -> String {
    format!("standin{}client", domain.replace('-', ""))
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/admin/org/{domain}", get(auth::org_lookup))
        // The AWS SDK joins the endpoint's path and the operation's `/`: accept both spellings.
        .route("/cognito", post(auth::initiate_auth))
        .route("/cognito/", post(auth::initiate_auth))
        .route("/file/upload/signed-url", get(upload::signed_url))
        .route("/file/upload/logs/signed-url", get(upload::log_signed_url))
        .route(
            "/upload/{*key}",
            put(upload::put_file).layer(DefaultBodyLimit::disable()),
        )
        .route("/query", post(graphql::serve))
        .route("/export/{token}", get(export::download))
        .route("/_standin/state", get(state_json))
        .route("/_standin/faults", post(inject_fault))
        .route(&format!("/{}", trigger::PATH), get(trigger::websocket))
        .route("/_standin/trigger-channel", post(trigger::control))
        .fallback(not_found)
        .with_state(shared)
}

async fn state_json(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let snapshot = shared.lock().record.clone();
    match serde_json::to_value(&snapshot) {
        Ok(body) => json(StatusCode::OK, &body),
        Err(error) => Api::Rest.error(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

async fn inject_fault(
    AxumState(shared): AxumState<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => {
            shared.inject(fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => Api::Rest.error(StatusCode::BAD_REQUEST, &format!("not a fault: {error}")),
    }
}

async fn not_found(uri: Uri) -> Response {
    Api::Rest.error(
        StatusCode::NOT_FOUND,
        &format!("the Raito stand-in has no endpoint {}", uri.path()),
    )
}
