//! The trigger channel: `cliTriggerUrl` names the websocket, which takes the token header the
//! Go CLI sends, records its heartbeats, pushes on command, and refuses what the CLI never
//! sends.

use futures::{SinkExt, StreamExt};
use raito_standin::Fault;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::Harness;

const QUERY: &str = "query CliTriggerWebSocket { cliTriggerUrl { ... on CliTriggerUrl { url } \
                     ... on PermissionDeniedError { err: message } } }";

async fn url(harness: &Harness) -> String {
    let data = harness.data(QUERY, json!({})).await;
    data["cliTriggerUrl"]["url"].as_str().unwrap().to_owned()
}

async fn dial(
    url: &str,
    token: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("token {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

#[tokio::test]
async fn the_channel_records_heartbeats_and_pushes_trigger_events() {
    let harness = Harness::new().await;
    let url = url(&harness).await;
    assert!(
        url.starts_with("ws://") && url.ends_with("/cli-trigger"),
        "{url}"
    );
    let mut socket = dial(&url, &harness.token).await.unwrap();
    socket
        .send(Message::text(
            r#"{"message":"heartbeat","datasources":["ds-1"]}"#,
        ))
        .await
        .unwrap();
    // Once the heartbeat is recorded, a pushed event reaches the client.
    let event = json!({"apUpdate": {"domain": "demo", "dataSourceNames": ["ds-1"]}});
    for _ in 0..500 {
        let heartbeats = harness.standin.state().trigger_connections[0]
            .heartbeats
            .len();
        if heartbeats == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(harness.standin.push_trigger(event.clone()), 1);
    let Some(Ok(Message::Text(text))) = socket.next().await else {
        panic!("a text message");
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        event
    );
    let connection = &harness.standin.state().trigger_connections[0];
    assert_eq!(connection.heartbeats, [vec!["ds-1".to_owned()]]);
}

#[tokio::test]
async fn anything_but_a_heartbeat_is_a_violation_closed_with_1008() {
    let harness = Harness::new().await;
    let url = url(&harness).await;
    let mut socket = dial(&url, &harness.token).await.unwrap();
    socket
        .send(Message::text(
            r#"{"message":"heartbeat","datasources":[],"extra":1}"#,
        ))
        .await
        .unwrap();
    let Some(Ok(Message::Close(Some(frame)))) = socket.next().await else {
        panic!("closed");
    };
    assert_eq!(u16::from(frame.code), 1008);
    let connection = &harness.standin.state().trigger_connections[0];
    assert_eq!(connection.violations.len(), 1, "{connection:?}");
}

#[tokio::test]
async fn the_handshake_needs_a_valid_token_and_faults_deny_the_channel() {
    let harness = Harness::new().await;
    let url = url(&harness).await;
    assert!(dial(&url, "not-a-token").await.is_err());
    harness.standin.inject(Fault::RefuseTriggerToken);
    assert!(dial(&url, &harness.token).await.is_err());
    harness.standin.clear_faults();
    harness.standin.inject(Fault::DenyTriggerChannel);
    let data = harness.data(QUERY, json!({})).await;
    assert!(data["cliTriggerUrl"]["err"].is_string(), "{data}");
    assert!(harness.standin.state().trigger_connections.is_empty());
}
