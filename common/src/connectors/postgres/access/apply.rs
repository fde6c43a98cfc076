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
//! **Transactions.** Each access provider is applied in transactions of its own, each sent as
//! one `BEGIN; …; COMMIT;` batch (one round trip). The role's own statements (create, rename,
//! memberships) go with its privileges in one database (the configured `pg-database` when the
//! access provider has privileges there or none anywhere, else the first database it has
//! privileges in); its privileges in every other database follow, database by database, each
//! in a transaction on that database's connection (PostgreSQL cannot span databases in one
//! transaction). A failure rolls back that database's transaction and is reported in the
//! access provider's feedback; what was committed in other databases stays, every database is
//! consistent on its own, and because applying is a diff the next run converges. A failing
//! access provider never stops the others.
//!
//! **Deletion.** `delete: true` revokes every privilege of the role and drops its managed
//! policies in each database it has any (other databases first), then drops the role. Objects
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

use tokio_postgres::Client;
use tracing::Instrument;

use super::super::config::Config;
use super::super::{NAME, client};
use super::diff::{self, RoleChange, WantedPolicy};
use super::names::{self, quote_ident};
use super::state::{self, Role};
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
    while let Some(ap) = access_providers.next().await? {
        count += 1;
        let span =
            tracing::info_span!("access_provider", id = %ap.id, role = tracing::field::Empty);
        let (outcome, pending) = engine.process(&ap).instrument(span.clone()).await;
        if pending.is_empty() {
            report(&outcome, &span);
            outcomes.push(outcome).await?;
        } else {
            held.push(Held {
                outcome,
                pending,
                span,
            });
        }
        engine.check_connection()?;
    }
    for held in held {
        let span = held.span.clone();
        let outcome = engine.finish_deferred(held).instrument(span.clone()).await;
        report(&outcome, &span);
        outcomes.push(outcome).await?;
    }
    tracing::info!(access_providers = count, mode = ?mode, "access export processed");
    Ok(())
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

/// The run's state: connections (one per database, kept for the run) and what earlier access
/// providers of this export became.
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
    /// Role names planned in this run (plan mode creates nothing, so they must be reserved).
    claimed: HashSet<String>,
}

