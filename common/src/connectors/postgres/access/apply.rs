//! Applies Raito's exported access providers to PostgreSQL (or plans them: works out the
//! statements without executing any). This is the engine: it holds the connections, reads the
//! export in chunks, reads each chunk's current state into a [`Snapshot`], has the planner
//! ([`super::plan`], where what an access provider becomes and the rules of diff, deletion,
//! inheritance and safety are) work out the statements, and has the batch executor
//! ([`super::batch`]) send them.
//!
//! **Chunks and reads.** The export is read in chunks of at most [`CHUNK_ACCESS_PROVIDERS`]
//! access providers (or [`CHUNK_WEIGHT`] who and what entries), so memory stays bounded. For
//! a chunk the current state is read set-based (the roles by name and by marker, their
//! memberships and databases in one query each; per database the objects named, the
//! privileges of the chunk's roles and the managed policies), except what every chunk would
//! read again: the markers (which roles are managed for which access provider) are read once
//! per run, and from the second chunk on the privileges of every managed role are read once
//! per database ([`GrantIndex`]: the database's, a schema's and a table's ACLs hold an entry
//! per role, so each chunk would expand them whole again). The roles read by name include
//! every base name; only when a base name is taken does the planner need more: the remaining
//! suffixed candidates of every access provider that needs one are read together, in one
//! query, and the chunk prepared again. Every access provider is planned in memory from that
//! snapshot.
//!
//! **Batches.** The statements are sent per database and step as one batch ([`super::batch`],
//! one round trip when nothing fails), `pg-database` first: the first step of every access
//! provider, then the second step of those whose first step committed. A failure takes that
//! access provider's statements out of that database's transaction and is reported in its
//! feedback; what was committed in other databases stays, every database is consistent on its
//! own, and because applying is a diff the next run converges. A failing access provider never
//! stops the others. Memberships in roles of access providers later in the export are made
//! after the last chunk. The closing event counts the statements sent (reads included) and
//! the round trips.
//!
//! **Sessions.** One connection per database, kept for the run; each sets
//! `standard_conforming_strings = on`, a `lock_timeout` (DDL waits at most that long for a
//! lock instead of queueing behind long transactions and blocking everyone after it) and a
//! `statement_timeout`. In plan mode every connection is `default_transaction_read_only`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tokio_postgres::Client;
use tracing::Instrument;

use super::super::config::Config;
use super::super::{NAME, client};
use super::batch::{self, Counters, Entry, describe};
use super::managed_for;
use super::plan::{self, DatabaseNeeds, Failure, Planned, Planner, Run};
use super::state::{self, DatabaseState, GrantIndex, Snapshot};
use super::what::Grant;
use crate::connector::{AccessOutcome, ApplyMode, Error, Sink, Source};
use crate::model::access::ExportedAccessProvider;

/// Session settings of every connection: literals are written for standard strings; DDL waits
/// a bounded time for its locks; no statement runs forever.
const SESSION: &str = "SET standard_conforming_strings = on; SET lock_timeout = '10s'; \
                       SET statement_timeout = '5min'; SET idle_in_transaction_session_timeout = '5min'";

/// The target of the engine's log events, the batch executor's included: filters such as
/// `RUST_LOG=raito_common::connectors::postgres::access::apply=debug` and log readers keep
/// seeing every event of an apply under one target.
pub(super) const LOG_TARGET: &str = module_path!();

/// At most this many access providers are read, planned and sent together.
pub const CHUNK_ACCESS_PROVIDERS: usize = 200;

/// A chunk also ends when the who and what entries of its access providers add up to this.
pub const CHUNK_WEIGHT: usize = 4_000;

