//! Masking and row access policies (see `sql::policies`), with Snowflake's semantics, as the
//! session's role. Policies live in `Account::policies`; a column's masking policy in
//! `Column::masking_policy`, a table's or view's row access policy in
//! `Table::row_access_policy`.
//!
//! Every statement here, on a Standard Edition account (`Account::standard_edition`), fails
//! first with `000002`/`0A000` "Unsupported feature 'MASKING POLICY'." (or `'ROW ACCESS
//! POLICY'`, by the statement's kind), the answer Snowflake gives an Enterprise feature;
//! POLICY_REFERENCES, which serves both kinds, names `'MASKING POLICY'`.
//!
//! Then, in order:
//! - Names: the database (hidden ones included) and schema must exist (`002003` "Database|Schema
//!   '…' does not exist or not authorized."), the policy too ("Masking policy|Row access policy
//!   '…'"), the table or view too ("Table|View '…'": ALTER TABLE names a table, ALTER VIEW a
//!   view), and a column `000904`. Names left out take the session's database and schema
//!   (`090105`, `090106` without them).
//! - Privileges (`003001`): CREATE takes MANAGE GRANTS or the schema's ownership (through the
//!   role hierarchy); DROP MANAGE GRANTS or the ownership of the policy or of its schema;
//!   attaching or detaching MANAGE GRANTS, APPLY MASKING|ROW ACCESS POLICY on the account, or
//!   the ownership of both the table and the policy (UNSET: of the table).
//! - CREATE: a masking policy's RETURNS type must be its input type (`002016`); a taken name is
//!   `002002` "Object 'DB.S.P' already exists.", or with IF NOT EXISTS a success that changes
//!   nothing (the body is not replaced). The new policy is owned by the session's role.
//! - DROP: missing is `002003`, or with IF EXISTS a success; a policy still set on a column or
//!   added to a table is `003533` "Policy … cannot be dropped/replaced as it is associated with
//!   one or more entities." (Snowflake's wording).
//! - SET MASKING POLICY: a column in the table's row access policy ON list is `003532`; a column
//!   whose type is not the policy's input type `002017`; a column that has a masking policy
//!   `003529` (Snowflake's code) unless FORCE, which replaces it. UNSET of a column without one
//!   succeeds and changes nothing.
//! - ADD ROW ACCESS POLICY: a table or view that has one is `003530`; the ON list must name
//!   existing columns (`000904`), as many as the policy has arguments (`002018`), none masked
//!   (`003532`), each of its argument's type (`002017`). DROP of a policy the table does not
//!   have is `003531`; `DROP …, ADD …` checks the drop, then the add as if the old one were
//!   gone, and swaps them only when both pass.
//!
//! The codes Snowflake does not document (all but `002002`, `002003`, `000904`, `003001`,
//! `003529`) are the stand-in's own; see `error`.
//!
//! Reads: SHOW … POLICIES lists the policies of the kind in the account, the database IN names
//! or, without IN, the session's database (the account without one) that the role sees (MANAGE
//! GRANTS: all; else those owned by a role it holds), by database, schema and name, LIKE
//! case-insensitive; `options` is empty.
//! DESCRIBE … POLICY answers one row of text columns: `name` as stored, `signature` the
//! arguments as stored with their stored types (`(A TEXT, B NUMBER)`: the `DATA_TYPE` form,
//! where Snowflake prints `VARCHAR`), `return_type` the stored type (Snowflake prints
//! `VARCHAR(16777216)`), `body` as stored. It needs no warehouse; a policy missing, of the
//! other kind or in a database the role does not see is `002003`, one the role neither owns
//! (through its hierarchy) nor reaches with MANAGE GRANTS `003001`: the rule SHOW lists by.
//! (Snowflake also lets APPLY MASKING|ROW ACCESS POLICY on the account describe; SHOW here does
//! not count it, so neither does DESCRIBE.)
//! POLICY_REFERENCES (a table function of a database's INFORMATION_SCHEMA, which needs the
//! database visible and a warehouse) lists one row per reference: a masked column
//! (REF_COLUMN_NAME set, REF_ARG_COLUMN_NAMES NULL) or a row access policy on a table or view
//! (REF_COLUMN_NAME NULL, REF_ARG_COLUMN_NAMES the ON list as compact JSON, `["A","B"]`), names
//! as stored, REF_ENTITY_DOMAIN `TABLE` or `VIEW`, POLICY_STATUS `ACTIVE`, POLICY_ID the
//! policy's position in the account (from 1), the TAG_* columns NULL; by database, schema,
//! table, then column order with a table's row access policy last. An unknown policy or table
//! is `002003`.

