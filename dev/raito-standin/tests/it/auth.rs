//! The org lookup, Cognito `InitiateAuth` and the token check on every other endpoint.

use std::time::Duration;

use raito_standin::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, cognito, config, standin};

#[tokio::test]
async fn the_org_lookup_answers_the_client_app_id_for_the_configured_domain_only() {
    let standin = standin(config()).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}admin/org/demo", standin.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ClientAppId"], standin.client_app_id());
    assert!(body["AuthOrgId"].is_string());

    for other in ["other", "Demo", "-demo"] {
        let response = http
            .get(format!("{}admin/org/{other}", standin.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{other}");
    }
}

#[tokio::test]
async fn a_password_login_returns_tokens_that_open_the_api() {
    let standin = standin(config()).await;
    let http = reqwest::Client::new();
    let (status, body) = cognito(
        &http,
        &standin,
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": standin.client_app_id(),
               "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "api-secret"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let result = &body["AuthenticationResult"];
    for field in ["IdToken", "AccessToken", "RefreshToken"] {
        assert!(
            result[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field}"
        );
    }
    assert_eq!(result["ExpiresIn"], 3600);
    assert_eq!(result["TokenType"], "Bearer");
    // The id token is JWT-shaped, like Cognito's.
    assert_eq!(result["IdToken"].as_str().unwrap().split('.').count(), 3);

    let response = http
        .get(format!("{}file/upload/signed-url?contentLength=0&sha256=47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D", standin.base_url()))
        .header("Authorization", format!("token {}", result["IdToken"].as_str().unwrap()))
        .header("Raito-Domain", "demo")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_is_a_not_authorized_exception() {
    let standin = standin(config()).await;
    let (status, body) = cognito(
        &reqwest::Client::new(),
        &standin,
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": standin.client_app_id(),
               "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "wrong"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "NotAuthorizedException");
    assert_eq!(body["message"], "Incorrect username or password.");
    assert_eq!(body["x-amzn-ErrorType"], "NotAuthorizedException");
}

#[tokio::test]
async fn an_unknown_client_id_is_a_resource_not_found_exception() {
    let standin = standin(config()).await;
    let (status, body) = cognito(
        &reqwest::Client::new(),
        &standin,
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nope",
               "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "api-secret"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "ResourceNotFoundException");
}

#[tokio::test]
async fn a_refresh_gives_a_new_id_token_but_no_new_refresh_token() {
    let standin = standin(config()).await;
    let http = reqwest::Client::new();
    let (_, login) = cognito(
        &http,
        &standin,
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": standin.client_app_id(),
               "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "api-secret"}}),
    )
    .await;
    let refresh_token = login["AuthenticationResult"]["RefreshToken"].clone();
    let (status, refreshed) = cognito(
        &http,
        &standin,
        json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": standin.client_app_id(),
               "AuthParameters": {"REFRESH_TOKEN": refresh_token}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let result = &refreshed["AuthenticationResult"];
    assert!(result["IdToken"].is_string());
    assert_ne!(result["IdToken"], login["AuthenticationResult"]["IdToken"]);
    assert!(result.get("RefreshToken").is_none());

    let (status, body) = cognito(
        &http,
        &standin,
        json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": standin.client_app_id(),
               "AuthParameters": {"REFRESH_TOKEN": "made-up"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "NotAuthorizedException");
}

#[tokio::test]
async fn an_id_token_stops_working_when_its_lifetime_is_over() {
    // An hour, gone by on the stand-in's clock: no real time to wait, none to run out.
    let harness = Harness::with(Config {
        token_lifetime: Duration::from_secs(3600),
        ..config()
    })
    .await;
    let signed_url = "file/upload/signed-url?contentLength=0&sha256=47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D";
    assert_eq!(harness.get(signed_url).await.0, StatusCode::OK);
    harness.standin.advance_clock(Duration::from_secs(1800));
    assert_eq!(
        harness.get(signed_url).await.0,
        StatusCode::OK,
        "half of it left"
    );
    harness.standin.advance_clock(Duration::from_secs(1800));
    assert_eq!(harness.get(signed_url).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_calls_without_a_valid_token_or_with_another_domain_get_401() {
    let harness = Harness::new().await;
    let query = r#"{"query":"query ($id:ID!){dataSource(id: $id){... on DataSource{id}}}","variables":{"id":"ds-1"}}"#;
    let post = |auth: Option<String>, domain: &'static str| {
        let mut request = harness
            .http
            .post(harness.url("query"))
            .header("Content-Type", "application/json")
            .header("Raito-Domain", domain)
            .body(query);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request.send()
    };
    let token = harness.token.clone();
    assert_eq!(
        post(None, "demo").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(Some("token made-up".into()), "demo")
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(Some(format!("Bearer {token}")), "demo")
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(Some(format!("token {token}")), "other")
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(Some(format!("token {token}")), "demo")
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