/// Applies (or plans) the access providers, one outcome each.
pub async fn run(
    config: &Config,
    mode: ApplyMode,
    access_providers: &mut dyn Source<ExportedAccessProvider>,
    outcomes: &mut dyn Sink<AccessOutcome>,
) -> Result<(), Error> {
    let mut engine = Engine::start(config, mode).await?;
    let mut held = Vec::new();
    let mut count = 0u64;
    let mut chunk = Vec::new();
    let mut weight = 0usize;
    loop {
        let next = access_providers.next().await?;
        let end = next.is_none();
        if let Some(ap) = next {
            count += 1;
            weight += weight_of(&ap);
            chunk.push(ap);
        }
        let full = chunk.len() >= CHUNK_ACCESS_PROVIDERS || weight >= CHUNK_WEIGHT;
        if !chunk.is_empty() && (end || full) {
            weight = 0;
            let span = tracing::info_span!("access_chunk", access_providers = chunk.len());
            let done = engine
                .process_chunk(std::mem::take(&mut chunk))
                .instrument(span)
                .await;
            for work in done {
                if work.pending.is_empty() {
                    report(&work.outcome, &work.span);
                    outcomes.push(work.outcome).await?;
                } else {
                    held.push(work);
                }
            }
            engine.connections.check()?;
        }
        if end {
            break;
        }
    }
    let mut held = held.into_iter().peekable();
    while held.peek().is_some() {
        let batch: Vec<Held> = held.by_ref().take(CHUNK_ACCESS_PROVIDERS).collect();
        let span = tracing::info_span!("access_deferred", access_providers = batch.len());
        for (outcome, span) in engine.finish_deferred(batch).instrument(span).await {
            report(&outcome, &span);
            outcomes.push(outcome).await?;
        }
    }
    tracing::info!(
        access_providers = count,
        statements = engine.counters.statements,
        round_trips = engine.counters.round_trips,
        mode = ?mode,
        "access export processed"
    );
    Ok(())
}

/// How much of a chunk an access provider takes: its who and what entries (at least 1).
fn weight_of(ap: &ExportedAccessProvider) -> usize {
    (ap.who.users.len()
        + ap.who.groups.len()
        + ap.who.inherit_from.len()
        + ap.what.len()
        + ap.delete_what.len())
    .max(1)
}

fn report(outcome: &AccessOutcome, span: &tracing::Span) {
    let _entered = span.enter();
    let grants = outcome
        .statements
        .iter()
        .filter(|s| s.starts_with("GRANT "))
        .count();
    let revokes = outcome
        .statements
        .iter()
        .filter(|s| s.starts_with("REVOKE "))
        .count();
    tracing::info!(
        statements = outcome.statements.len(),
        grants,
        revokes,
        errors = outcome.feedback.errors.len(),
        warnings = outcome.feedback.warnings.len(),
        "access provider done"
    );
}

/// An access provider's outcome once its chunk is done; held to the end of the export while
/// `pending` is not empty (memberships in roles not created yet).
struct Held {
    outcome: AccessOutcome,
    /// Raito ids of the access providers whose roles inherit from this one.
    pending: Vec<String>,
    span: tracing::Span,
}

/// The connections of a run: one per database, opened when first needed, kept for the run.
struct Connections<'c> {
    config: &'c Config,
    mode: ApplyMode,
    endpoint: String,
    /// The connection to `pg-database`: roles are cluster-wide, read and changed here.
    main: Client,
    /// Connections to the other databases.
    others: HashMap<String, Client>,
}

impl Connections<'_> {
    /// Opens (once) the connection to `database`.
    async fn open(&mut self, database: &str, counters: &mut Counters) -> Result<(), Failure> {
        if database == self.config.database || self.others.contains_key(database) {
            return Ok(());
        }
        let client = open(self.config, database, self.mode)
            .await
            .map_err(|e| format!("database {database:?}: {e}"))?;
        counters.sent(settings(self.mode).split(';').count() as u64, 1);
        self.others.insert(database.to_owned(), client);
        Ok(())
    }

    /// The open connection to `database` (see [`Self::open`]).
    fn client(&self, database: &str) -> Result<&Client, Failure> {
        if database == self.config.database {
            return Ok(&self.main);
        }
        self.others
            .get(database)
            .ok_or_else(|| format!("database {database:?}: not connected"))
    }

    /// A closed main connection means nothing more can be done: the run fails.
    fn check(&self) -> Result<(), Error> {
        if self.main.is_closed() {
            return Err(Error::Connect {
                connector: NAME,
                endpoint: self.endpoint.clone(),
                source: "the connection was closed during the access sync".into(),
            });
        }
        Ok(())
    }
}

