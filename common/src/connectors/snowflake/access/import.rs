//! Reads the account's roles (and, with `sf-database-roles`, its database roles) and their
//! grants as access providers (target → Raito), as the Go connector's `syncFromTarget` does
//! (raito-io/cli-plugin-snowflake snowflake/data_access_sync_from_target.go, "Go" below).
//!
//! # One access provider per role
//! - An account role: type `role`, action `grant`; external id, name, naming hint and actual
//!   name are the role's name (Go `transformAccountRoleToAccessProvider`).
//! - A database role `D.R`: type `databaseRole`, external id `DATABASEROLE###DATABASE:D###ROLE:R`,
//!   name `D.R`, naming hint and actual name `R`, `commonWhatDataObject` `D`, who and what
//!   locked with Go's reasons (Go `importAccessForDatabaseRole`).
//! - Left out: the roles of `sf-excluded-roles` (a database role as `D.R`), and the sync role
//!   `sf-role` itself unless it is ACCOUNTADMIN (Go repository.go `isProtectedRoleName`).
//! - ORGADMIN, ACCOUNTADMIN, SECURITYADMIN, USERADMIN, SYSADMIN and PUBLIC are not
//!   internalizable (Go data_access.go `isNotInternalizableRole`).
//! - A role owned by one of `sf-external-identity-store-owners` (a SCIM integration) is locked
//!   entirely (not internalizable), or, with `sf-link-to-external-identity-store-groups`, its
//!   who is the identity store group of its name and its name, deletion, who and inheritance
//!   are locked with Go's reasons.
//!
//! # Who (`SHOW GRANTS OF [DATABASE] ROLE`)
//! Users by user name (as the identity sync names them), roles by external id (the name),
//! database roles by their external id, shares as `share:<name>`. A grantee that is an
//! excluded role is left out and the access provider is marked `incomplete` (Go
//! `retrieveWhoEntitiesForRole`); `incomplete` is always set, `false` otherwise.
//!
//! # What (`SHOW GRANTS TO [DATABASE] ROLE`)
//! Consecutive rows on one object make one what item, the object named by its full name as
//! Go's `getFullNameFromGrant` builds it (the parts unquoted and joined with `.`, a function or
//! procedure as `DB.SCHEMA."NAME"(TYPES)`, the account as `ORGANIZATION-ACCOUNT`) and no type
//! (Go leaves it empty: Raito matches by full name). Only privileges on Go's `AcceptedTypes`
//! are kept, `USAGE` becoming `USAGE on DATABASE` or `USAGE on SCHEMA` (Go `mapPrivilege`);
//! an object left with none gives no item. A grant on a table of an inbound shared database
//! adds `IMPORTED PRIVILEGES` on that `shared-database`, once per role.
//!
//! # Where this differs from Go, on purpose
//! - Roles are listed in pages of 10,000 (Go: 1,000) and database roles too (Go fails at
//!   10,000 database roles in one database).
//! - Names in SHOW output are unquoted as Snowflake quotes them (Go strips one outer pair of
//!   quotes, and splits a database role grantee on every `.`): a grantee named with quotes or
//!   dots then names the same access provider or user as its own row does. Plain names, the
//!   usual case, come out as Go's.
//! - Rows are grouped by the object's full name, not by comparing it with the quoted name as
//!   Go does (which never matches for a quoted name or the account, so Go gave one what item
//!   per privilege there).
//! - An empty `sf-external-identity-store-owners` entry matches nothing (Go's unset parameter
//!   matched every role without an owner, the system roles).
//! - A role whose grants cannot be read because it is gone or not visible to `sf-role` is
//!   skipped with a warning, as Go does, but not imported half read (Go then imported its who
//!   without its what); any other failure fails the import.
//!
//! # Streaming and limits
//! Roles are read a page at a time and at most `sf-worker-pool-size` roles are read at once
//! (two statements each, one after the other); each access provider is pushed as soon as its
//! role and those listed before it are done, in SHOW's order. Memory holds one page of role
//! names, the databases' names and the roles in flight.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use regex::Regex;
use tracing::Instrument as _;

use super::super::client::{Client, quote_ident, show_page};
use super::super::config::Config;
use super::super::metadata_model::{AP_TYPE_DATABASE_ROLE, AP_TYPE_ROLE, SHARED_DATABASE};
use super::super::{NAME, metadata};
use crate::connector::{Error, Sink};
use crate::model::access::{AccessProvider, Action, DataObjectReference, WhatItem, Who};

/// Roles per `SHOW ROLES` and `SHOW DATABASE ROLES` page: Snowflake's most.
const PAGE: usize = 10_000;
/// Roles per `SHOW ROLES` page of the Go connector (repository.go `GetAccountRolesWithPrefix`),
/// for the statement count it is compared with.
const GO_ROLE_PAGE: u64 = 1_000;

/// The roles Raito may show but never manage (data_access.go `RolesNotInternalizable`).
pub(super) const NOT_INTERNALIZABLE: &[&str] = &[
    "ORGADMIN",
    "ACCOUNTADMIN",
    "SECURITYADMIN",
    "USERADMIN",
    "SYSADMIN",
    "PUBLIC",
];
/// The object types whose privileges become permissions (data_access.go `AcceptedTypes`).
const ACCEPTED_TYPES: &[&str] = &[
    "ACCOUNT",
    "WAREHOUSE",
    "DATABASE",
    "SCHEMA",
    "TABLE",
    "VIEW",
    "COLUMN",
    "SHARED-DATABASE",
    "EXTERNAL_TABLE",
    "MATERIALIZED_VIEW",
    "FUNCTION",
    "PROCEDURE",
    "INTEGRATION",
];

// The lock reasons, word for word (data_access.go).
const WHO_LOCKED_REASON: &str = "The 'who' for this Snowflake role cannot be changed because it was imported from an external identity store";
const INHERITANCE_LOCKED_REASON: &str = "The inheritance for this Snowflake role cannot be changed because it was imported from an external identity store";
const NAME_LOCKED_REASON: &str =
    "This Snowflake role cannot be renamed because it was imported from an external identity store";
