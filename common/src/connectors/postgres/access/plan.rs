//! The planner: from a chunk of access providers, the [`Snapshot`] of the catalog read for them
//! and what the run has done so far ([`Run`]), to every statement of every access provider in
//! its transactions, and the failures found on the way. Pure: no I/O, no `async`, no client.
//! The engine ([`super::apply`]) reads the snapshot in stages, because what a stage needs
//! depends on the decisions of the one before (the databases to read depend on the roles
//! found), and calls the stages in order: [`roles_to_read`], [`find_existing`],
//! [`role_state_to_read`], [`Planner::prepare`] and [`Planner::accept`],
//! [`databases_to_read`], [`Planner::transactions`]. A name the planner needs and the snapshot
//! lacks is asked for, never guessed.
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
//! **Transactions of an access provider.** The role's own statements (create, rename,
//! memberships) go with its privileges in one database (the configured `pg-database` when the
//! access provider has privileges there or none anywhere, else the first database it has
//! privileges in): the first step. Its privileges in every other database follow, in the
//! second step (PostgreSQL cannot span databases in one transaction).
//!
//! **Deletion.** `delete: true` revokes every privilege of the role and drops its managed
//! policies in each database it has any (other databases first, in the first step), then
//! drops the role (in the second). Objects the role owns are never dropped or reassigned: such
//! a role is reported and left alone. A role that does not exist is already deleted.
//!
//! **Inheritance.** `inheritFrom` names a role, or `ID:<raito id>` for another access
//! provider's role, found by its marker. When that role does not exist yet because its access
//! provider comes later in the export, the membership is made at the end of the export
//! ([`deferred_memberships`]) and the outcome held until then.
//!
//! **Safety.** Only managed roles are altered, renamed, dropped or revoked from; the
//! connecting role's own memberships, system roles (`pg_*`) and superusers are never changed;
//! ownership is never touched; system schemas and excluded databases and schemas are never
//! read or changed. Every identifier and literal is quoted ([`super::names`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::super::config::Config;
use super::super::is_system_schema;
use super::diff::{self, CurrentPolicy, RoleChange, WantedPolicy};
use super::names::{self, quote_ident};
use super::state::{self, DatabaseState, Role, Snapshot};
use super::what::{self, Catalog, Grant, Grants, Item, Object};
use super::{cloud_system_role, filter, managed_comment, managed_for};
use crate::connector::AccessOutcome;
use crate::model::access::{
    AccessProviderFeedback, Action, ExportedAccessProvider, inherit_from_raito_id,
};

/// Why an access provider could not be (fully) applied; goes to its feedback.
pub type Failure = String;

/// The access provider type this connector applies.
pub const ROLE_TYPE: &str = "role";

/// The transactions of one access provider, (database, statements) each: the first step's,
/// then, when they all committed, the second's.
pub type Steps = [Vec<(String, Vec<String>)>; 2];

/// What the planner knows of the run beyond the chunk.
#[derive(Debug, Default)]
pub struct Run {
    /// The connecting role: never changed.
    pub current_user: String,
    /// Raito id → role name of the access providers applied (or planned) in this run.
    pub roles: HashMap<String, String>,
    /// Role names planned in this run (not necessarily created yet, so they are reserved).
    pub claimed: HashSet<String>,
}

/// One access provider of a chunk, from its arrival to its outcome.
#[derive(Debug)]
pub struct Planned {
    /// The access provider.
    pub ap: ExportedAccessProvider,
    /// Its outcome: the feedback is filled in while planning, the statements as they are
    /// executed.
    pub outcome: AccessOutcome,
    /// Raito ids of inheriting access providers whose roles do not exist yet.
    pub pending: Vec<String>,
    /// Why it failed: nothing more is done for it.
    failure: Option<Failure>,
    /// The role it already has.
    existing: Option<Role>,
    /// What it asks for, before the databases are read.
    intent: Option<Intent>,
    /// Its transactions.
    steps: Option<Steps>,
}

impl Planned {
    /// An access provider as it arrives, checked for what needs no catalog.
    pub fn new(ap: ExportedAccessProvider) -> Self {
        let outcome = AccessOutcome {
            feedback: AccessProviderFeedback {
                access_provider: ap.id.clone(),
                actual_name: ap.actual_name.clone().unwrap_or_default(),
                r#type: Some(ROLE_TYPE.to_owned()),
                ..Default::default()
            },
            statements: Vec::new(),
        };
        let failure = validate(&ap).err();
        Self {
            ap,
            outcome,
            pending: Vec::new(),
            failure,
            existing: None,
            intent: None,
            steps: None,
        }
    }

    /// Whether it has not failed.
    pub fn alive(&self) -> bool {
        self.failure.is_none()
    }

    /// Records why it failed (the first reason only): nothing more is done for it.
    pub fn fail(&mut self, failure: Failure) {
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
    }

    /// Whether there is nothing to do: a role to delete that does not exist.
    pub fn already_absent(&self) -> bool {
        matches!(self.intent, Some(Intent::Nothing))
    }

    /// Takes the transactions of `step` (0 or 1) to be executed; empty when it failed.
    pub fn take_step(&mut self, step: usize) -> Vec<(String, Vec<String>)> {
        match &mut self.steps {
            Some(steps) if self.failure.is_none() => std::mem::take(&mut steps[step]),
            _ => Vec::new(),
        }
    }

    /// The failure goes to the feedback; the role to the external id.
    pub fn finish(&mut self) {
        if let Some(failure) = self.failure.take() {
            self.outcome.feedback.errors.push(failure);
            self.pending.clear();
        }
        let feedback = &mut self.outcome.feedback;
        if !feedback.actual_name.is_empty() {
            feedback.external_id = Some(feedback.actual_name.clone());
        }
    }
}

/// What an access provider asks for, worked out from the roles (before the databases are
/// read).
#[derive(Debug)]
enum Intent {
    Grant(GrantIntent),
    Delete {
        role: Role,
        databases: Vec<String>,
    },
    /// Deleting a role that does not exist.
    Nothing,
}

#[derive(Debug)]
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

/// What one access provider's preparation found: applied by [`Planner::accept`].
#[derive(Debug)]
struct Prepared {
    /// The role name for the feedback, when it changes.
    actual_name: Option<String>,
    notes: Notes,
    intent: Result<Intent, Failure>,
}

impl Prepared {
    fn new(actual_name: Option<String>, intent: Result<Intent, Failure>) -> Self {
        Self {
            actual_name,
            notes: Notes::default(),
            intent,
        }
    }
}

/// What preparing found besides the intent, kept even when it fails.
#[derive(Debug, Default)]
struct Notes {
    /// For the feedback.
    warnings: Vec<String>,
    /// Raito ids of inheriting access providers whose roles do not exist yet.
    pending: Vec<String>,
}

