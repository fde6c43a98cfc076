//! Applies Raito's exported access providers to PostgreSQL (or plans them: works out the
//! statements without executing any).
//!
//! **What an access provider becomes.** One `NOLOGIN` role per access provider, named from its
//! naming hint ([`super::names`]) and marked with [`super::managed_comment`]. Its `who` users
//! and groups become members of the role (`GRANT role TO user`), and so do the roles in
//! `who.inheritFrom` (their members get this access provider's access). Its `what` becomes
//! privileges on databases, schemas, relations and columns, plus what the parents need to be
//! reached (USAGE on the schema, CONNECT on the database). A `filtered` access provider becomes
//! a row-level-security policy `AS PERMISSIVE FOR SELECT TO role USING (rule)` on each of its
//! tables ([`super::filter`]); row-level security itself must already be enabled on the table
//! (enabling it would hide the rows from every role without a policy, so this connector never
//! does). `mask`, `deny`, `share` and the deprecated actions cannot be expressed in PostgreSQL
//! and fail in the feedback.
//!
//! **Diff, not replay.** The current members, privileges (`aclexplode` of the ACL columns) and
//! managed policies of the role are read, and only the difference is issued as GRANT and
//! REVOKE statements ([`super::diff`]). `who` and `what` are complete, so anything the role
//! has beyond them is revoked (`deleteWhat` and `deletedWho` are covered by that; a privilege
//! named in `deleteWhat` is revoked even if `what` names it too). Running the same export again
//! issues nothing.
//!
//! **Transactions.** The export is read in chunks of at most [`CHUNK_ACCESS_PROVIDERS`]
//! access providers (or [`CHUNK_WEIGHT`] who and what entries), so memory stays bounded. For
//! a chunk the current state is read set-based (the roles by name and by marker, their
//! memberships and databases in one query each; per database the objects named, the
//! privileges of the chunk's roles and the managed policies), except what every chunk would
//! read again: the markers (which roles are managed for which access provider) are read once
//! per run, and from the second chunk on the privileges of every managed role are read once
//! per database ([`GrantIndex`]: the database's, a schema's and a table's ACLs hold an entry
//! per role, so each chunk would expand them whole again), every access provider is
//! planned in memory, and the statements are sent per database as one
//! `BEGIN; <first access provider's statements>; <second's>; …; COMMIT;` batch (one round
//! trip). Each access provider keeps transactional semantics of its own within that batch:
//! when a statement fails the server aborts the batch, the failing access provider is found
//! by counting the statements that completed, it is reported in its feedback, and the batch
//! is sent again without it (so a batch converges in failures + 1 round trips). The role's own
//! statements (create, rename, memberships) go with its privileges in one database (the
//! configured `pg-database` when the access provider has privileges there or none anywhere,
//! else the first database it has privileges in); its privileges in every other database
//! follow, in the next batch of that database (PostgreSQL cannot span databases in one
//! transaction). A failure takes that access provider's statements out of that database's
//! transaction and is reported in its feedback; what was committed in other databases stays,
//! every database is consistent on its own, and because applying is a diff the next run
//! converges. A failing access provider never stops the others. The closing event counts the
//! statements sent (reads included) and the round trips.
//!
//! **Deletion.** `delete: true` revokes every privilege of the role and drops its managed
//! policies in each database it has any (other databases first, in the first batch of the
//! chunk), then drops the role (in the second). Objects
//! the role owns are never dropped or reassigned: such a role is reported and left alone. A
//! role that does not exist is already deleted.
//!
//! **Inheritance.** `inheritFrom` names a role, or `ID:<raito id>` for another access
//! provider's role, found by its marker. When that role does not exist yet because its access
//! provider comes later in the export, the membership is made at the end of the export and the
//! outcome held until then.
//!
//! **Safety.** Only managed roles are altered, renamed, dropped or revoked from; the
//! connecting role's own memberships, system roles (`pg_*`) and superusers are never changed;
//! ownership is never touched; system schemas and excluded databases and schemas are never
//! read or changed. Every identifier and literal is quoted ([`super::names`]); each connection
//! sets `standard_conforming_strings = on`, a `lock_timeout` (DDL waits at most that long for
//! a lock instead of queueing behind long transactions and blocking everyone after it) and a
//! `statement_timeout`. In plan mode every connection is `default_transaction_read_only`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::StreamExt as _;
use tokio_postgres::{Client, SimpleQueryMessage};
use tracing::Instrument;

use super::super::config::Config;
use super::super::{NAME, client};
use super::diff::{self, CurrentPolicy, RoleChange, WantedPolicy};
use super::names::{self, quote_ident};
use super::state::{self, Found, GrantIndex, ManagedPolicy, Role};
use super::what::{self, Catalog, Grant, Grants, Item, Object};
use super::{filter, managed_comment, managed_for};
use crate::connector::{AccessOutcome, ApplyMode, Error, Sink, Source};
use crate::model::access::{
    AccessProviderFeedback, Action, ExportedAccessProvider, inherit_from_raito_id,
};

/// Session settings of every connection: literals are written for standard strings; DDL waits
/// a bounded time for its locks; no statement runs forever.
const SESSION: &str = "SET standard_conforming_strings = on; SET lock_timeout = '10s'; \
                       SET statement_timeout = '5min'; SET idle_in_transaction_session_timeout = '5min'";

/// The access provider type this connector applies.
const ROLE_TYPE: &str = "role";

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
                    held.push(Held {
                        outcome: work.outcome,
                        pending: work.pending,
                        span: work.span,
                    });
                }
            }
            engine.check_connection()?;
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
        statements = engine.statements,
        round_trips = engine.round_trips,
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

/// An outcome waiting for the end of the export: memberships in roles not created yet.
struct Held {
    outcome: AccessOutcome,
    /// Raito ids of the access providers whose roles inherit from this one.
    pending: Vec<String>,
    span: tracing::Span,
}

/// Why an access provider could not be (fully) applied; goes to its feedback.
type Failure = String;