const DELETE_LOCKED_REASON: &str =
    "This Snowflake role cannot be deleted because it was imported from an external identity store";
const DATABASE_ROLE_WHO_LOCKED_REASON: &str = "The 'who' for this Snowflake role cannot be changed because we currently do not support database role changes";
const DATABASE_ROLE_WHAT_LOCKED_REASON: &str = "The 'what' for this Snowflake role cannot be changed because we currently do not support database role changes";

/// The external id prefix and divider of a database role (utils.go).
const DATABASE_ROLE_PREFIX: &str = "DATABASEROLE###DATABASE:";
const ROLE_DIVIDER: &str = "###ROLE:";
/// The external id prefix of a share (data_source_meta_data.go `apTypeSharePrefix`).
const SHARE_PREFIX: &str = "share:";

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Account roles pushed.
    pub roles: u64,
    /// Database roles pushed.
    pub database_roles: u64,
    /// Roles left out: `sf-excluded-roles`, or the sync role.
    pub excluded: u64,
    /// Roles gone (or not visible) by the time their grants were read.
    pub skipped: u64,
    /// Masking and row access policies pushed (not internalizable).
    pub policies: u64,
    /// Statements this import sent.
    pub statements: u64,
    /// Statements the Go connector's pattern sends for the same account: the same two per
    /// role, but SHOW ROLES in pages of 1,000, a RESULT_SCAN after each SHOW SHARES (sent once
    /// more for the database roles) and one unpaged SHOW DATABASE ROLES per database.
    pub go_statements: u64,
}

/// The external id of database role `role` of `database` (utils.go
/// `databaseRoleExternalIdGenerator`).
pub fn database_role_external_id(database: &str, role: &str) -> String {
    format!("{DATABASE_ROLE_PREFIX}{database}{ROLE_DIVIDER}{role}")
}

/// The database and role of a database role's external id (utils.go
/// `parseDatabaseRoleExternalId`: two non-empty parts), `None` for any other id.
pub fn parse_database_role_external_id(external_id: &str) -> Option<(&str, &str)> {
    let rest = external_id.strip_prefix(DATABASE_ROLE_PREFIX)?;
    let mut parts = rest.split(ROLE_DIVIDER);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(database), Some(role), None) if !database.is_empty() && !role.is_empty() => {
            Some((database, role))
        }
        _ => None,
    }
}

/// Pushes one access provider per account role (and database role, with
/// `sf-database-roles`) into `sink`, in SHOW's order; see the module docs.
pub async fn import(
    config: &Config,
    client: &Client,
    sink: &mut dyn Sink<AccessProvider>,
) -> Result<ImportCounts, Error> {
    import_inner(config, client, sink)
        .instrument(tracing::info_span!("snowflake access import"))
        .await
}

/// A role as SHOW lists it.
pub(super) struct ShownRole {
    pub(super) name: String,
    pub(super) owner: String,
    pub(super) comment: String,
}

/// One role to read.
enum Work {
    Account(ShownRole),
    Database(String, ShownRole),
}

/// What reading one role gave.
enum Outcome {
    Account(AccessProvider),
    Database(AccessProvider),
    Excluded,
    Gone,
}

/// What the readers share.
struct Reader<'a> {
    config: &'a Config,
    client: &'a Client,
    /// Databases of inbound shares (for `IMPORTED PRIVILEGES`).
    inbound_shares: HashSet<String>,
    /// `ORGANIZATION-ACCOUNT`, read the first time a grant on the account is seen.
    account_name: tokio::sync::OnceCell<String>,
    statements: AtomicU64,
    /// In a bulk import, the statements sent for the roles' grants, and those Go sends for the
    /// same roles (two per role, one for a role linked to its SCIM group).
    bulk_statements: AtomicU64,
    bulk_go_statements: AtomicU64,
    old_function: Regex,
}