use time::OffsetDateTime;

use super::ddl::{EXECUTED, Writer, check_length};
use super::show::{Rows, page, scope_database};
use super::views::{Spec, run};
use super::{Output, Session};
use crate::error::{SqlError, display_name, display_path};
use crate::model::{
    Account, Grant, ObjectKind, Policy, PolicyKind, PolicyName, RowAccessAttachment, Table,
    TableKind,
};
use crate::result::{ColumnType, Kind, fixed, timestamp, timestamp_nanos};
use crate::sql::{
    Ident, LiteralName, PolicyReferences, PolicyWrite, RefTarget, Relation, Show, data_type,
};

/// How a `002003` names a policy of `kind`.
fn kind_word(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Masking => "Masking policy",
        PolicyKind::RowAccess => "Row access policy",
    }
}

fn shown(name: &PolicyName) -> String {
    display_path(&[&name.database, &name.schema, &name.name])
}

/// A type compared as `DATA_TYPE` prints it (a model column may be written `VARCHAR`).
fn comparable(data_type_written: &str) -> String {
    data_type(data_type_written).map_or_else(|| data_type_written.to_uppercase(), str::to_owned)
}

/// A name of one to three parts in full, `[database, schema, name]`, the parts left out taken
/// from the session's database and schema (`090105`, `090106` for `command` without them).
fn qualify_parts(
    parts: &[&str],
    database: Option<&str>,
    schema: Option<&str>,
    command: &str,
) -> Result<[String; 3], SqlError> {
    let database = || {
        database
            .map(str::to_owned)
            .ok_or_else(|| SqlError::no_database(command))
    };
    let schema = || {
        schema
            .map(str::to_owned)
            .ok_or_else(|| SqlError::no_schema(command))
    };
    match parts {
        [d, s, n] => Ok([(*d).to_owned(), (*s).to_owned(), (*n).to_owned()]),
        [s, n] => Ok([database()?, (*s).to_owned(), (*n).to_owned()]),
        [n] => Ok([database()?, schema()?, (*n).to_owned()]),
        // The grammar takes one to three parts.
        _ => Err(SqlError::internal(format!(
            "a name of {} parts reached the stand-in's policies",
            parts.len()
        ))),
    }
}

/// Whether `ALTER TABLE` (`view` false) or `ALTER VIEW` names a relation of `kind`.
fn fits(view: bool, kind: TableKind) -> bool {
    if view {
        kind == TableKind::View
    } else {
        ObjectKind::of_table(kind) == ObjectKind::Table
    }
}

/// Every table or view of the account with where it is.
fn relations(account: &Account) -> impl Iterator<Item = (&str, &str, &Table)> {
    account.databases.iter().flat_map(|db| {
        db.schemas.iter().flat_map(move |s| {
            s.tables
                .iter()
                .map(move |t| (db.name.as_str(), s.name.as_str(), t))
        })
    })
}

/// Whether a column or a table still has `policy`.
fn attached(account: &Account, policy: &Policy) -> bool {
    let name = policy.qualified();
    relations(account).any(|(_, _, table)| match policy.kind {
        PolicyKind::Masking => table
            .columns
            .iter()
            .any(|c| c.masking_policy.as_ref() == Some(&name)),
        PolicyKind::RowAccess => table
            .row_access_policy
            .as_ref()
            .is_some_and(|a| a.policy == name),
    })
}

/// The table or view `(database, schema, table)` by position.
type At = (usize, usize, usize);

