//! Applies Raito's access providers to Snowflake as roles and grants (or plans them: reads
//! the account, works out the statements, executes none), with the Go connector's semantics
//! (raito-io/cli-plugin-snowflake snowflake/data_access_sync_to_target.go) where they are safe.
//!
//! **What an access provider becomes.** A `grant` or `purpose` access provider is an account
//! role (`type: role`, the default) or, for `type: databaseRole`, a database role in the
//! database of its first what item (else of its external id), named as Go names it
//! ([`super::names`]). Its who users are granted the role (`GRANT ROLE … TO USER`; a database
//! role takes no users, as in Go); the roles of `who.inheritFrom` (a role's external id, or
//! `ID:<raito id>` for another access provider's role) are granted it; its what becomes object
//! privileges ([`super::what`]). `mask` and `filtered` access providers (masking and row
//! access policies) are not built yet and fail in their feedback (on Standard Edition, as
//! Standard Edition has no policies); `share` fails in its feedback too.
//!
//! **Which roles it manages.** A role this connector creates carries the comment
//! [`managed_comment`]`(id)`. A role is changed, renamed or dropped only when its comment is
//! that marker for the access provider at hand, or the comment the Go connector writes on the
//! roles it creates (`Created by Raito from access provider …` / `Updated by …`): a customer
//! coming from the Go CLI keeps its roles, and they get the marker. An `actualName` naming any
//! other role fails the access provider and changes nothing. A role carrying the marker of an
//! access provider whose `actualName` was lost is found by the marker.
//!
//! **Never touched.** OWNERSHIP (never granted, revoked or transferred; a managed role that
//! owns objects is not dropped, since Snowflake would hand its objects to the connecting
//! role), the connecting role (`sf-role`), Snowflake's system roles and `sf-excluded-roles`
//! (neither granted to nor revoked from: such inheritFrom entries are left out with a
//! warning), shares, grants made by Snowflake itself and privileges the connector does not
//! manage.
//!
//! **Diff, not replay.** The members (`SHOW GRANTS OF`) and privileges (`SHOW GRANTS TO`) of
//! each existing role are read, and only the difference is issued; who, inheritance and what
//! are complete, so what the role has beyond them is revoked (unless that part is locked).
//! A re-run issues nothing.
//!
//! **Batches.** An access provider's statements are one `BEGIN … COMMIT`; many access
//! providers go into one multi-statement request (up to [`MAX_STATEMENTS`] statements), a few
//! requests in flight at once (`sf-worker-pool-size`). Snowflake commits DDL and GRANT/REVOKE
//! as they run (a transaction does not make them atomic), and a failing statement stops its
//! request with the statements before it executed. Every statement is written to be
//! idempotent (`IF [NOT] EXISTS`; a repeated GRANT or REVOKE changes nothing), so a request
//! that fails is sent again one access provider per request: that locates the failing access
//! provider (its error goes to its feedback) and applies the others. The failing one may be
//! half applied; the next run reads what is there and converges. Grants of a role to the role
//! of an access provider created in the same run are sent after every access provider of the
//! run, and those outcomes are held until then.
//!
//! **Reads.** `SHOW ROLES` once per run (every role with its comment, 10,000 a page);
//! `SHOW DATABASE ROLES` once per database that database-role access providers use; two
//! `SHOW GRANTS` per existing role (none for a new one), `sf-worker-pool-size` at once; the
//! schemas and tables of a database once per run, only when a database or schema item has to
//! be expanded. Plan mode sends these reads only.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use tracing::Instrument as _;

use super::super::client::{Client, quote_ident, quote_literal};
use super::super::config::Config;
use super::super::metadata;
use super::super::metadata_model::{AP_TYPE_DATABASE_ROLE, AP_TYPE_ROLE};
use super::import::{
    Listing, NOT_INTERNALIZABLE, database_role_external_id, list_roles,
    parse_database_role_external_id, split_names,
};
use super::names::{self, Generator};
use super::what::{self, CatalogCache, Expander, Grant, Permissions, Relation};
use super::{managed_comment, managed_for};
use crate::connector::{AccessOutcome, ApplyMode, Error, Sink, Source};
use crate::model::access::{
    AccessProviderFeedback, Action, ExportedAccessProvider, inherit_from_raito_id,
};

/// At most this many access providers are read, planned and sent together.
pub const CHUNK: usize = 500;

/// At most this many statements go into one multi-statement request.
pub const MAX_STATEMENTS: usize = 1_000;

/// And at most this much text.
const MAX_REQUEST_BYTES: usize = 512 * 1024;

/// How the Go connector's role comments start (data_access_sync_to_target.go
/// `createComment`): roles it created, which this connector takes over.
const GO_COMMENTS: &[&str] = &[
    "Created by Raito from access provider ",
    "Updated by Raito from access provider ",
];

/// What an apply did, for the closing log line and the benchmark.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyCounts {
    /// Access providers read from the export.
    pub access_providers: u64,
    /// Of those, failed (an error in the feedback).
    pub failed: u64,
    /// Read statements sent (SHOW, SELECT).
    pub reads: u64,
    /// Write statements executed (or planned), BEGIN and COMMIT not counted.
    pub writes: u64,
    /// Statements sent in multi-statement requests, BEGIN and COMMIT included.
    pub batched: u64,
    /// Multi-statement requests sent (retries one access provider at a time included).
    pub write_requests: u64,
    /// Requests the Go connector's pattern sends for the same writes: one per statement, and a
    /// comment on every existing role it fully controls.
    pub go_write_requests: u64,
}