async fn import_inner(
    config: &Config,
    client: &Client,
    sink: &mut dyn Sink<AccessProvider>,
) -> Result<ImportCounts, Error> {
    let started = Instant::now();
    let mut reader = Reader {
        config,
        client,
        inbound_shares: HashSet::new(),
        account_name: tokio::sync::OnceCell::new(),
        statements: AtomicU64::new(0),
        bulk_statements: AtomicU64::new(0),
        bulk_go_statements: AtomicU64::new(0),
        // data_access.go `_oldFunctionStyleRegex`; a literal that compiles, so the error arm
        // below is unreachable.
        old_function: Regex::new(r#"^"?[a-zA-Z0-9_]+\([a-zA-Z ,()0-9]+\)(:[a-zA-Z()0-9]+)?"?$"#)
            .map_err(|e| Error::Operation {
                connector: NAME,
                operation: "compiling the function name pattern".to_owned(),
                source: e.into(),
            })?,
    };
    reader.inbound_shares = reader.inbound_shares().await?;
    let reader = &reader;

    let databases = if config.database_roles {
        reader.databases().await?
    } else {
        Vec::new()
    };
    let database_count = databases.len() as u64;
    let (account_roles, database_roles) = (Listing::default(), Listing::default());
    let mut counts = ImportCounts::default();
    if config.import_from_account_usage {
        // Account roles a chunk at a time from ACCOUNT_USAGE; database roles as below.
        let mut chunks = list_roles(client, None, &account_roles)
            .try_chunks(BULK_ROLES)
            .map_err(|e| e.1);
        while let Some(chunk) = chunks.try_next().await? {
            let bulk = reader.bulk(&chunk).await?;
            for role in chunk {
                match reader.read(Work::Account(role), Some(&bulk)).await? {
                    Outcome::Account(ap) => {
                        sink.push(ap).await?;
                        counts.roles += 1;
                    }
                    Outcome::Excluded => counts.excluded += 1,
                    Outcome::Gone | Outcome::Database(_) => counts.skipped += 1,
                }
            }
        }
    }
    let account_work: BoxStream<'_, Result<Work, Error>> = if config.import_from_account_usage {
        stream::empty().boxed()
    } else {
        list_roles(client, None, &account_roles)
            .map_ok(Work::Account)
            .boxed()
    };
    let work: BoxStream<'_, Result<Work, Error>> = account_work
        .chain(
            stream::iter(databases)
                .map(|database| {
                    let listing = &database_roles;
                    list_roles(client, Some(database.clone()), listing)
                        .map_ok(move |role| Work::Database(database.clone(), role))
                })
                .flatten(),
        )
        .boxed();
    let mut outcomes = work
        .map_ok(|work| reader.read(work, None))
        .try_buffered(config.worker_pool_size.max(1));

    while let Some(outcome) = outcomes.try_next().await? {
        match outcome {
            Outcome::Account(ap) => {
                sink.push(ap).await?;
                counts.roles += 1;
            }
            Outcome::Database(ap) => {
                sink.push(ap).await?;
                counts.database_roles += 1;
            }
            Outcome::Excluded => counts.excluded += 1,
            Outcome::Gone => counts.skipped += 1,
        }
    }
    drop(outcomes);
    // Policies after the roles, masks unless columns are skipped (Go `syncFromTarget`); Standard
    // Edition has none.
    if !config.standard_edition {
        if !config.skip_columns {
            counts.policies += reader.policies(PolicyKind::Masking, sink).await?;
        }
        counts.policies += reader.policies(PolicyKind::RowAccess, sink).await?;
    }
    // The role listings' pages are statements too.
    counts.statements = reader.statements.load(Ordering::Relaxed)
        + account_roles.pages.load(Ordering::Relaxed)
        + database_roles.pages.load(Ordering::Relaxed);
    // Go's pattern sends what this import sends per role (two statements, one for a role linked
    // to its SCIM group or gone before its what was read) and per database listing page, but
    // SHOW ROLES in pages of 1,000 (one more after a full page), a RESULT_SCAN after SHOW SHARES,
    // and with database roles SHOW SHARES and its RESULT_SCAN once more (for the database
    // list) and one unpaged SHOW DATABASE ROLES per database.
    let go_role_pages = account_roles.roles.load(Ordering::Relaxed) / GO_ROLE_PAGE + 1;
    let mut go =
        counts.statements - account_roles.pages.load(Ordering::Relaxed) + go_role_pages + 1;
    // A bulk import's ACCOUNT_USAGE reads stand for Go's SHOW GRANTS per role.
    go = go - reader.bulk_statements.load(Ordering::Relaxed)
        + reader.bulk_go_statements.load(Ordering::Relaxed);
    if config.database_roles {
        go = go - database_roles.pages.load(Ordering::Relaxed) + 2 + database_count;
    }
    counts.go_statements = go;
    tracing::info!(
        roles = counts.roles,
        database_roles = counts.database_roles,
        policies = counts.policies,
        excluded = counts.excluded,
        skipped = counts.skipped,
        databases = database_count,
        statements = counts.statements,
        go_statements = counts.go_statements,
        role_pages = account_roles.pages.load(Ordering::Relaxed),
        database_role_pages = database_roles.pages.load(Ordering::Relaxed),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "imported roles"
    );
    Ok(counts)
}

/// Account roles per bulk read of ACCOUNT_USAGE (`sf-access-import-from-account-usage`).
const BULK_ROLES: usize = 1_000;

/// The holders and privileges of a chunk of account roles, read in bulk from ACCOUNT_USAGE and
/// written as SHOW GRANTS OF / TO would print them, by role name.
#[derive(Default)]
struct Bulk {
    holders: HashMap<String, Vec<(String, String)>>,
    privileges: HashMap<String, Vec<(String, String, String)>>,
}

/// A name as SHOW prints it: as it is when a plain identifier (`[A-Z_][A-Z0-9_$]*`), else
/// double-quoted with inner quotes doubled.
fn show_name(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_owned()
    } else {
        quote_ident(name)
    }
}

/// A kind of policy the import reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PolicyKind {
    Masking,
    RowAccess,
}

impl PolicyKind {
    /// As SHOW and DESCRIBE name it.
    fn words(self) -> &'static str {
        match self {
            PolicyKind::Masking => "MASKING",
            PolicyKind::RowAccess => "ROW ACCESS",
        }
    }

    fn action(self) -> Action {
        match self {
            PolicyKind::Masking => Action::Mask,
            PolicyKind::RowAccess => Action::Filtered,
        }
    }
}