impl Writer<'_> {
    /// Runs one policy statement (see the module's documentation); answers its status.
    pub(super) fn policy(&mut self, write: &PolicyWrite) -> Result<String, SqlError> {
        if self.account().standard_edition {
            return Err(SqlError::unsupported(write.kind().words()));
        }
        match write {
            PolicyWrite::Create {
                kind,
                name,
                if_not_exists,
                signature,
                returns,
                body,
                comment,
            } => self.create_policy(
                *kind,
                name,
                *if_not_exists,
                signature,
                returns,
                body,
                comment.as_deref(),
            ),
            PolicyWrite::Drop {
                kind,
                name,
                if_exists,
            } => self.drop_policy(*kind, name, *if_exists),
            PolicyWrite::SetMasking {
                on,
                column,
                policy,
                force,
            } => self.set_masking(on, column, policy, *force),
            PolicyWrite::UnsetMasking { on, column } => self.unset_masking(on, column),
            PolicyWrite::AddRowAccess {
                on,
                policy,
                columns,
            } => {
                let at = self.find_relation(on)?;
                let attachment = self.row_access_to_add(at, on, policy, columns, false)?;
                self.table_mut(at).row_access_policy = Some(attachment);
                Ok(EXECUTED.to_owned())
            }
            PolicyWrite::DropRowAccess {
                on,
                policy,
                then_add,
            } => self.drop_row_access(on, policy, then_add.as_ref()),
        }
    }

    /// `name` in full, `[database, schema, name]`, the parts left out taken from the session.
    fn qualify(&self, name: &[Ident], command: &str) -> Result<[String; 3], SqlError> {
        let parts: Vec<&str> = name.iter().map(|i| i.name.as_str()).collect();
        qualify_parts(
            &parts,
            self.database.as_deref(),
            self.schema.as_deref(),
            command,
        )
    }

    /// The schema `database.schema`, existing and in a database the session sees.
    fn find_schema(
        &mut self,
        database: &str,
        schema: &str,
        command: &str,
    ) -> Result<(usize, usize), SqlError> {
        let d = self.find_database(Some(database), command)?;
        let s = self.account().databases[d]
            .schemas
            .iter()
            .position(|x| x.name == schema)
            .ok_or_else(|| {
                SqlError::does_not_exist("Schema", &display_path(&[database, schema]))
            })?;
        Ok((d, s))
    }

    /// The policy a statement names, by position in `Account::policies`.
    fn find_policy(
        &mut self,
        kind: PolicyKind,
        name: &[Ident],
        command: &str,
    ) -> Result<usize, SqlError> {
        let [database, schema, policy] = self.qualify(name, command)?;
        let missing = || {
            SqlError::does_not_exist(
                kind_word(kind),
                &display_path(&[&database, &schema, &policy]),
            )
        };
        // A policy in a database the session cannot see is as missing as one that is not there.
        self.find_database(Some(&database), command)
            .map_err(|_| missing())?;
        self.account()
            .policies
            .iter()
            .position(|p| {
                p.kind == kind && p.database == database && p.schema == schema && p.name == policy
            })
            .ok_or_else(missing)
    }

    /// The table or view an ALTER names, by position.
    fn find_relation(&mut self, on: &Relation) -> Result<At, SqlError> {
        let command = if on.view { "ALTER VIEW" } else { "ALTER TABLE" };
        let [database, schema, table] = self.qualify(&on.name, command)?;
        let (d, s) = self.find_schema(&database, &schema, command)?;
        let t = self.account().databases[d].schemas[s]
            .tables
            .iter()
            .position(|x| x.name == table && fits(on.view, x.kind))
            .ok_or_else(|| {
                SqlError::does_not_exist(
                    if on.view { "View" } else { "Table" },
                    &display_path(&[&database, &schema, &table]),
                )
            })?;
        Ok((d, s, t))
    }

    fn table(&self, (d, s, t): At) -> &Table {
        &self.account().databases[d].schemas[s].tables[t]
    }

    fn table_mut(&mut self, (d, s, t): At) -> &mut Table {
        &mut self.state.account.databases[d].schemas[s].tables[t]
    }

    /// How messages name the table or view at `at`: `table 'DB.S.T'` for a `003001`.
    fn table_shown(&self, (d, s, t): At) -> String {
        let db = &self.account().databases[d];
        let schema = &db.schemas[s];
        display_path(&[&db.name, &schema.name, &schema.tables[t].name])
    }

    fn insufficient_on_table(&self, on: &Relation, at: At) -> SqlError {
        let what = if on.view { "view" } else { "table" };
        SqlError::insufficient_privileges(&format!("{what} '{}'", self.table_shown(at)))
    }

    /// The column `column` of the table at `at`, by position.
    fn find_column(&self, at: At, column: &Ident) -> Result<usize, SqlError> {
        self.table(at)
            .columns
            .iter()
            .position(|c| c.name == column.name)
            .ok_or_else(|| SqlError::invalid_identifier(column.line, column.pos, &column.shown()))
    }

    /// May the session attach (or detach) a policy of `kind` owned by `policy_owner` (`None`:
    /// UNSET, no policy named) to the table owned by `table_owner`?
    fn may_apply(
        &mut self,
        kind: PolicyKind,
        table_owner: &str,
        policy_owner: Option<&str>,
    ) -> bool {
        if self.manage_grants {
            return true;
        }
        let held = self.held();
        let apply = Grant::new(&format!("APPLY {}", kind.words()), ObjectKind::Account, &[]);
        self.holds(&held, &apply, false)
            || (held.contains(table_owner) && policy_owner.is_none_or(|o| held.contains(o)))
    }

    #[allow(clippy::too_many_arguments)]
    fn create_policy(
        &mut self,
        kind: PolicyKind,
        name: &[Ident],
        if_not_exists: bool,
        signature: &[(Ident, String)],
        returns: &str,
        body: &str,
        comment: Option<&str>,
    ) -> Result<String, SqlError> {
        let command = format!("CREATE {}", kind.words());
        let [database, schema, policy] = self.qualify(name, &command)?;
        let (d, s) = self.find_schema(&database, &schema, &command)?;
        let schema_owner = self.account().databases[d].schemas[s].owner.clone();
        let allowed =
            self.manage_grants || (!schema_owner.is_empty() && self.held().contains(&schema_owner));
        if !allowed {
            return Err(SqlError::insufficient_privileges(&format!(
                "schema '{}'",
                display_path(&[&database, &schema])
            )));
        }
        if let Some(last) = name.last() {
            check_length(last)?;
        }
        if kind == PolicyKind::Masking
            && let Some((_, input)) = signature.first()
            && input != returns
        {
            return Err(SqlError::masking_return_type(returns, input));
        }
        let exists = self.account().policies.iter().any(|p| {
            p.kind == kind && p.database == database && p.schema == schema && p.name == policy
        });
        if exists {
            return if if_not_exists {
                Ok(format!(
                    "{} already exists, statement succeeded.",
                    display_name(&policy)
                ))
            } else {
                Err(SqlError::already_exists(&display_path(&[
                    &database, &schema, &policy,
                ])))
            };
        }
        let message = format!(
            "{} {} successfully created.",
            kind_word(kind),
            display_name(&policy)
        );
        let owner = self.role.clone();
        self.state.account.policies.push(Policy {
            name: policy,
            database,
            schema,
            kind,
            signature: signature
                .iter()
                .map(|(argument, data_type)| (argument.name.clone(), data_type.clone()))
                .collect(),
            returns: returns.to_owned(),
            body: body.to_owned(),
            comment: comment.unwrap_or_default().to_owned(),
            owner,
            created_on: Some(OffsetDateTime::now_utc()),
        });
        Ok(message)
    }

    fn drop_policy(
        &mut self,
        kind: PolicyKind,
        name: &[Ident],
        if_exists: bool,
    ) -> Result<String, SqlError> {
        let command = format!("DROP {}", kind.words());
        let [database, schema, policy] = self.qualify(name, &command)?;
        let (d, s) = self.find_schema(&database, &schema, &command)?;
        let full = display_path(&[&database, &schema, &policy]);
        let Some(i) = self.account().policies.iter().position(|p| {
            p.kind == kind && p.database == database && p.schema == schema && p.name == policy
        }) else {
            return if if_exists {
                Ok(format!(
                    "Drop statement executed successfully ({} already dropped).",
                    display_name(&policy)
                ))
            } else {
                Err(SqlError::does_not_exist(kind_word(kind), &full))
            };
        };
        let owners = [
            self.account().policies[i].owner.clone(),
            self.account().databases[d].schemas[s].owner.clone(),
        ];
        let allowed = self.manage_grants || {
            let held = self.held();
            owners.iter().any(|o| !o.is_empty() && held.contains(o))
        };
        if !allowed {
            return Err(SqlError::insufficient_privileges(&format!(
                "{} '{full}'",
                kind.words().to_lowercase()
            )));
        }
        if attached(self.account(), &self.account().policies[i]) {
            return Err(SqlError::policy_in_use(&full));
        }
        self.state.account.policies.remove(i);
        Ok(format!("{} successfully dropped.", display_name(&policy)))
    }

    fn set_masking(
        &mut self,
        on: &Relation,
        column: &Ident,
        policy: &[Ident],
        force: bool,
    ) -> Result<String, SqlError> {
        let command = if on.view { "ALTER VIEW" } else { "ALTER TABLE" };
        let at = self.find_relation(on)?;
        let c = self.find_column(at, column)?;
        let p = self.find_policy(PolicyKind::Masking, policy, command)?;
        let table_owner = self.table(at).owner.clone();
        let policy_owner = self.account().policies[p].owner.clone();
        if !self.may_apply(PolicyKind::Masking, &table_owner, Some(&policy_owner)) {
            return Err(self.insufficient_on_table(on, at));
        }
        let table = self.table(at);
        let target = &table.columns[c];
        if let Some(row_access) = &table.row_access_policy
            && row_access.on.contains(&target.name)
        {
            return Err(SqlError::policy_column_conflict(&format!(
                "Column {} is in the ON list of row access policy {}: a column cannot be both masked and passed to a row access policy.",
                display_name(&target.name),
                shown(&row_access.policy)
            )));
        }
        let masking = &self.account().policies[p];
        let input = masking
            .signature
            .first()
            .map(|(_, data_type)| data_type.as_str())
            .unwrap_or_default();
        let column_type = comparable(&target.data_type);
        if column_type != input {
            return Err(SqlError::policy_column_type(
                &display_name(&target.name),
                &column_type,
                &format!("masking policy's input data type {input}"),
            ));
        }
        if target.masking_policy.is_some() && !force {
            return Err(SqlError::masking_policy_attached());
        }
        let name = masking.qualified();
        self.table_mut(at).columns[c].masking_policy = Some(name);
        Ok(EXECUTED.to_owned())
    }

    fn unset_masking(&mut self, on: &Relation, column: &Ident) -> Result<String, SqlError> {
        let at = self.find_relation(on)?;
        let c = self.find_column(at, column)?;
        let table_owner = self.table(at).owner.clone();
        if !self.may_apply(PolicyKind::Masking, &table_owner, None) {
            return Err(self.insufficient_on_table(on, at));
        }
        self.table_mut(at).columns[c].masking_policy = None;
        Ok(EXECUTED.to_owned())
    }

    /// Checks adding row access policy `policy` ON `columns` to the table at `at` (`swapping`:
    /// as the ADD of a `DROP …, ADD …`, whose DROP has taken the current one off); answers the
    /// attachment.
    fn row_access_to_add(
        &mut self,
        at: At,
        on: &Relation,
        policy: &[Ident],
        columns: &[Ident],
        swapping: bool,
    ) -> Result<RowAccessAttachment, SqlError> {
        let command = if on.view { "ALTER VIEW" } else { "ALTER TABLE" };
        let p = self.find_policy(PolicyKind::RowAccess, policy, command)?;
        let table_owner = self.table(at).owner.clone();
        let policy_owner = self.account().policies[p].owner.clone();
        if !self.may_apply(PolicyKind::RowAccess, &table_owner, Some(&policy_owner)) {
            return Err(self.insufficient_on_table(on, at));
        }
        let table = self.table(at);
        if !swapping && let Some(current) = &table.row_access_policy {
            return Err(SqlError::row_access_policy_attached(
                &self.table_shown(at),
                &shown(&current.policy),
            ));
        }
        let row_access = &self.account().policies[p];
        let mut on_columns = Vec::with_capacity(columns.len());
        for ident in columns {
            let c = self.find_column(at, ident)?;
            on_columns.push(&table.columns[c]);
        }
        if on_columns.len() != row_access.signature.len() {
            return Err(SqlError::policy_argument_count(
                &shown(&row_access.qualified()),
                row_access.signature.len(),
                on_columns.len(),
            ));
        }
        for (column, (argument, argument_type)) in on_columns.iter().zip(&row_access.signature) {
            if let Some(masking) = &column.masking_policy {
                return Err(SqlError::policy_column_conflict(&format!(
                    "Column {} has masking policy {}: a column cannot be both masked and passed to a row access policy.",
                    display_name(&column.name),
                    shown(masking)
                )));
            }
            let column_type = comparable(&column.data_type);
            if column_type != *argument_type {
                return Err(SqlError::policy_column_type(
                    &display_name(&column.name),
                    &column_type,
                    &format!(
                        "row access policy's argument {} data type {argument_type}",
                        display_name(argument)
                    ),
                ));
            }
        }
        Ok(RowAccessAttachment {
            policy: row_access.qualified(),
            on: on_columns.iter().map(|c| c.name.clone()).collect(),
        })
    }

    fn drop_row_access(
        &mut self,
        on: &Relation,
        policy: &[Ident],
        then_add: Option<&(Vec<Ident>, Vec<Ident>)>,
    ) -> Result<String, SqlError> {
        let command = if on.view { "ALTER VIEW" } else { "ALTER TABLE" };
        let at = self.find_relation(on)?;
        let p = self.find_policy(PolicyKind::RowAccess, policy, command)?;
        let table_owner = self.table(at).owner.clone();
        let policy_owner = self.account().policies[p].owner.clone();
        if !self.may_apply(PolicyKind::RowAccess, &table_owner, Some(&policy_owner)) {
            return Err(self.insufficient_on_table(on, at));
        }
        let name = self.account().policies[p].qualified();
        let has_it = self
            .table(at)
            .row_access_policy
            .as_ref()
            .is_some_and(|a| a.policy == name);
        if !has_it {
            return Err(SqlError::row_access_policy_not_attached(
                &shown(&name),
                &self.table_shown(at),
            ));
        }
        // The ADD of a swap is checked before anything changes: a failing ADD keeps the old.
        let next = match then_add {
            Some((policy, columns)) => Some(self.row_access_to_add(at, on, policy, columns, true)?),
            None => None,
        };
        self.table_mut(at).row_access_policy = next;
        Ok(EXECUTED.to_owned())
    }
}

