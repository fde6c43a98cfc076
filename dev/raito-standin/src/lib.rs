//! A local stand-in for Raito Cloud, for tests (started in-process with [`start`] on a listener
//! bound to `127.0.0.1:0`) and for the demo (the `raito-standin` binary). Never a dependency of
//! the shipped crates.
//!
//! What it serves, relative to [`StandIn::base_url`] (`http://127.0.0.1:PORT/`):
//! - `GET admin/org/<domain>`: `{"AuthOrgId", "ClientAppId"}`, no authentication;
//! - `POST cognito/`: Cognito `InitiateAuth` (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH);
//! - `GET file/upload/signed-url?contentLength=<n>&sha256=<base64>` and the signed
//!   `PUT upload/<key>?sig=...` it returns;
//! - `POST query`: GraphQL, validated against `common/src/raito/graphql/schema.graphql`;
//! - `GET export/<token>`: an access export file (the `fileLocation` of an export subtask), no
//!   authentication, like a presigned S3 URL;
//! - `GET cli-trigger`: the trigger channel, a websocket (the `url` of `cliTriggerUrl`; see
//!   `trigger`), and `POST _standin/trigger-channel` to push on it;
//! - `GET _standin/state` (the [`Snapshot`] as JSON) and `POST _standin/faults` (a [`Fault`]
//!   as JSON), for the demo; no authentication.
//!
//! Everything but the org lookup, Cognito and the upload PUT needs
//! `Authorization: token <IdToken>` and `Raito-Domain: <domain>`.
//!
//! Modules:
//! - `server`: routes, the shared state, the gate (count, faults, token check);
//! - `auth`: org lookup and Cognito sign-in; `upload`: signed URLs and file PUTs;
//! - `graphql`: request decoding, validation, execution (`operations`, `shape`);
//! - `subtask`: import and export subtasks and their background processing (one driver for
//!   every kind);
//!   `import` and `identities`: the checks of data source files and of users and groups files,
//!   on `files` (streaming a JSON array element by element, capped problem lists); `usage`:
//!   usage parts; `access`: managed access providers (seeding, sync state), the feedback and
//!   access import checks; `export`: the access export document and its download;
//! - `state`: what is recorded ([`Snapshot`]); `faults`: fault injection;
//! - `secret`: HMAC and ids; `clock`: RFC 3339 times and the clock tests move forward.

mod access;
mod auth;
mod clock;
mod export;
mod faults;
mod files;
mod graphql;
mod identities;
mod import;
mod secret;
mod server;
mod state;
mod subtask;
mod trigger;
mod upload;
mod usage;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use access::{
    AccessExport, AccessExportResult, AccessFeedback, AccessFeedbackResult, AccessImportResult,
    AccessProviderSpec, ExportWho, ExportedVersion, FeedbackAccess, FeedbackElement,
    ImportedAccessProvider, ImportedWho, ManagedAccessProvider, Owner, SeedError, WhatItem,
};
pub use export::ExportFormat;
pub use faults::{Fault, Target};
pub use state::{
    AccessedDataObject, DataObject, DataObjectReference, GlobalPermission, Group,
    IdentityImportResult, ImportResult, Job, JobUpdate, Snapshot, Statement, Subtask, SubtaskEvent,
    SubtaskResult, Tag, TaskEvent, TaskResult, TriggerConnection, Upload, UsageImportResult, User,
};

use server::Shared;

