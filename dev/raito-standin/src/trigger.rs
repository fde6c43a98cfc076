//! Raito's trigger channel, as the Go CLI meets it (raito-io/cli `internal/clitrigger/`):
//! `cliTriggerUrl` answers `ws://127.0.0.1:PORT/cli-trigger`, a websocket that takes
//! `Authorization: token <IdToken>` (the one header the CLI adds, `auth.AddTokenToHeader`; no
//! `Raito-Domain`), records the heartbeats the client sends, and pushes trigger events when a
//! test says so ([`crate::StandIn::push_trigger`], `POST _standin/trigger-channel`).
//!
//! Strict: a text message that is not exactly a heartbeat (`{"message": "heartbeat",
//! "datasources": [...]}`, `websocket_trigger.go`) or any binary message is a violation: it is
//! recorded and the connection closed with 1008. Faults: the handshake refused
//! ([`Fault::RefuseTriggerToken`](crate::Fault)), the channel denied or absent, every
//! connection dropped without a closing handshake ([`crate::StandIn::drop_trigger_connections`]),
//! or a message cut in the middle and the connection dropped after it
//! ([`crate::StandIn::cut_trigger_message`]).

use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::faults::Fault;
use crate::server::{Api, Shared};
use crate::state::TriggerConnection;

/// The websocket's path.
pub(crate) const PATH: &str = "cli-trigger";

/// What a test makes an open connection do.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// Send this text message.
    Push(String),
    /// Drop the connection, no closing handshake.
    Drop,
    /// Send this text cut at half its length, then drop the connection.
    Cut(String),
}

/// `cliTriggerUrl`: the channel, or an armed fault's answer.
pub(crate) fn url(shared: &Shared) -> Value {
    let faults = shared.lock().faults.clone();
    if faults.contains(&Fault::DenyTriggerChannel) {
        return json!({"__typename": "PermissionDeniedError",
                      "message": "the API user may not listen to CLI triggers"});
    }
    if faults.contains(&Fault::NoTriggerChannel) {
        return json!({"__typename": "CliTriggerUrl", "url": ""});
    }
    let base = shared
        .base_url
        .strip_prefix("http://")
        .unwrap_or(&shared.base_url);
    json!({"__typename": "CliTriggerUrl", "url": format!("ws://{base}{PATH}")})
}

/// The heartbeat, exactly (websocket_trigger.go: `Message`, `DataSources` of a nil slice is
/// `null`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Heartbeat {
    message: String,
    datasources: Option<Vec<String>>,
}

/// `GET cli-trigger`: the handshake, after the token check.
pub(crate) async fn websocket(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(response) = shared.admit(Api::Rest, &["cliTriggerWebsocket".to_owned()], PATH) {
        return response;
    }
    let refused = shared.lock().faults.contains(&Fault::RefuseTriggerToken);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("token "));
    let valid = token.is_some_and(|token| {
        shared
            .lock()
            .id_tokens
            .get(token)
            .is_some_and(|(expiry, _)| shared.clock.now() < *expiry)
    });
    if refused || !valid {
        return Api::Rest.error(
            StatusCode::UNAUTHORIZED,
            "missing, unknown or expired token (expected `Authorization: token <IdToken>`)",
        );
    }
    let (commands, receiver) = mpsc::unbounded_channel();
    let id = {
        let mut state = shared.lock();
        let id = state.record.trigger_connections.len() as u64 + 1;
        state.record.trigger_connections.push(TriggerConnection {
            id,
            ..TriggerConnection::default()
        });
        state.trigger_sessions.insert(id, commands);
        let open = state.trigger_sessions.len();
        let peak = &mut state.record.trigger_peak_connections;
        *peak = (*peak).max(open);
        id
    };
    upgrade
        .on_upgrade(move |socket| async move {
            let ended = session(&shared, id, socket, receiver).await;
            let mut state = shared.lock();
            state.trigger_sessions.remove(&id);
            if let Some(connection) = connection(&mut state, id) {
                connection.ended = Some(ended);
            }
        })
        .into_response()
}

fn connection(state: &mut crate::state::State, id: u64) -> Option<&mut TriggerConnection> {
    state
        .record
        .trigger_connections
        .iter_mut()
        .find(|c| c.id == id)
}

/// Serves one connection until it ends; says how it ended.
async fn session(
    shared: &Shared,
    id: u64,
    mut socket: WebSocket,
    mut commands: mpsc::UnboundedReceiver<Command>,
) -> String {
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Push(text)) => {
                    if let Some(c) = connection(&mut shared.lock(), id) {
                        c.pushed.push(text.clone());
                    }
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return "lost".into();
                    }
                }
                Some(Command::Cut(text)) => {
                    let mut cut = text.len() / 2;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    let part = text[..cut].to_owned();
                    if let Some(c) = connection(&mut shared.lock(), id) {
                        c.pushed.push(part.clone());
                    }
                    let _ = socket.send(Message::Text(part.into())).await;
                    return "dropped".into();
                }
                Some(Command::Drop) | None => return "dropped".into(),
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let heartbeat = serde_json::from_str::<Heartbeat>(text.as_str())
                        .ok()
                        .filter(|h| h.message == "heartbeat");
                    match heartbeat {
                        Some(heartbeat) => {
                            if let Some(c) = connection(&mut shared.lock(), id) {
                                c.heartbeats.push(heartbeat.datasources.unwrap_or_default());
                            }
                        }
                        None => {
                            return violation(shared, id, socket, format!("not a heartbeat: {}", text.as_str())).await;
                        }
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    return violation(shared, id, socket, format!("a binary message of {} bytes", bytes.len())).await;
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| f.code).unwrap_or(1005);
                    return format!("closed by the client ({code})");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(_)) | None => return "lost".into(),
            },
        }
    }
}

async fn violation(shared: &Shared, id: u64, mut socket: WebSocket, what: String) -> String {
    if let Some(c) = connection(&mut shared.lock(), id) {
        c.violations.push(what);
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1008,
            reason: "the Raito CLI sends only heartbeats".into(),
        })))
        .await;
    "refused".into()
}

/// Sends `command` to every open connection; how many there were.
pub(crate) fn broadcast(shared: &Shared, command: &Command) -> usize {
    let state = shared.lock();
    state
        .trigger_sessions
        .values()
        .filter(|sender| sender.send(command.clone()).is_ok())
        .count()
}

/// `POST _standin/trigger-channel`: `{"push": <trigger event>}`, `"drop"` or `{"cut": <trigger
/// event>}`; answers `{"connections": <how many got it>}`.
pub(crate) async fn control(
    AxumState(shared): AxumState<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    enum Control {
        Push(Value),
        Drop,
        Cut(Value),
    }
    let command = match serde_json::from_slice::<Control>(&body) {
        Ok(Control::Push(event)) => Command::Push(event.to_string()),
        Ok(Control::Drop) => Command::Drop,
        Ok(Control::Cut(event)) => Command::Cut(event.to_string()),
        Err(error) => {
            return Api::Rest.error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected {{\"push\": {{...}}}}, \"drop\" or {{\"cut\": {{...}}}}: {error}"
                ),
            );
        }
    };
    let connections = broadcast(&shared, &command);
    crate::server::json(StatusCode::OK, &json!({ "connections": connections }))
}