/// A role: an account role, or a database role of a database.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum RoleRef {
    Account(String),
    Database(String, String),
}

impl RoleRef {
    /// The role in a statement: `"R"` or `"DB"."R"`.
    fn quoted(&self) -> String {
        match self {
            RoleRef::Account(r) => quote_ident(r),
            RoleRef::Database(d, r) => format!("{}.{}", quote_ident(d), quote_ident(r)),
        }
    }

    /// `ROLE "R"` or `DATABASE ROLE "DB"."R"`.
    fn grantee(&self) -> String {
        match self {
            RoleRef::Account(_) => format!("ROLE {}", self.quoted()),
            RoleRef::Database(..) => format!("DATABASE ROLE {}", self.quoted()),
        }
    }

    /// The Go connector's external id.
    fn external_id(&self) -> String {
        match self {
            RoleRef::Account(r) => r.clone(),
            RoleRef::Database(d, r) => database_role_external_id(d, r),
        }
    }

    fn name(&self) -> &str {
        match self {
            RoleRef::Account(r) | RoleRef::Database(_, r) => r,
        }
    }

    /// From an external id (an inheritFrom entry, a feedback's id).
    pub(super) fn from_external_id(id: &str) -> Self {
        match parse_database_role_external_id(id) {
            Some((d, r)) => RoleRef::Database(d.to_owned(), r.to_owned()),
            None => RoleRef::Account(id.to_owned()),
        }
    }
}

/// A role as SHOW lists it: its comment and owner.
#[derive(Clone, Debug)]
struct Shown {
    comment: String,
}

/// The roles of one scope (the account, or a database).
#[derive(Debug, Default)]
struct Scope {
    roles: HashMap<String, Shown>,
    names: Generator,
}

/// What an existing role has.
#[derive(Debug, Default)]
struct Held {
    users: BTreeSet<String>,
    roles: BTreeSet<RoleRef>,
    grants: BTreeSet<Grant>,
    /// Objects the role owns (never dropped with it).
    owns: Vec<String>,
}

/// What an access provider becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Role,
    /// Masking policies; applied after every role, at the end of the run.
    Mask,
    /// A row access policy per table, with the other filters of the table, at the end.
    Filter,
}

/// One access provider on its way through a chunk.
pub(super) struct Planned {
    pub(super) kind: Kind,
    pub(super) ap: ExportedAccessProvider,
    pub(super) outcome: AccessOutcome,
    /// Its role (for grant/purpose access providers that got one).
    pub(super) role: Option<RoleRef>,
    /// The existing role it takes over, if any (its name before a rename).
    pub(super) existing: Option<RoleRef>,
    held: Option<Held>,
    /// Grants of its role to roles made in this run, sent at the end: (grantee, or the raito
    /// id still to resolve).
    pub(super) deferred: Vec<Result<RoleRef, String>>,
    pub(super) failed: bool,
}

impl Planned {
    pub(super) fn fail(&mut self, error: impl Into<String>) {
        self.failed = true;
        self.outcome.feedback.errors.push(error.into());
    }

    pub(super) fn warn(&mut self, warning: impl Into<String>) {
        self.outcome.feedback.warnings.push(warning.into());
    }

    fn alive(&self) -> bool {
        !self.failed && self.role.is_some()
    }
}

pub(super) struct Engine<'a> {
    pub(super) config: &'a Config,
    pub(super) client: &'a Client,
    pub(super) mode: ApplyMode,
    pub(super) permissions: Permissions,
    account: Scope,
    databases: HashMap<String, Scope>,
    /// Raito id → role, from the markers read and the roles of this run.
    pub(super) by_id: HashMap<String, RoleRef>,
    /// Roles that existed when the run started or were made before the current chunk.
    pub(super) catalog: CatalogCache,
    pub(super) reads: AtomicU64,
    pub(super) counts: ApplyCounts,
    /// Outcomes waiting for the end-of-run grants.
    pub(super) held: Vec<Planned>,
    /// Masks and filters, applied at the end of the run (filters are grouped by table).
    pub(super) policies: Vec<Planned>,
}

/// Applies (or plans) the access providers, one outcome each.
pub async fn run(
    config: &Config,
    client: &Client,
    mode: ApplyMode,
    access_providers: &mut dyn Source<ExportedAccessProvider>,
    outcomes: &mut dyn Sink<AccessOutcome>,
) -> Result<ApplyCounts, Error> {
    let span = tracing::info_span!("snowflake access apply", mode = ?mode);
    async {
        let started = Instant::now();
        let mut engine = Engine {
            config,
            client,
            mode,
            permissions: Permissions::new(),
            account: Scope::default(),
            databases: HashMap::new(),
            by_id: HashMap::new(),
            catalog: CatalogCache::default(),
            reads: AtomicU64::new(0),
            counts: ApplyCounts::default(),
            held: Vec::new(),
            policies: Vec::new(),
        };
        engine.account = engine.read_scope(None).await?;
        for (name, shown) in &engine.account.roles {
            if let Some(id) = managed_for(&shown.comment) {
                engine
                    .by_id
                    .insert(id.to_owned(), RoleRef::Account(name.clone()));
            }
        }
        let mut chunk = Vec::new();
        loop {
            let next = access_providers.next().await?;
            let end = next.is_none();
            if let Some(ap) = next {
                engine.counts.access_providers += 1;
                chunk.push(ap);
            }
            if chunk.len() >= CHUNK || (end && !chunk.is_empty()) {
                let planned = engine.chunk(std::mem::take(&mut chunk)).await?;
                for planned in planned {
                    if planned.kind != Kind::Role && !planned.failed {
                        engine.policies.push(planned);
                    } else if planned.deferred.is_empty() {
                        engine.counts.failed += u64::from(planned.failed);
                        outcomes.push(planned.outcome).await?;
                    } else {
                        engine.held.push(planned);
                    }
                }
            }
            if end {
                break;
            }
        }
        for planned in engine.finish().await? {
            engine.counts.failed += u64::from(planned.failed);
            outcomes.push(planned.outcome).await?;
        }
        engine.counts.reads = engine.reads.load(Ordering::Relaxed);
        let counts = engine.counts.clone();
        tracing::info!(
            access_providers = counts.access_providers,
            failed = counts.failed,
            reads = counts.reads,
            writes = counts.writes,
            batched = counts.batched,
            write_requests = counts.write_requests,
            go_write_requests = counts.go_write_requests,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "applied access providers"
        );
        Ok(counts)
    }
    .instrument(span)
    .await
}