/// Everything computed for one access provider before anything is executed.
struct Plan {
    role: String,
    /// Statements per database; the primary database's come with the role statements.
    by_database: BTreeMap<String, Vec<String>>,
    /// The database whose transaction carries the role statements.
    primary: String,
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
        })
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

    /// Applies one access provider; returns its outcome and the Raito ids of inheriting
    /// access providers whose roles do not exist yet.
    async fn process(&mut self, ap: &ExportedAccessProvider) -> (AccessOutcome, Vec<String>) {
        let mut outcome = AccessOutcome {
            feedback: AccessProviderFeedback {
                access_provider: ap.id.clone(),
                actual_name: ap.actual_name.clone().unwrap_or_default(),
                r#type: Some(ROLE_TYPE.to_owned()),
                ..Default::default()
            },
            statements: Vec::new(),
        };
        let mut pending = Vec::new();
        if let Err(failure) = self.try_process(ap, &mut outcome, &mut pending).await {
            outcome.feedback.errors.push(failure);
            pending.clear();
        }
        let feedback = &mut outcome.feedback;
        if !feedback.actual_name.is_empty() {
            feedback.external_id = Some(feedback.actual_name.clone());
            tracing::Span::current().record("role", feedback.actual_name.as_str());
        }
        (outcome, pending)
    }

    async fn try_process(
        &mut self,
        ap: &ExportedAccessProvider,
        outcome: &mut AccessOutcome,
        pending: &mut Vec<String>,
    ) -> Result<(), Failure> {
        let unknown = ap.unknown_field_paths();
        if !unknown.is_empty() {
            return Err(format!(
                "the access provider has fields this connector does not understand ({}); \
                 nothing was applied because they may narrow the access",
                unknown.join(", ")
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
        let base = names::base_name(&ap.naming_hint, &ap.name, &ap.id);
        let existing = self
            .existing_role(ap, &mut outcome.feedback.warnings)
            .await?;
        if let Some(role) = &existing {
            self.check_changeable(role)?;
        }
        if ap.delete {
            return self.delete(ap, existing, &base, outcome).await;
        }
        let (name, change) = self.choose_name(ap, &base, existing.as_ref()).await?;
        outcome.feedback.actual_name = name.clone();

        let plan = self
            .plan(ap, &name, &change, existing.as_ref(), outcome, pending)
            .await?;
        self.execute(plan, outcome).await
    }

    /// The role this access provider already has: its `actualName` when that is a role
    /// managed for it, else the role carrying its marker.
    async fn existing_role(
        &self,
        ap: &ExportedAccessProvider,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Role>, Failure> {
        let read_error = |e| read_failure(e, "reading roles");
        if let Some(actual) = ap.actual_name.as_deref().filter(|a| !a.is_empty())
            && let Some(role) = state::role_by_name(&self.main, actual)
                .await
                .map_err(read_error)?
        {
            if managed_for(&role.comment) == Some(ap.id.as_str()) {
                return Ok(Some(role));
            }
            return Err(format!(
                "the role {actual:?} (actualName) exists but is not managed by Raito for this \
                 access provider (its comment is not {:?}); nothing was changed. Remove \
                 actualName to let Raito create its own role",
                managed_comment(&ap.id)
            ));
        }
        let mut marked = state::roles_by_marker(&self.main, &ap.id)
            .await
            .map_err(read_error)?;
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
        Ok((!marked.is_empty()).then(|| marked.swap_remove(0)))
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
        &self,
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
            let holder = state::role_by_name(&self.main, &candidate)
                .await
                .map_err(|e| read_failure(e, "reading roles"))?;
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

    /// Reads the current state and works out every statement of the access provider.
    async fn plan(
        &mut self,
        ap: &ExportedAccessProvider,
        name: &str,
        change: &RoleChange,
        existing: Option<&Role>,
        outcome: &mut AccessOutcome,
        pending: &mut Vec<String>,
    ) -> Result<Plan, Failure> {
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
        // had privileges in (those it has are all read below anyway).
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
        let role_statements = diff::role_statements(change, name, &managed_comment(&ap.id));
        let member_statements = self.members(ap, name, existing, warnings, pending).await?;

        // The databases involved.
        let mut databases: BTreeSet<String> = wanted.keys().cloned().collect();
        databases.extend(items.iter().map(|i| i.database.clone()));
        if let Some(role) = existing {
            let held = state::role_databases(&self.main, role.oid)
                .await
                .map_err(|e| read_failure(e, "reading the databases the role has privileges in"))?;
            databases.extend(
                held.into_iter()
                    .filter(|d| !self.config.excluded_databases.contains(d)),
            );
        }

        let mut by_database = BTreeMap::new();
        let role_oid = existing.map(|r| r.oid);
        for database in &databases {
            let database_items: Vec<&Item> =
                items.iter().filter(|i| &i.database == database).collect();
            let empty = BTreeSet::new();
            let wanted_here = wanted.get(database).unwrap_or(&empty);
            let statements = self
                .plan_database(
                    ap,
                    database,
                    name,
                    role_oid,
                    &database_items,
                    wanted_here,
                    expression.as_deref(),
                    &mut errors,
                )
                .await?;
            by_database.insert(database.clone(), statements);
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
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
        let mut first: Vec<String> = role_statements;
        first.extend(member_statements);
        first.extend(by_database.remove(&primary).unwrap_or_default());
        by_database.insert(primary.clone(), first);
        Ok(Plan {
            role: name.to_owned(),
            by_database,
            primary,
        })
    }

    /// The membership statements: who's users and groups and the inheriting roles, against
    /// the current members. Missing users and groups are warnings; inheriting access providers
    /// whose roles do not exist yet go to `pending`.
    async fn members(
        &self,
        ap: &ExportedAccessProvider,
        name: &str,
        existing: Option<&Role>,
        warnings: &mut Vec<String>,
        pending: &mut Vec<String>,
    ) -> Result<Vec<String>, Failure> {
        let mut candidates: Vec<(String, &str)> = Vec::new();
        for user in &ap.who.users {
            candidates.push((user.clone(), "user"));
        }
        for group in &ap.who.groups {
            candidates.push((group.clone(), "group"));
        }
        for entry in &ap.who.inherit_from {
            match inherit_from_raito_id(entry) {
                Some(id) => match self.resolve_id(id).await? {
                    Some(role) => candidates.push((role, "inheriting role")),
                    None => pending.push(id.to_owned()),
                },
                None => candidates.push((entry.clone(), "inheriting role")),
            }
        }
        let mut wanted = BTreeSet::new();
        let names: Vec<String> = candidates.iter().map(|(n, _)| n.clone()).collect();
        let existing_roles = state::existing_roles(&self.main, &names)
            .await
            .map_err(|e| read_failure(e, "reading roles"))?;
        for (member, kind) in candidates {
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
            } else if existing_roles.get(&member) == Some(&true) {
                warnings.push(format!(
                    "{kind} {member:?} is a superuser, which has every privilege already and \
                     whose memberships Raito never changes; skipped"
                ));
            } else if existing_roles.contains_key(&member)
                || (self.mode == ApplyMode::Plan && self.claimed.contains(&member))
            {
                wanted.insert(member);
            } else {
                warnings.push(format!(
                    "{kind} {member:?} does not exist in PostgreSQL; not granted"
                ));
            }
        }
        let current = match existing {
            Some(role) => {
                let mut members = state::members(&self.main, role.oid)
                    .await
                    .map_err(|e| read_failure(e, "reading role members"))?;
                // PostgreSQL 16 makes the creating role an admin member; never revoked.
                members.remove(&self.current_user);
                members
            }
            None => BTreeSet::new(),
        };
        Ok(diff::member_statements(name, &wanted, &current))
    }

    /// The role of another access provider by its Raito id: applied earlier in this run, or
    /// found by its marker.
    async fn resolve_id(&self, id: &str) -> Result<Option<String>, Failure> {
        if let Some(role) = self.run_roles.get(id) {
            return Ok(Some(role.clone()));
        }
        let marked = state::roles_by_marker(&self.main, id)
            .await
            .map_err(|e| read_failure(e, "reading roles"))?;
        Ok(marked.into_iter().next().map(|r| r.name))
    }

    /// The grant, revoke and policy statements for one database. Missing objects and tables
    /// without row-level security are added to `errors`.
    #[allow(clippy::too_many_arguments)]
    async fn plan_database(
        &mut self,
        ap: &ExportedAccessProvider,
        database: &str,
        role: &str,
        role_oid: Option<u32>,
        items: &[&Item],
        wanted: &BTreeSet<Grant>,
        expression: Option<&str>,
        errors: &mut Vec<String>,
    ) -> Result<Vec<String>, Failure> {
        if let Err(e) = self.open(database).await {
            errors.push(e);
            return Ok(Vec::new());
        }
        let excluded_schemas = self.config.excluded_schemas_in(database);
        let client = self.client(database)?;
        let read = |what: &str| {
            let what = format!("{what} in database {database:?}");
            move |e| read_failure(e, &what)
        };

        let objects: Vec<&Object> = items.iter().map(|i| &i.object).collect();
        let found = state::find(client, &objects)
            .await
            .map_err(read("looking up the what items"))?;
        for (item, found) in items.iter().zip(&found) {
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

        let current = match role_oid {
            Some(oid) => state::grants(client, oid, &excluded_schemas)
                .await
                .map_err(read("reading the role's privileges"))?,
            None => BTreeSet::new(),
        };
        let mut statements = diff::grant_statements(database, role, wanted, &current);

        let current_policies = match role_oid {
            Some(oid) => state::policies(client, &ap.id, oid)
                .await
                .map_err(read("reading row-level-security policies"))?,
            None => Vec::new(),
        };
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
        Ok(statements)
    }

    /// Runs (apply) or records (plan) the transactions: the primary database first (it may
    /// create the role), then the others.
    async fn execute(&mut self, plan: Plan, outcome: &mut AccessOutcome) -> Result<(), Failure> {
        let Plan {
            role,
            mut by_database,
            primary,
        } = plan;
        let first = by_database.remove(&primary).unwrap_or_default();
        self.transaction(&primary, first, outcome).await?;
        self.run_roles
            .insert(outcome.feedback.access_provider.clone(), role.clone());
        if self.mode == ApplyMode::Plan {
            self.claimed.insert(role);
        }
        let mut failures = Vec::new();
        for (database, statements) in by_database {
            if let Err(e) = self.transaction(&database, statements, outcome).await {
                failures.push(e);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    /// One transaction on `database`: sent as one batch in apply mode, recorded only in plan
    /// mode. Its statements are added to the outcome when it commits (or would).
    async fn transaction(
        &mut self,
        database: &str,
        statements: Vec<String>,
        outcome: &mut AccessOutcome,
    ) -> Result<(), Failure> {
        if statements.is_empty() {
            return Ok(());
        }
        if self.mode == ApplyMode::Apply {
            self.open(database).await?;
            let client = self.client(database)?;
            let batch = format!("BEGIN;\n{};\nCOMMIT;", statements.join(";\n"));
            if let Err(e) = client.batch_execute(&batch).await {
                // The failed batch leaves the transaction aborted; end it. Best effort: the
                // connection may be gone, which the next use reports.
                let _ = client.batch_execute("ROLLBACK").await;
                tracing::warn!(database, error = %describe(&e), "transaction rolled back");
                return Err(format!(
                    "in database {database:?}: {}; the {} statements of this database were \
                     rolled back",
                    describe(&e),
                    statements.len()
                ));
            }
        }
        outcome.statements.extend(statements);
        Ok(())
    }

    /// `delete: true`: revoke everything in every database (others first), drop the managed
    /// policies, drop the role. Never touches ownership.
    async fn delete(
        &mut self,
        ap: &ExportedAccessProvider,
        existing: Option<Role>,
        base: &str,
        outcome: &mut AccessOutcome,
    ) -> Result<(), Failure> {
        let Some(role) = existing else {
            if outcome.feedback.actual_name.is_empty() {
                outcome.feedback.actual_name = base.to_owned();
            }
            tracing::debug!("role already absent");
            return Ok(());
        };
        outcome.feedback.actual_name = role.name.clone();
        let owned = state::owned_objects(&self.main, role.oid)
            .await
            .map_err(|e| read_failure(e, "reading what the role owns"))?;
        if owned > 0 {
            return Err(format!(
                "the role {:?} owns {owned} object(s); Raito never drops or reassigns owned \
                 objects. Transfer their ownership (ALTER … OWNER TO) and sync again; nothing \
                 was changed",
                role.name
            ));
        }
        let databases = state::role_databases(&self.main, role.oid)
            .await
            .map_err(|e| read_failure(e, "reading the databases the role has privileges in"))?;
        let mut by_database = BTreeMap::new();
        let mut errors = Vec::new();
        for database in databases {
            if self.config.excluded_databases.contains(&database) {
                errors.push(format!(
                    "the role has privileges in the excluded database {database:?}, which Raito \
                     does not touch; revoke them there and sync again"
                ));
                continue;
            }
            self.open(&database).await?;
            let client = self.client(&database)?;
            let read = |what: &str| {
                let what = format!("{what} in database {database:?}");
                move |e| read_failure(e, &what)
            };
            let current = state::grants(
                client,
                role.oid,
                &self.config.excluded_schemas_in(&database),
            )
            .await
            .map_err(read("reading the role's privileges"))?;
            let policies = state::policies(client, &ap.id, role.oid)
                .await
                .map_err(read("reading row-level-security policies"))?;
            let mut statements = diff::policy_statements(&role.name, &[], &policies);
            statements.extend(diff::grant_statements(
                &database,
                &role.name,
                &BTreeSet::new(),
                &current,
            ));
            by_database.insert(database, statements);
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let primary = self.config.database.clone();
        let mut last = by_database.remove(&primary).unwrap_or_default();
        last.push(format!("DROP ROLE {}", quote_ident(&role.name)));
        for (database, statements) in by_database {
            self.transaction(&database, statements, outcome).await?;
        }
        self.transaction(&primary, last, outcome).await
    }

    /// Makes the memberships that waited for the end of the export.
    async fn finish_deferred(&mut self, held: Held) -> AccessOutcome {
        let Held {
            mut outcome,
            pending,
            ..
        } = held;
        let role = outcome.feedback.actual_name.clone();
        let result = async {
            let current = match state::role_by_name(&self.main, &role)
                .await
                .map_err(|e| read_failure(e, "reading roles"))?
            {
                Some(r) => state::members(&self.main, r.oid)
                    .await
                    .map_err(|e| read_failure(e, "reading role members"))?,
                None => BTreeSet::new(),
            };
            let mut wanted = BTreeSet::new();
            let mut errors = Vec::new();
            for id in &pending {
                match self.resolve_id(id).await? {
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
            let database = self.config.database.clone();
            self.transaction(&database, statements, &mut outcome)
                .await?;
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.join("; "))
            }
        }
        .await;
        if let Err(failure) = result {
            outcome.feedback.errors.push(failure);
        }
        outcome
    }
}

/// The name of the row-level-security policy of access provider `id`: stable across role
/// renames, recognisable, and distinct per access provider.
fn policy_name(id: &str) -> String {
    format!("raito_filter_{}", names::id_token(id))
}

/// Opens a connection with the engine's session settings.
async fn open(config: &Config, database: &str, mode: ApplyMode) -> Result<Client, Error> {
    let client = client::connect(config, database).await?;
    let mut settings = SESSION.to_owned();
    if mode == ApplyMode::Plan {
        // Plan mode must not change anything, whatever happens: every transaction read-only.
        settings.push_str("; SET default_transaction_read_only = on");
    }
    client.batch_execute(&settings).await.map_err(|e| {
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
