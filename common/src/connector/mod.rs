//! The connector SDK: what a connector can do and the sinks it pushes results into (the
//! output's, re-exported). The registry that maps a target's `connector-name` to an
//! implementation lives with the connectors ([`crate::connectors::build`]).
//!
//! A connector implements only the syncs its system supports; the others answer `None` and
//! the pipeline reports that step as skipped. Results are pushed into a [`Sink`] one element
//! at a time, so no step ever holds a whole data source in memory.

mod error;

pub use crate::output::{CountingSink, Sink, Source, add_count};
pub use error::{BoxError, Error};

use async_trait::async_trait;

use crate::model::access::{AccessProvider, AccessProviderFeedback, ExportedAccessProvider};
use crate::model::data_source::{DataObject, DataSourceMetaData};
use crate::model::identity::{Group, IdentityStoreMetaData, User};
use crate::model::usage::Statement;

/// What the registry knows of a connector: all it needs to list, select and build one. Each
/// connector's folder exports one as `CONNECTOR`; the registry
/// ([`crate::connectors::build`]) lists them, one line each.
#[derive(Debug)]
pub struct Descriptor {
    /// The `connector-name` a target uses to select it.
    pub name: &'static str,
    /// The Raito CLI plugin it replaces, if any: a raito.yml written for the Go CLI selects it
    /// unchanged (e.g. `raito-io/cli-plugin-okta`).
    pub go_plugin: Option<&'static str>,
    /// The prefix of its parameters' keys (`pg-`): a key with it that is not one of them is
    /// refused wherever it comes from (also from a secret merged into the target).
    pub prefix: &'static str,
    /// Every parameter a target of it may have (any other key written in the target is
    /// refused).
    pub parameters: &'static [&'static str],
    /// The syncs it has in this build.
    pub steps: &'static [crate::step::Step],
    /// Builds it from a target's parameters, validated before any I/O.
    pub build: fn(&crate::config::Parameters) -> Result<Box<dyn Connector>, Error>,
}

/// A configured connector for one target. Building one validates its parameters but does no
/// I/O; connections are opened by the sync that needs them.
pub trait Connector: Send + Sync {
    /// The `connector-name` this connector answers to.
    fn name(&self) -> &'static str;

    /// The data source sync, if this connector's system has data objects.
    fn data_source(&self) -> Option<&dyn DataSourceSync> {
        None
    }

    /// The identity store sync, if this connector's system has users and groups.
    fn identity_store(&self) -> Option<&dyn IdentityStoreSync> {
        None
    }

    /// The access sync (both directions), if this connector can read or apply access.
    fn access(&self) -> Option<&dyn AccessSync> {
        None
    }

    /// The usage sync, if this connector's system records who queried what.
    fn usage(&self) -> Option<&dyn UsageSync> {
        None
    }

    /// The `source` of the tags this connector writes, sent as the imports'
    /// `tagSourcesScope` (Raito then replaces the tags of that source), as the Go CLI sends its
    /// plugin's `TagSource` (raito-io/cli internal/util/tag/tag.go). `None`: an empty scope.
    fn tag_source(&self) -> Option<&'static str> {
        None
    }
}

/// What a data source sync is asked to cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataSourceRequest {
    /// Raito's id of the data source (the `data-source-id` of the target).
    pub data_source_id: String,
    /// A partial sync: only this object (by external id) and what it contains.
    pub parent: Option<String>,
    /// External ids whose subtrees are left out of a partial sync.
    pub excludes: Vec<String>,
}

/// Reads the data objects of a data source and describes its permission model.
#[async_trait]
pub trait DataSourceSync: Send + Sync {
    /// The data source's metadata: object types, their permissions, usage levels.
    async fn metadata(&self) -> Result<DataSourceMetaData, Error>;

    /// The data source element's name and full name, when the system names itself (what a Go
    /// connector sets with `SetDataSourceName` and `SetDataSourceFullname`, raito-io/cli
    /// base/data_source/exporter.go); `None` keeps the pipeline's (the target's name, the data
    /// source id).
    async fn data_source_names(&self) -> Result<Option<(String, String)>, Error> {
        Ok(None)
    }