impl Engine<'_> {
    /// Counts a read sent through the client directly (one with bindings).
    pub(super) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) async fn query(
        &self,
        statement: &str,
    ) -> Result<super::super::client::Rows<'_>, Error> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.client.query(statement, &[]).await
    }

    /// The account's roles (`None`) or a database's, with their comments.
    async fn read_scope(&self, database: Option<&str>) -> Result<Scope, Error> {
        let listing = Listing::default();
        let roles: HashMap<String, Shown> =
            list_roles(self.client, database.map(str::to_owned), &listing)
                .map_ok(|role| {
                    (
                        role.name,
                        Shown {
                            comment: role.comment,
                        },
                    )
                })
                .try_collect()
                .await?;
        self.reads
            .fetch_add(listing.pages.load(Ordering::Relaxed), Ordering::Relaxed);
        let names = Generator::new(roles.keys().map(String::as_str));
        Ok(Scope { roles, names })
    }

    fn scope(&mut self, role: &RoleRef) -> Option<&mut Scope> {
        match role {
            RoleRef::Account(_) => Some(&mut self.account),
            RoleRef::Database(d, _) => self.databases.get_mut(d),
        }
    }

    fn shown(&self, role: &RoleRef) -> Option<&Shown> {
        match role {
            RoleRef::Account(r) => self.account.roles.get(r),
            RoleRef::Database(d, r) => self.databases.get(d)?.roles.get(r),
        }
    }

    /// Reads the database role scopes a chunk needs.
    async fn load_databases(&mut self, databases: BTreeSet<String>) -> Result<(), Error> {
        for database in databases {
            if self.databases.contains_key(&database) {
                continue;
            }
            let scope = self.read_scope(Some(&database)).await?;
            for (name, shown) in &scope.roles {
                if let Some(id) = managed_for(&shown.comment) {
                    self.by_id.insert(
                        id.to_owned(),
                        RoleRef::Database(database.clone(), name.clone()),
                    );
                }
            }
            self.databases.insert(database, scope);
        }
        Ok(())
    }

    /// Whether this connector may change `role`, for the access provider `id`.
    fn manages(&self, role: &RoleRef, id: &str) -> bool {
        self.shown(role).is_some_and(|shown| {
            managed_for(&shown.comment) == Some(id)
                || GO_COMMENTS.iter().any(|p| shown.comment.starts_with(p))
        })
    }

    /// Never granted to or revoked from: system roles, the connecting role, excluded roles.
    pub(super) fn protected(&self, role: &RoleRef) -> bool {
        match role {
            RoleRef::Account(r) => {
                NOT_INTERNALIZABLE.iter().any(|s| s.eq_ignore_ascii_case(r))
                    || self.config.role.eq_ignore_ascii_case(r)
                    || self.config.excluded_roles.iter().any(|e| e == r)
            }
            RoleRef::Database(d, r) => self
                .config
                .excluded_roles
                .iter()
                .any(|e| *e == format!("{d}.{r}")),
        }
    }

    async fn chunk(&mut self, chunk: Vec<ExportedAccessProvider>) -> Result<Vec<Planned>, Error> {
        let mut planned: Vec<Planned> = chunk.into_iter().map(|ap| self.classify(ap)).collect();
        // Database role scopes first: names and markers live there.
        let databases = planned
            .iter()
            .filter_map(|p| match &p.role {
                Some(RoleRef::Database(d, _)) => Some(d.clone()),
                _ => None,
            })
            .collect();
        self.load_databases(databases).await?;
        for p in planned.iter_mut().filter(|p| p.role.is_some() && !p.failed) {
            self.name(p);
        }
        self.read_held(&mut planned).await?;
        self.load_catalog(&planned).await?;
        for p in planned.iter_mut().filter(|p| p.alive()) {
            self.plan(p);
        }
        // Go comments every existing role it fully controls on every run
        // (data_access_sync_to_target.go `commentOnRoleIfExists`): one more request each.
        let locked = |f: Option<bool>| f == Some(true);
        self.counts.go_write_requests += planned
            .iter()
            .filter(|p| p.alive() && !p.ap.delete && p.existing.is_some())
            .filter(|p| {
                !locked(p.ap.who_locked)
                    && !locked(p.ap.what_locked)
                    && !locked(p.ap.inheritance_locked)
            })
            .count() as u64;
        self.execute(&mut planned).await?;
        for p in planned.iter().filter(|p| !p.failed) {
            if let Some(role) = &p.role {
                self.by_id.insert(p.ap.id.clone(), role.clone());
            }
        }
        Ok(planned)
    }

    /// What kind of access provider this is, and the scope of its role.
    fn classify(&self, ap: ExportedAccessProvider) -> Planned {
        let ap_type = ap
            .r#type
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| AP_TYPE_ROLE.to_owned());
        let mut planned = Planned {
            outcome: AccessOutcome {
                feedback: AccessProviderFeedback {
                    access_provider: ap.id.clone(),
                    actual_name: ap.actual_name.clone().unwrap_or_default(),
                    external_id: ap.external_id.clone(),
                    r#type: Some(ap_type.clone()),
                    ..AccessProviderFeedback::default()
                },
                statements: Vec::new(),
            },
            ap,
            role: None,
            existing: None,
            held: None,
            deferred: Vec::new(),
            failed: false,
            kind: Kind::Role,
        };
        let standard = "(sf-standard-edition: Snowflake Standard Edition has no masking or row \
                        access policies); nothing was changed";
        match planned.ap.action {
            Action::Grant | Action::Purpose => {}
            Action::Mask if self.config.standard_edition => {
                planned.fail(format!(
                    "masks are not supported on Standard Edition {standard}"
                ));
                return planned;
            }
            Action::Filtered if self.config.standard_edition => {
                planned.fail(format!(
                    "filters are not supported on Standard Edition {standard}"
                ));
                return planned;
            }
            Action::Mask => {
                planned.kind = Kind::Mask;
                return planned;
            }
            Action::Filtered => {
                planned.kind = Kind::Filter;
                // Go `groupFiltersByTable`.
                let single_table =
                    planned.ap.what.len() == 1 && planned.ap.what[0].data_object.r#type == "table";
                if !single_table {
                    planned.fail("Filters can only be applied to a single table.");
                }
                return planned;
            }
            Action::Share => {
                planned.fail(
                    "shares are not supported by this Snowflake connector yet; nothing was \
                     changed",
                );
                return planned;
            }
            ref other => {
                planned.fail(format!(
                    "action {other} is not supported by the Snowflake connector"
                ));
                return planned;
            }
        }
        let database_role = ap_type.eq_ignore_ascii_case(AP_TYPE_DATABASE_ROLE);
        if !database_role && !ap_type.eq_ignore_ascii_case(AP_TYPE_ROLE) {
            planned.fail(format!(
                "access provider type {ap_type:?} is not supported by the Snowflake connector \
                 (it applies {AP_TYPE_ROLE:?} and {AP_TYPE_DATABASE_ROLE:?})"
            ));
            return planned;
        }
        let ap = &planned.ap;
        // The role's current or last known name: for a deletion, Go's external id.
        let known = ap
            .external_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(RoleRef::from_external_id);
        planned.role = if database_role {
            // Go `extractRoleNamespace`: the first what item's database, else the external
            // id's.
            let database = ap
                .what
                .first()
                .and_then(|w| split_names(&w.data_object.full_name).into_iter().next())
                .or_else(|| match &known {
                    Some(RoleRef::Database(d, _)) => Some(d.clone()),
                    _ => None,
                });
            match database {
                Some(d) => Some(RoleRef::Database(d, String::new())),
                None => {
                    planned.fail(
                        "a database role needs a what item (or an external id) naming its \
                         database",
                    );
                    None
                }
            }
        } else {
            Some(RoleRef::Account(String::new()))
        };
        planned
    }

    /// Names the role (Go `generateUniqueExternalId`), finds the role it already has, and
    /// checks it may be changed.
    fn name(&mut self, p: &mut Planned) {
        let Some(scope_role) = p.role.clone() else {
            return;
        };
        let id = p.ap.id.clone();
        let database = match &scope_role {
            RoleRef::Database(d, _) => Some(d.clone()),
            RoleRef::Account(_) => None,
        };
        let make = |name: String| match &database {
            Some(d) => RoleRef::Database(d.clone(), name),
            None => RoleRef::Account(name),
        };
        // The name it had: the external id's role (Go keys on it), else actualName.
        let previous =
            p.ap.external_id
                .as_deref()
                .filter(|e| !e.is_empty())
                .map(RoleRef::from_external_id)
                .filter(|r| {
                    matches!((r, &database), (RoleRef::Account(_), None))
                        || matches!((r, &database), (RoleRef::Database(d, _), Some(db)) if d == db)
                })
                .or_else(|| {
                    p.ap.actual_name
                        .as_deref()
                        .filter(|a| !a.is_empty())
                        .map(|a| make(a.to_owned()))
                });
        if p.ap.delete {
            let target = previous.or_else(|| self.by_id.get(&id).cloned());
            match target {
                None => {
                    p.warn("no role is known for this access provider; nothing to delete");
                    p.role = None;
                }
                Some(role) => {
                    if self.shown(&role).is_some() && !self.manages(&role, &id) {
                        p.fail(format!(
                            "the role {:?} is not managed by Raito for this access provider \
                             (its comment is not {:?}); it was not dropped",
                            role.name(),
                            managed_comment(&id)
                        ));
                    }
                    p.outcome.feedback.actual_name = role.name().to_owned();
                    p.outcome.feedback.external_id = Some(role.external_id());
                    p.existing = self.shown(&role).is_some().then(|| role.clone());
                    p.role = Some(role);
                }
            }
            return;
        }
        // A previous name whose role is gone may be used again (Go keeps it when its base
        // holds).
        let vacant = previous
            .as_ref()
            .filter(|r| self.shown(r).is_none())
            .map(|r| r.name().to_owned());
        let existing = match previous.filter(|r| self.shown(r).is_some()) {
            Some(role) if self.manages(&role, &id) => Some(role),
            Some(role) => {
                p.fail(format!(
                    "the role {:?} (actualName) exists but is not managed by Raito for this \
                     access provider (its comment is not {:?}); nothing was changed. Remove \
                     actualName to let Raito create its own role",
                    role.name(),
                    managed_comment(&id)
                ));
                return;
            }
            None => self
                .by_id
                .get(&id)
                .filter(|r| self.shown(r).is_some())
                .cloned(),
        };
        let base = names::base_name(&p.ap.naming_hint, &p.ap.name, &id);
        let Some(scope) = self.scope(&scope_role) else {
            return;
        };
        let actual = existing.as_ref().map(|r| r.name().to_owned()).or(vacant);
        let name = scope.names.name_for(&base, actual.as_deref());
        let role = make(name);
        if let Some(old) = &existing
            && old != &role
            && self.shown(&role).is_some()
        {
            // The new name is another role's (Go drops the old one in this case; dropping
            // is not ours to do on a guess).
            p.fail(format!(
                "cannot rename the role {:?} to {:?}: a role of that name exists",
                old.name(),
                role.name()
            ));
            return;
        }
        p.outcome.feedback.actual_name = role.name().to_owned();
        p.outcome.feedback.external_id = Some(role.external_id());
        p.existing = existing;
        p.role = Some(role);
    }

    /// Reads the members and privileges of every existing role of the chunk, a few at a time.
    async fn read_held(&self, chunk: &mut [Planned]) -> Result<(), Error> {
        let work: Vec<(usize, RoleRef, bool, bool)> = chunk
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.failed)
            .filter_map(|(i, p)| {
                let role = p.existing.clone()?;
                let locked = |f: Option<bool>| f == Some(true);
                let who =
                    !(p.ap.delete || locked(p.ap.who_locked) && locked(p.ap.inheritance_locked));
                let what = p.ap.delete || !locked(p.ap.what_locked);
                Some((i, role, who, what))
            })
            .collect();
        let results: Vec<(usize, Held)> = stream::iter(work)
            .map(|(i, role, who, what)| async move {
                let mut held = Held::default();
                if who {
                    self.read_members(&role, &mut held).await?;
                }
                if what {
                    self.read_grants(&role, &mut held).await?;
                }
                Ok::<_, Error>((i, held))
            })
            .buffer_unordered(self.config.worker_pool_size.max(1))
            .try_collect()
            .await?;
        for (i, held) in results {
            chunk[i].held = Some(held);
        }
        Ok(())
    }

    async fn read_members(&self, role: &RoleRef, held: &mut Held) -> Result<(), Error> {
        let mut rows = self
            .query(&format!("SHOW GRANTS OF {}", role.grantee()))
            .await?;
        let (kind, grantee) = (rows.column("granted_to")?, rows.column("grantee_name")?);
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let name = unquote(row.get(grantee).unwrap_or_default());
                match row
                    .get(kind)
                    .unwrap_or_default()
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "USER" => {
                        held.users.insert(name);
                    }
                    "ROLE" => {
                        held.roles.insert(RoleRef::Account(name));
                    }
                    "DATABASE_ROLE" => {
                        if let [d, r] = split_names(row.get(grantee).unwrap_or_default()).as_slice()
                        {
                            held.roles.insert(RoleRef::Database(d.clone(), r.clone()));
                        }
                    }
                    // Shares and application roles: not this connector's.
                    _ => {}
                }
            }
        }
        Ok(())
    }

    async fn read_grants(&self, role: &RoleRef, held: &mut Held) -> Result<(), Error> {
        let mut rows = self
            .query(&format!("SHOW GRANTS TO {}", role.grantee()))
            .await?;
        let columns = (
            rows.column("privilege")?,
            rows.column("granted_on")?,
            rows.column("name")?,
            rows.column("granted_by")?,
        );
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let cell = |i| row.get(i).unwrap_or_default();
                let (privilege, on, name, by) = (
                    cell(columns.0),
                    cell(columns.1),
                    cell(columns.2),
                    cell(columns.3),
                );
                if privilege.eq_ignore_ascii_case("OWNERSHIP") && !on.eq_ignore_ascii_case("ROLE") {
                    held.owns.push(format!("{on} {name}"));
                }
                if let Some(grant) = what::held(&self.permissions, privilege, on, name, by) {
                    held.grants.insert(grant);
                }
            }
        }
        Ok(())
    }

    /// Reads the schemas, tables, warehouses and databases the chunk's expansions need.
    async fn load_catalog(&mut self, chunk: &[Planned]) -> Result<(), Error> {
        let expander = Expander {
            permissions: &self.permissions,
            catalog: &self.catalog,
        };
        let mut needs = what::Needs::default();
        for p in chunk.iter().filter(|p| p.alive() && !p.ap.delete) {
            let n = expander.needs(items(&p.ap));
            needs.databases.extend(n.databases);
            needs.warehouses |= n.warehouses;
            needs.all_databases |= n.all_databases;
        }
        if needs.is_empty() {
            return Ok(());
        }
        if needs.warehouses {
            let mut rows = self.query("SHOW WAREHOUSES").await?;
            let name = rows.column("name")?;
            let mut warehouses = Vec::new();
            while let Some(batch) = rows.next_batch().await? {
                warehouses.extend(batch.iter().filter_map(|r| r.get(name).map(str::to_owned)));
            }
            self.catalog.warehouses = Some(warehouses);
        }
        let mut databases = needs.databases;
        if needs.all_databases {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let (standard, pages) = metadata::standard_databases(self.client).await?;
            self.reads
                .fetch_add(pages.saturating_sub(1), Ordering::Relaxed);
            let names: Vec<String> = standard
                .into_iter()
                .map(|(d, _)| d)
                .filter(|d| !self.config.excluded_databases.contains(d))
                .collect();
            databases.extend(names.iter().cloned());
            self.catalog.databases = Some(names);
        }
        for database in databases {
            if self.catalog.schemas.contains_key(&database) {
                continue;
            }
            self.read_database(&database).await?;
        }
        Ok(())
    }

    pub(super) async fn read_database(&mut self, database: &str) -> Result<(), Error> {
        let db = quote_ident(database);
        let mut schemas = Vec::new();
        let mut rows = self.query(&metadata::schemata_statement(&db)).await?;
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                if let Some(schema) = row.get(1).filter(|s| *s != "INFORMATION_SCHEMA") {
                    schemas.push(schema.to_owned());
                }
            }
        }
        drop(rows);
        let mut rows = self
            .query(&format!(
                "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, COMMENT, IS_ICEBERG, \
                 IS_DYNAMIC FROM {db}.INFORMATION_SCHEMA.TABLES"
            ))
            .await?;
        let mut relations: HashMap<(String, String), Vec<Relation>> = HashMap::new();
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let (Some(schema), Some(name), Some(table_type)) =
                    (row.get(1), row.get(2), row.get(3))
                else {
                    continue;
                };
                let yes = |i| {
                    row.get(i)
                        .is_some_and(|v: &str| v.eq_ignore_ascii_case("YES"))
                };
                let (iceberg, dynamic) = (yes(5), yes(6));
                relations
                    .entry((database.to_owned(), schema.to_owned()))
                    .or_default()
                    .push(Relation::new(name.to_owned(), table_type, iceberg, dynamic));
            }
        }
        drop(rows);
        for schema in &schemas {
            relations
                .entry((database.to_owned(), schema.clone()))
                .or_default();
        }
        self.catalog.relations.extend(relations);
        self.catalog.schemas.insert(database.to_owned(), schemas);
        Ok(())
    }

    /// Works out the statements of one access provider.
    fn plan(&self, p: &mut Planned) {
        let Some(role) = p.role.clone() else { return };
        let held = p.held.take().unwrap_or_default();
        let mut statements = Vec::new();
        if p.ap.delete {
            if p.existing.is_some() {
                if !held.owns.is_empty() {
                    p.fail(format!(
                        "the role {:?} owns objects ({}); dropping it would hand them to the \
                         connecting role, so it was left. Transfer their ownership first",
                        role.name(),
                        held.owns.join(", ")
                    ));
                    return;
                }
                statements.push(match &role {
                    RoleRef::Account(_) => format!("DROP ROLE IF EXISTS {}", role.quoted()),
                    RoleRef::Database(..) => {
                        format!("DROP DATABASE ROLE IF EXISTS {}", role.quoted())
                    }
                });
            }
            p.outcome.statements = statements;
            return;
        }
        let keyword = match &role {
            RoleRef::Account(_) => "ROLE",
            RoleRef::Database(..) => "DATABASE ROLE",
        };
        let comment = managed_comment(&p.ap.id);
        let locked = |f: Option<bool>| f == Some(true);
        let (who_locked, inheritance_locked, what_locked) = (
            locked(p.ap.who_locked),
            locked(p.ap.inheritance_locked),
            locked(p.ap.what_locked),
        );
        let existing = p.existing.clone();
        match &existing {
            None => {
                if locked(p.ap.delete_locked) {
                    // Go: a delete-locked role that is gone was removed in Snowflake; it is
                    // not made again.
                    p.warn(format!(
                        "the role {:?} does not exist and is delete locked; it was not created",
                        role.name()
                    ));
                    return;
                }
                statements.push(format!(
                    "CREATE {keyword} IF NOT EXISTS {} COMMENT = {}",
                    role.quoted(),
                    quote_literal(&comment)
                ));
            }
            Some(old) => {
                if old != &role {
                    statements.push(format!(
                        "ALTER {keyword} IF EXISTS {} RENAME TO {}",
                        old.quoted(),
                        role.quoted()
                    ));
                }
                if self.shown(old).is_some_and(|s| s.comment != comment) {
                    statements.push(format!(
                        "ALTER {keyword} IF EXISTS {} SET COMMENT = {}",
                        role.quoted(),
                        quote_literal(&comment)
                    ));
                }
            }
        }
        // Who: users.
        if !who_locked {
            let wanted: BTreeSet<&str> = p.ap.who.users.iter().map(String::as_str).collect();
            if matches!(role, RoleRef::Database(..)) {
                if !wanted.is_empty() {
                    p.fail(format!(
                        "a database role cannot be granted to users ({:?} is a database role)",
                        role.name()
                    ));
                    return;
                }
            } else {
                for user in &wanted {
                    if !held.users.contains(*user) {
                        statements.push(format!(
                            "GRANT ROLE {} TO USER {}",
                            role.quoted(),
                            quote_ident(user)
                        ));
                    }
                }
                for user in &held.users {
                    if !wanted.contains(user.as_str()) {
                        statements.push(format!(
                            "REVOKE ROLE {} FROM USER {}",
                            role.quoted(),
                            quote_ident(user)
                        ));
                    }
                }
            }
            if !p.ap.who.groups.is_empty() {
                p.warn(format!(
                    "Snowflake has no groups: who.groups ({}) left out",
                    p.ap.who.groups.join(", ")
                ));
            }
        }
        // Who: roles inheriting this one.
        if !inheritance_locked {
            let mut wanted: BTreeSet<RoleRef> = BTreeSet::new();
            let mut warnings = Vec::new();
            for entry in &p.ap.who.inherit_from {
                let grantee = match inherit_from_raito_id(entry) {
                    Some(id) => match self.by_id.get(id) {
                        Some(r) => r.clone(),
                        None => {
                            // Its role is made later in this run (or never): granted at the
                            // end.
                            p.deferred.push(Err(id.to_owned()));
                            continue;
                        }
                    },
                    None => RoleRef::from_external_id(entry),
                };
                if self.protected(&grantee) {
                    warnings.push(format!(
                        "{:?} is a system role, the connecting role or an excluded role: this \
                         connector never grants to it; left out",
                        grantee.name()
                    ));
                    continue;
                }
                wanted.insert(grantee);
            }
            for w in warnings {
                p.warn(w);
            }
            for grantee in &wanted {
                if held.roles.contains(grantee) {
                    continue;
                }
                match self.role_grant(&role, grantee, true) {
                    // A role that exists now is granted now; one made in this run (this chunk
                    // or a later one) at the end.
                    Ok(statement) if self.shown(grantee).is_some() => statements.push(statement),
                    Ok(_) => p.deferred.push(Ok(grantee.clone())),
                    Err(e) => {
                        p.fail(e);
                        return;
                    }
                }
            }
            for grantee in &held.roles {
                if wanted.contains(grantee) || self.protected(grantee) {
                    continue;
                }
                // A role named by an ID entry not yet resolved might be this one: keep it.
                if p.deferred.iter().any(Result::is_err) && managed_role(self, grantee) {
                    continue;
                }
                if let Ok(statement) = self.role_grant(&role, grantee, false) {
                    statements.push(statement);
                }
            }
        }
        // What.
        if !what_locked {
            let expander = Expander {
                permissions: &self.permissions,
                catalog: &self.catalog,
            };
            let mut expanded = expander.expand(items(&p.ap));
            if let RoleRef::Database(d, _) = &role {
                // A database role holds privileges on its own database's objects only.
                expanded.grants.retain(|g| {
                    let own = grant_database(g) == Some(d.as_str());
                    if !own {
                        p.outcome.feedback.warnings.push(format!(
                            "a database role holds privileges on objects of its database {d:?} \
                             only: {} left out",
                            g.object()
                        ));
                    }
                    own
                });
            }
            p.outcome.feedback.warnings.extend(expanded.warnings);
            let grantee = role.grantee();
            for grant in &expanded.grants {
                if !held.grants.contains(grant) {
                    statements.push(grant.grant_statement(&grantee));
                }
            }
            for grant in &held.grants {
                if !expanded.grants.contains(grant) {
                    statements.push(grant.revoke_statement(&grantee));
                }
            }
        }
        p.outcome.statements = statements;
    }

    /// `GRANT [DATABASE] ROLE role TO grantee` (or the REVOKE), where Snowflake allows it.
    fn role_grant(&self, role: &RoleRef, grantee: &RoleRef, grant: bool) -> Result<String, String> {
        let (verb, preposition) = if grant {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        match (role, grantee) {
            (RoleRef::Account(_), RoleRef::Database(..)) => Err(format!(
                "an account role cannot be granted to a database role ({:?})",
                grantee.external_id()
            )),
            (RoleRef::Account(_), RoleRef::Account(_)) => Ok(format!(
                "{verb} ROLE {} {preposition} {}",
                role.quoted(),
                grantee.grantee()
            )),
            (RoleRef::Database(d, _), RoleRef::Database(gd, _)) if d != gd => Err(format!(
                "a database role can be granted to database roles of its own database only \
                 ({:?})",
                grantee.external_id()
            )),
            (RoleRef::Database(..), _) => Ok(format!(
                "{verb} DATABASE ROLE {} {preposition} {}",
                role.quoted(),
                grantee.grantee()
            )),
        }
    }

    /// Sends the statements of the chunk (apply mode), and notes the roles made.
    async fn execute(&mut self, chunk: &mut [Planned]) -> Result<(), Error> {
        let indices: Vec<usize> = chunk
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.failed && !p.outcome.statements.is_empty())
            .map(|(i, _)| i)
            .collect();
        let transactions: Vec<(usize, Vec<String>)> = indices
            .iter()
            .map(|&i| (i, chunk[i].outcome.statements.clone()))
            .collect();
        let errors = self.send(transactions).await;
        for (i, error) in errors {
            chunk[i].fail(error);
        }
        // What the chunk made is known from now on: names, and roles that now exist.
        for p in chunk.iter() {
            let (Some(role), false) = (&p.role, p.failed) else {
                continue;
            };
            let comment = managed_comment(&p.ap.id);
            if p.ap.delete {
                if let Some(scope) = self.scope(role) {
                    scope.roles.remove(role.name());
                }
                continue;
            }
            if let Some(old) = &p.existing
                && old != role
                && let Some(scope) = self.scope(old)
            {
                scope.roles.remove(old.name());
            }
            if let Some(scope) = self.scope(role) {
                scope.names.add(role.name());
                scope
                    .roles
                    .insert(role.name().to_owned(), Shown { comment });
            }
        }
        Ok(())
    }

    /// Sends transactions (index, statements) in multi-statement requests, a few requests at
    /// once; answers the failures by index. Plan mode sends nothing.
    pub(super) async fn send(
        &mut self,
        transactions: Vec<(usize, Vec<String>)>,
    ) -> Vec<(usize, String)> {
        let writes: u64 = transactions.iter().map(|(_, s)| s.len() as u64).sum();
        self.counts.writes += writes;
        self.counts.go_write_requests += writes;
        if self.mode == ApplyMode::Plan || transactions.is_empty() {
            return Vec::new();
        }
        let mut batches: Vec<Vec<(usize, Vec<String>)>> = Vec::new();
        let (mut count, mut bytes) = (0usize, 0usize);
        for (i, statements) in transactions {
            let size: usize = statements.iter().map(|s| s.len() + 2).sum();
            let n = statements.len() + 2;
            if batches.is_empty() || count + n > MAX_STATEMENTS || bytes + size > MAX_REQUEST_BYTES
            {
                batches.push(Vec::new());
                (count, bytes) = (0, 0);
            }
            count += n;
            bytes += size;
            if let Some(batch) = batches.last_mut() {
                batch.push((i, statements));
            }
        }
        let client = self.client;
        let requests = AtomicU64::new(0);
        let batched = AtomicU64::new(0);
        let send_one = |transactions: &[(usize, Vec<String>)]| {
            let mut text = Vec::new();
            for (_, statements) in transactions {
                text.push("BEGIN".to_owned());
                text.extend(statements.iter().cloned());
                text.push("COMMIT".to_owned());
            }
            requests.fetch_add(1, Ordering::Relaxed);
            batched.fetch_add(text.len() as u64, Ordering::Relaxed);
            async move { client.execute_many(&text).await }
        };
        let send_one = &send_one;
        let failures: Vec<(usize, String)> = stream::iter(batches)
            .map(|batch| async move {
                match send_one(&batch).await {
                    Ok(()) => Vec::new(),
                    Err(error) => {
                        tracing::warn!(
                            access_providers = batch.len(),
                            %error,
                            "a multi-statement request failed; sending its access providers \
                             one by one"
                        );
                        let mut failures = Vec::new();
                        for transaction in batch.chunks(1) {
                            if let Err(error) = send_one(transaction).await {
                                failures.push((transaction[0].0, error.to_string()));
                            }
                        }
                        failures
                    }
                }
            })
            .buffer_unordered(self.config.worker_pool_size.max(1))
            .flat_map(stream::iter)
            .collect()
            .await;
        self.counts.write_requests += requests.load(Ordering::Relaxed);
        self.counts.batched += batched.load(Ordering::Relaxed);
        failures
    }

    /// The grants of roles to the roles of access providers made later in the run.
    async fn finish(&mut self) -> Result<Vec<Planned>, Error> {
        let mut held = std::mem::take(&mut self.held);
        let mut transactions = Vec::new();
        for (i, p) in held.iter_mut().enumerate() {
            let Some(role) = p.role.clone() else { continue };
            let mut statements = Vec::new();
            for deferred in std::mem::take(&mut p.deferred) {
                let grantee = match deferred {
                    Ok(grantee) => grantee,
                    Err(id) => match self.by_id.get(&id) {
                        Some(grantee) => grantee.clone(),
                        None => {
                            p.warn(format!(
                                "inheritFrom ID:{id}: no role of that access provider exists; \
                                 left out"
                            ));
                            continue;
                        }
                    },
                };
                if self.protected(&grantee) {
                    continue;
                }
                match self.role_grant(&role, &grantee, true) {
                    Ok(statement) => statements.push(statement),
                    Err(e) => p.fail(e),
                }
            }
            if !statements.is_empty() && !p.failed {
                p.outcome.statements.extend(statements.iter().cloned());
                transactions.push((i, statements));
            }
        }
        for (i, error) in self.send(transactions).await {
            held[i].fail(error);
        }
        let mut policies = std::mem::take(&mut self.policies);
        self.masks(&mut policies).await?;
        self.filters(&mut policies).await?;
        held.extend(policies);
        Ok(held)
    }
}