/// The run's state: the connections, the planner and what the run did so far, what was read
/// once for the run, and the counters.
struct Engine<'c> {
    config: &'c Config,
    mode: ApplyMode,
    connections: Connections<'c>,
    planner: Planner<'c>,
    /// The connecting role, the roles of the access providers applied (or planned) so far,
    /// the names claimed.
    run: Run,
    /// The roles carrying each access provider's marker when the run started (read once: the
    /// comments have no index), by Raito id. Roles this run creates are in `run`.
    marked: HashMap<String, Vec<u32>>,
    /// The chunks started so far.
    chunks: u64,
    /// Per database, the privileges of every role marked when the run started, read once
    /// from the second chunk on (a one-chunk export reads only its own roles').
    indexes: HashMap<String, GrantIndex>,
    counters: Counters,
}

impl<'c> Engine<'c> {
    async fn start(config: &'c Config, mode: ApplyMode) -> Result<Self, Error> {
        let main = open(config, &config.database, mode).await?;
        let endpoint = format!("{} (database {:?})", config.endpoint(), config.database);
        let (current_user, standard) = state::session(&main)
            .await
            .map_err(|e| client::classify(e, &endpoint, "reading the session"))?;
        if !standard {
            return Err(Error::InvalidRequest {
                connector: NAME,
                message: "standard_conforming_strings could not be turned on; literals \
                          cannot be quoted safely"
                    .to_owned(),
            });
        }
        let mut marked: HashMap<String, Vec<u32>> = HashMap::new();
        for (oid, comment) in state::marked_roles(&main)
            .await
            .map_err(|e| client::classify(e, &endpoint, "reading the managed roles"))?
        {
            if let Some(id) = managed_for(&comment) {
                marked.entry(id.to_owned()).or_default().push(oid);
            }
        }
        Ok(Self {
            config,
            mode,
            connections: Connections {
                config,
                mode,
                endpoint,
                main,
                others: HashMap::new(),
            },
            planner: Planner::new(config),
            run: Run {
                current_user,
                ..Run::default()
            },
            marked,
            chunks: 0,
            indexes: HashMap::new(),
            counters: Counters {
                // The session settings, the session read and the markers read.
                statements: settings(mode).split(';').count() as u64 + 2,
                round_trips: 3,
            },
        })
    }

    /// Applies (or plans) one chunk of access providers: the snapshot read set-based in
    /// stages, planning in memory, one batch per database and step.
    async fn process_chunk(&mut self, aps: Vec<ExportedAccessProvider>) -> Vec<Held> {
        self.chunks += 1;
        let spans: Vec<tracing::Span> = aps
            .iter()
            .map(|ap| {
                tracing::info_span!("access_provider", id = %ap.id, role = tracing::field::Empty)
            })
            .collect();
        let mut chunk: Vec<Planned> = aps.into_iter().map(Planned::new).collect();
        let mut snapshot = Snapshot::default();

        let (names, ids) = plan::roles_to_read(&chunk, &self.run);
        if (!names.is_empty() || !ids.is_empty())
            && let Err(failure) = self.read_roles(&mut snapshot, names, ids).await
        {
            fail_all(&mut chunk, &failure);
        }
        plan::find_existing(&mut chunk, &snapshot, &self.run);
        let (existing, deleting) = plan::role_state_to_read(&chunk);
        if let Err(failure) = self
            .read_role_state(&mut snapshot, &existing, &deleting)
            .await
        {
            fail_all(&mut chunk, &failure);
        }
        let preparation = loop {
            match self.planner.prepare(&chunk, &snapshot, &self.run) {
                Ok(preparation) => break preparation,
                Err(unread) => {
                    // Ends: the names read are in the snapshot from now on, and those that
                    // could not be read fail their access providers.
                    let names: BTreeSet<String> = unread
                        .iter()
                        .flat_map(|(_, names)| names.iter().cloned())
                        .collect();
                    if let Err(failure) = self.read_names(&mut snapshot, names).await {
                        for (index, _) in unread {
                            chunk[index].fail(failure.clone());
                        }
                    }
                }
            }
        };
        self.planner.accept(&mut chunk, preparation, &mut self.run);
        for (planned, span) in chunk.iter().zip(&spans) {
            if planned.already_absent() {
                let _entered = span.enter();
                tracing::debug!("role already absent");
            }
        }
        let needs = plan::databases_to_read(&chunk);
        self.read_databases(&mut snapshot, needs).await;
        self.planner.transactions(&mut chunk, &snapshot);
        self.execute(&mut chunk).await;
        chunk
            .into_iter()
            .zip(spans)
            .map(|(mut planned, span)| {
                planned.finish();
                let role = planned.outcome.feedback.actual_name.as_str();
                if !role.is_empty() {
                    span.record("role", role);
                }
                Held {
                    outcome: planned.outcome,
                    pending: planned.pending,
                    span,
                }
            })
            .collect()
    }