/// Go's `FormatQuery` of one name: as it is when a simple name (`[a-zA-Z_][a-zA-Z0-9_$]*`),
/// else double-quoted with inner quotes doubled (common/snowflake_parser.go).
fn go_format_name(name: &str) -> String {
    let simple = name.is_empty()
        || (name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$'));
    if simple {
        name.to_owned()
    } else {
        quote_ident(name)
    }
}

/// The account roles (`database` `None`) or the database roles of `database`, a page of
/// 10,000 at a time (`SHOW … LIMIT … FROM`), counted in `listing` (a statement per page).
pub(super) fn list_roles<'c>(
    client: &'c Client,
    database: Option<String>,
    listing: &'c Listing,
) -> BoxStream<'c, Result<ShownRole, Error>> {
    let command = match &database {
        None => "SHOW ROLES".to_owned(),
        Some(database) => format!("SHOW DATABASE ROLES IN DATABASE {}", quote_ident(database)),
    };
    stream::try_unfold(
        (command, Some(None::<String>)),
        move |(command, next)| async move {
            // `None`: the last page was read.
            let Some(after) = next else {
                return Ok(None);
            };
            let statement = show_page(&command, PAGE, after.as_deref());
            let mut rows = client.query(&statement, &[]).await?;
            listing.pages.fetch_add(1, Ordering::Relaxed);
            let (name, owner, comment) = (
                rows.column("name")?,
                rows.column("owner")?,
                rows.column("comment")?,
            );
            let mut page = Vec::new();
            let mut seen = 0usize;
            while let Some(batch) = rows.next_batch().await? {
                for row in batch {
                    seen += 1;
                    let Some(role) = row.get(name) else {
                        continue;
                    };
                    // FROM starts after the first row with that name; a row equal to it is
                    // not new.
                    if after.as_deref() == Some(role) {
                        continue;
                    }
                    page.push(ShownRole {
                        name: role.to_owned(),
                        owner: row.get(owner).unwrap_or_default().to_owned(),
                        comment: row.get(comment).unwrap_or_default().to_owned(),
                    });
                }
            }
            listing
                .roles
                .fetch_add(page.len() as u64, Ordering::Relaxed);
            let next = match page.last() {
                Some(last) if seen >= PAGE => Some(Some(last.name.clone())),
                _ => None,
            };
            Ok::<_, Error>(Some((
                stream::iter(page.into_iter().map(Ok::<_, Error>)),
                (command, next),
            )))
        },
    )
    .try_flatten()
    .boxed()
}

/// What a role listing read: pages and roles.
#[derive(Default)]
pub(super) struct Listing {
    pub(super) pages: AtomicU64,
    pub(super) roles: AtomicU64,
}