/// SHOW MASKING POLICIES and SHOW ROW ACCESS POLICIES.
pub(super) fn show<'a>(
    session: Session<'a>,
    show: &Show,
    kind: PolicyKind,
) -> Result<(Vec<ColumnType>, Rows<'a>), SqlError> {
    if session.account.standard_edition {
        return Err(SqlError::unsupported(kind.words()));
    }
    let columns = [
        ("created_on", Kind::TimestampLtz),
        ("name", Kind::Text),
        ("database_name", Kind::Text),
        ("schema_name", Kind::Text),
        ("kind", Kind::Text),
        ("owner", Kind::Text),
        ("comment", Kind::Text),
        ("owner_role_type", Kind::Text),
        ("options", Kind::Text),
    ]
    .iter()
    .map(|(name, kind)| ColumnType::new(*name, *kind))
    .collect();
    let scope = scope_database(session, show)?;
    let held = (!session.role.manage_grants).then(|| session.access.hierarchy(&session.role.name));
    let visible = |p: &Policy| match &held {
        None => true,
        Some(held) => session
            .access
            .account_role(&p.owner)
            .is_some_and(|id| held.get(id).copied().unwrap_or(false)),
    };
    let mut items: Vec<(&str, &Policy)> = session
        .account
        .policies
        .iter()
        .filter(|p| p.kind == kind)
        .filter(|p| scope.is_none_or(|db| db.name == p.database))
        .filter(|p| visible(p))
        .map(|p| (p.name.as_str(), p))
        .collect();
    items.sort_by(|a, b| {
        (&a.1.database, &a.1.schema, &a.1.name).cmp(&(&b.1.database, &b.1.schema, &b.1.name))
    });
    let rows = page(show, items, |p| {
        let created = p.created_on.map_or_else(
            || timestamp(crate::model::CREATED_SECONDS, 0),
            |t| timestamp_nanos(t.unix_timestamp_nanos()),
        );
        vec![
            created,
            Some(p.name.clone()),
            Some(p.database.clone()),
            Some(p.schema.clone()),
            Some(p.kind.as_str().to_owned()),
            Some(p.owner.clone()),
            Some(p.comment.clone()),
            Some(if p.owner.is_empty() { "" } else { "ROLE" }.to_owned()),
            Some(String::new()),
        ]
    })?;
    Ok((columns, rows))
}