    /// Reads the roles named `names` or marked for one of `ids` into the snapshot: one query.
    async fn read_roles(
        &mut self,
        snapshot: &mut Snapshot,
        names: Vec<String>,
        ids: Vec<String>,
    ) -> Result<(), Failure> {
        let oids: Vec<u32> = ids
            .iter()
            .filter_map(|id| self.marked.get(id))
            .flatten()
            .copied()
            .collect();
        self.counters.reads(1);
        let roles = state::roles_named_or_numbered(&self.connections.main, &names, &oids)
            .await
            .map_err(|e| read_failure(e, "reading roles"))?;
        snapshot.add_roles(names, ids, roles);
        Ok(())
    }

    /// Reads the roles named `names` (candidate names the planner asked for): one query.
    async fn read_names(
        &mut self,
        snapshot: &mut Snapshot,
        names: BTreeSet<String>,
    ) -> Result<(), Failure> {
        self.read_roles(snapshot, names.into_iter().collect(), Vec::new())
            .await
    }

    /// Reads the members and databases of the chunk's `existing` roles, and what the roles
    /// `deleting` own: one query each.
    async fn read_role_state(
        &mut self,
        snapshot: &mut Snapshot,
        existing: &[u32],
        deleting: &[u32],
    ) -> Result<(), Failure> {
        if existing.is_empty() {
            return Ok(());
        }
        let main = &self.connections.main;
        self.counters.reads(2);
        snapshot.members = state::members_of(main, existing)
            .await
            .map_err(|e| read_failure(e, "reading role members"))?;
        snapshot.databases_of = state::databases_of(main, existing)
            .await
            .map_err(|e| read_failure(e, "reading the databases the role has privileges in"))?;
        if !deleting.is_empty() {
            self.counters.reads(1);
            snapshot.owned = state::owned_by(main, deleting)
                .await
                .map_err(|e| read_failure(e, "reading what the role owns"))?;
        }
        Ok(())
    }

    /// Reads, per database the chunk involves, the objects it names, the privileges of its
    /// existing roles and the managed policies: at most three queries per database. A
    /// database that cannot be read keeps the reason, for the access providers needing it.
    async fn read_databases(
        &mut self,
        snapshot: &mut Snapshot,
        needs: BTreeMap<String, DatabaseNeeds>,
    ) {
        for (database, needs) in needs {
            let mut state = DatabaseState::default();
            if let Err(failure) = self.read_database(&database, &needs, &mut state).await {
                state.error = Some(failure);
            }
            snapshot.databases.insert(database, state);
        }
    }

