//! Microsoft Graph on the wire: an app-only access token (client credentials with a secret or
//! a certificate), paged `GET`s that follow `@odata.nextLink`, and Graph's error bodies
//! (`error.code`) and the identity platform's (`AADSTS…`) turned into connector errors by
//! meaning. Rate limits and retries (429/503 with `Retry-After`) are [`crate::http`]'s.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::NAME;
use super::config::{Config, Credential};
use crate::connector::Error;
use crate::http;
use crate::http::oauth::{ClientAuth, TokenSource};

/// An authenticated client for one tenant.
pub struct Client {
    graph_url: String,
    http: http::Client,
    tokens: TokenSource,
}

/// One page of a Graph collection.
#[derive(Deserialize)]
pub struct Page<T> {
    /// The items.
    pub value: Vec<T>,
    /// The next page, absolute; absent on the last.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

#[derive(Deserialize, Default)]
struct GraphError {
    #[serde(default)]
    error: GraphErrorBody,
}

#[derive(Deserialize, Default)]
struct GraphErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl Client {
    /// A client for the tenant of `config`; sends nothing yet.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let invalid = |message: String| Error::InvalidRequest {
            connector: NAME,
            message,
        };
        let auth = match &config.credential {
            Credential::Secret(secret) => ClientAuth::Secret(secret.clone()),
            Credential::Certificate {
                certificate,
                private_key,
            } => ClientAuth::Assertion {
                key: EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).map_err(
                    |e| {
                        invalid(format!(
                            "entra-private-key is not an RSA private key in PEM: {e}"
                        ))
                    },
                )?,
                algorithm: Algorithm::PS256,
                key_id: None,
                thumbprint_sha256: Some(thumbprint(certificate).ok_or_else(|| {
                    invalid("entra-certificate is not a PEM certificate".to_owned())
                })?),
                lifetime: std::time::Duration::from_secs(600),
            },
        };
        let http = http::Client::new(http::RetryPolicy::default()).map_err(|e| Error::Connect {
            connector: NAME,
            endpoint: config.graph_url.clone(),
            source: Box::new(e),
        })?;
        Ok(Self {
            graph_url: config.graph_url.clone(),
            http,
            tokens: TokenSource::new(
                format!(
                    "{}/{}/oauth2/v2.0/token",
                    config.login_url, config.tenant_id
                ),
                config.client_id.clone(),
                graph_scope(&config.graph_url),
                auth,
            ),
        })
    }

    /// The URL of a Graph path (e.g. `/users?$top=999`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.graph_url)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    /// One page at `url`.
    pub async fn page<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<Page<T>, Error> {
        let authorization = self
            .tokens
            .authorization(self.http.http())
            .await
            .map_err(|e| {
                e.into_connector(
                    NAME,
                    "check entra-tenant-id, entra-client-id and entra-client-secret or entra-certificate/entra-private-key",
                )
            })?;
        let response = self
            .http
            .get(url, &authorization, &[])
            .await
            .map_err(|e| self.error(what, e))?;
        serde_json::from_slice(&response.body).map_err(|e| Error::Operation {
            connector: NAME,
            operation: what.to_owned(),
            source: format!("unexpected answer: {e}").into(),
        })
    }

    fn error(&self, what: &str, error: http::Error) -> Error {
        match error {
            http::Error::Network(source) => Error::Connect {
                connector: NAME,
                endpoint: self.graph_url.clone(),
                source: Box::new(source),
            },
            http::Error::Status { status, body, .. } => {
                let graph: GraphError = serde_json::from_str(&body).unwrap_or_default();
                let detail = format!(
                    "HTTP {} {}: {}",
                    status.as_u16(),
                    graph.error.code,
                    graph.error.message
                );
                match graph.error.code.as_str() {
                    "InvalidAuthenticationToken" | "Authorization_RequestDenied" => {
                        Error::PermissionDenied {
                            connector: NAME,
                            operation: format!(
                                "{what}: the app may not read this (grant the application permissions User.Read.All and GroupMember.Read.All, with admin consent)"
                            ),
                            source: detail.into(),
                        }
                    }
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

/// `x5t#S256` of a PEM certificate: the base64url SHA-256 of its DER bytes.
fn thumbprint(certificate: &str) -> Option<String> {
    let body: String = certificate
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END CERTIFICATE-----"))
        .map(str::trim)
        .collect();
    let der = STANDARD.decode(body).ok().filter(|der| !der.is_empty())?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
}

/// The token scope of the Graph at `graph_url`: its origin and `/.default`
/// (`https://graph.microsoft.us/.default` for US Government, `https://microsoftgraph.chinacloudapi.cn/.default`
/// for China): a token for the global Graph is refused by a national cloud's.
fn graph_scope(graph_url: &str) -> String {
    let origin = match graph_url.find("://") {
        Some(scheme) => {
            let rest = &graph_url[scheme + 3..];
            let host_end = rest.find('/').map_or(graph_url.len(), |i| scheme + 3 + i);
            &graph_url[..host_end]
        }
        None => graph_url.trim_end_matches('/'),
    };
    format!("{origin}/.default")
}

#[cfg(test)]
mod scope_tests {
    use super::graph_scope;

    #[test]
    fn the_scope_follows_the_graph_host() {
        assert_eq!(
            graph_scope("https://graph.microsoft.com/v1.0"),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            graph_scope("https://graph.microsoft.us/v1.0"),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            graph_scope("https://microsoftgraph.chinacloudapi.cn/v1.0/"),
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
        assert_eq!(
            graph_scope("http://127.0.0.1:8080/v1.0"),
            "http://127.0.0.1:8080/.default"
        );
    }
}
