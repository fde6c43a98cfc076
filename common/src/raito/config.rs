//! What the Raito client needs to know: where Raito is, the organisation (domain), the API
//! user and secret, and how patient to be. Validated by [`ClientConfig::validate`] before any
//! request is sent.

use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use super::error::Error;
use super::retry::RetryPolicy;

/// The Raito Cloud API of production.
pub const DEFAULT_BASE_URL: &str = "https://api.raito.cloud/";

/// The AWS region of Raito's Cognito user pool (fixed, as in the Raito CLI).
pub const COGNITO_REGION: &str = "eu-central-1";

/// The default `User-Agent`: what sends the calls and its version. The Go CLI sends
/// `Raito CLI v<semver> (<date>)` (`internal/util/connect/connect.go`, `AddHeaders`); this is
/// not the Go CLI, so it does not claim that name.
pub(crate) const DEFAULT_USER_AGENT: &str = concat!(
    "raito-sync/",
    env!("CARGO_PKG_VERSION"),
    " (Raito CLI compatible)"
);

/// How to reach and sign in to Raito Cloud.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API's base URL; default [`DEFAULT_BASE_URL`] (the CLI's `raito-url-override`). A
    /// trailing `/` is added when missing; paths such as `query` go after it.
    pub base_url: String,
    /// The organisation's domain, e.g. `acme`: once lower-cased, letters, digits and `-`,
    /// starting with a letter and not ending with `-`. As in the Go CLI, the organisation
    /// lookup (`GET admin/org/<domain>`) uses it lower-cased and the `Raito-Domain` header
    /// carries it as written, so `Acme` is accepted.
    pub domain: String,
    /// The API user (an e-mail address or user name), sent to Cognito as `USERNAME`.
    pub api_user: String,
    /// The API user's secret (its Cognito password). Never logged.
    pub api_secret: SecretString,
    /// The Cognito endpoint, e.g. `http://127.0.0.1:9229` for a stand-in; default `None`: the
    /// real endpoint of [`COGNITO_REGION`].
    pub cognito_endpoint: Option<String>,
    /// The `User-Agent` of every Raito API call; default
    /// `raito-sync/<crate version> (Raito CLI compatible)`.
    pub user_agent: String,
    /// Retries of failed requests; see [`RetryPolicy`].
    pub retry: RetryPolicy,
    /// The ID token is refreshed when less than this is left before it expires; default 10 s.
    pub token_refresh_margin: Duration,
    /// The longest a single API call (one attempt) may take; default 60 s.
    pub request_timeout: Duration,
    /// The longest a single file upload (one attempt) may take; default 10 minutes.
    pub upload_timeout: Duration,
}

impl ClientConfig {
    /// A configuration with every optional setting at its default.
    pub fn new(
        domain: impl Into<String>,
        api_user: impl Into<String>,
        api_secret: SecretString,
    ) -> Self {
        ClientConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            domain: domain.into(),
            api_user: api_user.into(),
            api_secret,
            cognito_endpoint: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            retry: RetryPolicy::default(),
            token_refresh_margin: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(600),
        }
    }

    /// Whether a client of `other` signs in to the same organisation as the same user (so one
    /// client serves both).
    pub fn same_sign_in(&self, other: &ClientConfig) -> bool {
        self.base_url == other.base_url
            && self.domain == other.domain
            && self.api_user == other.api_user
    }

    /// Checks every setting and returns the base URL, with its trailing `/`.
    pub fn validate(&self) -> Result<Url, Error> {
        validate_domain(&self.domain)?;
        if self.api_user.trim().is_empty() {
            return Err(invalid("api_user", "is empty"));
        }
        if self.retry.max_attempts == 0 {
            return Err(invalid("retry.max_attempts", "must be at least 1"));
        }
        if let Some(endpoint) = &self.cognito_endpoint {
            parse_http_url("cognito_endpoint", endpoint)?;
        }
        reqwest::header::HeaderValue::from_str(&self.user_agent)
            .map_err(|_| invalid("user_agent", "is not a valid HTTP header value"))?;
        let mut base = self.base_url.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        parse_http_url("base_url", &base)
    }
}

/// Checks a domain, lower-cased, against `^[a-z][a-z0-9-]*[a-z0-9]$`, as the Raito CLI does
/// before its organisation lookup (`internal/auth/auth.go`, `fetchClientAppId`): `Acme` is
/// accepted, `ac_me` is not.
pub fn validate_domain(domain: &str) -> Result<(), Error> {
    let lower = org_domain(domain);
    let bytes = lower.as_bytes();
    let valid = bytes.len() >= 2
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "domain",
            format!(
                "\"{domain}\" is not a Raito domain: use letters, digits and '-', starting \
                 with a letter and ending with a letter or digit"
            ),
        ))
    }
}

/// The domain as the organisation lookup takes it: lower-cased (Go's `strings.ToLower`, which
/// is Unicode-aware, like [`str::to_lowercase`]).
pub(crate) fn org_domain(domain: &str) -> String {
    domain.to_lowercase()
}

fn parse_http_url(field: &'static str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| invalid(field, format!("\"{text}\": {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(field, format!("\"{text}\" is not an http(s) URL")));
    }
    Ok(url)
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        field,
        reason: reason.into(),
    }
}