/// How the stand-in is set up.
#[derive(Clone)]
pub struct Config {
    /// The organization's domain (`Raito-Domain`, `admin/org/<domain>`); must match
    /// `^[a-z][a-z0-9-]*[a-z0-9]$`. Default `demo`.
    pub domain: String,
    /// The API user accepted by USER_PASSWORD_AUTH. Default `api-user`.
    pub api_user: String,
    /// The API user's password. Default `api-secret`.
    pub api_secret: String,
    /// The ids of the data sources that exist. Default none.
    pub data_sources: Vec<String>,
    /// The ids of the identity stores that exist (`createJob`, `setIdentityStoreMetaData`,
    /// `importIdentityRequest`), a data source's own identity store included. Default none.
    pub identity_stores: Vec<String>,
    /// How long an id token is valid (`ExpiresIn`, rounded up to whole seconds), on the
    /// stand-in's clock ([`StandIn::advance_clock`]). Default 1 hour.
    pub token_lifetime: Duration,
    /// How long an import subtask takes (QUEUED for the first half, DATA_PROCESSING for the
    /// second), on the stand-in's clock ([`StandIn::advance_clock`]). Default zero.
    pub processing_delay: Duration,
    /// The format access export files are written in (see [`StandIn::set_export_format`]).
    /// Default YAML, as Raito Cloud.
    pub export_format: ExportFormat,
    /// How long an access export's `fileLocation` can be downloaded. Default 1 hour.
    pub export_url_lifetime: Duration,
    /// Other organizations served besides the one above, each with its own domain, API user
    /// and Cognito app client; a token is good only for its own organization, and each job
    /// records the organization that created it. (Data sources and identity stores are shared:
    /// a simplification; ids are unique across organizations in the tests.) Default none.
    pub other_organizations: Vec<Organization>,
}

/// An organization of [`Config::other_organizations`].
#[derive(Clone)]
pub struct Organization {
    /// Its domain; same rules as [`Config::domain`].
    pub domain: String,
    /// Its API user.
    pub api_user: String,
    /// The API user's password.
    pub api_secret: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            domain: "demo".to_owned(),
            api_user: "api-user".to_owned(),
            api_secret: "api-secret".to_owned(),
            data_sources: Vec::new(),
            identity_stores: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            processing_delay: Duration::ZERO,
            export_format: ExportFormat::Yaml,
            export_url_lifetime: Duration::from_secs(3600),
            other_organizations: Vec::new(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("domain", &self.domain)
            .field("api_user", &self.api_user)
            .field("api_secret", &"<redacted>")
            .field("data_sources", &self.data_sources)
            .field("identity_stores", &self.identity_stores)
            .field("token_lifetime", &self.token_lifetime)
            .field("processing_delay", &self.processing_delay)
            .field("export_format", &self.export_format)
            .field("export_url_lifetime", &self.export_url_lifetime)
            .finish()
    }
}