impl<'a> Reader<'a> {
    /// Runs `statement`, counted.
    async fn query(&self, statement: &str) -> Result<super::super::client::Rows<'a>, Error> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.client.query(statement, &[]).await
    }

    /// Reads the holders and privileges of `roles` from ACCOUNT_USAGE: three statements.
    async fn bulk(&self, roles: &[ShownRole]) -> Result<Bulk, Error> {
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        let marks = vec!["?"; names.len()].join(", ");
        let mut bulk = Bulk::default();
        let view = "SNOWFLAKE.ACCOUNT_USAGE";
        // Privileges, memberships in other roles included (as SHOW GRANTS TO lists them).
        let statement = format!(
            "SELECT GRANTEE_NAME, PRIVILEGE, GRANTED_ON, NAME, TABLE_CATALOG, TABLE_SCHEMA FROM \
             {view}.GRANTS_TO_ROLES WHERE DELETED_ON IS NULL AND GRANTED_TO IN ('ROLE', \
             'ACCOUNT ROLE') AND GRANTEE_NAME IN ({marks}) ORDER BY GRANTEE_NAME"
        );
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.bulk_statements.fetch_add(1, Ordering::Relaxed);
        let mut rows = self.client.query(&statement, &names).await?;
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let cell = |i: usize| row.get(i).unwrap_or_default();
                let (on, name) = (cell(2), cell(3));
                let (catalog, schema) = (show_name(cell(4)), show_name(cell(5)));
                let raw = match on {
                    "ACCOUNT" | "DATABASE" | "ROLE" | "WAREHOUSE" | "INTEGRATION" => {
                        show_name(name)
                    }
                    "SCHEMA" => format!("{catalog}.{}", show_name(name)),
                    // `NAME(TYPES)`, as the old SHOW form that `full_name` corrects.
                    "FUNCTION" | "PROCEDURE" => format!("{catalog}.{schema}.{name}"),
                    _ => format!("{catalog}.{schema}.{}", show_name(name)),
                };
                bulk.privileges
                    .entry(cell(0).to_owned())
                    .or_default()
                    .push((cell(1).to_owned(), on.to_owned(), raw));
            }
        }
        drop(rows);
        // Roles and database roles holding them.
        let statement = format!(
            "SELECT NAME, GRANTED_TO, GRANTEE_NAME FROM {view}.GRANTS_TO_ROLES WHERE DELETED_ON IS \
             NULL AND GRANTED_ON = 'ROLE' AND PRIVILEGE = 'USAGE' AND NAME IN ({marks})"
        );
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.bulk_statements.fetch_add(1, Ordering::Relaxed);
        let mut rows = self.client.query(&statement, &names).await?;
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let cell = |i: usize| row.get(i).unwrap_or_default();
                let holder = match cell(1) {
                    "ROLE" | "ACCOUNT ROLE" => ("ROLE", show_name(cell(2))),
                    "DATABASE_ROLE" | "DATABASE ROLE" => (
                        "DATABASE_ROLE",
                        split_names(cell(2))
                            .iter()
                            .map(|p| show_name(p))
                            .collect::<Vec<_>>()
                            .join("."),
                    ),
                    _ => continue,
                };
                bulk.holders
                    .entry(cell(0).to_owned())
                    .or_default()
                    .push((holder.0.to_owned(), holder.1));
            }
        }
        drop(rows);
        // Users holding them.
        let statement = format!(
            "SELECT ROLE, GRANTEE_NAME FROM {view}.GRANTS_TO_USERS WHERE DELETED_ON IS NULL AND \
             ROLE IN ({marks})"
        );
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.bulk_statements.fetch_add(1, Ordering::Relaxed);
        let mut rows = self.client.query(&statement, &names).await?;
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let cell = |i: usize| row.get(i).unwrap_or_default();
                bulk.holders
                    .entry(cell(0).to_owned())
                    .or_default()
                    .push(("USER".to_owned(), show_name(cell(1))));
            }
        }
        Ok(bulk)
    }

    /// Pushes one access provider per masking or row access policy not made by Raito, with
    /// what it is set on (data_access_sync_from_target.go `importPoliciesOfType`); answers how
    /// many.
    async fn policies(
        &self,
        kind: PolicyKind,
        sink: &mut dyn Sink<AccessProvider>,
    ) -> Result<u64, Error> {
        let show = format!("SHOW {} POLICIES IN ACCOUNT", kind.words());
        let mut rows = match self.query(&show).await {
            Ok(rows) => rows,
            // Go's failsafe for a Standard Edition account without sf-standard-edition.
            Err(e) if e.to_string().contains("Unsupported feature") => {
                tracing::warn!(kind = kind.words(), "policies not supported by the account");
                return Ok(0);
            }
            Err(e) => return Err(e),
        };
        let columns = (
            rows.column("name")?,
            rows.column("database_name")?,
            rows.column("schema_name")?,
            rows.column("kind")?,
            rows.column("comment")?,
        );
        let mut policies = Vec::new();
        while let Some(batch) = rows.next_batch().await? {
            for row in batch {
                let cell = |i: usize| row.get(i).unwrap_or_default().to_owned();
                let (name, comment) = (cell(columns.0), cell(columns.4));
                // Go leaves out a policy of another kind and Raito's masks (`RAITO_`); this
                // connector's own policies carry its marker.
                if !cell(columns.3).replace('_', " ").starts_with(kind.words())
                    || name.starts_with("RAITO_")
                    || super::managed_for(&comment).is_some()
                {
                    continue;
                }
                policies.push([cell(columns.1), cell(columns.2), name]);
            }
        }
        drop(rows);
        let mut pushed = 0;
        for [database, schema, name] in policies {
            let qualified = format!(
                "{}.{}.{}",
                quote_ident(&database),
                quote_ident(&schema),
                quote_ident(&name)
            );
            let describe = format!("DESCRIBE {} POLICY {qualified}", kind.words());
            let body = match self.query(&describe).await {
                Ok(mut rows) => {
                    let column = rows.column("body")?;
                    let mut bodies = Vec::new();
                    while let Some(batch) = rows.next_batch().await? {
                        bodies.extend(
                            batch
                                .iter()
                                .map(|r| r.get(column).unwrap_or_default().to_owned()),
                        );
                    }
                    bodies
                }
                Err(e) => {
                    tracing::warn!(policy = %qualified, error = %e, "policy not described; left out");
                    continue;
                }
            };
            let Ok([body]) = <[String; 1]>::try_from(body) else {
                tracing::warn!(policy = %qualified, "not one definition of the policy; left out");
                continue;
            };
            let references = format!(
                "SELECT POLICY_KIND, REF_DATABASE_NAME, REF_SCHEMA_NAME, REF_ENTITY_NAME, \
                 REF_COLUMN_NAME, POLICY_STATUS FROM TABLE({}.INFORMATION_SCHEMA.POLICY_REFERENCES(\
                 POLICY_NAME => {}))",
                quote_ident(&database),
                super::super::client::quote_literal(&qualified)
            );
            let mut what = Vec::new();
            match self.query(&references).await {
                Ok(mut rows) => {
                    while let Some(batch) = rows.next_batch().await? {
                        for row in batch {
                            let cell = |i: usize| row.get(i).unwrap_or_default();
                            if !cell(5).eq_ignore_ascii_case("Active") {
                                continue;
                            }
                            let table = [cell(1), cell(2), cell(3)].map(go_format_name);
                            let reference = match (cell(0), row.get(4)) {
                                ("MASKING_POLICY", Some(column)) => Some((
                                    format!("{}.{}", table.join("."), go_format_name(column)),
                                    "COLUMN",
                                )),
                                ("ROW_ACCESS_POLICY", _) => Some((table.join("."), "TABLE")),
                                _ => None,
                            };
                            if let Some((full_name, object_type)) = reference {
                                what.push(WhatItem {
                                    data_object: DataObjectReference::new(full_name, object_type),
                                    ..WhatItem::default()
                                });
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(policy = %qualified, error = %e, "policy references not read; left out");
                    continue;
                }
            }
            let full_name = format!("{database}-{schema}-{name}");
            sink.push(AccessProvider {
                external_id: full_name.clone(),
                name: full_name.clone(),
                naming_hint: name,
                action: kind.action(),
                policy: body,
                actual_name: full_name,
                what,
                not_internalizable: true,
                ..AccessProvider::default()
            })
            .await?;
            pushed += 1;
        }
        Ok(pushed)
    }

    /// The databases of the inbound shares (Go data_access.go `getInboundShareNames`).
    async fn inbound_shares(&self) -> Result<HashSet<String>, Error> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        Ok(metadata::inbound_share_databases(self.client)
            .await?
            .into_iter()
            .collect())
    }

    /// The databases whose roles are read: the standard databases and the inbound shared ones,
    /// without `sf-excluded-databases` (Go `getApplicableDatabases`), the standard ones in
    /// SHOW's order, then the shared ones by name.
    async fn databases(&self) -> Result<Vec<String>, Error> {
        let excluded: HashSet<&str> = self
            .config
            .excluded_databases
            .iter()
            .map(String::as_str)
            .collect();
        let (standard, pages) = metadata::standard_databases(self.client).await?;
        self.statements.fetch_add(pages, Ordering::Relaxed);
        let mut databases: Vec<String> = standard
            .into_iter()
            .map(|(database, _)| database)
            .filter(|database| {
                !excluded.contains(database.as_str()) && !self.inbound_shares.contains(database)
            })
            .collect();
        let mut shared: Vec<&String> = self
            .inbound_shares
            .iter()
            .filter(|d| !excluded.contains(d.as_str()))
            .collect();
        shared.sort();
        databases.extend(shared.into_iter().cloned());
        Ok(databases)
    }

    /// Reads one role's who and what, or says why it is left out.
    async fn read(&self, work: Work, bulk: Option<&Bulk>) -> Result<Outcome, Error> {
        let (database, role) = match &work {
            Work::Account(role) => (None, role),
            Work::Database(database, role) => (Some(database.as_str()), role),
        };
        let excluded_name = match database {
            None => role.name.clone(),
            Some(database) => format!("{database}.{}", role.name),
        };
        // Go skips excluded roles by name, and the sync role unless it is ACCOUNTADMIN
        // (repository.go `isProtectedRoleName`, which Go applies to database roles' names too).
        // A role the apply manages is Raito's already: it is not imported (the import pushes
        // what exists and Raito does not manage, as for every connector).
        if super::managed_for(&role.comment).is_some() {
            tracing::debug!(role = %excluded_name, "role managed by Raito; not imported");
            return Ok(Outcome::Excluded);
        }
        if self.config.excluded_roles.contains(&excluded_name)
            || (!self.config.role.eq_ignore_ascii_case("ACCOUNTADMIN")
                && self.config.role.eq_ignore_ascii_case(&role.name))
        {
            tracing::info!(role = %excluded_name, "role excluded");
            return Ok(Outcome::Excluded);
        }
        let quoted = match database {
            None => format!("ROLE {}", quote_ident(&role.name)),
            Some(database) => format!(
                "DATABASE ROLE {}.{}",
                quote_ident(database),
                quote_ident(&role.name)
            ),
        };
        // Go `comesFromExternalIdentityStore`: the owner, compared without case.
        let from_scim = self
            .config
            .external_identity_store_owners
            .iter()
            .any(|owner| owner.eq_ignore_ascii_case(&role.owner));
        let linked = from_scim && self.config.link_to_external_identity_store_groups;
        // The bulk grants hold account roles only; a database role is read with SHOW.
        let bulk = bulk.filter(|_| database.is_none());
        if bulk.is_some() {
            self.bulk_go_statements
                .fetch_add(if linked { 1 } else { 2 }, Ordering::Relaxed);
        }
        let result = async {
            let (who, incomplete) = if linked {
                // Go `retrieveWhoEntitiesForRole`: the group of the role's name, nothing read.
                (
                    Who {
                        groups: vec![role.name.clone()],
                        ..Who::default()
                    },
                    false,
                )
            } else if let Some(bulk) = bulk {
                let holders = bulk.holders.get(&role.name).map(Vec::as_slice);
                self.who_of(holders.unwrap_or(&[]), &excluded_name)
            } else {
                self.who(&format!("SHOW GRANTS OF {quoted}"), &excluded_name)
                    .await?
            };
            let what = match bulk {
                Some(bulk) => {
                    let privileges = bulk.privileges.get(&role.name).map(Vec::as_slice);
                    self.what_of(privileges.unwrap_or(&[])).await?
                }
                None => self.what(&format!("SHOW GRANTS TO {quoted}")).await?,
            };
            Ok::<_, Error>((who, incomplete, what))
        }
        .await;
        let (who, incomplete, what) = match result {
            Ok(read) => read,
            // Dropped since SHOW listed it, or not visible to sf-role: Go warns and goes on.
            Err(error @ Error::PermissionDenied { .. }) => {
                tracing::warn!(role = %excluded_name, %error, "could not read the role's grants; skipped");
                return Ok(Outcome::Gone);
            }
            Err(error) => return Err(error),
        };
        Ok(match database {
            None => {
                let mut ap = AccessProvider {
                    external_id: role.name.clone(),
                    name: role.name.clone(),
                    naming_hint: role.name.clone(),
                    r#type: Some(AP_TYPE_ROLE.to_owned()),
                    action: Action::Grant,
                    who: Some(who),
                    actual_name: role.name.clone(),
                    what,
                    incomplete: Some(incomplete),
                    not_internalizable: NOT_INTERNALIZABLE
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(&role.name)),
                    ..AccessProvider::default()
                };
                // Go `transformAccountRoleToAccessProvider`: a SCIM role is locked partially
                // when linked to its group, entirely otherwise.
                if linked {
                    let lock = |reason: &str| (Some(true), Some(reason.to_owned()));
                    (ap.name_locked, ap.name_locked_reason) = lock(NAME_LOCKED_REASON);
                    (ap.delete_locked, ap.delete_locked_reason) = lock(DELETE_LOCKED_REASON);
                    (ap.who_locked, ap.who_locked_reason) = lock(WHO_LOCKED_REASON);
                    (ap.inheritance_locked, ap.inheritance_locked_reason) =
                        lock(INHERITANCE_LOCKED_REASON);
                } else if from_scim {
                    ap.not_internalizable = true;
                }
                Outcome::Account(ap)
            }
            Some(database) => Outcome::Database(AccessProvider {
                external_id: database_role_external_id(database, &role.name),
                // Go: the name is `D.R`, the actual name and the naming hint `R`.
                name: excluded_name.clone(),
                naming_hint: role.name.clone(),
                r#type: Some(AP_TYPE_DATABASE_ROLE.to_owned()),
                action: Action::Grant,
                who: Some(who),
                actual_name: role.name.clone(),
                what,
                // Go `isNotInternalizableRole` compares `D.R` with the system roles' names.
                not_internalizable: NOT_INTERNALIZABLE
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&excluded_name)),
                who_locked: Some(true),
                who_locked_reason: Some(DATABASE_ROLE_WHO_LOCKED_REASON.to_owned()),
                what_locked: Some(true),
                what_locked_reason: Some(DATABASE_ROLE_WHAT_LOCKED_REASON.to_owned()),
                incomplete: Some(incomplete),
                common_what_data_object: Some(database.to_owned()),
                ..AccessProvider::default()
            }),
        })
    }

    /// The who of a role from `SHOW GRANTS OF …`, and whether an excluded role was left out
    /// (Go `retrieveWhoEntitiesForRole`).
    async fn who(&self, statement: &str, role: &str) -> Result<(Who, bool), Error> {
        let mut rows = self.query(statement).await?;
        let (granted_to, grantee) = (rows.column("granted_to")?, rows.column("grantee_name")?);
        let mut holders = Vec::new();
        while let Some(batch) = rows.next_batch().await? {
            holders.extend(batch.iter().map(|row| {
                (
                    row.get(granted_to).unwrap_or_default().to_owned(),
                    row.get(grantee).unwrap_or_default().to_owned(),
                )
            }));
        }
        Ok(self.who_of(&holders, role))
    }

    /// The who of a role from its holders as SHOW GRANTS OF prints them: (`granted_to`,
    /// `grantee_name`).
    fn who_of(&self, holders: &[(String, String)], role: &str) -> (Who, bool) {
        let mut who = Who::default();
        let mut incomplete = false;
        {
            for (granted_to, grantee) in holders {
                let grantee = grantee.as_str();
                match granted_to.as_str() {
                    "USER" => {
                        // The identity sync's user name: the name as stored, without one pair
                        // of surrounding quotes (utils.go `cleanDoubleQuotes`).
                        let parts = split_names(grantee);
                        let name = parts.first().map(String::as_str).unwrap_or(grantee);
                        who.users.push(clean_double_quotes(name).to_owned());
                    }
                    "ROLE" => {
                        let parts = split_names(grantee);
                        let name = parts.first().cloned().unwrap_or_default();
                        if self.config.excluded_roles.contains(&name) {
                            tracing::warn!(grantee = %name, %role, "an excluded role holds the role: the hierarchy is incomplete");
                            incomplete = true;
                            continue;
                        }
                        who.access_providers.push(name);
                    }
                    // As Go writes it: no parsing of a share's name.
                    "SHARE" => who
                        .access_providers
                        .push(format!("{SHARE_PREFIX}{}", clean_double_quotes(grantee))),
                    "DATABASE_ROLE" => match split_names(grantee).as_slice() {
                        [database, name] => {
                            if self
                                .config
                                .excluded_roles
                                .contains(&format!("{database}.{name}"))
                            {
                                tracing::warn!(grantee = %grantee, %role, "an excluded database role holds the role: the hierarchy is incomplete");
                                incomplete = true;
                                continue;
                            }
                            who.access_providers
                                .push(database_role_external_id(database, name));
                        }
                        _ => {
                            // Go fails the role on a name it cannot split; one grantee left
                            // out and said so is less lost.
                            tracing::warn!(grantee = %grantee, %role, "a database role grantee without database and name; left out");
                            incomplete = true;
                        }
                    },
                    // Application roles and anything newer: not read by Go either.
                    _ => {}
                }
            }
        }
        (who, incomplete)
    }

    /// The what of a role from `SHOW GRANTS TO …` (Go `mapGrantToRoleToWhatItems`).
    async fn what(&self, statement: &str) -> Result<Vec<WhatItem>, Error> {
        let mut rows = self.query(statement).await?;
        let (privilege, granted_on, name) = (
            rows.column("privilege")?,
            rows.column("granted_on")?,
            rows.column("name")?,
        );
        let mut privileges = Vec::new();
        while let Some(batch) = rows.next_batch().await? {
            privileges.extend(batch.iter().map(|row| {
                let cell = |i| row.get(i).unwrap_or_default().to_owned();
                (cell(privilege), cell(granted_on), cell(name))
            }));
        }
        self.what_of(&privileges).await
    }

    /// The what of a role from its privileges as SHOW GRANTS TO prints them: (`privilege`,
    /// `granted_on`, `name`).
    async fn what_of(
        &self,
        privileges: &[(String, String, String)],
    ) -> Result<Vec<WhatItem>, Error> {
        let mut items = Vec::new();
        let mut current: Option<(String, Vec<String>)> = None;
        let mut shares_applied: HashSet<String> = HashSet::new();
        {
            for (privilege, on, raw) in privileges {
                let (on, raw) = (on.as_str(), raw.as_str());
                // Go: database roles granted to the role (or to a share) are no what.
                if on == "DATABASE_ROLE" {
                    continue;
                }
                let full_name = self.full_name(raw, on).await?;
                if current.as_ref().is_none_or(|(seen, _)| *seen != full_name) {
                    flush(&mut items, current.take());
                    current = Some((full_name, Vec::new()));
                }
                if ACCEPTED_TYPES.contains(&on.to_ascii_uppercase().as_str())
                    && let Some((_, permissions)) = current.as_mut()
                {
                    permissions.push(map_privilege(privilege, on));
                }
                let database = split_names(raw).into_iter().next().unwrap_or_default();
                if self.inbound_shares.contains(&database)
                    && on.eq_ignore_ascii_case("TABLE")
                    && shares_applied.insert(database.clone())
                {
                    items.push(WhatItem {
                        data_object: DataObjectReference::new(database, SHARED_DATABASE),
                        permissions: vec!["IMPORTED PRIVILEGES".to_owned()],
                        ..WhatItem::default()
                    });
                }
            }
        }
        flush(&mut items, current);
        Ok(items)
    }

    /// The full name Raito knows the object of a grant by (data_access.go
    /// `getFullNameFromGrant`).
    async fn full_name(&self, name: &str, granted_on: &str) -> Result<String, Error> {
        if granted_on.eq_ignore_ascii_case("ACCOUNT") {
            return self
                .account_name
                .get_or_try_init(|| async {
                    self.statements.fetch_add(1, Ordering::Relaxed);
                    metadata::account_name(self.client, '-').await
                })
                .await
                .cloned();
        }
        let mut parts = split_names(name);
        parts.truncate(4);
        if (granted_on.eq_ignore_ascii_case("FUNCTION")
            || granted_on.eq_ignore_ascii_case("PROCEDURE"))
            && let Some(function) = parts.get_mut(2)
        {
            *function = correct_function_name(&self.old_function, function);
        }
        Ok(parts.join("."))
    }
}