/// DESCRIBE MASKING POLICY and DESCRIBE ROW ACCESS POLICY (see the module's documentation).
pub(super) fn describe<'a>(
    session: &Session<'a>,
    kind: PolicyKind,
    name: &[Ident],
) -> Result<Output<'a>, SqlError> {
    let s = *session;
    if s.account.standard_edition {
        return Err(SqlError::unsupported(kind.words()));
    }
    let parts: Vec<&str> = name.iter().map(|i| i.name.as_str()).collect();
    let command = format!("DESCRIBE {}", kind.words());
    let [database, schema, policy] = qualify_parts(&parts, s.database, s.schema, &command)?;
    let full = display_path(&[&database, &schema, &policy]);
    // A policy in a database the role cannot see is as missing as one that is not there.
    let database_seen = s
        .account
        .databases
        .iter()
        .any(|d| d.name == database && s.sees_in_show(d));
    let found = s
        .account
        .policies
        .iter()
        .find(|p| {
            p.kind == kind && p.database == database && p.schema == schema && p.name == policy
        })
        .filter(|_| database_seen)
        .ok_or_else(|| SqlError::does_not_exist(kind_word(kind), &full))?;
    // Who may describe it: whom SHOW … POLICIES lists it to.
    let allowed = s.role.manage_grants || {
        let held = s.access.hierarchy(&s.role.name);
        s.access
            .account_role(&found.owner)
            .is_some_and(|id| held.get(id).copied().unwrap_or(false))
    };
    if !allowed {
        return Err(SqlError::insufficient_privileges(&format!(
            "{} '{full}'",
            kind.words().to_lowercase()
        )));
    }
    let arguments: Vec<String> = found
        .signature
        .iter()
        .map(|(argument, data_type)| format!("{argument} {data_type}"))
        .collect();
    let row = vec![
        Some(found.name.clone()),
        Some(format!("({})", arguments.join(", "))),
        Some(found.returns.clone()),
        Some(found.body.clone()),
    ];
    Ok(Output {
        columns: ["name", "signature", "return_type", "body"]
            .into_iter()
            .map(|column| ColumnType::new(column, Kind::Text))
            .collect(),
        rows: Box::new(std::iter::once(row)),
    })
}

