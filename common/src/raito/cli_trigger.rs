//! Raito's trigger channel as the Go CLI finds it: the GraphQL query `cliTriggerUrl`
//! (raito-io/cli `internal/clitrigger/factory.go`, `createWebsocketTrigger`: the operation
//! `CliTriggerWebSocket`, fragments on `CliTriggerUrl { url }` and `PermissionDeniedError { err:
//! message }`) and the header the websocket is dialled with (`internal/clitrigger/
//! websocket_trigger.go`, `Start`: `auth.AddTokenToHeader`, i.e. `Authorization: token
//! <IdToken>`, as every other request).

use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;

use super::client::Client;
use super::error::{Error, Idempotency};
use super::graphql::{CliTriggerWebSocket, cli_trigger_web_socket};

/// What `cliTriggerUrl` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerChannel {
    /// The websocket to dial (`wss://...`).
    Url(String),
    /// No channel: the answer's `url` is empty, or null (factory.go: an empty URL means no
    /// websocket, and the CLI listens to nothing).
    None,
    /// `PermissionDeniedError`: the API user may not listen; its message.
    Denied(String),
}

impl Client {
    /// Asks Raito where its trigger channel is.
    pub async fn cli_trigger_url(&self) -> Result<TriggerChannel, Error> {
        const OPERATION: &str = "cliTriggerUrl";
        let data = self
            .graphql::<CliTriggerWebSocket>(
                OPERATION,
                Idempotency::Idempotent,
                cli_trigger_web_socket::Variables,
            )
            .await?;
        use cli_trigger_web_socket::CliTriggerWebSocketCliTriggerUrl as Answer;
        Ok(match data.cli_trigger_url {
            Some(Answer::CliTriggerUrl(answer)) if !answer.url.is_empty() => {
                TriggerChannel::Url(answer.url)
            }
            Some(Answer::CliTriggerUrl(_)) | None => TriggerChannel::None,
            Some(Answer::PermissionDeniedError(denied)) => TriggerChannel::Denied(denied.err),
        })
    }

    /// The `Authorization` header of the websocket handshake, `token <IdToken>` with a valid
    /// token (signing in first if needed), marked sensitive so that no debug output shows it.
    pub async fn authorization(&self) -> Result<HeaderValue, Error> {
        let token = self.id_token().await?;
        let mut value = HeaderValue::from_str(&format!("token {}", token.expose_secret()))
            .map_err(|_| Error::Decode {
                operation: "sign-in",
                message: "the ID token is not a valid header value".to_owned(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}