/// The preparation of a chunk ([`Planner::prepare`]), to be accepted.
#[derive(Debug)]
pub struct Preparation {
    /// Per access provider of the chunk (`None`: it had failed before).
    prepared: Vec<Option<Prepared>>,
    /// The role names the chunk claims, by Raito id, in order.
    claimed: Vec<(String, String)>,
}

/// The role names [`Planner::prepare`] needs and the snapshot lacks, per access provider
/// (index in the chunk): every candidate name it has not decided on yet.
pub type Unread = Vec<(usize, Vec<String>)>;

/// What the run has claimed, with what the chunk claims on top (not in the run until
/// accepted, so a preparation can be made again after more names are read).
struct Claims<'r> {
    run: &'r Run,
    roles: HashMap<String, String>,
    claimed: Vec<(String, String)>,
    names: HashSet<String>,
}

impl<'r> Claims<'r> {
    fn new(run: &'r Run) -> Self {
        Self {
            run,
            roles: HashMap::new(),
            claimed: Vec::new(),
            names: HashSet::new(),
        }
    }

    fn role_of(&self, id: &str) -> Option<&str> {
        self.roles
            .get(id)
            .or_else(|| self.run.roles.get(id))
            .map(String::as_str)
    }

    fn is_claimed(&self, name: &str) -> bool {
        self.names.contains(name) || self.run.claimed.contains(name)
    }

    fn claim(&mut self, id: &str, name: &str) {
        self.roles.insert(id.to_owned(), name.to_owned());
        self.names.insert(name.to_owned());
        self.claimed.push((id.to_owned(), name.to_owned()));
    }

    /// The role of another access provider by its Raito id: applied earlier in this run, or
    /// found by its marker.
    fn resolve_id(&self, id: &str, snapshot: &Snapshot) -> Option<String> {
        if let Some(role) = self.role_of(id) {
            return Some(role.to_owned());
        }
        snapshot
            .markers
            .get(id)
            .and_then(|marked| marked.first())
            .map(|r| r.name.clone())
    }
}

/// Why no name was chosen.
enum NameError {
    /// Candidates the snapshot lacks: read them and prepare again.
    Unread(Vec<String>),
    /// Every candidate is taken.
    Taken(Failure),
}