    async fn read_database(
        &mut self,
        database: &str,
        needs: &DatabaseNeeds,
        state: &mut DatabaseState,
    ) -> Result<(), Failure> {
        self.connections.open(database, &mut self.counters).await?;
        let read = |what: &str| {
            let what = format!("{what} in database {database:?}");
            move |e| read_failure(e, &what)
        };
        let roles: Vec<u32> = needs.roles.iter().copied().collect();
        // The privileges' reads are counted by `grants_of`.
        let reads = u64::from(!needs.objects.is_empty()) + u64::from(!roles.is_empty());
        self.counters.reads(reads);
        let excluded_schemas = self.config.excluded_schemas_in(database);
        let client = self.connections.client(database)?;
        if !needs.objects.is_empty() {
            let objects: Vec<&_> = needs.objects.iter().collect();
            let found = state::find(client, &objects)
                .await
                .map_err(read("looking up the what items"))?;
            state.found = objects.into_iter().cloned().zip(found).collect();
        }
        if !roles.is_empty() {
            state.grants = self.grants_of(database, &roles, &excluded_schemas).await?;
            let client = self.connections.client(database)?;
            state.policies = state::managed_policies(client)
                .await
                .map_err(read("reading row-level-security policies"))?;
        }
        Ok(())
    }

    /// The privileges of `roles` in `database`: from the database's [`GrantIndex`] from the
    /// second chunk on (read now when it is the first use), else, and for roles it does not
    /// cover (marked after the run started), by a query of their own.
    async fn grants_of(
        &mut self,
        database: &str,
        roles: &[u32],
        excluded_schemas: &[String],
    ) -> Result<HashMap<u32, BTreeSet<Grant>>, Failure> {
        let failed = |e| {
            read_failure(
                e,
                &format!("reading the roles' privileges in database {database:?}"),
            )
        };
        if self.chunks > 1 && !self.indexes.contains_key(database) {
            let marked: Vec<u32> = self.marked.values().flatten().copied().collect();
            self.counters.reads(1);
            let client = self.connections.client(database)?;
            let index = GrantIndex::read(client, &marked, excluded_schemas)
                .await
                .map_err(failed)?;
            tracing::debug!(
                database,
                roles = marked.len(),
                "privileges of the managed roles read"
            );
            self.indexes.insert(database.to_owned(), index);
        }
        let (mut grants, uncovered) = match self.indexes.get(database) {
            Some(index) => {
                let (covered, uncovered): (Vec<u32>, Vec<u32>) =
                    roles.iter().partition(|role| index.covers(**role));
                (index.grants_of(&covered), uncovered)
            }
            None => (HashMap::new(), roles.to_vec()),
        };
        if !uncovered.is_empty() {
            self.counters.reads(1);
            let client = self.connections.client(database)?;
            grants.extend(
                state::grants_of(client, &uncovered, excluded_schemas)
                    .await
                    .map_err(failed)?,
            );
        }
        Ok(grants)
    }

    /// Runs (apply) or records (plan) the chunk's transactions: the first step of every
    /// access provider, one batch per database (`pg-database` first), then the second step
    /// of those whose first step committed.
    async fn execute(&mut self, chunk: &mut [Planned]) {
        for step in 0..2 {
            let mut batches: BTreeMap<(bool, String), Vec<Entry>> = BTreeMap::new();
            for (index, planned) in chunk.iter_mut().enumerate() {
                for (database, statements) in planned.take_step(step) {
                    if !statements.is_empty() {
                        batches
                            .entry((database != self.config.database, database))
                            .or_default()
                            .push((index, statements));
                    }
                }
            }
            let mut failures: BTreeMap<usize, Vec<Failure>> = BTreeMap::new();
            for ((_, database), entries) in batches {
                let results = if self.mode == ApplyMode::Apply {
                    let span = tracing::info_span!("access_batch", database = %database, step);
                    self.send(&database, &entries).instrument(span).await
                } else {
                    entries.iter().map(|_| Ok(())).collect()
                };
                for ((index, statements), result) in entries.into_iter().zip(results) {
                    match result {
                        Ok(()) => chunk[index].outcome.statements.extend(statements),
                        Err(failure) => failures.entry(index).or_default().push(failure),
                    }
                }
            }
            for (index, failures) in failures {
                let planned = &mut chunk[index];
                if step == 0 && !planned.ap.delete {
                    // Its role may not exist: later access providers must not count on it.
                    self.run.roles.remove(&planned.ap.id);
                }
                planned.fail(failures.join("; "));
            }
        }
    }

