//! Signing in to Raito: the organisation lookup (`GET admin/org/<domain>` → Cognito app client
//! id), Cognito `InitiateAuth` (password login, then refresh-token logins), and the cache of
//! the ID token that every API call sends as `Authorization: token <IdToken>`.

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
use aws_sdk_cognitoidentityprovider::config::timeout::TimeoutConfig;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Region};
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::{
    InitiateAuthError, InitiateAuthOutput,
};
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::{COGNITO_REGION, ClientConfig, org_domain};
use super::error::{Error, excerpt};

const ORG_LOOKUP: &str = "org lookup";
const INITIATE_AUTH: &str = "Cognito InitiateAuth";

/// The sign-in state of one API user: the organisation's app client id (looked up once) and
/// the current tokens. Behind an async mutex so that concurrent calls sign in only once.
pub(crate) struct Auth {
    cognito: aws_sdk_cognitoidentityprovider::Client,
    org_url: Url,
    domain: String,
    api_user: String,
    api_secret: SecretString,
    margin: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    client_app_id: Option<String>,
    tokens: Option<Tokens>,
}

struct Tokens {
    id: SecretString,
    refresh: Option<SecretString>,
    expires_at: Instant,
}

impl Auth {
    /// Builds the Cognito client; no I/O. `base` is the validated base URL.
    pub(crate) fn new(config: &ClientConfig, base: &Url) -> Result<Self, Error> {
        let mut cognito = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(COGNITO_REGION))
            // Retries are ours (`RetryPolicy`), the same for every request.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(config.request_timeout)
                    .build(),
            );
        // No credentials provider: InitiateAuth is an unsigned ("no auth") operation of the
        // Cognito API, so the client must work on a machine without AWS credentials.
        if let Some(endpoint) = &config.cognito_endpoint {
            cognito = cognito.endpoint_url(endpoint);
        }
        // Lower-cased, as the Go CLI does (`internal/auth/auth.go`, `fetchClientAppId`); the
        // `Raito-Domain` header keeps the domain as configured.
        let org_url = base
            .join("admin/org/")
            .and_then(|url| url.join(&org_domain(&config.domain)))
            .map_err(|e| Error::InvalidConfig {
                field: "base_url",
                reason: e.to_string(),
            })?;
        Ok(Auth {
            cognito: aws_sdk_cognitoidentityprovider::Client::from_conf(cognito.build()),
            org_url,
            domain: config.domain.clone(),
            api_user: config.api_user.clone(),
            api_secret: config.api_secret.clone(),
            margin: config.token_refresh_margin,
            state: Mutex::new(State::default()),
        })
    }

    /// A valid ID token: the cached one, else one from a refresh-token login, else (no refresh
    /// token, or the refresh failed) one from a password login.
    pub(crate) async fn id_token(&self, http: &reqwest::Client) -> Result<SecretString, Error> {
        let mut state = self.state.lock().await;
        if let Some(tokens) = &state.tokens
            && Instant::now() + self.margin < tokens.expires_at
        {
            return Ok(tokens.id.clone());
        }
        let client_app_id = match &state.client_app_id {
            Some(id) => id.clone(),
            None => {
                let id = self.lookup_client_app_id(http).await?;
                state.client_app_id = Some(id.clone());
                id
            }
        };

        if let Some(refresh) = state.tokens.as_ref().and_then(|t| t.refresh.clone()) {
            match self.refresh(&client_app_id, &refresh).await {
                Ok(mut tokens) => {
                    // A refresh answer normally has no new refresh token: keep the old one.
                    tokens.refresh = tokens.refresh.or(Some(refresh));
                    let id = tokens.id.clone();
                    state.tokens = Some(tokens);
                    return Ok(id);
                }
                Err(error) => {
                    tracing::warn!(
                        api_user = %self.api_user,
                        error = %error,
                        "refreshing the Raito ID token failed; signing in with the API secret"
                    );
                    state.tokens = None;
                }
            }
        }
        let tokens = self.password_login(&client_app_id).await?;
        let id = tokens.id.clone();
        state.tokens = Some(tokens);
        Ok(id)
    }

    /// Forgets the tokens (after Raito answered 401), so that the next call signs in again.
    pub(crate) async fn invalidate(&self) {
        self.state.lock().await.tokens = None;
    }

    async fn lookup_client_app_id(&self, http: &reqwest::Client) -> Result<String, Error> {
        // A plain GET: no Raito headers and no token, as in the Raito CLI.
        tracing::debug!(domain = %self.domain, "looking up the Raito organisation");
        let response = http
            .get(self.org_url.clone())
            .send()
            .await
            .map_err(|e| before_send(ORG_LOOKUP, e))?;
        let status = response.status();
        let retry_after = super::retry::retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| before_send(ORG_LOOKUP, e))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(self.authentication(format!(
                "Raito knows no organisation with this domain (HTTP 404 from {})",
                self.org_url
            )));
        }
        if status != reqwest::StatusCode::OK {
            return Err(Error::Http {
                operation: ORG_LOOKUP,
                status: status.as_u16(),
                body: excerpt(&body),
                retry_after,
            });
        }
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Error::Decode {
                operation: ORG_LOOKUP,
                message: e.to_string(),
            })?;
        // The Go CLI matches JSON keys case-insensitively: do the same.
        value
            .as_object()
            .and_then(|object| {
                object
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case("ClientAppId"))
            })
            .and_then(|(_, id)| id.as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Error::Decode {
                operation: ORG_LOOKUP,
                message: "no ClientAppId in the organisation".to_owned(),
            })
    }

    async fn password_login(&self, client_app_id: &str) -> Result<Tokens, Error> {
        tracing::debug!(api_user = %self.api_user, "signing in to Raito (USER_PASSWORD_AUTH)");
        let started = Instant::now();
        let output = self
            .cognito
            .initiate_auth()
            .client_id(client_app_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &self.api_user)
            .auth_parameters("PASSWORD", self.api_secret.expose_secret())
            .send()
            .await
            .map_err(|e| self.cognito_error(e))?;
        self.tokens(output, started)
    }

    async fn refresh(&self, client_app_id: &str, refresh: &SecretString) -> Result<Tokens, Error> {
        tracing::debug!(api_user = %self.api_user, "refreshing the Raito ID token (REFRESH_TOKEN_AUTH)");
        let started = Instant::now();
        let output = self
            .cognito
            .initiate_auth()
            .client_id(client_app_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh.expose_secret())
            .send()
            .await
            .map_err(|e| self.cognito_error(e))?;
        self.tokens(output, started)
    }

    fn tokens(&self, output: InitiateAuthOutput, started: Instant) -> Result<Tokens, Error> {
        let Some(result) = output.authentication_result else {
            let challenge = output
                .challenge_name
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "none".to_owned());
            return Err(self.authentication(format!(
                "Cognito asked for the challenge {challenge} instead of signing in; \
                 an API user must be able to sign in with its password alone"
            )));
        };
        let Some(id) = result.id_token.filter(|t| !t.is_empty()) else {
            return Err(Error::Decode {
                operation: INITIATE_AUTH,
                message: "the authentication result has no IdToken".to_owned(),
            });
        };
        let lifetime = Duration::from_secs(u64::try_from(result.expires_in).unwrap_or(0));
        Ok(Tokens {
            id: SecretString::from(id),
            refresh: result
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            expires_at: started + lifetime,
        })
    }

    fn authentication(&self, reason: String) -> Error {
        Error::Authentication {
            api_user: self.api_user.clone(),
            domain: self.domain.clone(),
            reason,
        }
    }

    fn cognito_error(&self, error: SdkError<InitiateAuthError>) -> Error {
        match error {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let error = service.into_err();
                let code = error.code().unwrap_or("unknown error").to_owned();
                let message = error.message().unwrap_or_default().to_owned();
                match code.as_str() {
                    "NotAuthorizedException"
                    | "UserNotFoundException"
                    | "PasswordResetRequiredException"
                    | "UserNotConfirmedException" => self.authentication(format!(
                        "wrong api-secret, or unknown or disabled api-user ({code}: {message})"
                    )),
                    "ResourceNotFoundException" => self.authentication(format!(
                        "Cognito does not know the organisation's app client ({code}: {message})"
                    )),
                    "TooManyRequestsException" | "LimitExceededException" => Error::Http {
                        operation: INITIATE_AUTH,
                        status: 429,
                        body: format!("{code}: {message}"),
                        retry_after: None,
                    },
                    _ => Error::Http {
                        operation: INITIATE_AUTH,
                        status,
                        body: format!("{code}: {message}"),
                        retry_after: None,
                    },
                }
            }
            SdkError::ConstructionFailure(_) => Error::InvalidConfig {
                field: "cognito_endpoint",
                reason: DisplayErrorContext(&error).to_string(),
            },
            SdkError::ResponseError(_) => Error::Decode {
                operation: INITIATE_AUTH,
                message: DisplayErrorContext(&error).to_string(),
            },
            // Dispatch failures and timeouts: the API call itself was not sent yet.
            _ => Error::Network {
                operation: INITIATE_AUTH,
                maybe_sent: false,
                source: DisplayErrorContext(&error).to_string().into(),
            },
        }
    }
}

/// A network error while signing in: the API call that needed the token was not sent.
fn before_send(operation: &'static str, error: reqwest::Error) -> Error {
    Error::Network {
        operation,
        maybe_sent: false,
        source: Box::new(error.without_url()),
    }
}
