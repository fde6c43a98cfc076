//! The Okta Management API on the wire: authentication (API token or service-app access
//! token), paged `GET`s that follow `Link: <…>; rel="next"`, and Okta's error bodies
//! (`errorCode`, `errorSummary`) turned into connector errors by meaning. Rate limits and
//! retries are [`crate::http`]'s.

use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::NAME;
use super::config::{Auth, Config};
use crate::connector::Error;
use crate::http::oauth::{ClientAuth, TokenSource};
use crate::http::{self, paging};

/// An authenticated client for one org.
pub struct Client {
    base_url: String,
    http: http::Client,
    credentials: Credentials,
}

enum Credentials {
    Token(HeaderValue),
    ServiceApp(Box<TokenSource>),
}

/// Okta's error body.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OktaError {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    error_summary: String,
}

impl Client {
    /// A client for the org of `config`; sends nothing yet.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let http = http::Client::new(http::RetryPolicy::default()).map_err(|e| Error::Connect {
            connector: NAME,
            endpoint: config.base_url.clone(),
            source: Box::new(e),
        })?;
        let credentials = match &config.auth {
            Auth::Token(token) => {
                let mut value = HeaderValue::from_str(&format!("SSWS {}", token.expose_secret()))
                    .map_err(|_| Error::InvalidRequest {
                    connector: NAME,
                    message: "okta-token contains characters a header cannot carry".into(),
                })?;
                value.set_sensitive(true);
                Credentials::Token(value)
            }
            Auth::ServiceApp {
                client_id,
                private_key,
                key_id,
            } => {
                let key = EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
                    .map_err(|e| Error::InvalidRequest {
                        connector: NAME,
                        message: format!("okta-private-key is not an RSA private key in PEM: {e}"),
                    })?;
                Credentials::ServiceApp(Box::new(TokenSource::new(
                    format!("{}/oauth2/v1/token", config.base_url),
                    client_id.clone(),
                    "okta.users.read okta.groups.read".to_owned(),
                    ClientAuth::Assertion {
                        key,
                        algorithm: Algorithm::RS256,
                        key_id: key_id.clone(),
                        thumbprint_sha256: None,
                        lifetime: std::time::Duration::from_secs(300),
                    },
                )))
            }
        };
        Ok(Self {
            base_url: config.base_url.clone(),
            http,
            credentials,
        })
    }

    /// The URL of an API path (e.g. `/api/v1/users?limit=200`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    /// Time spent waiting for rate limits so far.
    pub fn waited(&self) -> std::time::Duration {
        self.http.waited()
    }

    /// One page at `url`: its items and the next page's URL.
    pub async fn page<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<(Vec<T>, Option<String>), Error> {
        let authorization = self.authorization().await?;
        let response = self
            .http
            .get(url, &authorization, &[])
            .await
            .map_err(|e| self.error(what, e))?;
        let items = serde_json::from_slice(&response.body).map_err(|e| Error::Operation {
            connector: NAME,
            operation: what.to_owned(),
            source: format!("unexpected answer: {e}").into(),
        })?;
        Ok((items, paging::next_link(&response.headers)))
    }

    async fn authorization(&self) -> Result<HeaderValue, Error> {
        match &self.credentials {
            Credentials::Token(value) => Ok(value.clone()),
            Credentials::ServiceApp(source) => {
                source.authorization(self.http.http()).await.map_err(|e| {
                    e.into_connector(
                        NAME,
                        "check okta-client-id, okta-private-key and the app's public key and granted scopes okta.users.read, okta.groups.read",
                    )
                })
            }
        }
    }

    fn error(&self, what: &str, error: http::Error) -> Error {
        match error {
            http::Error::Network(source) => Error::Connect {
                connector: NAME,
                endpoint: self.base_url.clone(),
                source: Box::new(source),
            },
            http::Error::Status { status, body, .. } => {
                let okta: OktaError = serde_json::from_str(&body).unwrap_or_default();
                let detail = format!(
                    "HTTP {} {}: {}",
                    status.as_u16(),
                    okta.error_code,
                    okta.error_summary
                );
                match okta.error_code.as_str() {
                    "E0000011" => Error::PermissionDenied {
                        connector: NAME,
                        operation: format!(
                            "{what}: the credentials were refused (check okta-token, or the service app)"
                        ),
                        source: detail.into(),
                    },
                    "E0000006" => Error::PermissionDenied {
                        connector: NAME,
                        operation: format!(
                            "{what}: not allowed (the token's admin role or the app's scopes okta.users.read, okta.groups.read)"
                        ),
                        source: detail.into(),
                    },
                    _ => Error::Operation {
                        connector: NAME,
                        operation: what.to_owned(),
                        source: detail.into(),
                    },
                }
            }
        }
    }
}