/// A name as SHOW prints it, unquoted: a name that is not a plain identifier is printed in
/// double quotes with inner quotes doubled. (Go's `cleanDoubleQuotes` drops the outer quotes
/// only, so a name with a quote in it never compared equal and was granted on every run.)
fn unquote(name: &str) -> String {
    match name
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_owned(),
    }
}

/// Whether `role` is a role some access provider manages (it carries a marker).
fn managed_role(engine: &Engine<'_>, role: &RoleRef) -> bool {
    engine
        .shown(role)
        .is_some_and(|s| managed_for(&s.comment).is_some())
}

/// The database a grant's object is in, if any.
fn grant_database(grant: &Grant) -> Option<&str> {
    use what::On;
    match &grant.on {
        On::Database(d) | On::Schema(d, _) | On::Relation(d, ..) | On::Routine(_, d, ..) => Some(d),
        On::Account | On::Warehouse(_) | On::Integration(_) => None,
    }
}

/// An access provider's what items as (type, full name, permissions).
fn items(ap: &ExportedAccessProvider) -> impl Iterator<Item = (&str, &str, &[String])> {
    ap.what.iter().map(|w| {
        (
            w.data_object.r#type.as_str(),
            w.data_object.full_name.as_str(),
            w.permissions.as_slice(),
        )
    })
}