/// One access provider of a chunk, from its arrival to its outcome.
struct Work {
    ap: ExportedAccessProvider,
    span: tracing::Span,
    outcome: AccessOutcome,
    /// Raito ids of inheriting access providers whose roles do not exist yet.
    pending: Vec<String>,
    /// Why it failed: nothing more is done for it.
    failure: Option<Failure>,
    /// The role it already has.
    existing: Option<Role>,
    /// What it asks for, before the databases are read.
    intent: Option<Intent>,
    /// Its transactions.
    plan: Option<Plan>,
}

impl Work {
    fn new(ap: ExportedAccessProvider) -> Self {
        let span =
            tracing::info_span!("access_provider", id = %ap.id, role = tracing::field::Empty);
        let outcome = AccessOutcome {
            feedback: AccessProviderFeedback {
                access_provider: ap.id.clone(),
                actual_name: ap.actual_name.clone().unwrap_or_default(),
                r#type: Some(ROLE_TYPE.to_owned()),
                ..Default::default()
            },
            statements: Vec::new(),
        };
        Self {
            ap,
            span,
            outcome,
            pending: Vec::new(),
            failure: None,
            existing: None,
            intent: None,
            plan: None,
        }
    }

    fn alive(&self) -> bool {
        self.failure.is_none()
    }

    fn fail(&mut self, failure: Failure) {
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
    }

    /// The failure goes to the feedback; the role to the external id.
    fn finish(&mut self) {
        if let Some(failure) = self.failure.take() {
            self.outcome.feedback.errors.push(failure);
            self.pending.clear();
        }
        let feedback = &mut self.outcome.feedback;
        if !feedback.actual_name.is_empty() {
            feedback.external_id = Some(feedback.actual_name.clone());
            self.span.record("role", feedback.actual_name.as_str());
        }
    }
}

/// What an access provider asks for, worked out from the roles (before the databases are
/// read).
enum Intent {
    Grant(GrantIntent),
    Delete {
        role: Role,
        databases: Vec<String>,
    },
    /// Deleting a role that does not exist.
    Nothing,
}

struct GrantIntent {
    role: String,
    role_oid: Option<u32>,
    items: Vec<Item>,
    wanted: Grants,
    expression: Option<String>,
    /// The role's own statements: create or rename, memberships.
    role_statements: Vec<String>,
    databases: BTreeSet<String>,
}

/// The transactions of one access provider, (database, statements) each: the first step's,
/// then, when they all committed, the second's.
struct Plan {
    steps: [Vec<(String, Vec<String>)>; 2],
}

/// One access provider's transaction in a batch: its index in the chunk, its statements.
type Entry = (usize, Vec<String>);

/// What a chunk needs from one database, and what was read there.
#[derive(Default)]
struct DatabaseState {
    /// Why it could not be read: every access provider needing it fails.
    error: Option<Failure>,
    objects: BTreeSet<Object>,
    roles: BTreeSet<u32>,
    found: HashMap<Object, Found>,
    grants: HashMap<u32, BTreeSet<Grant>>,
    policies: Vec<ManagedPolicy>,
}

