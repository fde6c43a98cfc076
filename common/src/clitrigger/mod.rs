//! Raito's own trigger channel: the websocket on which Raito Cloud tells the Go CLI about
//! changed access and on-demand syncs (raito-io/cli `internal/clitrigger/`), listened to here
//! by the trigger-listener function, so that the bundle reacts to today's Raito as fast as the
//! CLI does. Every message becomes exactly what a webhook delivery becomes: a queued trigger
//! (see `function::listener`).
//!
//! - [`message`]: the messages (`TriggerEvent`) and the heartbeat, on the wire;
//! - [`session`]: one websocket connection: dial with the token, heartbeat, read, close;
//! - [`listen`]: sessions one after the other until a stop time, reconnecting with backoff.
//!
//! Where this differs from the Go CLI, on purpose (each rule names the Go file it follows):
//! - a message that is not a `TriggerEvent` is logged and skipped; Go tears the connection
//!   down and dials again (`websocket_trigger.go`, `readMessageFromWebsocket`);
//! - a failed dial is retried with backoff until the stop time; Go stops listening for good
//!   (`websocket_trigger.go`, `Start`), except for close statuses;
//! - a handshake refused with 401 or 403 ends the listening (reported once): retrying with the
//!   same credentials would be refused again.

pub mod message;
pub mod session;

mod listen;

pub use listen::{Channel, Ended, Prepared, Timing, listen};
pub use message::{Delivery, Heartbeat, MessageError, decode};
pub use session::{Session, SessionEnd, SessionError, tls_config};

/// Why the trigger channel cannot be listened to. Messages say what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The websocket's URL is not one to dial.
    #[error(
        "the trigger channel URL Raito gave is not a ws:// or wss:// URL ({reason}); the \
         listener cannot connect"
    )]
    InvalidUrl {
        /// What is wrong.
        reason: String,
    },
    /// The TLS configuration could not be built (no trusted root certificate).
    #[error("TLS for the trigger channel: {0}")]
    Tls(String),
}