    /// Sends `entries` on `database` as one batch ([`batch::send`]), opening the connection
    /// first when needed. One result per entry.
    async fn send(&mut self, database: &str, entries: &[Entry]) -> Vec<Result<(), Failure>> {
        let client = match self.connections.open(database, &mut self.counters).await {
            Ok(()) => self.connections.client(database),
            Err(failure) => Err(failure),
        };
        match client {
            Ok(client) => batch::send(client, database, entries, &mut self.counters).await,
            Err(failure) => entries.iter().map(|_| Err(failure.clone())).collect(),
        }
    }

    /// Makes the memberships that waited for the end of the export (for up to a chunk of
    /// held outcomes): one read of the roles, one of their members, one batch.
    async fn finish_deferred(&mut self, held: Vec<Held>) -> Vec<(AccessOutcome, tracing::Span)> {
        let mut snapshot = Snapshot::default();
        let (names, ids) = plan::deferred_to_read(
            held.iter().map(|h| {
                (
                    h.outcome.feedback.actual_name.as_str(),
                    h.pending.as_slice(),
                )
            }),
            &self.run,
        );
        let mut read = self.read_roles(&mut snapshot, names, ids).await;
        if read.is_ok() {
            let oids: Vec<u32> = snapshot.roles.values().flatten().map(|r| r.oid).collect();
            if !oids.is_empty() {
                self.counters.reads(1);
                match state::members_of(&self.connections.main, &oids).await {
                    Ok(members) => snapshot.members = members,
                    Err(e) => read = Err(read_failure(e, "reading role members")),
                }
            }
        }
        let mut done = Vec::new();
        let mut entries = Vec::new();
        for held in held {
            let Held {
                mut outcome,
                pending,
                span,
            } = held;
            if let Err(failure) = &read {
                outcome.feedback.errors.push(failure.clone());
                done.push((outcome, span, Vec::new()));
                continue;
            }
            let deferred = plan::deferred_memberships(
                &outcome.feedback.actual_name,
                &pending,
                &snapshot,
                &self.run,
            );
            outcome.feedback.warnings.extend(deferred.warnings);
            if !deferred.statements.is_empty() {
                entries.push((done.len(), deferred.statements));
            }
            done.push((outcome, span, deferred.errors));
        }
        let database = self.config.database.clone();
        let results = if self.mode == ApplyMode::Apply && !entries.is_empty() {
            self.send(&database, &entries).await
        } else {
            entries.iter().map(|_| Ok(())).collect()
        };
        for ((index, statements), result) in entries.into_iter().zip(results) {
            let (outcome, _, errors) = &mut done[index];
            match result {
                Ok(()) => outcome.statements.extend(statements),
                Err(failure) => *errors = vec![failure],
            }
        }
        done.into_iter()
            .map(|(mut outcome, span, errors)| {
                if !errors.is_empty() {
                    outcome.feedback.errors.push(errors.join("; "));
                }
                (outcome, span)
            })
            .collect()
    }
}

/// A read every access provider of the chunk needed failed: each still alive fails with it.
fn fail_all(chunk: &mut [Planned], failure: &Failure) {
    chunk.iter_mut().for_each(|p| p.fail(failure.clone()));
}

/// The session settings of a connection in `mode`.
fn settings(mode: ApplyMode) -> String {
    let mut settings = SESSION.to_owned();
    if mode == ApplyMode::Plan {
        // Plan mode must not change anything, whatever happens: every transaction read-only.
        settings.push_str("; SET default_transaction_read_only = on");
    }
    settings
}

/// Opens a connection with the engine's session settings.
async fn open(config: &Config, database: &str, mode: ApplyMode) -> Result<Client, Error> {
    let client = client::connect(config, database).await?;
    client.batch_execute(&settings(mode)).await.map_err(|e| {
        client::classify(
            e,
            &format!("{} (database {database:?})", config.endpoint()),
            "setting up the session",
        )
    })?;
    Ok(client)
}

fn read_failure(error: tokio_postgres::Error, what: &str) -> Failure {
    format!("{what}: {}", describe(&error))
}