const POLICY_REFERENCES: Spec = &[
    ("POLICY_DB", Kind::Text),
    ("POLICY_SCHEMA", Kind::Text),
    ("POLICY_ID", Kind::Fixed),
    ("POLICY_NAME", Kind::Text),
    ("POLICY_KIND", Kind::Text),
    ("REF_DATABASE_NAME", Kind::Text),
    ("REF_SCHEMA_NAME", Kind::Text),
    ("REF_ENTITY_NAME", Kind::Text),
    ("REF_ENTITY_DOMAIN", Kind::Text),
    ("REF_COLUMN_NAME", Kind::Text),
    ("REF_ARG_COLUMN_NAMES", Kind::Text),
    ("TAG_DATABASE", Kind::Text),
    ("TAG_SCHEMA", Kind::Text),
    ("TAG_NAME", Kind::Text),
    ("POLICY_STATUS", Kind::Text),
];

/// One row of POLICY_REFERENCES.
struct Reference<'a> {
    /// The policy's position in `Account::policies`.
    position: usize,
    policy: &'a Policy,
    database: &'a str,
    schema: &'a str,
    table: &'a Table,
    /// A masked column; `None`: the table's row access policy.
    column: Option<&'a str>,
}

fn reference_cell(reference: &Reference<'_>, column: usize) -> Option<String> {
    let text = |s: &str| Some(s.to_owned());
    let policy = reference.policy;
    match column {
        0 => text(&policy.database),
        1 => text(&policy.schema),
        2 => fixed(i64::try_from(reference.position + 1).unwrap_or(i64::MAX)),
        3 => text(&policy.name),
        4 => text(policy.kind.as_str()),
        5 => text(reference.database),
        6 => text(reference.schema),
        7 => text(&reference.table.name),
        8 => text(match reference.table.kind {
            TableKind::View | TableKind::MaterializedView => "VIEW",
            _ => "TABLE",
        }),
        9 => reference.column.map(str::to_owned),
        10 => match reference.column {
            Some(_) => None,
            None => reference
                .table
                .row_access_policy
                .as_ref()
                .map(|a| serde_json::Value::from(a.on.clone()).to_string()),
        },
        14 => text("ACTIVE"),
        // TAG_DATABASE, TAG_SCHEMA, TAG_NAME: no policy is set through a tag.
        _ => None,
    }
}