/// The roles to read first, for every access provider still alive: (names, Raito ids). The
/// names are the actual names, base names, members and inherited roles; the ids are the
/// access providers' own and those inherited from by id (except those applied earlier in the
/// run), whose markers are looked for.
pub fn roles_to_read(chunk: &[Planned], run: &Run) -> (Vec<String>, Vec<String>) {
    let mut names = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for planned in chunk.iter().filter(|p| p.alive()) {
        let ap = &planned.ap;
        if let Some(actual) = ap.actual_name.as_deref().filter(|a| !a.is_empty()) {
            names.insert(actual.to_owned());
        }
        names.insert(names::base_name(&ap.naming_hint, &ap.name, &ap.id));
        names.extend(ap.who.users.iter().cloned());
        names.extend(ap.who.groups.iter().cloned());
        for entry in &ap.who.inherit_from {
            match inherit_from_raito_id(entry) {
                Some(id) if !run.roles.contains_key(id) => {
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
    (names.into_iter().collect(), ids.into_iter().collect())
}

/// Finds the role each access provider already has, and fails those whose role may not be
/// changed.
pub fn find_existing(chunk: &mut [Planned], snapshot: &Snapshot, run: &Run) {
    for planned in chunk.iter_mut().filter(|p| p.alive()) {
        match existing_role(
            &planned.ap,
            snapshot,
            &mut planned.outcome.feedback.warnings,
        ) {
            Ok(existing) => {
                if let Some(role) = &existing
                    && let Err(failure) = check_changeable(role, &run.current_user)
                {
                    planned.fail(failure);
                }
                planned.existing = existing;
            }
            Err(failure) => planned.fail(failure),
        }
    }
}

/// The state of the existing roles to read: (the roles whose members and databases are
/// needed, the roles to delete, whose owned objects are counted).
pub fn role_state_to_read(chunk: &[Planned]) -> (Vec<u32>, Vec<u32>) {
    let existing = chunk
        .iter()
        .filter(|p| p.alive())
        .filter_map(|p| p.existing.as_ref().map(|r| r.oid))
        .collect();
    let deleting = chunk
        .iter()
        .filter(|p| p.alive() && p.ap.delete)
        .filter_map(|p| p.existing.as_ref().map(|r| r.oid))
        .collect();
    (existing, deleting)
}

/// What a chunk needs from one database.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DatabaseNeeds {
    /// The objects its what items name there.
    pub objects: BTreeSet<Object>,
    /// The existing roles whose privileges (and policies) there are needed.
    pub roles: BTreeSet<u32>,
}

/// The databases the prepared access providers involve, and what each needs read.
pub fn databases_to_read(chunk: &[Planned]) -> BTreeMap<String, DatabaseNeeds> {
    let mut databases: BTreeMap<String, DatabaseNeeds> = BTreeMap::new();
    for planned in chunk.iter().filter(|p| p.alive()) {
        match &planned.intent {
            Some(Intent::Grant(intent)) => {
                for database in &intent.databases {
                    let needs = databases.entry(database.clone()).or_default();
                    needs.objects.extend(
                        intent
                            .items
                            .iter()
                            .filter(|i| &i.database == database)
                            .map(|i| i.object.clone()),
                    );
                    needs.roles.extend(intent.role_oid);
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
    databases
}

/// The role this access provider already has: its `actualName` when that is a role managed for
/// it, else the role carrying its marker.
fn existing_role(
    ap: &ExportedAccessProvider,
    snapshot: &Snapshot,
    warnings: &mut Vec<String>,
) -> Result<Option<Role>, Failure> {
    if let Some(actual) = ap.actual_name.as_deref().filter(|a| !a.is_empty())
        && let Some(Some(role)) = snapshot.roles.get(actual)
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
    let marked = snapshot
        .markers
        .get(&ap.id)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
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

/// Refuses to change a role that only looks managed: system roles (PostgreSQL's own and those
/// of managed services), superusers, ourselves.
fn check_changeable(role: &Role, current_user: &str) -> Result<(), Failure> {
    if is_system_role(&role.name) || role.superuser || role.name == current_user {
        return Err(format!(
            "the role {:?} carries Raito's marker but is a system role, a superuser or the \
             connecting role; Raito never changes such roles",
            role.name
        ));
    }
    Ok(())
}

/// Whether `name` is a system role: PostgreSQL's own (`pg_*`) or one of a managed service
/// ([`cloud_system_role`]: `rds_superuser`, `rdsadmin`, `cloudsqlsuperuser`, `azure_pg_admin`,
/// ...). Raito never changes such a role, nor its memberships.
fn is_system_role(name: &str) -> bool {
    name.starts_with("pg_") || cloud_system_role(name).is_some()
}

/// Plans with the connector's configuration and the permission model.
#[derive(Debug)]
pub struct Planner<'c> {
    config: &'c Config,
    catalog: Catalog,
}

impl<'c> Planner<'c> {
    /// A planner for the target configured by `config`.
    pub fn new(config: &'c Config) -> Self {
        Self {
            config,
            catalog: Catalog::new(),
        }
    }

    /// Works out what each access provider still alive asks for, in chunk order (a name one
    /// claims is taken for the ones after it): its name, its own statements, the privileges
    /// wanted and the databases involved (or what to delete). When a candidate name is not in
    /// the snapshot, nothing is decided: the names to read are returned, and the preparation is
    /// made again with them (each time at least one more access provider is decided).
    pub fn prepare(
        &self,
        chunk: &[Planned],
        snapshot: &Snapshot,
        run: &Run,
    ) -> Result<Preparation, Unread> {
        let mut claims = Claims::new(run);
        let mut prepared = Vec::with_capacity(chunk.len());
        let mut unread = Vec::new();
        for (index, planned) in chunk.iter().enumerate() {
            if !planned.alive() {
                prepared.push(None);
                continue;
            }
            match self.prepare_one(planned, snapshot, &claims) {
                Ok(one) => {
                    if let Ok(Intent::Grant(intent)) = &one.intent {
                        claims.claim(&planned.ap.id, &intent.role);
                    }
                    prepared.push(Some(one));
                }
                Err(names) => {
                    unread.push((index, names));
                    prepared.push(None);
                }
            }
        }
        if unread.is_empty() {
            Ok(Preparation {
                prepared,
                claimed: claims.claimed,
            })
        } else {
            Err(unread)
        }
    }

    /// Applies a preparation of `chunk` (made by [`Self::prepare`] on the same chunk): the
    /// feedback, the intents, and the names claimed go to the run.
    pub fn accept(&self, chunk: &mut [Planned], preparation: Preparation, run: &mut Run) {
        for (planned, prepared) in chunk.iter_mut().zip(preparation.prepared) {
            let Some(prepared) = prepared else {
                continue;
            };
            if let Some(name) = prepared.actual_name {
                planned.outcome.feedback.actual_name = name;
            }
            planned
                .outcome
                .feedback
                .warnings
                .extend(prepared.notes.warnings);
            planned.pending.extend(prepared.notes.pending);
            match prepared.intent {
                Ok(intent) => planned.intent = Some(intent),
                Err(failure) => planned.fail(failure),
            }
        }
        for (id, name) in preparation.claimed {
            run.roles.insert(id, name.clone());
            run.claimed.insert(name);
        }
    }

    /// Every statement of each prepared access provider, in its transactions, from the
    /// databases read. An access provider whose objects are missing, unsuitable or unread
    /// fails.
    pub fn transactions(&self, chunk: &mut [Planned], snapshot: &Snapshot) {
        for planned in chunk.iter_mut().filter(|p| p.alive()) {
            let Some(intent) = planned.intent.take() else {
                continue;
            };
            let mut errors = Vec::new();
            let steps = self.steps(&planned.ap, intent, &snapshot.databases, &mut errors);
            if errors.is_empty() {
                planned.steps = Some(steps);
            } else {
                planned.fail(errors.join("; "));
            }
        }
    }

    /// [`Self::prepare`] for one access provider; `Err`: the candidate names to read first.
    fn prepare_one(
        &self,
        planned: &Planned,
        snapshot: &Snapshot,
        claims: &Claims<'_>,
    ) -> Result<Prepared, Vec<String>> {
        let ap = &planned.ap;
        let existing = planned.existing.as_ref();
        let base = names::base_name(&ap.naming_hint, &ap.name, &ap.id);
        if ap.delete {
            return Ok(match existing.cloned() {
                None => {
                    // Already deleted; the feedback names the role it would have had.
                    let unnamed = planned.outcome.feedback.actual_name.is_empty();
                    Prepared::new(unnamed.then_some(base), Ok(Intent::Nothing))
                }
                Some(role) => {
                    let name = role.name.clone();
                    Prepared::new(Some(name), self.delete_intent(role, snapshot))
                }
            });
        }
        match choose_name(ap, &base, existing, snapshot, claims) {
            Ok((name, change)) => Ok(self.grant(planned, name, change, snapshot, claims)),
            Err(NameError::Unread(names)) => Err(names),
            Err(NameError::Taken(failure)) => Ok(Prepared::new(None, Err(failure))),
        }
    }

    /// Deleting an existing role: refused when it owns objects or has privileges in an
    /// excluded database.
    fn delete_intent(&self, role: Role, snapshot: &Snapshot) -> Result<Intent, Failure> {
        let owned = snapshot.owned.get(&role.oid).copied().unwrap_or(0);
        if owned > 0 {
            return Err(format!(
                "the role {:?} owns {owned} object(s); Raito never drops or reassigns owned \
                 objects. Transfer their ownership (ALTER … OWNER TO) and sync again; \
                 nothing was changed",
                role.name
            ));
        }
        let databases = snapshot
            .databases_of
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
        Ok(Intent::Delete { role, databases })
    }

    /// Granting as the role `name`: the what items parsed and checked, the privileges wanted,
    /// the role's own statements and the databases involved.
    fn grant(
        &self,
        planned: &Planned,
        name: String,
        change: RoleChange,
        snapshot: &Snapshot,
        claims: &Claims<'_>,
    ) -> Prepared {
        let mut notes = Notes::default();
        let intent = self.grant_intent(planned, name.clone(), change, snapshot, claims, &mut notes);
        Prepared {
            actual_name: Some(name),
            notes,
            intent,
        }
    }

    /// [`Self::grant`]'s intent; warnings and pending inheritors go to `notes`.
    fn grant_intent(
        &self,
        planned: &Planned,
        name: String,
        change: RoleChange,
        snapshot: &Snapshot,
        claims: &Claims<'_>,
        notes: &mut Notes,
    ) -> Result<Intent, Failure> {
        let ap = &planned.ap;
        let existing = planned.existing.as_ref();
        let filtered = ap.action == Action::Filtered;
        let warnings = &mut notes.warnings;
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
        role_statements.extend(members(ap, &name, existing, snapshot, claims, notes));

        // The databases involved.
        let mut databases: BTreeSet<String> = wanted.keys().cloned().collect();
        databases.extend(items.iter().map(|i| i.database.clone()));
        if let Some(role) = existing
            && let Some(held) = snapshot.databases_of.get(&role.oid)
        {
            databases.extend(
                held.iter()
                    .filter(|d| !self.config.excluded_databases.contains(d))
                    .cloned(),
            );
        }
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

    /// Every statement of the access provider, in its transactions. Problems go to `errors`.
    fn steps(
        &self,
        ap: &ExportedAccessProvider,
        intent: Intent,
        databases: &BTreeMap<String, DatabaseState>,
        errors: &mut Vec<String>,
    ) -> Steps {
        let no_state = DatabaseState::default();
        let state_of = |database: &str| databases.get(database).unwrap_or(&no_state);
        match intent {
            Intent::Nothing => [Vec::new(), Vec::new()],
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
                [by_database.into_iter().collect(), vec![(primary, last)]]
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
                [vec![(primary, first)], by_database.into_iter().collect()]
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
            if schema.is_some_and(|s| excluded_schemas.contains(s) || is_system_schema(s)) {
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
}

/// Keeps the current name unless the base name changed; otherwise the first free candidate
/// (base name, then suffixed) that the run has not claimed.
fn choose_name(
    ap: &ExportedAccessProvider,
    base: &str,
    existing: Option<&Role>,
    snapshot: &Snapshot,
    claims: &Claims<'_>,
) -> Result<(String, RoleChange), NameError> {
    if let Some(role) = existing
        && names::follows_base(&role.name, base)
    {
        return Ok((role.name.clone(), RoleChange::Keep));
    }
    let mut candidates = names::candidates(base, &ap.id).filter(|c| !claims.is_claimed(c));
    while let Some(candidate) = candidates.next() {
        let Some(holder) = snapshot.roles.get(&candidate) else {
            // Not read: every remaining candidate is read at once, then this is decided.
            let mut unread = vec![candidate];
            unread.extend(candidates.filter(|c| !snapshot.roles.contains_key(c)));
            return Err(NameError::Unread(unread));
        };
        let free = match (holder, existing) {
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
    Err(NameError::Taken(format!(
        "no free role name for base name {base:?}: it and {} suffixed variants are taken",
        names::SUFFIX_ATTEMPTS
    )))
}

/// The membership statements: who's users and groups and the inheriting roles, against the
/// current members. Missing users and groups are warnings; inheriting access providers whose
/// roles do not exist yet go to `pending`.
fn members(
    ap: &ExportedAccessProvider,
    name: &str,
    existing: Option<&Role>,
    snapshot: &Snapshot,
    claims: &Claims<'_>,
    notes: &mut Notes,
) -> Vec<String> {
    let Notes { warnings, pending } = notes;
    let current_user = claims.run.current_user.as_str();
    let mut candidates: Vec<(String, &str)> = Vec::new();
    for user in &ap.who.users {
        candidates.push((user.clone(), "user"));
    }
    for group in &ap.who.groups {
        candidates.push((group.clone(), "group"));
    }
    for entry in &ap.who.inherit_from {
        match inherit_from_raito_id(entry) {
            Some(id) => match claims.resolve_id(id, snapshot) {
                Some(role) => candidates.push((role, "inheriting role")),
                None => pending.push(id.to_owned()),
            },
            None => candidates.push((entry.clone(), "inheriting role")),
        }
    }
    let mut wanted = BTreeSet::new();
    for (member, kind) in candidates {
        let known = snapshot.roles.get(&member).and_then(Option::as_ref);
        if member == name {
            warnings.push(format!("{kind} {member:?} is the role itself; skipped"));
        } else if member == current_user {
            warnings.push(format!(
                "{kind} {member:?} is the connecting role, whose memberships Raito never \
                 changes; skipped"
            ));
        } else if is_system_role(&member) {
            warnings.push(format!(
                "{kind} {member:?} is a system role, which Raito never changes; skipped"
            ));
        } else if known.is_some_and(|r| r.superuser) {
            warnings.push(format!(
                "{kind} {member:?} is a superuser, which has every privilege already and \
                 whose memberships Raito never changes; skipped"
            ));
        } else if known.is_some() || claims.is_claimed(&member) {
            wanted.insert(member);
        } else {
            warnings.push(format!(
                "{kind} {member:?} does not exist in PostgreSQL; not granted"
            ));
        }
    }
    let current = match existing {
        Some(role) => {
            let mut members = snapshot.members.get(&role.oid).cloned().unwrap_or_default();
            // Never revoked: system roles, and the connecting role, whatever membership it
            // holds (PostgreSQL 16 makes the creating role an admin member, which passes no
            // privileges and is not read in any case).
            members.retain(|member, _| member != current_user && !is_system_role(member));
            members
        }
        None => state::Members::new(),
    };
    diff::member_statements(name, &wanted, &current, warnings)
}

/// The memberships that waited for the end of the export, for the role `role` whose access
/// provider's `inheritFrom` named the access providers `pending` by id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deferred {
    /// The GRANT statements still needed.
    pub statements: Vec<String>,
    /// Inheriting roles skipped.
    pub warnings: Vec<String>,
    /// Inheriting access providers without a role.
    pub errors: Vec<String>,
}

/// The roles to read for the deferred memberships of `held` (role name, pending ids) pairs:
/// (the roles by name, the ids whose markers are looked for: those the run did not apply).
pub fn deferred_to_read<'h>(
    held: impl Iterator<Item = (&'h str, &'h [String])>,
    run: &Run,
) -> (Vec<String>, Vec<String>) {
    let mut names = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (role, pending) in held {
        names.insert(role.to_owned());
        ids.extend(
            pending
                .iter()
                .filter(|id| !run.roles.contains_key(*id))
                .cloned(),
        );
    }
    (names.into_iter().collect(), ids.into_iter().collect())
}

/// Plans the deferred memberships of `role` (see [`Deferred`]) at the end of the export, when
/// every access provider of the run has its role: the snapshot holds the role, its members
/// and the marked roles of the ids the run did not apply.
pub fn deferred_memberships(
    role: &str,
    pending: &[String],
    snapshot: &Snapshot,
    run: &Run,
) -> Deferred {
    let claims = Claims::new(run);
    let current = snapshot
        .roles
        .get(role)
        .and_then(Option::as_ref)
        .and_then(|r| snapshot.members.get(&r.oid));
    let mut deferred = Deferred::default();
    let mut wanted = BTreeSet::new();
    for id in pending {
        match claims.resolve_id(id, snapshot) {
            Some(inheritor) if inheritor == run.current_user => {
                deferred.warnings.push(format!(
                    "inheriting role {inheritor:?} is the connecting role; skipped"
                ));
            }
            Some(inheritor) => {
                wanted.insert(inheritor);
            }
            None => deferred.errors.push(format!(
                "inheritFrom ID:{id}: no role of that access provider exists (it was not \
                 applied in this export and no role carries its marker)"
            )),
        }
    }
    deferred.statements = wanted
        .iter()
        .filter(|m| current.is_none_or(|c| !c.contains_key(*m)))
        .map(|m| format!("GRANT {} TO {}", quote_ident(role), quote_ident(m)))
        .collect();
    deferred
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

/// The name of the row-level-security policy of access provider `id`: stable across role
/// renames, recognisable, and distinct per access provider.
fn policy_name(id: &str) -> String {
    format!("raito_filter_{}", names::id_token(id))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Parameters;
    use crate::connectors::postgres::access::state::{Found, ManagedPolicy};

    /// The connecting role of every test.
    const ME: &str = "raito_admin";

    /// `pg-database` is `postgres`; `secret` is excluded.
    fn config() -> Config {
        let mut parameters = Parameters::new("raito.yml", "pg");
        parameters.insert("pg-host", json!("localhost"), false);
        parameters.insert("pg-user", json!(ME), false);
        parameters.insert("pg-excluded-databases", json!("secret"), false);
        Config::from_parameters(&parameters).expect("valid configuration")
    }

    fn ap(value: serde_json::Value) -> ExportedAccessProvider {
        serde_json::from_value(value).expect("an access provider")
    }

    fn role(oid: u32, name: &str, comment: &str) -> Role {
        Role {
            oid,
            name: name.to_owned(),
            superuser: false,
            comment: comment.to_owned(),
        }
    }

    fn managed(oid: u32, name: &str, id: &str) -> Role {
        role(oid, name, &managed_comment(id))
    }

    fn run() -> Run {
        Run {
            current_user: ME.to_owned(),
            ..Run::default()
        }
    }

    fn table(schema: &str, name: &str) -> Object {
        Object::Relation(schema.to_owned(), name.to_owned())
    }

    fn what(full_name: &str, r#type: &str, permissions: &[&str]) -> serde_json::Value {
        json!({"dataObject": {"fullName": full_name, "type": r#type}, "permissions": permissions})
    }

    /// A snapshot in which `roles` exist (found by name, and by marker when managed).
    /// Members as a server before PostgreSQL 16 records them: one grant each.
    fn members(names: &[&str]) -> state::Members {
        let one_grant = state::Grantors {
            own: true,
            ..state::Grantors::default()
        };
        names
            .iter()
            .map(|n| ((*n).to_owned(), one_grant.clone()))
            .collect()
    }

    fn snapshot(roles: &[Role]) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for role in roles {
            if let Some(id) = managed_for(&role.comment) {
                snapshot
                    .markers
                    .entry(id.to_owned())
                    .or_default()
                    .push(role.clone());
            }
            snapshot.roles.insert(role.name.clone(), Some(role.clone()));
        }
        snapshot
    }

    /// What `database` holds: the objects that exist (relation kind, row security) and the
    /// privileges of `grants`' roles.
    fn database(
        snapshot: &mut Snapshot,
        database: &str,
        objects: &[(Object, &str, bool)],
        grants: &[(u32, Object, &str)],
    ) {
        let state = snapshot.databases.entry(database.to_owned()).or_default();
        for (object, relkind, row_security) in objects {
            let found = Found {
                exists: true,
                relkind: (!relkind.is_empty()).then(|| (*relkind).to_owned()),
                row_security: *row_security,
            };
            state.found.insert(object.clone(), found);
        }
        for (oid, object, privilege) in grants {
            state
                .grants
                .entry(*oid)
                .or_default()
                .insert(Grant::new(object.clone(), *privilege));
        }
    }

    /// Plans a chunk through every stage, in the engine's order, over a snapshot built by hand:
    /// a role name the planner asks for that the test gave no role does not exist. The
    /// planner must not ask for anything else: every database it needs is in the snapshot.
    fn plan(
        aps: Vec<ExportedAccessProvider>,
        snapshot: &mut Snapshot,
        run: &mut Run,
    ) -> Vec<Planned> {
        plan_reading(aps, snapshot, run).0
    }

    /// [`plan`], with what the planner asked to read in each database.
    fn plan_reading(
        aps: Vec<ExportedAccessProvider>,
        snapshot: &mut Snapshot,
        run: &mut Run,
    ) -> (Vec<Planned>, BTreeMap<String, DatabaseNeeds>) {
        let config = config();
        let planner = Planner::new(&config);
        let mut chunk: Vec<Planned> = aps.into_iter().map(Planned::new).collect();
        let (names, ids) = roles_to_read(&chunk, run);
        snapshot.add_roles(names, ids, Vec::new());
        find_existing(&mut chunk, snapshot, run);
        let preparation = loop {
            match planner.prepare(&chunk, snapshot, run) {
                Ok(preparation) => break preparation,
                Err(unread) => {
                    let names = unread.into_iter().flat_map(|(_, names)| names).collect();
                    snapshot.add_roles(names, Vec::new(), Vec::new());
                }
            }
        };
        planner.accept(&mut chunk, preparation, run);
        let needs = databases_to_read(&chunk);
        for database in needs.keys() {
            assert!(
                snapshot.databases.contains_key(database),
                "the planner needs database {database:?}, which the test did not describe"
            );
        }
        planner.transactions(&mut chunk, snapshot);
        (chunk, needs)
    }

    /// Every (database, statements) the access provider would send, steps in order, empty
    /// transactions left out; `None` when it failed.
    fn statements(planned: &Planned) -> Option<Vec<(usize, &str, Vec<&str>)>> {
        if !planned.alive() {
            return None;
        }
        let steps = planned.steps.as_ref()?;
        Some(
            steps
                .iter()
                .enumerate()
                .flat_map(|(step, transactions)| {
                    transactions
                        .iter()
                        .filter(|(_, statements)| !statements.is_empty())
                        .map(move |(database, statements)| {
                            let statements = statements.iter().map(String::as_str).collect();
                            (step, database.as_str(), statements)
                        })
                })
                .collect(),
        )
    }

    fn errors(mut planned: Planned) -> Vec<String> {
        planned.finish();
        planned.outcome.feedback.errors
    }

    fn sales(id: &str, hint: &str) -> ExportedAccessProvider {
        ap(json!({
            "id": id, "name": "Sales", "namingHint": hint, "action": "grant",
            "who": {"users": ["alice"]},
            "what": [what("postgres.public.orders", "table", &["SELECT"])],
        }))
    }

    #[test]
    fn a_new_role_is_created_with_its_marker_members_and_grants_with_their_parents() {
        let mut snapshot = snapshot(&[role(10, "alice", "")]);
        database(
            &mut snapshot,
            "postgres",
            &[(table("public", "orders"), "r", false)],
            &[],
        );
        let mut run = run();
        let (chunk, needs) =
            plan_reading(vec![sales("ap-1", "Sales Team")], &mut snapshot, &mut run);
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![(
                0,
                "postgres",
                vec![
                    r#"CREATE ROLE "sales_team" NOLOGIN"#,
                    r#"COMMENT ON ROLE "sales_team" IS 'Managed by Raito Cloud (access provider ap-1)'"#,
                    r#"GRANT "sales_team" TO "alice""#,
                    r#"GRANT CONNECT ON DATABASE "postgres" TO "sales_team""#,
                    r#"GRANT USAGE ON SCHEMA "public" TO "sales_team""#,
                    r#"GRANT SELECT ON TABLE "public"."orders" TO "sales_team""#,
                ]
            )])
        );
        assert_eq!(chunk[0].outcome.feedback.actual_name, "sales_team");
        assert_eq!(
            run.roles.get("ap-1").map(String::as_str),
            Some("sales_team")
        );
        assert!(run.claimed.contains("sales_team"));
        assert_eq!(
            needs,
            BTreeMap::from([(
                "postgres".to_owned(),
                DatabaseNeeds {
                    objects: BTreeSet::from([table("public", "orders")]),
                    roles: BTreeSet::new(),
                }
            )])
        );
    }

    #[test]
    fn a_role_that_already_matches_plans_nothing() {
        let existing = managed(20, "sales_team", "ap-1");
        let mut snapshot = snapshot(&[role(10, "alice", ""), existing]);
        snapshot.members.insert(20, members(&["alice", ME]));
        snapshot
            .databases_of
            .insert(20, vec!["postgres".to_owned()]);
        database(
            &mut snapshot,
            "postgres",
            &[(table("public", "orders"), "r", false)],
            &[
                (20, Object::Database, "CONNECT"),
                (20, Object::Schema("public".into()), "USAGE"),
                (20, table("public", "orders"), "SELECT"),
            ],
        );
        let mut run = run();
        let (mut chunk, needs) =
            plan_reading(vec![sales("ap-1", "Sales Team")], &mut snapshot, &mut run);
        assert_eq!(statements(&chunk[0]), Some(vec![]));
        assert_eq!(needs["postgres"].roles, BTreeSet::from([20]));
        chunk[0].finish();
        let feedback = &chunk[0].outcome.feedback;
        assert_eq!(feedback.external_id.as_deref(), Some("sales_team"));
        assert!(feedback.errors.is_empty() && feedback.warnings.is_empty());
    }

    #[test]
    fn a_changed_naming_hint_renames_the_role_and_moves_only_what_differs() {
        let existing = managed(20, "sales_team", "ap-1");
        let mut snapshot = snapshot(&[role(10, "alice", ""), role(11, "bob", ""), existing]);
        snapshot.members.insert(20, members(&["bob"]));
        snapshot
            .databases_of
            .insert(20, vec!["postgres".to_owned()]);
        database(
            &mut snapshot,
            "postgres",
            &[(table("public", "orders"), "r", false)],
            &[
                (20, Object::Database, "CONNECT"),
                (20, Object::Schema("public".into()), "USAGE"),
                (20, table("public", "orders"), "SELECT"),
                (20, table("public", "orders"), "DELETE"),
            ],
        );
        let mut ap = sales("ap-1", "Sales EU");
        ap.actual_name = Some("sales_team".to_owned());
        let chunk = plan(vec![ap], &mut snapshot, &mut run());
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![(
                0,
                "postgres",
                vec![
                    r#"ALTER ROLE "sales_team" RENAME TO "sales_eu""#,
                    r#"REVOKE "sales_eu" FROM "bob""#,
                    r#"GRANT "sales_eu" TO "alice""#,
                    r#"REVOKE DELETE ON TABLE "public"."orders" FROM "sales_eu""#,
                ]
            )])
        );
        assert_eq!(chunk[0].outcome.feedback.actual_name, "sales_eu");
    }

    #[test]
    fn a_taken_base_name_gets_a_suffix_read_at_once_and_claimed_names_are_skipped() {
        let config = config();
        let planner = Planner::new(&config);
        let mut run = run();
        // "analysts" belongs to someone else; two access providers want the same base name.
        let mut snapshot = snapshot(&[role(10, "analysts", "")]);
        database(
            &mut snapshot,
            "postgres",
            &[(table("public", "orders"), "r", false)],
            &[],
        );
        let mut chunk: Vec<Planned> = [sales("ap-1", "Analysts"), sales("ap-2", "Analysts")]
            .into_iter()
            .map(Planned::new)
            .collect();
        let (names, ids) = roles_to_read(&chunk, &run);
        assert_eq!(names, ["alice", "analysts"]);
        assert_eq!(ids, ["ap-1", "ap-2"]);
        snapshot.add_roles(names, ids, Vec::new());
        find_existing(&mut chunk, &snapshot, &run);
        // Nothing is guessed: every candidate still possible is asked for, for both.
        let Err(unread) = planner.prepare(&chunk, &snapshot, &run) else {
            panic!("the suffixed names are not in the snapshot");
        };
        let expected =
            |id: &str| -> Vec<String> { names::candidates("analysts", id).skip(1).collect() };
        assert_eq!(unread, vec![(0, expected("ap-1")), (1, expected("ap-2"))]);
        snapshot.add_roles(
            unread.into_iter().flat_map(|(_, n)| n).collect(),
            Vec::new(),
            Vec::new(),
        );
        let preparation = planner
            .prepare(&chunk, &snapshot, &run)
            .expect("every name read");
        planner.accept(&mut chunk, preparation, &mut run);
        planner.transactions(&mut chunk, &snapshot);
        let one = names::suffixed("analysts", "ap-1", 0);
        let two = names::suffixed("analysts", "ap-2", 0);
        assert_ne!(one, two);
        for (planned, name) in chunk.iter().zip([&one, &two]) {
            assert_eq!(&planned.outcome.feedback.actual_name, name);
            let create = format!("CREATE ROLE {} NOLOGIN", quote_ident(name));
            let planned = statements(planned).expect("planned");
            assert_eq!(planned[0].2[0], create);
            assert!(
                planned[0].2.iter().all(|s| !s.contains(r#""analysts""#)),
                "the unmanaged role is never touched: {planned:?}"
            );
        }
        // A name claimed earlier in the run is skipped without being read.
        let mut run = run_with_claimed(&one);
        let chunk = plan(vec![sales("ap-1", "Analysts")], &mut snapshot, &mut run);
        assert_eq!(
            chunk[0].outcome.feedback.actual_name,
            names::suffixed("analysts", "ap-1", 1)
        );
    }

    fn run_with_claimed(name: &str) -> Run {
        let mut run = run();
        run.claimed.insert(name.to_owned());
        run
    }

    #[test]
    fn roles_raito_does_not_manage_for_the_access_provider_are_refused() {
        let mut superuser = managed(31, "root", "ap-2");
        superuser.superuser = true;
        let mut snapshot = snapshot(&[
            role(10, "alice", ""),
            role(30, "analysts", ""),
            superuser,
            managed(32, ME, "ap-3"),
            managed(33, "pg_monitor", "ap-4"),
            managed(34, "rds_superuser", "ap-5"),
        ]);
        database(
            &mut snapshot,
            "postgres",
            &[(table("public", "orders"), "r", false)],
            &[],
        );
        let mut owned_by_someone = sales("ap-1", "Analysts");
        owned_by_someone.actual_name = Some("analysts".to_owned());
        let aps = vec![
            owned_by_someone,
            sales("ap-2", "Root"),
            sales("ap-3", "Me"),
            sales("ap-4", "Monitor"),
            sales("ap-5", "RDS"),
        ];
        let mut run = run();
        let chunk = plan(aps, &mut snapshot, &mut run);
        assert!(chunk.iter().all(|p| statements(p).is_none()));
        assert!(run.claimed.is_empty() && run.roles.is_empty());
        let mut chunk = chunk.into_iter();
        assert_eq!(
            errors(chunk.next().expect("ap-1")),
            vec![
                "the role \"analysts\" (actualName) exists but is not managed by Raito for this \
                 access provider (its comment is not \"Managed by Raito Cloud (access provider \
                 ap-1)\"); nothing was changed. Remove actualName to let Raito create its own role"
            ]
        );
        for (planned, name) in chunk.zip(["root", ME, "pg_monitor", "rds_superuser"]) {
            assert_eq!(
                errors(planned),
                vec![format!(
                    "the role {name:?} carries Raito's marker but is a system role, a superuser \
                     or the connecting role; Raito never changes such roles"
                )]
            );
        }
    }

    #[test]
    fn the_connecting_role_system_roles_and_superusers_never_become_or_stop_being_members() {
        let mut root = role(12, "root", "");
        root.superuser = true;
        let existing = managed(20, "team", "ap-1");
        let mut snapshot = snapshot(&[
            role(10, "carol", ""),
            role(11, "bob", ""),
            role(13, ME, ""),
            root,
            existing,
        ]);
        // PostgreSQL 16 makes the creating role a member: never revoked. Nor are the
        // memberships of system roles, PostgreSQL's or a managed service's.
        snapshot.members.insert(
            20,
            members(&[ME, "bob", "pg_monitor", "rds_superuser", "rdsadmin"]),
        );
        snapshot.databases_of.insert(20, Vec::new());
        database(&mut snapshot, "postgres", &[], &[]);
        let ap = ap(json!({
            "id": "ap-1", "namingHint": "team", "action": "grant",
            "who": {
                "users": [ME, "pg_read_all_data", "root", "team", "carol", "ghost"],
                "groups": ["rds_superuser", "cloudsqlsuperuser"],
            },
        }));
        let chunk = plan(vec![ap], &mut snapshot, &mut run());
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![(
                0,
                "postgres",
                vec![r#"REVOKE "team" FROM "bob""#, r#"GRANT "team" TO "carol""#]
            )])
        );
        assert_eq!(
            chunk[0].outcome.feedback.warnings,
            vec![
                format!(
                    "user {ME:?} is the connecting role, whose memberships Raito never \
                     changes; skipped"
                ),
                "user \"pg_read_all_data\" is a system role, which Raito never changes; skipped"
                    .to_owned(),
                "user \"root\" is a superuser, which has every privilege already and whose \
                 memberships Raito never changes; skipped"
                    .to_owned(),
                "user \"team\" is the role itself; skipped".to_owned(),
                "user \"ghost\" does not exist in PostgreSQL; not granted".to_owned(),
                "group \"rds_superuser\" is a system role, which Raito never changes; skipped"
                    .to_owned(),
                "group \"cloudsqlsuperuser\" is a system role, which Raito never changes; \
                 skipped"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn a_deletion_revokes_in_the_other_databases_first_then_drops_the_role() {
        let mut snapshot = snapshot(&[managed(50, "old", "ap-7")]);
        snapshot
            .databases_of
            .insert(50, vec!["analytics".to_owned(), "postgres".to_owned()]);
        database(
            &mut snapshot,
            "analytics",
            &[],
            &[(50, Object::Database, "CONNECT")],
        );
        database(
            &mut snapshot,
            "postgres",
            &[],
            &[
                (50, Object::Schema("public".into()), "USAGE"),
                (50, table("public", "orders"), "SELECT"),
            ],
        );
        let policy = policy_name("ap-7");
        snapshot
            .databases
            .entry("analytics".to_owned())
            .or_default()
            .policies = vec![ManagedPolicy {
            id: "ap-7".to_owned(),
            policy: CurrentPolicy {
                schema: "s".to_owned(),
                table: "t".to_owned(),
                name: policy.clone(),
                fingerprint: "0123456789abcdef".to_owned(),
                shape_ok: true,
            },
            roles: vec![50],
        }];
        let delete = |id: &str| ap(json!({"id": id, "namingHint": id, "delete": true}));
        let mut run = run();
        let mut chunk = plan(
            vec![delete("ap-7"), delete("ap-8")],
            &mut snapshot,
            &mut run,
        );
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![
                (
                    0,
                    "analytics",
                    vec![
                        format!(r#"DROP POLICY "{policy}" ON "s"."t""#).as_str(),
                        r#"REVOKE CONNECT ON DATABASE "analytics" FROM "old""#,
                    ]
                ),
                (
                    1,
                    "postgres",
                    vec![
                        r#"REVOKE SELECT ON TABLE "public"."orders" FROM "old""#,
                        r#"REVOKE USAGE ON SCHEMA "public" FROM "old""#,
                        r#"DROP ROLE "old""#,
                    ]
                ),
            ])
        );
        // A role that does not exist is already deleted: nothing to do, under its base name.
        assert_eq!(statements(&chunk[1]), Some(vec![]));
        assert_eq!(chunk[1].outcome.feedback.actual_name, "ap_8");
        // Deleting claims no name.
        assert!(run.claimed.is_empty());
        // A role that owns objects is left alone.
        snapshot.owned.insert(50, 2);
        chunk = plan(vec![delete("ap-7")], &mut snapshot, &mut run);
        assert_eq!(
            errors(chunk.remove(0)),
            vec![
                "the role \"old\" owns 2 object(s); Raito never drops or reassigns owned \
                 objects. Transfer their ownership (ALTER … OWNER TO) and sync again; nothing \
                 was changed"
            ]
        );
    }

    #[test]
    fn inheritance_from_a_later_access_provider_is_deferred_and_from_an_earlier_one_is_not() {
        let mut snapshot = snapshot(&[]);
        database(&mut snapshot, "postgres", &[], &[]);
        let inherits = |id: &str, from: &str| {
            ap(json!({
                "id": id, "namingHint": id, "action": "grant",
                "who": {"inheritFrom": [format!("ID:{from}")]},
            }))
        };
        let mut run = run();
        // ap-a's members inherit from ap-b, which comes later (next chunk); ap-c's from ap-a,
        // planned just before it.
        let mut chunk = plan(
            vec![inherits("ap-a", "ap-b"), inherits("ap-c", "ap-a")],
            &mut snapshot,
            &mut run,
        );
        assert_eq!(chunk[0].pending, ["ap-b"]);
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![(
                0,
                "postgres",
                vec![
                    r#"CREATE ROLE "ap_a" NOLOGIN"#,
                    r#"COMMENT ON ROLE "ap_a" IS 'Managed by Raito Cloud (access provider ap-a)'"#,
                ]
            )])
        );
        assert!(chunk[1].pending.is_empty());
        assert_eq!(
            statements(&chunk[1]).expect("planned")[0].2[2],
            r#"GRANT "ap_c" TO "ap_a""#
        );
        // The held outcome keeps its pending ids; a failure would have cleared them.
        chunk[0].finish();
        assert_eq!(chunk[0].pending, ["ap-b"]);
        // At the end of the export ap-b has its role: the membership is made then.
        run.roles.insert("ap-b".to_owned(), "ap_b".to_owned());
        let held = [("ap_a", vec!["ap-b".to_owned(), "ap-z".to_owned()])];
        let (names, ids) = deferred_to_read(held.iter().map(|(r, p)| (*r, p.as_slice())), &run);
        assert_eq!(
            (names, ids),
            (vec!["ap_a".to_owned()], vec!["ap-z".to_owned()])
        );
        let mut end = Snapshot::default();
        end.add_roles(
            vec!["ap_a".into()],
            vec!["ap-z".into()],
            vec![managed(60, "ap_a", "ap-a")],
        );
        assert_eq!(
            deferred_memberships("ap_a", &held[0].1, &end, &run),
            Deferred {
                statements: vec![r#"GRANT "ap_a" TO "ap_b""#.to_owned()],
                warnings: Vec::new(),
                errors: vec![
                    "inheritFrom ID:ap-z: no role of that access provider exists (it was not \
                     applied in this export and no role carries its marker)"
                        .to_owned()
                ],
            }
        );
        // Already a member: nothing more.
        end.members.insert(60, members(&["ap_b"]));
        assert!(
            deferred_memberships("ap_a", &held[0].1[..1], &end, &run)
                .statements
                .is_empty()
        );
    }

    #[test]
    fn a_row_filter_becomes_a_policy_only_where_row_level_security_is_on() {
        let rule = "region = 'EU'";
        let filtered = |id: &str, table: &str| {
            ap(json!({
                "id": id, "namingHint": id, "action": "filtered", "policyRule": rule,
                "what": [what(&format!("postgres.public.{table}"), "table", &[])],
            }))
        };
        let mut snapshot = snapshot(&[]);
        database(
            &mut snapshot,
            "postgres",
            &[
                (table("public", "orders"), "r", true),
                (table("public", "open"), "r", false),
            ],
            &[],
        );
        let mut chunk = plan(
            vec![filtered("ap-1", "orders"), filtered("ap-2", "open")],
            &mut snapshot,
            &mut run(),
        );
        let expression = filter::render(rule).expect("a valid rule");
        let fingerprint = names::fingerprint(&expression);
        let policy = policy_name("ap-1");
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![(
                0,
                "postgres",
                vec![
                    r#"CREATE ROLE "ap_1" NOLOGIN"#,
                    r#"COMMENT ON ROLE "ap_1" IS 'Managed by Raito Cloud (access provider ap-1)'"#,
                    format!(
                        r#"CREATE POLICY "{policy}" ON "public"."orders" AS PERMISSIVE FOR SELECT TO "ap_1" USING ({expression})"#
                    )
                    .as_str(),
                    format!(
                        r#"COMMENT ON POLICY "{policy}" ON "public"."orders" IS 'Managed by Raito Cloud (access provider ap-1) rule {fingerprint}'"#
                    )
                    .as_str(),
                ]
            )])
        );
        let failed = errors(chunk.remove(1));
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0]
                .starts_with("what postgres.public.open: row-level security is off on this table"),
            "{failed:?}"
        );
    }

    #[test]
    fn what_cannot_be_applied_fails_before_anything_is_read_or_planned() {
        let mut snapshot = snapshot(&[]);
        database(&mut snapshot, "postgres", &[], &[]);
        let mask = ap(
            json!({"id": "ap-1", "action": "mask", "what": [what("postgres.public.t", "table", &["SELECT"])]}),
        );
        let nul = ap(json!({"id": "ap-2", "action": "grant", "namingHint": "a\u{0}b"}));
        let excluded = ap(json!({
            "id": "ap-3", "action": "grant", "namingHint": "x",
            "what": [what("secret.public.t", "table", &["SELECT"])],
        }));
        let missing = ap(json!({
            "id": "ap-4", "action": "grant", "namingHint": "y",
            "what": [what("postgres.public.gone", "table", &["SELECT"])],
        }));
        let chunk: Vec<Planned> = [mask.clone(), nul.clone()]
            .into_iter()
            .map(Planned::new)
            .collect();
        assert_eq!(roles_to_read(&chunk, &run()), (Vec::new(), Vec::new()));
        let mut run = run();
        let chunk = plan(vec![mask, nul, excluded, missing], &mut snapshot, &mut run);
        let failures: Vec<Vec<String>> = chunk.into_iter().map(errors).collect();
        assert_eq!(
            failures,
            vec![
                vec![
                    "the PostgreSQL connector cannot apply action \"mask\" (supported: grant, \
                     filtered); nothing was applied"
                        .to_owned()
                ],
                vec![
                    "namingHint \"a\\0b\" contains a NUL byte, which PostgreSQL cannot store in \
                     a name or text; nothing was applied"
                        .to_owned()
                ],
                vec![
                    "what secret.public.t: the database is excluded from the sync \
                     (pg-excluded-databases)"
                        .to_owned()
                ],
                vec!["what postgres.public.gone (table) does not exist".to_owned()],
            ]
        );
        // ap-4 failed only after planning: its name stays claimed, as before the split.
        assert!(!run.claimed.contains("x") && run.claimed.contains("y"));
    }

    #[test]
    fn the_role_goes_with_its_privileges_to_another_database_when_it_has_none_in_pg_database() {
        let mut snapshot = snapshot(&[]);
        database(
            &mut snapshot,
            "analytics",
            &[(table("s", "t"), "v", false)],
            &[],
        );
        database(
            &mut snapshot,
            "warehouse",
            &[(table("s", "u"), "r", false)],
            &[],
        );
        let ap = ap(json!({
            "id": "ap-1", "namingHint": "r", "action": "grant",
            "what": [
                what("warehouse.s.u", "table", &["INSERT"]),
                what("analytics.s.t", "view", &["SELECT"]),
            ],
        }));
        let chunk = plan(vec![ap], &mut snapshot, &mut run());
        assert_eq!(
            statements(&chunk[0]),
            Some(vec![
                (
                    0,
                    "analytics",
                    vec![
                        r#"CREATE ROLE "r" NOLOGIN"#,
                        r#"COMMENT ON ROLE "r" IS 'Managed by Raito Cloud (access provider ap-1)'"#,
                        r#"GRANT CONNECT ON DATABASE "analytics" TO "r""#,
                        r#"GRANT USAGE ON SCHEMA "s" TO "r""#,
                        r#"GRANT SELECT ON TABLE "s"."t" TO "r""#,
                    ]
                ),
                (
                    1,
                    "warehouse",
                    vec![
                        r#"GRANT CONNECT ON DATABASE "warehouse" TO "r""#,
                        r#"GRANT USAGE ON SCHEMA "s" TO "r""#,
                        r#"GRANT INSERT ON TABLE "s"."u" TO "r""#,
                    ]
                ),
            ])
        );
    }
}
