//! The Raito API client: one HTTP connection pool, the sign-in state, and the one way every
//! API call is sent (Raito headers, token, timeout, retries, status checks, tracing). The
//! operations themselves live in `graphql.rs`, `jobs.rs`, `metadata.rs` and `upload.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderValue, USER_AGENT};
use reqwest::{RequestBuilder, StatusCode, Url};
use secrecy::ExposeSecret;
use tracing::Instrument;

use super::auth::Auth;
use super::config::ClientConfig;
use super::error::{Error, Idempotency, excerpt};
use super::retry::retry_after;

/// A client of one Raito organisation, signed in as one API user. Cheap to clone (it is an
/// `Arc`): build it once and share it, so the token and the connections are reused.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    base: Url,
    http: reqwest::Client,
    auth: Auth,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("raito::Client")
            .field("base_url", &self.inner.base.as_str())
            .field("domain", &self.inner.config.domain)
            .field("api_user", &self.inner.config.api_user)
            .finish_non_exhaustive()
    }
}

/// What a successful API call answered.
pub(crate) struct Answer {
    pub(crate) body: Bytes,
}

impl Client {
    /// Validates `config` and builds the client. No request is sent until the first call.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let base = config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::InvalidConfig {
                field: "http client",
                reason: e.to_string(),
            })?;
        let auth = Auth::new(&config, &base)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                base,
                http,
                auth,
            }),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The base URL, with its trailing `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The HTTP client, with no credentials attached: for plain downloads such as the
    /// presigned location of an access export.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// A valid ID token (signing in first if needed), for a request not sent by
    /// [`Client::send`]: the websocket handshake of the trigger channel.
    pub(crate) async fn id_token(&self) -> Result<secrecy::SecretString, Error> {
        self.inner.auth.id_token(&self.inner.http).await
    }

    /// `path` (relative, no leading `/`) after the base URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.inner
            .base
            .join(path)
            .map_err(|e| Error::InvalidConfig {
                field: "base_url",
                reason: e.to_string(),
            })
    }

    /// Sends an authenticated Raito API call built by `build`, with retries. Each attempt
    /// gets a valid token and the Raito headers. A status of 300 or more is an error; for a
    /// GraphQL call, a 4xx answer carrying GraphQL `errors` becomes [`Error::GraphQl`].
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        graphql: bool,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Answer, Error> {
        let span = tracing::debug_span!("raito_call", operation);
        let config = &self.inner.config;
        config
            .retry
            .run(operation, idempotency, |attempt| {
                let request = build(&self.inner.http);
                async move {
                    let token = self.inner.auth.id_token(&self.inner.http).await?;
                    let mut authorization =
                        HeaderValue::from_str(&format!("token {}", token.expose_secret()))
                            .map_err(|_| Error::Decode {
                                operation,
                                message: "the ID token is not a valid header value".to_owned(),
                            })?;
                    authorization.set_sensitive(true);
                    let response = request
                        .header(USER_AGENT, config.user_agent.as_str())
                        .header("Raito-Domain", config.domain.as_str())
                        .header(AUTHORIZATION, authorization)
                        .timeout(config.request_timeout)
                        .send()
                        .await
                        .map_err(|e| Error::network(operation, e))?;
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| Error::network(operation, e))?;
                    tracing::debug!(attempt, status = status.as_u16(), "Raito answered");
                    if status == StatusCode::UNAUTHORIZED {
                        // The token was refused after all (revoked, clock skew): sign in
                        // afresh on the next call.
                        self.inner.auth.invalidate().await;
                    }
                    check_status(operation, graphql, status, retry_after, body)
                }
            })
            .instrument(span)
            .await
    }
}

fn check_status(
    operation: &'static str,
    graphql: bool,
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Bytes,
) -> Result<Answer, Error> {
    if status.as_u16() < 300 {
        return Ok(Answer { body });
    }
    if graphql && status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        // gqlgen answers 422 (or 400) to a document that does not validate.
        if let Some(messages) = super::error::error_messages(&body) {
            return Err(Error::GraphQl {
                operation,
                messages,
            });
        }
    }
    Err(Error::Http {
        operation,
        status: status.as_u16(),
        body: excerpt(&body),
        retry_after,
    })
}