    /// Pushes every data object into `sink`, parents before their children. Objects that hang
    /// directly under the data source have an empty `parent_external_id` (or the data source
    /// id): the pipeline writes the data source id there, as the Go CLI's writer does, so the
    /// file Raito receives never has an empty one. The data source element itself is written
    /// by the pipeline, not by the connector.
    async fn sync_data_objects(
        &self,
        request: &DataSourceRequest,
        sink: &mut dyn Sink<DataObject>,
    ) -> Result<(), Error>;
}

/// Reads users and groups.
#[async_trait]
pub trait IdentityStoreSync: Send + Sync {
    /// The identity store's metadata.
    async fn metadata(&self) -> Result<IdentityStoreMetaData, Error>;

    /// Pushes every user and every group into their sinks.
    async fn sync_identities(
        &self,
        users: &mut dyn Sink<User>,
        groups: &mut dyn Sink<Group>,
    ) -> Result<(), Error>;
}

/// Whether an export is applied to the target or only planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Execute the statements.
    Apply,
    /// Read the target's current state and work out the statements; execute nothing.
    Plan,
}

/// What applying (or planning) one exported access provider did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessOutcome {
    /// Its feedback for Raito: the actual name, and the errors and warnings.
    pub feedback: AccessProviderFeedback,
    /// The statements executed ([`ApplyMode::Apply`]) or that would be executed
    /// ([`ApplyMode::Plan`]), in order, exactly as sent; empty when the target already matches.
    pub statements: Vec<String>,
}

/// Reads and applies access controls.
#[async_trait]
pub trait AccessSync: Send + Sync {
    /// Pushes the access controls that exist in the target and that this connector does not
    /// manage (import into Raito).
    async fn sync_from_target(&self, sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error>;

    /// Applies (or plans) the access providers Raito manages, pushing one outcome per access
    /// provider, in any order, each exactly once. A failing access provider is reported in its
    /// feedback; the others are still applied. An `Err` means the target could not be worked
    /// on at all (e.g. no connection); outcomes already pushed stand.
    async fn sync_to_target(
        &self,
        mode: ApplyMode,
        access_providers: &mut dyn Source<ExportedAccessProvider>,
        outcomes: &mut dyn Sink<AccessOutcome>,
    ) -> Result<(), Error>;
}

/// What a usage sync is asked to cover, and until when it may run.
///
/// The contract every usage connector keeps, so that a run cut short and the next run together
/// import every statement exactly once:
/// - it pushes only statements with `start_time > since` (whole seconds), in non-decreasing
///   `start_time` order;
/// - when it stops early because of `deadline`, it stops only at a second boundary: after the
///   last statement of the second it was in (it never pushes some statements of a second and
///   leaves others of the same second for later); it always pushes the first second with new
///   statements, even past the deadline, so that every run makes progress;
/// - so the next run, with `since` = the largest `start_time` pushed (or the same `since` if
///   nothing was pushed), continues with no gap and no duplicate.
///
/// A connector also leaves out statements too recent to be complete in its source (e.g. the
/// current second), for the same reason; they come with the next run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRequest {
    /// Only statements that started after this instant (unix epoch seconds). A connector may
    /// also bound how far back it reads (e.g. PostgreSQL's `pg-usage-window-days`).
    pub since: Option<i64>,
    /// Stop pushing soon after this instant, at a second boundary (see above). `None`: run to
    /// the end. Checked between statements and between reads, so leave a margin for the
    /// output's finishing (e.g. the Lambda deadline minus a minute).
    pub deadline: Option<tokio::time::Instant>,
}

/// Reads who queried what.
#[async_trait]
pub trait UsageSync: Send + Sync {
    /// Pushes the statements that match `request`, oldest first.
    async fn sync_usage(
        &self,
        request: &UsageRequest,
        sink: &mut dyn Sink<Statement>,
    ) -> Result<(), Error>;
}