/// The run's state: connections (one per database, kept for the run), what earlier access
/// providers of this export became, what was read for the current chunk, and the counters.
struct Engine<'c> {
    config: &'c Config,
    mode: ApplyMode,
    catalog: Catalog,
    endpoint: String,
    /// The connection to `pg-database`: roles are cluster-wide, read and changed here.
    main: Client,
    /// Connections to the other databases, opened when first needed.
    others: HashMap<String, Client>,
    /// The connecting role: never changed.
    current_user: String,
    /// Raito id → role name of the access providers applied (or planned) in this run.
    run_roles: HashMap<String, String>,
    /// Role names planned in this run (not necessarily created yet, so they are reserved).
    claimed: HashSet<String>,
    /// Chunk: roles by name (`None`: no such role).
    roles: HashMap<String, Option<Role>>,
    /// Chunk: the roles carrying the marker of each access provider id, by name.
    markers: HashMap<String, Vec<Role>>,
    /// Chunk: the members of the existing roles.
    members: HashMap<u32, BTreeSet<String>>,
    /// Chunk: the databases the existing roles hold privileges in.
    role_databases: HashMap<u32, Vec<String>>,
    /// Chunk: how many objects the roles to delete own.
    owned: HashMap<u32, i64>,
    /// The roles carrying each access provider's marker when the run started (read once: the
    /// comments have no index), by Raito id. Roles this run creates are in `run_roles`.
    marked: HashMap<String, Vec<u32>>,
    /// The chunks started so far.
    chunks: u64,
    /// Per database, the privileges of every role marked when the run started, read once
    /// from the second chunk on (a one-chunk export reads only its own roles').
    indexes: HashMap<String, GrantIndex>,
    /// Statements sent (reads included).
    statements: u64,
    /// Queries and batches sent.
    round_trips: u64,
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
            catalog: Catalog::new(),
            endpoint,
            main,
            others: HashMap::new(),
            current_user,
            run_roles: HashMap::new(),
            claimed: HashSet::new(),
            roles: HashMap::new(),
            markers: HashMap::new(),
            members: HashMap::new(),
            role_databases: HashMap::new(),
            owned: HashMap::new(),
            marked,
            chunks: 0,
            indexes: HashMap::new(),
            statements: settings(mode).split(';').count() as u64 + 2,
            round_trips: 3,
        })
    }

    /// Counts `n` read queries.
    fn reads(&mut self, n: u64) {
        self.statements += n;
        self.round_trips += n;
    }

    /// A closed main connection means nothing more can be done: the run fails.
    fn check_connection(&self) -> Result<(), Error> {
        if self.main.is_closed() {
            return Err(Error::Connect {
                connector: NAME,
                endpoint: self.endpoint.clone(),
                source: "the connection was closed during the access sync".into(),
            });
        }
        Ok(())
    }

    /// Opens (once) the connection to `database`.
    async fn open(&mut self, database: &str) -> Result<(), Failure> {
        if database == self.config.database || self.others.contains_key(database) {
            return Ok(());
        }
        let client = open(self.config, database, self.mode)
            .await
            .map_err(|e| format!("database {database:?}: {e}"))?;
        self.round_trips += 1;
        self.statements += settings(self.mode).split(';').count() as u64;
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

    /// Applies (or plans) one chunk of access providers: set-based reads, planning in memory,
    /// one batch per database and step.
    async fn process_chunk(&mut self, aps: Vec<ExportedAccessProvider>) -> Vec<Work> {
        self.chunks += 1;
        let mut works: Vec<Work> = aps.into_iter().map(Work::new).collect();
        for work in &mut works {
            if let Err(failure) = validate(&work.ap) {
                work.fail(failure);
            }
        }
        if let Err(failure) = self.read_roles(&works).await {
            works.iter_mut().for_each(|w| w.fail(failure.clone()));
        }
        for work in works.iter_mut().filter(|w| w.alive()) {
            let _entered = work.span.clone().entered();
            match self.existing_role(&work.ap, &mut work.outcome.feedback.warnings) {
                Ok(existing) => {
                    if let Some(role) = &existing
                        && let Err(failure) = self.check_changeable(role)
                    {
                        work.fail(failure);
                    }
                    work.existing = existing;
                }
                Err(failure) => work.fail(failure),
            }
        }
        if let Err(failure) = self.read_role_state(&works).await {
            works.iter_mut().for_each(|w| w.fail(failure.clone()));
        }
        for work in works.iter_mut().filter(|w| w.alive()) {
            let span = work.span.clone();
            match self.prepare(work).instrument(span).await {
                Ok(intent) => work.intent = Some(intent),
                Err(failure) => work.fail(failure),
            }
        }
        let databases = self.read_databases(&works).await;
        for work in works.iter_mut().filter(|w| w.alive()) {
            let _entered = work.span.clone().entered();
            let Some(intent) = work.intent.take() else {
                continue;
            };
            let mut errors = Vec::new();
            let plan = self.finish(&work.ap, intent, &databases, &mut errors);
            if errors.is_empty() {
                work.plan = Some(plan);
            } else {
                work.fail(errors.join("; "));
            }
        }
        self.execute(&mut works).await;
        works.iter_mut().for_each(Work::finish);
        works
    }

    /// Reads every role the chunk names (actual names, base names, members, inherited roles)
    /// and every role carrying the marker of one of its access providers (or of one they
    /// inherit from by id): one query.
    async fn read_roles(&mut self, works: &[Work]) -> Result<(), Failure> {
        self.roles.clear();
        self.markers.clear();
        self.members.clear();
        self.role_databases.clear();
        self.owned.clear();
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for work in works.iter().filter(|w| w.alive()) {
            let ap = &work.ap;
            if let Some(actual) = ap.actual_name.as_deref().filter(|a| !a.is_empty()) {
                names.insert(actual.to_owned());
            }
            names.insert(names::base_name(&ap.naming_hint, &ap.name, &ap.id));
            names.extend(ap.who.users.iter().cloned());
            names.extend(ap.who.groups.iter().cloned());
            for entry in &ap.who.inherit_from {
                match inherit_from_raito_id(entry) {
                    Some(id) if !self.run_roles.contains_key(id) => {
                        ids.insert(id.to_owned());
                    }
                    Some(_) => {}
                    None => {
                        names.insert(entry.clone());
                    }
                }
            }
            ids.insert(ap.id.clone());
        }
        if names.is_empty() && ids.is_empty() {
            return Ok(());
        }
        self.fetch_roles(names.into_iter().collect(), ids.into_iter().collect())
            .await
    }

    /// Reads the roles named `names` or marked for one of `ids` into the chunk's caches.
    async fn fetch_roles(&mut self, names: Vec<String>, ids: Vec<String>) -> Result<(), Failure> {
        let oids: Vec<u32> = ids
            .iter()
            .filter_map(|id| self.marked.get(id))
            .flatten()
            .copied()
            .collect();
        self.reads(1);
        let roles = state::roles_named_or_numbered(&self.main, &names, &oids)
            .await
            .map_err(|e| read_failure(e, "reading roles"))?;
        for name in names {
            self.roles.entry(name).or_insert(None);
        }
        for id in ids {
            self.markers.entry(id).or_default();
        }
        for role in roles {
            if let Some(id) = managed_for(&role.comment)
                && let Some(marked) = self.markers.get_mut(id)
            {
                marked.push(role.clone());
            }
            self.roles.insert(role.name.clone(), Some(role));
        }
        Ok(())
    }

    /// The role named `name`: from the chunk's cache, else read (and cached).
    async fn role_named(&mut self, name: &str) -> Result<Option<Role>, Failure> {
        if let Some(role) = self.roles.get(name) {
            return Ok(role.clone());
        }
        self.reads(1);
        let role = state::role_by_name(&self.main, name)
            .await
            .map_err(|e| read_failure(e, "reading roles"))?;
        self.roles.insert(name.to_owned(), role.clone());
        Ok(role)
    }

    /// Reads the members and databases of the chunk's existing roles, and what the roles to
    /// delete own: one query each.
    async fn read_role_state(&mut self, works: &[Work]) -> Result<(), Failure> {
        let existing: Vec<u32> = works
            .iter()
            .filter(|w| w.alive())
            .filter_map(|w| w.existing.as_ref().map(|r| r.oid))
            .collect();
        if existing.is_empty() {
            return Ok(());
        }
        self.reads(2);
        self.members = state::members_of(&self.main, &existing)
            .await
            .map_err(|e| read_failure(e, "reading role members"))?;
        self.role_databases = state::databases_of(&self.main, &existing)
            .await
            .map_err(|e| read_failure(e, "reading the databases the role has privileges in"))?;
        let deleting: Vec<u32> = works
            .iter()
            .filter(|w| w.alive() && w.ap.delete)
            .filter_map(|w| w.existing.as_ref().map(|r| r.oid))
            .collect();
        if !deleting.is_empty() {
            self.reads(1);
            self.owned = state::owned_by(&self.main, &deleting)
                .await
                .map_err(|e| read_failure(e, "reading what the role owns"))?;
        }
        Ok(())
    }

    /// The role this access provider already has: its `actualName` when that is a role
    /// managed for it, else the role carrying its marker.
    fn existing_role(
        &self,
        ap: &ExportedAccessProvider,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Role>, Failure> {
        if let Some(actual) = ap.actual_name.as_deref().filter(|a| !a.is_empty())
            && let Some(Some(role)) = self.roles.get(actual)
        {
            if managed_for(&role.comment) == Some(ap.id.as_str()) {
                return Ok(Some(role.clone()));
            }
            return Err(format!(
                "the role {actual:?} (actualName) exists but is not managed by Raito for this \
                 access provider (its comment is not {:?}); nothing was changed. Remove \
                 actualName to let Raito create its own role",
                managed_comment(&ap.id)
            ));
        }
        let marked = self.markers.get(&ap.id).map(Vec::as_slice).unwrap_or(&[]);
        if marked.len() > 1 {
            warnings.push(format!(
                "several roles carry the marker of this access provider ({}); using {:?}",
                marked
                    .iter()
                    .map(|r| format!("{:?}", r.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                marked[0].name
            ));
        }
        Ok(marked.first().cloned())
    }

    /// Refuses to change a role that only looks managed: system roles, superusers, ourselves.
    fn check_changeable(&self, role: &Role) -> Result<(), Failure> {
        if role.name.starts_with("pg_") || role.superuser || role.name == self.current_user {
            return Err(format!(
                "the role {:?} carries Raito's marker but is a system role, a superuser or the \
                 connecting role; Raito never changes such roles",
                role.name
            ));
        }
        Ok(())
    }

    /// Keeps the current name unless the base name changed; otherwise the first free
    /// candidate (base name, then suffixed).
    async fn choose_name(
        &mut self,
        ap: &ExportedAccessProvider,
        base: &str,
        existing: Option<&Role>,
    ) -> Result<(String, RoleChange), Failure> {
        if let Some(role) = existing
            && names::follows_base(&role.name, base)
        {
            return Ok((role.name.clone(), RoleChange::Keep));
        }
        for candidate in names::candidates(base, &ap.id) {
            if self.claimed.contains(&candidate) {
                continue;
            }
            let holder = self.role_named(&candidate).await?;
            let free = match (&holder, existing) {
                (None, _) => true,
                (Some(h), Some(e)) => h.oid == e.oid,
                (Some(_), None) => false,
            };
            if free {
                let change = match existing {
                    None => RoleChange::Create,
                    Some(e) if e.name == candidate => RoleChange::Keep,
                    Some(e) => RoleChange::Rename {
                        from: e.name.clone(),
                    },
                };
                return Ok((candidate, change));
            }
        }
        Err(format!(
            "no free role name for base name {base:?}: it and {} suffixed variants are taken",
            names::SUFFIX_ATTEMPTS
        ))
    }

    /// Works out what the access provider asks for from the roles read: its name, its own
    /// statements, the privileges wanted and the databases involved (or what to delete).
    async fn prepare(&mut self, work: &mut Work) -> Result<Intent, Failure> {
        let ap = &work.ap;
        let outcome = &mut work.outcome;
        let existing = work.existing.as_ref();
        let base = names::base_name(&ap.naming_hint, &ap.name, &ap.id);
        if ap.delete {
            let Some(role) = existing.cloned() else {
                if outcome.feedback.actual_name.is_empty() {
                    outcome.feedback.actual_name = base;
                }
                tracing::debug!("role already absent");
                return Ok(Intent::Nothing);
            };
            outcome.feedback.actual_name = role.name.clone();
            let owned = self.owned.get(&role.oid).copied().unwrap_or(0);
            if owned > 0 {
                return Err(format!(
                    "the role {:?} owns {owned} object(s); Raito never drops or reassigns owned \
                     objects. Transfer their ownership (ALTER … OWNER TO) and sync again; \
                     nothing was changed",
                    role.name
                ));
            }
            let databases = self
                .role_databases
                .get(&role.oid)
                .cloned()
                .unwrap_or_default();
            let errors: Vec<String> = databases
                .iter()
                .filter(|d| self.config.excluded_databases.contains(d))
                .map(|database| {
                    format!(
                        "the role has privileges in the excluded database {database:?}, which \
                         Raito does not touch; revoke them there and sync again"
                    )
                })
                .collect();
            if !errors.is_empty() {
                return Err(errors.join("; "));
            }
            return Ok(Intent::Delete { role, databases });
        }
        let (name, change) = self.choose_name(ap, &base, existing).await?;
        outcome.feedback.actual_name = name.clone();

        let warnings = &mut outcome.feedback.warnings;
        let filtered = ap.action == Action::Filtered;
        let mut errors = Vec::new();

        // What: parsed and checked against the permission model.
        let mut items = Vec::new();
        for w in &ap.what {
            match self.catalog.item(w, !filtered) {
                Ok(item) if filtered && !what::is_relation_type(&item.r#type) => {
                    errors.push(format!(
                        "what {:?}: a row filter applies to tables only",
                        w.data_object.full_name
                    ))
                }
                Ok(item) => items.push(item),
                Err(e) => errors.push(e),
            }
        }
        let mut delete_items = Vec::new();
        for w in &ap.delete_what {
            match self.catalog.item(w, true) {
                Ok(item) => delete_items.push(item),
                Err(e) => warnings.push(format!("deleteWhat ignored: {e}")),
            }
        }
        // deleteWhat only narrows: its objects may be gone, or in databases the role never
        // had privileges in (those it has are all read anyway).
        delete_items.retain(|item| !self.config.excluded_databases.contains(&item.database));
        for item in &items {
            if self.config.excluded_databases.contains(&item.database) {
                errors.push(format!(
                    "what {}: the database is excluded from the sync (pg-excluded-databases)",
                    item.object.full_name(&item.database)
                ));
            }
        }
        let expression = if filtered {
            match ap.policy_rule.as_deref().map(str::trim) {
                Some(rule) if !rule.is_empty() => match filter::render(rule) {
                    Ok(expression) => Some(expression),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
                _ => {
                    errors.push(
                        "a filtered access provider needs a policyRule (a SQL expression); \
                         filterCriteria alone is not supported by PostgreSQL"
                            .to_owned(),
                    );
                    None
                }
            }
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }

        let mut wanted: Grants = if filtered {
            Grants::new()
        } else {
            what::wanted(&items)
        };
        for item in &delete_items {
            for privilege in &item.privileges {
                let grant = Grant::new(item.object.clone(), privilege.clone());
                if let Some(set) = wanted.get_mut(&item.database)
                    && set.remove(&grant)
                {
                    warnings.push(format!(
                        "{privilege} on {} is in both what and deleteWhat; it is revoked",
                        item.object.full_name(&item.database)
                    ));
                }
            }
        }

        // Who.
        let mut role_statements = diff::role_statements(&change, &name, &managed_comment(&ap.id));
        role_statements.extend(self.members(ap, &name, existing, warnings, &mut work.pending));

        // The databases involved.
        let mut databases: BTreeSet<String> = wanted.keys().cloned().collect();
        databases.extend(items.iter().map(|i| i.database.clone()));
        if let Some(role) = existing
            && let Some(held) = self.role_databases.get(&role.oid)
        {
            databases.extend(
                held.iter()
                    .filter(|d| !self.config.excluded_databases.contains(d))
                    .cloned(),
            );
        }
        self.run_roles.insert(ap.id.clone(), name.clone());
        self.claimed.insert(name.clone());
        Ok(Intent::Grant(GrantIntent {
            role: name,
            role_oid: existing.map(|r| r.oid),
            items,
            wanted,
            expression,
            role_statements,
            databases,
        }))
    }

    /// The role of another access provider by its Raito id: applied earlier in this run, or
    /// found by its marker.
    fn resolve_id(&self, id: &str) -> Option<String> {
        if let Some(role) = self.run_roles.get(id) {
            return Some(role.clone());
        }
        self.markers
            .get(id)
            .and_then(|marked| marked.first())
            .map(|r| r.name.clone())
    }

    /// The membership statements: who's users and groups and the inheriting roles, against
    /// the current members. Missing users and groups are warnings; inheriting access providers
    /// whose roles do not exist yet go to `pending`.
    fn members(
        &self,
        ap: &ExportedAccessProvider,
        name: &str,
        existing: Option<&Role>,
        warnings: &mut Vec<String>,
        pending: &mut Vec<String>,
    ) -> Vec<String> {
        let mut candidates: Vec<(String, &str)> = Vec::new();
        for user in &ap.who.users {
            candidates.push((user.clone(), "user"));
        }
        for group in &ap.who.groups {
            candidates.push((group.clone(), "group"));
        }
        for entry in &ap.who.inherit_from {
            match inherit_from_raito_id(entry) {
                Some(id) => match self.resolve_id(id) {
                    Some(role) => candidates.push((role, "inheriting role")),
                    None => pending.push(id.to_owned()),
                },
                None => candidates.push((entry.clone(), "inheriting role")),
            }
        }
        let mut wanted = BTreeSet::new();
        for (member, kind) in candidates {
            let known = self.roles.get(&member).and_then(Option::as_ref);
            if member == name {
                warnings.push(format!("{kind} {member:?} is the role itself; skipped"));
            } else if member == self.current_user {
                warnings.push(format!(
                    "{kind} {member:?} is the connecting role, whose memberships Raito never \
                     changes; skipped"
                ));
            } else if member.starts_with("pg_") {
                warnings.push(format!(
                    "{kind} {member:?} is a system role, which Raito never changes; skipped"
                ));
            } else if known.is_some_and(|r| r.superuser) {
                warnings.push(format!(
                    "{kind} {member:?} is a superuser, which has every privilege already and \
                     whose memberships Raito never changes; skipped"
                ));
            } else if known.is_some() || self.claimed.contains(&member) {
                wanted.insert(member);
            } else {
                warnings.push(format!(
                    "{kind} {member:?} does not exist in PostgreSQL; not granted"
                ));
            }
        }
        let current = match existing {
            Some(role) => {
                let mut members = self.members.get(&role.oid).cloned().unwrap_or_default();
                // PostgreSQL 16 makes the creating role an admin member; never revoked.
                members.remove(&self.current_user);
                members
            }
            None => BTreeSet::new(),
        };
        diff::member_statements(name, &wanted, &current)
    }

    /// Reads, per database the chunk involves, the objects it names, the privileges of its
    /// existing roles and the managed policies: at most three queries per database.
    async fn read_databases(&mut self, works: &[Work]) -> BTreeMap<String, DatabaseState> {
        let mut databases: BTreeMap<String, DatabaseState> = BTreeMap::new();
        for work in works.iter().filter(|w| w.alive()) {
            match &work.intent {
                Some(Intent::Grant(intent)) => {
                    for database in &intent.databases {
                        let state = databases.entry(database.clone()).or_default();
                        state.objects.extend(
                            intent
                                .items
                                .iter()
                                .filter(|i| &i.database == database)
                                .map(|i| i.object.clone()),
                        );
                        state.roles.extend(intent.role_oid);
                    }
                }
                Some(Intent::Delete {
                    role,
                    databases: held,
                }) => {
                    for database in held {
                        databases
                            .entry(database.clone())
                            .or_default()
                            .roles
                            .insert(role.oid);
                    }
                }
                Some(Intent::Nothing) | None => {}
            }
        }
        for (database, state) in &mut databases {
            if let Err(failure) = self.read_database(database, state).await {
                state.error = Some(failure);
            }
        }
        databases
    }

    async fn read_database(
        &mut self,
        database: &str,
        state: &mut DatabaseState,
    ) -> Result<(), Failure> {
        self.open(database).await?;
        let read = |what: &str| {
            let what = format!("{what} in database {database:?}");
            move |e| read_failure(e, &what)
        };
        let roles: Vec<u32> = state.roles.iter().copied().collect();
        // The privileges' reads are counted by `grants_of`.
        let reads = u64::from(!state.objects.is_empty()) + u64::from(!roles.is_empty());
        self.reads(reads);
        let excluded_schemas = self.config.excluded_schemas_in(database);
        let client = self.client(database)?;
        if !state.objects.is_empty() {
            let objects: Vec<&Object> = state.objects.iter().collect();
            let found = state::find(client, &objects)
                .await
                .map_err(read("looking up the what items"))?;
            state.found = objects.into_iter().cloned().zip(found).collect();
        }
        if !roles.is_empty() {
            state.grants = self.grants_of(database, &roles, &excluded_schemas).await?;
            let client = self.client(database)?;
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
            self.reads(1);
            let index = GrantIndex::read(self.client(database)?, &marked, excluded_schemas)
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
            self.reads(1);
            let client = self.client(database)?;
            grants.extend(
                state::grants_of(client, &uncovered, excluded_schemas)
                    .await
                    .map_err(failed)?,
            );
        }
        Ok(grants)
    }

    /// Every statement of the access provider, in its transactions. Problems go to `errors`.
    fn finish(
        &self,
        ap: &ExportedAccessProvider,
        intent: Intent,
        databases: &BTreeMap<String, DatabaseState>,
        errors: &mut Vec<String>,
    ) -> Plan {
        let no_state = DatabaseState::default();
        let state_of = |database: &str| databases.get(database).unwrap_or(&no_state);
        match intent {
            Intent::Nothing => Plan {
                steps: [Vec::new(), Vec::new()],
            },
            Intent::Delete {
                role,
                databases: held,
            } => {
                let mut by_database = BTreeMap::new();
                for database in held {
                    let state = state_of(&database);
                    if let Some(error) = &state.error {
                        errors.push(error.clone());
                        continue;
                    }
                    let current = state.grants.get(&role.oid).cloned().unwrap_or_default();
                    let policies = current_policies(state, &ap.id, Some(role.oid));
                    let mut statements = diff::policy_statements(&role.name, &[], &policies);
                    statements.extend(diff::grant_statements(
                        &database,
                        &role.name,
                        &BTreeSet::new(),
                        &current,
                    ));
                    by_database.insert(database, statements);
                }
                let primary = self.config.database.clone();
                let mut last = by_database.remove(&primary).unwrap_or_default();
                last.push(format!("DROP ROLE {}", quote_ident(&role.name)));
                Plan {
                    steps: [by_database.into_iter().collect(), vec![(primary, last)]],
                }
            }
            Intent::Grant(intent) => {
                let mut by_database = BTreeMap::new();
                for database in &intent.databases {
                    let items: Vec<&Item> = intent
                        .items
                        .iter()
                        .filter(|i| &i.database == database)
                        .collect();
                    let empty = BTreeSet::new();
                    let wanted = intent.wanted.get(database).unwrap_or(&empty);
                    let statements = self.plan_database(
                        ap,
                        database,
                        &intent,
                        &items,
                        wanted,
                        state_of(database),
                        errors,
                    );
                    by_database.insert(database.clone(), statements);
                }
                let primary = if by_database
                    .get(&self.config.database)
                    .is_some_and(|s| !s.is_empty())
                {
                    self.config.database.clone()
                } else {
                    by_database
                        .iter()
                        .find(|(_, s)| !s.is_empty())
                        .map(|(d, _)| d.clone())
                        .unwrap_or_else(|| self.config.database.clone())
                };
                let mut first = intent.role_statements;
                first.extend(by_database.remove(&primary).unwrap_or_default());
                Plan {
                    steps: [vec![(primary, first)], by_database.into_iter().collect()],
                }
            }
        }
    }

    /// The grant, revoke and policy statements for one database. Missing objects and tables
    /// without row-level security are added to `errors`.
    #[allow(clippy::too_many_arguments)]
    fn plan_database(
        &self,
        ap: &ExportedAccessProvider,
        database: &str,
        intent: &GrantIntent,
        items: &[&Item],
        wanted: &BTreeSet<Grant>,
        state: &DatabaseState,
        errors: &mut Vec<String>,
    ) -> Vec<String> {
        if let Some(error) = &state.error {
            errors.push(error.clone());
            return Vec::new();
        }
        let role = intent.role.as_str();
        let expression = intent.expression.as_deref();
        let excluded_schemas = self.config.excluded_schemas_in(database);
        for item in items {
            let full_name = item.object.full_name(&item.database);
            let schema = match &item.object {
                Object::Schema(s) | Object::Relation(s, _) | Object::Column(s, _, _) => Some(s),
                Object::Database => None,
            };
            if schema.is_some_and(|s| {
                excluded_schemas.contains(s) || s.starts_with("pg_") || s == "information_schema"
            }) {
                errors.push(format!(
                    "what {full_name}: the schema is a system schema or excluded from the sync"
                ));
                continue;
            }
            let found = state.found.get(&item.object).cloned().unwrap_or_default();
            if !found.exists {
                errors.push(format!("what {full_name} ({}) does not exist", item.r#type));
                continue;
            }
            if let Some(relkind) = &found.relkind
                && !what::relkinds(&item.r#type).contains(&relkind.as_str())
            {
                errors.push(format!(
                    "what {full_name} is not a {} in PostgreSQL (relkind {relkind})",
                    item.r#type
                ));
                continue;
            }
            if expression.is_some() {
                if !matches!(found.relkind.as_deref(), Some("r" | "p")) {
                    errors.push(format!(
                        "what {full_name}: row filters apply to tables only"
                    ));
                } else if !found.row_security {
                    errors.push(format!(
                        "what {full_name}: row-level security is off on this table, so a row \
                         filter would have no effect. Raito never enables it itself, because \
                         that hides every row from roles without a policy: review the table's \
                         other users, run ALTER TABLE … ENABLE ROW LEVEL SECURITY, then sync \
                         again"
                    ));
                }
            }
        }

        let current = intent
            .role_oid
            .and_then(|oid| state.grants.get(&oid))
            .cloned()
            .unwrap_or_default();
        let mut statements = diff::grant_statements(database, role, wanted, &current);

        let current_policies = current_policies(state, &ap.id, intent.role_oid);
        let wanted_policies: Vec<WantedPolicy> = match expression {
            Some(expression) => {
                let fingerprint = names::fingerprint(expression);
                items
                    .iter()
                    .filter_map(|item| match &item.object {
                        Object::Relation(s, t) => Some(WantedPolicy {
                            schema: s.clone(),
                            table: t.clone(),
                            name: policy_name(&ap.id),
                            expression: expression.to_owned(),
                            fingerprint: fingerprint.clone(),
                            comment: state::policy_comment(&ap.id, &fingerprint),
                        }),
                        _ => None,
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        statements.extend(diff::policy_statements(
            role,
            &wanted_policies,
            &current_policies,
        ));
        statements
    }

    /// Runs (apply) or records (plan) the chunk's transactions: the first step of every
    /// access provider, one batch per database (`pg-database` first), then the second step
    /// of those whose first step committed.
    async fn execute(&mut self, works: &mut [Work]) {
        for step in 0..2 {
            let mut batches: BTreeMap<(bool, String), Vec<Entry>> = BTreeMap::new();
            for (index, work) in works.iter_mut().enumerate() {
                if !work.alive() {
                    continue;
                }
                let Some(plan) = &mut work.plan else {
                    continue;
                };
                for (database, statements) in std::mem::take(&mut plan.steps[step]) {
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
                    self.batch(&database, &entries).instrument(span).await
                } else {
                    entries.iter().map(|_| Ok(())).collect()
                };
                for ((index, statements), result) in entries.into_iter().zip(results) {
                    match result {
                        Ok(()) => works[index].outcome.statements.extend(statements),
                        Err(failure) => failures.entry(index).or_default().push(failure),
                    }
                }
            }
            for (index, failures) in failures {
                let work = &mut works[index];
                if step == 0 && !work.ap.delete {
                    self.run_roles.remove(&work.ap.id);
                }
                work.fail(failures.join("; "));
            }
        }
    }

    /// Sends the transactions of several access providers on `database` as one
    /// `BEGIN; …; COMMIT;` batch. When a statement fails, the access provider it belongs to is
    /// found by counting the statements that completed; it is taken out and the batch sent
    /// again (after a `ROLLBACK` in the same round trip). A failure that is no statement's
    /// (the connection lost, the session ended by the server) fails every entry with that
    /// reason. One result per entry.
    async fn batch(&mut self, database: &str, entries: &[Entry]) -> Vec<Result<(), Failure>> {
        if let Err(failure) = self.open(database).await {
            return entries.iter().map(|_| Err(failure.clone())).collect();
        }
        let mut results: Vec<Result<(), Failure>> = entries.iter().map(|_| Ok(())).collect();
        let mut alive: Vec<usize> = (0..entries.len()).collect();
        let mut aborted = false;
        while !alive.is_empty() {
            let mut batch = String::new();
            if aborted {
                batch.push_str("ROLLBACK;\n");
            }
            batch.push_str("BEGIN;\n");
            let mut count = 0u64;
            for &k in &alive {
                for statement in &entries[k].1 {
                    batch.push_str(statement);
                    batch.push_str(";\n");
                    count += 1;
                }
            }
            batch.push_str("COMMIT;");
            let offset = 1 + usize::from(aborted);
            self.round_trips += 1;
            self.statements += count;
            let client = match self.client(database) {
                Ok(client) => client,
                Err(failure) => {
                    for k in alive.drain(..) {
                        results[k] = Err(failure.clone());
                    }
                    break;
                }
            };
            let Err((completed, error)) = run_counting(client, &batch).await else {
                aborted = false;
                break;
            };
            aborted = true;
            let failing = completed.checked_sub(offset).and_then(|mut index| {
                alive.iter().position(|&k| {
                    let n = entries[k].1.len();
                    if index < n {
                        true
                    } else {
                        index -= n;
                        false
                    }
                })
            });
            match failing {
                Some(position) if error.as_db_error().is_some() && !ends_session(&error) => {
                    let k = alive.remove(position);
                    tracing::warn!(database, error = %describe(&error), "transaction rolled back");
                    results[k] = Err(format!(
                        "in database {database:?}: {}; the {} statements of this database were \
                         rolled back",
                        describe(&error),
                        entries[k].1.len()
                    ));
                }
                _ => {
                    // Not one access provider's statement (the connection failed, the server
                    // ended the session, or BEGIN or COMMIT failed): the whole batch failed,
                    // for the same reason.
                    tracing::warn!(database, error = %describe(&error), "batch rolled back");
                    let failure = format!(
                        "in database {database:?}: {}; the transaction was rolled back",
                        describe(&error)
                    );
                    for k in alive.drain(..) {
                        results[k] = Err(failure.clone());
                    }
                }
            }
        }
        if aborted {
            // End the aborted transaction. Best effort: the connection may be gone, which the
            // next use reports.
            self.round_trips += 1;
            self.statements += 1;
            if let Ok(client) = self.client(database) {
                let _ = client.batch_execute("ROLLBACK").await;
            }
        }
        results
    }

    /// Makes the memberships that waited for the end of the export (for up to a chunk of
    /// held outcomes): one read of the roles, one of their members, one batch.
    async fn finish_deferred(&mut self, held: Vec<Held>) -> Vec<(AccessOutcome, tracing::Span)> {
        self.roles.clear();
        self.markers.clear();
        self.members.clear();
        let names: Vec<String> = held
            .iter()
            .map(|h| h.outcome.feedback.actual_name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ids: Vec<String> = held
            .iter()
            .flat_map(|h| h.pending.iter())
            .filter(|id| !self.run_roles.contains_key(*id))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut read = self.fetch_roles(names, ids).await;
        if read.is_ok() {
            let oids: Vec<u32> = self.roles.values().flatten().map(|r| r.oid).collect();
            if !oids.is_empty() {
                self.reads(1);
                match state::members_of(&self.main, &oids).await {
                    Ok(members) => self.members = members,
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
            let role = outcome.feedback.actual_name.clone();
            let current = match self.roles.get(&role).and_then(Option::as_ref) {
                Some(r) => self.members.get(&r.oid).cloned().unwrap_or_default(),
                None => BTreeSet::new(),
            };
            let mut wanted = BTreeSet::new();
            let mut errors = Vec::new();
            for id in &pending {
                match self.resolve_id(id) {
                    Some(inheritor) if inheritor == self.current_user => {
                        outcome.feedback.warnings.push(format!(
                            "inheriting role {inheritor:?} is the connecting role; skipped"
                        ));
                    }
                    Some(inheritor) => {
                        wanted.insert(inheritor);
                    }
                    None => errors.push(format!(
                        "inheritFrom ID:{id}: no role of that access provider exists (it was \
                         not applied in this export and no role carries its marker)"
                    )),
                }
            }
            let statements: Vec<String> = wanted
                .difference(&current)
                .map(|m| format!("GRANT {} TO {}", quote_ident(&role), quote_ident(m)))
                .collect();
            if !statements.is_empty() {
                entries.push((done.len(), statements));
            }
            done.push((outcome, span, errors));
        }
        let database = self.config.database.clone();
        let results = if self.mode == ApplyMode::Apply && !entries.is_empty() {
            self.batch(&database, &entries).await
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

/// The managed policies of access provider `id` in a database, as seen for its role.
fn current_policies(state: &DatabaseState, id: &str, role: Option<u32>) -> Vec<CurrentPolicy> {
    match role {
        Some(oid) => state
            .policies
            .iter()
            .filter(|p| p.id == id)
            .map(|p| p.for_role(oid))
            .collect(),
        None => Vec::new(),
    }
}

/// Whether the server ended the session with this error (`FATAL` or `PANIC`, e.g. the backend
/// was terminated): the statement running then is not at fault, and nothing more can be sent
/// on that connection.
fn ends_session(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::Severity;
    error
        .as_db_error()
        .and_then(|db| db.parsed_severity())
        .is_some_and(|severity| matches!(severity, Severity::Fatal | Severity::Panic))
}

/// Sends a batch with the simple query protocol; on failure, how many statements completed
/// before it (each completed statement sends one `CommandComplete`).
async fn run_counting(client: &Client, batch: &str) -> Result<(), (usize, tokio_postgres::Error)> {
    let stream = client.simple_query_raw(batch).await.map_err(|e| (0, e))?;
    let mut stream = std::pin::pin!(stream);
    let mut completed = 0;
    while let Some(message) = stream.next().await {
        match message {
            Ok(SimpleQueryMessage::CommandComplete(_)) => completed += 1,
            Ok(_) => {}
            Err(e) => return Err((completed, e)),
        }
    }
    Ok(())
}

/// The checks that need no catalog: the type, the action, and NUL bytes (which PostgreSQL
/// cannot store, and which would fail the reads of the whole chunk). Keys the model does not
/// know are warned about by the pipeline (`sync::access`), as the Go CLI ignores them.
fn validate(ap: &ExportedAccessProvider) -> Result<(), Failure> {
    if let Some((field, value)) = nul_field(ap) {
        return Err(format!(
            "{field} {value:?} contains a NUL byte, which PostgreSQL cannot store in a name or \
             text; nothing was applied"
        ));
    }
    if let Some(t) = ap.r#type.as_deref()
        && !t.is_empty()
        && !t.eq_ignore_ascii_case(ROLE_TYPE)
    {
        return Err(format!(
            "access provider type {t:?} is not supported by PostgreSQL (only {ROLE_TYPE:?})"
        ));
    }
    if !ap.delete && !matches!(ap.action, Action::Grant | Action::Filtered) {
        return Err(format!(
            "the PostgreSQL connector cannot apply action {:?} (supported: grant, \
             filtered); nothing was applied",
            ap.action.as_str()
        ));
    }
    Ok(())
}

/// The first field (name, value) of the access provider the connector uses that holds a NUL.
fn nul_field(ap: &ExportedAccessProvider) -> Option<(&'static str, &str)> {
    let mut fields: Vec<(&'static str, &str)> = vec![
        ("id", ap.id.as_str()),
        ("name", ap.name.as_str()),
        ("namingHint", ap.naming_hint.as_str()),
    ];
    fields.extend(ap.actual_name.as_deref().map(|a| ("actualName", a)));
    fields.extend(ap.policy_rule.as_deref().map(|r| ("policyRule", r)));
    fields.extend(ap.who.users.iter().map(|u| ("who user", u.as_str())));
    fields.extend(ap.who.groups.iter().map(|g| ("who group", g.as_str())));
    fields.extend(
        ap.who
            .inherit_from
            .iter()
            .map(|i| ("inheritFrom", i.as_str())),
    );
    for (field, items) in [("what", &ap.what), ("deleteWhat", &ap.delete_what)] {
        for item in items {
            fields.push((field, item.data_object.full_name.as_str()));
            fields.push((field, item.data_object.r#type.as_str()));
            fields.extend(item.permissions.iter().map(|p| (field, p.as_str())));
        }
    }
    fields.into_iter().find(|(_, value)| value.contains('\0'))
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

/// The name of the row-level-security policy of access provider `id`: stable across role
/// renames, recognisable, and distinct per access provider.
fn policy_name(id: &str) -> String {
    format!("raito_filter_{}", names::id_token(id))
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

/// The server's message (with detail and hint) or the driver's.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        None => error.to_string(),
    }
}