/// A running stand-in. Dropping it stops the server too; [`StandIn::shutdown`] also waits for it.
pub struct StandIn {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Starts the stand-in on `listener` (bind it to `127.0.0.1:0` for a free port) and serves until
/// the handle is shut down or dropped.
///
/// # Panics
/// If `config.domain` is not a valid Raito domain, if the listener has no local address, or if
/// schema.graphql does not parse: all mistakes in the test setup or the checkout, not conditions
/// to handle.
pub async fn start(listener: TcpListener, config: Config) -> StandIn {
    assert!(
        auth::is_valid_domain(&config.domain),
        "the stand-in's domain {:?} does not match ^[a-z][a-z0-9-]*[a-z0-9]$",
        config.domain
    );
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => panic!("the stand-in's listener has no local address: {error}"),
    };
    let schema = match graphql::load_schema() {
        Ok(schema) => schema,
        Err(errors) => panic!("schema.graphql does not validate:\n{errors}"),
    };
    let shared = Arc::new(Shared::new(config, format!("http://{address}/"), schema));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = server::router(Arc::clone(&shared));
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // A dropped sender ends the server too.
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the Raito stand-in stopped");
        }
    });
    StandIn {
        shared,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

impl StandIn {
    /// Moves the stand-in's clock forward by `by`, a test hook: id tokens expire, and import
    /// subtasks move through their [`Config::processing_delay`], as if that much time had gone
    /// by, so that a test never waits for real time to pass. The clock starts at the real time
    /// and only ever runs ahead of it; the times the stand-in writes stay on the wall clock.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// `http://127.0.0.1:PORT/` (with the slash): the client's Raito URL override.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/cognito/`: the Cognito endpoint override.
    pub fn cognito_url(&self) -> String {
        format!("{}cognito/", self.shared.base_url)
    }

    /// The Cognito app client id the org lookup returns (`ClientAppId`).
    pub fn client_app_id(&self) -> String {
        self.shared.client_app_id.clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A copy of everything recorded so far.
    pub fn state(&self) -> Snapshot {
        self.shared.lock().record.clone()
    }

    /// The bytes stored at an upload key, if they arrived.
    pub fn upload_body(&self, key: &str) -> Option<Bytes> {
        self.shared
            .lock()
            .record
            .uploads
            .iter()
            .find(|u| u.key == key)
            .and_then(|u| u.body.clone())
    }

    /// Arms a fault (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    /// Disarms every fault (stuck subtasks already stuck stay stuck).
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Sets what `dataSource(id){usageFirstUsed usageLastUsed}` answers (RFC 3339 text, or
    /// `None` for null).
    pub fn set_usage_dates(
        &self,
        data_source: &str,
        first_used: Option<&str>,
        last_used: Option<&str>,
    ) {
        self.shared.lock().usage.insert(
            data_source.to_owned(),
            state::UsageDates {
                first_used: first_used.map(str::to_owned),
                last_used: last_used.map(str::to_owned),
            },
        );
    }

    /// What `dataSource(id)` answers now for `usageFirstUsed` and `usageLastUsed`.
    pub fn usage_dates(&self, data_source: &str) -> (Option<String>, Option<String>) {
        let dates = self
            .shared
            .lock()
            .usage
            .get(data_source)
            .cloned()
            .unwrap_or_default();
        (dates.first_used, dates.last_used)
    }

    /// Puts (adds, or replaces by `id`) an access provider Raito manages in `data_source`, given
    /// in the export shape (see [`AccessProviderSpec`]; unknown keys are refused):
    /// `{"id", "name", "namingHint", "action", "who": {"users", "groups", "inheritFrom"},
    /// "what": [{"dataObject": {"fullName", "type"}, "permissions"}], ...}`. `who.inheritFrom`
    /// lists Raito ids of other access providers of the data source (the export writes their
    /// actual name once known, else `ID:<raito id>`) or `externalId`s of imported ones. A
    /// replacement that changes anything makes it out of sync until the next feedback.
    ///
    /// # Errors
    /// An unknown data source, a value that is not an access provider (the message names the
    /// field), an empty id, an unknown action, an empty data object full name or type.
    pub fn put_access_provider(
        &self,
        data_source: &str,
        access_provider: serde_json::Value,
    ) -> Result<(), SeedError> {
        access::put(
            &mut self.shared.lock(),
            &self.shared.config.data_sources,
            data_source,
            access_provider,
        )
    }

    /// Marks access provider `id` of `data_source` deleted: the next export carries it with
    /// `delete: true`, and a feedback for that export without errors removes it.
    ///
    /// # Errors
    /// An unknown data source or access provider.
    pub fn delete_access_provider(&self, data_source: &str, id: &str) -> Result<(), SeedError> {
        access::mark_deleted(
            &mut self.shared.lock(),
            &self.shared.config.data_sources,
            data_source,
            id,
        )
    }

    /// Pushes `event` (a trigger event, e.g. `{"apUpdate": {...}}`) on every open trigger
    /// channel connection, as Raito does; returns how many connections it went to (none is
    /// queued for later: a message sent while nobody listens is lost, as on Raito).
    pub fn push_trigger(&self, event: serde_json::Value) -> usize {
        trigger::broadcast(&self.shared, &trigger::Command::Push(event.to_string()))
    }

    /// Drops every open trigger channel connection without a closing handshake; returns how
    /// many there were.
    pub fn drop_trigger_connections(&self) -> usize {
        trigger::broadcast(&self.shared, &trigger::Command::Drop)
    }

    /// Sends the first half of `event` as a text message on every open trigger channel
    /// connection, then drops them; returns how many there were.
    pub fn cut_trigger_message(&self, event: serde_json::Value) -> usize {
        trigger::broadcast(&self.shared, &trigger::Command::Cut(event.to_string()))
    }

    /// Every id token issued so far: secrets a test checks the logs for.
    pub fn id_tokens(&self) -> Vec<String> {
        self.shared.lock().id_tokens.keys().cloned().collect()
    }

    /// How many trigger channel connections are open.
    pub fn open_trigger_connections(&self) -> usize {
        self.shared.lock().trigger_sessions.len()
    }

    /// The format of the access exports made from now on (files already made keep theirs).
    pub fn set_export_format(&self, format: ExportFormat) {
        self.shared.lock().export_format = format;
    }

    /// Stops serving and waits until the server has stopped.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