/// The references on `table` (its masked columns in column order, then its row access policy)
/// whose policy the account has.
fn references_on<'a>(
    account: &'a Account,
    database: &'a str,
    schema: &'a str,
    table: &'a Table,
) -> impl Iterator<Item = Reference<'a>> {
    let lookup = move |kind: PolicyKind, name: &PolicyName| {
        account.policies.iter().enumerate().find(|(_, p)| {
            p.kind == kind
                && p.database == name.database
                && p.schema == name.schema
                && p.name == name.name
        })
    };
    let masked = table.columns.iter().filter_map(move |c| {
        let (position, policy) = lookup(PolicyKind::Masking, c.masking_policy.as_ref()?)?;
        Some(Reference {
            position,
            policy,
            database,
            schema,
            table,
            column: Some(c.name.as_str()),
        })
    });
    let row_access = table.row_access_policy.as_ref().and_then(move |a| {
        let (position, policy) = lookup(PolicyKind::RowAccess, &a.policy)?;
        Some(Reference {
            position,
            policy,
            database,
            schema,
            table,
            column: None,
        })
    });
    masked.chain(row_access)
}

/// `SELECT … FROM TABLE([db.]INFORMATION_SCHEMA.POLICY_REFERENCES(…))`.
pub(super) fn references<'a>(
    session: &Session<'a>,
    read: &PolicyReferences,
) -> Result<Output<'a>, SqlError> {
    let s = *session;
    let account = s.account;
    if account.standard_edition {
        return Err(SqlError::unsupported(PolicyKind::Masking.words()));
    }
    let database = match read.query.from.as_slice() {
        [db, _, _] => db.name.clone(),
        _ => s
            .database
            .ok_or_else(|| SqlError::no_database("SELECT"))?
            .to_owned(),
    };
    let sees = |name: &str| {
        account
            .databases
            .iter()
            .find(|d| d.name == name && s.sees_in_show(d))
    };
    let db = sees(&database)
        .ok_or_else(|| SqlError::does_not_exist("Database", &display_name(&database)))?;
    let qualify = |name: &LiteralName| -> Result<[String; 3], SqlError> {
        let parts: Vec<&str> = name.parts.iter().map(String::as_str).collect();
        qualify_parts(&parts, s.database, s.schema, "SELECT")
    };
    let mut rows: Vec<Reference<'a>> = match &read.target {
        RefTarget::Policy(name) => {
            let [database, schema, policy] = qualify(name)?;
            let (position, found) = account
                .policies
                .iter()
                .enumerate()
                .find(|(_, p)| p.database == database && p.schema == schema && p.name == policy)
                .filter(|_| sees(&database).is_some())
                .ok_or_else(|| {
                    SqlError::does_not_exist(
                        "Policy",
                        &display_path(&[&database, &schema, &policy]),
                    )
                })?;
            let qualified = found.qualified();
            let mut rows = Vec::new();
            for (database, schema, table) in relations(account) {
                for reference in references_on(account, database, schema, table) {
                    if reference.position == position && reference.policy.qualified() == qualified {
                        rows.push(reference);
                    }
                }
            }
            rows
        }
        RefTarget::Entity { name, view_only } => {
            let [database, schema, table] = qualify(name)?;
            let missing = || {
                SqlError::does_not_exist(
                    if *view_only { "View" } else { "Table" },
                    &display_path(&[&database, &schema, &table]),
                )
            };
            let db = sees(&database).ok_or_else(missing)?;
            let sc = db
                .schemas
                .iter()
                .find(|x| x.name == schema)
                .ok_or_else(missing)?;
            let found = sc
                .tables
                .iter()
                .find(|t| t.name == table && (!*view_only || t.kind == TableKind::View))
                .ok_or_else(missing)?;
            references_on(account, &db.name, &sc.name, found).collect()
        }
    };
    // Stable: a table's references keep their order (columns, then the row access policy).
    rows.sort_by(|a, b| {
        (a.database, a.schema, a.table.name.as_str()).cmp(&(
            b.database,
            b.schema,
            b.table.name.as_str(),
        ))
    });
    run(
        s,
        POLICY_REFERENCES,
        [db.name.as_str(), "INFORMATION_SCHEMA", "POLICY_REFERENCES"],
        rows.into_iter(),
        reference_cell,
        &read.query,
    )
}