/// Adds the item being built, if it has any permission.
fn flush(items: &mut Vec<WhatItem>, current: Option<(String, Vec<String>)>) {
    if let Some((full_name, permissions)) = current
        && !permissions.is_empty()
    {
        items.push(WhatItem {
            // Go leaves the type empty: Raito's importer matches the object by full name.
            data_object: DataObjectReference::new(full_name, ""),
            permissions,
            ..WhatItem::default()
        });
    }
}

/// `USAGE` on a database or a schema, told apart (data_access_sync_from_target.go
/// `mapPrivilege`): it does not pass from a database to its schemas.
fn map_privilege(privilege: &str, granted_on: &str) -> String {
    if privilege.eq_ignore_ascii_case("USAGE") {
        let on = granted_on.to_ascii_uppercase();
        if on.contains("DATABASE") {
            return "USAGE on DATABASE".to_owned();
        }
        if on.contains("SCHEMA") {
            return "USAGE on SCHEMA".to_owned();
        }
    }
    privilege.to_owned()
}

/// `input` without one pair of surrounding double quotes (utils.go `cleanDoubleQuotes`).
pub(super) fn clean_double_quotes(input: &str) -> &str {
    if input.len() >= 2 && input.starts_with('"') && input.ends_with('"') {
        &input[1..input.len() - 1]
    } else {
        input
    }
}

