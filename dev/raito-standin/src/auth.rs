//! Signing in: the unauthenticated org lookup (`GET admin/org/<domain>`) and a Cognito-compatible
//! `InitiateAuth` (AWS JSON 1.1 at `POST cognito/`) with USER_PASSWORD_AUTH and
//! REFRESH_TOKEN_AUTH, issuing the id tokens that `Shared::authenticate` accepts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use crate::clock::unix_now;
use crate::faults::rejects_logins;
use crate::server::{Api, Shared, json};

const TARGET: &str = "AWSCognitoIdentityProviderService.InitiateAuth";
const AWS_JSON: &str = "application/x-amz-json-1.1";

/// Whether `domain` is a valid Raito domain name: `^[a-z][a-z0-9-]*[a-z0-9]$`.
pub(crate) fn is_valid_domain(domain: &str) -> bool {
    let b = domain.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Whether `named` (an org lookup path or a `Raito-Domain` header) names the organization
/// configured as `configured` (always lower-case, see [`is_valid_domain`]): compared
/// lower-cased, as Raito matches organizations. The Go CLI lower-cases the domain only for the
/// org lookup (`internal/auth/auth.go`, `fetchClientAppId`) and sends `Raito-Domain` as the
/// user wrote it, so a mixed-case header must be accepted.
pub(crate) fn same_organization(configured: &str, named: &str) -> bool {
    named.to_lowercase() == configured
}

/// `GET admin/org/<domain>`: the Cognito app client id of the configured organization. The
/// path must be a valid, hence lower-case, domain: the Go CLI lower-cases it and validates it
/// before the lookup, so a mixed-case path is a client that did not.
pub(crate) async fn org_lookup(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(domain): Path<String>,
) -> Response {
    let path = format!("admin/org/{domain}");
    if let Some(response) = shared.admit(Api::Rest, &["orgLookup".to_owned()], &path) {
        return response;
    }
    let organization = shared
        .organization(&domain)
        .filter(|_| is_valid_domain(&domain));
    let Some(organization) = organization else {
        return Api::Rest.error(
            StatusCode::NOT_FOUND,
            &format!("no organization with domain {domain:?}"),
        );
    };
    json(
        StatusCode::OK,
        &json!({ "AuthOrgId": format!("org-{domain}"), "ClientAppId": organization.client_app_id }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateAuth {
    auth_flow: Option<String>,
    client_id: Option<String>,
    #[serde(default)]
    auth_parameters: HashMap<String, String>,
}

/// `POST cognito/` with `X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth`.
pub(crate) async fn initiate_auth(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(response) = shared.admit(Api::Cognito, &["InitiateAuth".to_owned()], "cognito/") {
        return response;
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    if target != Some(TARGET) {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("the stand-in serves only {TARGET}, not {target:?}"),
        );
    }
    let request: InitiateAuth = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                &error.to_string(),
            );
        }
    };
    let (Some(flow), Some(client_id)) = (request.auth_flow, request.client_id) else {
        return invalid_parameter("AuthFlow and ClientId are required");
    };
    let Some(organization) = shared.organization_of_client(&client_id) else {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            &format!("User pool client {client_id} does not exist."),
        );
    };
    let org = organization.domain.to_owned();
    let parameter = |name: &str| request.auth_parameters.get(name).map(String::as_str);
    match flow.as_str() {
        "USER_PASSWORD_AUTH" => {
            let (Some(user), Some(password)) = (parameter("USERNAME"), parameter("PASSWORD"))
            else {
                return invalid_parameter("Missing required parameter USERNAME or PASSWORD");
            };
            let mut state = shared.lock();
            if rejects_logins(&state.faults)
                || user != organization.api_user
                || password != organization.api_secret
            {
                return not_authorized("Incorrect username or password.");
            }
            let refresh_token = shared.secret.new_token();
            state
                .refresh_tokens
                .insert(refresh_token.clone(), (user.to_owned(), org.clone()));
            let mut result = issue(&shared, &mut state.id_tokens, user, org);
            result["RefreshToken"] = json!(refresh_token);
            authenticated(result)
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
            let Some(refresh_token) = parameter("REFRESH_TOKEN") else {
                return invalid_parameter("Missing required parameter REFRESH_TOKEN");
            };
            let mut state = shared.lock();
            let user = match state.refresh_tokens.get(refresh_token) {
                Some((user, of)) if !rejects_logins(&state.faults) && *of == org => user.clone(),
                _ => return not_authorized("Invalid Refresh Token"),
            };
            let result = issue(&shared, &mut state.id_tokens, &user, org);
            authenticated(result)
        }
        other => invalid_parameter(&format!("Initiate Auth method not supported: {other}")),
    }
}

/// A new id token (and access token) for `user` of organization `org`, valid for the
/// configured lifetime.
fn issue(
    shared: &Shared,
    id_tokens: &mut HashMap<String, (Instant, String)>,
    user: &str,
    org: String,
) -> serde_json::Value {
    let lifetime = shared.config.token_lifetime;
    let id_token = jwt(shared, user, "id", lifetime);
    let access_token = jwt(shared, user, "access", lifetime);
    id_tokens.insert(id_token.clone(), (shared.clock.now() + lifetime, org));
    // Cognito states whole seconds; round up so that a sub-second test lifetime is not "0".
    let expires_in = lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0);
    json!({
        "IdToken": id_token,
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    })
}

/// A JWT-shaped token, like Cognito's, so that a client that reads `exp` from it can; the
/// stand-in itself only looks tokens up in its table.
fn jwt(shared: &Shared, user: &str, token_use: &str, lifetime: Duration) -> String {
    let now = unix_now();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "sub": user,
        "cognito:username": user,
        "token_use": token_use,
        "iat": now,
        "exp": now + lifetime.as_secs().max(1),
        "jti": shared.secret.new_id(),
    });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature =
        URL_SAFE_NO_PAD.encode(shared.secret.sign(format!("{header}.{payload}").as_bytes()));
    format!("{header}.{payload}.{signature}")
}

fn authenticated(result: serde_json::Value) -> Response {
    let body = json!({ "AuthenticationResult": result, "ChallengeParameters": {} });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, AWS_JSON)],
        body.to_string(),
    )
        .into_response()
}

fn not_authorized(message: &str) -> Response {
    aws_error(StatusCode::BAD_REQUEST, "NotAuthorizedException", message)
}

fn invalid_parameter(message: &str) -> Response {
    aws_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterException",
        message,
    )
}

/// An AWS JSON 1.1 error: the code in `__type` and in `x-amzn-ErrorType`.
pub(crate) fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "__type": code, "message": message });
    let mut response =
        (status, [(header::CONTENT_TYPE, AWS_JSON)], body.to_string()).into_response();
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{is_valid_domain, same_organization};

    #[test]
    fn an_organization_is_named_whatever_the_case() {
        assert!(same_organization("demo", "demo"));
        assert!(same_organization("demo", "Demo"));
        assert!(same_organization("acme-corp", "ACME-Corp"));
        assert!(!same_organization("demo", "demo2"));
        assert!(!same_organization("demo", " demo"));
    }

    #[test]
    fn domains_follow_raitos_pattern() {
        for good in ["demo", "acme-corp", "a1"] {
            assert!(is_valid_domain(good), "{good}");
        }
        for bad in ["", "a", "Demo", "1abc", "abc-", "a_b", "a.b"] {
            assert!(!is_valid_domain(bad), "{bad}");
        }
    }
}
