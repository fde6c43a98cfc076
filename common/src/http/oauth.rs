//! OAuth 2.0 client credentials (RFC 6749 §4.4) for the REST connectors: the client proves who
//! it is with a secret or with a signed JWT assertion (RFC 7523, `private_key_jwt`), and the
//! access token is kept until shortly before it expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::connector;

/// How the client authenticates to the token endpoint.
pub enum ClientAuth {
    /// `client_secret` in the form.
    Secret(SecretString),
    /// A JWT signed with the client's private key (`client_assertion`).
    Assertion {
        /// The private key.
        key: EncodingKey,
        /// RS256 (Okta) or PS256 (Microsoft's current certificate credentials).
        algorithm: Algorithm,
        /// `kid`: which of the client's keys signed it (Okta), if set.
        key_id: Option<String>,
        /// `x5t#S256`: the base64url SHA-256 thumbprint of the certificate (Microsoft).
        thumbprint_sha256: Option<String>,
        /// How long the assertion is valid (at most 1 hour for Okta; 10 minutes is plenty).
        lifetime: Duration,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientAuth::Secret(_) => "ClientAuth::Secret(..)",
            ClientAuth::Assertion { .. } => "ClientAuth::Assertion(..)",
        })
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token endpoint could not be reached.
    #[error("requesting a token from {url}: {source}")]
    Network {
        /// The token endpoint.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint refused (e.g. `invalid_client`); the description says why.
    #[error("the token endpoint {url} refused: HTTP {status} {error}: {description}")]
    Refused {
        /// The token endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth error code.
        error: String,
        /// The server's explanation (e.g. `AADSTS7000215: Invalid client secret provided`).
        description: String,
    },
    /// The assertion could not be signed.
    #[error("signing the client assertion: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

impl Error {
    /// As a connector error: an unreachable token endpoint is [`connector::Error::Connect`];
    /// anything else is [`connector::Error::PermissionDenied`] while getting a token, with
    /// `check` saying what to check (the parameters, the grants).
    pub fn into_connector(self, connector: &'static str, check: &str) -> connector::Error {
        match self {
            Error::Network { ref url, .. } => connector::Error::Connect {
                connector,
                endpoint: url.clone(),
                source: Box::new(self),
            },
            other => connector::Error::PermissionDenied {
                connector,
                operation: format!("getting an access token ({check})"),
                source: Box::new(other),
            },
        }
    }
}

/// A token endpoint and the credentials for it, with the current token cached.
#[derive(Debug)]
pub struct TokenSource {
    /// The token endpoint.
    pub token_url: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The scopes asked for (space-separated).
    pub scope: String,
    /// How the client authenticates.
    pub auth: ClientAuth,
    cached: Mutex<Option<(SecretString, Instant)>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

impl TokenSource {
    /// A source for `client_id` at `token_url`, asking for `scope`.
    pub fn new(token_url: String, client_id: String, scope: String, auth: ClientAuth) -> Self {
        Self {
            token_url,
            client_id,
            scope,
            auth,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub async fn token(&self, http: &reqwest::Client) -> Result<SecretString, Error> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() + RENEW_BEFORE < *expires
        {
            return Ok(token.clone());
        }
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", self.scope.clone()),
            ("client_id", self.client_id.clone()),
        ];
        match &self.auth {
            ClientAuth::Secret(secret) => {
                form.push(("client_secret", secret.expose_secret().to_owned()));
            }
            ClientAuth::Assertion { .. } => {
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push(("client_assertion", self.assertion()?));
            }
        }
        let response = http
            .post(&self.token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|source| Error::Network {
                url: self.token_url.clone(),
                source,
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|source| Error::Network {
            url: self.token_url.clone(),
            source,
        })?;
        if !status.is_success() {
            let answer: ErrorAnswer = serde_json::from_slice(&body).unwrap_or_default();
            return Err(Error::Refused {
                url: self.token_url.clone(),
                status: status.as_u16(),
                error: answer.error,
                description: answer.error_description,
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| Error::Refused {
            url: self.token_url.clone(),
            status: status.as_u16(),
            error: "invalid_response".to_owned(),
            description: format!("the answer has no access_token: {e}"),
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let token = SecretString::from(answer.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        tracing::debug!(expires_in = lifetime.as_secs(), "access token obtained");
        Ok(token)
    }

    /// A valid `Authorization: Bearer …` header for the current token, marked sensitive.
    pub async fn authorization(&self, http: &reqwest::Client) -> Result<HeaderValue, Error> {
        let token = self.token(http).await?;
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| Error::Refused {
                url: self.token_url.clone(),
                status: 200,
                error: "invalid_token".to_owned(),
                description: "the access token is not a valid header value".to_owned(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// The signed client assertion: `iss` = `sub` = the client id, `aud` = the token URL.
    fn assertion(&self) -> Result<String, Error> {
        let ClientAuth::Assertion {
            key,
            algorithm,
            key_id,
            thumbprint_sha256,
            lifetime,
        } = &self.auth
        else {
            return Ok(String::new());
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut header = Header::new(*algorithm);
        header.kid = key_id.clone();
        header.x5t_s256 = thumbprint_sha256.clone();
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: &self.token_url,
            iat: now.as_secs(),
            nbf: now.as_secs(),
            exp: (now + *lifetime).as_secs(),
            jti: format!("{:032x}", random_u128()),
        };
        Ok(jsonwebtoken::encode(&header, &claims, key)?)
    }
}

/// A unique id for `jti`: time and a process-wide counter, hashed (uniqueness, not secrecy).
fn random_u128() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let count = u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&(nanos, count, std::process::id()), &mut hasher);
    (u128::from(std::hash::Hasher::finish(&hasher)) << 64) | count
}