/// The parts of a name as SHOW prints it, unquoted (common/snowflake_parser.go `ParseFullName`
/// with `splitFullName` and `unquoteSnowflakeIdentifier`): parts are split on `.` outside
/// quotes; a quoted part loses its quotes and `""` becomes `"`; a quoted routine name followed
/// by its argument types (`"F"(NUMBER)`) is kept as it is. A malformed name gives no parts
/// (Go's empty object).
pub(super) fn split_names(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = name;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some(close) = standalone_quote(quoted) else {
                return Vec::new();
            };
            // `close` indexes `quoted`; the token ends after the closing quote.
            let mut end = close + 2;
            if rest[end..].starts_with('(') {
                let Some(paren) = matching_paren(rest, end) else {
                    return Vec::new();
                };
                end = paren + 1;
            }
            let token = &rest[..end];
            if end == close + 2 {
                parts.push(token[1..token.len() - 1].replace("\"\"", "\""));
            } else {
                parts.push(token.to_owned());
            }
            rest = &rest[end..];
            match rest.strip_prefix('.') {
                Some(after) => rest = after,
                None if rest.is_empty() => {}
                None => return Vec::new(),
            }
        } else {
            match rest.find('.') {
                None => {
                    parts.push(rest.replace("\"\"", "\""));
                    rest = "";
                }
                Some(dot) if dot + 1 < rest.len() => {
                    parts.push(rest[..dot].replace("\"\"", "\""));
                    rest = &rest[dot + 1..];
                }
                Some(_) => return Vec::new(),
            }
        }
    }
    parts
}

