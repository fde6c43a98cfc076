//! One connection to the trigger channel, as the Go CLI holds it (raito-io/cli
//! `internal/clitrigger/websocket_trigger.go`): dialled with `Authorization: token <IdToken>`
//! (`Start`, `auth.AddTokenToHeader`), a heartbeat at once and then every 5 minutes
//! (`heartbeat`: the timer starts at 0, then `heartbeatTimeout`), every text message read as a
//! trigger event (`readMessageFromWebsocket`), and closed with a normal closure when done
//! (`conn.Close(websocket.StatusNormalClosure, ...)`).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::Error;
use super::message::{Delivery, Heartbeat, decode};

/// How long the TCP, TLS and websocket handshakes may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing handshake is waited for before the connection is simply dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// The largest message read: a trigger event is a few hundred bytes (a webhook body is at most
/// 256 KiB, the same limit here).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The rustls configuration of the channel: the system's trusted roots, with ring (the
/// workspace's provider, so no second crypto library is linked for this).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    let roots = crate::tls::root_store(None, "the system's trusted root certificates")
        .map_err(Error::Tls)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// An open connection.
pub struct Session {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Why a session could not be opened or ended other than by [`SessionEnd::Stopped`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The URL is not a websocket URL.
    #[error(transparent)]
    Url(#[from] Error),
    /// The handshake was answered with this HTTP status (401 or 403: the token was refused).
    #[error("the trigger channel refused the connection: HTTP {status}")]
    Refused {
        /// The status.
        status: u16,
    },
    /// The handshake did not finish in time.
    #[error("no websocket handshake within {0:?}")]
    Timeout(Duration),
    /// A network or protocol failure.
    #[error("websocket: {0}")]
    Socket(#[from] tungstenite::Error),
}

impl SessionError {
    /// Whether dialling again with the same credentials would be refused again.
    pub fn is_refusal(&self) -> bool {
        matches!(self, SessionError::Refused { status: 401 | 403 })
    }
}

/// How a session ended.
#[derive(Debug)]
pub enum SessionEnd {
    /// The stop time came: closed with a normal closure (1000).
    Stopped,
    /// The session's own lifetime (Go's 90 minutes) is over: closed normally, to dial again.
    Reset,
    /// Raito closed it, with this code and reason.
    Closed(Option<(u16, String)>),
    /// The connection broke (no closing handshake, a read or write error).
    Broken(SessionError),
}

impl Session {
    /// Dials `url` with `authorization` (the `token <IdToken>` header).
    pub async fn connect(
        url: &str,
        authorization: HeaderValue,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, SessionError> {
        let mut request = url.into_client_request().map_err(|e| Error::InvalidUrl {
            reason: e.to_string(),
        })?;
        request.headers_mut().insert(AUTHORIZATION, authorization);
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let connector = if url.starts_with("wss:") {
            Connector::Rustls(tls)
        } else {
            Connector::Plain
        };
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        );
        match timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_) => Err(SessionError::Timeout(CONNECT_TIMEOUT)),
            Ok(Err(tungstenite::Error::Http(response))) => Err(SessionError::Refused {
                status: response.status().as_u16(),
            }),
            Ok(Err(error)) => Err(SessionError::Socket(error)),
            Ok(Ok((socket, _))) => Ok(Self { socket }),
        }
    }

    /// Runs the session until `stop` (then [`SessionEnd::Stopped`]) or `reset` (then
    /// [`SessionEnd::Reset`]), sending `heartbeat` at once and every `every`, and handing
    /// every trigger of every message to `deliver` in the order received. A message that is
    /// not a trigger event is logged and skipped.
    pub async fn run(
        mut self,
        heartbeat: &Heartbeat,
        every: Duration,
        stop: Instant,
        reset: Instant,
        deliver: &mut impl AsyncFnMut(Delivery),
    ) -> SessionEnd {
        let text = heartbeat.to_text();
        let mut next_heartbeat = Instant::now();
        loop {
            tokio::select! {
                biased;
                () = sleep_until(stop) => {
                    self.close().await;
                    return SessionEnd::Stopped;
                }
                () = sleep_until(reset) => {
                    self.close().await;
                    return SessionEnd::Reset;
                }
                () = sleep_until(next_heartbeat) => {
                    // A failed write means a broken connection with tungstenite: dial again
                    // (Go retries the write every 2 s, five times, on the same connection).
                    if let Err(error) = self.socket.send(Message::text(text.clone())).await {
                        return SessionEnd::Broken(error.into());
                    }
                    tracing::debug!("trigger channel heartbeat sent");
                    next_heartbeat = Instant::now() + every;
                }
                frame = self.socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => match decode(text.as_str()) {
                        Ok(deliveries) => {
                            if deliveries.is_empty() {
                                tracing::info!("trigger channel message with no trigger ignored");
                            }
                            for delivery in deliveries {
                                deliver(delivery).await;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, bytes = text.len(), "trigger channel message skipped");
                        }
                    },
                    Some(Ok(Message::Binary(bytes))) => {
                        tracing::warn!(bytes = bytes.len(), "binary trigger channel message skipped: Raito sends text");
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return SessionEnd::Closed(
                            frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
                        );
                    }
                    // Pings are answered by tungstenite on the next read or write.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Err(error)) => return SessionEnd::Broken(error.into()),
                    None => {
                        return SessionEnd::Broken(SessionError::Socket(
                            tungstenite::Error::ConnectionClosed,
                        ));
                    }
                },
            }
        }
    }

    /// Closes with a normal closure and waits (briefly) for Raito's answer.
    async fn close(mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "Closing websocket".into(),
        };
        if self.socket.close(Some(frame)).await.is_err() {
            return;
        }
        // Read until the peer's close frame (or anything ending the stream).
        let _ = timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}