/// The index in `text` of the first `"` that is not part of a `""` pair.
fn standalone_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The index of the `)` closing the `(` at `open`.
fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, byte) in text.bytes().enumerate().skip(open) {
        match byte {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A routine's name in the old SHOW GRANTS form, `NAME(ARG TYPE, …):RETURNS`, rewritten as the
/// new one, `"NAME"(TYPE, …)`; any other name as it is (data_access.go `correctFunctionName`).
fn correct_function_name(old_style: &Regex, name: &str) -> String {
    let Some(open) = name.find('(').filter(|_| old_style.is_match(name)) else {
        return name.to_owned();
    };
    let function = &name[..open];
    let mut arguments = &name[open + 1..];
    if let Some(end) = arguments.find("):") {
        arguments = &arguments[..end];
    }
    let arguments = arguments.strip_suffix(')').unwrap_or(arguments);
    let types: Vec<&str> = arguments
        .split(',')
        .map(|argument| {
            let argument = argument.trim();
            argument.rsplit(' ').next().unwrap_or(argument)
        })
        .collect();
    // Go's `%q` of a name of letters, digits and `_` (all the pattern lets through, but a
    // leading quote, which `%q` escapes).
    format!(
        "\"{}\"({})",
        function.replace('"', "\\\""),
        types.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_split_and_unquoted_as_snowflake_quotes_them() {
        assert_eq!(
            split_names("SALES.PUBLIC.ORDERS"),
            ["SALES", "PUBLIC", "ORDERS"]
        );
        assert_eq!(
            split_names("SALES.\"Mixed.Schema\".\"a\"\"b\""),
            ["SALES", "Mixed.Schema", "a\"b"]
        );
        assert_eq!(
            split_names("SALES.PUBLIC.\"ADD_ONE\"(NUMBER, VARCHAR)"),
            ["SALES", "PUBLIC", "\"ADD_ONE\"(NUMBER, VARCHAR)"]
        );
        assert_eq!(split_names("\"Odd Role\""), ["Odd Role"]);
        assert!(split_names("\"open").is_empty());
        assert!(split_names("DB.").is_empty());
    }

    #[test]
    fn old_style_function_names_are_rewritten_as_go_rewrites_them() {
        let pattern =
            Regex::new(r#"^"?[a-zA-Z0-9_]+\([a-zA-Z ,()0-9]+\)(:[a-zA-Z()0-9]+)?"?$"#).unwrap();
        assert_eq!(
            correct_function_name(&pattern, "ADD_ONE(X NUMBER, Y VARCHAR):NUMBER"),
            "\"ADD_ONE\"(NUMBER, VARCHAR)"
        );
        assert_eq!(
            correct_function_name(&pattern, "\"ADD_ONE\"(NUMBER)"),
            "\"ADD_ONE\"(NUMBER)"
        );
        assert_eq!(correct_function_name(&pattern, "ORDERS"), "ORDERS");
    }

    #[test]
    fn usage_is_told_apart_on_databases_and_schemas() {
        assert_eq!(map_privilege("usage", "DATABASE"), "USAGE on DATABASE");
        assert_eq!(map_privilege("USAGE", "SCHEMA"), "USAGE on SCHEMA");
        assert_eq!(map_privilege("USAGE", "WAREHOUSE"), "USAGE");
        assert_eq!(map_privilege("SELECT", "TABLE"), "SELECT");
    }
}
